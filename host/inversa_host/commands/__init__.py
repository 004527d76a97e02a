"""Subcommands of ``inversa``: one module each, found automatically by cli.py."""

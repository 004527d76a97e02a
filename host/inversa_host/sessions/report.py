"""Session report: a PNG plot and a short Markdown + HTML summary a person can read.

Usage::

    paths = write_report(trace, summary, checks, out_dir, title="beginner")
"""

from __future__ import annotations

import html
import io
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from inversa_host.outfile import write_files
from inversa_host.sim.expect import Check
from inversa_host.sim.trace import SessionTrace, TraceSummary

_PRIORITY_COLOURS = {1: "#f2d15c", 2: "#f08c3a", 3: "#d62728"}  # low, medium, high


@dataclass(frozen=True)
class ReportPaths:
    png: Path
    markdown: Path
    html: Path


LABEL_MIN_SEP = 0.025  # alarm labels closer than this fraction of the time axis are grouped
LABEL_MAX_CHARS = 48  # a label longer than this is shortened ("... +N more")


@dataclass(frozen=True)
class AlarmLabel:
    t_s: float  # where the label stands (the group's first raise)
    text: str
    raises: int  # how many raise events it stands for


def alarm_labels(trace: SessionTrace, span_s: float) -> list[AlarmLabel]:
    """One label per group of alarm raises closer together than
    LABEL_MIN_SEP of the time axis: the names once each, in order, shortened
    past LABEL_MAX_CHARS, so close alarms never stack into an unreadable
    column and the labels never overlap."""
    sep = max(span_s, 1e-9) * LABEL_MIN_SEP
    groups: list[list[tuple[float, str]]] = []
    for ev in sorted((e for e in trace.events if e.kind == "alarm_raised"), key=lambda e: e.t_s):
        if groups and ev.t_s - groups[-1][0][0] < sep:
            groups[-1].append((ev.t_s, ev.name))
        else:
            groups.append([(ev.t_s, ev.name)])
    out = []
    for g in groups:
        names = list(dict.fromkeys(name for _, name in g))
        text = names[0]
        shown = 1
        for n in names[1:]:
            rest = len(names) - shown - 1
            more = f" +{rest} more" if rest else ""
            if len(text) + 2 + len(n) + len(more) > LABEL_MAX_CHARS:
                break
            text += ", " + n
            shown += 1
        if shown < len(names):
            text += f" +{len(names) - shown} more"
        out.append(AlarmLabel(g[0][0], text, len(g)))
    return out


def _broken(t: list[float], ys: list[float], breaks: list[int]) -> tuple[list[float], list[float]]:
    """The series with a NaN at each break, so the line stops at a hole or a reboot."""
    if not breaks:
        return t, ys
    bt: list[float] = []
    by: list[float] = []
    cut = set(breaks)
    for i, (x, y) in enumerate(zip(t, ys, strict=True)):
        if i in cut and i > 0:
            bt.append(t[i - 1])  # the line (and a step's last level) ends here
            by.append(float("nan"))
        bt.append(x)
        by.append(y)
    return bt, by


def plot_session(trace: SessionTrace, path: Path | IO[bytes], title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax_a, ax_h, ax_s) = plt.subplots(
        3, 1, figsize=(11, 7.5), sharex=True, gridspec_kw={"height_ratios": [3, 2, 1]}
    )
    t = trace.t_s
    brk = trace.breaks

    def line(ax: Any, ys: list[float], **kw: Any) -> None:
        ax.plot(*_broken(t, ys, brk), **kw)

    if trace.true_angle_deg:
        line(ax_a, trace.true_angle_deg, color="#bbbbbb", lw=3, label="true angle (sim)")
    line(ax_a, trace.angle_deg, color="#1f77b4", lw=1.2, label="measured angle")
    # The target only means something once the controller is past its self-test.
    target = [
        g if s not in ("selftest", "estop", "fault") else float("nan")
        for g, s in zip(trace.target_deg, trace.state, strict=True)
    ]
    line(ax_a, target, color="#2ca02c", lw=1, ls="--", label="target")
    ax_a.axhline(0, color="black", lw=0.6)
    ax_a.axhline(trace.loading_deg, color="#888888", lw=0.6, ls=":")
    ax_a.set_ylabel("inversion angle (deg)\n0 = horizontal, 90 = head down")
    ax_a.legend(loc="upper right", fontsize=8)
    ax_a.grid(alpha=0.3)

    if trace.true_hr_bpm:
        line(ax_h, trace.true_hr_bpm, color="#bbbbbb", lw=3, label="true heart rate (sim)")
    hr = [h if h > 0 else float("nan") for h in trace.hr_bpm]
    line(ax_h, hr, color="#d62728", lw=1.2, label="measured heart rate")
    ax_h.set_ylabel("heart rate (bpm)")
    ax_h.legend(loc="upper right", fontsize=8)
    ax_h.grid(alpha=0.3)

    # State band, coloured by alarm priority.
    start = 0
    for i in range(1, len(t) + 1):
        if i == len(t) or trace.alarm_priority[i] != trace.alarm_priority[start]:
            pr = trace.alarm_priority[start]
            if pr:
                ax_s.axvspan(
                    t[start], t[i - 1], color=_PRIORITY_COLOURS.get(pr, "#999999"), alpha=0.8
                )
            start = i
    state_ids = {name: n for n, name in enumerate(dict.fromkeys(trace.state))}
    ax_s.step(
        *_broken(t, [float(state_ids[s]) for s in trace.state], brk),
        where="post",
        color="black",
        lw=1,
    )
    for i in brk:  # a reboot or frames lost: marked on every panel
        if 0 < i < len(t):
            for ax in (ax_a, ax_h, ax_s):
                ax.axvspan(t[i - 1], t[i], color="#cccccc", alpha=0.5, lw=0)
            ax_s.annotate("gap/reboot", (t[i], 0), fontsize=6, color="#555555")
    ax_s.set_yticks(list(state_ids.values()), list(state_ids.keys()), fontsize=7)
    ax_s.set_xlabel("time (s)")
    ax_s.set_title("state (band: alarm priority — yellow low, orange medium, red high)", fontsize=8)
    for ev in trace.events:
        if ev.kind == "alarm_raised":
            for ax in (ax_a, ax_h):
                ax.axvline(ev.t_s, color="#d62728", lw=0.6, alpha=0.6)
    span = (t[-1] - t[0]) if len(t) > 1 else 1.0
    top = ax_a.get_ylim()[1]
    for lab in alarm_labels(trace, span):
        ax_a.annotate(
            lab.text,
            (lab.t_s, top),
            fontsize=7,
            rotation=90,
            va="top",
            ha="right",
            bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.7},
        )
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110, format="png")
    plt.close(fig)


def summary_lines(summary: TraceSummary) -> list[tuple[str, str]]:
    def fmt(v: float | None, unit: str) -> str:
        return "—" if v is None else f"{v:.1f} {unit}"

    return [
        ("duration", fmt(summary.duration_s, "s")),
        ("deepest angle", fmt(summary.deepest_deg, "deg")),
        ("time inverted (angle > 0)", fmt(summary.time_inverted_s, "s")),
        ("return, deepest to horizontal", fmt(summary.return_s, "s")),
        (
            "heart rate range",
            f"{fmt(summary.hr_min_bpm, 'bpm')} to {fmt(summary.hr_max_bpm, 'bpm')}",
        ),
        ("alarms", ", ".join(summary.alarms) or "none"),
        ("faults", ", ".join(summary.faults) or "none"),
        ("final state", f"{summary.final_state} at {summary.final_angle_deg:.1f} deg"),
    ]


def write_report(
    trace: SessionTrace,
    summary: TraceSummary,
    checks: list[Check],
    out_dir: Path,
    title: str,
    description: str = "",
) -> ReportPaths:
    png = out_dir / "session.png"
    plot = io.BytesIO()
    plot_session(trace, plot, title)
    verdict = "PASS" if all(c.ok for c in checks) else "FAIL"

    md = [f"# {title}", ""]
    if description:
        md += [description, ""]
    md += ["| | |", "|---|---|"]
    md += [f"| {k} | {v} |" for k, v in summary_lines(summary)]
    if checks:
        md += ["", f"## Expectations: {verdict}", ""]
        md += [f"- {'ok  ' if c.ok else 'FAIL'} {c.name}: {c.detail}" for c in checks]
    md += ["", f"![session plot]({png.name})", ""]
    md_path = out_dir / "summary.md"

    rows = "".join(
        f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>"
        for k, v in summary_lines(summary)
    )
    items = "".join(
        f"<li class={'ok' if c.ok else 'fail'}>{'✔' if c.ok else '✘'} "
        f"<b>{html.escape(c.name)}</b>: {html.escape(c.detail)}</li>"
        for c in checks
    )
    expectations = (
        f"<h2>Expectations: <span class={'ok' if verdict == 'PASS' else 'fail'}>{verdict}</span>"
        f"</h2><ul>{items}</ul>"
        if checks
        else ""
    )
    page = f"""<!doctype html><html><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>body{{font-family:sans-serif;max-width:60em;margin:2em auto}}th{{text-align:left;padding-right:1em}}
.ok{{color:#2a7a2a}}.fail{{color:#b00020;font-weight:bold}}img{{max-width:100%}}</style></head><body>
<h1>{html.escape(title)}</h1><p>{html.escape(description)}</p><table>{rows}</table>
{expectations}
<img src="{png.name}" alt="angle, heart rate and alarms over time"></body></html>"""
    html_path = out_dir / "report.html"
    # all three or none: a full disk leaves an older report whole (OutputError)
    write_files({png: plot.getvalue(), md_path: "\n".join(md), html_path: page})
    return ReportPaths(png=png, markdown=md_path, html=html_path)

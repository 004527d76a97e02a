# Two commands do everything (see README):
#   make demo   set up, then run a simulated session end to end
#   make test   set up, then run every check
# Setup is idempotent: each step re-runs only when its inputs change.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PY     := $(BIN)/python
STAMPS := $(VENV)/.stamps

.PHONY: setup demo test lint typecheck mpy-cross pytest bench clean help

help:
	@echo "make demo   - set up and run a simulated inversion session (report in out/)"
	@echo "make test   - set up and run all checks (ruff, pyright, mpy-cross, CPython + MicroPython tests)"
	@echo "make bench  - set up and run the benchmarks (out/bench/*.json; bench/results/ is kept)"

setup: $(STAMPS)/python $(STAMPS)/node $(STAMPS)/stubs-rp2 $(STAMPS)/stubs-esp32

$(STAMPS)/python: pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else "Python >= 3.10 is needed")'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@mkdir -p $(STAMPS) && touch $@

$(STAMPS)/node: package.json package-lock.json
	@command -v node >/dev/null || { echo "node (>= 20) is needed: apt-get install nodejs npm"; exit 1; }
	npm ci --no-audit --no-fund --loglevel=error
	@mkdir -p $(STAMPS) && touch $@

$(STAMPS)/stubs-%: tools/stubs/%.txt $(STAMPS)/python
	rm -rf $(VENV)/stubs/$*
	$(PY) -m pip install --quiet --disable-pip-version-check --no-compile --target $(VENV)/stubs/$* -r $<
	@touch $@

$(STAMPS)/bench: pyproject.toml $(STAMPS)/python
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev,bench]'
	@touch $@

lint: setup
	@echo "== ruff"
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: setup
	@echo "== pyright: host"
	$(BIN)/pyright
	@echo "== pyright: firmware against the rp2 (Pico) stubs"
	$(BIN)/pyright -p pyright-fw-rp2.json
	@echo "== pyright: firmware against the esp32 stubs"
	$(BIN)/pyright -p pyright-fw-esp32.json

mpy-cross: setup
	@echo "== mpy-cross"
	$(PY) tools/check_mpy_cross.py

pytest: setup
	@echo "== pytest: CPython tests and MicroPython tests ([mpy] items)"
	$(PY) -m pytest -v -n 2 --dist loadfile

test: lint typecheck mpy-cross pytest
	@echo "== all checks passed"

demo: setup
	$(BIN)/inversa sim

bench: setup $(STAMPS)/bench
	$(PY) bench/run.py

clean:
	rm -rf $(VENV) node_modules out .pytest_cache

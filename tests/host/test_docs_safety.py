"""docs/SAFETY.md names real tests and scenarios, and covers every hazard.

The hazard table is the safety case: a row that names a test that was
renamed or deleted claims coverage nobody runs any more.  These checks read
the document as a reviewer would and resolve every name it gives:

* each `test_*` name is a test function (or a test file) under `tests/`;
* each scenario named in the whole-system table is a scenario file of the
  simulator's library;
* each hazard of the design brief's table (`../shared/DESIGN.md` §3, when
  present; the copy of its rows below otherwise) has a row that names at
  least one test.
"""

import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
SAFETY_MD = ROOT / "docs" / "SAFETY.md"
SCENARIOS = ROOT / "host" / "inversa_host" / "sim" / "scenarios"

# The design brief's hazard rows (DESIGN.md §3, "hazard | required behaviour").
HAZARDS = (
    "over-inversion",
    "too-fast motion",
    "rising too fast",
    "trapped inverted",
    "physiological distress",
    "tilt sensor failure",
    "motor run-on / runaway",
    "host misbehaviour",
    "firmware hang",
    "unintended motion",
)

_TEST_NAME = re.compile(r"\btest_[A-Za-z0-9_]*[A-Za-z0-9]\b")


def _defined_tests():
    names = set()
    for path in (ROOT / "tests").rglob("*.py"):
        names.add(path.stem)
        names.update(re.findall(r"def (test_[A-Za-z0-9_]+)", path.read_text()))
    return names


def _rows(text, header):
    """The table rows under the first table whose header starts with `header`."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(header))
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip("|").split(" | ")])
    return rows


def test_every_test_the_safety_case_names_exists():
    text = SAFETY_MD.read_text()
    defined = _defined_tests()
    named = set(_TEST_NAME.findall(text))
    assert len(named) > 100, "the safety case should name its tests"
    missing = sorted(n for n in named if n not in defined)
    assert not missing, (
        "docs/SAFETY.md names tests that do not exist (renamed or deleted?): " + ", ".join(missing)
    )


def test_every_scenario_the_safety_case_names_exists():
    rows = _rows(SAFETY_MD.read_text(), "| hazard | scenarios |")
    library = {p.stem for p in SCENARIOS.rglob("*.toml")}
    named = set()
    for row in rows:
        cell = row[1]
        while "(" in cell:  # asides name expectations and actions, not scenarios
            cell = re.sub(r"\([^()]*\)", "", cell)
        named.update(re.findall(r"`([A-Za-z0-9_]+)`", cell))
    assert named, "the whole-system table names no scenario"
    missing = sorted(named - library)
    assert not missing, "docs/SAFETY.md names scenarios not in the library: " + ", ".join(missing)


@pytest.mark.parametrize("hazard", HAZARDS)
def test_every_hazard_of_the_design_brief_has_a_row_with_tests(hazard):
    rows = {row[0]: row for row in _rows(SAFETY_MD.read_text(), "| hazard | control")}
    assert hazard in rows, f"docs/SAFETY.md has no row for the hazard {hazard!r}"
    tests_cell = rows[hazard][-1]
    assert _TEST_NAME.search(tests_cell) or "test_" in tests_cell, (
        f"the row {hazard!r} names no test"
    )


def test_the_hazard_list_matches_the_design_brief_when_it_is_present():
    design = ROOT.parent / "shared" / "DESIGN.md"
    if not design.exists():
        pytest.skip(f"{design} is not here (the design brief lives beside the project)")
    rows = _rows(design.read_text(), "| hazard | required behaviour |")
    assert tuple(row[0] for row in rows) == HAZARDS

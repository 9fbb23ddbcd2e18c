"""The teaching notebooks in docs/notebooks/: stored without outputs, executed here, judged by what they show.

Each notebook runs in a fresh Jupyter kernel (nbclient, ipykernel: the ``test``
extra); the checks read the executed outputs: the SAT answer of the first is
checked against the formula clause by clause, the second and third must end with
their plot, and the third with its reduction in the registry.
"""

from __future__ import annotations

import base64
import re
from pathlib import Path
from typing import Any

import pytest

NOTEBOOKS = Path(__file__).resolve().parents[1] / "docs" / "notebooks"
NAMES = ["sat-through-attention", "phase-transition", "your-own-reduction"]
PNG = b"\x89PNG\r\n\x1a\n"


def _read(name: str) -> Any:
    nbformat = pytest.importorskip("nbformat", reason="the test extra installs nbformat")
    return nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)


@pytest.fixture(scope="module")
def executed() -> dict[str, Any]:
    """Every notebook executed once, in a kernel started in a temporary folder."""
    pytest.importorskip("ipykernel", reason="the test extra installs ipykernel")
    import tempfile

    results = {}
    with pytest.MonkeyPatch.context() as patch, tempfile.TemporaryDirectory() as folder:
        patch.setenv("JUPYTER_PLATFORM_DIRS", "1")  # jupyter_core's own deprecation notice otherwise
        nbclient = pytest.importorskip("nbclient", reason="the test extra installs nbclient")
        for name in NAMES:
            notebook = _read(name)
            # errors stay in the outputs (allow_errors) so that each notebook's own test names its failing cell
            # and the other notebooks still run
            nbclient.NotebookClient(
                notebook,
                timeout=300,
                kernel_name="python3",
                allow_errors=True,
                resources={"metadata": {"path": folder}},
            ).execute()
            results[name] = notebook
    return results


def _code_cells(notebook: Any) -> list[Any]:
    return [cell for cell in notebook.cells if cell.cell_type == "code"]


def _text(cell: Any) -> str:
    """Everything a cell printed or returned as text."""
    parts = []
    for output in cell.outputs:
        if output.output_type == "stream":
            parts.append(output.text)
        elif "data" in output:
            parts.append(output.data.get("text/plain", ""))
    return "".join(parts)


def _pngs(cell: Any) -> list[bytes]:
    return [base64.b64decode(o.data["image/png"]) for o in cell.outputs if "image/png" in o.get("data", {})]


@pytest.mark.parametrize("name", NAMES)
def test_notebooks_are_stored_without_outputs(name):
    for cell in _code_cells(_read(name)):
        assert cell.outputs == [] and cell.execution_count is None, f"{name}: strip the outputs before committing"


@pytest.mark.parametrize("name", NAMES)
def test_notebooks_run_without_errors(executed, name):
    for cell in _code_cells(executed[name]):
        errors = [o for o in cell.outputs if o.output_type == "error"]
        assert not errors, f"{name}: {errors[0].ename}: {errors[0].evalue}\nin:\n{cell.source}"


def test_sat_notebook_shows_every_stage_and_ends_with_a_satisfying_assignment(executed):
    cells = _code_cells(executed["sat-through-attention"])
    figures = [png for cell in cells for png in _pngs(cell)]
    assert len(figures) == 3 and all(png.startswith(PNG) for png in figures)  # OV heat map, gadget, blocks
    tables = [o.data["text/html"] for cell in cells for o in cell.outputs if "text/html" in o.get("data", {})]
    assert len(tables) >= 4 and all("<table" in html for html in tables)
    readback = next(_text(cell) for cell in cells if "log u =" in _text(cell))
    decisions = re.findall(r"query (\d+): log u = +(-?[\d.]+) +->  (close|far)", readback)
    threshold = float(re.search(r"threshold = (-?[\d.]+)", readback).group(1))
    assert len(decisions) == 4
    assert all((float(value) > threshold) == (side == "close") for _, value, side in decisions)

    last = _text(cells[-1])
    match = re.search(r"answer: SAT ((?:-?\d+ ?)+)", last)
    assert match, last
    literals = {int(word) for word in match.group(1).split()}
    clauses = [[1, -2], [2, 3], [-1, -3, 4], [-4, 2]]  # the notebook's formula
    assert "formula = CNF(4, [[1, -2], [2, 3], [-1, -3, 4], [-4, 2]])" in cells[0].source
    assert {abs(literal) for literal in literals} == {1, 2, 3, 4}
    assert all(any(literal in literals for literal in clause) for clause in clauses)


def test_phase_transition_notebook_ends_with_the_transition_plot(executed):
    cells = _code_cells(executed["phase-transition"])
    table = next(_text(cell) for cell in cells if "degree g" in _text(cell))
    rows = re.findall(r"^ *([\d.]+) +(\d+) +([\d,]+) ", table, re.MULTILINE)
    assert len(rows) == 8
    import math

    from solvers.attention.polynomial.approximation import predict_chebyshev_degree

    for bound, degree, rank in rows:  # the printed degree and rank are those the library predicts
        assert int(degree) == predict_chebyshev_degree(float(bound) ** 2, 1 / 4096)
        assert int(rank.replace(",", "")) == math.comb(12 + int(degree), int(degree))
    assert "polynomial wins" in table
    assert "satisfies: True" in "".join(_text(cell) for cell in cells)
    (plot,) = _pngs(cells[-1])
    assert plot.startswith(PNG) and len(plot) > 20_000


def test_own_reduction_notebook_ends_with_it_in_the_registry(executed):
    cells = _code_cells(executed["your-own-reduction"])
    assert "FAILED" in "".join(_text(cell) for cell in cells)  # random testing caught the sloppy version
    last = _text(cells[-1])
    assert "registered: ['ov-trim', 'sat-aattc-trimmed']" in last
    assert "edge ov -> ov named ov-trim: True" in last
    assert "'sat-aattc-trimmed'" in last.split("chains sat -> aattc:")[1]
    (figure,) = _pngs(cells[-1])
    assert figure.startswith(PNG)

"""Notebook display (``_repr_html_``): content, well-formed HTML, bounded size, escaping.

Each display is parsed with :class:`html.parser.HTMLParser`; the parser below
fails on unbalanced tags and on any ``<script>`` element, and collects every
table as rows of cell texts so the tests compare numbers, not substrings of
markup.
"""

from __future__ import annotations

from fractions import Fraction
from html.parser import HTMLParser
from typing import ClassVar

import attrs
import numpy as np
import pytest
import sympy
from hypothesis import given, settings

from instances import CNF, AttentionInstance, GapANNInstance, OVInstance, parse_dimacs, random_ksat
from instances.display import MAX_CLAUSES, MAX_COLUMNS, MAX_ROWS
from reductions.catalog.chains import attention_chain
from reductions.catalog.sat_ov import SatToOV
from reductions.core import Chain, ParameterMap
from reductions.pipeline import solve_via_attention
from reductions.verify import verify_reduction
from tests.strategies import cnf_formulas

HOSTILE = '<script>alert("x")</script>'


class _StrictParser(HTMLParser):
    """Balanced tags, no script elements; tables as lists of rows of cell texts."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.tables: list[dict[str, object]] = []
        self.text: list[str] = []
        self._open_tables: list[dict[str, object]] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        assert tag != "script", "a <script> element reached the page"
        self.stack.append(tag)
        if tag == "table":
            table: dict[str, object] = {"caption": "", "rows": []}
            self._open_tables.append(table)
            self.tables.append(table)
        elif tag == "tr":
            self._open_tables[-1]["rows"].append([])  # type: ignore[attr-defined]
        elif tag in ("td", "th", "caption"):
            self._cell = []

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        raise AssertionError(f"unexpected self-closing <{tag}/>")

    def handle_endtag(self, tag: str) -> None:
        assert self.stack, f"</{tag}> closes nothing"
        assert self.stack[-1] == tag, f"</{tag}> closes <{self.stack[-1]}>"
        self.stack.pop()
        if tag in ("td", "th") and self._cell is not None:
            self._open_tables[-1]["rows"][-1].append("".join(self._cell))  # type: ignore[index]
            self._cell = None
        elif tag == "caption" and self._cell is not None:
            self._open_tables[-1]["caption"] = "".join(self._cell)
            self._cell = None
        elif tag == "table":
            self._open_tables.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._cell is not None:
            self._cell.append(data)


def parse(html: str) -> _StrictParser:
    parser = _StrictParser()
    parser.feed(html)
    parser.close()
    assert not parser.stack, f"unclosed tags: {parser.stack}"
    assert parser.tables, "no table"
    return parser


def table(parser: _StrictParser, caption: str) -> list[list[str]]:
    """The rows of the table whose caption starts with ``caption``."""
    found = [t for t in parser.tables if str(t["caption"]).startswith(caption)]
    assert len(found) == 1, [t["caption"] for t in parser.tables]
    return found[0]["rows"]  # type: ignore[return-value]


def facts(parser: _StrictParser) -> dict[str, str]:
    """Every two-cell row of every table, as a mapping."""
    return {row[0]: row[1] for t in parser.tables for row in t["rows"] if len(row) == 2}  # type: ignore[attr-defined]


def page_text(parser: _StrictParser) -> str:
    return "".join(parser.text)


# -- instances ---------------------------------------------------------------------


def _clause_rows(formula: CNF) -> list[list[str]]:
    return table(parse(formula._repr_html_()), "clauses")[1:]  # row 0 is the header


def test_cnf_shows_sizes_and_first_clauses():
    formula = CNF(5, [[1, -2], [3, 4, -5], []] + [[1]] * 20)
    parser = parse(formula._repr_html_())
    shown = facts(parser)
    assert (shown["variables"], shown["clauses"], shown["largest clause"]) == ("5", "23", "3")
    rows = table(parser, "clauses")[1:]
    assert rows[:3] == [["0", "1 -2 0"], ["1", "3 4 -5 0"], ["2", "0"]]
    assert len(rows) == MAX_CLAUSES
    assert "... 13 more clauses" in page_text(parser)
    assert "empty clause" in page_text(parser)


def test_cnf_without_clauses_says_so():
    parser = _StrictParser()
    parser.feed(CNF(3, [])._repr_html_())
    assert not parser.stack
    assert "no clauses" in page_text(parser)


@settings(max_examples=150, deadline=None)
@given(cnf_formulas(max_vars=30, max_clauses=25, max_width=24))
def test_cnf_preview_holds_the_first_clauses_of_the_formula(formula):
    rows = _clause_rows(formula) if formula.clauses else []
    assert len(rows) == min(formula.num_clauses, MAX_CLAUSES)
    for position, ((index, text), clause) in enumerate(zip(rows, formula.clauses, strict=False)):
        assert index == str(position)
        tokens = text.split()
        assert tokens[-1] == "0"
        if "..." in tokens:  # a long clause: its first literals, then how many more
            prefix = [int(t) for t in tokens[: tokens.index("...")]]
            assert prefix == list(clause[: len(prefix)])
            assert f"({len(clause) - len(prefix):,} more literals)" in text
        else:
            assert [int(t) for t in tokens[:-1]] == list(clause)
    hidden = formula.num_clauses - MAX_CLAUSES
    assert (f"... {hidden:,} more clauses" in formula._repr_html_()) == (hidden > 0)


def test_huge_cnf_renders_in_a_few_kilobytes():
    many_clauses = random_ksat(40, 100_000, k=3, seed=0)
    html = many_clauses._repr_html_()
    assert len(html) < 4_000
    assert facts(parse(html))["clauses"] == "100,000"
    assert "... 99,990 more clauses" in html
    one_wide_clause = CNF(100_000, [range(1, 100_001)])
    html = one_wide_clause._repr_html_()
    assert len(html) < 4_000
    assert "(99,984 more literals)" in html


def test_parsed_dimacs_shows_its_warnings_escaped():
    parsed = parse_dimacs(f"p cnf 2 1 {HOSTILE}\n1 -2 0\n")
    assert len(parsed.warnings) == 1
    html = parsed._repr_html_()
    parser = parse(html)
    assert HOSTILE not in html
    assert HOSTILE in page_text(parser)  # shown as text, not run
    assert "1 warning:" in page_text(parser)
    assert facts(parser)["declared variables"] == "2"
    assert table(parser, "clauses")[1] == ["0", "1 -2 0"]


def test_parsed_dimacs_without_warnings_says_so():
    assert "no warnings" in page_text(parse(parse_dimacs("p cnf 1 1\n1 0\n")._repr_html_()))


def _corner(rows: list[list[str]]) -> list[list[int]]:
    """The matrix entries of a preview table (header row and index column dropped)."""
    return [[int(float(cell)) for cell in row[1:]] for row in rows[1:]]


def test_ov_preview_is_the_corner_of_each_matrix():
    rng = np.random.default_rng(1)
    a, b = rng.integers(0, 2, (12, 10)), rng.integers(0, 2, (3, 10))
    parser = parse(OVInstance(a, b)._repr_html_())
    assert (facts(parser)["n_a"], facts(parser)["n_b"], facts(parser)["d"]) == ("12", "3", "10")
    assert _corner(table(parser, "a (12 x 10)")) == a[:MAX_ROWS, :MAX_COLUMNS].tolist()
    assert _corner(table(parser, "b (3 x 10)")) == b[:, :MAX_COLUMNS].tolist()
    text = page_text(parser)
    assert "... 4 more rows, 2 more columns" in text and "... 2 more columns" in text


def test_huge_ov_renders_in_a_few_kilobytes():
    ov = OVInstance(np.ones((2**20, 8), dtype=np.uint8), np.zeros((2**20, 8), dtype=np.uint8))
    html = ov._repr_html_()
    assert len(html) < 5_000
    parser = parse(html)
    assert facts(parser)["n_a"] == "1,048,576"
    assert html.count("... 1,048,568 more rows") == 2


def test_gap_ann_shows_threshold_and_gap():
    instance = GapANNInstance([[1, 0, 1]], [[1, 1, 0], [0, 0, 0]], threshold=2, epsilon=Fraction(1, 4))
    parser = parse(instance._repr_html_())
    shown = facts(parser)
    assert (shown["t"], shown["eps"], shown["(1 + eps) t"]) == ("2", "1/4", "5/2")
    assert _corner(table(parser, "b (points) (2 x 3)")) == [[1, 1, 0], [0, 0, 0]]


def test_attention_shows_bound_and_matrix_corners():
    rng = np.random.default_rng(2)
    q, k, v = rng.uniform(-1, 1, (10, 3)), rng.uniform(-1, 1, (9, 3)), rng.uniform(0, 1, (9, 12))
    parser = parse(AttentionInstance(q, k, v, 1.0)._repr_html_())
    shown = facts(parser)
    assert (shown["n"], shown["n_keys"], shown["d"], shown["B"], shown["V >= 0"]) == ("10", "9", "3", "1", "True")
    assert table(parser, "Q (10 x 3)")[1][1:] == [f"{x:.4g}" for x in q[0]]
    assert [row[0] for row in table(parser, "V (9 x 12)")[1:]] == [str(i) for i in range(MAX_ROWS)]
    assert "... 1 more rows, 4 more columns" in page_text(parser)


def test_huge_attention_renders_in_a_few_kilobytes():
    ones = np.ones((2**20, 2))
    html = AttentionInstance(ones, ones, ones, 1.0)._repr_html_()
    assert len(html) < 6_000
    assert facts(parse(html))["n"] == "1,048,576"


# -- results, reports, maps, chains -------------------------------------------------


def test_solve_result_shows_status_assignment_and_every_stage():
    formula = CNF(3, [[1, 2], [-1, 3], [-2, -3]])
    result = solve_via_attention(formula, branch="attention")
    parser = parse(result._repr_html_())
    shown = facts(parser)
    assert shown["status"] == "SAT"
    literals = [int(x) for x in shown["assignment"].split()]
    assert literals == list(result.assignment.to_literals())
    stages = [row for t in parser.tables for row in t["rows"] if len(row) == 5][1:]
    assert [row[0] for row in stages] == [stage.name for stage in result.stages]
    assert [row[1] for row in stages] == [f"{s.source} -> {s.target}" for s in result.stages]
    sat_ov = result.stages[0]
    assert stages[0][2] == ", ".join(f"{k}={v:,}" for k, v in sat_ov.sizes.items())


def test_unsat_result_has_no_assignment():
    shown = facts(parse(solve_via_attention(CNF(1, [[1], [-1]]))._repr_html_()))
    assert (shown["status"], shown["assignment"]) == ("UNSAT", "none")


def test_passing_verification_report():
    report = verify_reduction(SatToOV(), trials=12, seed=2)
    parser = parse(report._repr_html_())
    shown = facts(parser)
    assert (shown["trials"], shown["failures"]) == ("12", "0")
    assert "passed" in page_text(parser) and "counterexample" not in page_text(parser)


@attrs.frozen
class _HostileBrokenSatToOV(SatToOV):
    """A plug-in-like reduction with a hostile name that drops the last clause (so it fails)."""

    name: ClassVar[str] = HOSTILE

    def _forward(self, instance):
        return super()._forward(CNF(instance.num_vars, instance.clauses[:-1]))


def test_failing_verification_report_shows_the_smallest_counterexample_escaped():
    report = verify_reduction(_HostileBrokenSatToOV(), trials=40, seed=3)
    assert not report.passed and report.smallest is not None
    html = report._repr_html_()
    assert HOSTILE not in html
    parser = parse(html)
    shown = facts(parser)
    smallest = report.smallest
    assert (shown["trials"], shown["failures"]) == ("40", f"{report.failures:,}")
    assert (shown["seed"], shown["trial"], shown["size"], shown["check"]) == (
        "3",
        str(smallest.trial),
        str(smallest.size),
        smallest.check,
    )
    assert f"FAILED {report.failures} of 40 trials" in page_text(parser)
    assert HOSTILE in page_text(parser)
    # the counterexample's formula is previewed
    expected = [[str(i), " ".join(map(str, (*c, 0)))] for i, c in enumerate(smallest.instance.clauses[:MAX_CLAUSES])]
    assert table(parser, "clauses")[1:] == expected


def test_parameter_map_renders_latex_and_plain_text():
    v, m = sympy.symbols("v m", positive=True)
    pm = ParameterMap("sat", "ov", {"n_a": 2 ** sympy.ceiling(v / 2), "d": 3 * m}, free=("beta",))
    parser = parse(pm._repr_html_())
    rows = [row for t in parser.tables for row in t["rows"]]
    assert rows[0] == ["parameter", "formula", "plain text"]
    assert rows[1] == ["n_a", r"$n_{a} = 2^{\left\lceil{\frac{v}{2}}\right\rceil}$", "n_a = 2**ceiling(v/2)"]
    assert rows[2] == ["d", "$d = 3 m$", "d = 3*m"]
    assert "chosen per instance: beta" in page_text(parser)


def test_parameter_map_escapes_hostile_names():
    m = sympy.Symbol("m", positive=True)
    html = ParameterMap(HOSTILE, "ov", {HOSTILE: m})._repr_html_()
    assert HOSTILE not in html
    assert HOSTILE in page_text(parse(html))


def test_chain_shows_the_path_each_step_and_the_composed_map():
    chain = attention_chain()
    parser = parse(chain._repr_html_())
    path = " -> ".join([chain.parts[0].source, *(p.target for p in chain.parts)])
    steps = table(parser, path)
    assert [row[1:4] for row in steps[1:]] == [[p.name, p.source, p.target] for p in chain.parts]
    assert steps[1][4] == "n_a = 2**ceiling(v/2); n_b = 2**(v - ceiling(v/2)); d = m"
    assert steps[4][4].endswith("B = Piecewise((1, Eq(hamming_ball, 1)), (sqrt(beta), True))")  # not cut
    formulas = [row[0] for t in parser.tables for row in t["rows"] if len(row) == 3][1:]
    assert formulas == list(chain.parameters().outputs)


def test_chain_with_a_hostile_label_and_a_broken_parameter_map():
    @attrs.frozen
    class NoMap(SatToOV):
        name: ClassVar[str] = f"no-map {HOSTILE}"

        def parameters(self):
            raise RuntimeError(HOSTILE)

    html = Chain.of(NoMap(), label=HOSTILE)._repr_html_()
    assert HOSTILE not in html
    text = page_text(parse(html))
    assert f"Chain {HOSTILE}" in text
    assert f"unavailable (RuntimeError: {HOSTILE})" in text
    assert f"no parameter map: RuntimeError: {HOSTILE}" in text


def test_reduced_shows_each_stage_with_its_sizes():
    formula = CNF(4, [[1, -2], [3, 4], [-1]])
    reduced = attention_chain(branch="attention").forward(formula)
    parser = parse(reduced._repr_html_())
    rows = [row for t in parser.tables for row in t["rows"] if len(row) == 5][1:]
    expected = reduced.stages()
    assert [row[0] for row in rows] == [s.name for s in expected]
    for row, stage in zip(rows, expected, strict=True):
        for name, value in stage.sizes.items():
            shown = (
                f"{value:,}" if isinstance(value, int) else f"{value:.4g}" if isinstance(value, float) else str(value)
            )
            assert f"{name}={shown}" in row[2]


@pytest.mark.parametrize(
    "make",
    [
        lambda: CNF(2, [[1, -2]]),
        lambda: OVInstance([[1]], [[0]]),
        lambda: GapANNInstance([[1]], [[0]], 1, 1),
        lambda: AttentionInstance([[1.0]], [[1.0]], [[1.0]], 1.0),
        lambda: SatToOV().forward(CNF(2, [[1, -2]])),
        lambda: Chain.of(SatToOV()),
        lambda: SatToOV().parameters(),
    ],
)
def test_every_display_is_framed_the_same_way(make):
    html = make()._repr_html_()
    assert html.startswith('<div class="reductions-display"><p><strong>') and html.endswith("</div>")
    parse(html)

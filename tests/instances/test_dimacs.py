"""Tests of the DIMACS reader and writer: real files, quirks, errors, round trips."""

from __future__ import annotations

import csv
import random
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from instances import CNF, DimacsParseError
from instances.dimacs import ParsedDimacs, parse_dimacs, read_dimacs, write_dimacs, write_dimacs_file
from tests.strategies import cnf_formulas, dimacs_comments, dimacs_layouts

DATA = Path(__file__).parents[1] / "data" / "cnf"


def _expected_rows() -> list[dict[str, str]]:
    with (DATA / "EXPECTED.tsv").open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


EXPECTED = _expected_rows()


# -- the shared files --------------------------------------------------------------


def test_every_cnf_file_is_listed() -> None:
    on_disk = {str(path.relative_to(DATA)) for path in DATA.rglob("*.cnf")}
    assert on_disk == {row["path"] for row in EXPECTED}


@pytest.mark.parametrize("row", EXPECTED, ids=[row["path"] for row in EXPECTED])
def test_file_counts_match_expected(row: dict[str, str]) -> None:
    parsed = read_dimacs(DATA / row["path"])
    header_variables = 0 if row["header_variables"] == "NA" else int(row["header_variables"])
    assert parsed.formula.num_vars == max(header_variables, int(row["max_variable"]))
    assert parsed.formula.num_clauses == int(row["clauses"])
    used = {abs(lit) for clause in parsed.formula.clauses for lit in clause}
    assert len(used) == int(row["variables_used"])
    assert max(used, default=0) == int(row["max_variable"])
    declared = (None, None) if row["header_variables"] == "NA" else (header_variables, int(row["header_clauses"]))
    assert (parsed.declared_variables, parsed.declared_clauses) == declared


def test_data_dir_fixture_points_at_the_copies(data_dir: Path) -> None:
    assert (data_dir / "cnf" / "EXPECTED.tsv").is_file()


def test_satlib_percent_ending_is_not_an_empty_clause() -> None:
    parsed = read_dimacs(DATA / "sat" / "uf20-01.cnf")
    assert parsed.warnings == ()
    assert not parsed.formula.has_empty_clause
    assert parsed.formula.clauses[0] == (4, -18, 19)
    assert parsed.formula.clauses[-1] == (4, -16, -5)
    assert {len(clause) for clause in parsed.formula.clauses} == {3}


def test_bundled_uf20_01_is_the_satlib_file() -> None:
    bundled = Path(__file__).parents[2] / "instances" / "data" / "uf20-01.cnf"
    assert bundled.read_bytes() == (DATA / "sat" / "uf20-01.cnf").read_bytes()


def test_header_says_90_warns_with_the_line() -> None:
    parsed = read_dimacs(DATA / "parser_quirks" / "uf20-01.header-says-90.cnf")
    assert parsed.warnings == ("line 8: p line declares 90 clauses, the file holds 91; using the file's clauses",)
    assert parsed.formula.clauses == read_dimacs(DATA / "sat" / "uf20-01.cnf").formula.clauses


def test_missing_p_line_warns() -> None:
    parsed = read_dimacs(DATA / "parser_quirks" / "hole4.no-p-line.cnf")
    assert parsed.warnings == ("line 6: no p line; using the content's 20 variables and 45 clauses",)
    assert parsed.declared_variables is None


def test_p_line_extra_field_warns() -> None:
    parsed = read_dimacs(DATA / "parser_quirks" / "aim-50-1_6-no-1.p-line-extra-field.cnf")
    assert parsed.warnings == ("line 11: p line has 1 extra field ('100'); ignored",)
    assert (parsed.declared_variables, parsed.declared_clauses) == (50, 80)


def test_header_overstating_counts_keeps_declared_variables() -> None:
    parsed = read_dimacs(DATA / "parser_quirks" / "simple_v3_c2.header-overstates.cnf")
    assert parsed.formula == CNF(5, [[1, -3], [2, 3, -1]])
    assert parsed.warnings == ("line 3: p line declares 3 clauses, the file holds 2; using the file's clauses",)


def test_leading_blank_lines_and_trailing_spaces() -> None:
    parsed = read_dimacs(DATA / "parser_quirks" / "uf20-02.leading-blanklines.cnf")
    assert parsed.warnings == ()
    assert parsed.formula.clauses[0] == (-10, -16, 5)


def test_multiline_clauses_file() -> None:
    parsed = read_dimacs(DATA / "parser_quirks" / "multiline.cnf")
    assert parsed.formula == CNF(6, [[-1, -2, -3, -4, -5, -6], [6]])


def test_empty_clause_file() -> None:
    parsed = read_dimacs(DATA / "parser_quirks" / "empty_clause.cnf")
    assert parsed.formula == CNF(10, [[1, 2, 3], [], [4, 5]])
    assert parsed.warnings == ()


def test_file_without_clauses() -> None:
    parsed = read_dimacs(DATA / "parser_quirks" / "empty.cnf")
    assert parsed.formula == CNF(10, [])
    assert parsed.warnings == ()


def test_format_test_file_with_wide_spacing() -> None:
    parsed = read_dimacs(DATA / "parser_quirks" / "format_test_1.cnf")
    assert parsed.formula.clauses == ((-1, 2), (2, 3), (-4, -3), (5, 6, 7, 8, 9, -10), (2,))


# -- quirks, as strings --------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("p cnf 3 2\r\n1 -2 0\r\n2 3 0\r\n", id="crlf"),
        pytest.param("p cnf 3 2\r1 -2 0\r2 3 0\r", id="lone-cr"),
        pytest.param("p cnf 3 2\n1 -2 0\n2 3 0", id="no-final-newline"),
        pytest.param("\n\n  \np cnf 3 2\n1 -2 0\n2 3 0\n", id="leading-blank-lines"),
        pytest.param("  p cnf 3 2\n   1 -2 0\n\t2 3 0\n", id="leading-spaces-and-tabs"),
        pytest.param("p\tcnf\t3\t2\n1\t-2\t0\n2 \t 3\t0\t\n", id="tabs"),
        pytest.param("p cnf 3 2\n1 -2 0 2 3 0\n", id="two-clauses-on-one-line"),
        pytest.param("p cnf 3 2\n1\n-2\n0 2\n3 0\n", id="clauses-spanning-lines"),
        pytest.param("c first\np cnf 3 2\nc between\n1 -2 0\nc middle\n2 3 0\nc last\n", id="comments-anywhere"),
        pytest.param("p cnf 3 2\n1 -2\nc inside a clause\n0\n2 3 0\n", id="comment-inside-a-clause"),
        pytest.param("p cnf 3 2\n1 -2 0\n2 3 0\n%\n0\n\n", id="satlib-end-marker"),
        pytest.param("p cnf 3 2\n1 -2 0\n2 3 0\n%\n0\nc trailing comment\n", id="comment-after-end-marker"),
        pytest.param("\ufeffp cnf 3 2\n1 -2 0\n2 3 0\n", id="byte-order-mark"),
        pytest.param("c x\r\n\r\np cnf 3 2\r\n1 -2 0 2\r3 0\n", id="mixed-line-ends"),
        pytest.param("p cnf 3 2\f\n1 -2\v0\n2 3 0\n", id="form-feed-and-vertical-tab"),
    ],
)
def test_accepted_layouts_without_warnings(text: str) -> None:
    parsed = parse_dimacs(text)
    assert parsed == ParsedDimacs(CNF(3, [[1, -2], [2, 3]]), (), 3, 2)


def test_bytes_are_decoded_as_utf8() -> None:
    text = "c caf\u00e9 \u2713\np cnf 2 1\n1 2 0\n"
    assert parse_dimacs(text.encode("utf-8")) == parse_dimacs(text)
    assert parse_dimacs(bytearray(text.encode("utf-8-sig"))).formula == CNF(2, [[1, 2]])


def test_content_after_end_marker_is_ignored_with_a_warning() -> None:
    parsed = parse_dimacs("p cnf 2 1\n1 2 0\n%\n0\n-1 0\n-2 0\n")
    assert parsed.formula == CNF(2, [[1, 2]])
    assert parsed.warnings == (
        "line 5: '-1 0' follows the '%' end marker on line 3; ignored, with everything after the marker",
    )


def test_end_marker_closes_an_unterminated_clause() -> None:
    parsed = parse_dimacs("p cnf 2 1\n1 2\n%\n0\n")
    assert parsed.formula == CNF(2, [[1, 2]])
    assert parsed.warnings == ("line 2: the last clause ('1 2') has no terminating 0; kept",)


def test_no_p_line_warns_at_the_first_clause() -> None:
    parsed = parse_dimacs("c nothing declared\n1 -4 0\n2 0\n")
    assert parsed.formula == CNF(4, [[1, -4], [2]])
    assert parsed.warnings == ("line 2: no p line; using the content's 4 variables and 2 clauses",)
    assert (parsed.declared_variables, parsed.declared_clauses) == (None, None)


@pytest.mark.parametrize(
    ("text", "warning"),
    [
        ("", "line 1: no p line; using the content's 0 variables and 0 clauses"),
        ("c only\nc comments\n", "line 1: no p line; using the content's 0 variables and 0 clauses"),
    ],
)
def test_empty_text_is_the_empty_formula(text: str, warning: str) -> None:
    parsed = parse_dimacs(text)
    assert parsed.formula == CNF(0, [])
    assert parsed.warnings == (warning,)


def test_p_line_with_several_extra_fields() -> None:
    parsed = parse_dimacs("p cnf 2 1 7 x\n1 2 0\n")
    assert parsed.warnings == ("line 1: p line has 2 extra fields ('7 x'); ignored",)
    assert parsed.formula == CNF(2, [[1, 2]])


@pytest.mark.parametrize(
    ("text", "clauses", "warning"),
    [
        ("p cnf 2 3\n1 2 0\n", 1, "line 1: p line declares 3 clauses, the file holds 1; using the file's clauses"),
        ("p cnf 2 0\n1 2 0\n", 1, "line 1: p line declares 0 clauses, the file holds 1; using the file's clauses"),
        ("c\np cnf 2 1\n1 0\n2 0\n", 2, "line 2: p line declares 1 clause, the file holds 2; using the file's clauses"),
    ],
)
def test_wrong_clause_count_trusts_the_content(text: str, clauses: int, warning: str) -> None:
    parsed = parse_dimacs(text)
    assert parsed.formula.num_clauses == clauses
    assert parsed.warnings == (warning,)


def test_variables_above_the_declared_count() -> None:
    parsed = parse_dimacs("p cnf 3 3\n1 2 0\n3 -5 0\n7 0\n")
    assert parsed.formula == CNF(7, [[1, 2], [3, -5], [7]])
    assert parsed.warnings == ("line 3: variables up to 7 are used, above the 3 declared on line 1; using 7 variables",)
    assert parsed.declared_variables == 3


def test_fewer_variables_used_than_declared_keeps_the_declaration() -> None:
    parsed = parse_dimacs("p cnf 9 1\n1 2 0\n")
    assert parsed.formula.num_vars == 9
    assert parsed.warnings == ()


@pytest.mark.parametrize(
    ("text", "clauses"),
    [
        ("p cnf 2 1\n0\n", [[]]),
        ("p cnf 2 3\n1 0\n0\n0\n", [[1], [], []]),
        ("p cnf 2 3\n1 0 0 2 0\n", [[1], [], [2]]),
        ("p cnf 0 1\n0\n", [[]]),
    ],
)
def test_explicit_empty_clauses_are_kept(text: str, clauses: list[list[int]]) -> None:
    parsed = parse_dimacs(text)
    assert parsed.formula.clauses == tuple(tuple(c) for c in clauses)
    assert parsed.formula.has_empty_clause
    assert parsed.warnings == ()


def test_tautologies_and_duplicate_literals_are_kept_as_given() -> None:
    parsed = parse_dimacs("p cnf 3 3\n1 -1 0\n2 2 -3 2 0\n-3 3 -3 0\n")
    assert parsed.formula.clauses == ((1, -1), (2, 2, -3, 2), (-3, 3, -3))
    assert parsed.warnings == ()


def test_unterminated_last_clause_is_kept_with_a_warning() -> None:
    parsed = parse_dimacs("p cnf 3 2\n1 -2 0\n2\n3")
    assert parsed.formula == CNF(3, [[1, -2], [2, 3]])
    assert parsed.warnings == ("line 4: the last clause ('2 3') has no terminating 0; kept",)


def test_warnings_are_in_line_order() -> None:
    parsed = parse_dimacs("p cnf 2 5 extra\n1 0\n4 0\n%\n9 0\n")
    lines = [int(warning.split(":")[0].removeprefix("line ")) for warning in parsed.warnings]
    assert lines == sorted(lines)
    assert len(parsed.warnings) == 4


def test_lf_and_crlf_give_the_same_line_numbers_in_warnings() -> None:
    text = "c\np cnf 2 5\n1 0\n"
    assert parse_dimacs(text).warnings == parse_dimacs(text.replace("\n", "\r\n")).warnings


# -- errors --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("p cnf 3 1\n1 x2 0\n", 2, "'x2' is not an integer literal"),
        ("p cnf 3 1\n1 2.5 0\n", 2, "'2.5' is not an integer literal"),
        ("p cnf 3 1\n\n\n1 2 0 -\n", 4, "'-' is not an integer literal"),
        ("p cnf 3 1\n1 --2 0\n", 2, "'--2' is not an integer literal"),
        ("p cnf 3 1\n1 +2 0\n", 2, "'+2' is not an integer literal"),
        ("p cnf 3 1\n1 1_0 0\n", 2, "'1_0' is not an integer literal"),
        ("p cnf 3 1\n1 2-3 0\n", 2, "'2-3' is not an integer literal"),
        ("p cnf 3 1\n1 2 0 c trailing\n", 2, "'c' is not an integer literal"),
        ("p cnf 3 1\nx 1 0\n", 2, "'x' is not an integer literal"),
        ("p cnf 3 1\n1 \u0662 0\n", 2, "'\u0662' is not an integer literal"),
        ("p cnf 3 1\n1\u00a02 0\n", 2, "'1\\xa02' is not an integer literal"),
    ],
)
def test_non_integer_token(text: str, line: int, message: str) -> None:
    with pytest.raises(DimacsParseError, match=rf"^<dimacs>:{line}: {re.escape(message)}$"):
        parse_dimacs(text)


def test_error_carries_line_and_source() -> None:
    with pytest.raises(DimacsParseError) as info:
        parse_dimacs("p cnf 1 1\r\n\r\nfoo 0\r\n", source="broken.cnf")
    assert (info.value.line, info.value.source) == (3, "broken.cnf")
    assert str(info.value) == "broken.cnf:3: 'foo' is not an integer literal"
    assert isinstance(info.value, ValueError)


def test_second_p_line() -> None:
    with pytest.raises(DimacsParseError, match=r"^<dimacs>:3: second p line \(the first is on line 1\)$"):
        parse_dimacs("p cnf 2 1\nc\np cnf 2 1\n1 0\n")


def test_p_line_after_clauses() -> None:
    message = r"^<dimacs>:3: p line after clauses \(the first clause starts on line 2\)$"
    with pytest.raises(DimacsParseError, match=message):
        parse_dimacs("c\n1 2 0\np cnf 2 1\n")


def test_p_line_in_the_middle_of_a_clause() -> None:
    with pytest.raises(DimacsParseError, match=r"^<dimacs>:2: p line after clauses"):
        parse_dimacs("1 2\np cnf 2 1\n0\n")


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("p wcnf 3 1", r"p line format 'wcnf' is not supported \(expected 'cnf'\)"),
        ("p CNF 3 1", r"p line format 'CNF' is not supported \(expected 'cnf'\)"),
        ("p sat 3", r"p line 'p sat 3' must read 'p cnf VARIABLES CLAUSES'"),
        ("p cnf 3", r"p line 'p cnf 3' must read 'p cnf VARIABLES CLAUSES'"),
        ("p", r"p line 'p' must read 'p cnf VARIABLES CLAUSES'"),
        ("p cnf x 1", r"p line variable count 'x' is not a non-negative integer"),
        ("p cnf 3 1.0", r"p line clause count '1.0' is not a non-negative integer"),
        ("p cnf -3 1", r"p line variable count '-3' is not a non-negative integer"),
        ("p cnf 3 -1", r"p line clause count '-1' is not a non-negative integer"),
        ("pcnf 3 1", r"malformed p line 'pcnf 3 1': expected 'p cnf VARIABLES CLAUSES'"),
    ],
)
def test_bad_p_line(header: str, message: str) -> None:
    with pytest.raises(DimacsParseError, match=rf"^<dimacs>:2: {message}$"):
        parse_dimacs(f"c comment\n{header}\n1 0\n")


@pytest.mark.parametrize(
    ("data", "line", "message"),
    [
        (b"p cnf 1 1\n1 0\nc \xff\n", 3, r"byte 0xff at column 3 is not valid UTF-8"),
        (b"\xfe", 1, r"byte 0xfe at column 1 is not valid UTF-8"),
        (b"c\r\nc\r\np cnf 1 1\r\n\xc3(\r\n", 4, r"byte 0xc3 at column 1 is not valid UTF-8"),
        (b"c\rc\rc\r1 \x80 0\r", 4, r"byte 0x80 at column 3 is not valid UTF-8"),
        (b"\xef\xbb\xbfc \xff\n", 1, r"byte 0xff at column 3 is not valid UTF-8"),
    ],
)
def test_undecodable_bytes(data: bytes, line: int, message: str) -> None:
    with pytest.raises(DimacsParseError, match=rf"^<dimacs>:{line}: {message}$"):
        parse_dimacs(data)


def test_undecodable_file_names_the_path(tmp_path: Path) -> None:
    path = tmp_path / "latin1.cnf"
    path.write_bytes("c caf\u00e9\np cnf 1 1\n1 0\n".encode("latin-1"))
    with pytest.raises(DimacsParseError, match=rf"^{path}:1: byte 0xe9 at column 6 is not valid UTF-8$"):
        read_dimacs(path)


def test_read_dimacs_errors_name_the_path(tmp_path: Path) -> None:
    path = tmp_path / "bad.cnf"
    path.write_text("p cnf 1 1\n1 0\np cnf 1 1\n")
    with pytest.raises(DimacsParseError, match=rf"^{path}:3: second p line"):
        read_dimacs(path)


def test_parse_rejects_other_types() -> None:
    with pytest.raises(TypeError, match=r"'text' must be str or bytes \(got list\)"):
        parse_dimacs(["p cnf 1 0"])  # type: ignore[arg-type]


def test_parse_rejects_a_non_string_source() -> None:
    with pytest.raises(TypeError, match=r"'source' must be a str or None \(got \w*Path\)"):
        parse_dimacs("p cnf 1 0\n", source=Path("f.cnf"))  # type: ignore[arg-type]


def test_read_missing_file() -> None:
    with pytest.raises(FileNotFoundError):
        read_dimacs(DATA / "no-such-file.cnf")


# -- the writer ----------------------------------------------------------------------


def test_write_golden() -> None:
    text = write_dimacs(CNF(4, [[1, -2], [], [3, 3, -3]]), comments=["made by hand", "two\nlines", ""])
    assert text == "c made by hand\nc two\nc lines\nc\np cnf 4 3\n1 -2 0\n0\n3 3 -3 0\n"


def test_write_empty_formula() -> None:
    assert write_dimacs(CNF(0, [])) == "p cnf 0 0\n"


def test_cnf_methods_use_this_module(tmp_path: Path) -> None:
    formula = CNF(3, [[1, -3], [2]])
    assert CNF.from_dimacs(formula.to_dimacs()) == formula
    path = write_dimacs_file(formula, tmp_path / "f.cnf", comments=["x"])
    assert CNF.from_file(path) == formula
    assert path.read_bytes() == b"c x\np cnf 3 2\n1 -3 0\n2 0\n"


def test_write_rejects_a_single_string_of_comments() -> None:
    with pytest.raises(TypeError, match=r"'comments' must be an iterable of str, not a single str"):
        write_dimacs(CNF(1, [[1]]), comments="hello")


def test_write_rejects_non_string_comments() -> None:
    with pytest.raises(TypeError, match=r"comment 1 must be a str \(got int\)"):
        write_dimacs(CNF(1, [[1]]), comments=["ok", 3])  # type: ignore[list-item]


def test_write_rejects_non_formulas() -> None:
    with pytest.raises(TypeError, match=r"'cnf' must be a CNF \(got list\)"):
        write_dimacs([[1, 2]])  # type: ignore[arg-type]


@given(cnf_formulas(max_vars=9, max_clauses=12), dimacs_comments())
def test_write_then_read_round_trips(formula: CNF, comments: list[str]) -> None:
    parsed = parse_dimacs(write_dimacs(formula, comments=comments))
    assert parsed == ParsedDimacs(formula, (), formula.num_vars, formula.num_clauses)


@given(st.data())
def test_untidy_layouts_read_back_the_same_formula(data: st.DataObject) -> None:
    formula = data.draw(cnf_formulas(max_vars=9, max_clauses=12))
    text = data.draw(dimacs_layouts(formula))
    parsed = parse_dimacs(text)
    assert parsed.formula == formula
    assert parsed.warnings == ()
    assert parse_dimacs(text.encode("utf-8")) == parsed


def test_parsed_dimacs_validates_its_fields() -> None:
    with pytest.raises(TypeError):
        ParsedDimacs("not a formula")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"declared counts must be >= 0 \(got -1\)"):
        ParsedDimacs(CNF(0, []), (), -1, 0)


# -- size ----------------------------------------------------------------------------
# (speed is measured by 'reductions bench startup', which times inspect, not asserted here)


def test_one_megabyte_parses_to_the_clauses_written() -> None:
    rng = random.Random(20)
    num_vars = 100_000
    lines = ["c large", f"p cnf {num_vars} 0"]
    clauses = []
    size = 0
    while size < 1_000_000:
        clause = tuple(rng.choice((-1, 1)) * rng.randint(1, num_vars) for _ in range(3))
        clauses.append(clause)
        line = " ".join(map(str, clause)) + " 0"
        lines.append(line)
        size += len(line) + 1
    parsed = parse_dimacs("\n".join(lines) + "\n")
    assert parsed.formula.clauses == tuple(clauses)
    assert parsed.declared_clauses == 0 and len(parsed.warnings) == 1  # the p line's count is wrong on purpose

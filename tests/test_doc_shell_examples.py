"""Run the shell examples of README.md and docs/*.md and compare their output.

Convention (for page authors):

* A ```` ```console ```` block holds examples: a line ``$ reductions ...`` is a
  command, the lines after it (up to the next ``$`` line) its expected output.
  The command runs as ``python -m reductions ...`` in the repository root,
  split like a shell would split it (no pipes, no redirections).
* In expected output ``...`` matches anything (several lines too) and runs of
  spaces match any whitespace, so column widths and timings may vary.
* An HTML comment ``<!-- console: slow -->`` right before the block runs it only
  with ``--run-slow``; ``<!-- console: skip (why) -->`` never runs it.
* Output is the command's stdout followed by its stderr; no example may print a
  traceback.

Lines starting with ``reductions`` in ```` ```bash ```` blocks are a reference
list with placeholders (``FILE.cnf``): for those only the subcommand is checked
(``--help`` must succeed).
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import attrs
import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

_BLOCK = re.compile(
    r"(?:<!--\s*console:\s*(\w+)[^>]*-->\s*\n)?^```(console|bash)\n(.*?)^```$", re.MULTILINE | re.DOTALL
)


@attrs.frozen
class ShellExample:
    page: str
    line: int
    command: str
    expected: str
    marker: str | None


def _examples() -> tuple[list[ShellExample], list[tuple[str, int, str]]]:
    console: list[ShellExample] = []
    reference: list[tuple[str, int, str]] = []
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        for block in _BLOCK.finditer(text):
            marker, kind, body = block.group(1), block.group(2), block.group(3)
            first_line = text.count("\n", 0, block.start(3)) + 1
            lines = body.splitlines()
            if kind == "bash":
                for offset, line in enumerate(lines):
                    if line.startswith("reductions "):
                        reference.append((page.name, first_line + offset, line.split("#")[0].split()[1]))
                continue
            current: list[str] | None = None
            start = 0
            for offset, line in enumerate([*lines, "$ "]):
                if line.startswith("$ "):
                    if current is not None:
                        command, *output = current
                        console.append(ShellExample(page.name, start, command, "\n".join(output), marker))
                    current, start = [line[2:]], first_line + offset
                elif current is not None:
                    current.append(line)
    return console, reference


CONSOLE, REFERENCE = _examples()


def _pattern(expected: str) -> re.Pattern[str]:
    parts = []
    for piece in re.split(r"(\.\.\.|\s+)", expected.strip()):
        if piece == "...":
            parts.append(r".*?")
        elif piece and piece.isspace():
            parts.append(r"\s+")
        else:
            parts.append(re.escape(piece))
    return re.compile("".join(parts), re.DOTALL)


def _run(arguments: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "reductions", *arguments], cwd=ROOT, capture_output=True, text=True, timeout=600
    )


def test_the_pages_have_console_examples() -> None:
    assert len(CONSOLE) >= 4
    assert all(example.command.startswith("reductions ") for example in CONSOLE)


def test_the_pattern_matches_with_ellipsis_and_loose_spaces() -> None:
    assert _pattern("c stage  seconds ... 0 ...\ns SAT").fullmatch("c stage seconds 1.2\nmore 0 x\ns SAT")
    assert not _pattern("s SATISFIABLE").fullmatch("s UNSATISFIABLE")


@pytest.mark.parametrize(
    "example",
    [pytest.param(e, id=f"{e.page}:{e.line}", marks=[pytest.mark.slow] if e.marker == "slow" else []) for e in CONSOLE],
)
def test_console_example(example: ShellExample) -> None:
    if example.marker == "skip":
        pytest.skip(f"{example.page}:{example.line} is marked 'console: skip'")
    completed = _run(shlex.split(example.command)[1:])
    output = completed.stdout + completed.stderr
    assert "Traceback" not in output, f"{example.page}:{example.line}: {example.command}\n{output}"
    assert _pattern(example.expected).fullmatch(output.strip()), (
        f"{example.page}:{example.line}: `{example.command}` printed\n{output}\nexpected\n{example.expected}"
    )


@pytest.mark.parametrize("subcommand", sorted({name for _, _, name in REFERENCE}))
def test_reference_list_names_real_subcommands(subcommand: str) -> None:
    completed = _run([subcommand, "--help"])
    assert completed.returncode == 0, f"'reductions {subcommand} --help' failed: {completed.stderr}"

"""Plug-ins through a real installed entry point.

Each test writes a tiny distribution into a temporary folder: a package and
its ``.dist-info`` (``METADATA``, ``entry_points.txt``, ``RECORD``), the files
``pip install`` leaves behind. ``importlib.metadata`` finds it because the
folder is on the path, nothing is patched. The command-line tests run
``python -m reductions`` in a fresh process with ``PYTHONPATH`` set to that
folder and the working tree, so the process starts clean.

The plug-in adds a problem (``disjoint``: is there a disjoint pair between two
families of sets?), its reduction to OV (characteristic vectors), the
documentation's ``TrimOV`` (``ov-trim``), and two chains built on the
built-ins (``disjoint-aattc`` and ``sat-aattc-trimmed``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import numpy as np
import pytest

from instances.answers import Assignment, OrthogonalPair
from instances.cnf import CNF
from reductions import plugins, problems, registry
from reductions.core import Chain
from reductions.plugins import PluginWarning, loaded_plugins, reload_plugins

ROOT = Path(__file__).resolve().parents[2]

PLUGIN_SOURCE = '''
"""Disjoint pairs of sets, and a reduction to OV: a plug-in of the reductions framework."""

from __future__ import annotations

import itertools
from typing import ClassVar

import attrs
import sympy

from instances.answers import OrthogonalPair
from instances.vectors import OVInstance
from reductions import Chain, ParameterMap, Problem, Reduction, register, register_problem
from reductions.catalog.chains import attention_chain
from reductions.catalog.gapann_aattc import GapANNToAttention
from reductions.catalog.half_ones import HalfOnesPadding
from reductions.catalog.ov_gapann import OVToGapANN
from reductions.catalog.sat_ov import SatToOV
from reductions.problems import problem_symbols


def _families(value):
    return tuple(frozenset(int(x) for x in members) for members in value)


@attrs.frozen
class DisjointPairs:
    """Two families of subsets of {0, ..., d-1}: is some set of A disjoint from some set of B?"""

    problem: ClassVar[str] = "disjoint"
    a: tuple = attrs.field(converter=_families)
    b: tuple = attrs.field(converter=_families)
    universe: int = 0

    def __attrs_post_init__(self):
        for family in (self.a, self.b):
            for members in family:
                if any(not 0 <= x < self.universe for x in members):
                    raise ValueError(f"set {sorted(members)} leaves the universe of size {self.universe}")

    def parameters(self):
        return {"n_a": len(self.a), "n_b": len(self.b), "d": self.universe}

    def pairs(self):
        return [OrthogonalPair(i, j) for (i, x), (j, y) in itertools.product(enumerate(self.a), enumerate(self.b))
                if not x & y]


def random_disjoint_pairs(rng, size):
    universe = int(rng.integers(0, size + 3))
    def family():
        return [[x for x in range(universe) if rng.random() < 0.4] for _ in range(int(rng.integers(1, size + 2)))]
    return DisjointPairs(family(), family(), universe)


def solve_disjoint(instance):
    pairs = instance.pairs()
    return pairs[0] if pairs else None


def check_disjoint(instance, answer, reference):
    if answer is None:
        return None if reference is None else f"answered no pair, {reference} is disjoint"
    if not isinstance(answer, OrthogonalPair):
        return f"answer is a {type(answer).__name__}, not an OrthogonalPair"
    if answer not in instance.pairs():
        return f"{answer} is not a disjoint pair"
    return None


DISJOINT = Problem(
    "disjoint",
    "Disjoint pair of sets",
    DisjointPairs,
    random_disjoint_pairs,
    solve_disjoint,
    check_disjoint,
    lambda instance, limit: instance.pairs()[:limit],
    parameters=("n_a", "n_b", "d"),
)


def _vectors(family, universe):
    return [[x in members for x in range(universe)] for members in family]


@attrs.frozen
class DisjointToOV(Reduction):
    """Disjoint pairs -> OV: each set becomes its characteristic vector."""

    name: ClassVar[str] = "disjoint-ov"
    source: ClassVar[str] = "disjoint"
    target: ClassVar[str] = "ov"

    def _forward(self, instance):
        d = instance.universe
        return OVInstance(_vectors(instance.a, d), _vectors(instance.b, d)), {}, {}

    def backward(self, reduced, answer):
        return answer

    def parameters(self):
        s = problem_symbols("disjoint")
        return ParameterMap("disjoint", "ov", {"n_a": s["n_a"], "n_b": s["n_b"], "d": s["d"]})


@attrs.frozen
class TrimOV(Reduction):
    """OV -> OV: drop every coordinate on which all of A, or all of B, is 0."""

    name: ClassVar[str] = "ov-trim"
    source: ClassVar[str] = "ov"
    target: ClassVar[str] = "ov"

    def _forward(self, instance):
        used = instance.a.any(axis=0) & instance.b.any(axis=0)
        return OVInstance(instance.a[:, used], instance.b[:, used]), {}, {"kept": int(used.sum())}

    def backward(self, reduced, answer):
        return answer

    def parameters(self):
        s = problem_symbols("ov")
        kept = sympy.Symbol("kept", positive=True)
        return ParameterMap("ov", "ov", {"n_a": s["n_a"], "n_b": s["n_b"], "d": kept}, free=("kept",))


def register_plugin():
    register_problem(DISJOINT)
    register("disjoint-ov", DisjointToOV())
    register("ov-trim", TrimOV())
    register("disjoint-aattc", Chain.of(DisjointToOV(), *attention_chain().parts[1:], label="disjoint-aattc"))
    trimmed = Chain.of(SatToOV(), TrimOV(), OVToGapANN(), HalfOnesPadding(), GapANNToAttention(),
                       label="sat-aattc-trimmed")
    register("sat-aattc-trimmed", trimmed)
'''

PLUGIN_NAME = "disjoint-pairs"


def install(site: Path, distribution: str, module: str, source: str, entry_points: dict[str, str]) -> Path:
    """Write ``module`` and an installed distribution's ``.dist-info`` into ``site``."""
    site.mkdir(parents=True, exist_ok=True)
    (site / f"{module}.py").write_text(textwrap.dedent(source), encoding="utf-8")
    info = site / f"{distribution.replace('-', '_')}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {distribution}\nVersion: 0.1\n", encoding="utf-8")
    lines = "".join(f"{name} = {value}\n" for name, value in entry_points.items())
    (info / "entry_points.txt").write_text(f"[reductions.plugins]\n{lines}", encoding="utf-8")
    (info / "RECORD").write_text(f"{module}.py,,\n{info.name}/METADATA,,\n{info.name}/RECORD,,\n", encoding="utf-8")
    return site


@pytest.fixture
def plugin_site(tmp_path: Path) -> Path:
    """A folder holding the disjoint-pairs plug-in, installed as a distribution."""
    return install(
        tmp_path / "site",
        "disjoint-pairs",
        "disjoint_pairs_plugin",
        PLUGIN_SOURCE,
        {PLUGIN_NAME: "disjoint_pairs_plugin:register_plugin"},
    )


def broken_site(tmp_path: Path) -> Path:
    """Three more plug-ins: one whose module fails to import, one that raises, one that is missing."""
    site = install(
        tmp_path / "broken",
        "broken-import",
        "broken_import_plugin",
        "import no_such_module_anywhere\n\ndef register():\n    pass\n",
        {"broken-import": "broken_import_plugin:register"},
    )
    install(
        site,
        "broken-raise",
        "broken_raise_plugin",
        'def register():\n    raise RuntimeError("the plug-in gave up")\n',
        {"broken-raise": "broken_raise_plugin:register"},
    )
    return site


def run_cli(*args: str, sites: tuple[Path, ...], timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """``python -m reductions ARGS`` in a fresh process that sees ``sites`` and this working tree."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([*map(str, sites), str(ROOT)])
    env["MPLBACKEND"] = "Agg"
    return subprocess.run(
        [sys.executable, "-m", "reductions", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


# -- in this process, through reload_plugins -----------------------------------------


@pytest.fixture
def with_sites(monkeypatch: pytest.MonkeyPatch):
    """Put folders on ``sys.path`` and reload the plug-ins; afterwards remove what they registered."""
    reductions_before = dict(registry._REDUCTIONS)
    problems_before = dict(problems._PROBLEMS)

    def add(*sites: Path) -> None:
        for site in sites:
            monkeypatch.syspath_prepend(str(site))
        reload_plugins()

    yield add
    monkeypatch.undo()
    for module in [
        name for name in sys.modules if name.endswith("_plugin") and name.startswith(("disjoint", "broken"))
    ]:
        del sys.modules[module]
    registry._REDUCTIONS.clear()
    registry._REDUCTIONS.update(reductions_before)
    problems._PROBLEMS.clear()
    problems._PROBLEMS.update(problems_before)
    reload_plugins()
    plugins.load_plugins()


def test_plugin_is_found_through_importlib_metadata(plugin_site: Path, with_sites) -> None:
    from importlib.metadata import entry_points

    with_sites(plugin_site)
    found = {point.name: point.value for point in entry_points(group=plugins.ENTRY_POINT_GROUP)}
    assert found[PLUGIN_NAME] == "disjoint_pairs_plugin:register_plugin"
    assert found[plugins.BUILTIN] == "reductions.catalog:register_builtins"
    assert loaded_plugins() == [plugins.BUILTIN, PLUGIN_NAME]
    assert "disjoint" in problems.problem_names()
    assert registry.registry_graph().has_edge("disjoint", "ov", key="disjoint-ov")
    assert registry.path("disjoint", "aattc").name == "disjoint-aattc"


def test_plugin_problem_and_reduction_pass_the_contract_checks(plugin_site: Path, with_sites) -> None:
    from reductions.testing import assert_reduction_sound, contract_instances
    from reductions.verify import verify_reduction

    with_sites(plugin_site)
    reduction = registry.get_reduction("disjoint-ov")
    problem = problems.get_problem("disjoint")
    instances = contract_instances(reduction, 30)
    # both answers occur, so the checks are exercised on yes- and no-instances
    assert {problem.solve(instance) is None for instance in instances} == {True, False}
    for instance in instances:
        assert_reduction_sound(reduction, instance)
        # the reference solver agrees with brute force over the characteristic vectors
        vectors = reduction.forward(instance).target
        orthogonal = (vectors.a.astype(int) @ vectors.b.astype(int).T) == 0
        assert (problem.solve(instance) is None) == (not orthogonal.any())
    report = verify_reduction(reduction, trials=60, seed=3)
    assert report.passed, report.summary()
    assert verify_reduction(registry.get_reduction("ov-trim"), trials=60, seed=3).passed


def test_contract_checks_catch_a_wrong_plugin_reduction(plugin_site: Path, with_sites) -> None:
    from reductions.testing import ContractViolation, assert_answer_preserved
    from reductions.verify import verify_reduction

    with_sites(plugin_site)
    reduction = registry.get_reduction("disjoint-ov")

    class SwappedBack(type(reduction)):  # type: ignore[misc]
        def backward(self, reduced, answer):
            return None if answer is None else OrthogonalPair(answer.j, answer.i)

    # only (1, 0) is disjoint: {1} and {0}; the swapped answer (0, 1) names no set of B
    instance = sys.modules["disjoint_pairs_plugin"].DisjointPairs([[0], [1]], [[0]], 2)
    assert problems.get_problem("disjoint").solve(instance) == OrthogonalPair(1, 0)
    assert_answer_preserved(reduction, instance)
    with pytest.raises(ContractViolation, match=r"disjoint-ov: answer not preserved: .*i=0, j=1.* not a disjoint pair"):
        assert_answer_preserved(SwappedBack(), instance)
    report = verify_reduction(SwappedBack(), trials=60, seed=3)
    assert not report.passed and report.smallest is not None


def test_broken_plugins_warn_once_each_and_the_rest_works(plugin_site: Path, tmp_path: Path, with_sites) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with_sites(plugin_site, broken_site(tmp_path))
        names = loaded_plugins()
        registry.reduction_names()
        problems.problem_names()
    messages = [str(w.message) for w in caught if issubclass(w.category, PluginWarning)]
    assert len(messages) == 2, messages
    assert any(
        "'broken-import'" in m and "ModuleNotFoundError" in m and "no_such_module_anywhere" in m for m in messages
    )
    assert any("'broken-raise'" in m and "RuntimeError: the plug-in gave up" in m for m in messages)
    assert names == [plugins.BUILTIN, PLUGIN_NAME]
    assert registry.get_reduction("disjoint-ov").name == "disjoint-ov"
    assert registry.get_reduction("sat-ov").name == "sat-ov"


def test_where_warnings_are_errors_the_other_plugins_still_register(
    plugin_site: Path, tmp_path: Path, with_sites
) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", PluginWarning)
        with_sites(broken_site(tmp_path), plugin_site)
        with pytest.raises(PluginWarning, match="plug-in 'broken-"):
            registry.reduction_names()
        assert loaded_plugins() == [plugins.BUILTIN, PLUGIN_NAME]
        assert {"sat-ov", "disjoint-ov", "sat-aattc-trimmed"} <= set(registry.reduction_names())


# -- the command line, in a fresh process --------------------------------------------


def test_cli_verify_plugin_reductions(plugin_site: Path) -> None:
    result = run_cli("verify", "disjoint-ov", "ov-trim", "--trials", "50", "--json", sites=(plugin_site,))
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["passed"] is True
    assert [(r["name"], r["trials"], r["failures"]) for r in report["reductions"]] == [
        ("disjoint-ov", 50, 0),
        ("ov-trim", 50, 0),
    ]
    assert result.stderr == ""


def test_cli_verify_plugin_chain(plugin_site: Path) -> None:
    result = run_cli("verify", "disjoint-aattc", "--trials", "50", sites=(plugin_site,))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("disjoint-aattc: ok (50 trials")


def test_cli_chain_finds_plugin_reductions(plugin_site: Path) -> None:
    result = run_cli("chain", "disjoint", "aattc", sites=(plugin_site,))
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == (
        "disjoint -> aattc: disjoint-ov (disjoint -> ov) >> ov-gapann (ov -> gapann) >> "
        "half-ones (gapann -> gapann) >> gapann-aattc (gapann -> aattc)"
    )
    every = run_cli("chain", "sat", "aattc", "--all", sites=(plugin_site,))
    assert every.returncode == 0, every.stderr
    assert "sat-ov (sat -> ov) >> ov-trim (ov -> ov) >> ov-gapann (ov -> gapann)" in every.stdout
    without = run_cli("chain", "disjoint", "aattc", sites=())
    assert without.returncode != 0 and "unknown problem 'disjoint'" in without.stdout + without.stderr


def random_formula_with_tautology(rng: np.random.Generator, num_vars: int = 6) -> CNF:
    """A random small CNF holding a tautology (a coordinate the trimming drops)."""
    clauses = [
        [int(v) * int(rng.choice([-1, 1])) for v in rng.choice(np.arange(1, num_vars + 1), int(rng.integers(1, 4)))]
        for _ in range(int(rng.integers(3, 14)))
    ]
    return CNF(num_vars, [*clauses, [1, -1]])


def test_solve_via_attention_with_the_plugin_chain(plugin_site: Path, with_sites) -> None:
    from reductions.pipeline import solve_via_attention
    from solvers.sat import solve_sat

    with_sites(plugin_site)
    chain = registry.get_reduction("sat-aattc-trimmed")
    assert isinstance(chain, Chain)
    rng = np.random.default_rng(11)
    statuses = set()
    for _ in range(25):
        formula = random_formula_with_tautology(rng)
        result = solve_via_attention(formula, chain=chain)
        trim = next(stage for stage in result.stages if stage.name == "ov-trim")
        assert trim.info["kept"] < formula.num_clauses  # the tautology's coordinate is gone
        reference = solve_sat(formula)
        assert result.status == ("UNSAT" if reference is None else "SAT")
        if reference is not None:
            assert result.assignment is not None and formula.is_satisfied_by(result.assignment)
        statuses.add(result.status)
    assert statuses == {"SAT", "UNSAT"}


@pytest.mark.parametrize(
    ("clauses", "status"),
    [
        ([[1, -2], [2, 3], [-1, -3, 4], [-4, 2], [1, -1]], "SAT"),
        ([[1, 2], [-1, 2], [1, -2], [-1, -2], [3, -3]], "UNSAT"),
    ],
)
def test_cli_solve_with_a_plugin_chain(
    plugin_site: Path, tmp_path: Path, clauses: list[list[int]], status: str
) -> None:
    formula = CNF(4, clauses)
    path = tmp_path / "formula.cnf"
    path.write_text(formula.to_dimacs(), encoding="utf-8")
    result = run_cli("solve", str(path), "--chain", "sat-aattc-trimmed", "--json", sites=(plugin_site,))
    answer = json.loads(result.stdout)
    assert (answer["status"], result.returncode) == (status, {"SAT": 10, "UNSAT": 20}[status]), result.stderr
    stages = [stage["name"] for stage in answer["stages"]]
    assert stages[:5] == ["sat-ov", "ov-trim", "ov-gapann", "half-ones", "gapann-aattc"] and stages[-1] == "backward"
    if status == "SAT":
        assert formula.is_satisfied_by(Assignment.from_literals(answer["assignment"], num_vars=4))


def test_cli_demo_registry_draws_plugin_reductions(plugin_site: Path, tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    result = run_cli("demo", "registry", "--out", str(tmp_path / "figures"), sites=(plugin_site,))
    assert result.returncode == 0, result.stderr
    written = sorted((tmp_path / "figures").iterdir())
    assert [f.name for f in written] == ["registry.png"]
    assert written[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_registry_figure_shows_plugin_problem_and_reductions(plugin_site: Path, with_sites) -> None:
    pytest.importorskip("matplotlib")
    import matplotlib.pyplot as plt

    from reductions.app.figures.registry import registry_figure

    with_sites(plugin_site)
    figure = registry_figure()
    try:
        texts = [text.get_text() for text in figure.axes[0].texts]
        footer = figure.get_supxlabel()
    finally:
        plt.close(figure)
    assert "disjoint" in texts and "Disjoint pair of sets" in " ".join(texts).replace("\n", " ")
    assert any("disjoint-ov (DisjointToOV)" in text for text in texts)
    assert any("ov-trim (TrimOV)" in text for text in texts)
    assert "registered chain disjoint-aattc: disjoint-ov >> ov-gapann" in footer
    assert "registered chain sat-aattc-trimmed: sat-ov >> ov-trim" in footer


def test_cli_broken_plugins_give_one_warning_each(plugin_site: Path, tmp_path: Path) -> None:
    result = run_cli("chain", "disjoint", "ov", sites=(plugin_site, broken_site(tmp_path)))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "disjoint -> ov: disjoint-ov (disjoint -> ov)"
    warned = result.stderr.splitlines()
    assert len(warned) == 2 and all(line.startswith("reductions.plugins:0: PluginWarning: plug-in ") for line in warned)
    assert sum("'broken-import'" in line for line in warned) == 1
    assert sum("'broken-raise'" in line for line in warned) == 1

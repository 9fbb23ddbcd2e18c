"""Tests for the teaching figures (reductions.app.figures) and the ``demo`` command glue."""

from __future__ import annotations

import argparse
import math
import os
import subprocess
import sys
from pathlib import Path

import networkx as nx
import numpy as np
import pytest

pytest.importorskip("matplotlib")

from matplotlib.figure import Figure

from instances import CNF
from instances.vectors import GapANNInstance
from reductions.app import figures as demo
from reductions.app.figures import (
    DEMOS,
    Demo,
    add_demo_command,
    gallery,
    margin_curves,
    polynomial,
    run_demo_command,
    save_all,
    save_demo,
)
from reductions.app.figures import registry as registry_figures
from reductions.catalog.gapann_aattc import block_parameters

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
REPOSITORY = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def figures() -> dict[str, Figure]:
    """Every demo drawn once for the whole module (some take a second or two)."""
    return {name: entry() for name, entry in DEMOS.items()}


def _has_title(ax) -> bool:  # type: ignore[no-untyped-def]
    return any(ax.get_title(loc=loc) for loc in ("left", "center", "right"))


def test_at_least_five_demos_with_the_required_names():
    assert len(DEMOS) >= 5
    assert {"attention-blocks", "gadget", "polynomial", "phase-transition", "registry"} <= set(DEMOS)


@pytest.mark.parametrize("name", list(DEMOS))
def test_demo_entry_is_named_and_described(name):
    entry = DEMOS[name]
    assert isinstance(entry, Demo)
    assert entry.name == name
    assert entry.description and "\n" not in entry.description


@pytest.mark.parametrize("name", list(DEMOS))
def test_demo_returns_a_titled_figure(figures, name):
    figure = figures[name]
    assert isinstance(figure, Figure)
    plotted = [ax for ax in figure.axes if ax.get_label() != "<colorbar>"]
    assert plotted, "a figure without axes"
    untitled = [index for index, ax in enumerate(plotted) if not _has_title(ax)]
    assert not untitled, f"axes {untitled} have no title"
    assert figure.get_suptitle() or len(plotted) == 1


@pytest.mark.parametrize("name", list(DEMOS))
def test_demo_axes_have_labels_or_are_pictures(figures, name):
    """Plots (not matrix pictures or the graph drawing) label both axes."""
    for ax in figures[name].axes:
        if ax.get_label() == "<colorbar>" or not ax.axison or ax.images:
            continue
        assert ax.get_xlabel() and ax.get_ylabel(), ax.get_title()


def test_save_all_writes_png_files(tmp_path, monkeypatch, figures):
    # reuse the figures drawn once for this module: save_all's own work is naming and writing
    cached = {name: Demo(name, entry.description, lambda name=name: figures[name]) for name, entry in DEMOS.items()}
    monkeypatch.setattr(gallery, "DEMOS", cached)
    paths = save_all(tmp_path / "figures")
    assert [p.name for p in paths] == [f"{name}.png" for name in DEMOS]
    for path in paths:
        assert path.parent == tmp_path / "figures"
        data = path.read_bytes()
        assert data.startswith(PNG_SIGNATURE) and len(data) > 10_000


def test_save_demo_end_to_end_in_other_formats(tmp_path):
    for file_format in ("svg", "pdf"):
        path = save_demo("gadget", tmp_path, format=file_format)
        assert path.suffix == f".{file_format}" and path.stat().st_size > 1_000


def test_save_demo_rejects_unknown_names_and_formats(tmp_path):
    with pytest.raises(ValueError, match="unknown demo 'nope'; choose one of: registry"):
        save_demo("nope", tmp_path)
    with pytest.raises(ValueError, match="'format' must be one of png, pdf, svg"):
        save_demo("gadget", tmp_path, format="bmp")
    assert not list(tmp_path.iterdir())


def test_figures_need_no_display_and_leave_pyplot_alone(tmp_path):
    code = (
        "import sys\n"
        "from reductions.app.figures import save_demo\n"
        f"path = save_demo('split-and-list', {str(tmp_path)!r})\n"
        "assert 'matplotlib.pyplot' not in sys.modules, 'pyplot was imported'\n"
        "print(path.stat().st_size)\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "MPLBACKEND")}
    result = subprocess.run(
        [sys.executable, "-W", "error", "-c", code],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPOSITORY,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert int(result.stdout) > 10_000


# -- the figures' numbers -----------------------------------------------------------------------


@pytest.mark.parametrize("balance", ["paper", "tight"])
@pytest.mark.parametrize("mode", ["certified", "paper"])
def test_margin_curves_agree_with_block_parameters(balance, mode):
    a = np.array([[1, 0, 1, 0, 0, 1], [0, 1, 1, 0, 1, 0], [1, 1, 0, 0, 0, 1]])
    b = np.array([[1, 0, 0, 1, 1, 0], [0, 1, 1, 0, 0, 1]])
    p = block_parameters(GapANNInstance(a, b, 3, 1), mode=mode, balance=balance)
    curves = margin_curves(p, np.array([p.beta]))
    assert np.isclose(curves["log_lower"][0], p.log_lower)
    assert np.isclose(curves["log_upper"][0], p.log_upper)
    assert np.isclose(curves["log_margin"][0], p.log_margin)


def test_figures_reject_instances_too_big_to_draw():
    with pytest.raises(ValueError, match="at most 8 variables"):
        demo.split_and_list_figure(CNF(9, [[1, 9]]))
    with pytest.raises(ValueError, match="at most 6 variables"):
        demo.attention_blocks_figure(CNF(7, [[1, 7]]))
    with pytest.raises(ValueError, match="1..4 rows and 1..4 columns"):
        demo.gadget_figure([[0] * 5], [[1] * 5])
    with pytest.raises(ValueError, match="'eps' must be in"):
        demo.polynomial_figure(eps=2.0)
    with pytest.raises(ValueError, match="'n' must be in 16..8192"):
        demo.phase_transition_figure(n=10**6)


def test_small_figures_take_other_inputs():
    unsatisfiable = CNF(2, [[1], [-1], [2]])
    assert demo.split_and_list_figure(unsatisfiable).axes[2].get_xlabel().startswith("no zero")
    assert demo.gadget_figure([[1, 0]], [[0, 1], [1, 1]]).get_suptitle().startswith("OV → Gap-ANN")
    assert len(demo.attention_blocks_figure(unsatisfiable, mode="paper").axes) == 5


def test_phase_transition_without_the_newer_oracles(monkeypatch):
    monkeypatch.setitem(sys.modules, "solvers.attention.polynomial.oracle", None)  # import now raises ImportError
    monkeypatch.setitem(sys.modules, "solvers.attention.anytemp.oracle", None)
    figure = demo.phase_transition_figure(n=64)
    labels = figure.axes[2].get_legend_handles_labels()[1]
    assert any("predicted: n·r·(d + g)" in label for label in labels)
    labels = figure.axes[4].get_legend_handles_labels()[1]
    assert not any("any-temperature" in label for label in labels)


def test_phase_transition_shows_the_oracles_that_exist():
    pytest.importorskip("solvers.attention.anytemp.oracle")
    figure = demo.phase_transition_figure(n=128)
    labels = figure.axes[4].get_legend_handles_labels()[1]
    assert any("any-temperature" in label for label in labels)


def test_crossover_is_where_the_work_balances():
    crossing = polynomial._largest_winning_bound(2048, 8, 1 / 2048)
    assert 0.5 < crossing < 1.5
    assert polynomial._largest_winning_bound(2**64, 64, 2.0**-64) > crossing


def test_registry_layout_handles_cycles_and_parallel_edges():
    graph = nx.MultiDiGraph()
    graph.add_edges_from(
        [("sat", "ov", "x"), ("ov", "sat", "y"), ("ov", "ov", "loop"), ("ov", "aattc", "z"), ("ov", "aattc", "w")]
    )
    graph.add_node("lonely")
    position = registry_figures._positions(graph, 4.0, 2.0)
    assert set(position) == {"sat", "ov", "aattc", "lonely"}
    assert position["sat"][0] < position["ov"][0] < position["aattc"][0]
    acyclic = nx.MultiDiGraph([("sat", "ov"), ("ov", "gapann"), ("gapann", "aattc"), ("ov", "aattc")])
    layers = registry_figures._layers(acyclic)
    assert layers == {"sat": 0, "ov": 1, "gapann": 2, "aattc": 3}  # every arrow points right


def test_registry_figure_lists_every_registered_reduction(figures):
    from reductions.registry import reduction_names

    texts = " ".join(t.get_text() for t in figures["registry"].axes[0].texts)
    texts += figures["registry"].get_supxlabel()
    for name in reduction_names():
        assert name in texts


# -- the command-line glue ---------------------------------------------------------------------


def _parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="reductions")
    add_demo_command(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(list(argv))


def test_demo_command_lists_without_names(capsys):
    assert run_demo_command(_parse("demo")) == 0
    out = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in out] == list(DEMOS)


def test_demo_command_writes_named_figures(tmp_path, capsys):
    assert run_demo_command(_parse("demo", "gadget", "split-and-list", "--out", str(tmp_path))) == 0
    printed = capsys.readouterr().out.split()
    assert printed == [str(tmp_path / "gadget.png"), str(tmp_path / "split-and-list.png")]
    assert all(Path(p).read_bytes().startswith(PNG_SIGNATURE) for p in printed)


def test_demo_command_checks_every_name_before_drawing(tmp_path):
    with pytest.raises(ValueError, match="unknown demo 'cubism'"):
        run_demo_command(_parse("demo", "gadget", "cubism", "--out", str(tmp_path)))
    assert not tmp_path.exists() or not list(tmp_path.iterdir())


def test_demo_command_options():
    args = _parse("demo", "all", "--format", "svg", "--dpi", "80")
    assert (args.names, args.format, args.dpi, args.out) == (["all"], "svg", 80, "figures")
    with pytest.raises(SystemExit):
        _parse("demo", "gadget", "--format", "gif")


def test_demo_command_through_the_reductions_command(tmp_path, capsys):
    from reductions.app.cli import main

    assert main(["demo", "--list"]) == 0
    assert capsys.readouterr().out.split()[0] == "registry"
    assert main(["demo", "gadget", "--out", str(tmp_path)]) == 0
    assert capsys.readouterr().out.strip() == str(tmp_path / "gadget.png")
    assert main(["demo", "cubism"]) == 1
    assert capsys.readouterr().err.startswith("reductions: error: unknown demo 'cubism'")


def test_demo_command_without_matplotlib(monkeypatch, capsys, tmp_path):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    assert run_demo_command(_parse("demo", "gadget", "--out", str(tmp_path))) == 1
    assert capsys.readouterr().err.strip() == (
        "reductions: error: the demo command needs matplotlib: pip install 'reductions[demo]'"
    )


def test_the_gallery_and_the_registry_import_no_figure_module():
    """Building ``reductions demo`` (and reading the registry) imports neither matplotlib nor a figure module."""
    code = (
        "import sys\n"
        "from reductions.app.figures import DEMOS, add_demo_command\n"
        "import reductions.registry\n"
        "loaded = sorted(m for m in sys.modules if m.startswith('reductions.app.figures.') or m == 'matplotlib')\n"
        "print(' '.join(loaded))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPOSITORY, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["reductions.app.figures.gallery"]


def test_every_demo_names_a_function_of_the_figures_package():
    for entry in DEMOS.values():
        assert entry.function.__module__.startswith("reductions.app.figures.")
        assert entry.function.__name__.endswith("_figure")


def test_entry_bounds_figure_dots_lie_on_the_lines_from_the_sizes(figures):
    """Each dot (beta a chain chose on a concrete formula) equals the line's value at its size (entry_bounds)."""
    from reductions.app.figures.gap import CLAUSE_RATIO
    from reductions.catalog.chains import entry_bounds

    figure = figures["entry-bounds"]
    for ax, mode in zip(figure.axes[:2], ("certified", "paper"), strict=True):
        exact_dots, constant_dots = (collection.get_offsets() for collection in ax.collections[:2])
        assert len(exact_dots) == 10 and len(constant_dots) == 4  # constant-gap members drawn up to v = 8
        for dots, attribute in ((exact_dots, "exact"), (constant_dots, "constant")):
            for log2_n, bound in dots:
                v = 2 * int(log2_n)  # the figure's concrete formulas have even v
                expected = getattr(entry_bounds(v, math.ceil(CLAUSE_RATIO * v)), f"{attribute}_{mode}")
                assert bound == pytest.approx(expected, rel=1e-9)
        lines = {line.get_label().split(" (")[0].split(":")[0]: line for line in ax.get_lines()}
        exact_line, constant_line = lines["exact gap"], lines["constant gap"]
        ratio_exact = exact_line.get_ydata()[-1] / exact_line.get_ydata()[0]
        ratio_constant = constant_line.get_ydata()[-1] / constant_line.get_ydata()[0]
        assert ratio_exact > 5 * ratio_constant  # exact gap grows much faster in n


def test_entry_bounds_figure_checks_its_arguments():
    with pytest.raises(ValueError, match="'max_vars' must be in 20..100000"):
        demo.entry_bound_figure(max_vars=5)
    with pytest.raises(ValueError, match="'concrete_vars' must lie in 2..20"):
        demo.entry_bound_figure(concrete_vars=(40,))

"""Verification on a real local Dask cluster: the same report for any number of workers, and a lost worker.

Each trial's instance depends on the seed, the reduction's name and the trial
number only, so the serial run in this process is the reference every
cluster run must reproduce exactly (apart from the seconds). Cluster starts
cost seconds, so the tests here are few.
"""

from __future__ import annotations

import json
import os

import attrs
import pytest

from instances import CNF
from reductions.app.cli import main
from reductions.catalog.sat_ov import SatToOV
from reductions.parallel import Engine
from reductions.verify import trial_instance, verify_reduction

distributed = pytest.importorskip("distributed")


@attrs.frozen
class DropsLastClause(SatToOV):
    """A wrong k-SAT -> OV: forgets the last clause, so some unsatisfiable formulas come out satisfiable."""

    def _forward(self, instance):
        clauses = [list(clause) for clause in instance.clauses]
        return super()._forward(CNF(instance.num_vars, clauses[:-1]))


@attrs.frozen
class DiesOnTrial(SatToOV):
    """k-SAT -> OV whose worker process exits when it meets one given instance (not in the test's process).

    With ``marker`` it dies only the first time (the marker file records it), so the retry succeeds.
    """

    instance_text: str = ""
    marker: str | None = None
    home: int = attrs.field(factory=os.getpid)  # the process that built it (the test's), which never dies

    def _forward(self, instance):
        if os.getpid() != self.home and instance.to_dimacs() == self.instance_text:
            if self.marker is None:
                os._exit(3)
            try:
                os.close(os.open(self.marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
            except FileExistsError:
                pass
            else:
                os._exit(3)
        return super()._forward(instance)


@attrs.frozen
class BrokenSource(SatToOV):
    """k-SAT -> OV whose instance generator raises at size 3: a bug of the reduction, not a lost worker."""

    def random_source(self, rng, size):
        if size == 3:
            raise RuntimeError("generator bug at size 3")
        from reductions.problems import get_problem

        return get_problem("sat").random_instance(rng, size)


def _without_seconds(report) -> dict:
    data = report.as_dict()
    data.pop("seconds")
    return data


def test_the_report_is_the_same_for_1_2_and_3_workers_and_any_chunking():
    reduction = DropsLastClause()
    serial = verify_reduction(reduction, trials=240, seed=5)
    assert serial.failures > 0 and serial.smallest is not None  # a counterexample to agree on
    expected = _without_seconds(serial)
    for workers, chunk_size in [(2, 7), (3, 50)]:
        with Engine(workers=workers) as engine:
            report = verify_reduction(reduction, trials=240, seed=5, engine=engine, chunk_size=chunk_size)
            assert engine.started and len(engine.client().nthreads()) == workers  # worker processes started
        assert _without_seconds(report) == expected
    # the reproduction recipe still holds: the smallest counterexample is rebuilt from its seed and trial
    c = serial.smallest
    assert trial_instance(reduction, c.seed, c.trial, c.size) == c.instance


@pytest.fixture(scope="module")
def cluster():
    import dask

    # as for the engine's own cluster: a worker that dies fails its task at once, and the engine retries it
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        with distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0", silence_logs=50
        ) as local:
            yield local


def test_scheduler_address_gives_the_serial_result(cluster, capsys):
    command = ["verify", "sat-ov", "half-ones", "--trials", "150", "--seed", "2", "--json"]
    assert main([*command, "--workers", "1"]) == 0
    serial = json.loads(capsys.readouterr().out)
    assert main([*command, "--scheduler", cluster.scheduler_address]) == 0
    clustered = json.loads(capsys.readouterr().out)
    for data in (serial, clustered):
        for report in data["reductions"]:
            report.pop("seconds")
    assert clustered == serial and serial["passed"]


def _unique_trial(reduction, trials: int, seed: int) -> tuple[int, str]:
    """A trial whose instance no other trial repeats (so that only its chunk meets it)."""
    texts = [trial_instance(reduction, seed, t, 1 + t % 8).to_dimacs() for t in range(trials)]
    trial = next(t for t in range(trials // 2, trials) if texts.count(texts[t]) == 1)
    return trial, texts[trial]


def test_a_worker_killed_mid_run_loses_only_its_chunk_which_is_retried(cluster, tmp_path, capsys):
    trials, seed = 200, 4
    trial, text = _unique_trial(SatToOV(), trials, seed)
    expected = _without_seconds(verify_reduction(SatToOV(), trials=trials, seed=seed))

    marker = tmp_path / "died"
    once = DiesOnTrial(instance_text=text, marker=str(marker))
    with Engine(scheduler=cluster.scheduler_address) as engine:
        report = verify_reduction(once, trials=trials, seed=seed, engine=engine, chunk_size=20)
    assert marker.exists()  # a worker did die on that trial
    assert _without_seconds(report) == expected  # and the retry made up for it
    start = trial // 20 * 20
    assert f"sat-ov: trials {start}-{start + 19} failed" in capsys.readouterr().err

    always = DiesOnTrial(instance_text=text)
    with Engine(scheduler=cluster.scheduler_address) as engine:
        report = verify_reduction(always, trials=trials, seed=seed, engine=engine, chunk_size=20)
    assert [(chunk.start, chunk.stop) for chunk in report.lost] == [(start, start + 20)]
    assert report.trials == trials - 20 and report.failures == 0 and not report.passed
    assert report.as_dict()["lost_trials"] == [[start, start + 19]]
    assert f"lost (their worker died twice): trials {start}-{start + 19}" in report.summary()


def test_one_worker_runs_in_this_process_without_starting_a_cluster():
    with Engine(workers=1) as engine:
        report = verify_reduction(SatToOV(), trials=30, seed=1, engine=engine)
        assert engine.serial and not engine.started
    assert _without_seconds(report) == _without_seconds(verify_reduction(SatToOV(), trials=30, seed=1))


def test_a_small_run_left_to_the_engine_stays_in_this_process(monkeypatch):
    import reductions.parallel

    monkeypatch.setattr(reductions.parallel, "core_count", lambda: 4)  # cores to spare: the choice is the engine's
    with Engine() as engine:
        verify_reduction(SatToOV(), trials=20, seed=1, engine=engine)
        assert not engine.started


def test_solving_files_on_the_cluster_prints_what_the_serial_run_prints(cluster, capsys):
    from tests.conftest import DATA

    files = [str(DATA / "cnf" / name) for name in ("sat/quinn.cnf", "unsat/hole1.cnf", "sat/uf20-01.cnf")]
    files.append(str(DATA / "cnf" / "parser_quirks"))
    command = ["solve", *files, "--check", "--max-seconds", "5", "--quiet"]
    assert main([*command, "--workers", "1"]) == 0
    serial = capsys.readouterr().out.splitlines()
    assert main([*command, "--scheduler", cluster.scheduler_address]) == 0
    clustered = capsys.readouterr().out.splitlines()
    body = next(i for i, line in enumerate(serial) if line.startswith("c summary:"))
    assert clustered[:body] == serial[:body]  # every file's lines, in the same order
    assert sum(line.startswith("c file ") for line in serial) == 3 + 9
    assert clustered[body].startswith("c summary: 12 files in ") and "Dask cluster at tcp://" in clustered[body]
    assert clustered[body + 1 : body + 3] == serial[body + 1 : body + 3]  # solved and agreed counts


def test_left_to_itself_the_engine_starts_a_cluster_for_the_rest_after_its_probe(monkeypatch):
    from reductions import parallel

    monkeypatch.setattr(parallel, "PROBE_SECONDS", 0.05)
    monkeypatch.setattr(parallel, "CLUSTER_WORTH_SECONDS", 0.0)
    reduction = DropsLastClause()
    done: list[int] = []
    with Engine() as engine:
        report = verify_reduction(reduction, trials=240, seed=5, engine=engine, progress=done.append)
        assert engine.started == (parallel.core_count() > 1)
    assert _without_seconds(report) == _without_seconds(verify_reduction(reduction, trials=240, seed=5))
    assert done == sorted(done) and done[-1] == 240  # progress only grows, up to every trial


def test_ctrl_c_prints_the_trials_that_finished(monkeypatch, capsys):
    from reductions.app import cli

    class StopAt25(cli._TrialProgress):
        def __call__(self, done: int) -> None:
            if done == 25:
                raise KeyboardInterrupt

    monkeypatch.setattr(cli, "_TrialProgress", StopAt25)
    assert main(["verify", "sat-ov", "--trials", "100", "--workers", "1"]) == 130
    captured = capsys.readouterr()
    assert captured.out.startswith("sat-ov: ok (25 trials, ") and "interrupted" in captured.err
    assert main(["verify", "sat-ov", "--trials", "100", "--workers", "1", "--json"]) == 130
    data = json.loads(capsys.readouterr().out)
    assert data["interrupted"] is True and data["passed"] is False and data["reductions"][0]["trials"] == 25


def test_without_dask_more_workers_run_serially_and_a_scheduler_is_an_error(monkeypatch, capsys):
    from reductions import parallel

    monkeypatch.setattr(parallel, "dask_available", lambda: False)
    assert main(["verify", "sat-ov", "--trials", "20", "--workers", "2"]) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith("sat-ov: ok (20 trials")
    assert (
        captured.err
        == "reductions: note: --workers 2 needs Dask (pip install 'dask[distributed]'); running in one process\n"
    )
    assert main(["verify", "sat-ov", "--scheduler", "tcp://127.0.0.1:1"]) == 1
    assert "--scheduler tcp://127.0.0.1:1 needs Dask" in capsys.readouterr().err


def test_the_progress_line_shows_the_rate(monkeypatch):
    import io

    from reductions.app import cli

    clock = iter(float(second) for second in range(10**6))
    monkeypatch.setattr(cli.time, "perf_counter", lambda: next(clock))
    stream = io.StringIO()
    progress = cli._TrialProgress("sat-ov", 10, enabled=True, stream=stream)
    for done in (2, 4, 10):
        progress(done)
    assert "10/10 trials, 3/s, 3.0 s" in stream.getvalue()


def test_dask_is_imported_only_when_a_cluster_starts():
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from reductions.app.cli import main\n"
        "main(['verify', 'sat-ov', '--trials', '5', '--workers', '1'])\n"
        "main(['verify', 'sat-ov', '--trials', '5'])\n"  # small: the engine stays in this process
        "print(sorted(m for m in ('dask', 'distributed') if m in sys.modules))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "[]"


def test_an_exception_inside_a_chunk_is_raised_as_in_a_serial_run_not_retried(cluster):
    with pytest.raises(RuntimeError, match="generator bug at size 3"):
        verify_reduction(BrokenSource(), trials=40, seed=1)
    with Engine(scheduler=cluster.scheduler_address) as engine:
        with pytest.raises(RuntimeError, match="generator bug at size 3"):
            verify_reduction(BrokenSource(), trials=40, seed=1, engine=engine, chunk_size=10)


@pytest.mark.parametrize(
    ("address", "reason"),
    [("foo", "missing port number"), ("http://127.0.0.1:1", "unknown address scheme 'http'")],
)
def test_a_malformed_scheduler_address_is_refused_in_one_line_before_connecting(capsys, address, reason):
    assert main(["verify", "sat-ov", "--trials", "20", "--scheduler", address]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and f"--scheduler {address}: not a scheduler address" in err and reason in err


def test_lost_trials_make_the_summary_incomplete_not_ok():
    from reductions.verify import VerificationReport

    report = VerificationReport("sat-ov", 180, 0, 1.0, None, (range(100, 120),))
    assert report.summary().startswith("sat-ov: INCOMPLETE, 20 trials LOST (180 trials") and not report.passed

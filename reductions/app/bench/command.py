"""The ``reductions bench NAME`` command: one sub-command per benchmark module, JSON on stdout.

Building the parser imports only :mod:`argparse`; each benchmark module is
imported when its sub-command runs. A refusal (sizes predicted above
``--max-memory``, a run predicted above ``--max-seconds``) or a bad value is
one line on stderr and exit status 1, before anything large is allocated.

Examples
--------
>>> import argparse
>>> from reductions.app.bench.command import add_bench_command
>>> parser = argparse.ArgumentParser(prog="reductions")
>>> _ = add_bench_command(parser.add_subparsers(dest="command"))
>>> args = parser.parse_args(["bench", "exact", "--n", "4096", "--d", "2"])
>>> args.bench, args.n, args.d, args.repeat
('exact', [4096], [2], 3)
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from reductions.app.arguments import byte_size, positive_int, positive_real

__all__ = ["BENCHMARKS", "add_bench_command", "run_bench_command"]

BENCHMARKS: dict[str, str] = {
    "reductions": "k-SAT -> OV forward time on a random 3-SAT formula (default 30 variables, 128 clauses)",
    "solve": "end-to-end time per stage of solving random 3-SAT through attention (default 3 x uf20-91)",
    "exact": "the exact oracle against one numpy.exp pass over the same scores (default n = 16384, d = 4, 8)",
    "oracles": "polynomial and Taylor oracles against exact (default n = 16384, d = 4, B = 1); "
    "--sweep for exponents and crossover, --anytemp for the any-temperature report",
    "anytemp": "the any-temperature oracle against exact: d = 1 speedup, scaling in n, time against B "
    "(quick sizes; --full for the target sizes, minutes)",
    "memory": "predicted against measured peak memory of the exact chain on random 3-SAT (default 20, 22, 24, 26, "
    "28 variables; minutes)",
    "verify": "'verify NAME --trials N' with --workers 1 and --workers 2 (a local Dask cluster) side by side, "
    "and the speed-up (default sat-aattc, 20000 trials: minutes)",
    "startup": "the command line's start-up (--help, --version, inspect, solve of uf20-01) against "
    "'python -c \"import numpy\"', in fresh processes",
}
"""The benchmarks by sub-command name, with what each times."""


def _common(parser: argparse.ArgumentParser, *, repeat: bool = True, seconds: bool = False) -> None:
    if seconds:
        parser.add_argument(
            "--max-seconds",
            type=positive_real,
            default=1800.0,
            help="refuse a run predicted to take longer, before it starts (default: %(default)s)",
        )
    if repeat:
        parser.add_argument(
            "--repeat", type=positive_int, default=3, help="best of this many runs (default: %(default)s)"
        )
    parser.add_argument("--seed", type=int, default=0, help="seed of the random instances (default: %(default)s)")
    parser.add_argument(
        "--max-memory",
        type=byte_size,
        default=4 * 2**30,
        metavar="SIZE",
        help="refuse sizes predicted to need more memory (8GiB, 512MiB, bytes; default: 4GiB)",
    )
    parser.add_argument("--out", help="also write the JSON to this file")
    parser.add_argument("--json", action="store_true", help="accepted for symmetry; the output is always JSON")


def add_bench_command(commands: Any) -> argparse.ArgumentParser:
    """Add ``bench`` and its sub-commands to the ``reductions`` command's sub-parsers.

    ``bench`` with no name runs ``bench reductions``. Every option's help shows
    its default.

    >>> import argparse
    >>> parser = argparse.ArgumentParser(prog="reductions")
    >>> bench = add_bench_command(parser.add_subparsers(dest="command"))
    >>> parser.parse_args(["bench"]).bench is None
    True
    >>> "default 30 variables" in " ".join(bench.format_help().split())
    True
    """
    bench = commands.add_parser(
        "bench",
        help="benchmarks, JSON out",
        description="Benchmarks, measured side by side in one process; each prints one JSON object with the keys "
        "benchmark, machine (CPU, cores, numpy, BLAS), parameters, summary (where it has headline numbers) and "
        "results. With no NAME, runs 'bench reductions'. 'reductions bench NAME --help' shows NAME's options "
        "and their defaults. Options every NAME takes: --repeat N (best of N, default 3; not solve; verify: default 1), --seed S "
        "(default 0), --max-memory SIZE (refuse sizes predicted above it, default 4GiB), --out FILE; solve, exact, verify "
        "and oracles also --max-seconds S (refuse runs predicted longer, default 1800).",
    )
    bench.set_defaults(run=run_bench_command, bench=None)
    names = bench.add_subparsers(dest="bench", metavar="NAME", parser_class=type(bench))

    reductions = names.add_parser("reductions", help=BENCHMARKS["reductions"], description=BENCHMARKS["reductions"])
    reductions.add_argument("--vars", type=positive_int, default=30, help="variables (default: %(default)s)")
    reductions.add_argument("--clauses", type=positive_int, default=128, help="clauses (default: %(default)s)")
    _common(reductions)

    solve = names.add_parser("solve", help=BENCHMARKS["solve"], description=BENCHMARKS["solve"])
    solve.add_argument("--vars", type=positive_int, default=20, help="variables (default: %(default)s)")
    size = solve.add_mutually_exclusive_group()
    size.add_argument(
        "--clauses", type=positive_int, default=91, help="clauses (default: %(default)s); or give --ratio"
    )
    size.add_argument(
        "--ratio",
        type=positive_real,
        help="clauses per variable, e.g. 4.26 (random 3-SAT's threshold); instead of --clauses",
    )
    solve.add_argument(
        "--formulas", type=positive_int, default=3, help="random formulas to solve (default: %(default)s)"
    )
    solve.add_argument("--oracle", default="exact", help="attention oracle (default: %(default)s)")
    solve.add_argument(
        "--mode", default="certified", choices=["certified", "paper"], help="how beta is chosen (default: %(default)s)"
    )
    solve.add_argument(
        "--balance", default="paper", choices=["paper", "tight"], help="balancing block (default: %(default)s)"
    )
    _common(solve, repeat=False, seconds=True)

    exact = names.add_parser("exact", help=BENCHMARKS["exact"], description=BENCHMARKS["exact"])
    exact.add_argument(
        "--n", type=positive_int, action="append", help="queries and keys; repeat for several (default: 16384)"
    )
    exact.add_argument("--d", type=positive_int, action="append", help="head dimension; repeat (default: 4 and 8)")
    exact.add_argument(
        "--oracle",
        default="all",
        help="oracle names, comma-separated: exact, exact-float32 (the fused kernel where numba is installed), "
        "exact-numpy, exact-float32-numpy, or all four (default: %(default)s)",
    )
    exact.add_argument(
        "--sample-rows", type=positive_int, help="time this many query rows and scale to n (default: all rows)"
    )
    exact.add_argument("--error-rows", type=int, default=2, help="rows checked against mpmath (default: %(default)s)")
    _common(exact, seconds=True)

    oracles = names.add_parser("oracles", help=BENCHMARKS["oracles"], description=BENCHMARKS["oracles"])
    oracles.add_argument(
        "--n", type=positive_int, action="append", help="sequence length (default: 16384; with --sweep 2^10 .. 2^20)"
    )
    oracles.add_argument(
        "--d", type=positive_int, action="append", help="head dimension (default: 4; with --sweep 2, 4, 8)"
    )
    oracles.add_argument(
        "--bound", type=float, action="append", help="entry bound B (default: 1; with --sweep 0.5, 1, 2)"
    )
    oracles.add_argument(
        "--eps",
        type=positive_real,
        default=1e-6,
        help="error asked of the approximate oracles (default: %(default)s)",
    )
    oracles.add_argument(
        "--oracle",
        default="exact,polynomial,taylor",
        help="oracle names, comma-separated: exact, polynomial, taylor, anytemp (default: %(default)s)",
    )
    oracles.add_argument(
        "--sample-rows", type=positive_int, help="time exact attention on this many rows and scale (default: all)"
    )
    oracles.add_argument("--sweep", action="store_true", help="sweep n, d and B; report exponents and crossover")
    oracles.add_argument("--out-dir", help="with --sweep: folder for the JSON and the plot")
    oracles.add_argument("--anytemp", action="store_true", help="the any-temperature report (same as 'bench anytemp')")
    oracles.add_argument("--full", action="store_true", help="with --anytemp: the target sizes (minutes)")
    _common(oracles, seconds=True)

    anytemp = names.add_parser("anytemp", help=BENCHMARKS["anytemp"], description=BENCHMARKS["anytemp"])
    anytemp.add_argument("--full", action="store_true", help="the target sizes (minutes) instead of quick ones")
    anytemp.add_argument("--repeat", type=positive_int, help="best of this many runs (default: 1 quick, 2 with --full)")
    _common(anytemp, repeat=False)

    memory = names.add_parser("memory", help=BENCHMARKS["memory"], description=BENCHMARKS["memory"])
    memory.add_argument(
        "--vars", type=positive_int, action="append", help="variables of one point; repeat (default: 20 ... 28)"
    )
    _common(memory, repeat=False)

    verify = names.add_parser("verify", help=BENCHMARKS["verify"], description=BENCHMARKS["verify"])
    verify.add_argument("name", nargs="?", default="sat-aattc", help="registered reduction (default: %(default)s)")
    verify.add_argument("--trials", type=positive_int, default=20_000, help="trials (default: %(default)s)")
    verify.add_argument(
        "--workers", type=positive_int, action="append", help="worker counts to compare; repeat (default: 1 and 2)"
    )
    verify.add_argument(
        "--repeat", type=positive_int, default=1, help="best of this many rounds, taking turns (default: %(default)s)"
    )
    _common(verify, repeat=False, seconds=True)

    startup = names.add_parser("startup", help=BENCHMARKS["startup"], description=BENCHMARKS["startup"])
    startup.add_argument(
        "--repeat", type=positive_int, default=5, help="best of this many rounds (default: %(default)s)"
    )
    startup.add_argument("--out", help="also write the JSON to this file")
    _DEFAULT_ARGUMENTS["reductions"] = reductions
    return bench


_DEFAULT_ARGUMENTS: dict[str, argparse.ArgumentParser] = {}


def _names(text: str) -> list[str]:
    return [name.strip() for name in text.split(",") if name.strip()]


def _run(args: argparse.Namespace) -> dict[str, Any]:
    if args.bench == "startup":
        from reductions.app.bench.startup import bench_startup

        return bench_startup(repeat=args.repeat)
    max_bytes = args.max_memory
    if args.bench == "verify":
        from reductions.app.bench.verify import bench_verify

        return bench_verify(
            args.name,
            trials=args.trials,
            seed=args.seed,
            workers=args.workers or [1, 2],
            repeat=args.repeat,
            max_seconds=args.max_seconds,
        )
    if args.bench == "memory":
        from reductions.app.bench.memory import bench_memory

        return bench_memory(args.vars or [20, 22, 24, 26, 28], seed=args.seed, max_bytes=max_bytes)
    if args.bench == "reductions":
        from reductions.app.bench.reductions import bench_reductions

        return bench_reductions(
            num_vars=args.vars, num_clauses=args.clauses, repeat=args.repeat, seed=args.seed, max_bytes=max_bytes
        )
    if args.bench == "solve":
        from reductions.app.bench.solve import bench_solve

        clauses = args.clauses if args.ratio is None else max(1, round(args.ratio * args.vars))
        return bench_solve(
            num_vars=args.vars,
            num_clauses=clauses,
            formulas=args.formulas,
            seed=args.seed,
            oracle=args.oracle,
            mode=args.mode,
            balance=args.balance,
            max_bytes=max_bytes,
            max_seconds=args.max_seconds,
        )
    if args.bench == "exact":
        from reductions.app.bench.exact import ALL_EXACT, bench_exact

        return bench_exact(
            args.n or [2**14],
            args.d or [4, 8],
            list(ALL_EXACT) if args.oracle == "all" else _names(args.oracle),
            sample_rows=args.sample_rows,
            seed=args.seed,
            repeats=args.repeat,
            error_rows=args.error_rows,
            max_bytes=max_bytes,
            max_seconds=args.max_seconds,
        )
    if args.bench == "anytemp" or (args.bench == "oracles" and args.anytemp):
        from reductions.app.bench.anytemp import bench_anytemp

        repeat = args.repeat if args.bench == "anytemp" else None
        return bench_anytemp(quick=not args.full, seed=args.seed, repeats=repeat)
    from reductions.app.bench import oracles

    if args.sweep:
        return oracles.sweep_oracles(
            args.n or [2**k for k in range(10, 21, 2)],
            args.d or [2, 4, 8],
            args.bound or [0.5, 1.0, 2.0],
            args.eps,
            out_dir=args.out_dir,
            oracles=_names(args.oracle),
            seed=args.seed,
            repeats=args.repeat,
            max_bytes=max_bytes,
            max_seconds=args.max_seconds,
        )
    return oracles.bench_oracles(
        (args.n or [2**14])[0],
        (args.d or [4])[0],
        (args.bound or [1.0])[0],
        args.eps,
        _names(args.oracle),
        sample_rows=args.sample_rows,
        seed=args.seed,
        repeats=args.repeat,
        max_bytes=max_bytes,
        max_seconds=args.max_seconds,
    )


def run_bench_command(args: argparse.Namespace) -> int:
    """Run ``reductions bench NAME``: print the benchmark's JSON (and write it to ``--out``).

    A refusal or a bad value prints one line on stderr and returns 1.

    >>> import argparse, io, contextlib
    >>> parser = argparse.ArgumentParser(prog="reductions")
    >>> _ = add_bench_command(parser.add_subparsers(dest="command"))
    >>> with contextlib.redirect_stderr(io.StringIO()) as err:
    ...     run_bench_command(parser.parse_args(["bench", "reductions", "--vars", "60", "--clauses", "100"]))
    1
    >>> print(err.getvalue().strip())  # doctest: +ELLIPSIS
    reductions: error: bench reductions: 60 variables, 100 clauses (2 x 2^30 vectors of dimension 100) needs about 1.99 TiB, above the limit of 4 GiB (--max-memory)
    """
    from instances.errors import FrameworkError

    if args.bench is None:  # plain 'reductions bench': the reductions benchmark at its defaults
        args = _DEFAULT_ARGUMENTS["reductions"].parse_args([], argparse.Namespace(bench="reductions"))
    try:
        result = _run(args)
        text = json.dumps(result, indent=2, allow_nan=False)
    except (FrameworkError, ValueError, TypeError, OverflowError) as err:
        print(f"reductions: error: {err}", file=sys.stderr)
        return 1
    except MemoryError:  # the size predictions are meant to refuse first; say so if one fell short
        print(
            f"reductions: error: bench {args.bench} ran out of memory before its size check refused it; lower the sizes",
            file=sys.stderr,
        )
        return 1
    if args.out:
        with open(args.out, "w", encoding="utf-8") as handle:
            handle.write(text + "\n")
    print(text)
    return 0

"""The ``reductions`` command line.

Every sub-command has ``--help``. Errors (a bad file, a bad argument, an
instance an oracle refuses) exit with status 1 and one line on stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

from instances.errors import FrameworkError

__all__ = ["main", "build_parser"]


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage errors as one line and exit status 1."""

    def error(self, message: str) -> NoReturn:
        self.exit(1, f"{self.prog}: error: {message} (see --help)\n")


def _print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, default=str))


# -- inspect -----------------------------------------------------------------------------


def _cmd_inspect(args: argparse.Namespace) -> int:
    from instances.dimacs import read_dimacs

    parsed = read_dimacs(args.file)
    formula = parsed.formula
    widths = [len(c) for c in formula.clauses]
    report = {
        "file": str(args.file),
        "variables": formula.num_vars,
        "clauses": formula.num_clauses,
        "declared_variables": parsed.declared_variables,
        "declared_clauses": parsed.declared_clauses,
        "max_clause_width": max(widths, default=0),
        "empty_clauses": widths.count(0),
        "warnings": list(parsed.warnings),
    }
    if args.json:
        _print_json(report)
    else:
        print(
            f"{args.file}: {formula.num_vars} variables, {formula.num_clauses} clauses "
            f"(widest {report['max_clause_width']}, {report['empty_clauses']} empty)"
        )
        for warning in parsed.warnings:
            print(f"warning: {warning}")
    return 0


# -- generate ----------------------------------------------------------------------------


def _cmd_generate(args: argparse.Namespace) -> int:
    from instances import generators

    if args.family == "random":
        if (args.clauses is None) == (args.ratio is None):
            raise ValueError("give exactly one of --clauses and --ratio")
        formula = generators.random_ksat(args.vars, args.clauses, k=args.k, ratio=args.ratio, seed=args.seed)
        comment = f"random {args.k}-SAT, seed {args.seed}"
    elif args.family == "planted":
        if args.clauses is None:
            raise ValueError("--clauses is required for planted formulas")
        formula, _ = generators.planted_ksat(args.vars, args.clauses, k=args.k, seed=args.seed)
        comment = f"planted satisfiable {args.k}-SAT, seed {args.seed}"
    else:
        formula = generators.pigeonhole(args.pigeons, args.holes)
        comment = f"pigeonhole principle, {args.pigeons} pigeons into {args.holes} holes"
    text = formula.to_dimacs(comments=[comment])
    if args.out:
        with open(args.out, "w", encoding="utf-8") as handle:
            handle.write(text)
    else:
        sys.stdout.write(text)
    return 0


# -- verify ------------------------------------------------------------------------------


def _cmd_verify(args: argparse.Namespace) -> int:
    from reductions.registry import get_reduction, reduction_names
    from reductions.verify import verify_reduction

    names = args.names or reduction_names()
    reductions = [(name, get_reduction(name)) for name in names]
    reports = []
    for name, reduction in reductions:
        report = verify_reduction(reduction, trials=args.trials, seed=args.seed)
        reports.append((name, report))
        if not args.json:
            print(report.summary().replace(report.name, name, 1), flush=True)
    if args.json:
        _print_json(
            {"passed": all(r.passed for _, r in reports), "reductions": [dict(r.as_dict(), name=n) for n, r in reports]}
        )
    return 0 if all(r.passed for _, r in reports) else 1


# -- chain -------------------------------------------------------------------------------


def _cmd_chain(args: argparse.Namespace) -> int:
    from reductions.registry import all_paths, path

    chains = all_paths(args.source, args.target) if args.all else [path(args.source, args.target)]
    if not chains:
        raise ValueError(f"no registered reduction path from {args.source!r} to {args.target!r}")
    for index, chain in enumerate(chains):
        if index:
            print()
        steps = " >> ".join(f"{p.name} ({p.source} -> {p.target})" for p in chain.parts)
        print(f"{args.source} -> {args.target}: {steps}")
        if args.symbolic:
            from reductions.symbolic import describe_chain, fine_grained_implication

            print(describe_chain(chain))
            if chain.source == "sat" and {"n", "N"} & set(chain.parameters().outputs):
                print(fine_grained_implication(chain))
    return 0


# -- solve -------------------------------------------------------------------------------


def _cmd_solve(args: argparse.Namespace) -> int:
    from instances.dimacs import read_dimacs
    from reductions.core import Chain
    from reductions.pipeline import solve_via_attention
    from reductions.registry import get_reduction

    chain = None
    if args.chain is not None:
        reduction = get_reduction(args.chain)
        chain = reduction if isinstance(reduction, Chain) else Chain.of(reduction)
        if chain.source != "sat":
            raise ValueError(f"--chain {args.chain} starts at {chain.source!r}, not at 'sat'")
    parsed = read_dimacs(args.file)
    result = solve_via_attention(
        parsed.formula,
        chain=chain,
        oracle=args.oracle,
        mode=args.mode,
        balance=args.balance,
        branch=args.branch,
        progress=None if not args.quiet else False,
    )
    if args.json:
        _print_json(dict(result.as_dict(), file=str(args.file), warnings=list(parsed.warnings)))
    else:
        for warning in parsed.warnings:
            print(f"c warning: {warning}")
        if args.trace:
            for line in result.trace_table().splitlines():
                print(f"c {line}")
            print(f"c oracle: {result.oracle}; total {result.seconds:.3f} s")
        if result.assignment is None:
            print("s UNSATISFIABLE")
        else:
            print("s SATISFIABLE")
            literals = [str(lit) for lit in result.assignment.to_literals()] + ["0"]
            for start in range(0, len(literals), 10):
                print("v " + " ".join(literals[start : start + 10]))
    return 10 if result.status == "SAT" else 20


# -- bench -------------------------------------------------------------------------------


def _cmd_bench(args: argparse.Namespace) -> int:
    from reductions.app.bench import timing as bench

    if args.what == "reductions":
        result = bench.bench_reductions(num_vars=args.vars or 30, num_clauses=args.clauses or 128, repeat=args.repeat)
    elif args.what == "solve":
        result = bench.bench_solve(
            num_vars=args.vars or 20,
            num_clauses=args.clauses or 91,
            formulas=args.formulas,
            oracle=args.oracle or "exact",
        )
    elif args.what == "exact":
        from reductions.app.bench.exact import bench_oracles_command

        result = bench_oracles_command(args)
    elif args.what == "oracles":
        from reductions.app.bench import oracles as bench_polynomial

        names = [name.strip() for name in (args.oracle or "exact,polynomial,taylor").split(",") if name.strip()]
        if args.anytemp:
            from reductions.app.bench.anytemp import bench_anytemp

            result = bench_anytemp(quick=not args.full)
        elif args.sweep:
            result = bench_polynomial.sweep_oracles(
                args.n or [2**k for k in range(10, 21, 2)],
                args.d or [2, 4, 8],
                args.bound or [0.5, 1.0, 2.0],
                args.eps,
                out_dir=args.out_dir,
                oracles=names,
                repeats=args.repeat,
            )
        else:
            result = bench_polynomial.bench_oracles(
                (args.n or [2**14])[0],
                (args.d or [4])[0],
                (args.bound or [1.0])[0],
                args.eps,
                names,
                sample_rows=args.sample_rows,
                repeats=args.repeat,
            )
    elif args.what == "anytemp":
        from reductions.app.bench.anytemp import bench_anytemp

        result = bench_anytemp(quick=not args.full)
    text = json.dumps(result, indent=2, default=str)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as handle:
            handle.write(text + "\n")
    print(text)
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``reductions`` command.

    >>> build_parser().parse_args(["verify", "sat-ov", "--trials", "5"]).trials
    5
    """
    parser = _Parser(prog="reductions", description="Fine-grained reductions around attention.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    inspect = commands.add_parser("inspect", help="report what a DIMACS CNF file holds")
    inspect.add_argument("file", help="DIMACS CNF file")
    inspect.add_argument("--json", action="store_true", help="print one JSON object")
    inspect.set_defaults(run=_cmd_inspect)

    generate = commands.add_parser("generate", help="write a CNF formula as DIMACS")
    generate.add_argument("family", choices=["random", "planted", "pigeonhole"])
    generate.add_argument("--vars", type=int, default=20, help="number of variables (random, planted)")
    generate.add_argument("--clauses", type=int, help="number of clauses (random, planted)")
    generate.add_argument("--ratio", type=float, help="clauses per variable (random)")
    generate.add_argument("--k", type=int, default=3, help="literals per clause")
    generate.add_argument("--pigeons", type=int, default=3)
    generate.add_argument("--holes", type=int, default=2)
    generate.add_argument("--seed", type=int, default=0)
    generate.add_argument("--out", help="file to write (default: standard output)")
    generate.set_defaults(run=_cmd_generate)

    verify = commands.add_parser("verify", help="random-test registered reductions and chains")
    verify.add_argument("names", nargs="*", help="registered names (default: all)")
    verify.add_argument("--trials", type=int, default=100)
    verify.add_argument("--seed", type=int, default=0)
    verify.add_argument("--json", action="store_true")
    verify.set_defaults(run=_cmd_verify)

    chain = commands.add_parser("chain", help="show the reduction path between two problems")
    chain.add_argument("source")
    chain.add_argument("target")
    chain.add_argument("--symbolic", action="store_true", help="print the composed parameter map")
    chain.add_argument("--all", action="store_true", help="list every registered path")
    chain.set_defaults(run=_cmd_chain)

    solve = commands.add_parser(
        "solve",
        help="decide a CNF file through attention (exit 10 SAT, 20 UNSAT)",
        description="Reduce the formula along SAT -> OV -> Gap-ANN -> AAttC, call one attention oracle, "
        "map its answer back and check it. Prints 's SATISFIABLE' with 'v ... 0' lines or 's UNSATISFIABLE'.",
    )
    solve.add_argument("file", help="DIMACS CNF file")
    solve.add_argument("--oracle", default="exact", help="attention oracle (default: exact)")
    solve.add_argument("--mode", default="certified", choices=["certified", "paper"], help="how beta is chosen")
    solve.add_argument("--balance", default="paper", choices=["paper", "tight"], help="balancing block")
    solve.add_argument(
        "--branch", default="auto", choices=["auto", "attention", "hamming-ball"], help="Lemma 4.7 branch"
    )
    solve.add_argument(
        "--chain",
        help="a registered chain from sat (e.g. sat-aattc-direct; see 'reductions chain sat aattc --all'); "
        "--mode/--balance/--branch apply to the default chain only",
    )
    solve.add_argument("--trace", action="store_true", help="print every stage as 'c' comment lines")
    solve.add_argument("--json", action="store_true", help="print one JSON object")
    solve.add_argument("--quiet", action="store_true", help="no progress on stderr")
    solve.set_defaults(run=_cmd_solve)

    from reductions.app.demo import add_demo_command

    demo = add_demo_command(commands)
    demo.add_argument("--list", action="store_true", help="list the demos (also the default with no NAME)")

    bench = commands.add_parser(
        "bench",
        help="benchmarks, JSON out",
        description="Benchmarks, measured side by side in one process; prints one JSON object. "
        "reductions: k-SAT -> OV forward time; solve: end-to-end time per stage; exact: the exact oracle "
        "against one numpy.exp pass over the same scores; oracles: exact, polynomial, Taylor (and a sweep "
        "with crossover and fitted exponent); anytemp: the any-temperature oracle against exact.",
    )
    bench.add_argument(
        "what", nargs="?", default="reductions", choices=["reductions", "solve", "exact", "oracles", "anytemp"]
    )
    bench.add_argument("--vars", type=int, help="variables (reductions: 30, solve: 20)")
    bench.add_argument("--clauses", type=int, help="clauses (reductions: 128, solve: 91)")
    bench.add_argument("--formulas", type=int, default=3, help="formulas to solve (solve)")
    bench.add_argument("--oracle", help="oracle name(s), comma-separated (solve, exact, oracles)")
    bench.add_argument("--n", type=int, action="append", help="sequence length; repeat for several (exact, oracles)")
    bench.add_argument("--d", type=int, action="append", help="head dimension; repeat for several (exact, oracles)")
    bench.add_argument("--bound", type=float, action="append", help="entry bound B; repeat for several (oracles)")
    bench.add_argument("--eps", type=float, default=1e-6, help="requested error of approximate oracles (oracles)")
    bench.add_argument("--sample-rows", type=int, help="time this many query rows of exact attention and scale")
    bench.add_argument("--sweep", action="store_true", help="oracles: sweep n, d and B; report crossover and exponent")
    bench.add_argument("--out-dir", help="oracles --sweep: folder for the JSON and the plot")
    bench.add_argument(
        "--anytemp",
        action="store_true",
        help="oracles: the any-temperature report (d = 1 speed-up, scaling in n for d = 2, 3 with exponents "
        "and crossover, time against B beside the polynomial method's degree); same as 'bench anytemp'",
    )
    bench.add_argument("--full", action="store_true", help="anytemp: the target sizes (minutes) instead of quick ones")
    bench.add_argument("--json", action="store_true", help="accepted for symmetry; the output is always JSON")
    bench.add_argument("--repeat", type=int, default=3, help="best of this many runs")
    bench.add_argument("--out", help="also write the JSON to this file")
    bench.set_defaults(run=_cmd_bench)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status.

    >>> main(["chain", "sat", "ov"])
    sat -> ov: sat-ov (sat -> ov)
    0
    """
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except (FrameworkError, ValueError, TypeError, OSError) as err:
        print(f"reductions: error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("reductions: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

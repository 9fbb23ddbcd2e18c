"""The ``reductions`` command line.

Every sub-command has ``--help``. Exit status: ``solve`` follows SAT solvers
(10 satisfiable, 20 unsatisfiable, 0 unknown: work refused by its predicted
size prints ``s UNKNOWN`` with the reason); an error (a bad file, a bad
argument) exits with status 1 and one line on stderr.

The parser and the commands import what they need when they run, so
``reductions --help``, ``--version`` and ``inspect`` start without loading
sympy, networkx or matplotlib.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, NoReturn

from instances.errors import FrameworkError, SolverBudgetExceeded
from instances.formatting import format_bytes, plural
from reductions.app.arguments import byte_size, nonnegative_int, nonnegative_real, positive_int, positive_real

if TYPE_CHECKING:
    from instances.cnf import CNF
    from instances.dimacs import ParsedDimacs
    from reductions.core import Chain

__all__ = [
    "main",
    "build_parser",
    "EXIT_SAT",
    "EXIT_UNSAT",
    "EXIT_UNKNOWN",
    "EXIT_ERROR",
    "GENERATE_MAX_SIZE",
    "DEFAULT_SOLVE_MAX_MEMORY",
    "positive_int",
    "nonnegative_int",
    "positive_real",
    "nonnegative_real",
    "byte_size",
]

EXIT_SAT = 10
"""Exit status of ``solve`` on a satisfiable formula (SAT-competition convention)."""
EXIT_UNSAT = 20
"""Exit status of ``solve`` on an unsatisfiable formula."""
EXIT_UNKNOWN = 0
"""Exit status of ``solve`` when it refuses (``s UNKNOWN``), as the SAT competition's solvers do."""
EXIT_ERROR = 1
"""Exit status of every error: a bad file, a bad option."""

DEFAULT_SOLVE_MAX_MEMORY = 8 * 2**30
"""``solve``'s memory limit unless ``--max-memory`` is given (for many files: per worker, see the help)."""

GENERATE_MAX_SIZE = 20_000_000
"""Largest formula ``generate`` builds, in variables plus literals (about 100 MB of DIMACS)."""

_EXIT_STATUS_TEXT = """exit status:
  solve: 10 satisfiable, 20 unsatisfiable, 0 unknown (refused: 's UNKNOWN' with the
  reason as a 'c' line and one line on stderr), as SAT solvers do; with --check, 1
  when PySAT disagrees;
  solve of several files (or a directory): 0 when every file was answered or refused
  (and, with --check, every answer agrees with PySAT), 1 when a file could not be
  read or solved, or an answer disagrees;
  every command: 1 on an error (bad file, bad option) with one line on stderr,
  130 when interrupted."""


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage errors as one line and exit status 1.

    ``lazy_epilog``, when given, is called for the epilog the first time help
    is shown (so listing oracles and chains costs nothing otherwise).
    """

    def __init__(self, *args: Any, lazy_epilog: Callable[[], str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy_epilog = lazy_epilog

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_ERROR, f"{self.prog}: error: {message} (see --help)\n")

    def format_help(self) -> str:
        if self.lazy_epilog is not None:
            self.epilog, self.lazy_epilog = self.lazy_epilog(), None
        return super().format_help()


class _DefaultsFormatter(argparse.RawDescriptionHelpFormatter, argparse.ArgumentDefaultsHelpFormatter):
    """Shows each option's default, except where there is none to show."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default is None or action.default is False or action.default is argparse.SUPPRESS:
            return action.help
        if action.help and "default" in action.help:  # the help states it in its own words
            return action.help
        return super()._get_help_string(action)


class _VersionAction(argparse.Action):
    """``--version``: the installed distribution's version, read only when asked."""

    def __init__(self, option_strings: Sequence[str], dest: str = argparse.SUPPRESS, **kwargs: Any) -> None:
        super().__init__(option_strings, dest=dest, default=argparse.SUPPRESS, nargs=0, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, *_: Any) -> NoReturn:
        print(f"reductions {_version()}")
        parser.exit(0)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("reductions")
    except PackageNotFoundError:
        return "(version unknown: the distribution is not installed)"


# -- argument types: refuse bad numbers while parsing -------------------------------------


# -- output helpers ------------------------------------------------------------------------


def _print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, default=str))


def _read(file: str) -> ParsedDimacs:
    """The DIMACS input named on the command line; ``-`` is standard input."""
    from instances.dimacs import read_dimacs

    if file == "-":
        return read_dimacs(sys.stdin.buffer)
    return read_dimacs(file)


# -- what solve would need -----------------------------------------------------------------


def _solve_chain(args: argparse.Namespace) -> Chain:
    """The chain ``solve`` (and ``inspect --cost``) would run, from the options."""
    chain_options = [f"--{name}" for name in ("mode", "balance", "branch") if getattr(args, name) is not None]
    if args.chain is None:
        from reductions.pipeline import default_chain

        return default_chain(
            mode=args.mode or "certified", balance=args.balance or "paper", branch=args.branch or "auto"
        )
    if chain_options:
        verb = "applies" if len(chain_options) == 1 else "apply"
        raise ValueError(
            f"{', '.join(chain_options)} {verb} to the default chain only, not to --chain {args.chain}; "
            "drop one of them"
        )
    from reductions.core import Chain
    from reductions.family import is_family
    from reductions.registry import get_reduction

    reduction = get_reduction(args.chain)
    if reduction.source != "sat":
        raise ValueError(f"--chain {args.chain} starts at {reduction.source!r}, not at 'sat'")
    if isinstance(reduction, Chain) or is_family(reduction):
        return reduction  # type: ignore[return-value]
    # a single registered step (a plug-in's sat -> aattc, say) runs as a chain of one
    return Chain.of(reduction)


def _predict(formula: CNF, chain: Chain, max_bytes: int, max_seconds: float) -> dict[str, Any]:
    """What ``solve`` would need and whether it accepts: ``accepts``, ``reason`` and the sizes."""
    from reductions.family import is_family
    from reductions.pipeline import predict_chain

    what = f"{plural(formula.num_vars, 'variable')} and {plural(formula.num_clauses, 'clause')}"
    report: dict[str, Any] = {"chain": chain.name, "max_memory": max_bytes, "max_seconds": max_seconds}
    if is_family(chain):
        return _predict_family(formula, chain, report, what, max_bytes)
    try:
        prediction = predict_chain(formula, chain)
    except SolverBudgetExceeded as refusal:  # sizes beyond any machine, refused by the predictor itself
        return dict(report, accepts=False, reason=str(refusal))
    if prediction is None:
        return dict(report, accepts=True, reason=f"{what}: sizes not predictable before building")
    report.update(
        N=prediction.size,
        d=prediction.attention_dimension,
        branch=prediction.branch,
        bytes=prediction.bytes,
        # strict JSON has no infinity: a time too large for a float is given as null (the reason says it)
        seconds=prediction.seconds if math.isfinite(prediction.seconds) else None,
    )
    need = f"{what} need {prediction.describe()}"
    if prediction.bytes > max_bytes:
        return dict(report, accepts=False, reason=f"{need}, above the limit of {format_bytes(max_bytes)}")
    if prediction.seconds > max_seconds:
        return dict(report, accepts=False, reason=f"{need}, above the limit of {max_seconds:g} s")
    return dict(report, accepts=True, reason=f"{need}, within the limits")


def _predict_family(formula: CNF, chain: Any, report: dict[str, Any], what: str, max_bytes: int) -> dict[str, Any]:
    """What ``solve`` would meet on a chain through a reduction to many instances: the same checks before
    building (:func:`reductions.pipeline.predict_family`)."""
    from reductions.pipeline import predict_family

    try:
        prediction = predict_family(formula, chain, max_bytes)
    except SolverBudgetExceeded as beyond:  # sizes beyond any machine
        return dict(report, accepts=False, reason=str(beyond))
    if prediction is None:
        return dict(
            report,
            accepts=True,
            reason=f"{what}: {chain.family_size()} instances, one oracle call each; sizes not predictable before building",
        )
    refusal, predicted = prediction
    report.update(predicted)
    if refusal is not None:
        return dict(report, accepts=False, reason=refusal if refusal.startswith(what) else f"{what}: {refusal}")
    members = predicted.get("members")
    return dict(
        report, accepts=True, reason=f"{what} need {members} instances, one oracle call each, within the limits"
    )


# -- inspect -----------------------------------------------------------------------------


def _cmd_inspect(args: argparse.Namespace) -> int:
    parsed = _read(args.file)
    formula = parsed.formula
    widths = [len(c) for c in formula.clauses]
    report: dict[str, Any] = {
        "file": str(args.file),
        "variables": formula.num_vars,
        "clauses": formula.num_clauses,
        "declared_variables": parsed.declared_variables,
        "declared_clauses": parsed.declared_clauses,
        "max_clause_width": max(widths, default=0),
        "empty_clauses": widths.count(0),
        "warnings": list(parsed.warnings),
    }
    if args.cost:
        max_bytes = DEFAULT_SOLVE_MAX_MEMORY if args.max_memory is None else args.max_memory
        report["solve"] = _predict(formula, _solve_chain(args), max_bytes, args.max_seconds)
    args.exit_status = 0
    if args.json:
        _print_json(report)
        return 0
    print(
        f"{args.file}: {plural(formula.num_vars, 'variable')}, {plural(formula.num_clauses, 'clause')} "
        f"(widest {report['max_clause_width']}, {report['empty_clauses']} empty)"
    )
    for warning in parsed.warnings:
        print(f"warning: {warning}")
    if args.cost:
        verdict = report["solve"]
        print(f"solve ({verdict['chain']}): {'accepts' if verdict['accepts'] else 'refuses'}: {verdict['reason']}")
    return 0


# -- generate ----------------------------------------------------------------------------


def _generate_size(args: argparse.Namespace) -> tuple[int, int, int]:
    """``(variables, clauses, literals)`` of the formula asked for, computed before building it."""
    if args.family == "pigeonhole":
        pairs = args.pigeons * (args.pigeons - 1) // 2
        clauses = args.holes * pairs + args.pigeons
        return args.pigeons * args.holes, clauses, 2 * args.holes * pairs + args.pigeons * args.holes
    if args.family == "random":
        if (args.clauses is None) == (args.ratio is None):
            raise ValueError("give exactly one of --clauses and --ratio")
    elif args.clauses is None:
        raise ValueError("--clauses is required for planted formulas")
    clauses = args.clauses if args.clauses is not None else round(args.ratio * args.vars)
    return args.vars, clauses, clauses * args.k


def _cmd_generate(args: argparse.Namespace) -> int:
    from instances import generators

    variables, clauses, literals = _generate_size(args)
    if variables + literals > GENERATE_MAX_SIZE:
        raise ValueError(
            f"{plural(variables, 'variable')} and {plural(clauses, 'clause')} ({literals:,} literals) are above "
            f"generate's limit of {GENERATE_MAX_SIZE:,} variables plus literals; refused before building"
        )
    if args.family == "random":
        formula = generators.random_ksat(args.vars, clauses, k=args.k, seed=args.seed)
        comment = f"random {args.k}-SAT, seed {args.seed}"
    elif args.family == "planted":
        formula, _ = generators.planted_ksat(args.vars, clauses, k=args.k, seed=args.seed)
        comment = f"planted satisfiable {args.k}-SAT, seed {args.seed}"
    else:
        formula = generators.pigeonhole(args.pigeons, args.holes)
        comment = f"pigeonhole principle, {args.pigeons} pigeons into {args.holes} holes"
    text = formula.to_dimacs(comments=[comment])
    args.exit_status = 0
    if args.out:
        with open(args.out, "w", encoding="utf-8") as handle:
            handle.write(text)
    else:
        sys.stdout.write(text)
    return 0


# -- verify ------------------------------------------------------------------------------


def _duration(seconds: float) -> str:
    """A duration in the unit a person reads it in.

    >>> _duration(42), _duration(4000), _duration(7 * 86400)
    ('42 s', '67 min', '7 days')
    """
    for unit, size, upto in (("s", 1, 90), ("min", 60, 90 * 60), ("h", 3600, 48 * 3600)):
        if seconds < upto:
            return f"{seconds / size:.0f} {unit}"
    return f"{seconds / 86400:.0f} days"


class _TrialProgress:
    """A progress line on stderr for ``verify``: trials done, time so far and the time expected.

    Silent unless ``enabled`` (the command enables it on a terminal). Once a
    second has passed (so that the rate means something) the expected total,
    extrapolated from the trials so far, is stated on a line of its own when
    it is more than a few seconds; the progress line then updates twice a second.
    """

    def __init__(self, name: str, trials: int, enabled: bool, stream: Any = None) -> None:
        self.name, self.trials, self.enabled = name, trials, enabled
        self.stream = stream if stream is not None else sys.stderr
        self.start = time.perf_counter()
        self.shown = self.start
        self.announced = False

    def __call__(self, done: int) -> None:
        if not self.enabled:
            return
        now = time.perf_counter()
        if now - self.shown < 0.5 and done < self.trials:
            return
        self.shown = now
        elapsed = now - self.start
        expected = elapsed / done * self.trials
        if not self.announced and elapsed >= 1 and expected > 5 and done < self.trials:
            self.announced = True
            print(
                f"\r\033[K{self.name}: {self.trials:,} trials will take about {_duration(expected)} at this rate "
                "(later trials are larger; Ctrl-C stops)",
                file=self.stream,
                flush=True,
            )
        left = max(expected - elapsed, 0.0)
        rate = f"{done / elapsed:,.0f}/s, " if elapsed > 0 else ""
        print(
            f"\r\033[K{self.name}: {done:,}/{self.trials:,} trials, {rate}{elapsed:.1f} s, "
            f"about {_duration(left)} left",
            end="\n" if done == self.trials else "",
            file=self.stream,
            flush=True,
        )


def _cmd_verify(args: argparse.Namespace) -> int:
    from reductions.parallel import Engine
    from reductions.registry import get_reduction, reduction_names
    from reductions.verify import VerificationInterrupted, verify_reduction

    names = args.names or reduction_names()
    reductions = [(name, get_reduction(name)) for name in names]
    on_terminal = sys.stderr.isatty() and not args.quiet
    reports: list[tuple[str, Any]] = []

    def show(name: str, report: Any) -> None:
        if not args.json:
            print(report.summary().replace(report.name, name, 1), flush=True)

    def print_json(**extra: Any) -> None:
        passed = all(r.passed for _, r in reports) and not extra
        _print_json({"passed": passed, "reductions": [dict(r.as_dict(), name=n) for n, r in reports]} | extra)

    with Engine(args.workers, args.scheduler) as engine:
        for name, reduction in reductions:
            progress = _TrialProgress(name, args.trials, on_terminal)
            try:
                report = verify_reduction(
                    reduction, trials=args.trials, seed=args.seed, progress=progress, engine=engine
                )
            except VerificationInterrupted as interrupt:
                # what finished before Ctrl-C, then the usual 'interrupted' and status 130
                if on_terminal:
                    print(file=sys.stderr)
                reports.append((name, interrupt.report))
                show(name, interrupt.report)
                if args.json:
                    print_json(interrupted=True)
                raise KeyboardInterrupt from None
            reports.append((name, report))
            show(name, report)
    if args.json:
        print_json()
    return 0 if all(r.passed for _, r in reports) else 1


# -- chain -------------------------------------------------------------------------------


def _registered_chain_names() -> dict[tuple[Any, ...], list[str]]:
    """Registered chains by their steps, so a path can be shown with its names."""
    from reductions.core import Chain
    from reductions.registry import get_reduction, reduction_names

    names: dict[tuple[Any, ...], list[str]] = {}
    for name in reduction_names():
        reduction = get_reduction(name)
        if isinstance(reduction, Chain):
            names.setdefault(tuple(reduction.parts), []).append(name)
    return names


def _cmd_chain(args: argparse.Namespace) -> int:
    from reductions.registry import all_paths, path

    try:
        chains = all_paths(args.source, args.target) if args.all else [path(args.source, args.target)]
    except ValueError as error:  # an unknown problem, or no path: the registry says which
        chains, reason = [], str(error)
    else:
        reason = f"no registered reduction path from {args.source!r} to {args.target!r}"
    if not chains:
        # path and all_paths do not follow a reduction to many instances; name those instead
        if args.symbolic and _print_family_chains(args.source, args.target, first=True):
            args.exit_status = 0
            return 0
        families = _family_names(args.source, args.target)
        hint = f" (only through many instances: {', '.join(families)}; add --symbolic)" if families else ""
        raise ValueError(f"{reason}{hint}")
    named = _registered_chain_names() if args.all else {}
    args.exit_status = 0
    for index, chain in enumerate(chains):
        if index:
            print()
        steps = " >> ".join(f"{p.name} ({p.source} -> {p.target})" for p in chain.parts)
        print(f"{args.source} -> {args.target}: {steps}")
        names = named.get(tuple(chain.parts), [])
        if names:
            print(f"  named: {', '.join(names)} (use with 'reductions solve FILE --chain NAME')")
        if args.symbolic:
            from reductions.symbolic import describe_chain, fine_grained_implication

            print(describe_chain(chain))
            if chain.source == "sat" and {"n", "N"} & set(chain.parameters().outputs):
                print(fine_grained_implication(chain))
    if args.symbolic:
        _print_family_chains(args.source, args.target)
    return 0


def _family_names(source: str, target: str) -> list[str]:
    """The registered reductions to many instances (steps and chains) from ``source`` to ``target``."""
    from reductions.family import is_family
    from reductions.registry import get_reduction, reduction_names

    return [
        name
        for name in reduction_names()
        if is_family(reduction := get_reduction(name)) and reduction.source == source and reduction.target == target
    ]


def _print_family_chains(source: str, target: str, *, first: bool = False) -> int:
    """The registered chains to many instances between the two problems, beside the paths above
    (``path`` and ``all_paths`` do not follow a reduction to many instances); how many were printed.

    A family step with a ``growth()`` method (``ov-zmaxip``) also gets its choices written out as
    explicit functions of the source's sizes."""
    from sympy import sstr

    from reductions.family import FamilyChain
    from reductions.registry import get_reduction
    from reductions.symbolic import describe_chain

    printed = 0
    for name in _family_names(source, target):
        chain = FamilyChain.of(get_reduction(name), label=name)  # a bare family step: a chain of one
        description = " >> ".join(f"{step.name} ({step.source} -> {step.target})" for step in chain.steps)
        print(
            f"{'' if first and not printed else chr(10)}{source} -> {target} through many instances: {name} = {description}"
        )
        print(f"  members (one {target} instance each) = {chain.family_size()}")
        print(describe_chain(chain))  # type: ignore[arg-type]  # it reads only name, steps and parameters()
        growth = getattr(chain.head, "growth", None)
        if growth is not None:
            print(f"  growth in {source}'s sizes (log_star: the iterated base-2 logarithm):")
            for symbol, expression in growth().items():
                label = f"{chain.head.target}'s d" if symbol == "d" else symbol
                print(f"    {label} = {sstr(chain.in_source_sizes(expression))}")
        if chain.source == "sat" and "n" in chain.parameters().outputs:
            from reductions.symbolic import family_implication

            print(family_implication(chain))
        printed += 1
    if (source, target) == ("sat", "aattc"):
        print()
        print(_entry_bounds_table())
    return printed


def _entry_bounds_table() -> str:
    """``B`` of sat-aattc and sat-aattc-pcp in numbers, at the smallest formula the chains solve and at SATLIB's sizes."""
    from reductions.catalog.chains import SATLIB_SIZES, entry_bounds

    lines = [
        "B = sqrt(beta) in numbers (attention branch; n = 2^ceil(v/2) points; sat-aattc: exact gap, "
        "sat-aattc-pcp: constant gap):",
        f"  {'v':>5}  {'m':>5}  {'log2 n':>6}  {'exact, certified':>16}  {'exact, paper':>12}"
        f"  {'constant, certified':>19}  {'constant, paper':>15}  {'sqrt(ln n)':>10}",
    ]
    for v, m in ((6, 3), *SATLIB_SIZES, (1000, 4260)):
        b = entry_bounds(v, m)
        lines.append(
            f"  {v:5d}  {m:5d}  {(v + 1) // 2:6d}  {b.exact_certified:16.2f}  {b.exact_paper:12.2f}"
            f"  {b.constant_certified:19.2f}  {b.constant_paper:15.2f}  {b.limit:10.2f}"
        )
    lines.append(
        "exact gap: B^2 = Theta(m log n); constant gap (eps = 1/5): B^2 <= 40 ln(4 n_b N/n_k) certified, "
        "<= 400 ln n paper, whatever m is"
    )
    return "\n".join(lines)


# -- solve -------------------------------------------------------------------------------


def _unknown(args: argparse.Namespace, reason: str, parsed: ParsedDimacs | None) -> int:
    """SAT-solver refusal: ``c`` lines and ``s UNKNOWN`` on stdout, the reason once on stderr."""
    args.exit_status = EXIT_UNKNOWN
    print(f"reductions: unknown: {reason}", file=sys.stderr, flush=True)
    warnings = list(parsed.warnings) if parsed is not None else []
    if args.json:
        _print_json({"status": "UNKNOWN", "reason": reason, "file": str(args.file), "warnings": warnings})
    else:
        for warning in warnings:
            print(f"c warning: {warning}")
        print(f"c refused: {reason}")
        print("s UNKNOWN")
    return EXIT_UNKNOWN


def _cmd_solve(args: argparse.Namespace) -> int:
    from reductions.pipeline import make_oracle

    chain = _solve_chain(args)
    make_oracle(args.oracle, chain.target)  # an unknown name is an error (exit 1), before reading
    if len(args.files) == 1 and (args.files[0] == "-" or not os.path.isdir(args.files[0])):
        args.file = args.files[0]
        if args.max_memory is None:
            args.max_memory = DEFAULT_SOLVE_MAX_MEMORY
        return _solve_one(args, chain)
    if "-" in args.files:
        raise ValueError("'-' (standard input) is read only when it is the one file given")
    return _solve_many(args, chain)


def _solve_one(args: argparse.Namespace, chain: Chain) -> int:
    """``solve FILE``: the SAT-competition answer of one formula, its exit status 10, 20 or 0."""
    from reductions.app.batch import SolveSettings, assignment_lines, attempt, pysat_check

    parsed = _read(args.file)
    settings = SolveSettings(
        chain, args.oracle, args.max_memory, args.max_seconds, progress=None if not args.quiet else False
    )
    result, refusal = attempt(parsed.formula, settings)
    if result is None:
        assert refusal is not None
        return _unknown(args, refusal, parsed)
    code = EXIT_SAT if result.status == "SAT" else EXIT_UNSAT
    args.exit_status = code
    check: dict[str, Any] = {}
    if args.check:
        check = pysat_check(parsed.formula, result.status)
        if not check["agrees"]:
            print(
                f"reductions: error: {args.file}: PySAT says {check['pysat']}, attention {result.status}",
                file=sys.stderr,
            )
            code = args.exit_status = EXIT_ERROR
    if args.json:
        _print_json(dict(result.as_dict(), file=str(args.file), warnings=list(parsed.warnings)) | check)
    else:
        for warning in parsed.warnings:
            print(f"c warning: {warning}")
        if args.trace:
            for line in result.trace_table().splitlines():
                print(f"c {line}")
            print(f"c oracle: {result.oracle}; total {result.seconds:.3f} s")
        if check:
            print(f"c check: PySAT says {check['pysat']}: {'agrees' if check['agrees'] else 'DISAGREES'}")
        lines = ["s UNSATISFIABLE"] if result.assignment is None else assignment_lines(result.assignment.to_literals())
        print("\n".join(lines))
    return code


def _solve_many(args: argparse.Namespace, chain: Chain) -> int:
    """``solve FILE... | DIR``: every file on its own, a summary at the end; exit 0 or 1 (see the help)."""
    from reductions.app.batch import SolveSettings, cnf_files, record_lines, solve_files, summarize, summary_lines
    from reductions.parallel import Engine
    from solvers.attention.oracle import machine_memory

    files = cnf_files(args.files)
    on_terminal = sys.stderr.isatty() and not args.quiet
    started = time.perf_counter()
    done = 0
    with Engine(args.workers, args.scheduler) as engine:
        max_bytes = args.max_memory
        if max_bytes is None:  # each worker's share of this machine, at most the one-file default
            memory = machine_memory() if args.scheduler is None else None
            share = memory // engine.workers if memory is not None else DEFAULT_SOLVE_MAX_MEMORY
            max_bytes = min(DEFAULT_SOLVE_MAX_MEMORY, share)
        settings = SolveSettings(chain, args.oracle, max_bytes, args.max_seconds, check=args.check)

        def show(record: dict[str, Any]) -> None:
            nonlocal done
            done += 1
            if record["status"] == "ERROR":
                print(f"reductions: error: {record['file']}: {record['reason']}", file=sys.stderr, flush=True)
            if args.json:
                print(json.dumps(record, default=str), flush=True)
            else:
                print("\n".join(record_lines(record, trace=args.trace)), flush=True)
            if on_terminal:
                elapsed = time.perf_counter() - started
                end = "\n" if done == len(files) else ""
                print(f"\r\033[Ksolve: {done}/{len(files)} files, {elapsed:.1f} s", end=end, file=sys.stderr)

        try:
            records = solve_files(files, settings, engine, show)
        except KeyboardInterrupt:
            print(f"\nreductions: {done} of {plural(len(files), 'file')} finished (shown above)", file=sys.stderr)
            raise
        summary = summarize(records, time.perf_counter() - started, engine.describe())
    if args.json:
        print(json.dumps({"summary": summary}))
    else:
        print("\n".join(summary_lines(summary)))
    return EXIT_ERROR if summary["errors"] or summary["disagreed"] else 0


def _solve_epilog() -> str:
    """Oracle and chain names for ``solve --help`` (loads the registry)."""
    from reductions.pipeline import ORACLES
    from reductions.registry import get_reduction, reduction_names

    chains = [name for name in reduction_names() if get_reduction(name).source == "sat"]
    chains = [name for name in chains if get_reduction(name).target in ORACLES]
    return (
        f"oracles (--oracle): {', '.join(ORACLES['aattc'])}; for self-attention chains: "
        f"{', '.join(ORACLES['selfattn'])}\n"
        f"chains from sat (--chain): {', '.join(chains)}\n"
        "  see every path with 'reductions chain sat aattc --all'\n\n" + _EXIT_STATUS_TEXT
    )


# -- the parser ----------------------------------------------------------------------------


def _add_solve_options(parser: argparse.ArgumentParser) -> None:
    """The options that choose the chain and its limits (``solve`` and ``inspect --cost``)."""
    from_default = "; the default chain only"
    parser.add_argument("--mode", choices=["certified", "paper"], help=f"how beta is chosen (certified){from_default}")
    parser.add_argument("--balance", choices=["paper", "tight"], help=f"balancing block (paper){from_default}")
    parser.add_argument(
        "--branch", choices=["auto", "attention", "hamming-ball"], help=f"Lemma 4.7 branch (auto){from_default}"
    )
    parser.add_argument(
        "--chain",
        help="a registered chain from sat (e.g. sat-aattc-direct; see 'reductions chain sat aattc --all'); "
        "not combined with --mode/--balance/--branch",
    )
    parser.add_argument(
        "--max-memory",
        type=byte_size,
        metavar="SIZE",
        help="refuse (s UNKNOWN) when the predicted memory is above this (8GiB, 512MiB, bytes; default 8GiB; "
        "solve of several files: per worker, by default the smaller of 8GiB and this machine's memory "
        "divided by the workers)",
    )
    parser.add_argument(
        "--max-seconds",
        type=positive_real,
        default=600.0,
        metavar="S",
        help="refuse (s UNKNOWN) when the predicted time is above this",
    )


def _add_engine_options(parser: argparse.ArgumentParser) -> None:
    """Where the work runs (``verify``, ``solve`` of many files): see :mod:`reductions.parallel`."""
    parser.add_argument(
        "--workers",
        type=positive_int,
        metavar="K",
        help="worker processes of a local Dask cluster started for this run; 1 runs in this process "
        "(default: one per core, and in this process when the work is small or Dask is not installed)",
    )
    parser.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="run on the existing Dask cluster at ADDRESS (tcp://host:8786) instead of a local one",
    )


def _add_demo_stub(commands: Any) -> None:
    """``demo`` as listed by ``reductions --help``, without importing the figure module."""
    commands.add_parser("demo", help="draw the teaching figures (needs the demo extra: matplotlib)")


def build_parser(*, with_demo: bool = True) -> argparse.ArgumentParser:
    """The argument parser of the ``reductions`` command.

    ``with_demo=False`` leaves the ``demo`` sub-command's options out (it is
    still listed), so that building the parser loads no figure code; ``main``
    does this unless the command is ``demo``.

    >>> build_parser().parse_args(["verify", "sat-ov", "--trials", "5"]).trials
    5
    """
    parser = _Parser(
        prog="reductions",
        description="Fine-grained reductions around attention.",
        epilog=_EXIT_STATUS_TEXT,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action=_VersionAction, help="print the version and exit")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    inspect = commands.add_parser(
        "inspect",
        help="report what a DIMACS CNF file holds",
        description="Report what a DIMACS CNF file holds: counts, the widest clause, what the reader forgave. "
        "With --cost, also what 'solve' would need (N, d, memory, time) and whether it accepts.",
        formatter_class=_DefaultsFormatter,
    )
    inspect.add_argument("file", help="DIMACS CNF file ('-' for standard input)")
    inspect.add_argument("--json", action="store_true", help="print one JSON object")
    inspect.add_argument(
        "--cost", action="store_true", help="also predict what 'solve' would need (loads the reduction framework)"
    )
    _add_solve_options(inspect)
    inspect.set_defaults(run=_cmd_inspect)

    generate = commands.add_parser(
        "generate",
        help="write a CNF formula as DIMACS",
        description=f"Write a CNF formula as DIMACS. Formulas above {GENERATE_MAX_SIZE:,} variables plus "
        "literals are refused before anything is built.",
        formatter_class=_DefaultsFormatter,
    )
    generate.add_argument("family", choices=["random", "planted", "pigeonhole"])
    generate.add_argument("--vars", type=nonnegative_int, default=20, help="number of variables (random, planted)")
    generate.add_argument("--clauses", type=nonnegative_int, help="number of clauses (random, planted)")
    generate.add_argument("--ratio", type=nonnegative_real, help="clauses per variable (random)")
    generate.add_argument("--k", type=positive_int, default=3, help="literals per clause")
    generate.add_argument("--pigeons", type=nonnegative_int, default=3, help="pigeons (pigeonhole)")
    generate.add_argument("--holes", type=nonnegative_int, default=2, help="holes (pigeonhole)")
    generate.add_argument("--seed", type=nonnegative_int, default=0, help="random seed")
    generate.add_argument("--out", help="file to write (default: standard output)")
    generate.set_defaults(run=_cmd_generate)

    verify = commands.add_parser(
        "verify",
        help="random-test registered reductions and chains",
        description="Random-test registered reductions and chains. On a terminal, long runs show their "
        "progress and expected time on stderr.",
        formatter_class=_DefaultsFormatter,
    )
    verify.add_argument("names", nargs="*", help="registered names (default: all)")
    verify.add_argument("--trials", type=positive_int, default=100, help="random instances per reduction")
    verify.add_argument("--seed", type=nonnegative_int, default=0, help="random seed")
    verify.add_argument("--json", action="store_true", help="print one JSON object")
    verify.add_argument("--quiet", action="store_true", help="no progress on stderr")
    _add_engine_options(verify)
    verify.set_defaults(run=_cmd_verify)

    chain = commands.add_parser("chain", help="show the reduction path between two problems")
    chain.add_argument("source")
    chain.add_argument("target")
    chain.add_argument("--symbolic", action="store_true", help="print the composed parameter map")
    chain.add_argument("--all", action="store_true", help="list every registered path, with the names of named chains")
    chain.set_defaults(run=_cmd_chain)

    solve = commands.add_parser(
        "solve",
        help="decide CNF files through attention (one file: exit 10 SAT, 20 UNSAT, 0 UNKNOWN)",
        description="Reduce the formula along SAT -> OV -> Gap-ANN -> AAttC, call one attention oracle, "
        "map its answer back and check it. Prints 's SATISFIABLE' with 'v ... 0' lines or 's UNSATISFIABLE'; "
        "work whose predicted size is above the limits prints 's UNKNOWN' with the reason. Several files "
        "(or a directory, for the .cnf files below it) are solved each on its own, on a local Dask cluster "
        "unless --workers 1: every file's lines follow a 'c file NAME' line (one JSON object per line with "
        "--json), a file beyond the limits is refused without stopping the others, and a summary ends the "
        "output.",
        formatter_class=_DefaultsFormatter,
        lazy_epilog=_solve_epilog,
    )
    solve.add_argument(
        "files", nargs="+", metavar="FILE", help="DIMACS CNF files or directories ('-' for standard input)"
    )
    solve.add_argument("--oracle", default="exact", help="attention oracle (names below)")
    _add_solve_options(solve)
    solve.add_argument("--trace", action="store_true", help="print every stage as 'c' comment lines")
    solve.add_argument("--json", action="store_true", help="print one JSON object")
    solve.add_argument("--quiet", action="store_true", help="no progress on stderr")
    solve.add_argument("--check", action="store_true", help="also decide each formula with PySAT and compare")
    _add_engine_options(solve)
    solve.set_defaults(run=_cmd_solve)

    if with_demo:
        from reductions.app.figures.gallery import add_demo_command

        demo = add_demo_command(commands)
        demo.add_argument("--list", action="store_true", help="list the demos (also the default with no NAME)")
    else:
        _add_demo_stub(commands)

    from reductions.app.bench.command import add_bench_command

    add_bench_command(commands)
    return parser


def _command_of(argv: Sequence[str]) -> str | None:
    """The sub-command named in ``argv`` (the first word that is not an option)."""
    return next((word for word in argv if not word.startswith("-")), None)


def _silence_stdout() -> None:
    """After a broken pipe: send what is left of stdout nowhere, so exiting prints nothing."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # stdout without a file descriptor (captured)
        pass


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status.

    >>> main(["chain", "sat", "ov"])
    sat -> ov: sat-ov (sat -> ov)
    0
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser(with_demo=_command_of(argv) == "demo").parse_args(argv)
    try:
        status = args.run(args)
        sys.stdout.flush()
        return int(status)
    except BrokenPipeError:
        # the reader (``| head -1``) has what it wanted: keep the answer's status
        _silence_stdout()
        return int(getattr(args, "exit_status", EXIT_ERROR))
    except (FrameworkError, ValueError, TypeError, OSError) as err:
        print(f"reductions: error: {err}", file=sys.stderr)
        return EXIT_ERROR
    except MemoryError:
        print(f"reductions: error: out of memory in '{args.command}'; try smaller sizes", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        # on a terminal a progress line may be open: end it first
        print(f"{chr(10) if sys.stderr.isatty() else ''}reductions: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

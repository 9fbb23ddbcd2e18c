"""Where independent tasks run: in this process, on a local Dask cluster, or on an existing one.

:class:`Engine` is the one way the package spreads work over processes or
machines (``reductions verify`` and ``reductions solve`` over many files use
it). It has three ways to run:

* **serial** (``workers=1``, or Dask not installed): every task in the
  calling process, one after another, exactly as without an engine;
* **local cluster** (the default, ``workers=None`` for one worker process per
  core, or ``workers=K``): a Dask ``LocalCluster`` started in this process on
  first use (``processes=True``, one thread per worker) and stopped by
  :meth:`Engine.close`;
* **existing cluster** (``scheduler="tcp://host:8786"``): a Dask client
  connected to a cluster started elsewhere (``dask scheduler`` and
  ``dask worker`` on other machines).

Dask is imported only when a cluster starts, so the command line starts as
fast without it. A task whose worker dies (killed, out of memory) is submitted
once more; if it fails again it is reported as a :class:`TaskFailure`, and
the other tasks' results stand.

Examples
--------
>>> from reductions.parallel import Engine
>>> with Engine(workers=1) as engine:
...     results = {}
...     failures = engine.map(pow, [(2, 3), (3, 2)], lambda index, value: results.update({index: value}))
>>> results, failures, engine.describe()
({0: 8, 1: 9}, [], 'serial (one process)')
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Callable, Sequence
from importlib.util import find_spec
from typing import Any, TextIO

import attrs

from instances._validation import check_int

__all__ = [
    "Engine",
    "TaskFailure",
    "dask_available",
    "core_count",
    "PROBE_SECONDS",
    "CLUSTER_WORTH_SECONDS",
]

PROBE_SECONDS = 1.0
"""With the number of workers left to the engine, work runs in this process this long first ..."""

CLUSTER_WORTH_SECONDS = 8.0
"""... and a cluster is started only when the rest is then predicted to take longer than this."""


def dask_available() -> bool:
    """Whether ``dask.distributed`` can be imported (the ``distributed`` extra), without importing it.

    >>> isinstance(dask_available(), bool)
    True
    """
    return find_spec("distributed") is not None and find_spec("dask") is not None


def core_count() -> int:
    """The cores this process may run on (its CPU affinity where the system reports one).

    >>> core_count() >= 1
    True
    """
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except AttributeError:  # not every system reports an affinity
        return max(os.cpu_count() or 1, 1)


def _distributed() -> Any:
    """The ``distributed`` module, imported on first use (it takes about a second)."""
    import importlib

    return importlib.import_module("distributed")


CONNECT_SECONDS = 10
"""How long ``--scheduler ADDRESS`` waits for the scheduler to answer."""


class _LostTask(Exception):
    """A task whose worker went away without an exception of its own."""


def _worker_lost(error: BaseException) -> bool:
    """Whether ``error`` says the task's worker went away (a retry may succeed), not that it raised."""
    import asyncio
    import concurrent.futures

    from distributed.comm.core import CommClosedError
    from distributed.scheduler import KilledWorker

    lost = (_LostTask, KilledWorker, CommClosedError, asyncio.CancelledError, concurrent.futures.CancelledError)
    return isinstance(error, lost)


def _check_address(address: str) -> None:
    """Refuse, in one line, a scheduler address Dask cannot connect to, before a client is made."""
    from distributed.comm.addressing import parse_address, parse_host_port
    from distributed.comm.registry import get_backend

    try:
        scheme, location = parse_address(address)
        get_backend(scheme)
        if scheme in ("tcp", "tls"):
            parse_host_port(location)
    except ValueError as error:
        raise ValueError(f"--scheduler {address}: not a scheduler address ({error})") from None


def _start_local_cluster(distributed: Any, workers: int) -> Any:
    """A local cluster of ``workers`` processes, one thread each, listening on 127.0.0.1 only.

    Dask's own memory manager is off (no spilling, pausing or killing at a share of the
    machine's memory): each file's predicted peak is compared with ``--max-memory`` before it
    runs, and a file that fits must not be killed by a second, different limit. The worker
    processes start with Ctrl-C ignored, so that a Ctrl-C at the terminal, which reaches the
    whole process group, stops the run through this process alone instead of printing a
    traceback from every worker.
    """
    import signal

    import dask

    memory = {f"distributed.worker.memory.{key}": False for key in ("target", "spill", "pause", "terminate")}
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN) if _in_main_thread() else None
    try:
        with dask.config.set(memory):
            return distributed.LocalCluster(
                n_workers=workers,
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                dashboard_address="127.0.0.1:0",  # this machine only, a free port (8787 may be taken)
                memory_limit=0,
                silence_logs=logging.CRITICAL,
            )
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)


def _in_main_thread() -> bool:
    """Whether this is the main thread (the only one that may set signal handlers)."""
    import threading

    return threading.current_thread() is threading.main_thread()


@attrs.frozen
class TaskFailure:
    """A task that did not finish, after its one retry: its index in the task list and why."""

    index: int
    reason: str


class Engine:
    """Runs independent tasks serially, on a local Dask cluster or on an existing one (see the module).

    ``workers=None`` means one worker per core (serial on a one-core machine);
    with ``scheduler`` the cluster's own workers are used and ``workers`` is
    ignored. Notes (Dask missing, a worker lost) go to ``stream`` (default
    stderr). Use it as a context manager, or call :meth:`close`.

    >>> Engine(workers=1).serial, Engine(workers=1).describe()
    (True, 'serial (one process)')
    """

    def __init__(self, workers: int | None = None, scheduler: str | None = None, *, stream: TextIO | None = None):
        if workers is not None:
            workers = check_int("workers", workers, minimum=1)
        self.requested = workers
        self.scheduler = scheduler
        self.stream = stream
        self._client: Any = None
        self._cluster: Any = None
        self._noted = False
        if scheduler is not None and not dask_available():
            raise ValueError(
                f"--scheduler {scheduler} needs Dask: pip install 'dask[distributed]' "
                "(the 'distributed' extra of reductions)"
            )

    @property
    def auto(self) -> bool:
        """Whether the number of workers was left to the engine (it may then stay serial for small work)."""
        return self.requested is None and self.scheduler is None

    @property
    def workers(self) -> int:
        """Worker processes the work is spread over (1 when serial; an existing cluster's threads are counted)."""
        if self.serial:
            return 1
        if self.scheduler is not None:  # the cluster's own workers (connecting if need be)
            return max(sum(self.client().nthreads().values()), 1)
        return self.requested or core_count()

    @property
    def serial(self) -> bool:
        """Whether every task runs in the calling process."""
        if self.scheduler is not None:
            return False
        return (self.requested or core_count()) == 1 or not dask_available()

    @property
    def started(self) -> bool:
        """Whether a cluster (or the connection to one) is open."""
        return self._client is not None

    def describe(self) -> str:
        """Where the tasks run, in words."""
        if self.scheduler is not None:
            return f"the Dask cluster at {self.scheduler}"
        if self.serial:
            return "serial (one process)"
        return f"a local Dask cluster of {self.workers} worker processes"

    def _note(self, text: str) -> None:
        print(f"reductions: note: {text}", file=self.stream or sys.stderr, flush=True)

    def note_if_serial_by_necessity(self) -> None:
        """Say once on stderr that more workers were asked for but Dask is missing."""
        if self.requested is not None and self.requested > 1 and not dask_available() and not self._noted:
            self._noted = True
            self._note(
                f"--workers {self.requested} needs Dask (pip install 'dask[distributed]'); running in one process"
            )

    def client(self) -> Any:
        """The Dask client, starting the local cluster (or connecting) on first use."""
        if self._client is not None:
            return self._client
        import dask

        distributed = _distributed()

        # The scheduler resubmits a task whose worker died this many times before giving up;
        # the engine does its own single retry, so the local scheduler gives up at once.
        # A worker holds only the task it runs (saturation 1), so a worker that dies fails no
        # queued task with it.
        settings = {"distributed.scheduler.allowed-failures": 0, "distributed.scheduler.worker-saturation": 1.0}
        with dask.config.set(settings):
            if self.scheduler is not None:
                _check_address(self.scheduler)
                try:
                    self._client = distributed.Client(
                        self.scheduler, set_as_default=False, timeout=f"{CONNECT_SECONDS}s"
                    )
                except (OSError, TimeoutError) as error:
                    raise ValueError(f"--scheduler {self.scheduler}: cannot connect ({error})") from None
            else:
                self._cluster = _start_local_cluster(distributed, self.workers)
                self._client = distributed.Client(self._cluster, set_as_default=False)
        return self._client

    def run_here_first(self, count: int, run: Callable[[int], None]) -> int | None:
        """Where the engine decides (workers left to it, no cluster open yet), ``run(index)`` items here
        for :data:`PROBE_SECONDS`, then the rest here too when they are predicted to take less than
        :data:`CLUSTER_WORTH_SECONDS`; the first index left for a cluster, or ``None`` when all ran here
        (``0`` when the engine does not decide: nothing ran).

        >>> ran = []
        >>> with Engine() as engine:
        ...     engine.run_here_first(3, ran.append), ran
        (None, [0, 1, 2])
        """
        if not (self.auto and not self.started):
            return 0
        start, first = time.perf_counter(), 0
        while first < count and time.perf_counter() - start < PROBE_SECONDS:
            run(first)
            first += 1
        elapsed = time.perf_counter() - start
        if first == count or elapsed / first * (count - first) < CLUSTER_WORTH_SECONDS:
            for index in range(first, count):
                run(index)
            return None
        return first

    def map(
        self,
        function: Callable[..., Any],
        tasks: Sequence[tuple[Any, ...]],
        on_result: Callable[[int, Any], None],
        describe: Callable[[int], str] = "task {}".format,
    ) -> list[TaskFailure]:
        """Call ``function(*task)`` for every task; ``on_result(index, value)`` as each finishes.

        Serially the tasks run in order and an exception propagates. With
        the number of workers left to the engine (``workers=None``) and no
        cluster open yet, tasks run in this process for :data:`PROBE_SECONDS`
        first, and a cluster starts only if the rest is predicted to take
        longer than :data:`CLUSTER_WORTH_SECONDS`. On a
        cluster results arrive in any order; a task that fails (its worker
        died, or it raised) is submitted once more, alone, after the others, and a second failure is
        returned as a :class:`TaskFailure` instead of stopping the others;
        ``describe(index)`` names a task in the note on stderr. Ctrl-C cancels what is left and stops the local cluster.
        """
        if self.serial:
            self.note_if_serial_by_necessity()
            for index, task in enumerate(tasks):
                on_result(index, function(*task))
            return []
        first = self.run_here_first(len(tasks), lambda index: on_result(index, function(*tasks[index])))
        if first is None:
            return []
        client = self.client()
        futures: dict[Any, int] = {}
        for index in range(first, len(tasks)):
            futures[client.submit(function, *tasks[index], pure=False)] = index
        failures: list[TaskFailure] = []
        retries: list[tuple[int, str]] = []
        try:
            for future in _distributed().as_completed(list(futures), loop=client.loop):
                index = futures.pop(future)
                value, error = self._outcome(future)
                if error is None:
                    on_result(index, value)
                elif not _worker_lost(error):
                    raise error  # the task's own exception, as a serial run would raise it
                else:
                    reason = f"{type(error).__name__}: {error}"
                    self._note(f"{describe(index)} failed ({reason}); retrying it once, alone")
                    retries.append((index, reason))
            # One at a time: a worker that dies takes with it every task it held, so a retry
            # that shared a worker with the task that kills it could be lost for no fault of its own.
            for index, _ in retries:
                future = client.submit(function, *tasks[index], pure=False)
                futures[future] = index
                for _ in _distributed().as_completed([future], loop=client.loop):  # wait for it
                    pass
                del futures[future]
                value, error = self._outcome(future)
                if error is None:
                    on_result(index, value)
                elif not _worker_lost(error):
                    raise error
                else:
                    failures.append(TaskFailure(index, f"{type(error).__name__}: {error}"))
        except BaseException:
            for future in futures:
                future.cancel()
            self.close()
            raise
        return sorted(failures, key=lambda failure: failure.index)

    @staticmethod
    def _outcome(future: Any) -> tuple[Any, BaseException | None]:
        """``(value, None)`` for a finished task, ``(None, error)`` for one that failed; releases it."""
        value: Any = None
        error: BaseException | None = None
        if future.status == "finished":
            try:
                value = future.result()
            except Exception as err:  # its worker died between finishing and handing it over
                error = err
        else:
            try:
                error = future.exception()
            except Exception as err:
                error = err
            if error is None:  # a result lost with its worker reads as no exception at all
                error = _LostTask(f"the task ended as {future.status!r} without a result")
        future.release()
        return value, error

    def close(self) -> None:
        """Stop the local cluster (or disconnect from the existing one)."""
        client, cluster = self._client, self._cluster
        self._client = self._cluster = None
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.close()

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

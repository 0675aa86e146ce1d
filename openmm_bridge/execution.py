"""Running independent tasks (replicas, string images, swarms) through Dask distributed.

By default a ``LocalCluster`` of single-threaded worker processes on this machine's
cores; with ``scheduler="tcp://host:8786"`` the same tasks go to an existing Dask
cluster, with no other change. Each task is a plain function of plain data, so
its result does not depend on where it ran.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import warnings
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from .errors import PathganError, PathganInputError

#: Seconds to wait for a scheduler before reporting it unreachable.
CONNECT_TIMEOUT_S = 10


def default_workers() -> int:
    """Workers of a local cluster: one per core this process may use."""
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except AttributeError:  # not on Linux
        return max(os.cpu_count() or 1, 1)


#: The local cluster shared by every :func:`dask_client` inside :func:`shared_local_cluster`.
_SHARED: dict[str, Any] = {}


def _local_cluster(n: int) -> Any:
    """A new ``LocalCluster`` of ``n`` single-threaded worker processes, no dashboard."""
    from distributed import LocalCluster

    if n <= 0:
        raise PathganInputError(f"the number of Dask workers must be positive, got {n}")
    with warnings.catch_warnings():
        # The scheduler's HTTP endpoint moves to a free port when 8787 is taken; nothing to report.
        warnings.filterwarnings("ignore", message="Port .* is already in use", category=UserWarning)
        return LocalCluster(
            n_workers=n,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=logging.ERROR,
        )


@contextlib.contextmanager
def shared_local_cluster(n_workers: int | None = None) -> Iterator[None]:
    """Within this block every local cluster of ``n_workers`` (default: one per core) is one, started once.

    Starting a ``LocalCluster`` costs seconds (worker processes importing OpenMM and torch); a
    pipeline of several Dask stages, or a test session, pays it once, at its first use. When a
    run of tasks fails, the workers are restarted, so that tasks still running stop, as they do
    when a cluster of their own closes. Nested blocks use the outer one's cluster.
    """
    if _SHARED:
        yield
        return
    _SHARED.update(cluster=None, n=n_workers or default_workers())
    try:
        yield
    finally:
        cluster = _SHARED.get("cluster")
        _SHARED.clear()
        if cluster is not None:
            cluster.close()


@contextlib.contextmanager
def dask_client(
    scheduler: str | None = None, n_workers: int | None = None, timeout_s: float = CONNECT_TIMEOUT_S
) -> Iterator[Any]:
    """A ``distributed.Client``: to ``scheduler`` if given, else to a new local cluster.

    Inside :func:`shared_local_cluster`, a local cluster of its size is that shared one.
    Raises :class:`PathganInputError` when the scheduler cannot be reached in ``timeout_s``.
    """
    from distributed import Client

    if scheduler:
        try:
            client = Client(scheduler, timeout=f"{timeout_s}s")
        except (OSError, TimeoutError, ValueError) as err:
            raise PathganInputError(
                f"cannot reach the Dask scheduler at {scheduler!r} within {timeout_s:g} s: {err}"
            ) from err
        try:
            yield client
        finally:
            client.close()
        return
    n = n_workers or default_workers()
    if _SHARED and n == _SHARED["n"]:
        if _SHARED["cluster"] is None:
            _SHARED["cluster"] = _local_cluster(n)
        with Client(_SHARED["cluster"]) as client:
            try:
                yield client
            except BaseException:
                client.restart()  # stop the failed run's tasks still running, as closing a cluster would
                raise
        return
    with _local_cluster(n) as cluster, Client(cluster) as client:
        yield client


def run_tasks(
    fn: Callable[..., Any],
    kwargs_list: Sequence[dict[str, Any]],
    names: Sequence[str],
    scheduler: str | None = None,
    n_workers: int | None = None,
    desc: str = "tasks",
    progress: bool = True,
    progress_units: tuple[str, int, Callable[[], int]] | None = None,
    client: Any = None,
) -> list[Any]:
    """Run ``fn(**kwargs)`` for every entry on Dask; return the results in the input order.

    A progress bar counts finished tasks, or, with ``progress_units = (unit, total,
    done_fn)``, finer units (MD steps, say) that ``done_fn`` counts from the tasks'
    files, polled twice a second. The first task that fails stops the run with its
    error, named after the task; tasks already finished keep their outputs. Task keys
    are Dask's own (unique on a shared scheduler); ``names`` label messages. ``client``: an
    open ``distributed.Client`` to reuse (otherwise one is opened and closed for this call).
    """
    from distributed import as_completed
    from tqdm.auto import tqdm

    if len(kwargs_list) != len(names):
        raise PathganInputError(f"run_tasks: {len(names)} names for {len(kwargs_list)} tasks")
    if not kwargs_list:
        return []
    unit, total, done_fn = progress_units or ("task", len(kwargs_list), None)
    with (
        contextlib.nullcontext(client) if client is not None else dask_client(scheduler, n_workers) as client
    ):
        futures = [client.submit(fn, **kw, pure=False) for kw in kwargs_list]
        name_of = {f.key: name for f, name in zip(futures, names, strict=True)}
        with tqdm(total=total, desc=desc, unit=unit, disable=not progress) as bar:
            stop = threading.Event()

            def poll() -> None:  # finer progress (MD steps) from the tasks' files
                while not stop.wait(0.5):
                    bar.update(max(min(done_fn(), total) - bar.n, 0))

            poller = threading.Thread(target=poll, daemon=True) if done_fn else None
            if poller is not None:
                poller.start()
            try:
                for future in as_completed(futures):
                    if future.status == "error":
                        err, name = future.exception(), name_of[future.key]
                        for f in futures:
                            f.cancel()
                        if isinstance(err, PathganError):
                            raise type(err)(f"{name}: {err}") from err
                        raise PathganError(f"{name} failed: {type(err).__name__}: {err}") from err
                    if done_fn is None:
                        bar.update(1)
            finally:
                stop.set()
                if poller is not None:
                    poller.join()
            if done_fn is not None:
                bar.update(max(min(done_fn(), total) - bar.n, 0))
        return [f.result() for f in futures]

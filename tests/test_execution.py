"""Dask execution: a local cluster, an existing scheduler, failures, an unreachable address."""

from __future__ import annotations

from pathlib import Path

import pytest
from distributed import LocalCluster

from openmm_bridge.errors import PathganError, PathganInputError
from openmm_bridge.execution import dask_client, default_workers, run_tasks, shared_local_cluster


def _write_after(path: str, seconds: float) -> str:
    """A task that writes ``path`` after ``seconds``, unless stopped first."""
    import time

    time.sleep(seconds)
    Path(path).write_text("still ran")
    return path


def _fail() -> None:
    raise ValueError("this task fails")


def test_local_cluster_returns_results_in_order():
    kwargs = [{"base": 2, "exp": e} for e in range(6)]
    names = [f"power-{e}" for e in range(6)]
    assert run_tasks(pow, kwargs, names, n_workers=2, progress=False) == [1, 2, 4, 8, 16, 32]


@pytest.mark.filterwarnings("ignore:Port .* is already in use")
def test_existing_scheduler_by_address():
    with LocalCluster(n_workers=1, processes=False, dashboard_address=None) as cluster:
        out = run_tasks(
            pow, [{"base": 3, "exp": 2}], ["p"], scheduler=cluster.scheduler_address, progress=False
        )
    assert out == [9]


def test_failing_task_is_named():
    with pytest.raises(PathganError, match="bad-task failed: TypeError"):
        run_tasks(pow, [{"base": "x", "exp": 2}], ["bad-task"], n_workers=1, progress=False)


def test_unreachable_scheduler_is_a_clear_error():
    with pytest.raises(
        PathganInputError, match=r"cannot reach the Dask scheduler at 'tcp://127.0.0.1:9' within 2 s"
    ):
        with dask_client("tcp://127.0.0.1:9", timeout_s=2):
            pass


def test_workers():
    assert default_workers() >= 1
    with pytest.raises(PathganInputError, match="must be positive"):
        with dask_client(n_workers=-1):
            pass


def test_a_shared_cluster_serves_every_client_and_a_failure_stops_its_siblings(tmp_path):
    with shared_local_cluster(2):
        with dask_client(n_workers=2) as first:
            address = first.scheduler.address
        with dask_client() as second:  # default size, here the shared one's when it is 2
            assert second.scheduler.address == address or default_workers() != 2
        late = tmp_path / "late.txt"
        with pytest.raises(PathganError, match="failing failed: ValueError"):
            run_tasks(
                lambda name: _write_after(str(late), 6.0) if name == "slow" else _fail(),
                [{"name": "slow"}, {"name": "failing"}],
                ["slow", "failing"],
                n_workers=2,
                progress=False,
            )
        # the shared cluster's workers were restarted: the slow sibling never finishes, and the
        # same cluster runs the next tasks
        assert run_tasks(pow, [{"base": 2, "exp": 3}], ["p"], n_workers=2, progress=False) == [8]
        import time

        time.sleep(7.0)
        assert not late.exists()
        with dask_client(n_workers=2) as again:
            assert again.scheduler.address == address

"""Dask execution: a local cluster, an existing scheduler, failures, an unreachable address."""

from __future__ import annotations

import pytest
from distributed import LocalCluster

from openmm_bridge.errors import PathganError, PathganInputError
from openmm_bridge.execution import dask_client, default_workers, run_tasks


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

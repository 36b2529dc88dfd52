"""The executor interface: a Dask LocalCluster on loopback gives the local numbers exactly."""

import numpy as np
import pytest

from theory_sim import experiments
from theory_sim.executors import DaskExecutor, LocalExecutor, ProcessExecutor, make_executor


@pytest.fixture(scope="module")
def dask_address():
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, host="127.0.0.1", processes=True,
                                       dashboard_address=None)
    try:
        yield cluster.scheduler_address
    finally:
        cluster.close()


@pytest.mark.slow
def test_dask_and_local_give_identical_numbers(dask_address, tmp_path):
    configs = experiments.REGISTRY["consistency"].configs("small")
    local = experiments.run("consistency", "small", tmp_path / "local", LocalExecutor())
    executor = DaskExecutor(dask_address)
    try:
        remote = experiments.run("consistency", "small", tmp_path / "dask", executor)
    finally:
        executor.close()
    assert list(local) == list(remote)
    for key in local:
        np.testing.assert_array_equal(local[key].delta, remote[key].delta)
        np.testing.assert_array_equal(local[key].validity, remote[key].validity)
        assert local[key].limits.delta_inf == remote[key].limits.delta_inf
    assert len(list((tmp_path / "dask").glob("montecarlo-*.json"))) == len(configs)  # workers wrote the files


def test_make_executor_and_errors():
    assert isinstance(make_executor(None), LocalExecutor)
    with pytest.raises(ValueError, match="scheduler must be an address"):
        DaskExecutor("")
    with pytest.raises(ConnectionError, match="could not be reached"):
        DaskExecutor("tcp://127.0.0.1:9")  # nothing listens on the discard port


def test_process_executor_keeps_the_order_and_checks_workers():
    with ProcessExecutor(2) as executor:
        assert executor.map(abs, [-3, 1, -2]) == [3, 1, 2]
        assert executor.map(abs, [-4]) == [4]  # the same processes serve a second map
    with pytest.raises(ValueError, match="workers must be"):
        ProcessExecutor(0)

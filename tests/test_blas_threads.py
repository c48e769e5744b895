"""The BLAS-thread policy: its decision on injected machines, its load
measurement on injected CPU counters, and the threads a fit really gets."""

import io
import multiprocessing
import os
import sys
import threading

import pytest

from skmlp import MLPClassifier, compiled
from skmlp.compiled import SMALL_PRODUCT, THREADED_PRODUCT, Machine, choose_blas_threads

pytestmark = [
    pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning"),
]

BETWEEN = 5 * 2**20  # a W1-sized product
assert THREADED_PRODUCT < BETWEEN <= SMALL_PRODUCT


def _machine(cores, others):
    return lambda: Machine(cores, others)


def _never():
    raise AssertionError("the machine was measured where the decision needs no load")


@pytest.mark.parametrize(
    ("cores", "others", "default", "expected"),
    [
        (2, 0.0, 2, 2),  # idle: the second core joins
        (2, 0.05, 2, 2),  # a core 95% idle counts as idle
        (2, 0.5, 2, 1),
        (2, 1.0, 2, 1),  # one busy process: one thread, no collapse
        (2, 7.0, 2, 1),  # overloaded
        (8, 2.95, 8, 5),  # three cores busy: ours plus four idle ones
        (8, 0.0, 4, 4),  # never more than BLAS's own count
        (1, 0.0, 2, 1),
    ],
)
def test_products_between_thresholds_take_one_thread_per_idle_core(
    cores, others, default, expected
):
    chosen = choose_blas_threads(BETWEEN, default, machine=_machine(cores, others))
    assert chosen == expected


def test_small_products_take_one_thread_without_measuring():
    for largest in (1, THREADED_PRODUCT):
        assert choose_blas_threads(largest, 2, machine=_never) == 1


def test_large_products_keep_blas_threads():
    assert choose_blas_threads(SMALL_PRODUCT + 1, 2, machine=_never) is None


def test_unknown_load_takes_one_thread():
    assert choose_blas_threads(BETWEEN, 2, machine=_machine(2, None)) == 1
    assert choose_blas_threads(BETWEEN, 2, machine=None) == 1


def test_a_user_limit_always_wins():
    for largest in (1, BETWEEN, SMALL_PRODUCT + 1):
        for in_worker in (False, True):
            chosen = choose_blas_threads(
                largest, 2, user_limited=True, in_worker=in_worker, machine=_never
            )
            assert chosen is None
        assert choose_blas_threads(largest, 2, env_limited=True, machine=_never) is None


def test_search_workers_keep_one_thread():
    # even on an idle machine, for large products, and under the variables
    # a worker's launcher (loky, the dask nanny) sets
    for largest in (1, BETWEEN, SMALL_PRODUCT + 1):
        for env_limited in (False, True):
            chosen = choose_blas_threads(
                largest, 8, env_limited=env_limited, in_worker=True, machine=_never
            )
            assert chosen == 1


def test_a_child_process_is_a_worker():
    assert not compiled._in_worker()  # pytest runs tests in its main process
    context = multiprocessing.get_context("spawn")
    with context.Pool(1) as pool:
        assert pool.apply(compiled._in_worker)


# --- the load measurement ---------------------------------------------------------
def _sample(wall, busy, own, running=0):
    return compiled._CpuSample(wall, busy, own, running)


def test_others_load_is_cpu_time_used_minus_ours_per_second():
    before, now = _sample(10.0, 100.0, 5.0), _sample(12.0, 103.0, 6.0)
    assert compiled._others_since(before, now) == pytest.approx(1.0)  # (3 - 1) / 2
    # our own time is never counted as another's, nor does the load go negative
    assert compiled._others_since(before, _sample(12.0, 101.0, 7.0)) == 0.0


def test_others_load_takes_the_larger_of_now_and_the_last_window(monkeypatch):
    samples = iter(
        [
            _sample(0.0, 0.0, 0.0, running=0),
            _sample(1.0, 1.5, 0.5, running=0),  # others used one core over the window
            _sample(1.01, 1.5, 0.5, running=2),  # too short a window: keep the last one
            _sample(3.0, 2.5, 1.5, running=0),  # an idle window
        ]
    )
    monkeypatch.setattr(compiled, "_cpu_sample", lambda cpus: next(samples))
    monkeypatch.setattr(compiled, "_load", {})
    loads = [compiled._others_load({0, 1}) for _ in range(4)]
    assert loads == [0.0, pytest.approx(1.0), 2.0, 0.0]


def test_without_cpu_counters_the_load_average_stands(monkeypatch):
    monkeypatch.setattr(compiled, "_cpu_sample", lambda cpus: None)
    monkeypatch.setattr(compiled.os, "getloadavg", lambda: (1.5, 1.0, 0.5), raising=False)
    assert compiled._others_load({0}) == 1.5


def test_cpu_counters_in_an_unknown_layout_count_as_unknown(monkeypatch):
    monkeypatch.setattr(
        compiled, "open", lambda *a, **k: io.StringIO("cpu0 a b c\n"), raising=False
    )
    assert compiled._cpu_sample({0}) is None
    monkeypatch.setattr(compiled.os, "getloadavg", lambda: (0.0, 0.0, 0.0), raising=False)
    assert compiled._others_load({0}) == 0.0  # the load average stands in


@pytest.mark.skipif(not os.path.exists("/proc/stat"), reason="no /proc (not Linux)")
def test_the_cpu_counters_are_read():
    sample = compiled._cpu_sample(compiled._usable_cpus())
    assert sample.busy > 0 and sample.own > 0 and sample.others_running >= 0
    machine = compiled._measure_machine()
    assert 1 <= machine.cores <= (os.cpu_count() or 1) and machine.others >= 0


# --- the threads a fit gets ------------------------------------------------------
def _blas_counts():
    from threadpoolctl import threadpool_info

    return [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]


def _threads_during_fit(monkeypatch, X, y, **params):
    """The BLAS thread counts seen while the training loop runs."""
    import skmlp.estimators

    seen = []
    original = skmlp.estimators.run_stochastic

    def spy(*args, **kwargs):
        seen.append(_blas_counts())
        return original(*args, **kwargs)

    monkeypatch.setattr(skmlp.estimators, "run_stochastic", spy)
    MLPClassifier(**{"max_iter": 1, "random_state": 0, **params}).fit(X, y)
    return seen[0]


@pytest.fixture
def two_blas_threads():
    pytest.importorskip("threadpoolctl")
    if max(_blas_counts()) < 2 or any(os.environ.get(v) for v in compiled._BLAS_ENV):
        pytest.skip("BLAS runs on one thread here, or the environment sets its threads")
    compiled._blas_controller()
    if compiled._controller["threads"] != _blas_counts():
        pytest.skip("BLAS's threads changed since skmlp was imported")


def _between_network(batch_size, n_features):
    """A hidden layer whose batch product lies between the two thresholds."""
    width = BETWEEN // (batch_size * n_features)
    assert THREADED_PRODUCT < batch_size * n_features * width <= SMALL_PRODUCT
    return (width,)


def test_a_fit_on_an_idle_machine_uses_the_idle_core(monkeypatch, digits, two_blas_threads):
    X, y = digits
    hidden = _between_network(200, X.shape[1])
    before = _blas_counts()
    monkeypatch.setattr(compiled, "_measure_machine", _machine(2, 0.0))
    assert max(_threads_during_fit(monkeypatch, X, y, hidden_layer_sizes=hidden)) == 2
    monkeypatch.setattr(compiled, "_measure_machine", _machine(2, 1.0))
    assert set(_threads_during_fit(monkeypatch, X, y, hidden_layer_sizes=hidden)) == {1}
    assert _blas_counts() == before  # restored after the fit


def test_a_fit_in_a_worker_process_uses_one_thread(monkeypatch, digits, two_blas_threads):
    X, y = digits
    hidden = _between_network(200, X.shape[1])
    monkeypatch.setattr(compiled, "_measure_machine", _machine(2, 0.0))
    monkeypatch.setattr(compiled, "_in_worker", lambda: True)
    assert set(_threads_during_fit(monkeypatch, X, y, hidden_layer_sizes=hidden)) == {1}


def test_a_fit_in_another_thread_leaves_the_threads_alone(monkeypatch, digits, two_blas_threads):
    # threadpoolctl lets one live thread control OpenBLAS's process-wide
    # count: a fit in another thread must not take that from the main thread
    X, y = digits
    hidden = _between_network(200, X.shape[1])
    before = _blas_counts()
    monkeypatch.setattr(compiled, "_measure_machine", _machine(2, 1.0))
    seen = []
    worker = threading.Thread(
        target=lambda: seen.append(
            _threads_during_fit(monkeypatch, X, y, hidden_layer_sizes=hidden)
        )
    )
    worker.start()
    worker.join()
    assert seen == [before]
    # and the main thread's next fit still applies the policy
    assert set(_threads_during_fit(monkeypatch, X, y, hidden_layer_sizes=hidden)) == {1}
    assert _blas_counts() == before


def test_a_nested_fit_keeps_the_outer_limit_and_the_users_threads_come_back(
    monkeypatch, two_blas_threads
):
    class Net:
        layer_units = [64, BETWEEN // (200 * 64)]

    before = _blas_counts()
    monkeypatch.setattr(compiled, "_measure_machine", _machine(2, 1.0))
    with compiled.blas_threads_for(Net(), 200):
        assert set(_blas_counts()) == {1}
        # a fit inside a fit (a callback's) keeps the limit it finds
        monkeypatch.setattr(compiled, "_measure_machine", _machine(2, 0.0))
        with compiled.blas_threads_for(Net(), 200):
            assert set(_blas_counts()) == {1}
        assert set(_blas_counts()) == {1}
    assert _blas_counts() == before
    with compiled.blas_threads_for(Net(), 200):  # the next fit starts afresh
        assert max(_blas_counts()) == 2


def _threads_in_this_process(X, y, hidden):
    """The BLAS counts a fit sees here, on a machine reported idle."""

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(compiled, "_measure_machine", _machine(2, 0.0))
        return _blas_counts(), _threads_during_fit(patch, X, y, hidden_layer_sizes=hidden)


def test_a_fit_in_a_search_worker_trains_on_one_thread(digits):
    joblib = pytest.importorskip("joblib")
    cloudpickle = pytest.importorskip("cloudpickle")  # loky's pickler

    if (os.cpu_count() or 1) < 2:
        pytest.skip("BLAS runs one thread on one core")
    X, y = digits
    hidden = _between_network(200, X.shape[1])
    # the workers cannot import this test module by name: send its functions
    module = sys.modules[__name__]
    cloudpickle.register_pickle_by_value(module)
    try:
        # workers allowed two BLAS threads each, as loky gives on 4 cores with n_jobs=2
        with joblib.parallel_config(backend="loky", inner_max_num_threads=2):
            results = joblib.Parallel(n_jobs=2)(
                joblib.delayed(_threads_in_this_process)(X, y, hidden) for _ in range(2)
            )
    finally:
        cloudpickle.unregister_pickle_by_value(module)
    for worker_threads, during_fit in results:
        assert max(worker_threads) == 2
        assert set(during_fit) == {1}

import threading
import time

import pytest

from core.prefetch import prefetch


def test_results_in_order_with_errors_in_place():
    def load(i):
        if i == 3:
            raise ValueError("bad file")
        return i * i
    got = list(prefetch(load, range(10), ahead=4))
    assert [g[0] for g in got] == list(range(10))
    assert [g[1] for g in got if g[2] is None] == [i * i for i in range(10) if i != 3]
    assert isinstance(got[3][2], ValueError) and got[3][1] is None


def test_loads_run_ahead_on_another_thread_bounded_in_count():
    threads, started = set(), []

    def load(i):
        threads.add(threading.get_ident())
        started.append(i)
        return i
    gen = prefetch(load, range(100), ahead=5)
    next(gen)
    time.sleep(0.1)
    assert threads and threading.get_ident() not in threads
    assert 5 <= len(started) <= 7            # ahead of the consumer, but bounded
    gen.close()                               # a cancel: the rest never load
    n = len(started)
    time.sleep(0.05)
    assert len(started) == n <= 7


def test_bounded_in_bytes_by_what_is_waiting():
    started = []

    def load(i):
        started.append(i)
        return 100                            # a "100-byte" result
    gen = prefetch(load, range(100), ahead=50, size=lambda r: r, budget=250)
    next(gen)
    time.sleep(0.1)
    # 3 waiting (300 >= 250) stops the loader; plus the one taken
    assert len(started) == 4
    gen.close()


def test_a_consumer_exception_stops_the_loads():
    started = []

    def load(i):
        started.append(i)
        return i
    with pytest.raises(RuntimeError):
        for item, _, _ in prefetch(load, range(1000), ahead=3):
            if item == 2:
                raise RuntimeError("cancelled")
    assert len(started) <= 7


def _concurrency_probe():
    """A load that records how many loads run at the same moment."""
    lock, state = threading.Lock(), {"now": 0, "most": 0, "threads": set()}

    def load(i):
        with lock:
            state["now"] += 1
            state["most"] = max(state["most"], state["now"])
            state["threads"].add(threading.get_ident())
        time.sleep(0.02)
        with lock:
            state["now"] -= 1
        return i
    return load, state


def test_several_workers_load_side_by_side_and_keep_the_order():
    load, state = _concurrency_probe()
    got = list(prefetch(load, range(24), ahead=8, workers=3))
    assert [g[0] for g in got] == list(range(24)) and [g[1] for g in got] == list(range(24))
    assert state["most"] == 3 and len(state["threads"]) == 3


def test_large_results_load_one_at_a_time():
    # a folder of volumes: two of them would not fit the budget side by side
    load, state = _concurrency_probe()
    got = list(prefetch(load, range(8), ahead=8, size=lambda r: 100, budget=150, workers=4))
    assert len(got) == 8 and state["most"] == 1
    load, state = _concurrency_probe()          # small ones do go side by side
    list(prefetch(load, range(8), ahead=8, size=lambda r: 10, budget=150, workers=4))
    assert state["most"] > 1


@pytest.mark.parametrize("workers", [1, 3])
def test_dropping_the_iterator_stops_every_loader(workers):
    started = []

    def load(i):
        started.append(i)
        time.sleep(0.005)
        return i
    loads = prefetch(load, range(1000), ahead=4, workers=workers)
    next(loads)
    threads = list(loads._threads)
    del loads                                  # what a consumer that raised leaves behind
    for t in threads:
        t.join(timeout=2)
    assert not any(t.is_alive() for t in threads) and len(started) < 20

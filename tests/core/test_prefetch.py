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

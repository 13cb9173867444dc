"""Demo and evidence work runs torch on one thread fewer, and gives the
count back: torch keeps it per thread, so a pool thread that ran a demo job
must analyse on every thread again afterwards."""
import threading
from concurrent.futures import ThreadPoolExecutor

import torch

from app.demo.jobs import WORKER_THREADS, fewer_threads


def test_demo_work_gives_the_thread_count_back_to_its_thread_and_to_new_ones():
    default = torch.get_num_threads()
    x = torch.randn(64, 64)

    @fewer_threads()
    def demo_job():
        torch.mm(x, x)
        return torch.get_num_threads()

    def analysis_job():
        torch.mm(x, x)
        return torch.get_num_threads()

    with ThreadPoolExecutor(1) as pool:            # one thread: the demo job's and then the analysis's
        during = pool.submit(demo_job).result()
        after = pool.submit(analysis_job).result()
    fresh = []
    t = threading.Thread(target=lambda: fresh.append(analysis_job()))
    t.start()
    t.join()
    assert during == min(default, WORKER_THREADS)
    assert after == default and fresh == [default]

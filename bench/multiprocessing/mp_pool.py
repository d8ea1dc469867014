"""multiprocessing.Pool(2) with the spawn start method (weft's children are spawned): N trivial
calls f(x) = x + 1 through map with the default chunksize, N1 through map with chunksize=1
(Python's run about 10 k calls/s here: a tenth as many serve), and M calls through
apply_async(...).get() one at a time (each waited for before the next). The pool is warm:
both workers have run calls (maps of 20 until both answered) and one untimed map of N calls before any clock starts (the pool's start is not measured). Each
figure is the best of RUNS passes; every pass checks the sum of its results. Prints JSON lines
like the shared peers.

usage: python3 mp_pool.py [N] [N1] [M] [RUNS]
"""
import json
import multiprocessing as mp
import os
import sys
import time


def f(x):
    return x + 1


def pid_of(_x):
    return os.getpid()


def report(name, n, seconds, unit):
    print(json.dumps({"name": name, "n": n, "seconds": round(seconds, 6), "rate": round(n / seconds, 3), "unit": unit}), flush=True)


def best(runs, fn):
    return min(fn() for _ in range(runs))


if __name__ == "__main__":
    mp.set_start_method("spawn")
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    n1 = int(sys.argv[2]) if len(sys.argv) > 2 else 10_000
    m = int(sys.argv[3]) if len(sys.argv) > 3 else 5_000
    runs = int(sys.argv[4]) if len(sys.argv) > 4 else 3
    with mp.Pool(2) as pool:
        # Warm: both workers up and through a few calls each.
        assert sum(pool.map(f, range(100), chunksize=1)) == 5050
        seen = set()
        until = time.perf_counter() + 60
        while len(seen) < 2 and time.perf_counter() < until:
            seen.update(pool.map(pid_of, range(20), chunksize=1))
        # One untimed pass of the largest map, as weft's side does.
        assert sum(pool.map(f, range(n))) == n * (n + 1) // 2

        def map_pass(k, chunksize):
            t = time.perf_counter()
            s = sum(pool.map(f, range(k), chunksize=chunksize))
            el = time.perf_counter() - t
            assert s == k * (k + 1) // 2, s
            return el

        def apply_pass():
            t = time.perf_counter()
            s = 0
            for i in range(m):
                s += pool.apply_async(f, (i,)).get()
            el = time.perf_counter() - t
            assert s == m * (m + 1) // 2, s
            return el

        report("py.mp.Pool(2).spawn.map.chunksize=default", n, best(runs, lambda: map_pass(n, None)), "calls/s")
        report("py.mp.Pool(2).spawn.map.chunksize=1", n1, best(runs, lambda: map_pass(n1, 1)), "calls/s")
        report("py.mp.Pool(2).spawn.apply_async.get.one-at-a-time", m, best(runs, apply_pass), "calls/s")

"""multiprocessing.Manager() (a SyncManager in its own process, spawn start method): every
operation on a proxy is a round trip to the manager process.

- dict set + get: `d['k'] = i; d['k']`, N times, from the parent, and from a spawned child
  (the child times its own loop, after a first set + get, and sends the seconds back).
- Queue put then get in one process: `q.put(i); q.get()`, N times (two round trips each).
- Queue child → parent: a spawned child puts N ints once a start Event is set; the parent
  gets them; the clock runs from the set to the last get.

Each figure is the best of RUNS passes; every pass checks what it read. Prints JSON lines like
the shared peers.

usage: python3 mp_manager.py [N] [RUNS]
"""
import json
import multiprocessing as mp
import sys
import time


def report(name, n, seconds, unit):
    print(json.dumps({"name": name, "n": n, "seconds": round(seconds, 6), "rate": round(n / seconds, 3), "unit": unit}), flush=True)


def dict_loop(d, n):
    d["k"] = -1
    assert d["k"] == -1
    t = time.perf_counter()
    s = 0
    for i in range(n):
        d["k"] = i
        s += d["k"]
    el = time.perf_counter() - t
    assert s == n * (n - 1) // 2, s
    return el


def dict_child(d, n, out):
    out.put(dict_loop(d, n))


def queue_producer(q, go, n):
    go.wait()
    for i in range(n):
        q.put(i)


def queue_roundtrip(q, n):
    t = time.perf_counter()
    s = 0
    for i in range(n):
        q.put(i)
        s += q.get()
    el = time.perf_counter() - t
    assert s == n * (n - 1) // 2, s
    return el


def queue_from_child(m, n):
    q = m.Queue()
    go = m.Event()
    p = mp.Process(target=queue_producer, args=(q, go, n))
    p.start()
    time.sleep(0.5)  # the child started and waiting on the Event
    t = time.perf_counter()
    go.set()
    s = 0
    for _ in range(n):
        s += q.get()
    el = time.perf_counter() - t
    p.join()
    assert s == n * (n - 1) // 2 and p.exitcode == 0, (s, p.exitcode)
    return el


def dict_from_child(m, n):
    d = m.dict()
    out = mp.SimpleQueue()
    p = mp.Process(target=dict_child, args=(d, n, out))
    p.start()
    el = out.get()
    p.join()
    assert p.exitcode == 0
    return el


if __name__ == "__main__":
    mp.set_start_method("spawn")
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    with mp.Manager() as m:
        d = m.dict()
        report("py.mp.Manager.dict.set+get.parent", n, min(dict_loop(d, n) for _ in range(runs)), "round trips/s")
        report("py.mp.Manager.dict.set+get.child", n, min(dict_from_child(m, n) for _ in range(runs)), "round trips/s")
        q = m.Queue()
        report("py.mp.Manager.Queue.put+get.one-process", n, min(queue_roundtrip(q, n) for _ in range(runs)), "items/s")
        report("py.mp.Manager.Queue.child->parent", n, min(queue_from_child(m, n) for _ in range(runs)), "items/s")

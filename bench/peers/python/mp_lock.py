"""Bench peer: multiprocessing.Lock acquire + release (ops/s), in the JSON-line format of the
shared peers (no shared peer measures a multiprocessing Lock).

- uncontended: one process, N acquire + release.
- contended: two processes (fork, the Linux default on 3.11) each do N/2 acquire + release on
  one Lock; the clock starts at a start Event (both processes running) and stops when both
  have exited (exit code 0 checked).
- value: one process, N x `with v.get_lock(): v.value += 1` on a Value('i').
- array items: one process, N x `a[i % 64] = i; x = a[i % 64]` on an Array('i', 64) (each access
  takes the Array's RLock, as a synchronized Array does).
- array slice: one process, N / 10 x `a[:]` of an Array('d', 1000).

usage: python3 mp_lock.py [N_UNCONTENDED] [N_CONTENDED]   (defaults 1,000,000 and 200,000)
"""
import json
import multiprocessing as mp
import sys
import time

N1 = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
N2 = int(sys.argv[2]) if len(sys.argv) > 2 else 200_000


def report(name, n, seconds):
    print(json.dumps({"name": name, "n": n, "seconds": round(seconds, 6),
                      "rate": round(n / seconds, 1), "unit": "ops/s"}), flush=True)


def uncontended(n):
    lock = mp.Lock()
    acquire, release = lock.acquire, lock.release
    t = time.perf_counter()
    for _ in range(n):
        acquire()
        release()
    report("py.mp.Lock.uncontended", n, time.perf_counter() - t)


def value_increments(n):
    v = mp.Value('i', 0)
    lock = v.get_lock()
    t = time.perf_counter()
    for _ in range(n):
        with lock:
            v.value += 1
    el = time.perf_counter() - t
    assert v.value == n
    report("py.mp.Value.locked_increment", n, el)


def array_items(n):
    a = mp.Array('i', 64)
    total = 0
    t = time.perf_counter()
    for i in range(n):
        a[i % 64] = i
        total += a[i % 64]
    el = time.perf_counter() - t
    assert total == n * (n - 1) // 2
    report("py.mp.Array.item_rw", n, el)


def array_slices(n):
    a = mp.Array('d', range(1000))
    total = 0.0
    t = time.perf_counter()
    for _ in range(n):
        total += a[:][999]
    el = time.perf_counter() - t
    assert total == n * 999
    report("py.mp.Array.slice1000", n, el)


def worker(lock, go, n):
    go.wait()
    acquire, release = lock.acquire, lock.release
    for _ in range(n):
        acquire()
        release()


def contended(n):
    lock = mp.Lock()
    go = mp.Event()
    ps = [mp.Process(target=worker, args=(lock, go, n // 2)) for _ in range(2)]
    for p in ps:
        p.start()
    time.sleep(0.5)
    t = time.perf_counter()
    go.set()
    for p in ps:
        p.join()
    el = time.perf_counter() - t
    assert all(p.exitcode == 0 for p in ps), [p.exitcode for p in ps]
    report("py.mp.Lock.contended2", 2 * (n // 2), el)


if __name__ == "__main__":
    uncontended(N1)
    contended(N2)
    value_increments(N2)
    array_items(N2)
    array_slices(N2 // 10)

"""Bench peer for bench/gevent/lock.bench.ts: gevent's Semaphore and RLock.

Prints one JSON line per scenario, `{name, n, seconds, rate, unit}`, the format of the other
Python peers. Each scenario runs once untimed (warm-up), then once timed.

usage: python3 gevent_lock.py [N_UNCONTENDED] [N_HANDOFF]   (defaults 200,000 and 50,000)
"""
import json
import sys
import time

import gevent
from gevent.lock import RLock, Semaphore

N_UNCONTENDED = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
N_HANDOFF = int(sys.argv[2]) if len(sys.argv) > 2 else 50_000


def uncontended(n):
    sem = Semaphore(1)

    def run():
        for _ in range(n):
            sem.acquire()
            sem.release()

    gevent.spawn(run).get()
    assert sem.counter == 1, sem.counter


def rlock(n):
    lock = RLock()

    def run():
        for _ in range(n):
            lock.acquire()
            lock.release()

    gevent.spawn(run).get()
    assert lock.acquire(blocking=False)
    lock.release()


def handoffs(n):
    """Two greenlets hand the turn to each other through two Semaphores: 2n hand-offs."""
    to_b = Semaphore(0)
    to_a = Semaphore(0)
    turns = [0]

    def b():
        for _ in range(n):
            to_b.acquire()
            turns[0] += 1
            to_a.release()

    def a():
        for _ in range(n):
            to_b.release()
            to_a.acquire()
            turns[0] += 1

    gb = gevent.spawn(b)
    ga = gevent.spawn(a)
    ga.get()
    gb.get()
    assert turns[0] == 2 * n and to_a.counter == 0 and to_b.counter == 0, turns


def report(name, n, fn, arg):
    fn(arg)
    t = time.perf_counter()
    fn(arg)
    el = time.perf_counter() - t
    print(json.dumps({"name": name, "n": n, "seconds": round(el, 6), "rate": round(n / el, 1),
                      "unit": "ops/s"}), flush=True)


report("py.gevent.Semaphore.uncontended", N_UNCONTENDED, uncontended, N_UNCONTENDED)
report("py.gevent.RLock.uncontended", N_UNCONTENDED, rlock, N_UNCONTENDED)
report("py.gevent.Semaphore.handoff", 2 * N_HANDOFF, handoffs, N_HANDOFF)

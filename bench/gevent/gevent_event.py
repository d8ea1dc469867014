"""Bench peer for bench/gevent/event.bench.ts: gevent's AsyncResult hand-off and Group.

Prints one JSON line per scenario, `{name, n, seconds, rate, unit}`, the format of the other
Python peers. Each scenario runs once untimed (warm-up), then once timed.

usage: python3 gevent_event.py [N_HANDOFF] [N_GROUP]   (defaults 100,000 and 10,000)
"""
import json
import sys
import time

import gevent
from gevent.event import AsyncResult
from gevent.pool import Group

N_HANDOFF = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
N_GROUP = int(sys.argv[2]) if len(sys.argv) > 2 else 10_000


def handoffs(n):
    """Two greenlets pass a counter back and forth through fresh AsyncResults: 2n hand-offs."""
    box = {}

    def b():
        r = AsyncResult()
        box["b"] = r
        while True:
            v = r.get()
            if v is None:
                return
            nxt = AsyncResult()
            box["b"] = nxt
            box["a"].set(v + 1)
            r = nxt

    def a():
        total = 0
        for i in range(n):
            r = AsyncResult()
            box["a"] = r
            box["b"].set(i)
            total += r.get()
        box["b"].set(None)
        return total

    gb = gevent.spawn(b)
    gevent.sleep(0)
    ga = gevent.spawn(a)
    total = ga.get()
    gb.join()
    assert total == n * (n + 1) // 2, total


def group_spawn_join(n):
    group = Group()
    for i in range(n):
        group.spawn(int, i)
    assert group.join() is True
    assert len(group) == 0


def report(name, n, fn, arg, unit="ops/s"):
    fn(arg)
    t = time.perf_counter()
    fn(arg)
    el = time.perf_counter() - t
    print(json.dumps({"name": name, "n": n, "seconds": round(el, 6), "rate": round(n / el, 1),
                      "unit": unit}), flush=True)


report("py.gevent.AsyncResult.handoff", 2 * N_HANDOFF, handoffs, N_HANDOFF)
report("py.gevent.Group.spawn_join", N_GROUP, group_spawn_join, N_GROUP, "greenlets/s")

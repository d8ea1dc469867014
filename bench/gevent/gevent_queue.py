"""Bench peer for bench/gevent/queue.bench.ts: gevent's Queue and Channel hand-offs.

Prints one JSON line per scenario, `{name, n, seconds, rate, unit}`, the format of the other
Python peers. Each scenario runs once untimed (warm-up), then once timed.

usage: python3 gevent_queue.py [N_QUEUE] [N_CHANNEL]   (defaults 50,000 and 20,000)
"""
import json
import sys
import time

import gevent
from gevent.queue import Channel, Queue

N_QUEUE = int(sys.argv[1]) if len(sys.argv) > 1 else 50_000
N_CHANNEL = int(sys.argv[2]) if len(sys.argv) > 2 else 20_000


def ping_pong(n, to_b, to_a):
    """Two greenlets pass a counter back and forth through to_b and to_a: 2n hand-offs."""

    def b():
        while True:
            v = to_b.get()
            if v is None:
                return
            to_a.put(v + 1)

    def a():
        total = 0
        for i in range(n):
            to_b.put(i)
            total += to_a.get()
        to_b.put(None)
        return total

    gb = gevent.spawn(b)
    ga = gevent.spawn(a)
    total = ga.get()
    gb.join()
    assert total == n * (n + 1) // 2, total


def report(name, n, fn):
    fn()
    t = time.perf_counter()
    fn()
    el = time.perf_counter() - t
    print(json.dumps({"name": name, "n": n, "seconds": round(el, 6), "rate": round(n / el, 1),
                      "unit": "ops/s"}), flush=True)


report("py.gevent.Queue.handoff", 2 * N_QUEUE, lambda: ping_pong(N_QUEUE, Queue(), Queue()))
report("py.gevent.Channel.handoff", 2 * N_CHANNEL,
       lambda: ping_pong(N_CHANNEL, Channel(), Channel()))

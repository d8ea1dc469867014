"""threading primitives, the same work as bench/threading/primitives.bench.ts. Prints one JSON
line per variant, like the shared peers ({name, n, seconds, rate, unit}).

  RLock acquire+release, uncontended, one thread
  Semaphore(8) acquire+release, uncontended, one thread
  Event ping-pong between 2 threads: two Events, one op = a round trip
  Condition turn-taking between 2 threads: one op = a round trip (a turn of each)
  Barrier(2) wait by 2 threads: one op = a generation passed

usage: python3 threading_prims.py [N_UNCONTENDED [N_HANDOFF]]   (defaults 1,000,000 and 20,000)
Semaphore, written in Python over a Condition, runs a fifth of N_UNCONTENDED.
The timed loops include Python's for-loop overhead, as the shared lock_uncontended.py's do.
Each hand-off runs a short untimed warm-up first (a tenth of the count) with its own threads.
"""
import json
import sys
import threading
import time

N = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
M = int(sys.argv[2]) if len(sys.argv) > 2 else 20_000
PERMITS = 8
now = time.perf_counter


def report(name, n, seconds, unit="ops/s"):
    print(json.dumps({"name": name, "n": n, "seconds": round(seconds, 6),
                      "rate": round(n / seconds, 1), "unit": unit}), flush=True)


def check(ok, what):
    if not ok:
        raise SystemExit(f"wrong answer: {what}")


def uncontended(name, prim, n):
    acquire, release = prim.acquire, prim.release
    t = now()
    for _ in range(n):
        acquire()
        release()
    report(name, n, now() - t)


def two_threads(side0, side1, n):
    """Runs side1 in a new thread and side0 in this one; returns side0's seconds."""
    other = threading.Thread(target=side1, args=(n,))
    other.start()
    t = now()
    side0(n)
    el = now() - t
    other.join()
    return el


def event_pingpong(n):
    ping, pong = threading.Event(), threading.Event()
    tally = [0]

    def pinger(k):
        for _ in range(k):
            ping.set()
            pong.wait()
            pong.clear()

    def ponger(k):
        for _ in range(k):
            ping.wait()
            ping.clear()
            tally[0] += 1
            pong.set()

    el = two_threads(pinger, ponger, n)
    check(tally[0] == n and not ping.is_set() and not pong.is_set(), f"{tally[0]} of {n} pongs")
    return el


def condition_pingpong(n):
    cond = threading.Condition()  # an RLock, as weft's default
    turn = [0]
    tally = [0]

    def side(me):
        other = 1 - me

        def loop(k):
            for _ in range(k):
                with cond:
                    while turn[0] != me:
                        cond.wait()
                    turn[0] = other
                    if me == 1:
                        tally[0] += 1
                    cond.notify()
        return loop

    el = two_threads(side(0), side(1), n)
    check(tally[0] == n and turn[0] == 0, f"{tally[0]} of {n} turns")
    return el


def barrier_rounds(n):
    b = threading.Barrier(2)
    sums = [0, 0]

    def side(me):
        def loop(k):
            s = 0
            for _ in range(k):
                s += b.wait()
            sums[me] = s
        return loop

    el = two_threads(side(0), side(1), n)
    check(sums[0] + sums[1] == n, f"arrival indices sum to {sums[0] + sums[1]}, expected {n}")
    return el


if __name__ == "__main__":
    uncontended("py.threading.RLock.acquire+release", threading.RLock(), N)
    uncontended(f"py.threading.Semaphore({PERMITS}).acquire+release",
                threading.Semaphore(PERMITS), max(1, N // 5))
    for name, fn in [
        ("py.threading.Event.ping-pong-2-threads", event_pingpong),
        ("py.threading.Condition.ping-pong-2-threads", condition_pingpong),
        ("py.threading.Barrier(2).wait-2-threads", barrier_rounds),
    ]:
        fn(max(1, M // 10))
        report(name, M, fn(M))

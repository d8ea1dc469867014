"""multiprocessing Semaphore, Event, Condition and Barrier (spawn start method), the work of
bench/multiprocessing/sync.bench.ts:

- Semaphore(8) acquire + release, one process, uncontended: N_SEM times.
- Event hand-off between 2 processes: two Events, ping and pong; the parent sets ping and waits
  for pong, the child waits for ping and sets pong; each side clears what it waited for. N
  rounds (two hand-offs each).
- Condition notify -> wait between 2 processes: one Condition and a turn number under its lock
  (a RawValue); each process waits for its turn, passes it to the other and notifies. N rounds
  (two hand-offs each).
- Barrier(2): the parent and a child each wait N times.

The parent times N rounds after a first one (both processes running: their start is not
measured). Each figure is the best of RUNS passes. Prints JSON lines like the shared peers.

usage: python3 mp_sync.py [N_SEM] [N] [RUNS]
"""
import json
import multiprocessing as mp
import sys
import time


def report(name, n, seconds, unit):
    print(json.dumps({"name": name, "n": n, "seconds": round(seconds, 6), "rate": round(n / seconds, 3), "unit": unit}), flush=True)


def semaphore(n):
    s = mp.Semaphore(8)
    t = time.perf_counter()
    for _ in range(n):
        s.acquire()
        s.release()
    el = time.perf_counter() - t
    assert s.get_value() == 8
    return el


def event_child(ping, pong, rounds):
    for _ in range(rounds):
        ping.wait()
        ping.clear()
        pong.set()


def events(n):
    ping, pong = mp.Event(), mp.Event()
    p = mp.Process(target=event_child, args=(ping, pong, n + 1))
    p.start()

    def once():
        ping.set()
        pong.wait()
        pong.clear()

    once()
    t = time.perf_counter()
    for _ in range(n):
        once()
    el = time.perf_counter() - t
    p.join()
    assert p.exitcode == 0
    return el


def turns(cond, turn, me, rounds):
    other = 1 - me
    for _ in range(rounds):
        with cond:
            while turn.value != me:
                cond.wait()
            turn.value = other
            cond.notify()


def condition(n):
    cond = mp.Condition()
    turn = mp.RawValue("i", 0)
    p = mp.Process(target=turns, args=(cond, turn, 1, n + 1))
    p.start()
    turns(cond, turn, 0, 1)
    t = time.perf_counter()
    turns(cond, turn, 0, n)
    # The child's last turn: it hands the turn back once more.
    with cond:
        while turn.value != 0:
            cond.wait()
    el = time.perf_counter() - t
    p.join()
    assert p.exitcode == 0
    return el


def barrier_child(b, rounds):
    for _ in range(rounds):
        b.wait()


def barrier(n):
    b = mp.Barrier(2)
    p = mp.Process(target=barrier_child, args=(b, n + 1))
    p.start()
    b.wait()
    t = time.perf_counter()
    for _ in range(n):
        b.wait()
    el = time.perf_counter() - t
    p.join()
    assert p.exitcode == 0
    return el


if __name__ == "__main__":
    mp.set_start_method("spawn")
    n_sem = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 10_000
    runs = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    report("py.mp.Semaphore(8).acquire+release.uncontended", n_sem, min(semaphore(n_sem) for _ in range(runs)), "ops/s")
    report("py.mp.Event.ping-pong.2proc", n, min(events(n) for _ in range(runs)), "rounds/s")
    report("py.mp.Condition.notify-wait.2proc", n, min(condition(n) for _ in range(runs)), "rounds/s")
    report("py.mp.Barrier(2).2proc", n, min(barrier(n) for _ in range(runs)), "rounds/s")

"""asyncio hand-offs between 2 tasks in one event loop, the same work as
bench/asyncio/handoff.bench.ts. Prints one JSON line per variant, like the shared peers.

  Event ping-pong: two Events, one op = a round trip
  Condition turn-taking: one op = a round trip (a turn of each task)
  Barrier(2) wait by 2 tasks: one op = a generation passed

usage: python3 asyncio_handoff.py [--uvloop] [N]   (default N=100,000)
Each variant runs an untimed warm-up of a tenth of N first.
"""
import asyncio
import json
import sys
import time

args = [a for a in sys.argv[1:] if a != "--uvloop"]
UV = "--uvloop" in sys.argv
N = int(args[0]) if args else 100_000
tag = "uvloop" if UV else "asyncio"
now = time.perf_counter


def report(name, n, seconds, unit="ops/s"):
    print(json.dumps({"name": name, "n": n, "seconds": round(seconds, 6),
                      "rate": round(n / seconds, 1), "unit": unit}), flush=True)


def check(ok, what):
    if not ok:
        raise SystemExit(f"wrong answer: {what}")


async def event_pingpong(n):
    ping, pong = asyncio.Event(), asyncio.Event()
    tally = [0]

    async def pinger():
        for _ in range(n):
            ping.set()
            await pong.wait()
            pong.clear()

    async def ponger():
        for _ in range(n):
            await ping.wait()
            ping.clear()
            tally[0] += 1
            pong.set()

    t = now()
    await asyncio.gather(pinger(), ponger())
    el = now() - t
    check(tally[0] == n and not ping.is_set() and not pong.is_set(), f"{tally[0]} of {n} pongs")
    return el


async def condition_pingpong(n):
    cond = asyncio.Condition()
    turn = [0]
    tally = [0]

    async def side(me):
        other = 1 - me
        for _ in range(n):
            async with cond:
                while turn[0] != me:
                    await cond.wait()
                turn[0] = other
                if me == 1:
                    tally[0] += 1
                cond.notify()

    t = now()
    await asyncio.gather(side(0), side(1))
    el = now() - t
    check(tally[0] == n and turn[0] == 0, f"{tally[0]} of {n} turns")
    return el


async def barrier_rounds(n):
    b = asyncio.Barrier(2)

    async def side():
        s = 0
        for _ in range(n):
            s += await b.wait()
        return s

    t = now()
    sums = await asyncio.gather(side(), side())
    el = now() - t
    check(sum(sums) == n, f"arrival indices sum to {sum(sums)}, expected {n}")
    return el


async def main():
    for name, fn in [
        (f"py.{tag}.Event.ping-pong-2-tasks", event_pingpong),
        (f"py.{tag}.Condition.ping-pong-2-tasks", condition_pingpong),
        (f"py.{tag}.Barrier(2).wait-2-tasks", barrier_rounds),
    ]:
        await fn(max(1, N // 10))
        report(name, N, await fn(N))


if UV:
    import uvloop

    uvloop.install()
asyncio.run(main())

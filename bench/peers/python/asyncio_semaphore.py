"""Bench peer: asyncio.Semaphore `async with` uncontended, in one event loop (ops/s).

The shared peers (../../../shared/peers/python/prims/asyncio_prims.py) cover Lock, Queue and
gather but not Semaphore; this file fills that gap in the same JSON-line format.

usage: python3 asyncio_semaphore.py [--uvloop] [N]   (default N=1,000,000)
"""
import asyncio
import json
import sys
import time

args = [a for a in sys.argv[1:] if a != "--uvloop"]
UV = "--uvloop" in sys.argv
N = int(args[0]) if args else 1_000_000
VALUE = 8
tag = "uvloop" if UV else "asyncio"


async def semaphore_uncontended():
    sem = asyncio.Semaphore(VALUE)
    count = 0
    t = time.perf_counter()
    for _ in range(N):
        async with sem:
            count += 1
    el = time.perf_counter() - t
    assert count == N
    print(json.dumps({"name": f"py.{tag}.Semaphore({VALUE}).uncontended", "n": N,
                      "seconds": round(el, 6), "rate": round(N / el, 1), "unit": "ops/s"}),
          flush=True)


if UV:
    import uvloop

    uvloop.install()
asyncio.run(semaphore_uncontended())

"""Bench peer: asyncio subprocesses (ops/s), the same work as bench/asyncio/subprocess.bench.ts.

- spawn: `await (await asyncio.create_subprocess_exec('/bin/true')).wait()`, N times.
- cat: `cat` with stdin and stdout pipes, `communicate()` of SIZE bytes (1 MiB), M times; the
  output is checked to be the input.

usage: python3 asyncio_subprocess.py [--uvloop] [N_SPAWN [M_CAT]]   (default 300 and 40)
"""
import asyncio
import json
import os
import sys
import time

args = [a for a in sys.argv[1:] if a != "--uvloop"]
UV = "--uvloop" in sys.argv
N = int(args[0]) if args else 300
M = int(args[1]) if len(args) > 1 else 40
SIZE = 1 << 20
tag = "uvloop" if UV else "asyncio"
PIPE = asyncio.subprocess.PIPE


def report(name, n, el, unit):
    print(json.dumps({"name": f"py.{tag}.{name}", "n": n, "seconds": round(el, 6),
                      "rate": round(n / el, 1), "unit": unit}), flush=True)


async def spawn_true(n):
    for _ in range(n):
        p = await asyncio.create_subprocess_exec("/bin/true")
        rc = await p.wait()
        assert rc == 0


async def cat_round_trips(m, data):
    for _ in range(m):
        p = await asyncio.create_subprocess_exec("cat", stdin=PIPE, stdout=PIPE)
        out, _ = await p.communicate(data)
        assert out == data and p.returncode == 0


async def main():
    data = os.urandom(SIZE)
    await spawn_true(5)  # warm-up: the child watcher, the first fork
    t = time.perf_counter()
    await spawn_true(N)
    report("spawn_true", N, time.perf_counter() - t, "processes/s")
    await cat_round_trips(2, data)
    t = time.perf_counter()
    await cat_round_trips(M, data)
    report("cat_1MiB", M, time.perf_counter() - t, "round trips/s")


if UV:
    import uvloop

    uvloop.install()
asyncio.run(main())

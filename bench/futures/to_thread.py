"""asyncio.to_thread round trips, one call at a time: `await asyncio.to_thread(f, i)` N times
in one task, f(x) = x + 1, checking the sum. Prints one JSON line like the shared peers.

usage: python3 to_thread.py [N]     (default N=20000)
"""
import asyncio
import json
import sys
import time


def inc(x):
    return x + 1


async def main(n):
    await asyncio.to_thread(inc, 0)  # the default executor's first thread starts outside the round
    t = time.perf_counter()
    s = 0
    for i in range(n):
        s += await asyncio.to_thread(inc, i)
    seconds = time.perf_counter() - t
    if s != n * (n + 1) // 2:
        raise SystemExit(f"wrong sum {s}")
    print(json.dumps({"name": "py.asyncio.to_thread.sequential", "n": n, "seconds": round(seconds, 6), "rate": round(n / seconds, 1), "unit": "calls/s"}), flush=True)


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 20000))

"""aiohttp's side of ws.bench.ts: the same loop as ws-client.ts with aiohttp 3.8's ws_connect.

Usage: python3 aiohttp_ws_client.py <port> <seconds> <bytes> [--uvloop]
"""
import asyncio
import json
import sys
import time

import aiohttp


async def main(port, seconds, size):
    msg = "x" * size
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(f"http://127.0.0.1:{port}/") as ws:

            async def round_trip():
                await ws.send_str(msg)
                m = await ws.receive()
                if m.type != aiohttp.WSMsgType.TEXT or len(m.data) != size:
                    raise RuntimeError(f"bad echo: {m.type}")

            for _ in range(2000):
                await round_trip()
            cpu0 = time.process_time()
            t0 = time.perf_counter()
            end = t0 + seconds
            n = 0
            while time.perf_counter() < end:
                for _ in range(100):
                    await round_trip()
                n += 100
            elapsed = time.perf_counter() - t0
            cpu = time.process_time() - cpu0
    print(json.dumps({"n": n, "seconds": elapsed, "cpu": cpu}))


if "--uvloop" in sys.argv:
    import uvloop

    uvloop.install()
asyncio.run(main(int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])))

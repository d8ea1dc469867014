"""multiprocessing.connection round trips between two processes: the parent listens with an
authkey, a spawned child connects with Client and echoes; the parent sends a small object
(send/recv) or 64 bytes (send_bytes/recv_bytes) and waits for the echo, N times. Best of RUNS.
Prints JSON lines like the shared peers.

usage: python3 connection_rt.py [N] [RUNS]
"""
import json
import multiprocessing as mp
import sys
import time
from multiprocessing.connection import Client, Listener

KEY = b"bench-connection"


def echoer(address, as_bytes):
    c = Client(address, authkey=KEY)
    while True:
        if as_bytes:
            b = c.recv_bytes()
            if not b:
                break
            c.send_bytes(b)
        else:
            m = c.recv()
            if m is None:
                break
            c.send(m)
    c.close()


def run(n, as_bytes):
    with Listener(("127.0.0.1", 0), authkey=KEY) as l:
        p = mp.Process(target=echoer, args=(l.address, as_bytes), daemon=True)
        p.start()
        c = l.accept()
        payload = bytes(64)
        msg = {"id": 0, "op": "echo", "args": [1, 2, 3]}

        def once(i):
            if as_bytes:
                c.send_bytes(payload)
                return len(c.recv_bytes())
            msg["id"] = i
            c.send(msg)
            return c.recv()["id"]

        once(-1)
        t = time.perf_counter()
        last = None
        for i in range(n):
            last = once(i)
        seconds = time.perf_counter() - t
        assert last == (64 if as_bytes else n - 1), last
        if as_bytes:
            c.send_bytes(b"")
        else:
            c.send(None)
        p.join()
        c.close()
        return seconds


if __name__ == "__main__":
    mp.set_start_method("spawn")
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 50000
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    for kind, as_bytes in (("object", False), ("bytes", True)):
        s = min(run(n, as_bytes) for _ in range(runs))
        print(json.dumps({"name": f"py.mp.connection.roundtrip.{kind}", "n": n, "seconds": round(s, 6), "rate": round(n / s, 3), "unit": "round trips/s"}), flush=True)

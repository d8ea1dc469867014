"""multiprocessing.Process start-to-first-message latency (spawn): start a process that puts
one item on a SimpleQueue; time from start() to the parent's get(). Prints JSON lines like the
shared peers.

usage: python3 process_start.py [N]     (default N=10 starts)
"""
import json
import multiprocessing as mp
import sys
import time


def hello(q):
    q.put(1)


if __name__ == "__main__":
    mp.set_start_method("spawn")
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    total = 0.0
    for _ in range(n):
        q = mp.SimpleQueue()
        t = time.perf_counter()
        p = mp.Process(target=hello, args=(q,))
        p.start()
        q.get()
        total += time.perf_counter() - t
        p.join()
    print(json.dumps({"name": "py.mp.Process.spawn.start-to-first-message", "n": n, "seconds": round(total, 6), "rate": round(n / total, 3), "unit": "starts/s"}), flush=True)

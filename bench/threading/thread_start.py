"""threading.Thread start -> join of a target that returns at once, one thread at a time.
Prints a JSON line like the shared peers.

usage: python3 thread_start.py [N]     (default N=2000 starts)
"""
import json
import sys
import threading
import time


def return_at_once():
    pass


if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    t = time.perf_counter()
    for _ in range(n):
        th = threading.Thread(target=return_at_once)
        th.start()
        th.join()
    total = time.perf_counter() - t
    print(json.dumps({"name": "py.threading.Thread.start-join", "n": n, "seconds": round(total, 6), "rate": round(n / total, 3), "unit": "starts/s"}), flush=True)

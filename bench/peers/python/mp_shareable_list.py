"""Bench peer: multiprocessing.shared_memory.ShareableList item access (ops/s), in the JSON-line
format of the shared peers (no shared peer measures one). Peer of
bench/multiprocessing/shareable-list.bench.ts; one process, as the weft rows:

- int: N x `sl[i % 64] = i; x = sl[i % 64]` on a list of 64 ints.
- str: N x `sl[i % 64] = s; x = sl[i % 64]` on a list of 64 strings of 7 ASCII characters (a
  slot of 8 bytes each), s one of two such strings in turn.
- list: N / 64 x `list(sl)` of a list of 64 items, ints, floats, strings, bools and None in turn.

usage: python3 mp_shareable_list.py [N]   (default 1,000,000)
"""
import json
import sys
import time
from multiprocessing.shared_memory import ShareableList

N = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000


def report(name, n, seconds):
    print(json.dumps({"name": name, "n": n, "seconds": round(seconds, 6),
                      "rate": round(n / seconds, 1), "unit": "ops/s"}), flush=True)


def ints(n):
    sl = ShareableList(range(64))
    total = 0
    t = time.perf_counter()
    for i in range(n):
        sl[i % 64] = i
        total += sl[i % 64]
    el = time.perf_counter() - t
    assert total == n * (n - 1) // 2
    sl.shm.close()
    sl.shm.unlink()
    report("py.ShareableList.int_rw", n, el)


def strs(n):
    sl = ShareableList(["item-00"] * 64)
    words = ("abcdefg", "hijklmn")
    total = 0
    t = time.perf_counter()
    for i in range(n):
        sl[i % 64] = words[i & 1]
        total += len(sl[i % 64])
    el = time.perf_counter() - t
    assert total == 7 * n
    sl.shm.close()
    sl.shm.unlink()
    report("py.ShareableList.str_rw", n, el)


def mixed():
    kinds = (lambda i: i, lambda i: i + 0.5, lambda i: "s%05d" % i, lambda i: i % 2 == 0, lambda i: None)
    return [kinds[i % 5](i) for i in range(64)]


def whole(n):
    sl = ShareableList(mixed())
    count = 0
    t = time.perf_counter()
    for _ in range(n):
        count += len(list(sl))
    el = time.perf_counter() - t
    assert count == 64 * n
    sl.shm.close()
    sl.shm.unlink()
    report("py.ShareableList.list64", n, el)


if __name__ == "__main__":
    ints(N)
    strs(N)
    whole(N // 64)

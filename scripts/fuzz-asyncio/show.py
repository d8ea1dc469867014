"""show.py <div-dir>: the two traces side by side (py | ts), the first difference marked."""
import json, sys, os
d = sys.argv[1]
def load(n):
    t = open(os.path.join(d, n)).read()
    dec = json.JSONDecoder()
    v, _ = dec.raw_decode(t)
    return v or []
a, b = load('py.txt'), load('ts.txt')
mark = False
for i in range(max(len(a), len(b))):
    x = a[i] if i < len(a) else ''
    y = b[i] if i < len(b) else ''
    m = '  ' if x == y else '!!'
    print(f"{i:3} {m} {x:45} | {y}")

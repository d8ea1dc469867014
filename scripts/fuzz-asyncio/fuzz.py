"""Differential fuzzer: weft/asyncio vs CPython 3.11 asyncio.

usage: /usr/bin/python3 fuzz.py --start 0 --count 200 [--batch 10] [--opt key=0|1 ...]
Divergent programs land in out/div/<seed>/ (prog.json, p.py, t.mts, py.txt, ts.txt).
"""

import argparse
import json
import os
import re
import subprocess
import sys
import time

import gen

HERE = os.path.dirname(os.path.abspath(__file__))
# The repository's root: the generated TypeScript imports its src/, and runs from there (tsx).
ROOT = os.path.dirname(os.path.dirname(HERE))
PYENV = os.path.expanduser(os.environ.get('PYENV_ROOT', '~/.pyenv'))
PY = '/usr/bin/python3'
NODE = ['node', '--import', 'tsx']
OTHER_PY = [v for v in ('3.11.7', '3.12.1', '3.13.0') if os.path.exists(f'{PYENV}/versions/{v}/bin/python3')]


def run(cmd, path, timeout):
    t = time.time()
    try:
        cp = subprocess.run(cmd + [path], capture_output=True, text=True, timeout=timeout, cwd=ROOT)
        out, err, rc = cp.stdout, cp.stderr, cp.returncode
    except subprocess.TimeoutExpired as e:
        out = e.stdout.decode() if isinstance(e.stdout, bytes) else (e.stdout or '')
        err, rc = 'TIMEOUT', 'timeout'
    res = {}
    for line in out.splitlines():
        if line.startswith('{'):
            try:
                d = json.loads(line)
                res[d['id']] = d['trace']
            except Exception:
                pass
    return res, rc, err, time.time() - t


KX = re.compile(r'^[^:]*\.k\d+:X:')


def normalise(trace):
    """Orders CPython leaves open: TaskGroup aborts its children in set order, and asyncio.run
    cancels the tasks left in set order (all_tasks()). Sort those runs of lines."""
    if trace is None:
        return None
    last = max([i for i, x in enumerate(trace) if x.startswith('main:t')], default=len(trace) - 1)
    head, tail = list(trace[:last + 1]), sorted(trace[last + 1:])
    out, i = [], 0
    while i < len(head):
        j = i
        while j < len(head) and KX.match(head[j]):
            j += 1
        if j > i + 1:
            out += sorted(head[i:j])
            i = j
        else:
            out.append(head[i])
            i += 1
    return out + tail


def write(d, name, text):
    with open(os.path.join(d, name), 'w') as f:
        f.write(text)


def single(seed, p, d, timeout=20):
    os.makedirs(d, exist_ok=True)
    write(d, 'prog.json', json.dumps(p, indent=1))
    write(d, 'p.py', gen.emit_py([(f's{seed}', p)]))
    write(d, 't.mts', gen.emit_ts([(f's{seed}', p)]))
    pr, prc, perr, _ = run([PY], os.path.join(d, 'p.py'), timeout)
    tr, trc, terr, _ = run(NODE, os.path.join(d, 't.mts'), timeout)
    return pr.get(f's{seed}'), prc, perr, tr.get(f's{seed}'), trc, terr


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--start', type=int, default=0)
    ap.add_argument('--count', type=int, default=50)
    ap.add_argument('--batch', type=int, default=10)
    ap.add_argument('--opt', action='append', default=[])
    ap.add_argument('--out', default=os.path.join(HERE, 'out'))
    a = ap.parse_args()
    a.out = os.path.abspath(a.out)
    opts = {}
    for o in a.opt:
        k, v = o.split('=')
        opts[k] = v == '1'
    os.makedirs(os.path.join(a.out, 'div'), exist_ok=True)
    os.makedirs(os.path.join(a.out, 'batch'), exist_ok=True)
    summary = open(os.path.join(a.out, 'summary.jsonl'), 'a')
    n_same = n_div = n_hang = 0
    for b0 in range(a.start, a.start + a.count, a.batch):
        seeds = list(range(b0, min(b0 + a.batch, a.start + a.count)))
        progs = [(f's{s}', gen.gen_program(s, opts)) for s in seeds]
        bd = os.path.join(a.out, 'batch')
        write(bd, 'p.py', gen.emit_py(progs))
        write(bd, 't.mts', gen.emit_ts(progs))
        pr, prc, perr, pt = run([PY], os.path.join(bd, 'p.py'), 10 + 3 * len(seeds))
        tr, trc, terr, tt = run(NODE, os.path.join(bd, 't.mts'), 20 + 3 * len(seeds))
        for s, (pid, p) in zip(seeds, progs):
            a_, b_ = pr.get(pid), tr.get(pid)
            if a_ is not None and normalise(a_) == normalise(b_):
                n_same += 1
                continue
            # confirm alone, and check CPython's determinism
            d = os.path.join(a.out, 'div', str(s))
            a1, prc1, perr1, b1, trc1, terr1 = single(s, p, d)
            if a1 is not None and normalise(a1) == normalise(b1):
                n_same += 1
                summary.write(json.dumps({'seed': s, 'status': 'batch-only'}) + '\n')
                continue
            a2 = single(s, p, d)[0]
            a3 = single(s, p, d)[0]
            det = normalise(a1) == normalise(a2) == normalise(a3)
            status = 'div' if a1 is not None else 'py-hang'
            if a1 is None:
                n_hang += 1
            else:
                n_div += 1
            write(d, 'py.txt', json.dumps(a1) + '\n' + (perr1 or '')[-3000:])
            write(d, 'ts.txt', json.dumps(b1) + '\n' + (terr1 or '')[-3000:])
            first = None
            if a1 is not None and b1 is not None:
                for i, (x, y) in enumerate(zip(normalise(a1), normalise(b1))):
                    if x != y:
                        first = [i, x, y]
                        break
                else:
                    first = [min(len(a1), len(b1)), 'len', len(a1), len(b1)]
            others = {}
            if a1 is not None and b1 is not None:
                for v in OTHER_PY:
                    o = run([f'{PYENV}/versions/{v}/bin/python3'], os.path.join(d, 'p.py'), 20)[0].get(f's{s}')
                    others[v] = 'weft' if normalise(o) == normalise(b1) else ('3.11.2' if normalise(o) == normalise(a1) else 'other')
            rec = {'others': others, 'seed': s, 'status': status, 'py_deterministic': det, 'first': first,
                   'py_rc': prc1, 'ts_rc': trc1}
            summary.write(json.dumps(rec) + '\n')
            summary.flush()
            print(json.dumps(rec), flush=True)
        print(f'batch {b0}: py {pt:.1f}s ts {tt:.1f}s same={n_same} div={n_div} pyhang={n_hang}', flush=True)
    print(f'TOTAL same={n_same} div={n_div} pyhang={n_hang}')


if __name__ == '__main__':
    main()

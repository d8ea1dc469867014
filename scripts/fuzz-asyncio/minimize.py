"""Shrink a divergent program: minimize.py <div-dir> [--keep-313]

Greedy passes over the description (drop an op, inline a block, drop a child of a gather or a
TaskGroup, drop a task, drop pre ops and callbacks) while the program still diverges (normalised
traces differ, CPython deterministic over two runs) and CPython 3.13's answer keeps the class it had
(matches weft or not). Writes <div-dir>/min/{prog.json,p.py,t.mts,py.txt,ts.txt}.
"""

import copy
import json
import os
import re
import sys

import gen
from fuzz import NODE, PY, normalise, run, write

PY313 = os.path.join(os.path.expanduser(os.environ.get('PYENV_ROOT', '~/.pyenv')), 'versions/3.13.0/bin/python3')
BLOCKS = {'lock': 2, 'sem': 1, 'cond': 1, 'try': 1, 'timeout': 2}


def outcome(p, d):
    os.makedirs(d, exist_ok=True)
    write(d, 'p.py', gen.emit_py([('m', p)]))
    write(d, 't.mts', gen.emit_ts([('m', p)]))
    a = run([PY], os.path.join(d, 'p.py'), 15)[0].get('m')
    b = run(NODE, os.path.join(d, 't.mts'), 15)[0].get('m')
    return a, b


def sig(a, b):
    """The kind of the first difference: both lines with task names and numbers abstracted."""
    a, b = normalise(a), normalise(b)
    for x, y in list(zip(a, b)) + [(a[len(b)] if len(a) > len(b) else '', b[len(a)] if len(b) > len(a) else '')]:
        if x != y:
            return (shape(x), shape(y))
    return None


def shape(s):
    s = re.sub(r'^[^:]*:', '', s)  # the task
    s = re.sub(r'\d+', 'N', s)
    s = re.sub(r't[N.gkswN]+', 'T', s)
    return s


SIG = [None]


def diverges(p, d, cls313):
    a, b = outcome(p, d)
    if a is None or b is None or normalise(a) == normalise(b):
        return False
    if SIG[0] is not None and sig(a, b) != SIG[0]:
        return False
    if cls313 is not None and os.path.exists(PY313):
        c = run([PY313], os.path.join(d, 'p.py'), 15)[0].get('m')
        if (normalise(c) == normalise(b)) != cls313:
            return False
    return True


def bodies(p):
    """Every op list of the program, as (container, key) pairs."""
    out = []

    def walk(ops):
        out.append(ops)
        for op in ops:
            k = op[0]
            if k in BLOCKS:
                walk(op[BLOCKS[k]])
            elif k == 'tg':
                walk(op[2])

    for t in p['tasks']:
        walk(t)
    for c in p['children']:
        walk(c['body'])
    walk(p['pre'])
    return out


def candidates(p):
    """Yield smaller variants of p."""
    # drop a whole task (last first), remapping indices
    for i in reversed(range(p['n'])):
        if p['n'] <= 1:
            break
        q = drop_task(p, i)
        if q is not None:
            yield q
    n_lists = len(bodies(p))
    # halves first (ddmin-like), then single ops
    for li in range(n_lists):
        L = bodies(p)[li]
        if len(L) > 1:
            h = len(L) // 2
            for a, b in ((0, h), (h, len(L))):
                q = copy.deepcopy(p)
                del bodies(q)[li][a:b]
                yield q
    for li in range(n_lists):
        L = bodies(p)[li]
        for oi in reversed(range(len(L))):
            q = copy.deepcopy(p)
            ql = bodies(q)[li]
            op = ql[oi]
            # inline a block
            if op[0] in BLOCKS and op[0] != 'cond':
                q2 = copy.deepcopy(p)
                l2 = bodies(q2)[li]
                inner = l2[oi][BLOCKS[op[0]]]
                l2[oi:oi + 1] = inner
                yield q2
            if op[0] in ('gather', 'tg') and len(op[1]) > 1:
                for ki in range(len(op[1])):
                    q3 = copy.deepcopy(p)
                    bodies(q3)[li][oi][1].pop(ki)
                    yield q3
            if op[0] == 'gather' and op[3] is not None:
                q4 = copy.deepcopy(p)
                bodies(q4)[li][oi][3] = None
                yield q4
            if op[0] in ('cancel', 'cancelself') and op[-1] is not None:
                q5 = copy.deepcopy(p)
                bodies(q5)[li][oi][-1] = None
                yield q5
            ql.pop(oi)
            yield q
    for key in list(p.get('cbcancel', {})):
        q = copy.deepcopy(p)
        del q['cbcancel'][key]
        yield q
    for ci in reversed(range(len(p['callbacks']))):
        q = copy.deepcopy(p)
        q['callbacks'].pop(ci)
        yield q


def refs(op):
    k = op[0]
    if k in ('cancel', 'await', 'shield', 'waitfor'):
        return [op[1]]
    if k in ('waitfirst', 'ascompleted'):
        return list(op[1])
    return []


def drop_task(p, i):
    q = copy.deepcopy(p)
    bad = [False]

    def fix(ops):
        out = []
        for op in ops:
            r = refs(op)
            if i in r:
                if op[0] in ('waitfirst', 'ascompleted') and len(op[1]) > 1:
                    op[1] = [j for j in op[1] if j != i]
                else:
                    continue
            if op[0] in ('cancel', 'await', 'shield', 'waitfor') and op[1] > i:
                op[1] -= 1
            if op[0] in ('waitfirst', 'ascompleted'):
                op[1] = [j - 1 if j > i else j for j in op[1]]
            k = op[0]
            if k in BLOCKS:
                op[BLOCKS[k]] = fix(op[BLOCKS[k]])
            elif k == 'tg':
                op[2] = fix(op[2])
            out.append(op)
        return out

    q['tasks'].pop(i)
    q['n'] -= 1
    q['tasks'] = [fix(t) for t in q['tasks']]
    for c in q['children']:
        c['body'] = fix(c['body'])
    q['pre'] = fix(q['pre'])
    q['callbacks'] = [j - 1 if j > i else j for j in q['callbacks'] if j != i]
    cc = {}
    for a, b in q.get('cbcancel', {}).items():
        a = int(a)
        if a != i and b != i:
            cc[str(a - 1 if a > i else a)] = b - 1 if b > i else b
    q['cbcancel'] = cc
    if q.get('barrier') and q['barrier'] > q['n']:
        q['barrier'] = q['n']
    if bad[0]:
        return None
    return q


def size(p):
    return len(json.dumps(p))


def main():
    d = os.path.abspath(sys.argv[1])
    p = json.load(open(os.path.join(d, 'prog.json')))
    md = os.path.join(d, 'min')
    work = os.path.join(d, 'min-work')
    a, b = outcome(p, work)
    cls313 = None
    if os.path.exists(PY313):
        c = run([PY313], os.path.join(work, 'p.py'), 15)[0].get('m')
        cls313 = normalise(c) == normalise(b)
    if '--any' not in sys.argv:
        SIG[0] = sig(a, b)
        print('signature', SIG[0])
    if not diverges(p, work, cls313):
        print('does not diverge')
        return
    tries = 0
    changed = True
    while changed:
        changed = False
        for q in candidates(p):
            if size(q) >= size(p):
                continue
            tries += 1
            if diverges(q, work, cls313):
                p = q
                changed = True
                print(f'  shrunk to {size(p)} (tries {tries})', flush=True)
                break
    os.makedirs(md, exist_ok=True)
    write(md, 'prog.json', json.dumps(p, indent=1))
    a, b = outcome(p, md)
    write(md, 'py.txt', json.dumps(a) + '\n')
    write(md, 'ts.txt', json.dumps(b) + '\n')
    print(f'done after {tries} tries; 3.13 matches weft: {cls313}')


if __name__ == '__main__':
    main()

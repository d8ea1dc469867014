"""triage.py <out-dir>...: group divergences by (which CPython versions match weft, first-difference shape)."""
import json, sys, os, collections
from minimize import sig
from fuzz import normalise
groups = collections.defaultdict(list)
for out in sys.argv[1:]:
    for line in open(os.path.join(out, 'summary.jsonl')):
        r = json.loads(line)
        if r.get('status') != 'div':
            continue
        d = os.path.join(out, 'div', str(r['seed']))
        dec = json.JSONDecoder()
        a = dec.raw_decode(open(os.path.join(d, 'py.txt')).read())[0]
        b = dec.raw_decode(open(os.path.join(d, 'ts.txt')).read())[0]
        if a is None or b is None:
            # a run that printed no trace (a crash or a hang): listed on its own
            groups[('no-trace', 'python' if a is None else 'weft')].append(d)
            continue
        o = r.get('others', {})
        cls = 'weft=' + (','.join(v for v, m in sorted(o.items()) if m == 'weft') or 'none')
        groups[(cls, sig(a, b))].append(d)
for k, v in sorted(groups.items(), key=lambda kv: (kv[0][0], -len(kv[1]))):
    print(len(v), k, ' '.join(os.path.basename(x) for x in v[:6]))

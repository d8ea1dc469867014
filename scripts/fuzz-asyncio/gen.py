"""Random small asyncio programs, emitted as CPython asyncio and as weft/asyncio TypeScript.

A program is a plain JSON-able description (see gen_program); emit_py / emit_ts turn a list of
programs into one source file each (every program is a function returning its trace).
"""

import json
import os
import random

D_MS = 30  # spacing of timer slots (ms); no two deadlines of a program are closer than this

OPTS_DEFAULT = {
    'timeouts': True,  # timeout() scopes (bodies without catching ops)
    'tg_catch': False,  # catching ops inside a TaskGroup body (weft departs on purpose there)
    'swallow': True,  # 'swallow' / 'uncancel' modes of catching ops
    'spawn': True,
    'barrier': True,
}


class Gen:
    def __init__(self, rng, opts):
        self.rng = rng
        self.opts = opts
        self.slot = 0
        self.item = 0
        self.umsg = 0
        self.children = []  # (fname, name, top, body)
        self.awaited = set()

    def r(self, p):
        return self.rng.random() < p

    def next_slot(self):
        self.slot += 1
        return self.slot

    # ---------------------------------------------------------------- bodies
    def body(self, ctx, n_min=1, n_max=5):
        """ctx: dict(top, depth, locks (tuple of held lock-like names), catch (bool), me)"""
        ops = []
        n = self.rng.randint(n_min, n_max)
        for _ in range(n):
            op = self.op(ctx)
            if op is not None:
                ops.append(op)
        if ctx.get('may_raise') and self.r(0.15):
            self.umsg += 1
            ops.append(['raise', f'u{self.umsg}'])
        return ops

    def op(self, ctx):
        p = self.prog
        rng = self.rng
        choices = [('log', 3), ('sleep0', 6), ('cancelling', 1), ('name', 0.5)]
        if self.slot < 4:
            choices.append(('sleepslot', 0.6))
        locks = ctx['locks']
        deep = ctx['depth'] >= 2
        if p['lock'] and not deep and 'L' not in locks and 'L2' not in locks:
            choices.append(('lockL', 3))
        if p['lock2'] and not deep and 'L2' not in locks:
            choices.append(('lockL2', 1.5))
        if p['sem'] and not deep and 'S' not in locks:
            choices.append(('semblk', 2))
            choices.append(('semrel', 0.5))
        if p['cond'] and not deep and not locks:
            choices.append(('condblk', 3))
        if p['event']:
            choices += [('eset', 1.5), ('eclear', 0.5), ('ewait', 2)]
        if p['queue'] is not None:
            choices += [('qput', 2), ('qget', 2), ('qputnw', 0.7), ('qgetnw', 0.7), ('qdone', 0.8),
                        ('qjoin', 0.4), ('qsize', 0.3)]
        if p['barrier'] and ctx['me_top'] is not None:
            choices += [('bwait', 1.5), ('babort', 0.15)]
        others = [j for j in range(p['n']) if j != ctx['top']]
        later = [j for j in range(p['n']) if j > ctx['top']]
        # CPython 3.11 gives a cancelled task's message to its first retriever only: one awaiter a task
        free = [j for j in later if j not in self.awaited]
        choices += [('cancel', 1.2), ('cancelself', 0.2)]
        if ctx['catch']:
            if free:
                choices += [('await', 2.5), ('shield', 1)]
            if not deep:
                choices.append(('try', 1))
                if self.opts.get('gather', True):
                    choices.append(('gather', 1.5))
                if self.opts.get('tg', True):
                    choices.append(('tg', 1.2))
            choices.append(('uncancel', 0.4))
        if not deep and self.opts['timeouts'] and self.slot < 4:
            choices.append(('timeout', 0.8))
        if self.opts['spawn'] and not deep:
            choices.append(('spawn', 0.4))
        if p['waitfirst'] and later and ctx['catch']:
            choices.append(('waitfirst', 0.7))
        if p['lock']:
            choices.append(('locked', 0.3))
        if p['future']:
            choices += [('fset', 1), ('fcancel', 0.4)]
            if ctx['catch']:
                choices.append(('fawait', 1.5))
        if self.opts.get('callsoon', True):
            choices.append(('callsoon', 0.6))
        if self.opts.get('waitfor', False) and free and ctx['catch'] and self.slot < 4:
            choices.append(('waitfor', 0.6))
        if self.opts.get('ascompleted', True) and len(free) >= 1 and ctx['catch']:
            choices.append(('ascompleted', 0.5))
        names = [c[0] for c in choices]
        weights = [c[1] for c in choices]
        k = rng.choices(names, weights)[0]
        sub = dict(ctx, depth=ctx['depth'] + 1)
        if k == 'log':
            return ['log']
        if k in ('sleep0', 'cancelling', 'name', 'eset', 'eclear', 'ewait', 'qget', 'qgetnw', 'qdone',
                 'qjoin', 'qsize', 'semrel', 'bwait', 'babort', 'uncancel'):
            return [k]
        if k == 'sleepslot':
            return ['sleepslot', self.next_slot()]
        if k in ('locked', 'callsoon'):
            return [k]
        if k == 'fset':
            self.item += 1
            return ['fset', self.item]
        if k == 'fcancel':
            return ['fcancel', self.msg()]
        if k == 'fawait':
            return ['fawait', self.mode()]
        if k == 'waitfor':
            j = rng.choice(free)
            self.awaited.add(j)
            return ['waitfor', j, self.next_slot(), self.mode()]
        if k == 'ascompleted':
            js = sorted(rng.sample(free, min(len(free), rng.randint(1, 2))))
            self.awaited.update(js)
            return ['ascompleted', js, self.mode()]
        if k in ('qput', 'qputnw'):
            self.item += 1
            return [k, self.item]
        if k in ('lockL', 'lockL2'):
            w = k[4:]
            return ['lock', w, self.body(dict(sub, locks=locks + (w,)), 1, 4)]
        if k == 'semblk':
            return ['sem', self.body(dict(sub, locks=locks + ('S',)), 1, 3)]
        if k == 'condblk':
            return ['cond', self.cond_body(dict(sub, locks=('C',)))]
        if k == 'cancel':
            if not others:
                return ['sleep0']
            j = rng.choice(others)
            return ['cancel', j, self.msg()]
        if k == 'cancelself':
            return ['cancelself', self.msg()]
        if k in ('await', 'shield'):
            j = rng.choice(free)
            self.awaited.add(j)
            return [k, j, self.mode()]
        if k == 'waitfirst':
            js = sorted(rng.sample(later, min(len(later), rng.randint(1, 2))))
            return ['waitfirst', js, rng.choice(['FIRST_COMPLETED', 'ALL_COMPLETED', 'FIRST_EXCEPTION'])]
        if k == 'gather':
            kids = [self.child(ctx, 'g') for _ in range(rng.randint(1, 3))]
            cancel_after = rng.choice([None, None, 0, 1, 2])
            return ['gather', kids, self.r(0.5), cancel_after, self.mode()]
        if k == 'tg':
            kids = [self.child(ctx, 'k', may_raise=True) for _ in range(rng.randint(1, 3))]
            tb = self.body(dict(sub, catch=self.opts['tg_catch'], may_raise=False), 0, 2)
            return ['tg', kids, tb]
        if k == 'try':
            return ['try', self.body(dict(sub, may_raise=True), 1, 3), self.mode()]
        if k == 'timeout':
            s = self.next_slot()
            return ['timeout', s, self.body(dict(sub, catch=False, may_raise=False), 1, 3)]
        if k == 'spawn':
            return ['spawn', self.child(ctx, 's')]
        raise AssertionError(k)

    def cond_body(self, ctx):
        ops = []
        for _ in range(self.rng.randint(1, 3)):
            k = self.rng.choices(['cwait', 'cnotify', 'cnotifyall', 'log', 'sleep0', 'other'],
                                 [3, 2.5, 1, 1, 1, 0.7])[0]
            if k == 'cnotify':
                ops.append(['cnotify', self.rng.randint(1, 2)])
            elif k == 'other':
                o = self.op(dict(ctx, catch=False))
                if o is not None:
                    ops.append(o)
            else:
                ops.append([k])
        return ops

    def child(self, ctx, kind, may_raise=False):
        idx = len(self.children)
        name = f"{ctx['me']}.{kind}{idx}"
        fname = f"c{idx}"
        cctx = dict(top=ctx['top'], depth=ctx['depth'] + 1, locks=(), catch=True, me=name, me_top=None,
                    may_raise=may_raise)
        entry = {'fname': fname, 'name': name, 'body': None}
        self.children.append(entry)
        entry['body'] = self.body(cctx, 1, 3)
        return fname

    def msg(self):
        if self.r(0.5):
            return None
        self.umsg += 1
        return f"m{self.umsg}"

    def mode(self):
        if not self.opts['swallow']:
            return 'reraise'
        return self.rng.choices(['reraise', 'swallow', 'uncancel'], [3, 1, 1])[0]


def gen_program(seed, opts=None):
    opts = dict(OPTS_DEFAULT, **(opts or {}))
    rng = random.Random(seed)
    g = Gen(rng, opts)
    n = rng.randint(2, 4)
    p = {
        'seed': seed,
        'n': n,
        'lock': rng.random() < 0.6,
        'lock2': rng.random() < 0.2,
        'sem': (rng.choice(['Semaphore', 'BoundedSemaphore']), rng.randint(0, 2)) if rng.random() < 0.4 else None,
        'cond': rng.random() < 0.4,
        'event': rng.random() < 0.5,
        'queue': rng.randint(0, 2) if rng.random() < 0.45 else None,
        'qkind': rng.choice(['Queue', 'Queue', 'LifoQueue', 'PriorityQueue']),
        'future': rng.random() < 0.25,
        'barrier': rng.randint(2, n) if (opts['barrier'] and rng.random() < 0.25) else None,
        'waitfirst': rng.random() < 0.3,
        'lockStyle': rng.choice(['acquire', 'run', 'hold']),
    }
    g.prog = p
    tasks = []
    for i in range(n):
        ctx = dict(top=i, depth=0, locks=(), catch=True, me=f"t{i}", me_top=i, may_raise=True)
        tasks.append(g.body(ctx, 1, 6))
    p['tasks'] = tasks
    pre = []
    for _ in range(rng.choice([0, 0, 1, 2])):
        k = rng.choice(['sleep0', 'cancel', 'log'])
        if k == 'cancel':
            pre.append(['cancel', rng.randrange(n), g.msg()])
        else:
            pre.append([k])
    p['pre'] = pre
    p['callbacks'] = sorted(rng.sample(range(n), rng.randint(0, n)))
    # a callback may cancel another task (index) when it runs
    p['cbcancel'] = {str(i): rng.randrange(n) for i in p['callbacks'] if rng.random() < 0.3}
    p['children'] = g.children
    p['maxslot'] = g.slot
    return p


def used_children(p):
    by = {c['fname']: c for c in p['children']}
    seen = []

    def walk(ops):
        for op in ops:
            k = op[0]
            if k in ('gather', 'tg'):
                for f in op[1]:
                    if f not in seen:
                        seen.append(f)
                        walk(by[f]['body'])
                if k == 'tg':
                    walk(op[2])
            elif k == 'spawn':
                if op[1] not in seen:
                    seen.append(op[1])
                    walk(by[op[1]]['body'])
            elif k in ('lock', 'timeout'):
                walk(op[2])
            elif k in ('sem', 'cond', 'try'):
                walk(op[1])

    for t in p['tasks']:
        walk(t)
    walk(p['pre'])
    return [c for c in p['children'] if c['fname'] in seen]


# ====================================================================== Python
class PyEmit:
    def __init__(self, p, pid):
        self.p = p
        self.pid = pid
        self.lines = []
        self.k = 0
        self.vk = 0

    def w(self, ind, s):
        self.lines.append('    ' * ind + s)

    def uid(self):
        self.k += 1
        return self.k

    def var(self):
        self.vk += 1
        return self.vk

    def emit(self):
        p = self.p
        w = self.w
        w(0, f"def prog_{self.pid}():")
        w(1, "trace = []; log = trace.append; tasks = []; extras = []; st = {}")
        if p['lock']:
            w(1, "L = asyncio.Lock()")
        if p['lock2']:
            w(1, "L2 = asyncio.Lock()")
        if p['sem']:
            w(1, f"S = asyncio.{p['sem'][0]}({p['sem'][1]})")
        if p['cond']:
            w(1, "C = asyncio.Condition()")
        if p['event']:
            w(1, "E = asyncio.Event()")
        if p['queue'] is not None:
            w(1, f"Q = asyncio.{p.get('qkind', 'Queue')}({p['queue']})")
        if p['barrier']:
            w(1, f"B = asyncio.Barrier({p['barrier']})")
        for c in used_children(p):
            self.fn(1, c['fname'], c['name'], c['body'])
        for i, body in enumerate(p['tasks']):
            self.fn(1, f"t{i}", f"t{i}", body)
        w(1, "def cb(f):")
        w(2, "log(f'cb:{f.get_name()}:{outcome(f, False)}')")
        for i, j in sorted(p.get('cbcancel', {}).items()):
            w(2, f"if f is tasks[{i}]: log('cb:cancel{j}:' + str(tasks[{j}].cancel()))")
        w(1, "async def main():")
        w(2, "loop = asyncio.get_running_loop(); st['T0'] = loop.time(); st['F'] = loop.create_future()")
        for i in range(p['n']):
            w(2, f"tasks.append(asyncio.create_task(t{i}(), name='t{i}'))")
        for i in p['callbacks']:
            w(2, f"tasks[{i}].add_done_callback(cb)")
        for op in p['pre']:
            self.op(2, op, 'main')
        w(2, "pending = set(tasks)")
        w(2, f"tmo = {(p['maxslot'] + 2) * D_MS / 1000!r}")
        w(2, "for rnd in range(3):")
        w(3, "done, pending = await asyncio.wait(pending, timeout=tmo)")
        w(3, "tmo = 0.06")
        w(3, "if not pending: break")
        w(3, "for t in tasks:")
        w(4, "if t in pending: log(f'main:cancel:{t.get_name()}:{t.cancel()}')")
        w(2, "for t in tasks:")
        w(3, "log(f'main:{t.get_name()}:{outcome(t, False) if t.done() else \"PENDING\"}')")
        w(1, "try:")
        w(2, "asyncio.run(main())")
        w(1, "except BaseException as e:")
        w(2, "log('RUNERR:' + describe(e))")
        w(1, "return trace")
        return '\n'.join(self.lines) + '\n'

    def fn(self, ind, fname, name, body):
        w = self.w
        w(ind, f"async def {fname}():")
        w(ind + 1, "try:")
        self.block(ind + 2, body, name)
        w(ind + 2, f"log('{name}:end')")
        w(ind + 2, f"return 'r:{name}'")
        w(ind + 1, "except asyncio.CancelledError as e:")
        w(ind + 2, f"log('{name}:X:' + cmsg(e))")
        w(ind + 2, "raise")

    def block(self, ind, ops, me):
        if not ops:
            self.w(ind, "pass")
        for op in ops:
            self.op(ind, op, me)

    def catch(self, ind, tag, mode, me):
        w = self.w
        w(ind, "except asyncio.CancelledError as e:")
        w(ind + 1, f"log('{tag}:X:' + cmsg(e) + ':c' + str(asyncio.current_task().cancelling()))")
        if mode == 'reraise':
            w(ind + 1, "raise")
        elif mode == 'uncancel':
            w(ind + 1, "log(f'{tag}:u{asyncio.current_task().uncancel()}')".replace('{tag}', tag))
        w(ind, "except Exception as e:")
        w(ind + 1, f"log('{tag}:' + describe(e))")

    def op(self, ind, op, me):
        w = self.w
        k = op[0]
        tag = f"{me}:{self.uid()}"
        if k == 'log':
            w(ind, f"log('{tag}')")
        elif k == 'sleep0':
            w(ind, "await asyncio.sleep(0)")
        elif k == 'sleepslot':
            w(ind, f"await asyncio.sleep(max(0, st['T0'] + {op[1] * D_MS / 1000!r} - asyncio.get_running_loop().time()))")
            w(ind, f"log('{tag}:slept{op[1]}')")
        elif k == 'cancelling':
            w(ind, f"log('{tag}:cancelling' + str(asyncio.current_task().cancelling()))")
        elif k == 'locked':
            w(ind, f"log('{tag}:locked' + str(L.locked()))")
        elif k == 'callsoon':
            w(ind, f"asyncio.get_running_loop().call_soon(log, '{tag}:soon')")
        elif k == 'fset':
            w(ind, "if not st['F'].done():")
            w(ind + 1, f"st['F'].set_result({op[1]})")
            w(ind + 1, f"log('{tag}:fset{op[1]}')")
        elif k == 'fcancel':
            arg = '' if op[1] is None else repr(op[1])
            w(ind, f"log('{tag}:fcancel:' + str(st['F'].cancel({arg})))")
        elif k == 'fawait':
            w(ind, "try:")
            w(ind + 1, f"log('{tag}:fawait:' + describe(await st['F']))")
            self.catch(ind, tag, op[1], me)
        elif k == 'waitfor':
            j, s, mode = op[1], op[2], op[3]
            w(ind, "try:")
            w(ind + 1, f"log('{tag}:waitfor{j}:' + describe(await asyncio.wait_for(tasks[{j}], max(0, st['T0'] + {s * D_MS / 1000!r} - asyncio.get_running_loop().time()))))")
            self.catch(ind, tag, mode, me)
        elif k == 'ascompleted':
            js, mode = op[1], op[2]
            lst = ', '.join(f"tasks[{j}]" for j in js)
            w(ind, "try:")
            w(ind + 1, f"for fu in asyncio.as_completed([{lst}]):")
            w(ind + 2, f"log('{tag}:asc:' + describe(await fu))")
            self.catch(ind, tag, mode, me)
        elif k == 'uncancel':
            w(ind, f"log('{tag}:uncancel' + str(asyncio.current_task().uncancel()))")
        elif k == 'name':
            w(ind, f"log('{tag}:name=' + asyncio.current_task().get_name())")
        elif k == 'lock':
            w(ind, f"async with {op[1]}:")
            w(ind + 1, f"log('{tag}:in{op[1]}')")
            self.block(ind + 1, op[2], me)
        elif k == 'sem':
            w(ind, "async with S:")
            w(ind + 1, f"log('{tag}:inS')")
            self.block(ind + 1, op[1], me)
        elif k == 'semrel':
            w(ind, "try:")
            w(ind + 1, "S.release()")
            w(ind + 1, f"log('{tag}:rel')")
            w(ind, "except ValueError as e:")
            w(ind + 1, f"log('{tag}:' + describe(e))")
        elif k == 'cond':
            w(ind, "async with C:")
            w(ind + 1, f"log('{tag}:inC')")
            self.block(ind + 1, op[1], me)
        elif k == 'cwait':
            w(ind, "await C.wait()")
            w(ind, f"log('{tag}:woke')")
        elif k == 'cnotify':
            w(ind, f"C.notify({op[1]})")
        elif k == 'cnotifyall':
            w(ind, "C.notify_all()")
        elif k == 'eset':
            w(ind, "E.set()")
        elif k == 'eclear':
            w(ind, "E.clear()")
        elif k == 'ewait':
            w(ind, f"log('{tag}:ew' + describe(await E.wait()))")
        elif k == 'qput':
            w(ind, f"await Q.put({op[1]})")
            w(ind, f"log('{tag}:put{op[1]}')")
        elif k == 'qget':
            w(ind, f"log('{tag}:got' + str(await Q.get()))")
        elif k == 'qputnw':
            w(ind, "try:")
            w(ind + 1, f"Q.put_nowait({op[1]})")
            w(ind + 1, f"log('{tag}:putnw{op[1]}')")
            w(ind, "except asyncio.QueueFull as e:")
            w(ind + 1, f"log('{tag}:' + describe(e))")
        elif k == 'qgetnw':
            w(ind, "try:")
            w(ind + 1, f"log('{tag}:gotnw' + str(Q.get_nowait()))")
            w(ind, "except asyncio.QueueEmpty as e:")
            w(ind + 1, f"log('{tag}:' + describe(e))")
        elif k == 'qdone':
            w(ind, "try:")
            w(ind + 1, "Q.task_done()")
            w(ind + 1, f"log('{tag}:done')")
            w(ind, "except ValueError as e:")
            w(ind + 1, f"log('{tag}:' + describe(e))")
        elif k == 'qjoin':
            w(ind, "await Q.join()")
            w(ind, f"log('{tag}:joined')")
        elif k == 'qsize':
            w(ind, f"log('{tag}:qsize' + str(Q.qsize()))")
        elif k == 'bwait':
            w(ind, "try:")
            w(ind + 1, f"log('{tag}:b' + str(await B.wait()))")
            w(ind, "except asyncio.BrokenBarrierError as e:")
            w(ind + 1, f"log('{tag}:' + describe(e))")
        elif k == 'babort':
            w(ind, "await B.abort()")
            w(ind, f"log('{tag}:aborted')")
        elif k == 'cancel':
            j, msg = op[1], op[2]
            arg = '' if msg is None else repr(msg)
            w(ind, f"log('{tag}:cancel{j}:' + str(tasks[{j}].cancel({arg})))")
        elif k == 'cancelself':
            arg = '' if op[1] is None else repr(op[1])
            w(ind, f"log('{tag}:cancelself:' + str(asyncio.current_task().cancel({arg})))")
        elif k in ('await', 'shield'):
            j, mode = op[1], op[2]
            w(ind, "try:")
            x = f"tasks[{j}]" if k == 'await' else f"asyncio.shield(tasks[{j}])"
            w(ind + 1, f"log('{tag}:{k}{j}:' + describe(await {x}))")
            self.catch(ind, tag, mode, me)
        elif k == 'waitfirst':
            js, rw = op[1], op[2]
            lst = ', '.join(f"tasks[{j}]" for j in js)
            w(ind, f"dn, pn = await asyncio.wait([{lst}], return_when=asyncio.{rw})")
            w(ind, f"log('{tag}:wait:' + ','.join(sorted(t.get_name() for t in dn)) + '|' + ','.join(sorted(t.get_name() for t in pn)))")
        elif k == 'gather':
            kids, rexc, cancel_after, mode = op[1:]
            names = {c['fname']: c['name'] for c in self.p['children']}
            args = ', '.join(f"asyncio.create_task({f}(), name='{names[f]}')" for f in kids)
            gv = f"g{self.var()}"
            w(ind, f"{gv} = asyncio.gather({args}, return_exceptions={rexc})")
            if cancel_after is not None:
                for _ in range(cancel_after):
                    w(ind, "await asyncio.sleep(0)")
                w(ind, f"log('{tag}:gcancel:' + str({gv}.cancel()))")
            w(ind, "try:")
            w(ind + 1, f"log('{tag}:gathered:' + describe(await {gv}))")
            self.catch(ind, tag, mode, me)
        elif k == 'tg':
            kids, body = op[1], op[2]
            names = {c['fname']: c['name'] for c in self.p['children']}
            w(ind, "try:")
            w(ind + 1, "async with asyncio.TaskGroup() as tg:")
            for f in kids:
                w(ind + 2, f"tg.create_task({f}(), name='{names[f]}')")
            self.block(ind + 2, body, me)
            w(ind + 1, f"log('{tag}:tgok')")
            w(ind, "except ExceptionGroup as e:")
            w(ind + 1, f"log('{tag}:' + describe(e))")
        elif k == 'try':
            body, mode = op[1], op[2]
            w(ind, "try:")
            self.block(ind + 1, body, me)
            w(ind + 1, f"log('{tag}:tryok')")
            self.catch(ind, tag, mode, me)
        elif k == 'timeout':
            s, body = op[1], op[2]
            w(ind, "try:")
            w(ind + 1, f"async with asyncio.timeout_at(st['T0'] + {s * D_MS / 1000!r}):")
            self.block(ind + 2, body, me)
            w(ind + 1, f"log('{tag}:tmok')")
            w(ind, "except TimeoutError as e:")
            w(ind + 1, f"log('{tag}:' + describe(e))")
        elif k == 'spawn':
            names = {c['fname']: c['name'] for c in self.p['children']}
            f = op[1]
            w(ind, f"extras.append(asyncio.create_task({f}(), name='{names[f]}'))")
        elif k == 'raise':
            w(ind, f"raise ValueError('{op[1]}')")
        else:
            raise AssertionError(k)


PY_HEAD = r'''
import asyncio, json, sys

def cmsg(e):
    return str(e.args[0]) if e.args else ''

def describe(r):
    if isinstance(r, BaseExceptionGroup):
        return 'ExceptionGroup[' + ','.join(describe(x) for x in r.exceptions) + ']'
    if isinstance(r, asyncio.CancelledError):
        return 'CancelledError(' + cmsg(r) + ')'
    if isinstance(r, BaseException):
        m = cmsg(r)
        return type(r).__name__ + ('(' + m + ')' if m.startswith('u') and isinstance(r, ValueError) else '')
    if isinstance(r, (list, tuple)):
        return '[' + ','.join(describe(x) for x in r) + ']'
    if r is None:
        return 'None'
    return str(r)

def outcome(t, msg=True):
    # CPython 3.11 hands a cancelled task's stored CancelledError (with its message) to the first
    # result()/exception() only; later calls build a new one without message. weft keeps it.
    # So the message of a task's cancellation is logged only where the fuzzer awaits the task.
    if t.cancelled():
        return 'cancelled'
    e = t.exception()
    if e is not None:
        return 'exc:' + describe(e)
    return 'ok:' + describe(t.result())
'''


def emit_py(progs):
    out = [PY_HEAD]
    for pid, p in progs:
        out.append(PyEmit(p, pid).emit())
    out.append("if __name__ == '__main__':")
    out.append("    for pid, fn in [" + ', '.join(f"({pid!r}, prog_{pid})" for pid, _ in progs) + "]:")
    out.append("        print(json.dumps({'id': pid, 'trace': fn()}), flush=True)")
    return '\n'.join(out) + '\n'


# ====================================================================== TypeScript
def js(s):
    return json.dumps(s)


class TsEmit:
    def __init__(self, p, pid):
        self.p = p
        self.pid = pid
        self.lines = []
        self.k = 0
        self.vk = 0
        self.style = p['lockStyle']

    def w(self, ind, s):
        self.lines.append('  ' * ind + s)

    def uid(self):
        self.k += 1
        return self.k

    def var(self):
        self.vk += 1
        return self.vk

    def emit(self):
        p = self.p
        w = self.w
        w(0, f"async function prog_{self.pid}(): Promise<string[]> {{")
        w(1, "const trace: string[] = []; const log = (s: string) => { trace.push(s); };")
        w(1, "const tasks: any[] = []; const extras: any[] = []; const st: any = {};")
        if p['lock']:
            w(1, "const L = new A.Lock();")
        if p['lock2']:
            w(1, "const L2 = new A.Lock();")
        if p['sem']:
            w(1, f"const S = new A.{p['sem'][0]}({p['sem'][1]});")
        if p['cond']:
            w(1, "const C = new A.Condition();")
        if p['event']:
            w(1, "const E = new A.Event();")
        if p['queue'] is not None:
            w(1, f"const Q = new A.{p.get('qkind', 'Queue')}<number>({p['queue']});")
        if p['barrier']:
            w(1, f"const B = new A.Barrier({p['barrier']});")
        for c in used_children(p):
            self.fn(1, c['fname'], c['name'], c['body'])
        for i, body in enumerate(p['tasks']):
            self.fn(1, f"t{i}", f"t{i}", body)
        w(1, "const cb = (f: any) => {")
        w(2, "log(`cb:${f.getName()}:${outcome(f, false)}`);")
        for i, j in sorted(p.get('cbcancel', {}).items()):
            w(2, f"if (f === tasks[{i}]) log('cb:cancel{j}:' + py(tasks[{j}].cancel()));")
        w(1, "};")
        w(1, "async function main() {")
        w(2, "const loop = A.getRunningLoop(); st.T0 = loop.time(); st.F = loop.createFuture();")
        for i in range(p['n']):
            w(2, f"tasks.push(A.createTask(() => t{i}(), {{ name: 't{i}' }}));")
        for i in p['callbacks']:
            w(2, f"tasks[{i}].addDoneCallback(cb);")
        for op in p['pre']:
            self.op(2, op, 'main')
        w(2, "let pending: Set<any> = new Set(tasks);")
        w(2, f"let tmo = {(p['maxslot'] + 2) * D_MS};")
        w(2, "for (let rnd = 0; rnd < 3; rnd++) {")
        w(3, "const r = await A.wait(pending, { timeout: tmo }); pending = r.pending;")
        w(3, "tmo = 60;")
        w(3, "if (pending.size === 0) break;")
        w(3, "for (const t of tasks) if (pending.has(t)) log(`main:cancel:${t.getName()}:${py(t.cancel())}`);")
        w(2, "}")
        w(2, "for (const t of tasks) log(`main:${t.getName()}:${t.done() ? outcome(t, false) : 'PENDING'}`);")
        w(1, "}")
        w(1, "try {")
        w(2, "await A.run(main);")
        w(1, "} catch (e) {")
        w(2, "log('RUNERR:' + describe(e));")
        w(1, "}")
        w(1, "return trace;")
        w(0, "}")
        return '\n'.join(self.lines) + '\n'

    def fn(self, ind, fname, name, body):
        w = self.w
        w(ind, f"async function {fname}(): Promise<any> {{")
        w(ind + 1, "try {")
        self.block(ind + 2, body, name)
        w(ind + 2, f"log('{name}:end');")
        w(ind + 2, f"return 'r:{name}';")
        w(ind + 1, "} catch (e) {")
        w(ind + 2, f"if (e instanceof A.CancelledError) log('{name}:X:' + e.message);")
        w(ind + 2, "throw e;")
        w(ind + 1, "}")
        w(ind, "}")

    def block(self, ind, ops, me):
        for op in ops:
            self.op(ind, op, me)

    def catch(self, ind, tag, mode, me):
        w = self.w
        w(ind, "} catch (e) {")
        w(ind + 1, "if (e instanceof A.CancelledError) {")
        w(ind + 2, f"log('{tag}:X:' + e.message + ':c' + A.currentTask()!.cancelling());")
        if mode == 'reraise':
            w(ind + 2, "throw e;")
        elif mode == 'uncancel':
            w(ind + 2, f"log('{tag}:u' + A.currentTask()!.uncancel());")
        w(ind + 1, "} else {")
        w(ind + 2, f"log('{tag}:' + describe(e));")
        w(ind + 1, "}")
        w(ind, "}")

    def locked(self, ind, obj, tag, what, body, me):
        w = self.w
        if self.style == 'acquire':
            w(ind, f"await {obj}.acquire();")
            w(ind, "try {")
            w(ind + 1, f"log('{tag}:in{what}');")
            self.block(ind + 1, body, me)
            w(ind, "} finally {")
            w(ind + 1, f"{obj}.release();")
            w(ind, "}")
        elif self.style == 'run':
            w(ind, f"await {obj}.run(async () => {{")
            w(ind + 1, f"log('{tag}:in{what}');")
            self.block(ind + 1, body, me)
            w(ind, "});")
        else:
            w(ind, "{")
            w(ind + 1, f"using _h{self.var()} = await {obj}.hold();")
            w(ind + 1, f"log('{tag}:in{what}');")
            self.block(ind + 1, body, me)
            w(ind, "}")

    def op(self, ind, op, me):
        w = self.w
        k = op[0]
        tag = f"{me}:{self.uid()}"
        if k == 'log':
            w(ind, f"log('{tag}');")
        elif k == 'sleep0':
            w(ind, "await A.sleep(0);")
        elif k == 'sleepslot':
            w(ind, f"await A.sleep(Math.max(0, st.T0 + {op[1] * D_MS} - A.getRunningLoop().time()));")
            w(ind, f"log('{tag}:slept{op[1]}');")
        elif k == 'cancelling':
            w(ind, f"log('{tag}:cancelling' + A.currentTask()!.cancelling());")
        elif k == 'locked':
            w(ind, f"log('{tag}:locked' + py(L.locked()));")
        elif k == 'callsoon':
            w(ind, f"A.getRunningLoop().callSoon(log, '{tag}:soon');")
        elif k == 'fset':
            w(ind, "if (!st.F.done()) {")
            w(ind + 1, f"st.F.setResult({op[1]});")
            w(ind + 1, f"log('{tag}:fset{op[1]}');")
            w(ind, "}")
        elif k == 'fcancel':
            arg = '' if op[1] is None else js(op[1])
            w(ind, f"log('{tag}:fcancel:' + py(st.F.cancel({arg})));")
        elif k == 'fawait':
            w(ind, "try {")
            w(ind + 1, f"log('{tag}:fawait:' + describe(await st.F));")
            self.catch(ind, tag, op[1], me)
        elif k == 'waitfor':
            j, s, mode = op[1], op[2], op[3]
            w(ind, "try {")
            w(ind + 1, f"log('{tag}:waitfor{j}:' + describe(await A.waitFor(tasks[{j}], Math.max(0, st.T0 + {s * D_MS} - A.getRunningLoop().time()))));")
            self.catch(ind, tag, mode, me)
        elif k == 'ascompleted':
            js_, mode = op[1], op[2]
            lst = ', '.join(f"tasks[{j}]" for j in js_)
            w(ind, "try {")
            w(ind + 1, f"for (const fu of A.asCompleted([{lst}])) {{")
            w(ind + 2, f"log('{tag}:asc:' + describe(await fu));")
            w(ind + 1, "}")
            self.catch(ind, tag, mode, me)
        elif k == 'uncancel':
            w(ind, f"log('{tag}:uncancel' + A.currentTask()!.uncancel());")
        elif k == 'name':
            w(ind, f"log('{tag}:name=' + A.currentTask()!.getName());")
        elif k == 'lock':
            self.locked(ind, op[1], tag, op[1], op[2], me)
        elif k == 'sem':
            self.locked(ind, 'S', tag, 'S', op[1], me)
        elif k == 'semrel':
            w(ind, "try {")
            w(ind + 1, "S.release();")
            w(ind + 1, f"log('{tag}:rel');")
            w(ind, "} catch (e) {")
            w(ind + 1, f"log('{tag}:' + describe(e));")
            w(ind, "}")
        elif k == 'cond':
            self.locked(ind, 'C', tag, 'C', op[1], me)
        elif k == 'cwait':
            w(ind, "await C.wait();")
            w(ind, f"log('{tag}:woke');")
        elif k == 'cnotify':
            w(ind, f"C.notify({op[1]});")
        elif k == 'cnotifyall':
            w(ind, "C.notifyAll();")
        elif k == 'eset':
            w(ind, "E.set();")
        elif k == 'eclear':
            w(ind, "E.clear();")
        elif k == 'ewait':
            w(ind, f"log('{tag}:ew' + describe(await E.wait()));")
        elif k == 'qput':
            w(ind, f"await Q.put({op[1]});")
            w(ind, f"log('{tag}:put{op[1]}');")
        elif k == 'qget':
            w(ind, f"log('{tag}:got' + (await Q.get()));")
        elif k == 'qputnw':
            w(ind, "try {")
            w(ind + 1, f"Q.putNowait({op[1]});")
            w(ind + 1, f"log('{tag}:putnw{op[1]}');")
            w(ind, "} catch (e) {")
            w(ind + 1, "if (!(e instanceof A.QueueFull)) throw e;")
            w(ind + 1, f"log('{tag}:' + describe(e));")
            w(ind, "}")
        elif k == 'qgetnw':
            w(ind, "try {")
            w(ind + 1, f"log('{tag}:gotnw' + Q.getNowait());")
            w(ind, "} catch (e) {")
            w(ind + 1, "if (!(e instanceof A.QueueEmpty)) throw e;")
            w(ind + 1, f"log('{tag}:' + describe(e));")
            w(ind, "}")
        elif k == 'qdone':
            w(ind, "try {")
            w(ind + 1, "Q.taskDone();")
            w(ind + 1, f"log('{tag}:done');")
            w(ind, "} catch (e) {")
            w(ind + 1, "if (!(e instanceof RangeError)) throw e;")
            w(ind + 1, f"log('{tag}:' + describe(e));")
            w(ind, "}")
        elif k == 'qjoin':
            w(ind, "await Q.join();")
            w(ind, f"log('{tag}:joined');")
        elif k == 'qsize':
            w(ind, f"log('{tag}:qsize' + Q.qsize());")
        elif k == 'bwait':
            w(ind, "try {")
            w(ind + 1, f"log('{tag}:b' + (await B.wait()));")
            w(ind, "} catch (e) {")
            w(ind + 1, "if (!(e instanceof A.BrokenBarrierError)) throw e;")
            w(ind + 1, f"log('{tag}:' + describe(e));")
            w(ind, "}")
        elif k == 'babort':
            w(ind, "await B.abort();")
            w(ind, f"log('{tag}:aborted');")
        elif k == 'cancel':
            j, msg = op[1], op[2]
            arg = '' if msg is None else js(msg)
            w(ind, f"log('{tag}:cancel{j}:' + py(tasks[{j}].cancel({arg})));")
        elif k == 'cancelself':
            arg = '' if op[1] is None else js(op[1])
            w(ind, f"log('{tag}:cancelself:' + py(A.currentTask()!.cancel({arg})));")
        elif k in ('await', 'shield'):
            j, mode = op[1], op[2]
            w(ind, "try {")
            x = f"tasks[{j}]" if k == 'await' else f"A.shield(tasks[{j}])"
            w(ind + 1, f"log('{tag}:{k}{j}:' + describe(await {x}));")
            self.catch(ind, tag, mode, me)
        elif k == 'waitfirst':
            js_, rw = op[1], op[2]
            lst = ', '.join(f"tasks[{j}]" for j in js_)
            v = f"w{self.var()}"
            w(ind, f"const {v} = await A.wait([{lst}], {{ returnWhen: A.{rw} }});")
            w(ind, f"log('{tag}:wait:' + names({v}.done) + '|' + names({v}.pending));")
        elif k == 'gather':
            kids, rexc, cancel_after, mode = op[1:]
            names = {c['fname']: c['name'] for c in self.p['children']}
            args = ', '.join(f"A.createTask(() => {f}(), {{ name: '{names[f]}' }})" for f in kids)
            gv = f"g{self.var()}"
            w(ind, f"const {gv} = A.gather({args}, {{ returnExceptions: {'true' if rexc else 'false'} }});")
            if cancel_after is not None:
                for _ in range(cancel_after):
                    w(ind, "await A.sleep(0);")
                w(ind, f"log('{tag}:gcancel:' + py({gv}.cancel()));")
            w(ind, "try {")
            w(ind + 1, f"log('{tag}:gathered:' + describe(await {gv}));")
            self.catch(ind, tag, mode, me)
        elif k == 'tg':
            kids, body = op[1], op[2]
            names = {c['fname']: c['name'] for c in self.p['children']}
            w(ind, "try {")
            w(ind + 1, "await A.TaskGroup.run(async (tg) => {")
            for f in kids:
                w(ind + 2, f"tg.createTask(() => {f}(), {{ name: '{names[f]}' }});")
            self.block(ind + 2, body, me)
            w(ind + 1, "});")
            w(ind + 1, f"log('{tag}:tgok');")
            w(ind, "} catch (e) {")
            w(ind + 1, "if (!(e instanceof A.ExceptionGroup)) throw e;")
            w(ind + 1, f"log('{tag}:' + describe(e));")
            w(ind, "}")
        elif k == 'try':
            body, mode = op[1], op[2]
            w(ind, "try {")
            self.block(ind + 1, body, me)
            w(ind + 1, f"log('{tag}:tryok');")
            self.catch(ind, tag, mode, me)
        elif k == 'timeout':
            s, body = op[1], op[2]
            # weft raises the TimeoutError at the await, inside any inner scope: as docs/asyncio.md
            # shows, a scope's own expiry is told by expired(); another scope's error goes on.
            v = f"_t{self.var()}"
            w(ind, f"const {v} = A.timeoutAt(st.T0 + {s * D_MS});")
            w(ind, "try {")
            w(ind + 1, "{")
            w(ind + 2, f"await using _u{v} = {v};")
            self.block(ind + 2, body, me)
            w(ind + 1, "}")
            w(ind + 1, f"log('{tag}:tmok');")
            w(ind, "} catch (e) {")
            w(ind + 1, f"if (!(e instanceof A.TimeoutError) || !{v}.expired()) throw e;")
            w(ind + 1, f"log('{tag}:' + describe(e));")
            w(ind, "}")
        elif k == 'spawn':
            names = {c['fname']: c['name'] for c in self.p['children']}
            f = op[1]
            w(ind, f"extras.push(A.createTask(() => {f}(), {{ name: '{names[f]}' }}));")
        elif k == 'raise':
            w(ind, f"throw new ValueError('{op[1]}');")
        else:
            raise AssertionError(k)


TS_HEAD = r'''
// @ts-nocheck
import * as A from '@ROOT@/src/asyncio/index.ts';
class ValueError extends Error { override name = 'ValueError'; }
function py(b: boolean): string { return b ? 'True' : 'False'; }
function describe(r: any): string {
  if (r instanceof A.ExceptionGroup) return `ExceptionGroup[${r.exceptions.map(describe).join(',')}]`;
  if (r instanceof A.CancelledError) return `CancelledError(${r.message})`;
  // `using` wraps an error of the disposal (a release that raised) with the body's error in a
  // SuppressedError; Python's `async with` raises the __aexit__'s error, the body's as its context.
  if (r instanceof Error && r.name === 'SuppressedError' && 'error' in r) return describe(r.error);
  if (r instanceof Error) {
    const n = r instanceof RangeError ? 'ValueError' : r.name;
    return n + (r instanceof ValueError && r.message.startsWith('u') ? `(${r.message})` : '');
  }
  if (Array.isArray(r)) return `[${r.map(describe).join(',')}]`;
  if (r === undefined || r === null) return 'None';
  if (r === true) return 'True';
  if (r === false) return 'False';
  return String(r);
}
function names(s: Set<any>): string { return [...s].map((t) => t.getName()).sort().join(','); }
function outcome(t: any, msg = true): string {
  if (t.cancelled()) return 'cancelled';
  const e = t.exception();
  if (e !== null && e !== undefined) return 'exc:' + describe(e);
  return 'ok:' + describe(t.result());
}
'''


# The repository's root (two levels above this file): the generated TypeScript imports its src/.
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def emit_ts(progs):
    out = [TS_HEAD.replace('@ROOT@', ROOT)]
    for pid, p in progs:
        out.append(TsEmit(p, pid).emit())
    out.append("for (const [pid, fn] of [" + ', '.join(f"[{js(pid)}, prog_{pid}]" for pid, _ in progs) + "] as const) {")
    out.append("  console.log(JSON.stringify({ id: pid, trace: await fn() }));")
    out.append("}")
    return '\n'.join(out) + '\n'

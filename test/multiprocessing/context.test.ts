/**
 * multiprocessing's start methods and contexts (Python's get_context, set_start_method,
 * get_start_method, get_all_start_methods): weft has 'spawn' alone, and the rules of Python's
 * DefaultContext for when the method is fixed.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as mp from '../../src/multiprocessing/index.js';
import {
  getAllStartMethods,
  getContext,
  getStartMethod,
  type Process,
  type Queue,
  RuntimeError,
  SpawnContext,
  setStartMethod,
} from '../../src/multiprocessing/index.js';
import { checkLeaks } from '../support/leaks.js';
import { startMethodHere } from './fixtures/raw-shared-targets.js';

checkLeaks({ graceMs: 3000 });

const PATIENCE = 30_000;

const alreadySet = (e: unknown) =>
  e instanceof RuntimeError &&
  (e as RuntimeError).code === 'ERR_WEFT_CONTEXT_SET' &&
  /^context has already been set/.test((e as Error).message);

/** A RangeError (Python's ValueError) with `code` whose message matches `re`. */
const valueError = (code: string, re: RegExp) => (e: unknown) =>
  e instanceof RangeError &&
  (e as { code?: string }).code === code &&
  re.test((e as Error).message);

test('the context is unset until a call fixes it; setStartMethod twice without force is a RuntimeError', () => {
  // A fresh root process (each test file runs in its own).
  assert.equal(getStartMethod({ allowNone: true }), null);
  assert.deepEqual(getAllStartMethods(), ['spawn']);
  assert.equal(getStartMethod({ allowNone: true }), null, 'getAllStartMethods fixes nothing');
  setStartMethod('spawn');
  assert.equal(getStartMethod({ allowNone: true }), 'spawn');
  assert.throws(() => setStartMethod('spawn'), alreadySet);
  setStartMethod('spawn', { force: true });
  // With force, null unsets it, as Python's set_start_method(None, force=True).
  setStartMethod(null, { force: true });
  assert.equal(getStartMethod({ allowNone: true }), null);
  // getStartMethod() and getContext() with no method fix it, as Python's.
  assert.equal(getStartMethod(), 'spawn');
  assert.throws(() => setStartMethod('spawn'), alreadySet);
  setStartMethod(null, { force: true });
  assert.ok(getContext() instanceof SpawnContext);
  assert.throws(() => setStartMethod('spawn'), alreadySet);
  // A method's context does not fix it; null without force sets the default one.
  setStartMethod(null, { force: true });
  getContext('spawn');
  assert.equal(getStartMethod({ allowNone: true }), null);
  setStartMethod(null);
  assert.equal(getStartMethod({ allowNone: true }), 'spawn');
  setStartMethod(null, { force: true });
});

test("'fork' and 'forkserver' are a ValueError that says why and what to use; a failed set changes nothing", () => {
  for (const call of [
    // @ts-expect-error weft has no 'fork' start method: the types say so too
    () => getContext('fork'),
    () => setStartMethod('fork' as never),
  ])
    assert.throws(
      call,
      valueError(
        'ERR_WEFT_START_METHOD',
        /^cannot find context for 'fork': weft cannot fork: every child is a fresh Node process.*use 'spawn'/,
      ),
    );
  assert.throws(
    () => getContext('forkserver' as never),
    valueError('ERR_WEFT_START_METHOD', /'forkserver': weft has no fork server.*use 'spawn'/),
  );
  assert.throws(
    () => getContext('bogus' as never),
    valueError('ERR_WEFT_START_METHOD', /^cannot find context for 'bogus'/),
  );
  assert.throws(() => getContext(5 as never), TypeError);
  assert.throws(() => setStartMethod('spawn', null as never), TypeError);
  assert.equal(getStartMethod({ allowNone: true }), null);
  assert.throws(() => setStartMethod('fork' as never, { force: true }), RangeError);
  assert.equal(getStartMethod({ allowNone: true }), null, 'left unset');
});

test('a context has the module’s API, makes what the module makes, and refuses setStartMethod', async () => {
  const ctx = getContext('spawn');
  assert.equal(ctx, getContext('spawn'), 'one context');
  assert.equal(ctx.getContext(), ctx);
  assert.equal(ctx.getContext('spawn'), ctx);
  assert.equal(ctx.getStartMethod(), 'spawn');
  assert.equal(String(ctx), 'SpawnContext');
  assert.throws(
    () => ctx.setStartMethod('spawn'),
    valueError('ERR_WEFT_CONCRETE_CONTEXT', /cannot set start method of concrete context/),
  );
  const api = mp as unknown as Record<string, unknown>;
  const names = Object.keys(ctx);
  assert.ok(names.length >= 25, names.join());
  for (const name of names)
    assert.equal((ctx as unknown as Record<string, unknown>)[name], api[name], name);
  for (const name of [
    'Process',
    'Queue',
    'Pool',
    'Manager',
    'Value',
    'Array',
    'RawValue',
    'RawArray',
    'Lock',
    'Pipe',
  ])
    assert.ok(names.includes(name), name);
  // Typed as the module's own: this compiles with the module's types.
  const q: Queue<string> = new ctx.Queue<string>();
  const v = ctx.Value('i', 1);
  assert.equal(await v.add(1), 2);
  q.putNowait('x');
  assert.equal(await q.get({ timeout: PATIENCE }), 'x');
});

test('a child starts with the context set to its parent’s method, as Python’s spawned child', async () => {
  const ctx = getContext('spawn');
  const out = new ctx.Queue<string>();
  const p: Process = new ctx.Process({ target: startMethodHere, args: [out] });
  p.start();
  try {
    assert.equal(await out.get({ timeout: PATIENCE }), 'spawn RuntimeError spawn');
  } finally {
    await p.join({ timeout: PATIENCE });
  }
  assert.equal(p.exitcode, 0);
});

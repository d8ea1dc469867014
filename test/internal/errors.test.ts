import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  BrokenBarrierError,
  CancelledError,
  DeadlockError,
  ExceptionGroup,
  InvalidStateError,
  TimeoutError,
  WeftError,
} from '../../src/internal/errors.js';

describe('errors', () => {
  test('keep Python names, stable codes and the class chain', () => {
    const e = new CancelledError('stop');
    assert.equal(e.name, 'CancelledError');
    assert.equal(e.code, 'ERR_WEFT_CANCELLED');
    assert.equal(e.message, 'stop');
    assert.ok(e instanceof CancelledError && e instanceof WeftError && e instanceof Error);
    assert.equal(e instanceof TimeoutError, false);
    assert.equal(new TimeoutError().code, 'ERR_WEFT_TIMEOUT');
    assert.equal(new InvalidStateError('x').name, 'InvalidStateError');
    assert.equal(new BrokenBarrierError().code, 'ERR_WEFT_BROKEN_BARRIER');
    const d = new DeadlockError('d', [{ waiter: 'a', resource: 'L', holder: 'b' }]);
    assert.equal(d.cycle.length, 1);
  });

  test('instanceof survives a second copy of the module', async () => {
    const copy = (await import(
      `../../src/internal/errors.ts?copy=${Date.now()}`
    )) as typeof import('../../src/internal/errors.js');
    assert.notEqual(copy.CancelledError, CancelledError, 'really a second copy');
    const foreign = new copy.CancelledError('from the other copy');
    assert.ok(foreign instanceof CancelledError);
    assert.ok(foreign instanceof WeftError);
    assert.equal(foreign instanceof TimeoutError, false);
    assert.ok(new CancelledError() instanceof copy.CancelledError);
    assert.ok(new copy.ExceptionGroup('g', []) instanceof ExceptionGroup);
  });

  test('ExceptionGroup is an AggregateError with exceptions', () => {
    const g = new ExceptionGroup('two failed', [new Error('a'), new RangeError('b')]);
    assert.ok(g instanceof AggregateError);
    assert.equal(g.name, 'ExceptionGroup');
    assert.equal(g.exceptions.length, 2);
    assert.equal(g.exceptions, g.errors);
  });

  test('modules share one RuntimeError, and multiprocessing raises queue.Empty/Full', async () => {
    const internal = await import('../../src/internal/errors.js');
    const asyncio = await import('../../src/asyncio/errors.js');
    const threading = await import('../../src/threading/errors.js');
    const futures = await import('../../src/futures/errors.js');
    const mp = await import('../../src/multiprocessing/errors.js');
    const queue = await import('../../src/queue/errors.js');
    for (const m of [asyncio, threading, futures, mp])
      assert.equal(m.RuntimeError, internal.RuntimeError);
    assert.equal(mp.Empty, queue.Empty);
    assert.equal(mp.Full, queue.Full);
  });
});

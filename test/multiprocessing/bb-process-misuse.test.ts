/**
 * Process misuse against CPython 3.11 (helper-103's bug-bash): `terminate()` and `kill()` of a
 * process never started raise there (AttributeError from its missing Popen), and `join()` takes
 * `timeout=None`; weft's answered nothing and read `null.timeout`.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Process } from '../../src/multiprocessing/index.js';
import { checkLeaks } from '../support/leaks.js';
import { exitWith } from './fixtures/targets.js';

checkLeaks({ graceMs: 3000 });

describe('Process misuse (helper-103)', () => {
  test('terminate and kill before start are RuntimeErrors; the process still starts', async () => {
    const p = new Process({ target: exitWith, args: [0] });
    assert.throws(() => p.terminate(), {
      name: 'RuntimeError',
      code: 'ERR_WEFT_PROCESS_NOT_STARTED',
      message: /Cannot terminate a process that was not started/,
    });
    assert.throws(() => p.kill(), {
      name: 'RuntimeError',
      code: 'ERR_WEFT_PROCESS_NOT_STARTED',
      message: /Cannot kill a process that was not started/,
    });
    assert.equal(p.exitcode, null);
    p.start();
    // join(null) is Python's join(timeout=None): it waits for the end.
    await p.join(null);
    assert.equal(p.exitcode, 0);
    // Once it has ended, a signal is nothing, as in Python.
    p.terminate();
    p.kill();
    assert.equal(p.exitcode, 0);
    await assert.rejects(p.join(5 as never), {
      name: 'TypeError',
      message: /Process\.join: options must be an object: received 5/,
    });
    await assert.rejects(p.join({ signal: {} as AbortSignal }), {
      name: 'TypeError',
      message: /Process\.join: signal must be an AbortSignal/,
    });
    // A negative timeout has run out already (Python's join(-1) returns at once).
    await p.join({ timeout: -1 });
  });
});

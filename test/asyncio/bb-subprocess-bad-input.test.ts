/**
 * Bad options of createSubprocessExec/createSubprocessShell named as the other options are: a
 * null byte in `cwd` (was Node's spawn's TypeError about 'options.cwd', where every other null
 * byte is weft's RangeError; Python: ValueError 'embedded null byte'), and a bad `limit` (was
 * the StreamReader's message, naming neither the function nor the option, and showing the
 * string '5' as 5; Python 3.11.7 logs ValueError 'Limit cannot be <= 0' from a loop callback
 * once it makes a pipe's reader, the child started).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createSubprocessExec, createSubprocessShell, run } from '../../src/asyncio/index.js';
import { _allowNativeSpawn } from '../../src/asyncio/subprocess.js';
import { checkLeaks } from '../support/leaks.js';

checkLeaks({ graceMs: 3000 });

function rejectsWith(cls: ErrorConstructor, message: RegExp) {
  return (e: Error) => {
    assert.ok(e instanceof cls, `${e?.constructor?.name}: ${e?.message}`);
    assert.match(e.message, message);
    return true;
  };
}

for (const native of [true, false]) {
  describe(`subprocess options refused, naming the option (${native ? 'spawn addon where built' : "Node's spawn"})`, () => {
    test('a null byte in cwd is a RangeError naming cwd, for both functions', async () => {
      const was = _allowNativeSpawn(native);
      try {
        await run(async () => {
          await assert.rejects(
            createSubprocessExec('true', { cwd: '/tmp\0x' }),
            rejectsWith(RangeError, /^createSubprocessExec: option cwd contains a null byte$/),
          );
          await assert.rejects(
            createSubprocessShell('true', { cwd: '\0' }),
            rejectsWith(RangeError, /^createSubprocessShell: option cwd contains a null byte$/),
          );
          // Review r18: a file: URL with %00 got Node's TypeError about 'options.cwd'.
          await assert.rejects(
            createSubprocessExec('true', { cwd: new URL('file:///tmp/a%00b') }),
            rejectsWith(RangeError, /^createSubprocessExec: option cwd contains a null byte$/),
          );
        });
      } finally {
        _allowNativeSpawn(was);
      }
    });

    test('limit: not an integer is a TypeError, below 1 a RangeError, each naming the function and limit', async () => {
      const was = _allowNativeSpawn(native);
      try {
        await run(async () => {
          for (const bad of ['5', 1.5, Number.NaN, Number.POSITIVE_INFINITY, 10n, {}]) {
            await assert.rejects(
              createSubprocessExec('true', { limit: bad as never }),
              rejectsWith(TypeError, /^createSubprocessExec: option limit must be an integer/),
            );
          }
          await assert.rejects(
            createSubprocessExec('true', { limit: '5' as never }),
            rejectsWith(TypeError, /received "5"$/),
          );
          for (const bad of [0, -1, -65536]) {
            await assert.rejects(
              createSubprocessShell('true', { limit: bad }),
              rejectsWith(
                RangeError,
                /^createSubprocessShell: option limit must be at least 1 byte/,
              ),
            );
          }
          // null and absent are the default limit; 1 is the smallest.
          for (const limit of [null as never, undefined, 1]) {
            const p = await createSubprocessExec('true', { limit });
            assert.equal(await p.wait(), 0);
          }
        });
      } finally {
        _allowNativeSpawn(was);
      }
    });
  });
}

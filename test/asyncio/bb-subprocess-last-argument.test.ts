/**
 * createSubprocessExec takes its options from a last argument that is a plain object only: a
 * Date, a Buffer or a class instance last was taken for the options (its fields read as options,
 * the program run without that argument, silently). Now it is an argument, refused as every
 * argument that is not a string is (Python: TypeError for create_subprocess_exec('echo', 1)).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createSubprocessExec, PIPE, run } from '../../src/asyncio/index.js';
import { checkLeaks } from '../support/leaks.js';

checkLeaks({ graceMs: 3000 });

test('a last argument that is not a plain object is an argument, and a TypeError when not a string', async () => {
  await run(async () => {
    class Opts {
      stdout = PIPE;
    }
    for (const [last, shown] of [
      [new Date(0), /Date/],
      [Buffer.from('x'), /Buffer|Uint8Array/],
      [new Opts(), /Opts/],
      [new Map(), /Map/],
    ] as const) {
      await assert.rejects(
        createSubprocessExec('echo', 'a', last as never),
        (e: Error) =>
          e instanceof TypeError &&
          /^createSubprocessExec: args\[1\] must be a string: received /.test(e.message) &&
          shown.test(e.message),
      );
    }
  });
});

test('a plain object last, also one without a prototype, is the options', async () => {
  await run(async () => {
    for (const options of [
      { stdout: PIPE },
      Object.assign(Object.create(null), { stdout: PIPE }),
    ]) {
      const p = await createSubprocessExec('echo', 'hi', options);
      const [out] = await p.communicate();
      assert.equal(out?.toString(), 'hi\n');
      assert.equal(await p.wait(), 0);
    }
  });
});

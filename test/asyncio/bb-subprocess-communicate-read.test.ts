/**
 * communicate() and a read of the same pipe by another task: asyncio has one reading task per
 * stream, so whichever comes second raises RuntimeError. Checked with python3 3.11.7:
 *   read() waiting, then communicate()  → communicate raises RuntimeError('read() called while
 *     another coroutine is already waiting for incoming data'), the read gets everything;
 *   communicate() waiting, then readline() → the readline raises RuntimeError, communicate gets
 *     everything.
 * weft used to let both run: the read took part of the output and communicate() returned the
 * rest as if it were all (an empty stdout, with no error).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import {
  createSubprocessExec,
  createSubprocessShell,
  PIPE,
  type Process,
  run,
  TimeoutError,
} from '../../src/asyncio/index.js';
import { _allowNativeSpawn } from '../../src/asyncio/subprocess.js';
import { checkLeaks } from '../support/leaks.js';

checkLeaks({ graceMs: 3000 });

const dir = mkdtempSync(join(tmpdir(), 'weft-bb-communicate-'));
/** The gated children: a failed test never opens its gate, and its child would poll for ever. */
const children: Process[] = [];
after(() => {
  for (const p of children) if (p.returncode === null) p.kill();
  rmSync(dir, { recursive: true, force: true });
});
let gates = 0;

/** A child that writes `a`, waits until the returned gate file exists, then writes `b`. */
async function gated(): Promise<{ p: Process; open: () => void }> {
  const gate = join(dir, `gate-${gates++}`);
  const p = await createSubprocessShell(
    `echo a; while [ ! -e "$GATE" ]; do sleep 0.01; done; echo b`,
    { stdout: PIPE, env: { ...process.env, GATE: gate } as Record<string, string> },
  );
  children.push(p);
  return { p, open: () => writeFileSync(gate, '') };
}

const busy = { name: 'RuntimeError', code: 'ERR_WEFT_READ_BUSY' };

for (const native of [true, false]) {
  describe(`communicate() is the pipes' one reading task (${native ? 'spawn addon where built' : "Node's spawn"})`, () => {
    const was = { on: true };
    test('set up the spawn path', () => {
      was.on = _allowNativeSpawn(native);
    });

    test('communicate() while a read() of stdout waits: RuntimeError, before input is written; the read gets it all', async () => {
      await run(async () => {
        const p = await createSubprocessExec('sh', '-c', 'echo a; read x; echo "b $x"', {
          stdin: PIPE,
          stdout: PIPE,
        });
        const reading = p.stdout?.read() as Promise<Buffer>;
        await assert.rejects(p.communicate('never\n'), (e: Error & { code?: string }) => {
          assert.equal(e.name, 'RuntimeError');
          assert.equal(e.code, 'ERR_WEFT_READ_BUSY');
          assert.match(e.message, /stdout/);
          return true;
        });
        assert.equal(p.stdin?.isClosing(), false, 'stdin neither written nor closed');
        p.stdin?.write('x\n');
        p.stdin?.close();
        assert.equal((await reading).toString(), 'a\nb x\n');
        assert.equal(await p.wait(), 0);
        assert.deepEqual(await p.communicate(), [Buffer.alloc(0), null]);
      });
    });

    test('a read, readline, readexactly or line iteration while communicate() waits: RuntimeError; communicate() gets it all', async () => {
      await run(async () => {
        const { p, open } = await gated();
        const out = p.stdout;
        assert.ok(out !== null);
        const all = p.communicate();
        // Each with a timeout: where the read is let through it waits for the gate, which
        // opens only below (a TimeoutError then, not the RuntimeError, fails the test).
        const t = { timeout: 5000 };
        await assert.rejects(out.read(-1, t), busy);
        await assert.rejects(out.read(1, t), busy);
        // Review r18: read(0) takes nothing and never waits; asyncio returns b'' here too.
        assert.deepEqual(await out.read(0), Buffer.alloc(0));
        await assert.rejects(out.readline(t), busy);
        await assert.rejects(out.readexactly(2, t), busy);
        await assert.rejects(out.readuntil('b', t), busy);
        const iterating = (async () => {
          for await (const line of out) assert.fail(`no line may come out: ${line}`);
        })();
        open();
        await assert.rejects(iterating, busy);
        assert.deepEqual(await all, [Buffer.from('a\nb\n'), null]);
        assert.equal(p.returncode, 0);
      });
    });

    test('after a timed-out communicate() the reads work again, with nothing lost', async () => {
      await run(async () => {
        const { p, open } = await gated();
        await assert.rejects(p.communicate(null, { timeout: 30 }), TimeoutError);
        assert.equal(p.returncode, null, 'the gate is shut: the child still runs');
        assert.equal((await p.stdout?.readline())?.toString(), 'a\n', 'the hold ended');
        open();
        assert.equal((await p.stdout?.read())?.toString(), 'b\n');
        assert.equal(await p.wait(), 0);
      });
    });

    test('restore the spawn path', () => {
      _allowNativeSpawn(was.on);
    });
  });
}

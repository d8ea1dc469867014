/**
 * The exit's order. Python's (util._exit_function) first terminates the daemon children, then
 * waits for the non-daemon ones. Checked with 3.11.2 (`fork` and `spawn`) and 3.13 (`spawn`), the
 * same program (fixtures/exit-order-main.ts): a daemon child that logs 'term' on SIGTERM, a
 * non-daemon child that logs 'n-end' a second after its parent's end; Python's log is
 * `d-ready parent-end term n-end` whether the main thread, another thread or a child process
 * started them.
 *
 * weft keeps Python's order where the end is certain: a child process whose run() returns. In the
 * root's main thread the only sign of the end is the event loop running dry, which a program
 * waiting on a signal shows too: there the non-daemon children hold the loop, and the daemon ones
 * are terminated at 'exit', after them (documented in docs/multiprocessing.md). An attempt to
 * take the first dry moment for the end killed the daemon children of a program that was only
 * awaiting SIGINT: the `signal-wait` case checks that a daemon child still runs when it comes.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runScript, type ScriptRun } from '../support/run-script.js';

const script = fileURLToPath(new URL('./fixtures/exit-order-main.ts', import.meta.url));
/** Each program is killed after this: a hang fails its test, not the file. */
const PER_RUN_MS = 50_000;

const dir = mkdtempSync(join(tmpdir(), 'weft-exit-order-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/**
 * The programs run side by side (each boots weft in several processes: slow when loaded). The
 * `main` program runs the `in-child` case too (its second log: see the fixture).
 */
function start(where: string, also?: string): Promise<ScriptRun & { logs: string[][] }> {
  const paths = [where, ...(also === undefined ? [] : [also])].map((w) => join(dir, `${w}.log`));
  // Made before the program starts: its processes read it from their start.
  for (const path of paths) writeFileSync(path, '');
  const run = runScript(script, [paths[0] as string, where, ...paths.slice(1)], PER_RUN_MS).then(
    (r) => ({
      ...r,
      logs: paths.map((path) => readFileSync(path, 'utf8').split('\n').filter(Boolean)),
    }),
  );
  run.catch(() => {});
  return run;
}
const main = start('main', 'in-child');
const runs = new Map([
  ['main', { run: main, log: 0 }],
  ['in-child', { run: main, log: 1 }],
  ['thread', { run: start('thread'), log: 0 }],
  ['signal-wait', { run: start('signal-wait'), log: 0 }],
]);

async function logOf(where: string): Promise<string[]> {
  const { run, log } = runs.get(where) as { run: ReturnType<typeof start>; log: number };
  const r = await run;
  assert.equal(r.status, 0, `stderr: ${r.stderr}`);
  assert.equal(r.stderr, '');
  return r.logs[log] as string[];
}

test("a child process's exit terminates the daemon children before it waits for the non-daemon ones, as Python's", async () => {
  assert.deepEqual(await logOf('in-child'), ['d-ready', 'parent-end', 'term', 'n-end']);
});

for (const [where, what] of [
  ['main', 'the main thread'],
  ['thread', 'a Thread that has ended'],
] as const) {
  test(`the root's exit waits for the non-daemon children, then terminates the daemon ones (${what}; weft's documented order)`, async () => {
    assert.deepEqual(await logOf(where), ['d-ready', 'parent-end', 'n-end', 'term']);
  });
}

test('a daemon child still runs while the main thread awaits a signal with a non-daemon child alive', async () => {
  assert.deepEqual(await logOf('signal-wait'), [
    'd-ready',
    'waiting',
    'sigint d-alive=true',
    'n-end',
    'term',
  ]);
});

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { describe, test } from 'node:test';
import { openConnection } from '../../src/streams/index.js';
import { checkLeaks } from '../support/leaks.js';
import { TS_IMPORT } from '../support/ts.js';

checkLeaks();

const fixture = new URL('./fixtures/worker-server.ts', import.meta.url).pathname;
const heldFixture = new URL('./fixtures/worker-held.ts', import.meta.url).pathname;

/**
 * Starts a fixture's primary and waits for its first line (the port). `out()` is all it printed
 * so far; `exited` its exit code. The caller kills it in a `finally`.
 */
async function startPrimary(path: string) {
  const child = spawn(process.execPath, ['--import', TS_IMPORT, path], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  let text = '';
  child.stdout.on('data', (d) => (text += d));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  while (!text.includes('\n')) {
    if (child.exitCode !== null) {
      child.kill('SIGKILL');
      assert.fail(`fixture exited early: ${text}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  return { child, out: () => text, exited };
}

describe('startServer with workers', () => {
  test('two worker processes share one port, both serve, and close ends them', async () => {
    const { child, out, exited } = await startPrimary(fixture);
    try {
      const [port, workers] = out().trim().split(' ').map(Number) as [number, number];
      assert.equal(workers, 2);
      const pids = new Set<string>();
      for (let i = 0; i < 12; i++) {
        const [reader, writer] = await openConnection('127.0.0.1', port);
        writer.write('who\n');
        pids.add((await reader.readline()).toString().trim());
        writer.close();
        await writer.waitClosed();
      }
      assert.equal(pids.size, 2, `answers came from ${[...pids].join(', ')}`);
      assert.ok(![...pids].includes(String(child.pid)), 'the primary serves nothing itself');
      child.stdin.end();
      assert.equal(await exited, 0);
      assert.match(out(), /closed/);
    } finally {
      child.kill('SIGKILL');
    }
  });

  test('a group never started (startServing: false) closes with a connection held in a worker', async () => {
    // helper-92: node:cluster closes a worker's server and waits for its connections, and one
    // accepted paused, never served, never ended: the group's close() hung.
    const { child, out, exited } = await startPrimary(heldFixture);
    try {
      const port = Number(out().trim());
      const sock = connect(port, '127.0.0.1');
      const ended = new Promise<void>((r) => sock.once('close', () => r()));
      sock.on('error', () => {}); // reset when the group closes
      await new Promise<void>((r) => sock.once('connect', () => r()));
      await new Promise((r) => setTimeout(r, 100)); // accepted by a worker, held unread
      child.stdin.end();
      const code = await Promise.race([
        exited,
        new Promise<string>((r) => setTimeout(() => r('still running after 20 s'), 20_000).unref()),
      ]);
      assert.equal(code, 0);
      assert.match(out(), /closed/);
      await ended;
    } finally {
      child.kill('SIGKILL');
    }
  });

  test('workers below 1 raise RangeError', async () => {
    const { startServer } = await import('../../src/streams/index.js');
    await assert.rejects(
      startServer(() => {}, '127.0.0.1', 0, { workers: 0 }),
      RangeError,
    );
  });
});

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { describe, test } from 'node:test';
import { openConnection } from '../../src/streams/index.js';
import { checkLeaks } from '../support/leaks.js';

checkLeaks();

const fixture = new URL('./fixtures/worker-server.ts', import.meta.url).pathname;

describe('startServer with workers', () => {
  test('two worker processes share one port, both serve, and close ends them', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', fixture], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    try {
      while (!out.includes('\n')) {
        if (child.exitCode !== null) assert.fail(`fixture exited early: ${out}`);
        await new Promise((r) => setTimeout(r, 20));
      }
      const [port, workers] = out.trim().split(' ').map(Number) as [number, number];
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
      assert.match(out, /closed/);
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

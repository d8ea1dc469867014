import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { request } from 'node:http';
import { describe, it } from 'node:test';
import { checkLeaks } from '../support/leaks.js';
import { TS_IMPORT } from '../support/ts.js';

checkLeaks();

const FIXTURE = new URL('./fixtures/cluster-app.ts', import.meta.url).pathname;

function get(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/', agent: false }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve(body));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('runApp with workers', () => {
  it('serves on two worker processes and shuts them all down on SIGTERM', async () => {
    const child = spawn(process.execPath, ['--import', TS_IMPORT, FIXTURE], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    try {
      const deadline = Date.now() + 30_000;
      while ((out.match(/READY/g) ?? []).length < 2) {
        if (Date.now() > deadline || child.exitCode !== null) {
          assert.fail(`workers did not start: ${out} ${err}`);
        }
        await new Promise((r) => setTimeout(r, 20));
      }
      const ready = [...out.matchAll(/READY (\d+) (\d+)/g)];
      const ports = new Set(ready.map((m) => m[1]));
      assert.equal(ports.size, 1, 'both workers listen on one shared port');
      const workerPids = new Set(ready.map((m) => m[2]));
      assert.equal(workerPids.size, 2);
      assert.ok(!workerPids.has(String(child.pid)), 'the supervisor does not serve');
      const port = Number([...ports][0]);
      const seen = new Set<string>();
      for (let i = 0; i < 20 && seen.size < 2; i++) seen.add(await get(port));
      assert.deepEqual([...seen].sort(), [...workerPids].sort());
      child.kill('SIGTERM');
      const code = await Promise.race([
        exited,
        new Promise<string>((r) => setTimeout(r, 20_000, 'still running').unref()),
      ]);
      assert.equal(code, 0);
      assert.equal((out.match(/CLEANUP/g) ?? []).length, 2, out);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      await exited;
    }
  });
});

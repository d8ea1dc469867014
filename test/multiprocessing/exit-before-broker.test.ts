/**
 * A process whose broker is still starting (a root's broker thread loading its modules on a
 * loaded machine) and that exits at once after a put: its exit helper must wait for the broker
 * as long as a living client would (CONNECT_RETRY_MS), not give up after 5 s and report the item
 * lost. The "broker" here is a plain socket that starts listening 7 s late and records what
 * arrives.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runScript } from '../support/run-script.js';

test('an item put just before exit reaches a broker that starts listening 7 s later', async () => {
  const path = join(tmpdir(), `weft-test-${process.pid}-late-exit.sock`);
  rmSync(path, { force: true });
  const script = fileURLToPath(new URL('./fixtures/exit-before-broker.ts', import.meta.url));
  const run = runScript(script, [path], 90_000);
  await new Promise((r) => setTimeout(r, 7_000));
  const received: Buffer[] = [];
  const server = createServer((s) => {
    s.on('data', (d) => received.push(d));
  });
  server.listen(path);
  await once(server, 'listening');
  try {
    const r = await run;
    assert.equal(r.stderr, '');
    assert.equal(r.status, 0);
    // The frame (hello and the put) arrived; the item's text is in it as V8 wrote it.
    assert.ok(
      Buffer.concat(received).includes(Buffer.from('sent at exit, before the broker')),
      `the put's frame reached the socket (${Buffer.concat(received).length} bytes arrived)`,
    );
  } finally {
    server.close();
    rmSync(path, { force: true });
  }
});

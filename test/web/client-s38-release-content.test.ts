/**
 * `release()` while `content` streams the body, or while `read()` runs, ends that reader with
 * ClientConnectionError, as aiohttp 3.8's release() sets "Connection closed" on its content
 * (checked against aiohttp 3.8.4: `content.read()` after `release()` raises it whether the rest
 * of the body is large, small or stalled). Before, the reader of `content` was handed the rest
 * that undici's dump() read to keep the connection, or the dump's own abort (undici's
 * AbortError, a DOMException), and a `read()` in progress the DOMException.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ClientSession } from '../../src/web/client-session.js';
import { ClientConnectionError } from '../../src/web/errors.js';
import { checkLeaks } from '../support/leaks.js';
import { settles } from '../support/settles.js';
import { type NodeServed, nodeServer } from './loopback.js';

checkLeaks();

/** `/big`: 1 MB, past the rest dump() reads; `/small`: 2000 bytes; `/stall`: never ends. */
function server(): Promise<NodeServed> {
  return nodeServer((req, res) => {
    const size = req.url === '/big' ? 1_000_000 : 2000;
    res.writeHead(200, { 'content-length': String(size) });
    res.write('x'.repeat(1000), () => {
      // The rest is sent once the test has released the response (`release()` below).
      if (req.url !== '/stall') released.then(() => res.end('y'.repeat(size - 1000)));
    });
  });
}

let release: () => void = () => {};
let released: Promise<void> = Promise.resolve();
function armRelease(): void {
  released = new Promise((r) => {
    release = r;
  });
}

const closed = (e: unknown): boolean =>
  e instanceof ClientConnectionError && /Connection closed/.test((e as Error).message);

describe('ClientResponse: release() ends the readers of its body', () => {
  for (const path of ['/big', '/small', '/stall']) {
    it(`${path}: content read in part, then release(): the next reads raise ClientConnectionError`, async () => {
      await using s = await server();
      await using session = new ClientSession({ baseUrl: s.url });
      armRelease();
      const r = await session.get(path);
      const c = r.content;
      assert.equal((await c.read(10)).length, 10);
      r.release();
      release();
      await assert.rejects(settles(c.read(), 'content.read()', 20_000), closed);
      await assert.rejects(settles(c.readexactly(500), 'content.readexactly()', 20_000), closed);
    });
  }

  it('a content read waiting for more when release() comes raises ClientConnectionError', async () => {
    await using s = await server();
    await using session = new ClientSession({ baseUrl: s.url });
    armRelease();
    const r = await session.get('/stall');
    const c = r.content;
    await c.read(1);
    const waiting = c.readexactly(1999);
    r.release();
    await assert.rejects(settles(waiting, 'content.readexactly()', 20_000), closed);
  });

  it('read() in progress on a stalled body when release() comes raises ClientConnectionError', async () => {
    await using s = await server();
    await using session = new ClientSession({ baseUrl: s.url });
    armRelease();
    const r = await session.get('/stall');
    const reading = r.read();
    r.release();
    await assert.rejects(settles(reading, 'read()', 20_000), closed);
    // The session goes on.
    armRelease();
    release();
    const r2 = await session.get('/small');
    assert.equal((await r2.read()).length, 2000);
  });
});

/**
 * A body that fails while `content` streams it (the server cuts the connection, or the bytes
 * are not what their Content-Encoding says) gives its connection and its `limit` slot back at
 * once, as aiohttp's does: before, the slot stayed taken until the response was released, so
 * under `limit: 1` the next request waited for the `total` timeout.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ClientSession } from '../../src/web/client-session.js';
import { ClientPayloadError } from '../../src/web/errors.js';
import { checkLeaks } from '../support/leaks.js';
import { settles } from '../support/settles.js';
import { type NodeServed, nodeServer } from './loopback.js';

checkLeaks();

function cuttingServer(): Promise<NodeServed> {
  return nodeServer((req, res) => {
    if (req.url === '/cut') {
      res.writeHead(200, { 'content-length': '100000' });
      res.write('x'.repeat(1000), () => setTimeout(() => res.socket?.destroy(), 20));
      return;
    }
    if (req.url === '/bad-gzip') {
      res.writeHead(200, { 'content-encoding': 'gzip' });
      res.end('these bytes are no gzip stream');
      return;
    }
    res.end('fast');
  });
}

/** `p`, or a failure once `ms` pass: a wait that never ends fails the test, not hangs it. */
const within = <T>(p: Promise<T>, ms: number): Promise<T> => settles(p, 'the request', ms);

describe('ClientResponse.content when the body fails', () => {
  for (const path of ['/cut', '/bad-gzip']) {
    it(`${path}: ClientPayloadError, and the slot is free for the next request`, async () => {
      await using s = await cuttingServer();
      await using session = new ClientSession({ limit: 1 });
      const r = await session.get(`${s.url}${path}`);
      await assert.rejects(async () => {
        for (;;) if ((await r.content.read(100)).length === 0) break;
      }, ClientPayloadError);
      assert.equal(r.closed, true);
      const next = await within(session.get(`${s.url}/fast`), 10_000);
      assert.equal(await next.text(), 'fast');
    });
  }
});

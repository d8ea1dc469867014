/**
 * A request waiting for a connection under `limitPerHost` (or behind a released response whose
 * rest never comes) can be cancelled and timed out, as in aiohttp 3.8 — where
 * `limit_per_host=1` with the first response held makes a second request raise
 * asyncio.TimeoutError at its `total`. Before, it waited in undici's pool queue, which takes no
 * notice of an abort: it hung until the first connection came free, maybe never.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TimeoutError } from '../../src/internal/errors.js';
import { ClientSession } from '../../src/web/client-session.js';
import { ClientConnectorError } from '../../src/web/errors.js';
import { checkLeaks } from '../support/leaks.js';
import { settles } from '../support/settles.js';
import { type NodeServed, nodeServer } from './loopback.js';

checkLeaks();

/**
 * `/stall` sends its head and 100 of 1000 bytes, then nothing; `/hop` redirects to `other()`;
 * anything else answers `fast`.
 */
function stallServer(other?: () => string): Promise<NodeServed> {
  return nodeServer((req, res) => {
    if (req.url === '/hop' && other !== undefined) {
      res.writeHead(302, { location: `${other()}/fast` });
      res.end();
      return;
    }
    if (req.url === '/stall') {
      res.writeHead(200, { 'content-length': '1000' });
      res.write('x'.repeat(100));
      return;
    }
    res.end('fast');
  });
}

/** `p`, or a failure once `ms` pass: a wait that never ends fails the test, not hangs it. */
const within = <T>(p: Promise<T>, ms: number): Promise<T> => settles(p, 'the request', ms);

describe('ClientSession limitPerHost waits (aiohttp parity)', () => {
  it('a request waiting for the host raises TimeoutError at total, AbortError on abort', async () => {
    await using s = await stallServer();
    await using session = new ClientSession({ limitPerHost: 1 });
    const held = await session.get(`${s.url}/stall`);
    await assert.rejects(
      within(session.get(`${s.url}/fast`, { timeout: { total: 200 } }), 10_000),
      TimeoutError,
    );
    const ac = new AbortController();
    const waiting = session.get(`${s.url}/fast`, { signal: ac.signal });
    setTimeout(() => ac.abort(), 50);
    await assert.rejects(within(waiting, 10_000), { name: 'AbortError' });
    // `connect` bounds the wait for the host's slot, as it does the session's.
    await assert.rejects(
      within(session.get(`${s.url}/fast`, { timeout: { connect: 100 } }), 10_000),
      (e: unknown) => e instanceof ClientConnectorError && /limitPerHost 1/.test(e.message),
    );
    held.release();
    assert.equal(await (await within(session.get(`${s.url}/fast`), 10_000)).text(), 'fast');
  });

  it("another host's requests do not wait for a busy host", async () => {
    await using a = await stallServer();
    await using b = await stallServer();
    await using session = new ClientSession({ limitPerHost: 1 });
    const held = await session.get(`${a.url}/stall`);
    assert.equal(await (await within(session.get(`${b.url}/fast`), 10_000)).text(), 'fast');
    held.release();
  });

  it('requests redirected each to the other host finish (no wait for each other)', async () => {
    let bUrl = '';
    await using a = await stallServer(() => bUrl);
    await using b = await stallServer(() => a.url);
    bUrl = b.url;
    await using session = new ClientSession({ limit: 2, limitPerHost: 1 });
    const texts = await within(
      Promise.all(
        Array.from({ length: 40 }, async (_, i) => {
          const r = await session.get(`${i % 2 === 0 ? a.url : b.url}/hop`);
          return r.text();
        }),
      ),
      30_000,
    );
    assert.deepEqual(new Set(texts), new Set(['fast']));
  });

  it('a released response whose rest never comes frees its host within a bounded time', async () => {
    await using s = await stallServer();
    await using session = new ClientSession({ limitPerHost: 1 });
    (await session.get(`${s.url}/stall`)).release();
    assert.equal(await (await within(session.get(`${s.url}/fast`), 10_000)).text(), 'fast');
  });
});

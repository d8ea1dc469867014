/**
 * A body lost to `timeout.total` or to the request's `signal` while nobody was reading it says
 * so when it is read later: before, the plain (uncoded) body raised ClientConnectionError
 * "released unread", as if the caller had released it, while a gzip body raised the
 * TimeoutError. (aiohttp 3.8 raises `asyncio.TimeoutError` from a read its total timeout ends.)
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { createTask, run, sleep } from '../../src/asyncio/index.js';
import { CancelledError, TimeoutError } from '../../src/internal/errors.js';
import type { ClientResponse } from '../../src/web/client-response.js';
import { ClientSession } from '../../src/web/client-session.js';
import { ClientConnectionError } from '../../src/web/errors.js';
import { checkLeaks } from '../support/leaks.js';
import { type NodeServed, nodeServer } from './loopback.js';

checkLeaks();

/** Sends the head and a little of the body, then nothing more (until the test ends). */
function stallingServer(): Promise<NodeServed> {
  return nodeServer((req, res) => {
    if (req.url === '/gzip') {
      const z = gzipSync(Buffer.from('x'.repeat(10_000)));
      res.writeHead(200, { 'content-encoding': 'gzip', 'content-length': String(z.length) });
      res.write(z.subarray(0, 10));
      return;
    }
    res.writeHead(200, { 'content-length': '100' });
    res.write('ab');
  });
}

/** Waits (bounded) until the response has been let go by its exchange. */
async function untilClosed(resp: ClientResponse): Promise<void> {
  for (let i = 0; i < 3000 && !resp.closed; i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(resp.closed, 'the response was never released');
}

/**
 * A response whose `timeout.total` is to pass while its body is unread: the head must come
 * first, so a loaded machine that is slower than the total gets a longer one and a new try.
 */
async function headWithin(session: ClientSession, path: string): Promise<ClientResponse> {
  for (const total of [100, 1000, 5000]) {
    try {
      return await session.get(path, { timeout: { total } });
    } catch (e) {
      if (!(e instanceof TimeoutError) || total === 5000) throw e;
    }
  }
  throw new Error('unreachable');
}

describe('ClientResponse: a body lost before it was read', () => {
  for (const path of ['/plain', '/gzip']) {
    it(`${path}: timeout.total passed while unread: read(), text() and content raise TimeoutError`, async () => {
      await using s = await stallingServer();
      await using session = new ClientSession({ baseUrl: s.url, limit: 1 });
      const resp = await headWithin(session, path);
      await untilClosed(resp);
      const isTotal = (e: unknown): boolean =>
        e instanceof TimeoutError && /timeout\.total/.test((e as Error).message);
      await assert.rejects(resp.read(), isTotal);
      await assert.rejects(resp.text(), isTotal);
      await assert.rejects(resp.content.read(), isTotal);
    });
  }

  it("the request's signal aborted while unread: a read raises the abort, not 'released unread'", async () => {
    await using s = await stallingServer();
    await using session = new ClientSession({ baseUrl: s.url });
    const ac = new AbortController();
    const resp = await session.get('/plain', { signal: ac.signal });
    ac.abort();
    await untilClosed(resp);
    await assert.rejects(resp.read(), (e: unknown) => (e as Error).name === 'AbortError');
  });

  it('released by the caller: still ClientConnectionError "released unread"', async () => {
    await using s = await stallingServer();
    await using session = new ClientSession({ baseUrl: s.url });
    const resp = await session.get('/plain');
    resp.release();
    await assert.rejects(
      resp.read(),
      (e: unknown) => e instanceof ClientConnectionError && /released unread/.test(String(e)),
    );
  });

  it("the requesting task cancelled: another task's read raises ClientConnectionError, not CancelledError", async () => {
    await using s = await stallingServer();
    await using session = new ClientSession({ baseUrl: s.url });
    await run(async () => {
      let resp: ClientResponse | null = null;
      const t = createTask(async () => {
        resp = await session.get('/plain');
        await sleep(60_000);
      });
      while (resp === null) await sleep(5);
      t.cancel();
      await assert.rejects(t, CancelledError);
      await untilClosed(resp);
      await assert.rejects(
        (resp as ClientResponse).read(),
        (e: unknown) => e instanceof ClientConnectionError && !(e instanceof CancelledError),
      );
    });
  });
});

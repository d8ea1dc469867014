/**
 * Redirects against aiohttp 3.8: which method and body each of 301/302/303/307/308 goes on
 * with, the history, and a streamed body (which cannot be sent twice).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Application } from '../../src/web/application.js';
import { ClientSession } from '../../src/web/client-session.js';
import { jsonResponse, Response } from '../../src/web/response.js';
import { checkLeaks } from '../support/leaks.js';
import { serve } from './loopback.js';

checkLeaks();

function app(): Application {
  const a = new Application();
  a.router.addRoute('*', '/redir/{code}', async (r) => {
    await r.read();
    return new Response({ status: Number(r.matchInfo.code), headers: { location: '/echo' } });
  });
  a.router.addRoute('*', '/echo', async (r) =>
    jsonResponse({ method: r.method, body: await r.text(), ct: r.headers['content-type'] ?? null }),
  );
  return a;
}

// What aiohttp 3.8.4 did for `session.request(m, '/redir/<code>', data=b'abc')`.
const AIOHTTP: [number, string, string, string][] = [
  [301, 'POST', 'GET', ''],
  [301, 'PUT', 'PUT', 'abc'],
  [302, 'POST', 'GET', ''],
  [302, 'PUT', 'PUT', 'abc'],
  [303, 'POST', 'GET', ''],
  [303, 'PUT', 'GET', ''],
  [307, 'POST', 'POST', 'abc'],
  [307, 'PUT', 'PUT', 'abc'],
  [308, 'POST', 'POST', 'abc'],
  [308, 'PUT', 'PUT', 'abc'],
];

describe('ClientSession redirects (aiohttp parity)', () => {
  it('each status goes on with the method and body aiohttp uses', async () => {
    await using s = await serve(app());
    await using session = new ClientSession({ baseUrl: s.url });
    for (const [code, method, thenMethod, thenBody] of AIOHTTP) {
      const r = await session.request(method, `/redir/${code}`, { data: Buffer.from('abc') });
      const seen = (await r.json()) as { method: string; body: string };
      assert.deepEqual(
        [code, method, seen.method, seen.body],
        [code, method, thenMethod, thenBody],
      );
      assert.deepEqual(
        r.history.map((h) => [h.method, h.status]),
        [[method, code]],
      );
    }
  });

  it('a streamed POST that meets a 303 goes on as a GET, as aiohttp', async () => {
    await using s = await serve(app());
    await using session = new ClientSession({ baseUrl: s.url });
    async function* chunks(): AsyncGenerator<Uint8Array> {
      yield Buffer.from('ab');
      yield Buffer.from('cd');
    }
    for (const code of [301, 302, 303]) {
      const r = await session.post(`/redir/${code}`, { data: chunks() });
      assert.equal(r.status, 200);
      assert.deepEqual(await r.json(), { method: 'GET', body: '', ct: null });
    }
  });

  it('a streamed body is not sent again: a 307 or 308 is the answer', async () => {
    await using s = await serve(app());
    await using session = new ClientSession({ baseUrl: s.url });
    async function* chunks(): AsyncGenerator<Uint8Array> {
      yield Buffer.from('ab');
    }
    for (const code of [307, 308]) {
      const r = await session.post(`/redir/${code}`, { data: chunks() });
      assert.deepEqual([r.status, r.history.length], [code, 0]);
      assert.equal(r.headers.get('location'), '/echo');
      r.release();
    }
  });
});

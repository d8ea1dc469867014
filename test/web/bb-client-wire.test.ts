/**
 * What goes on the wire, against aiohttp 3.8: header names as the caller spelt them (weft's
 * own in their usual case), a streamed body labelled `application/octet-stream`, and no more
 * connections per host than the session's `limit` however many requests wait for one.
 */
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { describe, it } from 'node:test';
import { Application } from '../../src/web/application.js';
import { ClientSession } from '../../src/web/client-session.js';
import { jsonResponse, Response } from '../../src/web/response.js';
import { checkLeaks } from '../support/leaks.js';
import { serve } from './loopback.js';

checkLeaks();

/** Echoes the raw header names; `sockets` collects the connections requests came on. */
function app(sockets: Set<Socket>): Application {
  const a = new Application();
  a.router.addRoute('*', '/echo', async (r) => {
    const raw = r.raw.rawHeaders;
    return jsonResponse({
      names: raw.filter((_, i) => i % 2 === 0),
      ct: r.headers['content-type'] ?? null,
      body: await r.text(),
    });
  });
  a.router.addGet('/slow/{i}', async (r) => {
    sockets.add(r.raw.socket);
    await new Promise((done) => setTimeout(done, 5));
    return new Response({ text: 'x'.repeat(1000) });
  });
  return a;
}

describe('ClientSession on the wire (aiohttp parity)', () => {
  it('header names go out as the caller spelt them, weft defaults in their usual case', async () => {
    await using s = await serve(app(new Set()));
    await using session = new ClientSession({
      baseUrl: s.url,
      headers: { 'X-Session-Name': 'a', 'x-both': 's' },
    });
    const r = await session.post('/echo', {
      headers: [
        ['X-Both', 'r'],
        ['x-API-key', 'k'],
      ],
      data: 'body',
      params: { a: 1 },
    });
    const { names } = (await r.json()) as { names: string[] };
    // aiohttp 3.8 sent: Host, X-Session-Name, X-Both, x-API-key, Accept, Accept-Encoding,
    // User-Agent, Content-Length, Content-Type (the order is no matter).
    for (const n of ['X-Session-Name', 'X-Both', 'x-API-key', 'Accept', 'Accept-Encoding']) {
      assert.ok(names.includes(n), `${n} in ${names.join(', ')}`);
    }
    for (const n of ['User-Agent', 'Content-Type']) assert.ok(names.includes(n), n);
    assert.equal(names.filter((n) => n.toLowerCase() === 'x-both').length, 1);
  });

  it('a streamed body is sent as application/octet-stream unless the headers say', async () => {
    await using s = await serve(app(new Set()));
    await using session = new ClientSession({ baseUrl: s.url });
    async function* chunks(): AsyncGenerator<Uint8Array> {
      yield Buffer.from('ab');
      yield Buffer.from('cd');
    }
    const streamed = (await (await session.post('/echo', { data: chunks() })).json()) as {
      ct: string;
      body: string;
    };
    // aiohttp 3.8 sent Content-Type: application/octet-stream for an async generator.
    assert.deepEqual([streamed.ct, streamed.body], ['application/octet-stream', 'abcd']);
    const own = await session.post('/echo', {
      data: chunks(),
      headers: { 'content-type': 'text/csv' },
    });
    assert.equal(((await own.json()) as { ct: string }).ct, 'text/csv');
  });

  for (const [options, most] of [
    [{ limit: 2 }, 2],
    [{ limit: 3, limitPerHost: 1 }, 1],
    [{ limit: 1, limitPerHost: 4 }, 1],
  ] as const) {
    it(`${JSON.stringify(options)}: 20 requests at once use at most ${most} connections`, async () => {
      const sockets = new Set<Socket>();
      await using s = await serve(app(sockets));
      await using session = new ClientSession({ baseUrl: s.url, ...options });
      const texts = await Promise.all(
        Array.from({ length: 20 }, async (_, i) => (await session.get(`/slow/${i}`)).text()),
      );
      assert.equal(texts.filter((t) => t.length === 1000).length, 20);
      assert.ok(sockets.size <= most, `${sockets.size} connections for ${most}`);
    });
  }
});

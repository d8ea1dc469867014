/**
 * What a request is given — data, params, headers — is sent as aiohttp 3.8 sends it, or refused
 * with a clear error before anything is sent; never sent as something else (an empty form, an
 * empty query, a dropped header).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Application } from '../../src/web/application.js';
import { ClientSession } from '../../src/web/client-session.js';
import { jsonResponse } from '../../src/web/response.js';
import { checkLeaks } from '../support/leaks.js';
import { serve } from './loopback.js';

checkLeaks();

interface Seen {
  query: string;
  ct: string | null;
  body: string;
  headers: Record<string, string>;
}

/** Echoes the request; `count.n` counts the requests that reached it. */
function app(count: { n: number }): Application {
  const a = new Application();
  a.router.addRoute('*', '/echo', async (r) => {
    count.n++;
    return jsonResponse({
      query: r.rawQueryString,
      ct: r.headers['content-type'] ?? null,
      body: await r.text(),
      headers: r.headers,
    });
  });
  return a;
}

describe('ClientSession request input', () => {
  it('bytes-like data (a typed array, a DataView, an ArrayBuffer) is sent as bytes, as aiohttp sends a memoryview', async () => {
    const count = { n: 0 };
    await using s = await serve(app(count));
    await using session = new ClientSession({ baseUrl: s.url });
    const ab = new TextEncoder().encode('xABy').buffer;
    for (const data of [
      new DataView(ab, 1, 2),
      new Uint16Array(new TextEncoder().encode('AB').buffer),
      new TextEncoder().encode('AB').buffer,
    ]) {
      const r = (await (await session.post('/echo', { data })).json()) as Seen;
      assert.equal(r.body, 'AB');
      assert.equal(r.ct, 'application/octet-stream');
    }
  });

  it('data or params with no fields to send (a Map, a Blob, a number) raise TypeError before sending', async () => {
    const count = { n: 0 };
    await using s = await serve(app(count));
    await using session = new ClientSession({ baseUrl: s.url });
    const bad: unknown[] = [new Map([['a', '1']]), new Blob(['a=1']), new Set(['a'])];
    for (const data of bad) {
      await assert.rejects(session.post('/echo', { data: data as never }), TypeError);
    }
    for (const params of [new Map([['a', '1']]), 5, true]) {
      await assert.rejects(session.get('/echo', { params: params as never }), TypeError);
    }
    assert.equal(count.n, 0);
  });

  it('params: NaN and Infinity raise RangeError; an array value repeats the name, as yarl', async () => {
    const count = { n: 0 };
    await using s = await serve(app(count));
    await using session = new ClientSession({ baseUrl: s.url });
    await assert.rejects(session.get('/echo', { params: { a: Number.NaN } }), RangeError);
    await assert.rejects(session.get('/echo', { params: [['a', -Infinity]] }), RangeError);
    assert.equal(count.n, 0);
    const r = await session.get('/echo?x=0', { params: { a: [1, 'b'], c: 2 } });
    assert.equal(((await r.json()) as Seen).query, 'x=0&a=1&a=b&c=2');
    const form = await session.post('/echo', { data: { a: ['1', '2'] } });
    assert.equal(((await form.json()) as Seen).body, 'a=1&a=2');
  });

  it('headers given as a Headers, a list of pairs or arrays are sent; the values of a name are joined', async () => {
    const count = { n: 0 };
    await using s = await serve(app(count));
    await using session = new ClientSession({
      baseUrl: s.url,
      headers: new Headers({ 'X-Session': 's', 'X-Replaced': 'old' }),
    });
    const r = await session.get('/echo', {
      headers: [
        ['X-Many', '1'],
        ['x-many', '2'],
        ['X-Replaced', 'new'],
        ['Cookie', 'a=1'],
        ['Cookie', 'b=2'],
      ],
    });
    const h = ((await r.json()) as Seen).headers;
    assert.equal(h['x-session'], 's');
    assert.equal(h['x-many'], '1, 2');
    assert.equal(h['x-replaced'], 'new');
    assert.equal(h.cookie, 'a=1; b=2');
    const arrays = await session.get('/echo', { headers: { 'X-Many': ['3', '4'] } });
    assert.equal(((await arrays.json()) as Seen).headers['x-many'], '3, 4');
    await assert.rejects(
      session.get('/echo', { headers: { 'X-Bad': null as never } }),
      (e) => e instanceof TypeError && /X-Bad/.test(e.message),
    );
    await assert.rejects(session.get('/echo', { headers: 'X-A: 1' as never }), TypeError);
    assert.equal(count.n, 2);
  });
});

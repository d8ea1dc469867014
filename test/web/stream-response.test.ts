/**
 * StreamResponse's status line and cookies against aiohttp 3.8 (CPython 3.11): the expected
 * values are what aiohttp's `web.StreamResponse` / `web.Response` give.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Application } from '../../src/web/application.js';
import { HTTPNotFound } from '../../src/web/http-exceptions.js';
import { jsonResponse, Response } from '../../src/web/response.js';
import { StreamResponse } from '../../src/web/stream-response.js';
import { checkLeaks } from '../support/leaks.js';
import { raw, serve } from './loopback.js';

checkLeaks();

const quiet = { onError: () => {} };
const get = (target: string): string =>
  `GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`;

describe('reason', () => {
  it('a CR or LF is refused with RangeError, as aiohttp refuses it with ValueError', () => {
    for (const bad of ['a\r\nb', 'a\rb', 'a\nb']) {
      assert.throws(() => new Response({ reason: bad }), RangeError, JSON.stringify(bad));
      assert.throws(() => new StreamResponse({ reason: bad }), RangeError);
      assert.throws(() => new HTTPNotFound({ reason: bad }), RangeError);
      const r = new Response();
      assert.throws(() => {
        r.reason = bad;
      }, RangeError);
    }
    // Node cannot send other control characters, nor characters above U+00FF.
    assert.throws(() => new Response({ reason: 'a\u0000b' }), RangeError);
    assert.throws(() => new Response({ reason: '€' }), RangeError);
    assert.throws(() => new Response({ reason: 5 as never }), TypeError);
    assert.equal(new Response({ reason: 'Très\tbien' }).reason, 'Très\tbien');
  });

  it('a reason set badly inside a handler is answered 500, not left waiting', async () => {
    const app = new Application(quiet);
    app.router.addGet('/r', () => {
      const r = new Response({ text: 'x' });
      r.reason = 'a\r\nInjected: 1';
      return r;
    });
    await using s = await serve(app);
    const r = await raw(s.port, get('/r'), { timeout: 3000 });
    assert.equal(r.status, 500);
    assert.doesNotMatch(r.text, /Injected/);
  });

  it('a prepare() whose head Node refused is not prepared: mended and prepared again, it sends its own head', async () => {
    // (helper-116's review) The failed prepare had kept the response as prepared: the second
    // did nothing, and the first write made Node send a bare default head without our headers.
    const app = new Application(quiet);
    app.router.addGet('/retry', async (req) => {
      const r = new StreamResponse({ headers: { 'x-a': 'a\u0001b', 'x-kept': 'yes' } });
      try {
        await r.prepare(req);
      } catch {
        r.headers.delete('x-a');
      }
      await r.prepare(req);
      await r.write('hi');
      await r.writeEof();
      return r;
    });
    await using s = await serve(app);
    const r = await raw(s.port, get('/retry'), { timeout: 3000 });
    assert.equal(r.status, 200);
    assert.match(r.text, /\r\nx-kept: yes\r\n/i);
    assert.match(r.text, /\r\ncontent-type: application\/octet-stream\r\n/i);
  });

  it("defaults to Python's phrase, empty for a status Python does not know", async () => {
    assert.equal(new Response({ status: 404 }).reason, 'Not Found');
    assert.equal(new Response({ status: 413 }).reason, 'Request Entity Too Large');
    assert.equal(new Response({ status: 299 }).reason, '');
    const r = new Response({ status: 201, reason: 'Made' });
    r.reason = undefined;
    assert.equal(r.reason, 'Created');

    const app = new Application();
    app.router.addGet('/{s}', (q) => new Response({ status: Number(q.matchInfo.s), text: 'x' }));
    await using s = await serve(app);
    const line = async (status: number): Promise<string> =>
      (await raw(s.port, get(`/${status}`))).text.split('\r\n')[0] as string;
    assert.equal(await line(299), 'HTTP/1.1 299 ');
    assert.equal(await line(414), 'HTTP/1.1 414 Request-URI Too Long');
    assert.equal(await line(416), 'HTTP/1.1 416 Requested Range Not Satisfiable');
    assert.equal(await line(509), 'HTTP/1.1 509 ');
    assert.equal(await line(418), "HTTP/1.1 418 I'm a Teapot");
  });
});

describe('setCookie', () => {
  it('quotes and escapes a value as SimpleCookie does, and request.cookies reads it back', async () => {
    const values = ['x y', 'a;b', '', 'é', 'a"b\\', 'a,b=c', '(x)[y]{z}<>?@/', 'tab\there'];
    const app = new Application();
    app.router.addGet('/set', () => {
      const r = new Response({ text: 'ok' });
      values.forEach((v, i) => {
        r.setCookie(`c${i}`, v);
      });
      r.setCookie('a:b', 'v');
      r.delCookie('gone');
      return r;
    });
    app.router.addGet('/echo', (r) => jsonResponse({ ...r.cookies }));
    await using s = await serve(app);
    const res = await fetch(`${s.url}/set`);
    await res.text();
    const sent = res.headers.getSetCookie();
    // aiohttp 3.8's Set-Cookie values (its attributes come in another, equivalent order).
    assert.deepEqual(
      sent.map((c) => c.split('; Path=/')[0]),
      [
        'c0="x y"',
        'c1="a\\073b"',
        'c2=""',
        'c3="\\351"',
        'c4="a\\"b\\\\"',
        'c5="a\\054b=c"',
        'c6="(x)[y]{z}<>?@/"',
        'c7="tab\\011here"',
        'a:b=v',
        'gone=""',
      ],
    );
    const cookie = sent
      .slice(0, values.length)
      .map((c) => c.split('; ')[0])
      .join('; ');
    const back = await fetch(`${s.url}/echo`, { headers: { cookie } });
    assert.deepEqual(await back.json(), Object.fromEntries(values.map((v, i) => [`c${i}`, v])));
  });

  it('refuses what a header cannot carry or what would forge attributes', () => {
    const r = new Response();
    assert.throws(() => r.setCookie('bad name', 'v'), TypeError);
    assert.throws(() => r.setCookie('a', '€'), RangeError);
    assert.throws(() => r.setCookie('a', 'v', { path: '/; Domain=evil.example' }), RangeError);
    assert.throws(() => r.setCookie('a', 'v', { domain: 'x\r\nSet-Cookie: b=c' }), RangeError);
    assert.equal(r.headers.getSetCookie().length, 0);
  });
});

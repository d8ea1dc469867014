/**
 * Every "safe by default" promise of weft/web, each checked by sending the bad request over a
 * real loopback socket.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Application } from '../../src/web/application.js';
import { Response } from '../../src/web/response.js';
import { checkLeaks } from '../support/leaks.js';
import { raw, serve } from './loopback.js';

checkLeaks();

let root: string;
let outside: string;

before(() => {
  root = mkdtempSync(join(tmpdir(), 'weft-web-sec-'));
  mkdirSync(join(root, 'public', 'sub'), { recursive: true });
  writeFileSync(join(root, 'public', 'ok.txt'), 'public file');
  writeFileSync(join(root, 'public', 'sub', 'deep.txt'), 'deep');
  writeFileSync(join(root, 'secret.txt'), 'TOP SECRET');
  outside = join(root, 'secret.txt');
  symlinkSync(outside, join(root, 'public', 'escape.txt'));
  symlinkSync(join(root, 'public', 'ok.txt'), join(root, 'public', 'inside-link.txt'));
});

after(() => rmSync(root, { recursive: true, force: true }));

function staticApp(): Application {
  const app = new Application();
  app.router.addStatic('/static', join(root, 'public'));
  return app;
}

const get = (path: string) => `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`;

describe('static files never escape their directory', () => {
  for (const path of [
    '/static/../secret.txt',
    '/static/%2e%2e/secret.txt',
    '/static/%2E%2e/secret.txt',
    '/static/sub/../../secret.txt',
    '/static/sub/%2e%2e/%2e%2e/secret.txt',
    '/static/..%2fsecret.txt',
    '/static/..%5csecret.txt',
    '/static/%2e%2e%2fsecret.txt',
  ]) {
    it(`GET ${path} is refused without the file`, async () => {
      await using s = await serve(staticApp());
      const r = await raw(s.port, get(path));
      assert.ok(r.status === 403 || r.status === 404, `status ${r.status}`);
      assert.doesNotMatch(r.text, /TOP SECRET/);
    });
  }

  it('a symlink out of the root is refused; one inside is served', async () => {
    await using s = await serve(staticApp());
    const out = await raw(s.port, get('/static/escape.txt'));
    assert.equal(out.status, 404);
    assert.doesNotMatch(out.text, /TOP SECRET/);
    const ins = await raw(s.port, get('/static/inside-link.txt'));
    assert.equal(ins.status, 200);
    assert.match(ins.text, /public file$/);
  });

  it('a directory is 403 and a NUL byte is refused', async () => {
    await using s = await serve(staticApp());
    assert.equal((await raw(s.port, get('/static/sub/'))).status, 403);
    const nul = await raw(s.port, get('/static/ok.txt%00.png'));
    assert.ok(nul.status === 403 || nul.status === 404);
  });
});

describe('request limits', () => {
  function echoApp(max?: number): Application {
    const app = new Application(max === undefined ? {} : { clientMaxSize: max });
    app.router.addPost(
      '/echo',
      async (r) => new Response({ text: `got ${(await r.read()).length}` }),
    );
    return app;
  }

  it('a declared body over clientMaxSize answers 413 and closes', async () => {
    await using s = await serve(echoApp(1024));
    const r = await raw(
      s.port,
      `POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n${'a'.repeat(5000)}`,
    );
    assert.equal(r.status, 413);
    // aiohttp's text (checked with aiohttp 3.8).
    assert.match(r.text, /Maximum request body size 1024 exceeded, actual body size 5000$/);
    assert.equal(r.closed, true);
  });

  it('a chunked body growing past clientMaxSize answers 413', async () => {
    await using s = await serve(echoApp(1024));
    const chunk = `400\r\n${'b'.repeat(1024)}\r\n`;
    const r = await raw(s.port, [
      'POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n',
      chunk,
      chunk,
      '0\r\n\r\n',
    ]);
    assert.equal(r.status, 413);
  });

  it('a body within the limit is read', async () => {
    await using s = await serve(echoApp(1024));
    const r = await raw(
      s.port,
      `POST /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 10\r\n\r\n0123456789`,
    );
    assert.equal(r.status, 200);
    assert.match(r.text, /got 10$/);
  });

  it('content streams a body past clientMaxSize: the cap is on reading it whole', async () => {
    // The issue: content itself raised 413, though docs/web.md offers it for bodies too
    // large to hold; aiohttp caps only read()/text()/json()/post().
    const app = new Application({ clientMaxSize: 1024 });
    app.router.addPost('/stream', async (r) => {
      let n = 0;
      for (let d = await r.content.read(512); d.length > 0; d = await r.content.read(512)) {
        n += d.length;
      }
      return new Response({ text: `streamed ${n}` });
    });
    await using s = await serve(app);
    const declared = await raw(
      s.port,
      `POST /stream HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 5000\r\n\r\n${'a'.repeat(5000)}`,
    );
    assert.equal(declared.status, 200);
    assert.match(declared.text, /streamed 5000$/);
    const chunk = `400\r\n${'b'.repeat(1024)}\r\n`;
    const chunked = await raw(s.port, [
      'POST /stream HTTP/1.1\r\nHost: x\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n',
      chunk,
      chunk,
      chunk,
      '0\r\n\r\n',
    ]);
    assert.equal(chunked.status, 200);
    assert.match(chunked.text, /streamed 3072$/);
  });

  it('post() and a second read() past clientMaxSize answer 413 as read() does', async () => {
    const app = new Application({ clientMaxSize: 1024 });
    app.router.addPost(
      '/form',
      async (r) => new Response({ text: String([...(await r.post()).keys()].length) }),
    );
    app.router.addPost('/twice', async (r) => {
      await r.read().catch(() => undefined);
      return new Response({ text: `got ${(await r.text()).length}` });
    });
    await using s = await serve(app);
    const chunk = `400\r\n${'c'.repeat(1024)}\r\n`;
    const form = await raw(s.port, [
      'POST /form HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n',
      chunk,
      chunk,
      '0\r\n\r\n',
    ]);
    assert.equal(form.status, 413);
    const twice = await raw(s.port, [
      'POST /twice HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n',
      chunk,
      chunk,
      '0\r\n\r\n',
    ]);
    assert.equal(twice.status, 413);
    assert.equal(twice.closed, true);
  });

  it('a request head over maxHeaderSize answers 431', async () => {
    await using s = await serve(echoApp(), { maxHeaderSize: 1024 });
    const r = await raw(s.port, `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'z'.repeat(4000)}\r\n\r\n`);
    assert.equal(r.status, 431);
    assert.equal(r.closed, true);
  });

  it('more header fields than maxHeaders answers 431', async () => {
    await using s = await serve(echoApp(), { maxHeaders: 10 });
    let h = '';
    for (let i = 0; i < 20; i++) h += `X-H${i}: v\r\n`;
    const r = await raw(s.port, `GET / HTTP/1.1\r\nHost: x\r\n${h}\r\n`);
    assert.equal(r.status, 431);
    assert.equal(r.closed, true);
  });

  it('a slowloris client is cut off after headersTimeout', async () => {
    await using s = await serve(echoApp(), { headersTimeout: 300, requestTimeout: 600 });
    const parts = ['GET / HTTP/1.1\r\n', 'Host: x\r\n'];
    for (let i = 0; i < 40; i++) parts.push(`X-Slow-${i}: 1\r\n`);
    const r = await raw(s.port, parts, { gap: 100, timeout: 8000 });
    // Closed by the server: when raw() gives up at its own timeout, `closed` is false. (A 7 s
    // wall-clock bound said the same again, and failed on a loaded machine that took longer
    // although the server did cut the client off.)
    assert.equal(r.closed, true);
    assert.equal(r.status, 408);
  });

  it('a client sending its body too slowly is cut off after requestTimeout', async () => {
    await using s = await serve(echoApp(), { headersTimeout: 300, requestTimeout: 500 });
    const parts = ['POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n'];
    for (let i = 0; i < 100; i++) parts.push('x');
    const r = await raw(s.port, parts, { gap: 100, timeout: 8000 });
    assert.equal(r.closed, true);
    assert.doesNotMatch(r.text, /got 100/);
  });
});

describe('malformed requests', () => {
  for (const [label, bytes] of [
    ['garbage request line', 'HELLO THERE\r\n\r\n'],
    ['bad header line', 'GET / HTTP/1.1\r\nHost: x\r\nNo colon here\r\n\r\n'],
    [
      'bad chunk size',
      'POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n',
    ],
    [
      'conflicting lengths',
      'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
    ],
    ['missing Host on HTTP/1.1', 'GET / HTTP/1.1\r\n\r\n'],
    ['invalid version', 'GET / HTTP/9.9\r\nHost: x\r\n\r\n'],
  ] as const) {
    it(`${label} answers 400 and the server keeps serving`, async () => {
      const app = new Application();
      app.router.addGet('/', () => new Response({ text: 'alive' }));
      app.router.addPost('/echo', async (r) => new Response({ text: await r.text() }));
      await using s = await serve(app);
      const r = await raw(s.port, bytes);
      assert.equal(r.status, 400, r.text);
      assert.equal(r.closed, true);
      const ok = await raw(s.port, get('/'));
      assert.equal(ok.status, 200);
      assert.match(ok.text, /alive$/);
    });
  }

  it('a malformed percent-encoding in a dynamic route does not crash', async () => {
    const app = new Application();
    app.router.addGet('/{x}', (r) => new Response({ text: `x=${r.matchInfo.x}` }));
    app.router.addGet('/p/{y}', (r) => new Response({ text: r.path }));
    await using s = await serve(app);
    const r = await raw(s.port, get('/%zz'));
    assert.equal(r.status, 200);
    // As aiohttp (yarl): escapes that are not UTF-8 stay in the path as sent.
    const p = await raw(s.port, get('/p/%e0%a4%a'));
    assert.equal(p.status, 200);
    assert.match(p.text, /\r\n\r\n\/p\/%e0%a4%a$/);
  });
});

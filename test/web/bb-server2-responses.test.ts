/**
 * Responses a handler prepares itself and then misuses: bytes past the declared length, the
 * body of a prepared Response, writes after a FileResponse ended. Framing on a kept-alive
 * connection must hold: the next pipelined response is read as its own. Compared with aiohttp
 * 3.8 under the same raw requests.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Application } from '../../src/web/application.js';
import { FileResponse } from '../../src/web/file-response.js';
import { HTTPFound, HTTPSeeOther } from '../../src/web/http-exceptions.js';
import { Response } from '../../src/web/response.js';
import { checkLeaks } from '../support/leaks.js';
import { raw, serve } from './loopback.js';

checkLeaks();

const dir = mkdtempSync(join(tmpdir(), 'weft-bb-server2-'));
const file = join(dir, 'a.txt');
writeFileSync(file, '0123456789');
after(() => rmSync(dir, { recursive: true, force: true }));

/** `path`, then a pipelined GET /next on the same connection. */
function twoRequests(path: string): string {
  return (
    `GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n` +
    'GET /next HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'
  );
}

/** The bodies of the responses in `text`, read by their Content-Length. */
function bodies(text: string): string[] {
  const out: string[] = [];
  let rest = text;
  while (rest.startsWith('HTTP/1.1 ')) {
    const end = rest.indexOf('\r\n\r\n');
    if (end === -1) break;
    const head = rest.slice(0, end);
    const len = Number(/\r\ncontent-length: (\d+)/i.exec(head)?.[1] ?? 'NaN');
    if (!Number.isInteger(len)) break;
    out.push(rest.slice(end + 4, end + 4 + len));
    rest = rest.slice(end + 4 + len);
  }
  if (rest !== '') out.push(`<left over: ${rest.slice(0, 40)}>`);
  return out;
}

function app(log: unknown[]): Application {
  const a = new Application({ onError: (e) => log.push(e) });
  a.router.addGet('/next', () => new Response({ text: 'next' }));
  a.router.addGet('/write-then-return', async (request) => {
    const r = new Response({ text: 'body' });
    await r.prepare(request);
    await r.write('EXTRA');
    return r;
  });
  a.router.addGet('/write-eof', async (request) => {
    const r = new Response({ text: 'body' });
    await r.prepare(request);
    await r.writeEof();
    return r;
  });
  a.router.addGet('/write-eof-data', async (request) => {
    const r = new Response({ text: 'body' });
    await r.prepare(request);
    try {
      await r.writeEof('EXTRA');
      log.push('no error');
    } catch (e) {
      log.push(e);
    }
    await r.writeEof();
    return r;
  });
  a.router.addGet('/file-then-write', async (request) => {
    const r = new FileResponse(file);
    await r.prepare(request);
    try {
      await r.write('EXTRA');
      log.push('no error');
    } catch (e) {
      log.push(e);
    }
    return r;
  });
  return a;
}

describe('a Response the handler prepared itself', () => {
  it('write() cannot push the body past its Content-Length: the next response stays whole', async () => {
    const log: unknown[] = [];
    await using s = await serve(app(log));
    const r = await raw(s.port, twoRequests('/write-then-return'), { timeout: 20_000 });
    // aiohttp 3.8 sends `EXTR` and then the body too (`EXTRbody`), which the client reads as
    // the start of the next response; weft keeps to the declared 4 bytes.
    assert.deepEqual(bodies(r.text), ['EXTR', 'next']);
    assert.deepEqual(log, []);
  });

  it('writeEof() sends the body it was given, as aiohttp write_eof', async () => {
    const log: unknown[] = [];
    await using s = await serve(app(log));
    const r = await raw(s.port, twoRequests('/write-eof'), { timeout: 20_000 });
    assert.deepEqual(bodies(r.text), ['body', 'next']);
  });

  it('writeEof(data) raises TypeError (aiohttp: data arg is not supported)', async () => {
    const log: unknown[] = [];
    await using s = await serve(app(log));
    const r = await raw(s.port, twoRequests('/write-eof-data'), { timeout: 20_000 });
    assert.ok(log[0] instanceof TypeError, `expected a TypeError: got ${String(log[0])}`);
    assert.deepEqual(bodies(r.text), ['body', 'next']);
  });
});

describe('a FileResponse that was sent', () => {
  it('write() after it says the body ended, not that the client went away', async () => {
    const log: unknown[] = [];
    await using s = await serve(app(log));
    const r = await raw(s.port, twoRequests('/file-then-write'), { timeout: 20_000 });
    assert.deepEqual(bodies(r.text), ['0123456789', 'next']);
    // The handler's write() comes after the file went out: wait for it (bounded).
    for (let i = 0; i < 400 && log.length === 0; i++) await new Promise((d) => setTimeout(d, 25));
    const e = log[0] as Error;
    assert.ok(e instanceof Error);
    assert.equal(e.name, 'Error');
    assert.match(e.message, /writeEof\(\) was already called/);
  });
});

describe('a redirect to a location a header cannot carry as it is (aiohttp str(URL(location)))', () => {
  it('is percent-encoded as UTF-8, raised or returned; escapes already there stay', async () => {
    const a = new Application();
    a.router.addGet('/raised', () => {
      throw new HTTPFound('/日本/café x?q=ü');
    });
    a.router.addGet('/returned', () => new HTTPSeeOther('/a%2Fb%zz"<>`{}|\\^b') as never);
    await using s = await serve(a);
    const r1 = await raw(s.port, 'GET /raised HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    assert.equal(r1.status, 302);
    assert.match(r1.text, /\r\nlocation: \/%E6%97%A5%E6%9C%AC\/caf%C3%A9%20x\?q=%C3%BC\r\n/i);
    const r2 = await raw(s.port, 'GET /returned HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    assert.equal(r2.status, 303);
    // aiohttp 3.8 sends exactly this.
    assert.match(r2.text, /\r\nlocation: \/a%2Fb%25zz%22%3C%3E%60%7B%7D%7C%5C%5Eb\r\n/i);
  });

  it('location gives the value given, the header its encoding; CR or LF is refused', () => {
    // As aiohttp 3.8: HTTPFound('/a b').location == '/a b', its Location header '/a%20b'.
    const e = new HTTPFound('/a b');
    assert.equal(e.location, '/a b');
    assert.equal(e.headers.get('location'), '/a%20b');
    assert.throws(() => new HTTPFound('/a\r\nSet-Cookie: x=1'), TypeError);
    assert.throws(() => new HTTPFound('/\ud800'), TypeError);
  });
});

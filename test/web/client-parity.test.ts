/**
 * The client's corners against aiohttp 3.8.4, each checked there first:
 *
 * - release() ends `content` whatever has arrived: aiohttp's release() sets "Connection closed"
 *   on its content even when the whole body is in (read in part, read to its end, or read by
 *   read()), and a body nobody read, an empty one too, is gone. Before, a body that had arrived
 *   whole was still readable through `content` after release().
 * - json()'s default check is aiohttp's `json_re` matched against the whole `Content-Type`
 *   header lower-cased: `text/x+json` fails, `application/jsonp` passes. Before, any
 *   `type/subtype+json` passed and the message named the media type without its parameters.
 * - `json: null` is no json (aiohttp's `json=None`), and data with json is aiohttp's ValueError
 *   (a RangeError). Before, `json: null` sent the body `null`.
 * - baseUrl: a path must end in `/` (aiohttp 3.10's ValueError; 3.8 refuses any path), no query
 *   or fragment. Before, `http://h/api` silently lost `api` on every relative request.
 * - Options of the wrong type are a TypeError naming the option and the value. Before,
 *   `allowRedirects: 'no'` counted as true (aiohttp 3.8 reads truthiness as well).
 */
import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ClientResponse } from '../../src/web/client-response.js';
import { ClientSession } from '../../src/web/client-session.js';
import { CookieJar } from '../../src/web/cookie-jar.js';
import { ClientConnectionError, ContentTypeError, InvalidURL } from '../../src/web/errors.js';
import { checkLeaks } from '../support/leaks.js';
import { settles } from '../support/settles.js';
import { nodeServer } from './loopback.js';

checkLeaks();

/**
 * `/body`: 2000 bytes; `/empty`: none (`Content-Length: 0`); `/ct?t=…`: `{"a":1}` with that
 * Content-Type (none without `t`); `/echo`: the request as JSON; `/redirect`: 302 to `/echo`.
 */
function handler(req: IncomingMessage, res: ServerResponse): void {
  const u = new URL(req.url ?? '/', 'http://x');
  if (u.pathname === '/body') {
    res.writeHead(200, { 'content-length': '2000' });
    res.end('x'.repeat(2000));
  } else if (u.pathname === '/empty') {
    res.writeHead(200, { 'content-length': '0' });
    res.end();
  } else if (u.pathname === '/ct') {
    const t = u.searchParams.get('t');
    res.writeHead(200, t === null ? {} : { 'content-type': t });
    res.end('{"a":1}');
  } else if (u.pathname === '/redirect') {
    res.writeHead(302, { location: '/echo' });
    res.end();
  } else {
    let body = '';
    req.on('data', (d: Buffer) => {
      body += d.toString();
    });
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          path: req.url,
          method: req.method,
          type: req.headers['content-type'] ?? null,
          length: req.headers['content-length'] ?? null,
          body,
        }),
      );
    });
  }
}

const closed = (e: unknown): boolean =>
  e instanceof ClientConnectionError && /^Connection closed/.test((e as Error).message);

/** Until the whole body has arrived (the connection has gone back: `closed`). */
async function arrived(r: ClientResponse): Promise<void> {
  for (let i = 0; !r.closed; i++) {
    if (i > 2000) assert.fail('the body never arrived');
    await sleep(5);
  }
}

describe('ClientResponse: release() after the whole body has arrived (aiohttp 3.8.4)', () => {
  it('content read in part: the rest is gone, the next read raises "Connection closed"', async () => {
    await using s = await nodeServer(handler);
    await using session = new ClientSession({ baseUrl: `${s.url}/` });
    const r = await session.get('body');
    const c = r.content;
    assert.equal((await c.read(10)).length, 10);
    await arrived(r);
    r.release();
    await assert.rejects(settles(c.read(), 'content.read()'), closed);
    await assert.rejects(settles(r.read(), 'read()'), closed);
  });

  it('content read to its end, then release(): content.read() raises', async () => {
    await using s = await nodeServer(handler);
    await using session = new ClientSession({ baseUrl: `${s.url}/` });
    const r = await session.get('body');
    const c = r.content;
    assert.equal((await c.read()).length, 2000);
    assert.equal((await c.read()).length, 0);
    r.release();
    await assert.rejects(settles(c.read(), 'content.read()'), closed);
  });

  it('close() and await using end content as release() does', async () => {
    await using s = await nodeServer(handler);
    await using session = new ClientSession({ baseUrl: `${s.url}/` });
    const r1 = await session.get('body');
    await r1.content.read(10);
    await arrived(r1);
    r1.close();
    await assert.rejects(settles(r1.content.read(), 'content.read()'), closed);
    let r2: ClientResponse;
    {
      await using r = await session.get('body');
      r2 = r;
      await r.content.read(10);
      await arrived(r);
    }
    await assert.rejects(settles(r2.content.read(), 'content.read()'), closed);
  });

  it('read() gave the body: content raises after release(), text() and json() still give it', async () => {
    await using s = await nodeServer(handler);
    await using session = new ClientSession({ baseUrl: `${s.url}/` });
    const r = await session.get('body');
    assert.equal((await r.read()).length, 2000);
    r.release();
    await assert.rejects(settles(r.content.read(), 'content.read()'), closed);
    assert.equal((await r.text()).length, 2000);
    // aiohttp 3.8's read() raises here while its text() gives the body: weft's read() gives it.
    assert.equal((await r.read()).length, 2000);
  });

  it('an empty body released before it was read is gone: read() and content raise', async () => {
    await using s = await nodeServer(handler);
    await using session = new ClientSession({ baseUrl: `${s.url}/` });
    const r = await session.get('empty');
    r.release();
    await assert.rejects(settles(r.read(), 'read()'), closed);
    await assert.rejects(settles(r.text(), 'text()'), closed);
    await assert.rejects(settles(r.content.read(), 'content.read()'), closed);
    // Unreleased, it reads as empty, connection given back or not; read, it stays read.
    const r2 = await session.get('empty');
    assert.equal(r2.closed, true);
    assert.equal(await r2.text(), '');
    r2.release();
    assert.equal((await r2.read()).length, 0);
  });

  it('HEAD, 204 and 304 read as empty after release(), as aiohttp 3.8.4 EMPTY_PAYLOAD', async () => {
    await using s = await nodeServer((req, res) => {
      const status = req.url === '/204' ? 204 : req.url === '/304' ? 304 : 200;
      res.writeHead(status, status === 200 ? { 'content-length': '2000' } : {});
      res.end(status === 200 && req.method !== 'HEAD' ? 'x'.repeat(2000) : undefined);
    });
    await using session = new ClientSession({ baseUrl: `${s.url}/` });
    const released = [
      await session.head('body'),
      await session.get('204'),
      await session.get('304'),
      await session.head('body', { raiseForStatus: true }),
    ];
    {
      await using r = await session.head('body');
      released.push(r);
    }
    for (const r of released) {
      r.release();
      assert.equal((await settles(r.read(), 'read()')).length, 0, `${r.method} ${r.status}`);
      assert.equal(await r.text(), '');
      assert.equal((await settles(r.content.read(), 'content.read()')).length, 0);
    }
  });

  it('not released, content reads the rest of a body that has arrived whole', async () => {
    await using s = await nodeServer(handler);
    await using session = new ClientSession({ baseUrl: `${s.url}/` });
    const r = await session.get('body');
    await r.content.read(10);
    await arrived(r);
    assert.equal((await r.content.read()).length, 1990);
  });
});

describe('ClientResponse.json(): the Content-Type check is aiohttp 3.8.4 json_re', () => {
  // As aiohttp 3.8.4 answered for each: json() of {"a":1} sent with that Content-Type.
  const accepted = [
    'application/json',
    'application/json; charset=utf-8',
    'Application/JSON',
    'APPLICATION/PROBLEM+JSON',
    'application/vnd.api+json; charset=utf-8',
    'application/jsonp',
    'application/json-seq',
    'application/a+b+json',
    'application/json ;x=1',
    'application/ld+json',
    'application/hal+jsonx',
    'application/x.y+json',
  ];
  const refused = [
    'text/x+json',
    'text/json',
    'application/x-json',
    'application/+json',
    'application/a b+json',
    'application/octet-stream',
    'application/x~y+json',
  ];

  it('the default accepts what aiohttp accepts and refuses what it refuses', async () => {
    await using s = await nodeServer(handler);
    await using session = new ClientSession({ baseUrl: `${s.url}/` });
    for (const t of accepted) {
      const r = await session.get('ct', { params: { t } });
      assert.deepEqual(await r.json(), { a: 1 }, t);
    }
    for (const t of refused) {
      const r = await session.get('ct', { params: { t } });
      await assert.rejects(
        r.json(),
        (e: unknown) =>
          e instanceof ContentTypeError &&
          e.message.startsWith(
            `200, message='Attempt to decode JSON with unexpected mimetype: ${t.toLowerCase()}', url=`,
          ),
        t,
      );
    }
  });

  it('the message names the whole header lower-cased, or nothing when there is none', async () => {
    await using s = await nodeServer(handler);
    await using session = new ClientSession({ baseUrl: `${s.url}/` });
    const r = await session.get('ct', { params: { t: 'Text/X+JSON; Charset=UTF-8' } });
    // aiohttp's str(): `200, message='…', url='…'`.
    await assert.rejects(r.json(), {
      name: 'ContentTypeError',
      message: `200, message='Attempt to decode JSON with unexpected mimetype: text/x+json; charset=utf-8', url='${r.url.href}'`,
    });
    const none = await session.get('ct');
    await assert.rejects(none.json(), {
      name: 'ContentTypeError',
      message: `200, message='Attempt to decode JSON with unexpected mimetype: ', url='${none.url.href}'`,
    });
  });

  it('a Content-Type with bytes past ASCII is read as aiohttp reads it (UTF-8)', async () => {
    await using s = await nodeServer((req, res) => {
      // The exact bytes: é in UTF-8 (C3 A9), or a lone Latin-1 ü (FC).
      const t = Buffer.from(req.url === '/utf8' ? [0xc3, 0xa9] : [0xfc]);
      res.socket?.end(
        Buffer.concat([
          Buffer.from('HTTP/1.1 200 OK\r\nContent-Type: application/'),
          t,
          Buffer.from('+json\r\nContent-Length: 7\r\nConnection: close\r\n\r\n{"a":1}'),
        ]),
      );
    });
    await using session = new ClientSession({ baseUrl: `${s.url}/` });
    // aiohttp 3.8.4: 'application/é+json' passes json_re; a lone 0xFC is '\udcfc', no \w.
    assert.deepEqual(await (await session.get('utf8')).json(), { a: 1 });
    await assert.rejects((await session.get('latin1')).json(), ContentTypeError);
  });

  it('another expected type is a substring of the whole header, as in aiohttp', async () => {
    await using s = await nodeServer(handler);
    await using session = new ClientSession({ baseUrl: `${s.url}/` });
    const get = (t: string) => session.get('ct', { params: { t } });
    assert.deepEqual(
      await (await get('text/plain; charset=utf-8')).json({ contentType: 'charset' }),
      { a: 1 },
    );
    assert.deepEqual(await (await get('text/plain')).json({ contentType: 'plain' }), { a: 1 });
    assert.deepEqual(
      await (await get('application/problem+json; x=1')).json({
        contentType: 'application/problem+json',
      }),
      { a: 1 },
    );
    await assert.rejects((await get('text/plain')).json({ contentType: 'text/html' }), {
      name: 'ContentTypeError',
    });
  });
});

describe('ClientSession: json: null and data with json (aiohttp 3.8.4)', () => {
  it('json: null is no json: the request goes out as one without a body', async () => {
    await using s = await nodeServer(handler);
    await using session = new ClientSession({ baseUrl: `${s.url}/` });
    const bare = (await (await session.post('echo')).json()) as Record<string, unknown>;
    const withNull = (await (await session.post('echo', { json: null })).json()) as Record<
      string,
      unknown
    >;
    assert.equal(withNull.body, '');
    assert.notEqual(withNull.type, 'application/json');
    assert.deepEqual(withNull, bare);
  });

  it('data with json: null sends the data', async () => {
    await using s = await nodeServer(handler);
    await using session = new ClientSession({ baseUrl: `${s.url}/` });
    const r = (await (await session.post('echo', { data: 'x', json: null })).json()) as Record<
      string,
      unknown
    >;
    assert.equal(r.body, 'x');
    assert.equal(r.type, 'text/plain; charset=utf-8');
  });

  it('data with json (0, "", false among them) raises aiohttp\'s ValueError as a RangeError, nothing sent', async () => {
    let requests = 0;
    await using s = await nodeServer((req, res) => {
      requests++;
      handler(req, res);
    });
    await using session = new ClientSession({ baseUrl: `${s.url}/` });
    for (const json of [{ a: 1 }, 0, '', false]) {
      await assert.rejects(
        session.post('echo', { data: 'x', json }),
        (e: unknown) =>
          e instanceof RangeError &&
          e.message === 'data and json parameters can not be used at the same time',
        String(json),
      );
    }
    assert.equal(requests, 0);
    // 0, '' and false are JSON of their own without data.
    const r = (await (await session.post('echo', { json: false })).json()) as Record<
      string,
      unknown
    >;
    assert.equal(r.body, 'false');
  });

  it('json that has no JSON form (a function, a symbol) raises TypeError', async () => {
    await using s = await nodeServer(handler);
    await using session = new ClientSession({ baseUrl: `${s.url}/` });
    for (const json of [() => 1, Symbol('x')]) {
      await assert.rejects(session.post('echo', { json }), (e: unknown) => {
        return (
          e instanceof TypeError && /^json must be serialisable as JSON: received/.test(e.message)
        );
      });
    }
  });
});

describe('ClientSession: baseUrl with a path', () => {
  it('a path that does not end in / is refused (RangeError), as aiohttp 3.10 refuses it', () => {
    for (const base of ['http://h.test/api', 'http://h.test/a/b']) {
      assert.throws(
        () => new ClientSession({ baseUrl: base }),
        (e: unknown) =>
          e instanceof RangeError &&
          e.message.startsWith("baseUrl must have a trailing '/'") &&
          e.message.includes(JSON.stringify(base)),
        base,
      );
    }
  });

  it('a query or a fragment is refused (they would be dropped from every request)', () => {
    for (const base of ['http://h.test/?key=1', 'http://h.test/a/#top']) {
      assert.throws(
        () => new ClientSession({ baseUrl: base }),
        (e: unknown) => e instanceof RangeError && /query or a fragment/.test(e.message),
        base,
      );
    }
  });

  it('a base that is not a string or a URL is a TypeError; not absolute http(s), InvalidURL', () => {
    assert.throws(
      () => new ClientSession({ baseUrl: 42 as never }),
      (e: unknown) =>
        e instanceof TypeError && /baseUrl must be a string or a URL: received 42/.test(e.message),
    );
    for (const base of ['/api/', 'ftp://h.test/', 'nope']) {
      assert.throws(() => new ClientSession({ baseUrl: base }), InvalidURL, base);
    }
  });

  it("a path ending in / joins as aiohttp 3.10's: 'x' under it, '/x' from the root", async () => {
    await using s = await nodeServer(handler);
    await using session = new ClientSession({ baseUrl: new URL(`${s.url}/a/`) });
    const path = async (u: string): Promise<unknown> =>
      ((await (await session.get(u)).json()) as { path: string }).path;
    assert.equal(await path('echo'), '/a/echo');
    assert.equal(await path('b/echo?q=1'), '/a/b/echo?q=1');
    assert.equal(await path('/echo'), '/echo');
    assert.equal(await path(''), '/a/');
    assert.equal(await path(`${s.url}/other`), '/other');
    assert.equal(session.baseUrl?.href, `${s.url}/a/`);
  });
});

describe('ClientSession: options of the wrong type are a TypeError naming them', () => {
  const typeError = (re: RegExp) => (e: unknown) => e instanceof TypeError && re.test(e.message);

  it('allowRedirects and raiseForStatus must be booleans; nothing is sent', async () => {
    let requests = 0;
    await using s = await nodeServer((req, res) => {
      requests++;
      handler(req, res);
    });
    await using session = new ClientSession({ baseUrl: `${s.url}/` });
    for (const v of ['no', 0, 1, 'false', {}]) {
      await assert.rejects(
        session.get('redirect', { allowRedirects: v as never }),
        typeError(/^allowRedirects must be a boolean: received /),
        String(v),
      );
      await assert.rejects(
        session.get('redirect', { raiseForStatus: v as never }),
        typeError(/^raiseForStatus must be a boolean: received /),
        String(v),
      );
    }
    await assert.rejects(
      session.get('redirect', { allowRedirects: 'no' as never }),
      typeError(/allowRedirects must be a boolean: received "no"$/),
    );
    assert.equal(requests, 0);
    // null is the default, as every option of null.
    const r = await session.get('redirect', {
      allowRedirects: null,
      raiseForStatus: null,
      signal: null,
    } as never);
    assert.equal(r.history.length, 1);
    await r.read();
    const r2 = await session.get('redirect', { allowRedirects: false });
    assert.equal(r2.status, 302);
    r2.release();
  });

  it('head() does not follow redirects when allowRedirects is given as undefined', async () => {
    await using s = await nodeServer(handler);
    await using session = new ClientSession({ baseUrl: `${s.url}/` });
    const r = await session.head('redirect', { allowRedirects: undefined });
    assert.equal(r.status, 302);
    assert.equal((await session.head('redirect', { allowRedirects: true })).status, 200);
  });

  it('signal must be an AbortSignal, options an object', async () => {
    await using s = await nodeServer(handler);
    await using session = new ClientSession({ baseUrl: `${s.url}/` });
    await assert.rejects(
      session.get('echo', { signal: {} as never }),
      typeError(/^signal must be an AbortSignal: received an object$/),
    );
    for (const o of ['x', 5, true, []]) {
      await assert.rejects(
        session.get('echo', o as never),
        typeError(/^request options must be an object: received /),
      );
      await assert.rejects(
        session.head('echo', o as never),
        typeError(/^request options must be an object: received /),
      );
    }
  });

  it("the session's options: booleans, numbers, the jar and its cookies", async () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ raiseForStatus: 'yes' }, /^raiseForStatus must be a boolean: received "yes"$/],
      [{ autoDecompress: 0 }, /^autoDecompress must be a boolean: received 0$/],
      [{ limit: '5' }, /^limit must be a number: received "5"$/],
      [{ limitPerHost: '1' }, /^limitPerHost must be a number: received "1"$/],
      [{ maxDecompressSize: '1' }, /^maxDecompressSize must be a number: received "1"$/],
      [{ cookieJar: {} }, /^cookieJar must be a CookieJar: received an object$/],
      [{ cookies: 'a=b' }, /^cookies must be a plain object of name → value: received "a=b"$/],
    ];
    for (const [o, re] of cases) {
      assert.throws(() => new ClientSession(o as never), typeError(re), JSON.stringify(o));
    }
    assert.throws(
      () => new ClientSession('http://h.test/' as never),
      typeError(/^ClientSession options must be an object: received "http:\/\/h.test\/"$/),
    );
    // Options of null are still no options.
    await new ClientSession({
      baseUrl: null,
      cookieJar: null,
      cookies: null,
      raiseForStatus: null,
      autoDecompress: null,
      limit: null,
    } as never).close();
    // The right types still do.
    const ok = new ClientSession({
      raiseForStatus: null as never,
      autoDecompress: false,
      cookieJar: new CookieJar(),
      cookies: { a: 'b' },
    });
    await ok.close();
  });

  // aiohttp raises TypeError for a keyword it does not take; a name weft does not know was
  // dropped without a word (a Python habit such as `allow_redirects: false` followed redirects).
  it('an option name that is not one is a TypeError naming it, nothing sent', async () => {
    let requests = 0;
    await using s = await nodeServer((req, res) => {
      requests++;
      handler(req, res);
    });
    await using session = new ClientSession({ baseUrl: `${s.url}/` });
    await assert.rejects(
      session.get('redirect', { allow_redirects: false } as never),
      typeError(
        /^request options: unknown option 'allow_redirects' \(did you mean 'allowRedirects'\?\); the options are params, headers, /,
      ),
    );
    await assert.rejects(
      session.head('redirect', { auth: 'u:p' } as never),
      typeError(/^request options: unknown option 'auth'; the options are /),
    );
    await assert.rejects(
      session.get('redirect', { timeout: { total: 1000, sock_read: 5 } } as never),
      typeError(/^timeout: unknown option 'sock_read' \(did you mean 'sockRead'\?\)/),
    );
    assert.equal(requests, 0);
    assert.throws(
      () => new ClientSession({ raise_for_status: true } as never),
      typeError(
        /^ClientSession options: unknown option 'raise_for_status' \(did you mean 'raiseForStatus'\?\)/,
      ),
    );
    assert.throws(
      () => new ClientSession({ timeout: { read: 5 } } as never),
      typeError(/^timeout: unknown option 'read'; the options are total, connect, sockRead$/),
    );
    // Every documented name is still taken.
    const r = await session.get('redirect', {
      params: {},
      headers: {},
      data: null,
      json: null,
      allowRedirects: false,
      maxRedirects: 3,
      timeout: { total: 30_000, connect: 30_000, sockRead: 30_000 },
      raiseForStatus: false,
      signal: new AbortController().signal,
    });
    assert.equal(r.status, 302);
    r.release();
    assert.equal(requests, 1);
  });
});

import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { describe, it } from 'node:test';
import { sleep } from '../../src/asyncio/sleep.js';
import { currentTask, Task } from '../../src/asyncio/task.js';
import { waitFor } from '../../src/asyncio/wait-for.js';
import { CancelledError } from '../../src/internal/errors.js';
import { AppRunner } from '../../src/web/app-runner.js';
import { Application } from '../../src/web/application.js';
import {
  HTTPBadRequest,
  HTTPFound,
  HTTPNotFound,
  HTTPTooManyRequests,
} from '../../src/web/http-exceptions.js';
import type { Request } from '../../src/web/request.js';
import { jsonResponse, Response } from '../../src/web/response.js';
import { runApp } from '../../src/web/run-app.js';
import { StreamResponse } from '../../src/web/stream-response.js';
import { TCPSite } from '../../src/web/tcp-site.js';
import { checkLeaks } from '../support/leaks.js';
import { raw, serve } from './loopback.js';

checkLeaks();

describe('request', () => {
  it('request exposes query, headers, cookies, url and remote', async () => {
    const app = new Application();
    app.router.addGet('/q', (r) =>
      jsonResponse({
        qs: r.queryString,
        a: r.query.getAll('a'),
        h: r.headers['x-test'],
        c: r.cookies,
        url: r.url.href,
        path: r.path,
        remote: r.remote,
      }),
    );
    await using s = await serve(app);
    const res = await fetch(`${s.url}/q?a=1&a=2&b=x%20y`, {
      headers: { 'x-test': 'yes', cookie: 'k=v; e=%20sp' },
    });
    const j = (await res.json()) as Record<string, unknown>;
    assert.equal(res.headers.get('content-type'), 'application/json; charset=utf-8');
    assert.deepEqual(j, {
      qs: 'a=1&a=2&b=x y',
      a: ['1', '2'],
      h: 'yes',
      c: { k: 'v', e: ' sp' },
      url: `${s.url}/q?a=1&a=2&b=x%20y`,
      path: '/q',
      remote: '127.0.0.1',
    });
  });

  it('queryString is decoded as aiohttp decodes it; rawQueryString and query keep the pairs', async () => {
    const app = new Application();
    app.router.addGet('/q', (r) =>
      jsonResponse({ qs: r.queryString, raw: r.rawQueryString, a: r.query.getAll('a') }),
    );
    await using s = await serve(app);
    // What aiohttp (yarl) gives for each raw query, checked with Python 3.11.
    const cases: Array<[string, string, string[]]> = [
      ['a=%26%3D%3B%25%23%2B', 'a=%26%3D%3B%#%2B', ['&=;%#+']],
      ['a=%E2%82%AC+%zz', 'a=€ %zz', ['€ %zz']],
      ['a=%2F%3F&a=x+y%20z', 'a=/?&a=x y z', ['/?', 'x y z']],
      ['a=plain', 'a=plain', ['plain']],
    ];
    for (const [raw0, qs, a] of cases) {
      const r = await raw(
        s.port,
        `GET /q?${raw0} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
      );
      // raw() reads bytes as latin1: the JSON body is UTF-8.
      const bytes = Buffer.from(r.text.slice(r.text.indexOf('\r\n\r\n') + 4), 'latin1');
      const body = JSON.parse(bytes.toString('utf8')) as unknown;
      assert.deepEqual(body, { qs, raw: raw0, a }, raw0);
    }
  });

  it('an absolute-form target routes on its path; its authority is the host', async () => {
    // RFC 9112 §3.2.2: a server must accept `GET http://host/path` and ignore Host then.
    const app = new Application();
    app.router.addGet('/', () => new Response({ text: 'root' }));
    app.router.addGet('/a/{x}', (r) =>
      jsonResponse({
        x: r.matchInfo.x,
        rawPathQs: r.rawPathQs,
        path: r.path,
        qs: r.queryString,
        host: r.host,
        url: r.url.href,
      }),
    );
    await using s = await serve(app);
    const r = await raw(
      s.port,
      'GET http://example.com:8080/a/b%20c?k=v HTTP/1.1\r\nHost: other\r\nConnection: close\r\n\r\n',
    );
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(JSON.parse(r.text.slice(r.text.indexOf('\r\n\r\n') + 4)), {
      x: 'b c',
      rawPathQs: '/a/b%20c?k=v',
      path: '/a/b c',
      qs: 'k=v',
      host: 'example.com:8080',
      url: 'http://example.com:8080/a/b%20c?k=v',
    });
    // No path at all is the root.
    const bare = await raw(s.port, 'GET http://x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    assert.equal(bare.status, 200, bare.text);
    assert.match(bare.text, /root$/);
  });

  it('a target starting with // is a path on this host, not another authority', async () => {
    const app = new Application();
    app.router.addGet('/{tail:.*}', (r) =>
      jsonResponse({ host: r.url.host, pathname: r.url.pathname, path: r.path }),
    );
    await using s = await serve(app);
    const r = await raw(
      s.port,
      'GET //evil.example/x?y=1 HTTP/1.1\r\nHost: good.example\r\nConnection: close\r\n\r\n',
    );
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(JSON.parse(r.text.slice(r.text.indexOf('\r\n\r\n') + 4)), {
      host: 'good.example',
      pathname: '//evil.example/x',
      path: '//evil.example/x',
    });
  });

  it('text, json and read give the body; bad JSON answers 400', async () => {
    const app = new Application();
    app.router.addPost('/t', async (r) => new Response({ text: `[${await r.text()}]` }));
    app.router.addPost('/j', async (r) => jsonResponse(await r.json()));
    app.router.addPost('/b', async (r) => new Response({ body: await r.read() }));
    await using s = await serve(app);
    assert.equal(
      await (await fetch(`${s.url}/t`, { method: 'POST', body: 'héllo' })).text(),
      '[héllo]',
    );
    assert.deepEqual(
      await (await fetch(`${s.url}/j`, { method: 'POST', body: '{"a":[1]}' })).json(),
      {
        a: [1],
      },
    );
    const bad = await fetch(`${s.url}/j`, { method: 'POST', body: '{nope' });
    assert.equal(bad.status, 400);
    assert.match(await bad.text(), /not valid JSON/);
    const b = await fetch(`${s.url}/b`, { method: 'POST', body: new Uint8Array([0, 1, 255]) });
    assert.equal(b.headers.get('content-type'), 'application/octet-stream');
    assert.deepEqual([...new Uint8Array(await b.arrayBuffer())], [0, 1, 255]);
  });

  it('post parses urlencoded and multipart forms', async () => {
    const app = new Application();
    app.router.addPost('/f', async (r) => {
      const f = await r.post();
      const out: string[] = [];
      for (const [k, v] of f)
        out.push(`${k}=${typeof v === 'string' ? v : `${v.name}:${await v.text()}`}`);
      return new Response({ text: out.join('&') });
    });
    await using s = await serve(app);
    const u = await fetch(`${s.url}/f`, { method: 'POST', body: new URLSearchParams('a=1&b=two') });
    assert.equal(await u.text(), 'a=1&b=two');
    const fd = new FormData();
    fd.append('x', 'y');
    fd.append('up', new Blob(['file body']), 'n.txt');
    const m = await fetch(`${s.url}/f`, { method: 'POST', body: fd });
    assert.equal(await m.text(), 'x=y&up=n.txt:file body');
  });

  it('content reads the body line by line as a StreamReader', async () => {
    const app = new Application();
    app.router.addPost('/lines', async (r) => {
      const lines: string[] = [];
      for await (const line of r.content) lines.push(line.toString().trim());
      return jsonResponse(lines);
    });
    await using s = await serve(app);
    const r = await fetch(`${s.url}/lines`, { method: 'POST', body: 'a\nbb\nccc' });
    assert.deepEqual(await r.json(), ['a', 'bb', 'ccc']);
  });
});

describe('responses', () => {
  it('thrown HTTP errors become their responses with headers', async () => {
    const app = new Application();
    app.router.addGet('/go', () => {
      throw new HTTPFound('/there');
    });
    app.router.addGet('/slow', () => {
      throw new HTTPTooManyRequests({ text: 'later', headers: { 'retry-after': '5' } });
    });
    await using s = await serve(app);
    const a = await fetch(`${s.url}/go`, { redirect: 'manual' });
    assert.equal(a.status, 302);
    assert.equal(a.headers.get('location'), '/there');
    // aiohttp 3.8's body for a redirect (checked): the status and its reason.
    assert.equal(await a.text(), '302: Found');
    assert.equal(a.headers.get('content-type'), 'text/plain; charset=utf-8');
    const b = await fetch(`${s.url}/slow`);
    assert.equal(b.status, 429);
    assert.equal(b.headers.get('retry-after'), '5');
    assert.equal(await b.text(), 'later');
  });

  it('setCookie and custom headers reach the client', async () => {
    const app = new Application();
    app.router.addGet('/', () => {
      const r = new Response({ text: 'ok', headers: { 'x-a': '1' }, reason: 'Fine' });
      r.setCookie('s', 'abc', { httpOnly: true, maxAge: 60 });
      r.setCookie('t', 'def');
      return r;
    });
    await using s = await serve(app);
    const r = await fetch(`${s.url}/`);
    assert.equal(r.headers.get('x-a'), '1');
    assert.equal(r.statusText, 'Fine');
    assert.deepEqual(r.headers.getSetCookie(), [
      's=abc; Path=/; Max-Age=60; HttpOnly',
      't=def; Path=/',
    ]);
    assert.equal(await r.text(), 'ok');
  });

  it('StreamResponse writes chunks in order', async () => {
    const app = new Application();
    app.router.addGet('/s', async (req) => {
      const r = new StreamResponse();
      r.contentType = 'text/plain';
      await r.prepare(req);
      for (let i = 0; i < 3; i++) {
        await r.write(`part${i};`);
        await sleep(5);
      }
      await r.writeEof('end');
      return r;
    });
    await using s = await serve(app);
    assert.equal(await (await fetch(`${s.url}/s`)).text(), 'part0;part1;part2;end');
  });

  it('a StreamResponse without a content type is sent as application/octet-stream, as in aiohttp', async () => {
    const app = new Application();
    app.router.addGet('/bytes', async (req) => {
      const r = new StreamResponse();
      await r.prepare(req);
      await r.writeEof('raw');
      return r;
    });
    app.router.addGet('/typed', async (req) => {
      const r = new StreamResponse();
      r.contentType = 'text/csv';
      await r.prepare(req);
      await r.writeEof('a,b');
      return r;
    });
    app.router.addGet('/empty', async (req) => {
      const r = new StreamResponse({ status: 204 });
      await r.prepare(req);
      await r.writeEof();
      return r;
    });
    await using s = await serve(app);
    const bytes = await fetch(`${s.url}/bytes`);
    assert.equal(bytes.headers.get('content-type'), 'application/octet-stream');
    assert.equal(await bytes.text(), 'raw');
    const typed = await fetch(`${s.url}/typed`);
    assert.equal(typed.headers.get('content-type'), 'text/csv');
    await typed.text();
    const empty = await fetch(`${s.url}/empty`);
    assert.equal(empty.status, 204);
    assert.equal(empty.headers.get('content-type'), null, 'a 204 has no body to type');
  });

  it('a StreamResponse keeps to its declared Content-Length on a kept-alive connection', async () => {
    // Bytes past the length would be read as the next response; aiohttp cuts them off. A body
    // short of it cannot be completed: the connection closes after it, not kept alive.
    const app = new Application();
    const stream = (declared: number, body: string) => async (req: Request) => {
      const r = new StreamResponse();
      r.contentLength = declared;
      await r.prepare(req);
      await r.write(body);
      await r.writeEof();
      return r;
    };
    app.router.addGet('/more', stream(2, 'abc'));
    app.router.addGet('/eof-more', async (req) => {
      const r = new StreamResponse();
      r.contentLength = 3;
      await r.prepare(req);
      await r.write('a');
      await r.writeEof('bcd');
      return r;
    });
    app.router.addGet('/less', stream(5, 'ab'));
    app.router.addGet('/ok', () => new Response({ text: 'ok' }));
    await using s = await serve(app);
    const next = 'GET /ok HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n';
    const more = await raw(s.port, `GET /more HTTP/1.1\r\nHost: x\r\n\r\n${next}`);
    assert.match(more.text, /\r\n\r\nabHTTP\/1\.1 200 OK\r\n/);
    assert.match(more.text, /\r\n\r\nok$/);
    const eofMore = await raw(s.port, `GET /eof-more HTTP/1.1\r\nHost: x\r\n\r\n${next}`);
    assert.match(eofMore.text, /\r\n\r\nabcHTTP\/1\.1 200 OK\r\n/);
    const less = await raw(s.port, `GET /less HTTP/1.1\r\nHost: x\r\n\r\n${next}`);
    assert.equal(less.closed, true);
    assert.match(less.text, /\r\n\r\nab$/);
  });

  it('a handler error answers 500 without the stack and reaches onError', async () => {
    const seen: unknown[] = [];
    const app = new Application({ onError: (e) => seen.push(e) });
    app.router.addGet('/boom', () => {
      throw new Error('secret detail at /srv/app.ts:12');
    });
    app.router.addGet('/bad', () => 'not a response' as never);
    await using s = await serve(app);
    const r = await fetch(`${s.url}/boom`);
    assert.equal(r.status, 500);
    const body = await r.text();
    // aiohttp's text (outside its debug mode).
    assert.equal(body, '500 Internal Server Error\n\nServer got itself in trouble');
    assert.doesNotMatch(body, /secret|app\.ts/);
    assert.equal((seen[0] as Error).message, 'secret detail at /srv/app.ts:12');
    const r2 = await fetch(`${s.url}/bad`);
    assert.equal(r2.status, 500);
    await r2.text();
    assert.ok(seen[1] instanceof TypeError);
  });

  it('a client that disconnects mid-response is not reported as a server error', async () => {
    const seen: unknown[] = [];
    let ended!: (e: unknown) => void;
    const handlerSaw = new Promise<unknown>((r) => (ended = r));
    const app = new Application({ onError: (e) => seen.push(e) });
    app.router.addGet('/s', async (req) => {
      const r = new StreamResponse();
      await r.prepare(req);
      try {
        for (;;) await r.write(Buffer.alloc(64 * 1024));
      } catch (e) {
        ended(e);
        throw e;
      }
    });
    await using s = await serve(app);
    await new Promise<void>((resolve) => {
      const c = connect(s.port, '127.0.0.1');
      let n = 0;
      c.on('data', (d) => {
        n += d.length;
        if (n > 256 * 1024) c.destroy();
      });
      c.on('error', () => {});
      c.on('close', () => resolve());
      c.write('GET /s HTTP/1.1\r\nHost: x\r\n\r\n');
    });
    assert.ok((await handlerSaw) instanceof Error);
    while (s.runner.inflight > 0) await sleep(5);
    assert.deepEqual(seen, []);
  });

  it('a Content-Type set on headers after the Response was built is the one sent', async () => {
    const app = new Application();
    app.router.addGet('/late', () => {
      const r = new Response({ text: '<a/>' });
      r.headers.set('Content-Type', 'application/xml');
      return r;
    });
    app.router.addGet('/option', () => {
      const r = new Response({ text: 'x', headers: { 'Content-Type': 'text/html' } });
      r.contentType = 'text/csv';
      return r;
    });
    await using s = await serve(app);
    const late = await fetch(`${s.url}/late`);
    assert.equal(late.headers.get('content-type'), 'application/xml');
    assert.equal(await late.text(), '<a/>');
    const option = await fetch(`${s.url}/option`);
    assert.equal(option.headers.get('content-type'), 'text/csv');
    await option.text();
  });

  it('an HTTP error with a Content-Type header sends that one header', async () => {
    const app = new Application();
    app.router.addGet('/e', () => {
      throw new HTTPBadRequest({
        text: '{"error":"bad"}',
        headers: { 'Content-Type': 'application/json' },
      });
    });
    await using s = await serve(app);
    const r = await raw(s.port, 'GET /e HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    assert.equal(r.status, 400);
    const types = r.text.split('\r\n').filter((l) => /^content-type:/i.test(l));
    assert.deepEqual(types, ['content-type: application/json']);
    assert.ok(r.text.endsWith('{"error":"bad"}'));
  });

  it('a returned HTTP exception is answered as if thrown', async () => {
    const seen: unknown[] = [];
    const app = new Application({ onError: (e) => seen.push(e) });
    app.router.addGet('/gone', () => new HTTPNotFound({ text: 'nothing here' }) as never);
    app.router.addGet('/moved', async () => new HTTPFound('/elsewhere') as never);
    await using s = await serve(app);
    const gone = await fetch(`${s.url}/gone`);
    assert.equal(gone.status, 404);
    assert.equal(await gone.text(), 'nothing here');
    const moved = await fetch(`${s.url}/moved`, { redirect: 'manual' });
    assert.equal(moved.status, 302);
    assert.equal(moved.headers.get('location'), '/elsewhere');
    await moved.text();
    assert.deepEqual(seen, []);
  });

  it('a TimeoutError nobody caught answers 504 and is not a server error', async () => {
    const seen: unknown[] = [];
    const app = new Application({ onError: (e) => seen.push(e) });
    app.router.addGet('/upstream', () => waitFor(sleep(5000), 10));
    await using s = await serve(app);
    const r = await fetch(`${s.url}/upstream`);
    assert.equal(r.status, 504);
    // aiohttp's 504 has no body.
    assert.equal(await r.text(), '');
    assert.equal(r.headers.get('content-type'), 'text/plain');
    assert.deepEqual(seen, []);
  });

  it('Response with bad input throws typed errors', () => {
    assert.throws(() => new Response({ status: 42 }), RangeError);
    assert.throws(() => new Response({ text: 'a', body: 'b' }), TypeError);
    assert.throws(() => new Response({ text: 5 as never }), TypeError);
    assert.throws(() => new Response().setCookie('bad name', 'v'), TypeError);
    assert.throws(() => new HTTPFound(''), TypeError);
  });
});

describe('application', () => {
  it('middlewares wrap handlers outermost first and may catch HTTP errors', async () => {
    const order: string[] = [];
    const app = new Application({
      middlewares: [
        async (req, handler) => {
          order.push('outer in');
          try {
            return await handler(req);
          } catch (e) {
            if (e instanceof HTTPNotFound) return new Response({ text: 'custom 404', status: 404 });
            throw e;
          } finally {
            order.push('outer out');
          }
        },
        async (req, handler) => {
          order.push('inner');
          const r = await handler(req);
          r.headers.set('x-mw', '1');
          return r;
        },
      ],
    });
    app.router.addGet('/', () => {
      order.push('handler');
      return new Response({ text: 'hi' });
    });
    await using s = await serve(app);
    const r = await fetch(`${s.url}/`);
    assert.equal(r.headers.get('x-mw'), '1');
    assert.equal(await r.text(), 'hi');
    assert.deepEqual(order, ['outer in', 'inner', 'handler', 'outer out']);
    const nf = await fetch(`${s.url}/missing`);
    assert.equal(await nf.text(), 'custom 404');
  });

  it('lifecycle hooks run in order and state is shared', async () => {
    // aiohttp's order: cleanup contexts open before the onStartup hooks (which may use what they
    // opened) and close before the onCleanup hooks.
    const log: string[] = [];
    const app = new Application();
    app.onStartup.push((a) => {
      a.state.set('db', `connected to ${String(a.state.get('pool'))}`);
      log.push('startup');
    });
    app.cleanupCtx.push(async function* (a) {
      a.state.set('pool', 'pool');
      log.push('ctx up');
      yield;
      log.push('ctx down');
    });
    app.onShutdown.push(() => {
      log.push('shutdown');
    });
    app.onCleanup.push(() => {
      log.push('cleanup');
    });
    app.router.addGet('/', (r) => new Response({ text: String(r.app.state.get('db')) }));
    {
      await using s = await serve(app);
      assert.equal(await (await fetch(`${s.url}/`)).text(), 'connected to pool');
    }
    assert.deepEqual(log, ['ctx up', 'startup', 'shutdown', 'ctx down', 'cleanup']);
  });

  it('a failed startup finishes the cleanup contexts that started, and only those', async () => {
    const log: string[] = [];
    const app = new Application();
    app.cleanupCtx.push(async function* () {
      log.push('ctx1 up');
      yield;
      log.push('ctx1 down');
    });
    app.cleanupCtx.push(async function* () {
      // Fails before its yield, as a resource that cannot be opened does.
      if (log.length > 0) throw new Error('ctx2 failed');
      yield;
    });
    app.cleanupCtx.push(async function* () {
      log.push('ctx3 up');
      yield;
      log.push('ctx3 down');
    });
    app.onCleanup.push(() => {
      log.push('cleanup');
    });
    const runner = new AppRunner(app);
    await assert.rejects(runner.setup(), /ctx2 failed/);
    assert.deepEqual(log, ['ctx1 up', 'ctx1 down', 'cleanup']);
    await runner.cleanup();
    assert.deepEqual(log, ['ctx1 up', 'ctx1 down', 'cleanup']);
  });

  it('handlers run as weft tasks: currentTask is set inside', async () => {
    const app = new Application();
    app.router.addGet('/', async () => {
      await sleep(1);
      return new Response({ text: String(currentTask() !== null) });
    });
    await using s = await serve(app);
    assert.equal(await (await fetch(`${s.url}/`)).text(), 'true');
  });

  it('a sync handler runs in a task of its own per request, done once answered', async () => {
    const tasks: (Task<unknown> | null)[] = [];
    const app = new Application();
    app.router.addGet('/', () => {
      tasks.push(currentTask());
      return new Response({ text: String(currentTask()?.done()) });
    });
    await using s = await serve(app);
    assert.equal(await (await fetch(`${s.url}/`)).text(), 'false');
    assert.equal(await (await fetch(`${s.url}/`)).text(), 'false');
    const [a, b] = tasks;
    assert.ok(a instanceof Task && b instanceof Task);
    assert.notEqual(a, b);
    assert.equal(a.done() && !a.cancelled(), true);
  });

  it('an async handler keeps its task across native and weft awaits', async () => {
    const seen: (Task<unknown> | null)[] = [];
    const app = new Application();
    app.router.addGet('/', async () => {
      seen.push(currentTask());
      await new Promise((r) => setTimeout(r, 1));
      seen.push(currentTask());
      await sleep(1);
      seen.push(currentTask());
      return new Response({ text: 'ok' });
    });
    await using s = await serve(app);
    assert.equal(await (await fetch(`${s.url}/`)).text(), 'ok');
    assert.ok(seen[0] instanceof Task);
    assert.deepEqual(seen, [seen[0], seen[0], seen[0]]);
  });

  it('client disconnect during a native await cancels the handler at its next weft await', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const w = waitingHandler(() => gate);
    await using s = await serve(w.app);
    const client = requestWait(s.port);
    await w.began;
    const closed = new Promise((r) => client.once('close', r));
    client.destroy();
    await closed;
    while ((w.task() as Task<unknown> | null)?.cancelling() === 0) await sleep(5);
    release();
    assert.ok((await w.seen) instanceof CancelledError);
    while (!(w.task() as Task<unknown> | null)?.done()) await sleep(5);
    assert.equal((w.task() as Task<unknown> | null)?.cancelled(), true);
  });

  it('client disconnect cancels the handler task', async () => {
    const w = waitingHandler(null);
    await using s = await serve(w.app);
    const client = requestWait(s.port);
    await w.began;
    client.destroy();
    const e = await w.seen;
    assert.ok(e instanceof CancelledError);
  });

  it('cleanup waits for in-flight requests, then refuses new connections', async () => {
    const app = new Application();
    let started!: () => void;
    const began = new Promise<void>((r) => (started = r));
    app.router.addGet('/slow', async () => {
      started();
      await sleep(100);
      return new Response({ text: 'finished' });
    });
    const s = await serve(app);
    const res = fetch(`${s.url}/slow`).then((r) => r.text());
    await began;
    await s.runner.cleanup();
    assert.equal(await res, 'finished');
    await assert.rejects(fetch(`${s.url}/slow`));
  });

  it('cleanup cancels handlers still running after shutdownTimeout', async () => {
    const app = new Application();
    let started!: () => void;
    const began = new Promise<void>((r) => (started = r));
    let cancelled = false;
    app.router.addGet('/stuck', async () => {
      started();
      try {
        await sleep(60_000);
      } catch (e) {
        cancelled = e instanceof CancelledError;
        throw e;
      }
      return new Response({ text: 'never' });
    });
    const s = await serve(app, { shutdownTimeout: 50 });
    const res = fetch(`${s.url}/stuck`).then(
      (r) => r.status,
      () => 'failed',
    );
    await began;
    await s.runner.cleanup();
    assert.equal(cancelled, true);
    assert.equal(await res, 'failed');
  });

  it('runApp serves until its signal aborts, then cleans up', async () => {
    const app = new Application();
    const log: string[] = [];
    app.onCleanup.push(() => {
      log.push('cleanup');
    });
    app.router.addGet('/', () => new Response({ text: 'up' }));
    const ac = new AbortController();
    let url = '';
    const done = runApp(app, {
      port: 0,
      signal: ac.signal,
      handleSignals: false,
      onReady: (site) => {
        url = site.name;
      },
    });
    while (url === '') await sleep(5);
    assert.equal(await (await fetch(url)).text(), 'up');
    ac.abort();
    await done;
    assert.deepEqual(log, ['cleanup']);
  });

  it('TCPSite before setup and a busy port fail with clear errors', async () => {
    const app = new Application();
    const runner = new AppRunner(app);
    await assert.rejects(new TCPSite(runner, '127.0.0.1', 0).start(), /setup/);
    await runner.setup();
    const a = new TCPSite(runner, '127.0.0.1', 0);
    await a.start();
    await assert.rejects(new TCPSite(runner, '127.0.0.1', a.port).start(), /EADDRINUSE/);
    await runner.cleanup();
    assert.throws(() => new TCPSite(runner, '127.0.0.1', 70000), RangeError);
  });
});

/**
 * An app whose `GET /wait` handler records its task, says it began, awaits `before` if given (a
 * native promise), then sleeps 30 s; `seen` resolves to the error that sleep raised.
 */
function waitingHandler(before: (() => Promise<void>) | null): {
  app: Application;
  began: Promise<void>;
  seen: Promise<unknown>;
  task: () => Task<unknown> | null;
} {
  let resolveSeen!: (e: unknown) => void;
  const seen = new Promise<unknown>((r) => (resolveSeen = r));
  let started!: () => void;
  const began = new Promise<void>((r) => (started = r));
  let task: Task<unknown> | null = null;
  const app = new Application();
  app.router.addGet('/wait', async () => {
    task = currentTask();
    started();
    if (before !== null) await before();
    try {
      await sleep(30_000);
    } catch (e) {
      resolveSeen(e);
      throw e;
    }
    return new Response({ text: 'late' });
  });
  return { app, began, seen, task: () => task };
}

/** A raw client that sends `GET /wait` and ignores its own errors (the tests destroy it). */
function requestWait(port: number): import('node:net').Socket {
  const client = connect(port, '127.0.0.1');
  client.on('error', () => {});
  client.write('GET /wait HTTP/1.1\r\nHost: x\r\n\r\n');
  return client;
}

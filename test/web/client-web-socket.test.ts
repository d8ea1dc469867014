/**
 * session.wsConnect() and ClientWebSocketResponse, against two servers that answer the same
 * routes: weft's own (below) and aiohttp 3.8 (fixtures/aiohttp_ws_peer.py, run by
 * /usr/bin/python3). The expected values were checked with aiohttp's own client against the
 * same aiohttp server; where weft departs (docs/web.md says so), the test says why.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import type { Socket } from 'node:net';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { WebSocketServer } from 'ws';
import { run } from '../../src/asyncio/run.js';
import { createTask } from '../../src/asyncio/task.js';
import { CancelledError, RuntimeError, TimeoutError } from '../../src/internal/errors.js';
import { ConnectionResetError } from '../../src/socket/errors.js';
import { Application } from '../../src/web/application.js';
import { ClientSession } from '../../src/web/client-session.js';
import { CookieJar } from '../../src/web/cookie-jar.js';
import {
  ClientConnectorError,
  ClientResponseError,
  WSServerHandshakeError,
} from '../../src/web/errors.js';
import { Response } from '../../src/web/response.js';
import { WebSocketResponse, WSMsgType } from '../../src/web/web-socket-response.js';
import { checkLeaks } from '../support/leaks.js';
import { settles } from '../support/settles.js';
import { until } from '../support/until.js';
import { serve } from './loopback.js';

checkLeaks({ graceMs: 3000 });

/** The /silent handlers of weft's server waiting to read again. */
const silentHeld: (() => void)[] = [];

/** Lets weft's /silent handlers read again (their clients have gone). */
function releaseSilent(): void {
  for (const release of silentHeld.splice(0)) release();
}

/** weft's server with the routes of fixtures/aiohttp_ws_peer.py. */
function weftApp(): Application {
  const app = new Application();
  app.router.addGet('/echo', async (request) => {
    const ws = new WebSocketResponse({ protocols: ['chat'] });
    await ws.prepare(request);
    for await (const msg of ws) {
      if (msg.type === WSMsgType.BINARY) await ws.sendBytes(msg.data);
      if (msg.type !== WSMsgType.TEXT) continue;
      const [cmd, a = '', b = ''] = splitCommand(msg.data);
      if (cmd === 'close') await ws.close({ code: Number(a), message: b });
      else if (cmd === 'ping') ws.ping(a);
      else if (cmd === 'reset') (request.raw.socket as Socket).resetAndDestroy();
      else if (cmd === 'big') await ws.sendBytes(Buffer.alloc(Number(a), 'x'));
      else if (cmd === 'headers') {
        const h = request.headers;
        await ws.sendStr(
          JSON.stringify({
            cookie: h.cookie ?? null,
            'user-agent': h['user-agent'] ?? null,
            'x-test': h['x-test'] ?? null,
            origin: h.origin ?? null,
            query: request.queryString,
          }),
        );
      } else await ws.sendStr(msg.data);
    }
    return ws;
  });
  app.router.addGet('/silent', async (request) => {
    const ws = new WebSocketResponse();
    await ws.prepare(request);
    // Not read until the test lets go (releaseSilent), once its client has given up: pings go
    // unanswered, as the aiohttp peer's (autoping=False, never receiving). Then read until the
    // client has gone, so the handler ends with its test.
    const socket = request.raw.socket as Socket;
    socket.pause();
    await new Promise<void>((r) => silentHeld.push(r));
    socket.resume();
    for await (const _ of ws);
    return ws;
  });
  app.router.addGet('/notws', () => {
    const r = new Response({ text: 'no WebSocket here', status: 403 });
    r.setCookie('refused', 'yes');
    return r;
  });
  return app;
}

/** `close 4001 bye bye` → ['close', '4001', 'bye bye'], as the Python peer's split(' ', 2). */
function splitCommand(s: string): string[] {
  const first = s.indexOf(' ');
  if (first === -1) return [s];
  const second = s.indexOf(' ', first + 1);
  if (second === -1) return [s.slice(0, first), s.slice(first + 1)];
  return [s.slice(0, first), s.slice(first + 1, second), s.slice(second + 1)];
}

interface Peer {
  url: string;
  stop(): Promise<void>;
}

/** The aiohttp peer, or a loud failure when /usr/bin/python3 has no aiohttp. */
async function aiohttpPeer(): Promise<Peer> {
  const script = fileURLToPath(new URL('./fixtures/aiohttp_ws_peer.py', import.meta.url));
  const child: ChildProcess = spawn('/usr/bin/python3', [script], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const firstLine = new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    lines.once('line', (l) => resolve(l));
    child.once('error', reject);
    void exited.then((code) =>
      reject(
        new Error(
          `the aiohttp peer exited (${code}) before serving. It needs /usr/bin/python3 with aiohttp 3.8 (npm run bench:deps installs python3-aiohttp):\n${stderr}`,
        ),
      ),
    );
  });
  const port = Number(await settles(firstLine, 'the aiohttp peer to start', 30_000));
  return {
    url: `http://127.0.0.1:${port}`,
    async stop() {
      child.stdin?.end();
      const t = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
    },
  };
}

async function weftPeer(): Promise<Peer> {
  const s = await serve(weftApp(), { shutdownTimeout: 100 });
  return { url: s.url, stop: () => s.runner.cleanup() };
}

for (const [name, start] of [
  ['weft server', weftPeer],
  ['aiohttp 3.8 server', aiohttpPeer],
] as const) {
  describe(`wsConnect against the ${name}`, () => {
    let peer: Peer;
    before(async () => {
      peer = await start();
    });
    after(async () => {
      await peer?.stop();
    });

    it('echoes text, bytes and JSON, and iteration ends at the close', async () => {
      await using session = new ClientSession();
      const ws = await session.wsConnect(`${peer.url}/echo`);
      await ws.sendStr('hello');
      assert.deepEqual(await ws.receive(), { type: 'text', data: 'hello', extra: null });
      await ws.sendBytes(new Uint8Array([1, 2, 3]));
      const b = await ws.receive();
      assert.equal(b.type, 'binary');
      assert.deepEqual([...(b.data as Buffer)], [1, 2, 3]);
      await ws.sendJson({ a: [1, 'x'] });
      assert.deepEqual(await ws.receiveJson(), { a: [1, 'x'] });
      await ws.sendStr('one');
      await ws.sendStr('close 4001 bye');
      const seen: string[] = [];
      for await (const m of ws) seen.push(String(m.data));
      assert.deepEqual(seen, ['one']);
      assert.equal(ws.closed, true);
      assert.equal(ws.closeCode, 4001);
      assert.equal((await ws.receive()).type, 'closed');
    });

    it('receiveStr and receiveBytes raise TypeError on the other kind, and keep nothing back', async () => {
      await using session = new ClientSession();
      await using ws = await session.wsConnect(`${peer.url}/echo`);
      await ws.sendStr('text');
      await assert.rejects(ws.receiveBytes(), TypeError);
      await ws.sendBytes(Buffer.from('bin'));
      await assert.rejects(ws.receiveStr(), TypeError);
      await ws.sendStr('next');
      assert.equal(await ws.receiveStr(), 'next');
    });

    it('the server closing first gives CLOSE with its code and reason, then CLOSED', async () => {
      await using session = new ClientSession();
      const ws = await session.wsConnect(`${peer.url}/echo`);
      await ws.sendStr('close 4001 bye bye');
      const m = await ws.receive();
      assert.deepEqual(m, { type: 'close', data: 4001, extra: 'bye bye' });
      assert.equal(ws.closed, true);
      assert.equal(ws.closeCode, 4001);
      assert.equal(ws.exception(), null);
      assert.equal((await ws.receive()).type, 'closed');
      assert.equal(await ws.close(), false, 'close() of a closed WebSocket resolves false');
    });

    it('autoclose false: CLOSE arrives while the connection stays open until close()', async () => {
      await using session = new ClientSession();
      const ws = await session.wsConnect(`${peer.url}/echo`, { autoclose: false });
      await ws.sendStr('close 4001 bye');
      assert.deepEqual(await ws.receive(), { type: 'close', data: 4001, extra: 'bye' });
      // aiohttp: closed False, close_code 4001, and the socket still takes messages.
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(ws.closed, false);
      assert.equal(ws.closeCode, 4001);
      await ws.sendStr('after the close frame');
      assert.equal(await ws.close({ code: 4002 }), true);
      assert.equal(ws.closed, true);
      assert.equal(ws.closeCode, 4001);
    });

    it('close() sends the code and resolves true once the server answered', async () => {
      await using session = new ClientSession();
      const ws = await session.wsConnect(`${peer.url}/echo`);
      assert.equal(await ws.close({ code: 4005, message: 'done' }), true);
      assert.equal(ws.closed, true);
      // The code of the server's answering close frame, as aiohttp's client reports it: `ws`
      // (weft's server) echoes the code it got, aiohttp's server answers 1000 whatever it got.
      assert.equal(ws.closeCode, name === 'weft server' ? 4005 : 1000);
      await assert.rejects(ws.sendStr('late'), ConnectionResetError);
      await assert.rejects(ws.ping(), ConnectionResetError);
      assert.equal(await ws.close(), false);
    });

    it('a bad close code raises TypeError and leaves the WebSocket open', async () => {
      await using session = new ClientSession();
      await using ws = await session.wsConnect(`${peer.url}/echo`);
      await assert.rejects(ws.close({ code: 1005 }), TypeError);
      await assert.rejects(ws.close({ code: 1000, message: 'x'.repeat(124) }), RangeError);
      assert.equal(ws.closed, false);
      await ws.sendStr('still open');
      assert.equal(await ws.receiveStr(), 'still open');
    });

    it('negotiates the subprotocol as aiohttp: the one offered, or null when none matches', async () => {
      await using session = new ClientSession();
      await using a = await session.wsConnect(`${peer.url}/echo`, { protocols: ['x', 'chat'] });
      assert.equal(a.protocol, 'chat');
      // `ws` alone would refuse this handshake ("Server sent no subprotocol").
      await using b = await session.wsConnect(`${peer.url}/echo`, { protocols: ['zzz'] });
      assert.equal(b.protocol, null);
      await b.sendStr('works');
      assert.equal(await b.receiveStr(), 'works');
    });

    it("sends the session's headers, cookies and baseUrl, with params and origin", async () => {
      await using session = new ClientSession({
        baseUrl: `${peer.url}/`,
        headers: { 'X-Test': 'session' },
        cookies: { k: 'v' },
      });
      await using ws = await session.wsConnect('echo', {
        params: { q: 1 },
        origin: 'http://example.test',
      });
      await ws.sendStr('headers');
      const h = (await ws.receiveJson()) as Record<string, string | null>;
      assert.equal(h.cookie, 'k=v');
      assert.equal(h['x-test'], 'session');
      assert.equal(h.origin, 'http://example.test');
      assert.equal(h.query, 'q=1');
      assert.match(String(h['user-agent']), /weft/);
    });

    it('a ws:// URL is taken as http://', async () => {
      await using session = new ClientSession();
      await using ws = await session.wsConnect(`${peer.url.replace('http:', 'ws:')}/echo`);
      await ws.sendStr('over ws:');
      assert.equal(await ws.receiveStr(), 'over ws:');
    });

    it('a refused handshake is WSServerHandshakeError with the status and headers; its cookies are kept', async () => {
      // unsafe: the jar keeps cookies from an IP address (127.0.0.1) only then, as aiohttp's.
      await using session = new ClientSession({ cookieJar: new CookieJar({ unsafe: true }) });
      const e = await session.wsConnect(`${peer.url}/notws`).then(
        () => assert.fail('the handshake should fail'),
        (err: unknown) => err,
      );
      assert.ok(e instanceof WSServerHandshakeError);
      assert.ok(e instanceof ClientResponseError);
      assert.equal(e.status, 403);
      assert.match(e.message, /Invalid response status/);
      assert.match(String(e.headers?.get('content-type')), /^text\/plain/);
      assert.equal(e.requestInfo?.method, 'GET');
      assert.equal(e.requestInfo?.headers.get('upgrade'), 'websocket');
      assert.equal(session.cookieJar.filterCookies(new URL(peer.url)).get('refused'), 'yes');
    });

    it('autoping false: a ping from the server reaches receive(), and pong() answers it', async () => {
      await using session = new ClientSession();
      await using ws = await session.wsConnect(`${peer.url}/echo`, { autoping: false });
      await ws.sendStr('ping hello');
      const m = await ws.receive();
      assert.equal(m.type, 'ping');
      assert.equal(String(m.data), 'hello');
      // The client's own ping is answered by the server; its PONG is a message too.
      await ws.ping('abc');
      const p = await ws.receive();
      assert.equal(p.type, 'pong');
      assert.equal(String(p.data), 'abc');
      await ws.pong('hello');
      await ws.sendStr('after');
      const rest = await ws.receive();
      // The aiohttp peer reports the pong it got; weft's server answers pongs silently.
      if (name === 'aiohttp 3.8 server') assert.deepEqual(rest.data, 'pong hello');
      else assert.deepEqual(rest.data, 'after');
    });

    it('autoping true (the default) answers pings without showing them', async () => {
      await using session = new ClientSession();
      await using ws = await session.wsConnect(`${peer.url}/echo`);
      await ws.sendStr('ping hello');
      await ws.ping('abc');
      await ws.sendStr('only this');
      assert.deepEqual(await ws.receive(), { type: 'text', data: 'only this', extra: null });
    });

    it('a message over maxMsgSize gives ERROR (1009) and closes', async () => {
      await using session = new ClientSession();
      const ws = await session.wsConnect(`${peer.url}/echo`, { maxMsgSize: 100 });
      await ws.sendStr('big 50');
      assert.equal((await ws.receiveBytes()).length, 50);
      await ws.sendStr('big 200');
      const m = await ws.receive();
      assert.equal(m.type, 'error');
      assert.equal((m.data as Error & { code?: string }).code, 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH');
      assert.equal(ws.exception(), m.data);
      assert.equal(ws.closed, true, 'closing already, as aiohttp');
      assert.equal((await ws.receive()).type, 'closed');
      // `ws` stops reading at the refused frame, so the server's answer is not seen (aiohttp's
      // close cannot read it either: 1006 there too).
      assert.equal(ws.closeCode, 1006);
    });

    it('a receive cancelled by a signal loses no message', async () => {
      await using session = new ClientSession();
      await using ws = await session.wsConnect(`${peer.url}/echo`);
      const ac = new AbortController();
      const waiting = ws.receive({ signal: ac.signal });
      ac.abort(new Error('given up'));
      await assert.rejects(waiting, /given up/);
      await ws.sendStr('first');
      await ws.sendStr('second');
      assert.equal(await ws.receiveStr(), 'first');
      assert.equal(await ws.receiveStr(), 'second');
    });

    it('a receive in a cancelled task loses no message', async () => {
      await run(async () => {
        await using session = new ClientSession();
        await using ws = await session.wsConnect(`${peer.url}/echo`);
        const t = createTask(() => ws.receive());
        await new Promise((r) => setTimeout(r, 10));
        t.cancel();
        await assert.rejects(t, CancelledError);
        await ws.sendStr('kept');
        assert.equal(await ws.receiveStr(), 'kept');
      });
    });

    it('close() from another task ends a waiting receive with CLOSED', async () => {
      await using session = new ClientSession();
      const ws = await session.wsConnect(`${peer.url}/echo`);
      const waiting = ws.receive();
      assert.equal(await ws.close(), true);
      // aiohttp gives CLOSING here, a type weft does not have: the wait ends all the same.
      assert.equal((await settles(waiting, 'the waiting receive to end')).type, 'closed');
    });

    it('receive({ timeout }) raises TimeoutError and the connection stays open', async () => {
      await using session = new ClientSession();
      await using ws = await session.wsConnect(`${peer.url}/echo`, { receiveTimeout: 50 });
      await assert.rejects(ws.receive(), TimeoutError);
      await assert.rejects(ws.receive({ timeout: 30 }), TimeoutError);
      assert.equal(ws.closed, false);
      await ws.sendStr('x');
      assert.equal(await ws.receiveStr({ timeout: 30_000 }), 'x');
    });

    it('the server resetting the connection mid-receive gives CLOSED, code 1006', async () => {
      await using session = new ClientSession();
      const ws = await session.wsConnect(`${peer.url}/echo`);
      const waiting = ws.receive();
      await ws.sendStr('reset');
      const m = await settles(waiting, 'receive() to end at the reset');
      assert.equal(m.type, 'closed');
      assert.equal(ws.closed, true);
      assert.equal(ws.closeCode, 1006);
      assert.ok(ws.exception() instanceof ConnectionResetError);
      await assert.rejects(ws.sendStr('gone'), ConnectionResetError);
      // CLOSED four times in all, then RuntimeError: a loop that ignores CLOSED cannot spin.
      for (let i = 0; i < 3; i++) assert.equal((await ws.receive()).type, 'closed');
      await assert.rejects(ws.receive(), RuntimeError);
    });

    // The heartbeat tests run on the test's clock (setTimeout mocked): the ping goes out and the
    // pong is due when the test says, and the answer is awaited as an event, so that no machine's
    // load decides whether a pong came in time (on the wall clock, an aiohttp peer stopped for
    // 1.2 s, as a loaded machine may hold a process off its CPU, missed the 300 ms it had).
    it('a heartbeat the server does not answer closes with 1006 and TimeoutError', async (t) => {
      const session = new ClientSession();
      t.mock.timers.enable({ apis: ['setTimeout'] });
      try {
        const ws = await session.wsConnect(`${peer.url}/silent`, { heartbeat: 200 });
        const waiting = ws.receive();
        t.mock.timers.tick(200); // the ping
        t.mock.timers.tick(99);
        assert.equal(ws.closed, false, 'not dropped before the pong is due');
        t.mock.timers.tick(1); // the pong due, and none came
        const m = await waiting;
        assert.equal(m.type, 'closed');
        assert.equal(ws.closeCode, 1006);
        assert.ok(ws.exception() instanceof TimeoutError);
        assert.equal(ws.closed, true);
      } finally {
        t.mock.timers.reset();
        releaseSilent();
        await session.close();
      }
    });

    it('a heartbeat the server answers keeps the connection', async (t) => {
      const session = new ClientSession();
      t.mock.timers.enable({ apis: ['setTimeout'] });
      try {
        // autoping false: the pongs that answer the heartbeat reach receive(), to be awaited.
        const ws = await session.wsConnect(`${peer.url}/echo`, { heartbeat: 600, autoping: false });
        for (let beat = 1; beat <= 2; beat++) {
          t.mock.timers.tick(600); // the heartbeat's ping
          const m = await ws.receive();
          assert.equal(m.type, 'pong', `heartbeat ${beat} answered`);
          t.mock.timers.tick(300); // when the pong would have been due: it came, nothing drops
          await ws.sendStr(`alive ${beat}`);
          assert.equal(await ws.receiveStr(), `alive ${beat}`);
          assert.equal(ws.closed, false);
        }
        await ws.close();
      } finally {
        t.mock.timers.reset();
        await session.close();
      }
    });

    it('a heartbeat the server answers keeps the connection, its pongs swallowed (autoping)', async (t) => {
      // The default client: `ws` swallows the pongs, so they are awaited on its socket (the
      // channel's, internal). Without this case a pong that no longer re-armed the heartbeat
      // with autoping on (ws-channel.ts) dropped every answering server, unseen by the test above.
      const session = new ClientSession();
      t.mock.timers.enable({ apis: ['setTimeout'] });
      try {
        const ws = await session.wsConnect(`${peer.url}/echo`, { heartbeat: 600 });
        const raw = (ws as unknown as { channel: { ws: import('ws').WebSocket } }).channel.ws;
        for (let beat = 1; beat <= 2; beat++) {
          const pong = new Promise<void>((r) => raw.once('pong', () => r()));
          t.mock.timers.tick(600); // the heartbeat's ping
          await pong;
          t.mock.timers.tick(300); // when the pong would have been due: it came, nothing drops
          assert.equal(ws.closed, false, `heartbeat ${beat} answered`);
          await ws.sendStr(`alive ${beat}`);
          assert.equal(await ws.receiveStr(), `alive ${beat}`);
        }
        await ws.close();
      } finally {
        t.mock.timers.reset();
        await session.close();
      }
    });

    it("the session's close drops its open WebSockets", async () => {
      const session = new ClientSession();
      const ws = await session.wsConnect(`${peer.url}/echo`);
      const waiting = ws.receive();
      await session.close();
      assert.equal((await settles(waiting, 'receive() to end')).type, 'closed');
      assert.equal(ws.closeCode, 1006);
      await assert.rejects(session.wsConnect(`${peer.url}/echo`), RuntimeError);
    });

    it('holds a slot under limit until the WebSocket closes', async () => {
      await using session = new ClientSession({ limit: 1, timeout: { connect: 100 } });
      const ws = await session.wsConnect(`${peer.url}/echo`);
      await assert.rejects(session.wsConnect(`${peer.url}/echo`), ClientConnectorError);
      await ws.close();
      await using again = await session.wsConnect(`${peer.url}/echo`);
      assert.equal(again.closed, false);
    });
  });
}

describe('wsConnect input and handshakes no server of the suite gives', () => {
  it('refuses bad options with typed errors before connecting', async () => {
    await using session = new ClientSession();
    const url = 'http://127.0.0.1:9/';
    await assert.rejects(session.wsConnect(url, { protocols: 'chat' as never }), TypeError);
    await assert.rejects(session.wsConnect(url, { protocols: ['a b'] }), RangeError);
    await assert.rejects(session.wsConnect(url, { protocols: ['a', 'a'] }), RangeError);
    await assert.rejects(session.wsConnect(url, { heartbeat: -1 }), RangeError);
    await assert.rejects(session.wsConnect(url, { timeout: '10' as never }), TypeError);
    await assert.rejects(session.wsConnect(url, { autoclose: 'no' as never }), TypeError);
    await assert.rejects(session.wsConnect(url, { maxMsgSize: 1.5 }), RangeError);
    await assert.rejects(session.wsConnect(url, { max_msg_size: 1 } as never), /maxMsgSize/);
    await assert.rejects(
      session.wsConnect(url, { headers: { 'Sec-WebSocket-Protocol': 'x' } }),
      /protocols/,
    );
    await assert.rejects(session.wsConnect(url, { headers: { Upgrade: 'h2c' } }), RangeError);
    await assert.rejects(session.wsConnect('ftp://x/'), /Invalid URL/);
  });

  it('a refused connection is ClientConnectorError', async () => {
    await using session = new ClientSession();
    await assert.rejects(session.wsConnect('http://127.0.0.1:9/'), ClientConnectorError);
  });

  it('a 101 whose Sec-WebSocket-Accept is wrong is WSServerHandshakeError', async () => {
    const { createServer } = await import('node:http');
    const server = createServer();
    server.on('upgrade', (_req, socket: Socket) => {
      socket.end(
        'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
          'Sec-WebSocket-Accept: wrong\r\n\r\n',
      );
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    try {
      await using session = new ClientSession();
      const e = await session.wsConnect(`http://127.0.0.1:${port}/`).catch((err: unknown) => err);
      assert.ok(e instanceof WSServerHandshakeError, String(e));
      assert.equal(e.status, 101);
      assert.match(e.message, /Invalid challenge response/);
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });

  it('a handshake that never answers ends at timeout.total, and a signal aborts it', async () => {
    const { createServer } = await import('node:net');
    const held: Socket[] = [];
    const server = createServer((s) => held.push(s));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    try {
      await using session = new ClientSession({ timeout: { total: 150 } });
      await assert.rejects(session.wsConnect(`http://127.0.0.1:${port}/`), TimeoutError);
      await using s2 = new ClientSession();
      const ac = new AbortController();
      const p = s2.wsConnect(`http://127.0.0.1:${port}/`, { signal: ac.signal });
      setTimeout(() => ac.abort(new Error('stop it')), 50);
      await assert.rejects(p, /stop it/);
      const s3 = new ClientSession();
      const p3 = s3.wsConnect(`http://127.0.0.1:${port}/`);
      await until(() => held.length === 3, 'the third handshake to connect');
      await s3.close();
      await assert.rejects(p3, RuntimeError);
    } finally {
      for (const s of held) s.destroy();
      await new Promise((r) => server.close(r));
    }
  });

  it('a connection not made within timeout.connect is ClientConnectorError, as a request', async () => {
    // A wss:// URL to a server that takes the TCP connection and never answers the TLS
    // handshake: the connection is not made, so timeout.connect decides, not timeout.total.
    const { createServer } = await import('node:net');
    const held: Socket[] = [];
    const server = createServer((s) => held.push(s));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    try {
      await using session = new ClientSession({ timeout: { connect: 200, total: 20_000 } });
      const e = await session.wsConnect(`wss://127.0.0.1:${port}/`).catch((err: unknown) => err);
      assert.ok(e instanceof ClientConnectorError, String(e));
      assert.match(e.message, /timeout\.connect \(200 ms\)/);
      // The slot went back: the next handshake is not held by the first.
      await using s2 = new ClientSession({ limit: 1, timeout: { connect: 200 } });
      await assert.rejects(s2.wsConnect(`wss://127.0.0.1:${port}/`), ClientConnectorError);
      await assert.rejects(s2.wsConnect(`wss://127.0.0.1:${port}/`), /timeout\.connect/);
    } finally {
      for (const s of held) s.destroy();
      await new Promise((r) => server.close(r));
    }
  });

  it('pong() reaches a `ws` server (which reports pongs)', async () => {
    const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    await new Promise((r) => wss.once('listening', r));
    const got = new Promise<string>((resolve) =>
      wss.once('connection', (c) => c.once('pong', (d: Buffer) => resolve(d.toString()))),
    );
    try {
      await using session = new ClientSession();
      await using ws = await session.wsConnect(
        `http://127.0.0.1:${(wss.address() as { port: number }).port}/`,
      );
      await ws.pong('unasked');
      assert.equal(await settles(got, 'the pong to arrive'), 'unasked');
    } finally {
      for (const c of wss.clients) c.terminate();
      await new Promise((r) => wss.close(r));
    }
  });

  it('autoclose false: a receive() after CLOSE sends the answer and gives CLOSED', async () => {
    // A server with no close timeout of its own: it sends its close frame and waits, as long as
    // it takes, for the client's answer (aiohttp's client answers at that receive()).
    const { createServer } = await import('node:http');
    const { createHash } = await import('node:crypto');
    const server = createServer();
    const upgraded: Socket[] = [];
    let answered = false;
    server.on('upgrade', (req, socket: Socket) => {
      upgraded.push(socket);
      const accept = createHash('sha1')
        .update(`${req.headers['sec-websocket-key']}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`)
        .digest('base64');
      socket.write(
        `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`,
      );
      // Close frame: code 4001, reason "bye".
      socket.write(Buffer.from([0x88, 5, 0x0f, 0xa1, 0x62, 0x79, 0x65]));
      socket.on('data', (d: Buffer) => {
        if ((d[0] as number) === 0x88) answered = true;
      });
      socket.on('end', () => socket.end());
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    try {
      await using session = new ClientSession();
      const ws = await session.wsConnect(`http://127.0.0.1:${port}/`, { autoclose: false });
      assert.deepEqual(await ws.receive(), { type: 'close', data: 4001, extra: 'bye' });
      assert.equal(answered, false, 'the answer waits for the program');
      const m = await settles(ws.receive(), 'the receive after CLOSE', 10_000);
      assert.equal(m.type, 'closed');
      assert.equal(answered, true);
      assert.equal(ws.closed, true);
      assert.equal(ws.closeCode, 4001);
      assert.equal(await ws.close(), false);
    } finally {
      for (const s of upgraded) s.destroy();
      await new Promise((r) => server.close(r));
    }
  });

  it('messages sent with the 101 are not lost', async () => {
    // A server whose first frame follows its 101 in the same write: it must reach receive().
    const { createServer } = await import('node:http');
    const { createHash } = await import('node:crypto');
    const server = createServer();
    const upgraded: Socket[] = [];
    server.on('upgrade', (req, socket: Socket) => {
      upgraded.push(socket);
      const accept = createHash('sha1')
        .update(`${req.headers['sec-websocket-key']}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`)
        .digest('base64');
      socket.write(
        `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`,
      );
      socket.write(Buffer.concat([Buffer.from([0x81, 5]), Buffer.from('early')]));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    try {
      await using session = new ClientSession();
      const ws = await session.wsConnect(`http://127.0.0.1:${port}/`);
      assert.equal(await ws.receiveStr({ timeout: 30_000 }), 'early');
      ws._drop();
      await until(() => ws.closed, 'the WebSocket to close');
    } finally {
      for (const s of upgraded) s.destroy();
      await new Promise((r) => server.close(r));
    }
  });
});

/**
 * Test support for weft/web: an application served on 127.0.0.1 (port 0), and a raw TCP client
 * that sends exact bytes — for the requests a well-behaved client library would refuse to send.
 */
import {
  createServer,
  request as httpRequest,
  type IncomingHttpHeaders,
  type RequestListener,
  type Server,
} from 'node:http';
import { type AddressInfo, connect } from 'node:net';
import { AppRunner, type AppRunnerOptions } from '../../src/web/app-runner.js';
import type { Application } from '../../src/web/application.js';
import { TCPSite } from '../../src/web/tcp-site.js';

export interface Served extends AsyncDisposable {
  url: string;
  port: number;
  runner: AppRunner;
}

export async function serve(app: Application, options: AppRunnerOptions = {}): Promise<Served> {
  const runner = new AppRunner(app, options);
  await runner.setup();
  const site = new TCPSite(runner, '127.0.0.1', 0);
  await site.start();
  return {
    url: site.name,
    port: site.port,
    runner,
    [Symbol.asyncDispose]: () => runner.cleanup(),
  };
}

/** A whole answer as it came: its status, headers and body (not decoded). */
export interface Got {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** A request with exactly `headers` (Node's client adds no Accept-Encoding), read to its end. */
export function fetchAll(
  url: string,
  headers: Record<string, string> = {},
  method = 'GET',
): Promise<Got> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method, headers, agent: false }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (d: Buffer) => parts.push(d));
      res.on('end', () =>
        resolve({
          status: res.statusCode as number,
          headers: res.headers,
          body: Buffer.concat(parts),
        }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

export interface NodeServed extends AsyncDisposable {
  url: string;
  port: number;
  server: Server;
}

/**
 * A plain node:http server on `host` (port 0), for a peer that misbehaves as no Application
 * would (a body cut or stalled halfway, a header echoed back byte for byte).
 */
export async function nodeServer(
  handler: RequestListener,
  host = '127.0.0.1',
): Promise<NodeServed> {
  const server = createServer(handler);
  await new Promise<void>((done) => server.listen(0, host, done));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    server,
    async [Symbol.asyncDispose]() {
      server.closeAllConnections();
      await new Promise((done) => server.close(done));
    },
  };
}

export interface RawResult {
  /** Everything the server sent until it closed (or until `timeout`). */
  text: string;
  /** The status of the first response, or 0. */
  status: number;
  /** True when the server closed the connection. */
  closed: boolean;
}

/**
 * Writes `parts` to a fresh connection (with `gap` ms between parts) and collects what comes
 * back until the server closes or `timeout` ms pass.
 */
export function raw(
  port: number,
  parts: (string | Buffer)[] | string,
  options: { gap?: number; timeout?: number; endAfter?: boolean } = {},
): Promise<RawResult> {
  const list = typeof parts === 'string' ? [parts] : parts;
  const timeout = options.timeout ?? 5000;
  return new Promise((resolve) => {
    const sock = connect(port, '127.0.0.1');
    let text = '';
    let closed = false;
    const timers: NodeJS.Timeout[] = [];
    const finish = (): void => {
      for (const t of timers) clearTimeout(t);
      sock.destroy();
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(text);
      resolve({ text, status: m ? Number(m[1]) : 0, closed });
    };
    sock.on('data', (d) => (text += d.toString('latin1')));
    sock.on('error', () => {});
    sock.on('close', () => {
      closed = true;
      finish();
    });
    timers.push(setTimeout(finish, timeout));
    sock.once('connect', () => {
      let i = 0;
      const next = (): void => {
        if (sock.destroyed) return;
        const p = list[i++];
        if (p === undefined) {
          if (options.endAfter) sock.end();
          return;
        }
        sock.write(p);
        if (options.gap) timers.push(setTimeout(next, options.gap));
        else next();
      };
      next();
    });
  });
}

/**
 * A client that POSTs an endless chunked body to `path` of a server on `port`: its socket, what
 * it received, and when it closed (the server cut it off). It sends a 16 KiB chunk every 10 ms
 * until then: a client that goes on sending, without both ends burning a core for the seconds
 * the server takes to cut it off.
 */
export function endlessChunkedPost(
  port: number,
  path: string,
): { received: () => string; closed: Promise<void> } {
  const sock = connect(port, '127.0.0.1');
  sock.on('error', () => {});
  let got = '';
  sock.on('data', (d) => {
    got += d.toString('latin1');
  });
  let open = true;
  let timer: NodeJS.Timeout | undefined;
  const closed = new Promise<void>((r) =>
    sock.once('close', () => {
      open = false;
      clearTimeout(timer);
      r();
    }),
  );
  const chunk = Buffer.alloc(16 * 1024, 97);
  const frame = Buffer.concat([
    Buffer.from(`${chunk.length.toString(16)}\r\n`),
    chunk,
    Buffer.from('\r\n'),
  ]);
  sock.once('connect', () => {
    sock.write(`POST ${path} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n`);
    const pump = (): void => {
      if (!open) return;
      if (sock.write(frame)) timer = setTimeout(pump, 10);
      else sock.once('drain', pump);
    };
    pump();
  });
  return { received: () => got, closed };
}

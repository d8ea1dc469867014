/**
 * `weft serve echo --model <model> --port N`: the echo-uppercase server of the lessons, in any
 * of weft's IO models, until SIGINT/SIGTERM. Prints one line `listening on HOST:PORT` (to
 * stdout) once it accepts connections, so scripts and benchmarks can wait for it. The command
 * and its option checks are in serve-command.ts, which imports this module only to serve.
 *
 * Every model reads up to 1024 bytes and answers the same bytes upper-cased (ASCII, like
 * Python's `bytes.upper()`), as ../shared/peers/python/echo_*.py do.
 */
import cluster from 'node:cluster';
import { isIP, type Socket as NetSocket, createServer as netCreateServer } from 'node:net';
import { createTask, type Task } from '../asyncio/task.js';
import { spawn } from '../gevent/greenlet.js';
import { Process } from '../multiprocessing/process.js';
import { DefaultSelector } from '../selectors/default-selector.js';
import { EpollSelector } from '../selectors/epoll-selector.js';
import { KeyError } from '../selectors/errors.js';
import { EVENT_READ, EVENT_WRITE, type SelectorKey } from '../selectors/selector-key.js';
import { IPPROTO_TCP, SO_REUSEADDR, SOL_SOCKET, TCP_NODELAY } from '../socket/constants.js';
import { BlockingIOError } from '../socket/errors.js';
import { sockAccept, sockRecv, sockSendall } from '../socket/loop-verbs.js';
import { RawSocket } from '../socket/raw-socket.js';
import { Socket } from '../socket/socket.js';
import { startServer } from '../streams/server.js';
import { isWeftWorker } from '../streams/worker-group.js';
import { type CliContext, CliError } from './command.js';
import { echoConnection, echoUntilEof, upperInPlace } from './echo-connection.js';
import type { ModelName } from './serve-command.js';
import { socketErrorText } from './socket-errors.js';

/** A running server: `close()` stops it. */
interface Running {
  port: number;
  close(): Promise<void>;
}

interface Model {
  summary: string;
  /** `workers` > 1: serve from that many processes sharing the port (streams only). */
  start(host: string, port: number, workers?: number): Promise<Running>;
}

/** ASCII upper-case of b[0, n) in place; returns b. */
function upperRange(b: Buffer, n: number): Buffer {
  for (let i = 0; i < n; i++) {
    const c = b[i] as number;
    if (c >= 97 && c <= 122) b[i] = c - 32;
  }
  return b;
}

async function listening(host: string, port: number): Promise<Socket> {
  const srv = new Socket(host.includes(':') ? 10 : 2);
  srv.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1);
  srv.bind([host, port]);
  await srv.listen(1024);
  return srv;
}

const portOf = (s: Socket): number => (s.getsockname() as [string, number])[1];

export const MODELS: Record<ModelName, Model> = {
  streams: {
    summary: 'weft/streams: startServer, a task per connection, read(1024) / write / drain',
    async start(host, port, workers = 1) {
      const server = await startServer(
        async (reader, writer) => {
          try {
            for (;;) {
              const data = await reader.read(1024);
              if (data.length === 0) break;
              // read() hands over a buffer nobody else holds: upper-case it in place.
              writer.write(upperInPlace(data));
              await writer.drain();
            }
          } catch {
            // a reset ends the connection
          } finally {
            writer.close();
          }
        },
        host,
        port,
        { backlog: 1024, workers, workerScheduling: 'os' },
      );
      return {
        port: (server.sockets[0]!.getsockname() as [string, number])[1],
        async close() {
          server.close();
          server.abortClients();
          await server.waitClosed();
        },
      };
    },
  },
  sockets: {
    summary: 'weft/socket loop verbs: sockAccept / sockRecv / sockSendall, a task per connection',
    async start(host, port) {
      const srv = await listening(host, port);
      srv.setblocking(false);
      const conns = new Set<Socket>();
      const acceptor: Task<void> = createTask(async (): Promise<void> => {
        for (;;) {
          const [conn] = await sockAccept(srv);
          conn.setblocking(false);
          conn.setsockopt(IPPROTO_TCP, TCP_NODELAY, 1);
          conns.add(conn);
          createTask(async () => {
            try {
              for (;;) {
                const data = await sockRecv(conn, 1024);
                if (data.length === 0) break;
                await sockSendall(conn, upperInPlace(data));
              }
            } catch {
              // reset or closed
            } finally {
              conns.delete(conn);
              conn.close();
            }
          });
        }
      });
      return {
        port: portOf(srv),
        async close() {
          acceptor.cancel();
          await acceptor.then(
            () => {},
            () => {},
          );
          srv.close();
          for (const c of conns) c.close();
        },
      };
    },
  },
  selectors: {
    summary: 'weft/selectors: DefaultSelector, callbacks in key.data, non-blocking Nowait verbs',
    async start(host, port) {
      const sel = new DefaultSelector();
      const pending = new Map<Socket, Buffer>();
      type Callback = (s: Socket) => void;
      const close = (conn: Socket): void => {
        pending.delete(conn);
        try {
          sel.unregister(conn);
        } catch (e) {
          if (!(e instanceof KeyError)) throw e;
        }
        conn.close();
      };
      const send = (conn: Socket, out: Buffer): void => {
        let n = 0;
        try {
          n = conn.sendNowait(out);
        } catch (e) {
          if (!(e instanceof BlockingIOError)) {
            close(conn);
            return;
          }
        }
        if (n < out.length) {
          pending.set(conn, out.subarray(n));
          sel.modify(conn, EVENT_WRITE, write);
        }
      };
      const read: Callback = (conn) => {
        let data: Buffer;
        try {
          data = conn.recvNowait(1024);
        } catch (e) {
          if (!(e instanceof BlockingIOError)) close(conn);
          return;
        }
        if (data.length === 0) close(conn);
        else send(conn, upperInPlace(data));
      };
      const write: Callback = (conn) => {
        const buf = pending.get(conn) as Buffer;
        pending.delete(conn);
        sel.modify(conn, EVENT_READ, read);
        send(conn, buf);
      };
      const srv = await listening(host, port);
      srv.setblocking(false);
      const accept: Callback = () => {
        for (;;) {
          let conn: Socket;
          try {
            [conn] = srv.acceptNowait();
          } catch {
            return;
          }
          conn.setblocking(false);
          conn.setsockopt(IPPROTO_TCP, TCP_NODELAY, 1);
          sel.register(conn, EVENT_READ, read);
        }
      };
      sel.register(srv, EVENT_READ, accept);
      let stop = false;
      const loop = (async () => {
        while (!stop) {
          for (const [key, _mask] of await sel.select({ timeout: 200 })) {
            (key as SelectorKey<Callback>).data(key.fileobj);
          }
        }
      })();
      return {
        port: portOf(srv),
        async close() {
          stop = true;
          await loop;
          for (const s of [...sel.getMap().keys()]) s.close();
          sel.close();
        },
      };
    },
  },
  greenlets: {
    summary: 'weft/gevent: a greenlet per connection, blocking-style recv / sendall',
    async start(host, port) {
      const srv = await listening(host, port);
      const conns = new Set<Socket>();
      const acceptor = spawn(async () => {
        for (;;) {
          const [conn] = await srv.accept();
          conn.setsockopt(IPPROTO_TCP, TCP_NODELAY, 1);
          conns.add(conn);
          spawn(async () => {
            try {
              await echoUntilEof(conn);
            } finally {
              conns.delete(conn);
              conn.close();
            }
          });
        }
      });
      return {
        port: portOf(srv),
        async close() {
          await acceptor.kill();
          srv.close();
          for (const c of conns) c.close();
        },
      };
    },
  },
  process: {
    summary:
      'multiprocessing: the parent accepts, a child Process per connection serves it (recv / sendall)',
    async start(host, port) {
      const srv = await listening(host, port);
      const children = new Set<Process>();
      const acceptor = (async (): Promise<void> => {
        for (;;) {
          let conn: Socket;
          try {
            [conn] = await srv.accept();
          } catch {
            return; // the server was closed
          }
          conn.setsockopt(IPPROTO_TCP, TCP_NODELAY, 1);
          // Daemon: a child never outlives this server, however it ends.
          const p = new Process({ target: echoConnection, args: [conn], daemon: true });
          try {
            p.start();
          } catch {
            conn.close();
            continue;
          }
          conn.close(); // the parent's copy: the child holds the connection now
          children.add(p);
          void p.join().then(() => {
            children.delete(p);
            p.close();
          });
        }
      })();
      return {
        port: portOf(srv),
        async close() {
          srv.close();
          await acceptor;
          for (const p of children) p.terminate();
          await Promise.all([...children].map((p) => p.join()));
        },
      };
    },
  },
  polling: {
    summary: 'non-blocking polling: one loop asks every socket in turn (spins a core when idle)',
    async start(host, port) {
      const srv = await listening(host, port);
      srv.setblocking(false);
      const conns: Socket[] = [];
      let stop = false;
      const loop = (async () => {
        while (!stop) {
          try {
            const [c] = srv.acceptNowait();
            c.setblocking(false);
            c.setsockopt(IPPROTO_TCP, TCP_NODELAY, 1);
            conns.push(c);
          } catch {
            // nothing to accept
          }
          for (let i = conns.length - 1; i >= 0; i--) {
            const c = conns[i] as Socket;
            try {
              const data = c.recvNowait(1024);
              if (data.length === 0) throw new Error('eof');
              c.sendNowait(upperInPlace(data));
            } catch (e) {
              if (e instanceof BlockingIOError) continue;
              c.close();
              conns.splice(i, 1);
            }
          }
          await new Promise<void>((r) => setImmediate(r));
        }
      })();
      return {
        port: portOf(srv),
        async close() {
          stop = true;
          await loop;
          srv.close();
          for (const c of conns) c.close();
        },
      };
    },
  },
  epoll: {
    summary:
      'weft/selectors EpollSelector over RawSockets: epoll readiness, recv/send into a reused buffer',
    async start(host, port) {
      const sel = new EpollSelector();
      const srv = RawSocket.listen([host, port], { backlog: 1024 });
      const buf = Buffer.allocUnsafe(1024);
      const pending = new Map<RawSocket, Buffer>();
      const close = (c: RawSocket): void => {
        pending.delete(c);
        sel.unregister(c);
        c.close();
      };
      /** Sends data[0, len) (data may be the reused buffer). */
      const send = (c: RawSocket, data: Buffer, len: number): void => {
        let n = 0;
        try {
          n = c.sendNowait(data, 0, len);
        } catch (e) {
          if (!(e instanceof BlockingIOError)) {
            close(c);
            return;
          }
        }
        if (n < len) {
          // Rare: the kernel buffer is full; keep a copy (buf is reused) and wait for room.
          pending.set(c, Buffer.from(data.subarray(n, len)));
          sel.modify(c, EVENT_WRITE);
        }
      };
      sel.register(srv, EVENT_READ);
      let stop = false;
      const loop = (async () => {
        while (!stop) {
          for (const [key, mask] of await sel.select({ timeout: 200 })) {
            const s = key.fileobj;
            if (s === srv) {
              for (;;) {
                try {
                  sel.register(srv.acceptNowait()[0], EVENT_READ);
                } catch {
                  break;
                }
              }
            } else if (mask & EVENT_WRITE) {
              const rest = pending.get(s) as Buffer;
              pending.delete(s);
              sel.modify(s, EVENT_READ);
              send(s, rest, rest.length);
            } else {
              let n: number;
              try {
                n = s.recvInto(buf);
              } catch (e) {
                if (!(e instanceof BlockingIOError)) close(s);
                continue;
              }
              if (n === 0) close(s);
              else send(s, upperRange(buf, n), n);
            }
          }
        }
      })();
      return {
        port: (srv.getsockname() as [string, number])[1],
        async close() {
          stop = true;
          await loop;
          for (const s of [...sel.getMap().keys()]) s.close();
          sel.close();
        },
      };
    },
  },
  node: {
    summary: "raw Node net (no weft): 'data' → write, for comparison",
    async start(host, port) {
      const open = new Set<NetSocket>();
      const server = netCreateServer({ noDelay: true }, (s) => {
        open.add(s);
        s.on('data', (d: Buffer) => s.write(upperInPlace(d)));
        s.on('error', () => s.destroy());
        s.on('close', () => open.delete(s));
      });
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen({ host, port, backlog: 1024 }, resolve);
      });
      return {
        port: (server.address() as { port: number }).port,
        close: () =>
          new Promise<void>((r) => {
            server.close(() => r());
            for (const s of open) s.destroy();
          }),
      };
    },
  },
};

/**
 * A bad --host or a busy --port is the user's to fix, not a crash: a CliError naming the
 * address and the reason. Anything else is a bug and keeps its stack.
 */
function listenError(e: unknown, host: string, port: number, workerReason?: string): unknown {
  const why = socketErrorText(e);
  if (why !== null) return new CliError(`weft serve: cannot listen on ${host}:${port}: ${why}`);
  // A --workers child that could not listen has already said why; the group only knows it died.
  if (e instanceof Error && /^startServer: worker \d+ exited before listening/.test(e.message)) {
    return new CliError(
      workerReason ?? `weft serve: cannot listen on ${host}:${port}: ${e.message}`,
    );
  }
  return e;
}

/** The options of `weft serve echo`, as serve-command.ts checked them. */
export interface ServeOptions {
  model: ModelName;
  host: string;
  port: number;
  workers: number;
}

/**
 * The action of `weft serve echo` once its options are checked (serve-command.ts): the checks
 * that need the models themselves, then the server until SIGINT/SIGTERM.
 */
export async function serveEcho(opts: ServeOptions, context: CliContext): Promise<void> {
  const { host, port, workers } = opts;
  const model = MODELS[opts.model];
  if (opts.model === 'epoll' && !EpollSelector.native) {
    throw new CliError(
      'weft serve: --model epoll needs the weft_io addon, which this install does not ' +
        'have (it is built by `npm ci` on Linux with a C compiler; WEFT_NO_NATIVE=1 turns ' +
        'it off): pick another --model',
    );
  }
  if (opts.model === 'epoll' && isIP(host) === 0) {
    // RawSocket binds the address itself, with no resolver: a name would fail later as
    // "address family not supported", which says nothing of the cause.
    throw new CliError(
      `weft serve: --model epoll listens on an IP address, not a host name: received ` +
        `--host ${host} (try 127.0.0.1 or ::1)`,
    );
  }
  // With --workers each worker listens for itself: the reason a worker could not (a busy
  // port) reaches the user through the primary, once, instead of once per worker.
  const workerReasons: string[] = [];
  const onWorkerMessage = (_w: unknown, m: { weftServeError?: unknown }): void => {
    if (typeof m?.weftServeError === 'string') workerReasons.push(m.weftServeError);
  };
  if (workers > 1 && cluster.isPrimary) cluster.on('message', onWorkerMessage);
  let running: Running;
  try {
    running = await model.start(host, port, workers);
  } catch (e) {
    const error = listenError(e, host, port, workerReasons[0]);
    if (isWeftWorker() && error instanceof CliError) {
      // Disconnecting ends the worker (the IPC channel is what keeps it alive); the
      // primary sees it exit before listening and reports the reason sent here.
      process.exitCode = 1;
      process.send?.({ weftServeError: error.message }, () => process.disconnect());
      return;
    }
    throw error;
  } finally {
    cluster.off('message', onWorkerMessage);
  }
  // Listening for the signals before the line goes out: whoever waits for the line may signal
  // at once, and a signal that came in between ended the process by its default action (exit
  // code null) instead of closing the server. On a loaded machine the gap reached 180 ms.
  // A --workers worker also stops when its group disconnects it (the primary is closing):
  // node:cluster closes its server, and this wait, left pending, ended the worker with exit
  // code 13 (an unsettled top-level await; Node 22 and 24 also print a warning on stderr).
  const worker = isWeftWorker();
  const stopped = new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      if (worker) process.off('disconnect', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
    if (worker) process.on('disconnect', stop);
    // Disconnected already (the primary closed as soon as every worker listened).
    if (worker && !process.connected) stop();
  });
  // With --workers, node:cluster re-runs this command in each worker: only the process
  // the user started announces the shared address, once.
  if (!worker) {
    context.out(`listening on ${host}:${running.port} (model ${opts.model}: ${model.summary})\n`);
  }
  await stopped;
  await running.close();
}

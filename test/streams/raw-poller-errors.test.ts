/**
 * Failures inside the raw poller's dispatch (src/streams/raw-poller.ts): an epoll_ctl refused
 * while a batch is handed out, a descriptor closed and its number reused within one batch, a
 * handler that throws. Each must reach only the connection concerned; the poller goes on.
 *
 * epoll_ctl's real failures here are ENOSPC (fs.epoll.max_user_watches) and ENOMEM, which a test
 * cannot provoke without changing the machine: they are injected by wrapping `io.epollCtl`, as
 * raw-transport.test.ts injects accept's EMFILE.
 */
import assert from 'node:assert/strict';
import { closeSync, openSync } from 'node:fs';
import type { Socket as NetSocket } from 'node:net';
import { describe, test } from 'node:test';
import { OSError } from '../../src/socket/errors.js';
import { io } from '../../src/socket/native-io.js';
import { RawSocket } from '../../src/socket/raw-socket.js';
import { type Server, startServer } from '../../src/streams/index.js';
import { EPOLLIN, RBUF, unwatch, watch } from '../../src/streams/raw-poller.js';
import { checkLeaks } from '../support/leaks.js';
import { connected, portOf } from '../support/net.js';
import { until } from '../support/until.js';

checkLeaks();

const HOST = '127.0.0.1';
const ADD = 1;
const DEL = 2;
const ENOSPC = 28;

type Ctl = NonNullable<typeof io>['epollCtl'];

/** Runs `body` with `io.epollCtl` replaced by `ctl(real, ...args)`. */
async function withCtl(
  ctl: (real: Ctl, ...a: Parameters<Ctl>) => number,
  body: () => Promise<void>,
): Promise<void> {
  const native = io as NonNullable<typeof io>;
  const real = native.epollCtl;
  native.epollCtl = (...a) => ctl(real, ...a);
  try {
    await body();
  } finally {
    native.epollCtl = real;
  }
}

/** Sends `line` on `c` and resolves when the echo server has sent it back. */
function echoes(c: NetSocket, line: string): Promise<void> {
  const back = receive(c, line);
  c.write(line);
  return back;
}

/** Resolves when `c` has received `want` (fails after `ms`: a bound, not a speed check). */
function receive(c: NetSocket, want: string, ms = 5000): Promise<void> {
  return new Promise((resolve, reject) => {
    let got = '';
    const t = setTimeout(() => {
      c.off('data', on);
      reject(
        new Error(`received ${JSON.stringify(got)}, not ${JSON.stringify(want)}, in ${ms} ms`),
      );
    }, ms);
    const on = (d: Buffer): void => {
      got += d.toString('latin1');
      if (got.length < want.length) return;
      clearTimeout(t);
      c.off('data', on);
      if (got === want) resolve();
      else reject(new Error(`received ${JSON.stringify(got)}, not ${JSON.stringify(want)}`));
    };
    c.on('data', on);
  });
}

function closedWithin(c: NetSocket, ms: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`still open after ${ms} ms`)), ms);
    c.once('close', () => {
      clearTimeout(t);
      resolve();
    });
  });
}

/** Destroys the clients and waits until they are closed (the server's connections end). */
async function destroyAll(clients: NetSocket[]): Promise<void> {
  await Promise.all(
    clients.map((c) =>
      c.closed ? undefined : new Promise<void>((r) => c.once('close', () => r()).destroy()),
    ),
  );
}

/** An echo server; each connection's error (if any) goes to `errors`. */
function echoServer(errors: unknown[], limit?: number): Promise<Server> {
  return startServer(
    async (reader, writer) => {
      try {
        for (;;) {
          const chunk = await reader.read(1000);
          if (chunk.length === 0) break;
          writer.write(chunk);
        }
      } catch (e) {
        errors.push(e);
      }
      writer.close();
    },
    HOST,
    0,
    { transport: 'raw', ...(limit === undefined ? {} : { limit }) },
  );
}

const maybe = io !== null ? describe : describe.skip;

maybe('raw poller: failures during a dispatch', () => {
  test('a connection epoll refuses to register (epoll_ctl ENOSPC at accept) fails alone with OSError; the server goes on serving and accepting', async () => {
    let failAdds = 0;
    await withCtl(
      (real, ...a) => {
        if (a[1] === ADD && failAdds > 0) {
          failAdds--;
          return -ENOSPC;
        }
        return real(...a);
      },
      async () => {
        const errors: unknown[] = [];
        const clients: NetSocket[] = [];
        await using server = await echoServer(errors);
        // Declared after the server: disposed first, so that the server's waitClosed can end.
        await using _clients = { [Symbol.asyncDispose]: async () => destroyAll(clients) };
        const port = portOf(server);
        const c1 = await connected(port);
        clients.push(c1);
        await echoes(c1, 'one\n');

        failAdds = 1; // the next registration: the connection accepted in the next dispatch
        const c2 = await connected(port);
        clients.push(c2);
        await closedWithin(c2, 5000);
        assert.equal(failAdds, 0, 'the refused registration was the new connection');
        await until(() => errors.length === 1, 'the handler of the refused connection to fail');
        const e = errors[0];
        assert.ok(e instanceof OSError, `an OSError, not ${String(e)}`);
        assert.equal(e.errnoName, 'ENOSPC');

        // The poller was not left stuck: the first connection is still served…
        await echoes(c1, 'two\n');
        // …and the listener, backed off, accepts again.
        const c3 = await connected(port);
        clients.push(c3);
        await echoes(c3, 'three\n');
        assert.equal(errors.length, 1);
      },
    );
  });

  test('a paused connection whose return to the epoll set is refused (epoll_ctl ENOSPC on resume) fails alone with OSError', async () => {
    let armed = false;
    const parked = new Set<number>();
    let refused = 0;
    await withCtl(
      (real, ...a) => {
        const [, op, fd, events] = a;
        // A transport parks its descriptor (DEL, events 0) when it pauses, and ADDs it back when
        // it resumes: that ADD is refused.
        if (armed && op === ADD && parked.has(fd)) {
          refused++;
          return -ENOSPC;
        }
        if (armed && op === DEL && events === 0) parked.add(fd);
        return real(...a);
      },
      async () => {
        const errors: unknown[] = [];
        const clients: NetSocket[] = [];
        // limit 64: 200 bytes pause the transport (more than 2 × limit buffered); reading them
        // resumes it, in the same turn.
        await using server = await echoServer(errors, 64);
        await using _clients = { [Symbol.asyncDispose]: async () => destroyAll(clients) };
        const port = portOf(server);
        const other = await connected(port);
        const c = await connected(port);
        clients.push(other, c);
        armed = true;
        c.write('x'.repeat(200));
        await closedWithin(c, 5000);
        armed = false;
        assert.equal(refused, 1, 'the paused connection was refused when it resumed');
        await until(() => errors.length === 1, 'the handler to fail');
        const e = errors[0];
        assert.ok(e instanceof OSError, `an OSError, not ${String(e)}`);
        assert.equal(e.errnoName, 'ENOSPC');
        await echoes(other, 'still here\n');
      },
    );
  });

  test('a batch entry of a descriptor closed earlier in the batch is dropped, even when a new connection has its number', async () => {
    const native = io as NonNullable<typeof io>;
    const srv = RawSocket.listen([HOST, 0]);
    const port = (srv.getsockname() as [string, number])[1];
    const clients: NetSocket[] = [];
    const socks: RawSocket[] = [];
    const realWait = native.epollWaitRecv;
    const batches: number[][] = [];
    native.epollWaitRecv = (p, out, buf) => {
      const n = realWait(p, out, buf);
      const fds: number[] = [];
      for (let i = 0; i < n; i++) fds.push(out[4 * i] as number);
      batches.push(fds);
      return n;
    };
    try {
      for (let i = 0; i < 3; i++) clients.push(await connected(port));
      const [x] = srv.acceptSync({ timeout: 5000 });
      const [y] = srv.acceptSync({ timeout: 5000 });
      socks.push(x, y); // the third connection waits in the backlog
      const got: string[] = [];
      let swap: { victim: number; batch: number } | null = null;
      const handler =
        (name: string, other: RawSocket) =>
        (_ev: number, off: number, res: number): void => {
          if (res > 0) got.push(`${name}:${RBUF.toString('latin1', off, off + res)}`);
          if (swap !== null) return;
          // The first handler of the batch closes the other connection, then accepts a new one
          // under the same number (every lower number taken first), as a server would.
          const victim = other.fileno();
          swap = { victim, batch: batches.length - 1 };
          unwatch(victim);
          other.close();
          const fillers: number[] = [];
          for (let f = openSync('/dev/null', 'r'); f !== victim; f = openSync('/dev/null', 'r')) {
            fillers.push(f);
          }
          closeSync(victim);
          const [z] = srv.acceptNowait();
          for (const f of fillers) closeSync(f);
          socks.push(z);
          assert.equal(z.fileno(), victim);
          watch(victim, EPOLLIN, handler('new', z), true);
        };
      watch(x.fileno(), EPOLLIN, handler('x', y), true);
      watch(y.fileno(), EPOLLIN, handler('y', x), true);
      // Both readable before the poll phase: one batch.
      (clients[0] as NetSocket).write('for x');
      (clients[1] as NetSocket).write('for y');
      await until(() => swap !== null && got.length >= 1, 'the batch');
      for (let i = 0; i < 5; i++) await new Promise((r) => setTimeout(r, 2));
      const s = swap as unknown as { victim: number; batch: number };
      assert.ok(
        (batches[s.batch] as number[]).includes(s.victim),
        `the closed descriptor had an entry in that batch: ${JSON.stringify(batches[s.batch])}`,
      );
      assert.ok(
        !got.some((g) => g.startsWith('new:')),
        `the new connection received nothing of the closed one's: ${JSON.stringify(got)}`,
      );
      // The new connection is served from the next turn on.
      (clients[2] as NetSocket).write('for new');
      await until(() => got.includes('new:for new'), 'the new connection to read');
    } finally {
      native.epollWaitRecv = realWait;
      for (const s of socks) {
        if (s.fileno() >= 0) {
          unwatch(s.fileno());
          s.close();
        }
      }
      for (const c of clients) c.destroy();
      srv.close();
    }
  });

  test('a handler that throws is reported as an uncaught exception once the batch is over; the batch and the poller go on', async () => {
    const srv = RawSocket.listen([HOST, 0]);
    const port = (srv.getsockname() as [string, number])[1];
    const clients = [await connected(port), await connected(port)];
    const [x] = srv.acceptSync({ timeout: 5000 });
    const [y] = srv.acceptSync({ timeout: 5000 });
    // The test runner treats an uncaught exception as a failure: it is expected here.
    const runners = process.listeners('uncaughtException');
    process.removeAllListeners('uncaughtException');
    const uncaught: unknown[] = [];
    process.on('uncaughtException', (e) => uncaught.push(e));
    const boom = new Error('a data listener failed');
    try {
      const got: string[] = [];
      let thrown = false;
      const handler =
        (name: string) =>
        (_ev: number, off: number, res: number): void => {
          if (res > 0) got.push(`${name}:${RBUF.toString('latin1', off, off + res)}`);
          if (!thrown) {
            thrown = true;
            throw boom;
          }
        };
      watch(x.fileno(), EPOLLIN, handler('x'), true);
      watch(y.fileno(), EPOLLIN, handler('y'), true);
      (clients[0] as NetSocket).write('1');
      (clients[1] as NetSocket).write('2');
      await until(() => got.length >= 2, 'both reads');
      assert.deepEqual(got.sort(), ['x:1', 'y:2'], 'the other descriptor of the batch was served');
      await until(() => uncaught.length >= 1, 'the report');
      assert.deepEqual(uncaught, [boom]);
      (clients[0] as NetSocket).write('3');
      await until(() => got.includes('x:3'), 'a later read');
    } finally {
      process.removeAllListeners('uncaughtException');
      for (const l of runners) process.on('uncaughtException', l);
      unwatch(x.fileno());
      unwatch(y.fileno());
      x.close();
      y.close();
      for (const c of clients) c.destroy();
      srv.close();
    }
  });
});

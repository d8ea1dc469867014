/**
 * Lesson 44: the echo-uppercase server with greenlets — code that reads as if it blocked.
 */
import { joinall, spawn } from 'weft/gevent';
import {
  createConnection,
  IPPROTO_TCP,
  SO_REUSEADDR,
  SOL_SOCKET,
  Socket,
  TCP_NODELAY,
} from 'weft/socket';
import { defineLesson, runIfMain } from './lesson.js';

function upper(data: Buffer): Buffer {
  const out = Buffer.from(data);
  for (let i = 0; i < out.length; i++) {
    const c = out[i] as number;
    if (c >= 97 && c <= 122) out[i] = c - 32;
  }
  return out;
}

async function handle(conn: Socket): Promise<void> {
  using _conn = conn;
  for (;;) {
    const data = await conn.recv(1024);
    if (data.length === 0) break;
    await conn.sendall(upper(data));
  }
}

const lesson = defineLesson({
  title: 'Echo-uppercase server with a greenlet per connection',
  shows:
    'gevent lets blocking-style code (accept, recv, sendall) serve many clients on one thread: ' +
    'each call yields to the hub while it waits. In weft the same code awaits; spawn() gives ' +
    'every connection its own greenlet.',
  module: 'gevent',
  async main({ quick, log }) {
    using srv = new Socket();
    srv.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1);
    srv.bind(['127.0.0.1', 0]);
    await srv.listen(1024);
    const [, port] = srv.getsockname() as [string, number];
    const n = quick ? 10 : 100;
    const acceptor = spawn(async () => {
      const handlers = [];
      for (let i = 0; i < n; i++) {
        const [conn] = await srv.accept();
        conn.setsockopt(IPPROTO_TCP, TCP_NODELAY, 1);
        handlers.push(spawn(handle, conn));
      }
      await joinall(handlers);
      return handlers.length;
    });
    const clients = Array.from({ length: n }, (_, i) =>
      spawn(async () => {
        using c = await createConnection(['127.0.0.1', port]);
        await c.sendall(`green ${i}`);
        let got = '';
        while (got.length < `green ${i}`.length) {
          const data = await c.recv(1024);
          // An empty read is the server hanging up, and every later recv() returns one at once:
          // without this check the loop would spin for ever, starving the event loop.
          if (data.length === 0)
            throw new Error(`the server hung up before answering ${JSON.stringify(`green ${i}`)}`);
          got += data.toString();
        }
        return got;
      }),
    );
    await joinall(clients, { raiseError: true });
    await joinall([acceptor], { raiseError: true });
    log(
      `  ${clients
        .slice(0, 4)
        .map((g) => g.value)
        .join(' | ')} | …`,
    );
    log(`${acceptor.value} connections, each served by its own greenlet, all on one thread.`);
  },
});
export default lesson;

await runIfMain(import.meta, lesson);

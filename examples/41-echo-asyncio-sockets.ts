/**
 * Lesson 41: the echo-uppercase server with asyncio's low-level socket verbs
 * (`loop.sock_accept`, `sock_recv`, `sock_sendall`) on non-blocking sockets.
 */
import { createTask, run, sleep, type Task } from 'weft/asyncio';
import {
  AF_INET,
  createConnection,
  IPPROTO_TCP,
  SO_REUSEADDR,
  SOCK_STREAM,
  SOL_SOCKET,
  Socket,
  sockAccept,
  sockRecv,
  sockSendall,
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
  using _conn = conn; // Python's `with conn:`
  for (;;) {
    const data = await sockRecv(conn, 1024);
    if (data.length === 0) break;
    await sockSendall(conn, upper(data));
  }
}

const lesson = defineLesson({
  title: 'Echo-uppercase server with sockAccept / sockRecv / sockSendall',
  shows:
    'The loop verbs wait on non-blocking sockets without blocking the thread: one task accepts, ' +
    'a task per connection echoes. The code is the Python program line for line.',
  module: 'socket',
  async main({ quick, log }) {
    await run(async () => {
      using srv = new Socket(AF_INET, SOCK_STREAM);
      srv.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1);
      srv.bind(['127.0.0.1', 0]);
      await srv.listen(1024);
      srv.setblocking(false);
      const [, port] = srv.getsockname() as [string, number];
      log(`Listening on 127.0.0.1:${port}, fd ${srv.fileno()}`);
      const tasks = new Set<Task<void>>();
      const acceptor = createTask(async () => {
        for (;;) {
          const [conn] = await sockAccept(srv);
          conn.setblocking(false);
          conn.setsockopt(IPPROTO_TCP, TCP_NODELAY, 1);
          const t = createTask(() => handle(conn));
          tasks.add(t);
          t.addDoneCallback(() => tasks.delete(t));
        }
      });
      const n = quick ? 5 : 20;
      const replies = await Promise.all(
        Array.from({ length: n }, async (_, i) => {
          using c = await createConnection(['127.0.0.1', port]);
          await c.sendall(`message ${i}`);
          return (await c.recv(1024)).toString();
        }),
      );
      log(`  ${replies.slice(0, 5).join(' | ')}${n > 5 ? ' | …' : ''}`);
      while (tasks.size > 0) await sleep(1);
      acceptor.cancel();
      await acceptor.then(
        () => {},
        () => log('Acceptor cancelled; every connection handler has finished.'),
      );
    });
  },
});
export default lesson;

await runIfMain(import.meta, lesson);

/**
 * Lesson 47: the echo-uppercase server with a thread per connection — blocking recv/sendall in
 * real threads, as the seeds' first server does.
 */
import { sleep } from 'weft/asyncio';
import { createConnection, RawSocket } from 'weft/socket';
import { Thread, type Thread as ThreadT, task } from 'weft/threading';
import { defineLesson, runIfMain } from './lesson.js';

/**
 * A connection's thread: blocking calls park this thread only. The socket arrives as a
 * descriptor number — threads share the process's descriptors — and is adopted here.
 */
export const handle = task(import.meta, (fd: number): number => {
  using conn = RawSocket.fromFd(fd);
  const buf = Buffer.alloc(1024);
  let served = 0;
  for (;;) {
    const n = conn.recvIntoSync(buf);
    if (n === 0) break;
    for (let i = 0; i < n; i++) {
      const c = buf[i] as number;
      if (c >= 97 && c <= 122) buf[i] = c - 32;
    }
    conn.sendallSync(buf.subarray(0, n));
    served++;
  }
  return served;
});

const lesson = defineLesson({
  title: 'Echo-uppercase server with a thread per connection',
  shows:
    'The main thread accepts; each connection gets its own Thread (a Node worker) running ' +
    'blocking recvIntoSync/sendallSync on a RawSocket, parking only itself. Threads share the ' +
    "process's descriptors, so the socket is handed over as a number (detach / fromFd).",
  module: 'threading',
  async main({ quick, log }) {
    if (!RawSocket.native) {
      log('RawSocket needs the weft_io addon (built at install on Linux): skipped here.');
      return;
    }
    using srv = RawSocket.listen(['127.0.0.1', 0], { backlog: 128 });
    const [, port] = srv.getsockname() as [string, number];
    const n = quick ? 3 : 8;
    const threads: ThreadT[] = [];
    const clients = Array.from({ length: n }, async (_, i) => {
      using c = await createConnection(['127.0.0.1', port]);
      const replies: string[] = [];
      for (let r = 0; r < 3; r++) {
        const msg = `thread-${i} round ${r}`;
        await c.sendall(msg);
        let got = '';
        while (got.length < msg.length) {
          const data = await c.recv(1024);
          // An empty read is the server hanging up, and every later recv() returns one at once:
          // without this check the loop would spin for ever, starving the event loop.
          if (data.length === 0)
            throw new Error(`the server hung up before answering ${JSON.stringify(msg)}`);
          got += data.toString();
        }
        replies.push(got);
      }
      return replies[2];
    });
    // Accept without blocking the main thread: it also runs the clients of this lesson.
    while (threads.length < n) {
      let conn: RawSocket;
      try {
        [conn] = srv.acceptNowait();
      } catch {
        await sleep(1);
        continue;
      }
      const t = new Thread({
        target: handle,
        args: [conn.detach()],
        name: `conn-${threads.length}`,
      });
      t.start();
      threads.push(t);
    }
    const answers = await Promise.all(clients);
    for (const t of threads) await t.join();
    log(`  ${answers.slice(0, 3).join(' | ')}`);
    log(
      `${threads.length} connections, each served by its own thread (${threads.map((t) => t.name).join(', ')}).`,
    );
  },
});
export default lesson;

await runIfMain(import.meta, lesson);

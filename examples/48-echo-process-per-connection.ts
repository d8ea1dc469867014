/**
 * Lesson 48: the echo-uppercase server with a process per connection — the parent accepts, and
 * each connection is served by a child process of its own, as in the seeds:
 *
 *   conn, addr = sock.accept()
 *   p = Process(target=handle, args=(conn, addr)); p.start()
 *   conn.close()
 */
import { Process } from 'weft/multiprocessing';
import { createConnection, type SocketAddress, socket } from 'weft/socket';
import { task } from 'weft/threading';
import { defineLesson, runIfMain } from './lesson.js';

/**
 * A connection's child process. The socket arrives connected: its descriptor was passed to the
 * child when it was forked, with any bytes the parent had already read.
 */
export const handle = task(import.meta, async (conn: socket, addr: SocketAddress) => {
  void addr;
  try {
    for (;;) {
      const data = await conn.recv(1024);
      if (data.length === 0) break;
      for (let i = 0; i < data.length; i++) {
        const c = data[i] as number;
        if (c >= 97 && c <= 122) data[i] = c - 32;
      }
      await conn.sendall(data);
    }
  } finally {
    conn.close();
  }
});

const lesson = defineLesson({
  title: 'Echo-uppercase server with a process per connection',
  shows:
    'The parent accepts; each connection goes to a new Process in its args and the parent ' +
    "closes its own copy. The child holds the same open socket (its descriptor is passed at fork), so closing the parent's copy does not end the connection.",
  module: 'multiprocessing',
  async main({ quick, log }) {
    using sock = new socket();
    sock.bind(['127.0.0.1', 0]);
    await sock.listen();
    const [, port] = sock.getsockname() as [string, number];
    const n = quick ? 2 : 4;
    const clients = Array.from({ length: n }, async (_, i) => {
      using c = await createConnection(['127.0.0.1', port]);
      let last = '';
      for (let r = 0; r < 3; r++) {
        const msg = `client-${i} round ${r}`;
        await c.sendall(msg);
        last = '';
        while (last.length < msg.length) {
          const data = await c.recv(1024);
          // An empty read is the server hanging up, and every later recv() returns one at once:
          // without this check the loop would spin for ever, starving the event loop.
          if (data.length === 0)
            throw new Error(`the server hung up before answering ${JSON.stringify(msg)}`);
          last += data.toString();
        }
      }
      return last;
    });
    const children: Process[] = [];
    while (children.length < n) {
      const [conn, addr] = await sock.accept();
      const p = new Process({ target: handle, args: [conn, addr] });
      p.start();
      conn.close(); // the parent's copy only: the child keeps serving
      children.push(p);
    }
    const answers = await Promise.all(clients);
    for (const p of children) await p.join();
    log(`  ${answers.join(' | ')}`);
    const pids = new Set(children.map((p) => p.pid));
    log(
      `${n} connections, served by ${pids.size} child processes (pids ${[...pids].join(', ')}; this one is ${process.pid}), each exited with ${[...new Set(children.map((p) => p.exitcode))].join(', ')}.`,
    );
  },
});
export default lesson;

await runIfMain(import.meta, lesson);

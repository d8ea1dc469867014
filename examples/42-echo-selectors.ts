/**
 * Lesson 42: the echo-uppercase server with `selectors` — one thread, callbacks in `key.data`.
 */
import {
  DefaultSelector,
  EVENT_READ,
  EVENT_WRITE,
  KeyError,
  type SelectorKey,
} from 'weft/selectors';
import {
  BlockingIOError,
  BrokenPipeError,
  ConnectionResetError,
  createConnection,
  IPPROTO_TCP,
  OSError,
  SO_REUSEADDR,
  SOL_SOCKET,
  Socket,
  TCP_NODELAY,
} from 'weft/socket';
import { defineLesson, runIfMain } from './lesson.js';

type Callback = (sock: Socket, mask: number) => void;

let sel = new DefaultSelector();
const pending = new Map<Socket, Buffer>(); // unsent bytes, only when a send was partial

function upper(data: Buffer): Buffer {
  const out = Buffer.from(data);
  for (let i = 0; i < out.length; i++) {
    const c = out[i] as number;
    if (c >= 97 && c <= 122) out[i] = c - 32;
  }
  return out;
}

function close(conn: Socket): void {
  pending.delete(conn);
  try {
    sel.unregister(conn);
  } catch (e) {
    if (!(e instanceof KeyError)) throw e;
  }
  conn.close();
}

function accept(srv: Socket, _mask: number): void {
  let conn: Socket;
  try {
    [conn] = srv.acceptNowait();
  } catch (e) {
    if (e instanceof BlockingIOError) return;
    throw e;
  }
  conn.setblocking(false);
  conn.setsockopt(IPPROTO_TCP, TCP_NODELAY, 1);
  sel.register(conn, EVENT_READ, read);
}

function read(conn: Socket, _mask: number): void {
  let data: Buffer;
  try {
    data = conn.recvNowait(1024);
  } catch (e) {
    if (e instanceof BlockingIOError) return;
    if (e instanceof ConnectionResetError || e instanceof OSError) {
      close(conn);
      return;
    }
    throw e;
  }
  if (data.length === 0) {
    close(conn);
    return;
  }
  const out = upper(data);
  let n: number;
  try {
    n = conn.sendNowait(out);
  } catch (e) {
    if (e instanceof BlockingIOError) n = 0;
    else if (e instanceof BrokenPipeError || e instanceof OSError) {
      close(conn);
      return;
    } else throw e;
  }
  if (n < out.length) {
    // rare: the send queue is full -> finish when writable
    pending.set(conn, out.subarray(n));
    sel.modify(conn, EVENT_WRITE, write);
  }
}

function write(conn: Socket, _mask: number): void {
  const buf = pending.get(conn) as Buffer;
  let n: number;
  try {
    n = conn.sendNowait(buf);
  } catch (e) {
    if (e instanceof BlockingIOError) return;
    close(conn);
    return;
  }
  if (n < buf.length) pending.set(conn, buf.subarray(n));
  else {
    pending.delete(conn);
    sel.modify(conn, EVENT_READ, read);
  }
}

const lesson = defineLesson({
  title: 'Echo-uppercase server with selectors.DefaultSelector and callbacks in key.data',
  shows:
    'One loop asks the selector which sockets are ready and calls the callback stored with ' +
    'each: accept() for the listening socket, read() for connections. Readiness comes from ' +
    "Node's own event loop (epoll on Linux); the Nowait verbs never wait.",
  module: 'selectors',
  async main({ quick, log }) {
    sel = new DefaultSelector();
    const srv = new Socket();
    srv.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1);
    srv.bind(['127.0.0.1', 0]);
    await srv.listen(1024);
    srv.setblocking(false);
    sel.register(srv, EVENT_READ, accept);
    const [, port] = srv.getsockname() as [string, number];
    log(`Selector loop serving 127.0.0.1:${port}`);

    let stop = false;
    let rounds = 0;
    const loop = (async () => {
      while (!stop) {
        const events = await sel.select({ timeout: 100 });
        rounds++;
        for (const [key, mask] of events) (key as SelectorKey<Callback>).data(key.fileobj, mask);
      }
    })();

    const clients = quick ? 20 : 200;
    const replies = await Promise.all(
      Array.from({ length: clients }, async (_, i) => {
        using c = await createConnection(['127.0.0.1', port]);
        await c.sendall(`ping ${i}`);
        let got = '';
        while (got.length < `ping ${i}`.length) {
          const data = await c.recv(1024);
          // An empty read is the server hanging up, and every later recv() returns one at once:
          // without this check the loop would spin for ever, starving the event loop.
          if (data.length === 0)
            throw new Error(`the server hung up before answering ${JSON.stringify(`ping ${i}`)}`);
          got += data.toString();
        }
        return got;
      }),
    );
    log(`  ${replies.slice(0, 4).join(' | ')} | …`);
    log(`${clients} clients answered over ${rounds} select() rounds, on one thread.`);
    stop = true;
    await loop;
    for (const s of [...sel.getMap().keys()]) close(s);
    sel.close();
  },
});
export default lesson;

await runIfMain(import.meta, lesson);

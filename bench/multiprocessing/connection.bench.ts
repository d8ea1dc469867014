/**
 * multiprocessing.connection between two processes, against Python's (connection_rt.py here):
 * the parent listens (`Listener(['127.0.0.1', 0], { authkey })`), a child process connects with
 * `Client(address, { authkey })`, and the parent sends a small message and waits for the
 * child's echo, N times: round trips per second, over TCP on loopback. The clock starts after
 * the handshake and a first round trip (both processes running), and stops at the last echo;
 * each figure is the best of a few whole runs, and every run checks the last echo.
 *
 * Scenarios: a small object (`send`/`recv`: weft's v8 serialization, Python's pickle) and 64
 * bytes (`sendBytes`/`recvBytes`: the same frames in both).
 */
import { fileURLToPath } from 'node:url';
import {
  Client,
  type Connection,
  type ConnectionAddress,
  Listener,
  Process,
  task,
} from 'weft/multiprocessing';
import { type BenchSuite, bestOf, timed } from '../harness.js';

export const SCENARIOS = {
  object: 'Listener/Client round trip proc↔proc: small object',
  bytes: 'Listener/Client round trip proc↔proc: 64 bytes',
} as const;

const KEY = Buffer.from('bench-connection');

/** The child: echoes objects, or bytes, until it gets null (or an empty message). */
export const echoer = task(
  import.meta,
  async (address: ConnectionAddress, authkey: Uint8Array, bytes: boolean): Promise<void> => {
    const conn = await Client(address, { authkey });
    for (;;) {
      if (bytes) {
        const b = await conn.recvBytes();
        if (b.length === 0) break;
        conn.sendBytes(b);
      } else {
        const m = await conn.recv();
        if (m === null) break;
        conn.send(m);
      }
    }
    conn.close();
  },
);

async function run(n: number, bytes: boolean): Promise<number> {
  using l = new Listener(['127.0.0.1', 0], { authkey: KEY });
  const p = new Process({ target: echoer, args: [l.address, KEY, bytes], daemon: true });
  p.start();
  const c: Connection = await l.accept();
  const payload = Buffer.alloc(64, 7);
  const msg = { id: 0, op: 'echo', args: [1, 2, 3] };
  const once = async (i: number): Promise<unknown> => {
    if (bytes) {
      c.sendBytes(payload);
      return (await c.recvBytes()).length;
    }
    msg.id = i;
    c.send(msg);
    return ((await c.recv()) as { id: number }).id;
  };
  await once(-1);
  const t = performance.now();
  let last: unknown;
  for (let i = 0; i < n; i++) last = await once(i);
  const seconds = (performance.now() - t) / 1000;
  if (last !== (bytes ? 64 : n - 1)) throw new Error(`last echo was ${String(last)}`);
  if (bytes) c.sendBytes(Buffer.alloc(0));
  else c.send(null);
  await p.join();
  c.close();
  return seconds;
}

export const suite: BenchSuite = {
  name: 'multiprocessing-connection',
  title: 'weft/multiprocessing Listener/Client round trips vs Python multiprocessing.connection',
  async run(h) {
    const n = h.quick ? 5_000 : 50_000;
    const runs = h.quick ? 1 : 3;
    h.record(
      timed(SCENARIOS.object, 'weft', n, await bestOf(runs, () => run(n, false)), 'round trips/s'),
    );
    h.record(
      timed(SCENARIOS.bytes, 'weft', n, await bestOf(runs, () => run(n, true)), 'round trips/s'),
    );
    await h.python(
      fileURLToPath(new URL('./connection_rt.py', import.meta.url)),
      [String(n), String(runs)],
      (name) =>
        name.endsWith('.object')
          ? SCENARIOS.object
          : name.endsWith('.bytes')
            ? SCENARIOS.bytes
            : null,
      'python',
    );
  },
};

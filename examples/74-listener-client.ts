/**
 * Lesson 74: processes that find each other by address (Python's multiprocessing.connection).
 * The parent opens a `Listener` with an authkey; two workers are given only its address and
 * the key, connect with `Client`, and ask for work until there is none; `wait()` serves
 * whichever worker speaks first. Then a process with the wrong key knocks, and both sides get
 * an `AuthenticationError`.
 */
import {
  AuthenticationError,
  Client,
  type Connection,
  type ConnectionAddress,
  Listener,
  Process,
  task,
  wait,
} from 'weft/multiprocessing';
import { defineLesson, runIfMain } from './lesson.js';

/** A worker: asks for a number, sends back its square, until it is told to stop. */
export const squarer = task(
  import.meta,
  async (address: ConnectionAddress, authkey: Uint8Array, name: string): Promise<void> => {
    const conn = await Client(address, { authkey });
    conn.send({ name, ready: true });
    for (;;) {
      const n = await conn.recv();
      if (n === null) break;
      conn.send({ name, n, square: (n as number) ** 2 });
    }
    conn.close();
  },
);

const lesson = defineLesson({
  title: 'Listener and Client: connecting processes by address',
  shows:
    'Workers connect to the parent by address with an authkey; wait() serves whichever is ready; a wrong key fails on both sides.',
  module: 'multiprocessing',
  async main({ quick, log }) {
    const key = Buffer.from('lesson-74');
    using listener = new Listener(['127.0.0.1', 0], { authkey: key });
    log(`Listening on ${JSON.stringify(listener.address)} (port 0: the system chose one)`);
    const workers = ['worker-1', 'worker-2'].map(
      (name) => new Process({ target: squarer, args: [listener.address, key, name], name }),
    );
    for (const w of workers) w.start();
    const conns: Connection[] = [];
    for (let i = 0; i < workers.length; i++) conns.push(await listener.accept());
    log(`Accepted ${conns.length} authenticated connections`);

    const jobs = Array.from({ length: quick ? 10 : 40 }, (_, i) => i + 1);
    const results = new Map<number, number>();
    const served = new Map<string, number>();
    let open = conns.length;
    while (open > 0) {
      for (const c of (await wait(conns.filter((x) => !x.closed))) as Connection[]) {
        const m = (await c.recv()) as { name: string; n?: number; square?: number };
        if (m.n !== undefined) {
          results.set(m.n, m.square as number);
          served.set(m.name, (served.get(m.name) ?? 0) + 1);
        }
        const next = jobs.shift();
        c.send(next ?? null);
        if (next === undefined) {
          c.close();
          open--;
        }
      }
    }
    for (const w of workers) await w.join();
    const sum = [...results.values()].reduce((a, b) => a + b, 0);
    log(`${results.size} squares computed, sum ${sum}`);
    log(`Work shared by wait(): ${[...served].map(([n, k]) => `${n} did ${k}`).join(', ')}`);

    const intruder = Client(listener.address, { authkey: Buffer.from('guess') }).catch(
      (e: unknown) => e,
    );
    const refused = await listener.accept().catch((e: unknown) => e);
    const knocked = await intruder;
    log(
      `Wrong key, the Listener: ${refused instanceof AuthenticationError ? `AuthenticationError: ${refused.message}` : String(refused)}`,
    );
    log(
      `Wrong key, the Client: ${knocked instanceof AuthenticationError ? `AuthenticationError: ${knocked.message}` : String(knocked)}`,
    );
  },
});
export default lesson;

await runIfMain(import.meta, lesson);

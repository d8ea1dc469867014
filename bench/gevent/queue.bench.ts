/**
 * weft/gevent's Queue and Channel against gevent itself (Debian's python3-gevent): a put→get
 * hand-off between two greenlets through two Queues (each passes a counter to the other, which
 * waits in `get()`), and the same through two Channels (each `put` waits for the other's `get`).
 *
 * weft runs as a gevent user writes it: greenlets spawned from the main program, no `run()`.
 * Every round checks its answer (the counter passed back and forth), so a broken queue fails the
 * suite instead of posting a figure. The Python peer (gevent_queue.py, next to this file) does
 * the same work, one warm-up pass and one timed pass per run; every figure, Python's included,
 * is the median of interleaved passes.
 */
import { fileURLToPath } from 'node:url';
import { Channel, Queue, spawn } from '../../src/gevent/index.js';
import type { BenchSuite, Harness } from '../harness.js';

const QUEUE = 'Queue put→get hand-off between 2 greenlets';
const CHANNEL = 'Channel put→get rendezvous between 2 greenlets';

/** Round trips per measured round (each is 2 hand-offs). */
const N_QUEUE = 50_000;
const N_CHANNEL = 20_000;
const PASSES = 3;
const PEER = fileURLToPath(new URL('./gevent_queue.py', import.meta.url));

interface Pipe {
  put(x: number | null): Promise<void>;
  get(): Promise<number | null>;
}

/** Two greenlets pass a counter back and forth through `toB` and `toA`: 2n hand-offs. */
async function pingPong(n: number, toB: Pipe, toA: Pipe): Promise<void> {
  const b = spawn(async () => {
    for (;;) {
      const v = await toB.get();
      if (v === null) return;
      await toA.put(v + 1);
    }
  });
  const a = spawn(async () => {
    let total = 0;
    for (let i = 0; i < n; i++) {
      await toB.put(i);
      total += (await toA.get()) as number;
    }
    await toB.put(null);
    return total;
  });
  const total = await a.get();
  await b.join();
  if (total !== (n * (n + 1)) / 2) throw new Error(`hand-off lost a value: ${total}`);
}

export const suite: BenchSuite = {
  name: 'gevent-queue',
  title: 'weft/gevent Queue and Channel hand-offs vs gevent',
  async run(h: Harness) {
    h.note(
      `every figure is the median of ${h.quick ? 1 : PASSES} interleaved passes, gevent's included; weft's greenlets are spawned from the main program, as a gevent user does`,
    );
    const nq = h.quick ? N_QUEUE / 10 : N_QUEUE;
    const nc = h.quick ? N_CHANNEL / 10 : N_CHANNEL;
    await h.interleaved(h.quick ? 1 : PASSES, async () => {
      await h.measure({
        scenario: QUEUE,
        impl: 'weft',
        n: 2 * nq,
        fn: () => pingPong(nq, new Queue<number | null>(), new Queue<number | null>()),
      });
      await h.measure({
        scenario: CHANNEL,
        impl: 'weft',
        n: 2 * nc,
        fn: () => pingPong(nc, new Channel<number | null>(), new Channel<number | null>()),
      });
      await h.python(
        PEER,
        [String(nq), String(nc)],
        (name) =>
          name === 'py.gevent.Queue.handoff'
            ? QUEUE
            : name === 'py.gevent.Channel.handoff'
              ? CHANNEL
              : null,
        'python gevent',
      );
    });
  },
};

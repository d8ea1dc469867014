/**
 * weft/queue across threads against Python's queue.Queue with threads, Node postMessage
 * streaming, and a raw SharedArrayBuffer Int32 ring (the physical limit). Issue 3's goals:
 * ≥ 5× Python and ≥ 3× postMessage for small items between 2 threads.
 *
 * Every implementation moves n items from one thread to another per round; the threads are
 * started once and park between rounds.
 */
import { JoinableQueue, Queue } from '../../src/queue/index.js';
import { Thread } from '../../src/threading/index.js';
import type { BenchSuite, Figure, Harness } from '../harness.js';
import { newControl, runRound, stopRounds } from '../threading/control.js';
import { closePair, type PeerPair, postMessagePair, ringPair } from './peers.js';
import { consumer, joinConsumer, joinProducer, producer } from './queue-tasks.js';

const UNBOUNDED = 'put→get small ints, 2 threads, unbounded';
const BOUNDED = 'put→get small ints, 2 threads, maxsize 1024';
const KIB = 'put→get 1 KiB strings, 2 threads';
const KIB_MB = 'put→get 1 KiB strings, 2 threads (MB/s)';
const JOINABLE = 'JoinableQueue: 1 producer, 2 consumers with taskDone + join';

async function weftPair(
  h: Harness,
  scenario: string,
  impl: string,
  q: Queue<unknown>,
  item: string,
  mode: string,
  n: number,
): Promise<Figure> {
  const ctl = newControl();
  const ts = [
    new Thread({ target: producer, args: [ctl, q, item, mode], daemon: true }),
    new Thread({ target: consumer, args: [ctl, q, mode], daemon: true }),
  ];
  for (const t of ts) t.start();
  let finished = false;
  try {
    runRound(ctl, 100, 2);
    const f = await h.measure({
      scenario,
      impl,
      n,
      unit: 'items/s',
      fn: () => runRound(ctl, n, 2),
    });
    finished = true;
    return f;
  } finally {
    stopRounds(ctl);
    // A hung round may leave a thread parked for ever (daemons: they end with the process).
    if (finished) for (const t of ts) await t.join();
  }
}

async function peer(
  h: Harness,
  scenario: string,
  impl: string,
  make: (ctl: Int32Array) => PeerPair,
  n: number,
): Promise<Figure> {
  const pair = make(newControl());
  try {
    runRound(pair.ctl, 100, pair.reporting);
    return await h.measure({
      scenario,
      impl,
      n,
      unit: 'items/s',
      fn: () => runRound(pair.ctl, n, pair.reporting),
    });
  } finally {
    await closePair(pair);
  }
}

function asMB(h: Harness, f: Figure): void {
  h.record({
    ...f,
    scenario: KIB_MB,
    name: `${f.impl}: ${KIB_MB}`,
    rate: (f.rate * 1024) / 1e6,
    unit: 'MB/s',
    note: 'items/s × 1024 bytes',
  });
}

export const suite: BenchSuite = {
  name: 'queue',
  title: 'weft/queue across threads vs Python queue.Queue, postMessage and a raw SAB ring',
  async run(h) {
    const n = h.quick ? 100_000 : 500_000;
    await weftPair(h, UNBOUNDED, 'weft Queue (putSync/getSync)', new Queue(), 'int', 'sync', n);
    await weftPair(h, UNBOUNDED, 'weft Queue (await put/get)', new Queue(), 'int', 'async', n);
    await peer(h, UNBOUNDED, 'node postMessage', (c) => postMessagePair(c, 'int'), n);
    await peer(h, UNBOUNDED, 'raw SAB Int32 ring', (c) => ringPair(c), n);

    await weftPair(h, BOUNDED, 'weft Queue (putSync/getSync)', new Queue(1024), 'int', 'sync', n);
    await weftPair(h, BOUNDED, 'weft Queue (await put/get)', new Queue(1024), 'int', 'async', n);

    await h.python(
      'python/prims/queue_threads.py',
      [String(h.quick ? 200_000 : 1_000_000)],
      (name) =>
        name === 'py.queue.Queue.unbounded.2-threads'
          ? UNBOUNDED
          : name === 'py.queue.Queue.maxsize1024.2-threads'
            ? BOUNDED
            : null,
      'python queue.Queue',
    );

    const kn = h.quick ? 20_000 : 100_000;
    asMB(
      h,
      await weftPair(
        h,
        KIB,
        'weft Queue (putSync/getSync)',
        new Queue(0, { maxbytes: 4 << 20 }),
        'kib',
        'sync',
        kn,
      ),
    );
    asMB(h, await peer(h, KIB, 'node postMessage', (c) => postMessagePair(c, 'kib'), kn));

    const jq = new JoinableQueue<number>();
    const ctl = newControl();
    const prod = new Thread({ target: joinProducer, args: [ctl, jq], daemon: true });
    const cons = [0, 1].map(() => new Thread({ target: joinConsumer, args: [jq], daemon: true }));
    for (const t of [prod, ...cons]) t.start();
    let finished = false;
    try {
      runRound(ctl, 100, 1);
      await h.measure({
        scenario: JOINABLE,
        impl: 'weft JoinableQueue (sync)',
        n,
        unit: 'items/s',
        fn: () => runRound(ctl, n, 1),
      });
      finished = true;
    } finally {
      stopRounds(ctl);
      if (finished) {
        await jq.put(-1);
        await jq.put(-1);
        for (const t of [prod, ...cons]) await t.join();
      }
    }
    h.note(
      'Python peer: queue_threads.py (queue.Queue, producer thread → consumer thread, one round of N items, includes thread start).',
    );
    h.note(
      'postMessage: one MessagePort per item, producer worker → consumer worker. Raw ring: SPSC Int32 ring, one Atomics.store per item, capacity 1024.',
    );
  },
};

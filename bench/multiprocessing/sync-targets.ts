/**
 * Child-process targets of the Manager and synchronization benches (sync.bench.ts,
 * manager.bench.ts), marked so children find them. Each does `rounds` rounds of its side of a
 * hand-off; `sync` picks the blocking twins (`waitSync`, `acquireSync`) over `await`.
 */
import {
  type Barrier,
  type Condition,
  type DictProxy,
  type Event,
  type Queue,
  type SharedValue,
  type SimpleQueue,
  task,
} from 'weft/multiprocessing';

/** The other side of the Event ping-pong: wait for ping, clear it, set pong. */
export const eventPonger = task(
  import.meta,
  async (ping: Event, pong: Event, rounds: number, sync: boolean) => {
    for (let i = 0; i < rounds; i++) {
      if (sync) ping.waitSync();
      else await ping.wait();
      ping.clear();
      pong.set();
    }
  },
);

/**
 * One side of the Condition hand-off: under the condition's lock, wait until `turn` is `me`,
 * give the turn to the other side, notify. Also run by the parent (see sync.bench.ts).
 */
export async function takeTurns(
  cond: Condition,
  turn: SharedValue,
  me: number,
  rounds: number,
  sync: boolean,
): Promise<void> {
  for (let i = 0; i < rounds; i++) {
    if (sync) {
      cond.runSync(() => {
        while (turn.value !== me) cond.waitSync();
        turn.value = 1 - me;
        cond.notify();
      });
    } else {
      await cond.run(async () => {
        while (turn.value !== me) await cond.wait();
        turn.value = 1 - me;
        cond.notify();
      });
    }
  }
}

export const turnTaker = task(
  import.meta,
  (cond: Condition, turn: SharedValue, me: number, rounds: number, sync: boolean) =>
    takeTurns(cond, turn, me, rounds, sync),
);

export const barrierParty = task(import.meta, async (b: Barrier, rounds: number, sync: boolean) => {
  for (let i = 0; i < rounds; i++) {
    if (sync) b.waitSync();
    else await b.wait();
  }
});

/**
 * `d.set('k', i)` then `d.get('k')`, n times after a first one, timed by the caller's own
 * clock (a child's start is not in it); checks the sum of what it read.
 */
export async function dictLoop(d: DictProxy<string, number>, n: number): Promise<number> {
  await d.set('k', -1);
  if ((await d.get('k')) !== -1) throw new Error('the dict did not keep k');
  let s = 0;
  const t = performance.now();
  for (let i = 0; i < n; i++) {
    await d.set('k', i);
    s += (await d.get('k')) as number;
  }
  const seconds = (performance.now() - t) / 1000;
  if (s !== (n * (n - 1)) / 2) throw new Error(`read back ${s}, not ${(n * (n - 1)) / 2}`);
  return seconds;
}

export const dictChild = task(
  import.meta,
  async (d: DictProxy<string, number>, n: number, out: SimpleQueue<number>) => {
    await out.put(await dictLoop(d, n));
  },
);

export const queueProducer = task(import.meta, async (q: Queue<number>, go: Event, n: number) => {
  await go.wait();
  for (let i = 0; i < n; i++) await q.put(i);
});

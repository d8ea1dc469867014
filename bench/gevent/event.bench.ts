/**
 * weft/gevent's AsyncResult and Group against gevent itself (Debian's python3-gevent): an
 * AsyncResult hand-off between two greenlets (each sets a fresh AsyncResult the other waits on
 * in `get()`), and `Group.spawn` of N trivial greenlets then `join()`.
 *
 * weft runs as a gevent user writes it: greenlets spawned from the main program, no `run()`.
 * Every round checks its answer (the sum passed back and forth, an empty group), so a broken
 * primitive fails the suite instead of posting a figure. The Python peer (gevent_event.py, next
 * to this file) does the same work, one warm-up pass and one timed pass per run; every figure,
 * Python's included, is the median of interleaved passes.
 */
import { fileURLToPath } from 'node:url';
import { AsyncResult, Group, spawn } from '../../src/gevent/index.js';
import type { BenchSuite, Harness } from '../harness.js';

const HANDOFF = 'AsyncResult set→get hand-off between 2 greenlets';
const GROUP = 'Group.spawn + join of 10,000 trivial greenlets';

/** Round trips per measured round (each is 2 hand-offs). */
const N_HANDOFF = 50_000;
const N_GROUP = 10_000;
const PASSES = 3;
const PEER = fileURLToPath(new URL('./gevent_event.py', import.meta.url));

/** Two greenlets pass a counter back and forth through fresh AsyncResults: 2n hand-offs. */
async function handoffs(n: number): Promise<void> {
  let toA = new AsyncResult<number>();
  let toB = new AsyncResult<number | null>();
  const b = spawn(async () => {
    let r = toB;
    for (;;) {
      const v = await r.get();
      if (v === null) return;
      const next = new AsyncResult<number | null>();
      toB = next;
      toA.set(v + 1);
      r = next;
    }
  });
  const a = spawn(async () => {
    let total = 0;
    for (let i = 0; i < n; i++) {
      const r = new AsyncResult<number>();
      toA = r;
      toB.set(i);
      total += await r.get();
    }
    toB.set(null);
    return total;
  });
  const total = await a.get();
  await b.join();
  if (total !== (n * (n + 1)) / 2) throw new Error(`hand-off lost a value: ${total}`);
}

async function groupSpawnJoin(n: number): Promise<void> {
  const group = new Group();
  for (let i = 0; i < n; i++) group.spawn((x: number) => x, i);
  if (!(await group.join()) || group.length !== 0) throw new Error('the group did not empty');
}

export const suite: BenchSuite = {
  name: 'gevent-event',
  title: 'weft/gevent AsyncResult hand-off and Group spawn+join vs gevent',
  async run(h: Harness) {
    h.note(
      `every figure is the median of ${h.quick ? 1 : PASSES} interleaved passes, gevent's included; weft's greenlets are spawned from the main program, as a gevent user does`,
    );
    const n = h.quick ? N_HANDOFF / 10 : N_HANDOFF;
    await h.interleaved(h.quick ? 1 : PASSES, async () => {
      await h.measure({
        scenario: HANDOFF,
        impl: 'weft',
        n: 2 * n,
        fn: () => handoffs(n),
      });
      await h.measure({
        scenario: GROUP,
        impl: 'weft',
        n: N_GROUP,
        unit: 'greenlets/s',
        fn: () => groupSpawnJoin(N_GROUP),
      });
      await h.python(
        PEER,
        [String(n), String(N_GROUP)],
        (name) =>
          name === 'py.gevent.AsyncResult.handoff'
            ? HANDOFF
            : name === 'py.gevent.Group.spawn_join'
              ? GROUP
              : null,
        'python gevent',
      );
    });
  },
};

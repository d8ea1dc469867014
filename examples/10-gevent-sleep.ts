/**
 * Lesson 10: gevent — three greenlets sleeping 2, 2 and 3 seconds finish in about 3, not 7.
 */
import { joinall, sleep, spawn } from 'weft/gevent';
import { defineLesson, runIfMain } from './lesson.js';

const lesson = defineLesson({
  title: 'Three greenlets sleeping 2, 2 and 3 s finish in about 3 s, not 7',
  shows:
    'While one greenlet sleeps, the others run: the sleeps overlap, so the whole takes as long ' +
    'as the longest (3 s), not the sum (7 s). Quick mode divides every sleep by 20.',
  module: 'gevent',
  async main({ quick, log }) {
    const scale = quick ? 20 : 1;
    const seconds = [2, 2, 3];
    const started = performance.now();
    const elapsed = () => (performance.now() - started) / 1000;
    const greenlets = seconds.map((s, i) =>
      spawn(
        async (name: string, ms: number) => {
          log(`  ${name}: sleeping ${s} s${quick ? ` (${ms} ms in quick mode)` : ''}`);
          await sleep(ms);
          log(`  ${name}: awake at ${(elapsed() * scale).toFixed(2)} s`);
          return name;
        },
        `greenlet ${i + 1}`,
        (s * 1000) / scale,
      ),
    );
    log('Spawned three greenlets; joinall() waits for all of them.');
    await joinall(greenlets, { raiseError: true });
    const total = elapsed() * scale;
    const sum = seconds.reduce((a, b) => a + b, 0);
    log(`All done in ${total.toFixed(2)} s (scaled to real seconds); one after another: ${sum} s.`);
    // Said only when the figures say it: a badly loaded machine can stall the loop itself (the
    // order above still shows all three asleep before any woke).
    log(
      total < sum
        ? `Elapsed ${total.toFixed(2)} s < sum of sleeps ${sum} s: the waits overlapped.`
        : `Elapsed ${total.toFixed(2)} s, not less than the sum of sleeps ${sum} s: the machine stalled this process (all three were asleep before any woke, above).`,
    );
  },
});
export default lesson;

await runIfMain(import.meta, lesson);

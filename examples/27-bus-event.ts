/**
 * Lesson 27: the bus — an Event that the passengers wait for (10, or 4 in the quick tour).
 *
 * Passenger threads arrive at the stop and wait on an Event; the driver thread sets it when the
 * bus arrives, and every waiting passenger boards at once.
 */
import { Queue } from 'weft/queue';
import { Event, Thread, task } from 'weft/threading';
import { defineLesson, runIfMain } from './lesson.js';

export const passenger = task(import.meta, async (bus: Event, log: Queue<string>, id: number) => {
  log.putSync(`passenger ${id} waits at the stop`);
  await bus.wait();
  log.putSync(`passenger ${id} boards`);
});

export const driver = task(import.meta, async (bus: Event, log: Queue<string>, ms: number) => {
  await new Promise((r) => setTimeout(r, ms));
  log.putSync('driver: the bus arrives — bus.set()');
  bus.set();
});

const lesson = defineLesson({
  title: 'The bus: passenger threads wait on one Event until the driver sets it',
  shows: 'Event.wait() blocks each passenger until one set(); then all of them go at once.',
  module: 'threading',
  async main({ quick, log }) {
    const bus = new Event();
    const events = new Queue<string>();
    const n = quick ? 4 : 10;
    const passengers = Array.from(
      { length: n },
      (_, i) => new Thread({ target: passenger, args: [bus, events, i + 1] }),
    );
    for (const t of passengers) t.start();
    const d = new Thread({
      target: driver,
      args: [bus, events, quick ? 400 : 2000],
      name: 'driver',
    });
    d.start();
    for (const t of [...passengers, d]) await t.join();
    const lines: string[] = [];
    while (!events.empty()) lines.push(await events.get());
    for (const line of lines) log(`  ${line}`);
    const arrive = lines.indexOf('driver: the bus arrives — bus.set()');
    log(
      `Boarded before the bus came: ${lines.slice(0, arrive).filter((l) => l.endsWith('boards')).length}; after: ${lines.slice(arrive).filter((l) => l.endsWith('boards')).length}`,
    );
  },
});
export default lesson;

await runIfMain(import.meta, lesson);

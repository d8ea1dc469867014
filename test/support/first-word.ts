/**
 * Runs test/multiprocessing/fixtures/first-word.ts: a process outside weft's Process tree
 * whose first word to the broker is a Semaphore's release or an Event's set over parked
 * waiters; what it printed and how it ended.
 */
import { serialize } from 'node:v8';
import { encode } from '../../src/internal/serialize.js';
import { exited, tsFixture } from './child-lines.js';

export async function firstWord(
  o: object,
  op: 'release' | 'set',
  then: 'die' | 'clearAndDie' | 'pingFails',
): Promise<{ out: string; code: number | null; signal: NodeJS.Signals | null }> {
  const handle = serialize(encode(o, 'message')).toString('base64');
  const child = tsFixture(
    new URL('../multiprocessing/fixtures/first-word.ts', import.meta.url),
    handle,
    op,
    then,
  );
  let out = '';
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const code = await exited(child);
  return { out, code, signal: child.signalCode };
}

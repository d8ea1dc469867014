/**
 * A runnable doc example that cannot work without one of weft's addons says so on its fence,
 * after `ts run`: ```` ```ts run needs=shm ````. The page still shows it, and its type check
 * still runs everywhere (test/docs/examples-run.test.ts); only its run is skipped where the addon
 * is missing (no C++ compiler at install, not Linux, WEFT_NO_NATIVE=1), with the reason.
 */
import { shmExpected } from './slab.js';

/** For each need a fence may name: the reason to skip the run here, or false to run it. */
const NEEDS: Record<string, string | false> = {
  shm: !shmExpected && 'needs the shm addon and /dev/shm (SharedMemory), not here',
};

/**
 * The skip reason for a fence's words after `ts run` (`needs=a,b`), or false to run the block.
 * @throws Error for any other word or an unknown need: a misspelt marker must not skip quietly.
 */
export function skipFor(words: string, where: string): string | false {
  for (const word of words.split(/\s+/).filter((w) => w !== '')) {
    const m = /^needs=(.+)$/.exec(word);
    if (m === null) throw new Error(`${where}: unknown word on a ts run fence: ${word}`);
    for (const need of (m[1] as string).split(',')) {
      if (!Object.hasOwn(NEEDS, need)) {
        throw new Error(
          `${where}: unknown need ${need} on a ts run fence (known: ${Object.keys(NEEDS).join(', ')})`,
        );
      }
      const reason = NEEDS[need] as string | false;
      if (reason !== false) return reason;
    }
  }
  return false;
}

/**
 * What shared memory this test run has: the shm addon built, /dev/shm there and WEFT_NO_NATIVE
 * unset (`shmExpected`: SharedMemory works), and also WEFT_LOCK_SLAB not 0 (`slabExpected`: the
 * multiprocessing lock slab, src/internal/process/lock-slab.ts, and Array files; the second pass
 * of the lock tests in scripts/run-tests.mjs runs without it).
 */
import { existsSync } from 'node:fs';

const root = new URL('../../', import.meta.url).pathname;

export const shmExpected =
  existsSync(`${root}native/shm/build/Release/weft_shm.node`) &&
  existsSync('/dev/shm') &&
  process.env.WEFT_NO_NATIVE !== '1';

export const slabExpected = shmExpected && process.env.WEFT_LOCK_SLAB !== '0';

/**
 * Whether this test run has the multiprocessing lock slab (src/internal/process/lock-slab.ts):
 * the shm addon built, /dev/shm there, and neither WEFT_LOCK_SLAB=0 nor WEFT_NO_NATIVE=1 (the
 * second pass of the lock tests in scripts/run-tests.mjs).
 */
import { existsSync } from 'node:fs';

const root = new URL('../../', import.meta.url).pathname;

export const slabExpected =
  existsSync(`${root}native/shm/build/Release/weft_shm.node`) &&
  existsSync('/dev/shm') &&
  process.env.WEFT_LOCK_SLAB !== '0' &&
  process.env.WEFT_NO_NATIVE !== '1';

/**
 * A small deterministic generator (mulberry32) for stress tests: the same picks for the same seed,
 * so a failing run can be replayed by its seed. Numbers in [0, 1).
 */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** An error as a thread target reports it through a queue: "Name: message". */
export function outcome(err: unknown): string {
  return `${(err as Error).name}: ${(err as Error).message}`;
}

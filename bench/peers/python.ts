/**
 * Runs a Python bench peer kept in this repository (bench/peers/python/*.py) with Debian's
 * python3, the same way the harness runs the shared peers: each JSON line
 * `{name, n, seconds, rate, unit}` it prints becomes a figure under `scenarioOf(name)`.
 */
import { fileURLToPath } from 'node:url';
import type { Harness } from '../harness.js';

const HERE = fileURLToPath(new URL('./python/', import.meta.url));

/** Returns false (with a note) when the peer cannot run here. */
export function runLocalPython(
  h: Harness,
  script: string,
  args: string[],
  scenarioOf: (peerName: string) => string | null,
  impl: string,
): Promise<boolean> {
  return h.python(HERE + script, args, scenarioOf, impl);
}

/**
 * Runs a Python bench peer kept in this repository (bench/peers/python/*.py) with Debian's
 * python3, the same way the harness runs the shared peers: each JSON line
 * `{name, n, seconds, rate, unit}` it prints becomes a figure under `scenarioOf(name)`.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type Harness, PYTHON } from '../harness.js';

const HERE = fileURLToPath(new URL('./python/', import.meta.url));

/** Returns false (with a note) when the peer cannot run here. */
export async function runLocalPython(
  h: Harness,
  script: string,
  args: string[],
  scenarioOf: (peerName: string) => string | null,
  impl: string,
): Promise<boolean> {
  const path = HERE + script;
  if (!existsSync(PYTHON)) {
    h.note(`skipped ${impl} (${script}): no ${PYTHON}`);
    return false;
  }
  const out = await new Promise<{ code: number | null; stdout: string; stderr: string }>(
    (resolve) => {
      const child = spawn(PYTHON, [path, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      child.on('error', (e) => resolve({ code: null, stdout, stderr: String(e) }));
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    },
  );
  if (out.code !== 0) {
    const why = out.stderr.trim().split('\n').pop();
    h.note(`skipped ${impl} (${script} ${args.join(' ')}): exit ${out.code}: ${why}`);
    return false;
  }
  for (const line of out.stdout.split('\n')) {
    if (!line.startsWith('{')) continue;
    const d = JSON.parse(line) as { name: string; n: number; seconds: number; unit: string };
    const scenario = scenarioOf(d.name);
    if (scenario === null) continue;
    h.record({
      name: `${impl}: ${scenario}`,
      impl,
      scenario,
      n: d.n,
      seconds: d.seconds,
      rate: d.n / d.seconds,
      unit: d.unit,
      note: d.name,
    });
  }
  return true;
}

/**
 * weft/web against the engine under it and its peers, each server a separate process pinned to
 * core 1, the load generator pinned to core 0, all on 127.0.0.1:
 *
 * - hello-world (`GET /`) and the seeds' route (`GET /{id}`, asked as `/12345`), `wrk -t1 -c100`:
 *   weft, Node's bare `http` server (the limit: weft runs on it), Fastify, aiohttp with and
 *   without uvloop (../shared/peers/http/);
 * - a compressed answer (`GET /gzip` with `Accept-Encoding: gzip`: 8 KiB of text, gzipped per
 *   request, `enableCompression()` / aiohttp's `enable_compression()`, bare `http` calling
 *   `gzipSync`), the same wrk load, without Fastify (no compression plugin is installed);
 * - a 1 GiB file over loopback, downloaded by curl: throughput and the sender's CPU time, for
 *   weft's FileResponse (sendfile), the same with a stream pipe, a bare `createReadStream` pipe,
 *   and aiohttp's FileResponse.
 *
 * `wrk` comes from Debian's packages (scripts/install-bench-deps.sh; installed here with
 * apt-get when missing and possible, else those figures are skipped with a note).
 */
import { execFileSync } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BenchSuite, type Figure, goalTools, type Harness, ratio } from '../harness.js';
import {
  cpuSeconds,
  freePort,
  median,
  runPinned,
  SHARED,
  type Started,
  startServer,
} from '../io/processes.js';

const SERVERS = new URL('./servers.ts', import.meta.url).pathname;
const AIOHTTP_FILE = new URL('./aiohttp_file.py', import.meta.url).pathname;
const AIOHTTP_GZIP = new URL('./aiohttp_gzip.py', import.meta.url).pathname;
const PY = '/usr/bin/python3';

function has(cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function ensureWrk(h: Harness): boolean {
  if (has('wrk')) return true;
  try {
    execFileSync('apt-get', ['install', '-y', '-qq', 'wrk'], { stdio: 'ignore', timeout: 300_000 });
  } catch {
    // fall through to the note
  }
  if (has('wrk')) return true;
  h.note('wrk is not installed and apt-get could not install it: HTTP throughput figures skipped');
  return false;
}

interface ServerSpec {
  impl: string;
  cmd: string;
  args: (mode: string, port: number) => string[];
  available: () => string | null;
  /** The throughput modes it serves (default: all), and why not the others. */
  modes?: { only: readonly string[]; why: string };
}

/** The aiohttp peer script of each throughput mode. */
function aiohttpScript(mode: string): string {
  if (mode === 'gzip') return AIOHTTP_GZIP;
  return join(SHARED, 'peers', 'http', mode === 'hello' ? 'aiohttp_hello.py' : 'aiohttp_route.py');
}

const node = (impl: string, label: string): ServerSpec => ({
  impl: label,
  cmd: process.execPath,
  args: (mode, port) => ['--import', 'tsx', SERVERS, impl, mode, String(port)],
  available: () => null,
});

function aiohttp(uvloop: boolean): ServerSpec {
  return {
    impl: uvloop ? 'aiohttp + uvloop' : 'aiohttp',
    cmd: PY,
    args: (mode, port) => [aiohttpScript(mode), String(port), ...(uvloop ? ['--uvloop'] : [])],
    available: () => {
      if (!existsSync(PY)) return 'no /usr/bin/python3';
      try {
        execFileSync(PY, ['-c', uvloop ? 'import aiohttp, uvloop' : 'import aiohttp'], {
          stdio: 'ignore',
        });
        return null;
      } catch {
        return `python3 lacks ${uvloop ? 'aiohttp/uvloop' : 'aiohttp'} (Debian python3-aiohttp python3-uvloop)`;
      }
    },
  };
}

/**
 * Throughput, in interleaved rounds: every server of a scenario is started once, then each round
 * runs wrk against each of them in turn, and a figure is the median of its rounds. One long run
 * per server let the machine's drift decide the verdict: on a shared 2-core machine the same
 * server measured up to 1.6× apart a minute later, so a slow minute landed on whoever ran then.
 * Interleaving spreads that drift over every implementation alike.
 */
async function throughput(h: Harness): Promise<void> {
  if (!ensureWrk(h)) return;
  // An even number of rounds: the order of the servers is reversed every other round (below).
  const rounds = h.quick ? 1 : 6;
  const seconds = h.quick ? 2 : 4;
  const specs = [
    node('weft', 'weft'),
    node('http', 'node http'),
    {
      ...node('fastify', 'fastify'),
      modes: { only: ['hello', 'route'], why: '@fastify/compress is not a devDependency' },
    },
    aiohttp(false),
    aiohttp(true),
  ];
  for (const [mode, path, scenario, wrkArgs] of [
    ['hello', '/', HELLO, []],
    ['route', '/12345', ROUTE, []],
    ['gzip', '/gzip', GZIP, ['-H', 'Accept-Encoding: gzip']],
  ] as const) {
    const running: { spec: ServerSpec; url: string; server: Started; runs: Run[] }[] = [];
    try {
      for (const spec of specs) {
        if (spec.modes !== undefined && !spec.modes.only.includes(mode)) {
          h.note(`skipped ${spec.impl} (${scenario}): ${spec.modes.why}`);
          continue;
        }
        const why = spec.available();
        if (why !== null) {
          h.note(`skipped ${spec.impl} (${scenario}): ${why}`);
          continue;
        }
        const port = await freePort();
        const server = await startServer(spec.cmd, spec.args(mode, port), port);
        if (typeof server === 'string') {
          h.note(`skipped ${spec.impl} (${scenario}): ${server}`);
          continue;
        }
        const url = `http://127.0.0.1:${port}${path}`;
        running.push({ spec, url, server, runs: [] });
        // Warm-up (the JIT, the connection pool): not measured.
        await runPinned('wrk', ['-t1', '-c100', '-d2s', ...wrkArgs, url]);
      }
      for (let round = 0; round < rounds; round++) {
        // Forwards, then backwards (A B C, C B A, …): this machine's speed drifts over tens of
        // seconds, and a fixed order would give the servers measured late a steady advantage
        // or handicap against those measured early in every round.
        for (const r of round % 2 === 0 ? running : [...running].reverse()) {
          const run = await wrkRun(r.url, seconds, r.server.child.pid as number, wrkArgs);
          if (typeof run === 'string') h.note(`${r.spec.impl} (${scenario}): ${run}`);
          else r.runs.push(run);
        }
      }
    } finally {
      for (const r of running) await r.server.stop();
    }
    for (const { spec, runs } of running) {
      if (runs.length === 0) continue;
      const rates = runs.map((r) => r.rate);
      const rate = median(rates);
      const total = runs.reduce((a, r) => a + r.total, 0);
      const cpu = runs.reduce((a, r) => a + r.cpu, 0);
      const errors = runs.map((r) => r.errors).filter((e) => e !== null);
      h.record({
        name: `${spec.impl}: ${scenario}`,
        impl: spec.impl,
        scenario,
        n: total,
        seconds: total / rate,
        rate,
        passes: rates,
        unit: 'req/s',
        // The spread of the rounds, as ± half the range over the median.
        rme:
          rates.length > 1
            ? ((Math.max(...rates) - Math.min(...rates)) / 2 / rate) * 100
            : undefined,
        note:
          `median of ${rates.length} rounds of ${seconds} s (${rates.map((x) => Math.round(x)).join(', ')} req/s); ` +
          `${Math.round(total / cpu)} req per server CPU-second${errors.length > 0 ? `; ${errors.join('; ')}` : ''}`,
      });
    }
  }
}

interface Run {
  rate: number;
  total: number;
  cpu: number;
  errors: string | null;
}

async function wrkRun(
  url: string,
  seconds: number,
  pid: number,
  extra: readonly string[],
): Promise<Run | string> {
  const cpu0 = cpuSeconds(pid);
  const r = await runPinned('wrk', ['-t1', '-c100', `-d${seconds}s`, ...extra, url]);
  const cpu = cpuSeconds(pid) - cpu0;
  const rate = Number(/Requests\/sec:\s+([\d.]+)/.exec(r.stdout)?.[1]);
  const total = Number(/(\d+) requests in/.exec(r.stdout)?.[1]);
  if (!Number.isFinite(rate) || !Number.isFinite(total)) {
    return `wrk gave no figure: ${r.stderr.trim() || r.stdout}`;
  }
  const errors = /Non-2xx or 3xx responses: (\d+)|Socket errors: (.*)/.exec(r.stdout);
  return { rate, total, cpu, errors: errors ? errors[0] : null };
}

const HELLO = 'hello-world, wrk -t1 -c100';
const ROUTE = 'route /{id}, wrk -t1 -c100';
const GZIP = '8 KiB text gzipped per request, wrk -t1 -c100';

/** The throughput goals of issue 6, computed from this run's figures (never typed by hand). */
export function goals(figures: Figure[]): string[] {
  const out: string[] = [];
  const { fig, x, verdict } = goalTools(figures);
  for (const sc of [HELLO, ROUTE]) {
    const w = fig(sc, 'weft');
    if (w === undefined) continue;
    const bare = fig(sc, 'node http');
    if (bare !== undefined) {
      const r = ratio(w, bare);
      out.push(`goal ${sc} ≥ 0.9× node http: ${verdict(r >= 0.9)} — weft is ${x(r)}`);
    }
    const fastify = fig(sc, 'fastify');
    if (fastify !== undefined) {
      const r = ratio(w, fastify);
      out.push(`goal ${sc} ahead of fastify: ${verdict(r > 1)} — weft is ${x(r)}`);
    }
    for (const impl of ['aiohttp', 'aiohttp + uvloop']) {
      const p = fig(sc, impl);
      if (p !== undefined) out.push(`${sc}: weft is ${x(ratio(w, p))} ${impl}`);
    }
  }
  return out;
}

function makeFile(bytes: number): string {
  const dir = mkdtempSync(join(tmpdir(), 'weft-bench-web-'));
  const path = join(dir, 'big.bin');
  const chunk = Buffer.alloc(1024 * 1024);
  for (let i = 0; i < chunk.length; i++) chunk[i] = (i * 131 + 7) & 255;
  const fd = openSync(path, 'w');
  try {
    for (let done = 0; done < bytes; done += chunk.length) writeSync(fd, chunk);
  } finally {
    closeSync(fd);
  }
  return path;
}

async function fileTransfer(h: Harness): Promise<void> {
  if (!has('curl')) {
    h.note('curl is not installed: FileResponse figures skipped');
    return;
  }
  const gib = 1024 ** 3;
  const size = h.quick ? 128 * 1024 ** 2 : gib;
  const label = h.quick ? '128 MiB' : '1 GiB';
  const path = makeFile(size);
  const rounds = h.quick ? 1 : 3;
  const specs: ServerSpec[] = [
    { ...node('weft', 'weft FileResponse (sendfile)') },
    { ...node('weft-pipe', 'weft FileResponse (stream pipe)') },
    { ...node('http', 'node http + createReadStream pipe') },
    {
      impl: 'aiohttp FileResponse',
      cmd: PY,
      args: (_mode, port) => [AIOHTTP_FILE, String(port), path],
      available: aiohttp(false).available,
    },
  ];
  try {
    for (const spec of specs) {
      const why = spec.available();
      if (why !== null) {
        h.note(`skipped ${spec.impl} (file): ${why}`);
        continue;
      }
      const port = await freePort();
      const args = spec.cmd === PY ? spec.args('file', port) : [...spec.args('file', port), path];
      const server = await startServer(spec.cmd, args, port);
      if (typeof server === 'string') {
        h.note(`skipped ${spec.impl} (file): ${server}`);
        continue;
      }
      try {
        const rates: number[] = [];
        const cpus: number[] = [];
        for (let i = 0; i < rounds; i++) {
          const cpu0 = cpuSeconds(server.child.pid as number);
          const r = await runPinned('curl', [
            '-s',
            '-o',
            '/dev/null',
            '-w',
            '%{size_download} %{time_total}',
            `http://127.0.0.1:${port}/file`,
          ]);
          const cpu = cpuSeconds(server.child.pid as number) - cpu0;
          const [got, secs] = r.stdout.trim().split(' ').map(Number) as [number, number];
          if (got !== size) {
            h.note(`${spec.impl}: downloaded ${got} of ${size} bytes`);
            break;
          }
          rates.push(size / 1024 ** 2 / secs);
          cpus.push(cpu);
        }
        if (rates.length === 0) continue;
        const rate = median(rates);
        h.record({
          name: `${spec.impl}: ${label} over loopback, throughput`,
          impl: spec.impl,
          scenario: `${label} FileResponse over loopback: throughput`,
          n: size,
          seconds: size / 1024 ** 2 / rate,
          rate,
          unit: 'MiB/s',
        });
        const cpu = median(cpus);
        h.record({
          name: `${spec.impl}: ${label} over loopback, sender CPU`,
          impl: spec.impl,
          scenario: `${label} FileResponse over loopback: sender CPU seconds per GiB (lower is better)`,
          n: 1,
          seconds: cpu,
          rate: (cpu * gib) / size,
          unit: 'cpu-s/GiB',
        });
      } finally {
        await server.stop();
      }
    }
  } finally {
    rmSync(path, { force: true });
  }
}

export const suite: BenchSuite = {
  name: 'web-http',
  title: 'weft/web: HTTP server throughput (wrk) and FileResponse over loopback',
  async run(h) {
    h.note('servers pinned to core 1, wrk/curl to core 0 (taskset), 127.0.0.1 only');
    h.note(
      'throughput: every server of a scenario runs at once (idle but for its turn); wrk visits them in turn, round after round, in reverse order every other round (6 rounds), and each figure is the median of its rounds (± is half the range of the rounds); a goal ratio is the median of the per-round ratios',
    );
    await throughput(h);
    for (const line of goals(h.figures)) h.note(line);
    await fileTransfer(h);
  },
};

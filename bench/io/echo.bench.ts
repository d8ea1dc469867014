/**
 * Echo-uppercase servers under the same closed-loop load: weft's IO models against the Python
 * peers (../shared/peers/python), a raw Node `net` server and the C epoll server (the
 * syscall-bound limit). Load: ../shared/bench/echo-load.c, built here with gcc. Each server is
 * its own process pinned to core 1, the load generator to core 0 (where there are two cores);
 * every server is started up front and measured in interleaved rounds (each round visits every
 * server in turn), each figure being the median of its rounds; the server's CPU time per request comes from
 * /proc around each run. The goals of issue 5 are computed from the run's figures and written as
 * notes (met/MISSED).
 *
 * `WEFT_ECHO_ONLY=epoll,C epoll` runs only the servers whose name contains one of the
 * comma-separated words (for A/B iterations; a full run leaves it unset).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { BenchSuite, Figure, Harness } from '../harness.js';
import { goalTools, PEERS_DIR, PYTHON, ratio } from '../harness.js';
import {
  buildC,
  canPin,
  cpuSeconds,
  freePort,
  median,
  runPinned,
  type Started,
  startServer,
  WEFT_BIN,
} from './processes.js';

interface ServerSpec {
  impl: string;
  command: (port: number) => [string, string[]] | null;
  /** Scenarios above this many connections are not run for this server (see its note). */
  maxConns?: number;
  note?: string;
}

interface Scenario {
  name: string;
  conns: number;
  size: number;
  spin?: boolean;
}

const weft = (model: string): ServerSpec => ({
  impl: `weft ${model}`,
  command: (port) => [
    process.execPath,
    [WEFT_BIN, 'serve', 'echo', '--model', model, '--port', String(port)],
  ],
});

const python = (impl: string, file: string): ServerSpec => ({
  impl,
  command: (port) => {
    const path = join(PEERS_DIR, 'python', file);
    return existsSync(PYTHON) && existsSync(path) ? [PYTHON, [path, String(port)]] : null;
  },
});

function servers(tools: Record<string, string>): ServerSpec[] {
  return [
    weft('epoll'),
    weft('streams'),
    weft('selectors'),
    weft('sockets'),
    weft('greenlets'),
    {
      impl: 'node net (raw)',
      command: (port) => [
        process.execPath,
        [WEFT_BIN, 'serve', 'echo', '--model', 'node', '--port', String(port)],
      ],
    },
    {
      impl: C_EPOLL,
      command: (port) => [tools['echo-server-c'] as string, [String(port)]],
    },
    python('python threads', 'echo_threads.py'),
    python('python selectors', 'echo_selectors.py'),
    python('python asyncio sock_*', 'echo_asyncio_sock.py'),
    python('python asyncio streams', 'echo_asyncio_streams.py'),
    python('python uvloop streams', 'echo_asyncio_uvloop.py'),
    python('python gevent', 'echo_gevent.py'),
    {
      ...weft('process'),
      // Every connection starts a Node process (its own heap, modules and loader), pinned with
      // the server to one core: 100 at once did not finish echo-load's 60-s warm-up here, and
      // the children still starting slowed the servers measured after it. So: one connection
      // only, and last, where nothing else is measured while its children end.
      maxConns: 1,
      note: "weft process (a child process per connection): measured at 1 connection only, last — each connection starts a Node process, and 100 at once on the server's core did not finish echo-load's 60-s warm-up (in an earlier run they also slowed the servers measured next); its server CPU figure counts the accepting parent only, not the children",
    },
  ];
}

interface Run {
  rps: number;
  p99: number;
  p50: number;
  cpuUs: number;
  errors: number;
}

function loadArgs(port: number, sc: Scenario): [string[], NodeJS.ProcessEnv] {
  const env = { ...process.env, ...(sc.spin ? { ECHO_LOAD_SPIN: '1' } : {}) };
  return [['127.0.0.1', String(port), String(sc.conns)], env];
}

/** Warm-up (not recorded): connections opened, caches and JITs warm. */
async function warmUp(load: string, port: number, sc: Scenario): Promise<void> {
  const [args, env] = loadArgs(port, sc);
  await runPinned(load, [...args, '1', String(sc.size)], env);
}

/** One run of echo-load against `server`; a string says why it gave no figure. */
async function runOnce(
  load: string,
  server: Started,
  port: number,
  sc: Scenario,
  seconds: number,
): Promise<Run | string> {
  const [args, env] = loadArgs(port, sc);
  const pid = server.child.pid as number;
  const c0 = cpuSeconds(pid);
  const r = await runPinned(load, [...args, String(seconds), String(sc.size)], env);
  const c1 = cpuSeconds(pid);
  const line = r.stdout.split('\n').find((l) => l.startsWith('{'));
  if (r.code !== 0 || line === undefined) {
    return `echo-load failed (exit ${r.code}): ${r.stderr.trim().split('\n').pop()}`;
  }
  const d = JSON.parse(line) as {
    requests: number;
    req_per_s: number;
    p50_us: number;
    p99_us: number;
    errors: number;
  };
  return {
    rps: d.req_per_s,
    p50: d.p50_us,
    p99: d.p99_us,
    errors: d.errors,
    cpuUs: d.requests > 0 ? ((c1 - c0) * 1e6) / d.requests : Number.NaN,
  };
}

/** Records the median run (by req/s) and the median server CPU per request. */
function record(h: Harness, impl: string, sc: Scenario, seconds: number, runs: Run[]): void {
  if (runs.length === 0) return;
  const sorted = [...runs].sort((a, b) => a.rps - b.rps);
  const m = sorted[Math.floor(sorted.length / 2)]!;
  const cpu = median(runs.map((x) => x.cpuUs));
  const rates = runs.map((r) => r.rps);
  h.record({
    name: `${impl}: ${sc.name}`,
    impl,
    scenario: sc.name,
    rate: m.rps,
    // In round order: a goal compares two servers round by round (see `ratio`).
    passes: runs.map((r) => r.rps),
    unit: 'req/s',
    n: 1,
    seconds,
    rme:
      rates.length > 1 ? ((Math.max(...rates) - Math.min(...rates)) / 2 / m.rps) * 100 : undefined,
    note: `p50 ${m.p50} µs, p99 ${m.p99} µs, server CPU ${cpu.toFixed(1)} µs/req, errors ${m.errors}, median of ${runs.length} (${rates.map((x) => Math.round(x)).join(', ')} req/s)`,
  });
  if (Number.isFinite(cpu) && cpu > 0) {
    h.record({
      name: `${impl}: ${sc.name} (server CPU)`,
      impl,
      scenario: `${sc.name} · requests per server CPU-second`,
      rate: 1e6 / cpu,
      unit: 'req/CPU-s',
      n: 1,
      seconds,
      note: `${cpu.toFixed(1)} µs of server CPU per request`,
    });
  }
}

const C_EPOLL = 'C epoll (limit)';
const STREAMS = 'weft streams';

/** The goals of issue 5, computed from this run's figures (never typed by hand). */
export function goals(figures: Figure[]): string[] {
  const out: string[] = [];
  const rps = figures.filter((f) => f.unit === 'req/s');
  const { fig, x, verdict } = goalTools(rps);
  for (const sc of [...new Set(rps.map((f) => f.scenario))]) {
    if (!/^echo (100|1000) conns × 64 B$/.test(sc)) continue;
    const c = fig(sc, C_EPOLL);
    const wefts = rps.filter((f) => f.scenario === sc && f.impl.startsWith('weft '));
    if (c !== undefined && wefts.length > 0) {
      const best = wefts.reduce((a, b) => (ratio(b, c) > ratio(a, c) ? b : a));
      const r = ratio(best, c);
      out.push(
        `goal ${sc}: weft's fastest model ≥ 0.9× C epoll: ${verdict(r >= 0.9)} — ${best.impl} is ${x(r)}`,
      );
    }
    const st = fig(sc, STREAMS);
    if (st === undefined) continue;
    const asy = fig(sc, 'python asyncio streams');
    if (asy !== undefined) {
      const r = ratio(st, asy);
      out.push(
        `goal ${sc}: weft streams ≥ 1.5× python asyncio streams: ${verdict(r >= 1.5)} — ${x(r)}`,
      );
    }
    const node = fig(sc, 'node net (raw)');
    if (node !== undefined) {
      const r = ratio(st, node);
      out.push(`goal ${sc}: weft streams ≥ raw node net: ${verdict(r >= 1)} — ${x(r)}`);
    }
  }
  return out;
}

export const suite: BenchSuite = {
  name: 'io-echo',
  title: 'Echo-uppercase servers: weft IO models vs Python, Node net and C epoll',
  async run(h) {
    if (process.platform !== 'linux') {
      h.note('skipped: needs Linux (/proc, the C tools)');
      return;
    }
    const tools = buildC(['bench/echo-load.c', 'bench/echo-server-c.c']);
    if (tools === null) {
      h.note('skipped: gcc could not build ../shared/bench/echo-load.c (no compiler?)');
      return;
    }
    const load = tools['echo-load'] as string;
    if (!canPin()) h.note('servers not pinned: taskset or a second core is missing');
    else h.note('server pinned to core 1, echo-load to core 0 (taskset)');
    const scenarios: Scenario[] = h.quick
      ? [{ name: 'echo 100 conns × 64 B', conns: 100, size: 64 }]
      : [
          { name: 'echo 1 conn × 64 B', conns: 1, size: 64, spin: true },
          { name: 'echo 100 conns × 64 B', conns: 100, size: 64 },
          { name: 'echo 1000 conns × 64 B', conns: 1000, size: 64 },
          { name: 'echo 1000 conns × 1 KiB', conns: 1000, size: 1024 },
        ];
    const seconds = h.quick ? 1 : 2;
    const runs = h.quick ? 1 : 5;
    const only = (process.env.WEFT_ECHO_ONLY ?? '')
      .split(',')
      .map((w) => w.trim())
      .filter((w) => w !== '');
    if (only.length > 0) h.note(`only the servers matching WEFT_ECHO_ONLY=${only.join(',')}`);
    h.note(
      "every server is up at once and visited in interleaved rounds; each figure is the median of its rounds (± half their range), and a goal's ratio the median of the per-round ratios",
    );
    // Every server is started up front and measured in interleaved rounds: each round visits
    // every server in turn, so a slow minute of the shared machine lands on all of them alike
    // instead of on whichever server ran then (one server after another, the same C server
    // measured 116k and 85k req/s in two runs of the same day). Idle servers cost nothing meanwhile.
    const up: { spec: ServerSpec; port: number; started: Started; runs: Map<Scenario, Run[]> }[] =
      [];
    const late: ServerSpec[] = [];
    try {
      for (const spec of servers(tools)) {
        if (only.length > 0 && !only.some((w) => spec.impl.includes(w))) continue;
        if (spec.maxConns !== undefined) {
          late.push(spec);
          continue;
        }
        const port = await freePort();
        const cmd = spec.command(port);
        if (cmd === null) {
          h.note(`skipped ${spec.impl}: peer or /usr/bin/python3 missing`);
          continue;
        }
        if (spec.note) h.note(spec.note);
        const started = await startServer(cmd[0], cmd[1], port);
        if (typeof started === 'string') {
          h.note(`skipped ${spec.impl}: ${started}`);
          continue;
        }
        up.push({ spec, port, started, runs: new Map() });
      }
      for (const sc of scenarios) {
        for (const s of up) await warmUp(load, s.port, sc);
        const failed = new Set<ServerSpec>();
        for (let round = 0; round < runs; round++) {
          for (const s of up) {
            if (failed.has(s.spec)) continue;
            const r = await runOnce(load, s.started, s.port, sc, seconds);
            if (typeof r === 'string') {
              h.note(`${s.spec.impl} / ${sc.name}: ${r}`);
              failed.add(s.spec);
              continue;
            }
            const list = s.runs.get(sc) ?? [];
            list.push(r);
            s.runs.set(sc, list);
          }
        }
      }
    } finally {
      for (const s of up) await s.started.stop();
    }
    for (const sc of scenarios) {
      for (const s of up) record(h, s.spec.impl, sc, seconds, s.runs.get(sc) ?? []);
    }
    // A server with a connection limit (a process per connection) runs alone, after the rest.
    for (const spec of late) {
      if (h.quick) {
        // The quick run's one scenario is 100 connections: 100 process start-ups, not quick.
        h.note(`skipped ${spec.impl} in a quick run (a process per connection starts slowly)`);
        continue;
      }
      const port = await freePort();
      const cmd = spec.command(port);
      if (cmd === null) continue;
      if (spec.note) h.note(spec.note);
      const started = await startServer(cmd[0], cmd[1], port);
      if (typeof started === 'string') {
        h.note(`skipped ${spec.impl}: ${started}`);
        continue;
      }
      try {
        for (const sc of scenarios) {
          if (spec.maxConns !== undefined && sc.conns > spec.maxConns) continue;
          await warmUp(load, port, sc);
          const list: Run[] = [];
          for (let i = 0; i < runs; i++) {
            const r = await runOnce(load, started, port, sc, seconds);
            if (typeof r === 'string') {
              h.note(`${spec.impl} / ${sc.name}: ${r}`);
              break;
            }
            list.push(r);
          }
          record(h, spec.impl, sc, seconds, list);
        }
      } finally {
        await started.stop();
      }
    }
    for (const line of goals(h.figures)) h.note(line);
  },
};

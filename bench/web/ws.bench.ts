/**
 * The WebSocket client: weft's `session.wsConnect` against aiohttp 3.8's `ws_connect` (with and
 * without uvloop), each a process pinned to core 0, talking to one neutral echo server (the `ws`
 * package alone, ws-echo-server.mjs) pinned to core 1. One connection, one message in flight:
 * send a text message, receive its echo — the round trip a request/response protocol over a
 * WebSocket makes. Figures: round trips per second, and per client CPU-second (the client's own
 * CPU time over the measured seconds, so a client that waits on the server is not charged for it).
 *
 * Every client runs once per round, the order reversed every other round; a figure is the median
 * of its rounds and a goal ratio the median of the per-round ratios (harness `ratio`).
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { type BenchSuite, goalTools, type Harness, PYTHON, ratio } from '../harness.js';
import { freePort, runPinned, startServer } from '../io/processes.js';

const SERVER = new URL('./ws-echo-server.mjs', import.meta.url).pathname;
const WEFT_CLIENT = new URL('./ws-client.ts', import.meta.url).pathname;
const AIOHTTP_CLIENT = new URL('./aiohttp_ws_client.py', import.meta.url).pathname;

const SIZE = 32;
const SCENARIO = `WebSocket echo round trip, ${SIZE} B text, 1 connection`;
const CPU_SCENARIO = `${SCENARIO} · round trips per client CPU-second`;

interface Client {
  impl: string;
  cmd: string;
  args: (port: number, seconds: number) => string[];
  available: () => string | null;
}

function python(uvloop: boolean): Client {
  return {
    impl: uvloop ? 'aiohttp + uvloop' : 'aiohttp',
    cmd: PYTHON,
    args: (port, seconds) => [
      AIOHTTP_CLIENT,
      String(port),
      String(seconds),
      String(SIZE),
      ...(uvloop ? ['--uvloop'] : []),
    ],
    available: () => {
      if (!existsSync(PYTHON)) return 'no /usr/bin/python3';
      try {
        execFileSync(PYTHON, ['-c', uvloop ? 'import aiohttp, uvloop' : 'import aiohttp'], {
          stdio: 'ignore',
        });
        return null;
      } catch {
        return `python3 lacks ${uvloop ? 'aiohttp/uvloop' : 'aiohttp'} (Debian python3-aiohttp python3-uvloop)`;
      }
    },
  };
}

const CLIENTS: Client[] = [
  {
    impl: 'weft',
    cmd: process.execPath,
    args: (port, seconds) => [
      '--import',
      'tsx',
      WEFT_CLIENT,
      String(port),
      String(seconds),
      String(SIZE),
    ],
    available: () => null,
  },
  python(false),
  python(true),
];

interface Run {
  rate: number;
  cpuRate: number;
}

async function runClient(c: Client, port: number, seconds: number): Promise<Run | string> {
  const r = await runPinned(c.cmd, c.args(port, seconds));
  const line = r.stdout.split('\n').find((l) => l.startsWith('{'));
  if (r.code !== 0 || line === undefined) {
    return `exit ${r.code}: ${r.stderr.trim().split('\n').pop()}`;
  }
  const d = JSON.parse(line) as { n: number; seconds: number; cpu: number };
  return { rate: d.n / d.seconds, cpuRate: d.cpu > 0 ? d.n / d.cpu : Number.NaN };
}

async function roundTrips(h: Harness): Promise<void> {
  const rounds = h.quick ? 1 : 6;
  const seconds = h.quick ? 1 : 3;
  const port = await freePort();
  const server = await startServer(process.execPath, [SERVER, String(port)], port);
  if (typeof server === 'string') {
    h.note(`the echo server did not start: ${server}`);
    return;
  }
  try {
    const clients = CLIENTS.filter((c) => {
      const why = c.available();
      if (why !== null) h.note(`skipped ${c.impl}: ${why}`);
      return why === null;
    });
    const runs = new Map<string, Run[]>(clients.map((c) => [c.impl, []]));
    for (let round = 0; round < rounds; round++) {
      for (const c of round % 2 === 0 ? clients : [...clients].reverse()) {
        const r = await runClient(c, port, seconds);
        if (typeof r === 'string') h.note(`${c.impl}: ${r}`);
        else runs.get(c.impl)?.push(r);
      }
    }
    for (const [impl, list] of runs) {
      if (list.length === 0) continue;
      for (const [scenario, unit, pick] of [
        [SCENARIO, 'round trips/s', (r: Run) => r.rate],
        [CPU_SCENARIO, 'round trips/CPU-s', (r: Run) => r.cpuRate],
      ] as const) {
        const rates = list.map(pick);
        const sorted = [...rates].sort((a, b) => a - b);
        const mid = sorted[Math.floor(sorted.length / 2)] as number;
        h.record({
          name: `${impl}: ${scenario}`,
          impl,
          scenario,
          rate: mid,
          passes: rates,
          unit,
          n: 1,
          seconds,
          rme:
            rates.length > 1
              ? ((Math.max(...rates) - Math.min(...rates)) / 2 / mid) * 100
              : undefined,
          note: `median of ${rates.length} rounds (${rates.map((x) => Math.round(x)).join(', ')})`,
        });
      }
    }
  } finally {
    await server.stop();
  }
}

export const suite: BenchSuite = {
  name: 'web-ws',
  title: 'weft/web: WebSocket client round trips (wsConnect against aiohttp ws_connect)',
  async run(h) {
    h.note(
      'the echo server (the ws package alone) pinned to core 1, each client a process pinned to core 0 (taskset), 127.0.0.1 only; 6 rounds, the order of the clients reversed every other round',
    );
    await roundTrips(h);
    const { fig, x } = goalTools(h.figures);
    for (const scenario of [SCENARIO, CPU_SCENARIO]) {
      const w = fig(scenario, 'weft');
      for (const peer of ['aiohttp', 'aiohttp + uvloop']) {
        const p = fig(scenario, peer);
        if (w !== undefined && p !== undefined) {
          h.note(`${scenario}: weft is ${x(ratio(w, p))} ${peer}`);
        }
      }
    }
  },
};

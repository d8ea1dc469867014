/**
 * Sending a large file over loopback: weft/sendfile (the kernel's sendfile(2) through the addon,
 * and its copy loop) against Node's `pipeline(createReadStream, socket)` and `.pipe()`, Python's
 * `socket.sendfile` and read/write loop (../shared/peers/zerocopy/send_py.py), and C
 * `sendfile(2)` (the limit). The receiver is the C sink (../shared/peers/zerocopy/sink.c) pinned
 * to core 0, each sender a process pinned to core 1. Figures: throughput at the sink (GB/s) and
 * sender CPU (GB sent per CPU-second of the sender; the note gives CPU seconds per GB).
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BenchSuite, Figure, Harness } from '../harness.js';
import { PEERS_DIR, PYTHON } from '../harness.js';
import { buildC, canPin, freePort, median, pinned, ROOT, runPinned } from './processes.js';

interface Sender {
  impl: string;
  command: (port: number, file: string) => [string, string[]] | null;
}

const nodeSender = (impl: string, mode: string): Sender => ({
  impl,
  command: (port, file) => [
    process.execPath,
    ['--import', 'tsx', join(ROOT, 'bench/io/send-file-node.ts'), String(port), file, mode],
  ],
});

const pySender = (impl: string, mode: string): Sender => ({
  impl,
  command: (port, file) => {
    const script = join(PEERS_DIR, 'zerocopy/send_py.py');
    return existsSync(PYTHON) && existsSync(script)
      ? [PYTHON, [script, String(port), file, mode]]
      : null;
  },
});

function makeFile(bytes: number): string {
  const path = join(tmpdir(), `weft-bench-sendfile-${process.pid}.bin`);
  const fd = openSync(path, 'w');
  const chunk = Buffer.alloc(8 * 1024 * 1024);
  for (let i = 0; i < chunk.length; i++) chunk[i] = (i * 131) & 0xff;
  for (let off = 0; off < bytes; off += chunk.length)
    writeSync(fd, chunk, 0, Math.min(chunk.length, bytes - off));
  closeSync(fd);
  return path;
}

interface Run {
  gbps: number;
  cpuPerGB: number;
}

async function once(sink: string, cmd: [string, string[]], port: number): Promise<Run | string> {
  const [sc, sa] = pinned(0, sink, [String(port)]);
  const sinkProc = spawn(sc, sa, { stdio: ['ignore', 'pipe', 'pipe'] });
  let sinkOut = '';
  sinkProc.stdout.on('data', (d) => (sinkOut += d));
  await new Promise<void>((resolve) => {
    sinkProc.stderr.on('data', (d) => {
      if (String(d).includes('listening')) resolve();
    });
    sinkProc.once('exit', () => resolve());
  });
  const sender = await runPinned(cmd[0], cmd[1], process.env, 1);
  const sinkDone = new Promise<void>((r) => {
    if (sinkProc.exitCode !== null) r();
    else sinkProc.once('exit', () => r());
  });
  const timer = setTimeout(() => sinkProc.kill('SIGKILL'), 10_000);
  await sinkDone;
  clearTimeout(timer);
  const sl = sender.stdout.split('\n').find((l) => l.startsWith('{'));
  const kl = sinkOut.split('\n').find((l) => l.startsWith('{'));
  if (sender.code !== 0 || !sl || !kl) {
    const why =
      sender.stderr.trim().split('\n').pop() ||
      (!sl ? 'the sender printed no result line' : 'the sink printed no result line');
    return `exit ${sender.code}: ${why}`;
  }
  const s = JSON.parse(sl) as { bytes: number; cpu_user_s: number; cpu_sys_s: number };
  const k = JSON.parse(kl) as { bytes: number; GB_per_s: number };
  if (k.bytes !== s.bytes) return `the sink received ${k.bytes} bytes of ${s.bytes}`;
  return { gbps: k.GB_per_s, cpuPerGB: (s.cpu_user_s + s.cpu_sys_s) / (s.bytes / 1e9) };
}

/**
 * Runs every sender `runs` times, round-robin (one run of each, then the next round), so a
 * change in the machine's load during the suite falls on every sender alike, and records the
 * medians. A sender that fails once is dropped with a note.
 */
async function measureAll(
  h: Harness,
  sink: string,
  senders: Sender[],
  file: string,
  size: string,
  runs: number,
): Promise<void> {
  const results = new Map<Sender, Run[]>(senders.map((s) => [s, []]));
  for (let i = 0; i < runs; i++) {
    for (const sender of senders) {
      const ok = results.get(sender);
      if (ok === undefined) continue;
      const port = await freePort();
      const cmd = sender.command(port, file);
      if (cmd === null) {
        h.note(`skipped ${sender.impl}: peer or /usr/bin/python3 missing`);
        results.delete(sender);
        continue;
      }
      let r = await once(sink, cmd, port);
      if (typeof r === 'string') {
        // One failed transfer is retried once (on a new port) before the sender is dropped:
        // a single flaky round cost a whole row, the C limit's among them.
        h.note(`${sender.impl}: round ${i + 1} failed (${r}); retried once`);
        const port2 = await freePort();
        const again = sender.command(port2, file);
        if (again !== null) r = await once(sink, again, port2);
      }
      if (typeof r === 'string') {
        h.note(`skipped ${sender.impl}: ${r}`);
        results.delete(sender);
        continue;
      }
      ok.push(r);
    }
  }
  for (const [sender, runsOk] of results) {
    const gbps = median(runsOk.map((r) => r.gbps));
    const cpu = median(runsOk.map((r) => r.cpuPerGB));
    h.record({
      name: `${sender.impl}: send ${size} throughput`,
      impl: sender.impl,
      scenario: `send ${size} over loopback · throughput`,
      rate: gbps,
      unit: 'GB/s',
      n: 1,
      seconds: 0,
      note: `median of ${runs}; sender CPU ${cpu.toFixed(2)} s/GB`,
    });
    h.record({
      name: `${sender.impl}: send ${size} sender CPU`,
      impl: sender.impl,
      scenario: `send ${size} over loopback · GB per sender CPU-second`,
      rate: 1 / cpu,
      unit: 'GB/CPU-s',
      n: 1,
      seconds: 0,
      note: `${cpu.toFixed(2)} s of sender CPU per GB`,
    });
  }
}

const WEFT = 'weft sendfile';
const PY_SENDFILE = 'python socket.sendfile';
const NODE_PIPELINE = 'node pipeline(createReadStream, socket)';
const C_SENDFILE = 'C sendfile(2) (limit)';

/** The goals of issue 5 for weft/sendfile, computed from this run's figures (never typed by hand). */
export function goals(figures: Figure[], size: string): string[] {
  const rate = (impl: string, what: 'throughput' | 'sender CPU'): number | undefined =>
    figures.find((f) => f.name === `${impl}: send ${size} ${what}`)?.rate;
  const x = (v: number): string => `${v.toFixed(2)}×`;
  const verdict = (ok: boolean): string => (ok ? 'met' : 'MISSED');
  const out: string[] = [];
  const w = rate(WEFT, 'throughput');
  const py = rate(PY_SENDFILE, 'throughput');
  const c = rate(C_SENDFILE, 'throughput');
  if (w !== undefined && py !== undefined) {
    out.push(
      `goal throughput ≥ 0.9× python socket.sendfile: ${verdict(w >= 0.9 * py)} — weft is ` +
        `${x(w / py)}` +
        (c !== undefined ? `; C sendfile(2) is ${x(c / py)}, weft ${x(w / c)} C` : ''),
    );
  }
  // Rates are GB per CPU-second: the CPU ratio is their inverse.
  const wc = rate(WEFT, 'sender CPU');
  const np = rate(NODE_PIPELINE, 'sender CPU');
  const cc = rate(C_SENDFILE, 'sender CPU');
  const pc = rate(PY_SENDFILE, 'sender CPU');
  if (wc !== undefined && np !== undefined) {
    const floor = [
      cc !== undefined ? `C sendfile(2) ${x(np / cc)}` : null,
      pc !== undefined ? `python socket.sendfile ${x(np / pc)}` : null,
    ].filter((t) => t !== null);
    out.push(
      `goal sender CPU ≤ 0.35× node pipeline: ${verdict(np / wc <= 0.35)} — weft uses ` +
        `${x(np / wc)} of its CPU per GB` +
        (floor.length > 0 ? ` (${floor.join(', ')})` : ''),
    );
  }
  return out;
}

export const suite: BenchSuite = {
  name: 'io-sendfile',
  title: 'Sending a file over loopback: weft/sendfile vs Node streams, Python and C sendfile(2)',
  async run(h) {
    if (process.platform !== 'linux') {
      h.note('skipped: needs Linux');
      return;
    }
    const tools = buildC(['peers/zerocopy/sink.c', 'peers/zerocopy/send-c-sendfile.c']);
    if (tools === null) {
      h.note('skipped: gcc could not build the zerocopy tools');
      return;
    }
    if (!canPin()) h.note('not pinned: taskset or a second core is missing');
    else h.note('sink pinned to core 0, sender to core 1 (taskset)');
    const bytes = h.quick ? 256 * 1024 * 1024 : 1024 * 1024 * 1024;
    const size = h.quick ? '256 MiB' : '1 GiB';
    // Five rounds: three left the CPU-per-GB verdict to one outlier run of the machine's noise.
    const runs = h.quick ? 1 : 5;
    const file = makeFile(bytes);
    try {
      const senders: Sender[] = [
        nodeSender(WEFT, 'weft'),
        nodeSender('weft sendfile (copy loop)', 'weft-copy'),
        nodeSender(NODE_PIPELINE, 'node-pipeline'),
        nodeSender('node createReadStream.pipe(socket)', 'node-pipe'),
        pySender(PY_SENDFILE, 'sendfile'),
        pySender('python read/write loop', 'rw'),
        {
          impl: C_SENDFILE,
          command: (port, f) => [tools['send-c-sendfile'] as string, [String(port), f]],
        },
      ];
      await measureAll(h, tools.sink as string, senders, file, size, runs);
      for (const line of goals(h.figures, size)) h.note(line);
    } finally {
      rmSync(file, { force: true });
    }
  },
};

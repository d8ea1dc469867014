/**
 * `weft load echo --conns N --seconds S`: a closed-loop load generator for the echo-uppercase
 * servers, with a live progress line and a summary (req/s, p50, p99).
 *
 * Each connection sends a `size`-byte lower-case message, waits for the whole upper-cased reply,
 * checks every byte, and sends the next (closed loop, as ../shared/bench/echo-load.c, the
 * reference generator of the benchmarks). Connections are opened at most 64 at a time and each
 * makes one round trip before the clock starts. It uses Node's `net` directly: the generator
 * should cost as little as it can, since it shares the machine with the server.
 */
import { lookup } from 'node:dns/promises';
import { connect, type Socket as NetSocket } from 'node:net';
import { type CliCommand, CliError } from './command.js';
import { hostOption, integerOption, positiveDecimalOption } from './option-values.js';
import { socketErrorText } from './socket-errors.js';

export interface LoadOptions {
  host: string;
  port: number;
  conns: number;
  seconds: number;
  size: number;
  /** Called about twice a second while measuring. */
  onProgress?: (requests: number, elapsedS: number) => void;
  /**
   * How long the warm-up may go without any connection getting its first answer before the
   * server is declared silent (default WARM_UP_STALL_MS).
   */
  stallMs?: number;
}

/** Tuning: generous, because a process-per-connection server forks a child (about a second
 * each on a busy machine) before a connection is answered, one connection after another. */
export const WARM_UP_STALL_MS = 30_000;

export interface LoadResult {
  conns: number;
  seconds: number;
  requests: number;
  reqPerS: number;
  errors: number;
  p50Us: number;
  p99Us: number;
  maxUs: number;
}

const FINE = 100_000; // 1 µs buckets up to 100 ms, then 1 ms buckets

class Histogram {
  private fine = new Uint32Array(FINE);
  private coarse = new Map<number, number>();
  count = 0;
  max = 0;

  add(us: number): void {
    const u = Math.floor(us);
    this.count++;
    if (u > this.max) this.max = u;
    if (u < FINE) this.fine[u]!++;
    else {
      const ms = Math.floor(u / 1000);
      this.coarse.set(ms, (this.coarse.get(ms) ?? 0) + 1);
    }
  }

  percentile(p: number): number {
    if (this.count === 0) return 0;
    const rank = Math.max(1, Math.ceil(p * this.count));
    let acc = 0;
    for (let i = 0; i < FINE; i++) {
      acc += this.fine[i]!;
      if (acc >= rank) return i;
    }
    for (const ms of [...this.coarse.keys()].sort((a, b) => a - b)) {
      acc += this.coarse.get(ms)!;
      if (acc >= rank) return ms * 1000;
    }
    return this.max;
  }
}

function connectError(o: LoadOptions, e: unknown): CliError {
  const why = socketErrorText(e) ?? (e as NodeJS.ErrnoException).code ?? (e as Error).message;
  return new CliError(`cannot connect to ${o.host}:${o.port}: ${why}`);
}

/** Runs the load and resolves to its summary. */
export async function runEchoLoad(o: LoadOptions): Promise<LoadResult> {
  const pattern = Buffer.alloc(o.size + 26);
  for (let i = 0; i < pattern.length; i++) pattern[i] = 97 + (i % 26);
  const hist = new Histogram();
  let measuring = false;
  let deadline = Number.POSITIVE_INFINITY;
  let requests = 0;
  let errors = 0;

  // A host that does not resolve fails here, in one lookup, rather than in 64 at a time that
  // Node cannot cancel (the process would linger until the last of them gave up). The
  // connections still go to the name, so that Node tries each of its addresses in turn.
  try {
    await lookup(o.host);
  } catch (e) {
    throw connectError(o, e);
  }

  const conns: Conn[] = [];
  class Conn {
    sock!: NetSocket;
    seq = 0;
    got = 0;
    ok = true;
    t0 = 0;
    warm: { resolve: () => void; reject: (e: Error) => void } | null = null;

    open(): Promise<void> {
      return new Promise<void>((resolve, reject) => {
        const s = connect({ host: o.host, port: o.port, noDelay: true });
        this.sock = s;
        s.once('connect', () => {
          s.off('error', reject);
          s.on('error', () => this.fail());
          s.on('close', () => {
            // A server that hangs up before its first answer would otherwise leave the warm-up
            // waiting for ever.
            if (this.warm !== null) {
              const w = this.warm;
              this.warm = null;
              w.reject(
                new CliError(
                  `${o.host}:${o.port} closed a connection before answering (not an echo server?)`,
                ),
              );
            }
            this.fail();
          });
          s.on('data', (d: Buffer) => this.onData(d));
          this.warm = { resolve, reject };
          this.send();
        });
        s.once('error', reject);
      });
    }

    send(): void {
      this.seq++;
      this.got = 0;
      this.ok = true;
      this.t0 = performance.now();
      const off = this.seq % 26;
      this.sock.write(pattern.subarray(off, off + o.size));
    }

    onData(d: Buffer): void {
      const off = this.seq % 26;
      for (let i = 0; i < d.length; i++) {
        if (d[i] !== (pattern[off + this.got + i] as number) - 32) this.ok = false;
      }
      this.got += d.length;
      if (this.got < o.size) return;
      const now = performance.now();
      if (this.got > o.size) this.ok = false;
      if (this.warm !== null) {
        const w = this.warm;
        this.warm = null;
        if (this.ok) w.resolve();
        else
          w.reject(
            new CliError(
              `${o.host}:${o.port} does not answer with the upper-cased bytes (not an echo server?)`,
            ),
          );
        return;
      }
      if (!measuring) return;
      if (now <= deadline) {
        if (this.ok) {
          requests++;
          hist.add((now - this.t0) * 1000);
        } else errors++;
        this.send();
      }
    }

    fail(): void {
      if (measuring && performance.now() < deadline) errors++;
    }
  }

  // Warm-up: connect (64 in flight at most) and one verified round trip each.
  const queue = Array.from({ length: o.conns }, () => new Conn());
  let next = 0;
  let abandoned = false;
  const worker = async (): Promise<void> => {
    while (next < queue.length && !abandoned) {
      const c = queue[next++] as Conn;
      await c.open();
      conns.push(c);
    }
  };
  const stallMs = o.stallMs ?? WARM_UP_STALL_MS;
  let lastProgress = performance.now();
  let lastSeen = 0;
  let stalled: NodeJS.Timeout | undefined;
  const silent = new Promise<never>((_, reject) => {
    stalled = setInterval(
      () => {
        if (conns.length > lastSeen) {
          lastSeen = conns.length;
          lastProgress = performance.now();
        } else if (performance.now() - lastProgress >= stallMs) {
          reject(
            new CliError(
              `${o.host}:${o.port} accepts connections but gave none its first answer in ` +
                `${stallMs / 1000} s (not an echo server?)`,
            ),
          );
        }
      },
      Math.min(1000, stallMs / 4),
    );
  });
  try {
    await Promise.race([
      Promise.all(Array.from({ length: Math.min(64, o.conns) }, worker)),
      silent,
    ]);
  } catch (e) {
    // The other openers stop here, or they would go on connecting after the sockets are gone.
    abandoned = true;
    for (const c of conns) c.sock.destroy();
    for (const c of queue) c.sock?.destroy();
    if (e instanceof CliError) throw e;
    throw connectError(o, e);
  } finally {
    clearInterval(stalled);
  }

  const t0 = performance.now();
  deadline = t0 + o.seconds * 1000;
  measuring = true;
  for (const c of conns) c.send();
  await new Promise<void>((resolve) => {
    const tick = setInterval(() => {
      const now = performance.now();
      o.onProgress?.(requests, (now - t0) / 1000);
      if (now >= deadline) {
        clearInterval(tick);
        resolve();
      }
    }, 500);
  });
  measuring = false;
  for (const c of conns) {
    c.sock.removeAllListeners('close');
    c.sock.destroy();
  }
  const elapsed = o.seconds;
  return {
    conns: o.conns,
    seconds: elapsed,
    requests,
    reqPerS: requests / elapsed,
    errors,
    p50Us: hist.percentile(0.5),
    p99Us: hist.percentile(0.99),
    maxUs: hist.max,
  };
}

export const loadCommand: CliCommand = {
  register(program, context) {
    program
      .command('load')
      .description('hammer an echo-uppercase server with N closed-loop connections')
      .argument('<what>', 'the protocol: echo')
      .option('--conns <n>', 'concurrent connections', '100')
      .option('--seconds <s>', 'how long to measure', '5')
      .option('--size <bytes>', 'message size', '64')
      .option('--host <host>', 'server address', '127.0.0.1')
      .option('--port <port>', 'server port', '8888')
      .option('--json', 'print the summary as one JSON line')
      .action(
        async (
          what: string,
          opts: {
            conns: string;
            seconds: string;
            size: string;
            host: string;
            port: string;
            json?: boolean;
          },
        ) => {
          if (what !== 'echo')
            throw new CliError(`weft load: unknown protocol "${what}" (try: echo)`);
          const host = hostOption('weft load', opts.host, '127.0.0.1');
          const port = integerOption('weft load', 'port', opts.port, 1, 65535);
          const conns = integerOption('weft load', 'conns', opts.conns, 1, 60_000);
          const size = integerOption('weft load', 'size', opts.size, 1, 1 << 24);
          const seconds = positiveDecimalOption(
            'weft load',
            'seconds',
            opts.seconds,
            3600,
            'in (0, 3600], in decimal digits',
          );
          const tty = process.stderr.isTTY === true;
          const r = await runEchoLoad({
            host,
            port,
            conns,
            seconds,
            size,
            onProgress(requests, elapsed) {
              const line = `  ${elapsed.toFixed(1)} s  ${requests} requests  ${(requests / Math.max(elapsed, 1e-9)).toFixed(0)} req/s`;
              if (tty) context.err(`\r${line}   `);
              else if (Math.abs(elapsed - Math.round(elapsed)) < 0.26) context.err(`${line}\n`);
            },
          }).catch((e: unknown) => {
            // The command's name, as on its other errors: `weft: weft load: cannot connect …`.
            throw e instanceof CliError ? new CliError(`weft load: ${e.message}`) : e;
          });
          if (tty) context.err('\n');
          if (opts.json) {
            context.out(`${JSON.stringify(r)}\n`);
            return;
          }
          context.out(
            `${r.conns} connections, ${r.seconds} s: ${r.requests} requests, ` +
              `${r.reqPerS.toFixed(0)} req/s, p50 ${r.p50Us} µs, p99 ${r.p99Us} µs, ` +
              `max ${r.maxUs} µs, ${r.errors} errors\n`,
          );
          if (r.errors > 0) process.exitCode = 1;
        },
      );
  },
};

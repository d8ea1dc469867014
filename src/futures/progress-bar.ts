/**
 * The progress bar of `Executor.map({ progress })`: a cli-progress bar on a terminal stream
 * (stderr by default), and nothing at all when that stream is not a terminal (a pipe, a file,
 * CI logs), so the option can stay on in scripts whose output is redirected.
 *
 * The bar never keeps the process alive (its redraw timer is unref'd) and `stop()` is called
 * by map on every way out: the last result read, an error, a timeout, leaving the loop early.
 */
import { createRequire } from 'node:module';
import { describeValue } from '../internal/errors.js';

export interface ProgressStream {
  write(chunk: string): unknown;
  /** Only a stream that says it is a terminal gets a bar. */
  isTTY?: boolean;
  columns?: number;
}

export interface ProgressOptions {
  /** Where to draw (default `process.stderr`); drawn only when `stream.isTTY` is true. */
  stream?: ProgressStream;
  /** Text after the counts, e.g. what is being mapped. */
  label?: string;
}

export interface ProgressSink {
  update(completed: number, submitted: number): void;
  stop(): void;
}

type BarClass = new (
  options: Record<string, unknown>,
  preset?: unknown,
) => {
  start(total: number, value: number, payload?: Record<string, unknown>): void;
  update(value: number, payload?: Record<string, unknown>): void;
  setTotal(total: number): void;
  render(): void;
  stop(): void;
  timer?: { unref?: () => void } | null;
};

let cached: { SingleBar: BarClass; Presets: Record<string, unknown> } | null = null;

function cliProgress(): { SingleBar: BarClass; Presets: Record<string, unknown> } {
  // Loaded on first use only: most imports of weft/futures (every task module a worker loads)
  // never draw a bar.
  cached ??= createRequire(import.meta.url)('cli-progress') as {
    SingleBar: BarClass;
    Presets: Record<string, unknown>;
  };
  return cached;
}

/** Checks the `progress` option of map; returns it normalised (null: off). */
export function progressOption(value: unknown, who: string): ProgressOptions | null {
  if (value === undefined || value === null || value === false) return null;
  if (value === true) return {};
  if (typeof value === 'object') {
    const o = value as ProgressOptions;
    if (o.stream !== undefined && typeof o.stream?.write !== 'function') {
      throw new TypeError(
        `${who}: progress.stream must be a writable stream: received ${describeValue(o.stream)}`,
      );
    }
    if (o.label !== undefined && typeof o.label !== 'string') {
      throw new TypeError(
        `${who}: progress.label must be a string: received ${describeValue(o.label)}`,
      );
    }
    return o;
  }
  throw new TypeError(
    `${who}: progress must be true, false or { stream, label }: received ${describeValue(value)}`,
  );
}

/**
 * A bar counting `total` calls, or — `total` null, a lazy iterable — the calls submitted so
 * far (the total grows as map reads ahead). Null when the stream is not a terminal.
 */
export function startProgressBar(o: ProgressOptions, total: number | null): ProgressSink | null {
  const stream = o.stream ?? process.stderr;
  if (stream.isTTY !== true) return null;
  const { SingleBar, Presets } = cliProgress();
  class Bar extends SingleBar {
    override render(): void {
      super.render();
      this.timer?.unref?.();
    }
  }
  const bar = new Bar(
    {
      stream,
      format: ` {bar} {percentage}% | {value}/{total}${o.label ? ` | ${o.label}` : ''}`,
      hideCursor: false,
      gracefulExit: false,
    },
    Presets.shades_classic,
  );
  bar.start(total ?? 0, 0);
  let stopped = false;
  return {
    update(completed, submitted) {
      if (stopped) return;
      if (total === null) bar.setTotal(submitted);
      bar.update(completed);
    },
    stop() {
      if (stopped) return;
      stopped = true;
      bar.stop();
    },
  };
}

/** How many calls map will make when every iterable says its size (arrays, Sets, Maps). */
export function knownLength(iterables: Iterable<unknown>[]): number | null {
  let n = Number.POSITIVE_INFINITY;
  for (const it of iterables) {
    const size = Array.isArray(it)
      ? it.length
      : it instanceof Set || it instanceof Map
        ? it.size
        : ArrayBuffer.isView(it) && !(it instanceof DataView)
          ? (it as unknown as ArrayLike<unknown>).length
          : null;
    if (size === null) return null;
    n = Math.min(n, size);
  }
  return n === Number.POSITIVE_INFINITY ? 0 : n;
}

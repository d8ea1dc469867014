/**
 * asyncio's `asyncio.subprocess.Process`: the child that `createSubprocessExec` and
 * `createSubprocessShell` (subprocess.ts) start, with its pipes read and written through
 * weft/streams' `StreamReader` and `StreamWriter` (asyncio's `SubprocessStreamProtocol` does the
 * same with its streams).
 *
 * Implementation notes
 * --------------------
 *
 *   child fd 0 ◄── socket ◄── StreamWriter (stdin)     write never waits; drain() is back pressure
 *   child fd 1 ──► socket ──► StreamReader (stdout)    past 2 × limit buffered: socket.pause()
 *   child fd 2 ──► socket ──► StreamReader (stderr)
 *   'exit' ──► returncode, wait() woken     every pipe closed too ──► "finished" (signals raise)
 *
 * `wait()` resolves when the child exits (Node's 'exit'). CPython 3.11's resolves then only when
 * it is called after the exit; called before, it also waits until every pipe is closed, so it
 * does not return while a grandchild holds a pipe open, and never after the child has exited
 * with its output paused unread (both checked with /usr/bin/python3 3.11.2). `communicate()` waits for
 * both (the exit and the close of each pipe), as Python's.
 *
 * Back pressure: a reader pauses its socket past twice its `limit` (weft/streams' rule, asyncio's
 * too), so a child writing more than that to a pipe nobody reads blocks. `communicate()` wants it
 * all: while it waits, the pipes flow whatever is buffered. `wait()` alone cannot end then —
 * Python's docs warn of this deadlock; weft warns at run time (`RuntimeWarning`,
 * `WEFT_SUBPROCESS_PIPE_FULL`) when a `wait()` has been waiting `STALL_MS` with a pipe paused.
 */
import type { Socket as NetSocket } from 'node:net';
import { constants as osConstants } from 'node:os';
import { inspect } from 'node:util';
import { describeValue, RuntimeError, TimeoutError } from '../internal/errors.js';
import { parseWait, type WaitOptions } from '../internal/wait-options.js';
import { Waiter, WaiterList } from '../internal/waiter.js';
import { fromSystemError } from '../socket/errors.js';
import type { StreamReader } from '../streams/stream-reader.js';
import type { StreamWriter } from '../streams/stream-writer.js';
import { installedRunningLoop } from './event-loop.js';
import { ProcessLookupError, spawnError } from './subprocess-errors.js';

/** `communicate`'s options: `input` may come here instead of first. */
export interface CommunicateOptions extends WaitOptions {
  input?: Uint8Array | string | null;
}

const COMMUNICATE_OPTION_NAMES: ReadonlySet<string> = new Set(['input', 'signal', 'timeout']);

/**
 * How long a `wait()` waits with a pipe paused before weft warns of the deadlock. Shorter warns
 * about children that were only slow to exit; longer leaves a hung program silent longer.
 */
const STALL_MS = 1000;

export const SIGNALS = osConstants.signals as Readonly<Record<string, number>>;
/** Signal number -> name; the first name of a number wins (SIGABRT over SIGIOT, SIGIO over
 * SIGPOLL), as Node's own name for it (the addon's child reports a death by that name). */
export const SIGNAL_NAMES: ReadonlyMap<number, NodeJS.Signals> = (() => {
  const m = new Map<number, NodeJS.Signals>();
  for (const [name, n] of Object.entries(SIGNALS)) if (!m.has(n)) m.set(n, name as NodeJS.Signals);
  return m;
})();
/** The highest signal number `sendSignal` takes: on Linux SIGRTMAX (the real-time signals from
 * SIGRTMIN = 34 up have no name in `os.constants.signals`); elsewhere the named ones. */
export const MAX_SIGNAL = process.platform === 'linux' ? 64 : 31;

/**
 * What `Process` uses of its child: Node's `ChildProcess`, or the addon's `NativeChild`
 * (subprocess-native.ts), which has the same events and meaning.
 */
export interface ChildLike {
  readonly pid?: number | undefined;
  readonly stdin: NodeJS.WritableStream | null;
  readonly stdout: NodeJS.ReadableStream | null;
  readonly stderr: NodeJS.ReadableStream | null;
  once(event: string, listener: (...args: any[]) => void): unknown;
  on(event: string, listener: (...args: any[]) => void): unknown;
  off(event: string, listener: (...args: any[]) => void): unknown;
  kill(signal?: NodeJS.Signals | number): boolean;
  ref(): void;
  unref(): void;
}

/** One of the child's output pipes, read into a StreamReader. */
interface OutPipe {
  readonly sock: NetSocket;
  readonly reader: StreamReader;
  /** The reader asked for the socket to be paused (its buffer passed 2 × limit). */
  wantPaused: boolean;
  /** EOF, an error or the socket's close: nothing more will come. */
  ended: boolean;
  closed: boolean;
}

/**
 * A child process started by `createSubprocessExec` or `createSubprocessShell` (asyncio's
 * `asyncio.subprocess.Process`).
 *
 * `stdin` is a weft/streams `StreamWriter` (`write`, `await drain()`, `close()`), `stdout` and
 * `stderr` are `StreamReader`s (`read`, `readline`, `readexactly`, `for await`), each null unless
 * it was made with `PIPE` (`stderr: STDOUT` merges stderr into `stdout`).
 *
 * **Cancellation:** a cancelled `wait()` or `communicate()` (task cancelled, `signal` aborted,
 * `timeout` run out) leaves the child running, as in Python. What `communicate()` had read stays
 * in the readers: a second `communicate()` returns all of it.
 */
export class Process {
  /** The child's process id. */
  readonly pid: number;
  /** The child's stdin, with `stdin: PIPE`; else null. */
  readonly stdin: StreamWriter | null;
  /** The child's stdout, with `stdout: PIPE`; else null. */
  readonly stdout: StreamReader | null;
  /** The child's stderr, with `stderr: PIPE`; else null. */
  readonly stderr: StreamReader | null;

  private readonly child: ChildLike;
  private readonly outs: OutPipe[] = [];
  private readonly stdinSock: NetSocket | null;
  private stdinClosed = true;
  private rc: number | null = null;
  private readonly exitWaiters = new WaiterList();
  private readonly doneWaiters = new WaiterList();
  /** `communicate()` calls waiting: the pipes flow, whatever the readers buffer. */
  private collecting = 0;
  private stallTimer: NodeJS.Timeout | null = null;
  private warned = false;
  private offLoop: (() => void) | null = null;
  /** The run() it was made in closed its loop and let go of the child (`letGo`). */
  private letGone = false;

  /** @internal Made by `createSubprocessExec`/`createSubprocessShell`. */
  constructor(
    child: ChildLike,
    streams: {
      StreamReader: typeof StreamReader;
      StreamWriter: typeof StreamWriter;
    },
    limit: number,
    merged: NetSocket | null,
  ) {
    this.child = child;
    this.pid = child.pid as number;
    const stdinSock = child.stdin as NetSocket | null;
    this.stdinSock = stdinSock;
    if (stdinSock !== null) {
      this.stdinClosed = false;
      const writer = new streams.StreamWriter(stdinSock, null);
      // The writer listens for none: a write the child no longer reads (EPIPE) must not be an
      // unhandled 'error' event. asyncio's pipe transport fails itself the same way.
      stdinSock.on('error', (e) => writer._lost(fromSystemError(e)));
      stdinSock.once('close', () => {
        this.stdinClosed = true;
        this.maybeFinished();
      });
      this.stdin = writer;
    } else {
      this.stdin = null;
    }
    const wire = (sock: NetSocket | null): StreamReader | null => {
      if (sock === null) return null;
      const reader = new streams.StreamReader({ limit });
      // A read in a later run() waits for the child as wait() does: it must hold it again.
      reader._onWait = () => this.holdAgain();
      const pipe: OutPipe = { sock, reader, wantPaused: false, ended: false, closed: false };
      reader._setTransport({
        pauseReading: () => {
          pipe.wantPaused = true;
          if (this.collecting === 0) {
            sock.pause();
            this.updateStall();
          }
        },
        resumeReading: () => {
          pipe.wantPaused = false;
          sock.resume();
          this.updateStall();
        },
      });
      sock.on('data', (chunk: Buffer) => reader._feedOwned(chunk));
      // The merged pipe of `stderr: STDOUT` was paused after its handshake: a 'data' listener
      // alone does not restart a stream paused explicitly.
      sock.resume();
      const ended = (): void => {
        if (pipe.ended) return;
        pipe.ended = true;
        if (reader.exception() === null) reader.feedEof();
      };
      sock.on('end', ended);
      sock.on('error', (e) => {
        if (reader.exception() === null) reader.setException(fromSystemError(e));
        ended();
      });
      sock.once('close', () => {
        ended();
        pipe.closed = true;
        this.maybeFinished();
      });
      this.outs.push(pipe);
      return reader;
    };
    this.stdout = wire(merged ?? (child.stdout as NetSocket | null));
    this.stderr = wire(child.stderr as NetSocket | null);
    // The addon's child gives a signal without a name as a third argument (Node's reports
    // such a death as code 0: subprocess-native.ts).
    child.once('exit', (code, signal, signo) => this.exited(code, signal, signo));
    // Node reports a kill(2) that failed with EPERM this way; sendSignal raises it itself.
    child.on('error', () => {});
    // Bound to the run() it was made in: when that loop closes, the child (still running, or
    // with pipes nobody read to the end) must not keep Node's process alive — CPython's process
    // ends once asyncio.run() has returned and leaves the child running.
    const loop = installedRunningLoop();
    if (loop !== null) this.offLoop = loop._atClose(() => this.letGo());
  }

  /** The exit status: null while the child runs, `-N` after signal N killed it (as Python). */
  get returncode(): number | null {
    return this.rc;
  }

  /**
   * Waits until the child exits and resolves to its `returncode`.
   *
   * With `stdout: PIPE` or `stderr: PIPE`, a child that writes more than the pipe and the
   * reader's buffer hold blocks until someone reads: `wait()` alone then never returns (the
   * deadlock Python's docs warn of). Read the pipes meanwhile, or use `communicate()`; weft
   * emits a `RuntimeWarning` (`WEFT_SUBPROCESS_PIPE_FULL`) when a `wait()` has waited a second
   * with a pipe full and nothing reading it.
   *
   * **Cancellation:** the child goes on running.
   * @throws {TimeoutError} after `timeout` ms with the child running.
   */
  wait(options?: WaitOptions): Promise<number> {
    let timeout: number | null;
    try {
      timeout = parseWait('Process.wait', options, 'reject').timeout;
    } catch (e) {
      return Promise.reject(e);
    }
    if (this.rc !== null) return Promise.resolve(this.rc);
    const signal = options?.signal;
    if (signal?.aborted) return Promise.reject(signal.reason);
    this.holdAgain();
    const w = new Waiter<number>(this);
    this.exitWaiters.push(w);
    if (signal) w.setSignal(signal);
    if (timeout !== null) {
      w.setTimeout(timeout, (x) =>
        x.withdraw(
          false,
          new TimeoutError(`wait(): process ${this.pid} was still running after ${timeout} ms`),
        ),
      );
    }
    this.updateStall();
    return w.block();
  }

  /**
   * Sends `input` (if given) to the child's stdin and closes it, reads `stdout` and `stderr` to
   * their end, waits for the child to exit, and resolves to `[stdout, stderr]`: a `Buffer` for
   * each stream made with `PIPE` (empty if the child wrote nothing), null for the others.
   *
   * stdin is closed even without `input`, as Python 3.12+ does (3.11 left it open, so a child
   * reading stdin to its end — `cat` — never exited). A child that exits or closes its stdin
   * before reading all of `input` is no error (`BrokenPipeError` and `ConnectionResetError` are
   * ignored, as Python's). The whole output is kept in memory; the readers' limit does not apply.
   * `input` may also be given as `{ input }`, the options object.
   *
   * **Cancellation:** the child goes on running, and what was read stays in the readers (asyncio
   * loses the part it had read): a later `communicate()` returns it. `input` was handed to the
   * stdin writer in full, and stdin closed behind it, before any wait.
   * While it waits, `communicate()` is the one reading task of `stdout` and `stderr`, as
   * asyncio's: a read of either meanwhile raises `RuntimeError` (`ERR_WEFT_READ_BUSY`).
   * @throws {RuntimeError} when `input` is given and stdin is not a `PIPE`, or another
   * `communicate()` of this process is still waiting, or a read of its `stdout` or `stderr` is
   * (`ERR_WEFT_READ_BUSY`, as Python's; then nothing is written).
   * @throws {TimeoutError} after `timeout` ms without the exit and the end of every pipe.
   */
  communicate(
    input?: Uint8Array | string | null | CommunicateOptions,
    options?: WaitOptions,
  ): Promise<[stdout: Buffer | null, stderr: Buffer | null]> {
    let data: Uint8Array | string | null;
    let opts: WaitOptions | undefined;
    let timeout: number | null;
    try {
      if (
        input !== null &&
        typeof input === 'object' &&
        !(input instanceof Uint8Array) &&
        options === undefined
      ) {
        for (const k of Object.keys(input)) {
          if (!COMMUNICATE_OPTION_NAMES.has(k)) {
            throw new TypeError(
              `Process.communicate: unknown option '${k}' (the options are input, signal and timeout)`,
            );
          }
        }
        data = input.input ?? null;
        opts = input;
      } else {
        data = (input as Uint8Array | string | null | undefined) ?? null;
        opts = options;
      }
      if (data !== null && typeof data !== 'string' && !(data instanceof Uint8Array)) {
        throw new TypeError(
          `Process.communicate: input must be bytes or a string: received ${describeValue(data)}`,
        );
      }
      timeout = parseWait('Process.communicate', opts, 'reject').timeout;
      if (data !== null && this.stdin === null) {
        throw new RuntimeError(
          'Process.communicate(input): the process has no stdin pipe (create it with stdin: PIPE)',
          'ERR_WEFT_NO_STDIN_PIPE',
        );
      }
    } catch (e) {
      return Promise.reject(e);
    }
    if (this.collecting > 0) {
      // Python's second communicate() fails in its first read: one reading task per stream.
      return Promise.reject(
        new RuntimeError(
          `communicate() called while another communicate() of process ${this.pid} is waiting: one at a time`,
          'ERR_WEFT_READ_BUSY',
        ),
      );
    }
    for (const r of [this.stdout, this.stderr]) {
      if (r?._waiting()) {
        // asyncio's communicate() fails in its own read of that pipe; here before it writes
        // `input`: the read waiting would take part of the output, communicate() the rest.
        return Promise.reject(
          new RuntimeError(
            `communicate() called while a read of process ${this.pid}'s ${r === this.stdout ? 'stdout' : 'stderr'} is waiting: one reading task per stream`,
            'ERR_WEFT_READ_BUSY',
          ),
        );
      }
    }
    const signal = opts?.signal;
    if (signal?.aborted) return Promise.reject(signal.reason);
    const stdin = this.stdin;
    if (stdin !== null) {
      if (data !== null && !stdin.isClosing()) {
        try {
          stdin.write(data);
        } catch (e) {
          // After writeEof() the pipe is closing: asyncio's pipe transport drops such a write.
          if ((e as { code?: unknown }).code !== 'ERR_WEFT_WRITE_AFTER_EOF') throw e;
        }
      }
      // close() sends what is queued, then EOF; a child gone meanwhile fails the writer, which
      // nobody here awaits (Python's communicate ignores BrokenPipeError and ConnectionResetError).
      stdin.close();
    }
    if (this.isFinished()) return Promise.resolve(this.collect());
    this.holdAgain();
    const w = new Waiter<void>(this);
    this.doneWaiters.push(w);
    if (signal) w.setSignal(signal);
    if (timeout !== null) {
      w.setTimeout(timeout, (x) =>
        x.withdraw(
          false,
          new TimeoutError(
            `communicate(): process ${this.pid} had not exited and closed its pipes after ${timeout} ms`,
          ),
        ),
      );
    }
    this.flow(+1);
    return w.block().then(
      () => {
        this.flow(-1);
        return this.collect();
      },
      (e: unknown) => {
        this.flow(-1);
        throw e;
      },
    );
  }

  /**
   * Sends signal `sig` (a number, or a name such as `'SIGTERM'`) to the child. After it has
   * exited, while a pipe is still open, it does nothing; once it has exited and every pipe is
   * closed it raises `ProcessLookupError`, as Python 3.11 and 3.12 do (3.13 ignores it). A
   * signal is never sent to a process id the child no longer has. On Linux a number up to
   * SIGRTMAX (64) may have no name (SIGRTMIN is 34), as Python's `send_signal` takes it.
   * @throws {ProcessLookupError} the child has exited and its pipes are closed.
   * @throws {RangeError} an unknown signal; {TypeError} one that is neither number nor string.
   */
  sendSignal(sig: number | NodeJS.Signals): void {
    // A name where the number has one (Node's ChildProcess.kill takes no other number); 0 and
    // the real-time signals stay numbers.
    let target: NodeJS.Signals | number;
    if (typeof sig === 'number') {
      if (!Number.isInteger(sig) || sig < 0 || (sig > MAX_SIGNAL && !SIGNAL_NAMES.has(sig))) {
        throw new RangeError(`sendSignal: unknown signal number: received ${sig}`);
      }
      target = SIGNAL_NAMES.get(sig) ?? sig;
    } else if (typeof sig === 'string') {
      if (!(sig in SIGNALS)) throw new RangeError(`sendSignal: unknown signal: received '${sig}'`);
      target = sig;
    } else {
      throw new TypeError(
        `sendSignal: the signal must be a number or a name such as 'SIGTERM': received ${describeValue(sig)}`,
      );
    }
    if (this.rc !== null) {
      if (this.isFinished()) {
        throw new ProcessLookupError(`process ${this.pid} has exited and its pipes are closed`);
      }
      return;
    }
    if (target === 0) {
      // Node's kill() knows no signal 0; the child is not reaped yet (rc is null), so its pid
      // is still its own.
      try {
        process.kill(this.pid, 0);
      } catch (e) {
        throw spawnError(e, String(this.pid));
      }
      return;
    }
    let failed: unknown = null;
    const onError = (e: unknown): void => {
      failed = e;
    };
    this.child.once('error', onError);
    try {
      this.child.kill(target);
    } catch (e) {
      if ((e as { code?: unknown }).code !== 'ERR_UNKNOWN_SIGNAL') throw e;
      // Node's ChildProcess.kill() refuses a signal without a name (the addon's child sends it
      // through its pidfd): kill(2) on the pid, still the child's (not reaped: rc is null).
      try {
        process.kill(this.pid, target);
      } catch (e2) {
        failed = e2;
      }
    } finally {
      this.child.off('error', onError);
    }
    if (failed !== null) throw spawnError(failed, String(this.pid));
  }

  /** `sendSignal('SIGTERM')`. */
  terminate(): void {
    this.sendSignal('SIGTERM');
  }

  /** `sendSignal('SIGKILL')`. */
  kill(): void {
    this.sendSignal('SIGKILL');
  }

  /** For deadlock reports and warnings. */
  describe(): string {
    return `Process ${this.pid}`;
  }

  /** Python's repr: `<Process 1234>`. */
  toString(): string {
    return `<Process ${this.pid}>`;
  }

  [inspect.custom](): string {
    return this.toString();
  }

  private exited(code: number | null, signal: NodeJS.Signals | null, signo?: number): void {
    this.rc = code ?? -(signo ?? (signal !== null ? (SIGNALS[signal] ?? 0) : 0));
    const rc = this.rc;
    for (let w = this.exitWaiters.shift(); w !== null; w = this.exitWaiters.shift()) w.wake(rc);
    this.updateStall();
    this.maybeFinished();
  }

  /**
   * The child exited and every pipe is closed: asyncio's transport is closed then, and what
   * `communicate()` waits for (Python's reads each pipe to its end, closes it, then waits).
   */
  private isFinished(): boolean {
    return this.rc !== null && this.stdinClosed && this.outs.every((p) => p.closed);
  }

  private maybeFinished(): void {
    if (!this.isFinished()) return;
    this.offLoop?.();
    this.offLoop = null;
    for (let w = this.doneWaiters.shift(); w !== null; w = this.doneWaiters.shift()) {
      w.wake(undefined);
    }
  }

  /** Everything the readers hold, once each has ended (a failed one raises its error). */
  private collect(): [Buffer | null, Buffer | null] {
    const take = (r: StreamReader | null): Buffer | null =>
      r === null ? null : (r._readNowait(r.buffered) as Buffer);
    return [take(this.stdout), take(this.stderr)];
  }

  /** `communicate()` begins (+1) or ends (-1) waiting: the output pipes flow while one waits. */
  private flow(delta: number): void {
    this.collecting += delta;
    // While it waits, communicate() is the pipes' one reading task (asyncio's reads them):
    // a read of the user's would take what communicate() is to return.
    const holder = this.collecting > 0 ? `communicate() of process ${this.pid}` : null;
    for (const p of this.outs) {
      p.reader._hold(holder);
      if (!p.wantPaused) continue;
      if (this.collecting > 0) p.sock.resume();
      else p.sock.pause();
    }
    this.updateStall();
  }

  /** Arms (or disarms) the deadlock warning: a wait() waiting, the child running, a pipe paused. */
  private updateStall(): void {
    const stalled = this.stalled();
    if (stalled && this.stallTimer === null && !this.warned) {
      this.stallTimer = setTimeout(() => {
        this.stallTimer = null;
        if (!this.stalled()) return;
        this.warned = true;
        const which = this.outs
          .filter((p) => p.wantPaused)
          .map((p) => (p.reader === this.stdout ? 'stdout' : 'stderr'))
          .join(' and ');
        process.emitWarning(
          `${this.describe()}: wait() has waited ${STALL_MS} ms while the child's ${which} pipe is full and nothing reads it: the child is blocked writing to it if it has more to write, and then wait() never returns. Read the pipe while waiting, or use communicate().`,
          { type: 'RuntimeWarning', code: 'WEFT_SUBPROCESS_PIPE_FULL' },
        );
      }, STALL_MS);
      this.stallTimer.unref();
    } else if (!stalled && this.stallTimer !== null) {
      clearTimeout(this.stallTimer);
      this.stallTimer = null;
    }
  }

  private stalled(): boolean {
    return (
      this.rc === null &&
      this.collecting === 0 &&
      !this.exitWaiters.empty &&
      this.outs.some((p) => p.wantPaused)
    );
  }

  /**
   * A wait (or a read of a pipe that waits) in a later run() for a child its first one let go
   * (`letGo`): the child and its pipes keep Node's process alive again, until this run() closes
   * its loop. Left unref'd, nothing would: Node could end with the wait pending, or run() report
   * a deadlock for a child that was about to exit or write. (Python's Process cannot be awaited in another loop at all: "attached
   * to a different loop".)
   */
  private holdAgain(): void {
    if (!this.letGone) return;
    const loop = installedRunningLoop();
    if (loop === null) return;
    this.letGone = false;
    this.child.ref();
    this.stdinSock?.ref();
    for (const p of this.outs) p.sock.ref();
    this.offLoop = loop._atClose(() => this.letGo());
  }

  /** The run() this was made in has closed its loop: nothing here keeps Node's process alive. */
  private letGo(): void {
    this.letGone = true;
    this.offLoop = null;
    this.child.unref();
    this.stdinSock?.unref();
    for (const p of this.outs) p.sock.unref();
    if (this.stallTimer !== null) {
      clearTimeout(this.stallTimer);
      this.stallTimer = null;
    }
  }
}

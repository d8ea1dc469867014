/**
 * The fast start of a subprocess on Linux: native/spawn/spawn.c (posix_spawn, the exit watched
 * through a pidfd) behind an object with the part of Node's `ChildProcess` that `Process` uses.
 * subprocess.ts takes it when the addon was built and the stdio targets are ones it handles,
 * and Node's `child_process.spawn` otherwise.
 *
 * Implementation notes
 * --------------------
 * Why: libuv forks, and a fork costs in proportion to the parent's memory (its page tables are
 * copied): `/bin/true` plus its exit took 1.7 ms of this process's time with 100 MB resident,
 * 0.16 ms through posix_spawn, which does not copy them (measured by hand on the 2-core machine
 * of the bench; numbers in docs/asyncio.md come from the bench).
 *
 * What Node's spawn does that this does too, so that `Process` sees the same child:
 * - the program and its PATH search, the environment (`envPairs`: every key `for…in` finds,
 *   NODE_V8_COVERAGE carried into a given env; this process's own read through `process.env`,
 *   as Node reads it: the addon copying `environ` itself would race a worker started with
 *   `env: SHARE_ENV`, whose setenv Node serializes with a lock only `process.env` takes),
 *   argv[0] = the program as given (Node's `argv0`, Python's `executable`), the cwd;
 * - the child's set-up (fds 0..2 blocking, signals 1..31 at their defaults, no signal blocked):
 *   the addon's notes say how;
 * - a spawn error: the same `errno`, `code` and `syscall` ('spawn <file>' for the errors Node
 *   emits, 'spawn' for those it throws), `path` and `spawnargs` as Node's;
 * - pipes: Unix socket pairs, our end a `net.Socket` (stdin not readable), as Node's;
 * - the exit: stdin destroyed, then 'exit' (code, signal name), then on the next tick every
 *   readable pipe resumed (Node's flushStdio);
 * - `kill`: true when sent, false after the exit or for ESRCH, an 'error' event for EPERM;
 *   `ref`/`unref` of the watch.
 * Beyond Node's: Python's Popen keywords (subprocess-popen.ts), which Node's spawn has in part;
 * a signal without a name in `os.constants.signals` (SIGRTMIN = 34 and up) can be sent, and one
 * that killed the child comes as the third argument of 'exit' (code and name null), where Node
 * reports such a death as an exit with code 0.
 * Not done: the 'spawn' and 'close' events and the `child_process` diagnostics channel
 * (nothing in weft listens to them). One difference below `Process`: our end of a pipe is opened
 * with `net.Socket({ fd })`, readable and writable to libuv, where Node opens it one way; so
 * after a stdout pipe's EOF the socket's own end() shuts down its write side for real (Node's
 * answers ENOTCONN and skips it), which the child, not reading its stdout, never sees.
 */
import { EventEmitter } from 'node:events';
import { createRequire } from 'node:module';
import { Socket as NetSocket } from 'node:net';
import { debuglog, getSystemErrorName } from 'node:util';
import { ATTR_STAGE, BLOCK_LEN, nativeAttrs, type Popen } from './subprocess-popen.js';
import { MAX_SIGNAL, SIGNAL_NAMES, SIGNALS } from './subprocess-process.js';

/** A started child in the addon (an opaque handle). */
type ChildHandle = { readonly __brand: 'weft:subprocess' };

interface SpawnBinding {
  /**
   * Starts `file` (searched in the PATH of `envp` when it has no '/'); `block` (spawn.c's table)
   * holds a spec per fd 0..2 (SPEC_* or a descriptor of this process) and, on success, our end
   * of each PIPE, then Popen's attributes and, on failure, the step that failed.
   * `onExit(code, signal)` runs once, when the child has exited and been reaped.
   */
  spawn(
    file: string,
    argv: string[],
    envp: string[],
    cwd: string | null,
    block: Int32Array,
    onExit: (code: number, signal: number) => void,
    keep: Int32Array | undefined,
    groups: Uint32Array | undefined,
  ): ChildHandle | number | undefined;
  pid(child: ChildHandle): number;
  kill(child: ChildHandle, signal: number): number;
  ref(child: ChildHandle, on: boolean): number;
  /** The uid (kind 0) or gid (kind 1) of a name through NSS; null: unknown; < 0: -errno. */
  lookup(kind: 0 | 1, name: string): number | null;
  /** What this build can do: VERSION or more. */
  version(): number;
  /** 0 when this kernel has pidfds (Linux 5.4), else -errno. */
  available(): number;
}

/** The addon's version() this file needs (spawn.c's VERSION): Popen's attributes in one block. */
const VERSION = 3;

/** A stdio spec: a new pipe (our end becomes the stream). */
export const SPEC_PIPE = -1;
/** A stdio spec: /dev/null. */
export const SPEC_IGNORE = -2;
/** A stdio spec, for stderr: the child end of stdout's pipe (`stderr: STDOUT`). */
export const SPEC_MERGE = -3;

const debug = debuglog('weft');

/**
 * The spec for fd `i` of a Node `stdio` entry ('pipe', 'ignore', 'inherit', a descriptor, a
 * stream) or 'merge' (stderr into stdout's pipe); null for one this path leaves to Node's
 * spawn: a stream without a numeric `fd` (a `net.Socket`: Node hands the child its handle's
 * descriptor and stops reading it), or a descriptor that is not a plain one.
 */
export function specOf(entry: unknown, i: number): number | null {
  if (entry === 'pipe') return SPEC_PIPE;
  if (entry === 'ignore') return SPEC_IGNORE;
  if (entry === 'inherit') return i;
  if (entry === 'merge') return SPEC_MERGE;
  const fd =
    typeof entry === 'number'
      ? entry
      : typeof entry === 'object' && entry !== null
        ? (entry as { fd?: unknown }).fd
        : undefined;
  return typeof fd === 'number' && Number.isInteger(fd) && fd >= 0 && fd <= 0x7fffffff ? fd : null;
}

function load(): SpawnBinding | null {
  if (process.env.WEFT_NO_NATIVE === '1' || process.platform !== 'linux') return null;
  let b: Partial<SpawnBinding>;
  try {
    // src/asyncio/ and dist/asyncio/ are both two levels below the package root.
    b = createRequire(import.meta.url)('../../native/spawn/build/Release/weft_spawn.node');
  } catch (e) {
    debug('subprocess: spawn addon not loaded, forking through libuv: %s', (e as Error).message);
    return null;
  }
  if (
    typeof b.spawn !== 'function' ||
    typeof b.pid !== 'function' ||
    typeof b.kill !== 'function' ||
    typeof b.ref !== 'function' ||
    typeof b.lookup !== 'function' ||
    typeof b.available !== 'function' ||
    typeof b.version !== 'function' ||
    b.version() < VERSION
  ) {
    debug('subprocess: the spawn addon is out of date (rebuild with `node native/build.mjs`)');
    return null;
  }
  const ok = b.available();
  if (ok !== 0) {
    debug('subprocess: no pidfds here (%s), forking through libuv', getSystemErrorName(ok));
    return null;
  }
  return b as SpawnBinding;
}

const binding: SpawnBinding | null = load();

/** Whether the addon is there and usable: otherwise every spawn goes through Node's. */
export function nativeSpawnAvailable(): boolean {
  return binding !== null;
}

/**
 * The addon's user (kind 0) and group (1) lookup through the system's name service, for
 * subprocess-popen.ts; null without the addon.
 */
export const lookupName: ((kind: 0 | 1, name: string) => number | null) | null =
  binding !== null ? (kind, name) => (binding as SpawnBinding).lookup(kind, name) : null;

/** The errors Node emits as 'error' events (with the program named); it throws the others. */
const EMITTED = new Set(['EACCES', 'EAGAIN', 'EMFILE', 'ENFILE', 'ENOENT']);

/**
 * The addon's block (spawn.c's table), one per thread and reused by every spawn: the addon reads
 * and writes it within the call, and JavaScript reads it back before anything else runs. A typed
 * array made per spawn would be moved off V8's heap by N-API on each call, which cost more than
 * the rest of the JavaScript of a spawn (and left garbage for the collector).
 */
const block = new Int32Array(new ArrayBuffer(BLOCK_LEN * Int32Array.BYTES_PER_ELEMENT));

/** Node's ErrnoException: message `<syscall> <code>`, `errno` negative. */
function errnoError(errno: number, syscall: string): NodeJS.ErrnoException {
  const code = getSystemErrorName(errno);
  const e = new Error(`${syscall} ${code}`) as NodeJS.ErrnoException;
  e.errno = errno;
  e.code = code;
  e.syscall = syscall;
  return e;
}

/** Node's envPairs for `env` (this process's when null). */
function envPairs(env: Record<string, string> | null): string[] {
  const source: Record<string, string | undefined> = env ?? process.env;
  const cov = process.env.NODE_V8_COVERAGE;
  if (cov && env !== null && !Object.hasOwn(env, 'NODE_V8_COVERAGE')) {
    env.NODE_V8_COVERAGE = cov;
  }
  const pairs: string[] = [];
  for (const key in source) {
    const value = source[key];
    if (value !== undefined) pairs.push(`${key}=${value}`);
  }
  return pairs;
}

/**
 * Starts `file` with `args` through the addon (call only when `nativeSpawnAvailable()`), its
 * argv[0] `argv0`. `stdio`: a spec per fd 0..2. `env` is the child's whole environment (a copy:
 * Node's rule for NODE_V8_COVERAGE may add to it), null for this process's. `popen`: Python's
 * Popen keywords (subprocess-popen.ts's `nativeAttrs` makes them the addon's).
 * @returns the child, and our end of stdout's pipe when stderr merges into it (`SPEC_MERGE`:
 * it is then the child's `stdout` no more, as in Node's path, where weft made that pair).
 * @throws Node's spawn error (an ErrnoException) when the child could not be started, with
 * `stage`: the step that failed (STAGE_EXEC, STAGE_CWD, STAGE_SETUP of subprocess-popen.ts).
 */
export function spawnNative(
  file: string,
  argv0: string,
  args: readonly string[],
  stdio: readonly [number, number, number],
  cwd: string | null,
  env: Record<string, string> | null,
  popen: Popen,
): NativeChild {
  const b = binding as SpawnBinding;
  const argv = [argv0, ...args];
  const envp = envPairs(env);
  const child = new NativeChild();
  // From here to the reads of `block` below nothing runs that could spawn in between.
  block[0] = stdio[0];
  block[1] = stdio[1];
  block[2] = stdio[2];
  const { keep, groups } = nativeAttrs(popen, block);
  const h = b.spawn(
    file,
    argv,
    envp,
    cwd,
    block,
    (code, signal) => child._exited(code, signal),
    keep,
    groups,
  );
  if (typeof h === 'number') {
    const code = getSystemErrorName(h);
    const err = errnoError(h, EMITTED.has(code) ? `spawn ${file}` : 'spawn');
    if (EMITTED.has(code)) Object.assign(err, { path: file, spawnargs: [...args] });
    throw Object.assign(err, { stage: block[ATTR_STAGE] });
  }
  if (h === undefined) {
    // napi refused to make the handle (before starting anything): this thread is being
    // terminated, and runs no more JavaScript after this frame.
    throw new Error('weft: subprocess not started: this thread is ending');
  }
  // Our ends, read out before a socket is made (JavaScript that might spawn again).
  const ours0 = block[0] as number;
  const ours1 = block[1] as number;
  const ours2 = block[2] as number;
  const pid = b.pid(h);
  const merged = stdio[2] === SPEC_MERGE;
  const stdin = socketOf(ours0, false);
  const stdout = merged ? null : socketOf(ours1, true);
  const stderr = socketOf(ours2, true);
  child._started(pid, h, stdin, stdout, stderr, merged ? socketOf(ours1, true) : null);
  return child;
}

/** Our end of a pipe as Node's spawn opens it (stdin not readable); null for no pipe. */
function socketOf(fd: number, readable: boolean): NetSocket | null {
  return fd >= 0 ? new NetSocket({ fd, readable }) : null;
}

/** Node's flushStdio: on the tick after the exit, every readable pipe flows to its end. */
function flushStdio(child: NativeChild): void {
  for (const s of [child.stdin, child.stdout, child.stderr]) {
    if (s?.readable) s.resume();
  }
}

/**
 * A child started by `spawnNative`: `pid`, `stdin`/`stdout`/`stderr`, 'exit' and 'error'
 * events, `kill`, `ref`/`unref` — what `Process` uses of a `ChildProcess`, with its meaning.
 */
export class NativeChild extends EventEmitter {
  pid: number | undefined = undefined;
  stdin: NetSocket | null = null;
  stdout: NetSocket | null = null;
  stderr: NetSocket | null = null;
  /** With `SPEC_MERGE`: our end of the pipe on the child's fds 1 and 2. */
  merged: NetSocket | null = null;
  private handle: ChildHandle | null = null;

  /** @internal */
  _started(
    pid: number,
    handle: ChildHandle,
    stdin: NetSocket | null,
    stdout: NetSocket | null,
    stderr: NetSocket | null,
    merged: NetSocket | null,
  ): void {
    this.pid = pid;
    this.handle = handle;
    this.stdin = stdin;
    this.stdout = stdout;
    this.stderr = stderr;
    this.merged = merged;
  }

  /** @internal The addon reaped the child (`code` < 0: someone else did; then, as libuv, no
   * 'exit' is ever emitted). A signal without a name (34 and up) comes as the third argument,
   * code and name null: Node would report code 0, and Python's returncode is -34. */
  _exited(code: number, signal: number): void {
    this.handle = null;
    if (code < 0) {
      debug('subprocess: process %d was reaped by someone else (%s)', this.pid, code);
      return;
    }
    this.stdin?.destroy();
    const name = SIGNAL_NAMES.get(signal);
    if (signal === 0) this.emit('exit', code, null);
    else if (name !== undefined) this.emit('exit', null, name);
    else this.emit('exit', null, null, signal);
    process.nextTick(flushStdio, this);
  }

  /** Sends `sig` (default SIGTERM): true when sent; false once exited, or for ESRCH; an
   * 'error' event for any other failure (EPERM), as Node's `ChildProcess.kill`. Also a number
   * up to MAX_SIGNAL that has no name (Node's refuses those). Through the child's pidfd. */
  kill(sig: NodeJS.Signals | number = 'SIGTERM'): boolean {
    const signo = typeof sig === 'number' ? sig : SIGNALS[String(sig).toUpperCase()];
    if (signo === undefined || !Number.isInteger(signo) || signo < 0 || signo > MAX_SIGNAL) {
      throw Object.assign(new TypeError(`Unknown signal: ${String(sig)}`), {
        code: 'ERR_UNKNOWN_SIGNAL',
      });
    }
    const h = this.handle;
    if (h === null) return false;
    const r = (binding as SpawnBinding).kill(h, signo);
    if (r === 0) return true;
    const code = getSystemErrorName(r);
    if (code === 'ESRCH') return false;
    const err = errnoError(r, 'kill');
    if (code === 'EINVAL' || code === 'ENOSYS') throw err;
    this.emit('error', err);
    return false;
  }

  ref(): void {
    if (this.handle !== null) (binding as SpawnBinding).ref(this.handle, true);
  }

  unref(): void {
    if (this.handle !== null) (binding as SpawnBinding).ref(this.handle, false);
  }
}

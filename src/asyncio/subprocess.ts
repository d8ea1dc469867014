/**
 * asyncio's subprocesses: `createSubprocessExec`, `createSubprocessShell` and `Process`, on
 * Node's `child_process`, with the pipes read and written through weft/streams' `StreamReader`
 * and `StreamWriter` (asyncio's `SubprocessStreamProtocol` does the same with its streams).
 *
 * The `Process` they resolve to, and its pipes: subprocess-process.ts.
 *
 * Implementation notes
 * --------------------
 *
 * Two ways to start the child, one `Process` over either: on Linux the spawn addon
 * (subprocess-native.ts: posix_spawn, no copy of this process's page tables, where libuv forks),
 * and Node's `child_process.spawn` where the addon is missing or a stdio target or `cwd` is one
 * only Node's spawn handles. The addon's child is the one Node's would be; the suite runs
 * through both (test/asyncio/subprocess-node-spawn.test.ts).
 *
 * Node's pipes to a child are Unix socket pairs (libuv makes them so), not pipe(2)s as Python's;
 * a child sees a socket on its fd 0/1/2, from either path. `stderr: STDOUT` needs one descriptor
 * on the child's fd 1 and 2, which Node's `stdio: 'pipe'` cannot give: the addon puts one end of
 * its pair on both; through Node's spawn weft makes the pair itself (a Unix socket listened on
 * once, connected, and checked by a random token so that no stranger's connection is taken for
 * it) and hands the child its one end for both.
 *
 * Popen's other keywords (`executable`, `startNewSession`, `passFds`, `user`, …) are checked and
 * resolved in subprocess-popen.ts, which also says what each path makes of them.
 */
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { accessSync, existsSync, constants as fsConstants, mkdtempSync, rmSync } from 'node:fs';
import type { Socket as NetSocket, Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Stream } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { describeValue } from '../internal/errors.js';
import { spawnError } from './subprocess-errors.js';
import type { NativeChild } from './subprocess-native.js';
import {
  checkPopen,
  nodeSpawnOptions,
  POPEN_OPTION_NAMES,
  type Popen,
  resolvePopen,
  STAGE_CWD,
  STAGE_SETUP,
} from './subprocess-popen.js';
import { Process } from './subprocess-process.js';

export { type CommunicateOptions, Process } from './subprocess-process.js';

/** Python's `subprocess.PIPE`: a pipe to or from the child (a stream on the `Process`). */
export const PIPE = -1;
/** Python's `subprocess.STDOUT`: for `stderr` only, the child's stderr goes where its stdout goes. */
export const STDOUT = -2;
/** Python's `subprocess.DEVNULL`: `/dev/null`. */
export const DEVNULL = -3;

/**
 * Where one of the child's standard streams goes: `PIPE`, `DEVNULL`, `STDOUT` (stderr only), a
 * file descriptor of this process (an integer >= 0), or what Node's `stdio` takes with a
 * descriptor under it (a `FileHandle`, an open `fs` stream, a `net.Socket`, `process.stdout`).
 * `null` or absent: the child inherits this process's (Python's `None`).
 */
export type StdioTarget =
  | typeof PIPE
  | typeof STDOUT
  | typeof DEVNULL
  | number
  | { readonly fd: number }
  | NodeJS.ReadableStream
  | NodeJS.WritableStream
  | null
  | undefined;

/**
 * The options of `createSubprocessExec` and `createSubprocessShell`: asyncio's `limit` and the
 * keywords it passes on to `subprocess.Popen`, with Python's meaning. `processGroup`, `umask` and
 * `extraGroups` need the spawn addon (Linux): through Node's `child_process.spawn` they are a
 * `RuntimeError` (docs/asyncio.md, "Subprocesses").
 */
export interface SubprocessOptions {
  stdin?: StdioTarget;
  stdout?: StdioTarget;
  stderr?: StdioTarget;
  /** The child's working directory (a path or a `file:` URL); default this process's. */
  cwd?: string | URL | null;
  /** The child's whole environment (not added to this process's); default this process's. */
  env?: Readonly<Record<string, string>> | null;
  /** The buffer limit of the `stdout`/`stderr` readers, in bytes (default 64 KiB, asyncio's). */
  limit?: number;
  /** The program run, in place of the first argument, which stays the child's argv[0] (for
   * `createSubprocessShell`: the shell, in place of `/bin/sh`, and its argv[0]). */
  executable?: string | URL | null;
  /** The child calls setsid(): a session and process group of its own, no controlling
   * terminal (Node's `detached`). */
  startNewSession?: boolean;
  /** The child calls setpgid(0, processGroup): 0 makes a group of its own (Python 3.11). */
  processGroup?: number | null;
  /** Descriptors of this process the child gets at the same numbers (Python's `pass_fds`). */
  passFds?: Iterable<number> | null;
  /** Every descriptor above 2 but `passFds` closed in the child (default true, Python's). false:
   * one this process holds without FD_CLOEXEC reaches the child (each that Node opens has it). */
  closeFds?: boolean;
  /** The child's umask (-1, null or absent: this process's). */
  umask?: number | null;
  /** The child runs as this user (a name or a uid): setreuid. */
  user?: string | number | null;
  /** The child's group (a name or a gid): setregid. */
  group?: string | number | null;
  /** The child's supplementary groups (names or gids): setgroups. */
  extraGroups?: Iterable<string | number> | null;
}

const OPTION_NAMES: ReadonlySet<string> = new Set([
  'stdin',
  'stdout',
  'stderr',
  'cwd',
  'env',
  'limit',
  ...POPEN_OPTION_NAMES,
]);

/** One entry of Node's `stdio` array. */
type StdioEntry = 'pipe' | 'ignore' | 'inherit' | number | Stream;

/**
 * Starts `program` with `args` (no shell), as Python's `asyncio.create_subprocess_exec(program,
 * *args, **kwds)`; the options object comes last. `program` is looked up in the `PATH` of the
 * child's environment when it has no `/`. Resolves once the child is started.
 *
 * @example
 * const p = await createSubprocessExec('echo', 'hello', { stdout: PIPE });
 * const [out] = await p.communicate(); // <Buffer 'hello\n'>
 * @throws {FileNotFoundError} no such program (or no such `cwd`): `errnoName` 'ENOENT'.
 * @throws {PermissionError} the program cannot be executed ('EACCES'), or is `''` (as Python's);
 * `user`, `group`, `extraGroups` or `processGroup` refused by the system ('EPERM').
 * @throws {KeyError} a `user`, `group` or `extraGroups` name the system does not know.
 * @throws {OSError} a `passFds` descriptor that is not open ('EBADF').
 * @throws {TypeError} an argument or option of the wrong type, or an unknown option.
 * @throws {RangeError} an option out of range (a negative descriptor, a umask above 0o777).
 * @throws {RuntimeError} `processGroup`, `umask` or `extraGroups` where the spawn addon is not
 * used (`code` 'ERR_WEFT_SUBPROCESS_UNSUPPORTED').
 */
export function createSubprocessExec(
  program: string,
  ...args: [...args: string[], options: SubprocessOptions] | string[]
): Promise<Process> {
  try {
    const last = args.at(-1);
    // The options object comes last, a plain object; anything else there is an argument (and a
    // TypeError unless a string), as Python's TypeError for `create_subprocess_exec('echo', 1)`:
    // a Date or a Buffer there was taken for options, its fields read as options, silently.
    const options = isPlainObject(last) ? (args.pop() as SubprocessOptions) : {};
    checkArg('createSubprocessExec', 'program', program);
    // Node's spawn refuses '' with a TypeError about its own parameter; the kernel's execve('')
    // fails with ENOENT and Python's lookup ends in EACCES: Python's class and message.
    if (program === '') throw emptyProgram();
    args.forEach((a, i) => {
      checkArg('createSubprocessExec', `args[${i}]`, a);
    });
    return start('createSubprocessExec', program, args as string[], options, false);
  } catch (e) {
    return Promise.reject(e);
  }
}

/**
 * Runs `cmd` with `/bin/sh -c`, as Python's `asyncio.create_subprocess_shell(cmd, **kwds)`. The
 * shell interprets `cmd` (quotes, `$VAR`, `>`, `|`): never put text from outside into it unquoted.
 * The `Process` is the shell's (a shell may run the last command in its own place).
 * @throws {TypeError} `cmd` is not a string, an option is of the wrong type or unknown.
 */
export function createSubprocessShell(
  cmd: string,
  options: SubprocessOptions = {},
): Promise<Process> {
  try {
    checkArg('createSubprocessShell', 'cmd', cmd);
    return start('createSubprocessShell', '/bin/sh', ['-c', cmd], options, true);
  } catch (e) {
    return Promise.reject(e);
  }
}

/** Python's error for the program '' (or `executable: ''`). */
function emptyProgram(): unknown {
  return spawnError(
    Object.assign(new Error("spawn '' EACCES"), { code: 'EACCES', errno: -13 }),
    '',
  );
}

function isPlainObject(x: unknown): boolean {
  if (typeof x !== 'object' || x === null) return false;
  const proto = Object.getPrototypeOf(x);
  return proto === Object.prototype || proto === null;
}

function checkArg(what: string, name: string, a: unknown): void {
  if (typeof a !== 'string') {
    throw new TypeError(`${what}: ${name} must be a string: received ${describeValue(a)}`);
  }
  if (a.includes('\0')) throw new RangeError(`${what}: ${name} contains a null byte`);
}

/** Node's `stdio` entry for one target; `which` names the option in errors. */
function stdioEntry(what: string, which: string, t: StdioTarget): StdioEntry {
  if (t === null || t === undefined) return 'inherit';
  if (t === PIPE) return 'pipe';
  if (t === DEVNULL) return 'ignore';
  if (t === STDOUT) {
    throw new RangeError(`${what}: STDOUT can only be used for stderr (option ${which})`);
  }
  if (typeof t === 'number') {
    if (!Number.isInteger(t) || t < 0) {
      throw new RangeError(
        `${what}: option ${which} must be PIPE, DEVNULL, a file descriptor >= 0 or a stream: received ${t}`,
      );
    }
    return t;
  }
  if (
    typeof t === 'object' &&
    (typeof (t as { fd?: unknown }).fd === 'number' ||
      typeof (t as { _handle?: unknown })._handle === 'object')
  ) {
    return t as unknown as Stream;
  }
  throw new TypeError(
    `${what}: option ${which} must be PIPE, DEVNULL, a file descriptor or a stream with a descriptor (a FileHandle, an open fs stream, a socket), or null: received ${describeValue(t)}`,
  );
}

function checkOptions(what: string, options: SubprocessOptions): void {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new TypeError(`${what}: options must be an object: received ${describeValue(options)}`);
  }
  for (const k of Object.keys(options)) {
    if (k === 'preexecFn' || k === 'preexec_fn') {
      throw new TypeError(
        `${what}: there is no option ${k}: the child runs no JavaScript between its start and its exec (Python runs preexec_fn there); startNewSession, processGroup, umask, user, group and extraGroups cover its common uses`,
      );
    }
    if (!OPTION_NAMES.has(k)) {
      throw new TypeError(
        `${what}: unknown option '${k}' (the options are ${[...OPTION_NAMES].join(', ')})`,
      );
    }
  }
  const { cwd, env, limit } = options;
  if (cwd !== undefined && cwd !== null && typeof cwd !== 'string' && !(cwd instanceof URL)) {
    throw new TypeError(
      `${what}: option cwd must be a path or a URL: received ${describeValue(cwd)}`,
    );
  }
  // As the arguments' (Python's ValueError 'embedded null byte'), not Node's spawn's own
  // TypeError about 'options.cwd'.
  // A file: URL spells the byte %00 (each % begins an escape, so '%2500' is no match).
  if (
    (typeof cwd === 'string' && cwd.includes('\0')) ||
    (cwd instanceof URL && cwd.pathname.includes('%00'))
  ) {
    throw new RangeError(`${what}: option cwd contains a null byte`);
  }
  // Here, naming the option, rather than in the StreamReader made with it.
  if (limit !== undefined && limit !== null) {
    if (typeof limit !== 'number' || !Number.isInteger(limit)) {
      throw new TypeError(
        `${what}: option limit must be an integer number of bytes: received ${describeValue(limit)}`,
      );
    }
    if (limit <= 0) {
      // Python: ValueError('Limit cannot be <= 0') when it makes a pipe's reader.
      throw new RangeError(`${what}: option limit must be at least 1 byte: received ${limit}`);
    }
  }
  if (env !== undefined && env !== null) {
    if (typeof env !== 'object' || Array.isArray(env)) {
      throw new TypeError(`${what}: option env must be an object: received ${describeValue(env)}`);
    }
    for (const [k, v] of Object.entries(env)) {
      if (typeof v !== 'string') {
        throw new TypeError(
          `${what}: option env: the value of ${k} must be a string: received ${describeValue(v)}`,
        );
      }
      if (k === '' || k.includes('=') || k.includes('\0') || v.includes('\0')) {
        throw new RangeError(`${what}: option env: illegal environment variable name or value`);
      }
    }
  }
}

/**
 * What a subprocess needs beyond weft/asyncio, imported on first use: weft/streams (with the
 * native addon its transport loads) would add to every `weft/asyncio` import's start-up. Once:
 * under a loader with hooks (tsx), each `import()` is a round trip to the hooks' thread.
 */
let modules: Promise<
  [
    typeof import('node:child_process'),
    typeof import('../streams/stream-reader.js'),
    typeof import('../streams/stream-writer.js'),
    typeof import('./subprocess-native.js'),
  ]
> | null = null;

function loadModules(): NonNullable<typeof modules> {
  modules ??= Promise.all([
    import('node:child_process'),
    import('../streams/stream-reader.js'),
    import('../streams/stream-writer.js'),
    import('./subprocess-native.js'),
  ]);
  return modules;
}

/** Whether a spawn may take the addon's path (subprocess-native.ts); tests turn it off. */
let nativeAllowed = true;

/**
 * @internal Allows (`true`) or forbids the addon's spawn path, for tests that run the same
 * suite against Node's spawn; returns the previous setting. Without the addon it changes
 * nothing: every spawn goes through Node's.
 */
export function _allowNativeSpawn(on: boolean): boolean {
  const was = nativeAllowed;
  nativeAllowed = on;
  return was;
}

async function start(
  what: string,
  program: string,
  args: string[],
  options: SubprocessOptions,
  shell: boolean,
): Promise<Process> {
  checkOptions(what, options);
  const checked = checkPopen(what, options);
  if (checked.executable === '') throw emptyProgram();
  const [{ spawn }, { checkReaderOptions, StreamReader }, { StreamWriter }, native] =
    await loadModules();
  const { limit } = checkReaderOptions({ limit: options.limit ?? undefined });
  const stdin = stdioEntry(what, 'stdin', options.stdin);
  const stdout = stdioEntry(what, 'stdout', options.stdout);
  const merge = options.stderr === STDOUT;
  // Merged into a stdout that is no pipe: where stdout goes, this process's fd 1 for an
  // inherited one ('inherit' at index 2 would be our fd 2).
  const stderrTarget: StdioEntry | 'merge' = !merge
    ? stdioEntry(what, 'stderr', options.stderr)
    : stdout === 'pipe'
      ? 'merge'
      : stdout === 'inherit'
        ? 1
        : stdout;
  const cwd = options.cwd ?? undefined;
  // A promise only where a user or group name is looked up: no await (a turn of the microtask
  // queue) for every other spawn.
  const resolving = resolvePopen(what, checked, native.lookupName);
  const popen = resolving instanceof Promise ? await resolving : resolving;
  // Python runs `executable` with the arguments as given, argv[0] the program; for a shell it
  // replaces /bin/sh, argv[0] too.
  const file = popen.executable ?? program;
  const argv0 = shell ? file : program;
  const streams = { StreamReader, StreamWriter };
  // The addon's path where it can do all Node's would (subprocess-native.ts): not for a URL cwd
  // (a null byte in a string one was refused above), nor for a stdio target only Node's spawn
  // handles.
  const specs = [native.specOf(stdin, 0), native.specOf(stdout, 1), native.specOf(stderrTarget, 2)];
  if (
    nativeAllowed &&
    native.nativeSpawnAvailable() &&
    (cwd === undefined || typeof cwd === 'string') &&
    !specs.includes(null)
  ) {
    let child: NativeChild;
    try {
      child = native.spawnNative(
        file,
        argv0,
        args,
        specs as [number, number, number],
        cwd ?? null,
        options.env != null ? { ...options.env } : null,
        popen,
      );
    } catch (e) {
      const stage = (e as { stage?: number }).stage;
      throw spawnError(
        e,
        stage === STAGE_SETUP ? null : stage === STAGE_CWD ? (cwd as string) : file,
      );
    }
    return new Process(child, streams, limit, child.merged);
  }
  const nodeOptions = nodeSpawnOptions(what, popen);
  let stderr: StdioEntry;
  let pair: [read: NetSocket, write: NetSocket] | null = null;
  if (stderrTarget === 'merge') {
    pair = await socketPair();
    stderr = pair[1];
  } else {
    stderr = stderrTarget;
  }
  let child: ChildProcess;
  try {
    child = spawn(file, args, {
      stdio: [stdin, pair !== null ? pair[1] : stdout, stderr, ...nodeOptions.extraStdio],
      ...(cwd !== undefined ? { cwd } : {}),
      ...(options.env != null ? { env: { ...options.env } } : {}),
      ...(argv0 !== file ? { argv0 } : {}),
      ...(nodeOptions.detached !== undefined ? { detached: nodeOptions.detached } : {}),
      ...(nodeOptions.uid !== undefined ? { uid: nodeOptions.uid } : {}),
      ...(nodeOptions.gid !== undefined ? { gid: nodeOptions.gid } : {}),
    });
  } catch (e) {
    pair?.[0].destroy();
    throw spawnError(e, blame(e, file, cwd, popen));
  } finally {
    // The child has its own copy of its end (or there is no child): ours would hold off EOF.
    pair?.[1].destroy();
  }
  if (child.pid === undefined) {
    // Node reports a failed exec (ENOENT, EACCES) a tick later, as an 'error' event.
    const err = await new Promise<unknown>((resolve) => child.once('error', resolve));
    pair?.[0].destroy();
    for (const s of [child.stdin, child.stdout, child.stderr]) s?.destroy();
    throw spawnError(err, blame(err, file, cwd, popen));
  }
  return new Process(child, streams, limit, pair !== null ? pair[0] : null);
}

/**
 * The path a failed spawn through Node's was about, as Python names it in `filename`: `cwd` when
 * that is what could not be entered (Node names the program either way), none for a bad
 * descriptor, a full descriptor table or a refused setuid, setgid (or setsid), else the
 * program.
 */
function blame(
  err: unknown,
  file: string,
  cwd: string | URL | undefined,
  popen: Popen,
): string | null {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  // Python's errors of the set-up before the exec (a pipe, a descriptor) name nothing.
  if (code === 'EBADF' || code === 'EMFILE' || code === 'ENFILE') return null;
  if (code === 'EPERM' && (popen.uid >= 0 || popen.gid >= 0 || popen.startNewSession)) return null;
  if (cwd === undefined) return file;
  const dir = cwd instanceof URL ? fileURLToPath(cwd) : cwd;
  try {
    if (code === 'ENOENT' && !existsSync(cwd)) return dir;
    if (code === 'ENOTDIR') return dir;
    if (code === 'EACCES') accessSync(cwd, fsConstants.X_OK);
  } catch {
    return dir;
  }
  return file;
}

let netModule: Promise<typeof import('node:net')> | null = null;

/**
 * A connected pair of Unix stream sockets ([our end, the child's end]): what `stdio: 'pipe'`
 * makes, for `stderr: STDOUT`, where the child must get one descriptor twice. Made through a
 * listening socket (Linux: in the abstract namespace, no file) that the first connection whose
 * token is ours closes; a connection from elsewhere is dropped.
 */
async function socketPair(): Promise<[read: NetSocket, write: NetSocket]> {
  netModule ??= import('node:net');
  const net = await netModule;
  const token = randomBytes(16);
  let path: string;
  let cleanup = (): void => {};
  if (process.platform === 'linux') {
    path = `\0weft-subprocess-${process.pid}-${randomBytes(8).toString('hex')}`;
  } else {
    const dir = mkdtempSync(join(tmpdir(), 'weft-subprocess-'));
    path = join(dir, 's');
    cleanup = () => rmSync(dir, { recursive: true, force: true });
  }
  const server: Server = net.createServer();
  try {
    return await new Promise<[NetSocket, NetSocket]>((resolve, reject) => {
      let write: NetSocket | null = null;
      const fail = (e: unknown): void => {
        write?.destroy();
        reject(e);
      };
      server.on('error', fail);
      server.on('connection', (s: NetSocket) => {
        let got = Buffer.alloc(0);
        const onData = (chunk: Buffer): void => {
          got = Buffer.concat([got, chunk]);
          if (got.length < token.length) return;
          s.off('data', onData);
          s.pause();
          if (got.length === token.length && got.equals(token)) resolve([s, write as NetSocket]);
          else s.destroy();
        };
        s.on('data', onData);
        s.on('error', () => s.destroy());
      });
      server.listen(path, () => {
        write = net.connect(path);
        write.on('error', fail);
        write.write(token);
      });
    });
  } finally {
    server.close();
    cleanup();
  }
}

/**
 * Python's `asyncio.subprocess` module, for code that spells it so: `subprocess.PIPE`,
 * `subprocess.STDOUT`, `subprocess.DEVNULL`, `subprocess.Process`, and its two functions.
 */
export const subprocess = Object.freeze({
  PIPE,
  STDOUT,
  DEVNULL,
  Process,
  createSubprocessExec,
  createSubprocessShell,
});

/**
 * The keywords that Python's `asyncio.create_subprocess_exec`/`_shell` pass on to
 * `subprocess.Popen` beyond the stdio, `cwd` and `env`: `executable`, `startNewSession`,
 * `processGroup`, `passFds`, `closeFds`, `umask`, `user`, `group` and `extraGroups` — checked,
 * their user and group names resolved, and turned into what each spawn path takes.
 *
 * Implementation notes
 * --------------------
 *
 *   options ──► checkPopen (types, ranges: TypeError, RangeError) ──► resolvePopen (names → ids:
 *   KeyError for an unknown one) ──► Popen ──┬─► nativeAttrs: the spawn addon's block, keep and
 *                                            │   groups arrays (spawn.c does all of Popen's work)
 *                                            └─► nodeSpawnOptions: Node's `detached`, `uid`,
 *                                                `gid`, `argv0` and stdio slots for the kept fds
 *
 * Names are looked up as Python's `pwd.getpwnam` and `grp.getgrnam` do, through the system's
 * name service (the addon's `lookup`: NSS, so LDAP or systemd users too); without the addon,
 * in /etc/passwd and /etc/group, the "files" source, which is all JavaScript can read.
 *
 * Node's spawn (libuv) has no umask, no process group and no list of groups, and closes no
 * descriptor above 2 itself: what it cannot do is a RuntimeError there, not a silent difference
 * — except `closeFds`, whose point (nothing of this process's leaks into the child) holds for
 * every descriptor Node and libuv open, all close-on-exec; only one this process inherited
 * without FD_CLOEXEC reaches a child of Node's spawn.
 *
 * Cost: every spawn comes through here, nearly always with none of these keywords. Then no name
 * is looked up and resolvePopen answers at once, not with a promise (each await is a turn of
 * the microtask queue, with promise hooks where the context addon is not built), and the addon
 * gets no array beyond its block.
 */
import { fstatSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { getSystemErrorName } from 'node:util';
import { describeValue, RuntimeError } from '../internal/errors.js';
import type { SubprocessOptions } from './subprocess.js';
import { KeyError, OSError, spawnError } from './subprocess-errors.js';

export const POPEN_OPTION_NAMES = [
  'executable',
  'startNewSession',
  'processGroup',
  'passFds',
  'closeFds',
  'umask',
  'user',
  'group',
  'extraGroups',
] as const;

/** Popen's keywords, as `SubprocessOptions` takes them (subprocess.ts documents each). */
export type PopenOptions = Pick<SubprocessOptions, (typeof POPEN_OPTION_NAMES)[number]>;

/** The keywords checked and resolved; -1 (or null) where one was not asked for. */
export interface Popen {
  executable: string | null;
  startNewSession: boolean;
  processGroup: number;
  /** Sorted, without duplicates, each >= 3 (0..2 are the stdio's: nothing to keep). */
  passFds: number[];
  closeFds: boolean;
  umask: number;
  uid: number;
  gid: number;
  groups: number[] | null;
}

/** A user or group as given: a name to look up, or an id. */
type Who = string | number | null;

interface Checked extends Omit<Popen, 'uid' | 'gid' | 'groups'> {
  user: Who;
  group: Who;
  extraGroups: (string | number)[] | null;
}

/** The largest id: (uid_t)-1 is "unchanged" to setreuid(2), not a user. */
const MAX_ID = 0xffff_fffe;
const MAX_FD = 0x7fff_ffff;

/** A name's id: kind 0 a user's (getpwnam), 1 a group's (getgrnam); null for an unknown name,
 * a negative errno when the name service failed. */
export type Lookup = (kind: 0 | 1, name: string) => number | null | Promise<number | null>;

function isIterable(v: unknown): v is Iterable<unknown> {
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof (v as { [Symbol.iterator]?: unknown })[Symbol.iterator] === 'function'
  );
}

/** An integer option in [min, max], or `none` (-1) when absent or -1 (Python's own default). */
function intOption(what: string, name: string, v: unknown, max: number): number {
  if (v === undefined || v === null) return -1;
  if (typeof v !== 'number') {
    throw new TypeError(`${what}: option ${name} must be an integer: received ${describeValue(v)}`);
  }
  if (v === -1) return -1;
  if (!Number.isInteger(v) || v < 0 || v > max) {
    throw new RangeError(
      `${what}: option ${name} must be an integer from 0 to ${max} (or -1: none): received ${v}`,
    );
  }
  return v;
}

function boolOption(what: string, name: string, v: unknown, fallback: boolean): boolean {
  if (v === undefined) return fallback;
  if (typeof v !== 'boolean') {
    throw new TypeError(`${what}: option ${name} must be a boolean: received ${describeValue(v)}`);
  }
  return v;
}

function whoOption(what: string, name: string, v: unknown): Who {
  if (v === undefined || v === null) return null;
  if (typeof v === 'string') {
    if (v.includes('\0')) throw new RangeError(`${what}: option ${name} contains a null byte`);
    return v;
  }
  if (typeof v === 'number') {
    if (!Number.isInteger(v) || v < 0 || v > MAX_ID) {
      throw new RangeError(
        `${what}: option ${name} must be a name or an id from 0 to ${MAX_ID}: received ${v}`,
      );
    }
    return v;
  }
  throw new TypeError(
    `${what}: option ${name} must be a name or a numeric id: received ${describeValue(v)}`,
  );
}

/**
 * Checks the Popen keywords of `options` (their types and ranges, as Python's checks before the
 * fork). Names are resolved later, by `resolvePopen`.
 */
export function checkPopen(what: string, options: PopenOptions): Checked {
  let executable: string | null = null;
  const exe = options.executable;
  if (exe instanceof URL) executable = fileURLToPath(exe);
  else if (typeof exe === 'string') executable = exe;
  else if (exe !== undefined && exe !== null) {
    throw new TypeError(
      `${what}: option executable must be a path or a URL: received ${describeValue(exe)}`,
    );
  }
  if (executable?.includes('\0')) {
    throw new RangeError(`${what}: option executable contains a null byte`);
  }
  const passFds: number[] = [];
  const pf = options.passFds;
  if (pf !== undefined && pf !== null) {
    if (!isIterable(pf) || typeof pf === 'string') {
      throw new TypeError(
        `${what}: option passFds must be an array of file descriptors: received ${describeValue(pf)}`,
      );
    }
    for (const fd of pf) {
      if (typeof fd !== 'number') {
        throw new TypeError(
          `${what}: option passFds: a file descriptor must be an integer: received ${describeValue(fd)}`,
        );
      }
      if (!Number.isInteger(fd) || fd < 0 || fd > MAX_FD) {
        throw new RangeError(
          `${what}: option passFds: a file descriptor must be an integer from 0 to ${MAX_FD}: received ${fd}`,
        );
      }
      if (fd > 2) passFds.push(fd);
    }
  }
  const keep = passFds.length > 1 ? [...new Set(passFds)].sort((a, b) => a - b) : passFds;
  let closeFds = boolOption(what, 'closeFds', options.closeFds, true);
  if (!closeFds && keep.length > 0) {
    // Python: warnings.warn("pass_fds overriding close_fds.", RuntimeWarning), then True.
    process.emitWarning(`${what}: passFds overrides closeFds: false`, {
      type: 'RuntimeWarning',
      code: 'WEFT_SUBPROCESS_PASS_FDS',
    });
    closeFds = true;
  }
  let extraGroups: (string | number)[] | null = null;
  const eg = options.extraGroups;
  if (eg !== undefined && eg !== null) {
    if (!isIterable(eg) || typeof eg === 'string') {
      throw new TypeError(
        `${what}: option extraGroups must be an array of group names or ids: received ${describeValue(eg)}`,
      );
    }
    extraGroups = [...eg].map((g) => whoOption(what, 'extraGroups', g) as string | number);
  }
  return {
    executable,
    startNewSession: boolOption(what, 'startNewSession', options.startNewSession, false),
    processGroup: intOption(what, 'processGroup', options.processGroup, MAX_FD),
    passFds: keep,
    closeFds,
    umask: intOption(what, 'umask', options.umask, 0o777),
    user: whoOption(what, 'user', options.user),
    group: whoOption(what, 'group', options.group),
    extraGroups,
  };
}

/** /etc/passwd or /etc/group, read once per lookup (a few KiB): name -> id. */
async function filesLookup(kind: 0 | 1, name: string): Promise<number | null> {
  const text = await readFile(kind === 0 ? '/etc/passwd' : '/etc/group', 'utf8');
  for (const line of text.split('\n')) {
    const f = line.split(':');
    if (f[0] === name && f.length >= 3 && /^\d+$/.test(f[2] as string)) return Number(f[2]);
  }
  return null;
}

/**
 * The ids of the names in `c`, through `lookup` (the addon's NSS lookup), or the files when it
 * is null; the Popen itself, not a promise, when `c` names no user or group (ids only, or none).
 * @throws {KeyError} a name the system does not know (Python's message).
 */
export function resolvePopen(
  what: string,
  c: Checked,
  lookup: Lookup | null,
): Popen | Promise<Popen> {
  const { user, group, extraGroups } = c;
  if (
    typeof user !== 'string' &&
    typeof group !== 'string' &&
    (extraGroups === null || !extraGroups.some(isName))
  ) {
    return popenOf(c, user ?? -1, group ?? -1, extraGroups as number[] | null);
  }
  return resolveNames(what, c, lookup);
}

function isName(who: string | number): boolean {
  return typeof who === 'string';
}

function popenOf(c: Checked, uid: number, gid: number, groups: number[] | null): Popen {
  return {
    executable: c.executable,
    startNewSession: c.startNewSession,
    processGroup: c.processGroup,
    passFds: c.passFds,
    closeFds: c.closeFds,
    umask: c.umask,
    uid,
    gid,
    groups,
  };
}

/** The id of `who` (-1 for none), its name looked up through `lookup`, else in the files. */
async function idOf(
  what: string,
  lookup: Lookup | null,
  kind: 0 | 1,
  name: string,
  who: Who,
): Promise<number> {
  if (who === null) return -1;
  if (typeof who === 'number') return who;
  const id = await (lookup ?? filesLookup)(kind, who);
  if (id === null || id < 0) {
    if (id !== null) {
      // The name service failed (an NSS module's errno), not "no such name".
      const code = getSystemErrorName(id);
      throw new OSError(`${what}: option ${name}: looking up '${who}' failed: ${code}`, code);
    }
    const fn = kind === 0 ? 'getpwnam' : 'getgrnam';
    throw new KeyError(`${what}: option ${name}: ${fn}(): name not found: '${who}'`);
  }
  return id;
}

async function resolveNames(what: string, c: Checked, lookup: Lookup | null): Promise<Popen> {
  const groups =
    c.extraGroups === null
      ? null
      : await Promise.all(c.extraGroups.map((g) => idOf(what, lookup, 1, 'extraGroups', g)));
  const uid = await idOf(what, lookup, 0, 'user', c.user);
  const gid = await idOf(what, lookup, 1, 'group', c.group);
  return popenOf(c, uid, gid, groups);
}

// The block of spawn.c's spawn() (its table there): indices and FLAGS bits. Slots 0..2 hold
// the stdio specs (subprocess-native.ts writes them).
const ATTR_FLAGS = 3;
const ATTR_PGID = 4;
const ATTR_UMASK = 5;
const ATTR_UID = 6;
const ATTR_GID = 7;
/** Written by the addon when a spawn fails: which step (STAGE_*). */
export const ATTR_STAGE = 8;
/** The block's length (spawn.c's BLOCK_LEN). */
export const BLOCK_LEN = 9;
const SETSID = 1;
const SETPGROUP = 2;
const CLOSE_FDS = 4;
const UMASK = 8;
const SETUID = 16;
const SETGID = 32;
const SETGROUPS = 64;

/** A failed spawn's step (attrs[ATTR_STAGE]): the exec (Python names the program), the chdir
 * (names the cwd), another step of the child's set-up (names nothing). */
export const STAGE_EXEC = 0;
export const STAGE_CWD = 1;
export const STAGE_SETUP = 2;

/** What the addon's spawn takes for `p` beyond its block: arrays only where there is a list. */
export interface NativeLists {
  keep: Int32Array | undefined;
  groups: Uint32Array | undefined;
}

/** Writes `p`'s attributes into `block` (every slot: the block is reused); returns its lists. */
export function nativeAttrs(p: Popen, block: Int32Array): NativeLists {
  let flags = p.closeFds ? CLOSE_FDS : 0;
  if (p.startNewSession) flags |= SETSID;
  if (p.processGroup >= 0) flags |= SETPGROUP;
  if (p.umask >= 0) flags |= UMASK;
  if (p.uid >= 0) flags |= SETUID;
  if (p.gid >= 0) flags |= SETGID;
  if (p.groups !== null) flags |= SETGROUPS;
  block[ATTR_FLAGS] = flags;
  block[ATTR_PGID] = Math.max(p.processGroup, 0);
  block[ATTR_UMASK] = Math.max(p.umask, 0);
  block[ATTR_UID] = p.uid | 0; // the uint32's bits
  block[ATTR_GID] = p.gid | 0;
  return {
    keep: p.passFds.length > 0 ? Int32Array.from(p.passFds) : undefined,
    groups: p.groups !== null ? Uint32Array.from(p.groups) : undefined,
  };
}

/** What Node's `child_process.spawn` takes for `p`, beyond the stdio array's first three. */
export interface NodeSpawnOptions {
  detached?: boolean;
  uid?: number;
  gid?: number;
  /** The stdio entries from index 3 on: each kept descriptor at its own index. */
  extraStdio: ('ignore' | number)[];
}

/**
 * Node's spawn options for `p`. libuv has `detached` (setsid) and `uid`/`gid`, and puts a stdio
 * entry at the child's descriptor of its index (so a kept fd goes at its own number, the slots
 * before it 'ignore'd, which leaves them as they are). With `uid` or `gid` libuv also drops the
 * supplementary groups (setgroups(0)), where Python keeps them unless `extra_groups` is given.
 * @throws {RuntimeError} for what libuv cannot do: a process group, a umask, extra groups.
 * @throws {OSError} a kept descriptor that is not open ('EBADF', no filename, as Python's).
 */
export function nodeSpawnOptions(what: string, p: Popen): NodeSpawnOptions {
  const missing = (name: string, call: string): RuntimeError =>
    new RuntimeError(
      `${what}: option ${name} needs weft's spawn addon: this child is started by Node's child_process.spawn (no addon here, WEFT_NO_NATIVE=1, or a stdio target or cwd only it takes), which cannot call ${call} in it`,
      'ERR_WEFT_SUBPROCESS_UNSUPPORTED',
    );
  if (p.processGroup >= 0) throw missing('processGroup', 'setpgid()');
  if (p.umask >= 0) throw missing('umask', 'umask()');
  if (p.groups !== null) throw missing('extraGroups', 'setgroups()');
  // Each kept fd open before its stdio slot is made: the array runs up to the highest, so a
  // number no one holds (2**31 - 1) would grow it until the heap gives out; and one that only
  // the pipes Node's spawn makes next would take would hand the child our end of one.
  const extraStdio: ('ignore' | number)[] = [];
  for (const fd of p.passFds) {
    try {
      fstatSync(fd);
    } catch (e) {
      throw spawnError(e, null);
    }
    while (extraStdio.length < fd - 3) extraStdio.push('ignore');
    extraStdio.push(fd);
  }
  return {
    ...(p.startNewSession ? { detached: true } : {}),
    // Node takes an int32: the same bits for an id past 2^31, which libuv casts back.
    ...(p.uid >= 0 ? { uid: p.uid | 0 } : {}),
    ...(p.gid >= 0 ? { gid: p.gid | 0 } : {}),
    extraStdio,
  };
}

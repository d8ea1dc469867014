/**
 * The `.gz` sibling of a file (aiohttp 3.8's pre-compressed files: `x.gz` sent for `x` to a
 * client that takes gzip), and what is remembered of siblings that are not there.
 *
 * Most files have no sibling, and looking for one costs a round trip to libuv's thread pool per
 * request, paid by every gzip-accepting client (every browser) on a small static file that
 * has none. So a sibling found missing (ENOENT) is remembered for
 * `ABSENT_LIFETIME_MS`, with the identity of the file it belongs to (inode, size, mtime,
 * ctime), and within that time a request for the same unchanged file goes straight to the file:
 *
 * - a sibling that appears beside an unchanged file is sent from at most `ABSENT_LIFETIME_MS`
 *   later; until then the file itself goes out, which is a correct answer to the same request;
 * - a file that changed in any way its stat shows (rewritten, replaced, touched) has the next
 *   request look for its sibling again at once, so a deploy that writes `x.gz` before `x` is
 *   seen at once (the look that is remembered comes after the file's stat: see
 *   siblingAfterStat in file-response.ts). A same-size rewrite in place within one tick of
 *   the file system's coarse clock after the last change leaves no trace in the stat: its
 *   sibling waits out the lifetime, as one added beside an unchanged file;
 * - a sibling that is there is never remembered: it is opened per request (its descriptor is
 *   needed anyway), so one removed or replaced is seen at the next request;
 * - other failures (a directory, a symlink under a static route, no permission) are not
 *   remembered: they are rare, and the flags they depend on differ between callers.
 */
import type { BigIntStats } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';

/**
 * Tuning: how long a missing sibling is believed missing. It bounds how late a `.gz` added
 * beside an unchanged file is noticed; the cost it saves is one failed open per request, so
 * at the request rates where that cost shows (hundreds per second for one file) a second
 * already removes all but a handful of them.
 */
const ABSENT_LIFETIME_MS = 1000;

/**
 * Tuning: the most missing siblings remembered at once (some 300 bytes each with a 50-character
 * path: about 1.3 MB full); past it the oldest is forgotten, which costs that file one more
 * failed open.
 */
const ABSENT_LIMIT = 4096;

export interface Absent {
  /** The `now()` at which this is no longer believed. */
  until: number;
  ino: bigint;
  size: bigint;
  mtimeNs: bigint;
  ctimeNs: bigint;
}

/** Whether `st` is the file an entry was made for, unchanged. */
export function describes(e: Absent, st: BigIntStats): boolean {
  // ctime too: a file replaced by another with the same mtime and size (cp -p, rsync -t) still
  // gets a new ctime, which no one can set.
  return (
    e.ino === st.ino && e.size === st.size && e.mtimeNs === st.mtimeNs && e.ctimeNs === st.ctimeNs
  );
}

/**
 * @internal Siblings found missing, by path. Every entry lives as long, so the Map's insertion
 * order is the order in which they expire and the stale ones are dropped from its front.
 */
export class AbsentSiblings {
  private readonly entries = new Map<string, Absent>();
  /** The clock (milliseconds, monotonic); tests replace it to hold time still. */
  now: () => number = () => performance.now();

  constructor(
    private readonly lifetimeMs = ABSENT_LIFETIME_MS,
    private readonly limit = ABSENT_LIMIT,
  ) {}

  /**
   * What is remembered of `sibling` (still believed), or undefined. It holds for its file only
   * while `describes(entry, st)` says the file is the one it was.
   */
  get(sibling: string): Absent | undefined {
    const e = this.entries.get(sibling);
    if (e === undefined) return undefined;
    if (e.until > this.now()) return e;
    this.entries.delete(sibling);
    return undefined;
  }

  remember(sibling: string, st: BigIntStats): void {
    const now = this.now();
    this.entries.delete(sibling);
    for (const [k, e] of this.entries) {
      if (e.until > now && this.entries.size < this.limit) break;
      this.entries.delete(k);
    }
    this.entries.set(sibling, {
      until: now + this.lifetimeMs,
      ino: st.ino,
      size: st.size,
      mtimeNs: st.mtimeNs,
      ctimeNs: st.ctimeNs,
    });
  }

  /** @internal For tests: how many are remembered, stale ones included. */
  get size(): number {
    return this.entries.size;
  }
}

/** @internal The process's memory of missing siblings (one for every FileResponse). */
export const absentSiblings = new AbsentSiblings();

/** The sibling was not there (ENOENT). */
export const MISSING = 'missing';

/**
 * The open sibling at `path` when it is a regular file; MISSING when there is none; null when
 * there is something else (a directory, a FIFO, a symlink under O_NOFOLLOW, no permission),
 * which leaves the file itself to serve.
 */
export async function openSibling(
  path: string,
  flags: number,
): Promise<{ fh: FileHandle; st: BigIntStats } | typeof MISSING | null> {
  let fh: FileHandle;
  try {
    fh = await open(path, flags);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ENOENT' ? MISSING : null;
  }
  try {
    const st = await fh.stat({ bigint: true });
    if (st.isFile()) return { fh, st };
  } catch {
    // fall through: not a file to serve
  }
  await fh.close();
  return null;
}

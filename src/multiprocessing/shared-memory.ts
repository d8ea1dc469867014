/**
 * Python's `multiprocessing.shared_memory.SharedMemory`: a block of memory with a name, which any
 * process can attach to by that name and read and write in place, with no broker and no copy.
 * The block is a file in /dev/shm (POSIX shared memory, as Python's `shm_open`), mapped by the
 * shm addon (native/shm/shm.cc); `buf` is a `Uint8Array` over it, whose `buffer` is a
 * `SharedArrayBuffer`, so typed arrays of any width and `Atomics` work on it.
 *
 * Lifetime, as in Python: the block lives until some process calls `unlink()`; `close()` only
 * ends this handle's use of it. A block made in a weft program and never unlinked is removed
 * when the program's root process exits, with a warning, as Python's resource tracker removes
 * leaked segments at shutdown (each creation leaves a marker beside the lock slab for that).
 *
 * Differences from Python, all of Node's making: `close()` does not unmap the memory at once (a
 * `SharedArrayBuffer` over it may still be referenced anywhere in the thread): the addon unmaps
 * it when the collector has freed the last buffer over it, in any thread. And a `SharedMemory`
 * handle crossing to a child or a thread attaches there by name.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describeValue, RuntimeError } from '../internal/errors.js';
import { ENV_BROKER, ensureBroker } from '../internal/process/broker-client.js';
import { blockMarkerOf, shmAddon } from '../internal/process/lock-slab.js';
import { shipQueued } from '../internal/process/unshipped.js';
import { kShared, registerSharedKind, type SharedState } from '../internal/serialize.js';
import { FileExistsError, FileNotFoundError } from './errors.js';

export interface SharedMemoryOptions {
  /** The block's name (a file name in /dev/shm); with `create` and no name, a fresh one. */
  name?: string | null;
  /** Make a new block (`true`), or attach to the existing one named `name` (the default). */
  create?: boolean;
  /** Bytes of a new block (> 0). Ignored when attaching: the block has its own size. */
  size?: number;
}

/**
 * Names weft gives blocks made without one (Python's are `psm_` + 8 hex digits), here and in
 * SharedMemoryManager (shared-memory-manager.ts).
 * @internal
 */
export const BLOCK_PREFIX = 'wnsm_';
/** The addon maps at most 1 GiB. */
const MAX_BYTES = 1 << 30;

/** Where the block named `name` is (SharedMemoryManager's too). @internal */
export function pathOf(name: string): string {
  return join('/dev/shm', name);
}

export class SharedMemory {
  /** The block's name: what another process passes to attach to it. */
  readonly name: string;
  /** Its size in bytes. */
  readonly size: number;
  #buf: Uint8Array | null;
  /** Its file in /dev/shm. */
  readonly #path: string;

  constructor(options: SharedMemoryOptions = {}) {
    if (typeof options !== 'object' || options === null)
      throw new TypeError(
        `SharedMemory options must be an object: received ${describeValue(options)}`,
      );
    const { name = null, create = false, size = 0 } = options;
    if (name !== null && typeof name !== 'string')
      throw new TypeError(`SharedMemory name must be a string: received ${describeValue(name)}`);
    if (typeof create !== 'boolean')
      throw new TypeError(
        `SharedMemory create must be a boolean: received ${describeValue(create)}`,
      );
    // Python's checks: a size that is not a number is a TypeError, a negative one a ValueError,
    // whether making or attaching; attaching then ignores it (the block has its own size).
    if (typeof size !== 'number' || Number.isNaN(size))
      throw new TypeError(`SharedMemory size must be a number: received ${describeValue(size)}`);
    if (size < 0)
      throw new RangeError(`SharedMemory size must be >= 0: received ${describeValue(size)}`);
    if (name === null && !create)
      throw new RangeError("SharedMemory: 'name' can only be left out with create: true");
    // glibc's shm_open rule, which Python's names follow: leading slashes go, no other slash,
    // 1 to 255 characters, not '.' or '..'. `name` stays as given.
    const file = name?.replace(/^\/+/, '') ?? null;
    if (
      file !== null &&
      (file.length === 0 ||
        file.length > 255 ||
        file.includes('/') ||
        file.includes('\0') ||
        file === '.' ||
        file === '..')
    )
      throw new RangeError(
        `SharedMemory name must be a name of /dev/shm (1 to 255 characters after any leading '/', no other '/', not '.' or '..'): received ${describeValue(name)}`,
      );
    if (create && (!Number.isInteger(size) || size === 0))
      throw new RangeError(
        `SharedMemory size must be a positive whole number of bytes with create: true: received ${describeValue(size)}`,
      );
    if (create && size > MAX_BYTES)
      throw new RangeError(
        `SharedMemory size is at most 1 GiB (${MAX_BYTES} bytes): received ${describeValue(size)}`,
      );
    const addon = shmAddon();
    if (addon === null)
      throw new RuntimeError(
        'SharedMemory needs the shm addon (native/shm, built by npm install where a C++ compiler is) on Linux, and WEFT_NO_NATIVE unset',
        'ERR_WEFT_NO_SHM',
      );
    // Without a name (create only), a fresh one, its file made already (`freshName`).
    const made = name ?? freshName();
    const path = pathOf(file ?? made);
    this.name = made;
    this.#path = path;
    let sab: SharedArrayBuffer;
    if (create) {
      // Made exclusively here (Python's O_CREAT | O_EXCL), sized and mapped by the addon.
      if (name !== null) {
        try {
          closeSync(openSync(path, 'wx', 0o600));
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code === 'EEXIST')
            throw new FileExistsError(
              `SharedMemory: a block named '${made}' exists already: attach to it with { name: '${made}' }, or choose another name`,
            );
          throw e;
        }
      }
      try {
        sab = addon.map(path, size, true, false);
      } catch (e) {
        rmQuietly(path);
        throw mapError(e, `could not make a block of ${size} bytes in /dev/shm`);
      }
      this.size = size;
      // Python's resource tracker: a block never unlinked goes when the program ends. The marker
      // holds the block's file name (its own name is a digest: any name fits).
      try {
        writeFileSync(blockMarkerOf(ensureBroker(), path), path, { mode: 0o600 });
      } catch {
        // no marker: the block outlives the program, as it would with Python's track=False
      }
    } else {
      let bytes: number;
      try {
        bytes = statSync(path).size;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT')
          throw new FileNotFoundError(
            `SharedMemory: no block named '${made}' (never made, or unlinked): make it with { name: '${made}', create: true, size }`,
          );
        throw e;
      }
      if (bytes === 0)
        throw new RangeError(`SharedMemory: the block named '${made}' is empty: nothing to map`);
      if (bytes > MAX_BYTES)
        throw new RangeError(
          `SharedMemory: the block named '${made}' is over 1 GiB (${bytes} bytes)`,
        );
      try {
        sab = addon.map(path, bytes, false, false);
      } catch (e) {
        throw mapError(e, `could not attach to the block named '${made}'`);
      }
      this.size = bytes;
    }
    this.#buf = new Uint8Array(sab);
  }

  /**
   * The block's bytes, in place (Python's `buf`): a `Uint8Array` over a `SharedArrayBuffer`;
   * `new Float64Array(shm.buf.buffer)` views it by another type. A loop polling `shm.buf[i]`
   * still sends what this thread queued for the broker, about a millisecond in; one polling a
   * view kept aside does not (plain memory).
   * @throws RuntimeError after `close()` (Python's `buf` is then None).
   */
  get buf(): Uint8Array {
    if (this.#buf === null)
      throw new RuntimeError(
        `SharedMemory '${this.name}' is closed: attach again with { name: '${this.name}' }`,
        'ERR_WEFT_CLOSED',
      );
    shipQueued();
    return this.#buf;
  }

  /**
   * Ends this handle's use of the block (the block itself stays: see `unlink`). The pages are
   * unmapped once no buffer or view over them is left in the process (after the collector ran).
   * Idempotent.
   */
  close(): void {
    this.#buf = null;
  }

  /**
   * Removes the block's name, as Python's `unlink()`: no process can attach to it any more; the
   * memory goes once every process that mapped it has unmapped it (see `close`) or ended. Call
   * it once, from one process.
   * @throws FileNotFoundError when it was unlinked already.
   */
  unlink(): void {
    const path = this.#path;
    try {
      unlinkSync(path);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT')
        throw new FileNotFoundError(
          `SharedMemory: no block named '${this.name}' (unlinked already)`,
        );
      throw e;
    }
    const broker = process.env[ENV_BROKER];
    if (broker) rmQuietly(blockMarkerOf(broker, path));
  }

  toString(): string {
    return `SharedMemory('${this.name}', size=${this.size})`;
  }

  /** Crosses to a thread or a process as its name: attached there (Python pickles it so). */
  [kShared](): SharedState {
    return { kind: 'mp:SharedMemory', state: { name: this.name } };
  }
}

registerSharedKind(
  'mp:SharedMemory',
  (s) => new SharedMemory({ name: s.name as string }),
  import.meta.url,
);

/** A name no block has now (Python's `_make_filename`, with weft's prefix). */
function freshName(): string {
  for (;;) {
    const name = `${BLOCK_PREFIX}${randomBytes(4).toString('hex')}`;
    try {
      closeSync(openSync(pathOf(name), 'wx', 0o600));
      return name;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
  }
}

/**
 * The addon's failure to map a block, typed: the process's limit of mappings in use reached is
 * ERR_WEFT_SHM_LIMIT, anything else (no room in /dev/shm, a file changed under us)
 * ERR_WEFT_NO_SHM.
 */
function mapError(e: unknown, what: string): RuntimeError {
  const message = (e as Error).message;
  const limit = message.includes('map: limit:');
  return new RuntimeError(
    `SharedMemory: ${what}: ${message}${limit ? ' (a block’s pages are unmapped once no buffer or view over them is left: drop the buffers of closed blocks, or reuse blocks)' : ''}`,
    limit ? 'ERR_WEFT_SHM_LIMIT' : 'ERR_WEFT_NO_SHM',
  );
}

function rmQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // gone already
  }
}

/**
 * Starting a weft child process: the parent side of protocol.ts. A fork of bootstrap.ts with
 * the v8 serializer on its IPC channel (structured-clone semantics: Maps, typed arrays, Errors
 * survive); when the parent runs TypeScript the child gets its loader (tsx unless WEFT_TS_LOADER
 * names another, ../ts-loader.ts) through `--import`.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { DefaultSerializer } from 'node:v8';
import { isMainThread } from 'node:worker_threads';
import { identity } from '../../multiprocessing/process-identity.js';
import { codeUrls } from '../bundled.js';
import { processModules } from '../serialize.js';
import { findTsLoader, requireTsLoader, type TsLoader } from '../ts-loader.js';
import { ENV_BROKER, ensureBroker } from './broker-client.js';
import type { BootMessage } from './protocol.js';
import { ENV_DAEMON, ENV_EARLY_MODULES, ENV_FROM_THREAD, ENV_PARENT } from './protocol.js';

const TS = /\.(c|m)?tsx?$/;
const bootstrapUrl = new URL(
  `./bootstrap${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`,
  import.meta.url,
);
/** Listens on the child's channel before anything else loads (early-inbox.cjs). */
const earlyInboxPath = fileURLToPath(new URL('./early-inbox.cjs', import.meta.url));

/**
 * Throws what the IPC channel's serializer would for `v`: Node's `ChildProcessSerializer`
 * (lib/internal/child_process/serialization.js), which writes a host object that is not a
 * typed array as a copy of its own fields where v8.serialize refuses it.
 */
function probeChannel(v: unknown): void {
  // The host objects this serializer would deliver as empty objects (a Blob, a KeyObject) were
  // refused where `v` was encoded, with the `process` carrier: every sender to a child uses it.
  const s = new ChannelSerializer();
  s.writeHeader();
  s.writeValue(v);
}
// Node's hook for host objects, which @types/node does not declare.
const writeView = (DefaultSerializer.prototype as unknown as { _writeHostObject(o: object): void })
  ._writeHostObject;
class ChannelSerializer extends DefaultSerializer {
  _writeHostObject(object: object): void {
    if (ArrayBuffer.isView(object)) {
      this.writeUint32(0);
      writeView.call(this, object);
      return;
    }
    this.writeUint32(1);
    this.writeValue({ ...object });
  }
}

export interface ChildSpawnOptions {
  role: string;
  /** Any value the v8 serializer can carry. */
  payload: unknown;
  /** Module URLs the child will import (task modules): a .ts one needs the TypeScript loader. */
  modules?: string[];
  name: string;
  daemon: boolean;
  /** The child's `_identity`, when its name does not say it (BootMessage.ident). */
  ident?: number[] | null;
  /**
   * Parent descriptors duplicated into the child at fork, `fds[k]` as PASSED_FD_BASE + k
   * (fd-handoff.ts). The child holds them once the constructor returns.
   */
  fds?: readonly number[];
}

/**
 * A child process and its channel. Everything, the boot message first, is sent from the fork
 * on: the child listens from its first moment (early-inbox.cjs), so nothing waits for this
 * thread's event loop to hear from the child — a thread that parks right after `start()` (a
 * `getSync()`) has already handed its child what it runs.
 */
export class ChildHandle {
  readonly process: ChildProcess;

  constructor(o: ChildSpawnOptions) {
    const preload = processModules();
    const needsTs = [bootstrapUrl.href, o.role, ...preload, ...(o.modules ?? [])].some((u) =>
      TS.test(u),
    );
    // Before the loader: a --require runs synchronously before any loader or module of the child.
    const execArgv: string[] = ['--require', earlyInboxPath];
    // Found anyway: a child that meets a .ts module later (a pool's task submitted after its
    // start) registers it then, as a worker thread does.
    const loader = needsTs ? requireTsLoader('child process') : findTsLoader();
    if (needsTs) execArgv.push('--import', (loader as TsLoader).importFlag);
    const boot: BootMessage = {
      t: 'boot',
      role: o.role,
      payload: o.payload,
      daemon: o.daemon,
      parentPid: process.pid,
      name: o.name,
      parentName: identity().name,
      ...(o.ident ? { ident: o.ident } : {}),
      tsLoader: loader?.worker ?? null,
      tsLoaderOn: needsTs,
    };
    // A value the channel's serializer refuses (a function, a symbol, a SharedArrayBuffer) is
    // refused here, before anything is forked.
    try {
      probeChannel(boot);
    } catch (err) {
      throw new TypeError(
        `${o.name}: its start-up data cannot be sent to a child process (${(err as Error)?.message})`,
        { cause: err },
      );
    }
    this.process = fork(fileURLToPath(bootstrapUrl), [], {
      execArgv,
      serialization: 'advanced',
      // Slots 0-3 are stdio and the channel; fds[k] lands at PASSED_FD_BASE (4) + k.
      stdio: ['inherit', 'inherit', 'inherit', 'ipc', ...(o.fds ?? [])],
      env: {
        ...process.env,
        // The tree's one broker, decided before the fork: the child learns it only now.
        [ENV_BROKER]: ensureBroker(),
        [ENV_PARENT]: String(process.pid),
        [ENV_DAEMON]: o.daemon ? '1' : '0',
        // The child belongs to the process, not to the thread that forked it (bootstrap.ts).
        [ENV_FROM_THREAD]: isMainThread ? '0' : '1',
        [ENV_EARLY_MODULES]: JSON.stringify([...codeUrls(preload), o.role]),
        // early-inbox.cjs listens only where this is set (it takes it out of the environment).
        WEFT_EARLY_INBOX: '1',
      },
    });
    // Handed to the operating system now if the pipe has room (a boot message is small unless
    // its arguments are not): the child reads it whenever it starts listening.
    try {
      this.send(boot);
    } catch (err) {
      // Checked before (probeChannel); should it fail anyway, the child cannot start and its
      // owner learns why from 'error' and 'exit', not from a crash of this process.
      queueMicrotask(() => {
        if (this.process.listenerCount('error') > 0) this.process.emit('error', err);
      });
      this.process.kill('SIGKILL');
    }
  }

  /** Sends `m` to the child's role. @throws DataCloneError-like errors for uncloneable data. */
  send(m: unknown): void {
    if (this.process.connected) this.process.send(m as never);
  }

  /** Lets the parent exit while the child lives (the channel and the process handle). */
  unref(): void {
    this.process.unref();
    (this.process.channel as { unref?: () => void } | undefined)?.unref?.();
  }

  ref(): void {
    this.process.ref();
    (this.process.channel as { ref?: () => void } | undefined)?.ref?.();
  }
}

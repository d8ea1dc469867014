/**
 * `weft/multiprocessing` — Python's multiprocessing on Node child processes. Shared objects live
 * in a broker thread of the root process (see src/internal/process/broker.ts).
 */

export { registerUserErrorClass as registerErrorClass } from '../internal/serialize.js';
export { TaskReferenceError, task } from '../internal/task-ref.js';
export type { TypeCode } from '../threading/typecodes.js';
export { Array, type ItemViewOf, SharedArray, type UnlockedArray } from './array.js';
export { AsyncResult } from './async-result.js';
export { Barrier, type BarrierOptions } from './barrier.js';
export { BoundedSemaphore } from './bounded-semaphore.js';
export { Client, type ClientOptions } from './client.js';
export { Condition } from './condition.js';
export { Connection, Pipe, type RecvOptions } from './connection.js';
export type { ConnectionAddress } from './connection-address.js';
export {
  getAllStartMethods,
  getContext,
  getStartMethod,
  SpawnContext,
  type StartMethod,
  setStartMethod,
} from './context.js';
export { activeChildren, currentProcess, parentProcess } from './current-process.js';
export {
  AttributeError,
  AuthenticationError,
  BrokenBarrierError,
  BrokenPipeError,
  BufferTooShort,
  DeadlockError,
  Empty,
  EOFError,
  FileExistsError,
  FileNotFoundError,
  Full,
  IndexError,
  KeyError,
  OSError,
  ProcessError,
  RuntimeError,
  TimeoutError,
} from './errors.js';
export { Event } from './event.js';
export type { IMapIterator } from './imap-iterator.js';
export { JoinableQueue } from './joinable-queue.js';
export { type AcceptOptions, Listener, type ListenerOptions } from './listener.js';
export { type AcquireOptions, Lock } from './lock.js';
export { DictProxy, ListProxy, Manager, NamespaceProxy, SyncManager } from './manager.js';
export {
  type ApplyAsyncOptions,
  Pool,
  type PoolMapOptions,
  type PoolOptions,
} from './pool.js';
export { cpuCount, Process, type ProcessOptions } from './process.js';
export { type GetOptions, type PutOptions, Queue, type QueueOptions } from './queue.js';
export { RawArray, RawSharedArray } from './raw-array.js';
export { RawSharedValue, RawValue } from './raw-value.js';
export { RLock } from './rlock.js';
export { Semaphore } from './semaphore.js';
export {
  type ShareableItem,
  ShareableList,
  type ShareableListOptions,
} from './shareable-list.js';
export { SharedMemory, type SharedMemoryOptions } from './shared-memory.js';
export { SharedMemoryManager } from './shared-memory-manager.js';
export { copy, SynchronizedValue, synchronized } from './sharedctypes.js';
export { SimpleQueue } from './simple-queue.js';
export { type SharedOptions, SharedValue, type UnlockedValue, Value } from './value.js';
export { type Waitable, type WaitOptions, wait } from './wait.js';

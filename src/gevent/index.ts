export { sleepDirect as sleep } from '../asyncio/sleep.js';
export { type ErrorOrClass, GreenletExit, LoopExit, PoolFull } from './errors.js';
export {
  AsyncResult,
  type AsyncResultGetOptions,
  Event,
  type OutcomeSource,
  type RawLinkCallback,
} from './event.js';
export {
  type GetOptions,
  Greenlet,
  getcurrent,
  type KillOptions,
  type LinkCallback,
  spawn,
  spawnLater,
} from './greenlet.js';
export {
  type ApplyAsyncOptions,
  Group,
  GroupBase,
  type GroupJoinOptions,
} from './group.js';
export { type JoinallOptions, joinall } from './joinall.js';
export { killall } from './killall.js';
export { Pool, type PoolAddOptions, type PoolJoinOptions } from './pool.js';
export { Timeout, type TimeoutOptions } from './timeout.js';
export { iwait, type Waitable, type WaitObjectsOptions, wait } from './wait.js';

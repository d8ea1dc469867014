export { sleepDirect as sleep } from '../asyncio/sleep.js';
export { type ErrorOrClass, GreenletExit, LoopExit, PoolFull } from './errors.js';
export {
  type GetOptions,
  Greenlet,
  getcurrent,
  type KillOptions,
  type LinkCallback,
  spawn,
  spawnLater,
} from './greenlet.js';
export { type JoinallOptions, joinall } from './joinall.js';
export { killall } from './killall.js';
export { Pool, type PoolAddOptions, type PoolJoinOptions } from './pool.js';
export { Timeout, type TimeoutOptions } from './timeout.js';

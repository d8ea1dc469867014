/**
 * The package root re-exports each module as a namespace (`import { asyncio } from 'weft'`).
 * Importing a module itself (`weft/asyncio`) is the usual way: it loads only that module.
 */
export * as asyncio from './asyncio/index.js';
export * as futures from './futures/index.js';
export * as gevent from './gevent/index.js';
export * as multiprocessing from './multiprocessing/index.js';
export * as queue from './queue/index.js';
export * as selectors from './selectors/index.js';
export * as sendfile from './sendfile/index.js';
export * as socket from './socket/index.js';
export * as streams from './streams/index.js';
export * as threading from './threading/index.js';
export * as web from './web/index.js';

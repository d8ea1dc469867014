/**
 * `weft/multiprocessing` — Python's multiprocessing on Node child processes.
 */

export { TaskReferenceError, task } from '../internal/task-ref.js';
export { activeChildren, currentProcess, parentProcess } from './current-process.js';
export {
  BrokenBarrierError,
  Empty,
  Full,
  ProcessError,
  RuntimeError,
  TimeoutError,
} from './errors.js';
export { cpuCount, Process, type ProcessOptions } from './process.js';

/**
 * The worker side of protocol.ts: the first weft code a worker runs. It takes the role's payload
 * from weft's port, adopts the world and the shared buffers the parent knows, imports every
 * module that registers shared kinds (so that descriptors in the payload can be revived), then
 * hands over to the role module.
 */
import { receiveMessageOnPort } from 'node:worker_threads';
import { describeError } from '../errors.js';
import { adoptSnapshot } from '../shm/sab-registry.js';
// Imported for its effect: adopts the world from workerData before any lock is touched.
import '../shm/world.js';
import { adoptWeftPort, type BootData, postToParent } from './protocol.js';

export async function boot(data: BootData): Promise<void> {
  // Posted on: it must not keep the worker's event loop alive. A role that listens on it (a
  // pool's runner, which waits for work until told to stop) refs it again by listening.
  data.start.unref();
  adoptWeftPort(data.start);
  // The payload, before any module of the program's is imported: a thread that cannot start
  // runs none of its code.
  let taken: { message: unknown } | undefined;
  try {
    taken = receiveMessageOnPort(data.start);
  } catch (err) {
    // Cloned fine there, not readable here (nested deeper than this thread's stack can read, or
    // larger than its memory limits allow): the message is consumed, the role cannot run.
    postToParent({ type: 'startUnreadable', why: describeError(err) });
    process.exit(1);
  }
  // The parent posts it before the worker exists (spawn.ts): missing, it is weft's fault.
  if (taken === undefined) throw new Error('weft worker: its start message was not there');
  adoptSnapshot(data.sabs);
  for (const url of data.preload) await import(url);
  const role = (await import(data.role)) as { main(payload: unknown): Promise<void> };
  await role.main(taken.message);
}

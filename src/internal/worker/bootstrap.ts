/**
 * The worker side of protocol.ts: the first weft code a worker runs. It adopts the world and the
 * shared buffers the parent knows, imports every module that registers shared kinds (so that
 * descriptors in the payload can be revived), then hands over to the role module.
 */
import { adoptSnapshot } from '../shm/sab-registry.js';
// Imported for its effect: adopts the world from workerData before any lock is touched.
import '../shm/world.js';
import type { BootData } from './protocol.js';

export async function boot(data: BootData): Promise<void> {
  adoptSnapshot(data.sabs);
  for (const url of data.preload) await import(url);
  const role = (await import(data.role)) as { main(payload: unknown): Promise<void> };
  await role.main(data.payload);
}

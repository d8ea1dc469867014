/** The broker's worker thread (role module): listens on the path it is given, says so, serves. */
import { postToParent } from '../worker/protocol.js';
import { startBroker } from './broker.js';

export async function main(payload: unknown): Promise<void> {
  const { path } = payload as { path: string };
  await startBroker(path);
  // On weft's port, never on parentPort (worker/protocol.ts).
  postToParent({ type: 'result', value: 'listening' });
}

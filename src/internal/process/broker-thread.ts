/** The broker's worker thread (role module): listens on the path it is given, says so, serves. */
import { parentPort } from 'node:worker_threads';
import type { WorkerMessage } from '../worker/protocol.js';
import { startBroker } from './broker.js';

export async function main(payload: unknown): Promise<void> {
  const { path } = payload as { path: string };
  await startBroker(path);
  parentPort?.postMessage({ type: 'result', value: 'listening' } satisfies WorkerMessage);
}

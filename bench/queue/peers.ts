/**
 * The Node peers of the queue benchmark, as plain-JavaScript workers (no loader, no weft):
 * postMessage streaming over a MessageChannel, and a raw SharedArrayBuffer ring of Int32 —
 * single producer, single consumer, publishing every item with one Atomics.store: the physical
 * limit of moving an item between two threads on this machine.
 *
 * Both use the round protocol of ../threading/control.ts (GEN, N, DONE, STOP).
 */
import { MessageChannel, Worker } from 'node:worker_threads';

const ROUNDS = `
const { workerData } = require('node:worker_threads');
const ctl = workerData.ctl;
function serve(round) {
  let seen = 0;
  for (;;) {
    Atomics.wait(ctl, 0, seen);
    seen = Atomics.load(ctl, 0);
    if (Atomics.load(ctl, 3) === 1) return;
    round(Atomics.load(ctl, 1));
    Atomics.add(ctl, 2, 1);
    Atomics.notify(ctl, 2);
  }
}
`;

const POST_PRODUCER = `${ROUNDS}
const port = workerData.port;
const item = workerData.item === 'int' ? null : 'x'.repeat(1024);
serve((n) => { if (item === null) for (let i = 0; i < n; i++) port.postMessage(i); else for (let i = 0; i < n; i++) port.postMessage(item); });
port.close();
`;

// The consumer needs its event loop to receive: it counts instead of waiting for GEN.
const POST_CONSUMER = `
const { workerData } = require('node:worker_threads');
const ctl = workerData.ctl;
const port = workerData.port;
let got = 0;
port.on('message', () => {
  if (++got === Atomics.load(ctl, 1)) { got = 0; Atomics.add(ctl, 2, 1); Atomics.notify(ctl, 2); }
});
const stop = setInterval(() => { if (Atomics.load(ctl, 3) === 1) { clearInterval(stop); port.close(); } }, 20);
`;

// Ring: | 0 head | 16 tail | 32 consumer parked | data from word 64 |
const RING = `
const ring = workerData.ring;
const CAP = workerData.cap;
`;
const RING_PRODUCER = `${ROUNDS}${RING}
serve((n) => {
  let tail = Atomics.load(ring, 16);
  for (let i = 0; i < n; i++) {
    while (tail - Atomics.load(ring, 0) >= CAP) Atomics.wait(ring, 0, Atomics.load(ring, 0), 1);
    ring[64 + (tail & (CAP - 1))] = i;
    Atomics.store(ring, 16, ++tail);
    if (Atomics.load(ring, 32) !== 0) Atomics.notify(ring, 16);
  }
});
`;
const RING_CONSUMER = `${ROUNDS}${RING}
serve((n) => {
  let head = Atomics.load(ring, 0);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    let tail;
    while ((tail = Atomics.load(ring, 16)) === head) {
      Atomics.store(ring, 32, 1);
      if (Atomics.load(ring, 16) === head) Atomics.wait(ring, 16, head, 1);
      Atomics.store(ring, 32, 0);
    }
    sum += ring[64 + (head & (CAP - 1))];
    Atomics.store(ring, 0, ++head);
  }
  return sum;
});
`;

export interface PeerPair {
  ctl: Int32Array;
  workers: Worker[];
  /** Workers that report DONE per round. */
  reporting: number;
}

export function postMessagePair(ctl: Int32Array, item: 'int' | 'kib'): PeerPair {
  const { port1, port2 } = new MessageChannel();
  const p = new Worker(POST_PRODUCER, {
    eval: true,
    workerData: { ctl, port: port1, item },
    transferList: [port1],
  });
  const c = new Worker(POST_CONSUMER, {
    eval: true,
    workerData: { ctl, port: port2 },
    transferList: [port2],
  });
  return { ctl, workers: [p, c], reporting: 2 };
}

export function ringPair(ctl: Int32Array, cap = 1024): PeerPair {
  const ring = new Int32Array(new SharedArrayBuffer((64 + cap) * 4));
  const p = new Worker(RING_PRODUCER, { eval: true, workerData: { ctl, ring, cap } });
  const c = new Worker(RING_CONSUMER, { eval: true, workerData: { ctl, ring, cap } });
  return { ctl, workers: [p, c], reporting: 2 };
}

export async function closePair(pair: PeerPair): Promise<void> {
  Atomics.store(pair.ctl, 3, 1);
  Atomics.add(pair.ctl, 0, 1);
  Atomics.notify(pair.ctl, 0);
  await Promise.all(pair.workers.map((w) => new Promise((r) => w.once('exit', r))));
}

/** Child-process targets of the multiprocessing benches (marked so children find them). */
import {
  type Event,
  type JoinableQueue,
  type Lock,
  type Queue,
  type SimpleQueue,
  task,
} from 'weft/multiprocessing';

export const producer = task(
  import.meta,
  async (q: Queue, go: Event, n: number, kind: 'int' | 'bytes') => {
    const payload = new Uint8Array(1024).fill(120);
    await go.wait();
    if (kind === 'int') for (let i = 0; i < n; i++) q.putNowait(i);
    else for (let i = 0; i < n; i++) q.putNowait(payload);
    await q.joinThread();
  },
);

export const consumer = task(
  import.meta,
  async (q: Queue, done: SimpleQueue<number>, n: number) => {
    for (let i = 0; i < n; i++) await q.get();
    await done.put(n);
  },
);

export const joinableConsumer = task(import.meta, async (q: JoinableQueue<number | null>) => {
  for (;;) {
    const x = await q.get();
    q.taskDone();
    if (x === null) return;
  }
});

export const hello = task(import.meta, async (q: SimpleQueue<number>) => {
  await q.put(process.pid);
});

/** One of two contending processes: `n` × (acquire → release) once `go` is set. */
export const lockWorker = task(
  import.meta,
  async (lock: Lock, go: Event, n: number, sync: boolean) => {
    await go.wait();
    for (let i = 0; i < n; i++) {
      if (sync) lock.acquireSync();
      else await lock.acquire();
      lock.release();
    }
  },
);

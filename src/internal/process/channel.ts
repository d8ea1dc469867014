/**
 * The child side of the IPC channel: one listener on `process`, attached as soon as the child
 * starts, that buffers messages until the role (or multiprocessing's runtime) takes over. Node
 * drops a message that arrives while nobody listens; this keeps none from being lost.
 */
type Handler = (m: unknown) => void;

let handler: Handler | null = null;
const early: unknown[] = [];
let bootHandler: Handler | null = null;

if (typeof process.send === 'function') {
  process.on('message', (m: unknown) => {
    if (bootHandler !== null && (m as { t?: unknown })?.t === 'boot') {
      const b = bootHandler;
      bootHandler = null;
      b(m);
      return;
    }
    if (handler !== null) handler(m);
    else early.push(m);
  });
}

/** @internal The bootstrap's own hook for the boot message. */
export function onBoot(fn: Handler): void {
  bootHandler = fn;
}

/** Receives every later message from the parent, starting with any that arrived early. */
export function onParentMessage(fn: Handler): void {
  handler = fn;
  for (const m of early.splice(0)) fn(m);
}

/** Sends to the parent; resolves once the message was handed to the operating system. */
export function sendToParent(m: unknown): Promise<void> {
  return new Promise((resolve, reject) => {
    if (typeof process.send !== 'function' || !process.connected) {
      reject(new Error('The parent process is gone: its IPC channel is closed'));
      return;
    }
    process.send(m, undefined, {}, (err) => (err ? reject(err) : resolve()));
  });
}

/** Sends without waiting (the hot path); a closed channel drops the message. */
export function postToParent(m: unknown): void {
  if (typeof process.send === 'function' && process.connected) process.send(m);
}

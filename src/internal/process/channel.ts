/**
 * The child side of the IPC channel: one listener on `process`, attached as soon as the child
 * starts, that buffers messages until the role (or multiprocessing's runtime) takes over. Node
 * drops a message that arrives while nobody listens; this keeps none from being lost.
 */
type Handler = (m: unknown) => void;

let handler: Handler | null = null;
const early: unknown[] = [];
let bootHandler: Handler | null = null;
/** The boot message (the first of its kind); kept until the bootstrap asks for it. */
let boot: { m: unknown } | null = null;
let booted = false;

function dispatch(m: unknown): void {
  if (boot === null && (m as { t?: unknown })?.t === 'boot') {
    boot = { m };
    if (bootHandler !== null) deliverBoot(bootHandler);
    return;
  }
  if (handler !== null) handler(m);
  else early.push(m);
}

if (typeof process.send === 'function') {
  // early-inbox.cjs listened from the child's first moment; it hands over here, in the same
  // synchronous step as this listener starts, so no message falls between the two.
  const inbox = (globalThis as { [k: symbol]: { take(): unknown[] } | undefined })[
    Symbol.for('weft.earlyInbox')
  ];
  const before = inbox?.take() ?? [];
  process.on('message', dispatch);
  for (const m of before) dispatch(m);
}

/** @internal The bootstrap's own hook for the boot message (at once if it came already). */
export function onBoot(fn: Handler): void {
  if (boot !== null) deliverBoot(fn);
  else bootHandler = fn;
}

function deliverBoot(fn: Handler): void {
  if (booted || boot === null) return;
  booted = true;
  bootHandler = null;
  fn(boot.m);
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

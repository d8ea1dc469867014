/**
 * The client's `timeout.sockRead` (aiohttp's `ClientTimeout.sock_read`): the longest the
 * server may stay silent while the client waits for it, enforced per request with a timer of
 * weft's own around undici's handler.
 *
 * Implementation notes
 * --------------------
 * undici's `headersTimeout`/`bodyTimeout` run on its coarse shared clock (ticks of about a
 * second), so a sockRead of 100 ms fired after ~1 s; they are switched off and this wrapper
 * sits between undici's core and the `RequestHandler` of its `request()` API instead, seeing
 * every event of the exchange:
 *
 *   onConnect ─► onRequestSent ─► onHeaders (1xx…) ─► onHeaders ─► onData … ─► onComplete
 *   (silent)     arm              re-arm               re-arm         re-arm      disarm
 *                                                                 onData → false: disarm
 *                                                                 resume after it: arm
 *
 * As in aiohttp, the wait starts once the request has been written (a slow upload is not a
 * silent server), every response event restarts it, and it is off while the reader is paused
 * for back pressure: a caller that does not read is not the server's fault. `resume` is also
 * called on every read of the body stream; only one that ends a pause re-arms, or a caller's
 * reads would extend the server's time. On expiry the request is aborted with
 * `SockReadTimeout`, which the session maps to `ServerTimeoutError` (the headers promise or the
 * body stream fails with it).
 *
 * The hooks used are undici's handler interface as its own `request()` implements it
 * (`onConnect`/`onHeaders`/`onData`/…, plus `onRequestSent`, which undici's core calls on any
 * handler that has it).
 */
import type { Dispatcher } from 'undici';

/** The abort reason of a request whose server stayed silent past `sockRead`. */
export class SockReadTimeout extends Error {
  constructor(ms: number) {
    super(`No data from the server for ${ms} ms`);
    this.name = 'SockReadTimeout';
  }
}

/** undici's handler interface as `request()`'s RequestHandler implements it. */
interface Handler {
  onConnect(abort: (err?: Error) => void, context?: unknown): void;
  onHeaders(statusCode: number, headers: Buffer[], resume: () => void, text: string): boolean;
  onData(chunk: Buffer): boolean;
  onComplete(trailers: string[] | null): void;
  onError(err: Error): void;
  onRequestSent?(): void;
  onBodySent?(chunk: unknown): void;
  onResponseStarted?(): void;
}

type Phase = 'sending' | 'waiting' | 'done';

class SockReadTimer implements Handler {
  private phase: Phase = 'sending';
  private paused = false;
  private timer: NodeJS.Timeout | null = null;
  private abort: ((err?: Error) => void) | null = null;

  constructor(
    private readonly inner: Handler,
    private readonly ms: number,
  ) {
    if (inner.onBodySent) this.onBodySent = (chunk) => inner.onBodySent?.(chunk);
    if (inner.onResponseStarted) this.onResponseStarted = () => inner.onResponseStarted?.();
  }

  onBodySent?: (chunk: unknown) => void;
  onResponseStarted?: () => void;

  onConnect(abort: (err?: Error) => void, context?: unknown): void {
    // A request retried on another connection starts over.
    this.disarm();
    this.phase = 'sending';
    this.paused = false;
    this.abort = abort;
    this.inner.onConnect(abort, context);
  }

  onRequestSent(): void {
    if (this.phase === 'sending') {
      this.phase = 'waiting';
      this.arm();
    }
    this.inner.onRequestSent?.();
  }

  onHeaders(statusCode: number, headers: Buffer[], resume: () => void, text: string): boolean {
    // A response may start before the request is fully written (an early 413): it counts.
    this.phase = 'waiting';
    this.arm();
    const watched = (): void => {
      if (this.paused && this.phase === 'waiting') {
        this.paused = false;
        this.arm();
      }
      resume();
    };
    const r = this.inner.onHeaders(statusCode, headers, watched, text);
    if (r === false) this.pause();
    return r;
  }

  onData(chunk: Buffer): boolean {
    this.paused = false;
    this.arm();
    const more = this.inner.onData(chunk);
    if (more === false) this.pause();
    return more;
  }

  onComplete(trailers: string[] | null): void {
    this.finish();
    this.inner.onComplete(trailers);
  }

  onError(err: Error): void {
    this.finish();
    this.inner.onError(err);
  }

  private pause(): void {
    this.paused = true;
    this.disarm();
  }

  private arm(): void {
    if (this.phase !== 'waiting') return;
    if (this.timer !== null) {
      this.timer.refresh();
      return;
    }
    this.timer = setTimeout(() => {
      this.timer = null;
      this.abort?.(new SockReadTimeout(this.ms));
    }, this.ms);
  }

  private disarm(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  private finish(): void {
    this.phase = 'done';
    this.disarm();
  }
}

/**
 * `dispatcher` as seen by undici's `request()` API with every request's handler watched for
 * `ms` of server silence. The API calls only `dispatch` on its receiver (undici's own
 * `compose()` relies on the same), so the view inherits everything else.
 */
export function withSockRead(dispatcher: Dispatcher, ms: number): Dispatcher {
  const dispatch = (opts: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler) =>
    dispatcher.dispatch(
      opts,
      new SockReadTimer(handler as unknown as Handler, ms) as unknown as Dispatcher.DispatchHandler,
    );
  return Object.create(dispatcher, { dispatch: { value: dispatch } }) as Dispatcher;
}

/**
 * TCPSite: one listening address of an AppRunner (aiohttp's `web.TCPSite`).
 */
import type { Server } from 'node:http';
import { installedRunningLoop } from '../asyncio/event-loop.js';
import { handleClosed, handleOpened } from '../internal/live-handles.js';
import { closeWithLoop } from '../streams/protocol.js';
import type { AppRunner } from './app-runner.js';
import { closeAllSockets, createHttpServer } from './http-server.js';

export interface TCPSiteOptions {
  /** Pending-connection queue length (default 1024). */
  backlog?: number;
}

/**
 * Listens on `host:port` for the runner's application. `port` 0 picks a free port (read it
 * from `site.port` after `start()`). `host` defaults to `127.0.0.1`: unlike aiohttp, weft does
 * not listen on every interface unless asked (`'0.0.0.0'`, `'::'`).
 */
export class TCPSite {
  readonly runner: AppRunner;
  readonly host: string;
  private readonly requestedPort: number;
  private readonly backlog: number;
  private server: Server | null = null;

  constructor(runner: AppRunner, host = '127.0.0.1', port = 8080, options: TCPSiteOptions = {}) {
    if (typeof host !== 'string' || host === '') {
      throw new TypeError(`TCPSite host must be a non-empty string: received ${String(host)}`);
    }
    if (!Number.isInteger(port) || port < 0 || port > 65535) {
      throw new RangeError(`TCPSite port must be an integer from 0 to 65535: received ${port}`);
    }
    this.runner = runner;
    this.host = host;
    this.requestedPort = port;
    this.backlog = options.backlog ?? 1024;
  }

  /** The port listened on (the chosen one when 0 was asked), or the requested one before start. */
  get port(): number {
    const a = this.server?.address();
    return a && typeof a === 'object' ? a.port : this.requestedPort;
  }

  /** `http://host:port` */
  get name(): string {
    const h = this.host.includes(':') ? `[${this.host}]` : this.host;
    return `http://${h}:${this.port}`;
  }

  /** Starts listening. @throws the listen error (`EADDRINUSE`, `EACCES`). */
  async start(): Promise<void> {
    this.runner._checkReady();
    if (this.server !== null) throw new Error('This site was already started');
    const server = createHttpServer(this.runner, this.runner._options);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: this.host, port: this.requestedPort, backlog: this.backlog }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
    // Started inside run() and not cleaned up when it ends: closed with its loop, every
    // connection with it, as aiohttp's process ends after asyncio.run() (its server is never
    // served again). Taken off once the server closes on its own (cleanup(), stop()).
    closeWithLoop(installedRunningLoop(), server, () => {
      server.close();
      closeAllSockets(server);
    });
    handleOpened('web-site');
    this.runner._servers.set(
      server,
      new Promise<void>((resolve) =>
        server.once('close', () => {
          handleClosed('web-site');
          resolve();
        }),
      ),
    );
  }

  /**
   * Stops accepting connections on this address; idle connections close, busy ones finish
   * their request (the runner's `cleanup` closes what is left).
   */
  async stop(): Promise<void> {
    const s = this.server;
    if (s === null || !s.listening) return;
    s.close();
    s.closeIdleConnections();
  }
}

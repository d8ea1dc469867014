/**
 * Lesson 46: zero-copy `sendfile` — a file goes from the page cache to the socket without
 * passing through JavaScript.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sendfile } from 'weft/sendfile';
import { createConnection, createServer, type Socket } from 'weft/socket';
import { defineLesson, runIfMain } from './lesson.js';

/** What one way of sending the file took: wall time, and the process's CPU time over it. */
interface Transfer {
  sent: number;
  received: number;
  ms: number;
  cpuMs: number;
}

/** Sends the file over a fresh local connection with `send`; the receiver counts the bytes. */
async function transfer(send: (sock: Socket) => Promise<number>): Promise<Transfer> {
  using srv = await createServer(['127.0.0.1', 0]);
  const [, port] = srv.getsockname() as [string, number];
  const receiver = (async () => {
    const [conn] = await srv.accept();
    using _ = conn;
    let total = 0;
    for (let d = await conn.recv(1 << 20); d.length > 0; d = await conn.recv(1 << 20)) {
      total += d.length;
    }
    return total;
  })();
  using sock = await createConnection(['127.0.0.1', port]);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const sent = await send(sock);
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  sock.close();
  return { sent, received: await receiver, ms, cpuMs: (cpu.user + cpu.system) / 1000 };
}

/** The classic loop: read a chunk into a buffer of ours, write it out, again. */
async function copyLoop(sock: Socket, path: string): Promise<number> {
  await using file = await open(path);
  const buf = Buffer.allocUnsafe(1 << 20);
  let sent = 0;
  for (;;) {
    const { bytesRead } = await file.read(buf, 0, buf.length, null);
    if (bytesRead === 0) return sent;
    await sock.sendall(buf.subarray(0, bytesRead));
    sent += bytesRead;
  }
}

const lesson = defineLesson({
  title: 'sendfile: a file to a socket with no copy through user space',
  shows:
    'A read/write loop copies every byte twice (kernel to user, user to kernel) and crosses ' +
    "into the kernel for each chunk; sendfile(2) moves the file's pages straight to the socket. " +
    'Both send the same file here, side by side. sendfile.native tells whether the kernel path ' +
    'is in use (else weft copies).',
  module: 'sendfile',
  async main({ quick, log }) {
    const dir = mkdtempSync(join(tmpdir(), 'weft-lesson-'));
    const path = join(dir, 'payload.bin');
    const size = (quick ? 16 : 256) * 1024 * 1024;
    writeFileSync(path, Buffer.alloc(size, 'weft'));
    try {
      log(`sendfile.native = ${sendfile.native}`);
      // The file is in the page cache for both (it was just written): neither reads the disk.
      const loop = await transfer((sock) => copyLoop(sock, path));
      const zero = await transfer((sock) => sendfile(sock, path));
      const line = (label: string, t: Transfer) =>
        `${label.padEnd(16)} sent ${t.sent} bytes, received ${t.received}, in ${t.ms.toFixed(0)} ms; process CPU ${t.cpuMs.toFixed(0)} ms`;
      log(line('read/write loop:', loop));
      log(line('sendfile:', zero));
      log('(The receiver runs in this process too: its share of the CPU is in both figures.)');
      const ratio = zero.cpuMs / loop.cpuMs;
      log(
        ratio < 1
          ? `sendfile used ${(ratio * 100).toFixed(0)}% of the CPU time the copy loop used.`
          : `sendfile used no less CPU than the copy loop here (${(ratio * 100).toFixed(0)}%)${sendfile.native ? '' : ': without the native addon it copies too'}.`,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
});
export default lesson;

await runIfMain(import.meta, lesson);

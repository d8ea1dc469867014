/**
 * Lesson 46: zero-copy `sendfile` — a file goes from the page cache to the socket without
 * passing through JavaScript.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sendfile } from 'weft/sendfile';
import { createConnection, createServer } from 'weft/socket';
import { defineLesson, runIfMain } from './lesson.js';

const lesson = defineLesson({
  title: 'sendfile: a file to a socket with no copy through user space',
  shows:
    'A read/write loop copies every byte twice (kernel to user, user to kernel) and crosses ' +
    "into the kernel for each chunk; sendfile(2) moves the file's pages straight to the socket. " +
    'sendfile.native tells whether the kernel path is in use (else weft copies).',
  module: 'sendfile',
  async main({ quick, log }) {
    const dir = mkdtempSync(join(tmpdir(), 'weft-lesson-'));
    const path = join(dir, 'payload.bin');
    const size = (quick ? 16 : 256) * 1024 * 1024;
    writeFileSync(path, Buffer.alloc(size, 'weft'));
    try {
      log(`sendfile.native = ${sendfile.native}`);
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
      const sent = await sendfile(sock, path);
      const ms = performance.now() - t0;
      const cpu = process.cpuUsage(cpu0);
      sock.close();
      const received = await receiver;
      log(`sent ${sent} bytes, received ${received}, in ${ms.toFixed(0)} ms`);
      log(
        `process CPU during the send (receiver included, same process): ${((cpu.user + cpu.system) / 1000).toFixed(0)} ms`,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
});
export default lesson;

await runIfMain(import.meta, lesson);

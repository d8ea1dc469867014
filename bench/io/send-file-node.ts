/**
 * A sender process for bench/io/sendfile.bench.ts: sends FILE to 127.0.0.1:PORT with one of
 * Node's or weft's ways and prints one JSON line like ../shared/peers/zerocopy/send_py.py:
 * {"sender", "bytes", "seconds", "cpu_user_s", "cpu_sys_s"} (this process's CPU around the
 * transfer, connect to close).
 *
 *   node --import tsx bench/io/send-file-node.ts PORT FILE weft|weft-copy|node-pipeline|node-pipe
 */
import { createReadStream } from 'node:fs';
import { connect } from 'node:net';
import { pipeline } from 'node:stream/promises';
import { _forceCopyLoop, sendfile } from '../../src/sendfile/sendfile.js';

const [portArg, path, mode] = process.argv.slice(2);
if (!portArg || !path || !mode) {
  process.stderr.write('usage: send-file-node.ts PORT FILE MODE\n');
  process.exit(1);
}
const cpu0 = process.cpuUsage();
const t0 = performance.now();
const sock = connect({ host: '127.0.0.1', port: Number(portArg) });
await new Promise<void>((resolve, reject) => {
  sock.once('connect', resolve);
  sock.once('error', reject);
});
let bytes = 0;
switch (mode) {
  case 'weft':
  case 'weft-copy':
    _forceCopyLoop(mode === 'weft-copy');
    if (mode === 'weft' && !sendfile.native) {
      process.stderr.write('the sendfile addon is not built\n');
      process.exit(2);
    }
    bytes = await sendfile(sock, path);
    sock.end();
    break;
  case 'node-pipeline':
    await pipeline(createReadStream(path), sock);
    bytes = sock.bytesWritten;
    break;
  case 'node-pipe': {
    const rs = createReadStream(path);
    rs.pipe(sock);
    await new Promise<void>((resolve, reject) => {
      sock.once('finish', resolve);
      sock.once('error', reject);
    });
    bytes = sock.bytesWritten;
    break;
  }
  default:
    process.stderr.write(`unknown mode ${mode}\n`);
    process.exit(1);
}
await new Promise<void>((resolve) => {
  if (sock.closed) resolve();
  else sock.once('close', () => resolve());
});
const seconds = (performance.now() - t0) / 1000;
const cpu = process.cpuUsage(cpu0);
process.stdout.write(
  `${JSON.stringify({ sender: mode, bytes, seconds, cpu_user_s: cpu.user / 1e6, cpu_sys_s: cpu.system / 1e6 })}\n`,
);

/**
 * weft's side of ws.bench.ts: one WebSocket to the echo server, `sendStr` then `receive`, one
 * message in flight, for `seconds` after a warm-up; prints one JSON line (round trips, seconds,
 * this process's CPU seconds).
 * Usage: node --import tsx ws-client.ts <port> <seconds> <bytes>
 */
import { ClientSession } from '../../src/web/index.js';

const [port, seconds, bytes] = process.argv.slice(2).map(Number) as [number, number, number];
const msg = 'x'.repeat(bytes);
await using session = new ClientSession();
await using ws = await session.wsConnect(`http://127.0.0.1:${port}/`);
const roundTrip = async (): Promise<void> => {
  await ws.sendStr(msg);
  const m = await ws.receive();
  if (m.type !== 'text' || m.data.length !== bytes) throw new Error(`bad echo: ${m.type}`);
};
for (let i = 0; i < 2000; i++) await roundTrip();
const cpu0 = process.cpuUsage();
const t0 = performance.now();
const end = t0 + seconds * 1000;
let n = 0;
while (performance.now() < end) {
  for (let i = 0; i < 100; i++) await roundTrip();
  n += 100;
}
const elapsed = (performance.now() - t0) / 1000;
const cpu = process.cpuUsage(cpu0);
console.log(JSON.stringify({ n, seconds: elapsed, cpu: (cpu.user + cpu.system) / 1e6 }));

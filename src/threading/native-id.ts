import { readlinkSync } from 'node:fs';

/** The operating system's id of the calling thread (Linux: from /proc; elsewhere the pid). */
export function getNativeId(): number {
  try {
    return Number(readlinkSync('/proc/thread-self').split('/').pop()) || process.pid;
  } catch {
    return process.pid;
  }
}

import { ownNativeId } from '../internal/shm/world.js';

/** The operating system's id of the calling thread (Linux: from /proc; elsewhere the pid). */
export const getNativeId: () => number = ownNativeId;

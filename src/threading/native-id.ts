/** The operating system's id of the calling thread (Linux: from /proc; elsewhere the pid). */
export { ownNativeId as getNativeId } from '../internal/shm/world.js';

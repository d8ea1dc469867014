/**
 * The pids of the processes weft starts for its own bookkeeping beside a program's children (a
 * SharedMemoryManager's watcher, which must outlive the program to unlink its blocks, and
 * ignores SIGTERM once it runs). A stopping `weft run` signals the other children of its main
 * thread, never these: one signalled before its handler is set dies without cleaning up, and
 * one that ignores the signal is not ended, so it must not be counted as such.
 */
export const helperPids = new Set<number>();

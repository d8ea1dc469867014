/*
 * weft_sendfile: the kernel's sendfile(2) for weft/sendfile, as a Node-API addon.
 *
 * Implementation notes
 * --------------------
 * Node's sockets are non-blocking descriptors watched by libuv's epoll. The transfer must not
 * block the event loop, and the descriptor must not be added to a second epoll set of the same
 * loop (libuv forbids it), so the work runs on libuv's thread pool (napi_async_work):
 *
 *   JS: sendfileSlice(sockFd, fileFd, offset, count, cb)
 *        │ queue work
 *        ▼
 *   pool thread: loop { n = sendfile(sock, file, &off, left)
 *                       n > 0          → count it, go on
 *                       n == 0         → the file ended (shorter than count): stop
 *                       EAGAIN         → poll(sock, POLLOUT, SLICE_WAIT_MS) — a private wait
 *                                        on this descriptor, outside libuv — then retry; a
 *                                        wait that times out ends the slice with what was sent
 *                       EINTR          → retry
 *                       other errno    → stop, report it (EPIPE, ECONNRESET, EBADF, …) }
 *        │ complete (on the loop thread)
 *        ▼
 *   cb(errno, sent, eof)
 *
 * A slice ends after SLICE_MAX bytes or on a timed-out wait, so JS regains control regularly
 * (to see cancellation) and one transfer never pins a pool thread for long. The file offset is
 * passed by pointer, so the descriptor's own position is untouched (pread semantics).
 *
 * On platforms without Linux's sendfile(2) the addon is not built and weft uses its copy loop.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <node_api.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/sendfile.h>
#include <sys/types.h>

/* Tuning: a slice is at most 64 MiB (≈ 30 ms on loopback): trades pool-thread occupancy and
 * cancellation latency against one JS round trip per slice. */
#define SLICE_MAX ((int64_t)64 << 20)
/* Tuning: how long a slice waits for room in the socket before handing back to JS. */
#define SLICE_WAIT_MS 50

typedef struct {
  napi_async_work work;
  napi_ref cb;
  int sock_fd;
  int file_fd;
  int64_t offset;
  int64_t count;
  int64_t sent;
  int err;
  int eof;
} slice_t;

static void run_slice(napi_env env, void *data) {
  (void)env;
  slice_t *s = data;
  off_t off = (off_t)s->offset;
  int64_t left = s->count < SLICE_MAX ? s->count : SLICE_MAX;
  while (left > 0) {
    size_t want = left > 0x7ffff000 ? 0x7ffff000 : (size_t)left;
    ssize_t n = sendfile(s->sock_fd, s->file_fd, &off, want);
    if (n > 0) {
      s->sent += n;
      left -= n;
      continue;
    }
    if (n == 0) { /* end of file */
      s->eof = 1;
      break;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      struct pollfd p = {.fd = s->sock_fd, .events = POLLOUT};
      int r = poll(&p, 1, SLICE_WAIT_MS);
      if (r > 0 || (r < 0 && errno == EINTR)) continue;
      if (r == 0 && s->sent == 0) s->err = EAGAIN; /* nothing moved: JS decides to go on */
      break;
    }
    s->err = errno;
    break;
  }
}

static void done_slice(napi_env env, napi_status status, void *data) {
  slice_t *s = data;
  napi_value cb, global, argv[3];
  napi_get_reference_value(env, s->cb, &cb);
  napi_get_global(env, &global);
  napi_create_int32(env, status == napi_ok ? s->err : ECANCELED, &argv[0]);
  napi_create_int64(env, s->sent, &argv[1]);
  napi_get_boolean(env, s->eof != 0, &argv[2]);
  close(s->sock_fd);
  close(s->file_fd);
  napi_delete_reference(env, s->cb);
  napi_delete_async_work(env, s->work);
  free(s);
  napi_call_function(env, global, cb, 3, argv, NULL);
}

/* sendfileSlice(sockFd, fileFd, offset, count, cb(errno, sent, eof)) */
static napi_value sendfile_slice(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc != 5) {
    napi_throw_type_error(env, NULL, "sendfileSlice(sockFd, fileFd, offset, count, cb)");
    return NULL;
  }
  slice_t *s = calloc(1, sizeof *s);
  if (s == NULL) {
    napi_throw_error(env, NULL, "out of memory");
    return NULL;
  }
  napi_valuetype t;
  napi_typeof(env, argv[4], &t);
  if (napi_get_value_int32(env, argv[0], &s->sock_fd) != napi_ok ||
      napi_get_value_int32(env, argv[1], &s->file_fd) != napi_ok ||
      napi_get_value_int64(env, argv[2], &s->offset) != napi_ok ||
      napi_get_value_int64(env, argv[3], &s->count) != napi_ok || t != napi_function ||
      s->sock_fd < 0 || s->file_fd < 0 || s->offset < 0 || s->count < 0) {
    free(s);
    napi_throw_type_error(env, NULL,
                          "sendfileSlice: descriptors, offset and count must be integers >= 0");
    return NULL;
  }
  /* Work on duplicates: if Node closes the socket (a reset) or the caller closes the file while
   * the slice runs, the numbers cannot be reused under us. */
  s->sock_fd = fcntl(s->sock_fd, F_DUPFD_CLOEXEC, 0);
  if (s->sock_fd < 0) {
    free(s);
    napi_throw_error(env, "EBADF", "sendfileSlice: bad socket descriptor");
    return NULL;
  }
  s->file_fd = fcntl(s->file_fd, F_DUPFD_CLOEXEC, 0);
  if (s->file_fd < 0) {
    close(s->sock_fd);
    free(s);
    napi_throw_error(env, "EBADF", "sendfileSlice: bad file descriptor");
    return NULL;
  }
  napi_value name;
  napi_create_string_utf8(env, "weft:sendfile", NAPI_AUTO_LENGTH, &name);
  napi_create_reference(env, argv[4], 1, &s->cb);
  napi_create_async_work(env, NULL, name, run_slice, done_slice, s, &s->work);
  napi_queue_async_work(env, s->work);
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_value fn;
  napi_create_function(env, "sendfileSlice", NAPI_AUTO_LENGTH, sendfile_slice, NULL, &fn);
  napi_set_named_property(env, exports, "sendfileSlice", fn);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)

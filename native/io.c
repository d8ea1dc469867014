/*
 * weft_io: raw non-blocking sockets and an epoll readiness loop for weft/selectors'
 * EpollSelector and weft/socket's RawSocket — the lean path below Node's net.Socket.
 *
 * Implementation notes
 * --------------------
 * Node's sockets read every arriving byte into a fresh Buffer and push it through its stream
 * machinery; that costs a few microseconds a request above the two system calls an echo needs.
 * Here the descriptors belong to weft, not to libuv: JavaScript calls recv(2)/send(2) itself,
 * into and from buffers it reuses, and readiness comes from an epoll set of our own. That set
 * is one more descriptor, itself pollable, so libuv watches it with a uv_poll_t: when any
 * registered socket is ready, libuv wakes, and JavaScript drains the set with
 * epoll_wait(timeout 0).
 *
 *   libuv loop ── uv_poll(epoll fd) readable ──► JS onReady() ──► epollWaitRecv(out, buf)
 *        ──► [fd, events, offset, result]…  (the recv(2) of each readable fd already done, into buf)
 *        ──► JS: each socket's bytes from buf; send on each fd
 *
 * The streams raw transport also batches its small writes: sendBatch sends one turn's replies
 * to every connection in one call.
 *
 * The batch read (epollWaitRecv) is the lean part: a busy server's turn is "which sockets are
 * readable, then read each", and doing both in one call replaces k crossings JS->native (each
 * a few hundred instructions of N-API on top of the system call) by one.
 *
 * Every call returns a number: >= 0 on success, -errno on failure (no exceptions on the hot
 * path). Level-triggered epoll: a socket left readable is reported again, as selectors expects.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <node_api.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <uv.h>

#define CHECK(call)                                                                                \
  do {                                                                                             \
    if ((call) != napi_ok) return NULL;                                                            \
  } while (0)

/* NULL (undefined to JavaScript) where N-API refuses: an unset napi_value handed back to V8
 * crashes the process, and a refusal only comes from a thread that runs no more JavaScript. */
static napi_value num(napi_env env, double v) {
  napi_value r = NULL;
  return napi_create_double(env, v, &r) == napi_ok ? r : NULL;
}

static int arg_int(napi_env env, napi_value v, int32_t *out) {
  return napi_get_value_int32(env, v, out) == napi_ok;
}

/* Fills `ss`/`sl`/`family` for an IPv4 or IPv6 literal; 0, or -EAFNOSUPPORT for anything else. */
static int literal_addr(const char *host, int32_t port, struct sockaddr_storage *ss, socklen_t *sl,
                        int *family) {
  memset(ss, 0, sizeof *ss);
  struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
  struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
  if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
    *family = AF_INET;
    a4->sin_family = AF_INET;
    a4->sin_port = htons((uint16_t)port);
    *sl = sizeof *a4;
    return 0;
  }
  if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
    *family = AF_INET6;
    a6->sin6_family = AF_INET6;
    a6->sin6_port = htons((uint16_t)port);
    *sl = sizeof *a6;
    return 0;
  }
  return -EAFNOSUPPORT;
}

/* A non-blocking TCP socket of the family of `host` (an IP literal), its address in `ss`/`sl`:
 * the descriptor, or -errno. */
static int literal_socket(const char *host, int32_t port, struct sockaddr_storage *ss, socklen_t *sl,
                          int *family) {
  int a = literal_addr(host, port, ss, sl, family);
  if (a < 0) return a;
  int fd = socket(*family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  return fd < 0 ? -errno : fd;
}

/* The (host, port) that `listen` and `connect` take first: 1, or 0 when either is missing. */
static int host_port_args(napi_env env, size_t argc, napi_value *argv, char *host, size_t hsize,
                          int32_t *port) {
  size_t len;
  return argc >= 2 && napi_get_value_string_utf8(env, argv[0], host, hsize, &len) == napi_ok &&
         arg_int(env, argv[1], port);
}

/* listen(host, port, backlog[, v6only[, reusePort]]) -> fd | -errno   (IPv4 or IPv6 literal;
 * v6only sets IPV6_V6ONLY on an IPv6 socket, else the system's default stands; reusePort sets
 * SO_REUSEPORT, which must come before bind(2) to share the port) */
static napi_value io_listen(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  char host[64];
  int32_t port, backlog;
  bool v6only = false, reuse_port = false;
  if (argc < 3 || !host_port_args(env, argc, argv, host, sizeof host, &port) ||
      !arg_int(env, argv[2], &backlog) ||
      (argc >= 4 && napi_get_value_bool(env, argv[3], &v6only) != napi_ok) ||
      (argc >= 5 && napi_get_value_bool(env, argv[4], &reuse_port) != napi_ok))
    return num(env, -EINVAL);
  struct sockaddr_storage ss;
  socklen_t sl;
  int family;
  int fd = literal_socket(host, port, &ss, &sl, &family);
  if (fd < 0) return num(env, fd);
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if ((family == AF_INET6 && v6only && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) < 0) ||
      (reuse_port && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) < 0)) {
    int e = errno;
    close(fd);
    return num(env, -e);
  }
  if (bind(fd, (struct sockaddr *)&ss, sl) < 0 || listen(fd, backlog) < 0) {
    int e = errno;
    close(fd);
    return num(env, -e);
  }
  return num(env, fd);
}

/* connect(host, port) -> fd | -errno: a non-blocking TCP socket connected or connecting to an
 * IPv4 or IPv6 literal. Connecting: wait until it is writable, then read SO_ERROR. */
static napi_value io_connect(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  char host[64];
  int32_t port;
  if (!host_port_args(env, argc, argv, host, sizeof host, &port)) return num(env, -EINVAL);
  struct sockaddr_storage ss;
  socklen_t sl;
  int family;
  int fd = literal_socket(host, port, &ss, &sl, &family);
  if (fd < 0) return num(env, fd);
  int r;
  do r = connect(fd, (struct sockaddr *)&ss, sl);
  while (r < 0 && errno == EINTR);
  if (r < 0 && errno != EINPROGRESS) {
    int e = errno;
    close(fd);
    return num(env, -e);
  }
  return num(env, fd);
}

/* The path argument of the Unix-socket calls, as a sockaddr_un: its length, or -EINVAL (not a
 * string), -ENAMETOOLONG (longer than sun_path holds: the kernel would cut it silently). */
static int unix_addr(napi_env env, napi_value v, struct sockaddr_un *sa) {
  memset(sa, 0, sizeof *sa);
  sa->sun_family = AF_UNIX;
  size_t len;
  if (napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok) return -EINVAL;
  if (len == 0) return -EINVAL;
  if (len >= sizeof sa->sun_path) return -ENAMETOOLONG;
  if (napi_get_value_string_utf8(env, v, sa->sun_path, sizeof sa->sun_path, &len) != napi_ok)
    return -EINVAL;
  return (int)(offsetof(struct sockaddr_un, sun_path) + len + 1);
}

/* connectUnix(path) -> fd | -errno: a non-blocking Unix stream socket connected to `path`.
 * A Unix connect(2) completes at once or fails at once (-ENOENT, -ECONNREFUSED; -EAGAIN: the
 * listener's backlog is full, try again later), so the descriptor is usable on return. */
static int connect_unix_fd(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return -EINVAL;
  struct sockaddr_un sa;
  int sl = argc >= 1 ? unix_addr(env, argv[0], &sa) : -EINVAL;
  if (sl < 0) return sl;
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -errno;
  int r;
  do r = connect(fd, (struct sockaddr *)&sa, (socklen_t)sl);
  while (r < 0 && errno == EINTR);
  if (r < 0) {
    int e = errno;
    close(fd);
    return -e;
  }
  return fd;
}

static napi_value io_connect_unix(napi_env env, napi_callback_info info) {
  return num(env, connect_unix_fd(env, info));
}

static void close_at_end(void *arg) { close((int)(intptr_t)arg); }

/* connectUnixOwned(path) -> fd | -errno: connectUnix's socket, which the addon closes when the
 * thread ends (an environment cleanup hook) unless closeOwned closed it first. For a socket no
 * event loop watches (a thread's blocking broker connection): nothing else would close it, and
 * the peer must see the thread's end. Connect and ownership are one call: as two, a
 * Worker.terminate() between them would leave the descriptor open for the life of the process. */
static napi_value io_connect_unix_owned(napi_env env, napi_callback_info info) {
  int fd = connect_unix_fd(env, info);
  if (fd < 0) return num(env, fd);
  if (napi_add_env_cleanup_hook(env, close_at_end, (void *)(intptr_t)fd) != napi_ok) {
    close(fd);
    return num(env, -ENOMEM);
  }
  return num(env, fd);
}

/* closeOwned(fd) -> 0 | -errno (close's): closes a descriptor of connectUnixOwned and drops its
 * cleanup hook, in one call (a number closed and reused must not be closed again at the end). */
static napi_value io_close_owned(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t fd;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1 || !arg_int(env, argv[0], &fd) || fd < 0) return num(env, -EINVAL);
  napi_remove_env_cleanup_hook(env, close_at_end, (void *)(intptr_t)fd);
  return num(env, close(fd) < 0 ? -errno : 0);
}

/* listenUnix(path, backlog) -> fd | -errno: a non-blocking Unix stream socket listening at
 * `path` (-EADDRINUSE when the path exists: the caller decides whether to remove it). */
static napi_value io_listen_unix(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  int32_t backlog;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 2 || !arg_int(env, argv[1], &backlog)) return num(env, -EINVAL);
  struct sockaddr_un sa;
  int sl = unix_addr(env, argv[0], &sa);
  if (sl < 0) return num(env, sl);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return num(env, -errno);
  if (bind(fd, (struct sockaddr *)&sa, (socklen_t)sl) < 0 || listen(fd, backlog) < 0) {
    int e = errno;
    close(fd);
    return num(env, -e);
  }
  return num(env, fd);
}

/* localPort(fd) -> port | -errno */
static napi_value io_local_port(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t fd;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1 || !arg_int(env, argv[0], &fd)) return num(env, -EINVAL);
  struct sockaddr_storage ss;
  socklen_t sl = sizeof ss;
  if (getsockname(fd, (struct sockaddr *)&ss, &sl) < 0) return num(env, -errno);
  if (ss.ss_family == AF_INET) return num(env, ntohs(((struct sockaddr_in *)&ss)->sin_port));
  return num(env, ntohs(((struct sockaddr_in6 *)&ss)->sin6_port));
}

/* addressOf(fd, peer) -> [host, port] of the peer (peer true) or of the socket | -errno */
static napi_value io_address_of(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  int32_t fd;
  bool peer;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 2 || !arg_int(env, argv[0], &fd) || napi_get_value_bool(env, argv[1], &peer) != napi_ok)
    return num(env, -EINVAL);
  struct sockaddr_storage ss;
  socklen_t sl = sizeof ss;
  int r = peer ? getpeername(fd, (struct sockaddr *)&ss, &sl) : getsockname(fd, (struct sockaddr *)&ss, &sl);
  if (r < 0) return num(env, -errno);
  char host[INET6_ADDRSTRLEN] = "";
  int port;
  if (ss.ss_family == AF_INET) {
    inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, host, sizeof host);
    port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
  } else {
    inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, host, sizeof host);
    port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
  }
  napi_value arr, h, p;
  if (napi_create_array_with_length(env, 2, &arr) != napi_ok ||
      napi_create_string_utf8(env, host, NAPI_AUTO_LENGTH, &h) != napi_ok ||
      (p = num(env, port)) == NULL || napi_set_element(env, arr, 0, h) != napi_ok ||
      napi_set_element(env, arr, 1, p) != napi_ok)
    return NULL;
  return arr;
}

/* accept(fd) -> fd | -errno ; the new socket is non-blocking with TCP_NODELAY */
static napi_value io_accept(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t fd;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1 || !arg_int(env, argv[0], &fd)) return num(env, -EINVAL);
  int c = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (c < 0) return num(env, -errno);
  int one = 1;
  setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return num(env, c);
}

static int buffer_arg(napi_env env, napi_value v, uint8_t **data, size_t *len) {
  napi_typedarray_type t;
  size_t n, off;
  void *d;
  napi_value ab;
  if (napi_get_typedarray_info(env, v, &t, &n, &d, &ab, &off) != napi_ok || t != napi_uint8_array)
    return 0;
  *data = d;
  *len = n;
  return 1;
}

/* The arguments of recv and send: (fd, Uint8Array, offset, length) with the span inside the
 * array. Returns 0 (and the caller answers -EINVAL) when any is missing or out of range. */
static int fd_span_args(napi_env env, napi_callback_info info, int32_t *fd, uint8_t **at,
                        size_t *n) {
  size_t argc = 4;
  napi_value argv[4];
  int32_t off, cnt;
  uint8_t *data;
  size_t len;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 4 ||
      !arg_int(env, argv[0], fd) || !buffer_arg(env, argv[1], &data, &len) ||
      !arg_int(env, argv[2], &off) || !arg_int(env, argv[3], &cnt) || off < 0 || cnt < 0 ||
      (size_t)off + (size_t)cnt > len)
    return 0;
  *at = data + off;
  *n = (size_t)cnt;
  return 1;
}

/* recv(fd, u8, offset, length) -> n | 0 at EOF | -errno */
static napi_value io_recv(napi_env env, napi_callback_info info) {
  int32_t fd;
  uint8_t *at;
  size_t n;
  if (!fd_span_args(env, info, &fd, &at, &n)) return num(env, -EINVAL);
  ssize_t r;
  do r = recv(fd, at, n, 0);
  while (r < 0 && errno == EINTR);
  return num(env, r < 0 ? -errno : (double)r);
}

/* send(fd, u8, offset, length) -> n | -errno   (MSG_NOSIGNAL: EPIPE, never SIGPIPE) */
static napi_value io_send(napi_env env, napi_callback_info info) {
  int32_t fd;
  uint8_t *at;
  size_t n;
  if (!fd_span_args(env, info, &fd, &at, &n)) return num(env, -EINVAL);
  ssize_t r;
  do r = send(fd, at, n, MSG_NOSIGNAL);
  while (r < 0 && errno == EINTR);
  return num(env, r < 0 ? -errno : (double)r);
}

/* sendBatch(Int32Array spec, Uint8Array buf, count) -> count | -EINVAL
 *
 *   spec, 4 ints per send:  [ fd | offset | length | result ] × count
 *
 * send(2)s buf[offset, offset + length) to each fd in order (MSG_NOSIGNAL) and writes the
 * result: bytes taken (possibly fewer than length) or -errno (-EAGAIN: none taken). The batched
 * write of the streams raw transport: one crossing per turn for every connection's reply. */
static napi_value io_send_batch(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  int32_t count;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  napi_typedarray_type t;
  size_t n, aoff;
  void *d;
  napi_value ab;
  uint8_t *buf;
  size_t blen;
  if (argc < 3 || napi_get_typedarray_info(env, argv[0], &t, &n, &d, &ab, &aoff) != napi_ok ||
      t != napi_int32_array || !buffer_arg(env, argv[1], &buf, &blen) ||
      !arg_int(env, argv[2], &count) || count < 0 || (size_t)count * 4 > n)
    return num(env, -EINVAL);
  int32_t *spec = d;
  for (int32_t i = 0; i < count; i++) {
    int32_t *e = spec + 4 * i;
    int32_t off = e[1], len = e[2];
    if (off < 0 || len < 0 || (size_t)off + (size_t)len > blen) {
      e[3] = -EINVAL;
      continue;
    }
    ssize_t r;
    do r = send(e[0], buf + off, (size_t)len, MSG_NOSIGNAL);
    while (r < 0 && errno == EINTR);
    e[3] = r < 0 ? -errno : (int32_t)r;
  }
  return num(env, count);
}

/* Waits (parking the calling thread) until fd is ready for `events` or timeout_ms passes
 * (-1: no limit). 1 ready, 0 timed out, -errno. For the ...Sync verbs of worker threads. */
static int wait_fd(int fd, short events, int timeout_ms) {
  struct pollfd p = {.fd = fd, .events = events};
  int r;
  do r = poll(&p, 1, timeout_ms);
  while (r < 0 && errno == EINTR);
  return r < 0 ? -errno : r;
}

/* recvBlocking(fd, u8, offset, length, timeoutMs) -> n | 0 at EOF | -errno (-EAGAIN: timed out) */
static napi_value io_recv_blocking(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  int32_t fd, off, n, tmo;
  uint8_t *data;
  size_t len;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 5 || !arg_int(env, argv[0], &fd) || !buffer_arg(env, argv[1], &data, &len) ||
      !arg_int(env, argv[2], &off) || !arg_int(env, argv[3], &n) || !arg_int(env, argv[4], &tmo) ||
      off < 0 || n < 0 || (size_t)off + (size_t)n > len)
    return num(env, -EINVAL);
  for (;;) {
    ssize_t r = recv(fd, data + off, (size_t)n, 0);
    if (r >= 0) return num(env, (double)r);
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) return num(env, -errno);
    int w = wait_fd(fd, POLLIN, tmo);
    if (w < 0) return num(env, w);
    if (w == 0) return num(env, -EAGAIN);
  }
}

/* sendallBlocking(fd, u8, offset, length, timeoutMs) -> length | -errno (-EAGAIN: timed out) */
static napi_value io_sendall_blocking(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  int32_t fd, off, n, tmo;
  uint8_t *data;
  size_t len;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 5 || !arg_int(env, argv[0], &fd) || !buffer_arg(env, argv[1], &data, &len) ||
      !arg_int(env, argv[2], &off) || !arg_int(env, argv[3], &n) || !arg_int(env, argv[4], &tmo) ||
      off < 0 || n < 0 || (size_t)off + (size_t)n > len)
    return num(env, -EINVAL);
  size_t done = 0;
  while (done < (size_t)n) {
    ssize_t r = send(fd, data + off + done, (size_t)n - done, MSG_NOSIGNAL);
    if (r > 0) {
      done += (size_t)r;
      continue;
    }
    if (r < 0 && errno == EINTR) continue;
    if (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK) return num(env, -errno);
    int w = wait_fd(fd, POLLOUT, tmo);
    if (w < 0) return num(env, w);
    if (w == 0) return num(env, -EAGAIN);
  }
  return num(env, (double)done);
}

/* waitReady(fd, events 1 read | 4 write, timeoutMs) -> 1 ready | 0 timed out | -errno: parks
 * the calling thread in poll(2). For a blocking loop that must come back to JavaScript now and
 * then (a thread being terminated ends only there) without losing what a send had done. */
static napi_value io_wait_ready(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  int32_t fd, events, tmo;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 3 || !arg_int(env, argv[0], &fd) || !arg_int(env, argv[1], &events) ||
      !arg_int(env, argv[2], &tmo) || fd < 0)
    return num(env, -EINVAL);
  return num(env, wait_fd(fd, (short)(((events & 1) ? POLLIN : 0) | ((events & 4) ? POLLOUT : 0)), tmo));
}

/* acceptBlocking(fd, timeoutMs) -> fd | -errno (-EAGAIN: timed out) */
static napi_value io_accept_blocking(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  int32_t fd, tmo;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 2 || !arg_int(env, argv[0], &fd) || !arg_int(env, argv[1], &tmo))
    return num(env, -EINVAL);
  for (;;) {
    int c = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (c >= 0) {
      int one = 1;
      setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      return num(env, c);
    }
    if (errno == EINTR || errno == ECONNABORTED) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) return num(env, -errno);
    int w = wait_fd(fd, POLLIN, tmo);
    if (w < 0) return num(env, w);
    if (w == 0) return num(env, -EAGAIN);
  }
}

/* shutdown(fd, how) -> 0 | -errno */
static napi_value io_shutdown(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  int32_t fd, how;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 2 || !arg_int(env, argv[0], &fd) || !arg_int(env, argv[1], &how))
    return num(env, -EINVAL);
  return num(env, shutdown(fd, how) < 0 ? -errno : 0);
}

/* setsockoptInt(fd, level, name, value) -> 0 | -errno   (an int option: TCP_NODELAY, SO_KEEPALIVE) */
static napi_value io_setsockopt_int(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  int32_t fd, level, name, value;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 4 || !arg_int(env, argv[0], &fd) || !arg_int(env, argv[1], &level) ||
      !arg_int(env, argv[2], &name) || !arg_int(env, argv[3], &value))
    return num(env, -EINVAL);
  int v = value;
  return num(env, setsockopt(fd, level, name, &v, sizeof v) < 0 ? -errno : 0);
}

/* getsockoptInt(fd, level, name) -> value | -errno */
static napi_value io_getsockopt_int(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  int32_t fd, level, name;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 3 || !arg_int(env, argv[0], &fd) || !arg_int(env, argv[1], &level) ||
      !arg_int(env, argv[2], &name))
    return num(env, -EINVAL);
  int v = 0;
  socklen_t sl = sizeof v;
  return num(env, getsockopt(fd, level, name, &v, &sl) < 0 ? -errno : v);
}

/* close(fd) -> 0 | -errno */
static napi_value io_close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t fd;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1 || !arg_int(env, argv[0], &fd)) return num(env, -EINVAL);
  return num(env, close(fd) < 0 ? -errno : 0);
}

/* ── the epoll set, watched by libuv ─────────────────────────────────────────────────────── */

typedef struct {
  uv_poll_t poll; /* first: on_closed frees the poller through its handle */
  int epfd;
  int watching;
  int closing;   /* uv_close called (by epollClose or at teardown); epfd is -1 from then on */
  int closed_fd; /* the descriptor, closed once the handle is */
  int closed;    /* on_closed ran */
  int finalized; /* JavaScript dropped the poller: whichever of the two comes last frees it */
  napi_env env;
  napi_ref cb;
  napi_async_context ctx;
  napi_async_cleanup_hook_handle cleanup;
  /* Descriptors added with TAG_CLOSE_AT_END: closed when the thread ends (see on_teardown). */
  int *owned;
  int nowned, capowned;
} poller_t;

#define TAG_CLOSE_AT_END 2

/* Records `fd` as closed at the thread's end; 0, or -ENOMEM. */
static int own_fd(poller_t *p, int fd) {
  if (p->nowned == p->capowned) {
    int cap = p->capowned ? 2 * p->capowned : 16;
    int *a = realloc(p->owned, (size_t)cap * sizeof *a);
    if (a == NULL) return -ENOMEM;
    p->owned = a;
    p->capowned = cap;
  }
  p->owned[p->nowned++] = fd;
  return 0;
}

static void disown_fd(poller_t *p, int fd) {
  for (int i = 0; i < p->nowned; i++)
    if (p->owned[i] == fd) {
      p->owned[i] = p->owned[--p->nowned];
      return;
    }
}

static void on_poll(uv_poll_t *h, int status, int events) {
  (void)status;
  (void)events;
  poller_t *p = (poller_t *)h;
  napi_handle_scope scope;
  if (napi_open_handle_scope(p->env, &scope) != napi_ok) return;
  napi_value cb = NULL, recv = NULL;
  /* make_callback, so that microtasks (the waiter engine's wake-ups) run after it, as after
   * any I/O callback of Node's. */
  bool thrown = false;
  if (napi_get_reference_value(p->env, p->cb, &cb) == napi_ok && cb != NULL &&
      napi_get_global(p->env, &recv) == napi_ok &&
      napi_make_callback(p->env, p->ctx, recv, cb, 0, NULL, NULL) == napi_pending_exception &&
      napi_is_exception_pending(p->env, &thrown) == napi_ok && thrown) {
    /* The callback threw. Left pending, the exception would make N-API refuse every later
     * callback (libuv calling again at once while the set is ready: a busy loop that serves
     * nothing) and be thrown by the next, unrelated, call into this addon. Reported now, as
     * Node reports an exception out of any I/O callback: 'uncaughtException'. (Refused with
     * nothing thrown: a worker being terminated, where no JavaScript runs any more.) */
    napi_value exc;
    if (napi_get_and_clear_last_exception(p->env, &exc) == napi_ok) napi_fatal_exception(p->env, exc);
  }
  napi_close_handle_scope(p->env, scope);
}

/* The handle is closed: only now may the descriptor go (libuv must not watch a closed fd), and
 * a teardown waiting on this poller may go on. */
static void on_closed(uv_handle_t *h) {
  poller_t *p = (poller_t *)h;
  close(p->closed_fd);
  p->closed = 1;
  if (p->cleanup != NULL) napi_remove_async_cleanup_hook(p->cleanup);
  if (p->finalized) {
    free(p->owned);
    free(p);
  }
}

static void poller_close(poller_t *p) {
  p->closing = 1;
  p->closed_fd = p->epfd;
  p->epfd = -1; /* every later call on this poller answers EINVAL */
  uv_poll_stop(&p->poll);
  if (p->cb != NULL) napi_delete_reference(p->env, p->cb);
  if (p->ctx != NULL) napi_async_destroy(p->env, p->ctx);
  uv_close((uv_handle_t *)&p->poll, on_closed);
}

/* A worker thread ends with a selector still open: libuv refuses to close a loop with an open
 * handle (Node aborts the whole process), so the handle is closed here and Node waits for
 * on_closed before it closes the loop. */
static void on_teardown(napi_async_cleanup_hook_handle h, void *data) {
  (void)h;
  poller_t *p = data;
  /* A thread's sockets die with it, as Node closes its own handles when a worker ends: the
   * peer (the broker) sees the close and frees what the thread held. */
  for (int i = 0; i < p->nowned; i++) close(p->owned[i]);
  p->nowned = 0;
  if (!p->closing) poller_close(p);
}

static void poller_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  poller_t *p = data;
  /* A poller abandoned unclosed keeps its handle (closing it from a finalizer would race
   * libuv); the teardown hook closes it when its thread ends, and on_closed frees it then. */
  p->finalized = 1;
  if (p->closed) {
    free(p->owned);
    free(p);
  }
}

/* epollCreate(onReady) -> external poller | -errno | undefined (N-API refused: the thread is
 * ending). Not watching yet: see epollWatch.
 *
 * Every N-API call is checked: in a worker being terminated N-API refuses to make values while
 * its JavaScript still runs, and an unset value returned to V8 crashed the whole process. The
 * external comes first, while nothing else exists: until the handle is made its finalizer alone
 * frees the poller (`closed` stands for "no handle to wait for"). */
static napi_value io_epoll_create(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  napi_valuetype t;
  if (argc < 1 || napi_typeof(env, argv[0], &t) != napi_ok || t != napi_function)
    return num(env, -EINVAL);
  uv_loop_t *loop;
  CHECK(napi_get_uv_event_loop(env, &loop));
  poller_t *p = calloc(1, sizeof *p);
  if (p == NULL) return num(env, -ENOMEM);
  p->epfd = -1;
  p->closed = 1;
  p->env = env;
  napi_value ext;
  if (napi_create_external(env, p, poller_finalize, NULL, &ext) != napi_ok) {
    free(p);
    return NULL;
  }
  p->epfd = epoll_create1(EPOLL_CLOEXEC);
  if (p->epfd < 0) return num(env, -errno);
  if (uv_poll_init(loop, &p->poll, p->epfd) != 0) {
    close(p->epfd);
    p->epfd = -1;
    return num(env, -EIO);
  }
  /* From here on the handle exists: whatever fails closes it (poller_close), and the teardown
   * hook makes Node run the loop until it is closed. */
  p->closed = 0;
  napi_value name;
  if (napi_add_async_cleanup_hook(env, on_teardown, p, &p->cleanup) != napi_ok ||
      napi_create_reference(env, argv[0], 1, &p->cb) != napi_ok ||
      napi_create_string_utf8(env, "weft:epoll", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_async_init(env, NULL, name, &p->ctx) != napi_ok) {
    poller_close(p);
    return NULL;
  }
  return ext;
}

static poller_t *poller_arg(napi_env env, napi_value v) {
  void *p = NULL;
  if (napi_get_value_external(env, v, &p) != napi_ok) return NULL;
  return p;
}

/* epollCtl(poller, op 1 add | 2 del | 3 mod, fd, events 1 read | 4 write[, tag]) -> 0 | -errno
 * `tag` (default 0) rides in the upper half of the event's data: TAG_READAHEAD lets
 * epollWaitRecv recv(2) on the descriptor when it is reported readable; TAG_CLOSE_AT_END (on
 * add) has the descriptor closed when the thread ends, unless it was deleted from the set
 * first. A build without it ignores the bit (it came with connectUnix). */
static napi_value io_epoll_ctl(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  int32_t op, fd, events, tag = 0;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  poller_t *p = argc >= 4 ? poller_arg(env, argv[0]) : NULL;
  if (p == NULL || p->epfd < 0 || !arg_int(env, argv[1], &op) || !arg_int(env, argv[2], &fd) ||
      !arg_int(env, argv[3], &events) || (argc >= 5 && !arg_int(env, argv[4], &tag)))
    return num(env, -EINVAL);
  struct epoll_event ev = {.events = (uint32_t)events,
                           .data.u64 = (uint64_t)(uint32_t)fd | ((uint64_t)(uint32_t)tag << 32)};
  if (epoll_ctl(p->epfd, op, fd, &ev) < 0) return num(env, -errno);
  if (op == EPOLL_CTL_DEL) disown_fd(p, fd);
  else if (op == EPOLL_CTL_ADD && (tag & TAG_CLOSE_AT_END) && own_fd(p, fd) < 0) {
    epoll_ctl(p->epfd, EPOLL_CTL_DEL, fd, &ev);
    return num(env, -ENOMEM);
  }
  return num(env, 0);
}

/* epollDelClose(poller, fd) -> 0 | -errno (close's)
 * Takes `fd` out of the set (if it is there) and closes it, in one call. As two calls, a
 * Worker.terminate() landing between them left the descriptor open for the life of the process:
 * deleted from the set, it was no longer closed at the thread's end (TAG_CLOSE_AT_END), and the
 * JavaScript that would have closed it never ran. */
static napi_value io_epoll_del_close(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  int32_t fd;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  poller_t *p = argc == 2 ? poller_arg(env, argv[0]) : NULL;
  if (p == NULL || !arg_int(env, argv[1], &fd) || fd < 0) return num(env, -EINVAL);
  if (p->epfd >= 0) {
    struct epoll_event ev = {0};
    epoll_ctl(p->epfd, EPOLL_CTL_DEL, fd, &ev); /* ENOENT: never added (its add failed) */
  }
  disown_fd(p, fd);
  return num(env, close(fd) < 0 ? -errno : 0);
}

/* The (poller, Int32Array out) arguments of the epoll waits: `stride` ints are written per
 * event, so `max` is how many events fit in out (at most 512, the size of the event array). */
static int poll_args(napi_env env, napi_value pv, napi_value ov, size_t stride, poller_t **p,
                     int32_t **out, int *max) {
  napi_typedarray_type t;
  size_t n, off;
  void *d;
  napi_value ab;
  *p = poller_arg(env, pv);
  if (*p == NULL || (*p)->epfd < 0 ||
      napi_get_typedarray_info(env, ov, &t, &n, &d, &ab, &off) != napi_ok ||
      t != napi_int32_array || n < stride)
    return 0;
  *out = d;
  *max = (int)(n / stride) < 512 ? (int)(n / stride) : 512;
  return 1;
}

/* The events ready now (epoll_wait with timeout 0): their count, or -errno. */
static int wait_ready(poller_t *p, struct epoll_event *evs, int max) {
  int r;
  do r = epoll_wait(p->epfd, evs, max, 0);
  while (r < 0 && errno == EINTR);
  return r < 0 ? -errno : r;
}

/* The batch read: one crossing for a whole turn of a busy server instead of one per socket.
 *
 * epollWaitRecv(poller, Int32Array out, Uint8Array buf) -> n | -errno
 *
 *   out, 4 ints per ready descriptor:  [ fd | events | offset | result ] × n
 *   result:  > 0  bytes recv(2)'d into buf[offset, offset + result)
 *              0  EOF            -errno  recv failed (ECONNRESET…; never EAGAIN, see below)
 *           NOREAD  not read: no TAG_READAHEAD, not readable, or buf is full
 *
 * Only descriptors tagged TAG_READAHEAD and reported readable (or in error / hung up) are
 * read, each at most READ_CAP bytes, one after the other into buf; a descriptor whose recv
 * says EAGAIN (a stale report) is left NOREAD for its owner to try. Every other event is
 * passed through as it came (fd, events). */
#define TAG_READAHEAD 1
#define NOREAD (-0x10000)
#define READ_CAP 65536
#define READ_MIN 1024

static napi_value io_epoll_wait_recv(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  poller_t *p;
  int32_t *out;
  int max;
  uint8_t *buf;
  size_t blen;
  if (argc != 3 || !poll_args(env, argv[0], argv[1], 4, &p, &out, &max) ||
      !buffer_arg(env, argv[2], &buf, &blen))
    return num(env, -EINVAL);
  struct epoll_event evs[512];
  int r = wait_ready(p, evs, max);
  if (r < 0) return num(env, r);
  size_t used = 0;
  for (int i = 0; i < r; i++) {
    int fd = (int)(uint32_t)evs[i].data.u64;
    uint32_t tag = (uint32_t)(evs[i].data.u64 >> 32);
    uint32_t e = evs[i].events;
    int32_t *o = out + 4 * i;
    o[0] = fd;
    o[1] = (int32_t)e;
    o[2] = 0;
    o[3] = NOREAD;
    if (!(tag & TAG_READAHEAD) || !(e & (EPOLLIN | EPOLLERR | EPOLLHUP)) || blen - used < READ_MIN)
      continue;
    size_t want = blen - used < READ_CAP ? blen - used : READ_CAP;
    ssize_t k;
    do k = recv(fd, buf + used, want, 0);
    while (k < 0 && errno == EINTR);
    if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) continue;
    o[2] = (int32_t)used;
    o[3] = k < 0 ? -errno : (int32_t)k;
    if (k > 0) used += (size_t)k;
  }
  return num(env, r);
}

/* epollWatch(poller, mode) -> 0. Modes: false/0 stop; true/1 watch and keep the loop alive;
 * 2 go on watching but let the loop exit (uv_unref).
 * While watched, libuv calls onReady when the set has events. Stopping is a system call on
 * libuv's own epoll set (and starting again another), so a selector between two select()s of
 * a busy loop only unrefs (mode 2), and stops once onReady finds nobody selecting: a ready set
 * nobody selects on must not make libuv call back on every turn. */
static napi_value io_epoll_watch(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  bool on;
  int32_t mode;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  poller_t *p = argc == 2 ? poller_arg(env, argv[0]) : NULL;
  if (p == NULL || p->epfd < 0) return num(env, -EINVAL);
  if (napi_get_value_bool(env, argv[1], &on) == napi_ok) mode = on ? 1 : 0;
  else if (!arg_int(env, argv[1], &mode) || mode < 0 || mode > 2) return num(env, -EINVAL);
  if (mode == 0) {
    if (p->watching) uv_poll_stop(&p->poll);
    p->watching = 0;
    return num(env, 0);
  }
  if (!p->watching) uv_poll_start(&p->poll, UV_READABLE, on_poll);
  p->watching = 1;
  if (mode == 1) uv_ref((uv_handle_t *)&p->poll);
  else uv_unref((uv_handle_t *)&p->poll);
  return num(env, 0);
}

/* epollClose(poller) -> 0 */
static napi_value io_epoll_close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  poller_t *p = argc == 1 ? poller_arg(env, argv[0]) : NULL;
  if (p == NULL || p->epfd < 0) return num(env, -EINVAL);
  poller_close(p);
  return num(env, 0);
}

static napi_value init(napi_env env, napi_value exports) {
  const struct {
    const char *name;
    napi_callback fn;
  } fns[] = {
      {"listen", io_listen},         {"localPort", io_local_port}, {"accept", io_accept},
      {"recv", io_recv},             {"send", io_send},            {"shutdown", io_shutdown},
      {"close", io_close},           {"epollCreate", io_epoll_create},
      {"epollCtl", io_epoll_ctl},    {"epollDelClose", io_epoll_del_close},
      {"epollWaitRecv", io_epoll_wait_recv}, {"sendBatch", io_send_batch}, {"epollClose", io_epoll_close},
      {"epollWatch", io_epoll_watch},
      {"recvBlocking", io_recv_blocking}, {"sendallBlocking", io_sendall_blocking},
      {"acceptBlocking", io_accept_blocking}, {"addressOf", io_address_of},
      {"setsockoptInt", io_setsockopt_int}, {"getsockoptInt", io_getsockopt_int},
      {"connect", io_connect},       {"connectUnix", io_connect_unix},
      {"listenUnix", io_listen_unix}, {"connectUnixOwned", io_connect_unix_owned},
      {"closeOwned", io_close_owned}, {"waitReady", io_wait_ready},
  };
  for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
    napi_value f;
    /* Refused (a thread ending as it loads the addon): no exports rather than an unset one. */
    if (napi_create_function(env, fns[i].name, NAPI_AUTO_LENGTH, fns[i].fn, NULL, &f) != napi_ok ||
        napi_set_named_property(env, exports, fns[i].name, f) != napi_ok)
      return NULL;
  }
  /* listen's reusePort argument is understood (an older build ignores a fifth argument). */
  napi_value yes;
  if (napi_get_boolean(env, true, &yes) != napi_ok ||
      napi_set_named_property(env, exports, "listenReusePort", yes) != napi_ok)
    return NULL;
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)

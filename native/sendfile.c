/*
 * weft_sendfile: the kernel's sendfile(2) for weft/sendfile, as a Node-API addon.
 *
 * Implementation notes
 * --------------------
 * Node's sockets are non-blocking descriptors watched by libuv's epoll. The transfer must not
 * block the event loop (a file not in the page cache makes sendfile(2) read the disk), so the
 * calls run on libuv's thread pool. One JavaScript call starts a transfer and one callback ends
 * it; in between, the addon alternates between pool jobs and waits on the loop by itself:
 *
 *   JS: sendfileStart(sockFd, fileFd, offset, count, cb) ─► handle      sendfileCancel(handle)
 *        │ duplicate both descriptors, make an eventfd, queue a job             │
 *        ▼                                                                      │ flag +
 *   pool thread (a job): loop { cancelled?                     → stop           │ eventfd
 *                               n = sendfile(sock, file, &off, min(left, CALL_MAX))
 *                               n > 0   → count it; after JOB_MS the job ends (time slice)
 *                               n == 0  → the file ended (shorter than count): stop
 *                               EAGAIN  → poll(sock POLLOUT, eventfd POLLIN, WAIT_MS):
 *                                         room or cancel → loop; nothing for WAIT_MS → park
 *                               EINTR   → retry;   other errno → stop (EPIPE, ECONNRESET, …) }
 *        │ job done (loop thread, C only)
 *        ├─ finished / failed / cancelled ─► close the duplicates ─► cb(errno, sent, eof)
 *        ├─ time slice over ─► queue the next job (the back of libuv's FIFO: fs work queued
 *        │                     meanwhile runs first, so a long transfer cannot starve it)
 *        └─ parked ─► uv_poll on a private epoll set holding the socket for EPOLLOUT (the
 *                     socket stays in libuv's own set too: a second epoll *set* is allowed,
 *                     a second registration in libuv's is not); writable ─► queue a job
 *
 * So a fast reader is served by one pool thread that sleeps in poll(2) between socket-buffer
 * refills, as a blocking sendfile sleeps in the kernel, with no JavaScript per chunk; a slow or
 * stalled reader costs no pool thread while it does not read.
 *
 * Descriptors. The transfer works on duplicates (F_DUPFD_CLOEXEC) made at the start, while
 * JavaScript knows the socket is open: if Node closes the socket meanwhile (JS destroyed it, or
 * a reset), its number may be reused by another socket or file, but the duplicate still names
 * the original connection, so no byte can go to the wrong place. The duplicate also keeps that
 * connection open, so JavaScript cancels the transfer when the socket closes; the duplicates
 * are closed before the callback runs.
 *
 * Lifetime. A transfer is freed when both its JavaScript handle was collected and its native
 * side ended (the uv_poll handle closed): `refs` counts the two, only the loop thread touches
 * it. Fields the pool thread writes are read on the loop thread only after the job completed
 * (libuv orders the two); `cancelled` is the one field both threads touch during a job.
 *
 * Teardown. A worker thread may end during a transfer: an async cleanup hook cancels it, and
 * the environment waits until the transfer's native side is over (its uv_poll handle closed),
 * as libuv refuses to close a loop with open handles.
 *
 * Stalls. sendfileIdle(handle) tells JavaScript, which keeps a weft Socket's timeout, how long
 * the socket has had no room: 0 if it has room now (poll(2) with no wait, on the loop thread)
 * or a sendfile(2) call is in flight (it is sending: a long call fills the buffer it finds
 * room in), else the milliseconds since the last call that sent something. A job waiting for a
 * pool thread behind other work is not a stall: its socket has room.
 *
 * On platforms without Linux's sendfile(2) the addon is not built and weft uses its copy loop.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <node_api.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/sendfile.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

/* Tuning: bytes asked of one sendfile(2) call. On a non-blocking socket a call returns when
 * the socket buffer is full, but a reader that keeps pace could keep one call going for the
 * whole file; 16 MiB (a few ms on loopback) bounds how long a cancel waits for a call to end. */
#define CALL_MAX ((int64_t)16 << 20)
/* Tuning: how long a job may run before it goes to the back of the pool's queue (fairness to
 * other pool work) against one extra queue round trip (no JavaScript) per JOB_MS. */
#define JOB_MS 50
/* Tuning: how long a job waits in poll(2) for room in the socket before it parks on the event
 * loop: loopback refills take well under 1 ms; a reader slower than that frees the thread. */
#define WAIT_MS 10

enum { QUEUED, PARKED, DONE };

typedef struct {
  napi_env env;
  napi_async_work work; /* one work item, queued again for every job */
  napi_ref cb;
  uv_poll_t poll; /* watches epfd while parked (initialised at the first park) */
  int poll_inited;
  int refs;  /* the JS handle + the native side (see Lifetime) */
  int phase; /* QUEUED (a job is queued or running), PARKED, DONE; loop thread only */
  int sock, file, evfd, epfd;
  int64_t offset; /* where the next job starts in the file */
  int64_t left;
  int64_t sent;
  int err;
  int eof;
  int stalled; /* the last job ended because the socket stayed full for WAIT_MS */
  int teardown; /* the environment (a worker thread) is going away: no JavaScript any more */
  napi_async_cleanup_hook_handle cleanup;
  atomic_int cancelled;
  /* CLOCK_MONOTONIC ms of the start or of the last call that sent something, and whether a
   * sendfile(2) call is in flight (see Stalls) */
  _Atomic int64_t progress_ms;
  atomic_int in_call;
} transfer_t;

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void unref(transfer_t *t) {
  if (--t->refs == 0) free(t);
}

/* Pool thread. */
static void run_job(napi_env env, void *data) {
  (void)env;
  transfer_t *t = data;
  t->stalled = 0;
  const int64_t deadline = now_ms() + JOB_MS;
  off_t off = (off_t)t->offset;
  while (t->left > 0) {
    /* acquire: pairs with the release store in sendfile_cancel */
    if (atomic_load_explicit(&t->cancelled, memory_order_acquire)) break;
    size_t want = (size_t)(t->left < CALL_MAX ? t->left : CALL_MAX);
    atomic_store_explicit(&t->in_call, 1, memory_order_relaxed);
    ssize_t n = sendfile(t->sock, t->file, &off, want);
    int64_t now = 0;
    if (n > 0) {
      now = now_ms();
      atomic_store_explicit(&t->progress_ms, now, memory_order_relaxed);
    }
    atomic_store_explicit(&t->in_call, 0, memory_order_release); /* publishes progress_ms */
    if (n > 0) {
      t->sent += n;
      t->left -= n;
      if (now >= deadline) break;
      continue;
    }
    if (n == 0) { /* end of file */
      t->eof = 1;
      break;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      struct pollfd p[2] = {{.fd = t->sock, .events = POLLOUT}, {.fd = t->evfd, .events = POLLIN}};
      int r = poll(p, 2, WAIT_MS);
      if (r == 0) {
        t->stalled = 1;
        break;
      }
      if (r < 0 && errno != EINTR) {
        t->err = errno;
        break;
      }
      /* Room, a cancel (seen at the top), or an error on the socket (sendfile reports it). */
      continue;
    }
    t->err = errno;
    break;
  }
  t->offset = (int64_t)off;
}

/* The native side is over; a teardown waiting on us may go on. */
static void release_native(transfer_t *t) {
  if (t->cleanup != NULL) napi_remove_async_cleanup_hook(t->cleanup);
  unref(t);
}

static void on_poll_closed(uv_handle_t *h) {
  transfer_t *t = h->data;
  close(t->epfd);
  release_native(t);
}

/* Loop thread: the transfer is over; report it once. */
static void finish(napi_env env, transfer_t *t) {
  t->phase = DONE;
  int err = t->err;
  if (err == 0 && t->left > 0 && !t->eof && atomic_load(&t->cancelled)) err = ECANCELED;
  /* The duplicates go before JavaScript hears of the end: a socket it closed is then closed. */
  close(t->sock);
  close(t->file);
  close(t->evfd);
  napi_value cb = NULL, global = NULL, argv[3];
  /* Any refusal (a worker being terminated: no JavaScript runs any more) skips the call: an
   * unset value handed to V8 crashes the process. */
  int call = !t->teardown && /* in a job's completion: a handle scope is open */
             napi_get_reference_value(env, t->cb, &cb) == napi_ok && cb != NULL &&
             napi_get_global(env, &global) == napi_ok &&
             napi_create_int32(env, err, &argv[0]) == napi_ok &&
             napi_create_int64(env, t->sent, &argv[1]) == napi_ok &&
             napi_get_boolean(env, t->eof != 0, &argv[2]) == napi_ok;
  napi_delete_reference(env, t->cb);
  napi_delete_async_work(env, t->work);
  if (t->poll_inited) uv_close((uv_handle_t *)&t->poll, on_poll_closed);
  else release_native(t);
  if (call) napi_call_function(env, global, cb, 3, argv, NULL);
}

static void on_writable(uv_poll_t *h, int status, int events) {
  (void)status; /* an error on the epoll set: the next job's sendfile reports the socket's */
  (void)events;
  transfer_t *t = h->data;
  uv_poll_stop(h);
  t->phase = QUEUED;
  napi_queue_async_work(t->env, t->work);
}

/* Waits on the loop for room in the socket; -1 if the epoll set cannot be made. */
static int park(transfer_t *t) {
  if (!t->poll_inited) {
    uv_loop_t *loop;
    if (napi_get_uv_event_loop(t->env, &loop) != napi_ok) return -1;
    t->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (t->epfd < 0) return -1;
    /* Level-triggered: the set stays readable while the socket is writable (or failed). */
    struct epoll_event ev = {.events = EPOLLOUT};
    if (epoll_ctl(t->epfd, EPOLL_CTL_ADD, t->sock, &ev) < 0 ||
        uv_poll_init(loop, &t->poll, t->epfd) != 0) {
      close(t->epfd);
      return -1;
    }
    t->poll.data = t;
    t->poll_inited = 1;
  }
  if (uv_poll_start(&t->poll, UV_READABLE, on_writable) != 0) return -1;
  t->phase = PARKED;
  return 0;
}

/* Loop thread, after every job. */
static void job_done(napi_env env, napi_status status, void *data) {
  transfer_t *t = data;
  if (status != napi_ok && t->err == 0) t->err = ECANCELED; /* never cancelled via napi */
  if (t->err != 0 || t->eof || t->left == 0 || atomic_load(&t->cancelled)) {
    finish(env, t);
    return;
  }
  /* Parked, or (no epoll set to be had) back to a job that polls in the pool again. */
  if (!t->stalled || park(t) != 0) napi_queue_async_work(env, t->work);
}

/* The environment is being torn down (a worker thread ends) during the transfer: a parked
 * transfer ends here (its uv_poll handle must be closed before libuv's loop is); a queued job
 * is woken, and Node waits for it to complete. Teardown goes on once release_native ran. */
static void on_teardown(napi_async_cleanup_hook_handle h, void *data) {
  (void)h;
  transfer_t *t = data;
  t->teardown = 1;
  atomic_store_explicit(&t->cancelled, 1, memory_order_release);
  if (t->phase == PARKED) {
    uv_poll_stop(&t->poll);
    finish(t->env, t);
  } else {
    uint64_t one = 1;
    ssize_t w = write(t->evfd, &one, sizeof one);
    (void)w;
  }
}

static void handle_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  unref(data);
}

/* sendfileStart(sockFd, fileFd, offset, count, cb(errno, sent, eof)) -> handle */
static napi_value sendfile_start(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc != 5) {
    napi_throw_type_error(env, NULL, "sendfileStart(sockFd, fileFd, offset, count, cb)");
    return NULL;
  }
  int32_t sock, file;
  int64_t offset, count;
  napi_valuetype ty = napi_undefined;
  napi_typeof(env, argv[4], &ty);
  if (napi_get_value_int32(env, argv[0], &sock) != napi_ok ||
      napi_get_value_int32(env, argv[1], &file) != napi_ok ||
      napi_get_value_int64(env, argv[2], &offset) != napi_ok ||
      napi_get_value_int64(env, argv[3], &count) != napi_ok || ty != napi_function || sock < 0 ||
      file < 0 || offset < 0 || count < 0) {
    napi_throw_type_error(env, NULL,
                          "sendfileStart: descriptors, offset and count must be integers >= 0");
    return NULL;
  }
  transfer_t *t = calloc(1, sizeof *t);
  if (t == NULL) {
    napi_throw_error(env, NULL, "out of memory");
    return NULL;
  }
  /* The handle first, while nothing is started: in a worker being terminated N-API refuses to
   * make it while its JavaScript still runs, and the unset value returned to V8 crashed the
   * process. Its finalizer frees the transfer once its one reference (JavaScript's) goes. */
  napi_value handle;
  t->refs = 1;
  if (napi_create_external(env, t, handle_finalize, NULL, &handle) != napi_ok) {
    free(t);
    return NULL; /* undefined: nothing runs in this thread any more */
  }
  t->sock = fcntl(sock, F_DUPFD_CLOEXEC, 0);
  t->file = t->sock < 0 ? -1 : fcntl(file, F_DUPFD_CLOEXEC, 0);
  t->evfd = t->file < 0 ? -1 : eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (t->evfd < 0) {
    const char *code = errno == EBADF ? "EBADF" : "EMFILE";
    if (t->sock >= 0) close(t->sock);
    if (t->file >= 0) close(t->file);
    napi_throw_error(env, code, "sendfileStart: cannot duplicate the descriptors");
    return NULL; /* the handle's finalizer frees t */
  }
  t->env = env;
  t->offset = offset;
  t->left = count;
  t->epfd = -1;
  atomic_init(&t->cancelled, 0);
  atomic_init(&t->progress_ms, now_ms());
  atomic_init(&t->in_call, 0);
  napi_value name;
  if (napi_create_string_utf8(env, "weft:sendfile", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_create_reference(env, argv[4], 1, &t->cb) != napi_ok ||
      napi_create_async_work(env, NULL, name, run_job, job_done, t, &t->work) != napi_ok ||
      napi_add_async_cleanup_hook(env, on_teardown, t, &t->cleanup) != napi_ok) {
    if (t->work != NULL) napi_delete_async_work(env, t->work);
    if (t->cb != NULL) napi_delete_reference(env, t->cb);
    close(t->sock);
    close(t->file);
    close(t->evfd);
    /* Where JavaScript still runs it learns the transfer never started. */
    napi_throw_error(env, NULL, "sendfileStart: Node-API refused to start the transfer");
    return NULL;
  }
  t->refs = 2; /* queued: the native side holds the transfer too, until release_native */
  t->phase = QUEUED;
  if (napi_queue_async_work(env, t->work) != napi_ok) {
    t->err = ECANCELED;
    finish(env, t);
  }
  return handle;
}

/* sendfileCancel(handle): the transfer stops soon after (its callback reports ECANCELED unless
 * it had finished anyway); no-op once it ended. */
static napi_value sendfile_cancel(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  void *data = NULL;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc != 1 || napi_get_value_external(env, argv[0], &data) != napi_ok) {
    napi_throw_type_error(env, NULL, "sendfileCancel(handle)");
    return NULL;
  }
  transfer_t *t = data;
  if (t->phase == DONE || atomic_load(&t->cancelled)) return NULL;
  /* release: a job that sees the flag also sees nothing else, but keep the pairing explicit */
  atomic_store_explicit(&t->cancelled, 1, memory_order_release);
  if (t->phase == PARKED) {
    /* No job runs: queue one; it sees the flag before any sendfile and ends at once. */
    uv_poll_stop(&t->poll);
    t->phase = QUEUED;
    napi_queue_async_work(env, t->work);
  } else {
    /* Wake a job sleeping in poll(2); one about to sleep finds the eventfd readable. */
    uint64_t one = 1;
    ssize_t w = write(t->evfd, &one, sizeof one);
    (void)w;
  }
  return NULL;
}

/* sendfileIdle(handle) -> ms the socket has had no room (see Stalls); 0 once the transfer ended. */
static napi_value sendfile_idle(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], out = NULL;
  void *data = NULL;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc != 1 || napi_get_value_external(env, argv[0], &data) != napi_ok) {
    napi_throw_type_error(env, NULL, "sendfileIdle(handle)");
    return NULL;
  }
  transfer_t *t = data;
  int64_t idle = 0;
  /* The duplicate is open until finish(), which runs on this (the loop) thread. */
  if (t->phase != DONE && !atomic_load_explicit(&t->in_call, memory_order_acquire)) {
    struct pollfd p = {.fd = t->sock, .events = POLLOUT};
    const int64_t now = now_ms();
    /* Room, or an error on the socket (the next sendfile(2) reports it): not a stall. */
    if (poll(&p, 1, 0) > 0) atomic_store_explicit(&t->progress_ms, now, memory_order_relaxed);
    else idle = now - atomic_load_explicit(&t->progress_ms, memory_order_relaxed);
  }
  return napi_create_int64(env, idle < 0 ? 0 : idle, &out) == napi_ok ? out : NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  const struct {
    const char *name;
    napi_callback fn;
  } fns[] = {{"sendfileStart", sendfile_start},
             {"sendfileCancel", sendfile_cancel},
             {"sendfileIdle", sendfile_idle}};
  for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
    napi_value f;
    /* Refused (a thread ending as it loads the addon): no exports rather than an unset one. */
    if (napi_create_function(env, fns[i].name, NAPI_AUTO_LENGTH, fns[i].fn, NULL, &f) != napi_ok ||
        napi_set_named_property(env, exports, fns[i].name, f) != napi_ok)
      return NULL;
  }
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)

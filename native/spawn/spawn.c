/*
 * weft_spawn: the fast way weft/asyncio starts a child on Linux — posix_spawn(3), and the exit
 * watched through a pidfd — where Node's child_process forks.
 *
 * Implementation notes
 * --------------------
 * libuv starts every child with fork(2): the kernel copies the parent's page tables and marks
 * every private page copy-on-write, so a spawn costs in proportion to the parent's memory (a
 * Node process of 100 MB: about 1.5 ms on the 2-core bench machine, against 0.15 ms here).
 * glibc's posix_spawn clones with CLONE_VM|CLONE_VFORK: the child runs on the parent's memory
 * until it execs, and the cost no longer depends on the parent's size. CPython does the same.
 *
 *   spawn(file, argv, envp, cwd, stdio[3], onExit)
 *     ├─ stdio: socketpair per PIPE (our end stays here), /dev/null per IGNORE, a CLOEXEC copy
 *     │   of every other descriptor (so that swapped targets, stdout: 2 with stderr: 1, do
 *     │   not overwrite each other, as libuv's own first pass avoids)
 *     ├─ posix_spawn per PATH candidate, searched as execvp(3) searches, in the *child's*
 *     │   PATH (libuv sets environ to the child's before execvp)
 *     ├─ pidfd_open(pid) ──► uv_poll_t readable once the child has exited
 *     └─► external { pid }      ... on_exit: waitid(P_PIDFD) reaps it ──► onExit(code, signal)
 *
 * The child is set up as libuv sets up its own (src/unix/process.c, uv__process_child_init):
 * signals 1..31 back to their default action and an empty signal mask; fds 0..2 from the stdio
 * specs, each no longer O_NONBLOCK (libuv clears it in the child, on the same open file
 * description; here the parent clears it before the spawn); the cwd; then the exec.
 *
 * Reaping: libuv's SIGCHLD handler calls waitpid() on the pids of its own process handles
 * only, never waitpid(-1), so it never takes a child of ours; the pidfd becomes readable when
 * the child exits and waitid(P_PIDFD) reaps it. Until then the pid cannot be reused, so kill(2)
 * on it is safe, as libuv's uv_process_kill is.
 *
 * Every call returns a number: >= 0 on success, -errno on failure (no exceptions).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <node_api.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <uv.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef P_PIDFD
#define P_PIDFD 3
#endif

/* The stdio specs of spawn(); a value >= 0 is a descriptor of this process to give the child. */
#define SPEC_PIPE (-1)   /* a new socket pair; our end comes back in its slot */
#define SPEC_IGNORE (-2) /* /dev/null */
#define SPEC_MERGE (-3)  /* stderr only: the child end of stdout's pipe */

static napi_value num(napi_env env, double v) {
  napi_value r;
  napi_create_double(env, v, &r);
  return r;
}

/* A copy of a JS string (NULL for anything else, or when there is no memory). */
static char *str_arg(napi_env env, napi_value v) {
  size_t n;
  if (napi_get_value_string_utf8(env, v, NULL, 0, &n) != napi_ok) return NULL;
  char *s = malloc(n + 1);
  if (s == NULL) return NULL;
  napi_get_value_string_utf8(env, v, s, n + 1, &n);
  return s;
}

static void strv_free(char **v) {
  if (v == NULL) return;
  for (char **p = v; *p != NULL; p++) free(*p);
  free(v);
}

/* A NULL-terminated copy of a JS array of strings; NULL on a bad element or no memory. */
static char **strv_arg(napi_env env, napi_value arr) {
  uint32_t n;
  if (napi_get_array_length(env, arr, &n) != napi_ok) return NULL;
  char **v = calloc((size_t)n + 1, sizeof *v);
  if (v == NULL) return NULL;
  for (uint32_t i = 0; i < n; i++) {
    napi_value e;
    if (napi_get_element(env, arr, i, &e) != napi_ok || (v[i] = str_arg(env, e)) == NULL) {
      strv_free(v);
      return NULL;
    }
  }
  return v;
}

/* getenv(3) over the child's environment: the first NAME=, as getenv takes it. */
static const char *env_get(char **envp, const char *name) {
  size_t n = strlen(name);
  for (char **p = envp; *p != NULL; p++)
    if (strncmp(*p, name, n) == 0 && (*p)[n] == '=') return *p + n + 1;
  return NULL;
}

/*
 * One exec of `path` as execvp(3) would try it: posix_spawn, and on ENOEXEC (a script without
 * "#!") the same with /bin/sh, as glibc's execvp retries (its posix_spawn does not).
 */
static int spawn_one(pid_t *pid, const char *path, const posix_spawn_file_actions_t *fa,
                     const posix_spawnattr_t *at, char **argv, char **envp) {
  int rc = posix_spawn(pid, path, fa, at, argv, envp);
  if (rc != ENOEXEC) return rc;
  size_t argc = 0;
  while (argv[argc] != NULL) argc++;
  /* glibc's script fallback: /bin/sh, the path, then argv[1..] (argv[0] is dropped). */
  char **sh = calloc(argc + 2, sizeof *sh);
  if (sh == NULL) return ENOMEM;
  sh[0] = "/bin/sh";
  sh[1] = (char *)path;
  for (size_t i = 1; i < argc; i++) sh[i + 1] = argv[i];
  rc = posix_spawn(pid, "/bin/sh", fa, at, sh, envp);
  free(sh);
  return rc;
}

/*
 * execvp(3)'s search (glibc 2.36, posix/execvpe.c), with the child's PATH: a name with a '/'
 * is tried as it is; otherwise each PATH entry in turn (an empty one is the current directory,
 * the child's), going on after ENOENT, ESTALE, ENOTDIR, ENODEV, ETIMEDOUT and EACCES, stopping
 * at any other error; at the end EACCES if any entry gave it, else the last error. A candidate
 * whose stat(2) says ENOENT or ENOTDIR is passed over without a spawn: its exec would fail with
 * that same error, and the common case (a program in the fourth entry of PATH) then costs one
 * spawn, not four. Not with a cwd: the child's chdir fails before its exec, and only a real
 * spawn tells which error it gives (a bad cwd fails every candidate alike, so the search ends
 * with the chdir's error, as libuv's child reports it).
 */
static int spawn_search(pid_t *pid, const char *file, const char *cwd,
                        const posix_spawn_file_actions_t *fa, const posix_spawnattr_t *at,
                        char **argv, char **envp) {
  if (*file == '\0') return ENOENT;
  if (strchr(file, '/') != NULL) return spawn_one(pid, file, fa, at, argv, envp);
  const char *path = env_get(envp, "PATH");
  if (path == NULL) path = "/bin:/usr/bin"; /* glibc's _CS_PATH */
  size_t file_len = strnlen(file, NAME_MAX + 1) + 1; /* with its NUL */
  if (file_len > NAME_MAX + 1) return ENAMETOOLONG;
  size_t path_len = strlen(path) + 1;
  size_t cwd_len = cwd != NULL ? strlen(cwd) + 1 : 0;
  char *buf = malloc(path_len + file_len + 1);
  char *probe = malloc(cwd_len + path_len + file_len + 1);
  if (buf == NULL || probe == NULL) {
    free(buf);
    free(probe);
    return ENOMEM;
  }
  int last = ENOENT;
  int got_eacces = 0;
  int rc = -1;
  for (const char *p = path;; p++) {
    const char *end = strchrnul(p, ':');
    size_t n = (size_t)(end - p);
    memcpy(buf, p, n);
    if (n > 0) buf[n++] = '/';
    memcpy(buf + n, file, file_len);
    /* The child resolves a relative candidate after its chdir: so does the probe. */
    const char *seen = buf;
    if (cwd != NULL && buf[0] != '/') {
      memcpy(probe, cwd, cwd_len - 1);
      probe[cwd_len - 1] = '/';
      strcpy(probe + cwd_len, buf);
      seen = probe;
    }
    struct stat st;
    int err;
    if (cwd == NULL && stat(seen, &st) != 0 && (errno == ENOENT || errno == ENOTDIR)) err = errno;
    else err = spawn_one(pid, buf, fa, at, argv, envp);
    if (err == 0) {
      rc = 0;
      break;
    }
    last = err;
    if (err == EACCES) got_eacces = 1;
    else if (err != ENOENT && err != ESTALE && err != ENOTDIR && err != ENODEV && err != ETIMEDOUT)
      break;
    if (*end == '\0') break;
    p = end;
  }
  free(buf);
  free(probe);
  if (rc == 0) return 0;
  return got_eacces && (last == EACCES || last == ENOENT || last == ESTALE || last == ENOTDIR ||
                        last == ENODEV || last == ETIMEDOUT)
             ? EACCES
             : last;
}

/* A started child: its pidfd, watched by a uv_poll_t until it has exited. */
typedef struct {
  uv_poll_t poll; /* first: the handle is the struct */
  napi_env env;
  napi_ref on_exit;
  napi_async_context ctx;
  napi_async_cleanup_hook_handle cleanup;
  pid_t pid;
  int pidfd;
  int exited;    /* reaped: kill() answers ESRCH from then on */
  int closing;   /* uv_close called */
  int closed;    /* on_closed ran */
  int finalized; /* JavaScript dropped the external: whichever comes last frees it */
} child_t;

static void on_closed(uv_handle_t *h) {
  child_t *c = (child_t *)h;
  close(c->pidfd);
  c->pidfd = -1;
  c->closed = 1;
  napi_remove_async_cleanup_hook(c->cleanup);
  if (c->finalized) free(c);
}

static void child_close(child_t *c) {
  c->closing = 1;
  uv_poll_stop(&c->poll);
  uv_close((uv_handle_t *)&c->poll, on_closed);
}

/* A worker thread ends with a child still running: libuv refuses to close a loop with an open
 * handle, so the watch goes (the child is left running and unreaped, as libuv leaves its own
 * when a process handle is closed). */
static void on_teardown(napi_async_cleanup_hook_handle h, void *data) {
  (void)h;
  child_t *c = data;
  if (c->closing) return;
  napi_delete_reference(c->env, c->on_exit);
  napi_async_destroy(c->env, c->ctx);
  child_close(c);
}

static void child_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  child_t *c = data;
  c->finalized = 1;
  if (c->closed) free(c);
}

static void on_exit_ready(uv_poll_t *h, int status, int events) {
  (void)status;
  (void)events;
  child_t *c = (child_t *)h;
  siginfo_t si;
  memset(&si, 0, sizeof si);
  int r = waitid(P_PIDFD, (id_t)c->pidfd, &si, WEXITED | WNOHANG);
  if (r == 0 && si.si_pid == 0) return; /* not exited yet */
  int err = r != 0 ? errno : 0;
  c->exited = 1;
  napi_env env = c->env;
  napi_handle_scope scope;
  napi_open_handle_scope(env, &scope);
  napi_value cb = NULL, recv = NULL, args[2];
  napi_get_reference_value(env, c->on_exit, &cb);
  napi_get_global(env, &recv);
  if (err != 0) { /* reaped by someone else: what libuv's uv__wait_children cannot tell either */
    args[0] = num(env, -err);
    args[1] = num(env, 0);
  } else if (si.si_code == CLD_EXITED) {
    args[0] = num(env, si.si_status);
    args[1] = num(env, 0);
  } else {
    args[0] = num(env, 0);
    args[1] = num(env, si.si_status);
  }
  napi_delete_reference(env, c->on_exit);
  child_close(c);
  /* make_callback, so that microtasks (the waiter engine's wake-ups) run after it, as after any
   * I/O callback of Node's; an exception is reported as one from such a callback. */
  bool thrown = false;
  if (cb != NULL && recv != NULL &&
      napi_make_callback(env, c->ctx, recv, cb, 2, args, NULL) == napi_pending_exception &&
      napi_is_exception_pending(env, &thrown) == napi_ok && thrown) {
    /* (napi_pending_exception with nothing thrown: a worker being terminated, no JS runs.) */
    napi_value exc;
    if (napi_get_and_clear_last_exception(env, &exc) == napi_ok) napi_fatal_exception(env, exc);
  }
  napi_async_destroy(env, c->ctx);
  napi_close_handle_scope(env, scope);
}

/* Closes what spawn() opened, on its way out (-1 slots are skipped). */
static void close_all(int *fds, int n) {
  for (int i = 0; i < n; i++)
    if (fds[i] >= 0) close(fds[i]);
}

/*
 * spawn(file, argv, envp, cwd | null, stdio Int32Array(3), onExit(code, signal))
 *   -> external child (its pid: pid(child)) | -errno | undefined (napi refused: thread ending)
 * stdio[i]: SPEC_PIPE, SPEC_IGNORE, SPEC_MERGE (i = 2) or a descriptor; on success a PIPE slot
 * holds our end of the pair (non-blocking is left to libuv, which sets it when Node opens it).
 */
static napi_value sp_spawn(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value a[6];
  if (napi_get_cb_info(env, info, &argc, a, NULL, NULL) != napi_ok || argc < 6)
    return num(env, -EINVAL);
  napi_valuetype t;
  int32_t *spec = NULL;
  size_t spec_len = 0;
  napi_typedarray_type tt;
  napi_value ab;
  size_t off;
  if (napi_get_typedarray_info(env, a[4], &tt, &spec_len, (void **)&spec, &ab, &off) != napi_ok ||
      tt != napi_int32_array || spec_len != 3)
    return num(env, -EINVAL);
  if (napi_typeof(env, a[5], &t) != napi_ok || t != napi_function) return num(env, -EINVAL);
  uv_loop_t *loop;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok) return num(env, -EINVAL);

  char *file = str_arg(env, a[0]);
  char **argv = strv_arg(env, a[1]);
  /* Always given: reading `environ` here would race a SHARE_ENV worker's setenv, which Node
   * makes under a lock of its own that an addon cannot take (its unsetenv moves the entries,
   * its setenv may free the array). */
  char **envp = strv_arg(env, a[2]);
  char *cwd = NULL;
  int bad = file == NULL || argv == NULL || envp == NULL;
  if (!bad && napi_typeof(env, a[3], &t) == napi_ok && t != napi_null) {
    cwd = str_arg(env, a[3]);
    bad = cwd == NULL;
  }
  child_t *c = bad ? NULL : calloc(1, sizeof *c);
  /* The external first, while nothing is started: in a worker being terminated napi refuses
   * to make it, and a child started then would have no handle (and this call no value to
   * return). Until its watch is open the finalizer alone frees it. */
  napi_value ext = NULL;
  int refused = 0;
  if (c != NULL) {
    c->pidfd = -1;
    c->closed = 1;
    if (napi_create_external(env, c, child_finalize, NULL, &ext) != napi_ok) {
      free(c);
      c = NULL;
      refused = 1;
    }
  }
  if (c == NULL) {
    free(file);
    strv_free(argv);
    strv_free(envp);
    free(cwd);
    /* NULL (undefined) where napi refused: this env runs no more JavaScript anyway. */
    return refused ? NULL : num(env, bad ? -EINVAL : -ENOMEM);
  }

  /* ours[i]: our end of a pair; theirs[i]: what the child gets on fd i (closed here after). */
  int ours[3] = {-1, -1, -1}, theirs[3] = {-1, -1, -1};
  int err = 0;
  for (int i = 0; i < 3 && err == 0; i++) {
    int s = spec[i];
    if (s == SPEC_PIPE) {
      int sv[2];
      if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) err = errno;
      else {
        ours[i] = sv[0];
        theirs[i] = sv[1];
      }
    } else if (s == SPEC_MERGE) {
      if (i != 2 || spec[1] != SPEC_PIPE) err = EINVAL;
    } else if (s >= 0) {
      /* What libuv does in the child to fds 0..2 it did not make: blocking again. */
      int fl = fcntl(s, F_GETFL);
      if (fl < 0) err = errno; /* EBADF, before any search: libuv's child fails at its dup too */
      else if (fl & O_NONBLOCK) fcntl(s, F_SETFL, fl & ~O_NONBLOCK);
      if (err == 0 && s != i && (theirs[i] = fcntl(s, F_DUPFD_CLOEXEC, 3)) < 0) err = errno;
    } else if (s != SPEC_IGNORE) {
      err = EINVAL;
    }
  }

  posix_spawn_file_actions_t fa;
  posix_spawnattr_t at;
  int fa_ok = 0, at_ok = 0;
  if (err == 0) err = posix_spawn_file_actions_init(&fa);
  if (err == 0) {
    fa_ok = 1;
    err = posix_spawnattr_init(&at);
  }
  if (err == 0) at_ok = 1;
  for (int i = 0; i < 3 && err == 0; i++) {
    int s = spec[i];
    if (s == SPEC_IGNORE)
      err = posix_spawn_file_actions_addopen(&fa, i, "/dev/null", i == 0 ? O_RDONLY : O_RDWR, 0);
    else if (s == SPEC_MERGE) err = posix_spawn_file_actions_adddup2(&fa, theirs[1], i);
    else /* adddup2(i, i) clears FD_CLOEXEC on an inherited fd, as libuv's child does */
      err = posix_spawn_file_actions_adddup2(&fa, s == i ? i : theirs[i], i);
  }
  if (err == 0 && cwd != NULL) err = posix_spawn_file_actions_addchdir_np(&fa, cwd);
  if (err == 0) {
    sigset_t def, mask;
    sigemptyset(&def);
    sigemptyset(&mask);
    for (int n = 1; n < 32; n++)
      if (n != SIGKILL && n != SIGSTOP) sigaddset(&def, n);
    /* glibc's child sets its own two internal signals (32, 33: thread cancellation and setxid)
     * to SIG_IGN unless they are in this set, and an ignored signal stays ignored across exec;
     * libuv's child leaves them at their default. sigaddset refuses them: set the bits. */
    for (int n = 32; n <= 33; n++)
      ((unsigned long *)&def)[(n - 1) / (8 * sizeof(unsigned long))] |=
          1UL << ((n - 1) % (8 * sizeof(unsigned long)));
    err = posix_spawnattr_setsigdefault(&at, &def);
    if (err == 0) err = posix_spawnattr_setsigmask(&at, &mask);
    if (err == 0) err = posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
  }
  pid_t pid = -1;
  if (err == 0) err = spawn_search(&pid, file, cwd, &fa, &at, argv, envp);
  if (fa_ok) posix_spawn_file_actions_destroy(&fa);
  if (at_ok) posix_spawnattr_destroy(&at);
  free(file);
  strv_free(argv);
  strv_free(envp);
  free(cwd);
  close_all(theirs, 3);

  int pidfd = -1;
  if (err == 0) {
    pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (pidfd < 0) {
      /* Started but not watchable (out of descriptors): better no child than one nobody reaps. */
      err = errno;
      kill(pid, SIGKILL);
      waitpid(pid, NULL, 0);
    }
  }
  if (err == 0 && (err = -uv_poll_init(loop, &c->poll, pidfd)) != 0) {
    close(pidfd);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
  }
  if (err != 0) {
    close_all(ours, 3);
    return num(env, -err); /* c: the external's finalizer frees it */
  }
  c->closed = 0;
  uv_poll_start(&c->poll, UV_READABLE, on_exit_ready);
  c->env = env;
  c->pid = pid;
  c->pidfd = pidfd;
  napi_create_reference(env, a[5], 1, &c->on_exit);
  napi_value name;
  napi_create_string_utf8(env, "weft:subprocess", NAPI_AUTO_LENGTH, &name);
  napi_async_init(env, NULL, name, &c->ctx);
  napi_add_async_cleanup_hook(env, on_teardown, c, &c->cleanup);
  for (int i = 0; i < 3; i++) spec[i] = ours[i];
  return ext;
}

static child_t *child_arg(napi_env env, napi_value v) {
  void *p = NULL;
  if (napi_get_value_external(env, v, &p) != napi_ok) return NULL;
  return p;
}

/* pid(child) -> its pid */
static napi_value sp_pid(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value a[1];
  napi_get_cb_info(env, info, &argc, a, NULL, NULL);
  child_t *c = argc == 1 ? child_arg(env, a[0]) : NULL;
  return num(env, c == NULL ? -EINVAL : c->pid);
}

/* kill(child, signal) -> 0 | -errno (ESRCH once it has been reaped) */
static napi_value sp_kill(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value a[2];
  int32_t sig;
  napi_get_cb_info(env, info, &argc, a, NULL, NULL);
  child_t *c = argc == 2 ? child_arg(env, a[0]) : NULL;
  if (c == NULL || napi_get_value_int32(env, a[1], &sig) != napi_ok) return num(env, -EINVAL);
  if (c->exited || c->closing) return num(env, -ESRCH);
  return num(env, kill(c->pid, sig) != 0 ? -errno : 0);
}

/* ref(child, on): whether the watch keeps the loop alive (uv_ref / uv_unref) -> 0 */
static napi_value sp_ref(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value a[2];
  bool on;
  napi_get_cb_info(env, info, &argc, a, NULL, NULL);
  child_t *c = argc == 2 ? child_arg(env, a[0]) : NULL;
  if (c == NULL || napi_get_value_bool(env, a[1], &on) != napi_ok) return num(env, -EINVAL);
  if (!c->closing) {
    if (on) uv_ref((uv_handle_t *)&c->poll);
    else uv_unref((uv_handle_t *)&c->poll);
  }
  return num(env, 0);
}

/* available() -> 0 when this kernel has pidfd_open (Linux 5.3) and waitid(P_PIDFD) (5.4),
 * else -errno: the caller keeps Node's spawn then. */
static napi_value sp_available(napi_env env, napi_callback_info info) {
  (void)info;
  int fd = (int)syscall(SYS_pidfd_open, getpid(), 0);
  if (fd < 0) return num(env, -errno);
  siginfo_t si;
  memset(&si, 0, sizeof si);
  /* Our own pid is no child of ours: ECHILD proves P_PIDFD is understood (EINVAL: it is not). */
  int r = waitid(P_PIDFD, (id_t)fd, &si, WEXITED | WNOHANG);
  int err = r == 0 ? 0 : errno;
  close(fd);
  return num(env, err == ECHILD || err == 0 ? 0 : -err);
}

static napi_value init(napi_env env, napi_value exports) {
  const struct {
    const char *name;
    napi_callback fn;
  } fns[] = {
      {"spawn", sp_spawn},
      {"pid", sp_pid},
      {"kill", sp_kill},
      {"ref", sp_ref},
      {"available", sp_available},
  };
  for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
    napi_value f;
    napi_create_function(env, fns[i].name, NAPI_AUTO_LENGTH, fns[i].fn, NULL, &f);
    napi_set_named_property(env, exports, fns[i].name, f);
  }
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)

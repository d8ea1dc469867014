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
 *   spawn(file, argv, envp, cwd, block[9], onExit, keep[]?, groups[]?)
 *     ├─ stdio: socketpair per PIPE (our end stays here), /dev/null per IGNORE, a CLOEXEC copy
 *     │   of every other descriptor (so that swapped targets, stdout: 2 with stderr: 1, do
 *     │   not overwrite each other, as libuv's own first pass avoids)
 *     ├─ no umask, user, group or extra groups asked for:
 *     │     posix_spawn per PATH candidate, searched as execvp(3) searches, in the *child's*
 *     │     PATH (libuv sets environ to the child's before execvp); then pidfd_open(pid)
 *     ├─ otherwise (posix_spawn has no attribute for them): clone_spawn, one child of our own
 *     │     made as glibc makes posix_spawn's (CLONE_VM|CLONE_VFORK), with CLONE_PIDFD
 *     ├─ pidfd ──► uv_poll_t readable once the child has exited
 *     └─► external { pid }      ... on_exit: waitid(P_PIDFD) reaps it ──► onExit(code, signal)
 *
 * The child is set up as libuv sets up its own (src/unix/process.c, uv__process_child_init):
 * signals 1..31 back to their default action and an empty signal mask; fds 0..2 from the stdio
 * specs, each no longer O_NONBLOCK (libuv clears it in the child, on the same open file
 * description; here the parent clears it before the spawn); the cwd; then the exec. And, as
 * CPython's _posixsubprocess adds for Popen's keywords: the `keep` descriptors (pass_fds) open at
 * their own numbers, every other one above 2 closed (close_fds), a new session (setsid) or a
 * process group (setpgid), the umask, the extra groups, group and user (setgroups, setregid,
 * setreuid), in CPython's order: chdir, umask, setsid, setpgid, setgroups, setregid, setreuid.
 *
 * Reaping: libuv's SIGCHLD handler calls waitpid() on the pids of its own process handles
 * only, never waitpid(-1), so it never takes a child of ours; the pidfd becomes readable when
 * the child exits and waitid(P_PIDFD) reaps it. Signals go through the pidfd too
 * (pidfd_send_signal), which can never reach a process that took the pid after ours.
 *
 * Every call returns a number: >= 0 on success, -errno on failure (no exceptions).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <node_api.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <uv.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif
#ifndef SYS_close_range
#define SYS_close_range 436
#endif
#ifndef P_PIDFD
#define P_PIDFD 3
#endif
#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif
/* The credential calls with 32-bit ids: where the kernel also keeps the 16-bit ones under the
 * plain names (32-bit x86 and ARM), those would cut a uid above 65535 to its low bits and read
 * the groups as an array of 16-bit ids. */
#ifdef SYS_setreuid32
#define SYS_SETREUID SYS_setreuid32
#define SYS_SETREGID SYS_setregid32
#define SYS_SETGROUPS SYS_setgroups32
#else
#define SYS_SETREUID SYS_setreuid
#define SYS_SETREGID SYS_setregid
#define SYS_SETGROUPS SYS_setgroups
#endif

/* glibc 2.34's posix_spawn_file_actions_addclosefrom_np. Nested: an #if of __GLIBC_PREREQ(…)
 * is a syntax error where it is not defined (musl), even behind a defined() test. */
#ifdef __GLIBC_PREREQ
#if __GLIBC_PREREQ(2, 34)
#define HAVE_CLOSEFROM_NP 1
#endif
#endif

/* What this build can do, for subprocess-native.ts: 2 added attrs, keep, groups and lookup; 3
 * took the stdio specs and the attributes in one block (one typed array per spawn, not three). */
#define VERSION 3

/* The stdio specs of spawn(); a value >= 0 is a descriptor of this process to give the child. */
#define SPEC_PIPE (-1)   /* a new socket pair; our end comes back in its slot */
#define SPEC_IGNORE (-2) /* /dev/null */
#define SPEC_MERGE (-3)  /* stderr only: the child end of stdout's pipe */

/*
 * The block, an Int32Array that subprocess-native.ts fills before each spawn (and reuses: a
 * typed array N-API is handed for the first time is moved off V8's heap, a cost per array):
 * | idx  | name  | writer       | meaning                                                        |
 * | 0..2 | STDIO | JS, then C   | a spec per fd 0..2 (SPEC_* or a descriptor); on success our    |
 * |      |       |              | end of each PIPE                                               |
 * |  3   | FLAGS | JS           | the ATTR_* bits below                                          |
 * |  4   | PGID  | JS           | with ATTR_SETPGROUP: setpgid(0, PGID) (0: a group of its own)  |
 * |  5   | UMASK | JS           | with ATTR_UMASK_SET                                            |
 * |  6   | UID   | JS           | with ATTR_SETUID, as a uint32                                  |
 * |  7   | GID   | JS           | with ATTR_SETGID, as a uint32                                  |
 * |  8   | STAGE | C            | on failure: STAGE_*, the step that failed                      |
 */
#define ATTR_STDIO 0
#define ATTR_FLAGS 3
#define ATTR_PGID 4
#define ATTR_UMASK 5
#define ATTR_UID 6
#define ATTR_GID 7
#define ATTR_STAGE 8
#define BLOCK_LEN 9

#define ATTR_SETSID 1
#define ATTR_SETPGROUP 2
#define ATTR_CLOSE_FDS 4
#define ATTR_UMASK_SET 8
#define ATTR_SETUID 16
#define ATTR_SETGID 32
#define ATTR_SETGROUPS 64
/* What posix_spawn cannot do: these take clone_spawn. */
#define ATTR_NEEDS_CLONE (ATTR_UMASK_SET | ATTR_SETUID | ATTR_SETGID | ATTR_SETGROUPS)

/* The step a failed spawn failed at: Python names the program in the error of the exec, the
 * cwd in that of the chdir, and nothing for the other steps (setpgid's EPERM, a bad pass_fds). */
#define STAGE_EXEC 0
#define STAGE_CWD 1
#define STAGE_SETUP 2

typedef struct {
  int flags;
  pid_t pgid;
  mode_t umask;
  uid_t uid;
  gid_t gid;
  const int32_t *keep; /* sorted, no duplicates, each >= 3 */
  size_t nkeep;
  const gid_t *groups;
  size_t ngroups;
} attrs_t;

/* NULL (undefined to JavaScript) where N-API refuses: an unset napi_value handed back to V8
 * crashes the process, and a refusal only comes from a thread that runs no more JavaScript. */
static napi_value num(napi_env env, double v) {
  napi_value r = NULL;
  return napi_create_double(env, v, &r) == napi_ok ? r : NULL;
}

/* A copy of a JS string (NULL for anything else, or when there is no memory). */
static char *str_arg(napi_env env, napi_value v) {
  size_t n;
  if (napi_get_value_string_utf8(env, v, NULL, 0, &n) != napi_ok) return NULL;
  char *s = malloc(n + 1);
  if (s != NULL && napi_get_value_string_utf8(env, v, s, n + 1, &n) != napi_ok) {
    free(s);
    s = NULL;
  }
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

/* The elements of a typed array of `type` (undefined: none); -1 for anything else. */
static int typed_arg(napi_env env, napi_value v, napi_typedarray_type type, void **data,
                     size_t *len) {
  napi_valuetype t;
  *data = NULL;
  *len = 0;
  if (napi_typeof(env, v, &t) != napi_ok) return -1;
  if (t == napi_undefined) return 0;
  napi_typedarray_type tt;
  napi_value ab;
  size_t off;
  if (napi_get_typedarray_info(env, v, &tt, len, data, &ab, &off) != napi_ok || tt != type)
    return -1;
  return 0;
}

/* getenv(3) over the child's environment: the first NAME=, as getenv takes it. */
static const char *env_get(char **envp, const char *name) {
  size_t n = strlen(name);
  for (char **p = envp; *p != NULL; p++)
    if (strncmp(*p, name, n) == 0 && (*p)[n] == '=') return *p + n + 1;
  return NULL;
}

/*
 * The paths execvp(3) tries for `file` (glibc 2.36, posix/execvpe.c), with the child's PATH: a
 * name with a '/' as it is; otherwise each PATH entry in turn (an empty one is the current
 * directory, the child's). NULL-terminated; NULL with *err set on failure.
 */
static char **candidates(const char *file, char **envp, int *err) {
  if (*file == '\0') {
    *err = ENOENT;
    return NULL;
  }
  if (strchr(file, '/') != NULL) {
    char **v = calloc(2, sizeof *v);
    if (v == NULL || (v[0] = strdup(file)) == NULL) {
      free(v);
      *err = ENOMEM;
      return NULL;
    }
    return v;
  }
  size_t file_len = strnlen(file, NAME_MAX + 1);
  if (file_len > NAME_MAX) {
    *err = ENAMETOOLONG;
    return NULL;
  }
  const char *path = env_get(envp, "PATH");
  if (path == NULL) path = "/bin:/usr/bin"; /* glibc's _CS_PATH */
  size_t n = 1;
  for (const char *p = path; *p != '\0'; p++) n += *p == ':';
  char **v = calloc(n + 1, sizeof *v);
  if (v == NULL) {
    *err = ENOMEM;
    return NULL;
  }
  const char *p = path;
  for (size_t i = 0; i < n; i++) {
    const char *end = strchrnul(p, ':');
    size_t dir_len = (size_t)(end - p);
    char *c = malloc(dir_len + file_len + 2);
    if (c == NULL) {
      strv_free(v);
      *err = ENOMEM;
      return NULL;
    }
    memcpy(c, p, dir_len);
    if (dir_len > 0) c[dir_len++] = '/';
    memcpy(c + dir_len, file, file_len + 1);
    v[i] = c;
    p = *end == ':' ? end + 1 : end;
  }
  return v;
}

/* execvp's rule for a failed candidate: whether the search goes on to the next one. */
static int search_goes_on(int err) {
  return err == EACCES || err == ENOENT || err == ESTALE || err == ENOTDIR || err == ENODEV ||
         err == ETIMEDOUT;
}

/* execvp's error once every candidate failed: EACCES if any gave it, else the last one's. */
static int search_error(int last, int got_eacces) {
  return got_eacces && search_goes_on(last) ? EACCES : last;
}

/*
 * Where the child's chdir(cwd) would fail, found without a child: the same walk of the path
 * (ENOENT, ENOTDIR, ELOOP, EACCES on the way) and the search permission on the directory itself,
 * with the credentials the child has at its chdir (this process's). 0 and *dir (an O_PATH
 * descriptor of it) when it would succeed.
 */
static int cwd_error(const char *cwd, int *dir) {
  int fd = open(cwd, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return errno;
  if (faccessat(AT_FDCWD, cwd, X_OK, AT_EACCESS) != 0) {
    int err = errno;
    close(fd);
    return err;
  }
  *dir = fd;
  return 0;
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
 * execvp(3)'s search through posix_spawn: each candidate in turn, going on after ENOENT, ESTALE,
 * ENOTDIR, ENODEV, ETIMEDOUT and EACCES, stopping at any other error. A candidate whose stat(2)
 * says ENOENT or ENOTDIR is passed over without a spawn: its exec would fail with that same
 * error, and the common case (a program in the fourth entry of PATH) then costs one spawn, not
 * four. A relative candidate is looked at from `dir` (the cwd, or AT_FDCWD), where the child
 * looks for it: the caller has checked that the child's chdir succeeds (cwd_error), so the stat
 * sees what the exec will. The last candidate (the only one of a path with a '/') is spawned
 * without a look: a stat there would only cost the common case a system call, and a child that
 * fails its set-up (setsid, setpgid) before the exec reports that failure, as Python's does.
 */
static int spawn_search(pid_t *pid, char **cands, int dir, const posix_spawn_file_actions_t *fa,
                        const posix_spawnattr_t *at, char **argv, char **envp) {
  int last = ENOENT, got_eacces = 0, err = ENOENT;
  for (char **c = cands; *c != NULL; c++) {
    struct stat st;
    if (c[1] != NULL && fstatat(dir, *c, &st, 0) != 0 && (errno == ENOENT || errno == ENOTDIR))
      err = errno;
    else if ((err = spawn_one(pid, *c, fa, at, argv, envp)) == 0) break;
    last = err;
    if (err == EACCES) got_eacces = 1;
    else if (!search_goes_on(err)) break;
  }
  return err == 0 ? 0 : search_error(last, got_eacces);
}

/* Whether `fd` is open here without FD_CLOEXEC: one the exec would carry into the child. */
static int inheritable(int fd) {
  int fl = fcntl(fd, F_GETFD);
  return fl >= 0 && (fl & FD_CLOEXEC) == 0;
}

static int kept(const attrs_t *at, int fd) {
  for (size_t k = 0; k < at->nkeep; k++)
    if (at->keep[k] == fd) return 1;
  return 0;
}

/*
 * close_fds for posix_spawn: a close action for every descriptor above 2 that the exec would
 * carry into the child, except the kept ones. Above the highest kept one glibc 2.34's
 * addclosefrom_np closes them all in the child (one close_range); below it, and everywhere
 * before 2.34, those open here without FD_CLOEXEC now: each one Node and libuv open has it, so
 * one opened by another thread after this look is closed by the exec anyway.
 */
static int add_closes(posix_spawn_file_actions_t *fa, const attrs_t *at) {
  int limit = INT_MAX, err = 0;
#ifdef HAVE_CLOSEFROM_NP
  int top = at->nkeep > 0 ? at->keep[at->nkeep - 1] : 2;
  if ((err = posix_spawn_file_actions_addclosefrom_np(fa, top + 1)) != 0 || top < 3) return err;
  limit = top;
#endif
  DIR *d = opendir("/proc/self/fd");
  if (d == NULL) {
    /* No /proc (a chroot): every descriptor up to the soft limit. */
    struct rlimit rl;
    int max = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)INT_MAX
                  ? (int)rl.rlim_cur
                  : 65536;
    if (max > limit) max = limit;
    for (int fd = 3; fd < max && err == 0; fd++)
      if (inheritable(fd) && !kept(at, fd)) err = posix_spawn_file_actions_addclose(fa, fd);
    return err;
  }
  for (struct dirent *e; err == 0 && (e = readdir(d)) != NULL;) {
    char *end;
    long fd = strtol(e->d_name, &end, 10);
    if (*end != '\0' || fd < 3 || fd >= limit || fd == dirfd(d)) continue;
    if (inheritable((int)fd) && !kept(at, (int)fd))
      err = posix_spawn_file_actions_addclose(fa, (int)fd);
  }
  closedir(d);
  return err;
}

/* --- clone_spawn: the child for what posix_spawn has no attribute for --- */

/* What clone_spawn's child does, prepared by the parent: the child may not allocate (it shares
 * this process's heap, whose other threads go on running). */
typedef struct {
  int src[3];        /* the child's fd i: a descriptor (i itself: kept as it is), or -1: /dev/null */
  const char *cwd;   /* or NULL */
  const attrs_t *at; /* the Popen attributes */
  char **cands;      /* the exec candidates, NULL-terminated */
  char **argv;
  char **envp;
  char **sh;         /* "/bin/sh", <candidate>, argv[1..]: a script without "#!" */
  int err;           /* written by the child when it fails, before it exits */
  int stage;
} plan_t;

/* A raw rt_sigprocmask: glibc's wrappers leave its two internal signals (32, 33) out. */
static void sigmask_raw(int how, const sigset_t *set, sigset_t *old) {
  syscall(SYS_rt_sigprocmask, how, set, old, _NSIG / 8);
}

/* Signals 32 and 33 back to their default in clone_spawn's child, where glibc's sigaction
 * refuses them: glibc installs its setxid handler (33) in every process, and run in the child it
 * would act on the parent thread's memory. The kernel's struct sigaction, as x86_64 and aarch64
 * lay it out; elsewhere the two stay blocked until the exec, which resets a caught one. */
static void internal_signals_default(void) {
#if defined(__x86_64__) || defined(__aarch64__)
  struct {
    void (*handler)(int);
    unsigned long flags;
    void (*restorer)(void);
    uint64_t mask;
  } dfl = {SIG_DFL, 0, NULL, 0};
  for (int n = 32; n <= 33; n++) syscall(SYS_rt_sigaction, n, &dfl, NULL, sizeof dfl.mask);
#endif
}

/* open(2) and close(2) for the child: glibc's wrappers are cancellation points, which mark the
 * thread in its struct pthread — the parent thread's here, since the child has its TLS. */
static int raw_open(const char *path, int flags) {
  return (int)syscall(SYS_openat, AT_FDCWD, path, flags);
}

static void raw_close(int fd) {
  syscall(SYS_close, fd);
}

__attribute__((noreturn)) static void child_fail(plan_t *p, int stage) {
  p->err = errno;
  p->stage = stage;
  _exit(127);
}

/*
 * The child, on a stack of its own, sharing this process's memory until it execs (CLONE_VM |
 * CLONE_VFORK, as glibc's posix_spawn child): only system calls here. Every signal is blocked
 * (the parent blocked them before the clone) until each handler of this process's is back at
 * its default: a handler run here would run on the parent's memory. Credentials are changed with
 * the raw system calls: glibc's setuid would signal the parent's threads to change theirs too.
 */
static int child_main(void *arg) {
  plan_t *p = arg;
  const attrs_t *at = p->at;
  struct sigaction dfl;
  memset(&dfl, 0, sizeof dfl);
  dfl.sa_handler = SIG_DFL;
  for (int n = 1; n < _NSIG; n++) {
    struct sigaction old;
    if (n == SIGKILL || n == SIGSTOP || sigaction(n, NULL, &old) != 0) continue; /* 32, 33: EINVAL */
    /* 1..31 to their default even when ignored, as libuv's child; a caught one above that too
     * (its handler is this process's); one ignored above that stays ignored, as posix_spawn's. */
    if (n < 32 || (old.sa_handler != SIG_IGN && old.sa_handler != SIG_DFL))
      sigaction(n, &dfl, NULL);
  }
  internal_signals_default();
  for (int i = 0; i < 3; i++) {
    int s = p->src[i];
    if (s == i) {
      if (fcntl(i, F_SETFD, 0) != 0) child_fail(p, STAGE_SETUP);
    } else if (s >= 0) {
      if (dup2(s, i) < 0) child_fail(p, STAGE_SETUP);
    } else {
      int fd = raw_open("/dev/null", i == 0 ? O_RDONLY : O_RDWR);
      if (fd < 0) child_fail(p, STAGE_SETUP);
      if (fd != i) {
        if (dup2(fd, i) < 0) child_fail(p, STAGE_SETUP);
        raw_close(fd);
      }
    }
  }
  for (size_t k = 0; k < at->nkeep; k++)
    if (fcntl(at->keep[k], F_SETFD, 0) != 0) child_fail(p, STAGE_SETUP);
  if (at->flags & ATTR_CLOSE_FDS) {
    unsigned int from = 3;
    for (size_t k = 0; k <= at->nkeep; k++) {
      unsigned int to = k < at->nkeep ? (unsigned int)at->keep[k] - 1 : ~0U;
      if (from <= to && syscall(SYS_close_range, from, to, 0) != 0) {
        /* Before Linux 5.9: one by one, up to the soft limit. */
        struct rlimit rl;
        unsigned int max = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 65536 * 16
                               ? (unsigned int)rl.rlim_cur
                               : 65536 * 16;
        for (unsigned int fd = from; fd <= to && fd < max; fd++) raw_close((int)fd);
      }
      if (k < at->nkeep) from = (unsigned int)at->keep[k] + 1;
    }
  }
  if (p->cwd != NULL && chdir(p->cwd) != 0) child_fail(p, STAGE_CWD);
  if (at->flags & ATTR_UMASK_SET) umask(at->umask);
  if ((at->flags & ATTR_SETSID) && setsid() < 0) child_fail(p, STAGE_SETUP);
  if ((at->flags & ATTR_SETPGROUP) && setpgid(0, at->pgid) != 0) child_fail(p, STAGE_SETUP);
  if ((at->flags & ATTR_SETGROUPS) && syscall(SYS_SETGROUPS, at->ngroups, at->groups) != 0)
    child_fail(p, STAGE_SETUP);
  if ((at->flags & ATTR_SETGID) && syscall(SYS_SETREGID, at->gid, at->gid) != 0)
    child_fail(p, STAGE_SETUP);
  if ((at->flags & ATTR_SETUID) && syscall(SYS_SETREUID, at->uid, at->uid) != 0)
    child_fail(p, STAGE_SETUP);
  /* Every handler is at its default now: the child's mask can be its own (empty) again. */
  sigset_t none;
  sigemptyset(&none);
  sigmask_raw(SIG_SETMASK, &none, NULL);
  int last = ENOENT, got_eacces = 0;
  for (char **c = p->cands; *c != NULL; c++) {
    execve(*c, p->argv, p->envp);
    int err = errno;
    if (err == ENOEXEC) {
      p->sh[1] = *c;
      execve("/bin/sh", p->sh, p->envp);
      err = errno;
    }
    last = err;
    if (err == EACCES) got_eacces = 1;
    else if (!search_goes_on(err)) break;
  }
  errno = search_error(last, got_eacces);
  child_fail(p, STAGE_EXEC);
}

/* The stack clone_spawn's child runs on: it calls no library function that needs much. Below
 * it one page with no access (clone_spawn), so that an overflow kills the child rather than
 * writing into whatever mapping of this process lies there. */
#define CHILD_STACK (64 * 1024)

/*
 * Starts the child of `p` with clone(CLONE_VM | CLONE_VFORK | CLONE_PIDFD): this thread waits
 * until the child has exec'd or failed, as in posix_spawn; *pidfd comes with the child, so no
 * child can be left without one. 0, or the errno of the step that failed (p->stage).
 */
static int clone_spawn(plan_t *p, pid_t *pid, int *pidfd) {
  size_t argc = 0;
  while (p->argv[argc] != NULL) argc++;
  p->sh = calloc(argc + 2, sizeof *p->sh);
  /* The guard is a whole page: 4 KiB, or 16 or 64 KiB on some arm64 kernels. */
  long pagesize = sysconf(_SC_PAGESIZE);
  size_t guard = pagesize > 0 ? (size_t)pagesize : 4096;
  void *stack = mmap(NULL, guard + CHILD_STACK, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  if (p->sh == NULL || stack == MAP_FAILED || mprotect(stack, guard, PROT_NONE) != 0) {
    free(p->sh);
    if (stack != MAP_FAILED) munmap(stack, guard + CHILD_STACK);
    return ENOMEM;
  }
  p->sh[0] = "/bin/sh";
  for (size_t i = 1; i < argc; i++) p->sh[i + 1] = p->argv[i];
  p->err = 0;
  p->stage = STAGE_EXEC;
  /* Every signal, 32 and 33 too: glibc's sigfillset leaves those two out (its posix_spawn blocks
   * them with a set of its own). */
  sigset_t all, old;
  memset(&all, 0xff, sizeof all);
  sigmask_raw(SIG_BLOCK, &all, &old);
  int fd = -1;
  pid_t r = clone(child_main, (char *)stack + guard + CHILD_STACK,
                  CLONE_VM | CLONE_VFORK | CLONE_PIDFD | SIGCHLD, p, &fd);
  int err = r < 0 ? errno : 0;
  sigmask_raw(SIG_SETMASK, &old, NULL);
  /* CLONE_VFORK: the child has exec'd or exited by now, and no longer runs on this stack. */
  munmap(stack, guard + CHILD_STACK);
  free(p->sh);
  p->sh = NULL;
  if (err != 0) {
    p->stage = STAGE_SETUP;
    return err;
  }
  if (p->err != 0) {
    /* The child failed before its exec and has exited: reap it. */
    siginfo_t si;
    waitid(P_PIDFD, (id_t)fd, &si, WEXITED);
    close(fd);
    return p->err;
  }
  *pid = r;
  *pidfd = fd;
  return 0;
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
  /* A teardown waiting on this child may go on. */
  if (c->cleanup != NULL) napi_remove_async_cleanup_hook(c->cleanup);
  c->cleanup = NULL;
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
  if (c->closing) return; /* on_closed removes the hook */
  if (c->closed) {
    /* No handle (sp_spawn removes the hook itself when no child started): nothing to wait for,
     * but Node waits for the removal. */
    napi_remove_async_cleanup_hook(c->cleanup);
    c->cleanup = NULL;
    return;
  }
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
  /* Any refusal (a thread that runs no more JavaScript) skips the call, never the closing: an
   * unset value handed to V8 crashes the process. */
  napi_handle_scope scope = NULL;
  int scoped = napi_open_handle_scope(env, &scope) == napi_ok;
  napi_value cb = NULL, recv = NULL, args[2] = {NULL, NULL};
  if (scoped && napi_get_reference_value(env, c->on_exit, &cb) == napi_ok && cb != NULL &&
      napi_get_global(env, &recv) == napi_ok) {
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
  }
  napi_delete_reference(env, c->on_exit);
  c->on_exit = NULL;
  child_close(c);
  /* make_callback, so that microtasks (the waiter engine's wake-ups) run after it, as after any
   * I/O callback of Node's; an exception is reported as one from such a callback. */
  bool thrown = false;
  if (args[0] != NULL && args[1] != NULL &&
      napi_make_callback(env, c->ctx, recv, cb, 2, args, NULL) == napi_pending_exception &&
      napi_is_exception_pending(env, &thrown) == napi_ok && thrown) {
    /* (napi_pending_exception with nothing thrown: a worker being terminated, no JS runs.) */
    napi_value exc;
    if (napi_get_and_clear_last_exception(env, &exc) == napi_ok) napi_fatal_exception(env, exc);
  }
  napi_async_destroy(env, c->ctx);
  c->ctx = NULL;
  if (scoped) napi_close_handle_scope(env, scope);
}

/* Closes what spawn() opened, on its way out (-1 slots are skipped). */
static void close_all(int *fds, int n) {
  for (int i = 0; i < n; i++)
    if (fds[i] >= 0) close(fds[i]);
}

/*
 * The posix_spawn path: file actions and attributes for the stdio (theirs[i]: the descriptor
 * for the child's fd i, when it is not i itself), the kept and closed descriptors and the cwd,
 * the signals, the session or process group; then execvp's search. The pidfd is opened after the
 * spawn, into a slot held since before it: only another thread taking that slot in between can
 * leave a started child without one (then it is killed and reaped: nobody could watch it). The
 * slot is held by a copy of `held`, a descriptor that stays open (the loop's epoll set): a dup
 * takes a tenth of the time of opening a file by its path.
 */
static int posix_path(const int32_t *spec, const int *theirs, const char *cwd, int dir, int held,
                      const attrs_t *at, char **cands, char **argv, char **envp, pid_t *pid,
                      int *pidfd, int *stage) {
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t sa;
  int fa_ok = 0, sa_ok = 0;
  int err = posix_spawn_file_actions_init(&fa);
  if (err == 0) {
    fa_ok = 1;
    err = posix_spawnattr_init(&sa);
  }
  if (err == 0) sa_ok = 1;
  for (int i = 0; i < 3 && err == 0; i++) {
    int s = spec[i];
    if (s == SPEC_IGNORE)
      err = posix_spawn_file_actions_addopen(&fa, i, "/dev/null", i == 0 ? O_RDONLY : O_RDWR, 0);
    else if (s == SPEC_MERGE) err = posix_spawn_file_actions_adddup2(&fa, theirs[1], i);
    else /* adddup2(i, i) clears FD_CLOEXEC on an inherited fd, as libuv's child does */
      err = posix_spawn_file_actions_adddup2(&fa, s == i ? i : theirs[i], i);
  }
  for (size_t k = 0; k < at->nkeep && err == 0; k++)
    err = posix_spawn_file_actions_adddup2(&fa, at->keep[k], at->keep[k]);
  if (err == 0 && (at->flags & ATTR_CLOSE_FDS)) err = add_closes(&fa, at);
  if (err == 0 && cwd != NULL) err = posix_spawn_file_actions_addchdir_np(&fa, cwd);
  short flags = POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK;
  if (at->flags & ATTR_SETSID) flags |= POSIX_SPAWN_SETSID;
  if (at->flags & ATTR_SETPGROUP) {
    flags |= POSIX_SPAWN_SETPGROUP;
    if (err == 0) err = posix_spawnattr_setpgroup(&sa, at->pgid);
  }
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
    err = posix_spawnattr_setsigdefault(&sa, &def);
    if (err == 0) err = posix_spawnattr_setsigmask(&sa, &mask);
    if (err == 0) err = posix_spawnattr_setflags(&sa, flags);
  }
  int spare = -1;
  if (err == 0 && (spare = fcntl(held, F_DUPFD_CLOEXEC, 0)) < 0) {
    err = errno;
    *stage = STAGE_SETUP;
  }
  if (err == 0) {
    err = spawn_search(pid, cands, dir, &fa, &sa, argv, envp);
    /* setsid's or setpgid's EPERM, not the exec's (which gives EACCES for what it refuses). */
    if (err == EPERM && (at->flags & (ATTR_SETSID | ATTR_SETPGROUP))) *stage = STAGE_SETUP;
  }
  if (fa_ok) posix_spawn_file_actions_destroy(&fa);
  if (sa_ok) posix_spawnattr_destroy(&sa);
  if (spare >= 0) close(spare);
  if (err == 0 && (*pidfd = (int)syscall(SYS_pidfd_open, *pid, 0)) < 0) {
    err = errno;
    *stage = STAGE_SETUP;
    kill(*pid, SIGKILL);
    waitpid(*pid, NULL, 0);
  }
  return err;
}

/* The elements of the `keep` typed array, checked: sorted, no duplicates, each >= 3. */
static int keep_ok(const int32_t *keep, size_t n) {
  for (size_t k = 0; k < n; k++)
    if (keep[k] < 3 || (k > 0 && keep[k] <= keep[k - 1])) return 0;
  return 1;
}

/* Takes back what sp_spawn made through N-API for a child that was not started after all. */
static void unmake(napi_env env, child_t *c) {
  napi_remove_async_cleanup_hook(c->cleanup);
  c->cleanup = NULL;
  napi_delete_reference(env, c->on_exit);
  c->on_exit = NULL;
  napi_async_destroy(env, c->ctx);
  c->ctx = NULL;
}

/*
 * spawn(file, argv, envp, cwd | null, block Int32Array(BLOCK_LEN), onExit(code, signal),
 *       keep Int32Array?, groups Uint32Array?)
 *   -> external child (its pid: pid(child)) | -errno | undefined (napi refused: thread ending)
 * block: the table above. A STDIO slot holds SPEC_PIPE, SPEC_IGNORE, SPEC_MERGE (fd 2) or a
 * descriptor; on success a PIPE slot holds our end of the pair (non-blocking is left to libuv,
 * which sets it when Node opens it). On failure block[ATTR_STAGE] says which step failed.
 *
 * Every N-API call is checked, and all that N-API could refuse is made before a child exists: in
 * a worker being terminated it refuses while the worker's JavaScript still runs, and a child
 * started then would have no watch, or a watch with an unset callback, reference or cleanup
 * hook (a crash when the child exits or the thread ends).
 */
static napi_value sp_spawn(napi_env env, napi_callback_info info) {
  size_t argc = 8;
  napi_value a[8];
  if (napi_get_cb_info(env, info, &argc, a, NULL, NULL) != napi_ok) return NULL;
  if (argc < 6) return num(env, -EINVAL);
  napi_valuetype t;
  int32_t *block = NULL, *keep = NULL;
  uint32_t *groups = NULL;
  size_t block_len = 0, nkeep = 0, ngroups = 0;
  if (typed_arg(env, a[4], napi_int32_array, (void **)&block, &block_len) != 0 ||
      block_len != BLOCK_LEN)
    return num(env, -EINVAL);
  /* Before any other way out: the block is reused, and a stage left from an earlier spawn
   * would blame the wrong step. */
  block[ATTR_STAGE] = STAGE_EXEC;
  if (argc >= 7 && (typed_arg(env, a[6], napi_int32_array, (void **)&keep, &nkeep) != 0 ||
                    !keep_ok(keep, nkeep)))
    return num(env, -EINVAL);
  if (argc >= 8 && typed_arg(env, a[7], napi_uint32_array, (void **)&groups, &ngroups) != 0)
    return num(env, -EINVAL);
  if (napi_typeof(env, a[5], &t) != napi_ok || t != napi_function) return num(env, -EINVAL);
  uv_loop_t *loop;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok) return num(env, -EINVAL);
  int32_t *spec = block + ATTR_STDIO;
  attrs_t at = {
      .flags = block[ATTR_FLAGS],
      .pgid = block[ATTR_PGID],
      .umask = (mode_t)block[ATTR_UMASK] & 0777,
      .uid = (uid_t)(uint32_t)block[ATTR_UID],
      .gid = (gid_t)(uint32_t)block[ATTR_GID],
      .keep = keep,
      .nkeep = nkeep,
      .groups = (const gid_t *)groups,
      .ngroups = ngroups,
  };

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
  /* The external first, while nothing else exists: until its watch is open the finalizer alone
   * frees the child_t (`closed` stands for "no handle to wait for"). */
  napi_value ext = NULL, name;
  int refused = 0;
  if (c != NULL) {
    c->env = env;
    c->pidfd = -1;
    c->closed = 1;
    if (napi_create_external(env, c, child_finalize, NULL, &ext) != napi_ok) {
      free(c);
      c = NULL;
      refused = 1;
    } else if (napi_create_reference(env, a[5], 1, &c->on_exit) != napi_ok ||
               napi_create_string_utf8(env, "weft:subprocess", NAPI_AUTO_LENGTH, &name) !=
                   napi_ok ||
               napi_async_init(env, NULL, name, &c->ctx) != napi_ok ||
               napi_add_async_cleanup_hook(env, on_teardown, c, &c->cleanup) != napi_ok) {
      /* Those made go; the external's finalizer frees c. */
      if (c->ctx != NULL) napi_async_destroy(env, c->ctx);
      if (c->on_exit != NULL) napi_delete_reference(env, c->on_exit);
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
  int err = 0, stage = STAGE_SETUP;
  /* A pass_fds descriptor that is not open: Python's child fails with EBADF, no filename. Looked
   * at before this call opens anything: a number the caller does not hold would otherwise be
   * found open once a socket pair or a stdio copy below took it, and the child given our end. */
  for (size_t k = 0; k < at.nkeep && err == 0; k++)
    if (fcntl(at.keep[k], F_GETFD) < 0) err = errno;
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
  char **cands = NULL;
  if (err == 0) {
    stage = STAGE_EXEC;
    cands = candidates(file, envp, &err);
  }
  pid_t pid = -1;
  int pidfd = -1;
  if (err == 0 && (at.flags & ATTR_NEEDS_CLONE)) {
    plan_t plan = {.cwd = cwd, .at = &at, .cands = cands, .argv = argv, .envp = envp};
    for (int i = 0; i < 3; i++)
      plan.src[i] = spec[i] == SPEC_IGNORE  ? -1
                    : spec[i] == SPEC_MERGE ? theirs[1]
                    : spec[i] == i          ? i
                                            : theirs[i];
    err = clone_spawn(&plan, &pid, &pidfd);
    stage = plan.stage;
  } else if (err == 0) {
    /* The chdir's error before any search: every candidate would fail with it, and with a cwd
     * that can be entered the search can look at the candidates from there. */
    int dir = AT_FDCWD;
    if (cwd != NULL && (err = cwd_error(cwd, &dir)) != 0)
      /* No descriptor left for the look is this process's failure, not the cwd's: the child's
       * chdir needs none. */
      stage = err == EMFILE || err == ENFILE || err == ENOMEM ? STAGE_SETUP : STAGE_CWD;
    else
      err = posix_path(spec, theirs, cwd, dir, uv_backend_fd(loop), &at, cands, argv, envp, &pid,
                       &pidfd, &stage);
    if (dir != AT_FDCWD) close(dir);
  }
  strv_free(cands);
  free(file);
  strv_free(argv);
  strv_free(envp);
  free(cwd);
  close_all(theirs, 3);

  if (err == 0 && (err = -uv_poll_init(loop, &c->poll, pidfd)) != 0) {
    stage = STAGE_SETUP;
    syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
    siginfo_t si;
    waitid(P_PIDFD, (id_t)pidfd, &si, WEXITED);
    close(pidfd);
  }
  if (err != 0) {
    block[ATTR_STAGE] = stage;
    close_all(ours, 3);
    unmake(env, c);
    return num(env, -err); /* c: the external's finalizer frees it */
  }
  c->closed = 0;
  c->pid = pid;
  c->pidfd = pidfd;
  if ((err = -uv_poll_start(&c->poll, UV_READABLE, on_exit_ready)) != 0) {
    /* (libuv refuses only a descriptor another of its handles watches: never a new pidfd.) The
     * handle exists now: it goes by uv_close, whose on_closed closes the pidfd and removes the
     * hook. */
    syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
    siginfo_t si;
    waitid(P_PIDFD, (id_t)pidfd, &si, WEXITED);
    c->exited = 1;
    napi_delete_reference(env, c->on_exit);
    napi_async_destroy(env, c->ctx);
    child_close(c);
    block[ATTR_STAGE] = STAGE_SETUP;
    close_all(ours, 3);
    return num(env, -err);
  }
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
  if (napi_get_cb_info(env, info, &argc, a, NULL, NULL) != napi_ok) return NULL;
  child_t *c = argc == 1 ? child_arg(env, a[0]) : NULL;
  return num(env, c == NULL ? -EINVAL : c->pid);
}

/* kill(child, signal) -> 0 | -errno (ESRCH once it has been reaped); through the pidfd */
static napi_value sp_kill(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value a[2];
  int32_t sig;
  if (napi_get_cb_info(env, info, &argc, a, NULL, NULL) != napi_ok) return NULL;
  child_t *c = argc == 2 ? child_arg(env, a[0]) : NULL;
  if (c == NULL || napi_get_value_int32(env, a[1], &sig) != napi_ok) return num(env, -EINVAL);
  if (c->exited || c->closing) return num(env, -ESRCH);
  return num(env, syscall(SYS_pidfd_send_signal, c->pidfd, sig, NULL, 0) != 0 ? -errno : 0);
}

/* ref(child, on): whether the watch keeps the loop alive (uv_ref / uv_unref) -> 0 */
static napi_value sp_ref(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value a[2];
  bool on;
  if (napi_get_cb_info(env, info, &argc, a, NULL, NULL) != napi_ok) return NULL;
  child_t *c = argc == 2 ? child_arg(env, a[0]) : NULL;
  if (c == NULL || napi_get_value_bool(env, a[1], &on) != napi_ok) return num(env, -EINVAL);
  if (!c->closing) {
    if (on) uv_ref((uv_handle_t *)&c->poll);
    else uv_unref((uv_handle_t *)&c->poll);
  }
  return num(env, 0);
}

/*
 * lookup(kind, name) -> the uid (kind 0, getpwnam) or gid (kind 1, getgrnam) of `name` through
 * the system's name service (NSS: /etc/passwd, LDAP, …, as Python's pwd and grp) | null: no
 * such name | -errno
 */
static napi_value sp_lookup(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value a[2], null;
  int32_t kind;
  if (napi_get_null(env, &null) != napi_ok ||
      napi_get_cb_info(env, info, &argc, a, NULL, NULL) != napi_ok)
    return NULL;
  if (argc != 2 || napi_get_value_int32(env, a[0], &kind) != napi_ok) return num(env, -EINVAL);
  char *name = str_arg(env, a[1]);
  if (name == NULL) return num(env, -EINVAL);
  long hint = sysconf(kind == 0 ? _SC_GETPW_R_SIZE_MAX : _SC_GETGR_R_SIZE_MAX);
  size_t size = hint > 0 ? (size_t)hint : 1024;
  double id = -1;
  int err;
  for (;;) {
    char *buf = malloc(size);
    if (buf == NULL) {
      err = ENOMEM;
      break;
    }
    if (kind == 0) {
      struct passwd pw, *found = NULL;
      err = getpwnam_r(name, &pw, buf, size, &found);
      if (err == 0 && found != NULL) id = found->pw_uid;
    } else {
      struct group gr, *found = NULL;
      err = getgrnam_r(name, &gr, buf, size, &found);
      if (err == 0 && found != NULL) id = found->gr_gid;
    }
    free(buf);
    if (err != ERANGE || size > (1 << 24)) break;
    size *= 2;
  }
  free(name);
  /* "Not found" is err 0 and nothing found; some NSS modules answer ENOENT or ESRCH for it. */
  if (id >= 0) return num(env, id);
  if (err == 0 || err == ENOENT || err == ESRCH || err == EBADF || err == EPERM) return null;
  return num(env, -err);
}

/* version() -> what this build can do (VERSION): subprocess-native.ts refuses an older one. */
static napi_value sp_version(napi_env env, napi_callback_info info) {
  (void)info;
  return num(env, VERSION);
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
      {"spawn", sp_spawn},   {"pid", sp_pid},         {"kill", sp_kill},
      {"ref", sp_ref},       {"lookup", sp_lookup},   {"version", sp_version},
      {"available", sp_available},
  };
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

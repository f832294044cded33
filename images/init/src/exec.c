#include "exec.h"

#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "caps.h"
#include "cgroup.h"
#include "log.h"
#include "rootfs.h"
#include "runtime.h"
#include "seccomp.h"

/* Joined in this order, all with fds opened beforehand from init's /proc;
 * the mount namespace last, as it changes what paths mean. The pid
 * namespace is apart: joining one only places the caller's children. */
static const struct {
	const char *kind;
	int flag;
} joined[] = {
	{ "ipc", CLONE_NEWIPC }, { "uts", CLONE_NEWUTS },       { "net", CLONE_NEWNET },
	{ "cgroup", CLONE_NEWCGROUP }, { "mnt", CLONE_NEWNS },
};

struct job {
	char *const *argv;
	const int *fds;
	const struct spec *spec;
	int ns[ARRAY_LEN(joined)]; /* -1 where the container shares init's */
	int root;                  /* the container's "/", O_PATH */
	char cgroup[PATH_MAX];     /* to join, or "" */
	const struct sock_filter *seccomp;
	size_t seccomp_len;
};

int exec_load_spec(const char *bundle, struct spec *s, err_t *e)
{
	char path[PATH_MAX], *text = NULL;
	size_t len;
	if (path_fmt(path, sizeof(path), "%s/config.json", bundle) < 0)
		return err_sys(e, "%s", bundle);
	if (read_file(path, JSON_MAX_SIZE, &text, &len, e) < 0)
		return -1;
	int r = spec_parse(s, text, len, e);
	free(text);
	return r < 0 ? err_prefix(e, "config.json") : 0;
}

int exec_cgroup_of(const char *text, char *out, size_t size)
{
	for (const char *l = text; l && *l;) {
		const char *nl = strchr(l, '\n');
		size_t n = nl ? (size_t)(nl - l) : strlen(l);
		if (n > 3 && strncmp(l, "0::", 3) == 0 && n - 3 < size) {
			memcpy(out, l + 3, n - 3);
			out[n - 3] = '\0';
			return 0;
		}
		l = nl ? nl + 1 : NULL;
	}
	return -1;
}

/* *fd: the namespace of that kind of target, or -1 when it is init's own
 * (or the kernel has no such kind). */
static int open_ns(pid_t target, const char *kind, int *fd, err_t *e)
{
	char path[64];
	struct stat mine, theirs;
	*fd = -1;
	snprintf(path, sizeof(path), "/proc/self/ns/%s", kind);
	if (stat(path, &mine) < 0)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/ns/%s", (int)target, kind);
	if (stat(path, &theirs) < 0)
		return err_sys(e, "%s", path);
	if (mine.st_dev == theirs.st_dev && mine.st_ino == theirs.st_ino)
		return 0;
	if ((*fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return err_sys(e, "open %s", path);
	return 0;
}

static _Noreturn void fail(int code, const err_t *e)
{
	char line[sizeof(e->msg) + 16];
	int n = snprintf(line, sizeof(line), "keelctl exec: %s\n", e->msg);
	write_all(STDERR_FILENO, line, n < (int)sizeof(line) ? (size_t)n : sizeof(line) - 1);
	_exit(code);
}

/* What the runtime sets from /proc before the container's root replaces it. */
static int process_settings(const struct spec *s, err_t *e)
{
	if (s->has_oom_score_adj) {
		char v[16];
		int n = snprintf(v, sizeof(v), "%d", s->oom_score_adj);
		autoclose int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
		if (fd < 0 || write(fd, v, (size_t)n) < 0)
			return err_sys(e, "oomScoreAdj");
	}
	return runtime_set_rlimits(s, e);
}

/* Looked up in the container's PATH, as its own command was. */
static void run(const struct spec *s, char *const argv[], err_t *e)
{
	runtime_execvpe(s, argv);
	err_sys(e, "%s", argv[0]);
}

/* The same steps as the container's own process after its setup, in the
 * same order, so that seccomp and the capabilities end up the same. */
static _Noreturn void child(const struct job *j)
{
	err_t e;
	const struct spec *s = j->spec;
	sigset_t none;
	struct sigaction dfl = { .sa_handler = SIG_DFL };
	/* Until exec it holds init's memory and fds: nothing in the
	 * container may open its /proc entries (CVE-2016-9962). */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	for (int sig = 1; sig < NSIG; sig++)
		sigaction(sig, &dfl, NULL);
	for (int fd = 0; fd < 3; fd++)
		if (dup2(j->fds[fd], fd) < 0)
			_exit(RT_EXIT_SETUP);
	if (setsid() < 0) {
		err_sys(&e, "setsid");
		fail(RT_EXIT_SETUP, &e);
	}
	/* keelctl exec -t's pseudo-terminal becomes the command's controlling
	 * terminal. A terminal that already is another session's (keelctl
	 * run from a console shell without -t) is refused by the kernel and
	 * stays plain stdio. */
	if (isatty(STDIN_FILENO))
		ioctl(STDIN_FILENO, TIOCSCTTY, 0);
	/* Through init's /sys/fs/cgroup, before the mount namespace changes. */
	if (j->cgroup[0] && cgroup_join(j->cgroup, &e) < 0)
		fail(RT_EXIT_SETUP, &e);
	if (process_settings(s, &e) < 0)
		fail(RT_EXIT_SETUP, &e);
	for (size_t i = 0; i < ARRAY_LEN(joined); i++) {
		if (j->ns[i] >= 0 && setns(j->ns[i], joined[i].flag) < 0) {
			err_sys(&e, "join the %s namespace", joined[i].kind);
			fail(RT_EXIT_SETUP, &e);
		}
	}
	/* The mount namespace's root may lie under the container's, which
	 * pivot_root put on top: the container's root is the one that counts. */
	if (fchdir(j->root) < 0 || chroot(".") < 0) {
		err_sys(&e, "enter the container's root");
		fail(RT_EXIT_SETUP, &e);
	}
	if (j->seccomp && !s->no_new_privs && seccomp_install(j->seccomp, j->seccomp_len, &e) < 0)
		fail(RT_EXIT_SETUP, &e);
	if (runtime_set_identity(s, &e) < 0)
		fail(RT_EXIT_SETUP, &e);
	if (s->no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		err_sys(&e, "no_new_privs");
		fail(RT_EXIT_SETUP, &e);
	}
	if (syscall(SYS_close_range, 3u, ~0u, 0u) < 0)
		for (int fd = 3; fd < 4096; fd++)
			close(fd);
	if (rootfs_chdir(s->cwd ? s->cwd : "/", &e) < 0)
		fail(RT_EXIT_SETUP, &e);
	if (j->seccomp && s->no_new_privs && seccomp_install(j->seccomp, j->seccomp_len, &e) < 0)
		fail(RT_EXIT_SETUP, &e);
	run(s, j->argv, &e);
	fail(errno == ENOENT ? RT_EXIT_NOTFOUND : RT_EXIT_CANNOT, &e);
}

/* The target is init's child and not reaped yet (its entry says running),
 * so its pid cannot have been reused meanwhile. */
static int prepare(pid_t target, struct job *j, int *pidns, err_t *e)
{
	char path[64], *text = NULL, rel[PATH_MAX];
	int userns;
	if (open_ns(target, "user", &userns, e) < 0)
		return -1;
	if (userns >= 0) {
		close(userns);
		return err_set(e, "the container has its own user namespace; exec does not join those");
	}
	for (size_t i = 0; i < ARRAY_LEN(joined); i++)
		if (open_ns(target, joined[i].kind, &j->ns[i], e) < 0)
			return -1;
	if (open_ns(target, "pid", pidns, e) < 0)
		return -1;
	snprintf(path, sizeof(path), "/proc/%d/root", (int)target);
	if ((j->root = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
		return err_sys(e, "open %s", path);
	/* The cgroup its first process is in: a leaf, so it can take one more. */
	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)target);
	if (cgroup_v2() && read_file(path, 65536, &text, NULL, e) == 0) {
		if (exec_cgroup_of(text, rel, sizeof(rel)) == 0 && strcmp(rel, "/") != 0 &&
		    path_fmt(j->cgroup, sizeof(j->cgroup), "%s%s", CGROUP_ROOT, rel) < 0)
			j->cgroup[0] = '\0';
		free(text);
	}
	return 0;
}

pid_t exec_in_container(pid_t target, const char *bundle, char *const argv[], const int fds[3], err_t *e)
{
	struct spec s = { 0 };
	struct job j = { .argv = argv, .fds = fds, .spec = &s, .root = -1 };
	autofree struct sock_filter *filter = NULL;
	autoclose int pidns = -1, own = -1;
	pid_t pid = -1;

	for (size_t i = 0; i < ARRAY_LEN(joined); i++)
		j.ns[i] = -1;
	if (exec_load_spec(bundle, &s, e) < 0 || prepare(target, &j, &pidns, e) < 0)
		goto out;
	if (!s.seccomp_unconfined) {
		int n;
		if (!(filter = calloc(SECCOMP_MAX_INSNS, sizeof(*filter)))) {
			err_sys(e, "seccomp");
			goto out;
		}
		if ((n = seccomp_default_program(s.caps.bounding, filter, SECCOMP_MAX_INSNS)) < 0) {
			err_set(e, "seccomp: the default profile does not fit");
			goto out;
		}
		j.seccomp = filter;
		j.seccomp_len = (size_t)n;
	}
	/* Init joins the pid namespace for the one fork only, so that the
	 * command is its own child (reaped, its status known) yet inside;
	 * returning to the namespace one is in is always allowed. */
	if (pidns >= 0) {
		if ((own = open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC)) < 0) {
			err_sys(e, "open /proc/self/ns/pid");
			goto out;
		}
		if (setns(pidns, CLONE_NEWPID) < 0) {
			err_sys(e, "join the pid namespace");
			goto out;
		}
	}
	pid = fork();
	if (pid == 0)
		child(&j);
	int saved = errno;
	if (own >= 0 && setns(own, CLONE_NEWPID) < 0)
		log_msg("keelctl exec: could not return to init's own pid namespace: %s", strerror(errno));
	if (pid < 0) {
		errno = saved;
		err_sys(e, "fork");
	}
out:
	for (size_t i = 0; i < ARRAY_LEN(joined); i++)
		close_fdp(&j.ns[i]);
	close_fdp(&j.root);
	spec_free(&s);
	return pid;
}

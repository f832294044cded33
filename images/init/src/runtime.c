#include "runtime.h"

#include <sys/mount.h>

#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <sys/prctl.h>
#include <sys/resource.h>

#include "caps.h"
#include "cgroup.h"
#include "devices.h"
#include "log.h"
#include "mounts.h"
#include "netif.h"
#include "rootfs.h"
#include "seccomp.h"
#include "spec.h"

/* /proc/self/mountinfo of a machine with very many mounts still fits. */
#define MOUNTINFO_MAX (4u << 20)

/* What the container process needs; it gets its own copy through clone. */
struct launch {
	const struct spec *spec;
	const char *bundle;
	char rootfs[PATH_MAX];
	int ns_fds[SPEC_MAX_NS]; /* for namespaces joined by path, else -1 */
	int report;              /* write end of the CLOEXEC error pipe */
	int out;                 /* write end of the output pipe, or -1 */
	int in;                  /* /dev/null, or -1 */
	int go_r, go_w;          /* the runtime's "go on" once interfaces and bindNS are done */
	char cgroup[PATH_MAX];   /* the cgroup to join, or "" */
	const struct sock_filter *seccomp; /* NULL: unconfined */
	size_t seccomp_len;
};

/* The container process comes from a raw clone, so libc's cached thread id
 * is still the parent's: between clone and exec nothing may rely on it
 * (stdio locking, raise, abort, pthreads). Plain syscalls, snprintf and
 * strerror are fine. */
static _Noreturn void child_exit(const struct launch *l, int code, const err_t *e)
{
	write_all(l->report, e->msg, strlen(e->msg));
	_exit(code);
}

static int reset_process(const struct launch *l, err_t *e)
{
	sigset_t none;
	struct sigaction dfl = { .sa_handler = SIG_DFL };
	/* PID 1 blocks the signals it reads through signalfd; a blocked mask
	 * survives exec and would leave the container deaf to SIGTERM. */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	for (int sig = 1; sig < NSIG; sig++)
		sigaction(sig, &dfl, NULL);
	if (setsid() < 0)
		return err_sys(e, "setsid");
	if (l->in >= 0 && dup2(l->in, STDIN_FILENO) < 0)
		return err_sys(e, "set up stdin");
	if (l->out >= 0 && (dup2(l->out, STDOUT_FILENO) < 0 || dup2(l->out, STDERR_FILENO) < 0))
		return err_sys(e, "set up stdout and stderr");
	return 0;
}

/* Waits for the runtime to finish what it does from outside (interfaces,
 * bindNS); end-of-file means it gave up and said why itself. */
static void wait_for_go(const struct launch *l)
{
	char c;
	ssize_t n;
	close(l->go_w);
	do
		n = read(l->go_r, &c, 1);
	while (n < 0 && errno == EINTR);
	if (n != 1)
		_exit(RT_EXIT_SETUP);
	close(l->go_r);
}

static int write_proc(const char *path, const char *value, err_t *e)
{
	autoclose int fd = open(path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || write(fd, value, strlen(value)) < 0)
		return err_sys(e, "write \"%s\" to %s", value, path);
	return 0;
}

/*
 * sysctl, oom_score_adj and rlimits, while the runtime's own /proc is still
 * the one mounted: /proc/sys shows the namespaces of the process that opens
 * it, which are the container's already, and nothing in the image can
 * redirect these writes.
 */
static int process_settings(const struct spec *s, err_t *e)
{
	for (size_t i = 0; i < s->nsysctl; i++) {
		const char *key = s->sysctl[i].key;
		char path[PATH_MAX];
		/* a.b.c -> a/b/c; sysctl(8)'s "a.b/c" names a/b.c, and a key
		 * already in slashes is taken as it is. */
		bool slashes = key[strcspn(key, "./")] == '/';
		if (path_fmt(path, sizeof(path), "/proc/sys/%s", key) < 0)
			return err_sys(e, "sysctl %s", key);
		for (char *c = path + 10; !slashes && *c; c++)
			*c = *c == '.' ? '/' : *c == '/' ? '.' : *c;
		if (write_proc(path, s->sysctl[i].value, e) < 0)
			return err_prefix(e, "sysctl %s", key);
	}
	if (s->has_oom_score_adj) {
		char v[16];
		snprintf(v, sizeof(v), "%d", s->oom_score_adj);
		if (write_proc("/proc/self/oom_score_adj", v, e) < 0)
			return err_prefix(e, "oomScoreAdj");
	}
	return runtime_set_rlimits(s, e);
}

int runtime_set_rlimits(const struct spec *s, err_t *e)
{
	for (size_t i = 0; i < s->nrlimits; i++) {
		const struct spec_rlimit *r = &s->rlimits[i];
		struct rlimit rl = {
			.rlim_cur = r->soft == UINT64_MAX ? RLIM_INFINITY : (rlim_t)r->soft,
			.rlim_max = r->hard == UINT64_MAX ? RLIM_INFINITY : (rlim_t)r->hard,
		};
		if (setrlimit(r->resource, &rl) < 0)
			return err_sys(e, "rlimit %d (soft %llu, hard %llu)", r->resource,
				       (unsigned long long)r->soft, (unsigned long long)r->hard);
	}
	return 0;
}

int runtime_set_identity(const struct spec *s, err_t *e)
{
	if (caps_before_identity(&s->caps, e) < 0)
		return -1;
	if (setgroups(s->ngids, s->gids) < 0)
		return err_sys(e, "setgroups");
	if (setgid(s->gid) < 0)
		return err_sys(e, "setgid %u", (unsigned)s->gid);
	if (setuid(s->uid) < 0)
		return err_sys(e, "setuid %u", (unsigned)s->uid);
	return caps_after_identity(&s->caps, e);
}

static void close_fds_except(int keep)
{
	if (keep > 3 && syscall(SYS_close_range, 3u, (unsigned)keep - 1, 0u) < 0)
		goto slow;
	if (syscall(SYS_close_range, (unsigned)keep + 1, ~0u, 0u) < 0)
		goto slow;
	return;
slow:
	for (int fd = 3; fd < 4096; fd++)
		if (fd != keep)
			close(fd);
}

/* execvpe would search the PATH of init's environment; the container's
 * own PATH is the one that counts. */
void runtime_execvpe(const struct spec *s, char *const argv[])
{
	const char *file = argv[0];
	char *const *envp = (char *const *)s->env;
	if (strchr(file, '/')) {
		execve(file, argv, envp);
		return;
	}
	const char *path = spec_getenv(s, "PATH");
	if (!path)
		path = SPEC_DEFAULT_PATH;
	int err = ENOENT;
	for (const char *p = path;;) {
		const char *colon = strchr(p, ':');
		size_t dirlen = colon ? (size_t)(colon - p) : strlen(p);
		char full[PATH_MAX];
		/* An empty PATH entry means the current directory. */
		if (dirlen + 2 + strlen(file) < sizeof(full)) {
			snprintf(full, sizeof(full), "%.*s/%s", (int)(dirlen ? dirlen : 1), dirlen ? p : ".",
				 file);
			execve(full, argv, envp);
			/* Keep looking past missing or unreadable entries, but
			 * remember that something was there. */
			if (errno != ENOENT && errno != ENOTDIR)
				err = errno;
		}
		if (!colon)
			break;
		p = colon + 1;
	}
	errno = err;
}

static void exec_command(const struct spec *s, err_t *e)
{
	runtime_execvpe(s, (char *const *)s->args);
	err_sys(e, "exec %s", s->args[0]);
}

static _Noreturn void container_main(const struct launch *l)
{
	err_t e;
	const struct spec *s = l->spec;
	/* Until exec, this process holds the runtime's fds and memory: nothing
	 * in a shared pid namespace may open its /proc entries (CVE-2016-9962).
	 * exec makes it dumpable again. */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	wait_for_go(l);
	if (reset_process(l, &e) < 0)
		child_exit(l, RT_EXIT_SETUP, &e);
	if (l->cgroup[0] && cgroup_join(l->cgroup, &e) < 0)
		child_exit(l, RT_EXIT_SETUP, &e);
	/* After joining, so that the namespace's root is the container's cgroup. */
	if ((s->clone_flags & CLONE_NEWCGROUP) && unshare(CLONE_NEWCGROUP) < 0) {
		err_sys(&e, "new cgroup namespace");
		child_exit(l, RT_EXIT_SETUP, &e);
	}
	if (process_settings(s, &e) < 0 || rootfs_setup(s, l->rootfs, l->bundle, &e) < 0)
		child_exit(l, RT_EXIT_SETUP, &e);
	if (s->hostname && (s->clone_flags & CLONE_NEWUTS) && sethostname(s->hostname, strlen(s->hostname)) < 0) {
		err_sys(&e, "sethostname");
		child_exit(l, RT_EXIT_SETUP, &e);
	}
	/* Installing a filter takes no_new_privs or CAP_SYS_ADMIN. Without the
	 * first, it goes in now, while we still have every capability; the
	 * calls made after it are all on the list. */
	if (l->seccomp && !s->no_new_privs && seccomp_install(l->seccomp, l->seccomp_len, &e) < 0)
		child_exit(l, RT_EXIT_SETUP, &e);
	if (runtime_set_identity(s, &e) < 0)
		child_exit(l, RT_EXIT_SETUP, &e);
	if (s->no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		err_sys(&e, "no_new_privs");
		child_exit(l, RT_EXIT_SETUP, &e);
	}
	close_fds_except(l->report);
	/* After setuid, so the user must be able to reach the directory. */
	if (rootfs_chdir(s->cwd, &e) < 0)
		child_exit(l, RT_EXIT_SETUP, &e);
	if (l->seccomp && s->no_new_privs && seccomp_install(l->seccomp, l->seccomp_len, &e) < 0)
		child_exit(l, RT_EXIT_SETUP, &e);
	exec_command(s, &e);
	child_exit(l, errno == ENOENT ? RT_EXIT_NOTFOUND : RT_EXIT_CANNOT, &e);
}

/* A raw clone with fork semantics: with CLONE_NEWPID the child is PID 1 of
 * a new pid namespace. A mount namespace is always new, since the
 * container's pivot_root must not move init's root. */
static pid_t clone_container(const struct launch *l)
{
	unsigned long flags = (unsigned long)((l->spec->clone_flags & ~CLONE_NEWCGROUP) | CLONE_NEWNS) | SIGCHLD;
	pid_t pid = (pid_t)syscall(SYS_clone, flags, NULL, NULL, NULL, NULL);
	if (pid == 0)
		container_main(l);
	return pid;
}

/* Joining a namespace with setns would move init itself into it, so a
 * short-lived helper joins and clones the container, which then is
 * reparented to init (PID 1, or a subreaper in host mode). */
static pid_t clone_via_helper(const struct launch *l, err_t *e)
{
	int fds[2];
	pid_t pid = -1;
	if (pipe2(fds, O_CLOEXEC) < 0)
		return err_sys(e, "pipe");
	pid_t helper = fork();
	if (helper < 0) {
		close(fds[0]);
		close(fds[1]);
		return err_sys(e, "fork");
	}
	if (helper == 0) {
		err_t ce;
		const struct spec *s = l->spec;
		for (size_t i = 0; i < s->nns; i++) {
			if (l->ns_fds[i] >= 0 && setns(l->ns_fds[i], s->ns[i].flag) < 0) {
				err_sys(&ce, "join %s namespace %s", s->ns[i].type, s->ns[i].path);
				child_exit(l, RT_EXIT_SETUP, &ce);
			}
		}
		pid = clone_container(l);
		if (pid < 0) {
			err_sys(&ce, "clone");
			child_exit(l, RT_EXIT_SETUP, &ce);
		}
		write_all(fds[1], &pid, sizeof(pid));
		_exit(0);
	}
	close(fds[1]);
	ssize_t n;
	do
		n = read(fds[0], &pid, sizeof(pid));
	while (n < 0 && errno == EINTR);
	close(fds[0]);
	while (waitpid(helper, NULL, 0) < 0 && errno == EINTR)
		;
	if (n != (ssize_t)sizeof(pid))
		return -1; /* the helper explained why through the report pipe */
	return pid;
}

/* A runtime.json path: absolute on the host, or relative to the container's rootfs. */
static int host_path(const char *bundle, const char *p, char *out, size_t size, err_t *e)
{
	char clean[PATH_MAX];
	if (path_clean(p, clean, sizeof(clean), e) < 0)
		return -1;
	if (p[0] == '/')
		return snprintf(out, size, "%s", clean) >= (int)size ? err_set(e, "%s: path too long", p) : 0;
	return path_fmt(out, size, "%s/rootfs%s", bundle, clean) < 0 ? err_set(e, "%s: path too long", p) : 0;
}

/* The topmost mount on path (symlinks resolved): 1 with *top filled, 0 when
 * path is no mount point (or cannot be resolved), -1 on error. */
static int top_mount(const char *path, struct mountinfo_top *top, err_t *e)
{
	char real[PATH_MAX];
	autofree char *text = NULL;
	if (!realpath(path, real))
		return 0;
	if (read_file("/proc/self/mountinfo", MOUNTINFO_MAX, &text, NULL, e) < 0)
		return -1;
	return mountinfo_find(text, real, top);
}

/*
 * Whether a runtime.json mount is still in place from an earlier start of
 * the same container: the destination's top mount has the type and source
 * asked for or, for a bind, shows the source's folder. A restarted service
 * would otherwise get a new copy stacked on the old one each time, the old
 * one hidden and never freed (a crash-looping service would pile up mounts
 * and tmpfs memory without end). Kept, a writable root keeps its contents
 * across restarts, as a restarted docker container does.
 */
static int already_mounted(const struct spec_mount *m, const char *dest, bool bind, err_t *e)
{
	struct mountinfo_top top;
	int r = top_mount(dest, &top, e);
	if (r <= 0)
		return r;
	if (bind) {
		struct stat a, b;
		return m->source && stat(m->source, &a) == 0 && stat(dest, &b) == 0 && a.st_dev == b.st_dev &&
		       a.st_ino == b.st_ino;
	}
	return m->type && strcmp(top.fstype, m->type) == 0 && (!m->source || strcmp(top.source, m->source) == 0);
}

/* LinuxKit's runtime mounts: made on the host, in order, each with one
 * mount(2) whose flags come from its options ("bind", "rbind", "remount",
 * "ro", "private", ...); the destination is created first, and so are the
 * upper and work folders of an overlay. */
static int runtime_mount(const char *bundle, const struct spec_mount *m, err_t *e)
{
	char dest[PATH_MAX];
	const char *opts[64];
	size_t n = 0;
	bool remount = false;
	struct mount_opts o;
	if (host_path(bundle, m->destination, dest, sizeof(dest), e) < 0 || mkdir_p(dest, 0755, e) < 0)
		return -1;
	if (m->noptions > ARRAY_LEN(opts))
		return err_set(e, "%s: too many mount options", m->destination);
	for (size_t i = 0; i < m->noptions; i++) {
		const char *opt = m->options[i];
		if (strcmp(opt, "remount") == 0) {
			remount = true;
			continue;
		}
		if (strncmp(opt, "upperdir=", 9) == 0 || strncmp(opt, "workdir=", 8) == 0) {
			if (mkdir_p(strchr(opt, '=') + 1, 0755, e) < 0)
				return -1;
		}
		opts[n++] = opt;
	}
	if (mount_options_parse(opts, n, &o, e) < 0)
		return -1;
	if (!remount) {
		int there = already_mounted(m, dest, o.bind, e);
		if (there != 0)
			return there < 0 ? -1 : 0;
	}
	unsigned long flags = o.flags | o.propagation;
	if (o.bind)
		flags |= MS_BIND | (o.recursive ? MS_REC : 0);
	if (remount)
		flags |= MS_REMOUNT;
	if (mount(m->source, dest, m->type, flags, o.data[0] ? o.data : NULL) < 0)
		return err_sys(e, "mount %s on %s", m->source ? m->source : m->type ? m->type : "(none)", dest);
	return 0;
}

/* runtime.json's mounts, mkdir and cgroups, before the container starts;
 * rx keeps the rest (interfaces, bindNS) for after. */
static int prepare_host(const char *bundle, const char *name, struct runtime_extra *rx, err_t *e)
{
	char path[PATH_MAX], *text = NULL;
	size_t len;
	if (path_fmt(path, sizeof(path), "%s/runtime.json", bundle) < 0)
		return err_sys(e, "%s", bundle);
	if (access(path, F_OK) < 0)
		return 0;
	if (read_file(path, JSON_MAX_SIZE, &text, &len, e) < 0)
		return -1;
	int r = runtime_extra_parse(rx, text, len, e);
	free(text);
	if (r < 0)
		return err_prefix(e, "runtime.json");
	/* Mounts first, so that mkdir can make folders under them. */
	for (size_t i = 0; i < rx->nmounts && r == 0; i++)
		r = runtime_mount(bundle, &rx->mounts[i], e);
	for (size_t i = 0; i < rx->nmkdir && r == 0; i++) {
		r = host_path(bundle, rx->mkdir[i], path, sizeof(path), e);
		if (r == 0)
			r = mkdir_p(path, 0755, e);
	}
	for (size_t i = 0; i < rx->ncgroups && r == 0; i++) {
		if (path_fmt(path, sizeof(path), "/sys/fs/cgroup/%s", rx->cgroups[i]) < 0)
			r = err_set(e, "cgroup %s: name too long", rx->cgroups[i]);
		else
			r = mkdir_p(path, 0755, e);
	}
	if (r == 0 && rx->ignored[0])
		log_msg("%s: runtime.json: ignoring %s (not supported)", name, rx->ignored);
	return r < 0 ? err_prefix(e, "runtime.json") : 0;
}

/* LinuxKit's bindNS: /proc/PID/ns/KIND bound on a file at path, so that the
 * namespace outlives the container and others can join it. */
static int bind_ns(const char *kind, const char *path, pid_t pid, err_t *e)
{
	char dir[PATH_MAX], source[64];
	snprintf(dir, sizeof(dir), "%s", path);
	char *slash = strrchr(dir, '/');
	if (slash > dir) {
		*slash = '\0';
		if (mkdir_p(dir, 0755, e) < 0)
			return err_prefix(e, "bindNS.%s", kind);
	}
	/* A restarted container's namespace replaces the last one's, whose bind
	 * would otherwise stay under the new one and keep it alive. */
	struct mountinfo_top top;
	int there = top_mount(path, &top, e);
	if (there < 0)
		return err_prefix(e, "bindNS.%s", kind);
	if (there && strcmp(top.fstype, "nsfs") == 0 && umount2(path, MNT_DETACH) < 0)
		return err_sys(e, "bindNS.%s: unmount the last one from %s", kind, path);
	autoclose int fd = open(path, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		return err_sys(e, "bindNS.%s: create %s", kind, path);
	snprintf(source, sizeof(source), "/proc/%d/ns/%s", (int)pid, kind);
	if (mount(source, path, NULL, MS_BIND, NULL) < 0)
		return err_sys(e, "bindNS.%s: bind %s on %s", kind, source, path);
	return 0;
}

/* What LinuxKit does between creating the container and starting it. */
static int post_clone(pid_t pid, const struct runtime_extra *rx, err_t *e)
{
	for (size_t i = 0; i < rx->nifaces; i++) {
		const struct runtime_iface *f = &rx->ifaces[i];
		if (!f->add) {
			if (netif_move(f->name, pid, e) < 0)
				return err_prefix(e, "runtime.json interfaces");
			continue;
		}
		/* A veth is made here, its peer staying; so is anything with
		 * createInRoot. Other kinds are made in the container's namespace. */
		bool veth = strcmp(f->add, "veth") == 0, here = veth || f->create_in_root;
		if (netif_create(f->name, f->add, veth ? f->peer : NULL, here ? 0 : pid, e) < 0 ||
		    (here && netif_move(f->name, pid, e) < 0))
			return err_prefix(e, "runtime.json interfaces");
	}
	for (size_t i = 0; i < RUNTIME_NS_KINDS; i++)
		if (rx->bind_ns[i] && bind_ns(runtime_ns_kinds[i], rx->bind_ns[i], pid, e) < 0)
			return err_prefix(e, "runtime.json");
	return 0;
}

/* The container's cgroup, made and filled before it starts. */
static int setup_cgroup(const struct spec *s, const char *name, struct launch *l, err_t *e)
{
	struct cg_plan plan;
	char rel[PATH_MAX];
	if (cgroup_plan(s->resources, &plan, e) < 0)
		return -1;
	if (plan.ignored[0])
		log_msg("%s: linux.resources: %s: no cgroup v2 equivalent, ignored", name, plan.ignored);
	if (!cgroup_v2()) {
		if (plan.n > 0)
			log_msg("%s: linux.resources not applied: no cgroup2 at " CGROUP_ROOT, name);
		return 0;
	}
	if (cgroup_rel_path(name, s->cgroups_path, rel, sizeof(rel), e) < 0 ||
	    cgroup_create(rel, &plan, l->cgroup, sizeof(l->cgroup), e) < 0)
		return -1;
	/* Device access: the spec's rules and the default devices, nothing else.
	 * A kernel without cgroup BPF cannot enforce them: said, not fatal. */
	static struct dev_rules rules;
	if (devices_plan(s->resources ? json_get(s->resources, "devices") : NULL, &rules, e) < 0)
		return -1;
	err_t de;
	if (devices_apply(l->cgroup, &rules, &de) < 0)
		log_msg("%s: linux.resources.devices: not enforced: %s", name, de.msg);
	return 0;
}

static int load_spec(const char *bundle, struct spec *s, err_t *e)
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

static void close_launch(struct launch *l)
{
	for (size_t i = 0; i < SPEC_MAX_NS; i++)
		close_fdp(&l->ns_fds[i]);
	close_fdp(&l->report);
	close_fdp(&l->out);
	close_fdp(&l->in);
	close_fdp(&l->go_r);
}

int runtime_start(const char *bundle, const struct rt_options *o, struct rt_process *p, err_t *e)
{
	struct spec s = { 0 };
	struct runtime_extra rx = { 0 };
	struct launch l = { .spec = &s, .bundle = bundle, .report = -1, .out = -1, .in = -1, .go_r = -1, .go_w = -1 };
	autoclose int report_r = -1;
	autofree struct sock_filter *filter = NULL;
	char raw[PATH_MAX];
	bool joins = false;
	int r = -1;

	for (size_t i = 0; i < SPEC_MAX_NS; i++)
		l.ns_fds[i] = -1;
	p->pid = -1;
	p->output = -1;
	p->error[0] = '\0';

	/* The runtime holds host fds and memory all along: no container
	 * process may open its /proc entries (exe, fd, mem), whatever its uid,
	 * without CAP_SYS_PTRACE. CVE-2016-9962 and CVE-2019-5736. */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);

	if (load_spec(bundle, &s, e) < 0)
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
		l.seccomp = filter;
		l.seccomp_len = (size_t)n;
	}
	if (prepare_host(bundle, o->name, &rx, e) < 0)
		goto out;
	if (s.hostname && !(s.clone_flags & CLONE_NEWUTS))
		log_msg("%s: hostname %s ignored: no new uts namespace", o->name, s.hostname);

	int fit = s.root_path[0] == '/' ? path_fmt(raw, sizeof(raw), "%s", s.root_path)
					: path_fmt(raw, sizeof(raw), "%s/%s", bundle, s.root_path);
	if (fit < 0 || !realpath(raw, l.rootfs)) {
		err_sys(e, "root %s", raw);
		goto out;
	}
	if (setup_cgroup(&s, o->name, &l, e) < 0)
		goto out;

	for (size_t i = 0; i < s.nns; i++) {
		if (!s.ns[i].path)
			continue;
		joins = true;
		l.ns_fds[i] = open(s.ns[i].path, O_RDONLY | O_CLOEXEC);
		if (l.ns_fds[i] < 0) {
			err_sys(e, "%s namespace %s", s.ns[i].type, s.ns[i].path);
			goto out;
		}
	}

	int fds[2];
	if (pipe2(fds, O_CLOEXEC) < 0) {
		err_sys(e, "pipe");
		goto out;
	}
	report_r = fds[0];
	l.report = fds[1];
	if (pipe2(fds, O_CLOEXEC) < 0) {
		err_sys(e, "pipe");
		goto out;
	}
	l.go_r = fds[0];
	l.go_w = fds[1];
	if (!o->passthrough) {
		if (pipe2(fds, O_CLOEXEC) < 0) {
			err_sys(e, "pipe");
			goto out;
		}
		p->output = fds[0];
		l.out = fds[1];
		if ((l.in = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0) {
			err_sys(e, "open /dev/null");
			goto out;
		}
	}

	p->pid = joins ? clone_via_helper(&l, e) : clone_container(&l);
	if (p->pid < 0 && !joins)
		err_sys(e, "clone");
	/* Our copies of the write ends must go, or the reads below and the
	 * output relay would never see end-of-file. */
	close_launch(&l);

	/* The container waits for this: interfaces and namespace binds. If
	 * they fail, closing the pipe unsaid makes it exit. */
	err_t pe;
	if (p->pid > 0 && post_clone(p->pid, &rx, &pe) == 0)
		write_all(l.go_w, "g", 1);
	else if (p->pid > 0)
		snprintf(p->error, sizeof(p->error), "%s", pe.msg);
	close_fdp(&l.go_w);

	/* End-of-file with nothing said means exec closed the pipe: started. */
	size_t used = strlen(p->error);
	for (;;) {
		ssize_t n = read(report_r, p->error + used, sizeof(p->error) - 1 - used);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		used += (size_t)n;
		if (used == sizeof(p->error) - 1)
			break;
	}
	p->error[used] = '\0';
	if (p->pid < 0) {
		/* The helper, if it got as far as joining, said what failed. */
		if (p->error[0])
			err_set(e, "%s", p->error);
		goto out;
	}
	r = 0;
out:
	close_launch(&l);
	close_fdp(&l.go_w);
	if (r < 0) {
		close_fdp(&p->output);
		p->output = -1;
	}
	runtime_extra_free(&rx);
	spec_free(&s);
	return r;
}

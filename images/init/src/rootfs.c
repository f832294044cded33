#include "rootfs.h"

#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/vfs.h>

#include "mounts.h"

/*
 * Every path under the root is opened with RESOLVE_IN_ROOT, so a symlink in
 * the image (say /dev -> /host/somewhere) resolves inside the image rather
 * than on the host, and mounts then go onto the opened file through its
 * /proc/self/fd link. Without openat2 (before 5.6) the plain lookup is used.
 */
static int open_in_root(int rootfd, const char *rel, int flags)
{
	struct open_how how = {
		.flags = (unsigned long long)(flags | O_CLOEXEC),
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	if (rel[0] == '\0')
		rel = ".";
	int fd = (int)syscall(SYS_openat2, rootfd, rel, &how, sizeof(how));
	if (fd < 0 && errno == ENOSYS)
		fd = openat(rootfd, rel, flags | O_CLOEXEC);
	return fd;
}

static void fd_path(int fd, char *buf, size_t size)
{
	snprintf(buf, size, "/proc/self/fd/%d", fd);
}

/* clean is "/a/b"; creates each missing directory under the root. */
static int mkdir_in_root(int rootfd, const char *clean, err_t *e)
{
	char buf[PATH_MAX];
	snprintf(buf, sizeof(buf), "%s", clean + 1);
	if (buf[0] == '\0')
		return 0;
	for (char *p = buf;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char saved = *p;
		*p = '\0';
		autoclose int fd = open_in_root(rootfd, buf, O_PATH | O_DIRECTORY);
		if (fd < 0 && errno == ENOENT) {
			char *slash = strrchr(buf, '/');
			if (slash)
				*slash = '\0';
			autoclose int parent = open_in_root(rootfd, slash ? buf : "", O_PATH | O_DIRECTORY);
			if (slash)
				*slash = '/';
			if (parent < 0 || (mkdirat(parent, slash ? slash + 1 : buf, 0755) < 0 && errno != EEXIST))
				return err_sys(e, "mkdir /%s", buf);
			fd = open_in_root(rootfd, buf, O_PATH | O_DIRECTORY);
		}
		if (fd < 0)
			return err_sys(e, "mkdir /%s", buf);
		*p = saved;
		if (saved == '\0')
			return 0;
	}
}

/* A bind mount of a file needs a file to cover. */
static int mkfile_in_root(int rootfd, const char *clean, err_t *e)
{
	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s", clean);
	char *slash = strrchr(dir, '/');
	*slash = '\0';
	if (mkdir_in_root(rootfd, dir[0] ? dir : "/", e) < 0)
		return -1;
	autoclose int existing = open_in_root(rootfd, clean + 1, O_PATH);
	if (existing >= 0)
		return 0;
	autoclose int parent = open_in_root(rootfd, dir + 1, O_PATH | O_DIRECTORY);
	autoclose int fd = parent < 0 ? -1 :
		openat(parent, slash + 1, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0 && errno != EEXIST)
		return err_sys(e, "create %s", clean);
	return 0;
}

static unsigned long statvfs_to_ms(unsigned long f)
{
	unsigned long ms = 0;
	if (f & ST_RDONLY)
		ms |= MS_RDONLY;
	if (f & ST_NOSUID)
		ms |= MS_NOSUID;
	if (f & ST_NODEV)
		ms |= MS_NODEV;
	if (f & ST_NOEXEC)
		ms |= MS_NOEXEC;
	if (f & ST_NOATIME)
		ms |= MS_NOATIME;
	if (f & ST_NODIRATIME)
		ms |= MS_NODIRATIME;
	if (f & ST_RELATIME)
		ms |= MS_RELATIME;
	return ms;
}

/* A bind mount ignores flags like MS_RDONLY on creation; they take a second,
 * remount step. The flags the mount already has are kept, since the kernel
 * refuses to clear ones that are locked. */
static int remount_bind(const char *path, unsigned long flags, err_t *e)
{
	struct statvfs sv;
	if (statvfs(path, &sv) < 0)
		return err_sys(e, "statvfs");
	unsigned long kept = statvfs_to_ms(sv.f_flag) & ~MS_RDONLY;
	if (flags & (MS_NOATIME | MS_RELATIME | MS_STRICTATIME))
		kept &= ~(MS_NOATIME | MS_RELATIME);
	flags |= kept;
	if (mount(NULL, path, NULL, MS_BIND | MS_REMOUNT | flags, NULL) < 0)
		return err_sys(e, "remount");
	return 0;
}

static bool host_cgroup2(void)
{
	struct statfs sfs;
	return statfs("/sys/fs/cgroup", &sfs) == 0 && sfs.f_type == CGROUP2_SUPER_MAGIC;
}

/* A read-only tmpfs (a read-only container's /dev) is mounted writable
 * first, so that the device nodes and links can be made in it, and made
 * read-only at the end by readonly_tmpfs. */
static bool is_tmpfs(const char *type)
{
	return strcmp(type, "tmpfs") == 0;
}

#define PER_MOUNT_FLAGS (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME | \
			 MS_NODIRATIME | MS_RELATIME | MS_STRICTATIME | MS_NOSYMFOLLOW)

static int mount_one(int rootfd, const char *bundle, const struct spec_mount *m, bool *dev_tmpfs,
		     err_t *e)
{
	char dest[PATH_MAX], source[PATH_MAX], target[64];
	struct mount_opts o;
	const char *type = m->type ? m->type : "none";

	if (path_clean(m->destination, dest, sizeof(dest), e) < 0)
		return -1;
	if (strcmp(dest, "/") == 0)
		return err_set(e, "mount on /: not supported");
	if (mount_options_parse(m->options, m->noptions, &o, e) < 0)
		return err_prefix(e, "mount %s", dest);
	bool bind = o.bind || strcmp(type, "bind") == 0;
	if (path_fmt(source, sizeof(source), "%s", m->source ? m->source : type) < 0)
		return err_sys(e, "mount %s: source", dest);

	/* "cgroup" in a spec means "the cgroup filesystem", whichever version
	 * the host runs: a fresh cgroup2 mount on a unified host, else the
	 * host's v1 hierarchies bound in, since v1 needs one mount per
	 * controller. */
	bool cgroup_v1 = false;
	if (strcmp(type, "cgroup") == 0) {
		if (host_cgroup2()) {
			type = "cgroup2";
			o.data[0] = '\0';
		} else {
			bind = o.recursive = cgroup_v1 = true;
			snprintf(source, sizeof(source), "/sys/fs/cgroup");
		}
	}

	if (bind) {
		struct stat st;
		if (!m->source && !cgroup_v1)
			return err_set(e, "mount %s: a bind mount needs a source", dest);
		/* A relative source is relative to the bundle, as in runc. */
		if (!cgroup_v1 && m->source[0] != '/' &&
		    path_fmt(source, sizeof(source), "%s/%s", bundle, m->source) < 0)
			return err_sys(e, "mount %s: source", dest);
		if (stat(source, &st) < 0)
			return err_sys(e, "mount %s: source %s", dest, source);
		if (S_ISDIR(st.st_mode) ? mkdir_in_root(rootfd, dest, e) : mkfile_in_root(rootfd, dest, e))
			return err_prefix(e, "mount %s", dest);
	} else if (mkdir_in_root(rootfd, dest, e) < 0) {
		return err_prefix(e, "mount %s", dest);
	}

	autoclose int fd = open_in_root(rootfd, dest + 1, O_PATH);
	if (fd < 0)
		return err_sys(e, "mount %s", dest);
	fd_path(fd, target, sizeof(target));
	if (bind) {
		if (mount(source, target, NULL, MS_BIND | (o.recursive ? MS_REC : 0), NULL) < 0)
			return err_sys(e, "bind mount %s on %s", source, dest);
	} else if (mount(source, target, type, o.flags & ~(is_tmpfs(type) ? MS_RDONLY : 0),
			 o.data[0] ? o.data : NULL) < 0) {
		return err_sys(e, "mount %s on %s", type, dest);
	}

	bool remount = bind && (o.flags & PER_MOUNT_FLAGS);
	if (remount || o.propagation) {
		/* The fd still names the covered directory; reopen to reach the
		 * mount just made. */
		close(fd);
		fd = open_in_root(rootfd, dest + 1, O_PATH);
		if (fd < 0)
			return err_sys(e, "mount %s", dest);
		fd_path(fd, target, sizeof(target));
		if (remount && remount_bind(target, o.flags & PER_MOUNT_FLAGS, e) < 0)
			return err_prefix(e, "mount %s", dest);
		if (o.propagation && mount(NULL, target, NULL, o.propagation, NULL) < 0)
			return err_sys(e, "mount %s: set propagation", dest);
	}
	if (strcmp(dest, "/dev") == 0 && strcmp(type, "tmpfs") == 0)
		*dev_tmpfs = true;
	return 0;
}

static const struct {
	const char *name;
	unsigned major, minor;
} default_devices[] = {
	{ "null", 1, 3 }, { "zero", 1, 5 },    { "full", 1, 7 },
	{ "random", 1, 8 }, { "urandom", 1, 9 }, { "tty", 5, 0 },
};

static const struct {
	const char *name, *target;
} default_links[] = {
	{ "fd", "/proc/self/fd" },         { "stdin", "/proc/self/fd/0" },
	{ "stdout", "/proc/self/fd/1" },   { "stderr", "/proc/self/fd/2" },
	{ "ptmx", "pts/ptmx" },
};

/* Binding the host's nodes works even where mknod would not (a nodev
 * /dev, or later a user namespace); mknod is the fallback. */
static int make_devices(int rootfd, err_t *e)
{
	autoclose int dev = open_in_root(rootfd, "dev", O_PATH | O_DIRECTORY);
	if (dev < 0)
		return err_sys(e, "open /dev");
	for (size_t i = 0; i < ARRAY_LEN(default_devices); i++) {
		const char *name = default_devices[i].name;
		char host[32], target[64];
		int fd = openat(dev, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
		if (fd < 0 && errno == EEXIST)
			continue; /* a mount in the spec put something there */
		if (fd < 0)
			return err_sys(e, "create /dev/%s", name);
		close(fd);
		autoclose int node = openat(dev, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		snprintf(host, sizeof(host), "/dev/%s", name);
		fd_path(node, target, sizeof(target));
		if (node >= 0 && mount(host, target, NULL, MS_BIND, NULL) == 0)
			continue;
		unlinkat(dev, name, 0);
		dev_t rdev = makedev(default_devices[i].major, default_devices[i].minor);
		if (mknodat(dev, name, S_IFCHR | 0666, rdev) < 0 || fchmodat(dev, name, 0666, 0) < 0)
			return err_sys(e, "mknod /dev/%s", name);
	}
	for (size_t i = 0; i < ARRAY_LEN(default_links); i++)
		if (symlinkat(default_links[i].target, dev, default_links[i].name) < 0 && errno != EEXIST)
			return err_sys(e, "symlink /dev/%s", default_links[i].name);
	return 0;
}

static int readonly_tmpfs(int rootfd, const struct spec *s, err_t *e)
{
	for (size_t i = 0; i < s->nmounts; i++) {
		const struct spec_mount *m = &s->mounts[i];
		struct mount_opts o;
		char dest[PATH_MAX], target[64];
		if (!m->type || !is_tmpfs(m->type) ||
		    mount_options_parse(m->options, m->noptions, &o, e) < 0 || !(o.flags & MS_RDONLY) ||
		    o.bind)
			continue;
		if (path_clean(m->destination, dest, sizeof(dest), e) < 0)
			return -1;
		autoclose int fd = open_in_root(rootfd, dest + 1, O_PATH);
		if (fd < 0)
			return err_sys(e, "mount %s", dest);
		fd_path(fd, target, sizeof(target));
		if (remount_bind(target, o.flags & PER_MOUNT_FLAGS, e) < 0)
			return err_prefix(e, "make %s read-only", dest);
	}
	return 0;
}

int rootfs_setup(const struct spec *s, const char *rootfs, const char *bundle, err_t *e)
{
	bool dev_tmpfs = false;

	/* Nothing done from here on may show up in init's namespace. */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return err_sys(e, "make mounts private");
	/* pivot_root wants the new root to be a mount point. */
	if (mount(rootfs, rootfs, NULL, MS_BIND | MS_REC, NULL) < 0)
		return err_sys(e, "bind mount %s", rootfs);
	autoclose int rootfd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return err_sys(e, "open %s", rootfs);

	for (size_t i = 0; i < s->nmounts; i++)
		if (mount_one(rootfd, bundle, &s->mounts[i], &dev_tmpfs, e) < 0)
			return -1;
	if (dev_tmpfs && make_devices(rootfd, e) < 0)
		return -1;
	if (readonly_tmpfs(rootfd, s, e) < 0)
		return -1;

	/* pivot_root(".", ".") stacks the old root on top of the new one; the
	 * lazy unmount then drops it, so no directory for it is needed. */
	if (fchdir(rootfd) < 0)
		return err_sys(e, "chdir %s", rootfs);
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		return err_sys(e, "pivot_root");
	if (umount2(".", MNT_DETACH) < 0)
		return err_sys(e, "unmount the old root");
	if (chdir("/") < 0)
		return err_sys(e, "chdir /");

	if (s->root_readonly && remount_bind("/", MS_RDONLY, e) < 0)
		return err_prefix(e, "make / read-only");
	return 0;
}

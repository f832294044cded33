#include "rootfs.h"

#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "mounts.h"

/*
 * Every path under the root is opened with RESOLVE_IN_ROOT, so a symlink in
 * the image (say /dev -> /host/somewhere) resolves inside the image rather
 * than on the host, and mounts then go onto the opened file through its
 * /proc/self/fd link. Magic links (/proc/self/fd/N, /proc/PID/root, ...)
 * are refused: they could name anything the runtime holds. Kernels without
 * openat2 (before 5.6) get rootfs_walk, which does the same one component
 * at a time.
 */
static int open_in_root(int rootfd, const char *rel, int flags, bool no_symlinks)
{
	struct open_how how = {
		.flags = (unsigned long long)(flags | O_CLOEXEC),
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | (no_symlinks ? RESOLVE_NO_SYMLINKS : 0),
	};
	if (rel[0] == '\0')
		rel = ".";
	int fd = (int)syscall(SYS_openat2, rootfd, rel, &how, sizeof(how));
	if (fd < 0 && errno == ENOSYS)
		fd = rootfs_walk(rootfd, rel, flags, no_symlinks);
	return fd;
}

/* A symlink on procfs whose text is an absolute path or "type:[inode]" is
 * a magic link; /proc/self ("1234") and /proc/thread-self are plain. */
static bool magic_link(int dirfd, const char *text)
{
	struct statfs sfs;
	return fstatfs(dirfd, &sfs) == 0 && sfs.f_type == PROC_SUPER_MAGIC && (text[0] == '/' || strchr(text, ':'));
}

static int reopen_dir(int rootfd, const char *done)
{
	return done[0] ? openat(rootfd, done, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
		       : fcntl(rootfd, F_DUPFD_CLOEXEC, 3);
}

/* With create, missing directories are made on the way (and where a
 * dangling symlink points, inside the root). */
static int walk(int rootfd, const char *rel, int flags, bool no_symlinks, bool create)
{
	char todo[PATH_MAX], done[PATH_MAX] = "", link[PATH_MAX];
	int links = 0;
	if (flags & ~(O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) {
		errno = EINVAL;
		return -1;
	}
	if (path_fmt(todo, sizeof(todo), "%s", rel) < 0)
		return -1;
	autoclose int cur = reopen_dir(rootfd, "");
	if (cur < 0)
		return -1;
	char *p = todo;
	for (;;) {
		while (*p == '/')
			p++;
		if (*p == '\0')
			break;
		char *name = p;
		p += strcspn(p, "/");
		if (*p)
			*p++ = '\0';
		while (*p == '/')
			p++;
		bool last = *p == '\0';
		if (strcmp(name, ".") == 0)
			continue;
		if (strcmp(name, "..") == 0) {
			/* done holds real directories only, so dropping its last
			 * name is the real parent; at the root, ".." is the root. */
			char *slash = strrchr(done, '/');
			*(slash ? slash : done) = '\0';
			close(cur);
			if ((cur = reopen_dir(rootfd, done)) < 0)
				return -1;
			continue;
		}
		int fd = openat(cur, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		struct stat st;
		if (fd < 0 && errno == ENOENT && create) {
			if (mkdirat(cur, name, 0755) < 0 && errno != EEXIST)
				return -1;
			fd = openat(cur, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		}
		if (fd < 0)
			return -1;
		if (fstat(fd, &st) < 0) {
			close_fdp(&fd);
			return -1;
		}
		if (S_ISLNK(st.st_mode) && !(last && (flags & O_NOFOLLOW))) {
			ssize_t n = readlinkat(fd, "", link, sizeof(link) - 1);
			close_fdp(&fd);
			if (n < 0)
				return -1;
			link[n] = '\0';
			if (no_symlinks || ++links > 40 || magic_link(cur, link)) {
				errno = ELOOP;
				return -1;
			}
			/* Go on with the link's text in front of the rest. */
			char rest[PATH_MAX];
			if (path_fmt(rest, sizeof(rest), "%s/%s", link, p) < 0)
				return -1;
			memcpy(todo, rest, sizeof(todo));
			p = todo;
			if (link[0] == '/') {
				done[0] = '\0';
				close(cur);
				if ((cur = reopen_dir(rootfd, "")) < 0)
					return -1;
			}
			continue;
		}
		if (!last && !S_ISDIR(st.st_mode)) {
			close_fdp(&fd);
			errno = ENOTDIR;
			return -1;
		}
		size_t n = strlen(done);
		if (path_fmt(done + n, sizeof(done) - n, "%s%s", n ? "/" : "", name) < 0) {
			close_fdp(&fd);
			return -1;
		}
		close(cur);
		cur = fd;
	}
	struct stat st;
	if ((flags & O_DIRECTORY) && (fstat(cur, &st) < 0 || !S_ISDIR(st.st_mode))) {
		errno = ENOTDIR;
		return -1;
	}
	return take_fd(&cur);
}

int rootfs_walk(int rootfd, const char *rel, int flags, bool no_symlinks)
{
	return walk(rootfd, rel, flags, no_symlinks, false);
}

int rootfs_mkdirs(int rootfd, const char *rel)
{
	return walk(rootfd, rel, O_PATH | O_DIRECTORY, false, true);
}

static void fd_path(int fd, char *buf, size_t size)
{
	snprintf(buf, size, "/proc/self/fd/%d", fd);
}

/* clean is "/a/b"; creates each missing directory under the root,
 * following symlinks inside it. */
static int mkdir_in_root(int rootfd, const char *clean, err_t *e)
{
	autoclose int fd = rootfs_mkdirs(rootfd, clean + 1);
	return fd < 0 ? err_sys(e, "mkdir %s", clean) : 0;
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
	autoclose int existing = open_in_root(rootfd, clean + 1, O_PATH, false);
	if (existing >= 0)
		return 0;
	autoclose int parent = open_in_root(rootfd, dir[0] ? dir + 1 : "", O_PATH | O_DIRECTORY, false);
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

	/* procfs and sysfs on a path through a symlink are how CVE-2019-19921
	 * and CVE-2023-27561 redirected them; refuse any symlink there. */
	bool kernel_fs = !bind && (strcmp(type, "proc") == 0 || strcmp(type, "sysfs") == 0);
	autoclose int fd = open_in_root(rootfd, dest + 1, O_PATH, kernel_fs);
	if (fd < 0 && errno == ELOOP)
		return err_set(e, "mount %s: the destination goes through a symlink (or a magic link)", dest);
	if (fd < 0)
		return err_sys(e, "mount %s", dest);
	struct stat st;
	if (kernel_fs && (fstat(fd, &st) < 0 || !S_ISDIR(st.st_mode)))
		return err_set(e, "mount %s: the destination is not a directory", dest);
	fd_path(fd, target, sizeof(target));
	if (bind) {
		if (mount(source, target, NULL, MS_BIND | (o.recursive ? MS_REC : 0), NULL) < 0)
			return err_sys(e, "bind mount %s on %s", source, dest);
	} else if (mount(source, target, type, o.flags & ~(is_tmpfs(type) ? MS_RDONLY : 0),
			 o.data[0] ? o.data : NULL) < 0) {
		/* A bind of the host's /sys (as LinuxKit's getty and metadata
		 * have) already shows this cgroup2 at the destination, and the
		 * kernel refuses a superblock on its own root: bind the host's
		 * instead, as runc does, with the same flags below. */
		if (errno != EBUSY || strcmp(type, "cgroup2") != 0)
			return err_sys(e, "mount %s on %s", type, dest);
		if (mount("/sys/fs/cgroup", target, NULL, MS_BIND, NULL) < 0)
			return err_sys(e, "bind mount /sys/fs/cgroup on %s", dest);
		bind = true;
	}

	bool remount = bind && (o.flags & PER_MOUNT_FLAGS);
	if (remount || o.propagation) {
		/* The fd still names the covered directory; reopen to reach the
		 * mount just made. */
		close(fd);
		fd = open_in_root(rootfd, dest + 1, O_PATH, false);
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
	autoclose int dev = open_in_root(rootfd, "dev", O_PATH | O_DIRECTORY, false);
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
		autoclose int fd = open_in_root(rootfd, dest + 1, O_PATH, false);
		if (fd < 0)
			return err_sys(e, "mount %s", dest);
		fd_path(fd, target, sizeof(target));
		if (remount_bind(target, o.flags & PER_MOUNT_FLAGS, e) < 0)
			return err_prefix(e, "make %s read-only", dest);
	}
	return 0;
}

/* The parent folder of clean ("/dev/x" -> "dev"), opened in the root. */
static int open_parent(int rootfd, const char *clean, const char **name, err_t *e)
{
	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s", clean);
	char *slash = strrchr(dir, '/');
	*slash = '\0';
	*name = clean + (slash - dir) + 1;
	if (mkdir_in_root(rootfd, dir[0] ? dir : "/", e) < 0)
		return -1;
	int fd = open_in_root(rootfd, dir[0] ? dir + 1 : "", O_PATH | O_DIRECTORY, false);
	if (fd < 0)
		err_sys(e, "open %s", dir[0] ? dir : "/");
	return fd;
}

/* linux.devices: a node made with mknod, owned and moded as asked. Where
 * mknod is not allowed, the host's node of the same path is bound in
 * instead, when it is the same device (its owner and mode are the host's:
 * changing them would change the host's node). */
static int make_spec_device(int rootfd, const struct spec_device *d, err_t *e)
{
	char clean[PATH_MAX], target[64];
	const char *name;
	struct stat st;
	if (path_clean(d->path, clean, sizeof(clean), e) < 0)
		return -1;
	autoclose int dir = open_parent(rootfd, clean, &name, e);
	if (dir < 0)
		return err_prefix(e, "device %s", clean);
	if (fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		if (S_ISDIR(st.st_mode))
			return err_set(e, "device %s: a directory is in the way", clean);
		if (unlinkat(dir, name, 0) < 0)
			return err_sys(e, "device %s: remove what is there", clean);
	}
	dev_t rdev = d->type == S_IFIFO ? 0 : makedev(d->major, d->minor);
	if (mknodat(dir, name, d->type | (d->mode & 0777), rdev) == 0) {
		if (fchownat(dir, name, d->uid, d->gid, AT_SYMLINK_NOFOLLOW) < 0 ||
		    fchmodat(dir, name, d->mode, 0) < 0)
			return err_sys(e, "device %s: set owner and mode", clean);
		return 0;
	}
	if (errno != EPERM || d->type == S_IFIFO)
		return err_sys(e, "mknod %s", clean);
	autoclose int host = open(clean, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (host < 0 || fstat(host, &st) < 0)
		return err_sys(e, "device %s: mknod is not allowed and the host has no such node", clean);
	if ((st.st_mode & S_IFMT) != d->type || st.st_rdev != rdev)
		return err_set(e, "device %s: mknod is not allowed and the host's node is another device", clean);
	autoclose int fd = openat(dir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return err_sys(e, "device %s", clean);
	char source[64];
	fd_path(host, source, sizeof(source));
	close(fd);
	fd = openat(dir, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	fd_path(fd, target, sizeof(target));
	if (fd < 0 || mount(source, target, NULL, MS_BIND, NULL) < 0)
		return err_sys(e, "device %s: bind the host's node", clean);
	return 0;
}

/*
 * maskedPaths: /dev/null over a file, an empty read-only tmpfs over a
 * folder. The /dev/null bound is the runtime's own, opened without
 * following links and checked to be the char device 1:3, never the
 * image's: a container whose /dev/null is a symlink (or another node)
 * could otherwise have a file of its choice bound over the masked one
 * (CVE-2025-31133).
 */
static int mask_paths(int rootfd, const struct spec *s, err_t *e)
{
	struct stat st;
	char source[64], target[64], clean[PATH_MAX];
	if (s->nmasked == 0)
		return 0;
	autoclose int null = open("/dev/null", O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (null < 0 || fstat(null, &st) < 0)
		return err_sys(e, "maskedPaths: open the runtime's /dev/null");
	if (!S_ISCHR(st.st_mode) || st.st_rdev != makedev(1, 3))
		return err_set(e, "maskedPaths: the runtime's /dev/null is not the null device (1:3)");
	fd_path(null, source, sizeof(source));
	for (size_t i = 0; i < s->nmasked; i++) {
		if (path_clean(s->masked_paths[i], clean, sizeof(clean), e) < 0)
			return -1;
		autoclose int fd = open_in_root(rootfd, clean + 1, O_PATH, false);
		if (fd < 0 && errno == ENOENT)
			continue;
		if (fd < 0 || fstat(fd, &st) < 0)
			return err_sys(e, "mask %s", clean);
		fd_path(fd, target, sizeof(target));
		int r = S_ISDIR(st.st_mode)
				? mount("tmpfs", target, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0555")
				: mount(source, target, NULL, MS_BIND, NULL);
		if (r < 0)
			return err_sys(e, "mask %s", clean);
	}
	return 0;
}

/* readonlyPaths: each bound onto itself, then made read-only. */
static int readonly_paths(int rootfd, const struct spec *s, err_t *e)
{
	char target[64], clean[PATH_MAX];
	for (size_t i = 0; i < s->nreadonly; i++) {
		if (path_clean(s->readonly_paths[i], clean, sizeof(clean), e) < 0)
			return -1;
		autoclose int fd = open_in_root(rootfd, clean + 1, O_PATH, false);
		if (fd < 0 && errno == ENOENT)
			continue;
		if (fd < 0)
			return err_sys(e, "make %s read-only", clean);
		fd_path(fd, target, sizeof(target));
		if (mount(target, target, NULL, MS_BIND | MS_REC, NULL) < 0)
			return err_sys(e, "make %s read-only: bind", clean);
		close(fd);
		fd = open_in_root(rootfd, clean + 1, O_PATH, false);
		if (fd < 0)
			return err_sys(e, "make %s read-only", clean);
		fd_path(fd, target, sizeof(target));
		if (remount_bind(target, MS_RDONLY | MS_NOSUID | MS_NODEV, e) < 0)
			return err_prefix(e, "make %s read-only", clean);
	}
	return 0;
}

/* The mount point of the mount that holds path (absolute, resolved), from
 * mountinfo text: the longest mount point that is path or a parent of it. */
int mount_point_of(const char *text, const char *path, char *out, size_t size)
{
	size_t best = 0;
	bool found = false;
	for (const char *line = text; *line;) {
		const char *end = strchr(line, '\n');
		if (!end)
			end = line + strlen(line);
		/* ID PARENT MAJ:MIN ROOT MOUNTPOINT ...: the fifth field */
		const char *p = line;
		for (int f = 0; f < 4 && p < end; f++) {
			while (p < end && *p != ' ')
				p++;
			while (p < end && *p == ' ')
				p++;
		}
		char mp[PATH_MAX];
		size_t n = 0;
		while (p < end && *p != ' ' && n + 1 < sizeof(mp)) {
			if (p[0] == '\\' && end - p >= 4 && p[1] >= '0' && p[1] <= '3') {
				mp[n++] = (char)(((p[1] - '0') << 6) | ((p[2] - '0') << 3) | (p[3] - '0'));
				p += 4;
			} else {
				mp[n++] = *p++;
			}
		}
		mp[n] = 0;
		bool inside = n > 0 && (strcmp(mp, "/") == 0 ||
					(strncmp(path, mp, n) == 0 && (path[n] == 0 || path[n] == '/')));
		if (inside && n >= best && n < size) {
			memcpy(out, mp, n + 1);
			best = n;
			found = true;
		}
		line = *end ? end + 1 : end;
	}
	return found ? 0 : -1;
}

/* Makes the mount holding rootfs private in this namespace (as runc does),
 * so that with a shared "/" the mounts made under rootfs stay here. */
static int parent_mount_private(const char *rootfs, err_t *e)
{
	char real[PATH_MAX], mp[PATH_MAX];
	autofree char *text = NULL;
	if (!realpath(rootfs, real))
		return err_sys(e, "resolve %s", rootfs);
	if (read_file("/proc/self/mountinfo", 1 << 22, &text, NULL, e) < 0)
		return -1;
	if (mount_point_of(text, real, mp, sizeof(mp)) < 0)
		return err_set(e, "no mount holds %s", real);
	if (mount(NULL, mp, NULL, MS_PRIVATE, NULL) < 0)
		return err_sys(e, "make %s private", mp);
	return 0;
}

int rootfs_setup(const struct spec *s, const char *rootfs, const char *bundle, err_t *e)
{
	bool dev_tmpfs = false;
	unsigned long prop = s->rootfs_propagation;

	/* Nothing done from here on may show up in init's namespace, but what
	 * the container mounts later may: with a slave rootfsPropagation the
	 * host's later mounts still come in (slave, not private); with a shared
	 * one the mounts stay peers of the host's, so a mount the container
	 * makes under a folder bound rshared (LinuxKit's mount package binds
	 * /var) shows on the host too. Only the mount holding the rootfs is
	 * made private, as runc does, so setting up the container's own mounts
	 * does not leak out. */
	unsigned long base = prop & MS_SHARED ? MS_SHARED : prop & MS_SLAVE ? MS_SLAVE : MS_PRIVATE;
	if (mount(NULL, "/", NULL, MS_REC | base, NULL) < 0)
		return err_sys(e, "make mounts private");
	if (base == MS_SHARED && parent_mount_private(rootfs, e) < 0)
		return -1;
	/* pivot_root wants the new root to be a mount point. */
	if (mount(rootfs, rootfs, NULL, MS_BIND | MS_REC, NULL) < 0)
		return err_sys(e, "bind mount %s", rootfs);
	autoclose int rootfd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return err_sys(e, "open %s", rootfs);

	for (size_t i = 0; i < s->nmounts; i++)
		if (mount_one(rootfd, bundle, &s->mounts[i], &dev_tmpfs, e) < 0)
			return -1;
	/* The spec's devices first: the defaults do not replace what is there. */
	for (size_t i = 0; i < s->ndevices; i++)
		if (make_spec_device(rootfd, &s->devices[i], e) < 0)
			return -1;
	if (dev_tmpfs && make_devices(rootfd, e) < 0)
		return -1;
	if (mask_paths(rootfd, s, e) < 0 || readonly_paths(rootfd, s, e) < 0)
		return -1;
	if (readonly_tmpfs(rootfd, s, e) < 0)
		return -1;

	/* pivot_root(".", ".") stacks the old root on top of the new one; the
	 * lazy unmount then drops it, so no directory for it is needed. */
	autoclose int oldroot = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (oldroot < 0)
		return err_sys(e, "open /");
	if (fchdir(rootfd) < 0)
		return err_sys(e, "chdir %s", rootfs);
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		return err_sys(e, "pivot_root");
	/* The old root now sits on the new one; from inside it, "." is the old
	 * root, not the new. With shared propagation its mounts are peers of
	 * init's: unmounting them would unmount init's /proc, /dev, /var... too.
	 * Slaves first, as runc does (the new root's own mounts, such as an
	 * rshared bind of /var, stay shared). */
	if (fchdir(oldroot) < 0)
		return err_sys(e, "chdir to the old root");
	if (base == MS_SHARED && mount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) < 0)
		return err_sys(e, "make the old root a slave");
	if (umount2(".", MNT_DETACH) < 0)
		return err_sys(e, "unmount the old root");
	if (chdir("/") < 0)
		return err_sys(e, "chdir /");

	if (prop && mount(NULL, "/", NULL, prop, NULL) < 0)
		return err_sys(e, "rootfsPropagation");
	if (s->root_readonly && remount_bind("/", MS_RDONLY, e) < 0)
		return err_prefix(e, "make / read-only");
	return 0;
}

int rootfs_chdir(const char *cwd, err_t *e)
{
	char clean[PATH_MAX], where[PATH_MAX];
	if (path_clean(cwd, clean, sizeof(clean), e) < 0)
		return err_prefix(e, "cwd");
	autoclose int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root < 0)
		return err_sys(e, "open /");
	autoclose int fd = open_in_root(root, clean + 1, O_PATH | O_DIRECTORY, false);
	if (fd < 0 && errno == ELOOP)
		return err_set(e, "cwd %s: goes through a magic link or too many symlinks", cwd);
	if (fd < 0 || fchdir(fd) < 0)
		return err_sys(e, "chdir %s", cwd);
	/* The kernel spells a cwd outside our root "(unreachable)/..."; the raw
	 * syscall shows it (libcs may hide it). CVE-2024-21626. */
	long n = syscall(SYS_getcwd, where, sizeof(where));
	if (n < 0)
		return err_sys(e, "cwd %s", cwd);
	if (where[0] != '/')
		return err_set(e, "cwd %s: outside the container's root", cwd);
	return 0;
}

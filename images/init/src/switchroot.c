#include "switchroot.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/vfs.h>

#include "log.h"

#define NEWROOT "/.keel-root"
#define MAX_DEPTH 128

struct link {
	ino_t ino;
	char *path; /* relative to the new root */
};

struct copier {
	dev_t dev;
	int newroot;
	struct link *links;
	size_t nlinks, cap;
	size_t files;
	unsigned long long bytes;
	char path[PATH_MAX];
	err_t *e;
};

/* copy_file_range between two tmpfs/ramfs mounts works on some kernels and
 * gives EXDEV on others (5.19+), so fall back to sendfile, then read/write. */
static int copy_data(int in, int out, off_t size)
{
	static int method; /* 0 copy_file_range, 1 sendfile, 2 read/write */
	char buf[65536];
	off_t done = 0;
	while (done < size) {
		size_t want = (size_t)(size - done) > (1u << 30) ? (1u << 30) : (size_t)(size - done);
		ssize_t r;
		if (method == 0)
			r = copy_file_range(in, NULL, out, NULL, want, 0);
		else if (method == 1)
			r = sendfile(out, in, NULL, want);
		else {
			r = read(in, buf, want < sizeof(buf) ? want : sizeof(buf));
			if (r > 0 && write_all(out, buf, (size_t)r) < 0)
				return -1;
		}
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && method < 2 && done == 0 &&
		    (errno == EXDEV || errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP)) {
			method++;
			continue;
		}
		if (r < 0)
			return -1;
		if (r == 0)
			break; /* shrank under us; nothing else writes here, though */
		done += r;
	}
	return 0;
}

static int set_attrs(int dirfd, const char *name, const struct stat *st)
{
	struct timespec times[2] = { st->st_atim, st->st_mtim };
	/* chown first: it clears set-id bits that the chmod then restores. */
	if (fchownat(dirfd, name, st->st_uid, st->st_gid, AT_SYMLINK_NOFOLLOW) < 0)
		return -1;
	if (!S_ISLNK(st->st_mode) && fchmodat(dirfd, name, st->st_mode & 07777, 0) < 0)
		return -1;
	return utimensat(dirfd, name, times, AT_SYMLINK_NOFOLLOW);
}

static struct link *find_link(struct copier *c, ino_t ino)
{
	for (size_t i = 0; i < c->nlinks; i++)
		if (c->links[i].ino == ino)
			return &c->links[i];
	return NULL;
}

static int remember_link(struct copier *c, ino_t ino)
{
	if (c->nlinks == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 64;
		struct link *bigger = realloc(c->links, cap * sizeof(*bigger));
		if (!bigger)
			return -1;
		c->links = bigger;
		c->cap = cap;
	}
	if (!(c->links[c->nlinks].path = strdup(c->path)))
		return -1;
	c->links[c->nlinks++].ino = ino;
	return 0;
}

static int copy_tree(struct copier *c, int src, int dst, int depth);

static int copy_entry(struct copier *c, int src, int dst, const char *name, const struct stat *st,
		      int depth)
{
	if (S_ISDIR(st->st_mode)) {
		if (mkdirat(dst, name, 0700) < 0)
			return -1;
		autoclose int s = openat(src, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		autoclose int d = openat(dst, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (s < 0 || d < 0 || copy_tree(c, s, d, depth + 1) < 0)
			return -1;
		/* Attributes last, or adding the entries would bump the mtime. */
		if (set_attrs(dst, name, st) < 0)
			return -1;
		return unlinkat(src, name, AT_REMOVEDIR);
	}

	/* Looked up whatever st_nlink says now: deleting the copied links
	 * brings the last one down to 1. Inode numbers cannot be reused
	 * meanwhile, since nothing is created on the initramfs. */
	struct link *l = find_link(c, st->st_ino);
	if (l) {
		if (linkat(c->newroot, l->path, dst, name, 0) < 0)
			return -1;
		return unlinkat(src, name, 0);
	}

	if (S_ISREG(st->st_mode)) {
		autoclose int in = openat(src, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (in < 0)
			return -1;
		autoclose int out = openat(dst, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (out < 0 || copy_data(in, out, st->st_size) < 0)
			return -1;
		c->bytes += (unsigned long long)st->st_size;
	} else if (S_ISLNK(st->st_mode)) {
		char target[PATH_MAX];
		ssize_t n = readlinkat(src, name, target, sizeof(target) - 1);
		if (n < 0)
			return -1;
		target[n] = '\0';
		if (symlinkat(target, dst, name) < 0)
			return -1;
	} else if (mknodat(dst, name, st->st_mode, st->st_rdev) < 0) {
		return -1;
	}
	if (set_attrs(dst, name, st) < 0)
		return -1;
	if (st->st_nlink > 1 && remember_link(c, st->st_ino) < 0)
		return -1;
	c->files++;
	/* Deleting right away keeps peak memory near one copy of the tree. */
	return unlinkat(src, name, 0);
}

static int copy_tree(struct copier *c, int src, int dst, int depth)
{
	if (depth > MAX_DEPTH)
		return err_set(c->e, "%s: nested too deeply", c->path);
	int fd = dup(src);
	DIR *d = fd < 0 ? NULL : fdopendir(fd);
	if (!d) {
		if (fd >= 0)
			close(fd);
		return err_sys(c->e, "open /%s", c->path);
	}
	struct dirent *de;
	int r = 0;
	while (r == 0 && (de = readdir(d))) {
		const char *name = de->d_name;
		struct stat st;
		if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
			continue;
		if (fstatat(src, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			r = err_sys(c->e, "stat /%s/%s", c->path, name);
			break;
		}
		/* Stay on the initramfs: this skips the new root itself. */
		if (st.st_dev != c->dev)
			continue;
		size_t len = strlen(c->path);
		if (len + 1 + strlen(name) + 1 > sizeof(c->path)) {
			r = err_set(c->e, "/%s/%s: path too long", c->path, name);
			break;
		}
		snprintf(c->path + len, sizeof(c->path) - len, "%s%s", len ? "/" : "", name);
		if (copy_entry(c, src, dst, name, &st, depth) < 0) {
			/* A nested failure has already described itself. */
			if (!c->e->msg[0])
				err_sys(c->e, "copy /%s", c->path);
			r = -1;
		}
		c->path[len] = '\0';
	}
	closedir(d);
	return r;
}

int move_tree(int src, int dst, struct move_stats *stats, err_t *e)
{
	struct stat st;
	if (fstat(src, &st) < 0)
		return err_sys(e, "stat");
	struct copier c = { .dev = st.st_dev, .newroot = dst, .e = e };
	e->msg[0] = '\0';
	int r = copy_tree(&c, src, dst, 0);
	for (size_t i = 0; i < c.nlinks; i++)
		free(c.links[i].path);
	free(c.links);
	stats->files = c.files;
	stats->bytes = c.bytes;
	return r;
}

int switch_root_if_initramfs(bool *damaged, err_t *e)
{
	struct statfs sfs;
	struct stat root;
	uint64_t start = now_ms();

	*damaged = false;
	if (statfs("/", &sfs) < 0 || stat("/", &root) < 0)
		return err_sys(e, "stat /");
	if (sfs.f_type != RAMFS_MAGIC && sfs.f_type != TMPFS_MAGIC)
		return 0;

	if (mkdir(NEWROOT, 0755) < 0 && errno != EEXIST)
		return err_sys(e, "mkdir %s", NEWROOT);
	if (mount("tmpfs", NEWROOT, "tmpfs", 0, "mode=0755") < 0)
		return err_sys(e, "mount tmpfs on %s", NEWROOT);

	struct move_stats stats;
	autoclose int src = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	autoclose int dst = open(NEWROOT, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (src < 0 || dst < 0)
		return err_sys(e, "open %s", NEWROOT);
	*damaged = true;
	if (move_tree(src, dst, &stats, e) < 0)
		return -1;
	struct timespec times[2] = { root.st_atim, root.st_mtim };
	if (fchown(dst, root.st_uid, root.st_gid) < 0 || fchmod(dst, root.st_mode & 07777) < 0 ||
	    futimens(dst, times) < 0)
		return err_sys(e, "set attributes of the new root");

	/* The switch_root dance: the new root moves over "/", and chroot makes
	 * it our root too; the emptied initramfs stays underneath, unreachable. */
	if (chdir(NEWROOT) < 0 || mount(".", "/", NULL, MS_MOVE, NULL) < 0 || chroot(".") < 0 ||
	    chdir("/") < 0)
		return err_sys(e, "switch to the new root");
	*damaged = false;
	log_msg("root switched to tmpfs: %zu files, %llu KiB in %llu ms", stats.files, stats.bytes / 1024,
		(unsigned long long)(now_ms() - start));
	return 0;
}

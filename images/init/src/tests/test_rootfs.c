/* rootfs_walk: resolving paths inside a root without openat2. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../rootfs.h"
#include "../common/tests/tap.h"

static char root[64];

static void path(char *out, size_t size, const char *rel)
{
	snprintf(out, size, "%s/%s", root, rel);
}

/* Whether walking rel from rootfd ends at the file at want (under root). */
static bool lands_on(int rootfd, const char *rel, int flags, const char *want)
{
	char full[256];
	struct stat a, b;
	int fd = rootfs_walk(rootfd, rel, flags, false);
	if (fd < 0) {
		tap_diag("%s: %s", rel, strerror(errno));
		return false;
	}
	path(full, sizeof(full), want);
	bool same = fstat(fd, &a) == 0 && lstat(full, &b) == 0 && a.st_ino == b.st_ino && a.st_dev == b.st_dev;
	close(fd);
	return same;
}

static int fails_with(int rootfd, const char *rel, int flags, bool no_symlinks)
{
	int fd = rootfs_walk(rootfd, rel, flags, no_symlinks);
	if (fd >= 0) {
		close(fd);
		return 0;
	}
	return errno;
}

TAP_SUITE(test_rootfs)
{
	char p[256];
	snprintf(root, sizeof(root), "/tmp/keel-walk-XXXXXX");
	ok(mkdtemp(root) != NULL, "temp root");
	path(p, sizeof(p), "a");
	mkdir(p, 0755);
	path(p, sizeof(p), "a/b");
	mkdir(p, 0755);
	path(p, sizeof(p), "a/b/file");
	close(open(p, O_WRONLY | O_CREAT, 0644));
	static const char *const links[][2] = {
		{ "abs", "/a" },           /* absolute: means the root's /a */
		{ "up", "../../../../a" }, /* climbs: stops at the root */
		{ "loop", "loop" },
		{ "f", "a/b/file" },
		{ "hostetc", "/etc" }, /* the host's /etc must not be reached */
		{ "a/b/back", "../../abs/b" },
		{ "fd", "/proc/self/fd" },
		{ "dangling", "/made/here" },
		{ "dangling-up", "../../../../made-up" },
	};
	for (size_t i = 0; i < ARRAY_LEN(links); i++) {
		path(p, sizeof(p), links[i][0]);
		symlink(links[i][1], p);
	}
	int rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	ok(rootfd >= 0, "open the root");

	ok(lands_on(rootfd, "a/b/file", O_PATH, "a/b/file"), "a plain path");
	ok(lands_on(rootfd, "abs/b/file", O_PATH, "a/b/file"), "an absolute symlink resolves inside the root");
	ok(lands_on(rootfd, "up/b", O_PATH | O_DIRECTORY, "a/b"), "a climbing symlink stops at the root");
	ok(lands_on(rootfd, "../../../a", O_PATH, "a"), "leading .. stops at the root");
	ok(lands_on(rootfd, "a/b/../../a/./b", O_PATH, "a/b"), ".. and . in the middle");
	ok(lands_on(rootfd, "a/b/back/file", O_PATH, "a/b/file"), "a relative link through another link");
	ok(lands_on(rootfd, "f", O_PATH, "a/b/file"), "a link to a file is followed");
	ok(lands_on(rootfd, "f", O_PATH | O_NOFOLLOW, "f"), "O_NOFOLLOW gives the link itself");
	ok(lands_on(rootfd, "", O_PATH | O_DIRECTORY, ""), "the empty path is the root");
	is_int(fails_with(rootfd, "hostetc/passwd", O_PATH, false), ENOENT, "/etc in a link is the root's /etc, not the host's");
	is_int(fails_with(rootfd, "loop", O_PATH, false), ELOOP, "a symlink loop gives ELOOP");
	is_int(fails_with(rootfd, "abs/b", O_PATH, true), ELOOP, "no_symlinks refuses any symlink");
	is_int(fails_with(rootfd, "a/b/file/x", O_PATH, false), ENOTDIR, "a file in the middle gives ENOTDIR");
	is_int(fails_with(rootfd, "f", O_PATH | O_DIRECTORY, false), ENOTDIR, "O_DIRECTORY on a file gives ENOTDIR");
	is_int(fails_with(rootfd, "a", O_RDWR, false), EINVAL, "only O_PATH opens are offered");

	/* Making directories on the way, never outside. */
	int fd = rootfs_mkdirs(rootfd, "abs/new/dir");
	ok(fd >= 0 && lands_on(rootfd, "a/new/dir", O_PATH | O_DIRECTORY, "a/new/dir"), "mkdirs through a link makes a/new/dir");
	close(fd);
	fd = rootfs_mkdirs(rootfd, "dangling/x");
	ok(fd >= 0 && lands_on(rootfd, "made/here/x", O_PATH | O_DIRECTORY, "made/here/x"),
	   "mkdirs through a dangling absolute link makes its target inside the root");
	close(fd);
	fd = rootfs_mkdirs(rootfd, "dangling-up");
	ok(fd >= 0 && lands_on(rootfd, "made-up", O_PATH | O_DIRECTORY, "made-up"), "and a climbing one, at the root");
	close(fd);
	struct stat st;
	ok(stat("/made", &st) < 0 && stat("/made-up", &st) < 0, "nothing was made outside the root");
	ok(rootfs_mkdirs(rootfd, "f/x") < 0 && errno == ENOTDIR, "mkdirs under a file gives ENOTDIR");
	ok(rootfs_mkdirs(rootfd, "loop/x") < 0 && errno == ELOOP, "mkdirs through a loop gives ELOOP");

	/* Magic links: from the real root, /proc/self/fd/N is a directory we hold. */
	int hostroot = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	char magic[64];
	snprintf(magic, sizeof(magic), "proc/self/fd/%d", rootfd);
	is_int(fails_with(hostroot, magic, O_PATH, false), ELOOP, "/proc/self/fd/N (a magic link) gives ELOOP");
	snprintf(magic, sizeof(magic), "proc/%d/root", (int)getpid());
	is_int(fails_with(hostroot, magic, O_PATH, false), ELOOP, "/proc/PID/root gives ELOOP");
	ok(fails_with(hostroot, "proc/self/status", O_PATH, false) == 0, "/proc/self itself is a plain link");
	int in_fd = rootfs_walk(rootfd, "fd", O_PATH, false);
	ok(in_fd < 0, "a link in the image to /proc/self/fd resolves inside the image (no proc there)");
	close(hostroot);
	close(rootfd);

	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
	ok(system(cmd) == 0, "clean up");
}

TAP_SUITE(test_mount_point_of)
{
	const char *info =
		"22 1 0:20 / / rw - tmpfs tmpfs rw\n"
		"23 22 0:21 / /var rw shared:2 - tmpfs tmpfs rw\n"
		"24 22 0:22 / /var/lib/data rw - ext4 /dev/vda1 rw\n"
		"25 22 0:23 / /containers/services/a\\040b/rootfs rw - overlay overlay rw\n"
		"26 22 0:24 / /variable rw - tmpfs tmpfs rw";
	char mp[256];
	ok(mount_point_of(info, "/containers/services/x/rootfs", mp, sizeof(mp)) == 0 && strcmp(mp, "/") == 0,
	   "a folder on the root tmpfs: /");
	ok(mount_point_of(info, "/var/lib/data/x", mp, sizeof(mp)) == 0 && strcmp(mp, "/var/lib/data") == 0,
	   "the longest mount point that holds it");
	ok(mount_point_of(info, "/var/lib", mp, sizeof(mp)) == 0 && strcmp(mp, "/var") == 0, "/var/lib is on /var");
	ok(mount_point_of(info, "/variables", mp, sizeof(mp)) == 0 && strcmp(mp, "/") == 0,
	   "a name that only starts like a mount point is not under it");
	ok(mount_point_of(info, "/containers/services/a b/rootfs", mp, sizeof(mp)) == 0 &&
		   strcmp(mp, "/containers/services/a b/rootfs") == 0,
	   "octal escapes in mountinfo are decoded; a mount point holds itself");
	ok(mount_point_of("", "/x", mp, sizeof(mp)) < 0, "nothing mounted: -1");
}

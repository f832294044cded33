#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "../switchroot.h"
#include "../common/tests/tap.h"

static char base[] = "/tmp/keel-move-test-XXXXXX";

static void put(const char *rel, const char *data, size_t n, mode_t mode)
{
	char p[512];
	snprintf(p, sizeof(p), "%s/src/%s", base, rel);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd >= 0) {
		if (write(fd, data, n) != (ssize_t)n)
			tap_diag("short write to %s", p);
		fchmod(fd, mode);
		close(fd);
	}
}

static void at(char *buf, size_t size, const char *side, const char *rel)
{
	snprintf(buf, size, "%s/%s/%s", base, side, rel);
}

static bool is_empty_dir(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *de;
	int n = 0;
	if (!d)
		return false;
	while ((de = readdir(d)))
		n += strcmp(de->d_name, ".") && strcmp(de->d_name, "..");
	closedir(d);
	return n == 0;
}

TAP_SUITE(test_switchroot)
{
	char p[512], q[512];
	bool root = geteuid() == 0;
	struct timespec old[2] = { { 1000000000, 0 }, { 1000000000, 0 } };

	ok(mkdtemp(base) != NULL, "move_tree: temp dir");
	at(p, sizeof(p), "src", "a/b");
	snprintf(q, sizeof(q), "mkdir -p %s %s/dst", p, base);
	ok(system(q) == 0, "move_tree: source tree");

	put("a/b/f", "hello", 5, 04755);
	at(p, sizeof(p), "src", "a/b/f");
	utimensat(AT_FDCWD, p, old, 0);
	at(q, sizeof(q), "src", "h1");
	link(p, q);
	at(q, sizeof(q), "src", "a/h2");
	link(p, q);
	at(q, sizeof(q), "src", "s");
	symlink("a/b/f", q);
	at(q, sizeof(q), "src", "fifo");
	mkfifo(q, 0640);
	put("empty", "", 0, 0644);
	size_t big = 300000;
	char *data = malloc(big);
	for (size_t i = 0; i < big; i++)
		data[i] = (char)(i * 7 + i / 251);
	put("a/big", data, big, 0600);
	at(p, sizeof(p), "src", "a/b");
	chmod(p, 0750);
	utimensat(AT_FDCWD, p, old, 0);
	if (root) {
		at(p, sizeof(p), "src", "a/b/f");
		chown(p, 1234, 5678);
		chmod(p, 04755);
		at(q, sizeof(q), "src", "null");
		mknod(q, S_IFCHR | 0666, makedev(1, 3));
	}
	/* Another filesystem inside the tree must stay where it is. */
	at(q, sizeof(q), "src", "mnt");
	mkdir(q, 0755);
	bool mounted = root && mount("tmpfs", q, "tmpfs", 0, NULL) == 0;
	if (mounted)
		put("mnt/other-fs", "x", 1, 0644);

	char s[512], d[512];
	snprintf(s, sizeof(s), "%s/src", base);
	snprintf(d, sizeof(d), "%s/dst", base);
	int sfd = open(s, O_RDONLY | O_DIRECTORY), dfd = open(d, O_RDONLY | O_DIRECTORY);
	struct move_stats stats;
	err_t e;
	int r = move_tree(sfd, dfd, &stats, &e);
	ok(r == 0, "move_tree succeeds%s%s", r ? ": " : "", r ? e.msg : "");
	close(sfd);
	close(dfd);

	struct stat st, st2, st3;
	at(p, sizeof(p), "dst", "a/b/f");
	ok(stat(p, &st) == 0 && st.st_size == 5, "file copied");
	is_int(st.st_mode & 07777, 04755, "mode kept, set-uid bit included");
	is_int(st.st_mtim.tv_sec, 1000000000, "file mtime kept");
	is_int(st.st_nlink, 3, "three links");
	at(q, sizeof(q), "dst", "h1");
	stat(q, &st2);
	at(q, sizeof(q), "dst", "a/h2");
	stat(q, &st3);
	ok(st.st_ino == st2.st_ino && st.st_ino == st3.st_ino, "hard links are one inode again");
	if (root)
		ok(st.st_uid == 1234 && st.st_gid == 5678, "owner kept");
	at(p, sizeof(p), "dst", "a/b");
	ok(stat(p, &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & 07777) == 0750, "directory mode kept");
	is_int(st.st_mtim.tv_sec, 1000000000, "directory mtime kept despite its new entries");
	char target[64] = "";
	at(p, sizeof(p), "dst", "s");
	ssize_t n = readlink(p, target, sizeof(target) - 1);
	target[n < 0 ? 0 : n] = '\0';
	is_str(target, "a/b/f", "symlink copied as a symlink");
	at(p, sizeof(p), "dst", "fifo");
	ok(lstat(p, &st) == 0 && S_ISFIFO(st.st_mode) && (st.st_mode & 0777) == 0640, "fifo recreated");
	at(p, sizeof(p), "dst", "empty");
	ok(stat(p, &st) == 0 && st.st_size == 0, "empty file copied");
	if (root) {
		at(p, sizeof(p), "dst", "null");
		ok(lstat(p, &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3), "device node recreated");
	}

	at(p, sizeof(p), "dst", "a/big");
	char *back = malloc(big + 1);
	int fd = open(p, O_RDONLY);
	ok(fd >= 0 && read(fd, back, big + 1) == (ssize_t)big && memcmp(back, data, big) == 0,
	   "large file content identical");
	if (fd >= 0)
		close(fd);
	free(back);
	free(data);
	is_int(stats.bytes, 5 + big, "bytes counted once per inode");

	if (mounted) {
		at(p, sizeof(p), "src", "mnt/other-fs");
		ok(access(p, F_OK) == 0, "another filesystem inside is left alone");
		at(q, sizeof(q), "src", "mnt");
		umount2(q, MNT_DETACH);
		ok(rmdir(q) == 0, "its mount point stayed behind, and nothing else");
	}
	snprintf(p, sizeof(p), "%s/src", base);
	ok(is_empty_dir(p), "the source is empty");

	snprintf(q, sizeof(q), "rm -rf %s", base);
	ok(system(q) == 0, "move_tree: clean up");
}

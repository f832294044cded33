#include "blockdev.h"

#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

static size_t run_len(const char *s, bool digits)
{
	size_t n = 0;
	while (s[n] && (isdigit((unsigned char)s[n]) != 0) == digits)
		n++;
	return n;
}

int devname_cmp(const char *a, const char *b)
{
	while (*a && *b) {
		bool da = isdigit((unsigned char)*a), db = isdigit((unsigned char)*b);
		if (da != db)
			return da ? -1 : 1;
		size_t la = run_len(a, da), lb = run_len(b, db);
		if (da) {
			/* Numbers: leading zeros aside, the longer is larger. */
			const char *za = a, *zb = b;
			size_t ma = la, mb = lb;
			while (ma > 1 && *za == '0')
				za++, ma--;
			while (mb > 1 && *zb == '0')
				zb++, mb--;
			if (ma != mb)
				return ma < mb ? -1 : 1;
			int c = memcmp(za, zb, ma);
			if (c)
				return c;
		} else {
			/* Letters: the kernel counts vda..vdz, vdaa..: shorter first. */
			if (la != lb)
				return la < lb ? -1 : 1;
			int c = memcmp(a, b, la);
			if (c)
				return c;
		}
		if (la != lb)
			return la < lb ? -1 : 1;
		a += la;
		b += lb;
	}
	return *a ? 1 : *b ? -1 : 0;
}

bool devname_is_virtual(const char *name)
{
	static const char *const prefixes[] = { "loop", "ram", "zram", "sr", "nbd", "fd", "mtdblock" };
	for (size_t i = 0; i < ARRAY_LEN(prefixes); i++) {
		size_t n = strlen(prefixes[i]);
		if (strncmp(name, prefixes[i], n) == 0 && (name[n] == '\0' || isdigit((unsigned char)name[n])))
			return true;
	}
	return false;
}

int devnode_path(const char *name, char *buf, size_t size)
{
	if (path_fmt(buf, size, "/dev/%s", name) < 0)
		return -1;
	for (char *p = buf + 5; *p; p++)
		if (*p == '!')
			*p = '/';
	return 0;
}

int partition_name(const char *disk, unsigned n, char *buf, size_t size)
{
	size_t len = strlen(disk);
	bool digit = len > 0 && isdigit((unsigned char)disk[len - 1]);
	return path_fmt(buf, size, "%s%s%u", disk, digit ? "p" : "", n);
}

static int attr(const char *sysfs, const char *dev, const char *name, char *buf, size_t size, err_t *e)
{
	char path[PATH_MAX];
	if (path_fmt(path, sizeof(path), "%s/class/block/%s/%s", sysfs, dev, name) < 0)
		return err_sys(e, "%s/%s", dev, name);
	return read_line(path, buf, size, e);
}

static bool dir_has_entries(const char *path)
{
	DIR *d = opendir(path);
	if (!d)
		return false;
	bool any = false;
	struct dirent *de;
	while (!any && (de = readdir(d)))
		any = de->d_name[0] != '.';
	closedir(d);
	return any;
}

static int read_one(const char *sysfs, const char *name, struct blockdev *d, err_t *e)
{
	char buf[64], path[PATH_MAX], real[PATH_MAX];
	memset(d, 0, sizeof(*d));
	if (path_fmt(d->name, sizeof(d->name), "%s", name) < 0)
		return err_sys(e, "%s", name);
	if (attr(sysfs, name, "dev", buf, sizeof(buf), e) < 0 || sscanf(buf, "%u:%u", &d->major, &d->minor) != 2)
		return err_set(e, "%s: no device number in sysfs", name);
	unsigned long long sectors = 0;
	if (attr(sysfs, name, "size", buf, sizeof(buf), e) == 0)
		sectors = strtoull(buf, NULL, 10);
	d->size = (uint64_t)sectors * 512; /* sysfs counts 512-byte units whatever the sector size */
	d->readonly = attr(sysfs, name, "ro", buf, sizeof(buf), e) == 0 && strcmp(buf, "1") == 0;
	if (attr(sysfs, name, "partition", buf, sizeof(buf), e) == 0) {
		d->partition = true;
		d->partno = (unsigned)strtoul(buf, NULL, 10);
		/* A partition's sysfs folder sits inside its disk's. */
		if (path_fmt(path, sizeof(path), "%s/class/block/%s", sysfs, name) == 0 && realpath(path, real)) {
			char *slash = strrchr(real, '/');
			if (slash) {
				*slash = '\0';
				slash = strrchr(real, '/');
				if (slash)
					snprintf(d->parent, sizeof(d->parent), "%s", slash + 1);
			}
		}
	}
	if (path_fmt(path, sizeof(path), "%s/class/block/%s/holders", sysfs, name) == 0)
		d->has_holders = dir_has_entries(path);
	return 0;
}

static int by_disk_then_number(const void *pa, const void *pb)
{
	const struct blockdev *a = pa, *b = pb;
	const char *da = a->partition && a->parent[0] ? a->parent : a->name;
	const char *db = b->partition && b->parent[0] ? b->parent : b->name;
	int c = devname_cmp(da, db);
	if (c)
		return c;
	if (a->partition != b->partition)
		return a->partition ? 1 : -1;
	if (a->partno != b->partno)
		return a->partno < b->partno ? -1 : 1;
	return devname_cmp(a->name, b->name);
}

int blockdev_list(const char *sysfs, struct blockdev **out, size_t *n, err_t *e)
{
	char path[PATH_MAX];
	if (path_fmt(path, sizeof(path), "%s/class/block", sysfs) < 0)
		return err_sys(e, "%s/class/block", sysfs);
	DIR *dir = opendir(path);
	if (!dir)
		return err_sys(e, "list block devices: %s", path);
	struct blockdev *list = NULL;
	size_t count = 0, cap = 0;
	struct dirent *de;
	int rc = 0;
	while ((de = readdir(dir))) {
		if (de->d_name[0] == '.')
			continue;
		if (count == cap) {
			cap = cap ? cap * 2 : 16;
			struct blockdev *bigger = realloc(list, cap * sizeof(*list));
			if (!bigger) {
				rc = err_sys(e, "list block devices");
				break;
			}
			list = bigger;
		}
		err_t skip;
		/* An entry that vanished or lacks a number is not a device we can use. */
		if (read_one(sysfs, de->d_name, &list[count], &skip) == 0)
			count++;
	}
	closedir(dir);
	if (rc < 0) {
		free(list);
		return rc;
	}
	if (count)
		qsort(list, count, sizeof(*list), by_disk_then_number);
	*out = list;
	*n = count;
	return 0;
}

/* Mount points in mountinfo escape space, tab, newline and backslash as \ooo. */
static void unescape(const char *s, size_t len, char *out, size_t size)
{
	size_t o = 0;
	for (size_t i = 0; i < len && o + 1 < size; i++) {
		if (s[i] == '\\' && i + 3 < len && s[i + 1] >= '0' && s[i + 1] <= '3') {
			out[o++] = (char)((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
			i += 3;
		} else {
			out[o++] = s[i];
		}
	}
	out[o] = '\0';
}

bool mountinfo_find(const char *mountinfo, unsigned major, unsigned minor, char *where, size_t size)
{
	for (const char *line = mountinfo; line && *line;) {
		const char *end = strchr(line, '\n');
		size_t len = end ? (size_t)(end - line) : strlen(line);
		/* "ID PARENT MAJOR:MINOR ROOT MOUNTPOINT ..." */
		const char *f = line, *stop = line + len;
		const char *fields[5];
		size_t flen[5];
		int k = 0;
		while (k < 5 && f < stop) {
			while (f < stop && *f == ' ')
				f++;
			const char *s = f;
			while (f < stop && *f != ' ')
				f++;
			fields[k] = s;
			flen[k++] = (size_t)(f - s);
		}
		unsigned ma, mi;
		char num[32];
		if (k == 5 && flen[2] < sizeof(num)) {
			memcpy(num, fields[2], flen[2]);
			num[flen[2]] = '\0';
			if (sscanf(num, "%u:%u", &ma, &mi) == 2 && ma == major && mi == minor) {
				unescape(fields[4], flen[4], where, size);
				return true;
			}
		}
		line = end ? end + 1 : NULL;
	}
	return false;
}

int blockdev_open(const struct blockdev *d, int flags, err_t *e)
{
	char node[PATH_MAX];
	if (devnode_path(d->name, node, sizeof(node)) < 0)
		return err_sys(e, "%s", d->name);
	int fd = open(node, flags | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT) {
		/* No devtmpfs here: make the node ourselves (CAP_MKNOD). */
		if (mknod(node, S_IFBLK | 0600, makedev(d->major, d->minor)) < 0 && errno != EEXIST)
			return err_sys(e, "%s is missing and cannot be made", node);
		fd = open(node, flags | O_CLOEXEC);
	}
	if (fd < 0)
		return err_sys(e, "open %s", node);
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISBLK(st.st_mode) || major(st.st_rdev) != d->major ||
	    minor(st.st_rdev) != d->minor) {
		close(fd);
		return err_set(e, "%s is not block device %u:%u", node, d->major, d->minor);
	}
	return fd;
}

/* format: makes a partition table and a file system on an empty disk, as
 * LinuxKit's format does, but never on a disk that holds anything:
 *
 *   format [-type ext4] [-label LABEL] [-partition dos|gpt] [-force] [-verbose] [DEVICE]
 *
 * A disk is empty when its first and its last MiB are zeros. A disk that
 * already carries what format makes (its partition table, and a file
 * system of the type and label asked for) is left alone with success, so
 * format can run on every boot. Exit: 0 done or nothing to do, 1 failed,
 * 2 bad usage. */
#include <fcntl.h>
#include <limits.h>
#include <linux/fs.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "common/blockdev.h"
#include "common/probe.h"
#include "disk.h"
#include "options.h"
#include "plan.h"

#define SYSFS "/sys"
#define MOUNTINFO "/proc/self/mountinfo"
/* How long the kernel gets to show the new partition. */
#define PARTITION_WAIT_MS 10000

struct disk {
	struct blockdev bd; /* from sysfs; bd.name empty when sysfs does not know it */
	char node[PATH_MAX];
	uint64_t size;
	uint32_t ssz;
};

static char *mountinfo;

/* The ioctl facts and the reasons format would not touch the disk. */
static void examine(struct disk *d, const struct blockdev *all, size_t nall, const struct want *w, struct candidate *c)
{
	err_t e;
	autoclose int fd = open(d->node, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err_sys(&e, "cannot be opened");
		snprintf(c->skip, sizeof(c->skip), "%s", e.msg);
		return;
	}
	int ro = 0, ssz = 0;
	if (ioctl(fd, BLKGETSIZE64, &d->size) < 0 || ioctl(fd, BLKSSZGET, &ssz) < 0 || ioctl(fd, BLKROGET, &ro) < 0) {
		err_sys(&e, "cannot be queried");
		snprintf(c->skip, sizeof(c->skip), "%s", e.msg);
		return;
	}
	d->ssz = (uint32_t)ssz;
	if (ro || d->bd.readonly) {
		snprintf(c->skip, sizeof(c->skip), "read-only");
		return;
	}
	if (d->size < MIN_DISK_BYTES) {
		snprintf(c->skip, sizeof(c->skip), "too small (%llu KiB; format needs %llu MiB)",
			 (unsigned long long)d->size >> 10, MIN_DISK_BYTES >> 20);
		return;
	}
	if (d->bd.has_holders) {
		snprintf(c->skip, sizeof(c->skip), "in use by another block device (device mapper, RAID, ...)");
		return;
	}
	char where[256];
	if (d->bd.name[0] && mountinfo && mountinfo_find(mountinfo, d->bd.major, d->bd.minor, where, sizeof(where))) {
		snprintf(c->skip, sizeof(c->skip), "mounted on %s", where);
		return;
	}
	for (size_t i = 0; d->bd.name[0] && mountinfo && i < nall; i++) {
		if (all[i].partition && strcmp(all[i].parent, d->bd.name) == 0 &&
		    mountinfo_find(mountinfo, all[i].major, all[i].minor, where, sizeof(where))) {
			snprintf(c->skip, sizeof(c->skip), "its partition %s is mounted on %s", all[i].name, where);
			return;
		}
	}
	if (inspect_fd(fd, d->size, d->ssz, w, &c->in, &e) < 0)
		snprintf(c->skip, sizeof(c->skip), "cannot be read: %s", e.msg);
}

/* The disk named on the command line: a whole disk, known to sysfs. */
static int named_disk(const char *path, const struct blockdev *all, size_t nall, struct disk *d, err_t *e)
{
	struct stat st;
	if (stat(path, &st) < 0)
		return err_sys(e, "%s", path);
	if (!S_ISBLK(st.st_mode))
		return err_set(e, "%s is not a block device", path);
	snprintf(d->node, sizeof(d->node), "%s", path);
	for (size_t i = 0; i < nall; i++) {
		if (all[i].major == major(st.st_rdev) && all[i].minor == minor(st.st_rdev)) {
			if (all[i].partition)
				return err_set(e, "%s is partition %u of %s: format takes a whole disk and makes the partition itself",
					       path, all[i].partno, all[i].parent);
			d->bd = all[i];
			return 0;
		}
	}
	return err_set(e, "%s (%u:%u) is not in %s/class/block", path, major(st.st_rdev), minor(st.st_rdev), SYSFS);
}

static bool same_name(const char *a, const char *b)
{
	return strcmp(a, b) == 0;
}

/* After BLKRRPART the kernel lists partition 1 in sysfs and devtmpfs
 * makes its node; wait for both, and for the size format wrote. */
static int wait_partition(const struct disk *d, const struct partition *made, struct blockdev *part, err_t *e)
{
	uint64_t want = (made->last - made->first + 1) * d->ssz;
	for (unsigned waited = 0;; waited += 100) {
		struct blockdev *all = NULL;
		size_t n = 0;
		if (blockdev_list(SYSFS, &all, &n, e) < 0)
			return -1;
		bool found = false;
		for (size_t i = 0; i < n && !found; i++) {
			if (all[i].partition && all[i].partno == 1 && same_name(all[i].parent, d->bd.name) &&
			    all[i].size == want) {
				*part = all[i];
				found = true;
			}
		}
		free(all);
		if (found) {
			/* blockdev_open makes the node if /dev is not a devtmpfs. */
			int fd = blockdev_open(part, O_RDONLY, e);
			if (fd >= 0) {
				close(fd);
				return 0;
			}
		}
		if (waited >= PARTITION_WAIT_MS)
			return err_set(e, "partition 1 of %s did not appear within %u s", d->bd.name, PARTITION_WAIT_MS / 1000);
		sleep_ms(100);
	}
}

static int reread_partitions(int fd, const char *name, err_t *e)
{
	/* Something may hold the disk open for a moment (a probe, a scan). */
	for (int i = 0;; i++) {
		if (ioctl(fd, BLKRRPART) == 0)
			return 0;
		if (errno != EBUSY || i == 50)
			return err_sys(e, "%s: re-read the partition table", name);
		sleep_ms(100);
	}
}

static int make_fs(const struct blockdev *part, const struct options *o, err_t *e)
{
	char node[PATH_MAX];
	if (devnode_path(part->name, node, sizeof(node)) < 0)
		return err_sys(e, "%s", part->name);
	char *argv[12];
	int n = 0;
	argv[n++] = "mke2fs";
	argv[n++] = "-t";
	argv[n++] = (char *)o->type;
	if (o->label[0]) {
		argv[n++] = "-L";
		argv[n++] = (char *)o->label;
	}
	argv[n++] = "-q";
	argv[n++] = "-F";
	argv[n++] = node;
	argv[n] = NULL;
	int rc = run_command(argv, e);
	if (rc < 0)
		return -1;
	if (rc != 0)
		return err_set(e, "mke2fs -t %s on %s failed (exit %d)", o->type, node, rc);

	/* Read back what mke2fs made, the way the next boot will. */
	unsigned char buf[PROBE_BYTES];
	struct fs_info fs;
	autoclose int fd = blockdev_open(part, O_RDONLY, e);
	if (fd < 0 || read_at(fd, buf, sizeof(buf), 0, e) < 0)
		return err_prefix(e, "check %s", node);
	if (!probe_fs(buf, sizeof(buf), &fs) || strcmp(fs.name, o->type) != 0 || strcmp(fs.label, o->label) != 0)
		return err_set(e, "%s: mke2fs succeeded but the file system is not there (found %s labelled \"%s\")", node,
			       fs.name[0] ? fs.name : "nothing", fs.label);
	say("%s: made %s %s file system%s%s%s (uuid %s, %llu MiB)", part->name, fs.name[0] == 'e' ? "an" : "a", fs.name,
	    fs.label[0] ? " labelled \"" : "", fs.label, fs.label[0] ? "\"" : "", fs.uuid,
	    (unsigned long long)(part->size >> 20));
	return 0;
}

static int format_disk(const struct disk *d, const struct options *o, err_t *e)
{
	/* O_EXCL: the kernel refuses while the disk or any partition of it is mounted or claimed. */
	autoclose int fd = open(d->node, O_RDWR | O_EXCL | O_CLOEXEC);
	if (fd < 0 && errno == EBUSY)
		return err_set(e, "%s is in use (mounted, or held by another program)", d->node);
	if (fd < 0)
		return err_sys(e, "open %s", d->node);

	struct partition made;
	bool capped;
	say("%s: writing a %s partition table: one partition from 1 MiB to the end", d->bd.name, ptable_name(o->table));
	if (write_table(fd, d->size, d->ssz, o->table, &made, &capped, e) < 0)
		return err_prefix(e, "%s", d->node);
	if (capped)
		say("%s: a dos table reaches 2^32 sectors; the partition stops there (-partition gpt covers the whole disk)",
		    d->bd.name);
	if (reread_partitions(fd, d->bd.name, e) < 0)
		return -1;
	/* mke2fs claims the partition; our claim on the whole disk would stop it. */
	close(fd);
	fd = -1;

	struct blockdev part;
	if (wait_partition(d, &made, &part, e) < 0)
		return -1;
	say("%s: making %s %s file system%s%s%s", part.name, o->type[0] == 'e' ? "an" : "a", o->type,
	    o->label[0] ? " labelled \"" : "", o->label, o->label[0] ? "\"" : "");
	return make_fs(&part, o, e);
}

int main(int argc, char **argv)
{
	struct options o;
	err_t e;

	/* 1. Flags, read as LinuxKit's Go flag package reads them. */
	int r = options_parse(argc, argv, &o, &e);
	if (r == OPTIONS_HELP) {
		options_usage(stdout);
		return 0;
	}
	if (r < 0) {
		say_error(&e);
		options_usage(stderr);
		return 2;
	}
	log_set_verbose(o.verbose);
	/* An image's config may carry no environment; mke2fs is in sbin. */
	setenv("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", 0);
	struct want w = { o.type, o.label, o.table };

	/* 2. The disks: the one named, or every whole disk that is not virtual. */
	struct blockdev *all = NULL;
	size_t nall = 0;
	if (blockdev_list(SYSFS, &all, &nall, &e) < 0) {
		say_error(&e);
		return 1;
	}
	/* Without it, mounted disks are still refused: by O_EXCL when formatting. */
	if (read_file(MOUNTINFO, 4 << 20, &mountinfo, NULL, &e) < 0)
		verbose("%s", e.msg);

	struct disk *disks = calloc(nall + 1, sizeof(*disks));
	struct candidate *cands = calloc(nall + 1, sizeof(*cands));
	if (!disks || !cands) {
		err_sys(&e, "format");
		say_error(&e);
		return 1;
	}
	size_t n = 0;
	if (o.device) {
		if (named_disk(o.device, all, nall, &disks[0], &e) < 0) {
			say_error(&e);
			return 1;
		}
		n = 1;
	} else {
		for (size_t i = 0; i < nall; i++) {
			if (all[i].partition)
				continue;
			if (devname_is_virtual(all[i].name)) {
				verbose("%s: skipped (not a real disk)", all[i].name);
				continue;
			}
			disks[n].bd = all[i];
			if (devnode_path(all[i].name, disks[n].node, sizeof(disks[n].node)) == 0)
				n++;
		}
	}

	/* 3. What each disk holds. */
	for (size_t i = 0; i < n; i++) {
		snprintf(cands[i].name, sizeof(cands[i].name), "%s", o.device ? o.device : disks[i].bd.name);
		examine(&disks[i], all, nall, &w, &cands[i]);
		verbose("%s: %s", cands[i].name, cands[i].skip[0] ? cands[i].skip : cands[i].in.what);
	}

	/* 4. Which one to act on, and what to do. */
	struct decision d;
	decide(cands, n, o.device != NULL, o.force, &d);
	switch (d.action) {
	case ACT_LEAVE:
		say("%s", d.why);
		return 0;
	case ACT_FAIL:
		say("error: %s", d.why);
		return 1;
	case ACT_FORMAT:
		say("%s", d.why);
		break;
	}
	if (format_disk(&disks[d.index], &o, &e) < 0) {
		say_error(&e);
		return 1;
	}
	return 0;
}

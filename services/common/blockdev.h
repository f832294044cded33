/* The machine's block devices as sysfs lists them, and where they are
 * mounted. SYSFS and the mountinfo text are parameters so tests can feed
 * a made-up tree. */
#ifndef KEEL_BLK_BLOCKDEV_H
#define KEEL_BLK_BLOCKDEV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "util.h"

struct blockdev {
	char name[64];   /* as in /sys/class/block: vda, vda1, nvme0n1p1 */
	char parent[64]; /* a partition's disk; empty for a whole disk */
	bool partition;
	unsigned partno; /* a partition's number */
	bool readonly;
	bool has_holders; /* in use by device mapper, md, ... */
	uint64_t size;    /* bytes */
	unsigned major, minor;
};

/* Every entry of SYSFS/class/block, sorted: disks in device-name order,
 * each followed by its partitions in number order. Free with free(). */
int blockdev_list(const char *sysfs, struct blockdev **out, size_t *n, err_t *e);

/* Order of device names as people count them: vdz before vdaa, nvme2n1
 * before nvme10n1 (runs of digits compare as numbers, runs of letters
 * shorter first). */
int devname_cmp(const char *a, const char *b);

/* The kinds no tool here should pick by itself: loop, ram, zram, CD-ROMs,
 * network block devices, floppies, flash. */
bool devname_is_virtual(const char *name);

/* "/dev/NAME" ("!" in a sysfs name is "/" in /dev, as in cciss!c0d0). */
int devnode_path(const char *name, char *buf, size_t size);

/* The name the kernel gives partition N of disk: vda -> vda1,
 * nvme0n1 -> nvme0n1p1 (a disk name ending in a digit takes a "p"). */
int partition_name(const char *disk, unsigned n, char *buf, size_t size);

/* Where the device major:minor is mounted, from /proc/self/mountinfo text:
 * copies the first mount point into where and returns true. */
bool mountinfo_find(const char *mountinfo, unsigned major, unsigned minor, char *where, size_t size);

/* Opens /dev/NAME, creating the node from sysfs's numbers when /dev lacks
 * it (a /dev that is not a devtmpfs). flags as for open(2). */
int blockdev_open(const struct blockdev *d, int flags, err_t *e);

#endif

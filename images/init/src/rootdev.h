/* Booting a root image that stays on a block device (kernel+squashfs,
 * kernel+erofs, kernel+iso): the small initramfs holds only /init, the
 * modules and /.keel-rootfs naming the file system type. Init loads the
 * drivers, finds the device by its superblock, mounts it read-only under a
 * tmpfs overlay, empties the initramfs, moves the overlay onto / and runs
 * /init again from there. root= and rootfstype= on the kernel command
 * line do the same for any initramfs. */
#ifndef KEEL_ROOTDEV_H
#define KEEL_ROOTDEV_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "util.h"

#define ROOTDEV_MARKER "/.keel-rootfs"
/* Enough to reach the ISO 9660 volume descriptors at 32 KiB. */
#define ROOTDEV_PROBE_BYTES (32768 + 4 * 2048)

enum rootfs_type {
	ROOTFS_UNKNOWN, /* nothing recognised, or (wanted) any of the three */
	ROOTFS_SQUASHFS,
	ROOTFS_EROFS,
	ROOTFS_ISO9660,
	ROOTFS_OTHER, /* wanted: a type named by rootfstype=, not probed */
};

enum root_by {
	ROOT_ANY,   /* the first device holding the wanted type */
	ROOT_NAME,  /* root=/dev/NAME */
	ROOT_LABEL, /* root=LABEL=x or /dev/disk/by-label/x */
	ROOT_UUID,  /* root=UUID=x or /dev/disk/by-uuid/x */
};

/* What to look for. */
struct root_want {
	enum rootfs_type type;
	char fstype[32]; /* for mount(2); "" when type is ROOTFS_UNKNOWN */
	enum root_by by;
	char match[128];
	bool from_marker; /* the initramfs asked for it: not finding it is fatal */
	int wait_s;       /* how long to wait for the device: keel.rootwait=, default 10 */
};

/* What a device's first bytes say. */
struct root_probe {
	enum rootfs_type type;
	char label[40];
	char uuid[40];
};

/* "squashfs", "erofs", "iso9660" ... */
const char *rootfs_type_name(enum rootfs_type t);

/* Recognises squashfs ("hsqs" at 0), erofs (0xE0F5E1E2 LE at 1024) and
 * ISO 9660 ("CD001" at 32769) in the first len bytes of a device, with the
 * label and UUID as blkid spells them where the format has them. */
void rootdev_probe(const unsigned char *buf, size_t len, struct root_probe *p);

/* Fills w from the marker file's content (NULL when absent) and the
 * kernel command line's root= and rootfstype= (which win) and
 * keel.rootwait=. Returns 1 when
 * a root device is wanted, 0 when not, -1 on a value it cannot use. */
int rootdev_parse(const char *marker, const char *cmdline, struct root_want *w, err_t *e);

/* Whether device name (as in /sys/class/block) with probe p is the one. */
bool rootdev_matches(const struct root_want *w, const char *name, const struct root_probe *p);

/* Deletes everything under dirfd that is on dev, without crossing into
 * other mounts (what switch_root(8) does to the initramfs). */
int rootdev_delete_tree(int dirfd, dev_t dev, err_t *e);

/* PID 1 step, before switch_root_if_initramfs: when / is the initramfs
 * and a root device is wanted, boots from it and does not return. Returns
 * when none is wanted, or when one given only by root= is not found. When
 * the initramfs asked for one that cannot be used, powers off. */
void rootdev_boot(char **argv);

#endif

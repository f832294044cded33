/* Which block device mountie mounts, and what it makes of e2fsck's exit
 * status: pure functions, so the rules have unit tests. */
#ifndef KEEL_MOUNT_PICK_H
#define KEEL_MOUNT_PICK_H

#include <stdbool.h>
#include <stddef.h>

#include "common/probe.h"

struct volume {
	char name[64];   /* vda1 */
	bool partition;  /* a partition, not a whole disk */
	bool is_virtual; /* loop, ram, CD-ROM, ... */
	bool mounted;
	bool probed; /* fs is what the device holds (false: could not be read) */
	struct fs_info fs;
};

/* The kernel file systems mountie mounts when it picks a device itself. */
bool fs_mountable(const struct fs_info *fs);

/* label, uuid: as given (NULL when not); with neither, the first partition
 * of a real disk that holds a mountable file system and is not mounted
 * (LinuxKit's mountie takes the first unmounted Linux partition). Returns
 * the index in v, or -1. *ambiguous is set when more than one matched a
 * label or UUID (the first wins, as findfs has it). */
long pick_volume(const struct volume *v, size_t n, const char *label, const char *uuid, bool *ambiguous);

enum fsck_verdict {
	FSCK_CLEAN,     /* 0: nothing to do */
	FSCK_REPAIRED,  /* 1 or 2: errors fixed; safe to mount */
	FSCK_REFUSED,   /* 4 and up: errors left, or e2fsck failed: do not mount */
};
enum fsck_verdict fsck_verdict(int status);

#endif

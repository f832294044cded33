/* Moves the initramfs contents onto a fresh tmpfs and makes that the root,
 * because pivot_root(2) refuses to move the initramfs "rootfs" mount and
 * the container runtime depends on pivot_root. */
#ifndef KEEL_SWITCHROOT_H
#define KEEL_SWITCHROOT_H

#include <stdbool.h>
#include <stddef.h>

#include "util.h"

/* Does nothing unless / is a ramfs or tmpfs. On failure *damaged says
 * whether files were already moved, i.e. whether carrying on is hopeless. */
int switch_root_if_initramfs(bool *damaged, err_t *e);

struct move_stats {
	size_t files;
	unsigned long long bytes;
};

/* Moves everything under the directory src that is on src's filesystem
 * into the directory dst: each file is copied (hard links, owners, modes
 * and times kept) and then deleted, so peak memory stays near one copy.
 * On failure some files have moved and some have not. */
int move_tree(int src, int dst, struct move_stats *stats, err_t *e);

#endif

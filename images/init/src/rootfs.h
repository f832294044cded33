/* The container's filesystem view, built inside its new mount namespace:
 * the bundle's rootfs, the spec's mounts, default devices, pivot_root. */
#ifndef KEEL_ROOTFS_H
#define KEEL_ROOTFS_H

#include <stdbool.h>

#include "spec.h"
#include "util.h"

/* Runs in the container process. rootfs is an absolute, resolved path;
 * bundle is where relative bind sources are found. On return the process's
 * root and cwd are the container's "/". */
int rootfs_setup(const struct spec *s, const char *rootfs, const char *bundle, err_t *e);

/* The mount point of the mount holding path (absolute, resolved) in
 * mountinfo text, into out: 0, or -1 when none does. */
int mount_point_of(const char *text, const char *path, char *out, size_t size);

/* In the container, after rootfs_setup and the switch to its user:
 * changes to cwd resolved inside the root, refusing magic links (a cwd of
 * /proc/self/fd/N would be a directory the runtime held) and checking that
 * the result is below the root. */
int rootfs_chdir(const char *cwd, err_t *e);

/* Opens rel below rootfd as openat2's RESOLVE_IN_ROOT|RESOLVE_NO_MAGICLINKS
 * would (|RESOLVE_NO_SYMLINKS with no_symlinks), one component at a time:
 * ".." and absolute symlinks stop at rootfd, procfs magic links give ELOOP.
 * flags: O_PATH, optionally O_DIRECTORY and O_NOFOLLOW. The fallback for
 * kernels without openat2. */
int rootfs_walk(int rootfd, const char *rel, int flags, bool no_symlinks);
/* The same walk, making missing directories on the way (where a dangling
 * symlink points, too: inside the root). Returns an O_PATH fd of rel. */
int rootfs_mkdirs(int rootfd, const char *rel);

#endif

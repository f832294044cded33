/* The container's filesystem view, built inside its new mount namespace:
 * the bundle's rootfs, the spec's mounts, default devices, pivot_root. */
#ifndef KEEL_ROOTFS_H
#define KEEL_ROOTFS_H

#include "spec.h"
#include "util.h"

/* Runs in the container process. rootfs is an absolute, resolved path;
 * bundle is where relative bind sources are found. On return the process's
 * root and cwd are the container's "/". */
int rootfs_setup(const struct spec *s, const char *rootfs, const char *bundle, err_t *e);

#endif

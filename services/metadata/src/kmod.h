/* Loading a kernel module by name from /lib/modules/RELEASE (the image's
 * modules, bound into the container): keel's kernel has iso9660, vfat and
 * qemu_fw_cfg as modules, and nothing in the image runs modprobe for the
 * kernel when a mount asks for a file system it lacks. */
#ifndef KEEL_METADATA_KMOD_H
#define KEEL_METADATA_KMOD_H

#include <stdbool.h>
#include <stddef.h>

#include "common/util.h"

#define KMOD_MAX_DEPS 16

/* From modules.dep text: the paths (relative to the modules folder) to
 * load for module name, dependencies first, the module itself last.
 * Names compare with '-' and '_' alike, as the kernel's do. Returns the
 * count, 0 when modules.dep has no such module. */
int kmod_resolve(const char *dep_text, const char *name, char paths[][256], size_t max);

/* Whether /proc/filesystems text lists fstype. */
bool kmod_has_fs(const char *filesystems, const char *fstype);

/* Loads name and its dependencies from dir (/lib/modules/RELEASE).
 * Already loaded is success; -1 with e set when the module is not there
 * or the kernel refuses it. */
int kmod_load(const char *dir, const char *name, err_t *e);

/* dir = /lib/modules/RELEASE for the running kernel. */
int kmod_dir(char *dir, size_t size, err_t *e);

/* Makes sure the kernel knows fstype, loading its modules if it does not
 * (iso9660 -> isofs; vfat -> vfat and the code pages its mounts use). */
int kmod_ensure_fs(const char *fstype, err_t *e);

#endif

/* Mount option strings as found in config.json, and the mounts PID 1 sets
 * up for itself. */
#ifndef KEEL_MOUNTS_H
#define KEEL_MOUNTS_H

#include <stdbool.h>
#include <stddef.h>

#include "util.h"

struct mount_opts {
	unsigned long flags;       /* MS_* for mount(2), without propagation */
	unsigned long propagation; /* MS_PRIVATE, MS_SHARED ... (| MS_REC) or 0 */
	bool bind;
	bool recursive;
	char data[1024]; /* the options mount(2) does not know, for the filesystem */
};

/* Splits "ro", "nosuid", "rbind", "rprivate", "mode=755" ... into flags and
 * filesystem data. Later options win over earlier ones, as with mount(8). */
int mount_options_parse(const char *const *opts, size_t n, struct mount_opts *out, err_t *e);

/* /proc, /sys, /dev, /dev/pts, /dev/shm, /run, /tmp, /sys/fs/cgroup for
 * PID 1. Failures are logged, not fatal: a partly set up system can still
 * run containers and show what went wrong. */
void mount_system(void);
/* Mounts LinuxKit-style volumes under /containers/volumes. */
void mount_volumes(void);
/* At shutdown: unmounts what can be, innermost first, except /, /proc,
 * /sys and /dev; remounts read-only the block-device filesystems that
 * stay busy. Logs how many of each. */
void unmount_all(void);
/* Points fds 0, 1 and 2 at /dev/console. */
void console_reopen(void);

#endif

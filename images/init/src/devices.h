/* The device cgroup for cgroup v2: linux.resources.devices (allow and deny
 * rules, as the runtime spec writes them) turned into a
 * BPF_PROG_TYPE_CGROUP_DEVICE program attached to the container's cgroup,
 * as runc does. As in runc, the runtime spec's default devices (null, zero,
 * full, random, urandom, tty, console, ptmx, pts) and mknod of any device
 * are always allowed; anything no rule allows is denied. Rules are read
 * last to first and the first that matches decides, so a later rule wins
 * over an earlier one (a deny-all first, then allows). */
#ifndef KEEL_DEVICES_H
#define KEEL_DEVICES_H

#include <linux/bpf.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "json.h"
#include "util.h"

#define DEV_MAX_RULES 128
#define DEV_WILDCARD (-1)
/* Access bits, as the kernel passes them (BPF_DEVCG_ACC_*). */
#define DEV_MKNOD 1u
#define DEV_READ 2u
#define DEV_WRITE 4u

struct dev_rule {
	bool allow;
	char type;            /* 'a' (any), 'b' or 'c' */
	int64_t major, minor; /* DEV_WILDCARD: any */
	uint8_t access;       /* DEV_MKNOD | DEV_READ | DEV_WRITE */
};

struct dev_rules {
	struct dev_rule r[DEV_MAX_RULES];
	size_t n;
};

/* Pure: the spec's rules (devices may be NULL: none), then the defaults. */
int devices_plan(const struct json *devices, struct dev_rules *out, err_t *e);

/* Pure: the decision the program makes, for tests and logs. type is 'b' or 'c'. */
bool devices_allowed(const struct dev_rules *rules, char type, uint32_t major, uint32_t minor, uint8_t access);

/* Pure: the program; returns its length, or 0 when it does not fit in max. */
size_t devices_program(const struct dev_rules *rules, struct bpf_insn *out, size_t max);

/* Loads the program and attaches it to the cgroup directory. Fails with
 * ENOSYS or EPERM when the kernel has no BPF or cgroup BPF. */
int devices_apply(const char *cgroup_path, const struct dev_rules *rules, err_t *e);

#endif

/* cgroup v2 for containers: linux.resources turned into the files of a
 * unified hierarchy (the conversions runc and crun document for v1 values),
 * the container's cgroup made under /sys/fs/cgroup, and joining it. */
#ifndef KEEL_CGROUP_H
#define KEEL_CGROUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "json.h"
#include "util.h"

#define CGROUP_ROOT "/sys/fs/cgroup"
#define CGROUP_MAX_WRITES 64

struct cg_write {
	char file[64];   /* "memory.max" */
	char value[128]; /* "536870912" */
};

struct cg_plan {
	struct cg_write w[CGROUP_MAX_WRITES];
	size_t n;
	char ignored[256]; /* v1-only settings that have no v2 file, comma-separated */
};

/* Pure: checks linux.resources (may be NULL) and lists the writes. */
int cgroup_plan(const struct json *resources, struct cg_plan *p, err_t *e);

/* The v1 -> v2 conversions. */
uint64_t cgroup_cpu_weight(uint64_t shares);     /* cpu.shares 2..262144 -> cpu.weight 1..10000 */
uint64_t cgroup_io_weight(uint64_t blkio_weight); /* blkio 10..1000 -> io.weight 1..10000 */
/* memory.swap (memory+swap, v1) -> memory.swap.max: "max", or swap - limit. */
int cgroup_swap_max(bool has_limit, int64_t limit, int64_t swap, char *out, size_t size, err_t *e);

/* The cgroup's path relative to CGROUP_ROOT: linux.cgroupsPath (absolute,
 * or relative to keel/), else keel/NAME. */
int cgroup_rel_path(const char *name, const char *cgroups_path, char *out, size_t size, err_t *e);

/* Whether CGROUP_ROOT is a cgroup2 mount. */
bool cgroup_v2(void);

/* Makes CGROUP_ROOT/rel (an empty leftover of the same name is made anew),
 * enables the controllers the plan needs in every parent, and writes the
 * plan. Sets path to the cgroup's directory. */
int cgroup_create(const char *rel, const struct cg_plan *p, char *path, size_t size, err_t *e);

/* In the container process: moves the caller into path. */
int cgroup_join(const char *path, err_t *e);

/* ---- keelctl pause, resume and stats (apart from the limits above) ---- */

/* Writes cgroup.freeze (1 or 0); the kernel finishes it asynchronously. */
int cgroup_freeze(const char *path, bool on, err_t *e);
/* From cgroup.events: 1 frozen, 0 not, -1 unknown. */
int cgroup_frozen(const char *path);

struct cg_stats {
	bool has_cpu, has_memory, has_pids, has_io;
	uint64_t cpu_usec; /* cpu.stat usage_usec */
	uint64_t memory;   /* memory.current */
	uint64_t pids;     /* pids.current */
	uint64_t rbytes, wbytes; /* io.stat, all devices */
};

/* Reads what the cgroup's files offer; what is missing stays has_* false. */
void cgroup_read_stats(const char *path, struct cg_stats *s);
/* Pure: the value of key in "key value" lines (cpu.stat, cgroup.events). */
int cgroup_keyed_value(const char *text, const char *key, uint64_t *out);
/* Pure: rbytes= and wbytes= summed over io.stat's lines; -1 when it has none. */
int cgroup_io_bytes(const char *text, uint64_t *rbytes, uint64_t *wbytes);
/* Turns the memory, pids and io controllers on for containers (in
 * CGROUP_ROOT and keel/), so that stats has figures for them; a
 * controller the kernel lacks is skipped. Once, before the first container
 * (memory used before is not charged to it). -1: one could not be. */
int cgroup_enable_stats(err_t *e);

#endif

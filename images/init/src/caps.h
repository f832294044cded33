/* Linux capabilities: the names config.json uses, and applying the five
 * sets of process.capabilities to the container process. */
#ifndef KEEL_CAPS_H
#define KEEL_CAPS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "util.h"

/* The capabilities this runtime knows by name: CAP_CHOWN (0) to
 * CAP_CHECKPOINT_RESTORE (40). */
#define CAPS_KNOWN 41
#define CAP_BIT(n) (UINT64_C(1) << (n))

struct caps {
	uint64_t bounding, effective, inheritable, permitted, ambient;
};

/* "CAP_NET_ADMIN" (any case) -> 12; -1 when unknown. */
int caps_from_name(const char *name);
/* 12 -> "CAP_NET_ADMIN"; NULL when out of range. */
const char *caps_name(int cap);

/*
 * Runs in the container process, as root with every capability, before and
 * around the switch to the container's user:
 *   caps_before_identity: drops everything else from the bounding set and
 *     asks the kernel to keep the permitted set across setuid;
 *   caps_after_identity: sets effective, permitted and inheritable with
 *     capset, then raises the ambient ones.
 */
int caps_before_identity(const struct caps *c, err_t *e);
int caps_after_identity(const struct caps *c, err_t *e);

#endif

/* format's reads and writes on an open disk: plain file descriptor I/O,
 * so the same code runs on an image file in tests. */
#ifndef KEEL_FORMAT_DISK_H
#define KEEL_FORMAT_DISK_H

#include <stdbool.h>
#include <stdint.h>

#include "plan.h"

/* Reads the disk's first and last bytes and inspects them. */
int inspect_fd(int fd, uint64_t size, uint32_t ssz, const struct want *w, struct inspection *out, err_t *e);

/* Writes format's partition table: the first HEAD_BYTES and the last
 * EDGE_BYTES become zeros plus the table (so no older signature survives
 * at either end, nor where the new file system starts), then fsync. */
int write_table(int fd, uint64_t size, uint32_t ssz, enum ptable_kind kind, struct partition *made, bool *capped,
		err_t *e);

#endif

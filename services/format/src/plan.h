/* What format makes of each disk, and which one it acts on: pure
 * functions of the bytes read and the options given. */
#ifndef KEEL_FORMAT_PLAN_H
#define KEEL_FORMAT_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/probe.h"
#include "ptable.h"

/* The emptiness rule looks at the first and the last MiB. */
#define EDGE_BYTES (1024 * 1024)
/* Read from the start: the edge plus the partition's first MiB, where its
 * file system's signature sits. */
#define HEAD_BYTES (2 * EDGE_BYTES)
/* Below this format does not bother. */
#define MIN_DISK_BYTES (8ull * 1024 * 1024)

struct want {
	const char *type;  /* ext2, ext3, ext4 */
	const char *label; /* "" for none */
	enum ptable_kind table;
};

enum verdict {
	V_EMPTY,      /* first and last MiB all zeros: free to format */
	V_OURS,       /* format's partition table and file system, with the label asked for */
	V_UNFINISHED, /* format's partition table, and zeros where the file system goes: a run cut short */
	V_DATA,       /* anything else: never touched without -force */
};

struct inspection {
	enum verdict verdict;
	char what[256]; /* says why, for messages */
	struct ptable pt;
	struct fs_info fs; /* the partition's file system (V_OURS, V_DATA) */
};

/* head: the disk's first head_len bytes (HEAD_BYTES, less on a small disk);
 * tail: its last tail_len bytes (EDGE_BYTES, less on a small disk). */
void inspect(const unsigned char *head, size_t head_len, const unsigned char *tail, size_t tail_len,
	     uint64_t disk_bytes, uint32_t ssz, const struct want *w, struct inspection *out);

struct candidate {
	char name[64];
	/* Not considered at all, and why (read-only, too small, in use, ...); empty otherwise. */
	char skip[128];
	struct inspection in;
};

enum action {
	ACT_LEAVE,  /* already formatted: nothing to do, success */
	ACT_FORMAT, /* partition table, then file system */
	ACT_FAIL,
};

struct decision {
	enum action action;
	size_t index; /* the candidate acted on (or left alone) */
	char why[1024];
};

/* explicit: the one candidate was named on the command line. */
void decide(const struct candidate *c, size_t n, bool explicit, bool force, struct decision *d);

#endif

/* The partition table format writes, and enough of a reader to recognise
 * it again: MBR ("dos") and GPT. Pure functions over buffers. */
#ifndef KEEL_FORMAT_PTABLE_H
#define KEEL_FORMAT_PTABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/util.h"

/* The one partition starts 1 MiB in, as fdisk and sfdisk place it. */
#define PART_START_BYTES (1024 * 1024)
/* A GPT holds 128 entries of 128 bytes. */
#define GPT_ENTRIES 128
#define GPT_ENTRY_SIZE 128
#define GPT_ENTRIES_BYTES (GPT_ENTRIES * GPT_ENTRY_SIZE)
#define MBR_TYPE_LINUX 0x83
#define MBR_TYPE_GPT_PROTECTIVE 0xEE

enum ptable_kind { PT_NONE, PT_DOS, PT_GPT };

/* 0FC63DAF-8483-4772-8E79-3D69D8477DE4 ("Linux filesystem") as stored on disk. */
extern const unsigned char gpt_type_linux[16];

struct partition {
	unsigned number; /* 1-based slot in the table */
	uint64_t first, last; /* sectors, inclusive */
	uint8_t mbr_type;
	unsigned char type_guid[16];
};

struct ptable {
	enum ptable_kind kind;
	unsigned count; /* partitions in use */
	struct partition parts[4]; /* the first four in use */
	/* Set when the table is there but broken (bad CRC, entries out of reach). */
	const char *problem;
};

struct ptable_ids {
	uint32_t disk_id;            /* dos */
	unsigned char disk_guid[16]; /* gpt, as stored */
	unsigned char part_guid[16];
};

const char *ptable_name(enum ptable_kind kind);

/* Where format's partition goes on a disk of disk_bytes with ssz-byte
 * sectors; fails on sector sizes other than 512 and 4096 and on disks
 * too small to hold it. For dos, *capped is set when the 2^32-sector
 * limit keeps the partition from reaching the end. */
int ptable_layout(enum ptable_kind kind, uint64_t disk_bytes, uint32_t ssz, struct partition *out,
		  bool *capped, err_t *e);

/* Writes the table into head (the disk's first head_len bytes, which must
 * cover the GPT: 2 + 16 KiB/ssz sectors) and tail (its last tail_len
 * bytes, likewise). Both must be zeroed by the caller; only the table's
 * own bytes are set. Call after ptable_layout succeeded. */
void ptable_build(enum ptable_kind kind, uint64_t disk_bytes, uint32_t ssz, const struct ptable_ids *ids,
		  unsigned char *head, size_t head_len, unsigned char *tail, size_t tail_len);

/* Reads the table at the start of a disk (head: its first len bytes). */
void ptable_read(const unsigned char *head, size_t len, uint32_t ssz, uint64_t disk_bytes, struct ptable *out);

/* The table is what format writes: one Linux partition starting at 1 MiB
 * and ending on the disk (the disk may since have grown). */
bool ptable_is_ours(const struct ptable *pt, uint64_t disk_bytes, uint32_t ssz);

/* CRC-32 (IEEE 802.3, reflected), as GPT uses it. */
uint32_t crc32_ieee(const void *buf, size_t len);

/* Turns 16 random bytes into a version 4 GUID in GPT's on-disk byte order. */
void guid_v4(unsigned char g[16]);

#endif

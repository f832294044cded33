/* What a block device holds, read from its first bytes: the file system
 * signatures keel's tools need to recognise. Pure functions over a buffer
 * that starts at the device's (or partition's) first byte. */
#ifndef KEEL_BLK_PROBE_H
#define KEEL_BLK_PROBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Enough to see every signature below (btrfs sits at 64 KiB). */
#define PROBE_BYTES (128 * 1024)

enum fs_kind {
	FS_NONE,
	FS_EXT2,
	FS_EXT3,
	FS_EXT4,
	FS_JBD, /* an ext3/4 external journal */
	FS_XFS,
	FS_BTRFS,
	FS_VFAT,
	FS_SQUASHFS,
	FS_EROFS,
	FS_ISO9660,
	FS_SWAP,
	FS_LUKS,
	FS_LVM2,
	FS_MDRAID,
	FS_NTFS,
};

struct fs_info {
	enum fs_kind kind;
	/* Kernel file system names, or a description for what is not a file system. */
	const char *name;
	char label[65];
	char uuid[37]; /* lower case, with dashes when the format has them */
};

/* Looks for a known signature in buf (len bytes from offset 0). Returns
 * true and fills out when one is found; an unreadable tail (len short of
 * PROBE_BYTES) only hides the signatures that live there. */
bool probe_fs(const unsigned char *buf, size_t len, struct fs_info *out);

static inline bool fs_is_ext(enum fs_kind k)
{
	return k == FS_EXT2 || k == FS_EXT3 || k == FS_EXT4;
}

/* Offset of the first non-zero byte, or -1 when every byte is zero. */
long long first_nonzero(const unsigned char *buf, size_t len);

static inline uint16_t le16(const unsigned char *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}
static inline uint32_t le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t le64(const unsigned char *p)
{
	return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}
static inline void put_le16(unsigned char *p, uint16_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
}
static inline void put_le32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}
static inline void put_le64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

#endif

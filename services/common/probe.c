#include "probe.h"
#include "util.h"

#include <stdio.h>
#include <string.h>

/* ext2/3/4 superblock fields, from its start at byte 1024. */
#define EXT_SB 1024
#define EXT_MAGIC_OFF 56
#define EXT_COMPAT_OFF 92
#define EXT_INCOMPAT_OFF 96
#define EXT_RO_COMPAT_OFF 100
#define EXT_UUID_OFF 104
#define EXT_LABEL_OFF 120
#define EXT_COMPAT_HAS_JOURNAL 0x0004
#define EXT_INCOMPAT_JOURNAL_DEV 0x0008
/* What ext3 knows; anything else means only ext4 can mount it (as blkid decides). */
#define EXT3_INCOMPAT_KNOWN (0x0002 | 0x0004 | 0x0010)
#define EXT3_RO_COMPAT_KNOWN (0x0001 | 0x0002 | 0x0004)

static bool has(const unsigned char *buf, size_t len, size_t off, const void *magic, size_t n)
{
	return off + n <= len && memcmp(buf + off, magic, n) == 0;
}

static void copy_label(char *dst, size_t dstlen, const unsigned char *src, size_t n, bool trim_spaces)
{
	size_t i = 0;
	for (; i < n && i + 1 < dstlen && src[i] != '\0'; i++)
		dst[i] = (char)src[i];
	while (trim_spaces && i > 0 && dst[i - 1] == ' ')
		i--;
	dst[i] = '\0';
}

static void format_uuid(char *dst, const unsigned char *u)
{
	snprintf(dst, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13],
		 u[14], u[15]);
}

static bool probe_ext(const unsigned char *buf, size_t len, struct fs_info *out)
{
	const unsigned char *sb = buf + EXT_SB;
	if (len < EXT_SB + 1024 || le16(sb + EXT_MAGIC_OFF) != 0xEF53)
		return false;
	uint32_t compat = le32(sb + EXT_COMPAT_OFF), incompat = le32(sb + EXT_INCOMPAT_OFF),
		 ro_compat = le32(sb + EXT_RO_COMPAT_OFF);
	if (incompat & EXT_INCOMPAT_JOURNAL_DEV)
		out->kind = FS_JBD, out->name = "jbd";
	else if ((incompat & ~EXT3_INCOMPAT_KNOWN) || (ro_compat & ~EXT3_RO_COMPAT_KNOWN))
		out->kind = FS_EXT4, out->name = "ext4";
	else if (compat & EXT_COMPAT_HAS_JOURNAL)
		out->kind = FS_EXT3, out->name = "ext3";
	else
		out->kind = FS_EXT2, out->name = "ext2";
	copy_label(out->label, sizeof(out->label), sb + EXT_LABEL_OFF, 16, false);
	format_uuid(out->uuid, sb + EXT_UUID_OFF);
	return true;
}

static bool probe_vfat(const unsigned char *buf, size_t len, struct fs_info *out)
{
	if (len < 512 || buf[510] != 0x55 || buf[511] != 0xAA)
		return false;
	size_t label_off, serial_off;
	if (has(buf, len, 82, "FAT32   ", 8))
		label_off = 71, serial_off = 67;
	else if (has(buf, len, 54, "FAT12   ", 8) || has(buf, len, 54, "FAT16   ", 8))
		label_off = 43, serial_off = 39;
	else
		return false;
	out->kind = FS_VFAT, out->name = "vfat";
	copy_label(out->label, sizeof(out->label), buf + label_off, 11, true);
	if (strcmp(out->label, "NO NAME") == 0)
		out->label[0] = '\0';
	const unsigned char *s = buf + serial_off;
	snprintf(out->uuid, sizeof(out->uuid), "%02x%02x-%02x%02x", s[3], s[2], s[1], s[0]);
	return true;
}

bool probe_fs(const unsigned char *buf, size_t len, struct fs_info *out)
{
	memset(out, 0, sizeof(*out));
	out->kind = FS_NONE;
	out->name = "";

	if (probe_ext(buf, len, out))
		return true;
	if (has(buf, len, 0, "XFSB", 4)) {
		out->kind = FS_XFS, out->name = "xfs";
		if (len >= 120) {
			copy_label(out->label, sizeof(out->label), buf + 108, 12, false);
			format_uuid(out->uuid, buf + 32);
		}
		return true;
	}
	if (has(buf, len, 65536 + 64, "_BHRfS_M", 8)) {
		out->kind = FS_BTRFS, out->name = "btrfs";
		if (len >= 65536 + 299 + 256) {
			copy_label(out->label, sizeof(out->label), buf + 65536 + 299, 256, false);
			format_uuid(out->uuid, buf + 65536 + 32);
		}
		return true;
	}
	if (has(buf, len, 0, "hsqs", 4)) {
		out->kind = FS_SQUASHFS, out->name = "squashfs";
		return true;
	}
	if (len >= 1028 && le32(buf + 1024) == 0xE0F5E1E2) {
		out->kind = FS_EROFS, out->name = "erofs";
		return true;
	}
	if (has(buf, len, 32769, "CD001", 5)) {
		out->kind = FS_ISO9660, out->name = "iso9660";
		copy_label(out->label, sizeof(out->label), buf + 32768 + 40, 32, true);
		return true;
	}
	if (has(buf, len, 0, "LUKS\xba\xbe", 6)) {
		out->kind = FS_LUKS, out->name = "crypto_LUKS";
		return true;
	}
	for (size_t sector = 0; sector < 4; sector++) {
		if (has(buf, len, sector * 512, "LABELONE", 8) && has(buf, len, sector * 512 + 24, "LVM2 001", 8)) {
			out->kind = FS_LVM2, out->name = "LVM2_member";
			return true;
		}
	}
	/* md superblock 1.1 at the start, 1.2 at 4 KiB (0.90 and 1.0 live at the end). */
	if ((len >= 4 && le32(buf) == 0xa92b4efc) || (len >= 4100 && le32(buf + 4096) == 0xa92b4efc)) {
		out->kind = FS_MDRAID, out->name = "linux_raid_member";
		return true;
	}
	if (has(buf, len, 3, "NTFS    ", 8)) {
		out->kind = FS_NTFS, out->name = "ntfs";
		return true;
	}
	/* Swap's signature ends its first page, whatever the page size. */
	static const size_t pages[] = { 4096, 8192, 16384, 65536 };
	for (size_t i = 0; i < ARRAY_LEN(pages); i++) {
		if (has(buf, len, pages[i] - 10, "SWAPSPACE2", 10) || has(buf, len, pages[i] - 10, "SWAP-SPACE", 10)) {
			out->kind = FS_SWAP, out->name = "swap";
			if (has(buf, len, pages[i] - 10, "SWAPSPACE2", 10) && len >= 1024 + 44) {
				copy_label(out->label, sizeof(out->label), buf + 1024 + 28, 16, false);
				format_uuid(out->uuid, buf + 1024 + 12);
			}
			return true;
		}
	}
	if (probe_vfat(buf, len, out))
		return true;
	memset(out, 0, sizeof(*out));
	out->kind = FS_NONE;
	out->name = "";
	return false;
}

long long first_nonzero(const unsigned char *buf, size_t len)
{
	size_t i = 0;
	/* Word at a time: this runs over 2 MiB of every candidate disk. */
	for (; i + sizeof(uint64_t) <= len; i += sizeof(uint64_t)) {
		uint64_t w;
		memcpy(&w, buf + i, sizeof(w));
		if (w)
			break;
	}
	for (; i < len; i++)
		if (buf[i])
			return (long long)i;
	return -1;
}

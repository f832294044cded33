#include <stdlib.h>

#include "../common/probe.h"
#include "../common/util.h"
#include "../common/tests/tap.h"

static unsigned char buf[PROBE_BYTES];

static struct fs_info probe(void)
{
	struct fs_info fs;
	probe_fs(buf, sizeof(buf), &fs);
	return fs;
}

static void ext_sb(uint32_t compat, uint32_t incompat, uint32_t ro_compat, const char *label)
{
	memset(buf, 0, sizeof(buf));
	unsigned char *sb = buf + 1024;
	put_le16(sb + 56, 0xEF53);
	put_le32(sb + 92, compat);
	put_le32(sb + 96, incompat);
	put_le32(sb + 100, ro_compat);
	for (int i = 0; i < 16; i++)
		sb[104 + i] = (unsigned char)i;
	memcpy(sb + 120, label, strlen(label));
}

static void ext(void)
{
	ext_sb(0x4, 0x2 | 0x40 | 0x80 | 0x200, 0x1 | 0x2 | 0x8, "KEEL_DATA");
	struct fs_info fs = probe();
	is_int(fs.kind, FS_EXT4, "extents and 64bit: ext4");
	is_str(fs.name, "ext4", "named ext4");
	is_str(fs.label, "KEEL_DATA", "its label");
	is_str(fs.uuid, "00010203-0405-0607-0809-0a0b0c0d0e0f", "its uuid");

	ext_sb(0x4, 0x2, 0x1 | 0x2, "");
	fs = probe();
	is_str(fs.name, "ext3", "a journal and nothing newer: ext3");
	is_str(fs.label, "", "no label");
	ext_sb(0, 0x2, 0x1, "x");
	is_str(probe().name, "ext2", "no journal: ext2");
	ext_sb(0x4, 0x2, 0x1 | 0x8, "x");
	is_str(probe().name, "ext4", "huge_file alone makes it ext4");
	ext_sb(0, 0x8, 0, "");
	is_int(probe().kind, FS_JBD, "an external journal");

	ext_sb(0x4, 0x40, 0, "sixteen-bytes-xx");
	buf[1024 + 136] = 'Z'; /* the byte after the 16-byte field */
	is_str(probe().label, "sixteen-bytes-xx", "a 16-byte label without a NUL stops at the field's end");
	ok(fs_is_ext(FS_EXT2) && fs_is_ext(FS_EXT4) && !fs_is_ext(FS_JBD) && !fs_is_ext(FS_XFS), "fs_is_ext");

	struct fs_info short_fs;
	ok(!probe_fs(buf, 1500, &short_fs), "a buffer ending inside the superblock finds nothing");
}

static void others(void)
{
	static const struct {
		size_t off;
		const char *magic;
		size_t len;
		enum fs_kind kind;
		const char *name;
	} cases[] = {
		{ 0, "hsqs", 4, FS_SQUASHFS, "squashfs" },
		{ 1024, "\xe2\xe1\xf5\xe0", 4, FS_EROFS, "erofs" },
		{ 32769, "CD001", 5, FS_ISO9660, "iso9660" },
		{ 0, "XFSB", 4, FS_XFS, "xfs" },
		{ 65536 + 64, "_BHRfS_M", 8, FS_BTRFS, "btrfs" },
		{ 0, "LUKS\xba\xbe", 6, FS_LUKS, "crypto_LUKS" },
		{ 4096, "\xfc\x4e\x2b\xa9", 4, FS_MDRAID, "linux_raid_member" },
		{ 4086, "SWAPSPACE2", 10, FS_SWAP, "swap" },
		{ 65526, "SWAP-SPACE", 10, FS_SWAP, "swap" },
		{ 3, "NTFS    ", 8, FS_NTFS, "ntfs" },
	};
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		memset(buf, 0, sizeof(buf));
		memcpy(buf + cases[i].off, cases[i].magic, cases[i].len);
		struct fs_info fs = probe();
		is_int(fs.kind, cases[i].kind, "%s signature at %zu", cases[i].name, cases[i].off);
		is_str(fs.name, cases[i].name, "named %s", cases[i].name);
	}

	memset(buf, 0, sizeof(buf));
	memcpy(buf + 32769, "CD001", 5);
	memcpy(buf + 32768 + 40, "KEEL_ISO                        ", 32);
	is_str(probe().label, "KEEL_ISO", "iso9660 label, trailing spaces trimmed");

	memset(buf, 0, sizeof(buf));
	memcpy(buf + 512, "LABELONE", 8);
	memcpy(buf + 512 + 24, "LVM2 001", 8);
	is_int(probe().kind, FS_LVM2, "LVM2 label in sector 1");

	memset(buf, 0, sizeof(buf));
	memcpy(buf + 82, "FAT32   ", 8);
	memcpy(buf + 71, "EFI        ", 11);
	buf[67] = 0x78, buf[68] = 0x56, buf[69] = 0x34, buf[70] = 0x12;
	buf[510] = 0x55, buf[511] = 0xAA;
	struct fs_info fs = probe();
	is_str(fs.name, "vfat", "FAT32");
	is_str(fs.label, "EFI", "FAT label");
	is_str(fs.uuid, "1234-5678", "FAT serial as blkid prints it");

	memset(buf, 0, sizeof(buf));
	buf[510] = 0x55, buf[511] = 0xAA;
	ok(!probe_fs(buf, sizeof(buf), &fs), "an MBR alone is no file system");
	is_int(fs.kind, FS_NONE, "FS_NONE");
	memset(buf, 0, sizeof(buf));
	memcpy(buf + 65536 + 64, "_BHRfS_M", 8);
	ok(!probe_fs(buf, 65536, &fs), "a signature past the buffer is not seen");
}

static void zeros(void)
{
	memset(buf, 0, sizeof(buf));
	is_int(first_nonzero(buf, sizeof(buf)), -1, "all zeros");
	is_int(first_nonzero(buf, 0), -1, "nothing at all");
	static const size_t at[] = { 0, 1, 7, 8, 9, 4095, sizeof(buf) - 1 };
	for (size_t i = 0; i < ARRAY_LEN(at); i++) {
		memset(buf, 0, sizeof(buf));
		buf[at[i]] = 1;
		is_int(first_nonzero(buf, sizeof(buf)), (long long)at[i], "a byte at %zu", at[i]);
	}
	memset(buf, 0, sizeof(buf));
	buf[10] = 1;
	is_int(first_nonzero(buf + 3, 5), -1, "an unaligned range that stops short of it");
	is_int(first_nonzero(buf + 3, 13), 7, "an unaligned range that covers it");
}

TAP_SUITE(test_probe)
{
	ext();
	others();
	zeros();
}

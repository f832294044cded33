#include <stdlib.h>

#include "../common/probe.h"
#include "../ptable.h"
#include "../common/tests/tap.h"

#define MiB (1024ull * 1024)

static struct ptable_ids ids(void)
{
	struct ptable_ids id;
	memset(&id, 0, sizeof(id));
	id.disk_id = 0x12345678;
	for (int i = 0; i < 16; i++)
		id.disk_guid[i] = (unsigned char)(0xA0 + i), id.part_guid[i] = (unsigned char)(0xB0 + i);
	return id;
}

static void layouts(void)
{
	struct partition p;
	bool capped;
	err_t e;
	ok(ptable_layout(PT_DOS, 64 * MiB, 512, &p, &capped, &e) == 0, "dos on 64 MiB");
	is_int(p.first, 2048, "starts at 1 MiB");
	is_int(p.last, 64 * MiB / 512 - 1, "ends at the last sector");
	is_int(p.mbr_type, 0x83, "type 83 (Linux)");
	ok(!capped, "not capped");
	ok(ptable_layout(PT_GPT, 64 * MiB, 512, &p, &capped, &e) == 0, "gpt on 64 MiB");
	is_int(p.last, 64 * MiB / 512 - 34, "ends before the backup entries and header");
	ok(memcmp(p.type_guid, gpt_type_linux, 16) == 0, "Linux filesystem type");
	ok(ptable_layout(PT_GPT, 64 * MiB, 4096, &p, &capped, &e) == 0, "gpt with 4 KiB sectors");
	is_int(p.first, 256, "1 MiB is 256 sectors");
	is_int(p.last, 64 * MiB / 4096 - 6, "4 sectors of entries, a header, and the last sector");
	ok(ptable_layout(PT_DOS, 3 * 1024 * 1024 * MiB, 512, &p, &capped, &e) == 0, "dos on 3 TiB");
	ok(capped, "is capped at 2^32 sectors");
	is_int(p.last - p.first + 1, 0xFFFFFFFFull, "the partition has 2^32-1 sectors");
	is_int(ptable_layout(PT_DOS, 64 * MiB, 1024, &p, &capped, &e), -1, "1 KiB sectors are refused");
	is_int(ptable_layout(PT_DOS, MiB + MiB / 2, 512, &p, &capped, &e), -1, "a 1.5 MiB disk is too small");
	ok(ptable_layout(PT_DOS, 2 * MiB, 512, &p, &capped, &e) == 0, "2 MiB is just enough for dos");
	is_int(ptable_layout(PT_GPT, 2 * MiB, 512, &p, &capped, &e), -1, "but not for gpt");
}

static void dos(void)
{
	uint64_t size = 64 * MiB;
	unsigned char *head = calloc(1, 2 * MiB), *tail = calloc(1, MiB);
	struct ptable_ids id = ids();
	ptable_build(PT_DOS, size, 512, &id, head, 2 * MiB, tail, MiB);
	ok(head[510] == 0x55 && head[511] == 0xAA, "boot signature");
	is_int(le32(head + 440), 0x12345678, "disk id");
	ok(head[446] == 0 && head[450] == 0x83, "entry 1: not bootable, type 83");
	ok(head[447] == 0x20 && head[448] == 0x21 && head[449] == 0x00, "CHS of sector 2048 is 0/32/33, as fdisk writes it");
	is_int(le32(head + 454), 2048, "LBA start");
	is_int(le32(head + 458), size / 512 - 2048, "sector count");
	is_int(first_nonzero(head + 462, 48), -1, "entries 2-4 empty");
	is_int(first_nonzero(head + 512, 2 * MiB - 512), -1, "nothing else at the start");
	is_int(first_nonzero(tail, MiB), -1, "nothing at the end");

	struct ptable pt;
	ptable_read(head, 2 * MiB, 512, size, &pt);
	is_int(pt.kind, PT_DOS, "read back: dos");
	is_int(pt.count, 1, "one partition");
	ok(pt.parts[0].number == 1 && pt.parts[0].first == 2048 && pt.parts[0].last == size / 512 - 1, "where it was put");
	ok(ptable_is_ours(&pt, size, 512), "recognised as format's");
	ok(ptable_is_ours(&pt, 2 * size, 512), "still format's on a disk grown since");
	ok(!ptable_is_ours(&pt, size / 2, 512), "not on a disk smaller than the partition");

	head[450] = 0x07;
	ptable_read(head, 2 * MiB, 512, size, &pt);
	ok(!ptable_is_ours(&pt, size, 512), "type 07 is not format's");
	head[450] = 0x83;
	put_le32(head + 454, 63);
	ptable_read(head, 2 * MiB, 512, size, &pt);
	ok(!ptable_is_ours(&pt, size, 512), "a partition at sector 63 is not format's");
	put_le32(head + 454, 2048);
	memcpy(head + 462, head + 446, 16);
	put_le32(head + 462 + 8, 4096);
	ptable_read(head, 2 * MiB, 512, size, &pt);
	is_int(pt.count, 2, "a second entry is counted");
	ok(!ptable_is_ours(&pt, size, 512), "two partitions are not format's");

	memset(head, 0, 512);
	ptable_read(head, 2 * MiB, 512, size, &pt);
	is_int(pt.kind, PT_NONE, "zeros: no table");
	free(head);
	free(tail);
}

static void gpt(uint32_t ssz)
{
	uint64_t size = 64 * MiB, sectors = size / ssz, es = 16384 / ssz;
	unsigned char *head = calloc(1, 2 * MiB), *tail = calloc(1, MiB);
	struct ptable_ids id = ids();
	ptable_build(PT_GPT, size, ssz, &id, head, 2 * MiB, tail, MiB);
	ok(head[450] == 0xEE && le32(head + 454) == 1 && le32(head + 458) == sectors - 1,
	   "%u: protective MBR from sector 1 over the disk", ssz);
	const unsigned char *h = head + ssz;
	ok(memcmp(h, "EFI PART", 8) == 0, "%u: primary header at LBA 1", ssz);
	ok(le64(h + 24) == 1 && le64(h + 32) == sectors - 1, "%u: my LBA 1, alternate at the last sector", ssz);
	ok(le64(h + 40) == 2 + es && le64(h + 48) == sectors - 2 - es, "%u: usable range", ssz);
	ok(le64(h + 72) == 2 && le32(h + 80) == 128 && le32(h + 84) == 128, "%u: 128 entries of 128 bytes at LBA 2", ssz);
	ok(memcmp(h + 56, id.disk_guid, 16) == 0, "%u: disk GUID", ssz);
	const unsigned char *en = head + 2 * ssz;
	ok(memcmp(en, gpt_type_linux, 16) == 0 && memcmp(en + 16, id.part_guid, 16) == 0, "%u: entry 1 type and GUID", ssz);
	ok(le64(en + 32) == MiB / ssz && le64(en + 40) == sectors - 2 - es, "%u: entry 1 range", ssz);
	is_int(le32(h + 88), crc32_ieee(en, 16384), "%u: entries CRC", ssz);

	const unsigned char *bh = tail + MiB - ssz;
	ok(memcmp(bh, "EFI PART", 8) == 0, "%u: backup header in the last sector", ssz);
	ok(le64(bh + 24) == sectors - 1 && le64(bh + 32) == 1 && le64(bh + 72) == sectors - 1 - es,
	   "%u: backup's LBAs point the other way", ssz);
	ok(memcmp(tail + MiB - ssz - 16384, en, 16384) == 0, "%u: backup entries just before it", ssz);
	unsigned char copy[92];
	memcpy(copy, bh, 92);
	put_le32(copy + 16, 0);
	is_int(le32(bh + 16), crc32_ieee(copy, 92), "%u: backup header CRC", ssz);

	struct ptable pt;
	ptable_read(head, 2 * MiB, ssz, size, &pt);
	is_int(pt.kind, PT_GPT, "%u: read back: gpt", ssz);
	ok(pt.problem == NULL, "%u: no problem (%s)", ssz, pt.problem ? pt.problem : "");
	is_int(pt.count, 1, "%u: one partition", ssz);
	ok(ptable_is_ours(&pt, size, ssz), "%u: recognised as format's", ssz);

	head[ssz + 40] ^= 1;
	ptable_read(head, 2 * MiB, ssz, size, &pt);
	ok(pt.kind == PT_GPT && pt.problem && strstr(pt.problem, "checksum"), "%u: a damaged header is noticed", ssz);
	ok(!ptable_is_ours(&pt, size, ssz), "%u: and not format's", ssz);
	head[ssz + 40] ^= 1;
	head[2 * ssz + 200] ^= 1;
	ptable_read(head, 2 * MiB, ssz, size, &pt);
	ok(pt.problem && strstr(pt.problem, "entries"), "%u: damaged entries are noticed", ssz);
	free(head);
	free(tail);
}

TAP_SUITE(test_ptable)
{
	is_int(crc32_ieee("123456789", 9), 0xCBF43926u, "CRC-32 check value");
	is_int(crc32_ieee("", 0), 0, "CRC-32 of nothing");
	unsigned char g[16];
	memset(g, 0xFF, sizeof(g));
	guid_v4(g);
	ok(g[7] == 0x4F && g[8] == 0xBF, "version 4, RFC 4122 variant, in GPT byte order");
	is_str(ptable_name(PT_DOS), "dos", "dos");
	is_str(ptable_name(PT_GPT), "gpt", "gpt");
	layouts();
	dos();
	gpt(512);
	gpt(4096);
}

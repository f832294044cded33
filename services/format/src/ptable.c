#include "ptable.h"

#include <string.h>

#include "common/probe.h"

const unsigned char gpt_type_linux[16] = {
	0xAF, 0x3D, 0xC6, 0x0F, 0x83, 0x84, 0x72, 0x47, 0x8E, 0x79, 0x3D, 0x69, 0xD8, 0x47, 0x7D, 0xE4,
};

#define MBR_ENTRIES_OFF 446
#define MBR_DISK_ID_OFF 440
#define GPT_HEADER_SIZE 92

const char *ptable_name(enum ptable_kind kind)
{
	return kind == PT_DOS ? "dos" : kind == PT_GPT ? "gpt" : "none";
}

uint32_t crc32_ieee(const void *buf, size_t len)
{
	const unsigned char *p = buf;
	uint32_t crc = 0xFFFFFFFFu;
	for (size_t i = 0; i < len; i++) {
		crc ^= p[i];
		for (int k = 0; k < 8; k++)
			crc = crc >> 1 ^ (0xEDB88320u & (0u - (crc & 1)));
	}
	return ~crc;
}

void guid_v4(unsigned char g[16])
{
	/* time_hi_and_version is stored little-endian: its top nibble is in byte 7. */
	g[7] = (unsigned char)((g[7] & 0x0F) | 0x40);
	g[8] = (unsigned char)((g[8] & 0x3F) | 0x80);
}

static uint64_t gpt_entry_sectors(uint32_t ssz)
{
	return GPT_ENTRIES_BYTES / ssz;
}

int ptable_layout(enum ptable_kind kind, uint64_t disk_bytes, uint32_t ssz, struct partition *out,
		  bool *capped, err_t *e)
{
	memset(out, 0, sizeof(*out));
	*capped = false;
	if (ssz != 512 && ssz != 4096)
		return err_set(e, "%u-byte sectors: only 512 and 4096 are supported", ssz);
	if (kind != PT_DOS && kind != PT_GPT)
		return err_set(e, "no partition table kind given");
	uint64_t sectors = disk_bytes / ssz;
	uint64_t first = PART_START_BYTES / ssz, last;
	if (kind == PT_DOS) {
		if (sectors < first)
			return err_set(e, "the disk is smaller than 1 MiB");
		last = sectors - 1;
		/* An MBR entry counts sectors in 32 bits. */
		if (last - first + 1 > UINT32_MAX) {
			last = first + UINT32_MAX - 1;
			*capped = true;
		}
	} else {
		uint64_t reserved = 2 + gpt_entry_sectors(ssz);
		if (sectors < first + reserved)
			return err_set(e, "the disk is smaller than 1 MiB and a backup GPT");
		last = sectors - reserved;
	}
	/* At least 1 MiB of partition, or there is no point. */
	if (last + 1 < first + PART_START_BYTES / ssz)
		return err_set(e, "the disk is too small for a partition (%llu bytes)", (unsigned long long)disk_bytes);
	out->number = 1;
	out->first = first;
	out->last = last;
	if (kind == PT_DOS)
		out->mbr_type = MBR_TYPE_LINUX;
	else
		memcpy(out->type_guid, gpt_type_linux, 16);
	return 0;
}

/* CHS as BIOSes read it (255 heads, 63 sectors); past cylinder 1023 the
 * conventional "too far" value. */
static void put_chs(unsigned char *p, uint64_t lba)
{
	uint64_t c = lba / (255 * 63), h = lba / 63 % 255, s = lba % 63 + 1;
	if (c > 1023) {
		p[0] = 0xFE, p[1] = 0xFF, p[2] = 0xFF;
		return;
	}
	p[0] = (unsigned char)h;
	p[1] = (unsigned char)(s | (c >> 2 & 0xC0));
	p[2] = (unsigned char)c;
}

static void put_mbr_entry(unsigned char *sector0, int slot, uint8_t type, uint64_t first, uint64_t count)
{
	unsigned char *p = sector0 + MBR_ENTRIES_OFF + 16 * slot;
	p[0] = 0x00; /* not bootable */
	put_chs(p + 1, first);
	p[4] = type;
	put_chs(p + 5, first + count - 1);
	put_le32(p + 8, (uint32_t)first);
	put_le32(p + 12, (uint32_t)count);
	sector0[510] = 0x55;
	sector0[511] = 0xAA;
}

static void put_gpt_header(unsigned char *h, uint64_t my_lba, uint64_t alt_lba, uint64_t first_usable,
			   uint64_t last_usable, const unsigned char guid[16], uint64_t entries_lba, uint32_t entries_crc)
{
	memcpy(h, "EFI PART", 8);
	put_le32(h + 8, 0x00010000);
	put_le32(h + 12, GPT_HEADER_SIZE);
	put_le32(h + 16, 0);
	put_le32(h + 20, 0);
	put_le64(h + 24, my_lba);
	put_le64(h + 32, alt_lba);
	put_le64(h + 40, first_usable);
	put_le64(h + 48, last_usable);
	memcpy(h + 56, guid, 16);
	put_le64(h + 72, entries_lba);
	put_le32(h + 80, GPT_ENTRIES);
	put_le32(h + 84, GPT_ENTRY_SIZE);
	put_le32(h + 88, entries_crc);
	put_le32(h + 16, crc32_ieee(h, GPT_HEADER_SIZE));
}

void ptable_build(enum ptable_kind kind, uint64_t disk_bytes, uint32_t ssz, const struct ptable_ids *ids,
		  unsigned char *head, size_t head_len, unsigned char *tail, size_t tail_len)
{
	struct partition p;
	bool capped;
	err_t e;
	if (ptable_layout(kind, disk_bytes, ssz, &p, &capped, &e) < 0)
		return;
	uint64_t sectors = disk_bytes / ssz;
	if (kind == PT_DOS) {
		put_le32(head + MBR_DISK_ID_OFF, ids->disk_id);
		put_mbr_entry(head, 0, MBR_TYPE_LINUX, p.first, p.last - p.first + 1);
		return;
	}

	uint64_t es = gpt_entry_sectors(ssz);
	if (head_len < (2 + es) * ssz)
		return;
	/* The protective MBR covers the whole disk (as far as 32 bits reach). */
	uint64_t covered = sectors - 1 > UINT32_MAX ? UINT32_MAX : sectors - 1;
	put_mbr_entry(head, 0, MBR_TYPE_GPT_PROTECTIVE, 1, covered);

	unsigned char *entries = head + 2 * ssz;
	memcpy(entries, gpt_type_linux, 16);
	memcpy(entries + 16, ids->part_guid, 16);
	put_le64(entries + 32, p.first);
	put_le64(entries + 40, p.last);
	uint32_t entries_crc = crc32_ieee(entries, GPT_ENTRIES_BYTES);
	uint64_t first_usable = 2 + es, last_usable = sectors - 2 - es;
	put_gpt_header(head + ssz, 1, sectors - 1, first_usable, last_usable, ids->disk_guid, 2, entries_crc);

	/* The backup: entries, then the header in the last sector. */
	uint64_t tail_start = sectors * ssz - tail_len;
	if (tail_len < (1 + es) * ssz || sectors * ssz < tail_len)
		return;
	unsigned char *backup_entries = tail + ((sectors - 1 - es) * ssz - tail_start);
	memcpy(backup_entries, entries, GPT_ENTRIES_BYTES);
	put_gpt_header(tail + ((sectors - 1) * ssz - tail_start), sectors - 1, 1, first_usable, last_usable,
		       ids->disk_guid, sectors - 1 - es, entries_crc);
}

static void add_part(struct ptable *out, unsigned number, uint64_t first, uint64_t last, uint8_t mbr_type,
		     const unsigned char *guid)
{
	if (out->count < ARRAY_LEN(out->parts)) {
		struct partition *p = &out->parts[out->count];
		memset(p, 0, sizeof(*p));
		p->number = number;
		p->first = first;
		p->last = last;
		p->mbr_type = mbr_type;
		if (guid)
			memcpy(p->type_guid, guid, 16);
	}
	out->count++;
}

static void read_gpt(const unsigned char *head, size_t len, uint32_t ssz, struct ptable *out)
{
	out->kind = PT_GPT;
	if (len < 2 * (size_t)ssz || memcmp(head + ssz, "EFI PART", 8) != 0) {
		out->problem = "a protective MBR without a GPT header";
		return;
	}
	const unsigned char *h = head + ssz;
	uint32_t hsize = le32(h + 12);
	if (hsize < GPT_HEADER_SIZE || hsize > ssz) {
		out->problem = "a GPT header of an impossible size";
		return;
	}
	unsigned char copy[4096];
	memcpy(copy, h, hsize);
	put_le32(copy + 16, 0);
	if (crc32_ieee(copy, hsize) != le32(h + 16)) {
		out->problem = "a GPT header whose checksum does not match";
		return;
	}
	uint64_t lba = le64(h + 72);
	uint32_t n = le32(h + 80), esize = le32(h + 84);
	if (esize < GPT_ENTRY_SIZE || esize % 8 || n > 65536) {
		out->problem = "GPT entries of an impossible size";
		return;
	}
	uint64_t bytes = (uint64_t)n * esize;
	if (lba > len / ssz || lba * ssz + bytes > len) {
		out->problem = "GPT entries beyond the disk's first MiB";
		return;
	}
	const unsigned char *entries = head + lba * ssz;
	if (crc32_ieee(entries, bytes) != le32(h + 88)) {
		out->problem = "GPT entries whose checksum does not match";
		return;
	}
	static const unsigned char zero[16];
	for (uint32_t i = 0; i < n; i++) {
		const unsigned char *en = entries + (uint64_t)i * esize;
		if (memcmp(en, zero, 16) != 0)
			add_part(out, i + 1, le64(en + 32), le64(en + 40), 0, en);
	}
}

void ptable_read(const unsigned char *head, size_t len, uint32_t ssz, uint64_t disk_bytes, struct ptable *out)
{
	(void)disk_bytes;
	memset(out, 0, sizeof(*out));
	out->kind = PT_NONE;
	if (len < 512 || head[510] != 0x55 || head[511] != 0xAA)
		return;
	for (int i = 0; i < 4; i++) {
		if (head[MBR_ENTRIES_OFF + 16 * i + 4] == MBR_TYPE_GPT_PROTECTIVE) {
			read_gpt(head, len, ssz, out);
			return;
		}
	}
	out->kind = PT_DOS;
	for (int i = 0; i < 4; i++) {
		const unsigned char *p = head + MBR_ENTRIES_OFF + 16 * i;
		uint32_t start = le32(p + 8), count = le32(p + 12);
		if (p[4] != 0 && count != 0)
			add_part(out, (unsigned)i + 1, start, (uint64_t)start + count - 1, p[4], NULL);
	}
}

bool ptable_is_ours(const struct ptable *pt, uint64_t disk_bytes, uint32_t ssz)
{
	if ((pt->kind != PT_DOS && pt->kind != PT_GPT) || pt->problem || pt->count != 1 || (ssz != 512 && ssz != 4096))
		return false;
	const struct partition *p = &pt->parts[0];
	uint64_t sectors = disk_bytes / ssz;
	if (p->number != 1 || p->first != PART_START_BYTES / ssz || p->last < p->first)
		return false;
	if (pt->kind == PT_DOS)
		return p->mbr_type == MBR_TYPE_LINUX && p->last < sectors;
	return memcmp(p->type_guid, gpt_type_linux, 16) == 0 && p->last + 2 + gpt_entry_sectors(ssz) <= sectors;
}

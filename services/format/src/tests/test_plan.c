#include <stdlib.h>

#include "../plan.h"
#include "../common/tests/tap.h"

#define DISK (64ull * 1024 * 1024)

static unsigned char head[HEAD_BYTES], tail[EDGE_BYTES];
static const struct want want = { "ext4", "DATA", PT_DOS };

static enum verdict look(struct inspection *in)
{
	inspect(head, sizeof(head), tail, sizeof(tail), DISK, 512, &want, in);
	return in->verdict;
}

/* format's table, as write_table lays it out. */
static void our_table(void)
{
	memset(head, 0, sizeof(head));
	memset(tail, 0, sizeof(tail));
	struct ptable_ids ids = { .disk_id = 0x12345678 };
	ptable_build(PT_DOS, DISK, 512, &ids, head, sizeof(head), tail, sizeof(tail));
}

/* An ext4 superblock at the partition's start (1 MiB in). */
static void ext4_in_partition(const char *label)
{
	unsigned char *sb = head + PART_START_BYTES + 1024;
	put_le16(sb + 56, 0xEF53);
	put_le32(sb + 96, 0x0040); /* extents: ext4 */
	memset(sb + 120, 0, 16);
	memcpy(sb + 120, label, strlen(label));
}

static struct candidate cand(const char *name, enum verdict v, const char *skip)
{
	struct candidate c;
	memset(&c, 0, sizeof(c));
	snprintf(c.name, sizeof(c.name), "%s", name);
	snprintf(c.skip, sizeof(c.skip), "%s", skip);
	c.in.verdict = v;
	snprintf(c.in.what, sizeof(c.in.what), "what %s", name);
	return c;
}

TAP_SUITE(test_plan)
{
	struct inspection in;
	memset(head, 0, sizeof(head));
	memset(tail, 0, sizeof(tail));
	is_int(look(&in), V_EMPTY, "all zeros: empty");

	head[EDGE_BYTES - 1] = 1;
	is_int(look(&in), V_DATA, "one byte at the end of the first MiB: data");
	ok(strstr(in.what, "offset 1048575") != NULL, "and says where: %s", in.what);
	head[EDGE_BYTES - 1] = 0;
	head[EDGE_BYTES] = 1;
	is_int(look(&in), V_EMPTY, "a byte past the first MiB is not looked at by the emptiness rule");
	head[EDGE_BYTES] = 0;
	tail[0] = 0xff;
	is_int(look(&in), V_DATA, "a byte in the last MiB: data");
	ok(strstr(in.what, "near its end") != NULL, "near its end: %s", in.what);
	tail[0] = 0;

	/* A whole-disk ext4 with our label is still not ours: format makes a partition. */
	put_le16(head + 1024 + 56, 0xEF53);
	memcpy(head + 1024 + 120, "DATA", 4);
	is_int(look(&in), V_DATA, "a file system on the whole disk: data, even labelled DATA");

	our_table();
	is_int(look(&in), V_UNFINISHED, "format's table and zeros after it: an earlier run stopped halfway");
	ext4_in_partition("DATA");
	is_int(look(&in), V_OURS, "format's table and ext4 labelled DATA: already formatted");
	ext4_in_partition("OTHER");
	is_int(look(&in), V_DATA, "another label: data");
	our_table();
	head[PART_START_BYTES + 4096] = 7;
	is_int(look(&in), V_DATA, "format's table with unknown bytes in the partition: data");
	our_table();
	put_le32(head + 446 + 8, 4096); /* the partition starts elsewhere */
	is_int(look(&in), V_DATA, "a table format did not make: data");

	struct decision d;
	struct candidate c[3];
	c[0] = cand("vda", V_DATA, "");
	c[1] = cand("vdb", V_EMPTY, "");
	c[2] = cand("vdc", V_OURS, "");
	decide(c, 3, false, false, &d);
	ok(d.action == ACT_LEAVE && d.index == 2, "a disk formatted before wins over an empty one");
	c[2] = cand("vdc", V_EMPTY, "");
	decide(c, 3, false, false, &d);
	ok(d.action == ACT_FORMAT && d.index == 1, "else the first empty disk");
	c[1] = cand("vdb", V_EMPTY, "read-only");
	decide(c, 3, false, false, &d);
	ok(d.action == ACT_FORMAT && d.index == 2, "skipping one that cannot be used");
	decide(c, 1, false, false, &d);
	ok(d.action == ACT_FAIL && strstr(d.why, "no eligible disk: vda: what vda"), "only data: fails, naming why: %s", d.why);
	decide(c, 0, false, false, &d);
	ok(d.action == ACT_FAIL && strstr(d.why, "no disks found"), "no disks: fails");

	decide(c, 1, true, false, &d);
	ok(d.action == ACT_FAIL && strstr(d.why, "not empty"), "a named disk with data: refused");
	decide(c, 1, true, true, &d);
	is_int(d.action, ACT_FORMAT, "with -force: formatted");
	c[0] = cand("/dev/vda", V_OURS, "");
	decide(c, 1, true, false, &d);
	is_int(d.action, ACT_LEAVE, "a named disk formatted before: left alone");
	c[0] = cand("/dev/vda", V_EMPTY, "mounted on /");
	decide(c, 1, true, true, &d);
	is_int(d.action, ACT_FAIL, "a named disk that is mounted: refused even with -force");
}

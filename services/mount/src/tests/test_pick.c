#include "../pick.h"
#include "../common/tests/tap.h"

static struct volume vol(const char *name, bool partition, enum fs_kind kind, const char *fsname, const char *label,
			 const char *uuid)
{
	struct volume v;
	memset(&v, 0, sizeof(v));
	snprintf(v.name, sizeof(v.name), "%s", name);
	v.partition = partition;
	v.probed = true;
	v.fs.kind = kind;
	v.fs.name = fsname;
	snprintf(v.fs.label, sizeof(v.fs.label), "%s", label);
	snprintf(v.fs.uuid, sizeof(v.fs.uuid), "%s", uuid);
	return v;
}

TAP_SUITE(test_pick)
{
	bool amb;
	struct volume v[6];
	v[0] = vol("vda", false, FS_SQUASHFS, "squashfs", "", "");
	v[1] = vol("vdb", false, FS_EXT4, "ext4", "OTHER", "11111111-2222-4333-8444-555555555555");
	v[2] = vol("vdc", false, FS_NONE, "", "", "");
	v[3] = vol("vdc1", true, FS_EXT4, "ext4", "DATA", "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee");
	v[4] = vol("vdd1", true, FS_EXT4, "ext4", "DATA", "01234567-89ab-4cde-8f01-23456789abcd");
	v[5] = vol("loop0", false, FS_EXT4, "ext4", "LOOPY", "");
	v[5].is_virtual = true;

	is_int(pick_volume(v, 6, "DATA", NULL, &amb), 3, "by label: the first with it");
	ok(amb, "and two have it");
	is_int(pick_volume(v, 6, "OTHER", NULL, &amb), 1, "a whole disk by label");
	ok(!amb, "only one has it");
	is_int(pick_volume(v, 6, "data", NULL, &amb), -1, "labels are case-sensitive");
	is_int(pick_volume(v, 6, "LOOPY", NULL, &amb), 5, "a label may be on a loop device");
	is_int(pick_volume(v, 6, NULL, "01234567-89AB-4CDE-8F01-23456789ABCD", &amb), 4, "UUIDs in any case");
	is_int(pick_volume(v, 6, NULL, "01234567", &amb), -1, "no partial UUIDs");

	is_int(pick_volume(v, 6, NULL, NULL, &amb), 3, "no criteria: the first partition with a file system");
	v[3].mounted = true;
	is_int(pick_volume(v, 6, NULL, NULL, &amb), 4, "skipping one that is mounted");
	v[4].fs.kind = FS_SWAP;
	v[4].fs.name = "swap";
	is_int(pick_volume(v, 6, NULL, NULL, &amb), -1, "never a swap area, a whole disk or a loop device");
	v[4].fs.kind = FS_XFS;
	v[4].fs.name = "xfs";
	v[4].probed = false;
	is_int(pick_volume(v, 6, NULL, NULL, &amb), -1, "nor a device that could not be read");
	is_int(pick_volume(v, 0, NULL, NULL, &amb), -1, "no devices at all");

	is_int(fsck_verdict(0), FSCK_CLEAN, "e2fsck 0: clean");
	is_int(fsck_verdict(1), FSCK_REPAIRED, "e2fsck 1: repaired");
	is_int(fsck_verdict(2), FSCK_REPAIRED, "e2fsck 2: repaired (reboot only matters for a root)");
	is_int(fsck_verdict(4), FSCK_REFUSED, "e2fsck 4: errors left, not mounted");
	is_int(fsck_verdict(8), FSCK_REFUSED, "e2fsck 8: it failed, not mounted");
	is_int(fsck_verdict(128 + 9), FSCK_REFUSED, "e2fsck killed: not mounted");
}

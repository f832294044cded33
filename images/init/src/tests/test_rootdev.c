#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "../rootdev.h"
#include "../common/tests/tap.h"

static unsigned char buf[ROOTDEV_PROBE_BYTES];

static void put_le32(unsigned char *p, unsigned v)
{
	p[0] = v & 0xff;
	p[1] = (v >> 8) & 0xff;
	p[2] = (v >> 16) & 0xff;
	p[3] = v >> 24;
}

/* A primary volume descriptor at 32 KiB, padded as mkisofs pads. */
static void iso_pvd(unsigned char *vd, const char *label, const char *modified, const char *created)
{
	vd[0] = 1;
	memcpy(vd + 1, "CD001", 5);
	vd[6] = 1;
	memset(vd + 40, ' ', 32);
	memcpy(vd + 40, label, strlen(label));
	memset(vd + 813, '0', 16);
	memset(vd + 830, '0', 16);
	if (created)
		memcpy(vd + 813, created, 16);
	if (modified)
		memcpy(vd + 830, modified, 16);
}

static void test_probe(void)
{
	struct root_probe p;

	memset(buf, 0, sizeof(buf));
	rootdev_probe(buf, sizeof(buf), &p);
	is_int(p.type, ROOTFS_UNKNOWN, "probe: zeros are nothing");

	memcpy(buf, "hsqs", 4);
	buf[28] = 4;
	rootdev_probe(buf, sizeof(buf), &p);
	is_int(p.type, ROOTFS_SQUASHFS, "probe: squashfs 4.0");
	is_str(p.label, "", "probe: squashfs has no label");
	buf[28] = 3;
	rootdev_probe(buf, sizeof(buf), &p);
	is_int(p.type, ROOTFS_UNKNOWN, "probe: squashfs 3 is not mountable");
	buf[28] = 4;
	rootdev_probe(buf, 16, &p);
	is_int(p.type, ROOTFS_UNKNOWN, "probe: a device too short for a superblock");

	memset(buf, 0, sizeof(buf));
	put_le32(buf + 1024, 0xE0F5E1E2);
	rootdev_probe(buf, sizeof(buf), &p);
	is_int(p.type, ROOTFS_EROFS, "probe: erofs");
	is_str(p.uuid, "", "probe: erofs without a UUID");
	for (int i = 0; i < 16; i++)
		buf[1024 + 48 + i] = (unsigned char)(0xa0 + i);
	memcpy(buf + 1024 + 64, "0123456789abcdef", 16); /* fills the field: no NUL */
	rootdev_probe(buf, sizeof(buf), &p);
	is_str(p.uuid, "a0a1a2a3-a4a5-a6a7-a8a9-aaabacadaeaf", "probe: erofs UUID as blkid shows it");
	is_str(p.label, "0123456789abcdef", "probe: erofs label of 16 bytes");
	buf[1024] = 0xE3;
	rootdev_probe(buf, sizeof(buf), &p);
	is_int(p.type, ROOTFS_UNKNOWN, "probe: a wrong erofs magic");

	memset(buf, 0, sizeof(buf));
	iso_pvd(buf + 32768, "KEEL_ROOT", "2024010203040500", NULL);
	rootdev_probe(buf, sizeof(buf), &p);
	is_int(p.type, ROOTFS_ISO9660, "probe: iso9660");
	is_str(p.label, "KEEL_ROOT", "probe: iso label without its padding");
	is_str(p.uuid, "2024-01-02-03-04-05-00", "probe: iso UUID from the modification date");
	iso_pvd(buf + 32768, "X", NULL, "2023123123595999");
	rootdev_probe(buf, sizeof(buf), &p);
	is_str(p.uuid, "2023-12-31-23-59-59-99", "probe: iso UUID from the creation date when unmodified");

	/* A boot record (El Torito) may come first. */
	memset(buf, 0, sizeof(buf));
	buf[32768] = 0;
	memcpy(buf + 32769, "CD001", 5);
	iso_pvd(buf + 32768 + 2048, "SECOND", NULL, NULL);
	rootdev_probe(buf, sizeof(buf), &p);
	is_int(p.type, ROOTFS_ISO9660, "probe: iso9660 with a boot record first");
	is_str(p.label, "SECOND", "probe: the label comes from the primary descriptor");
	is_str(p.uuid, "", "probe: no dates, no UUID");
	rootdev_probe(buf, 32768 + 100, &p);
	is_int(p.type, ROOTFS_UNKNOWN, "probe: a cut-off iso9660 descriptor");
}

static void test_parse(void)
{
	struct root_want w;
	err_t e;

	is_int(rootdev_parse(NULL, "console=ttyS0 quiet", &w, &e), 0, "parse: nothing wanted");
	is_int(rootdev_parse(NULL, NULL, &w, &e), 0, "parse: no command line");

	is_int(rootdev_parse("squashfs\n", "console=ttyS0", &w, &e), 1, "parse: the marker alone");
	is_int(w.type, ROOTFS_SQUASHFS, "parse: marker type");
	is_str(w.fstype, "squashfs", "parse: marker fstype");
	is_int(w.by, ROOT_ANY, "parse: any device");
	ok(w.from_marker, "parse: from the marker");
	is_int(w.wait_s, 10, "parse: waits 10 s by default");

	is_int(rootdev_parse("iso\n", "", &w, &e), 1, "parse: marker iso");
	is_int(w.type, ROOTFS_ISO9660, "parse: iso is iso9660");
	is_str(w.fstype, "iso9660", "parse: iso mounts as iso9660");

	is_int(rootdev_parse("erofs", "rootfstype=squashfs root=/dev/vdb keel.rootwait=3", &w, &e), 1,
	       "parse: command line with the marker");
	is_int(w.type, ROOTFS_SQUASHFS, "parse: rootfstype= wins over the marker");
	is_int(w.by, ROOT_NAME, "parse: root=/dev/NAME");
	is_str(w.match, "vdb", "parse: device name");
	is_int(w.wait_s, 3, "parse: keel.rootwait=");

	is_int(rootdev_parse(NULL, "root=LABEL=KEEL_ROOT", &w, &e), 1, "parse: root= alone");
	ok(!w.from_marker, "parse: root= alone is not from the marker");
	is_int(w.type, ROOTFS_UNKNOWN, "parse: any known type");
	is_int(w.by, ROOT_LABEL, "parse: LABEL=");
	is_str(w.match, "KEEL_ROOT", "parse: label");
	is_int(rootdev_parse(NULL, "root=UUID=2024-01-02-03-04-05-00", &w, &e), 1, "parse: UUID=");
	is_int(w.by, ROOT_UUID, "parse: by UUID");
	is_str(w.match, "2024-01-02-03-04-05-00", "parse: UUID");
	is_int(rootdev_parse(NULL, "root=/dev/disk/by-label/root", &w, &e), 1, "parse: by-label path");
	is_int(w.by, ROOT_LABEL, "parse: by-label path is a label");
	is_int(rootdev_parse(NULL, "root=/dev/vda root=/dev/vdb", &w, &e), 1, "parse: root= twice");
	is_str(w.match, "vdb", "parse: the last root= wins");

	is_int(rootdev_parse(NULL, "root=/dev/sda1 rootfstype=ext4", &w, &e), 1, "parse: another type by name");
	is_int(w.type, ROOTFS_OTHER, "parse: ext4 is not probed");
	is_str(w.fstype, "ext4", "parse: ext4 fstype");

	is_int(rootdev_parse(NULL, "root=LABEL=x rootfstype=ext4", &w, &e), -1, "parse: ext4 by label is refused");
	is_int(rootdev_parse(NULL, "root=PARTUUID=1234", &w, &e), -1, "parse: PARTUUID is refused");
	ok(strstr(e.msg, "root=PARTUUID=1234") != NULL, "parse: the error names the value");
	is_int(rootdev_parse(NULL, "root=/dev/mapper/x", &w, &e), -1, "parse: a nested /dev path is refused");
	is_int(rootdev_parse(NULL, "root=/dev/", &w, &e), -1, "parse: an empty name is refused");
	is_int(rootdev_parse(NULL, "root=/dev/vda rootfstype=Ext4;", &w, &e), -1, "parse: a strange type is refused");
	is_int(rootdev_parse("tarball\n", "", &w, &e), -1, "parse: an unknown marker type");
	ok(w.from_marker && strstr(e.msg, ROOTDEV_MARKER) != NULL, "parse: the marker error names the file");
	is_int(rootdev_parse("erofs", "keel.rootwait=soon", &w, &e), -1, "parse: a bad keel.rootwait");
}

static void test_matches(void)
{
	struct root_want w;
	struct root_probe sq = { .type = ROOTFS_SQUASHFS }, none = { 0 };
	struct root_probe iso = { .type = ROOTFS_ISO9660, .label = "KEEL_ROOT", .uuid = "2024-01-02-03-04-05-00" };
	err_t e;

	rootdev_parse("squashfs", "", &w, &e);
	ok(rootdev_matches(&w, "vda", &sq), "matches: squashfs anywhere");
	ok(!rootdev_matches(&w, "vda", &iso), "matches: not another type");
	ok(!rootdev_matches(&w, "vda", &none), "matches: not an unknown device");

	rootdev_parse(NULL, "root=/dev/vdb", &w, &e);
	ok(!rootdev_matches(&w, "vda", &sq), "matches: not another name");
	ok(rootdev_matches(&w, "vdb", &iso), "matches: any known type by name");
	ok(!rootdev_matches(&w, "vdb", &none), "matches: not an unrecognised device by name");

	rootdev_parse(NULL, "root=LABEL=KEEL_ROOT", &w, &e);
	ok(rootdev_matches(&w, "sr0", &iso), "matches: by label");
	ok(!rootdev_matches(&w, "vda", &sq), "matches: no label, no match");
	rootdev_parse(NULL, "root=UUID=2024-01-02-03-04-05-00 rootfstype=iso9660", &w, &e);
	ok(rootdev_matches(&w, "sr0", &iso), "matches: by UUID");
	rootdev_parse(NULL, "root=UUID=2024-01-02-03-04-05-00 rootfstype=erofs", &w, &e);
	ok(!rootdev_matches(&w, "sr0", &iso), "matches: by UUID, but not the type");

	rootdev_parse(NULL, "root=/dev/sda1 rootfstype=ext4", &w, &e);
	ok(rootdev_matches(&w, "sda1", &none), "matches: an unprobed type by name alone");
	ok(!rootdev_matches(&w, "sda", &none), "matches: only that name");
}

static void test_delete(void)
{
	char base[] = "/tmp/keel-rootdev-test-XXXXXX", cmd[256];
	err_t e;
	struct stat st;

	ok(mkdtemp(base) != NULL, "delete: temp dir");
	snprintf(cmd, sizeof(cmd),
		 "cd %s && mkdir -p a/b/c d && echo x > a/b/c/f && echo y > top && ln -s /etc s && ln top a/h && "
		 "mkfifo d/p",
		 base);
	ok(system(cmd) == 0, "delete: a tree");
	int fd = open(base, O_RDONLY | O_DIRECTORY);
	fstat(fd, &st);
	is_int(rootdev_delete_tree(fd, st.st_dev, &e), 0, "delete: deleted");
	close(fd);
	ok(rmdir(base) == 0, "delete: nothing left");

	strcpy(base + strlen(base) - 6, "XXXXXX");
	ok(mkdtemp(base) != NULL, "delete: temp dir again");
	snprintf(cmd, sizeof(cmd), "mkdir -p %s/keep && echo k > %s/keep/f", base, base);
	ok(system(cmd) == 0, "delete: a second tree");
	fd = open(base, O_RDONLY | O_DIRECTORY);
	fstat(fd, &st);
	/* Another device number stands for another mount: nothing goes. */
	is_int(rootdev_delete_tree(fd, st.st_dev + 1, &e), 0, "delete: other device");
	close(fd);
	snprintf(cmd, sizeof(cmd), "%s/keep/f", base);
	ok(access(cmd, F_OK) == 0, "delete: files of another device stay");
	snprintf(cmd, sizeof(cmd), "rm -rf %s", base);
	ok(system(cmd) == 0, "delete: cleanup");
}

TAP_SUITE(test_rootdev)
{
	test_probe();
	test_parse();
	test_matches();
	test_delete();
}

#include "../common/tests/tap.h"
#include "../provider.h"
#include "helpers.h"

/* A block device in a made-up sysfs (class/block/NAME/dev) with its
 * "node" a regular file in dev/. */
static void fake_dev(const char *root, const char *name, const char *devno, const void *data, size_t len)
{
	char p[256];
	snprintf(p, sizeof(p), "sys/class/block/%s/dev", name);
	put_str(root, p, devno);
	snprintf(p, sizeof(p), "dev/%s", name);
	put_file(root, p, data, len);
}

/* The first 64 KiB of an ISO 9660 image with a volume label. */
static unsigned char *fake_iso(const char *label)
{
	static unsigned char img[4][65536];
	static int n;
	unsigned char *b = img[n++ % 4];
	memset(b, 0, 65536);
	memcpy(b + 32768, "\001CD001\001", 7);
	memset(b + 32768 + 40, ' ', 32);
	memcpy(b + 32768 + 40, label, strlen(label));
	return b;
}

TAP_SUITE(test_provider)
{
	err_t e;
	struct found f;
	char *root = scratch_dir(), sys[300], dev[300], path[400];
	snprintf(sys, sizeof(sys), "%s/sys", root);
	snprintf(dev, sizeof(dev), "%s/dev", root);

	/* fw_cfg */
	memset(&f, 0, sizeof(f));
	is_int(fwcfg_read(sys, FWCFG_DEFAULT_NAME, &f, &e), 0, "fw_cfg: no qemu_fw_cfg folder is no data");
	put_str(root, "sys/firmware/qemu_fw_cfg/by_name/opt/other/raw", "x");
	is_int(fwcfg_read(sys, FWCFG_DEFAULT_NAME, &f, &e), 0, "fw_cfg: another item is no data");
	put_str(root, "sys/firmware/qemu_fw_cfg/by_name/opt/keel/userdata/raw", "{\"a\":{\"content\":\"b\"}}");
	is_int(fwcfg_read(sys, FWCFG_DEFAULT_NAME, &f, &e), 1, "fw_cfg: opt/keel/userdata");
	is_str(f.userdata, "{\"a\":{\"content\":\"b\"}}", "  its bytes");
	is_str(f.provider, "fw_cfg opt/keel/userdata", "  the provider's name");
	free(f.userdata);
	memset(&f, 0, sizeof(f));
	is_int(fwcfg_read(sys, "opt/other", &f, &e), 1, "fw_cfg: a name given");
	free(f.userdata);

	/* file= */
	memset(&f, 0, sizeof(f));
	snprintf(path, sizeof(path), "%s/nothing", root);
	is_int(file_read(path, &f, &e), 0, "file: a missing file is no data");
	put_str(root, "ud", "text");
	snprintf(path, sizeof(path), "%s/ud", root);
	is_int(file_read(path, &f, &e), 1, "file: a file");
	is_str(f.userdata, "text", "  its bytes");
	free(f.userdata);

	/* Which devices cdrom looks at, in order. */
	static const unsigned char junk[70000] = { 1, 2, 3 };
	fake_dev(root, "vda", "254:0", junk, sizeof(junk));
	fake_dev(root, "vdb", "254:16", fake_iso("CIDATA"), 65536);
	fake_dev(root, "vdc", "254:32", fake_iso("config-2"), 65536);
	fake_dev(root, "vdd", "254:48", fake_iso("OTHER"), 65536);
	fake_dev(root, "loop0", "7:0", fake_iso("cidata"), 65536);
	fake_dev(root, "sr0", "11:0", "", 0);
	fake_dev(root, "sr1", "11:1", fake_iso("cidata"), 65536);
	struct candidate *c = NULL;
	size_t n = 0;
	is_int(cdrom_candidates(sys, dev, &c, &n, &e), 0, "cdrom: listing candidates");
	is_int(n, 4, "4 candidates");
	if (n == 4) {
		is_str(c[0].name, "sr1", "1: sr1, labelled cidata");
		is_int(c[0].kind, SEED_NOCLOUD, "  NoCloud");
		is_str(c[0].fstype, "iso9660", "  iso9660");
		is_str(c[0].label, "cidata", "  label");
		snprintf(path, sizeof(path), "%s/sr1", dev);
		is_str(c[0].node, path, "  its node");
		is_str(c[1].name, "vdb", "2: vdb, labelled CIDATA");
		is_int(c[1].kind, SEED_NOCLOUD, "  NoCloud");
		is_str(c[2].name, "vdc", "3: vdc, labelled config-2");
		is_int(c[2].kind, SEED_CONFIGDRIVE, "  a config drive");
		is_str(c[3].name, "sr0", "4: sr0, a CD-ROM without a label, last");
		is_int(c[3].kind, SEED_MAYBE, "  tried as NoCloud if it mounts");
		is_str(c[3].fstype, "iso9660", "  as iso9660");
	}
	free(c);
	remove_tree(root);

	/* What a mounted seed gives. */
	char *seed = scratch_dir(), *config = scratch_dir();
	memset(&f, 0, sizeof(f));
	is_int(seed_read(seed, SEED_NOCLOUD, config, &f, &e), 0, "an empty seed has no user data");
	put_str(seed, "config", "from config");
	is_int(seed_read(seed, SEED_NOCLOUD, config, &f, &e), 1, "config, LinuxKit's older name");
	is_str(f.userdata, "from config", "  its bytes");
	free(f.userdata);
	put_str(seed, "user-data", "from user-data");
	put_str(seed, "meta-data", "instance-id: i-1\n");
	memset(&f, 0, sizeof(f));
	is_int(seed_read(seed, SEED_NOCLOUD, config, &f, &e), 1, "user-data beside config");
	is_str(f.userdata, "from user-data", "  wins");
	is_str(get_str(config, "meta-data"), "instance-id: i-1\n", "meta-data is kept as /run/config/meta-data");
	free(f.userdata);
	remove_tree(seed);
	remove_tree(config);

	seed = scratch_dir();
	config = scratch_dir();
	put_str(seed, "openstack/latest/meta_data.json",
		"{\"uuid\": \"u\", \"hostname\": \"vm-1\", \"public_keys\": {\"k1\": \"ssh-ed25519 AAAA1 a\", \"k2\": \"ssh-rsa AAAA2 b\\n\"}}");
	memset(&f, 0, sizeof(f));
	is_int(seed_read(seed, SEED_CONFIGDRIVE, config, &f, &e), 0, "a config drive without user_data has no user data");
	is_str(get_str(config, "hostname"), "vm-1", "but gives the hostname");
	is_str(get_str(config, "ssh/authorized_keys"), "ssh-ed25519 AAAA1 a\nssh-rsa AAAA2 b\n", "and the public keys, a line each");
	is_int(get_mode(config, "ssh/authorized_keys"), 0600, "  mode 0600");
	put_str(seed, "openstack/latest/user_data", "#!/bin/sh\n");
	is_int(seed_read(seed, SEED_CONFIGDRIVE, config, &f, &e), 1, "a config drive with user_data");
	is_str(f.userdata, "#!/bin/sh\n", "  its bytes");
	free(f.userdata);
	remove_tree(seed);
	remove_tree(config);
}

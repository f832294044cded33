#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "common/blockdev.h"
#include "common/probe.h"
#include "json.h"
#include "provider.h"
#include "userdata.h"

/* The label a seed is known by. Upper and lower case both occur in the
 * wild (mkisofs keeps what it is given; FAT tools upper-case it). */
static bool seed_label(const struct fs_info *fs, enum seed_kind *kind)
{
	if (fs->kind != FS_ISO9660 && fs->kind != FS_VFAT)
		return false;
	if (strcasecmp(fs->label, "cidata") == 0)
		*kind = SEED_NOCLOUD;
	else if (strcasecmp(fs->label, "config-2") == 0)
		*kind = SEED_CONFIGDRIVE;
	else
		return false;
	return true;
}

static bool probe_node(const char *node, struct fs_info *fs)
{
	static unsigned char buf[PROBE_BYTES];
	/* O_NONBLOCK: a CD-ROM drive with its tray open must not keep us waiting. */
	autoclose int fd = open(node, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		verbose("cdrom: %s: %s", node, strerror(errno));
		return false;
	}
	size_t got = 0;
	while (got < sizeof(buf)) {
		ssize_t r = pread(fd, buf + got, sizeof(buf) - got, (off_t)got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	return probe_fs(buf, got, fs);
}

int cdrom_candidates(const char *sysfs, const char *devdir, struct candidate **out, size_t *n, err_t *e)
{
	autofree struct blockdev *devs = NULL;
	size_t ndevs;
	*out = NULL;
	*n = 0;
	if (blockdev_list(sysfs, &devs, &ndevs, e) < 0)
		return -1;
	struct candidate *list = calloc(ndevs ? ndevs : 1, sizeof(*list));
	if (!list)
		return err_sys(e, "list CD-ROMs");
	size_t count = 0;
	/* Two passes: labelled seeds first, then unlabelled CD-ROMs. */
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < ndevs; i++) {
			const char *name = devs[i].name;
			bool cd = strncmp(name, "sr", 2) == 0;
			if (strncmp(name, "loop", 4) == 0 || strncmp(name, "ram", 3) == 0 || strncmp(name, "zram", 4) == 0)
				continue;
			if (pass == 1 && !cd)
				continue;
			bool listed = false;
			for (size_t j = 0; j < count; j++)
				listed |= strcmp(list[j].name, name) == 0;
			if (listed)
				continue;
			struct candidate *c = &list[count];
			memset(c, 0, sizeof(*c));
			snprintf(c->name, sizeof(c->name), "%s", name);
			if (path_fmt(c->node, sizeof(c->node), "%s/%s", devdir, name) < 0)
				continue;
			struct fs_info fs = { 0 };
			bool known = probe_node(c->node, &fs);
			if (known && seed_label(&fs, &c->kind)) {
				c->fstype = fs.name;
				snprintf(c->label, sizeof(c->label), "%s", fs.label);
				count++;
			} else if (pass == 1) {
				c->kind = SEED_MAYBE;
				c->fstype = known && fs.kind == FS_VFAT ? "vfat" : "iso9660";
				if (known)
					snprintf(c->label, sizeof(c->label), "%s", fs.label);
				count++;
			}
		}
	}
	*out = list;
	*n = count;
	return 0;
}

/* 1 and the file's bytes, 0 when it is not there. */
static int read_optional(const char *dir, const char *name, char **data, size_t *len, err_t *e)
{
	char path[PATH_MAX];
	if (path_fmt(path, sizeof(path), "%s/%s", dir, name) < 0)
		return err_sys(e, "%s/%s", dir, name);
	struct stat st;
	if (stat(path, &st) < 0 || !S_ISREG(st.st_mode))
		return 0;
	if (read_file(path, USERDATA_MAX, data, len, e) < 0)
		return -1;
	return 1;
}

static void keep(const char *config, const char *name, const char *data, size_t len, unsigned mode)
{
	char path[PATH_MAX];
	err_t e;
	if (path_fmt(path, sizeof(path), "%s/%s", config, name) < 0)
		return;
	if (write_file_mode(path, data, len, mode, &e) < 0)
		say_error(&e);
	else
		say("wrote %s (%zu bytes)", path, len);
}

/* OpenStack's meta_data.json: its hostname and public keys, where
 * LinuxKit's OpenStack provider puts them (hostname, ssh/authorized_keys). */
static void configdrive_extras(const char *dir, const char *config)
{
	autofree char *text = NULL;
	size_t len;
	err_t e;
	int r = read_optional(dir, "openstack/latest/meta_data.json", &text, &len, &e);
	if (r <= 0) {
		if (r < 0)
			say_error(&e);
		return;
	}
	struct json root;
	if (json_parse(text, len, &root, &e) < 0) {
		say("config drive: meta_data.json is not JSON (%s); ignored", e.msg);
		return;
	}
	const struct json *host = json_get(&root, "hostname");
	if (host && host->type == JSON_STRING && host->len > 0)
		keep(config, "hostname", host->str, host->len, 0644);
	const struct json *keys = json_get(&root, "public_keys");
	if (keys && keys->type == JSON_OBJECT && keys->n > 0) {
		size_t total = 0;
		for (size_t i = 0; i < keys->n; i++)
			if (keys->kids[i].type == JSON_STRING)
				total += keys->kids[i].len + 1;
		autofree char *all = malloc(total + 1);
		char ssh[PATH_MAX];
		if (all && path_fmt(ssh, sizeof(ssh), "%s/ssh", config) == 0 && (mkdir(ssh, 0755) == 0 || errno == EEXIST)) {
			size_t n = 0;
			for (size_t i = 0; i < keys->n; i++) {
				const struct json *k = &keys->kids[i];
				if (k->type != JSON_STRING)
					continue;
				memcpy(all + n, k->str, k->len);
				n += k->len;
				if (n == 0 || all[n - 1] != '\n')
					all[n++] = '\n';
			}
			keep(config, "ssh/authorized_keys", all, n, 0600);
		}
	}
	json_free(&root);
}

int seed_read(const char *dir, enum seed_kind kind, const char *config, struct found *f, err_t *e)
{
	if (kind == SEED_CONFIGDRIVE) {
		int r = read_optional(dir, "openstack/latest/user_data", &f->userdata, &f->len, e);
		if (r < 0)
			return -1;
		/* A config drive without user data still names the machine. */
		configdrive_extras(dir, config);
		if (r == 0)
			verbose("config drive: no openstack/latest/user_data");
		return r;
	}
	/* user-data is cloud-init's name; config is the older one LinuxKit
	 * still reads when user-data is missing. */
	static const char *const names[] = { "user-data", "config" };
	int r = 0;
	for (size_t i = 0; i < ARRAY_LEN(names) && r == 0; i++)
		if ((r = read_optional(dir, names[i], &f->userdata, &f->len, e)) < 0)
			return -1;
	if (r == 0) {
		verbose("no user-data or config file");
		return 0;
	}
	autofree char *meta = NULL;
	size_t mlen;
	err_t me;
	int m = read_optional(dir, "meta-data", &meta, &mlen, &me);
	if (m > 0)
		keep(config, "meta-data", meta, mlen, 0644);
	else if (m < 0)
		say_error(&me);
	return 1;
}

int cdrom_try(const struct candidate *c, const char *tmpdir, const char *config, struct found *f, err_t *e)
{
	char dir[PATH_MAX];
	if (path_fmt(dir, sizeof(dir), "%s/metadata.XXXXXX", tmpdir) < 0)
		return err_sys(e, "%s", tmpdir);
	if (!mkdtemp(dir))
		return err_sys(e, "make a mount point in %s", tmpdir);
	int r;
	if (mount(c->node, dir, c->fstype, MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0) {
		/* An unlabelled CD-ROM may hold no disc, or no ISO 9660: not ours. */
		if (c->kind == SEED_MAYBE) {
			verbose("%s: cannot mount as %s: %s", c->node, c->fstype, strerror(errno));
			r = 0;
		} else {
			r = err_sys(e, "mount %s (%s labelled \"%s\") read-only", c->node, c->fstype, c->label);
		}
		rmdir(dir);
		return r;
	}
	r = seed_read(dir, c->kind == SEED_CONFIGDRIVE ? SEED_CONFIGDRIVE : SEED_NOCLOUD, config, f, e);
	if (umount2(dir, MNT_DETACH) < 0)
		say("warning: unmount %s: %s", dir, strerror(errno));
	rmdir(dir);
	if (r > 0)
		snprintf(f->provider, sizeof(f->provider), "CDROM %s", c->node);
	return r;
}

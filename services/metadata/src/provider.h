/* Where user data comes from. Each provider returns 1 with the data in a
 * struct found, 0 when it has none to give (said why with verbose()), or
 * -1 with e set when it should have and failed. Paths of the machine
 * (sysfs, /dev) are parameters so the tests can give a made-up tree. */
#ifndef KEEL_METADATA_PROVIDER_H
#define KEEL_METADATA_PROVIDER_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include "common/util.h"

struct found {
	/* As /run/config/provider says it, in LinuxKit's words where it has
	 * them: "CDROM /dev/sr0". */
	char provider[PATH_MAX + 32];
	char *userdata;
	size_t len;
};

#define USERDATA_MAX (64u << 20)

/* QEMU's fw_cfg: SYSFS/firmware/qemu_fw_cfg/by_name/NAME/raw. */
#define FWCFG_DEFAULT_NAME "opt/keel/userdata"
int fwcfg_read(const char *sysfs, const char *name, struct found *f, err_t *e);

/* A file of the image (LinuxKit's "file=PATH"). */
int file_read(const char *path, struct found *f, err_t *e);

/* What a CD-ROM or a small disk holds. */
enum seed_kind {
	SEED_NOCLOUD,     /* labelled cidata: /user-data (or /config), /meta-data */
	SEED_CONFIGDRIVE, /* OpenStack's, labelled config-2: /openstack/latest/user_data */
	SEED_MAYBE,       /* a CD-ROM with no such label: tried as NoCloud, as LinuxKit does */
};

struct candidate {
	char node[PATH_MAX]; /* DEVDIR/NAME */
	char name[64];
	enum seed_kind kind;
	const char *fstype; /* "iso9660" or "vfat"; iso9660 for an unreadable CD */
	char label[65];
};

/* The devices to look at, in order: those labelled cidata or config-2
 * (ISO 9660 or FAT, any block device but loop and ram), then every CD-ROM
 * (sr*) not already listed. Free *out with free(). */
int cdrom_candidates(const char *sysfs, const char *devdir, struct candidate **out, size_t *n, err_t *e);

/* Reads a mounted seed at dir. Extras a config drive carries (hostname,
 * public keys) are written under config, as LinuxKit's OpenStack provider
 * does; a NoCloud meta-data file is kept as config/meta-data. */
int seed_read(const char *dir, enum seed_kind kind, const char *config, struct found *f, err_t *e);

/* Mounts c read-only on a fresh folder under tmpdir, reads it, unmounts. */
int cdrom_try(const struct candidate *c, const char *tmpdir, const char *config, struct found *f, err_t *e);

#endif

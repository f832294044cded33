#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "provider.h"

int fwcfg_read(const char *sysfs, const char *name, struct found *f, err_t *e)
{
	char dir[PATH_MAX], raw[PATH_MAX];
	if (path_fmt(dir, sizeof(dir), "%s/firmware/qemu_fw_cfg", sysfs) < 0 ||
	    path_fmt(raw, sizeof(raw), "%s/by_name/%s/raw", dir, name) < 0)
		return err_sys(e, "fw_cfg %s", name);
	struct stat st;
	if (stat(dir, &st) < 0) {
		verbose("fw_cfg: no %s (not QEMU, or no qemu_fw_cfg module)", dir);
		return 0;
	}
	if (stat(raw, &st) < 0) {
		verbose("fw_cfg: no item %s", name);
		return 0;
	}
	if (read_file(raw, USERDATA_MAX, &f->userdata, &f->len, e) < 0)
		return err_prefix(e, "fw_cfg");
	snprintf(f->provider, sizeof(f->provider), "fw_cfg %s", name);
	return 1;
}

int file_read(const char *path, struct found *f, err_t *e)
{
	struct stat st;
	if (stat(path, &st) < 0) {
		verbose("file: no %s", path);
		return 0;
	}
	if (read_file(path, USERDATA_MAX, &f->userdata, &f->len, e) < 0)
		return -1;
	snprintf(f->provider, sizeof(f->provider), "%s", path);
	return 1;
}

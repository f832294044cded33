/* metadata: finds the machine's user data and writes it to /run/config,
 * as LinuxKit's metadata package does:
 *
 *   metadata [-v] [PROVIDER...]
 *
 * Providers, tried in order until one has user data (default: fwcfg cdrom):
 *   fwcfg[=NAME]  QEMU's fw_cfg item NAME (default opt/keel/userdata)
 *   cdrom         a disk labelled cidata (NoCloud) or config-2 (OpenStack
 *                 config drive), ISO 9660 or FAT, then every CD-ROM
 *   file=PATH     a file in the image
 * LinuxKit's cloud providers (aws, gcp, ...) are recognised and skipped.
 *
 * What it writes: /run/config/provider (who gave the data),
 * /run/config/userdata (the bytes), and, when those are LinuxKit's JSON
 * format, the files and folders they describe (see userdata.h); a
 * /run/config/hostname, from there or from a config drive, sets the
 * hostname.
 *
 * Exit: 0 (also when no provider had user data), 1 when /run/config
 * cannot be written, 2 bad usage. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "common/flags.h"
#include "kmod.h"
#include "provider.h"
#include "userdata.h"

#define CONFIG_DIR "/run/config"
#define SYSFS "/sys"
#define DEVDIR "/dev"
#define TMPDIR "/tmp"

static const char *const cloud_providers[] = {
	"aws", "gcp", "hetzner", "openstack", "scaleway", "vultr", "digitalocean", "equinixmetal", "metaldata", "vmware",
};

static bool verbose_flag;
static const struct flag flags[] = {
	{ "v", "Verbose execution", NULL, &verbose_flag },
};

static bool known_provider(const char *p)
{
	if (strcmp(p, "cdrom") == 0 || strcmp(p, "fwcfg") == 0 || strncmp(p, "fwcfg=", 6) == 0 ||
	    strncmp(p, "file=", 5) == 0)
		return true;
	for (size_t i = 0; i < ARRAY_LEN(cloud_providers); i++)
		if (strcmp(p, cloud_providers[i]) == 0)
			return true;
	return false;
}

static int try_cdroms(struct found *f)
{
	err_t e;
	autofree struct candidate *cands = NULL;
	size_t n;
	if (cdrom_candidates(SYSFS, DEVDIR, &cands, &n, &e) < 0) {
		say_error(&e);
		return 0;
	}
	if (n == 0)
		say("cdrom: no CD-ROM and no disk labelled cidata or config-2");
	for (size_t i = 0; i < n; i++) {
		const struct candidate *c = &cands[i];
		if (c->kind == SEED_MAYBE)
			say("cdrom: trying %s", c->node);
		else
			say("cdrom: trying %s (%s labelled \"%s\")", c->node, c->fstype, c->label);
		if (kmod_ensure_fs(c->fstype, &e) < 0) {
			say_error(&e);
			continue;
		}
		int r = cdrom_try(c, TMPDIR, CONFIG_DIR, f, &e);
		if (r < 0)
			say_error(&e);
		if (r > 0)
			return 1;
		if (r == 0)
			say("cdrom: %s holds no user data", c->node);
	}
	return 0;
}

/* The kernel makes /sys/firmware/qemu_fw_cfg only with its module loaded;
 * init loads it when the kernel has it (by its ACPI alias), but not every
 * image's module list keeps it, so try once here. */
static void fwcfg_module(void)
{
	struct stat st;
	if (stat(SYSFS "/firmware/qemu_fw_cfg", &st) == 0)
		return;
	char dir[512];
	err_t e;
	if (kmod_dir(dir, sizeof(dir), &e) < 0 || kmod_load(dir, "qemu_fw_cfg", &e) < 0)
		verbose("fw_cfg: %s", e.msg);
	else
		say("loaded kernel module qemu_fw_cfg");
}

static int try_provider(const char *p, struct found *f)
{
	err_t e;
	int r = 0;
	if (strcmp(p, "cdrom") == 0)
		return try_cdroms(f);
	if (strcmp(p, "fwcfg") == 0 || strncmp(p, "fwcfg=", 6) == 0) {
		const char *name = p[5] == '=' ? p + 6 : FWCFG_DEFAULT_NAME;
		fwcfg_module();
		r = fwcfg_read(SYSFS, name, f, &e);
		if (r == 0)
			say("fw_cfg: no item %s", name);
	} else if (strncmp(p, "file=", 5) == 0) {
		r = file_read(p + 5, f, &e);
		if (r == 0)
			say("file: no %s", p + 5);
	} else {
		say("%s: keel's metadata has no %s provider; skipped (see services/metadata/README.md)", p, p);
	}
	if (r < 0) {
		say_error(&e);
		return 0;
	}
	return r;
}

/* LinuxKit sets the hostname here, early, rather than in a container of
 * its own. */
static void set_hostname(void)
{
	char name[256];
	err_t e;
	struct stat st;
	if (stat(CONFIG_DIR "/hostname", &st) < 0)
		return;
	if (read_line(CONFIG_DIR "/hostname", name, sizeof(name), &e) < 0) {
		say_error(&e);
		return;
	}
	size_t n = strlen(name);
	while (n > 0 && (name[n - 1] == ' ' || name[n - 1] == '\t' || name[n - 1] == '\r'))
		name[--n] = '\0';
	if (n == 0)
		return;
	if (sethostname(name, n) < 0)
		say("error: set the hostname to %s: %s", name, strerror(errno));
	else
		say("hostname set to %s", name);
}

int main(int argc, char *argv[])
{
	err_t e;

	/* Flags as LinuxKit's Go flag package reads them; the rest are providers. */
	int first = flags_parse(flags, ARRAY_LEN(flags), argc, argv, &e);
	if (first == FLAGS_HELP) {
		flags_usage(stdout, "metadata [-v] [fwcfg[=NAME]|cdrom|file=PATH ...]", flags, ARRAY_LEN(flags));
		return 0;
	}
	if (first == FLAGS_ERROR) {
		fprintf(stderr, "%s\n", e.msg);
		flags_usage(stderr, "metadata [-v] [fwcfg[=NAME]|cdrom|file=PATH ...]", flags, ARRAY_LEN(flags));
		return 2;
	}
	log_set_verbose(verbose_flag);
	static char *const defaults[] = { "fwcfg", "cdrom" };
	char *const *providers = first < argc ? argv + first : defaults;
	size_t nproviders = first < argc ? (size_t)(argc - first) : ARRAY_LEN(defaults);
	for (size_t i = 0; i < nproviders; i++) {
		if (!known_provider(providers[i])) {
			say("error: unknown provider \"%s\" (keel's metadata knows fwcfg, cdrom and file=PATH)", providers[i]);
			return 2;
		}
	}

	/* /run/config exists even when there is no user data, as in LinuxKit. */
	if (mkdir_p(CONFIG_DIR, 0755, &e) < 0) {
		say_error(&e);
		return 1;
	}

	/* The first provider with user data wins. */
	struct found f = { 0 };
	bool found = false;
	for (size_t i = 0; i < nproviders && !found; i++)
		found = try_provider(providers[i], &f) > 0;
	if (!found) {
		say("no user data found; nothing written to %s", CONFIG_DIR);
		set_hostname();
		return 0;
	}
	say("user data from %s (%zu bytes)", f.provider, f.len);

	/* Who gave it, the bytes, and the files LinuxKit's JSON describes. */
	if (write_file_mode(CONFIG_DIR "/provider", f.provider, strlen(f.provider), 0644, &e) < 0)
		say_error(&e);
	struct userdata_result r;
	int rc = userdata_process(CONFIG_DIR, f.userdata, f.len, &r, &e);
	free(f.userdata);
	if (rc < 0) {
		say_error(&e);
		return 1;
	}
	if (r.json)
		say("user data is LinuxKit's JSON format: %zu files, %zu folders written, %zu entries skipped", r.files, r.dirs,
		    r.skipped);

	set_hostname();
	return 0;
}

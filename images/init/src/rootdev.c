#include "rootdev.h"

#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/utsname.h>
#include <sys/vfs.h>
#include <time.h>

#include "log.h"
#include "modules.h"
#include "system.h"

#ifndef MODULE_INIT_COMPRESSED_FILE
#define MODULE_INIT_COMPRESSED_FILE 4
#endif

#define LOWER "/.keel-lower"     /* the read-only root image */
#define RW "/.keel-rw"           /* tmpfs: upper/ and work/ of the overlay */
#define NEWROOT "/.keel-newroot" /* the overlay, until it moves onto / */
#define WAIT_DEFAULT_S 10
#define POLL_MS 100
#define MAX_DEPTH 128

#define SQUASHFS_MAGIC_STR "hsqs"
#define EROFS_SB_OFFSET 1024
#define EROFS_MAGIC 0xE0F5E1E2u
#define ISO_VD_OFFSET 32768
#define ISO_VD_SIZE 2048

/* ---- the pure parts ---- */

const char *rootfs_type_name(enum rootfs_type t)
{
	switch (t) {
	case ROOTFS_SQUASHFS:
		return "squashfs";
	case ROOTFS_EROFS:
		return "erofs";
	case ROOTFS_ISO9660:
		return "iso9660";
	default:
		return "unknown";
	}
}

static uint32_t le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Copies a fixed-size field, stopping at a NUL, dropping trailing spaces
 * (ISO 9660 pads with them). */
static void field_str(char *out, size_t size, const unsigned char *f, size_t n)
{
	size_t k = 0;
	while (k < n && f[k])
		k++;
	while (k > 0 && f[k - 1] == ' ')
		k--;
	if (k >= size)
		k = size - 1;
	memcpy(out, f, k);
	out[k] = '\0';
}

/* An ISO 9660 date ("YYYYMMDDhhmmsscc" + zone) as blkid shows it for the
 * UUID: "YYYY-MM-DD-hh-mm-ss-cc". False when unset (all zeros). */
static bool iso_date(char *out, const unsigned char *d)
{
	bool set = false;
	for (int i = 0; i < 16; i++) {
		if (!isdigit(d[i]))
			return false;
		set |= d[i] != '0';
	}
	if (!set)
		return false;
	snprintf(out, 40, "%.4s-%.2s-%.2s-%.2s-%.2s-%.2s-%.2s", d, d + 4, d + 6, d + 8, d + 10, d + 12,
		 d + 14);
	return true;
}

static void probe_iso(const unsigned char *buf, size_t len, struct root_probe *p)
{
	p->type = ROOTFS_ISO9660;
	for (size_t off = ISO_VD_OFFSET; off + ISO_VD_SIZE <= len; off += ISO_VD_SIZE) {
		const unsigned char *vd = buf + off;
		if (memcmp(vd + 1, "CD001", 5) != 0 || vd[0] == 255)
			break;
		if (vd[0] != 1)
			continue; /* a boot record or a supplementary descriptor */
		field_str(p->label, sizeof(p->label), vd + 40, 32);
		/* blkid (and GRUB) take the modification date, else the creation date. */
		if (!iso_date(p->uuid, vd + 830))
			iso_date(p->uuid, vd + 813);
		break;
	}
}

static void probe_erofs(const unsigned char *sb, struct root_probe *p)
{
	static const unsigned char zero[16];
	p->type = ROOTFS_EROFS;
	const unsigned char *u = sb + 48;
	if (memcmp(u, zero, 16) != 0)
		snprintf(p->uuid, sizeof(p->uuid),
			 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", u[0], u[1], u[2],
			 u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13], u[14], u[15]);
	field_str(p->label, sizeof(p->label), sb + 64, 16);
}

void rootdev_probe(const unsigned char *buf, size_t len, struct root_probe *p)
{
	memset(p, 0, sizeof(*p));
	/* squashfs 4.0, the only version Linux mounts: s_major at 28. */
	if (len >= 32 && memcmp(buf, SQUASHFS_MAGIC_STR, 4) == 0 && buf[28] == 4 && buf[29] == 0)
		p->type = ROOTFS_SQUASHFS;
	else if (len >= EROFS_SB_OFFSET + 128 && le32(buf + EROFS_SB_OFFSET) == EROFS_MAGIC)
		probe_erofs(buf + EROFS_SB_OFFSET, p);
	else if (len >= ISO_VD_OFFSET + ISO_VD_SIZE && memcmp(buf + ISO_VD_OFFSET + 1, "CD001", 5) == 0)
		probe_iso(buf, len, p);
}

/* The marker says "iso"; the kernel calls it iso9660, its module isofs. */
static int set_type(struct root_want *w, const char *name, err_t *e)
{
	static const struct {
		const char *name;
		enum rootfs_type type;
	} known[] = {
		{ "squashfs", ROOTFS_SQUASHFS }, { "erofs", ROOTFS_EROFS },  { "iso9660", ROOTFS_ISO9660 },
		{ "iso", ROOTFS_ISO9660 },       { "isofs", ROOTFS_ISO9660 }, { "auto", ROOTFS_UNKNOWN },
	};
	for (size_t i = 0; i < ARRAY_LEN(known); i++) {
		if (strcmp(name, known[i].name) == 0) {
			w->type = known[i].type;
			snprintf(w->fstype, sizeof(w->fstype), "%s",
				 w->type == ROOTFS_UNKNOWN ? "" : rootfs_type_name(w->type));
			return 0;
		}
	}
	if (!*name || strlen(name) >= sizeof(w->fstype) || strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_.") != strlen(name))
		return err_set(e, "\"%s\" is not a file system type", name);
	w->type = ROOTFS_OTHER;
	snprintf(w->fstype, sizeof(w->fstype), "%s", name);
	return 0;
}

static int set_root(struct root_want *w, const char *v, err_t *e)
{
	static const struct {
		const char *prefix;
		enum root_by by;
	} forms[] = {
		{ "LABEL=", ROOT_LABEL },
		{ "UUID=", ROOT_UUID },
		{ "/dev/disk/by-label/", ROOT_LABEL },
		{ "/dev/disk/by-uuid/", ROOT_UUID },
		{ "/dev/", ROOT_NAME },
	};
	for (size_t i = 0; i < ARRAY_LEN(forms); i++) {
		size_t n = strlen(forms[i].prefix);
		if (strncmp(v, forms[i].prefix, n) != 0)
			continue;
		const char *rest = v + n;
		if (!*rest || strchr(rest, '/') || strlen(rest) >= sizeof(w->match))
			break;
		w->by = forms[i].by;
		snprintf(w->match, sizeof(w->match), "%s", rest);
		return 0;
	}
	return err_set(e, "root=%s: not understood (use /dev/NAME, LABEL=NAME or UUID=ID)", v);
}

int rootdev_parse(const char *marker, const char *cmdline, struct root_want *w, err_t *e)
{
	char value[160];
	bool wanted = false;

	memset(w, 0, sizeof(*w));
	w->wait_s = WAIT_DEFAULT_S;
	if (marker) {
		size_t start = strspn(marker, " \t\n"), n = strcspn(marker + start, " \t\n");
		snprintf(value, sizeof(value), "%.*s", (int)(n < sizeof(value) ? n : sizeof(value) - 1),
			 marker + start);
		w->from_marker = wanted = true;
		if (set_type(w, value, e) < 0 || w->type == ROOTFS_UNKNOWN || w->type == ROOTFS_OTHER)
			return err_set(e, "%s: \"%s\" is not squashfs, erofs or iso", ROOTDEV_MARKER, value);
	}
	if (!cmdline)
		cmdline = "";
	if (cmdline_value(cmdline, "rootfstype", value, sizeof(value)) == 0 && set_type(w, value, e) < 0)
		return err_prefix(e, "rootfstype=%s", value);
	if (cmdline_value(cmdline, "root", value, sizeof(value)) == 0) {
		if (set_root(w, value, e) < 0)
			return -1;
		wanted = true;
	}
	if (cmdline_value(cmdline, "keel.rootwait", value, sizeof(value)) == 0) {
		char *end;
		long s = strtol(value, &end, 10);
		if (end == value || *end || s < 0 || s > 3600)
			return err_set(e, "keel.rootwait=%s: not a number of seconds (0 to 3600)", value);
		w->wait_s = (int)s;
	}
	if (!wanted)
		return 0;
	/* Only the three probed types have a label or UUID init can read. */
	if (w->type == ROOTFS_OTHER && w->by != ROOT_NAME)
		return err_set(e, "rootfstype=%s needs root=/dev/NAME", w->fstype);
	return 1;
}

bool rootdev_matches(const struct root_want *w, const char *name, const struct root_probe *p)
{
	if (w->by == ROOT_NAME && strcmp(name, w->match) != 0)
		return false;
	if (w->type == ROOTFS_OTHER)
		return w->by == ROOT_NAME;
	if (p->type == ROOTFS_UNKNOWN || (w->type != ROOTFS_UNKNOWN && p->type != w->type))
		return false;
	switch (w->by) {
	case ROOT_LABEL:
		return strcmp(p->label, w->match) == 0;
	case ROOT_UUID:
		return strcasecmp(p->uuid, w->match) == 0;
	default:
		return true;
	}
}

static int delete_in(int dirfd, dev_t dev, int depth, err_t *e)
{
	if (depth > MAX_DEPTH)
		return err_set(e, "nested too deeply");
	int fd = dup(dirfd);
	DIR *d = fd < 0 ? NULL : fdopendir(fd);
	if (!d) {
		if (fd >= 0)
			close(fd);
		return err_sys(e, "open a directory");
	}
	int r = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		const char *name = de->d_name;
		struct stat st;
		if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
			continue;
		/* A mount point shows the mounted root's device: left alone. */
		if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 || st.st_dev != dev)
			continue;
		if (S_ISDIR(st.st_mode)) {
			autoclose int sub = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sub < 0 || delete_in(sub, dev, depth + 1, e) < 0) {
				if (sub < 0 && !r)
					err_sys(e, "open %s", name);
				r = -1;
				continue;
			}
		}
		/* Carry on past failures: whatever goes is memory given back. */
		if (unlinkat(dirfd, name, S_ISDIR(st.st_mode) ? AT_REMOVEDIR : 0) < 0 && !r)
			r = err_sys(e, "delete %s", name);
	}
	closedir(d);
	return r;
}

int rootdev_delete_tree(int dirfd, dev_t dev, err_t *e)
{
	return delete_in(dirfd, dev, 0, e);
}

/* ---- PID 1: finding, mounting and switching to the root device ---- */

/* What stage one mounted, undone in reverse when it gives up. */
static const char *mounted[8];
static size_t nmounted;

static int mount_at(const char *src, const char *target, const char *type, unsigned long flags, const char *data,
		    err_t *e)
{
	if (mkdir(target, 0755) < 0 && errno != EEXIST)
		return err_sys(e, "mkdir %s", target);
	if (mount(src, target, type, flags, data) < 0)
		return err_sys(e, "mount %s %s on %s", type, src, target);
	if (nmounted < ARRAY_LEN(mounted))
		mounted[nmounted++] = target;
	return 0;
}

static void unmount_stage_one(void)
{
	while (nmounted > 0)
		if (umount2(mounted[--nmounted], MNT_DETACH) < 0)
			log_msg("root: unmount %s: %s", mounted[nmounted], strerror(errno));
}

/* Loads the named modules (and what they depend on) that the image has;
 * names it does not have are skipped, since they may be built in. */
static void load_named(const char *const *names, size_t n)
{
	struct utsname u;
	char dir[sizeof(u.release) + 16], path[sizeof(dir) + 32];
	struct moddb db = { 0 };
	const char **order = NULL;
	size_t count = 0;
	char *text;
	err_t e;

	uname(&u);
	snprintf(dir, sizeof(dir), "/lib/modules/%s", u.release);
	snprintf(path, sizeof(path), "%s/modules.dep", dir);
	if (read_file(path, 64u << 20, &text, NULL, &e) < 0 || moddb_parse_dep(&db, text, &e) < 0) {
		log_msg("root: modules: %s", e.msg);
		moddb_free(&db);
		return;
	}
	snprintf(path, sizeof(path), "%s/modules.builtin", dir);
	if (read_file(path, 16u << 20, &text, NULL, &e) == 0)
		moddb_parse_builtin(&db, text, &e);
	if (modules_plan(&db, names, n, &order, &count, NULL, &e) < 0)
		log_msg("root: modules: %s", e.msg);
	for (size_t i = 0; i < count; i++) {
		char full[4096];
		if (path_fmt(full, sizeof(full), "%s/%s", dir, order[i]) < 0)
			continue;
		if (module_load_file(full) < 0)
			log_msg("root: module %s: %s", order[i], strerror(errno));
	}
	free(order);
	moddb_free(&db);
}

static void load_root_modules(const struct root_want *w)
{
	const char *names[8];
	size_t n = 0;
	if (w->type == ROOTFS_UNKNOWN || w->type == ROOTFS_SQUASHFS)
		names[n++] = "squashfs";
	if (w->type == ROOTFS_UNKNOWN || w->type == ROOTFS_EROFS)
		names[n++] = "erofs";
	if (w->type == ROOTFS_UNKNOWN || w->type == ROOTFS_ISO9660)
		names[n++] = "isofs";
	if (w->type == ROOTFS_OTHER)
		names[n++] = w->fstype;
	/* Disks and CD-ROMs behind a SCSI or ATA host can show up after
	 * coldplug has finished (the scan is asynchronous); with their
	 * drivers already there they still get a node. */
	names[n++] = "sd_mod";
	names[n++] = "sr_mod";
	names[n++] = "overlay";
	load_named(names, n);
	modules_load_all();
}

static void describe_want(const struct root_want *w, char *out, size_t size)
{
	const char *type = w->type == ROOTFS_UNKNOWN ? "squashfs, erofs or iso9660" : w->fstype;
	switch (w->by) {
	case ROOT_NAME:
		snprintf(out, size, "%s on /dev/%s", type, w->match);
		break;
	case ROOT_LABEL:
		snprintf(out, size, "%s labelled %s", type, w->match);
		break;
	case ROOT_UUID:
		snprintf(out, size, "%s with UUID %s", type, w->match);
		break;
	default:
		snprintf(out, size, "%s on any disk", type);
	}
}

/* Makes /dev/NAME a block device node, for when devtmpfs did not. */
static int ensure_node(const char *name, char *node, size_t size, err_t *e)
{
	char path[PATH_MAX], *text;
	unsigned maj, min = 0;
	struct stat st;
	if (path_fmt(node, size, "/dev/%s", name) < 0)
		return err_sys(e, "/dev/%s", name);
	if (stat(node, &st) == 0 && S_ISBLK(st.st_mode))
		return 0;
	if (path_fmt(path, sizeof(path), "/sys/class/block/%s/dev", name) < 0 ||
	    read_file(path, 64, &text, NULL, e) < 0)
		return -1;
	char *end;
	maj = (unsigned)strtoul(text, &end, 10);
	bool ok = *end == ':';
	if (ok)
		min = (unsigned)strtoul(end + 1, &end, 10);
	ok = ok && (*end == '\n' || !*end);
	free(text);
	if (!ok)
		return err_set(e, "%s: not MAJOR:MINOR", path);
	unlink(node);
	if (mknod(node, S_IFBLK | 0600, makedev(maj, min)) < 0)
		return err_sys(e, "mknod %s", node);
	return 0;
}

struct found {
	char name[64];
	char node[PATH_MAX];
	unsigned long long bytes;
	struct root_probe probe;
};

static void append(char *list, size_t size, const char *fmt, const char *name, const char *what)
{
	size_t len = strlen(list);
	snprintf(list + len, size - len, fmt, len ? ", " : "", name, what);
}

/* One look at every block device; fills *f with the first that matches.
 * seen lists the others, for the error message. */
static bool scan_once(const struct root_want *w, unsigned char *buf, struct found *f, char *seen, size_t seen_size)
{
	char **names, path[PATH_MAX], *text;
	size_t n;
	bool hit = false;
	err_t e;

	seen[0] = '\0';
	if (list_subdirs("/sys/class/block", &names, &n, &e) < 0) {
		snprintf(seen, seen_size, "%s", e.msg);
		return false;
	}
	for (size_t i = 0; i < n && !hit; i++) {
		unsigned long long sectors = 0;
		char what[64];
		if (path_fmt(path, sizeof(path), "/sys/class/block/%s/size", names[i]) < 0 ||
		    read_file(path, 64, &text, NULL, &e) < 0)
			continue;
		sectors = strtoull(text, NULL, 10);
		free(text);
		if (sectors == 0)
			continue; /* unused loop and ram devices, an empty drive */
		memset(f, 0, sizeof(*f));
		snprintf(f->name, sizeof(f->name), "%s", names[i]);
		f->bytes = sectors * 512;
		if (w->by == ROOT_NAME && strcmp(names[i], w->match) != 0) {
			append(seen, seen_size, "%s%s (%s)", names[i], "not probed");
			continue;
		}
		if (ensure_node(names[i], f->node, sizeof(f->node), &e) < 0) {
			append(seen, seen_size, "%s%s (%s)", names[i], e.msg);
			continue;
		}
		if (w->type != ROOTFS_OTHER) {
			autoclose int fd = open(f->node, O_RDONLY | O_CLOEXEC);
			ssize_t r = fd < 0 ? -1 : pread(fd, buf, ROOTDEV_PROBE_BYTES, 0);
			if (r < 0) {
				append(seen, seen_size, "%s%s (%s)", names[i], strerror(errno));
				continue;
			}
			rootdev_probe(buf, (size_t)r, &f->probe);
		}
		hit = rootdev_matches(w, names[i], &f->probe);
		snprintf(what, sizeof(what), "%s%s%s, %llu MiB", rootfs_type_name(f->probe.type),
			 f->probe.label[0] ? " " : "", f->probe.label, f->bytes >> 20);
		append(seen, seen_size, "%s%s (%s)", names[i], what);
	}
	free_names(names, n);
	return hit;
}

/* Waits for the device, loading the modules again now and then: a driver
 * can reveal devices after coldplug has finished. */
static int find_root(const struct root_want *w, struct found *f, err_t *e)
{
	static unsigned char buf[ROOTDEV_PROBE_BYTES];
	char seen[1024], want[256];
	uint64_t start = now_ms(), deadline = start + (uint64_t)w->wait_s * 1000;
	int reloads = 0;

	describe_want(w, want, sizeof(want));
	for (;;) {
		if (scan_once(w, buf, f, seen, sizeof(seen)))
			return 0;
		uint64_t t = now_ms();
		if (t >= deadline)
			break;
		if ((reloads == 0 && t - start >= 1000) || (reloads == 1 && t - start >= 4000)) {
			reloads++;
			modules_load_all();
			continue;
		}
		nanosleep(&(struct timespec){ .tv_nsec = POLL_MS * 1000000L }, NULL);
	}
	return err_set(e, "no root device found in %d s: looked for %s; block devices seen: %s", w->wait_s, want,
		       seen[0] ? seen : "none");
}

/* The switch_root(8) dance: the initramfs is emptied (it cannot be
 * unmounted), the new root moves over /, chroot makes it ours. */
static int switch_to(const char *newroot, err_t *e)
{
	struct stat st;
	autoclose int old = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (old < 0 || fstat(old, &st) < 0)
		return err_sys(e, "open /");
	if (chdir(newroot) < 0)
		return err_sys(e, "chdir %s", newroot);
	err_t de;
	if (rootdev_delete_tree(old, st.st_dev, &de) < 0)
		log_msg("root: emptying the initramfs: %s", de.msg);
	if (mount(".", "/", NULL, MS_MOVE, NULL) < 0 || chroot(".") < 0 || chdir("/") < 0)
		return err_sys(e, "move %s onto /", newroot);
	return 0;
}

static int mount_root(const struct root_want *w, const struct found *f, err_t *e)
{
	const char *type = w->type == ROOTFS_OTHER ? w->fstype : rootfs_type_name(f->probe.type);
	if (mount_at(f->node, LOWER, type, MS_RDONLY, NULL, e) < 0 ||
	    mount_at("tmpfs", RW, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755", e) < 0)
		return -1;
	if ((mkdir(RW "/upper", 0755) < 0 && errno != EEXIST) || (mkdir(RW "/work", 0755) < 0 && errno != EEXIST))
		return err_sys(e, "mkdir in %s", RW);
	return mount_at("overlay", NEWROOT, "overlay", 0,
			"lowerdir=" LOWER ",upperdir=" RW "/upper,workdir=" RW "/work", e);
}

static _Noreturn void give_up(const char *why)
{
	char msg[700];
	snprintf(msg, sizeof(msg), "root: %s", why);
	fatal(msg);
}

void rootdev_boot(char **argv)
{
	struct statfs sfs;
	struct root_want w;
	struct found f;
	char *marker = NULL, *cmdline = NULL;
	err_t e;

	if (statfs("/", &sfs) < 0 || (sfs.f_type != RAMFS_MAGIC && sfs.f_type != TMPFS_MAGIC))
		return;
	if (access(ROOTDEV_MARKER, F_OK) == 0 && read_file(ROOTDEV_MARKER, 256, &marker, NULL, &e) < 0)
		give_up(e.msg);
	if (mount_at("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, &e) < 0 ||
	    read_file("/proc/cmdline", 65536, &cmdline, NULL, &e) < 0)
		log_msg("root: %s", e.msg);
	int r = rootdev_parse(marker, cmdline, &w, &e);
	free(cmdline);
	free(marker);
	if (r < 0 && w.from_marker)
		give_up(e.msg);
	if (r <= 0) {
		if (r < 0)
			log_msg("root: %s; staying on the initramfs", e.msg);
		unmount_stage_one();
		return;
	}

	uint64_t start = now_ms();
	if (mount_at("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, &e) < 0 ||
	    mount_at("devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755", &e) < 0)
		log_msg("root: %s", e.msg);
	char want[256];
	describe_want(&w, want, sizeof(want));
	log_msg("root: looking for %s", want);
	load_root_modules(&w);
	if (find_root(&w, &f, &e) < 0 || mount_root(&w, &f, &e) < 0) {
		if (w.from_marker)
			give_up(e.msg);
		log_msg("root: %s; staying on the initramfs", e.msg);
		unmount_stage_one();
		return;
	}
	log_msg("root: %s on %s (%llu MiB) in %llu ms, read-only under a tmpfs overlay",
		w.type == ROOTFS_OTHER ? w.fstype : rootfs_type_name(f.probe.type), f.node, f.bytes >> 20,
		(unsigned long long)(now_ms() - start));

	/* The second stage mounts /proc, /sys and /dev for itself, as on any
	 * root. Everything here is on the initramfs, about to be deleted. */
	umount2("/dev", MNT_DETACH);
	umount2("/sys", MNT_DETACH);
	umount2("/proc", MNT_DETACH);
	if (switch_to(NEWROOT, &e) < 0)
		give_up(e.msg);
	/* A fresh process image from the root image's own /init; it finds
	 * / is no initramfs and boots the system. */
	log_msg("root: switched; starting /init from it");
	execv("/init", argv);
	err_sys(&e, "exec /init on the new root");
	give_up(e.msg);
}

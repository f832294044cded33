/* mountie: mounts a data disk, as LinuxKit's mountie does, after waiting
 * for it to appear and checking it:
 *
 *   mountie [-label L | -uuid U | -device D] [-timeout SECONDS] [DEVICE] MOUNTPOINT
 *
 * Without a device, label or UUID it takes the first partition of a real
 * disk that holds a file system and is not mounted. An ext file system is
 * checked with "e2fsck -p" first (it replays the journal and repairs what
 * is safe to repair after a power cut); one that needs more is not
 * mounted.
 *
 * Where the mount is made: as LinuxKit's, in mountie's own mount
 * namespace, under /var bound rshared with rootfsPropagation shared (the
 * image's config): keel's init makes / shared, so the mount reaches the host
 * and every service that binds /var or a folder under it.
 *
 * Exit: 0 mounted (or already mounted there), 1 failed, 2 bad usage. */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>

#include "common/blockdev.h"
#include "common/probe.h"
#include "options.h"
#include "pick.h"

#define SYSFS "/sys"
#define MOUNTINFO "/proc/self/mountinfo"
#define POLL_MS 200

struct target {
	char node[PATH_MAX];
	unsigned major, minor;
	struct fs_info fs;
};

static unsigned long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long long)ts.tv_sec * 1000 + (unsigned long long)ts.tv_nsec / 1000000;
}

/* The file system at the start of an open device; false when unreadable. */
static bool probe_fd(int fd, struct fs_info *fs)
{
	static unsigned char buf[PROBE_BYTES];
	size_t got = 0;
	while (got < sizeof(buf)) {
		ssize_t n = pread(fd, buf + got, sizeof(buf) - got, (off_t)got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	if (got < 2048)
		return false;
	probe_fs(buf, got, fs);
	return true;
}

/* One look at the named device: 1 found, 0 not there yet, -1 never will be. */
static int look_device(const char *path, struct target *t, err_t *e)
{
	struct stat st;
	if (stat(path, &st) < 0) {
		if (errno == ENOENT)
			return err_sys(e, "%s", path), 0;
		return err_sys(e, "%s", path);
	}
	if (!S_ISBLK(st.st_mode))
		return err_set(e, "%s is not a block device", path);
	autoclose int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_sys(e, "open %s", path);
	snprintf(t->node, sizeof(t->node), "%s", path);
	t->major = major(st.st_rdev);
	t->minor = minor(st.st_rdev);
	if (!probe_fd(fd, &t->fs))
		return err_set(e, "%s: cannot read it (no medium?)", path), 0;
	return 1;
}

/* One look over every block device: 1 found, 0 not (yet). */
static int look_all(const struct options *o, const char *mountinfo, struct target *t, err_t *e)
{
	struct blockdev *all = NULL;
	size_t n = 0;
	if (blockdev_list(SYSFS, &all, &n, e) < 0)
		return 0;
	struct volume *v = calloc(n ? n : 1, sizeof(*v));
	if (!v) {
		free(all);
		return err_sys(e, "list block devices");
	}
	char where[PATH_MAX];
	for (size_t i = 0; i < n; i++) {
		snprintf(v[i].name, sizeof(v[i].name), "%s", all[i].name);
		v[i].partition = all[i].partition;
		v[i].is_virtual = devname_is_virtual(all[i].partition ? all[i].parent : all[i].name);
		v[i].mounted = mountinfo && mountinfo_find(mountinfo, all[i].major, all[i].minor, where, sizeof(where));
		/* A label or UUID may be on a loop device; a guess never is. */
		if (v[i].is_virtual && !o->label && !o->uuid)
			continue;
		err_t skip;
		int fd = blockdev_open(&all[i], O_RDONLY, &skip);
		if (fd < 0)
			continue;
		v[i].probed = probe_fd(fd, &v[i].fs);
		close(fd);
	}
	bool ambiguous;
	long k = pick_volume(v, n, o->label, o->uuid, &ambiguous);
	int found = 0;
	if (k >= 0) {
		if (ambiguous)
			say("warning: more than one device has %s %s; taking %s", o->label ? "label" : "UUID",
			    o->label ? o->label : o->uuid, v[k].name);
		if (devnode_path(all[k].name, t->node, sizeof(t->node)) == 0) {
			t->major = all[k].major;
			t->minor = all[k].minor;
			t->fs = v[k].fs;
			found = 1;
		}
	} else if (o->label) {
		err_set(e, "no device has a file system labelled \"%s\"", o->label);
	} else if (o->uuid) {
		err_set(e, "no device has a file system with UUID %s", o->uuid);
	} else {
		err_set(e, "no partition holds a file system that is not mounted already");
	}
	free(v);
	free(all);
	return found;
}

/* Devices show up late (a slow controller, a hot-plugged volume): look
 * until the deadline. */
static int find_target(const struct options *o, const char *mountinfo, struct target *t, err_t *e)
{
	unsigned long long deadline = now_ms() + o->timeout_ms;
	bool told = false;
	for (;;) {
		int r = o->device ? look_device(o->device, t, e) : look_all(o, mountinfo, t, e);
		if (r != 0)
			return r < 0 ? -1 : 0;
		if (now_ms() >= deadline)
			return err_prefix(e, "gave up after %u s", o->timeout_ms / 1000);
		if (!told) {
			say("waiting up to %u s: %s", o->timeout_ms / 1000, e->msg);
			told = true;
		}
		sleep_ms(POLL_MS);
	}
}

static int check_fs(const struct target *t, err_t *e)
{
	if (!fs_is_ext(t->fs.kind))
		return 0;
	say("checking %s: e2fsck -p %s", t->fs.name, t->node);
	char *argv[] = { "e2fsck", "-p", (char *)t->node, NULL };
	int rc = run_command(argv, e);
	if (rc < 0)
		return err_prefix(e, "check %s", t->node);
	switch (fsck_verdict(rc)) {
	case FSCK_CLEAN:
		say("%s: clean", t->node);
		return 0;
	case FSCK_REPAIRED:
		say("%s: e2fsck repaired it (exit %d)", t->node, rc);
		return 0;
	case FSCK_REFUSED:
		break;
	}
	return err_set(e,
		       "e2fsck -p %s exited %d: the file system needs repairs e2fsck will not make unattended; not mounting it (run e2fsck -f %s by hand)",
		       t->node, rc, t->node);
}

int main(int argc, char **argv)
{
	struct options o;
	err_t e;

	/* 1. Flags, read as LinuxKit's Go flag package reads them. */
	int r = options_parse(argc, argv, &o, &e);
	if (r == OPTIONS_HELP) {
		options_usage(stdout);
		return 0;
	}
	if (r < 0) {
		say_error(&e);
		options_usage(stderr);
		return 2;
	}
	/* An image's config may carry no environment; e2fsck is in sbin. */
	setenv("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", 0);

	/* 2. The device: named, by label or UUID, or the first unmounted partition. */
	autofree char *mountinfo = NULL;
	if (read_file(MOUNTINFO, 4 << 20, &mountinfo, NULL, &e) < 0)
		mountinfo = NULL;
	struct target t;
	memset(&t, 0, sizeof(t));
	if (find_target(&o, mountinfo, &t, &e) < 0) {
		say_error(&e);
		return 1;
	}

	/* 3. Already there (mountie ran before): nothing to do. */
	char where[PATH_MAX];
	if (mountinfo && mountinfo_find(mountinfo, t.major, t.minor, where, sizeof(where)) &&
	    strcmp(where, o.mountpoint) == 0) {
		say("%s is already mounted on %s", t.node, o.mountpoint);
		return 0;
	}
	if (t.fs.kind == FS_NONE) {
		say("error: %s holds no file system mountie knows; not mounting it", t.node);
		return 1;
	}

	/* 4. fsck: after a power cut the journal is replayed here. */
	if (check_fs(&t, &e) < 0) {
		say_error(&e);
		return 1;
	}

	/* 5. Mount, shared, so it propagates out through the rshared bind of
	 * /var. The node is the host's too (/dev is bound from it). */
	if (mkdir_p(o.mountpoint, 0755, &e) < 0) {
		say_error(&e);
		return 1;
	}
	if (mount(t.node, o.mountpoint, t.fs.name, MS_NOATIME, NULL) < 0) {
		err_sys(&e, "mount %s (%s) on %s", t.node, t.fs.name, o.mountpoint);
		say_error(&e);
		return 1;
	}
	if (mount(NULL, o.mountpoint, NULL, MS_SHARED, NULL) < 0)
		say("warning: %s: cannot make the mount shared: %s", o.mountpoint, strerror(errno));
	say("mounted %s (%s%s%s%s) on %s", t.node, t.fs.name, t.fs.label[0] ? " labelled \"" : "", t.fs.label,
	    t.fs.label[0] ? "\"" : "", o.mountpoint);
	return 0;
}

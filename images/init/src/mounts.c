#include "mounts.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <unistd.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "log.h"

static const struct {
	const char *name;
	unsigned long flag;
	bool clear;
} flag_opts[] = {
	{ "defaults", 0, false },
	{ "ro", MS_RDONLY, false },          { "rw", MS_RDONLY, true },
	{ "nosuid", MS_NOSUID, false },      { "suid", MS_NOSUID, true },
	{ "nodev", MS_NODEV, false },        { "dev", MS_NODEV, true },
	{ "noexec", MS_NOEXEC, false },      { "exec", MS_NOEXEC, true },
	{ "sync", MS_SYNCHRONOUS, false },   { "async", MS_SYNCHRONOUS, true },
	{ "dirsync", MS_DIRSYNC, false },
	{ "mand", MS_MANDLOCK, false },      { "nomand", MS_MANDLOCK, true },
	{ "noatime", MS_NOATIME, false },    { "atime", MS_NOATIME, true },
	{ "nodiratime", MS_NODIRATIME, false }, { "diratime", MS_NODIRATIME, true },
	{ "relatime", MS_RELATIME, false },  { "norelatime", MS_RELATIME, true },
	{ "strictatime", MS_STRICTATIME, false }, { "nostrictatime", MS_STRICTATIME, true },
	{ "lazytime", MS_LAZYTIME, false },  { "nolazytime", MS_LAZYTIME, true },
	{ "nosymfollow", MS_NOSYMFOLLOW, false },
};

static const struct {
	const char *name;
	unsigned long flag;
} propagation_opts[] = {
	{ "private", MS_PRIVATE },        { "rprivate", MS_PRIVATE | MS_REC },
	{ "shared", MS_SHARED },          { "rshared", MS_SHARED | MS_REC },
	{ "slave", MS_SLAVE },            { "rslave", MS_SLAVE | MS_REC },
	{ "unbindable", MS_UNBINDABLE },  { "runbindable", MS_UNBINDABLE | MS_REC },
};

static bool option_flag(const char *opt, struct mount_opts *out)
{
	for (size_t i = 0; i < ARRAY_LEN(flag_opts); i++) {
		if (strcmp(opt, flag_opts[i].name) != 0)
			continue;
		if (flag_opts[i].clear)
			out->flags &= ~flag_opts[i].flag;
		else
			out->flags |= flag_opts[i].flag;
		return true;
	}
	for (size_t i = 0; i < ARRAY_LEN(propagation_opts); i++) {
		if (strcmp(opt, propagation_opts[i].name) == 0) {
			out->propagation = propagation_opts[i].flag;
			return true;
		}
	}
	if (strcmp(opt, "bind") == 0 || strcmp(opt, "rbind") == 0) {
		out->bind = true;
		out->recursive = opt[0] == 'r';
		return true;
	}
	return false;
}

int mount_options_parse(const char *const *opts, size_t n, struct mount_opts *out, err_t *e)
{
	memset(out, 0, sizeof(*out));
	size_t used = 0;
	for (size_t i = 0; i < n; i++) {
		const char *opt = opts[i];
		if (opt[0] == '\0' || option_flag(opt, out))
			continue;
		size_t len = strlen(opt);
		if (used + (used ? 1 : 0) + len + 1 > sizeof(out->data))
			return err_set(e, "mount options too long");
		if (used)
			out->data[used++] = ',';
		memcpy(out->data + used, opt, len + 1);
		used += len;
	}
	return 0;
}

static const struct {
	const char *source, *target, *type;
	unsigned long flags;
	const char *data;
	mode_t mode;
} system_mounts[] = {
	{ "proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, 0555 },
	{ "sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, 0555 },
	{ "devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755", 0755 },
	/* The single devpts instance everyone shares; ptmxmode lets
	 * unprivileged users open /dev/pts/ptmx, which /dev/ptmx points at
	 * in containers. */
	{ "devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "gid=5,mode=0620,ptmxmode=0666", 0755 },
	{ "shm", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777", 01777 },
	{ "tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755", 0755 },
	{ "tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777", 01777 },
	/* As LinuxKit: /var is a tmpfs of its own (a data disk may be mounted
	 * under it later), so services can bind it and share mounts through it. */
	{ "tmpfs", "/var", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RELATIME, "mode=0755,size=50%", 0755 },
	{ "cgroup2", "/sys/fs/cgroup", "cgroup2", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, 0555 },
};

static const struct {
	const char *name, *target;
} dev_links[] = {
	{ "/dev/fd", "/proc/self/fd" },
	{ "/dev/stdin", "/proc/self/fd/0" },
	{ "/dev/stdout", "/proc/self/fd/1" },
	{ "/dev/stderr", "/proc/self/fd/2" },
};

/* The standard folders of /var, as LinuxKit makes them. */
static const struct {
	const char *path;
	mode_t mode;
} var_dirs[] = {
	{ "/var/cache", 0755 }, { "/var/empty", 0555 }, { "/var/lib", 0755 },   { "/var/local", 0755 },
	{ "/var/lock", 0755 },  { "/var/log", 0755 },   { "/var/opt", 0755 },   { "/var/spool", 0755 },
	{ "/var/tmp", 01777 },
};

void mount_system(void)
{
	for (size_t i = 0; i < ARRAY_LEN(system_mounts); i++) {
		err_t e;
		const char *t = system_mounts[i].target;
		if (mkdir_p(t, system_mounts[i].mode, &e) < 0) {
			log_msg("%s", e.msg);
			continue;
		}
		if (mount(system_mounts[i].source, t, system_mounts[i].type, system_mounts[i].flags,
			  system_mounts[i].data) < 0)
			log_msg("mount %s on %s: %s", system_mounts[i].type, t, strerror(errno));
	}
	/* devtmpfs has the device nodes but not these conveniences. */
	for (size_t i = 0; i < ARRAY_LEN(dev_links); i++)
		if (symlink(dev_links[i].target, dev_links[i].name) < 0 && errno != EEXIST)
			log_msg("symlink %s: %s", dev_links[i].name, strerror(errno));
	for (size_t i = 0; i < ARRAY_LEN(var_dirs); i++)
		if (mkdir(var_dirs[i].path, var_dirs[i].mode) < 0 && errno != EEXIST)
			log_msg("mkdir %s: %s", var_dirs[i].path, strerror(errno));
		else
			chmod(var_dirs[i].path, var_dirs[i].mode); /* past the umask */
	if (symlink("/run", "/var/run") < 0 && errno != EEXIST)
		log_msg("symlink /var/run: %s", strerror(errno));
	/* Shared, as LinuxKit's init makes it: a container whose
	 * rootfsPropagation is shared and that binds a folder with rshared (the
	 * mount package binds /var) can mount there for everyone. */
	if (mount(NULL, "/", NULL, MS_REC | MS_SHARED, NULL) < 0)
		log_msg("make / shared: %s", strerror(errno));
}

void console_reopen(void)
{
	int fd = open("/dev/console", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (fd < 0) {
		log_msg("open /dev/console: %s", strerror(errno));
		return;
	}
	for (int i = 0; i < 3; i++)
		if (fd != i)
			dup2(fd, i);
		else
			fcntl(fd, F_SETFD, 0);
	if (fd > 2)
		close(fd);
}

/* LinuxKit's volumes: containers/volumes/NAME/{lower,tmp,merged}. merged is
 * an overlay of lower with its upper layer on a tmpfs in tmp; a volume
 * without tmp is read-only, so lower is bound onto merged read-only. */
void mount_volumes(void)
{
	static const char *dir = "/containers/volumes";
	char **names;
	size_t n;
	err_t e;
	if (access(dir, F_OK) < 0)
		return;
	if (list_subdirs(dir, &names, &n, &e) < 0) {
		log_msg("volumes: %s", e.msg);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		char lower[PATH_MAX], merged[PATH_MAX], tmp[PATH_MAX], upper[PATH_MAX], work[PATH_MAX], data[3 * PATH_MAX + 64];
		if (path_fmt(lower, sizeof(lower), "%s/%s/lower", dir, names[i]) < 0 ||
		    path_fmt(merged, sizeof(merged), "%s/%s/merged", dir, names[i]) < 0 ||
		    path_fmt(tmp, sizeof(tmp), "%s/%s/tmp", dir, names[i]) < 0 ||
		    path_fmt(upper, sizeof(upper), "%s/%s/tmp/upper", dir, names[i]) < 0 ||
		    path_fmt(work, sizeof(work), "%s/%s/tmp/work", dir, names[i]) < 0) {
			log_msg("volume %s: name too long", names[i]);
			continue;
		}
		if (access(lower, F_OK) < 0 || access(merged, F_OK) < 0) {
			log_msg("volume %s: no lower or merged folder; not mounted", names[i]);
			continue;
		}
		if (access(tmp, F_OK) < 0) {
			if (mount(lower, merged, NULL, MS_BIND, NULL) < 0 ||
			    mount(NULL, merged, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL) < 0)
				log_msg("volume %s: read-only bind: %s", names[i], strerror(errno));
			else
				log_msg("volume %s mounted read-only", names[i]);
			continue;
		}
		if (mount("tmpfs", tmp, "tmpfs", MS_RELATIME, NULL) < 0 ||
		    (mkdir(upper, 0755) < 0 && errno != EEXIST) || (mkdir(work, 0755) < 0 && errno != EEXIST)) {
			log_msg("volume %s: tmpfs: %s", names[i], strerror(errno));
			continue;
		}
		snprintf(data, sizeof(data), "lowerdir=%s,upperdir=%s,workdir=%s", lower, upper, work);
		if (mount("overlay", merged, "overlay", MS_RELATIME, data) < 0)
			log_msg("volume %s: overlay: %s", names[i], strerror(errno));
		else
			log_msg("volume %s mounted", names[i]);
	}
	free_names(names, n);
}

/* Undoes the octal escapes (\040 for a space ...) of /proc/self/mounts. */
static void unescape(char *s)
{
	char *out = s;
	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' && s[3] >= '0' && s[3] <= '7') {
			*out++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 3;
		} else {
			*out++ = *s;
		}
	}
	*out = '\0';
}

/* Newest first, since later mounts sit on top of earlier ones: unmounts
 * what it can (*done), or in the final pass remounts block-device
 * filesystems read-only (*readonly) and counts what stays (*busy). */
static int unmount_pass(bool final, size_t *done, size_t *readonly, size_t *busy, char *names, size_t size)
{
	char *text = NULL, *lines[1024];
	size_t n = 0;
	err_t e;
	if (read_file("/proc/self/mounts", 1u << 20, &text, NULL, &e) < 0) {
		log_msg("unmount: %s", e.msg);
		return -1;
	}
	char *save = NULL;
	for (char *l = strtok_r(text, "\n", &save); l && n < ARRAY_LEN(lines); l = strtok_r(NULL, "\n", &save))
		lines[n++] = l;
	while (n-- > 0) {
		char *s = NULL, *source = strtok_r(lines[n], " ", &s), *target = strtok_r(NULL, " ", &s);
		if (!source || !target)
			continue;
		unescape(target);
		/* The console stays open on /dev, and the next pass reads /proc. */
		if (strcmp(target, "/") == 0 || strcmp(target, "/proc") == 0 || strcmp(target, "/dev") == 0 ||
		    strcmp(target, "/sys") == 0)
			continue;
		if (!final) {
			*done += umount2(target, UMOUNT_NOFOLLOW) == 0;
			continue;
		}
		(*busy)++;
		size_t len = strlen(names);
		snprintf(names + len, size - len, "%s%s", len ? ", " : ": ", target);
		/* What keeps data must at least be clean when the power goes. */
		if (strncmp(source, "/dev/", 5) == 0 && mount(NULL, target, NULL, MS_REMOUNT | MS_RDONLY, NULL) == 0)
			(*readonly)++;
	}
	free(text);
	return 0;
}

void unmount_all(void)
{
	size_t done = 0, readonly = 0, busy = 0;
	char names[300] = "";
	/* A mount under another frees up once the other has gone. */
	for (int pass = 0; pass < 4; pass++) {
		size_t before = done;
		if (unmount_pass(false, &done, &readonly, &busy, names, sizeof(names)) < 0)
			return;
		if (done == before)
			break;
	}
	unmount_pass(true, &done, &readonly, &busy, names, sizeof(names));
	log_msg("shutdown: unmounted %zu filesystems; %zu busy, %zu of them remounted read-only%s", done, busy,
		readonly, names);
}

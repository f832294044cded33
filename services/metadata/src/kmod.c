#include "kmod.h"
#include <stdlib.h>

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/utsname.h>

#include "common/inflate.h"

static bool same_name(const char *a, size_t alen, const char *b)
{
	size_t blen = strlen(b);
	if (alen != blen)
		return false;
	for (size_t i = 0; i < alen; i++) {
		char x = a[i] == '-' ? '_' : a[i], y = b[i] == '-' ? '_' : b[i];
		if (x != y)
			return false;
	}
	return true;
}

/* The module name of a path: its base name up to the first '.'. */
static void name_of(const char *path, size_t len, const char **name, size_t *name_len)
{
	const char *base = path;
	for (size_t i = 0; i < len; i++)
		if (path[i] == '/')
			base = path + i + 1;
	const char *dot = memchr(base, '.', (size_t)(path + len - base));
	*name = base;
	*name_len = (size_t)((dot ? dot : path + len) - base);
}

int kmod_resolve(const char *dep_text, const char *name, char paths[][256], size_t max)
{
	for (const char *line = dep_text; *line;) {
		const char *end = strchr(line, '\n');
		if (!end)
			end = line + strlen(line);
		const char *colon = memchr(line, ':', (size_t)(end - line));
		const char *mname;
		size_t mlen;
		if (colon) {
			name_of(line, (size_t)(colon - line), &mname, &mlen);
			if (same_name(mname, mlen, name)) {
				/* modules.dep lists every dependency, each before what needs it
				 * read from the right; load them from the last back. */
				const char *deps[KMOD_MAX_DEPS];
				size_t dlens[KMOD_MAX_DEPS], nd = 0;
				for (const char *p = colon + 1; p < end && nd < KMOD_MAX_DEPS;) {
					while (p < end && (*p == ' ' || *p == '\t'))
						p++;
					const char *q = p;
					while (q < end && *q != ' ' && *q != '\t')
						q++;
					if (q > p)
						deps[nd] = p, dlens[nd++] = (size_t)(q - p);
					p = q;
				}
				size_t n = 0;
				for (size_t i = nd; i-- > 0 && n + 1 < max;)
					snprintf(paths[n++], 256, "%.*s", (int)dlens[i], deps[i]);
				if (n < max)
					snprintf(paths[n++], 256, "%.*s", (int)(colon - line), line);
				return (int)n;
			}
		}
		line = *end ? end + 1 : end;
	}
	return 0;
}

bool kmod_has_fs(const char *filesystems, const char *fstype)
{
	for (const char *line = filesystems; *line;) {
		const char *end = strchr(line, '\n');
		if (!end)
			end = line + strlen(line);
		/* "nodev\tproc" or "\text4": the name is the last field. */
		const char *tab = line;
		for (const char *p = line; p < end; p++)
			if (*p == '\t' || *p == ' ')
				tab = p + 1;
		if ((size_t)(end - tab) == strlen(fstype) && memcmp(tab, fstype, (size_t)(end - tab)) == 0)
			return true;
		line = *end ? end + 1 : end;
	}
	return false;
}

/* One module file: .ko with finit_module; .ko.gz (as keel's kernel package
 * stores them: its kernel cannot decompress modules) inflated here and
 * loaded with init_module. Already loaded is success. */
static int load_file(const char *name, const char *path, err_t *e)
{
	size_t n = strlen(path);
	if (n > 6 && strcmp(path + n - 6, ".ko.gz") == 0) {
		autofree char *gz = NULL;
		size_t gzlen = 0, kolen = 0;
		unsigned char *ko = NULL;
		char why[200];
		if (read_file(path, 64u << 20, &gz, &gzlen, e) < 0)
			return err_prefix(e, "module %s", name);
		if (gunzip_mem((const unsigned char *)gz, gzlen, 256u << 20, &ko, &kolen, why, sizeof(why)) < 0)
			return err_set(e, "module %s: %s: %s", name, path, why);
		long r = syscall(SYS_init_module, ko, kolen, "");
		int saved = errno;
		free(ko);
		errno = saved;
		if (r < 0 && errno != EEXIST)
			return err_sys(e, "module %s: load %s", name, path);
		return 0;
	}
	autoclose int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_sys(e, "module %s: open %s", name, path);
	if (syscall(SYS_finit_module, fd, "", 0) < 0 && errno != EEXIST)
		return err_sys(e, "module %s: load %s", name, path);
	return 0;
}

int kmod_load(const char *dir, const char *name, err_t *e)
{
	char path[4096];
	autofree char *deps = NULL;
	if (path_fmt(path, sizeof(path), "%s/modules.dep", dir) < 0)
		return err_sys(e, "%s/modules.dep", dir);
	if (read_file(path, 16 << 20, &deps, NULL, e) < 0)
		return -1;
	char paths[KMOD_MAX_DEPS + 1][256];
	int n = kmod_resolve(deps, name, paths, ARRAY_LEN(paths));
	if (n == 0)
		return err_set(e, "module %s: not in %s", name, path);
	for (int i = 0; i < n; i++) {
		if (path_fmt(path, sizeof(path), "%s/%s", dir, paths[i]) < 0)
			return err_sys(e, "module %s", paths[i]);
		if (load_file(name, path, e) < 0)
			return -1;
	}
	return 0;
}

int kmod_dir(char *dir, size_t size, err_t *e)
{
	struct utsname u;
	if (uname(&u) < 0)
		return err_sys(e, "uname");
	if (path_fmt(dir, size, "/lib/modules/%s", u.release) < 0)
		return err_sys(e, "/lib/modules/%s", u.release);
	return 0;
}

int kmod_ensure_fs(const char *fstype, err_t *e)
{
	autofree char *fs = NULL;
	if (read_file("/proc/filesystems", 1 << 20, &fs, NULL, e) < 0)
		return -1;
	if (kmod_has_fs(fs, fstype))
		return 0;
	char dir[512];
	if (kmod_dir(dir, sizeof(dir), e) < 0)
		return -1;
	const char *module = strcmp(fstype, "iso9660") == 0 ? "isofs" : fstype;
	if (kmod_load(dir, module, e) < 0)
		return err_prefix(e, "the kernel has no %s file system", fstype);
	say("loaded kernel module %s", module);
	/* FAT mounts look up their code page and character set by module too;
	 * a kernel built with them in simply has no such module to load. */
	if (strcmp(fstype, "vfat") == 0) {
		static const char *const nls[] = { "nls_cp437", "nls_ascii", "nls_utf8" };
		for (size_t i = 0; i < ARRAY_LEN(nls); i++) {
			err_t ignored;
			kmod_load(dir, nls[i], &ignored);
		}
	}
	return 0;
}

#include "util.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

int err_set(err_t *e, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return -1;
}

int err_sys(err_t *e, const char *fmt, ...)
{
	int saved = errno;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	size_t n = strlen(e->msg);
	snprintf(e->msg + n, sizeof(e->msg) - n, ": %s", strerror(saved));
	errno = saved;
	return -1;
}

int err_prefix(err_t *e, const char *fmt, ...)
{
	char ctx[sizeof(e->msg)], old[sizeof(e->msg)];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(ctx, sizeof(ctx), fmt, ap);
	va_end(ap);
	memcpy(old, e->msg, sizeof(old));
	snprintf(e->msg, sizeof(e->msg), "%s: %s", ctx, old);
	return -1;
}

int read_file(const char *path, size_t max, char **out, size_t *len, err_t *e)
{
	autoclose int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_sys(e, "open %s", path);

	size_t cap = 4096, n = 0;
	autofree char *buf = malloc(cap + 1);
	if (!buf)
		return err_sys(e, "read %s", path);
	for (;;) {
		if (n == cap) {
			if (cap > max)
				return err_set(e, "%s: larger than %zu bytes", path, max);
			cap *= 2;
			char *bigger = realloc(buf, cap + 1);
			if (!bigger)
				return err_sys(e, "read %s", path);
			buf = bigger;
		}
		ssize_t r = read(fd, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return err_sys(e, "read %s", path);
		if (r == 0)
			break;
		n += (size_t)r;
	}
	if (n > max)
		return err_set(e, "%s: larger than %zu bytes", path, max);
	buf[n] = '\0';
	*out = TAKE_PTR(buf);
	if (len)
		*len = n;
	return 0;
}

int path_fmt(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= size) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	while (len > 0) {
		ssize_t r = write(fd, p, len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		p += r;
		len -= (size_t)r;
	}
	return 0;
}

int mkdir_p(const char *path, mode_t mode, err_t *e)
{
	char buf[4096];
	size_t n = strlen(path);
	if (n == 0 || n >= sizeof(buf))
		return err_set(e, "mkdir %s: bad path", path);
	memcpy(buf, path, n + 1);
	for (char *p = buf + 1;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char saved = *p;
		*p = '\0';
		if (mkdir(buf, mode) < 0 && errno != EEXIST)
			return err_sys(e, "mkdir %s", buf);
		*p = saved;
		if (saved == '\0')
			break;
	}
	struct stat st;
	if (stat(path, &st) < 0)
		return err_sys(e, "mkdir %s", path);
	if (!S_ISDIR(st.st_mode))
		return err_set(e, "mkdir %s: exists and is not a directory", path);
	return 0;
}

int path_clean(const char *in, char *out, size_t size, err_t *e)
{
	size_t o = 0;
	const char *p = in;
	if (size < 2)
		return err_set(e, "%s: path too long", in);
	while (*p) {
		while (*p == '/')
			p++;
		const char *start = p;
		while (*p && *p != '/')
			p++;
		size_t len = (size_t)(p - start);
		if (len == 0 || (len == 1 && start[0] == '.'))
			continue;
		if (len == 2 && start[0] == '.' && start[1] == '.')
			return err_set(e, "%s: \"..\" is not allowed in the path", in);
		if (o + 1 + len + 1 > size)
			return err_set(e, "%s: path too long", in);
		out[o++] = '/';
		memcpy(out + o, start, len);
		o += len;
	}
	if (o == 0)
		out[o++] = '/';
	out[o] = '\0';
	return 0;
}

void bundle_display_name(const char *dirname, char *out, size_t size)
{
	const char *p = dirname;
	while (*p >= '0' && *p <= '9')
		p++;
	if (p != dirname && *p == '-' && p[1] != '\0')
		dirname = p + 1;
	snprintf(out, size, "%s", dirname);
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void free_names(char **names, size_t count)
{
	for (size_t i = 0; i < count; i++)
		free(names[i]);
	free(names);
}

int list_subdirs(const char *dir, char ***names, size_t *count, err_t *e)
{
	*names = NULL;
	*count = 0;
	DIR *d = opendir(dir);
	if (!d) {
		if (errno == ENOENT)
			return 0;
		return err_sys(e, "open %s", dir);
	}
	char **list = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		struct stat st;
		if (fstatat(dirfd(d), de->d_name, &st, 0) < 0 || !S_ISDIR(st.st_mode))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			char **bigger = realloc(list, cap * sizeof(*list));
			if (!bigger)
				goto oom;
			list = bigger;
		}
		if (!(list[n] = strdup(de->d_name)))
			goto oom;
		n++;
	}
	closedir(d);
	qsort(list, n, sizeof(*list), cmp_names);
	*names = list;
	*count = n;
	return 0;
oom:
	err_sys(e, "list %s", dir);
	closedir(d);
	free_names(list, n);
	return -1;
}

void ensure_std_fds(void)
{
	for (int fd = 0; fd < 3; fd++) {
		if (fcntl(fd, F_GETFD) >= 0)
			continue;
		/* Anything harmless will do; with no /dev at all an O_PATH fd on
		 * "/" still fills the slot (writes to it fail with EBADF). */
		int r = open("/dev/null", O_RDWR);
		if (r < 0)
			r = open("/", O_PATH);
		if (r >= 0 && r != fd) {
			dup2(r, fd);
			close(r);
		}
	}
}

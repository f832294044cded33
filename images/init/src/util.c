#include "util.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

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

#include "coldplug.h"

#include <dirent.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <string.h>

#define SCAN_MAX_DEPTH 32
#define MODALIAS_MAX 512

int aliasdb_parse(struct aliasdb *db, char *text, err_t *e)
{
	size_t lines = 1;
	for (const char *p = text; *p; p++)
		lines += *p == '\n';
	db->text = text;
	db->n = 0;
	if (!(db->v = calloc(lines, sizeof(*db->v))))
		return err_sys(e, "modules.alias");
	char *save_line = NULL;
	for (char *line = strtok_r(text, "\n", &save_line); line; line = strtok_r(NULL, "\n", &save_line)) {
		char *save = NULL;
		char *word = strtok_r(line, " \t\r", &save);
		char *pattern = strtok_r(NULL, " \t\r", &save);
		char *module = strtok_r(NULL, " \t\r", &save);
		if (!word || strcmp(word, "alias") != 0 || !pattern || !module)
			continue;
		struct alias *a = &db->v[db->n++];
		a->pattern = pattern;
		a->module = module;
		a->prefix = strcspn(pattern, "*?[\\");
	}
	return 0;
}

void aliasdb_free(struct aliasdb *db)
{
	free(db->v);
	free(db->text);
	memset(db, 0, sizeof(*db));
}

size_t aliasdb_match(const struct aliasdb *db, const char *modalias, const char **mods, size_t max)
{
	size_t found = 0;
	for (size_t i = 0; i < db->n; i++) {
		const struct alias *a = &db->v[i];
		/* Most patterns fail on their literal start, cheaply. */
		if (strncmp(a->pattern, modalias, a->prefix) != 0 || fnmatch(a->pattern, modalias, 0) != 0)
			continue;
		bool dup = false;
		for (size_t k = 0; k < found && k < max && !dup; k++)
			dup = strcmp(mods[k], a->module) == 0;
		if (dup)
			continue;
		if (found < max)
			mods[found] = a->module;
		found++;
	}
	return found;
}

struct scan {
	char **v;
	size_t n, cap;
	err_t *e;
};

static int add_alias(struct scan *s, const char *text)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 64;
		char **bigger = realloc(s->v, cap * sizeof(*s->v));
		if (!bigger)
			return err_sys(s->e, "coldplug");
		s->v = bigger;
		s->cap = cap;
	}
	if (!(s->v[s->n] = strdup(text)))
		return err_sys(s->e, "coldplug");
	s->n++;
	return 0;
}

static int read_modalias(int dir, struct scan *s)
{
	char buf[MODALIAS_MAX];
	autoclose int fd = openat(dir, "modalias", O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return buf[0] ? add_alias(s, buf) : 0;
}

/* Takes ownership of fd. */
static int scan_dir(int fd, int depth, struct scan *s)
{
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return 0;
	}
	int r = read_modalias(fd, s);
	struct dirent *de;
	while (r == 0 && depth < SCAN_MAX_DEPTH && (de = readdir(d))) {
		/* sysfs fills in d_type; links lead to devices found elsewhere. */
		if (de->d_type != DT_DIR || de->d_name[0] == '.')
			continue;
		int sub = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
		if (sub >= 0)
			r = scan_dir(sub, depth + 1, s);
	}
	closedir(d);
	return r;
}

static int by_string(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int coldplug_scan(const char *root, char ***aliases, size_t *count, err_t *e)
{
	struct scan s = { .e = e };
	int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return err_sys(e, "open %s", root);
	if (scan_dir(fd, 0, &s) < 0) {
		free_names(s.v, s.n);
		return -1;
	}
	/* Many devices share one alias (every CPU, every memory block ...). */
	if (s.n > 0)
		qsort(s.v, s.n, sizeof(*s.v), by_string);
	size_t out = 0;
	for (size_t i = 0; i < s.n; i++) {
		if (out > 0 && strcmp(s.v[out - 1], s.v[i]) == 0)
			free(s.v[i]);
		else
			s.v[out++] = s.v[i];
	}
	*aliases = s.v;
	*count = out;
	return 0;
}

/* Small file helpers for the unit tests: a scratch folder per test, and
 * writing and reading back files in it. */
#ifndef KEEL_METADATA_TEST_HELPERS_H
#define KEEL_METADATA_TEST_HELPERS_H

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static inline char *scratch_dir(void)
{
	static char dirs[16][64];
	static int n;
	char *d = dirs[n++ % 16];
	snprintf(d, 64, "/tmp/keel-metadata-test.XXXXXX");
	return mkdtemp(d);
}

static inline void put_file(const char *dir, const char *name, const void *data, size_t len)
{
	char path[512], sub[512];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	/* Make the folders on the way. */
	for (char *p = path + strlen(dir) + 1; (p = strchr(p, '/')); p++) {
		snprintf(sub, sizeof(sub), "%.*s", (int)(p - path), path);
		mkdir(sub, 0755);
	}
	FILE *f = fopen(path, "w");
	if (f) {
		fwrite(data, 1, len, f);
		fclose(f);
	}
}

static inline void put_str(const char *dir, const char *name, const char *s)
{
	put_file(dir, name, s, strlen(s));
}

/* The file's text (static buffer), or "(missing)". */
static inline const char *get_str(const char *dir, const char *name)
{
	static char buf[4096];
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "r");
	if (!f)
		return "(missing)";
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	return buf;
}

/* The permission bits, or -1 when missing. */
static inline int get_mode(const char *dir, const char *name)
{
	char path[512];
	struct stat st;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (lstat(path, &st) < 0)
		return -1;
	return (int)(st.st_mode & 07777);
}

static inline void remove_tree(const char *dir)
{
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
}

#endif

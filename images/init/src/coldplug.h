/* Coldplug: the drivers for the devices that are there. Every device in
 * /sys/devices with a modalias file names what it needs, as in
 * "pci:v00001AF4d00001000sv...". modules.alias maps shell-glob patterns
 * of those strings to module names, as udev and modprobe use it. */
#ifndef KEEL_COLDPLUG_H
#define KEEL_COLDPLUG_H

#include <stddef.h>

#include "util.h"

struct alias {
	const char *pattern; /* fnmatch(3) pattern */
	const char *module;  /* as written in the file */
	size_t prefix;       /* length of the pattern's literal start */
};

struct aliasdb {
	char *text; /* owned; the entries point into it */
	struct alias *v;
	size_t n;
};

/* "alias PATTERN MODULE" lines; others are skipped. Takes ownership of text. */
int aliasdb_parse(struct aliasdb *db, char *text, err_t *e);
void aliasdb_free(struct aliasdb *db);
/* Stores up to max module names whose pattern matches modalias, each name
 * once, in file order; returns how many matched (possibly more than max). */
size_t aliasdb_match(const struct aliasdb *db, const char *modalias, const char **mods, size_t max);

/* The distinct modalias strings of the devices under root (normally
 * /sys/devices), sorted. Symlinks are not followed; depth is bounded.
 * Free with free_names. */
int coldplug_scan(const char *root, char ***aliases, size_t *count, err_t *e);

#endif

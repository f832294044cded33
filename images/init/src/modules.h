/* Kernel module loading without modprobe: modules.dep gives each module's
 * path and dependencies; finit_module loads them, dependencies first. */
#ifndef KEEL_MODULES_H
#define KEEL_MODULES_H

#include <stdbool.h>
#include <stddef.h>

#include "util.h"

#define MODNAME_MAX 64

struct modent {
	char name[MODNAME_MAX]; /* normalised: '-' -> '_' */
	const char *path;       /* relative to the modules directory */
	char **deps;            /* paths, in modules.dep order */
	size_t ndeps;
};

struct moddb {
	char *dep_text; /* owned; the entries point into it */
	struct modent *ents;
	size_t n;
	char *builtin_text;
	char **builtin; /* normalised names */
	size_t nbuiltin;
};

/* "kernel/drivers/virtio/virtio-pci.ko.xz" or "virtio-pci" -> "virtio_pci". */
void modname_normalize(const char *path_or_name, char *out, size_t size);
/* Both take ownership of text. */
int moddb_parse_dep(struct moddb *db, char *text, err_t *e);
int moddb_parse_builtin(struct moddb *db, char *text, err_t *e);
void moddb_free(struct moddb *db);
bool moddb_is_builtin(const struct moddb *db, const char *name);
const struct modent *moddb_find(const struct moddb *db, const char *name);

/* The module paths to load, dependencies first, each once, for the wanted
 * names. Built-in and unknown names are left out (and counted in *skipped).
 * *order is malloc'd; free it (not the strings). */
int modules_plan(const struct moddb *db, const char *const *wanted, size_t nwanted,
		 const char ***order, size_t *count, size_t *skipped, err_t *e);

/* Appends the names in every keel.modules=a,b of a kernel command line. */
int cmdline_modules(const char *cmdline, char ***names, size_t *count, err_t *e);

/* Loads one module file: .ko with finit_module; .ko.gz decompressed here and
 * loaded with init_module; .ko.xz/.ko.zst left to the kernel. Already loaded
 * counts as done. 0, or -1 with errno set. */
int module_load_file(const char *path);

#define COLDPLUG_MAX_ROUNDS 8

/* PID 1 step: overlay, button and evdev, keel.modules= from /proc/cmdline,
 * then coldplug (see coldplug.h) in rounds until nothing new loads. */
void modules_load_all(void);

#endif

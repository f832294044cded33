/* Small helpers of init's own, beside what every C program of keel's shares
 * (common/base.h: cleanup attributes, the one error convention, file and
 * path routines). */
#ifndef KEEL_UTIL_H
#define KEEL_UTIL_H

#include "common/base.h"

/* Normalises an absolute or relative container path to "/a/b" form: no
 * empty, "." or trailing components. Refuses ".." anywhere, so a mount
 * destination cannot name a place outside the root by spelling alone. */
int path_clean(const char *in, char *out, size_t size, err_t *e);

/* "000-hello" -> "hello": onboot and onshutdown folders are numbered only to
 * order them; logs read better without the number. */
void bundle_display_name(const char *dirname, char *out, size_t size);

/* Sorted names of the directories (or links to directories) in dir, hidden
 * ones skipped. Missing dir gives an empty list. Free with free_names. */
int list_subdirs(const char *dir, char ***names, size_t *count, err_t *e);
void free_names(char **names, size_t count);

/* Makes sure fds 0, 1 and 2 are open, so that a later open() cannot land on
 * one of them and receive log lines meant for the console. */
void ensure_std_fds(void);

#endif

/* Command-line flags read the way Go's flag package reads them, so that
 * LinuxKit manifests written for its Go tools work unchanged:
 *   -name value, -name=value, --name value, --name=value;
 *   a boolean takes no value, or =true/=false (also 1/0, t/f, TRUE/FALSE, ...);
 *   parsing stops at "--" (consumed), "-", or the first other non-flag;
 *   a later flag overrides an earlier one; -h and -help ask for usage. */
#ifndef KEEL_BLK_FLAGS_H
#define KEEL_BLK_FLAGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "util.h"

struct flag {
	const char *name;
	const char *help;
	const char **value; /* a string flag: where its value goes */
	bool *on;           /* a boolean flag: where it goes */
};

enum { FLAGS_ERROR = -1, FLAGS_HELP = -2 };

/* Returns the index in argv of the first positional argument (argc when
 * there is none), FLAGS_HELP for -h/-help, or FLAGS_ERROR with e set to
 * the message Go would print. argv[0] is the program name. */
int flags_parse(const struct flag *flags, size_t n, int argc, char *const argv[], err_t *e);

/* "Usage: SYNOPSIS" and one line per flag. */
void flags_usage(FILE *out, const char *synopsis, const struct flag *flags, size_t n);

#endif

/* format's command line, as LinuxKit's format reads it:
 *   format [-type ext4] [-label LABEL] [-partition dos|gpt] [-force] [-verbose] [DEVICE] */
#ifndef KEEL_FORMAT_OPTIONS_H
#define KEEL_FORMAT_OPTIONS_H

#include <stdbool.h>
#include <stdio.h>

#include "common/util.h"
#include "ptable.h"

struct options {
	const char *type;
	const char *label;
	const char *partition;
	bool force;
	bool verbose;
	const char *device; /* NULL: the first eligible disk */
	enum ptable_kind table;
};

#define FORMAT_SYNOPSIS "format [-type ext4] [-label LABEL] [-partition dos|gpt] [-force] [-verbose] [DEVICE]"

/* 0 when the options are good, OPTIONS_HELP for -h/-help, or -1 with e
 * set (a usage error). */
enum { OPTIONS_HELP = 1 };
int options_parse(int argc, char *const argv[], struct options *o, err_t *e);
void options_usage(FILE *out);

#endif

/* mountie's command line, as LinuxKit's mountie reads it:
 *   mountie [-label L | -uuid U | -device D] [DEVICE] MOUNTPOINT
 * plus keel's -timeout SECONDS (how long to wait for the device). */
#ifndef KEEL_MOUNT_OPTIONS_H
#define KEEL_MOUNT_OPTIONS_H

#include <stdio.h>

#include "common/util.h"

struct options {
	const char *device; /* -device or the first of two arguments; NULL when not given */
	const char *label;  /* NULL when not given */
	const char *uuid;   /* NULL when not given */
	const char *mountpoint;
	unsigned timeout_ms;
};

#define MOUNTIE_SYNOPSIS "mountie [-label LABEL | -uuid UUID | -device DEVICE] [-timeout SECONDS] [DEVICE] MOUNTPOINT"
#define DEFAULT_TIMEOUT_MS 10000

enum { OPTIONS_HELP = 1 };
/* 0 when the options are good, OPTIONS_HELP for -h/-help, or -1 with e set. */
int options_parse(int argc, char *const argv[], struct options *o, err_t *e);
void options_usage(FILE *out);

#endif

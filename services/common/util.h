/* Helpers shared by format, mountie and metadata: messages, small file and
 * block routines, beside base.h (cleanup attributes, the one error
 * convention, the file routines init uses too).
 *
 * This folder, services/common, is not a package: the src/common of
 * format, mount, metadata and init link here, and their build.yml's
 * extra-sources copy it into the build (so a change here changes their
 * images' tags). */
#ifndef KEEL_BLK_UTIL_H
#define KEEL_BLK_UTIL_H

#include <stdint.h>

#include "base.h"

/* Messages go to stderr, one line each. In an image, init prefixes every
 * line with the container's name, so they carry no prefix of their own;
 * failures start with "error: ". verbose() prints only after
 * log_set_verbose(true). */
void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void verbose(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void say_error(const err_t *e);
void log_set_verbose(bool on);

/* The first line of a small file (a sysfs attribute), without its newline. */
int read_line(const char *path, char *buf, size_t size, err_t *e);

/* pread/pwrite of exactly len bytes (EINTR and short transfers retried);
 * a read past the end is an error (EIO). */
int read_at(int fd, void *buf, size_t len, uint64_t off, err_t *e);
int write_at(int fd, const void *buf, size_t len, uint64_t off, err_t *e);

/* Runs argv (looked up in PATH), waits, and returns its exit status
 * (128+N when killed by signal N), or -1 when it could not run. */
int run_command(char *const argv[], err_t *e);

void sleep_ms(unsigned ms);

#endif

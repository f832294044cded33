/* Helpers shared by format and mountie: cleanup attributes, the one error
 * convention, messages, small file routines.
 *
 * This folder, services/common, is not a package: format's and mount's
 * src/common link here, and their build.yml's extra-sources copy it into
 * the build (so a change here changes both images' tags). */
#ifndef KEEL_BLK_UTIL_H
#define KEEL_BLK_UTIL_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define _cleanup_(f) __attribute__((cleanup(f)))

/* Closing must not clobber the errno a caller is about to report. */
static inline void close_fdp(int *fd)
{
	if (*fd >= 0) {
		int saved = errno;
		close(*fd);
		errno = saved;
		*fd = -1;
	}
}

static inline void free_p(void *p)
{
	int saved = errno;
	free(*(void **)p);
	errno = saved;
}

#define autoclose _cleanup_(close_fdp)
#define autofree _cleanup_(free_p)

/* A fallible function returns 0 on success, or -1 after describing the
 * failure in an err_t owned by the caller. */
typedef struct {
	char msg[512];
} err_t;

int err_set(err_t *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Like err_set, then ": " and strerror(errno). */
int err_sys(err_t *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prepends "context: " to the message already in e. */
int err_prefix(err_t *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Messages go to stderr, one line each. In an image, init prefixes every
 * line with the container's name, so they carry no prefix of their own;
 * failures start with "error: ". verbose() prints only after
 * log_set_verbose(true). */
void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void verbose(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void say_error(const err_t *e);
void log_set_verbose(bool on);

/* snprintf that refuses to cut: -1 with errno ENAMETOOLONG. */
int path_fmt(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* A whole file (at most max bytes), NUL-terminated; works for /proc files. */
int read_file(const char *path, size_t max, char **out, size_t *len, err_t *e);

/* The first line of a small file (a sysfs attribute), without its newline. */
int read_line(const char *path, char *buf, size_t size, err_t *e);

/* pread/pwrite of exactly len bytes (EINTR and short transfers retried);
 * a read past the end is an error (EIO). */
int read_at(int fd, void *buf, size_t len, uint64_t off, err_t *e);
int write_at(int fd, const void *buf, size_t len, uint64_t off, err_t *e);

int mkdir_p(const char *path, unsigned mode, err_t *e);

/* Runs argv (looked up in PATH), waits, and returns its exit status
 * (128+N when killed by signal N), or -1 when it could not run. */
int run_command(char *const argv[], err_t *e);

void sleep_ms(unsigned ms);

#endif

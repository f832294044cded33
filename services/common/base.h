/* What every C program of keel's shares: init, and the services' programs
 * (format, mountie, metadata): cleanup attributes, the one error
 * convention, and the file routines they all use. Part of services/common,
 * which init's and each service's build copies in as src/common. */
#ifndef KEEL_BASE_H
#define KEEL_BASE_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <sys/types.h>
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

/* Hands ownership out of an autoclose/autofree variable. */
static inline int take_fd(int *fd)
{
	int r = *fd;
	*fd = -1;
	return r;
}
#define TAKE_PTR(p) ({ __typeof__(p) _p = (p); (p) = NULL; _p; })

/*
 * The one error convention: a fallible function returns 0 on success, or -1
 * after describing the failure in an err_t owned by the caller, who logs it
 * or adds context with err_prefix and passes it up.
 */
typedef struct {
	char msg[512];
} err_t;

int err_set(err_t *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Like err_set, then appends ": " and strerror(errno). */
int err_sys(err_t *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prepends "context: " to the message already in e. */
int err_prefix(err_t *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Reads a whole file (at most max bytes) into a NUL-terminated buffer.
 * Works for /proc files, whose st_size is 0. */
int read_file(const char *path, size_t max, char **out, size_t *len, err_t *e);
int write_all(int fd, const void *buf, size_t len);
int mkdir_p(const char *path, mode_t mode, err_t *e);
/* snprintf for paths: a path that does not fit is an error (ENAMETOOLONG),
 * never silently shortened. */
int path_fmt(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif

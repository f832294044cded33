#include "util.h"

#include <fcntl.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

extern char **environ;

static bool verbose_on;

int err_set(err_t *e, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return -1;
}

int err_sys(err_t *e, const char *fmt, ...)
{
	int saved = errno;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	size_t n = strlen(e->msg);
	snprintf(e->msg + n, sizeof(e->msg) - n, ": %s", strerror(saved));
	errno = saved;
	return -1;
}

int err_prefix(err_t *e, const char *fmt, ...)
{
	char ctx[sizeof(e->msg)], old[sizeof(e->msg)];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(ctx, sizeof(ctx), fmt, ap);
	va_end(ap);
	memcpy(old, e->msg, sizeof(old));
	snprintf(e->msg, sizeof(e->msg), "%s: %s", ctx, old);
	return -1;
}

static void vsay(const char *prefix, const char *fmt, va_list ap)
{
	/* One write per line, so lines from two processes never interleave. */
	char line[1024];
	size_t n = (size_t)snprintf(line, sizeof(line), "%s", prefix);
	int r = vsnprintf(line + n, sizeof(line) - n - 1, fmt, ap);
	if (r > 0)
		n += (size_t)r < sizeof(line) - n - 1 ? (size_t)r : sizeof(line) - n - 2;
	line[n++] = '\n';
	ssize_t w = write(STDERR_FILENO, line, n);
	(void)w;
}

void say(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsay("", fmt, ap);
	va_end(ap);
}

void verbose(const char *fmt, ...)
{
	if (!verbose_on)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsay("", fmt, ap);
	va_end(ap);
}

void say_error(const err_t *e)
{
	say("error: %s", e->msg);
}

void log_set_verbose(bool on)
{
	verbose_on = on;
}

int path_fmt(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= size) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

int read_file(const char *path, size_t max, char **out, size_t *len, err_t *e)
{
	autoclose int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_sys(e, "open %s", path);
	size_t cap = 4096, n = 0;
	autofree char *buf = malloc(cap + 1);
	if (!buf)
		return err_sys(e, "read %s", path);
	for (;;) {
		if (n == cap) {
			if (cap >= max)
				return err_set(e, "%s: larger than %zu bytes", path, max);
			cap *= 2;
			char *bigger = realloc(buf, cap + 1);
			if (!bigger)
				return err_sys(e, "read %s", path);
			buf = bigger;
		}
		ssize_t r = read(fd, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return err_sys(e, "read %s", path);
		if (r == 0)
			break;
		n += (size_t)r;
	}
	buf[n] = '\0';
	*out = buf;
	buf = NULL;
	if (len)
		*len = n;
	return 0;
}

int read_line(const char *path, char *buf, size_t size, err_t *e)
{
	autoclose int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_sys(e, "open %s", path);
	ssize_t n;
	do
		n = read(fd, buf, size - 1);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return err_sys(e, "read %s", path);
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

int read_at(int fd, void *buf, size_t len, uint64_t off, err_t *e)
{
	size_t done = 0;
	while (done < len) {
		ssize_t n = pread(fd, (char *)buf + done, len - done, (off_t)(off + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return err_sys(e, "read %zu bytes at %llu", len, (unsigned long long)off);
		if (n == 0) {
			errno = EIO;
			return err_set(e, "read %zu bytes at %llu: past the end", len, (unsigned long long)off);
		}
		done += (size_t)n;
	}
	return 0;
}

int write_at(int fd, const void *buf, size_t len, uint64_t off, err_t *e)
{
	size_t done = 0;
	while (done < len) {
		ssize_t n = pwrite(fd, (const char *)buf + done, len - done, (off_t)(off + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return err_sys(e, "write %zu bytes at %llu", len, (unsigned long long)off);
		done += (size_t)n;
	}
	return 0;
}

int mkdir_p(const char *path, unsigned mode, err_t *e)
{
	char buf[4096];
	if (path_fmt(buf, sizeof(buf), "%s", path) < 0)
		return err_sys(e, "mkdir %s", path);
	for (char *p = buf + 1;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char c = *p;
		*p = '\0';
		if (mkdir(buf, mode) < 0 && errno != EEXIST)
			return err_sys(e, "mkdir %s", buf);
		*p = c;
		if (c == '\0')
			break;
	}
	struct stat st;
	if (stat(path, &st) < 0)
		return err_sys(e, "mkdir %s", path);
	if (!S_ISDIR(st.st_mode))
		return err_set(e, "mkdir %s: exists and is not a directory", path);
	return 0;
}

int run_command(char *const argv[], err_t *e)
{
	pid_t pid;
	int r = posix_spawnp(&pid, argv[0], NULL, NULL, argv, environ);
	if (r != 0) {
		errno = r;
		return err_sys(e, "run %s", argv[0]);
	}
	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return err_sys(e, "wait for %s", argv[0]);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

void sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

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

#include "log.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

static char ring_buf[RING_SIZE];
static struct ring ring = { .buf = ring_buf, .cap = sizeof(ring_buf) };
static struct logfile file = { .fd = -1 };
static bool file_on, busy;
static void (*log_sink)(const char *line, size_t n);

uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void file_write(const char *data, size_t n)
{
	if (file_on && logfile_write(&file, data, n, now_ms()) < 0) {
		/* Said on the console only: the file is what just failed. */
		char msg[400];
		int len = snprintf(msg, sizeof(msg), "[init] %s: %s; retrying in %d s\n", file.path,
				   strerror(errno), LOGFILE_RETRY_MS / 1000);
		write_all(STDERR_FILENO, msg, (size_t)len < sizeof(msg) ? (size_t)len : sizeof(msg) - 1);
	}
}

void log_msg(const char *fmt, ...)
{
	char line[1024];
	uint64_t ms = now_ms();
	int n = snprintf(line, sizeof(line), "[init %llu.%03llu] ",
			 (unsigned long long)(ms / 1000), (unsigned long long)(ms % 1000));
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	size_t len = 0;
	while (line[len])
		len++;
	line[len++] = '\n';
	/* One write per message keeps lines whole on a shared console. */
	int saved = errno;
	write_all(STDERR_FILENO, line, len);
	if (getpid() == 1 && !busy) {
		busy = true;
		ring_write(&ring, line, len);
		file_write(line, len);
		if (log_sink)
			log_sink(line, len - 1);
		busy = false;
	}
	errno = saved;
}

void log_file_open(const char *path)
{
	static bool opened;
	logfile_init(&file, path, LOGFILE_LIMIT);
	file_on = true;
	if (opened)
		return;
	opened = true;
	/* Everything said before there was anywhere to write it. */
	static char early[RING_SIZE];
	size_t n = ring_tail(&ring, -1, early);
	file_write(early, n);
}

void log_file_close(void)
{
	logfile_close(&file);
	file_on = false;
}

const struct ring *log_ring(void)
{
	return &ring;
}

void log_set_sink(void (*sink)(const char *line, size_t n))
{
	log_sink = sink;
}

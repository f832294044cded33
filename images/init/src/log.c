#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
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
	errno = saved;
}

#include <stdarg.h>
#include <stdlib.h>

#include "tap.h"

static int count, failed;

void tap_ok(bool pass, const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	printf("%sok %d - ", pass ? "" : "not ", ++count);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	if (!pass) {
		failed++;
		printf("#   at %s:%d\n", file, line);
	}
	fflush(stdout);
}

void tap_diag(const char *fmt, ...)
{
	va_list ap;
	printf("#   ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

static struct {
	const char *name;
	tap_suite_fn fn;
} suites[64];
static size_t nsuites;

void tap_register(const char *name, tap_suite_fn fn)
{
	if (nsuites < sizeof(suites) / sizeof(suites[0]))
		suites[nsuites++] = (typeof(suites[0])){ name, fn };
}

static int by_name(const void *a, const void *b)
{
	return strcmp(((const typeof(suites[0]) *)a)->name, ((const typeof(suites[0]) *)b)->name);
}

int main(void)
{
	/* Constructors run in link order; sort so the output does not depend on it. */
	qsort(suites, nsuites, sizeof(suites[0]), by_name);
	for (size_t i = 0; i < nsuites; i++) {
		printf("# %s\n", suites[i].name);
		suites[i].fn();
	}
	printf("1..%d\n", count);
	if (failed)
		printf("# %d of %d failed\n", failed, count);
	return failed ? 1 : 0;
}

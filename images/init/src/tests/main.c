#include <stdarg.h>

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

int main(void)
{
	test_json();
	test_spec();
	test_modules();
	test_util();
	test_relay();
	test_switchroot();
	printf("1..%d\n", count);
	if (failed)
		printf("# %d of %d failed\n", failed, count);
	return failed ? 1 : 0;
}

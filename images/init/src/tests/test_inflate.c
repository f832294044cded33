#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "../common/inflate.h"
#include "../util.h"
#include "../common/tests/tap.h"

/* Test data is compressed by the real gzip tool at each level, so every block
 * type is met: stored (incompressible bytes), fixed (short inputs) and
 * dynamic codes with long matches and overlapping copies. */
static int gzip_with_tool(const unsigned char *data, size_t n, const char *level, unsigned char **gz, size_t *gzlen)
{
	char in[] = "/tmp/keel-inflate-XXXXXX";
	int fd = mkstemp(in);
	if (fd < 0 || write(fd, data, n) != (ssize_t)n)
		return -1;
	close(fd);
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "gzip -c -n %s %s", level, in);
	FILE *p = popen(cmd, "r");
	if (!p)
		return -1;
	size_t cap = n + 1024, len = 0;
	unsigned char *buf = malloc(cap);
	size_t got;
	while (buf && (got = fread(buf + len, 1, cap - len, p)) > 0) {
		len += got;
		if (len == cap)
			buf = realloc(buf, cap *= 2);
	}
	int status = pclose(p);
	unlink(in);
	*gz = buf;
	*gzlen = len;
	return buf && status == 0 ? 0 : -1;
}

/* Text-like bytes with repeats near and far, and a stretch of noise. */
static unsigned char *sample(size_t n, unsigned seed)
{
	unsigned char *p = malloc(n);
	static const char *const words[] = { "module", "kernel ", "virtio_", "keel\n", "aaaaaaaa", "0123" };
	size_t i = 0;
	while (i < n) {
		seed = seed * 1103515245u + 12345u;
		if ((seed >> 16) % 7 == 0 && i > 40000) { /* a copy from far back */
			size_t from = (seed >> 3) % (i - 33000), len = 3 + (seed >> 20) % 250;
			for (size_t k = 0; k < len && i < n; k++, i++)
				p[i] = p[from + k];
		} else if ((seed >> 16) % 11 == 0) { /* noise */
			for (size_t k = 0; k < 40 && i < n; k++, i++)
				p[i] = (unsigned char)((seed = seed * 1103515245u + 12345u) >> 16);
		} else {
			const char *w = words[(seed >> 16) % ARRAY_LEN(words)];
			for (size_t k = 0; w[k] && i < n; k++, i++)
				p[i] = (unsigned char)w[k];
		}
	}
	return p;
}

static void round_trips(void)
{
	static const size_t sizes[] = { 0, 1, 100, 70000, 600000 };
	static const char *const levels[] = { "-1", "-6", "-9" };
	for (size_t s = 0; s < ARRAY_LEN(sizes); s++) {
		unsigned char *data = sample(sizes[s], (unsigned)s + 1);
		for (size_t l = 0; l < ARRAY_LEN(levels); l++) {
			unsigned char *gz = NULL, *out = NULL;
			size_t gzlen = 0, outlen = 0;
			char why[256] = "";
			if (gzip_with_tool(data, sizes[s], levels[l], &gz, &gzlen) < 0) {
				ok(0, "gzip %s of %zu bytes (is gzip installed?)", levels[l], sizes[s]);
				free(gz);
				continue;
			}
			int r = gunzip_mem(gz, gzlen, 1u << 24, &out, &outlen, why, sizeof(why));
			ok(r == 0 && outlen == sizes[s] && (sizes[s] == 0 || memcmp(out, data, sizes[s]) == 0),
			   "gzip %s of %zu bytes comes back the same", levels[l], sizes[s]);
			if (r < 0)
				tap_diag("%s", why);
			free(out);
			free(gz);
		}
		free(data);
	}

	/* Incompressible bytes: gzip stores them. */
	unsigned char noise[5000];
	unsigned seed = 7;
	for (size_t i = 0; i < sizeof(noise); i++)
		noise[i] = (unsigned char)((seed = seed * 1103515245u + 12345u) >> 16);
	unsigned char *gz = NULL, *out = NULL;
	size_t gzlen = 0, outlen = 0;
	char why[256] = "";
	if (gzip_with_tool(noise, sizeof(noise), "-9", &gz, &gzlen) == 0) {
		ok(gunzip_mem(gz, gzlen, 1u << 20, &out, &outlen, why, sizeof(why)) == 0 && outlen == sizeof(noise) &&
			   memcmp(out, noise, outlen) == 0,
		   "stored blocks come back the same");
		free(out);
	}
	free(gz);
}

static void refusals(void)
{
	unsigned char *data = sample(70000, 3), *gz = NULL, *out = NULL;
	size_t gzlen = 0, outlen = 0;
	char why[256] = "";
	if (gzip_with_tool(data, 70000, "-6", &gz, &gzlen) < 0) {
		ok(0, "gzip -6 for the refusal tests");
		free(data);
		return;
	}
	ok(gunzip_mem(gz, gzlen, 1000, &out, &outlen, why, sizeof(why)) < 0 && strstr(why, "larger than 1000"),
	   "output over the limit is refused");
	ok(gunzip_mem(gz, gzlen - 20, 1u << 20, &out, &outlen, why, sizeof(why)) < 0, "a truncated file is refused: %s", why);
	gz[gzlen - 8] ^= 1;
	ok(gunzip_mem(gz, gzlen, 1u << 20, &out, &outlen, why, sizeof(why)) < 0 && strstr(why, "CRC-32"), "a wrong CRC is refused");
	gz[gzlen - 8] ^= 1;
	gz[gzlen / 2] ^= 0x10;
	int r = gunzip_mem(gz, gzlen, 1u << 20, &out, &outlen, why, sizeof(why));
	ok(r < 0, "a flipped bit in the middle is refused: %s", r < 0 ? why : "(accepted)");
	if (r == 0)
		free(out);
	gz[gzlen / 2] ^= 0x10;
	ok(gunzip_mem(gz, gzlen, 1u << 20, &out, &outlen, why, sizeof(why)) == 0 && outlen == 70000, "and the repaired file reads again");
	free(out);
	gz[0] = 'X';
	ok(gunzip_mem(gz, gzlen, 1u << 20, &out, &outlen, why, sizeof(why)) < 0 && strstr(why, "not gzip"), "not gzip data");
	static const unsigned char reserved[] = { 0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 0x07, 0, 0, 0, 0, 0, 0, 0, 0, 0 };
	ok(gunzip_mem(reserved, sizeof(reserved), 100, &out, &outlen, why, sizeof(why)) < 0 && strstr(why, "reserved"),
	   "block type 3 is refused");
	ok(crc32_update(0, (const unsigned char *)"123456789", 9) == 0xcbf43926u, "CRC-32 check value");
	free(gz);
	free(data);
}

TAP_SUITE(test_inflate)
{
	round_trips();
	refusals();
}

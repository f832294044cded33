#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "../relay.h"
#include "../util.h"
#include "../common/tests/tap.h"

/* What the relay wrote to out so far; out is truncated again afterwards. */
static const char *written(int out)
{
	static char buf[3 * RELAY_LINE_MAX];
	off_t end = lseek(out, 0, SEEK_CUR);
	ssize_t n = pread(out, buf, sizeof(buf) - 1, 0);
	buf[n < 0 ? 0 : n] = '\0';
	(void)end;
	if (ftruncate(out, 0) < 0 || lseek(out, 0, SEEK_SET) < 0)
		buf[0] = '\0';
	return buf;
}

struct seen {
	char text[256];
	size_t lines;
};

/* A sink gets each line without the prefix, a newline just past its end. */
static void collect(void *ctx, const char *line, size_t n)
{
	struct seen *s = ctx;
	size_t len = strlen(s->text);
	if (len + n + 1 < sizeof(s->text) && line[n] == '\n') {
		memcpy(s->text + len, line, n + 1);
		s->text[len + n + 1] = '\0';
	}
	s->lines++;
}

static void sink(int out)
{
	struct relay r;
	struct seen s = { "", 0 };
	relay_init(&r, -1, "svc");
	ok(r.sink == NULL, "relay_init: no sink");
	r.sink = collect;
	r.ctx = &s;
	relay_feed(&r, out, "one\ntwo\nthr", 11);
	relay_flush(&r, out);
	is_str(written(out), "svc: one\nsvc: two\nsvc: thr\n", "the console still gets every line, prefixed");
	is_str(s.text, "one\ntwo\nthr\n", "the sink gets them unprefixed, flushed partial line included");
	is_int(s.lines, 3, "one call per line");
}

TAP_SUITE(test_relay)
{
	int out = memfd_create("relay-test", 0);
	struct relay r;
	ok(out >= 0, "memfd");
	relay_init(&r, -1, "hello");

	relay_feed(&r, out, "one\ntw", 6);
	is_str(written(out), "hello: one\n", "whole lines go out, a partial line waits");
	relay_feed(&r, out, "o\n\nthree", 8);
	is_str(written(out), "hello: two\nhello: \n", "the partial line completes; empty lines kept");
	relay_flush(&r, out);
	is_str(written(out), "hello: three\n", "flush writes the partial line with a newline");
	relay_flush(&r, out);
	is_str(written(out), "", "flush with nothing held writes nothing");

	char *big = malloc(RELAY_LINE_MAX + 11);
	memset(big, 'x', RELAY_LINE_MAX + 10);
	big[RELAY_LINE_MAX + 10] = '\n';
	relay_feed(&r, out, big, RELAY_LINE_MAX + 11);
	const char *w = written(out);
	ok(strlen(w) == 2 * strlen("hello: \n") + RELAY_LINE_MAX + 10 && w[7 + RELAY_LINE_MAX] == '\n' &&
	   !strncmp(w + 8 + RELAY_LINE_MAX, "hello: xxxxxxxxxx\n", 18),
	   "an over-long line goes out in pieces");

	big[RELAY_LINE_MAX] = '\n';
	relay_feed(&r, out, big, RELAY_LINE_MAX + 1);
	w = written(out);
	ok(strlen(w) == strlen("hello: \n") + RELAY_LINE_MAX, "a line exactly filling the buffer is one line");
	free(big);

	int p[2];
	ok(pipe2(p, O_NONBLOCK) == 0, "pipe");
	relay_init(&r, p[0], "svc");
	write_all(p[1], "a\nb", 3);
	relay_read(&r, out, 0);
	is_str(written(out), "svc: a\n", "relay_read relays what is there");
	ok(r.fd == p[0], "and keeps the pipe open");
	close(p[1]);
	relay_read(&r, out, 1);
	is_str(written(out), "svc: b\n", "at end of file the partial line is flushed");
	ok(r.fd == -1, "and the pipe closed");
	sink(out);
	close(out);
}

/* Container output to the console, a line at a time, each line prefixed
 * with the container's name: "hello: some line". Each line also goes,
 * unprefixed, to the relay's sink when it has one. */
#ifndef KEEL_RELAY_H
#define KEEL_RELAY_H

#include <stddef.h>

#define RELAY_LINE_MAX 4096

/* line is n bytes, followed by a newline that is not counted. */
typedef void (*relay_sink_fn)(void *ctx, const char *line, size_t n);

struct relay {
	int fd; /* read end of the container's pipe; -1 once closed */
	char name[64];
	char buf[RELAY_LINE_MAX];
	size_t len;
	relay_sink_fn sink;
	void *ctx;
};

/* Without a sink; set r->sink and r->ctx afterwards for one. */
void relay_init(struct relay *r, int fd, const char *name);
/* Splits data into lines written to out; a line longer than the buffer is
 * written in pieces rather than held back. */
void relay_feed(struct relay *r, int out, const char *data, size_t n);
/* Writes a held partial line, ending it with a newline. */
void relay_flush(struct relay *r, int out);
/* Reads what the (non-blocking) pipe holds; at end-of-file flushes and
 * closes it. With all set, keeps reading until the pipe is empty. */
void relay_read(struct relay *r, int out, int all);

#endif

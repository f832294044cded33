#include "relay.h"

#include <stdio.h>
#include <string.h>

#include "util.h"

void relay_init(struct relay *r, int fd, const char *name)
{
	r->fd = fd;
	r->len = 0;
	r->sink = NULL;
	r->ctx = NULL;
	snprintf(r->name, sizeof(r->name), "%s", name);
}

static void emit(struct relay *r, int out, const char *line, size_t n)
{
	char buf[sizeof(r->name) + 2 + RELAY_LINE_MAX + 1];
	size_t pre = strlen(r->name);
	memcpy(buf, r->name, pre);
	buf[pre++] = ':';
	buf[pre++] = ' ';
	memcpy(buf + pre, line, n);
	buf[pre + n] = '\n';
	/* One write per line, so lines from different containers and from
	 * init itself interleave but never mix. */
	write_all(out, buf, pre + n + 1);
	if (r->sink)
		r->sink(r->ctx, buf + pre, n);
}

void relay_feed(struct relay *r, int out, const char *data, size_t n)
{
	while (n > 0) {
		const char *nl = memchr(data, '\n', n);
		size_t take = nl ? (size_t)(nl - data) : n;
		size_t room = sizeof(r->buf) - r->len;
		if (take > room) {
			/* Too long to hold: out it goes in pieces. */
			memcpy(r->buf + r->len, data, room);
			emit(r, out, r->buf, sizeof(r->buf));
			r->len = 0;
			data += room;
			n -= room;
			continue;
		}
		memcpy(r->buf + r->len, data, take);
		r->len += take;
		data += take;
		n -= take;
		if (nl) {
			emit(r, out, r->buf, r->len);
			r->len = 0;
			data++;
			n--;
		}
	}
}

void relay_flush(struct relay *r, int out)
{
	if (r->len > 0)
		emit(r, out, r->buf, r->len);
	r->len = 0;
}

void relay_read(struct relay *r, int out, int all)
{
	char buf[8192];
	while (r->fd >= 0) {
		ssize_t n = read(r->fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			relay_flush(r, out);
			close_fdp(&r->fd);
			return;
		}
		relay_feed(r, out, buf, (size_t)n);
		if (!all)
			return;
	}
}

#include "logbuf.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "util.h"

static size_t budget_used;

int ring_alloc(struct ring *r)
{
	size_t cap = RING_BUDGET - budget_used;
	if (cap > RING_SIZE)
		cap = RING_SIZE;
	memset(r, 0, sizeof(*r));
	/* A sliver of a ring would hold a line or two; better none. */
	if (cap < 4096 || !(r->buf = malloc(cap)))
		return -1;
	r->cap = cap;
	budget_used += cap;
	return 0;
}

void ring_init(struct ring *r, char *buf, size_t cap)
{
	r->buf = buf;
	r->cap = cap;
	r->total = 0;
}

void ring_write(struct ring *r, const char *data, size_t n)
{
	if (r->cap == 0)
		return;
	if (n > r->cap) {
		/* Only the end survives anyway. */
		r->total += n - r->cap;
		data += n - r->cap;
		n = r->cap;
	}
	size_t at = (size_t)(r->total % r->cap);
	size_t first = r->cap - at < n ? r->cap - at : n;
	memcpy(r->buf + at, data, first);
	memcpy(r->buf, data + first, n - first);
	r->total += n;
}

size_t ring_tail(const struct ring *r, long max_lines, char *out)
{
	if (r->cap == 0 || r->total == 0)
		return 0;
	size_t len, start = 0;
	if (r->total <= r->cap) {
		len = (size_t)r->total;
		memcpy(out, r->buf, len);
	} else {
		/* Oldest first: from the write position round to just before it. */
		size_t at = (size_t)(r->total % r->cap);
		memcpy(out, r->buf + at, r->cap - at);
		memcpy(out + (r->cap - at), r->buf, at);
		len = r->cap;
		/* The first line has most likely lost its beginning. */
		const char *nl = memchr(out, '\n', len);
		start = nl ? (size_t)(nl - out) + 1 : len;
	}
	if (max_lines == 0) {
		start = len;
	} else if (max_lines > 0) {
		/* Back over max_lines newlines, not counting the one that ends
		 * the last line. */
		size_t p = len;
		long seen = 0;
		if (p > start && out[p - 1] == '\n')
			p--;
		while (p > start && !(out[p - 1] == '\n' && ++seen == max_lines))
			p--;
		start = p;
	}
	memmove(out, out + start, len - start);
	return len - start;
}

void logfile_init(struct logfile *f, const char *path, uint64_t limit)
{
	memset(f, 0, sizeof(*f));
	snprintf(f->path, sizeof(f->path), "%s", path);
	f->fd = -1;
	f->limit = limit;
}

bool logfile_should_rotate(uint64_t size, size_t n, uint64_t limit)
{
	return size > 0 && size + n > limit;
}

static int logfile_open(struct logfile *f, int extra)
{
	struct stat st;
	/* O_NONBLOCK does nothing for files on disks; it keeps a FIFO someone
	 * put in the way from stopping PID 1. */
	f->fd = open(f->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW |
				      O_NONBLOCK | extra, 0640);
	if (f->fd < 0)
		return -1;
	if (fstat(f->fd, &st) < 0) {
		close_fdp(&f->fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		close_fdp(&f->fd);
		errno = EINVAL;
		return -1;
	}
	f->size = (uint64_t)st.st_size;
	return 0;
}

static int logfile_rotate(struct logfile *f)
{
	char old[sizeof(f->path) + 2];
	close_fdp(&f->fd);
	if (path_fmt(old, sizeof(old), "%s.1", f->path) < 0)
		return -1;
	/* If the rename fails the file is cut instead: the limit holds either way. */
	return logfile_open(f, rename(f->path, old) < 0 ? O_TRUNC : 0);
}

int logfile_write(struct logfile *f, const char *data, size_t n, uint64_t now)
{
	if (f->failing && now < f->retry_at)
		return 0;
	if ((f->fd < 0 && logfile_open(f, 0) < 0) ||
	    (logfile_should_rotate(f->size, n, f->limit) && logfile_rotate(f) < 0) ||
	    write_all(f->fd, data, n) < 0) {
		int saved = errno;
		bool first = !f->failing;
		close_fdp(&f->fd);
		f->failing = true;
		f->retry_at = now + LOGFILE_RETRY_MS;
		errno = saved ? saved : EIO;
		return first ? -1 : 0;
	}
	f->size += n;
	f->failing = false;
	return 0;
}

void logfile_close(struct logfile *f)
{
	close_fdp(&f->fd);
}

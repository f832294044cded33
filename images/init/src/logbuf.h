/* Where output lines are kept besides the console: an in-memory ring per
 * container (for "keelctl logs") and an append-only file per container
 * under /var/log, rotated once it grows past a limit. */
#ifndef KEEL_LOGBUF_H
#define KEEL_LOGBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RING_SIZE (64u << 10)     /* per container */
#define RING_BUDGET (4u << 20)    /* for all containers together */
#define LOGFILE_LIMIT (1u << 20)  /* rotate NAME.log to NAME.log.1 past this */
#define LOGFILE_RETRY_MS 10000    /* after a failed write, wait this long */

/* The last cap bytes written. Lines go in whole (with their newline), so
 * only the oldest line can be cut, by the wrap; readers drop it. */
struct ring {
	char *buf;
	size_t cap;
	uint64_t total; /* bytes ever written */
};

/* Takes up to RING_SIZE from the shared budget; 0, or -1 when the budget
 * or memory has run out (the ring then stays empty and keeps nothing). */
int ring_alloc(struct ring *r);
/* With a caller's buffer instead (tests, init's own ring). */
void ring_init(struct ring *r, char *buf, size_t cap);
void ring_write(struct ring *r, const char *data, size_t n);
/* Copies the last max_lines whole lines (all of them when max_lines is
 * negative) into out, which must hold r->cap bytes; returns the length. */
size_t ring_tail(const struct ring *r, long max_lines, char *out);

struct logfile {
	char path[256];
	int fd;            /* -1 until the first write */
	uint64_t size;     /* of the open file */
	uint64_t limit;
	uint64_t retry_at; /* while failing: no attempt before this (ms) */
	bool failing;
};

void logfile_init(struct logfile *f, const char *path, uint64_t limit);
/* Whether a file of size bytes must be rotated before n more are added:
 * only a non-empty file is, so one huge line still lands somewhere. */
bool logfile_should_rotate(uint64_t size, size_t n, uint64_t limit);
/* Appends, opening and rotating as needed. 0 when written or dropped
 * quietly (a failure is cooling down); -1 (errno set) when this write just
 * failed: the caller reports that once, and nothing is tried again for
 * LOGFILE_RETRY_MS. now is in ms. Never waits for anything but the write. */
int logfile_write(struct logfile *f, const char *data, size_t n, uint64_t now);
/* Closes the file; the next write reopens it (e.g. after a new mount on
 * /var/log). */
void logfile_close(struct logfile *f);

#endif

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "../logbuf.h"
#include "../util.h"
#include "../common/tests/tap.h"

static const char *tail(const struct ring *r, long lines)
{
	static char out[RING_SIZE + 1];
	size_t n = ring_tail(r, lines, out);
	out[n] = '\0';
	return out;
}

static void ring(void)
{
	char buf[16];
	struct ring r;
	ring_init(&r, buf, sizeof(buf));
	is_str(tail(&r, -1), "", "an empty ring has nothing");
	ring_write(&r, "one\n", 4);
	ring_write(&r, "two\n", 4);
	is_str(tail(&r, -1), "one\ntwo\n", "all lines, oldest first");
	is_str(tail(&r, 1), "two\n", "the last line");
	is_str(tail(&r, 2), "one\ntwo\n", "the last two lines");
	is_str(tail(&r, 9), "one\ntwo\n", "more lines than there are");
	is_str(tail(&r, 0), "", "no lines");

	/* 14 of 16 bytes: not wrapped yet. */
	ring_write(&r, "three\n", 6);
	is_str(tail(&r, -1), "one\ntwo\nthree\n", "nearly full: everything still there");
	ring_write(&r, "four\n", 5);
	is_str(tail(&r, -1), "two\nthree\nfour\n", "wrapped: the cut oldest line is dropped");
	is_str(tail(&r, 2), "three\nfour\n", "wrapped: the last two lines");
	ring_write(&r, "fiftyfive\n", 10);
	is_str(tail(&r, -1), "four\nfiftyfive\n", "wrapped again, across the end of the buffer");
	is_int(r.total, 29, "every byte counted");

	ring_write(&r, "a line longer than the ring itself\n", 35);
	is_str(tail(&r, -1), "", "a line longer than the ring leaves no whole line");
	ring_write(&r, "x\n", 2);
	is_str(tail(&r, -1), "x\n", "and the next line is whole again");

	struct ring none = { 0 };
	ring_write(&none, "lost\n", 5);
	is_str(tail(&none, -1), "", "a ring without memory keeps nothing");

	struct ring big;
	ok(ring_alloc(&big) == 0 && big.cap == RING_SIZE, "ring_alloc: a full-size ring");
	char line[100];
	memset(line, 'y', sizeof(line) - 1);
	line[sizeof(line) - 1] = '\n';
	for (int i = 0; i < 2000; i++)
		ring_write(&big, line, sizeof(line));
	const char *t = tail(&big, -1);
	ok(strlen(t) % 100 == 0 && strlen(t) > RING_SIZE - 100 && t[0] == 'y', "a full ring holds only whole lines");
	free(big.buf);
}

static void rotation(void)
{
	ok(!logfile_should_rotate(0, 5000, 1000), "an empty file takes even a line past the limit");
	ok(!logfile_should_rotate(500, 500, 1000), "up to the limit: no rotation");
	ok(logfile_should_rotate(500, 501, 1000), "past the limit: rotate");
	ok(logfile_should_rotate(1000, 1, 1000), "a full file rotates on the next byte");

	char dir[] = "/tmp/keel-logbuf-test-XXXXXX", path[256], old[300];
	ok(mkdtemp(dir) != NULL, "temp dir");
	snprintf(path, sizeof(path), "%s/svc.log", dir);
	snprintf(old, sizeof(old), "%s/svc.log.1", dir);
	struct logfile f;
	logfile_init(&f, path, 10);
	ok(logfile_write(&f, "12345\n", 6, 0) == 0, "the first write creates the file");
	ok(logfile_write(&f, "abc\n", 4, 0) == 0, "the second fits");
	struct stat st;
	ok(stat(path, &st) == 0 && st.st_size == 10 && access(old, F_OK) < 0, "10 bytes, no old file yet");
	ok(logfile_write(&f, "next\n", 5, 0) == 0, "the third write rotates");
	ok(stat(path, &st) == 0 && st.st_size == 5, "the new file holds the new line");
	ok(stat(old, &st) == 0 && st.st_size == 10, "the old file holds the rest");
	ok(logfile_write(&f, "0123456789\n", 11, 0) == 0 && logfile_write(&f, "z\n", 2, 0) == 0, "rotates again");
	ok(stat(old, &st) == 0 && st.st_size == 11, "only one old file is kept: the newest");
	logfile_close(&f);
	ok(logfile_write(&f, "y\n", 2, 0) == 0 && stat(path, &st) == 0 && st.st_size == 4, "reopens and appends");
	logfile_close(&f);

	/* A place that cannot be written: the first failure is reported, then
	 * writes are dropped quietly until the retry time. */
	char bad[300];
	snprintf(bad, sizeof(bad), "%s/missing/x.log", dir);
	logfile_init(&f, bad, 1000);
	ok(logfile_write(&f, "a\n", 2, 1000) < 0 && errno == ENOENT, "a failing write is reported");
	ok(logfile_write(&f, "b\n", 2, 2000) == 0, "then dropped quietly");
	ok(logfile_write(&f, "c\n", 2, 1000 + LOGFILE_RETRY_MS) == 0 && f.failing, "tried again later, still failing, quietly");
	snprintf(path, sizeof(path), "%s/missing", dir);
	mkdir(path, 0755);
	ok(logfile_write(&f, "d\n", 2, 1000 + 3 * LOGFILE_RETRY_MS) == 0 && !f.failing, "and works once it can");
	logfile_close(&f);
	unlink(bad);
	rmdir(path);
	unlink(old);
	snprintf(path, sizeof(path), "%s/svc.log", dir);
	unlink(path);
	ok(rmdir(dir) == 0, "clean up");
}

TAP_SUITE(test_logbuf)
{
	ring();
	rotation();
}

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "../util.h"
#include "../common/tests/tap.h"

static void paths(void)
{
	static const struct {
		const char *in, *out;
	} good[] = {
		{ "/a//b/./c/", "/a/b/c" }, { "a/b", "/a/b" }, { "/", "/" }, { "", "/" },
		{ "/a/..b/...", "/a/..b/..." }, { "./x", "/x" },
	};
	char out[64];
	err_t e;
	for (size_t i = 0; i < ARRAY_LEN(good); i++) {
		ok(path_clean(good[i].in, out, sizeof(out), &e) == 0, "path_clean \"%s\"", good[i].in);
		is_str(out, good[i].out, "path_clean \"%s\" result", good[i].in);
	}
	static const char *const bad[] = { "/a/../b", "..", "/a/..", "../x" };
	for (size_t i = 0; i < ARRAY_LEN(bad); i++)
		ok(path_clean(bad[i], out, sizeof(out), &e) < 0 && strstr(e.msg, ".."), "path_clean refuses \"%s\"", bad[i]);
	ok(path_clean("/aaaaaaaaaa/bbbbbbbbbb", out, 12, &e) < 0, "path_clean refuses what does not fit");

	char small[8];
	ok(path_fmt(small, sizeof(small), "%s/%s", "abc", "def") == 0, "path_fmt fits");
	ok(path_fmt(small, sizeof(small), "%s/%s", "abcd", "def") < 0 && errno == ENAMETOOLONG,
	   "path_fmt refuses to cut");

	static const struct {
		const char *in, *out;
	} names[] = {
		{ "000-hello", "hello" }, { "hello", "hello" }, { "001-my-svc", "my-svc" },
		{ "12-", "12-" }, { "-x", "-x" }, { "2024", "2024" }, { "1a-b", "1a-b" },
	};
	for (size_t i = 0; i < ARRAY_LEN(names); i++) {
		bundle_display_name(names[i].in, out, sizeof(out));
		is_str(out, names[i].out, "display name of \"%s\"", names[i].in);
	}
}

static void errors(void)
{
	err_t e;
	errno = ENOENT;
	ok(err_sys(&e, "open %s", "/x") == -1, "err_sys returns -1");
	is_str(e.msg, "open /x: No such file or directory", "err_sys appends strerror");
	ok(errno == ENOENT, "err_sys keeps errno");
	err_prefix(&e, "bundle %d", 7);
	is_str(e.msg, "bundle 7: open /x: No such file or directory", "err_prefix adds context");
}

static void files(void)
{
	char dir[] = "/tmp/keel-init-test-XXXXXX", path[256];
	err_t e;
	ok(mkdtemp(dir) != NULL, "temp dir");

	snprintf(path, sizeof(path), "%s/a/b/c", dir);
	ok(mkdir_p(path, 0755, &e) == 0, "mkdir_p makes parents");
	ok(mkdir_p(path, 0755, &e) == 0, "mkdir_p of an existing dir succeeds");

	snprintf(path, sizeof(path), "%s/file", dir);
	int fd = open(path, O_WRONLY | O_CREAT, 0644);
	ok(fd >= 0 && write(fd, "hello\n", 6) == 6, "write a file");
	close(fd);
	char *text = NULL;
	size_t len = 0;
	ok(read_file(path, 100, &text, &len, &e) == 0 && len == 6 && !strcmp(text, "hello\n"), "read_file");
	free(text);
	ok(read_file(path, 5, &text, &len, &e) < 0 && strstr(e.msg, "larger"), "read_file refuses big files");
	snprintf(path, sizeof(path), "%s/file/x", dir);
	ok(mkdir_p(path, 0755, &e) < 0, "mkdir_p through a file fails");
	ok(read_file("/proc/self/stat", 65536, &text, &len, &e) == 0 && len > 0, "read_file reads /proc files");
	free(text);

	const char *mk[] = { "010-b", "000-a", ".hidden", "svc" };
	for (size_t i = 0; i < ARRAY_LEN(mk); i++) {
		snprintf(path, sizeof(path), "%s/list/%s", dir, mk[i]);
		mkdir_p(path, 0755, &e);
	}
	snprintf(path, sizeof(path), "%s/list/005-file", dir);
	close(open(path, O_WRONLY | O_CREAT, 0644));
	char **names;
	size_t n;
	snprintf(path, sizeof(path), "%s/list", dir);
	ok(list_subdirs(path, &names, &n, &e) == 0, "list_subdirs");
	ok(n == 3 && !strcmp(names[0], "000-a") && !strcmp(names[1], "010-b") && !strcmp(names[2], "svc"),
	   "sorted directories only, hidden ones skipped");
	free_names(names, n);
	snprintf(path, sizeof(path), "%s/none", dir);
	ok(list_subdirs(path, &names, &n, &e) == 0 && n == 0, "missing dir lists as empty");

	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	ok(system(cmd) == 0, "clean up");
}

TAP_SUITE(test_util)
{
	paths();
	errors();
	files();
}

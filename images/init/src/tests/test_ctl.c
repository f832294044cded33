#include "../ctl.h"
#include "../keelctl.h"
#include "../common/tests/tap.h"

static int args(struct ctl_req *r, err_t *e, const char *a1, const char *a2, const char *a3, const char *a4,
		const char *a5)
{
	char *argv[] = { "keelctl", (char *)a1, (char *)a2, (char *)a3, (char *)a4, (char *)a5, NULL };
	int argc = 1;
	while (argv[argc])
		argc++;
	return keelctl_parse_args(argc, argv, r, e);
}

/* What keelctl sends for those arguments, as init reads it back. */
static const char *roundtrip(const struct ctl_req *r)
{
	static char buf[256];
	struct ctl_req back;
	err_t e;
	int n = ctl_format_request(r, buf, sizeof(buf));
	if (n < 0 || ctl_parse_request(buf, (size_t)n, &back, &e) < 0)
		return "(unparsable)";
	if (back.cmd != r->cmd || strcmp(back.name, r->name) || back.lines != r->lines || back.follow != r->follow)
		return "(changed)";
	return buf;
}

static void client_args(void)
{
	struct ctl_req r;
	err_t e;
	ok(args(&r, &e, "ps", NULL, NULL, NULL, NULL) == 0 && r.cmd == CTL_PS, "ps");
	is_str(roundtrip(&r), "ps", "ps on the wire");
	ok(args(&r, &e, "logs", "web", NULL, NULL, NULL) == 0 && r.cmd == CTL_LOGS && r.lines == -1 && !r.follow,
	   "logs NAME: everything, once");
	is_str(roundtrip(&r), "logs web all 0", "logs on the wire");
	ok(args(&r, &e, "logs", "-f", "-n", "20", "web") == 0 && r.follow && r.lines == 20 && !strcmp(r.name, "web"),
	   "logs -f -n 20 NAME");
	is_str(roundtrip(&r), "logs web 20 1", "with follow and a count");
	ok(args(&r, &e, "logs", "web", "-n5", NULL, NULL) == 0 && r.lines == 5, "-n5, after the name");
	ok(args(&r, &e, "logs", "--tail=0", "--follow", "web", NULL) == 0 && r.lines == 0 && r.follow,
	   "--tail=0 --follow");
	is_str(roundtrip(&r), "logs web 0 1", "zero lines is not all lines");
	ok(args(&r, &e, "stop", "web", NULL, NULL, NULL) == 0 && r.cmd == CTL_STOP, "stop NAME");
	is_str(roundtrip(&r), "stop web", "stop on the wire");
	ok(args(&r, &e, "restart", "db.1", NULL, NULL, NULL) == 0 && r.cmd == CTL_RESTART, "restart NAME");
	is_str(roundtrip(&r), "restart db.1", "restart on the wire");
	ok(args(&r, &e, "start", "a_b-c", NULL, NULL, NULL) == 0 && r.cmd == CTL_START, "start NAME");
	ok(args(&r, &e, "poweroff", NULL, NULL, NULL, NULL) == 0 && r.cmd == CTL_POWEROFF, "poweroff");
	ok(args(&r, &e, "reboot", NULL, NULL, NULL, NULL) == 0 && r.cmd == CTL_REBOOT, "reboot");
	ok(args(&r, &e, "version", NULL, NULL, NULL, NULL) == 0 && r.cmd == CTL_VERSION, "version");
	is_str(roundtrip(&r), "version", "version on the wire");
	ok(args(&r, &e, "--help", NULL, NULL, NULL, NULL) == 1, "--help asks for help");

	ok(args(&r, &e, NULL, NULL, NULL, NULL, NULL) < 0 && strstr(e.msg, "no command"), "no command: usage");
	ok(args(&r, &e, "frobnicate", NULL, NULL, NULL, NULL) < 0 && strstr(e.msg, "frobnicate"), "unknown command");
	ok(args(&r, &e, "stop", NULL, NULL, NULL, NULL) < 0 && strstr(e.msg, "name"), "stop without a name");
	ok(args(&r, &e, "stop", "a", "b", NULL, NULL) < 0 && strstr(e.msg, "too many"), "stop with two names");
	ok(args(&r, &e, "ps", "a", NULL, NULL, NULL) < 0 && strstr(e.msg, "no arguments"), "ps with an argument");
	ok(args(&r, &e, "logs", "-n", "x", "web", NULL) < 0 && strstr(e.msg, "line count"), "-n without a number");
	ok(args(&r, &e, "logs", "web", "-n", NULL, NULL) < 0 && strstr(e.msg, "number"), "-n at the end");
	ok(args(&r, &e, "logs", "-x", "web", NULL, NULL) < 0 && strstr(e.msg, "-x"), "unknown option");
	ok(args(&r, &e, "stop", "../etc", NULL, NULL, NULL) < 0 && strstr(e.msg, "name"), "a name with a slash");
	ok(args(&r, &e, "stop", "-", NULL, NULL, NULL) == 0, "\"-\" is a (strange) name, not an option");
}

static int req(const char *text, struct ctl_req *r, err_t *e)
{
	return ctl_parse_request(text, strlen(text), r, e);
}

static void server_parse(void)
{
	struct ctl_req r;
	err_t e;
	ok(req("ps", &r, &e) == 0 && r.cmd == CTL_PS, "ps");
	ok(req("ps\n", &r, &e) == 0 && r.cmd == CTL_PS, "a trailing newline is fine");
	ok(req("logs web 12 0", &r, &e) == 0 && r.lines == 12 && !r.follow && !strcmp(r.name, "web"), "logs");
	ok(req("logs web all 1", &r, &e) == 0 && r.lines == -1 && r.follow, "logs all, following");
	ok(req("", &r, &e) < 0, "empty");
	ok(req("  ", &r, &e) < 0, "only spaces");
	ok(req("rm -rf /", &r, &e) < 0 && strstr(e.msg, "unknown command"), "unknown command");
	ok(req("stop", &r, &e) < 0 && strstr(e.msg, "1 arguments"), "stop without a name");
	ok(req("ps now", &r, &e) < 0, "ps with an argument");
	ok(req("stop a/b", &r, &e) < 0 && strstr(e.msg, "bad name"), "a bad name");
	ok(req("logs web -3 0", &r, &e) < 0 && strstr(e.msg, "line count"), "a negative count");
	ok(req("logs web 3x 0", &r, &e) < 0, "a count with junk");
	ok(req("logs web 3 yes", &r, &e) < 0 && strstr(e.msg, "follow"), "a bad follow flag");
	ok(ctl_parse_request("ps\0x", 4, &r, &e) < 0, "a NUL inside");
	char longreq[400];
	memset(longreq, 'a', sizeof(longreq));
	ok(ctl_parse_request(longreq, sizeof(longreq), &r, &e) < 0, "too long");
	ok(req("a b c d e f", &r, &e) < 0, "too many words");

	ok(ctl_name_ok("web-1.2_x"), "names: letters, digits, . _ -");
	ok(!ctl_name_ok(""), "names: not empty");
	ok(!ctl_name_ok("a b"), "names: no spaces");
	char n64[65];
	memset(n64, 'n', 64);
	n64[64] = '\0';
	ok(!ctl_name_ok(n64), "names: at most 63 characters");
	n64[63] = '\0';
	ok(ctl_name_ok(n64), "names: 63 characters are fine");
}

TAP_SUITE(test_ctl)
{
	client_args();
	server_parse();
}

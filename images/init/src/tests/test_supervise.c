#include <sys/wait.h>

#include "../supervise.h"
#include "../system.h"
#include "../common/tests/tap.h"

static void backoff(void)
{
	static const uint64_t want[] = { 100, 200, 400, 800, 1600, 3200, 6400, 12800, 25600, 30000, 30000 };
	for (unsigned i = 0; i < ARRAY_LEN(want); i++)
		is_int(backoff_delay_ms(i), want[i], "backoff after %u quick exits: %llu ms", i,
		       (unsigned long long)want[i]);
	is_int(backoff_delay_ms(1000), BACKOFF_MAX_MS, "a long crash loop stays at the maximum");
	is_int(backoff_delay_ms(~0u), BACKOFF_MAX_MS, "and never overflows");
}

static int parse(const char *text, struct svc_config *c, err_t *e)
{
	return svc_config_parse(text, strlen(text), c, e);
}

static void config(void)
{
	struct svc_config c;
	err_t e;
	ok(parse("{}", &c, &e) == 0 && c.restart == RESTART_ALWAYS && c.nafter == 0, "{}: always, no after");
	ok(parse("{\"restart\":\"never\"}", &c, &e) == 0 && c.restart == RESTART_NEVER, "restart never");
	ok(parse("{\"restart\":\"on-failure\",\"after\":[\"db\",\"net-up\"]}\n", &c, &e) == 0 &&
	   c.restart == RESTART_ON_FAILURE && c.nafter == 2, "on-failure with two after");
	is_str(c.after[0], "db", "after[0]");
	is_str(c.after[1], "net-up", "after[1]");
	ok(parse("{\"restart\":\"always\",\"future\":{\"x\":1}}", &c, &e) == 0 && c.restart == RESTART_ALWAYS,
	   "unknown keys are ignored");
	ok(parse("{\"restart\":null,\"after\":null}", &c, &e) == 0 && c.restart == RESTART_ALWAYS,
	   "null means the default");
	ok(parse("{\"restart\":\"sometimes\"}", &c, &e) < 0 && strstr(e.msg, "sometimes"), "an unknown policy is refused");
	ok(parse("{\"restart\":1}", &c, &e) < 0 && strstr(e.msg, "restart"), "a policy must be a string");
	ok(parse("{\"after\":\"db\"}", &c, &e) < 0 && strstr(e.msg, "after"), "after must be an array");
	ok(parse("{\"after\":[\"\"]}", &c, &e) < 0, "an empty name is refused");
	ok(parse("{\"after\":[3]}", &c, &e) < 0, "a number is not a name");
	ok(parse("[]", &c, &e) < 0 && strstr(e.msg, "object"), "not an object");
	ok(parse("{\"restart\":", &c, &e) < 0, "broken JSON");
	char many[2048] = "{\"after\":[";
	for (int i = 0; i <= SVC_AFTER_MAX; i++)
		snprintf(many + strlen(many), sizeof(many) - strlen(many), "%s\"s%d\"", i ? "," : "", i);
	strcat(many, "]}");
	ok(parse(many, &c, &e) < 0 && strstr(e.msg, "more than"), "too many after names");
	is_str(restart_policy_name(RESTART_ON_FAILURE), "on-failure", "policy names");
}

static void formatting(void)
{
	static const struct {
		uint64_t ms;
		const char *want;
	} d[] = {
		{ 0, "0ms" }, { 850, "850ms" }, { 1000, "1s" }, { 59999, "59s" }, { 60000, "1m00s" },
		{ 185000, "3m05s" }, { 3600000, "1h00m" }, { 7620000, "2h07m" }, { 86400000, "1d00h" },
		{ 273600000, "3d04h" },
	};
	char buf[32];
	for (size_t i = 0; i < ARRAY_LEN(d); i++) {
		format_duration(d[i].ms, buf, sizeof(buf));
		is_str(buf, d[i].want, "format_duration(%llu)", (unsigned long long)d[i].ms);
	}
	describe_status(W_EXITCODE(3, 0), buf, sizeof(buf));
	is_str(buf, "exit 3", "describe_status: exit code");
	describe_status(W_EXITCODE(0, 9), buf, sizeof(buf));
	is_str(buf, "killed by signal 9", "describe_status: signal");
	is_str(sup_state_name(ST_RESTARTING), "restarting", "state names");
	is_str(sup_state_name(ST_STOPPED), "stopped", "state names");
}

static void cmdline(void)
{
	char v[16];
	const char *c = "console=ttyS0 keel.stop_timeout=3 quiet keel.stop_timeoutx=9\n";
	ok(cmdline_value(c, "keel.stop_timeout", v, sizeof(v)) == 0, "cmdline_value finds a key");
	is_str(v, "3", "and its value");
	ok(cmdline_value(c, "console", v, sizeof(v)) == 0 && !strcmp(v, "ttyS0"), "the first word");
	ok(cmdline_value(c, "quiet", v, sizeof(v)) < 0, "a word without a value");
	ok(cmdline_value(c, "keel.stop", v, sizeof(v)) < 0, "a prefix of a key is not the key");
	ok(cmdline_value("a=1 a=2", "a", v, sizeof(v)) == 0 && !strcmp(v, "2"), "the last one wins");
	ok(cmdline_value("a=12345678901234567890", "a", v, sizeof(v)) < 0, "a value that does not fit");
	ok(cmdline_value("a=", "a", v, sizeof(v)) == 0 && v[0] == '\0', "an empty value");
}

static void bytes(void)
{
	static const struct {
		uint64_t n;
		const char *want;
	} b[] = {
		{ 0, "0B" }, { 1023, "1023B" }, { 1024, "1.0KiB" }, { 1536, "1.5KiB" }, { 10 << 20, "10.0MiB" },
		{ 150ull << 20, "150MiB" }, { 1048575, "1024KiB" }, { 3ull << 40, "3.0TiB" }, { 5000ull << 40, "5000TiB" },
	};
	char buf[32];
	for (size_t i = 0; i < ARRAY_LEN(b); i++) {
		format_bytes(b[i].n, buf, sizeof(buf));
		is_str(buf, b[i].want, "format_bytes(%llu)", (unsigned long long)b[i].n);
	}
}

TAP_SUITE(test_supervise)
{
	backoff();
	config();
	formatting();
	cmdline();
	bytes();
}

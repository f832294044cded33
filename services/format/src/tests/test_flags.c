#include "../common/flags.h"
#include "../common/tests/tap.h"

static const char *str_a, *str_b;
static bool bool_x;
static const struct flag flags[] = {
	{ "a", "a string", &str_a, NULL },
	{ "bee", "another string", &str_b, NULL },
	{ "x", "a boolean", NULL, &bool_x },
};

static int parse(int argc, char *const argv[], err_t *e)
{
	str_a = str_b = NULL;
	bool_x = false;
	return flags_parse(flags, ARRAY_LEN(flags), argc, argv, e);
}

#define ARGS(...) ((char *const[]){ "prog", __VA_ARGS__, NULL })
#define COUNT(...) ((int)(sizeof((char *const[]){ "prog", __VA_ARGS__ }) / sizeof(char *)))
#define PARSE(...) parse(COUNT(__VA_ARGS__), ARGS(__VA_ARGS__), &e)

TAP_SUITE(test_flags)
{
	err_t e;
	is_int(PARSE("-a", "1", "--bee=2", "-x", "pos"), 5, "-a v, --bee=v and -x, then a positional");
	is_str(str_a, "1", "-a value");
	is_str(str_b, "2", "--bee=value");
	ok(bool_x, "-x is true");

	is_int(PARSE("-x=false", "-a=", "d1", "d2"), 3, "stops at the first positional");
	ok(!bool_x, "-x=false");
	is_str(str_a, "", "-a= gives an empty value");

	is_int(PARSE("-a", "-x"), 3, "a string flag takes the next argument even when it looks like a flag");
	is_str(str_a, "-x", "-a -x");
	ok(!bool_x, "and -x was not set");

	is_int(PARSE("-a", "1", "-a", "2"), 5, "a flag given twice");
	is_str(str_a, "2", "the last one wins");

	is_int(PARSE("--", "-x"), 2, "-- ends the flags and is consumed");
	ok(!bool_x, "-x after -- is positional");
	is_int(PARSE("-", "-x"), 1, "a lone - is positional");
	is_int(PARSE("dev", "-x"), 1, "flags after a positional are positional (as in Go)");

	static const char *const truthy[] = { "1", "t", "T", "true", "TRUE", "True" };
	for (size_t i = 0; i < ARRAY_LEN(truthy); i++) {
		char arg[16];
		snprintf(arg, sizeof(arg), "-x=%s", truthy[i]);
		PARSE(arg);
		ok(bool_x, "%s", arg);
	}

	is_int(PARSE("-nope"), FLAGS_ERROR, "an unknown flag");
	is_str(e.msg, "flag provided but not defined: -nope", "says which (Go's words)");
	is_int(PARSE("-a"), FLAGS_ERROR, "a missing value");
	is_str(e.msg, "flag needs an argument: -a", "says which");
	is_int(PARSE("-x=maybe"), FLAGS_ERROR, "a bad boolean");
	is_str(e.msg, "invalid boolean value \"maybe\" for -x: parse error", "says so");
	is_int(PARSE("---a"), FLAGS_ERROR, "three dashes");
	is_str(e.msg, "bad flag syntax: ---a", "bad syntax");
	is_int(PARSE("-=a"), FLAGS_ERROR, "-=");
	is_int(PARSE("-h"), FLAGS_HELP, "-h asks for help");
	is_int(PARSE("--help"), FLAGS_HELP, "--help asks for help");
	is_int(parse(1, (char *const[]){ "prog", NULL }, &e), 1, "no arguments at all");
}

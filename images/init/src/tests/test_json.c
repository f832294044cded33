#include <math.h>
#include <stdlib.h>

#include "../json.h"
#include "../common/tests/tap.h"

static struct json *parse(const char *s, err_t *e)
{
	return json_parse(s, strlen(s), e);
}

static bool refused(const char *s)
{
	err_t e;
	struct json *j = parse(s, &e);
	json_free(j);
	return j == NULL && e.msg[0] != '\0';
}

static void strings(void)
{
	err_t e;
	struct json *j = parse("\"q\\\" bs\\\\ sl\\/ \\b\\f\\n\\r\\t end\"", &e);
	ok(j && j->type == JSON_STRING, "string with simple escapes parses");
	if (j)
		is_str(j->string, "q\" bs\\ sl/ \b\f\n\r\t end", "simple escapes decode");
	json_free(j);

	j = parse("\"\\u0041\\u00e9\\u20AC\\ud83d\\ude00\"", &e);
	ok(j != NULL, "\\u escapes parse");
	if (j) {
		is_str(j->string, "A\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80",
		       "\\u escapes decode to UTF-8, surrogate pairs joined");
		is_int(j->len, 10, "decoded length");
	}
	json_free(j);

	j = parse("\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"", &e);
	ok(j && strcmp(j->string, "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80") == 0,
	   "raw UTF-8 passes through");
	json_free(j);

	ok(refused("\"\\ud83d\""), "lone high surrogate refused");
	ok(refused("\"\\ud83dx\""), "high surrogate followed by text refused");
	ok(refused("\"\\ude00\""), "lone low surrogate refused");
	ok(refused("\"\\ud83d\\u0041\""), "high surrogate with a non-low escape refused");
	ok(refused("\"\\u0000\""), "\\u0000 refused");
	ok(refused("\"\\u12\""), "short \\u escape refused");
	ok(refused("\"\\u12g4\""), "non-hex \\u escape refused");
	ok(refused("\"\\x\""), "unknown escape refused");
	ok(refused("\"a\nb\""), "raw control character refused");
	ok(refused("\"\xc0\x80\""), "overlong UTF-8 refused");
	ok(refused("\"\xed\xa0\x80\""), "UTF-8 encoded surrogate refused");
	ok(refused("\"\xe2\x82\""), "truncated UTF-8 refused");
	ok(refused("\"\xff\""), "invalid UTF-8 byte refused");
	ok(refused("\"abc"), "unterminated string refused");
	ok(refused("\"abc\\"), "string ending in a backslash refused");
	ok(refused("'abc'"), "single quotes refused");

	err_t e2;
	const char with_nul[] = "\"a\0b\"";
	ok(json_parse(with_nul, sizeof(with_nul) - 1, &e2) == NULL, "raw NUL byte in a string refused");
}

static void numbers(void)
{
	static const struct {
		const char *text;
		double value;
	} good[] = {
		{ "0", 0 }, { "-0", 0 }, { "42", 42 }, { "-17", -17 }, { "12.5", 12.5 },
		{ "1e3", 1000 }, { "1E+2", 100 }, { "-1.5E-2", -0.015 }, { "4294967295", 4294967295.0 },
	};
	for (size_t i = 0; i < ARRAY_LEN(good); i++) {
		err_t e;
		struct json *j = parse(good[i].text, &e);
		ok(j && j->type == JSON_NUMBER && fabs(j->number - good[i].value) < 1e-12,
		   "number %s", good[i].text);
		json_free(j);
	}
	static const char *const bad[] = { "01", "+1", "1.", ".5", "-", "1e", "1e+", "0x10",
					   "NaN", "Infinity", "-Infinity", "1e400", "1.2.3", "--1" };
	for (size_t i = 0; i < ARRAY_LEN(bad); i++)
		ok(refused(bad[i]), "number %s refused", bad[i]);

	uint32_t v;
	err_t e;
	struct json *j = parse("[0, 4294967295, -1, 1.5, 4294967296, \"7\"]", &e);
	const struct json *c = j ? j->child : NULL;
	ok(c && json_u32(c, &v) == 0 && v == 0, "json_u32 0");
	c = c ? c->next : NULL;
	ok(c && json_u32(c, &v) == 0 && v == 4294967295u, "json_u32 max");
	c = c ? c->next : NULL;
	ok(c && json_u32(c, &v) < 0, "json_u32 refuses negatives");
	c = c ? c->next : NULL;
	ok(c && json_u32(c, &v) < 0, "json_u32 refuses fractions");
	c = c ? c->next : NULL;
	ok(c && json_u32(c, &v) < 0, "json_u32 refuses 2^32");
	c = c ? c->next : NULL;
	ok(c && json_u32(c, &v) < 0, "json_u32 refuses strings");
	json_free(j);
}

static void structure(void)
{
	err_t e;
	struct json *j = parse(" { \"a\" : [ 1 , true , false , null , { } , [ ] ] ,\n\t\"b\":{\"c\":\"d\"}, "
			       "\"a2\": \"x\", \"b\": {\"c\": \"last\"} } ",
			       &e);
	ok(j && j->type == JSON_OBJECT && j->count == 4, "object with whitespace everywhere");
	const struct json *a = json_get(j, "a");
	ok(a && a->type == JSON_ARRAY && a->count == 6, "array member");
	if (a && a->count == 6) {
		const struct json *v = a->child;
		ok(v->type == JSON_NUMBER && v->number == 1, "array[0] number");
		v = v->next;
		ok(v->type == JSON_BOOL && v->boolean, "array[1] true");
		v = v->next;
		ok(v->type == JSON_BOOL && !v->boolean, "array[2] false");
		v = v->next;
		ok(v->type == JSON_NULL, "array[3] null");
		v = v->next;
		ok(v->type == JSON_OBJECT && v->count == 0 && !v->child, "array[4] empty object");
		v = v->next;
		ok(v->type == JSON_ARRAY && v->count == 0 && !v->child, "array[5] empty array");
	}
	is_str(json_get(json_get(j, "b"), "c")->string, "last", "duplicate keys: the last one wins");
	ok(json_get(j, "nope") == NULL, "missing key gives NULL");
	ok(json_get(a, "x") == NULL, "json_get on a non-object gives NULL");
	json_free(j);

	char deep[2 * JSON_MAX_DEPTH + 3];
	for (int depth = JSON_MAX_DEPTH; depth <= JSON_MAX_DEPTH + 1; depth++) {
		memset(deep, '[', (size_t)depth);
		memset(deep + depth, ']', (size_t)depth);
		deep[2 * depth] = '\0';
		j = parse(deep, &e);
		if (depth == JSON_MAX_DEPTH)
			ok(j != NULL, "nesting %d deep accepted", depth);
		else
			ok(j == NULL && strstr(e.msg, "deep"), "nesting %d deep refused", depth);
		json_free(j);
	}

	static const char *const bad[] = {
		"", " ", "{", "[", "[1,]", "[,1]", "{\"a\":1,}", "{\"a\" 1}", "{a:1}", "{\"a\":}",
		"[1 2]", "tru", "nul", "fals", "true false", "{}x", "[]]", "\xef\xbb\xbf{}", "{\"a\":1]",
		"[1}", "{1:2}",
	};
	for (size_t i = 0; i < ARRAY_LEN(bad); i++)
		ok(refused(bad[i]), "malformed input %zu refused", i);

	j = parse("[1, x]", &e);
	ok(j == NULL && strstr(e.msg, "at byte 4"), "errors say where: %s", e.msg);

	size_t big = JSON_MAX_SIZE + 1;
	char *huge = malloc(big);
	memset(huge, ' ', big);
	huge[0] = '0';
	ok(json_parse(huge, big, &e) == NULL, "input over the size limit refused");
	j = json_parse(huge, big - 1, &e);
	ok(j && j->type == JSON_NUMBER, "input at the size limit parses");
	json_free(j);
	free(huge);
}

TAP_SUITE(test_json)
{
	strings();
	numbers();
	structure();
}

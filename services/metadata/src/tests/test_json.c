#include "../common/tests/tap.h"
#include "../json.h"

static int parse(const char *text, struct json *j, err_t *e)
{
	return json_parse(text, strlen(text), j, e);
}

TAP_SUITE(test_json)
{
	struct json j;
	err_t e;

	is_int(parse(" {\"a\": [1, -2.5e3, true, false, null], \"b\": {\"c\": \"d\"}} ", &j, &e), 0, "an object with every kind of value");
	is_int(j.type, JSON_OBJECT, "the root is an object");
	is_int(j.n, 2, "with 2 members");
	is_str(j.kids[0].key, "a", "in document order");
	const struct json *a = json_get(&j, "a");
	ok(a && a->type == JSON_ARRAY && a->n == 5, "a is an array of 5");
	is_str(a->kids[1].str, "-2.5e3", "a number keeps its text");
	is_int(a->kids[2].type, JSON_TRUE, "true");
	is_int(a->kids[4].type, JSON_NULL, "null");
	is_str(json_get(json_get(&j, "b"), "c")->str, "d", "nested member");
	ok(json_get(&j, "zz") == NULL, "a missing member is NULL");
	json_free(&j);

	is_int(parse("\"q\\\"b\\\\s\\/n\\n\\t\\u00e9\\u20ac\\ud83d\\ude00\"", &j, &e), 0, "escapes");
	is_str(j.str, "q\"b\\s/n\n\t\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", "decoded, \\u as UTF-8, a surrogate pair as one character");
	json_free(&j);
	is_int(parse("\"a\\ud800b\"", &j, &e), 0, "a lone surrogate");
	is_str(j.str, "a\xef\xbf\xbd" "b", "becomes U+FFFD, as Go decodes it");
	json_free(&j);
	is_int(parse("\"x\\u0000y\"", &j, &e), 0, "an escaped NUL");
	is_int(j.len, 3, "keeps the length past the NUL");
	json_free(&j);

	is_int(parse("{\"Content\": \"1\", \"content\": \"2\", \"CONTENT\": \"3\"}", &j, &e), 0, "keys differing in case");
	is_str(json_get(&j, "content")->str, "2", "an exact match wins");
	json_free(&j);
	is_int(parse("{\"Perm\": \"1\", \"PERM\": \"2\"}", &j, &e), 0, "only folded matches");
	is_str(json_get(&j, "perm")->str, "2", "the last one wins, as in Go");
	json_free(&j);
	is_int(parse("{\"k\": 1, \"k\": 2}", &j, &e), 0, "a repeated key");
	is_str(json_get(&j, "k")->str, "2", "the last one wins");
	json_free(&j);

	static const struct {
		const char *text, *msg;
	} bad[] = {
		{ "", "at byte 0: expected a value (the text ends here)" },
		{ "hello", "at byte 0: expected a value, found 'h'" },
		{ "{\"a\": 1,}", "at byte 8: expected a member name in quotes, found '}'" },
		{ "{\"a\" 1}", "at byte 5: expected ':' after a member name, found '1'" },
		{ "[1 2]", "at byte 3: expected ',' or ']', found '2'" },
		{ "{} x", "at byte 3: unexpected text after the value, found 'x'" },
		{ "\"abc", "at byte 4: unterminated string (the text ends here)" },
		{ "\"a\nb\"", "at byte 2: control character in string, found byte 0x0a" },
		{ "\"\\x\"", "at byte 2: bad escape in string, found 'x'" },
		{ "\"\\u12g4\"", "at byte 5: expected 4 hex digits after \\u, found 'g'" },
		{ "01", "at byte 1: unexpected text after the value, found '1'" },
		{ "1.", "at byte 2: expected a digit after '.' (the text ends here)" },
		{ "-", "at byte 1: expected a digit (the text ends here)" },
		{ "1e+", "at byte 3: expected a digit in the exponent (the text ends here)" },
		{ "tru", "at byte 0: expected a value, found 't'" },
		{ "\xef\xbb\xbf{}", "at byte 0: expected a value, found byte 0xef" },
	};
	for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
		is_int(parse(bad[i].text, &j, &e), -1, "refused: %s", bad[i].msg);
		is_str(e.msg, bad[i].msg, "  says where");
	}

	char deep[2000];
	memset(deep, '[', 1000);
	memset(deep + 1000, ']', 1000);
	is_int(json_parse(deep, sizeof(deep), &j, &e), -1, "1000 nested arrays are refused");
	ok(strstr(e.msg, "nested too deeply") != NULL, "  as nested too deeply");
	is_int(json_parse(deep + 800, 400, &j, &e), 0, "200 are fine");
	json_free(&j);
}

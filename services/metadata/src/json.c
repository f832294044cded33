#include "json.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* Deep enough for any real configuration, shallow enough for the stack. */
#define MAX_DEPTH 256

struct parser {
	const char *s;
	size_t len, pos;
	err_t *e;
};

static int fail(struct parser *p, const char *what)
{
	if (p->pos >= p->len)
		return err_set(p->e, "at byte %zu: %s (the text ends here)", p->pos, what);
	unsigned char c = (unsigned char)p->s[p->pos];
	if (c >= 0x20 && c < 0x7f)
		return err_set(p->e, "at byte %zu: %s, found '%c'", p->pos, what, c);
	return err_set(p->e, "at byte %zu: %s, found byte 0x%02x", p->pos, what, c);
}

static void skip_space(struct parser *p)
{
	while (p->pos < p->len && strchr(" \t\r\n", p->s[p->pos]) && p->s[p->pos] != '\0')
		p->pos++;
}

static bool literal(struct parser *p, const char *word)
{
	size_t n = strlen(word);
	if (p->len - p->pos < n || memcmp(p->s + p->pos, word, n) != 0)
		return false;
	p->pos += n;
	return true;
}

static int hex4(struct parser *p, unsigned *out)
{
	unsigned v = 0;
	for (int i = 0; i < 4; i++, p->pos++) {
		if (p->pos >= p->len)
			return fail(p, "expected 4 hex digits after \\u");
		char c = p->s[p->pos];
		unsigned d;
		if (c >= '0' && c <= '9')
			d = (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			d = (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			d = (unsigned)(c - 'A' + 10);
		else
			return fail(p, "expected 4 hex digits after \\u");
		v = v << 4 | d;
	}
	*out = v;
	return 0;
}

static size_t put_utf8(char *dst, unsigned cp)
{
	if (cp < 0x80) {
		dst[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		dst[0] = (char)(0xc0 | cp >> 6);
		dst[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		dst[0] = (char)(0xe0 | cp >> 12);
		dst[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		dst[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	dst[0] = (char)(0xf0 | cp >> 18);
	dst[1] = (char)(0x80 | (cp >> 12 & 0x3f));
	dst[2] = (char)(0x80 | (cp >> 6 & 0x3f));
	dst[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* At the opening quote. The decoded text is never longer than the source
 * (an escape of 6 or 12 bytes yields at most 4), so one allocation does. */
static int parse_string(struct parser *p, char **out, size_t *out_len)
{
	p->pos++;
	size_t start = p->pos;
	char *buf = malloc(p->len - start + 1);
	if (!buf)
		return err_sys(p->e, "parsing JSON");
	size_t n = 0;
	for (;;) {
		if (p->pos >= p->len) {
			free(buf);
			return fail(p, "unterminated string");
		}
		unsigned char c = (unsigned char)p->s[p->pos];
		if (c == '"') {
			p->pos++;
			break;
		}
		if (c < 0x20) {
			free(buf);
			return fail(p, "control character in string");
		}
		if (c != '\\') {
			buf[n++] = (char)c;
			p->pos++;
			continue;
		}
		p->pos++;
		char esc = p->pos < p->len ? p->s[p->pos] : '\0';
		const char *from = "\"\\/bfnrt", *to = "\"\\/\b\f\n\r\t";
		const char *hit = esc ? strchr(from, esc) : NULL;
		if (hit) {
			buf[n++] = to[hit - from];
			p->pos++;
			continue;
		}
		if (esc != 'u') {
			free(buf);
			return fail(p, "bad escape in string");
		}
		p->pos++;
		unsigned cp;
		if (hex4(p, &cp) < 0) {
			free(buf);
			return -1;
		}
		if (cp >= 0xd800 && cp < 0xdc00 && p->len - p->pos >= 6 && p->s[p->pos] == '\\' &&
		    p->s[p->pos + 1] == 'u') {
			size_t save = p->pos;
			unsigned lo;
			p->pos += 2;
			if (hex4(p, &lo) == 0 && lo >= 0xdc00 && lo < 0xe000)
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
			else
				p->pos = save;
		}
		/* A lone surrogate becomes U+FFFD, as Go decodes it. */
		if (cp >= 0xd800 && cp < 0xe000)
			cp = 0xfffd;
		n += put_utf8(buf + n, cp);
	}
	buf[n] = '\0';
	*out = buf;
	*out_len = n;
	return 0;
}

static bool digit(struct parser *p)
{
	return p->pos < p->len && p->s[p->pos] >= '0' && p->s[p->pos] <= '9';
}

static int parse_number(struct parser *p, struct json *out)
{
	size_t start = p->pos;
	if (p->s[p->pos] == '-')
		p->pos++;
	if (!digit(p))
		return fail(p, "expected a digit");
	if (p->s[p->pos] == '0')
		p->pos++;
	else
		while (digit(p))
			p->pos++;
	if (p->pos < p->len && p->s[p->pos] == '.') {
		p->pos++;
		if (!digit(p))
			return fail(p, "expected a digit after '.'");
		while (digit(p))
			p->pos++;
	}
	if (p->pos < p->len && (p->s[p->pos] == 'e' || p->s[p->pos] == 'E')) {
		p->pos++;
		if (p->pos < p->len && (p->s[p->pos] == '+' || p->s[p->pos] == '-'))
			p->pos++;
		if (!digit(p))
			return fail(p, "expected a digit in the exponent");
		while (digit(p))
			p->pos++;
	}
	out->type = JSON_NUMBER;
	out->len = p->pos - start;
	out->str = strndup(p->s + start, out->len);
	if (!out->str)
		return err_sys(p->e, "parsing JSON");
	return 0;
}

static int parse_value(struct parser *p, struct json *out, int depth);

static int push_kid(struct parser *p, struct json *out, size_t *cap, struct json **slot)
{
	if (out->n == *cap) {
		size_t want = *cap ? *cap * 2 : 4;
		struct json *bigger = realloc(out->kids, want * sizeof(*bigger));
		if (!bigger)
			return err_sys(p->e, "parsing JSON");
		out->kids = bigger;
		*cap = want;
	}
	*slot = &out->kids[out->n++];
	memset(*slot, 0, sizeof(**slot));
	return 0;
}

static int parse_container(struct parser *p, struct json *out, int depth, bool object)
{
	char close = object ? '}' : ']';
	out->type = object ? JSON_OBJECT : JSON_ARRAY;
	size_t cap = 0;
	p->pos++;
	skip_space(p);
	if (p->pos < p->len && p->s[p->pos] == close) {
		p->pos++;
		return 0;
	}
	for (;;) {
		struct json *kid = NULL;
		if (push_kid(p, out, &cap, &kid) < 0)
			return -1;
		skip_space(p);
		if (object) {
			if (p->pos >= p->len || p->s[p->pos] != '"')
				return fail(p, "expected a member name in quotes");
			if (parse_string(p, &kid->key, &kid->key_len) < 0)
				return -1;
			skip_space(p);
			if (p->pos >= p->len || p->s[p->pos] != ':')
				return fail(p, "expected ':' after a member name");
			p->pos++;
		}
		if (parse_value(p, kid, depth + 1) < 0)
			return -1;
		skip_space(p);
		if (p->pos < p->len && p->s[p->pos] == ',') {
			p->pos++;
			continue;
		}
		if (p->pos < p->len && p->s[p->pos] == close) {
			p->pos++;
			return 0;
		}
		return fail(p, object ? "expected ',' or '}'" : "expected ',' or ']'");
	}
}

static int parse_value(struct parser *p, struct json *out, int depth)
{
	if (depth > MAX_DEPTH)
		return fail(p, "nested too deeply");
	skip_space(p);
	if (p->pos >= p->len)
		return fail(p, "expected a value");
	char c = p->s[p->pos];
	if (c == '{' || c == '[')
		return parse_container(p, out, depth, c == '{');
	if (c == '"') {
		out->type = JSON_STRING;
		return parse_string(p, &out->str, &out->len);
	}
	if (c == '-' || (c >= '0' && c <= '9'))
		return parse_number(p, out);
	if (literal(p, "true"))
		out->type = JSON_TRUE;
	else if (literal(p, "false"))
		out->type = JSON_FALSE;
	else if (literal(p, "null"))
		out->type = JSON_NULL;
	else
		return fail(p, "expected a value");
	return 0;
}

int json_parse(const char *text, size_t len, struct json *out, err_t *e)
{
	struct parser p = { text, len, 0, e };
	memset(out, 0, sizeof(*out));
	/* A UTF-8 byte order mark is not JSON; Go refuses it too. */
	if (parse_value(&p, out, 0) < 0)
		goto bad;
	skip_space(&p);
	if (p.pos < p.len) {
		fail(&p, "unexpected text after the value");
		goto bad;
	}
	return 0;
bad:
	json_free(out);
	return -1;
}

void json_free(struct json *j)
{
	for (size_t i = 0; i < j->n; i++) {
		free(j->kids[i].key);
		json_free(&j->kids[i]);
	}
	free(j->kids);
	free(j->str);
	memset(j, 0, sizeof(*j));
}

const struct json *json_get(const struct json *obj, const char *key)
{
	if (!obj || obj->type != JSON_OBJECT)
		return NULL;
	const struct json *exact = NULL, *folded = NULL;
	size_t klen = strlen(key);
	for (size_t i = 0; i < obj->n; i++) {
		const struct json *m = &obj->kids[i];
		if (m->key_len != klen)
			continue;
		if (memcmp(m->key, key, klen) == 0)
			exact = m;
		else if (strncasecmp(m->key, key, klen) == 0)
			folded = m;
	}
	return exact ? exact : folded;
}

const char *json_type_name(enum json_type t)
{
	static const char *const names[] = { "null", "false", "true", "a number", "a string", "an array", "an object" };
	return names[t];
}

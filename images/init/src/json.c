#include "json.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct parser {
	const char *start, *p, *end;
	int depth;
	err_t *e;
};

static struct json *parse_value(struct parser *ps);

static void *fail(struct parser *ps, const char *what)
{
	err_set(ps->e, "at byte %zu: %s", (size_t)(ps->p - ps->start), what);
	return NULL;
}

static void skip_ws(struct parser *ps)
{
	while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
		ps->p++;
}

static struct json *new_node(struct parser *ps, enum json_type t)
{
	struct json *j = calloc(1, sizeof(*j));
	if (!j)
		return fail(ps, "out of memory");
	j->type = t;
	return j;
}

void json_free(struct json *j)
{
	while (j) {
		struct json *next = j->next;
		json_free(j->child);
		free(j->key);
		free(j->string);
		free(j);
		j = next;
	}
}

static int hex4(const char *s, unsigned *out)
{
	unsigned v = 0;
	for (int i = 0; i < 4; i++) {
		char c = s[i];
		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (unsigned)(c - 'A' + 10);
		else
			return -1;
	}
	*out = v;
	return 0;
}

static size_t put_utf8(char *out, unsigned cp)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xC0 | (cp >> 6));
		out[1] = (char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xE0 | (cp >> 12));
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		out[2] = (char)(0x80 | (cp & 0x3F));
		return 3;
	}
	out[0] = (char)(0xF0 | (cp >> 18));
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
	out[3] = (char)(0x80 | (cp & 0x3F));
	return 4;
}

/* Length of the well-formed UTF-8 sequence at s (at most n bytes), or 0.
 * Overlong forms and encoded surrogates are refused. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	size_t len;
	unsigned char lo = 0x80, hi = 0xBF;
	if (c >= 0xC2 && c <= 0xDF)
		len = 2;
	else if (c >= 0xE0 && c <= 0xEF) {
		len = 3;
		if (c == 0xE0)
			lo = 0xA0;
		if (c == 0xED)
			hi = 0x9F;
	} else if (c >= 0xF0 && c <= 0xF4) {
		len = 4;
		if (c == 0xF0)
			lo = 0x90;
		if (c == 0xF4)
			hi = 0x8F;
	} else
		return 0;
	if (n < len || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if (s[i] < 0x80 || s[i] > 0xBF)
			return 0;
	return len;
}

/* Parses the string whose opening quote is at ps->p. Decoding never makes
 * a string longer, so the raw length bounds the buffer. */
static char *parse_string(struct parser *ps, size_t *out_len)
{
	const char *q = ++ps->p;
	while (q < ps->end && *q != '"') {
		if (*q == '\\')
			q++;
		q++;
	}
	if (q >= ps->end)
		return fail(ps, "unterminated string");

	char *buf = malloc((size_t)(q - ps->p) + 1);
	if (!buf)
		return fail(ps, "out of memory");
	size_t n = 0;
	while (ps->p < q) {
		unsigned char c = (unsigned char)*ps->p;
		if (c < 0x20) {
			free(buf);
			return fail(ps, "control character in string");
		}
		if (c >= 0x80) {
			size_t len = utf8_seq((const unsigned char *)ps->p, (size_t)(q - ps->p));
			if (len == 0) {
				free(buf);
				return fail(ps, "invalid UTF-8 in string");
			}
			memcpy(buf + n, ps->p, len);
			n += len;
			ps->p += len;
			continue;
		}
		if (c != '\\') {
			buf[n++] = (char)c;
			ps->p++;
			continue;
		}
		char esc = ps->p[1];
		ps->p += 2;
		switch (esc) {
		case '"': buf[n++] = '"'; break;
		case '\\': buf[n++] = '\\'; break;
		case '/': buf[n++] = '/'; break;
		case 'b': buf[n++] = '\b'; break;
		case 'f': buf[n++] = '\f'; break;
		case 'n': buf[n++] = '\n'; break;
		case 'r': buf[n++] = '\r'; break;
		case 't': buf[n++] = '\t'; break;
		case 'u': {
			unsigned cp, lo;
			if (q - ps->p < 4 || hex4(ps->p, &cp) < 0) {
				free(buf);
				return fail(ps, "bad \\u escape");
			}
			ps->p += 4;
			if (cp >= 0xDC00 && cp <= 0xDFFF) {
				free(buf);
				return fail(ps, "lone low surrogate");
			}
			if (cp >= 0xD800 && cp <= 0xDBFF) {
				if (q - ps->p < 6 || ps->p[0] != '\\' || ps->p[1] != 'u' ||
				    hex4(ps->p + 2, &lo) < 0 || lo < 0xDC00 || lo > 0xDFFF) {
					free(buf);
					return fail(ps, "high surrogate without a low one");
				}
				ps->p += 6;
				cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
			}
			if (cp == 0) {
				free(buf);
				return fail(ps, "\\u0000 is not allowed");
			}
			/* Six escaped bytes never decode to more than four. */
			n += put_utf8(buf + n, cp);
			break;
		}
		default:
			ps->p -= 1;
			free(buf);
			return fail(ps, "bad escape");
		}
	}
	buf[n] = '\0';
	ps->p = q + 1;
	*out_len = n;
	return buf;
}

static struct json *parse_number(struct parser *ps)
{
	const char *s = ps->p, *p = s;
	if (p < ps->end && *p == '-')
		p++;
	if (p < ps->end && *p == '0')
		p++;
	else if (p < ps->end && *p >= '1' && *p <= '9')
		while (p < ps->end && *p >= '0' && *p <= '9')
			p++;
	else
		return fail(ps, "bad number");
	if (p < ps->end && *p == '.') {
		p++;
		if (p >= ps->end || *p < '0' || *p > '9')
			return fail(ps, "bad number");
		while (p < ps->end && *p >= '0' && *p <= '9')
			p++;
	}
	if (p < ps->end && (*p == 'e' || *p == 'E')) {
		p++;
		if (p < ps->end && (*p == '+' || *p == '-'))
			p++;
		if (p >= ps->end || *p < '0' || *p > '9')
			return fail(ps, "bad number");
		while (p < ps->end && *p >= '0' && *p <= '9')
			p++;
	}
	char tmp[64];
	size_t len = (size_t)(p - s);
	if (len >= sizeof(tmp))
		return fail(ps, "number too long");
	memcpy(tmp, s, len);
	tmp[len] = '\0';
	double v = strtod(tmp, NULL);
	if (!isfinite(v))
		return fail(ps, "number out of range");
	struct json *j = new_node(ps, JSON_NUMBER);
	if (!j)
		return NULL;
	j->number = v;
	ps->p = p;
	return j;
}

static bool literal(struct parser *ps, const char *word)
{
	size_t n = strlen(word);
	if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, word, n) != 0)
		return false;
	ps->p += n;
	return true;
}

/* Arrays and objects share one loop; objects read "key:" before each value. */
static struct json *parse_container(struct parser *ps, enum json_type t)
{
	char close = t == JSON_ARRAY ? ']' : '}';
	if (++ps->depth > JSON_MAX_DEPTH)
		return fail(ps, "nested too deeply");
	struct json *j = new_node(ps, t);
	if (!j)
		return NULL;
	struct json **tail = &j->child;
	ps->p++;
	skip_ws(ps);
	if (ps->p < ps->end && *ps->p == close) {
		ps->p++;
		ps->depth--;
		return j;
	}
	for (;;) {
		char *key = NULL;
		size_t keylen;
		skip_ws(ps);
		if (t == JSON_OBJECT) {
			if (ps->p >= ps->end || *ps->p != '"') {
				fail(ps, "expected a member name");
				goto err;
			}
			if (!(key = parse_string(ps, &keylen)))
				goto err;
			skip_ws(ps);
			if (ps->p >= ps->end || *ps->p != ':') {
				free(key);
				fail(ps, "expected ':'");
				goto err;
			}
			ps->p++;
		}
		struct json *v = parse_value(ps);
		if (!v) {
			free(key);
			goto err;
		}
		v->key = key;
		*tail = v;
		tail = &v->next;
		j->count++;
		skip_ws(ps);
		if (ps->p < ps->end && *ps->p == ',') {
			ps->p++;
			continue;
		}
		if (ps->p < ps->end && *ps->p == close) {
			ps->p++;
			ps->depth--;
			return j;
		}
		fail(ps, t == JSON_ARRAY ? "expected ',' or ']'" : "expected ',' or '}'");
		goto err;
	}
err:
	json_free(j);
	return NULL;
}

static struct json *parse_value(struct parser *ps)
{
	skip_ws(ps);
	if (ps->p >= ps->end)
		return fail(ps, "unexpected end of input");
	struct json *j;
	switch (*ps->p) {
	case '{':
		return parse_container(ps, JSON_OBJECT);
	case '[':
		return parse_container(ps, JSON_ARRAY);
	case '"': {
		size_t len;
		char *s = parse_string(ps, &len);
		if (!s)
			return NULL;
		if (!(j = new_node(ps, JSON_STRING))) {
			free(s);
			return NULL;
		}
		j->string = s;
		j->len = len;
		return j;
	}
	case 't':
	case 'f': {
		bool v = *ps->p == 't';
		if (literal(ps, v ? "true" : "false")) {
			if ((j = new_node(ps, JSON_BOOL)))
				j->boolean = v;
			return j;
		}
		break;
	}
	case 'n':
		if (literal(ps, "null"))
			return new_node(ps, JSON_NULL);
		break;
	default:
		if (*ps->p == '-' || (*ps->p >= '0' && *ps->p <= '9'))
			return parse_number(ps);
	}
	return fail(ps, "unexpected character");
}

struct json *json_parse(const char *text, size_t len, err_t *e)
{
	if (len > JSON_MAX_SIZE) {
		err_set(e, "document larger than %u bytes", JSON_MAX_SIZE);
		return NULL;
	}
	struct parser ps = { .start = text, .p = text, .end = text + len, .e = e };
	struct json *j = parse_value(&ps);
	if (!j)
		return NULL;
	skip_ws(&ps);
	if (ps.p != ps.end) {
		json_free(j);
		return fail(&ps, "trailing characters after the document");
	}
	return j;
}

const struct json *json_get(const struct json *obj, const char *key)
{
	const struct json *found = NULL;
	if (!obj || obj->type != JSON_OBJECT)
		return NULL;
	for (const struct json *m = obj->child; m; m = m->next)
		if (strcmp(m->key, key) == 0)
			found = m;
	return found;
}

int json_u32(const struct json *j, uint32_t *out)
{
	if (!j || j->type != JSON_NUMBER || j->number < 0 || j->number > 4294967295.0 ||
	    j->number != floor(j->number))
		return -1;
	*out = (uint32_t)j->number;
	return 0;
}

const char *json_type_name(enum json_type t)
{
	static const char *const names[] = { "null", "boolean", "number", "string", "array", "object" };
	return names[t];
}

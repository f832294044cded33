/* A small, strict JSON parser (RFC 8259) for config.json and runtime.json.
 * Input size and nesting depth are bounded; strings are UTF-8 checked and
 * must not contain NUL, since every consumer wants C strings. Duplicate keys
 * resolve to the last one, as JavaScript's JSON.parse (which keel's
 * assembly uses to write these files) would read them. */
#ifndef KEEL_JSON_H
#define KEEL_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

#define JSON_MAX_DEPTH 64
#define JSON_MAX_SIZE (4u << 20)

enum json_type { JSON_NULL, JSON_BOOL, JSON_NUMBER, JSON_STRING, JSON_ARRAY, JSON_OBJECT };

struct json {
	enum json_type type;
	char *key;          /* member name, when this value sits in an object */
	struct json *next;  /* next element or member */
	struct json *child; /* first element or member of an array or object */
	size_t count;       /* number of elements or members */
	bool boolean;
	double number;
	char *string;
	size_t len;
};

struct json *json_parse(const char *text, size_t len, err_t *e);
void json_free(struct json *j);

/* The member named key, or NULL when obj is not an object or has no such key. */
const struct json *json_get(const struct json *obj, const char *key);
/* 0 if j is a number holding an integer in 0..UINT32_MAX. */
int json_u32(const struct json *j, uint32_t *out);
const char *json_type_name(enum json_type t);

#endif

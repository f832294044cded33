/* A small JSON reader (RFC 8259): enough to read LinuxKit's user-data
 * format and an OpenStack config drive's meta_data.json. The whole text
 * becomes a tree; strings are decoded (escapes, \u surrogate pairs) and
 * keep their length, since they may hold NUL bytes. */
#ifndef KEEL_METADATA_JSON_H
#define KEEL_METADATA_JSON_H

#include <stdbool.h>
#include <stddef.h>

#include "common/util.h"

enum json_type { JSON_NULL, JSON_FALSE, JSON_TRUE, JSON_NUMBER, JSON_STRING, JSON_ARRAY, JSON_OBJECT };

struct json {
	enum json_type type;
	/* A string's decoded bytes (NUL-terminated too), a number's text. */
	char *str;
	size_t len;
	/* An object's members (each with key) or an array's items, in order. */
	struct json *kids;
	size_t n;
	char *key; /* set on an object's members */
	size_t key_len;
};

/* Parses text (len bytes) into *out. On failure, e says where ("at byte
 * N: ..."). Free the tree with json_free. */
int json_parse(const char *text, size_t len, struct json *out, err_t *e);
void json_free(struct json *j);

/* An object's last member named key (as Go's encoding/json: an exact match
 * first, else one that differs only in ASCII case), or NULL. */
const struct json *json_get(const struct json *obj, const char *key);

const char *json_type_name(enum json_type t);

#endif

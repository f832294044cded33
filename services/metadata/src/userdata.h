/* What metadata does with the user data it found, LinuxKit's way: the
 * bytes as BASE/userdata, and when they are a JSON object of entries, a
 * tree of folders and files under BASE:
 *
 *   {"ssh": {"perm": "0700", "entries": {
 *       "authorized_keys": {"perm": "0600", "content": "ssh-ed25519 ..."}}}}
 *
 * An entry with "content" is a file (default mode 0644), one with
 * "entries" a folder (default 0755); "perm" is octal. */
#ifndef KEEL_METADATA_USERDATA_H
#define KEEL_METADATA_USERDATA_H

#include <stdbool.h>
#include <stddef.h>

#include "common/util.h"
#include "json.h"

struct userdata_result {
	bool json;     /* the data was LinuxKit's JSON format */
	size_t files;  /* files written from it */
	size_t dirs;   /* folders made */
	size_t skipped; /* entries left out (each one logged) */
};

/* Writes BASE/userdata, then the tree when the data is LinuxKit's JSON.
 * Data that is not JSON, or JSON of another shape, is not an error: it is
 * only kept as BASE/userdata (and said so). -1 only when BASE/userdata
 * cannot be written. */
int userdata_process(const char *base, const char *data, size_t len, struct userdata_result *r, err_t *e);

/* Checks that a parsed document has the shape LinuxKit's Go types give it
 * (an object of entries; perm a string, content a string, entries an
 * object, each possibly null). Go refuses the whole document when one
 * field has the wrong type, and so does this. */
int userdata_check(const struct json *root, err_t *e);

/* "0600" -> 0600. Octal digits only, at most 07777. */
int parse_perm(const char *s, unsigned *mode);

/* A name an entry may have: one path component, not "." or "..". */
bool entry_name_ok(const char *name, size_t len);

/* Writes exactly len bytes to path (created or truncated, never through a
 * symlink) and gives it mode, whatever the umask. */
int write_file_mode(const char *path, const char *data, size_t len, unsigned mode, err_t *e);

#endif

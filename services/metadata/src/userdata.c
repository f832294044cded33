#include "userdata.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

int parse_perm(const char *s, unsigned *mode)
{
	if (!*s || strlen(s) > 5)
		return -1;
	unsigned v = 0;
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '7')
			return -1;
		v = v * 8 + (unsigned)(*p - '0');
	}
	if (v > 07777)
		return -1;
	*mode = v;
	return 0;
}

bool entry_name_ok(const char *name, size_t len)
{
	if (len == 0 || memchr(name, '/', len) || memchr(name, '\0', len))
		return false;
	return strcmp(name, ".") != 0 && strcmp(name, "..") != 0;
}

int write_file_mode(const char *path, const char *data, size_t len, unsigned mode, err_t *e)
{
	autoclose int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return err_sys(e, "open %s", path);
	if (write_at(fd, data, len, 0, e) < 0)
		return err_prefix(e, "write %s", path);
	/* fchmod, not open's mode: the umask must not change what was asked for. */
	if (fchmod(fd, mode) < 0)
		return err_sys(e, "chmod %s", path);
	if (close(fd) < 0) {
		fd = -1;
		return err_sys(e, "close %s", path);
	}
	fd = -1;
	return 0;
}

static int check_entry(const struct json *entry, const char *where, err_t *e)
{
	if (entry->type == JSON_NULL)
		return 0;
	if (entry->type != JSON_OBJECT)
		return err_set(e, "%s is %s, not an object", where, json_type_name(entry->type));
	static const struct {
		const char *name;
		enum json_type type;
	} fields[] = { { "perm", JSON_STRING }, { "content", JSON_STRING }, { "entries", JSON_OBJECT } };
	for (size_t i = 0; i < ARRAY_LEN(fields); i++) {
		const struct json *f = json_get(entry, fields[i].name);
		if (f && f->type != JSON_NULL && f->type != fields[i].type)
			return err_set(e, "%s: \"%s\" is %s, not %s", where, fields[i].name, json_type_name(f->type),
				       json_type_name(fields[i].type));
	}
	const struct json *entries = json_get(entry, "entries");
	if (entries && entries->type == JSON_OBJECT) {
		for (size_t i = 0; i < entries->n; i++) {
			char sub[512];
			snprintf(sub, sizeof(sub), "%s/%s", where, entries->kids[i].key);
			if (check_entry(&entries->kids[i], sub, e) < 0)
				return -1;
		}
	}
	return 0;
}

int userdata_check(const struct json *root, err_t *e)
{
	if (root->type == JSON_NULL)
		return 0;
	if (root->type != JSON_OBJECT)
		return err_set(e, "the document is %s, not an object of entries", json_type_name(root->type));
	for (size_t i = 0; i < root->n; i++)
		if (check_entry(&root->kids[i], root->kids[i].key, e) < 0)
			return -1;
	return 0;
}

/* A non-null JSON value of the wanted type, or NULL (missing or null). */
static const struct json *field(const struct json *entry, const char *name)
{
	const struct json *f = json_get(entry, name);
	return f && f->type != JSON_NULL ? f : NULL;
}

/* One entry at path (shown to people as rel); problems are logged and
 * counted, never fatal, as in LinuxKit: one bad entry spoils nothing else. */
static void write_entry(const char *path, const char *rel, const struct json *entry, struct userdata_result *r)
{
	const struct json *content = field(entry, "content"), *entries = field(entry, "entries");
	const struct json *perm = field(entry, "perm");
	bool is_file = content && !entries, is_dir = entries && !content;
	if (!is_file && !is_dir) {
		say("skipping %s: an entry needs exactly one of \"content\" (a file) or \"entries\" (a folder)", rel);
		r->skipped++;
		return;
	}
	unsigned mode = is_file ? 0644 : 0755;
	if (perm && parse_perm(perm->str, &mode) < 0) {
		say("skipping %s: perm \"%s\" is not an octal mode such as \"0600\"", rel, perm->str);
		r->skipped++;
		return;
	}
	err_t e;
	if (is_file) {
		if (write_file_mode(path, content->str, content->len, mode, &e) < 0) {
			say_error(&e);
			r->skipped++;
			return;
		}
		say("wrote %s (%zu bytes, mode %04o)", rel, content->len, mode);
		r->files++;
		return;
	}
	if (mkdir(path, mode) < 0) {
		struct stat st;
		if (errno != EEXIST || lstat(path, &st) < 0 || !S_ISDIR(st.st_mode)) {
			err_sys(&e, "mkdir %s", path);
			say_error(&e);
			r->skipped++;
			return;
		}
	} else {
		chmod(path, mode);
		r->dirs++;
	}
	for (size_t i = 0; i < entries->n; i++) {
		const struct json *kid = &entries->kids[i];
		char kid_path[4096], kid_rel[1024];
		if (!entry_name_ok(kid->key, kid->key_len)) {
			say("skipping %s/\"%s\": a name must be one path component, not \".\" or \"..\"", rel, kid->key);
			r->skipped++;
			continue;
		}
		if (path_fmt(kid_path, sizeof(kid_path), "%s/%s", path, kid->key) < 0 ||
		    path_fmt(kid_rel, sizeof(kid_rel), "%s/%s", rel, kid->key) < 0) {
			say("skipping %s/%s: the path is too long", rel, kid->key);
			r->skipped++;
			continue;
		}
		write_entry(kid_path, kid_rel, kid, r);
	}
}

int userdata_process(const char *base, const char *data, size_t len, struct userdata_result *r, err_t *e)
{
	memset(r, 0, sizeof(*r));
	char path[4096];
	if (path_fmt(path, sizeof(path), "%s/userdata", base) < 0)
		return err_sys(e, "%s/userdata", base);
	if (write_file_mode(path, data, len, 0644, e) < 0)
		return -1;
	say("wrote %s (%zu bytes)", path, len);

	struct json root;
	err_t why;
	if (json_parse(data, len, &root, &why) < 0) {
		say("the user data is not JSON (%s): kept only as %s", why.msg, path);
		return 0;
	}
	if (userdata_check(&root, &why) < 0) {
		say("the user data is JSON but not LinuxKit's format (%s): kept only as %s", why.msg, path);
		json_free(&root);
		return 0;
	}
	r->json = true;
	for (size_t i = 0; root.type == JSON_OBJECT && i < root.n; i++) {
		const struct json *entry = &root.kids[i];
		if (!entry_name_ok(entry->key, entry->key_len)) {
			say("skipping \"%s\": a name must be one path component, not \".\" or \"..\"", entry->key);
			r->skipped++;
			continue;
		}
		char entry_path[4096], rel[1024];
		if (path_fmt(entry_path, sizeof(entry_path), "%s/%s", base, entry->key) < 0 ||
		    path_fmt(rel, sizeof(rel), "%s/%s", base, entry->key) < 0) {
			say("skipping %s: the path is too long", entry->key);
			r->skipped++;
			continue;
		}
		write_entry(entry_path, rel, entry, r);
	}
	json_free(&root);
	return 0;
}

#include "spec.h"

#include <sched.h>
#include <stdio.h>
#include <string.h>

/* Pulls an optional member of the given type; absent or null gives NULL. */
static int member(const struct json *obj, const char *key, enum json_type t,
		  const struct json **out, const char *where, err_t *e)
{
	const struct json *m = json_get(obj, key);
	*out = NULL;
	if (!m || m->type == JSON_NULL)
		return 0;
	if (m->type != t)
		return err_set(e, "%s%s: must be %s %s, not %s", where, key,
			       t == JSON_ARRAY || t == JSON_OBJECT ? "an" : "a",
			       json_type_name(t), json_type_name(m->type));
	*out = m;
	return 0;
}

/* A NULL-terminated array of the strings in a JSON array of strings. */
static int string_list(const struct json *arr, const char ***out, size_t *count,
		       const char *what, err_t *e)
{
	size_t n = arr ? arr->count : 0, i = 0;
	const char **list = calloc(n + 1, sizeof(*list));
	if (!list)
		return err_sys(e, "%s", what);
	for (const struct json *v = arr ? arr->child : NULL; v; v = v->next, i++) {
		if (v->type != JSON_STRING) {
			free(list);
			return err_set(e, "%s[%zu]: must be a string", what, i);
		}
		list[i] = v->string;
	}
	*out = list;
	if (count)
		*count = n;
	return 0;
}

static const struct {
	const char *name;
	int flag;
} ns_types[] = {
	{ "mount", CLONE_NEWNS },   { "pid", CLONE_NEWPID },     { "uts", CLONE_NEWUTS },
	{ "ipc", CLONE_NEWIPC },    { "network", CLONE_NEWNET }, { "cgroup", CLONE_NEWCGROUP },
};

static int parse_namespaces(struct spec *s, const struct json *list, err_t *e)
{
	size_t i = 0;
	for (const struct json *n = list ? list->child : NULL; n; n = n->next, i++) {
		const struct json *type, *path;
		if (n->type != JSON_OBJECT)
			return err_set(e, "linux.namespaces[%zu]: must be an object", i);
		if (member(n, "type", JSON_STRING, &type, "linux.namespaces[].", e) < 0 ||
		    member(n, "path", JSON_STRING, &path, "linux.namespaces[].", e) < 0)
			return -1;
		if (!type)
			return err_set(e, "linux.namespaces[%zu]: type is required", i);
		int flag = 0;
		for (size_t k = 0; k < ARRAY_LEN(ns_types); k++)
			if (strcmp(type->string, ns_types[k].name) == 0)
				flag = ns_types[k].flag;
		if (!flag)
			return err_set(e, "linux.namespaces[%zu]: type \"%s\" is not supported", i,
				       type->string);
		for (size_t k = 0; k < s->nns; k++)
			if (s->ns[k].flag == flag)
				return err_set(e, "linux.namespaces: \"%s\" listed twice", type->string);
		if (path && path->string[0] == '\0')
			path = NULL;
		s->ns[s->nns++] = (struct spec_ns){ flag, type->string, path ? path->string : NULL };
		if (!path)
			s->clone_flags |= flag;
	}
	return 0;
}

static int parse_mount_list(const struct json *list, struct spec_mount **out, size_t *count, err_t *e)
{
	if (!list)
		return 0;
	*out = calloc(list->count + 1, sizeof(**out));
	if (!*out)
		return err_sys(e, "mounts");
	for (const struct json *m = list->child; m; m = m->next) {
		size_t i = *count;
		struct spec_mount *sm = &(*out)[i];
		const struct json *dest, *type, *source, *options;
		if (m->type != JSON_OBJECT)
			return err_set(e, "mounts[%zu]: must be an object", i);
		if (member(m, "destination", JSON_STRING, &dest, "mounts[].", e) < 0 ||
		    member(m, "type", JSON_STRING, &type, "mounts[].", e) < 0 ||
		    member(m, "source", JSON_STRING, &source, "mounts[].", e) < 0 ||
		    member(m, "options", JSON_ARRAY, &options, "mounts[].", e) < 0)
			return -1;
		if (!dest || dest->string[0] == '\0')
			return err_set(e, "mounts[%zu]: destination is required", i);
		char clean[4096];
		if (path_clean(dest->string, clean, sizeof(clean), e) < 0)
			return err_prefix(e, "mounts[%zu].destination", i);
		sm->destination = dest->string;
		sm->type = type && type->string[0] ? type->string : NULL;
		sm->source = source && source->string[0] ? source->string : NULL;
		(*count)++;
		if (string_list(options, &sm->options, &sm->noptions, "mounts[].options", e) < 0)
			return -1;
	}
	return 0;
}

static int parse_mounts(struct spec *s, const struct json *list, err_t *e)
{
	return parse_mount_list(list, &s->mounts, &s->nmounts, e);
}

static int parse_user(struct spec *s, const struct json *user, err_t *e)
{
	const struct json *uid, *gid, *gids;
	uint32_t v;
	if (!user)
		return 0;
	if (member(user, "uid", JSON_NUMBER, &uid, "process.user.", e) < 0 ||
	    member(user, "gid", JSON_NUMBER, &gid, "process.user.", e) < 0 ||
	    member(user, "additionalGids", JSON_ARRAY, &gids, "process.user.", e) < 0)
		return -1;
	if (uid) {
		if (json_u32(uid, &v) < 0 || v == (uint32_t)-1)
			return err_set(e, "process.user.uid: not a valid id");
		s->uid = v;
	}
	if (gid) {
		if (json_u32(gid, &v) < 0 || v == (uint32_t)-1)
			return err_set(e, "process.user.gid: not a valid id");
		s->gid = v;
	}
	if (gids && gids->count > 0) {
		s->gids = calloc(gids->count, sizeof(*s->gids));
		if (!s->gids)
			return err_sys(e, "process.user.additionalGids");
		for (const struct json *g = gids->child; g; g = g->next) {
			if (json_u32(g, &v) < 0 || v == (uint32_t)-1)
				return err_set(e, "process.user.additionalGids[%zu]: not a valid id",
					       s->ngids);
			s->gids[s->ngids++] = v;
		}
	}
	return 0;
}

int spec_parse(struct spec *s, const char *text, size_t len, err_t *e)
{
	const struct json *process, *args, *env, *cwd, *user, *root, *path, *ro, *hostname,
		*mounts, *linux_obj, *namespaces;

	memset(s, 0, sizeof(*s));
	s->cwd = "/";
	s->root_path = "rootfs";
	if (!(s->doc = json_parse(text, len, e)))
		return -1;
	if (s->doc->type != JSON_OBJECT)
		return err_set(e, "the document must be an object");

	if (member(s->doc, "process", JSON_OBJECT, &process, "", e) < 0)
		return -1;
	if (!process)
		return err_set(e, "process: is required");
	if (member(process, "args", JSON_ARRAY, &args, "process.", e) < 0 ||
	    member(process, "env", JSON_ARRAY, &env, "process.", e) < 0 ||
	    member(process, "cwd", JSON_STRING, &cwd, "process.", e) < 0 ||
	    member(process, "user", JSON_OBJECT, &user, "process.", e) < 0)
		return -1;
	if (!args || args->count == 0)
		return err_set(e, "process.args: must list the command to run");
	if (string_list(args, &s->args, NULL, "process.args", e) < 0 ||
	    string_list(env, &s->env, NULL, "process.env", e) < 0)
		return -1;
	if (s->args[0][0] == '\0')
		return err_set(e, "process.args[0]: must not be empty");
	if (cwd) {
		if (cwd->string[0] != '/')
			return err_set(e, "process.cwd: must be an absolute path");
		s->cwd = cwd->string;
	}
	if (parse_user(s, user, e) < 0)
		return -1;

	if (member(s->doc, "root", JSON_OBJECT, &root, "", e) < 0 ||
	    member(root, "path", JSON_STRING, &path, "root.", e) < 0 ||
	    member(root, "readonly", JSON_BOOL, &ro, "root.", e) < 0)
		return -1;
	if (path && path->string[0])
		s->root_path = path->string;
	s->root_readonly = ro && ro->boolean;

	if (member(s->doc, "hostname", JSON_STRING, &hostname, "", e) < 0)
		return -1;
	if (hostname && hostname->string[0]) {
		if (hostname->len > 64)
			return err_set(e, "hostname: longer than 64 bytes");
		s->hostname = hostname->string;
	}

	if (member(s->doc, "mounts", JSON_ARRAY, &mounts, "", e) < 0 ||
	    parse_mounts(s, mounts, e) < 0)
		return -1;

	if (member(s->doc, "linux", JSON_OBJECT, &linux_obj, "", e) < 0 ||
	    member(linux_obj, "namespaces", JSON_ARRAY, &namespaces, "linux.", e) < 0 ||
	    parse_namespaces(s, namespaces, e) < 0)
		return -1;
	return 0;
}

void spec_free(struct spec *s)
{
	for (size_t i = 0; i < s->nmounts; i++)
		free(s->mounts[i].options);
	free(s->mounts);
	free(s->gids);
	free(s->args);
	free(s->env);
	json_free(s->doc);
	memset(s, 0, sizeof(*s));
}

const char *spec_getenv(const struct spec *s, const char *name)
{
	size_t n = strlen(name);
	const char *found = NULL;
	for (const char **v = s->env; v && *v; v++)
		if (strncmp(*v, name, n) == 0 && (*v)[n] == '=')
			found = *v + n + 1;
	return found;
}

/* An object whose members are all empty strings, like the bindNS that
 * assembly always writes, asks for nothing. */
static bool all_empty(const struct json *m)
{
	if (m->type == JSON_NULL)
		return true;
	if (m->type == JSON_STRING)
		return m->string[0] == '\0';
	if (m->type == JSON_ARRAY)
		return m->count == 0;
	if (m->type == JSON_OBJECT) {
		for (const struct json *c = m->child; c; c = c->next)
			if (!all_empty(c))
				return false;
		return true;
	}
	return false;
}

int runtime_extra_parse(struct runtime_extra *r, const char *text, size_t len, err_t *e)
{
	const struct json *mkdir, *mounts, *cgroups;
	memset(r, 0, sizeof(*r));
	if (!(r->doc = json_parse(text, len, e)))
		return -1;
	if (r->doc->type != JSON_OBJECT)
		return err_set(e, "the document must be an object");
	if (member(r->doc, "mkdir", JSON_ARRAY, &mkdir, "", e) < 0 ||
	    string_list(mkdir, &r->mkdir, &r->nmkdir, "mkdir", e) < 0 ||
	    member(r->doc, "cgroups", JSON_ARRAY, &cgroups, "", e) < 0 ||
	    string_list(cgroups, &r->cgroups, &r->ncgroups, "cgroups", e) < 0 ||
	    member(r->doc, "mounts", JSON_ARRAY, &mounts, "", e) < 0 ||
	    parse_mount_list(mounts, &r->mounts, &r->nmounts, e) < 0)
		return -1;
	for (size_t i = 0; i < r->ncgroups; i++)
		if (strstr(r->cgroups[i], "..") || r->cgroups[i][0] == '\0')
			return err_set(e, "cgroups[%zu]: %s is not a cgroup name", i, r->cgroups[i]);
	for (const struct json *m = r->doc->child; m; m = m->next) {
		size_t n = strlen(r->ignored);
		if (strcmp(m->key, "mkdir") == 0 || strcmp(m->key, "mounts") == 0 ||
		    strcmp(m->key, "cgroups") == 0 || all_empty(m))
			continue;
		snprintf(r->ignored + n, sizeof(r->ignored) - n, "%s%s", n ? ", " : "", m->key);
	}
	return 0;
}

void runtime_extra_free(struct runtime_extra *r)
{
	for (size_t i = 0; i < r->nmounts; i++)
		free(r->mounts[i].options);
	free(r->mounts);
	free(r->cgroups);
	free(r->mkdir);
	json_free(r->doc);
	memset(r, 0, sizeof(*r));
}

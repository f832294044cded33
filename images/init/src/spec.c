#include "spec.h"

#include <math.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>

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
		s->ns_flags |= flag;
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


/* A JSON number that must be a whole number >= 0. Doubles hold integers
 * exactly up to 2^53; 18446744073709551615 (the "unlimited" of Go's
 * uint64) reads as 2^64, which maps back to UINT64_MAX. */
static int json_u64(const struct json *j, uint64_t *out)
{
	if (!j || j->type != JSON_NUMBER || j->number < 0 || j->number != floor(j->number) ||
	    j->number > 18446744073709551616.0)
		return -1;
	*out = j->number >= 18446744073709551615.0 ? UINT64_MAX : (uint64_t)j->number;
	return 0;
}

static int json_int(const struct json *j, long long min, long long max, long long *out)
{
	if (!j || j->type != JSON_NUMBER || j->number != floor(j->number) || j->number < (double)min ||
	    j->number > (double)max)
		return -1;
	*out = (long long)j->number;
	return 0;
}

static int parse_cap_set(const struct json *caps, const char *key, uint64_t *out, err_t *e)
{
	const struct json *list;
	size_t i = 0;
	if (member(caps, key, JSON_ARRAY, &list, "process.capabilities.", e) < 0)
		return -1;
	for (const struct json *c = list ? list->child : NULL; c; c = c->next, i++) {
		int cap = c->type == JSON_STRING ? caps_from_name(c->string) : -1;
		if (cap < 0)
			return err_set(e, "process.capabilities.%s[%zu]: unknown capability %s%s%s", key, i,
				       c->type == JSON_STRING ? "\"" : "",
				       c->type == JSON_STRING ? c->string : "(not a string)",
				       c->type == JSON_STRING ? "\"" : "");
		*out |= CAP_BIT(cap);
	}
	return 0;
}

/* Absent or empty means none: an unprivileged root, as in LinuxKit. */
static int parse_caps(struct spec *s, const struct json *caps, err_t *e)
{
	struct caps *c = &s->caps;
	if (!caps)
		return 0;
	return parse_cap_set(caps, "bounding", &c->bounding, e) < 0 ||
			       parse_cap_set(caps, "effective", &c->effective, e) < 0 ||
			       parse_cap_set(caps, "inheritable", &c->inheritable, e) < 0 ||
			       parse_cap_set(caps, "permitted", &c->permitted, e) < 0 ||
			       parse_cap_set(caps, "ambient", &c->ambient, e) < 0
		       ? -1
		       : 0;
}

static const struct {
	const char *name;
	int resource;
} rlimit_names[] = {
	{ "RLIMIT_AS", RLIMIT_AS },           { "RLIMIT_CORE", RLIMIT_CORE },
	{ "RLIMIT_CPU", RLIMIT_CPU },         { "RLIMIT_DATA", RLIMIT_DATA },
	{ "RLIMIT_FSIZE", RLIMIT_FSIZE },     { "RLIMIT_LOCKS", RLIMIT_LOCKS },
	{ "RLIMIT_MEMLOCK", RLIMIT_MEMLOCK }, { "RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE },
	{ "RLIMIT_NICE", RLIMIT_NICE },       { "RLIMIT_NOFILE", RLIMIT_NOFILE },
	{ "RLIMIT_NPROC", RLIMIT_NPROC },     { "RLIMIT_RSS", RLIMIT_RSS },
	{ "RLIMIT_RTPRIO", RLIMIT_RTPRIO },   { "RLIMIT_RTTIME", RLIMIT_RTTIME },
	{ "RLIMIT_SIGPENDING", RLIMIT_SIGPENDING }, { "RLIMIT_STACK", RLIMIT_STACK },
};

int spec_rlimit_from_name(const char *name)
{
	for (size_t i = 0; i < ARRAY_LEN(rlimit_names); i++)
		if (strcmp(name, rlimit_names[i].name) == 0)
			return rlimit_names[i].resource;
	return -1;
}

static int parse_rlimits(struct spec *s, const struct json *list, err_t *e)
{
	if (!list || list->count == 0)
		return 0;
	if (!(s->rlimits = calloc(list->count, sizeof(*s->rlimits))))
		return err_sys(e, "process.rlimits");
	for (const struct json *r = list->child; r; r = r->next) {
		size_t i = s->nrlimits;
		const struct json *type, *soft, *hard;
		if (r->type != JSON_OBJECT)
			return err_set(e, "process.rlimits[%zu]: must be an object", i);
		if (member(r, "type", JSON_STRING, &type, "process.rlimits[].", e) < 0)
			return -1;
		int res = type ? spec_rlimit_from_name(type->string) : -1;
		if (res < 0)
			return err_set(e, "process.rlimits[%zu]: unknown type \"%s\"", i, type ? type->string : "");
		for (size_t k = 0; k < i; k++)
			if (s->rlimits[k].resource == res)
				return err_set(e, "process.rlimits: %s listed twice", type->string);
		soft = json_get(r, "soft");
		hard = json_get(r, "hard");
		struct spec_rlimit *l = &s->rlimits[s->nrlimits++];
		l->resource = res;
		if (json_u64(soft, &l->soft) < 0 || json_u64(hard, &l->hard) < 0)
			return err_set(e, "process.rlimits[%zu]: soft and hard must be numbers from 0 to 2^64-1", i);
		if (l->soft > l->hard)
			return err_set(e, "process.rlimits[%zu]: %s: soft limit above the hard limit", i, type->string);
	}
	return 0;
}

/* kernel.* names that live in the ipc namespace. */
static const char *const ipc_sysctls[] = {
	"kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem",
	"kernel.shmall", "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced",
};

int spec_sysctl_check(const char *key, int ns_flags, err_t *e)
{
	char dotted[256];
	size_t n = strlen(key);
	if (n == 0 || n >= sizeof(dotted))
		return err_set(e, "sysctl \"%s\": not a sysctl name", key);
	/* "a.b/c" and "a/b.c" (sysctl(8)'s two spellings) both name a/b.c
	 * under /proc/sys; the rules below read the dotted form. */
	bool slashes = strcspn(key, "./") < n && key[strcspn(key, "./")] == '/';
	for (size_t i = 0; i <= n; i++) {
		char c = key[i];
		dotted[i] = slashes && c == '/' ? '.' : c;
		if (c && !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			   c == '_' || c == '-' || c == '.' || c == '/' || c == ':' || c == '@'))
			return err_set(e, "sysctl \"%s\": not a sysctl name", key);
	}
	if (strstr(key, "..") || strstr(key, "//") || strstr(key, "./") || strstr(key, "/.") ||
	    key[0] == '.' || key[0] == '/' || key[n - 1] == '.' || key[n - 1] == '/')
		return err_set(e, "sysctl \"%s\": not a sysctl name", key);

	for (size_t i = 0; i < ARRAY_LEN(ipc_sysctls); i++)
		if (strcmp(dotted, ipc_sysctls[i]) == 0)
			goto ipc;
	if (strncmp(dotted, "fs.mqueue.", 10) == 0)
		goto ipc;
	if (strncmp(dotted, "net.", 4) == 0) {
		if (!(ns_flags & CLONE_NEWNET))
			return err_set(e, "sysctl %s: needs a network namespace of its own (net: new)", key);
		return 0;
	}
	if (strcmp(dotted, "kernel.hostname") == 0 || strcmp(dotted, "kernel.domainname") == 0) {
		if (!(ns_flags & CLONE_NEWUTS))
			return err_set(e, "sysctl %s: needs a uts namespace of its own (uts: new)", key);
		return 0;
	}
	return err_set(e, "sysctl %s: not namespaced, so it would change the whole system", key);
ipc:
	if (!(ns_flags & CLONE_NEWIPC))
		return err_set(e, "sysctl %s: needs an ipc namespace of its own (ipc: new)", key);
	return 0;
}

static int parse_sysctl(struct spec *s, const struct json *obj, err_t *e)
{
	if (!obj || obj->count == 0)
		return 0;
	if (!(s->sysctl = calloc(obj->count, sizeof(*s->sysctl))))
		return err_sys(e, "linux.sysctl");
	for (const struct json *m = obj->child; m; m = m->next) {
		if (m->type != JSON_STRING)
			return err_set(e, "linux.sysctl.%s: must be a string", m->key);
		if (spec_sysctl_check(m->key, s->ns_flags, e) < 0)
			return err_prefix(e, "linux.sysctl");
		s->sysctl[s->nsysctl++] = (struct spec_sysctl){ m->key, m->string };
	}
	return 0;
}

static int path_list(const struct json *obj, const char *key, const char ***out, size_t *n, err_t *e)
{
	const struct json *list;
	char where[64], clean[4096];
	snprintf(where, sizeof(where), "linux.%s", key);
	if (member(obj, key, JSON_ARRAY, &list, "linux.", e) < 0 || string_list(list, out, n, where, e) < 0)
		return -1;
	for (size_t i = 0; i < *n; i++)
		if ((*out)[i][0] != '/' || path_clean((*out)[i], clean, sizeof(clean), e) < 0)
			return err_set(e, "%s[%zu]: \"%s\" is not a clean absolute path", where, i, (*out)[i]);
	return 0;
}

static int parse_propagation(struct spec *s, const struct json *v, err_t *e)
{
	static const struct {
		const char *name;
		unsigned long flag;
	} kinds[] = { { "shared", MS_SHARED }, { "slave", MS_SLAVE }, { "private", MS_PRIVATE },
		      { "unbindable", MS_UNBINDABLE } };
	if (!v || v->string[0] == '\0')
		return 0;
	for (size_t i = 0; i < ARRAY_LEN(kinds); i++) {
		/* "rshared" and the like apply to every mount below too. */
		if (strcmp(v->string, kinds[i].name) == 0 ||
		    (v->string[0] == 'r' && strcmp(v->string + 1, kinds[i].name) == 0)) {
			s->rootfs_propagation = kinds[i].flag | (v->string[0] == 'r' ? MS_REC : 0);
			return 0;
		}
	}
	return err_set(e, "linux.rootfsPropagation: \"%s\" is not shared, slave, private or unbindable",
		       v->string);
}

static int parse_devices(struct spec *s, const struct json *list, err_t *e)
{
	if (!list || list->count == 0)
		return 0;
	if (!(s->devices = calloc(list->count, sizeof(*s->devices))))
		return err_sys(e, "linux.devices");
	for (const struct json *d = list->child; d; d = d->next) {
		size_t i = s->ndevices;
		const struct json *path, *type;
		uint32_t v;
		char clean[4096];
		struct spec_device *dev = &s->devices[s->ndevices++];
		if (d->type != JSON_OBJECT)
			return err_set(e, "linux.devices[%zu]: must be an object", i);
		if (member(d, "path", JSON_STRING, &path, "linux.devices[].", e) < 0 ||
		    member(d, "type", JSON_STRING, &type, "linux.devices[].", e) < 0)
			return -1;
		if (!path || path->string[0] != '/' || path_clean(path->string, clean, sizeof(clean), e) < 0 ||
		    strcmp(clean, "/") == 0)
			return err_set(e, "linux.devices[%zu]: path must be a clean absolute path", i);
		dev->path = path->string;
		const char *t = type ? type->string : "";
		dev->type = !strcmp(t, "c") || !strcmp(t, "u") ? S_IFCHR : !strcmp(t, "b") ? S_IFBLK :
			    !strcmp(t, "p") ? S_IFIFO : 0;
		if (!dev->type)
			return err_set(e, "linux.devices[%zu]: type \"%s\" is not c, u, b or p", i, t);
		dev->mode = 0666;
		dev->uid = 0;
		dev->gid = 0;
		static const char *const nums[] = { "major", "minor", "fileMode", "uid", "gid" };
		for (size_t k = 0; k < ARRAY_LEN(nums); k++) {
			const struct json *n = json_get(d, nums[k]);
			if (!n || n->type == JSON_NULL) {
				if (k < 2 && dev->type != S_IFIFO)
					return err_set(e, "linux.devices[%zu]: %s is required", i, nums[k]);
				continue;
			}
			if (json_u32(n, &v) < 0)
				return err_set(e, "linux.devices[%zu].%s: not a valid number", i, nums[k]);
			switch (k) {
			case 0: dev->major = v; break;
			case 1: dev->minor = v; break;
			case 2:
				if (v & ~07777u)
					return err_set(e, "linux.devices[%zu].fileMode: %o has more than permission bits", i, v);
				dev->mode = v;
				break;
			case 3: dev->uid = v; break;
			default: dev->gid = v; break;
			}
		}
	}
	return 0;
}

static int parse_annotations(struct spec *s, const struct json *obj, err_t *e)
{
	const struct json *seccomp;
	if (member(obj, SPEC_SECCOMP_ANNOTATION, JSON_STRING, &seccomp, "annotations.", e) < 0)
		return -1;
	if (!seccomp || !strcmp(seccomp->string, "") || !strcmp(seccomp->string, "default"))
		return 0;
	if (strcmp(seccomp->string, "unconfined") != 0)
		return err_set(e, "annotations." SPEC_SECCOMP_ANNOTATION ": \"%s\" is not \"default\" or \"unconfined\"",
			       seccomp->string);
	s->seccomp_unconfined = true;
	return 0;
}

static int parse_linux(struct spec *s, const struct json *l, err_t *e)
{
	const struct json *sysctl, *prop, *devices, *resources, *cgpath;
	char clean[4096];
	if (member(l, "sysctl", JSON_OBJECT, &sysctl, "linux.", e) < 0 || parse_sysctl(s, sysctl, e) < 0 ||
	    path_list(l, "maskedPaths", &s->masked_paths, &s->nmasked, e) < 0 ||
	    path_list(l, "readonlyPaths", &s->readonly_paths, &s->nreadonly, e) < 0 ||
	    member(l, "rootfsPropagation", JSON_STRING, &prop, "linux.", e) < 0 ||
	    parse_propagation(s, prop, e) < 0 ||
	    member(l, "devices", JSON_ARRAY, &devices, "linux.", e) < 0 || parse_devices(s, devices, e) < 0 ||
	    member(l, "resources", JSON_OBJECT, &resources, "linux.", e) < 0 ||
	    member(l, "cgroupsPath", JSON_STRING, &cgpath, "linux.", e) < 0)
		return -1;
	s->resources = resources;
	if (cgpath && cgpath->string[0]) {
		if (path_clean(cgpath->string, clean, sizeof(clean), e) < 0 || strcmp(clean, "/") == 0)
			return err_set(e, "linux.cgroupsPath: \"%s\" is not a cgroup path", cgpath->string);
		s->cgroups_path = cgpath->string;
	}
	return 0;
}

int spec_parse(struct spec *s, const char *text, size_t len, err_t *e)
{
	const struct json *process, *args, *env, *cwd, *user, *root, *path, *ro, *hostname,
		*mounts, *linux_obj, *namespaces, *caps, *rlimits, *nnp, *oom, *annotations;

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
	    member(process, "user", JSON_OBJECT, &user, "process.", e) < 0 ||
	    member(process, "capabilities", JSON_OBJECT, &caps, "process.", e) < 0 ||
	    member(process, "rlimits", JSON_ARRAY, &rlimits, "process.", e) < 0 ||
	    member(process, "noNewPrivileges", JSON_BOOL, &nnp, "process.", e) < 0 ||
	    member(process, "oomScoreAdj", JSON_NUMBER, &oom, "process.", e) < 0)
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
	if (parse_user(s, user, e) < 0 || parse_caps(s, caps, e) < 0 || parse_rlimits(s, rlimits, e) < 0)
		return -1;
	s->no_new_privs = nnp && nnp->boolean;
	if (oom) {
		long long v;
		if (json_int(oom, -1000, 1000, &v) < 0)
			return err_set(e, "process.oomScoreAdj: must be a whole number from -1000 to 1000");
		s->has_oom_score_adj = true;
		s->oom_score_adj = (int)v;
	}

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
	    parse_namespaces(s, namespaces, e) < 0 || parse_linux(s, linux_obj, e) < 0)
		return -1;
	if (member(s->doc, "annotations", JSON_OBJECT, &annotations, "", e) < 0 ||
	    parse_annotations(s, annotations, e) < 0)
		return -1;
	return 0;
}

void spec_free(struct spec *s)
{
	for (size_t i = 0; i < s->nmounts; i++)
		free(s->mounts[i].options);
	free(s->mounts);
	free(s->gids);
	free(s->rlimits);
	free(s->sysctl);
	free(s->masked_paths);
	free(s->readonly_paths);
	free(s->devices);
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

const char *const runtime_ns_kinds[RUNTIME_NS_KINDS] = { "cgroup", "ipc", "mnt", "net", "pid", "user", "uts" };

/* As LinuxKit: a peer without "add" means a veth. */
static int parse_interfaces(struct runtime_extra *r, const struct json *list, err_t *e)
{
	if (!list || list->count == 0)
		return 0;
	if (!(r->ifaces = calloc(list->count, sizeof(*r->ifaces))))
		return err_sys(e, "interfaces");
	for (const struct json *i = list->child; i; i = i->next) {
		size_t k = r->nifaces;
		const struct json *name, *add, *peer, *root;
		struct runtime_iface *f = &r->ifaces[r->nifaces++];
		if (i->type != JSON_OBJECT)
			return err_set(e, "interfaces[%zu]: must be an object", k);
		if (member(i, "name", JSON_STRING, &name, "interfaces[].", e) < 0 ||
		    member(i, "add", JSON_STRING, &add, "interfaces[].", e) < 0 ||
		    member(i, "peer", JSON_STRING, &peer, "interfaces[].", e) < 0 ||
		    member(i, "createInRoot", JSON_BOOL, &root, "interfaces[].", e) < 0)
			return -1;
		if (!name || name->string[0] == '\0')
			return err_set(e, "interfaces[%zu]: an interface needs a name", k);
		f->name = name->string;
		f->add = add && add->string[0] ? add->string : NULL;
		f->peer = peer && peer->string[0] ? peer->string : NULL;
		f->create_in_root = root && root->boolean;
		if (f->peer && !f->add)
			f->add = "veth";
		if (f->add && strcmp(f->add, "veth") == 0 && !f->peer)
			return err_set(e, "interfaces[%zu]: the veth %s needs a peer", k, f->name);
		for (const char *n = f->name; n; n = n == f->name ? f->peer : NULL)
			if (strlen(n) >= 16 || strchr(n, '/') || strchr(n, ' '))
				return err_set(e, "interfaces[%zu]: \"%s\" is not an interface name", k, n);
	}
	return 0;
}

static int parse_bind_ns(struct runtime_extra *r, const struct json *obj, err_t *e)
{
	char clean[4096];
	for (size_t i = 0; i < RUNTIME_NS_KINDS; i++) {
		const struct json *p;
		if (member(obj, runtime_ns_kinds[i], JSON_STRING, &p, "bindNS.", e) < 0)
			return -1;
		if (!p || p->string[0] == '\0')
			continue;
		if (p->string[0] != '/' || path_clean(p->string, clean, sizeof(clean), e) < 0 ||
		    strcmp(clean, "/") == 0)
			return err_set(e, "bindNS.%s: \"%s\" is not a clean absolute path", runtime_ns_kinds[i], p->string);
		r->bind_ns[i] = p->string;
	}
	return 0;
}

int runtime_extra_parse(struct runtime_extra *r, const char *text, size_t len, err_t *e)
{
	const struct json *mkdir, *mounts, *cgroups, *ifaces, *bindns;
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
	    parse_mount_list(mounts, &r->mounts, &r->nmounts, e) < 0 ||
	    member(r->doc, "interfaces", JSON_ARRAY, &ifaces, "", e) < 0 || parse_interfaces(r, ifaces, e) < 0 ||
	    member(r->doc, "bindNS", JSON_OBJECT, &bindns, "", e) < 0 || parse_bind_ns(r, bindns, e) < 0)
		return -1;
	for (size_t i = 0; i < r->ncgroups; i++)
		if (strstr(r->cgroups[i], "..") || r->cgroups[i][0] == '\0')
			return err_set(e, "cgroups[%zu]: %s is not a cgroup name", i, r->cgroups[i]);
	for (const struct json *m = r->doc->child; m; m = m->next) {
		size_t n = strlen(r->ignored);
		if (strcmp(m->key, "mkdir") == 0 || strcmp(m->key, "mounts") == 0 ||
		    strcmp(m->key, "cgroups") == 0 || strcmp(m->key, "interfaces") == 0 ||
		    strcmp(m->key, "bindNS") == 0 || all_empty(m))
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
	free(r->ifaces);
	free(r->cgroups);
	free(r->mkdir);
	json_free(r->doc);
	memset(r, 0, sizeof(*r));
}

/* One space-separated mountinfo field into out, with the kernel's octal
 * escapes (\040 for a space, \134 for a backslash, ...) undone; returns
 * where the next field starts, or NULL when the line ends first or the
 * field does not fit. */
static const char *mountinfo_field(const char *p, char *out, size_t size)
{
	size_t n = 0;
	while (*p == ' ')
		p++;
	if (*p == '\0' || *p == '\n')
		return NULL;
	for (; *p && *p != ' ' && *p != '\n'; p++) {
		char c = *p;
		if (c == '\\' && p[1] >= '0' && p[1] <= '3' && p[2] >= '0' && p[2] <= '7' && p[3] >= '0' && p[3] <= '7') {
			c = (char)((p[1] - '0') * 64 + (p[2] - '0') * 8 + (p[3] - '0'));
			p += 3;
		}
		if (n + 1 >= size)
			return NULL;
		out[n++] = c;
	}
	out[n] = '\0';
	return p;
}

struct mountinfo_line {
	unsigned long id, parent;
	const char *line;
};

/* "ID PARENT MAJ:MIN ROOT MOUNT_POINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE
 * SUPER_OPTIONS": the fields this file needs, or -1 for a line it cannot read. */
static int mountinfo_parse_line(const char *line, unsigned long *id, unsigned long *parent, char *point,
				size_t point_size, struct mountinfo_top *top)
{
	char field[4096];
	char *end;
	const char *p = line;
	*id = strtoul(p, &end, 10);
	if (end == p || *end != ' ')
		return -1;
	*parent = strtoul(p = end, &end, 10);
	if (end == p || *end != ' ')
		return -1;
	p = end;
	for (int i = 0; i < 2; i++) /* MAJ:MIN and ROOT */
		if (!(p = mountinfo_field(p, field, sizeof(field))))
			return -1;
	if (!(p = mountinfo_field(p, point, point_size)))
		return -1;
	if (!top)
		return 0;
	/* Options, then optional fields up to the lone "-". */
	do
		if (!(p = mountinfo_field(p, field, sizeof(field))))
			return -1;
	while (strcmp(field, "-") != 0);
	if (!(p = mountinfo_field(p, top->fstype, sizeof(top->fstype))) ||
	    !(p = mountinfo_field(p, top->source, sizeof(top->source))))
		return -1;
	return 0;
}

int mountinfo_find(const char *text, const char *mount_point, struct mountinfo_top *out)
{
	/* Mounts stacked on one point each have the one below as parent: the
	 * top is the one that is no other's parent there. */
	struct mountinfo_line here[64];
	size_t n = 0;
	char point[4096];
	for (const char *line = text, *next; line && *line; line = next) {
		unsigned long id, parent;
		next = strchr(line, '\n');
		next = next ? next + 1 : NULL;
		if (mountinfo_parse_line(line, &id, &parent, point, sizeof(point), NULL) < 0 ||
		    strcmp(point, mount_point) != 0)
			continue;
		if (n == ARRAY_LEN(here)) { /* a pile that high: the newest listed stand for it */
			memmove(here, here + 1, sizeof(here) - sizeof(here[0]));
			n--;
		}
		here[n++] = (struct mountinfo_line){ id, parent, line };
	}
	for (size_t i = n; i-- > 0;) {
		bool below = false;
		for (size_t j = 0; j < n && !below; j++)
			below = j != i && here[j].parent == here[i].id;
		if (!below) {
			unsigned long id, parent;
			return mountinfo_parse_line(here[i].line, &id, &parent, point, sizeof(point), out) == 0;
		}
	}
	return 0;
}

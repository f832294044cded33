/* The parts of an OCI bundle's config.json (and of LinuxKit's runtime.json)
 * that this runtime honours, checked and pulled out of the JSON tree. The
 * strings point into the tree, which the struct owns. */
#ifndef KEEL_SPEC_H
#define KEEL_SPEC_H

#include <stdbool.h>
#include <sys/types.h>

#include "json.h"
#include "util.h"

#define SPEC_MAX_NS 8
#define SPEC_DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

struct spec_mount {
	const char *destination; /* as written */
	const char *type;        /* may be NULL */
	const char *source;      /* may be NULL */
	const char **options;
	size_t noptions;
};

struct spec_ns {
	int flag;         /* CLONE_NEW* */
	const char *type; /* as written, for messages */
	const char *path; /* NULL: a new namespace */
};

struct spec {
	struct json *doc;
	const char **args; /* NULL-terminated */
	const char **env;  /* NULL-terminated, may be empty */
	const char *cwd;
	uid_t uid;
	gid_t gid;
	gid_t *gids;
	size_t ngids;
	const char *root_path;
	bool root_readonly;
	const char *hostname; /* NULL when not set */
	struct spec_mount *mounts;
	size_t nmounts;
	struct spec_ns ns[SPEC_MAX_NS];
	size_t nns;
	int clone_flags; /* the CLONE_NEW* flags of namespaces listed without a path */
};

int spec_parse(struct spec *s, const char *text, size_t len, err_t *e);
void spec_free(struct spec *s);
/* The value of name in the container's environment, or NULL. */
const char *spec_getenv(const struct spec *s, const char *name);

struct runtime_extra {
	struct json *doc;
	const char **mkdir;
	size_t nmkdir;
	const char **cgroups;
	size_t ncgroups;
	/* Mounts made on the host before the container starts: its root
	 * (a bind, or tmpfs + overlay for a writable root) and any others. */
	struct spec_mount *mounts;
	size_t nmounts;
	char ignored[256]; /* comma-separated keys present but not supported */
};

int runtime_extra_parse(struct runtime_extra *r, const char *text, size_t len, err_t *e);
void runtime_extra_free(struct runtime_extra *r);

#endif

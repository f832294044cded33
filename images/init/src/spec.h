/* The parts of an OCI bundle's config.json (and of LinuxKit's runtime.json)
 * that this runtime honours, checked and pulled out of the JSON tree. The
 * strings point into the tree, which the struct owns. */
#ifndef KEEL_SPEC_H
#define KEEL_SPEC_H

#include <stdbool.h>
#include <sys/types.h>

#include "caps.h"
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

struct spec_rlimit {
	int resource; /* RLIMIT_* */
	uint64_t soft, hard;
};

struct spec_sysctl {
	const char *key, *value;
};

/* linux.devices[] */
struct spec_device {
	const char *path; /* clean, absolute */
	mode_t type;      /* S_IFCHR, S_IFBLK or S_IFIFO */
	unsigned major, minor;
	mode_t mode; /* permission bits; 0666 when fileMode is absent */
	uid_t uid;
	gid_t gid;
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
	int ns_flags;    /* every CLONE_NEW* listed, new or joined */

	struct caps caps; /* none when process.capabilities is absent or empty */
	bool no_new_privs;
	bool has_oom_score_adj;
	int oom_score_adj;
	struct spec_rlimit *rlimits;
	size_t nrlimits;
	struct spec_sysctl *sysctl;
	size_t nsysctl;
	const char **masked_paths;
	size_t nmasked;
	const char **readonly_paths;
	size_t nreadonly;
	unsigned long rootfs_propagation; /* MS_SHARED ... (| MS_REC), or 0 */
	struct spec_device *devices;
	size_t ndevices;
	const struct json *resources; /* linux.resources, or NULL */
	const char *cgroups_path;     /* linux.cgroupsPath, or NULL */
	bool seccomp_unconfined;      /* annotation dev.keel.seccomp=unconfined */
};

/* The annotation that turns the default seccomp profile off. */
#define SPEC_SECCOMP_ANNOTATION "dev.keel.seccomp"

/* "RLIMIT_NOFILE" -> RLIMIT_NOFILE; -1 when unknown. */
int spec_rlimit_from_name(const char *name);
/* Whether a sysctl may be set for a container with these namespaces
 * (CLONE_NEW* flags, new or joined): only namespaced ones, as runc decides. */
int spec_sysctl_check(const char *key, int ns_flags, err_t *e);

int spec_parse(struct spec *s, const char *text, size_t len, err_t *e);
void spec_free(struct spec *s);
/* The value of name in the container's environment, or NULL. */
const char *spec_getenv(const struct spec *s, const char *name);

/* runtime.json interfaces[] */
struct runtime_iface {
	const char *name;
	const char *add;  /* a link kind to create ("veth", "dummy" ...), or NULL to move one */
	const char *peer; /* veth: the end that stays in the root namespace */
	bool create_in_root;
};

#define RUNTIME_NS_KINDS 7
extern const char *const runtime_ns_kinds[RUNTIME_NS_KINDS]; /* cgroup ipc mnt net pid user uts */

struct runtime_extra {
	struct json *doc;
	struct runtime_iface *ifaces;
	size_t nifaces;
	const char *bind_ns[RUNTIME_NS_KINDS]; /* host paths, or NULL */
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

/* The topmost of the mounts on one mount point, as /proc/self/mountinfo
 * lists it (octal escapes undone). */
struct mountinfo_top {
	char fstype[64];
	char source[4096];
};

/* Finds the topmost mount on mount_point (absolute, symlinks resolved) in
 * mountinfo text: 1 with *out filled, or 0 when nothing is mounted there. */
int mountinfo_find(const char *text, const char *mount_point, struct mountinfo_top *out);

#endif

/* keelctl exec: a command started by PID 1 inside a running container. It
 * joins the container's namespaces, cgroup and root, and takes on what
 * config.json gives the container's own process: environment, cwd, user,
 * capabilities, no_new_privs, seccomp, rlimits and oom_score_adj. So exec
 * can do nothing the container itself could not. */
#ifndef KEEL_EXEC_H
#define KEEL_EXEC_H

#include <sys/types.h>

#include "spec.h"
#include "util.h"

/* BUNDLE/config.json, parsed. */
int exec_load_spec(const char *bundle, struct spec *s, err_t *e);

/* The cgroup v2 path in the text of /proc/PID/cgroup ("0::/keel/web" ->
 * "/keel/web"); -1 when there is no v2 line. */
int exec_cgroup_of(const char *proc_cgroup, char *out, size_t size);

/* Starts argv in the container whose first process is target (a pid in
 * init's pid namespace), from bundle, with fds as its stdin, stdout and
 * stderr. Its pid (a child of the caller), or -1. A failure after the
 * fork is written to the command's stderr as "keelctl exec: ..." and it
 * exits 125 (setup), 126 (cannot run) or 127 (not found). */
pid_t exec_in_container(pid_t target, const char *bundle, char *const argv[], const int fds[3], err_t *e);

#endif

/* A first-cut OCI runtime: starts BUNDLE/config.json's process in its own
 * namespaces on BUNDLE/rootfs. Used by PID 1 for every container and by
 * "init run" on a host. */
#ifndef KEEL_RUNTIME_H
#define KEEL_RUNTIME_H

#include <stdbool.h>
#include <sys/types.h>

#include "util.h"

/* Exit codes of a container that never got to run its command. */
#define RT_EXIT_SETUP 125    /* namespaces, mounts, user ... failed */
#define RT_EXIT_CANNOT 126   /* the command exists but exec failed */
#define RT_EXIT_NOTFOUND 127 /* the command was not found */

struct rt_options {
	const char *name;  /* for log messages */
	bool passthrough;  /* share our stdio instead of piping stdout/stderr */
};

struct rt_process {
	pid_t pid;
	int output;       /* read end of the stdout+stderr pipe; -1 with passthrough */
	char error[512];  /* set when the process failed before exec; it exits
			     with one of the RT_EXIT_ codes on its own */
};

/* 0: a process exists (p->pid), though it may have failed (p->error).
 * -1: nothing was started; e says why. */
int runtime_start(const char *bundle, const struct rt_options *o, struct rt_process *p, err_t *e);

/* Steps of a container's own process, also taken by keelctl exec. */
struct spec;
/* The spec's rlimits. */
int runtime_set_rlimits(const struct spec *s, err_t *e);
/* Groups, gid, uid, with the capabilities kept across the switch and then
 * set as the spec says. */
int runtime_set_identity(const struct spec *s, err_t *e);
/* execve of argv[0], looked up in the spec's PATH (or the default) with
 * the spec's environment; returns only on failure, with errno set. */
void runtime_execvpe(const struct spec *s, char *const argv[]);

#endif

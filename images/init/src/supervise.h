/* PID 1's event loop and its containers: started through the runtime,
 * services restarted by policy with backoff, output relayed to the
 * console, a ring and a file, zombies reaped, power requests taken from
 * signals, the power button and keelctl, all in one poll(2). */
#ifndef KEEL_SUPERVISE_H
#define KEEL_SUPERVISE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "util.h"

enum sup_kind { SUP_ONBOOT, SUP_SERVICE, SUP_ONSHUTDOWN };
enum power { POWER_NONE, POWER_OFF, POWER_REBOOT };
enum restart_policy { RESTART_ALWAYS, RESTART_ON_FAILURE, RESTART_NEVER };
enum sup_state {
	ST_WAITING,    /* not started yet: its "after" services have not started */
	ST_RUNNING,
	ST_RESTARTING, /* exited; starts again when its backoff delay is over */
	ST_EXITED,     /* ran to its end and stays so (onboot, or by policy) */
	ST_STOPPED,    /* stopped on request (keelctl stop, shutdown) */
};
/* A running container that keelctl paused shows as this in ps. */
#define SUP_PAUSED_NAME "paused"

#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 30000
/* A service that ran this long before exiting starts over at BACKOFF_MIN_MS. */
#define BACKOFF_RESET_MS 10000
/* Consecutive quick exits after which a crash loop is reported. */
#define CRASH_LOOP_EXITS 5
#define STOP_TIMEOUT_DEFAULT_MS 10000

#define SVC_AFTER_MAX 16
#define SVC_NAME_MAX 64

/* BUNDLE/keel.json: {"restart": "always"|"on-failure"|"never", "after": [...]}. */
struct svc_config {
	enum restart_policy restart;
	char after[SVC_AFTER_MAX][SVC_NAME_MAX];
	size_t nafter;
};

/* Defaults (always, no after) for what the text does not say; unknown keys
 * are ignored, wrong types are errors. */
int svc_config_parse(const char *text, size_t len, struct svc_config *c, err_t *e);
const char *restart_policy_name(enum restart_policy p);
/* Delay before the restart that follows `failures` quick exits in a row
 * (0 for the first): BACKOFF_MIN_MS doubling up to BACKOFF_MAX_MS. */
uint64_t backoff_delay_ms(unsigned failures);
/* "850ms", "12s", "3m05s", "2h07m", "3d04h". */
void format_duration(uint64_t ms, char *buf, size_t size);
const char *sup_state_name(enum sup_state s);
/* "exit 3" or "killed by signal 9". */
void describe_status(int status, char *buf, size_t size);

/* Blocks the signals the loop reads; call before anything else. */
int sup_init(err_t *e);
void sup_set_stop_timeout(int ms);
int sup_stop_timeout(void);
/* Registers a container (a service reads its keel.json); its id, or -1. */
int sup_add(const char *bundle, const char *name, enum sup_kind kind);
/* Starts a registered onboot or onshutdown container now; 0 or -1 (logged). */
int sup_run(int id);
/* Runs the loop until container id exits (0, *status set) or timeout_ms
 * passes (-1; a negative timeout never passes). */
int sup_wait(int id, int timeout_ms, int *status);
void sup_kill(int id, int sig);
/* Starts the registered services, each once its "after" services have
 * started, and from then on supervises them. */
void sup_start_services(void);
/* Runs the loop until a power request has arrived. */
enum power sup_wait_power(void);
enum power sup_power_requested(void);
void sup_request_power(enum power p, const char *why);
/* Shutdown: no more restarts; SIGTERM to the services, newest first; wait
 * for the stop timeout; SIGKILL; then the same for every other process. */
void sup_stop_all(void);
/* Runs the loop until every output pipe is closed or timeout_ms passes. */
void sup_drain(int timeout_ms);
/* Closes the containers' log files; each reopens on its next line. */
void sup_close_logs(void);

/* For the control socket. */
int sup_find(const char *name);
enum sup_kind sup_kind_of(int id);
const char *sup_name(int id);
bool sup_running(int id);
/* Running, or going to run by itself (waiting, restarting). */
bool sup_active(int id);
size_t sup_format_ps(char *buf, size_t size);
/* The last lines of id's output (all when lines < 0); out holds RING_SIZE. */
size_t sup_logs(int id, long lines, char *out);
/* 1: SIGTERM sent, wait for the exit; 0: nothing to stop (msg says why);
 * -1: refused (msg). */
int sup_ctl_stop(int id, char *msg, size_t size);
/* 0: running (msg says so), -1: refused or failed (msg). */
int sup_ctl_start(int id, char *msg, size_t size);
/* "NAME stopped (exit 0)". */
void sup_describe_end(int id, char *msg, size_t size);
/* pause (freeze its cgroup) or resume a running container. 1: asked,
 * poll sup_pause_settled; 0: done (msg); -1: refused or failed (msg). */
int sup_ctl_pause(int id, bool pause, char *msg, size_t size);
/* 1: done (msg); 0: not yet; -1: failed (msg). With give_up, a pause that
 * has not taken is undone and reported as failed. */
int sup_pause_settled(int id, bool pause, bool give_up, char *msg, size_t size);
/* Sends sig to the container's first process; its end is then handled as
 * any other (a service's restart policy applies). 0 or -1, msg says. */
int sup_ctl_kill(int id, int sig, char *msg, size_t size);
/* Starts argv inside the running container (see exec.h); the pid, reaped
 * by the loop and handed to ctl_reaped, or -1 (msg). */
pid_t sup_ctl_exec(int id, char *const argv[], const int fds[3], char *msg, size_t size);
/* The stats table for the names (count NUL-terminated strings; none: every
 * service). -1 with the message in buf when a name is unknown. */
int sup_format_stats(const char *names, size_t count, char *buf, size_t size, size_t *len);
/* "512B", "1.5KiB", "230MiB". */
void format_bytes(uint64_t n, char *buf, size_t size);

#endif

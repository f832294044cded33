/* The control socket: keelctl talks to PID 1 over a SOCK_SEQPACKET unix
 * socket, one request packet per connection, answered by packets that
 * each start with a type byte:
 *   'o' TEXT   output for keelctl's stdout; more follows
 *   'k' [TEXT] done, success (exit 0); TEXT, if any, for stdout
 *   'e' TEXT   done, failure (exit 1); TEXT is the message
 *   'x' CODE   exec: the command ended; CODE is keelctl's exit code
 * Requests are one line of words:
 *   ps | version | poweroff | reboot | stop NAME | start NAME |
 *   restart NAME | logs NAME LINES FOLLOW   (LINES a number or "all",
 *   FOLLOW 0 or 1) | pause NAME | resume NAME | kill NAME SIGNAL |
 *   stats | exec NAME
 * and, for stats and exec, a newline and a list of NUL-terminated strings
 * after it: the names to show, or the command's argv. exec comes with
 * keelctl's stdin, stdout and stderr (SCM_RIGHTS); while the command runs
 * keelctl may send "signal N" packets, which init passes on to it.
 * Only uid 0 may connect (SO_PEERCRED; the socket is also mode 0600). */
#ifndef KEEL_CTL_H
#define KEEL_CTL_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "util.h"

#define CTL_DIR "/run/keel"
#define CTL_SOCKET CTL_DIR "/ctl.sock"
#define CTL_PACKET_MAX 8192
#define CTL_MAX_CONNS 16
/* The entry id that names init's own log ("keelctl logs init"). */
#define CTL_INIT_ENTRY (-2)

#define CTL_OUT 'o'
#define CTL_OK 'k'
#define CTL_ERR 'e'
#define CTL_EXIT 'x'

/* The longest request line, and the most bytes of strings after it. */
#define CTL_LINE_MAX 256
#define CTL_ARGS_MAX (CTL_PACKET_MAX - CTL_LINE_MAX)

enum ctl_cmd {
	CTL_PS, CTL_LOGS, CTL_STOP, CTL_START, CTL_RESTART, CTL_POWEROFF, CTL_REBOOT, CTL_VERSION,
	CTL_PAUSE, CTL_RESUME, CTL_KILL, CTL_STATS, CTL_EXEC,
};

struct ctl_req {
	enum ctl_cmd cmd;
	char name[64];
	long lines; /* logs: how many of the last lines; -1 for all */
	bool follow;
	int signal; /* kill */
	/* stats: names; exec: argv. Each NUL-terminated, args_len in all. */
	char args[CTL_ARGS_MAX];
	size_t args_len;
	size_t argc;
	/* exec -t: keelctl gives the command a pseudo-terminal. keelctl's own
	 * (the command gets the terminal as its stdio); not sent to init. */
	bool tty;
};

/* "TERM", "SIGTERM", "sigterm" or "15" -> 15; -1 when not a signal. */
int ctl_signal_from_name(const char *name);
/* 15 -> "SIGTERM"; a number for those without a name ("SIG34"). */
void ctl_signal_name(int sig, char *buf, size_t size);
/* Appends a string to r->args; -1 when it does not fit. */
int ctl_add_arg(struct ctl_req *r, const char *arg);

/* Letters, digits, '.', '_' and '-'; 1 to 63 of them. */
bool ctl_name_ok(const char *name);
/* The request as sent (binary after the line for stats and exec); its
 * length, or -1 if it does not fit. */
int ctl_format_request(const struct ctl_req *r, char *buf, size_t size);
int ctl_parse_request(const char *buf, size_t n, struct ctl_req *r, err_t *e);

/* PID 1's side. */
int ctl_listen(const char *path, err_t *e);
size_t ctl_pollfds(struct pollfd *p, size_t max);
void ctl_handle(const struct pollfd *p, size_t n);
/* A line of entry's output (n bytes, a newline after them), for followers. */
void ctl_line(int entry, const char *line, size_t n);
/* entry started, exited or stopped: answers the requests waiting on it. */
void ctl_entry_changed(int entry);
/* A child of init ended that was no container's: when it was a command
 * of keelctl exec, its keelctl gets the exit code. */
void ctl_reaped(pid_t pid, int status);
/* The earliest deadline of a waiting request (ms), or UINT64_MAX. */
uint64_t ctl_next_deadline(void);
void ctl_tick(uint64_t now);
/* At shutdown: ends every connection (followers get 'k') and closes and
 * removes the socket. */
void ctl_close_all(void);

#endif

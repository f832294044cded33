#include "ctl.h"

#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include "log.h"
#include "logbuf.h"
#include "supervise.h"

#ifndef KEEL_VERSION
#define KEEL_VERSION "dev"
#endif

/* A client has this long to send its request. */
#define CTL_REQUEST_MS 5000

static const struct {
	const char *word;
	enum ctl_cmd cmd;
	unsigned char words; /* with the command word */
	bool name;           /* the second word is a container's name */
	bool args;           /* strings may follow the line */
} commands[] = {
	{ "ps", CTL_PS, 1, false, false },          { "version", CTL_VERSION, 1, false, false },
	{ "poweroff", CTL_POWEROFF, 1, false, false }, { "reboot", CTL_REBOOT, 1, false, false },
	{ "stop", CTL_STOP, 2, true, false },       { "start", CTL_START, 2, true, false },
	{ "restart", CTL_RESTART, 2, true, false }, { "logs", CTL_LOGS, 4, true, false },
	{ "pause", CTL_PAUSE, 2, true, false },     { "resume", CTL_RESUME, 2, true, false },
	{ "kill", CTL_KILL, 3, true, false },       { "stats", CTL_STATS, 1, false, true },
	{ "exec", CTL_EXEC, 2, true, true },
};

/* Linux's numbers on x86 and arm, which is where keel runs. */
static const char *const signal_names[] = {
	[SIGHUP] = "HUP",     [SIGINT] = "INT",       [SIGQUIT] = "QUIT",   [SIGILL] = "ILL",
	[SIGTRAP] = "TRAP",   [SIGABRT] = "ABRT",     [SIGBUS] = "BUS",     [SIGFPE] = "FPE",
	[SIGKILL] = "KILL",   [SIGUSR1] = "USR1",     [SIGSEGV] = "SEGV",   [SIGUSR2] = "USR2",
	[SIGPIPE] = "PIPE",   [SIGALRM] = "ALRM",     [SIGTERM] = "TERM",   [SIGSTKFLT] = "STKFLT",
	[SIGCHLD] = "CHLD",   [SIGCONT] = "CONT",     [SIGSTOP] = "STOP",   [SIGTSTP] = "TSTP",
	[SIGTTIN] = "TTIN",   [SIGTTOU] = "TTOU",     [SIGURG] = "URG",     [SIGXCPU] = "XCPU",
	[SIGXFSZ] = "XFSZ",   [SIGVTALRM] = "VTALRM", [SIGPROF] = "PROF",   [SIGWINCH] = "WINCH",
	[SIGIO] = "IO",       [SIGPWR] = "PWR",       [SIGSYS] = "SYS",
};

int ctl_signal_from_name(const char *name)
{
	if (name[0] >= '0' && name[0] <= '9') {
		char *end;
		errno = 0;
		long n = strtol(name, &end, 10);
		return errno || *end || n < 1 || n > 64 ? -1 : (int)n;
	}
	if (strncasecmp(name, "SIG", 3) == 0)
		name += 3;
	for (size_t i = 1; i < ARRAY_LEN(signal_names); i++)
		if (signal_names[i] && strcasecmp(name, signal_names[i]) == 0)
			return (int)i;
	return -1;
}

void ctl_signal_name(int sig, char *buf, size_t size)
{
	if (sig > 0 && (size_t)sig < ARRAY_LEN(signal_names) && signal_names[sig])
		snprintf(buf, size, "SIG%s", signal_names[sig]);
	else
		snprintf(buf, size, "SIG%d", sig);
}

bool ctl_name_ok(const char *name)
{
	size_t n = 0;
	for (; name[n]; n++) {
		char ch = name[n];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '.' ||
		      ch == '_' || ch == '-'))
			return false;
	}
	return n > 0 && n < 64;
}

int ctl_add_arg(struct ctl_req *r, const char *arg)
{
	size_t n = strlen(arg) + 1;
	if (n > sizeof(r->args) - r->args_len)
		return -1;
	memcpy(r->args + r->args_len, arg, n);
	r->args_len += n;
	r->argc++;
	return 0;
}

int ctl_format_request(const struct ctl_req *r, char *buf, size_t size)
{
	size_t i = 0;
	while (i < ARRAY_LEN(commands) && commands[i].cmd != r->cmd)
		i++;
	if (i == ARRAY_LEN(commands))
		return -1;
	const char *word = commands[i].word;
	int n;
	if (r->cmd == CTL_LOGS && r->lines < 0)
		n = snprintf(buf, size, "logs %s all %d", r->name, r->follow);
	else if (r->cmd == CTL_LOGS)
		n = snprintf(buf, size, "logs %s %ld %d", r->name, r->lines, r->follow);
	else if (r->cmd == CTL_KILL)
		n = snprintf(buf, size, "kill %s %d", r->name, r->signal);
	else if (commands[i].name)
		n = snprintf(buf, size, "%s %s", word, r->name);
	else
		n = snprintf(buf, size, "%s", word);
	if (n < 0 || (size_t)n >= size)
		return -1;
	if (!commands[i].args || r->args_len == 0)
		return n;
	/* The strings after the line, NULs and all. */
	if ((size_t)n + 1 + r->args_len > size)
		return -1;
	buf[n++] = '\n';
	memcpy(buf + n, r->args, r->args_len);
	return n + (int)r->args_len;
}

/* The strings after the request line: each NUL-terminated. */
static int parse_args(const char *p, size_t n, struct ctl_req *r, err_t *e)
{
	if (n == 0)
		return 0;
	if (n > sizeof(r->args) || p[n - 1] != '\0')
		return err_set(e, "bad request: bad argument list");
	memcpy(r->args, p, n);
	r->args_len = n;
	for (size_t i = 0; i < n; i++)
		r->argc += p[i] == '\0';
	if (r->cmd == CTL_STATS) {
		for (const char *a = r->args; a < r->args + n; a += strlen(a) + 1)
			if (!ctl_name_ok(a))
				return err_set(e, "bad name \"%.64s\"", a);
	}
	return 0;
}

int ctl_parse_request(const char *buf, size_t n, struct ctl_req *r, err_t *e)
{
	char line[CTL_LINE_MAX], *words[5], *save = NULL;
	size_t nw = 0;
	memset(r, 0, sizeof(*r));
	r->lines = -1;
	const char *nl = n ? memchr(buf, '\n', n) : NULL;
	size_t len = nl ? (size_t)(nl - buf) : n;
	if (len == 0 || len >= sizeof(line) || memchr(buf, '\0', len))
		return err_set(e, "bad request");
	memcpy(line, buf, len);
	line[len] = '\0';
	for (char *w = strtok_r(line, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
		if (nw == ARRAY_LEN(words))
			return err_set(e, "bad request: too many words");
		words[nw++] = w;
	}
	if (nw == 0)
		return err_set(e, "bad request");
	size_t i = 0;
	while (i < ARRAY_LEN(commands) && strcmp(commands[i].word, words[0]) != 0)
		i++;
	if (i == ARRAY_LEN(commands))
		return err_set(e, "unknown command \"%.64s\"", words[0]);
	r->cmd = commands[i].cmd;
	if (nw != commands[i].words)
		return err_set(e, "bad request: %s takes %d arguments", words[0], commands[i].words - 1);
	/* What follows the newline: nothing, or the strings of stats and exec. */
	size_t rest = nl ? n - len - 1 : 0;
	if (rest > 0 && !commands[i].args)
		return err_set(e, "bad request: %s takes no argument list", words[0]);
	if (commands[i].args && parse_args(nl ? nl + 1 : buf + n, rest, r, e) < 0)
		return -1;
	if (r->cmd == CTL_EXEC && (r->argc == 0 || r->args[0] == '\0'))
		return err_set(e, "bad request: exec needs a command");
	if (commands[i].name) {
		if (!ctl_name_ok(words[1]))
			return err_set(e, "bad name \"%.64s\"", words[1]);
		snprintf(r->name, sizeof(r->name), "%s", words[1]);
	}
	if (r->cmd == CTL_KILL && (r->signal = ctl_signal_from_name(words[2])) < 0)
		return err_set(e, "bad signal \"%.32s\"", words[2]);
	if (r->cmd == CTL_LOGS) {
		char *end;
		if (strcmp(words[2], "all") != 0) {
			errno = 0;
			r->lines = strtol(words[2], &end, 10);
			if (errno || end == words[2] || *end || r->lines < 0)
				return err_set(e, "bad line count \"%.32s\"", words[2]);
		}
		if (strcmp(words[3], "0") != 0 && strcmp(words[3], "1") != 0)
			return err_set(e, "bad follow flag \"%.32s\"", words[3]);
		r->follow = words[3][0] == '1';
	}
	return 0;
}

/* ---- PID 1's side ---- */

/* A pause or resume is checked this often until the cgroup says it is done. */
#define CTL_FREEZE_POLL_MS 10
#define CTL_FREEZE_MS 5000

enum conn_state { CONN_FREE, CONN_REQUEST, CONN_FOLLOW, CONN_STOPPING, CONN_FREEZING, CONN_EXEC };

static struct conn {
	int fd;
	enum conn_state st;
	int entry;
	bool restart;
	uint64_t deadline;
	uint64_t check_at; /* CONN_FREEZING: next look at the cgroup */
	pid_t pid;         /* CONN_EXEC: the command */
} conns[CTL_MAX_CONNS];
static int listen_fd = -1;

/* Init's own lines, for "keelctl logs -f init". */
static void init_line(const char *line, size_t n)
{
	ctl_line(CTL_INIT_ENTRY, line, n);
}

int ctl_listen(const char *path, err_t *e)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(a.sun_path))
		return err_set(e, "%s: path too long", path);
	strcpy(a.sun_path, path);
	char dir[sizeof(a.sun_path)];
	snprintf(dir, sizeof(dir), "%s", path);
	char *slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		if (mkdir_p(dir, 0755, e) < 0)
			return -1;
	}
	autoclose int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return err_sys(e, "socket");
	unlink(path);
	/* Born 0600: no moment when anyone else could connect. */
	mode_t old = umask(0177);
	int b = bind(fd, (struct sockaddr *)&a, sizeof(a));
	umask(old);
	if (b < 0)
		return err_sys(e, "bind %s", path);
	if (listen(fd, 8) < 0)
		return err_sys(e, "listen %s", path);
	for (size_t i = 0; i < CTL_MAX_CONNS; i++)
		conns[i] = (struct conn){ .fd = -1 };
	listen_fd = take_fd(&fd);
	log_set_sink(init_line);
	return 0;
}

static void conn_close(struct conn *c)
{
	close_fdp(&c->fd);
	c->st = CONN_FREE;
}

/* Sends text as packets of type t (the last one of a long text gets t,
 * the ones before it CTL_OUT). -1 when the client cannot take it now: a
 * client that does not read its answers is not waited for. */
static int conn_send(struct conn *c, char t, const char *text, size_t n)
{
	char pkt[CTL_PACKET_MAX];
	do {
		size_t take = n < sizeof(pkt) - 1 ? n : sizeof(pkt) - 1;
		pkt[0] = take == n ? t : CTL_OUT;
		memcpy(pkt + 1, text, take);
		if (send(c->fd, pkt, take + 1, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
			return -1;
		text += take;
		n -= take;
	} while (n > 0);
	return 0;
}

/* The final answer; the connection ends with it. */
static void conn_end(struct conn *c, char t, const char *text)
{
	conn_send(c, t, text, strlen(text));
	conn_close(c);
}

static void conn_endf(struct conn *c, char t, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void conn_endf(struct conn *c, char t, const char *fmt, ...)
{
	char msg[600];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	conn_end(c, t, msg);
}

static void do_logs(struct conn *c, int id, const struct ctl_req *r)
{
	static char out[RING_SIZE];
	size_t n = sup_logs(id, r->lines, out);
	if (n > 0 && conn_send(c, CTL_OUT, out, n) < 0) {
		conn_close(c);
		return;
	}
	if (r->follow && (id == CTL_INIT_ENTRY || sup_active(id))) {
		c->st = CONN_FOLLOW;
		c->entry = id;
		return;
	}
	conn_end(c, CTL_OK, "");
}

/* stop or restart once the entry is down, or right away if it is. */
static void stop_done(struct conn *c, int id)
{
	char msg[400];
	if (!c->restart) {
		sup_describe_end(id, msg, sizeof(msg));
		conn_endf(c, CTL_OK, "%s\n", msg);
		return;
	}
	/* Off the waiting list before the start announces itself. */
	c->st = CONN_REQUEST;
	if (sup_ctl_start(id, msg, sizeof(msg)) < 0)
		conn_end(c, CTL_ERR, msg);
	else
		conn_endf(c, CTL_OK, "%s\n", msg);
}

static void do_pause(struct conn *c, int id, bool pause)
{
	char msg[400];
	switch (sup_ctl_pause(id, pause, msg, sizeof(msg))) {
	case 1:
		c->st = CONN_FREEZING;
		c->entry = id;
		c->restart = pause; /* which way it goes */
		c->deadline = now_ms() + CTL_FREEZE_MS;
		c->check_at = now_ms() + CTL_FREEZE_POLL_MS;
		return;
	case 0:
		conn_endf(c, CTL_OK, "%s\n", msg);
		return;
	default:
		conn_end(c, CTL_ERR, msg);
	}
}

/* fds: keelctl's stdin, stdout and stderr; the command gets them. */
static void do_exec(struct conn *c, int id, const struct ctl_req *r, const int *fds, size_t nfds)
{
	char msg[600], *argv[CTL_ARGS_MAX / 2 + 1];
	size_t n = 0;
	if (nfds != 3) {
		conn_end(c, CTL_ERR, "exec: keelctl did not pass its stdin, stdout and stderr");
		return;
	}
	for (char *a = (char *)r->args; a < r->args + r->args_len && n < ARRAY_LEN(argv) - 1; a += strlen(a) + 1)
		argv[n++] = a;
	argv[n] = NULL;
	pid_t pid = sup_ctl_exec(id, argv, fds, msg, sizeof(msg));
	if (pid < 0) {
		conn_end(c, CTL_ERR, msg);
		return;
	}
	c->st = CONN_EXEC;
	c->pid = pid;
}

static void dispatch(struct conn *c, const struct ctl_req *r, const int *fds, size_t nfds)
{
	static char big[64 << 10];
	char msg[400], up[32];
	int id = -1;
	if (r->cmd == CTL_LOGS || r->cmd == CTL_STOP || r->cmd == CTL_START || r->cmd == CTL_RESTART ||
	    r->cmd == CTL_PAUSE || r->cmd == CTL_RESUME || r->cmd == CTL_KILL || r->cmd == CTL_EXEC) {
		id = sup_find(r->name);
		if (id < 0 && r->cmd == CTL_LOGS && strcmp(r->name, "init") == 0)
			id = CTL_INIT_ENTRY;
		if (id == -1) {
			conn_endf(c, CTL_ERR, "no container named %s (keelctl ps lists them)", r->name);
			return;
		}
	}
	switch (r->cmd) {
	case CTL_VERSION:
		format_duration(now_ms(), up, sizeof(up));
		conn_endf(c, CTL_OK, "init %s, up %s\n", KEEL_VERSION, up);
		return;
	case CTL_PS: {
		size_t n = sup_format_ps(big, sizeof(big));
		if (conn_send(c, CTL_OK, big, n) < 0)
			log_msg("keelctl ps: the answer did not fit the socket");
		conn_close(c);
		return;
	}
	case CTL_LOGS:
		do_logs(c, id, r);
		return;
	case CTL_START:
		if (sup_ctl_start(id, msg, sizeof(msg)) < 0)
			conn_end(c, CTL_ERR, msg);
		else
			conn_endf(c, CTL_OK, "%s\n", msg);
		return;
	case CTL_STOP:
	case CTL_RESTART:
		c->restart = r->cmd == CTL_RESTART;
		switch (sup_ctl_stop(id, msg, sizeof(msg))) {
		case 1:
			c->st = CONN_STOPPING;
			c->entry = id;
			c->deadline = now_ms() + (uint64_t)sup_stop_timeout() + 5000;
			return;
		case 0:
			if (c->restart)
				stop_done(c, id);
			else
				conn_endf(c, CTL_OK, "%s\n", msg);
			return;
		default:
			conn_end(c, CTL_ERR, msg);
			return;
		}
	case CTL_STATS: {
		size_t n;
		if (sup_format_stats(r->args, r->argc, big, sizeof(big), &n) < 0) {
			conn_end(c, CTL_ERR, big);
			return;
		}
		if (conn_send(c, CTL_OK, big, n) < 0)
			log_msg("keelctl stats: the answer did not fit the socket");
		conn_close(c);
		return;
	}
	case CTL_PAUSE:
	case CTL_RESUME:
		do_pause(c, id, r->cmd == CTL_PAUSE);
		return;
	case CTL_KILL:
		if (sup_ctl_kill(id, r->signal, msg, sizeof(msg)) < 0)
			conn_end(c, CTL_ERR, msg);
		else
			conn_endf(c, CTL_OK, "%s\n", msg);
		return;
	case CTL_EXEC:
		do_exec(c, id, r, fds, nfds);
		return;
	case CTL_POWEROFF:
	case CTL_REBOOT: {
		enum power p = r->cmd == CTL_REBOOT ? POWER_REBOOT : POWER_OFF;
		conn_endf(c, CTL_OK, "%s\n", p == POWER_REBOOT ? "rebooting" : "powering off");
		sup_request_power(p, r->cmd == CTL_REBOOT ? "keelctl reboot" : "keelctl poweroff");
		return;
	}
	}
}

static void accept_all(void)
{
	for (;;) {
		autoclose int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd < 0)
			return;
		struct ucred cred;
		socklen_t len = sizeof(cred);
		struct conn tmp = { .fd = fd };
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 || cred.uid != 0) {
			conn_end(&tmp, CTL_ERR, "permission denied: only root may use keelctl");
			fd = -1;
			continue;
		}
		struct conn *c = NULL;
		for (size_t i = 0; i < CTL_MAX_CONNS && !c; i++)
			if (conns[i].st == CONN_FREE)
				c = &conns[i];
		if (!c) {
			conn_end(&tmp, CTL_ERR, "busy: too many keelctl connections");
			fd = -1;
			continue;
		}
		/* Room for a whole log ring and more; root may go past the sysctl limit. */
		int size = 512 << 10;
		if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size)) < 0)
			setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
		*c = (struct conn){ .fd = take_fd(&fd), .st = CONN_REQUEST, .deadline = now_ms() + CTL_REQUEST_MS };
	}
}

size_t ctl_pollfds(struct pollfd *p, size_t max)
{
	size_t n = 0;
	if (listen_fd < 0)
		return 0;
	if (n < max)
		p[n++] = (struct pollfd){ .fd = listen_fd, .events = POLLIN };
	/* Followers and waiters are polled too, to notice them hang up. */
	for (size_t i = 0; i < CTL_MAX_CONNS && n < max; i++)
		if (conns[i].st != CONN_FREE)
			p[n++] = (struct pollfd){ .fd = conns[i].fd, .events = POLLIN };
	return n;
}

/* While an exec'd command runs, its keelctl passes on the signals it gets. */
static void exec_packet(struct conn *c, const char *buf, ssize_t n)
{
	if (n <= 0) {
		/* keelctl is gone: a hangup, as when a terminal closes. The
		 * command's exit is then reaped and dropped. */
		kill(c->pid, SIGHUP);
		conn_close(c);
		return;
	}
	char text[16];
	int sig;
	if (n >= (ssize_t)sizeof(text))
		return;
	memcpy(text, buf, (size_t)n);
	text[n] = '\0';
	if (strncmp(text, "signal ", 7) == 0 && (sig = ctl_signal_from_name(text + 7)) > 0)
		kill(c->pid, sig);
}

static void conn_readable(struct conn *c)
{
	static struct ctl_req r;
	char buf[CTL_PACKET_MAX];
	union {
		struct cmsghdr h;
		char space[CMSG_SPACE(3 * sizeof(int))];
	} ctrl;
	struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) - 1 };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = &ctrl, .msg_controllen = sizeof(ctrl) };
	int fds[3];
	size_t nfds = 0;
	ssize_t n = recvmsg(c->fd, &m, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	for (struct cmsghdr *h = n >= 0 ? CMSG_FIRSTHDR(&m) : NULL; h; h = CMSG_NXTHDR(&m, h)) {
		if (h->cmsg_level != SOL_SOCKET || h->cmsg_type != SCM_RIGHTS)
			continue;
		size_t k = (h->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < k; i++) {
			int fd;
			memcpy(&fd, CMSG_DATA(h) + i * sizeof(int), sizeof(int));
			if (nfds < ARRAY_LEN(fds))
				fds[nfds++] = fd;
			else
				close(fd);
		}
	}
	if (c->st == CONN_EXEC) {
		exec_packet(c, buf, n);
	} else if (n <= 0 || c->st != CONN_REQUEST) {
		/* Gone, or talking out of turn. */
		conn_close(c);
	} else {
		err_t e;
		if (ctl_parse_request(buf, (size_t)n, &r, &e) < 0)
			conn_end(c, CTL_ERR, e.msg);
		else
			dispatch(c, &r, fds, nfds);
	}
	/* The command has its own copies by now. */
	for (size_t i = 0; i < nfds; i++)
		close(fds[i]);
}

void ctl_handle(const struct pollfd *p, size_t n)
{
	for (size_t k = 0; k < n; k++) {
		if (!p[k].revents)
			continue;
		if (p[k].fd == listen_fd) {
			accept_all();
			continue;
		}
		for (size_t i = 0; i < CTL_MAX_CONNS; i++)
			if (conns[i].st != CONN_FREE && conns[i].fd == p[k].fd)
				conn_readable(&conns[i]);
	}
}

void ctl_line(int entry, const char *line, size_t n)
{
	for (size_t i = 0; i < CTL_MAX_CONNS; i++) {
		struct conn *c = &conns[i];
		if (c->st == CONN_FOLLOW && c->entry == entry && conn_send(c, CTL_OUT, line, n + 1) < 0)
			conn_close(c); /* fell too far behind */
	}
}

void ctl_entry_changed(int entry)
{
	for (size_t i = 0; i < CTL_MAX_CONNS; i++) {
		struct conn *c = &conns[i];
		if (c->st == CONN_STOPPING && c->entry == entry && !sup_running(entry))
			stop_done(c, entry);
	}
	for (size_t i = 0; i < CTL_MAX_CONNS; i++) {
		struct conn *c = &conns[i];
		if (c->st == CONN_FOLLOW && c->entry == entry && !sup_active(entry))
			conn_end(c, CTL_OK, "");
		if (c->st == CONN_FREEZING && c->entry == entry && !sup_running(entry))
			conn_endf(c, CTL_ERR, "%s ended before it was %s", sup_name(entry), c->restart ? "paused" : "resumed");
	}
}

void ctl_reaped(pid_t pid, int status)
{
	for (size_t i = 0; i < CTL_MAX_CONNS; i++) {
		struct conn *c = &conns[i];
		if (c->st != CONN_EXEC || c->pid != pid)
			continue;
		/* As a shell reports it: 128 + the signal that ended it. */
		int code = WIFEXITED(status) ? WEXITSTATUS(status) : WIFSIGNALED(status) ? 128 + WTERMSIG(status) : 1;
		conn_endf(c, CTL_EXIT, "%d", code);
		return;
	}
}

uint64_t ctl_next_deadline(void)
{
	uint64_t t = UINT64_MAX;
	for (size_t i = 0; i < CTL_MAX_CONNS; i++) {
		const struct conn *c = &conns[i];
		if ((c->st == CONN_REQUEST || c->st == CONN_STOPPING) && c->deadline < t)
			t = c->deadline;
		if (c->st == CONN_FREEZING && c->check_at < t)
			t = c->check_at;
	}
	return t;
}

/* Whether a pause or resume has taken; a freeze that does not take in
 * time is undone, so the service is not left half-frozen. */
static void freeze_check(struct conn *c, uint64_t now)
{
	char msg[400];
	int r = sup_pause_settled(c->entry, c->restart, now >= c->deadline, msg, sizeof(msg));
	if (r > 0)
		conn_endf(c, CTL_OK, "%s\n", msg);
	else if (r < 0)
		conn_end(c, CTL_ERR, msg);
	else
		c->check_at = now + CTL_FREEZE_POLL_MS;
}

void ctl_tick(uint64_t now)
{
	for (size_t i = 0; i < CTL_MAX_CONNS; i++) {
		struct conn *c = &conns[i];
		if (c->st == CONN_REQUEST && now >= c->deadline)
			conn_close(c);
		else if (c->st == CONN_STOPPING && now >= c->deadline)
			conn_endf(c, CTL_ERR, "%s did not stop", sup_name(c->entry));
		else if (c->st == CONN_FREEZING && now >= c->check_at)
			freeze_check(c, now);
	}
}

void ctl_close_all(void)
{
	for (size_t i = 0; i < CTL_MAX_CONNS; i++)
		if (conns[i].st != CONN_FREE)
			conn_end(&conns[i], conns[i].st == CONN_FOLLOW ? CTL_OK : CTL_ERR,
				 conns[i].st == CONN_FOLLOW ? "" : "init is shutting down");
	/* A bound socket keeps its filesystem busy. */
	if (listen_fd >= 0) {
		struct sockaddr_un a;
		socklen_t len = sizeof(a);
		if (getsockname(listen_fd, (struct sockaddr *)&a, &len) == 0 && len > sizeof(a.sun_family))
			unlink(a.sun_path);
		close_fdp(&listen_fd);
		log_set_sink(NULL);
	}
}

#include "ctl.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

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
	bool name;
} commands[] = {
	{ "ps", CTL_PS, false },          { "version", CTL_VERSION, false },
	{ "poweroff", CTL_POWEROFF, false }, { "reboot", CTL_REBOOT, false },
	{ "stop", CTL_STOP, true },       { "start", CTL_START, true },
	{ "restart", CTL_RESTART, true }, { "logs", CTL_LOGS, true },
};

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

int ctl_format_request(const struct ctl_req *r, char *buf, size_t size)
{
	const char *word = NULL;
	for (size_t i = 0; i < ARRAY_LEN(commands); i++)
		if (commands[i].cmd == r->cmd)
			word = commands[i].word;
	if (!word)
		return -1;
	int n;
	if (r->cmd == CTL_LOGS && r->lines < 0)
		n = snprintf(buf, size, "logs %s all %d", r->name, r->follow);
	else if (r->cmd == CTL_LOGS)
		n = snprintf(buf, size, "logs %s %ld %d", r->name, r->lines, r->follow);
	else if (r->cmd == CTL_STOP || r->cmd == CTL_START || r->cmd == CTL_RESTART)
		n = snprintf(buf, size, "%s %s", word, r->name);
	else
		n = snprintf(buf, size, "%s", word);
	return n < 0 || (size_t)n >= size ? -1 : n;
}

int ctl_parse_request(const char *buf, size_t n, struct ctl_req *r, err_t *e)
{
	char line[256], *words[5], *save = NULL;
	size_t nw = 0;
	memset(r, 0, sizeof(*r));
	r->lines = -1;
	if (n == 0 || n >= sizeof(line) || memchr(buf, '\0', n))
		return err_set(e, "bad request");
	memcpy(line, buf, n);
	line[n] = '\0';
	if (line[n - 1] == '\n')
		line[n - 1] = '\0';
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
	size_t want = r->cmd == CTL_LOGS ? 4 : commands[i].name ? 2 : 1;
	if (nw != want)
		return err_set(e, "bad request: %s takes %zu arguments", words[0], want - 1);
	if (commands[i].name) {
		if (!ctl_name_ok(words[1]))
			return err_set(e, "bad name \"%.64s\"", words[1]);
		snprintf(r->name, sizeof(r->name), "%s", words[1]);
	}
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

enum conn_state { CONN_FREE, CONN_REQUEST, CONN_FOLLOW, CONN_STOPPING };

static struct conn {
	int fd;
	enum conn_state st;
	int entry;
	bool restart;
	uint64_t deadline;
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

static void dispatch(struct conn *c, const struct ctl_req *r)
{
	static char big[64 << 10];
	char msg[400], up[32];
	int id = -1;
	if (r->cmd == CTL_LOGS || r->cmd == CTL_STOP || r->cmd == CTL_START || r->cmd == CTL_RESTART) {
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

static void conn_readable(struct conn *c)
{
	char buf[300];
	ssize_t n = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0 || c->st != CONN_REQUEST) {
		/* Gone, or talking out of turn. */
		conn_close(c);
		return;
	}
	struct ctl_req r;
	err_t e;
	if (ctl_parse_request(buf, (size_t)n, &r, &e) < 0) {
		conn_end(c, CTL_ERR, e.msg);
		return;
	}
	dispatch(c, &r);
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
	}
}

uint64_t ctl_next_deadline(void)
{
	uint64_t t = UINT64_MAX;
	for (size_t i = 0; i < CTL_MAX_CONNS; i++)
		if ((conns[i].st == CONN_REQUEST || conns[i].st == CONN_STOPPING) && conns[i].deadline < t)
			t = conns[i].deadline;
	return t;
}

void ctl_tick(uint64_t now)
{
	for (size_t i = 0; i < CTL_MAX_CONNS; i++) {
		struct conn *c = &conns[i];
		if (c->st == CONN_REQUEST && now >= c->deadline)
			conn_close(c);
		else if (c->st == CONN_STOPPING && now >= c->deadline)
			conn_endf(c, CTL_ERR, "%s did not stop", sup_name(c->entry));
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

#include "keelctl.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#ifndef KEEL_VERSION
#define KEEL_VERSION "dev"
#endif

static const char usage[] =
	"usage: keelctl COMMAND\n"
	"  ps                          list the containers: state, pid, restarts, status\n"
	"  logs [-f] [-n N] NAME       a container's recent output (NAME init: init's own)\n"
	"                              -f: keep following; -n N: only the last N lines\n"
	"  stop NAME                   stop a service (SIGTERM, then SIGKILL); it stays down\n"
	"  start NAME                  start a stopped service\n"
	"  restart NAME                stop, then start a service\n"
	"  exec [-t] NAME CMD [ARG...] run CMD inside a running container, with its\n"
	"                              namespaces, root, user and capabilities;\n"
	"                              -t: on a pseudo-terminal (-i is implied)\n"
	"  stats [NAME...]             cpu, memory, pids and io of services\n"
	"  pause NAME | resume NAME    freeze a container's processes, or thaw them\n"
	"  kill [-s SIGNAL] NAME       send SIGNAL (default KILL) to a container; a\n"
	"                              service's restart policy then applies\n"
	"  poweroff | reboot           shut the machine down cleanly\n"
	"  version                     keelctl's and init's versions\n";

static int parse_count(const char *s, long *out, err_t *e)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < 0)
		return err_set(e, "-n: not a line count: %s", s);
	*out = v;
	return 0;
}

static int parse_signal(const char *s, struct ctl_req *r, err_t *e)
{
	if ((r->signal = ctl_signal_from_name(s)) < 0)
		return err_set(e, "kill: not a signal: %s", s);
	return 0;
}

/* An option of logs or kill at argv[*a]; 0, or -1 (e). */
static int parse_option(int argc, char **argv, int *a, struct ctl_req *r, err_t *e)
{
	const char *arg = argv[*a];
	if (r->cmd == CTL_LOGS && (strcmp(arg, "-f") == 0 || strcmp(arg, "--follow") == 0)) {
		r->follow = true;
		return 0;
	}
	bool logs = r->cmd == CTL_LOGS;
	const char *opt = logs ? "-n" : "-s", *lng = logs ? "--tail" : "--signal";
	size_t ll = strlen(lng);
	const char *value;
	if (strcmp(arg, opt) == 0 || strcmp(arg, lng) == 0) {
		if (++*a == argc)
			return err_set(e, "%s needs %s", arg, logs ? "a number" : "a signal");
		value = argv[*a];
	} else if (strncmp(arg, opt, 2) == 0) {
		value = arg + 2;
	} else if (strncmp(arg, lng, ll) == 0 && arg[ll] == '=') {
		value = arg + ll + 1;
	} else {
		return err_set(e, "%s: unknown option %s", argv[1], arg);
	}
	return logs ? parse_count(value, &r->lines, e) : parse_signal(value, r, e);
}

int keelctl_parse_args(int argc, char **argv, struct ctl_req *r, err_t *e)
{
	static const struct {
		const char *word;
		enum ctl_cmd cmd;
	} words[] = {
		{ "ps", CTL_PS },         { "logs", CTL_LOGS },       { "stop", CTL_STOP },
		{ "start", CTL_START },   { "restart", CTL_RESTART }, { "poweroff", CTL_POWEROFF },
		{ "reboot", CTL_REBOOT }, { "version", CTL_VERSION }, { "exec", CTL_EXEC },
		{ "stats", CTL_STATS },   { "pause", CTL_PAUSE },     { "resume", CTL_RESUME },
		{ "kill", CTL_KILL },
	};
	memset(r, 0, sizeof(*r));
	r->lines = -1;
	r->signal = SIGKILL;
	if (argc < 2)
		return err_set(e, "no command given");
	const char *cmd = argv[1];
	if (strcmp(cmd, "help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0)
		return 1;
	size_t i = 0;
	while (i < ARRAY_LEN(words) && strcmp(words[i].word, cmd) != 0)
		i++;
	if (i == ARRAY_LEN(words))
		return err_set(e, "unknown command: %s", cmd);
	r->cmd = words[i].cmd;

	const char *name = NULL;
	bool options = true;
	for (int a = 2; a < argc; a++) {
		const char *arg = argv[a];
		if (r->cmd == CTL_EXEC && name) {
			/* Everything after the name is the command, options and all. */
			if (ctl_add_arg(r, arg) < 0)
				return err_set(e, "exec: the command line is too long");
			continue;
		}
		if (options && strcmp(arg, "--") == 0) {
			options = false;
			continue;
		}
		if (options && arg[0] == '-' && arg[1]) {
			/* docker exec habits: -i (stdin is always passed through),
			 * -t (a pseudo-terminal), -it. */
			if (r->cmd == CTL_EXEC && arg[1] != '-' && strspn(arg + 1, "it") == strlen(arg + 1)) {
				if (strchr(arg + 1, 't'))
					r->tty = true;
				continue;
			}
			if (r->cmd == CTL_EXEC && (strcmp(arg, "--tty") == 0 || strcmp(arg, "--interactive") == 0)) {
				r->tty = r->tty || arg[2] == 't';
				continue;
			}
			if (r->cmd != CTL_LOGS && r->cmd != CTL_KILL)
				return err_set(e, "%s: unknown option %s", cmd, arg);
			if (parse_option(argc, argv, &a, r, e) < 0)
				return -1;
			continue;
		}
		if (r->cmd == CTL_STATS) {
			if (!ctl_name_ok(arg))
				return err_set(e, "not a container name: %s", arg);
			if (ctl_add_arg(r, arg) < 0)
				return err_set(e, "stats: too many names");
			continue;
		}
		if (name)
			return err_set(e, "%s: too many arguments", cmd);
		name = arg;
	}
	bool takes_name = r->cmd != CTL_PS && r->cmd != CTL_POWEROFF && r->cmd != CTL_REBOOT &&
			  r->cmd != CTL_VERSION && r->cmd != CTL_STATS;
	if (takes_name && !name)
		return err_set(e, "%s needs a container name", cmd);
	if (!takes_name && name)
		return err_set(e, "%s takes no arguments", cmd);
	if (r->cmd == CTL_EXEC && r->argc == 0)
		return err_set(e, "exec needs a command to run");
	if (name) {
		if (!ctl_name_ok(name))
			return err_set(e, "not a container name: %s", name);
		snprintf(r->name, sizeof(r->name), "%s", name);
	}
	return 0;
}

/* While exec runs: signals keelctl gets go on to the command. */
static int exec_fd = -1;

static void forward_signal(int sig)
{
	/* Only async-signal-safe calls: the number by hand. */
	char msg[16] = "signal ";
	size_t n = 7;
	if (sig >= 10)
		msg[n++] = (char)('0' + sig / 10);
	msg[n++] = (char)('0' + sig % 10);
	int saved = errno;
	send(exec_fd, msg, n, MSG_NOSIGNAL | MSG_DONTWAIT);
	errno = saved;
}

/* The request, with stdin, stdout and stderr attached for exec: ours, or
 * with -t the pseudo-terminal's slave side (tty >= 0) for all three. */
static int send_request(int fd, const struct ctl_req *r, const char *req, size_t len, int tty)
{
	int fds[3] = { STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO };
	if (tty >= 0)
		fds[0] = fds[1] = fds[2] = tty;
	union {
		struct cmsghdr h;
		char space[CMSG_SPACE(sizeof(fds))];
	} ctrl;
	struct iovec iov = { .iov_base = (void *)req, .iov_len = len };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
	if (r->cmd == CTL_EXEC) {
		memset(&ctrl, 0, sizeof(ctrl));
		m.msg_control = &ctrl;
		m.msg_controllen = sizeof(ctrl);
		struct cmsghdr *h = CMSG_FIRSTHDR(&m);
		h->cmsg_level = SOL_SOCKET;
		h->cmsg_type = SCM_RIGHTS;
		h->cmsg_len = CMSG_LEN(sizeof(fds));
		memcpy(CMSG_DATA(h), fds, sizeof(fds));
	}
	return sendmsg(fd, &m, MSG_NOSIGNAL) == (ssize_t)len ? 0 : -1;
}

/* exec -t. keelctl opens a pseudo-terminal, hands its slave side to the
 * command as stdin, stdout and stderr (init makes it the command's
 * controlling terminal), and relays between its own stdio and the master
 * side. When stdin is a terminal it goes raw meanwhile, so that every key,
 * Ctrl-C included, reaches the command's terminal as it is; its window
 * size is copied over at the start and at each SIGWINCH. */
static volatile sig_atomic_t winch;

static void on_winch(int sig)
{
	(void)sig;
	winch = 1;
}

static void copy_winsize(int from, int to)
{
	struct winsize ws;
	if (ioctl(from, TIOCGWINSZ, &ws) == 0)
		ioctl(to, TIOCSWINSZ, &ws);
}

static int pty_open(int *master, int *slave, err_t *e)
{
	char name[64];
	int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (m < 0)
		return err_sys(e, "exec -t: open /dev/ptmx");
	if (grantpt(m) < 0 || unlockpt(m) < 0 || ptsname_r(m, name, sizeof(name)) != 0) {
		err_sys(e, "exec -t: set up a pseudo-terminal");
		close(m);
		return -1;
	}
	int s = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (s < 0) {
		err_sys(e, "exec -t: open %s", name);
		close(m);
		return -1;
	}
	if (isatty(STDIN_FILENO))
		copy_winsize(STDIN_FILENO, m);
	*master = m;
	*slave = s;
	return 0;
}

/* What is left on the master side once the command has ended: what comes
 * within 50 ms of the last read, for at most 256 reads (a child left behind
 * that keeps writing does not keep keelctl). */
static void pty_drain(int master)
{
	char buf[4096];
	for (int i = 0; i < 256; i++) {
		struct pollfd p = { master, POLLIN, 0 };
		if (poll(&p, 1, 50) <= 0 || !(p.revents & POLLIN))
			return;
		ssize_t n = read(master, buf, sizeof(buf));
		if (n <= 0 || write_all(STDOUT_FILENO, buf, (size_t)n) < 0)
			return;
	}
}

/* One packet from init (NUL-terminated, n bytes before the NUL; n <= 0:
 * the connection ended): -1 to go on, else keelctl's exit code. */
static int answer(const char *pkt, ssize_t n)
{
	if (n <= 0) {
		fprintf(stderr, "keelctl: init closed the connection without an answer\n");
		return 1;
	}
	switch (pkt[0]) {
	case CTL_OUT:
	case CTL_OK:
		/* One write per packet keeps lines whole on a shared console. */
		if (write_all(STDOUT_FILENO, pkt + 1, (size_t)n - 1) < 0)
			return 1;
		return pkt[0] == CTL_OK ? 0 : -1;
	case CTL_EXIT:
		return (int)(strtol(pkt + 1, NULL, 10) & 0xff);
	case CTL_ERR:
		fprintf(stderr, "keelctl: %s\n", pkt + 1);
		return 1;
	default:
		fprintf(stderr, "keelctl: unexpected answer from init\n");
		return 1;
	}
}

/* Relays until init says the command ended; its exit code. */
static int pty_relay(int sock, int master)
{
	char buf[4096], pkt[CTL_PACKET_MAX + 1];
	bool in_open = true, master_open = true;
	struct termios saved, raw;
	bool is_raw = false;
	if (isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved) == 0) {
		raw = saved;
		cfmakeraw(&raw);
		is_raw = tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0;
		sigaction(SIGWINCH, &(struct sigaction){ .sa_handler = on_winch }, NULL);
	}
	int code = -1;
	while (code < 0) {
		if (winch) {
			winch = 0;
			copy_winsize(STDIN_FILENO, master);
		}
		struct pollfd p[3] = {
			{ master_open ? master : -1, POLLIN, 0 },
			{ in_open ? STDIN_FILENO : -1, POLLIN, 0 },
			{ sock, POLLIN, 0 },
		};
		if (poll(p, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "keelctl: poll: %s\n", strerror(errno));
			code = 1;
			break;
		}
		/* The command's output first: it came before its exit. */
		if (p[0].revents) {
			ssize_t n = read(master, buf, sizeof(buf));
			if (n > 0)
				write_all(STDOUT_FILENO, buf, (size_t)n);
			else if (n == 0 || errno != EINTR)
				master_open = false; /* EIO: no slave is open any more */
		}
		if (p[1].revents) {
			ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));
			if (n > 0) {
				write_all(master, buf, (size_t)n);
			} else if (n == 0 || errno != EINTR) {
				/* Input ended: the terminal's end-of-file key, which a
				 * reader in canonical mode sees as the end. */
				in_open = false;
				write_all(master, "\x04", 1);
			}
		}
		if (p[2].revents) {
			ssize_t n = recv(sock, pkt, sizeof(pkt) - 1, 0);
			if (n < 0 && errno == EINTR)
				continue;
			pkt[n > 0 ? n : 0] = '\0';
			code = answer(pkt, n);
		}
	}
	if (master_open)
		pty_drain(master);
	if (is_raw)
		tcsetattr(STDIN_FILENO, TCSANOW, &saved);
	return code;
}

int keelctl_main(int argc, char **argv)
{
	static struct ctl_req r;
	static char req[CTL_PACKET_MAX];
	char pkt[CTL_PACKET_MAX + 1];
	err_t e;
	int p = keelctl_parse_args(argc, argv, &r, &e);
	if (p == 1) {
		fputs(usage, stdout);
		return 0;
	}
	if (p < 0) {
		fprintf(stderr, "keelctl: %s\n%s", e.msg, usage);
		return 2;
	}
	if (r.cmd == CTL_VERSION) {
		printf("keelctl %s\n", KEEL_VERSION);
		fflush(stdout);
	}
	/* exec hands over fds 0-2: they must exist. */
	ensure_std_fds();

	int len = ctl_format_request(&r, req, sizeof(req));
	const char *path = getenv("KEELCTL_SOCKET");
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	if (!path || !*path)
		path = CTL_SOCKET;
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	autoclose int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		fprintf(stderr, "keelctl: cannot reach init at %s: %s\n", path, strerror(errno));
		return 1;
	}
	if (len < 0) {
		fprintf(stderr, "keelctl: the request is too long\n");
		return 1;
	}
	autoclose int master = -1;
	int slave = -1;
	if (r.cmd == CTL_EXEC && r.tty && pty_open(&master, &slave, &e) < 0) {
		fprintf(stderr, "keelctl: %s\n", e.msg);
		return 1;
	}
	int sent = send_request(fd, &r, req, (size_t)len, slave);
	if (slave >= 0)
		close(slave); /* the command has its own copy now */
	if (sent < 0) {
		fprintf(stderr, "keelctl: sending the request: %s\n", strerror(errno));
		return 1;
	}
	if (r.cmd == CTL_EXEC) {
		/* With a terminal, SIGWINCH is the terminal's business (pty_relay). */
		static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH };
		exec_fd = fd;
		for (size_t i = 0; i < ARRAY_LEN(sigs) - (r.tty ? 1 : 0); i++)
			sigaction(sigs[i], &(struct sigaction){ .sa_handler = forward_signal, .sa_flags = SA_RESTART }, NULL);
		if (r.tty)
			return pty_relay(fd, master);
	}
	for (int code = -1;;) {
		ssize_t n = recv(fd, pkt, sizeof(pkt) - 1, 0);
		if (n < 0 && errno == EINTR)
			continue;
		pkt[n > 0 ? n : 0] = '\0';
		if ((code = answer(pkt, n)) >= 0)
			return code;
	}
}

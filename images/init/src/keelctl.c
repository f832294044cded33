#include "keelctl.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

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
	"  exec NAME CMD [ARG...]      run CMD inside a running container, with its\n"
	"                              namespaces, root, user and capabilities\n"
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
			/* docker exec habits: stdio is always passed through, and
			 * there is no terminal to allocate. */
			if (r->cmd == CTL_EXEC && strspn(arg + 1, "it") == strlen(arg + 1))
				continue;
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

/* The request, with stdin, stdout and stderr attached for exec. */
static int send_request(int fd, const struct ctl_req *r, const char *req, size_t len)
{
	int fds[3] = { STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO };
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
	if (send_request(fd, &r, req, (size_t)len) < 0) {
		fprintf(stderr, "keelctl: sending the request: %s\n", strerror(errno));
		return 1;
	}
	if (r.cmd == CTL_EXEC) {
		static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH };
		exec_fd = fd;
		for (size_t i = 0; i < ARRAY_LEN(sigs); i++)
			sigaction(sigs[i], &(struct sigaction){ .sa_handler = forward_signal, .sa_flags = SA_RESTART }, NULL);
	}
	for (;;) {
		ssize_t n = recv(fd, pkt, sizeof(pkt) - 1, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			fprintf(stderr, "keelctl: init closed the connection without an answer\n");
			return 1;
		}
		pkt[n] = '\0';
		switch (pkt[0]) {
		case CTL_OUT:
		case CTL_OK:
			/* One write per packet keeps lines whole on a shared console. */
			if (write_all(STDOUT_FILENO, pkt + 1, (size_t)n - 1) < 0)
				return 1;
			if (pkt[0] == CTL_OK)
				return 0;
			break;
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
}

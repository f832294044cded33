#include "keelctl.h"

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

int keelctl_parse_args(int argc, char **argv, struct ctl_req *r, err_t *e)
{
	static const struct {
		const char *word;
		enum ctl_cmd cmd;
	} words[] = {
		{ "ps", CTL_PS },       { "logs", CTL_LOGS },         { "stop", CTL_STOP },
		{ "start", CTL_START }, { "restart", CTL_RESTART },   { "poweroff", CTL_POWEROFF },
		{ "reboot", CTL_REBOOT }, { "version", CTL_VERSION },
	};
	memset(r, 0, sizeof(*r));
	r->lines = -1;
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
	for (int a = 2; a < argc; a++) {
		const char *arg = argv[a];
		if (r->cmd == CTL_LOGS && arg[0] == '-' && arg[1]) {
			if (strcmp(arg, "-f") == 0 || strcmp(arg, "--follow") == 0) {
				r->follow = true;
			} else if (strcmp(arg, "-n") == 0 || strcmp(arg, "--tail") == 0) {
				if (++a == argc)
					return err_set(e, "%s needs a number", arg);
				if (parse_count(argv[a], &r->lines, e) < 0)
					return -1;
			} else if (strncmp(arg, "-n", 2) == 0 || strncmp(arg, "--tail=", 7) == 0) {
				if (parse_count(arg + (arg[1] == 'n' ? 2 : 7), &r->lines, e) < 0)
					return -1;
			} else {
				return err_set(e, "logs: unknown option %s", arg);
			}
			continue;
		}
		if (name)
			return err_set(e, "%s: too many arguments", cmd);
		name = arg;
	}
	bool takes_name = r->cmd == CTL_LOGS || r->cmd == CTL_STOP || r->cmd == CTL_START || r->cmd == CTL_RESTART;
	if (takes_name && !name)
		return err_set(e, "%s needs a container name", cmd);
	if (!takes_name && name)
		return err_set(e, "%s takes no arguments", cmd);
	if (name) {
		if (!ctl_name_ok(name))
			return err_set(e, "not a container name: %s", name);
		snprintf(r->name, sizeof(r->name), "%s", name);
	}
	return 0;
}

int keelctl_main(int argc, char **argv)
{
	struct ctl_req r;
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

	char req[256], pkt[CTL_PACKET_MAX + 1];
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
	if (len < 0 || send(fd, req, (size_t)len, MSG_NOSIGNAL) != len) {
		fprintf(stderr, "keelctl: sending the request: %s\n", strerror(errno));
		return 1;
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
		case CTL_ERR:
			fprintf(stderr, "keelctl: %s\n", pkt + 1);
			return 1;
		default:
			fprintf(stderr, "keelctl: unexpected answer from init\n");
			return 1;
		}
	}
}

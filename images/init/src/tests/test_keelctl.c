/* keelctl's new commands: arguments, the wire format both ways, and exec
 * run for real against a process in its own uts and pid namespaces. */
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "../cgroup.h"
#include "../ctl.h"
#include "../exec.h"
#include "../keelctl.h"
#include "../common/tests/tap.h"

static int parse(struct ctl_req *r, err_t *e, const char *const *words)
{
	char *argv[16] = { "keelctl" };
	int argc = 1;
	while (words[argc - 1])
		argv[argc] = (char *)words[argc - 1], argc++;
	return keelctl_parse_args(argc, argv, r, e);
}
#define ARGS(...) ((const char *const[]){ __VA_ARGS__, NULL })

/* What keelctl sends, read back as init reads it. */
static bool same_on_wire(const struct ctl_req *r, struct ctl_req *back)
{
	static char buf[CTL_PACKET_MAX];
	err_t e;
	int n = ctl_format_request(r, buf, sizeof(buf));
	if (n < 0 || ctl_parse_request(buf, (size_t)n, back, &e) < 0) {
		tap_diag("%s", n < 0 ? "does not fit" : e.msg);
		return false;
	}
	return back->cmd == r->cmd && !strcmp(back->name, r->name) && (r->cmd != CTL_KILL || back->signal == r->signal) &&
	       back->argc == r->argc && back->args_len == r->args_len && !memcmp(back->args, r->args, r->args_len);
}

static void client(void)
{
	static struct ctl_req r, back;
	err_t e;
	ok(parse(&r, &e, ARGS("exec", "web", "sh", "-c", "echo $$")) == 0 && r.cmd == CTL_EXEC && !strcmp(r.name, "web") &&
	   r.argc == 3, "exec NAME CMD ARGS: options after the name belong to the command");
	ok(r.args_len == 3 + 3 + 8 && !memcmp(r.args, "sh\0-c\0echo $$\0", 14), "the argv, NUL-separated");
	ok(same_on_wire(&r, &back), "exec on the wire, arguments and all");
	ok(parse(&r, &e, ARGS("exec", "-it", "web", "cat")) == 0 && r.argc == 1 && r.tty, "-it is accepted (docker habits): a terminal");
	ok(parse(&r, &e, ARGS("exec", "-i", "web", "cat")) == 0 && !r.tty, "-i alone: stdio as it is, no terminal");
	ok(parse(&r, &e, ARGS("exec", "-t", "web", "cat")) == 0 && r.tty, "-t: a terminal");
	ok(parse(&r, &e, ARGS("exec", "--tty", "--interactive", "web", "cat")) == 0 && r.tty && r.argc == 1, "--tty, --interactive");
	ok(parse(&r, &e, ARGS("exec", "web", "-t")) == 0 && !r.tty && r.argc == 1, "a -t after the name is the command's");
	ok(same_on_wire(&r, &back), "-t is keelctl's own: the request is the same");
	ok(parse(&r, &e, ARGS("exec", "--", "web", "--", "x")) == 0 && r.argc == 2 && !strcmp(r.args, "--"),
	   "-- ends keelctl's options; the command's own -- is kept");
	ok(parse(&r, &e, ARGS("exec", "web")) < 0 && strstr(e.msg, "command"), "exec without a command");
	ok(parse(&r, &e, ARGS("exec", "-x", "web", "ls")) < 0 && strstr(e.msg, "-x"), "exec: an unknown option");
	ok(parse(&r, &e, ARGS("exec", "web", "")) == 0 && r.argc == 1, "an empty command parses here...");
	ok(!same_on_wire(&r, &back), "...and init refuses it");

	ok(parse(&r, &e, ARGS("stats")) == 0 && r.cmd == CTL_STATS && r.argc == 0, "stats: every service");
	ok(same_on_wire(&r, &back), "stats on the wire");
	ok(parse(&r, &e, ARGS("stats", "web", "db")) == 0 && r.argc == 2, "stats NAME NAME");
	ok(same_on_wire(&r, &back) && back.argc == 2, "the names on the wire");
	ok(parse(&r, &e, ARGS("stats", "a/b")) < 0 && strstr(e.msg, "name"), "stats: a bad name");

	ok(parse(&r, &e, ARGS("pause", "web")) == 0 && r.cmd == CTL_PAUSE, "pause NAME");
	ok(same_on_wire(&r, &back), "pause on the wire");
	ok(parse(&r, &e, ARGS("resume", "web")) == 0 && r.cmd == CTL_RESUME, "resume NAME");
	ok(parse(&r, &e, ARGS("pause")) < 0 && strstr(e.msg, "name"), "pause without a name");

	ok(parse(&r, &e, ARGS("kill", "web")) == 0 && r.cmd == CTL_KILL && r.signal == SIGKILL, "kill: SIGKILL by default");
	ok(same_on_wire(&r, &back), "kill on the wire");
	ok(parse(&r, &e, ARGS("kill", "-s", "TERM", "web")) == 0 && r.signal == SIGTERM, "kill -s TERM");
	ok(parse(&r, &e, ARGS("kill", "web", "--signal=sighup")) == 0 && r.signal == SIGHUP, "--signal=sighup, after the name");
	ok(parse(&r, &e, ARGS("kill", "-s10", "web")) == 0 && r.signal == 10, "-s10");
	ok(parse(&r, &e, ARGS("kill", "-s", "BOGUS", "web")) < 0 && strstr(e.msg, "signal"), "an unknown signal");
	ok(parse(&r, &e, ARGS("kill", "web", "-s")) < 0 && strstr(e.msg, "signal"), "-s at the end");
	ok(parse(&r, &e, ARGS("kill", "-n", "3", "web")) < 0, "logs' options are not kill's");
}

static int req(const char *text, size_t n, struct ctl_req *r, err_t *e)
{
	return ctl_parse_request(text, n, r, e);
}
#define REQ(lit, r, e) req(lit, sizeof(lit) - 1, r, e)

static void server(void)
{
	static struct ctl_req r;
	err_t e;
	ok(REQ("kill web 15", &r, &e) == 0 && r.signal == 15, "kill NAME 15");
	ok(REQ("kill web TERM", &r, &e) == 0 && r.signal == 15, "kill NAME TERM");
	ok(REQ("kill web 0", &r, &e) < 0 && strstr(e.msg, "signal"), "signal 0 is refused");
	ok(REQ("kill web 65", &r, &e) < 0, "signal 65 is refused");
	ok(REQ("kill web", &r, &e) < 0, "kill without a signal");
	ok(REQ("exec web\nls\0-l\0", &r, &e) == 0 && r.argc == 2 && !strcmp(r.args + 3, "-l"), "exec with its argv");
	ok(REQ("exec web", &r, &e) < 0 && strstr(e.msg, "command"), "exec without a command");
	ok(REQ("exec web\nls", &r, &e) < 0 && strstr(e.msg, "argument"), "an argv without its last NUL");
	ok(REQ("ps\nx\0", &r, &e) < 0 && strstr(e.msg, "no argument list"), "only stats and exec take strings");
	ok(REQ("stats\nweb\0a/b\0", &r, &e) < 0 && strstr(e.msg, "bad name"), "stats checks its names");
	ok(REQ("pause web x", &r, &e) < 0, "pause takes one name");

	is_int(ctl_signal_from_name("KILL"), SIGKILL, "KILL");
	is_int(ctl_signal_from_name("SIGusr1"), SIGUSR1, "SIGusr1, any case");
	is_int(ctl_signal_from_name("64"), 64, "a number up to 64");
	is_int(ctl_signal_from_name("9x"), -1, "junk after a number");
	is_int(ctl_signal_from_name("SIG"), -1, "SIG alone");
	char name[16];
	ctl_signal_name(SIGTERM, name, sizeof(name));
	is_str(name, "SIGTERM", "signal names");
	ctl_signal_name(40, name, sizeof(name));
	is_str(name, "SIG40", "a signal without a name");
}

static void cgroup_text(void)
{
	uint64_t v = 0, r = 0, w = 0;
	char path[64];
	ok(cgroup_keyed_value("usage_usec 1234\nuser_usec 1000\n", "usage_usec", &v) == 0 && v == 1234, "cpu.stat usage_usec");
	ok(cgroup_keyed_value("populated 1\nfrozen 0\n", "frozen", &v) == 0 && v == 0, "cgroup.events frozen");
	ok(cgroup_keyed_value("frozenx 1\n", "frozen", &v) < 0, "a longer key is another key");
	ok(cgroup_keyed_value("usage_usec\n", "usage_usec", &v) < 0, "a key without a value");
	ok(cgroup_io_bytes("8:0 rbytes=100 wbytes=20 rios=1 wios=1\n253:0 rbytes=5 wbytes=7 rios=1\n", &r, &w) == 0 &&
	   r == 105 && w == 27, "io.stat: summed over devices");
	ok(cgroup_io_bytes("", &r, &w) < 0, "an empty io.stat has no figures");
	ok(exec_cgroup_of("0::/keel/web\n", path, sizeof(path)) == 0 && !strcmp(path, "/keel/web"), "/proc/PID/cgroup");
	ok(exec_cgroup_of("12:pids:/x\n0::/a b\n", path, sizeof(path)) == 0 && !strcmp(path, "/a b"),
	   "the v2 line among v1 ones");
	ok(exec_cgroup_of("1:name=systemd:/\n", path, sizeof(path)) < 0, "no v2 line");
}

/* A "container": its own uts and pid namespaces, hostname "inside". */
static pid_t start_target(int ready)
{
	pid_t pid = (pid_t)syscall(SYS_clone, CLONE_NEWUTS | CLONE_NEWPID | SIGCHLD, NULL, NULL, NULL, NULL);
	if (pid == 0) {
		if (sethostname("inside", 6) < 0)
			_exit(1);
		write(ready, "r", 1);
		for (;;)
			pause();
	}
	return pid;
}

static void exec_for_real(void)
{
	char dir[] = "/tmp/keel-exec-test-XXXXXX", path[128], out[256] = "";
	int ready[2], o[2], fds[3];
	/* A hang here would stop the whole run: fail loudly instead. */
	alarm(30);
	if (geteuid() != 0 || !mkdtemp(dir)) {
		ok(true, "# SKIP exec needs root");
		return;
	}
	snprintf(path, sizeof(path), "%s/config.json", dir);
	FILE *f = fopen(path, "w");
	fputs("{\"ociVersion\":\"1.0.2\",\"process\":{\"args\":[\"x\"],\"cwd\":\"/tmp\",\"env\":[\"PATH=/usr/bin:/bin\","
	      "\"WHO=svc\"],\"user\":{\"uid\":0,\"gid\":0},\"capabilities\":{\"bounding\":[\"CAP_KILL\"],"
	      "\"effective\":[\"CAP_KILL\"],\"permitted\":[\"CAP_KILL\"]},\"noNewPrivileges\":true},"
	      "\"root\":{\"path\":\"/\"},\"linux\":{\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"uts\"},{\"type\":\"mount\"}]}}",
	      f);
	fclose(f);
	/* Close-on-exec and none open in the target, or reads never end. */
	if (pipe2(ready, O_CLOEXEC) < 0)
		return;
	pid_t target = start_target(ready[1]);
	char c;
	if (target < 0 || read(ready[0], &c, 1) != 1) {
		ok(true, "# SKIP cannot make namespaces here");
		return;
	}
	close(ready[0]);
	close(ready[1]);
	if (pipe2(o, O_CLOEXEC) < 0) {
		kill(target, SIGKILL);
		waitpid(target, NULL, 0);
		return;
	}
	fds[0] = open("/dev/null", O_RDONLY | O_CLOEXEC);
	fds[1] = fds[2] = o[1];
	char *argv[] = { "sh", "-c",
			 "echo $(hostname) $$ $WHO $(pwd) $(grep -E '^(CapEff|NoNewPrivs|Seccomp):' /proc/self/status | "
			 "tr -d ' \\t\\n'); exit 7",
			 NULL };
	err_t e;
	pid_t pid = exec_in_container(target, dir, argv, fds, &e);
	close(o[1]);
	close(fds[0]);
	ok(pid > 0, "exec_in_container starts the command%s%s", pid > 0 ? "" : ": ", pid > 0 ? "" : e.msg);
	size_t n = 0;
	ssize_t k;
	while (n < sizeof(out) - 1 && (k = read(o[0], out + n, sizeof(out) - 1 - n)) > 0)
		n += (size_t)k;
	out[n] = '\0';
	int status = 0;
	if (pid > 0)
		waitpid(pid, &status, 0);
	/* pid 2: PID 1 of the namespace is the target. */
	is_str(out, "inside 2 svc /tmp CapEff:0000000000000020NoNewPrivs:1Seccomp:2\n",
	       "in its uts and pid namespaces, with its env, cwd, capabilities, no_new_privs and seccomp");
	ok(WIFEXITED(status) && WEXITSTATUS(status) == 7, "its exit code comes back");
	struct stat mine, now;
	ok(stat("/proc/self/ns/pid_for_children", &now) == 0 && stat("/proc/self/ns/pid", &mine) == 0 &&
	   mine.st_ino == now.st_ino, "the caller's children are born in its own pid namespace again");

	char *missing[] = { "no-such-command", NULL };
	if (pipe2(o, O_CLOEXEC) == 0) {
		fds[0] = open("/dev/null", O_RDONLY | O_CLOEXEC);
		fds[1] = fds[2] = o[1];
		pid = exec_in_container(target, dir, missing, fds, &e);
		close(o[1]);
		close(fds[0]);
		k = read(o[0], out, sizeof(out) - 1);
		n = k > 0 ? (size_t)k : 0;
		out[n] = '\0';
		close(o[0]);
		if (pid > 0)
			waitpid(pid, &status, 0);
		ok(pid > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 127, "a command that is not there: 127");
		ok(strstr(out, "keelctl exec: no-such-command:") != NULL, "and why, on its stderr");
	}
	/* keelctl exec -t: a pseudo-terminal's slave as stdio becomes the
	 * command's controlling terminal, with the size set on the master. */
	int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	char pts[64];
	if (master >= 0 && grantpt(master) == 0 && unlockpt(master) == 0 && ptsname_r(master, pts, sizeof(pts)) == 0) {
		struct winsize ws = { .ws_row = 30, .ws_col = 100 };
		ioctl(master, TIOCSWINSZ, &ws);
		int slave = open(pts, O_RDWR | O_NOCTTY | O_CLOEXEC);
		fds[0] = fds[1] = fds[2] = slave;
		char *tty_argv[] = { "sh", "-c",
				     "test -t 0 && echo \"tty=yes ctty=$(awk '{print ($7 != 0)}' /proc/self/stat) size=$(stty size)\"",
				     NULL };
		pid = exec_in_container(target, dir, tty_argv, fds, &e);
		close(slave);
		if (pid > 0)
			waitpid(pid, &status, 0);
		n = 0;
		struct pollfd p = { master, POLLIN, 0 };
		while (n < sizeof(out) - 1 && poll(&p, 1, 200) > 0 && (k = read(master, out + n, sizeof(out) - 1 - n)) > 0)
			n += (size_t)k;
		out[n] = '\0';
		ok(pid > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0, "a command on a terminal runs");
		is_str(out, "tty=yes ctty=1 size=30 100\r\n", "its terminal is its controlling terminal, at the master's size");
		close(master);
	} else {
		ok(true, "# SKIP no pseudo-terminals here");
		ok(true, "# SKIP no pseudo-terminals here");
	}

	kill(target, SIGKILL);
	waitpid(target, NULL, 0);
	unlink(path);
	rmdir(dir);
	alarm(0);
}

TAP_SUITE(test_keelctl)
{
	client();
	server();
	cgroup_text();
	exec_for_real();
}

#include "supervise.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>

#include "log.h"
#include "relay.h"
#include "runtime.h"

#define MAX_CONTAINERS 256

struct container {
	bool running;
	enum sup_kind kind;
	pid_t pid;
	int status;
	char name[64];
};

/* Slot i's relay belongs to container i and may outlive it while a
 * background process it left behind still holds the pipe. */
static struct container table[MAX_CONTAINERS];
static struct relay relays[MAX_CONTAINERS];
static size_t used;
static int sigfd = -1;
static enum power requested;

int sup_init(err_t *e)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGUSR2);
	/* Blocked signals are queued even for PID 1, which the kernel would
	 * otherwise spare any signal it has no handler for. */
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return err_sys(e, "sigprocmask");
	if ((sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC)) < 0)
		return err_sys(e, "signalfd");
	for (size_t i = 0; i < MAX_CONTAINERS; i++)
		relays[i].fd = -1;
	return 0;
}

void describe_status(int status, char *buf, size_t size)
{
	if (WIFEXITED(status))
		snprintf(buf, size, "exit %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, size, "killed by signal %d", WTERMSIG(status));
	else
		snprintf(buf, size, "status %#x", status);
}

static void reap(void)
{
	int status;
	pid_t pid;
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (size_t i = 0; i < used; i++) {
			struct container *c = &table[i];
			if (!c->running || c->pid != pid)
				continue;
			c->running = false;
			c->status = status;
			/* Its last words go out before the news of its exit. */
			relay_read(&relays[i], STDOUT_FILENO, 1);
			relay_flush(&relays[i], STDOUT_FILENO);
			if (c->kind == SUP_SERVICE) {
				char how[64];
				describe_status(status, how, sizeof(how));
				log_msg("service %s exited (%s)", c->name, how);
			}
		}
	}
}

static void request(enum power p, const char *why)
{
	if (requested != POWER_NONE)
		return;
	requested = p;
	log_msg("received %s: %s", why, p == POWER_REBOOT ? "reboot" : "power off");
}

static void read_signals(void)
{
	struct signalfd_siginfo si;
	while (read(sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		switch (si.ssi_signo) {
		/* busybox poweroff sends SIGUSR2, halt SIGUSR1 and reboot
		 * SIGTERM; a VM has nothing to halt to, and "power off on
		 * SIGTERM" is the contract, so only Ctrl-Alt-Del reboots. */
		case SIGUSR1:
			request(POWER_OFF, "SIGUSR1");
			break;
		case SIGUSR2:
			request(POWER_OFF, "SIGUSR2");
			break;
		case SIGTERM:
			request(POWER_OFF, "SIGTERM");
			break;
		case SIGINT:
			request(POWER_REBOOT, "SIGINT (Ctrl-Alt-Del)");
			break;
		}
	}
	reap();
}

static void loop_once(int timeout_ms)
{
	struct pollfd pfds[1 + MAX_CONTAINERS];
	size_t slot[1 + MAX_CONTAINERS], n = 1;
	pfds[0] = (struct pollfd){ .fd = sigfd, .events = POLLIN };
	for (size_t i = 0; i < used; i++) {
		if (relays[i].fd < 0)
			continue;
		pfds[n] = (struct pollfd){ .fd = relays[i].fd, .events = POLLIN };
		slot[n++] = i;
	}
	if (poll(pfds, n, timeout_ms) <= 0)
		return;
	if (pfds[0].revents)
		read_signals();
	for (size_t k = 1; k < n; k++) {
		struct relay *r = &relays[slot[k]];
		/* reap() may have drained and closed it meanwhile. */
		if (pfds[k].revents && r->fd == pfds[k].fd)
			relay_read(r, STDOUT_FILENO, 0);
	}
}

static int remaining_ms(uint64_t deadline, int timeout_ms)
{
	if (timeout_ms < 0)
		return -1;
	uint64_t now = now_ms();
	return now >= deadline ? 0 : (int)(deadline - now);
}

int sup_start(const char *bundle, const char *name, enum sup_kind kind)
{
	size_t i = 0;
	while (i < used && (table[i].running || relays[i].fd >= 0))
		i++;
	if (i == MAX_CONTAINERS) {
		log_msg("%s: not started: more than %d containers", name, MAX_CONTAINERS);
		return -1;
	}

	struct rt_options o = { .name = name, .passthrough = false };
	struct rt_process p;
	err_t e;
	if (runtime_start(bundle, &o, &p, &e) < 0) {
		log_msg("%s: %s", name, e.msg);
		return -1;
	}
	if (p.error[0])
		log_msg("%s: %s", name, p.error);
	fcntl(p.output, F_SETFL, O_NONBLOCK);
	table[i] = (struct container){ .running = true, .kind = kind, .pid = p.pid };
	snprintf(table[i].name, sizeof(table[i].name), "%s", name);
	relay_init(&relays[i], p.output, name);
	if (i == used)
		used++;
	return (int)i;
}

int sup_wait(int id, int timeout_ms, int *status)
{
	uint64_t deadline = now_ms() + (uint64_t)(timeout_ms < 0 ? 0 : timeout_ms);
	while (table[id].running) {
		int t = remaining_ms(deadline, timeout_ms);
		if (t == 0)
			return -1;
		loop_once(t);
	}
	*status = table[id].status;
	return 0;
}

void sup_kill(int id, int sig)
{
	if (table[id].running)
		kill(table[id].pid, sig);
}

enum power sup_wait_power(void)
{
	while (requested == POWER_NONE)
		loop_once(-1);
	return requested;
}

enum power sup_power_requested(void)
{
	return requested;
}

static size_t count_running(enum sup_kind kind)
{
	size_t n = 0;
	for (size_t i = 0; i < used; i++)
		n += table[i].running && table[i].kind == kind;
	return n;
}

size_t sup_signal(enum sup_kind kind, int sig)
{
	for (size_t i = 0; i < used; i++)
		if (table[i].running && table[i].kind == kind)
			kill(table[i].pid, sig);
	return count_running(kind);
}

size_t sup_wait_kind(enum sup_kind kind, int timeout_ms)
{
	uint64_t deadline = now_ms() + (uint64_t)(timeout_ms < 0 ? 0 : timeout_ms);
	size_t n;
	while ((n = count_running(kind)) > 0) {
		int t = remaining_ms(deadline, timeout_ms);
		if (t == 0)
			break;
		loop_once(t);
	}
	return n;
}

void sup_drain(int timeout_ms)
{
	uint64_t deadline = now_ms() + (uint64_t)timeout_ms;
	for (;;) {
		bool open = false;
		for (size_t i = 0; i < used; i++)
			open |= relays[i].fd >= 0;
		int t = remaining_ms(deadline, timeout_ms);
		if (!open || t == 0)
			break;
		loop_once(t);
	}
	for (size_t i = 0; i < used; i++)
		relay_flush(&relays[i], STDOUT_FILENO);
}

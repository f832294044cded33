#include "supervise.h"

#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>

#include "cgroup.h"
#include "ctl.h"
#include "exec.h"
#include "json.h"
#include "log.h"
#include "logbuf.h"
#include "power.h"
#include "relay.h"
#include "runtime.h"

#define MAX_CONTAINERS 256
#define MAX_RELAYS 256

/* One per container, for the whole boot: a service keeps its entry, ring
 * and log file across restarts. */
struct entry {
	char name[SVC_NAME_MAX];
	char *bundle;
	enum sup_kind kind;
	enum sup_state state;
	struct svc_config cfg;
	pid_t pid;
	int status;
	bool has_status;
	bool want_stop;    /* stopped on request: stays down whatever the policy */
	bool paused;       /* its cgroup frozen by keelctl pause */
	char *cgroup;      /* its cgroup's directory, once asked for */
	bool started_once; /* what "after" waits for */
	unsigned restarts; /* by policy */
	unsigned failures; /* quick exits in a row, for the backoff */
	unsigned seq;      /* start order */
	uint64_t started_at, exited_at, restart_at, kill_at;
	char error[256];   /* why the last start failed */
	struct ring ring;
	struct logfile file;
};

static struct entry table[MAX_CONTAINERS];
static size_t used;
/* A relay belongs to an entry and may outlive one run of it while a
 * process left behind still holds the pipe. */
static struct relay relays[MAX_RELAYS];
static int relay_owner[MAX_RELAYS];
static int sigfd = -1;
static enum power requested;
static bool services_on, shutting_down;
static unsigned start_seq;
static int stop_timeout_ms = STOP_TIMEOUT_DEFAULT_MS;

/* ---- pure parts ---- */

const char *restart_policy_name(enum restart_policy p)
{
	return p == RESTART_NEVER ? "never" : p == RESTART_ON_FAILURE ? "on-failure" : "always";
}

int svc_config_parse(const char *text, size_t len, struct svc_config *c, err_t *e)
{
	memset(c, 0, sizeof(*c));
	c->restart = RESTART_ALWAYS;
	struct json *j = json_parse(text, len, e);
	if (!j)
		return -1;
	int r = -1;
	if (j->type != JSON_OBJECT) {
		err_set(e, "not a JSON object");
		goto out;
	}
	const struct json *restart = json_get(j, "restart"), *after = json_get(j, "after");
	if (restart && restart->type != JSON_NULL) {
		if (restart->type != JSON_STRING) {
			err_set(e, "restart: not a string");
			goto out;
		}
		if (strcmp(restart->string, "always") == 0)
			c->restart = RESTART_ALWAYS;
		else if (strcmp(restart->string, "on-failure") == 0)
			c->restart = RESTART_ON_FAILURE;
		else if (strcmp(restart->string, "never") == 0)
			c->restart = RESTART_NEVER;
		else {
			err_set(e, "restart: \"%s\" is not always, on-failure or never", restart->string);
			goto out;
		}
	}
	if (after && after->type != JSON_NULL) {
		if (after->type != JSON_ARRAY) {
			err_set(e, "after: not an array");
			goto out;
		}
		for (const struct json *a = after->child; a; a = a->next) {
			if (a->type != JSON_STRING || a->len == 0 || a->len >= SVC_NAME_MAX) {
				err_set(e, "after: not a service name");
				goto out;
			}
			if (c->nafter == SVC_AFTER_MAX) {
				err_set(e, "after: more than %d names", SVC_AFTER_MAX);
				goto out;
			}
			memcpy(c->after[c->nafter++], a->string, a->len + 1);
		}
	}
	r = 0;
out:
	json_free(j);
	return r;
}

uint64_t backoff_delay_ms(unsigned failures)
{
	uint64_t d = BACKOFF_MIN_MS;
	for (unsigned i = 0; i < failures && d < BACKOFF_MAX_MS; i++)
		d *= 2;
	return d < BACKOFF_MAX_MS ? d : BACKOFF_MAX_MS;
}

void format_duration(uint64_t ms, char *buf, size_t size)
{
	uint64_t s = ms / 1000;
	if (ms < 1000)
		snprintf(buf, size, "%llums", (unsigned long long)ms);
	else if (s < 60)
		snprintf(buf, size, "%llus", (unsigned long long)s);
	else if (s < 3600)
		snprintf(buf, size, "%llum%02llus", (unsigned long long)(s / 60), (unsigned long long)(s % 60));
	else if (s < 86400)
		snprintf(buf, size, "%lluh%02llum", (unsigned long long)(s / 3600), (unsigned long long)(s / 60 % 60));
	else
		snprintf(buf, size, "%llud%02lluh", (unsigned long long)(s / 86400), (unsigned long long)(s / 3600 % 24));
}

const char *sup_state_name(enum sup_state s)
{
	static const char *const names[] = { "waiting", "running", "restarting", "exited", "stopped" };
	return (size_t)s < ARRAY_LEN(names) ? names[s] : "?";
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

/* "1.6 s" */
static void seconds(uint64_t ms, char *buf, size_t size)
{
	snprintf(buf, size, "%llu.%llu s", (unsigned long long)(ms / 1000), (unsigned long long)(ms % 1000 / 100));
}

/* ---- the loop ---- */

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
	for (size_t i = 0; i < MAX_RELAYS; i++)
		relays[i].fd = -1;
	return 0;
}

void sup_set_stop_timeout(int ms)
{
	stop_timeout_ms = ms;
}

int sup_stop_timeout(void)
{
	return stop_timeout_ms;
}

static int entry_id(const struct entry *c)
{
	return (int)(c - table);
}

/* The relay sink: the line is followed by its newline in memory. */
static void entry_line(void *ctx, const char *line, size_t n)
{
	struct entry *c = ctx;
	ring_write(&c->ring, line, n + 1);
	if (logfile_write(&c->file, line, n + 1, now_ms()) < 0)
		log_msg("%s: %s; retrying in %d s", c->file.path, strerror(errno), LOGFILE_RETRY_MS / 1000);
	ctl_line(entry_id(c), line, n);
}

static void drain_relays(int id)
{
	for (size_t i = 0; i < MAX_RELAYS; i++) {
		if (relay_owner[i] != id || relays[i].fd < 0)
			continue;
		relay_read(&relays[i], STDOUT_FILENO, 1);
		relay_flush(&relays[i], STDOUT_FILENO);
	}
}

static void service_ended(struct entry *c)
{
	char how[64], delay[32];
	describe_status(c->status, how, sizeof(how));
	if (c->want_stop || shutting_down) {
		c->state = ST_STOPPED;
		log_msg("service %s stopped (%s)", c->name, how);
		return;
	}
	bool failed = !WIFEXITED(c->status) || WEXITSTATUS(c->status) != 0;
	if (c->cfg.restart == RESTART_NEVER || (c->cfg.restart == RESTART_ON_FAILURE && !failed)) {
		c->state = ST_EXITED;
		log_msg("service %s exited (%s); not restarted (restart: %s)", c->name, how,
			restart_policy_name(c->cfg.restart));
		return;
	}
	/* Only a run that lasted a while earns a quick restart again. */
	if (c->started_once && c->exited_at - c->started_at >= BACKOFF_RESET_MS)
		c->failures = 0;
	uint64_t d = backoff_delay_ms(c->failures);
	c->failures++;
	c->state = ST_RESTARTING;
	c->restart_at = c->exited_at + d;
	seconds(d, delay, sizeof(delay));
	log_msg("service %s exited (%s); restarting in %s", c->name, how, delay);
	if (c->failures == CRASH_LOOP_EXITS)
		log_msg("service %s is crash-looping (%d quick exits in a row); retrying, at most every %d s", c->name,
			CRASH_LOOP_EXITS, BACKOFF_MAX_MS / 1000);
}

/* Thaws a paused container's cgroup: before it is asked to stop (a frozen
 * process acts on no signal but SIGKILL), and once it has ended, so that
 * its next run does not start frozen in a cgroup that could not be made anew. */
static void thaw(struct entry *c)
{
	err_t e;
	if (!c->paused)
		return;
	c->paused = false;
	if (c->cgroup && cgroup_freeze(c->cgroup, false, &e) < 0)
		log_msg("%s: resume: %s", c->name, e.msg);
}

static void entry_ended(struct entry *c, int status)
{
	thaw(c);
	c->pid = 0;
	c->status = status;
	c->has_status = true;
	c->exited_at = now_ms();
	c->kill_at = 0;
	/* Its last words go out before the news of its exit. */
	drain_relays(entry_id(c));
	if (c->kind == SUP_SERVICE)
		service_ended(c);
	else
		c->state = ST_EXITED;
	ctl_entry_changed(entry_id(c));
}

static int free_relay(void)
{
	for (int i = 0; i < MAX_RELAYS; i++)
		if (relays[i].fd < 0)
			return i;
	return -1;
}

/* 0 started, -1 not (logged; a service's policy decides what next). */
static int start_entry(struct entry *c, bool restart)
{
	static bool controllers;
	int slot = free_relay();
	struct rt_options o = { .name = c->name, .passthrough = false };
	if (!controllers) {
		err_t ce;
		controllers = true;
		if (cgroup_enable_stats(&ce) < 0)
			log_msg("keelctl stats will lack some figures: %s", ce.msg);
	}
	struct rt_process p;
	err_t e;
	if (slot < 0) {
		err_set(&e, "not started: more than %d output pipes open", MAX_RELAYS);
	} else if (runtime_start(c->bundle, &o, &p, &e) == 0) {
		if (p.error[0])
			log_msg("%s: %s", c->name, p.error);
		fcntl(p.output, F_SETFL, O_NONBLOCK);
		relay_init(&relays[slot], p.output, c->name);
		relays[slot].sink = entry_line;
		relays[slot].ctx = c;
		relay_owner[slot] = entry_id(c);
		c->pid = p.pid;
		c->state = ST_RUNNING;
		c->started_at = now_ms();
		c->started_once = true;
		c->seq = ++start_seq;
		c->error[0] = '\0';
		if (c->kind == SUP_SERVICE) {
			if (restart)
				log_msg("service %s restarted (pid %d, restart %u)", c->name, (int)p.pid, c->restarts);
			else
				log_msg("service %s started (pid %d)", c->name, (int)p.pid);
		}
		ctl_entry_changed(entry_id(c));
		return 0;
	}
	log_msg("%s: %s", c->name, e.msg);
	snprintf(c->error, sizeof(c->error), "%s", e.msg);
	/* As if it had run and failed at once: the runtime's exit code for that. */
	c->exited_at = c->started_at = now_ms();
	c->status = RT_EXIT_SETUP << 8;
	c->has_status = true;
	if (c->kind == SUP_SERVICE)
		service_ended(c);
	else
		c->state = ST_EXITED;
	ctl_entry_changed(entry_id(c));
	return -1;
}

static void reap(void)
{
	int status;
	pid_t pid;
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		size_t i = 0;
		while (i < used && !(table[i].state == ST_RUNNING && table[i].pid == pid))
			i++;
		if (i < used)
			entry_ended(&table[i], status);
		else
			ctl_reaped(pid, status); /* perhaps a keelctl exec */
	}
}

void sup_request_power(enum power p, const char *why)
{
	if (requested != POWER_NONE || p == POWER_NONE)
		return;
	requested = p;
	/* From now on nothing starts or restarts by itself. */
	shutting_down = true;
	log_msg("%s: %s", why, p == POWER_REBOOT ? "reboot" : "power off");
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
			sup_request_power(POWER_OFF, "received SIGUSR1");
			break;
		case SIGUSR2:
			sup_request_power(POWER_OFF, "received SIGUSR2");
			break;
		case SIGTERM:
			sup_request_power(POWER_OFF, "received SIGTERM");
			break;
		case SIGINT:
			sup_request_power(POWER_REBOOT, "received SIGINT (Ctrl-Alt-Del)");
			break;
		}
	}
	reap();
}

/* Names in after that have not started; "" when all have. */
static bool waiting_on(const struct entry *c, char *names, size_t size)
{
	size_t n = 0;
	if (names && size)
		names[0] = '\0';
	for (size_t i = 0; i < c->cfg.nafter; i++) {
		int d = sup_find(c->cfg.after[i]);
		if (d < 0 || table[d].kind != SUP_SERVICE || table[d].started_once)
			continue;
		if (names && n < size)
			n += (size_t)snprintf(names + n, size - n, "%s%s", n ? ", " : "", table[d].name);
		else if (!names)
			return true;
	}
	return names ? names[0] != '\0' : false;
}

static void start_ready(void)
{
	bool progress = true;
	while (progress && services_on && !shutting_down) {
		progress = false;
		for (size_t i = 0; i < used; i++) {
			struct entry *c = &table[i];
			if (c->kind != SUP_SERVICE || c->state != ST_WAITING || c->want_stop || waiting_on(c, NULL, 0))
				continue;
			start_entry(c, false);
			progress = true;
		}
	}
}

static void run_timers(void)
{
	uint64_t now = now_ms();
	for (size_t i = 0; i < used; i++) {
		struct entry *c = &table[i];
		if (c->state == ST_RUNNING && c->kill_at && now >= c->kill_at) {
			c->kill_at = 0;
			log_msg("%s still running %d ms after SIGTERM; sending SIGKILL", c->name, stop_timeout_ms);
			kill(c->pid, SIGKILL);
		}
		if (c->state == ST_RESTARTING && now >= c->restart_at && !shutting_down) {
			c->restarts++;
			start_entry(c, true);
		}
	}
	start_ready();
	ctl_tick(now);
}

static uint64_t next_timer(void)
{
	uint64_t t = ctl_next_deadline();
	for (size_t i = 0; i < used; i++) {
		const struct entry *c = &table[i];
		if (c->state == ST_RUNNING && c->kill_at && c->kill_at < t)
			t = c->kill_at;
		if (c->state == ST_RESTARTING && !shutting_down && c->restart_at < t)
			t = c->restart_at;
	}
	return t;
}

static void loop_once(int timeout_ms)
{
	struct pollfd pfds[1 + MAX_RELAYS + POWER_MAX_BUTTONS + 1 + CTL_MAX_CONNS];
	size_t slot[ARRAY_LEN(pfds)], n = 1;
	pfds[0] = (struct pollfd){ .fd = sigfd, .events = POLLIN };
	for (size_t i = 0; i < MAX_RELAYS; i++) {
		if (relays[i].fd < 0)
			continue;
		pfds[n] = (struct pollfd){ .fd = relays[i].fd, .events = POLLIN };
		slot[n++] = i;
	}
	size_t first_button = n;
	n += power_buttons_pollfds(pfds + n, POWER_MAX_BUTTONS);
	size_t first_ctl = n;
	n += ctl_pollfds(pfds + n, ARRAY_LEN(pfds) - n);

	uint64_t now = now_ms(), t = next_timer();
	if (t != UINT64_MAX) {
		uint64_t wait = t > now ? t - now : 0;
		if (timeout_ms < 0 || wait < (uint64_t)timeout_ms)
			timeout_ms = wait > INT_MAX ? INT_MAX : (int)wait;
	}
	if (poll(pfds, n, timeout_ms) > 0) {
		if (pfds[0].revents)
			read_signals();
		for (size_t k = 1; k < first_button; k++) {
			struct relay *r = &relays[slot[k]];
			/* reap() may have drained and closed it meanwhile. */
			if (pfds[k].revents && r->fd == pfds[k].fd)
				relay_read(r, STDOUT_FILENO, 0);
		}
		for (size_t k = first_button; k < first_ctl; k++)
			if (pfds[k].revents && power_button_pressed(pfds[k].fd))
				sup_request_power(POWER_OFF, "power button pressed");
		ctl_handle(pfds + first_ctl, n - first_ctl);
	}
	run_timers();
}

static int remaining_ms(uint64_t deadline, int timeout_ms)
{
	if (timeout_ms < 0)
		return -1;
	uint64_t now = now_ms();
	return now >= deadline ? 0 : (int)(deadline - now);
}

/* ---- containers ---- */

int sup_add(const char *bundle, const char *name, enum sup_kind kind)
{
	if (used == MAX_CONTAINERS) {
		log_msg("%s: not started: more than %d containers", name, MAX_CONTAINERS);
		return -1;
	}
	struct entry *c = &table[used];
	memset(c, 0, sizeof(*c));
	snprintf(c->name, sizeof(c->name), "%s", name);
	c->kind = kind;
	c->state = ST_WAITING;
	c->cfg.restart = kind == SUP_SERVICE ? RESTART_ALWAYS : RESTART_NEVER;
	if (!(c->bundle = strdup(bundle))) {
		log_msg("%s: not started: out of memory", name);
		return -1;
	}
	if (kind == SUP_SERVICE) {
		char path[PATH_MAX], *text = NULL;
		size_t len;
		err_t e;
		if (path_fmt(path, sizeof(path), "%s/keel.json", bundle) == 0 && access(path, F_OK) == 0) {
			if (read_file(path, 65536, &text, &len, &e) < 0 || svc_config_parse(text, len, &c->cfg, &e) < 0) {
				log_msg("service %s: keel.json: %s; using the defaults", name, e.msg);
				memset(&c->cfg, 0, sizeof(c->cfg));
				c->cfg.restart = RESTART_ALWAYS;
			}
			free(text);
		}
	}
	/* Without memory for a ring, logs still reach the console and file. */
	ring_alloc(&c->ring);
	char file[sizeof(c->file.path)];
	snprintf(file, sizeof(file), "/var/log/%s.log", c->name);
	logfile_init(&c->file, file, LOGFILE_LIMIT);
	return (int)used++;
}

int sup_run(int id)
{
	return start_entry(&table[id], false);
}

int sup_wait(int id, int timeout_ms, int *status)
{
	uint64_t deadline = now_ms() + (uint64_t)(timeout_ms < 0 ? 0 : timeout_ms);
	while (table[id].state == ST_RUNNING) {
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
	if (table[id].state == ST_RUNNING)
		kill(table[id].pid, sig);
}

void sup_start_services(void)
{
	size_t total = 0, started = 0;
	services_on = true;
	for (size_t i = 0; i < used; i++)
		for (size_t k = 0; table[i].kind == SUP_SERVICE && k < table[i].cfg.nafter; k++) {
			int d = sup_find(table[i].cfg.after[k]);
			if (d < 0 || table[d].kind != SUP_SERVICE)
				log_msg("service %s: after: no service named %s; ignored", table[i].name,
					table[i].cfg.after[k]);
		}
	start_ready();
	for (size_t i = 0; i < used; i++) {
		if (table[i].kind != SUP_SERVICE)
			continue;
		total++;
		started += table[i].started_once;
	}
	log_msg("all services started (%zu of %zu)", started, total);
	for (size_t i = 0; i < used; i++) {
		char names[512];
		if (table[i].kind == SUP_SERVICE && table[i].state == ST_WAITING && waiting_on(&table[i], names, sizeof(names)))
			log_msg("service %s waits for %s", table[i].name, names);
	}
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
		n += table[i].state == ST_RUNNING && table[i].kind == kind;
	return n;
}

static size_t wait_services(int timeout_ms)
{
	uint64_t deadline = now_ms() + (uint64_t)timeout_ms;
	size_t n;
	while ((n = count_running(SUP_SERVICE)) > 0) {
		int t = remaining_ms(deadline, timeout_ms);
		if (t == 0)
			break;
		loop_once(t);
	}
	return n;
}

/* Whether any child, container or orphan, is still alive. */
static bool any_children(void)
{
	siginfo_t si = { 0 };
	return waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) == 0;
}

static void wait_children(int timeout_ms)
{
	uint64_t deadline = now_ms() + (uint64_t)timeout_ms;
	while (any_children()) {
		int t = remaining_ms(deadline, timeout_ms);
		if (t == 0)
			break;
		loop_once(t < 50 ? t : 50);
	}
}

void sup_stop_all(void)
{
	int order[MAX_CONTAINERS];
	size_t n = 0;
	char names[1024] = "";
	uint64_t start = now_ms();

	shutting_down = true;
	for (size_t i = 0; i < used; i++) {
		struct entry *c = &table[i];
		if (c->kind != SUP_SERVICE)
			continue;
		if (c->state == ST_WAITING || c->state == ST_RESTARTING) {
			c->state = ST_STOPPED;
			ctl_entry_changed((int)i);
		}
		if (c->state == ST_RUNNING)
			order[n++] = (int)i;
	}
	/* Newest first: the reverse of the order they started in. */
	for (size_t i = 1; i < n; i++)
		for (size_t k = i; k > 0 && table[order[k]].seq > table[order[k - 1]].seq; k--) {
			int tmp = order[k];
			order[k] = order[k - 1];
			order[k - 1] = tmp;
		}
	for (size_t i = 0, len = 0; i < n && len < sizeof(names); i++)
		len += (size_t)snprintf(names + len, sizeof(names) - len, " %s", table[order[i]].name);
	if (n > 0) {
		log_msg("shutdown: sending SIGTERM to %zu services:%s", n, names);
		for (size_t i = 0; i < n; i++) {
			table[order[i]].want_stop = true;
			thaw(&table[order[i]]);
			kill(table[order[i]].pid, SIGTERM);
		}
		size_t left = wait_services(stop_timeout_ms);
		if (left > 0) {
			log_msg("shutdown: %zu services still running after %d ms; sending SIGKILL", left, stop_timeout_ms);
			for (size_t i = 0; i < used; i++)
				if (table[i].kind == SUP_SERVICE && table[i].state == ST_RUNNING)
					kill(table[i].pid, SIGKILL);
			wait_services(2000);
		} else {
			log_msg("shutdown: services stopped in %llu ms", (unsigned long long)(now_ms() - start));
		}
	}
	/* What the containers left behind outside their own pid namespaces;
	 * kill(-1) never reaches PID 1 itself. */
	if (any_children()) {
		log_msg("shutdown: sending SIGTERM to the remaining processes");
		kill(-1, SIGTERM);
		/* Interactive shells ignore SIGTERM but end when their terminal
		 * hangs up; stopped processes act on nothing until continued. */
		kill(-1, SIGHUP);
		kill(-1, SIGCONT);
		wait_children(stop_timeout_ms);
		if (any_children()) {
			log_msg("shutdown: processes still running after %d ms; sending SIGKILL", stop_timeout_ms);
			kill(-1, SIGKILL);
			wait_children(2000);
		}
	}
}

void sup_drain(int timeout_ms)
{
	uint64_t deadline = now_ms() + (uint64_t)timeout_ms;
	for (;;) {
		bool open = false;
		for (size_t i = 0; i < MAX_RELAYS; i++)
			open |= relays[i].fd >= 0;
		int t = remaining_ms(deadline, timeout_ms);
		if (!open || t == 0)
			break;
		loop_once(t);
	}
	for (size_t i = 0; i < MAX_RELAYS; i++)
		relay_flush(&relays[i], STDOUT_FILENO);
}

void sup_close_logs(void)
{
	for (size_t i = 0; i < used; i++)
		logfile_close(&table[i].file);
}

/* ---- for the control socket ---- */

int sup_find(const char *name)
{
	/* A service wins over an onboot or onshutdown container of its name. */
	int found = -1;
	for (size_t i = 0; i < used; i++)
		if (strcmp(table[i].name, name) == 0 && (found < 0 || table[i].kind == SUP_SERVICE))
			found = (int)i;
	return found;
}

enum sup_kind sup_kind_of(int id)
{
	return table[id].kind;
}

const char *sup_name(int id)
{
	return table[id].name;
}

bool sup_running(int id)
{
	return table[id].state == ST_RUNNING;
}

bool sup_active(int id)
{
	enum sup_state s = table[id].state;
	return s == ST_RUNNING || s == ST_RESTARTING || (s == ST_WAITING && !shutting_down);
}

static const char *kind_name(enum sup_kind k)
{
	return k == SUP_ONBOOT ? "onboot" : k == SUP_SERVICE ? "service" : "onshutdown";
}

static void entry_status(const struct entry *c, uint64_t now, char *buf, size_t size)
{
	char how[64], d[32];
	switch (c->state) {
	case ST_RUNNING:
		format_duration(now - c->started_at, d, sizeof(d));
		snprintf(buf, size, "up %s", d);
		break;
	case ST_RESTARTING:
		describe_status(c->status, how, sizeof(how));
		format_duration(c->restart_at > now ? c->restart_at - now : 0, d, sizeof(d));
		snprintf(buf, size, "%s; restart in %s", how, d);
		break;
	case ST_WAITING: {
		char names[400];
		if (waiting_on(c, names, sizeof(names)))
			snprintf(buf, size, "after %s", names);
		else
			snprintf(buf, size, "not started");
		break;
	}
	default:
		if (!c->has_status) {
			snprintf(buf, size, "never started");
			break;
		}
		describe_status(c->status, how, sizeof(how));
		format_duration(now - c->exited_at, d, sizeof(d));
		snprintf(buf, size, "%s, %s ago", how, d);
		break;
	}
}

size_t sup_format_ps(char *buf, size_t size)
{
	uint64_t now = now_ms();
	int w = 4;
	size_t n = 0;
	for (size_t i = 0; i < used; i++)
		if ((int)strlen(table[i].name) > w)
			w = (int)strlen(table[i].name);
#define PS_ROW "%-*s  %-10s  %-10s  %-6s  %-8s  %s\n"
	n += (size_t)snprintf(buf, size, PS_ROW, w, "NAME", "KIND", "STATE", "PID", "RESTARTS", "STATUS");
	for (size_t i = 0; i < used && n < size; i++) {
		const struct entry *c = &table[i];
		char pid[16] = "-", restarts[16], status[512];
		if (c->state == ST_RUNNING)
			snprintf(pid, sizeof(pid), "%d", (int)c->pid);
		snprintf(restarts, sizeof(restarts), "%u", c->restarts);
		entry_status(c, now, status, sizeof(status));
		n += (size_t)snprintf(buf + n, size - n, PS_ROW, w, c->name, kind_name(c->kind),
				      c->paused ? SUP_PAUSED_NAME : sup_state_name(c->state), pid, restarts, status);
	}
#undef PS_ROW
	return n < size ? n : size - 1;
}

size_t sup_logs(int id, long lines, char *out)
{
	return ring_tail(id == CTL_INIT_ENTRY ? log_ring() : &table[id].ring, lines, out);
}

int sup_ctl_stop(int id, char *msg, size_t size)
{
	struct entry *c = &table[id];
	if (c->kind != SUP_SERVICE) {
		snprintf(msg, size, "%s is an %s container; only services can be stopped", c->name, kind_name(c->kind));
		return -1;
	}
	switch (c->state) {
	case ST_RUNNING:
		if (!c->want_stop) {
			c->want_stop = true;
			c->kill_at = now_ms() + (uint64_t)stop_timeout_ms;
			log_msg("service %s: stop requested; sending SIGTERM", c->name);
			thaw(c);
			kill(c->pid, SIGTERM);
		}
		return 1;
	case ST_WAITING:
	case ST_RESTARTING:
		c->want_stop = true;
		c->state = ST_STOPPED;
		log_msg("service %s stopped before it started again", c->name);
		snprintf(msg, size, "%s stopped", c->name);
		ctl_entry_changed(id);
		return 0;
	default:
		c->want_stop = true;
		snprintf(msg, size, "%s is not running", c->name);
		return 0;
	}
}

int sup_ctl_start(int id, char *msg, size_t size)
{
	struct entry *c = &table[id];
	if (c->kind != SUP_SERVICE) {
		snprintf(msg, size, "%s is an %s container; only services can be started", c->name, kind_name(c->kind));
		return -1;
	}
	if (shutting_down) {
		snprintf(msg, size, "not now: shutting down");
		return -1;
	}
	if (c->state == ST_RUNNING) {
		if (c->want_stop)
			snprintf(msg, size, "%s is stopping; try again when it has", c->name);
		else
			snprintf(msg, size, "%s is already running (pid %d)", c->name, (int)c->pid);
		return c->want_stop ? -1 : 0;
	}
	c->want_stop = false;
	c->failures = 0;
	log_msg("service %s: start requested", c->name);
	if (start_entry(c, false) < 0) {
		snprintf(msg, size, "%s: %s", c->name, c->error);
		return -1;
	}
	snprintf(msg, size, "%s started (pid %d)", c->name, (int)c->pid);
	return 0;
}

void sup_describe_end(int id, char *msg, size_t size)
{
	const struct entry *c = &table[id];
	char how[64] = "not run";
	if (c->has_status)
		describe_status(c->status, how, sizeof(how));
	snprintf(msg, size, "%s %s (%s)", c->name, sup_state_name(c->state), how);
}

/* ---- pause, resume, kill, exec and stats ---- */

/* The cgroup the runtime made for c, found as the runtime finds it. */
static const char *entry_cgroup(struct entry *c, err_t *e)
{
	struct spec s = { 0 };
	char rel[PATH_MAX], path[PATH_MAX];
	if (c->cgroup)
		return c->cgroup;
	if (!cgroup_v2()) {
		err_set(e, "no cgroup2 at %s", CGROUP_ROOT);
		return NULL;
	}
	if (exec_load_spec(c->bundle, &s, e) < 0)
		return NULL;
	int r = cgroup_rel_path(c->name, s.cgroups_path, rel, sizeof(rel), e);
	spec_free(&s);
	if (r < 0)
		return NULL;
	if (path_fmt(path, sizeof(path), "%s/%s", CGROUP_ROOT, rel) < 0 || !(c->cgroup = strdup(path))) {
		err_sys(e, "cgroup %s", rel);
		return NULL;
	}
	return c->cgroup;
}

static int not_running(const struct entry *c, char *msg, size_t size)
{
	if (c->state == ST_RUNNING)
		return 0;
	snprintf(msg, size, "%s is not running (%s)", c->name, sup_state_name(c->state));
	return -1;
}

int sup_ctl_pause(int id, bool pause, char *msg, size_t size)
{
	struct entry *c = &table[id];
	const char *cg;
	err_t e;
	if (not_running(c, msg, size) < 0)
		return -1;
	if (pause && c->want_stop) {
		snprintf(msg, size, "%s is stopping", c->name);
		return -1;
	}
	if (c->paused == pause) {
		snprintf(msg, size, "%s is already %s", c->name, pause ? "paused" : "running");
		return 0;
	}
	if (!(cg = entry_cgroup(c, &e)) || cgroup_freeze(cg, pause, &e) < 0) {
		snprintf(msg, size, "%s: %s", c->name, e.msg);
		return -1;
	}
	c->paused = pause;
	return sup_pause_settled(id, pause, false, msg, size) > 0 ? 0 : 1;
}

int sup_pause_settled(int id, bool pause, bool give_up, char *msg, size_t size)
{
	struct entry *c = &table[id];
	err_t e;
	/* No cgroup.events (kernels before 5.2 have no freezer either). */
	int frozen = c->cgroup ? cgroup_frozen(c->cgroup) : -1;
	if (frozen < 0 || frozen == pause) {
		log_msg("%s %s", c->name, pause ? "paused" : "resumed");
		snprintf(msg, size, "%s %s", c->name, pause ? "paused" : "resumed");
		return 1;
	}
	if (!give_up)
		return 0;
	if (pause) {
		c->paused = false;
		if (cgroup_freeze(c->cgroup, false, &e) < 0)
			log_msg("%s: resume: %s", c->name, e.msg);
	}
	snprintf(msg, size, "%s did not %s in time%s", c->name, pause ? "freeze" : "thaw",
		 pause ? " (a process in uninterruptible sleep?); it runs on" : "");
	return -1;
}

int sup_ctl_kill(int id, int sig, char *msg, size_t size)
{
	struct entry *c = &table[id];
	char name[16];
	if (not_running(c, msg, size) < 0)
		return -1;
	ctl_signal_name(sig, name, sizeof(name));
	log_msg("%s: keelctl kill: sending %s to pid %d", c->name, name, (int)c->pid);
	if (kill(c->pid, sig) < 0) {
		snprintf(msg, size, "%s: kill: %s", c->name, strerror(errno));
		return -1;
	}
	snprintf(msg, size, "sent %s to %s (pid %d)", name, c->name, (int)c->pid);
	return 0;
}

pid_t sup_ctl_exec(int id, char *const argv[], const int fds[3], char *msg, size_t size)
{
	struct entry *c = &table[id];
	err_t e;
	if (not_running(c, msg, size) < 0)
		return -1;
	if (c->paused) {
		snprintf(msg, size, "%s is paused (keelctl resume %s)", c->name, c->name);
		return -1;
	}
	pid_t pid = exec_in_container(c->pid, c->bundle, argv, fds, &e);
	if (pid < 0) {
		snprintf(msg, size, "exec in %s: %s", c->name, e.msg);
		return -1;
	}
	log_msg("%s: keelctl exec %s (pid %d)", c->name, argv[0], (int)pid);
	return pid;
}

void format_bytes(uint64_t n, char *buf, size_t size)
{
	static const char units[][4] = { "B", "KiB", "MiB", "GiB", "TiB" };
	uint64_t div = 1;
	size_t u = 0;
	while (u + 1 < ARRAY_LEN(units) && n / div >= 1024) {
		div *= 1024;
		u++;
	}
	uint64_t tenths = (n * 10 + div / 2) / div;
	if (u == 0 || tenths >= 1000)
		snprintf(buf, size, "%llu%s", (unsigned long long)((n + div / 2) / div), units[u]);
	else
		snprintf(buf, size, "%llu.%llu%s", (unsigned long long)(tenths / 10), (unsigned long long)(tenths % 10),
			 units[u]);
}

static size_t stats_row(const struct entry *c, int w, char *buf, size_t size)
{
	char cpu[32] = "-", mem[32] = "-", pids[24] = "-", rd[32] = "-", wr[32] = "-";
	struct cg_stats st;
	if (c->state == ST_RUNNING && c->cgroup) {
		cgroup_read_stats(c->cgroup, &st);
		if (st.has_cpu)
			snprintf(cpu, sizeof(cpu), "%llu.%02llus", (unsigned long long)(st.cpu_usec / 1000000),
				 (unsigned long long)(st.cpu_usec / 10000 % 100));
		if (st.has_memory)
			format_bytes(st.memory, mem, sizeof(mem));
		if (st.has_pids)
			snprintf(pids, sizeof(pids), "%llu", (unsigned long long)st.pids);
		if (st.has_io) {
			format_bytes(st.rbytes, rd, sizeof(rd));
			format_bytes(st.wbytes, wr, sizeof(wr));
		}
	}
	return (size_t)snprintf(buf, size, "%-*s  %-10s  %9s  %9s  %5s  %9s  %9s\n", w, c->name,
				c->paused ? SUP_PAUSED_NAME : sup_state_name(c->state), cpu, mem, pids, rd, wr);
}

int sup_format_stats(const char *names, size_t count, char *buf, size_t size, size_t *len)
{
	static int ids[MAX_CONTAINERS];
	size_t n = 0, out = 0;
	int w = 4;
	if (count == 0) {
		for (size_t i = 0; i < used; i++)
			if (table[i].kind == SUP_SERVICE)
				ids[n++] = (int)i;
	}
	for (const char *a = names; n < MAX_CONTAINERS && count > 0; a += strlen(a) + 1, count--) {
		if ((ids[n++] = sup_find(a)) < 0) {
			snprintf(buf, size, "no container named %s (keelctl ps lists them)", a);
			return -1;
		}
	}
	for (size_t i = 0; i < n; i++) {
		struct entry *c = &table[ids[i]];
		err_t e;
		if ((int)strlen(c->name) > w)
			w = (int)strlen(c->name);
		/* Found before the first stats of a running one, and kept. */
		if (c->state == ST_RUNNING)
			entry_cgroup(c, &e);
	}
	out = (size_t)snprintf(buf, size, "%-*s  %-10s  %9s  %9s  %5s  %9s  %9s\n", w, "NAME", "STATE", "CPU",
			       "MEMORY", "PIDS", "READ", "WRITE");
	for (size_t i = 0; i < n && out < size; i++)
		out += stats_row(&table[ids[i]], w, buf + out, size - out);
	*len = out < size ? out : size - 1;
	return 0;
}

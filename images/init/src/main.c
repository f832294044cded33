/*
 * keel's /init. As PID 1 it turns the initramfs into a running system and
 * its containers; anywhere else it is a command for running one bundle.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/reboot.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ctl.h"
#include "keelctl.h"
#include "log.h"
#include "modules.h"
#include "mounts.h"
#include "power.h"
#include "rootdev.h"
#include "runtime.h"
#include "supervise.h"
#include "switchroot.h"
#include "system.h"
#include "util.h"

#ifndef KEEL_VERSION
#define KEEL_VERSION "dev"
#endif

#define ONBOOT_DIR "/containers/onboot"
#define SERVICES_DIR "/containers/services"
#define ONSHUTDOWN_DIR "/containers/onshutdown"
#define ONSHUTDOWN_TIMEOUT_MS 10000
#define LOG_DIR "/var/log"

static void setup_signals(void);
static void switch_root(void);
static void setup_logs(void);
static void read_settings(void);
static void start_ctl(void);
static void run_onboot(void);
static void start_services(void);
static _Noreturn void shut_down(enum power p);
static int host_main(int argc, char **argv);

int main(int argc, char **argv)
{
	const char *base = argc > 0 ? strrchr(argv[0], '/') : NULL;
	if (argc > 0 && strcmp(base ? base + 1 : argv[0], "keelctl") == 0)
		return keelctl_main(argc, argv);
	if (getpid() != 1)
		return host_main(argc, argv);

	ensure_std_fds();
	/* CLOCK_MONOTONIC counts from the kernel's start: this is how long
	 * the kernel took to get here. */
	uint64_t t = now_ms();
	log_msg("init started (keel %s); the kernel took %llu.%03llu s", KEEL_VERSION,
		(unsigned long long)(t / 1000), (unsigned long long)(t % 1000));
	setup_signals();
	/* kernel+squashfs/erofs/iso: runs /init again from the root device. */
	rootdev_boot(argv);
	switch_root();
	mount_system();
	console_reopen();
	setup_logs();
	read_settings();
	modules_load_all();
	/* After the modules: the RTC's driver may be one. */
	clock_setup();
	entropy_report();
	power_buttons_scan();
	loopback_up();
	hostname_setup();
	resolv_conf_setup();
	mount_volumes();
	start_ctl();
	run_onboot();
	start_services();
	shut_down(sup_wait_power());
}

static void setup_signals(void)
{
	err_t e;
	if (sup_init(&e) < 0)
		fatal(e.msg);
	/* Ctrl-Alt-Del then becomes a SIGINT for us instead of an instant reset. */
	reboot(RB_DISABLE_CAD);
}

static void switch_root(void)
{
	err_t e;
	bool damaged;
	if (switch_root_if_initramfs(&damaged, &e) == 0)
		return;
	if (damaged)
		fatal(e.msg);
	/* The initramfs is intact; containers will fail at pivot_root, but the
	 * console shows why. */
	log_msg("root not switched: %s", e.msg);
}

static void setup_logs(void)
{
	err_t e;
	if (mkdir_p(LOG_DIR, 0755, &e) < 0) {
		log_msg("logs: %s", e.msg);
		return;
	}
	log_file_open(LOG_DIR "/init.log");
}

static void read_settings(void)
{
	char *cmdline = NULL, value[32];
	err_t e;
	if (read_file("/proc/cmdline", 65536, &cmdline, NULL, &e) < 0) {
		log_msg("%s", e.msg);
		return;
	}
	if (cmdline_value(cmdline, "keel.stop_timeout", value, sizeof(value)) == 0) {
		char *end;
		long s = strtol(value, &end, 10);
		if (end == value || *end || s < 0 || s > 3600) {
			log_msg("keel.stop_timeout=%s: not a number of seconds (0 to 3600); using %d", value,
				STOP_TIMEOUT_DEFAULT_MS / 1000);
		} else {
			sup_set_stop_timeout((int)s * 1000);
			log_msg("stop timeout %ld s", s);
		}
	}
	free(cmdline);
}

static void start_ctl(void)
{
	err_t e;
	if (ctl_listen(CTL_SOCKET, &e) < 0)
		log_msg("control socket: %s; keelctl will not work", e.msg);
}

/* Runs each bundle of dir to completion, in order; a failure is reported
 * and the next one runs anyway. */
static void run_in_order(const char *dir, const char *stage, enum sup_kind kind, int timeout_ms)
{
	char **names, path[4096], name[64], how[64];
	size_t n;
	err_t e;
	if (list_subdirs(dir, &names, &n, &e) < 0) {
		log_msg("%s", e.msg);
		return;
	}
	for (size_t i = 0; i < n && (kind == SUP_ONSHUTDOWN || sup_power_requested() == POWER_NONE); i++) {
		int status;
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		bundle_display_name(names[i], name, sizeof(name));
		int id = sup_add(path, name, kind);
		if (id < 0 || sup_run(id) < 0) {
			log_msg("%s %s FAILED: not started", stage, name);
			continue;
		}
		if (sup_wait(id, timeout_ms, &status) < 0) {
			log_msg("%s %s FAILED: still running after %d ms; killing it", stage, name, timeout_ms);
			sup_kill(id, SIGKILL);
			sup_wait(id, -1, &status);
		}
		describe_status(status, how, sizeof(how));
		if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
			log_msg("%s %s done (%s)", stage, name, how);
		else
			log_msg("%s %s FAILED (%s)", stage, name, how);
	}
	free_names(names, n);
}

static void run_onboot(void)
{
	run_in_order(ONBOOT_DIR, "onboot", SUP_ONBOOT, -1);
	/* Onboot containers may have mounted a disk on /var/log, or loaded
	 * drivers: reopen the logs there, and look for buttons again. */
	sup_close_logs();
	log_file_close();
	setup_logs();
	power_buttons_scan();
}

static void start_services(void)
{
	char **names, path[4096];
	size_t n;
	err_t e;
	if (sup_power_requested() != POWER_NONE)
		return;
	if (list_subdirs(SERVICES_DIR, &names, &n, &e) < 0) {
		log_msg("%s", e.msg);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%s", SERVICES_DIR, names[i]);
		sup_add(path, names[i], SUP_SERVICE);
	}
	free_names(names, n);
	sup_start_services();
}

static _Noreturn void shut_down(enum power p)
{
	log_msg("shutdown begun (%s)", p == POWER_REBOOT ? "reboot" : "power off");
	run_in_order(ONSHUTDOWN_DIR, "onshutdown", SUP_ONSHUTDOWN, ONSHUTDOWN_TIMEOUT_MS);
	sup_stop_all();
	sup_drain(500);
	ctl_close_all();
	log_msg("shutdown: syncing");
	sync();
	sup_close_logs();
	log_file_close();
	unmount_all();
	power(p);
}

/* ---- host mode: "init run BUNDLE [NAME]" ---- */

static volatile pid_t forward_to = -1;

static void forward_signal(int sig)
{
	if (forward_to > 0)
		kill(forward_to, sig);
}

static int host_run(const char *bundle, const char *name_arg)
{
	char name[64];
	struct rt_options o = { .name = name, .passthrough = true };
	struct rt_process p;
	err_t e;
	int status;

	if (name_arg) {
		snprintf(name, sizeof(name), "%s", name_arg);
	} else {
		char tmp[4096];
		snprintf(tmp, sizeof(tmp), "%s", bundle);
		for (size_t n = strlen(tmp); n > 1 && tmp[n - 1] == '/'; n--)
			tmp[n - 1] = '\0';
		const char *base = strrchr(tmp, '/');
		bundle_display_name(base ? base + 1 : tmp, name, sizeof(name));
	}
	/* The container may be reparented to us when a helper joins
	 * namespaces for it, as it would be to PID 1. */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	if (runtime_start(bundle, &o, &p, &e) < 0) {
		log_msg("%s: %s", name, e.msg);
		return RT_EXIT_SETUP;
	}
	if (p.error[0])
		log_msg("%s: %s", name, p.error);

	forward_to = p.pid;
	int sigs[] = { SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 };
	for (size_t i = 0; i < ARRAY_LEN(sigs); i++)
		sigaction(sigs[i], &(struct sigaction){ .sa_handler = forward_signal }, NULL);
	while (waitpid(p.pid, &status, 0) < 0)
		if (errno != EINTR)
			return RT_EXIT_SETUP;
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

static int host_main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "--version") == 0) {
		printf("keel-init %s\n", KEEL_VERSION);
		return 0;
	}
	if ((argc == 3 || argc == 4) && strcmp(argv[1], "run") == 0)
		return host_run(argv[2], argc == 4 ? argv[3] : NULL);
	fprintf(stderr,
		"usage: init run BUNDLE [NAME]   run one OCI bundle in the foreground\n"
		"       init --version\n"
		"       keelctl ...                   (by that name) control a running init\n"
		"As PID 1, init boots the system; see images/init/README.md.\n");
	return 2;
}

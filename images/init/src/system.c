#include "system.h"

#include <fcntl.h>
#include <linux/rtc.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/reboot.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

void loopback_up(void)
{
	struct ifreq ifr = { 0 };
	autoclose int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	if (s < 0 || ioctl(s, SIOCGIFFLAGS, &ifr) < 0) {
		log_msg("loopback: %s", strerror(errno));
		return;
	}
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
		log_msg("loopback up: %s", strerror(errno));
}

void resolv_conf_setup(void)
{
	char target[256];
	ssize_t n = readlink("/etc/resolv.conf", target, sizeof(target) - 1);
	if (n <= 0)
		return; /* a file (or none): nothing to make */
	target[n] = '\0';
	/* Only a link into /run, a tmpfs this init mounted: never create a
	 * file anywhere an image's link happens to point. */
	if (strncmp(target, "/run/", 5) != 0 || strstr(target, "/../") || access(target, F_OK) == 0)
		return;
	err_t e;
	char dir[256];
	snprintf(dir, sizeof(dir), "%s", target);
	*strrchr(dir, '/') = '\0';
	if (mkdir_p(dir, 0755, &e) < 0) {
		log_msg("resolv.conf: %s", e.msg);
		return;
	}
	autoclose int fd = open(target, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0)
		log_msg("resolv.conf: cannot make %s: %s", target, strerror(errno));
}

void hostname_setup(void)
{
	char *text = NULL, name[65] = "keel";
	err_t e;
	if (read_file("/etc/hostname", 4096, &text, NULL, &e) == 0) {
		const char *start = text + strspn(text, " \t\r\n");
		size_t n = strcspn(start, " \t\r\n");
		if (n > 0 && n < sizeof(name))
			snprintf(name, sizeof(name), "%.*s", (int)n, start);
		free(text);
	}
	if (sethostname(name, strlen(name)) < 0)
		log_msg("sethostname %s: %s", name, strerror(errno));
	else
		log_msg("hostname %s", name);
}

void clock_setup(void)
{
	struct timespec now;
	struct rtc_time rt = { 0 };
	clock_gettime(CLOCK_REALTIME, &now);
	if (now.tv_sec >= CLOCK_EPOCH)
		return;
	autoclose int fd = open("/dev/rtc0", O_RDONLY | O_CLOEXEC);
	if (fd < 0 || ioctl(fd, RTC_RD_TIME, &rt) < 0) {
		log_msg("clock not set: /dev/rtc0: %s", strerror(errno));
		return;
	}
	struct tm tm = {
		.tm_sec = rt.tm_sec, .tm_min = rt.tm_min, .tm_hour = rt.tm_hour,
		.tm_mday = rt.tm_mday, .tm_mon = rt.tm_mon, .tm_year = rt.tm_year,
	};
	struct timespec ts = { .tv_sec = timegm(&tm) };
	char when[64];
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
	if (ts.tv_sec < CLOCK_EPOCH)
		log_msg("clock not set: the RTC says %s", when);
	else if (clock_settime(CLOCK_REALTIME, &ts) < 0)
		log_msg("clock not set: %s", strerror(errno));
	else
		log_msg("clock set from the RTC: %s", when);
}

void entropy_report(void)
{
	char *text = NULL;
	err_t e;
	/* virtio_rng (coldplug loads it when QEMU offers the device) and
	 * other hwrng drivers feed the pool from the kernel on their own. */
	if (read_file("/sys/class/misc/hw_random/rng_current", 256, &text, NULL, &e) == 0) {
		text[strcspn(text, "\n")] = '\0';
		if (strcmp(text, "none") != 0 && text[0]) {
			log_msg("entropy: hardware RNG %s%s", text, access("/dev/hwrng", F_OK) == 0 ? " (/dev/hwrng)" : "");
			free(text);
			return;
		}
		free(text);
	}
	log_msg("entropy: no hardware RNG");
}

int cmdline_value(const char *cmdline, const char *key, char *out, size_t size)
{
	size_t klen = strlen(key);
	int found = -1;
	for (const char *p = cmdline; *p;) {
		p += strspn(p, " \t\n");
		size_t n = strcspn(p, " \t\n");
		if (n > klen && strncmp(p, key, klen) == 0 && p[klen] == '=') {
			size_t vlen = n - klen - 1;
			if (vlen < size) {
				memcpy(out, p + klen + 1, vlen);
				out[vlen] = '\0';
				found = 0;
			} else {
				found = -1;
			}
		}
		p += n;
	}
	return found;
}

_Noreturn void power(enum power p)
{
	sync();
	log_msg(p == POWER_REBOOT ? "rebooting" : "powering off");
	reboot(p == POWER_REBOOT ? RB_AUTOBOOT : RB_POWER_OFF);
	log_msg("reboot: %s", strerror(errno));
	for (;;)
		pause();
}

_Noreturn void fatal(const char *what)
{
	log_msg("FATAL: %s", what);
	power(POWER_OFF);
}

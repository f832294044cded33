#include "system.h"

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

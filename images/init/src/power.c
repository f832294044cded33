#include "power.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/input.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#include "log.h"
#include "util.h"

static struct {
	int fd;
	dev_t dev;
} buttons[POWER_MAX_BUTTONS];
static size_t nbuttons;

static bool has_power_key(int fd)
{
	unsigned char keys[KEY_MAX / 8 + 1] = { 0 };
	if (ioctl(fd, EVIOCGBIT(EV_KEY, sizeof(keys)), keys) < 0)
		return false;
	return keys[KEY_POWER / 8] & (1u << (KEY_POWER % 8));
}

static bool known(dev_t dev)
{
	for (size_t i = 0; i < nbuttons; i++)
		if (buttons[i].dev == dev)
			return true;
	return false;
}

void power_buttons_scan(void)
{
	DIR *d = opendir("/dev/input");
	struct dirent *de;
	if (!d)
		return;
	while ((de = readdir(d)) && nbuttons < POWER_MAX_BUTTONS) {
		char path[300], name[128] = "";
		struct stat st;
		if (strncmp(de->d_name, "event", 5) != 0)
			continue;
		snprintf(path, sizeof(path), "/dev/input/%s", de->d_name);
		if (stat(path, &st) < 0 || !S_ISCHR(st.st_mode) || known(st.st_rdev))
			continue;
		int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
		if (fd < 0)
			continue;
		if (!has_power_key(fd)) {
			close(fd);
			continue;
		}
		ioctl(fd, EVIOCGNAME(sizeof(name) - 1), name);
		buttons[nbuttons].fd = fd;
		buttons[nbuttons].dev = st.st_rdev;
		nbuttons++;
		log_msg("power key: %s (%s)", path, name[0] ? name : "unnamed");
	}
	closedir(d);
}

size_t power_buttons_pollfds(struct pollfd *p, size_t max)
{
	size_t n = 0;
	for (size_t i = 0; i < nbuttons && n < max; i++)
		p[n++] = (struct pollfd){ .fd = buttons[i].fd, .events = POLLIN };
	return n;
}

static void forget(int fd)
{
	for (size_t i = 0; i < nbuttons; i++) {
		if (buttons[i].fd != fd)
			continue;
		close(fd);
		buttons[i] = buttons[--nbuttons];
		return;
	}
}

bool power_button_pressed(int fd)
{
	struct input_event ev[16];
	bool pressed = false;
	for (;;) {
		ssize_t n = read(fd, ev, sizeof(ev));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n <= 0) {
			forget(fd);
			break;
		}
		for (size_t i = 0; i < (size_t)n / sizeof(ev[0]); i++)
			pressed |= ev[i].type == EV_KEY && ev[i].code == KEY_POWER && ev[i].value == 1;
	}
	return pressed;
}

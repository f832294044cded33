/* The ACPI power button: the kernel's button driver reports it as an input
 * device (KEY_POWER), which evdev exposes as /dev/input/eventN. */
#ifndef KEEL_POWER_H
#define KEEL_POWER_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>

#define POWER_MAX_BUTTONS 8

/* Opens the /dev/input/event* devices that have a power key and are not
 * open yet; logs each new one. Cheap enough to call again. */
void power_buttons_scan(void);
/* Adds the open buttons to a poll set; returns how many were added. */
size_t power_buttons_pollfds(struct pollfd *p, size_t max);
/* Reads what fd has; true when it was a press of the power key. A device
 * that went away is closed. */
bool power_button_pressed(int fd);

#endif

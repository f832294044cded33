/* Small pieces of machine setup and teardown for PID 1. */
#ifndef KEEL_SYSTEM_H
#define KEEL_SYSTEM_H

#include "supervise.h"

#include <stddef.h>
#include <time.h>

/* Before this (2020-01-01) the clock was never set: take the RTC's time. */
#define CLOCK_EPOCH ((time_t)1577836800)

void loopback_up(void);
/* Sets the system clock from /dev/rtc0 (which holds UTC) when it reads
 * earlier than CLOCK_EPOCH, as when the kernel did not do it itself. */
void clock_setup(void);
/* Logs the hardware RNG feeding the kernel's pool, if any. Nothing is
 * credited by hand: without a real seed that would be faking entropy. */
void entropy_report(void);
/* The value of the last key=value word of a kernel command line, into
 * out; 0, or -1 when key is absent or its value does not fit. */
int cmdline_value(const char *cmdline, const char *key, char *out, size_t size);
/* /etc/resolv.conf links to /run/resolvconf/resolv.conf (a DHCP client
 * writes it later): the target is made, empty, so that a service binding
 * /etc/resolv.conf can start before the network is up. */
void resolv_conf_setup(void);
/* From /etc/hostname when present, else "keel". */
void hostname_setup(void);
/* sync and reboot(2); never returns, not even if reboot fails. */
_Noreturn void power(enum power p);
/* For errors PID 1 cannot recover from: exiting would panic the kernel. */
_Noreturn void fatal(const char *what);

#endif

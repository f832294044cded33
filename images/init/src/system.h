/* Small pieces of machine setup and teardown for PID 1. */
#ifndef KEEL_SYSTEM_H
#define KEEL_SYSTEM_H

#include "supervise.h"

void loopback_up(void);
/* From /etc/hostname when present, else "keel". */
void hostname_setup(void);
/* sync and reboot(2); never returns, not even if reboot fails. */
_Noreturn void power(enum power p);
/* For errors PID 1 cannot recover from: exiting would panic the kernel. */
_Noreturn void fatal(const char *what);

#endif

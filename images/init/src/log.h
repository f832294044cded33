/* Init's own messages: "[init 1.234] text" on stderr (the console when we
 * are PID 1), stamped with CLOCK_MONOTONIC, which in a VM is time since boot. */
#ifndef KEEL_LOG_H
#define KEEL_LOG_H

#include <stdint.h>

void log_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
uint64_t now_ms(void);

#endif

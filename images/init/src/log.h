/* Init's own messages: "[init 1.234] text" on stderr (the console when we
 * are PID 1), stamped with CLOCK_MONOTONIC, which counts from the kernel's
 * start like its own printk times. As PID 1 they are also kept in a ring
 * ("keelctl logs init") and appended to /var/log/init.log. */
#ifndef KEEL_LOG_H
#define KEEL_LOG_H

#include <stddef.h>
#include <stdint.h>

#include "logbuf.h"

void log_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
uint64_t now_ms(void);

/* Starts writing to path; the first time, beginning with what the ring
 * already holds. */
void log_file_open(const char *path);
/* Closes the file and stops writing to it until log_file_open. */
void log_file_close(void);
/* Init's ring of its own lines, stamps included. */
const struct ring *log_ring(void);
/* Called with each line (stamp included, no newline); not re-entered
 * when the sink itself logs. */
void log_set_sink(void (*sink)(const char *line, size_t n));

#endif

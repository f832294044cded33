/* PID 1's event loop: containers started through the runtime, their output
 * relayed to the console, zombies reaped, power signals read through a
 * signalfd, all in one poll(2). */
#ifndef KEEL_SUPERVISE_H
#define KEEL_SUPERVISE_H

#include <stddef.h>

#include "util.h"

enum sup_kind { SUP_ONBOOT, SUP_SERVICE, SUP_ONSHUTDOWN };
enum power { POWER_NONE, POWER_OFF, POWER_REBOOT };

/* Blocks the signals the loop reads; call before anything else. */
int sup_init(err_t *e);
/* A container id, or -1 (logged) when nothing could be started. */
int sup_start(const char *bundle, const char *name, enum sup_kind kind);
/* Runs the loop until container id exits (0, *status set) or timeout_ms
 * passes (-1; a negative timeout never passes). */
int sup_wait(int id, int timeout_ms, int *status);
void sup_kill(int id, int sig);
/* Runs the loop until a power signal has arrived. */
enum power sup_wait_power(void);
enum power sup_power_requested(void);
/* Signals every running container of a kind; returns how many there are. */
size_t sup_signal(enum sup_kind kind, int sig);
/* Runs the loop until none of a kind runs or timeout_ms passes; returns how
 * many still run. */
size_t sup_wait_kind(enum sup_kind kind, int timeout_ms);
/* Runs the loop until every output pipe is closed or timeout_ms passes. */
void sup_drain(int timeout_ms);
/* "exit 3" or "killed by signal 9". */
void describe_status(int status, char *buf, size_t size);

#endif

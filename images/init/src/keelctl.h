/* keelctl, the control tool: the same binary as /init, called by the name
 * keelctl (the image has /usr/bin/keelctl -> /init). It sends one request
 * to PID 1 over CTL_SOCKET and prints the answer. Exit codes: 0 done,
 * 1 failed (with a message), 2 usage. */
#ifndef KEEL_KEELCTL_H
#define KEEL_KEELCTL_H

#include "ctl.h"

/* 0, 1 when help was asked for, -1 for a usage error (e says what). */
int keelctl_parse_args(int argc, char **argv, struct ctl_req *r, err_t *e);
int keelctl_main(int argc, char **argv);

#endif

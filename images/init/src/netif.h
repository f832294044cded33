/* Network interfaces for runtime.json's "interfaces", over rtnetlink (no
 * ip binary): create a link, and move one into a process's network
 * namespace. */
#ifndef KEEL_NETIF_H
#define KEEL_NETIF_H

#include <sys/types.h>

#include "util.h"

/* Creates a link of the given kind ("veth" needs peer, the end that stays
 * where it was made). ns_pid > 0 creates it straight in that process's
 * network namespace, 0 in ours. */
int netif_create(const char *name, const char *kind, const char *peer, pid_t ns_pid, err_t *e);
/* Moves the link called name from our namespace into pid's. */
int netif_move(const char *name, pid_t pid, err_t *e);

#endif

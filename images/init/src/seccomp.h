/* keel's default seccomp profile: Docker's default allowlist, rebuilt here
 * as a classic BPF program for x86_64 and its i386 and x32 ABIs. A syscall
 * not on the list fails with ENOSYS, so that libcs fall back to older
 * calls; a listed call refused for its arguments fails with EPERM; any
 * other architecture is killed. */
#ifndef KEEL_SECCOMP_H
#define KEEL_SECCOMP_H

#include <linux/filter.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

/* Room for the whole default program; it needs about 1000 instructions. */
#define SECCOMP_MAX_INSNS 2048

enum seccomp_abi { SECCOMP_ABI_X86_64, SECCOMP_ABI_I386, SECCOMP_ABI_X32, SECCOMP_ABIS };

enum seccomp_rule {
	SC_ALWAYS,      /* on the list */
	SC_CAPS,        /* on the list when the bounding set has cap1 or cap2 */
	SC_CLONE,       /* without namespace flags; any clone with CAP_SYS_ADMIN */
	SC_SOCKET,      /* the address families Docker allows */
	SC_PERSONALITY, /* the harmless personalities */
};

#define SC_NO_NR 0xffff
#define SC_NO_CAP 0xff

struct seccomp_syscall {
	const char *name;
	uint16_t nr[SECCOMP_ABIS]; /* x32: without __X32_SYSCALL_BIT */
	uint8_t rule, cap1, cap2;
};

extern const struct seccomp_syscall seccomp_syscalls[];
extern const size_t seccomp_nsyscalls;

/* Builds the default program for a container whose bounding set is caps.
 * Returns the number of instructions, or -1 (it does not fit). */
int seccomp_default_program(uint64_t caps, struct sock_filter *out, size_t max);

/* Installs a program (last thing before exec). Needs no_new_privs or
 * CAP_SYS_ADMIN. */
int seccomp_install(const struct sock_filter *prog, size_t len, err_t *e);

#endif

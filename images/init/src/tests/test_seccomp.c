/* The default seccomp program, run through a small classic-BPF interpreter
 * on made-up syscalls of each ABI. */
#include <errno.h>
#include <linux/audit.h>
#include <linux/capability.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#include "../seccomp.h"
#include "../common/tests/tap.h"

#define X32 0x40000000u
#define ALLOW SECCOMP_RET_ALLOW
#define ENOSYS_ (SECCOMP_RET_ERRNO | ENOSYS)
#define EPERM_ (SECCOMP_RET_ERRNO | EPERM)
#define BAD 0xdeadbeefu

static struct sock_filter prog[SECCOMP_MAX_INSNS];
static int len;

/* What the kernel would do with this program: only the instructions the
 * generator uses are known; anything else, or running off the end, is BAD. */
static uint32_t run(uint32_t arch, uint32_t nr, uint64_t arg0)
{
	struct seccomp_data d = { .nr = (int)nr, .arch = arch, .args = { arg0 } };
	uint32_t a = 0;
	for (int pc = 0; pc >= 0 && pc < len;) {
		const struct sock_filter *i = &prog[pc++];
		switch (i->code) {
		case BPF_LD | BPF_W | BPF_ABS:
			if (i->k > sizeof(d) - 4 || i->k % 4)
				return BAD;
			memcpy(&a, (const char *)&d + i->k, 4);
			break;
		case BPF_JMP | BPF_JA: pc += (int)i->k; break;
		case BPF_JMP | BPF_JEQ | BPF_K: pc += a == i->k ? i->jt : i->jf; break;
		case BPF_JMP | BPF_JGT | BPF_K: pc += a > i->k ? i->jt : i->jf; break;
		case BPF_JMP | BPF_JGE | BPF_K: pc += a >= i->k ? i->jt : i->jf; break;
		case BPF_JMP | BPF_JSET | BPF_K: pc += (a & i->k) ? i->jt : i->jf; break;
		case BPF_RET | BPF_K: return i->k;
		default: return BAD;
		}
	}
	return BAD;
}

static uint32_t x64(uint32_t nr, uint64_t arg0) { return run(AUDIT_ARCH_X86_64, nr, arg0); }
static uint32_t i386(uint32_t nr, uint64_t arg0) { return run(AUDIT_ARCH_I386, nr, arg0); }

static bool build(uint64_t caps)
{
	len = seccomp_default_program(caps, prog, ARRAY_LEN(prog));
	return len > 0;
}

/* Every jump lands inside the program, as the kernel's checker demands. */
static bool well_formed(void)
{
	for (int pc = 0; pc < len; pc++) {
		const struct sock_filter *i = &prog[pc];
		if (BPF_CLASS(i->code) != BPF_JMP)
			continue;
		long far = BPF_OP(i->code) == BPF_JA ? (long)i->k : (i->jt > i->jf ? i->jt : i->jf);
		if (pc + 1 + far >= len)
			return false;
	}
	return len > 0 && BPF_CLASS(prog[len - 1].code) == BPF_RET;
}

static const struct seccomp_syscall *by_name(const char *name)
{
	for (size_t i = 0; i < seccomp_nsyscalls; i++)
		if (!strcmp(seccomp_syscalls[i].name, name))
			return &seccomp_syscalls[i];
	return NULL;
}

/* Each ABI's whole number range against the table. */
static bool matches_table(enum seccomp_abi abi, uint64_t caps)
{
	bool good = true;
	for (uint32_t nr = 0; nr < 1024; nr++) {
		uint32_t want = ENOSYS_;
		for (size_t k = 0; k < seccomp_nsyscalls; k++) {
			const struct seccomp_syscall *s = &seccomp_syscalls[k];
			if (s->nr[abi] != nr)
				continue;
			bool cap = (s->cap1 != SC_NO_CAP && (caps & (1ull << s->cap1))) ||
				   (s->cap2 != SC_NO_CAP && (caps & (1ull << s->cap2)));
			if (s->rule == SC_ALWAYS || (s->rule == SC_CAPS && cap))
				want = ALLOW;
			else if (s->rule != SC_CAPS)
				want = 0; /* argument rules: checked on their own */
		}
		if (!want)
			continue;
		uint32_t got = abi == SECCOMP_ABI_I386 ? i386(nr, 0) : x64(nr | (abi == SECCOMP_ABI_X32 ? X32 : 0), 0);
		if (got != want) {
			tap_diag("abi %d nr %u: got %#x, want %#x", abi, nr, got, want);
			good = false;
		}
	}
	return good;
}

TAP_SUITE(test_seccomp)
{
	bool built = build(0);
	ok(built, "the program for no capabilities builds (%d instructions)", len);
	ok(len < BPF_MAXINSNS, "within the kernel's limit of %d instructions", BPF_MAXINSNS);
	ok(well_formed(), "every jump stays inside, and it ends with a return");

	/* Architectures */
	is_int(run(AUDIT_ARCH_AARCH64, 63, 0), SECCOMP_RET_KILL_PROCESS, "another architecture is killed");
	is_int(run(AUDIT_ARCH_X86_64 & ~__AUDIT_ARCH_64BIT, 0, 0), SECCOMP_RET_KILL_PROCESS,
	       "a made-up architecture is killed");

	/* x86_64 */
	is_int(x64(SYS_read, 0), ALLOW, "x86_64 read is allowed");
	is_int(x64(SYS_execve, 0), ALLOW, "x86_64 execve is allowed");
	is_int(x64(SYS_acct, 0), ENOSYS_, "acct without CAP_SYS_PACCT gives ENOSYS");
	is_int(x64(SYS_mount, 0), ENOSYS_, "mount without CAP_SYS_ADMIN gives ENOSYS");
	is_int(x64(SYS_unshare, 0), ENOSYS_, "unshare without CAP_SYS_ADMIN gives ENOSYS");
	is_int(x64(SYS_kexec_load, 0), ENOSYS_, "kexec_load is never allowed");
	is_int(x64(SYS_add_key, 0), ENOSYS_, "add_key is not on the list");
	is_int(x64(SYS_reboot, 0), ENOSYS_, "reboot without CAP_SYS_BOOT gives ENOSYS");
	is_int(x64(1000, 0), ENOSYS_, "a number no kernel has gives ENOSYS");
	is_int(x64(0xffffffffu, 0), ENOSYS_, "-1 gives ENOSYS");
	is_int(x64(SYS_clone, SIGCHLD), ALLOW, "clone for a thread or fork is allowed");
	is_int(x64(SYS_clone, CLONE_NEWNS | SIGCHLD), EPERM_, "clone with CLONE_NEWNS is EPERM");
	is_int(x64(SYS_clone, CLONE_NEWUSER), EPERM_, "clone with CLONE_NEWUSER is EPERM");
	is_int(x64(SYS_clone3, 0), ENOSYS_, "clone3 gives ENOSYS, so libcs use clone");
	is_int(x64(SYS_socket, AF_INET), ALLOW, "socket(AF_INET)");
	is_int(x64(SYS_socket, AF_NETLINK), ALLOW, "socket(AF_NETLINK)");
	is_int(x64(SYS_socket, 40 /* AF_VSOCK */), EPERM_, "socket(AF_VSOCK) is EPERM");
	is_int(x64(SYS_socket, 46), EPERM_, "families past 45 are EPERM");
	is_int(x64(SYS_socket, (1ull << 32) | AF_INET), EPERM_, "a socket family with high bits set is EPERM");
	is_int(x64(SYS_personality, 0), ALLOW, "personality(PER_LINUX)");
	is_int(x64(SYS_personality, 0xffffffff), ALLOW, "personality query");
	is_int(x64(SYS_personality, 0x0008), ALLOW, "personality(PER_LINUX32)");
	is_int(x64(SYS_personality, 0x0400000), EPERM_, "personality(READ_IMPLIES_EXEC) is EPERM");
	is_int(x64(SYS_ptrace, 0), ALLOW, "ptrace is allowed (kernels from 4.8)");
	is_int(x64(SYS_arch_prctl, 0), ALLOW, "arch_prctl on x86_64");

	/* The calls the runtime makes after installing it, before exec. */
	static const int runtime_calls[] = {
		SYS_setgroups, SYS_setgid, SYS_setuid, SYS_capset, SYS_capget, SYS_prctl, SYS_close_range,
		SYS_openat2, SYS_openat, SYS_fchdir, SYS_getcwd, SYS_execve, SYS_write, SYS_exit_group,
		SYS_readlinkat, SYS_fstatfs, SYS_newfstatat, SYS_fstat, SYS_close, SYS_fcntl, SYS_rt_sigprocmask,
	};
	bool all = true;
	for (size_t i = 0; i < ARRAY_LEN(runtime_calls); i++)
		all = all && x64((uint32_t)runtime_calls[i], 0) == ALLOW;
	ok(all, "every call the runtime makes between installing it and exec is allowed");

	/* i386 (int 0x80) */
	is_int(i386(3, 0), ALLOW, "i386 read (3)");
	is_int(i386(102, 0), ALLOW, "i386 socketcall (102)");
	is_int(i386(51, 0), ENOSYS_, "i386 acct (51) gives ENOSYS");
	is_int(i386(21, 0), ENOSYS_, "i386 mount (21) gives ENOSYS");
	is_int(i386(120, CLONE_NEWNET), EPERM_, "i386 clone (120) with CLONE_NEWNET is EPERM");
	is_int(i386(359, AF_UNIX), ALLOW, "i386 socket (359)");
	is_int(i386(384, 0), ENOSYS_, "i386 arch_prctl (384) is not allowed, as in Docker's profile");
	is_int(i386(123, 0), ALLOW, "i386 modify_ldt (123)");

	/* x32 */
	is_int(x64(X32 | SYS_read, 0), ALLOW, "x32 read");
	is_int(x64(X32 | 514, 0), ALLOW, "x32 ioctl (514)");
	is_int(x64(X32 | SYS_ioctl, 0), ENOSYS_, "x32 with the 64-bit ioctl number gives ENOSYS");
	is_int(x64(X32 | SYS_mount, 0), ENOSYS_, "x32 mount gives ENOSYS");
	is_int(x64(X32 | SYS_clone, CLONE_NEWPID), EPERM_, "x32 clone with CLONE_NEWPID is EPERM");

	ok(matches_table(SECCOMP_ABI_X86_64, 0), "x86_64 numbers 0-1023 follow the table");
	ok(matches_table(SECCOMP_ABI_I386, 0), "i386 numbers 0-1023 follow the table");
	ok(matches_table(SECCOMP_ABI_X32, 0), "x32 numbers 0-1023 follow the table");

	/* Capabilities widen the list. */
	ok(build(1ull << CAP_SYS_ADMIN), "with CAP_SYS_ADMIN");
	ok(well_formed(), "well formed");
	is_int(x64(SYS_mount, 0), ALLOW, "CAP_SYS_ADMIN: mount");
	is_int(x64(SYS_umount2, 0), ALLOW, "CAP_SYS_ADMIN: umount2");
	is_int(x64(SYS_unshare, 0), ALLOW, "CAP_SYS_ADMIN: unshare");
	is_int(x64(SYS_setns, 0), ALLOW, "CAP_SYS_ADMIN: setns");
	is_int(x64(SYS_clone, CLONE_NEWNS), ALLOW, "CAP_SYS_ADMIN: clone with namespace flags");
	is_int(x64(SYS_clone3, 0), ALLOW, "CAP_SYS_ADMIN: clone3");
	is_int(x64(SYS_syslog, 0), ALLOW, "CAP_SYS_ADMIN: syslog");
	is_int(x64(SYS_acct, 0), ENOSYS_, "CAP_SYS_ADMIN: still no acct");
	is_int(i386(21, 0), ALLOW, "CAP_SYS_ADMIN: i386 mount");
	is_int(run(AUDIT_ARCH_AARCH64, 0, 0), SECCOMP_RET_KILL_PROCESS, "CAP_SYS_ADMIN: other architectures still die");

	ok(build(1ull << CAP_SYSLOG), "with CAP_SYSLOG");
	is_int(x64(SYS_syslog, 0), ALLOW, "CAP_SYSLOG: syslog");
	is_int(x64(SYS_mount, 0), ENOSYS_, "CAP_SYSLOG: no mount");

	ok(build((1ull << CAP_SYS_PACCT) | (1ull << CAP_SYS_BOOT) | (1ull << CAP_SYS_TIME)), "with PACCT, BOOT, TIME");
	is_int(x64(SYS_acct, 0), ALLOW, "acct");
	is_int(x64(SYS_reboot, 0), ALLOW, "reboot");
	is_int(x64(SYS_settimeofday, 0), ALLOW, "settimeofday");
	is_int(i386(25, 0), ALLOW, "i386 stime (25)");

	uint64_t every = (1ull << (CAP_LAST_CAP + 1)) - 1;
	built = build(every);
	ok(built, "with every capability (%d instructions)", len);
	ok(well_formed() && len < BPF_MAXINSNS, "well formed and within the limit");
	ok(matches_table(SECCOMP_ABI_X86_64, every) && matches_table(SECCOMP_ABI_I386, every) &&
	   matches_table(SECCOMP_ABI_X32, every), "every ABI follows the table with every capability");
	is_int(x64(SYS_kexec_load, 0), ENOSYS_, "kexec_load stays off even then");

	/* The table itself */
	const struct seccomp_syscall *s = by_name("clone");
	ok(s && s->nr[SECCOMP_ABI_X86_64] == SYS_clone && s->nr[SECCOMP_ABI_I386] == 120, "clone's numbers");
	s = by_name("readv");
	ok(s && s->nr[SECCOMP_ABI_X86_64] == SYS_readv && s->nr[SECCOMP_ABI_X32] == 515, "readv has its own x32 number");
	ok(by_name("kexec_load") == NULL && by_name("add_key") == NULL && by_name("keyctl") == NULL,
	   "keyrings and kexec are not on the list");
	ok(len < 0 || seccomp_default_program(0, prog, 10) < 0, "a program that does not fit is refused");
}

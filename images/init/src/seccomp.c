#include "seccomp.h"

#include <errno.h>
#include <linux/audit.h>
#include <linux/capability.h>
#include <linux/seccomp.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define X32_BIT 0x40000000u
#define CLONE_NS_FLAGS 0x7E020000u /* NEWNS|NEWCGROUP|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET */
#define RET_ALLOW SECCOMP_RET_ALLOW
#define RET_ENOSYS (SECCOMP_RET_ERRNO | ENOSYS)
#define RET_EPERM (SECCOMP_RET_ERRNO | EPERM)
#define RET_KILL SECCOMP_RET_KILL_PROCESS

#define OFF_NR offsetof(struct seccomp_data, nr)
#define OFF_ARCH offsetof(struct seccomp_data, arch)
#define OFF_ARG0_LO offsetof(struct seccomp_data, args[0])
#define OFF_ARG0_HI (offsetof(struct seccomp_data, args[0]) + 4) /* little-endian */

struct prog {
	struct sock_filter *insn;
	size_t len, max;
	bool full;
};

static size_t emit(struct prog *p, uint16_t code, uint32_t k, uint8_t jt, uint8_t jf)
{
	if (p->len == p->max) {
		p->full = true;
		return p->len;
	}
	p->insn[p->len] = (struct sock_filter){ code, jt, jf, k };
	return p->len++;
}

#define LD(p, off) emit(p, BPF_LD | BPF_W | BPF_ABS, (uint32_t)(off), 0, 0)
#define RET(p, v) emit(p, BPF_RET | BPF_K, v, 0, 0)
#define JEQ(p, k, t, f) emit(p, BPF_JMP | BPF_JEQ | BPF_K, k, t, f)
#define JGE(p, k, t, f) emit(p, BPF_JMP | BPF_JGE | BPF_K, k, t, f)
#define JGT(p, k, t, f) emit(p, BPF_JMP | BPF_JGT | BPF_K, k, t, f)
#define JSET(p, k, t, f) emit(p, BPF_JMP | BPF_JSET | BPF_K, k, t, f)
/* An unconditional jump, patched once the target is known. */
#define JA(p) emit(p, BPF_JMP | BPF_JA, 0, 0, 0)

static void patch_ja(struct prog *p, size_t at)
{
	if (!p->full)
		p->insn[at].k = (uint32_t)(p->len - at - 1);
}

static bool has_cap(uint64_t caps, uint8_t cap)
{
	return cap != SC_NO_CAP && (caps & (UINT64_C(1) << cap));
}

/* SC_ALWAYS, or a capability rule the bounding set meets, or a rule that
 * CAP_SYS_ADMIN lifts. */
static bool allowed_outright(const struct seccomp_syscall *s, uint64_t caps)
{
	switch (s->rule) {
	case SC_ALWAYS:
		return true;
	case SC_CAPS:
		return has_cap(caps, s->cap1) || has_cap(caps, s->cap2);
	case SC_CLONE:
		return has_cap(caps, CAP_SYS_ADMIN);
	default:
		return false;
	}
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

/* The argument rules: each is a block that returns. */
static void clone_rule(struct prog *p)
{
	LD(p, OFF_ARG0_LO);
	JSET(p, CLONE_NS_FLAGS, 0, 1);
	RET(p, RET_EPERM);
	RET(p, RET_ALLOW);
}

static void socket_rule(struct prog *p)
{
	/* Families 0-45 except DECnet, Econet, ATM SVC, IrDA, WAN pipe, ISDN,
	 * CAIF, ALG and VSOCK. */
	static const uint32_t refused[] = { 12, 19, 20, 23, 25, 34, 37, 38, 40 };
	const uint8_t n = ARRAY_LEN(refused);
	LD(p, OFF_ARG0_HI);
	JEQ(p, 0, 1, 0);
	RET(p, RET_EPERM);
	LD(p, OFF_ARG0_LO);
	JGE(p, 46, (uint8_t)(n + 1), 0);
	for (uint8_t i = 0; i < n; i++)
		JEQ(p, refused[i], (uint8_t)(n - i), 0);
	RET(p, RET_ALLOW);
	RET(p, RET_EPERM);
}

static void personality_rule(struct prog *p)
{
	/* PER_LINUX, PER_LINUX32, UNAME26 with either, and the query 0xffffffff. */
	static const uint32_t ok[] = { 0x0, 0x8, 0x20000, 0x20008, 0xffffffff };
	const uint8_t n = ARRAY_LEN(ok);
	LD(p, OFF_ARG0_LO);
	for (uint8_t i = 0; i < n; i++)
		JEQ(p, ok[i], (uint8_t)(n - i), 0);
	RET(p, RET_EPERM);
	RET(p, RET_ALLOW);
}

/* One ABI's section: the accumulator holds the syscall number. Argument
 * rules first, then the allowed numbers as sorted ranges, each tested with
 * short jumps only (classic BPF jumps reach 255 instructions). */
static void abi_section(struct prog *p, enum seccomp_abi abi, uint64_t caps)
{
	uint32_t base = abi == SECCOMP_ABI_X32 ? X32_BIT : 0;
	uint32_t nrs[512];
	size_t n = 0;

	for (size_t i = 0; i < seccomp_nsyscalls; i++) {
		const struct seccomp_syscall *s = &seccomp_syscalls[i];
		if (s->nr[abi] == SC_NO_NR)
			continue;
		uint32_t nr = base + s->nr[abi];
		if (allowed_outright(s, caps)) {
			if (n < ARRAY_LEN(nrs))
				nrs[n++] = nr;
			else
				p->full = true;
			continue;
		}
		void (*rule)(struct prog *) = s->rule == SC_CLONE ? clone_rule :
					      s->rule == SC_SOCKET ? socket_rule :
					      s->rule == SC_PERSONALITY ? personality_rule : NULL;
		if (!rule)
			continue;
		/* Reload the number after a block: its loads replace it. */
		size_t at = JEQ(p, nr, 0, 0);
		rule(p);
		if (!p->full)
			p->insn[at].jf = (uint8_t)(p->len - at - 1);
		LD(p, OFF_NR);
	}

	qsort(nrs, n, sizeof(nrs[0]), cmp_u32);
	for (size_t i = 0; i < n;) {
		size_t j = i;
		while (j + 1 < n && nrs[j + 1] <= nrs[j] + 1)
			j++;
		JGE(p, nrs[i], 1, 0);
		RET(p, RET_ENOSYS);
		JGT(p, nrs[j], 1, 0);
		RET(p, RET_ALLOW);
		i = j + 1;
	}
	RET(p, RET_ENOSYS);
}

int seccomp_default_program(uint64_t caps, struct sock_filter *out, size_t max)
{
	struct prog p = { .insn = out, .max = max };

	LD(&p, OFF_ARCH);
	JEQ(&p, AUDIT_ARCH_X86_64, 0, 1);
	size_t to_x86_64 = JA(&p);
	JEQ(&p, AUDIT_ARCH_I386, 0, 1);
	size_t to_i386 = JA(&p);
	RET(&p, RET_KILL);

	patch_ja(&p, to_x86_64);
	LD(&p, OFF_NR);
	JSET(&p, X32_BIT, 0, 1);
	size_t to_x32 = JA(&p);
	abi_section(&p, SECCOMP_ABI_X86_64, caps);

	patch_ja(&p, to_x32);
	abi_section(&p, SECCOMP_ABI_X32, caps);

	patch_ja(&p, to_i386);
	LD(&p, OFF_NR);
	abi_section(&p, SECCOMP_ABI_I386, caps);

	return p.full ? -1 : (int)p.len;
}

int seccomp_install(const struct sock_filter *prog, size_t len, err_t *e)
{
	struct sock_fprog fprog = { .len = (unsigned short)len, .filter = (struct sock_filter *)prog };
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &fprog) < 0)
		return err_sys(e, "install the seccomp filter");
	return 0;
}

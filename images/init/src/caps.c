#include "caps.h"

#include <linux/capability.h>
#include <stdio.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

/* In the kernel's order: the index is the capability's number. */
static const char *const names[CAPS_KNOWN] = {
	"CAP_CHOWN",          "CAP_DAC_OVERRIDE",   "CAP_DAC_READ_SEARCH",
	"CAP_FOWNER",         "CAP_FSETID",         "CAP_KILL",
	"CAP_SETGID",         "CAP_SETUID",         "CAP_SETPCAP",
	"CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST",
	"CAP_NET_ADMIN",      "CAP_NET_RAW",        "CAP_IPC_LOCK",
	"CAP_IPC_OWNER",      "CAP_SYS_MODULE",     "CAP_SYS_RAWIO",
	"CAP_SYS_CHROOT",     "CAP_SYS_PTRACE",     "CAP_SYS_PACCT",
	"CAP_SYS_ADMIN",      "CAP_SYS_BOOT",       "CAP_SYS_NICE",
	"CAP_SYS_RESOURCE",   "CAP_SYS_TIME",       "CAP_SYS_TTY_CONFIG",
	"CAP_MKNOD",          "CAP_LEASE",          "CAP_AUDIT_WRITE",
	"CAP_AUDIT_CONTROL",  "CAP_SETFCAP",        "CAP_MAC_OVERRIDE",
	"CAP_MAC_ADMIN",      "CAP_SYSLOG",         "CAP_WAKE_ALARM",
	"CAP_BLOCK_SUSPEND",  "CAP_AUDIT_READ",     "CAP_PERFMON",
	"CAP_BPF",            "CAP_CHECKPOINT_RESTORE",
};

int caps_from_name(const char *name)
{
	for (int i = 0; i < CAPS_KNOWN; i++)
		if (strcasecmp(name, names[i]) == 0)
			return i;
	return -1;
}

const char *caps_name(int cap)
{
	return cap >= 0 && cap < CAPS_KNOWN ? names[cap] : NULL;
}

/* The capabilities the running kernel has; a spec may name newer ones. */
static uint64_t kernel_caps(void)
{
	int last = 0;
	while (last < 63 && prctl(PR_CAPBSET_READ, last + 1, 0, 0, 0) >= 0)
		last++;
	return last == 63 ? ~UINT64_C(0) : CAP_BIT(last + 1) - 1;
}

int caps_before_identity(const struct caps *c, err_t *e)
{
	uint64_t have = kernel_caps();
	for (int cap = 0; cap < 64 && (have & CAP_BIT(cap)); cap++) {
		if ((c->bounding & CAP_BIT(cap)) || prctl(PR_CAPBSET_READ, cap, 0, 0, 0) == 0)
			continue;
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0)
			return err_sys(e, "drop %s from the bounding set", caps_name(cap) ? caps_name(cap) : "a capability");
	}
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
		return err_sys(e, "prctl(PR_SET_KEEPCAPS)");
	return 0;
}

int caps_after_identity(const struct caps *c, err_t *e)
{
	uint64_t have = kernel_caps();
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct data[2];
	uint64_t eff = c->effective & have, perm = c->permitted & have, inh = c->inheritable & have;
	for (int i = 0; i < 2; i++) {
		data[i].effective = (uint32_t)(eff >> (32 * i));
		data[i].permitted = (uint32_t)(perm >> (32 * i));
		data[i].inheritable = (uint32_t)(inh >> (32 * i));
	}
	if (syscall(SYS_capset, &hdr, data) < 0)
		return err_sys(e, "capset");
	if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
		return err_sys(e, "prctl(PR_SET_KEEPCAPS)");
	/* Kernels before 4.3 have no ambient set; then there is nothing to clear. */
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && !c->ambient)
		return 0;
	for (int cap = 0; cap < 64; cap++) {
		if (!(c->ambient & have & CAP_BIT(cap)))
			continue;
		if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) < 0)
			return err_sys(e, "raise ambient %s (it must be permitted and inheritable too)",
				       caps_name(cap) ? caps_name(cap) : "capability");
	}
	return 0;
}

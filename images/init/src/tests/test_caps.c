#include <linux/capability.h>

#include "../caps.h"
#include "../common/tests/tap.h"

TAP_SUITE(test_caps)
{
	is_int(caps_from_name("CAP_CHOWN"), CAP_CHOWN, "CAP_CHOWN is 0");
	is_int(caps_from_name("CAP_NET_ADMIN"), CAP_NET_ADMIN, "CAP_NET_ADMIN is 12");
	is_int(caps_from_name("cap_sys_admin"), CAP_SYS_ADMIN, "names are matched without case");
	is_int(caps_from_name("CAP_CHECKPOINT_RESTORE"), 40, "the newest, CAP_CHECKPOINT_RESTORE, is 40");
	is_int(caps_from_name("CAP_BPF"), 39, "CAP_BPF is 39");
	is_int(caps_from_name("CAP_NOPE"), -1, "an unknown name is -1");
	is_int(caps_from_name("NET_ADMIN"), -1, "the CAP_ prefix is required");
	is_int(caps_from_name(""), -1, "an empty name is unknown");

	/* The table is in the kernel's order: name -> number -> name. */
	bool round_trip = true;
	for (int i = 0; i < CAPS_KNOWN; i++)
		round_trip = round_trip && caps_name(i) && caps_from_name(caps_name(i)) == i;
	ok(round_trip, "every number's name maps back to it");
	ok(caps_name(CAPS_KNOWN) == NULL && caps_name(-1) == NULL, "no names out of range");
	is_int(CAPS_KNOWN - 1, CAP_LAST_CAP, "the table ends where these kernel headers do");
	is_str(caps_name(CAP_SYS_PTRACE), "CAP_SYS_PTRACE", "19 is CAP_SYS_PTRACE");
	is_str(caps_name(CAP_AUDIT_READ), "CAP_AUDIT_READ", "37 is CAP_AUDIT_READ");
}

#include "../options.h"
#include "../common/tests/tap.h"

#define PARSE(...) \
	options_parse((int)(sizeof((char *const[]){ "mountie", __VA_ARGS__ }) / sizeof(char *)), \
		      (char *const[]){ "mountie", __VA_ARGS__, NULL }, &o, &e)

TAP_SUITE(test_mountie_options)
{
	struct options o;
	err_t e;
	ok(PARSE("/var/external") == 0, "a mount point alone");
	ok(!o.device && !o.label && !o.uuid, "no device, label or UUID: mountie picks");
	is_str(o.mountpoint, "/var/external", "the mount point");
	is_int(o.timeout_ms, DEFAULT_TIMEOUT_MS, "the default timeout");

	ok(PARSE("/dev/vdb1", "/var/lib/data") == 0, "DEVICE MOUNTPOINT");
	is_str(o.device, "/dev/vdb1", "the device argument");
	is_str(o.mountpoint, "/var/lib/data", "and the mount point");

	ok(PARSE("-label", "DATA", "/var/lib/data") == 0, "-label");
	is_str(o.label, "DATA", "the label");
	ok(PARSE("--uuid=0b8e4a4e-0000-4000-8000-000000000001", "/m") == 0, "--uuid=");
	is_str(o.uuid, "0b8e4a4e-0000-4000-8000-000000000001", "the UUID");
	ok(PARSE("-device", "/dev/vdc", "/m") == 0, "-device");
	is_str(o.device, "/dev/vdc", "the device flag");
	ok(PARSE("-device", "/dev/vdc", "/dev/vdd", "/m") == 0, "a device argument with -device");
	is_str(o.device, "/dev/vdd", "the argument wins, as in LinuxKit");
	ok(PARSE("-label", "", "/m") == 0 && o.label == NULL, "an empty -label is no label");

	ok(PARSE("-timeout", "3", "/m") == 0, "-timeout");
	is_int(o.timeout_ms, 3000, "in seconds");
	is_int(PARSE("-timeout", "soon", "/m"), -1, "a timeout that is not a number");
	is_int(PARSE("-timeout", "-1", "/m"), -1, "a negative timeout");

	is_int(PARSE("-label", "DATA"), -1, "no mount point");
	ok(strstr(e.msg, "no mount point") != NULL, "says so: %s", e.msg);
	is_int(PARSE("a", "b", "c"), -1, "three arguments");
	is_int(PARSE("data"), -1, "a relative mount point");
	is_int(PARSE("-label", "A", "-uuid", "B", "/m"), -1, "a label and a UUID");
	is_int(PARSE("-label", "A", "/dev/vda1", "/m"), -1, "a label and a device");
	is_int(PARSE("-type", "ext4", "/m"), -1, "an unknown flag");
	ok(strstr(e.msg, "flag provided but not defined: -type") != NULL, "as Go says it: %s", e.msg);
	is_int(PARSE("-h"), OPTIONS_HELP, "-h");
}

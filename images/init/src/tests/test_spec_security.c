/* config.json's security and resource settings: capabilities, rlimits,
 * sysctl rules, masked and read-only paths, devices, annotations. */
#include <linux/capability.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "../spec.h"
#include "../common/tests/tap.h"

/* A config whose process and linux members get the given extra text. */
static int parse(struct spec *s, const char *process_extra, const char *linux_extra, const char *top_extra,
		 err_t *e)
{
	char text[4096];
	snprintf(text, sizeof(text),
		 "{\"process\":{\"args\":[\"sh\"]%s%s},\"linux\":{\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"mount\"}]%s%s}%s%s}",
		 *process_extra ? "," : "", process_extra, *linux_extra ? "," : "", linux_extra, *top_extra ? "," : "",
		 top_extra);
	e->msg[0] = '\0';
	return spec_parse(s, text, strlen(text), e);
}

static bool refused(const char *process_extra, const char *linux_extra, const char *top_extra, const char *want)
{
	struct spec s;
	err_t e;
	int r = parse(&s, process_extra, linux_extra, top_extra, &e);
	spec_free(&s);
	if (r == 0 || !strstr(e.msg, want)) {
		tap_diag("message \"%s\" lacks \"%s\"", e.msg, want);
		return false;
	}
	return true;
}

static void capabilities(void)
{
	struct spec s;
	err_t e;
	ok(parse(&s, "", "", "", &e) == 0, "no capabilities member parses");
	ok(!s.caps.bounding && !s.caps.effective && !s.caps.permitted && !s.caps.inheritable && !s.caps.ambient,
	   "absent means none at all, as LinuxKit");
	spec_free(&s);
	ok(parse(&s, "\"capabilities\":{}", "", "", &e) == 0 && !s.caps.bounding, "{} means none");
	spec_free(&s);
	ok(parse(&s,
		 "\"capabilities\":{\"bounding\":[\"CAP_NET_ADMIN\",\"CAP_SYS_TIME\"],\"effective\":[\"CAP_NET_ADMIN\"],"
		 "\"inheritable\":[\"CAP_NET_ADMIN\",\"CAP_SYS_TIME\"],\"permitted\":[\"CAP_NET_ADMIN\",\"CAP_SYS_TIME\"],"
		 "\"ambient\":[\"CAP_SYS_TIME\"]}",
		 "", "", &e) == 0,
	   "LinuxKit's five sets parse");
	uint64_t both = (1ull << CAP_NET_ADMIN) | (1ull << CAP_SYS_TIME);
	ok(s.caps.bounding == both && s.caps.permitted == both && s.caps.inheritable == both, "bounding, permitted, inheritable");
	ok(s.caps.effective == (1ull << CAP_NET_ADMIN) && s.caps.ambient == (1ull << CAP_SYS_TIME), "effective, ambient");
	spec_free(&s);
	ok(refused("\"capabilities\":{\"bounding\":[\"CAP_KILL\",\"CAP_FLY\"]}", "", "",
		   "process.capabilities.bounding[1]: unknown capability \"CAP_FLY\""),
	   "an unknown name is refused, with where it is");
	ok(refused("\"capabilities\":{\"ambient\":[7]}", "", "", "process.capabilities.ambient[0]: unknown capability"),
	   "a number is not a name");
	ok(refused("\"capabilities\":{\"effective\":\"CAP_KILL\"}", "", "", "must be an array"), "a set must be a list");
}

static void process_settings(void)
{
	struct spec s;
	err_t e;
	int r = parse(&s,
		 "\"rlimits\":[{\"type\":\"RLIMIT_NOFILE\",\"hard\":18446744073709551615,\"soft\":1024},"
		 "{\"type\":\"RLIMIT_NPROC\",\"hard\":200,\"soft\":100},{\"type\":\"RLIMIT_CORE\",\"hard\":0,\"soft\":0}],"
		 "\"noNewPrivileges\":true,\"oomScoreAdj\":-500",
		 "", "", &e);
	ok(r == 0,
	   "rlimits, noNewPrivileges and oomScoreAdj parse%s%s", e.msg[0] ? ": " : "", e.msg);
	is_int(s.nrlimits, 3, "three rlimits");
	ok(s.rlimits[0].resource == RLIMIT_NOFILE && s.rlimits[0].soft == 1024 && s.rlimits[0].hard == UINT64_MAX,
	   "2^64-1 is unlimited");
	ok(s.rlimits[1].resource == RLIMIT_NPROC && s.rlimits[1].soft == 100 && s.rlimits[1].hard == 200, "nproc");
	ok(s.rlimits[2].resource == RLIMIT_CORE && s.rlimits[2].hard == 0, "a zero limit");
	ok(s.no_new_privs, "noNewPrivileges");
	ok(s.has_oom_score_adj && s.oom_score_adj == -500, "oomScoreAdj");
	spec_free(&s);
	ok(parse(&s, "\"oomScoreAdj\":0", "", "", &e) == 0 && s.has_oom_score_adj && !s.no_new_privs,
	   "oomScoreAdj 0 is still set");
	spec_free(&s);
	is_int(spec_rlimit_from_name("RLIMIT_MEMLOCK"), RLIMIT_MEMLOCK, "RLIMIT_MEMLOCK by name");
	is_int(spec_rlimit_from_name("NOFILE"), -1, "the RLIMIT_ prefix is required");
	ok(refused("\"rlimits\":[{\"type\":\"RLIMIT_BOGUS\",\"hard\":1,\"soft\":1}]", "", "", "unknown type \"RLIMIT_BOGUS\""),
	   "an unknown rlimit is refused");
	ok(refused("\"rlimits\":[{\"type\":\"RLIMIT_CORE\",\"hard\":1,\"soft\":2}]", "", "", "soft limit above the hard"),
	   "soft above hard is refused");
	ok(refused("\"rlimits\":[{\"type\":\"RLIMIT_CORE\",\"hard\":1,\"soft\":1},{\"type\":\"RLIMIT_CORE\",\"hard\":1,\"soft\":1}]",
		   "", "", "listed twice"),
	   "a type listed twice is refused");
	ok(refused("\"rlimits\":[{\"type\":\"RLIMIT_CORE\",\"hard\":-1,\"soft\":1}]", "", "", "numbers from 0"),
	   "a negative limit is refused");
	ok(refused("\"rlimits\":[{\"type\":\"RLIMIT_CORE\",\"soft\":1}]", "", "", "numbers from 0"), "hard is required");
	ok(refused("\"oomScoreAdj\":1001", "", "", "oomScoreAdj"), "oomScoreAdj above 1000 is refused");
	ok(refused("\"oomScoreAdj\":1.5", "", "", "oomScoreAdj"), "a fractional oomScoreAdj is refused");
}

static void sysctl_rules(void)
{
	err_t e;
	ok(spec_sysctl_check("net.ipv4.ip_forward", CLONE_NEWNET, &e) == 0, "net.* with a network namespace");
	ok(spec_sysctl_check("net.ipv4.ip_forward", 0, &e) < 0 && strstr(e.msg, "network namespace"),
	   "net.* without one is refused");
	ok(spec_sysctl_check("net.ipv4.conf.eth0/100.forwarding", CLONE_NEWNET, &e) == 0, "a vlan interface name");
	ok(spec_sysctl_check("net/ipv4/ip_forward", CLONE_NEWNET, &e) == 0, "the slash spelling");
	ok(spec_sysctl_check("kernel.shm_rmid_forced", CLONE_NEWIPC, &e) == 0, "kernel.shm_rmid_forced with ipc");
	ok(spec_sysctl_check("kernel.shm_rmid_forced", CLONE_NEWNET, &e) < 0 && strstr(e.msg, "ipc namespace"),
	   "kernel.shm_rmid_forced without ipc is refused");
	ok(spec_sysctl_check("kernel.msgmax", CLONE_NEWIPC, &e) == 0 && spec_sysctl_check("kernel.sem", CLONE_NEWIPC, &e) == 0,
	   "kernel.msgmax and kernel.sem are ipc");
	ok(spec_sysctl_check("fs.mqueue.msg_max", CLONE_NEWIPC, &e) == 0, "fs.mqueue.* is ipc");
	ok(spec_sysctl_check("fs.mqueue.msg_max", 0, &e) < 0, "fs.mqueue.* without ipc is refused");
	ok(spec_sysctl_check("kernel.domainname", CLONE_NEWUTS, &e) == 0, "kernel.domainname with uts");
	ok(spec_sysctl_check("kernel.hostname", 0, &e) < 0, "kernel.hostname without uts is refused");
	int every = CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWCGROUP;
	ok(spec_sysctl_check("vm.swappiness", every, &e) < 0 && strstr(e.msg, "not namespaced"), "vm.* is never allowed");
	ok(spec_sysctl_check("kernel.shmall2", every, &e) < 0, "only the exact kernel.shm* names count");
	ok(spec_sysctl_check("kernel.panic", every, &e) < 0, "kernel.panic is refused");
	ok(spec_sysctl_check("netfilter.x", every, &e) < 0, "netfilter.x is not net.*");
	static const char *const bad[] = { "net..x", "net.ipv4/../../x", "net.a b", ".net.x", "net.x.", "", "net./x" };
	bool all_bad = true;
	for (size_t i = 0; i < ARRAY_LEN(bad); i++)
		all_bad = all_bad && spec_sysctl_check(bad[i], every, &e) < 0;
	ok(all_bad, "malformed names (.., spaces, empty parts) are refused");

	struct spec s;
	ok(parse(&s, "", "\"sysctl\":{\"kernel.shm_rmid_forced\":\"1\"}", "", &e) < 0 && strstr(e.msg, "linux.sysctl"),
	   "config.json: an ipc sysctl without an ipc namespace is refused before anything runs");
	spec_free(&s);
	const char *nsnet = "\"namespaces\":[{\"type\":\"network\",\"path\":\"/run/netns/x\"}],";
	char top[256];
	snprintf(top, sizeof(top), "\"process\":{\"args\":[\"sh\"]},\"linux\":{%s\"sysctl\":{\"net.core.somaxconn\":\"1024\"}}", nsnet);
	char text[512];
	snprintf(text, sizeof(text), "{%s}", top);
	ok(spec_parse(&s, text, strlen(text), &e) == 0 && s.nsysctl == 1 && !strcmp(s.sysctl[0].value, "1024"),
	   "a joined network namespace counts for net.*");
	spec_free(&s);
	ok(refused("", "\"sysctl\":{\"net.x\":1}", "", "must be a string"), "a sysctl value must be a string");
}

static void paths_devices_annotations(void)
{
	struct spec s;
	err_t e;
	int r = parse(&s, "",
		 "\"maskedPaths\":[\"/proc/kcore\",\"/proc/keys\"],\"readonlyPaths\":[\"/proc/sys\"],"
		 "\"rootfsPropagation\":\"rslave\",\"cgroupsPath\":\"/keel/svc\","
		 "\"devices\":[{\"path\":\"/dev/console\",\"type\":\"c\",\"major\":5,\"minor\":1,\"fileMode\":438},"
		 "{\"path\":\"/dev/fifo\",\"type\":\"p\",\"uid\":7,\"gid\":8}],\"resources\":{\"pids\":{\"limit\":5}}",
		 "\"annotations\":{\"dev.keel.seccomp\":\"unconfined\",\"other\":\"x\"}", &e);
	ok(r == 0,
	   "linux paths, devices and annotations parse%s%s", e.msg[0] ? ": " : "", e.msg);
	ok(s.nmasked == 2 && !strcmp(s.masked_paths[1], "/proc/keys"), "maskedPaths");
	ok(s.nreadonly == 1 && !strcmp(s.readonly_paths[0], "/proc/sys"), "readonlyPaths");
	is_int(s.rootfs_propagation, MS_SLAVE | MS_REC, "rslave is recursive slave");
	is_str(s.cgroups_path, "/keel/svc", "cgroupsPath");
	ok(s.resources && json_get(s.resources, "pids"), "resources are kept for the cgroup plan");
	ok(s.ndevices == 2 && s.devices[0].type == S_IFCHR && s.devices[0].major == 5 && s.devices[0].minor == 1 &&
	   s.devices[0].mode == 0666, "a char device");
	ok(s.devices[1].type == S_IFIFO && s.devices[1].uid == 7 && s.devices[1].gid == 8 && s.devices[1].mode == 0666,
	   "a fifo needs no numbers; mode defaults to 0666");
	ok(s.seccomp_unconfined, SPEC_SECCOMP_ANNOTATION "=unconfined turns seccomp off");
	spec_free(&s);
	ok(parse(&s, "", "\"rootfsPropagation\":\"shared\"", "\"annotations\":{\"dev.keel.seccomp\":\"default\"}", &e) == 0 &&
	   s.rootfs_propagation == MS_SHARED && !s.seccomp_unconfined, "shared; seccomp default");
	spec_free(&s);
	ok(refused("", "", "\"annotations\":{\"dev.keel.seccomp\":\"off\"}", "is not \"default\" or \"unconfined\""),
	   "an unknown seccomp annotation is refused");
	ok(refused("", "\"maskedPaths\":[\"proc/kcore\"]", "", "not a clean absolute path"), "a relative masked path is refused");
	ok(refused("", "\"readonlyPaths\":[\"/proc/../etc\"]", "", "not a clean absolute path"), "a readonly path with .. is refused");
	ok(refused("", "\"rootfsPropagation\":\"sideways\"", "", "rootfsPropagation"), "an unknown propagation is refused");
	ok(refused("", "\"devices\":[{\"path\":\"/dev/x\",\"type\":\"q\",\"major\":1,\"minor\":1}]", "", "type \"q\""),
	   "an unknown device type is refused");
	ok(refused("", "\"devices\":[{\"path\":\"/dev/x\",\"type\":\"c\",\"minor\":1}]", "", "major is required"),
	   "a char device needs its major");
	ok(refused("", "\"devices\":[{\"path\":\"/dev/../x\",\"type\":\"c\",\"major\":1,\"minor\":1}]", "", "clean absolute"),
	   "a device path with .. is refused");
	ok(refused("", "\"devices\":[{\"path\":\"/dev/x\",\"type\":\"c\",\"major\":1,\"minor\":1,\"fileMode\":4294967295}]", "",
		   "more than permission bits"),
	   "a file mode with type bits is refused");
	ok(refused("", "\"cgroupsPath\":\"/a/../b\"", "", "cgroupsPath"), "cgroupsPath with .. is refused");
}

static void runtime_json(void)
{
	struct runtime_extra r;
	err_t e;
	const char *text =
		"{\"interfaces\":[{\"name\":\"eth1\",\"add\":\"veth\",\"peer\":\"veth-svc\",\"createInRoot\":true},"
		"{\"name\":\"eth2\",\"createInRoot\":false},{\"name\":\"v0\",\"peer\":\"v0p\"},{\"name\":\"d0\",\"add\":\"dummy\"}],"
		"\"bindNS\":{\"cgroup\":\"\",\"ipc\":\"\",\"mnt\":\"\",\"net\":\"/run/netns/svc\",\"pid\":\"/run/pidns/svc\","
		"\"user\":\"\",\"uts\":\"\"},\"namespace\":\"\"}";
	ok(runtime_extra_parse(&r, text, strlen(text), &e) == 0, "LinuxKit's interfaces and bindNS parse");
	is_int(r.nifaces, 4, "four interfaces");
	ok(!strcmp(r.ifaces[0].add, "veth") && !strcmp(r.ifaces[0].peer, "veth-svc") && r.ifaces[0].create_in_root,
	   "a veth pair");
	ok(r.ifaces[1].add == NULL && r.ifaces[1].peer == NULL, "an existing interface to move");
	ok(r.ifaces[2].add && !strcmp(r.ifaces[2].add, "veth"), "a peer alone means veth, as LinuxKit");
	ok(!strcmp(r.ifaces[3].add, "dummy") && !r.ifaces[3].create_in_root, "another kind");
	is_str(r.bind_ns[3], "/run/netns/svc", "bindNS.net");
	is_str(r.bind_ns[4], "/run/pidns/svc", "bindNS.pid");
	ok(!r.bind_ns[0] && !r.bind_ns[6], "empty bindNS entries ask for nothing");
	is_str(r.ignored, "", "nothing ignored");
	runtime_extra_free(&r);

	static const char *const bad[] = {
		"{\"interfaces\":[{\"add\":\"veth\",\"peer\":\"p\"}]}",
		"{\"interfaces\":[{\"name\":\"v\",\"add\":\"veth\"}]}",
		"{\"interfaces\":[{\"name\":\"a-very-long-interface-name\"}]}",
		"{\"interfaces\":[{\"name\":\"../x\"}]}",
		"{\"bindNS\":{\"net\":\"run/netns/x\"}}",
		"{\"bindNS\":{\"net\":\"/run/../x\"}}",
	};
	static const char *const why[] = {
		"a nameless interface", "a veth without a peer", "a name over 15 bytes", "a name with a slash",
		"a relative bindNS path", "a bindNS path with ..",
	};
	for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
		ok(runtime_extra_parse(&r, bad[i], strlen(bad[i]), &e) < 0, "refused: %s", why[i]);
		runtime_extra_free(&r);
	}
}

TAP_SUITE(test_spec_security)
{
	capabilities();
	process_settings();
	sysctl_rules();
	paths_devices_annotations();
	runtime_json();
}

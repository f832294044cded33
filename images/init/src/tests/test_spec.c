#include <sched.h>
#include <stdlib.h>
#include <sys/mount.h>

#include "../mounts.h"
#include "../spec.h"
#include "../common/tests/tap.h"

static const char full[] =
	"{\"ociVersion\":\"1.0.2\",\n"
	" \"process\":{\"terminal\":false,\"user\":{\"uid\":1000,\"gid\":100,\"additionalGids\":[10,20]},\n"
	"   \"args\":[\"/bin/sh\",\"-c\",\"echo hi\"],\n"
	"   \"env\":[\"PATH=/bin\",\"FOO=bar\",\"FOO=baz\"],\n"
	"   \"cwd\":\"/work\",\"capabilities\":{\"bounding\":[\"CAP_KILL\"]},\"noNewPrivileges\":true},\n"
	" \"root\":{\"path\":\"fs\",\"readonly\":true},\n"
	" \"hostname\":\"box\",\n"
	" \"mounts\":[{\"destination\":\"/proc\",\"type\":\"proc\",\"source\":\"proc\"},\n"
	"   {\"destination\":\"/dev\",\"type\":\"tmpfs\",\"source\":\"tmpfs\",\n"
	"    \"options\":[\"nosuid\",\"strictatime\",\"mode=755\",\"size=65536k\"]},\n"
	"   {\"destination\":\"/data/\",\"type\":\"bind\",\"source\":\"/var/data\",\"options\":[\"rbind\",\"ro\"]}],\n"
	" \"linux\":{\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"mount\"},{\"type\":\"uts\"},{\"type\":\"ipc\"},\n"
	"   {\"type\":\"network\",\"path\":\"/run/netns/x\"},{\"type\":\"cgroup\",\"path\":\"\"}],\n"
	"   \"resources\":{}},\n"
	" \"annotations\":{\"x\":\"y\"}}";

static bool spec_refused(const char *text, const char *want_in_msg)
{
	struct spec s;
	err_t e = { "" };
	int r = spec_parse(&s, text, strlen(text), &e);
	spec_free(&s);
	if (r == 0)
		return false;
	if (!strstr(e.msg, want_in_msg)) {
		tap_diag("message \"%s\" lacks \"%s\"", e.msg, want_in_msg);
		return false;
	}
	return true;
}

static void config(void)
{
	struct spec s;
	err_t e;
	int r = spec_parse(&s, full, sizeof(full) - 1, &e);
	ok(r == 0, "full config parses%s%s", r ? ": " : "", r ? e.msg : "");
	if (r == 0) {
		ok(s.args[0] && s.args[2] && !strcmp(s.args[2], "echo hi") && s.args[3] == NULL,
		   "args, NULL-terminated");
		ok(s.env[0] && s.env[3] == NULL, "env, NULL-terminated");
		is_str(spec_getenv(&s, "FOO"), "baz", "getenv: the last definition wins");
		is_str(spec_getenv(&s, "PATH"), "/bin", "getenv PATH");
		ok(spec_getenv(&s, "FO") == NULL, "getenv matches whole names");
		is_str(s.cwd, "/work", "cwd");
		is_int(s.uid, 1000, "uid");
		is_int(s.gid, 100, "gid");
		ok(s.ngids == 2 && s.gids[0] == 10 && s.gids[1] == 20, "additionalGids");
		is_str(s.root_path, "fs", "root.path");
		ok(s.root_readonly, "root.readonly");
		is_str(s.hostname, "box", "hostname");
		is_int(s.nmounts, 3, "three mounts");
		is_str(s.mounts[2].destination, "/data/", "mount destination kept as written");
		ok(s.mounts[1].noptions == 4 && !strcmp(s.mounts[1].options[3], "size=65536k"), "mount options");
		is_int(s.clone_flags, CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWCGROUP,
		       "namespaces without a path are new (an empty path counts as none)");
		ok(s.nns == 6 && s.ns[4].flag == CLONE_NEWNET && !strcmp(s.ns[4].path, "/run/netns/x"),
		   "a namespace with a path is joined");
	}
	spec_free(&s);

	const char *min = "{\"process\":{\"args\":[\"sh\"]}}";
	r = spec_parse(&s, min, strlen(min), &e);
	ok(r == 0, "minimal config parses");
	if (r == 0) {
		is_str(s.cwd, "/", "cwd defaults to /");
		is_str(s.root_path, "rootfs", "root.path defaults to rootfs");
		ok(!s.root_readonly && !s.hostname && s.nmounts == 0 && s.clone_flags == 0,
		   "no readonly, hostname, mounts or namespaces by default");
		ok(s.uid == 0 && s.gid == 0 && s.ngids == 0, "root user by default");
		ok(s.env && s.env[0] == NULL, "empty env list");
	}
	spec_free(&s);

	ok(spec_refused("[]", "object"), "non-object document refused");
	ok(spec_refused("{}", "process"), "missing process refused");
	ok(spec_refused("{\"process\":{\"args\":[]}}", "process.args"), "empty args refused");
	ok(spec_refused("{\"process\":{\"args\":[\"\"]}}", "args[0]"), "empty command refused");
	ok(spec_refused("{\"process\":{\"args\":[\"sh\",1]}}", "process.args[1]"), "non-string arg refused");
	ok(spec_refused("{\"process\":{\"args\":\"sh\"}}", "must be an array"), "args as a string refused");
	ok(spec_refused("{\"process\":{\"args\":[\"sh\"],\"cwd\":\"tmp\"}}", "absolute"), "relative cwd refused");
	ok(spec_refused("{\"process\":{\"args\":[\"sh\"],\"user\":{\"uid\":-1}}}", "uid"), "negative uid refused");
	ok(spec_refused("{\"process\":{\"args\":[\"sh\"],\"user\":{\"uid\":1.5}}}", "uid"), "fractional uid refused");
	ok(spec_refused("{\"process\":{\"args\":[\"sh\"],\"user\":{\"gid\":4294967296}}}", "gid"), "huge gid refused");
	ok(spec_refused("{\"process\":{\"args\":[\"sh\"],\"user\":{\"additionalGids\":[\"x\"]}}}", "additionalGids"),
	   "non-numeric additional gid refused");
	ok(spec_refused("{\"process\":{\"args\":[\"sh\"]},\"root\":{\"readonly\":\"yes\"}}", "boolean"),
	   "readonly as a string refused");
	ok(spec_refused("{\"process\":{\"args\":[\"sh\"]},\"hostname\":"
			"\"01234567890123456789012345678901234567890123456789012345678901234\"}", "hostname"),
	   "hostname over 64 bytes refused");
	ok(spec_refused("{\"process\":{\"args\":[\"sh\"]},\"mounts\":[{\"type\":\"tmpfs\"}]}", "destination"),
	   "mount without destination refused");
	ok(spec_refused("{\"process\":{\"args\":[\"sh\"]},\"mounts\":[{\"destination\":\"/a/../../etc\"}]}", ".."),
	   "mount destination with .. refused");
	ok(spec_refused("{\"process\":{\"args\":[\"sh\"]},\"mounts\":[{\"destination\":\"/a\",\"options\":\"ro\"}]}",
			"options"), "mount options as a string refused");
	ok(spec_refused("{\"process\":{\"args\":[\"sh\"]},\"linux\":{\"namespaces\":[{\"type\":\"user\"}]}}",
			"not supported"), "user namespace refused");
	ok(spec_refused("{\"process\":{\"args\":[\"sh\"]},\"linux\":{\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"pid\"}]}}",
			"twice"), "namespace listed twice refused");
	ok(spec_refused("{\"process\":{\"args\":[\"sh\"]},\"linux\":{\"namespaces\":[{\"path\":\"/x\"}]}}",
			"type is required"), "namespace without a type refused");
	ok(spec_refused("{\"process\":{\"args\":[\"sh\"]}", "at byte"), "malformed JSON refused");
}

static void mount_options(void)
{
	struct mount_opts o;
	err_t e;
	const char *a[] = { "nosuid", "nodev", "noexec", "ro", "relatime", "mode=755", "size=65536k", "rprivate" };
	ok(mount_options_parse(a, ARRAY_LEN(a), &o, &e) == 0, "options parse");
	is_int(o.flags, MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY | MS_RELATIME, "flags");
	is_int(o.propagation, MS_PRIVATE | MS_REC, "rprivate");
	is_str(o.data, "mode=755,size=65536k", "filesystem data keeps the rest in order");
	ok(!o.bind, "not a bind mount");

	const char *b[] = { "rbind", "ro", "rw", "suid", "nosuid", "shared", "strictatime" };
	mount_options_parse(b, ARRAY_LEN(b), &o, &e);
	ok(o.bind && o.recursive, "rbind is a recursive bind");
	is_int(o.flags, MS_NOSUID | MS_STRICTATIME, "later options win (rw after ro)");
	is_int(o.propagation, MS_SHARED, "shared");
	is_str(o.data, "", "no data");

	const char *c[] = { "bind", "defaults", "slave", "newinstance", "ptmxmode=0666" };
	mount_options_parse(c, ARRAY_LEN(c), &o, &e);
	ok(o.bind && !o.recursive, "bind is not recursive");
	is_int(o.flags, 0, "defaults adds nothing");
	is_int(o.propagation, MS_SLAVE, "slave");
	is_str(o.data, "newinstance,ptmxmode=0666", "devpts data");

	char longopt[600];
	memset(longopt, 'x', sizeof(longopt) - 1);
	longopt[sizeof(longopt) - 1] = '\0';
	const char *d[] = { longopt, longopt };
	ok(mount_options_parse(d, 2, &o, &e) < 0, "too much filesystem data refused");
}

static void runtime_json(void)
{
	struct runtime_extra r;
	err_t e;
	const char *text = "{\"mkdir\":[\"/var/lib/x\",\"/run/y\"],\"interfaces\":[{\"name\":\"eth0\"}],"
			   "\"bindNS\":{\"net\":\"/run/netns/x\"},\"mounts\":[],\"cgroups\":null,\"namespace\":\"svc\"}";
	ok(runtime_extra_parse(&r, text, strlen(text), &e) == 0, "runtime.json parses");
	ok(r.nmkdir == 2 && !strcmp(r.mkdir[1], "/run/y"), "mkdir list");
	is_str(r.ignored, "namespace", "unsupported non-empty keys are named");
	ok(r.nifaces == 1 && !strcmp(r.ifaces[0].name, "eth0") && !r.ifaces[0].add, "an interface to move");
	ok(r.bind_ns[3] && !strcmp(r.bind_ns[3], "/run/netns/x") && !r.bind_ns[0], "bindNS.net");
	runtime_extra_free(&r);

	text = "{\"mkdir\":[\"var/lib\"]}";
	ok(runtime_extra_parse(&r, text, strlen(text), &e) == 0 && r.nmkdir == 1,
	   "a relative mkdir is accepted (it is relative to the container's rootfs)");
	runtime_extra_free(&r);

	text = "{\"cgroups\":[\"keel/a\"],\"mounts\":[{\"source\":\"tmpfs\",\"type\":\"tmpfs\",\"destination\":\"/c/tmp\"},"
	       "{\"destination\":\"/c/tmp\",\"options\":[\"remount\",\"private\"]}],"
	       "\"bindNS\":{\"net\":\"\",\"pid\":\"\"},\"namespace\":\"\",\"interfaces\":[]}";
	ok(runtime_extra_parse(&r, text, strlen(text), &e) == 0, "LinuxKit's full runtime.json parses");
	ok(r.nmounts == 2 && r.mounts[0].type && !strcmp(r.mounts[0].type, "tmpfs") && r.mounts[1].type == NULL &&
	   r.mounts[1].noptions == 2, "runtime mounts");
	ok(r.ncgroups == 1 && !strcmp(r.cgroups[0], "keel/a"), "cgroups");
	is_str(r.ignored, "", "empty bindNS, namespace and interfaces are not reported");
	runtime_extra_free(&r);

	text = "{\"cgroups\":[\"../escape\"]}";
	ok(runtime_extra_parse(&r, text, strlen(text), &e) < 0, "a cgroup name with .. is refused");
	runtime_extra_free(&r);
}

TAP_SUITE(test_spec)
{
	config();
	mount_options();
	runtime_json();
}

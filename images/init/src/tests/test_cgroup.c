#include <stdlib.h>

#include "../cgroup.h"
#include "../common/tests/tap.h"

static const char *value_of(const struct cg_plan *p, const char *file)
{
	const char *v = NULL;
	for (size_t i = 0; i < p->n; i++)
		if (!strcmp(p->w[i].file, file))
			v = p->w[i].value;
	return v;
}

static bool plan(const char *json, struct cg_plan *p, err_t *e)
{
	struct json *doc = json_parse(json, strlen(json), e);
	bool good = doc && cgroup_plan(doc, p, e) == 0;
	json_free(doc);
	return good;
}

TAP_SUITE(test_cgroup)
{
	is_int(cgroup_cpu_weight(2), 1, "cpu.shares 2 -> cpu.weight 1");
	is_int(cgroup_cpu_weight(1024), 39, "cpu.shares 1024 (the v1 default) -> 39");
	is_int(cgroup_cpu_weight(512), 20, "cpu.shares 512 -> 20");
	is_int(cgroup_cpu_weight(262144), 10000, "cpu.shares 262144 -> 10000");
	is_int(cgroup_cpu_weight(1), 1, "below the range is clamped");
	is_int(cgroup_cpu_weight(1u << 30), 10000, "above the range is clamped");
	is_int(cgroup_io_weight(10), 1, "blkio weight 10 -> io.weight 1");
	is_int(cgroup_io_weight(500), 4950, "blkio weight 500 -> 4950");
	is_int(cgroup_io_weight(1000), 10000, "blkio weight 1000 -> 10000");

	char buf[32];
	err_t e;
	ok(cgroup_swap_max(true, 512 << 20, 1024 << 20, buf, sizeof(buf), &e) == 0, "swap 1G over a 512M limit");
	is_str(buf, "536870912", "memory.swap.max is swap minus limit");
	ok(cgroup_swap_max(true, 512, 512, buf, sizeof(buf), &e) == 0 && !strcmp(buf, "0"), "swap == limit: no swap");
	ok(cgroup_swap_max(false, 0, -1, buf, sizeof(buf), &e) == 0 && !strcmp(buf, "max"), "swap -1 is max");
	ok(cgroup_swap_max(true, 1024, 512, buf, sizeof(buf), &e) < 0 && strstr(e.msg, "at least"), "swap below the limit is refused");
	ok(cgroup_swap_max(false, 0, 1024, buf, sizeof(buf), &e) < 0 && strstr(e.msg, "memory.limit"), "swap without a limit is refused");

	struct cg_plan p;
	/* As LinuxKit writes resources (test/fixtures/oci-config/resources.config.json). */
	ok(plan("{\"devices\":[{\"allow\":true,\"type\":\"c\",\"major\":10,\"minor\":200,\"access\":\"rwm\"}],"
		"\"memory\":{\"limit\":536870912,\"swappiness\":0},\"cpu\":{\"shares\":512,\"quota\":0,\"cpus\":\"0-1\"},"
		"\"pids\":{\"limit\":100},\"blockIO\":{\"weight\":500}}", &p, &e), "LinuxKit's resources plan");
	is_str(value_of(&p, "memory.max"), "536870912", "memory.limit -> memory.max");
	is_str(value_of(&p, "cpu.weight"), "20", "cpu.shares -> cpu.weight");
	ok(value_of(&p, "cpu.max") == NULL, "quota 0 sets no cpu.max");
	is_str(value_of(&p, "cpuset.cpus"), "0-1", "cpu.cpus -> cpuset.cpus");
	is_str(value_of(&p, "pids.max"), "100", "pids.limit -> pids.max");
	is_str(value_of(&p, "io.weight"), "4950", "blockIO.weight -> io.weight");
	is_str(p.ignored, "memory.swappiness", "v1-only settings are named");

	ok(plan("{\"memory\":{\"limit\":-1,\"reservation\":1048576,\"swap\":-1},\"cpu\":{\"quota\":50000,\"period\":100000,"
		"\"mems\":\"0\"},\"pids\":{\"limit\":-1},"
		"\"blockIO\":{\"weightDevice\":[{\"major\":8,\"minor\":16,\"weight\":100}],"
		"\"throttleReadBpsDevice\":[{\"major\":8,\"minor\":0,\"rate\":1048576}],"
		"\"throttleWriteIOPSDevice\":[{\"major\":8,\"minor\":0,\"rate\":0}]},"
		"\"hugepageLimits\":[{\"pageSize\":\"2097152\",\"limit\":0},{\"pageSize\":\"1GB\",\"limit\":1073741824}],"
		"\"unified\":{\"memory.high\":\"1G\"}}", &p, &e), "a fuller plan%s%s", p.n ? "" : ": ", p.n ? "" : e.msg);
	is_str(value_of(&p, "memory.max"), "max", "limit -1 is max");
	is_str(value_of(&p, "memory.low"), "1048576", "reservation -> memory.low");
	is_str(value_of(&p, "memory.swap.max"), "max", "swap -1 -> max");
	is_str(value_of(&p, "cpu.max"), "50000 100000", "quota and period -> cpu.max");
	is_str(value_of(&p, "cpuset.mems"), "0", "cpu.mems -> cpuset.mems");
	is_str(value_of(&p, "pids.max"), "max", "pids.limit -1 is max");
	is_str(value_of(&p, "hugetlb.2MB.max"), "0", "a page size in bytes becomes the kernel's name");
	is_str(value_of(&p, "hugetlb.1GB.max"), "1073741824", "a named page size is kept");
	is_str(value_of(&p, "memory.high"), "1G", "unified is written as given");
	bool weight = false, rbps = false, wiops = false;
	for (size_t i = 0; i < p.n; i++) {
		weight = weight || (!strcmp(p.w[i].file, "io.weight") && !strcmp(p.w[i].value, "8:16 910"));
		rbps = rbps || (!strcmp(p.w[i].file, "io.max") && !strcmp(p.w[i].value, "8:0 rbps=1048576"));
		wiops = wiops || (!strcmp(p.w[i].file, "io.max") && !strcmp(p.w[i].value, "8:0 wiops=max"));
	}
	ok(weight, "weightDevice -> io.weight MAJ:MIN W (converted)");
	ok(rbps, "throttleReadBpsDevice -> io.max rbps=");
	ok(wiops, "a rate of 0 lifts the limit");

	ok(plan("{\"cpu\":{\"quota\":-1}}", &p, &e) && !strcmp(value_of(&p, "cpu.max"), "max"), "quota -1 -> max");
	ok(plan("{}", &p, &e) && p.n == 0, "nothing asked, nothing written");
	ok(!plan("{\"memory\":{\"limit\":\"1G\"}}", &p, &e) && strstr(e.msg, "memory.limit"), "a string limit is refused");
	ok(!plan("{\"memory\":{\"swap\":100}}", &p, &e), "swap without a limit is refused");
	ok(!plan("{\"cpu\":{\"cpus\":\"0-1;rm\"}}", &p, &e), "a cpu list with other characters is refused");
	ok(!plan("{\"unified\":{\"../x\":\"1\"}}", &p, &e), "a unified key with a slash is refused");
	ok(!plan("{\"unified\":{\"cgroup.procs\":\"1\"}}", &p, &e), "unified cannot move processes");
	ok(!plan("{\"hugepageLimits\":[{\"pageSize\":\"3000\",\"limit\":1}]}", &p, &e), "an odd page size is refused");
	ok(!plan("{\"cpu\":[]}", &p, &e), "cpu must be an object");

	char rel[256];
	ok(cgroup_rel_path("svc", NULL, rel, sizeof(rel), &e) == 0 && !strcmp(rel, "keel/svc"), "default: keel/NAME");
	ok(cgroup_rel_path("svc", "/keel/other", rel, sizeof(rel), &e) == 0 && !strcmp(rel, "keel/other"),
	   "an absolute cgroupsPath is from the root");
	ok(cgroup_rel_path("svc", "group/svc", rel, sizeof(rel), &e) == 0 && !strcmp(rel, "keel/group/svc"),
	   "a relative cgroupsPath is under keel/");
	ok(cgroup_rel_path("svc", "/a/../../b", rel, sizeof(rel), &e) < 0, "cgroupsPath with .. is refused");
	ok(cgroup_rel_path("svc", "/", rel, sizeof(rel), &e) < 0, "the root cgroup is refused");
	ok(cgroup_rel_path("..", NULL, rel, sizeof(rel), &e) < 0, "a name of .. is refused");
}

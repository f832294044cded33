#include "cgroup.h"

#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/magic.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

uint64_t cgroup_cpu_weight(uint64_t shares)
{
	if (shares < 2)
		shares = 2;
	if (shares > 262144)
		shares = 262144;
	return 1 + ((shares - 2) * 9999) / 262142;
}

uint64_t cgroup_io_weight(uint64_t w)
{
	if (w < 10)
		w = 10;
	if (w > 1000)
		w = 1000;
	return 1 + ((w - 10) * 9999) / 990;
}

int cgroup_swap_max(bool has_limit, int64_t limit, int64_t swap, char *out, size_t size, err_t *e)
{
	if (swap == -1) {
		snprintf(out, size, "max");
		return 0;
	}
	if (!has_limit || limit == -1)
		return err_set(e, "memory.swap: needs memory.limit, since v2 counts swap apart from memory");
	if (swap < limit)
		return err_set(e, "memory.swap (%" PRId64 ") must be at least memory.limit (%" PRId64 ")", swap, limit);
	snprintf(out, size, "%" PRId64, swap - limit);
	return 0;
}

static int add(struct cg_plan *p, const char *file, err_t *e, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int add(struct cg_plan *p, const char *file, err_t *e, const char *fmt, ...)
{
	if (p->n == CGROUP_MAX_WRITES)
		return err_set(e, "linux.resources: more than %d cgroup settings", CGROUP_MAX_WRITES);
	struct cg_write *w = &p->w[p->n++];
	va_list ap;
	snprintf(w->file, sizeof(w->file), "%s", file);
	va_start(ap, fmt);
	vsnprintf(w->value, sizeof(w->value), fmt, ap);
	va_end(ap);
	return 0;
}

static void ignore(struct cg_plan *p, const char *what)
{
	size_t n = strlen(p->ignored);
	snprintf(p->ignored + n, sizeof(p->ignored) - n, "%s%s", n ? ", " : "", what);
}

/* A number member: absent/null leaves *has false. */
static int num(const struct json *obj, const char *key, double min, double max, bool *has, int64_t *out,
	       const char *where, err_t *e)
{
	const struct json *v = json_get(obj, key);
	*has = false;
	if (!v || v->type == JSON_NULL)
		return 0;
	if (v->type != JSON_NUMBER || v->number != floor(v->number) || v->number < min || v->number > max)
		return err_set(e, "linux.resources.%s.%s: not a valid number", where, key);
	*has = true;
	*out = v->number >= 9223372036854775807.0 ? INT64_MAX : (int64_t)v->number;
	return 0;
}

/* An optional object member of linux.resources: 0 with *out NULL when absent. */
static int obj_member(const struct json *obj, const char *key, const struct json **out, err_t *e)
{
	const struct json *v = json_get(obj, key);
	*out = NULL;
	if (!v || v->type == JSON_NULL)
		return 0;
	if (v->type != JSON_OBJECT)
		return err_set(e, "linux.resources.%s: must be an object", key);
	*out = v;
	return 0;
}

#define I64MAX 9223372036854775807.0

static int plan_memory(const struct json *m, struct cg_plan *p, err_t *e)
{
	bool has_limit, has_res, has_swap;
	int64_t limit = 0, res = 0, swap = 0;
	char buf[32];
	if (num(m, "limit", -1, I64MAX, &has_limit, &limit, "memory", e) < 0 ||
	    num(m, "reservation", -1, I64MAX, &has_res, &res, "memory", e) < 0 ||
	    num(m, "swap", -1, I64MAX, &has_swap, &swap, "memory", e) < 0)
		return -1;
	if (has_limit && (limit == -1 ? add(p, "memory.max", e, "max") : add(p, "memory.max", e, "%" PRId64, limit)) < 0)
		return -1;
	if (has_res && (res == -1 ? add(p, "memory.low", e, "max") : add(p, "memory.low", e, "%" PRId64, res)) < 0)
		return -1;
	/* 0 means "not set" for swap, as runc reads it. */
	if (has_swap && swap != 0) {
		if (cgroup_swap_max(has_limit, limit, swap, buf, sizeof(buf), e) < 0 ||
		    add(p, "memory.swap.max", e, "%s", buf) < 0)
			return -1;
	}
	static const char *const v1_only[] = { "kernel", "kernelTCP", "swappiness", "disableOOMKiller" };
	for (size_t i = 0; i < ARRAY_LEN(v1_only); i++) {
		const struct json *x = json_get(m, v1_only[i]);
		if (x && x->type != JSON_NULL && !(x->type == JSON_BOOL && !x->boolean)) {
			char what[40];
			snprintf(what, sizeof(what), "memory.%s", v1_only[i]);
			ignore(p, what);
		}
	}
	return 0;
}

static int plan_cpu(const struct json *c, struct cg_plan *p, err_t *e)
{
	bool has_shares, has_quota, has_period, has_burst, has_idle;
	int64_t shares = 0, quota = 0, period = 0, burst = 0, idle = 0;
	if (num(c, "shares", 0, I64MAX, &has_shares, &shares, "cpu", e) < 0 ||
	    num(c, "quota", -1, I64MAX, &has_quota, &quota, "cpu", e) < 0 ||
	    num(c, "period", 0, I64MAX, &has_period, &period, "cpu", e) < 0 ||
	    num(c, "burst", 0, I64MAX, &has_burst, &burst, "cpu", e) < 0 ||
	    num(c, "idle", 0, 1, &has_idle, &idle, "cpu", e) < 0)
		return -1;
	if (has_shares && shares != 0 && add(p, "cpu.weight", e, "%" PRIu64, cgroup_cpu_weight((uint64_t)shares)) < 0)
		return -1;
	/* A quota of 0 (what LinuxKit writes when unset) sets nothing; a
	 * negative one is "max". */
	if ((has_quota && quota != 0) || (has_period && period != 0)) {
		char q[24];
		if (has_quota && quota > 0)
			snprintf(q, sizeof(q), "%" PRId64, quota);
		else
			snprintf(q, sizeof(q), "max");
		if ((has_period && period != 0 ? add(p, "cpu.max", e, "%s %" PRId64, q, period)
					       : add(p, "cpu.max", e, "%s", q)) < 0)
			return -1;
	}
	if (has_burst && add(p, "cpu.max.burst", e, "%" PRId64, burst) < 0)
		return -1;
	if (has_idle && idle && add(p, "cpu.idle", e, "1") < 0)
		return -1;
	static const char *const sets[][2] = { { "cpus", "cpuset.cpus" }, { "mems", "cpuset.mems" } };
	for (size_t i = 0; i < ARRAY_LEN(sets); i++) {
		const struct json *v = json_get(c, sets[i][0]);
		if (!v || v->type == JSON_NULL || (v->type == JSON_STRING && v->string[0] == '\0'))
			continue;
		if (v->type != JSON_STRING || strspn(v->string, "0123456789,-") != v->len)
			return err_set(e, "linux.resources.cpu.%s: not a list like \"0-2,4\"", sets[i][0]);
		if (add(p, sets[i][1], e, "%s", v->string) < 0)
			return -1;
	}
	const struct json *rt = json_get(c, "realtimeRuntime"), *rp = json_get(c, "realtimePeriod");
	if ((rt && rt->type == JSON_NUMBER && rt->number) || (rp && rp->type == JSON_NUMBER && rp->number))
		ignore(p, "cpu.realtime*");
	return 0;
}

static int plan_device_list(const struct json *list, const char *key, const char *what, struct cg_plan *p,
			    err_t *e)
{
	size_t i = 0;
	for (const struct json *d = list ? list->child : NULL; d; d = d->next, i++) {
		uint32_t major, minor;
		bool has;
		int64_t v;
		if (d->type != JSON_OBJECT || json_u32(json_get(d, "major"), &major) < 0 ||
		    json_u32(json_get(d, "minor"), &minor) < 0)
			return err_set(e, "linux.resources.blockIO.%s[%zu]: needs major and minor", key, i);
		if (strcmp(what, "weight") == 0) {
			if (num(d, "weight", 0, 65535, &has, &v, "blockIO.weightDevice[]", e) < 0)
				return -1;
			if (has && v && add(p, "io.weight", e, "%u:%u %" PRIu64, major, minor, cgroup_io_weight((uint64_t)v)) < 0)
				return -1;
		} else {
			if (num(d, "rate", 0, I64MAX, &has, &v, "blockIO.throttle*Device[]", e) < 0)
				return -1;
			if (!has)
				return err_set(e, "linux.resources.blockIO.%s[%zu]: needs a rate", key, i);
			/* 0 lifts the limit, as in v1. */
			if ((v ? add(p, "io.max", e, "%u:%u %s=%" PRId64, major, minor, what, v)
			       : add(p, "io.max", e, "%u:%u %s=max", major, minor, what)) < 0)
				return -1;
		}
	}
	return 0;
}

static int plan_blockio(const struct json *b, struct cg_plan *p, err_t *e)
{
	bool has;
	int64_t w;
	if (num(b, "weight", 0, 65535, &has, &w, "blockIO", e) < 0)
		return -1;
	if (has && w && add(p, "io.weight", e, "%" PRIu64, cgroup_io_weight((uint64_t)w)) < 0)
		return -1;
	static const char *const lists[][2] = {
		{ "weightDevice", "weight" },         { "throttleReadBpsDevice", "rbps" },
		{ "throttleWriteBpsDevice", "wbps" }, { "throttleReadIOPSDevice", "riops" },
		{ "throttleWriteIOPSDevice", "wiops" },
	};
	for (size_t i = 0; i < ARRAY_LEN(lists); i++) {
		const struct json *l = json_get(b, lists[i][0]);
		if (l && l->type != JSON_NULL && l->type != JSON_ARRAY)
			return err_set(e, "linux.resources.blockIO.%s: must be an array", lists[i][0]);
		if (plan_device_list(l, lists[i][0], lists[i][1], p, e) < 0)
			return -1;
	}
	const struct json *leaf = json_get(b, "leafWeight");
	if (leaf && leaf->type == JSON_NUMBER && leaf->number)
		ignore(p, "blockIO.leafWeight");
	return 0;
}

/* "2MB" as the kernel names hugetlb files, from "2MB" or a byte count. */
static int page_size_name(const struct json *v, char *out, size_t size)
{
	static const char units[] = "KMG";
	if (v && v->type == JSON_STRING && v->len > 2 && strspn(v->string, "0123456789") == v->len - 2 &&
	    strchr(units, v->string[v->len - 2]) && v->string[v->len - 1] == 'B') {
		snprintf(out, size, "%s", v->string);
		return 0;
	}
	char *end;
	unsigned long long bytes = v && v->type == JSON_STRING ? strtoull(v->string, &end, 10) : 0;
	if (v && v->type == JSON_NUMBER && v->number > 0 && v->number == floor(v->number))
		bytes = (unsigned long long)v->number;
	else if (!v || v->type != JSON_STRING || *end || end == v->string)
		return -1;
	for (int u = 2; u >= 0; u--) {
		unsigned long long unit = 1024ULL << (10 * u);
		if (bytes >= unit && bytes % unit == 0) {
			snprintf(out, size, "%llu%cB", bytes / unit, units[u]);
			return 0;
		}
	}
	return -1;
}

static int plan_hugepages(const struct json *list, struct cg_plan *p, err_t *e)
{
	size_t i = 0;
	for (const struct json *h = list ? list->child : NULL; h; h = h->next, i++) {
		char name[32], file[64];
		uint64_t limit;
		const struct json *l = h->type == JSON_OBJECT ? json_get(h, "limit") : NULL;
		if (h->type != JSON_OBJECT || page_size_name(json_get(h, "pageSize"), name, sizeof(name)) < 0)
			return err_set(e, "linux.resources.hugepageLimits[%zu]: pageSize must be like \"2MB\"", i);
		if (!l || l->type != JSON_NUMBER || l->number < 0 || l->number != floor(l->number))
			return err_set(e, "linux.resources.hugepageLimits[%zu]: limit must be a number", i);
		limit = l->number >= 18446744073709551615.0 ? UINT64_MAX : (uint64_t)l->number;
		snprintf(file, sizeof(file), "hugetlb.%s.max", name);
		if ((limit == UINT64_MAX ? add(p, file, e, "max") : add(p, file, e, "%" PRIu64, limit)) < 0)
			return -1;
	}
	return 0;
}

/* linux.resources.unified: written as given, under the container's cgroup. */
static int plan_unified(const struct json *u, struct cg_plan *p, err_t *e)
{
	for (const struct json *m = u ? u->child : NULL; m; m = m->next) {
		if (m->type != JSON_STRING)
			return err_set(e, "linux.resources.unified.%s: must be a string", m->key);
		if (!strchr(m->key, '.') || strchr(m->key, '/') || m->key[0] == '.' ||
		    strncmp(m->key, "cgroup.", 7) == 0 || strlen(m->key) >= sizeof(p->w[0].file))
			return err_set(e, "linux.resources.unified: \"%s\" is not a controller file", m->key);
		if (add(p, m->key, e, "%s", m->string) < 0)
			return -1;
	}
	return 0;
}

static int plan_pids(const struct json *pids, struct cg_plan *p, err_t *e)
{
	bool has;
	int64_t limit;
	if (num(pids, "limit", -I64MAX, I64MAX, &has, &limit, "pids", e) < 0)
		return -1;
	/* 0 is "not set"; below 0 is "no limit". */
	if (has && limit != 0 && (limit < 0 ? add(p, "pids.max", e, "max") : add(p, "pids.max", e, "%" PRId64, limit)) < 0)
		return -1;
	return 0;
}

int cgroup_plan(const struct json *r, struct cg_plan *p, err_t *e)
{
	static const struct {
		const char *key;
		int (*plan)(const struct json *, struct cg_plan *, err_t *);
	} parts[] = {
		{ "memory", plan_memory }, { "cpu", plan_cpu },         { "pids", plan_pids },
		{ "blockIO", plan_blockio }, { "unified", plan_unified },
	};
	memset(p, 0, sizeof(*p));
	if (!r)
		return 0;
	for (size_t i = 0; i < ARRAY_LEN(parts); i++) {
		const struct json *o;
		if (obj_member(r, parts[i].key, &o, e) < 0 || (o && parts[i].plan(o, p, e) < 0))
			return -1;
	}
	const struct json *hp = json_get(r, "hugepageLimits");
	if (hp && hp->type != JSON_NULL && hp->type != JSON_ARRAY)
		return err_set(e, "linux.resources.hugepageLimits: must be an array");
	if (plan_hugepages(hp, p, e) < 0)
		return -1;
	const struct json *net = json_get(r, "network");
	if (net && net->type == JSON_OBJECT && net->count > 0)
		ignore(p, "network");
	const struct json *rdma = json_get(r, "rdma");
	if (rdma && rdma->type == JSON_OBJECT && rdma->count > 0)
		ignore(p, "rdma");
	return 0;
}

int cgroup_rel_path(const char *name, const char *cgroups_path, char *out, size_t size, err_t *e)
{
	char clean[PATH_MAX];
	if (!cgroups_path)
		return path_fmt(out, size, "keel/%s", name) < 0 || strchr(name, '/') || !name[0] || name[0] == '.'
			       ? err_set(e, "cgroup for %s: not a usable name", name)
			       : 0;
	if (path_clean(cgroups_path, clean, sizeof(clean), e) < 0)
		return err_prefix(e, "linux.cgroupsPath");
	if (strcmp(clean, "/") == 0)
		return err_set(e, "linux.cgroupsPath: the root cgroup is not a container's");
	int r = cgroups_path[0] == '/' ? path_fmt(out, size, "%s", clean + 1) : path_fmt(out, size, "keel%s", clean);
	return r < 0 ? err_set(e, "linux.cgroupsPath: too long") : 0;
}

bool cgroup_v2(void)
{
	struct statfs sfs;
	return statfs(CGROUP_ROOT, &sfs) == 0 && sfs.f_type == CGROUP2_SUPER_MAGIC;
}

static int write_file(const char *dir, const char *file, const char *value, err_t *e)
{
	char path[PATH_MAX];
	if (path_fmt(path, sizeof(path), "%s/%s", dir, file) < 0)
		return err_sys(e, "%s/%s", dir, file);
	autoclose int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, value, strlen(value)) < 0)
		return err_sys(e, "write \"%s\" to %s", value, path);
	return 0;
}

/* Whether word is in the space-separated list in dir/file. */
static bool listed(const char *dir, const char *file, const char *word)
{
	char path[PATH_MAX], *text = NULL;
	err_t ignored;
	bool found = false;
	if (path_fmt(path, sizeof(path), "%s/%s", dir, file) < 0 ||
	    read_file(path, 4096, &text, NULL, &ignored) < 0)
		return false;
	size_t n = strlen(word);
	for (char *p = text; (p = strstr(p, word)); p += n)
		if ((p == text || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\n' || p[n] == '\0'))
			found = true;
	free(text);
	return found;
}

/* Each controller the plan writes to must be on in every parent. */
static int enable_controllers(const char *rel, const struct cg_plan *p, err_t *e)
{
	char dir[PATH_MAX], ctrl[32];
	snprintf(dir, sizeof(dir), "%s", CGROUP_ROOT);
	const char *next = rel;
	for (;;) {
		const char *slash = strchr(next, '/');
		for (size_t i = 0; i < p->n; i++) {
			size_t len = strcspn(p->w[i].file, ".");
			if (len >= sizeof(ctrl))
				continue;
			snprintf(ctrl, sizeof(ctrl), "%.*s", (int)len, p->w[i].file);
			if (listed(dir, "cgroup.subtree_control", ctrl))
				continue;
			if (!listed(dir, "cgroup.controllers", ctrl))
				return err_set(e, "%s: the %s controller is not available in %s", p->w[i].file, ctrl, dir);
			char plus[40];
			snprintf(plus, sizeof(plus), "+%s", ctrl);
			if (write_file(dir, "cgroup.subtree_control", plus, e) < 0)
				return -1;
		}
		size_t n = strlen(dir);
		if (path_fmt(dir + n, sizeof(dir) - n, "/%.*s", (int)(slash ? (size_t)(slash - next) : strlen(next)),
			     next) < 0)
			return err_sys(e, "cgroup %s", rel);
		if (!slash)
			return 0;
		if (mkdir(dir, 0755) < 0 && errno != EEXIST)
			return err_sys(e, "mkdir %s", dir);
		next = slash + 1;
	}
}

int cgroup_create(const char *rel, const struct cg_plan *p, char *path, size_t size, err_t *e)
{
	if (path_fmt(path, size, "%s/%s", CGROUP_ROOT, rel) < 0)
		return err_sys(e, "cgroup %s", rel);
	if (enable_controllers(rel, p, e) < 0)
		return err_prefix(e, "cgroup %s", rel);
	/* A leftover from an earlier run of the same container is empty and
	 * goes, with the limits it had; a busy one (a shared cgroupsPath) stays. */
	if (mkdir(path, 0755) < 0) {
		if (errno != EEXIST || ((rmdir(path) < 0 || mkdir(path, 0755) < 0) && errno != EBUSY))
			return err_sys(e, "mkdir %s", path);
	}
	for (size_t i = 0; i < p->n; i++)
		if (write_file(path, p->w[i].file, p->w[i].value, e) < 0)
			return -1;
	return 0;
}

int cgroup_join(const char *path, err_t *e)
{
	return write_file(path, "cgroup.procs", "0", e) < 0 ? err_prefix(e, "join the cgroup") : 0;
}

/* ---- keelctl pause, resume and stats (apart from the limits above) ---- */

int cgroup_freeze(const char *path, bool on, err_t *e)
{
	return write_file(path, "cgroup.freeze", on ? "1" : "0", e);
}

int cgroup_keyed_value(const char *text, const char *key, uint64_t *out)
{
	size_t n = strlen(key);
	for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		char *end;
		if (strncmp(l, key, n) != 0 || l[n] != ' ')
			continue;
		errno = 0;
		unsigned long long v = strtoull(l + n + 1, &end, 10);
		if (errno || end == l + n + 1 || (*end && *end != '\n'))
			return -1;
		*out = v;
		return 0;
	}
	return -1;
}

int cgroup_io_bytes(const char *text, uint64_t *rbytes, uint64_t *wbytes)
{
	/* "8:0 rbytes=1 wbytes=2 rios=3 ..." per device. */
	static const char *const keys[] = { " rbytes=", " wbytes=" };
	uint64_t *sums[] = { rbytes, wbytes };
	bool any = false;
	*rbytes = *wbytes = 0;
	for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		size_t len = strcspn(l, "\n");
		for (size_t k = 0; k < ARRAY_LEN(keys); k++) {
			const char *p = strstr(l, keys[k]);
			if (p && p < l + len) {
				*sums[k] += strtoull(p + strlen(keys[k]), NULL, 10);
				any = true;
			}
		}
	}
	return any ? 0 : -1;
}

/* The text of dir/file, or NULL. */
static char *read_cg(const char *dir, const char *file)
{
	char path[PATH_MAX], *text = NULL;
	err_t ignored;
	if (path_fmt(path, sizeof(path), "%s/%s", dir, file) < 0 || read_file(path, 65536, &text, NULL, &ignored) < 0)
		return NULL;
	return text;
}

/* A file that holds one number. */
static bool read_number(const char *text, uint64_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(text, &end, 10);
	if (errno || end == text || (*end && *end != '\n'))
		return false;
	*out = v;
	return true;
}

int cgroup_frozen(const char *path)
{
	char *text = read_cg(path, "cgroup.events");
	uint64_t v = 0;
	int r = text && cgroup_keyed_value(text, "frozen", &v) == 0 ? v != 0 : -1;
	free(text);
	return r;
}

void cgroup_read_stats(const char *path, struct cg_stats *s)
{
	char *t;
	memset(s, 0, sizeof(*s));
	if ((t = read_cg(path, "cpu.stat")))
		s->has_cpu = cgroup_keyed_value(t, "usage_usec", &s->cpu_usec) == 0;
	free(t);
	if ((t = read_cg(path, "memory.current")))
		s->has_memory = read_number(t, &s->memory);
	free(t);
	if ((t = read_cg(path, "pids.current")))
		s->has_pids = read_number(t, &s->pids);
	free(t);
	/* An empty io.stat (nothing read or written yet) is zero, not unknown. */
	if ((t = read_cg(path, "io.stat")))
		s->has_io = cgroup_io_bytes(t, &s->rbytes, &s->wbytes) == 0 || strspn(t, " \n") == strlen(t);
	free(t);
}

int cgroup_enable_stats(err_t *e)
{
	static const char *const ctrls[] = { "memory", "pids", "io" };
	char keel[PATH_MAX];
	int r = 0;
	if (!cgroup_v2())
		return 0;
	snprintf(keel, sizeof(keel), "%s/keel", CGROUP_ROOT);
	if (mkdir(keel, 0755) < 0 && errno != EEXIST)
		return err_sys(e, "mkdir %s", keel);
	for (size_t i = 0; i < ARRAY_LEN(ctrls); i++) {
		char plus[16];
		if (!listed(CGROUP_ROOT, "cgroup.controllers", ctrls[i]))
			continue;
		snprintf(plus, sizeof(plus), "+%s", ctrls[i]);
		if ((!listed(CGROUP_ROOT, "cgroup.subtree_control", ctrls[i]) &&
		     write_file(CGROUP_ROOT, "cgroup.subtree_control", plus, e) < 0) ||
		    (!listed(keel, "cgroup.subtree_control", ctrls[i]) &&
		     write_file(keel, "cgroup.subtree_control", plus, e) < 0))
			r = -1; /* the others may still work */
	}
	return r;
}

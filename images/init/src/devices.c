#include "devices.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/* The runtime spec's default devices, and runc's "mknod anything". */
static const struct dev_rule defaults[] = {
	{ true, 'c', DEV_WILDCARD, DEV_WILDCARD, DEV_MKNOD },
	{ true, 'b', DEV_WILDCARD, DEV_WILDCARD, DEV_MKNOD },
	{ true, 'c', 1, 3, DEV_MKNOD | DEV_READ | DEV_WRITE },  /* /dev/null */
	{ true, 'c', 1, 5, DEV_MKNOD | DEV_READ | DEV_WRITE },  /* /dev/zero */
	{ true, 'c', 1, 7, DEV_MKNOD | DEV_READ | DEV_WRITE },  /* /dev/full */
	{ true, 'c', 1, 8, DEV_MKNOD | DEV_READ | DEV_WRITE },  /* /dev/random */
	{ true, 'c', 1, 9, DEV_MKNOD | DEV_READ | DEV_WRITE },  /* /dev/urandom */
	{ true, 'c', 5, 0, DEV_MKNOD | DEV_READ | DEV_WRITE },  /* /dev/tty */
	{ true, 'c', 5, 1, DEV_MKNOD | DEV_READ | DEV_WRITE },  /* /dev/console */
	{ true, 'c', 5, 2, DEV_MKNOD | DEV_READ | DEV_WRITE },  /* /dev/ptmx */
	{ true, 'c', 136, DEV_WILDCARD, DEV_MKNOD | DEV_READ | DEV_WRITE }, /* /dev/pts/N */
};

static int rule_number(const struct json *rule, const char *key, size_t i, int64_t *out, err_t *e)
{
	const struct json *v = json_get(rule, key);
	*out = DEV_WILDCARD;
	if (!v || v->type == JSON_NULL)
		return 0;
	if (v->type != JSON_NUMBER || v->number != (double)(int64_t)v->number || v->number < -1 || v->number > 0xffffffffu)
		return err_set(e, "linux.resources.devices[%zu].%s: a device number (or -1 or null for any)", i, key);
	*out = (int64_t)v->number;
	return 0;
}

int devices_plan(const struct json *devices, struct dev_rules *out, err_t *e)
{
	memset(out, 0, sizeof(*out));
	if (devices && devices->type != JSON_NULL && devices->type != JSON_ARRAY)
		return err_set(e, "linux.resources.devices: must be an array");
	size_t i = 0;
	for (const struct json *d = devices ? devices->child : NULL; d; d = d->next, i++) {
		if (d->type != JSON_OBJECT)
			return err_set(e, "linux.resources.devices[%zu]: must be an object", i);
		if (out->n + sizeof(defaults) / sizeof(defaults[0]) >= DEV_MAX_RULES)
			return err_set(e, "linux.resources.devices: more than %zu rules", DEV_MAX_RULES - sizeof(defaults) / sizeof(defaults[0]));
		struct dev_rule *r = &out->r[out->n++];
		const struct json *allow = json_get(d, "allow");
		if (!allow || allow->type != JSON_BOOL)
			return err_set(e, "linux.resources.devices[%zu].allow: must be true or false", i);
		r->allow = allow->boolean;
		const struct json *type = json_get(d, "type");
		r->type = 'a';
		if (type && type->type != JSON_NULL) {
			if (type->type != JSON_STRING || type->len != 1 || !strchr("abc", type->string[0]))
				return err_set(e, "linux.resources.devices[%zu].type: must be \"a\", \"b\" or \"c\"", i);
			r->type = type->string[0];
		}
		if (rule_number(d, "major", i, &r->major, e) < 0 || rule_number(d, "minor", i, &r->minor, e) < 0)
			return -1;
		const struct json *access = json_get(d, "access");
		r->access = DEV_MKNOD | DEV_READ | DEV_WRITE;
		if (access && access->type != JSON_NULL) {
			if (access->type != JSON_STRING)
				return err_set(e, "linux.resources.devices[%zu].access: must be a string of r, w and m", i);
			r->access = 0;
			for (const char *c = access->string; *c; c++) {
				if (*c == 'r')
					r->access |= DEV_READ;
				else if (*c == 'w')
					r->access |= DEV_WRITE;
				else if (*c == 'm')
					r->access |= DEV_MKNOD;
				else
					return err_set(e, "linux.resources.devices[%zu].access: \"%s\" is not made of r, w and m", i, access->string);
			}
		}
	}
	for (size_t k = 0; k < sizeof(defaults) / sizeof(defaults[0]); k++)
		out->r[out->n++] = defaults[k];
	return 0;
}

static bool matches(const struct dev_rule *r, char type, uint32_t major, uint32_t minor, uint8_t access)
{
	return (r->type == 'a' || r->type == type) && (r->major == DEV_WILDCARD || r->major == major) &&
	       (r->minor == DEV_WILDCARD || r->minor == minor) && (access & ~r->access) == 0;
}

bool devices_allowed(const struct dev_rules *rules, char type, uint32_t major, uint32_t minor, uint8_t access)
{
	for (size_t i = rules->n; i-- > 0;)
		if (matches(&rules->r[i], type, major, minor, access))
			return rules->r[i].allow;
	return false;
}

#define INSN(c, d, s, o, i) ((struct bpf_insn){ .code = (c), .dst_reg = (d), .src_reg = (s), .off = (o), .imm = (i) })

size_t devices_program(const struct dev_rules *rules, struct bpf_insn *out, size_t max)
{
	size_t n = 0;
#define EMIT(x)                    \
	do {                       \
		if (n == max)      \
			return 0;  \
		out[n++] = (x);    \
	} while (0)
	/* r2 = type (low 16 bits of access_type), r3 = access (high 16), r4 = major, r5 = minor. */
	EMIT(INSN(BPF_LDX | BPF_W | BPF_MEM, BPF_REG_2, BPF_REG_1, offsetof(struct bpf_cgroup_dev_ctx, access_type), 0));
	EMIT(INSN(BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_3, BPF_REG_2, 0, 0));
	EMIT(INSN(BPF_ALU64 | BPF_AND | BPF_K, BPF_REG_2, 0, 0, 0xffff));
	EMIT(INSN(BPF_ALU64 | BPF_RSH | BPF_K, BPF_REG_3, 0, 0, 16));
	EMIT(INSN(BPF_LDX | BPF_W | BPF_MEM, BPF_REG_4, BPF_REG_1, offsetof(struct bpf_cgroup_dev_ctx, major), 0));
	EMIT(INSN(BPF_LDX | BPF_W | BPF_MEM, BPF_REG_5, BPF_REG_1, offsetof(struct bpf_cgroup_dev_ctx, minor), 0));
	for (size_t i = rules->n; i-- > 0;) {
		const struct dev_rule *r = &rules->r[i];
		/* Each test jumps to the next rule's block when it fails; the offsets
		 * are set once the block's length is known. */
		size_t jumps[4], nj = 0;
		if (r->type != 'a') {
			jumps[nj++] = n;
			EMIT(INSN(BPF_JMP | BPF_JNE | BPF_K, BPF_REG_2, 0, 0, r->type == 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR));
		}
		if ((r->access & 7) != 7) {
			EMIT(INSN(BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_0, BPF_REG_3, 0, 0));
			EMIT(INSN(BPF_ALU64 | BPF_AND | BPF_K, BPF_REG_0, 0, 0, (int32_t)(~r->access & 7)));
			jumps[nj++] = n;
			EMIT(INSN(BPF_JMP | BPF_JNE | BPF_K, BPF_REG_0, 0, 0, 0));
		}
		if (r->major != DEV_WILDCARD) {
			jumps[nj++] = n;
			EMIT(INSN(BPF_JMP | BPF_JNE | BPF_K, BPF_REG_4, 0, 0, (int32_t)r->major));
		}
		if (r->minor != DEV_WILDCARD) {
			jumps[nj++] = n;
			EMIT(INSN(BPF_JMP | BPF_JNE | BPF_K, BPF_REG_5, 0, 0, (int32_t)r->minor));
		}
		EMIT(INSN(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, r->allow ? 1 : 0));
		EMIT(INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0));
		/* A rule that matches everything decides everything: what would
		 * follow is unreachable, which the verifier refuses. */
		if (nj == 0)
			return n;
		for (size_t j = 0; j < nj; j++)
			out[jumps[j]].off = (int16_t)(n - jumps[j] - 1);
	}
	EMIT(INSN(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0));
	EMIT(INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0));
#undef EMIT
	return n;
}

int devices_apply(const char *cgroup_path, const struct dev_rules *rules, err_t *e)
{
	static struct bpf_insn prog[DEV_MAX_RULES * 9 + 8];
	size_t len = devices_program(rules, prog, sizeof(prog) / sizeof(prog[0]));
	if (len == 0)
		return err_set(e, "device rules: the program does not fit");
	union bpf_attr load;
	memset(&load, 0, sizeof(load));
	load.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
	load.insns = (uint64_t)(uintptr_t)prog;
	load.insn_cnt = (uint32_t)len;
	load.license = (uint64_t)(uintptr_t) "Apache-2.0";
	int prog_fd = (int)syscall(SYS_bpf, BPF_PROG_LOAD, &load, sizeof(load));
	if (prog_fd < 0)
		return err_sys(e, "device rules: load the BPF program");
	int dir = open(cgroup_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dir < 0) {
		close(prog_fd);
		return err_sys(e, "device rules: open %s", cgroup_path);
	}
	union bpf_attr attach;
	memset(&attach, 0, sizeof(attach));
	attach.target_fd = (uint32_t)dir;
	attach.attach_bpf_fd = (uint32_t)prog_fd;
	attach.attach_type = BPF_CGROUP_DEVICE;
	int r = (int)syscall(SYS_bpf, BPF_PROG_ATTACH, &attach, sizeof(attach));
	int saved = errno;
	close(dir);
	close(prog_fd);
	errno = saved;
	return r < 0 ? err_sys(e, "device rules: attach to %s", cgroup_path) : 0;
}

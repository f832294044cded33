#include <stdlib.h>

#include "../devices.h"
#include "../common/tests/tap.h"

/* Runs a device program on one request: an interpreter for the instructions
 * devices_program writes (loads from the context, moves, and, shift right,
 * jump if not equal, exit). Anything else is a failure (-1). */
static int run(const struct bpf_insn *p, size_t len, uint32_t access_type, uint32_t major, uint32_t minor)
{
	uint64_t reg[11] = { 0 };
	uint32_t ctx[3] = { access_type, major, minor };
	for (size_t pc = 0; pc < len; pc++) {
		const struct bpf_insn *i = &p[pc];
		switch (i->code) {
		case BPF_LDX | BPF_W | BPF_MEM:
			if (i->src_reg != BPF_REG_1 || i->off % 4 || i->off < 0 || i->off > 8)
				return -1;
			reg[i->dst_reg] = ctx[i->off / 4];
			break;
		case BPF_ALU64 | BPF_MOV | BPF_X: reg[i->dst_reg] = reg[i->src_reg]; break;
		case BPF_ALU64 | BPF_MOV | BPF_K: reg[i->dst_reg] = (uint64_t)(int64_t)i->imm; break;
		case BPF_ALU64 | BPF_AND | BPF_K: reg[i->dst_reg] &= (uint64_t)(int64_t)i->imm; break;
		case BPF_ALU64 | BPF_RSH | BPF_K: reg[i->dst_reg] >>= i->imm; break;
		case BPF_JMP | BPF_JNE | BPF_K:
			if (reg[i->dst_reg] != (uint64_t)(int64_t)i->imm)
				pc += (size_t)i->off;
			break;
		case BPF_JMP | BPF_EXIT: return (int)reg[0];
		default: return -1;
		}
	}
	return -1; /* fell off the end */
}

/* The kernel's verifier refuses instructions no path reaches. */
static bool all_reachable(const struct dev_rules *r)
{
	static struct bpf_insn prog[DEV_MAX_RULES * 9 + 8];
	static bool seen[DEV_MAX_RULES * 9 + 8];
	size_t len = devices_program(r, prog, sizeof(prog) / sizeof(prog[0]));
	memset(seen, 0, sizeof(seen));
	seen[0] = len > 0;
	for (size_t i = 0; i < len; i++) {
		if (!seen[i])
			return false; /* jumps only go forward: nothing later can reach i */
		if (prog[i].code == (BPF_JMP | BPF_EXIT))
			continue;
		if (i + 1 < len)
			seen[i + 1] = true;
		if (prog[i].code == (BPF_JMP | BPF_JNE | BPF_K) && i + 1 + (size_t)prog[i].off < len)
			seen[i + 1 + (size_t)prog[i].off] = true;
	}
	return len > 0;
}

static bool plan(const char *json, struct dev_rules *r, err_t *e)
{
	struct json *doc = json_parse(json, strlen(json), e);
	bool good = doc && devices_plan(doc, r, e) == 0;
	json_free(doc);
	return good;
}

/* Every request on a grid: the program and devices_allowed agree. */
static bool agrees(const struct dev_rules *r, const char *what)
{
	static struct bpf_insn prog[DEV_MAX_RULES * 9 + 8];
	size_t len = devices_program(r, prog, sizeof(prog) / sizeof(prog[0]));
	if (!len)
		return false;
	static const uint32_t majors[] = { 0, 1, 5, 8, 10, 136, 254 };
	static const uint32_t minors[] = { 0, 1, 2, 3, 5, 9, 11, 200 };
	for (int t = 0; t < 2; t++)
		for (size_t a = 1; a < 8; a++)
			for (size_t i = 0; i < sizeof(majors) / sizeof(majors[0]); i++)
				for (size_t j = 0; j < sizeof(minors) / sizeof(minors[0]); j++) {
					char type = t ? 'c' : 'b';
					uint32_t at = ((uint32_t)a << 16) | (t ? BPF_DEVCG_DEV_CHAR : BPF_DEVCG_DEV_BLOCK);
					int got = run(prog, len, at, majors[i], minors[j]);
					bool want = devices_allowed(r, type, majors[i], minors[j], (uint8_t)a);
					if (got != (want ? 1 : 0)) {
						tap_diag("%s: %c %u:%u access %zu: program %d, rules %d", what, type, majors[i], minors[j], a, got, want);
						return false;
					}
				}
	return true;
}

TAP_SUITE(test_devices)
{
	struct dev_rules r;
	err_t e;
	ok(plan("[]", &r, &e), "no rules");
	ok(!devices_allowed(&r, 'b', 8, 0, DEV_READ), "no rules: a disk cannot be read");
	ok(devices_allowed(&r, 'c', 1, 3, DEV_READ | DEV_WRITE), "/dev/null is a default device");
	ok(devices_allowed(&r, 'c', 136, 4, DEV_READ), "so is a pts");
	ok(devices_allowed(&r, 'b', 8, 0, DEV_MKNOD), "mknod of anything is allowed, as in runc");
	ok(!devices_allowed(&r, 'c', 1, 11, DEV_WRITE), "/dev/kmsg is not a default device");
	ok(agrees(&r, "defaults"), "the program decides as the rules do: defaults");
	ok(all_reachable(&r), "every instruction can be reached: defaults");

	ok(plan("[{\"allow\":true,\"type\":\"a\",\"access\":\"rwm\"}]", &r, &e), "LinuxKit's devices: all of type a");
	ok(devices_allowed(&r, 'b', 8, 0, DEV_READ | DEV_WRITE), "then a disk can be written");
	ok(agrees(&r, "all"), "the program decides as the rules do: all");
	ok(all_reachable(&r), "every instruction can be reached (the verifier refuses a program with dead code)");


	ok(plan("[{\"allow\":false,\"access\":\"rwm\"},{\"allow\":true,\"type\":\"b\",\"major\":8,\"minor\":null,\"access\":\"r\"},"
		"{\"allow\":false,\"type\":\"b\",\"major\":8,\"minor\":1},{\"allow\":true,\"type\":\"c\",\"major\":10,\"minor\":200}]",
		&r, &e), "deny all, then some allows and a deny");
	ok(devices_allowed(&r, 'b', 8, 0, DEV_READ), "sda can be read");
	ok(!devices_allowed(&r, 'b', 8, 0, DEV_WRITE), "but not written (r only)");
	ok(!devices_allowed(&r, 'b', 8, 1, DEV_READ), "a later deny wins over an earlier allow");
	ok(devices_allowed(&r, 'c', 10, 200, DEV_READ | DEV_WRITE), "tun");
	ok(agrees(&r, "mixed"), "the program decides as the rules do: mixed");
	ok(all_reachable(&r), "every instruction can be reached: mixed");

	/* Negative control: the comparison can fail. */
	struct dev_rules wrong = r;
	wrong.r[1].access = DEV_READ | DEV_WRITE;
	static struct bpf_insn prog[DEV_MAX_RULES * 9 + 8];
	size_t len = devices_program(&wrong, prog, sizeof(prog) / sizeof(prog[0]));
	is_int(run(prog, len, (DEV_WRITE << 16) | BPF_DEVCG_DEV_BLOCK, 8, 0), 1, "a program from other rules decides otherwise");
	ok(!devices_allowed(&r, 'b', 8, 0, DEV_WRITE), "than these rules");
	ok(devices_program(&r, prog, 5) == 0, "a program that does not fit is refused");

	ok(!plan("{}", &r, &e) && strstr(e.msg, "must be an array"), "not an array");
	ok(!plan("[{\"type\":\"c\"}]", &r, &e) && strstr(e.msg, "devices[0].allow"), "allow is required");
	ok(!plan("[{\"allow\":true,\"type\":\"x\"}]", &r, &e) && strstr(e.msg, "devices[0].type"), "a bad type");
	ok(!plan("[{\"allow\":true,\"access\":\"rx\"}]", &r, &e) && strstr(e.msg, "\"rx\" is not made of r, w and m"), "a bad access");
	ok(!plan("[{\"allow\":true,\"major\":1.5}]", &r, &e) && strstr(e.msg, "devices[0].major"), "a bad major");
}

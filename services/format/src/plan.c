#include "plan.h"

#include <stdio.h>
#include <string.h>

/* "an ext4 file system labelled \"DATA\"", "a squashfs file system", "a swap area", ... */
static void describe_fs(const struct fs_info *fs, char *buf, size_t size)
{
	char noun[96];
	switch (fs->kind) {
	case FS_LUKS: snprintf(noun, sizeof(noun), "a LUKS volume"); break;
	case FS_LVM2: snprintf(noun, sizeof(noun), "an LVM physical volume"); break;
	case FS_MDRAID: snprintf(noun, sizeof(noun), "a RAID member"); break;
	case FS_SWAP: snprintf(noun, sizeof(noun), "a swap area"); break;
	case FS_JBD: snprintf(noun, sizeof(noun), "an ext journal"); break;
	default:
		snprintf(noun, sizeof(noun), "%s %s file system", fs->name[0] && strchr("aeiox", fs->name[0]) ? "an" : "a", fs->name);
	}
	if (fs->label[0])
		snprintf(buf, size, "%s labelled \"%s\"", noun, fs->label);
	else
		snprintf(buf, size, "%s", noun);
}

void inspect(const unsigned char *head, size_t head_len, const unsigned char *tail, size_t tail_len,
	     uint64_t disk_bytes, uint32_t ssz, const struct want *w, struct inspection *out)
{
	char fs[160];
	memset(out, 0, sizeof(*out));
	size_t edge = head_len < EDGE_BYTES ? head_len : EDGE_BYTES;
	long long at_head = first_nonzero(head, edge), at_tail = first_nonzero(tail, tail_len);
	if (at_head < 0 && at_tail < 0) {
		out->verdict = V_EMPTY;
		snprintf(out->what, sizeof(out->what), "empty (its first and last MiB are zeros)");
		return;
	}

	out->verdict = V_DATA;
	if (probe_fs(head, head_len, &out->fs)) {
		describe_fs(&out->fs, fs, sizeof(fs));
		snprintf(out->what, sizeof(out->what), "holds %s", fs);
		return;
	}

	ptable_read(head, head_len, ssz, disk_bytes, &out->pt);
	const char *table = ptable_name(out->pt.kind);
	if (out->pt.kind == PT_NONE) {
		if (at_head >= 0)
			snprintf(out->what, sizeof(out->what), "holds data (its first non-zero byte is at offset %lld)", at_head);
		else
			snprintf(out->what, sizeof(out->what), "holds data near its end (at offset %llu)",
				 (unsigned long long)(disk_bytes - tail_len + (uint64_t)at_tail));
		return;
	}
	if (out->pt.problem) {
		snprintf(out->what, sizeof(out->what), "has a %s partition table, with %s", table, out->pt.problem);
		return;
	}
	if (!ptable_is_ours(&out->pt, disk_bytes, ssz)) {
		snprintf(out->what, sizeof(out->what), "has a %s partition table with %u partition%s", table,
			 out->pt.count, out->pt.count == 1 ? "" : "s");
		return;
	}

	uint64_t off = out->pt.parts[0].first * ssz;
	if (off >= head_len) {
		snprintf(out->what, sizeof(out->what), "has a %s partition table with 1 partition", table);
		return;
	}
	const unsigned char *part = head + off;
	size_t part_len = head_len - (size_t)off;
	if (probe_fs(part, part_len, &out->fs)) {
		describe_fs(&out->fs, fs, sizeof(fs));
		if (fs_is_ext(out->fs.kind) && strcmp(out->fs.name, w->type) == 0 && strcmp(out->fs.label, w->label) == 0) {
			out->verdict = V_OURS;
			snprintf(out->what, sizeof(out->what), "already formatted: partition 1 (%s table) holds %s", table, fs);
		} else {
			snprintf(out->what, sizeof(out->what), "has a %s partition table whose partition 1 holds %s", table, fs);
		}
		return;
	}
	if (first_nonzero(part, part_len) < 0) {
		out->verdict = V_UNFINISHED;
		snprintf(out->what, sizeof(out->what),
			 "has the %s partition table format makes, but no file system yet (an earlier run stopped halfway?)",
			 table);
		return;
	}
	snprintf(out->what, sizeof(out->what), "has a %s partition table whose partition 1 holds data of an unknown kind",
		 table);
}

void decide(const struct candidate *c, size_t n, bool explicit, bool force, struct decision *d)
{
	memset(d, 0, sizeof(*d));
	d->action = ACT_FAIL;
	if (explicit) {
		const struct candidate *x = &c[0];
		if (x->skip[0]) {
			snprintf(d->why, sizeof(d->why), "%s: %s", x->name, x->skip);
			return;
		}
		switch (x->in.verdict) {
		case V_EMPTY:
			d->action = ACT_FORMAT;
			snprintf(d->why, sizeof(d->why), "%s: %s", x->name, x->in.what);
			return;
		case V_OURS:
		case V_UNFINISHED:
		case V_DATA:
			if (force) {
				d->action = ACT_FORMAT;
				snprintf(d->why, sizeof(d->why), "%s: %s; formatting it anyway (-force)", x->name, x->in.what);
			} else if (x->in.verdict == V_OURS) {
				d->action = ACT_LEAVE;
				snprintf(d->why, sizeof(d->why), "%s: %s; leaving it alone", x->name, x->in.what);
			} else if (x->in.verdict == V_UNFINISHED) {
				d->action = ACT_FORMAT;
				snprintf(d->why, sizeof(d->why), "%s: %s", x->name, x->in.what);
			} else {
				snprintf(d->why, sizeof(d->why),
					 "%s is not empty: it %s. format only formats empty disks; leaving it alone (-force would format it anyway)",
					 x->name, x->in.what);
			}
			return;
		}
		return;
	}

	/* A disk formatted on an earlier boot wins; then one left halfway; then the first empty one. */
	static const enum verdict order[] = { V_OURS, V_UNFINISHED, V_EMPTY };
	static const enum action acts[] = { ACT_LEAVE, ACT_FORMAT, ACT_FORMAT };
	for (size_t k = 0; k < ARRAY_LEN(order); k++) {
		for (size_t i = 0; i < n; i++) {
			if (c[i].skip[0] || c[i].in.verdict != order[k])
				continue;
			d->action = acts[k];
			d->index = i;
			snprintf(d->why, sizeof(d->why), "%s: %s%s", c[i].name, c[i].in.what,
				 acts[k] == ACT_LEAVE ? "; leaving it alone" : "");
			return;
		}
	}

	size_t len = (size_t)snprintf(d->why, sizeof(d->why), "no eligible disk");
	for (size_t i = 0; i < n && len < sizeof(d->why); i++)
		len += (size_t)snprintf(d->why + len, sizeof(d->why) - len, "%s %s: %s", i ? ";" : ":", c[i].name,
					c[i].skip[0] ? c[i].skip : c[i].in.what);
	if (n == 0 && len < sizeof(d->why))
		snprintf(d->why + len, sizeof(d->why) - len, ": no disks found");
}

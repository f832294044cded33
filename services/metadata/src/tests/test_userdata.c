#include "../common/tests/tap.h"
#include "../userdata.h"
#include "helpers.h"

static int process(const char *dir, const char *text, struct userdata_result *r)
{
	err_t e;
	int rc = userdata_process(dir, text, strlen(text), r, &e);
	if (rc < 0)
		tap_diag("%s", e.msg);
	return rc;
}

TAP_SUITE(test_userdata)
{
	struct userdata_result r;
	char *d;

	/* LinuxKit's own example (docs/metadata.md). */
	d = scratch_dir();
	static const char sample[] = "{\n"
				     "  \"ssh\": {\"entries\": {\"sshd_config\": {\"perm\": \"0600\",\n"
				     "    \"content\": \"PermitRootLogin yes\\nPasswordAuthentication no\"}}},\n"
				     "  \"foo\": {\"entries\": {\"bar\": {\"content\": \"foobar\"},\n"
				     "    \"baz\": {\"perm\": \"0600\", \"content\": \"bar\"}}}\n"
				     "}\n";
	is_int(process(d, sample, &r), 0, "LinuxKit's example");
	ok(r.json, "is its JSON format");
	is_int(r.files, 3, "3 files");
	is_int(r.dirs, 2, "2 folders");
	is_int(r.skipped, 0, "nothing skipped");
	is_str(get_str(d, "userdata"), sample, "userdata holds the bytes as given");
	is_int(get_mode(d, "userdata"), 0644, "mode 0644");
	is_str(get_str(d, "ssh/sshd_config"), "PermitRootLogin yes\nPasswordAuthentication no", "ssh/sshd_config");
	is_int(get_mode(d, "ssh/sshd_config"), 0600, "with its perm");
	is_int(get_mode(d, "ssh"), 0755, "folders default to 0755");
	is_str(get_str(d, "foo/bar"), "foobar", "foo/bar");
	is_int(get_mode(d, "foo/bar"), 0644, "files default to 0644");
	is_str(get_str(d, "foo/baz"), "bar", "foo/baz");
	remove_tree(d);

	/* Modes are what was asked for, whatever the umask. */
	d = scratch_dir();
	mode_t old = umask(077);
	is_int(process(d, "{\"a\": {\"perm\": \"0750\", \"entries\": {\"b\": {\"perm\": \"0664\", \"content\": \"\"}, \"c\": {\"entries\": {}}}}}", &r), 0,
	       "perms under umask 077");
	umask(old);
	is_int(get_mode(d, "a"), 0750, "folder 0750");
	is_int(get_mode(d, "a/b"), 0664, "file 0664");
	is_str(get_str(d, "a/b"), "", "an empty content is an empty file");
	is_int(get_mode(d, "a/c"), 0755, "an empty entries is an empty folder");
	is_int(get_mode(d, "userdata"), 0644, "userdata 0644");
	remove_tree(d);

	/* Not JSON, or JSON of another shape: kept as userdata only. */
	static const char *const not_ours[] = {
		"hello from user data\n",
		"#cloud-config\nhostname: x\n",
		"[1, 2]",
		"\"a string\"",
		"{\"a\": \"not an entry\"}",
		"{\"a\": {\"content\": 42}}",
		"{\"a\": {\"perm\": 600, \"content\": \"x\"}}",
		"{\"a\": {\"entries\": []}}",
		"{\"ok\": {\"content\": \"x\"}, \"a\": {\"entries\": {\"b\": {\"content\": true}}}}",
	};
	for (size_t i = 0; i < ARRAY_LEN(not_ours); i++) {
		d = scratch_dir();
		is_int(process(d, not_ours[i], &r), 0, "not LinuxKit's format, case %zu", i);
		ok(!r.json && r.files == 0, "  only userdata is written");
		is_str(get_str(d, "userdata"), not_ours[i], "  userdata holds it");
		is_str(get_str(d, "ok"), "(missing)", "  nothing else (Go refuses the whole document on a type error)");
		remove_tree(d);
	}

	/* One bad entry spoils nothing else. */
	d = scratch_dir();
	is_int(process(d, "{\"both\": {\"content\": \"x\", \"entries\": {}}, \"neither\": {\"perm\": \"0600\"}, \"nul\": null,"
			  " \"..\": {\"content\": \"escape\"}, \"a/b\": {\"content\": \"x\"}, \"\": {\"content\": \"x\"},"
			  " \"badperm\": {\"perm\": \"0800\", \"content\": \"x\"}, \"big\": {\"perm\": \"17777\", \"content\": \"x\"},"
			  " \"dir\": {\"entries\": {\"..\": {\"content\": \"up\"}, \"fine\": {\"content\": \"yes\", \"perm\": \"0400\"}}}}",
		       &r),
	       0, "entries LinuxKit calls invalid, and names that would leave the folder");
	ok(r.json, "still its format");
	is_int(r.files, 1, "the one good file is written");
	is_int(r.skipped, 9, "9 entries skipped");
	is_str(get_str(d, "dir/fine"), "yes", "dir/fine");
	is_int(get_mode(d, "dir/fine"), 0400, "mode 0400");
	is_int(get_mode(d, "both"), -1, "content and entries together: neither written");
	is_int(get_mode(d, "neither"), -1, "neither content nor entries: nothing");
	is_str(get_str(d, "../escape"), "(missing)", "\"..\" wrote nothing outside");
	is_int(get_mode(d, "badperm"), -1, "a perm with an 8 is refused");
	remove_tree(d);

	/* The user data may overwrite what is there, but never through a link. */
	d = scratch_dir();
	char target[600], link[600];
	snprintf(target, sizeof(target), "%s/target", d);
	snprintf(link, sizeof(link), "%s/link", d);
	put_str(d, "target", "original");
	ok(symlink(target, link) == 0, "a symlink in the folder");
	is_int(process(d, "{\"link\": {\"content\": \"changed\"}}", &r), 0, "an entry named like it");
	is_int(r.skipped, 1, "is skipped");
	is_str(get_str(d, "target"), "original", "the link's target is untouched");
	remove_tree(d);

	unsigned mode = 0;
	is_int(parse_perm("0600", &mode), 0, "parse_perm 0600");
	is_int(mode, 0600, "  = 0600");
	is_int(parse_perm("644", &mode), 0, "644 without a leading 0");
	is_int(mode, 0644, "  = 0644");
	is_int(parse_perm("", &mode), -1, "empty is refused");
	is_int(parse_perm("0o644", &mode), -1, "0o644 is refused");
	is_int(parse_perm("-1", &mode), -1, "-1 is refused");
	ok(entry_name_ok("authorized_keys", 15), "a plain name");
	ok(!entry_name_ok(".", 1), "not .");
	ok(!entry_name_ok("a\0b", 3), "not with a NUL");
}

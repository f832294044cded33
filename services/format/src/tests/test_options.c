#include "../options.h"
#include "../common/tests/tap.h"

#define PARSE(...) \
	options_parse((int)(sizeof((char *const[]){ "format", __VA_ARGS__ }) / sizeof(char *)), \
		      (char *const[]){ "format", __VA_ARGS__, NULL }, &o, &e)

TAP_SUITE(test_format_options)
{
	struct options o;
	err_t e;
	ok(options_parse(1, (char *const[]){ "format", NULL }, &o, &e) == 0, "no arguments");
	is_str(o.type, "ext4", "default -type ext4");
	is_str(o.label, "", "default: no label");
	is_int(o.table, PT_DOS, "default -partition dos");
	ok(!o.force && !o.verbose && o.device == NULL, "no -force, no -verbose, no device");

	ok(PARSE("-type", "ext3", "-label", "DATA", "-partition", "gpt", "-force", "-verbose", "/dev/vdb") == 0,
	   "every flag and a device");
	is_str(o.type, "ext3", "-type");
	is_str(o.label, "DATA", "-label");
	is_int(o.table, PT_GPT, "-partition gpt");
	ok(o.force && o.verbose, "-force -verbose");
	is_str(o.device, "/dev/vdb", "the device");

	ok(PARSE("--label=X", "--type=ext2") == 0, "--name=value works too");
	is_str(o.type, "ext2", "ext2");

	is_int(PARSE("-type", "xfs"), -1, "-type xfs is refused");
	ok(strstr(e.msg, "-type xfs") && strstr(e.msg, "ext4, ext3 and ext2"), "naming what the image supports: %s", e.msg);
	is_int(PARSE("-type", "btrfs", "/dev/vda"), -1, "-type btrfs too");
	is_int(PARSE("-partition", "mbr"), -1, "-partition mbr is refused");
	ok(strstr(e.msg, "dos or gpt") != NULL, "says what it takes");
	is_int(PARSE("-label", "seventeen-bytes-x"), -1, "a label longer than 16 bytes");
	ok(PARSE("-label", "sixteen-bytes-xx") == 0, "16 bytes is fine");
	is_int(PARSE("/dev/vda", "/dev/vdb"), -1, "two devices");
	ok(strstr(e.msg, "too many arguments") != NULL, "too many arguments");
	is_int(PARSE("/dev/vda", "-force"), -1, "a flag after the device is an argument, as in Go");
	is_int(PARSE("-size", "1G"), -1, "an unknown flag");
	is_int(PARSE("-help"), OPTIONS_HELP, "-help");
}

#include "options.h"

#include <string.h>

#include "common/flags.h"

/* ext file systems keep 16 bytes of label. */
#define EXT_LABEL_MAX 16

static struct options parsed;

static const struct flag format_flags[] = {
	{ "force", "Force format of specified single device (default false)", NULL, &parsed.force },
	{ "label", "Disk label to apply", &parsed.label, NULL },
	{ "partition", "Type of partition table to create: dos or gpt (default \"dos\")", &parsed.partition, NULL },
	{ "type", "Type of filesystem to create: ext4, ext3 or ext2 (default \"ext4\")", &parsed.type, NULL },
	{ "verbose", "Enable verbose output (default false)", NULL, &parsed.verbose },
};

void options_usage(FILE *out)
{
	flags_usage(out, FORMAT_SYNOPSIS, format_flags, ARRAY_LEN(format_flags));
}

int options_parse(int argc, char *const argv[], struct options *o, err_t *e)
{
	memset(&parsed, 0, sizeof(parsed));
	parsed.type = "ext4";
	parsed.label = "";
	parsed.partition = "dos";
	int first = flags_parse(format_flags, ARRAY_LEN(format_flags), argc, argv, e);
	if (first == FLAGS_HELP)
		return OPTIONS_HELP;
	if (first < 0)
		return -1;
	if (argc - first > 1)
		return err_set(e, "too many arguments: give at most one device (flags go before it)");
	parsed.device = argc - first == 1 ? argv[first] : NULL;

	if (strcmp(parsed.type, "ext4") != 0 && strcmp(parsed.type, "ext3") != 0 && strcmp(parsed.type, "ext2") != 0)
		return err_set(e,
			       "-type %s: this image makes ext4, ext3 and ext2 file systems only (it carries Debian's mke2fs, not the tools for %s)",
			       parsed.type, parsed.type[0] ? parsed.type : "that");
	if (strcmp(parsed.partition, "dos") == 0)
		parsed.table = PT_DOS;
	else if (strcmp(parsed.partition, "gpt") == 0)
		parsed.table = PT_GPT;
	else
		return err_set(e, "-partition %s: the partition table is dos or gpt", parsed.partition);
	if (strlen(parsed.label) > EXT_LABEL_MAX)
		return err_set(e, "-label %s: an ext file system label holds at most %d bytes", parsed.label, EXT_LABEL_MAX);
	*o = parsed;
	return 0;
}

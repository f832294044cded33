#include "flags.h"

#include <string.h>

static int parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = { "1", "t", "T", "true", "TRUE", "True" };
	static const char *const no[] = { "0", "f", "F", "false", "FALSE", "False" };
	for (size_t i = 0; i < ARRAY_LEN(yes); i++)
		if (strcmp(s, yes[i]) == 0)
			return *out = true, 0;
	for (size_t i = 0; i < ARRAY_LEN(no); i++)
		if (strcmp(s, no[i]) == 0)
			return *out = false, 0;
	return -1;
}

int flags_parse(const struct flag *flags, size_t n, int argc, char *const argv[], err_t *e)
{
	int i = 1;
	while (i < argc) {
		const char *arg = argv[i];
		if (arg[0] != '-' || arg[1] == '\0')
			break;
		i++;
		const char *name = arg + 1;
		if (name[0] == '-') {
			name++;
			if (name[0] == '\0') /* "--" ends the flags */
				break;
		}
		if (name[0] == '-' || name[0] == '=')
			return err_set(e, "bad flag syntax: %s", arg);

		const char *eq = strchr(name, '=');
		size_t len = eq ? (size_t)(eq - name) : strlen(name);
		const struct flag *f = NULL;
		for (size_t k = 0; k < n && !f; k++)
			if (strlen(flags[k].name) == len && strncmp(flags[k].name, name, len) == 0)
				f = &flags[k];
		if (!f) {
			if ((len == 1 && name[0] == 'h') || (len == 4 && strncmp(name, "help", 4) == 0))
				return FLAGS_HELP;
			return err_set(e, "flag provided but not defined: -%.*s", (int)len, name);
		}

		if (f->on) {
			if (eq && parse_bool(eq + 1, f->on) < 0)
				return err_set(e, "invalid boolean value \"%s\" for -%s: parse error", eq + 1, f->name);
			if (!eq)
				*f->on = true;
			continue;
		}
		if (eq) {
			*f->value = eq + 1;
		} else if (i < argc) {
			/* As in Go, the next argument is the value even when it looks like a flag. */
			*f->value = argv[i++];
		} else {
			return err_set(e, "flag needs an argument: -%s", f->name);
		}
	}
	return i;
}

void flags_usage(FILE *out, const char *synopsis, const struct flag *flags, size_t n)
{
	fprintf(out, "Usage: %s\n", synopsis);
	for (size_t i = 0; i < n; i++)
		fprintf(out, "  -%s%s\n    \t%s\n", flags[i].name, flags[i].on ? "" : " string", flags[i].help);
}

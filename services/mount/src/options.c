#include "options.h"

#include <string.h>

#include "common/flags.h"

static const char *device, *label, *uuid, *timeout;

static const struct flag mountie_flags[] = {
	{ "device", "Name of the device to mount", &device, NULL },
	{ "label", "Label of the device to mount", &label, NULL },
	{ "timeout", "Seconds to wait for the device to appear (default 10)", &timeout, NULL },
	{ "uuid", "UUID of the device to mount", &uuid, NULL },
};

void options_usage(FILE *out)
{
	flags_usage(out, MOUNTIE_SYNOPSIS, mountie_flags, ARRAY_LEN(mountie_flags));
}

static const char *nonempty(const char *s)
{
	return s && s[0] ? s : NULL;
}

int options_parse(int argc, char *const argv[], struct options *o, err_t *e)
{
	device = label = uuid = timeout = NULL;
	int first = flags_parse(mountie_flags, ARRAY_LEN(mountie_flags), argc, argv, e);
	if (first == FLAGS_HELP)
		return OPTIONS_HELP;
	if (first < 0)
		return -1;
	memset(o, 0, sizeof(*o));
	o->device = nonempty(device);
	o->label = nonempty(label);
	o->uuid = nonempty(uuid);
	o->timeout_ms = DEFAULT_TIMEOUT_MS;

	switch (argc - first) {
	case 0:
		return err_set(e, "no mount point given");
	case 1:
		o->mountpoint = argv[first];
		break;
	case 2:
		/* As in LinuxKit, a device argument wins over -device. */
		o->device = argv[first];
		o->mountpoint = argv[first + 1];
		break;
	default:
		return err_set(e, "too many arguments: give [DEVICE] MOUNTPOINT (flags go before them)");
	}
	if (o->mountpoint[0] != '/')
		return err_set(e, "mount point %s: give an absolute path", o->mountpoint);
	if ((o->device != NULL) + (o->label != NULL) + (o->uuid != NULL) > 1)
		return err_set(e, "give one of -device (or DEVICE), -label and -uuid");
	if (timeout) {
		char *end;
		unsigned long s = strtoul(timeout, &end, 10);
		if (!timeout[0] || *end || timeout[0] == '-' || s > 3600)
			return err_set(e, "-timeout %s: give whole seconds, 0 to 3600", timeout);
		o->timeout_ms = (unsigned)s * 1000;
	}
	return 0;
}

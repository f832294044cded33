#include "pick.h"

#include <string.h>
#include <strings.h>

bool fs_mountable(const struct fs_info *fs)
{
	return fs_is_ext(fs->kind) || fs->kind == FS_XFS || fs->kind == FS_BTRFS || fs->kind == FS_VFAT;
}

long pick_volume(const struct volume *v, size_t n, const char *label, const char *uuid, bool *ambiguous)
{
	long found = -1;
	*ambiguous = false;
	for (size_t i = 0; i < n; i++) {
		if (!v[i].probed || v[i].fs.kind == FS_NONE)
			continue;
		bool match;
		if (label)
			match = strcmp(v[i].fs.label, label) == 0;
		else if (uuid)
			match = strcasecmp(v[i].fs.uuid, uuid) == 0;
		else
			match = v[i].partition && !v[i].is_virtual && !v[i].mounted && fs_mountable(&v[i].fs);
		if (!match)
			continue;
		if (found >= 0) {
			*ambiguous = true;
			break;
		}
		found = (long)i;
		if (!label && !uuid)
			break;
	}
	return found;
}

enum fsck_verdict fsck_verdict(int status)
{
	/* e2fsck's exit status is a bit mask: 1 fixed, 2 fixed and the
	 * system should reboot (only matters for a mounted root), 4 left
	 * uncorrected, 8 operational error, 16 usage, 32 cancelled, 128
	 * shared library error. Killed by a signal shows as 128+N here. */
	if (status == 0)
		return FSCK_CLEAN;
	if (status == 1 || status == 2 || status == 3)
		return FSCK_REPAIRED;
	return FSCK_REFUSED;
}

#include "../common/tests/tap.h"
#include "../kmod.h"

static const char dep[] =
	"kernel/fs/isofs/isofs.ko:\n"
	"kernel/fs/fat/vfat.ko: kernel/fs/fat/fat.ko\n"
	"kernel/fs/fat/fat.ko:\n"
	"kernel/drivers/scsi/sr_mod.ko: kernel/drivers/cdrom/cdrom.ko kernel/drivers/scsi/scsi_mod.ko kernel/drivers/scsi/scsi_common.ko\n"
	"kernel/drivers/firmware/qemu_fw_cfg.ko.xz:";

TAP_SUITE(test_kmod)
{
	char paths[KMOD_MAX_DEPS + 1][256];
	is_int(kmod_resolve(dep, "isofs", paths, ARRAY_LEN(paths)), 1, "isofs has no dependencies");
	is_str(paths[0], "kernel/fs/isofs/isofs.ko", "its path");
	is_int(kmod_resolve(dep, "vfat", paths, ARRAY_LEN(paths)), 2, "vfat needs fat");
	is_str(paths[0], "kernel/fs/fat/fat.ko", "fat first");
	is_str(paths[1], "kernel/fs/fat/vfat.ko", "vfat last");
	is_int(kmod_resolve(dep, "sr-mod", paths, ARRAY_LEN(paths)), 4, "sr-mod is sr_mod");
	is_str(paths[0], "kernel/drivers/scsi/scsi_common.ko", "the last listed dependency loads first");
	is_str(paths[3], "kernel/drivers/scsi/sr_mod.ko", "the module itself last");
	is_int(kmod_resolve(dep, "qemu_fw_cfg", paths, ARRAY_LEN(paths)), 1, "a compressed module's name");
	is_int(kmod_resolve(dep, "fat_", paths, ARRAY_LEN(paths)), 0, "no module by a longer name");
	is_int(kmod_resolve(dep, "iso", paths, ARRAY_LEN(paths)), 0, "nor by a shorter one");
	is_int(kmod_resolve("", "isofs", paths, ARRAY_LEN(paths)), 0, "an empty modules.dep");

	static const char fs[] = "nodev\tsysfs\nnodev\tproc\n\text4\n\tiso9660\nnodev\ttmpfs\n";
	ok(kmod_has_fs(fs, "iso9660"), "iso9660 is listed");
	ok(kmod_has_fs(fs, "proc"), "a nodev one is listed");
	ok(!kmod_has_fs(fs, "vfat"), "vfat is not");
	ok(!kmod_has_fs(fs, "ext"), "nor a prefix of a listed one");
	ok(!kmod_has_fs(fs, "nodev"), "nor the nodev flag");

	err_t e;
	is_int(kmod_load("/nonexistent", "isofs", &e), -1, "loading from a folder without modules.dep fails");
	ok(strstr(e.msg, "/nonexistent/modules.dep") != NULL, "and names the file");
}

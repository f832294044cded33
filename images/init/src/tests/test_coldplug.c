#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "../coldplug.h"
#include "../common/tests/tap.h"

/* From the modules.alias depmod writes for keel's default kernel (Debian's
 * 6.1 cloud kernel, modules trimmed), with a few lines of other kernels'
 * drivers for character classes and escapes. */
static const char alias_fixture[] =
	"# Aliases extracted from modules themselves.\n"
	"alias fs-overlay overlay\n"
	"alias acpi*:LNXPWRBN:* button\n"
	"alias acpi*:PNP0C0C:* button\n"
	"alias acpi*:LNXSLPBN:* button\n"
	"alias of:N*T*Cvirtio,mmioC* virtio_mmio\n"
	"alias acpi*:LNRO0005:* virtio_mmio\n"
	"alias pci:v00001AF4d*sv*sd*bc*sc*i* virtio_pci\n"
	"alias virtio:d00000005v* virtio_balloon\n"
	"alias virtio:d00000004v* virtio_rng\n"
	"alias virtio:d00000003v* virtio_console\n"
	"alias virtio:d00000001v* virtio_net\n"
	"alias virtio:d00000002v* virtio_blk\n"
	"alias virtio:d00000008v* virtio_scsi\n"
	"alias devname:loop-control loop\n"
	"alias scsi:t-0x00* sd_mod\n"
	"alias scsi:t-0x05* sr_mod\n"
	"alias pci:v00008086d00007010sv*sd*bc*sc*i* ata_piix\n"
	"alias pci:v*d*sv*sd*bc01sc06i01* ahci\n"
	"alias vmbus:d58f75a6d0d814c49294ab6bf91a8ba5* hv_netvsc\n"
	"alias xen:vif xen_netfront\n"
	"alias usb:v*p*d*dc*dsc*dp*ic03isc01ip0[12]in* usbhid\n"
	"alias dmi*:svnQEMU:pnStandard\\*PC* qemu_quirk\n"
	"alias pci:v00001AF4d00001000sv*sd*bc*sc*i* virtio_pci\n"
	"not an alias line\n"
	"alias lonely\n";

static const char *match1(const struct aliasdb *db, const char *modalias)
{
	const char *mods[4];
	size_t n = aliasdb_match(db, modalias, mods, 4);
	return n == 1 ? mods[0] : n == 0 ? "(none)" : "(several)";
}

static void matching(void)
{
	struct aliasdb db = { 0 };
	err_t e;
	char *text = strdup(alias_fixture);
	ok(aliasdb_parse(&db, text, &e) == 0, "modules.alias parses");
	is_int(db.n, 23, "only alias lines with a pattern and a module count");
	is_int(db.v[2].prefix, strlen("acpi"), "a pattern's literal start ends at its first wildcard");
	is_int(db.v[0].prefix, strlen("fs-overlay"), "a pattern without wildcards is all literal");

	/* Real modalias strings, as /sys/devices shows them under QEMU q35. */
	is_str(match1(&db, "pci:v00001AF4d00001000sv00001AF4sd00000001bc02sc00i00"), "virtio_pci",
	       "a virtio PCI device needs virtio_pci (once, though two patterns match)");
	is_str(match1(&db, "virtio:d00000004v00001AF4"), "virtio_rng", "the virtio RNG behind it");
	is_str(match1(&db, "virtio:d00000001v00001AF4"), "virtio_net", "the virtio NIC");
	is_str(match1(&db, "acpi:LNXPWRBN:"), "button", "the ACPI power button");
	is_str(match1(&db, "acpi:PNP0C0C:"), "button", "a power button by its PNP id");
	is_str(match1(&db, "acpi:LNXSYSTM:"), "(none)", "the ACPI root needs nothing");
	is_str(match1(&db, "pci:v00008086d000029C0sv00001AF4sd00001100bc06sc00i00"), "(none)",
	       "a host bridge needs nothing");
	is_str(match1(&db, "pci:v00008086d00002922sv00001AF4sd00001100bc01sc06i01"), "ahci",
	       "an AHCI controller by its class, whatever the vendor");
	is_str(match1(&db, "vmbus:d58f75a6d0d814c49294ab6bf91a8ba5"), "hv_netvsc", "a Hyper-V NIC");
	is_str(match1(&db, "xen:vif"), "xen_netfront", "a Xen NIC: the whole alias, no wildcards");
	is_str(match1(&db, "xen:vbd"), "(none)", "no match for another Xen device");
	is_str(match1(&db, "usb:v0627p0001d0000dc00dsc00dp00ic03isc01ip02in00"), "usbhid",
	       "a character class matches a USB mouse");
	is_str(match1(&db, "usb:v0627p0001d0000dc00dsc00dp00ic03isc01ip03in00"), "(none)",
	       "and only what the class allows");
	is_str(match1(&db, "dmi:bvnSeaBIOS:svnQEMU:pnStandard*PC(Q35+ICH9,2009):"), "qemu_quirk",
	       "an escaped star matches a star");
	is_str(match1(&db, "dmi:bvnSeaBIOS:svnQEMU:pnStandardXPC:"), "(none)", "and nothing else");
	is_str(match1(&db, "scsi:t-0x00"), "sd_mod", "a SCSI disk");
	is_str(match1(&db, "fs-overlay"), "overlay", "a plain alias matches itself");
	is_str(match1(&db, ""), "(none)", "an empty modalias matches nothing");

	const char *mods[1];
	is_int(aliasdb_match(&db, "virtio:d00000008v00001AF4", mods, 0), 1, "counts matches even without room");
	aliasdb_free(&db);
}

static void write_text(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd >= 0) {
		write_all(fd, text, strlen(text));
		close(fd);
	}
}

static void scanning(void)
{
	char root[] = "/tmp/keel-coldplug-test-XXXXXX", p[512];
	char **aliases = NULL;
	size_t n = 0;
	err_t e;
	ok(mkdtemp(root) != NULL, "temp dir");
	static const char *const dirs[] = { "pci0", "pci0/dev1", "pci0/dev1/virtio0", "pci0/dev2", "platform",
					    "platform/cpu0", "platform/cpu1" };
	for (size_t i = 0; i < ARRAY_LEN(dirs); i++) {
		snprintf(p, sizeof(p), "%s/%s", root, dirs[i]);
		mkdir(p, 0755);
	}
	snprintf(p, sizeof(p), "%s/pci0/dev1/modalias", root);
	write_text(p, "pci:v00001AF4d00001005\n");
	snprintf(p, sizeof(p), "%s/pci0/dev1/virtio0/modalias", root);
	write_text(p, "virtio:d00000004v00001AF4\n");
	snprintf(p, sizeof(p), "%s/pci0/dev2/modalias", root);
	write_text(p, "");
	snprintf(p, sizeof(p), "%s/platform/cpu0/modalias", root);
	write_text(p, "cpu:type:x86\n");
	snprintf(p, sizeof(p), "%s/platform/cpu1/modalias", root);
	write_text(p, "cpu:type:x86\n");
	/* A link back up, as sysfs has (subsystem, driver ...): not followed. */
	snprintf(p, sizeof(p), "%s/pci0/dev1/loop", root);
	ok(symlink(root, p) == 0, "a symlink loop");

	ok(coldplug_scan(root, &aliases, &n, &e) == 0, "coldplug_scan");
	is_int(n, 3, "three distinct aliases: empty files and duplicates left out");
	if (n == 3) {
		is_str(aliases[0], "cpu:type:x86", "sorted, newline removed");
		is_str(aliases[1], "pci:v00001AF4d00001005", "the PCI device");
		is_str(aliases[2], "virtio:d00000004v00001AF4", "and the device below it");
	}
	free_names(aliases, n);
	snprintf(p, sizeof(p), "%s/nowhere", root);
	ok(coldplug_scan(p, &aliases, &n, &e) < 0 && strstr(e.msg, "nowhere"), "a missing root is an error");

	char cmd[600];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	ok(system(cmd) == 0, "clean up");
}

TAP_SUITE(test_coldplug)
{
	matching();
	scanning();
}

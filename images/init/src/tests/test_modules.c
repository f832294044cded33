#include <stdlib.h>

#include "../modules.h"
#include "../common/tests/tap.h"

/* From a Debian 6.1 cloud kernel's modules.dep, plus two made-up entries
 * whose dependency list is in an order reverse loading would get wrong. */
static const char dep[] =
	"kernel/drivers/virtio/virtio.ko: kernel/drivers/virtio/virtio_ring.ko\n"
	"kernel/drivers/virtio/virtio_ring.ko:\n"
	"kernel/drivers/virtio/virtio_pci_modern_dev.ko:\n"
	"kernel/drivers/virtio/virtio_pci_legacy_dev.ko:\n"
	"kernel/drivers/virtio/virtio_pci.ko: kernel/drivers/virtio/virtio_pci_legacy_dev.ko "
	"kernel/drivers/virtio/virtio_pci_modern_dev.ko kernel/drivers/virtio/virtio.ko "
	"kernel/drivers/virtio/virtio_ring.ko\n"
	"kernel/drivers/net/net_failover.ko: kernel/net/core/failover.ko\n"
	"kernel/net/core/failover.ko:\n"
	"kernel/drivers/net/virtio_net.ko: kernel/drivers/net/net_failover.ko kernel/net/core/failover.ko "
	"kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko\n"
	"kernel/drivers/char/hw_random/virtio-rng.ko: kernel/drivers/virtio/virtio.ko "
	"kernel/drivers/virtio/virtio_ring.ko\n"
	"kernel/fs/overlayfs/overlay.ko:\n"
	"kernel/x/top.ko: kernel/x/low.ko kernel/x/mid.ko\n"
	"kernel/x/mid.ko: kernel/x/low.ko\n"
	"kernel/x/low.ko:\n"
	"kernel/x/zst-mod.ko.zst:\n";

static const char builtin[] = "kernel/drivers/block/virtio_blk.ko\nkernel/fs/squashfs/squash-fs.ko\n";

static size_t position(const char **order, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++) {
		char norm[MODNAME_MAX];
		modname_normalize(order[i], norm, sizeof(norm));
		if (strcmp(norm, name) == 0)
			return i;
	}
	return (size_t)-1;
}

static void names(void)
{
	char out[MODNAME_MAX];
	modname_normalize("kernel/drivers/char/hw_random/virtio-rng.ko", out, sizeof(out));
	is_str(out, "virtio_rng", "path to name, '-' becomes '_'");
	modname_normalize("virtio-pci", out, sizeof(out));
	is_str(out, "virtio_pci", "bare name");
	modname_normalize("kernel/fs/x/foo-bar.ko.xz", out, sizeof(out));
	is_str(out, "foo_bar", "compressed module");
	modname_normalize("kernel/fs/x/a.kobj.ko", out, sizeof(out));
	is_str(out, "a.kobj", "only a real .ko suffix ends the name");
}

static void plan(void)
{
	struct moddb db = { 0 };
	err_t e;
	ok(moddb_parse_dep(&db, strdup(dep), &e) == 0, "modules.dep parses");
	is_int(db.n, 14, "one entry per line");
	ok(moddb_parse_builtin(&db, strdup(builtin), &e) == 0 && db.nbuiltin == 2, "modules.builtin parses");
	ok(moddb_find(&db, "virtio_rng") != NULL, "find with '_' a module file named with '-'");
	ok(moddb_find(&db, "virtio-net") != NULL, "find with '-' a module named with '_'");
	ok(moddb_is_builtin(&db, "squash_fs") && moddb_is_builtin(&db, "virtio-blk"), "built-in names");
	ok(moddb_find(&db, "zst_mod") != NULL, "compressed module found by name");

	const char *wanted[] = { "virtio_pci", "virtio_blk", "virtio_net", "virtio-rng", "nosuch", "virtio_pci", "top" };
	const char **order;
	size_t n, skipped;
	ok(modules_plan(&db, wanted, ARRAY_LEN(wanted), &order, &n, &skipped, &e) == 0, "plan");
	is_int(n, 12, "each needed module once, built-in and unknown ones left out");
	is_int(skipped, 1, "one unknown name");
	ok(position(order, n, "virtio_blk") == (size_t)-1, "built-in module not loaded");
	ok(position(order, n, "virtio_ring") < position(order, n, "virtio"), "virtio_ring before virtio");
	ok(position(order, n, "virtio") < position(order, n, "virtio_pci"), "virtio before virtio_pci");
	ok(position(order, n, "virtio_pci_legacy_dev") < position(order, n, "virtio_pci"), "legacy dev before virtio_pci");
	ok(position(order, n, "failover") < position(order, n, "net_failover"), "failover before net_failover");
	ok(position(order, n, "net_failover") < position(order, n, "virtio_net"), "net_failover before virtio_net");
	ok(position(order, n, "virtio") < position(order, n, "virtio_rng"), "virtio before virtio-rng");
	ok(position(order, n, "low") < position(order, n, "mid") && position(order, n, "mid") < position(order, n, "top"),
	   "dependencies of dependencies come first whatever the list order");
	free(order);
	moddb_free(&db);
}

static void cmdline(void)
{
	char **list = NULL;
	size_t n = 0;
	err_t e;
	ok(cmdline_modules("console=ttyS0 keel.modules=overlay,squashfs quiet keel.modules=\"a-b\",,c\n",
			   &list, &n, &e) == 0, "cmdline parses");
	ok(n == 4 && !strcmp(list[0], "overlay") && !strcmp(list[1], "squashfs") && !strcmp(list[2], "a-b") &&
	   !strcmp(list[3], "c"), "names from every keel.modules=, quotes and empty items dropped");
	free_names(list, n);
	list = NULL;
	n = 0;
	cmdline_modules("xkeel.modules=foo keel.modules= keel.modulesfoo=bar", &list, &n, &e);
	is_int(n, 0, "near misses and empty values give nothing");
	free_names(list, n);
}

TAP_SUITE(test_modules)
{
	names();
	plan();
	cmdline();
}

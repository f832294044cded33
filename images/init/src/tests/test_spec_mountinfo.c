#include "../spec.h"
#include "../common/tests/tap.h"

/* As a restarted container's runtime.json mounts would leave it without the
 * check: two tmpfs and two overlays stacked, plus unrelated mounts. */
static const char stacked[] =
	"22 1 0:21 / / rw,relatime - tmpfs rootfs rw\n"
	"43 22 0:39 / /containers/services/web/tmp rw,relatime shared:5 - tmpfs tmpfs rw\n"
	"46 22 0:40 / /containers/services/web/rootfs rw,relatime - overlay overlay rw,lowerdir=/a\n"
	"47 43 0:43 / /containers/services/web/tmp rw,relatime - tmpfs tmpfs rw,size=1024k\n"
	"50 46 0:44 / /containers/services/web/rootfs rw,relatime master:1 - overlay overlay rw,lowerdir=/b\n"
	"51 22 0:45 / /containers/services/web/rootfsx rw - ext4 /dev/vda1 rw\n";

TAP_SUITE(test_spec_mountinfo)
{
	struct mountinfo_top top;

	ok(mountinfo_find(stacked, "/containers/services/web/tmp", &top) == 1, "a mount point with two mounts is found");
	is_str(top.fstype, "tmpfs", "its type");
	is_str(top.source, "tmpfs", "its source");

	/* The top is the one whose parent is the other, whatever the order. */
	static const char reversed[] =
		"50 46 0:44 / /r rw - overlay top-one rw\n"
		"46 22 0:40 / /r rw - overlay bottom-one rw\n";
	ok(mountinfo_find(reversed, "/r", &top) == 1 && strcmp(top.source, "top-one") == 0,
	   "the top of a pile is the mount nothing else there sits on");
	ok(mountinfo_find(stacked, "/containers/services/web/rootfs", &top) == 1 && strcmp(top.fstype, "overlay") == 0,
	   "optional fields (master:1) before the \"-\" are skipped");

	ok(mountinfo_find(stacked, "/containers/services/web", &top) == 0, "a folder with nothing on it: 0");
	ok(mountinfo_find(stacked, "/containers/services/web/root", &top) == 0, "a prefix of a mount point is not one");
	ok(mountinfo_find(stacked, "/containers/services/web/rootfsx", &top) == 1 && strcmp(top.source, "/dev/vda1") == 0,
	   "a longer name is another mount point");
	ok(mountinfo_find(stacked, "/", &top) == 1 && strcmp(top.source, "rootfs") == 0, "/ itself");
	ok(mountinfo_find("", "/", &top) == 0, "empty text: nothing mounted");

	static const char escaped[] = "60 22 0:50 / /srv/my\\040data rw - tmpfs my\\134src rw\n";
	ok(mountinfo_find(escaped, "/srv/my data", &top) == 1, "octal escapes in the mount point are undone");
	is_str(top.source, "my\\src", "and in the source");
	ok(mountinfo_find(escaped, "/srv/my\\040data", &top) == 0, "the escaped spelling is not the path");

	static const char broken[] =
		"garbage line\n"
		"61 22 0:50 / /cut rw\n"
		"62 22 0:51 / /fine rw - tmpfs ok rw";
	ok(mountinfo_find(broken, "/cut", &top) == 0, "a line without its \"- TYPE SOURCE\" part is no mount");
	ok(mountinfo_find(broken, "/fine", &top) == 1 && strcmp(top.source, "ok") == 0,
	   "lines around unreadable ones are read, the last without a newline too");
}

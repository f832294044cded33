#include "modules.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/utsname.h>

#include "coldplug.h"
#include "common/inflate.h"
#include "log.h"

#ifndef MODULE_INIT_COMPRESSED_FILE
#define MODULE_INIT_COMPRESSED_FILE 4
#endif

/* Loaded whatever the devices are: nothing names them in a modalias. */
static const char *const default_modules[] = {
	/* Containers with writable roots run on an overlay of their image. */
	"overlay",
	/* The ACPI power button as an input device, read from /dev/input. */
	"button", "evdev",
};

void modname_normalize(const char *path_or_name, char *out, size_t size)
{
	const char *base = strrchr(path_or_name, '/');
	base = base ? base + 1 : path_or_name;
	size_t n = 0;
	for (const char *p = base; *p && n + 1 < size; p++) {
		/* ".ko", ".ko.xz", ".ko.zst" ... end the name. */
		if (p[0] == '.' && p[1] == 'k' && p[2] == 'o' && (p[3] == '\0' || p[3] == '.'))
			break;
		out[n++] = *p == '-' ? '_' : *p;
	}
	out[n] = '\0';
}

static size_t count_lines(const char *s)
{
	size_t n = 1;
	for (; *s; s++)
		n += *s == '\n';
	return n;
}

int moddb_parse_dep(struct moddb *db, char *text, err_t *e)
{
	db->dep_text = text;
	db->ents = calloc(count_lines(text), sizeof(*db->ents));
	if (!db->ents)
		return err_sys(e, "modules.dep");
	char *save_line = NULL;
	for (char *line = strtok_r(text, "\n", &save_line); line; line = strtok_r(NULL, "\n", &save_line)) {
		char *colon = strchr(line, ':');
		if (!colon)
			continue;
		*colon = '\0';
		struct modent *m = &db->ents[db->n];
		m->path = line;
		modname_normalize(line, m->name, sizeof(m->name));
		char *rest = colon + 1, *save = NULL;
		size_t cap = count_lines(rest) + 1;
		for (char *p = rest; *p; p++)
			cap += *p == ' ';
		if (!(m->deps = calloc(cap, sizeof(*m->deps))))
			return err_sys(e, "modules.dep");
		for (char *d = strtok_r(rest, " \t\r", &save); d; d = strtok_r(NULL, " \t\r", &save))
			m->deps[m->ndeps++] = d;
		db->n++;
	}
	return 0;
}

int moddb_parse_builtin(struct moddb *db, char *text, err_t *e)
{
	db->builtin_text = text;
	db->builtin = calloc(count_lines(text), sizeof(*db->builtin));
	if (!db->builtin)
		return err_sys(e, "modules.builtin");
	char *save = NULL;
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char name[MODNAME_MAX];
		modname_normalize(line, name, sizeof(name));
		/* The name is never longer than the path it came from. */
		memcpy(line, name, strlen(name) + 1);
		db->builtin[db->nbuiltin++] = line;
	}
	return 0;
}

void moddb_free(struct moddb *db)
{
	for (size_t i = 0; i < db->n; i++)
		free(db->ents[i].deps);
	free(db->ents);
	free(db->dep_text);
	free(db->builtin);
	free(db->builtin_text);
	memset(db, 0, sizeof(*db));
}

bool moddb_is_builtin(const struct moddb *db, const char *name)
{
	char norm[MODNAME_MAX];
	modname_normalize(name, norm, sizeof(norm));
	for (size_t i = 0; i < db->nbuiltin; i++)
		if (strcmp(db->builtin[i], norm) == 0)
			return true;
	return false;
}

const struct modent *moddb_find(const struct moddb *db, const char *name)
{
	char norm[MODNAME_MAX];
	modname_normalize(name, norm, sizeof(norm));
	for (size_t i = 0; i < db->n; i++)
		if (strcmp(db->ents[i].name, norm) == 0)
			return &db->ents[i];
	return NULL;
}

struct plan {
	const struct moddb *db;
	unsigned char *state; /* per entry: 0 new, 1 being visited, 2 placed */
	const char **order;
	size_t n, skipped;
};

/* modules.dep lists every transitive dependency; modprobe loads them last to
 * first. Recursing as well makes the order right even if the list is not. */
static void visit(struct plan *p, const char *name, int depth)
{
	const struct modent *m = moddb_find(p->db, name);
	if (!m || depth > 32) {
		if (!moddb_is_builtin(p->db, name))
			p->skipped++;
		return;
	}
	size_t i = (size_t)(m - p->db->ents);
	if (p->state[i])
		return; /* placed already, or a cycle, which depmod never writes */
	p->state[i] = 1;
	for (size_t d = m->ndeps; d-- > 0;)
		visit(p, m->deps[d], depth + 1);
	p->state[i] = 2;
	p->order[p->n++] = m->path;
}

int modules_plan(const struct moddb *db, const char *const *wanted, size_t nwanted,
		 const char ***order, size_t *count, size_t *skipped, err_t *e)
{
	struct plan p = { .db = db };
	p.state = calloc(db->n + 1, 1);
	p.order = calloc(db->n + 1, sizeof(*p.order));
	if (!p.state || !p.order) {
		free(p.state);
		free(p.order);
		return err_sys(e, "planning module loads");
	}
	for (size_t i = 0; i < nwanted; i++)
		visit(&p, wanted[i], 0);
	free(p.state);
	*order = p.order;
	*count = p.n;
	if (skipped)
		*skipped = p.skipped;
	return 0;
}

int cmdline_modules(const char *cmdline, char ***names, size_t *count, err_t *e)
{
	static const char key[] = "keel.modules=";
	const char *p = cmdline;
	while (*p) {
		while (*p == ' ' || *p == '\t' || *p == '\n')
			p++;
		const char *tok = p;
		bool quoted = false;
		while (*p && (quoted || (*p != ' ' && *p != '\t' && *p != '\n'))) {
			if (*p == '"')
				quoted = !quoted;
			p++;
		}
		if ((size_t)(p - tok) <= sizeof(key) - 1 || strncmp(tok, key, sizeof(key) - 1) != 0)
			continue;
		for (const char *v = tok + sizeof(key) - 1; v < p;) {
			char name[MODNAME_MAX];
			size_t n = 0;
			for (; v < p && *v != ','; v++)
				if (*v != '"' && n + 1 < sizeof(name))
					name[n++] = *v;
			name[n] = '\0';
			v++;
			if (n == 0)
				continue;
			char **bigger = realloc(*names, (*count + 1) * sizeof(**names));
			if (!bigger)
				return err_sys(e, "keel.modules");
			*names = bigger;
			if (!((*names)[*count] = strdup(name)))
				return err_sys(e, "keel.modules");
			(*count)++;
		}
	}
	return 0;
}

/* The loading state of one boot: what has been tried, what came of it. */
struct loader {
	const char *dir;
	struct moddb db;
	unsigned char *tried; /* per modules.dep entry */
	size_t loaded, failed;
};

int module_load_file(const char *path)
{
	size_t n = strlen(path);
	if (n > 6 && strcmp(path + n - 6, ".ko.gz") == 0) {
		/* Decompressed here: the kernels keel boots are not all built
		 * to decompress modules, and gzip keeps them a third the size
		 * in the initramfs, so in memory. */
		char *gz = NULL;
		unsigned char *ko = NULL;
		size_t gzlen = 0, kolen = 0;
		err_t e;
		if (read_file(path, 64u << 20, &gz, &gzlen, &e) < 0)
			return -1;
		int r = gunzip_mem((const unsigned char *)gz, gzlen, 256u << 20, &ko, &kolen, e.msg, sizeof(e.msg));
		free(gz);
		if (r < 0) {
			log_msg("module %s: %s", path, e.msg);
			errno = ENOEXEC;
			return -1;
		}
		r = (int)syscall(SYS_init_module, ko, kolen, "");
		int saved = errno;
		free(ko);
		errno = saved;
		return r < 0 && errno != EEXIST ? -1 : 0;
	}
	autoclose int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	/* .ko.xz / .ko.zst: the kernel (6.2+) decompresses them if it was built to. */
	const char *base = strrchr(path, '/');
	const char *ext = strstr(base ? base : path, ".ko");
	int flags = ext && ext[3] == '.' ? MODULE_INIT_COMPRESSED_FILE : 0;
	if (syscall(SYS_finit_module, fd, "", flags) < 0 && errno != EEXIST)
		return -1;
	return 0;
}

/* 1 loaded (or already there), 0 absent from the image, -1 failed. */
static int load_one(const char *dir, const char *path)
{
	char full[4096];
	if (path_fmt(full, sizeof(full), "%s/%s", dir, path) < 0)
		return -1;
	if (access(full, F_OK) < 0)
		return errno == ENOENT ? 0 : -1;
	return module_load_file(full) < 0 ? -1 : 1;
}

/* Loads the wanted modules with their dependencies, each module at most
 * once per boot; returns how many were loaded now. */
static size_t load_wanted(struct loader *l, const char *const *wanted, size_t n, bool quiet_nodev)
{
	const char **order = NULL;
	size_t count = 0, before = l->loaded;
	err_t e;
	if (modules_plan(&l->db, wanted, n, &order, &count, NULL, &e) < 0) {
		log_msg("modules: %s", e.msg);
		return 0;
	}
	for (size_t i = 0; i < count; i++) {
		char name[MODNAME_MAX];
		modname_normalize(order[i], name, sizeof(name));
		const struct modent *m = moddb_find(&l->db, name);
		size_t idx = m ? (size_t)(m - l->db.ents) : 0;
		if (!m || l->tried[idx])
			continue;
		l->tried[idx] = 1;
		int r = load_one(l->dir, order[i]);
		if (r > 0) {
			l->loaded++;
			continue;
		}
		if (r < 0) {
			l->failed++;
			/* A driver matched by alias may still find no device it can drive. */
			if (!(quiet_nodev && (errno == ENODEV || errno == ENXIO)))
				log_msg("module %s: %s", name, strerror(errno));
		}
	}
	free(order);
	return l->loaded - before;
}

static int by_string(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* One coldplug round: modules for the device aliases not seen before.
 * Returns how many modules were loaded. */
static size_t coldplug_round(struct loader *l, const struct aliasdb *aliases, char ***seen, size_t *nseen,
			     size_t *devices)
{
	char **found;
	size_t nfound;
	err_t e;
	if (coldplug_scan("/sys/devices", &found, &nfound, &e) < 0) {
		log_msg("coldplug: %s", e.msg);
		return 0;
	}
	*devices = nfound;
	const char **wanted = calloc(aliases->n + 1, sizeof(*wanted));
	size_t nwanted = 0;
	for (size_t i = 0; wanted && i < nfound; i++) {
		if (*nseen > 0 && bsearch(&found[i], *seen, *nseen, sizeof(**seen), by_string))
			continue; /* matched in an earlier round */
		const char *mods[16];
		size_t m = aliasdb_match(aliases, found[i], mods, ARRAY_LEN(mods));
		for (size_t k = 0; k < m && k < ARRAY_LEN(mods) && nwanted < aliases->n; k++) {
			if (moddb_is_builtin(&l->db, mods[k]))
				continue;
			const struct modent *ent = moddb_find(&l->db, mods[k]);
			if (ent && !l->tried[ent - l->db.ents])
				wanted[nwanted++] = mods[k];
		}
	}
	size_t loaded = wanted ? load_wanted(l, wanted, nwanted, true) : 0;
	free(wanted);
	free_names(*seen, *nseen);
	*seen = found;
	*nseen = nfound;
	return loaded;
}

static void load_modules(const char *dir, size_t *loaded, size_t *by_alias, size_t *devices, unsigned *rounds)
{
	char path[600];
	struct loader l = { .dir = dir };
	struct aliasdb aliases = { 0 };
	char **extra = NULL, *text = NULL, **seen = NULL;
	size_t nextra = 0, nseen = 0;
	err_t e;

	snprintf(path, sizeof(path), "%s/modules.dep", dir);
	if (read_file(path, 64u << 20, &text, NULL, &e) < 0) {
		log_msg("modules: %s", e.msg);
		return;
	}
	if (moddb_parse_dep(&l.db, text, &e) < 0 || (!(l.tried = calloc(l.db.n + 1, 1)) && err_sys(&e, "modules")))
		goto fail;
	snprintf(path, sizeof(path), "%s/modules.builtin", dir);
	if (read_file(path, 16u << 20, &text, NULL, &e) == 0 && moddb_parse_builtin(&l.db, text, &e) < 0)
		goto fail;
	if (read_file("/proc/cmdline", 65536, &text, NULL, &e) == 0) {
		int c = cmdline_modules(text, &extra, &nextra, &e);
		free(text);
		if (c < 0)
			goto fail;
	}

	const char *wanted[ARRAY_LEN(default_modules) + 64];
	size_t nwanted = 0;
	for (size_t i = 0; i < ARRAY_LEN(default_modules); i++)
		wanted[nwanted++] = default_modules[i];
	for (size_t i = 0; i < nextra && nwanted < ARRAY_LEN(wanted); i++) {
		if (!moddb_find(&l.db, extra[i]) && !moddb_is_builtin(&l.db, extra[i]))
			log_msg("keel.modules: no module named %s", extra[i]);
		wanted[nwanted++] = extra[i];
	}
	load_wanted(&l, wanted, nwanted, false);

	snprintf(path, sizeof(path), "%s/modules.alias", dir);
	if (read_file(path, 64u << 20, &text, NULL, &e) < 0) {
		log_msg("coldplug: %s", e.msg);
	} else if (aliasdb_parse(&aliases, text, &e) < 0) {
		log_msg("coldplug: %s", e.msg);
	} else {
		/* A new driver can reveal more devices (virtio_pci -> the
		 * virtio devices behind it): again until nothing new loads. */
		size_t before = l.loaded, n;
		while (*rounds < COLDPLUG_MAX_ROUNDS) {
			++*rounds;
			n = coldplug_round(&l, &aliases, &seen, &nseen, devices);
			if (n == 0)
				break;
		}
		*by_alias = l.loaded - before;
	}
	goto out;
fail:
	log_msg("modules: %s", e.msg);
out:
	*loaded = l.loaded;
	free_names(seen, nseen);
	free_names(extra, nextra);
	aliasdb_free(&aliases);
	free(l.tried);
	moddb_free(&l.db);
}

void modules_load_all(void)
{
	uint64_t start = now_ms();
	struct utsname u;
	char dir[sizeof(u.release) + 16];
	size_t loaded = 0, by_alias = 0, devices = 0;
	unsigned rounds = 0;

	uname(&u);
	snprintf(dir, sizeof(dir), "/lib/modules/%s", u.release);
	if (access(dir, F_OK) < 0) {
		log_msg("modules: no %s; none loaded", dir);
		return;
	}
	load_modules(dir, &loaded, &by_alias, &devices, &rounds);
	log_msg("modules loaded: %zu (%zu for %zu device aliases, %u coldplug rounds) in %llu ms", loaded,
		by_alias, devices, rounds, (unsigned long long)(now_ms() - start));
}

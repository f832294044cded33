#include "modules.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/utsname.h>

#include "log.h"

#ifndef MODULE_INIT_COMPRESSED_FILE
#define MODULE_INIT_COMPRESSED_FILE 4
#endif

static const char *const default_modules[] = {
	"virtio_pci", "virtio_blk", "virtio_net", "virtio_console", "virtio_rng", "virtio_scsi",
	/* Containers with writable roots run on an overlay of their image. */
	"overlay",
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

/* 1 loaded (or already there), 0 absent from the image, -1 failed. */
static int load_one(const char *dir, const char *path)
{
	char full[4096];
	if (path_fmt(full, sizeof(full), "%s/%s", dir, path) < 0)
		return -1;
	autoclose int fd = open(full, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -1;
	/* Uncompressed is the norm; for .ko.xz/.ko.zst the kernel (6.2+) can
	 * decompress if it was built to. */
	const char *ext = strstr(strrchr(full, '/'), ".ko");
	int flags = ext && ext[3] == '.' ? MODULE_INIT_COMPRESSED_FILE : 0;
	if (syscall(SYS_finit_module, fd, "", flags) < 0 && errno != EEXIST)
		return -1;
	return 1;
}

static int load_modules(const char *dir, size_t *loaded, err_t *e)
{
	char path[600];
	struct moddb db = { 0 };
	char **extra = NULL, *text = NULL;
	size_t nextra = 0, count = 0;
	const char **order = NULL;
	int r = -1;

	snprintf(path, sizeof(path), "%s/modules.dep", dir);
	if (read_file(path, 64u << 20, &text, NULL, e) < 0)
		return -1;
	if (moddb_parse_dep(&db, text, e) < 0)
		goto out;
	snprintf(path, sizeof(path), "%s/modules.builtin", dir);
	if (read_file(path, 16u << 20, &text, NULL, e) == 0 && moddb_parse_builtin(&db, text, e) < 0)
		goto out;
	if (read_file("/proc/cmdline", 65536, &text, NULL, e) == 0) {
		int c = cmdline_modules(text, &extra, &nextra, e);
		free(text);
		if (c < 0)
			goto out;
	}

	const char *wanted[ARRAY_LEN(default_modules) + 64];
	size_t nwanted = 0;
	for (size_t i = 0; i < ARRAY_LEN(default_modules); i++)
		wanted[nwanted++] = default_modules[i];
	for (size_t i = 0; i < nextra && nwanted < ARRAY_LEN(wanted); i++) {
		if (!moddb_find(&db, extra[i]) && !moddb_is_builtin(&db, extra[i]))
			log_msg("keel.modules: no module named %s", extra[i]);
		wanted[nwanted++] = extra[i];
	}

	if (modules_plan(&db, wanted, nwanted, &order, &count, NULL, e) < 0)
		goto out;
	for (size_t i = 0; i < count; i++) {
		char name[MODNAME_MAX];
		modname_normalize(order[i], name, sizeof(name));
		int l = load_one(dir, order[i]);
		if (l < 0)
			log_msg("module %s: %s", name, strerror(errno));
		*loaded += l > 0;
	}
	r = 0;
out:
	free(order);
	free_names(extra, nextra);
	moddb_free(&db);
	return r;
}

void modules_load_all(void)
{
	uint64_t start = now_ms();
	struct utsname u;
	char dir[sizeof(u.release) + 16];
	size_t loaded = 0;
	err_t e;

	uname(&u);
	snprintf(dir, sizeof(dir), "/lib/modules/%s", u.release);
	if (load_modules(dir, &loaded, &e) < 0)
		log_msg("modules: %s", e.msg);
	log_msg("modules loaded: %zu in %llu ms", loaded, (unsigned long long)(now_ms() - start));
}

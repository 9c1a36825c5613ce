/*
 * termaster — playback systems: the device files (see refs/devices.h).
 *
 * Parser glossary (struct parser):
 *   dev        the device being built (spec defaults first)
 *   key_line   per key, the line it was given on (0: not given), for
 *              "duplicate key" and for naming the line of a bad value
 *   last_line  the number of the file's last line, for errors found at the
 *              end ("no name", too few points)
 *
 * Numbers are parsed by hand, not with strtod(): the screen sets the
 * user's locale (setlocale(LC_ALL, "")), and in a locale whose decimal
 * separator is ',' strtod() would stop at the '.' of "-0.5" (as
 * refs/platform.c).
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "refs/textfile.h"
#include "refs/devices.h"

#define FILE_MAX_BYTES (1u << 20)
#define ORDER_DEFAULT  500

enum key {
	K_NAME,
	K_LABEL,
	K_ORDER,
	K_MONO,
	K_EXC_HZ,
	K_EXC_DB,
	K_EXC_RATIO,
	K_NOISE_HI,
	K_NOISE_LO,
	K_NOISE_SLOPE,
	K_COUNT
};

/* Numeric keys: range (zero_off: 0 is allowed too, meaning "none"). */
static const struct {
	const char *name;
	const char *unit;
	double min, max;
	int zero_off;
} keys[K_COUNT] = {
    [K_NAME] = {"name", "", 0, 0, 0},
    [K_LABEL] = {"label", "", 0, 0, 0},
    [K_ORDER] = {"order", "", 0, 1000, 0},
    [K_MONO] = {"mono", "", 0, 0, 0},
    [K_EXC_HZ] = {"excursion_hz", "Hz", 10, 5000, 1},
    [K_EXC_DB] = {"excursion_db", "dBFS", -60, 20, 0},
    [K_EXC_RATIO] = {"excursion_ratio", "", 1, 20, 0},
    [K_NOISE_HI] = {"noise_hi_hz", "Hz", 100, 10000, 1},
    [K_NOISE_LO] = {"noise_lo_hz", "Hz", 5, 200, 0},
    [K_NOISE_SLOPE] = {"noise_slope_db_oct", "dB/oct", -6, 0, 0},
};

struct parser {
	const char *name;
	unsigned line, last_line;
	unsigned key_line[K_COUNT];
	unsigned points_line; /* line of the last point */
	struct refs_device *dev;
	char *msg;
	size_t len;
};

struct refs_device_set {
	struct refs_device *dev;
	size_t n, cap;
};

/* "name:line: " + the reason; returns REFS_DEVICES_ERROR_PARSE. */
static int fail_at(struct parser *ps, unsigned line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail_at(struct parser *ps, unsigned line, const char *fmt, ...)
{
	char reason[384];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	refs_text_msg(ps->msg, ps->len, "%s:%u: %s", ps->name, line, reason);
	return REFS_DEVICES_ERROR_PARSE;
}

static int valid_name(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n >= REFS_DEVICE_NAME_MAX)
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || refs_text_digit(*s) || *s == '-' || *s == '_'))
			return 0;
	return 1;
}

/* The whole of s is one number. */
static int parse_value(const char *s, double *out)
{
	const char *end;

	return refs_text_decimal(s, &end, out) || *end ? -1 : 0;
}

/* A token for messages: up to the next separator. */
static void token(const char *s, char *buf, size_t len)
{
	size_t n = 0;

	while (s[n] && !refs_text_space(s[n]) && s[n] != ',' && s[n] != ';' && n + 1 < len) {
		buf[n] = s[n];
		n++;
	}
	buf[n] = '\0';
}

static int set_key(struct parser *ps, const char *key, const char *val)
{
	struct refs_device *dev = ps->dev;
	struct chain_devsim_spec *sp = &dev->spec;
	enum key k;
	double v;

	for (k = 0; k < K_COUNT; k++)
		if (strcmp(keys[k].name, key) == 0)
			break;
	if (k == K_COUNT)
		return fail_at(ps, ps->line,
		               "unknown key \"%.40s\" (expected name, label, order, mono, "
		               "excursion_hz, excursion_db, excursion_ratio, noise_hi_hz, "
		               "noise_lo_hz or noise_slope_db_oct)",
		               key);
	if (ps->key_line[k])
		return fail_at(ps, ps->line, "duplicate key %s (first at line %u)", keys[k].name,
		               ps->key_line[k]);
	if (!*val)
		return fail_at(ps, ps->line, "%s: expected a value after '='", keys[k].name);
	switch (k) {
	case K_NAME:
		if (!valid_name(val))
			return fail_at(ps, ps->line,
			               "name: expected 1-%d characters of a-z, 0-9, '-' or '_', "
			               "got \"%.40s\"",
			               REFS_DEVICE_NAME_MAX - 1, val);
		memcpy(dev->name, val, strlen(val) + 1);
		break;
	case K_LABEL:
		if (strlen(val) >= REFS_DEVICE_LABEL_MAX)
			return fail_at(ps, ps->line, "label: expected at most %d bytes, got %zu",
			               REFS_DEVICE_LABEL_MAX - 1, strlen(val));
		for (const char *c = val; *c; c++)
			if ((unsigned char)*c < 0x20 || *c == 0x7f)
				return fail_at(ps, ps->line,
				               "label: expected printable text, got a control "
				               "character");
		memcpy(dev->label, val, strlen(val) + 1);
		break;
	case K_MONO:
		if (strcmp(val, "yes") == 0)
			sp->mono = 1;
		else if (strcmp(val, "no") == 0)
			sp->mono = 0;
		else
			return fail_at(ps, ps->line, "mono: expected yes or no, got \"%.40s\"",
			               val);
		break;
	default:
		if (parse_value(val, &v))
			return fail_at(ps, ps->line,
			               "%s: expected a plain decimal number (like 20 or -3.5), "
			               "got \"%.40s\"",
			               keys[k].name, val);
		if (!(keys[k].zero_off && v == 0.0) && (v < keys[k].min || v > keys[k].max))
			return fail_at(ps, ps->line, "%s: expected %g to %g%s%s%s, got %s",
			               keys[k].name, keys[k].min, keys[k].max,
			               *keys[k].unit ? " " : "", keys[k].unit,
			               keys[k].zero_off ? " (or 0: none)" : "", val);
		switch (k) {
		case K_ORDER:
			if (v != floor(v))
				return fail_at(ps, ps->line,
				               "order: expected a whole number, got %s", val);
			dev->order = (int)v;
			break;
		case K_EXC_HZ:
			sp->excursion_hz = v;
			break;
		case K_EXC_DB:
			sp->excursion_db = v;
			break;
		case K_EXC_RATIO:
			sp->excursion_ratio = v;
			break;
		case K_NOISE_HI:
			sp->noise_hi_hz = v;
			break;
		case K_NOISE_LO:
			sp->noise_lo_hz = v;
			break;
		default:
			sp->noise_slope_db_oct = v;
			break;
		}
		break;
	}
	ps->key_line[k] = ps->line;
	return REFS_DEVICES_OK;
}

/* "frequency_hz gain_db" */
static int add_point(struct parser *ps, const char *s)
{
	struct chain_devsim_spec *sp = &ps->dev->spec;
	const char *p = s, *end;
	double f, g;
	char tok[48];

	if (refs_text_decimal(p, &end, &f) ||
	    !(*end == '\0' || refs_text_space(*end) || *end == ',' || *end == ';')) {
		token(p, tok, sizeof(tok));
		return fail_at(ps, ps->line,
		               "\"%s\" is not a number (frequency_hz): expected "
		               "\"frequency_hz gain_db\" with plain decimals like 1000 -3.5",
		               tok);
	}
	p = end;
	while (refs_text_space(*p))
		p++;
	if (*p == ',' || *p == ';')
		p++;
	while (refs_text_space(*p))
		p++;
	if (*p == '\0')
		return fail_at(ps, ps->line,
		               "expected \"frequency_hz gain_db\", got only one number");
	if (refs_text_decimal(p, &end, &g) || !(*end == '\0' || refs_text_space(*end))) {
		token(p, tok, sizeof(tok));
		return fail_at(ps, ps->line,
		               "\"%s\" is not a number (gain_db): expected a plain decimal "
		               "like -3.5",
		               tok);
	}
	while (refs_text_space(*end))
		end++;
	if (*end)
		return fail_at(ps, ps->line,
		               "expected \"frequency_hz gain_db\" and nothing after, got "
		               "\"%.40s\"",
		               end);
	if (f < CHAIN_DEVSIM_FREQ_MIN_HZ || f > CHAIN_DEVSIM_FREQ_MAX_HZ)
		return fail_at(ps, ps->line, "frequency %g Hz: expected %g to %g Hz", f,
		               CHAIN_DEVSIM_FREQ_MIN_HZ, CHAIN_DEVSIM_FREQ_MAX_HZ);
	if (g < CHAIN_DEVSIM_GAIN_MIN_DB || g > CHAIN_DEVSIM_GAIN_MAX_DB)
		return fail_at(ps, ps->line, "gain %g dB: expected %g to %g dB", g,
		               CHAIN_DEVSIM_GAIN_MIN_DB, CHAIN_DEVSIM_GAIN_MAX_DB);
	if (sp->n_points > 0 && !(f > sp->freq_hz[sp->n_points - 1]))
		return fail_at(ps, ps->line,
		               "%g Hz is not above the previous point's %g Hz (line %u): "
		               "frequencies must increase",
		               f, sp->freq_hz[sp->n_points - 1], ps->points_line);
	if (sp->n_points == CHAIN_DEVSIM_MAX_POINTS)
		return fail_at(ps, ps->line, "more than %d points", CHAIN_DEVSIM_MAX_POINTS);
	sp->freq_hz[sp->n_points] = f;
	sp->gain_db[sp->n_points] = g;
	sp->n_points++;
	ps->points_line = ps->line;
	return REFS_DEVICES_OK;
}

/* One line, without its '\n' (modified in place). */
static int parse_line(struct parser *ps, char *s)
{
	char *eq, *t;

	while (refs_text_space(*s))
		s++;
	for (t = s + strlen(s); t > s && refs_text_space(t[-1]);)
		*--t = '\0';
	if (*s == '\0' || *s == '#')
		return REFS_DEVICES_OK;
	if (refs_text_digit(*s) || *s == '-' || *s == '+' || *s == '.')
		return add_point(ps, s);
	eq = strchr(s, '=');
	if (!eq)
		return fail_at(ps, ps->line,
		               "expected \"key = value\", \"frequency_hz gain_db\" or a # comment, "
		               "got \"%.40s\"",
		               s);
	*eq = '\0';
	for (t = eq; t > s && refs_text_space(t[-1]);)
		*--t = '\0';
	if (*s == '\0')
		return fail_at(ps, ps->line, "expected a key before '='");
	for (eq++; refs_text_space(*eq);)
		eq++;
	return set_key(ps, s, eq);
}

/* Checks what only the whole file can tell. */
static int finish(struct parser *ps)
{
	struct refs_device *dev = ps->dev;
	struct chain_devsim_spec *sp = &dev->spec;
	char why[160];

	if (!ps->key_line[K_NAME])
		return fail_at(ps, ps->last_line, "end of file and no \"name = …\" line");
	if (sp->n_points < 2)
		return fail_at(ps, ps->last_line,
		               "end of file after %u point%s: a curve needs at least 2 "
		               "\"frequency_hz gain_db\" lines",
		               sp->n_points, sp->n_points == 1 ? "" : "s");
	if (sp->excursion_hz > 0.0 && !ps->key_line[K_EXC_DB])
		return fail_at(ps, ps->key_line[K_EXC_HZ],
		               "excursion_hz needs excursion_db (the level that reaches the "
		               "excursion limit at full volume)");
	if (sp->noise_hi_hz > 0.0 && !(sp->noise_hi_hz > sp->noise_lo_hz))
		return fail_at(ps, ps->key_line[K_NOISE_HI],
		               "noise_hi_hz %g Hz: expected above noise_lo_hz (%g Hz)",
		               sp->noise_hi_hz, sp->noise_lo_hz);
	if (chain_devsim_spec_check(sp, why, sizeof(why)))
		return fail_at(ps, ps->last_line, "%s", why);
	if (!ps->key_line[K_LABEL])
		memcpy(dev->label, dev->name, strlen(dev->name) + 1);
	return REFS_DEVICES_OK;
}

/* Parses text (modified in place; `n` bytes, NUL bytes rejected). */
static int parse(char *text, size_t n, const char *name, struct refs_device *dev,
                 unsigned *name_line, char *msg, size_t len)
{
	struct parser ps = {.name = name, .dev = dev, .msg = msg, .len = len};
	char *line = text, *end = text + n;
	int err;

	memset(dev, 0, sizeof(*dev));
	chain_devsim_spec_default(&dev->spec);
	dev->order = ORDER_DEFAULT;
	if (strlen(name) >= REFS_DEVICE_PATH_MAX) {
		refs_text_msg(msg, len, "%.200s…: %s", name,
		        refs_devices_strerror(REFS_DEVICES_ERROR_TOOLONG));
		return REFS_DEVICES_ERROR_TOOLONG;
	}
	memcpy(dev->path, name, strlen(name) + 1);
	for (const char *c = text; c < end; c++)
		if (*c == '\n')
			ps.last_line++;
	if (n > 0 && end[-1] != '\n')
		ps.last_line++;
	if (ps.last_line == 0)
		ps.last_line = 1;
	while (line < end) {
		char *nl = memchr(line, '\n', (size_t)(end - line));
		char *stop = nl ? nl : end;

		ps.line++;
		if (memchr(line, '\0', (size_t)(stop - line)))
			return fail_at(&ps, ps.line, "expected text, got a NUL byte");
		*stop = '\0';
		err = parse_line(&ps, line);
		if (err)
			return err;
		line = stop + 1;
	}
	err = finish(&ps);
	if (err)
		return err;
	if (name_line)
		*name_line = ps.key_line[K_NAME];
	refs_text_msg(msg, len, "%s", "");
	return REFS_DEVICES_OK;
}

int refs_device_parse(const char *text, const char *name, struct refs_device *dev, char *msg,
                      size_t len)
{
	size_t n = text ? strlen(text) : 0;
	char *copy = malloc(n + 1);
	int err;

	if (!copy) {
		refs_text_msg(msg, len, "%s: %s", name, refs_devices_strerror(REFS_DEVICES_ERROR_NOMEM));
		return REFS_DEVICES_ERROR_NOMEM;
	}
	if (n)
		memcpy(copy, text, n);
	copy[n] = '\0';
	err = parse(copy, n, name, dev, NULL, msg, len);
	free(copy);
	return err;
}

static int load_file(const char *path, struct refs_device *dev, unsigned *name_line, char *msg,
                     size_t len)
{
	char *text;
	size_t n;
	FILE *f;
	int err, saved;

	f = fopen(path, "rb");
	if (!f) {
		saved = errno;
		refs_text_msg(msg, len, "%s: %s", path, strerror(saved));
		errno = saved;
		return REFS_DEVICES_ERROR_ERRNO;
	}
	text = malloc(FILE_MAX_BYTES + 1);
	if (!text) {
		fclose(f);
		refs_text_msg(msg, len, "%s: %s", path, refs_devices_strerror(REFS_DEVICES_ERROR_NOMEM));
		return REFS_DEVICES_ERROR_NOMEM;
	}
	n = fread(text, 1, FILE_MAX_BYTES + 1, f);
	if (ferror(f)) {
		saved = errno;
		fclose(f);
		free(text);
		refs_text_msg(msg, len, "%s: %s", path, strerror(saved));
		errno = saved;
		return REFS_DEVICES_ERROR_ERRNO;
	}
	fclose(f);
	if (n > FILE_MAX_BYTES) {
		free(text);
		refs_text_msg(msg, len, "%s: larger than %u bytes: not a device file", path,
		        FILE_MAX_BYTES);
		return REFS_DEVICES_ERROR_TOOLONG;
	}
	text[n] = '\0';
	err = parse(text, n, path, dev, name_line, msg, len);
	free(text);
	return err;
}

int refs_device_load(const char *path, struct refs_device *dev, char *msg, size_t len)
{
	return load_file(path, dev, NULL, msg, len);
}

/* ---- the set ---- */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int cmp_dev(const void *a, const void *b)
{
	const struct refs_device *x = a, *y = b;

	if (x->order != y->order)
		return x->order < y->order ? -1 : 1;
	return strcmp(x->name, y->name);
}

static int is_device_file(const char *dir, const char *name)
{
	size_t n = strlen(name);
	char path[REFS_DEVICE_PATH_MAX];
	struct stat st;

	if (name[0] == '.' || n < 5 || strcmp(name + n - 4, ".txt") != 0)
		return 0;
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path))
		return 1; /* reported as too long when read */
	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* The file names of a folder's device files, sorted.  *names = NULL and
 * *n = 0 for a missing folder when missing_ok. */
static int list_dir(const char *dir, int missing_ok, char ***names, size_t *n, char *msg,
                    size_t len)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t cap = 0;
	int saved;

	*names = NULL;
	*n = 0;
	if (!d) {
		if (missing_ok && errno == ENOENT)
			return REFS_DEVICES_OK;
		saved = errno;
		refs_text_msg(msg, len, "%s: %s", dir, strerror(saved));
		errno = saved;
		return REFS_DEVICES_ERROR_ERRNO;
	}
	while ((e = readdir(d)) != NULL) {
		char *copy;

		if (!is_device_file(dir, e->d_name))
			continue;
		if (*n == cap) {
			size_t nc = cap ? 2 * cap : 16;
			char **nn = realloc(*names, nc * sizeof(*nn));

			if (!nn)
				goto nomem;
			*names = nn;
			cap = nc;
		}
		copy = strdup(e->d_name);
		if (!copy)
			goto nomem;
		(*names)[(*n)++] = copy;
	}
	closedir(d);
	if (*n)
		qsort(*names, *n, sizeof(**names), cmp_str);
	return REFS_DEVICES_OK;
nomem:
	closedir(d);
	for (size_t i = 0; i < *n; i++)
		free((*names)[i]);
	free(*names);
	*names = NULL;
	*n = 0;
	refs_text_msg(msg, len, "%s: %s", dir, refs_devices_strerror(REFS_DEVICES_ERROR_NOMEM));
	return REFS_DEVICES_ERROR_NOMEM;
}

static int set_add(struct refs_device_set *set, const struct refs_device *dev)
{
	if (set->n == set->cap) {
		size_t cap = set->cap ? 2 * set->cap : 8;
		struct refs_device *nd = realloc(set->dev, cap * sizeof(*nd));

		if (!nd)
			return REFS_DEVICES_ERROR_NOMEM;
		set->dev = nd;
		set->cap = cap;
	}
	set->dev[set->n++] = *dev;
	return REFS_DEVICES_OK;
}

static long set_index(const struct refs_device_set *set, const char *name)
{
	for (size_t i = 0; i < set->n; i++)
		if (strcmp(set->dev[i].name, name) == 0)
			return (long)i;
	return -1;
}

/*
 * Reads dir/file into the set.  Devices of the set from index *first on
 * came from this folder: the same name among them is an error; an earlier
 * one (a built-in, for the user's folder) is replaced: removed, and the new
 * one added at the end, among this folder's.  On error, why says what.
 */
static int load_one(struct refs_device_set *set, size_t *first, const char *dir, const char *file,
                    int user, struct refs_device *dev, char *why, size_t len)
{
	char path[REFS_DEVICE_PATH_MAX];
	unsigned name_line = 0;
	long at;
	int err;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, file) >= sizeof(path)) {
		refs_text_msg(why, len, "%.200s/%.200s: %s", dir, file,
		        refs_devices_strerror(REFS_DEVICES_ERROR_TOOLONG));
		return REFS_DEVICES_ERROR_TOOLONG;
	}
	err = load_file(path, dev, &name_line, why, len);
	if (err)
		return err;
	dev->user = user;
	at = set_index(set, dev->name);
	if (at >= (long)*first) {
		const char *other = strrchr(set->dev[at].path, '/');
		struct parser ps = {.name = path, .msg = why, .len = len};

		return fail_at(&ps, name_line, "device '%s' is already defined in %s", dev->name,
		               other ? other + 1 : set->dev[at].path);
	}
	if (at >= 0) {
		memmove(&set->dev[at], &set->dev[at + 1],
		        (set->n - (size_t)at - 1) * sizeof(*set->dev));
		set->n--;
		(*first)--;
	}
	err = set_add(set, dev);
	if (err)
		refs_text_msg(why, len, "%s: %s", path, refs_devices_strerror(err));
	return err;
}

/*
 * Loads one folder into the set.  Bad files: when `skip_bad`, counted in
 * *bad (the first message kept in msg, its code in *first_err) and
 * skipped; otherwise the error is returned.
 */
static int load_dir(struct refs_device_set *set, const char *dir, int user, int skip_bad,
                    unsigned *bad, int *first_err, char *msg, size_t len)
{
	struct refs_device *dev = malloc(sizeof(*dev));
	char **names = NULL, why[512];
	size_t n = 0, first = set->n;
	int err;

	if (!dev) {
		refs_text_msg(msg, len, "%s: %s", dir, refs_devices_strerror(REFS_DEVICES_ERROR_NOMEM));
		return REFS_DEVICES_ERROR_NOMEM;
	}
	err = list_dir(dir, user, &names, &n, msg, len);
	for (size_t i = 0; !err && i < n; i++) {
		err = load_one(set, &first, dir, names[i], user, dev, why, sizeof(why));
		if (!err)
			continue;
		if (!skip_bad || err == REFS_DEVICES_ERROR_NOMEM) {
			refs_text_msg(msg, len, "%s", why);
			break;
		}
		if ((*bad)++ == 0) {
			refs_text_msg(msg, len, "%s", why);
			*first_err = err;
		}
		err = REFS_DEVICES_OK;
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	free(dev);
	return err;
}

int refs_devices_load(const char *builtin_dir, const char *user_dir, struct refs_device_set **out,
                      char *msg, size_t len)
{
	struct refs_device_set *set = calloc(1, sizeof(*set));
	unsigned bad = 0;
	int err = REFS_DEVICES_OK, first_err = REFS_DEVICES_OK;

	*out = NULL;
	refs_text_msg(msg, len, "%s", "");
	if (!set) {
		refs_text_msg(msg, len, "%s", refs_devices_strerror(REFS_DEVICES_ERROR_NOMEM));
		return REFS_DEVICES_ERROR_NOMEM;
	}
	if (builtin_dir) {
		err = load_dir(set, builtin_dir, 0, 0, &bad, &first_err, msg, len);
		if (err) {
			refs_device_set_free(&set);
			return err;
		}
	}
	if (user_dir) {
		err = load_dir(set, user_dir, 1, 1, &bad, &first_err, msg, len);
		if (err) { /* out of memory, or the folder is unreadable */
			if (err == REFS_DEVICES_ERROR_NOMEM) {
				refs_device_set_free(&set);
				return err;
			}
			first_err = err;
		}
	}
	if (set->n)
		qsort(set->dev, set->n, sizeof(*set->dev), cmp_dev);
	*out = set;
	if (bad > 1 && msg && len) {
		size_t used = strlen(msg);

		if (used < len)
			snprintf(msg + used, len - used, " (and %u more file%s)", bad - 1,
			         bad - 1 == 1 ? "" : "s");
	}
	return first_err;
}

void refs_device_set_free(struct refs_device_set **set)
{
	if (!set || !*set)
		return;
	free((*set)->dev);
	free(*set);
	*set = NULL;
}

size_t refs_device_count(const struct refs_device_set *set)
{
	return set ? set->n : 0;
}

const struct refs_device *refs_device_at(const struct refs_device_set *set, size_t i)
{
	return set && i < set->n ? &set->dev[i] : NULL;
}

const struct refs_device *refs_device_find(const struct refs_device_set *set, const char *name)
{
	long i = set ? set_index(set, name) : -1;

	return i >= 0 ? &set->dev[i] : NULL;
}

int refs_devices_user_dir(char *buf, size_t len)
{
	switch (refs_text_config_path("devices", buf, len)) {
	case 0:
		return REFS_DEVICES_OK;
	case -1:
		return REFS_DEVICES_ERROR_NOPATH;
	default:
		return REFS_DEVICES_ERROR_TOOLONG;
	}
}

const char *refs_devices_strerror(int err)
{
	static const char *const text[] = {
	    [REFS_DEVICES_OK] = "success",
	    [REFS_DEVICES_ERROR_NOMEM] = "out of memory",
	    [REFS_DEVICES_ERROR_ERRNO] = "cannot read the device file or folder",
	    [REFS_DEVICES_ERROR_PARSE] = "malformed device file",
	    [REFS_DEVICES_ERROR_NOPATH] = "neither XDG_CONFIG_HOME nor HOME is set",
	    [REFS_DEVICES_ERROR_TOOLONG] = "path or file too long",
	};

	if (err < 0 || (size_t)err >= sizeof(text) / sizeof(text[0]) || !text[err])
		return "unknown device error";
	return text[err];
}

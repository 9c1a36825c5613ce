/*
 * termaster — streaming-platform loudness normalisation rules (see
 * platform.h; the rules and their sources are in refs/platforms.txt).
 *
 * Parser glossary (struct parser):
 *   set        the rules being built: the built-ins (unless
 *              REFS_PLATFORM_LOAD_NO_BUILTINS), then the file's new ones.
 *   seen_line  per rule, the line of its section in this file (0: none
 *              yet), to name the first one when an id comes twice.
 *   enabled    per rule; disabled rules are dropped after the whole file
 *              has parsed, so a duplicate section is still caught.
 *   cur        rule of the open section, or -1 before the first section.
 *   cur_new    1 when the open section added its rule (then target_lufs
 *              and positive_gain are required).
 *   key_line   per key, the line it was given on in the open section (0:
 *              not given), for "duplicate key" and "missing key".
 *
 * Numbers are parsed by hand, not with strtod(): the screen sets the
 * user's locale (setlocale(LC_ALL, "")), and in a locale whose decimal
 * separator is ',' strtod() would stop at the '.' of "-0.5".
 */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "refs/textfile.h"
#include "refs/platform.h"

/* Values a file rule starts from: the defaults documented in platforms.txt. */
#define RULE_DEFAULTS                                                                              \
	.max_peak_dbtp = -1.0, .limiter_ceiling_db = -1.0, .limiter_attack_ms = 5.0,               \
	.limiter_release_ms = 100.0, .gain_step_db = 0.0

/* The built-in rules: the same as refs/platforms.txt, which cites the
 * source of every number (tests/test_platform checks that they agree). */
/* clang-format off */
static const struct refs_platform builtin[] = {
	{ .id = "spotify-normal", .label = "Spotify (normal)", .target_lufs = -14.0,
	  .boost = REFS_PLATFORM_BOOST_CAPPED, RULE_DEFAULTS },
	{ .id = "spotify-loud", .label = "Spotify (loud)", .target_lufs = -11.0,
	  .boost = REFS_PLATFORM_BOOST_LIMITER, RULE_DEFAULTS },
	{ .id = "spotify-quiet", .label = "Spotify (quiet)", .target_lufs = -19.0,
	  .boost = REFS_PLATFORM_BOOST_CAPPED, RULE_DEFAULTS },
	{ .id = "apple", .label = "Apple Music", .target_lufs = -16.0,
	  .boost = REFS_PLATFORM_BOOST_CAPPED, RULE_DEFAULTS },
	{ .id = "youtube", .label = "YouTube", .target_lufs = -14.0,
	  .boost = REFS_PLATFORM_BOOST_NONE, RULE_DEFAULTS },
	{ .id = "tidal", .label = "TIDAL", .target_lufs = -14.0,
	  .boost = REFS_PLATFORM_BOOST_NONE, RULE_DEFAULTS },
	{ .id = "deezer", .label = "Deezer", .target_lufs = -15.0,
	  .boost = REFS_PLATFORM_BOOST_NONE, RULE_DEFAULTS },
	{ .id = "amazon", .label = "Amazon Music", .target_lufs = -14.0,
	  .boost = REFS_PLATFORM_BOOST_NONE, RULE_DEFAULTS },
};
/* clang-format on */

#define N_BUILTIN      (sizeof(builtin) / sizeof(builtin[0]))
#define FILE_MAX_BYTES (1u << 20)

const struct refs_platform *refs_platform_builtin(size_t *n)
{
	*n = N_BUILTIN;
	return builtin;
}

void refs_platform_gain(const struct refs_platform *p, double integrated_lufs,
                        double true_peak_dbtp, struct refs_platform_result *r)
{
	double wanted, gain, upper = HUGE_VAL; /* upper: bound the rule sets */

	memset(r, 0, sizeof(*r));
	if (!isfinite(integrated_lufs) || !isfinite(true_peak_dbtp))
		return;
	r->valid = 1;
	wanted = p->target_lufs - integrated_lufs;
	gain = wanted;
	if (wanted > 0) {
		switch (p->boost) {
		case REFS_PLATFORM_BOOST_NONE:
			upper = 0.0;
			gain = 0.0;
			r->boost_refused = 1;
			break;
		case REFS_PLATFORM_BOOST_CAPPED:
			upper = fmax(0.0, p->max_peak_dbtp - true_peak_dbtp);
			if (wanted > upper) {
				gain = upper;
				r->capped = 1;
			}
			break;
		case REFS_PLATFORM_BOOST_LIMITER:
			break;
		}
	}
	if (p->gain_step_db > 0) {
		double step = p->gain_step_db;
		double q = step * round(gain / step);

		if (q > upper)
			q = step * floor(upper / step);
		gain = q;
	}
	gain += 0.0; /* -0 → +0 */
	r->wanted_gain_db = wanted;
	r->gain_db = gain;
	r->peak_after_dbtp = true_peak_dbtp + gain;
	if (p->boost == REFS_PLATFORM_BOOST_LIMITER && r->peak_after_dbtp > p->limiter_ceiling_db) {
		r->limiter_engaged = 1;
		r->limiter_over_db = r->peak_after_dbtp - p->limiter_ceiling_db;
	}
	r->playback_lufs = integrated_lufs + gain;
	r->penalty_db = gain < 0 ? gain : 0.0;
}

/* ---- the set ---- */

struct refs_platform_set {
	size_t n, cap;
	struct refs_platform *rule;
};

void refs_platform_set_free(struct refs_platform_set **set)
{
	if (!set || !*set)
		return;
	free((*set)->rule);
	free(*set);
	*set = NULL;
}

size_t refs_platform_count(const struct refs_platform_set *set)
{
	return set ? set->n : 0;
}

const struct refs_platform *refs_platform_at(const struct refs_platform_set *set, size_t i)
{
	return set && i < set->n ? &set->rule[i] : NULL;
}

const struct refs_platform *refs_platform_find(const struct refs_platform_set *set, const char *id)
{
	if (!set || !id)
		return NULL;
	for (size_t i = 0; i < set->n; i++)
		if (strcmp(set->rule[i].id, id) == 0)
			return &set->rule[i];
	return NULL;
}

/* ---- the parser ---- */

enum key {
	K_LABEL,
	K_TARGET,
	K_POSITIVE,
	K_MAX_PEAK,
	K_CEILING,
	K_ATTACK,
	K_RELEASE,
	K_STEP,
	K_ENABLED,
	K_COUNT
};

/* Numeric keys carry their range and what to call it in messages. */
/* clang-format off */
static const struct {
	const char *name;
	double min, max;
	const char *unit;
} keys[K_COUNT] = {
	[K_LABEL] = { "label", 0, 0, NULL },
	[K_TARGET] = { "target_lufs", -70.0, 0.0, "LUFS" },
	[K_POSITIVE] = { "positive_gain", 0, 0, NULL },
	[K_MAX_PEAK] = { "max_peak_dbtp", -20.0, 0.0, "dBTP" },
	[K_CEILING] = { "limiter_ceiling_db", -20.0, 0.0, "dB" },
	[K_ATTACK] = { "limiter_attack_ms", 0.01, 1000.0, "ms" },
	[K_RELEASE] = { "limiter_release_ms", 1.0, 10000.0, "ms" },
	[K_STEP] = { "gain_step_db", 0.0, 6.0, "dB" },
	[K_ENABLED] = { "enabled", 0, 0, NULL },
};
/* clang-format on */

struct parser {
	const char *name;
	unsigned line;
	struct refs_platform_set *set;
	unsigned *seen_line;
	unsigned char *enabled;
	long cur;
	int cur_new;
	unsigned cur_line;
	unsigned key_line[K_COUNT];
	char *msg;
	size_t len;
};

/* "name:line: " + the reason; returns REFS_PLATFORM_ERROR_PARSE. */
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
	return REFS_PLATFORM_ERROR_PARSE;
}

static int valid_id(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n >= REFS_PLATFORM_ID_MAX)
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || refs_text_digit(*s) || *s == '-' || *s == '_'))
			return 0;
	return 1;
}

static int add_rule(struct refs_platform_set *set, unsigned **seen_line, unsigned char **enabled,
                    const struct refs_platform *r)
{
	if (set->n == set->cap) {
		size_t cap = set->cap ? 2 * set->cap : 16;
		struct refs_platform *nr = realloc(set->rule, cap * sizeof(*nr));
		unsigned *ns;
		unsigned char *ne;

		if (!nr)
			return REFS_PLATFORM_ERROR_NOMEM;
		set->rule = nr;
		ns = realloc(*seen_line, cap * sizeof(*ns));
		if (!ns)
			return REFS_PLATFORM_ERROR_NOMEM;
		*seen_line = ns;
		ne = realloc(*enabled, cap * sizeof(*ne));
		if (!ne)
			return REFS_PLATFORM_ERROR_NOMEM;
		*enabled = ne;
		set->cap = cap;
	}
	set->rule[set->n] = *r;
	(*seen_line)[set->n] = 0;
	(*enabled)[set->n] = 1;
	set->n++;
	return REFS_PLATFORM_OK;
}

/* Checks the section that is closing. */
static int end_section(struct parser *ps)
{
	if (ps->cur < 0 || !ps->cur_new)
		return REFS_PLATFORM_OK;
	if (!ps->key_line[K_TARGET])
		return fail_at(ps, ps->cur_line,
		               "[%s]: missing target_lufs (a new platform needs "
		               "target_lufs and positive_gain)",
		               ps->set->rule[ps->cur].id);
	if (!ps->key_line[K_POSITIVE])
		return fail_at(ps, ps->cur_line,
		               "[%s]: missing positive_gain (a new platform needs "
		               "target_lufs and positive_gain)",
		               ps->set->rule[ps->cur].id);
	return REFS_PLATFORM_OK;
}

static int begin_section(struct parser *ps, char *s)
{
	char *end = strchr(s, ']');
	struct refs_platform r = {RULE_DEFAULTS};
	size_t i;
	int err;

	if (!end)
		return fail_at(ps, ps->line, "expected ']' to close the section name");
	*end++ = '\0';
	while (refs_text_space(*end))
		end++;
	if (*end)
		return fail_at(ps, ps->line, "expected nothing after ']', got \"%.40s\"", end);
	while (refs_text_space(*s))
		s++;
	for (char *t = s + strlen(s); t > s && refs_text_space(t[-1]);)
		*--t = '\0';
	if (!valid_id(s))
		return fail_at(ps, ps->line,
		               "expected a platform id of a-z, 0-9, '-' or '_' "
		               "(1-%d characters), got \"%.40s\"",
		               REFS_PLATFORM_ID_MAX - 1, s);
	err = end_section(ps);
	if (err)
		return err;
	for (i = 0; i < ps->set->n; i++)
		if (strcmp(ps->set->rule[i].id, s) == 0)
			break;
	if (i < ps->set->n && ps->seen_line[i])
		return fail_at(ps, ps->line, "duplicate platform [%s] (first at line %u)", s,
		               ps->seen_line[i]);
	ps->cur_new = i == ps->set->n;
	if (ps->cur_new) {
		memcpy(r.id, s, strlen(s) + 1);
		memcpy(r.label, s, strlen(s) + 1);
		err = add_rule(ps->set, &ps->seen_line, &ps->enabled, &r);
		if (err) {
			refs_text_msg(ps->msg, ps->len, "%s: %s", ps->name, refs_platform_strerror(err));
			return err;
		}
	}
	ps->cur = (long)i;
	ps->cur_line = ps->line;
	ps->seen_line[i] = ps->line;
	memset(ps->key_line, 0, sizeof(ps->key_line));
	return REFS_PLATFORM_OK;
}

static int set_key(struct parser *ps, const char *key, const char *val)
{
	struct refs_platform *r;
	enum key k;
	double v;

	for (k = 0; k < K_COUNT; k++)
		if (strcmp(keys[k].name, key) == 0)
			break;
	if (k == K_COUNT)
		return fail_at(ps, ps->line,
		               "unknown key \"%.40s\" (expected label, target_lufs, "
		               "positive_gain, max_peak_dbtp, limiter_ceiling_db, "
		               "limiter_attack_ms, limiter_release_ms, gain_step_db "
		               "or enabled)",
		               key);
	if (ps->cur < 0)
		return fail_at(ps, ps->line, "%s outside a platform: expected a [id] line first",
		               keys[k].name);
	if (ps->key_line[k])
		return fail_at(ps, ps->line, "duplicate key %s (first at line %u)", keys[k].name,
		               ps->key_line[k]);
	if (!*val)
		return fail_at(ps, ps->line, "%s: expected a value after '='", keys[k].name);
	r = &ps->set->rule[ps->cur];
	switch (k) {
	case K_LABEL:
		if (strlen(val) >= REFS_PLATFORM_LABEL_MAX)
			return fail_at(ps, ps->line, "label: expected at most %d bytes, got %zu",
			               REFS_PLATFORM_LABEL_MAX - 1, strlen(val));
		for (const char *c = val; *c; c++)
			if ((unsigned char)*c < 0x20 || *c == 0x7f)
				return fail_at(
				    ps, ps->line,
				    "label: expected printable text, got a control character");
		memcpy(r->label, val, strlen(val) + 1);
		break;
	case K_POSITIVE:
		if (strcmp(val, "no") == 0)
			r->boost = REFS_PLATFORM_BOOST_NONE;
		else if (strcmp(val, "capped") == 0)
			r->boost = REFS_PLATFORM_BOOST_CAPPED;
		else if (strcmp(val, "limiter") == 0)
			r->boost = REFS_PLATFORM_BOOST_LIMITER;
		else
			return fail_at(
			    ps, ps->line,
			    "positive_gain: expected no, capped or limiter, got \"%.40s\"", val);
		break;
	case K_ENABLED:
		if (strcmp(val, "yes") == 0)
			ps->enabled[ps->cur] = 1;
		else if (strcmp(val, "no") == 0)
			ps->enabled[ps->cur] = 0;
		else
			return fail_at(ps, ps->line, "enabled: expected yes or no, got \"%.40s\"",
			               val);
		break;
	default:
		if (refs_text_decimal(val, NULL, &v))
			return fail_at(
			    ps, ps->line,
			    "%s: expected a number in %s (like -14 or -0.5), got \"%.40s\"",
			    keys[k].name, keys[k].unit, val);
		if (v < keys[k].min || v > keys[k].max)
			return fail_at(ps, ps->line, "%s: expected %g to %g %s, got %s",
			               keys[k].name, keys[k].min, keys[k].max, keys[k].unit, val);
		if (k == K_TARGET)
			r->target_lufs = v;
		else if (k == K_MAX_PEAK)
			r->max_peak_dbtp = v;
		else if (k == K_CEILING)
			r->limiter_ceiling_db = v;
		else if (k == K_ATTACK)
			r->limiter_attack_ms = v;
		else if (k == K_RELEASE)
			r->limiter_release_ms = v;
		else
			r->gain_step_db = v;
		break;
	}
	ps->key_line[k] = ps->line;
	return REFS_PLATFORM_OK;
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
		return REFS_PLATFORM_OK;
	if (*s == '[')
		return begin_section(ps, s + 1);
	eq = strchr(s, '=');
	if (!eq)
		return fail_at(ps, ps->line,
		               "expected \"[id]\", \"key = value\" or a # comment, got \"%.40s\"",
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

/* Parses text (modified in place; `n` bytes, NUL bytes rejected). */
static int parse(char *text, size_t n, const char *name, unsigned flags,
                 struct refs_platform_set **out, char *msg, size_t len)
{
	struct parser ps = {.name = name, .cur = -1, .msg = msg, .len = len};
	struct refs_platform_set *set = calloc(1, sizeof(*set));
	char *line = text, *end = text ? text + n : NULL;
	size_t kept = 0;
	int err = REFS_PLATFORM_OK;

	if (!set) {
		err = REFS_PLATFORM_ERROR_NOMEM;
		goto nomem;
	}
	ps.set = set;
	if (!(flags & REFS_PLATFORM_LOAD_NO_BUILTINS))
		for (size_t i = 0; i < N_BUILTIN; i++) {
			err = add_rule(set, &ps.seen_line, &ps.enabled, &builtin[i]);
			if (err)
				goto nomem;
		}
	while (text && line < end) {
		char *nl = memchr(line, '\n', (size_t)(end - line));
		char *stop = nl ? nl : end;

		ps.line++;
		if (memchr(line, '\0', (size_t)(stop - line))) {
			err = fail_at(&ps, ps.line, "expected text, got a NUL byte");
			goto fail;
		}
		*stop = '\0';
		err = parse_line(&ps, line);
		if (err)
			goto fail;
		line = stop + 1;
	}
	err = end_section(&ps);
	if (err)
		goto fail;
	for (size_t i = 0; i < set->n; i++)
		if (ps.enabled[i])
			set->rule[kept++] = set->rule[i];
	set->n = kept;
	free(ps.seen_line);
	free(ps.enabled);
	refs_text_msg(msg, len, "%s", "");
	*out = set;
	return REFS_PLATFORM_OK;
nomem:
	refs_text_msg(msg, len, "%s: %s", name, refs_platform_strerror(err));
fail:
	free(ps.seen_line);
	free(ps.enabled);
	refs_platform_set_free(&set);
	*out = NULL;
	return err;
}

int refs_platform_load_string(const char *text, const char *name, unsigned flags,
                              struct refs_platform_set **out, char *msg, size_t len)
{
	size_t n = text ? strlen(text) : 0;
	char *copy = malloc(n + 1);
	int err;

	if (!copy) {
		*out = NULL;
		refs_text_msg(msg, len, "%s: %s", name,
		        refs_platform_strerror(REFS_PLATFORM_ERROR_NOMEM));
		return REFS_PLATFORM_ERROR_NOMEM;
	}
	if (n)
		memcpy(copy, text, n);
	copy[n] = '\0';
	err = parse(copy, n, name, flags, out, msg, len);
	free(copy);
	return err;
}

int refs_platform_load(const char *path, unsigned flags, struct refs_platform_set **out, char *msg,
                       size_t len)
{
	char *text = NULL;
	size_t n = 0;
	FILE *f;
	int err, saved;

	*out = NULL;
	if (!path)
		return parse(NULL, 0, "(built-in)", flags & ~REFS_PLATFORM_LOAD_NO_BUILTINS, out,
		             msg, len);
	f = fopen(path, "rb");
	if (!f) {
		if (errno == ENOENT && (flags & REFS_PLATFORM_LOAD_MISSING_OK))
			return parse(NULL, 0, path, flags, out, msg, len);
		saved = errno;
		refs_text_msg(msg, len, "%s: %s", path, strerror(saved));
		errno = saved;
		return REFS_PLATFORM_ERROR_ERRNO;
	}
	text = malloc(FILE_MAX_BYTES + 1);
	if (!text) {
		fclose(f);
		refs_text_msg(msg, len, "%s: %s", path,
		        refs_platform_strerror(REFS_PLATFORM_ERROR_NOMEM));
		return REFS_PLATFORM_ERROR_NOMEM;
	}
	n = fread(text, 1, FILE_MAX_BYTES + 1, f);
	if (ferror(f)) {
		saved = errno;
		fclose(f);
		free(text);
		refs_text_msg(msg, len, "%s: %s", path, strerror(saved));
		errno = saved;
		return REFS_PLATFORM_ERROR_ERRNO;
	}
	fclose(f);
	if (n > FILE_MAX_BYTES) {
		free(text);
		refs_text_msg(msg, len, "%s: larger than %u bytes: not a platform file", path,
		        FILE_MAX_BYTES);
		return REFS_PLATFORM_ERROR_TOOLONG;
	}
	text[n] = '\0';
	err = parse(text, n, path, flags, out, msg, len);
	free(text);
	return err;
}

int refs_platform_user_path(char *buf, size_t len)
{
	switch (refs_text_config_path("platforms.txt", buf, len)) {
	case 0:
		return REFS_PLATFORM_OK;
	case -1:
		return REFS_PLATFORM_ERROR_NOPATH;
	default:
		return REFS_PLATFORM_ERROR_TOOLONG;
	}
}

const char *refs_platform_strerror(int err)
{
	static const char *const text[] = {
	    [REFS_PLATFORM_OK] = "success",
	    [REFS_PLATFORM_ERROR_NOMEM] = "out of memory",
	    [REFS_PLATFORM_ERROR_ERRNO] = "cannot read the platform file",
	    [REFS_PLATFORM_ERROR_PARSE] = "malformed platform file",
	    [REFS_PLATFORM_ERROR_NOPATH] = "neither XDG_CONFIG_HOME nor HOME is set",
	    [REFS_PLATFORM_ERROR_TOOLONG] = "path or file too long",
	};

	if (err < 0 || (size_t)err >= sizeof(text) / sizeof(text[0]) || !text[err])
		return "unknown platform error";
	return text[err];
}

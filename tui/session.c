/*
 * termaster — the session file (see session.h for the format).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "chain/chain.h"
#include "chain/devsim.h"
#include "tui/session.h"

ssize_t (*tui_session_write_hook)(int fd, const void *buf, size_t n);

static const char *const monitor_names[TUI_SESSION_MONITOR_COUNT] = {
	"stereo", "mono", "side", "left", "right", "swap", "polarity",
};

static const char *const error_text[] = {
	[TUI_SESSION_OK] = "success",
	[TUI_SESSION_ERROR_ERRNO] = "system error",
	[TUI_SESSION_ERROR_NOMEM] = "out of memory",
	[TUI_SESSION_ERROR_SYNTAX] = "malformed session file",
	[TUI_SESSION_ERROR_MISSING] = "an audio file is missing",
	[TUI_SESSION_ERROR_VALUE] = "a value cannot be written",
};

static const char *const playhead_names[TUI_SESSION_PLAYHEAD_COUNT] = {
	"sync", "independent",
};
static const char *const method_names[TUI_SESSION_METHOD_COUNT] = {
	"integrated", "region", "riding",
};

const char *tui_session_playhead_name(int playhead)
{
	return playhead >= 0 && playhead < TUI_SESSION_PLAYHEAD_COUNT ?
	       playhead_names[playhead] : NULL;
}

const char *tui_session_method_name(int method)
{
	return method >= 0 && method < TUI_SESSION_METHOD_COUNT ? method_names[method] : NULL;
}

const char *tui_session_strerror(int err)
{
	if (err < 0 || (size_t)err >= sizeof(error_text) / sizeof(error_text[0]))
		return "unknown error";
	return error_text[err];
}

const char *tui_session_monitor_name(int monitor)
{
	if (monitor < 0 || monitor >= TUI_SESSION_MONITOR_COUNT)
		return NULL;
	return monitor_names[monitor];
}

__attribute__((format(printf, 3, 4)))
static void say(char *msg, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (!msg || !len)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, len, fmt, ap);
	va_end(ap);
}

/* ---- the struct ---- */

void tui_session_init(struct tui_session *s)
{
	memset(s, 0, sizeof(*s));
	chain_settings_default(&s->chain);
	s->match = true;
	s->monitor = 0;
	s->level_db = CHAIN_DEVSIM_LEVEL_DEF_DB;
}

void tui_session_free(struct tui_session *s)
{
	free(s->path);
	free(s->mix);
	for (int i = 0; i < s->n_refs; i++)
		free(s->refs[i]);
	free(s->refs);
	free(s->ref_offset_s);
	free(s->ref);
	free(s->line_of_ref);
	tui_session_init(s);
}

int tui_session_set_mix(struct tui_session *s, const char *path)
{
	char *p = NULL;

	if (path && !(p = strdup(path)))
		return TUI_SESSION_ERROR_NOMEM;
	free(s->mix);
	s->mix = p;
	s->line_of_mix = 0;
	return TUI_SESSION_OK;
}

/* Appends a reference whose path is already allocated (taken over). */
static int add_ref_owned(struct tui_session *s, char *p, double offset_s, int line)
{
	size_t n = (size_t)s->n_refs + 1;
	char **r;
	double *o;
	struct tui_session_ref *x;
	int *l;

	if (s->n_refs >= TUI_SESSION_REFS_MAX) {
		free(p);
		return TUI_SESSION_ERROR_VALUE;
	}
	r = realloc(s->refs, n * sizeof(*r));
	if (r)
		s->refs = r;
	o = realloc(s->ref_offset_s, n * sizeof(*o));
	if (o)
		s->ref_offset_s = o;
	x = realloc(s->ref, n * sizeof(*x));
	if (x)
		s->ref = x;
	l = realloc(s->line_of_ref, n * sizeof(*l));
	if (l)
		s->line_of_ref = l;
	if (!r || !o || !x || !l) {
		free(p);
		return TUI_SESSION_ERROR_NOMEM;
	}
	s->refs[s->n_refs] = p;
	s->ref_offset_s[s->n_refs] = offset_s;
	memset(&s->ref[s->n_refs], 0, sizeof(s->ref[0]));
	s->line_of_ref[s->n_refs] = line;
	s->n_refs++;
	return TUI_SESSION_OK;
}

int tui_session_add_ref(struct tui_session *s, const char *path, double offset_s)
{
	char *p = strdup(path ? path : "");

	if (!p)
		return TUI_SESSION_ERROR_NOMEM;
	return add_ref_owned(s, p, offset_s, 0);
}

/* ---- locale-free numbers ---- */

static locale_t c_locale(void)
{
	static locale_t loc;

	/* benign race: two threads may both create one; one leaks */
	if (!loc)
		loc = newlocale(LC_ALL_MASK, "C", (locale_t)0);
	return loc;
}

/* A decimal number: [+-]digits[.digits][e[+-]digits], nothing else (no
 * "inf", "nan", hex).  Returns 0 and sets *out, or -1. */
static int parse_double(const char *text, double *out)
{
	const char *c = text;
	locale_t loc = c_locale(), old;
	char *end;
	double v;
	int digits = 0;

	if (*c == '+' || *c == '-')
		c++;
	for (; *c >= '0' && *c <= '9'; c++)
		digits++;
	if (*c == '.')
		for (c++; *c >= '0' && *c <= '9'; c++)
			digits++;
	if (!digits)
		return -1;
	if (*c == 'e' || *c == 'E') {
		c++;
		if (*c == '+' || *c == '-')
			c++;
		if (!(*c >= '0' && *c <= '9'))
			return -1;
		while (*c >= '0' && *c <= '9')
			c++;
	}
	if (*c || !loc)
		return -1;
	old = uselocale(loc);
	errno = 0;
	v = strtod(text, &end);
	uselocale(old);
	if (*end || !isfinite(v))
		return -1;
	*out = v;
	return 0;
}

/* ---- reading ---- */

enum section {
	SEC_NONE = 0,
	SEC_MIX,
	SEC_REF,
	SEC_CHAIN,
	SEC_MONITOR,
	SEC_SNAPSHOT,
};

enum monitor_key {
	MK_MATCH,
	MK_MONITOR,
	MK_SYSTEM,
	MK_LEVEL,
	MK_PLATFORM,
	MK_BANDSOLO,
	MK_PLAYHEAD,
	MK_METHOD,
	MK_COUNT,
};

static const char *const monitor_keys[MK_COUNT] = {
	"match", "monitor", "system", "level_db", "platform", "bandsolo", "playhead",
	"method",
};

/* [ref N] keys besides path and offset_s */
enum ref_key {
	RK_TRIM,
	RK_LOOP,
	RK_LOOP_IN,
	RK_LOOP_OUT,
	RK_CUES,
	RK_COUNT,
};

static const char *const ref_keys[RK_COUNT] = {
	"trim_db", "loop", "loop_in_s", "loop_out_s", "cues",
};

struct reader {
	const char *file;        /* as given, for messages */
	const char *dir;         /* folder of the session, NULL = "." */
	size_t dir_len;
	char *msg;
	size_t len;
	int line;
	enum section sec;
	int sec_line;
	int line_of_mix_sec, line_of_chain, line_of_monitor;
	int ref_path_line, ref_offset_line;  /* of the current [ref N] */
	int ref_sec_line[TUI_SESSION_REFS_MAX + 1];  /* of [ref N], by N */
	int mix_path_line;
	int chain_line[CHAIN_PARAM_MAX];
	int monitor_line[MK_COUNT];
	char *ref_path;          /* of the current [ref N], not yet added */
	double ref_offset;
	struct tui_session_ref refx;         /* of the current [ref N] */
	int ref_key_line[RK_COUNT];          /* of the current [ref N] */
	int snapshot;                        /* of the current [snapshot X] */
	int snapshot_sec_line[TUI_SESSION_SNAPSHOTS];
	int snapshot_line[TUI_SESSION_SNAPSHOTS][CHAIN_PARAM_MAX];
};

__attribute__((format(printf, 2, 3)))
static int bad(struct reader *r, const char *fmt, ...)
{
	char what[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	say(r->msg, r->len, "%s:%d: %s", r->file, r->line, what);
	return TUI_SESSION_ERROR_SYNTAX;
}

static int is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static char *trim(char *a)
{
	char *e;

	while (is_blank(*a))
		a++;
	e = a + strlen(a);
	while (e > a && is_blank(e[-1]))
		e--;
	*e = '\0';
	return a;
}

/* Collapses "a/./b", "a//b" and "a/x/../b" (lexically; a leading ".."
 * stays).  In place: the result is never longer. */
static void clean_path(char *p)
{
	const char *in = p;
	char *out = p;
	int absolute = *p == '/';
	size_t keep = 0;        /* components in out that ".." may remove */

	if (absolute) {
		in++;
		out++;
	}
	while (*in) {
		const char *seg = in;
		size_t n;

		while (*in && *in != '/')
			in++;
		n = (size_t)(in - seg);
		while (*in == '/')
			in++;
		if (n == 0 || (n == 1 && seg[0] == '.'))
			continue;
		if (n == 2 && seg[0] == '.' && seg[1] == '.') {
			if (keep) {
				/* drop the last component of out */
				out--;          /* its '/' */
				while (out > p + absolute && out[-1] != '/')
					out--;
				keep--;
				continue;
			}
			if (absolute)   /* "/.." is "/" */
				continue;
		} else {
			keep++;
		}
		/* out <= seg; the separator goes where `in` has moved past */
		memmove(out, seg, n);
		out += n;
		if (*in)
			*out++ = '/';
		else
			break;
	}
	if (out > p + absolute && out[-1] == '/')
		out--;
	if (out == p)
		*out++ = '.';
	*out = '\0';
}

/* The path of a stored value: absolute as is, relative resolved against
 * the session's folder. */
static char *resolve(const struct reader *r, const char *value)
{
	size_t n = strlen(value);
	char *p;

	if (value[0] == '/' || !r->dir) {
		p = strdup(value);
		if (p && value[0] != '/')
			clean_path(p);
		return p;
	}
	p = malloc(r->dir_len + 1 + n + 1);
	if (!p)
		return NULL;
	memcpy(p, r->dir, r->dir_len);
	p[r->dir_len] = '/';
	memcpy(p + r->dir_len + 1, value, n + 1);
	clean_path(p);
	return p;
}

/* Closes the current section: checks it is complete. */
static int end_section(struct reader *r, struct tui_session *s)
{
	int err;

	if (r->sec == SEC_MIX && !s->mix) {
		r->line = r->sec_line;
		return bad(r, "[mix] has no 'path'");
	}
	if (r->sec == SEC_REF) {
		if (!r->ref_path) {
			r->line = r->sec_line;
			return bad(r, "[ref %d] has no 'path'", s->n_refs + 1);
		}
		struct tui_session_ref *x = &r->refx;

		/* a loop region needs both ends, in order; "loop = on" needs one */
		if (r->ref_key_line[RK_LOOP_IN] || r->ref_key_line[RK_LOOP_OUT] ||
		    x->loop_on) {
			if (!r->ref_key_line[RK_LOOP_IN] || !r->ref_key_line[RK_LOOP_OUT]) {
				r->line = r->sec_line;
				return bad(r, "[ref %d]: a loop needs both loop_in_s and loop_out_s",
					   s->n_refs + 1);
			}
			if (!(x->loop_in_s < x->loop_out_s)) {
				r->line = r->ref_key_line[RK_LOOP_OUT];
				return bad(r, "[ref %d] loop_out_s: %g is not after loop_in_s %g",
					   s->n_refs + 1, x->loop_out_s, x->loop_in_s);
			}
		}
		err = add_ref_owned(s, r->ref_path, r->ref_offset, r->ref_path_line);
		r->ref_path = NULL;
		if (err)
			return err;
		s->ref[s->n_refs - 1] = *x;
	}
	return 0;
}

/* A ref number: 1 … TUI_SESSION_REFS_MAX written plainly, or -1. */
static int ref_number(const char *t)
{
	int n = 0;

	if (*t < '1' || *t > '9')
		return -1;
	for (; *t >= '0' && *t <= '9'; t++) {
		n = n * 10 + (*t - '0');
		if (n > 100000)
			return -1;
	}
	return *t ? -1 : n;
}

static int section_line(struct reader *r, struct tui_session *s, char *t)
{
	size_t n = strlen(t);
	char *name;
	int err, *seen = NULL;
	enum section sec;

	if (t[n - 1] != ']')
		return bad(r, "expected ']' at the end of the section name");
	t[n - 1] = '\0';
	name = trim(t + 1);
	err = end_section(r, s);
	if (err)
		return err;
	if (!strcmp(name, "mix")) {
		sec = SEC_MIX;
		seen = &r->line_of_mix_sec;
	} else if (!strcmp(name, "chain")) {
		sec = SEC_CHAIN;
		seen = &r->line_of_chain;
	} else if (!strcmp(name, "monitor")) {
		sec = SEC_MONITOR;
		seen = &r->line_of_monitor;
	} else if (!strncmp(name, "ref", 3) && is_blank(name[3])) {
		int k = ref_number(trim(name + 4));

		if (k < 0)
			return bad(r, "[%s]: expected [ref N] with N = 1, 2, …", name);
		if (k <= s->n_refs)
			return bad(r, "duplicate section [ref %d] (first on line %d)", k,
				   r->ref_sec_line[k]);
		if (k != s->n_refs + 1) {
			if (s->n_refs)
				return bad(r, "[ref %d] follows [ref %d]: references are numbered 1, 2, …",
					   k, s->n_refs);
			return bad(r, "[ref %d] comes first: references are numbered 1, 2, …", k);
		}
		if (k > TUI_SESSION_REFS_MAX)
			return bad(r, "[ref %d]: at most %d references", k, TUI_SESSION_REFS_MAX);
		sec = SEC_REF;
		r->ref_sec_line[k] = r->line;
		r->ref_path_line = r->ref_offset_line = 0;
		r->ref_offset = 0;
		memset(&r->refx, 0, sizeof(r->refx));
		memset(r->ref_key_line, 0, sizeof(r->ref_key_line));
	} else if (!strncmp(name, "snapshot", 8) && is_blank(name[8])) {
		const char *l = trim(name + 9);

		if (l[0] < 'A' || l[0] >= 'A' + TUI_SESSION_SNAPSHOTS || l[1])
			return bad(r, "[%s]: expected [snapshot A] … [snapshot %c]", name,
				   'A' + TUI_SESSION_SNAPSHOTS - 1);
		sec = SEC_SNAPSHOT;
		r->snapshot = l[0] - 'A';
		seen = &r->snapshot_sec_line[r->snapshot];
		if (!*seen) {
			s->has_snapshot[r->snapshot] = true;
			chain_settings_default(&s->snapshot[r->snapshot]);
		}
	} else {
		return bad(r, "unknown section [%s] (expected [mix], [ref N], [chain], [monitor] "
			   "or [snapshot A-D])", name);
	}
	if (seen) {
		if (*seen)
			return bad(r, "duplicate section [%s] (first on line %d)", name, *seen);
		*seen = r->line;
	}
	r->sec = sec;
	r->sec_line = r->line;
	return 0;
}

static int dup_key(struct reader *r, const char *key, int *seen)
{
	static const char *const names[] = {
		[SEC_MIX] = "[mix]", [SEC_REF] = "[ref]", [SEC_CHAIN] = "[chain]",
		[SEC_MONITOR] = "[monitor]", [SEC_SNAPSHOT] = "[snapshot]",
	};

	if (*seen) {
		if (r->sec == SEC_REF)
			return bad(r, "duplicate key '%s' in this [ref] (first on line %d)",
				   key, *seen);
		return bad(r, "duplicate key '%s' in %s (first on line %d)", key,
			   names[r->sec], *seen);
	}
	*seen = r->line;
	return 0;
}

static int monitor_key(struct reader *r, struct tui_session *s, const char *key,
		       const char *val)
{
	int k, err;
	double v;

	for (k = 0; k < MK_COUNT; k++)
		if (!strcmp(key, monitor_keys[k]))
			break;
	if (k == MK_COUNT)
		return bad(r, "unknown key '%s' in [monitor] (expected match, monitor, system, "
			   "level_db, platform, bandsolo, playhead or method)", key);
	err = dup_key(r, key, &r->monitor_line[k]);
	if (err)
		return err;
	switch (k) {
	case MK_MATCH:
		if (!strcmp(val, "on"))
			s->match = true;
		else if (!strcmp(val, "off"))
			s->match = false;
		else
			return bad(r, "[monitor] match: expected on or off, got '%s'", val);
		break;
	case MK_MONITOR:
		for (int i = 0; i < TUI_SESSION_MONITOR_COUNT; i++) {
			if (!strcmp(val, monitor_names[i])) {
				s->monitor = i;
				return 0;
			}
		}
		return bad(r, "[monitor] monitor: expected stereo, mono, side, left, right, "
			   "swap or polarity, got '%s'", val);
	case MK_SYSTEM:
	case MK_PLATFORM: {
		char *dst = k == MK_SYSTEM ? s->system : s->platform;

		if (strlen(val) >= sizeof(s->system) || strpbrk(val, " \t"))
			return bad(r, "[monitor] %s: expected a name of at most %zu characters "
				   "without blanks, or off", key, sizeof(s->system) - 1);
		strcpy(dst, strcmp(val, "off") ? val : "");
		break;
	}
	case MK_LEVEL:
		if (parse_double(val, &v))
			return bad(r, "[monitor] level_db: '%s' is not a number", val);
		if (v < CHAIN_DEVSIM_LEVEL_MIN_DB || v > CHAIN_DEVSIM_LEVEL_MAX_DB)
			return bad(r, "[monitor] level_db: %g is out of range %g … %g dB", v,
				   (double)CHAIN_DEVSIM_LEVEL_MIN_DB,
				   (double)CHAIN_DEVSIM_LEVEL_MAX_DB);
		s->level_db = v;
		break;
	case MK_BANDSOLO:
		if (!strcmp(val, "off")) {
			s->bandsolo = 0;
		} else if (val[0] >= '0' && val[0] <= '0' + TUI_SESSION_BANDSOLO_MAX &&
			   !val[1]) {
			s->bandsolo = val[0] - '0';
		} else {
			return bad(r, "[monitor] bandsolo: expected 0 (off) … %d, got '%s'",
				   TUI_SESSION_BANDSOLO_MAX, val);
		}
		break;
	case MK_PLAYHEAD:
		for (int i = 0; i < TUI_SESSION_PLAYHEAD_COUNT; i++) {
			if (!strcmp(val, playhead_names[i])) {
				s->playhead = i;
				return 0;
			}
		}
		return bad(r, "[monitor] playhead: expected sync or independent, got '%s'", val);
	case MK_METHOD:
		for (int i = 0; i < TUI_SESSION_METHOD_COUNT; i++) {
			if (!strcmp(val, method_names[i])) {
				s->method = i;
				return 0;
			}
		}
		return bad(r, "[monitor] method: expected integrated, region or riding, got '%s'",
			   val);
	}
	return 0;
}

/* A time on a clip: a number 0 … TUI_SESSION_OFFSET_MAX_S. */
static int clip_time(struct reader *r, int ref, const char *key, const char *val, double *out)
{
	if (parse_double(val, out))
		return bad(r, "[ref %d] %s: '%s' is not a number", ref, key, val);
	if (*out < 0 || *out > TUI_SESSION_OFFSET_MAX_S)
		return bad(r, "[ref %d] %s: %g is out of range 0 … %g s", ref, key, *out,
			   TUI_SESSION_OFFSET_MAX_S);
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* trim_db, loop, loop_in_s, loop_out_s, cues of the current [ref N]. */
static int ref_key(struct reader *r, int ref, const char *key, char *val)
{
	struct tui_session_ref *x = &r->refx;
	int k, err;

	for (k = 0; k < RK_COUNT; k++)
		if (!strcmp(key, ref_keys[k]))
			break;
	if (k == RK_COUNT)
		return bad(r, "unknown key '%s' in [ref %d] (expected path, offset_s, trim_db, "
			   "loop, loop_in_s, loop_out_s or cues)", key, ref);
	err = dup_key(r, key, &r->ref_key_line[k]);
	if (err)
		return err;
	switch (k) {
	case RK_TRIM:
		if (parse_double(val, &x->trim_db))
			return bad(r, "[ref %d] trim_db: '%s' is not a number", ref, val);
		if (fabs(x->trim_db) > TUI_SESSION_TRIM_MAX_DB)
			return bad(r, "[ref %d] trim_db: %g is out of range %g … %g dB", ref,
				   x->trim_db, -TUI_SESSION_TRIM_MAX_DB, TUI_SESSION_TRIM_MAX_DB);
		return 0;
	case RK_LOOP:
		if (!strcmp(val, "on"))
			x->loop_on = true;
		else if (!strcmp(val, "off"))
			x->loop_on = false;
		else
			return bad(r, "[ref %d] loop: expected on or off, got '%s'", ref, val);
		return 0;
	case RK_LOOP_IN:
		return clip_time(r, ref, key, val, &x->loop_in_s);
	case RK_LOOP_OUT:
		return clip_time(r, ref, key, val, &x->loop_out_s);
	case RK_CUES: {
		/* "12.5, 61, 93.25": numbers separated by commas */
		char *p = val;

		x->n_cues = 0;
		for (;;) {
			char *comma = strchr(p, ',');
			char *item;
			double v;

			if (comma)
				*comma = '\0';
			item = trim(p);
			if (!*item)
				return bad(r, "[ref %d] cues: expected numbers separated by commas",
					   ref);
			if (x->n_cues >= TUI_SESSION_CUES_MAX)
				return bad(r, "[ref %d] cues: at most %d cue points", ref,
					   TUI_SESSION_CUES_MAX);
			err = clip_time(r, ref, "cues", item, &v);
			if (err)
				return err;
			x->cue_s[x->n_cues++] = v;
			if (!comma)
				break;
			p = comma + 1;
		}
		qsort(x->cue_s, (size_t)x->n_cues, sizeof(x->cue_s[0]), cmp_double);
		return 0;
	}
	}
	return 0;
}

static int key_line(struct reader *r, struct tui_session *s, char *t)
{
	char *eq = strchr(t, '='), *key, *val;
	char why[512];
	int idx, err;
	double v;

	if (!eq)
		return bad(r, "expected 'key = value', a [section] or a # comment");
	*eq = '\0';
	key = trim(t);
	val = trim(eq + 1);
	if (!*key)
		return bad(r, "expected a key before '='");
	if (!*val)
		return bad(r, "value missing after '%s ='", key);
	switch (r->sec) {
	case SEC_NONE:
		if (!strcmp(key, "version"))
			return bad(r, "duplicate key 'version'");
		return bad(r, "'%s' outside a section: expected [mix], [ref N], [chain] "
			   "or [monitor] first", key);
	case SEC_MIX:
		if (strcmp(key, "path"))
			return bad(r, "unknown key '%s' in [mix] (expected path)", key);
		err = dup_key(r, key, &r->mix_path_line);
		if (err)
			return err;
		s->mix = resolve(r, val);
		s->line_of_mix = r->line;
		return s->mix ? 0 : TUI_SESSION_ERROR_NOMEM;
	case SEC_REF:
		if (!strcmp(key, "path")) {
			err = dup_key(r, key, &r->ref_path_line);
			if (err)
				return err;
			r->ref_path = resolve(r, val);
			return r->ref_path ? 0 : TUI_SESSION_ERROR_NOMEM;
		}
		if (!strcmp(key, "offset_s")) {
			err = dup_key(r, key, &r->ref_offset_line);
			if (err)
				return err;
			if (parse_double(val, &v))
				return bad(r, "[ref %d] offset_s: '%s' is not a number",
					   s->n_refs + 1, val);
			if (fabs(v) > TUI_SESSION_OFFSET_MAX_S)
				return bad(r, "[ref %d] offset_s: %g is out of range %g … %g s",
					   s->n_refs + 1, v, -TUI_SESSION_OFFSET_MAX_S,
					   TUI_SESSION_OFFSET_MAX_S);
			r->ref_offset = v;
			return 0;
		}
		return ref_key(r, s->n_refs + 1, key, val);
	case SEC_CHAIN:
		idx = chain_param_find(key);
		if (idx < 0)
			return bad(r, "unknown key '%s' in [chain]", key);
		err = dup_key(r, key, &r->chain_line[idx]);
		if (err)
			return err;
		if (chain_settings_set(&s->chain, key, val, why, sizeof(why)))
			return bad(r, "[chain] %s", why);
		return 0;
	case SEC_MONITOR:
		s->has_monitor = true;
		return monitor_key(r, s, key, val);
	case SEC_SNAPSHOT:
		idx = chain_param_find(key);
		if (idx < 0)
			return bad(r, "unknown key '%s' in [snapshot %c]", key, 'A' + r->snapshot);
		err = dup_key(r, key, &r->snapshot_line[r->snapshot][idx]);
		if (err)
			return err;
		if (chain_settings_set(&s->snapshot[r->snapshot], key, val, why, sizeof(why)))
			return bad(r, "[snapshot %c] %s", 'A' + r->snapshot, why);
		return 0;
	}
	return 0;
}

/* The first line that is not blank or a comment. */
static int version_line(struct reader *r, char *t)
{
	char *eq = strchr(t, '='), *val;
	int v = 0;

	if (!eq)
		return bad(r, "expected 'version = %d' first", TUI_SESSION_VERSION);
	*eq = '\0';
	if (strcmp(trim(t), "version"))
		return bad(r, "expected 'version = %d' first", TUI_SESSION_VERSION);
	val = trim(eq + 1);
	if (*val < '1' || *val > '9')
		return bad(r, "version: expected a whole number (%d), got '%s'",
			   TUI_SESSION_VERSION, val);
	for (const char *c = val; *c; c++) {
		if (*c < '0' || *c > '9')
			return bad(r, "version: expected a whole number (%d), got '%s'",
				   TUI_SESSION_VERSION, val);
		if (v < 1000000)
			v = v * 10 + (*c - '0');
	}
	if (v > TUI_SESSION_VERSION)
		return bad(r, "version %s is newer than this termaster reads (%d)", val,
			   TUI_SESSION_VERSION);
	return 0;
}

/* Reads the whole file (at most TUI_SESSION_SIZE_MAX bytes) into *buf,
 * NUL-terminated. */
static int slurp(const char *path, char **buf, size_t *n, char *msg, size_t len)
{
	FILE *f = fopen(path, "rb");
	char *b = NULL;
	size_t got = 0;
	int err = 0;

	if (!f) {
		say(msg, len, "%s: %s", path, strerror(errno));
		return TUI_SESSION_ERROR_ERRNO;
	}
	b = malloc(TUI_SESSION_SIZE_MAX + 2);
	if (!b) {
		fclose(f);
		return TUI_SESSION_ERROR_NOMEM;
	}
	got = fread(b, 1, TUI_SESSION_SIZE_MAX + 1, f);
	if (ferror(f)) {
		err = errno;
		say(msg, len, "%s: %s", path, strerror(err ? err : EIO));
		fclose(f);
		free(b);
		errno = err;
		return TUI_SESSION_ERROR_ERRNO;
	}
	fclose(f);
	if (got > TUI_SESSION_SIZE_MAX) {
		say(msg, len, "%s: not a session file (larger than %d bytes)", path,
		    TUI_SESSION_SIZE_MAX);
		free(b);
		return TUI_SESSION_ERROR_SYNTAX;
	}
	b[got] = '\0';
	*buf = b;
	*n = got;
	return 0;
}

static int parse(struct reader *r, struct tui_session *s, char *buf, size_t n)
{
	bool have_version = false;
	char *p = buf, *end = buf + n;
	int err;

	/* a text file: no NUL, no control characters but tab, CR, LF, FF */
	for (size_t i = 0, line = 1; i < n; i++) {
		unsigned char c = (unsigned char)buf[i];

		if (c == '\n')
			line++;
		else if ((c < 0x20 && c != '\t' && c != '\r' && c != '\f') || c == 0x7f) {
			r->line = (int)(line > INT_MAX ? INT_MAX : line);
			return bad(r, "not a text file (control character 0x%02x)", c);
		}
	}
	/* a UTF-8 byte-order mark is tolerated */
	if (n >= 3 && !memcmp(p, "\xef\xbb\xbf", 3))
		p += 3;
	r->line = 0;
	while (p < end) {
		char *nl = memchr(p, '\n', (size_t)(end - p)), *t;
		size_t ln;

		if (!nl)
			nl = end;
		r->line++;
		ln = (size_t)(nl - p);
		if (ln && p[ln - 1] == '\r')
			ln--;
		if (ln > TUI_SESSION_LINE_MAX)
			return bad(r, "line too long (more than %d characters)",
				   TUI_SESSION_LINE_MAX);
		p[ln] = '\0';
		t = trim(p);
		p = nl + 1;
		for (char *c = t; *c; c++)
			if (*c == '\f')
				*c = ' ';
		t = trim(t);
		if (!*t || *t == '#')
			continue;
		if (!have_version) {
			err = version_line(r, t);
			if (err)
				return err;
			have_version = true;
			continue;
		}
		err = *t == '[' ? section_line(r, s, t) : key_line(r, s, t);
		if (err)
			return err;
	}
	if (!have_version) {
		r->line = 1;
		return bad(r, "expected 'version = %d' first", TUI_SESSION_VERSION);
	}
	err = end_section(r, s);
	if (err)
		return err;
	if (!s->mix) {
		if (!r->line)
			r->line = 1;
		return bad(r, "missing [mix] section (expected [mix] with 'path = FILE')");
	}
	return 0;
}

int tui_session_load(const char *path, struct tui_session *s, char *msg, size_t len)
{
	struct tui_session t;
	struct reader *r = NULL;
	const char *slash;
	char *buf = NULL;
	size_t n = 0;
	int err;

	tui_session_init(&t);
	err = slurp(path, &buf, &n, msg, len);
	if (err)
		goto out;
	r = calloc(1, sizeof(*r));
	if (!r) {
		err = TUI_SESSION_ERROR_NOMEM;
		goto out;
	}
	r->file = path;
	r->msg = msg;
	r->len = len;
	slash = strrchr(path, '/');
	if (slash) {
		r->dir = path;
		r->dir_len = slash == path ? 1 : (size_t)(slash - path);
		if (slash == path)
			r->dir_len = 0;     /* "/x.tms": "" + "/" + value */
	}
	err = parse(r, &t, buf, n);
	free(r->ref_path);
	if (err)
		goto out;
	t.path = strdup(path);
	if (!t.path) {
		err = TUI_SESSION_ERROR_NOMEM;
		goto out;
	}
	tui_session_free(s);
	*s = t;
	tui_session_init(&t);
	if (msg && len)
		msg[0] = '\0';
out:
	if (err == TUI_SESSION_ERROR_NOMEM)
		say(msg, len, "%s: out of memory", path);
	free(r);
	free(buf);
	tui_session_free(&t);
	return err;
}

/* ---- writing ---- */

/* An absolute, lexically clean path of `p` (relative to the current
 * folder), its folder resolved with realpath() when it exists. */
static char *absolute(const char *p)
{
	char *a, *slash, *dir;
	size_t n;

	if (p[0] == '/') {
		a = strdup(p);
	} else {
		char *cwd = getcwd(NULL, 0);

		if (!cwd)
			return NULL;
		n = strlen(cwd) + 1 + strlen(p) + 1;
		a = malloc(n);
		if (a)
			snprintf(a, n, "%s/%s", cwd, p);
		free(cwd);
	}
	if (!a)
		return NULL;
	clean_path(a);
	slash = strrchr(a, '/');
	if (slash && slash != a) {
		*slash = '\0';
		dir = realpath(a, NULL);
		*slash = '/';
		if (dir) {
			n = strlen(dir) + strlen(slash) + 1;
			char *b = malloc(n);

			if (b) {
				snprintf(b, n, "%s%s", dir, strcmp(dir, "/") ? slash : slash + 1);
				free(a);
				a = b;
			}
			free(dir);
		}
	}
	return a;
}

/* `target` written relative to folder `dir` (both absolute and clean). */
static char *relative_to(const char *dir, const char *target)
{
	size_t i, common = 0, ups = 0, n;
	const char *rest;
	char *out, *o;

	/* the longest common prefix that ends at a component boundary */
	for (i = 0; dir[i] && dir[i] == target[i]; i++)
		if (dir[i] == '/')
			common = i;
	if (!dir[i] && (target[i] == '/' || !target[i]))
		common = i;
	if (common == 0)        /* only "/" in common: keep it absolute */
		return strdup(target);
	rest = target + common;
	while (*rest == '/')
		rest++;
	for (const char *c = dir + common; *c; c++)
		if (*c == '/' && c[1])
			ups++;
	n = ups * 3 + strlen(rest) + 2;
	out = malloc(n);
	if (!out)
		return NULL;
	o = out;
	for (size_t k = 0; k < ups; k++) {
		memcpy(o, "../", 3);
		o += 3;
	}
	strcpy(o, rest);
	if (!*out)
		strcpy(out, ".");
	return out;
}

/* What to write for `p`: relative to the session's folder `dir`, or as
 * given when either cannot be made absolute. */
static char *stored_path(const char *dir, const char *p)
{
	char *a, *rel;

	if (!dir)
		return strdup(p);
	a = absolute(p);
	if (!a)
		return strdup(p);
	rel = relative_to(dir, a);
	free(a);
	return rel;
}

static int path_ok(const char *p)
{
	if (!*p || is_blank(p[0]) || is_blank(p[strlen(p) - 1]))
		return 0;
	for (const char *c = p; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			return 0;
	return 1;
}

/* The text of a session, in the "C" locale. */
/* A system or platform name that reads back: no blanks, no control
 * characters, not "off" (which means none). */
static int name_ok(const char *name)
{
	if (!strcmp(name, "off"))
		return 0;
	for (const char *c = name; *c; c++)
		if ((unsigned char)*c <= 0x20 || *c == 0x7f)
			return 0;
	return 1;
}

static bool time_bad(double t)
{
	return !(t >= 0 && t <= TUI_SESSION_OFFSET_MAX_S);
}

/* What the reader would refuse of a reference's trim, loop and cues. */
static bool ref_values_bad(const struct tui_session_ref *x)
{
	bool has_loop = x->loop_on || x->loop_in_s != 0 || x->loop_out_s != 0;

	if (!(fabs(x->trim_db) <= TUI_SESSION_TRIM_MAX_DB))
		return true;
	if (has_loop && (time_bad(x->loop_in_s) || time_bad(x->loop_out_s) ||
			 !(x->loop_in_s < x->loop_out_s)))
		return true;
	if (x->n_cues < 0 || x->n_cues > TUI_SESSION_CUES_MAX)
		return true;
	for (int c = 0; c < x->n_cues; c++)
		if (time_bad(x->cue_s[c]))
			return true;
	return false;
}

static void write_chain(FILE *f, const struct chain_settings *cs)
{
	for (unsigned i = 0; i < chain_param_count(); i++) {
		const struct chain_param_info *pi = chain_param_at(i);
		float v = chain_param_clamp(i, cs->value[i]);
		const char *name = pi->param->choices ? chain_param_choice(i, v) : NULL;

		if (name)
			fprintf(f, "%s = %s\n", pi->id, name);
		else
			fprintf(f, "%s = %.9g\n", pi->id, (double)v);
	}
}

/* A reference's trim, loop and cues, each only when set. */
static void write_ref_extra(FILE *f, const struct tui_session_ref *x)
{
	double cues[TUI_SESSION_CUES_MAX];

	if (x->trim_db != 0)
		fprintf(f, "trim_db = %.17g\n", x->trim_db);
	if (x->loop_on || x->loop_in_s != 0 || x->loop_out_s != 0)
		fprintf(f, "loop = %s\nloop_in_s = %.17g\nloop_out_s = %.17g\n",
			x->loop_on ? "on" : "off", x->loop_in_s, x->loop_out_s);
	if (x->n_cues > 0) {
		memcpy(cues, x->cue_s, (size_t)x->n_cues * sizeof(cues[0]));
		qsort(cues, (size_t)x->n_cues, sizeof(cues[0]), cmp_double);
		fprintf(f, "cues = ");
		for (int c = 0; c < x->n_cues; c++)
			fprintf(f, "%s%.17g", c ? ", " : "", cues[c]);
		fprintf(f, "\n");
	}
}

/* Checks what the reader would refuse, so that a saved session loads. */
static int check_values(const struct tui_session *s, const char *path, char *msg,
			size_t len)
{
	if (!s->mix) {
		say(msg, len, "%s: no mix to save", path);
		return TUI_SESSION_ERROR_VALUE;
	}
	for (int i = 0; i < s->n_refs; i++) {
		if (!isfinite(s->ref_offset_s[i]) ||
		    fabs(s->ref_offset_s[i]) > TUI_SESSION_OFFSET_MAX_S) {
			say(msg, len, "%s: [ref %d] offset_s %g is out of range", path, i + 1,
			    s->ref_offset_s[i]);
			return TUI_SESSION_ERROR_VALUE;
		}
		if (s->ref && ref_values_bad(&s->ref[i])) {
			say(msg, len, "%s: [ref %d] trim, loop or cues out of range", path, i + 1);
			return TUI_SESSION_ERROR_VALUE;
		}
	}
	if (s->has_monitor &&
	    (!memchr(s->system, '\0', sizeof(s->system)) ||
	     !memchr(s->platform, '\0', sizeof(s->platform)) ||
	     (s->system[0] && !name_ok(s->system)) ||
	     (s->platform[0] && !name_ok(s->platform)))) {
		say(msg, len, "%s: [monitor] system or platform is not a name", path);
		return TUI_SESSION_ERROR_VALUE;
	}
	return 0;
}

static int format(const struct tui_session *s, const char *path, const char *dir,
		  char **text, size_t *n, char *msg, size_t len)
{
	locale_t loc = c_locale(), old;
	char *rel = NULL;
	FILE *f;
	int err = 0;

	if (!loc)
		return TUI_SESSION_ERROR_NOMEM;
	f = open_memstream(text, n);
	if (!f)
		return TUI_SESSION_ERROR_NOMEM;
	old = uselocale(loc);
	fprintf(f, "# termaster session\nversion = %d\n", TUI_SESSION_VERSION);
	for (int i = -1; i < s->n_refs && !err; i++) {
		const char *p = i < 0 ? s->mix : s->refs[i];

		rel = stored_path(dir, p);
		if (!rel) {
			err = TUI_SESSION_ERROR_NOMEM;
			break;
		}
		if (!path_ok(rel)) {
			say(msg, len, "%s: cannot write the path '%s': empty, a blank at "
			    "an end or a control character", path, p);
			err = TUI_SESSION_ERROR_VALUE;
			break;
		}
		if (i < 0) {
			fprintf(f, "\n[mix]\npath = %s\n", rel);
		} else {
			fprintf(f, "\n[ref %d]\npath = %s\n", i + 1, rel);
			if (s->ref_offset_s[i] != 0)
				fprintf(f, "offset_s = %.17g\n", s->ref_offset_s[i]);
			if (s->ref)
				write_ref_extra(f, &s->ref[i]);
		}
		free(rel);
		rel = NULL;
	}
	if (!err) {
		fprintf(f, "\n[chain]\n");
		write_chain(f, &s->chain);
	}
	if (s->has_monitor && !err) {
		fprintf(f, "\n[monitor]\nmatch = %s\n", s->match ? "on" : "off");
		fprintf(f, "monitor = %s\n", tui_session_monitor_name(s->monitor) ?
			tui_session_monitor_name(s->monitor) : "stereo");
		fprintf(f, "system = %s\n", s->system[0] ? s->system : "off");
		fprintf(f, "level_db = %.17g\n", isnan(s->level_db) ?
			(double)CHAIN_DEVSIM_LEVEL_DEF_DB :
			fmin(fmax(s->level_db, CHAIN_DEVSIM_LEVEL_MIN_DB), CHAIN_DEVSIM_LEVEL_MAX_DB));
		fprintf(f, "platform = %s\n", s->platform[0] ? s->platform : "off");
		fprintf(f, "bandsolo = %d\n", s->bandsolo >= 0 &&
			s->bandsolo <= TUI_SESSION_BANDSOLO_MAX ? s->bandsolo : 0);
		fprintf(f, "playhead = %s\n", tui_session_playhead_name(s->playhead) ?
			tui_session_playhead_name(s->playhead) : "sync");
		fprintf(f, "method = %s\n", tui_session_method_name(s->method) ?
			tui_session_method_name(s->method) : "integrated");
	}
	for (int i = 0; i < TUI_SESSION_SNAPSHOTS && !err; i++) {
		if (!s->has_snapshot[i])
			continue;
		fprintf(f, "\n[snapshot %c]\n", 'A' + i);
		write_chain(f, &s->snapshot[i]);
	}
	uselocale(old);
	free(rel);
	if (fclose(f) && !err)
		err = TUI_SESSION_ERROR_NOMEM;
	if (err) {
		free(*text);
		*text = NULL;
	}
	return err;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = tui_session_write_hook ? tui_session_write_hook(fd, p, n)
						   : write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			if (w == 0)
				errno = EIO;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Whether the file at fd may be replaced by a session: empty, or text
 * whose first line that is not blank or a comment starts with "version"
 * (a session, even a malformed one).  Anything else — the mix, a
 * reference, any other file a mistyped name points at — is kept. */
static bool replaceable(int fd)
{
	char buf[4096];
	ssize_t got = read(fd, buf, sizeof(buf) - 1);
	char *line, *save = NULL;

	if (got <= 0)
		return got == 0;
	if (memchr(buf, '\0', (size_t)got))
		return false;
	buf[got] = '\0';
	for (line = strtok_r(buf, "\r\n", &save); line; line = strtok_r(NULL, "\r\n", &save)) {
		line += strspn(line, " \t");
		if (!*line || *line == '#')
			continue;
		return !strncmp(line, "version", 7);
	}
	return got < (ssize_t)sizeof(buf) - 1;  /* only comments and blanks */
}

int tui_session_save(const char *path, const struct tui_session *s, char *msg, size_t len)
{
	char *dir = NULL, *absdir = NULL, *tmp = NULL, *text = NULL;
	const char *base, *slash = strrchr(path, '/');
	size_t n = 0, tl;
	struct stat st;
	int fd = -1, dfd, err, e;
	mode_t mode = 0644;

	if (slash) {
		dir = strndup(path, slash == path ? 1 : (size_t)(slash - path));
		base = slash + 1;
	} else {
		dir = strdup(".");
		base = path;
	}
	if (!dir) {
		err = TUI_SESSION_ERROR_NOMEM;
		goto out;
	}
	if (!*base) {
		say(msg, len, "%s: not a file name", path);
		err = TUI_SESSION_ERROR_VALUE;
		goto out;
	}
	absdir = realpath(dir, NULL);
	if (!absdir) {
		e = errno;
		say(msg, len, "%s: %s", dir, strerror(e));
		errno = e;
		err = TUI_SESSION_ERROR_ERRNO;
		goto out;
	}
	if (stat(path, &st) == 0) {
		int rfd = S_ISREG(st.st_mode) ? open(path, O_RDONLY | O_CLOEXEC) : -1;
		bool ok = rfd >= 0 && replaceable(rfd);

		if (rfd >= 0)
			close(rfd);
		if (!ok) {
			say(msg, len, "%s: exists and is not a termaster session; not replaced", path);
			err = TUI_SESSION_ERROR_VALUE;
			goto out;
		}
	}
	err = check_values(s, path, msg, len);
	if (err)
		goto out;
	err = format(s, path, absdir, &text, &n, msg, len);
	if (err)
		goto out;
	tl = strlen(dir) + strlen(base) + 16;
	tmp = malloc(tl);
	if (!tmp) {
		err = TUI_SESSION_ERROR_NOMEM;
		goto out;
	}
	snprintf(tmp, tl, "%s/.%s.XXXXXX", dir, base);
	if (stat(path, &st) == 0)
		mode = st.st_mode & 07777;
	fd = mkstemp(tmp);
	if (fd < 0) {
		e = errno;
		say(msg, len, "%s: cannot create a temporary file: %s", path, strerror(e));
		free(tmp);
		tmp = NULL;
		errno = e;
		err = TUI_SESSION_ERROR_ERRNO;
		goto out;
	}
	if (fchmod(fd, mode) || write_all(fd, text, n) || fsync(fd)) {
		e = errno;
		say(msg, len, "%s: cannot write: %s", path, strerror(e));
		errno = e;
		err = TUI_SESSION_ERROR_ERRNO;
		goto out;
	}
	e = close(fd);
	fd = -1;
	if (e || rename(tmp, path)) {
		e = errno;
		say(msg, len, "%s: cannot write: %s", path, strerror(e));
		errno = e;
		err = TUI_SESSION_ERROR_ERRNO;
		goto out;
	}
	free(tmp);
	tmp = NULL;
	/* make the rename durable; a folder that cannot be opened or synced
	 * (some file systems) still holds the new file */
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	if (msg && len)
		msg[0] = '\0';
out:
	if (err == TUI_SESSION_ERROR_NOMEM)
		say(msg, len, "%s: out of memory", path);
	if (fd >= 0)
		close(fd);
	if (tmp) {
		e = errno;
		unlink(tmp);
		errno = e;
	}
	free(tmp);
	free(text);
	free(absdir);
	free(dir);
	return err;
}

int tui_session_check_files(const struct tui_session *s, char *msg, size_t len)
{
	const char *file = s->path ? s->path : "session";

	for (int i = -1; i < s->n_refs; i++) {
		const char *p = i < 0 ? s->mix : s->refs[i];
		int line = i < 0 ? s->line_of_mix : (s->line_of_ref ? s->line_of_ref[i] : 0);
		char where[64], at[32] = "";
		int fd;

		if (!p)
			continue;
		fd = open(p, O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			close(fd);
			continue;
		}
		if (i < 0)
			snprintf(where, sizeof(where), "[mix]");
		else
			snprintf(where, sizeof(where), "[ref %d]", i + 1);
		if (line)
			snprintf(at, sizeof(at), "%d:", line);
		say(msg, len, "%s:%s %s path: cannot read '%s': %s", file, at, where, p,
		    strerror(errno));
		return TUI_SESSION_ERROR_MISSING;
	}
	if (msg && len)
		msg[0] = '\0';
	return 0;
}

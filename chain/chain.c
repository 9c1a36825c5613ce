/*
 * termaster — the mastering chain and its parameter table (see chain.h).
 */
#include "config.h"

#include <math.h>
#include <stdint.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chain/chain.h"

/* ---- the processors, in chain order (X-macro, SoX effects.h) ---- */

#define CHAIN_OPS_PTR(name) &chain_##name##_ops,
static const struct chain_proc_ops *const procs[] = {
	CHAIN_PROCESSORS(CHAIN_OPS_PTR)
};
#undef CHAIN_OPS_PTR

#define N_PROCS (sizeof(procs) / sizeof(procs[0]))

/* Longest "<processor>.<param>" id that fits chain_param_info.id. */
#define ID_MAX (sizeof(((struct chain_param_info *)0)->id) - 1)

static const char *const error_text[] = {
	[CHAIN_OK] = "success",
	[CHAIN_ERROR_NOMEM] = "out of memory",
	[CHAIN_ERROR_RATE] = "sample rate outside 8000 … 384000 Hz",
	[CHAIN_ERROR_BLOCK] = "block size is 0",
	[CHAIN_ERROR_PARAM] = "unknown parameter",
	[CHAIN_ERROR_VALUE] = "not a number",
	[CHAIN_ERROR_RANGE] = "value out of range",
};

const char *chain_strerror(int err)
{
	if (err < 0 || (size_t)err >= sizeof(error_text) / sizeof(error_text[0]) ||
	    !error_text[err])
		return "unknown error";
	return error_text[err];
}

/* ---- the flattened parameter table ----
 *
 * Built once from the processors' static tables.  The first caller builds
 * it (a constructor does so before main() in practice); concurrent callers
 * wait on an atomic state, so the table is safe to read from any thread,
 * including the audio thread, without locks.
 */

static struct chain_param_info table[CHAIN_PARAM_MAX];
static unsigned table_len;
static atomic_int table_state;  /* 0 unbuilt, 1 building, 2 ready */

/* The "<proc>.on" switches the chain adds (chain/processor.h). */
static const char *const on_choices[] = { "off", "on", NULL };
static const struct chain_param on_param[2] = {
	{ "on", "On", "", 0.0f, 1.0f, 0.0f, 1.0f, on_choices },  /* CHAIN_BYPASS_OFF */
	{ "on", "On", "", 0.0f, 1.0f, 1.0f, 1.0f, on_choices },  /* CHAIN_BYPASS_ON */
};

static void table_add(unsigned *n, unsigned p, unsigned local,
		      const struct chain_param *param)
{
	const struct chain_proc_ops *ops = procs[p];
	struct chain_param_info *e = &table[*n];
	size_t a = strlen(ops->name), b = strlen(param->id);

	/* ids are compile-time constants; test_chain checks they all fit
	 * and that nothing was cut at CHAIN_PARAM_MAX */
	if (*n >= CHAIN_PARAM_MAX || a + 1 + b > ID_MAX)
		return;
	memcpy(e->id, ops->name, a);
	e->id[a] = '.';
	memcpy(e->id + a + 1, param->id, b);
	e->id[a + 1 + b] = '\0';
	e->proc = p;
	e->local = local;
	e->param = param;
	(*n)++;
}

static void table_build(void)
{
	unsigned n = 0;

	for (unsigned p = 0; p < N_PROCS; p++) {
		const struct chain_proc_ops *ops = procs[p];

		if (ops->bypass != CHAIN_BYPASS_NONE)
			table_add(&n, p, CHAIN_LOCAL_ON,
				  &on_param[ops->bypass == CHAIN_BYPASS_ON]);
		for (unsigned k = 0; k < ops->n_params; k++)
			table_add(&n, p, k, &ops->params[k]);
	}
	table_len = n;
}

static void table_ensure(void)
{
	int expected = 0;

	if (atomic_load_explicit(&table_state, memory_order_acquire) == 2)
		return;
	if (atomic_compare_exchange_strong(&table_state, &expected, 1)) {
		table_build();
		atomic_store_explicit(&table_state, 2, memory_order_release);
		return;
	}
	while (atomic_load_explicit(&table_state, memory_order_acquire) != 2)
		;  /* another thread is building: a few microseconds */
}

__attribute__((constructor)) static void table_init(void)
{
	table_ensure();
}

unsigned chain_proc_count(void)
{
	return N_PROCS;
}

const struct chain_proc_ops *chain_proc_ops_at(unsigned proc)
{
	return proc < N_PROCS ? procs[proc] : NULL;
}

int chain_proc_find(const char *name)
{
	if (!name)
		return -1;
	for (unsigned p = 0; p < N_PROCS; p++)
		if (strcmp(procs[p]->name, name) == 0)
			return (int)p;
	return -1;
}

unsigned chain_param_count(void)
{
	table_ensure();
	return table_len;
}

const struct chain_param_info *chain_param_at(unsigned idx)
{
	table_ensure();
	return idx < table_len ? &table[idx] : NULL;
}

int chain_param_find(const char *id)
{
	table_ensure();
	if (!id)
		return -1;
	for (unsigned i = 0; i < table_len; i++)
		if (strcmp(table[i].id, id) == 0)
			return (int)i;
	return -1;
}

float chain_param_clamp(unsigned idx, float value)
{
	const struct chain_param *p;

	table_ensure();
	if (idx >= table_len)
		return value;
	p = table[idx].param;
	if (isnan(value))
		return p->def;
	if (value < p->min)
		return p->min;
	if (value > p->max)
		return p->max;
	return value;
}

/* ---- settings: parsing and validation ---- */

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

void chain_settings_default(struct chain_settings *s)
{
	unsigned n = chain_param_count();

	memset(s, 0, sizeof(*s));
	for (unsigned i = 0; i < n; i++)
		s->value[i] = table[i].param->def;
}

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
	       c == '\v';
}

static int lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

/*
 * Parses a decimal number [+-]digits[.digits][e[+-]digits], optionally
 * followed by the parameter's unit ("-1.5 dBTP", "100ms").  Locale-free
 * on purpose: the TUI sets LC_ALL for ncursesw, and a session written in
 * one locale must read in any other.  Returns 0 and sets *out, or -1.
 */
static int parse_number(const char *str, const char *unit, double *out)
{
	static const double p10[] = {
		1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
		1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
	};
	const char *c = str;
	double mant = 0, v;
	int neg = 0, digits = 0, dexp = 0, dropped = 0;

	while (is_space(*c))
		c++;
	if (*c == '+' || *c == '-')
		neg = *c++ == '-';
	for (; *c >= '0' && *c <= '9'; c++, digits++) {
		if (mant < 1e17)
			mant = mant * 10 + (*c - '0');
		else
			dropped++;
	}
	if (*c == '.') {
		for (c++; *c >= '0' && *c <= '9'; c++, digits++) {
			if (mant < 1e17) {
				mant = mant * 10 + (*c - '0');
				dexp--;
			}
		}
	}
	if (!digits)
		return -1;
	dexp += dropped;
	if (*c == 'e' || *c == 'E') {
		int eneg = 0, e = 0, edigits = 0;

		c++;
		if (*c == '+' || *c == '-')
			eneg = *c++ == '-';
		for (; *c >= '0' && *c <= '9'; c++, edigits++)
			if (e < 10000)
				e = e * 10 + (*c - '0');
		if (!edigits)
			return -1;
		dexp += eneg ? -e : e;
	}
	while (is_space(*c))
		c++;
	if (*c && unit && *unit) {
		size_t k = 0;

		while (unit[k] && lower(c[k]) == lower(unit[k]))
			k++;
		if (unit[k])
			return -1;
		c += k;
		while (is_space(*c))
			c++;
	}
	if (*c)
		return -1;
	/* exact powers of ten up to 1e22: "-1.5" is 15 / 10, correctly
	 * rounded; beyond that pow() is close enough for a range check */
	if (dexp < 0)
		v = -dexp <= 22 ? mant / p10[-dexp] : mant * pow(10.0, dexp);
	else
		v = dexp <= 22 ? mant * p10[dexp] : mant * pow(10.0, dexp);
	*out = neg ? -v : v;
	return 0;
}

static void trimmed(char *dst, size_t len, const char *src, size_t n)
{
	while (n && is_space(*src)) {
		src++;
		n--;
	}
	while (n && is_space(src[n - 1]))
		n--;
	if (n >= len)
		n = len - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

/* The value of a choice given by name (case-insensitive), or -1. */
static int choice_value(const struct chain_param *p, const char *text, double *out)
{
	int n = (int)lroundf(p->max - p->min) + 1;

	for (int i = 0; i < n; i++) {
		const char *name = p->choices[i];
		size_t k = 0;

		if (!name)
			break;
		while (name[k] && text[k] && lower(name[k]) == lower(text[k]))
			k++;
		if (!name[k] && !text[k]) {
			*out = p->min + i;
			return 0;
		}
	}
	return -1;
}

static void choice_names(const struct chain_param *p, char *out, size_t len)
{
	int n = (int)lroundf(p->max - p->min) + 1;
	size_t used = 0;

	out[0] = '\0';
	for (int i = 0; i < n && p->choices[i]; i++) {
		int w = snprintf(out + used, len - used, "%s%s", i ? ", " : "", p->choices[i]);

		if (w < 0 || (size_t)w >= len - used)
			break;
		used += (size_t)w;
	}
}

const char *chain_param_choice(unsigned idx, float value)
{
	const struct chain_param *p;
	int i;

	table_ensure();
	if (idx >= table_len || !table[idx].param->choices)
		return NULL;
	p = table[idx].param;
	i = (int)lroundf(value - p->min);
	if (i < 0 || i > (int)lroundf(p->max - p->min))
		return NULL;
	return p->choices[i];
}

static void unknown_param(const char *id, char *msg, size_t msg_len)
{
	size_t used;

	if (!msg || !msg_len)
		return;
	say(msg, msg_len, "unknown parameter '%s' (known:", id);
	used = strlen(msg);
	for (unsigned i = 0; i < table_len; i++) {
		const char *sep = i ? ", " : " ";
		size_t need = strlen(sep) + strlen(table[i].id);

		/* keep room for ", …)" */
		if (used + need + 6 >= msg_len) {
			if (used + 6 < msg_len)
				snprintf(msg + used, msg_len - used, ", …)");
			return;
		}
		snprintf(msg + used, msg_len - used, "%s%s", sep, table[i].id);
		used += need;
	}
	if (used + 1 < msg_len)
		snprintf(msg + used, msg_len - used, ")");
}

int chain_settings_set(struct chain_settings *s, const char *id,
		       const char *value, char *msg, size_t msg_len)
{
	const struct chain_param *p;
	char text[64];
	double v;
	int idx;

	table_ensure();
	idx = chain_param_find(id);
	if (idx < 0) {
		unknown_param(id ? id : "", msg, msg_len);
		return CHAIN_ERROR_PARAM;
	}
	p = table[idx].param;
	trimmed(text, sizeof(text), value ? value : "", value ? strlen(value) : 0);
	if (p->choices && choice_value(p, text, &v) == 0) {
		/* a choice by name */
	} else if (parse_number(text, p->unit, &v) || !isfinite(v)) {
		if (p->choices) {
			char names[256];

			choice_names(p, names, sizeof(names));
			say(msg, msg_len, "%s: '%s' is not one of %s", table[idx].id, text, names);
		} else {
			say(msg, msg_len, "%s: '%s' is not a number", table[idx].id, text);
		}
		return CHAIN_ERROR_VALUE;
	}
	/* a margin for decimal text vs binary float ("0.1" vs 0.1f) */
	if (v < p->min - 1e-6 * (1 + fabs(p->min)) ||
	    v > p->max + 1e-6 * (1 + fabs(p->max))) {
		say(msg, msg_len, "%s: %g is out of range %g … %g%s%s", table[idx].id,
		    v, p->min, p->max, *p->unit ? " " : "", p->unit);
		return CHAIN_ERROR_RANGE;
	}
	s->value[idx] = chain_param_clamp((unsigned)idx, (float)v);
	if (msg && msg_len)
		msg[0] = '\0';
	return CHAIN_OK;
}

int chain_settings_assign(struct chain_settings *s, const char *assignment,
			  char *msg, size_t msg_len)
{
	const char *eq = assignment ? strchr(assignment, '=') : NULL;
	char id[sizeof(((struct chain_param_info *)0)->id) + 16];

	if (!eq) {
		say(msg, msg_len, "'%s' is not of the form ID=VALUE",
		    assignment ? assignment : "");
		return CHAIN_ERROR_VALUE;
	}
	trimmed(id, sizeof(id), assignment, (size_t)(eq - assignment));
	return chain_settings_set(s, id, eq + 1, msg, msg_len);
}

/* ---- a chain instance ----
 *
 * Bypass glossary, per processor with a "<proc>.on" switch:
 *   on        the switch as last set
 *   mix       0 = dry, 1 = processed; ramps linearly over CHAIN_BYPASS_MS,
 *             one step per sample, so it is the same for any call sizes
 *   running   the processor is being fed (on, or still fading out)
 *   delay     the last `lat` input frames: the dry path delayed by the
 *             processor's latency, so dry and processed stay aligned and a
 *             switched-off processor keeps the chain's latency constant
 * A processor that is fully off is not run.  Switching it on resets it and
 * primes it with the delay line's frames, so its output is aligned and
 * valid from the first sample of the crossfade.
 */

struct bypass {
	bool on;
	bool running;
	double mix;
	double step;        /* per sample while ramping */
	unsigned lat;
	unsigned pos;       /* next write in delay[] */
	float *delay[CHAIN_CHANNELS];
	float *dry[CHAIN_CHANNELS];  /* max_frames: dry copy for fades (one
				      * per processor, so that two ranges of
				      * the chain may run at once:
				      * chain_process_range()) */
};

struct chain {
	double rate;
	unsigned max_frames;
	unsigned n_params;
	unsigned ramp;                   /* frames of a bypass crossfade */
	struct chain_proc proc[N_PROCS];
	struct bypass byp[N_PROCS];
	float *prime[CHAIN_CHANNELS];    /* max_frames: priming scratch */
	float gr_db[N_PROCS];            /* of the last chain_process() */
	float value[CHAIN_PARAM_MAX];    /* current targets */
};

static void bypass_switch(struct chain *c, unsigned p, bool on, int snap)
{
	struct bypass *b = &c->byp[p];

	if (procs[p]->bypass == CHAIN_BYPASS_NONE)
		return;
	b->on = on;
	if (snap) {
		b->mix = on ? 1.0 : 0.0;
		b->step = 0;
		b->running = on;
		return;
	}
	if (on && !b->running) {
		/* fresh state, primed with what the dry path holds, so the
		 * processed signal is aligned and valid at once */
		struct chain_proc *pr = &c->proc[p];
		unsigned done = 0;

		pr->ops->reset(pr);
		while (done < b->lat) {
			unsigned m = b->lat - done < c->max_frames ? b->lat - done : c->max_frames;
			float *buf[CHAIN_CHANNELS];

			for (unsigned ch = 0; ch < CHAIN_CHANNELS; ch++) {
				for (unsigned k = 0; k < m; k++)
					c->prime[ch][k] = b->delay[ch][(b->pos + done + k) % b->lat];
				buf[ch] = c->prime[ch];
			}
			pr->ops->process(pr, buf, m);
			done += m;
		}
		b->running = true;
	}
	b->step = (on ? 1.0 : -1.0) / (double)c->ramp;
}

struct chain *chain_new(double rate, unsigned max_frames,
			const struct chain_settings *s, int *err)
{
	struct chain *c = NULL;
	int e = CHAIN_OK;

	if (!(rate >= 8000.0 && rate <= 384000.0)) {
		e = CHAIN_ERROR_RATE;
		goto fail;
	}
	if (max_frames == 0) {
		e = CHAIN_ERROR_BLOCK;
		goto fail;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		e = CHAIN_ERROR_NOMEM;
		goto fail;
	}
	c->rate = rate;
	c->max_frames = max_frames;
	c->n_params = chain_param_count();
	c->ramp = (unsigned)lround(rate * CHAIN_BYPASS_MS / 1000.0);
	for (unsigned ch = 0; ch < CHAIN_CHANNELS; ch++) {
		c->prime[ch] = calloc(max_frames, sizeof(float));
		if (!c->prime[ch]) {
			e = CHAIN_ERROR_NOMEM;
			goto fail;
		}
	}
	for (unsigned p = 0; p < N_PROCS; p++) {
		struct chain_proc *pr = &c->proc[p];

		pr->ops = procs[p];
		pr->rate = rate;
		pr->max_frames = max_frames;
		pr->priv = calloc(1, procs[p]->priv_size ? procs[p]->priv_size : 1);
		if (!pr->priv) {
			e = CHAIN_ERROR_NOMEM;
			goto fail;
		}
		e = procs[p]->init(pr, rate, max_frames);
		if (e) {
			free(pr->priv);
			pr->priv = NULL;
			goto fail;
		}
		c->byp[p].on = c->byp[p].running = true;
		c->byp[p].mix = 1.0;
		if (procs[p]->bypass != CHAIN_BYPASS_NONE) {
			unsigned lat = procs[p]->latency(pr);

			for (unsigned ch = 0; ch < CHAIN_CHANNELS; ch++) {
				c->byp[p].dry[ch] = calloc(max_frames, sizeof(float));
				if (!c->byp[p].dry[ch]) {
					e = CHAIN_ERROR_NOMEM;
					goto fail;
				}
			}
			c->byp[p].lat = lat;
			for (unsigned ch = 0; lat && ch < CHAIN_CHANNELS; ch++) {
				c->byp[p].delay[ch] = calloc(lat, sizeof(float));
				if (!c->byp[p].delay[ch]) {
					e = CHAIN_ERROR_NOMEM;
					goto fail;
				}
			}
		}
	}
	for (unsigned i = 0; i < c->n_params; i++) {
		const struct chain_param_info *info = &table[i];
		float v = s ? chain_param_clamp(i, s->value[i]) : info->param->def;

		c->value[i] = v;
		if (info->local == CHAIN_LOCAL_ON)
			bypass_switch(c, info->proc, v >= 0.5f, 1);
		else
			c->proc[info->proc].ops->set_param(&c->proc[info->proc],
							   info->local, v, 1);
	}
	if (err)
		*err = CHAIN_OK;
	return c;
fail:
	chain_free(&c);
	if (err)
		*err = e;
	return NULL;
}

void chain_free(struct chain **cp)
{
	struct chain *c;

	if (!cp || !*cp)
		return;
	c = *cp;
	for (unsigned p = 0; p < N_PROCS; p++) {
		struct chain_proc *pr = &c->proc[p];

		for (unsigned ch = 0; ch < CHAIN_CHANNELS; ch++) {
			free(c->byp[p].delay[ch]);
			free(c->byp[p].dry[ch]);
		}
		if (!pr->priv)
			continue;
		if (pr->ops->destroy)
			pr->ops->destroy(pr);
		free(pr->priv);
		pr->priv = NULL;
	}
	for (unsigned ch = 0; ch < CHAIN_CHANNELS; ch++)
		free(c->prime[ch]);
	free(c);
	*cp = NULL;
}

void chain_set_param(struct chain *c, unsigned idx, float value)
{
	const struct chain_param_info *info;

	if (idx >= c->n_params)
		return;
	info = &table[idx];
	value = chain_param_clamp(idx, value);
	c->value[idx] = value;
	if (info->local == CHAIN_LOCAL_ON) {
		if ((value >= 0.5f) != c->byp[info->proc].on)
			bypass_switch(c, info->proc, value >= 0.5f, 0);
		return;
	}
	c->proc[info->proc].ops->set_param(&c->proc[info->proc], info->local,
					   value, 0);
}

float chain_get_param(const struct chain *c, unsigned idx)
{
	return idx < c->n_params ? c->value[idx] : 0.0f;
}

typedef int32_t chain_i4 __attribute__((vector_size(16)));

void chain_clear_nonfinite(float *l, float *r, unsigned n)
{
	const chain_i4 e = { 0x7f800000, 0x7f800000, 0x7f800000, 0x7f800000 };
	chain_i4 bad = { 0, 0, 0, 0 };
	unsigned k = 0;
	int any = 0;

	for (; k + 4 <= n; k += 4) {
		chain_i4 a, b;

		memcpy(&a, l + k, sizeof(a));
		memcpy(&b, r + k, sizeof(b));
		bad |= (a & e) == e;
		bad |= (b & e) == e;
	}
	for (; k < n; k++)
		any |= !isfinite(l[k]) || !isfinite(r[k]);
	if (!(any || bad[0] || bad[1] || bad[2] || bad[3]))
		return;
	for (k = 0; k < n; k++) {
		l[k] = isfinite(l[k]) ? l[k] : 0.0f;
		r[k] = isfinite(r[k]) ? r[k] : 0.0f;
	}
}

/* y[i] = d[i], d[i] = x[i]; y may be x (each is read before it is
 * written), d is neither.  Four at a time by hand: at -O2 the compiler
 * keeps the plain loop scalar (x and y may overlap), a dozen instructions
 * a frame for an off processor with latency (the saturation's). */
typedef float chain_f4 __attribute__((vector_size(16)));

static void dry_swap(float *restrict d, const float *x, float *y, unsigned n)
{
	unsigned i = 0;

	for (; i + 4 <= n; i += 4) {
		chain_f4 a, b;

		memcpy(&a, d + i, sizeof(a));
		memcpy(&b, x + i, sizeof(b));
		memcpy(d + i, &b, sizeof(b));
		memcpy(y + i, &a, sizeof(a));
	}
	for (; i < n; i++) {
		float t = d[i];

		d[i] = x[i];
		y[i] = t;
	}
}

/* The dry path of processor p for m frames: buf delayed by its latency
 * into out (out may be NULL: only keep the delay line current; out may
 * be buf).  The ring is walked in up to two runs per wrap rather than
 * frame by frame with a wrap test.  A processor that is on still keeps its
 * line current (a switch-off crossfades from it), so this runs for every
 * block of it; then only the block's last `lat` frames are written, the
 * ones the line holds afterwards (a block of 1024 frames wrote all 1024
 * into a line of a few hundred). */
static void dry_path(struct bypass *b, float *const *buf, float *const *out, unsigned m)
{
	for (unsigned ch = 0; ch < CHAIN_CHANNELS; ch++) {
		unsigned pos = b->pos, k = 0;

		if (!out && b->lat && m > b->lat) {
			/* only the last lat frames stay in the line: start
			 * there (a processor that is on writes each block) */
			k = m - b->lat;
			pos = (pos + k) % b->lat;
		}
		if (!b->lat) {
			if (out && out[ch] != buf[ch])
				memcpy(out[ch], buf[ch], sizeof(float) * m);
			continue;
		}
		while (k < m) {
			unsigned run = b->lat - pos < m - k ? b->lat - pos : m - k;
			float *d = b->delay[ch] + pos;
			const float *x = buf[ch] + k;

			if (!out) {
				memcpy(d, x, sizeof(float) * run);
			} else {
				dry_swap(d, x, out[ch] + k, run);
			}
			k += run;
			pos += run;
			if (pos == b->lat)
				pos = 0;
		}
	}
	if (b->lat)
		b->pos = (unsigned)((b->pos + m) % b->lat);
}

static void run_proc(struct chain *c, unsigned p, float *const *sub, unsigned m)
{
	struct chain_proc *pr = &c->proc[p];
	struct bypass *b = &c->byp[p];

	if (pr->ops->bypass == CHAIN_BYPASS_NONE || (b->on && b->mix >= 1.0 && b->step == 0)) {
		if (pr->ops->bypass != CHAIN_BYPASS_NONE)
			dry_path(b, sub, NULL, m);
		pr->ops->process(pr, sub, m);
		return;
	}
	if (!b->running) {
		/* fully off: the dry path only */
		dry_path(b, sub, sub, m);
		return;
	}
	/* crossfading */
	dry_path(b, sub, b->dry, m);
	pr->ops->process(pr, sub, m);
	for (unsigned k = 0; k < m; k++) {
		float w;

		if (b->step != 0) {
			b->mix += b->step;
			if (b->mix >= 1.0) {
				b->mix = 1.0;
				b->step = 0;
			} else if (b->mix <= 0.0) {
				b->mix = 0.0;
				b->step = 0;
			}
		}
		w = (float)b->mix;
		for (unsigned ch = 0; ch < CHAIN_CHANNELS; ch++)
			sub[ch][k] = sub[ch][k] * w + b->dry[ch][k] * (1.0f - w);
	}
	if (b->step == 0 && b->mix <= 0.0)
		b->running = false;
}

void chain_process(struct chain *c, float *const *buf, unsigned n)
{
	chain_process_range(c, buf, n, 0, N_PROCS);
}

void chain_process_range(struct chain *c, float *const *buf, unsigned n,
			 unsigned first, unsigned end)
{
	unsigned done = 0;

	if (end > N_PROCS)
		end = N_PROCS;
	for (unsigned p = first; p < end; p++)
		c->gr_db[p] = 0;
	/* the contract says n <= max_frames; split anyway rather than
	 * overrun a processor's buffers */
	while (done < n) {
		unsigned m = n - done < c->max_frames ? n - done : c->max_frames;
		float *sub[CHAIN_CHANNELS] = { buf[0] + done, buf[1] + done };

		for (unsigned p = first; p < end; p++) {
			struct chain_proc *pr = &c->proc[p];

			run_proc(c, p, sub, m);
			if (pr->ops->gain_reduction_db && c->byp[p].running) {
				float gr = pr->ops->gain_reduction_db(pr) * (float)c->byp[p].mix;

				if (gr > c->gr_db[p])
					c->gr_db[p] = gr;
			}
		}
		done += m;
	}
}

void chain_reset(struct chain *c)
{
	for (unsigned p = 0; p < N_PROCS; p++) {
		struct bypass *b = &c->byp[p];

		c->proc[p].ops->reset(&c->proc[p]);
		/* a reset lands every fade on its target, as smoothers do */
		b->mix = b->on ? 1.0 : 0.0;
		b->step = 0;
		b->running = b->on;
		b->pos = 0;
		for (unsigned ch = 0; b->lat && ch < CHAIN_CHANNELS; ch++)
			memset(b->delay[ch], 0, sizeof(float) * b->lat);
		c->gr_db[p] = 0;
	}
}

unsigned chain_latency(const struct chain *c)
{
	unsigned sum = 0;

	for (unsigned p = 0; p < N_PROCS; p++)
		sum += c->proc[p].ops->latency(&c->proc[p]);
	return sum;
}

float chain_meter(const struct chain *c, unsigned proc, unsigned which)
{
	const struct chain_proc *pr;

	if (proc >= N_PROCS)
		return 0.0f;
	pr = &c->proc[proc];
	if (!pr->ops->meter || which >= pr->ops->n_meters || !c->byp[proc].running)
		return 0.0f;
	return pr->ops->meter(pr, which) * (float)c->byp[proc].mix;
}

float chain_gain_reduction_db(const struct chain *c, unsigned proc)
{
	return proc < N_PROCS ? c->gr_db[proc] : 0.0f;
}

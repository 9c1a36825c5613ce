/*
 * termaster — unit test: the glue compressor (chain/comp.c).
 *
 * The compressor is judged against the formulas it documents, never against
 * its own code:
 *
 *  - static curve: steady 1 kHz sines at 0.5 dB steps through and around
 *    the knee, for several thresholds, ratios, knees and makeups; output
 *    over input level (sine correlation, after settling) against the
 *    quadratic soft-knee gain computer of Giannoulis, Massberg & Reiss
 *    (JAES 2012, "GMR"), and the reported gain reduction against it too;
 *  - a reference model: a plain double-precision transcription of the
 *    documented signal flow (peak hold over the documented window, GMR gain
 *    computer, smooth branching detector, auto release, link, makeup, mix)
 *    with an RBJ-cookbook biquad for the sidechain high-pass (the same
 *    bilinear Butterworth as the processor's state-variable filter, built a
 *    different way), run on a music-like signal;
 *  - time constants from level steps, defined as in GMR: the reduction in
 *    dB moves by 63 % (1 - 1/e) of a step after one time constant; the
 *    release counted from the end of the level hold (12.5 ms and a little
 *    more, see chain/comp.c step 2), which is checked on its own;
 *  - auto release, sidechain high-pass, stereo link, parallel mix, makeup,
 *    the gain-reduction report, reset, call-size invariance, bounded steps
 *    on parameter jumps (bounds derived below), hostile input, denormals.
 */
#include "config.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "chain/chain.h"
#include "tests/util.h"

#define RATE 48000.0
#define MAXF 1024u
#define HOLD_MS 12.5          /* documented minimum hold of the level */
#define SUB CHAIN_SUBBLOCK

/* Asserted static-curve error, dB (requirement 0.1). */
#define CURVE_TOL 0.02

/* ---- harness: the processor alone, through its ops ---- */

struct comp {
	struct chain_proc p;
	const struct chain_proc_ops *ops;
};

static float *fbuf(size_t n)
{
	float *b = calloc(n ? n : 1, sizeof(float));

	if (!b)
		exit(99);
	return b;
}

static unsigned pid(const char *id)
{
	const struct chain_proc_ops *ops = &chain_comp_ops;

	for (unsigned k = 0; k < ops->n_params; k++)
		if (strcmp(ops->params[k].id, id) == 0)
			return k;
	fprintf(stderr, "comp has no parameter %s\n", id);
	exit(99);
}

static void comp_set(struct comp *c, const char *id, float v, int snap)
{
	c->ops->set_param(&c->p, pid(id), v, snap);
}

static void comp_open(struct comp *c, double rate)
{
	const struct chain_proc_ops *ops = &chain_comp_ops;
	int err;

	memset(c, 0, sizeof(*c));
	c->ops = ops;
	c->p.ops = ops;
	c->p.rate = rate;
	c->p.max_frames = MAXF;
	c->p.priv = calloc(1, ops->priv_size);
	if (!c->p.priv)
		exit(99);
	err = ops->init(&c->p, rate, MAXF);
	if (err) {
		fprintf(stderr, "comp init: %s\n", chain_strerror(err));
		exit(99);
	}
	for (unsigned k = 0; k < ops->n_params; k++)
		ops->set_param(&c->p, k, ops->params[k].def, 1);
}

static void comp_close(struct comp *c)
{
	if (c->ops->destroy)
		c->ops->destroy(&c->p);
	free(c->p.priv);
	c->p.priv = NULL;
}

/* Runs planar l/r through c in calls of `block` frames, in place. */
static void comp_feed(struct comp *c, float *l, float *r, size_t n, unsigned block)
{
	for (size_t i = 0; i < n; i += block) {
		unsigned m = (unsigned)(n - i < block ? n - i : block);
		float *b[2] = { l + i, r + i };

		c->ops->process(&c->p, b, m);
	}
}

static float comp_gr(const struct comp *c)
{
	return c->ops->gain_reduction_db(&c->p);
}

/* ---- the formulas ---- */

/* GMR soft-knee gain computer: reduction x_G - y_G in dB (>= 0). */
static double gmr_gr(double xg, double t, double r, double w)
{
	double yg;

	if (2 * (xg - t) < -w)
		yg = xg;
	else if (2 * fabs(xg - t) <= w)
		yg = xg + (1 / r - 1) * (xg - t + w / 2) * (xg - t + w / 2) / (2 * w);
	else
		yg = t + (xg - t) / r;
	return xg - yg;
}

static double coef(double ms, double rate)
{
	return 1 - exp(-1 / (ms * 1e-3 * rate));
}

/* Frames of the level hold at `rate`: whole sub-blocks covering HOLD_MS. */
static unsigned hold_blocks(double rate)
{
	return (unsigned)ceil(HOLD_MS * 1e-3 * rate / SUB);
}

/* ---- the parameter table ---- */

static void test_table(void)
{
	static const struct {
		const char *id;
		float min, max, def;
	} want[] = {
		{ "threshold_db", -60, 0, -18 }, { "ratio", 1, 20, 2 },
		{ "knee_db", 0, 24, 6 },         { "attack_ms", 0.1f, 100, 10 },
		{ "release_ms", 10, 2000, 200 }, { "auto_release", 0, 1, 0 },
		{ "makeup_db", 0, 24, 0 },       { "sc_hpf_hz", 20, 500, 20 },
		{ "link_pct", 0, 100, 100 },     { "mix_pct", 0, 100, 100 },
	};
	const struct chain_proc_ops *ops = &chain_comp_ops;
	struct comp c;
	int on;

	ASSERT_TRUE("name", strcmp(ops->name, "comp") == 0);
	ASSERT_TRUE("label", strcmp(ops->label, "Compressor") == 0);
	ASSERT_INT("off by default", CHAIN_BYPASS_OFF, ops->bypass);
	ASSERT_INT("parameter count", sizeof(want) / sizeof(want[0]), ops->n_params);
	for (unsigned k = 0; k < sizeof(want) / sizeof(want[0]); k++) {
		const struct chain_param *p = &ops->params[pid(want[k].id)];

		ASSERT_CLOSE(want[k].id, want[k].min, p->min, 0);
		ASSERT_CLOSE(want[k].id, want[k].max, p->max, 0);
		ASSERT_CLOSE(want[k].id, want[k].def, p->def, 0);
	}
	{
		const struct chain_param *a = &ops->params[pid("auto_release")];

		ASSERT_TRUE("auto release choices", a->choices &&
			    strcmp(a->choices[0], "off") == 0 && strcmp(a->choices[1], "on") == 0);
	}
	ASSERT_TRUE("reports gain reduction", ops->gain_reduction_db != NULL);
	comp_open(&c, RATE);
	ASSERT_INT("latency 0", 0, ops->latency(&c.p));
	comp_close(&c);

	/* in the chain: "comp.*" ids, a "comp.on" switch that starts off */
	on = chain_param_find("comp.on");
	ASSERT_TRUE("comp.on exists", on >= 0);
	if (on >= 0)
		ASSERT_CLOSE("comp.on defaults to off", 0, chain_param_at((unsigned)on)->param->def, 0);
	ASSERT_TRUE("comp.threshold_db", chain_param_find("comp.threshold_db") >= 0);
	ASSERT_TRUE("comp.mix_pct", chain_param_find("comp.mix_pct") >= 0);
	{
		struct chain_settings s;
		char msg[128];

		chain_settings_default(&s);
		ASSERT_INT("auto release by name", CHAIN_OK,
			   chain_settings_set(&s, "comp.auto_release", "on", msg, sizeof(msg)));
		ASSERT_CLOSE("auto release on = 1", 1,
			     s.value[chain_param_find("comp.auto_release")], 0);
	}
}

/* ---- static curve ---- */

/*
 * A steady sine of amplitude A (peak level x = 20 log10 A dBFS) comes out
 * at x + makeup - GR(x), GR from gmr_gr().  The detector reads the sample
 * peak over >= 12.5 ms: 1 kHz at 44.1 kHz has 441 distinct sample phases
 * per 10 ms, so the sample peak lies within cos(pi/441) of A (-0.0002 dB).
 * Attack 1 ms, settle 0.4 s (e^-400 of the step left); measure the last
 * 0.1 s.
 */
static void test_static_curve(void)
{
	static const struct {
		float t, r, w, m;
	} set[] = {
		{ -18, 2, 6, 0 },   /* defaults */
		{ -30, 4, 0, 0 },   /* hard knee */
		{ -12, 20, 24, 6 }, /* widest knee, highest ratio, makeup */
		{ -40, 1.5f, 12, 3 },
		{ -6, 8, 3, 0 },
		{ -60, 3, 10, 12 },
	};
	const double rate = 44100, f = 1000;
	size_t n = (size_t)(0.5 * rate), tail = (size_t)(0.1 * rate);
	float *l = fbuf(n), *r = fbuf(n), *src = fbuf(n);
	double worst = 0, worst_gr = 0;
	unsigned points = 0;

	gen_sine(src, n, 1, rate, f, 1.0, 0.3);
	for (unsigned s = 0; s < sizeof(set) / sizeof(set[0]); s++) {
		double lo = set[s].t - set[s].w / 2 - 6, hi = set[s].t + set[s].w / 2 + 12;

		if (hi > 0)
			hi = 0;
		if (lo < -80)
			lo = -80;
		for (double x = lo; x <= hi + 1e-9; x += 0.5) {
			struct comp c;
			double a = db_to_lin(x), want_gr = gmr_gr(x, set[s].t, set[s].r, set[s].w);
			double got, err;

			comp_open(&c, rate);
			comp_set(&c, "threshold_db", set[s].t, 1);
			comp_set(&c, "ratio", set[s].r, 1);
			comp_set(&c, "knee_db", set[s].w, 1);
			comp_set(&c, "makeup_db", set[s].m, 1);
			comp_set(&c, "attack_ms", 1, 1);
			for (size_t i = 0; i < n; i++)
				l[i] = r[i] = (float)(a * src[i]);
			comp_feed(&c, l, r, n, 512);
			got = lin_to_db(measure_sine_amp(l + n - tail, tail, 1, rate, f)) - x;
			err = fabs(got - (set[s].m - want_gr));
			if (err > worst)
				worst = err;
			if (fabs(comp_gr(&c) - want_gr) > worst_gr)
				worst_gr = fabs(comp_gr(&c) - want_gr);
			if (err > CURVE_TOL || fabs(comp_gr(&c) - want_gr) > CURVE_TOL) {
				char msg[96];

				snprintf(msg, sizeof(msg), "T %g R %g W %g M %g, level %.1f dBFS: gain (dB)",
					 set[s].t, set[s].r, set[s].w, set[s].m, x);
				ASSERT_CLOSE(msg, set[s].m - want_gr, got, CURVE_TOL);
				ASSERT_CLOSE("reported reduction (dB)", want_gr, comp_gr(&c), CURVE_TOL);
			}
			test_checks += 2;
			points++;
			comp_close(&c);
		}
	}
	/* the other end of the rates (hold ring, coefficients): defaults,
	 * through the knee and above it */
	{
		static const double rates[] = { 8000, 96000, 384000 };
		static const double levels[] = { -22, -18, -15, -3 };

		for (unsigned q = 0; q < 3; q++) {
			size_t nn = (size_t)(0.3 * rates[q]), tt = (size_t)(0.1 * rates[q]);
			float *a = fbuf(nn), *b = fbuf(nn);

			for (unsigned v = 0; v < 4; v++) {
				struct comp c;
				double want = -gmr_gr(levels[v], -18, 2, 6), got;
				char msg[64];

				comp_open(&c, rates[q]);
				comp_set(&c, "attack_ms", 1, 1);
				gen_sine(a, nn, 1, rates[q], 997, db_to_lin(levels[v]), 0.3);
				memcpy(b, a, nn * sizeof(float));
				comp_feed(&c, a, b, nn, 1000);
				got = lin_to_db(measure_sine_amp(a + nn - tt, tt, 1, rates[q], 997)) -
				      levels[v];
				worst = fmax(worst, fabs(got - want));
				snprintf(msg, sizeof(msg), "%.0f Hz, level %.0f dBFS: gain (dB)", rates[q],
					 levels[v]);
				ASSERT_CLOSE(msg, want, got, CURVE_TOL);
				points++;
				comp_close(&c);
			}
			free(a);
			free(b);
		}
	}
	printf("static curve: %u levels, max error %.5f dB (gain), %.5f dB (reported GR)\n",
	       points, worst, worst_gr);
	ASSERT_LE("static curve error (dB)", worst, CURVE_TOL);
	free(l);
	free(r);
	free(src);
}

/*
 * Tones down to 1 / (2 · 12.5 ms) = 40 Hz always have a peak inside the
 * held window, so the gain does not ripple: per-frame reduction readings
 * (calls of one frame) of a settled 45 Hz tone vary by < 0.001 dB, where
 * GMR's detector on the instantaneous level would pump at 90 Hz.
 */
static void test_no_ripple(void)
{
	struct comp c;
	size_t n = (size_t)(0.6 * RATE);
	float *l = fbuf(n), *r = fbuf(n);
	double lo = 1e9, hi = -1e9;

	comp_open(&c, RATE);
	comp_set(&c, "attack_ms", 1, 1);
	comp_set(&c, "release_ms", 10, 1);
	gen_sine(l, n, 1, RATE, 45, 0.5, 0);
	memcpy(r, l, n * sizeof(float));
	for (size_t i = 0; i < n; i++) {
		float *b[2] = { l + i, r + i };

		c.ops->process(&c.p, b, 1);
		if (i > n / 2) {
			lo = fmin(lo, comp_gr(&c));
			hi = fmax(hi, comp_gr(&c));
		}
	}
	printf("45 Hz tone, release 10 ms: reduction %.4f … %.4f dB\n", lo, hi);
	ASSERT_LE("gain ripple on a 45 Hz tone (dB)", hi - lo, 1e-3);
	ASSERT_GE("it is compressed", lo, 3);
	comp_close(&c);
	free(l);
	free(r);
}

/* ---- the reference model ---- */

struct model_params {
	double t, r, w, att_ms, rel_ms, m_db, hpf_hz, link, mix;
	int autorel;
	size_t auto_from;       /* > 0: auto release on from this frame */
};

/* RBJ Audio EQ Cookbook high-pass, Q = 1/sqrt(2), direct form I. */
struct biquad {
	double b0, b1, b2, a1, a2, x1, x2, y1, y2;
};

static void biquad_hp(struct biquad *q, double f, double rate)
{
	double w0 = 2 * M_PI * f / rate, al = sin(w0) / (2 * M_SQRT1_2), a0 = 1 + al;

	memset(q, 0, sizeof(*q));
	q->b0 = (1 + cos(w0)) / 2 / a0;
	q->b1 = -(1 + cos(w0)) / a0;
	q->b2 = q->b0;
	q->a1 = -2 * cos(w0) / a0;
	q->a2 = (1 - al) / a0;
}

static double biquad_run(struct biquad *q, double x)
{
	double y = q->b0 * x + q->b1 * q->x1 + q->b2 * q->x2 - q->a1 * q->y1 - q->a2 * q->y2;

	q->x2 = q->x1;
	q->x1 = x;
	q->y2 = q->y1;
	q->y1 = y;
	return y;
}

struct det {
	double y, m;
};

/* The documented detector (steps 4-5), with its 1e-6 dB snap. */
static double det_run(struct det *d, double xl, const struct model_params *p, double rate)
{
	double a = coef(p->att_ms, rate), r = coef(p->rel_ms, rate);
	double f = coef(p->rel_ms / 4, rate);

	d->m += r * (xl - d->m);
	if (xl > d->y)
		d->y += a * (xl - d->y);
	else if (p->autorel)
		d->y += f * (fmax(xl, d->m) - d->y);
	else
		d->y += r * (xl - d->y);
	if (d->y < 1e-6)
		d->y = 0;
	if (d->m > d->y)
		d->m = d->y;
	return d->y;
}

static void model_run(const struct model_params *p, double rate, const float *inl,
		      const float *inr, float *outl, float *outr, size_t n)
{
	unsigned kb = hold_blocks(rate);
	double *sc[2];
	struct biquad q[2];
	struct det dk = { 0, 0 }, dc[2] = { { 0, 0 }, { 0, 0 } };
	const float *in[2] = { inl, inr };
	struct model_params mp = *p;

	for (int c = 0; c < 2; c++) {
		sc[c] = calloc(n, sizeof(double));
		if (!sc[c])
			exit(99);
		biquad_hp(&q[c], p->hpf_hz, rate);
		for (size_t i = 0; i < n; i++)
			sc[c][i] = fabs(p->hpf_hz > 20 ? biquad_run(&q[c], in[c][i]) : in[c][i]);
	}
	for (size_t i = 0; i < n; i++) {
		size_t blk = i / SUB, from = blk >= kb ? (blk - kb) * SUB : 0;
		double xg[2], gr[2], yk;

		if (p->auto_from && i >= p->auto_from)
			mp.autorel = 1;
		p = &mp;

		for (int c = 0; c < 2; c++) {
			double h = 1e-10;

			for (size_t t = from; t <= i; t++)
				h = fmax(h, (float)sc[c][t]);
			xg[c] = 20 * log10(h);
			gr[c] = det_run(&dc[c], gmr_gr(xg[c], p->t, p->r, p->w), p, rate);
		}
		yk = det_run(&dk, gmr_gr(fmax(xg[0], xg[1]), p->t, p->r, p->w), p, rate);
		for (int c = 0; c < 2; c++) {
			double g = pow(10, (p->m_db - (p->link * yk + (1 - p->link) * gr[c])) / 20);
			float *out = c ? outr : outl;

			out[i] = (float)(in[c][i] * (1 + p->mix * (g - 1)));
		}
	}
	free(sc[0]);
	free(sc[1]);
}

static void test_model(void)
{
	static const struct model_params set[] = {
		{ -18, 2, 6, 10, 200, 0, 20, 1, 1, 0 },        /* defaults */
		{ -24, 4, 0, 1, 50, 6, 20, 0, 1, 0 },          /* hard, independent */
		{ -20, 3, 8, 5, 300, 3, 150, 0.5, 0.7, 1 },    /* everything at once */
		{ -30, 10, 12, 0.1f, 10, 12, 500, 1, 0.3, 1 }, /* fastest, highest hpf */
	};
	const double rate = 44100;
	size_t n = (size_t)(1.5 * rate);
	float *src = fbuf(2 * n), *il = fbuf(n), *ir = fbuf(n);
	float *l = fbuf(n), *r = fbuf(n), *ml = fbuf(n), *mr = fbuf(n);

	gen_music(src, n, 2, rate, 1.0, 7);
	for (size_t i = 0; i < n; i++) {
		il[i] = src[2 * i];
		ir[i] = src[2 * i + 1] * 0.5f;  /* an unbalanced mix: the link matters */
	}
	for (unsigned s = 0; s < sizeof(set) / sizeof(set[0]); s++) {
		const struct model_params *p = &set[s];
		struct comp c;
		double maxd = 0;
		char msg[64];

		comp_open(&c, rate);
		comp_set(&c, "threshold_db", (float)p->t, 1);
		comp_set(&c, "ratio", (float)p->r, 1);
		comp_set(&c, "knee_db", (float)p->w, 1);
		comp_set(&c, "attack_ms", (float)p->att_ms, 1);
		comp_set(&c, "release_ms", (float)p->rel_ms, 1);
		comp_set(&c, "auto_release", (float)p->autorel, 1);
		comp_set(&c, "makeup_db", (float)p->m_db, 1);
		comp_set(&c, "sc_hpf_hz", (float)p->hpf_hz, 1);
		comp_set(&c, "link_pct", (float)(p->link * 100), 1);
		comp_set(&c, "mix_pct", (float)(p->mix * 100), 1);
		memcpy(l, il, n * sizeof(float));
		memcpy(r, ir, n * sizeof(float));
		comp_feed(&c, l, r, n, 256);
		/* the model with the float parameters the processor got */
		{
			struct model_params q = *p;

			q.att_ms = (float)p->att_ms;
			q.link = (float)(p->link * 100) * 0.01;
			q.mix = (float)(p->mix * 100) * 0.01;
			model_run(&q, rate, il, ir, ml, mr, n);
		}
		for (size_t i = 0; i < n; i++) {
			maxd = fmax(maxd, fabs((double)l[i] - ml[i]));
			maxd = fmax(maxd, fabs((double)r[i] - mr[i]));
		}
		snprintf(msg, sizeof(msg), "model, setting %u: largest difference", s);
		printf("reference model, setting %u: max difference %.3g\n", s, maxd);
		/* float gains and outputs (6e-8 relative each) and log2f in the
		 * level (1e-6 dB) against double: a few 1e-7 at gains <= 4 */
		ASSERT_LE(msg, maxd, 2e-6);
		comp_close(&c);
	}
	free(src);
	free(il);
	free(ir);
	free(l);
	free(r);
	free(ml);
	free(mr);
}

/*
 * The memory envelope m is only heard once auto release is on.  Linked,
 * with auto release off and the parameters at rest, the detector runs in
 * closed form (chain/comp.c, comp_run_linked()); switching auto release
 * on mid-way hands its y and m to the recursion, so the output after the
 * switch checks the m it kept: with an attack slower than the release
 * (m clamped by y while y rises) and faster.
 */
static void test_model_switch(void)
{
	static const struct model_params set[] = {
		{ -24, 4, 6, 100, 10, 0, 20, 1, 1, 0, 0 },
		{ -24, 4, 6, 5, 300, 0, 20, 1, 1, 0, 0 },
		{ -20, 3, 0, 30, 30, 0, 150, 1, 1, 0, 0 },
	};
	const double rate = 44100;
	size_t n = (size_t)(1.2 * rate), at = (size_t)(0.7 * rate) + 5;
	float *src = fbuf(2 * n), *il = fbuf(n), *ir = fbuf(n);
	float *l = fbuf(n), *r = fbuf(n), *ml = fbuf(n), *mr = fbuf(n);

	gen_music(src, n, 2, rate, 1.0, 3);
	for (size_t i = 0; i < n; i++) {
		il[i] = src[2 * i];
		ir[i] = src[2 * i + 1] * 0.5f;
	}
	for (unsigned s = 0; s < sizeof(set) / sizeof(set[0]); s++) {
		struct model_params q = set[s];
		struct comp c;
		double maxd = 0, d_on = 0;
		char msg[80];

		comp_open(&c, rate);
		comp_set(&c, "threshold_db", (float)q.t, 1);
		comp_set(&c, "ratio", (float)q.r, 1);
		comp_set(&c, "knee_db", (float)q.w, 1);
		comp_set(&c, "attack_ms", (float)q.att_ms, 1);
		comp_set(&c, "release_ms", (float)q.rel_ms, 1);
		comp_set(&c, "sc_hpf_hz", (float)q.hpf_hz, 1);
		memcpy(l, il, n * sizeof(float));
		memcpy(r, ir, n * sizeof(float));
		comp_feed(&c, l, r, at, 100);
		comp_set(&c, "auto_release", 1, 0);
		comp_feed(&c, l + at, r + at, n - at, 100);
		q.auto_from = at;
		model_run(&q, rate, il, ir, ml, mr, n);
		for (size_t i = 0; i < n; i++) {
			double d = fmax(fabs((double)l[i] - ml[i]), fabs((double)r[i] - mr[i]));

			maxd = fmax(maxd, d);
		}
		/* the switch matters: the model with auto release off all along
		 * differs after it */
		q.auto_from = 0;
		model_run(&q, rate, il, ir, ml, mr, n);
		for (size_t i = at; i < n; i++)
			d_on = fmax(d_on, fabs((double)l[i] - ml[i]));
		printf("auto release switched on at frame %zu, setting %u: max difference to the "
		       "model %.3g (%.3g to the model without the switch)\n", at, s, maxd, d_on);
		snprintf(msg, sizeof(msg), "switch to auto release, setting %u", s);
		ASSERT_LE(msg, maxd, 2e-6);
		ASSERT_GE("the switch changes the output", d_on, 1e-4);
		comp_close(&c);
	}
	free(src);
	free(il);
	free(ir);
	free(l);
	free(r);
	free(ml);
	free(mr);
}

/* ---- time constants ---- */

/*
 * Reduction per frame, read with calls of one frame, for a 1 kHz sine at
 * 48 kHz (48 frames a period) stepping between two levels at frame `at`,
 * a positive peak (at ≡ 12 mod 48), so the held level steps at once.
 */
static void gr_trace(struct comp *c, double a0, double a1, size_t at, size_t n, double *gr)
{
	for (size_t i = 0; i < n; i++) {
		float x = (float)((i < at ? a0 : a1) * sin(2 * M_PI * 1000 * (double)i / RATE));
		float y[2] = { x, x };
		float *b[2] = { &y[0], &y[1] };

		c->ops->process(&c->p, b, 1);
		gr[i] = comp_gr(c);
	}
}

/* Time from `from` until trace crosses `level` (linear interpolation). */
static double crossing(const double *gr, size_t from, size_t n, double level, int rising)
{
	for (size_t i = from + 1; i < n; i++)
		if (rising ? gr[i] >= level : gr[i] <= level) {
			double f = (level - gr[i - 1]) / (gr[i] - gr[i - 1]);

			return ((double)(i - 1 - from) + f) / RATE;
		}
	return HUGE_VAL;
}

static void test_time_constants(void)
{
	static const float atts[] = { 0.5f, 1, 10, 30, 100 }, rels[] = { 10, 50, 200, 1000, 2000 };
	/* T -30, R 4, hard knee: -50 dBFS is below, -10 dBFS gives 15 dB */
	const double q = db_to_lin(-50), loud = db_to_lin(-10), G = 0.75 * 20;
	size_t at = 48 * 100 + 12;

	for (unsigned k = 0; k < sizeof(atts) / sizeof(atts[0]); k++) {
		struct comp c;
		size_t n = at + (size_t)(atts[k] * 1e-3 * RATE * 6) + 1000;
		double *gr = calloc(n, sizeof(double)), t63;
		char msg[64];

		comp_open(&c, RATE);
		comp_set(&c, "threshold_db", -30, 1);
		comp_set(&c, "ratio", 4, 1);
		comp_set(&c, "knee_db", 0, 1);
		comp_set(&c, "attack_ms", atts[k], 1);
		gr_trace(&c, q, loud, at, n, gr);
		ASSERT_CLOSE("no reduction before the step", 0, gr[at - 1], 0);
		ASSERT_CLOSE("attack settles on the curve (dB)", G, gr[n - 1], 0.05);
		t63 = crossing(gr, at - 1, n, G * (1 - exp(-1)), 1);
		printf("attack %6.1f ms: 63 %% after %7.3f ms (%+.2f %%)\n", atts[k], t63 * 1e3,
		       100 * (t63 * 1e3 / atts[k] - 1));
		snprintf(msg, sizeof(msg), "attack %.1f ms: time constant (ms)", atts[k]);
		ASSERT_CLOSE(msg, atts[k], t63 * 1e3, 0.1 * atts[k]);
		comp_close(&c);
		free(gr);
	}
	/*
	 * Release: settle at -10 dBFS (attack 1 ms), step down at a zero
	 * crossing that starts a sub-block (frame ≡ 0 mod 96), so the last
	 * loud half-wave lies in one sub-block and leaves the held window at
	 * once.  The held peak keeps the loud level for the hold, then the
	 * reduction decays: the time constant counts from that onset (the
	 * last frame of the plateau), and the hold, counted from the last
	 * loud peak (12 frames before the step), is checked on its own:
	 * >= 12.5 ms, and < 12.5 ms plus two sub-blocks (the window is whole
	 * sub-blocks covering 12.5 ms plus the current one).
	 */
	for (unsigned k = 0; k < sizeof(rels) / sizeof(rels[0]); k++) {
		struct comp c;
		size_t at2 = 96 * 100;
		size_t n = at2 + (size_t)(rels[k] * 1e-3 * RATE * 3) + 2000;
		double *gr = calloc(n, sizeof(double)), t63, hold;
		size_t onset = at2;
		char msg[64];

		comp_open(&c, RATE);
		comp_set(&c, "threshold_db", -30, 1);
		comp_set(&c, "ratio", 4, 1);
		comp_set(&c, "knee_db", 0, 1);
		comp_set(&c, "attack_ms", 1, 1);
		comp_set(&c, "release_ms", rels[k], 1);
		gr_trace(&c, loud, q, at2, n, gr);
		ASSERT_CLOSE("settled before the step (dB)", G, gr[at2 - 1], 1e-6);
		while (onset < n && gr[onset] >= gr[at2 - 1])
			onset++;
		onset--;        /* the last frame still at the plateau */
		hold = (double)(onset + 1 - (at2 - 12)) / RATE;
		t63 = crossing(gr, onset, n, G * exp(-1), 0);
		printf("release %6.0f ms: hold %.2f ms, then 63 %% after %8.3f ms (%+.2f %%)\n",
		       rels[k], hold * 1e3, t63 * 1e3, 100 * (t63 * 1e3 / rels[k] - 1));
		snprintf(msg, sizeof(msg), "release %.0f ms: time constant (ms)", rels[k]);
		ASSERT_CLOSE(msg, rels[k], t63 * 1e3, 0.1 * rels[k]);
		ASSERT_GE("hold at least 12.5 ms (ms)", hold * 1e3, HOLD_MS);
		ASSERT_LE("hold under 12.5 ms + two sub-blocks (ms)", hold * 1e3,
			  HOLD_MS + 2.0 * SUB / RATE * 1e3);
		comp_close(&c);
		free(gr);
	}
}

/*
 * Auto release: the same level (15 dB of reduction), once for 15 ms and
 * once for 3 s, then quiet.  Recovery time = from the onset of the release
 * until the reduction is down to 1/e of where it started.  Model: the
 * burst barely charges the memory (15 ms against 200 ms), so it recovers
 * with about release/4 = 50 ms; the sustained one with about release
 * (200 ms, a little more).  Without auto both take the release time.
 */
static void test_auto_release(void)
{
	const double q = db_to_lin(-50), loud = db_to_lin(-10);
	double rec[2][2];

	for (int autorel = 0; autorel < 2; autorel++)
		for (int longer = 0; longer < 2; longer++) {
			struct comp c;
			size_t at = longer ? (size_t)(3 * RATE) + 12 : 48 * 15 + 12;
			size_t n = at + (size_t)(1.5 * RATE);
			double *gr = calloc(n, sizeof(double)), peak;
			size_t onset = at;

			comp_open(&c, RATE);
			comp_set(&c, "threshold_db", -30, 1);
			comp_set(&c, "ratio", 4, 1);
			comp_set(&c, "knee_db", 0, 1);
			comp_set(&c, "attack_ms", 0.5f, 1);
			comp_set(&c, "release_ms", 200, 1);
			comp_set(&c, "auto_release", (float)autorel, 1);
			gr_trace(&c, loud, q, at, n, gr);
			peak = gr[at - 1];
			while (onset < n && gr[onset] >= peak)
				onset++;
			rec[autorel][longer] = crossing(gr, onset - 1, n, peak * exp(-1), 0);
			ASSERT_GE("the burst is compressed (dB)", peak, 14);
			comp_close(&c);
			free(gr);
		}
	printf("recovery to 1/e: auto off: burst %.1f ms, sustained %.1f ms; "
	       "auto on: burst %.1f ms, sustained %.1f ms\n",
	       rec[0][0] * 1e3, rec[0][1] * 1e3, rec[1][0] * 1e3, rec[1][1] * 1e3);
	ASSERT_CLOSE("auto off: burst recovers with the release (ms)", 200, rec[0][0] * 1e3, 20);
	ASSERT_CLOSE("auto off: sustained recovers with the release (ms)", 200, rec[0][1] * 1e3, 20);
	ASSERT_LE("auto on: burst recovers faster than sustained", rec[1][0], 0.5 * rec[1][1]);
	/* the model's figures: burst ~ release/4, sustained >= release */
	ASSERT_LE("auto on: burst recovery (ms)", rec[1][0] * 1e3, 80);
	ASSERT_GE("auto on: sustained recovery (ms)", rec[1][1] * 1e3, 200);
	ASSERT_LE("auto on: sustained recovery (ms)", rec[1][1] * 1e3, 300);
}

/* ---- sidechain high-pass ---- */

static double run_gr(double rate, float *l, float *r, size_t n, const char *id, float v)
{
	struct comp c;
	double gr;

	comp_open(&c, rate);
	if (id)
		comp_set(&c, id, v, 1);
	comp_feed(&c, l, r, n, 512);
	gr = comp_gr(&c);
	comp_close(&c);
	return gr;
}

static void test_sc_hpf(void)
{
	size_t n = (size_t)RATE;
	float *l = fbuf(n), *r = fbuf(n), *a = fbuf(n);
	double g20, g100, g200, gdc, g5;

	/* 40 Hz at -6 dBFS under 1 kHz at -30 dBFS */
	gen_sine(l, n, 1, RATE, 40, db_to_lin(-6), 0);
	gen_sine(a, n, 1, RATE, 1000, db_to_lin(-30), 0);
	for (size_t i = 0; i < n; i++)
		l[i] = r[i] = l[i] + a[i];
	memcpy(a, l, n * sizeof(float));
	g20 = run_gr(RATE, l, r, n, "sc_hpf_hz", 20);
	memcpy(l, a, n * sizeof(float));
	memcpy(r, a, n * sizeof(float));
	g100 = run_gr(RATE, l, r, n, "sc_hpf_hz", 100);
	memcpy(l, a, n * sizeof(float));
	memcpy(r, a, n * sizeof(float));
	g200 = run_gr(RATE, l, r, n, "sc_hpf_hz", 200);
	printf("40 Hz-heavy mix: reduction %.2f dB (hpf 20), %.2f dB (100), %.2f dB (200)\n",
	       g20, g100, g200);
	ASSERT_GE("hpf 20: the bass drives it (dB)", g20, 5);
	ASSERT_LE("hpf 100 reduces less", g100, g20 - 2);
	ASSERT_LE("hpf 200 reduces less still", g200, g100);
	ASSERT_LE("hpf 200: the bass no longer drives it (dB)", g200, 0.5);

	/*
	 * sc_hpf 20 is no filter: DC and a 5 Hz square wave, which any 20 Hz
	 * high-pass would remove (DC entirely; the square down to decaying
	 * spikes at its edges), are compressed by the curve: |x| = 0.5 gives
	 * GR = 0.5 · (-6 + 18) = 6 dB with the defaults.  One Hz above, the
	 * filter is in and DC drives nothing (release 10 ms so that the
	 * reduction has died out after the first second).
	 */
	for (size_t i = 0; i < n; i++)
		l[i] = r[i] = 0.5f;
	gdc = run_gr(RATE, l, r, n, NULL, 0);
	for (size_t i = 0; i < n; i++)
		l[i] = r[i] = (i / 4800) % 2 ? -0.5f : 0.5f;
	g5 = run_gr(RATE, l, r, n, NULL, 0);
	ASSERT_CLOSE("hpf 20 hears DC (dB)", gmr_gr(lin_to_db(0.5), -18, 2, 6), gdc, 1e-4);
	ASSERT_CLOSE("hpf 20 hears a 5 Hz square (dB)", gmr_gr(lin_to_db(0.5), -18, 2, 6), g5, 1e-4);
	{
		struct comp c;

		comp_open(&c, RATE);
		comp_set(&c, "sc_hpf_hz", 21, 1);
		comp_set(&c, "release_ms", 10, 1);
		for (size_t i = 0; i < n; i++)
			l[i] = r[i] = 0.5f;
		comp_feed(&c, l, r, n, 512);
		ASSERT_LE("hpf 21 Hz removes DC (dB)", comp_gr(&c), 1e-4);
		comp_close(&c);
	}

	/* the filter is in the sidechain only: at mix 0 the output is the
	 * input, bit for bit, whatever the sidechain does */
	{
		struct comp c;
		int same = 1;

		comp_open(&c, RATE);
		comp_set(&c, "sc_hpf_hz", 300, 1);
		comp_set(&c, "mix_pct", 0, 1);
		memcpy(l, a, n * sizeof(float));
		memcpy(r, a, n * sizeof(float));
		comp_feed(&c, l, r, n, 100);
		for (size_t i = 0; i < n; i++)
			same &= l[i] == a[i] && r[i] == a[i];
		ASSERT_TRUE("mix 0: output is the input, bit for bit", same);
		comp_close(&c);
	}

	/* back at 20 Hz after a glide the filter is out again: the same
	 * output as a compressor that never had it, once the hold and the
	 * detector have forgotten the filtered past (reset both, same input) */
	{
		struct comp c, d;
		size_t m = 48000;
		float *l2 = fbuf(m), *r2 = fbuf(m);
		int same = 1;

		comp_open(&c, RATE);
		comp_open(&d, RATE);
		comp_set(&c, "sc_hpf_hz", 400, 1);
		memcpy(l, a, n * sizeof(float));
		memcpy(r, a, n * sizeof(float));
		comp_feed(&c, l, r, 4800, 100);
		comp_set(&c, "sc_hpf_hz", 20, 0);
		comp_feed(&c, l + 4800, r + 4800, 9600, 100);  /* the glide lands */
		c.ops->reset(&c.p);
		memcpy(l, a, m * sizeof(float));
		memcpy(r, a, m * sizeof(float));
		memcpy(l2, a, m * sizeof(float));
		memcpy(r2, a, m * sizeof(float));
		comp_feed(&c, l, r, m, 100);
		comp_feed(&d, l2, r2, m, 100);
		for (size_t i = 0; i < m; i++)
			same &= l[i] == l2[i] && r[i] == r2[i];
		ASSERT_TRUE("glided back to 20 Hz: identical to never filtered", same);
		comp_close(&c);
		comp_close(&d);
		free(l2);
		free(r2);
	}
	/*
	 * Re-engaged, the filter starts from a clean state: a compressor
	 * that filtered loud bass, glided back to 20 Hz (the filter goes out)
	 * and then heard 2 s of silence (reduction, hold and memory back to
	 * exactly 0), behaves bit for bit like one that heard silence all
	 * along when the filter goes in again (total lengths equal, so the
	 * sub-block phase is the same).
	 */
	{
		struct comp c, d;
		size_t pre = 24000, quiet = 96000, m = 24000;
		float *z = fbuf(pre + quiet), *l2 = fbuf(m), *r2 = fbuf(m);
		int same = 1;

		comp_open(&c, RATE);
		comp_open(&d, RATE);
		comp_set(&c, "sc_hpf_hz", 200, 1);
		memcpy(l, a, pre * sizeof(float));
		memcpy(r, a, pre * sizeof(float));
		comp_feed(&c, l, r, pre, 480);
		comp_set(&c, "sc_hpf_hz", 20, 0);
		comp_feed(&c, z, z + pre, quiet / 2, 480);   /* zeros */
		comp_feed(&c, z, z + pre, quiet / 2, 480);
		memset(z, 0, (pre + quiet) * sizeof(float));
		comp_feed(&d, z, z, pre + quiet, 480);
		comp_set(&c, "sc_hpf_hz", 200, 0);
		comp_set(&d, "sc_hpf_hz", 200, 0);
		memcpy(l, a, m * sizeof(float));
		memcpy(r, a, m * sizeof(float));
		memcpy(l2, a, m * sizeof(float));
		memcpy(r2, a, m * sizeof(float));
		comp_feed(&c, l, r, m, 480);
		comp_feed(&d, l2, r2, m, 480);
		for (size_t i = 0; i < m; i++)
			same &= l[i] == l2[i] && r[i] == r2[i];
		ASSERT_TRUE("filter re-engaged from a clean state", same);
		comp_close(&c);
		comp_close(&d);
		free(z);
		free(l2);
		free(r2);
	}
	free(l);
	free(r);
	free(a);
}

/* ---- stereo link, mix, makeup ---- */

static void test_link(void)
{
	/* left 1 kHz at -6 dBFS (6 dB of reduction by the defaults), right
	 * 1 kHz at -40 dBFS (below the knee) */
	const double al = db_to_lin(-6), ar = db_to_lin(-40), f = 1000;
	const double G = gmr_gr(-6, -18, 2, 6);
	static const float links[] = { 100, 50, 0 };
	size_t n = (size_t)(0.6 * RATE), tail = 4800;
	float *l = fbuf(n), *r = fbuf(n);

	for (unsigned k = 0; k < 3; k++) {
		struct comp c;
		double gl, gr, w = links[k] / 100.0;
		char msg[64];

		comp_open(&c, RATE);
		comp_set(&c, "link_pct", links[k], 1);
		gen_sine(l, n, 1, RATE, f, al, 0);
		gen_sine(r, n, 1, RATE, f, ar, 0);
		comp_feed(&c, l, r, n, 333);
		gl = lin_to_db(measure_sine_amp(l + n - tail, tail, 1, RATE, f) / al);
		gr = lin_to_db(measure_sine_amp(r + n - tail, tail, 1, RATE, f) / ar);
		printf("link %3.0f %%: left %+.3f dB, right %+.3f dB\n", links[k], gl, gr);
		snprintf(msg, sizeof(msg), "link %.0f %%: left gain (dB)", links[k]);
		ASSERT_CLOSE(msg, -G, gl, 0.01);
		/* GR_c = link · GR_linked + (1 - link) · GR_own, own = 0 */
		snprintf(msg, sizeof(msg), "link %.0f %%: right gain (dB)", links[k]);
		ASSERT_CLOSE(msg, -w * G, gr, 0.01);
		comp_close(&c);
	}
	free(l);
	free(r);
}

/*
 * Moving the link wakes detectors that were not running; each starts from
 * its running peer's state.  With both channels alike (DC at -6 dBFS) the
 * linked and the independent detectors agree, so a link glide in any
 * direction must leave the gain where it was (a detector woken from a
 * stale or zero state would dip it by up to the whole reduction).
 */
static void test_link_glide(void)
{
	static const float path[][2] = { { 0, 100 }, { 100, 0 }, { 100, 50 }, { 0, 50 } };
	size_t n = (size_t)(1.5 * RATE), at = (size_t)RATE;
	float *l = fbuf(n), *r = fbuf(n);

	for (unsigned k = 0; k < sizeof(path) / sizeof(path[0]); k++) {
		struct comp c;
		double g0, dev = 0;
		char msg[64];

		comp_open(&c, RATE);
		comp_set(&c, "link_pct", path[k][0], 1);
		for (size_t i = 0; i < n; i++)
			l[i] = r[i] = 0.5f;
		comp_feed(&c, l, r, at, 480);
		comp_set(&c, "link_pct", path[k][1], 0);
		comp_feed(&c, l + at, r + at, n - at, 480);
		g0 = l[at - 1];
		for (size_t i = at; i < n; i++) {
			dev = fmax(dev, fabs(lin_to_db(l[i] / g0)));
			dev = fmax(dev, fabs(lin_to_db(r[i] / g0)));
		}
		snprintf(msg, sizeof(msg), "link %.0f → %.0f %%: gain moves (dB)", path[k][0],
			 path[k][1]);
		ASSERT_LE(msg, dev, 1e-4);
		comp_close(&c);
	}
	free(l);
	free(r);
}

static void test_mix_makeup(void)
{
	size_t n = (size_t)RATE;
	float *src = fbuf(2 * n), *dl = fbuf(n), *dr = fbuf(n);
	float *wl = fbuf(n), *wr = fbuf(n), *l = fbuf(n), *r = fbuf(n);
	double dmix = 0, dmk = 0, dgr = 0;
	int dry = 1;

	gen_music(src, n, 2, RATE, 1.0, 5);
	for (size_t i = 0; i < n; i++) {
		dl[i] = src[2 * i];
		dr[i] = src[2 * i + 1];
	}
	/* wet: mix 100 % (the default), 4:1 so it compresses hard */
	{
		struct comp c;

		comp_open(&c, RATE);
		comp_set(&c, "ratio", 4, 1);
		memcpy(wl, dl, n * sizeof(float));
		memcpy(wr, dr, n * sizeof(float));
		comp_feed(&c, wl, wr, n, 256);
		comp_close(&c);
	}
	/* mix 50 %: 0.5 · dry + 0.5 · wet */
	{
		struct comp c;

		comp_open(&c, RATE);
		comp_set(&c, "ratio", 4, 1);
		comp_set(&c, "mix_pct", 50, 1);
		memcpy(l, dl, n * sizeof(float));
		memcpy(r, dr, n * sizeof(float));
		comp_feed(&c, l, r, n, 256);
		for (size_t i = 0; i < n; i++) {
			dmix = fmax(dmix, fabs(l[i] - (0.5 * dl[i] + 0.5 * wl[i])));
			dmix = fmax(dmix, fabs(r[i] - (0.5 * dr[i] + 0.5 * wr[i])));
		}
		comp_close(&c);
	}
	/* mix 0 %: the dry signal, bit for bit */
	{
		struct comp c;

		comp_open(&c, RATE);
		comp_set(&c, "ratio", 4, 1);
		comp_set(&c, "mix_pct", 0, 1);
		memcpy(l, dl, n * sizeof(float));
		memcpy(r, dr, n * sizeof(float));
		comp_feed(&c, l, r, n, 256);
		for (size_t i = 0; i < n; i++)
			dry &= l[i] == dl[i] && r[i] == dr[i];
		comp_close(&c);
	}
	/* makeup +7.5 dB: the wet signal times 10^(7.5/20), same reduction */
	{
		struct comp c, d;
		double k = db_to_lin(7.5);

		comp_open(&c, RATE);
		comp_open(&d, RATE);
		comp_set(&c, "ratio", 4, 1);
		comp_set(&d, "ratio", 4, 1);
		comp_set(&c, "makeup_db", 7.5f, 1);
		memcpy(l, dl, n * sizeof(float));
		memcpy(r, dr, n * sizeof(float));
		memcpy(wl, dl, n * sizeof(float));
		memcpy(wr, dr, n * sizeof(float));
		for (size_t i = 0; i < n; i += 480) {
			float *b[2] = { l + i, r + i }, *e[2] = { wl + i, wr + i };

			c.ops->process(&c.p, b, 480);
			d.ops->process(&d.p, e, 480);
			dgr = fmax(dgr, fabs(comp_gr(&c) - comp_gr(&d)));
		}
		for (size_t i = 0; i < n; i++) {
			dmk = fmax(dmk, fabs(l[i] - k * wl[i]));
			dmk = fmax(dmk, fabs(r[i] - k * wr[i]));
		}
		comp_close(&c);
		comp_close(&d);
	}
	printf("mix 50 %%: max |out - (dry + wet)/2| = %.3g; makeup 7.5 dB: max error %.3g\n",
	       dmix, dmk);
	ASSERT_LE("mix 50 % = 0.5 dry + 0.5 wet", dmix, 1e-6);
	ASSERT_TRUE("mix 0 % = dry, bit for bit", dry);
	/* the gain is rounded to float once (6e-8) on outputs up to 2.4 */
	ASSERT_LE("makeup = wet times the makeup gain", dmk, 1e-6);
	ASSERT_LE("makeup leaves the reduction alone (dB)", dgr, 0);
	free(src);
	free(dl);
	free(dr);
	free(wl);
	free(wr);
	free(l);
	free(r);
}

/*
 * The report is the largest reduction of the last call: on an attack
 * (reduction rising through the call) it equals the per-frame reading of
 * the call's last frame, and on a release its first frame.
 */
static void test_gr_report(void)
{
	struct comp c, d;
	size_t n = 48000;
	float *l = fbuf(n), *r = fbuf(n), *l2 = fbuf(n), *r2 = fbuf(n);
	double *per = calloc(n, sizeof(double)), worst = 0;

	gen_music(l, n, 1, RATE, 1.0, 3);
	for (size_t i = 0; i < n; i++)
		r[i] = l[i];
	memcpy(l2, l, n * sizeof(float));
	memcpy(r2, r, n * sizeof(float));
	comp_open(&c, RATE);
	comp_open(&d, RATE);
	for (size_t i = 0; i < n; i++) {
		float *b[2] = { l + i, r + i };

		c.ops->process(&c.p, b, 1);
		per[i] = comp_gr(&c);
	}
	for (size_t i = 0; i < n; i += 300) {
		float *b[2] = { l2 + i, r2 + i };
		double want = 0;

		d.ops->process(&d.p, b, 300);
		for (size_t k = i; k < i + 300; k++)
			want = fmax(want, per[k]);
		worst = fmax(worst, fabs(want - comp_gr(&d)));
	}
	ASSERT_LE("report = largest per-frame reduction of the call", worst, 0);
	{
		float *b[2] = { l2, r2 };

		d.ops->process(&d.p, b, 0);
		ASSERT_CLOSE("an empty call reports 0", 0, comp_gr(&d), 0);
	}
	comp_close(&c);
	comp_close(&d);
	free(per);
	free(l);
	free(r);
	free(l2);
	free(r2);
}

/* ---- reset, call sizes ---- */

static void test_reset(void)
{
	struct comp c, d;
	size_t n = 24000;
	float *l = fbuf(n), *r = fbuf(n), *l2 = fbuf(n), *r2 = fbuf(n);
	int zero = 1, same = 1;

	comp_open(&c, RATE);
	comp_set(&c, "sc_hpf_hz", 120, 1);
	comp_set(&c, "auto_release", 1, 1);
	comp_set(&c, "link_pct", 40, 1);
	comp_set(&c, "makeup_db", 4, 1);
	for (size_t i = 0; i < n; i++)
		l[i] = r[i] = 1.0f;
	comp_feed(&c, l, r, n / 2, 1000);
	for (size_t i = 0; i < n; i++)
		l[i] = r[i] = (i / 24) % 2 ? 1.0f : -1.0f;  /* 1 kHz square */
	comp_feed(&c, l, r, n, 1000);
	comp_set(&c, "threshold_db", -40, 0);   /* a glide in flight */
	comp_feed(&c, l, r, 100, 100);
	ASSERT_GE("ones were compressed (dB)", comp_gr(&c), 5);
	c.ops->reset(&c.p);
	ASSERT_CLOSE("reset clears the report", 0, comp_gr(&c), 0);
	memset(l, 0, n * sizeof(float));
	memset(r, 0, n * sizeof(float));
	comp_feed(&c, l, r, n, 1000);
	for (size_t i = 0; i < n; i++)
		zero &= l[i] == 0.0f && r[i] == 0.0f;
	ASSERT_TRUE("zeros after reset are exact zeros", zero);
	ASSERT_CLOSE("no reduction on zeros", 0, comp_gr(&c), 0);

	/* after a reset it is a fresh compressor with the new targets */
	c.ops->reset(&c.p);
	comp_open(&d, RATE);
	comp_set(&d, "sc_hpf_hz", 120, 1);
	comp_set(&d, "auto_release", 1, 1);
	comp_set(&d, "link_pct", 40, 1);
	comp_set(&d, "makeup_db", 4, 1);
	comp_set(&d, "threshold_db", -40, 1);
	gen_music(l, n, 1, RATE, 0.8, 11);
	gen_music(r, n, 1, RATE, 0.6, 12);
	memcpy(l2, l, n * sizeof(float));
	memcpy(r2, r, n * sizeof(float));
	comp_feed(&c, l, r, n, 64);
	comp_feed(&d, l2, r2, n, 64);
	for (size_t i = 0; i < n; i++)
		same &= l[i] == l2[i] && r[i] == r2[i];
	ASSERT_TRUE("reset = fresh instance, bit for bit (parameters snapped)", same);
	comp_close(&c);
	comp_close(&d);
	free(l);
	free(r);
	free(l2);
	free(r2);
}

/*
 * Calls of 1, 7, 32, 333, 1024 frames and a random mix, with parameters
 * changed at fixed frames (taken as call boundaries: a set lands between
 * calls), must give the same output.
 */
static void test_block_sizes(void)
{
	static const unsigned sizes[] = { 1, 7, 32, 333, 1024, 0 /* random */ };
	static const struct {
		size_t at;
		const char *id;
		float v;
	} ev[] = {
		{ 5000, "threshold_db", -30 }, { 9001, "ratio", 6 },       { 13000, "knee_db", 0 },
		{ 17777, "link_pct", 30 },     { 21000, "sc_hpf_hz", 180 }, { 26000, "auto_release", 1 },
		{ 30303, "mix_pct", 60 },      { 35000, "makeup_db", 5 },   { 40000, "attack_ms", 0.3f },
		{ 44000, "release_ms", 40 },   { 52000, "link_pct", 0 },    { 60000, "sc_hpf_hz", 20 },
		{ 70000, "link_pct", 100 },    { 78000, "knee_db", 24 },
	};
	const size_t n = 88200, nev = sizeof(ev) / sizeof(ev[0]);
	float *src = fbuf(2 * n), *refl = NULL, *refr = NULL;
	unsigned seed = 1;

	gen_music(src, n, 2, 44100, 1.0, 9);
	for (unsigned k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		struct comp c;
		float *l = fbuf(n), *r = fbuf(n);
		size_t i = 0, e = 0;
		double maxd = 0;

		comp_open(&c, 44100);
		for (size_t t = 0; t < n; t++) {
			l[t] = src[2 * t];
			r[t] = src[2 * t + 1];
		}
		while (i < n) {
			size_t m;

			if (sizes[k]) {
				m = sizes[k];
			} else {
				seed = seed * 1103515245u + 12345u;
				m = 1 + (seed >> 16) % MAXF;
			}
			if (m > n - i)
				m = n - i;
			if (e < nev && i + m > ev[e].at)
				m = ev[e].at - i;
			if (e < nev && i == ev[e].at) {
				comp_set(&c, ev[e].id, ev[e].v, 0);
				e++;
				continue;
			}
			comp_feed(&c, l + i, r + i, m, (unsigned)m);
			i += m;
		}
		if (!refl) {
			refl = l;
			refr = r;
		} else {
			char msg[64];

			for (size_t t = 0; t < n; t++) {
				maxd = fmax(maxd, fabs((double)l[t] - refl[t]));
				maxd = fmax(maxd, fabs((double)r[t] - refr[t]));
			}
			if (sizes[k])
				snprintf(msg, sizeof(msg), "calls of %4u frames", sizes[k]);
			else
				snprintf(msg, sizeof(msg), "calls of random sizes");
			printf("%s vs 1: max difference %.3g\n", msg, maxd);
			strcat(msg, " vs 1: max difference");
			ASSERT_LE(msg, maxd, 0);
			free(l);
			free(r);
		}
		comp_close(&c);
	}
	free(refl);
	free(refr);
	free(src);
}

/* ---- parameter jumps ---- */

/*
 * Each parameter jumps from min to max and back on a settled DC input
 * (both channels at level x; the right one 20 dB lower for the link) with
 * the defaults otherwise: T -18, R 2 (slope s = 0.5), W 6, attack 10 ms,
 * release 200 ms.  At x = -6 dBFS that is G = 0.5 · 12 = 6 dB of
 * reduction.  A smoothed value moves per frame by at most
 * v = k · range / 32, k = 1 - e^(-32 / (10 ms · fs)) (chain/smooth.h: a
 * one-pole step per 32-frame sub-block, linear inside it); the ratio
 * glides as the slope 1 - 1/R (range 0.95), link and mix as fractions.
 * A smooth branching detector whose input moves by at most u per frame
 * moves by at most u per frame itself (each branch is a one-pole whose lag
 * has the sign of its branch).  So per frame:
 *
 *   threshold  x_L moves <= s · v (d x_L / dT = -s or less):  dGR <= s v
 *   ratio      x_L = s · f, f <= x - T + W/2 = 15 dB:         dGR <= 15 v
 *   knee       at x = T (inside the knee, x_L = s W / 8):
 *              |d x_L / dW| <= s / 8:                          dGR <= s v / 8
 *   makeup     the gain in dB moves by v itself
 *   mix        out = x (1 + mix (g - 1)): |d out| <= A v |g - 1| <= A v
 *   link       GR_right = link · y_k + (1 - link) · y_right, y_k = G, and
 *              y_right between 0 and G, releasing at most c_rel G a frame:
 *              dGR <= G v + c_rel G
 *   sc_hpf     the detector hears something else (a filtered DC decays;
 *              the raw DC returns at once when the filter goes out) and
 *              follows at its attack at most:                  dGR <= c_att G
 *   attack, release, auto release
 *              time constants: at a settled state x_L = y and nothing
 *              moves (bound: 1e-7 of A, float rounding)
 *
 * and the output step |d out| <= A · g_hi · (10^(dGR / 20) - 1), g_hi the
 * largest gain (1, or 10^(24/20) for the makeup jump).  For scale: were
 * the threshold not smoothed, its jump to -60 (27 dB of reduction) with
 * the fastest attack (0.1 ms: 0.188 of the way per frame) would step the
 * output by 0.5 · (1 - 10^(-0.188 · 27 / 20)) = 0.22 in one frame.
 */
static void test_jumps(void)
{
	enum { THR, RATIO, KNEE, MAKEUP, MIX, LINK, HPF, TC };
	static const struct {
		const char *id;
		int kind;
		double level_db;
	} tab[] = {
		{ "threshold_db", THR, -6 }, { "ratio", RATIO, -6 },   { "knee_db", KNEE, -18 },
		{ "makeup_db", MAKEUP, -6 }, { "mix_pct", MIX, -6 },   { "link_pct", LINK, -6 },
		{ "sc_hpf_hz", HPF, -6 },    { "attack_ms", TC, -6 },  { "release_ms", TC, -6 },
		{ "auto_release", TC, -6 },
	};
	const double k = 1 - exp(-SUB / (0.010 * RATE)), s = 0.5, G = gmr_gr(-6, -18, 2, 6);
	const double c_att = coef(10, RATE), c_rel = coef(200, RATE);
	size_t settle = (size_t)(2 * RATE), n = settle + (size_t)(0.5 * RATE);
	float *l = fbuf(n), *r = fbuf(n);

	for (unsigned t = 0; t < sizeof(tab) / sizeof(tab[0]); t++) {
		const struct chain_param *p = &chain_comp_ops.params[pid(tab[t].id)];
		const double A = db_to_lin(tab[t].level_db);
		double range = p->max - p->min, v, dgr = 0, g_hi = 1, bound;

		if (tab[t].kind == LINK || tab[t].kind == MIX)
			range /= 100;
		if (tab[t].kind == RATIO)
			range = 1 - 1 / p->max;
		v = k * range / SUB;
		switch (tab[t].kind) {
		case THR:
			dgr = s * v;
			break;
		case RATIO:
			dgr = 15 * v;
			break;
		case KNEE:
			dgr = s * v / 8;
			break;
		case MAKEUP:
			dgr = v;
			g_hi = db_to_lin(24);
			break;
		case LINK:
			dgr = G * v + c_rel * G;
			break;
		case HPF:
			dgr = c_att * G;
			break;
		}
		bound = tab[t].kind == MIX ? A * v :
			tab[t].kind == TC ? 1e-7 * A : A * g_hi * (db_to_lin(dgr) - 1);
		for (int dir = 0; dir < 2; dir++) {
			struct comp c;
			double step = 0;
			char msg[96];

			comp_open(&c, RATE);
			comp_set(&c, tab[t].id, dir ? p->max : p->min, 1);
			for (size_t i = 0; i < n; i++) {
				l[i] = (float)A;
				r[i] = (float)(tab[t].kind == LINK ? A / 10 : A);
			}
			comp_feed(&c, l, r, settle, 480);
			comp_set(&c, tab[t].id, dir ? p->min : p->max, 0);
			comp_feed(&c, l + settle, r + settle, n - settle, 480);
			for (size_t i = settle - 1; i + 1 < n; i++) {
				step = fmax(step, fabs((double)l[i + 1] - l[i]));
				step = fmax(step, fabs((double)r[i + 1] - r[i]));
			}
			snprintf(msg, sizeof(msg), "%s %s: largest step", tab[t].id,
				 dir ? "max → min" : "min → max");
			printf("jump %-12s %s: largest step %.3g (bound %.3g)\n", tab[t].id,
			       dir ? "max → min" : "min → max", step, bound);
			ASSERT_LE(msg, step, bound);
			/* and the jump did move the output (all but time constants) */
			if (tab[t].kind != TC)
				ASSERT_GE("the jump has an effect", fabs((double)l[n - 1] - l[settle - 1]) +
					  fabs((double)r[n - 1] - r[settle - 1]), 1e-5);
			comp_close(&c);
		}
	}
	free(l);
	free(r);
}

/* ---- hostile input, denormals ---- */

static void test_hostile(void)
{
	static const char *const ids[] = { "threshold_db", "ratio", "knee_db", "attack_ms",
					   "release_ms", "auto_release", "makeup_db",
					   "sc_hpf_hz", "link_pct", "mix_pct" };
	const unsigned np = sizeof(ids) / sizeof(ids[0]);
	size_t seg = 4800, n = 8 * seg;
	float *src = fbuf(n), *l = fbuf(n), *r = fbuf(n);
	int finite = 1;
	double peak = 0;

	for (size_t i = 0; i < n; i++) {
		size_t s = i / seg;

		src[i] = s == 0 ? 1.0f :                          /* DC */
			 s == 1 ? ((i / 12) % 2 ? 1.0f : -1.0f) : /* full-scale square */
			 s == 2 ? 0.0f :                          /* silence */
			 s == 3 ? ((i % 2) ? 1.0f : -1.0f) :      /* Nyquist */
			 s == 4 ? -1.0f :                         /* negative DC */
			 s == 5 ? (float)(1e30 * sin(0.01 * (double)i)) :
			 s == 6 ? (i % 3 == 0 ? NAN : i % 3 == 1 ? INFINITY : -INFINITY) :
				  1e-40f;                       /* subnormal input */
	}
	/* all at min, all at max, and alternating */
	for (unsigned pat = 0; pat < 4; pat++) {
		struct comp c;

		comp_open(&c, RATE);
		for (unsigned k = 0; k < np; k++) {
			const struct chain_param *p = &chain_comp_ops.params[pid(ids[k])];
			int hi = pat == 0 ? 0 : pat == 1 ? 1 : pat == 2 ? (int)(k % 2) : (int)(k % 2 == 0);

			comp_set(&c, ids[k], hi ? p->max : p->min, 1);
		}
		memcpy(l, src, n * sizeof(float));
		for (size_t i = 0; i < n; i++)
			r[i] = -src[i];
		comp_feed(&c, l, r, n, 333);
		for (size_t i = 0; i < n; i++) {
			if (!isfinite(l[i]) || !isfinite(r[i]))
				finite = 0;
			if (i / seg != 5)
				peak = fmax(peak, fmax(fabs(l[i]), fabs(r[i])));
		}
		ASSERT_TRUE("reduction finite", isfinite(comp_gr(&c)));
		comp_close(&c);
	}
	ASSERT_TRUE("finite output at extreme settings and input", finite);
	/* full scale times the largest makeup is the most it can give */
	ASSERT_LE("peak within full scale + 24 dB", peak, db_to_lin(24) * 1.0001);
}

/*
 * Near FLT_MAX the sidechain filter (in double) gives levels beyond float:
 * the level is capped (+200 dBFS), and the compressor works normally
 * afterwards.  Non-finite parameter values
 * (the chain clamps them, a direct caller might not) are ignored.
 */
static void test_recovery(void)
{
	struct comp c, d;
	size_t n = 48000, bad = 4800;
	float *l = fbuf(n), *r = fbuf(n), *l2 = fbuf(n), *r2 = fbuf(n);
	int finite = 1, same = 1;

	comp_open(&c, RATE);
	comp_set(&c, "sc_hpf_hz", 100, 1);
	comp_set(&c, "release_ms", 10, 1);  /* from +200 dBFS back in 0.9 s */
	for (size_t i = 0; i < bad; i++)
		l[i] = r[i] = (i / 3) % 2 ? FLT_MAX : -FLT_MAX;
	gen_sine(l + bad, n - bad, 1, RATE, 1000, 0.5, 0);
	memcpy(r + bad, l + bad, (n - bad) * sizeof(float));
	comp_feed(&c, l, r, n, 480);
	for (size_t i = 0; i < n; i++)
		finite &= isfinite(l[i]) && isfinite(r[i]);
	ASSERT_TRUE("finite after FLT_MAX through the filter", finite);
	ASSERT_CLOSE("compresses normally afterwards (dB)", gmr_gr(lin_to_db(0.5), -18, 2, 6),
		     comp_gr(&c), 0.01);
	comp_close(&c);

	comp_open(&c, RATE);
	comp_open(&d, RATE);
	for (unsigned k = 0; k < chain_comp_ops.n_params; k++) {
		c.ops->set_param(&c.p, k, NAN, k % 2);
		c.ops->set_param(&c.p, k, INFINITY, 0);
		c.ops->set_param(&c.p, k, -INFINITY, 1);
	}
	gen_music(l, n, 1, RATE, 1.0, 4);
	gen_music(r, n, 1, RATE, 0.7, 5);
	memcpy(l2, l, n * sizeof(float));
	memcpy(r2, r, n * sizeof(float));
	comp_feed(&c, l, r, n, 480);
	comp_feed(&d, l2, r2, n, 480);
	for (size_t i = 0; i < n; i++)
		same &= l[i] == l2[i] && r[i] == r2[i];
	ASSERT_TRUE("non-finite parameter values are ignored", same);
	comp_close(&c);
	comp_close(&d);
	free(l);
	free(r);
	free(l2);
	free(r2);
}

static double seconds(void)
{
	struct timespec t;

	/* this thread's CPU time: preemption on a busy machine does not count */
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/*
 * After a tone that drove the compressor (sidechain filter in, auto release,
 * link 50 %: every state there is), silence must not leave state decaying
 * through the subnormal range: outputs exact zeros, the reduction exactly
 * 0 once released, and no second of silence slower than the tone.  A
 * double decaying with the shortest release (10 ms) reaches the subnormal
 * range (2.2e-308) from 10 dB after ln(4.5e308) · 480 frames = 7.1 s at
 * 48 kHz, so the silence lasts 10 s, timed per second (best of 7 for each
 * second, in thread CPU time).  Subnormal operands cost 10–100× per
 * operation; a single recursive state left to go subnormal here costs
 * 2–2.5× per frame in all (measured by removing a snap), so the bound is
 * 1.5×.
 */
static void test_denormals(void)
{
	enum { SIL = 10, REPS = 7 };
	struct comp c;
	size_t n = 48000;
	float *l = fbuf(n), *r = fbuf(n);
	int clean = 1;
	double t_tone = 1e9, t_sil[SIL], worst = 0;

	for (unsigned s = 0; s < SIL; s++)
		t_sil[s] = 1e9;
	comp_open(&c, RATE);
	comp_set(&c, "sc_hpf_hz", 60, 1);
	comp_set(&c, "auto_release", 1, 1);
	comp_set(&c, "link_pct", 50, 1);
	comp_set(&c, "release_ms", 10, 1);
	for (int rep = 0; rep < REPS; rep++) {
		double t0, t1, t2;

		gen_sine(l, n, 1, RATE, 1000, 0.9, 0);
		gen_sine(r, n, 1, RATE, 700, 0.5, 0);
		t0 = seconds();
		comp_feed(&c, l, r, n, 256);
		t1 = seconds();
		t_tone = fmin(t_tone, t1 - t0);
		ASSERT_GE("the tone is compressed (dB)", comp_gr(&c), 3);
		for (unsigned s = 0; s < SIL; s++) {
			memset(l, 0, n * sizeof(float));
			memset(r, 0, n * sizeof(float));
			t1 = seconds();
			comp_feed(&c, l, r, n, 256);
			t2 = seconds();
			t_sil[s] = fmin(t_sil[s], t2 - t1);
			for (size_t i = 0; i < n; i++)
				if (l[i] != 0.0f || r[i] != 0.0f)
					clean = 0;
		}
		ASSERT_TRUE("reduction back to exactly 0 dB", comp_gr(&c) == 0.0f);
	}
	for (unsigned s = 0; s < SIL; s++)
		worst = fmax(worst, t_sil[s]);
	ASSERT_TRUE("silence after a tone gives exact zeros", clean);
	printf("per second of audio: tone %.2f ms, slowest second of silence %.2f ms\n",
	       t_tone * 1e3, worst * 1e3);
	ASSERT_LE("silence vs tone cost ratio", worst / t_tone, 1.5);
	comp_close(&c);
	free(l);
	free(r);
}

/* In the chain: off by default (the mix passes), on it compresses. */
static void test_in_chain(void)
{
	struct chain_settings s;
	struct chain *ch;
	size_t n = 24000;
	float *l = fbuf(n), *r = fbuf(n);
	unsigned comp = (unsigned)chain_proc_find("comp");
	int err;

	chain_settings_default(&s);
	s.value[chain_param_find("limiter.ceiling_dbtp")] = 0;
	ch = chain_new(RATE, MAXF, &s, &err);
	if (!ch)
		exit(99);
	gen_sine(l, n, 1, RATE, 1000, 0.5, 0);
	memcpy(r, l, n * sizeof(float));
	for (size_t i = 0; i < n; i += 480) {
		float *b[2] = { l + i, r + i };

		chain_process(ch, b, 480);
	}
	ASSERT_CLOSE("off by default: no reduction", 0, chain_gain_reduction_db(ch, comp), 0);
	chain_set_param(ch, (unsigned)chain_param_find("comp.on"), 1);
	gen_sine(l, n, 1, RATE, 1000, 0.5, 0);
	memcpy(r, l, n * sizeof(float));
	for (size_t i = 0; i < n; i += 480) {
		float *b[2] = { l + i, r + i };

		chain_process(ch, b, 480);
	}
	ASSERT_CLOSE("on: the curve's reduction (dB)", gmr_gr(lin_to_db(0.5), -18, 2, 6),
		     chain_gain_reduction_db(ch, comp), 0.01);
	chain_free(&ch);
	free(l);
	free(r);
}

int main(void)
{
	test_table();
	test_static_curve();
	test_no_ripple();
	test_model();
	test_model_switch();
	test_time_constants();
	test_auto_release();
	test_sc_hpf();
	test_link();
	test_link_glide();
	test_mix_makeup();
	test_gr_report();
	test_reset();
	test_block_sizes();
	test_jumps();
	test_hostile();
	test_recovery();
	test_denormals();
	test_in_chain();
	return test_done();
}

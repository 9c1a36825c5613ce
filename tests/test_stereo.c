/*
 * termaster — unit test: stereo width, bass mono and balance
 * (chain/stereo.c).
 *
 * Thresholds and where they come from:
 *  - defaults: bit-exact passthrough, latency 0 (the requirement);
 *  - width 0: L = R = (L + R)/2, exactly as computed in double and rounded
 *    once; width 200: the side doubles within the two output roundings
 *    (half an ulp of each channel);
 *  - bass mono, LR4 high-pass on the side, |H| = r⁴/(1 + r⁴) with
 *    r = f/fc: an octave below -24.6 dB (required >= 24), two octaves
 *    above -0.034 dB (required within 0.1); the mid's all-pass keeps its
 *    level (0.01 dB) and mid and side stay in phase (LR4: HP4 = AP2 times
 *    a real factor) within 0.5°;
 *  - balance: constant power, gL = √2 cos θ, gR = √2 sin θ, θ = (b + 1)π/4;
 *  - reset, call sizes, parameter jumps, hostile input, denormals as in
 *    tests/test_chain.c.
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "chain/chain.h"
#include "chain/smooth.h"
#include "tests/util.h"

#define RATE 44100.0
#define MAXF 1024u

enum { P_WIDTH, P_BASS, P_BAL };

/* smoothing time constants (ms) documented in chain/stereo.c */
#define TAU_FACTOR_MS 10.0   /* width, balance */
#define TAU_BASS_MS 20.0     /* bass mono crossfade and frequency glide */

static void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size);

	if (!p)
		exit(99);
	return p;
}

static struct chain_proc *open_st(double rate)
{
	const struct chain_proc_ops *ops = &chain_stereo_ops;
	struct chain_proc *p = xcalloc(1, sizeof(*p));

	p->ops = ops;
	p->priv = xcalloc(1, ops->priv_size);
	p->rate = rate;
	p->max_frames = MAXF;
	if (ops->init(p, rate, MAXF) != CHAIN_OK)
		exit(99);
	for (unsigned i = 0; i < ops->n_params; i++)
		ops->set_param(p, i, ops->params[i].def, 1);
	return p;
}

static void close_st(struct chain_proc **p)
{
	(*p)->ops->destroy(*p);
	free((*p)->priv);
	free(*p);
	*p = NULL;
}

static void set(struct chain_proc *p, unsigned id, float v, int snap)
{
	p->ops->set_param(p, id, v, snap);
}

struct event {
	size_t frame;
	unsigned id;
	float value;
};

static void run_ev(struct chain_proc *p, float *l, float *r, size_t n, unsigned block,
		   const struct event *ev, unsigned n_ev)
{
	size_t i = 0;
	unsigned e = 0;

	while (i < n) {
		size_t m = n - i < block ? n - i : block;
		float *b[2] = { l + i, r + i };

		while (e < n_ev && ev[e].frame == i) {
			set(p, ev[e].id, ev[e].value, 0);
			e++;
		}
		if (e < n_ev && ev[e].frame > i && ev[e].frame < i + m)
			m = ev[e].frame - i;
		p->ops->process(p, b, (unsigned)m);
		i += m;
	}
}

static void run(struct chain_proc *p, float *l, float *r, size_t n, unsigned block)
{
	run_ev(p, l, r, n, block, NULL, 0);
}

/* Complex amplitude (re, im) of freq_hz in x over whole periods. */
static void correlate(const float *x, size_t n, double rate, double f, double *re, double *im)
{
	size_t per = (size_t)floor((double)n * f / rate);
	size_t m = per ? (size_t)floor((double)per * rate / f) : n;
	double sr = 0, si = 0;

	for (size_t i = 0; i < m; i++) {
		double w = 2 * M_PI * f * (double)i / rate;

		sr += x[i] * cos(w);
		si += x[i] * sin(w);
	}
	*re = 2 * sr / (double)m;
	*im = 2 * si / (double)m;
}

/* ---- the table ---- */

static void test_table(void)
{
	const struct chain_proc_ops *ops = &chain_stereo_ops;
	struct chain_proc *p = open_st(RATE);

	ASSERT_TRUE("name", strcmp(ops->name, "stereo") == 0);
	ASSERT_TRUE("label", strcmp(ops->label, "Stereo") == 0);
	ASSERT_INT("on by default", CHAIN_BYPASS_ON, ops->bypass);
	ASSERT_INT("three parameters", 3, ops->n_params);
	ASSERT_TRUE("width_pct 0 … 200, 100", strcmp(ops->params[P_WIDTH].id, "width_pct") == 0 &&
		    ops->params[P_WIDTH].min == 0 && ops->params[P_WIDTH].max == 200 &&
		    ops->params[P_WIDTH].def == 100);
	ASSERT_TRUE("bass_mono_hz 0 … 300, 0",
		    strcmp(ops->params[P_BASS].id, "bass_mono_hz") == 0 &&
		    ops->params[P_BASS].min == 0 && ops->params[P_BASS].max == 300 &&
		    ops->params[P_BASS].def == 0);
	ASSERT_TRUE("balance -100 … 100, 0", strcmp(ops->params[P_BAL].id, "balance") == 0 &&
		    ops->params[P_BAL].min == -100 && ops->params[P_BAL].max == 100 &&
		    ops->params[P_BAL].def == 0);
	ASSERT_INT("latency 0", 0, ops->latency(p));
	ASSERT_TRUE("stereo.on", chain_param_find("stereo.on") >= 0);
	ASSERT_TRUE("stereo.bass_mono_hz", chain_param_find("stereo.bass_mono_hz") >= 0);
	close_st(&p);
}

/* ---- defaults: bit-exact ---- */

static void test_defaults(void)
{
	static const unsigned blocks[] = { 1, 7, 32, 333, 1024 };
	size_t n = 20000;
	float *l0 = xcalloc(n, sizeof(float)), *r0 = xcalloc(n, sizeof(float));
	float *l = xcalloc(n, sizeof(float)), *r = xcalloc(n, sizeof(float));

	gen_music(l0, n, 1, RATE, 1.0, 1);
	gen_music(r0, n, 1, RATE, 0.7, 2);
	l0[100] = NAN;
	r0[200] = INFINITY;
	l0[300] = 1e-40f;  /* subnormal */
	r0[400] = -0.0f;
	for (unsigned b = 0; b < 5; b++) {
		struct chain_proc *p = open_st(RATE);

		memcpy(l, l0, n * sizeof(float));
		memcpy(r, r0, n * sizeof(float));
		run(p, l, r, n, blocks[b]);
		ASSERT_TRUE("defaults: bit-exact passthrough",
			    memcmp(l, l0, n * sizeof(float)) == 0 &&
			    memcmp(r, r0, n * sizeof(float)) == 0);
		close_st(&p);
	}
	/* and again after every parameter went away and came back */
	{
		struct chain_proc *p = open_st(RATE);
		size_t settle = 22050;  /* the glides land within 0.5 s */
		float *ls = xcalloc(settle, sizeof(float)), *rs = xcalloc(settle, sizeof(float));

		gen_music(ls, settle, 1, RATE, 1.0, 3);
		gen_music(rs, settle, 1, RATE, 1.0, 4);
		set(p, P_WIDTH, 170, 0);
		set(p, P_BASS, 150, 0);
		set(p, P_BAL, -40, 0);
		run(p, ls, rs, settle, 512);
		set(p, P_WIDTH, 100, 0);
		set(p, P_BASS, 0, 0);
		set(p, P_BAL, 0, 0);
		run(p, ls, rs, settle, 512);
		memcpy(l, l0, n * sizeof(float));
		memcpy(r, r0, n * sizeof(float));
		run(p, l, r, n, 256);
		ASSERT_TRUE("back at the defaults: bit-exact again",
			    memcmp(l, l0, n * sizeof(float)) == 0 &&
			    memcmp(r, r0, n * sizeof(float)) == 0);
		close_st(&p);
		free(ls);
		free(rs);
	}
	free(l0);
	free(r0);
	free(l);
	free(r);
}

/* ---- width ---- */

static void test_width(void)
{
	size_t n = 20000;
	float *l0 = xcalloc(n, sizeof(float)), *r0 = xcalloc(n, sizeof(float));
	float *l = xcalloc(n, sizeof(float)), *r = xcalloc(n, sizeof(float));
	struct chain_proc *p;
	int mono = 1;
	double worst = 0, worst_mid = 0;

	gen_music(l0, n, 1, RATE, 1.0, 5);
	gen_music(r0, n, 1, RATE, 0.6, 6);

	p = open_st(RATE);
	set(p, P_WIDTH, 0, 1);
	memcpy(l, l0, n * sizeof(float));
	memcpy(r, r0, n * sizeof(float));
	run(p, l, r, n, 333);
	for (size_t i = 0; i < n; i++) {
		float m = (float)(((double)l0[i] + (double)r0[i]) * 0.5);

		if (l[i] != m || r[i] != m)
			mono = 0;
	}
	ASSERT_TRUE("width 0: L == R == (L+R)/2 exactly", mono);
	close_st(&p);

	p = open_st(RATE);
	set(p, P_WIDTH, 200, 1);
	memcpy(l, l0, n * sizeof(float));
	memcpy(r, r0, n * sizeof(float));
	run(p, l, r, n, 333);
	for (size_t i = 0; i < n; i++) {
		double side = ((double)l[i] - r[i]) * 0.5, want = (double)l0[i] - r0[i];
		double mid = ((double)l[i] + r[i]) * 0.5, want_mid = ((double)l0[i] + r0[i]) * 0.5;
		/* half an ulp of each output */
		double tol = 0.25 * ((nextafterf(fabsf(l[i]), INFINITY) - fabsf(l[i])) +
				     (nextafterf(fabsf(r[i]), INFINITY) - fabsf(r[i])));

		if (fabs(side - want) > tol)
			worst = fmax(worst, fabs(side - want) / tol);
		if (fabs(mid - want_mid) > tol)
			worst_mid = fmax(worst_mid, fabs(mid - want_mid) / tol);
	}
	ASSERT_TRUE("width 200: side ×2, exact but for the output rounding", worst == 0);
	ASSERT_TRUE("width 200: mid kept, exact but for the output rounding", worst_mid == 0);
	close_st(&p);
	free(l0);
	free(r0);
	free(l);
	free(r);
}

/* ---- bass mono ---- */

/*
 * A sine in the left channel only (mid = side = 0.25 sin) at ratio × the
 * corner fc.  LR4: |HP| = r⁴/(1 + r⁴) at r = f/fc.
 */
static void bass_case(double rate, double fc, double ratio, int verbose)
{
	size_t n = (size_t)(rate * 1.5), skip = (size_t)(rate * 0.5);
	double f = fc * ratio, r4 = pow(ratio, 4), want = r4 / (1 + r4);
	float *l = xcalloc(n, sizeof(float)), *r = xcalloc(n, sizeof(float));
	float *m = xcalloc(n, sizeof(float)), *s = xcalloc(n, sizeof(float));
	struct chain_proc *p = open_st(rate);
	double a_side, a_mid, re_m, im_m, re_s, im_s, dphi;
	char msg[128];

	set(p, P_BASS, (float)fc, 1);
	gen_sine(l, n, 1, rate, f, 0.5, 0);
	run(p, l, r, n, 512);
	for (size_t i = 0; i < n; i++) {
		m[i] = (float)(((double)l[i] + r[i]) * 0.5);
		s[i] = (float)(((double)l[i] - r[i]) * 0.5);
	}
	correlate(m + skip, n - skip, rate, f, &re_m, &im_m);
	correlate(s + skip, n - skip, rate, f, &re_s, &im_s);
	a_mid = hypot(re_m, im_m) / 0.25;
	a_side = hypot(re_s, im_s) / 0.25;
	snprintf(msg, sizeof(msg), "%.0f Hz, corner %.0f Hz at %.0f Hz: side (dB)", f, fc, rate);
	ASSERT_CLOSE(msg, lin_to_db(want), lin_to_db(a_side), 0.01);
	snprintf(msg, sizeof(msg), "%.0f Hz, corner %.0f Hz at %.0f Hz: mid kept (dB)",
		 f, fc, rate);
	ASSERT_CLOSE(msg, 0.0, lin_to_db(a_mid), 0.01);
	if (ratio == 0.5) {
		snprintf(msg, sizeof(msg), "corner %.0f Hz: side an octave below >= 24 dB down",
			 fc);
		ASSERT_LE(msg, lin_to_db(a_side), -24.0);
	}
	if (ratio == 4) {
		snprintf(msg, sizeof(msg), "corner %.0f Hz: side two octaves above within 0.1 dB",
			 fc);
		ASSERT_CLOSE(msg, 0.0, lin_to_db(a_side), 0.1);
	}
	/* mid and side in phase: LR4's HP4 = AP2 · a real factor */
	dphi = atan2(re_m * im_s - im_m * re_s, re_m * re_s + im_m * im_s) * 180 / M_PI;
	snprintf(msg, sizeof(msg), "%.0f Hz, corner %.0f Hz: side in phase with mid (deg)", f, fc);
	ASSERT_CLOSE(msg, 0.0, dphi, 0.5);
	if (verbose)
		printf("bass mono %.0f Hz at %.0f Hz: side %.3f dB (LR4 %.3f), mid %.4f dB, "
		       "side-mid phase %.3f°\n", fc, f, lin_to_db(a_side), lin_to_db(want),
		       lin_to_db(a_mid), dphi);
	close_st(&p);
	free(l);
	free(r);
	free(m);
	free(s);
}

static void test_bass_mono(void)
{
	static const double rates[] = { 44100, 48000, 96000 };
	static const double corners[] = { 40, 120, 300 };
	static const double ratios[] = { 0.5, 1, 4 };

	for (unsigned ri = 0; ri < 3; ri++)
		for (unsigned c = 0; c < 3; c++)
			for (unsigned k = 0; k < 3; k++)
				bass_case(rates[ri], corners[c], ratios[k], ri == 0 && c == 1);
}

/* ---- balance ---- */

static void test_balance(void)
{
	static const float bals[] = { -100, -50, -10, 0, 25, 100 };
	size_t n = 22050;

	for (unsigned k = 0; k < 6; k++) {
		float *l = xcalloc(n, sizeof(float)), *r = xcalloc(n, sizeof(float));
		struct chain_proc *p = open_st(RATE);
		double th = (bals[k] / 100.0 + 1) * M_PI / 4;
		double wl = M_SQRT2 * cos(th), wr = M_SQRT2 * sin(th);
		double gl, gr;
		char msg[96];

		if (bals[k] == 100)
			wl = 0;
		set(p, P_BAL, bals[k], 1);
		gen_sine(l, n, 1, RATE, 1000, 0.5, 0);
		gen_sine(r, n, 1, RATE, 1500, 0.5, 0);
		run(p, l, r, n, 1024);
		gl = measure_sine_amp(l, n, 1, RATE, 1000) / 0.5;
		gr = measure_sine_amp(r, n, 1, RATE, 1500) / 0.5;
		snprintf(msg, sizeof(msg), "balance %g: left gain", bals[k]);
		ASSERT_CLOSE(msg, wl, gl, 1e-6);
		snprintf(msg, sizeof(msg), "balance %g: right gain", bals[k]);
		ASSERT_CLOSE(msg, wr, gr, 1e-6);
		snprintf(msg, sizeof(msg), "balance %g: constant power", bals[k]);
		ASSERT_CLOSE(msg, 2.0, gl * gl + gr * gr, 4e-6);
		if (bals[k] == 100) {
			int silent = 1;

			for (size_t i = 0; i < n; i++)
				if (l[i] != 0.0f)
					silent = 0;
			ASSERT_TRUE("balance +100: left exactly silent", silent);
		}
		if (bals[k] == -100) {
			int silent = 1;

			for (size_t i = 0; i < n; i++)
				if (r[i] != 0.0f)
					silent = 0;
			ASSERT_TRUE("balance -100: right exactly silent", silent);
		}
		printf("balance %+4g: L %+.3f dB, R %+.3f dB\n", bals[k], lin_to_db(gl),
		       lin_to_db(gr));
		close_st(&p);
		free(l);
		free(r);
	}
}

/* ---- reset ---- */

static void test_reset(void)
{
	size_t n = 20000;
	float *l = xcalloc(n, sizeof(float)), *r = xcalloc(n, sizeof(float));
	float *l2 = xcalloc(n, sizeof(float)), *r2 = xcalloc(n, sizeof(float));
	struct chain_proc *p = open_st(RATE), *fresh = open_st(RATE);
	int zeros = 1, same = 1;

	for (unsigned k = 0; k < 2; k++) {
		struct chain_proc *q = k ? fresh : p;

		set(q, P_WIDTH, 150, 1);
		set(q, P_BASS, 200, 1);
		set(q, P_BAL, 30, 1);
	}
	for (size_t i = 0; i < n; i++) {
		l[i] = 1.0f;
		r[i] = -1.0f;
	}
	run(p, l, r, n, 512);
	set(p, P_WIDTH, 20, 0);  /* glides in progress */
	set(p, P_BASS, 60, 0);
	gen_music(l, n, 1, RATE, 1.0, 7);
	run(p, l, r, 1000, 512);
	set(p, P_WIDTH, 150, 0);
	set(p, P_BASS, 200, 0);
	p->ops->reset(p);
	memset(l, 0, n * sizeof(float));
	memset(r, 0, n * sizeof(float));
	run(p, l, r, n, 333);
	for (size_t i = 0; i < n; i++)
		if (l[i] != 0.0f || r[i] != 0.0f)
			zeros = 0;
	ASSERT_TRUE("after reset, silence in gives exact zeros", zeros);
	p->ops->reset(p);
	gen_music(l, n, 1, RATE, 1.0, 9);
	gen_music(r, n, 1, RATE, 1.0, 10);
	memcpy(l2, l, n * sizeof(float));
	memcpy(r2, r, n * sizeof(float));
	run(p, l, r, n, 256);
	run(fresh, l2, r2, n, 256);
	for (size_t i = 0; i < n; i++)
		if (l[i] != l2[i] || r[i] != r2[i])
			same = 0;
	ASSERT_TRUE("after reset, output = a fresh processor's, bit for bit", same);
	close_st(&p);
	close_st(&fresh);
	free(l);
	free(r);
	free(l2);
	free(r2);
}

/* ---- block sizes ---- */

static void test_block_sizes(void)
{
	static const unsigned blocks[] = { 1024, 1, 7, 32, 333 };
	static const struct event ev[] = {
		{ 1000, P_WIDTH, 160 }, { 3001, P_BASS, 120 }, { 7000, P_BAL, -30 },
		{ 9999, P_BASS, 250 }, { 14000, P_WIDTH, 0 }, { 17017, P_BASS, 0 },
		{ 21000, P_BAL, 0 }, { 23000, P_WIDTH, 100 },
	};
	size_t n = 30000;
	float *l0 = xcalloc(n, sizeof(float)), *r0 = xcalloc(n, sizeof(float));
	float *lr = xcalloc(n, sizeof(float)), *rr = xcalloc(n, sizeof(float));
	float *l = xcalloc(n, sizeof(float)), *r = xcalloc(n, sizeof(float));

	gen_music(l0, n, 1, RATE, 1.0, 11);
	gen_music(r0, n, 1, RATE, 0.8, 12);
	for (unsigned b = 0; b < 5; b++) {
		struct chain_proc *p = open_st(RATE);
		double err = 0;
		char msg[96];

		memcpy(l, l0, n * sizeof(float));
		memcpy(r, r0, n * sizeof(float));
		run_ev(p, l, r, n, blocks[b], ev, sizeof(ev) / sizeof(ev[0]));
		if (b == 0) {
			memcpy(lr, l, n * sizeof(float));
			memcpy(rr, r, n * sizeof(float));
		}
		for (size_t i = 0; i < n; i++)
			err = fmax(err, fmax(fabs(l[i] - lr[i]), fabs(r[i] - rr[i])));
		snprintf(msg, sizeof(msg), "calls of %u frames = calls of 1024 (bit-exact)",
			 blocks[b]);
		ASSERT_LE(msg, err, 0.0);
		close_st(&p);
	}
	free(l0);
	free(r0);
	free(lr);
	free(rr);
	free(l);
	free(r);
}

/* ---- parameter jumps ---- */

/*
 * Each parameter jumps min → max and back on a 100 Hz tone with a strong
 * side (L = 0.5 sin, R = −0.3 sin, phase 0.5).  As in test_saturation: a
 * smoothed change between settings a and b moves the output like a
 * crossfade of their outputs, |Δy| <= 1.1·max(S_a, S_b) + δ·D, with S the
 * largest sample step of each steady output, δ = coef/32 the largest
 * per-sample move of the glide (coef = 1 − exp(−32/(τ·fs))), and D the
 * largest rate of change of the output along it:
 *  - width, balance: linear in the glided factor, D = max|y_b − y_a|;
 *  - bass mono on/off: linear in the crossfade, but the filters start
 *    from zero state when it fades in, and their transient is bounded by
 *    the impulse responses' absolute sums (AP2 < 3, HP4 < 3): D = 3 ·
 *    (|mid| + |side|)max;
 *  - bass mono frequency 20 → 300 Hz: the side's gain moves monotonically
 *    between the two corners' (HP4 magnitude is monotonic in fc) and the
 *    phase with it: D = 2·max|y_b − y_a|.
 */
static void test_jumps(void)
{
	static const struct {
		unsigned id;
		float lo, hi;
		double tau_ms;
	} cases[] = {
		{ P_WIDTH, 0, 200, TAU_FACTOR_MS }, { P_BAL, -100, 100, TAU_FACTOR_MS },
		{ P_BASS, 0, 300, TAU_BASS_MS }, { P_BASS, 20, 300, TAU_BASS_MS },
	};
	size_t n = 22050, at = 5000;
	float *buf[3][2];

	for (unsigned v = 0; v < 3; v++)
		for (unsigned c = 0; c < 2; c++)
			buf[v][c] = xcalloc(n, sizeof(float));
	for (unsigned k = 0; k < 4; k++)
		for (unsigned dir = 0; dir < 2; dir++) {
			float from = dir ? cases[k].hi : cases[k].lo;
			float to = dir ? cases[k].lo : cases[k].hi;
			double coef = 1 - exp(-CHAIN_SUBBLOCK / (cases[k].tau_ms * 1e-3 * RATE));
			double delta = coef / CHAIN_SUBBLOCK, bound;
			double sa = 0, sb = 0, d = 0, step = 0;
			char msg[128];

			for (unsigned v = 0; v < 3; v++) {
				struct chain_proc *p = open_st(RATE);
				struct event ev = { at, cases[k].id, to };

				set(p, cases[k].id, v == 1 ? to : from, 1);
				gen_sine(buf[v][0], n, 1, RATE, 100, 0.5, 0);
				gen_sine(buf[v][1], n, 1, RATE, 100, -0.3, 0.5);
				run_ev(p, buf[v][0], buf[v][1], n, 256, &ev, v == 2);
				close_st(&p);
			}
			for (size_t i = at; i < n; i++)
				for (unsigned c = 0; c < 2; c++) {
					sa = fmax(sa, fabs(buf[0][c][i] - buf[0][c][i - 1]));
					sb = fmax(sb, fabs(buf[1][c][i] - buf[1][c][i - 1]));
					step = fmax(step, fabs(buf[2][c][i] - buf[2][c][i - 1]));
					d = fmax(d, fabs(buf[1][c][i] - buf[0][c][i]));
				}
			if (cases[k].id == P_BASS && cases[k].lo == 0)
				d = 3 * (0.4 + 0.4);  /* |mid|, |side| <= 0.4 */
			else if (cases[k].id == P_BASS)
				d *= 2;
			bound = 1.1 * fmax(sa, sb) + delta * d;
			printf("%s %g → %g: largest step %.5f, bound %.5f\n",
			       chain_stereo_ops.params[cases[k].id].id, from, to, step, bound);
			snprintf(msg, sizeof(msg), "%s %g → %g: no step above the bound",
				 chain_stereo_ops.params[cases[k].id].id, from, to);
			ASSERT_LE(msg, step, bound);
		}
	for (unsigned v = 0; v < 3; v++)
		for (unsigned c = 0; c < 2; c++)
			free(buf[v][c]);
}

/* ---- hostile input ---- */

static void test_hostile(void)
{
	size_t n = 8192;
	float *l = xcalloc(n, sizeof(float)), *r = xcalloc(n, sizeof(float));

	for (unsigned setting = 0; setting < 3; setting++)
		for (unsigned sig = 0; sig < 5; sig++) {
			struct chain_proc *p = open_st(RATE);
			int finite = 1;
			double peak = 0;

			set(p, P_WIDTH, setting == 1 ? 0 : 200, 1);
			set(p, P_BASS, setting == 2 ? 1 : 300, 1);
			set(p, P_BAL, setting == 0 ? 100 : -60, 1);
			for (size_t i = 0; i < n; i++) {
				float v;

				switch (sig) {
				case 0: v = 1.0f; break;                         /* DC */
				case 1: v = (i / 22) % 2 ? 1.0f : -1.0f; break;  /* square */
				case 2: v = 0.0f; break;
				case 3: v = i % 3 == 0 ? NAN : i % 3 == 1 ? INFINITY : -INFINITY;
					break;
				default: v = i % 2 ? 1.0f : -1.0f; break;       /* Nyquist */
				}
				l[i] = v;
				r[i] = sig == 0 ? -v : (i / 7) % 2 ? v : -v;
			}
			run(p, l, r, n, 1000);
			for (size_t i = 0; i < n; i++) {
				if (!isfinite(l[i]) || !isfinite(r[i]))
					finite = 0;
				peak = fmax(peak, fmax(fabs(l[i]), fabs(r[i])));
			}
			ASSERT_TRUE("finite output on hostile input", finite);
			/* |mid'| <= 3·1, |side'| <= 2·3·1 (all-pass and
			 * high-pass impulse responses sum to < 3), gain <= √2 */
			ASSERT_LE("output bounded", peak, M_SQRT2 * (3 + 6));
			close_st(&p);
		}
	free(l);
	free(r);
}

/* ---- denormals ---- */

static double cpu_seconds(void)
{
	struct timespec t;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void test_denormals(void)
{
	struct chain_proc *p = open_st(RATE);
	size_t n = 44100;
	float *l = xcalloc(n, sizeof(float)), *r = xcalloc(n, sizeof(float));
	double t_tone = 1e9, t_sil = 1e9;
	int subnormal = 0, zeros = 1;

	set(p, P_BASS, 20, 1);  /* the slowest decay */
	set(p, P_WIDTH, 130, 1);
	for (int rep = 0; rep < 3; rep++) {
		double t0, t1;

		gen_sine(l, n, 1, RATE, 30, 0.9, 0);
		gen_sine(r, n, 1, RATE, 1000, 0.9, 0);
		t0 = cpu_seconds();
		run(p, l, r, n, 256);
		t1 = cpu_seconds();
		t_tone = fmin(t_tone, t1 - t0);
		for (unsigned sec = 0; sec < 3; sec++) {
			memset(l, 0, n * sizeof(float));
			memset(r, 0, n * sizeof(float));
			t0 = cpu_seconds();
			run(p, l, r, n, 256);
			t1 = cpu_seconds();
			if (sec)
				t_sil = fmin(t_sil, t1 - t0);
			for (size_t i = 0; i < n; i++) {
				if (fpclassify(l[i]) == FP_SUBNORMAL ||
				    fpclassify(r[i]) == FP_SUBNORMAL)
					subnormal = 1;
				if (sec == 2 && (l[i] != 0.0f || r[i] != 0.0f))
					zeros = 0;
			}
		}
	}
	printf("per second of audio: tone %.3f ms, silence %.3f ms\n", t_tone * 1e3, t_sil * 1e3);
	ASSERT_TRUE("no subnormal output", !subnormal);
	ASSERT_TRUE("silence after a tone settles to exact zeros", zeros);
	ASSERT_LE("silence vs tone cost ratio", t_sil / t_tone, 3.0);
	close_st(&p);
	free(l);
	free(r);
}

/* ---- bass mono glide against the documented SVFs ----
 *
 * The processor runs its filters as direct-form sections and carries
 * their state through the SVF's when the corner moves.  Reference: the
 * documented TPT SVFs (Simper 2013) themselves, per frame, with the
 * coefficients of each sub-block taken from the same glide (chain/smooth.h,
 * one step per 32 frames, TAU_BASS_MS, snap 1e-3 octave).  Both are double
 * inside and end in float, so they agree to a few float ulps.
 */
struct svf {
	double ic1, ic2;
};

/* one frame; returns the all-pass (ap) or high-pass output */
static double svf_run(struct svf *f, double v0, double g, int ap)
{
	const double k = M_SQRT2;
	double a1 = 1.0 / (1.0 + g * (g + k)), a2 = g * a1, a3 = g * a2;
	double v3 = v0 - f->ic2;
	double v1 = a1 * f->ic1 + a2 * v3;
	double v2 = f->ic2 + a2 * f->ic1 + a3 * v3;

	f->ic1 = 2.0 * v1 - f->ic1;
	f->ic2 = 2.0 * v2 - f->ic2;
	return ap ? v0 - 2.0 * k * v1 : v0 - k * v1 - v2;
}

static void glide_case(double f0, double f1, unsigned block)
{
	size_t n = (size_t)(RATE * 0.5);
	float *l = xcalloc(n, sizeof(float)), *r = xcalloc(n, sizeof(float));
	float *l0 = xcalloc(n, sizeof(float)), *r0 = xcalloc(n, sizeof(float));
	struct chain_proc *p = open_st(RATE);
	struct chain_smooth oct;
	struct svf ap = { 0, 0 }, h1 = { 0, 0 }, h2 = { 0, 0 };
	double g = 0, worst = 0, moved = 0;
	char msg[128];

	gen_music(l0, n, 1, RATE, 0.9, 11);
	gen_music(r0, n, 1, RATE, 0.7, 12);
	memcpy(l, l0, n * sizeof(float));
	memcpy(r, r0, n * sizeof(float));
	set(p, P_BASS, (float)f0, 1);
	set(p, P_BASS, (float)f1, 0);
	run(p, l, r, n, block);

	chain_smooth_init(&oct, RATE, TAU_BASS_MS, 1e-3, log2(f0));
	chain_smooth_set(&oct, log2(f1), 0);
	for (size_t i = 0; i < n; i++) {
		double mid = ((double)l0[i] + r0[i]) * 0.5, side = ((double)l0[i] - r0[i]) * 0.5;
		double wl, wr, tol;

		if (i % 32 == 0) {
			double f;

			chain_smooth_block(&oct);
			f = exp2(oct.end);
			g = tan(M_PI * f / RATE);
			if (i == 32 * 8)
				moved = f;
		}
		mid = svf_run(&ap, mid, g, 1);
		side = svf_run(&h2, svf_run(&h1, side, g, 0), g, 0);
		wl = (float)(mid + side);
		wr = (float)(mid - side);
		/* a few ulps of the outputs (and of 1e-6, near zero) */
		tol = 4 * (nextafterf(fabsf((float)wl), INFINITY) - fabsf((float)wl)) +
		      4 * (nextafterf(fabsf((float)wr), INFINITY) - fabsf((float)wr)) + 1e-9;
		worst = fmax(worst, fabs(l[i] - wl) / tol);
		worst = fmax(worst, fabs(r[i] - wr) / tol);
	}
	snprintf(msg, sizeof(msg), "glide %.0f → %.0f Hz, blocks of %u: output vs SVFs (tolerances)",
		 f0, f1, block);
	ASSERT_LE(msg, worst, 1.0);
	snprintf(msg, sizeof(msg), "glide %.0f → %.0f Hz: the corner moves", f0, f1);
	ASSERT_TRUE(msg, fabs(moved - f0) > 0.1 * f0 && fabs(moved - f1) > 0.01 * f1);
	printf("bass mono glide %.0f -> %.0f Hz (blocks of %u): largest difference to the "
	       "SVFs %.2f of the tolerance\n", f0, f1, block, worst);
	close_st(&p);
	free(l);
	free(r);
	free(l0);
	free(r0);
}

static void test_glide_model(void)
{
	glide_case(60, 240, 1024);
	glide_case(240, 60, 77);
	glide_case(1, 300, 1024);
	glide_case(300, 20, 32);
}

int main(void)
{
	test_table();
	test_defaults();
	test_width();
	test_bass_mono();
	test_glide_model();
	test_balance();
	test_reset();
	test_block_sizes();
	test_jumps();
	test_hostile();
	test_denormals();
	return test_done();
}

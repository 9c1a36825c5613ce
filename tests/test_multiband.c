/*
 * termaster — unit test: the multiband compressor (chain/multiband.c).
 *
 * STYLE.md §7 and the processor's own contract: the summed bands are flat
 * (sine correlation against the input), each band has the Linkwitz-Riley
 * 24 dB/oct response, a band compresses by its static curve while the
 * others stay untouched, gain-reduction meters, band gain, mid/side modes,
 * band count and every other parameter change without a step above a
 * bound derived from the smoothing constants, reset, block-size
 * invariance, the AVX2 paths the same to the bit as the two-lane ones
 * (built without them: tests/test_multiband_sse2), finite output on
 * hostile input, no denormal slowdown.
 *
 * Analytic references: every band carries the same phase (an LR4 low-
 * pass, its high-pass and its all-pass all have phase -2·arg D(jω)), so a
 * sine of amplitude A at f comes out with amplitude A·Σ E_j·|H_j(f)|, E_j
 * the band gains, |H_j| products of |LP| = 1/(1 + u⁴) and |HP| =
 * u⁴/(1 + u⁴), u = tan(π f/fs) / tan(π fc/fs) (bilinear warping).
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "chain/chain.h"
#include "tests/util.h"

#define RATE 48000.0
#define MAXF 1024u
#define SUB CHAIN_SUBBLOCK

static const struct chain_proc_ops *const ops = &chain_mb_ops;

/* ---- helpers ---- */

static float *fbuf(size_t n)
{
	float *b = calloc(n ? n : 1, sizeof(float));

	if (!b)
		exit(99);
	return b;
}

static int find_param(const char *id)
{
	for (unsigned i = 0; i < ops->n_params; i++)
		if (strcmp(ops->params[i].id, id) == 0)
			return (int)i;
	return -1;
}

static unsigned pid(const char *id)
{
	int i = find_param(id);

	if (i < 0) {
		fprintf(stderr, "no parameter mb.%s\n", id);
		exit(99);
	}
	return (unsigned)i;
}

/* Sets a parameter as the chain does: clamped to the table. */
static void set(struct chain_proc *p, const char *id, float v, int snap)
{
	const struct chain_param *d = &ops->params[pid(id)];

	if (v < d->min)
		v = d->min;
	if (v > d->max)
		v = d->max;
	ops->set_param(p, pid(id), v, snap);
}

static void setb(struct chain_proc *p, int band, const char *what, float v, int snap)
{
	char id[32];

	snprintf(id, sizeof(id), "%d.%s", band, what);
	set(p, id, v, snap);
}

/* A processor as the chain makes one: zeroed private state, init, every
 * parameter snapped to its default. */
static struct chain_proc *mb_open(double rate)
{
	struct chain_proc *p = calloc(1, sizeof(*p));

	if (!p)
		exit(99);
	p->ops = ops;
	p->priv = calloc(1, ops->priv_size);
	p->rate = rate;
	p->max_frames = MAXF;
	if (!p->priv || ops->init(p, rate, MAXF) != CHAIN_OK)
		exit(99);
	for (unsigned i = 0; i < ops->n_params; i++)
		ops->set_param(p, i, ops->params[i].def, 1);
	return p;
}

static void mb_close(struct chain_proc **p)
{
	if ((*p)->ops->destroy)
		(*p)->ops->destroy(*p);
	free((*p)->priv);
	free(*p);
	*p = NULL;
}

/* Every band without compression (ratio 1): the processor is then its
 * crossover tree and its band gains. */
static void no_compression(struct chain_proc *p)
{
	for (int b = 1; b <= 4; b++)
		setb(p, b, "ratio", 1, 1);
}

/* Runs planar l/r through p in calls of `block` frames (at most MAXF);
 * when id is set, that parameter jumps to val exactly at frame `at`. */
static void run(struct chain_proc *p, float *l, float *r, size_t frames,
		unsigned block, size_t at, const char *id, float val)
{
	size_t i = 0;

	if (block > MAXF)
		block = MAXF;
	while (i < frames) {
		size_t m = frames - i < block ? frames - i : block;
		float *b[2] = { l + i, r + i };

		if (id && at > i && at < i + m)
			m = at - i;
		if (id && i == at)
			set(p, id, val, 0);
		ops->process(p, b, (unsigned)m);
		i += m;
	}
}

static double max_step(const float *x, size_t from, size_t to)
{
	double s = 0;

	for (size_t i = from + 1; i < to; i++)
		if (fabs((double)x[i] - x[i - 1]) > s)
			s = fabs((double)x[i] - x[i - 1]);
	return s;
}

static double seconds(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* ---- analytic responses ---- */

static double warp(double f, double fc, double rate)
{
	return tan(M_PI * f / rate) / tan(M_PI * fc / rate);
}

static double lp4(double u)
{
	return 1.0 / (1.0 + u * u * u * u);
}

static double hp4(double u)
{
	return 1.0 - lp4(u);
}

/* |H| of band k (0-based) of an nb-band split at xo[] (ordered, valid):
 * the unused crossovers add only all-passes. */
static double band_mag(int k, int nb, const double *xo, double f, double rate)
{
	double h = 1;

	for (int i = 0; i < k; i++)
		h *= hp4(warp(f, xo[i], rate));
	if (k < nb - 1)
		h *= lp4(warp(f, xo[k], rate));
	return h;
}

/* Static curve: gain in dB for a band peak level L dBFS. */
static double curve_db(double level_db, double thr_db, double ratio)
{
	return level_db > thr_db ? (thr_db - level_db) * (1.0 - 1.0 / ratio) : 0.0;
}

/* ---- the table and the chain ---- */

static void test_table(void)
{
	static const char *const what[] = {
		"threshold_db", "ratio", "attack_ms", "release_ms", "gain_db",
		"bypass", "mode",
	};
	const struct chain_param *p;
	float last_attack = 1e9f;

	ASSERT_TRUE("name", strcmp(ops->name, "mb") == 0);
	ASSERT_TRUE("label", strcmp(ops->label, "Multiband") == 0);
	ASSERT_INT("off by default", CHAIN_BYPASS_OFF, ops->bypass);
	ASSERT_INT("parameters: 4 + 4 bands × 7", 32, ops->n_params);
	ASSERT_INT("4 meters", 4, ops->n_meters);
	for (unsigned i = 0; i < 4; i++) {
		char name[16];

		snprintf(name, sizeof(name), "band %u GR", i + 1);
		ASSERT_TRUE("meter name", strcmp(ops->meter_names[i], name) == 0);
	}
	p = &ops->params[pid("bands")];
	ASSERT_TRUE("bands is the choice 2, 3, 4", p->choices && p->min == 2 && p->max == 4 &&
		    strcmp(p->choices[0], "2") == 0 && strcmp(p->choices[2], "4") == 0);
	ASSERT_CLOSE("3 bands by default", 3, p->def, 0);
	ASSERT_CLOSE("xover1 default", 120, ops->params[pid("xover1_hz")].def, 0);
	ASSERT_CLOSE("xover2 default", 2000, ops->params[pid("xover2_hz")].def, 0);
	ASSERT_CLOSE("xover3 default", 8000, ops->params[pid("xover3_hz")].def, 0);
	for (int b = 1; b <= 4; b++) {
		for (unsigned w = 0; w < sizeof(what) / sizeof(what[0]); w++) {
			char id[32];

			snprintf(id, sizeof(id), "%d.%s", b, what[w]);
			ASSERT_TRUE(id, find_param(id) >= 0);
		}
		p = &ops->params[pid("1.threshold_db") + 7 * (unsigned)(b - 1)];
		ASSERT_TRUE("threshold -60 … 0, default -18",
			    p->min == -60 && p->max == 0 && p->def == -18);
		ASSERT_TRUE("ratio 1 … 20, default 2", p[1].min == 1 && p[1].max == 20 && p[1].def == 2);
		ASSERT_TRUE("attack 0.1 … 200", fabsf(p[2].min - 0.1f) < 1e-6f && p[2].max == 200);
		ASSERT_TRUE("faster attacks for higher bands", p[2].def < last_attack);
		last_attack = p[2].def;
		ASSERT_TRUE("release 10 … 2000, default 200",
			    p[3].min == 10 && p[3].max == 2000 && p[3].def == 200);
		ASSERT_TRUE("gain -12 … 12, default 0", p[4].min == -12 && p[4].max == 12 && p[4].def == 0);
		ASSERT_TRUE("bypass off/on", p[5].choices && strcmp(p[5].choices[0], "off") == 0 &&
			    strcmp(p[5].choices[1], "on") == 0 && p[5].def == 0);
		ASSERT_TRUE("mode stereo/mid/side", p[6].choices && p[6].max == 2 &&
			    strcmp(p[6].choices[0], "stereo") == 0 &&
			    strcmp(p[6].choices[1], "mid") == 0 &&
			    strcmp(p[6].choices[2], "side") == 0 && p[6].def == 0);
	}
	{
		struct chain_proc *m = mb_open(RATE);

		ASSERT_INT("latency 0", 0, ops->latency(m));
		mb_close(&m);
	}
	/* in the chain */
	{
		struct chain_settings s;
		char msg[160];
		int on = chain_param_find("mb.on");

		ASSERT_TRUE("mb.on exists", on >= 0);
		ASSERT_TRUE("mb.2.mode exists", chain_param_find("mb.2.mode") >= 0);
		chain_settings_default(&s);
		ASSERT_CLOSE("mb.on default off", 0, s.value[on], 0);
		ASSERT_INT("bands by name", CHAIN_OK, chain_settings_set(&s, "mb.bands", "4", msg, sizeof(msg)));
		ASSERT_CLOSE("bands = 4", 4, s.value[chain_param_find("mb.bands")], 0);
		ASSERT_INT("mode by name", CHAIN_OK,
			   chain_settings_set(&s, "mb.3.mode", "side", msg, sizeof(msg)));
		ASSERT_CLOSE("mode side = 2", 2, s.value[chain_param_find("mb.3.mode")], 0);
		ASSERT_INT("bands 5 out of range", CHAIN_ERROR_RANGE,
			   chain_settings_set(&s, "mb.bands", "5", msg, sizeof(msg)));
	}
}

/*
 * The chain runs the processor when mb.on is set and reads its meters:
 * a loud tone in band 2 shows as band 2's reduction.
 */
static void test_in_chain(void)
{
	struct chain_settings s;
	struct chain *c;
	size_t n = 24000;
	float *l = fbuf(n), *r = fbuf(n);
	int mb = chain_proc_find("mb"), err;

	chain_settings_default(&s);
	s.value[chain_param_find("mb.on")] = 1;
	s.value[chain_param_find("limiter.ceiling_dbtp")] = 0;
	c = chain_new(RATE, MAXF, &s, &err);
	if (!c)
		exit(99);
	gen_sine(l, n, 1, RATE, 500, 0.5, 0);
	memcpy(r, l, n * sizeof(float));
	for (size_t i = 0; i < n; i += 480) {
		float *b[2] = { l + i, r + i };

		chain_process(c, b, 480);
	}
	ASSERT_GE("chain: band 2 meter shows compression", chain_meter(c, (unsigned)mb, 1), 4);
	ASSERT_LE("chain: band 4 meter idle", chain_meter(c, (unsigned)mb, 3), 0);
	ASSERT_CLOSE("chain: GR is the largest band's", chain_meter(c, (unsigned)mb, 1),
		     chain_gain_reduction_db(c, (unsigned)mb), 1e-6);
	chain_free(&c);
	free(l);
	free(r);
}

/* ---- the crossover tree ---- */

/* Integer frequencies over a 1 s window are whole periods: the tones of a
 * multi-sine are orthogonal there and measure_sine_amp isolates each. */
static const double probe_hz[] = {
	10, 15, 20, 30, 45, 60, 90, 120, 150, 200, 300, 450, 600, 900, 1200,
	1500, 2000, 3000, 4500, 6000, 8000, 10000, 12000, 14000, 16000, 18000,
	19000, 20000,
};
#define N_PROBE (sizeof(probe_hz) / sizeof(probe_hz[0]))

/* A multi-sine of all probe frequencies plus `extra` (crossovers), each
 * of amplitude amp, fixed pseudo-random phases; 2 s long: 1 s to settle,
 * 1 s to measure.  Returns the number of tones in *nf, their list in f. */
static float *multisine(double rate, const double *extra, int n_extra, double amp,
			double *f, unsigned *nf)
{
	size_t n = (size_t)(2 * rate);
	float *x = fbuf(n);
	unsigned k = 0;
	uint32_t seed = 1;

	for (unsigned i = 0; i < N_PROBE; i++)
		if (probe_hz[i] < 0.45 * rate)
			f[k++] = probe_hz[i];
	for (int i = 0; i < n_extra; i++) {
		int dup = 0;

		for (unsigned j = 0; j < k; j++)
			dup |= f[j] == extra[i];
		if (!dup)
			f[k++] = extra[i];
	}
	for (unsigned j = 0; j < k; j++) {
		double ph;

		seed = seed * 1664525u + 1013904223u;
		ph = 2 * M_PI * (seed >> 8) / 16777216.0;
		for (size_t i = 0; i < n; i++)
			x[i] += (float)(amp * sin(2 * M_PI * f[j] * (double)i / rate + ph));
	}
	*nf = k;
	return x;
}

/*
 * With every band at unity the sum is an all-pass: its magnitude is 1 at
 * every frequency.  Tolerance ±0.05 dB (the specification); the tree is
 * exact in double precision, so the figure printed is rounding and the
 * float input and output.
 */
static void test_flat(void)
{
	static const struct {
		double rate;
		double xo[3];
	} cfg[] = {
		{ 48000, { 120, 2000, 8000 } },
		{ 44100, { 60, 600, 6000 } },
		{ 48000, { 300, 1200, 16000 } },
		{ 96000, { 20, 250, 19000 } },
		{ 44100, { 1000, 1000, 1000 } },  /* clamped apart */
	};
	double worst = 0;

	for (unsigned c = 0; c < sizeof(cfg) / sizeof(cfg[0]); c++) {
		double rate = cfg[c].rate, f[64];
		unsigned nf;
		size_t n = (size_t)(2 * rate), w = (size_t)rate;
		float *x = multisine(rate, cfg[c].xo, 3, 0.02, f, &nf);

		for (int nb = 2; nb <= 4; nb++) {
			struct chain_proc *p = mb_open(rate);
			float *l = fbuf(n), *r = fbuf(n);
			double dev = 0;

			no_compression(p);
			set(p, "bands", (float)nb, 1);
			set(p, "xover1_hz", (float)cfg[c].xo[0], 1);
			set(p, "xover2_hz", (float)cfg[c].xo[1], 1);
			set(p, "xover3_hz", (float)cfg[c].xo[2], 1);
			memcpy(l, x, n * sizeof(float));
			for (size_t i = 0; i < n; i++)
				r[i] = -0.5f * x[i];  /* mid and side both */
			run(p, l, r, n, 512, 0, NULL, 0);
			for (unsigned j = 0; j < nf; j++) {
				double in = measure_sine_amp(x + w, w, 1, rate, f[j]);
				double ol = measure_sine_amp(l + w, w, 1, rate, f[j]);
				double orr = measure_sine_amp(r + w, w, 1, rate, f[j]);
				double dl = fabs(lin_to_db(ol / in));
				double dr = fabs(lin_to_db(orr / (0.5 * in)));

				if (dl > dev)
					dev = dl;
				if (dr > dev)
					dev = dr;
				if (dl > 0.05 || dr > 0.05)
					fprintf(stderr, "  %g Hz, %d bands, rate %g: %+.4f / %+.4f dB\n",
						f[j], nb, rate, lin_to_db(ol / in),
						lin_to_db(orr / (0.5 * in)));
			}
			ASSERT_LE("sum of the bands flat within 0.05 dB", dev, 0.05);
			if (dev > worst)
				worst = dev;
			free(l);
			free(r);
			mb_close(&p);
		}
		free(x);
	}
	printf("flat sum: largest deviation %.2g dB (10 Hz … 20 kHz, 2-4 bands, 5 settings)\n",
	       worst);
}

/*
 * Each band alone, by difference: with band k's gain at G and ratio 1,
 * out = x_ap + (G - 1)·b_k, so (out_G - out_1)/(G - 1) is band k.  Its
 * magnitude must follow the LR4 products (band_mag) within 0.05 dB down
 * to -60 dB; at each crossover the bands either side read -6.02 dB, and
 * one to two octaves beyond it the slope is the LR4 one (analogue:
 * 20·log10(257/17) = 23.6 dB over that octave, 24 dB/oct asymptotically).
 */
static void test_slopes(void)
{
	const double rate = 48000, xo[3] = { 100, 1000, 8000 }, G = db_to_lin(12);
	double f[64], worst = 0;
	unsigned nf;
	size_t n = (size_t)(2 * rate), w = (size_t)rate;
	double extra[11] = { 100, 1000, 8000, 200, 400, 500, 250, 2000, 4000, 25, 50 };
	float *x = multisine(rate, extra, 11, 0.02, f, &nf);
	float *l0 = fbuf(n), *r0 = fbuf(n);
	struct chain_proc *p = mb_open(rate);

	no_compression(p);
	set(p, "bands", 4, 1);
	set(p, "xover1_hz", (float)xo[0], 1);
	set(p, "xover2_hz", (float)xo[1], 1);
	set(p, "xover3_hz", (float)xo[2], 1);
	memcpy(l0, x, n * sizeof(float));
	memcpy(r0, x, n * sizeof(float));
	run(p, l0, r0, n, 512, 0, NULL, 0);
	mb_close(&p);

	for (int k = 0; k < 4; k++) {
		float *l = fbuf(n), *r = fbuf(n), *d = fbuf(n);
		double h[4];

		p = mb_open(rate);
		no_compression(p);
		set(p, "bands", 4, 1);
		set(p, "xover1_hz", (float)xo[0], 1);
		set(p, "xover2_hz", (float)xo[1], 1);
		set(p, "xover3_hz", (float)xo[2], 1);
		setb(p, k + 1, "gain_db", 12, 1);
		memcpy(l, x, n * sizeof(float));
		memcpy(r, x, n * sizeof(float));
		run(p, l, r, n, 512, 0, NULL, 0);
		for (size_t i = 0; i < n; i++)
			d[i] = (float)(((double)l[i] - l0[i]) / (G - 1));
		for (unsigned j = 0; j < nf; j++) {
			double in = measure_sine_amp(x + w, w, 1, rate, f[j]);
			double got = lin_to_db(measure_sine_amp(d + w, w, 1, rate, f[j]) / in);
			double want = lin_to_db(band_mag(k, 4, xo, f[j], rate));

			if (want < -60)
				continue;
			if (fabs(got - want) > worst)
				worst = fabs(got - want);
			if (fabs(got - want) > 0.05) {
				char msg[80];

				snprintf(msg, sizeof(msg), "band %d at %g Hz (dB)", k + 1, f[j]);
				ASSERT_CLOSE(msg, want, got, 0.05);
			}
		}
		/* at the crossovers: -6.02 dB (times the far edge's factor) */
		for (int i = 0; i < 3; i++) {
			if (k == i || k == i + 1) {
				double got = lin_to_db(measure_sine_amp(d + w, w, 1, rate, xo[i]) /
						       measure_sine_amp(x + w, w, 1, rate, xo[i]));
				double far = band_mag(k, 4, xo, xo[i], rate) / 0.5;

				ASSERT_CLOSE("-6.02 dB at the crossover", -6.0206 + lin_to_db(far), got, 0.05);
				ASSERT_LE("far edge negligible there", fabs(lin_to_db(far)), 0.02);
			}
		}
		/* slopes: band 2's low side (below 1 kHz) and high side */
		if (k == 1) {
			h[0] = measure_sine_amp(d + w, w, 1, rate, 2000);
			h[1] = measure_sine_amp(d + w, w, 1, rate, 4000);
			h[2] = measure_sine_amp(d + w, w, 1, rate, 25);
			h[3] = measure_sine_amp(d + w, w, 1, rate, 50);
			printf("band 2 of 100/1000/8000 Hz: %.2f dB/oct above (2 → 4 kHz), "
			       "%.2f dB/oct below (50 → 25 Hz)\n",
			       lin_to_db(h[1] / h[0]), lin_to_db(h[2] / h[3]));
			ASSERT_CLOSE("24 dB/oct above (LR4 from 1 to 2 octaves out)",
				     lin_to_db(band_mag(1, 4, xo, 4000, rate) /
					       band_mag(1, 4, xo, 2000, rate)),
				     lin_to_db(h[1] / h[0]), 0.05);
			ASSERT_CLOSE("24 dB/oct below",
				     lin_to_db(band_mag(1, 4, xo, 25, rate) /
					       band_mag(1, 4, xo, 50, rate)),
				     lin_to_db(h[2] / h[3]), 0.05);
			ASSERT_TRUE("about 24 dB/oct", lin_to_db(h[1] / h[0]) < -22.5 &&
				    lin_to_db(h[2] / h[3]) < -22.5);
		}
		free(l);
		free(r);
		free(d);
		mb_close(&p);
	}
	printf("band responses: largest deviation from LR4 %.2g dB (to -60 dB)\n", worst);
	free(x);
	free(l0);
	free(r0);
}

/*
 * Band k's response at f by the difference method of test_slopes, for a
 * processor set up by `setup`: in dB against the input.
 */
static double band_response_db(double rate, void (*setup)(struct chain_proc *), int k, double f)
{
	size_t n = (size_t)(0.5 * rate), w = (size_t)(0.25 * rate);
	float *x = fbuf(n), *l0 = fbuf(n), *r0 = fbuf(n), *l = fbuf(n), *r = fbuf(n);
	struct chain_proc *p = mb_open(rate), *q = mb_open(rate);
	double g = db_to_lin(12), out;

	gen_sine(x, n, 1, rate, f, 0.25, 0);
	no_compression(p);
	no_compression(q);
	setup(p);
	setup(q);
	setb(q, k + 1, "gain_db", 12, 1);
	memcpy(l0, x, n * sizeof(float));
	memcpy(r0, x, n * sizeof(float));
	memcpy(l, x, n * sizeof(float));
	memcpy(r, x, n * sizeof(float));
	run(p, l0, r0, n, 512, 0, NULL, 0);
	run(q, l, r, n, 512, 0, NULL, 0);
	for (size_t i = 0; i < n; i++)
		l[i] = (float)(((double)l[i] - l0[i]) / (g - 1));
	out = lin_to_db(measure_sine_amp(l + n - w, w, 1, rate, f) /
			measure_sine_amp(x + n - w, w, 1, rate, f));
	free(x);
	free(l0);
	free(r0);
	free(l);
	free(r);
	mb_close(&p);
	mb_close(&q);
	return out;
}

static void crossed(struct chain_proc *p)
{
	set(p, "bands", 3, 1);
	set(p, "xover1_hz", 5000, 1);
	set(p, "xover2_hz", 2000, 1);
}

static void two_high(struct chain_proc *p)
{
	set(p, "bands", 2, 1);
	set(p, "xover1_hz", 5000, 1);
	set(p, "xover2_hz", 2000, 1);
}

static void top_capped(struct chain_proc *p)
{
	set(p, "bands", 4, 1);
	set(p, "xover3_hz", 20000, 1);
}

/*
 * Crossovers are kept in order, a third of an octave apart, the higher
 * one winning: xover1 set to 5 kHz above xover2 = 2 kHz sits at
 * 2000·2^(-1/3) = 1587 Hz (band 1 reads -6.02 dB there).  Unused
 * crossovers do not constrain the used ones: with 2 bands xover1 stays
 * at 5 kHz.  And none goes above 0.45·fs: 20 kHz at 44.1 kHz is 19845 Hz.
 */
static void test_xover_order(void)
{
	double fc = 2000 * pow(2, -1.0 / 3);

	ASSERT_CLOSE("xover1 above xover2: clamped a third of an octave under it",
		     -6.0206, band_response_db(RATE, crossed, 0, fc), 0.02);
	ASSERT_CLOSE("2 bands: xover2 unused, xover1 stays", -6.0206,
		     band_response_db(RATE, two_high, 0, 5000), 0.02);
	ASSERT_CLOSE("at most 0.45·fs", -6.0206,
		     band_response_db(44100, top_capped, 3, 0.45 * 44100), 0.02);
}

/* ---- the compressors ---- */

/*
 * Tolerance of a steady sine's reduction against the static curve (which
 * takes the band's true peak as its level): the detector holds the
 * largest sample and releases between peaks, so it reads a little under
 * the true peak: by the sampling of the peak and by the release droop
 * over half a period.  Both are simulated here on the band's sine (a
 * unit sine, the detector y1 = max(|x|, αy1), 8 phase offsets, 0.1 s
 * after 0.4 s): the lowest reading, in dB under the peak, times the
 * curve's slope, plus 0.01 dB for the measurement.
 */
static double curve_tol(double f, double rate, double ratio, double release_ms)
{
	double a = exp(-1.0 / (release_ms * 1e-3 * rate)), drop = 0;
	size_t n0 = (size_t)(0.4 * rate), n1 = (size_t)(0.5 * rate);

	for (int ph = 0; ph < 8; ph++) {
		double y = 0, lo = 1;

		for (size_t i = 0; i < n1; i++) {
			y = fmax(fabs(sin(2 * M_PI * f * (double)i / rate + ph * M_PI / 8)), a * y);
			if (i >= n0 && y < lo)
				lo = y;
		}
		drop = fmax(drop, -lin_to_db(lo));
	}
	return (1.0 - 1.0 / ratio) * drop + 0.01;
}

struct tone_result {
	double out_db;      /* measured output level of the tone */
	double want_db;     /* expected by the analytic formula */
	double tol;
	double meter[4];
};

/*
 * One sine through an nb-band processor (crossovers xo) whose band k has
 * threshold, ratio, gain; mono (L = R) unless `side` (L = -R).  Expected:
 * A·Σ_j E_j |H_j(f)| with E_k = the static curve of band k's peak level
 * A·|H_k(f)| plus its gain, and E_j = 1 for the other bands (which must
 * stay under their thresholds: checked).
 */
static struct tone_result tone_through(int nb, const double *xo, int k, double f,
				       double amp_db, double thr, double ratio,
				       double gain_db, int mode, int side)
{
	const double rate = RATE, A = db_to_lin(amp_db);
	size_t n = (size_t)(0.6 * rate), w = (size_t)(0.2 * rate);
	float *l = fbuf(n), *r = fbuf(n);
	struct chain_proc *p = mb_open(rate);
	struct tone_result t;
	double sum = 0;

	set(p, "bands", (float)nb, 1);
	set(p, "xover1_hz", (float)xo[0], 1);
	set(p, "xover2_hz", (float)xo[1], 1);
	set(p, "xover3_hz", (float)xo[2], 1);
	setb(p, k + 1, "threshold_db", (float)thr, 1);
	setb(p, k + 1, "ratio", (float)ratio, 1);
	setb(p, k + 1, "gain_db", (float)gain_db, 1);
	setb(p, k + 1, "mode", (float)mode, 1);
	gen_sine(l, n, 1, rate, f, A, 0.3);
	for (size_t i = 0; i < n; i++)
		r[i] = side ? -l[i] : l[i];
	run(p, l, r, n, 256, 0, NULL, 0);
	for (int j = 0; j < nb; j++) {
		double h = band_mag(j, nb, xo, f, rate);
		double e = 1;

		if (j == k) {
			/* what the band's detector reads (mode vs signal) */
			int seen = side ? mode != 1 : mode != 2;

			if (seen)
				e = db_to_lin(curve_db(lin_to_db(A * h), thr, ratio) + gain_db);
		} else {
			ASSERT_LE("other bands stay under their threshold",
				  lin_to_db(A * h), -18.5);
		}
		sum += e * h;
	}
	t.out_db = lin_to_db(measure_sine_amp(l + n - w, w, 1, rate, f));
	t.want_db = lin_to_db(A * sum);
	t.tol = curve_tol(f, rate, ratio, 200);
	for (unsigned i = 0; i < 4; i++)
		t.meter[i] = ops->meter(p, i);
	/* the other channel */
	{
		double o2 = lin_to_db(measure_sine_amp(r + n - w, w, 1, rate, f));

		ASSERT_CLOSE("both channels alike", t.out_db, o2, 1e-4);
	}
	free(l);
	free(r);
	mb_close(&p);
	return t;
}

/*
 * The static curve of each band: sines at the band's middle, levels
 * under and over the threshold, several ratios, thresholds and gains.
 */
static void test_static_curve(void)
{
	static const double xo[3] = { 120, 1000, 6000 };
	static const double mid_hz[4] = { 50, 350, 2500, 11003 };
	static const struct {
		double over, thr, ratio, gain;
	} cases[] = {
		{ -6, -18, 2, 0 }, { 6, -18, 2, 0 }, { 12, -30, 4, 0 },
		{ 24, -40, 20, 0 }, { 10, -12, 1.5, 3 }, { 15, -20, 3, -6 },
	};
	double worst = 0;

	for (int k = 0; k < 4; k++)
		for (unsigned c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
			double f = mid_hz[k];
			double lvl = cases[c].thr + cases[c].over;
			double h = band_mag(k, 4, xo, f, RATE);
			/* aim the band's level, not the input's */
			struct tone_result t = tone_through(4, xo, k, f, lvl - lin_to_db(h),
							    cases[c].thr, cases[c].ratio,
							    cases[c].gain, 0, 0);
			char msg[96];

			snprintf(msg, sizeof(msg), "band %d, %+g dB over %g dB, ratio %g: level",
				 k + 1, cases[c].over, cases[c].thr, cases[c].ratio);
			ASSERT_CLOSE(msg, t.want_db, t.out_db, t.tol);
			if (getenv("MB_VERBOSE"))
				printf("  %s: %.3f vs %.3f (tol %.3f)\n", msg, t.out_db, t.want_db, t.tol);
			if (fabs(t.want_db - t.out_db) > worst)
				worst = fabs(t.want_db - t.out_db);
		}
	printf("static curve: largest error %.3f dB (4 bands × 6 cases)\n", worst);
}

/*
 * Isolation: a loud 500 Hz tone in band 2 (-6 dBFS, 12 dB over its
 * threshold) and a quiet 8 kHz tone in band 3 (-30 dBFS) at the default 3
 * bands (120 / 2000 Hz).  The loud one follows band 2's curve; the quiet
 * one leaks into band 2 only at -48 dB (two octaves), so it moves by less
 * than 0.02 dB: untouched within 0.05 dB.
 */
static void test_isolation(void)
{
	const double rate = RATE, xo[3] = { 120, 2000, 8000 };
	const double A = 0.5, B = db_to_lin(-30), fa = 500, fb = 8000;
	size_t n = (size_t)(0.6 * rate), w = (size_t)(0.2 * rate);
	float *l = fbuf(n), *r = fbuf(n), *x = fbuf(n);
	struct chain_proc *p = mb_open(rate);
	double ha = band_mag(1, 3, xo, fa, rate), e2, want, got, quiet;

	for (size_t i = 0; i < n; i++)
		x[i] = (float)(A * sin(2 * M_PI * fa * (double)i / rate) +
			       B * sin(2 * M_PI * fb * (double)i / rate + 1));
	memcpy(l, x, n * sizeof(float));
	memcpy(r, x, n * sizeof(float));
	run(p, l, r, n, 333, 0, NULL, 0);
	e2 = db_to_lin(curve_db(lin_to_db(A * ha), -18, 2));
	want = lin_to_db(A * (band_mag(0, 3, xo, fa, rate) + e2 * ha +
			      band_mag(2, 3, xo, fa, rate)));
	got = lin_to_db(measure_sine_amp(l + n - w, w, 1, rate, fa));
	quiet = lin_to_db(measure_sine_amp(l + n - w, w, 1, rate, fb) /
			  measure_sine_amp(x + n - w, w, 1, rate, fb));
	printf("isolation: loud band-2 tone %.3f dB (curve %.3f), quiet band-3 tone moved %+.4f dB\n",
	       got, want, quiet);
	ASSERT_CLOSE("loud tone follows band 2's curve (±0.2 dB)", want, got, 0.2);
	ASSERT_CLOSE("loud tone, derived tolerance", want, got, curve_tol(fa, rate, 2, 200));
	ASSERT_CLOSE("quiet tone in band 3 untouched", 0, quiet, 0.05);
	ASSERT_GE("band 2 reduces", ops->meter(p, 1), 5);
	ASSERT_TRUE("band 1 and 3 idle", ops->meter(p, 0) == 0 && ops->meter(p, 2) == 0);
	free(l);
	free(r);
	free(x);
	mb_close(&p);
}

/*
 * Meters: the largest reduction of each band over the last call, 0 for
 * idle, bypassed and merged bands; gain_reduction_db is their largest.
 * A steady tone's reduction ripples a little (detector droop), so the
 * meter, a maximum, reads the curve within the curve's tolerance.
 */
static void test_meters(void)
{
	static const double xo[3] = { 120, 1000, 6000 };
	struct tone_result t = tone_through(4, xo, 2, 2500, -6 - lin_to_db(band_mag(2, 4, xo, 2500, RATE)),
					    -24, 4, 0, 0, 0);
	double want = -curve_db(-6, -24, 4);
	struct chain_proc *p;
	size_t n = 9600;
	float *l = fbuf(n), *r = fbuf(n);

	ASSERT_CLOSE("band 3 meter = the curve's reduction", want, t.meter[2],
		     curve_tol(2500, RATE, 4, 200) + 0.02);
	ASSERT_TRUE("bands 1, 2, 4 read 0", t.meter[0] == 0 && t.meter[1] == 0 && t.meter[3] == 0);

	/* bypass and merging clear a band's meter; GR is the largest */
	p = mb_open(RATE);
	set(p, "bands", 4, 1);
	for (int b = 1; b <= 4; b++)
		setb(p, b, "threshold_db", -40, 1);
	gen_music(l, n / 2, 2, RATE, 1.0, 3);
	for (size_t i = n / 2; i-- > 0;) {
		r[i] = l[2 * i + 1];
		l[i] = l[2 * i];
	}
	run(p, l, r, n / 2, 480, 0, NULL, 0);
	{
		float m[4], mx = 0;

		for (unsigned i = 0; i < 4; i++) {
			m[i] = ops->meter(p, i);
			if (m[i] > mx)
				mx = m[i];
			ASSERT_GE("music 20+ dB over: every band reduces", m[i], 1);
		}
		ASSERT_CLOSE("gain_reduction_db is the largest meter", mx,
			     ops->gain_reduction_db(p), 0);
		ASSERT_TRUE("meter beyond the last is 0", ops->meter(p, 4) == 0);
	}
	setb(p, 2, "bypass", 1, 1);
	set(p, "bands", 3, 1);
	run(p, l, r, n / 2, 480, 0, NULL, 0);
	ASSERT_TRUE("bypassed band reads 0", ops->meter(p, 1) == 0);
	ASSERT_TRUE("merged band reads 0", ops->meter(p, 3) == 0);
	ASSERT_GE("band 3 still reduces", ops->meter(p, 2), 1);
	free(l);
	free(r);
	mb_close(&p);
}

/* Band gain: +6 and -9 dB on band k, no compression: A·(Σ|H_j| + (G - 1)|H_k|). */
static void test_band_gain(void)
{
	static const double xo[3] = { 120, 1000, 6000 };
	static const double mid_hz[4] = { 50, 350, 2500, 11003 };
	static const double gains[] = { 6, -9, 12, -12 };

	for (int k = 0; k < 4; k++)
		for (unsigned g = 0; g < sizeof(gains) / sizeof(gains[0]); g++) {
			/* -30 dBFS: under every threshold */
			struct tone_result t = tone_through(4, xo, k, mid_hz[k], -30, -18, 2,
							    gains[g], 0, 0);
			char msg[64];

			snprintf(msg, sizeof(msg), "band %d gain %+g dB: level", k + 1, gains[g]);
			ASSERT_CLOSE(msg, t.want_db, t.out_db, 0.01);
		}
}

/*
 * Mid/side: a mono signal has S = 0, so a band in side mode leaves it
 * untouched whatever its settings (bit for bit the unity output); a pure
 * side signal (L = -R) is left alone by mid mode; mid mode compresses a
 * mono tone and side mode a side tone by the curve; stereo mode is
 * linked (the louder channel drives both: their ratio is kept).
 */
static void test_mid_side(void)
{
	static const double xo[3] = { 120, 1000, 6000 };
	const double f = 350, h = band_mag(1, 4, xo, f, RATE);
	size_t n = 24000;
	struct tone_result t;

	for (int side = 0; side < 2; side++) {
		/* the mode that must not touch this signal */
		int mode = side ? 1 : 2;
		struct chain_proc *p = mb_open(RATE), *q = mb_open(RATE);
		float *l = fbuf(n), *r = fbuf(n), *l2 = fbuf(n), *r2 = fbuf(n);
		double d = 0;

		gen_music(l, n / 2, 2, RATE, 1.0, 5);
		for (size_t i = n / 2; i-- > 0;)
			l[i] = l[2 * i];
		for (size_t i = n / 2; i < n; i++)
			l[i] = (float)sin(0.05 * (double)i);
		for (size_t i = 0; i < n; i++)
			r[i] = side ? -l[i] : l[i];
		memcpy(l2, l, n * sizeof(float));
		memcpy(r2, r, n * sizeof(float));
		set(p, "bands", 4, 1);
		set(q, "bands", 4, 1);
		no_compression(q);
		for (int b = 1; b <= 4; b++) {
			setb(p, b, "mode", (float)mode, 1);
			setb(p, b, "threshold_db", -60, 1);
			setb(p, b, "ratio", 20, 1);
			setb(p, b, "gain_db", 12, 1);
			setb(p, b, "attack_ms", 0.1f, 1);
		}
		run(p, l, r, n, 256, 0, NULL, 0);
		run(q, l2, r2, n, 256, 0, NULL, 0);
		for (size_t i = 0; i < n; i++) {
			if (fabs((double)l[i] - l2[i]) > d)
				d = fabs((double)l[i] - l2[i]);
			if (fabs((double)r[i] - r2[i]) > d)
				d = fabs((double)r[i] - r2[i]);
		}
		printf("%s mode on a %s signal: largest difference from unity %.3g\n",
		       side ? "mid" : "side", side ? "side-only" : "mono", d);
		ASSERT_LE(side ? "mid mode leaves a side signal untouched" :
			  "side mode leaves a mono signal untouched", d, 1e-7);
		free(l);
		free(r);
		free(l2);
		free(r2);
		mb_close(&p);
		mb_close(&q);
	}

	t = tone_through(4, xo, 1, f, -6 - lin_to_db(h), -24, 4, 3, 1, 0);
	ASSERT_CLOSE("mid mode compresses a mono tone by the curve", t.want_db, t.out_db, t.tol);
	t = tone_through(4, xo, 1, f, -6 - lin_to_db(h), -24, 4, 3, 2, 1);
	ASSERT_CLOSE("side mode compresses a side tone by the curve", t.want_db, t.out_db, t.tol);
	t = tone_through(4, xo, 1, f, -6 - lin_to_db(h), -24, 4, 3, 2, 0);
	ASSERT_CLOSE("side mode: mono tone passes at unity", t.want_db, t.out_db, 0.01);
	ASSERT_TRUE("and its meter reads 0", t.meter[1] == 0);

	/* linked stereo: L at A, R at A/4, same tone */
	{
		const double A = db_to_lin(-6) / h;
		size_t m = (size_t)(0.6 * RATE), w = (size_t)(0.2 * RATE);
		float *l = fbuf(m), *r = fbuf(m);
		struct chain_proc *p = mb_open(RATE);
		double ol, orr, want;

		set(p, "bands", 4, 1);
		set(p, "xover1_hz", (float)xo[0], 1);
		set(p, "xover2_hz", (float)xo[1], 1);
		set(p, "xover3_hz", (float)xo[2], 1);
		setb(p, 2, "threshold_db", -24, 1);
		setb(p, 2, "ratio", 4, 1);
		gen_sine(l, m, 1, RATE, f, A, 0);
		for (size_t i = 0; i < m; i++)
			r[i] = 0.25f * l[i];
		run(p, l, r, m, 256, 0, NULL, 0);
		ol = measure_sine_amp(l + m - w, w, 1, RATE, f);
		orr = measure_sine_amp(r + m - w, w, 1, RATE, f);
		want = 0;
		for (int j = 0; j < 4; j++)
			want += band_mag(j, 4, xo, f, RATE) *
				(j == 1 ? db_to_lin(curve_db(-6, -24, 4)) : 1.0);
		ASSERT_CLOSE("stereo: linked, L:R kept (dB)", lin_to_db(0.25), lin_to_db(orr / ol), 1e-3);
		ASSERT_CLOSE("stereo: the louder channel follows the curve",
			     lin_to_db(A * want), lin_to_db(ol), curve_tol(f, RATE, 4, 200));
		free(l);
		free(r);
		mb_close(&p);
	}
}

/* ---- steps: band count and every parameter ---- */

/*
 * The step test signal: one tone per band of crossovers 80 / 300 / 1200
 * Hz, low enough that the signal's own sample-to-sample steps are small
 * (at most Σ A·2 sin(π f / fs) = 0.036), and loud enough (-10 … -16 dBFS,
 * with the settings below) that every band compresses, each differently,
 * so merging bands or moving a crossover changes the gains.
 */
#define STEP_XO1 80
#define STEP_XO2 300
#define STEP_XO3 1200
static const double step_hz[4] = { 40, 150, 600, 2400 };
static const double step_amp[4] = { 0.3, 0.3, 0.2, 0.03 };
static const float step_thr[4] = { -30, -20, -40, -45 };
static const float step_ratio[4] = { 4, 2, 8, 3 };
static const float step_gain[4] = { 3, 0, -3, 6 };

static void step_setup(struct chain_proc *p, int bands)
{
	set(p, "bands", (float)bands, 1);
	set(p, "xover1_hz", STEP_XO1, 1);
	set(p, "xover2_hz", STEP_XO2, 1);
	set(p, "xover3_hz", STEP_XO3, 1);
	for (int b = 0; b < 4; b++) {
		setb(p, b + 1, "threshold_db", step_thr[b], 1);
		setb(p, b + 1, "ratio", step_ratio[b], 1);
		setb(p, b + 1, "gain_db", step_gain[b], 1);
	}
}

static float *step_signal(size_t n, int stereo)
{
	float *x = fbuf(2 * n);

	for (size_t i = 0; i < n; i++) {
		double v = 0, u = 0;

		for (int k = 0; k < 4; k++) {
			v += step_amp[k] * sin(2 * M_PI * step_hz[k] * (double)i / RATE + k);
			u += step_amp[k] * sin(2 * M_PI * step_hz[k] * (double)i / RATE + 2 * k);
		}
		x[i] = (float)v;
		x[n + i] = (float)(stereo ? u : v);
	}
	return x;
}

/* Fraction of the remaining distance a smoother covers per sub-block. */
static double kstep(double tau_ms)
{
	return 1.0 - exp(-SUB / (tau_ms * 1e-3 * RATE));
}

struct step_result {
	double before, after, during;  /* largest steps */
	double unsmoothed;             /* |output change| at the jump, if instant */
};

/*
 * Runs the step signal; `id` jumps from `from` to `to` at frame `at`
 * (after 0.5 s).  Returns the largest step in the 50 ms before, in the
 * 0.5 s after the jump, and in a settled window at the end; and, for
 * scale, the largest output difference between the two settled states
 * (what an unsmoothed jump would step by).
 */
static struct step_result step_run(const char *id, float from, float to, int bands)
{
	size_t n = (size_t)(2.0 * RATE), at = (size_t)(0.5 * RATE);
	size_t win = (size_t)(0.5 * RATE);
	float *x = step_signal(n, 1);
	float *l = fbuf(n), *r = fbuf(n), *la = fbuf(n), *ra = fbuf(n);
	struct chain_proc *p = mb_open(RATE), *q = mb_open(RATE);
	struct step_result s;

	step_setup(p, bands);
	step_setup(q, bands);
	set(p, id, from, 1);
	set(q, id, to, 1);
	memcpy(l, x, n * sizeof(float));
	memcpy(r, x + n, n * sizeof(float));
	memcpy(la, x, n * sizeof(float));
	memcpy(ra, x + n, n * sizeof(float));
	run(p, l, r, n, 256, at, id, to);
	run(q, la, ra, n, 256, 0, NULL, 0);
	s.before = fmax(max_step(l, at - win / 10, at), max_step(r, at - win / 10, at));
	s.during = fmax(max_step(l, at - 1, at + win), max_step(r, at - 1, at + win));
	s.after = fmax(max_step(l, n - win, n), max_step(r, n - win, n));
	/* q has the new setting throughout: its settled output is what the
	 * jump leads to, and the old one's (p before the jump) what it leaves */
	s.unsmoothed = 0;
	for (size_t i = at - 2400; i < at; i++) {
		s.unsmoothed = fmax(s.unsmoothed, fabs((double)l[i] - la[i]));
		s.unsmoothed = fmax(s.unsmoothed, fabs((double)r[i] - ra[i]));
	}
	s.after = fmax(s.after, fmax(max_step(la, at - win / 10, at), max_step(ra, at - win / 10, at)));
	free(x);
	free(l);
	free(r);
	free(la);
	free(ra);
	mb_close(&p);
	mb_close(&q);
	return s;
}

/*
 * Band count.  The merge weights glide by one-pole steps of kstep(10 ms)
 * per sub-block, linear inside it, so they move by at most kstep/SUB per
 * frame.  out = Σ F_j·b_j, F_j blends of band gains E (0 < E <= Fmax =
 * +6 dB here), and Σ|b_j| <= Σ A (every tone's band magnitudes sum to 1:
 * all bands have one phase and sum to an all-pass).  So:
 *  - the blend itself moves the output by <= Σ A·Fmax·kstep/SUB per frame;
 *  - a detector that gains or loses a merged band (bands 2 and 3 at most)
 *    sees its input move by <= Σ A·kstep/SUB per frame, its level y1
 *    likewise, its log2 level by that / (y1 ln 2), its gain (relative) by
 *    slope·ln 2 times that, i.e. <= slope·Σ A·kstep/SUB / y1; applied to
 *    band signals no larger than y1 (the peak detector holds the largest
 *    of them), times Fmax.
 * Bound: natural step (the larger settled one, +2 % for the windows
 * seeing the gain ripple at other phases) + Σ A·Fmax·kstep/SUB·(1 + 2·slope).
 */
static double merge_bound(void)
{
	double atot = 0, slope = 0;

	for (int k = 0; k < 4; k++) {
		atot += step_amp[k];
		slope = fmax(slope, 1.0 - 1.0 / step_ratio[k]);
	}
	return atot * db_to_lin(6) * kstep(10) / SUB * (1.0 + 2.0 * slope);
}

static double natural(const struct step_result *s)
{
	return 1.02 * fmax(s->before, s->after);
}

static void test_band_switch(void)
{
	static const int pairs[][2] = { { 4, 2 }, { 2, 4 }, { 3, 4 }, { 4, 3 }, { 2, 3 }, { 3, 2 } };
	double bound_extra = merge_bound();

	for (unsigned k = 0; k < sizeof(pairs) / sizeof(pairs[0]); k++) {
		struct step_result s = step_run("bands", (float)pairs[k][0], (float)pairs[k][1],
						pairs[k][0]);
		double bound = natural(&s) + bound_extra;
		char msg[64];

		printf("bands %d → %d: largest step %.4f (settled %.4f / %.4f, bound %.4f; "
		       "the states differ by up to %.3f)\n", pairs[k][0], pairs[k][1],
		       s.during, s.before, s.after, bound, s.unsmoothed);
		snprintf(msg, sizeof(msg), "bands %d → %d: no step", pairs[k][0], pairs[k][1]);
		ASSERT_LE(msg, s.during, bound);
		ASSERT_GE("an instant switch would step beyond the bound", s.unsmoothed, bound_extra);
	}
}

/*
 * 3 → 4 bands after a long 3-band run, when band 4's high-passes are
 * stopped (chain/multiband.c, mb_x3_block()): they restart on the running
 * signal while s4 holds at 0, for 12 time constants √2/(2π f3) of their
 * poles plus 2 periods of f3, so over that time the output is the 3-band
 * one (to rounding: b3 + b4 in place of their sum); then the switch
 * glides without a step above the bound of test_band_switch(); and
 * 0.15 s later (the s4 glide lands within 10 ms·ln 10⁴ = 92 ms) nothing
 * is left of the restart: the output is that of a processor that ran 4
 * bands all along, to float rounding (the restarted transient has decayed
 * by e^-700; the band-4 detector, restarted once the transient was gone,
 * has found the same peak, and its gain has converged at its 2 ms
 * attack).  A peak level kept from the transient would still read high
 * here: it releases at 8.7 dB per 200 ms.
 */
static void test_band_warmup(void)
{
	size_t n = (size_t)(1.5 * RATE), at = (size_t)(0.5 * RATE) + 7;
	size_t hold = (size_t)(RATE * (12 * M_SQRT2 / (2 * M_PI * STEP_XO3) + 2.0 / STEP_XO3));
	float *x = step_signal(n, 1);
	float *l[3], *r[3];
	struct chain_proc *p[3];
	double held = 0, late = 0, peak = 0, moved = 0, step, bound;

	for (int k = 0; k < 3; k++) {
		p[k] = mb_open(RATE);
		step_setup(p[k], k == 2 ? 4 : 3);  /* switched, 3, 4 bands */
		l[k] = fbuf(n);
		r[k] = fbuf(n);
		memcpy(l[k], x, n * sizeof(float));
		memcpy(r[k], x + n, n * sizeof(float));
		run(p[k], l[k], r[k], n, k ? 256 : 100, at, k ? NULL : "bands", 4);
	}
	for (size_t i = at; i < at + hold; i++)
		held = fmax(held, fmax(fabs((double)l[0][i] - l[1][i]),
				       fabs((double)r[0][i] - r[1][i])));
	for (size_t i = at + (size_t)(0.15 * RATE); i < n; i++) {
		late = fmax(late, fmax(fabs((double)l[0][i] - l[2][i]),
				       fabs((double)r[0][i] - r[2][i])));
		peak = fmax(peak, fmax(fabs((double)l[2][i]), fabs((double)r[2][i])));
		moved = fmax(moved, fabs((double)l[1][i] - l[2][i]));
	}
	step = fmax(max_step(l[0], at - 1, n), max_step(r[0], at - 1, n));
	bound = 1.02 * fmax(fmax(max_step(l[1], at - 1, n), max_step(r[1], at - 1, n)),
			    fmax(max_step(l[2], at - 1, n), max_step(r[2], at - 1, n))) +
		merge_bound();
	printf("bands 3 → 4 from rest: %zu frames held at the 3-band output (within %.2g), "
	       "largest step %.4f (bound %.4f), from 0.15 s on %.2g from 4 bands throughout\n",
	       hold, held, step, bound, late);
	ASSERT_LE("warm-up: the 3-band output while band 4's filters restart", held, 1e-6);
	ASSERT_LE("3 → 4 from rest: no step", step, bound);
	ASSERT_LE("from 0.15 s on: as if 4 bands all along", late, 1e-5 * peak);
	ASSERT_GE("(4 bands differ from 3 here: the switch is seen)", moved, 100 * 1e-5 * peak);
	for (int k = 0; k < 3; k++) {
		free(l[k]);
		free(r[k]);
		mb_close(&p[k]);
	}
	free(x);
}

/*
 * Every parameter jumping min → max and max → min.  The bound is the
 * natural step (larger settled one) plus Σ A times the largest per-frame
 * relative change of a band gain the parameter's smoother allows:
 *   gain_db             kstep(10)/SUB · (4 - 0.25)           (linear factor)
 *   bypass, mode        kstep(10)/SUB · Fmax                 (amount weights)
 *   threshold_db        kstep(20)/SUB · 60 dB · 0.95 · ln10/20 · Fmax
 *   ratio               kstep(20)/SUB · 0.95 · over · ln10/20 · Fmax, over
 *                       the largest level over threshold (60 dB)
 *   attack, release     the gain keeps moving at the attack rate towards
 *                       the same target: no term of their own; the faster
 *                       settled ripple is in the natural step
 *   xover               the crossover glides kstep(20)/SUB · 10 octaves
 *                       (ln: ·6.9) per frame at most; a tone's band
 *                       magnitudes move by <= 1 per e-fold (|d LP/d ln u|
 *                       <= 1), its phase by <= 2.83 rad per e-fold (an
 *                       LR4 all-pass at u = 1), its band's level by <= 4
 *                       e-folds per e-fold and its gain by `slope` of that;
 *                       all times Fmax
 *   bands               merge_bound()
 */
static void test_param_jumps(void)
{
	double atot = 0, fm = db_to_lin(6);
	double k10 = kstep(10) / SUB, k20 = kstep(20) / SUB;
	double ln_glide = k20 * log(1000.0);
	int worst_i = -1;
	double worst_ratio = 0;

	for (int k = 0; k < 4; k++)
		atot += step_amp[k];
	for (unsigned i = 0; i < ops->n_params; i++) {
		const struct chain_param *d = &ops->params[i];
		const char *w = strchr(d->id, '.') ? strchr(d->id, '.') + 1 : d->id;
		double delta;

		if (strcmp(w, "gain_db") == 0)
			delta = k10 * (db_to_lin(12) - db_to_lin(-12));
		else if (strcmp(w, "bypass") == 0 || strcmp(w, "mode") == 0)
			delta = k10 * fm;
		else if (strcmp(w, "threshold_db") == 0)
			delta = k20 * 60 * 0.95 * M_LN10 / 20 * fm;
		else if (strcmp(w, "ratio") == 0)
			delta = k20 * 0.95 * 60 * M_LN10 / 20 * fm;
		else if (strcmp(w, "attack_ms") == 0 || strcmp(w, "release_ms") == 0)
			delta = 0;
		else if (strncmp(w, "xover", 5) == 0)
			delta = ln_glide * (1 + 2.83 + 4 * 0.95) * fm;
		else if (strcmp(w, "bands") == 0)
			delta = merge_bound() / atot;
		else {
			ASSERT_TRUE("a bound for every parameter", 0);
			continue;
		}
		for (int dir = 0; dir < 2; dir++) {
			float from = dir ? d->max : d->min, to = dir ? d->min : d->max;
			struct step_result s = step_run(d->id, from, to, 4);
			double bound = natural(&s) + atot * delta;
			char msg[80];

			snprintf(msg, sizeof(msg), "%s %g → %g: no step", d->id, from, to);
			ASSERT_LE(msg, s.during, bound);
			if (getenv("MB_VERBOSE"))
				printf("  %-16s %7g → %-7g step %.4f natural %.4f / %.4f bound %.4f instant %.4f\n",
				       d->id, from, to, s.during, s.before, s.after, bound, s.unsmoothed);
			if (s.during / bound > worst_ratio) {
				worst_ratio = s.during / bound;
				worst_i = (int)i;
			}
		}
	}
	printf("parameter jumps: the largest step is %.0f %% of its bound (%s)\n",
	       100 * worst_ratio, worst_i >= 0 ? ops->params[worst_i].id : "-");
}

/* ---- signal-state properties ---- */

static void test_reset(void)
{
	size_t n = 9600;
	float *l = fbuf(n), *r = fbuf(n), *l2 = fbuf(n), *r2 = fbuf(n);
	struct chain_proc *p = mb_open(RATE), *q;
	int zero = 1, same = 1;

	set(p, "bands", 4, 1);
	for (size_t i = 0; i < n; i++)
		l[i] = r[i] = 1.0f;
	run(p, l, r, n, 1024, 0, NULL, 0);
	ASSERT_GE("ones are compressed", ops->gain_reduction_db(p), 3);
	/* targets changed, not yet reached: reset lands on them */
	setb(p, 1, "threshold_db", -40, 0);
	set(p, "xover2_hz", 500, 0);
	set(p, "bands", 2, 0);
	ops->reset(p);
	ASSERT_TRUE("reset clears the meters", ops->gain_reduction_db(p) == 0 && ops->meter(p, 0) == 0);
	memset(l, 0, n * sizeof(float));
	memset(r, 0, n * sizeof(float));
	run(p, l, r, n, 1024, 0, NULL, 0);
	for (size_t i = 0; i < n; i++)
		zero &= l[i] == 0.0f && r[i] == 0.0f;
	ASSERT_TRUE("zeros after reset are exact zeros", zero);

	/* after a reset the processor is a fresh one with those settings */
	q = mb_open(RATE);
	set(q, "bands", 2, 1);
	setb(q, 1, "threshold_db", -40, 1);
	set(q, "xover2_hz", 500, 1);
	gen_music(l, n / 2, 2, RATE, 1.0, 11);
	for (size_t i = n / 2; i-- > 0;) {
		r[i] = l[2 * i + 1];
		l[i] = l[2 * i];
	}
	memcpy(l2, l, n / 2 * sizeof(float));
	memcpy(r2, r, n / 2 * sizeof(float));
	ops->reset(p);
	run(p, l, r, n / 2, 100, 0, NULL, 0);
	run(q, l2, r2, n / 2, 100, 0, NULL, 0);
	for (size_t i = 0; i < n / 2; i++)
		same &= l[i] == l2[i] && r[i] == r2[i];
	ASSERT_TRUE("reset = fresh instance with the same settings (bit for bit)", same);
	free(l);
	free(r);
	free(l2);
	free(r2);
	mb_close(&p);
	mb_close(&q);
}

static void test_block_invariance(void)
{
	static const unsigned sizes[] = { 1, 7, 32, 333, 1024 };
	const double rate = 44100;
	size_t n = 88200;
	float *il = fbuf(2 * n), *refl = NULL, *refr = NULL;

	gen_music(il, n, 2, rate, 1.0, 9);
	for (unsigned k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		struct chain_proc *p = mb_open(rate);
		float *l = fbuf(n), *r = fbuf(n);
		double maxd = 0;
		size_t i = 0;

		set(p, "bands", 4, 1);
		for (size_t j = 0; j < n; j++) {
			l[j] = il[2 * j];
			r[j] = il[2 * j + 1];
		}
		/* parameter changes on the way, each at a fixed frame */
		while (i < n) {
			size_t m = n - i < sizes[k] ? n - i : sizes[k];
			float *b[2] = { l + i, r + i };
			static const size_t at[] = { 10001, 20000, 33333, 50000, 60017, 70000 };

			for (unsigned a = 0; a < sizeof(at) / sizeof(at[0]); a++) {
				if (at[a] > i && at[a] < i + m)
					m = at[a] - i;
				if (i == at[a]) {
					switch (a) {
					case 0: setb(p, 2, "threshold_db", -40, 0); break;
					case 1: set(p, "xover2_hz", 700, 0); break;
					case 2: set(p, "bands", 2, 0); break;
					case 3: setb(p, 1, "mode", 1, 0); break;
					case 4: set(p, "bands", 4, 0); break;
					default: setb(p, 4, "gain_db", 9, 0); break;
					}
				}
			}
			ops->process(p, b, (unsigned)m);
			i += m;
		}
		if (!refl) {
			refl = l;
			refr = r;
		} else {
			char msg[64];

			for (size_t j = 0; j < n; j++) {
				maxd = fmax(maxd, fabs((double)l[j] - refl[j]));
				maxd = fmax(maxd, fabs((double)r[j] - refr[j]));
			}
			snprintf(msg, sizeof(msg), "calls of %u frames vs 1", sizes[k]);
			ASSERT_LE(msg, maxd, 1e-6);
			printf("calls of %4u frames vs 1: max difference %.3g%s\n", sizes[k], maxd,
			       maxd == 0 ? " (bit-exact)" : "");
			free(l);
			free(r);
		}
		mb_close(&p);
	}
	free(refl);
	free(refr);
	free(il);
}

/*
 * Where the processor has AVX2, calls of 2 frames or more run the gain
 * passes two frames a vector and, for 3 bands at rest, the tree's
 * sections two side by side (mb_tree3_avx()); calls of 1 frame take the
 * two-lane paths only (tests/test_multiband_sse2 builds the multiband
 * without AVX: there all calls do).  The outputs must be the same to the
 * bit for calls of 1, 2, 7, 32, 333 and 1024 frames, over music, then 3 s
 * of silence (the tail must end in exact zeros: the states flush), then
 * music with NaN and infinity in it.  Settings: the defaults (3 bands,
 * the bench's case), the same with a threshold and a crossover gliding on
 * the way (the moving paths between the steady ones), 4 bands, 2 bands.
 */
static void test_avx_paths(void)
{
	static const unsigned sizes[] = { 1, 2, 7, 32, 333, 1024 };
	static const char *const what[] = { "3 bands", "3 bands gliding", "4 bands", "2 bands" };
	const double rate = 44100;
	const size_t n1 = 44100, n2 = 3 * 44100, n = n1 + n2 + 22050;
	float *in = fbuf(2 * n);

	gen_music_gap_nan(in, n1, n2, n, rate, 1.0);
	for (int set_k = 0; set_k < 4; set_k++) {
		float *refl = NULL, *refr = NULL;

		for (unsigned k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
			struct chain_proc *p = mb_open(rate);
			float *l = fbuf(n), *r = fbuf(n);
			size_t zeros = 0;
			char msg[96];

			if (set_k == 2)
				set(p, "bands", 4, 1);
			if (set_k == 3)
				set(p, "bands", 2, 1);
			for (size_t t = 0; t < n; t++) {
				l[t] = in[2 * t];
				r[t] = in[2 * t + 1];
			}
			if (set_k == 1) {
				run(p, l, r, 20000, sizes[k], 10001, "1.threshold_db", -35);
				run(p, l + 20000, r + 20000, n - 20000, sizes[k], 30017 - 20000,
				    "xover2_hz", 900);
			} else {
				run(p, l, r, n, sizes[k], 0, NULL, 0);
			}
			for (size_t t = n1 + n2 - 1; t > n1 && l[t] == 0.0f && r[t] == 0.0f; t--)
				zeros++;
			snprintf(msg, sizeof(msg), "%s, calls of %u: silence ends in exact zeros",
				 what[set_k], sizes[k]);
			ASSERT_GE(msg, (double)zeros, 44100.0);
			snprintf(msg, sizeof(msg), "%s, calls of %u: finite after the NaN",
				 what[set_k], sizes[k]);
			ASSERT_TRUE(msg, isfinite(l[n - 1]) && isfinite(r[n - 1]) &&
					 isfinite(l[n1 + n2 + 3000]));
			if (!refl) {
				refl = l;
				refr = r;
			} else {
				snprintf(msg, sizeof(msg), "%s: calls of %u frames = calls of 1, bit for bit",
					 what[set_k], sizes[k]);
				ASSERT_TRUE(msg, same_bits(l, refl, n) && same_bits(r, refr, n));
				free(l);
				free(r);
			}
			mb_close(&p);
		}
		free(refl);
		free(refr);
	}
	free(in);
}

static void extreme(struct chain_proc *p, int hi)
{
	set(p, "bands", hi ? 4 : 2, 1);
	set(p, "xover1_hz", hi ? 20000 : 20, 1);
	set(p, "xover2_hz", hi ? 20 : 20000, 1);
	set(p, "xover3_hz", hi ? 20000 : 20, 1);
	for (int b = 1; b <= 4; b++) {
		setb(p, b, "threshold_db", hi ? -60 : 0, 1);
		setb(p, b, "ratio", hi ? 20 : 1, 1);
		setb(p, b, "attack_ms", hi ? 0.1f : 200, 1);
		setb(p, b, "release_ms", hi ? 10 : 2000, 1);
		setb(p, b, "gain_db", hi ? 12 : -12, 1);
		setb(p, b, "mode", (float)(b % 3), 1);
	}
}

/*
 * Hostile input: DC, full-scale squares (100 Hz and 2 kHz), silence,
 * Nyquist, negative DC, NaN and infinities, at both extremes of every
 * setting.  Output finite, and bounded: the band gains are at most +12 dB
 * (4) and the band signals of a full-scale input stay under 2 (LR4
 * sections of Q = 0.707 overshoot little), so |y| < 4·2·2 (L = M + S).
 */
static void test_hostile(void)
{
	size_t n = 8 * 4800;
	float *src = fbuf(n);

	for (size_t i = 0; i < n; i++) {
		size_t seg = i / 4800;

		src[i] = seg == 0 ? 1.0f :
			 seg == 1 ? ((i / 240) % 2 ? 1.0f : -1.0f) :
			 seg == 2 ? ((i / 12) % 2 ? 1.0f : -1.0f) :
			 seg == 3 ? 0.0f :
			 seg == 4 ? ((i % 2) ? 1.0f : -1.0f) :
			 seg == 5 ? -1.0f :
			 seg == 6 ? (i % 97 == 0 ? NAN : i % 89 == 0 ? INFINITY : 0.5f) :
			 (float)sin(0.1 * (double)i);
	}
	for (int hi = 0; hi < 2; hi++)
		for (int stereo = 0; stereo < 2; stereo++) {
			struct chain_proc *p = mb_open(RATE);
			float *l = fbuf(n), *r = fbuf(n);
			int finite = 1;
			double peak = 0;

			extreme(p, hi);
			memcpy(l, src, n * sizeof(float));
			for (size_t i = 0; i < n; i++)
				r[i] = stereo ? -src[i] : src[i];
			run(p, l, r, n, 480, 0, NULL, 0);
			for (size_t i = 0; i < n; i++) {
				finite &= isfinite(l[i]) && isfinite(r[i]);
				peak = fmax(peak, fmax(fabs(l[i]), fabs(r[i])));
			}
			ASSERT_TRUE("finite output on hostile input", finite);
			ASSERT_LE("bounded output", peak, 16);
			/* and it recovers: the last segment is a clean sine */
			ASSERT_GE("still passes signal after NaN and inf (> -60 dB)",
				  measure_sine_amp(l + n - 2400, 2400, 1, RATE, 0.1 * RATE / (2 * M_PI)), 1e-3);
			free(l);
			free(r);
			mb_close(&p);
		}
	free(src);
}

/*
 * Denormals: after a tone that drove every band, silence must leave no
 * state decaying through the subnormal range: outputs become exact zeros
 * (states flush under 1e-18), and the best of 5 runs of silence costs no
 * more than 3× the best of 5 runs of tone (denormal stalls cost 10-100×).
 */
static void test_denormals(void)
{
	struct chain_proc *p = mb_open(RATE);
	size_t n = 48000;
	float *l = fbuf(n), *r = fbuf(n);
	double t_tone = 1e9, t_sil = 1e9;
	int clean = 1;

	set(p, "bands", 4, 1);
	for (int rep = 0; rep < 5; rep++) {
		double t0, t1;

		for (size_t i = 0; i < n; i++)
			l[i] = r[i] = (float)(0.5 * sin(2 * M_PI * 60 * (double)i / RATE) +
					      0.3 * sin(2 * M_PI * 1000 * (double)i / RATE) +
					      0.2 * sin(2 * M_PI * 9000 * (double)i / RATE));
		t0 = seconds();
		run(p, l, r, n, 256, 0, NULL, 0);
		t_tone = fmin(t_tone, seconds() - t0);
		ASSERT_GE("the tone is compressed", ops->gain_reduction_db(p), 3);
		for (int s = 0; s < 4; s++) {
			memset(l, 0, n * sizeof(float));
			memset(r, 0, n * sizeof(float));
			t0 = seconds();
			run(p, l, r, n, 256, 0, NULL, 0);
			t1 = seconds();
			if (s > 0)
				t_sil = fmin(t_sil, t1 - t0);
			for (size_t i = 0; i < n; i++) {
				if (fpclassify(l[i]) == FP_SUBNORMAL || fpclassify(r[i]) == FP_SUBNORMAL)
					clean = 0;
				if (s > 0 && (l[i] != 0.0f || r[i] != 0.0f))
					clean = 0;
			}
		}
		ASSERT_TRUE("meters back to exactly 0 dB", ops->gain_reduction_db(p) == 0.0f);
	}
	ASSERT_TRUE("silence after a tone: exact zeros after 1 s, never subnormal", clean);
	printf("per second of audio: tone %.2f ms, silence %.2f ms\n", t_tone * 1e3, t_sil * 1e3);
	ASSERT_LE("silence vs tone cost ratio", t_sil / t_tone, 3.0);
	free(l);
	free(r);
	mb_close(&p);
}

int main(void)
{
	test_table();
	test_in_chain();
	test_flat();
	test_slopes();
	test_xover_order();
	test_static_curve();
	test_isolation();
	test_meters();
	test_band_gain();
	test_mid_side();
	test_band_switch();
	test_band_warmup();
	test_param_jumps();
	test_reset();
	test_block_invariance();
	test_avx_paths();
	test_hostile();
	test_denormals();
	return test_done();
}

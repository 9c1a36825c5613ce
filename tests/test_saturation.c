/*
 * termaster — unit test: saturation (chain/saturation.c).
 *
 * The processor is driven through its ops table, as the chain drives it.
 * Each check states where its threshold comes from:
 *  - aliasing: a 5 kHz sine at 44.1 kHz driven 6 dB into either curve;
 *    every component that is not a harmonic must be >= 60 dB under the
 *    fundamental (the requirement).  All harmonics of 5 kHz fold onto
 *    multiples of 100 Hz (gcd(5000, 44100) = 100), so a 1 s window holds a
 *    whole number of periods of each: a plain DFT at each multiple of
 *    100 Hz reads every alias exactly, with no leakage from the
 *    fundamental.  Every such bin is checked, not only the first folds;
 *  - small-signal gain: slope 1 at 0, so a -60 dBFS sine comes out at
 *    output_db, within the curve's compression of the fundamental (u²/4
 *    for tanh at peak u = drive × amplitude) plus the passband ripple of
 *    the four half-band filters (each <= 3e-5 by design);
 *  - harmonics against the formulas' own Fourier series (computed here in
 *    double): soft clip odd only; tape odd and even;
 *  - latency: an impulse comes out at latency() and symmetric about it
 *    (linear phase); mix 50 % is flat, which only holds if dry and wet are
 *    aligned to the sample; mix 0 % is the input delayed, exactly;
 *  - reset, call sizes, parameter jumps, hostile input, denormals.
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "chain/chain.h"
#include "tests/util.h"

#define RATE 44100.0
#define MAXF 1024u

enum { P_DRIVE, P_CHAR, P_MIX, P_OUT };

/* tape curve's bias, as documented in chain/saturation.c */
#define BIAS 0.2

/* smoothing time constants (ms) documented in chain/saturation.c */
static const double tau_ms[4] = { 20.0, 20.0, 10.0, 10.0 };

struct proc {
	struct chain_proc p;
};

static void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size);

	if (!p)
		exit(99);
	return p;
}

static struct proc *open_sat(double rate)
{
	const struct chain_proc_ops *ops = &chain_sat_ops;
	struct proc *s = xcalloc(1, sizeof(*s));

	s->p.ops = ops;
	s->p.priv = xcalloc(1, ops->priv_size);
	s->p.rate = rate;
	s->p.max_frames = MAXF;
	if (ops->init(&s->p, rate, MAXF) != CHAIN_OK) {
		fprintf(stderr, "init failed\n");
		exit(99);
	}
	for (unsigned i = 0; i < ops->n_params; i++)
		ops->set_param(&s->p, i, ops->params[i].def, 1);
	return s;
}

static void close_sat(struct proc **s)
{
	(*s)->p.ops->destroy(&(*s)->p);
	free((*s)->p.priv);
	free(*s);
	*s = NULL;
}

static void set(struct proc *s, unsigned id, float v, int snap)
{
	s->p.ops->set_param(&s->p, id, v, snap);
}

static unsigned latency(const struct proc *s)
{
	return s->p.ops->latency(&s->p);
}

/* A parameter change at an exact frame. */
struct event {
	size_t frame;
	unsigned id;
	float value;
};

/* Runs planar l/r in calls of at most `block` frames, splitting calls at
 * events so that each lands at its frame whatever the block size. */
static void run_ev(struct proc *s, float *l, float *r, size_t n, unsigned block,
		   const struct event *ev, unsigned n_ev)
{
	size_t i = 0;
	unsigned e = 0;

	while (i < n) {
		size_t m = n - i < block ? n - i : block;
		float *b[2] = { l + i, r + i };

		while (e < n_ev && ev[e].frame == i) {
			set(s, ev[e].id, ev[e].value, 0);
			e++;
		}
		if (e < n_ev && ev[e].frame > i && ev[e].frame < i + m)
			m = ev[e].frame - i;
		s->p.ops->process(&s->p, b, (unsigned)m);
		i += m;
	}
}

static void run(struct proc *s, float *l, float *r, size_t n, unsigned block)
{
	run_ev(s, l, r, n, block, NULL, 0);
}

/* Amplitude of freq_hz in x[0 … n) by a DFT (phasor recurrence in double). */
static double dft_amp(const float *x, size_t n, double rate, double freq_hz)
{
	double wr = cos(2 * M_PI * freq_hz / rate), wi = -sin(2 * M_PI * freq_hz / rate);
	double pr = 1, pi = 0, sr = 0, si = 0;

	for (size_t i = 0; i < n; i++) {
		double t;

		sr += x[i] * pr;
		si += x[i] * pi;
		t = pr * wr - pi * wi;
		pi = pr * wi + pi * wr;
		pr = t;
	}
	return 2.0 * sqrt(sr * sr + si * si) / (double)n;
}

/* The curves, in double, as documented. */
static double curve(int tape, double g, double u)
{
	if (!tape)
		return tanh(g * u) / g;
	return (tanh(g * u + BIAS) - tanh(BIAS)) / ((1 - tanh(BIAS) * tanh(BIAS)) * g);
}

/* Amplitude of harmonic k of curve(A sin θ) (Fourier series, 8192 points). */
static double curve_harmonic(int tape, double g, double amp, int k)
{
	const int n = 8192;
	double sr = 0, si = 0;

	for (int i = 0; i < n; i++) {
		double th = 2 * M_PI * i / n, y = curve(tape, g, amp * sin(th));

		sr += y * cos(k * th);
		si += y * sin(k * th);
	}
	return 2.0 * sqrt(sr * sr + si * si) / n;
}

/* ---- the table ---- */

static void test_table(void)
{
	const struct chain_proc_ops *ops = &chain_sat_ops;
	int idx;

	ASSERT_TRUE("name", strcmp(ops->name, "sat") == 0);
	ASSERT_TRUE("label", strcmp(ops->label, "Saturation") == 0);
	ASSERT_INT("off by default", CHAIN_BYPASS_OFF, ops->bypass);
	ASSERT_INT("four parameters", 4, ops->n_params);
	ASSERT_TRUE("drive_db", strcmp(ops->params[P_DRIVE].id, "drive_db") == 0 &&
		    ops->params[P_DRIVE].min == 0 && ops->params[P_DRIVE].max == 24 &&
		    ops->params[P_DRIVE].def == 6);
	ASSERT_TRUE("character", strcmp(ops->params[P_CHAR].id, "character") == 0 &&
		    ops->params[P_CHAR].min == 0 && ops->params[P_CHAR].max == 1 &&
		    ops->params[P_CHAR].def == 0 && ops->params[P_CHAR].choices &&
		    strcmp(ops->params[P_CHAR].choices[0], "soft clip") == 0 &&
		    strcmp(ops->params[P_CHAR].choices[1], "tape") == 0);
	ASSERT_TRUE("mix_pct", strcmp(ops->params[P_MIX].id, "mix_pct") == 0 &&
		    ops->params[P_MIX].min == 0 && ops->params[P_MIX].max == 100 &&
		    ops->params[P_MIX].def == 100);
	ASSERT_TRUE("output_db", strcmp(ops->params[P_OUT].id, "output_db") == 0 &&
		    ops->params[P_OUT].min == -24 && ops->params[P_OUT].max == 6 &&
		    ops->params[P_OUT].def == 0);
	/* as the chain shows them */
	ASSERT_TRUE("sat.on", chain_param_find("sat.on") >= 0);
	idx = chain_param_find("sat.character");
	ASSERT_TRUE("sat.character", idx >= 0);
	if (idx >= 0) {
		ASSERT_TRUE("choice names", chain_param_choice((unsigned)idx, 1) &&
			    strcmp(chain_param_choice((unsigned)idx, 1), "tape") == 0);
	}
	{
		struct chain_settings st;
		char msg[128];

		chain_settings_default(&st);
		ASSERT_INT("set by name", CHAIN_OK,
			   chain_settings_set(&st, "sat.character", "tape", msg, sizeof(msg)));
	}
}

/* ---- latency and alignment ---- */

static void test_latency(void)
{
	static const double rates[] = { 44100, 48000, 96000, 8000 };
	struct proc *s = open_sat(RATE);
	unsigned lat = latency(s);
	size_t n = 4096, t0 = 1000, pk = 0;
	float *l = xcalloc(n, sizeof(float)), *r = xcalloc(n, sizeof(float));
	double peak = 0, asym = 0;

	for (unsigned k = 0; k < 4; k++) {
		struct proc *o = open_sat(rates[k]);

		ASSERT_INT("latency is the same at every rate", lat, latency(o));
		close_sat(&o);
	}
	ASSERT_INT("latency = 2·K1 + K2 − 1 = 71 frames", 71, lat);
	/* a -60 dB impulse: linear range, so the response is the filters' */
	l[t0] = r[t0] = 1e-3f;
	run(s, l, r, n, 256);
	for (size_t i = 0; i < n; i++)
		if (fabs(l[i]) > peak) {
			peak = fabs(l[i]);
			pk = i;
		}
	ASSERT_INT("impulse comes out at latency()", t0 + lat, pk);
	for (size_t k = 1; k < 300; k++)
		if (fabs(l[pk + k] - l[pk - k]) > asym)
			asym = fabs(l[pk + k] - l[pk - k]);
	printf("latency %u frames; impulse peak %.6g at +%zu, asymmetry %.3g\n",
	       lat, peak, pk - t0, asym);
	ASSERT_LE("response symmetric about it (linear phase)", asym, 1e-6 * peak);
	ASSERT_CLOSE("unity impulse peak (the filters' centre taps)", 1e-3, peak, 1e-4);
	close_sat(&s);
	free(l);
	free(r);
}

/* |1 + HP(f)| in dB for a first-order high-pass at fc (analog: the
 * bilinear warping is negligible this far below Nyquist). */
static double one_plus_hp_db(double f, double fc)
{
	double r = f / fc, re = 1 + r * r / (1 + r * r), im = r / (1 + r * r);

	return 10 * log10(re * re + im * im);
}

/* Tape's 5 Hz DC blocker H in the wet half of a 50 % mix: |1 + H|/2. */
static double mix_dc_db(double f)
{
	return one_plus_hp_db(f, 5.0) - 20 * log10(2.0);
}

/*
 * Mix 50 % of dry and wet, small signal: flat, because wet = dry delayed
 * and both are delayed by the same L (tape: but for its 5 Hz DC blocker,
 * whose phase shows at 100 Hz, -0.008 dB).  One frame of misalignment
 * would put 0.5·|1 + e^-jω| = cos(ω/2) on it: -5.8 dB at 15 kHz.
 */
static void test_mix_alignment(void)
{
	static const double freqs[] = { 100, 1000, 5000, 10000, 15000, 18000 };
	size_t n = 44100;
	float *l = xcalloc(n, sizeof(float)), *r = xcalloc(n, sizeof(float));

	for (unsigned c = 0; c < 2; c++)
		for (unsigned k = 0; k < 6; k++) {
			struct proc *s = open_sat(RATE);
			double a_in = db_to_lin(-60), a;

			set(s, P_CHAR, (float)c, 1);
			set(s, P_MIX, 50, 1);
			gen_sine(l, n, 1, RATE, freqs[k], a_in, 0.2);
			memcpy(r, l, n * sizeof(float));
			run(s, l, r, n, 512);
			a = measure_sine_amp(l + 4410, n - 4410, 1, RATE, freqs[k]);
			ASSERT_CLOSE(c ? "tape, mix 50 %: flat but for the DC blocker (dB)"
				       : "soft, mix 50 %: flat (dB)",
				     c ? mix_dc_db(freqs[k]) : 0.0, lin_to_db(a / a_in), 0.002);
			close_sat(&s);
		}
	free(l);
	free(r);
}

/* Mix 0 %: the input delayed by the latency, even driven hard. */
static void test_mix_zero(void)
{
	size_t n = 30000;
	float *l = xcalloc(n, sizeof(float)), *r = xcalloc(n, sizeof(float));
	float *l0 = xcalloc(n, sizeof(float)), *r0 = xcalloc(n, sizeof(float));

	for (unsigned c = 0; c < 2; c++) {
		struct proc *s = open_sat(RATE);
		unsigned lat = latency(s);
		double err = 0;

		set(s, P_CHAR, (float)c, 1);
		set(s, P_DRIVE, 24, 1);
		set(s, P_MIX, 0, 1);
		gen_music(l0, n, 1, RATE, 1.0, 3);
		gen_music(r0, n, 1, RATE, 1.0, 4);
		memcpy(l, l0, n * sizeof(float));
		memcpy(r, r0, n * sizeof(float));
		run(s, l, r, n, 300);
		for (size_t i = 0; i < n; i++) {
			double el = fabs(l[i] - (i >= lat ? l0[i - lat] : 0.0f));
			double er = fabs(r[i] - (i >= lat ? r0[i - lat] : 0.0f));

			err = fmax(err, fmax(el, er));
		}
		printf("mix 0 %%, %s, drive 24 dB: largest difference from the delayed "
		       "input %.3g\n", c ? "tape" : "soft clip", err);
		ASSERT_LE("mix 0 % is the input delayed by the latency", err, 1e-6);
		close_sat(&s);
	}
	free(l);
	free(r);
	free(l0);
	free(r0);
}

/* ---- small-signal gain ---- */

static void test_small_signal(void)
{
	static const float drives[] = { 0, 6, 24 }, outs[] = { -24, 0, 6 };
	size_t n = 44100;
	float *l = xcalloc(n, sizeof(float)), *r = xcalloc(n, sizeof(float));
	double a_in = db_to_lin(-60), worst = 0;

	for (unsigned c = 0; c < 2; c++)
		for (unsigned d = 0; d < 3; d++)
			for (unsigned o = 0; o < 3; o++) {
				struct proc *s = open_sat(RATE);
				double u = db_to_lin(drives[d]) * a_in;
				double tol = lin_to_db(1 + u * u / 4 + 4 * 3e-5 + 2e-5);
				double a, dev;
				char msg[128];

				set(s, P_CHAR, (float)c, 1);
				set(s, P_DRIVE, drives[d], 1);
				set(s, P_OUT, outs[o], 1);
				gen_sine(l, n, 1, RATE, 1000, a_in, 0.1);
				memcpy(r, l, n * sizeof(float));
				run(s, l, r, n, 1024);
				a = measure_sine_amp(r + 4410, n - 4410, 1, RATE, 1000);
				dev = lin_to_db(a / a_in) - outs[o];
				worst = fmax(worst, fabs(dev));
				snprintf(msg, sizeof(msg), "%s, drive %g dB, output %g dB: "
					 "gain (dB)", c ? "tape" : "soft clip", drives[d], outs[o]);
				ASSERT_CLOSE(msg, outs[o], lin_to_db(a / a_in), tol);
				close_sat(&s);
			}
	printf("small signal (-60 dBFS, 1 kHz): gain = output_db within %.5f dB\n", worst);
	free(l);
	free(r);
}

/* ---- aliasing: the requirement ---- */

static void test_aliasing(void)
{
	static const double amps[] = { 1.0, 0.5 };
	size_t n = 66150, skip = 22050, w = 44100;  /* 1.5 s, analyse the last 1 s */
	float *l = xcalloc(n, sizeof(float)), *r = xcalloc(n, sizeof(float));
	double worst_all = -HUGE_VAL;

	for (unsigned c = 0; c < 2; c++)
		for (unsigned a = 0; a < 2; a++) {
			struct proc *s = open_sat(RATE);
			double fund, worst = -HUGE_VAL, worst_f = 0;
			char msg[128];

			set(s, P_CHAR, (float)c, 1);
			set(s, P_DRIVE, 6, 1);
			gen_sine(l, n, 1, RATE, 5000, amps[a], 0);
			memcpy(r, l, n * sizeof(float));
			run(s, l, r, n, 1024);
			fund = dft_amp(l + skip, w, RATE, 5000);
			for (int f = 100; f < 22050; f += 100) {
				double lev;

				if (f % 5000 == 0)
					continue;  /* a harmonic */
				lev = lin_to_db(dft_amp(l + skip, w, RATE, f) / fund);
				if (lev > worst) {
					worst = lev;
					worst_f = f;
				}
			}
			printf("5 kHz at %+.0f dBFS, drive 6 dB, %s: fundamental %.2f dBFS, "
			       "H3 %.1f dB, worst non-harmonic %.1f dB at %.0f Hz\n",
			       lin_to_db(amps[a]), c ? "tape" : "soft clip", lin_to_db(fund),
			       lin_to_db(dft_amp(l + skip, w, RATE, 15000) / fund), worst, worst_f);
			snprintf(msg, sizeof(msg), "%s, %+.0f dBFS: aliases >= 60 dB under "
				 "the fundamental", c ? "tape" : "soft clip", lin_to_db(amps[a]));
			ASSERT_LE(msg, worst, -60.0);
			worst_all = fmax(worst_all, worst);
			close_sat(&s);
		}
	printf("worst alias of all cases: %.1f dB\n", worst_all);
	free(l);
	free(r);
}

/* ---- harmonics as the curves predict ---- */

static void test_harmonics(void)
{
	static const double amps[] = { 1.0, 0.5 };
	size_t n = 66150, skip = 22050, w = 44100;
	float *l = xcalloc(n, sizeof(float)), *r = xcalloc(n, sizeof(float));
	const double g = db_to_lin(6);

	for (unsigned c = 0; c < 2; c++)
		for (unsigned a = 0; a < 2; a++) {
			struct proc *s = open_sat(RATE);

			set(s, P_CHAR, (float)c, 1);
			set(s, P_DRIVE, 6, 1);
			gen_sine(l, n, 1, RATE, 100, amps[a], 0);
			memcpy(r, l, n * sizeof(float));
			run(s, l, r, n, 1024);
			printf("%s, 100 Hz at %+.0f dBFS, drive 6 dB, measured (predicted) "
			       "dB re input:", c ? "tape" : "soft clip", lin_to_db(amps[a]));
			for (int k = 1; k <= 7; k++) {
				double want = curve_harmonic((int)c, g, amps[a], k);
				double got = dft_amp(l + skip, w, RATE, 100.0 * k);
				char msg[128];

				printf(" H%d %.2f (%.2f)", k, lin_to_db(got / amps[a]),
				       lin_to_db(want / amps[a]));
				if (!c && k % 2 == 0) {
					/* odd symmetry: no even harmonics, float
					 * rounding aside */
					snprintf(msg, sizeof(msg), "soft clip: H%d absent", k);
					ASSERT_LE(msg, got / amps[a], 1e-5);
					continue;
				}
				if (want < 1e-4 * amps[a])
					continue;  /* under -80 dB: below the tolerance model */
				/*
				 * Soft clip: memoryless, so only the tanh
				 * approximation (2e-7 absolute) and the filters'
				 * ripple (1.5e-4 relative) separate it from the
				 * formula.  Tape: besides, the harmonics made in
				 * the saturated path come back through the
				 * de-emphasis, 1/|1 + HP(f)| with its high-pass
				 * at 6366 Hz (0.079 dB at 500 Hz), and the 5 Hz
				 * DC blocker (0.011 dB at 100 Hz); 0.01 dB more
				 * for the fundamental's own small emphasis.
				 */
				snprintf(msg, sizeof(msg), "%s, %+.0f dBFS: H%d as the formula "
					 "(dB)", c ? "tape" : "soft clip", lin_to_db(amps[a]), k);
				if (!c)
					ASSERT_CLOSE(msg, lin_to_db(want), lin_to_db(got),
						     lin_to_db(1 + 1.5e-4 + 1e-6 / want));
				else
					ASSERT_CLOSE(msg, lin_to_db(want), lin_to_db(got),
						     one_plus_hp_db(100.0 * k, 6366.0) + 0.021);
			}
			printf("\n");
			if (c) {
				double h2 = dft_amp(l + skip, w, RATE, 200) / amps[a];
				double h4 = dft_amp(l + skip, w, RATE, 400) / amps[a];

				ASSERT_GE("tape: H2 present (> -40 dB)", h2, 0.01);
				ASSERT_GE("tape: H4 present (> -60 dB)", h4, 0.001);
			}
			close_sat(&s);
		}
	free(l);
	free(r);
}

/* ---- reset ---- */

static void test_reset(void)
{
	size_t n = 20000;
	float *l = xcalloc(n, sizeof(float)), *r = xcalloc(n, sizeof(float));
	float *l2 = xcalloc(n, sizeof(float)), *r2 = xcalloc(n, sizeof(float));
	struct proc *s = open_sat(RATE), *fresh = open_sat(RATE);
	int zeros = 1, same = 1;

	for (unsigned k = 0; k < 2; k++) {
		struct proc *p = k ? fresh : s;

		set(p, P_CHAR, 1, 1);
		set(p, P_DRIVE, 18, 1);
		set(p, P_MIX, 60, 1);
		set(p, P_OUT, -3, 1);
	}
	for (size_t i = 0; i < n; i++)
		l[i] = r[i] = 1.0f;
	run(s, l, r, n, 512);
	gen_music(l, n, 1, RATE, 1.0, 7);
	gen_music(r, n, 1, RATE, 1.0, 8);
	set(s, P_CHAR, 0, 0);  /* a glide in progress */
	run(s, l, r, n / 2, 512);
	set(s, P_CHAR, 1, 0);
	s->p.ops->reset(&s->p);
	memset(l, 0, n * sizeof(float));
	memset(r, 0, n * sizeof(float));
	run(s, l, r, n, 333);
	for (size_t i = 0; i < n; i++)
		if (l[i] != 0.0f || r[i] != 0.0f)
			zeros = 0;
	ASSERT_TRUE("after reset, silence in gives exact zeros", zeros);
	/* and then the same as a fresh processor (the glide snapped) */
	s->p.ops->reset(&s->p);
	gen_music(l, n, 1, RATE, 1.0, 9);
	gen_music(r, n, 1, RATE, 1.0, 10);
	memcpy(l2, l, n * sizeof(float));
	memcpy(r2, r, n * sizeof(float));
	run(s, l, r, n, 256);
	run(fresh, l2, r2, n, 256);
	for (size_t i = 0; i < n; i++)
		if (l[i] != l2[i] || r[i] != r2[i])
			same = 0;
	ASSERT_TRUE("after reset, output = a fresh processor's, bit for bit", same);
	close_sat(&s);
	close_sat(&fresh);
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
		{ 3001, P_DRIVE, 18 }, { 7000, P_CHAR, 1 }, { 9999, P_MIX, 40 },
		{ 15013, P_OUT, -6 }, { 20000, P_CHAR, 0 }, { 22222, P_DRIVE, 0 },
		{ 25000, P_MIX, 100 },
	};
	size_t n = 30000;
	float *l0 = xcalloc(n, sizeof(float)), *r0 = xcalloc(n, sizeof(float));
	float *lr = xcalloc(n, sizeof(float)), *rr = xcalloc(n, sizeof(float));
	float *l = xcalloc(n, sizeof(float)), *r = xcalloc(n, sizeof(float));

	gen_music(l0, n, 1, RATE, 1.0, 11);
	gen_music(r0, n, 1, RATE, 0.8, 12);
	for (unsigned b = 0; b < 5; b++) {
		struct proc *s = open_sat(RATE);
		double err = 0;
		char msg[96];

		memcpy(l, l0, n * sizeof(float));
		memcpy(r, r0, n * sizeof(float));
		run_ev(s, l, r, n, blocks[b], ev, sizeof(ev) / sizeof(ev[0]));
		if (b == 0) {
			memcpy(lr, l, n * sizeof(float));
			memcpy(rr, r, n * sizeof(float));
		}
		for (size_t i = 0; i < n; i++)
			err = fmax(err, fmax(fabs(l[i] - lr[i]), fabs(r[i] - rr[i])));
		snprintf(msg, sizeof(msg), "calls of %u frames = calls of 1024 (bit-exact)",
			 blocks[b]);
		ASSERT_LE(msg, err, 0.0);
		close_sat(&s);
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
 * Each parameter jumps from min to max (and back) on a 200 Hz sine of
 * amplitude 0.5 (L) and 0.4 (R, other phase).  A smoothed change between
 * two settings a and b moves the output at most like a crossfade between
 * their outputs y_a, y_b: |Δy| <= max(S_a, S_b) + δ·D, where S is the
 * largest sample step of each steady output, δ = coef/32 the largest
 * per-sample move of the glide (normalised 0 … 1; chain/smooth.h moves
 * coef = 1 − exp(−32/(τ·fs)) of the distance in the first sub-block), and
 * D the largest rate of change of the output along the glide:
 *  - output, mix (linear in the glided value): D = max|y_b − y_a|;
 *  - drive, glided in dB from 0 to 24 (g = 16^λ): ∂/∂λ tanh(g u)/g =
 *    ln 16 · (u sech²(gu) − tanh(gu)/g), at most ln 16 · |u|; the tape
 *    curve's extra factor 1/(1 − tanh² b) < 1.05: D = 1.05 · ln 16 · |u|max;
 *  - character: the curves crossfade linearly, and the emphasis amount
 *    (at most +6 dB, i.e. ×2) goes with it: D = 2 · max|y_b − y_a|.
 * A 10 % margin on S covers the transition's waveform (the decimator's
 * ringing differs a little between settings).  An unsmoothed step would
 * be 0.4 … 1.0 here, against bounds near 0.02.
 */
static void test_jumps(void)
{
	static const struct {
		unsigned id;
		float lo, hi;
	} cases[] = {
		{ P_DRIVE, 0, 24 }, { P_CHAR, 0, 1 }, { P_MIX, 0, 100 }, { P_OUT, -24, 6 },
	};
	size_t n = 22050, at = 5000;
	float *la = xcalloc(n, sizeof(float)), *ra = xcalloc(n, sizeof(float));
	float *lb = xcalloc(n, sizeof(float)), *rb = xcalloc(n, sizeof(float));
	float *l = xcalloc(n, sizeof(float)), *r = xcalloc(n, sizeof(float));
	const double amp = 0.5;

	for (unsigned k = 0; k < 4; k++)
		for (unsigned dir = 0; dir < 2; dir++) {
			float from = dir ? cases[k].hi : cases[k].lo;
			float to = dir ? cases[k].lo : cases[k].hi;
			double tau = tau_ms[cases[k].id] * 1e-3 * RATE;
			double coef = 1 - exp(-CHAIN_SUBBLOCK / tau), delta = coef / CHAIN_SUBBLOCK;
			double sa = 0, sb = 0, d = 0, step = 0, bound;
			float *outs[3][2] = { { la, ra }, { lb, rb }, { l, r } };
			char msg[128];

			for (unsigned v = 0; v < 3; v++) {
				struct proc *s = open_sat(RATE);
				struct event ev = { at, cases[k].id, to };

				/* tape and 12 dB drive make every parameter act */
				set(s, P_CHAR, 1, 1);
				set(s, P_DRIVE, 12, 1);
				set(s, P_MIX, 100, 1);
				set(s, cases[k].id, v == 1 ? to : from, 1);
				gen_sine(outs[v][0], n, 1, RATE, 200, amp, 0);
				gen_sine(outs[v][1], n, 1, RATE, 200, 0.8 * amp, 1.0);
				run_ev(s, outs[v][0], outs[v][1], n, 256, &ev, v == 2);
				close_sat(&s);
			}
			for (size_t i = at; i < n; i++)
				for (unsigned c = 0; c < 2; c++) {
					sa = fmax(sa, fabs(outs[0][c][i] - outs[0][c][i - 1]));
					sb = fmax(sb, fabs(outs[1][c][i] - outs[1][c][i - 1]));
					step = fmax(step, fabs(outs[2][c][i] - outs[2][c][i - 1]));
					d = fmax(d, fabs(outs[1][c][i] - outs[0][c][i]));
				}
			if (cases[k].id == P_DRIVE)
				d = 1.05 * log(16.0) * amp;
			else if (cases[k].id == P_CHAR)
				d *= 2;
			bound = 1.1 * fmax(sa, sb) + delta * d;
			printf("%s %g → %g: largest step %.5f, bound %.5f\n",
			       chain_sat_ops.params[cases[k].id].id, from, to, step, bound);
			snprintf(msg, sizeof(msg), "%s %g → %g: no step above the bound",
				 chain_sat_ops.params[cases[k].id].id, from, to);
			ASSERT_LE(msg, step, bound);
		}
	free(la);
	free(ra);
	free(lb);
	free(rb);
	free(l);
	free(r);
}

/* ---- hostile input ---- */

/* Sample i of hostile signal `sig`: DC +1, DC −1, full-scale square,
 * silence, NaN/±infinity, ±1e30. */
static float hostile(unsigned sig, size_t i)
{
	switch (sig) {
	case 0:
		return 1.0f;
	case 1:
		return -1.0f;
	case 2:
		return (i / 22) % 2 ? 1.0f : -1.0f;
	case 3:
		return 0.0f;
	case 4:
		return i % 3 == 0 ? NAN : i % 3 == 1 ? INFINITY : -INFINITY;
	default:
		return (i / 50) % 2 ? 1e30f : -1e30f;
	}
}

static void test_hostile(void)
{
	size_t n = 8192;
	float *l = xcalloc(n, sizeof(float)), *r = xcalloc(n, sizeof(float));

	for (unsigned c = 0; c < 2; c++)
		for (unsigned setting = 0; setting < 3; setting++)
			for (unsigned sig = 0; sig < 6; sig++) {
				struct proc *s = open_sat(RATE);
				int finite = 1;
				double peak = 0, in_peak = 1;

				set(s, P_CHAR, (float)c, 1);
				set(s, P_DRIVE, setting == 1 ? 0 : 24, 1);
				set(s, P_OUT, setting == 2 ? -24 : 6, 1);
				set(s, P_MIX, setting == 0 ? 100 : 50, 1);
				for (size_t i = 0; i < n; i++) {
					float v = hostile(sig, i);

					l[i] = v;
					r[i] = i % 2 ? v : -v;
				}
				if (sig == 5)
					in_peak = 1e30;
				run(s, l, r, n, 1000);
				for (size_t i = 0; i < n; i++) {
					if (!isfinite(l[i]) || !isfinite(r[i]))
						finite = 0;
					peak = fmax(peak, fmax(fabs(l[i]), fabs(r[i])));
				}
				ASSERT_TRUE("finite output on hostile input", finite);
				/* dry ≤ input; wet ≤ 1/(1 − tanh b) = 1.25 at
				 * drive 0, with the decimator's ringing on a
				 * clipped edge (< 10 %) and a DC blocker's
				 * step (< 2×): ×2.75, times output +6 dB */
				ASSERT_LE("output bounded", peak, db_to_lin(6) * (in_peak + 2.75));
				/* and it recovers: a sine afterwards is finite */
				gen_sine(l, n, 1, RATE, 440, 0.5, 0);
				memcpy(r, l, n * sizeof(float));
				run(s, l, r, n, 1000);
				finite = 1;
				for (size_t i = 0; i < n; i++)
					if (!isfinite(l[i]) || !isfinite(r[i]))
						finite = 0;
				ASSERT_TRUE("finite after hostile input", finite);
				close_sat(&s);
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

/*
 * After a tone, silence: the recursive state (tape emphasis and DC
 * blocker) is flushed below 1e-20, so the output becomes exact zeros
 * (within ln(1e19)·32 ms ≈ 1.4 s for the 5 Hz blocker) and never passes
 * through subnormal values; timing as a second opinion, as test_chain
 * does: silence no more than 3× the cost of tone (denormal stalls cost
 * 10–100×).
 */
static void test_denormals(void)
{
	struct proc *s = open_sat(RATE);
	size_t n = 44100;
	float *l = xcalloc(n, sizeof(float)), *r = xcalloc(n, sizeof(float));
	double t_tone = 1e9, t_sil = 1e9;
	int subnormal = 0, zeros = 1;

	set(s, P_CHAR, 1, 1);
	set(s, P_DRIVE, 12, 1);
	set(s, P_MIX, 50, 1);
	for (int rep = 0; rep < 3; rep++) {
		double t0, t1;

		gen_sine(l, n, 1, RATE, 1000, 0.9, 0);
		gen_sine(r, n, 1, RATE, 50, 0.9, 0);
		t0 = cpu_seconds();
		run(s, l, r, n, 256);
		t1 = cpu_seconds();
		t_tone = fmin(t_tone, t1 - t0);
		for (unsigned sec = 0; sec < 3; sec++) {
			memset(l, 0, n * sizeof(float));
			memset(r, 0, n * sizeof(float));
			t0 = cpu_seconds();
			run(s, l, r, n, 256);
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
	printf("per second of audio: tone %.2f ms, silence %.2f ms\n", t_tone * 1e3, t_sil * 1e3);
	ASSERT_TRUE("no subnormal output", !subnormal);
	ASSERT_TRUE("silence after a tone settles to exact zeros within 2 s", zeros);
	ASSERT_LE("silence vs tone cost ratio", t_sil / t_tone, 3.0);
	close_sat(&s);
	free(l);
	free(r);
}

int main(void)
{
	test_table();
	test_latency();
	test_mix_alignment();
	test_mix_zero();
	test_small_signal();
	test_aliasing();
	test_harmonics();
	test_reset();
	test_block_sizes();
	test_jumps();
	test_hostile();
	test_denormals();
	return test_done();
}

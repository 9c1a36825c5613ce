/*
 * termaster — unit test: the true-peak limiter (chain/limiter.c) and its
 * detector (chain/truepeak.c).
 *
 * The output true peak is read by two judges: measure_true_peak()
 * (tests/util.c: 32× Kaiser-windowed sinc, 128 taps per phase), an
 * accurate reconstruction independent of the limiter's code, and
 * libebur128 through refs_loudness_measure() (refs/loudness.c), the meter
 * `termaster analyze` and many tools use, which over-reads near Nyquist.
 * Signals:
 *
 *  - EBU Tech 3341 (v4, 2016) true-peak test cases 15–23, generated here
 *    from their recipes (the EBU files are not redistributable):
 *      15  fs/4 sine, 0.5 peak,  0° phase  (-6.02 dBTP, sample peak too)
 *      16  fs/4 sine, 0.5 peak, 45°        (-6.02 dBTP, samples -9.03 dBFS)
 *      17  fs/6 sine, 0.5 peak, 60°        (-6.02 dBTP)
 *      18  fs/8 sine, 0.5 peak, 67.5°      (-6.02 dBTP)
 *      19  fs/4 sine, 1.41 peak, 45°       (+3.0 dBTP, samples at 0 dBFS)
 *      20–23  0 dBTP inter-sample peaks at offsets of 0, 1, 2, 3 quarter
 *          samples; reconstructed here as band-limited pulses (20 kHz
 *          Kaiser-windowed sinc) whose continuous peak lies at that
 *          offset, ten per second.  The EBU files are made the same way
 *          but are not sample-identical to these.
 *    each at its stated level and 12 dB hotter, into a -1 dBTP ceiling;
 *  - a music-like signal (gen_music) 12 dB over full scale, at 44.1 and
 *    48 kHz, and near-Nyquist bursts (19 kHz at 44.1 kHz);
 *  - full-band white noise (gen_noise) 12 dB over full scale at 44.1, 48
 *    and 96 kHz (libebur128 interpolates 2× there).
 *
 * Requirement: output true peak <= ceiling + 0.1 dB by both judges (we
 * assert the tighter LIM_TP_TOL), latency() equals the measured delay,
 * transparency below the ceiling, gain reduction of a steady sine, release
 * time constant, block-size invariance.  The detector: its accuracy, its
 * libebur128 reading bit-identical to libebur128's, and
 * chain_truepeak_push_above() identical to chain_truepeak_push() above its
 * threshold, including on the worst case of its skipping bound.
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chain/chain.h"
#include "chain/truepeak.h"
#include "refs/loudness.h"
#include "tests/util.h"

/* Asserted overshoot bound, dB (requirement 0.1, aim 0.05). */
#define LIM_TP_TOL 0.05

struct lim {
	struct chain_proc p;
	double rate;
};

static void lim_open(struct lim *l, double rate, float ceiling, float release)
{
	const struct chain_proc_ops *ops = &chain_limiter_ops;
	int err;

	memset(l, 0, sizeof(*l));
	l->rate = rate;
	l->p.ops = ops;
	l->p.rate = rate;
	l->p.max_frames = 4096;
	l->p.priv = calloc(1, ops->priv_size);
	if (!l->p.priv)
		exit(99);
	err = ops->init(&l->p, rate, 4096);
	if (err) {
		fprintf(stderr, "limiter init: %s\n", chain_strerror(err));
		exit(99);
	}
	for (unsigned k = 0; k < ops->n_params; k++)
		ops->set_param(&l->p, k, ops->params[k].def, 1);
	ops->set_param(&l->p, 0, ceiling, 1);
	ops->set_param(&l->p, 1, release, 1);
}

static void lim_close(struct lim *l)
{
	l->p.ops->destroy(&l->p);
	free(l->p.priv);
	l->p.priv = NULL;
}

/*
 * Runs planar L/R of `frames` through the limiter in calls of the sizes
 * in `sizes` (cycled, 0-terminated), followed by latency() frames of
 * silence, so that out[] (frames + latency) holds everything.  When
 * change_at > 0, param `pid` is set (gliding) to `pval` exactly at that
 * frame (a call is cut there).  Returns the largest reported GR.
 */
static float lim_run(struct lim *l, const float *inl, const float *inr,
		     size_t frames, const unsigned *sizes, float *outl,
		     float *outr, size_t change_at, unsigned pid, float pval)
{
	unsigned lat = l->p.ops->latency(&l->p);
	size_t total = frames + lat, i = 0;
	unsigned si = 0;
	float gr = 0;

	for (size_t k = 0; k < total; k++) {
		outl[k] = k < frames ? inl[k] : 0;
		outr[k] = k < frames ? inr[k] : 0;
	}
	while (i < total) {
		size_t m = sizes[si];
		float *b[2] = { outl + i, outr + i };

		if (!sizes[++si])
			si = 0;
		if (m > total - i)
			m = total - i;
		if (change_at > i && change_at < i + m)
			m = change_at - i;
		if (change_at && i == change_at)
			l->p.ops->set_param(&l->p, pid, pval, 0);
		l->p.ops->process(&l->p, b, (unsigned)m);
		if (l->p.ops->gain_reduction_db(&l->p) > gr)
			gr = l->p.ops->gain_reduction_db(&l->p);
		i += m;
	}
	return gr;
}

static const unsigned blk_1024[] = { 1024, 0 };

static float *fbuf(size_t n)
{
	float *b = calloc(n ? n : 1, sizeof(float));

	if (!b)
		exit(99);
	return b;
}

/* ---- signals ---- */

/* A sine at rate/div with 10 ms raised-cosine fades, so that its true
 * peak is its amplitude (an abrupt start would ring). */
static void ebu_sine(float *x, size_t n, double rate, double div, double amp,
		     double phase_deg)
{
	size_t fade = (size_t)(0.01 * rate);

	for (size_t i = 0; i < n; i++) {
		double w = 1;

		if (i < fade)
			w = 0.5 - 0.5 * cos(M_PI * (double)i / fade);
		else if (n - 1 - i < fade)
			w = 0.5 - 0.5 * cos(M_PI * (double)(n - 1 - i) / fade);
		x[i] = (float)(w * amp * sin(2 * M_PI * (double)i / div + phase_deg * M_PI / 180));
	}
}

static double bessel_i0(double x)
{
	double s = 1, t = 1;

	for (int k = 1; k < 60; k++) {
		t *= (x / (2 * k)) * (x / (2 * k));
		s += t;
	}
	return s;
}

/* Band-limited pulses of continuous peak `amp` at frame 100 + j·rate/10 +
 * offset/4, j = 0, 1, …: sinc of cut-off fc_hz under a Kaiser window. */
static void ebu_pulses(float *x, size_t n, double rate, double amp,
		       unsigned offset, double fc_hz)
{
	const int half = 64;
	double f = 2 * fc_hz / rate;  /* cut-off relative to Nyquist */
	size_t period = (size_t)(rate / 10);

	memset(x, 0, n * sizeof(float));
	for (size_t c = 100; c + half < n; c += period) {
		double t0 = (double)c + offset / 4.0;

		for (int k = -half; k <= half; k++) {
			size_t idx = (size_t)((long)c + k);
			double t = (double)idx - t0;
			double s = fabs(t) < 1e-12 ? 1 : sin(M_PI * f * t) / (M_PI * f * t);
			double r = t / (half + 1);
			double w = fabs(r) < 1 ? bessel_i0(8 * sqrt(1 - r * r)) / bessel_i0(8) : 0;

			x[idx] = (float)(amp * s * w);
		}
	}
}

static void deinterleave(const float *in, float *l, float *r, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		l[i] = in[2 * i];
		r[i] = in[2 * i + 1];
	}
}

/* ---- the checks ---- */

static double tp_db(const float *x, size_t n)
{
	return lin_to_db(measure_true_peak(x, n, 1));
}

/* What libebur128 (refs/loudness.c, `termaster analyze`) reads as the true
 * peak of n interleaved stereo frames, in dBTP. */
static double ebu_tp_db_il(const float *il, size_t n, double rate)
{
	struct refs_loudness res;
	int err = refs_loudness_measure(il, (int64_t)n, 2, rate, &res, NULL, NULL);

	if (err) {
		fprintf(stderr, "libebur128: %s\n", refs_loudness_strerror(err));
		exit(99);
	}
	return res.true_peak_dbtp;
}

/* The same for planar L/R. */
static double ebu_tp_db(const float *l, const float *r, size_t n, double rate)
{
	float *il = fbuf(2 * n);
	double db;

	for (size_t i = 0; i < n; i++) {
		il[2 * i] = l[i];
		il[2 * i + 1] = r[i];
	}
	db = ebu_tp_db_il(il, n, rate);
	free(il);
	return db;
}

struct over {
	double ref;  /* by measure_true_peak (32x) */
	double ebu;  /* by libebur128 */
};

/* One signal through the limiter at `ceiling`; checks and returns the
 * overshoot in dB (output TP - ceiling) by both judges and prints a table
 * line.  Both read the whole output, from the first frame on (stricter
 * than reading it once the limiter has settled): libebur128 as
 * `termaster analyze` would, the 32x reference wherever its kernel fits. */
static struct over check_tp(const char *name, double rate, const float *l,
			    const float *r, size_t n, float ceiling)
{
	struct lim lim;
	unsigned lat;
	float *ol, *or_;
	double in_tp, out_l, out_r, out_e;
	struct over o;
	float gr;
	char msg[128];

	lim_open(&lim, rate, ceiling, 100);
	lat = lim.p.ops->latency(&lim.p);
	ol = fbuf(n + lat);
	or_ = fbuf(n + lat);
	gr = lim_run(&lim, l, r, n, blk_1024, ol, or_, 0, 0, 0);
	in_tp = tp_db(l, n);
	out_l = tp_db(ol, n + lat);
	out_r = r == l ? out_l : tp_db(or_, n + lat);
	out_e = ebu_tp_db(ol, or_, n + lat, rate);
	o.ref = (out_l > out_r ? out_l : out_r) - ceiling;
	o.ebu = out_e - ceiling;
	printf("  %-28s %6.0f Hz  in %+7.2f dBTP  GR %5.2f dB  overshoot: 32x %+.4f dB, libebur128 %+.4f dB\n",
	       name, rate, in_tp, gr, o.ref, o.ebu);
	snprintf(msg, sizeof(msg), "%s at %.0f Hz: output true peak over the ceiling (dB)",
		 name, rate);
	ASSERT_LE(msg, o.ref, LIM_TP_TOL);
	snprintf(msg, sizeof(msg), "%s at %.0f Hz: libebur128 reads over the ceiling (dB)",
		 name, rate);
	ASSERT_LE(msg, o.ebu, LIM_TP_TOL);
	free(ol);
	free(or_);
	lim_close(&lim);
	return o;
}

static void test_ebu_cases(void)
{
	const double rate = 48000;
	const size_t n = 24000;  /* 0.5 s each */
	float *x = fbuf(n);
	char name[64];
	struct over worst = { -HUGE_VAL, -HUGE_VAL };
	struct {
		int no;
		double div, amp, phase;
	} sines[] = {
		{ 15, 4, 0.5, 0 }, { 16, 4, 0.5, 45 }, { 17, 6, 0.5, 60 },
		{ 18, 8, 0.5, 67.5 }, { 19, 4, 1.41, 45 },
	};

	printf("EBU Tech 3341 true-peak cases into -1 dBTP:\n");
	for (unsigned hot = 0; hot < 2; hot++) {
		double boost = hot ? db_to_lin(12) : 1;

		for (unsigned k = 0; k < sizeof(sines) / sizeof(sines[0]); k++) {
			struct over o;

			ebu_sine(x, n, rate, sines[k].div, sines[k].amp * boost,
				 sines[k].phase);
			snprintf(name, sizeof(name), "case %d%s", sines[k].no,
				 hot ? " +12 dB" : "");
			o = check_tp(name, rate, x, x, n, -1.0f);
			worst.ref = fmax(worst.ref, o.ref);
			worst.ebu = fmax(worst.ebu, o.ebu);
		}
		for (unsigned off = 0; off < 4; off++) {
			struct over o;

			ebu_pulses(x, n, rate, boost, off, 20000);
			snprintf(name, sizeof(name), "case %u%s", 20 + off,
				 hot ? " +12 dB" : "");
			o = check_tp(name, rate, x, x, n, -1.0f);
			worst.ref = fmax(worst.ref, o.ref);
			worst.ebu = fmax(worst.ebu, o.ebu);
		}
	}
	/* the recipes themselves, checked with the reference meter */
	ebu_sine(x, n, rate, 4, 1.41, 45);
	ASSERT_CLOSE("case 19 signal is +3 dBTP", 3.0, tp_db(x, n), 0.05);
	ebu_pulses(x, n, rate, 1, 2, 20000);
	ASSERT_CLOSE("case 22 signal is 0 dBTP", 0.0, tp_db(x, n), 0.02);
	printf("  worst EBU overshoot: 32x %+.4f dB, libebur128 %+.4f dB\n",
	       worst.ref, worst.ebu);
	free(x);
}

static void test_music(void)
{
	const double rates[] = { 44100, 48000 };

	printf("music, 12 dB over full scale, into -1 dBTP:\n");
	for (unsigned k = 0; k < 2; k++) {
		double rate = rates[k];
		size_t n = (size_t)(4 * rate);
		float *il = fbuf(2 * n), *l = fbuf(n), *r = fbuf(n);

		gen_music(il, n, 2, rate, db_to_lin(12), 7);
		deinterleave(il, l, r, n);
		check_tp("music +12 dB", rate, l, r, n, -1.0f);
		/* a different ceiling and a short release: more distortion
		 * products from the gain, same guarantee */
		gen_music(il, n, 2, rate, db_to_lin(18), 11);
		deinterleave(il, l, r, n);
		check_tp("music +18 dB into -6", rate, l, r, n, -6.0f);
		free(il);
		free(l);
		free(r);
	}
}

/* Full-band white noise, sample peak +12 dBFS, into -1 dBTP: the densest
 * near-Nyquist content, where libebur128's short interpolator reads
 * highest (4x below 96 kHz, 2x from 96 kHz on). */
static void test_noise(void)
{
	const double rates[] = { 44100, 48000, 96000 };

	printf("white noise, 12 dB over full scale, into -1 dBTP:\n");
	for (unsigned k = 0; k < sizeof(rates) / sizeof(rates[0]); k++) {
		double rate = rates[k];
		size_t n = (size_t)(1.5 * rate);
		float *il = fbuf(2 * n), *l = fbuf(n), *r = fbuf(n);

		gen_noise(il, n, 2, db_to_lin(12), 17 + k);
		deinterleave(il, l, r, n);
		check_tp("noise +12 dB", rate, l, r, n, -1.0f);
		free(il);
		free(l);
		free(r);
	}
}

/* Content near Nyquist: where a plain 4× detector under-reads most. */
static void test_near_nyquist(void)
{
	const double rate = 44100;
	const size_t n = 22050;
	float *x = fbuf(n);

	printf("near Nyquist into -1 dBTP:\n");
	for (unsigned k = 0; k < 3; k++) {
		double f = k == 0 ? 19000 : k == 1 ? 20000 : 15000;
		char name[64];

		/* bursts of 2 ms every 50 ms with random-ish phase */
		memset(x, 0, n * sizeof(float));
		for (size_t c = 0; c + 200 < n; c += 2205) {
			double ph = 0.37 * (double)c;

			for (size_t i = 0; i < 88; i++) {
				double w = sin(M_PI * (double)i / 88);

				x[c + i] = (float)(2.0 * w * w * sin(2 * M_PI * f * (double)i / rate + ph));
			}
		}
		snprintf(name, sizeof(name), "%.0f Hz bursts +6 dB", f);
		check_tp(name, rate, x, x, n, -1.0f);
	}
	free(x);
}

static void test_latency_and_transparency(void)
{
	const double rates[] = { 44100, 48000, 96000, 8000, 384000 };

	for (unsigned k = 0; k < sizeof(rates) / sizeof(rates[0]); k++) {
		double rate = rates[k];
		size_t n = (size_t)(rate / 2);
		float *il = fbuf(2 * n), *l = fbuf(n), *r = fbuf(n);
		struct lim lim;
		unsigned lat, best = 0;
		float *ol, *or_;
		double bestc = -1, maxd = 0;
		float gr;

		lim_open(&lim, rate, -1.0f, 100);
		lat = lim.p.ops->latency(&lim.p);
		if (rate >= 16000)
			ASSERT_INT("latency is 5 ms", (long long)lround(0.005 * rate), lat);
		else
			ASSERT_LE("latency at low rates (ms)", 1000.0 * lat / rate, 10);
		/* a low-level signal: noise, so the correlation has one peak */
		gen_noise(il, n, 2, 0.1, 42);
		deinterleave(il, l, r, n);
		ol = fbuf(n + lat);
		or_ = fbuf(n + lat);
		gr = lim_run(&lim, l, r, n, blk_1024, ol, or_, 0, 0, 0);
		ASSERT_TRUE("no gain reduction at -20 dBFS", gr == 0.0f);
		/* independent delay estimate: cross-correlation peak */
		for (unsigned d = 0; d <= 2 * lat + 10 && d < n; d++) {
			double c = 0;

			for (size_t i = 0; i + d < n + lat && i < n; i++)
				c += (double)l[i] * ol[i + d];
			if (c > bestc) {
				bestc = c;
				best = d;
			}
		}
		ASSERT_INT("measured delay == latency()", lat, best);
		for (size_t i = 0; i < n; i++) {
			double d1 = fabs((double)ol[i + lat] - l[i]);
			double d2 = fabs((double)or_[i + lat] - r[i]);

			if (d1 > maxd)
				maxd = d1;
			if (d2 > maxd)
				maxd = d2;
		}
		for (size_t i = 0; i < lat; i++)
			if (fabs(ol[i]) > maxd)
				maxd = fabs(ol[i]);
		ASSERT_LE("below the ceiling: output == input delayed", maxd, 1e-6);
		ASSERT_TRUE("below the ceiling: bit-exact", maxd == 0);
		printf("latency at %6.0f Hz: %u frames (measured %u), max |out - in| %.3g\n",
		       rate, lat, best, maxd);
		free(il);
		free(l);
		free(r);
		free(ol);
		free(or_);
		lim_close(&lim);
	}

	/* music peaking at -3 dBTP into -1: untouched */
	{
		const double rate = 48000;
		size_t n = 96000;
		float *il = fbuf(2 * n), *l = fbuf(n), *r = fbuf(n);
		struct lim lim;
		unsigned lat;
		float *ol, *or_;
		double maxd = 0, peak;

		gen_music(il, n, 2, rate, 1.0, 3);
		deinterleave(il, l, r, n);
		peak = tp_db(l, n) > tp_db(r, n) ? tp_db(l, n) : tp_db(r, n);
		for (size_t i = 0; i < n; i++) {
			l[i] = (float)(l[i] * db_to_lin(-3 - peak));
			r[i] = (float)(r[i] * db_to_lin(-3 - peak));
		}
		lim_open(&lim, rate, -1.0f, 100);
		lat = lim.p.ops->latency(&lim.p);
		ol = fbuf(n + lat);
		or_ = fbuf(n + lat);
		lim_run(&lim, l, r, n, blk_1024, ol, or_, 0, 0, 0);
		for (size_t i = 0; i < n; i++) {
			if (fabs((double)ol[i + lat] - l[i]) > maxd)
				maxd = fabs((double)ol[i + lat] - l[i]);
			if (fabs((double)or_[i + lat] - r[i]) > maxd)
				maxd = fabs((double)or_[i + lat] - r[i]);
		}
		ASSERT_LE("music at -3 dBTP passes unchanged", maxd, 1e-6);
		free(il);
		free(l);
		free(r);
		free(ol);
		free(or_);
		lim_close(&lim);
	}
}

/* A 1 kHz sine at 0 dBFS into -6 dBTP: 6 dB of reduction once settled. */
static void test_gain_reduction(void)
{
	const double rate = 48000;
	const size_t n = 48000;
	float *x = fbuf(n);
	struct lim lim;
	float *ol, *or_;
	unsigned lat;
	float gr = 0;
	double amp;

	gen_sine(x, n, 1, rate, 1000, 1.0, 0.1);
	lim_open(&lim, rate, -6.0f, 100);
	lat = lim.p.ops->latency(&lim.p);
	ol = fbuf(n + lat);
	or_ = fbuf(n + lat);
	for (size_t k = 0; k < n; k++)
		ol[k] = or_[k] = x[k];
	for (size_t i = 0; i < n; i += 480) {
		float *b[2] = { ol + i, or_ + i };

		lim.p.ops->process(&lim.p, b, 480);
		gr = lim.p.ops->gain_reduction_db(&lim.p);
	}
	ASSERT_CLOSE("GR of a 0 dBFS sine into -6 dBTP (dB)", 6.0, gr, 0.2);
	amp = measure_sine_amp(ol + n / 2, n / 2, 1, rate, 1000);
	ASSERT_CLOSE("settled output level (dB)", -6.0, lin_to_db(amp), 0.1);
	printf("GR of a 1 kHz 0 dBFS sine into -6 dBTP: %.3f dB, output %.3f dBFS\n",
	       gr, lin_to_db(amp));
	free(x);
	free(ol);
	free(or_);
	lim_close(&lim);
}

/* After the loud part, GR in dB decays as exp(-t / release). */
static void test_release(void)
{
	const double rate = 48000;
	const float rels[] = { 50, 100, 300 };

	for (unsigned k = 0; k < 3; k++) {
		size_t loud = 24000, n = loud + (size_t)(rate * rels[k] / 1000 * 18);
		float *l = fbuf(n), *r = fbuf(n);
		struct lim lim;
		double t1 = -1, t2 = -1, gr0 = 0;
		float gr = 0;

		gen_sine(l, n, 1, rate, 1000, 1.0, 0);
		for (size_t i = loud; i < n; i++)
			l[i] *= 0.1f;  /* -20 dBFS: below any reduction */
		memcpy(r, l, n * sizeof(float));
		lim_open(&lim, rate, -6.0f, rels[k]);
		for (size_t i = 0; i < n; i += 48) {
			float *b[2] = { l + i, r + i };
			double t = (double)(i + 48) / rate;

			lim.p.ops->process(&lim.p, b, 48);
			gr = lim.p.ops->gain_reduction_db(&lim.p);
			if (i + 48 == loud)
				gr0 = gr;
			if (i >= loud && t1 < 0 && gr < gr0 * exp(-1))
				t1 = t;
			if (i >= loud && t2 < 0 && gr < gr0 * exp(-2))
				t2 = t;
		}
		printf("release %4.0f ms: GR %.2f dB falls 1/e → 1/e² in %.1f ms\n",
		       rels[k], gr0, (t2 - t1) * 1000);
		ASSERT_TRUE("GR fell to 1/e²", t1 > 0 && t2 > 0);
		ASSERT_CLOSE("release time constant (ms)", rels[k], (t2 - t1) * 1000,
			     0.1 * rels[k]);
		ASSERT_TRUE("GR back to exactly 0", gr == 0.0f);
		free(l);
		free(r);
		lim_close(&lim);
	}
}

static void test_block_invariance(void)
{
	static const unsigned s1[] = { 1, 0 }, s32[] = { 32, 0 },
			      s1024[] = { 1024, 0 }, s7[] = { 7, 0 },
			      s333[] = { 333, 0 }, smix[] = { 5, 1000, 1, 64, 313, 0 };
	const unsigned *sizes[] = { s1, s32, s1024, s7, s333, smix };
	const char *names[] = { "1", "32", "1024", "7", "333", "mixed" };
	const double rates[] = { 44100, 48000 };

	for (unsigned q = 0; q < 2; q++) {
		double rate = rates[q];
		size_t n = (size_t)rate * 2;
		float *il = fbuf(2 * n), *l = fbuf(n), *r = fbuf(n);
		float *refl = NULL, *refr = NULL;

		gen_music(il, n, 2, rate, db_to_lin(10), 5);
		deinterleave(il, l, r, n);
		for (unsigned k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
			struct lim lim;
			unsigned lat;
			float *ol, *or_;
			double maxd = 0;
			char msg[96];

			lim_open(&lim, rate, -1.0f, 60);
			lat = lim.p.ops->latency(&lim.p);
			ol = fbuf(n + lat);
			or_ = fbuf(n + lat);
			/* and a ceiling move half-way, at the same frame */
			lim_run(&lim, l, r, n, sizes[k], ol, or_, n / 2, 0, -4.5f);
			if (!refl) {
				refl = ol;
				refr = or_;
			} else {
				for (size_t i = 0; i < n + lat; i++) {
					if (fabs((double)ol[i] - refl[i]) > maxd)
						maxd = fabs((double)ol[i] - refl[i]);
					if (fabs((double)or_[i] - refr[i]) > maxd)
						maxd = fabs((double)or_[i] - refr[i]);
				}
				snprintf(msg, sizeof(msg), "block size %s vs 1 at %.0f Hz",
					 names[k], rate);
				ASSERT_LE(msg, maxd, 1e-6);
				printf("limiter at %.0f Hz, calls of %s frames vs 1: max difference %.3g\n",
				       rate, names[k], maxd);
				free(ol);
				free(or_);
			}
			lim_close(&lim);
		}
		free(refl);
		free(refr);
		free(il);
		free(l);
		free(r);
	}
}

/* Hostile input: NaN, Inf, DC, full-scale square, silence, huge values. */
static void test_hostile(void)
{
	const double rate = 48000;
	const size_t n = 9600;
	float *l = fbuf(n), *r = fbuf(n);
	struct lim lim;
	unsigned lat;
	float *ol, *or_;
	int finite = 1;
	double peak = 0;

	for (size_t i = 0; i < n; i++) {
		size_t seg = i / 1600;

		l[i] = seg == 0 ? 1.0f : seg == 1 ? ((i / 24) % 2 ? 1.0f : -1.0f) :
		       seg == 2 ? 0.0f : seg == 3 ? (i % 100 == 0 ? NAN : 0.5f) :
		       seg == 4 ? (i % 77 == 0 ? INFINITY : -0.5f) :
		       ((i % 2) ? 1e30f : -1e30f);
		r[i] = -l[i];
	}
	lim_open(&lim, rate, -1.0f, 1);
	lat = lim.p.ops->latency(&lim.p);
	ol = fbuf(n + lat);
	or_ = fbuf(n + lat);
	lim_run(&lim, l, r, n, blk_1024, ol, or_, 0, 0, 0);
	for (size_t i = 0; i < n + lat; i++) {
		if (!isfinite(ol[i]) || !isfinite(or_[i]))
			finite = 0;
		else if (fabs(ol[i]) > peak)
			peak = fabs(ol[i]);
	}
	ASSERT_TRUE("finite output on hostile input", finite);
	ASSERT_LE("sample peak of hostile input held (dBFS)", lin_to_db(peak), -1.0 + LIM_TP_TOL);
	/* and it recovers: afterwards a quiet signal passes unchanged */
	{
		float a[256], b[256];
		float *bb[2] = { a, b };
		int clean = 1;

		for (unsigned rep = 0; rep < 40; rep++) {
			for (unsigned i = 0; i < 256; i++)
				a[i] = b[i] = 0.25f;
			lim.p.ops->process(&lim.p, bb, 256);
		}
		for (unsigned i = 0; i < 256; i++)
			if (a[i] != 0.25f)
				clean = 0;
		ASSERT_TRUE("recovers after hostile input", clean);
	}
	free(l);
	free(r);
	free(ol);
	free(or_);
	lim_close(&lim);
}

/* The detector alone: worst under-read of a peak at any sub-sample
 * position, against the analytic value. */
static void test_detector(void)
{
	const double fr[] = { 0.05, 0.2, 0.35, 0.4, 0.453 };
	const double tol[] = { 0.005, 0.005, 0.01, 0.04, 0.04 };
	int err;
	struct chain_truepeak *tp = chain_truepeak_new(2, 4, &err);
	struct chain_truepeak *tp8 = chain_truepeak_new(2, 8, &err);
	struct chain_truepeak *bad = chain_truepeak_new(2, 3, &err);

	ASSERT_TRUE("4x detector", tp != NULL);
	ASSERT_TRUE("8x detector", tp8 != NULL);
	ASSERT_TRUE("3x refused", bad == NULL && err == CHAIN_ERROR_RANGE);
	if (!tp || !tp8)
		return;
	for (unsigned q = 0; q < sizeof(fr) / sizeof(fr[0]); q++) {
		double lo4 = 0, lo8 = 0, hi = -1e9;

		for (unsigned k = 0; k < 64; k++) {
			double t0 = 200 + k / 64.0;
			float p4 = 0, p8 = 0;

			chain_truepeak_reset(tp);
			chain_truepeak_reset(tp8);
			for (unsigned i = 0; i < 400; i++) {
				float f[2];
				float a, b;

				f[0] = f[1] = (float)cos(2 * M_PI * fr[q] * ((double)i - t0));
				a = chain_truepeak_push(tp, f, NULL);
				b = chain_truepeak_push(tp8, f, NULL);
				/* only the intervals next to the peak */
				if (i >= 200 + CHAIN_TP_HALF - 1 && i <= 201 + CHAIN_TP_HALF) {
					if (a > p4)
						p4 = a;
					if (b > p8)
						p8 = b;
				}
			}
			if (lin_to_db(p4) < lo4)
				lo4 = lin_to_db(p4);
			if (lin_to_db(p8) < lo8)
				lo8 = lin_to_db(p8);
			if (lin_to_db(p4) > hi)
				hi = lin_to_db(p4);
		}
		printf("detector at %.3f fs: worst under-read 4x %.4f dB, 8x %.4f dB; over-read %.4f dB\n",
		       fr[q], lo4, lo8, hi);
		ASSERT_GE("4x under-read (dB)", lo4, -tol[q]);
		ASSERT_GE("8x under-read (dB)", lo8, -0.005);
		ASSERT_LE("4x over-read (dB)", hi, 0.01);
	}
	/* meter form: a 0 dBTP pulse between samples, flushed with silence */
	{
		size_t n = 4800;
		float *x = fbuf(n), *il = fbuf(2 * n + 2 * CHAIN_TP_HALF);
		float pk[2] = { 0, 0 };

		ebu_pulses(x, n, 48000, 1.0, 2, 20000);
		for (size_t i = 0; i < n; i++)
			il[2 * i] = il[2 * i + 1] = x[i] * 0.5f;
		chain_truepeak_reset(tp);
		chain_truepeak_process(tp, il, n + CHAIN_TP_HALF, pk);
		ASSERT_CLOSE("meter form: pulse at -6.02 dBTP", -6.0206, lin_to_db(pk[0]), 0.01);
		ASSERT_CLOSE("meter form: both channels", pk[0], pk[1], 1e-9);
		free(x);
		free(il);
	}
	chain_truepeak_free(&tp);
	chain_truepeak_free(&tp8);
	ASSERT_TRUE("free clears the pointer", tp == NULL);
}

/*
 * The dual detector's libebur128 reading (oversample 0: that reading
 * alone) against libebur128 itself: snippets of noise, full-band and
 * differentiated (most of its energy near Nyquist), each followed by
 * silence so that libebur128 computes every point the detector does.
 * The two must agree to the last bit, at each rate band (4x, 2x, none).
 */
static void test_meter_emulation(void)
{
	const double rates[] = { 44100, 48000, 96000, 192000 };
	const size_t len = 400, tail = 2 * CHAIN_TP_HALF;
	float *il = fbuf(2 * (len + tail));

	for (unsigned q = 0; q < sizeof(rates) / sizeof(rates[0]); q++) {
		int err, exact = 0, interp = 0;
		struct chain_truepeak *tp = chain_truepeak_new_dual(2, 0, rates[q], &err);
		double worst = 0;

		ASSERT_TRUE("libebur128 reader", tp != NULL);
		if (!tp)
			continue;
		for (unsigned k = 0; k < 24; k++) {
			float pk[2] = { 0, 0 }, sp = 0;
			double mine, ebu;

			memset(il, 0, sizeof(float) * 2 * (len + tail));
			gen_noise(il, len, 2, 0.9, 100 + k);
			if (k % 2)  /* differentiate: a rising spectrum */
				for (size_t i = 2 * len - 1; i >= 2; i--)
					il[i] = 0.5f * (il[i] - il[i - 2]);
			for (size_t i = 0; i < 2 * len; i++)
				sp = fmaxf(sp, fabsf(il[i]));
			chain_truepeak_reset(tp);
			chain_truepeak_process(tp, il, len + tail, pk);
			mine = lin_to_db(fmax(pk[0], pk[1]));
			ebu = ebu_tp_db_il(il, len + tail, rates[q]);
			if (mine == ebu)
				exact++;
			if (fmax(pk[0], pk[1]) > sp)
				interp++;
			worst = fmax(worst, fabs(mine - ebu));
		}
		printf("libebur128 reader at %6.0f Hz: %d of 24 snippets bit-exact (%d read between samples), worst %.3g dB\n",
		       rates[q], exact, interp, worst);
		ASSERT_INT("libebur128 reading reproduced exactly", 24, exact);
		if (rates[q] < 192000)
			ASSERT_GE("readings between samples", interp, 12);
		chain_truepeak_free(&tp);
	}
	free(il);
}

/*
 * chain_truepeak_push_above() against chain_truepeak_push(): identical
 * whenever the reading is above the threshold, <= the threshold
 * otherwise, and the 8x interpolation actually skipped on quiet parts.
 *  1. Music whose level steps between +6, 0, -6, -24 dB and silence every
 *     30 ms, with a threshold that moves between -1 and -7 dBFS and, on
 *     random frames, to "skip anything" (1e30) and "skip nothing" (0), so
 *     that the detector resumes after skips in loud passages too.
 *  2. The worst case of the bound: ±1 samples with the signs of the taps
 *     of the half-sample phase, so that the interpolated point sums the
 *     magnitudes of all taps (~2.9, +9.2 dBTP from a 0 dBFS sample peak),
 *     with the threshold just below that reading: a bound any tighter
 *     than the filter's gain would skip it.
 */
static void test_skip(void)
{
	const double rate = 44100;
	const size_t n = 44100;
	float *il = fbuf(2 * n);
	int err, same = 1, below = 1;
	long skipped = 0, above = 0;
	struct chain_truepeak *a = chain_truepeak_new_dual(2, 8, rate, &err);
	struct chain_truepeak *b = chain_truepeak_new_dual(2, 8, rate, &err);
	static const double level_db[] = { 6, -6, 0, -24, -200, 3, -12 };
	uint32_t rnd = 1;

	ASSERT_TRUE("dual detectors", a && b);
	if (!a || !b)
		return;
	gen_music(il, n, 2, rate, 1.0, 21);
	for (size_t i = 0; i < n; i++) {
		size_t seg = (size_t)((double)i / (0.03 * rate));
		double g = db_to_lin(level_db[seg % 7]);

		il[2 * i] = (float)(il[2 * i] * g);
		il[2 * i + 1] = (float)(il[2 * i + 1] * g);
	}
	for (size_t i = 0; i < n; i++) {
		float thr = (float)db_to_lin((i / 1000) % 2 ? -1.0 : -7.0);
		float pa, pb;

		rnd = rnd * 1664525u + 1013904223u;
		if (rnd >> 29 == 0)
			thr = 1e30f;
		else if (rnd >> 29 == 1)
			thr = 0;
		pa = chain_truepeak_push(a, il + 2 * i, NULL);
		pb = chain_truepeak_push_above(b, il + 2 * i, thr);
		if (pa > thr) {
			above++;
			if (pa != pb)
				same = 0;
		} else {
			if (pb > thr)
				below = 0;
			if (pb != pa)
				skipped++;
		}
	}
	printf("push_above: %ld readings above the threshold, all identical: %s; %ld of %zu intervals answered without interpolation\n",
	       above, same ? "yes" : "NO", skipped, n);
	ASSERT_TRUE("push_above equals push above the threshold", same);
	ASSERT_TRUE("push_above stays <= the threshold below it", below);
	ASSERT_GE("readings above the threshold", above, 5000);
	ASSERT_GE("intervals skipped", skipped, 5000);

	/* 2: the worst case */
	{
		const size_t c = 300;
		float pk = 0, pk_above = 0;

		memset(il, 0, sizeof(float) * 2 * n);
		for (size_t i = c - CHAIN_TP_HALF + 1; i <= c + CHAIN_TP_HALF; i++) {
			double t = (double)i - c - 0.5;

			il[2 * i] = il[2 * i + 1] = sin(M_PI * 0.98 * t) / t >= 0 ? 1.0f : -1.0f;
		}
		chain_truepeak_reset(a);
		for (size_t i = 0; i < c + 3 * CHAIN_TP_HALF; i++)
			pk = fmaxf(pk, chain_truepeak_push(a, il + 2 * i, NULL));
		/* threshold just below the reading */
		chain_truepeak_reset(b);
		for (size_t i = 0; i < c + 3 * CHAIN_TP_HALF; i++)
			pk_above = fmaxf(pk_above, chain_truepeak_push_above(b, il + 2 * i,
									  0.999f * pk));
		printf("push_above, worst case for its bound: a 0 dBFS signal reads %+.2f dBTP, push_above %+.2f dBTP\n",
		       lin_to_db(pk), lin_to_db(pk_above));
		ASSERT_GE("worst case reads far above the sample peak (dBTP)", lin_to_db(pk), 9.0);
		ASSERT_TRUE("push_above reads the worst case too", pk_above == pk);
	}
	chain_truepeak_free(&a);
	chain_truepeak_free(&b);
	free(il);
}

int main(void)
{
	test_detector();
	test_meter_emulation();
	test_skip();
	test_latency_and_transparency();
	test_gain_reduction();
	test_release();
	test_ebu_cases();
	test_near_nyquist();
	test_music();
	test_noise();
	test_block_invariance();
	test_hostile();
	return test_done();
}

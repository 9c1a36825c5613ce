/*
 * test_loudness — refs/loudness.c against EBU Tech 3341 (V4, 2023) and
 * Tech 3342, with the test signals generated here from the specifications'
 * recipes (no EBU files needed).
 *
 * "Stereo sine at X dBFS" in Tech 3341 means a 1 kHz sine of peak X dBFS in
 * each of L and R.  Per ITU-R BS.1770-4 one channel of a full-scale 997 Hz
 * sine reads -3.01 LKFS (mean square 1/2, K-weighting gain cancelled by
 * the -0.691 constant), so the stereo pair reads X LUFS and a single
 * (mono) channel X - 3.01 LUFS.
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ebur128.h>

#include "refs/loudness.h"
#include "tests/util.h"

#define RATE    48000.0
#define TOL_LU  0.1 /* Tech 3341 §3: ±0.1 LU */
#define TOL_LRA 1.0 /* Tech 3342: ±1 LU */

struct seg {
	double dbfs; /* peak of the sine per channel; <= -200: silence */
	double seconds;
};

/* Feeds a phase-continuous 1 kHz sine through the segments in blocks of
 * `block` frames.  Returns 0 or the analyser's error. */
static int run_segments(const struct seg *s, int n, unsigned ch, double rate, size_t block,
                        struct refs_loudness *out)
{
	struct refs_analyser *a;
	float *buf = malloc(block * ch * sizeof(float));
	int64_t t = 0;
	int err;

	a = refs_analyser_new(ch, rate, &err);
	if (!a || !buf) {
		free(buf);
		refs_analyser_free(&a);
		return err ? err : REFS_LOUDNESS_ERROR_NOMEM;
	}
	for (int i = 0; i < n; i++) {
		int64_t len = llround(s[i].seconds * rate);
		double amp = s[i].dbfs <= -200 ? 0.0 : db_to_lin(s[i].dbfs);
		while (len > 0) {
			size_t k = (size_t)(len < (int64_t)block ? len : (int64_t)block);
			gen_sine(buf, k, ch, rate, 1000.0, amp,
			         2.0 * M_PI * fmod(1000.0 * (double)t / rate, 1.0));
			err = refs_analyser_add(a, buf, k);
			if (err)
				goto out;
			t += (int64_t)k;
			len -= (int64_t)k;
		}
	}
	err = refs_analyser_result(a, out);
out:
	refs_analyser_free(&a);
	free(buf);
	return err;
}

static void check_tech3341(void)
{
	static const struct seg c1[] = {{-23, 20}};
	static const struct seg c2[] = {{-33, 20}};
	static const struct seg c3[] = {{-36, 10}, {-23, 60}, {-36, 10}};
	static const struct seg c4[] = {{-72, 10}, {-36, 10}, {-23, 60}, {-36, 10}, {-72, 10}};
	static const struct seg c5[] = {{-26, 20}, {-20, 20.1}, {-26, 20}};
	struct refs_loudness r;
	struct seg c9[10], c12[50];

	/* case 1 and 2: M, S and I of a steady tone */
	ASSERT_INT("case 1 runs", 0, run_segments(c1, 1, 2, RATE, 4800, &r));
	printf("Tech 3341 case 1: I %.3f  M max %.3f  S max %.3f (expected -23.0)\n",
	       r.integrated_lufs, r.max_momentary_lufs, r.max_shortterm_lufs);
	ASSERT_CLOSE("case 1 integrated", -23.0, r.integrated_lufs, TOL_LU);
	ASSERT_CLOSE("case 1 max momentary", -23.0, r.max_momentary_lufs, TOL_LU);
	ASSERT_CLOSE("case 1 max short-term", -23.0, r.max_shortterm_lufs, TOL_LU);
	ASSERT_CLOSE("case 1 duration", 20.0, r.duration_s, 1e-9);
	ASSERT_CLOSE("case 1 sample peak", -23.0, r.sample_peak_dbfs, 0.01);
	ASSERT_CLOSE("case 1 LRA of a steady tone", 0.0, r.lra_lu, 0.1);

	ASSERT_INT("case 2 runs", 0, run_segments(c2, 1, 2, RATE, 4800, &r));
	printf("Tech 3341 case 2: I %.3f  M max %.3f  S max %.3f (expected -33.0)\n",
	       r.integrated_lufs, r.max_momentary_lufs, r.max_shortterm_lufs);
	ASSERT_CLOSE("case 2 integrated", -33.0, r.integrated_lufs, TOL_LU);
	ASSERT_CLOSE("case 2 max momentary", -33.0, r.max_momentary_lufs, TOL_LU);
	ASSERT_CLOSE("case 2 max short-term", -33.0, r.max_shortterm_lufs, TOL_LU);

	/* case 3: relative gate; case 4: absolute and relative gate */
	ASSERT_INT("case 3 runs", 0, run_segments(c3, 3, 2, RATE, 4800, &r));
	printf("Tech 3341 case 3: I %.3f (expected -23.0)\n", r.integrated_lufs);
	ASSERT_CLOSE("case 3 integrated", -23.0, r.integrated_lufs, TOL_LU);
	ASSERT_INT("case 4 runs", 0, run_segments(c4, 5, 2, RATE, 4800, &r));
	printf("Tech 3341 case 4: I %.3f (expected -23.0)\n", r.integrated_lufs);
	ASSERT_CLOSE("case 4 integrated", -23.0, r.integrated_lufs, TOL_LU);

	/* case 5: the 20.1 s part tests the gating-block overlap */
	ASSERT_INT("case 5 runs", 0, run_segments(c5, 3, 2, RATE, 4800, &r));
	printf("Tech 3341 case 5: I %.3f (expected -23.0)\n", r.integrated_lufs);
	ASSERT_CLOSE("case 5 integrated", -23.0, r.integrated_lufs, TOL_LU);

	/* case 9: 5 × (1.34 s at -20, 1.66 s at -30): every 3 s window holds
	 * one period, so S is constant at 10·log10((1.34·10^-2 + 1.66·10^-3)/3)
	 * = -22.99 LUFS once the window is full */
	for (int i = 0; i < 10; i++)
		c9[i] = (struct seg){i % 2 ? -30 : -20, i % 2 ? 1.66 : 1.34};
	ASSERT_INT("case 9 runs", 0, run_segments(c9, 10, 2, RATE, 4800, &r));
	printf("Tech 3341 case 9: S max %.3f (expected -23.0)\n", r.max_shortterm_lufs);
	ASSERT_CLOSE("case 9 max short-term", -23.0, r.max_shortterm_lufs, TOL_LU);

	/* case 12: 25 × (0.18 s at -20, 0.22 s at -30): M constant at -22.97 */
	for (int i = 0; i < 50; i++)
		c12[i] = (struct seg){i % 2 ? -30 : -20, i % 2 ? 0.22 : 0.18};
	ASSERT_INT("case 12 runs", 0, run_segments(c12, 50, 2, RATE, 4800, &r));
	printf("Tech 3341 case 12: M max %.3f (expected -23.0)\n", r.max_momentary_lufs);
	ASSERT_CLOSE("case 12 max momentary", -23.0, r.max_momentary_lufs, TOL_LU);
}

static void check_tech3342(void)
{
	static const struct seg c1[] = {{-20, 20}, {-30, 20}};
	static const struct seg c2[] = {{-20, 20}, {-15, 20}};
	static const struct seg c3[] = {{-40, 20}, {-20, 20}};
	static const struct seg c4[] = {{-50, 20}, {-35, 20}, {-20, 20}, {-35, 20}, {-50, 20}};
	static const struct {
		const struct seg *s;
		int n;
		double lra;
	} cases[] = {
	    {c1, 2, 10},
	    {c2, 2, 5},
	    {c3, 2, 20},
	    {c4, 5, 15},
	};
	struct refs_loudness r;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char what[64];
		snprintf(what, sizeof(what), "Tech 3342 case %zu LRA", i + 1);
		ASSERT_INT(what, 0, run_segments(cases[i].s, cases[i].n, 2, RATE, 4800, &r));
		printf("Tech 3342 case %zu: LRA %.3f (expected %.0f)\n", i + 1, r.lra_lu,
		       cases[i].lra);
		ASSERT_CLOSE(what, cases[i].lra, r.lra_lu, TOL_LRA);
	}
}

/* Tech 3341 cases 15-19: 48 kHz, fs/4 sine, 0.1 s Hann fades, 1 s.
 * Expected true peak with tolerance +0.2/-0.4 dB (Tech 3341 §2.7). */
static double tp_case(double amp, double phase_deg, double *sample_peak)
{
	size_t n = (size_t)RATE, fade = (size_t)(RATE / 10);
	float *x = malloc(n * sizeof(float));
	struct refs_loudness r;
	int err;

	gen_sine(x, n, 1, RATE, RATE / 4, amp, phase_deg * M_PI / 180.0);
	for (size_t i = 0; i < fade; i++) {
		double w = 0.5 - 0.5 * cos(M_PI * (double)i / (double)fade);
		x[i] = (float)(x[i] * w);
		x[n - 1 - i] = (float)(x[n - 1 - i] * w);
	}
	err = refs_loudness_measure(x, (int64_t)n, 1, RATE, &r, NULL, NULL);
	free(x);
	ASSERT_INT("true-peak case runs", 0, err);
	*sample_peak = r.sample_peak_dbfs;
	return r.true_peak_dbtp;
}

static void check_true_peak(void)
{
	static const struct {
		int tc;
		double amp, phase, expect;
	} cases[] = {
	    {15, 0.5, 0, -6.02},    {16, 0.5, 45, -6.02}, {17, 0.5, 60, -6.02},
	    {18, 0.5, 67.5, -6.02}, {19, 1.41, 45, 2.98},
	};
	double sp, tp;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char what[64];
		tp = tp_case(cases[i].amp, cases[i].phase, &sp);
		printf("Tech 3341 case %d: true peak %.3f dBTP (expected %.2f +0.2/-0.4), "
		       "sample peak %.3f dBFS\n",
		       cases[i].tc, tp, cases[i].expect, sp);
		snprintf(what, sizeof(what), "case %d true peak", cases[i].tc);
		ASSERT_LE(what, tp, cases[i].expect + 0.2);
		ASSERT_GE(what, tp, cases[i].expect - 0.4);
	}
	/* sqrt(2) at fs/4, 45°: every sample is ±1.0 (0 dBFS), the waveform
	 * peaks at +3.01 dBTP.  At fs/4 a 4× interpolator's grid is 22.5° of
	 * the sine, so it reads at worst cos(11.25°) = -0.17 dB low; libebur128
	 * lands on the crest at 45°. */
	tp = tp_case(M_SQRT2, 45, &sp);
	printf("fs/4 sqrt(2) 45 deg: sample peak %.3f dBFS, true peak %.3f dBTP (expected +3.01)\n",
	       sp, tp);
	ASSERT_CLOSE("0 dBFS samples", 0.0, sp, 0.001);
	ASSERT_CLOSE("+3.01 dBTP between them", 3.01, tp, 0.2);
}

/* Bursts against the window formula: a burst of d seconds at X dBFS in
 * silence reads X + 10·log10(min(d, W)/W) at best, W = 0.4 s (M) or 3 s (S);
 * with 10 ms polling a burst of exactly W loses at most 10·log10((W-5 ms)/W). */
static void check_bursts(void)
{
	struct refs_loudness r;
	const struct seg b1[] = {{-300, 1.0037}, {-23, 0.4}, {-300, 1}};
	const struct seg b2[] = {{-300, 0.5}, {-20, 0.2}, {-300, 1}};
	const struct seg b3[] = {{-300, 0.5}, {-20, 1.5}, {-300, 3}};
	const struct seg b4[] = {{-300, 0.7513}, {-23, 3.0}, {-300, 1}};

	ASSERT_INT("burst 0.4 s runs", 0, run_segments(b1, 3, 2, RATE, 1000, &r));
	printf("0.4 s burst at -23 dBFS, 3.7 ms off the grid: M max %.3f (formula >= %.3f)\n",
	       r.max_momentary_lufs, -23 + 10 * log10(0.395 / 0.4));
	ASSERT_CLOSE("0.4 s burst max momentary", -23.0, r.max_momentary_lufs, TOL_LU);
	ASSERT_GE("0.4 s burst within polling loss", r.max_momentary_lufs,
	          -23 + 10 * log10(0.395 / 0.4) - 0.02);

	ASSERT_INT("burst 0.2 s runs", 0, run_segments(b2, 3, 2, RATE, 777, &r));
	printf("0.2 s burst at -20 dBFS: M max %.3f (formula %.3f)\n", r.max_momentary_lufs,
	       -20 + 10 * log10(0.2 / 0.4));
	ASSERT_CLOSE("0.2 s burst max momentary", -20 + 10 * log10(0.2 / 0.4), r.max_momentary_lufs,
	             TOL_LU);

	ASSERT_INT("burst 1.5 s runs", 0, run_segments(b3, 3, 2, RATE, 4096, &r));
	printf("1.5 s burst at -20 dBFS: S max %.3f (formula %.3f), M max %.3f (formula -20)\n",
	       r.max_shortterm_lufs, -20 + 10 * log10(1.5 / 3), r.max_momentary_lufs);
	ASSERT_CLOSE("1.5 s burst max short-term", -20 + 10 * log10(1.5 / 3), r.max_shortterm_lufs,
	             TOL_LU);
	ASSERT_CLOSE("1.5 s burst max momentary", -20.0, r.max_momentary_lufs, TOL_LU);

	ASSERT_INT("burst 3 s runs", 0, run_segments(b4, 3, 2, RATE, 480, &r));
	printf("3 s burst at -23 dBFS, 1.3 ms off the grid: S max %.3f (expected -23)\n",
	       r.max_shortterm_lufs);
	ASSERT_CLOSE("3 s burst max short-term", -23.0, r.max_shortterm_lufs, TOL_LU);
}

static void check_misc(void)
{
	static const struct seg tone[] = {{-23, 10}};
	static const struct seg quiet[] = {{-300, 5}};
	static const size_t blocks[] = {1, 37, 4800, 100000};
	struct refs_loudness r, ref;

	/* one channel: measured as one channel (BS.1770), 3.01 LU below */
	ASSERT_INT("mono runs", 0, run_segments(tone, 1, 1, RATE, 4800, &r));
	printf("mono -23 dBFS sine: I %.3f (expected -26.01)\n", r.integrated_lufs);
	ASSERT_CLOSE("mono integrated", -23.0 - 3.0103, r.integrated_lufs, TOL_LU);

	/* other rates */
	ASSERT_INT("44.1 kHz runs", 0, run_segments(tone, 1, 2, 44100, 4410, &r));
	ASSERT_CLOSE("44.1 kHz integrated", -23.0, r.integrated_lufs, TOL_LU);
	ASSERT_INT("96 kHz runs", 0, run_segments(tone, 1, 2, 96000, 4410, &r));
	ASSERT_CLOSE("96 kHz integrated", -23.0, r.integrated_lufs, TOL_LU);

	/* 22050 Hz is not a multiple of 100 Hz: momentary/short-term are read
	 * from libebur128 directly; the burst formulas hold there too */
	{
		const struct seg b[] = {
		    {-300, 0.5}, {-20, 0.2}, {-300, 0.5}, {-20, 1.5}, {-300, 3}};
		ASSERT_INT("22.05 kHz runs", 0, run_segments(b, 5, 2, 22050, 1000, &r));
		printf("22.05 kHz bursts: M max %.3f (formula -20.0), S max %.3f (formula %.3f)\n",
		       r.max_momentary_lufs, r.max_shortterm_lufs,
		       10 * log10((0.2 * 0.01 + 1.5 * 0.01) / 3));
		ASSERT_CLOSE("22.05 kHz max momentary", -20.0, r.max_momentary_lufs, TOL_LU);
		ASSERT_CLOSE("22.05 kHz max short-term", 10 * log10((0.2 * 0.01 + 1.5 * 0.01) / 3),
		             r.max_shortterm_lufs, TOL_LU);
	}

	/* silence: everything gated, peaks -inf */
	ASSERT_INT("silence runs", 0, run_segments(quiet, 1, 2, RATE, 4800, &r));
	ASSERT_TRUE("silence integrated -inf", isinf(r.integrated_lufs) && r.integrated_lufs < 0);
	ASSERT_TRUE("silence true peak -inf", isinf(r.true_peak_dbtp) && r.true_peak_dbtp < 0);
	ASSERT_TRUE("silence max momentary -inf",
	            isinf(r.max_momentary_lufs) && r.max_momentary_lufs < 0);
	ASSERT_CLOSE("silence LRA", 0.0, r.lra_lu, 0.0);

	/* block-size invariance: the 10 ms polling grid is the file's */
	{
		const struct seg b[] = {{-300, 0.3011}, {-20, 0.25}, {-30, 2}};
		ASSERT_INT("blocks ref runs", 0, run_segments(b, 3, 2, RATE, 480, &ref));
		for (size_t i = 0; i < sizeof(blocks) / sizeof(blocks[0]); i++) {
			ASSERT_INT("blocks run", 0, run_segments(b, 3, 2, RATE, blocks[i], &r));
			ASSERT_CLOSE("same integrated", ref.integrated_lufs, r.integrated_lufs,
			             1e-9);
			ASSERT_CLOSE("same max momentary", ref.max_momentary_lufs,
			             r.max_momentary_lufs, 1e-9);
			ASSERT_CLOSE("same max short-term", ref.max_shortterm_lufs,
			             r.max_shortterm_lufs, 1e-9);
			ASSERT_CLOSE("same true peak", ref.true_peak_dbtp, r.true_peak_dbtp, 1e-9);
		}
	}
}

static int cancel_at(void *user, double fraction)
{
	int *calls = user;

	(*calls)++;
	return fraction > 0.0;
}

static int count_calls(void *user, double fraction)
{
	int *calls = user;

	(void)fraction;
	(*calls)++;
	return 0;
}

static void check_api(void)
{
	size_t n = (size_t)(RATE * 2);
	float *x = calloc(n * 2, sizeof(float));
	float bad[4] = {NAN, INFINITY, 0.5f, -0.5f};
	struct refs_loudness r;
	struct refs_analyser *a;
	int calls = 0, err = -1;

	gen_sine(x, n, 2, RATE, 1000, db_to_lin(-23), 0);
	ASSERT_INT("cancel", REFS_LOUDNESS_ERROR_CANCELLED,
	           refs_loudness_measure(x, (int64_t)n, 2, RATE, &r, cancel_at, &calls));
	ASSERT_TRUE("progress called", calls >= 1);
	calls = 0;
	ASSERT_INT("measure with progress", 0,
	           refs_loudness_measure(x, (int64_t)n, 2, RATE, &r, count_calls, &calls));
	ASSERT_TRUE("progress called to the end", calls >= 1);
	ASSERT_CLOSE("measure integrated", -23.0, r.integrated_lufs, TOL_LU);

	ASSERT_TRUE("0 channels refused", refs_analyser_new(0, RATE, &err) == NULL);
	ASSERT_INT("0 channels error", REFS_LOUDNESS_ERROR_EBUR128, err);
	ASSERT_TRUE("rate 0 refused", refs_analyser_new(2, 0, &err) == NULL);

	/* NaN/Inf are fed as silence, not poisoning the state */
	a = refs_analyser_new(2, RATE, &err);
	ASSERT_TRUE("analyser", a != NULL);
	ASSERT_INT("add non-finite", 0, refs_analyser_add(a, bad, 2));
	ASSERT_INT("add tone", 0, refs_analyser_add(a, x, n));
	ASSERT_INT("result", 0, refs_analyser_result(a, &r));
	ASSERT_TRUE("finite integrated", isfinite(r.integrated_lufs));
	refs_analyser_free(&a);
	ASSERT_TRUE("free clears", a == NULL);
	refs_analyser_free(&a);

	ASSERT_TRUE("strerror",
	            !strcmp(refs_loudness_strerror(REFS_LOUDNESS_ERROR_CANCELLED), "cancelled"));
	ASSERT_TRUE("strerror unknown", refs_loudness_strerror(99) != NULL);
	free(x);
}

/* Feeds x (n frames of ch channels) to a in blocks of pseudo-random sizes
 * (seeded) up to max_block; 0 or the first error. */
static int feed_blocks(struct refs_analyser *a, const float *x, size_t n, unsigned ch,
                       size_t max_block, uint32_t seed)
{
	size_t done = 0;

	while (done < n) {
		size_t k;
		int err;

		seed = seed * 1664525u + 1013904223u;
		k = 1 + (seed >> 8) % max_block;
		if (k > n - done)
			k = n - done;
		err = refs_analyser_add(a, x + done * ch, k);
		if (err)
			return err;
		done += k;
	}
	return 0;
}

/*
 * REFS_ANALYSER_OWN_TRUE_PEAK: the true peak by chain/truepeak.c's meter
 * must be libebur128's to the last bit, and every other figure the same
 * as without the flag: full-band and differentiated noise (energy near
 * Nyquist, where the interpolated points lie well above the samples),
 * music, a sine near Nyquist whose largest point falls in the last frames
 * (libebur128 does not read the points of its last 6 frames at 4×, 12 at
 * 2×: neither may the meter), at 44.1, 48, 96 and 192 kHz (4×, 2×, none),
 * stereo and mono, fed in blocks of random sizes.
 */
static void check_own_true_peak(void)
{
	const double rates[] = {44100, 48000, 96000, 192000};
	const size_t n = 30000;
	float *x = malloc(n * 2 * sizeof(float));
	int exact = 0, cases = 0, interp = 0;

	for (unsigned q = 0; q < sizeof(rates) / sizeof(rates[0]); q++)
		for (unsigned k = 0; k < 8; k++) {
			unsigned ch = k % 4 == 3 ? 1 : 2;
			struct refs_loudness r0, r1;
			struct refs_analyser *a0, *a1;
			int err;
			double sp = 0;

			if (k % 4 == 0)
				gen_noise(x, n, ch, 0.7, 300 + k + 10 * q);
			else if (k % 4 == 1) {
				gen_noise(x, n, ch, 0.9, 400 + k + 10 * q);
				for (size_t i = n * ch - 1; i >= ch; i--)
					x[i] = 0.5f * (x[i] - x[i - ch]);
			} else if (k % 4 == 2) {
				gen_music(x, n, ch, rates[q], 0.8, 500 + k);
			} else {
				/* quiet, then a burst near Nyquist at the very end */
				gen_noise(x, n, ch, 0.05, 600 + k);
				for (size_t i = n - 9; i < n; i++)
					x[i] = (i % 2 ? 0.95f : -0.95f) * (k > 4 ? 1 : (float)(n - i) / 9);
			}
			a0 = refs_analyser_new(ch, rates[q], &err);
			a1 = refs_analyser_new_flags(ch, rates[q], REFS_ANALYSER_OWN_TRUE_PEAK, &err);
			ASSERT_TRUE("analysers", a0 && a1);
			if (!a0 || !a1) {
				refs_analyser_free(&a0);
				refs_analyser_free(&a1);
				continue;
			}
			ASSERT_INT("feed", 0, feed_blocks(a0, x, n, ch, 5000, 7 + k));
			ASSERT_INT("feed (own true peak)", 0, feed_blocks(a1, x, n, ch, 3000, 11 + k));
			ASSERT_INT("result", 0, refs_analyser_result(a0, &r0));
			ASSERT_INT("result (own true peak)", 0, refs_analyser_result(a1, &r1));
			for (size_t i = 0; i < n * ch; i++)
				sp = fmax(sp, fabs(x[i]));
			cases++;
			exact += r0.true_peak_dbtp == r1.true_peak_dbtp;
			interp += r1.true_peak_dbtp > lin_to_db(sp) + 0.01;
			if (r0.true_peak_dbtp != r1.true_peak_dbtp)
				printf("  own true peak %.17g vs libebur128 %.17g dBTP (%.0f Hz, signal %u)\n",
				       r1.true_peak_dbtp, r0.true_peak_dbtp, rates[q], k);
			ASSERT_TRUE("the other figures are the same",
			            r0.integrated_lufs == r1.integrated_lufs && r0.lra_lu == r1.lra_lu &&
			                r0.sample_peak_dbfs == r1.sample_peak_dbfs &&
			                r0.max_momentary_lufs == r1.max_momentary_lufs &&
			                r0.max_shortterm_lufs == r1.max_shortterm_lufs &&
			                r0.duration_s == r1.duration_s);
			/* the stream is over; the result stays */
			ASSERT_INT("add after the result refused", REFS_LOUDNESS_ERROR_EBUR128,
			           refs_analyser_add(a1, x, 1));
			ASSERT_INT("result again", 0, refs_analyser_result(a1, &r0));
			ASSERT_TRUE("the same true peak again", r0.true_peak_dbtp == r1.true_peak_dbtp);
			refs_analyser_free(&a0);
			refs_analyser_free(&a1);
		}
	printf("own true peak: %d of %d cases equal libebur128's to the last bit (%d read "
	       "between samples)\n", exact, cases, interp);
	ASSERT_INT("own true peak equals libebur128's", cases, exact);
	ASSERT_GE("cases read between samples", interp, 12);
	{
		int err = 0;

		ASSERT_TRUE("more than 8 channels refused with the flag",
		            refs_analyser_new_flags(9, RATE, REFS_ANALYSER_OWN_TRUE_PEAK, &err) == NULL);
		ASSERT_INT("its error", REFS_LOUDNESS_ERROR_EBUR128, err);
		ASSERT_TRUE("unknown flags refused", refs_analyser_new_flags(2, RATE, 1u << 7, &err) == NULL);
	}
	free(x);
}

/*
 * REFS_ANALYSER_OWN_LOUDNESS feeds its true-peak meter only around the
 * stretches whose samples could read above the largest reading so far
 * (refs/loudness.c, own_feed()): the true peak must still be libebur128's
 * to the last bit where that skipping matters most: quiet material with
 * isolated events of rising level, so that one after the other raises the
 * reading, placed at random and on the 10 ms grid (where the meter is
 * restarted, and stops), each either a lone sample, a burst at Nyquist,
 * or the signs of the half-sample interpolation taps (reading up to 1.86
 * times its samples: an event whose samples lie below the reading so far
 * and whose interpolated point lies above it); and events whose largest
 * point lies within the meter's reach of a 10 ms boundary, on the side
 * that alone could not raise the reading (where the meter must start
 * early and stop late); at 44.1, 48 and 96 kHz, fed in blocks of random
 * sizes and in blocks of 1.
 */
static void check_own_true_peak_sparse(void)
{
	const double rates[] = { 44100, 48000, 96000 };
	int cases = 0, exact = 0, interp = 0;

	for (unsigned q = 0; q < sizeof(rates) / sizeof(rates[0]); q++)
		for (unsigned k = 0; k < 6; k++) {
			size_t n = (size_t)(4 * rates[q]) + 77, grid = (size_t)(rates[q] / 100);
			float *x = malloc(n * 2 * sizeof(float));
			uint32_t seed = 1234 + 17 * k + 101 * q;
			double amp = k == 3 ? 0.6 : 0.02, sp = 0;
			struct refs_loudness r0, r1, r2;
			struct refs_analyser *a0, *a1, *a2;
			int err;

			gen_music(x, n, 2, rates[q], 0.003, 70 + k);
			if (k >= 4) {
				/* one loud sample, then an event at a 10 ms
				 * boundary b whose largest point lies in an
				 * interval within 6 frames of it, on the side of
				 * samples that alone cannot read above the first
				 * (at 4×: 1.86 · 0.265 < 0.5): half a frame before b
				 * (k == 4), or after (5) */
				size_t b = 50 * grid;
				double p = k == 4 ? (double)b - 0.5 : (double)b + 0.5;

				memset(x, 0, n * 2 * sizeof(float));
				x[2 * 1000] = 0.5f;
				for (size_t j = b - 6; j <= b + 6; j++) {
					double d = p - (double)j;
					double sg = sin(M_PI * d) / d > 0 ? 1 : -1;

					if (j == (k == 4 ? b : b - 1))
						x[2 * j] = (float)(0.45 * sg);
					else if (k == 5 || j < b)
						x[2 * j] = (float)(0.265 * sg);
				}
			}
			for (int e = 0; k < 4 && e < 60; e++) {
				size_t pos;
				unsigned c, kind;

				seed = seed * 1664525u + 1013904223u;
				pos = 20 + (seed >> 8) % (n - 40);
				if (e % 3 == 0) /* within 13 frames of a 10 ms boundary */
					pos = pos / grid * grid + (seed >> 4) % 27 + grid - 13;
				if (pos + 12 >= n)
					pos = n / 2;
				c = (seed >> 3) & 1;
				kind = (seed >> 5) % 3;
				/* rising, or (k == 3) falling after a loud start,
				 * with a last one above everything */
				amp *= k == 3 ? 0.97 : 1.07;
				if (k == 3 && e == 59)
					amp = 0.5;
				if (amp > 0.98)
					amp = 0.98;
				for (int j = -12; j <= 12; j++) {
					double v;

					if (kind == 0)
						v = j == 0 ? amp : 0;
					else if (kind == 1)
						v = abs(j) <= 6 ? (j % 2 ? -amp : amp) : 0;
					else /* the signs of sinc(j + 1/2): of the taps
					      * of the point half a frame before pos */
						v = abs(j) <= 6 ? (sin(M_PI * (j + 0.5)) / (j + 0.5) > 0 ?
						                   amp : -amp) : 0;
					if (v != 0)
						x[(pos + j) * 2 + c] = (float)v;
				}
			}
			for (size_t i = 0; i < 2 * n; i++)
				sp = fmax(sp, fabs(x[i]));
			a0 = refs_analyser_new(2, rates[q], &err);
			a1 = refs_analyser_new_flags(2, rates[q], REFS_ANALYSER_OWN_LOUDNESS, &err);
			a2 = refs_analyser_new_flags(2, rates[q], REFS_ANALYSER_OWN_LOUDNESS, &err);
			ASSERT_TRUE("analysers", a0 && a1 && a2);
			if (a0 && a1 && a2) {
				ASSERT_INT("feed", 0, feed_blocks(a0, x, n, 2, 5000, 3 + k));
				ASSERT_INT("feed (own)", 0, feed_blocks(a1, x, n, 2, 3000, 5 + k));
				for (size_t i = 0; i < n; i++)
					refs_analyser_add(a2, x + 2 * i, 1);
				ASSERT_INT("result", 0, refs_analyser_result(a0, &r0));
				ASSERT_INT("result (own)", 0, refs_analyser_result(a1, &r1));
				ASSERT_INT("result (own, frame by frame)", 0, refs_analyser_result(a2, &r2));
				cases++;
				exact += r1.true_peak_dbtp == r0.true_peak_dbtp &&
				         r2.true_peak_dbtp == r0.true_peak_dbtp;
				interp += r1.true_peak_dbtp > lin_to_db(sp) + 0.3;
				if (r1.true_peak_dbtp != r0.true_peak_dbtp || r2.true_peak_dbtp != r0.true_peak_dbtp)
					printf("  sparse: own true peak %.17g (frame by frame %.17g) vs "
					       "libebur128 %.17g dBTP (%.0f Hz, signal %u)\n",
					       r1.true_peak_dbtp, r2.true_peak_dbtp, r0.true_peak_dbtp,
					       rates[q], k);
			}
			refs_analyser_free(&a0);
			refs_analyser_free(&a1);
			refs_analyser_free(&a2);
			free(x);
		}
	printf("own true peak, sparse events: %d of %d cases equal libebur128's to the last bit "
	       "(%d read 0.3 dB or more above the samples)\n", exact, cases, interp);
	ASSERT_INT("sparse events: libebur128's true peak", cases, exact);
	ASSERT_GE("sparse events read between samples", interp, 12);
}

/*
 * The judge for REFS_ANALYSER_OWN_LOUDNESS: libebur128 itself, run here
 * on the same frames (modes I, LRA, M, S, sample peak; not histogram),
 * momentary and short-term read at every 10 ms boundary of the frame grid
 * (round(k · rate / 100)) and once at the end, as refs/loudness.h
 * documents the polling.  Where 10 ms is a whole number of frames the
 * short-term value is the mean of the last 300 ebur128_loudness_window()
 * readings of 10 ms (the same frames as ebur128_loudness_shortterm(),
 * without summing 3 s of audio every 10 ms: that would make this test
 * slow); elsewhere, and at the end, ebur128_loudness_shortterm() itself.
 */
static int judge_ebur128(const float *x, size_t n, unsigned ch, double rate,
                         struct refs_loudness *out)
{
	ebur128_state *st = ebur128_init(ch, (unsigned long)lround(rate),
	                                 EBUR128_MODE_I | EBUR128_MODE_LRA | EBUR128_MODE_M |
	                                     EBUR128_MODE_S | EBUR128_MODE_SAMPLE_PEAK);
	size_t done = 0;
	double v, max_m = -HUGE_VAL, max_s = -HUGE_VAL, sp = 0, ten[300] = { 0 };
	int whole = lround(rate) % 100 == 0;

	if (!st)
		return 1;
	for (int64_t k = 1; done < n; k++) {
		size_t to = (size_t)llround((double)k * rate / 100.0);

		if (to > n)
			to = n;
		if (ebur128_add_frames_float(st, x + done * ch, to - done))
			break;
		done = to;
		if (ebur128_loudness_momentary(st, &v) == EBUR128_SUCCESS && v > max_m)
			max_m = v;
		if (whole && done == (size_t)llround((double)k * rate / 100.0)) {
			double e = 0;

			if (ebur128_loudness_window(st, 10, &v) != EBUR128_SUCCESS)
				break;
			ten[k % 300] = isfinite(v) ? pow(10.0, (v + 0.691) / 10.0) : 0.0;
			for (int i = 0; i < 300; i++)
				e += ten[i];
			v = e > 0 ? 10 * log10(e / 300) - 0.691 : -HUGE_VAL;
		} else if (ebur128_loudness_shortterm(st, &v) != EBUR128_SUCCESS) {
			break;
		}
		if (v > max_s)
			max_s = v;
	}
	memset(out, 0, sizeof(*out));
	ebur128_loudness_global(st, &out->integrated_lufs);
	ebur128_loudness_range(st, &out->lra_lu);
	for (unsigned c = 0; c < ch; c++)
		if (ebur128_sample_peak(st, c, &v) == EBUR128_SUCCESS && v > sp)
			sp = v;
	out->sample_peak_dbfs = lin_to_db(sp);
	out->max_momentary_lufs = max_m;
	out->max_shortterm_lufs = max_s;
	out->duration_s = (double)n / rate;
	ebur128_destroy(&st);
	return done == n ? 0 : 1;
}

/* Both -inf, or within tol. */
static int same_lu(double a, double b, double tol, double *worst)
{
	if (isinf(a) || isinf(b))
		return a == b;
	if (fabs(a - b) > *worst)
		*worst = fabs(a - b);
	return fabs(a - b) <= tol;
}

/* Test signal k of the own-meter cases (n frames, ch channels). */
static const char *own_signal(float *x, size_t n, unsigned ch, double rate, int k)
{
	switch (k) {
	case 0:
		gen_music(x, n, ch, rate, 0.5, 21);
		return "music";
	case 1:
		/* the music's level riding over 30 dB, for a loudness range */
		gen_music(x, n, ch, rate, 0.7, 22);
		for (size_t i = 0; i < n; i++) {
			double g = db_to_lin(-30.0 * (0.5 + 0.5 * sin(2 * M_PI * (double)i / (double)n)));

			for (unsigned c = 0; c < ch; c++)
				x[i * ch + c] = (float)(x[i * ch + c] * g);
		}
		return "music, level riding";
	case 2:
		gen_noise(x, n, ch, 0.4, 23);
		return "white noise";
	case 3:
		/* a 40 Hz tone (where the high-pass bites) in L, 15 kHz (the
		 * shelf) in R, and their sum in mono */
		for (size_t i = 0; i < n; i++) {
			double t = (double)i / rate;
			double lo = 0.5 * sin(2 * M_PI * 40 * t), hi = 0.05 * sin(2 * M_PI * 15000 * t);

			if (ch == 1)
				x[i] = (float)(lo + hi);
			else {
				x[2 * i] = (float)lo;
				x[2 * i + 1] = (float)hi;
			}
		}
		return "tones 40 Hz and 15 kHz";
	default: {
		/* gated material: a tone, digital silence, a stretch under the
		 * absolute gate (-80 dBFS), one under the relative gate (-45),
		 * the tone again, and a burst in the last partial 10 ms */
		static const double lvl[] = { -20, -400, -80, -45, -23 };
		size_t part = n / 5;

		for (unsigned s = 0; s < 5; s++) {
			size_t m = s == 4 ? n - 4 * part : part;

			gen_sine(x + s * part * ch, m, ch, rate, 997,
			         lvl[s] < -300 ? 0 : db_to_lin(lvl[s]), 0.3 * s);
		}
		for (size_t i = n - 100; i < n; i++)
			for (unsigned c = 0; c < ch; c++)
				x[i * ch + c] = (float)(0.9 * sin(2 * M_PI * 3000 * (double)i / rate));
		return "gated tone, burst at the end";
	}
	}
}

/*
 * REFS_ANALYSER_OWN_LOUDNESS against libebur128 (the judge above):
 * integrated, LRA, max momentary and max short-term within 1e-4 LU, the
 * sample peak the same, the true peak that of REFS_ANALYSER_OWN_TRUE_PEAK
 * (itself libebur128's to the bit: check_own_true_peak()), on music,
 * music riding over 30 dB, noise, tones at both ends of the K-weighting,
 * and gated material, at 44.1, 48 and 96 kHz (22.05 kHz too: its 10 ms
 * chunks alternate 220 and 221 frames), stereo and mono, fed in blocks of
 * random sizes; then the same figures to the bit in any block sizes.
 */
static void check_own_loudness(void)
{
	const double rates[] = { 44100, 48000, 96000, 22050 };
	const double tol = 1e-4;
	double worst[4] = { 0, 0, 0, 0 };
	int cases = 0;

	for (unsigned q = 0; q < sizeof(rates) / sizeof(rates[0]); q++)
		for (int k = 0; k < 6; k++) {
			unsigned ch = k == 5 ? 1 : 2;
			/* 8.3 s and a few frames off the 10 ms grid (the
			 * shorter at 96 kHz: the judge polls 3 s sums) */
			size_t n = (size_t)((rates[q] > 50000 ? 6.3 : 8.3) * rates[q]) + 123;
			float *x = malloc(n * ch * sizeof(float));
			struct refs_loudness r, j, t;
			struct refs_analyser *a, *b;
			const char *what;
			char msg[160];
			int err;

			what = own_signal(x, n, ch, rates[q], k == 5 ? 0 : k);
			ASSERT_INT("judge runs", 0, judge_ebur128(x, n, ch, rates[q], &j));
			a = refs_analyser_new_flags(ch, rates[q], REFS_ANALYSER_OWN_LOUDNESS, &err);
			b = refs_analyser_new_flags(ch, rates[q], REFS_ANALYSER_OWN_TRUE_PEAK, &err);
			ASSERT_TRUE("analysers", a && b);
			if (!a || !b) {
				refs_analyser_free(&a);
				refs_analyser_free(&b);
				free(x);
				continue;
			}
			ASSERT_INT("feed", 0, feed_blocks(a, x, n, ch, 3000, 31 + k));
			ASSERT_INT("feed (true peak)", 0, feed_blocks(b, x, n, ch, 5000, 37 + k));
			ASSERT_INT("result", 0, refs_analyser_result(a, &r));
			ASSERT_INT("result (true peak)", 0, refs_analyser_result(b, &t));
			cases++;
			snprintf(msg, sizeof(msg), "%s, %u ch, %.0f Hz", what, ch, rates[q]);
			if (!same_lu(r.integrated_lufs, j.integrated_lufs, tol, &worst[0]) ||
			    !same_lu(r.lra_lu, j.lra_lu, tol, &worst[1]) ||
			    !same_lu(r.max_momentary_lufs, j.max_momentary_lufs, tol, &worst[2]) ||
			    !same_lu(r.max_shortterm_lufs, j.max_shortterm_lufs, tol, &worst[3]))
				printf("  %s: own I %.6f LRA %.6f M %.6f S %.6f, libebur128 %.6f %.6f "
				       "%.6f %.6f\n", msg, r.integrated_lufs, r.lra_lu,
				       r.max_momentary_lufs, r.max_shortterm_lufs, j.integrated_lufs,
				       j.lra_lu, j.max_momentary_lufs, j.max_shortterm_lufs);
			ASSERT_CLOSE(msg, j.integrated_lufs, r.integrated_lufs, tol);
			ASSERT_CLOSE("LRA", j.lra_lu, r.lra_lu, tol);
			ASSERT_CLOSE("max momentary", j.max_momentary_lufs, r.max_momentary_lufs, tol);
			ASSERT_CLOSE("max short-term", j.max_shortterm_lufs, r.max_shortterm_lufs, tol);
			ASSERT_TRUE("sample peak the same", r.sample_peak_dbfs == j.sample_peak_dbfs);
			ASSERT_TRUE("true peak the same", r.true_peak_dbtp == t.true_peak_dbtp);
			ASSERT_CLOSE("duration", j.duration_s, r.duration_s, 1e-12);
			if (k == 2)
				ASSERT_TRUE("the gates let noise through", isfinite(r.integrated_lufs));
			/* any block sizes: the same figures to the bit */
			if (q == 0 && (k == 0 || k == 4)) {
				static const size_t blocks[] = { 1, 441, 100000 };

				for (size_t i = 0; i < sizeof(blocks) / sizeof(blocks[0]); i++) {
					struct refs_loudness r2;
					struct refs_analyser *c = refs_analyser_new_flags(
					    ch, rates[q], REFS_ANALYSER_OWN_LOUDNESS, &err);

					for (size_t d = 0; c && d < n; d += blocks[i])
						refs_analyser_add(c, x + d * ch,
						                  n - d < blocks[i] ? n - d : blocks[i]);
					ASSERT_INT("result", 0, c ? refs_analyser_result(c, &r2) : 1);
					ASSERT_TRUE("the same in any block sizes",
					            c && r2.integrated_lufs == r.integrated_lufs &&
					                r2.lra_lu == r.lra_lu &&
					                r2.max_momentary_lufs == r.max_momentary_lufs &&
					                r2.max_shortterm_lufs == r.max_shortterm_lufs &&
					                r2.true_peak_dbtp == r.true_peak_dbtp);
					refs_analyser_free(&c);
				}
			}
			refs_analyser_free(&a);
			refs_analyser_free(&b);
			free(x);
		}
	printf("own loudness: %d cases against libebur128, worst |difference| I %.2g, LRA %.2g, "
	       "M %.2g, S %.2g LU (allowed %.0g)\n",
	       cases, worst[0], worst[1], worst[2], worst[3], tol);

	/* silence, a 0.25 s stream (shorter than a block), and a rate that
	 * is not a multiple of 10 Hz (libebur128 measures: the same) */
	{
		float *x = calloc(48000 * 2, sizeof(float));
		struct refs_loudness r, j;
		struct refs_analyser *a = refs_analyser_new_flags(2, RATE, REFS_ANALYSER_OWN_LOUDNESS, NULL);

		ASSERT_INT("silence", 0, a ? refs_analyser_add(a, x, 48000) : 1);
		ASSERT_INT("silence result", 0, a ? refs_analyser_result(a, &r) : 1);
		ASSERT_TRUE("silence: integrated -inf", isinf(r.integrated_lufs) && r.integrated_lufs < 0);
		ASSERT_TRUE("silence: max momentary -inf",
		            isinf(r.max_momentary_lufs) && r.max_momentary_lufs < 0);
		ASSERT_TRUE("silence: true peak -inf", isinf(r.true_peak_dbtp));
		ASSERT_CLOSE("silence: LRA 0", 0.0, r.lra_lu, 0.0);
		refs_analyser_free(&a);

		gen_sine(x, 12000, 2, RATE, 1000, db_to_lin(-20), 0);
		a = refs_analyser_new_flags(2, RATE, REFS_ANALYSER_OWN_LOUDNESS, NULL);
		ASSERT_INT("0.25 s", 0, a ? refs_analyser_add(a, x, 12000) : 1);
		ASSERT_INT("0.25 s result", 0, a ? refs_analyser_result(a, &r) : 1);
		ASSERT_INT("0.25 s judge", 0, judge_ebur128(x, 12000, 2, RATE, &j));
		ASSERT_TRUE("0.25 s: no block, integrated -inf", isinf(r.integrated_lufs));
		ASSERT_CLOSE("0.25 s: max momentary (the window's zeros count)",
		             j.max_momentary_lufs, r.max_momentary_lufs, tol);
		ASSERT_CLOSE("0.25 s: max momentary by the formula",
		             -20 + 10 * log10(0.25 / 0.4), r.max_momentary_lufs, 0.01);
		refs_analyser_free(&a);

		gen_music(x, 22050, 2, 11025, 0.5, 5);
		{
			struct refs_analyser *o = refs_analyser_new_flags(2, 11025, REFS_ANALYSER_OWN_LOUDNESS, NULL);
			struct refs_analyser *e = refs_analyser_new_flags(2, 11025, REFS_ANALYSER_OWN_TRUE_PEAK, NULL);

			ASSERT_TRUE("11025 Hz analysers", o && e);
			if (o && e) {
				refs_analyser_add(o, x, 22050);
				refs_analyser_add(e, x, 22050);
				refs_analyser_result(o, &r);
				refs_analyser_result(e, &j);
				ASSERT_TRUE("11025 Hz: libebur128's figures",
				            r.integrated_lufs == j.integrated_lufs &&
				                r.max_shortterm_lufs == j.max_shortterm_lufs &&
				                r.true_peak_dbtp == j.true_peak_dbtp);
			}
			refs_analyser_free(&o);
			refs_analyser_free(&e);
		}
		ASSERT_TRUE("more than 8 channels with the flag: libebur128",
		            (a = refs_analyser_new_flags(12, RATE, REFS_ANALYSER_OWN_LOUDNESS, NULL)) != NULL);
		refs_analyser_free(&a);
		free(x);
	}
}

int main(void)
{
	check_own_loudness();
	check_own_true_peak();
	check_own_true_peak_sparse();
	check_tech3341();
	check_tech3342();
	check_true_peak();
	check_bursts();
	check_misc();
	check_api();
	return test_done();
}

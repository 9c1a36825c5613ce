/*
 * termaster — unit test: TPDF dither and word-length reduction
 * (chain/dither.c).
 *
 * Theory (Vanderkooy & Lipshitz 1984; Wannamaker, Lipshitz & Vanderkooy
 * 2000): with rounding after triangular-PDF dither of 2 LSB peak to peak,
 * the total error e = out - in has mean 0 and variance LSB²/12 (rounding)
 * + 2·LSB²/12 (dither) = LSB²/4, i.e. RMS 0.5 LSB, independently of the
 * signal: no correlation with it and no harmonic distortion, even for a
 * sine of about one LSB.
 *
 * Noise shaping (error feedback through Wannamaker's F-weighted filter c_j,
 * JAES 1992): the error out − in is −H(z)·e with H(z) = 1 − Σ c_j z^-(j+1)
 * and e the white TPDF error above, so its spectrum is LSB²/4 · |H|².  The
 * figures the tests hold it to are computed here from the published
 * coefficients: |H|² averaged over 1–5 kHz at 44.1 kHz is −19.25 dB (the
 * shaped noise is that much under TPDF there), over 18–22.05 kHz +25.37 dB,
 * over the whole band +18.40 dB (RMS 0.5·10^(18.40/20) = 4.16 LSB).  The
 * feedback never sees the clipping error, so |out − in| <= Σ|c_j|·1.5 +
 * 1.5 = 33.6 LSB wherever the output is not clipped, whatever came before.
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chain/chain.h"
#include "chain/dither.h"
#include "tests/util.h"

#define RATE 48000.0

static void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size);

	if (!p)
		exit(99);
	return p;
}

static struct chain_dither *open_dither(unsigned ch, unsigned bits, uint32_t seed)
{
	int err = -1;
	struct chain_dither *d = chain_dither_new(ch, bits, seed, &err);

	if (!d) {
		fprintf(stderr, "chain_dither_new: %s\n", chain_strerror(err));
		exit(99);
	}
	ASSERT_INT("new: err", CHAIN_OK, err);
	return d;
}

static void test_new(void)
{
	int err = 0;
	struct chain_dither *d;

	d = chain_dither_new(2, 7, 1, &err);
	ASSERT_TRUE("7 bits refused", d == NULL && err == CHAIN_ERROR_RANGE);
	d = chain_dither_new(2, 25, 1, &err);
	ASSERT_TRUE("25 bits refused", d == NULL && err == CHAIN_ERROR_RANGE);
	d = chain_dither_new(0, 16, 1, &err);
	ASSERT_TRUE("0 channels refused", d == NULL && err == CHAIN_ERROR_RANGE);
	chain_dither_free(&d);
	chain_dither_free(NULL);
	d = open_dither(2, 16, 0);  /* seed 0 is allowed (mapped) */
	chain_dither_free(&d);
	ASSERT_TRUE("free clears the pointer", d == NULL);
}

static void test_deterministic(void)
{
	size_t n = 10000;
	float *in = xcalloc(2 * n, sizeof(float));
	int32_t *a = xcalloc(2 * n, sizeof(int32_t)), *b = xcalloc(2 * n, sizeof(int32_t));
	struct chain_dither *d1, *d2, *d3;
	int same = 1, differ = 0;

	gen_noise(in, n, 2, 0.5, 77);
	d1 = open_dither(2, 16, 1234);
	d2 = open_dither(2, 16, 1234);
	d3 = open_dither(2, 16, 4321);
	chain_dither_process(d1, in, a, n);
	/* the same in pieces of odd sizes */
	for (size_t i = 0; i < n;) {
		size_t m = n - i < 333 ? n - i : 333;

		chain_dither_process(d2, in + 2 * i, b + 2 * i, m);
		i += m;
	}
	for (size_t i = 0; i < 2 * n; i++)
		if (a[i] != b[i])
			same = 0;
	ASSERT_TRUE("same seed, same output (any call sizes)", same);
	chain_dither_process(d3, in, b, n);
	for (size_t i = 0; i < 2 * n; i++)
		if (a[i] != b[i])
			differ++;
	ASSERT_GE("another seed, other noise", differ, n / 2);
	chain_dither_free(&d1);
	chain_dither_free(&d2);
	chain_dither_free(&d3);
	free(in);
	free(a);
	free(b);
}

/*
 * The generator: chain/dither.c makes a run of 512 samples' draws in 16
 * streams side by side (each started by a jump table) and shorter runs
 * from another table; either way the draws must be those of the one
 * xorshift32 generator (Marsaglia 2003: x ^= x << 13, x >> 17, x << 5),
 * two a sample in order, whatever the call sizes.  Checked against that
 * generator written out here, for call sizes around the run's length,
 * mono and stereo, 16 and 24 bits; then the TPDF of silence (out ∈ {−1,
 * 0, 1} LSB, probabilities 1/8, 3/4, 1/8 for rounding (u0 + u1) with u
 * uniform in ±0.5) and the correlation of the two channels' noise (white
 * and independent: |r| < 4/√n).
 */
static uint32_t ref_step(uint32_t *s)
{
	uint32_t x = *s;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	*s = x;
	return x;
}

static int32_t ref_sample(uint32_t *s, float x, unsigned bits)
{
	double scale = ldexp(1.0, (int)bits - 1);
	double v = (double)x * scale;
	double u0 = (double)(ref_step(s) >> 8) / 16777216.0 - 0.5;
	double u1 = (double)(ref_step(s) >> 8) / 16777216.0 - 0.5;
	double q = floor(v + (u0 + u1) + 0.5);

	if (q < -scale)
		q = -scale;
	if (q > scale - 1)
		q = scale - 1;
	return (int32_t)((uint32_t)(int32_t)q << (32 - bits));
}

static void test_generator(void)
{
	static const size_t sizes[] = { 1, 7, 255, 256, 257, 511, 512, 513, 1024, 4096 };
	const size_t n = 30000;
	float *in = xcalloc(2 * n, sizeof(float));
	int32_t *got = xcalloc(2 * n, sizeof(int32_t));
	int cases = 0, same = 0;

	gen_noise(in, n, 2, 0.9, 31);
	for (unsigned ch = 1; ch <= 2; ch++)
		for (unsigned bits = 16; bits <= 24; bits += 8)
			for (size_t k = 0; k <= sizeof(sizes) / sizeof(sizes[0]); k++) {
				uint32_t seed = 0x7e4d1a5bu ^ (uint32_t)(k * 977 + bits), s = seed;
				struct chain_dither *d = open_dither(ch, bits, seed);
				size_t done = 0;
				int ok = 1;

				/* k == count: the whole input in one call */
				while (done < n) {
					size_t m = k < sizeof(sizes) / sizeof(sizes[0]) ?
						   sizes[k] : n;

					if (m > n - done)
						m = n - done;
					chain_dither_process(d, in + done * ch, got + done * ch, m);
					done += m;
				}
				for (size_t i = 0; i < n * ch; i++)
					if (got[i] != ref_sample(&s, in[i], bits))
						ok = 0;
				cases++;
				same += ok;
				chain_dither_free(&d);
			}
	ASSERT_INT("TPDF = one xorshift32 stream, any call sizes", cases, same);
	free(in);
	free(got);
}

static void test_tpdf_silence(void)
{
	const size_t n = 200000;
	float *in = xcalloc(2 * n, sizeof(float));
	int32_t *out = xcalloc(2 * n, sizeof(int32_t));
	struct chain_dither *d = open_dither(2, 16, 99);
	double count[3] = { 0, 0, 0 }, sl = 0, sr = 0, slr = 0, sll = 0, srr = 0;

	chain_dither_process(d, in, out, n);
	for (size_t i = 0; i < n; i++) {
		double l = out[2 * i] >> 16, r = out[2 * i + 1] >> 16;

		if (l >= -1 && l <= 1)
			count[(int)l + 1]++;
		if (r >= -1 && r <= 1)
			count[(int)r + 1]++;
		sl += l;
		sr += r;
		slr += l * r;
		sll += l * l;
		srr += r * r;
	}
	/* binomial standard errors: 0.0005 and 0.0007 at 2n samples */
	ASSERT_CLOSE("P(-1 LSB) = 1/8", 0.125, count[0] / (2.0 * n), 0.003);
	ASSERT_CLOSE("P(0) = 3/4", 0.75, count[1] / (2.0 * n), 0.004);
	ASSERT_CLOSE("P(+1 LSB) = 1/8", 0.125, count[2] / (2.0 * n), 0.003);
	{
		double ml = sl / n, mr = sr / n;
		double r = (slr / n - ml * mr) /
			   sqrt((sll / n - ml * ml) * (srr / n - mr * mr));

		ASSERT_LE("channels uncorrelated: |r| < 4/sqrt(n)", fabs(r),
			  4.0 / sqrt((double)n));
	}
	chain_dither_free(&d);
	free(in);
	free(out);
}

/* Error statistics of `bits`-bit output for a mono -60 dBFS 1 kHz sine. */
static void test_error_stats(unsigned bits)
{
	size_t n = 480000;  /* 10 s */
	float *in = xcalloc(n, sizeof(float));
	int32_t *out = xcalloc(n, sizeof(int32_t));
	struct chain_dither *d = open_dither(1, bits, 99);
	double lsb_scale = ldexp(1.0, (int)bits - 1);  /* LSBs per full scale */
	unsigned shift = 32 - bits;
	double sum = 0, sum2 = 0, sxe = 0, sxx = 0;
	int aligned = 1;
	char msg[96];

	gen_sine(in, n, 1, RATE, 1000, db_to_lin(-60), 0.3);
	chain_dither_process(d, in, out, n);
	for (size_t i = 0; i < n; i++) {
		double x = (double)in[i] * lsb_scale;
		double e = (double)(out[i] >> shift) - x;

		if (out[i] & (int32_t)((1u << shift) - 1))
			aligned = 0;
		sum += e;
		sum2 += e * e;
		sxe += x * e;
		sxx += x * x;
	}
	{
		double mean = sum / n, rms = sqrt(sum2 / n - mean * mean);
		double rho = sxe / sqrt(sxx * sum2);

		printf("%u-bit, -60 dBFS sine: error mean %+.4f LSB, RMS %.4f LSB (theory 0.5), "
		       "correlation with the signal %+.4f\n", bits, mean, rms, rho);
		snprintf(msg, sizeof(msg), "%u-bit error mean (LSB)", bits);
		ASSERT_CLOSE(msg, 0.0, mean, 0.01);
		snprintf(msg, sizeof(msg), "%u-bit error RMS (LSB): TPDF theory 1/2", bits);
		ASSERT_CLOSE(msg, 0.5, rms, 0.5 * 0.05);
		snprintf(msg, sizeof(msg), "%u-bit error uncorrelated with the signal", bits);
		ASSERT_CLOSE(msg, 0.0, rho, 0.01);
		snprintf(msg, sizeof(msg), "%u-bit output left-justified", bits);
		ASSERT_TRUE(msg, aligned);
	}
	chain_dither_free(&d);
	free(in);
	free(out);
}

/*
 * A -90 dBFS 997 Hz sine (1.04 LSB at 16 bits): with TPDF dither the 3rd
 * and 5th harmonics must not stand out of the noise.  For white error of
 * RMS σ the correlation estimate of a sine amplitude over m samples has a
 * Rayleigh distribution of scale σ·sqrt(2/m) (mean 1.25·σ·sqrt(2/m)); we
 * allow 4× that mean.  Plain rounding of the same signal (computed here)
 * gives a three-level wave whose 3rd harmonic is (4/3π)·cos(3α) LSB with
 * α = asin(0.5/1.036) = 28.9°, i.e. 0.024 LSB, 19× that mean: the test can
 * see distortion.  (997 Hz, not 1 kHz: at 48 kHz a 1 kHz wave repeats every
 * 48 samples and its rounded pulse happens to be exactly a third of a
 * period wide, which has no 3rd harmonic.)
 */
static void test_no_distortion(void)
{
	size_t n = 480000;
	float *in = xcalloc(n, sizeof(float));
	int32_t *out = xcalloc(n, sizeof(int32_t));
	float *y = xcalloc(n, sizeof(float)), *yr = xcalloc(n, sizeof(float));
	struct chain_dither *d = open_dither(1, 16, 5);
	double a1, a3, a5, a3r, noise;

	gen_sine(in, n, 1, RATE, 997, db_to_lin(-90), 0.1);
	chain_dither_process(d, in, out, n);
	for (size_t i = 0; i < n; i++) {
		y[i] = (float)(out[i] >> 16);  /* in LSBs */
		yr[i] = (float)floor((double)in[i] * 32768.0 + 0.5);
	}
	a1 = measure_sine_amp(y, n, 1, RATE, 997);
	a3 = measure_sine_amp(y, n, 1, RATE, 3 * 997);
	a5 = measure_sine_amp(y, n, 1, RATE, 5 * 997);
	a3r = measure_sine_amp(yr, n, 1, RATE, 3 * 997);
	noise = 1.25 * 0.5 * sqrt(2.0 / (double)n);
	printf("-90 dBFS sine at 16 bits: fundamental %.4f LSB (input %.4f), dithered H3 %.5f, "
	       "H5 %.5f LSB; undithered H3 %.4f LSB; noise-only mean %.5f LSB\n",
	       a1, db_to_lin(-90) * 32768, a3, a5, a3r, noise);
	ASSERT_CLOSE("fundamental preserved (LSB)", db_to_lin(-90) * 32768, a1, 0.01);
	ASSERT_LE("H3 within the noise (LSB)", a3, 4 * noise);
	ASSERT_LE("H5 within the noise (LSB)", a5, 4 * noise);
	ASSERT_GE("undithered H3 is visible (test sensitivity)", a3r, 10 * noise);
	chain_dither_free(&d);
	free(in);
	free(out);
	free(y);
	free(yr);
}

static void test_clip_and_justify(void)
{
	static const float in[] = { 1.0f, -1.0f, 2.0f, -1.5f, 0.0f, 0.5f, -0.5f,
				    0.99999f, NAN, INFINITY, -INFINITY };
	const size_t n = sizeof(in) / sizeof(in[0]);
	int32_t out[sizeof(in) / sizeof(in[0])];
	static const unsigned widths[] = { 8, 16, 20, 24 };

	for (unsigned w = 0; w < 4; w++) {
		unsigned bits = widths[w], shift = 32 - bits;
		int32_t top = (int32_t)((1u << (bits - 1)) - 1), bot = -top - 1;
		struct chain_dither *d = open_dither(1, bits, 3);
		char msg[96];

		for (int rep = 0; rep < 50; rep++) {  /* many dither draws */
			chain_dither_process(d, in, out, n);
			snprintf(msg, sizeof(msg), "%u-bit: +1.0 clips to the top code", bits);
			ASSERT_INT(msg, (int64_t)top * (1ll << shift), out[0]);
			snprintf(msg, sizeof(msg), "%u-bit: -1.0 gives the bottom code (or one above)", bits);
			ASSERT_TRUE(msg, out[1] >> shift == bot || out[1] >> shift == bot + 1);
			snprintf(msg, sizeof(msg), "%u-bit: +2.0 clips", bits);
			ASSERT_INT(msg, (int64_t)top * (1ll << shift), out[2]);
			snprintf(msg, sizeof(msg), "%u-bit: -1.5 clips", bits);
			ASSERT_INT(msg, (int64_t)bot * (1ll << shift), out[3]);
			for (size_t i = 0; i < n; i++) {
				snprintf(msg, sizeof(msg), "%u-bit: low %u bits are zero", bits, shift);
				ASSERT_INT(msg, 0, out[i] & (int32_t)((1u << shift) - 1));
			}
			snprintf(msg, sizeof(msg), "%u-bit: 0.5 within a dither of half scale", bits);
			ASSERT_TRUE(msg, abs((out[5] >> shift) - (top + 1) / 2) <= 1);
			snprintf(msg, sizeof(msg), "%u-bit: NaN gives silence ± 1 LSB", bits);
			ASSERT_TRUE(msg, abs(out[8] >> shift) <= 1);
		}
		chain_dither_free(&d);
	}
	/* 24 bits: the value << 8, exactly as sf_writef_int() expects */
	{
		struct chain_dither *d = open_dither(2, 24, 11);
		float x[2] = { 0.25f, -0.125f };
		int32_t o[2];

		chain_dither_process(d, x, o, 1);
		ASSERT_TRUE("24-bit: 0.25 → 2097152 ± 1, shifted by 8",
			    abs((o[0] >> 8) - 2097152) <= 1 && (o[0] & 0xff) == 0);
		ASSERT_TRUE("24-bit: -0.125 → -1048576 ± 1, shifted by 8",
			    abs((o[1] >> 8) + 1048576) <= 1 && (o[1] & 0xff) == 0);
		chain_dither_free(&d);
	}
}

/* ---- noise shaping ---- */

#define SH_RATE 44100.0
#define SH_TAPS 9

/* The published F-weighted coefficients (Wannamaker 1992), kept here
 * independently of chain/dither.c. */
static const double fw[SH_TAPS] = {
	2.412, -3.370, 3.937, -4.174, 3.353, -2.205, 1.281, -0.569, 0.0847,
};

/* |H(e^jω)|² for H(z) = 1 − Σ c_j z^-(j+1). */
static double shape_h2(double f, double rate)
{
	double re = 1, im = 0;

	for (int j = 0; j < SH_TAPS; j++) {
		double w = 2 * M_PI * f / rate * (j + 1);

		re -= fw[j] * cos(w);
		im += fw[j] * sin(w);
	}
	return re * re + im * im;
}

static struct chain_dither *open_shaped(unsigned ch, unsigned bits, uint32_t seed,
					enum chain_dither_shape shape)
{
	int err = -1;
	struct chain_dither *d = chain_dither_new_shaped(ch, bits, seed, shape, &err);

	if (!d) {
		fprintf(stderr, "chain_dither_new_shaped: %s\n", chain_strerror(err));
		exit(99);
	}
	ASSERT_INT("new_shaped: err", CHAIN_OK, err);
	return d;
}

/* In-place radix-2 complex FFT, n a power of two. */
static void fft(double *re, double *im, size_t n)
{
	for (size_t i = 1, j = 0; i < n; i++) {
		size_t bit = n >> 1;

		for (; j & bit; bit >>= 1)
			j ^= bit;
		j ^= bit;
		if (i < j) {
			double t = re[i];

			re[i] = re[j];
			re[j] = t;
			t = im[i];
			im[i] = im[j];
			im[j] = t;
		}
	}
	for (size_t len = 2; len <= n; len <<= 1) {
		double a = -2 * M_PI / (double)len;

		for (size_t i = 0; i < n; i += len)
			for (size_t k = 0; k < len / 2; k++) {
				double wr = cos(a * (double)k), wi = sin(a * (double)k);
				double *ur = re + i + k, *ui = im + i + k;
				double *vr = re + i + k + len / 2, *vi = im + i + k + len / 2;
				double tr = *vr * wr - *vi * wi, ti = *vr * wi + *vi * wr;

				*vr = *ur - tr;
				*vi = *ui - ti;
				*ur += tr;
				*ui += ti;
			}
	}
}

#define SEG 1024

/* Welch PSD (Hann, 50 % overlap, SEG bins, relative units) of x. */
static void welch(const double *x, size_t n, double *psd)
{
	double re[SEG], im[SEG];
	unsigned segs = 0;

	for (size_t k = 0; k <= SEG / 2; k++)
		psd[k] = 0;
	for (size_t at = 0; at + SEG <= n; at += SEG / 2, segs++) {
		for (size_t i = 0; i < SEG; i++) {
			double w = 0.5 - 0.5 * cos(2 * M_PI * (double)i / SEG);

			re[i] = x[at + i] * w;
			im[i] = 0;
		}
		fft(re, im, SEG);
		for (size_t k = 0; k <= SEG / 2; k++)
			psd[k] += re[k] * re[k] + im[k] * im[k];
	}
	for (size_t k = 0; k <= SEG / 2; k++)
		psd[k] /= segs;
}

/* Mean of psd over the bins in [f0, f1], and of |H|² over the same bins. */
static double band(const double *psd, double f0, double f1, double *h2)
{
	double s = 0, sh = 0;
	unsigned cnt = 0;

	for (size_t k = 0; k <= SEG / 2; k++) {
		double f = (double)k * SH_RATE / SEG;

		if (f < f0 || f > f1)
			continue;
		s += psd[k];
		sh += shape_h2(f, SH_RATE);
		cnt++;
	}
	*h2 = sh / cnt;
	return s / cnt;
}

static void test_shaped_new(void)
{
	size_t n = 5000;
	float *in = xcalloc(2 * n, sizeof(float));
	int32_t *a = xcalloc(2 * n, sizeof(int32_t)), *b = xcalloc(2 * n, sizeof(int32_t));
	struct chain_dither *d1, *d2;
	int err = 0, same = 1;

	d1 = chain_dither_new_shaped(2, 16, 1, (enum chain_dither_shape)7, &err);
	ASSERT_TRUE("unknown shape refused", d1 == NULL && err == CHAIN_ERROR_RANGE);
	d1 = chain_dither_new_shaped(2, 25, 1, CHAIN_DITHER_SHAPED, &err);
	ASSERT_TRUE("shaped: 25 bits refused", d1 == NULL && err == CHAIN_ERROR_RANGE);
	d1 = chain_dither_new_shaped(0, 16, 1, CHAIN_DITHER_SHAPED, &err);
	ASSERT_TRUE("shaped: 0 channels refused", d1 == NULL && err == CHAIN_ERROR_RANGE);
	ASSERT_INT("CHAIN_DITHER_SHAPED is the second value", 1, CHAIN_DITHER_SHAPED);
	/* TPDF through the new constructor: the old output, bit for bit */
	gen_noise(in, n, 2, 0.7, 5);
	d1 = open_dither(2, 16, 42);
	d2 = open_shaped(2, 16, 42, CHAIN_DITHER_TPDF);
	chain_dither_process(d1, in, a, n);
	chain_dither_process(d2, in, b, n);
	for (size_t i = 0; i < 2 * n; i++)
		if (a[i] != b[i])
			same = 0;
	ASSERT_TRUE("new_shaped(TPDF) = new(), bit for bit", same);
	chain_dither_free(&d1);
	chain_dither_free(&d2);
	d1 = open_shaped(2, 16, 42, CHAIN_DITHER_SHAPED);
	chain_dither_free(&d1);
	ASSERT_TRUE("free clears the pointer", d1 == NULL);
	free(in);
	free(a);
	free(b);
}

static void test_shaped_deterministic(void)
{
	static const size_t pieces[] = { 1, 7, 333, 4096 };
	size_t n = 20000;
	float *in = xcalloc(2 * n, sizeof(float));
	int32_t *a = xcalloc(2 * n, sizeof(int32_t)), *b = xcalloc(2 * n, sizeof(int32_t));
	struct chain_dither *d;
	int differ = 0;

	gen_music(in, n, 2, SH_RATE, 0.9, 3);
	d = open_shaped(2, 16, 99, CHAIN_DITHER_SHAPED);
	chain_dither_process(d, in, a, n);
	chain_dither_free(&d);
	for (unsigned p = 0; p < 4; p++) {
		int same = 1;
		char msg[96];

		d = open_shaped(2, 16, 99, CHAIN_DITHER_SHAPED);
		for (size_t i = 0; i < n;) {
			size_t m = n - i < pieces[p] ? n - i : pieces[p];

			chain_dither_process(d, in + 2 * i, b + 2 * i, m);
			i += m;
		}
		for (size_t i = 0; i < 2 * n; i++)
			if (a[i] != b[i])
				same = 0;
		snprintf(msg, sizeof(msg), "shaped: same seed, same output (calls of %zu)",
			 pieces[p]);
		ASSERT_TRUE(msg, same);
		chain_dither_free(&d);
	}
	d = open_shaped(2, 16, 100, CHAIN_DITHER_SHAPED);
	chain_dither_process(d, in, b, n);
	for (size_t i = 0; i < 2 * n; i++)
		if (a[i] != b[i])
			differ++;
	ASSERT_GE("shaped: another seed, other noise", differ, n / 2);
	chain_dither_free(&d);
	free(in);
	free(a);
	free(b);
}

/*
 * Error spectra of TPDF and shaped dither, 16 bits, 44.1 kHz, 10 s of a
 * -60 dBFS 997 Hz sine (left) and of quiet noise (right).  Welch with
 * 430 × 2 segments of 1024 bins: the band means below have a standard
 * error near 0.02 dB, and the Hann window's leakage from the shaped
 * noise's +27 dB top into 1–5 kHz is under -90 dB: 0.3 dB tolerance.
 */
static void test_shaped_spectrum(void)
{
	size_t n = 441000;
	float *in = xcalloc(2 * n, sizeof(float)), *tmp = xcalloc(n, sizeof(float));
	int32_t *out = xcalloc(2 * n, sizeof(int32_t));
	double *e = xcalloc(n, sizeof(double));
	double psd[2][2][SEG / 2 + 1];  /* [shape][channel] */
	double h2_mid, h2_top, h2_all;

	gen_sine(tmp, n, 1, SH_RATE, 997, db_to_lin(-60), 0.2);
	for (size_t i = 0; i < n; i++)
		in[2 * i] = tmp[i];
	gen_noise(tmp, n, 1, db_to_lin(-50), 8);
	for (size_t i = 0; i < n; i++)
		in[2 * i + 1] = tmp[i];
	for (unsigned sh = 0; sh < 2; sh++) {
		struct chain_dither *d = open_shaped(2, 16, 1234,
						     sh ? CHAIN_DITHER_SHAPED : CHAIN_DITHER_TPDF);

		chain_dither_process(d, in, out, n);
		for (unsigned c = 0; c < 2; c++) {
			double s2 = 0;

			for (size_t i = 0; i < n; i++) {
				e[i] = (double)(out[2 * i + c] >> 16) -
				       (double)in[2 * i + c] * 32768.0;
				s2 += e[i] * e[i];
			}
			welch(e, n, psd[sh][c]);
			if (sh) {
				double rms = sqrt(s2 / (double)n), want;

				band(psd[0][0], 0, SH_RATE / 2, &h2_all);
				want = 0.5 * sqrt(h2_all);
				printf("shaped, channel %u: error RMS %.3f LSB (theory %.3f)\n",
				       c, rms, want);
				ASSERT_CLOSE("shaped: error RMS = 0.5·sqrt(mean |H|²) LSB", want,
					     rms, 0.03 * want);
			}
		}
		chain_dither_free(&d);
	}
	for (unsigned c = 0; c < 2; c++) {
		double t_mid = band(psd[0][c], 1000, 5000, &h2_mid);
		double s_mid = band(psd[1][c], 1000, 5000, &h2_mid);
		double t_top = band(psd[0][c], 18000, SH_RATE / 2, &h2_top);
		double s_top = band(psd[1][c], 18000, SH_RATE / 2, &h2_top);
		double t_low = band(psd[0][c], 100, 1000, &h2_all);

		printf("channel %u: shaped − TPDF: 1–5 kHz %.2f dB (theory %.2f), "
		       "18–22 kHz %+.2f dB (theory %+.2f); TPDF flat: %.2f dB\n", c,
		       10 * log10(s_mid / t_mid), 10 * log10(h2_mid),
		       10 * log10(s_top / t_top), 10 * log10(h2_top), 10 * log10(t_top / t_low));
		ASSERT_CLOSE("shaped noise under TPDF in 1–5 kHz (dB)", 10 * log10(h2_mid),
			     10 * log10(s_mid / t_mid), 0.3);
		ASSERT_LE("  by at least 19 dB", 10 * log10(s_mid / t_mid), -18.9);
		ASSERT_CLOSE("shaped noise over TPDF near Nyquist (dB)", 10 * log10(h2_top),
			     10 * log10(s_top / t_top), 0.3);
		ASSERT_CLOSE("TPDF error is white (dB)", 0.0, 10 * log10(t_top / t_low), 0.3);
	}
	free(in);
	free(tmp);
	free(out);
	free(e);
}

/*
 * Full scale and beyond: a 0 dBFS sine (its peaks clip), a full-scale
 * square, DC at both rails, ±2, infinities and NaN, one after the other,
 * then a -60 dBFS sine.  Wherever the output is not clipped, |out − in|
 * stays within 33.6 LSB (the feedback bound), and afterwards the error is
 * the nominal shaped noise again (RMS 4.16 LSB within 3 %).
 */
static void test_shaped_full_scale(unsigned bits)
{
	size_t seg = 44100, n = 9 * seg;
	float *in = xcalloc(2 * n, sizeof(float));
	int32_t *out = xcalloc(2 * n, sizeof(int32_t));
	struct chain_dither *d = open_shaped(2, bits, 77, CHAIN_DITHER_SHAPED);
	double scale = ldexp(1.0, (int)bits - 1), worst = 0, s2 = 0, h2_all = 0;
	unsigned shift = 32 - bits;
	int32_t top = (int32_t)(scale - 1), bot = (int32_t)-scale;
	char msg[96];

	for (size_t i = 0; i < n; i++) {
		size_t part = i / seg;
		double t = (double)i / SH_RATE;
		float v;

		switch (part) {
		case 0: v = (float)sin(2 * M_PI * 1000 * t); break;
		case 1: v = sin(2 * M_PI * 50 * t) >= 0 ? 1.0f : -1.0f; break;
		case 2: v = 1.0f; break;
		case 3: v = -1.0f; break;
		case 4: v = (float)(2 * sin(2 * M_PI * 300 * t)); break;
		case 5: v = i % 2 ? INFINITY : -INFINITY; break;
		case 6: v = NAN; break;
		default: v = (float)(db_to_lin(-60) * sin(2 * M_PI * 997 * t)); break;
		}
		in[2 * i] = v;
		in[2 * i + 1] = part == 5 ? -v : v;
	}
	chain_dither_process(d, in, out, n);
	for (size_t i = 0; i < 2 * n; i++) {
		int32_t q = out[i] >> shift;
		double x = (double)in[i] * scale;

		if (!isfinite(x) || q == top || q == bot)
			continue;
		worst = fmax(worst, fabs((double)q - x));
	}
	for (size_t i = 2 * 8 * seg; i < 2 * n; i++) {
		double err = (double)(out[i] >> shift) - (double)in[i] * scale;

		s2 += err * err;
	}
	for (double f = 0; f <= SH_RATE / 2; f += 1)
		h2_all += shape_h2(f, SH_RATE);
	h2_all /= floor(SH_RATE / 2) + 1;
	printf("%u-bit shaped, full scale and beyond: largest unclipped |out − in| %.2f LSB; "
	       "error RMS afterwards %.3f LSB (theory %.3f)\n", bits, worst,
	       sqrt(s2 / (double)(2 * seg)), 0.5 * sqrt(h2_all));
	snprintf(msg, sizeof(msg), "%u-bit: no runaway (unclipped error within the bound)", bits);
	ASSERT_LE(msg, worst, 21.386 * 1.5 + 1.5);
	snprintf(msg, sizeof(msg), "%u-bit: nominal noise after full scale", bits);
	ASSERT_CLOSE(msg, 0.5 * sqrt(h2_all), sqrt(s2 / (double)(2 * seg)),
		     0.03 * 0.5 * sqrt(h2_all));
	chain_dither_free(&d);
	free(in);
	free(out);
}

int main(void)
{
	test_new();
	test_deterministic();
	test_generator();
	test_tpdf_silence();
	test_error_stats(16);
	test_error_stats(24);
	test_no_distortion();
	test_clip_and_justify();
	test_shaped_new();
	test_shaped_deterministic();
	test_shaped_spectrum();
	test_shaped_full_scale(16);
	test_shaped_full_scale(24);
	return test_done();
}

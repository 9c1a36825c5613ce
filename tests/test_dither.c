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

int main(void)
{
	test_new();
	test_deterministic();
	test_error_stats(16);
	test_error_stats(24);
	test_no_distortion();
	test_clip_and_justify();
	return test_done();
}

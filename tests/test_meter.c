/*
 * test_meter — the live meters of refs/meter.c: momentary and short-term
 * against EBU Tech 3341 (stereo 1 kHz sine at X dBFS per channel reads X
 * LUFS, ±0.1 LU), true peak hold / "now" / reset, and L/R correlation.
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "refs/loudness.h"
#include "refs/meter.h"
#include "tests/util.h"

#define RATE   48000.0
#define TOL_LU 0.1

/* Feeds n frames of x in blocks cycling through `sizes`. */
static void feed(struct refs_meter *m, const float *x, size_t n, const size_t *sizes,
                 size_t n_sizes)
{
	size_t done = 0, k = 0;

	while (done < n) {
		size_t b = sizes[k++ % n_sizes];
		if (b > n - done)
			b = n - done;
		refs_meter_add(m, x + 2 * done, b);
		done += b;
	}
}

static struct refs_meter *new_meter(void)
{
	int err = -1;
	struct refs_meter *m = refs_meter_new(RATE, &err);

	ASSERT_TRUE("meter created", m != NULL);
	ASSERT_INT("meter error", 0, err);
	if (!m)
		exit(1);
	return m;
}

static void check_loudness(void)
{
	static const size_t odd[] = {1, 7, 480, 4096, 333};
	static const size_t one[] = {256};
	size_t n = (size_t)(RATE * 4);
	float *x = malloc(n * 2 * sizeof(float));
	struct refs_meter *m = new_meter(), *m2 = new_meter();
	struct refs_meter_values v, v2;

	gen_sine(x, n, 2, RATE, 1000, db_to_lin(-23), 0);
	refs_meter_get(m, &v);
	ASSERT_TRUE("fresh meter momentary -inf", isinf(v.momentary_lufs) && v.momentary_lufs < 0);
	ASSERT_CLOSE("fresh meter correlation", 0.0, v.correlation, 0.0);
	feed(m, x, n, odd, 5);
	feed(m2, x, n, one, 1);
	refs_meter_get(m, &v);
	refs_meter_get(m2, &v2);
	printf("steady -23 dBFS stereo sine: M %.3f S %.3f LUFS\n", v.momentary_lufs,
	       v.shortterm_lufs);
	ASSERT_CLOSE("momentary", -23.0, v.momentary_lufs, TOL_LU);
	ASSERT_CLOSE("short-term", -23.0, v.shortterm_lufs, TOL_LU);
	ASSERT_CLOSE("block sizes: momentary", v2.momentary_lufs, v.momentary_lufs, 1e-9);
	ASSERT_CLOSE("block sizes: short-term", v2.shortterm_lufs, v.shortterm_lufs, 1e-9);
	ASSERT_CLOSE("block sizes: true peak", v2.true_peak_dbtp, v.true_peak_dbtp, 1e-9);

	/* -33 dBFS, after the 3 s window refills */
	gen_sine(x, n, 2, RATE, 1000, db_to_lin(-33), 0);
	feed(m, x, n, odd, 5);
	refs_meter_get(m, &v);
	ASSERT_CLOSE("momentary at -33", -33.0, v.momentary_lufs, TOL_LU);
	ASSERT_CLOSE("short-term at -33", -33.0, v.shortterm_lufs, TOL_LU);

	/* windows: 0.1 s of silence after a tone leaves 300 of the 400 ms */
	refs_meter_reset(m);
	gen_sine(x, n, 2, RATE, 1000, db_to_lin(-20), 0);
	feed(m, x, (size_t)(RATE * 4), one, 1);
	memset(x, 0, (size_t)(RATE / 10) * 2 * sizeof(float));
	feed(m, x, (size_t)(RATE / 10), one, 1);
	refs_meter_get(m, &v);
	ASSERT_CLOSE("momentary window 400 ms", -20 + 10 * log10(0.3 / 0.4), v.momentary_lufs,
	             TOL_LU);
	ASSERT_CLOSE("short-term window 3 s", -20 + 10 * log10(2.9 / 3.0), v.shortterm_lufs,
	             TOL_LU);

	/* reset forgets everything */
	refs_meter_reset(m);
	refs_meter_get(m, &v);
	ASSERT_TRUE("reset: momentary -inf", isinf(v.momentary_lufs) && v.momentary_lufs < 0);
	ASSERT_TRUE("reset: short-term -inf", isinf(v.shortterm_lufs) && v.shortterm_lufs < 0);
	ASSERT_TRUE("reset: true peak -inf", isinf(v.true_peak_dbtp) && v.true_peak_dbtp < 0);

	refs_meter_free(&m);
	refs_meter_free(&m2);
	ASSERT_TRUE("free clears", m == NULL);
	refs_meter_free(&m);
	free(x);
}

static void check_correlation(void)
{
	size_t n = (size_t)(RATE * 2);
	float *x = malloc(n * 2 * sizeof(float));
	float *mono = malloc(n * sizeof(float));
	static const size_t sizes[] = {512, 3, 1024};
	struct refs_meter *m = new_meter();
	struct refs_meter_values v;

	/* identical */
	gen_music(mono, n, 1, RATE, 0.5, 7);
	for (size_t i = 0; i < n; i++)
		x[2 * i] = x[2 * i + 1] = mono[i];
	feed(m, x, n, sizes, 3);
	refs_meter_get(m, &v);
	printf("correlation: identical %.4f", v.correlation);
	ASSERT_CLOSE("identical channels", 1.0, v.correlation, 0.01);

	/* inverted */
	for (size_t i = 0; i < n; i++)
		x[2 * i + 1] = -mono[i];
	feed(m, x, n, sizes, 3);
	refs_meter_get(m, &v);
	printf(", inverted %.4f", v.correlation);
	ASSERT_CLOSE("inverted channels", -1.0, v.correlation, 0.01);

	/* independent noise */
	gen_noise(x, n, 2, 0.5, 1234);
	feed(m, x, n, sizes, 3);
	refs_meter_get(m, &v);
	printf(", independent noise %.4f\n", v.correlation);
	ASSERT_CLOSE("independent noise", 0.0, v.correlation, 0.05);

	/* a level difference does not change it */
	for (size_t i = 0; i < n; i++) {
		x[2 * i] = mono[i];
		x[2 * i + 1] = 0.1f * mono[i];
	}
	feed(m, x, n, sizes, 3);
	refs_meter_get(m, &v);
	ASSERT_CLOSE("identical at different levels", 1.0, v.correlation, 0.01);

	/* one channel silent, then both: 0 */
	for (size_t i = 0; i < n; i++) {
		x[2 * i] = mono[i];
		x[2 * i + 1] = 0;
	}
	feed(m, x, n, sizes, 3);
	refs_meter_get(m, &v);
	ASSERT_CLOSE("one channel silent", 0.0, v.correlation, 1e-9);
	memset(x, 0, n * 2 * sizeof(float));
	feed(m, x, n, sizes, 3);
	refs_meter_get(m, &v);
	ASSERT_CLOSE("silence", 0.0, v.correlation, 1e-9);

	/* a 300 ms window: identical, then inverted for 150 ms reads near 0,
	 * and after 320 ms fully -1 */
	for (size_t i = 0; i < n; i++)
		x[2 * i] = x[2 * i + 1] = mono[i];
	feed(m, x, n, sizes, 3);
	for (size_t i = 0; i < n; i++)
		x[2 * i + 1] = -mono[i];
	feed(m, x, (size_t)(RATE * 0.15), sizes, 3);
	refs_meter_get(m, &v);
	ASSERT_CLOSE("half the window turned", 0.0, v.correlation, 0.5);
	feed(m, x + 2 * (size_t)(RATE * 0.15), (size_t)(RATE * 0.17), sizes, 3);
	refs_meter_get(m, &v);
	ASSERT_CLOSE("whole window turned", -1.0, v.correlation, 0.01);

	refs_meter_free(&m);
	free(mono);
	free(x);
}

static void check_true_peak(void)
{
	size_t n = (size_t)(RATE / 2);
	float *x = malloc(n * 2 * sizeof(float));
	static const size_t sizes[] = {100, 1, 4000};
	struct refs_meter *m = new_meter();
	struct refs_meter_values v;

	/* fs/4 sine at 45°: samples at -9.03 dBFS, waveform peak -6.02 dBTP */
	gen_sine(x, n, 2, RATE, RATE / 4, 0.5, M_PI / 4);
	feed(m, x, n, sizes, 3);
	refs_meter_get(m, &v);
	printf("true peak: hold %.3f now %.3f dBTP (expected -6.02)\n", v.true_peak_dbtp,
	       v.true_peak_now_dbtp);
	ASSERT_LE("hold", v.true_peak_dbtp, -6.02 + 0.2);
	ASSERT_GE("hold", v.true_peak_dbtp, -6.02 - 0.4);
	/* the hold also caught the onset's ringing; "now" is the steady tone */
	ASSERT_LE("now <= hold", v.true_peak_now_dbtp, v.true_peak_dbtp);
	ASSERT_LE("now", v.true_peak_now_dbtp, -6.02 + 0.2);
	ASSERT_GE("now", v.true_peak_now_dbtp, -6.02 - 0.4);

	/* 200 ms of silence: "now" still holds; 400 ms: gone; hold stays */
	memset(x, 0, n * 2 * sizeof(float));
	feed(m, x, (size_t)(RATE * 0.2), sizes, 3);
	refs_meter_get(m, &v);
	ASSERT_CLOSE("now after 200 ms", -6.02, v.true_peak_now_dbtp, 0.4);
	feed(m, x, (size_t)(RATE * 0.2), sizes, 3);
	refs_meter_get(m, &v);
	ASSERT_LE("now after 400 ms has fallen", v.true_peak_now_dbtp, -60);
	ASSERT_CLOSE("hold survives silence", -6.02, v.true_peak_dbtp, 0.4);

	/* reset the hold, then a quieter tone */
	refs_meter_reset_peak(m);
	refs_meter_get(m, &v);
	ASSERT_TRUE("hold reset to -inf", isinf(v.true_peak_dbtp) && v.true_peak_dbtp < 0);
	gen_sine(x, n, 2, RATE, 1000, db_to_lin(-20), 0);
	feed(m, x, n, sizes, 3);
	refs_meter_get(m, &v);
	ASSERT_CLOSE("hold of a -20 dBFS 1 kHz sine", -20.0, v.true_peak_dbtp, 0.1);

	/* NaN/Inf are metered as silence */
	for (size_t i = 0; i < 64; i++)
		x[i] = (i & 1) ? NAN : INFINITY;
	refs_meter_add(m, x, 32);
	refs_meter_get(m, &v);
	ASSERT_TRUE("finite after NaN", isfinite(v.momentary_lufs) && isfinite(v.true_peak_dbtp));

	refs_meter_free(&m);
	free(x);
}

static void check_api(void)
{
	int err = 0;
	struct refs_meter_values v;

	ASSERT_TRUE("rate 0 refused", refs_meter_new(0, &err) == NULL);
	ASSERT_INT("rate 0 error", REFS_LOUDNESS_ERROR_EBUR128, err);
	refs_meter_get(NULL, &v);
	ASSERT_TRUE("NULL meter reads silent", isinf(v.momentary_lufs));
	refs_meter_add(NULL, NULL, 10);
	refs_meter_reset(NULL);
	refs_meter_reset_peak(NULL);
}

int main(void)
{
	check_loudness();
	check_correlation();
	check_true_peak();
	check_api();
	return test_done();
}

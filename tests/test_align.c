/*
 * termaster — tests for refs/align.c: a music-like signal and a copy of it
 * delayed by a known number of frames, EQ'd (low shelf +4 dB at 120 Hz,
 * high shelf -3 dB at 8 kHz), 6 dB down and with a little noise, must be
 * found at exactly that offset; unrelated signals must be flagged.
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "chain/biquad.h"
#include "refs/align.h"
#include "tests/util.h"

#define RATE 48000.0

static float *alloc_frames(size_t frames)
{
	float *x = calloc(frames * 2, sizeof(float));

	if (!x) {
		fprintf(stderr, "out of memory\n");
		exit(99);
	}
	return x;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* One biquad over one channel of an interleaved stereo buffer (transposed
 * direct form II, double state). */
static void run_biquad(const struct chain_biquad *c, float *x, size_t frames, unsigned ch)
{
	double z1 = 0, z2 = 0;

	for (size_t i = 0; i < frames; i++) {
		double in = x[2 * i + ch], out = c->b0 * in + z1;

		z1 = c->b1 * in - c->a1 * out + z2;
		z2 = c->b2 * in - c->a2 * out;
		x[2 * i + ch] = (float)out;
	}
}

/* Another "version" of a: b[n] = g · EQ(a)[n - delay] + noise, b_frames
 * long (a's samples outside a are silence).  eq: 1 = the shelves above,
 * 2 = those plus a "mastering" soft clipper (tanh, 4 dB of drive).
 * *level_db (may be NULL): rms of g · EQ(a) over rms of a, in dB. */
static float *make_version(const float *a, size_t a_frames, double rate, int64_t delay,
                           size_t b_frames, double gain_db, int eq, double noise_amp, uint32_t seed,
                           double *level_db)
{
	float *b = alloc_frames(b_frames), *noise = alloc_frames(b_frames);
	float *tmp = alloc_frames(a_frames);
	float g = (float)db_to_lin(gain_db);
	double ea = 0, eb = 0;

	memcpy(tmp, a, a_frames * 2 * sizeof(float));
	if (eq) {
		struct chain_biquad lo, hi;

		chain_biquad_low_shelf(&lo, 2.0 * M_PI * 120.0 / rate, 4.0, M_SQRT1_2);
		chain_biquad_high_shelf(&hi, 2.0 * M_PI * 8000.0 / rate, -3.0, M_SQRT1_2);
		for (unsigned c = 0; c < 2; c++) {
			run_biquad(&lo, tmp, a_frames, c);
			run_biquad(&hi, tmp, a_frames, c);
		}
	}
	if (eq == 2) {
		const double drive = db_to_lin(4.0);

		for (size_t i = 0; i < 2 * a_frames; i++)
			tmp[i] = (float)(tanh(drive * tmp[i]) / drive);
	}
	for (size_t i = 0; i < 2 * a_frames; i++) {
		ea += (double)a[i] * a[i];
		eb += (double)g * tmp[i] * g * tmp[i];
	}
	if (level_db)
		*level_db = 10.0 * log10(eb / ea);
	gen_noise(noise, b_frames, 2, noise_amp, seed);
	for (size_t n = 0; n < b_frames; n++) {
		int64_t s = (int64_t)n - delay;

		for (unsigned c = 0; c < 2; c++) {
			float v = s >= 0 && s < (int64_t)a_frames ? g * tmp[2 * s + c] : 0.0f;
			b[2 * n + c] = v + noise[2 * n + c];
		}
	}
	free(tmp);
	free(noise);
	return b;
}

struct align_case {
	const char *name;
	int64_t delay;       /* frames; positive: b late */
	double b_len_s;      /* length of b (a is 30 s) */
	double max_offset_s; /* 0: any */
	int eq;              /* see make_version() */
	double gain_db;
	double noise_amp; /* uniform, peak */
};

static const struct align_case cases[] = {
    {"0", 0, 30.0, 0.0, 1, -6.0, 0.001},
    {"+1", 1, 30.0, 0.0, 1, -6.0, 0.001},
    {"+37", 37, 30.0, 0.0, 1, -6.0, 0.001},
    {"+12345", 12345, 30.0, 0.0, 1, -6.0, 0.001},
    {"-480", -480, 30.0, 0.0, 1, -6.0, 0.001},
    {"-7, bounded 5 s", -7, 30.0, 5.0, 1, -6.0, 0.001},
    {"+5 s +3", 5 * 48000 + 3, 34.0, 0.0, 1, -6.0, 0.001},
    {"-7 s -11, b shorter", -(7 * 48000 + 11), 20.0, 0.0, 1, -6.0, 0.001},
    {"+2 s +5, bounded 3 s", 2 * 48000 + 5, 30.0, 3.0, 1, -6.0, 0.001},
    {"+999, no EQ, +3 dB", 999, 30.0, 0.0, 0, 3.0, 0.001},
    {"+2222, clipped, noisy", 2222, 30.0, 0.0, 2, -6.0, 0.02},
};

static void check_match(const char *name, int64_t want, const struct refs_align_result *r,
                        double *worst_fine)
{
	char msg[160];

	snprintf(msg, sizeof(msg), "offset %s", name);
	ASSERT_INT(msg, want, r->offset_frames);
	snprintf(msg, sizeof(msg), "verdict %s", name);
	ASSERT_INT(msg, REFS_ALIGN_MATCH, r->verdict);
	ASSERT_TRUE(msg, r->reliable);
	snprintf(msg, sizeof(msg), "sub-sample estimate %s", name);
	ASSERT_CLOSE(msg, (double)want, r->offset_fine, 0.5);
	if (fabs(r->offset_fine - (double)want) > *worst_fine)
		*worst_fine = fabs(r->offset_fine - (double)want);
	printf("  %-24s offset %8lld (fine %+.3f)  peak %.3f  z %7.1f  ratio %6.2f  r %.3f  gain "
	       "%+.2f dB\n",
	       name, (long long)r->offset_frames, r->offset_fine - (double)r->offset_frames,
	       r->peak, r->peak_z, r->peak_ratio, r->correlation, r->gain_db);
}

static void test_offsets(const float *music, size_t frames)
{
	size_t a_frames = (size_t)(30 * RATE);
	double worst_fine = 0;

	(void)frames;
	printf("delayed, EQ'd, gain-changed copies with noise (rms -65 dBFS; the clipped one -39 "
	       "dBFS)\n"
	       "(48 kHz, a = 30 s):\n");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct align_case *c = &cases[i];
		size_t b_frames = (size_t)(c->b_len_s * RATE);
		double level_db;
		float *b = make_version(music, a_frames, RATE, c->delay, b_frames, c->gain_db,
		                        c->eq, c->noise_amp, 100 + (uint32_t)i, &level_db);
		struct refs_align_result r;

		ASSERT_INT("align", 0,
		           refs_align_find(music, (int64_t)a_frames, b, (int64_t)b_frames, RATE,
		                           c->max_offset_s, &r, NULL, NULL));
		check_match(c->name, c->delay, &r, &worst_fine);
		ASSERT_TRUE("not inverted", !r.inverted);
		ASSERT_CLOSE("level of b read back", level_db, r.gain_db, 0.3);
		free(b);
	}
	printf("  worst sub-sample estimate error %.3f frames\n", worst_fine);
}

/* b is a, swapped roles: the offset changes sign. */
static void test_symmetry(const float *music)
{
	size_t n = (size_t)(20 * RATE);
	float *b = make_version(music, n, RATE, 4321, n, -6.0, 1, 0.001, 7, NULL);
	struct refs_align_result r;

	ASSERT_INT("align b, a", 0,
	           refs_align_find(b, (int64_t)n, music, (int64_t)n, RATE, 0, &r, NULL, NULL));
	ASSERT_INT("offset of a against b", -4321, r.offset_frames);
	ASSERT_TRUE("reliable", r.reliable);
	free(b);
}

/* Other rates (decimation by 7 and 16), and a polarity-flipped copy. */
static void test_rates(void)
{
	static const struct {
		double rate;
		int64_t delay;
	} rc[] = {{44100.0, 777}, {96000.0, -1234}};
	double worst = 0;

	for (size_t k = 0; k < sizeof(rc) / sizeof(rc[0]); k++) {
		const double rate = rc[k].rate;
		size_t n = (size_t)(20 * rate);
		float *a = alloc_frames(n), *b;
		struct refs_align_result r;
		char name[64];

		gen_music(a, n, 2, rate, 0.8, 31);
		b = make_version(a, n, rate, rc[k].delay, n, -6.0, 1, 0.001, 8, NULL);
		ASSERT_INT("align", 0,
		           refs_align_find(a, (int64_t)n, b, (int64_t)n, rate, 0, &r, NULL, NULL));
		snprintf(name, sizeof(name), "%+lld at %.1f kHz", (long long)rc[k].delay,
		         rate / 1000);
		check_match(name, rc[k].delay, &r, &worst);
		if (k == 0) {
			for (size_t i = 0; i < 2 * n; i++)
				b[i] = -b[i];
			ASSERT_INT(
			    "align inverted", 0,
			    refs_align_find(a, (int64_t)n, b, (int64_t)n, rate, 0, &r, NULL, NULL));
			snprintf(name, sizeof(name), "%+lld inverted", (long long)rc[k].delay);
			check_match(name, rc[k].delay, &r, &worst);
			ASSERT_TRUE("inverted flagged", r.inverted);
			ASSERT_LE("inverted: negative correlation", r.correlation, -0.5);
		}
		free(b);
		free(a);
	}
}

/* A fractional delay (windowed-sinc interpolation, 129 taps): the integer
 * offset is the nearest frame and the parabolic estimate lands within
 * 0.1 frame (it is biased towards the integer by up to ~0.08). */
static void test_fractional(const float *music)
{
	static const double delays[] = {100.25, 100.5, 100.75};
	size_t n = (size_t)(10 * RATE);
	float *b = alloc_frames(n);

	printf("fractional delays (parabolic estimate):\n");
	for (size_t k = 0; k < sizeof(delays) / sizeof(delays[0]); k++) {
		double dl = delays[k], fr = dl - floor(dl);
		int64_t di = (int64_t)floor(dl);
		struct refs_align_result r;
		double h[129];

		for (int j = -64; j <= 64; j++) {
			double t = j - fr;

			h[j + 64] = (fabs(t) < 1e-12 ? 1.0 : sin(M_PI * t) / (M_PI * t)) *
			            (0.5 + 0.5 * cos(M_PI * t / 65.0));
		}
		for (size_t i = 0; i < n; i++) {
			for (int c = 0; c < 2; c++) {
				double acc = 0;

				for (int j = -64; j <= 64; j++) {
					int64_t s = (int64_t)i - di - j;

					if (s >= 0 && s < (int64_t)n)
						acc += music[2 * s + c] * h[j + 64];
				}
				b[2 * i + c] = (float)(0.5 * acc);
			}
		}
		ASSERT_INT(
		    "align", 0,
		    refs_align_find(music, (int64_t)n, b, (int64_t)n, RATE, 0, &r, NULL, NULL));
		if (fr != 0.5)
			ASSERT_INT("nearest frame", (int64_t)floor(dl + 0.5), r.offset_frames);
		else
			ASSERT_TRUE("either neighbour",
			            r.offset_frames == di || r.offset_frames == di + 1);
		ASSERT_CLOSE("sub-sample estimate", dl, r.offset_fine, 0.1);
		printf("  delay %.2f: offset %lld, estimate %.3f\n", dl, (long long)r.offset_frames,
		       r.offset_fine);
	}
	free(b);
}

/* Unrelated material must not pass as a match. */
static void test_unrelated(const float *music)
{
	size_t n = (size_t)(30 * RATE);
	float *b = alloc_frames(n);
	struct refs_align_result r;

	printf("unrelated pairs:\n");
	/* music against white noise */
	gen_noise(b, n, 2, 0.5, 1234);
	ASSERT_INT("align noise", 0,
	           refs_align_find(music, (int64_t)n, b, (int64_t)n, RATE, 0, &r, NULL, NULL));
	printf("  music / noise:          verdict \"%s\", z %.1f, ratio %.2f, peak %.4f\n",
	       refs_align_verdict_text(r.verdict), r.peak_z, r.peak_ratio, r.peak);
	ASSERT_TRUE("music / noise flagged", !r.reliable && r.verdict == REFS_ALIGN_WEAK);

	/* another song: the generator at another tempo and key (rendered as
	 * if at 0.84 × the rate), other noise */
	gen_music(b, n, 2, RATE * 0.84, 0.8, 555);
	ASSERT_INT("align other song", 0,
	           refs_align_find(music, (int64_t)n, b, (int64_t)n, RATE, 0, &r, NULL, NULL));
	printf("  music / another song:   verdict \"%s\", z %.1f, ratio %.2f, peak %.4f\n",
	       refs_align_verdict_text(r.verdict), r.peak_z, r.peak_ratio, r.peak);
	ASSERT_TRUE("music / other song flagged", !r.reliable);

	/* two independent noises */
	gen_noise(b, n, 2, 0.5, 99);
	{
		float *c = alloc_frames(n);

		gen_noise(c, n, 2, 0.5, 98);
		ASSERT_INT("align noises", 0,
		           refs_align_find(c, (int64_t)n, b, (int64_t)n, RATE, 0, &r, NULL, NULL));
		printf("  noise / noise:          verdict \"%s\", z %.1f, ratio %.2f, peak %.4f\n",
		       refs_align_verdict_text(r.verdict), r.peak_z, r.peak_ratio, r.peak);
		ASSERT_TRUE("noise / noise flagged", !r.reliable);
		free(c);
	}

	/* silence */
	memset(b, 0, n * 2 * sizeof(float));
	ASSERT_INT("align silence", 0,
	           refs_align_find(music, (int64_t)n, b, (int64_t)n, RATE, 0, &r, NULL, NULL));
	ASSERT_INT("silence: no signal", REFS_ALIGN_NO_SIGNAL, r.verdict);
	ASSERT_TRUE("silence: unreliable", !r.reliable);
	/* too short */
	ASSERT_INT("align short", 0,
	           refs_align_find(music, (int64_t)n, music, 1000, RATE, 0, &r, NULL, NULL));
	ASSERT_INT("too short: no signal", REFS_ALIGN_NO_SIGNAL, r.verdict);
	ASSERT_INT("invalid", REFS_ALIGN_ERROR_INVALID,
	           refs_align_find(NULL, 0, music, (int64_t)n, RATE, 0, &r, NULL, NULL));
	free(b);
}

static int cancel_soon(void *user, double fraction)
{
	int *calls = user;

	(*calls)++;
	return fraction > 0.2;
}

static int count_progress(void *user, double fraction)
{
	double *last = user;

	if (fraction < *last)
		last[1] = 1; /* went backwards */
	last[0] = fraction;
	return 0;
}

/* A 4-minute pair: speed, progress and cancellation. */
static void test_long(const float *music, size_t frames)
{
	float *b = make_version(music, frames, RATE, 12345, frames, -6.0, 1, 0.001, 77, NULL);
	struct refs_align_result r;
	double t0, t1, prog[2] = {0, 0}, worst = 0;
	int calls = 0;

	t0 = now_s();
	ASSERT_INT("align 4 min", 0,
	           refs_align_find(music, (int64_t)frames, b, (int64_t)frames, RATE, 0, &r,
	                           count_progress, prog));
	t1 = now_s();
	check_match("4 min, +12345", 12345, &r, &worst);
	ASSERT_CLOSE("progress ends at 1", 1.0, prog[0], 0.0);
	ASSERT_TRUE("progress never goes back", prog[1] == 0);
	printf("speed: a 4-minute 48 kHz stereo pair, any offset: %.3f s\n", t1 - t0);
	ASSERT_LE("4-minute pair well under 2 s", t1 - t0, 2.0);

	ASSERT_INT("cancelled", REFS_ALIGN_ERROR_CANCELLED,
	           refs_align_find(music, (int64_t)frames, b, (int64_t)frames, RATE, 0, &r,
	                           cancel_soon, &calls));
	ASSERT_GE("progress called", calls, 1);
	free(b);
}

int main(void)
{
	size_t frames = (size_t)(240 * RATE);
	float *music = alloc_frames(frames);

	gen_music(music, frames, 2, RATE, 0.8, 1);
	test_offsets(music, frames);
	test_symmetry(music);
	test_rates();
	test_fractional(music);
	test_unrelated(music);
	test_long(music, frames);
	free(music);
	return test_done();
}

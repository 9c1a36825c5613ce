/*
 * test_codec — audio/codec.c: the master through MP3, Opus and Vorbis and
 * back, in memory.
 *
 *  1. a 1 kHz sine at -6 dBFS keeps its level within 0.5 dB through each
 *     codec at a low bitrate, 128 kbps and a high one (measure_sine_amp)
 *  2. alignment: at 128 kbps the residual of that sine (decoded − original,
 *     RMS over the middle) is below -20 dB re the sine.  A shift of k
 *     samples alone leaves a residual of 2·sin(π·f·k/fs) re the sine: at
 *     1 kHz / 48 kHz one sample gives 0.131 (-17.7 dB), so -20 dB rules
 *     out even a one-sample error (and says the codec's own noise is
 *     lower still).  On music, the residual energy is smallest at lag 0
 *     among lags -64 … 64, at 48 kHz and through the rate conversions
 *     (44.1 kHz Opus, 96 kHz MP3)
 *  3. the reported true peak equals independent measurements of the
 *     returned audio: the 32× reference of tests/util.c within 0.05 dB,
 *     refs_loudness_measure() (libebur128) exactly for the libebur128
 *     figures
 *  4. a limited master (gen_music through a hard clip at -1 dBFS) reads a
 *     higher true peak after encoding, and the overs above -1 dBTP are
 *     listed consistently (the rise per codec is printed)
 *  5. artefacts == decoded − original, bit for bit; output length and rate
 *     are the input's; the clip hand-over moves the buffers
 *  6. bitrate: the ranges, MP3 snapping to MPEG bitrates and its constant
 *     bitrate (actual within 3 % of nominal), Vorbis's nominal within 1
 *     kbps of the request, a bitrate out of range refused with the range
 *  7. bad input: no frames, NULL, rates outside 8 … 384 kHz or fractional,
 *     unknown codec give errors with reasons; unusual rates (96 kHz MP3,
 *     384 kHz Vorbis, 22.05 kHz Opus), a few frames and non-finite samples
 *     are handled; cancelling leaves nothing behind
 *
 * A codec the installed libsndfile cannot write is skipped (reported);
 * with none at all the test is skipped (77).
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audio/clip.h"
#include "audio/codec.h"
#include "chain/chain.h"
#include "refs/loudness.h"
#include "tests/util.h"

#define RATE 48000.0

static int have[AUDIO_CODEC_COUNT];

/* low, middle, high bitrate per codec, kbps */
static const int rates_kbps[AUDIO_CODEC_COUNT][3] = {
    [AUDIO_CODEC_MP3] = {64, 128, 320},
    [AUDIO_CODEC_OPUS] = {32, 128, 256},
    [AUDIO_CODEC_VORBIS] = {64, 128, 320},
};

static float *frames_alloc(int64_t n)
{
	float *p = calloc((size_t)n * 2, sizeof(float));

	if (!p) {
		fprintf(stderr, "out of memory\n");
		exit(1);
	}
	return p;
}

static int run(const float *x, int64_t n, double rate, enum audio_codec c, int kbps,
               struct audio_codec_result *r, char *msg, size_t len)
{
	struct audio_codec_opts o;

	audio_codec_opts_default(&o);
	o.codec = c;
	o.bitrate_kbps = kbps;
	return audio_codec_preview(x, n, rate, &o, r, msg, len);
}

static double rms(const float *x, int64_t from, int64_t to)
{
	double s = 0;

	for (int64_t i = 2 * from; i < 2 * to; i++)
		s += (double)x[i] * x[i];
	return sqrt(s / (double)(2 * (to - from)));
}

/* max over both channels of the 32× reference */
static double ref_true_peak_db(const float *x, int64_t n)
{
	double l = measure_true_peak(x, (size_t)n, 2), r = measure_true_peak(x + 1, (size_t)n, 2);

	return lin_to_db(l > r ? l : r);
}

static int artefacts_exact(const struct audio_codec_result *r, const float *x)
{
	for (int64_t i = 0; i < 2 * r->frames; i++) {
		float want = r->decoded[i] - (isfinite(x[i]) ? x[i] : 0.0f);
		if (memcmp(&want, &r->artefacts[i], sizeof(float)))
			return 0;
	}
	return 1;
}

/* residual energy of decoded[n + lag] − x[n] over the middle */
static double residual_at(const float *x, const float *y, int64_t n, int64_t lag)
{
	double s = 0;

	for (int64_t i = n / 8; i < n - n / 8; i++)
		for (int c = 0; c < 2; c++) {
			double d = (double)y[2 * (i + lag) + c] - x[2 * i + c];
			s += d * d;
		}
	return s;
}

static int64_t best_lag(const float *x, const float *y, int64_t n, int64_t range)
{
	int64_t best = 0;
	double e = residual_at(x, y, n, 0);

	for (int64_t l = -range; l <= range; l++) {
		double v = residual_at(x, y, n, l);
		if (v < e) {
			e = v;
			best = l;
		}
	}
	return best;
}

/* ---- 1–3, 5: the sine ---- */

static void test_sine(void)
{
	int64_t n = (int64_t)(1.0 * RATE);
	double amp = db_to_lin(-6.0);
	float *x = frames_alloc(n);
	char msg[256];

	gen_sine(x, (size_t)n, 2, RATE, 1000.0, amp, 0.0);
	printf("sine 1 kHz -6 dBFS, 1 s at 48 kHz (shift: lag of least residual, +-4)\n");
	printf("  codec   kbps nominal actual  level L/R dB      residual dB  TP dBTP (32x ref) "
	       "shift\n");
	for (int c = 0; c < AUDIO_CODEC_COUNT; c++) {
		if (!have[c])
			continue;
		for (int k = 0; k < 3; k++) {
			struct audio_codec_result r;
			struct refs_loudness ld;
			int kbps = rates_kbps[c][k], err;
			int64_t a = n / 8, b = n - n / 8;
			double lv_l, lv_r, res, ref_tp;

			err = run(x, n, RATE, (enum audio_codec)c, kbps, &r, msg, sizeof(msg));
			ASSERT_INT(msg, 0, err);
			if (err)
				continue;
			ASSERT_INT("length kept", n, r.frames);
			ASSERT_CLOSE("rate kept", RATE, r.rate, 0);
			lv_l = lin_to_db(
			    measure_sine_amp(r.decoded + 2 * a, (size_t)(b - a), 2, RATE, 1000.0) /
			    amp);
			lv_r = lin_to_db(measure_sine_amp(r.decoded + 2 * a + 1, (size_t)(b - a), 2,
			                                  RATE, 1000.0) /
			                 amp);
			ASSERT_CLOSE("sine level L (dB)", 0.0, lv_l, 0.5);
			ASSERT_CLOSE("sine level R (dB)", 0.0, lv_r, 0.5);
			res = lin_to_db(rms(r.artefacts, a, b) / (amp / sqrt(2.0)));
			if (kbps == 128)
				ASSERT_LE("residual of the sine at 128 kbps (dB re sine)", res,
				          -20.0);
			ASSERT_TRUE("artefacts are decoded - original", artefacts_exact(&r, x));
			/* the 32x reference is slow: at 128 kbps only */
			ref_tp = NAN;
			if (kbps == 128) {
				ref_tp = ref_true_peak_db(r.decoded, n);
				ASSERT_CLOSE("true peak vs 32x reference (dB)", ref_tp,
				             r.true_peak_dbtp, 0.05);
			}
			ASSERT_INT("libebur128 of the returned audio", 0,
			           refs_loudness_measure(r.decoded, n, 2, RATE, &ld, NULL, NULL));
			ASSERT_CLOSE("libebur128 true peak of the returned audio",
			             ld.true_peak_dbtp, r.decoded_loudness.true_peak_dbtp, 1e-9);
			ASSERT_CLOSE("libebur128 loudness of the returned audio",
			             ld.integrated_lufs, r.decoded_loudness.integrated_lufs, 1e-9);
			ASSERT_GE("dual detector reads at least libebur128", r.true_peak_dbtp,
			          r.decoded_loudness.true_peak_dbtp - 1e-6);
			ASSERT_CLOSE("match gain",
			             r.source_loudness.integrated_lufs -
			                 r.decoded_loudness.integrated_lufs,
			             r.match_gain_db, 1e-9);
			ASSERT_INT("no delay left", 0, r.delay_frames);
			printf("  %-6s %5d %7.1f %6.1f %+8.3f %+8.3f %10.1f %8.2f (%6.2f) %4lld\n",
			       audio_codec_name((enum audio_codec)c), kbps, r.nominal_kbps,
			       r.actual_kbps, lv_l, lv_r, res, r.true_peak_dbtp, ref_tp,
			       (long long)best_lag(x, r.decoded, n, 4));
			audio_codec_result_free(&r);
		}
	}
	free(x);
}

/* ---- 2, 4: music, limited ---- */

/* The brief's limited signal: gen_music hard-clipped at -1 dBFS. */
static void clipped_music(float *x, int64_t n, double rate, uint32_t seed)
{
	float ceil_lin = (float)db_to_lin(-1.0);

	gen_music(x, (size_t)n, 2, rate, 1.6, seed);
	for (int64_t i = 0; i < 2 * n; i++)
		x[i] = fminf(ceil_lin, fmaxf(-ceil_lin, x[i]));
}

/* A master as the chain makes it: gen_music at 0 dBFS peak, +6 dB into
 * the default chain (true-peak limiter at -1 dBTP), latency compensated. */
static void limited_music(float *x, int64_t n, double rate, uint32_t seed)
{
	struct chain_settings s;
	struct chain *ch;
	float l[1024], r[1024], *buf[2] = {l, r};
	int64_t lat, in = 0, out = 0;
	int err = 0;

	gen_music(x, (size_t)n, 2, rate, 1.0, seed);
	chain_settings_default(&s);
	if (chain_settings_set(&s, "gain.gain_db", "6", NULL, 0) ||
	    !(ch = chain_new(rate, 1024, &s, &err))) {
		fprintf(stderr, "chain: %s\n", chain_strerror(err));
		exit(1);
	}
	lat = chain_latency(ch);
	while (out < n) {
		unsigned k = 1024;
		for (unsigned i = 0; i < k; i++) {
			l[i] = in + i < n ? x[2 * (in + i)] : 0.0f;
			r[i] = in + i < n ? x[2 * (in + i) + 1] : 0.0f;
		}
		chain_process(ch, buf, k);
		for (unsigned i = 0; i < k; i++) {
			int64_t j = in + i - lat; /* output frame i is input frame in + i - lat */
			if (j >= 0 && j < n && j >= out) {
				x[2 * j] = l[i];
				x[2 * j + 1] = r[i];
				out = j + 1;
			}
		}
		in += k;
	}
	chain_free(&ch);
}

/* Checks the overs list of r against a ceiling of -1 dBTP. */
static void check_overs(const struct audio_codec_result *r, int64_t n)
{
	double pk = -HUGE_VAL, prev_end = -1;
	int ordered = 1;

	ASSERT_INT("overs kept",
	           r->over_count < AUDIO_CODEC_MAX_OVERS ? r->over_count : AUDIO_CODEC_MAX_OVERS,
	           r->overs_kept);
	for (int i = 0; i < r->overs_kept; i++) {
		const struct audio_codec_over *v = &r->overs[i];
		if (v->peak_dbtp > pk)
			pk = v->peak_dbtp;
		if (!(v->start_s >= prev_end && v->end_s > v->start_s &&
		      v->end_s <= (double)n / RATE + 1e-9 && v->peak_dbtp > -1.0))
			ordered = 0;
		prev_end = v->end_s;
	}
	ASSERT_TRUE("overs in order, inside, above the ceiling", ordered);
	if (r->true_peak_dbtp > -1.0 && r->over_count <= AUDIO_CODEC_MAX_OVERS)
		ASSERT_CLOSE("highest over is the true peak", r->true_peak_dbtp, pk, 1e-6);
	if (r->true_peak_dbtp <= -1.0)
		ASSERT_INT("no overs under the ceiling", 0, r->over_count);
}

static void test_music(void)
{
	int64_t n = (int64_t)(3.0 * RATE);
	float *x = frames_alloc(n);
	double src_ref;
	char msg[256];

	limited_music(x, n, RATE, 7);
	src_ref = ref_true_peak_db(x, n);
	printf("music through the chain's limiter (-1 dBTP), 3 s at 48 kHz; 32x reference "
	       "of the master %+.2f dBTP\n",
	       src_ref);
	printf("  codec   kbps nominal actual  TP in  TP out  rise dB  matched  overs (s)  "
	       "artefacts dB  match dB\n");
	for (int c = 0; c < AUDIO_CODEC_COUNT; c++) {
		if (!have[c])
			continue;
		for (int k = 0; k < 3; k++) {
			struct audio_codec_result r;
			int kbps = rates_kbps[c][k], err;

			err = run(x, n, RATE, (enum audio_codec)c, kbps, &r, msg, sizeof(msg));
			ASSERT_INT(msg, 0, err);
			if (err)
				continue;
			ASSERT_INT("aligned: least residual at lag 0", 0,
			           best_lag(x, r.decoded, n, 64));
			ASSERT_INT("no delay left", 0, r.delay_frames);
			ASSERT_INT("decoder returned the input's length", r.expected_frames,
			           r.decoded_frames);
			ASSERT_GE("aligned: correlation", r.align_corr, 0.9);
			ASSERT_TRUE("artefacts are decoded - original", artefacts_exact(&r, x));
			ASSERT_CLOSE("source true peak vs 32x reference (dB)", src_ref,
			             r.source_true_peak_dbtp, 0.05);
			ASSERT_LE("the master holds its ceiling", r.source_true_peak_dbtp, -0.95);
			if (kbps == 128)
				ASSERT_CLOSE("true peak vs 32x reference (dB)",
				             ref_true_peak_db(r.decoded, n), r.true_peak_dbtp,
				             0.05);
			/* LAME scales its input by 0.95 (-0.45 dB) at <= 160 kbps, 0.97
			 * at 192, 0.98 at 224 (presets.c, abr_switch_map "scale"), which
			 * hides part of the rise; at matched loudness it shows */
			if (c != AUDIO_CODEC_MP3 || kbps >= 256)
				ASSERT_GE("true peak rises after encoding (dB)",
				          r.true_peak_rise_db, 0.05);
			ASSERT_GE("true peak rises at matched loudness (dB)",
			          r.true_peak_rise_db + r.match_gain_db, 0.05);
			ASSERT_CLOSE("rise = out - in", r.true_peak_dbtp - r.source_true_peak_dbtp,
			             r.true_peak_rise_db, 1e-9);
			ASSERT_CLOSE("loudness kept (LU)", 0.0, r.match_gain_db, 1.0);
			check_overs(&r, n);
			printf(
			    "  %-6s %5d %7.1f %6.1f %+6.2f %+7.2f %+8.2f %+8.2f %4d (%.3f) %12.1f "
			    "%+8.2f\n",
			    audio_codec_name((enum audio_codec)c), kbps, r.nominal_kbps,
			    r.actual_kbps, r.source_true_peak_dbtp, r.true_peak_dbtp,
			    r.true_peak_rise_db, r.true_peak_rise_db + r.match_gain_db,
			    r.over_count, r.over_s, r.artefacts_rel_db, r.match_gain_db);
			if (c == AUDIO_CODEC_MP3)
				ASSERT_CLOSE("MP3 CBR: actual bitrate (kbps)", r.nominal_kbps,
				             r.actual_kbps, 0.03 * r.nominal_kbps);
			audio_codec_result_free(&r);
		}
	}

	/* the hard-clipped signal: already +2.9 dB of inter-sample peaks */
	clipped_music(x, n, RATE, 7);
	printf("music hard-clipped at -1 dBFS, 128 kbps\n");
	for (int c = 0; c < AUDIO_CODEC_COUNT; c++) {
		struct audio_codec_result r;
		int err;

		if (!have[c])
			continue;
		err = run(x, n, RATE, (enum audio_codec)c, 128, &r, msg, sizeof(msg));
		ASSERT_INT(msg, 0, err);
		if (err)
			continue;
		ASSERT_GE("decoded true peak above the clip level", r.true_peak_dbtp, -1.0 + 0.15);
		ASSERT_TRUE("overs listed", r.over_count > 0);
		check_overs(&r, n);
		printf("  %-6s TP %+.2f -> %+.2f dBTP (%+.2f dB), %d overs above -1 dBTP "
		       "(%.3f s), artefacts %.1f dB\n",
		       audio_codec_name((enum audio_codec)c), r.source_true_peak_dbtp,
		       r.true_peak_dbtp, r.true_peak_rise_db, r.over_count, r.over_s,
		       r.artefacts_rel_db);
		audio_codec_result_free(&r);
	}
	free(x);
}

/* audio_codec_find_delay() (the alignment when a decoder's length is off) */
static void test_find_delay(void)
{
	int64_t n = (int64_t)(2.0 * RATE), pad = 1105;
	float *x = frames_alloc(n), *y = frames_alloc(n + 2 * pad);
	double corr;
	int64_t lag;

	gen_music(x, (size_t)n, 2, RATE, 0.5, 9);
	/* late by LAME's priming, with end padding */
	memcpy(y + 2 * pad, x, (size_t)n * 2 * sizeof(float));
	lag = audio_codec_find_delay(x, n, y, n + 2 * pad, RATE, &corr);
	ASSERT_INT("delay 1105 found", pad, lag);
	ASSERT_CLOSE("correlation 1", 1.0, corr, 1e-4);
	/* early by 300 */
	lag = audio_codec_find_delay(x, n, x + 2 * 300, n - 300, RATE, &corr);
	ASSERT_INT("early by 300", -300, lag);
	/* a steady sine late by 1105 frames = 23 periods + 1 (no onset to go
	 * by): every lag 1 + 48k matches, the one nearest 0 is taken */
	gen_sine(x, (size_t)n, 2, RATE, 1000.0, 0.5, 0.0);
	gen_sine(y, (size_t)n, 2, RATE, 1000.0, 0.5, -2.0 * M_PI * 1000.0 * (double)pad / RATE);
	lag = audio_codec_find_delay(x, n, y, n, RATE, &corr);
	ASSERT_INT("periodic: nearest matching lag", 1, lag);
	ASSERT_CLOSE("periodic: correlation 1", 1.0, corr, 1e-4);
	/* silence */
	memset(x, 0, (size_t)n * 2 * sizeof(float));
	lag = audio_codec_find_delay(x, n, y, n, RATE, &corr);
	ASSERT_INT("silence: 0", 0, lag);
	ASSERT_TRUE("silence: no correlation", isnan(corr));
	free(x);
	free(y);
}

/* 2 through the rate conversions; 7 the unusual rates */
static void test_rates(void)
{
	static const struct {
		enum audio_codec codec;
		double rate;
		int codec_rate;
	} cases[] = {
	    {AUDIO_CODEC_OPUS, 44100, 48000},    {AUDIO_CODEC_MP3, 96000, 48000},
	    {AUDIO_CODEC_VORBIS, 384000, 48000}, {AUDIO_CODEC_OPUS, 22050, 48000},
	    {AUDIO_CODEC_MP3, 44100, 44100},     {AUDIO_CODEC_VORBIS, 88200, 44100},
	    {AUDIO_CODEC_OPUS, 24000, 24000},
	};
	char msg[256];

	printf("rates\n");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		double rate = cases[i].rate;
		int64_t n = (int64_t)((rate > 100000 ? 0.6 : 2.0) * rate);
		float *x;
		struct audio_codec_result r;
		int err;

		ASSERT_INT("codec rate", cases[i].codec_rate,
		           audio_codec_rate(cases[i].codec, rate));
		if (!have[cases[i].codec])
			continue;
		x = frames_alloc(n);
		clipped_music(x, n, rate, 11);
		err = run(x, n, rate, cases[i].codec, 128, &r, msg, sizeof(msg));
		ASSERT_INT(msg, 0, err);
		if (!err) {
			int64_t lag = best_lag(x, r.decoded, n, 32);
			ASSERT_INT("length kept", n, r.frames);
			ASSERT_INT("codec rate used", cases[i].codec_rate, r.codec_rate);
			ASSERT_INT("aligned after conversion: least residual at lag 0", 0, lag);
			ASSERT_TRUE("artefacts are decoded - original", artefacts_exact(&r, x));
			ASSERT_CLOSE("loudness kept (LU)", 0.0, r.match_gain_db, 1.0);
			printf("  %-6s at %6.0f Hz via %d Hz: lag %lld, artefacts %.1f dB, "
			       "TP %+.2f -> %+.2f dBTP\n",
			       audio_codec_name(cases[i].codec), rate, r.codec_rate, (long long)lag,
			       r.artefacts_rel_db, r.source_true_peak_dbtp, r.true_peak_dbtp);
			audio_codec_result_free(&r);
		}
		free(x);
	}
}

/* ---- 6: bitrates ---- */

static void test_bitrates(void)
{
	struct audio_codec_result r;
	int lo = 0, hi = 0, err;
	int64_t n = (int64_t)(1.0 * RATE);
	float *x = frames_alloc(n);
	char msg[256];

	clipped_music(x, n, RATE, 3);
	if (have[AUDIO_CODEC_MP3]) {
		ASSERT_INT(
		    "MP3 range", 0,
		    audio_codec_bitrate_range(AUDIO_CODEC_MP3, RATE, &lo, &hi, msg, sizeof(msg)));
		ASSERT_INT("MP3 min", 32, lo);
		ASSERT_INT("MP3 max", 320, hi);
		err = run(x, n, RATE, AUDIO_CODEC_MP3, 100, &r, msg, sizeof(msg));
		ASSERT_INT(msg, 0, err);
		ASSERT_CLOSE("MP3 100 kbps snaps to 96", 96, r.nominal_kbps, 0);
		audio_codec_result_free(&r);
		err = run(x, n, RATE, AUDIO_CODEC_MP3, 400, &r, msg, sizeof(msg));
		ASSERT_INT("MP3 400 kbps refused", AUDIO_CODEC_ERROR_BITRATE, err);
		ASSERT_TRUE("reason gives the range", strstr(msg, "32 to 320") != NULL);
		printf("  MP3 400 kbps: %s\n", msg);
		ASSERT_TRUE("nothing owned after an error", !r.decoded && !r.artefacts);
	}
	if (have[AUDIO_CODEC_OPUS]) {
		ASSERT_INT(
		    "Opus range", 0,
		    audio_codec_bitrate_range(AUDIO_CODEC_OPUS, RATE, &lo, &hi, msg, sizeof(msg)));
		ASSERT_INT("Opus min", 12, lo);
		ASSERT_INT("Opus max", 512, hi);
		err = run(x, n, RATE, AUDIO_CODEC_OPUS, 8, &r, msg, sizeof(msg));
		ASSERT_INT("Opus 8 kbps refused", AUDIO_CODEC_ERROR_BITRATE, err);
	}
	if (have[AUDIO_CODEC_VORBIS]) {
		static const int asks[] = {64, 96, 150, 192, 256, 500};
		ASSERT_INT("Vorbis range", 0,
		           audio_codec_bitrate_range(AUDIO_CODEC_VORBIS, RATE, &lo, &hi, msg,
		                                     sizeof(msg)));
		ASSERT_INT("Vorbis min", 64, lo);
		ASSERT_INT("Vorbis max", 500, hi);
		printf("  Vorbis at 48 kHz: %d to %d kbps\n", lo, hi);
		for (size_t i = 0; i < sizeof(asks) / sizeof(asks[0]); i++) {
			err = run(x, n, RATE, AUDIO_CODEC_VORBIS, asks[i], &r, msg, sizeof(msg));
			ASSERT_INT(msg, 0, err);
			ASSERT_CLOSE("Vorbis nominal = asked (kbps)", asks[i], r.nominal_kbps, 1.0);
			printf("  Vorbis %3d kbps: level %.4f, nominal %.2f, actual %.1f kbps\n",
			       asks[i], r.compression_level, r.nominal_kbps, r.actual_kbps);
			audio_codec_result_free(&r);
		}
		err = run(x, n, RATE, AUDIO_CODEC_VORBIS, 32, &r, msg, sizeof(msg));
		ASSERT_INT("Vorbis 32 kbps refused", AUDIO_CODEC_ERROR_BITRATE, err);
		printf("  Vorbis 32 kbps: %s\n", msg);
	}
	free(x);
}

/* ---- 5: hand-over; 7: bad input ---- */

static int cancel_after(void *user, double fraction)
{
	int *calls = user;

	(void)fraction;
	return ++*calls >= 1;
}

static void test_edges(void)
{
	struct audio_codec_result r;
	struct audio_codec_opts o;
	struct audio_clip *clip;
	int64_t n = (int64_t)(1.0 * RATE);
	float *x = frames_alloc(n);
	enum audio_codec any = AUDIO_CODEC_MP3;
	char msg[256];
	int err, calls = 0;

	for (int c = AUDIO_CODEC_COUNT - 1; c >= 0; c--)
		if (have[c])
			any = (enum audio_codec)c;
	clipped_music(x, n, RATE, 5);

	err = run(x, 0, RATE, any, 128, &r, msg, sizeof(msg));
	ASSERT_INT("0 frames", AUDIO_CODEC_ERROR_ARGS, err);
	printf("  0 frames: %s\n", msg);
	err = run(x, -5, RATE, any, 128, &r, msg, sizeof(msg));
	ASSERT_INT("negative frames", AUDIO_CODEC_ERROR_ARGS, err);
	err = run(NULL, n, RATE, any, 128, &r, msg, sizeof(msg));
	ASSERT_INT("NULL audio", AUDIO_CODEC_ERROR_ARGS, err);
	err = run(x, n, 7000, any, 128, &r, msg, sizeof(msg));
	ASSERT_INT("7 kHz", AUDIO_CODEC_ERROR_RATE, err);
	printf("  7 kHz: %s\n", msg);
	err = run(x, n, 400000, any, 128, &r, msg, sizeof(msg));
	ASSERT_INT("400 kHz", AUDIO_CODEC_ERROR_RATE, err);
	err = run(x, n, 44100.5, any, 128, &r, msg, sizeof(msg));
	ASSERT_INT("fractional rate", AUDIO_CODEC_ERROR_RATE, err);
	err = run(x, n, NAN, any, 128, &r, msg, sizeof(msg));
	ASSERT_INT("NaN rate", AUDIO_CODEC_ERROR_RATE, err);
	err = run(x, n, RATE, (enum audio_codec)7, 128, &r, msg, sizeof(msg));
	ASSERT_INT("unknown codec", AUDIO_CODEC_ERROR_ARGS, err);
	err = audio_codec_preview(x, n, RATE, NULL, &r, msg, sizeof(msg));
	ASSERT_INT("no options", AUDIO_CODEC_ERROR_ARGS, err);
	ASSERT_INT("available(unknown)", AUDIO_CODEC_ERROR_ARGS,
	           audio_codec_available((enum audio_codec)9, msg, sizeof(msg)));
	ASSERT_TRUE("strerror", strcmp(audio_codec_strerror(AUDIO_CODEC_ERROR_BITRATE),
	                               "bitrate outside the codec's range") == 0);
	ASSERT_TRUE("strerror unknown", audio_codec_strerror(99) != NULL);

	/* a few frames, each codec */
	for (int c = 0; c < AUDIO_CODEC_COUNT; c++) {
		static const int64_t few[] = {1, 10, 1000};
		if (!have[c])
			continue;
		for (size_t i = 0; i < sizeof(few) / sizeof(few[0]); i++) {
			err = run(x, few[i], RATE, (enum audio_codec)c, 128, &r, msg, sizeof(msg));
			ASSERT_INT(msg, 0, err);
			if (!err) {
				ASSERT_INT("few frames: length kept", few[i], r.frames);
				ASSERT_TRUE("few frames: artefacts exact", artefacts_exact(&r, x));
			}
			audio_codec_result_free(&r);
		}
	}

	/* a few frames through a rate conversion */
	if (have[AUDIO_CODEC_OPUS]) {
		static const int64_t few[] = {1, 2, 10, 500};
		for (size_t i = 0; i < sizeof(few) / sizeof(few[0]); i++) {
			err = run(x, few[i], 44100, AUDIO_CODEC_OPUS, 128, &r, msg, sizeof(msg));
			ASSERT_INT(msg, 0, err);
			if (!err) {
				ASSERT_INT("few frames at 44.1 kHz: length kept", few[i], r.frames);
				ASSERT_TRUE("few frames at 44.1 kHz: artefacts exact",
				            artefacts_exact(&r, x));
			}
			audio_codec_result_free(&r);
		}
	}

	/* non-finite samples are taken as 0 */
	{
		float *y = frames_alloc(n);
		int finite = 1;

		memcpy(y, x, (size_t)n * 2 * sizeof(float));
		y[1000] = NAN;
		y[2001] = INFINITY;
		y[30000] = -INFINITY;
		err = run(y, n, RATE, any, 128, &r, msg, sizeof(msg));
		ASSERT_INT(msg, 0, err);
		if (!err) {
			for (int64_t i = 0; i < 2 * n; i++)
				if (!isfinite(r.decoded[i]) || !isfinite(r.artefacts[i]))
					finite = 0;
			ASSERT_TRUE("non-finite input: output finite", finite);
			ASSERT_TRUE("non-finite input: artefacts re 0", artefacts_exact(&r, y));
		}
		audio_codec_result_free(&r);
		free(y);
	}

	/* cancel */
	audio_codec_opts_default(&o);
	o.codec = any;
	o.progress = cancel_after;
	o.user = &calls;
	err = audio_codec_preview(x, n, RATE, &o, &r, msg, sizeof(msg));
	ASSERT_INT("cancelled", AUDIO_CODEC_ERROR_CANCELLED, err);
	ASSERT_TRUE("cancelled: nothing owned", !r.decoded && !r.artefacts);

	/* hand-over */
	err = run(x, n, RATE, any, 128, &r, msg, sizeof(msg));
	ASSERT_INT(msg, 0, err);
	if (!err) {
		float *dec = r.decoded, *art = r.artefacts;
		clip = audio_codec_take_clip(&r, false);
		ASSERT_TRUE("clip made", clip != NULL);
		if (clip) {
			char want[64];
			snprintf(want, sizeof(want), "master (%s 128 kbps)", audio_codec_name(any));
			ASSERT_TRUE("clip owns the decoded buffer",
			            clip->data == dec && !r.decoded);
			ASSERT_INT("clip length", n, clip->frames);
			ASSERT_CLOSE("clip rate", RATE, clip->rate, 0);
			ASSERT_TRUE("clip name", strcmp(clip->name, want) == 0);
			printf("  clip: \"%s\", format \"%s\"\n", clip->name, clip->format);
			audio_clip_free(&clip);
		}
		ASSERT_TRUE("taken twice", audio_codec_take_clip(&r, false) == NULL);
		clip = audio_codec_take_clip(&r, true);
		ASSERT_TRUE("artefacts clip", clip && clip->data == art && !r.artefacts);
		audio_clip_free(&clip);
		audio_codec_result_free(&r);
	}
	free(x);
}

int main(void)
{
	char msg[256];
	double t0 = (double)clock() / CLOCKS_PER_SEC;
	int any = 0;

	for (int c = 0; c < AUDIO_CODEC_COUNT; c++) {
		int err = audio_codec_available((enum audio_codec)c, msg, sizeof(msg));
		have[c] = err == 0;
		any |= have[c];
		if (err)
			printf("SKIP %s: %s\n", audio_codec_name((enum audio_codec)c), msg);
	}
	if (!any) {
		printf("no codec available: skipped\n");
		return 77;
	}
	test_sine();
	test_music();
	test_find_delay();
	test_rates();
	test_bitrates();
	test_edges();
	printf("cpu %.1f s\n", (double)clock() / CLOCKS_PER_SEC - t0);
	return test_done();
}

/*
 * termaster — loudness analysis of whole sources (ITU-R BS.1770-4, EBU R128,
 * EBU Tech 3341/3342) with libebur128, or with our own K-weighting
 * (refs/kweight.c: REFS_ANALYSER_OWN_LOUDNESS).  Not RT-safe: runs on a
 * worker or the command line, never in the audio callback.
 *
 * Errors: 0 or enum refs_loudness_error.
 */
#ifndef TM_REFS_LOUDNESS_H
#define TM_REFS_LOUDNESS_H

#include <stddef.h>
#include <stdint.h>

enum refs_loudness_error {
	REFS_LOUDNESS_OK = 0,
	REFS_LOUDNESS_ERROR_NOMEM,
	REFS_LOUDNESS_ERROR_EBUR128,   /* libebur128 refused the input */
	REFS_LOUDNESS_ERROR_CANCELLED,
};

struct refs_loudness {
	double integrated_lufs;     /* -HUGE_VAL when everything is gated out */
	double lra_lu;
	double true_peak_dbtp;      /* max over channels, 4× (libebur128) refined */
	double sample_peak_dbfs;
	double max_momentary_lufs;  /* 400 ms window, polled every 10 ms */
	double max_shortterm_lufs;  /* 3 s window, polled every 10 ms */
	double duration_s;
};

/* Incremental analyser: feed interleaved frames in any block sizes. */
struct refs_analyser;

struct refs_analyser *refs_analyser_new(unsigned channels, double rate, int *err);

/* Flags of refs_analyser_new_flags(). */
enum refs_analyser_flags {
	/* The true peak by chain/truepeak.c's libebur128-equivalent meter
	 * (chain_truepeak_new_dual() with oversample 0) instead of
	 * libebur128's own interpolator: the same reading to the last bit
	 * (tests/test_limiter.c and tests/test_loudness.c check it), at a
	 * third of the cost, as it skips the intervals whose bound cannot
	 * exceed the largest reading so far.  1 … 8 channels.  The first
	 * refs_analyser_result() ends the stream: it reads the meter's last
	 * points, and later refs_analyser_add() calls are refused
	 * (REFS_LOUDNESS_ERROR_EBUR128); the result stays available. */
	REFS_ANALYSER_OWN_TRUE_PEAK = 1u << 0,
	/* Everything without libebur128: the K-weighting of refs/kweight.c
	 * summed in 10 ms chunks on the frame grid, from which the gating
	 * blocks, the loudness-range blocks, momentary and short-term follow
	 * as libebur128 forms them (the same windows, gates and
	 * percentiles).  Implies REFS_ANALYSER_OWN_TRUE_PEAK; the sample
	 * peak is libebur128's to the bit.  The loudness figures differ from
	 * libebur128's by rounding only: within 1e-4 LU in
	 * tests/test_loudness.c (music, noise, tones, gated material; 44.1,
	 * 48, 96 and 22.05 kHz; measured ~3e-10 LU).  The true peak is
	 * the same, but its meter is fed only around the stretches whose
	 * samples could read above its largest reading so far (loudness.c,
	 * own_feed()).  Cost, true peak included, on the 240 s music of
	 * issue 3's render benchmark (its output, limited to -1 dBTP): 36
	 * instructions per stereo frame (callgrind; 25 of them the
	 * K-weighting, 34 without AVX), where feeding the meter every frame
	 * cost 97; libebur128 takes ~220 without its true peak.  For 1
	 * or 2 channels at a rate that is a multiple of 10 Hz (then
	 * libebur128's 100 ms lies on the 10 ms grid); otherwise the
	 * analyser is the same as with REFS_ANALYSER_OWN_TRUE_PEAK alone
	 * (libebur128 measures; beyond 8 channels it is flags 0). */
	REFS_ANALYSER_OWN_LOUDNESS = 1u << 1,
};

/* refs_analyser_new() with flags (enum refs_analyser_flags; 0: the same
 * as refs_analyser_new()).  Errors: REFS_LOUDNESS_ERROR_NOMEM,
 * REFS_LOUDNESS_ERROR_EBUR128 (channels, rate or flags out of range). */
struct refs_analyser *refs_analyser_new_flags(unsigned channels, double rate,
					      unsigned flags, int *err);
void refs_analyser_free(struct refs_analyser **a);
int refs_analyser_add(struct refs_analyser *a, const float *frames, size_t n);
int refs_analyser_result(struct refs_analyser *a, struct refs_loudness *out);

/* Whole buffer in one call.  progress may be NULL; returning nonzero from
 * it cancels (REFS_LOUDNESS_ERROR_CANCELLED). */
int refs_loudness_measure(const float *frames, int64_t n, unsigned channels,
			  double rate, struct refs_loudness *out,
			  int (*progress)(void *user, double fraction), void *user);
/* refs_loudness_measure() with analyser flags (refs_analyser_new_flags()). */
int refs_loudness_measure_flags(const float *frames, int64_t n, unsigned channels, double rate,
				unsigned flags, struct refs_loudness *out,
				int (*progress)(void *user, double fraction), void *user);

/* Text for a REFS_LOUDNESS_ERROR_* code. */
const char *refs_loudness_strerror(int err);

#endif

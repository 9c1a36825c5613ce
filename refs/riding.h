/*
 * termaster — loudness profiles: a source's K-weighted energy and true peak
 * in 100 ms segments, from which every loudness figure the match methods
 * and the comparison views need is derived without touching the audio
 * again: integrated loudness over any region (on the 100 ms grid),
 * short-term loudness at any time (riding), loudness range, true peak.
 * Not RT-safe: runs on a worker (the profile grows by realloc).
 *
 * Why segments: BS.1770-4 gates 400 ms blocks that overlap by 75 %, i.e.
 * blocks start every 100 ms, so a block's mean square is the mean of four
 * consecutive 100 ms segments' mean squares (all of equal length).  Short-
 * term loudness (EBU Tech 3341: 3 s) is the mean of 30.  So one array of
 * segment energies (8 bytes per 100 ms with the peak: 19 kB for 4 minutes)
 * gives the integrated loudness of any region starting on the grid exactly
 * as libebur128 would measure that region alone, and a region change needs
 * no new measurement.
 *
 * Energy of a segment: sum over channels of G_c · mean square of the
 * K-weighted signal (BS.1770-4: L = -0.691 + 10·log10 of it), what
 * libebur128 reads with ebur128_loudness_window(100 ms) at the segment's
 * end, computed by our own K-weighting (refs/kweight.c: libebur128's
 * filter, summed as energy; equal within 1e-6 relative, tests/test_riding.c)
 * at a fraction of libebur128's cost.  Peak: the true peak libebur128
 * reads over the segment (4× oversampled below 96 kHz, 2× below 192 kHz),
 * linear, max of both channels (with the sample peak of the segment's
 * frames, as libebur128's true-peak mode includes it), by chain/truepeak.c's
 * libebur128-equivalent meter: the same value to the last bit; optional.
 *
 * Errors: 0 or enum refs_loudness_error (refs/loudness.h).
 */
#ifndef TM_REFS_RIDING_H
#define TM_REFS_RIDING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define REFS_RIDING_HOP_S 0.1      /* segment length */
#define REFS_RIDING_SHORT_SEGS 30  /* short-term window: 3 s */
#define REFS_RIDING_BLOCK_SEGS 4   /* gating block: 400 ms */

struct refs_riding_profile {
	double rate;
	int64_t seg_frames;   /* frames per segment: round(rate · 0.1) */
	int64_t n;            /* whole segments (a last partial one is dropped) */
	float *energy;        /* n values, >= 0 */
	float *peak;          /* n values (linear true peak), or NULL */
};

struct refs_riding_profiler;

/* true_peak: also measure each segment's true peak. */
struct refs_riding_profiler *refs_riding_profiler_new(double rate, bool true_peak, int *err);
void refs_riding_profiler_free(struct refs_riding_profiler **p);
/* Interleaved stereo frames, any block size; non-finite samples count 0. */
int refs_riding_profiler_add(struct refs_riding_profiler *p, const float *lr, size_t frames);
/* Moves the segments so far into *out (which must be empty or freed);
 * the profiler is then spent. */
int refs_riding_profiler_finish(struct refs_riding_profiler *p, struct refs_riding_profile *out);

/* The profile of a whole buffer in one call (progress as in
 * refs_loudness_measure: nonzero cancels). */
int refs_riding_profile_measure(const float *lr, int64_t frames, double rate, bool true_peak,
				struct refs_riding_profile *out,
				int (*progress)(void *user, double fraction), void *user);

void refs_riding_profile_free(struct refs_riding_profile *p);
/* Deep copy; 0 or REFS_LOUDNESS_ERROR_NOMEM. */
int refs_riding_profile_copy(struct refs_riding_profile *dst, const struct refs_riding_profile *src);
/* Appends b's segments from b_first on to a (two halves measured apart). */
int refs_riding_profile_append(struct refs_riding_profile *a, const struct refs_riding_profile *b,
			       int64_t b_first);

/* Segment index of a time (floor, clamped to 0 … n). */
int64_t refs_riding_seg(const struct refs_riding_profile *p, double seconds);

/* Gated integrated loudness (BS.1770-4: absolute -70 LUFS, relative
 * -10 LU) of segments [from, to), LUFS; -HUGE_VAL when no block passes or
 * the range is shorter than one block. */
double refs_riding_integrated(const struct refs_riding_profile *p, int64_t from, int64_t to);
/* Largest true peak over [from, to), dBTP (-HUGE_VAL without peaks). */
double refs_riding_true_peak(const struct refs_riding_profile *p, int64_t from, int64_t to);
/* Short-term loudness of the 3 s ending at segment `end` (exclusive; fewer
 * segments at the very start), LUFS, -HUGE_VAL in silence. */
double refs_riding_shortterm(const struct refs_riding_profile *p, int64_t end);
/* Short-term loudness centred on a time: the 3 s from t - 1.5 s to
 * t + 1.5 s, what the listener hears around the playhead (the profile is
 * known in advance, so riding need not lag). */
double refs_riding_shortterm_at(const struct refs_riding_profile *p, double seconds);
/* Loudness range (EBU Tech 3342: short-term values, here every 100 ms,
 * gated at -70 LUFS absolute and -20 LU relative, 10th to 95th
 * percentile) of [from, to), LU; 0 when fewer than two values pass. */
double refs_riding_lra(const struct refs_riding_profile *p, int64_t from, int64_t to);

#endif

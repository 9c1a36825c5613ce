/*
 * termaster — K-weighting (ITU-R BS.1770-4) of one or two channels, kept
 * as energy: the sums of squares of the K-weighted samples over stretches
 * the caller chooses.  refs/loudness.c sums 10 ms chunks on the frame grid,
 * refs/riding.c 100 ms segments; every mean square a meter needs (400 ms
 * gating blocks, momentary, short-term, the 3 s blocks of the loudness
 * range) is a sum of such chunks divided by its length, so the samples
 * themselves need not be kept.
 *
 * The filter is the one libebur128 (1.2) runs: the two pre-filters of
 * BS.1770-4 (the high shelf of about +4 dB above ~1.5 kHz and the RLB
 * high-pass at 38 Hz) designed by the bilinear transform for the rate in
 * hand, with the same constants and the same arithmetic, multiplied into
 * one 4th-order section run in direct form II; so it has libebur128's
 * coefficients to the last bit at every rate (not the 48 kHz table of
 * BS.1770 re-used at other rates).  Only the order of the additions
 * differs (below), i.e. rounding: loudness from these sums reads within
 * 3e-10 LU of libebur128's (tests/test_loudness.c; test_riding.c keeps
 * its segment energies as floats, within 6e-8).
 *
 * Cost: both channels in one vector of two doubles (SSE2, GCC vector
 * extensions), one accumulator per channel, and the feedback terms summed
 * oldest first, so that one multiply and one subtraction separate a state
 * from the next (libebur128 subtracts the newest first: a multiply and four
 * dependent subtractions per sample).  No FMA and no -ffast-math: the
 * results are the same on every x86-64.  Flush-to-zero is on while it runs
 * (and restored), as in libebur128: the high-pass's tail after a signal
 * stops would otherwise decay through denormals.
 *
 * RT-safe (allocates nothing); not thread-safe per instance.
 */
#ifndef TM_REFS_KWEIGHT_H
#define TM_REFS_KWEIGHT_H

#include <stddef.h>

struct refs_kweight {
	double b[5], a[5]; /* numerator, denominator (a[0] = 1) */
	double v[4][2];    /* direct-form-II state, v[0] newest, per channel */
	unsigned channels; /* 1 or 2 */
	int avx;           /* the processor has AVX: the stereo loop in VEX form */
};

/*
 * channels 1 or 2; rate_hz 16 … 2822400, rounded to an integer (as
 * libebur128 takes it).  Clears the state.  Returns 0, or
 * REFS_LOUDNESS_ERROR_EBUR128 (refs/loudness.h) for values out of range.
 */
int refs_kweight_init(struct refs_kweight *k, unsigned channels, double rate_hz);

/* RT-safe.  Clears the state (as if preceded by silence). */
void refs_kweight_reset(struct refs_kweight *k);

/*
 * RT-safe.  Filters `frames` interleaved frames of finite samples (see
 * refs_kweight_clean()) and adds each channel's sum of squared K-weighted
 * samples to sum[c] (sum has 2 entries; with one channel sum[1] gains 0).
 * Each channel's squares are added one frame after the other onto sum[c]:
 * a stretch split over several calls gives the same sums to the bit.
 */
void refs_kweight_run(struct refs_kweight *k, const float *in, size_t frames, double sum[2]);

/*
 * RT-safe.  Copies `frames` interleaved frames of `channels` (1 or 2)
 * samples from src to dst (which may be src), non-finite samples as 0,
 * and raises peak[c] to the largest |sample| of channel c (the sample
 * peak, as libebur128 reads it).
 */
void refs_kweight_clean(float *dst, const float *src, size_t frames, unsigned channels,
                        double peak[2]);

#endif

/*
 * termaster — true-peak detector (ITU-R BS.1770-4 Annex 2).
 *
 * Oversamples each channel 4× or 8× with FIR interpolators and reports
 * the largest magnitude of the reconstructed waveform.  Used by the
 * limiter (chain/limiter.c) and reusable by meters.
 *
 * BS.1770-4 Annex 2 notes that a 4× meter built on its short 48-tap
 * example filter under-reads by up to 0.55–0.69 dB near Nyquist (8× by
 * 0.14–0.17 dB).  These close that gap here:
 *
 *  - a long interpolator: 2 × CHAIN_TP_HALF = 128 taps, a
 *    Kaiser-windowed sinc (beta 10, ~100 dB stop band) cut off at 0.98 of
 *    the input Nyquist, each phase normalised to unity gain at DC.  It is
 *    flat (±0.0001 dB) to 0.465·fs — 20.5 kHz at 44.1 kHz —, -6 dB at
 *    0.49·fs, -20 dB at Nyquist and -100 dB from 0.515·fs on, like a good
 *    DAC's reconstruction filter: the images of everything below 0.485·fs
 *    are gone, where a cut-off at Nyquist (1.0) passes those of
 *    0.475–0.5·fs at up to -6 dB into the reading;
 *  - every phase is interpolated, phase 0 included: with the cut-off below
 *    Nyquist the filtered curve need not pass through the samples, and
 *    its peaks next to a sample count (the sample values count as well;
 *    taking the sample as the phase-0 point instead let music overshoot
 *    the reference meter of tests/util.c by 0.05 dB);
 *  - in three stages (truepeak.c): the long filter gives the points at
 *    the samples and half-way (2×), two short half-band filters the rest
 *    (4×, 8×), where the 2× content is already band-limited: 216
 *    multiply-adds per channel and frame at 8×, against 576 for the
 *    eight phases of the long filter at once;
 *  - a parabolic refinement: where an oversampled point is a local maximum
 *    of |x|, the vertex of the parabola through it and its two neighbours is
 *    taken as the peak;
 *  - 8× where accuracy matters most (the limiter's default); the factor
 *    can be switched at run time without allocating
 *    (chain_truepeak_set_oversample()): both tap sets are designed at
 *    creation.  Consecutive intervals cover the waveform without gaps at
 *    one factor, but the points of 4× and 8× differ, so the first
 *    interval after a switch is read with both factors and reports the
 *    larger: nothing between the last interval of one and the first of
 *    the other goes unread.
 *
 * Measured worst under-read for a peak at any sub-sample position (a
 * cosine at a random phase; tests/test_limiter.c prints the table): 8×
 * within 0.002 dB up to 0.453·fs (20 kHz at 44.1 kHz), over-read within
 * 0.0005 dB; 4× within 0.031 dB (the refinement's error at that spacing).
 *
 * Content between 0.47·fs and Nyquist has no single true peak: its
 * reconstruction depends on where a filter's transition band lies (an
 * ideal sinc and a filter cut at 0.98·Nyquist can disagree by tenths of a
 * dB on white noise).  This detector sides with the latter, as does the
 * reference meter in tests/util.c (a cut-off at 1.0 lets the limiter
 * overshoot that reference by 0.15 dB on music).
 *
 * Meters in use read that region differently again: libebur128 (used by
 * `termaster analyze`, refs/loudness.c, and by many tools) oversamples
 * only 4× (2× from 96 kHz, none from 192 kHz) with a 49-tap Hann-windowed
 * sinc cut off at Nyquist and not normalised per phase, and reads up to
 * 0.4 dB above this detector on dense material with energy near Nyquist.
 * A dual detector (chain_truepeak_new_dual()) also computes, from the
 * same history and for the same interval, exactly what libebur128
 * computes, and reports the larger reading: a limiter driven by it holds
 * its ceiling on both.  That costs 4·13 (2·25 at 96 kHz) double-precision
 * multiply-adds per channel and frame.
 *
 * Latency: the peak of the interval between input frames m and m+1 is known
 * once frame m + chain_truepeak_latency() (74) has been pushed, for both
 * readings.
 *
 * Errors: 0 or CHAIN_ERROR_* (chain/chain.h).
 */
#ifndef TM_CHAIN_TRUEPEAK_H
#define TM_CHAIN_TRUEPEAK_H

#include <stddef.h>

/* Half the long interpolator's length, in input frames (the detector's
 * latency is a few frames more: chain_truepeak_latency()). */
#define CHAIN_TP_HALF 64

struct chain_truepeak;

/*
 * channels: 1 … 8; oversample: 4 or 8.  May allocate.  Returns NULL and
 * sets *err to CHAIN_ERROR_NOMEM, or CHAIN_ERROR_RANGE for other values.
 */
struct chain_truepeak *chain_truepeak_new(unsigned channels,
					  unsigned oversample, int *err);
/*
 * As chain_truepeak_new(), plus the reading libebur128 (1.2) gives at
 * sample rate rate_hz (rounded to an integer, as libebur128 takes it):
 * each interval's value is the larger of the two.  oversample may also be
 * 0: then only the libebur128 reading is computed.  May allocate.
 * Returns NULL and sets *err to CHAIN_ERROR_NOMEM, or CHAIN_ERROR_RANGE.
 */
struct chain_truepeak *chain_truepeak_new_dual(unsigned channels,
					       unsigned oversample,
					       double rate_hz, int *err);
/* Frees and sets *tp to NULL.  Accepts NULL and *tp == NULL. */
void chain_truepeak_free(struct chain_truepeak **tp);

/* RT-safe.  Clears the history (as if preceded by silence). */
void chain_truepeak_reset(struct chain_truepeak *tp);

/* Frames between pushing frame m and the report of the interval that
 * starts at frame m - latency: 74 (CHAIN_TP_HALF and the half-band
 * stages). */
unsigned chain_truepeak_latency(const struct chain_truepeak *tp);

/*
 * RT-safe.  Push one frame (`channels` samples).  Returns the true peak
 * (linear magnitude, >= 0) of the interval that starts at input frame
 * c = m - L, where m is the frame just pushed and L =
 * chain_truepeak_latency(): the larger of |x[c]| and the refined maxima of
 * the points from c - 1/os to c + (os-2)/os (each point is refined once
 * both its neighbours are known); for a dual detector, the larger of
 * that and libebur128's points c, c + 1/F … c + (F-1)/F; the largest over
 * the channels.  Consecutive reports cover the waveform without gaps.
 * ch_peak, when not NULL, receives the same per channel.  Non-finite
 * samples are treated as 0.
 */
float chain_truepeak_push(struct chain_truepeak *tp, const float *frame,
			  float *ch_peak);

/*
 * RT-safe.  As chain_truepeak_push(), for a caller that only needs
 * readings above `thr` (linear, >= 0; a limiter's ceiling): returns the
 * same value as chain_truepeak_push() whenever that value is above thr,
 * and otherwise some value <= thr; ch_peak (NULL or `channels` entries)
 * likewise per channel.  It skips the 8×/4× interpolation of an interval
 * when K × (largest |sample| of the 148 frames it reads, taken over
 * whole chunks of 16 frames, up to 163) cannot exceed
 * max(thr, libebur128 reading) (with ch_peak: the smallest channel's),
 * where K = 3.25 (10.2 dB) bounds the filter's gain and the refinement
 * (truepeak.c proves it), or when a local bound cannot (the interval's
 * points from their weights on the nearest nine frames, with signs, plus
 * the rest of their weights times that largest sample; truepeak.c), and
 * the libebur128 reading likewise below
 * 1.86 (4×) or 2.31 (2×) times that sample: so it cannot miss a reading
 * above thr, and once it interpolates again its values are bit-identical
 * to chain_truepeak_push()'s.  When it resumes after skipping it
 * computes the skipped points that the next readings need.
 */
float chain_truepeak_push_above(struct chain_truepeak *tp, const float *frame,
				float thr, float *ch_peak);

/*
 * RT-safe.  chain_truepeak_push_above() for `frames` frames at once, at a
 * lower cost (the interpolation runs over several frames side by side):
 * the same values wherever they are above thr; at or below thr either
 * may be the exact reading or a stand-in <= thr, as the block decides
 * (between two intervals it interpolates anyway, a reading costs less
 * than the bound that could skip it).  Sample c of frame t is in[c * ch_stride + t *
 * frame_stride] (interleaved: 1, channels; planar rows: row length, 1);
 * peak[t] receives the return value of frame t, and ch_peak (NULL or
 * frames × channels entries) ch_peak[t * channels + c] its ch_peak.
 */
void chain_truepeak_push_block_above(struct chain_truepeak *tp, const float *in,
				     size_t ch_stride, size_t frame_stride,
				     size_t frames, float thr, float *peak,
				     float *ch_peak);

/*
 * RT-safe, allocates nothing.  Switch the fine reading of a detector
 * created with oversample 4 or 8 to the other factor (4 or 8).  Takes
 * effect with the next push: the refinement of the next interval is
 * rebuilt at the new spacing, so from that interval on the readings are
 * those of a detector created with the new factor.  Returns 0, or
 * CHAIN_ERROR_RANGE (other factors, or a meter-only detector).
 */
int chain_truepeak_set_oversample(struct chain_truepeak *tp, unsigned oversample);
/* The current factor (0: meter reading only). */
unsigned chain_truepeak_oversample(const struct chain_truepeak *tp);

/* For a dual detector: libebur128's own delay, in frames: once it has
 * been fed frame m it has computed the points of the intervals up to
 * m - chain_truepeak_meter_delay() (24 / F: 6 at 4×, 12 at 2×; 0 when it
 * does not interpolate, and for a detector without the meter reading).
 * A meter that must read exactly what libebur128 reads on a stream of N
 * frames pushes latency - delay frames of silence after it: the last
 * interval reported is then N - 1 - delay. */
unsigned chain_truepeak_meter_delay(const struct chain_truepeak *tp);

/* For a dual detector: K_m, the bound on its meter reading (libebur128's)
 * of an interval c: at most K_m (1.86 at 4×, 2.31 at 2×, 1 without
 * interpolation, rounding included) times the largest |sample| of frames
 * c - D … c + D, D = chain_truepeak_meter_delay(); computed in float,
 * K_m · that sample is a safe bound (the detector skips on it).  0 for a
 * detector without the meter reading. */
float chain_truepeak_meter_bound(const struct chain_truepeak *tp);

/*
 * RT-safe.  Meter form: push `frames` interleaved frames and raise
 * peak[c] (linear, caller-initialised, `channels` entries) to the largest
 * true peak seen on channel c.  The last L frames are reported by later
 * calls (feed L frames of silence to flush).
 */
void chain_truepeak_process(struct chain_truepeak *tp, const float *in,
			    size_t frames, float *peak);

#endif

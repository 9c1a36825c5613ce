/*
 * termaster — true-peak detector (ITU-R BS.1770-4 Annex 2).
 *
 * Oversamples each channel 4× or 8× with a polyphase FIR interpolator and
 * reports the largest magnitude of the reconstructed waveform.  Used by the
 * limiter (chain/limiter.c) and reusable by meters.
 *
 * BS.1770-4 Annex 2 (and EBU Tech 3341) note that a 4× meter with the short
 * 48-tap example filter under-reads by up to 0.55–0.69 dB for signals near
 * Nyquist.  Two things close most of that gap here:
 *
 *  - a longer interpolator: 2 × CHAIN_TP_HALF taps per phase (48), a
 *    Kaiser-windowed sinc (beta 7) cut off at the input Nyquist, each phase
 *    normalised to unity gain at DC;
 *  - a parabolic refinement: where an oversampled point is a local maximum
 *    of |x|, the vertex of the parabola through it and its two neighbours is
 *    taken as the peak.
 *
 * Measured worst case for a peak at any sub-sample position (a cosine
 * sampled at a random phase), 4×: within 0.002 dB up to 0.35·fs, 0.031 dB
 * up to 0.453·fs (20 kHz at 44.1 kHz); 8×: within 0.003 dB up to 0.453·fs.
 * Above that the interpolator's transition band starts (-0.1 dB at 0.46·fs).
 *
 * Latency: the peak of the interval between input frames m and m+1 is known
 * once frame m + CHAIN_TP_HALF has been pushed (chain_truepeak_latency()).
 *
 * Errors: 0 or CHAIN_ERROR_* (chain/chain.h).
 */
#ifndef TM_CHAIN_TRUEPEAK_H
#define TM_CHAIN_TRUEPEAK_H

#include <stddef.h>

/* Half the interpolator length, in input frames; also its latency. */
#ifndef CHAIN_TP_HALF
#define CHAIN_TP_HALF 24
#endif

struct chain_truepeak;

/*
 * channels: 1 … 8; oversample: 4 or 8.  May allocate.  Returns NULL and
 * sets *err to CHAIN_ERROR_NOMEM, or CHAIN_ERROR_RANGE for other values.
 */
struct chain_truepeak *chain_truepeak_new(unsigned channels,
					  unsigned oversample, int *err);
/* Frees and sets *tp to NULL.  Accepts NULL and *tp == NULL. */
void chain_truepeak_free(struct chain_truepeak **tp);

/* RT-safe.  Clears the history (as if preceded by silence). */
void chain_truepeak_reset(struct chain_truepeak *tp);

/* Frames between pushing frame m and the report of the interval that
 * starts at frame m - latency: CHAIN_TP_HALF. */
unsigned chain_truepeak_latency(const struct chain_truepeak *tp);

/*
 * RT-safe.  Push one frame (`channels` samples).  Returns the true peak
 * (linear magnitude, >= 0) over the interval [m-L, m-L+1) of the input,
 * where m is the frame just pushed and L = chain_truepeak_latency(): the
 * sample at m-L itself and the oversample-1 points after it, refined as
 * described above; the largest over the channels.  ch_peak, when not NULL,
 * receives the same per channel.  Non-finite samples are treated as 0.
 */
float chain_truepeak_push(struct chain_truepeak *tp, const float *frame,
			  float *ch_peak);

/*
 * RT-safe.  Meter form: push `frames` interleaved frames and raise
 * peak[c] (linear, caller-initialised, `channels` entries) to the largest
 * true peak seen on channel c.  The last L frames are reported by later
 * calls (feed L frames of silence to flush).
 */
void chain_truepeak_process(struct chain_truepeak *tp, const float *in,
			    size_t frames, float *peak);

#endif

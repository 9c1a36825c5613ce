/*
 * termaster — auto-align: the time offset between two versions of the same
 * song (the mix and its unmastered bounce, last week's master, a master
 * with a different head), by generalised cross-correlation.  Not RT-safe:
 * runs on a worker (it allocates and plans FFTs), never in the callback.
 *
 * Method (refs/align.c has the details):
 *  1. coarse: both mono sums ((L + R) / 2) low-passed and decimated to
 *     about 6 kHz; their cross-correlation over every lag allowed, by FFT,
 *     with PHAT weighting (the cross-spectrum divided by its magnitude:
 *     C. H. Knapp and G. C. Carter, "The generalized correlation method for
 *     estimation of time delay", IEEE Trans. ASSP 24(4), 1976), so that an
 *     EQ or a gain change between the versions does not move or blur the
 *     peak — every frequency votes for the lag with the same weight;
 *  2. fine: full rate, PHAT again, around the coarse lag (± 4 decimation
 *     steps), over up to 32 stretches of 0.7 s spread across the overlap;
 *     the integer lag of the peak is the answer, and a parabola through
 *     the peak and its neighbours gives a sub-sample estimate.
 * Verdict: a match needs peak_z ≥ 12 and peak_ratio ≥ 2 (measured:
 * unrelated music or noise reads z 5.5 … 10, ratio 1.0 … 1.4; a delayed,
 * EQ'd, soft-clipped, noisy copy z ≥ 300, ratio ≥ 15).
 *
 * Cost: a 4-minute 48 kHz pair, any offset, takes about 0.3 s on one core
 * (tests/test_align.c prints the figure) and two FFT buffers of the
 * decimated length rounded up to a power of two (2 × 16 MB for 4 min; an
 * hour-long pair would need 2 × 256 MB).  max_offset_s shrinks them only
 * when it is short against the tracks.
 *
 * Errors: 0 or enum refs_align_error.
 */
#ifndef TM_REFS_ALIGN_H
#define TM_REFS_ALIGN_H

#include <stdint.h>

enum refs_align_error {
	REFS_ALIGN_OK = 0,
	REFS_ALIGN_ERROR_NOMEM,
	REFS_ALIGN_ERROR_INVALID, /* NULL buffer, bad rate, negative length */
	REFS_ALIGN_ERROR_CANCELLED,
};

enum refs_align_verdict {
	REFS_ALIGN_MATCH = 0, /* one clear peak: the offset is reliable */
	REFS_ALIGN_WEAK,      /* no peak stands out of the correlation
	                       * noise: probably not the same recording */
	REFS_ALIGN_AMBIGUOUS, /* another lag nearly as good (a repeated
	                       * section): second_offset_frames */
	REFS_ALIGN_NO_SIGNAL, /* silence, or less than 1 s of overlap */
};

struct refs_align_result {
	/* b relative to a: b[n + offset] matches a[n], i.e. positive when b
	 * is late (its content starts offset frames after a's).  To line the
	 * two up, play b from (position in a) + offset. */
	int64_t offset_frames;
	double offset_fine; /* sub-sample estimate (frames), within ±0.5
	                     * of offset_frames; informational */
	double offset_s;    /* offset_frames / rate */

	/* confidence */
	double peak;                  /* full-rate PHAT peak, 0 … 1: the share of
	                               * frequencies agreeing on the lag (1: a pure
	                               * delay; the tests' EQ'd copies read 0.98,
	                               * with noise 20 dB under the music 0.66,
	                               * unrelated signals ~0.02) */
	double peak_ratio;            /* coarse peak over the best peak more than
	                               * 10 ms away (≥ 1) */
	double peak_z;                /* coarse peak over the rms of the
	                               * correlation at all other lags */
	int64_t second_offset_frames; /* where that runner-up peak is */
	int reliable;                 /* verdict == REFS_ALIGN_MATCH */
	int inverted;                 /* b matches with its polarity flipped */
	enum refs_align_verdict verdict;

	/* informational, over the overlap once aligned (mono sums) */
	double correlation; /* Pearson correlation, -1 … 1 */
	double gain_db;     /* level of b relative to a (rms) */
	double overlap_s;   /* how long both play together */
};

/* Finds the offset of b against a.  a_lr and b_lr are interleaved stereo
 * (L, R) at the same rate; lengths may differ.  max_offset_s bounds
 * |offset| (≤ 0: any offset the lengths allow; the fine pass may land up
 * to 4 decimation steps, ~0.7 ms, beyond the bound).  progress may be NULL; it
 * is called about every 0.1 s with the fraction done, and returning
 * nonzero from it cancels.  r is filled when the call returns 0, whatever
 * the verdict (offset 0 when NO_SIGNAL).
 * Errors: REFS_ALIGN_ERROR_{NOMEM, INVALID, CANCELLED}. */
int refs_align_find(const float *a_lr, int64_t a_frames, const float *b_lr, int64_t b_frames,
                    double rate, double max_offset_s, struct refs_align_result *r,
                    int (*progress)(void *user, double fraction), void *user);

/* A short text for a verdict ("match", "no clear match", …). */
const char *refs_align_verdict_text(enum refs_align_verdict v);

/* Text for a REFS_ALIGN_ERROR_* code. */
const char *refs_align_strerror(int err);

#endif

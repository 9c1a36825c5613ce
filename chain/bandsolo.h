/*
 * termaster — band solo for the monitor section.
 *
 * Listen to one band of whatever plays (DESIGN.md, monitor section: match
 * gain -> band solo -> stereo/mono/side -> playback simulation).  Six bands,
 * split at 60, 250, 500, 2000 and 6000 Hz:
 *
 *	band 0   off: the input untouched (bit-exact, latency 0)
 *	band 1   below 60 Hz            band 4   500 Hz - 2 kHz
 *	band 2   60 - 250 Hz            band 5   2 - 6 kHz
 *	band 3   250 - 500 Hz           band 6   above 6 kHz
 *
 * The filters: a tree of Linkwitz-Riley 16th-order crossovers (96 dB/oct,
 * each the square of an 8th-order Butterworth, -6.02 dB at its crossover,
 * low and high outputs in phase there) with all-pass compensation, so the
 * six bands sum to an all-pass: flat in magnitude.  Why so steep, and the
 * structure: see chain/bandsolo.c.  Responses (exact for the realised
 * filters; chain_bandsolo_response_db() evaluates them):
 *
 *	|LP(f)| = 1 / (1 + r^16),  |HP(f)| = r^16 / (1 + r^16),
 *	r = tan(pi f / rate) / tan(pi fc / rate)
 *
 * and a band is the product of the high-passes of every crossover below it
 * and the low-pass of its upper edge (the compensation all-passes change
 * no magnitude).  Hence:
 *  - at a band edge: -6.02 dB (plus < 0.001 dB from the other edge);
 *  - "outside the band" means at least half an octave beyond an edge
 *    (below lo/sqrt(2) or above hi·sqrt(2)): attenuated by at least
 *    48.2 dB there (20·log10(1 + 2^8)); the 40 dB point lies 0.415 octave
 *    beyond an edge, the 60 dB point 0.62 octave;
 *  - at the log-centre of each band (bands 1 and 6 taken as 20-60 Hz and
 *    6-20 kHz) the loss is under 0.07 dB (250-500 Hz, one octave wide,
 *    loses the most: 0.068 dB);
 *  - the six bands summed: 0 dB at every frequency (an all-pass).
 * The bilinear transform's warping only steepens the slopes (towards
 * Nyquist) and flattens the passbands.
 *
 * Latency 0 (no lookahead), but steep filters delay what they pass by
 * their group delay, most at the lowest crossover: 45 ms at 40 Hz in band
 * 1, 60 ms at 60 Hz, 23 ms at 100 Hz, 10 ms at 354 Hz, under 3 ms above
 * 1 kHz (48 kHz); band 1's impulse response falls 60 dB in 150 ms.  Every
 * source soloed through the same band is delayed alike, so A/B stays
 * sample-aligned.
 *
 * Switching crossfades over CHAIN_BANDSOLO_FADE_MS with raised-cosine
 * weights applied to the finished bands and the dry input; every filter
 * runs, so the band faded in is already settled: a sine's level never
 * rises above the larger of its levels before and after a switch, and two
 * neighbours crossfade at their crossover without a dip (LR: in phase).
 * (Crossing between the dry input and a band dips where their phases
 * differ, as any crossfade between a signal and a filtered copy does: to
 * -3 dB at 90°.)
 * Off (band 0) is a wire: once the output is dry, process() does not write
 * the buffer.  By default the filters keep running while off (keep-warm),
 * so a solo from off is one 10 ms crossfade too, at the cost of running
 * them; without keep-warm they stop while off (process() costs nothing)
 * and a solo from there first lets them settle: the band fades in after
 * CHAIN_BANDSOLO_WAKE_MS.
 *
 * Crossovers at or above 0.45·rate do not exist (6 kHz below a rate of
 * 13.33 kHz): the band above the last one that exists is silent.
 *
 * Loudness matching within a band is the caller's: measure each source
 * through chain_bandsolo_render() (the same filters, offline).
 *
 * Errors: 0 or enum chain_error (chain/chain.h): CHAIN_ERROR_NOMEM,
 * CHAIN_ERROR_RATE (rate outside 8 kHz … 384 kHz or not finite),
 * CHAIN_ERROR_RANGE (band outside 0 … CHAIN_BANDSOLO_BANDS),
 * CHAIN_ERROR_VALUE (NULL buffer or negative frame count).
 */
#ifndef TM_CHAIN_BANDSOLO_H
#define TM_CHAIN_BANDSOLO_H

#include <stdint.h>

/* Bands 1 … 6; 0 is off. */
#define CHAIN_BANDSOLO_BANDS 6
/* Crossover frequencies, Hz: band 1 lies below the first, band k between
 * the (k-1)th and the kth, band 6 above the fifth. */
#define CHAIN_BANDSOLO_EDGES_HZ { 60.0, 250.0, 500.0, 2000.0, 6000.0 }
/* Length of a band switch (raised-cosine crossfade), ms. */
#define CHAIN_BANDSOLO_FADE_MS 10.0
/* Without keep-warm, how long after a solo from off the band starts to
 * fade in, ms: 10 ms fading the filters' input in, 80 ms settling. */
#define CHAIN_BANDSOLO_WAKE_MS 90.0
/* Input samples beyond ± this are clamped (non-finite ones read as 0)
 * unless the output is dry (off), which passes everything untouched. */
#define CHAIN_BANDSOLO_CLAMP 1e6

struct chain_bandsolo;

/* Short name for the screen: "off", "below 60 Hz", "60-250 Hz" … ; NULL
 * for a band outside 0 … CHAIN_BANDSOLO_BANDS.  Static strings. */
const char *chain_bandsolo_name(int band);

/* Nominal edges of a band, Hz: band 1 has lo 0, band 6 hi INFINITY, band 0
 * (off) 0 and INFINITY.  Returns 0 or CHAIN_ERROR_RANGE. */
int chain_bandsolo_edges_hz(int band, double *lo_hz, double *hi_hz);

/* Magnitude response of the realised band filter at freq_hz, in dB (0 for
 * band 0, -INFINITY for a band that does not exist at this rate).  NAN
 * unless 0 < freq_hz < rate / 2, the rate is valid and the band exists. */
double chain_bandsolo_response_db(double rate, int band, double freq_hz);

/* May allocate.  Starts off (band 0), with keep-warm on; the filters
 * settle on the input for CHAIN_BANDSOLO_WAKE_MS before a solo can fade
 * in.  Returns NULL and sets *err (if err is not NULL) to
 * CHAIN_ERROR_RATE or CHAIN_ERROR_NOMEM. */
struct chain_bandsolo *chain_bandsolo_new(double rate, int *err);
/* Frees and sets *b to NULL.  Accepts NULL and *b == NULL. */
void chain_bandsolo_free(struct chain_bandsolo **b);

/* RT-safe.  Solo `band` (0 = off).  Crossfades from what plays over
 * CHAIN_BANDSOLO_FADE_MS (from idle: after CHAIN_BANDSOLO_WAKE_MS); a new
 * call during a fade turns it around from where it is.  snap != 0 lands
 * at once, no fade (render start); snapping to 0 makes the output the
 * input from the next sample.  Returns 0, or CHAIN_ERROR_RANGE (nothing
 * changes). */
int chain_bandsolo_set(struct chain_bandsolo *b, int band, int snap);
/* RT-safe.  The band last set. */
int chain_bandsolo_band(const struct chain_bandsolo *b);
/* RT-safe.  on != 0 (the default): the filters run while off, on the
 * input, so that a solo starts with a plain crossfade.  0: while off and
 * dry they stop (idle) and process() leaves the buffer alone at no cost;
 * a solo from idle starts after CHAIN_BANDSOLO_WAKE_MS.  Turning it on
 * while idle starts the filters (the output stays the input). */
void chain_bandsolo_keep_warm(struct chain_bandsolo *b, int on);

/* RT-safe.  In place, buf[0] left, buf[1] right, any n.  Whenever the
 * output is dry (off, after the fade) the buffer is not written: off is
 * bit-exact, NaN included.  Otherwise non-finite input samples are read
 * as 0 and the rest clamped to ±CHAIN_BANDSOLO_CLAMP; the output is
 * finite. */
void chain_bandsolo_process(struct chain_bandsolo *b, float *const *buf, unsigned n);
/* RT-safe.  Clears the filters and lands on the band last set (no fade;
 * a soloed band restarts from silence, as a render does); frees nothing. */
void chain_bandsolo_reset(struct chain_bandsolo *b);
/* RT-safe.  Nonzero while the filters are stopped (off, dry, keep-warm
 * off; from the first sub-block of CHAIN_SUBBLOCK frames after the fade
 * to off ends): process() costs nothing. */
int chain_bandsolo_idle(const struct chain_bandsolo *b);
/* Frames of delay added: always 0. */
unsigned chain_bandsolo_latency(const struct chain_bandsolo *b);

/* Not RT (allocates): `frames` stereo frames of interleaved in_lr through
 * band `band`, from silence, without fades, into interleaved out_lr (may
 * be in_lr).  The output has the input's length (tails past the end are
 * dropped); it equals what chain_bandsolo_process() gives after
 * chain_bandsolo_set(b, band, 1) on a new processor, whatever the block
 * sizes.  Returns 0 or an error above. */
int chain_bandsolo_render(const float *in_lr, float *out_lr, int64_t frames, double rate,
			  int band);

#endif

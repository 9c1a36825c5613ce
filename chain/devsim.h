/*
 * termaster — playback-system simulation (earbuds, car, phone, laptop, TV).
 *
 * A device is a frequency-response curve plus the behaviour of the device
 * (DESIGN.md, "Anchors"):
 *
 *   input ─▶ [mono sum] ─▶ [excursion protection + suspension] ─▶ curve ─▶ (+ road noise) ─▶ output
 *
 *  - mono summing: (L + R) / 2 through one path, the same samples on both
 *    outputs (spec.mono);
 *  - a small speaker's limited excursion (spec.excursion_hz > 0): the
 *    cone's excursion is the drive voltage low-passed at the driver's
 *    resonance (a closed box: R. H. Small, "Closed-Box Loudspeaker
 *    Systems, Part I: Analysis", JAES 20(10), 1972).  A protection limiter
 *    (the "smart amplifier" of phones and laptops) turns the band below
 *    the resonance down when that excursion nears the limit, and what
 *    gets through is bent by a progressive suspension (W. Klippel,
 *    "Nonlinear Large-Signal Behavior of Electrodynamic Loudspeakers at
 *    Low Frequencies", JAES 40(6), 1992): level-dependent compression and
 *    distortion, both driven by the listening level;
 *  - the curve (spec.freq_hz / gain_db): realised as a fixed-pole parallel
 *    IIR filter fitted to it within a fraction of a dB (see chain/devsim.c),
 *    with no latency;
 *  - a road-noise bed (spec.noise_hi_hz > 0): deterministic noise shaped
 *    like a cabin's road noise, added after the curve (it is heard in the
 *    cabin, not played by the speakers), at a settable level, off by
 *    default.
 *
 * The listening level says how far the device's volume is turned up: 0 dB
 * is full volume, where a low band peaking at spec.excursion_db dBFS moves
 * the cone to its limit.  It does not change the output level: the drive
 * into the speaker model rises with it and the output is scaled back by
 * the same amount, so in the linear range (low levels) the output is the
 * curve exactly, and only the compression and distortion grow with it.
 *
 * Errors: 0 or enum chain_error (chain/chain.h): CHAIN_ERROR_NOMEM,
 * CHAIN_ERROR_RATE (rate outside 8 kHz … 384 kHz), CHAIN_ERROR_VALUE (a
 * non-finite number or frequencies not strictly increasing in the spec),
 * CHAIN_ERROR_RANGE (a spec value outside the limits below).
 */
#ifndef TM_CHAIN_DEVSIM_H
#define TM_CHAIN_DEVSIM_H

#include <stddef.h>

/* Curve points per device. */
#define CHAIN_DEVSIM_MAX_POINTS 2048
/* Limits of a curve point. */
#define CHAIN_DEVSIM_FREQ_MIN_HZ 1.0
#define CHAIN_DEVSIM_FREQ_MAX_HZ 100000.0
#define CHAIN_DEVSIM_GAIN_MIN_DB -120.0
#define CHAIN_DEVSIM_GAIN_MAX_DB 40.0

/* Listening level, dB re the device's full volume (for a parameter
 * table: min, max, default). */
#define CHAIN_DEVSIM_LEVEL_MIN_DB -60.0f
#define CHAIN_DEVSIM_LEVEL_MAX_DB 0.0f
#define CHAIN_DEVSIM_LEVEL_DEF_DB -12.0f

/* Road-noise level: RMS of the noise bed on each channel,
 * 20·log10(rms) (a full-scale sine is -3.01 dB on this scale), independent
 * of the listening level: the screen sets it relative to the program (a
 * cabin's noise masks the quiet parts of a mix, and the bass most).  At or
 * below CHAIN_DEVSIM_NOISE_OFF_DB (and for -inf or NaN) the noise is off;
 * it is off by default. */
#define CHAIN_DEVSIM_NOISE_OFF_DB -90.0f
#define CHAIN_DEVSIM_NOISE_MAX_DB 0.0f

/* Excursion limiter: starts CHAIN_DEVSIM_PROTECT_DB under the excursion
 * limit; above it the low band rises 1/excursion_ratio dB per dB. */
#define CHAIN_DEVSIM_PROTECT_DB -6.0

/* A device.  Plain data (copy freely); refs/devices.c fills it from a
 * text file. */
struct chain_devsim_spec {
	/* the curve: n_points >= 1 points, frequencies strictly increasing;
	 * interpolated linearly in log-frequency, held flat beyond its ends */
	unsigned n_points;
	double freq_hz[CHAIN_DEVSIM_MAX_POINTS];
	double gain_db[CHAIN_DEVSIM_MAX_POINTS];
	int mono; /* 1: sum to mono, identical outputs */
	/* excursion (0 = none): the driver's resonance, 10 Hz … 5 kHz */
	double excursion_hz;
	/* peak level (dBFS, -60 … +20) of the band below excursion_hz that
	 * reaches the excursion limit at listening level 0 dB */
	double excursion_db;
	double excursion_ratio; /* protection ratio, 1 … 20 (default 4) */
	/* road noise (noise_hi_hz = 0: none): noise falling at
	 * noise_slope_db_oct (-6 … 0 dB/oct; -3 is pink) from a 2nd-order
	 * high-pass at noise_lo_hz (5 … 200 Hz) to a 2nd-order low-pass at
	 * noise_hi_hz (100 … 10000 Hz, above noise_lo_hz) */
	double noise_lo_hz;
	double noise_hi_hz;
	double noise_slope_db_oct;
};

/* Defaults: no points, stereo, no excursion (ratio 4), no noise
 * (lo 20 Hz, slope -3 dB/oct). */
void chain_devsim_spec_default(struct chain_devsim_spec *s);

/* 0, or CHAIN_ERROR_VALUE / CHAIN_ERROR_RANGE with a one-line reason in
 * msg ("point 3: 100 Hz is not above 125 Hz"). */
int chain_devsim_spec_check(const struct chain_devsim_spec *s, char *msg, size_t msg_len);

/* The curve at freq_hz, dB: linear in log-frequency between points, held
 * flat beyond the ends.  freq_hz > 0. */
double chain_devsim_curve_db(const struct chain_devsim_spec *s, double freq_hz);

struct chain_devsim;

/* May allocate, and takes time (a few tens of ms): fits the curve at
 * `rate`.  Call off the audio thread.  Returns NULL and sets *err on
 * failure.  Starts with listening level CHAIN_DEVSIM_LEVEL_DEF_DB and the
 * noise off. */
struct chain_devsim *chain_devsim_new(double rate, const struct chain_devsim_spec *spec, int *err);
/* Frees and sets *d to NULL.  Accepts NULL and *d == NULL. */
void chain_devsim_free(struct chain_devsim **d);

/* RT-safe.  In place, buf[0] left, buf[1] right, any n.  Non-finite
 * input samples are taken as 0 and samples beyond ±1e6 are clamped. */
void chain_devsim_process(struct chain_devsim *d, float *const *buf, unsigned n);
/* RT-safe.  Clears the signal state and restarts the noise sequence;
 * parameters land on their targets. */
void chain_devsim_reset(struct chain_devsim *d);
/* RT-safe.  Listening level in dB re full volume, clamped to
 * CHAIN_DEVSIM_LEVEL_MIN_DB … MAX; NaN is ignored.  Glides over ~50 ms
 * unless snap != 0. */
void chain_devsim_set_level(struct chain_devsim *d, float listen_db, int snap);
/* RT-safe.  Road-noise RMS level in dB (see CHAIN_DEVSIM_NOISE_OFF_DB),
 * clamped to at most CHAIN_DEVSIM_NOISE_MAX_DB.  Glides over ~50 ms unless
 * snap != 0.  No effect on a device without a noise spectrum. */
void chain_devsim_set_noise(struct chain_devsim *d, float noise_db, int snap);
/* Frames of delay added: always 0. */
unsigned chain_devsim_latency(const struct chain_devsim *d);
/* RT-safe.  Largest gain reduction of the excursion limiter during the
 * last process() call, dB >= 0. */
float chain_devsim_protection_db(const struct chain_devsim *d);

/* ---- the fit (not RT: for tests, reports and the screen) ---- */

/* Small-signal magnitude response of the realised filter at freq_hz
 * (0 < freq_hz < rate / 2), dB. */
double chain_devsim_response_db(const struct chain_devsim *d, double freq_hz);
/* Largest |response - curve| in dB over 20 Hz … min(20 kHz, 0.46·rate),
 * on a 1/48-octave grid. */
double chain_devsim_fit_error_db(const struct chain_devsim *d);
/* Number of second-order sections the filter runs per path (0 for a flat
 * curve, which passes the signal bit-exact). */
unsigned chain_devsim_sections(const struct chain_devsim *d);
int chain_devsim_mono(const struct chain_devsim *d);

#endif

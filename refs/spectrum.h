/*
 * termaster — tonal balance: the long-term average spectrum of a stereo
 * source in 1/3-octave bands, mid and side separately.  Not RT-safe: runs on
 * a worker (it allocates and plans FFTs), never in the audio callback.
 *
 * Bands: 31 third octaves, nominal centres 20 Hz … 20 kHz (ISO 266 labels).
 * The exact centres are base 2, f_k = 1000 · 2^(k/3) Hz, k = -17 … 13
 * (19.69 Hz … 20.16 kHz), and the edges f_k · 2^(±1/6), so the bands tile
 * the axis without gap or overlap (IEC 61260:1995 / ANSI S1.11-2004 allowed
 * base 2; the 2014 edition keeps only base 10, whose centres differ by at
 * most 1.3 % at 20 Hz).
 *
 * Method (Welch): mid = (L + R) / 2 and side = (L - R) / 2; periodic Hann
 * windows of FFT length N = the power of two ≥ rate / 1 Hz (65536 at 44.1
 * and 48 kHz: 0.73 Hz bins, so the 20 Hz band, 4.6 Hz wide, spans six
 * bins), 50 % overlap, plus one last window aligned to the end of the
 * region so no sample is left out; power spectra averaged.  A band's power
 * is the sum of the bin powers between its edges, each bin taken as the
 * interval [k - 1/2, k + 1/2]·rate/N and the two edge bins weighted by the
 * fraction of that interval inside the band.  Shorter regions than N use
 * one Hann window as long as the region (zero-padded).
 *
 * What 0 dB means: band power relative to a full-scale sine.  The bin
 * powers are scaled so that they sum to the mean square of the signal
 * (Parseval, corrected for the window's power Σw²), and a band reads
 * 10·log10(P_band / 0.5): a sine of peak amplitude A lying inside a band
 * reads 20·log10(A) dB in it (A = 1: 0 dB), whatever the FFT length.  The
 * sine must sit in the mid (L = R) to read A in mid; on L alone it reads
 * 6.02 dB lower in mid and in side.  Noise reads its power in the band:
 * white noise of variance s² has power s² · B / (rate / 2) in a band of
 * width B Hz and reads 10·log10(2 s² · B / (rate / 2)), so it rises
 * 10·log10(2^(1/3)) = 1.0034 dB a band; pink noise reads the same in every
 * band.
 *
 * Loudness normalisation (opts.normalise): the integrated loudness L of
 * the same region (refs/loudness.h, BS.1770-4, both channels) is
 * subtracted from every band, so the spectrum reads as if the source
 * played at 0 LUFS and two sources compare at equal loudness; the shift
 * (-L) is in offset_db.  A silent region (L = -inf) is left unshifted
 * (normalised = 0).
 *
 * Errors: 0 or enum refs_spectrum_error.
 */
#ifndef TM_REFS_SPECTRUM_H
#define TM_REFS_SPECTRUM_H

#include <stdint.h>

#define REFS_SPECTRUM_BANDS 31
/* A band with no power at all reads this (never -inf). */
#define REFS_SPECTRUM_FLOOR_DB (-200.0)

enum refs_spectrum_error {
	REFS_SPECTRUM_OK = 0,
	REFS_SPECTRUM_ERROR_NOMEM,
	REFS_SPECTRUM_ERROR_INVALID,  /* NULL buffer, no frames, bad rate */
	REFS_SPECTRUM_ERROR_LOUDNESS, /* the loudness measurement failed */
	REFS_SPECTRUM_ERROR_CANCELLED,
};

struct refs_spectrum_opts {
	int normalise; /* 1: subtract the integrated loudness */
	double lufs;   /* the region's integrated loudness when already
	                * known (the studio measured it), else NAN: it
	                * is measured (refs_loudness_measure) */
};

struct refs_spectrum {
	double rate;
	/* dB re a full-scale sine (see above), minus the loudness when
	 * normalised.  Bands whose lower edge is at or above Nyquist are NAN;
	 * a band straddling Nyquist holds the power below it. */
	double mid_db[REFS_SPECTRUM_BANDS];
	double side_db[REFS_SPECTRUM_BANDS];
	int normalised;    /* 1 when offset_db holds -lufs */
	double lufs;       /* integrated loudness of the region (-HUGE_VAL
	                    * when silent; NAN when not asked for) */
	double offset_db;  /* added to every band: -lufs or 0 */
	int64_t frames;    /* frames analysed */
	unsigned fft_size; /* N */
	unsigned windows;  /* Welch windows averaged */
};

void refs_spectrum_opts_default(struct refs_spectrum_opts *o);

/* The spectrum of `frames` interleaved stereo frames (L, R) at `rate` Hz —
 * a whole clip or a region of it (pass the region's first frame).
 * Non-finite samples count as 0.  progress may be NULL; it is called about
 * every 0.1 s with the fraction done, and returning nonzero from it cancels
 * (REFS_SPECTRUM_ERROR_CANCELLED).
 * Errors: REFS_SPECTRUM_ERROR_{NOMEM, INVALID, LOUDNESS, CANCELLED}. */
int refs_spectrum_measure(const float *lr, int64_t frames, double rate,
                          const struct refs_spectrum_opts *opts, struct refs_spectrum *out,
                          int (*progress)(void *user, double fraction), void *user);

/* out = a - b, band by band, mid and side (e.g. mix minus reference, both
 * normalised).  A band that is NAN or at the floor in either is NAN in out
 * (no information).  out may be a or b.  Scalar fields of out are a's,
 * with offset_db = a.offset_db - b.offset_db and lufs = NAN. */
void refs_spectrum_diff(const struct refs_spectrum *a, const struct refs_spectrum *b,
                        struct refs_spectrum *out);

/* Band tables (band 0 … REFS_SPECTRUM_BANDS - 1; out of range: 0/NULL). */
double refs_spectrum_centre_hz(int band);  /* exact, base 2 */
double refs_spectrum_lower_hz(int band);   /* centre · 2^(-1/6) */
double refs_spectrum_upper_hz(int band);   /* centre · 2^(+1/6) */
const char *refs_spectrum_label(int band); /* ISO 266: "31.5", "1k" */

/* FFTW's planner is not thread-safe (only fftwf_execute* is: FFTW 3.3
 * manual, "Thread safety").  Every plan made or destroyed in refs/ holds
 * this one lock, so two workers may analyse at once. */
void refs_spectrum_planner_lock(void);
void refs_spectrum_planner_unlock(void);

/* Text for a REFS_SPECTRUM_ERROR_* code. */
const char *refs_spectrum_strerror(int err);

#endif

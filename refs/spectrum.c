/*
 * termaster — 1/3-octave long-term average spectrum (see spectrum.h).
 *
 * Welch's method (P. D. Welch, "The use of fast Fourier transform for the
 * estimation of power spectra", IEEE Trans. Audio Electroacoust. 15(2),
 * 1967) with FFTW 3 (single precision, FFTW_ESTIMATE plans: no timing runs,
 * the same plan every time).
 *
 * Scaling: for a window w of length M and FFT length N, the one-sided bin
 * power
 *	p[k] = c_k · |X[k]|² / (N · Σ w²),  c_k = 1 at DC and Nyquist, else 2,
 * sums over k to the windowed mean square of the signal (Parseval:
 * Σ|x·w|² = (1/N) Σ|X|², and E[Σ(x·w)²] = σ² Σ w² for a stationary x).
 * A sine of amplitude A has mean square A²/2 whatever its frequency, and
 * the Hann window's leakage beyond ±3 bins is below -40 dB, so a sine
 * inside a band (even the 20 Hz band: ±3.1 bins of 0.73 Hz about its
 * centre) sums to A²/2 there; the band reads 10·log10(P / 0.5).
 *
 * State glossary (measure()):
 *   win        periodic Hann, M = min(N, frames) points; w2 = Σ w².
 *   in_m/in_s  mid and side of one window, zero-padded to N.
 *   acc_m/s    Σ over windows of |X[k]|², k = 0 … N/2 (double).
 *   band       per band: first/last bin and the first/last bins' weights
 *              (the fraction of the bin's interval inside the band).
 */
#include "config.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <fftw3.h>

#include "refs/loudness.h"
#include "refs/spectrum.h"

#define CENTRE_K0           (-17) /* 1000 · 2^(-17/3) = 19.69 Hz */
#define BIN_MAX_HZ          1.0   /* N = first power of two ≥ rate / 1 Hz */
#define MIN_FRAMES          16
#define PROGRESS_INTERVAL_S 0.1
#define LOUDNESS_SHARE      0.85 /* of the progress bar, when measured */

static pthread_mutex_t planner = PTHREAD_MUTEX_INITIALIZER;

void refs_spectrum_planner_lock(void)
{
	pthread_mutex_lock(&planner);
}

void refs_spectrum_planner_unlock(void)
{
	pthread_mutex_unlock(&planner);
}

void refs_spectrum_opts_default(struct refs_spectrum_opts *o)
{
	o->normalise = 0;
	o->lufs = NAN;
}

double refs_spectrum_centre_hz(int band)
{
	if (band < 0 || band >= REFS_SPECTRUM_BANDS)
		return 0;
	return 1000.0 * pow(2.0, (double)(band + CENTRE_K0) / 3.0);
}

double refs_spectrum_lower_hz(int band)
{
	return refs_spectrum_centre_hz(band) * pow(2.0, -1.0 / 6.0);
}

double refs_spectrum_upper_hz(int band)
{
	return refs_spectrum_centre_hz(band) * pow(2.0, 1.0 / 6.0);
}

const char *refs_spectrum_label(int band)
{
	/* ISO 266 preferred frequencies (R10 series), 20 Hz … 20 kHz */
	static const char *const label[REFS_SPECTRUM_BANDS] = {
	    "20",    "25",  "31.5", "40",   "50",  "63",  "80",    "100",   "125",  "160", "200",
	    "250",   "315", "400",  "500",  "630", "800", "1k",    "1.25k", "1.6k", "2k",  "2.5k",
	    "3.15k", "4k",  "5k",   "6.3k", "8k",  "10k", "12.5k", "16k",   "20k",
	};

	if (band < 0 || band >= REFS_SPECTRUM_BANDS)
		return NULL;
	return label[band];
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

struct band_bins {
	int valid;       /* lower edge below Nyquist */
	unsigned k0, k1; /* first and last bin (inclusive) */
	double w0, w1;   /* their weights (interior bins weigh 1) */
};

/* Fraction of bin k's interval [k - 1/2, k + 1/2]·df, clipped to
 * [0, rate/2], that lies in [lo, hi]. */
static double bin_weight(unsigned k, unsigned half, double df, double lo, double hi)
{
	double a = ((double)k - 0.5) * df, b = ((double)k + 0.5) * df;
	double a2, b2;

	if (a < 0)
		a = 0;
	if (b > (double)half * df)
		b = (double)half * df;
	a2 = a > lo ? a : lo;
	b2 = b < hi ? b : hi;
	return b2 > a2 ? (b2 - a2) / (b - a) : 0.0;
}

static void plan_bands(struct band_bins *bb, unsigned n, double rate)
{
	unsigned half = n / 2;
	double df = rate / (double)n, nyq = 0.5 * rate;

	for (int b = 0; b < REFS_SPECTRUM_BANDS; b++) {
		double lo = refs_spectrum_lower_hz(b), hi = refs_spectrum_upper_hz(b);
		double k0, k1;

		memset(&bb[b], 0, sizeof(bb[b]));
		if (lo >= nyq)
			continue;
		if (hi > nyq)
			hi = nyq;
		k0 = floor(lo / df + 0.5);
		k1 = floor(hi / df + 0.5);
		if (k1 > half)
			k1 = half;
		bb[b].valid = 1;
		bb[b].k0 = (unsigned)k0;
		bb[b].k1 = (unsigned)k1;
		bb[b].w0 = bin_weight(bb[b].k0, half, df, lo, hi);
		bb[b].w1 = bin_weight(bb[b].k1, half, df, lo, hi);
	}
}

static double band_power(const struct band_bins *bb, const double *p)
{
	double s;

	if (bb->k0 == bb->k1)
		return bb->w0 * p[bb->k0];
	s = bb->w0 * p[bb->k0] + bb->w1 * p[bb->k1];
	for (unsigned k = bb->k0 + 1; k < bb->k1; k++)
		s += p[k];
	return s;
}

static double to_db(double power, double offset_db)
{
	double v;

	if (!(power > 0))
		return REFS_SPECTRUM_FLOOR_DB;
	v = 10.0 * log10(power / 0.5) + offset_db;
	return v > REFS_SPECTRUM_FLOOR_DB ? v : REFS_SPECTRUM_FLOOR_DB;
}

static float finite_or_zero(float v)
{
	return isfinite(v) ? v : 0.0f;
}

/* progress of the part [base, base + span) of the whole job */
struct prog {
	int (*fn)(void *user, double fraction);
	void *user;
	double base, span, last;
};

static int prog_report(void *p_, double fraction)
{
	struct prog *p = p_;

	if (!p->fn)
		return 0;
	return p->fn(p->user, p->base + p->span * fraction);
}

static int measure(const float *lr, int64_t frames, double rate, double offset_db,
                   struct refs_spectrum *out, struct prog *pg)
{
	struct band_bins bb[REFS_SPECTRUM_BANDS];
	float *win = NULL, *in_m = NULL, *in_s = NULL;
	fftwf_complex *x_m = NULL, *x_s = NULL;
	double *acc_m = NULL, *acc_s = NULL;
	fftwf_plan plan = NULL;
	unsigned n = 1, half, m, windows = 0;
	int64_t hop, start, last_start;
	double w2 = 0, scale;
	int err = REFS_SPECTRUM_OK;

	while ((double)n < rate / BIN_MAX_HZ)
		n *= 2;
	half = n / 2;
	m = frames < (int64_t)n ? (unsigned)frames : n;
	hop = m / 2;

	win = malloc(m * sizeof(*win));
	acc_m = calloc(half + 1, sizeof(*acc_m));
	acc_s = calloc(half + 1, sizeof(*acc_s));
	in_m = fftwf_malloc(n * sizeof(*in_m));
	in_s = fftwf_malloc(n * sizeof(*in_s));
	x_m = fftwf_malloc((half + 1) * sizeof(*x_m));
	x_s = fftwf_malloc((half + 1) * sizeof(*x_s));
	if (!win || !acc_m || !acc_s || !in_m || !in_s || !x_m || !x_s) {
		err = REFS_SPECTRUM_ERROR_NOMEM;
		goto out;
	}
	memset(in_m, 0, n * sizeof(*in_m));
	memset(in_s, 0, n * sizeof(*in_s));
	refs_spectrum_planner_lock();
	plan = fftwf_plan_dft_r2c_1d((int)n, in_m, x_m, FFTW_ESTIMATE);
	refs_spectrum_planner_unlock();
	if (!plan) {
		err = REFS_SPECTRUM_ERROR_NOMEM;
		goto out;
	}
	for (unsigned i = 0; i < m; i++) {
		double w = 0.5 - 0.5 * cos(2.0 * M_PI * (double)i / (double)m);
		win[i] = (float)w;
		w2 += (double)win[i] * (double)win[i];
	}

	last_start = frames - m;
	start = 0;
	for (;;) {
		const float *x = lr + 2 * (size_t)start;

		for (unsigned i = 0; i < m; i++) {
			float l = finite_or_zero(x[2 * i]), r = finite_or_zero(x[2 * i + 1]);
			in_m[i] = win[i] * 0.5f * (l + r);
			in_s[i] = win[i] * 0.5f * (l - r);
		}
		fftwf_execute_dft_r2c(plan, in_m, x_m);
		fftwf_execute_dft_r2c(plan, in_s, x_s);
		for (unsigned k = 0; k <= half; k++) {
			acc_m[k] += (double)x_m[k][0] * x_m[k][0] + (double)x_m[k][1] * x_m[k][1];
			acc_s[k] += (double)x_s[k][0] * x_s[k][0] + (double)x_s[k][1] * x_s[k][1];
		}
		windows++;
		if (pg->fn && now_s() - pg->last >= PROGRESS_INTERVAL_S) {
			pg->last = now_s();
			if (prog_report(pg, (double)start / (double)(last_start + 1))) {
				err = REFS_SPECTRUM_ERROR_CANCELLED;
				goto out;
			}
		}
		if (start == last_start)
			break;
		/* the next window, or one aligned to the end for the tail */
		start = start + hop <= last_start ? start + hop : last_start;
	}

	plan_bands(bb, n, rate);
	scale = 1.0 / ((double)windows * (double)n * w2);
	for (unsigned k = 0; k <= half; k++) {
		double c = (k == 0 || k == half) ? scale : 2.0 * scale;
		acc_m[k] *= c;
		acc_s[k] *= c;
	}
	for (int b = 0; b < REFS_SPECTRUM_BANDS; b++) {
		if (!bb[b].valid) {
			out->mid_db[b] = NAN;
			out->side_db[b] = NAN;
			continue;
		}
		out->mid_db[b] = to_db(band_power(&bb[b], acc_m), offset_db);
		out->side_db[b] = to_db(band_power(&bb[b], acc_s), offset_db);
	}
	out->fft_size = n;
	out->windows = windows;
out:
	if (plan) {
		refs_spectrum_planner_lock();
		fftwf_destroy_plan(plan);
		refs_spectrum_planner_unlock();
	}
	fftwf_free(x_s);
	fftwf_free(x_m);
	fftwf_free(in_s);
	fftwf_free(in_m);
	free(acc_s);
	free(acc_m);
	free(win);
	return err;
}

int refs_spectrum_measure(const float *lr, int64_t frames, double rate,
                          const struct refs_spectrum_opts *opts, struct refs_spectrum *out,
                          int (*progress)(void *user, double fraction), void *user)
{
	struct refs_spectrum_opts def;
	struct prog pg = {progress, user, 0.0, 1.0, 0.0};
	double lufs = NAN, offset_db = 0;
	int normalised = 0, err;

	if (!opts) {
		refs_spectrum_opts_default(&def);
		opts = &def;
	}
	if (!lr || !out || frames < MIN_FRAMES || !(rate >= 1000.0 && rate <= 1e6))
		return REFS_SPECTRUM_ERROR_INVALID;
	if (opts->normalise) {
		lufs = opts->lufs;
		if (isnan(lufs)) {
			struct refs_loudness loud;

			/* BS.1770 with its 4× true-peak oversampling costs
			 * about six times the FFTs (measured: 0.9 s against
			 * 0.13 s for 4 min at 48 kHz) */
			pg.span = LOUDNESS_SHARE;
			err = refs_loudness_measure(lr, frames, 2, rate, &loud, prog_report, &pg);
			if (err == REFS_LOUDNESS_ERROR_CANCELLED)
				return REFS_SPECTRUM_ERROR_CANCELLED;
			if (err)
				return err == REFS_LOUDNESS_ERROR_NOMEM
				           ? REFS_SPECTRUM_ERROR_NOMEM
				           : REFS_SPECTRUM_ERROR_LOUDNESS;
			lufs = loud.integrated_lufs;
			pg.base = LOUDNESS_SHARE;
		}
		if (isfinite(lufs)) {
			offset_db = -lufs;
			normalised = 1;
		}
	}
	pg.span = 1.0 - pg.base;
	err = measure(lr, frames, rate, offset_db, out, &pg);
	if (err)
		return err;
	out->rate = rate;
	out->normalised = normalised;
	out->lufs = lufs;
	out->offset_db = offset_db;
	out->frames = frames;
	if (progress)
		progress(user, 1.0);
	return REFS_SPECTRUM_OK;
}

static double diff1(double a, double b)
{
	if (isnan(a) || isnan(b) || a <= REFS_SPECTRUM_FLOOR_DB || b <= REFS_SPECTRUM_FLOOR_DB)
		return NAN;
	return a - b;
}

void refs_spectrum_diff(const struct refs_spectrum *a, const struct refs_spectrum *b,
                        struct refs_spectrum *out)
{
	struct refs_spectrum r = *a;

	for (int i = 0; i < REFS_SPECTRUM_BANDS; i++) {
		r.mid_db[i] = diff1(a->mid_db[i], b->mid_db[i]);
		r.side_db[i] = diff1(a->side_db[i], b->side_db[i]);
	}
	r.offset_db = a->offset_db - b->offset_db;
	r.lufs = NAN;
	*out = r;
}

const char *refs_spectrum_strerror(int err)
{
	static const char *const text[] = {
	    [REFS_SPECTRUM_OK] = "success",
	    [REFS_SPECTRUM_ERROR_NOMEM] = "out of memory",
	    [REFS_SPECTRUM_ERROR_INVALID] = "no audio to analyse",
	    [REFS_SPECTRUM_ERROR_LOUDNESS] = "the loudness measurement failed",
	    [REFS_SPECTRUM_ERROR_CANCELLED] = "cancelled",
	};

	if (err < 0 || (size_t)err >= sizeof(text) / sizeof(text[0]) || !text[err])
		return "unknown spectrum error";
	return text[err];
}

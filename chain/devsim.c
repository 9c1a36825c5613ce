/*
 * termaster — playback-system simulation (see chain/devsim.h).
 *
 * The curve.  A fixed-pole parallel filter (B. Bank, "Direct design of
 * parallel second-order filters for instrument body modeling", ICMC 2007;
 * J. Rämö, V. Välimäki and B. Bank, "High-precision parallel graphic
 * equalizer", IEEE/ACM TASLP 22(12), 2014):
 *
 *	H(z) = d0 + sum_k (b0_k + b1_k z^-1) / ((1 - p_k z^-1)(1 - conj(p_k) z^-1))
 *
 * with DEVSIM_POLES_PER_OCT pole pairs per octave from DEVSIM_POLE_LO_HZ
 * up to 22 kHz (or 0.46·rate): 32 at 48 kHz.  Bank sets each pole's radius
 * from its neighbours' spacing, r_k = exp(-(theta_{k+1} - theta_{k-1}) / 4),
 * so that the resonators cross near their -3 dB points; here the bandwidth
 * is DEVSIM_POLE_BW = 2 times that (r_k = exp(-(theta_{k+1} -
 * theta_{k-1}) / 2)): with a third of an octave between poles, Bank's
 * bandwidth leaves a ±0.3 dB ripple on steep slopes, twice as wide leaves
 * under 0.1 dB.  The numerators are linear in H, so the fit is least
 * squares:
 *  1. the curve's minimum-phase response (the folded real cepstrum of its
 *     log magnitude on a grid of at most DEVSIM_FFT_BIN_HZ: A. V.
 *     Oppenheim and R. W. Schafer, "Discrete-Time Signal Processing",
 *     cepstrum analysis) on a 1/24-octave grid, and a linear least-squares
 *     fit of the complex response weighted by 1/|target| (relative error,
 *     i.e. dB error for small errors): Bank's design;
 *  2. Levenberg–Marquardt iterations on the dB error itself (the phase is
 *     let free), from that start;
 *  3. a few Lawson-style reweightings (C. L. Lawson, thesis, UCLA, 1961)
 *     that trade RMS for maximum error.
 * Least squares by Householder QR with scaled columns, all in double.
 * Fitting takes 20–120 ms (8 … 384 kHz); it runs in chain_devsim_new(),
 * which is reentrant (no global state, no FFTW planner).
 *
 * Why this and not a minimum-phase FIR: the car's +12 dB/oct rise below
 * 70 Hz and the small speakers' roll-offs need ~0.2 s of impulse response,
 * 8192+ taps in a zero-latency partitioned convolution; the 32 independent
 * sections vectorise across sections (mono) or channels (stereo) and cost
 * about 32 ns per stereo frame at 48 kHz on an x86-64 core (SSE2), with no
 * latency.  Fit error against the shipped curves, 20 Hz … 20 kHz, at 44.1,
 * 48 and 96 kHz (chain_devsim_fit_error_db(); tests/test_devsim.c prints
 * it): earbuds 0.25 dB, car 0.03, phone 0.14, laptop 0.11, TV 0.14, flat 0
 * (bit-exact bypass).
 *
 * Excursion (spec.excursion_hz > 0), per channel (or on the mono sum):
 *	e     = LP2(x)            excursion estimate: Butterworth low-pass at
 *	                          the resonance (closed-box displacement)
 *	L     = x - HP4(x)        the band the limiter turns down: the
 *	H     = HP4(x)            complement of a 4th-order Butterworth
 *	                          high-pass, so L + H = x exactly, and a 60 Hz
 *	                          tone leaks only -74 dB into H at 500 Hz
 *	u     = drive·|e|,        drive = 10^((listen_db - excursion_db)/20):
 *	                          1 at the excursion limit
 *	env   = peak follower of u (attack DEVSIM_ATTACK_MS, release
 *	        DEVSIM_RELEASE_MS; smooth branching, D. Giannoulis, M. Massberg
 *	        and J. D. Reiss, "Digital Dynamic Range Compressor Design — A
 *	        Tutorial and Analysis", JAES 60(6), 2012)
 *	g     = (env / T)^(1/ratio - 1) above T = CHAIN_DEVSIM_PROTECT_DB
 *	        under the limit, else 1; computed every DEVSIM_GAIN_EVERY
 *	        frames and ramped linearly in between
 *	y     = H + S(g·drive·L) / drive, with the suspension
 *	        S(v) = v for |v| <= 1/2, else sign(v)·(1/2 + t/(2(1 + t))),
 *	        t = 2|v| - 1: it stiffens progressively, is C1 at the knee
 *	        and never passes the limit 1
 * Below the knee and the threshold, y = H + L = x exactly: at a low
 * listening level the device is its curve (what the curve test checks).
 * A steady tone above the threshold comes out rising 1/ratio dB per dB
 * before S bends it further (tests/test_devsim.c derives the amount).
 *
 * Road noise (spec.noise_hi_hz > 0): per channel (one generator for a mono
 * device) a xorshift32 uniform source, a 2nd-order high-pass at
 * noise_lo_hz, first-order pole/zero pairs two octaves apart whose zeros
 * sit 4^(-slope/6) above the poles (average slope `slope` dB/oct; -3:
 * pink), a 2nd-order low-pass at noise_hi_hz; scaled so that the RMS is
 * 1 (impulse-response energy computed at construction), times the noise
 * level.  Deterministic: reset() restarts the sequence.
 *
 * State glossary (struct chain_devsim; every dv2 holds two lanes: left and
 * right, or for the mono path the path and an unused copy):
 *   slot[]     the parallel sections, two lanes each: L and R of one
 *              section (stereo), or two sections of the mono path;
 *              coefficients and two past outputs; x1 the past input
 *   xs         excursion: the sense low-pass, the high-pass (two
 *              sections), per path the envelope and the gain ramp (g0, g1)
 *   nz         noise: seeds, high-pass, pinking pairs, low-pass
 *   level, noise   smoothers (chain/smooth.h) of the listening level (dB)
 *              and the noise level (dB)
 *   pos        frames since init/reset: sub-blocks (and the limiter's gain
 *              updates) sit on absolute positions, so the output does not
 *              depend on call sizes
 *
 * Denormals and hostile input (STYLE.md §3.5): input samples that are not
 * finite count as 0 and are clamped to ±1e6; once per sub-block recursive
 * state below DEVSIM_TINY is set to exact zeros, and state that is not
 * finite is cleared.
 */
#include "config.h"

#include <complex.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chain/biquad.h"
#include "chain/chain.h"
#include "chain/devsim.h"
#include "chain/smooth.h"

#define DEVSIM_RATE_MIN        8000.0
#define DEVSIM_RATE_MAX        384000.0
#define DEVSIM_POLES_PER_OCT   3.0
#define DEVSIM_POLE_BW         2.0 /* × Bank's pole bandwidth */
#define DEVSIM_POLE_LO_HZ      16.0
#define DEVSIM_POLE_HI_HZ      22000.0
#define DEVSIM_POLE_HI_RATE    0.46 /* × rate: highest pole */
#define DEVSIM_GRID_PER_OCT    24.0 /* fit grid density */
#define DEVSIM_GRID_LO_HZ      10.0
#define DEVSIM_GRID_HI_RATE    0.47 /* × rate: top of the fit grid */
#define DEVSIM_BAND_HI_RATE    0.46 /* × rate: top of the band at low rates */
#define DEVSIM_BAND_LO_HZ      20.0 /* where the fit must hold */
#define DEVSIM_BAND_HI_HZ      20000.0
#define DEVSIM_OUT_WEIGHT      0.05 /* weight outside the band */
#define DEVSIM_LM_ITER         30
#define DEVSIM_LAWSON_ITER     4
#define DEVSIM_FFT_BIN_HZ      0.75 /* cepstrum grid resolution, at most */
#define DEVSIM_LEVEL_TAU_MS    50.0
#define DEVSIM_NOISE_TAU_MS    50.0
#define DEVSIM_DB_SNAP         1e-3
#define DEVSIM_ATTACK_MS       1.0
#define DEVSIM_RELEASE_MS      150.0
#define DEVSIM_KNEE            0.5 /* S() is linear up to here (× limit) */
#define DEVSIM_GAIN_EVERY      8   /* frames per limiter gain update; divides 32 */
#define DEVSIM_IN_MAX          1e6
#define DEVSIM_TINY            1e-25
#define DEVSIM_HUGE            1e30
#define DEVSIM_NOISE_PAIRS_MAX 8

/* ---- the spec ---- */

void chain_devsim_spec_default(struct chain_devsim_spec *s)
{
	memset(s, 0, sizeof(*s));
	s->excursion_ratio = 4.0;
	s->noise_lo_hz = 20.0;
	s->noise_slope_db_oct = -3.0;
}

static int in_range(double v, double lo, double hi)
{
	return v >= lo && v <= hi;
}

int chain_devsim_spec_check(const struct chain_devsim_spec *s, char *msg, size_t msg_len)
{
	char dummy[8];

	if (!msg || !msg_len) {
		msg = dummy;
		msg_len = sizeof(dummy);
	}
	msg[0] = '\0';
	if (s->n_points < 1 || s->n_points > CHAIN_DEVSIM_MAX_POINTS) {
		snprintf(msg, msg_len, "the curve has %u points (1 … %u)", s->n_points,
		         CHAIN_DEVSIM_MAX_POINTS);
		return CHAIN_ERROR_RANGE;
	}
	for (unsigned i = 0; i < s->n_points; i++) {
		double f = s->freq_hz[i], g = s->gain_db[i];

		if (!isfinite(f) || !isfinite(g)) {
			snprintf(msg, msg_len, "point %u: not a number", i + 1);
			return CHAIN_ERROR_VALUE;
		}
		if (!in_range(f, CHAIN_DEVSIM_FREQ_MIN_HZ, CHAIN_DEVSIM_FREQ_MAX_HZ)) {
			snprintf(msg, msg_len, "point %u: %g Hz is outside %g … %g Hz", i + 1, f,
			         CHAIN_DEVSIM_FREQ_MIN_HZ, CHAIN_DEVSIM_FREQ_MAX_HZ);
			return CHAIN_ERROR_RANGE;
		}
		if (!in_range(g, CHAIN_DEVSIM_GAIN_MIN_DB, CHAIN_DEVSIM_GAIN_MAX_DB)) {
			snprintf(msg, msg_len, "point %u: %g dB is outside %g … %g dB", i + 1, g,
			         CHAIN_DEVSIM_GAIN_MIN_DB, CHAIN_DEVSIM_GAIN_MAX_DB);
			return CHAIN_ERROR_RANGE;
		}
		if (i > 0 && !(f > s->freq_hz[i - 1])) {
			snprintf(msg, msg_len, "point %u: %g Hz is not above %g Hz", i + 1, f,
			         s->freq_hz[i - 1]);
			return CHAIN_ERROR_VALUE;
		}
	}
	if (!isfinite(s->excursion_hz) || !isfinite(s->excursion_db) ||
	    !isfinite(s->excursion_ratio) || !isfinite(s->noise_lo_hz) ||
	    !isfinite(s->noise_hi_hz) || !isfinite(s->noise_slope_db_oct)) {
		snprintf(msg, msg_len, "a device parameter is not a number");
		return CHAIN_ERROR_VALUE;
	}
	if (s->excursion_hz != 0.0) {
		if (!in_range(s->excursion_hz, 10.0, 5000.0)) {
			snprintf(msg, msg_len, "excursion_hz %g is outside 10 … 5000 Hz (0 = none)",
			         s->excursion_hz);
			return CHAIN_ERROR_RANGE;
		}
		if (!in_range(s->excursion_db, -60.0, 20.0)) {
			snprintf(msg, msg_len, "excursion_db %g is outside -60 … 20 dBFS",
			         s->excursion_db);
			return CHAIN_ERROR_RANGE;
		}
		if (!in_range(s->excursion_ratio, 1.0, 20.0)) {
			snprintf(msg, msg_len, "excursion_ratio %g is outside 1 … 20",
			         s->excursion_ratio);
			return CHAIN_ERROR_RANGE;
		}
	}
	if (s->noise_hi_hz != 0.0) {
		if (!in_range(s->noise_lo_hz, 5.0, 200.0)) {
			snprintf(msg, msg_len, "noise_lo_hz %g is outside 5 … 200 Hz",
			         s->noise_lo_hz);
			return CHAIN_ERROR_RANGE;
		}
		if (!in_range(s->noise_hi_hz, 100.0, 10000.0) ||
		    !(s->noise_hi_hz > s->noise_lo_hz)) {
			snprintf(msg, msg_len,
			         "noise_hi_hz %g is outside 100 … 10000 Hz or not above "
			         "noise_lo_hz (0 = none)",
			         s->noise_hi_hz);
			return CHAIN_ERROR_RANGE;
		}
		if (!in_range(s->noise_slope_db_oct, -6.0, 0.0)) {
			snprintf(msg, msg_len, "noise_slope_db_oct %g is outside -6 … 0 dB/oct",
			         s->noise_slope_db_oct);
			return CHAIN_ERROR_RANGE;
		}
	}
	return 0;
}

double chain_devsim_curve_db(const struct chain_devsim_spec *s, double freq_hz)
{
	unsigned lo = 0, hi;

	if (s->n_points == 0)
		return 0.0;
	hi = s->n_points - 1;
	if (!(freq_hz > s->freq_hz[0]))
		return s->gain_db[0];
	if (freq_hz >= s->freq_hz[hi])
		return s->gain_db[hi];
	while (hi - lo > 1) {
		unsigned mid = (lo + hi) / 2;

		if (s->freq_hz[mid] <= freq_hz)
			lo = mid;
		else
			hi = mid;
	}
	return s->gain_db[lo] + (s->gain_db[hi] - s->gain_db[lo]) * log(freq_hz / s->freq_hz[lo]) /
	                            log(s->freq_hz[hi] / s->freq_hz[lo]);
}

/* ---- the fit: small numerical tools ---- */

/* In-place radix-2 FFT of n = 2^k points (unscaled); tw[k] =
 * exp(±2·pi·i·k/n), k < n/2: minus for the forward transform, plus for the
 * inverse. */
static void fft(double complex *x, unsigned n, const double complex *tw)
{
	for (unsigned i = 1, j = 0; i < n; i++) {
		unsigned bit = n >> 1;

		for (; j & bit; bit >>= 1)
			j ^= bit;
		j |= bit;
		if (i < j) {
			double complex t = x[i];

			x[i] = x[j];
			x[j] = t;
		}
	}
	for (unsigned len = 2; len <= n; len <<= 1) {
		unsigned step = n / len;

		for (unsigned i = 0; i < n; i += len) {
			for (unsigned k = 0; k < len / 2; k++) {
				double complex u = x[i + k], v = x[i + k + len / 2] * tw[k * step];

				x[i + k] = u + v;
				x[i + k + len / 2] = u - v;
			}
		}
	}
}

/*
 * Least squares min |A·x - b| by Householder QR, A rows × cols row-major
 * (rows >= cols), columns scaled to unit norm first.  A and b are
 * destroyed.  Columns that vanish get x = 0.
 */
static void lsq_solve(double *A, unsigned rows, unsigned cols, double *b, double *x, double *scale,
                      double *diag)
{
	for (unsigned j = 0; j < cols; j++) {
		double s = 0.0;

		for (unsigned i = 0; i < rows; i++)
			s += A[i * cols + j] * A[i * cols + j];
		scale[j] = s > 0.0 ? 1.0 / sqrt(s) : 0.0;
		for (unsigned i = 0; i < rows; i++)
			A[i * cols + j] *= scale[j];
	}
	for (unsigned k = 0; k < cols; k++) {
		double norm = 0.0, alpha, v2 = 0.0;

		for (unsigned i = k; i < rows; i++)
			norm += A[i * cols + k] * A[i * cols + k];
		norm = sqrt(norm);
		if (!(norm > 1e-300)) {
			diag[k] = 0.0;
			continue;
		}
		alpha = A[k * cols + k] > 0.0 ? -norm : norm;
		A[k * cols + k] -= alpha;
		for (unsigned i = k; i < rows; i++)
			v2 += A[i * cols + k] * A[i * cols + k];
		for (unsigned j = k + 1; j < cols; j++) {
			double s = 0.0;

			for (unsigned i = k; i < rows; i++)
				s += A[i * cols + k] * A[i * cols + j];
			s *= 2.0 / v2;
			for (unsigned i = k; i < rows; i++)
				A[i * cols + j] -= s * A[i * cols + k];
		}
		{
			double s = 0.0;

			for (unsigned i = k; i < rows; i++)
				s += A[i * cols + k] * b[i];
			s *= 2.0 / v2;
			for (unsigned i = k; i < rows; i++)
				b[i] -= s * A[i * cols + k];
		}
		diag[k] = alpha;
	}
	for (unsigned k = cols; k-- > 0;) {
		double t = b[k];

		if (diag[k] == 0.0 || fabs(diag[k]) < 1e-13) {
			x[k] = 0.0;
			continue;
		}
		for (unsigned j = k + 1; j < cols; j++)
			t -= A[k * cols + j] * x[j];
		x[k] = t / diag[k];
	}
	for (unsigned j = 0; j < cols; j++)
		x[j] *= scale[j];
}

/* ---- the fit ---- */

struct devsim_fit {
	double rate;
	unsigned K, P, M;      /* sections, parameters (2K + 1), grid points */
	double complex *pole;  /* K */
	double *w;             /* M: rad/sample */
	double *tgt;           /* M: dB */
	double *wt;            /* M: weight */
	double complex *basis; /* M × P */
	double *x;             /* P: b0_0, b1_0, b0_1, …, d0 */
	/* work */
	double *A, *b, *dx, *scale, *diag, *xt, *wl;
	double complex *H;
};

static double complex devsim_den(double complex p, double w)
{
	double complex zi = cexp(-I * w);

	return (1.0 - p * zi) * (1.0 - conj(p) * zi);
}

static void fit_free(struct devsim_fit *f)
{
	free(f->pole);
	free(f->w);
	free(f->tgt);
	free(f->wt);
	free(f->basis);
	free(f->x);
	free(f->A);
	free(f->b);
	free(f->dx);
	free(f->scale);
	free(f->diag);
	free(f->xt);
	free(f->wl);
	free(f->H);
}

static double band_hi(double rate)
{
	double hi = DEVSIM_BAND_HI_RATE * rate;

	return hi < DEVSIM_BAND_HI_HZ ? hi : DEVSIM_BAND_HI_HZ;
}

static int fit_alloc(struct devsim_fit *f, const struct chain_devsim_spec *s, double rate)
{
	double top = DEVSIM_POLE_HI_RATE * rate, lo = DEVSIM_POLE_LO_HZ, bhi = band_hi(rate);
	double gtop = DEVSIM_GRID_HI_RATE * rate;
	double *th;
	unsigned rows;

	memset(f, 0, sizeof(*f));
	f->rate = rate;
	if (top > DEVSIM_POLE_HI_HZ)
		top = DEVSIM_POLE_HI_HZ;
	f->K = (unsigned)floor(log2(top / lo) * DEVSIM_POLES_PER_OCT) + 1;
	f->P = 2 * f->K + 1;
	f->M = (unsigned)floor(log2(gtop / DEVSIM_GRID_LO_HZ) * DEVSIM_GRID_PER_OCT) + 1;
	rows = 2 * f->M + f->P;
	f->pole = calloc(f->K, sizeof(*f->pole));
	f->w = calloc(f->M, sizeof(double));
	f->tgt = calloc(f->M, sizeof(double));
	f->wt = calloc(f->M, sizeof(double));
	f->basis = calloc((size_t)f->M * f->P, sizeof(*f->basis));
	f->x = calloc(f->P, sizeof(double));
	f->A = calloc((size_t)rows * f->P, sizeof(double));
	f->b = calloc(rows, sizeof(double));
	f->dx = calloc(f->P, sizeof(double));
	f->scale = calloc(f->P, sizeof(double));
	f->diag = calloc(f->P, sizeof(double));
	f->xt = calloc(f->P, sizeof(double));
	f->wl = calloc(f->M, sizeof(double));
	f->H = calloc(f->M, sizeof(*f->H));
	th = calloc(f->K + 2, sizeof(double));
	if (!f->pole || !f->w || !f->tgt || !f->wt || !f->basis || !f->x || !f->A || !f->b ||
	    !f->dx || !f->scale || !f->diag || !f->xt || !f->wl || !f->H || !th) {
		free(th);
		fit_free(f);
		return CHAIN_ERROR_NOMEM;
	}
	/* poles: log-spaced, theta_0 and theta_{K+1} one step beyond */
	for (unsigned k = 0; k < f->K + 2; k++) {
		double fk = lo * pow(2.0, ((double)k - 1.0) / DEVSIM_POLES_PER_OCT);

		th[k] = 2.0 * M_PI * fk / rate;
	}
	th[f->K + 1] = th[f->K] + (th[f->K] - th[f->K - 1]);
	for (unsigned k = 0; k < f->K; k++) {
		double t = th[k + 1], r = exp(-DEVSIM_POLE_BW * (th[k + 2] - th[k]) / 4.0);

		f->pole[k] = r * cexp(I * t);
	}
	free(th);
	for (unsigned m = 0; m < f->M; m++) {
		double fm = DEVSIM_GRID_LO_HZ * pow(2.0, m / DEVSIM_GRID_PER_OCT);

		if (fm > gtop)
			fm = gtop;
		f->w[m] = 2.0 * M_PI * fm / rate;
		f->tgt[m] = chain_devsim_curve_db(s, fm);
		f->wt[m] =
		    (fm >= DEVSIM_BAND_LO_HZ * 0.97 && fm <= bhi * 1.03) ? 1.0 : DEVSIM_OUT_WEIGHT;
		for (unsigned k = 0; k < f->K; k++) {
			double complex a = 1.0 / devsim_den(f->pole[k], f->w[m]);

			f->basis[(size_t)m * f->P + 2 * k] = a;
			f->basis[(size_t)m * f->P + 2 * k + 1] = a * cexp(-I * f->w[m]);
		}
		f->basis[(size_t)m * f->P + 2 * f->K] = 1.0;
	}
	return 0;
}

/* The curve's minimum phase at every grid point, by the folded real
 * cepstrum of its log magnitude on an n-point grid. */
static int fit_min_phase(const struct devsim_fit *f, const struct chain_devsim_spec *s,
                         double *phase)
{
	unsigned n = 1024;
	double complex *c, *tw;

	while (f->rate / n > DEVSIM_FFT_BIN_HZ && n < (1u << 19))
		n <<= 1;
	c = malloc(n * sizeof(*c));
	tw = malloc(n / 2 * sizeof(*tw));
	if (!c || !tw) {
		free(c);
		free(tw);
		return CHAIN_ERROR_NOMEM;
	}
	for (unsigned k = 0; k < n / 2; k++)
		tw[k] = cexp(I * 2.0 * M_PI * k / n);
	for (unsigned k = 0; k <= n / 2; k++) {
		double fk = k ? f->rate * k / n : 0.0;

		c[k] = chain_devsim_curve_db(s, fk > 0 ? fk : 1e-9) * (M_LN10 / 20.0);
		if (k && k < n / 2)
			c[n - k] = c[k];
	}
	fft(c, n, tw);
	for (unsigned k = 0; k < n; k++)
		c[k] = creal(c[k]) / n;
	for (unsigned k = 1; k < n / 2; k++)
		c[k] *= 2.0;
	for (unsigned k = n / 2 + 1; k < n; k++)
		c[k] = 0.0;
	for (unsigned k = 0; k < n / 2; k++)
		tw[k] = conj(tw[k]);
	fft(c, n, tw);
	for (unsigned m = 0; m < f->M; m++) {
		double pos = f->w[m] / (2.0 * M_PI) * n;
		unsigned k = (unsigned)pos;
		double t = pos - k;

		if (k >= n / 2) {
			k = n / 2 - 1;
			t = 1.0;
		}
		phase[m] = (1.0 - t) * cimag(c[k]) + t * cimag(c[k + 1]);
	}
	free(tw);
	free(c);
	return 0;
}

static void fit_response(struct devsim_fit *f, const double *x)
{
	for (unsigned m = 0; m < f->M; m++) {
		const double complex *bm = &f->basis[(size_t)m * f->P];
		double complex h = 0.0;

		for (unsigned p = 0; p < f->P; p++)
			h += x[p] * bm[p];
		f->H[m] = h;
	}
}

static double h_db(double complex h)
{
	double a = creal(h) * creal(h) + cimag(h) * cimag(h);

	return 10.0 * log10(a > 1e-300 ? a : 1e-300);
}

/* Weighted sum of squared dB errors, and the largest error in the band. */
static double fit_cost(struct devsim_fit *f, const double *x, const double *wt, double *emax)
{
	double c = 0.0, mx = 0.0;

	fit_response(f, x);
	for (unsigned m = 0; m < f->M; m++) {
		double e = h_db(f->H[m]) - f->tgt[m];

		c += wt[m] * wt[m] * e * e;
		if (f->wt[m] == 1.0 && fabs(e) > mx)
			mx = fabs(e);
	}
	if (emax)
		*emax = mx;
	return c;
}

/* Step 1: complex least squares against the minimum-phase target. */
static int fit_complex(struct devsim_fit *f, const struct chain_devsim_spec *s)
{
	double *phase = malloc(f->M * sizeof(double));
	unsigned rows = 2 * f->M + f->P, P = f->P;
	int err;

	if (!phase)
		return CHAIN_ERROR_NOMEM;
	err = fit_min_phase(f, s, phase);
	if (err) {
		free(phase);
		return err;
	}
	memset(f->A, 0, (size_t)rows * P * sizeof(double));
	for (unsigned m = 0; m < f->M; m++) {
		double mag = pow(10.0, f->tgt[m] / 20.0), wm = f->wt[m] / mag;
		double complex t = mag * cexp(I * phase[m]);

		for (unsigned p = 0; p < P; p++) {
			double complex v = f->basis[(size_t)m * P + p];

			f->A[(2 * m) * P + p] = wm * creal(v);
			f->A[(2 * m + 1) * P + p] = wm * cimag(v);
		}
		f->b[2 * m] = wm * creal(t);
		f->b[2 * m + 1] = wm * cimag(t);
	}
	/* a light ridge keeps overlapping resonators from fighting */
	for (unsigned p = 0; p < P; p++) {
		double s2 = 0.0;

		for (unsigned i = 0; i < 2 * f->M; i++)
			s2 += f->A[i * P + p] * f->A[i * P + p];
		f->A[(2 * f->M + p) * P + p] = 1e-6 * sqrt(s2);
		f->b[2 * f->M + p] = 0.0;
	}
	lsq_solve(f->A, rows, P, f->b, f->x, f->scale, f->diag);
	free(phase);
	return 0;
}

/* Step 2: Levenberg–Marquardt on the weighted dB error (weights wt). */
static void fit_lm(struct devsim_fit *f, const double *wt, unsigned iters)
{
	unsigned M = f->M, P = f->P, rows = M + P;
	double lambda = 1e-3, cost = fit_cost(f, f->x, wt, NULL);
	const double k = 20.0 / M_LN10;

	for (unsigned it = 0; it < iters; it++) {
		double before = cost;
		int accepted = 0;

		fit_response(f, f->x);
		for (unsigned tries = 0; tries < 12 && !accepted; tries++) {
			for (unsigned m = 0; m < M; m++) {
				double complex h = f->H[m];
				double a = creal(h) * creal(h) + cimag(h) * cimag(h);

				if (a < 1e-300)
					a = 1e-300;
				for (unsigned p = 0; p < P; p++) {
					double complex v = conj(h) * f->basis[(size_t)m * P + p];

					f->A[m * P + p] = wt[m] * k * creal(v) / a;
				}
				f->b[m] = -wt[m] * (h_db(h) - f->tgt[m]);
			}
			for (unsigned p = 0; p < P; p++) {
				double s2 = 0.0;

				for (unsigned m = 0; m < M; m++)
					s2 += f->A[m * P + p] * f->A[m * P + p];
				memset(&f->A[(M + p) * P], 0, P * sizeof(double));
				f->A[(M + p) * P + p] = sqrt(lambda * s2) + 1e-300;
				f->b[M + p] = 0.0;
			}
			lsq_solve(f->A, rows, P, f->b, f->dx, f->scale, f->diag);
			for (unsigned p = 0; p < P; p++)
				f->xt[p] = f->x[p] + f->dx[p];
			{
				double c = fit_cost(f, f->xt, wt, NULL);

				if (isfinite(c) && c < cost) {
					memcpy(f->x, f->xt, P * sizeof(double));
					cost = c;
					accepted = 1;
					lambda = fmax(lambda / 3.0, 1e-9);
				} else {
					lambda *= 4.0;
					fit_response(f, f->x);
				}
			}
		}
		if (!accepted || before - cost < 1e-10 * before)
			break;
	}
}

/*
 * Fits the curve.  On success f->x holds the numerators and d0; the
 * largest in-band grid error is returned in *emax.
 */
static int fit_curve(struct devsim_fit *f, const struct chain_devsim_spec *s, double *emax)
{
	double best, *bestx;
	int err = fit_complex(f, s);

	if (err)
		return err;
	bestx = malloc(f->P * sizeof(double));
	if (!bestx)
		return CHAIN_ERROR_NOMEM;
	fit_lm(f, f->wt, DEVSIM_LM_ITER);
	fit_cost(f, f->x, f->wt, &best);
	memcpy(bestx, f->x, f->P * sizeof(double));
	memcpy(f->wl, f->wt, f->M * sizeof(double));
	for (unsigned it = 0; it < DEVSIM_LAWSON_ITER && best > 0.02; it++) {
		double mx, rms = 0.0, n = 0.0;

		fit_response(f, f->x);
		for (unsigned m = 0; m < f->M; m++) {
			double e = fabs(h_db(f->H[m]) - f->tgt[m]);

			if (f->wt[m] == 1.0) {
				rms += e * e;
				n += 1.0;
			}
		}
		rms = sqrt(rms / n) + 1e-6;
		for (unsigned m = 0; m < f->M; m++) {
			double e = fabs(h_db(f->H[m]) - f->tgt[m]);

			f->wl[m] *= sqrt(fmin(fmax(e / rms, 0.25), 4.0));
		}
		fit_lm(f, f->wl, DEVSIM_LM_ITER / 3);
		fit_cost(f, f->x, f->wt, &mx);
		if (mx < best) {
			best = mx;
			memcpy(bestx, f->x, f->P * sizeof(double));
		}
	}
	memcpy(f->x, bestx, f->P * sizeof(double));
	free(bestx);
	*emax = best;
	return 0;
}

/* ---- the running state ---- */

/* Two lanes: left and right, or two sections of the mono path.  GCC/Clang
 * vector extension (as chain/eq.c): SSE2 on x86-64, NEON on AArch64. */
typedef double dv2 __attribute__((vector_size(16)));

struct devsim_slot {          /* parallel section: direct form I */
	dv2 b0, b1, na1, na2; /* numerator, -a1, -a2 */
	dv2 y1, y2;           /* past outputs */
};

struct devsim_bq { /* biquad, transposed direct form II */
	dv2 b0, b1, b2, na1, na2;
	dv2 s1, s2;
};

struct devsim_exc {
	struct devsim_bq sense; /* LP2 at the resonance: the excursion */
	struct devsim_bq hp[2]; /* HP4: what the limiter leaves alone */
	double env[2];          /* peak follower, × the excursion limit */
	double g0[2], g1[2];    /* limiter gain: ramp from g0 to g1 over the
	                         * current DEVSIM_GAIN_EVERY frames */
};

struct devsim_noise {
	uint32_t seed[2];
	struct devsim_bq hp, lp;
	unsigned n_pairs;
	dv2 pz[DEVSIM_NOISE_PAIRS_MAX]; /* pole of each pinking pair */
	dv2 zz[DEVSIM_NOISE_PAIRS_MAX]; /* its zero */
	dv2 px[DEVSIM_NOISE_PAIRS_MAX]; /* state: previous input */
	dv2 py[DEVSIM_NOISE_PAIRS_MAX]; /* state: previous output */
	double scale;                   /* unit RMS */
};

struct chain_devsim {
	double rate;
	int mono;
	unsigned n_paths; /* 1 (mono) or 2 */
	/* the curve */
	unsigned K;           /* sections */
	double complex *pole; /* K */
	double *num;          /* 2K: b0_k, b1_k */
	double d0;
	int bypass; /* flat at 0 dB: passes bit-exact */
	double fit_error_db;
	unsigned n_slots;
	struct devsim_slot *slot;
	dv2 d0v, x1;
	/* excursion */
	int has_exc;
	double exc_db, ratio_exp, thr, inv_thr;
	double att, rel; /* envelope coefficients */
	struct devsim_exc xs;
	float protect_db;
	/* noise */
	int has_noise;
	struct devsim_noise nz;
	struct chain_smooth level, noise;
	unsigned long long pos;
};

static const uint32_t devsim_seed[2] = {0x9e3779b9u, 0x7f4a7c15u};

/* ---- per-sample helpers ---- */

static inline dv2 bq_run(struct devsim_bq *s, dv2 x)
{
	dv2 y = s->b0 * x + s->s1;

	s->s1 = s->b1 * x + s->na1 * y + s->s2;
	s->s2 = s->b2 * x + s->na2 * y;
	return y;
}

static void bq_set(struct devsim_bq *s, const struct chain_biquad *c)
{
	s->b0 = (dv2){c->b0, c->b0};
	s->b1 = (dv2){c->b1, c->b1};
	s->b2 = (dv2){c->b2, c->b2};
	s->na1 = (dv2){-c->a1, -c->a1};
	s->na2 = (dv2){-c->a2, -c->a2};
	s->s1 = s->s2 = (dv2){0.0, 0.0};
}

/* Zeroes a lane whose state is tiny (no subnormal tails, exact silence)
 * or not finite. */
static void tidy2(dv2 *a, dv2 *b)
{
	for (unsigned lane = 0; lane < 2; lane++) {
		double m = fabs((*a)[lane]) + fabs((*b)[lane]);

		if (!(m < DEVSIM_HUGE) || m < DEVSIM_TINY) {
			(*a)[lane] = 0.0;
			(*b)[lane] = 0.0;
		}
	}
}

static inline double clean_in(float v)
{
	double x = v;

	if (!isfinite(x))
		return 0.0;
	if (x > DEVSIM_IN_MAX)
		return DEVSIM_IN_MAX;
	if (x < -DEVSIM_IN_MAX)
		return -DEVSIM_IN_MAX;
	return x;
}

/* log2(x) for finite x >= 1: to about 1e-7 (atanh series of the
 * mantissa), without a libm call. */
static inline double fast_log2(double x)
{
	union {
		double d;
		uint64_t u;
	} v = {x};
	int e = (int)((v.u >> 52) & 0x7ff) - 1023;
	double t, t2;

	v.u = (v.u & 0x000fffffffffffffull) | 0x3ff0000000000000ull;
	t = (v.d - 1.0) / (v.d + 1.0);
	t2 = t * t;
	return e + 2.8853900817779268 * t *
	               (1.0 + t2 * (1.0 / 3 + t2 * (1.0 / 5 + t2 * (1.0 / 7 + t2 * (1.0 / 9)))));
}

/* 2^y for -1000 < y < 1000: to about 2e-7 (degree-7 series of the
 * fraction). */
static inline double fast_exp2(double y)
{
	union {
		double d;
		uint64_t u;
	} v;
	int n = (int)y;
	double f, p;

	if ((double)n > y)
		n--;
	f = (y - n) * M_LN2;
	p = 1.0 +
	    f * (1.0 +
	         f * (1.0 / 2 +
	              f * (1.0 / 6 +
	                   f * (1.0 / 24 + f * (1.0 / 120 + f * (1.0 / 720 + f * (1.0 / 5040)))))));
	v.u = (uint64_t)(n + 1023) << 52;
	return p * v.d;
}

/* The suspension: linear up to DEVSIM_KNEE, then bending smoothly (C1)
 * towards the excursion limit 1, which it never passes. */
static inline double suspension(double v)
{
	double a = fabs(v), t;

	if (a <= DEVSIM_KNEE)
		return v;
	t = (a - DEVSIM_KNEE) / (1.0 - DEVSIM_KNEE);
	a = DEVSIM_KNEE + (1.0 - DEVSIM_KNEE) * t / (1.0 + t);
	return v < 0.0 ? -a : a;
}

static inline uint32_t xorshift32(uint32_t *s)
{
	uint32_t x = *s;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return *s = x;
}

/* Road noise: one frame of unit RMS per lane. */
static inline dv2 noise_run(struct devsim_noise *n)
{
	/* uniform in (-1, 1), variance 1/3 (folded into n->scale) */
	dv2 v = {((double)xorshift32(&n->seed[0]) - 2147483647.5) * (1.0 / 2147483648.0),
	         ((double)xorshift32(&n->seed[1]) - 2147483647.5) * (1.0 / 2147483648.0)};

	v = bq_run(&n->hp, v);
	for (unsigned i = 0; i < n->n_pairs; i++) {
		dv2 y = v - n->zz[i] * n->px[i] + n->pz[i] * n->py[i];

		n->px[i] = v;
		n->py[i] = y;
		v = y;
	}
	return bq_run(&n->lp, v) * n->scale;
}

/*
 * Excursion on each path: x -> H + S(g·drive·L) / drive.  The envelope
 * runs every frame; the limiter's gain is computed every DEVSIM_GAIN_EVERY
 * frames (at absolute positions: `phase` = frame index modulo it) and
 * ramps linearly in between, reaching each new value on the last frame of
 * its group: a lag of a few frames against the 1 ms attack, for an eighth
 * of the cost.
 */
static inline dv2 exc_run(struct chain_devsim *d, dv2 x, double drive, double inv_drive,
                          unsigned phase, double *gmin)
{
	struct devsim_exc *s = &d->xs;
	dv2 e = bq_run(&s->sense, x) * (dv2){drive, drive};
	dv2 h = bq_run(&s->hp[1], bq_run(&s->hp[0], x));
	dv2 lo = x - h, out = x;

	for (unsigned p = 0; p < d->n_paths; p++) {
		double u = fabs(e[p]), env = s->env[p], g, v;

		env = u + (env - u) * (u > env ? d->att : d->rel);
		s->env[p] = env;
		if (phase == 0) {
			double t = 1.0;

			if (env > d->thr)
				t = fast_exp2(d->ratio_exp * fast_log2(env * d->inv_thr));
			s->g0[p] = s->g1[p];
			s->g1[p] = t;
			if (t < *gmin)
				*gmin = t;
		}
		g = s->g0[p] == s->g1[p] ? s->g1[p]
		                         : s->g0[p] + (s->g1[p] - s->g0[p]) *
		                                          ((phase + 1) * (1.0 / DEVSIM_GAIN_EVERY));
		v = g * drive * lo[p];
		if (g == 1.0 && fabs(v) <= DEVSIM_KNEE)
			continue; /* linear: exactly the input */
		out[p] = h[p] + suspension(v) * inv_drive;
	}
	return out;
}

/* The curve on one frame: x = (left, right) or (mono, mono). */
static inline dv2 bank_run(struct chain_devsim *d, dv2 x)
{
	dv2 acc = d->d0v * x, x1 = d->x1;

	for (unsigned j = 0; j < d->n_slots; j++) {
		struct devsim_slot *s = &d->slot[j];
		dv2 y = s->b0 * x + s->b1 * x1 + s->na1 * s->y1 + s->na2 * s->y2;

		s->y2 = s->y1;
		s->y1 = y;
		acc += y;
	}
	d->x1 = x;
	return acc;
}

/* ---- construction ---- */

static double noise_energy(const struct devsim_noise *n0, double rate, double lo)
{
	struct devsim_noise t = *n0;
	unsigned len = (unsigned)(rate * fmax(4.0, 40.0 / lo));
	double e = 0.0;

	t.scale = 1.0;
	for (unsigned i = 0; i < len; i++) {
		dv2 v = {i == 0 ? 1.0 : 0.0, 0.0};

		v = bq_run(&t.hp, v);
		for (unsigned k = 0; k < t.n_pairs; k++) {
			dv2 y = v - t.zz[k] * t.px[k] + t.pz[k] * t.py[k];

			t.px[k] = v;
			t.py[k] = y;
			v = y;
		}
		v = bq_run(&t.lp, v);
		e += v[0] * v[0];
	}
	return e;
}

static void noise_design(struct devsim_noise *n, const struct chain_devsim_spec *s, double rate)
{
	struct chain_biquad c[CHAIN_BIQUAD_MAX_SECTIONS];
	double lo = s->noise_lo_hz, hi = fmin(s->noise_hi_hz, 0.45 * rate);
	double rho = pow(4.0, -s->noise_slope_db_oct / 6.0), e;

	memset(n, 0, sizeof(*n));
	chain_biquad_butter(c, 2.0 * M_PI * lo / rate, 2, 1);
	bq_set(&n->hp, &c[0]);
	chain_biquad_butter(c, 2.0 * M_PI * hi / rate, 2, 0);
	bq_set(&n->lp, &c[0]);
	/* pole/zero pairs two octaves apart, from lo/2 up to 4·hi */
	for (double fp = 0.5 * lo; fp < 4.0 * hi && n->n_pairs < DEVSIM_NOISE_PAIRS_MAX;
	     fp *= 4.0) {
		double pz = exp(-2.0 * M_PI * fp / rate), zz = exp(-2.0 * M_PI * fp * rho / rate);

		if (fp * rho > 0.45 * rate)
			break;
		n->pz[n->n_pairs] = (dv2){pz, pz};
		n->zz[n->n_pairs] = (dv2){zz, zz};
		n->n_pairs++;
	}
	/* unit RMS: the source's variance (1/3) times the impulse
	 * response's energy */
	e = noise_energy(n, rate, lo);
	n->scale = e > 0.0 ? 1.0 / sqrt(e / 3.0) : 0.0;
}

static void exc_design(struct chain_devsim *d, const struct chain_devsim_spec *s)
{
	struct chain_biquad c[CHAIN_BIQUAD_MAX_SECTIONS];
	double w = 2.0 * M_PI * fmin(s->excursion_hz, 0.4 * d->rate) / d->rate;

	memset(&d->xs, 0, sizeof(d->xs));
	chain_biquad_butter(c, w, 2, 0);
	bq_set(&d->xs.sense, &c[0]);
	chain_biquad_butter(c, w, 4, 1);
	bq_set(&d->xs.hp[0], &c[0]);
	bq_set(&d->xs.hp[1], &c[1]);
	d->exc_db = s->excursion_db;
	d->ratio_exp = 1.0 / s->excursion_ratio - 1.0;
	d->thr = pow(10.0, CHAIN_DEVSIM_PROTECT_DB / 20.0);
	d->inv_thr = 1.0 / d->thr;
	d->att = exp(-1.0 / (DEVSIM_ATTACK_MS * 1e-3 * d->rate));
	d->rel = exp(-1.0 / (DEVSIM_RELEASE_MS * 1e-3 * d->rate));
}

/* Lays the sections out in two-lane slots. */
static int bank_build(struct chain_devsim *d)
{
	unsigned K = d->K;

	d->n_slots = d->mono ? (K + 1) / 2 : K;
	if (d->n_slots) {
		d->slot = aligned_alloc(16, d->n_slots * sizeof(*d->slot));
		if (!d->slot)
			return CHAIN_ERROR_NOMEM;
		memset(d->slot, 0, d->n_slots * sizeof(*d->slot));
	}
	for (unsigned j = 0; j < d->n_slots; j++) {
		for (unsigned lane = 0; lane < 2; lane++) {
			unsigned k = d->mono ? 2 * j + lane : j;
			double b0 = 0.0, b1 = 0.0, a1 = 0.0, a2 = 0.0;

			if (k < K) {
				double complex p = d->pole[k];

				b0 = d->num[2 * k];
				b1 = d->num[2 * k + 1];
				a1 = -2.0 * creal(p);
				a2 = creal(p) * creal(p) + cimag(p) * cimag(p);
			}
			d->slot[j].b0[lane] = b0;
			d->slot[j].b1[lane] = b1;
			d->slot[j].na1[lane] = -a1;
			d->slot[j].na2[lane] = -a2;
		}
	}
	d->d0v = (dv2){d->d0, d->mono ? 0.0 : d->d0};
	return 0;
}

double chain_devsim_response_db(const struct chain_devsim *d, double freq_hz)
{
	double w = 2.0 * M_PI * freq_hz / d->rate;
	double complex h = d->d0, zi = cexp(-I * w);

	if (d->bypass)
		return 0.0;
	for (unsigned k = 0; k < d->K; k++)
		h += (d->num[2 * k] + d->num[2 * k + 1] * zi) / devsim_den(d->pole[k], w);
	return h_db(h);
}

static double fit_error(const struct chain_devsim *d, const struct chain_devsim_spec *s)
{
	double hi = band_hi(d->rate), mx = 0.0;

	for (double f = DEVSIM_BAND_LO_HZ;; f *= pow(2.0, 1.0 / 48.0)) {
		double e;

		if (f > hi)
			f = hi;
		e = fabs(chain_devsim_response_db(d, f) - chain_devsim_curve_db(s, f));
		if (e > mx)
			mx = e;
		if (f == hi)
			break;
	}
	return mx;
}

struct chain_devsim *chain_devsim_new(double rate, const struct chain_devsim_spec *spec, int *err)
{
	struct chain_devsim *d = NULL;
	struct devsim_fit f;
	double g0, emax;
	int e = 0, flat = 1;

	memset(&f, 0, sizeof(f));
	if (!(rate >= DEVSIM_RATE_MIN && rate <= DEVSIM_RATE_MAX)) {
		e = CHAIN_ERROR_RATE;
		goto fail;
	}
	e = chain_devsim_spec_check(spec, NULL, 0);
	if (e)
		goto fail;
	d = calloc(1, sizeof(*d));
	if (!d) {
		e = CHAIN_ERROR_NOMEM;
		goto fail;
	}
	d->rate = rate;
	d->mono = spec->mono != 0;
	d->n_paths = d->mono ? 1 : 2;
	g0 = spec->gain_db[0];
	for (unsigned i = 1; i < spec->n_points; i++)
		if (spec->gain_db[i] != g0)
			flat = 0;
	if (flat) {
		d->d0 = pow(10.0, g0 / 20.0);
		d->bypass = g0 == 0.0;
	} else {
		e = fit_alloc(&f, spec, rate);
		if (e)
			goto fail;
		e = fit_curve(&f, spec, &emax);
		if (e)
			goto fail;
		d->K = f.K;
		d->pole = malloc(f.K * sizeof(*d->pole));
		d->num = malloc(2 * f.K * sizeof(double));
		if (!d->pole || !d->num) {
			e = CHAIN_ERROR_NOMEM;
			goto fail;
		}
		memcpy(d->pole, f.pole, f.K * sizeof(*d->pole));
		memcpy(d->num, f.x, 2 * f.K * sizeof(double));
		d->d0 = f.x[2 * f.K];
		fit_free(&f);
		memset(&f, 0, sizeof(f));
	}
	e = bank_build(d);
	if (e)
		goto fail;
	d->fit_error_db = fit_error(d, spec);
	d->has_exc = spec->excursion_hz > 0.0;
	if (d->has_exc)
		exc_design(d, spec);
	d->has_noise = spec->noise_hi_hz > 0.0;
	if (d->has_noise)
		noise_design(&d->nz, spec, rate);
	chain_smooth_init(&d->level, rate, DEVSIM_LEVEL_TAU_MS, DEVSIM_DB_SNAP,
	                  CHAIN_DEVSIM_LEVEL_DEF_DB);
	chain_smooth_init(&d->noise, rate, DEVSIM_NOISE_TAU_MS, DEVSIM_DB_SNAP,
	                  CHAIN_DEVSIM_NOISE_OFF_DB);
	chain_devsim_reset(d);
	if (err)
		*err = 0;
	return d;
fail:
	fit_free(&f);
	chain_devsim_free(&d);
	if (err)
		*err = e;
	return NULL;
}

void chain_devsim_free(struct chain_devsim **d)
{
	if (!d || !*d)
		return;
	free((*d)->pole);
	free((*d)->num);
	free((*d)->slot);
	free(*d);
	*d = NULL;
}

/* ---- parameters ---- */

void chain_devsim_set_level(struct chain_devsim *d, float listen_db, int snap)
{
	double v = listen_db;

	if (isnan(v))
		return;
	if (v < CHAIN_DEVSIM_LEVEL_MIN_DB)
		v = CHAIN_DEVSIM_LEVEL_MIN_DB;
	if (v > CHAIN_DEVSIM_LEVEL_MAX_DB)
		v = CHAIN_DEVSIM_LEVEL_MAX_DB;
	chain_smooth_set(&d->level, v, snap);
}

void chain_devsim_set_noise(struct chain_devsim *d, float noise_db, int snap)
{
	double v = noise_db;

	if (isnan(v) || v < CHAIN_DEVSIM_NOISE_OFF_DB)
		v = CHAIN_DEVSIM_NOISE_OFF_DB;
	if (v > CHAIN_DEVSIM_NOISE_MAX_DB)
		v = CHAIN_DEVSIM_NOISE_MAX_DB;
	chain_smooth_set(&d->noise, v, snap);
}

unsigned chain_devsim_latency(const struct chain_devsim *d)
{
	(void)d;
	return 0;
}

float chain_devsim_protection_db(const struct chain_devsim *d)
{
	return d->protect_db;
}

double chain_devsim_fit_error_db(const struct chain_devsim *d)
{
	return d->fit_error_db;
}

unsigned chain_devsim_sections(const struct chain_devsim *d)
{
	return d->K;
}

int chain_devsim_mono(const struct chain_devsim *d)
{
	return d->mono;
}

void chain_devsim_reset(struct chain_devsim *d)
{
	const dv2 z = {0.0, 0.0};

	for (unsigned j = 0; j < d->n_slots; j++)
		d->slot[j].y1 = d->slot[j].y2 = z;
	d->x1 = z;
	d->xs.sense.s1 = d->xs.sense.s2 = z;
	for (unsigned k = 0; k < 2; k++)
		d->xs.hp[k].s1 = d->xs.hp[k].s2 = z;
	d->xs.env[0] = d->xs.env[1] = 0.0;
	d->xs.g0[0] = d->xs.g0[1] = d->xs.g1[0] = d->xs.g1[1] = 1.0;
	d->nz.seed[0] = devsim_seed[0];
	d->nz.seed[1] = devsim_seed[1];
	d->nz.hp.s1 = d->nz.hp.s2 = d->nz.lp.s1 = d->nz.lp.s2 = z;
	for (unsigned i = 0; i < DEVSIM_NOISE_PAIRS_MAX; i++)
		d->nz.px[i] = d->nz.py[i] = z;
	chain_smooth_set(&d->level, d->level.target, 1);
	chain_smooth_set(&d->noise, d->noise.target, 1);
	d->protect_db = 0.0f;
	d->pos = 0;
}

/* ---- processing ---- */

/* Once per sub-block: parameters step, state is tidied. */
static void devsim_block(struct chain_devsim *d)
{
	chain_smooth_block(&d->level);
	chain_smooth_block(&d->noise);
	for (unsigned j = 0; j < d->n_slots; j++)
		tidy2(&d->slot[j].y1, &d->slot[j].y2);
	if (d->has_exc) {
		tidy2(&d->xs.sense.s1, &d->xs.sense.s2);
		tidy2(&d->xs.hp[0].s1, &d->xs.hp[0].s2);
		tidy2(&d->xs.hp[1].s1, &d->xs.hp[1].s2);
		for (unsigned p = 0; p < 2; p++)
			if (!(d->xs.env[p] < DEVSIM_HUGE) || d->xs.env[p] < DEVSIM_TINY)
				d->xs.env[p] = 0.0;
	}
	if (d->has_noise) {
		tidy2(&d->nz.hp.s1, &d->nz.hp.s2);
		tidy2(&d->nz.lp.s1, &d->nz.lp.s2);
		for (unsigned i = 0; i < d->nz.n_pairs; i++)
			tidy2(&d->nz.px[i], &d->nz.py[i]);
	}
}

static inline double devsim_drive(const struct chain_devsim *d, double listen_db)
{
	return pow(10.0, (listen_db - d->exc_db) / 20.0);
}

static inline double devsim_noise_gain(double noise_db)
{
	return noise_db <= CHAIN_DEVSIM_NOISE_OFF_DB ? 0.0 : pow(10.0, noise_db / 20.0);
}

void chain_devsim_process(struct chain_devsim *d, float *const *buf, unsigned n)
{
	float *l = buf[0], *r = buf[1];
	double gmin = 1.0;
	unsigned i = 0;

	while (i < n) {
		unsigned j = (unsigned)(d->pos % CHAIN_SUBBLOCK), len = CHAIN_SUBBLOCK - j;
		int level_steady, noise_steady, noise_on;
		double drive = 1.0, inv_drive = 1.0, gn = 0.0;

		if (len > n - i)
			len = n - i;
		if (j == 0)
			devsim_block(d);
		level_steady = chain_smooth_steady(&d->level);
		noise_steady = chain_smooth_steady(&d->noise);
		noise_on =
		    d->has_noise && !(noise_steady && d->noise.end <= CHAIN_DEVSIM_NOISE_OFF_DB);
		if (d->has_exc && level_steady) {
			drive = devsim_drive(d, d->level.end);
			inv_drive = 1.0 / drive;
		}
		if (noise_on && noise_steady)
			gn = devsim_noise_gain(d->noise.end);
		for (unsigned k = 0; k < len; k++, i++) {
			double xl = clean_in(l[i]), xr = clean_in(r[i]);
			dv2 x, y;

			if (d->mono)
				xl = xr = 0.5 * (xl + xr);
			x = (dv2){xl, xr};
			if (d->has_exc) {
				if (!level_steady) {
					drive = devsim_drive(d, chain_smooth_at(&d->level, j + k));
					inv_drive = 1.0 / drive;
				}
				x = exc_run(d, x, drive, inv_drive, (j + k) % DEVSIM_GAIN_EVERY,
				            &gmin);
				if (d->mono)
					x[1] = x[0];
			}
			if (d->bypass) {
				y = x;
			} else {
				y = bank_run(d, x);
				if (d->mono)
					y[0] = y[1] = y[0] + y[1];
			}
			if (noise_on) {
				dv2 z = noise_run(&d->nz);

				if (!noise_steady)
					gn = devsim_noise_gain(chain_smooth_at(&d->noise, j + k));
				if (d->mono)
					z[1] = z[0];
				y += (dv2){gn, gn} * z;
			}
			l[i] = (float)y[0];
			r[i] = (float)y[1];
		}
		d->pos += len;
	}
	d->protect_db = (float)(gmin < 1.0 ? -20.0 * log10(gmin) : 0.0);
}

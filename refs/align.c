/*
 * termaster — auto-align by generalised cross-correlation (see align.h).
 *
 * GCC-PHAT: C. H. Knapp and G. C. Carter, "The generalized correlation
 * method for estimation of time delay", IEEE Trans. ASSP 24(4), 320–327,
 * 1976.  With A and B the spectra of the two mono sums, the correlation
 *	c[k] = Σ_n a[n] · b[n + k]   has spectrum   C = conj(A) · B,
 * and PHAT keeps only its phase, W = C / |C|.  For b a delayed copy of a
 * through any filter H, W = e^{-jωd} · H/|H|: the filter's magnitude is
 * gone, and only its phase (small for shelves and bells away from their
 * corners) remains, so the peak of IFFT(W) sits at d whatever the EQ and
 * gain.  Its height, divided by its largest possible value 2·Σ|W|, is the
 * share of frequencies agreeing on d.  |C| + eps (eps = 1e-6 of the mean
 * |C|) keeps empty bins (a lossy reference's top octave, digital silence)
 * from voting with full weight.
 *
 * Coarse pass: mono sums low-passed (windowed sinc, Blackman, 16·D + 1
 * taps, cut-off 0.8 of the new Nyquist, zero-phase) and decimated by
 * D = round(rate / 6 kHz); PHAT over 30 Hz … 0.8 of the new Nyquist (the
 * filter's transition band aliases above that).  The FFT holds every lag
 * allowed without circular wrap: N ≥ max(la + lag_hi, lb - lag_lo).  The
 * peak's lag, refined by a parabola, times D, is the coarse offset, good
 * to a step or two of the decimation.
 *
 * Fine pass at full rate: up to FINE_SEGMENTS stretches of 2^k ≥ 0.5 s of a
 * spread over the overlap, each against b shifted by the coarse offset,
 * zero-padded to twice their length; their cross-spectra are summed (so the
 * weighting sees the average, not each stretch's noise), PHAT-weighted over
 * 30 Hz … 20 kHz, and the peak is searched within ±FINE_STEPS·D frames.
 *
 * Confidence comes from the coarse pass, which sees every lag: peak_z is
 * the peak over the rms of the correlation elsewhere (for unrelated
 * signals the correlation is close to Gaussian noise, and its largest of
 * n lags lies near sqrt(2 ln n) ≈ 5 standard deviations), peak_ratio the
 * peak over the best one more than EXCLUDE_S away.  A polarity-inverted b
 * is found too (the largest |c| wins; correlation then reads negative).
 */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <fftw3.h>

#include "refs/align.h"
#include "refs/spectrum.h"

#define COARSE_HZ           6000.0
#define FIR_HALF_PER_D      8   /* H = 8·D taps on each side */
#define COARSE_TOP          0.8 /* of the decimated Nyquist */
#define BAND_LO_HZ          30.0
#define FINE_TOP_HZ         20000.0
#define FINE_SEG_S          0.5 /* a stretch is the power of two above */
#define FINE_SEGMENTS       32
#define FINE_STEPS          4     /* fine search ± FINE_STEPS · D */
#define EXCLUDE_S           0.010 /* a runner-up is at least this far */
#define MIN_OVERLAP_S       1.0
#define MIN_Z               12.0 /* verdict thresholds (tests/test_align.c) */
#define MIN_RATIO           2.0
#define PHAT_EPS            1e-6
#define CHUNK               16384 /* decimated outputs per scratch fill */
#define PROGRESS_INTERVAL_S 0.1

struct prog {
	int (*fn)(void *user, double fraction);
	void *user;
	double last;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Nonzero when the user cancels. */
static int tick(struct prog *p, double fraction)
{
	if (!p->fn || now_s() - p->last < PROGRESS_INTERVAL_S)
		return 0;
	p->last = now_s();
	return p->fn(p->user, fraction);
}

static float mono_at(const float *lr, int64_t frames, int64_t i)
{
	float l, r;

	if (i < 0 || i >= frames)
		return 0.0f;
	l = lr[2 * i];
	r = lr[2 * i + 1];
	if (!isfinite(l))
		l = 0.0f;
	if (!isfinite(r))
		r = 0.0f;
	return 0.5f * (l + r);
}

static size_t next_pow2(int64_t n)
{
	size_t p = 1;

	while ((int64_t)p < n)
		p *= 2;
	return p;
}

/* Half of a zero-phase low-pass, h[0 … H] (h[-j] = h[j]), unity at DC:
 * windowed sinc of cut-off fc (cycles per sample), Blackman window. */
static double fir_tap(int j, int half, double fc)
{
	double x = 2.0 * fc * j;
	double s = j == 0 ? 1.0 : sin(M_PI * x) / (M_PI * x);
	double w = 0.42 + 0.5 * cos(M_PI * j / half) + 0.08 * cos(2.0 * M_PI * j / half);

	return 2.0 * fc * s * w;
}

static void design_fir(float *h, int half, double fc)
{
	double sum = fir_tap(0, half, fc);

	for (int j = 1; j <= half; j++)
		sum += 2.0 * fir_tap(j, half, fc);
	for (int j = 0; j <= half; j++)
		h[j] = (float)(fir_tap(j, half, fc) / sum);
}

/* y[m] = Σ h[j] · mono[m·D + j], j = -H … H, for m = 0 … out_len - 1.
 * The mono sum of each chunk (plus H on either side) goes to scratch.
 * Progress runs from f0 to f1. */
static int decimate(const float *lr, int64_t frames, int d, const float *h, int half,
                    float *scratch, float *y, int64_t out_len, struct prog *pg, double f0,
                    double f1)
{
	for (int64_t m0 = 0; m0 < out_len; m0 += CHUNK) {
		int64_t m1 = m0 + CHUNK < out_len ? m0 + CHUNK : out_len;
		int64_t first = m0 * d - half, last = (m1 - 1) * d + half;

		if (first >= 0 && last < frames) {
			const float *x = lr + 2 * first;
			for (int64_t i = 0; i <= last - first; i++)
				scratch[i] = mono_at(x, last - first + 1, i);
		} else {
			for (int64_t i = 0; i <= last - first; i++)
				scratch[i] = mono_at(lr, frames, first + i);
		}
		for (int64_t m = m0; m < m1; m++) {
			const float *c = scratch + half + (m - m0) * d;
			float s0 = h[0] * c[0], s1 = 0, s2 = 0, s3 = 0;
			int j = 1;

			/* four partial sums: no one long dependency chain */
			for (; j + 3 <= half; j += 4) {
				s0 += h[j] * (c[-j] + c[j]);
				s1 += h[j + 1] * (c[-j - 1] + c[j + 1]);
				s2 += h[j + 2] * (c[-j - 2] + c[j + 2]);
				s3 += h[j + 3] * (c[-j - 3] + c[j + 3]);
			}
			for (; j <= half; j++)
				s0 += h[j] * (c[-j] + c[j]);
			y[m] = (s0 + s1) + (s2 + s3);
		}
		if (tick(pg, f0 + (f1 - f0) * (double)m1 / (double)out_len))
			return REFS_ALIGN_ERROR_CANCELLED;
	}
	return REFS_ALIGN_OK;
}

/* In place: x holds conj(A)·B for bins 0 … n/2 (interleaved re, im);
 * PHAT-weights bins k_lo … k_hi, zeroes the rest.  Returns 2·Σ|W| (the
 * largest value the inverse transform can reach), 0 when empty. */
static double phat(float *x, size_t n, size_t k_lo, size_t k_hi)
{
	double mean = 0, norm = 0, eps;

	if (k_hi > n / 2 - 1)
		k_hi = n / 2 - 1;
	for (size_t k = k_lo; k <= k_hi; k++)
		mean += sqrt((double)x[2 * k] * x[2 * k] + (double)x[2 * k + 1] * x[2 * k + 1]);
	if (k_hi < k_lo || !(mean > 0)) {
		memset(x, 0, (n + 2) * sizeof(*x));
		return 0;
	}
	mean /= (double)(k_hi - k_lo + 1);
	eps = PHAT_EPS * mean;
	for (size_t k = 0; k <= n / 2; k++) {
		double re = x[2 * k], im = x[2 * k + 1], mag = sqrt(re * re + im * im);
		double g = k >= k_lo && k <= k_hi ? 1.0 / (mag + eps) : 0.0;

		x[2 * k] = (float)(re * g);
		x[2 * k + 1] = (float)(im * g);
		norm += mag * g;
	}
	return 2.0 * norm;
}

/* x[k] = conj(x[k]) · y[k], bins 0 … n/2 */
static void cross(float *x, const float *y, size_t n)
{
	for (size_t k = 0; k <= n / 2; k++) {
		float ar = x[2 * k], ai = x[2 * k + 1], br = y[2 * k], bi = y[2 * k + 1];

		x[2 * k] = ar * br + ai * bi;
		x[2 * k + 1] = ar * bi - ai * br;
	}
}

/* Vertex of the parabola through (-1, ym), (0, y0), (1, yp), in [-1/2, 1/2]. */
static double parabola(double ym, double y0, double yp)
{
	double den = ym - 2.0 * y0 + yp, dx;

	if (!(den < 0))
		return 0;
	dx = 0.5 * (ym - yp) / den;
	return dx < -0.5 ? -0.5 : dx > 0.5 ? 0.5 : dx;
}

static float *fft_buffer(size_t n)
{
	float *p = fftwf_malloc((n + 2) * sizeof(float));

	if (p)
		memset(p, 0, (n + 2) * sizeof(float));
	return p;
}

static void destroy_plans(fftwf_plan *p, int n)
{
	refs_spectrum_planner_lock();
	for (int i = 0; i < n; i++)
		if (p[i])
			fftwf_destroy_plan(p[i]);
	refs_spectrum_planner_unlock();
}

struct coarse {
	int64_t lag; /* decimated lag of the peak */
	double frac; /* parabolic refinement */
	double peak, ratio, z;
	int64_t second; /* decimated lag of the runner-up */
	int inverted;
	int empty; /* one of the two is silent */
};

static int coarse_pass(const float *a_lr, int64_t a_frames, const float *b_lr, int64_t b_frames,
                       double rate, int d, double max_offset_s, struct coarse *co, struct prog *pg)
{
	int half = FIR_HALF_PER_D * d;
	int64_t la = (a_frames + d - 1) / d, lb = (b_frames + d - 1) / d;
	int64_t lmax, lag_lo, lag_hi, excl, best = 0;
	double rate_d = rate / d, norm, best_v = -1, second_v = 0, ss = 0;
	size_t n, k_lo, k_hi, count = 0;
	float *h = NULL, *scratch = NULL, *x = NULL, *y = NULL;
	fftwf_plan plan[2] = {NULL, NULL};
	int err = REFS_ALIGN_OK;

	memset(co, 0, sizeof(*co));
	lmax = la > lb ? la : lb;
	if (max_offset_s > 0 && max_offset_s * rate_d + 2 < (double)lmax)
		lmax = (int64_t)ceil(max_offset_s * rate_d) + 2;
	lag_lo = -(la - 1 < lmax ? la - 1 : lmax);
	lag_hi = lb - 1 < lmax ? lb - 1 : lmax;
	n = next_pow2(la + lag_hi > lb - lag_lo ? la + lag_hi : lb - lag_lo);
	if (n < 16)
		n = 16;
	if (n > (size_t)1 << 30) /* FFTW takes an int length */
		return REFS_ALIGN_ERROR_NOMEM;

	h = malloc((size_t)(half + 1) * sizeof(*h));
	scratch = malloc(((size_t)(CHUNK - 1) * d + 2 * (size_t)half + 1) * sizeof(*scratch));
	x = fft_buffer(n);
	y = fft_buffer(n);
	if (!h || !scratch || !x || !y) {
		err = REFS_ALIGN_ERROR_NOMEM;
		goto out;
	}
	refs_spectrum_planner_lock();
	plan[0] = fftwf_plan_dft_r2c_1d((int)n, x, (fftwf_complex *)x, FFTW_ESTIMATE);
	plan[1] = fftwf_plan_dft_c2r_1d((int)n, (fftwf_complex *)x, x, FFTW_ESTIMATE);
	refs_spectrum_planner_unlock();
	if (!plan[0] || !plan[1]) {
		err = REFS_ALIGN_ERROR_NOMEM;
		goto out;
	}
	design_fir(h, half, COARSE_TOP * 0.5 / d);
	err = decimate(a_lr, a_frames, d, h, half, scratch, x, la, pg, 0.0, 0.3);
	if (!err)
		err = decimate(b_lr, b_frames, d, h, half, scratch, y, lb, pg, 0.3, 0.6);
	if (err)
		goto out;

	fftwf_execute_dft_r2c(plan[0], x, (fftwf_complex *)x);
	fftwf_execute_dft_r2c(plan[0], y, (fftwf_complex *)y);
	cross(x, y, n);
	k_lo = (size_t)ceil(BAND_LO_HZ * n / rate_d);
	k_hi = (size_t)floor(COARSE_TOP * 0.5 * n);
	norm = phat(x, n, k_lo, k_hi);
	if (norm == 0) {
		co->empty = 1;
		goto out;
	}
	fftwf_execute_dft_c2r(plan[1], (fftwf_complex *)x, x);
	if (tick(pg, 0.7)) {
		err = REFS_ALIGN_ERROR_CANCELLED;
		goto out;
	}

#define AT(k) ((double)x[(size_t)((k) < 0 ? (int64_t)n + (k) : (k))])
	for (int64_t k = lag_lo; k <= lag_hi; k++) {
		double v = fabs(AT(k));
		if (v > best_v) {
			best_v = v;
			best = k;
		}
	}
	co->inverted = AT(best) < 0;
	excl = (int64_t)ceil(EXCLUDE_S * rate_d);
	co->second = best;
	for (int64_t k = lag_lo; k <= lag_hi; k++) {
		double v = AT(k);

		if (k >= best - excl && k <= best + excl)
			continue;
		ss += v * v;
		count++;
		if (fabs(v) > second_v) {
			second_v = fabs(v);
			co->second = k;
		}
	}
	co->lag = best;
	co->peak = best_v / norm;
	if (best > lag_lo && best < lag_hi) {
		double s = co->inverted ? -1.0 : 1.0;
		co->frac = parabola(s * AT(best - 1), s * AT(best), s * AT(best + 1));
	}
#undef AT
	co->ratio = second_v > 0 ? best_v / second_v : HUGE_VAL;
	co->z = count && ss > 0 ? best_v / sqrt(ss / (double)count) : HUGE_VAL;
out:
	destroy_plans(plan, 2);
	fftwf_free(y);
	fftwf_free(x);
	free(scratch);
	free(h);
	return err;
}

/* Full-rate search of offset dc + r, |r| ≤ m, over [n0, n1) of a. */
static int fine_pass(const float *a_lr, int64_t a_frames, const float *b_lr, int64_t b_frames,
                     double rate, int64_t dc, int64_t m, int64_t n0, int64_t n1, int inverted,
                     int64_t *r_out, double *frac, double *peak, struct prog *pg)
{
	int64_t ov = n1 - n0, len = (int64_t)next_pow2((int64_t)(FINE_SEG_S * rate));
	int nseg;
	size_t n;
	float *x = NULL, *y = NULL;
	double *acc = NULL, norm, best_v = -HUGE_VAL, s = inverted ? -1.0 : 1.0;
	int64_t best = 0;
	fftwf_plan plan[2] = {NULL, NULL};
	int err = REFS_ALIGN_OK;

	if (len > ov)
		len = ov;
	if (m > len / 2)
		m = len / 2;
	n = next_pow2(2 * len);
	nseg = ov / len < FINE_SEGMENTS ? (int)(ov / len) : FINE_SEGMENTS;
	if (nseg < 1)
		nseg = 1;
	x = fft_buffer(n);
	y = fft_buffer(n);
	acc = calloc(n + 2, sizeof(*acc));
	if (!x || !y || !acc) {
		err = REFS_ALIGN_ERROR_NOMEM;
		goto out;
	}
	refs_spectrum_planner_lock();
	plan[0] = fftwf_plan_dft_r2c_1d((int)n, x, (fftwf_complex *)x, FFTW_ESTIMATE);
	plan[1] = fftwf_plan_dft_c2r_1d((int)n, (fftwf_complex *)x, x, FFTW_ESTIMATE);
	refs_spectrum_planner_unlock();
	if (!plan[0] || !plan[1]) {
		err = REFS_ALIGN_ERROR_NOMEM;
		goto out;
	}
	for (int i = 0; i < nseg; i++) {
		int64_t p = n0 + (nseg > 1 ? (ov - len) * i / (nseg - 1) : 0);

		memset(x, 0, (n + 2) * sizeof(*x));
		memset(y, 0, (n + 2) * sizeof(*y));
		for (int64_t j = 0; j < len; j++) {
			x[j] = mono_at(a_lr, a_frames, p + j);
			y[j] = mono_at(b_lr, b_frames, p + dc + j);
		}
		fftwf_execute_dft_r2c(plan[0], x, (fftwf_complex *)x);
		fftwf_execute_dft_r2c(plan[0], y, (fftwf_complex *)y);
		cross(x, y, n);
		for (size_t k = 0; k < n + 2; k++)
			acc[k] += x[k];
		if (tick(pg, 0.7 + 0.15 * (i + 1) / nseg)) {
			err = REFS_ALIGN_ERROR_CANCELLED;
			goto out;
		}
	}
	for (size_t k = 0; k < n + 2; k++)
		x[k] = (float)acc[k];
	norm = phat(
	    x, n, (size_t)ceil(BAND_LO_HZ * n / rate),
	    (size_t)floor((FINE_TOP_HZ < 0.475 * rate ? FINE_TOP_HZ : 0.475 * rate) * n / rate));
	if (norm == 0) {
		*r_out = 0;
		*frac = 0;
		*peak = 0;
		goto out;
	}
	fftwf_execute_dft_c2r(plan[1], (fftwf_complex *)x, x);
#define AT(k) ((double)x[(size_t)((k) < 0 ? (int64_t)n + (k) : (k))])
	for (int64_t k = -m; k <= m; k++) {
		double v = s * AT(k);
		if (v > best_v) {
			best_v = v;
			best = k;
		}
	}
	*r_out = best;
	*frac = parabola(s * AT(best - 1), s * AT(best), s * AT(best + 1));
#undef AT
	*peak = best_v / norm;
out:
	destroy_plans(plan, 2);
	free(acc);
	fftwf_free(y);
	fftwf_free(x);
	return err;
}

/* Pearson correlation and rms ratio of the aligned mono sums over
 * [n0, n1) of a (every index valid in both). */
static int overlap_stats(const float *a_lr, const float *b_lr, int64_t off, int64_t n0, int64_t n1,
                         struct refs_align_result *r, struct prog *pg)
{
	double sa = 0, sb = 0, saa = 0, sbb = 0, sab = 0, cnt = (double)(n1 - n0);
	double va, vb;

	for (int64_t i0 = n0; i0 < n1; i0 += 1 << 18) {
		int64_t i1 = i0 + (1 << 18) < n1 ? i0 + (1 << 18) : n1;
		const float *pa = a_lr + 2 * i0, *pb = b_lr + 2 * (i0 + off);
		double ta = 0, tb = 0, taa = 0, tbb = 0, tab = 0;

		for (int64_t i = 0; i < i1 - i0; i++) {
			float xa = 0.5f * (pa[2 * i] + pa[2 * i + 1]);
			float xb = 0.5f * (pb[2 * i] + pb[2 * i + 1]);

			if (!isfinite(xa) || !isfinite(xb))
				continue;
			ta += xa;
			tb += xb;
			taa += (double)xa * xa;
			tbb += (double)xb * xb;
			tab += (double)xa * xb;
		}
		sa += ta;
		sb += tb;
		saa += taa;
		sbb += tbb;
		sab += tab;
		if (tick(pg, 0.85 + 0.15 * (double)(i1 - n0) / cnt))
			return REFS_ALIGN_ERROR_CANCELLED;
	}
	va = saa - sa * sa / cnt;
	vb = sbb - sb * sb / cnt;
	r->correlation = va > 0 && vb > 0 ? (sab - sa * sb / cnt) / sqrt(va * vb) : 0.0;
	r->gain_db = saa > 0 && sbb > 0 ? 10.0 * log10(sbb / saa) : 0.0;
	return REFS_ALIGN_OK;
}

int refs_align_find(const float *a_lr, int64_t a_frames, const float *b_lr, int64_t b_frames,
                    double rate, double max_offset_s, struct refs_align_result *r,
                    int (*progress)(void *user, double fraction), void *user)
{
	struct prog pg = {progress, user, 0.0};
	struct coarse co;
	int d, err;
	int64_t dc, n0, n1, fine_r = 0;
	double fine_frac = 0, fine_peak = 0;

	if (!a_lr || !b_lr || !r || a_frames < 0 || b_frames < 0 ||
	    !(rate >= 1000.0 && rate <= 1e6))
		return REFS_ALIGN_ERROR_INVALID;
	memset(r, 0, sizeof(*r));
	r->verdict = REFS_ALIGN_NO_SIGNAL;
	if ((double)a_frames < MIN_OVERLAP_S * rate || (double)b_frames < MIN_OVERLAP_S * rate)
		goto done;

	d = (int)lround(rate / COARSE_HZ);
	if (d < 1)
		d = 1;
	err = coarse_pass(a_lr, a_frames, b_lr, b_frames, rate, d, max_offset_s, &co, &pg);
	if (err)
		return err;
	if (co.empty)
		goto done;
	dc = llround(((double)co.lag + co.frac) * d);
	n0 = dc < 0 ? -dc : 0;
	n1 = a_frames < b_frames - dc ? a_frames : b_frames - dc;
	if ((double)(n1 - n0) < MIN_OVERLAP_S * rate)
		goto done;

	err = fine_pass(a_lr, a_frames, b_lr, b_frames, rate, dc, (int64_t)FINE_STEPS * d, n0, n1,
	                co.inverted, &fine_r, &fine_frac, &fine_peak, &pg);
	if (err)
		return err;
	r->offset_frames = dc + fine_r;
	r->offset_fine = (double)r->offset_frames + fine_frac;
	r->offset_s = (double)r->offset_frames / rate;
	r->peak = fine_peak;
	r->peak_ratio = co.ratio;
	r->peak_z = co.z;
	r->second_offset_frames = co.second * d;
	r->verdict = co.z < MIN_Z           ? REFS_ALIGN_WEAK
	             : co.ratio < MIN_RATIO ? REFS_ALIGN_AMBIGUOUS
	                                    : REFS_ALIGN_MATCH;
	r->reliable = r->verdict == REFS_ALIGN_MATCH;
	r->inverted = co.inverted;

	n0 = r->offset_frames < 0 ? -r->offset_frames : 0;
	n1 = a_frames < b_frames - r->offset_frames ? a_frames : b_frames - r->offset_frames;
	r->overlap_s = n1 > n0 ? (double)(n1 - n0) / rate : 0.0;
	if (n1 > n0) {
		err = overlap_stats(a_lr, b_lr, r->offset_frames, n0, n1, r, &pg);
		if (err)
			return err;
	}
done:
	if (progress)
		progress(user, 1.0);
	return REFS_ALIGN_OK;
}

const char *refs_align_verdict_text(enum refs_align_verdict v)
{
	switch (v) {
	case REFS_ALIGN_MATCH:
		return "match";
	case REFS_ALIGN_WEAK:
		return "no clear match: another recording?";
	case REFS_ALIGN_AMBIGUOUS:
		return "ambiguous: a repeated section matches as well";
	case REFS_ALIGN_NO_SIGNAL:
		return "nothing to align: silence or too short";
	}
	return "unknown verdict";
}

const char *refs_align_strerror(int err)
{
	static const char *const text[] = {
	    [REFS_ALIGN_OK] = "success",
	    [REFS_ALIGN_ERROR_NOMEM] = "out of memory",
	    [REFS_ALIGN_ERROR_INVALID] = "no audio to align",
	    [REFS_ALIGN_ERROR_CANCELLED] = "cancelled",
	};

	if (err < 0 || (size_t)err >= sizeof(text) / sizeof(text[0]) || !text[err])
		return "unknown align error";
	return text[err];
}

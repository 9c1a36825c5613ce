/*
 * termaster — true-peak detector (see truepeak.h).
 *
 * Two interpolators read the same history of each channel:
 *
 *  - the fine one (ITU-R BS.1770-4 Annex 2: zero-stuffing by os = 4 or 8
 *    and low-pass filtering, computed per phase).  A phase p and its mirror
 *    os - p weigh the window with the same taps in reverse order
 *    (h[os-p][k] = h[p][TP_TAPS-1-k], the prototype being even), so with
 *    s[k] = x[k] + x[TP_TAPS-1-k] and d[k] = x[k] - x[TP_TAPS-1-k] and the
 *    even and odd halves E = (h[p][k] + h[p][TP_TAPS-1-k]) / 2,
 *    O = (h[p][k] - h[p][TP_TAPS-1-k]) / 2 of the taps (k < TP_FOLD),
 *        y[p] = E·s + O·d,  y[os-p] = E·s - O·d:
 *    9 dot products of 64 taps give the points 0 … 8 of an 8× interval
 *    (8 is the next interval's 0, unused), where the direct form takes 8
 *    of 128.  A second ring holds the history newest first, so that s and
 *    d are sums of two forward arrays.  The dot products run side by side
 *    in 4-lane vectors (GCC/Clang vector extension), each lane a partial
 *    sum, added up in a fixed order: no reassociation is left to the
 *    compiler, and the result is the same wherever it is computed;
 *  - the meter one: what libebur128 computes (ebur128.c, interp_create()
 *    and interp_process(), read to learn its behaviour; this is our own
 *    code): a 49-tap sinc cut off at the input Nyquist,
 *    sin(m·pi/F) / (m·pi/F) for m = j - 24, times a Hann window
 *    0.5·(1 - cos(2·pi·j/48)), j = 0 … 48, split into F phases by
 *    j mod F, coefficients of magnitude <= 1e-6 left out, no per-phase
 *    normalisation, double-precision sums over the float samples, newest
 *    tap first, rounded to float; F = 4 below 96 kHz, 2 below 192 kHz, and
 *    no interpolation (sample peak) above.  Phase f of the output computed
 *    once frame n is known is the point n - 24/F + f/F, so the points of
 *    the interval starting at frame c need the frames c - 24/F + 1 …
 *    c + 24/F: inside the fine window, hence no extra latency.  The
 *    readings are bit-identical to libebur128's (tests/test_limiter.c
 *    checks it) as long as both are compiled alike as to fusing multiply
 *    and add (baseline x86-64 has no FMA); otherwise they may differ in
 *    the last bit of a float, 1e-6 dB.
 *
 * Skipping (chain_truepeak_push_above): every point the fine detector
 * reports for an interval, refined or not, is at most K·M, where M is the
 * largest |sample| of the TP_RING frames its computation reads (this
 * window and the previous one, whose last two points the refinement
 * uses) and K = 9/8 · A · (1 + 1e-4):
 *   - an interpolated point is a sum of taps times samples, so
 *     |y[p]| <= A·M with A = max over p of sum_k |h[p][k]| = 2.89 (taken
 *     from the stored float taps; >= 1, so the sample points are covered
 *     as well);
 *   - refine() returns y0 + b²/(4|a|) with |b| <= |a| (y0 is a local
 *     maximum), so at most y0 + |b|/4 = y0 + |yp - ym|/8 <= 9/8 of the
 *     largest of the three;
 *   - 1e-4 covers the float rounding of the sums (< 1e-5 relative).
 * K = 3.25 (10.2 dB).  When K·M <= max(thr, meter reading), the fine
 * reading cannot exceed the larger of the two, so the reported value is
 * the meter reading if that is above thr, and something <= thr otherwise:
 * exactly what the full computation gives whenever that is above thr.  In
 * the same way the meter reading is at most K_m·M (K_m = its largest
 * per-phase sum of |taps|, 1.86 at 4×, 2.31 at 2×, plus 1e-6 for rounding)
 * and is skipped, 0 standing for it, when K_m·M <= thr.  The refinement
 * state of a skipped interval is rebuilt from the previous window (kept
 * for this) before the next interval is interpolated, so the values
 * reported afterwards are bit-identical as well.  The bound is tight: the
 * signs of the taps of one phase, at ±M, make that point A·M (the test
 * builds it), so no smaller K is safe for arbitrary input.
 */
#include "config.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "chain/chain.h"
#include "chain/truepeak.h"

#define TP_TAPS (2 * CHAIN_TP_HALF)  /* per phase */
#define TP_FOLD CHAIN_TP_HALF        /* folded taps per phase */
#define TP_RING (TP_TAPS + 1)        /* history kept: this window and the last */
#define TP_BETA 10.0                 /* Kaiser window: ~100 dB stop band */
#define TP_FC 0.98                   /* cut-off relative to the input Nyquist */
#define TP_MAX_OS 8
#define TP_MAX_CH 8
#define TP_PART 4                    /* partial sums per dot product */

_Static_assert(TP_PART == 4, "refine() and vmax() are written for 4 lanes");
_Static_assert(TP_FOLD % TP_PART == 0, "the folded taps fill whole vectors");

/* libebur128's interpolator (see above) */
#define EBU_TAPS 49
#define EBU_MAX_DELAY 25             /* (EBU_TAPS + F - 1) / F for F = 2 */
#define EBU_ALMOST_ZERO 0.000001

struct chain_truepeak {
	unsigned channels;
	unsigned os;             /* 4 or 8; 0: meter reading only */
	/* fine taps, folded: even[p * TP_FOLD + k] for p = 0 … os/2 and
	 * odd[p * TP_FOLD + k] for p = 0 … os/2-1 (see above) */
	float *even, *odd;
	/* per channel, TP_RING samples oldest first (fwd) and newest first
	 * (rev), each stored twice so that a window is always contiguous */
	float *fwd, *rev;
	unsigned w;              /* fwd: next write index, 0 … TP_RING-1 */
	unsigned v;              /* rev: last write index, 0 … TP_RING-1 */
	float last[TP_MAX_CH];   /* |last point| of the previous interval */
	float prev[TP_MAX_CH];   /* |the one before it| */
	int stale;               /* last/prev not computed (interval skipped) */
	float bound_k;           /* K: fine reading <= K · window max */
	/* running maximum of max_c |x_c| over the last TP_RING frames: a
	 * deque of decreasing values, oldest first (Lemire 2006) */
	float mq_val[TP_RING];
	unsigned mq_pos[TP_RING];
	unsigned mq_head, mq_len;
	unsigned pos;            /* frames pushed, modulo 2^32 */
	/* meter reading: factor F (0: none, 1: sample peak only);
	 * ebu[t * F + f] is the weight of the sample t frames before the
	 * newest of the span in phase f */
	unsigned ebu_f;
	float ebu_k;             /* meter reading <= ebu_k · window max */
	double ebu[EBU_MAX_DELAY * 4];
};

static double bessel_i0(double x)
{
	double s = 1, t = 1;

	for (int k = 1; k < 100; k++) {
		t *= (x / (2 * k)) * (x / (2 * k));
		s += t;
		if (t < 1e-17 * s)
			break;
	}
	return s;
}

/* The fine taps, folded, and the bound factor K. */
static void design(struct chain_truepeak *tp)
{
	unsigned os = tp->os;
	double h[TP_MAX_OS / 2 + 1][TP_TAPS];
	double a_max = 1;

	for (unsigned p = 0; p <= os / 2; p++) {
		double frac = (double)p / os, sum = 0;

		for (int k = 0; k < TP_TAPS; k++) {
			/* distance of tap k from the point, in input frames */
			double t = (double)(k - (CHAIN_TP_HALF - 1)) - frac;
			double r = t / (CHAIN_TP_HALF + 1);
			double w = bessel_i0(TP_BETA * sqrt(1 - r * r)) / bessel_i0(TP_BETA);

			h[p][k] = (t == 0 ? TP_FC : sin(M_PI * TP_FC * t) / (M_PI * t)) * w;
			sum += h[p][k];
		}
		for (int k = 0; k < TP_TAPS; k++)
			h[p][k] /= sum;
	}
	for (unsigned p = 0; p <= os / 2; p++) {
		double a = 0;

		for (unsigned k = 0; k < TP_FOLD; k++) {
			float e = (float)(0.5 * (h[p][k] + h[p][TP_TAPS - 1 - k]));
			float o = (float)(0.5 * (h[p][k] - h[p][TP_TAPS - 1 - k]));

			tp->even[p * TP_FOLD + k] = e;
			if (p < os / 2)
				tp->odd[p * TP_FOLD + k] = o;
			else
				o = 0;
			/* the taps actually applied: e + o and e - o */
			a += fabs((double)e + o) + fabs((double)e - o);
		}
		if (a > a_max)
			a_max = a;
	}
	tp->bound_k = (float)(1.125 * a_max * (1 + 1e-4));
}

/* libebur128's taps for factor F (see the top of the file). */
static void design_ebu(struct chain_truepeak *tp, double rate)
{
	long r = lround(rate);  /* libebur128 takes an integer rate */
	unsigned fac = r < 96000 ? 4 : r < 192000 ? 2 : 1;

	tp->ebu_f = fac;
	tp->ebu_k = 1;  /* the sample itself */
	memset(tp->ebu, 0, sizeof(tp->ebu));
	if (fac == 1)
		return;
	for (unsigned j = 0; j < EBU_TAPS; j++) {
		double m = (double)j - (double)(EBU_TAPS - 1) / 2.0;
		double c = 1.0;

		if (fabs(m) > EBU_ALMOST_ZERO)
			c = sin(m * M_PI / fac) / (m * M_PI / fac);
		c *= 0.5 * (1 - cos(2 * M_PI * j / (EBU_TAPS - 1)));
		/* tap t = j / fac of phase j % fac: ebu[t * fac + j % fac] */
		if (fabs(c) > EBU_ALMOST_ZERO)
			tp->ebu[j] = c;
	}
	for (unsigned f = 0; f < fac; f++) {
		double a = 0;

		for (unsigned j = f; j < EBU_TAPS; j += fac)
			a += fabs(tp->ebu[j]);
		if (a * (1 + 1e-6) > tp->ebu_k)
			tp->ebu_k = (float)(a * (1 + 1e-6));
	}
}

static struct chain_truepeak *tp_new(unsigned channels, unsigned oversample,
				     double rate, int meter, int *err)
{
	struct chain_truepeak *tp = NULL;
	int e = CHAIN_ERROR_RANGE;

	if (channels < 1 || channels > TP_MAX_CH ||
	    (oversample != 4 && oversample != 8 && !(meter && oversample == 0)) ||
	    (meter && !(rate >= 1 && rate <= 1e7)))
		goto fail;
	e = CHAIN_ERROR_NOMEM;
	tp = calloc(1, sizeof(*tp));
	if (!tp)
		goto fail;
	tp->channels = channels;
	tp->os = oversample;
	tp->fwd = calloc((size_t)channels * 2 * TP_RING, sizeof(float));
	tp->rev = calloc((size_t)channels * 2 * TP_RING, sizeof(float));
	if (!tp->fwd || !tp->rev)
		goto fail;
	if (oversample) {
		tp->even = calloc((size_t)(oversample / 2 + 1) * TP_FOLD, sizeof(float));
		tp->odd = calloc((size_t)oversample / 2 * TP_FOLD, sizeof(float));
		if (!tp->even || !tp->odd)
			goto fail;
		design(tp);
	}
	if (meter)
		design_ebu(tp, rate);
	chain_truepeak_reset(tp);
	if (err)
		*err = CHAIN_OK;
	return tp;
fail:
	chain_truepeak_free(&tp);
	if (err)
		*err = e;
	return NULL;
}

struct chain_truepeak *chain_truepeak_new(unsigned channels,
					  unsigned oversample, int *err)
{
	return tp_new(channels, oversample, 0, 0, err);
}

struct chain_truepeak *chain_truepeak_new_dual(unsigned channels,
					       unsigned oversample,
					       double rate_hz, int *err)
{
	return tp_new(channels, oversample, rate_hz, 1, err);
}

void chain_truepeak_free(struct chain_truepeak **tp)
{
	if (!tp || !*tp)
		return;
	free((*tp)->even);
	free((*tp)->odd);
	free((*tp)->fwd);
	free((*tp)->rev);
	free(*tp);
	*tp = NULL;
}

void chain_truepeak_reset(struct chain_truepeak *tp)
{
	memset(tp->fwd, 0, sizeof(float) * tp->channels * 2 * TP_RING);
	memset(tp->rev, 0, sizeof(float) * tp->channels * 2 * TP_RING);
	memset(tp->last, 0, sizeof(tp->last));
	memset(tp->prev, 0, sizeof(tp->prev));
	tp->w = 0;
	tp->v = 0;
	tp->stale = 0;
	tp->mq_head = tp->mq_len = 0;
	tp->pos = 0;
}

unsigned chain_truepeak_latency(const struct chain_truepeak *tp)
{
	(void)tp;
	return CHAIN_TP_HALF;
}

/* TP_PART floats side by side (GCC/Clang vector extension: plain
 * element-wise arithmetic, compiled to SIMD where there is some). */
typedef float tp_vec __attribute__((vector_size(TP_PART * sizeof(float))));
typedef int32_t tp_ivec __attribute__((vector_size(TP_PART * sizeof(int32_t))));

/* TP_PART floats from any address */
static inline tp_vec load(const float *p)
{
	tp_vec v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/* Two doubles side by side, and a load of two from any address. */
typedef double tp_vd __attribute__((vector_size(2 * sizeof(double))));

static inline tp_vd load_d(const double *p)
{
	tp_vd v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/* Peak of |x| near the local maxima among y0 (neighbours ym, yp, one
 * oversampled point apart): the vertex of the parabola through the three,
 * y0 - b²/(4a), where y0 is a local maximum and the parabola opens
 * downwards; y0 elsewhere.  Four points at once, without branches. */
static inline tp_vec refine(tp_vec ym, tp_vec y0, tp_vec yp)
{
	tp_vec a = 0.5f * (yp + ym) - y0;  /* < 0 where it counts */
	tp_vec b = 0.5f * (yp - ym);       /* |b| <= -a: vertex within ±1/2 */
	tp_ivec m = (y0 >= ym) & (y0 >= yp) & (a < 0);
	tp_vec den = (tp_vec)(((tp_ivec)a & m) | ((tp_ivec)(tp_vec){ -1, -1, -1, -1 } & ~m));
	tp_vec v = y0 - b * b / (4 * den);

	return (tp_vec)(((tp_ivec)v & m) | ((tp_ivec)y0 & ~m));
}

/* The largest of acc, b and c, ignoring NaN in b and c (sums of huge
 * finite samples can overflow; acc never is NaN). */
static inline float max3(float acc, float b, float c)
{
	acc = b > acc ? b : acc;
	return c > acc ? c : acc;
}

/* The largest of acc and the lanes of v, in the same way. */
static inline float vmax(float acc, tp_vec v)
{
	return max3(max3(acc, v[0], v[1]), v[2], v[3]);
}

/*
 * The folded dot products of one interval, all at once so that their
 * sums proceed side by side: ne even ones (taps e, against s) and no odd
 * ones (taps o, against d), each in TP_PART interleaved partial sums (the
 * lanes of a vector) added up in a fixed order at the end: the same
 * result wherever it is computed.  ne and no are constants at each call
 * site; the loops over them unroll, so the sums stay in registers.
 */
static inline void dots(const float *restrict e, const float *restrict o,
			const tp_vec *restrict s, const tp_vec *restrict d,
			float *restrict ye, float *restrict yo, unsigned ne,
			unsigned no)
{
	tp_vec ae[TP_MAX_OS / 2 + 1], ao[TP_MAX_OS / 2];

#pragma GCC unroll 8
	for (unsigned p = 0; p < ne; p++)
		ae[p] = (tp_vec){ 0 };
#pragma GCC unroll 8
	for (unsigned p = 0; p < no; p++)
		ao[p] = (tp_vec){ 0 };
	for (unsigned k = 0; k < TP_FOLD / TP_PART; k++) {
		tp_vec sk = s[k], dk = d[k];

#pragma GCC unroll 8
		for (unsigned p = 0; p < ne; p++)
			ae[p] += load(e + p * TP_FOLD + k * TP_PART) * sk;
#pragma GCC unroll 8
		for (unsigned p = 0; p < no; p++)
			ao[p] += load(o + p * TP_FOLD + k * TP_PART) * dk;
	}
#pragma GCC unroll 8
	for (unsigned p = 0; p < ne; p++)
		ye[p] = (ae[p][0] + ae[p][2]) + (ae[p][1] + ae[p][3]);
#pragma GCC unroll 8
	for (unsigned p = 0; p < no; p++)
		yo[p] = (ao[p][0] + ao[p][2]) + (ao[p][1] + ao[p][3]);
}

/* The fine points 0 … os of one interval (os: the next one's point 0):
 * f is its window oldest first, r the same newest first. */
static void interpolate(const struct chain_truepeak *tp,
			const float *restrict f, const float *restrict r,
			float *restrict y)
{
	tp_vec s[TP_FOLD / TP_PART], d[TP_FOLD / TP_PART];
	float e[TP_MAX_OS / 2 + 1], o[TP_MAX_OS / 2];
	unsigned half = tp->os / 2;

	for (unsigned k = 0; k < TP_FOLD / TP_PART; k++) {
		tp_vec a = load(f + k * TP_PART), b = load(r + k * TP_PART);

		s[k] = a + b;
		d[k] = a - b;
	}
	if (half == 4)
		dots(tp->even, tp->odd, s, d, e, o, 5, 4);
	else
		dots(tp->even, tp->odd, s, d, e, o, 3, 2);
	for (unsigned p = 0; p < half; p++) {
		y[p] = fabsf(e[p] + o[p]);
		y[tp->os - p] = fabsf(e[p] - o[p]);  /* p = 0: the next interval's 0 */
	}
	y[half] = fabsf(e[half]);
}

/* Windows of channel c: the current one (prev_win = 0) or the one before. */
static inline const float *win_fwd(const struct chain_truepeak *tp,
				   unsigned c, unsigned prev_win)
{
	return tp->fwd + (size_t)c * 2 * TP_RING + tp->w + (prev_win ? 0 : 1);
}

static inline const float *win_rev(const struct chain_truepeak *tp,
				   unsigned c, unsigned prev_win)
{
	return tp->rev + (size_t)c * 2 * TP_RING + tp->v + prev_win;
}

/* Fine peak of channel c's interval: a point is refined once both its
 * neighbours are known, so the points covered are those from 1/os before
 * the interval start to 2/os before its end; the sample counts as well.
 * pt[] holds the points in order: the previous interval's last two, then
 * this one's 0 … os (os: the next interval's 0); those refined are
 * pt[1 … os]. */
static float channel_peak(struct chain_truepeak *tp, unsigned c)
{
	float pt[TP_MAX_OS + 3];
	unsigned os = tp->os;
	float peak = fabsf(win_fwd(tp, c, 0)[CHAIN_TP_HALF - 1]);

	pt[0] = tp->prev[c];
	pt[1] = tp->last[c];
	interpolate(tp, win_fwd(tp, c, 0), win_rev(tp, c, 0), pt + 2);
	for (unsigned q = 1; q <= os; q += TP_PART)
		peak = vmax(peak, refine(load(pt + q - 1), load(pt + q), load(pt + q + 1)));
	tp->prev[c] = pt[os];
	tp->last[c] = pt[os + 1];
	return peak;
}

/*
 * libebur128's reading of the intervals of channels c0 and c1 (c1 may
 * equal c0): |x[c]| and the points 1/F … (F-1)/F after it, each as the
 * float libebur128 stores.  Each lane of a sum adds its products in
 * libebur128's order (newest sample first); the lanes and the two
 * channels run side by side.
 */
static void meter_pair(const struct chain_truepeak *tp, unsigned c0,
		       unsigned c1, float *m0, float *m1)
{
	/* the newest sample of the span: frame c + 24/F */
	unsigned newest = CHAIN_TP_HALF - 1 + (EBU_TAPS - 1) / 2 / tp->ebu_f;
	const float *x0 = win_fwd(tp, c0, 0) + newest;
	const float *x1 = win_fwd(tp, c1, 0) + newest;
	const double *h = tp->ebu;
	tp_vd lo0 = { 0, 0 }, hi0 = { 0, 0 }, lo1 = { 0, 0 }, hi1 = { 0, 0 };
	float p0 = fabsf(win_fwd(tp, c0, 0)[CHAIN_TP_HALF - 1]);
	float p1 = fabsf(win_fwd(tp, c1, 0)[CHAIN_TP_HALF - 1]);

	if (tp->ebu_f == 4) {
		/* lanes: phases 0, 1 (lo) and 2, 3 (hi) */
		for (unsigned t = 0; t < (EBU_TAPS + 3) / 4; t++) {
			tp_vd hl = load_d(h + 4 * t), hh = load_d(h + 4 * t + 2);
			double u = x0[-(int)t], v = x1[-(int)t];

			lo0 += hl * u;
			hi0 += hh * u;
			lo1 += hl * v;
			hi1 += hh * v;
		}
		p0 = max3(max3(p0, fabsf((float)lo0[1]), fabsf((float)hi0[0])),
			  fabsf((float)hi0[1]), 0);
		p1 = max3(max3(p1, fabsf((float)lo1[1]), fabsf((float)hi1[0])),
			  fabsf((float)hi1[1]), 0);
	} else if (tp->ebu_f == 2) {
		/* lanes: phases 0, 1 */
		for (unsigned t = 0; t < (EBU_TAPS + 1) / 2; t++) {
			tp_vd hl = load_d(h + 2 * t);

			lo0 += hl * (double)x0[-(int)t];
			lo1 += hl * (double)x1[-(int)t];
		}
		p0 = max3(p0, fabsf((float)lo0[1]), 0);
		p1 = max3(p1, fabsf((float)lo1[1]), 0);
	}
	*m0 = p0;
	*m1 = p1;
}

/* Store one frame in the rings and the running maximum; returns the
 * largest |sample| of the last TP_RING frames. */
static float store(struct chain_truepeak *tp, const float *frame)
{
	unsigned w = tp->w, v = tp->v == 0 ? TP_RING - 1 : tp->v - 1;
	unsigned head = tp->mq_head, len = tp->mq_len, pos = tp->pos;
	float a = 0;

	for (unsigned c = 0; c < tp->channels; c++) {
		float *f = tp->fwd + (size_t)c * 2 * TP_RING;
		float *r = tp->rev + (size_t)c * 2 * TP_RING;
		float x = frame[c];

		if (!isfinite(x))
			x = 0;
		f[w] = f[w + TP_RING] = x;
		r[v] = r[v + TP_RING] = x;
		if (fabsf(x) > a)
			a = fabsf(x);
	}
	/* the last TP_RING frames are now fwd[w+1 … w+TP_RING], oldest
	 * first, and rev[v … v+TP_RING-1], newest first */
	tp->w = w + 1 == TP_RING ? 0 : w + 1;
	tp->v = v;

	if (len && pos - tp->mq_pos[head] >= TP_RING) {
		head = head + 1 == TP_RING ? 0 : head + 1;
		len--;
	}
	while (len) {
		unsigned back = head + len - 1;

		if (back >= TP_RING)
			back -= TP_RING;
		if (tp->mq_val[back] > a)
			break;
		len--;
	}
	{
		unsigned back = head + len;

		if (back >= TP_RING)
			back -= TP_RING;
		tp->mq_val[back] = a;
		tp->mq_pos[back] = pos;
		len++;
	}
	tp->mq_head = head;
	tp->mq_len = len;
	tp->pos = pos + 1;
	return tp->mq_val[head];
}

/* thr < 0: never skip. */
static float push(struct chain_truepeak *tp, const float *frame, float thr,
		  float *ch_peak)
{
	float meter[TP_MAX_CH] = { 0 };
	float m_max = 0, peak = 0;
	float win_max = store(tp, frame);

	/* skipped when it cannot exceed thr (then 0 stands for it: the
	 * larger reading is either the fine one, if above thr, or <= thr) */
	if (tp->ebu_f && !(thr >= 0 && tp->ebu_k * win_max <= thr)) {
		for (unsigned c = 0; c < tp->channels; c += 2) {
			float spare;
			unsigned c1 = c + 1 < tp->channels ? c + 1 : c;

			meter_pair(tp, c, c1, meter + c, c1 > c ? meter + c1 : &spare);
		}
		for (unsigned c = 0; c < tp->channels; c++)
			if (meter[c] > m_max)
				m_max = meter[c];
	}
	if (!tp->os) {
		if (ch_peak)
			memcpy(ch_peak, meter, sizeof(float) * tp->channels);
		return m_max;
	}
	if (thr >= 0 && tp->bound_k * win_max <= (thr > m_max ? thr : m_max)) {
		tp->stale = 1;
		return m_max;
	}
	if (tp->stale) {
		/* the previous interval was skipped: its last two points */
		for (unsigned c = 0; c < tp->channels; c++) {
			float y[TP_MAX_OS + 1];

			interpolate(tp, win_fwd(tp, c, 1), win_rev(tp, c, 1), y);
			tp->prev[c] = y[tp->os - 2];
			tp->last[c] = y[tp->os - 1];
		}
		tp->stale = 0;
	}
	for (unsigned c = 0; c < tp->channels; c++) {
		float e = channel_peak(tp, c);

		if (meter[c] > e)
			e = meter[c];
		if (ch_peak)
			ch_peak[c] = e;
		if (e > peak)
			peak = e;
	}
	return peak;
}

float chain_truepeak_push(struct chain_truepeak *tp, const float *frame,
			  float *ch_peak)
{
	return push(tp, frame, -1, ch_peak);
}

float chain_truepeak_push_above(struct chain_truepeak *tp, const float *frame,
				float thr)
{
	return push(tp, frame, thr >= 0 ? thr : 0, NULL);
}

void chain_truepeak_process(struct chain_truepeak *tp, const float *in,
			    size_t frames, float *peak)
{
	float ch[TP_MAX_CH];

	for (size_t i = 0; i < frames; i++) {
		chain_truepeak_push(tp, in + i * tp->channels, ch);
		for (unsigned c = 0; c < tp->channels; c++)
			if (ch[c] > peak[c])
				peak[c] = ch[c];
	}
}

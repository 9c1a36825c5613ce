/*
 * termaster — true-peak detector (see truepeak.h).
 *
 * Polyphase interpolation after ITU-R BS.1770-4 Annex 2: zero-stuffing by
 * the oversampling factor and low-pass filtering, computed per phase.  The
 * taps are stored tap-major in groups of os (4 or 8) phases, so that
 * the inner loop is a fixed-width multiply-add the compiler vectorises.
 */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "chain/chain.h"
#include "chain/truepeak.h"

#define TP_TAPS (2 * CHAIN_TP_HALF)  /* per phase */
#define TP_BETA 10.0                 /* Kaiser window: ~100 dB stop band */
#define TP_FC 0.98                   /* cut-off relative to the input Nyquist */
#define TP_MAX_OS 8
#define TP_MAX_CH 8

struct chain_truepeak {
	unsigned channels;
	unsigned os;
	/* coef[k * os + p], p = 0 … os-1: weight of history tap k for the
	 * point p/os after the interval start (phase 0 too: with the cut-off
	 * below Nyquist the filtered curve need not pass through the samples) */
	float *coef;
	/* per channel, TP_TAPS history samples stored twice (hist[i] ==
	 * hist[i + TP_TAPS]) so that a window is always contiguous */
	float *hist;
	unsigned w;              /* next write index, 0 … TP_TAPS-1 */
	float last[TP_MAX_CH];   /* |last filtered point| of the previous interval */
	float prev[TP_MAX_CH];   /* |the one before it| */
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

static void design(struct chain_truepeak *tp)
{
	for (unsigned p = 0; p < tp->os; p++) {
		double frac = (double)p / tp->os, sum = 0;
		double h[TP_TAPS];

		for (int k = 0; k < TP_TAPS; k++) {
			/* distance of tap k from the point, in input frames */
			double t = (double)(k - (CHAIN_TP_HALF - 1)) - frac;
			double r = t / (CHAIN_TP_HALF + 1);
			double w = bessel_i0(TP_BETA * sqrt(1 - r * r)) / bessel_i0(TP_BETA);

			h[k] = (t == 0 ? TP_FC : sin(M_PI * TP_FC * t) / (M_PI * t)) * w;
			sum += h[k];
		}
		for (int k = 0; k < TP_TAPS; k++)
			tp->coef[k * tp->os + p] = (float)(h[k] / sum);
	}
}

struct chain_truepeak *chain_truepeak_new(unsigned channels,
					  unsigned oversample, int *err)
{
	struct chain_truepeak *tp = NULL;
	int e = CHAIN_ERROR_RANGE;

	if (channels < 1 || channels > TP_MAX_CH ||
	    (oversample != 4 && oversample != 8))
		goto fail;
	e = CHAIN_ERROR_NOMEM;
	tp = calloc(1, sizeof(*tp));
	if (!tp)
		goto fail;
	tp->channels = channels;
	tp->os = oversample;
	tp->coef = calloc((size_t)oversample * TP_TAPS, sizeof(float));
	tp->hist = calloc((size_t)channels * 2 * TP_TAPS, sizeof(float));
	if (!tp->coef || !tp->hist)
		goto fail;
	design(tp);
	if (err)
		*err = CHAIN_OK;
	return tp;
fail:
	chain_truepeak_free(&tp);
	if (err)
		*err = e;
	return NULL;
}

void chain_truepeak_free(struct chain_truepeak **tp)
{
	if (!tp || !*tp)
		return;
	free((*tp)->coef);
	free((*tp)->hist);
	free(*tp);
	*tp = NULL;
}

void chain_truepeak_reset(struct chain_truepeak *tp)
{
	memset(tp->hist, 0, sizeof(float) * tp->channels * 2 * TP_TAPS);
	memset(tp->last, 0, sizeof(tp->last));
	memset(tp->prev, 0, sizeof(tp->prev));
	tp->w = 0;
}

unsigned chain_truepeak_latency(const struct chain_truepeak *tp)
{
	(void)tp;
	return CHAIN_TP_HALF;
}

/* Peak of |x| near the local maximum y0 (neighbours ym, yp, one
 * oversampled point apart): vertex of the parabola through the three. */
static inline float refine(float ym, float y0, float yp)
{
	float a, b;

	if (y0 < ym || y0 < yp)
		return y0;
	a = 0.5f * (yp + ym) - y0;  /* <= 0 */
	b = 0.5f * (yp - ym);       /* |b| <= -a: vertex within ±1/2 */
	if (a < 0)
		return y0 - b * b / (4 * a);
	return y0;
}

/* The oversampled points of one interval: acc[p] for p = 0 … lanes-1.
 * `lanes` is a constant at each call site, so the loop vectorises. */
static inline void interpolate(const float *restrict coef,
			       const float *restrict win, float *restrict acc,
			       unsigned lanes)
{
	for (unsigned p = 0; p < lanes; p++)
		acc[p] = 0;
	for (unsigned k = 0; k < TP_TAPS; k++) {
		float x = win[k];

		for (unsigned p = 0; p < lanes; p++)
			acc[p] += coef[k * lanes + p] * x;
	}
}

/* Peak of one channel's interval; win[0 … TP_TAPS-1] is its history, the
 * newest frame last, so the interval starts at win[HALF-1].  A point is
 * refined once both its neighbours exist, so the points covered are those
 * from 1/os before the interval start to 2/os before its end; the sample
 * itself counts as well. */
static float channel_peak(struct chain_truepeak *tp, unsigned c,
			  const float *win)
{
	float acc[TP_MAX_OS];
	unsigned os = tp->os;
	float peak = fabsf(win[CHAIN_TP_HALF - 1]);
	float e;

	if (os == 8)
		interpolate(tp->coef, win, acc, 8);
	else
		interpolate(tp->coef, win, acc, 4);
	for (unsigned p = 0; p < os; p++)
		acc[p] = fabsf(acc[p]);
	e = refine(tp->prev[c], tp->last[c], acc[0]);
	if (e > peak)
		peak = e;
	e = refine(tp->last[c], acc[0], acc[1]);
	if (e > peak)
		peak = e;
	for (unsigned p = 1; p + 1 < os; p++) {
		e = refine(acc[p - 1], acc[p], acc[p + 1]);
		if (e > peak)
			peak = e;
	}
	tp->prev[c] = acc[os - 2];
	tp->last[c] = acc[os - 1];
	return peak;
}

float chain_truepeak_push(struct chain_truepeak *tp, const float *frame,
			  float *ch_peak)
{
	unsigned w = tp->w;
	float peak = 0;

	for (unsigned c = 0; c < tp->channels; c++) {
		float *h = tp->hist + (size_t)c * 2 * TP_TAPS;
		float x = frame[c];
		float e;

		if (!isfinite(x))
			x = 0;
		h[w] = h[w + TP_TAPS] = x;
		e = channel_peak(tp, c, h + w + 1);
		if (ch_peak)
			ch_peak[c] = e;
		if (e > peak)
			peak = e;
	}
	tp->w = w + 1 == TP_TAPS ? 0 : w + 1;
	return peak;
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

/*
 * termaster — true-peak detector (see truepeak.h).
 *
 * Polyphase interpolation after ITU-R BS.1770-4 Annex 2: zero-stuffing by
 * the oversampling factor and low-pass filtering, computed per phase.  The
 * filter is a Kaiser-windowed sinc (cut-off at the input Nyquist, so phase
 * 0 is the input sample itself and is not computed).
 */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "chain/chain.h"
#include "chain/truepeak.h"

#define TP_TAPS (2 * CHAIN_TP_HALF)  /* per phase */
#ifndef TP_BETA
#define TP_BETA 7.0
#endif
#ifndef TP_FC
#define TP_FC 1.0
#endif
#define TP_MAX_OS 8
#define TP_MAX_CH 8

struct chain_truepeak {
	unsigned channels;
	unsigned os;
	/* coef[k * (os-1) + p-1], p = 1 … os-1: weight of input frame
	 * m-L-(HALF-1)+k for the point m-L + p/os, with L = CHAIN_TP_HALF
	 * (tap-major, so the phases accumulate side by side) */
	float *coef;
	/* per channel, TP_TAPS history samples stored twice (hist[i] ==
	 * hist[i + TP_TAPS]) so that a window is always contiguous */
	float *hist;
	unsigned w;              /* next write index, 0 … TP_TAPS-1 */
	float last[TP_MAX_CH];   /* |last oversampled point| of the previous interval */
};

static double bessel_i0(double x)
{
	double s = 1, t = 1;

	for (int k = 1; k < 64; k++) {
		t *= (x / (2 * k)) * (x / (2 * k));
		s += t;
		if (t < 1e-17 * s)
			break;
	}
	return s;
}

static void design(float *coef, unsigned os)
{
	for (unsigned p = 1; p < os; p++) {
		double frac = (double)p / os, sum = 0;
		double h[TP_TAPS];

		for (int k = 0; k < TP_TAPS; k++) {
			/* distance of tap k from the point, in input frames */
			double t = (double)(k - (CHAIN_TP_HALF - 1)) - frac;
			double r = t / CHAIN_TP_HALF;
			double w = fabs(r) < 1 ?
				bessel_i0(TP_BETA * sqrt(1 - r * r)) / bessel_i0(TP_BETA) : 0;

			h[k] = sin(M_PI * TP_FC * t) / (M_PI * t) * w;
			sum += h[k];
		}
		for (int k = 0; k < TP_TAPS; k++)
			coef[k * (os - 1) + p - 1] = (float)(h[k] / sum);
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
	tp->coef = malloc(sizeof(float) * (oversample - 1) * TP_TAPS);
	tp->hist = calloc((size_t)channels * 2 * TP_TAPS, sizeof(float));
	if (!tp->coef || !tp->hist)
		goto fail;
	design(tp->coef, oversample);
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
	b = 0.5f * (yp - ym);       /* |b| <= -a */
	if (a < 0)
		return y0 - b * b / (4 * a);
	return y0;
}

/* Peak of one channel's interval; win[0 … TP_TAPS-1] is its history, the
 * newest frame last, so the interval starts at win[HALF-1] and the next
 * one at win[HALF]. */
static float channel_peak(struct chain_truepeak *tp, unsigned c,
			  const float *win)
{
	float acc[TP_MAX_OS] = { 0 };
	float v[TP_MAX_OS + 1];
	const float *h = tp->coef;
	unsigned np = tp->os - 1;
	float peak;

	for (unsigned k = 0; k < TP_TAPS; k++, h += np) {
		float x = win[k];

		for (unsigned p = 0; p < np; p++)
			acc[p] += h[p] * x;
	}
	v[0] = fabsf(win[CHAIN_TP_HALF - 1]);
	for (unsigned p = 1; p <= np; p++)
		v[p] = fabsf(acc[p - 1]);
	v[np + 1] = fabsf(win[CHAIN_TP_HALF]);
	peak = refine(tp->last[c], v[0], v[1]);
	for (unsigned p = 1; p <= np; p++) {
		float e = refine(v[p - 1], v[p], v[p + 1]);

		if (e > peak)
			peak = e;
	}
	tp->last[c] = v[np];
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

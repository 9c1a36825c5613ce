/*
 * termaster — live meters for the UI thread (see meter.h).
 *
 * Loudness: libebur128 in EBUR128_MODE_HISTOGRAM with M | S | TRUE_PEAK, so
 * adding frames never allocates (STYLE.md §3.2).  Momentary is the last
 * 400 ms and short-term the last 3 s (EBU Tech 3341), read whenever the UI
 * asks, at the exact position of the last frame fed.
 *
 * State glossary:
 *   seg_peak   true peak of the current 10 ms segment (linear), from
 *              ebur128_prev_true_peak() after each add (4× oversampled below
 *              96 kHz, 2× below 192 kHz, none above: libebur128).
 *   ring       the last RING_SEGS segment peaks: "now" is their maximum,
 *              i.e. the peak of the last 300 ms, falling off 300 ms after
 *              the peak happened (a hold-then-drop, not a dB/s slope).
 *   hold       maximum since refs_meter_reset_peak().
 *   mom        sums of L, R, L², R², L·R and the frame count per 10 ms
 *              segment, the last
 *              RING_SEGS of them plus the current one: the correlation is
 *              Pearson's r = cov(L,R) / sqrt(var L · var R) over the last
 *              300 ms (a sliding window rather than an exponential one, so
 *              a change is fully shown after 300 ms and silence reads 0
 *              instead of the correlation of a decaying tail).  0 when
 *              either channel's variance is below CORR_SILENCE (about
 *              -100 dBFS).
 *
 * Errors from refs_meter_new: the codes of enum refs_loudness_error
 * (refs/loudness.h): REFS_LOUDNESS_ERROR_{NOMEM, EBUR128}.
 */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <ebur128.h>

#include "refs/loudness.h"
#include "refs/meter.h"

#define SEG_HZ         100 /* 10 ms segments */
#define RING_SEGS      30  /* 300 ms of "now" */
#define CORR_SILENCE   1e-10
#define SCRATCH_FRAMES 2048

struct refs_meter {
	ebur128_state *st;
	double rate;
	int64_t frames;
	int64_t seg_k, next_seg;
	double seg_peak;
	double ring[RING_SEGS];
	int ring_pos;
	double hold;
	/* Σl Σr Σl² Σr² Σlr frames; [RING_SEGS] is the current segment */
	double mom[RING_SEGS + 1][6];
	float scratch[SCRATCH_FRAMES * 2];
};

static ebur128_state *meter_state(double rate)
{
	return ebur128_init(2, (unsigned long)lround(rate),
	                    EBUR128_MODE_M | EBUR128_MODE_S | EBUR128_MODE_TRUE_PEAK |
	                        EBUR128_MODE_HISTOGRAM);
}

static void clear(struct refs_meter *m)
{
	m->frames = 0;
	m->seg_k = 1;
	m->next_seg = llround(m->rate / SEG_HZ);
	m->seg_peak = 0;
	memset(m->ring, 0, sizeof(m->ring));
	m->ring_pos = 0;
	m->hold = 0;
	memset(m->mom, 0, sizeof(m->mom));
}

struct refs_meter *refs_meter_new(double rate, int *err)
{
	struct refs_meter *m;

	if (!(rate >= 1000.0 && rate <= 2822400.0)) {
		if (err)
			*err = REFS_LOUDNESS_ERROR_EBUR128;
		return NULL;
	}
	m = calloc(1, sizeof(*m));
	if (!m) {
		if (err)
			*err = REFS_LOUDNESS_ERROR_NOMEM;
		return NULL;
	}
	m->rate = (double)lround(rate);
	m->st = meter_state(m->rate);
	if (!m->st) {
		free(m);
		if (err)
			*err = REFS_LOUDNESS_ERROR_NOMEM;
		return NULL;
	}
	clear(m);
	if (err)
		*err = REFS_LOUDNESS_OK;
	return m;
}

void refs_meter_free(struct refs_meter **m)
{
	if (!m || !*m)
		return;
	if ((*m)->st)
		ebur128_destroy(&(*m)->st);
	free(*m);
	*m = NULL;
}

static void correlate(struct refs_meter *m, const float *x, size_t n)
{
	double sl = 0, sr = 0, sll = 0, srr = 0, slr = 0;
	double *cur = m->mom[RING_SEGS];

	for (size_t i = 0; i < n; i++) {
		double l = x[2 * i], r = x[2 * i + 1];
		sl += l;
		sr += r;
		sll += l * l;
		srr += r * r;
		slr += l * r;
	}
	cur[0] += sl;
	cur[1] += sr;
	cur[2] += sll;
	cur[3] += srr;
	cur[4] += slr;
	cur[5] += (double)n;
}

void refs_meter_add(struct refs_meter *m, const float *lr, size_t frames)
{
	if (!m || !lr)
		return;
	while (frames > 0) {
		size_t chunk = frames;
		double p;

		if ((int64_t)chunk > m->next_seg - m->frames)
			chunk = (size_t)(m->next_seg - m->frames);
		if (chunk > SCRATCH_FRAMES)
			chunk = SCRATCH_FRAMES;
		for (size_t i = 0; i < 2 * chunk; i++)
			m->scratch[i] = isfinite(lr[i]) ? lr[i] : 0.0f;
		if (m->st &&
		    ebur128_add_frames_float(m->st, m->scratch, chunk) == EBUR128_SUCCESS) {
			for (unsigned c = 0; c < 2; c++) {
				if (ebur128_prev_true_peak(m->st, c, &p) == EBUR128_SUCCESS &&
				    p > m->seg_peak)
					m->seg_peak = p;
			}
		}
		if (m->seg_peak > m->hold)
			m->hold = m->seg_peak;
		correlate(m, m->scratch, chunk);
		m->frames += (int64_t)chunk;
		lr += 2 * chunk;
		frames -= chunk;
		if (m->frames == m->next_seg) {
			memcpy(m->mom[m->ring_pos], m->mom[RING_SEGS], sizeof(m->mom[0]));
			memset(m->mom[RING_SEGS], 0, sizeof(m->mom[0]));
			m->ring[m->ring_pos] = m->seg_peak;
			m->ring_pos = (m->ring_pos + 1) % RING_SEGS;
			m->seg_peak = 0;
			m->seg_k++;
			m->next_seg = llround((double)m->seg_k * m->rate / SEG_HZ);
		}
	}
}

static double lin_db(double lin)
{
	return lin > 0 ? 20.0 * log10(lin) : -HUGE_VAL;
}

void refs_meter_get(const struct refs_meter *m, struct refs_meter_values *v)
{
	double now, vx, vy, n, sum[6] = {0, 0, 0, 0, 0, 0};

	if (!v)
		return;
	v->momentary_lufs = -HUGE_VAL;
	v->shortterm_lufs = -HUGE_VAL;
	v->true_peak_dbtp = -HUGE_VAL;
	v->true_peak_now_dbtp = -HUGE_VAL;
	v->correlation = 0;
	if (!m)
		return;
	if (m->st) {
		if (ebur128_loudness_momentary(m->st, &v->momentary_lufs) != EBUR128_SUCCESS)
			v->momentary_lufs = -HUGE_VAL;
		if (ebur128_loudness_shortterm(m->st, &v->shortterm_lufs) != EBUR128_SUCCESS)
			v->shortterm_lufs = -HUGE_VAL;
	}
	now = m->seg_peak;
	for (int i = 0; i < RING_SEGS; i++)
		if (m->ring[i] > now)
			now = m->ring[i];
	v->true_peak_dbtp = lin_db(m->hold);
	v->true_peak_now_dbtp = lin_db(now);

	/* over the window: the complete segments and the current one */
	for (int i = 0; i <= RING_SEGS; i++)
		for (int k = 0; k < 6; k++)
			sum[k] += m->mom[i][k];
	n = sum[5];
	if (n < 1)
		return;
	vx = sum[2] / n - (sum[0] / n) * (sum[0] / n);
	vy = sum[3] / n - (sum[1] / n) * (sum[1] / n);
	if (vx > CORR_SILENCE && vy > CORR_SILENCE) {
		double r = (sum[4] / n - (sum[0] / n) * (sum[1] / n)) / sqrt(vx * vy);
		v->correlation = r > 1 ? 1 : r < -1 ? -1 : r;
	}
}

void refs_meter_reset_peak(struct refs_meter *m)
{
	if (m)
		m->hold = 0;
}

void refs_meter_reset(struct refs_meter *m)
{
	ebur128_state *st;

	if (!m)
		return;
	/* libebur128 has no reset: start a fresh state (UI thread, may
	 * allocate); keep the old one if that fails */
	st = meter_state(m->rate);
	if (st) {
		ebur128_destroy(&m->st);
		m->st = st;
	}
	clear(m);
}

/*
 * termaster — loudness profiles (see riding.h).
 *
 * State glossary (struct refs_riding_profiler):
 *   kw        the K-weighting (refs/kweight.c), both channels.
 *   sum       sums of squares of the current segment's K-weighted samples
 *             inside libebur128's 100 ms window, per channel.
 *   in_seg    frames fed into the current segment.
 *   skip      frames at a segment's start outside that window: libebur128's
 *             ebur128_loudness_window(100 ms) reads rate · 100 / 1000
 *             frames (integer division of the integer rate), one fewer than
 *             the segment's round(rate / 10) at rates such as 11025 Hz;
 *             0 or 1 (window ≤ segment ≤ window + 1 for any rate).
 *   window    that window's length: a segment's energy is sum / window.
 *   tp        the true-peak meter of chain/truepeak.c in its
 *             libebur128-equivalent form (chain_truepeak_new_dual(),
 *             oversample 0), when asked for; NULL otherwise.
 *   tp_lag    frames from a frame to the reading of the interval
 *             libebur128 computes when fed it (latency - meter delay): the
 *             reading after pushing frame m belongs to segment
 *             floor((m - tp_lag) / seg_frames), as libebur128's points
 *             computed while fed that segment's frames (what
 *             ebur128_prev_true_peak() reported per segment before).
 *   tp_fed    frames pushed into the meter.
 *   tp_max    the largest reading of the segment being read; also the
 *             meter's threshold (chain_truepeak_push_block_above()): only
 *             readings that could exceed it are computed exactly.
 *   seg_sp    the sample peak of the current segment's own frames:
 *             libebur128's true-peak mode includes its sample peak, which
 *             it reads without the interpolator's delay, so a sample near
 *             a segment's end counts in that segment (its reading, six
 *             frames later, in the next).
 */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "chain/truepeak.h"
#include "refs/kweight.h"
#include "refs/loudness.h"
#include "refs/riding.h"

#define LUFS_OFFSET 0.691
#define ABS_GATE_LUFS (-70.0)
#define REL_GATE_LU (-10.0)
#define LRA_REL_GATE_LU (-20.0)
#define SCRATCH 4096
#define TP_PIECE 256 /* frames per meter call: its threshold follows the segment's maximum */

struct refs_riding_profiler {
	struct refs_kweight kw;
	double rate;
	int64_t seg_frames, in_seg, skip, window;
	double sum[2];
	struct chain_truepeak *tp;
	int64_t tp_lag, tp_fed;
	float tp_max, seg_sp;
	struct refs_riding_profile out;
	int64_t cap;
	float scratch[2 * SCRATCH];
	float tp_peak[TP_PIECE];
};

static double lufs_of(double e)
{
	return e > 0 ? -LUFS_OFFSET + 10.0 * log10(e) : -HUGE_VAL;
}

struct refs_riding_profiler *refs_riding_profiler_new(double rate, bool true_peak, int *err)
{
	struct refs_riding_profiler *p = calloc(1, sizeof(*p));
	int e = REFS_LOUDNESS_ERROR_NOMEM;

	if (!p)
		goto fail;
	if (!(rate >= 1000 && rate <= 2822400)) {
		e = REFS_LOUDNESS_ERROR_EBUR128;
		goto fail;
	}
	refs_kweight_init(&p->kw, 2, rate);
	if (true_peak) {
		int te;

		p->tp = chain_truepeak_new_dual(2, 0, (double)lround(rate), &te);
		if (!p->tp)
			goto fail;
		p->tp_lag = (int64_t)chain_truepeak_latency(p->tp) -
			    (int64_t)chain_truepeak_meter_delay(p->tp);
	}
	p->rate = rate;
	p->seg_frames = llround(rate * REFS_RIDING_HOP_S);
	p->window = lround(rate) * 100 / 1000;
	p->skip = p->seg_frames - p->window;
	p->out.rate = rate;
	p->out.seg_frames = p->seg_frames;
	if (err)
		*err = 0;
	return p;
fail:
	refs_riding_profiler_free(&p);
	if (err)
		*err = e;
	return NULL;
}

void refs_riding_profiler_free(struct refs_riding_profiler **p)
{
	if (!p || !*p)
		return;
	chain_truepeak_free(&(*p)->tp);
	refs_riding_profile_free(&(*p)->out);
	free(*p);
	*p = NULL;
}

static int push_segment(struct refs_riding_profiler *p)
{
	if (p->out.n == p->cap) {
		int64_t cap = p->cap ? 2 * p->cap : 1024;
		float *e = realloc(p->out.energy, sizeof(float) * (size_t)cap);

		if (!e)
			return REFS_LOUDNESS_ERROR_NOMEM;
		p->out.energy = e;
		if (p->tp) {
			float *k = realloc(p->out.peak, sizeof(float) * (size_t)cap);

			if (!k)
				return REFS_LOUDNESS_ERROR_NOMEM;
			p->out.peak = k;
		}
		p->cap = cap;
	}
	p->out.energy[p->out.n] = (float)((p->sum[0] + p->sum[1]) / (double)p->window);
	if (p->tp)
		p->out.peak[p->out.n] = p->seg_sp; /* raised when its readings are in */
	p->seg_sp = 0;
	p->out.n++;
	p->in_seg = 0;
	p->sum[0] = p->sum[1] = 0;
	return 0;
}

/* n finite frames through the meter, the readings into their segments'
 * peaks (those of a segment not yet whole, or beyond the last, are not
 * kept). */
static void tp_feed(struct refs_riding_profiler *p, const float *lr, size_t n)
{
	while (n) {
		int64_t r = p->tp_fed - p->tp_lag; /* reading index */
		size_t k = n < TP_PIECE ? n : TP_PIECE;
		int64_t to_end = r < 0 ? -r : p->seg_frames - r % p->seg_frames;
		float m = r < 0 ? 0 : p->tp_max;

		if ((int64_t)k > to_end)
			k = (size_t)to_end;
		chain_truepeak_push_block_above(p->tp, lr, 1, 2, k, m, p->tp_peak, NULL);
		for (size_t i = 0; i < k; i++)
			if (p->tp_peak[i] > m)
				m = p->tp_peak[i];
		p->tp_fed += (int64_t)k;
		lr += 2 * k;
		n -= k;
		if (r < 0)
			continue;
		p->tp_max = m;
		if ((r + (int64_t)k) % p->seg_frames == 0) {
			int64_t s = r / p->seg_frames;

			if (s < p->out.n && m > p->out.peak[s])
				p->out.peak[s] = m;
			p->tp_max = 0;
		}
	}
}

/* n frames within one segment, and on one side of its skip point. */
static void feed(struct refs_riding_profiler *p, const float *lr, size_t n)
{
	double skipped[2] = { 0, 0 }, sp[2] = { 0, 0 };

	refs_kweight_clean(p->scratch, lr, n, 2, sp);
	if (sp[0] > p->seg_sp || sp[1] > p->seg_sp)
		p->seg_sp = (float)(sp[0] > sp[1] ? sp[0] : sp[1]);
	refs_kweight_run(&p->kw, p->scratch, n, p->in_seg < p->skip ? skipped : p->sum);
	if (p->tp)
		tp_feed(p, p->scratch, n);
	p->in_seg += (int64_t)n;
}

int refs_riding_profiler_add(struct refs_riding_profiler *p, const float *lr, size_t frames)
{
	while (frames) {
		int64_t room = (p->in_seg < p->skip ? p->skip : p->seg_frames) - p->in_seg;
		size_t m = frames;
		int err;

		if ((int64_t)m > room)
			m = (size_t)room;
		if (m > SCRATCH)
			m = SCRATCH;
		feed(p, lr, m);
		if (p->in_seg == p->seg_frames && (err = push_segment(p)))
			return err;
		lr += 2 * m;
		frames -= m;
	}
	return 0;
}

int refs_riding_profiler_finish(struct refs_riding_profiler *p, struct refs_riding_profile *out)
{
	if (p->tp) {
		/* the last whole segment's readings: silence after it gives
		 * libebur128's values (they read no frame past the segment) */
		static const float zero[2 * TP_PIECE];
		int64_t need = p->out.n * p->seg_frames + p->tp_lag - p->tp_fed;

		while (need > 0) {
			size_t k = need < TP_PIECE ? (size_t)need : TP_PIECE;

			tp_feed(p, zero, k);
			need -= (int64_t)k;
		}
	}
	*out = p->out;
	memset(&p->out, 0, sizeof(p->out));
	return 0;
}

int refs_riding_profile_measure(const float *lr, int64_t frames, double rate, bool true_peak,
				struct refs_riding_profile *out,
				int (*progress)(void *user, double fraction), void *user)
{
	struct refs_riding_profiler *p;
	int err = 0;
	int64_t step = (int64_t)(rate > 0 ? rate : 48000) * 5;

	memset(out, 0, sizeof(*out));
	p = refs_riding_profiler_new(rate, true_peak, &err);
	if (!p)
		return err;
	for (int64_t at = 0; at < frames && !err; at += step) {
		int64_t m = frames - at < step ? frames - at : step;

		err = refs_riding_profiler_add(p, lr + 2 * at, (size_t)m);
		if (!err && progress && progress(user, (double)(at + m) / (double)frames))
			err = REFS_LOUDNESS_ERROR_CANCELLED;
	}
	if (!err)
		refs_riding_profiler_finish(p, out);
	refs_riding_profiler_free(&p);
	return err;
}

void refs_riding_profile_free(struct refs_riding_profile *p)
{
	if (!p)
		return;
	free(p->energy);
	free(p->peak);
	p->energy = NULL;
	p->peak = NULL;
	p->n = 0;
}

int refs_riding_profile_copy(struct refs_riding_profile *dst, const struct refs_riding_profile *src)
{
	size_t bytes = sizeof(float) * (size_t)(src->n ? src->n : 1);

	*dst = *src;
	dst->energy = malloc(bytes);
	dst->peak = src->peak ? malloc(bytes) : NULL;
	if (!dst->energy || (src->peak && !dst->peak)) {
		refs_riding_profile_free(dst);
		return REFS_LOUDNESS_ERROR_NOMEM;
	}
	if (src->n) {
		memcpy(dst->energy, src->energy, sizeof(float) * (size_t)src->n);
		if (src->peak)
			memcpy(dst->peak, src->peak, sizeof(float) * (size_t)src->n);
	}
	return 0;
}

int refs_riding_profile_append(struct refs_riding_profile *a, const struct refs_riding_profile *b,
			       int64_t b_first)
{
	int64_t add = b->n > b_first ? b->n - b_first : 0;
	size_t bytes = sizeof(float) * (size_t)(a->n + add + 1);
	float *e = realloc(a->energy, bytes);

	if (!e)
		return REFS_LOUDNESS_ERROR_NOMEM;
	a->energy = e;
	if (a->peak || b->peak) {
		float *k = realloc(a->peak, bytes);

		if (!k)
			return REFS_LOUDNESS_ERROR_NOMEM;
		if (!a->peak)
			memset(k, 0, sizeof(float) * (size_t)a->n);
		a->peak = k;
	}
	if (add) {
		memcpy(a->energy + a->n, b->energy + b_first, sizeof(float) * (size_t)add);
		if (a->peak) {
			if (b->peak)
				memcpy(a->peak + a->n, b->peak + b_first, sizeof(float) * (size_t)add);
			else
				memset(a->peak + a->n, 0, sizeof(float) * (size_t)add);
		}
	}
	a->n += add;
	return 0;
}

int64_t refs_riding_seg(const struct refs_riding_profile *p, double seconds)
{
	double k;

	if (!(seconds > 0) || p->seg_frames <= 0)
		return 0;
	k = floor(seconds * p->rate / (double)p->seg_frames + 1e-9);
	return k > (double)p->n ? p->n : (int64_t)k;
}

static void clamp_range(const struct refs_riding_profile *p, int64_t *from, int64_t *to)
{
	if (*from < 0)
		*from = 0;
	if (*to > p->n)
		*to = p->n;
	if (*to < *from)
		*to = *from;
}

double refs_riding_integrated(const struct refs_riding_profile *p, int64_t from, int64_t to)
{
	double sum = 0, gate, sum2 = 0;
	int64_t cnt = 0, cnt2 = 0;
	double abs_e = pow(10.0, (ABS_GATE_LUFS + LUFS_OFFSET) / 10.0);

	clamp_range(p, &from, &to);
	/* pass 1: blocks above the absolute gate */
	for (int64_t j = from; j + REFS_RIDING_BLOCK_SEGS <= to; j++) {
		double e = 0;

		for (int k = 0; k < REFS_RIDING_BLOCK_SEGS; k++)
			e += p->energy[j + k];
		e /= REFS_RIDING_BLOCK_SEGS;
		if (e > abs_e) {
			sum += e;
			cnt++;
		}
	}
	if (!cnt)
		return -HUGE_VAL;
	gate = sum / (double)cnt * pow(10.0, REL_GATE_LU / 10.0);
	for (int64_t j = from; j + REFS_RIDING_BLOCK_SEGS <= to; j++) {
		double e = 0;

		for (int k = 0; k < REFS_RIDING_BLOCK_SEGS; k++)
			e += p->energy[j + k];
		e /= REFS_RIDING_BLOCK_SEGS;
		if (e > abs_e && e > gate) {
			sum2 += e;
			cnt2++;
		}
	}
	return cnt2 ? lufs_of(sum2 / (double)cnt2) : -HUGE_VAL;
}

double refs_riding_true_peak(const struct refs_riding_profile *p, int64_t from, int64_t to)
{
	double m = 0;

	if (!p->peak)
		return -HUGE_VAL;
	clamp_range(p, &from, &to);
	for (int64_t j = from; j < to; j++)
		if (p->peak[j] > m)
			m = p->peak[j];
	return m > 0 ? 20.0 * log10(m) : -HUGE_VAL;
}

static double mean_energy(const struct refs_riding_profile *p, int64_t from, int64_t to)
{
	double s = 0;

	clamp_range(p, &from, &to);
	if (to <= from)
		return 0;
	for (int64_t j = from; j < to; j++)
		s += p->energy[j];
	return s / (double)(to - from);
}

double refs_riding_shortterm(const struct refs_riding_profile *p, int64_t end)
{
	return lufs_of(mean_energy(p, end - REFS_RIDING_SHORT_SEGS, end));
}

double refs_riding_shortterm_at(const struct refs_riding_profile *p, double seconds)
{
	int64_t c = llround(seconds * p->rate / (double)p->seg_frames);

	return lufs_of(mean_energy(p, c - REFS_RIDING_SHORT_SEGS / 2,
				   c + REFS_RIDING_SHORT_SEGS / 2));
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

double refs_riding_lra(const struct refs_riding_profile *p, int64_t from, int64_t to)
{
	double *v, sum = 0, gate, lo, hi;
	int64_t n = 0, m = 0;
	double abs_e = pow(10.0, (ABS_GATE_LUFS + LUFS_OFFSET) / 10.0);

	clamp_range(p, &from, &to);
	if (to - from < REFS_RIDING_SHORT_SEGS)
		return 0;
	v = malloc(sizeof(double) * (size_t)(to - from));
	if (!v)
		return 0;
	/* short-term values every 100 ms over whole 3 s windows */
	for (int64_t e = from + REFS_RIDING_SHORT_SEGS; e <= to; e++) {
		double x = mean_energy(p, e - REFS_RIDING_SHORT_SEGS, e);

		if (x > abs_e) {
			v[n++] = x;
			sum += x;
		}
	}
	if (n < 2) {
		free(v);
		return 0;
	}
	gate = sum / (double)n * pow(10.0, LRA_REL_GATE_LU / 10.0);
	for (int64_t i = 0; i < n; i++)
		if (v[i] > gate)
			v[m++] = lufs_of(v[i]);
	if (m < 2) {
		free(v);
		return 0;
	}
	qsort(v, (size_t)m, sizeof(double), cmp_double);
	lo = v[(int64_t)llround(0.10 * (double)(m - 1))];
	hi = v[(int64_t)llround(0.95 * (double)(m - 1))];
	free(v);
	return hi - lo;
}

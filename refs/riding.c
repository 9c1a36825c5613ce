/*
 * termaster — loudness profiles (see riding.h).
 *
 * State glossary (struct refs_riding_profiler):
 *   st        libebur128 state, mode M (its 400 ms buffer holds the last
 *             100 ms we read back) and, when asked, TRUE_PEAK.
 *   in_seg    frames fed into the current segment.
 *   seg_peak  largest ebur128_prev_true_peak() over the add calls of the
 *             current segment (it reports the last call only).
 */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <ebur128.h>

#include "refs/loudness.h"
#include "refs/riding.h"

#define LUFS_OFFSET 0.691
#define ABS_GATE_LUFS (-70.0)
#define REL_GATE_LU (-10.0)
#define LRA_REL_GATE_LU (-20.0)
#define SCRATCH 4096

struct refs_riding_profiler {
	ebur128_state *st;
	bool tp;
	double rate;
	int64_t seg_frames, in_seg;
	double seg_peak;
	struct refs_riding_profile out;
	int64_t cap;
	float scratch[2 * SCRATCH];
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
	p->st = ebur128_init(2, (unsigned long)lround(rate),
			     EBUR128_MODE_M | (true_peak ? EBUR128_MODE_TRUE_PEAK : 0));
	if (!p->st)
		goto fail;
	p->tp = true_peak;
	p->rate = rate;
	p->seg_frames = llround(rate * REFS_RIDING_HOP_S);
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
	if ((*p)->st)
		ebur128_destroy(&(*p)->st);
	refs_riding_profile_free(&(*p)->out);
	free(*p);
	*p = NULL;
}

static int push_segment(struct refs_riding_profiler *p)
{
	double v;

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
	if (ebur128_loudness_window(p->st, (unsigned long)llround(REFS_RIDING_HOP_S * 1000), &v) !=
	    EBUR128_SUCCESS)
		v = -HUGE_VAL;
	p->out.energy[p->out.n] = isfinite(v) ? (float)pow(10.0, (v + LUFS_OFFSET) / 10.0) : 0.0f;
	if (p->tp)
		p->out.peak[p->out.n] = (float)p->seg_peak;
	p->out.n++;
	p->in_seg = 0;
	p->seg_peak = 0;
	return 0;
}

static int feed(struct refs_riding_profiler *p, const float *lr, size_t n)
{
	for (size_t i = 0; i < 2 * n; i++)
		p->scratch[i] = isfinite(lr[i]) ? lr[i] : 0.0f;
	if (ebur128_add_frames_float(p->st, p->scratch, n) != EBUR128_SUCCESS)
		return REFS_LOUDNESS_ERROR_NOMEM;
	if (p->tp) {
		for (unsigned c = 0; c < 2; c++) {
			double t;

			if (ebur128_prev_true_peak(p->st, c, &t) == EBUR128_SUCCESS && t > p->seg_peak)
				p->seg_peak = t;
		}
	}
	p->in_seg += (int64_t)n;
	return 0;
}

int refs_riding_profiler_add(struct refs_riding_profiler *p, const float *lr, size_t frames)
{
	while (frames) {
		int64_t room = p->seg_frames - p->in_seg;
		size_t m = frames;
		int err;

		if ((int64_t)m > room)
			m = (size_t)room;
		if (m > SCRATCH)
			m = SCRATCH;
		err = feed(p, lr, m);
		if (err)
			return err;
		if (p->in_seg == p->seg_frames && (err = push_segment(p)))
			return err;
		lr += 2 * m;
		frames -= m;
	}
	return 0;
}

int refs_riding_profiler_finish(struct refs_riding_profiler *p, struct refs_riding_profile *out)
{
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

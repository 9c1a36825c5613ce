/*
 * termaster — loudness analysis with libebur128, or with our own
 * K-weighting (REFS_ANALYSER_OWN_LOUDNESS; see loudness.h).
 *
 * Standards: ITU-R BS.1770-4 (K-weighting, gating, true peak), EBU R128,
 * EBU Tech 3341 (momentary 400 ms, short-term 3 s, ±0.1 LU) and Tech 3342
 * (loudness range).
 *
 * State glossary (struct refs_analyser):
 *   st         libebur128 state, modes I | LRA | M | S | SAMPLE_PEAK |
 *              TRUE_PEAK, not in histogram mode: every 400 ms block energy
 *              is kept (8 bytes per 100 ms, ~300 kB per hour), so the
 *              integrated loudness and LRA are exact rather than quantised
 *              to the histogram's 0.1 LU bins.
 *   frames     frames fed so far.
 *   next_poll  frame index of the next 10 ms boundary; the input is split
 *              there and momentary/short-term are read after each 10 ms.
 *              Tech 3341 case 13 needs a polling period of 10 ms or less:
 *              a 400 ms tone burst read up to 5 ms off its window loses at
 *              most 10·log10(395/400) = 0.055 LU.
 *   seg_e      K-weighted energy of each of the last SEG_S 10 ms segments
 *              (ebur128_loudness_window(10 ms) turned back into energy).
 *              When the rate is a multiple of 100 Hz, momentary and
 *              short-term are the means of the last 40 and 300 segments:
 *              the same samples libebur128's own momentary/short-term sum,
 *              without summing 3 s of audio every 10 ms (that costs ~600
 *              operations per frame).  Other rates (11025, 22050 Hz) ask
 *              libebur128 directly at each boundary.
 *   max_m/s    maxima of those readings (-HUGE_VAL until the first one).
 *   tp         REFS_ANALYSER_OWN_TRUE_PEAK: the libebur128-equivalent
 *              meter of chain/truepeak.c (libebur128 then runs without
 *              EBUR128_MODE_TRUE_PEAK, whose interpolator cost as much as
 *              everything else it does); NULL otherwise.
 *   tp_max     the largest of its readings so far: also the threshold
 *              below which it may skip an interval (a reading that could
 *              exceed it is computed exactly), so that only the loudest
 *              stretches are interpolated.
 *   tp_peak    its readings of one chunk (SCRATCH_FRAMES).
 *   ended      the meter has been flushed by refs_analyser_result(): the
 *              stream is over.
 *   own        REFS_ANALYSER_OWN_LOUDNESS (st is then NULL): the K-weighted
 *              energy in chunks of 10 ms on the same polling grid (struct
 *              own_meter below); NULL otherwise.
 *
 * Own meter (struct own_meter).  With the rate a multiple of 10 Hz,
 * libebur128's 100 ms (S = rate / 10 frames) is ten 10 ms chunks, and
 * every window it reads ends on a chunk boundary and spans whole chunks:
 * its gating blocks (4·S frames, one every S from 4·S on), the blocks of
 * the loudness range (30·S, one every 10·S from 30·S on), momentary (4·S)
 * and short-term (30·S) at each 10 ms poll, with the frames before the
 * start counting as silence.  So the sums of squares per chunk are all it
 * needs:
 *   kw         the K-weighting filter (refs/kweight.c).
 *   cur        sums of squares of the chunk in progress, per channel.
 *   chunk_e    the last SEG_S chunks' sums (both channels), index k % SEG_S.
 *   blocks     gating-block energies at or above -70 LUFS (8 bytes per
 *              100 ms, as libebur128 keeps them), in order.
 *   st_blocks  loudness-range blocks at or above -70 LUFS.
 *   max_m/s_e  the largest momentary and short-term energies polled.
 *   peak       sample peak per channel.
 *   ring       the cleaned input of the last ring_frames frames, and snap
 *              the filter's state at the last SNAPS chunk boundaries: the
 *              final poll in the middle of a chunk (the stream's last
 *              partial 10 ms) needs windows that start mid-chunk, which are
 *              filtered again from the boundary before them (the same
 *              frames, the same state: the same samples to the bit).
 *              The copy into the ring is the copy the cleaning makes
 *              anyway; the true-peak meter is fed again from it when it
 *              restarts.
 *   tp_*       which intervals the true-peak meter must read, and whether
 *              it is being fed (own_feed()).
 *
 * Channel map: 1 channel is measured as one channel (BS.1770-4 weights L, R
 * and C by 1.0; there is no dual-mono rule in BS.1770), so a mono file reads
 * 3.01 LU below the same signal on both channels of a stereo file.  2
 * channels are L, R; more follow libebur128's default map (L R C LFE Ls Rs).
 * Non-finite samples are fed as 0.
 */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <ebur128.h>

#include "chain/chain.h"
#include "chain/truepeak.h"
#include "refs/kweight.h"
#include "refs/loudness.h"

#define POLL_HZ             100   /* 10 ms */
#define SEG_M               40    /* 400 ms of 10 ms segments */
#define SEG_S               300   /* 3 s */
#define LUFS_OFFSET         0.691 /* BS.1770-4: L = -0.691 + 10·log10(sum G·z) */
#define SCRATCH_FRAMES      4096
#define MAX_CHANNELS        64
#define PROGRESS_INTERVAL_S 0.1
#define SNAPS               (SEG_S + 4) /* >= SEG_S + 2 chunk boundaries */

struct own_meter {
	struct refs_kweight kw;
	double cur[2];
	double chunk_e[SEG_S];
	double *blocks, *st_blocks;
	size_t n_blocks, cap_blocks, n_st, cap_st;
	double max_m_e, max_s_e;
	double abs_gate_e; /* -70 LUFS as energy, computed as libebur128 does */
	double peak[2];
	int64_t s100; /* S: frames per 100 ms */
	float *ring;
	int64_t ring_frames;
	double snap[SNAPS][4][2];
	/* the true-peak meter, fed only where it may read above tp_max */
	int tp_live;          /* being fed: it has had every frame up to tp_fed */
	int64_t tp_fed;
	int64_t tp_valid;     /* its first interval read in full since its reset */
	int64_t tp_need;      /* intervals below this are to be read */
	float tp_k;           /* chain_truepeak_meter_bound() */
	int64_t tp_reach;     /* chain_truepeak_meter_delay(): D */
	int64_t tp_lat;       /* chain_truepeak_latency() */
};

struct refs_analyser {
	ebur128_state *st;
	unsigned channels;
	double rate;
	int64_t frames;
	int64_t poll_k; /* boundaries passed */
	int64_t next_poll;
	int64_t last_poll; /* frame count at the last reading */
	double max_m, max_s;
	int fast;            /* rate is a multiple of 100 Hz */
	double seg_e[SEG_S]; /* ring of segment energies, index poll_k % SEG_S */
	float *scratch;      /* SCRATCH_FRAMES × channels */
	struct chain_truepeak *tp;
	float tp_max;
	float *tp_peak;
	int ended;
	struct own_meter *own;
};

static int64_t boundary(const struct refs_analyser *a, int64_t k)
{
	return (int64_t)llround((double)k * a->rate / POLL_HZ);
}

/* The own meter of an analyser at an integer rate that is a multiple of
 * 10 Hz, 1 or 2 channels. */
static int own_new(struct refs_analyser *a, unsigned channels, double rate)
{
	struct own_meter *o = calloc(1, sizeof(*o));
	int64_t r = lround(rate);

	a->own = o;
	if (!o)
		return REFS_LOUDNESS_ERROR_NOMEM;
	if (refs_kweight_init(&o->kw, channels, rate))
		return REFS_LOUDNESS_ERROR_EBUR128;
	o->s100 = r / 10;
	/* 3 s, and the chunk in progress (at most ceil(r / 100) frames)
	 * with the one before it, for the final poll */
	o->ring_frames = 30 * o->s100 + 2 * (r / POLL_HZ + 1);
	o->ring = calloc((size_t)o->ring_frames * channels, sizeof(float));
	o->abs_gate_e = pow(10.0, (-70.0 + 0.691) / 10.0);
	return o->ring ? REFS_LOUDNESS_OK : REFS_LOUDNESS_ERROR_NOMEM;
}

struct refs_analyser *refs_analyser_new_flags(unsigned channels, double rate,
                                              unsigned flags, int *err)
{
	struct refs_analyser *a = NULL;
	int e = REFS_LOUDNESS_OK;
	int own_tp = (flags & REFS_ANALYSER_OWN_TRUE_PEAK) != 0;
	int own = (flags & REFS_ANALYSER_OWN_LOUDNESS) != 0;
	const unsigned known = REFS_ANALYSER_OWN_TRUE_PEAK | REFS_ANALYSER_OWN_LOUDNESS;

	if (channels < 1 || channels > MAX_CHANNELS || !(rate >= 1.0 && rate <= 2822400.0) ||
	    (flags & ~known) || (own_tp && channels > 8)) {
		e = REFS_LOUDNESS_ERROR_EBUR128;
		goto out;
	}
	/* the own meter where its chunks hold libebur128's windows; the
	 * true peak goes with it (libebur128 is then not used at all) */
	if (own && channels <= 2 && rate >= 16 && lround(rate) % 10 == 0)
		own_tp = 1;
	else
		own = 0;
	a = calloc(1, sizeof(*a));
	if (!a) {
		e = REFS_LOUDNESS_ERROR_NOMEM;
		goto out;
	}
	a->scratch = malloc(SCRATCH_FRAMES * (size_t)channels * sizeof(float));
	if (own)
		e = own_new(a, channels, rate);
	else
		a->st = ebur128_init(channels, (unsigned long)lround(rate),
		                     EBUR128_MODE_I | EBUR128_MODE_LRA | EBUR128_MODE_M |
		                         EBUR128_MODE_S | EBUR128_MODE_SAMPLE_PEAK |
		                         (own_tp ? 0 : EBUR128_MODE_TRUE_PEAK));
	if (!e && (!a->scratch || (!own && !a->st)))
		e = REFS_LOUDNESS_ERROR_NOMEM;
	if (e)
		goto out;
	if (own_tp) {
		int te;

		/* the rate as libebur128 takes it: an integer */
		a->tp = chain_truepeak_new_dual(channels, 0, (double)lround(rate), &te);
		a->tp_peak = malloc(SCRATCH_FRAMES * sizeof(float));
		if (!a->tp || !a->tp_peak) {
			e = a->tp || te == CHAIN_ERROR_NOMEM ? REFS_LOUDNESS_ERROR_NOMEM :
			                                       REFS_LOUDNESS_ERROR_EBUR128;
			goto out;
		}
	}
	if (a->own) {
		a->own->tp_k = chain_truepeak_meter_bound(a->tp);
		a->own->tp_reach = chain_truepeak_meter_delay(a->tp);
		a->own->tp_lat = chain_truepeak_latency(a->tp);
		a->own->tp_need = INT64_MIN;
	}
	if (channels == 1 && a->st)
		ebur128_set_channel(a->st, 0, EBUR128_LEFT);
	a->channels = channels;
	a->rate = (double)lround(rate);
	a->fast = lround(rate) % POLL_HZ == 0;
	a->poll_k = 1;
	a->next_poll = boundary(a, 1);
	a->max_m = -HUGE_VAL;
	a->max_s = -HUGE_VAL;
out:
	if (e && a) {
		refs_analyser_free(&a);
	}
	if (err)
		*err = e;
	return a;
}

struct refs_analyser *refs_analyser_new(unsigned channels, double rate, int *err)
{
	return refs_analyser_new_flags(channels, rate, 0, err);
}

void refs_analyser_free(struct refs_analyser **a)
{
	if (!a || !*a)
		return;
	if ((*a)->st)
		ebur128_destroy(&(*a)->st);
	if ((*a)->own) {
		free((*a)->own->blocks);
		free((*a)->own->st_blocks);
		free((*a)->own->ring);
		free((*a)->own);
	}
	chain_truepeak_free(&(*a)->tp);
	free((*a)->tp_peak);
	free((*a)->scratch);
	free(*a);
	*a = NULL;
}

static double energy_of(double lufs)
{
	return isfinite(lufs) ? pow(10.0, (lufs + LUFS_OFFSET) / 10.0) : 0.0;
}

static double lufs_of(double energy)
{
	return energy > 0 ? -LUFS_OFFSET + 10.0 * log10(energy) : -HUGE_VAL;
}

static void take_max(struct refs_analyser *a, double m, double s)
{
	if (m > a->max_m)
		a->max_m = m;
	if (s > a->max_s)
		a->max_s = s;
}

/* At a 10 ms boundary (a->frames == a->next_poll). */
static void poll_segment(struct refs_analyser *a)
{
	double v, m = 0, s = 0;

	a->last_poll = a->frames;
	if (!a->fast) {
		double vm = -HUGE_VAL, vs = -HUGE_VAL;
		if (ebur128_loudness_momentary(a->st, &v) == EBUR128_SUCCESS)
			vm = v;
		if (ebur128_loudness_shortterm(a->st, &v) == EBUR128_SUCCESS)
			vs = v;
		take_max(a, vm, vs);
		return;
	}
	if (ebur128_loudness_window(a->st, 1000 / POLL_HZ, &v) != EBUR128_SUCCESS)
		v = -HUGE_VAL;
	a->seg_e[a->poll_k % SEG_S] = energy_of(v);
	for (int i = 0; i < SEG_S; i++) {
		double e = a->seg_e[(a->poll_k - i + SEG_S) % SEG_S];
		if (i < SEG_M)
			m += e;
		s += e;
	}
	take_max(a, lufs_of(m / SEG_M), lufs_of(s / SEG_S));
}

/* Anywhere (the partial last segment): ask libebur128. */
static void poll_levels(struct refs_analyser *a)
{
	double v, vm = -HUGE_VAL, vs = -HUGE_VAL;

	if (a->frames == a->last_poll)
		return;
	a->last_poll = a->frames;
	if (ebur128_loudness_momentary(a->st, &v) == EBUR128_SUCCESS)
		vm = v;
	if (ebur128_loudness_shortterm(a->st, &v) == EBUR128_SUCCESS)
		vs = v;
	take_max(a, vm, vs);
}

/* n <= SCRATCH_FRAMES finite frames through the true-peak meter; the
 * reading of the first is that of interval c0 (its frame - latency), and
 * only those of intervals from `valid` on count. */
static void tp_push_from(struct refs_analyser *a, const float *x, size_t n, int64_t c0,
                         int64_t valid)
{
	float m = a->tp_max;
	size_t i = c0 >= valid ? 0 : valid - c0 < (int64_t)n ? (size_t)(valid - c0) : n;

	chain_truepeak_push_block_above(a->tp, x, 1, a->channels, n, m, a->tp_peak, NULL);
	for (; i < n; i++)
		if (a->tp_peak[i] > m)
			m = a->tp_peak[i];
	a->tp_max = m;
}

/* n <= SCRATCH_FRAMES finite frames through the true-peak meter, every
 * reading counting. */
static void tp_push(struct refs_analyser *a, const float *x, size_t n)
{
	tp_push_from(a, x, n, 0, 0);
}

/* Sum of the n ring entries of r (size SEG_S) ending at index k % SEG_S,
 * in four independent sums (this runs at every poll, over up to 3 s). */
static double ring_sum(const double *r, int64_t k, int n)
{
	double s[4] = {0, 0, 0, 0};
	int first = (int)((k - n + 1) % SEG_S + SEG_S) % SEG_S, i = 0;

	while (i < n) {
		int run = SEG_S - first < n - i ? SEG_S - first : n - i, j = 0;
		const double *p = r + first;

		for (; j + 4 <= run; j += 4) {
			s[0] += p[j];
			s[1] += p[j + 1];
			s[2] += p[j + 2];
			s[3] += p[j + 3];
		}
		for (; j < run; j++)
			s[0] += p[j];
		i += run;
		first = 0;
	}
	return (s[0] + s[1]) + (s[2] + s[3]);
}

static int push_energy(double **v, size_t *n, size_t *cap, double e)
{
	if (*n == *cap) {
		size_t c = *cap ? 2 * *cap : 1024;
		double *p = realloc(*v, c * sizeof(*p));

		if (!p)
			return REFS_LOUDNESS_ERROR_NOMEM;
		*v = p;
		*cap = c;
	}
	(*v)[(*n)++] = e;
	return REFS_LOUDNESS_OK;
}

/* At the end of chunk k (a->frames == boundary(a, k)). */
static int own_poll(struct refs_analyser *a, int64_t k)
{
	struct own_meter *o = a->own;
	double m, s;

	a->last_poll = a->frames;
	o->chunk_e[k % SEG_S] = o->cur[0] + o->cur[1];
	o->cur[0] = o->cur[1] = 0;
	memcpy(o->snap[k % SNAPS], o->kw.v, sizeof(o->kw.v));
	m = ring_sum(o->chunk_e, k, SEG_M) / (double)(4 * o->s100);
	s = ring_sum(o->chunk_e, k, SEG_S) / (double)(30 * o->s100);
	if (m > o->max_m_e)
		o->max_m_e = m;
	if (s > o->max_s_e)
		o->max_s_e = s;
	/* libebur128's gating blocks: 400 ms every 100 ms; its loudness-range
	 * blocks: 3 s every 1 s; each kept at or above -70 LUFS */
	if (k >= SEG_M && k % 10 == 0 && m >= o->abs_gate_e &&
	    push_energy(&o->blocks, &o->n_blocks, &o->cap_blocks, m))
		return REFS_LOUDNESS_ERROR_NOMEM;
	if (k >= SEG_S && (k - SEG_S) % 100 == 0 && s >= o->abs_gate_e &&
	    push_energy(&o->st_blocks, &o->n_st, &o->cap_st, s))
		return REFS_LOUDNESS_ERROR_NOMEM;
	return REFS_LOUDNESS_OK;
}

/* Filters frames [from, to) again from the ring, adding the squares to
 * sum; kw holds the state at `from`. */
static void own_refilter(const struct refs_analyser *a, struct refs_kweight *kw, int64_t from,
                         int64_t to, double sum[2])
{
	const struct own_meter *o = a->own;

	while (from < to) {
		int64_t pos = from % o->ring_frames;
		int64_t n = to - from < o->ring_frames - pos ? to - from : o->ring_frames - pos;

		refs_kweight_run(kw, o->ring + pos * a->channels, (size_t)n, sum);
		from += n;
	}
}

/* The final poll in the middle of a chunk: momentary over the last 4·S
 * frames, short-term over the last 30·S, filtered again from the chunk
 * boundary before the earlier window's start. */
static void own_final_poll(struct refs_analyser *a)
{
	struct own_meter *o = a->own;
	struct refs_kweight kw = o->kw;
	int64_t f = a->frames, j = a->poll_k - 1 - SEG_S;
	int64_t s_from = f - 30 * o->s100, m_from = f - 4 * o->s100;
	double skip[2] = {0, 0}, sm[2] = {0, 0}, ss[2] = {0, 0}, m, s;

	if (j < 0)
		j = 0; /* snap[0]: the state at rest */
	memcpy(kw.v, o->snap[j % SNAPS], sizeof(kw.v));
	if (s_from < 0)
		s_from = 0;
	if (m_from < 0)
		m_from = 0;
	own_refilter(a, &kw, boundary(a, j), s_from, skip);
	own_refilter(a, &kw, s_from, m_from, ss);
	own_refilter(a, &kw, m_from, f, sm);
	m = (sm[0] + sm[1]) / (double)(4 * o->s100);
	s = ((ss[0] + ss[1]) + (sm[0] + sm[1])) / (double)(30 * o->s100);
	if (m > o->max_m_e)
		o->max_m_e = m;
	if (s > o->max_s_e)
		o->max_s_e = s;
	a->last_poll = f;
}

/* The true-peak meter restarted so that it reads intervals from `start`
 * on in full (frame a->frames is next): reset, and fed again the frames
 * those readings reach back to, from the ring. */
static void own_tp_start(struct refs_analyser *a, int64_t start)
{
	struct own_meter *o = a->own;
	int64_t f = a->frames, r0 = start - o->tp_reach;

	chain_truepeak_reset(a->tp);
	o->tp_valid = start;
	if (r0 <= 0) {
		/* the state at rest is the silence before the stream */
		r0 = 0;
		o->tp_valid = INT64_MIN;
	}
	while (r0 < f) {
		int64_t pos = r0 % o->ring_frames;
		int64_t n = f - r0 < o->ring_frames - pos ? f - r0 : o->ring_frames - pos;

		tp_push_from(a, o->ring + pos * a->channels, (size_t)n, r0 - o->tp_lat, o->tp_valid);
		r0 += n;
	}
	o->tp_fed = f;
	o->tp_live = 1;
}

/*
 * n frames, within one chunk and one stretch of the ring.
 *
 * The true-peak meter reads interval c at most tp_k times the largest
 * |sample| of frames c - D … c + D (chain_truepeak_meter_bound()), so
 * where that stays at or below the largest reading so far, tp_max, the
 * interval cannot raise it: those intervals need no reading, and the
 * meter need not even be fed.  It is fed (and reads) from D before
 * stretches whose samples could read above tp_max to D after them, and
 * restarted from the ring before such a stretch when it was not fed
 * (D frames earlier, so that the first interval it must read has all
 * its frames: the same reading to the bit).  Every interval it does not
 * read is at most tp_max, so the largest reading is the same as when it
 * reads them all (tests/test_loudness.c, check_own_true_peak_sparse()),
 * and the stretches 5.4 dB (4×; 2×: 7.3 dB) below the largest reading
 * cost the meter nothing: on a limited master most of them.  Decided per
 * piece (up to 10 ms), on the piece's largest sample.
 */
static void own_feed(struct refs_analyser *a, const float *x, size_t n)
{
	struct own_meter *o = a->own;
	int64_t f = a->frames;
	float *dst = o->ring + (size_t)(f % o->ring_frames) * a->channels;
	double pk[2] = {0, 0};
	float m;
	int hot;

	refs_kweight_clean(dst, x, n, a->channels, pk);
	refs_kweight_run(&o->kw, dst, n, o->cur);
	if (pk[0] > o->peak[0])
		o->peak[0] = pk[0];
	if (pk[1] > o->peak[1])
		o->peak[1] = pk[1];
	m = (float)(pk[0] > pk[1] ? pk[0] : pk[1]); /* exact: floats */
	hot = !(o->tp_k * m <= a->tp_max);
	if (hot) {
		if (!o->tp_live)
			own_tp_start(a, f - o->tp_reach);
		if (f + (int64_t)n + o->tp_reach > o->tp_need)
			o->tp_need = f + (int64_t)n + o->tp_reach;
	}
	if (o->tp_live) {
		/* interval c is read once frame c + latency is in */
		int64_t k = o->tp_need + o->tp_lat - f;

		if (k > (int64_t)n)
			k = (int64_t)n;
		if (k > 0)
			tp_push_from(a, dst, (size_t)k, f - o->tp_lat, o->tp_valid);
		o->tp_fed = f + (k > 0 ? k : 0);
		if (o->tp_fed - o->tp_lat >= o->tp_need)
			o->tp_live = 0;
	}
	a->frames += (int64_t)n;
}

static int feed(struct refs_analyser *a, const float *x, size_t n)
{
	size_t ns = n * a->channels;

	for (size_t i = 0; i < ns; i++) {
		float v = x[i];
		a->scratch[i] = isfinite(v) ? v : 0.0f;
	}
	if (ebur128_add_frames_float(a->st, a->scratch, n) != EBUR128_SUCCESS)
		return REFS_LOUDNESS_ERROR_NOMEM;
	if (a->tp)
		tp_push(a, a->scratch, n);
	a->frames += (int64_t)n;
	return REFS_LOUDNESS_OK;
}

int refs_analyser_add(struct refs_analyser *a, const float *frames, size_t n)
{
	int err;

	if (!a || (!frames && n) || (a->ended && n))
		return REFS_LOUDNESS_ERROR_EBUR128;
	while (n > 0) {
		int64_t to_poll = a->next_poll - a->frames;
		size_t chunk = n;

		if ((int64_t)chunk > to_poll)
			chunk = (size_t)to_poll;
		if (chunk > SCRATCH_FRAMES)
			chunk = SCRATCH_FRAMES;
		if (a->own) {
			int64_t room = a->own->ring_frames - a->frames % a->own->ring_frames;

			if ((int64_t)chunk > room)
				chunk = (size_t)room;
			own_feed(a, frames, chunk);
		} else {
			err = feed(a, frames, chunk);
			if (err)
				return err;
		}
		frames += chunk * a->channels;
		n -= chunk;
		if (a->frames == a->next_poll) {
			if (a->own) {
				err = own_poll(a, a->poll_k);
				if (err)
					return err;
			} else {
				poll_segment(a);
			}
			a->poll_k++;
			a->next_poll = boundary(a, a->poll_k);
		}
	}
	return REFS_LOUDNESS_OK;
}

static double lin_db(double lin)
{
	return lin > 0 ? 20.0 * log10(lin) : -HUGE_VAL;
}

static double own_integrated(const struct own_meter *o)
{
	double sum = 0, gate, gated = 0;
	size_t n = 0;

	if (!o->n_blocks)
		return -HUGE_VAL;
	/* BS.1770-4: the relative gate 10 LU below the mean of the blocks
	 * above the absolute gate; blocks at the gate count (as libebur128) */
	for (size_t i = 0; i < o->n_blocks; i++)
		sum += o->blocks[i];
	gate = sum / (double)o->n_blocks * pow(10.0, -10.0 / 10.0);
	for (size_t i = 0; i < o->n_blocks; i++)
		if (o->blocks[i] >= gate) {
			gated += o->blocks[i];
			n++;
		}
	return n ? lufs_of(gated / (double)n) : -HUGE_VAL;
}

static int cmp_double(const void *p, const void *q)
{
	double x = *(const double *)p, y = *(const double *)q;

	return (x > y) - (x < y);
}

/* EBU Tech 3342 as libebur128 computes it: the short-term blocks above
 * -70 LUFS, sorted; those 20 LU below their mean power dropped; the 10th
 * and 95th percentiles of the rest, rounded to the nearest index.  Sorts
 * the blocks in place (the stream is over). */
static double own_range(struct own_meter *o)
{
	double power = 0, gate;
	size_t first = 0, n;

	if (!o->n_st)
		return 0;
	qsort(o->st_blocks, o->n_st, sizeof(double), cmp_double);
	for (size_t i = 0; i < o->n_st; i++)
		power += o->st_blocks[i];
	gate = pow(10.0, -20.0 / 10.0) * (power / (double)o->n_st);
	while (first < o->n_st && o->st_blocks[first] < gate)
		first++;
	n = o->n_st - first;
	if (!n)
		return 0;
	return lufs_of(o->st_blocks[first + (size_t)((double)(n - 1) * 0.95 + 0.5)]) -
	       lufs_of(o->st_blocks[first + (size_t)((double)(n - 1) * 0.1 + 0.5)]);
}

static int own_result(struct refs_analyser *a, struct refs_loudness *out)
{
	struct own_meter *o = a->own;
	double tp, sp = o->peak[0] > o->peak[1] ? o->peak[0] : o->peak[1];

	if (a->frames != a->last_poll)
		own_final_poll(a); /* the partial last 10 ms */
	memset(out, 0, sizeof(*out));
	out->integrated_lufs = own_integrated(o);
	out->lra_lu = own_range(o);
	tp = a->tp_max;
	out->true_peak_dbtp = lin_db(tp > sp ? tp : sp);
	out->sample_peak_dbfs = lin_db(sp);
	out->max_momentary_lufs = lufs_of(o->max_m_e);
	out->max_shortterm_lufs = lufs_of(o->max_s_e);
	out->duration_s = (double)a->frames / a->rate;
	return REFS_LOUDNESS_OK;
}

int refs_analyser_result(struct refs_analyser *a, struct refs_loudness *out)
{
	double v, tp = 0, sp = 0;

	if (!a || !out)
		return REFS_LOUDNESS_ERROR_EBUR128;
	if (!a->own)
		poll_levels(a); /* the partial last 10 ms */
	if (a->tp && !a->ended) {
		/* the meter's last readings: silence up to the last interval
		 * libebur128 would have read (chain_truepeak_meter_delay()) */
		size_t k = chain_truepeak_latency(a->tp) - chain_truepeak_meter_delay(a->tp);

		memset(a->scratch, 0, k * a->channels * sizeof(float));
		if (!a->own)
			tp_push(a, a->scratch, k);
		else if (a->own->tp_live)
			/* (not fed: no interval left that could read above) */
			tp_push_from(a, a->scratch, k, a->frames - a->own->tp_lat,
			             a->own->tp_valid);
		a->ended = 1;
	}
	if (a->own)
		return own_result(a, out);
	memset(out, 0, sizeof(*out));
	if (ebur128_loudness_global(a->st, &v) != EBUR128_SUCCESS)
		return REFS_LOUDNESS_ERROR_EBUR128;
	out->integrated_lufs = v;
	v = 0;
	if (ebur128_loudness_range(a->st, &v) != EBUR128_SUCCESS)
		return REFS_LOUDNESS_ERROR_NOMEM;
	out->lra_lu = isfinite(v) ? v : 0.0;
	if (a->tp)
		tp = a->tp_max;  /* a float, as libebur128 keeps its points */
	for (unsigned c = 0; c < a->channels; c++) {
		if (!a->tp && ebur128_true_peak(a->st, c, &v) == EBUR128_SUCCESS && v > tp)
			tp = v;
		if (ebur128_sample_peak(a->st, c, &v) == EBUR128_SUCCESS && v > sp)
			sp = v;
	}
	/* the interpolated peak is never below the sample peak */
	out->true_peak_dbtp = lin_db(tp > sp ? tp : sp);
	out->sample_peak_dbfs = lin_db(sp);
	out->max_momentary_lufs = a->max_m;
	out->max_shortterm_lufs = a->max_s;
	out->duration_s = (double)a->frames / a->rate;
	return REFS_LOUDNESS_OK;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int refs_loudness_measure(const float *frames, int64_t n, unsigned channels, double rate,
                          struct refs_loudness *out, int (*progress)(void *user, double fraction),
                          void *user)
{
	return refs_loudness_measure_flags(frames, n, channels, rate, 0, out, progress, user);
}

int refs_loudness_measure_flags(const float *frames, int64_t n, unsigned channels, double rate,
				unsigned flags, struct refs_loudness *out,
				int (*progress)(void *user, double fraction), void *user)
{
	struct refs_analyser *a;
	int64_t done = 0, block;
	double last;
	int err;

	if (!out || n < 0 || (!frames && n))
		return REFS_LOUDNESS_ERROR_EBUR128;
	a = refs_analyser_new_flags(channels, rate, flags, &err);
	if (!a)
		return err;
	block = (int64_t)(rate / 10.0) + 1; /* 100 ms of audio per call */
	last = 0;                           /* first call after the first block */
	while (done < n) {
		int64_t k = n - done < block ? n - done : block;

		err = refs_analyser_add(a, frames + (size_t)done * channels, (size_t)k);
		if (err)
			goto out;
		done += k;
		if (progress && now_s() - last >= PROGRESS_INTERVAL_S) {
			last = now_s();
			if (progress(user, (double)done / (double)n)) {
				err = REFS_LOUDNESS_ERROR_CANCELLED;
				goto out;
			}
		}
	}
	err = refs_analyser_result(a, out);
	if (!err && progress)
		progress(user, 1.0);
out:
	refs_analyser_free(&a);
	return err;
}

const char *refs_loudness_strerror(int err)
{
	static const char *const text[] = {
	    [REFS_LOUDNESS_OK] = "success",
	    [REFS_LOUDNESS_ERROR_NOMEM] = "out of memory",
	    [REFS_LOUDNESS_ERROR_EBUR128] = "libebur128 refused the input",
	    [REFS_LOUDNESS_ERROR_CANCELLED] = "cancelled",
	};

	if (err < 0 || (size_t)err >= sizeof(text) / sizeof(text[0]) || !text[err])
		return "unknown loudness error";
	return text[err];
}

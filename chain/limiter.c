/*
 * termaster — true-peak limiter (the last processor of the chain).
 *
 * A lookahead brick-wall limiter on the reconstructed (true-peak) waveform,
 * per channel, with stereo link, program-dependent release and a
 * constant latency.  Per frame (the state glossary above lim_process()
 * names every variable):
 *
 *  1. detect: chain/truepeak.c reports, per channel and input frame, the
 *     largest magnitude over the interval to the next frame as the larger
 *     of two readings: an accurate one (ITU-R BS.1770-4 Annex 2 with a
 *     128-tap filter and a parabolic refinement, 8x or 4x: parameter
 *     oversampling) and the one libebur128 gives (its 4x interpolator, 2x
 *     from 96 kHz), which mastering engineers read their ceiling on
 *     (`termaster analyze` among them);
 *  2. required gain: r = min(0, ln ceiling - ln peak) per channel (a
 *     natural-log gain); with auto release also f, the same for the
 *     channel's low-frequency content (a one-pole low-pass at
 *     LIM_LF_HZ = 500 Hz of the input, read at its samples);
 *  3. stereo link: r_c += link · (min(r_L, r_R) - r_c), the same for f;
 *  4. hold: r runs through a running minimum over `hold` frames (a
 *     monotonic deque, Lemire 2006), a little longer than the attack;
 *     with auto release f runs through one over LIM_LF_HOLD_MS = 25 ms;
 *  5. release: the held minimum recovers towards 0 exponentially in the
 *     log domain (gain reduction in dB decays with time constant
 *     release_ms, as the log-domain detectors of Giannoulis, Massberg and
 *     Reiss, "Digital Dynamic Range Compressor Design — A Tutorial and
 *     Analysis", JAES 60(6), 2012);
 *  6. attack: two cascaded moving averages of total support `att` frames
 *     turn each step down into an S-shaped ramp over the lookahead
 *     (Hämäläinen, "Smoothing of the control signal without clipped
 *     output in digital peak limiters", DAFx-02);
 *  7. the audio, delayed by the latency, times exp(gain).
 *
 * Why the ceiling holds: every value averaged in step 6 for the frames
 * around a peak comes out of the minimum of step 4 over a window that
 * contains that peak, so their mean cannot exceed the peak's required gain;
 * the delays put that plateau from LIM_HOLD frames before to LIM_HOLD + 1
 * frames after the interval holding the peak.  Steps 2-5 can only lower
 * a gain below that (link, LF hold, release), which keeps the argument.
 * Up to float rounding (the exp/log below are exact to 1e-11) the
 * output's true peak is then at most the ceiling on both readings.
 *
 * Auto release (program dependent; zita-dpl1 by Fons Adriaensen, as in
 * x42 dpl Peaklim::process, holds a low-passed detector's reduction longer
 * than the full-band one's).  A limiter that releases between the peaks of
 * a bass tone follows its waveform: the gain ripples at twice the tone's
 * frequency and modulates it (a 40 Hz sine under 6 dB of reduction, release
 * 100 ms: THD 0.69 % without).  The LF reading holds the reduction the low
 * end needs for 25 ms, a whole period of 40 Hz and half of 20 Hz, so the
 * gain stays put between its peaks (THD 0.12 %), while transients and
 * highs, which the 500 Hz low-pass hardly hears, release at release_ms
 * after the short hold of step 4: fast release on drums and tops, no
 * distortion on sustained bass.  The release time constant itself is the
 * same (tests/test_limiter.c measures it with auto release on).
 *
 * Latency: constant for an instance, whatever the lookahead (the engine
 * and render compensate it once): the detector's delay + the attack at
 * the longest lookahead (10 ms) + 1 frame: 74 + 441 + 1 = 516 frames at
 * 44.1 kHz (11.7 ms), 555 at 48 kHz.  A shorter lookahead reads the required gains
 * `lag = att_max - att` frames late instead, so only the gain ramp
 * shortens; the audio path does not change (dpl get_latency() likewise
 * reports one value).  A change of lookahead warms a second set of gain
 * computers up at the new attack (they read the same rings) and then
 * crossfades the log gain to theirs over LIM_XFADE_BLOCKS sub-blocks
 * (14 × 32 frames): both hold the ceiling on the same plateau, so every
 * mix of them does, and the gain never steps.
 *
 * Switches (oversampling, auto release, lookahead) take effect at the
 * start of a sub-block (frame counter modulo CHAIN_SUBBLOCK), the ceiling
 * and the link glide per sub-block (chain/smooth.h): everything is per
 * frame on an internal frame counter, never on call boundaries, so the
 * same input gives the same output for any block sizes.  Below the
 * ceiling the output is the input delayed, bit-exact.  Non-finite input
 * samples are replaced by 0.
 *
 * Cost at 44.1 kHz on one x86-64 core (SSE2), music (tests/util.c
 * gen_music) 9 dB into a -1 dBTP ceiling, limiter alone: ~945
 * instructions per stereo frame at 8x, ~840 at 4x (1100 and 980 before
 * the changes listed last below, 1950 before the detector worked by
 * sub-blocks).  Most of it is the detector (chain/truepeak.c), which
 * step 1 runs once per sub-block, frames side by side, and which
 * interpolates only the intervals its bounds cannot show to be under the
 * ceiling, or under what the gain computers already hold (lim_env_thr():
 * 19 % fewer instructions for the whole default chain 20 dB into the
 * limiter, the output bit-identical): 36 % of them on that music; behind
 * the EQ, compressor and multiband of tests/bench.c's full chain 0.2 %,
 * and the limiter there (4x, ~0.6 dB mean reduction) costs ~175
 * instructions a frame, 11-15 ns of the chain's 51-62 (306 and 18-28 ns
 * before those changes, in two load phases of a shared VM; 720
 * instructions when the detector skipped on K·M alone).  To keep the rest small: while the link is 1 only the larger
 * channel's reading is asked for (the detector then skips more), one
 * gain computer serves both channels while they are fully linked (one
 * log per reading, one exp per frame), a computer that holds unity does
 * nothing, and exp/log are the short polynomials below.  And, each
 * bit-identical (the output hashes of tests/bench.c's full chain and of
 * the limiter alone at 4x/8x, link 50 %, auto release off, lookahead
 * 1 ms, +18 dB and with switches mid-stream did not change): a part in
 * which no reading asks for a reduction writes its zeros to the rings in
 * runs and clears its sub-block's flag (nz), so that an idle computer
 * whose entries are all flagged 0 skips them without reading them
 * (lim_zero()); a releasing computer (both windows hold a lone 0 and a 0
 * comes) skips the deques (gc_run()); the LF detectors run without their
 * flush to 0 (a recursion a third shorter: its latency, not its
 * instructions, set their time), and again with it only when a state
 * falls below it; the input and the LF detectors' largest values go four
 * or two at a time; and the unity case skips the gain loop.
 *
 * Verified (tests/test_limiter.c) by two judges, an independent 32x
 * reference meter and libebur128 itself, on the EBU Tech 3341 true-peak
 * signals, music and white noise 12 dB over full scale at 44.1/48/96 kHz,
 * for every combination of oversampling, lookahead 1/5/10 ms, auto release
 * and link 0/100 %: output true peak within ceiling + 0.009 dB by the
 * reference (+0.002 dB at 8x from 5 ms of lookahead up; the 1 ms attack's
 * steeper gain widens the output's spectrum a little), + 0.0002 dB by
 * libebur128.
 */
#include "config.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "chain/chain.h"
#include "chain/smooth.h"
#include "chain/truepeak.h"

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#define LIM_LA_MAX_MS 10.0     /* longest lookahead: sets the latency */
#define LIM_HOLD 2             /* plateau margin around a peak, frames */
#define LIM_MIN_ATTACK 8       /* frames, at the lowest rates */
#define LIM_LF_HZ 500.0        /* auto release: corner of the LF detector */
#define LIM_LF_HOLD_MS 25.0    /* auto release: hold of the LF reduction */
#define LIM_XFADE_BLOCKS 14    /* lookahead change: crossfade, sub-blocks */
#define LIM_CEIL_TAU_MS 10.0   /* glide of the ceiling */
#define LIM_CEIL_SNAP 1e-3     /* dB */
#define LIM_LINK_TAU_MS 10.0   /* glide of the stereo link */
#define LIM_LINK_SNAP 1e-4     /* fraction */
#define LIM_LOG_MIN (-100.0)   /* floor of the log gain (−868 dB) */
#define LIM_ENV_SNAP (-1e-7)   /* log gain above this is unity (−0.9 µdB) */
/* At 4x the fine reading under-reads a peak by up to 0.031 dB (near
 * 0.4 fs, tests/test_limiter.c test_detector), which let white noise
 * overshoot the 32x reference by 0.042 dB: at 4x the limiter reads against
 * a ceiling 0.03 dB lower (0.002 dB of overshoot is left).  8x under-reads
 * by 0.002 dB and needs none. */
#define LIM_OS4_MARGIN_DB 0.03
#define LIM_LF_FLUSH 1e-20     /* LF detector state below this is 0 */
#define LN10_20 0.11512925464970228  /* ln(10) / 20: dB to natural log */

enum {
	LIM_P_CEILING,
	LIM_P_RELEASE,
	LIM_P_AUTO,
	LIM_P_LOOKAHEAD,
	LIM_P_LINK,
	LIM_P_OVERSAMPLE,
	LIM_N_PARAMS
};

static const char *const lim_off_on[] = { "off", "on", NULL };
static const char *const lim_os_names[] = { "4x", "8x", NULL };

static const struct chain_param lim_params[LIM_N_PARAMS] = {
	[LIM_P_CEILING] = { "ceiling_dbtp", "Ceiling", "dBTP", -20.0f, 0.0f, -1.0f, 0.1f, NULL },
	[LIM_P_RELEASE] = { "release_ms", "Release", "ms", 1.0f, 1000.0f, 100.0f, 1.0f, NULL },
	[LIM_P_AUTO] = { "auto_release", "Auto release", "", 0.0f, 1.0f, 1.0f, 1.0f, lim_off_on },
	[LIM_P_LOOKAHEAD] = { "lookahead_ms", "Lookahead", "ms", 1.0f, 10.0f, 5.0f, 0.1f, NULL },
	[LIM_P_LINK] = { "link_pct", "Stereo link", "%", 0.0f, 100.0f, 100.0f, 1.0f, NULL },
	[LIM_P_OVERSAMPLE] = { "oversampling", "Oversampling", "", 0.0f, 1.0f, 1.0f, 1.0f, lim_os_names },
};

/* One gain computer: hold, release and attack for one channel at one
 * attack length (see lim_process). */
struct lim_gc {
	unsigned att;           /* attack (gain ramp), frames */
	unsigned b1, b2;        /* the two averages: b1 + b2 - 1 = att */
	unsigned hold;          /* fast window, frames: att + 2 LIM_HOLD + 1 */
	unsigned lag;           /* reads the required gains lag frames late */
	double inv_b1, inv_b2;
	double *qv;             /* fast window: deque of (gain, frame) … */
	unsigned *qp;
	unsigned qh, ql;        /* … head and length in a ring of hold_cap */
	double *lv;             /* LF window, the same over lf_hold frames */
	unsigned *lp;
	unsigned lh, ll;
	double env;             /* held and released log gain, <= 0 */
	double *box1, *box2;    /* the averages' histories */
	unsigned i1, i2;
	double sum1, sum2;
	unsigned zrun;          /* frames in a row with env == 0 */
	int idle;               /* all of the above 0, nothing to do */
};

enum { LIM_IDLE, LIM_WARM, LIM_XFADE };

struct lim_priv {
	struct chain_truepeak *tp;
	double rate;
	unsigned tpl;           /* detector delay, frames */
	unsigned att_max;       /* attack at the longest lookahead */
	unsigned lat;           /* latency: tpl + att_max + LIM_HOLD - 1 */
	unsigned hold_cap;      /* att_max + 2 LIM_HOLD + 1 */
	unsigned lf_hold;       /* LIM_LF_HOLD_MS in frames */
	unsigned rn;            /* length of the required-gain rings */
	float *delay[CHAIN_CHANNELS];  /* lat frames each */
	unsigned dw;            /* delay write/read index */
	double *rr[CHAIN_CHANNELS], *ff[CHAIN_CHANNELS];  /* required gains */
	unsigned ri;            /* ring write index */
	unsigned char *nz[CHAIN_CHANNELS];  /* sub-blocks of the rings: any entry != 0 */
	unsigned nzn;           /* their count (a power of two) */
	double lf[CHAIN_CHANNELS];     /* LF detector states */
	double lf_w;            /* its coefficient */
	struct lim_gc gc[CHAIN_CHANNELS][2];
	unsigned act;           /* the active computer of each channel */
	int xstate;             /* LIM_IDLE, LIM_WARM, LIM_XFADE */
	unsigned xcount;        /* sub-blocks left to warm, or crossfaded */
	double xf_inv;          /* 1 / crossfade frames */
	struct chain_smooth ceil_db, link;
	float thr;              /* this sub-block's detector threshold */
	float thr_env;          /* … raised by the computers' state */
	double ceil_off;        /* log ceiling offset of the factor: <= 0 */
	double rel_coef;        /* env *= rel_coef per frame while releasing */
	double rel_pend;        /* a faster release waiting for exact_run */
	int rel_pending;
	double rel_k;           /* rel_coef^env_k · (1 - 1e-9) */
	unsigned env_k;         /* frames an entry can act after its push */
	unsigned exact_run;     /* frames pushed since the threshold was raised */
	unsigned exact_need;    /* … before the rings hold only exact entries */
	unsigned att_want;      /* attack asked for by lookahead_ms */
	int auto_want, auto_on; /* auto release asked for, in force */
	unsigned os_want;       /* oversampling asked for: 4 or 8 */
	int shared;             /* channel 0's computers serve both */
	unsigned link1_run;     /* frames the link has been exactly 1 */
	unsigned long long pos; /* frames since init/reset */
	float gr_db;            /* largest reduction in the last process() */
	void *mem;              /* one allocation for the computers */
};

/* Two doubles side by side (GCC/Clang vector extension: SSE2, NEON). */
typedef double lim_v2 __attribute__((vector_size(2 * sizeof(double))));
typedef int64_t lim_i2 __attribute__((vector_size(2 * sizeof(int64_t))));

static inline lim_v2 lim_abs2(lim_v2 v)
{
	return (lim_v2)((lim_i2)v & ~(lim_i2)(lim_v2){ -0.0, -0.0 });
}

/* The larger of a and b lane by lane (b where a is NaN). */
static inline lim_v2 lim_max2(lim_v2 a, lim_v2 b)
{
#ifdef __SSE2__
	return _mm_max_pd(b, a);  /* b > a ? b : a, one instruction */
#else
	lim_i2 gt = b > a;

	return (lim_v2)(((lim_i2)b & gt) | ((lim_i2)a & ~gt));
#endif
}

/* Four floats side by side. */
typedef float lim_f4 __attribute__((vector_size(4 * sizeof(float))));
typedef int32_t lim_i4 __attribute__((vector_size(4 * sizeof(int32_t))));

static inline lim_f4 lim_abs4(lim_f4 v)
{
	return (lim_f4)((lim_i4)v & ~(lim_i4)(lim_f4){ -0.0f, -0.0f, -0.0f, -0.0f });
}

/* ---- fast exact-enough transcendental functions ---- */

#define LIM_LN2_HI 6.93147180369123816490e-01  /* 32 significant bits */
#define LIM_LN2_LO 1.90821492927058770002e-10

/*
 * e^x for LIM_LOG_MIN <= x <= 0, relative error < 1e-11 (Cody & Waite
 * range reduction, "Software Manual for the Elementary Functions", 1980):
 * x = k ln 2 + r, |r| <= ln 2 / 2, a degree-9 Taylor polynomial for e^r
 * (remainder < 7e-12), 2^k from the exponent bits.  Rounding to nearest
 * by adding 1.5 · 2^52 needs the default rounding mode, as everything
 * here does.
 */
static inline double lim_exp(double x)
{
	const double shift = 6755399441055744.0;  /* 1.5 · 2^52 */
	double k = (x * 1.4426950408889634 + shift) - shift;
	double r = (x - k * LIM_LN2_HI) - k * LIM_LN2_LO;
	double p = 1 + r * (1 + r * (1.0 / 2 + r * (1.0 / 6 + r * (1.0 / 24 +
		   r * (1.0 / 120 + r * (1.0 / 720 + r * (1.0 / 5040 +
		   r * (1.0 / 40320 + r * (1.0 / 362880)))))))));
	union {
		double d;
		uint64_t u;
	} b;

	b.u = (uint64_t)((int64_t)k + 1023) << 52;
	return p * b.d;
}

/*
 * ln v for a finite normal float v, absolute error < 2e-11: v = 2^e m,
 * √½ <= m < √2, ln m = 2 atanh s with s = (m - 1) / (m + 1), |s| < 0.172,
 * by its series to s^11 (remainder < 2e-11).
 */
static inline double lim_log(float v)
{
	union {
		float f;
		uint32_t u;
	} b = { v };
	int e = (int)(b.u >> 23) - 127;
	double m, s, z;

	b.u = (b.u & 0x7fffffu) | 0x3f800000u;
	m = b.f;
	if (m > M_SQRT2) {
		m *= 0.5;
		e++;
	}
	s = (m - 1) / (m + 1);
	z = s * s;
	return e * M_LN2 + 2 * s * (1 + z * (1.0 / 3 + z * (1.0 / 5 + z * (1.0 / 7 +
		z * (1.0 / 9 + z * (1.0 / 11))))));
}

/* The log gain that brings a reading `pk` (> 0) down to the ceiling. */
static inline double lim_need(float pk, double ceil_ln)
{
	double r;

	if (!(pk <= FLT_MAX))
		return LIM_LOG_MIN;
	r = ceil_ln - lim_log(pk);
	if (r > 0)
		return 0;
	return r < LIM_LOG_MIN ? LIM_LOG_MIN : r;
}

/* ---- the gain computer ---- */

/*
 * Running minimum (Lemire, "Streaming maximum-minimum filter using no more
 * than three comparisons per element", 2006): push x for frame pos into
 * the deque (a ring of cap entries, increasing values, oldest first) of
 * the window of the last win frames; returns the window's minimum.  One
 * push per frame.
 */
static inline double dq_push(double *v, unsigned *p, unsigned *head,
			     unsigned *len, unsigned cap, unsigned win, double x,
			     unsigned pos)
{
	unsigned h = *head, n = *len, b;

	if (n && pos - p[h] >= win) {
		h = h + 1 == cap ? 0 : h + 1;
		n--;
	}
	while (n) {
		b = h + n - 1;
		if (b >= cap)
			b -= cap;
		if (v[b] < x)
			break;
		n--;
	}
	b = h + n;
	if (b >= cap)
		b -= cap;
	v[b] = x;
	p[b] = pos;
	*head = h;
	*len = n + 1;
	return v[h];
}

static void gc_clear(struct lim_gc *g, double env)
{
	g->qh = g->ql = 0;
	g->lh = g->ll = 0;
	g->env = env;
	memset(g->box1, 0, sizeof(double) * g->b1);
	memset(g->box2, 0, sizeof(double) * g->b2);
	g->i1 = g->i2 = 0;
	g->sum1 = g->sum2 = 0;
	g->zrun = 0;
	g->idle = env == 0;  /* (an empty past is a past of zeros) */
}

/* dst becomes a copy of src (same capacities). */
static void gc_copy(struct lim_gc *dst, const struct lim_gc *src,
		    const struct lim_priv *s)
{
	struct lim_gc keep = *dst;

	*dst = *src;
	dst->qv = keep.qv;
	dst->qp = keep.qp;
	dst->lv = keep.lv;
	dst->lp = keep.lp;
	dst->box1 = keep.box1;
	dst->box2 = keep.box2;
	memcpy(dst->qv, src->qv, sizeof(double) * s->hold_cap);
	memcpy(dst->qp, src->qp, sizeof(unsigned) * s->hold_cap);
	memcpy(dst->lv, src->lv, sizeof(double) * s->lf_hold);
	memcpy(dst->lp, src->lp, sizeof(unsigned) * s->lf_hold);
	memcpy(dst->box1, src->box1, sizeof(double) * src->b1);
	memcpy(dst->box2, src->box2, sizeof(double) * src->b2);
}

static void gc_config(struct lim_gc *g, const struct lim_priv *s, unsigned att)
{
	g->att = att;
	g->b1 = (att + 1) / 2;
	g->b2 = att + 1 - g->b1;
	g->inv_b1 = 1.0 / g->b1;
	g->inv_b2 = 1.0 / g->b2;
	g->hold = att + 2 * LIM_HOLD + 1;
	g->lag = s->att_max - att;
}

static inline double gc_avg(struct lim_gc *g, double e);

/* One frame: the required gains r (fast window) and f (LF window, when
 * lf) of frame pos - lag; returns the log gain for the output frame. */
static inline double gc_step(struct lim_gc *g, const struct lim_priv *s,
			     double r, double f, unsigned pos, double rel, int lf)
{
	double e = g->env * rel, m;

	m = dq_push(g->qv, g->qp, &g->qh, &g->ql, s->hold_cap, g->hold, r, pos);
	if (e > LIM_ENV_SNAP)
		e = 0;
	if (m < e)
		e = m;
	if (lf) {
		m = dq_push(g->lv, g->lp, &g->lh, &g->ll, s->lf_hold, s->lf_hold, f, pos);
		if (m < e)
			e = m;
	}
	g->env = e;
	return gc_avg(g, e);
}

/* The two moving averages of step 6: env e in, the output's log gain
 * out. */
static inline double gc_avg(struct lim_gc *g, double e)
{
	unsigned b1 = g->b1, b2 = g->b2;
	double m;

	g->sum1 += e - g->box1[g->i1];
	g->box1[g->i1] = e;
	if (++g->i1 == b1) {
		double t = 0;

		g->i1 = 0;
		for (unsigned k = 0; k < b1; k++)
			t += g->box1[k];
		g->sum1 = t;
	}
	m = g->sum1 * g->inv_b1;
	g->sum2 += m - g->box2[g->i2];
	g->box2[g->i2] = m;
	if (++g->i2 == b2) {
		double t = 0;

		g->i2 = 0;
		for (unsigned k = 0; k < b2; k++)
			t += g->box2[k];
		g->sum2 = t;
	}
	return g->sum2 * g->inv_b2;
}

/* ---- setup ---- */

static unsigned lim_attack(const struct lim_priv *s, double ms)
{
	long a = lround(ms * 1e-3 * s->rate);

	return a < LIM_MIN_ATTACK ? LIM_MIN_ATTACK : (unsigned)a;
}

static void lim_destroy(struct chain_proc *p)
{
	struct lim_priv *s = p->priv;

	chain_truepeak_free(&s->tp);
	free(s->mem);
	s->mem = NULL;
}

static void lim_set_rel(struct lim_priv *s, double rel)
{
	s->rel_coef = rel;
	s->rel_k = pow(rel, s->env_k) * (1 - 1e-9);
}

static void lim_lf_clear(struct lim_priv *s)
{
	for (unsigned c = 0; c < CHAIN_CHANNELS; c++) {
		s->lf[c] = 0;
		for (unsigned k = 0; k < 2; k++)
			s->gc[c][k].lh = s->gc[c][k].ll = 0;
	}
}

static void lim_reset(struct chain_proc *p)
{
	struct lim_priv *s = p->priv;

	chain_truepeak_reset(s->tp);
	chain_truepeak_set_oversample(s->tp, s->os_want);
	for (unsigned c = 0; c < CHAIN_CHANNELS; c++) {
		memset(s->delay[c], 0, sizeof(float) * s->lat);
		memset(s->rr[c], 0, sizeof(double) * s->rn);
		memset(s->ff[c], 0, sizeof(double) * s->rn);
		memset(s->nz[c], 0, s->nzn);
		for (unsigned k = 0; k < 2; k++) {
			gc_config(&s->gc[c][k], s, s->att_want);
			gc_clear(&s->gc[c][k], 0);
		}
	}
	s->act = 0;
	s->shared = s->link.target >= 1;
	s->link1_run = s->shared ? s->rn + CHAIN_SUBBLOCK : 0;
	s->xstate = LIM_IDLE;
	s->xcount = 0;
	s->auto_on = s->auto_want;
	lim_lf_clear(s);
	s->dw = 0;
	s->ri = 0;
	chain_smooth_set(&s->ceil_db, s->ceil_db.target, 1);
	chain_smooth_set(&s->link, s->link.target, 1);
	s->pos = 0;
	s->gr_db = 0;
	if (s->rel_pending) {
		lim_set_rel(s, s->rel_pend);
		s->rel_pending = 0;
	}
	s->exact_run = s->exact_need;
}

static int lim_init(struct chain_proc *p, double rate, unsigned max_frames)
{
	struct lim_priv *s = p->priv;
	unsigned b1_cap, b2_cap;
	size_t need, off = 0;
	char *mem;
	int err;

	(void)max_frames;
	s->rate = rate;
	s->tp = chain_truepeak_new_dual(CHAIN_CHANNELS, 8, rate, &err);
	if (!s->tp)
		return err;
	s->tpl = chain_truepeak_latency(s->tp);
	s->att_max = lim_attack(s, LIM_LA_MAX_MS);
	s->lat = s->tpl + s->att_max + LIM_HOLD - 1;
	s->hold_cap = s->att_max + 2 * LIM_HOLD + 1;
	s->lf_hold = (unsigned)lround(LIM_LF_HOLD_MS * 1e-3 * rate);
	s->rn = s->att_max + CHAIN_SUBBLOCK;  /* a sub-block is written before it is read */
	/* lag + hold = att_max + 2 LIM_HOLD + 1 for every attack */
	s->env_k = s->att_max + 2 * LIM_HOLD + 1 + CHAIN_SUBBLOCK;
	s->exact_need = s->env_k + s->rn + CHAIN_SUBBLOCK;
	b1_cap = (s->att_max + 1) / 2;
	b2_cap = s->att_max + 1 - b1_cap;
	/* the sub-blocks a computer can read (lag <= att_max) up to the one
	 * being written, and one more */
	for (s->nzn = 1; s->nzn < s->att_max / CHAIN_SUBBLOCK + 3; s->nzn *= 2)
		;

	/* doubles first, then floats and unsigned: everything aligned */
	need = sizeof(double) * (2 * CHAIN_CHANNELS * s->rn +
				 2 * CHAIN_CHANNELS * (s->hold_cap + s->lf_hold + b1_cap + b2_cap)) +
	       sizeof(float) * CHAIN_CHANNELS * s->lat +
	       sizeof(unsigned) * 2 * CHAIN_CHANNELS * (s->hold_cap + s->lf_hold) +
	       CHAIN_CHANNELS * s->nzn;
	s->mem = mem = calloc(1, need);
	if (!mem) {
		lim_destroy(p);
		return CHAIN_ERROR_NOMEM;
	}
#define LIM_TAKE(type, n) ((type *)(void *)(mem + (off += sizeof(type) * (n)) - sizeof(type) * (n)))
	for (unsigned c = 0; c < CHAIN_CHANNELS; c++) {
		s->rr[c] = LIM_TAKE(double, s->rn);
		s->ff[c] = LIM_TAKE(double, s->rn);
		for (unsigned k = 0; k < 2; k++) {
			struct lim_gc *g = &s->gc[c][k];

			g->qv = LIM_TAKE(double, s->hold_cap);
			g->lv = LIM_TAKE(double, s->lf_hold);
			g->box1 = LIM_TAKE(double, b1_cap);
			g->box2 = LIM_TAKE(double, b2_cap);
		}
	}
	for (unsigned c = 0; c < CHAIN_CHANNELS; c++)
		s->delay[c] = LIM_TAKE(float, s->lat);
	for (unsigned c = 0; c < CHAIN_CHANNELS; c++)
		for (unsigned k = 0; k < 2; k++) {
			s->gc[c][k].qp = LIM_TAKE(unsigned, s->hold_cap);
			s->gc[c][k].lp = LIM_TAKE(unsigned, s->lf_hold);
		}
	for (unsigned c = 0; c < CHAIN_CHANNELS; c++)
		s->nz[c] = LIM_TAKE(unsigned char, s->nzn);
#undef LIM_TAKE

	s->lf_w = 1.0 - exp(-2 * M_PI * LIM_LF_HZ / rate);
	s->xf_inv = 1.0 / (LIM_XFADE_BLOCKS * CHAIN_SUBBLOCK);
	chain_smooth_init(&s->ceil_db, rate, LIM_CEIL_TAU_MS, LIM_CEIL_SNAP,
			  lim_params[LIM_P_CEILING].def);
	chain_smooth_init(&s->link, rate, LIM_LINK_TAU_MS, LIM_LINK_SNAP,
			  lim_params[LIM_P_LINK].def / 100.0);
	lim_set_rel(s, exp(-1.0 / (lim_params[LIM_P_RELEASE].def * 1e-3 * rate)));
	s->att_want = lim_attack(s, lim_params[LIM_P_LOOKAHEAD].def);
	s->auto_want = lim_params[LIM_P_AUTO].def >= 0.5f;
	s->os_want = lim_params[LIM_P_OVERSAMPLE].def >= 0.5f ? 8 : 4;
	lim_reset(p);
	return CHAIN_OK;
}

static void lim_set_param(struct chain_proc *p, unsigned id, float value,
			  int snap)
{
	struct lim_priv *s = p->priv;

	switch (id) {
	case LIM_P_CEILING:
		chain_smooth_set(&s->ceil_db, value, snap);
		break;
	case LIM_P_RELEASE:
		/* a time constant: changing it moves no sample, no glide; a
		 * slower release applies at once, a faster one once the
		 * rings hold only exact entries (see lim_env_thr()) */
		{
			double rel = exp(-1.0 / (value * 1e-3 * s->rate));

			if (rel >= s->rel_coef) {
				lim_set_rel(s, rel);
				s->rel_pending = 0;
			} else {
				s->rel_pend = rel;
				s->rel_pending = 1;
			}
		}
		break;
	case LIM_P_AUTO:
		s->auto_want = value >= 0.5f;
		break;
	case LIM_P_LOOKAHEAD:
		s->att_want = lim_attack(s, value);
		break;
	case LIM_P_LINK:
		chain_smooth_set(&s->link, value / 100.0, snap);
		break;
	case LIM_P_OVERSAMPLE:
		s->os_want = value >= 0.5f ? 8 : 4;
		break;
	}
	/* before the first frame, switches take effect at once (the sub-block
	 * boundary is here) */
	if (snap && s->pos == 0)
		lim_reset(p);
}

/* The largest float <= lin: a reading at or below it needs no gain
 * reduction, so the detector may skip what cannot exceed it. */
static float lim_thr(double lin)
{
	float f = (float)lin;

	return (double)f > lin ? nextafterf(f, 0) : f;
}

/* Start warming the spare computers up at attack att. */
static void lim_xstart(struct lim_priv *s, unsigned att)
{
	unsigned sp = 1 - s->act;
	unsigned frames = 2 * att + 2 * LIM_HOLD + 1 + s->lf_hold;

	for (unsigned c = 0; c < CHAIN_CHANNELS; c++) {
		gc_config(&s->gc[c][sp], s, att);
		gc_clear(&s->gc[c][sp], s->gc[c][s->act].env);
	}
	s->xstate = LIM_WARM;
	s->xcount = (frames + CHAIN_SUBBLOCK - 1) / CHAIN_SUBBLOCK + 1;
}

/* Start of a sub-block: glides step, switches take effect. */
static void lim_subblock(struct lim_priv *s)
{
	double lo;

	chain_smooth_block(&s->ceil_db);
	chain_smooth_block(&s->link);
	/* the factor, and the ceiling it reads against (4x: lowered by
	 * LIM_OS4_MARGIN_DB); the detector is exact above the lowest
	 * ceiling of the sub-block */
	if (chain_truepeak_oversample(s->tp) != s->os_want)
		chain_truepeak_set_oversample(s->tp, s->os_want);
	s->ceil_off = s->os_want == 4 ? -LIM_OS4_MARGIN_DB * LN10_20 : 0;
	lo = s->ceil_db.start < s->ceil_db.end ? s->ceil_db.start : s->ceil_db.end;
	s->thr = lim_thr(exp(lo * LN10_20 + s->ceil_off));
	/* stereo link: while it is exactly 1, both channels read the same
	 * required gains; once every gain in the rings was written so and
	 * both computers are idle (their states then equal), one computer
	 * serves both, until the link moves again */
	if (s->link.start >= 1 && s->link.end >= 1) {
		if (s->link1_run < s->rn + CHAIN_SUBBLOCK)
			s->link1_run += CHAIN_SUBBLOCK;
		if (!s->shared && s->link1_run >= s->rn + CHAIN_SUBBLOCK &&
		    s->xstate == LIM_IDLE && s->gc[0][s->act].idle &&
		    s->gc[1][s->act].idle)
			s->shared = 1;
	} else {
		s->link1_run = 0;
		if (s->shared) {
			memcpy(s->rr[1], s->rr[0], sizeof(double) * s->rn);
			memcpy(s->ff[1], s->ff[0], sizeof(double) * s->rn);
			memcpy(s->nz[1], s->nz[0], s->nzn);
			for (unsigned k = 0; k < 2; k++)
				gc_copy(&s->gc[1][k], &s->gc[0][k], s);
			s->shared = 0;
		}
	}
	if (s->rel_pending && s->exact_run >= s->exact_need) {
		lim_set_rel(s, s->rel_pend);
		s->rel_pending = 0;
	}
	if (s->auto_want != s->auto_on) {
		if (s->auto_want)
			lim_lf_clear(s);
		s->auto_on = s->auto_want;
	}
	switch (s->xstate) {
	case LIM_IDLE:
		if (s->att_want != s->gc[0][s->act].att &&
		    s->exact_run >= s->exact_need)
			lim_xstart(s, s->att_want);
		break;
	case LIM_WARM:
		if (s->att_want != s->gc[0][1 - s->act].att)
			lim_xstart(s, s->att_want);
		else if (--s->xcount == 0)
			s->xstate = LIM_XFADE;
		break;
	case LIM_XFADE:
		if (++s->xcount == LIM_XFADE_BLOCKS) {
			s->act = 1 - s->act;
			s->xstate = LIM_IDLE;
			s->xcount = 0;
			if (s->att_want != s->gc[0][s->act].att)
				lim_xstart(s, s->att_want);
		}
		break;
	}
}

/*
 * The detector's threshold for this sub-block raised by what the gain
 * computers already hold (returns thr when that is nothing).  A required
 * gain r written now is read by a computer lag frames later and stays in
 * its hold window for hold frames, so it can act on env over the next
 * env_k = lag + hold + CHAIN_SUBBLOCK frames at most, during which env is
 * at most B = env·rel^env_k (env only ever falls below its released value:
 * env_t = min(window, S(env_t-1 · rel), LF) with S the snap to 0, and S
 * and x -> x·rel are monotone).  An entry r >= B is therefore never the
 * one that sets env: wherever it is the window's minimum, the released
 * value is at or below it.  Writing 0 instead of it (or anything >= it)
 * changes no env, no gain, no output sample.  A reading pk gives
 * r = ceil_ln - ln pk >= B whenever ln pk <= ceil_ln - B, so readings up
 * to thr_env = exp(lowest ceil_ln - B) may be skipped by the detector
 * and written as 0.  The stereo link keeps this: (1 - link)·r_c +
 * link·min(r_L, r_R) is monotone in both, and is below B only when an
 * exact r below B sets it.  Slack: rel_k carries 1e-9 of the double
 * rounding of env's recursion (~1e-13 over env_k steps), the 1e-9 in the
 * exponent the error of lim_log (2e-11) and of exp().
 *
 * This needs the computers that will read these entries to be the ones
 * whose env bounds them, at the release used for the bound: while a
 * lookahead change warms or crossfades a second computer, or a faster
 * release waits, the threshold stays thr, and the change itself waits
 * until exact_need frames were pushed so (lim_subblock(), set_param), by
 * when every entry any computer reads or holds is exact.  A skipped
 * reading never changes a gain, so the output is bit-identical to
 * reading every interval.
 */
static float lim_env_thr(const struct lim_priv *s, float thr, unsigned nc)
{
	double e, lo;
	float t;

	if (s->xstate != LIM_IDLE || s->rel_pending ||
	    s->att_want != s->gc[0][s->act].att)
		return thr;
	e = s->gc[0][s->act].env;
	if (nc > 1 && s->gc[1][s->act].env > e)
		e = s->gc[1][s->act].env;
	e *= s->rel_k;
	if (!(e < LIM_ENV_SNAP))
		return thr;
	lo = s->ceil_db.start < s->ceil_db.end ? s->ceil_db.start : s->ceil_db.end;
	t = lim_thr(exp(lo * LN10_20 + s->ceil_off - e - 1e-9));
	return t > thr ? t : thr;
}

/*
 * One computer over m frames of one sub-block, from ring index ri (the
 * newest required gains; this computer reads them lag frames late): log
 * gains into out[].  A computer that has held unity for long enough is
 * idle: its state is all zeros, and it stays so, doing nothing, while the
 * gains it reads are 0.
 */
static void gc_run(struct lim_gc *g, const struct lim_priv *s, const double *rr,
		   const double *ff, unsigned ri, unsigned m, unsigned pos,
		   double rel, int lf, double *out)
{
	const unsigned rn = s->rn;
	unsigned k = ri >= g->lag ? ri - g->lag : ri + rn - g->lag;

	for (unsigned t = 0; t < m; t++, pos++) {
		double r, f;

		if (g->idle) {
			/* the run of zeros in a tight loop: the usual case */
			while (rr[k] == 0 && (!lf || ff[k] == 0)) {
				out[t] = 0;
				if (++k == rn)
					k = 0;
				pos++;
				if (++t == m)
					return;
			}
			/* everything in both windows was 0 */
			g->idle = 0;
			g->qh = 0;
			g->ql = 1;
			g->qv[0] = 0;
			g->qp[0] = pos - 1;
			g->lh = 0;
			g->ll = 1;
			g->lv[0] = 0;
			g->lp[0] = pos - 1;
		}
		r = rr[k];
		f = lf ? ff[k] : 0;
		if (++k == rn)
			k = 0;
		if (r == 0 && f == 0 && g->ql == 1 && g->qv[g->qh] == 0 &&
		    (!lf || (g->ll == 1 && g->lv[g->lh] == 0))) {
			/* releasing: both windows hold one 0 and a 0 comes,
			 * so after the push they hold it alone, at pos
			 * (dq_push() would drop the old one, expired or not,
			 * as not below it), their minima are 0, and env is
			 * only released (it is <= 0): gc_step()'s values */
			double e = g->env * rel;

			g->qp[g->qh] = pos;
			if (lf)
				g->lp[g->lh] = pos;
			if (e > LIM_ENV_SNAP)
				e = 0;
			g->env = e;
			out[t] = gc_avg(g, e);
		} else {
			out[t] = gc_step(g, s, r, f, pos, rel, lf);
		}
		if (g->env < 0) {
			g->zrun = 0;
		} else if (++g->zrun >= g->b1 + g->b2) {
			/* the averages hold zeros (up to rounding residues) */
			memset(g->box1, 0, sizeof(double) * g->b1);
			memset(g->box2, 0, sizeof(double) * g->b2);
			g->sum1 = g->sum2 = 0;
			g->idle = 1;
		}
	}
}

/*
 * Whether the entries a computer with this lag reads for the m frames
 * from s->pos on (those written at frames pos - lag … pos - lag + m - 1,
 * in at most two sub-blocks) are all 0 by their sub-blocks' flags.  The
 * flags of every sub-block from pos - att_max on are current (nzn is
 * more than those); the entries of frames before 0 (pos < lag) are the
 * zeros of lim_reset() whatever flag a wrapped index finds.
 */
static int lim_zero(const struct lim_priv *s, unsigned c, unsigned lag,
		    unsigned m)
{
	unsigned long long f0 = s->pos - lag, f1 = f0 + m - 1;
	unsigned msk = s->nzn - 1;

	return !s->nz[c][(unsigned)(f0 / CHAIN_SUBBLOCK) & msk] &&
	       !s->nz[c][(unsigned)(f1 / CHAIN_SUBBLOCK) & msk];
}

/* gc_run() over this part for channel c's rings; an idle computer whose
 * entries are all 0 stays idle and gives 0s without reading them (as
 * gc_run()'s loop over the zeros would).  Returns 1 then, else 0. */
static int lim_gc_part(struct lim_gc *g, const struct lim_priv *s, unsigned c,
		       unsigned m, int lf, double *out)
{
	if (g->idle && lim_zero(s, c, g->lag, m)) {
		memset(out, 0, sizeof(double) * m);
		return 1;
	}
	gc_run(g, s, s->rr[c], s->ff[c], s->ri, m, (unsigned)s->pos, s->rel_coef,
	       lf, out);
	return 0;
}

/*
 * Parameters (lim_params; each converted in set_param, never per sample):
 *
 *   ceiling_dbtp  -20 … 0 dBTP, default -1: the largest true peak let
 *                 out, on the accurate reading and on libebur128's
 *                 (EBU R 128 and most streaming services ask for at most
 *                 -1 dBTP).  Glides over LIM_CEIL_TAU_MS.
 *   release_ms    1 … 1000 ms, default 100 (as Spotify's limiter): time
 *                 constant of the recovery of the gain reduction in dB
 *                 once the hold has passed.  Changes no sample: applies at
 *                 once.
 *   auto_release  off / on, default on: program-dependent release, the
 *                 LF hold of step 4 (above).  A mastering engineer expects
 *                 a limiter not to distort the bass, so it is on.
 *   lookahead_ms  1 … 10 ms, default 5: the attack, i.e. how long before
 *                 a peak the gain starts to ramp down (at least
 *                 LIM_MIN_ATTACK frames).  Shorter is punchier and
 *                 distorts more (the ramp's spectrum is wider); the
 *                 latency does not change with it.
 *   link_pct      0 … 100 %, default 100: stereo link.  At 100 % both
 *                 channels take the larger reduction (the image cannot
 *                 shift); at 0 % each channel is limited on its own
 *                 reading; between, each takes its own reduction plus
 *                 that share of the difference to the larger, in dB.
 *                 Glides over LIM_LINK_TAU_MS.
 *   oversampling  4x / 8x, default 8x: factor of the accurate reading.
 *                 4x takes ~13 % fewer instructions (music into the
 *                 limiter, tests/bench.c) and reads against a ceiling
 *                 LIM_OS4_MARGIN_DB lower; the libebur128 reading is on
 *                 either way.  The first interval after a switch is read
 *                 with both factors (chain/truepeak.c), so no peak falls
 *                 between them.
 *
 * State, per output frame m (gains are natural logs, <= 0; the same names
 * serve lim_subblock() and gc_run()):
 *
 *   tp            the dual true-peak detector; pushing input frame m
 *                 reports the interval starting at frame m - tpl, exact
 *                 whenever above thr (the sub-block's lowest ceiling, in
 *                 linear, less ceil_off at 4x)
 *   delay[c][dw]  input frame m - lat, replaced by frame m
 *   lf[c]         the LF detector: one-pole low-pass (coefficient lf_w) of
 *                 the input frame m - tpl (read from the delay line), so
 *                 that it lines up with the detector's report
 *   rr[c], ff[c]  rings (rn frames, written at ri) of the linked required
 *                 gains r and f; channel 1's are unused while shared
 *   nz[c][q]      0 when every entry written for the frames of sub-block
 *                 q (modulo nzn) was 0 in both rings, set at its start
 *   gc[c][k]      the gain computers (struct lim_gc), two per channel:
 *                 gc[c][act] is in use, gc[c][1 - act] warms up at a new
 *                 attack (xstate LIM_WARM, xcount sub-blocks to go) and is
 *                 crossfaded to (LIM_XFADE, xcount sub-blocks done)
 *   in a computer g (one channel, one attack att):
 *     lag         it reads rr/ff entry m - lag, lag = att_max - att
 *     qv, qp      deque of (r, frame) over the last hold frames, increasing
 *                 values, oldest first: its head is their minimum
 *     lv, lp      the same for f over the last lf_hold frames (auto release)
 *     env         min(those minima, env of the frame before × rel_coef),
 *                 snapped to 0 above LIM_ENV_SNAP
 *     box1, sum1  the last b1 values of env and their sum
 *     box2, sum2  the last b2 averages of box1 and their sum; sum2 / b2
 *                 is the gain of output frame m
 *     zrun, idle  frames in a row with env == 0; once the averages hold
 *                 only zeros the computer idles, skipping its work until a
 *                 required gain below 0 arrives (its windows then hold
 *                 zeros, set on waking)
 *   shared        link exactly 1 long enough for the rings, both computers
 *                 idle: gc[0] serves both channels (link1_run counts)
 *   ceil_db, link smoothers gliding per sub-block
 *   gr_db         the largest reduction of the last call, both channels
 *
 * Sums are recomputed from their rings whenever the ring index wraps, so no
 * rounding drift accumulates; each stage works a sub-block (or the part of
 * one in this call) at a time: detector, rings, computers, output.
 */
static void lim_process(struct chain_proc *p, float *const *buf, unsigned n)
{
	struct lim_priv *s = p->priv;
	const unsigned lat = s->lat, rn = s->rn, tpl = s->tpl;
	const double lf_w = s->lf_w;
	double gmin = 0;
	unsigned i = 0;

	while (i < n) {
		unsigned j = (unsigned)(s->pos % CHAIN_SUBBLOCK);
		unsigned m = CHAIN_SUBBLOCK - j;
		float x[CHAIN_CHANNELS][CHAIN_SUBBLOCK];
		double g[CHAIN_CHANNELS][CHAIN_SUBBLOCK];
		float thr;
		int lf, xf, unity, m_zero = 0;
		unsigned act, ri, dw, nc, slot, comp = 0;

		if (m > n - i)
			m = n - i;
		lf = s->auto_on;
		nc = s->shared ? 1 : CHAIN_CHANNELS;
		if (j == 0) {
			lim_subblock(s);
			lf = s->auto_on;
			nc = s->shared ? 1 : CHAIN_CHANNELS;
			/* readings up to thr_env change no gain (lim_env_thr());
			 * set once a sub-block, from the state at its start, so
			 * that nothing depends on how calls cut the frames */
			s->thr_env = lim_env_thr(s, s->thr, nc);
			if (s->thr_env > s->thr)
				s->exact_run = 0;
			else if (s->exact_run < s->exact_need)
				s->exact_run += CHAIN_SUBBLOCK;
		}
		thr = s->thr_env;
		xf = s->xstate;
		act = s->act;

		/* 1, 2: required gains of the intervals starting at pos - tpl,
		 * the LF detector, 3: stereo link; into the rings */
		ri = s->ri;
		slot = (unsigned)(s->pos / CHAIN_SUBBLOCK) & (s->nzn - 1);
		if (j == 0)
			for (unsigned c = 0; c < CHAIN_CHANNELS; c++)
				s->nz[c][slot] = 0;
		{
			unsigned dlf = s->dw + lat - tpl;  /* input frame pos - tpl */
			const int ceil_glide = !chain_smooth_steady(&s->ceil_db);
			const int link_glide = !chain_smooth_steady(&s->link);
			const double off = s->ceil_off;
			double ceil_ln = s->ceil_db.end * LN10_20 + off, link = s->link.end;

			float pkm[CHAIN_SUBBLOCK], pkc[CHAIN_SUBBLOCK * CHAIN_CHANNELS];
			double lk[CHAIN_SUBBLOCK];
			float la[CHAIN_SUBBLOCK][CHAIN_CHANNELS];  /* |LF| */
			/* the LF detectors in locals: the ring stores below
			 * could alias them (STYLE.md §3.6) */
			double lfs[CHAIN_CHANNELS];
			int per_ch = 0;
			float top = 0, atop = 0;  /* largest reading, |LF| */

			memcpy(lfs, s->lf, sizeof(lfs));
			if (dlf >= lat)
				dlf -= lat;
			/* the input, non-finite samples as 0 (|v| <= FLT_MAX
			 * is false for them), four at a time */
			for (unsigned c = 0; c < CHAIN_CHANNELS; c++) {
				const float *in = buf[c] + i;
				unsigned t = 0;

				for (; t + 4 <= m; t += 4) {
					const lim_f4 big = { FLT_MAX, FLT_MAX, FLT_MAX, FLT_MAX };
					lim_f4 v;

					memcpy(&v, in + t, sizeof(v));
					v = (lim_f4)((lim_i4)v & (lim_abs4(v) <= big));
					memcpy(x[c] + t, &v, sizeof(v));
				}
				for (; t < m; t++)
					x[c][t] = fabsf(in[t]) <= FLT_MAX ? in[t] : 0;
			}
			/* the link of each frame; while it is >= 1 throughout,
			 * only the larger channel's reading is needed (the
			 * detector then skips more) */
			for (unsigned t = 0; t < m; t++) {
				if (link_glide)
					link = chain_smooth_at(&s->link, j + t);
				lk[t] = link;
				if (!(link >= 1))
					per_ch = 1;
			}
			chain_truepeak_push_block_above(s->tp, x[0], CHAIN_SUBBLOCK, 1, m,
							thr, pkm, per_ch ? pkc : NULL);
			/* the LF detectors, both channels in the lanes of a
			 * vector (the same operations as one at a time) */
			if (lf) {
				const lim_v2 w = { lf_w, lf_w };
				const lim_v2 v0 = { lfs[0], lfs[1] };
				lim_v2 dd[CHAIN_SUBBLOCK];  /* their inputs */
				lim_v2 v = v0, av;
				lim_v2 vtop = { 0, 0 };  /* the largest |LF| */
				lim_i2 tiny = { 0, 0 };

				/* in runs up to the delay line's end */
				for (unsigned t = 0; t < m;) {
					unsigned run = lat - dlf < m - t ? lat - dlf : m - t;
					const float *d0 = s->delay[0] + dlf, *d1 = s->delay[1] + dlf;

					for (unsigned k = 0; k < run; k++, t++)
						dd[t] = (lim_v2){ d0[k], d1[k] };
					dlf += run;
					if (dlf == lat)
						dlf = 0;
				}
				/* without the flush to 0 first (a recursion a third
				 * shorter, the filter's own steps alone): the same
				 * values as long as no state falls in (0, flush),
				 * else the part is done again with it (0 stays 0,
				 * and a state is never -0) */
				for (unsigned t = 0; t < m; t++) {
					v = v + w * (dd[t] - v);
					av = lim_abs2(v);
					tiny |= (av < LIM_LF_FLUSH) & (av != 0);
					la[t][0] = (float)av[0];
					la[t][1] = (float)av[1];
					vtop = lim_max2(vtop, av);
				}
				if (tiny[0] | tiny[1]) {
					v = v0;
					vtop = (lim_v2){ 0, 0 };
					for (unsigned t = 0; t < m; t++) {
						v = v + w * (dd[t] - v);
						av = lim_abs2(v);
						v = (lim_v2)((lim_i2)v & ~(lim_i2)(av < LIM_LF_FLUSH));
						av = lim_abs2(v);
						la[t][0] = (float)av[0];
						la[t][1] = (float)av[1];
						vtop = lim_max2(vtop, av);
					}
				}
				lfs[0] = v[0];
				lfs[1] = v[1];
				/* as the largest of la[] (rounding is monotone) */
				atop = (float)(vtop[0] > vtop[1] ? vtop[0] : vtop[1]);
			} else {
				memset(la, 0, sizeof(la[0]) * m);
			}
			if (per_ch) {
				for (unsigned t = 0; t < m * CHAIN_CHANNELS; t++)
					top = pkc[t] > top ? pkc[t] : top;
			} else {
				for (unsigned t = 0; t < m; t++)
					top = pkm[t] > top ? pkm[t] : top;
			}
			if (!(top > thr) && !(atop > s->thr)) {
				/* no reading asks for a reduction: every r and f
				 * of this part is 0 (each is so set, linked or not:
				 * 0 + link · 0), written in runs up to the rings'
				 * end */
				for (unsigned t = 0; t < m;) {
					unsigned run = rn - ri < m - t ? rn - ri : m - t;

					for (unsigned c = 0; c < nc; c++) {
						memset(s->rr[c] + ri, 0, sizeof(double) * run);
						memset(s->ff[c] + ri, 0, sizeof(double) * run);
					}
					t += run;
					ri += run;
					if (ri == rn)
						ri = 0;
				}
				m_zero = 1;
			}
			for (unsigned t = 0; !m_zero && t < m; t++) {
				const float *pk = pkc + t * CHAIN_CHANNELS;
				const float *a = la[t];
				double r[CHAIN_CHANNELS], f[CHAIN_CHANNELS];

				if (ceil_glide)
					ceil_ln = chain_smooth_at(&s->ceil_db, j + t) * LN10_20 + off;
				link = lk[t];
				if (link >= 1) {
					/* both take the larger reading's gain: one log
					 * (exact above thr, as the larger of pk[]) */
					float pm = pkm[t];
					float am = a[0] > a[1] ? a[0] : a[1];

					r[0] = r[1] = pm > thr ? lim_need(pm, ceil_ln) : 0;
					f[0] = f[1] = am > s->thr ? lim_need(am, ceil_ln) : 0;
				} else {
					for (unsigned c = 0; c < CHAIN_CHANNELS; c++) {
						r[c] = pk[c] > thr ? lim_need(pk[c], ceil_ln) : 0;
						f[c] = a[c] > s->thr ? lim_need(a[c], ceil_ln) : 0;
					}
					if (link > 0) {
						double rm = r[0] < r[1] ? r[0] : r[1];
						double fm = f[0] < f[1] ? f[0] : f[1];

						for (unsigned c = 0; c < CHAIN_CHANNELS; c++) {
							r[c] += link * (rm - r[c]);
							f[c] += link * (fm - f[c]);
						}
					}
				}
				for (unsigned c = 0; c < nc; c++) {
					s->rr[c][ri] = r[c];
					s->ff[c][ri] = f[c];
					if (r[c] != 0 || f[c] != 0)
						s->nz[c][slot] = 1;
				}
				if (++ri == rn)
					ri = 0;
			}
			memcpy(s->lf, lfs, sizeof(lfs));
		}

		/* 4, 5: the gain computers (one for both channels when shared),
		 * crossfading during a lookahead change; an idle computer
		 * whose entries to read are all 0 (lim_zero()) gives 0s */
		unity = 1;
		for (unsigned c = 0; c < nc; c++) {
			int z = lim_gc_part(&s->gc[c][act], s, c, m, lf, g[c]);

			if (xf != LIM_IDLE) {
				double h[CHAIN_SUBBLOCK];
				int zh = lim_gc_part(&s->gc[c][1 - act], s, c, m, lf, h);

				if (xf == LIM_XFADE) {
					for (unsigned t = 0; t < m; t++)
						g[c][t] += (h[t] - g[c][t]) *
							   ((double)(s->xcount * CHAIN_SUBBLOCK + j + t + 1) * s->xf_inv);
					z = z && zh;
				}
			}
			if (!z)
				unity = 0;
		}
		/* 6: the delayed audio times the gain (one exp per computer);
		 * unity: every gain 1, the delay alone */
		if (!unity) {
			unity = 1;
			comp = nc;
		}
		for (unsigned c = 0; c < comp; c++)
			for (unsigned t = 0; t < m; t++) {
				double v = g[c][t];

				if (v < 0) {
					if (v < gmin)
						gmin = v;
					g[c][t] = lim_exp(v);
					unity = 0;
				} else {
					g[c][t] = 1;
				}
			}
		dw = s->dw;
		if (unity) {
			/* the delay alone, in runs up to the ring's end */
			for (unsigned t = 0; t < m;) {
				unsigned run = lat - dw < m - t ? lat - dw : m - t;

				for (unsigned c = 0; c < CHAIN_CHANNELS; c++) {
					memcpy(buf[c] + i + t, s->delay[c] + dw, sizeof(float) * run);
					memcpy(s->delay[c] + dw, x[c] + t, sizeof(float) * run);
				}
				t += run;
				dw += run;
				if (dw == lat)
					dw = 0;
			}
		}
		for (unsigned t = 0; !unity && t < m; t++) {
			for (unsigned c = 0; c < CHAIN_CHANNELS; c++) {
				float y = s->delay[c][dw];
				double lin = g[c < nc ? c : 0][t];

				s->delay[c][dw] = x[c][t];
				if (lin != 1)
					y = (float)(y * lin);
				buf[c][i + t] = y;
			}
			if (++dw == lat)
				dw = 0;
		}
		s->dw = dw;
		s->ri = ri;
		s->pos += m;
		i += m;
	}

	/* never let a NaN live on in recursive state (STYLE.md §3.5) */
	for (unsigned c = 0; c < CHAIN_CHANNELS; c++)
		for (unsigned k = 0; k < 2; k++) {
			struct lim_gc *gc = &s->gc[c][k];

			if (isnan(gc->env) || isnan(gc->sum1) || isnan(gc->sum2))
				gc_clear(gc, 0);
		}
	s->gr_db = (float)(-gmin / LN10_20);
}

static unsigned lim_latency(const struct chain_proc *p)
{
	const struct lim_priv *s = p->priv;

	return s->lat;
}

static float lim_gain_reduction_db(const struct chain_proc *p)
{
	const struct lim_priv *s = p->priv;

	return s->gr_db;
}

const struct chain_proc_ops chain_limiter_ops = {
	.name = "limiter",
	.glide_ms = LIM_CEIL_TAU_MS,
	.label = "True-peak limiter",
	.bypass = CHAIN_BYPASS_ON,
	.priv_size = sizeof(struct lim_priv),
	.params = lim_params,
	.n_params = LIM_N_PARAMS,
	.init = lim_init,
	.set_param = lim_set_param,
	.process = lim_process,
	.reset = lim_reset,
	.latency = lim_latency,
	.gain_reduction_db = lim_gain_reduction_db,
	.destroy = lim_destroy,
};

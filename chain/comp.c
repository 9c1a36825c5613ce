/*
 * termaster — the glue (bus) compressor.
 *
 * A feed-forward compressor in the log domain after D. Giannoulis,
 * M. Massberg and J. D. Reiss, "Digital Dynamic Range Compressor Design —
 * A Tutorial and Analysis", J. Audio Eng. Soc. 60(6), 2012 (GMR below):
 * the gain computer with a quadratic soft knee, then a smooth branching peak
 * detector run on the gain computer's output (the "log domain" detector
 * placement of GMR, so attack and release are exponentials in dB).  Per
 * frame:
 *
 *  1. sidechain: the detector hears each channel through an optional
 *     second-order Butterworth high-pass (sc_hpf_hz; a trapezoidal state
 *     variable filter, A. Simper, "Linear Trapezoidal Integrated State
 *     Variable Filter", Cytomic technical paper, 2013).  At its minimum,
 *     20 Hz, the filter is out and the detector hears the raw samples.  The
 *     audio path never goes through it;
 *  2. peak-hold rectifier: the level of a channel is the largest |sample|
 *     of its sidechain over a window of whole sub-blocks covering at least
 *     COMP_HOLD_MS, plus the current sub-block up to this frame (12.5 to
 *     13.8 ms at 44.1 kHz), kept as a ring of per-sub-block maxima on the
 *     absolute frame counter.  A steady tone above 1 / (2 · COMP_HOLD_MS) =
 *     40 Hz therefore reads as a constant level, its sample peak, and is
 *     compressed without gain ripple (no intermodulation from the gain;
 *     the static curve is exact on sines), where GMR's detector on the
 *     instantaneous level settles below the curve (by 0.5 dB for a 1 kHz
 *     tone at -6 dBFS with the defaults) and ripples at twice the tone's
 *     frequency, the more the shorter the release.  The price: the
 *     release starts that window after the level falls; the attack is not
 *     delayed.  The level in dBFS is
 *     x_G = 20 log10 peak, by log2f, taken only when the held peak moves;
 *  3. gain computer (GMR's quadratic soft knee): with threshold T,
 *     ratio R and knee width W, the reduction x_L = x_G - y_G in dB is
 *        0                                   2 (x_G - T) <  -W
 *        (1 - 1/R) (x_G - T + W/2)² / (2W)   2 |x_G - T| <=  W
 *        (1 - 1/R) (x_G - T)                 2 (x_G - T) >   W;
 *  4. level detector (GMR's smooth branching peak detector), in dB:
 *        y += (1 - a_A) (x_L - y)   when x_L > y   (attack)
 *        y += (1 - a_R) (x_L - y)   otherwise      (release)
 *     with a = exp(-1 / (tau · fs)), tau = attack_ms or release_ms: a step
 *     of x_L reaches 63 % (1 - 1/e) of its size in dB after tau;
 *  5. auto release (auto_release = on; program dependent, a dual time
 *     constant release in the spirit of the two-capacitor release of
 *     analogue bus compressors).  A memory envelope m follows x_L with the
 *     release time constant in both directions (never above y):
 *        m += (1 - a_R) (x_L - m),   m = min(m, y);
 *     the release then heads for max(x_L, m) with a four times faster
 *     time constant, release_ms / 4:
 *        y += (1 - a_F) (max(x_L, m) - y)   otherwise.
 *     A transient much shorter than release_ms barely charges m, so its
 *     reduction recovers with release_ms / 4; after compression sustained
 *     for several release_ms, m holds nearly all of it, and the reduction
 *     recovers as m discharges, with release_ms (slightly slower: the fast
 *     stage follows m with a lag of release_ms / 4).  m runs also while
 *     the switch is off, so switching never steps the gain;
 *  6. stereo link, in the gain-reduction domain: a linked detector (3–5)
 *     runs on the louder channel's level, one independent detector per
 *     channel on its own, and channel c is reduced by
 *        GR_c = link · y_linked + (1 - link) · y_c.
 *     At link 100 % only the linked detector runs (one exp per frame, a
 *     log when the level moves), at 0 % only the two independent ones, in
 *     between all three; a detector that wakes
 *     up starts from its peer's state, which is continuous because its
 *     weight is 0 at that moment;
 *  7. gain: g_c = 10^((makeup_db - GR_c) / 20) on the compressed (wet)
 *     path, and the parallel mix out = (1 - mix) · x + mix · g_c · x =
 *     x · (1 + mix · (g_c - 1)); the dry path is the input itself (latency
 *     0, so it is time-aligned).
 *
 * gain_reduction_db() reports the largest GR_c (steps 4–6, in dB, before
 * makeup and mix) of the last process() call.
 *
 * Smoothing: threshold, ratio (as the slope 1 - 1/R, linear in dB of
 * reduction), knee, makeup, mix, link and the high-pass frequency (in
 * octaves) glide through chain/smooth.h with COMP_TAU_MS; attack, release
 * and auto release are time constants and move no sample when changed.
 *
 * Cost: the detectors run frame by frame into a gain-in-dB buffer of one
 * sub-block, then the gains are applied in a second pass, four frames at a
 * time with an inline exp2 (no libm call, no branch); log2f runs only when
 * the held peak moves; non-finite input is looked for four samples at a
 * time, once per process() call.  The hold ring's maximum is scanned for
 * only when the sub-block leaving the window held it, and the smoothers'
 * steps are skipped while all of them have landed.  The linked detector
 * with auto release off
 * and the parameters at rest (the defaults) runs in closed form between
 * moves of the held peak (comp_run_linked()), free of the recursion's
 * frame-to-frame chain of dependent operations.  Measured with the
 * bench's settings (defaults, threshold -18.5 dB: 4 dB mean reduction on
 * gen_music() at -6 dBFS, 44.1 kHz stereo, gcc 12 -O2, one core of a
 * shared 2-core VM, chain_process() minus the all-off chain, best of 6
 * interleaved pinned runs): 4.5 ns per frame (8.3 ns before the closed
 * form and the four-wide gain pass), 85 instructions (callgrind; was 120).
 * With the EQ before it (the bench's full chain, threshold -9.55 dB,
 * 10 s in blocks of 1024, gcc 12 -O3, CPU time, best of 11): 68
 * instructions and 3.8 ns, from 77 and 4.2 ns before the ring, smoother
 * and non-finite changes above.
 * The other modes (sidechain filter, auto release, link below 100 %,
 * gliding parameters) run the recursion frame by frame; not measured
 * again.
 *
 * Everything is per frame on the processor's frame counter and per
 * sub-block of CHAIN_SUBBLOCK frames on absolute positions, never on call
 * boundaries, so the output does not depend on the call sizes.  Recursive
 * state is kept out of the subnormal range: the detectors snap to 0 below
 * COMP_Y_SNAP dB and the filter's state is flushed below COMP_FLUSH once
 * per sub-block (STYLE.md §3.5).  Non-finite input samples are replaced by
 * 0 (as the limiter does) and sidechain levels are capped at COMP_CEIL
 * (the filter, in double, turns FLT_MAX into levels beyond float), so the
 * detectors stay finite; for finite input below 2e37 (FLT_MAX over the
 * largest makeup) the output is finite.
 */
#include "config.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "chain/chain.h"
#include "chain/smooth.h"

#define COMP_TAU_MS 10.0        /* parameter glides */
#define COMP_HOLD_MS 12.5       /* peak hold: tones above 40 Hz ripple-free */
#define COMP_RING_MAX 160       /* sub-blocks of hold at 384 kHz: 150 */
#define COMP_FLOOR 1e-10f       /* level floor, -200 dBFS */
#define COMP_CEIL 1e10f         /* level ceiling, +200 dBFS (and NaN) */
#define COMP_Y_SNAP 1e-6        /* dB of reduction that count as none */
#define COMP_FLUSH 1e-20        /* filter state that counts as 0 */
#define COMP_AUTO_FAST 4.0      /* auto release: transients recover 4× faster */
#define COMP_HPF_OFF 20.0f      /* sc_hpf_hz at which the filter is out */
#define COMP_DB_PER_LOG2 6.020599913279624      /* 20 log10(2) */
#define COMP_LOG2_PER_DB 0.16609640474436813    /* log2(10) / 20 */

enum {
	COMP_P_THRESHOLD,
	COMP_P_RATIO,
	COMP_P_KNEE,
	COMP_P_ATTACK,
	COMP_P_RELEASE,
	COMP_P_AUTO,
	COMP_P_MAKEUP,
	COMP_P_SC_HPF,
	COMP_P_LINK,
	COMP_P_MIX,
	COMP_N_PARAMS
};

static const char *const comp_off_on[] = { "off", "on", NULL };

static const struct chain_param comp_params[COMP_N_PARAMS] = {
	[COMP_P_THRESHOLD] = { "threshold_db", "Threshold", "dB", -60.0f, 0.0f, -18.0f, 0.1f },
	[COMP_P_RATIO] = { "ratio", "Ratio", "", 1.0f, 20.0f, 2.0f, 0.1f },
	[COMP_P_KNEE] = { "knee_db", "Knee", "dB", 0.0f, 24.0f, 6.0f, 0.1f },
	[COMP_P_ATTACK] = { "attack_ms", "Attack", "ms", 0.1f, 100.0f, 10.0f, 0.1f },
	[COMP_P_RELEASE] = { "release_ms", "Release", "ms", 10.0f, 2000.0f, 200.0f, 1.0f },
	[COMP_P_AUTO] = { "auto_release", "Auto release", "", 0.0f, 1.0f, 0.0f, 1.0f,
			  comp_off_on },
	[COMP_P_MAKEUP] = { "makeup_db", "Makeup", "dB", 0.0f, 24.0f, 0.0f, 0.1f },
	[COMP_P_SC_HPF] = { "sc_hpf_hz", "Sidechain HPF", "Hz", 20.0f, 500.0f, 20.0f, 1.0f },
	[COMP_P_LINK] = { "link_pct", "Stereo link", "%", 0.0f, 100.0f, 100.0f, 1.0f },
	[COMP_P_MIX] = { "mix_pct", "Mix", "%", 0.0f, 100.0f, 100.0f, 1.0f },
};

/* One level detector (steps 4–5): reduction y and memory m, in dB >= 0. */
struct comp_det {
	double y;
	double m;
};

/* Sidechain high-pass state, one channel (Simper's ic1eq, ic2eq). */
struct comp_svf {
	double ic1, ic2;
};

/* Per-sub-block constants of the detectors, steps 3–5. */
struct comp_tc {
	double att;     /* 1 - a_A */
	double rel;     /* 1 - a_R (also the memory's) */
	double fast;    /* 1 - a_F, auto release */
	int autorel;
	/* a_A^n and a_R^n, n = 0 … CHAIN_SUBBLOCK (comp_run_linked()) */
	double pow_att[CHAIN_SUBBLOCK + 1], pow_rel[CHAIN_SUBBLOCK + 1];
};

/*
 * State glossary:
 *
 *   pos          frames since init/reset; j = pos % CHAIN_SUBBLOCK
 *   ring[c][]    |sidechain| maxima of the last `nring` whole sub-blocks
 *   ring_max[c]  their maximum, updated at each sub-block start
 *   cur[c]       maximum of the current sub-block so far
 *   svf[c]       sidechain high-pass; zero while the filter is out
 *   dk           the linked detector (valid while run_k)
 *   dc[c]        the independent detectors (valid while run_c)
 *   thr … hpf    parameter smoothers (hpf in log2 Hz)
 *   gr_db        largest reduction of the last process()
 */
struct comp_priv {
	double rate;
	unsigned long long pos;
	unsigned nring, ring_i;
	float ring[CHAIN_CHANNELS][COMP_RING_MAX];
	float ring_max[CHAIN_CHANNELS];
	float cur[CHAIN_CHANNELS];
	struct comp_svf svf[CHAIN_CHANNELS];
	double hpf_a1, hpf_a2, hpf_a3;   /* coefficients of this sub-block */
	double hpf_off;                  /* log2(COMP_HPF_OFF) */
	int hpf_on;
	struct comp_det dk, dc[CHAIN_CHANNELS];
	int run_k, run_c;
	struct comp_tc tc;
	/* the closed-form segment of comp_run_linked(), kept across calls
	 * so that the output does not depend on their sizes */
	int seg_on;                      /* valid: continue it */
	unsigned seg_n;
	int seg_att;                     /* attack table, else release */
	float seg_h;                     /* held level it is for */
	double seg_x, seg_y0, seg_m0;
	struct chain_smooth thr, slope, knee, makeup, mix, link, hpf;
	int rest;                        /* every smoother has landed and no
					  * parameter was set since: their
					  * steps would change nothing */
	float gr_db;
};

/* ---- parameters ---- */

static double comp_coef(double ms, double rate)
{
	return 1.0 - exp(-1.0 / (ms * 1e-3 * rate));
}

/* pw[n] = (1 - c)^n by repeated products (n ulps at most: 4e-15) */
static void comp_powers(double *pw, double c)
{
	pw[0] = 1.0;
	for (unsigned n = 1; n <= CHAIN_SUBBLOCK; n++)
		pw[n] = pw[n - 1] * (1.0 - c);
}

static void comp_set_param(struct chain_proc *p, unsigned id, float value, int snap)
{
	struct comp_priv *s = p->priv;

	if (!isfinite(value))
		return;
	s->seg_on = 0;  /* the detector's constants may change */
	s->rest = 0;
	switch (id) {
	case COMP_P_THRESHOLD:
		chain_smooth_set(&s->thr, value, snap);
		break;
	case COMP_P_RATIO:
		chain_smooth_set(&s->slope, 1.0 - 1.0 / (value >= 1.0f ? value : 1.0), snap);
		break;
	case COMP_P_KNEE:
		chain_smooth_set(&s->knee, value, snap);
		break;
	case COMP_P_ATTACK:
		s->tc.att = comp_coef(value, s->rate);
		comp_powers(s->tc.pow_att, s->tc.att);
		break;
	case COMP_P_RELEASE:
		s->tc.rel = comp_coef(value, s->rate);
		s->tc.fast = comp_coef(value / COMP_AUTO_FAST, s->rate);
		comp_powers(s->tc.pow_rel, s->tc.rel);
		break;
	case COMP_P_AUTO:
		s->tc.autorel = value >= 0.5f;
		break;
	case COMP_P_MAKEUP:
		chain_smooth_set(&s->makeup, value, snap);
		break;
	case COMP_P_SC_HPF:
		chain_smooth_set(&s->hpf, log2(value), snap);
		break;
	case COMP_P_LINK:
		chain_smooth_set(&s->link, value * 0.01, snap);
		break;
	case COMP_P_MIX:
		chain_smooth_set(&s->mix, value * 0.01, snap);
		break;
	}
}

/* ---- the pieces, per frame ---- */

/* Step 1: one high-pass sample (Simper 2013, "SvfLinearTrapOptimised2"). */
static inline double comp_svf_hp(struct comp_svf *f, double x, double a1,
				 double a2, double a3)
{
	double v3 = x - f->ic2;
	double v1 = a1 * f->ic1 + a2 * v3;
	double v2 = f->ic2 + a2 * f->ic1 + a3 * v3;

	f->ic1 = 2.0 * v1 - f->ic1;
	f->ic2 = 2.0 * v2 - f->ic2;
	return x - M_SQRT2 * v1 - v2;
}

/* Step 2's levels of one frame: |x|, or |x| through the sidechain
 * high-pass when hpf (finite float input is below FLT_MAX: only the
 * filter, in double, can leave the float range, so that is held). */
static inline void comp_levels(int hpf, struct comp_svf *fl, struct comp_svf *fr,
			       double a1, double a2, double a3, float xl, float xr,
			       float *hl, float *hr)
{
	if (hpf) {
		float l = (float)fabs(comp_svf_hp(fl, xl, a1, a2, a3));
		float r = (float)fabs(comp_svf_hp(fr, xr, a1, a2, a3));

		*hl = l < COMP_CEIL ? l : COMP_CEIL;
		*hr = r < COMP_CEIL ? r : COMP_CEIL;
	} else {
		*hl = fabsf(xl);
		*hr = fabsf(xr);
	}
}

/* Step 3: reduction in dB for level xg (dBFS); hw = W/2, inv2w = 1/(2W). */
static inline double comp_gc(double xg, double thr, double slope, double hw,
			     double inv2w)
{
	double d = xg - thr;

	if (d <= -hw)
		return 0.0;
	if (d >= hw)
		return slope * d;
	d += hw;
	return slope * d * d * inv2w;
}

/*
 * Steps 4–5: one detector frame; returns the new reduction in dB.  With
 * auto release off, `relc` is the release coefficient and the target is
 * x_L; with it on, `relc` is the fast one and the target max(x_L, m), which
 * equals x_L whenever x_L > y >= m, so one target serves both branches.
 */
static inline double comp_detect(struct comp_det *d, double xl, double att,
				 double relc, double rel, int autorel)
{
	double y = d->y, m = d->m, t, e, ya, yr;

	m += rel * (xl - m);
	t = autorel && m > xl ? m : xl;
	/* both branches, then the choice: keeps the compare off the path
	 * from one frame's y to the next */
	e = t - y;
	ya = y + att * e;
	yr = y + relc * e;
	y = xl > y ? ya : yr;
	y = y < COMP_Y_SNAP ? 0.0 : y;
	m = m > y ? y : m;      /* so m snaps with y */
	d->y = y;
	d->m = m;
	return y;
}

/*
 * Step 7: 2^x for the gains, four frames at a time.  2^x = 2^n · 2^f with
 * n = round(x) taken from the low bits of x + 1.5·2^52 (a double holds
 * integers there: its bit pattern is that of 1.5·2^52 plus n, so adding
 * 1023 and shifting by 52 leaves the exponent field of 2^n), f = x − n in
 * [-0.5, 0.5], all in double, so f is exact; then f and 2^n go to float
 * (2^n exactly, f within 3e-8) and 2^f is the degree-6 minimax polynomial
 * of Cephes exp2f.c (S. L. Moshier), evaluated in float four lanes wide:
 * relative error of the float gain at most 1.1e-7 (1e-6 dB; measured
 * against exp2 every 7e-4 over -120 … 10), float's own rounding being
 * 6e-8; the reference model in tests/test_comp.c bounds the outputs.
 * Inline, without a libm call or a branch (GCC/Clang vector extension:
 * SSE2 on x86-64, scalar code elsewhere).  x is clamped to
 * -120 (-722 dB) so that the float gain stays normal.
 */
typedef double comp_v2 __attribute__((vector_size(16)));
typedef int64_t comp_v2i __attribute__((vector_size(16)));
typedef float comp_v4 __attribute__((vector_size(16)));

static inline void comp_exp2_split(comp_v2 x, comp_v2 *f, comp_v2 *sc)
{
	const comp_v2 magic = { 6755399441055744.0, 6755399441055744.0 };
	const comp_v2 lo = { -120.0, -120.0 };
	comp_v2i keep = x > lo;
	comp_v2 t;

	x = (comp_v2)(((comp_v2i)x & keep) | ((comp_v2i)lo & ~keep));
	t = x + magic;
	*f = x - (t - magic);
	*sc = (comp_v2)(((comp_v2i)t + 1023) << 52);
}

static inline comp_v4 comp_exp2(comp_v2 x0, comp_v2 x1)
{
	comp_v2 f0, f1, s0, s1;
	comp_v4 f, sc, p;

	comp_exp2_split(x0, &f0, &s0);
	comp_exp2_split(x1, &f1, &s1);
	f = (comp_v4){ (float)f0[0], (float)f0[1], (float)f1[0], (float)f1[1] };
	sc = (comp_v4){ (float)s0[0], (float)s0[1], (float)s1[0], (float)s1[1] };
	p = 1.0f + f * (6.931472028550421e-1f + f * (2.402264791363012e-1f +
	    f * (5.550332471162809e-2f + f * (9.618437357674640e-3f +
	    f * (1.339887440266574e-3f + f * 1.535336188319500e-4f)))));
	return p * sc;
}


/* ---- sub-block bookkeeping ---- */

static void comp_hpf_coefs(struct comp_priv *s, double log2_hz)
{
	double f = exp2(log2_hz), g, k = M_SQRT2;

	if (f > 0.45 * s->rate)
		f = 0.45 * s->rate;
	g = tan(M_PI * f / s->rate);
	s->hpf_a1 = 1.0 / (1.0 + g * (g + k));
	s->hpf_a2 = g * s->hpf_a1;
	s->hpf_a3 = g * s->hpf_a2;
}

/* A smoother whose next step changes nothing. */
static int comp_landed(const struct chain_smooth *c)
{
	return c->start == c->end && c->end == c->target;
}

/* Start of a sub-block: the hold ring, the smoothers, which filter and
 * detectors run, and the flush of near-zero filter state.  The ring's
 * maximum is scanned for only when the sub-block leaving the window held
 * it. */
static void comp_subblock(struct comp_priv *s)
{
	unsigned nr = s->nring;

	for (unsigned c = 0; c < CHAIN_CHANNELS; c++) {
		/* four running maxima side by side, then theirs */
		float m4[4] = { COMP_FLOOR, COMP_FLOOR, COMP_FLOOR, COMP_FLOOR }, mx;
		const float *rg = s->ring[c];
		float out = rg[s->ring_i], in = s->cur[c];
		unsigned k = 0;

		s->ring[c][s->ring_i] = in;
		s->cur[c] = COMP_FLOOR;
		if (out < s->ring_max[c]) {
			/* the maximum is still in the ring: no scan (every
			 * entry is a number >= COMP_FLOOR, so this is exact) */
			s->ring_max[c] = in > s->ring_max[c] ? in : s->ring_max[c];
			continue;
		}
		for (; k + 4 <= nr; k += 4)
			for (unsigned q = 0; q < 4; q++)
				m4[q] = rg[k + q] > m4[q] ? rg[k + q] : m4[q];
		for (; k < nr; k++)
			m4[0] = rg[k] > m4[0] ? rg[k] : m4[0];
		mx = m4[0] > m4[1] ? m4[0] : m4[1];
		mx = m4[2] > mx ? m4[2] : mx;
		mx = m4[3] > mx ? m4[3] : mx;
		s->ring_max[c] = mx;
	}
	s->ring_i = s->ring_i + 1 == nr ? 0 : s->ring_i + 1;

	if (s->rest)
		goto smoothed;
	chain_smooth_block(&s->thr);
	chain_smooth_block(&s->slope);
	chain_smooth_block(&s->knee);
	chain_smooth_block(&s->makeup);
	chain_smooth_block(&s->mix);
	chain_smooth_block(&s->link);
	chain_smooth_block(&s->hpf);
	s->rest = comp_landed(&s->thr) && comp_landed(&s->slope) && comp_landed(&s->knee) &&
		  comp_landed(&s->makeup) && comp_landed(&s->mix) && comp_landed(&s->link) &&
		  comp_landed(&s->hpf);
smoothed:
	/* the high-pass is out only while it rests at 20 Hz */
	if (chain_smooth_steady(&s->hpf) && s->hpf.end == s->hpf.target &&
	    s->hpf.target == s->hpf_off) {
		if (s->hpf_on)
			memset(s->svf, 0, sizeof(s->svf));
		s->hpf_on = 0;
	} else {
		if (!s->hpf_on || !chain_smooth_steady(&s->hpf))
			comp_hpf_coefs(s, s->hpf.end);
		s->hpf_on = 1;
		for (unsigned c = 0; c < CHAIN_CHANNELS; c++) {
			struct comp_svf *f = &s->svf[c];

			if (fabs(f->ic1) < COMP_FLUSH)
				f->ic1 = 0.0;
			if (fabs(f->ic2) < COMP_FLUSH)
				f->ic2 = 0.0;
		}
	}

	/* detectors: the linked one runs unless link rests at 0, the
	 * independent ones unless it rests at 1; a waking detector starts
	 * from its peer (its weight is 0 at this moment) */
	{
		int need_k = !(s->link.start == 0.0 && s->link.end == 0.0);
		int need_c = !(s->link.start == 1.0 && s->link.end == 1.0);

		if (need_k && !s->run_k) {
			s->dk.y = fmax(s->dc[0].y, s->dc[1].y);
			s->dk.m = fmax(s->dc[0].m, s->dc[1].m);
		}
		if (need_c && !s->run_c)
			s->dc[0] = s->dc[1] = s->dk;
		s->run_k = need_k;
		s->run_c = need_c;
	}
}

/* ---- the frame loop ---- */

enum { COMP_LINKED, COMP_INDEP, COMP_BLEND };

/* Step 7 for frames [0, m) of sub-block position j0, from the gains in dB
 * gdl, gdr (room for CHAIN_SUBBLOCK + 3; gdr unused when linked). */
static inline __attribute__((always_inline)) void
comp_gain(struct comp_priv *s, float *L, float *R, unsigned j0, unsigned m,
	  double *gdl, double *gdr, int glide, int mode, double mix)
{
	/* step 7: out = x · (1 + mix · (g - 1)), four frames at a time (a
	 * short tail computes gains from defined values, and drops them) */
	for (unsigned k = m; k < m + 3; k++)
		gdl[k] = gdr[k] = 0.0;
	for (unsigned k = 0; k < m; k += 4) {
		const comp_v2 sc = { COMP_LOG2_PER_DB, COMP_LOG2_PER_DB };
		comp_v4 gl = comp_exp2((comp_v2){ gdl[k], gdl[k + 1] } * sc,
				       (comp_v2){ gdl[k + 2], gdl[k + 3] } * sc), gr = gl;
		comp_v4 x;

		if (mode != COMP_LINKED)
			gr = comp_exp2((comp_v2){ gdr[k], gdr[k + 1] } * sc,
				       (comp_v2){ gdr[k + 2], gdr[k + 3] } * sc);
		if (glide) {
			comp_v4 mx;

			for (unsigned q = 0; q < 4; q++)
				mx[q] = (float)chain_smooth_at(&s->mix, j0 + k + q);
			gl = 1.0f + mx * (gl - 1.0f);
			gr = 1.0f + mx * (gr - 1.0f);
		} else if (mix != 1.0) {
			gl = 1.0f + (float)mix * (gl - 1.0f);
			gr = 1.0f + (float)mix * (gr - 1.0f);
		}
		if (k + 4 <= m) {
			memcpy(&x, L + k, sizeof(x));
			x *= gl;
			memcpy(L + k, &x, sizeof(x));
			memcpy(&x, R + k, sizeof(x));
			x *= gr;
			memcpy(R + k, &x, sizeof(x));
		} else {
			for (unsigned q = 0; k + q < m; q++) {
				L[k + q] *= gl[q];
				R[k + q] *= gr[q];
			}
		}
	}
}


/*
 * m <= CHAIN_SUBBLOCK frames from sub-block position j0, in two passes:
 * the sidechain and the detectors (recursive, frame after frame) write the
 * gain in dB of each frame, then the gains are applied (independent
 * frames, which the CPU overlaps).  `glide`: parameters interpolated per
 * frame; `hpf`: the sidechain filter is in; `mode`: which detectors run.
 * Called with constants for the common cases so that the compiler builds a
 * lean loop for each (always_inline).  Returns the largest reduction.
 */
static inline __attribute__((always_inline)) float
comp_run(struct comp_priv *s, float *L, float *R, unsigned j0, unsigned m,
	 int glide, int hpf, int mode, int autorel)
{
	const double att = s->tc.att, rel = s->tc.rel;
	const double relc = autorel ? s->tc.fast : rel;
	const double a1 = s->hpf_a1, a2 = s->hpf_a2, a3 = s->hpf_a3;
	struct comp_svf fl = s->svf[0], fr = s->svf[1];
	struct comp_det dk = s->dk, dl = s->dc[0], dr = s->dc[1];
	float curl = s->cur[0], curr = s->cur[1];
	const float rml = s->ring_max[0], rmr = s->ring_max[1];
	double thr = s->thr.end, slope = s->slope.end, w = s->knee.end;
	double makeup = s->makeup.end, mix = s->mix.end, link = s->link.end;
	double hw = 0.5 * w, inv2w = w > 0.0 ? 0.5 / w : 0.0;
	/* level cache: log and gain computer only when the held peak moves */
	float hkl = -1.0f, hkr = -1.0f;
	double xgl = 0.0, xgr = 0.0, xll = 0.0, xlr = 0.0, xlk = 0.0;
	double grmax = 0.0;
	double gdl[CHAIN_SUBBLOCK + 3], gdr[CHAIN_SUBBLOCK + 3];

	s->seg_on = 0;  /* comp_run_linked() starts afresh from dk */
	for (unsigned k = 0; k < m; k++) {
		float xl = L[k], xr = R[k], hl, hr;

		if (glide) {
			unsigned j = j0 + k;

			thr = chain_smooth_at(&s->thr, j);
			slope = chain_smooth_at(&s->slope, j);
			w = chain_smooth_at(&s->knee, j);
			makeup = chain_smooth_at(&s->makeup, j);
			link = chain_smooth_at(&s->link, j);
			hw = 0.5 * w;
			inv2w = w > 0.0 ? 0.5 / w : 0.0;
		}
		/* step 2 */
		comp_levels(hpf, &fl, &fr, a1, a2, a3, xl, xr, &hl, &hr);
		curl = hl > curl ? hl : curl;
		curr = hr > curr ? hr : curr;
		hl = curl > rml ? curl : rml;
		hr = curr > rmr ? curr : rmr;

		if (mode == COMP_LINKED) {
			float h = hl > hr ? hl : hr;
			double gr;

			if (h != hkl) {
				xgl = COMP_DB_PER_LOG2 * log2f(h);
				hkl = h;
				xlk = comp_gc(xgl, thr, slope, hw, inv2w);
			} else if (glide) {
				xlk = comp_gc(xgl, thr, slope, hw, inv2w);
			}
			gr = comp_detect(&dk, xlk, att, relc, rel, autorel);
			grmax = gr > grmax ? gr : grmax;
			gdl[k] = makeup - gr;
		} else {
			double grl, grr;
			int moved = glide;

			if (hl != hkl) {
				xgl = COMP_DB_PER_LOG2 * log2f(hl);
				hkl = hl;
				moved = 1;
			}
			if (hr != hkr) {
				xgr = COMP_DB_PER_LOG2 * log2f(hr);
				hkr = hr;
				moved = 1;
			}
			if (moved) {
				xll = comp_gc(xgl, thr, slope, hw, inv2w);
				xlr = comp_gc(xgr, thr, slope, hw, inv2w);
				/* the louder channel's level: gc is monotonic */
				xlk = xll > xlr ? xll : xlr;
			}
			grl = comp_detect(&dl, xll, att, relc, rel, autorel);
			grr = comp_detect(&dr, xlr, att, relc, rel, autorel);
			if (mode == COMP_BLEND) {
				double yk = comp_detect(&dk, xlk, att, relc, rel, autorel);

				grl = link * yk + (1.0 - link) * grl;
				grr = link * yk + (1.0 - link) * grr;
			}
			grmax = grl > grmax ? grl : grmax;
			grmax = grr > grmax ? grr : grmax;
			gdl[k] = makeup - grl;
			gdr[k] = makeup - grr;
		}
	}

	comp_gain(s, L, R, j0, m, gdl, gdr, glide, mode, mix);

	s->svf[0] = fl;
	s->svf[1] = fr;
	s->dk = dk;
	s->dc[0] = dl;
	s->dc[1] = dr;
	s->cur[0] = curl;
	s->cur[1] = curr;
	return (float)grmax;
}

/*
 * The linked detector with auto release off and the parameters at rest,
 * in closed form.  While the held level, and so the detector's input x,
 * stays the same, steps 4–5 have a fixed branch (y below x stays below it,
 * y above stays above) and constant coefficients, so after n frames of
 * such a segment that started from (y0, m0):
 *	y = x + (y0 - x)·a^n,     a = a_A if x > y0, else a_R,
 *	m = min(x + (m0 - x)·a_R^n, y)
 * (m follows x with a_R; from below, with y rising, it is clamped by y
 * from the frame it would pass y on, as the recursion's min() does, and
 * from above it never passes y, which moves with the same a_R or faster).
 * A segment ends when x moves, at the sub-block's end, and when y falls
 * below COMP_Y_SNAP: then y = m = 0 and a new segment starts there, as
 * the recursion's snap does.  Per frame that is a multiply and an add with
 * no dependence on the frame before (the recursion is a chain of five
 * dependent operations per frame), and m only at a segment's end.  The
 * powers come from tables (comp_powers()): the same values as the
 * recursion to a few 1e-15.
 */
static inline __attribute__((always_inline)) float
comp_run_linked(struct comp_priv *s, float *L, float *R, unsigned j0, unsigned m, int hpf)
{
	const double *pa = s->tc.pow_att, *pr = s->tc.pow_rel;
	const double a1 = s->hpf_a1, a2 = s->hpf_a2, a3 = s->hpf_a3;
	struct comp_svf fl = s->svf[0], fr = s->svf[1];
	float curl = s->cur[0], curr = s->cur[1];
	const float rml = s->ring_max[0], rmr = s->ring_max[1];
	const double thr = s->thr.end, slope = s->slope.end, w = s->knee.end;
	const double makeup = s->makeup.end, mix = s->mix.end;
	const double hw = 0.5 * w, inv2w = w > 0.0 ? 0.5 / w : 0.0;
	/* the segment: input x, start (y0, m0), frames n, power table pw;
	 * a new one at each sub-block (n stays within the tables) */
	int cont = s->seg_on && j0 != 0;
	double x = cont ? s->seg_x : 0.0, y0 = cont ? s->seg_y0 : s->dk.y;
	double m0 = cont ? s->seg_m0 : s->dk.m, y = s->dk.y, dy = y0 - x;
	const double *pw = cont && s->seg_att ? pa : pr;
	unsigned n = cont ? s->seg_n : 0;
	float hk = cont ? s->seg_h : -1.0f;
	double grmax = 0.0;
	double gdl[CHAIN_SUBBLOCK + 3], gdr[CHAIN_SUBBLOCK + 3];

	for (unsigned k = 0; k < m; k++) {
		float xl = L[k], xr = R[k], hl, hr, h;

		comp_levels(hpf, &fl, &fr, a1, a2, a3, xl, xr, &hl, &hr);
		curl = hl > curl ? hl : curl;
		curr = hr > curr ? hr : curr;
		hl = curl > rml ? curl : rml;
		hr = curr > rmr ? curr : rmr;
		h = hl > hr ? hl : hr;
		if (h != hk) {
			/* x moves: close the segment, open the next */
			double xg = COMP_DB_PER_LOG2 * log2f(h), mm;

			hk = h;
			mm = x + (m0 - x) * pr[n];
			m0 = mm < y ? mm : y;
			y0 = y;
			x = comp_gc(xg, thr, slope, hw, inv2w);
			dy = y0 - x;
			pw = x > y0 ? pa : pr;
			n = 0;
		}
		n++;
		y = x + dy * pw[n];
		if (y < COMP_Y_SNAP) {
			/* snapped: both start again from 0 */
			y = y0 = m0 = 0.0;
			dy = -x;
			pw = x > 0.0 ? pa : pr;
			n = 0;
		}
		grmax = y > grmax ? y : grmax;
		gdl[k] = makeup - y;
	}
	{
		double mm = x + (m0 - x) * pr[n];

		s->dk.m = mm < y ? mm : y;
		s->dk.y = y;
	}
	s->seg_on = 1;
	s->seg_n = n;
	s->seg_att = pw == pa;
	s->seg_h = hk;
	s->seg_x = x;
	s->seg_y0 = y0;
	s->seg_m0 = m0;
	comp_gain(s, L, R, j0, m, gdl, gdr, 0, COMP_LINKED, mix);
	s->svf[0] = fl;
	s->svf[1] = fr;
	s->cur[0] = curl;
	s->cur[1] = curr;
	return (float)grmax;
}

static int comp_steady(const struct comp_priv *s)
{
	return chain_smooth_steady(&s->thr) && chain_smooth_steady(&s->slope) &&
	       chain_smooth_steady(&s->knee) && chain_smooth_steady(&s->makeup) &&
	       chain_smooth_steady(&s->mix) && chain_smooth_steady(&s->link);
}

static void comp_process(struct chain_proc *p, float *const *buf, unsigned n)
{
	struct comp_priv *s = p->priv;
	float *L = buf[0], *R = buf[1];
	unsigned long long pos = s->pos;
	float gr = 0.0f, g;
	unsigned i = 0;

	/* non-finite input: 0, once for the whole call (the loops below
	 * read only finite samples) */
	chain_clear_nonfinite(L, R, n);
	while (i < n) {
		unsigned j = (unsigned)(pos % CHAIN_SUBBLOCK);
		unsigned m = CHAIN_SUBBLOCK - j;
		int mode, au;

		if (m > n - i)
			m = n - i;
		if (j == 0)
			comp_subblock(s);
		mode = !s->run_c ? COMP_LINKED : !s->run_k ? COMP_INDEP : COMP_BLEND;
		au = s->tc.autorel;
		if (!comp_steady(s))
			g = comp_run(s, L + i, R + i, j, m, 1, s->hpf_on, mode, au);
		else if (mode == COMP_LINKED && !s->hpf_on && !au)
			g = comp_run_linked(s, L + i, R + i, j, m, 0);
		else if (mode == COMP_LINKED && !au)
			g = comp_run_linked(s, L + i, R + i, j, m, 1);
		else if (mode == COMP_LINKED && !s->hpf_on)
			g = comp_run(s, L + i, R + i, j, m, 0, 0, COMP_LINKED, 1);
		else if (mode == COMP_LINKED)
			g = comp_run(s, L + i, R + i, j, m, 0, 1, COMP_LINKED, au);
		else if (mode == COMP_INDEP && !s->hpf_on)
			g = comp_run(s, L + i, R + i, j, m, 0, 0, COMP_INDEP, au);
		else
			g = comp_run(s, L + i, R + i, j, m, 0, s->hpf_on, mode, au);
		gr = g > gr ? g : gr;
		i += m;
		pos += m;
	}
	s->pos = pos;
	s->gr_db = gr;
}

/* ---- life cycle ---- */

static void comp_reset(struct chain_proc *p)
{
	struct comp_priv *s = p->priv;

	for (unsigned c = 0; c < CHAIN_CHANNELS; c++) {
		for (unsigned k = 0; k < COMP_RING_MAX; k++)
			s->ring[c][k] = COMP_FLOOR;
		s->ring_max[c] = COMP_FLOOR;
		s->cur[c] = COMP_FLOOR;
	}
	s->ring_i = 0;
	memset(s->svf, 0, sizeof(s->svf));
	memset(&s->dk, 0, sizeof(s->dk));
	memset(s->dc, 0, sizeof(s->dc));
	chain_smooth_set(&s->thr, s->thr.target, 1);
	chain_smooth_set(&s->slope, s->slope.target, 1);
	chain_smooth_set(&s->knee, s->knee.target, 1);
	chain_smooth_set(&s->makeup, s->makeup.target, 1);
	chain_smooth_set(&s->mix, s->mix.target, 1);
	chain_smooth_set(&s->link, s->link.target, 1);
	chain_smooth_set(&s->hpf, s->hpf.target, 1);
	/* comp_subblock() decides these at frame 0; all state is zero, so
	 * the detectors agree whichever run */
	s->run_k = s->run_c = 0;
	s->hpf_on = 0;
	s->seg_on = 0;
	s->rest = 0;
	s->pos = 0;
	s->gr_db = 0.0f;
}

static int comp_init(struct chain_proc *p, double rate, unsigned max_frames)
{
	struct comp_priv *s = p->priv;
	const struct chain_param *t = comp_params;
	unsigned nr;

	(void)max_frames;
	s->rate = rate;
	nr = (unsigned)ceil(COMP_HOLD_MS * 1e-3 * rate / CHAIN_SUBBLOCK);
	s->nring = nr < 1 ? 1 : nr > COMP_RING_MAX ? COMP_RING_MAX : nr;
	chain_smooth_init(&s->thr, rate, COMP_TAU_MS, 1e-3, t[COMP_P_THRESHOLD].def);
	chain_smooth_init(&s->slope, rate, COMP_TAU_MS, 1e-5, 0.0);
	chain_smooth_init(&s->knee, rate, COMP_TAU_MS, 1e-3, t[COMP_P_KNEE].def);
	chain_smooth_init(&s->makeup, rate, COMP_TAU_MS, 1e-4, t[COMP_P_MAKEUP].def);
	chain_smooth_init(&s->mix, rate, COMP_TAU_MS, 1e-5, 1.0);
	chain_smooth_init(&s->link, rate, COMP_TAU_MS, 1e-5, 1.0);
	s->hpf_off = log2(COMP_HPF_OFF);
	chain_smooth_init(&s->hpf, rate, COMP_TAU_MS, 1e-4, s->hpf_off);
	for (unsigned k = 0; k < COMP_N_PARAMS; k++)
		comp_set_param(p, k, t[k].def, 1);
	comp_reset(p);
	return CHAIN_OK;
}

static unsigned comp_latency(const struct chain_proc *p)
{
	(void)p;
	return 0;
}

static float comp_gain_reduction_db(const struct chain_proc *p)
{
	const struct comp_priv *s = p->priv;

	return s->gr_db;
}

static void comp_destroy(struct chain_proc *p)
{
	(void)p;
}

const struct chain_proc_ops chain_comp_ops = {
	.name = "comp",
	.glide_ms = COMP_TAU_MS,
	.label = "Compressor",
	.bypass = CHAIN_BYPASS_OFF,
	.priv_size = sizeof(struct comp_priv),
	.params = comp_params,
	.n_params = COMP_N_PARAMS,
	.init = comp_init,
	.set_param = comp_set_param,
	.process = comp_process,
	.reset = comp_reset,
	.latency = comp_latency,
	.gain_reduction_db = comp_gain_reduction_db,
	.destroy = comp_destroy,
};

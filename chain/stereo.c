/*
 * termaster — stereo: width, bass mono and balance.
 *
 * In mid/side, M = (L + R)/2, S = (L − R)/2, per frame in double:
 *
 *   S' = w · HP4(S)             w = width_pct / 100 (0 mono … 2 side ×2)
 *   M' = AP2(M)                 (only with bass mono on)
 *   L' = gL · (M' + S'),  R' = gR · (M' − S')
 *
 * Width scales the side: 0 % gives L = R = (L + R)/2, 100 % leaves the
 * image alone, 200 % doubles the side (+6 dB) and keeps the mid.
 *
 * Bass mono (bass_mono_hz; under 1 Hz, i.e. 0, is off): the side below the
 * frequency is removed by a 4th-order Linkwitz-Riley high-pass HP4 (two
 * cascaded 2nd-order Butterworth high-passes, Q = 1/√2; Linkwitz, "Active
 * crossover networks for noncoincident drivers", JAES 24(1), 1976): -24.6
 * dB an octave below, -0.034 dB two octaves above.  Phase: alone, HP4
 * would turn the side against the mid (+41° two octaves above the corner).
 * The mid therefore goes through the 2nd-order all-pass AP2 that an LR4
 * crossover sums to, AP2 = LP4 + HP4 = (s² − √2 s + 1)/(s² + √2 s + 1), and
 * since LP4 and HP4 are in phase, HP4 = AP2 · ω⁴/(1 + ω⁴) with a real,
 * positive factor: mid and side keep their relation at every frequency
 * (no image smear), the side is only scaled by (f/fc)⁴/(1 + (f/fc)⁴), and
 * the whole signal takes AP2's phase (0° at DC, −180° at fc, −360° at the
 * top): the same as the common crossover "mono maker" that sums LP4 of the
 * mid with HP4 of each channel, and inaudible as a phase shift common to
 * both channels.  The filters are designed as TPT state-variable filters
 * (Zavalishin, "The Art of VA Filter Design", 2018, ch. 4; Simper, "Linear
 * trapezoidal integrated SVF", Cytomic 2013), which stay smooth while the
 * frequency glides, and run as the equivalent transposed direct form II
 * sections, whose state is carried through the SVF's when the frequency
 * moves (st_coefs()).  Switching bass mono on or off crossfades between
 * the filtered and the unfiltered mid/side (time constant 20 ms; the
 * filters start from zero state when it comes on); changing its frequency
 * glides the frequency in octaves (20 ms), updating the coefficients once
 * per sub-block.
 *
 * Balance (-100 … +100, negative to the left): constant-power law,
 * θ = (b + 1)·π/4 with b = balance/100, gL = √2·cos θ, gR = √2·sin θ:
 * unity at the centre, gL² + gR² = 2 everywhere (the power of an
 * uncorrelated stereo signal stays the same), at ±100 one side is silent
 * and the other +3.01 dB.
 *
 * Every parameter glides (chain/smooth.h, per absolute sub-block, so the
 * output does not depend on call sizes).  At the defaults (100 %, off, 0)
 * and at rest the processor leaves the samples untouched, bit for bit,
 * with no latency.  Recursive state is flushed below 1e-20 and cleared if
 * non-finite at each sub-block start (STYLE.md §3.5); non-finite input is
 * passed on as it came only at the defaults (bit-exact passthrough) and
 * otherwise replaced by 0.
 *
 * Cost at 44.1 kHz stereo on one x86-64 core (a shared 2-core VM under
 * load, gcc 12 -O2, chain_process() minus the all-off chain): 0.3
 * ns/frame at the defaults, 2.2 ns with width or balance, 4.1 ns with bass
 * mono 120 Hz and width 120 % at rest (three second-order sections, the
 * mid's all-pass and the first side high-pass in one two-lane vector; 64
 * instructions a frame by callgrind, where the sections as SVFs took 100
 * and 7.3 ns); more while the bass mono fades or a factor glides
 * (per-frame factors; not measured).  At rest the smoothers' steps are
 * skipped and, bass mono fully in, non-finite input is looked for once
 * per call: 58 instructions a frame (from 61), the time unchanged at
 * about 4.1 ns.  That loop is bound by the sections' recursion (add,
 * multiply, add, add from one frame's output to the next: 16 cycles),
 * not by the instruction count; summing s2 before the feedback term would
 * cut it to 12 cycles (0.35 ns measured) but changes the output's
 * rounding, so the sums keep their order.
 */
#include "config.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "chain/chain.h"
#include "chain/smooth.h"

#define ST_WIDTH_TAU_MS 10.0
#define ST_BAL_TAU_MS 10.0
#define ST_BM_TAU_MS 20.0       /* bass mono on/off crossfade */
#define ST_FREQ_TAU_MS 20.0     /* bass mono frequency glide */
#define ST_SNAP 1e-4            /* linear factors */
#define ST_FREQ_SNAP 1e-3       /* octaves */
#define ST_BM_MIN_HZ 1.0        /* below: bass mono off */
#define ST_TINY 1e-20
#define ST_K M_SQRT2            /* SVF damping 1/Q, Butterworth */

enum { ST_P_WIDTH, ST_P_BASS, ST_P_BAL, ST_N_PARAMS };

static const struct chain_param st_params[ST_N_PARAMS] = {
	[ST_P_WIDTH] = { "width_pct", "Width", "%", 0.0f, 200.0f, 100.0f, 1.0f },
	[ST_P_BASS] = { "bass_mono_hz", "Bass mono", "Hz", 0.0f, 300.0f, 0.0f, 1.0f },
	[ST_P_BAL] = { "balance", "Balance", "", -100.0f, 100.0f, 0.0f, 1.0f },
};

/*
 * One second-order section in transposed direct form II (the state the
 * filters run on): y = b0·x + s1, s1 ← b1·x − a1·y + s2, s2 ← b2·x − a2·y.
 */
struct st_tdf {
	double s1, s2;
};

/* The coefficients of this sub-block: the shared denominator (as −a1,
 * −a2), the all-pass and high-pass numerators, and the maps that carry the
 * sections' states over to the next coefficients (see st_coefs()). */
struct st_lin {
	double na1, na2;             /* −a1, −a2 */
	double ap[3], hp[3];         /* b0, b1, b2 */
	double tap[2][2], thp[2][2]; /* state of the SVF → TDF-II state */
	double iap[2][2], ihp[2][2]; /* TDF-II state → state of the SVF */
};

struct st_priv {
	double rate;
	struct chain_smooth width;   /* w, linear */
	struct chain_smooth gl, gr;  /* balance gains */
	struct chain_smooth bm;      /* 0 unfiltered … 1 filtered */
	struct chain_smooth oct;     /* log2 of the bass mono frequency */
	int bm_run;                  /* filters running */
	int rest;                    /* every smoother has landed, none set
				      * since: their steps change nothing */
	struct st_lin lin;           /* coefficients (shared) */
	struct st_tdf ap, hp1, hp2;  /* mid all-pass, side high-passes */
	unsigned long long pos;      /* frames since init/reset */
};

/* T⁻¹ of the 2×2 matrix t into inv (det(t) != 0: T is the observability
 * matrix of a minimal realisation). */
static void st_inv2(double t[2][2], double inv[2][2])
{
	double d = t[0][0] * t[1][1] - t[0][1] * t[1][0];

	inv[0][0] = t[1][1] / d;
	inv[0][1] = -t[0][1] / d;
	inv[1][0] = -t[1][0] / d;
	inv[1][1] = t[0][0] / d;
}

/* s ← t · (inv · s): a section's state from the old coefficients' form to
 * the new one's, through the SVF's integrator states. */
static void st_carry(struct st_tdf *f, double inv[2][2], double t[2][2])
{
	double i1 = inv[0][0] * f->s1 + inv[0][1] * f->s2;
	double i2 = inv[1][0] * f->s1 + inv[1][1] * f->s2;

	f->s1 = t[0][0] * i1 + t[0][1] * i2;
	f->s2 = t[1][0] * i1 + t[1][1] * i2;
}

/*
 * The coefficients for the corner 2^oct Hz.  The filter is designed as
 * Simper's TPT state-variable filter (the module header), whose integrator
 * states (ic1, ic2) keep their meaning while the frequency glides; it runs
 * as the equivalent transposed direct form II section, which costs five
 * multiplies and four adds where the SVF costs nine and six.  The SVF as a
 * state-space system, x = (ic1, ic2), input v0:
 *   x' = A·x + B·v0,   y = C·x + D·v0
 *   v1 = a2·v0 + a1·ic1 − a2·ic2,  v2 = a3·v0 + a2·ic1 + (1 − a3)·ic2,
 *   x' = 2·(v1, v2) − x,  all-pass y = v0 − 2k·v1,  high-pass v0 − k·v1 − v2;
 * its transfer function b/a follows from the Markov parameters h0 = D,
 * h1 = C·B, h2 = C·A·B: a1 = −tr A, a2 = det A, b0 = h0, b1 = h1 + a1·h0,
 * b2 = h2 + a1·h1 + a2·h0.  The TDF-II state is s = T·x with the rows
 * T = (C; C·A + a1·C) (s1 is y − b0·v0; s2 is what s1 takes next, less
 * its input terms).  When the coefficients change (`carry`), each state
 * goes back to x with the old T⁻¹ and forth with the new T: the output is
 * that of the SVF with its coefficients switched at the sub-block, as
 * before, up to rounding (T's condition number is about 3/g: 350 at
 * 120 Hz, 4·10⁴ at 1 Hz, 44.1 kHz; the carried state is off by that many
 * ulps, -268 dB and -227 dB of the state, during a glide only;
 * tests/test_stereo.c checks a glide against the SVFs themselves).  The
 * direct form's larger round-off at low corners stays far below the float
 * output: at rest, with corners of 1, 5, 20, 120 and 300 Hz, its output
 * and the SVFs' differ by at most half a float ulp (3e-8 on 4 s of
 * gen_music() peaking at 0.8).
 */
static void st_coefs(struct st_priv *s, double oct, int carry)
{
	struct st_lin *q = &s->lin;
	double f = exp2(oct), g, a1, a2, a3;
	const double k = ST_K;
	double A[2][2], B[2], cap[3], chp[3], ta[2], tr, det;
	double iap_old[2][2], ihp_old[2][2];

	if (f > 0.45 * s->rate)
		f = 0.45 * s->rate;
	g = tan(M_PI * f / s->rate);
	a1 = 1.0 / (1.0 + g * (g + k));
	a2 = g * a1;
	a3 = g * a2;
	/* x' = A·x + B·v0 (2·v − x) */
	A[0][0] = 2.0 * a1 - 1.0;
	A[0][1] = -2.0 * a2;
	A[1][0] = 2.0 * a2;
	A[1][1] = 1.0 - 2.0 * a3;
	B[0] = 2.0 * a2;
	B[1] = 2.0 * a3;
	/* outputs as (D, C): all-pass v0 − 2k·v1, high-pass v0 − k·v1 − v2 */
	cap[0] = 1.0 - 2.0 * k * a2;
	cap[1] = -2.0 * k * a1;
	cap[2] = 2.0 * k * a2;
	chp[0] = 1.0 - k * a2 - a3;
	chp[1] = -k * a1 - a2;
	chp[2] = k * a2 - (1.0 - a3);
	tr = A[0][0] + A[1][1];
	det = A[0][0] * A[1][1] - A[0][1] * A[1][0];
	if (carry) {
		memcpy(iap_old, q->iap, sizeof(iap_old));
		memcpy(ihp_old, q->ihp, sizeof(ihp_old));
	}
	q->na1 = tr;
	q->na2 = -det;
	for (int o = 0; o < 2; o++) {
		const double *c = o ? chp : cap;
		double *b = o ? q->hp : q->ap;
		double (*t)[2] = o ? q->thp : q->tap;
		double h1 = c[1] * B[0] + c[2] * B[1], h2;

		ta[0] = c[1] * A[0][0] + c[2] * A[1][0];   /* C·A */
		ta[1] = c[1] * A[0][1] + c[2] * A[1][1];
		h2 = ta[0] * B[0] + ta[1] * B[1];
		b[0] = c[0];
		b[1] = h1 - tr * c[0];
		b[2] = h2 - tr * h1 + det * c[0];
		t[0][0] = c[1];
		t[0][1] = c[2];
		t[1][0] = ta[0] - tr * c[1];
		t[1][1] = ta[1] - tr * c[2];
	}
	st_inv2(q->tap, q->iap);
	st_inv2(q->thp, q->ihp);
	if (carry) {
		st_carry(&s->ap, iap_old, q->tap);
		st_carry(&s->hp1, ihp_old, q->thp);
		st_carry(&s->hp2, ihp_old, q->thp);
	}
}

static void st_clear_filters(struct st_priv *s)
{
	memset(&s->ap, 0, sizeof(s->ap));
	memset(&s->hp1, 0, sizeof(s->hp1));
	memset(&s->hp2, 0, sizeof(s->hp2));
}

static void st_reset(struct chain_proc *p)
{
	struct st_priv *s = p->priv;

	chain_smooth_set(&s->width, s->width.target, 1);
	chain_smooth_set(&s->gl, s->gl.target, 1);
	chain_smooth_set(&s->gr, s->gr.target, 1);
	chain_smooth_set(&s->bm, s->bm.target, 1);
	chain_smooth_set(&s->oct, s->oct.target, 1);
	st_coefs(s, s->oct.end, 0);
	st_clear_filters(s);
	s->bm_run = s->bm.end != 0.0;
	s->rest = 0;
	s->pos = 0;
}

static int st_init(struct chain_proc *p, double rate, unsigned max_frames)
{
	struct st_priv *s = p->priv;

	(void)max_frames;
	s->rate = rate;
	chain_smooth_init(&s->width, rate, ST_WIDTH_TAU_MS, ST_SNAP, 1.0);
	chain_smooth_init(&s->gl, rate, ST_BAL_TAU_MS, ST_SNAP, 1.0);
	chain_smooth_init(&s->gr, rate, ST_BAL_TAU_MS, ST_SNAP, 1.0);
	chain_smooth_init(&s->bm, rate, ST_BM_TAU_MS, ST_SNAP, 0.0);
	chain_smooth_init(&s->oct, rate, ST_FREQ_TAU_MS, ST_FREQ_SNAP, log2(100.0));
	st_reset(p);
	return CHAIN_OK;
}

static void st_set_param(struct chain_proc *p, unsigned id, float value,
			 int snap)
{
	struct st_priv *s = p->priv;

	s->rest = 0;
	switch (id) {
	case ST_P_WIDTH:
		chain_smooth_set(&s->width, value / 100.0, snap);
		break;
	case ST_P_BASS:
		if (value >= ST_BM_MIN_HZ) {
			/* from fully off, start at the new frequency: the
			 * crossfade starts from the unfiltered signal */
			int fresh = snap || (!s->bm_run && s->bm.end == 0.0);

			chain_smooth_set(&s->oct, log2(value), fresh);
			if (fresh)
				st_coefs(s, s->oct.end, 0);
			chain_smooth_set(&s->bm, 1.0, snap);
		} else {
			chain_smooth_set(&s->bm, 0.0, snap);
		}
		if (snap) {
			st_clear_filters(s);
			s->bm_run = s->bm.end != 0.0;
		}
		break;
	case ST_P_BAL: {
		double b = value / 100.0, th = (b + 1.0) * M_PI / 4.0;
		double l = M_SQRT2 * cos(th), r = M_SQRT2 * sin(th);

		if (value == 0.0f)
			l = r = 1.0;  /* exactly: the default is bit-exact */
		if (value >= 100.0f)
			l = 0;        /* exactly: cos(π/2) rounds to 6e-17 */
		chain_smooth_set(&s->gl, l, snap);
		chain_smooth_set(&s->gr, r, snap);
		break;
	}
	}
}

static double st_clean(double v)
{
	return isfinite(v) && fabs(v) >= ST_TINY ? v : 0.0;
}

static void st_clean_tdf(struct st_tdf *f)
{
	f->s1 = st_clean(f->s1);
	f->s2 = st_clean(f->s2);
}

/*
 * The sections run in transposed direct form II (st_coefs()).  The mid's
 * all-pass and the side's first high-pass share the denominator and their
 * inputs arrive together, so they run side by side in one two-lane vector
 * (GCC/Clang vector extension: SSE2 on x86-64, scalar code elsewhere); the
 * second high-pass, fed by the first, runs alone.
 */
typedef double st_v2 __attribute__((vector_size(16)));

/* The sections' states back from the frame loops' registers: the
 * all-pass and first high-pass side by side (s1, s2), the second
 * high-pass (h1, h2). */
static inline void st_save(struct st_priv *s, st_v2 s1, st_v2 s2, double h1, double h2)
{
	s->ap.s1 = s1[0];
	s->ap.s2 = s2[0];
	s->hp1.s1 = s1[1];
	s->hp1.s2 = s2[1];
	s->hp2.s1 = h1;
	s->hp2.s2 = h2;
}

/*
 * Frames [i, i + m) of sub-block position j.  `glide`: some factor moves
 * in this sub-block (per-frame values), else constants.  `bass`: the bass
 * mono filters run.  Both are constants at each call site, so the
 * compiler makes four loops of this one.
 */
static inline void st_frames(struct st_priv *s, float *L, float *R, unsigned i,
			     unsigned j, unsigned m, int glide, int bass)
{
	double w = s->width.end, gl = s->gl.end, gr = s->gr.end, bm = s->bm.end;
	const struct st_lin *q = &s->lin;
	const st_v2 b0 = { q->ap[0], q->hp[0] }, b1 = { q->ap[1], q->hp[1] };
	const st_v2 b2 = { q->ap[2], q->hp[2] };
	const double na1 = q->na1, na2 = q->na2;
	const double c0 = q->hp[0], c1 = q->hp[1], c2 = q->hp[2];
	st_v2 s1 = { s->ap.s1, s->hp1.s1 }, s2 = { s->ap.s2, s->hp1.s2 };
	double h1 = s->hp2.s1, h2 = s->hp2.s2;

	for (unsigned k = 0; k < m; k++) {
		double l = L[i + k], r = R[i + k], mid, side;

		if (glide) {
			w = chain_smooth_at(&s->width, j + k);
			gl = chain_smooth_at(&s->gl, j + k);
			gr = chain_smooth_at(&s->gr, j + k);
			bm = chain_smooth_at(&s->bm, j + k);
		}
		l = isfinite(l) ? l : 0.0;
		r = isfinite(r) ? r : 0.0;
		mid = (l + r) * 0.5;
		side = (l - r) * 0.5;
		if (bass) {
			const st_v2 v0 = { mid, side };
			st_v2 y = b0 * v0 + s1;
			double x = y[1], hp;      /* first high-pass out */

			s1 = b1 * v0 + na1 * y + s2;
			s2 = b2 * v0 + na2 * y;
			hp = c0 * x + h1;
			h1 = c1 * x + na1 * hp + h2;
			h2 = c2 * x + na2 * hp;
			mid += bm * (y[0] - mid);     /* all-pass */
			side += bm * (hp - side);     /* LR4 high-pass */
		}
		side *= w;
		L[i + k] = (float)(gl * (mid + side));
		R[i + k] = (float)(gr * (mid - side));
	}
	st_save(s, s1, s2, h1, h2);
}

/*
 * The common case, bass mono fully in and every factor at rest: frames
 * [i, i + m) with the constants folded into the sections.  The input's
 * ½ of M = (L + R)/2 and S = (L − R)/2 goes into the first sections'
 * numerators (a power of two: the states stay exactly those of
 * st_frames(), so either loop can take over at a sub-block).  Non-finite
 * input is cleared beforehand (chain_clear_nonfinite()), here unless
 * `cleared` (st_process() did it for the whole call).
 */
static void st_frames_mono(struct st_priv *s, float *L, float *R, unsigned i, unsigned m,
			   int cleared)
{
	const struct st_lin *q = &s->lin;
	const double w = s->width.end, gl = s->gl.end, gr = s->gr.end;
	const st_v2 b0 = { 0.5 * q->ap[0], 0.5 * q->hp[0] };
	const st_v2 b1 = { 0.5 * q->ap[1], 0.5 * q->hp[1] };
	const st_v2 b2 = { 0.5 * q->ap[2], 0.5 * q->hp[2] };
	const double na1 = q->na1, na2 = q->na2;
	const double c0 = q->hp[0], c1 = q->hp[1], c2 = q->hp[2];
	st_v2 s1 = { s->ap.s1, s->hp1.s1 }, s2 = { s->ap.s2, s->hp1.s2 };
	double h1 = s->hp2.s1, h2 = s->hp2.s2;

	L += i;
	R += i;
	if (!cleared)
		chain_clear_nonfinite(L, R, m);
	for (unsigned k = 0; k < m; k++) {
		double l = L[k], r = R[k];
		const st_v2 v0 = { l + r, l - r };
		st_v2 y = b0 * v0 + s1;
		double x = y[1], hp, side, mid = y[0];

		s1 = b1 * v0 + na1 * y + s2;
		s2 = b2 * v0 + na2 * y;
		hp = c0 * x + h1;
		h1 = c1 * x + na1 * hp + h2;
		h2 = c2 * x + na2 * hp;
		side = w * hp;
		L[k] = (float)(gl * (mid + side));
		R[k] = (float)(gr * (mid - side));
	}
	st_save(s, s1, s2, h1, h2);
}

/* A smoother whose next step changes nothing. */
static int st_landed(const struct chain_smooth *c)
{
	return c->start == c->end && c->end == c->target;
}

/*
 * State glossary:
 *   width, gl, gr  per-frame factors (linear, gliding)
 *   bm      crossfade of the bass mono filters, 0 (out) … 1 (in)
 *   oct     bass mono corner, log2 Hz; lin follows it per sub-block
 *   ap      SVF on the mid, all-pass output m − 2k·bp
 *   hp1,2   SVFs on the side, high-pass output v − k·bp − lp, cascaded
 *   bm_run  the filters run (bm not at rest at 0); cleared when bm lands
 *           on 0, so they start from zero state when bass mono returns
 *   rest    the smoothers' steps are skipped (set_param clears it)
 */
static void st_process(struct chain_proc *p, float *const *buf, unsigned n)
{
	struct st_priv *s = p->priv;
	float *L = buf[0], *R = buf[1];
	unsigned long long pos = s->pos;
	unsigned i = 0;
	/* at rest with bass mono fully in, every sub-block of this call
	 * takes st_frames_mono(): non-finite input cleared once for all */
	int cleared = s->rest && s->bm_run && s->bm.end == 1.0;

	if (cleared)
		chain_clear_nonfinite(L, R, n);
	while (i < n) {
		unsigned j = (unsigned)(pos % CHAIN_SUBBLOCK);
		unsigned m = CHAIN_SUBBLOCK - j;
		int glide;

		if (m > n - i)
			m = n - i;
		if (j == 0) {
			if (!s->rest) {
				chain_smooth_block(&s->width);
				chain_smooth_block(&s->gl);
				chain_smooth_block(&s->gr);
				chain_smooth_block(&s->bm);
				chain_smooth_block(&s->oct);
				if (!chain_smooth_steady(&s->oct))
					st_coefs(s, s->oct.end, s->bm_run);
				s->rest = st_landed(&s->width) && st_landed(&s->gl) &&
					  st_landed(&s->gr) && st_landed(&s->bm) &&
					  st_landed(&s->oct);
			}
			if (s->bm.start != 0.0 || s->bm.end != 0.0)
				s->bm_run = 1;
			st_clean_tdf(&s->ap);
			st_clean_tdf(&s->hp1);
			st_clean_tdf(&s->hp2);
		}
		glide = !(chain_smooth_steady(&s->width) && chain_smooth_steady(&s->gl) &&
			  chain_smooth_steady(&s->gr) && chain_smooth_steady(&s->bm));

		if (s->bm_run) {
			if (glide)
				st_frames(s, L, R, i, j, m, 1, 1);
			else if (s->bm.end == 1.0)
				st_frames_mono(s, L, R, i, m, cleared);
			else
				st_frames(s, L, R, i, j, m, 0, 1);
			if (!glide && s->bm.end == 0.0 && j + m == CHAIN_SUBBLOCK) {
				/* faded out: stop, and start clean next time */
				s->bm_run = 0;
				st_clear_filters(s);
			}
		} else if (glide) {
			st_frames(s, L, R, i, j, m, 1, 0);
		} else if (s->width.end != 1.0 || s->gl.end != 1.0 || s->gr.end != 1.0) {
			st_frames(s, L, R, i, j, m, 0, 0);
		}
		/* else: the defaults, at rest: untouched */
		i += m;
		pos += m;
	}
	s->pos = pos;
}

static unsigned st_latency(const struct chain_proc *p)
{
	(void)p;
	return 0;
}

static void st_destroy(struct chain_proc *p)
{
	(void)p;
}

const struct chain_proc_ops chain_stereo_ops = {
	.name = "stereo",
	.glide_ms = ST_FREQ_TAU_MS,
	.label = "Stereo",
	.bypass = CHAIN_BYPASS_ON,
	.priv_size = sizeof(struct st_priv),
	.params = st_params,
	.n_params = ST_N_PARAMS,
	.init = st_init,
	.set_param = st_set_param,
	.process = st_process,
	.reset = st_reset,
	.latency = st_latency,
	.gain_reduction_db = NULL,
	.destroy = st_destroy,
};

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
 * both channels.  The filters are TPT state-variable filters (Zavalishin,
 * "The Art of VA Filter Design", 2018, ch. 4; Simper, "Linear trapezoidal
 * integrated SVF", Cytomic 2013), which stay smooth while the frequency
 * glides.  Switching bass mono on or off crossfades between the filtered
 * and the unfiltered mid/side (time constant 20 ms; the filters start from
 * zero state when it comes on); changing its frequency glides the
 * frequency in octaves (20 ms), updating the coefficients once per
 * sub-block.
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
 * load): 0.3 ns/frame at the defaults, 2.2 ns with width or balance,
 * 7–8 ns with bass mono (three second-order recursions; the mid's filter
 * and the first side filter share a two-lane vector).
 */
#include "config.h"

#include <math.h>
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

/* TPT state-variable filter state (two integrators) */
struct st_svf {
	double ic1, ic2;
};

/* The SVF as linear forms of (v0, ic1, ic2), see st_frames(). */
struct st_lin {
	double ap_d, ap_1, ap_2;     /* all-pass output */
	double hp_d, hp_1, hp_2;     /* high-pass output */
	double m1, n11, n12;         /* ic1' */
	double m2, n21, n22;         /* ic2' */
};

struct st_priv {
	double rate;
	struct chain_smooth width;   /* w, linear */
	struct chain_smooth gl, gr;  /* balance gains */
	struct chain_smooth bm;      /* 0 unfiltered … 1 filtered */
	struct chain_smooth oct;     /* log2 of the bass mono frequency */
	int bm_run;                  /* filters running */
	struct st_lin lin;           /* SVF coefficients (shared) */
	struct st_svf ap, hp1, hp2;  /* mid all-pass, side high-passes */
	unsigned long long pos;      /* frames since init/reset */
};

static void st_coefs(struct st_priv *s, double oct)
{
	struct st_lin *q = &s->lin;
	double f = exp2(oct), g, a1, a2, a3;
	const double k = ST_K;

	if (f > 0.45 * s->rate)
		f = 0.45 * s->rate;
	g = tan(M_PI * f / s->rate);
	a1 = 1.0 / (1.0 + g * (g + k));
	a2 = g * a1;
	a3 = g * a2;
	/* v1 = a2·v0 + a1·ic1 − a2·ic2, v2 = a3·v0 + a2·ic1 + (1 − a3)·ic2 */
	q->ap_d = 1.0 - 2.0 * k * a2;         /* v0 − 2k·v1 */
	q->ap_1 = -2.0 * k * a1;
	q->ap_2 = 2.0 * k * a2;
	q->hp_d = 1.0 - k * a2 - a3;          /* v0 − k·v1 − v2 */
	q->hp_1 = -k * a1 - a2;
	q->hp_2 = k * a2 - (1.0 - a3);
	q->m1 = 2.0 * a2;                     /* 2·v1 − ic1 */
	q->n11 = 2.0 * a1 - 1.0;
	q->n12 = -2.0 * a2;
	q->m2 = 2.0 * a3;                     /* 2·v2 − ic2 */
	q->n21 = 2.0 * a2;
	q->n22 = 1.0 - 2.0 * a3;
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
	st_coefs(s, s->oct.end);
	st_clear_filters(s);
	s->bm_run = s->bm.end != 0.0;
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
				st_coefs(s, s->oct.end);
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

static void st_clean_svf(struct st_svf *f)
{
	f->ic1 = st_clean(f->ic1);
	f->ic2 = st_clean(f->ic2);
}

/*
 * Simper's TPT SVF ("Linear trapezoidal integrated SVF") with input v0 and
 * integrator states ic1, ic2:
 *   v1 = a1·ic1 + a2·(v0 − ic2)          band-pass
 *   v2 = ic2 + a2·ic1 + a3·(v0 − ic2)    low-pass
 *   ic1 ← 2·v1 − ic1,  ic2 ← 2·v2 − ic2
 *   all-pass v0 − 2k·v1, high-pass v0 − k·v1 − v2
 * expanded into linear forms of (v0, ic1, ic2) (st_coefs()), so that each
 * recursion is one multiply and two adds deep instead of five operations.
 * The mid's all-pass and the side's first high-pass share coefficients and
 * inputs arriving together, so they run side by side in one two-lane
 * vector (GCC/Clang vector extension: SSE2 on x86-64, scalar code
 * elsewhere); the second high-pass, fed by the first, runs alone.
 */
typedef double st_v2 __attribute__((vector_size(16)));

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
	const st_v2 yd = { q->ap_d, q->hp_d }, y1 = { q->ap_1, q->hp_1 };
	const st_v2 y2 = { q->ap_2, q->hp_2 };
	st_v2 ic1 = { s->ap.ic1, s->hp1.ic1 }, ic2 = { s->ap.ic2, s->hp1.ic2 };
	double h1 = s->hp2.ic1, h2 = s->hp2.ic2;

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
			st_v2 y = yd * v0 + (y1 * ic1 + y2 * ic2);
			st_v2 n1 = q->m1 * v0 + (q->n11 * ic1 + q->n12 * ic2);
			st_v2 n2 = q->m2 * v0 + (q->n21 * ic1 + q->n22 * ic2);
			double x = y[1];          /* first high-pass out */
			double hp = q->hp_d * x + (q->hp_1 * h1 + q->hp_2 * h2);
			double t1 = q->m1 * x + (q->n11 * h1 + q->n12 * h2);

			h2 = q->m2 * x + (q->n21 * h1 + q->n22 * h2);
			h1 = t1;
			ic1 = n1;
			ic2 = n2;
			mid += bm * (y[0] - mid);     /* all-pass */
			side += bm * (hp - side);     /* LR4 high-pass */
		}
		side *= w;
		L[i + k] = (float)(gl * (mid + side));
		R[i + k] = (float)(gr * (mid - side));
	}
	s->ap.ic1 = ic1[0];
	s->ap.ic2 = ic2[0];
	s->hp1.ic1 = ic1[1];
	s->hp1.ic2 = ic2[1];
	s->hp2.ic1 = h1;
	s->hp2.ic2 = h2;
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
 */
static void st_process(struct chain_proc *p, float *const *buf, unsigned n)
{
	struct st_priv *s = p->priv;
	float *L = buf[0], *R = buf[1];
	unsigned long long pos = s->pos;
	unsigned i = 0;

	while (i < n) {
		unsigned j = (unsigned)(pos % CHAIN_SUBBLOCK);
		unsigned m = CHAIN_SUBBLOCK - j;
		int glide;

		if (m > n - i)
			m = n - i;
		if (j == 0) {
			chain_smooth_block(&s->width);
			chain_smooth_block(&s->gl);
			chain_smooth_block(&s->gr);
			chain_smooth_block(&s->bm);
			chain_smooth_block(&s->oct);
			if (!chain_smooth_steady(&s->oct))
				st_coefs(s, s->oct.end);
			if (s->bm.start != 0.0 || s->bm.end != 0.0)
				s->bm_run = 1;
			st_clean_svf(&s->ap);
			st_clean_svf(&s->hp1);
			st_clean_svf(&s->hp2);
		}
		glide = !(chain_smooth_steady(&s->width) && chain_smooth_steady(&s->gl) &&
			  chain_smooth_steady(&s->gr) && chain_smooth_steady(&s->bm));

		if (s->bm_run) {
			if (glide)
				st_frames(s, L, R, i, j, m, 1, 1);
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

/*
 * termaster — saturation: a 4× oversampled soft clipper and tape model.
 *
 * Signal flow, per channel (all parameters glide, chain/smooth.h):
 *
 *   x ─┬─ delay L ─────────────────────────────────────────────┐ dry
 *      └─ pre-emphasis(k) ─ ↑2 ─ ↑2 ─ curve ─ ↓2 ─ ↓2 ─ de-emphasis(k)
 *                                                   ─ DC block(c) ─┘ wet
 *   out = output × ((1 − mix) · dry + mix · wet)
 *
 * The curves, on the 4× oversampled signal u, with drive g = 10^(drive_db/20):
 *
 *   soft clip  y = tanh(g·u) / g
 *   tape       y = (tanh(g·u + b) − tanh b) / ((1 − tanh² b) · g),  b = 0.2
 *
 * Both have slope 1 at 0, so the small-signal gain is 1 (0 dB) at every
 * drive: this is the automatic gain compensation.  Quiet passages keep
 * their level and drive only sets where the curve bends (the knee sits
 * around −drive_db dBFS, the soft clip's ceiling is −drive_db dBFS), so
 * switching the processor on and off compares at equal level below the
 * knee.  output_db is a further trim on the whole output, dry and wet.
 *
 * Soft clip is odd-symmetric: odd harmonics only (tanh's poles at ±iπ/2 make
 * them fall off exponentially, about 6 dB per harmonic order at 6 dB drive
 * on a full-scale sine, which is what keeps aliasing low).  Tape is a
 * simple magnetisation model (no hysteresis):
 *  - an asymmetric curve (the bias b shifts the operating point of tanh):
 *    even harmonics besides the odd ones; with 6 dB drive a full-scale
 *    sine gets H2 about 7 dB under H3, a −12 dBFS one H2 about 7 dB above H3;
 *  - record pre-emphasis and playback de-emphasis around it, after the
 *    NAB 15 ips time constant of 50 µs (zero at 3.18 kHz) with the boost
 *    limited to +6 dB (pole at 6.37 kHz, τ = 25 µs): the highs reach the
 *    curve hotter and so saturate first and their harmonics come back
 *    de-emphasised — the gentle, rounded top end of tape.  The pair is an
 *    exact inverse (below), so small signals pass flat;
 *  - a 5 Hz DC blocker (first-order high-pass) for the offset the
 *    asymmetric curve produces, as a tape machine's playback path does.
 * Pre-emphasis x + k·HP(x) with HP a first-order high-pass at 6.37 kHz
 * (topology-preserving transform, Zavalishin, "The Art of VA Filter
 * Design", 2018, ch. 3) and k = c·1 (+6 dB), c the character's glide from
 * 0 (soft clip) to 1 (tape).  De-emphasis solves z = y + k·HP(y) for y
 * sample by sample with the same k delayed by the latency, so with the
 * curve linear the two cancel exactly even while k glides.  A character
 * change crossfades the two curves (time constant 20 ms).
 *
 * Oversampling: two half-band FIR stages (2× and 2× again), linear phase,
 * so the wet path is a pure delay of L = 2·K1 + K2 − 1 = 71 frames plus
 * the curve, and the dry path, delayed by L, lines up with it at every
 * frequency (mix 50 % is flat).  Kaiser-windowed half-band sinc (Kaiser,
 * "Nonrecursive digital filter design using the I0-sinh window function",
 * ISCAS 1974), in normalised frequency (so at every rate):
 *  - stage 1 (base ↔ 2×): 127 taps (32 distinct), β = 9.0: passband to
 *    0.4535·fs (20 kHz at 44.1 kHz) flat within 0.0003 dB, stopband from
 *    0.5465·fs (24.1 kHz) at least 90 dB down.  Harmonics above fs/2 fold
 *    only into the stopband, so a 5 kHz sine at 44.1 kHz driven 6 dB into
 *    either curve has every alias more than 110 dB under the fundamental
 *    (tests/test_saturation.c measures -116 dB at worst);
 *  - stage 2 (2× ↔ 4×): 31 taps (8 distinct), β = 9.5: flat to 0.2732·fs2,
 *    92 dB down from 0.7268·fs2 (fs2 = 2·fs).  A harmonic above the 4×
 *    Nyquist frequency 2·fs folds to 4·fs − f, which reaches the passband
 *    only for f > 3.55·fs (156 kHz at 44.1 kHz: beyond the 31st harmonic
 *    of 5 kHz); anything else folds into a stopband.
 * Both directions use polyphase forms: per base frame and channel, 32 + 32
 * multiplies in stage 1 and 16 + 16 in stage 2, plus 4 curve evaluations.
 * Cost at 44.1 kHz stereo on one x86-64 core (SSE2 through the GCC vector
 * extension; a shared 2-core VM under load, ±15 % run to run): about
 * 36 ns/frame soft clip and 40 ns/frame tape, some 600× realtime.
 *
 * tanh is evaluated in float as the [7/6] Padé approximant (Lambert's
 * continued fraction) of tanh(x/4), doubled twice with
 * tanh 2a = 2 tanh a / (1 + tanh² a) folded into one division, on x
 * clamped to ±9 (where tanh rounds to 1 in float): within 2e-7 of tanh,
 * smooth, branch-free and vectorisable.
 *
 * Processing runs in chunks that never cross an absolute sub-block of
 * CHAIN_SUBBLOCK frames (the frame counter, not call boundaries), and each
 * stage always computes a whole sub-block's worth of lanes with fixed trip
 * counts (so gcc vectorises them at -O2); only the chunk's frames are
 * kept.  Every output sample is therefore computed by the same operations
 * whatever the call sizes: block-size invariant, bit for bit.
 *
 * Hostile input: non-finite samples become 0 in both paths; the wet path
 * clamps to ±1e6 (far into saturation) so no filter sum can overflow;
 * recursive state is flushed below 1e-20 and cleared if non-finite at
 * sub-block starts (STYLE.md §3.5).
 */
#include "config.h"

#include <math.h>
#include <string.h>

#include "chain/chain.h"
#include "chain/smooth.h"

#define SAT_K1 32               /* stage 1: 4·K1 − 1 = 127 taps */
#define SAT_K2 8                /* stage 2: 4·K2 − 1 = 31 taps */
#define SAT_BETA1 9.0
#define SAT_BETA2 9.5
#define SAT_LAT (2 * SAT_K1 + SAT_K2 - 1)
#define SAT_BLK CHAIN_SUBBLOCK  /* lanes per chunk */

_Static_assert(SAT_K1 >= SAT_K2, "sat_halfband() sizes its scratch for stage 1");
_Static_assert(SAT_BLK == 32, "sat_fir32() computes 32 lanes");

/* history each buffer keeps before the current chunk */
#define SAT_HX (2 * SAT_K1 - 1) /* base rate, stage-1 interpolator input */
#define SAT_HA (2 * SAT_K2 - 1) /* 2×, stage-2 interpolator input */
#define SAT_HE (2 * SAT_K2 - 1) /* 4× even phase, stage-2 decimator input */
#define SAT_HO SAT_K2           /* 4× odd phase */
#define SAT_HBE SAT_K1          /* 2× even phase, stage-1 decimator input */
#define SAT_HBO (2 * SAT_K1)    /* 2× odd phase */

#define SAT_BIAS 0.2f           /* tape: operating point on tanh */
#define SAT_TAU1_S 50e-6        /* tape: pre-emphasis zero (NAB 15 ips) */
#define SAT_TAU2_S 25e-6        /* tape: pre-emphasis pole (+6 dB) */
#define SAT_DC_HZ 5.0           /* tape: DC blocker */
#define SAT_WET_MAX 1e6f        /* wet input clamp */
#define SAT_TINY 1e-20          /* recursive state flushed below this */

#define SAT_DRIVE_TAU_MS 20.0
#define SAT_DRIVE_SNAP 1e-3     /* dB */
#define SAT_CHAR_TAU_MS 20.0
#define SAT_MIX_TAU_MS 10.0
#define SAT_OUT_TAU_MS 10.0
#define SAT_SNAP 1e-4           /* linear gains and fractions */
#define LN10_20 0.11512925464970228

enum { SAT_P_DRIVE, SAT_P_CHAR, SAT_P_MIX, SAT_P_OUT, SAT_N_PARAMS };

static const char *const sat_characters[] = { "soft clip", "tape" };

static const struct chain_param sat_params[SAT_N_PARAMS] = {
	[SAT_P_DRIVE] = { "drive_db", "Drive", "dB", 0.0f, 24.0f, 6.0f, 0.1f },
	[SAT_P_CHAR] = { "character", "Character", "", 0.0f, 1.0f, 0.0f, 1.0f,
			 sat_characters },
	[SAT_P_MIX] = { "mix_pct", "Mix", "%", 0.0f, 100.0f, 100.0f, 1.0f },
	[SAT_P_OUT] = { "output_db", "Output", "dB", -24.0f, 6.0f, 0.0f, 0.1f },
};

struct sat_chan {
	float x[SAT_HX + SAT_BLK];
	float a2[SAT_HA + 2 * SAT_BLK];
	float e4[SAT_HE + 2 * SAT_BLK];
	float o4[SAT_HO + 2 * SAT_BLK];
	float be[SAT_HBE + SAT_BLK];
	float bo[SAT_HBO + SAT_BLK];
	float dry[SAT_LAT];
	double pre_s;           /* pre-emphasis high-pass state */
	double de_s;            /* de-emphasis high-pass state */
	double dc_s;            /* DC blocker's low-pass state */
};

struct sat_priv {
	struct sat_chan ch[CHAIN_CHANNELS];
	float c1[SAT_K1];       /* stage 1 taps: 2·h[2i] (interpolator) */
	float h1[SAT_K1];       /* h[2i] (decimator) */
	float c2[SAT_K2];
	float h2[SAT_K2];
	float tb;               /* tanh(SAT_BIAS) by sat_tanh() itself */
	float sb;               /* 1 / (1 − tb²) */
	double emph_g;          /* pre/de-emphasis: TPT tan(π f/fs) */
	double emph_G;          /* g / (1 + g) */
	double dc_G;            /* DC blocker: g / (1 + g) */
	double cdel[SAT_LAT];   /* character (0 … 1) delayed by the latency */
	unsigned ring;          /* read/write index of dry[] and cdel[] */
	struct chain_smooth drive_db, chr, mix, out;
	unsigned long long pos; /* frames since init/reset */
};

/* ---- filter design ---- */

static double sat_bessel_i0(double x)
{
	double s = 1, t = 1;

	for (int k = 1; k < 60; k++) {
		t *= (x / (2 * k)) * (x / (2 * k));
		s += t;
	}
	return s;
}

/*
 * Half-band lowpass of 4K − 1 taps h[0 … 4K−2], centre 2K − 1 (= 0.5), the
 * other odd taps 0: h[j] = sinc((j − c)/2)/2 · Kaiser(β).  Returns the even
 * taps h[2i], i < K (the second half mirrors them), scaled so that they sum
 * to exactly 0.5: both polyphase branches then have unity DC gain and the
 * response at the high rate's Nyquist frequency is exactly zero.
 */
static void sat_halfband(unsigned k, double beta, float *even)
{
	double h[2 * SAT_K1], sum = 0;
	int c = 2 * (int)k - 1;

	for (unsigned i = 0; i < 2 * k; i++) {
		int d = 2 * (int)i - c;  /* odd */
		double r = (double)d / c;

		h[i] = sin(M_PI * d / 2.0) / (M_PI * d) *
		       sat_bessel_i0(beta * sqrt(1 - r * r)) / sat_bessel_i0(beta);
		sum += h[i];
	}
	for (unsigned i = 0; i < k; i++)
		even[i] = (float)(h[i] * 0.5 / sum);
}

/* ---- the curve ---- */

/* x limited to ±9, where tanh rounds to ±1 in float.  Kept apart from
 * sat_tanh(): with the comparisons and the division in one loop gcc does
 * not vectorise it (trapping maths forbids the if-conversion). */
static inline float sat_clamp9(float x)
{
	x = x > 9.0f ? 9.0f : x;
	return x < -9.0f ? -9.0f : x;
}

/* tanh(x) within 2e-7 for |x| <= 9 (see the header). */
static inline float sat_tanh(float x)
{
	float y, y2, p, q, a, b, s;

	y = 0.25f * x;
	y2 = y * y;
	/* [7/6] Padé of tanh y: coefficients of Lambert's fraction over 135135 */
	p = y * (1.0f + y2 * (0.128205128f + y2 * (0.00279720280f + y2 * 7.40000740e-6f)));
	q = 1.0f + y2 * (0.461538462f + y2 * (0.0233100233f + y2 * 2.07200207e-4f));
	/* t = p/q, doubled twice: 4pq(p² + q²) / ((p² + q²)² + 4p²q²) */
	a = p * p;
	b = q * q;
	s = a + b;
	return 4.0f * p * q * s / (s * s + 4.0f * a * b);
}

/* ---- processor ---- */

static void sat_reset(struct chain_proc *p)
{
	struct sat_priv *s = p->priv;

	memset(s->ch, 0, sizeof(s->ch));
	memset(s->cdel, 0, sizeof(s->cdel));
	s->ring = 0;
	chain_smooth_set(&s->drive_db, s->drive_db.target, 1);
	chain_smooth_set(&s->chr, s->chr.target, 1);
	chain_smooth_set(&s->mix, s->mix.target, 1);
	chain_smooth_set(&s->out, s->out.target, 1);
	/* the delayed character starts where the character is */
	for (unsigned k = 0; k < SAT_LAT; k++)
		s->cdel[k] = s->chr.target;
	s->pos = 0;
}

static int sat_init(struct chain_proc *p, double rate, unsigned max_frames)
{
	struct sat_priv *s = p->priv;
	double g, fc;

	(void)max_frames;
	sat_halfband(SAT_K1, SAT_BETA1, s->h1);
	sat_halfband(SAT_K2, SAT_BETA2, s->h2);
	for (unsigned i = 0; i < SAT_K1; i++)
		s->c1[i] = 2.0f * s->h1[i];
	for (unsigned i = 0; i < SAT_K2; i++)
		s->c2[i] = 2.0f * s->h2[i];
	s->tb = sat_tanh(sat_clamp9(SAT_BIAS));
	s->sb = 1.0f / (1.0f - s->tb * s->tb);
	fc = 1.0 / (2.0 * M_PI * SAT_TAU2_S);
	if (fc > 0.45 * rate)
		fc = 0.45 * rate;  /* at rates below 14 kHz */
	g = tan(M_PI * fc / rate);
	s->emph_g = g;
	s->emph_G = g / (1.0 + g);
	g = tan(M_PI * SAT_DC_HZ / rate);
	s->dc_G = g / (1.0 + g);
	chain_smooth_init(&s->drive_db, rate, SAT_DRIVE_TAU_MS, SAT_DRIVE_SNAP,
			  sat_params[SAT_P_DRIVE].def);
	chain_smooth_init(&s->chr, rate, SAT_CHAR_TAU_MS, SAT_SNAP, 0.0);
	chain_smooth_init(&s->mix, rate, SAT_MIX_TAU_MS, SAT_SNAP, 1.0);
	chain_smooth_init(&s->out, rate, SAT_OUT_TAU_MS, SAT_SNAP, 1.0);
	sat_reset(p);
	return CHAIN_OK;
}

static void sat_set_param(struct chain_proc *p, unsigned id, float value,
			  int snap)
{
	struct sat_priv *s = p->priv;

	switch (id) {
	case SAT_P_DRIVE:
		chain_smooth_set(&s->drive_db, value, snap);
		break;
	case SAT_P_CHAR:
		chain_smooth_set(&s->chr, value >= 0.5f ? 1.0 : 0.0, snap);
		if (snap)
			for (unsigned k = 0; k < SAT_LAT; k++)
				s->cdel[k] = s->chr.target;
		break;
	case SAT_P_MIX:
		chain_smooth_set(&s->mix, value / 100.0, snap);
		break;
	case SAT_P_OUT:
		chain_smooth_set(&s->out, pow(10.0, value / 20.0), snap);
		break;
	}
}

/* Values of the per-frame controls for one chunk. */
struct sat_ctl {
	float g2[2 * SAT_BLK];   /* drive, per 4× sample pair (2× index) */
	float gi2[2 * SAT_BLK];  /* 1 / drive */
	float c2[2 * SAT_BLK];   /* character, 0 soft clip … 1 tape */
	int soft, tape;          /* a curve is needed in this chunk */
};

/* GCC/Clang vector extension: four floats, lowered to SSE on x86-64 and
 * to scalar code where there is no SIMD; and the two channels' doubles. */
typedef float sat_v4 __attribute__((vector_size(16)));
typedef double sat_d2 __attribute__((vector_size(16)));

_Static_assert(CHAIN_CHANNELS == 2, "sat_d2 holds one value per channel");

static inline sat_v4 sat_ld(const float *p)
{
	sat_v4 v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static inline void sat_st(float *p, sat_v4 v)
{
	memcpy(p, &v, sizeof(v));
}

/*
 * The symmetric half-band kernel on 32 lanes, accumulators in registers:
 *   out[k] = init[k] + Σ_{i<taps} c[i]·(a[k − i] + b[k + i]),  k < 32
 * (init NULL: 0).  Each lane sums in the same order whatever else runs,
 * so results do not depend on how the frames were split into calls.
 */
static inline void sat_fir32(float *restrict out, const float *init,
			     const float *a, const float *b,
			     const float *restrict c, unsigned taps)
{
	sat_v4 s0, s1, s2, s3, s4, s5, s6, s7;

	if (init) {
		s0 = sat_ld(init);
		s1 = sat_ld(init + 4);
		s2 = sat_ld(init + 8);
		s3 = sat_ld(init + 12);
		s4 = sat_ld(init + 16);
		s5 = sat_ld(init + 20);
		s6 = sat_ld(init + 24);
		s7 = sat_ld(init + 28);
	} else {
		s0 = s1 = s2 = s3 = s4 = s5 = s6 = s7 = (sat_v4){ 0, 0, 0, 0 };
	}
	for (unsigned i = 0; i < taps; i++) {
		const sat_v4 ci = { c[i], c[i], c[i], c[i] };
		const float *pa = a - i, *pb = b + i;

		s0 += ci * (sat_ld(pa) + sat_ld(pb));
		s1 += ci * (sat_ld(pa + 4) + sat_ld(pb + 4));
		s2 += ci * (sat_ld(pa + 8) + sat_ld(pb + 8));
		s3 += ci * (sat_ld(pa + 12) + sat_ld(pb + 12));
		s4 += ci * (sat_ld(pa + 16) + sat_ld(pb + 16));
		s5 += ci * (sat_ld(pa + 20) + sat_ld(pb + 20));
		s6 += ci * (sat_ld(pa + 24) + sat_ld(pb + 24));
		s7 += ci * (sat_ld(pa + 28) + sat_ld(pb + 28));
	}
	sat_st(out, s0);
	sat_st(out + 4, s1);
	sat_st(out + 8, s2);
	sat_st(out + 12, s3);
	sat_st(out + 16, s4);
	sat_st(out + 20, s5);
	sat_st(out + 24, s6);
	sat_st(out + 28, s7);
}

/*
 * The oversampled wet path of one channel for one chunk: reads
 * x[SAT_HX …] (SAT_BLK lanes, the first m valid), writes z[SAT_BLK].
 *
 * Buffers hold the history each stage needs in front of the chunk:
 *   x   base rate input          z[n] = stage-1 decimator output
 *   a2  2× (stage-1 interpolator output, interleaved)
 *   e4  4× even phase, o4 4× odd phase (after the curve)
 *   be, bo  2× even and odd phase (stage-2 decimator output, split)
 * Stage 1 interpolator: a2[2n] = Σ c1[i]·(x[n−i] + x[n−2K1+1+i]),
 * a2[2n+1] = x[n−K1+1] (the centre tap); stage 2 likewise from a2 into
 * e4/o4; stage-2 decimator: b[p] = o4[p−K2]/2 + Σ h2[i]·(e4[p−i] +
 * e4[p−2K2+1+i]); stage-1 decimator, one 2× sample later (which makes
 * the round trip a whole number of base frames):
 * z[n] = be[n−K1]/2 + Σ h1[i]·(bo[n−1−i] + bo[n−2K1+i]).
 */
static void sat_wet(const struct sat_priv *restrict s, struct sat_chan *c,
		    const struct sat_ctl *restrict ctl, float *restrict z)
{
	const float *xc = c->x + SAT_HX;
	float *a2c = c->a2 + SAT_HA, *ec = c->e4 + SAT_HE, *oc = c->o4 + SAT_HO;
	float *bec = c->be + SAT_HBE, *boc = c->bo + SAT_HBO;
	float ye[SAT_BLK], b2[2 * SAT_BLK], half[2 * SAT_BLK];
	float ue[2 * SAT_BLK], uo[2 * SAT_BLK], se[2 * SAT_BLK], so[2 * SAT_BLK];
	const float tb = s->tb, sb = s->sb;

	/* stage 1 up */
	sat_fir32(ye, NULL, xc, xc - (2 * SAT_K1 - 1), s->c1, SAT_K1);
	for (unsigned k = 0; k < SAT_BLK; k++) {
		a2c[2 * k] = ye[k];
		a2c[2 * k + 1] = xc[(int)k - SAT_K1 + 1];
	}

	/* stage 2 up: even phase into ue (before the curve), odd phase */
	sat_fir32(ue, NULL, a2c, a2c - (2 * SAT_K2 - 1), s->c2, SAT_K2);
	sat_fir32(ue + SAT_BLK, NULL, a2c + SAT_BLK, a2c + SAT_BLK - (2 * SAT_K2 - 1),
		  s->c2, SAT_K2);
	memcpy(uo, a2c - SAT_K2 + 1, sizeof(uo));

	/* the curves, on both phases: u = drive · signal (+ bias), clamped */
	if (ctl->soft) {
		for (unsigned k = 0; k < 2 * SAT_BLK; k++) {
			se[k] = sat_clamp9(ctl->g2[k] * ue[k]);
			so[k] = sat_clamp9(ctl->g2[k] * uo[k]);
		}
		for (unsigned k = 0; k < 2 * SAT_BLK; k++) {
			se[k] = sat_tanh(se[k]) * ctl->gi2[k];
			so[k] = sat_tanh(so[k]) * ctl->gi2[k];
		}
	}
	if (ctl->tape) {
		for (unsigned k = 0; k < 2 * SAT_BLK; k++) {
			ue[k] = sat_clamp9(ctl->g2[k] * ue[k] + SAT_BIAS);
			uo[k] = sat_clamp9(ctl->g2[k] * uo[k] + SAT_BIAS);
		}
		for (unsigned k = 0; k < 2 * SAT_BLK; k++) {
			const float gi = ctl->gi2[k] * sb;

			ue[k] = (sat_tanh(ue[k]) - tb) * gi;
			uo[k] = (sat_tanh(uo[k]) - tb) * gi;
		}
	}
	if (!ctl->tape) {
		memcpy(ec, se, sizeof(se));
		memcpy(oc, so, sizeof(so));
	} else if (!ctl->soft) {
		memcpy(ec, ue, sizeof(ue));
		memcpy(oc, uo, sizeof(uo));
	} else {
		for (unsigned k = 0; k < 2 * SAT_BLK; k++) {
			const float t = ctl->c2[k];

			ec[k] = se[k] + t * (ue[k] - se[k]);
			oc[k] = so[k] + t * (uo[k] - so[k]);
		}
	}

	/* stage 2 down */
	for (unsigned k = 0; k < 2 * SAT_BLK; k++)
		half[k] = 0.5f * oc[(int)k - SAT_K2];
	sat_fir32(b2, half, ec, ec - (2 * SAT_K2 - 1), s->h2, SAT_K2);
	sat_fir32(b2 + SAT_BLK, half + SAT_BLK, ec + SAT_BLK,
		  ec + SAT_BLK - (2 * SAT_K2 - 1), s->h2, SAT_K2);
	for (unsigned k = 0; k < SAT_BLK; k++) {
		bec[k] = b2[2 * k];
		boc[k] = b2[2 * k + 1];
	}

	/* stage 1 down */
	for (unsigned k = 0; k < SAT_BLK; k++)
		half[k] = 0.5f * bec[(int)k - SAT_K1];
	sat_fir32(z, half, boc - 1, boc - 2 * SAT_K1, s->h1, SAT_K1);
}

/* Drop the m oldest frames' worth from every history. */
static void sat_shift(struct sat_chan *c, unsigned m)
{
	memmove(c->x, c->x + m, sizeof(float) * SAT_HX);
	memmove(c->a2, c->a2 + 2 * m, sizeof(float) * SAT_HA);
	memmove(c->e4, c->e4 + 2 * m, sizeof(float) * SAT_HE);
	memmove(c->o4, c->o4 + 2 * m, sizeof(float) * SAT_HO);
	memmove(c->be, c->be + m, sizeof(float) * SAT_HBE);
	memmove(c->bo, c->bo + m, sizeof(float) * SAT_HBO);
}

static double sat_clean(double v)
{
	return isfinite(v) && fabs(v) >= SAT_TINY ? v : 0.0;
}

/*
 * State glossary (per channel, c = character 0 … 1, k = c · 1):
 *   pre_s   TPT one-pole state of the pre-emphasis high-pass, on the input
 *   de_s    the same on the de-emphasised output y
 *   dc_s    TPT one-pole low-pass state of the DC blocker, on y
 *   dry[]   the input, L frames back (shares `ring` with cdel[])
 *   cdel[]  c, L frames back: de-emphasis and DC blocker act on the wet
 *           signal that left the pre-emphasis L frames ago
 */
static void sat_process(struct chain_proc *p, float *const *buf, unsigned n)
{
	struct sat_priv *s = p->priv;
	const double eg = s->emph_g, eG2 = 2.0 * s->emph_G, dG = s->dc_G;
	const double ig = 1.0 / (1.0 + eg);
	unsigned long long pos = s->pos;
	unsigned i = 0;

	while (i < n) {
		unsigned j = (unsigned)(pos % SAT_BLK);
		unsigned m = SAT_BLK - j;
		struct sat_ctl ctl;
		double cv[SAT_BLK], mixv[SAT_BLK], outv[SAT_BLK];
		sat_d2 pre_s, de_s, dc_s;
		double kd_now = 0, ya = 1, yb = 0, da = 1, db = 0;
		float z[CHAIN_CHANNELS][SAT_BLK], dry[CHAIN_CHANNELS][SAT_BLK];
		unsigned ring = s->ring;
		int plain, steady;

		if (m > n - i)
			m = n - i;
		if (j == 0) {
			chain_smooth_block(&s->drive_db);
			chain_smooth_block(&s->chr);
			chain_smooth_block(&s->mix);
			chain_smooth_block(&s->out);
			for (unsigned ch = 0; ch < CHAIN_CHANNELS; ch++) {
				struct sat_chan *c = &s->ch[ch];

				c->pre_s = sat_clean(c->pre_s);
				c->de_s = sat_clean(c->de_s);
				c->dc_s = sat_clean(c->dc_s);
			}
		}

		/* controls for the chunk's frames; the lanes past m repeat
		 * the last frame's (they are computed and dropped) */
		if (chain_smooth_steady(&s->drive_db)) {
			float g = (float)exp(s->drive_db.end * LN10_20);
			float gi = 1.0f / g;

			for (unsigned k = 0; k < 2 * SAT_BLK; k++) {
				ctl.g2[k] = g;
				ctl.gi2[k] = gi;
			}
		} else {
			for (unsigned k = 0; k < SAT_BLK; k++) {
				unsigned f = j + (k < m ? k : m - 1);
				float g = (float)exp(chain_smooth_at(&s->drive_db, f) * LN10_20);

				ctl.g2[2 * k] = ctl.g2[2 * k + 1] = g;
				ctl.gi2[2 * k] = ctl.gi2[2 * k + 1] = 1.0f / g;
			}
		}
		steady = chain_smooth_steady(&s->chr) && chain_smooth_steady(&s->mix) &&
			 chain_smooth_steady(&s->out);
		for (unsigned k = 0; k < SAT_BLK; k++) {
			unsigned f = j + (k < m ? k : m - 1);

			if (steady) {
				cv[k] = s->chr.end;
				mixv[k] = s->mix.end;
				outv[k] = s->out.end;
			} else {
				cv[k] = chain_smooth_at(&s->chr, f);
				mixv[k] = chain_smooth_at(&s->mix, f);
				outv[k] = chain_smooth_at(&s->out, f);
			}
			ctl.c2[2 * k] = ctl.c2[2 * k + 1] = (float)cv[k];
		}
		ctl.soft = !(chain_smooth_steady(&s->chr) && s->chr.end == 1.0);
		ctl.tape = !(chain_smooth_steady(&s->chr) && s->chr.end == 0.0);
		plain = steady && s->mix.end == 1.0 && s->out.end == 1.0;

		/* both channels side by side in two-lane vectors: their
		 * recursions run together */
		pre_s = (sat_d2){ s->ch[0].pre_s, s->ch[1].pre_s };
		de_s = (sat_d2){ s->ch[0].de_s, s->ch[1].de_s };
		dc_s = (sat_d2){ s->ch[0].dc_s, s->ch[1].dc_s };

		/* input: dry delay line and pre-emphasised wet */
		ring = s->ring;
		for (unsigned k = 0; k < m; k++) {
			sat_d2 w;

			for (unsigned ch = 0; ch < CHAIN_CHANNELS; ch++) {
				struct sat_chan *c = &s->ch[ch];
				float x = buf[ch][i + k];

				x = isfinite(x) ? x : 0.0f;
				dry[ch][k] = c->dry[ring];
				c->dry[ring] = x;
				x = x > SAT_WET_MAX ? SAT_WET_MAX : x;
				w[ch] = x < -SAT_WET_MAX ? -SAT_WET_MAX : x;
			}
			if (++ring == SAT_LAT)
				ring = 0;
			if (ctl.tape) {
				sat_d2 h = (w - pre_s) * ig;  /* high-pass */

				pre_s += eG2 * (w - pre_s);
				w += cv[k] * h;
			} else {
				/* soft clip at rest: the state only follows
				 * the signal, for when tape fades in */
				pre_s = w;
			}
			s->ch[0].x[SAT_HX + k] = (float)w[0];
			s->ch[1].x[SAT_HX + k] = (float)w[1];
		}

		for (unsigned ch = 0; ch < CHAIN_CHANNELS; ch++)
			sat_wet(s, &s->ch[ch], &ctl, z[ch]);

		/* output: de-emphasis, DC blocker, mix, trim */
		ring = s->ring;
		for (unsigned k = 0; k < m; k++) {
			double kd = s->cdel[ring];
			sat_d2 y = { z[0][k], z[1][k] };

			s->cdel[ring] = cv[k];
			if (++ring == SAT_LAT)
				ring = 0;
			if (kd != 0) {
				sat_d2 zz = y, lp;

				if (kd != kd_now) {
					/* y = ya·z + yb·de_s solves
					 * z = y + kd·(y − de_s)/(1 + eg) */
					double r = 1.0 / (1.0 + eg + kd);

					kd_now = kd;
					ya = (1.0 + eg) * r;
					yb = kd * r;
					da = 1.0 - eG2 + eG2 * yb;
					db = eG2 * ya;
				}
				y = ya * zz + yb * de_s;
				de_s = da * de_s + db * zz;
				lp = dG * y + (1.0 - dG) * dc_s;
				dc_s = 2.0 * dG * y + (1.0 - 2.0 * dG) * dc_s;
				y -= kd * lp;
			} else {
				de_s = y;
				dc_s = (sat_d2){ 0, 0 };
			}
			if (!plain)
				y = outv[k] * ((1.0 - mixv[k]) * (sat_d2){ dry[0][k], dry[1][k] } +
					       mixv[k] * y);
			buf[0][i + k] = (float)y[0];
			buf[1][i + k] = (float)y[1];
		}
		for (unsigned ch = 0; ch < CHAIN_CHANNELS; ch++) {
			struct sat_chan *c = &s->ch[ch];

			c->pre_s = pre_s[ch];
			c->de_s = de_s[ch];
			c->dc_s = dc_s[ch];
			sat_shift(c, m);
		}
		s->ring = ring;
		i += m;
		pos += m;
	}
	s->pos = pos;
}

static unsigned sat_latency(const struct chain_proc *p)
{
	(void)p;
	return SAT_LAT;
}

static void sat_destroy(struct chain_proc *p)
{
	(void)p;  /* nothing allocated: the state lives in priv */
}

const struct chain_proc_ops chain_sat_ops = {
	.name = "sat",
	.glide_ms = SAT_DRIVE_TAU_MS,
	.label = "Saturation",
	.bypass = CHAIN_BYPASS_OFF,
	.priv_size = sizeof(struct sat_priv),
	.params = sat_params,
	.n_params = SAT_N_PARAMS,
	.init = sat_init,
	.set_param = sat_set_param,
	.process = sat_process,
	.reset = sat_reset,
	.latency = sat_latency,
	.gain_reduction_db = NULL,
	.destroy = sat_destroy,
};

/*
 * termaster — the mastering equaliser: 8 bands and a tilt.
 *
 * Each band is a bell, a low or high shelf, or a Butterworth high- or
 * low-pass of 6 … 48 dB/oct, on both channels, the mid, the side, the left
 * or the right channel.  The tilt is a first-order shelf pair pivoting at
 * tilt_hz: -tilt_db/2 at the bottom, +tilt_db/2 at the top.  The sections
 * are matched to their analog prototypes (chain/biquad.h), so a bell at
 * 16 kHz keeps its shape at 44.1 kHz instead of cramping against Nyquist.
 *
 * Parameters (ids "N.<param>", N = 1 … 8, and two for the tilt):
 *   N.on            off/on (default off: the EQ at defaults is bit-exact
 *                   passthrough)
 *   N.type          bell, low shelf, high shelf, high-pass, low-pass
 *   N.freq_hz       10 … 22000 Hz, designed at no more than 0.49·rate
 *   N.gain_db       -24 … +24 dB (bells and shelves)
 *   N.q             0.1 … 18 (bells; shelves use at most EQ_SHELF_Q_MAX;
 *                   high/low-pass are Butterworth and ignore it)
 *   N.slope_db_oct  6, 12, 18, 24, 36, 48 (high/low-pass: order 1 … 8)
 *   N.channel       stereo, mid, side, left, right
 *   tilt_db         -6 … +6 dB, 0 = off (bit-exact)
 *   tilt_hz         100 … 10000 Hz pivot
 *
 * Smoothing.  Frequency (in octaves), gain (in dB), Q (in octaves) and the
 * tilt glide with chain/smooth.h: one one-pole step (EQ_TAU_MS) per
 * absolute sub-block of CHAIN_SUBBLOCK frames, the frequency by at most
 * EQ_OCT_MAX octaves per sub-block (fil4 limits a jump to an octave per
 * block).  Coefficients are recomputed only for sub-blocks in which a value
 * moves, at the sub-block's end value, and ramp linearly sample by sample
 * from the previous set (the poles' (a1, a2) move inside the stability
 * triangle, which is convex).  Discrete changes (on, type, slope, channel)
 * crossfade the band's old and new configuration, each with its own state,
 * over EQ_FADE_MS; a change that arrives during a fade waits for its end.
 *
 * Topology.  Transposed direct form II sections in double precision, both
 * channels at once in a two-lane vector (left/right, or mid/side for bands
 * that need it: M = (L + R)/2, S = (L - R)/2, decoded L = M + S,
 * R = M - S; a lane a band leaves alone has the unity section b0 = 1, so
 * it passes bit-exact).  Per sample the EQ runs a short program, rebuilt
 * only when the set of running sections changes, of just the sections
 * that do something: bands that are off, and bands (or the tilt) that sit
 * at exactly 0 dB with drained state, are skipped.
 *
 * State glossary (struct eq_priv):
 *   band[]   per band: the smoothers, the targets of the discrete
 *            parameters, slot[0] (the running configuration) and, during a
 *            fade, slot[1] (the incoming one) with the fade's progress
 *   slot     a configuration (cfg) and its sections: coefficients in use
 *            (c), their targets (t) and per-sample increments (d) while
 *            ramping, and the TDF-II state (s1, s2), per lane
 *   ops[]    the per-sample program (eq_build())
 *   pos      frames since init/reset: sub-blocks sit on pos % 32 == 0, so
 *            the output does not depend on call sizes
 *
 * Denormals and hostile input (STYLE.md §3.5): once per sub-block, a
 * section's state whose magnitude falls below EQ_TINY (-400 dB) is set to
 * exact zeros (so silence after a tone gives exact zeros, and no value
 * decays through the subnormal range), and a non-finite or runaway state
 * (above EQ_HUGE) is cleared, so one NaN in the input cannot stick.
 *
 * AVX (where the processor has it, checked at init): the first eight
 * steady sections run four lanes wide, two sections side by side, one
 * frame apart (eq_run8_avx()), and while every band is at rest the program
 * runs over spans of up to EQ_SPAN frames, the sub-block starts inside a
 * span kept by cleaning each section there in the loop.  The output is
 * the same to the bit as two lanes wide (tests/test_eq, test_eq_sse2).
 *
 * Cost, at 44.1 kHz on one x86-64 core (gcc 12 -O3, the build's flags),
 * per stereo frame, with the bench's 8 bells of ±3 dB, eq_process() with
 * all it calls over chain_process() of 10 s of gen_music() in blocks of
 * 1024: 68 instructions by callgrind and 4.8 ns of CPU time with AVX
 * (best of 11 interleaved runs on a loaded shared 2-core VM, less the
 * chain with the EQ off), against 131 and 8.0 ns before it (two lanes
 * wide, which non-AVX processors still run: 136 instructions now; 10.2 ns
 * and 181 before b0 was taken out of the sections and the checks of bands
 * at rest skipped).  Other figures, two lanes wide: 0.8 ns at defaults,
 * 23 ns with a 48 dB/oct high-pass, 6 bells and a 48 dB/oct low-pass
 * (14 sections), 28 ns with every type and channel mode and the tilt; a
 * band whose values glide adds about 7 ns while it moves (a bell's design
 * is 120 ns per sub-block); these three figures are from before the
 * changes above and were not measured again.
 * While no parameter has been set since every band came to rest, the
 * per-sub-block checks are skipped and only the states are cleaned.
 *
 * Accuracy (tests/test_eq.c): the processed response equals the design
 * formula within 1e-5 dB; a 16 kHz bell at 44.1 kHz is within 0.31 dB of
 * its analog prototype up to 20 kHz for any gain and Q (the bilinear
 * cookbook bell: 13 dB).
 *
 * Latency: none.
 */
#include "config.h"

#include <math.h>
#include <string.h>

#include "chain/biquad.h"
#include "chain/chain.h"
#include "chain/smooth.h"

/* AVX for eight steady sections at a time where the processor has it
 * (eq_run8_avx()); EQ_NO_AVX leaves it out (tests/test_eq_sse2 tests the
 * other path) */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(EQ_NO_AVX)
#include <immintrin.h>
#define EQ_AVX 1
#endif

#define EQ_BANDS 8
#define EQ_TAU_MS 20.0        /* glide of frequency, gain, Q, tilt */
#define EQ_FADE_MS CHAIN_BYPASS_MS  /* crossfade of on/type/slope/channel */
#define EQ_OCT_MAX 1.0        /* largest frequency move per sub-block, octaves */
#define EQ_FREQ_SNAP 1e-4     /* octaves */
#define EQ_GAIN_SNAP 1e-3     /* dB */
#define EQ_Q_SNAP 1e-4        /* octaves of Q */
#define EQ_FMAX 0.49          /* highest design frequency, × rate */
#define EQ_TILT_FMAX 0.45     /* highest tilt pivot, × rate */
#define EQ_SHELF_Q_MAX 2.0    /* resonant shelves beyond this are not matched well */
#define EQ_TINY 1e-20         /* |s1| + |s2| below this: state set to 0 */
#define EQ_HUGE 1e100         /* above this (or NaN): state cleared */
#define EQ_SECTIONS CHAIN_BIQUAD_MAX_SECTIONS
#define EQ_NCOEF 5            /* b0, b1, b2, -a1, -a2 */
#define EQ_SPAN (8 * CHAIN_SUBBLOCK)  /* frames run in one pass while at rest */

enum eq_type { EQ_BELL, EQ_LOW_SHELF, EQ_HIGH_SHELF, EQ_HIGH_PASS, EQ_LOW_PASS, EQ_TILT };
enum eq_channel { EQ_STEREO, EQ_MID, EQ_SIDE, EQ_LEFT, EQ_RIGHT };
enum { EQ_P_ON, EQ_P_TYPE, EQ_P_FREQ, EQ_P_GAIN, EQ_P_Q, EQ_P_SLOPE, EQ_P_CHANNEL, EQ_BAND_NP };
enum { EQ_P_TILT_DB = EQ_BANDS * EQ_BAND_NP, EQ_P_TILT_HZ, EQ_N_PARAMS };

static const char *const eq_on_names[] = { "off", "on" };
static const char *const eq_type_names[] = {
	"bell", "low shelf", "high shelf", "high-pass", "low-pass",
};
static const char *const eq_slope_names[] = { "6", "12", "18", "24", "36", "48" };
static const unsigned eq_slope_order[] = { 1, 2, 3, 4, 6, 8 };
static const char *const eq_channel_names[] = { "stereo", "mid", "side", "left", "right" };

#define EQ_BAND(n, type, freq, q)                                                              \
	{ #n ".on", "Band " #n " on", "", 0.0f, 1.0f, 0.0f, 1.0f, eq_on_names },               \
	{ #n ".type", "Band " #n " type", "", 0.0f, 4.0f, type, 1.0f, eq_type_names },         \
	{ #n ".freq_hz", "Band " #n " frequency", "Hz", 10.0f, 22000.0f, freq, 1.0f, NULL },   \
	{ #n ".gain_db", "Band " #n " gain", "dB", -24.0f, 24.0f, 0.0f, 0.1f, NULL },           \
	{ #n ".q", "Band " #n " Q", "", 0.1f, 18.0f, q, 0.01f, NULL },                          \
	{ #n ".slope_db_oct", "Band " #n " slope", "dB/oct", 0.0f, 5.0f, 1.0f, 1.0f,           \
	  eq_slope_names },                                                                    \
	{ #n ".channel", "Band " #n " channel", "", 0.0f, 4.0f, 0.0f, 1.0f, eq_channel_names },

static const struct chain_param eq_params[EQ_N_PARAMS] = {
	EQ_BAND(1, EQ_HIGH_PASS, 30.0f, 0.707f)
	EQ_BAND(2, EQ_LOW_SHELF, 80.0f, 0.707f)
	EQ_BAND(3, EQ_BELL, 200.0f, 1.0f)
	EQ_BAND(4, EQ_BELL, 500.0f, 1.0f)
	EQ_BAND(5, EQ_BELL, 1200.0f, 1.0f)
	EQ_BAND(6, EQ_BELL, 3000.0f, 1.0f)
	EQ_BAND(7, EQ_BELL, 8000.0f, 1.0f)
	EQ_BAND(8, EQ_HIGH_SHELF, 16000.0f, 0.707f)
	[EQ_P_TILT_DB] = { "tilt_db", "Tilt", "dB", -6.0f, 6.0f, 0.0f, 0.1f, NULL },
	[EQ_P_TILT_HZ] = { "tilt_hz", "Tilt pivot", "Hz", 100.0f, 10000.0f, 1000.0f, 1.0f, NULL },
};

/* Both channels (or mid and side) of one sample, or one coefficient for
 * each.  GCC/Clang vector extension: SSE2 on x86-64, NEON on AArch64,
 * scalar code elsewhere. */
typedef double eq_v2 __attribute__((vector_size(16)));

struct eq_sec {
	eq_v2 c[EQ_NCOEF];      /* in use: b0, b1, b2, -a1, -a2 */
	eq_v2 s1, s2;           /* TDF-II state */
	eq_v2 d[EQ_NCOEF];      /* increment per sample while ramping */
	eq_v2 t[EQ_NCOEF];      /* target: reached at the end of the ramp */
};

#define EQ_CFG_OFF (-1)

struct eq_slot {
	int cfg;                /* EQ_CFG_OFF or eq_cfg() */
	unsigned type, order, channel;
	unsigned n;             /* sections */
	int ms;                 /* runs on mid/side */
	int ramp;               /* coefficients ramp in this sub-block */
	int unity;              /* every section has b = a (H = 1) */
	int skip;               /* unity with zero state: not run */
	struct eq_sec sec[EQ_SECTIONS];
};

struct eq_band {
	struct chain_smooth freq;   /* log2(Hz) */
	struct chain_smooth gain;   /* dB */
	struct chain_smooth q;      /* log2(Q) */
	unsigned on, type, slope, channel;  /* discrete targets */
	int fading;
	double fade;            /* weight of slot[1], 0 … 1 */
	struct eq_slot slot[2];
};

enum eq_op_kind { EQ_OP_SEC, EQ_OP_RAMP, EQ_OP_ENC, EQ_OP_DEC, EQ_OP_FORK, EQ_OP_ALT, EQ_OP_MIX };

struct eq_op {
	enum eq_op_kind kind;
	void *p;                /* struct eq_sec (SEC, RAMP) or eq_band (MIX) */
};

/* per band: FORK, 2 × (ENC, sections, DEC), ALT, MIX; then the tilt */
#define EQ_MAX_OPS ((EQ_BANDS + 1) * (3 + 2 * (EQ_SECTIONS + 2)))

/* A steady section with b0 taken out: (b1/b0, b2/b0, -a1, -a2). */
struct eq_norm {
	eq_v2 c[4];
};

struct eq_priv {
	struct eq_band band[EQ_BANDS + 1];  /* [EQ_BANDS]: the tilt */
	struct eq_op ops[EQ_MAX_OPS];
	unsigned n_ops;
	/* the plain program (eq_build()): per op its normalised section and
	 * the product of the b0 up to it, by which its state is divided
	 * while the program runs; the product of all, applied at the end */
	struct eq_norm norm[EQ_MAX_OPS];
	eq_v2 scale[EQ_MAX_OPS];
	eq_v2 gain;
	unsigned n_scaled;      /* ops whose states are divided: n_ops or 0 */
	int plain;              /* ops are steady sections only */
	int dirty;              /* ops need rebuilding */
	int rest;               /* every band at rest: no set_param since */
	int avx;                /* the processor has AVX: eq_run8_avx() */
	int span;               /* the program may run over spans of whole
				 * sub-blocks while at rest (eq_build()) */
	double rate;
	double fade_step;       /* 1 / fade length in frames */
	unsigned long long pos; /* frames since init/reset */
};

#define EQ_TILT_BAND EQ_BANDS

static int eq_cfg(const struct eq_band *b, unsigned index)
{
	unsigned order;

	if (index == EQ_TILT_BAND)
		return EQ_TILT;
	if (!b->on)
		return EQ_CFG_OFF;
	order = b->type == EQ_HIGH_PASS || b->type == EQ_LOW_PASS ? eq_slope_order[b->slope] : 0;
	return (int)(b->type | order << 4 | b->channel << 8);
}

/* ---- coefficients ---- */

/* The sections of a configuration at the smoothers' current end values. */
static unsigned eq_design(const struct eq_priv *s, const struct eq_band *b,
			  const struct eq_slot *sl, struct chain_biquad *c)
{
	double f = exp2(b->freq.end), w0 = 2.0 * M_PI * f / s->rate;
	double gain = b->gain.end, q = exp2(b->q.end);

	switch (sl->type) {
	case EQ_BELL:
		chain_biquad_bell(c, w0, gain, q);
		return 1;
	case EQ_LOW_SHELF:
		chain_biquad_low_shelf(c, w0, gain, q < EQ_SHELF_Q_MAX ? q : EQ_SHELF_Q_MAX);
		return 1;
	case EQ_HIGH_SHELF:
		chain_biquad_high_shelf(c, w0, gain, q < EQ_SHELF_Q_MAX ? q : EQ_SHELF_Q_MAX);
		return 1;
	case EQ_HIGH_PASS:
		return chain_biquad_butter(c, w0, sl->order, 1);
	case EQ_LOW_PASS:
		return chain_biquad_butter(c, w0, sl->order, 0);
	default:
		chain_biquad_tilt(c, w0, gain);
		return 1;
	}
}

/* Designs the slot into the targets t[]; ramp != 0 ramps the coefficients
 * in use towards them over this sub-block, else they are set at once. */
static void eq_slot_update(const struct eq_priv *s, const struct eq_band *b, struct eq_slot *sl,
			   int ramp)
{
	struct chain_biquad c[EQ_SECTIONS];
	int lane[2] = {
		sl->channel != EQ_RIGHT && sl->channel != EQ_SIDE,
		sl->channel != EQ_LEFT && sl->channel != EQ_MID,
	};
	int unity = 1;

	sl->n = eq_design(s, b, sl, c);
	for (unsigned k = 0; k < sl->n; k++) {
		struct eq_sec *sec = &sl->sec[k];
		double v[EQ_NCOEF] = { c[k].b0, c[k].b1, c[k].b2, -c[k].a1, -c[k].a2 };

		if (!(c[k].b0 == 1.0 && c[k].b1 == c[k].a1 && c[k].b2 == c[k].a2))
			unity = 0;
		for (unsigned i = 0; i < EQ_NCOEF; i++) {
			double id = i == 0 ? 1.0 : 0.0;

			sec->t[i] = (eq_v2){ lane[0] ? v[i] : id, lane[1] ? v[i] : id };
			if (ramp) {
				sec->d[i] = (sec->t[i] - sec->c[i]) * (1.0 / CHAIN_SUBBLOCK);
			} else {
				sec->c[i] = sec->t[i];
				sec->d[i] = (eq_v2){ 0.0, 0.0 };
			}
		}
	}
	sl->unity = unity;
	sl->ramp = ramp;
}

/* A fresh slot for configuration cfg: designed, zero state. */
static void eq_slot_init(const struct eq_priv *s, const struct eq_band *b, struct eq_slot *sl,
			 int cfg)
{
	memset(sl, 0, sizeof(*sl));
	sl->cfg = cfg;
	if (cfg == EQ_CFG_OFF)
		return;
	sl->type = (unsigned)cfg & 0xf;
	sl->order = ((unsigned)cfg >> 4) & 0xf;
	sl->channel = (unsigned)cfg >> 8;
	sl->ms = sl->channel == EQ_MID || sl->channel == EQ_SIDE;
	eq_slot_update(s, b, sl, 0);
}

/* ---- the per-sample program ---- */

static void eq_emit(struct eq_priv *s, enum eq_op_kind kind, void *p)
{
	/* a decode straight before an encode cancels */
	if (kind == EQ_OP_ENC && s->n_ops && s->ops[s->n_ops - 1].kind == EQ_OP_DEC) {
		s->n_ops--;
		return;
	}
	s->ops[s->n_ops].kind = kind;
	s->ops[s->n_ops].p = p;
	s->n_ops++;
}

static void eq_emit_slot(struct eq_priv *s, struct eq_slot *sl)
{
	if (sl->cfg == EQ_CFG_OFF)
		return;
	if (sl->ms)
		eq_emit(s, EQ_OP_ENC, NULL);
	for (unsigned k = 0; k < sl->n; k++)
		eq_emit(s, sl->ramp ? EQ_OP_RAMP : EQ_OP_SEC, &sl->sec[k]);
	if (sl->ms)
		eq_emit(s, EQ_OP_DEC, NULL);
}

/*
 * The plain program (steady sections only) runs each section with its b0
 * taken out, which saves a multiply per section and frame: with P_i the
 * product of b0 over sections 1 … i, section i fed v/P_{i-1} gives y/P_i
 * from its states divided by P_i,
 *	y' = v' + s1',  s1' ← (b1/b0)·v' − a1·y' + s2',  s2' ← (b2/b0)·v' − a2·y',
 * and the output is multiplied by P_n at the end.  The states are divided
 * when such a program is built and multiplied back when it is replaced
 * (the other paths and eq_slot_clean() see them divided meanwhile, which
 * only moves the flush threshold by P).  A product outside 1e±100 (deep
 * low-passes in series) keeps the per-sample path instead.
 */
static void eq_build(struct eq_priv *s)
{
	eq_v2 p = { 1.0, 1.0 };

	for (unsigned k = 0; k < s->n_scaled; k++) {
		struct eq_sec *sec = s->ops[k].p;

		sec->s1 *= s->scale[k];
		sec->s2 *= s->scale[k];
	}
	s->n_scaled = 0;
	s->n_ops = 0;
	for (unsigned i = 0; i <= EQ_BANDS; i++) {
		struct eq_band *b = &s->band[i];

		if (b->fading) {
			eq_emit(s, EQ_OP_FORK, NULL);
			eq_emit_slot(s, &b->slot[0]);
			eq_emit(s, EQ_OP_ALT, NULL);
			eq_emit_slot(s, &b->slot[1]);
			eq_emit(s, EQ_OP_MIX, b);
		} else if (!b->slot[0].skip) {
			eq_emit_slot(s, &b->slot[0]);
		}
	}
	/* a trailing decode after the last mid/side band stays: the output
	 * is left/right */
	s->plain = 1;
	for (unsigned k = 0; k < s->n_ops; k++) {
		const struct eq_sec *sec = s->ops[k].p;

		if (s->ops[k].kind != EQ_OP_SEC) {
			s->plain = 0;
			break;
		}
		p *= sec->c[0];
		s->scale[k] = p;
		if (!(fabs(p[0]) >= 1e-100 && fabs(p[0]) <= 1e100 &&
		      fabs(p[1]) >= 1e-100 && fabs(p[1]) <= 1e100))
			s->plain = 0;
	}
	if (s->plain) {
		for (unsigned k = 0; k < s->n_ops; k++) {
			struct eq_sec *sec = s->ops[k].p;
			struct eq_norm *nc = &s->norm[k];

			nc->c[0] = sec->c[1] / sec->c[0];
			nc->c[1] = sec->c[2] / sec->c[0];
			nc->c[2] = sec->c[3];
			nc->c[3] = sec->c[4];
			sec->s1 /= s->scale[k];
			sec->s2 /= s->scale[k];
		}
		s->n_scaled = s->n_ops;
		s->gain = p;
	}
	/* spans (eq_process()): only what eq_run8_avx() makes worth it,
	 * and only while no band can leave the program at a sub-block
	 * start (a unity band whose state drains, eq_band_rest()): then
	 * all that happens there is the states' cleaning, which the span
	 * does at the same frames */
	s->span = s->plain && s->avx && s->n_ops >= 8;
	for (unsigned i = 0; i <= EQ_BANDS; i++) {
		const struct eq_slot *sl = &s->band[i].slot[0];

		if (sl->cfg != EQ_CFG_OFF && !sl->skip && sl->unity)
			s->span = 0;
	}
	s->dirty = 0;
}

static inline eq_v2 eq_ms(eq_v2 v)
{
	return (eq_v2){ v[0] + v[1], v[0] - v[1] };
}

static inline eq_v2 eq_sec_run(struct eq_sec *sec, eq_v2 v)
{
	eq_v2 y = sec->c[0] * v + sec->s1;

	sec->s1 = sec->c[1] * v + sec->c[3] * y + sec->s2;
	sec->s2 = sec->c[2] * v + sec->c[4] * y;
	return y;
}

/* Flushes a section's tiny state to zero and clears non-finite or
 * runaway state, lane by lane.  Returns nonzero when its state is zero. */
static inline int eq_sec_clean(struct eq_sec *sec)
{
	/* both lanes written out: an element of a vector picked by a
	 * variable index goes through memory */
	eq_v2 s1 = sec->s1, s2 = sec->s2;
	double m0 = fabs(s1[0]) + fabs(s2[0]), m1 = fabs(s1[1]) + fabs(s2[1]);
	/* & rather than &&: four compares, one branch */
	int k0 = (m0 >= EQ_TINY) & (m0 <= EQ_HUGE), k1 = (m1 >= EQ_TINY) & (m1 <= EQ_HUGE);
	int zero = 1;

	if (k0 & k1)
		return 0;
	/* a lane out of range (or NaN) is cleared; an exact zero stays */
	if (k0)
		zero = 0;
	else
		s1[0] = s2[0] = 0.0;
	if (k1)
		zero = 0;
	else
		s1[1] = s2[1] = 0.0;
	sec->s1 = s1;
	sec->s2 = s2;
	return zero;
}

/* Sections op … end - 1 of the plain program over m <= CHAIN_SUBBLOCK
 * frames: from l, r when `first`, else from x[], into x[].  Up to four
 * sections at a time over the m frames, their states in registers: each
 * section's recursion is a chain of dependent operations from frame to
 * frame, and four of them side by side keep the arithmetic units busy. */
static void eq_groups(const struct eq_priv *s, const struct eq_op *op, const float *l,
		      const float *r, eq_v2 *x, unsigned m, int first)
{
	const struct eq_op *ops = s->ops, *end = ops + s->n_ops;

	while (op < end) {
		unsigned g = end - op >= 4 ? 4 : (unsigned)(end - op);
		const struct eq_norm *nc[4];
		eq_v2 s1[4], s2[4];

		for (unsigned q = 0; q < 4; q++) {
			/* a short group repeats its last section in the
			 * spare slots, unused; the coefficients are read
			 * where they are (a copy per sub-block costs more
			 * than it saves) */
			unsigned o = (unsigned)(op - ops) + (q < g ? q : g - 1);
			const struct eq_sec *sec = ops[o].p;

			nc[q] = &s->norm[o];
			s1[q] = sec->s1;
			s2[q] = sec->s2;
		}
		/* b0 taken out (eq_build()) */
#define EQ_SEC(q, v)                                                    \
	do {                                                            \
		const eq_v2 *c_ = nc[q]->c;                             \
		eq_v2 y_ = (v) + s1[q];                                 \
		s1[q] = c_[0] * (v) + c_[2] * y_ + s2[q];               \
		s2[q] = c_[1] * (v) + c_[3] * y_;                       \
		(v) = y_;                                               \
	} while (0)
/* the input, converted in the first group's loop */
#define EQ_IN(k) (first ? (eq_v2){ l[k], r[k] } : x[k])
		switch (g) {
		case 4:
			for (unsigned k = 0; k < m; k++) {
				eq_v2 v = EQ_IN(k);

				EQ_SEC(0, v);
				EQ_SEC(1, v);
				EQ_SEC(2, v);
				EQ_SEC(3, v);
				x[k] = v;
			}
			break;
		case 3:
			for (unsigned k = 0; k < m; k++) {
				eq_v2 v = EQ_IN(k);

				EQ_SEC(0, v);
				EQ_SEC(1, v);
				EQ_SEC(2, v);
				x[k] = v;
			}
			break;
		case 2:
			for (unsigned k = 0; k < m; k++) {
				eq_v2 v = EQ_IN(k);

				EQ_SEC(0, v);
				EQ_SEC(1, v);
				x[k] = v;
			}
			break;
		default:
			for (unsigned k = 0; k < m; k++) {
				eq_v2 v = EQ_IN(k);

				EQ_SEC(0, v);
				x[k] = v;
			}
			break;
		}
#undef EQ_IN
#undef EQ_SEC
		for (unsigned q = 0; q < g; q++) {
			struct eq_sec *w = op[q].p;

			w->s1 = s1[q];
			w->s2 = s2[q];
		}
		op += g;
		first = 0;
	}
}

#ifdef EQ_AVX
/* One steady section with b0 taken out on one frame, two lanes: the same
 * operations, in the same order, as EQ_SEC in eq_run(). */
#define EQ_SEC2(c_, s1_, s2_, v)                                        \
	do {                                                            \
		eq_v2 y_ = (v) + (s1_);                                 \
		(s1_) = (c_)[0] * (v) + (c_)[2] * y_ + (s2_);           \
		(s2_) = (c_)[1] * (v) + (c_)[3] * y_;                   \
		(v) = y_;                                               \
	} while (0)

/*
 * The first eight sections of a plain program over m >= 8 frames (within
 * a sub-block, or a span of whole sub-blocks from a sub-block start:
 * eq_process()), from l, r into x[] (before the gain), in AVX: four lanes
 * hold two sections
 * of both channels, so eight sections take four vectors of each operation
 * where SSE2 takes eight.  The sections are in series, so the second of
 * a pair runs one frame behind the first (it takes what the first gave in
 * the iteration before), and pair p runs 2p frames behind the first pair:
 * in iteration k section q works on frame k - q.  The staircase is filled
 * (frames 0 … 6 - q of section q) and drained (frames m - q … m - 1)
 * two lanes wide.  Every section sees the same inputs and does the same
 * operations in the same order as in eq_run() (no FMA: "avx" only), so
 * the output is the same to the bit, on any call size (tests/test_eq's
 * test_plain_paths() compares calls of 1 frame, two lanes only, with
 * calls of 1024).  In a span, section q is cleaned (eq_sec_clean(), in
 * four lanes, one half at a time) in the iteration in which it reaches
 * a sub-block start, so at the frame where eq_process() cleans it.  The
 * recursion of one section is 16 cycles a frame (add, multiply, add,
 * add: the order of the sums is kept, so no shorter); four pairs side by
 * side are about as many operations as two arithmetic ports do in that
 * time.  The fill and drain (56 section-frames two lanes wide) are what
 * spans of several sub-blocks save.
 */
/* eq_sec_clean() on one half of pair p (the other half is in `keep`),
 * the same compares on the same sums */
#define EQ_CLEAN4(p, keep)                                                      \
	do {                                                                    \
		__m256d a_ = _mm256_andnot_pd(sign, S1[p]) + _mm256_andnot_pd(sign, S2[p]); \
		__m256d k_ = _mm256_and_pd(_mm256_cmp_pd(a_, tiny, _CMP_GE_OQ),   \
					   _mm256_cmp_pd(a_, huge, _CMP_LE_OQ));  \
                                                                                \
		k_ = _mm256_or_pd(k_, (keep));                                  \
		S1[p] = _mm256_and_pd(S1[p], k_);                               \
		S2[p] = _mm256_and_pd(S2[p], k_);                               \
	} while (0)

__attribute__((target("avx")))
static void eq_run8_avx(const struct eq_priv *s, const struct eq_op *ops, const float *l,
			const float *r, unsigned m, eq_v2 *x)
{
	const eq_v2 *c[8];
	eq_v2 s1[8], s2[8], last[8];
	eq_v2 t[8][8];          /* t[q][f]: section q's output of frame f (fill) */
	eq_v2 e[8][8];          /* e[q][f - (m - 8)]: the same while draining */
	__m256d C[4][4], S1[4], S2[4], O[4];
	const __m256d sign = _mm256_set1_pd(-0.0);
	const __m256d tiny = _mm256_set1_pd(EQ_TINY), huge = _mm256_set1_pd(EQ_HUGE);
	const __m256d keep_hi = _mm256_castsi256_pd(_mm256_set_epi64x(-1, -1, 0, 0));
	const __m256d keep_lo = _mm256_castsi256_pd(_mm256_set_epi64x(0, 0, -1, -1));

	for (unsigned q = 0; q < 8; q++) {
		const struct eq_sec *sec = ops[q].p;

		c[q] = s->norm[q].c;
		s1[q] = sec->s1;
		s2[q] = sec->s2;
	}
	/* fill: section q on frames 0 … 6 - q */
	for (unsigned q = 0; q < 7; q++)
		for (unsigned f = 0; f + q < 7; f++) {
			eq_v2 v = q ? t[q - 1][f] : (eq_v2){ l[f], r[f] };

			EQ_SEC2(c[q], s1[q], s2[q], v);
			t[q][f] = v;
		}
	/* O[p]: the pair's outputs of the iteration before, (section 2p at
	 * frame 6 - 2p, section 2p + 1 at frame 5 - 2p); the last lane
	 * (section 7 at frame -1) is only ever stored, not read */
	for (unsigned p = 0; p < 4; p++) {
		eq_v2 hi = p < 3 ? t[2 * p + 1][5 - 2 * p] : (eq_v2){ 0.0, 0.0 };

		O[p] = _mm256_insertf128_pd(_mm256_castpd128_pd256((__m128d)t[2 * p][6 - 2 * p]),
					    (__m128d)hi, 1);
		S1[p] = _mm256_insertf128_pd(_mm256_castpd128_pd256((__m128d)s1[2 * p]),
					     (__m128d)s1[2 * p + 1], 1);
		S2[p] = _mm256_insertf128_pd(_mm256_castpd128_pd256((__m128d)s2[2 * p]),
					     (__m128d)s2[2 * p + 1], 1);
		for (unsigned i = 0; i < 4; i++)
			C[p][i] = _mm256_insertf128_pd(
				_mm256_castpd128_pd256((__m128d)c[2 * p][i]),
				(__m128d)c[2 * p + 1][i], 1);
	}
	for (unsigned k = 7; k < m; k++) {
		unsigned z = k % CHAIN_SUBBLOCK;
		__m128d in = (__m128d)(eq_v2){ l[k], r[k] };

		if (k >= CHAIN_SUBBLOCK && z < 8) {
			/* section z reaches a sub-block start: cleaned there */
			switch (z) {
			case 0: EQ_CLEAN4(0, keep_hi); break;
			case 1: EQ_CLEAN4(0, keep_lo); break;
			case 2: EQ_CLEAN4(1, keep_hi); break;
			case 3: EQ_CLEAN4(1, keep_lo); break;
			case 4: EQ_CLEAN4(2, keep_hi); break;
			case 5: EQ_CLEAN4(2, keep_lo); break;
			case 6: EQ_CLEAN4(3, keep_hi); break;
			default: EQ_CLEAN4(3, keep_lo); break;
			}
		}
		/* each pair's input: the frame (pair 0) or the upper lane of
		 * the pair before, then the lower lane of its own */
		__m256d v[4] = {
			_mm256_permute2f128_pd(_mm256_castpd128_pd256(in), O[0], 0x20),
			_mm256_permute2f128_pd(O[0], O[1], 0x21),
			_mm256_permute2f128_pd(O[1], O[2], 0x21),
			_mm256_permute2f128_pd(O[2], O[3], 0x21),
		};

		for (unsigned p = 0; p < 4; p++) {
			__m256d y = v[p] + S1[p];

			S1[p] = C[p][0] * v[p] + C[p][2] * y + S2[p];
			S2[p] = C[p][1] * v[p] + C[p][3] * y;
			O[p] = y;
		}
		x[k - 7] = (eq_v2)_mm256_extractf128_pd(O[3], 1);
	}
	for (unsigned p = 0; p < 4; p++) {
		s1[2 * p] = (eq_v2)_mm256_castpd256_pd128(S1[p]);
		s1[2 * p + 1] = (eq_v2)_mm256_extractf128_pd(S1[p], 1);
		s2[2 * p] = (eq_v2)_mm256_castpd256_pd128(S2[p]);
		s2[2 * p + 1] = (eq_v2)_mm256_extractf128_pd(S2[p], 1);
		last[2 * p] = (eq_v2)_mm256_castpd256_pd128(O[p]);
		last[2 * p + 1] = (eq_v2)_mm256_extractf128_pd(O[p], 1);
	}
	/* drain: section q on frames m - q … m - 1; its first input is the
	 * last output of section q - 1 in the loop (frame m - q) */
	for (unsigned q = 1; q < 8; q++)
		for (unsigned f = 8 - q; f < 8; f++) {
			eq_v2 v = f == 8 - q ? last[q - 1] : e[q - 1][f];

			EQ_SEC2(c[q], s1[q], s2[q], v);
			e[q][f] = v;
		}
	for (unsigned f = 1; f < 8; f++)
		x[m - 8 + f] = e[7][f];
	for (unsigned q = 0; q < 8; q++) {
		struct eq_sec *sec = ops[q].p;

		sec->s1 = s1[q];
		sec->s2 = s2[q];
	}
}
#undef EQ_SEC2
#undef EQ_CLEAN4
#endif

/* RT-safe.  Runs the program over m frames in place. */
static void eq_run(struct eq_priv *s, float *l, float *r, unsigned m)
{
	const struct eq_op *ops = s->ops, *end = ops + s->n_ops;

	if (s->plain) {
		/* only steady sections, b0 taken out (eq_build()): no
		 * dispatch.  The first eight in AVX where there is AVX, the
		 * rest (or all) by eq_groups(); m is up to EQ_SPAN frames
		 * from a sub-block start (eq_process()), else within one
		 * sub-block */
		eq_v2 x[EQ_SPAN];
		int first = 1;
		const struct eq_op *op = ops;

#ifdef EQ_AVX
		if (s->avx && end - ops >= 8 && m >= 8) {
			eq_run8_avx(s, ops, l, r, m, x);
			op += 8;
			first = 0;
		}
#endif
		for (unsigned c0 = 0; c0 < m; c0 += CHAIN_SUBBLOCK) {
			unsigned mc = m - c0 < CHAIN_SUBBLOCK ? m - c0 : CHAIN_SUBBLOCK;

			/* a span of whole sub-blocks (eq_process()): the states
			 * are cleaned at each sub-block start, as there */
			if (c0)
				for (const struct eq_op *o = op; o < end; o++)
					eq_sec_clean(o->p);
			if (op < end)
				eq_groups(s, op, l + c0, r + c0, x + c0, mc, first);
		}
		for (unsigned k = 0; k < m; k++) {
			eq_v2 v = x[k] * s->gain;

			l[k] = (float)v[0];
			r[k] = (float)v[1];
		}
		return;
	}
	for (unsigned k = 0; k < m; k++) {
		eq_v2 v = { l[k], r[k] }, in = v, y0 = v;

		for (const struct eq_op *op = ops; op < end; op++) {
			struct eq_sec *sec = op->p;

			switch (op->kind) {
			case EQ_OP_RAMP:
				for (unsigned i = 0; i < EQ_NCOEF; i++)
					sec->c[i] += sec->d[i];
				/* fall through */
			case EQ_OP_SEC:
				v = eq_sec_run(sec, v);
				break;
			case EQ_OP_ENC:
				v = eq_ms(v) * 0.5;
				break;
			case EQ_OP_DEC:
				v = eq_ms(v);
				break;
			case EQ_OP_FORK:
				in = v;
				break;
			case EQ_OP_ALT:
				y0 = v;
				v = in;
				break;
			case EQ_OP_MIX: {
				struct eq_band *b = op->p;

				b->fade += s->fade_step;
				if (b->fade > 1.0)
					b->fade = 1.0;
				v = y0 + (v - y0) * b->fade;
				break;
			}
			}
		}
		l[k] = (float)v[0];
		r[k] = (float)v[1];
	}
}

/* ---- per sub-block ---- */

/* Flushes tiny state to zero and clears non-finite or runaway state.
 * Returns nonzero when every section's state is zero. */
static inline int eq_slot_clean(struct eq_slot *sl)
{
	int zero = 1;

	for (unsigned k = 0; k < sl->n; k++)
		zero &= eq_sec_clean(&sl->sec[k]);
	return zero;
}

/* A smoother that has landed: stepping it changes nothing. */
static int eq_settled(const struct chain_smooth *c)
{
	return c->start == c->end && c->end == c->target;
}

/* A band at rest (eq_band_block() returned 1) at a sub-block start: only
 * its states are kept clean, and a unity band whose state has drained
 * leaves the program. */
static void eq_band_rest(struct eq_priv *s, struct eq_band *b)
{
	struct eq_slot *sl = &b->slot[0];
	int skip;

	if (sl->cfg == EQ_CFG_OFF)
		return;
	skip = sl->unity && eq_slot_clean(sl);
	if (!sl->unity)
		eq_slot_clean(sl);
	if (skip != sl->skip) {
		sl->skip = skip;
		s->dirty = 1;
	}
}

/* The band's sub-block start; returns 1 when it is at rest: nothing moves
 * and nothing will until a parameter is set. */
static int eq_band_block(struct eq_priv *s, unsigned index)
{
	struct eq_band *b = &s->band[index];
	int cfg = eq_cfg(b, index), moved;

	if (b->slot[0].cfg == EQ_CFG_OFF && !b->fading && cfg == EQ_CFG_OFF) {
		/* silent: its values may jump */
		chain_smooth_set(&b->freq, b->freq.target, 1);
		chain_smooth_set(&b->gain, b->gain.target, 1);
		chain_smooth_set(&b->q, b->q.target, 1);
		return 1;
	}
	if (!b->fading && !b->slot[0].ramp && cfg == b->slot[0].cfg &&
	    eq_settled(&b->freq) && eq_settled(&b->gain) && eq_settled(&b->q)) {
		/* nothing moves: what is below would only step the smoothers
		 * in place; keep the states clean */
		eq_band_rest(s, b);
		return 1;
	}
	chain_smooth_block(&b->freq);
	if (b->freq.end > b->freq.start + EQ_OCT_MAX)
		b->freq.end = b->freq.start + EQ_OCT_MAX;
	else if (b->freq.end < b->freq.start - EQ_OCT_MAX)
		b->freq.end = b->freq.start - EQ_OCT_MAX;
	chain_smooth_block(&b->gain);
	chain_smooth_block(&b->q);
	moved = !chain_smooth_steady(&b->freq) || !chain_smooth_steady(&b->gain) ||
		!chain_smooth_steady(&b->q);

	if (b->fading && b->fade >= 1.0) {
		b->slot[0] = b->slot[1];
		b->fading = 0;
		s->dirty = 1;
	}
	/* ramps: the last one has landed; a new one if a value moves */
	for (int k = 0; k < 1 + b->fading; k++) {
		struct eq_slot *sl = &b->slot[k];

		if (sl->cfg == EQ_CFG_OFF)
			continue;
		if (sl->ramp) {
			for (unsigned i = 0; i < sl->n; i++)
				memcpy(sl->sec[i].c, sl->sec[i].t, sizeof(sl->sec[i].c));
			sl->ramp = 0;
			s->dirty = 1;
		}
		if (moved) {
			eq_slot_update(s, b, sl, 1);
			s->dirty = 1;
		}
	}
	if (!b->fading && cfg != b->slot[0].cfg) {
		eq_slot_init(s, b, &b->slot[1], cfg);
		b->fading = 1;
		b->fade = 0.0;
		s->dirty = 1;
	}
	for (int k = 0; k < 1 + b->fading; k++) {
		struct eq_slot *sl = &b->slot[k];
		int zero, skip;

		if (sl->cfg == EQ_CFG_OFF)
			continue;
		zero = eq_slot_clean(sl);
		skip = !b->fading && !sl->ramp && sl->unity && zero;
		if (skip != sl->skip) {
			sl->skip = skip;
			s->dirty = 1;
		}
	}
	return 0;
}

/* ---- the processor ---- */

static void eq_snap_all(struct eq_priv *s)
{
	for (unsigned i = 0; i <= EQ_BANDS; i++) {
		struct eq_band *b = &s->band[i];

		chain_smooth_set(&b->freq, b->freq.target, 1);
		chain_smooth_set(&b->gain, b->gain.target, 1);
		chain_smooth_set(&b->q, b->q.target, 1);
		b->fading = 0;
		b->fade = 0.0;
		eq_slot_init(s, b, &b->slot[0], eq_cfg(b, i));
		b->slot[0].skip = b->slot[0].unity;
	}
	s->dirty = 1;
	s->rest = 0;
}

static int eq_init(struct chain_proc *p, double rate, unsigned max_frames)
{
	struct eq_priv *s = p->priv;

	(void)max_frames;
	s->rate = rate;
#ifdef EQ_AVX
	__builtin_cpu_init();
	s->avx = __builtin_cpu_supports("avx");
#endif
	s->fade_step = 1.0 / fmax(1.0, round(EQ_FADE_MS * 1e-3 * rate));
	for (unsigned i = 0; i <= EQ_BANDS; i++) {
		struct eq_band *b = &s->band[i];
		const struct chain_param *bp = &eq_params[i * EQ_BAND_NP];
		double f, q = 1.0;

		if (i == EQ_TILT_BAND) {
			f = eq_params[EQ_P_TILT_HZ].def;
		} else {
			f = fmin(bp[EQ_P_FREQ].def, EQ_FMAX * rate);
			q = bp[EQ_P_Q].def;
			b->type = (unsigned)bp[EQ_P_TYPE].def;
			b->slope = (unsigned)bp[EQ_P_SLOPE].def;
		}
		chain_smooth_init(&b->freq, rate, EQ_TAU_MS, EQ_FREQ_SNAP, log2(f));
		chain_smooth_init(&b->gain, rate, EQ_TAU_MS, EQ_GAIN_SNAP, 0.0);
		chain_smooth_init(&b->q, rate, EQ_TAU_MS, EQ_Q_SNAP, log2(q));
	}
	s->n_scaled = 0;
	eq_snap_all(s);
	s->pos = 0;
	return CHAIN_OK;
}

static void eq_set_param(struct chain_proc *p, unsigned id, float value, int snap)
{
	struct eq_priv *s = p->priv;
	unsigned i = id / EQ_BAND_NP;
	struct eq_band *b;
	double v = value;

	if (id >= EQ_N_PARAMS)
		return;
	s->rest = 0;
	if (id == EQ_P_TILT_DB || id == EQ_P_TILT_HZ) {
		b = &s->band[EQ_TILT_BAND];
		if (id == EQ_P_TILT_DB)
			chain_smooth_set(&b->gain, v, snap);
		else
			chain_smooth_set(&b->freq, log2(fmin(v, EQ_TILT_FMAX * s->rate)), snap);
	} else {
		b = &s->band[i];
		switch (id % EQ_BAND_NP) {
		case EQ_P_ON:
			b->on = v >= 0.5;
			break;
		case EQ_P_TYPE:
			b->type = (unsigned)lround(v);
			break;
		case EQ_P_SLOPE:
			b->slope = (unsigned)lround(v);
			break;
		case EQ_P_CHANNEL:
			b->channel = (unsigned)lround(v);
			break;
		case EQ_P_FREQ:
			chain_smooth_set(&b->freq, log2(fmin(v, EQ_FMAX * s->rate)), snap);
			break;
		case EQ_P_GAIN:
			chain_smooth_set(&b->gain, v, snap);
			break;
		case EQ_P_Q:
			chain_smooth_set(&b->q, log2(v), snap);
			break;
		}
	}
	if (snap) {
		/* at once: no glide, no fade, the state of a changed
		 * configuration starts from zero */
		int cfg = eq_cfg(b, i < EQ_BANDS ? i : EQ_TILT_BAND);

		if (b->fading || cfg != b->slot[0].cfg) {
			b->fading = 0;
			eq_slot_init(s, b, &b->slot[0], cfg);
		} else if (cfg != EQ_CFG_OFF) {
			eq_slot_update(s, b, &b->slot[0], 0);
		}
		b->slot[0].skip = 0;
		s->dirty = 1;
	}
}

static void eq_process(struct chain_proc *p, float *const *buf, unsigned n)
{
	struct eq_priv *s = p->priv;
	float *l = buf[0], *r = buf[1];
	unsigned i = 0;

	while (i < n) {
		unsigned j = (unsigned)(s->pos % CHAIN_SUBBLOCK);
		unsigned m = CHAIN_SUBBLOCK - j;

		if (m > n - i)
			m = n - i;
		if (j == 0 && s->rest) {
			/* nothing can move: skip the checks */
			for (unsigned b = 0; b <= EQ_BANDS; b++)
				eq_band_rest(s, &s->band[b]);
		} else if (j == 0) {
			int rest = 1;

			for (unsigned b = 0; b <= EQ_BANDS; b++)
				rest &= eq_band_block(s, b);
			s->rest = rest;
		}
		if (s->dirty)
			eq_build(s);
		if (j == 0 && s->rest && s->span && n - i >= 2 * CHAIN_SUBBLOCK) {
			/* at rest: whole sub-blocks in one pass */
			m = (n - i) / CHAIN_SUBBLOCK * CHAIN_SUBBLOCK;
			m = m < EQ_SPAN ? m : EQ_SPAN;
		}
		if (s->n_ops)
			eq_run(s, l + i, r + i, m);
		i += m;
		s->pos += m;
	}
}

static void eq_reset(struct chain_proc *p)
{
	struct eq_priv *s = p->priv;

	eq_snap_all(s);
	s->pos = 0;
}

static unsigned eq_latency(const struct chain_proc *p)
{
	(void)p;
	return 0;
}

static void eq_destroy(struct chain_proc *p)
{
	(void)p;
}

const struct chain_proc_ops chain_eq_ops = {
	.name = "eq",
	.glide_ms = EQ_TAU_MS,
	.label = "Equaliser",
	.bypass = CHAIN_BYPASS_ON,
	.priv_size = sizeof(struct eq_priv),
	.params = eq_params,
	.n_params = EQ_N_PARAMS,
	.init = eq_init,
	.set_param = eq_set_param,
	.process = eq_process,
	.reset = eq_reset,
	.latency = eq_latency,
	.gain_reduction_db = NULL,
	.destroy = eq_destroy,
};

/*
 * termaster — band solo (see chain/bandsolo.h).
 *
 * Why Linkwitz-Riley 16th order (96 dB/oct).  Two bands are narrow: 250-500
 * Hz is one octave, 2-6 kHz 1.6 octaves.  At the log-centre of a one-octave
 * band each edge is half an octave away, where an LR crossover of order 2N
 * loses 20·log10(1 + 2^-N) dB: LR4 1.9 dB, LR8 0.53, LR12 0.13, LR16 0.034.
 * Two edges, and only LR16 holds that band's centre within 0.1 dB of 0 dB
 * (0.068 dB); LR8 would play it 1.05 dB down and 2-6 kHz 0.21 dB down.
 * LR16 also isolates: -40 dB 0.415 octave beyond an edge (LR8: 0.83), so a
 * one-octave band is not drowned by its neighbours' spill.  The price is
 * ringing where the periods are long: the highest section Q is 2.56 (LR8:
 * 1.31), and band 1's impulse response takes 150 ms to fall 60 dB.
 * Odd-order Butterworth or elliptic power-complementary pairs (two
 * all-pass branches) are cheaper per dB/oct, but leave low and high 90°
 * apart at the crossover (a dip when neighbours crossfade) and elliptic
 * ones ring more (Q of 10 and more); LR low and high are in phase at the
 * crossover.
 *
 * Per crossover (bilinear transform, prewarped to the crossover, biquads
 * in transposed direct form II, double precision):
 *
 *	BW8(s) = prod_i (s² + s/Q_i + 1),  1/Q_i = 2·cos((2i + 1)·pi/16),
 *		 i = 0 … 3 (Q = 0.510, 0.601, 0.900, 2.563)
 *	HP = s^16 / BW8(s)²               8 sections: each HP section twice
 *	AP = BW8(-s) / BW8(s)             4 all-pass sections
 *	LP = 1 / BW8(s)² = AP - HP        since BW8(s)·BW8(-s) = 1 + s^16
 *
 * so LP costs a subtraction, and LP + HP = AP holds by construction
 * (chain/multiband.c does the same at 4th order).  The bilinear transform
 * maps each all-pass section to a digital all-pass, so this holds for the
 * digital filters exactly.
 *
 * The tree, with all-pass compensation (x_k: the input high-passed at
 * crossovers 1 … k; AP_k, LP_k, HP_k: crossover k):
 *
 *	b1 = AP5 AP4 AP3 AP2 LP1 x
 *	b2 = AP5 AP4 AP3 LP2 x1
 *	b3 = AP5 AP4 LP3 x2
 *	b4 = AP5 LP4 x3
 *	b5 = LP5 x4
 *	b6 = x5 = HP5 HP4 HP3 HP2 HP1 x
 *
 * b1 + … + b6 = AP1 … AP5 x, an all-pass.  Each band has its own
 * compensation all-passes (40 sections) and the band weights are applied
 * to the finished bands: out = w0·x + w1·b1 + … + w6·b6.  (Nesting the
 * compensation, acc = AP_k(acc) + w_k·LP_k x_(k-1), would share it and
 * save 24 sections, but a weight that moves before an all-pass comes out
 * delayed by the all-pass's group delay: an LR16 all-pass delays by 3.6
 * ms an octave below its crossover, and two neighbours crossfading at
 * their crossover then dipped by 5 dB, off/on switches by more.)
 *
 * Cost: 5 × 12 + 40 = 100 sections per channel, L and R in the two lanes
 * of a vector (GCC/Clang vector extensions: SSE2 on x86-64, NEON on
 * AArch64).  The high-pass sections run with an un-normalised numerator
 * (1, -2, 1) and the eight gains applied once before them: the chain of 40
 * high-pass sections that each sample runs through is the critical path,
 * and this makes it 40 additions instead of 40 multiply-adds (93 -> 75 ns
 * per frame when there were 76 sections).  Speed: see tests/test_bandsolo.c
 * (90-110 ns per stereo frame at 48 kHz, soloing or kept warm, on one
 * x86-64 core, AMD EPYC, SSE2 code; 0.05 ns while idle).
 *
 * Switching.  All weights are raised cosines over N = CHAIN_BANDSOLO_FADE_MS
 * (w = (1 - cos(pi·c/N)) / 2, c = 0 … N counting one per sample), so a
 * weight moves at most sin(pi/(2N)) per sample and two complementary
 * weights sum to 1 throughout:
 *  - between bands (soloing): w_k and w_m cross at once; every filter is
 *    running, so the band faded in is settled;
 *  - a band to off and back: w_k and w0 cross.  With keep-warm (the
 *    default) the filters go on running while off, on the input, so a solo
 *    from off is one crossfade like any other (DESIGN.md keeps a bypassed
 *    chain running for the same reason);
 *  - without keep-warm, once the output is dry the filters stop and clear
 *    (idle: process() costs nothing).  A solo from idle fades the filters'
 *    input in over N samples (the gate), so they never start with a step,
 *    and keeps the output dry for BS_WARM_MS more while they settle.
 *    Without settling, their onset would be heard (a 100 Hz tone in band 2
 *    overshot by 0.8 dB; 0.04 dB after 80 ms) and the band would come in
 *    late against the dry input fading out (a 40 Hz tone in band 1 dipped
 *    to -11 dB; -0.1 dB after 80 ms).  Then w0 and w_k cross.
 * While the output is dry (w0 = 1) the buffer is not written: off is
 * bit-exact from the end of the fade, warm or idle.
 *
 * Denormals: filter states under BS_FLUSH (-360 dB) are set to 0 at every
 * sub-block of CHAIN_SUBBLOCK frames on the absolute frame counter (NaN
 * too), so silence ends in exact zeros.  The input is clamped
 * (bandsolo.h), so no state can overflow; a last guard clears the filters
 * if one ever is not finite.
 *
 * Block sizes: everything moves per sample or per sub-block of the
 * absolute frame counter, so any split of the calls gives the same output,
 * bit for bit.
 */
#include "config.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "chain/bandsolo.h"
#include "chain/chain.h"
#include "chain/processor.h"

#define BS_XOVERS (CHAIN_BANDSOLO_BANDS - 1)
#define BS_SECTIONS 4           /* 2nd-order sections of BW8 */
#define BS_FLUSH 1e-18          /* filter state under this is 0 */
#define BS_MAX_FS 0.45          /* crossovers exist below this · rate */
#define BS_RATE_MIN 8000.0
#define BS_RATE_MAX 384000.0
/* settling before a band fades in from idle, after the gate's fade */
#define BS_WARM_MS (CHAIN_BANDSOLO_WAKE_MS - CHAIN_BANDSOLO_FADE_MS)

static const double bs_edges_hz[BS_XOVERS] = CHAIN_BANDSOLO_EDGES_HZ;

static const char *const bs_names[CHAIN_BANDSOLO_BANDS + 1] = {
	"off", "below 60 Hz", "60-250 Hz", "250-500 Hz", "500 Hz-2 kHz", "2-6 kHz",
	"above 6 kHz",
};

typedef double bs_v2 __attribute__((vector_size(16)));
typedef long long bs_i2 __attribute__((vector_size(16)));

/* One section's state, (L, R) lanes. */
struct bs_z {
	bs_v2 s1, s2;
};

/* One BW8 section at one crossover: the high-pass is n·(1, -2, 1) /
 * (1, a1, a2), run as (1, -2, 1) / (1, a1, a2) with the gains n of all
 * eight high-pass sections applied once, before them (hp_gain); the
 * all-pass is (a2, a1, 1) / (1, a1, a2).  In both lanes (no broadcast per
 * sample). */
struct bs_coef {
	bs_v2 a1, a2;
};

/* The filters of one crossover (the split) and the compensation
 * all-passes for it of the bands below it (comp[k]: band k + 1). */
struct bs_xover {
	struct bs_z hp[2 * BS_SECTIONS];         /* HP: the sections, twice */
	struct bs_z ap[BS_SECTIONS];             /* AP, for LP = AP - HP */
	struct bs_z comp[BS_XOVERS][BS_SECTIONS];  /* comp[k], k < crossover */
};

#define BS_Z_N ((size_t)BS_XOVERS * (3 + BS_XOVERS) * BS_SECTIONS)

/*
 * State glossary:
 *   nx        crossovers that exist at this rate (those under BS_MAX_FS)
 *   c[][]     coefficients per crossover and section
 *   hp_gain[] product of the eight high-pass gains n, per crossover
 *   z[]       filter states; all of them as one array zs[] for flushing
 *   band      the band last set, 0 … 6
 *   cnt[]     output weight counters 0 … nfade: [0] the dry input, [k]
 *             band k; w[] = fade[cnt[]], the weights as applied
 *   tgt[]     where each output counter goes (0 or nfade)
 *   gate      counter 0 … nfade of the filters' input weight, wg
 *   warm      frames of settling left after the gate has opened
 *   moving    the gate, the settling or an output counter has to move
 *   dry       w0 = 1, the band weights 0: the output is not written
 *   keep_warm the filters run while off (chain_bandsolo_keep_warm())
 *   idle      off, dry, not kept warm: the filters are clear, do not run
 *   pos       frames since new/reset; sub-blocks start at pos % 32 = 0
 *   fade[]    raised cosine, fade[0] = 0 … fade[nfade] = 1
 */
struct chain_bandsolo {
	double rate;
	int nx;
	struct bs_coef c[BS_XOVERS][BS_SECTIONS];
	bs_v2 hp_gain[BS_XOVERS];
	union {
		struct bs_xover z[BS_XOVERS];
		struct bs_z zs[BS_Z_N];
	};
	int band;
	int cnt[CHAIN_BANDSOLO_BANDS + 1];
	int tgt[CHAIN_BANDSOLO_BANDS + 1];
	double w[CHAIN_BANDSOLO_BANDS + 1];
	int gate;
	double wg;
	int warm;
	int moving;
	int dry;
	int keep_warm;
	int idle;
	unsigned long long pos;
	int nfade;
	int nwarm;
	double fade[];
};

/* ---- design ---- */

static int bs_rate_ok(double rate)
{
	return rate >= BS_RATE_MIN && rate <= BS_RATE_MAX;
}

static int bs_count_xovers(double rate)
{
	int nx = 0;

	while (nx < BS_XOVERS && bs_edges_hz[nx] < BS_MAX_FS * rate)
		nx++;
	return nx;
}

/* 1/Q of BW8 section i: 2·cos((2i + 1)·pi/16), lowest Q first. */
static double bs_inv_q(int i)
{
	return 2.0 * cos((2 * i + 1) * M_PI / 16.0);
}

static void bs_design(struct chain_bandsolo *b)
{
	for (int x = 0; x < b->nx; x++) {
		double g = tan(M_PI * bs_edges_hz[x] / b->rate), gain = 1.0;

		for (int i = 0; i < BS_SECTIONS; i++) {
			double k = bs_inv_q(i) * g, n = 1.0 / (1.0 + k + g * g);
			double a1 = 2.0 * (g * g - 1.0) * n, a2 = (1.0 - k + g * g) * n;

			b->c[x][i] = (struct bs_coef){ { a1, a1 }, { a2, a2 } };
			gain *= n * n;
		}
		b->hp_gain[x] = (bs_v2){ gain, gain };
	}
}

/* 20·log10(1 / (1 + r^16)) */
static double bs_db_lp(double r)
{
	return -20.0 / M_LN10 * log1p(pow(r, 16.0));
}

const char *chain_bandsolo_name(int band)
{
	if (band < 0 || band > CHAIN_BANDSOLO_BANDS)
		return NULL;
	return bs_names[band];
}

int chain_bandsolo_edges_hz(int band, double *lo_hz, double *hi_hz)
{
	double lo = 0.0, hi = INFINITY;

	if (band < 0 || band > CHAIN_BANDSOLO_BANDS)
		return CHAIN_ERROR_RANGE;
	if (band >= 2)
		lo = bs_edges_hz[band - 2];
	if (band >= 1 && band <= BS_XOVERS)
		hi = bs_edges_hz[band - 1];
	if (lo_hz)
		*lo_hz = lo;
	if (hi_hz)
		*hi_hz = hi;
	return CHAIN_OK;
}

double chain_bandsolo_response_db(double rate, int band, double freq_hz)
{
	int nx;
	double u, db = 0.0;

	if (!bs_rate_ok(rate) || band < 0 || band > CHAIN_BANDSOLO_BANDS ||
	    !(freq_hz > 0.0 && freq_hz < 0.5 * rate))
		return NAN;
	if (band == 0)
		return 0.0;
	nx = bs_count_xovers(rate);
	if (band > nx + 1)
		return -INFINITY;
	u = tan(M_PI * freq_hz / rate);
	/* the high-passes of every crossover below: HP = 1 / (1 + (1/r)^16) */
	for (int x = 0; x < band - 1; x++)
		db += bs_db_lp(tan(M_PI * bs_edges_hz[x] / rate) / u);
	/* the upper edge: LP (the all-passes change no magnitude) */
	if (band <= nx)
		db += bs_db_lp(u / tan(M_PI * bs_edges_hz[band - 1] / rate));
	return db;
}

/* ---- the sections ---- */

/* (1, -2, 1) / (1, a1, a2): from x to y one addition. */
static inline bs_v2 bs_highpass(struct bs_z *z, const struct bs_coef *c, bs_v2 x)
{
	bs_v2 y = x + z->s1;

	z->s1 = (z->s2 - 2.0 * x) - c->a1 * y;
	z->s2 = x - c->a2 * y;
	return y;
}

static inline bs_v2 bs_allpass(struct bs_z *z, const struct bs_coef *c, bs_v2 x)
{
	bs_v2 y = c->a2 * x + z->s1;

	z->s1 = z->s2 + c->a1 * (x - y);
	z->s2 = x - c->a2 * y;
	return y;
}

static inline bs_v2 bs_abs(bs_v2 v)
{
	return (bs_v2)((bs_i2)v & (bs_i2){ INT64_MAX, INT64_MAX });
}

/* v where |v| >= BS_FLUSH, else 0 (NaN gives 0). */
static inline bs_v2 bs_flush(bs_v2 v)
{
	return (bs_v2)((bs_i2)(bs_abs(v) >= BS_FLUSH) & (bs_i2)v);
}

/* ---- fades ---- */

static void bs_weights(struct chain_bandsolo *b)
{
	int moving = b->gate != b->nfade || b->warm > 0;
	int dry = b->cnt[0] == b->nfade;

	for (int k = 0; k <= CHAIN_BANDSOLO_BANDS; k++) {
		b->w[k] = b->fade[b->cnt[k]];
		moving |= b->cnt[k] != b->tgt[k];
		if (k > 0)
			dry &= b->cnt[k] == 0;
	}
	b->wg = b->fade[b->gate];
	b->moving = moving;
	b->dry = dry;
}

/* One frame of the fades: the gate opens; then the filters settle; then
 * the output weights move. */
static inline void bs_step(struct chain_bandsolo *b)
{
	int moving = 0, dry = 1;

	if (b->gate < b->nfade) {
		b->gate++;
		b->wg = b->fade[b->gate];
		b->warm = b->nwarm;
		return;
	}
	if (b->warm > 0) {
		b->warm--;
		return;
	}
	for (int k = 0; k <= CHAIN_BANDSOLO_BANDS; k++) {
		int c = b->cnt[k], t = b->tgt[k];

		if (c != t) {
			c += c < t ? 1 : -1;
			b->cnt[k] = c;
			b->w[k] = b->fade[c];
		}
		moving |= c != t;
		dry &= k == 0 ? c == b->nfade : c == 0;
	}
	b->moving = moving;
	b->dry = dry;
}

static void bs_targets(struct chain_bandsolo *b)
{
	for (int k = 0; k <= CHAIN_BANDSOLO_BANDS; k++)
		b->tgt[k] = k == b->band ? b->nfade : 0;
}

static void bs_clear(struct chain_bandsolo *b)
{
	memset(b->zs, 0, sizeof(b->zs));
}

/* Off and dry: stop the filters. */
static void bs_go_idle(struct chain_bandsolo *b)
{
	bs_clear(b);
	b->gate = 0;
	b->warm = 0;
	memcpy(b->cnt, b->tgt, sizeof(b->cnt));
	bs_weights(b);
	b->idle = 1;
}

/* Leave idle: the gate opens, then the filters settle (the output stays
 * dry meanwhile: the output counters wait for both). */
static void bs_wake(struct chain_bandsolo *b)
{
	if (!b->idle)
		return;
	b->idle = 0;
	b->gate = 0;
	b->warm = b->nwarm;
	bs_weights(b);
}

/* ---- the processor ---- */

struct chain_bandsolo *chain_bandsolo_new(double rate, int *err)
{
	struct chain_bandsolo *b;
	int nfade;
	size_t size;
	void *mem;

	if (!bs_rate_ok(rate)) {
		if (err)
			*err = CHAIN_ERROR_RATE;
		return NULL;
	}
	nfade = (int)lround(CHAIN_BANDSOLO_FADE_MS * 1e-3 * rate);
	size = sizeof(*b) + ((size_t)nfade + 1) * sizeof(double);
	size = (size + 63) & ~(size_t)63;
	/* the vector states want 16-byte alignment; give them a cache line */
	mem = aligned_alloc(64, size);
	if (!mem) {
		if (err)
			*err = CHAIN_ERROR_NOMEM;
		return NULL;
	}
	b = mem;
	memset(b, 0, sizeof(*b));
	b->rate = rate;
	b->nx = bs_count_xovers(rate);
	b->nfade = nfade;
	b->nwarm = (int)lround(BS_WARM_MS * 1e-3 * rate);
	for (int i = 0; i <= nfade; i++)
		b->fade[i] = 0.5 - 0.5 * cos(M_PI * i / nfade);
	b->fade[0] = 0.0;
	b->fade[nfade] = 1.0;
	bs_design(b);
	b->band = 0;
	b->keep_warm = 1;
	bs_targets(b);
	chain_bandsolo_reset(b);
	if (err)
		*err = CHAIN_OK;
	return b;
}

void chain_bandsolo_free(struct chain_bandsolo **b)
{
	if (!b || !*b)
		return;
	free(*b);
	*b = NULL;
}

int chain_bandsolo_set(struct chain_bandsolo *b, int band, int snap)
{
	if (band < 0 || band > CHAIN_BANDSOLO_BANDS)
		return CHAIN_ERROR_RANGE;
	b->band = band;
	bs_targets(b);
	if (snap && band == 0 && !b->keep_warm) {
		bs_go_idle(b);
		return CHAIN_OK;
	}
	if (snap) {
		/* the output lands at once; the filters go on as they are
		 * (from idle: from silence, with their input at full weight) */
		memcpy(b->cnt, b->tgt, sizeof(b->cnt));
		if (b->idle || band != 0) {
			b->idle = 0;
			b->gate = b->nfade;
			b->warm = 0;
		}
	} else if (band != 0) {
		bs_wake(b);
	}
	bs_weights(b);
	return CHAIN_OK;
}

int chain_bandsolo_band(const struct chain_bandsolo *b)
{
	return b->band;
}

void chain_bandsolo_keep_warm(struct chain_bandsolo *b, int on)
{
	b->keep_warm = on != 0;
	if (b->keep_warm)
		bs_wake(b);
}

void chain_bandsolo_reset(struct chain_bandsolo *b)
{
	b->pos = 0;
	if (b->band == 0 && !b->keep_warm) {
		bs_go_idle(b);
		return;
	}
	/* from silence, input at full weight; soloing: heard at once (as a
	 * render from the start); off: the output waits for them to settle */
	bs_clear(b);
	memcpy(b->cnt, b->tgt, sizeof(b->cnt));
	b->gate = b->nfade;
	b->warm = b->band == 0 ? b->nwarm : 0;
	b->idle = 0;
	bs_weights(b);
}

int chain_bandsolo_idle(const struct chain_bandsolo *b)
{
	return b->idle;
}

unsigned chain_bandsolo_latency(const struct chain_bandsolo *b)
{
	(void)b;
	return 0;
}

/* Start of a sub-block: flush tiny states; off and dry: idle. */
static void bs_subblock(struct chain_bandsolo *b)
{
	if (b->idle)
		return;
	if (b->band == 0 && b->dry && !b->keep_warm) {
		bs_go_idle(b);
		return;
	}
	for (size_t i = 0; i < BS_Z_N; i++) {
		b->zs[i].s1 = bs_flush(b->zs[i].s1);
		b->zs[i].s2 = bs_flush(b->zs[i].s2);
	}
}

static inline double bs_in(float v)
{
	if (!(fabsf(v) <= 3.4028235e38f))
		return 0.0;
	if (v > CHAIN_BANDSOLO_CLAMP)
		return CHAIN_BANDSOLO_CLAMP;
	if (v < -CHAIN_BANDSOLO_CLAMP)
		return -CHAIN_BANDSOLO_CLAMP;
	return v;
}

/*
 * m frames through the tree.  `moving` is a constant in each inlined copy:
 * the steady one keeps the weights in locals.  Per crossover i, the split's
 * high-pass and all-pass chains and the compensation all-passes of the
 * bands below it are independent chains, interleaved for the CPU to
 * overlap.
 */
static inline __attribute__((always_inline)) void
bs_run(struct chain_bandsolo *b, float *L, float *R, unsigned m, const int moving)
{
	const int nx = b->nx;
	double w[CHAIN_BANDSOLO_BANDS + 1], wg = b->wg;
	int dry = b->dry;

	memcpy(w, b->w, sizeof(w));
	for (unsigned k = 0; k < m; k++) {
		bs_v2 x, s, out, v[CHAIN_BANDSOLO_BANDS];

		if (moving) {
			bs_step(b);
			memcpy(w, b->w, sizeof(w));
			wg = b->wg;
			dry = b->dry;
		}
		x = (bs_v2){ bs_in(L[k]), bs_in(R[k]) };
		s = wg * x;
		for (int i = 0; i < nx; i++) {
			struct bs_xover *z = &b->z[i];
			const struct bs_coef *c = b->c[i];
			bs_v2 h = b->hp_gain[i] * s, a = s;

#pragma GCC unroll 4
			for (int j = 0; j < BS_SECTIONS; j++) {
				h = bs_highpass(&z->hp[j], &c[j], h);
				a = bs_allpass(&z->ap[j], &c[j], a);
				for (int l = 0; l < i; l++)
					v[l] = bs_allpass(&z->comp[l][j], &c[j], v[l]);
			}
#pragma GCC unroll 4
			for (int j = 0; j < BS_SECTIONS; j++)
				h = bs_highpass(&z->hp[BS_SECTIONS + j], &c[j], h);
			v[i] = a - h;
			s = h;
		}
		if (dry)
			continue;
		out = w[0] * x + w[nx + 1] * s;
		for (int i = 0; i < nx; i++)
			out += w[i + 1] * v[i];
		L[k] = (float)out[0];
		R[k] = (float)out[1];
	}
}

void chain_bandsolo_process(struct chain_bandsolo *b, float *const *buf, unsigned n)
{
	float *L = buf[0], *R = buf[1];
	unsigned long long pos = b->pos;
	unsigned i = 0;
	int bad = 0;

	while (i < n) {
		unsigned j = (unsigned)(pos % CHAIN_SUBBLOCK);
		unsigned m = CHAIN_SUBBLOCK - j;

		if (m > n - i)
			m = n - i;
		if (j == 0)
			bs_subblock(b);
		if (!b->idle) {
			if (b->moving)
				bs_run(b, L + i, R + i, m, 1);
			else
				bs_run(b, L + i, R + i, m, 0);
		}
		i += m;
		pos += m;
	}
	b->pos = pos;
	if (b->idle)
		return;
	/* last guard (STYLE.md §3.5): with clamped input it cannot happen */
	for (size_t k = 0; k < BS_Z_N; k++) {
		bs_v2 v = b->zs[k].s1 + b->zs[k].s2;

		bad |= !isfinite(v[0]) || !isfinite(v[1]);
	}
	if (bad)
		bs_clear(b);
}

int chain_bandsolo_render(const float *in_lr, float *out_lr, int64_t frames, double rate,
			  int band)
{
	struct chain_bandsolo *b;
	float l[256], r[256];
	float *const buf[2] = { l, r };
	int err;

	if (!in_lr || !out_lr || frames < 0)
		return CHAIN_ERROR_VALUE;
	if (band < 0 || band > CHAIN_BANDSOLO_BANDS)
		return CHAIN_ERROR_RANGE;
	b = chain_bandsolo_new(rate, &err);
	if (!b)
		return err;
	chain_bandsolo_keep_warm(b, 0);
	chain_bandsolo_set(b, band, 1);
	for (int64_t i = 0; i < frames;) {
		unsigned m = frames - i < 256 ? (unsigned)(frames - i) : 256;

		for (unsigned k = 0; k < m; k++) {
			l[k] = in_lr[2 * (i + k)];
			r[k] = in_lr[2 * (i + k) + 1];
		}
		chain_bandsolo_process(b, buf, m);
		for (unsigned k = 0; k < m; k++) {
			out_lr[2 * (i + k)] = l[k];
			out_lr[2 * (i + k) + 1] = r[k];
		}
		i += m;
	}
	chain_bandsolo_free(&b);
	return CHAIN_OK;
}

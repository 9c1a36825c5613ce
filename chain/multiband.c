/*
 * termaster — multiband compressor (after the EQ and the compressor).
 *
 * Crossovers.  2 to 4 bands split by Linkwitz-Riley 24 dB/oct crossovers
 * (S. Linkwitz, "Active Crossover Networks for Noncoincident Drivers",
 * JAES 24(1), 1976: two cascaded 2nd-order Butterworth sections, -6 dB at
 * the crossover, low and high outputs in phase), as bilinear-transform
 * biquads in transposed direct form II, in double precision (a 20 Hz
 * crossover at 192 kHz stays well conditioned).  Per crossover:
 *
 *	HP = the Butterworth high-pass, twice            (two sections)
 *	AP = the 2nd-order all-pass with the same poles  (one section)
 *	LP = AP - HP
 *
 * An LR4 low plus high is that all-pass (ω⁴ + s⁴ = (s² + √2ωs + ω²)·
 * (s² - √2ωs + ω²); JUCE's dsp::LinkwitzRileyFilter offers the same
 * all-pass as its low plus high), so the low output costs a subtraction
 * instead of two sections, and low + high = AP holds by construction,
 * whatever the rounding of the coefficients.
 *
 * The tree, with all-pass compensation (each band also passes the
 * all-passes of the crossovers it did not pass through):
 *
 *	b1 = AP3 AP2 LP1 x
 *	b2 = AP3 LP2 HP1 x
 *	b3 = LP3 HP2 HP1 x
 *	b4 = HP3 HP2 HP1 x          b1 + b2 + b3 + b4 = AP1 AP2 AP3 x
 *
 * so with every band at unity the sum is an all-pass: flat magnitude to
 * rounding (tests/test_multiband.c measures 1e-7 dB: the bands are
 * summed in float).  All-pass 3 runs once, on the sum, after the band
 * gains E: with b1', b2' bands 1 and 2 without it and hi2 = HP2 HP1 x
 * (so b3 + b4 = AP3 hi2), with 4 bands
 *
 *	out = AP3 (E1·b1' + E2·b2' + E3·hi2) + (E4 - E3)·b4
 *
 * which is E1·b1 + E2·b2 + E3·b3 + E4·b4 while the gains hold (the
 * filters are linear and time-invariant) and the same all-pass at unity;
 * while they move, their modulation passes all-pass 3 too, a phase shift
 * of what the bands do, not of what they are.  The detectors of bands 1
 * and 2 read b1' and b2' (the same magnitudes).  11 sections, 8 while
 * band 4 is merged (below); with all-pass 3 on b1 and b2 each, as
 * before, 12 and 10.
 *
 * Band count: all four bands are always computed and the unused ones are
 * merged into the band below them, continuously.  Weights s3, s4 (1 = band
 * 3, 4 is its own band, 0 = merged) glide over MB_MERGE_TAU_MS:
 *
 *	detector of band 4:  b4
 *	detector of band 3:  D3 = b3 + (1 - s4)·b4 = AP3 hi2 - s4·b4
 *	detector of band 2:  D2 = b2' + (1 - s3)·D3
 *	gains:  F3 = E2 + s3·(E3 - E2),  F4 = F3 + s4·(E4 - F3)
 *	out = E1·b1 + E2·b2 + F3·b3 + F4·b4
 *	    = AP3 (E1·b1' + E2·(b2' + (1 - s3)·hi2) + E3·s3·hi2)
 *	      + s4·(E4 - F3)·b4                          (as computed)
 *
 * With 3 bands (s4 = 0) band 3 compresses b3 + b4 = AP3 HP2 HP1 x, exactly
 * a 3-band tree (with an extra all-pass at xover3 everywhere, which changes
 * no magnitude).  Nothing is crossfaded, so no two signals of different
 * phase are ever mixed (a crossfade between a 3- and a 4-band tree would
 * notch at xover3 mid-fade, where their phases differ by π).  While s4
 * rests at 0, band 4 adds nothing and crossover 3 stops: band 3's
 * detector reads hi2 (the magnitudes of b3 + b4 = AP3 hi2), and so does
 * D2's share of it; a switch back to 4 bands restarts crossover 3 and
 * band 4's detector on the running signal, s4 held at 0, before s4
 * glides (see mb_x3_block()).  In a glide between 2 and 4 bands, while
 * s3 < 1 and crossover 3 runs, D2 mixes b2' with D3, which has
 * all-pass 3: band 2's detector then reads a little more or less near
 * xover3 than its bands hold, for the glide only (the output is not
 * affected).  With 2 bands crossover 2 still runs in full.  Unused
 * crossovers sit a third of an octave above the used ones (see
 * mb_xover_targets()).
 *
 * Compressor, per band, on the band's mid/side pair (the input is encoded
 * once, M = (L+R)/2, S = (L-R)/2, the whole tree runs on M/S and the sum is
 * decoded once; the filters are linear, so that equals filtering L/R):
 *
 *	d     = wM·|M| + wS·|S|         stereo: wM = wS = 1, i.e. max(|L|,|R|)
 *	                                (linked); mid: |M|; side: |S|
 *	y1    = max(d, αR·y1)           peak level, instant attack, release
 *	                                release_ms (8.69 dB per time constant)
 *	gc    = -(1 - 1/ratio)·max(0, log2 y1 - thr)       (log2 units)
 *	glog += cA·(gc - glog)          attack smoothing, attack_ms
 *	g     = 2^glog
 *
 * the "smooth decoupled peak detector" of D. Giannoulis, M. Massberg and
 * J. D. Reiss, "Digital Dynamic Range Compressor Design — A Tutorial and
 * Analysis", JAES 60(6), 2012 (eq. 17), with its release stage on the
 * level before the gain computer.  The release therefore runs through the
 * attack smoothing too, as in that design.  Static curve (hard knee), for
 * a band signal of peak level L dBFS: out = thr + (L - thr)/ratio when
 * L > thr.  A steady sine reads its peak, less the release droop between
 * two peaks and less the sampling of the peak (both tiny above 200 Hz).
 *
 * The band's gain is then E = 1 + a·(g·makeup - 1) on each of M and S,
 * with a = on·wM for M and on·wS for S: the band gain (makeup) applies to
 * what the band processes, so a band in side mode leaves a mono signal
 * untouched whatever its settings; bypass sets a = 0 (unity).
 *
 * Smoothing.  Every parameter glides (chain/smooth.h, sub-blocks on the
 * absolute frame counter): threshold (log2 units) and 1 - 1/ratio over
 * MB_THR_TAU_MS, makeup (linear), bypass and mode weights over
 * MB_GAIN_TAU_MS, attack and release (their logarithm) over
 * MB_TIME_TAU_MS, crossovers (log2 Hz) over MB_XOVER_TAU_MS, merge
 * weights over MB_MERGE_TAU_MS; all are interpolated per sample inside a
 * sub-block, the crossover's g = tan(π f / fs) too (so its coefficients
 * are recomputed per sample, and only while it moves).  Attack and
 * release coefficients hold per sub-block: they shape no sample directly.
 *
 * Arithmetic: the filters in double, M and S in the two lanes of a vector
 * (GCC/Clang vector extensions: SSE2 on x86-64, NEON on AArch64);
 * the band signals then in float, and the detectors, gain computers,
 * band gains and the sum, bands 1 … 4 in the four lanes of a vector,
 * with polynomial log2 and exp2 (errors under 0.001 dB); the attack
 * smoothing in double (in float a long attack's steps would fall under
 * the resolution and stall short of the target).  The release factor in
 * float holds release_ms to better than 1 %.  The work runs in passes
 * over each sub-block (see mb_run()).
 *
 * AVX2 (where the processor has it, checked at init; MB_NO_AVX leaves it
 * out): the M/S encoding four frames a vector, the gain computer and
 * 2^glog two frames a vector, the attack smoothing of the four bands in
 * one vector, and for 3 bands at rest the tree's seven sections as three
 * pairs side by side (mb_tree3_avx()).  Each lane does the same
 * operations in the same order as two lanes wide (no FMA: the build has
 * -ffp-contract=off and the targets are "avx2" only), so the output is
 * the same to the bit either way (tests/test_multiband,
 * tests/test_multiband_sse2).  Calls of one frame take the two-lane
 * paths.
 *
 * Cost, 44.1 kHz stereo, one core of an AMD EPYC VM (Zen 5), thread CPU
 * time over tests/bench.c's music (3 bands at their defaults;
 * chain_process() with only the multiband on, less the chain with it
 * off, best of 15 runs, the two builds interleaved, pinned to one CPU):
 * 12.2 ns per frame on the music with AVX2 against 15.9 ns two lanes
 * wide, 24 % less (the processor alone, blocks of 1024: 12.4 against
 * 16.2; 4 bands 19.4 against 21.5, only the gain passes and the
 * encoding being wide there; 2 bands 12.7 against 16.6); 163
 * instructions per frame on the music (callgrind) against 253.  The tree was about 40 % of the
 * two-lane time, bound by the throughput of its ~50 operations a frame;
 * the detector, the attack smoothing and all-pass 3 on the output are
 * bound by the latency of their recursions (a pass 5 two frames a
 * vector around all-pass 3 measured no faster and is not there; passes
 * 3 and 4 in one loop, two frames an iteration, 5 % slower).
 * Two lanes wide, in earlier runs (not measured again): 12 ns per frame
 * while no band compresses, 17 ns on the music (23 ns with 4 bands),
 * 34 ns while a crossover and a threshold glide.  Before all-pass 3 moved to
 * the sum (with the cheaper log2 and exp2, the 3-band tree in one loop,
 * the detector and gains without merge weights at rest): 13, 22, 24,
 * 36 ns and 305 instructions in the same runs.  Before band 4 was
 * stopped while merged and the bands went to float after the tree: 18,
 * 26, 27, 45 ns and 353 instructions.
 *
 * Latency 0.  Non-finite input samples are read as 0.  Denormals: filter
 * states under MB_FLUSH are set to 0 and the peak level and gain snap at
 * each sub-block, so silence after a tone ends in exact zeros and nothing
 * decays into the subnormal range (STYLE.md §3.5).
 */
#include "config.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "chain/chain.h"
#include "chain/smooth.h"

#ifdef __SSE2__
#include <emmintrin.h>
#endif

/* AVX2 where the processor has it (see the header); MB_NO_AVX leaves it
 * out (tests/test_multiband_sse2 tests the two-lane paths alone) */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(MB_NO_AVX)
#include <immintrin.h>
#define MB_AVX 1
#endif

#define MB_BANDS 4
#define MB_XOVERS 3

#define MB_GAIN_TAU_MS 10.0     /* makeup, bypass, mode */
#define MB_THR_TAU_MS 20.0      /* threshold, ratio */
#define MB_TIME_TAU_MS 20.0     /* attack, release */
#define MB_XOVER_TAU_MS 20.0    /* crossover frequencies */
#define MB_MERGE_TAU_MS 10.0    /* band count */

#define MB_XOVER_MIN_HZ 20.0
#define MB_XOVER_MAX_HZ 20000.0
#define MB_XOVER_MAX_FS 0.45    /* and at most this fraction of the rate */
#define MB_XOVER_GAP (1.0 / 3.0)  /* octaves between used crossovers */

#define MB_FLUSH 1e-18          /* filter state under this is 0 (-360 dB) */
#define MB_Y1_FLUSH 1e-12       /* peak level under this is 0 */
#define MB_GLOG_SNAP (-1e-12)   /* log2 gain above this is unity */
#define MB_LOG2_DB 6.020599913279624  /* dB per log2 unit: 20 log10(2) */

#define MB_K 1.4142135623730951 /* √2 = 1/Q of a Butterworth section */

enum {
	MB_P_BANDS,
	MB_P_XOVER1,
	MB_P_XOVER2,
	MB_P_XOVER3,
	MB_P_BAND0,             /* then MB_BP_N per band */
};

enum {
	MB_BP_THRESHOLD,
	MB_BP_RATIO,
	MB_BP_ATTACK,
	MB_BP_RELEASE,
	MB_BP_GAIN,
	MB_BP_BYPASS,
	MB_BP_MODE,
	MB_BP_N,
};

#define MB_N_PARAMS (MB_P_BAND0 + MB_BANDS * MB_BP_N)

enum { MB_MODE_STEREO, MB_MODE_MID, MB_MODE_SIDE };

static const char *const mb_band_names[] = { "2", "3", "4", NULL };
static const char *const mb_bypass_names[] = { "off", "on", NULL };
static const char *const mb_mode_names[] = { "stereo", "mid", "side", NULL };

#define MB_BAND_PARAMS(n, attack) \
	{ #n ".threshold_db", "Band " #n " threshold", "dB", -60.0f, 0.0f, -18.0f, 0.1f }, \
	{ #n ".ratio", "Band " #n " ratio", "", 1.0f, 20.0f, 2.0f, 0.1f }, \
	{ #n ".attack_ms", "Band " #n " attack", "ms", 0.1f, 200.0f, attack, 0.1f }, \
	{ #n ".release_ms", "Band " #n " release", "ms", 10.0f, 2000.0f, 200.0f, 1.0f }, \
	{ #n ".gain_db", "Band " #n " gain", "dB", -12.0f, 12.0f, 0.0f, 0.1f }, \
	{ #n ".bypass", "Band " #n " bypass", "", 0.0f, 1.0f, 0.0f, 1.0f, mb_bypass_names }, \
	{ #n ".mode", "Band " #n " mode", "", 0.0f, 2.0f, 0.0f, 1.0f, mb_mode_names }

static const struct chain_param mb_params[MB_N_PARAMS] = {
	[MB_P_BANDS] = { "bands", "Bands", "", 2.0f, 4.0f, 3.0f, 1.0f, mb_band_names },
	[MB_P_XOVER1] = { "xover1_hz", "Crossover 1", "Hz", 20.0f, 20000.0f, 120.0f, 1.0f },
	[MB_P_XOVER2] = { "xover2_hz", "Crossover 2", "Hz", 20.0f, 20000.0f, 2000.0f, 1.0f },
	[MB_P_XOVER3] = { "xover3_hz", "Crossover 3", "Hz", 20.0f, 20000.0f, 8000.0f, 1.0f },
	/* faster attacks for the higher bands: shorter periods */
	MB_BAND_PARAMS(1, 20.0f),
	MB_BAND_PARAMS(2, 10.0f),
	MB_BAND_PARAMS(3, 5.0f),
	MB_BAND_PARAMS(4, 2.0f),
};

static const char *const mb_meter_names[MB_BANDS] = {
	"band 1 GR", "band 2 GR", "band 3 GR", "band 4 GR",
};

/* ---- vectors: two doubles (M, S) or four floats (bands 1 … 4) ---- */

typedef double mb_v2 __attribute__((vector_size(16)));
typedef long long mb_i2 __attribute__((vector_size(16)));
typedef unsigned long long mb_u2 __attribute__((vector_size(16)));
typedef float mb_v4 __attribute__((vector_size(16)));
typedef int mb_i4 __attribute__((vector_size(16)));
typedef unsigned mb_u4 __attribute__((vector_size(16)));
typedef float mb_f2 __attribute__((vector_size(8)));

#if defined(__clang__) || __GNUC__ >= 12
#define MB_SHUF(a, b, i, j, k, l) __builtin_shufflevector(a, b, i, j, k, l)
#else
#define MB_SHUF(a, b, i, j, k, l) __builtin_shuffle(a, b, (mb_i4){ i, j, k, l })
#endif

#if defined(__clang__) || __GNUC__ >= 12
#define MB_SHUF2(a, b, i, j) __builtin_shufflevector(a, b, i, j)
#else
#define MB_SHUF2(a, b, i, j) __builtin_shuffle(a, b, (mb_i2){ i, j })
#endif

static inline mb_v2 mb_splat(double x)
{
	return (mb_v2){ x, x };
}

static inline mb_v4 mb_splat4(float x)
{
	return (mb_v4){ x, x, x, x };
}

/* a where m is set, else b */
static inline mb_v2 mb_sel(mb_i2 m, mb_v2 a, mb_v2 b)
{
	return (mb_v2)((m & (mb_i2)a) | (~m & (mb_i2)b));
}

static inline mb_v4 mb_sel4(mb_i4 m, mb_v4 a, mb_v4 b)
{
	return (mb_v4)((m & (mb_i4)a) | (~m & (mb_i4)b));
}

static inline mb_v2 mb_abs(mb_v2 x)
{
	return (mb_v2)((mb_u2)x & 0x7fffffffffffffffULL);
}

/* x where finite, else 0 (the input's non-finite samples read as 0) */
static inline mb_v2 mb_finite(mb_v2 x)
{
	return (mb_v2)((mb_i2)(mb_abs(x) <= 3.4028234663852886e38) & (mb_i2)x);
}

static inline mb_v4 mb_abs4(mb_v4 x)
{
	return (mb_v4)((mb_u4)x & 0x7fffffffu);
}

/* a < b ? a : b and a > b ? a : b lane by lane: exactly what SSE2's
 * minps and maxps give (the second operand on NaN and on equal values),
 * one instruction where GCC compiles the generic select to four. */
static inline mb_v4 mb_min4(mb_v4 a, mb_v4 b)
{
#ifdef __SSE2__
	return _mm_min_ps(a, b);
#else
	return mb_sel4((mb_i4)(a < b), a, b);
#endif
}

static inline mb_v4 mb_max4(mb_v4 a, mb_v4 b)
{
#ifdef __SSE2__
	return _mm_max_ps(a, b);
#else
	return mb_sel4((mb_i4)(a > b), a, b);
#endif
}

static inline int mb_any4(mb_i4 m)
{
	return (m[0] | m[1] | m[2] | m[3]) != 0;
}

/* (a0, a1, b0, b1) as floats; (x0, x1) and (x2, x3) as doubles.  SSE2
 * spelled out: GCC scalarises the generic forms of the latter. */
#ifdef __SSE2__
static inline mb_v4 mb_narrow(mb_v2 a, mb_v2 b)
{
	return _mm_movelh_ps(_mm_cvtpd_ps(a), _mm_cvtpd_ps(b));
}

static inline mb_v2 mb_widen_lo(mb_v4 x)
{
	return _mm_cvtps_pd(x);
}

static inline mb_v2 mb_widen_hi(mb_v4 x)
{
	return _mm_cvtps_pd(_mm_movehl_ps(x, x));
}
#else
static inline mb_v4 mb_narrow(mb_v2 a, mb_v2 b)
{
	mb_f2 fa = __builtin_convertvector(a, mb_f2);
	mb_f2 fb = __builtin_convertvector(b, mb_f2);

	return (mb_v4){ fa[0], fa[1], fb[0], fb[1] };
}

static inline mb_v2 mb_widen_lo(mb_v4 x)
{
	return __builtin_convertvector((mb_f2){ x[0], x[1] }, mb_v2);
}

static inline mb_v2 mb_widen_hi(mb_v4 x)
{
	return __builtin_convertvector((mb_f2){ x[2], x[3] }, mb_v2);
}
#endif

/* mb_log2()'s and mb_exp2()'s coefficients, shared with their eight-lane
 * twins (mb_log2_8(), mb_exp2_8()), which must give the same bits */
#define MB_LOG2_Q0 1.438414319e+00f
#define MB_LOG2_Q1 (-6.757029634e-01f)
#define MB_LOG2_Q2 3.174784329e-01f
#define MB_LOG2_Q3 (-8.018978886e-02f)
#define MB_EXP2_P1 6.932824806e-01f
#define MB_EXP2_P2 2.422106722e-01f
#define MB_EXP2_P3 5.501052554e-02f
#define MB_EXP2_MAGIC 12582912.0f  /* 1.5 · 2^23: adding it rounds to an integer */

/*
 * log2 of x >= 0 (finite; 0 gives -127): exponent from the bits, then
 * log2 m = u·q(u), u = m - 1 in [0, 1), q of degree 3 fitted for the
 * least largest error (reweighted least squares) with q(1) = 1: error
 * under 1.3e-4 (0.0008 dB on a band's level, no more on its gain),
 * log2 1 = 0 exactly, and continuous where the exponent steps.  No
 * division, as the series in t = (m - 1)/(m + 1) it had before needed
 * (to t^9, 1e-5 dB), and in Estrin's order: the products of each degree
 * side by side, a shorter chain than Horner's.
 */
static inline mb_v4 mb_log2(mb_v4 x)
{
	mb_u4 b = (mb_u4)x;
	mb_v4 e = __builtin_convertvector((mb_i4)(b >> 23), mb_v4) - 127.0f;
	mb_v4 u = (mb_v4)((b & 0x007fffffu) | 0x3f800000u) - 1.0f;
	mb_v4 q01 = MB_LOG2_Q0 + MB_LOG2_Q1 * u;
	mb_v4 q23 = MB_LOG2_Q2 + MB_LOG2_Q3 * u;

	return e + u * (q01 + (u * u) * q23);
}

/*
 * 2^y for -126 < y < 126: y = n + f with n = round(y) (by the 1.5·2^23
 * trick), 2^f for |f| <= 1/2 by a polynomial p of degree 3 fitted like
 * mb_log2()'s for the least largest relative error with p(1/2) =
 * 2·p(-1/2): under 1.1e-4 (0.0009 dB; the Taylor series to degree 6 it
 * had before, 2e-6 dB), continuous where n steps; n added to the
 * exponent bits.  2^0 is exactly 1.
 */
static inline mb_v4 mb_exp2(mb_v4 y)
{
	const float magic = MB_EXP2_MAGIC;
	mb_v4 r = y + magic;
	mb_u4 n = (mb_u4)r - (mb_u4)mb_splat4(magic);
	mb_v4 f = y - (r - magic);
	mb_v4 a = MB_EXP2_P1 + MB_EXP2_P2 * f;
	mb_v4 p = 1.0f + f * (a + (f * f) * MB_EXP2_P3);

	return (mb_v4)((mb_u4)p + (n << 23));
}

/* ---- the Butterworth sections (bilinear, transposed direct form II) ---- */

struct mb_biquad {
	mb_v2 s1, s2;           /* the two state variables */
};

/* One crossover's coefficients, g = tan(π f / fs): the 2nd-order
 * Butterworth high-pass is n·(1, -2, 1) / (1, a1, a2) and the all-pass
 * (a2, a1, 1) / (1, a1, a2); p1 = a1·(1 - a2) and p2 = 1 - a2² for
 * mb_allpass_ss(), with 1 - a2 = 2√2·g·n (no cancellation at low
 * frequencies). */
struct mb_coef {
	mb_v2 n, a1, a2, p1, p2;
};

static inline struct mb_coef mb_coef_of(double g)
{
	double n = 1.0 / (1.0 + g * (g + MB_K));
	double a1 = 2.0 * (g * g - 1.0) * n, a2 = (1.0 + g * (g - MB_K)) * n;
	double d2 = 2.0 * MB_K * g * n;
	struct mb_coef c = {
		mb_splat(n), mb_splat(a1), mb_splat(a2),
		mb_splat(a1 * d2), mb_splat(d2 * (1.0 + a2)),
	};

	return c;
}

static inline mb_v2 mb_highpass(struct mb_biquad *z, const struct mb_coef *c, mb_v2 x)
{
	mb_v2 bx = c->n * x;
	mb_v2 y = bx + z->s1;

	z->s1 = (z->s2 - 2.0 * bx) - c->a1 * y;
	z->s2 = bx - c->a2 * y;
	return y;
}

static inline mb_v2 mb_allpass(struct mb_biquad *z, const struct mb_coef *c, mb_v2 x)
{
	mb_v2 y = c->a2 * x + z->s1;

	z->s1 = z->s2 + c->a1 * (x - y);
	z->s2 = x - c->a2 * y;
	return y;
}

/*
 * The same all-pass with its output substituted into the state update,
 *
 *	y   = a2·x + s1
 *	s1' = (s2 + p1·x) - a1·s1
 *	s2' = p2·x - a2·s1
 *
 * (the same states; the same values to rounding): s1 waits on one
 * product and one difference per sample instead of on y, a difference, a
 * product and a sum.  For all-pass 3 on the output (mb_out()), where
 * that chain is the loop's longest (2 % less time for the multiband in
 * interleaved runs); in the tree it only costs (7 %): two more products
 * a section, and those loops are bound by their work.
 */
static inline mb_v2 mb_allpass_ss(struct mb_biquad *z, const struct mb_coef *c, mb_v2 x)
{
	mb_v2 s1 = z->s1;

	z->s1 = (z->s2 + c->p1 * x) - c->a1 * s1;
	z->s2 = c->p2 * x - c->a2 * s1;
	return c->a2 * x + s1;
}

/* LR4 split of x into *lo, *hi: hi through two high-pass sections,
 * lo = all-pass - hi (z[0], z[1] high-pass, z[2] all-pass). */
static inline void mb_split(struct mb_biquad *z, const struct mb_coef *c, mb_v2 x,
			    mb_v2 *lo, mb_v2 *hi)
{
	mb_v2 h = mb_highpass(&z[1], c, mb_highpass(&z[0], c, x));

	*hi = h;
	*lo = mb_allpass(&z[2], c, x) - h;
}

/* ---- the processor ---- */

/* Sections, in tree order */
enum {
	MB_Z_X1 = 0,            /* crossover 1 split: 3 sections */
	MB_Z_B1_AP2 = 3,        /* band 1 through all-pass 2 */
	MB_Z_X2,                /* crossover 2 split: 3 sections */
	MB_Z_X3 = MB_Z_X2 + 3,  /* crossover 3 split: 3 sections */
	MB_Z_OUT = MB_Z_X3 + 3, /* all-pass 3 on the sum of bands 1 … 3 */
	MB_Z_N,
};

struct mb_band {
	struct chain_smooth thr;    /* threshold, log2 units */
	struct chain_smooth slope;  /* 1 - 1/ratio */
	struct chain_smooth att;    /* ln attack_ms */
	struct chain_smooth rel;    /* ln release_ms */
	struct chain_smooth mk;     /* makeup, linear */
	struct chain_smooth wm, ws; /* mode weights of M and S */
	struct chain_smooth on;     /* 1 - bypass */
	double att_at, rel_at;      /* ln ms the coefficients were made for */
	double ca, ar;              /* attack coefficient, release factor */
	double thr_at;              /* threshold tlin was made for */
	float tlin;                 /* 2^thr_at */
};

/* Crossover 3's high-pass sections, while band 4 is merged (s4 = 0):
 * stopped, or warming up for a switch to 4 bands (see mb_x3_block()). */
enum { MB_X3_LIVE, MB_X3_COLD, MB_X3_WARM_A, MB_X3_WARM_B };

/* Per sub-block, bands 1 … 4 in the lanes: value at frame j of the
 * sub-block = x + dx·(j + 1)/CHAIN_SUBBLOCK (as chain_smooth_at). */
struct mb_ramp {
	mb_v4 thr, dthr;            /* threshold, log2 units */
	mb_v4 slope, dslope;        /* 1 - 1/ratio */
	mb_v4 mk, dmk;              /* makeup */
	mb_v4 wm, dwm, ws, dws;     /* detector weights of M and S */
	mb_v4 am, dam, as, das;     /* amounts on M and S: on·wM, on·wS */
	mb_v4 tlin;                 /* 2^(lowest threshold of the sub-block) */
	mb_v4 ar;                   /* release factor per frame */
	mb_v2 ca[2];                /* attack coefficients, bands (1,2), (3,4) */
};

/*
 * State glossary:
 *   z[]        filter sections, (M, S) lanes, in tree order (MB_Z_*)
 *   y1         peak level of bands 1 … 4 (float lanes), linear
 *   glog[p]    smoothed gain of bands (1, 2) and (3, 4), log2 units, <= 0
 *   gmin       lowest gain 2^glog of bands 1 … 4 (float lanes) since the
 *              start of this process() call
 *   xo[]       crossover frequencies, log2 Hz, gliding
 *   g0, dg     per crossover: tan(π f / fs) at the sub-block's start and
 *              its change over the sub-block (0 when steady)
 *   coef[]     coefficients while steady
 *   merge[]    s3, s4 (1 = own band, 0 = merged into the band below);
 *              s0, ds their start and change over the sub-block
 *   ramp       the bands' interpolated parameters for this sub-block
 *   moving     anything interpolates in this sub-block
 *   x3         crossover 3: live, cold (stopped; band 3's detector on
 *              hi2) or warming up (MB_X3_*), x3_left frames left in the
 *              warm-up phase
 *   pos        frames since init/reset; sub-blocks start at pos % 32 = 0
 */
struct mb_priv {
	double rate;
	float raw_hz[MB_XOVERS];
	int bands;
	struct chain_smooth xo[MB_XOVERS];
	struct chain_smooth merge[2];
	struct mb_band band[MB_BANDS];

	double xo_at[MB_XOVERS], xo_g[MB_XOVERS];  /* cache: log2 Hz -> g */
	double g0[MB_XOVERS], dg[MB_XOVERS];
	struct mb_coef coef[MB_XOVERS];
	double s0[2], ds[2];
	struct mb_ramp ramp;
	int moving;
	int idle;               /* every smoother at its target: nothing to step */
	int avx;                /* the processor has AVX2 (see the header) */
	int dirty;              /* a snap: rebuild the ramps before the next frame */

	struct mb_biquad z[MB_Z_N];
	int x3;                 /* MB_X3_*: crossover 3 */
	long x3_left;           /* frames left in a warm-up phase */
	mb_v4 y1;
	mb_v2 glog[2];
	mb_v4 gmin;
	unsigned long long pos;

	float meter_db[MB_BANDS];
	float gr_db;
};

static double mb_g_of(const struct mb_priv *s, double log2_hz)
{
	return tan(M_PI * exp2(log2_hz) / s->rate);
}

/*
 * Effective crossover targets from the raw parameters, in log2 Hz: the
 * crossovers in use (bands - 1 of them) keep their order with at least
 * MB_XOVER_GAP octaves between them, the higher one winning; the unused
 * ones are pushed above the used ones (they only add an all-pass there).
 * All lie within MB_XOVER_MIN_HZ … min(MB_XOVER_MAX_HZ, 0.45·rate), each
 * leaving room for the others.
 */
static void mb_xover_targets(struct mb_priv *s, int snap)
{
	double lo = log2(MB_XOVER_MIN_HZ);
	double hi = log2(fmin(MB_XOVER_MAX_HZ, MB_XOVER_MAX_FS * s->rate));
	int used = s->bands - 1;
	double e[MB_XOVERS];

	for (int i = 0; i < MB_XOVERS; i++) {
		double l = log2(s->raw_hz[i]);

		e[i] = fmin(fmax(l, lo + i * MB_XOVER_GAP),
			    hi - (MB_XOVERS - 1 - i) * MB_XOVER_GAP);
	}
	for (int i = used - 2; i >= 0; i--)
		e[i] = fmin(e[i], e[i + 1] - MB_XOVER_GAP);
	for (int i = used; i < MB_XOVERS; i++)  /* used >= 1 */
		e[i] = fmin(fmax(e[i], e[i - 1] + MB_XOVER_GAP),
			    hi - (MB_XOVERS - 1 - i) * MB_XOVER_GAP);
	for (int i = 0; i < MB_XOVERS; i++)
		chain_smooth_set(&s->xo[i], e[i], snap);
}

/* Coefficients of the sub-block from the smoothers' start and end values
 * (no smoother moves here). */
static void mb_ramps(struct mb_priv *s)
{
	struct mb_ramp *r = &s->ramp;
	int moving = 0;

	for (int x = 0; x < MB_XOVERS; x++) {
		struct chain_smooth *f = &s->xo[x];
		double g0, g1;

		g0 = f->start == s->xo_at[x] ? s->xo_g[x] : mb_g_of(s, f->start);
		g1 = f->end == f->start ? g0 : mb_g_of(s, f->end);
		s->xo_at[x] = f->end;
		s->xo_g[x] = g1;
		s->g0[x] = g0;
		s->dg[x] = g1 - g0;
		s->coef[x] = mb_coef_of(g1);
		moving |= g1 != g0;
	}
	for (int k = 0; k < 2; k++) {
		s->s0[k] = s->merge[k].start;
		s->ds[k] = s->merge[k].end - s->merge[k].start;
		moving |= s->ds[k] != 0;
	}
	for (int b = 0; b < MB_BANDS; b++) {
		struct mb_band *c = &s->band[b];
		double am0 = c->on.start * c->wm.start, am1 = c->on.end * c->wm.end;
		double as0 = c->on.start * c->ws.start, as1 = c->on.end * c->ws.end;

		r->thr[b] = (float)c->thr.start;
		r->dthr[b] = (float)(c->thr.end - c->thr.start);
		r->slope[b] = (float)c->slope.start;
		r->dslope[b] = (float)(c->slope.end - c->slope.start);
		r->mk[b] = (float)c->mk.start;
		r->dmk[b] = (float)(c->mk.end - c->mk.start);
		r->wm[b] = (float)c->wm.start;
		r->dwm[b] = (float)(c->wm.end - c->wm.start);
		r->ws[b] = (float)c->ws.start;
		r->dws[b] = (float)(c->ws.end - c->ws.start);
		r->am[b] = (float)am0;
		r->dam[b] = (float)(am1 - am0);
		r->as[b] = (float)as0;
		r->das[b] = (float)(as1 - as0);
		if (fmin(c->thr.start, c->thr.end) != c->thr_at) {
			c->thr_at = fmin(c->thr.start, c->thr.end);
			c->tlin = (float)exp2(c->thr_at);
		}
		r->tlin[b] = c->tlin;
		moving |= r->dthr[b] != 0 || r->dslope[b] != 0 || r->dmk[b] != 0 ||
			  r->dwm[b] != 0 || r->dws[b] != 0 || r->dam[b] != 0 ||
			  r->das[b] != 0;
		if (c->att.end != c->att_at) {
			c->att_at = c->att.end;
			c->ca = 1.0 - exp(-1.0 / (exp(c->att_at) * 1e-3 * s->rate));
		}
		if (c->rel.end != c->rel_at) {
			c->rel_at = c->rel.end;
			c->ar = exp(-1.0 / (exp(c->rel_at) * 1e-3 * s->rate));
		}
		r->ca[b / 2][b % 2] = c->ca;
		r->ar[b] = (float)c->ar;
	}
	s->moving = moving;
	s->dirty = 0;
}

static int mb_settled(const struct chain_smooth *c)
{
	return c->start == c->end && c->end == c->target;
}

/*
 * Band 4 merged.  While s4 rests at exactly 0, band 4 reaches the output
 * only as part of b3 + b4 (F4 = F3), and b3 + b4 = AP3 hi2 is what the
 * output's all-pass 3 makes of hi2: crossover 3 stops, all three of its
 * sections (MB_X3_COLD; 3 of 11).  Band 3's detector reads hi2 in place
 * of AP3 hi2 (the same magnitudes), the band-4 detector sees 0 and
 * rests.
 *
 * A switch to 4 bands first warms crossover 3 up, s4 held at 0
 * meanwhile (so the output, which then does not read crossover 3, stays
 * the 3-band one exactly):
 *  A. its sections restart from zero on the current signal, for
 *     MB_WARM_TAUS time constants of their poles (√2/ω: Butterworth,
 *     the slowest crossover 3 of the glide): the start-up transient of
 *     the two cascaded high-passes, of order (1 + t/τ)·e^(-t/τ), is then
 *     under -80 dB (the all-pass's, one section, sooner);
 *  B. the band-4 detector restarts: peak level 0 (instant attack finds
 *     the real peak of b4 within a period), smoothed gain from band 3's,
 *     the gain that band 4's content gets now; MB_WARM_PERIODS periods
 *     of crossover 3 for the peak to be found; band 3's detector moves
 *     from hi2 to AP3 hi2 (its peak level carries on);
 * then s4 glides as before.  Phases are counted in whole sub-blocks on
 * the frame counter (block-size invariant).  The warm-up delays the
 * switch by MB_WARM_TAUS·√2/(2π f3) + MB_WARM_PERIODS/f3: 4.7 ms at
 * f3 = 1 kHz, 0.15 s at the lowest possible f3 (32 Hz).
 */
#define MB_WARM_TAUS 12.0
#define MB_WARM_PERIODS 2.0

static void mb_x3_cold(struct mb_priv *s)
{
	s->x3 = MB_X3_COLD;
	s->x3_left = 0;
}

/* Lowest crossover 3 frequency of its glide, Hz */
static double mb_x3_hz(const struct mb_priv *s)
{
	return exp2(fmin(fmin(s->xo[2].start, s->xo[2].end), s->xo[2].target));
}

/* Start of a sub-block, before the smoothers step: returns nonzero while
 * s4 must hold (warming up). */
static int mb_x3_block(struct mb_priv *s)
{
	const struct chain_smooth *m4 = &s->merge[1];

	if (s->x3 == MB_X3_LIVE) {
		if (m4->start == 0 && m4->end == 0 && m4->target == 0)
			mb_x3_cold(s);
		return 0;
	}
	if (m4->target == 0 && m4->end == 0) {
		mb_x3_cold(s);
		return 0;
	}
	s->x3_left -= CHAIN_SUBBLOCK;
	switch (s->x3) {
	case MB_X3_COLD:
		memset(&s->z[MB_Z_X3], 0, 3 * sizeof(s->z[0]));
		s->x3 = MB_X3_WARM_A;
		s->x3_left = (long)ceil(MB_WARM_TAUS * M_SQRT2 / (2 * M_PI * mb_x3_hz(s)) *
					s->rate);
		break;
	case MB_X3_WARM_A:
		if (s->x3_left > 0)
			break;
		s->y1[3] = 0;
		s->glog[1][1] = s->glog[1][0];
		s->x3 = MB_X3_WARM_B;
		s->x3_left = (long)ceil(MB_WARM_PERIODS / mb_x3_hz(s) * s->rate);
		break;
	case MB_X3_WARM_B:
		if (s->x3_left > 0)
			break;
		s->x3 = MB_X3_LIVE;
		return 0;
	}
	return 1;
}

/* After a snap (set_param(…, 1)) between sub-blocks: a band 4 already
 * weighted needs crossover 3 now (a snap is a jump by definition). */
static void mb_x3_snap(struct mb_priv *s)
{
	if (s->x3 != MB_X3_LIVE && (s->merge[1].start != 0 || s->merge[1].end != 0)) {
		if (s->x3 == MB_X3_COLD)
			memset(&s->z[MB_Z_X3], 0, 3 * sizeof(s->z[0]));
		s->x3 = MB_X3_LIVE;
	}
}

/* Start of a sub-block: smoothers step, ramps follow (unless everything
 * is settled: stepping would change nothing), tiny states flush. */
static void mb_subblock(struct mb_priv *s)
{
	int hold4 = mb_x3_block(s);

	if (s->idle)
		goto flush;
	for (int x = 0; x < MB_XOVERS; x++)
		chain_smooth_block(&s->xo[x]);
	chain_smooth_block(&s->merge[0]);
	if (!hold4)
		chain_smooth_block(&s->merge[1]);
	else
		s->merge[1].start = s->merge[1].end;
	for (int b = 0; b < MB_BANDS; b++) {
		struct mb_band *c = &s->band[b];

		chain_smooth_block(&c->thr);
		chain_smooth_block(&c->slope);
		chain_smooth_block(&c->att);
		chain_smooth_block(&c->rel);
		chain_smooth_block(&c->mk);
		chain_smooth_block(&c->wm);
		chain_smooth_block(&c->ws);
		chain_smooth_block(&c->on);
	}
	mb_ramps(s);
	s->idle = !s->moving;
	for (int x = 0; x < MB_XOVERS; x++)
		s->idle &= mb_settled(&s->xo[x]);
	for (int k = 0; k < 2; k++)
		s->idle &= mb_settled(&s->merge[k]);
	for (int b = 0; b < MB_BANDS; b++) {
		const struct mb_band *c = &s->band[b];

		s->idle &= mb_settled(&c->thr) && mb_settled(&c->slope) &&
			   mb_settled(&c->att) && mb_settled(&c->rel) &&
			   mb_settled(&c->mk) && mb_settled(&c->wm) &&
			   mb_settled(&c->ws) && mb_settled(&c->on);
	}
flush:
	for (int i = 0; i < MB_Z_N; i++) {
		struct mb_biquad *z = &s->z[i];

		z->s1 = mb_sel((mb_i2)(mb_abs(z->s1) < MB_FLUSH), mb_splat(0), z->s1);
		z->s2 = mb_sel((mb_i2)(mb_abs(z->s2) < MB_FLUSH), mb_splat(0), z->s2);
	}
	s->y1 = mb_sel4((mb_i4)(s->y1 < (float)MB_Y1_FLUSH), mb_splat4(0), s->y1);
	for (int p = 0; p < 2; p++)
		s->glog[p] = mb_sel((mb_i2)(s->glog[p] > MB_GLOG_SNAP), mb_splat(0),
				    s->glog[p]);
}

static inline double mb_t(unsigned j)
{
	return (double)(j + 1) * (1.0 / CHAIN_SUBBLOCK);
}

/* The second pass of the tree (see mb_run()): crossover 2's high-passes
 * from crossover 1's high output in hi1[], then crossover 3 on their
 * output hi2 (unless cold); out in floats, before all-pass 3 (which
 * pass 5 applies to the sum): bu = (b1, b2) (M, S pairs), bw = (hi2, b4),
 * and, with crossover 3 running, bd = (AP3 hi2, b4) = (b3 + b4, b4) for
 * the detectors.  Cold, b4 = 0 and nothing of crossover 3 runs. */
static inline __attribute__((always_inline)) void
mb_tree2(const struct mb_priv *s, struct mb_biquad *z, const mb_v2 *b1,
	 const mb_v2 *hi1, const mb_v2 *ap2, mb_v4 *bu, mb_v4 *bw, mb_v4 *bd,
	 unsigned m, unsigned j0, const int moving, const int cold)
{
	struct mb_coef c[MB_XOVERS];

	memcpy(c, s->coef, sizeof(c));
	for (unsigned k = 0; k < m; k++) {
		mb_v2 hi, a3, b4;

		if (moving) {
			double t = mb_t(j0 + k);

			for (int i = 1; i < (cold ? 2 : MB_XOVERS); i++)
				if (s->dg[i] != 0)
					c[i] = mb_coef_of(s->g0[i] + s->dg[i] * t);
		}
		/* crossover 2's high-passes; its all-pass ran in the first
		 * pass */
		hi = mb_highpass(&z[MB_Z_X2 + 1], &c[1], mb_highpass(&z[MB_Z_X2], &c[1], hi1[k]));
		bu[k] = mb_narrow(b1[k], ap2[k] - hi);
		if (cold) {
			bw[k] = mb_narrow(hi, mb_splat(0));
		} else {
			b4 = mb_highpass(&z[MB_Z_X3 + 1], &c[2], mb_highpass(&z[MB_Z_X3], &c[2], hi));
			a3 = mb_allpass(&z[MB_Z_X3 + 2], &c[2], hi);
			bw[k] = mb_narrow(hi, b4);
			bd[k] = mb_narrow(a3, b4);
		}
	}
}

/* Pass 5 of mb_run(): band gains E = 1 + a·(g·makeup - 1) on M and S
 * (g = 1 when `unity`), times what pass 2 left, summed: bands 1 … 3
 * through all-pass 3 (section zo), then with `post` band 4's part, which
 * has crossover 3's phase already; decoded. */
static inline __attribute__((always_inline)) void
mb_out(const struct mb_priv *s, struct mb_biquad *zo, const mb_v4 *v, const mb_v4 *bu,
       const mb_v4 *bw, float *L, float *R, unsigned m, unsigned j0, const int moving,
       const int unity, const int post, const int full)
{
	const struct mb_ramp *r = &s->ramp;
	const mb_v4 mk0 = r->mk, am0 = r->am, as0 = r->as;
	const mb_v4 dmk = r->dmk, dam = r->dam, das = r->das;
	struct mb_coef c = s->coef[2];
	struct mb_biquad z = *zo;

	for (unsigned k = 0; k < m; k++) {
		mb_v4 mk = mk0, am = am0, as = as0;
		mb_v4 g = unity ? mb_splat4(1.0f) : v[k], em, es, eu, ew, a, o;
		float s3 = (float)s->s0[0];
		mb_v2 y;

		if (moving) {
			double td = mb_t(j0 + k);
			float t = (float)td;

			mk += dmk * t;
			am += dam * t;
			as += das * t;
			s3 = (float)(s->s0[0] + s->ds[0] * td);
			if (s->dg[2] != 0)
				c = mb_coef_of(s->g0[2] + s->dg[2] * td);
		}
		/* gains on (M, S) pairs, (E1, E2) and (E3, E4), by the
		 * bands; M in lanes 0 + 2, S in 1 + 3 */
		if (full) {
			/* a = 1 on M and S: E = g·makeup */
			g *= mk;
			eu = MB_SHUF(g, g, 0, 0, 1, 1);
			ew = MB_SHUF(g, g, 2, 2, 3, 3);
		} else {
			g = g * mk - 1.0f;
			em = 1.0f + am * g;
			es = 1.0f + as * g;
			eu = MB_SHUF(em, es, 0, 4, 1, 5);
			ew = MB_SHUF(em, es, 2, 6, 3, 7);
		}
		if (post) {
			/* lanes 2, 3: E4 - F3 = E4 - E2 - s3·(E3 - E2) */
			mb_v4 e2 = MB_SHUF(eu, eu, 2, 3, 2, 3);
			mb_v4 f = ew - e2 - s3 * (MB_SHUF(ew, ew, 0, 1, 0, 1) - e2);

			ew = MB_SHUF(ew, f, 0, 1, 6, 7);
		}
		a = eu * bu[k];
		o = ew * bw[k];
		/* lanes 0, 1: E1·b1 + E2·D2 + E3·s3·hi2, through all-pass 3 */
		y = mb_allpass_ss(&z, &c, mb_widen_lo(a + MB_SHUF(a, a, 2, 3, 2, 3) + o));
		if (post)
			o = mb_narrow(y, y) + MB_SHUF(o, o, 2, 3, 2, 3);
		else
			o = mb_narrow(y, y);
		L[k] = o[0] + o[1];
		R[k] = o[0] - o[1];
	}
	*zo = z;
}

static inline int mb_all1(mb_v4 x)
{
	return x[0] == 1 && x[1] == 1 && x[2] == 1 && x[3] == 1;
}

/* Pass 2's sources: band 3's detector on hi2 (MB_DET_MERGE), or on
 * AP3 hi2 (MB_DET_A3, see from_a3 in mb_run()); MB_DET_PLAIN, 3 bands
 * at rest with crossover 3 cold and every detector linked (stereo): s3 =
 * 1, s4 = 0 and b4 = 0, so nothing is merged and the weights are 1. */
enum { MB_DET_MERGE, MB_DET_A3, MB_DET_PLAIN };

/* Pass 2 of mb_run(): detectors and peak levels, v[k] = y1; bu, bw
 * become what pass 5 weights.  Returns the highest y1 of each band. */
static inline __attribute__((always_inline)) mb_v4
mb_detect(struct mb_priv *s, mb_v4 *bu, mb_v4 *bw, const mb_v4 *bd, mb_v4 *v,
	  unsigned m, unsigned j0, const int moving, const int mode)
{
	const struct mb_ramp *r = &s->ramp;
	mb_v4 y1 = s->y1, pk = mb_splat4(0);
	const mb_v4 wm0 = r->wm, ws0 = r->ws, dwm = r->dwm, dws = r->dws;
	const mb_v4 ar = r->ar;
	const float s30 = (float)s->s0[0], s40 = (float)s->s0[1];

	for (unsigned k = 0; k < m; k++) {
		float s3 = s30, s4 = s40;
		mb_v4 wm = wm0, ws = ws0, u, w;

		if (moving) {
			double t = mb_t(j0 + k);

			s3 = (float)(s->s0[0] + s->ds[0] * t);
			s4 = (float)(s->s0[1] + s->ds[1] * t);
			wm += dwm * (float)t;
			ws += dws * (float)t;
		}
		if (mode == MB_DET_PLAIN) {
			/* (b1, b2), (hi2, 0) as they are */
			u = bu[k];
			w = bw[k];
		} else {
			/* (D3, b4) = (b3 + (1 - s4)·b4, b4) = (AP3 hi2 -
			 * s4·b4, b4) (hi2 for AP3 hi2 while s4 = 0, before
			 * from_a3), then (b1, D2) = (b1, b2 + (1 - s3)·D3),
			 * on (M, S) pairs */
			if (mode == MB_DET_A3)
				w = bd[k] - (mb_v4){ s4, s4, 0, 0 } *
					    MB_SHUF(bd[k], bd[k], 2, 3, 2, 3);
			else
				w = bw[k] - (mb_v4){ s4, s4, 0, 0 } *
					    MB_SHUF(bw[k], bw[k], 2, 3, 2, 3);
			u = bu[k] + (mb_v4){ 0, 0, 1 - s3, 1 - s3 } * MB_SHUF(w, w, 0, 1, 0, 1);
			/* what pass 5 weights by the gains E1 … E4 (see the
			 * header): E1·b1 + E2·(b2 + (1 - s3)·hi2) + E3·s3·hi2
			 * through all-pass 3, plus s4·(E4 - F3)·b4 */
			if (mode == MB_DET_A3) {
				bu[k] += (mb_v4){ 0, 0, 1 - s3, 1 - s3 } *
					 MB_SHUF(bw[k], bw[k], 0, 1, 0, 1);
				bw[k] *= (mb_v4){ s3, s3, s4, s4 };
			} else {
				bu[k] = u;
				bw[k] = w * (mb_v4){ s3, s3, s4, s4 };
			}
		}
		u = mb_abs4(u);
		w = mb_abs4(w);
		if (mode == MB_DET_PLAIN)
			y1 = mb_max4(MB_SHUF(u, w, 0, 2, 4, 6) + MB_SHUF(u, w, 1, 3, 5, 7), ar * y1);
		else
			y1 = mb_max4(wm * MB_SHUF(u, w, 0, 2, 4, 6) +
				     ws * MB_SHUF(u, w, 1, 3, 5, 7), ar * y1);
		v[k] = y1;
		pk = mb_max4(pk, y1);
	}
	s->y1 = y1;
	return pk;
}

#ifdef MB_AVX
typedef double mb_v4d __attribute__((vector_size(32)));

/* Two sections side by side, four lanes: the same operations, in the same
 * order, as mb_highpass() and mb_allpass() on each half (c: both halves'
 * coefficients, the same crossover's). */
#define MB_HP4(s1_, s2_, n_, a1_, a2_, x_, y_)                          \
	do {                                                            \
		mb_v4d bx_ = (n_) * (x_);                               \
		(y_) = bx_ + (s1_);                                     \
		(s1_) = ((s2_) - 2.0 * bx_) - (a1_) * (y_);             \
		(s2_) = bx_ - (a2_) * (y_);                             \
	} while (0)

#define MB_AP4(s1_, s2_, a1_, a2_, x_, y_)                              \
	do {                                                            \
		(y_) = (a2_) * (x_) + (s1_);                            \
		(s1_) = (s2_) + (a1_) * ((x_) - (y_));                  \
		(s2_) = (x_) - (a2_) * (y_);                            \
	} while (0)

static inline __attribute__((always_inline, target("avx2"))) mb_v4d
mb_pair(mb_v2 lo, mb_v2 hi)
{
	return (mb_v4d)_mm256_insertf128_pd(_mm256_castpd128_pd256((__m128d)lo),
					    (__m128d)hi, 1);
}

static inline __attribute__((always_inline, target("avx2"))) mb_v2
mb_lo(mb_v4d x)
{
	return (mb_v2)_mm256_castpd256_pd128((__m256d)x);
}

static inline __attribute__((always_inline, target("avx2"))) mb_v2
mb_hi(mb_v4d x)
{
	return (mb_v2)_mm256_extractf128_pd((__m256d)x, 1);
}

/*
 * Pass 1 of mb_run() for 3 bands at rest (crossover 3 cold, nothing
 * moving), m >= 4 frames of M/S pairs x[] (from b1[]), in AVX2: the seven
 * sections of the tree as three pairs of four lanes and one of two,
 *
 *	P0 = (z0 high-pass on x at frame k,   z1 high-pass on z0's at k - 1)
 *	     the EQ's trick: the second section of the pair runs one frame
 *	     behind, on what the first gave in the iteration before;
 *	     z1 gives hi = HP1 x at frame k - 1
 *	z2 all-pass 1 on x at k - 1, alone: lo = z2 - hi
 *	A  = (z3 all-pass 2 on lo, z6 all-pass 2 on hi), both at k - 1
 *	P1 = (z4 high-pass on hi at k - 1,  z5 high-pass on z4's at k - 2)
 *
 * so in iteration k band 1 and crossover 2's all-pass are at frame
 * k - 1 and its high output hi2 at k - 2, where the frame is written
 * (bu, bw as the two-lane loop writes them).  Frames 0 and 1 are filled
 * and m - 2, m - 1 drained two lanes wide.  Every section sees the same
 * inputs and does the same operations in the same order as in the
 * two-lane loop (no FMA: "avx2" only), so bu and bw are the same to the
 * bit, whatever the call sizes (tests/test_multiband's test_avx_paths()
 * compares calls of 1 frame, which take the two-lane loop, with calls of
 * 2 … 1024; tests/test_multiband_sse2 builds the multiband without AVX2).
 * The two-lane loop is bound by the throughput of its seven sections
 * (about 50 operations a frame); here they are four vector sections'
 * work: the multiband took 10 % less time with this alone (14.3 against
 * 15.8 ns a frame, interleaved runs, 3 bands on the music).
 */
__attribute__((target("avx2")))
static void mb_tree3_avx(struct mb_biquad *z, const struct mb_coef *c, const mb_v2 *x,
			 mb_v4 *bu, mb_v4 *bw, unsigned m)
{
	const mb_v4d n0 = mb_pair(c[0].n, c[0].n), a10 = mb_pair(c[0].a1, c[0].a1);
	const mb_v4d a20 = mb_pair(c[0].a2, c[0].a2);
	const mb_v4d n1 = mb_pair(c[1].n, c[1].n), a11 = mb_pair(c[1].a1, c[1].a1);
	const mb_v4d a21 = mb_pair(c[1].a2, c[1].a2);
	mb_v4d s1p0, s2p0, s1p1, s2p1, s1a, s2a, o0, o1, oa, in;
	mb_v2 hi, lo, o0k, o4k, b1k, ap6k, b1n, ap6n, hi2;
	unsigned k;

	/* fill: frame 0 through every section but z5, frame 1 through z0 */
	o0k = mb_highpass(&z[0], &c[0], x[0]);
	hi = mb_highpass(&z[1], &c[0], o0k);
	lo = mb_allpass(&z[2], &c[0], x[0]) - hi;
	b1k = mb_allpass(&z[3], &c[1], lo);
	ap6k = mb_allpass(&z[6], &c[1], hi);
	o4k = mb_highpass(&z[4], &c[1], hi);
	o0k = mb_highpass(&z[0], &c[0], x[1]);

	s1p0 = mb_pair(z[0].s1, z[1].s1);
	s2p0 = mb_pair(z[0].s2, z[1].s2);
	s1p1 = mb_pair(z[4].s1, z[5].s1);
	s2p1 = mb_pair(z[4].s2, z[5].s2);
	s1a = mb_pair(z[3].s1, z[6].s1);
	s2a = mb_pair(z[3].s2, z[6].s2);
	/* o0 = (z0 at frame k - 1, -), o1 = (z4 at frame k - 2, -) */
	o0 = mb_pair(o0k, o0k);
	o1 = mb_pair(o4k, o4k);
	for (k = 2; k < m; k++) {
		in = (mb_v4d)_mm256_permute2f128_pd(_mm256_castpd128_pd256((__m128d)x[k]),
						     (__m256d)o0, 0x20);
		MB_HP4(s1p0, s2p0, n0, a10, a20, in, o0);
		hi = mb_hi(o0);
		lo = mb_allpass(&z[2], &c[0], x[k - 1]) - hi;
		in = mb_pair(lo, hi);
		MB_AP4(s1a, s2a, a11, a21, in, oa);
		in = (mb_v4d)_mm256_permute2f128_pd((__m256d)o0, (__m256d)o1, 0x21);
		MB_HP4(s1p1, s2p1, n1, a11, a21, in, o1);
		/* frame k - 2: band 1 and all-pass 2 of the iteration before */
		hi2 = mb_hi(o1);
		b1n = mb_lo(oa);
		ap6n = mb_hi(oa);
		bu[k - 2] = mb_narrow(b1k, ap6k - hi2);
		bw[k - 2] = mb_narrow(hi2, mb_splat(0));
		b1k = b1n;
		ap6k = ap6n;
	}
	z[0].s1 = mb_lo(s1p0);
	z[0].s2 = mb_lo(s2p0);
	z[1].s1 = mb_hi(s1p0);
	z[1].s2 = mb_hi(s2p0);
	z[4].s1 = mb_lo(s1p1);
	z[4].s2 = mb_lo(s2p1);
	z[5].s1 = mb_hi(s1p1);
	z[5].s2 = mb_hi(s2p1);
	z[3].s1 = mb_lo(s1a);
	z[3].s2 = mb_lo(s2a);
	z[6].s1 = mb_hi(s1a);
	z[6].s2 = mb_hi(s2a);
	/* drain: frame m - 2 through z5; frame m - 1 through z1 … z5 */
	hi2 = mb_highpass(&z[5], &c[1], mb_lo(o1));
	bu[m - 2] = mb_narrow(b1k, ap6k - hi2);
	bw[m - 2] = mb_narrow(hi2, mb_splat(0));
	hi = mb_highpass(&z[1], &c[0], mb_lo(o0));
	lo = mb_allpass(&z[2], &c[0], x[m - 1]) - hi;
	b1k = mb_allpass(&z[3], &c[1], lo);
	ap6k = mb_allpass(&z[6], &c[1], hi);
	hi2 = mb_highpass(&z[5], &c[1], mb_highpass(&z[4], &c[1], hi));
	bu[m - 1] = mb_narrow(b1k, ap6k - hi2);
	bw[m - 1] = mb_narrow(hi2, mb_splat(0));
}
#undef MB_HP4
#undef MB_AP4
#endif

#ifdef MB_AVX
typedef float mb_v8 __attribute__((vector_size(32)));
typedef int mb_i8 __attribute__((vector_size(32)));
typedef unsigned mb_u8 __attribute__((vector_size(32)));

static inline __attribute__((always_inline, target("avx2"))) mb_v8
mb_splat8(float x)
{
	return (mb_v8){ x, x, x, x, x, x, x, x };
}

/* mb_log2() and mb_exp2() on two frames: the same operations in the same
 * order, lane by lane */
static inline __attribute__((always_inline, target("avx2"))) mb_v8
mb_log2_8(mb_v8 x)
{
	mb_u8 b = (mb_u8)x;
	mb_v8 e = __builtin_convertvector((mb_i8)(b >> 23), mb_v8) - 127.0f;
	mb_v8 u = (mb_v8)((b & 0x007fffffu) | 0x3f800000u) - 1.0f;
	mb_v8 q01 = MB_LOG2_Q0 + MB_LOG2_Q1 * u;
	mb_v8 q23 = MB_LOG2_Q2 + MB_LOG2_Q3 * u;

	return e + u * (q01 + (u * u) * q23);
}

static inline __attribute__((always_inline, target("avx2"))) mb_v8
mb_exp2_8(mb_v8 y)
{
	const float magic = MB_EXP2_MAGIC;
	mb_v8 r = y + magic;
	mb_u8 n = (mb_u8)r - (mb_u8)mb_splat8(magic);
	mb_v8 f = y - (r - magic);
	mb_v8 a = MB_EXP2_P1 + MB_EXP2_P2 * f;
	mb_v8 p = 1.0f + f * (a + (f * f) * MB_EXP2_P3);

	return (mb_v8)((mb_u8)p + (n << 23));
}

static inline __attribute__((always_inline, target("avx2"))) mb_v8
mb_dup8(mb_v4 x)
{
	return (mb_v8)_mm256_set_m128(x, x);
}

/* Pass 3 of mb_run() at rest, two frames a vector (the odd last one four
 * lanes wide): the gain computer as there. */
__attribute__((target("avx2")))
static void mb_gc_avx(mb_v4 *v, unsigned m, mb_v4 thr4, mb_v4 slope4, mb_v4 tlin4)
{
	const mb_v8 thr = mb_dup8(thr4), slope = mb_dup8(slope4), tlin = mb_dup8(tlin4);
	unsigned k;

	for (k = 0; k + 1 < m; k += 2) {
		mb_v8 x = (mb_v8)_mm256_loadu_ps((const float *)&v[k]), gc;

		gc = -slope * (mb_v8)_mm256_max_ps(mb_log2_8(x) - thr, mb_splat8(0));
		gc = (mb_v8)_mm256_max_ps(gc, mb_splat8(-100.0f));
		_mm256_storeu_ps((float *)&v[k], (mb_v8)((mb_i8)(x > tlin) & (mb_i8)gc));
	}
	if (k < m) {
		mb_v4 gc = -slope4 * mb_max4(mb_log2(v[k]) - thr4, mb_splat4(0));

		gc = mb_max4(gc, mb_splat4(-100.0f));
		v[k] = (mb_v4)((mb_i4)(v[k] > tlin4) & (mb_i4)gc);
	}
}

/* Pass 4 of mb_run(): the attack smoothing of the four bands in one
 * vector of doubles (the same products and sums as in two), then 2^glog
 * on two frames a vector; gmin is a minimum, the same in any order (g
 * is never NaN while glog is finite, and mb_process() resets gmin when
 * it is not). */
__attribute__((target("avx2")))
static void mb_gain_avx(struct mb_priv *s, mb_v4 *v, unsigned m)
{
	const struct mb_ramp *r = &s->ramp;
	__m256d gl = _mm256_set_m128d((__m128d)s->glog[1], (__m128d)s->glog[0]);
	const __m256d ca = _mm256_set_m128d((__m128d)r->ca[1], (__m128d)r->ca[0]);
	const __m256d ka = _mm256_set_m128d((__m128d)(1.0 - r->ca[1]), (__m128d)(1.0 - r->ca[0]));
	mb_v8 gmin = mb_dup8(s->gmin);
	mb_v4 gmin4;
	unsigned k;

	for (k = 0; k < m; k++) {
		gl = ka * gl + ca * _mm256_cvtps_pd(v[k]);
		v[k] = _mm256_cvtpd_ps(gl);
	}
	for (k = 0; k + 1 < m; k += 2) {
		mb_v8 g = mb_exp2_8((mb_v8)_mm256_loadu_ps((const float *)&v[k]));

		_mm256_storeu_ps((float *)&v[k], g);
		gmin = (mb_v8)_mm256_min_ps(gmin, g);
	}
	gmin4 = mb_min4((mb_v4)_mm256_castps256_ps128(gmin),
			(mb_v4)_mm256_extractf128_ps(gmin, 1));
	if (k < m) {
		v[k] = mb_exp2(v[k]);
		gmin4 = mb_min4(gmin4, v[k]);
	}
	s->glog[0] = (mb_v2)_mm256_castpd256_pd128(gl);
	s->glog[1] = (mb_v2)_mm256_extractf128_pd(gl, 1);
	s->gmin = gmin4;
}
#endif

#ifdef MB_AVX
/* M/S encoding of mb_run() four frames a vector: frames [0, m & ~3) into
 * x[], with the same operations as there, lane by lane.  Returns the
 * frames done. */
__attribute__((target("avx2")))
static unsigned mb_ms_avx(const float *L, const float *R, mb_v2 *x, unsigned m)
{
	const __m256d big = _mm256_set1_pd(3.4028234663852886e38);
	const __m256d sign = _mm256_set1_pd(-0.0), half = _mm256_set1_pd(0.5);
	unsigned k;

	for (k = 0; k + 3 < m; k += 4) {
		__m256d l = _mm256_cvtps_pd(_mm_loadu_ps(L + k));
		__m256d r = _mm256_cvtps_pd(_mm_loadu_ps(R + k));
		__m256d ms0, ms1, lo, hi;

		/* mb_finite() */
		l = _mm256_and_pd(_mm256_cmp_pd(_mm256_andnot_pd(sign, l), big, _CMP_LE_OQ), l);
		r = _mm256_and_pd(_mm256_cmp_pd(_mm256_andnot_pd(sign, r), big, _CMP_LE_OQ), r);
		ms0 = half * (l + r);
		ms1 = half * (l - r);
		lo = _mm256_unpacklo_pd(ms0, ms1);      /* frames k, k + 2 */
		hi = _mm256_unpackhi_pd(ms0, ms1);      /* frames k + 1, k + 3 */
		_mm256_storeu_pd((double *)&x[k], _mm256_permute2f128_pd(lo, hi, 0x20));
		_mm256_storeu_pd((double *)&x[k + 2], _mm256_permute2f128_pd(lo, hi, 0x31));
	}
	return k;
}
#endif

/*
 * Frames [j0, j0 + m) of the current sub-block, in passes over the frames
 * (each a short loop whose iterations the CPU overlaps; one loop doing
 * everything per frame was bound by the latency of its long dependency
 * chains, at twice the cost):
 *
 *  1. M/S encoding, then the tree on (M, S) in doubles, in one loop
 *     (3 bands at rest) or two; out the bands in floats, before
 *     all-pass 3: bu[k] = (M1, S1, M2, S2), bw[k] = (M, S of hi2, M4,
 *     S4), and with crossover 3 running bd[k] = (M, S of AP3 hi2, M4, S4)
 *  2. detectors (merged bands feed the band below) and peak levels,
 *     bands in float lanes: v[k] = y1; bu, bw become what pass 5
 *     weights: (b1, b2 + (1 - s3)·hi2), (s3·hi2, s4·b4)
 *  3. gain computer: v[k] = gc; skipped (gc = 0) while no level is above
 *     the lowest threshold of its band in the sub-block, or no band
 *     compresses (ratio 1)
 *  4. attack smoothing (doubles) and 2^glog: v[k] = g; skipped (g = 1)
 *     while gc = 0 and glog = 0
 *  5. band gains, sum, all-pass 3 on bands 1 … 3, band 4's part,
 *     decoding
 *
 * Fusing 3 and 4, or 4 and 5, cost 10 % or more (more work behind each
 * frame's chain: glog's, all-pass 3's), M/S encoding inside the tree's
 * loop as much.
 * A skip gives exactly what computing would (gc is defined as 0 at or
 * under that threshold, and 2^0 is 1), so the output does not depend on
 * where calls split a sub-block.  `moving` is a constant in each of the
 * two inlined copies: the steady one interpolates nothing.
 */
static inline __attribute__((always_inline)) void
mb_run(struct mb_priv *s, float *L, float *R, unsigned m, unsigned j0,
       const int moving)
{
	const struct mb_ramp *r = &s->ramp;
	mb_v4 bu[CHAIN_SUBBLOCK], bw[CHAIN_SUBBLOCK], bd[CHAIN_SUBBLOCK];
	mb_v4 v[CHAIN_SUBBLOCK];
	int unity = 1;
	/* band 3's detector on b3 + b4 = AP3 hi2 once crossover 3 has warmed
	 * up, on hi2 before (the same magnitudes) */
	const int from_a3 = s->x3 == MB_X3_LIVE || s->x3 == MB_X3_WARM_B;

	/* 1: 3 bands at rest, the 7 sections in one loop over the
	 * sub-block (5 % less time for the multiband than in two, measured
	 * with tests/bench.c's music); else in two passes: crossover 1, band
	 * 1's all-pass 2 and crossover 2's, then the rest from crossover 1's
	 * high output (parked in hi1[]), as each pass's states crowd the
	 * registers less than all ten sections' (measured 6 % less time with
	 * 12); every section sees the same samples and coefficients either
	 * way, so the same values */
	{
		struct mb_biquad z[MB_Z_N];
		struct mb_coef c[MB_XOVERS];
		mb_v2 b1[CHAIN_SUBBLOCK], hi1[CHAIN_SUBBLOCK], ap2[CHAIN_SUBBLOCK];

		/* M and S first, in a loop of their own: the filter loop's
		 * frames then start from a load, not from this chain (b1[]
		 * holds them until that loop overwrites each with band 1) */
		unsigned k0 = 0;

#ifdef MB_AVX
		if (s->avx)
			k0 = mb_ms_avx(L, R, b1, m);
#endif
		for (unsigned k = k0; k + 1 < m; k += 2) {
			mb_f2 lf, rf;
			mb_v2 lv, rv, ms0, ms1;

			memcpy(&lf, L + k, sizeof(lf));
			memcpy(&rf, R + k, sizeof(rf));
			lv = mb_finite(__builtin_convertvector(lf, mb_v2));
			rv = mb_finite(__builtin_convertvector(rf, mb_v2));
			/* (M, M'), (S, S') of frames k, k + 1 */
			ms0 = 0.5 * (lv + rv);
			ms1 = 0.5 * (lv - rv);
			b1[k] = MB_SHUF2(ms0, ms1, 0, 2);
			b1[k + 1] = MB_SHUF2(ms0, ms1, 1, 3);
		}
		if (m % 2) {
			mb_v2 x = mb_finite((mb_v2){ L[m - 1], R[m - 1] });

			b1[m - 1] = 0.5 * ((mb_v2){ x[0], x[0] } + (mb_v2){ x[1], -x[1] });
		}
		memcpy(z, s->z, sizeof(z));
		memcpy(c, s->coef, sizeof(c));
		if (!moving && s->x3 == MB_X3_COLD) {
#ifdef MB_AVX
			if (s->avx && m >= 4)
				mb_tree3_avx(z, c, b1, bu, bw, m);
			else
#endif
			for (unsigned k = 0; k < m; k++) {
				mb_v2 lo, hi, lo2, hi2;

				mb_split(&z[MB_Z_X1], &c[0], b1[k], &lo, &hi);
				lo = mb_allpass(&z[MB_Z_B1_AP2], &c[1], lo);
				mb_split(&z[MB_Z_X2], &c[1], hi, &lo2, &hi2);
				bu[k] = mb_narrow(lo, lo2);
				bw[k] = mb_narrow(hi2, mb_splat(0));
			}
		} else {
			for (unsigned k = 0; k < m; k++) {
				mb_v2 x = b1[k], lo, hi;

				if (moving) {
					double t = mb_t(j0 + k);

					for (int i = 0; i < MB_XOVERS - 1; i++)
						if (s->dg[i] != 0)
							c[i] = mb_coef_of(s->g0[i] + s->dg[i] * t);
				}
				mb_split(&z[MB_Z_X1], &c[0], x, &lo, &hi);
				/* band 1's all-pass 2 and crossover 2's */
				b1[k] = mb_allpass(&z[MB_Z_B1_AP2], &c[1], lo);
				ap2[k] = mb_allpass(&z[MB_Z_X2 + 2], &c[1], hi);
				hi1[k] = hi;
			}
			if (s->x3 == MB_X3_COLD)
				mb_tree2(s, z, b1, hi1, ap2, bu, bw, bd, m, j0, moving, 1);
			else
				mb_tree2(s, z, b1, hi1, ap2, bu, bw, bd, m, j0, moving, 0);
		}
		memcpy(s->z, z, sizeof(z));
	}
	/* 2 */
	{
		mb_v4 pk;

		if (moving && from_a3)
			pk = mb_detect(s, bu, bw, bd, v, m, j0, 1, MB_DET_A3);
		else if (moving)
			pk = mb_detect(s, bu, bw, bd, v, m, j0, 1, MB_DET_MERGE);
		else if (s->x3 == MB_X3_COLD && s->s0[0] == 1 && mb_all1(r->wm) && mb_all1(r->ws))
			pk = mb_detect(s, bu, bw, bd, v, m, j0, 0, MB_DET_PLAIN);
		else if (from_a3)
			pk = mb_detect(s, bu, bw, bd, v, m, j0, 0, MB_DET_A3);
		else
			pk = mb_detect(s, bu, bw, bd, v, m, j0, 0, MB_DET_MERGE);

		/* 3: computed while a level is above the lowest threshold of
		 * its band and the band compresses (slope > 0 somewhere in the
		 * sub-block); then pass 4 runs too, and where every gc still
		 * came out 0 it gives what skipping would (glog stays 0, 2^0
		 * is 1) */
		if (mb_any4((mb_i4)(pk > r->tlin) &
			    ((mb_i4)(r->slope > 0) | (mb_i4)(r->slope + r->dslope > 0)))) {
			const mb_v4 thr0 = r->thr, slope0 = r->slope, tlin = r->tlin;
			const mb_v4 dthr = r->dthr, dslope = r->dslope;

#ifdef MB_AVX
			if (!moving && s->avx && m >= 2)
				mb_gc_avx(v, m, thr0, slope0, tlin);
			else
#endif
			for (unsigned k = 0; k < m; k++) {
				mb_v4 thr = thr0, slope = slope0, gc;

				if (moving) {
					float t = (float)mb_t(j0 + k);

					thr += dthr * t;
					slope += dslope * t;
				}
				gc = -slope * mb_max4(mb_log2(v[k]) - thr, mb_splat4(0));
				gc = mb_max4(gc, mb_splat4(-100.0f));  /* -602 dB */
				v[k] = (mb_v4)((mb_i4)(v[k] > tlin) & (mb_i4)gc);
			}
			unity = 0;
		}
	}

	/* 4 */
	if (unity && (s->glog[0][0] != 0 || s->glog[0][1] != 0 ||
		      s->glog[1][0] != 0 || s->glog[1][1] != 0)) {
		/* releasing: gc = 0 */
		unity = 0;
		for (unsigned k = 0; k < m; k++)
			v[k] = mb_splat4(0);
	}
#ifdef MB_AVX
	if (!unity && s->avx && m >= 2) {
		mb_gain_avx(s, v, m);
	} else
#endif
	if (!unity) {
		mb_v2 gla = s->glog[0], glb = s->glog[1];
		mb_v4 gmin = s->gmin;
		const mb_v2 caa = r->ca[0], cab = r->ca[1];
		const mb_v2 kaa = 1.0 - caa, kab = 1.0 - cab;

		/* glog += ca·(gc - glog) as (1 - ca)·glog + ca·gc: glog
		 * waits on one product and one sum per sample */
		for (unsigned k = 0; k < m; k++) {
			mb_v4 gc = v[k];

			gla = kaa * gla + caa * mb_widen_lo(gc);
			glb = kab * glb + cab * mb_widen_hi(gc);
			v[k] = mb_exp2(mb_narrow(gla, glb));
			gmin = mb_min4(gmin, v[k]);
		}
		s->glog[0] = gla;
		s->glog[1] = glb;
		s->gmin = gmin;
	}

	/* 5: with `full`, no band bypassed or in mid or side mode (a = 1) */
	if (s->x3 == MB_X3_LIVE) {
		if (unity)
			mb_out(s, &s->z[MB_Z_OUT], v, bu, bw, L, R, m, j0, moving, 1, 1, 0);
		else
			mb_out(s, &s->z[MB_Z_OUT], v, bu, bw, L, R, m, j0, moving, 0, 1, 0);
	} else if (!moving && mb_all1(r->am) && mb_all1(r->as)) {
		if (unity)
			mb_out(s, &s->z[MB_Z_OUT], v, bu, bw, L, R, m, j0, 0, 1, 0, 1);
		else
			mb_out(s, &s->z[MB_Z_OUT], v, bu, bw, L, R, m, j0, 0, 0, 0, 1);
	} else {
		if (unity)
			mb_out(s, &s->z[MB_Z_OUT], v, bu, bw, L, R, m, j0, moving, 1, 0, 0);
		else
			mb_out(s, &s->z[MB_Z_OUT], v, bu, bw, L, R, m, j0, moving, 0, 0, 0);
	}
}

static void mb_process(struct chain_proc *p, float *const *buf, unsigned n)
{
	struct mb_priv *s = p->priv;
	float *L = buf[0], *R = buf[1];
	unsigned long long pos = s->pos;
	unsigned i = 0;
	int bad = 0;

	s->gmin = mb_splat4(1.0f);
	if (s->dirty) {
		mb_ramps(s);
		mb_x3_snap(s);
	}
	while (i < n) {
		unsigned j = (unsigned)(pos % CHAIN_SUBBLOCK);
		unsigned m = CHAIN_SUBBLOCK - j;

		if (m > n - i)
			m = n - i;
		if (j == 0)
			mb_subblock(s);
		if (s->moving)
			mb_run(s, L + i, R + i, m, j, 1);
		else
			mb_run(s, L + i, R + i, m, j, 0);
		i += m;
		pos += m;
	}
	s->pos = pos;

	/* never let a NaN or infinity live on in recursive state (STYLE.md
	 * §3.5); with finite input it cannot arise, this is a last guard */
	for (int k = 0; k < MB_Z_N; k++)
		for (int l = 0; l < 2; l++)
			bad |= !isfinite(s->z[k].s1[l]) || !isfinite(s->z[k].s2[l]);
	for (int k = 0; k < 2; k++)
		for (int l = 0; l < 2; l++)
			bad |= !isfinite(s->glog[k][l]) || !isfinite(s->y1[2 * k + l]);
	if (bad) {
		memset(s->z, 0, sizeof(s->z));
		s->y1 = mb_splat4(0);
		s->glog[0] = s->glog[1] = mb_splat(0);
		s->gmin = mb_splat4(1.0f);
	}

	/* meters: the compression applied (makeup aside), weighted by what
	 * the band does: bypassed, merged or mode-excluded gives 0 */
	s->gr_db = 0;
	for (int b = 0; b < MB_BANDS; b++) {
		const struct mb_band *c = &s->band[b];
		double a = c->on.end * fmax(c->wm.end, c->ws.end);
		double gm = s->gmin[b];
		double gr = 0;

		if (b == 2)
			a *= s->merge[0].end;
		if (b == 3)
			a *= s->merge[0].end * s->merge[1].end;
		if (gm < 1 && a > 0)
			gr = -20.0 * log10(1.0 + a * (gm - 1.0));
		s->meter_db[b] = (float)gr;
		if (s->meter_db[b] > s->gr_db)
			s->gr_db = s->meter_db[b];
	}
}

static void mb_reset(struct chain_proc *p)
{
	struct mb_priv *s = p->priv;

	memset(s->z, 0, sizeof(s->z));
	s->y1 = mb_splat4(0);
	s->glog[0] = s->glog[1] = mb_splat(0);
	s->gmin = mb_splat4(1.0f);
	for (int x = 0; x < MB_XOVERS; x++)
		chain_smooth_set(&s->xo[x], s->xo[x].target, 1);
	for (int k = 0; k < 2; k++)
		chain_smooth_set(&s->merge[k], s->merge[k].target, 1);
	for (int b = 0; b < MB_BANDS; b++) {
		struct mb_band *c = &s->band[b];

		chain_smooth_set(&c->thr, c->thr.target, 1);
		chain_smooth_set(&c->slope, c->slope.target, 1);
		chain_smooth_set(&c->att, c->att.target, 1);
		chain_smooth_set(&c->rel, c->rel.target, 1);
		chain_smooth_set(&c->mk, c->mk.target, 1);
		chain_smooth_set(&c->wm, c->wm.target, 1);
		chain_smooth_set(&c->ws, c->ws.target, 1);
		chain_smooth_set(&c->on, c->on.target, 1);
	}
	mb_ramps(s);
	if (s->merge[1].end == 0)
		mb_x3_cold(s);
	else
		s->x3 = MB_X3_LIVE;
	s->idle = 0;
	s->pos = 0;
	for (int b = 0; b < MB_BANDS; b++)
		s->meter_db[b] = 0;
	s->gr_db = 0;
}

static void mb_set_param(struct chain_proc *p, unsigned id, float value,
			 int snap)
{
	struct mb_priv *s = p->priv;
	struct mb_band *c;

	if (id >= MB_N_PARAMS)
		return;
	s->idle = 0;
	if (snap)
		s->dirty = 1;
	switch (id) {
	case MB_P_BANDS:
		s->bands = (int)lroundf(value);
		if (s->bands < 2)
			s->bands = 2;
		if (s->bands > MB_BANDS)
			s->bands = MB_BANDS;
		chain_smooth_set(&s->merge[0], s->bands >= 3, snap);
		chain_smooth_set(&s->merge[1], s->bands >= 4, snap);
		mb_xover_targets(s, snap);
		return;
	case MB_P_XOVER1:
	case MB_P_XOVER2:
	case MB_P_XOVER3:
		s->raw_hz[id - MB_P_XOVER1] = value;
		mb_xover_targets(s, snap);
		return;
	}
	c = &s->band[(id - MB_P_BAND0) / MB_BP_N];
	switch ((id - MB_P_BAND0) % MB_BP_N) {
	case MB_BP_THRESHOLD:
		chain_smooth_set(&c->thr, value / MB_LOG2_DB, snap);
		break;
	case MB_BP_RATIO:
		chain_smooth_set(&c->slope, 1.0 - 1.0 / value, snap);
		break;
	case MB_BP_ATTACK:
		chain_smooth_set(&c->att, log(value), snap);
		break;
	case MB_BP_RELEASE:
		chain_smooth_set(&c->rel, log(value), snap);
		break;
	case MB_BP_GAIN:
		chain_smooth_set(&c->mk, pow(10.0, value / 20.0), snap);
		break;
	case MB_BP_BYPASS:
		chain_smooth_set(&c->on, value >= 0.5f ? 0.0 : 1.0, snap);
		break;
	case MB_BP_MODE: {
		int mode = (int)lroundf(value);

		chain_smooth_set(&c->wm, mode != MB_MODE_SIDE, snap);
		chain_smooth_set(&c->ws, mode != MB_MODE_MID, snap);
		break;
	}
	}
}

static int mb_init(struct chain_proc *p, double rate, unsigned max_frames)
{
	struct mb_priv *s = p->priv;

	(void)max_frames;
	/* the vectors in the state need the alignment malloc gives on 64-bit
	 * platforms (16 bytes); refuse rather than fault later */
	if ((uintptr_t)s % _Alignof(struct mb_priv))
		return CHAIN_ERROR_NOMEM;
	memset(s, 0, sizeof(*s));
	s->rate = rate;
#ifdef MB_AVX
	__builtin_cpu_init();
	s->avx = __builtin_cpu_supports("avx2");
#endif
	s->bands = (int)mb_params[MB_P_BANDS].def;
	for (int x = 0; x < MB_XOVERS; x++) {
		s->raw_hz[x] = mb_params[MB_P_XOVER1 + x].def;
		chain_smooth_init(&s->xo[x], rate, MB_XOVER_TAU_MS, 1e-5, 0);
		s->xo_at[x] = NAN;
	}
	for (int k = 0; k < 2; k++)
		chain_smooth_init(&s->merge[k], rate, MB_MERGE_TAU_MS, 1e-4, 1);
	for (int b = 0; b < MB_BANDS; b++) {
		struct mb_band *c = &s->band[b];

		chain_smooth_init(&c->thr, rate, MB_THR_TAU_MS, 1e-4, 0);
		chain_smooth_init(&c->slope, rate, MB_THR_TAU_MS, 1e-5, 0);
		chain_smooth_init(&c->att, rate, MB_TIME_TAU_MS, 1e-3, 0);
		chain_smooth_init(&c->rel, rate, MB_TIME_TAU_MS, 1e-3, 0);
		chain_smooth_init(&c->mk, rate, MB_GAIN_TAU_MS, 1e-6, 1);
		chain_smooth_init(&c->wm, rate, MB_GAIN_TAU_MS, 1e-4, 1);
		chain_smooth_init(&c->ws, rate, MB_GAIN_TAU_MS, 1e-4, 1);
		chain_smooth_init(&c->on, rate, MB_GAIN_TAU_MS, 1e-4, 1);
		c->att_at = c->rel_at = c->thr_at = NAN;
	}
	for (unsigned id = 0; id < MB_N_PARAMS; id++)
		mb_set_param(p, id, mb_params[id].def, 1);
	mb_reset(p);
	return CHAIN_OK;
}

static unsigned mb_latency(const struct chain_proc *p)
{
	(void)p;
	return 0;
}

static float mb_gain_reduction_db(const struct chain_proc *p)
{
	const struct mb_priv *s = p->priv;

	return s->gr_db;
}

static float mb_meter(const struct chain_proc *p, unsigned which)
{
	const struct mb_priv *s = p->priv;

	return which < MB_BANDS ? s->meter_db[which] : 0.0f;
}

static void mb_destroy(struct chain_proc *p)
{
	(void)p;
}

const struct chain_proc_ops chain_mb_ops = {
	.name = "mb",
	.glide_ms = MB_THR_TAU_MS,
	.label = "Multiband",
	.bypass = CHAIN_BYPASS_OFF,
	.priv_size = sizeof(struct mb_priv),
	.params = mb_params,
	.n_params = MB_N_PARAMS,
	.init = mb_init,
	.set_param = mb_set_param,
	.process = mb_process,
	.reset = mb_reset,
	.latency = mb_latency,
	.gain_reduction_db = mb_gain_reduction_db,
	.n_meters = MB_BANDS,
	.meter_names = mb_meter_names,
	.meter = mb_meter,
	.destroy = mb_destroy,
};

/*
 * termaster — word-length reduction with TPDF dither, optionally noise
 * shaped (see dither.h).
 *
 * For each sample: scale to LSBs of the target width, add triangular-PDF
 * noise (the sum of two independent uniform variates of ±0.5 LSB each, so
 * 2 LSB peak to peak), round to nearest, clip to the integer range, and
 * left-justify into int32_t.  With TPDF dither of 2 LSB p-p the total error
 * is independent of the signal in its first two moments: mean 0 and
 * variance LSB²/12 (rounding) + 2·LSB²/12 (dither) = LSB²/4 (Vanderkooy &
 * Lipshitz, "Resolution below the least significant bit in digital systems
 * with dither", JAES 32(3), 1984; Wannamaker, Lipshitz & Vanderkooy, "A
 * theory of non-subtractive dither", IEEE Trans. SP 48(2), 2000).
 *
 * Noise shaping is error feedback around that quantiser (Lipshitz,
 * Vanderkooy & Wannamaker, "Minimally audible noise shaping", JAES 39(11),
 * 1991):
 *
 *   d[n] = v[n] + Σ_j c_j·e[n−1−j]      v: the input in LSBs
 *   q[n] = round(d[n] + tpdf[n])         (then clipped)
 *   e[n] = d[n] − q[n]                   total error, dither included
 *
 * so q − v = −(1 − Σ c_j z^-(j+1))·e: the white TPDF error e (variance
 * LSB²/4, signal-independent as above, the dither being inside the loop)
 * comes out filtered by H(z) = 1 − Σ c_j z^-(j+1).  The c_j are
 * Wannamaker's nine-tap F-weighted filter for 44.1 kHz (JAES 40(7/8),
 * 1992; the same table as SoX's dither.c and FFmpeg's libswresample).
 *
 * Stability: e[n] is taken before clipping, so what is fed back is only
 * the quantiser's own error, |e| <= 1.5 LSB (0.5 rounding + 1 dither) —
 * never the clipping error, which would otherwise circulate and grow when
 * the signal sits at full scale.  The feedback is then bounded by
 * Σ|c_j| · 1.5 = 32.1 LSB, and v is limited to ±(full scale + 64 LSB)
 * before it enters (infinities included), so d is always finite and every
 * value is exact in double.
 *
 * The arithmetic is in double: a float has 24 mantissa bits, too few to
 * hold a 24-bit sample plus its fractional dither.
 *
 * Speed (TPDF): the plain loop took ~13 ns a stereo frame, bound by the
 * generator's six dependent operations a draw.  Now a run of DITHER_RUN
 * samples is made in two passes.  First the sums of each sample's two
 * draws (sums_run()): the run is cut into DITHER_LANES segments, each made
 * by its own copy of the generator in a 32-bit SSE2 lane, started where
 * that segment's draws begin (xorshift32 is linear over GF(2), so k steps
 * are a fixed linear map of the 32 state bits, applied as the xor of four
 * table entries, one per byte of the state: leap() for the segment's
 * length, jump4() for four steps); four registers of four lanes keep four
 * dependency chains in flight (with AVX2, sums_run_avx2(), two registers
 * of eight), and the lanes' sums are transposed into sample order.  Then
 * the samples two at a time in SSE2 lanes (four in AVX where the processor
 * has it, quant_avx()): the dither (u0 − 0.5) + (u1 − 0.5) is the sum
 * times 2^-24 minus 1, exactly; the value is clipped to the integer range
 * first and then floored (the same result: floor is monotonic and the
 * range's ends are integers; in SSE2 as truncation, one less where
 * truncation went up).  Runs shorter than DITHER_RUN (the end of a call)
 * take their draws from jump4() four streams side by side (draws()).  The
 * draws are the one generator's, in the same order, and every
 * floating-point operation is the scalar one's, so the output is
 * bit-identical to the plain loop (tests/test_chain.c and
 * tests/test_dither.c check it, any call sizes; tests/test_dither_sse2 the
 * SSE2 loop).  Measured, 24 bits, one core of an AMD EPYC VM: 5.8 ns a
 * stereo frame with the draws from jump4() in one dependency chain, 3.0 as
 * here with SSE2, 1.6 with AVX and AVX2.
 */
#include "config.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif
/* AVX for the TPDF loop where the processor has it (quant_avx());
 * DITHER_NO_AVX leaves it out (tests/test_dither_sse2 tests the other) */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(DITHER_NO_AVX)
#include <immintrin.h>
#define DITHER_AVX 1
#endif

#include "chain/chain.h"
#include "chain/dither.h"

#define DITHER_TAPS 9
#define DITHER_MARGIN 64.0  /* LSBs beyond full scale that may enter */
#define DITHER_RUN 512      /* samples per run of draws (dither_tpdf) */
#define DITHER_LANES 16     /* streams side by side (sums_run()) */
#define DITHER_SEG (DITHER_RUN / DITHER_LANES)  /* samples per lane */
#define DITHER_SEG_DRAWS (2 * DITHER_SEG)

/* Wannamaker 1992, F-weighted, 44.1 kHz */
static const double fweighted[DITHER_TAPS] = {
	2.412, -3.370, 3.937, -4.174, 3.353, -2.205, 1.281, -0.569, 0.0847,
};

struct chain_dither {
	unsigned channels;
	unsigned shift;     /* 32 - bits: left-justification */
	double scale;       /* 2^(bits-1): full scale in LSBs */
	double lo, hi;      /* integer range: -2^(bits-1) … 2^(bits-1)-1 */
	uint32_t state;     /* xorshift32 (Marsaglia 2003), never 0 */
	/* four steps of it by bytes of the state: jump[i][b] is the state
	 * four steps after b << 8i (draws()) */
	uint32_t jump[4][256];
	/* the same for DITHER_SEG_DRAWS steps (sums_run()) */
	uint32_t leap[4][256];
	enum chain_dither_shape shape;
	bool avx;           /* the processor has AVX: quant_avx() */
	bool avx2;          /* … and AVX2: sums_run_avx2() */
	unsigned pos;       /* ring index of the newest error, 0 … TAPS-1 */
	/* per channel, the last DITHER_TAPS errors (LSB), newest at [pos],
	 * stored twice ([k] and [k + TAPS]) so that a convolution reads them
	 * in one run (SoX dither.c) */
	double err[];
};

/* One step of the generator. */
static inline uint32_t xorshift(uint32_t x)
{
	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return x;
}

/* Four steps of the generator at once (the tables of d). */
static inline uint32_t jump4(const struct chain_dither *d, uint32_t x)
{
	return d->jump[0][x & 255] ^ d->jump[1][(x >> 8) & 255] ^
	       d->jump[2][(x >> 16) & 255] ^ d->jump[3][x >> 24];
}

/* d->leap from d->jump: the image of each state bit after
 * DITHER_SEG_DRAWS steps (DITHER_SEG_DRAWS / 4 jumps), then each byte's
 * entries as the xor of its bits' images (the map is linear). */
static void make_leap(struct chain_dither *d)
{
	uint32_t col[32];

	for (unsigned k = 0; k < 32; k++) {
		uint32_t x = 1u << k;

		for (unsigned j = 0; j < DITHER_SEG_DRAWS / 4; j++)
			x = jump4(d, x);
		col[k] = x;
	}
	for (unsigned i = 0; i < 4; i++) {
		d->leap[i][0] = 0;
		for (unsigned b = 1; b < 256; b++) {
			unsigned low = (unsigned)__builtin_ctz(b);

			d->leap[i][b] = d->leap[i][b & (b - 1)] ^ col[8 * i + low];
		}
	}
}

struct chain_dither *chain_dither_new_shaped(unsigned channels, unsigned bits,
					     uint32_t seed,
					     enum chain_dither_shape shape,
					     int *err)
{
	struct chain_dither *d;
	size_t hist = shape == CHAIN_DITHER_SHAPED ? 2 * DITHER_TAPS * (size_t)channels : 0;

	if (channels == 0 || bits < 8 || bits > 24 ||
	    (shape != CHAIN_DITHER_TPDF && shape != CHAIN_DITHER_SHAPED)) {
		if (err)
			*err = CHAIN_ERROR_RANGE;
		return NULL;
	}
	d = calloc(1, sizeof(*d) + hist * sizeof(double));
	if (!d) {
		if (err)
			*err = CHAIN_ERROR_NOMEM;
		return NULL;
	}
	d->channels = channels;
	d->shift = 32 - bits;
	d->scale = ldexp(1.0, (int)bits - 1);
	d->lo = -d->scale;
	d->hi = d->scale - 1;
	d->state = seed ? seed : 0x9e3779b9u;
	for (unsigned i = 0; i < 4; i++)
		for (unsigned b = 0; b < 256; b++) {
			uint32_t x = (uint32_t)b << (8 * i);

			for (int k = 0; k < 4; k++)
				x = xorshift(x);
			d->jump[i][b] = x;
		}
	make_leap(d);
#ifdef DITHER_AVX
	__builtin_cpu_init();
	d->avx = __builtin_cpu_supports("avx");
	d->avx2 = __builtin_cpu_supports("avx2");
#endif
	d->shape = shape;
	d->pos = 0;
	if (err)
		*err = CHAIN_OK;
	return d;
}

struct chain_dither *chain_dither_new(unsigned channels, unsigned bits,
				      uint32_t seed, int *err)
{
	return chain_dither_new_shaped(channels, bits, seed, CHAIN_DITHER_TPDF, err);
}

void chain_dither_free(struct chain_dither **d)
{
	if (!d)
		return;
	free(*d);
	*d = NULL;
}

/* Uniform in [-0.5, 0.5) LSB: the top 24 bits of the generator. */
static inline double uniform(uint32_t *s)
{
	*s = xorshift(*s);
	return (double)(*s >> 8) * (1.0 / 16777216.0) - 0.5;
}

/* The n draws (n a multiple of 4) after state s, four streams side by
 * side: r[k] is the state k + 1 steps after s (uniform() scales its top
 * 24 bits). */
static void draws(const struct chain_dither *d, uint32_t s, uint32_t *r, size_t n)
{
	uint32_t x0 = xorshift(s), x1 = xorshift(x0), x2 = xorshift(x1),
		 x3 = xorshift(x2);

	for (size_t k = 0; k < n; k += 4) {
		r[k] = x0;
		r[k + 1] = x1;
		r[k + 2] = x2;
		r[k + 3] = x3;
		x0 = jump4(d, x0);
		x1 = jump4(d, x1);
		x2 = jump4(d, x2);
		x3 = jump4(d, x3);
	}
}

/* DITHER_SEG_DRAWS steps of the generator at once (the tables of d). */
static inline uint32_t leap(const struct chain_dither *d, uint32_t x)
{
	return d->leap[0][x & 255] ^ d->leap[1][(x >> 8) & 255] ^
	       d->leap[2][(x >> 16) & 255] ^ d->leap[3][x >> 24];
}

/* One sample, sum the sum of its two draws' top 24 bits: the TPDF value
 * (u0 − 0.5) + (u1 − 0.5) is sum·2^-24 − 1, exactly (both are multiples
 * of 2^-24 below 2 in magnitude, every step exact in double). */
static inline int32_t tpdf_one(const struct chain_dither *d, float x, int32_t sum)
{
	double v = (double)x * d->scale;
	double tpdf = (double)sum * (1.0 / 16777216.0) - 1.0;
	double q;

	if (!(v == v))
		v = 0;  /* NaN: silence, not a full-scale click */
	q = floor(v + tpdf + 0.5);
	if (q < d->lo)
		q = d->lo;
	else if (q > d->hi)
		q = d->hi;
	return (int32_t)((uint32_t)(int32_t)q << d->shift);
}

/* The sums of the m samples' draw pairs after state s, by draws();
 * returns the state after the 2m draws. */
static uint32_t sums_any(const struct chain_dither *d, uint32_t s, int32_t *sum,
			 size_t m)
{
	uint32_t r[2 * DITHER_RUN];

	draws(d, s, r, (2 * m + 3) & ~(size_t)3);
	for (size_t j = 0; j < m; j++)
		sum[j] = (int32_t)((r[2 * j] >> 8) + (r[2 * j + 1] >> 8));
	return r[2 * m - 1];
}

#ifdef __SSE2__
/* One step of the generator in each of four lanes. */
static inline __m128i xorshift4(__m128i x)
{
	x = _mm_xor_si128(x, _mm_slli_epi32(x, 13));
	x = _mm_xor_si128(x, _mm_srli_epi32(x, 17));
	return _mm_xor_si128(x, _mm_slli_epi32(x, 5));
}

/* The sums of a whole run's DITHER_RUN draw pairs after state s, the run
 * cut into DITHER_LANES segments of DITHER_SEG samples generated side by
 * side, four lanes to a register: lane i starts i·DITHER_SEG_DRAWS steps
 * after s (leap()) and makes segment i's draws in order.  A step of one
 * register is six dependent operations; four registers keep four such
 * chains going at once (with one, the chain's latency bound the loop).
 * Each four samples' sums of a register's four lanes are transposed into
 * place.  Returns the state after the run (the last lane's last). */
static uint32_t sums_run(const struct chain_dither *d, uint32_t s, int32_t *sum)
{
	uint32_t st[DITHER_LANES];
	__m128i x[DITHER_LANES / 4];

	st[0] = s;
	for (unsigned i = 1; i < DITHER_LANES; i++)
		st[i] = leap(d, st[i - 1]);
	for (unsigned g = 0; g < DITHER_LANES / 4; g++)
		x[g] = _mm_loadu_si128((const __m128i *)(st + 4 * g));
	for (size_t t = 0; t < DITHER_SEG; t += 4) {
		for (unsigned g = 0; g < DITHER_LANES / 4; g++) {
			__m128i v[4], a, b, c, e;
			int32_t *o = sum + 4 * g * DITHER_SEG + t;

			for (int k = 0; k < 4; k++) {
				__m128i u0, u1;

				x[g] = xorshift4(x[g]);
				u0 = _mm_srli_epi32(x[g], 8);
				x[g] = xorshift4(x[g]);
				u1 = _mm_srli_epi32(x[g], 8);
				v[k] = _mm_add_epi32(u0, u1);  /* sample t + k */
			}
			a = _mm_unpacklo_epi32(v[0], v[1]);
			b = _mm_unpacklo_epi32(v[2], v[3]);
			c = _mm_unpackhi_epi32(v[0], v[1]);
			e = _mm_unpackhi_epi32(v[2], v[3]);
			_mm_storeu_si128((__m128i *)o, _mm_unpacklo_epi64(a, b));
			_mm_storeu_si128((__m128i *)(o + DITHER_SEG), _mm_unpackhi_epi64(a, b));
			_mm_storeu_si128((__m128i *)(o + 2 * DITHER_SEG), _mm_unpacklo_epi64(c, e));
			_mm_storeu_si128((__m128i *)(o + 3 * DITHER_SEG), _mm_unpackhi_epi64(c, e));
		}
	}
	return (uint32_t)_mm_cvtsi128_si32(_mm_shuffle_epi32(x[DITHER_LANES / 4 - 1], 0xff));
}
#endif

#ifdef __SSE2__
/* Samples 0 … m - 1 (an even count of them) as tpdf_one() makes them, two
 * at a time; returns how many were done. */
static size_t quant_sse2(const struct chain_dither *d, const float *x,
			 const int32_t *sum, int32_t *y, size_t m)
{
	const __m128d scale = _mm_set1_pd(d->scale);
	const __m128d unit = _mm_set1_pd(1.0 / 16777216.0);
	const __m128d half = _mm_set1_pd(0.5), one = _mm_set1_pd(1.0);
	const __m128d lo = _mm_set1_pd(d->lo), hi = _mm_set1_pd(d->hi);
	const __m128i shift = _mm_cvtsi32_si128((int)d->shift);
	size_t j;

	for (j = 0; j + 2 <= m; j += 2) {
		__m128d tpdf = _mm_sub_pd(_mm_mul_pd(_mm_cvtepi32_pd(
			_mm_loadl_epi64((const __m128i *)(sum + j))), unit), one);
		__m128d v = _mm_cvtps_pd(_mm_castsi128_ps(
			_mm_loadl_epi64((const __m128i *)(x + j))));
		__m128d q, t;
		__m128i k;

		v = _mm_mul_pd(v, scale);
		v = _mm_and_pd(v, _mm_cmpeq_pd(v, v));  /* NaN: 0 */
		q = _mm_add_pd(_mm_add_pd(v, tpdf), half);
		/* clipped, then floor: the same (floor is monotonic, lo and
		 * hi are integers); floor as truncation, one less where that
		 * went up (q negative) */
		q = _mm_min_pd(_mm_max_pd(q, lo), hi);
		k = _mm_cvttpd_epi32(q);
		t = _mm_cvtepi32_pd(k);
		k = _mm_add_epi32(k, _mm_shuffle_epi32(
			_mm_castpd_si128(_mm_cmpgt_pd(t, q)), 0x08));
		_mm_storel_epi64((__m128i *)(y + j), _mm_sll_epi32(k, shift));
	}
	return j;
}
#endif

#ifdef DITHER_AVX
/* The same four at a time in AVX (where the processor has it: d->avx):
 * the same operations on twice the lanes, and vroundpd for the floor.
 * The bytes do not depend on which of the two ran. */
__attribute__((target("avx")))
static size_t quant_avx(const struct chain_dither *d, const float *x,
			const int32_t *sum, int32_t *y, size_t m)
{
	const __m256d scale = _mm256_set1_pd(d->scale);
	const __m256d unit = _mm256_set1_pd(1.0 / 16777216.0);
	const __m256d half = _mm256_set1_pd(0.5), one = _mm256_set1_pd(1.0);
	const __m256d lo = _mm256_set1_pd(d->lo), hi = _mm256_set1_pd(d->hi);
	const __m128i shift = _mm_cvtsi32_si128((int)d->shift);
	size_t j;

	for (j = 0; j + 4 <= m; j += 4) {
		__m256d tpdf = _mm256_sub_pd(_mm256_mul_pd(_mm256_cvtepi32_pd(
			_mm_loadu_si128((const __m128i *)(sum + j))), unit), one);
		__m256d v = _mm256_cvtps_pd(_mm_loadu_ps(x + j));
		__m256d q;

		v = _mm256_mul_pd(v, scale);
		v = _mm256_and_pd(v, _mm256_cmp_pd(v, v, _CMP_EQ_OQ));  /* NaN: 0 */
		q = _mm256_add_pd(_mm256_add_pd(v, tpdf), half);
		q = _mm256_floor_pd(_mm256_min_pd(_mm256_max_pd(q, lo), hi));
		_mm_storeu_si128((__m128i *)(y + j),
				 _mm_sll_epi32(_mm256_cvttpd_epi32(q), shift));
	}
	return j;
}
#endif

#ifdef DITHER_AVX
/* sums_run() with eight lanes to a register (AVX2, d->avx2): the same
 * segments and draws, half the operations. */
__attribute__((target("avx2")))
static uint32_t sums_run_avx2(const struct chain_dither *d, uint32_t s, int32_t *sum)
{
	uint32_t st[DITHER_LANES];
	__m256i x[DITHER_LANES / 8];

	st[0] = s;
	for (unsigned i = 1; i < DITHER_LANES; i++)
		st[i] = leap(d, st[i - 1]);
	for (unsigned g = 0; g < DITHER_LANES / 8; g++)
		x[g] = _mm256_loadu_si256((const __m256i *)(st + 8 * g));
	for (size_t t = 0; t < DITHER_SEG; t += 4) {
		for (unsigned g = 0; g < DITHER_LANES / 8; g++) {
			__m256i v[4], a, b, c, e, r[4];
			int32_t *o = sum + 8 * g * DITHER_SEG + t;

			for (int k = 0; k < 4; k++) {
				__m256i u0, u1, y = x[g];

				y = _mm256_xor_si256(y, _mm256_slli_epi32(y, 13));
				y = _mm256_xor_si256(y, _mm256_srli_epi32(y, 17));
				y = _mm256_xor_si256(y, _mm256_slli_epi32(y, 5));
				u0 = _mm256_srli_epi32(y, 8);
				y = _mm256_xor_si256(y, _mm256_slli_epi32(y, 13));
				y = _mm256_xor_si256(y, _mm256_srli_epi32(y, 17));
				y = _mm256_xor_si256(y, _mm256_slli_epi32(y, 5));
				u1 = _mm256_srli_epi32(y, 8);
				x[g] = y;
				v[k] = _mm256_add_epi32(u0, u1);
			}
			/* 4 × 4 transposes within each 128-bit half: the low
			 * half holds lanes 0-3, the high half lanes 4-7 */
			a = _mm256_unpacklo_epi32(v[0], v[1]);
			b = _mm256_unpacklo_epi32(v[2], v[3]);
			c = _mm256_unpackhi_epi32(v[0], v[1]);
			e = _mm256_unpackhi_epi32(v[2], v[3]);
			r[0] = _mm256_unpacklo_epi64(a, b);
			r[1] = _mm256_unpackhi_epi64(a, b);
			r[2] = _mm256_unpacklo_epi64(c, e);
			r[3] = _mm256_unpackhi_epi64(c, e);
			for (int q = 0; q < 4; q++) {
				_mm_storeu_si128((__m128i *)(o + q * DITHER_SEG),
						 _mm256_castsi256_si128(r[q]));
				_mm_storeu_si128((__m128i *)(o + (4 + q) * DITHER_SEG),
						 _mm256_extracti128_si256(r[q], 1));
			}
		}
	}
	return (uint32_t)_mm256_extract_epi32(x[DITHER_LANES / 8 - 1], 7);
}
#endif

static void dither_tpdf(struct chain_dither *d, const float *in,
			int32_t *out, size_t frames)
{
	size_t n = frames * d->channels;
	uint32_t s = d->state;
	int32_t sum[DITHER_RUN];

	for (size_t i0 = 0; i0 < n; i0 += DITHER_RUN) {
		size_t m = n - i0 < DITHER_RUN ? n - i0 : DITHER_RUN, j = 0;
		const float *x = in + i0;
		int32_t *y = out + i0;

#ifdef DITHER_AVX
		if (m == DITHER_RUN && d->avx2)
			s = sums_run_avx2(d, s, sum);
		else
#endif
#ifdef __SSE2__
		if (m == DITHER_RUN)
			s = sums_run(d, s, sum);
		else
#endif
			s = sums_any(d, s, sum, m);
#ifdef DITHER_AVX
		if (d->avx)
			j = quant_avx(d, x, sum, y, m);
		else
#endif
#ifdef __SSE2__
			j = quant_sse2(d, x, sum, y, m);
#endif
		for (; j < m; j++)
			y[j] = tpdf_one(d, x[j], sum[j]);
	}
	d->state = s;
}

/*
 * State: err[c·2T + k] (and its copy at k + T) is channel c's error from
 * 1 + ((k − pos) mod T) frames ago, T = DITHER_TAPS: the newest at pos, so
 * the convolution reads err[pos … pos + T − 1] in one run.  Each frame
 * writes its errors one place down, over the oldest, after reading it.
 */
static void dither_shaped(struct chain_dither *d, const float *in,
			  int32_t *out, size_t frames)
{
	const unsigned ch = d->channels;
	const double vmax = d->scale + DITHER_MARGIN;
	uint32_t s = d->state;
	unsigned pos = d->pos;

	for (size_t f = 0; f < frames; f++) {
		unsigned next = pos ? pos - 1 : DITHER_TAPS - 1;

		for (unsigned c = 0; c < ch; c++) {
			double *e = d->err + (size_t)c * 2 * DITHER_TAPS;
			double v = (double)in[f * ch + c] * d->scale;
			double tpdf = uniform(&s) + uniform(&s);
			double fb = 0, x, q, err;

			if (!(v == v))
				v = 0;
			if (v > vmax)
				v = vmax;
			else if (v < -vmax)
				v = -vmax;
			for (unsigned j = 0; j < DITHER_TAPS; j++)
				fb += fweighted[j] * e[pos + j];
			x = v + fb;
			q = floor(x + tpdf + 0.5);
			err = x - q;  /* before clipping: never the clip error */
			e[next] = e[next + DITHER_TAPS] = err;
			if (q < d->lo)
				q = d->lo;
			else if (q > d->hi)
				q = d->hi;
			out[f * ch + c] = (int32_t)((uint32_t)(int32_t)q << d->shift);
		}
		pos = next;
	}
	d->state = s;
	d->pos = pos;
}

void chain_dither_process(struct chain_dither *d, const float *in,
			  int32_t *out, size_t frames)
{
	if (d->shape == CHAIN_DITHER_SHAPED)
		dither_shaped(d, in, out, frames);
	else
		dither_tpdf(d, in, out, frames);
}

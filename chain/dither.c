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
 * Speed (TPDF, ~13 ns a stereo frame before, 0.14 s of tests/bench.c's
 * 240 s render): the draws of a run of samples are made first, four
 * streams side by side (xorshift32 is linear over GF(2), so four steps of
 * it are a fixed linear map of the 32 state bits, applied as the xor of
 * four table entries, one per byte of the state; the tables are made at
 * creation), where one generator's six dependent operations per draw
 * bound the loop; then two samples at a time in SSE2 lanes, with floor()
 * as truncation corrected downwards after the value is clamped to the
 * integer range widened by one (which changes no result: floor is
 * monotonic and the range's ends are integers).  The draws are the one
 * generator's, in the same order, and every operation is the scalar
 * one's, so the output is bit-identical (tests/test_chain.c checks it
 * against the scalar loop).
 */
#include "config.h"

#include <math.h>
#include <stdlib.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "chain/chain.h"
#include "chain/dither.h"

#define DITHER_TAPS 9
#define DITHER_MARGIN 64.0  /* LSBs beyond full scale that may enter */
#define DITHER_RUN 512      /* samples per run of draws (dither_tpdf) */

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
	 * four steps after b << 8i (dither_tpdf) */
	uint32_t jump[4][256];
	enum chain_dither_shape shape;
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

/* Four steps of the generator at once (the tables of d). */
static inline uint32_t jump4(const struct chain_dither *d, uint32_t x)
{
	return d->jump[0][x & 255] ^ d->jump[1][(x >> 8) & 255] ^
	       d->jump[2][(x >> 16) & 255] ^ d->jump[3][x >> 24];
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

/* One sample, r0 and r1 its two draws (draws()). */
static inline int32_t tpdf_one(const struct chain_dither *d, float x, uint32_t r0,
			       uint32_t r1)
{
	double v = (double)x * d->scale;
	double tpdf = ((double)(r0 >> 8) * (1.0 / 16777216.0) - 0.5) +
		      ((double)(r1 >> 8) * (1.0 / 16777216.0) - 0.5);
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

static void dither_tpdf(struct chain_dither *d, const float *in,
			int32_t *out, size_t frames)
{
	size_t n = frames * d->channels;
	uint32_t s = d->state;
	uint32_t r[2 * DITHER_RUN];

	for (size_t i0 = 0; i0 < n; i0 += DITHER_RUN) {
		size_t m = n - i0 < DITHER_RUN ? n - i0 : DITHER_RUN, j = 0;
		const float *x = in + i0;
		int32_t *y = out + i0;

		/* two draws a sample, in groups of four */
		draws(d, s, r, (2 * m + 3) & ~(size_t)3);
		s = r[2 * m - 1];
#ifdef __SSE2__
		{
			const __m128d scale = _mm_set1_pd(d->scale);
			const __m128d unit = _mm_set1_pd(1.0 / 16777216.0);
			const __m128d half = _mm_set1_pd(0.5), one = _mm_set1_pd(1.0);
			const __m128d lo = _mm_set1_pd(d->lo), hi = _mm_set1_pd(d->hi);
			const __m128d lo1 = _mm_set1_pd(d->lo - 1), hi1 = _mm_set1_pd(d->hi + 1);
			const __m128i shift = _mm_cvtsi32_si128((int)d->shift);

			for (; j + 2 <= m; j += 2) {
				/* lanes: samples j, j + 1; their draws r[2j],
				 * r[2j + 2] and r[2j + 1], r[2j + 3] */
				__m128i rr = _mm_srli_epi32(
					_mm_loadu_si128((const __m128i *)(r + 2 * j)), 8);
				__m128d u0 = _mm_cvtepi32_pd(_mm_shuffle_epi32(rr, 0x08));
				__m128d u1 = _mm_cvtepi32_pd(_mm_shuffle_epi32(rr, 0x0d));
				__m128d v = _mm_cvtps_pd(_mm_castsi128_ps(
					_mm_loadl_epi64((const __m128i *)(x + j))));
				__m128d tpdf, q, t;

				v = _mm_mul_pd(v, scale);
				v = _mm_and_pd(v, _mm_cmpeq_pd(v, v));  /* NaN: 0 */
				tpdf = _mm_add_pd(_mm_sub_pd(_mm_mul_pd(u0, unit), half),
						  _mm_sub_pd(_mm_mul_pd(u1, unit), half));
				q = _mm_add_pd(_mm_add_pd(v, tpdf), half);
				/* floor, within [lo - 1, hi + 1] */
				q = _mm_min_pd(_mm_max_pd(q, lo1), hi1);
				t = _mm_cvtepi32_pd(_mm_cvttpd_epi32(q));
				q = _mm_sub_pd(t, _mm_and_pd(_mm_cmpgt_pd(t, q), one));
				q = _mm_min_pd(_mm_max_pd(q, lo), hi);
				_mm_storel_epi64((__m128i *)(y + j),
						 _mm_sll_epi32(_mm_cvttpd_epi32(q), shift));
			}
		}
#endif
		for (; j < m; j++)
			y[j] = tpdf_one(d, x[j], r[2 * j], r[2 * j + 1]);
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

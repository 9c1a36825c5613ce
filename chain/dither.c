/*
 * termaster — word-length reduction with TPDF dither (see dither.h).
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
 * The arithmetic is in double: a float has 24 mantissa bits, too few to
 * hold a 24-bit sample plus its fractional dither.
 */
#include "config.h"

#include <math.h>
#include <stdlib.h>

#include "chain/chain.h"
#include "chain/dither.h"

struct chain_dither {
	unsigned channels;
	unsigned shift;     /* 32 - bits: left-justification */
	double scale;       /* 2^(bits-1): full scale in LSBs */
	double lo, hi;      /* integer range: -2^(bits-1) … 2^(bits-1)-1 */
	uint32_t state;     /* xorshift32 (Marsaglia 2003), never 0 */
};

struct chain_dither *chain_dither_new(unsigned channels, unsigned bits,
				      uint32_t seed, int *err)
{
	struct chain_dither *d;

	if (channels == 0 || bits < 8 || bits > 24) {
		if (err)
			*err = CHAIN_ERROR_RANGE;
		return NULL;
	}
	d = calloc(1, sizeof(*d));
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
	if (err)
		*err = CHAIN_OK;
	return d;
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
	uint32_t x = *s;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	*s = x;
	return (double)(x >> 8) * (1.0 / 16777216.0) - 0.5;
}

void chain_dither_process(struct chain_dither *d, const float *in,
			  int32_t *out, size_t frames)
{
	size_t n = frames * d->channels;
	uint32_t s = d->state;

	for (size_t i = 0; i < n; i++) {
		double v = (double)in[i] * d->scale;
		double tpdf = uniform(&s) + uniform(&s);
		double q;

		if (!(v == v))
			v = 0;  /* NaN: silence, not a full-scale click */
		q = floor(v + tpdf + 0.5);
		if (q < d->lo)
			q = d->lo;
		else if (q > d->hi)
			q = d->hi;
		out[i] = (int32_t)((uint32_t)(int32_t)q << d->shift);
	}
	d->state = s;
}

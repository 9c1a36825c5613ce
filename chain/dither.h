/*
 * termaster — word-length reduction with TPDF dither (render only).
 *
 * Converts float samples to integers of `bits` bits with triangular-PDF
 * dither of 2 LSB peak to peak (two uniform variates of 1 LSB each), then
 * rounds and clips.  The noise comes from a fixed-seed xorshift generator, so
 * the same input always gives the same output.  Output is left-justified in
 * int32_t, as sf_writef_int() expects for every integer width.
 */
#ifndef TM_CHAIN_DITHER_H
#define TM_CHAIN_DITHER_H

#include <stddef.h>
#include <stdint.h>

struct chain_dither;

/* bits: 8 … 24.  Returns NULL and sets *err (CHAIN_ERROR_*) on failure. */
struct chain_dither *chain_dither_new(unsigned channels, unsigned bits,
				      uint32_t seed, int *err);
void chain_dither_free(struct chain_dither **d);
/* RT-safe.  in: `frames` interleaved frames of `channels` floats in
 * [-1, 1); out: the same count of left-justified integers. */
void chain_dither_process(struct chain_dither *d, const float *in,
			  int32_t *out, size_t frames);

#endif

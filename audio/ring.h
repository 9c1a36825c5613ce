/*
 * termaster — single-producer/single-consumer lock-free ring.
 *
 * C11 atomics with acquire/release ordering; the contract follows PortAudio's
 * pa_ringbuffer.h: power-of-two element count, caller-owned memory, elements
 * of a fixed size, and zero-copy region access.  One thread writes, one
 * thread reads; several producers must serialise on their side (a mutex).
 * Every function is RT-safe.
 */
#ifndef TM_AUDIO_RING_H
#define TM_AUDIO_RING_H

#include <stdatomic.h>
#include <stddef.h>

struct audio_ring {
	_Atomic size_t write_index;  /* free-running, masked on access */
	_Atomic size_t read_index;
	size_t size;                 /* elements, power of two */
	size_t mask;
	size_t elem_size;
	unsigned char *data;         /* size × elem_size bytes, caller-owned */
};

/* Returns 0, or -1 when count is not a power of two or elem_size is 0. */
int audio_ring_init(struct audio_ring *r, size_t elem_size, size_t count, void *mem);
/* Consumer side only (or when neither side runs). */
void audio_ring_flush(struct audio_ring *r);
size_t audio_ring_write_available(const struct audio_ring *r);
size_t audio_ring_read_available(const struct audio_ring *r);
/* Copy up to n elements in/out; return how many were moved. */
size_t audio_ring_write(struct audio_ring *r, const void *src, size_t n);
size_t audio_ring_read(struct audio_ring *r, void *dst, size_t n);
/* Zero-copy: up to two regions covering min(n, available) elements.
 * Returns the element count covered; then advance by what was used. */
size_t audio_ring_write_regions(struct audio_ring *r, size_t n,
				void **d1, size_t *n1, void **d2, size_t *n2);
void audio_ring_write_advance(struct audio_ring *r, size_t n);
size_t audio_ring_read_regions(struct audio_ring *r, size_t n,
			       void **d1, size_t *n1, void **d2, size_t *n2);
void audio_ring_read_advance(struct audio_ring *r, size_t n);

#endif

/*
 * termaster — SPSC lock-free ring (see ring.h).
 *
 * Indices run free and are masked on access, so full and empty differ
 * (write - read == size vs 0).  The producer publishes with a release store
 * of write_index after copying; the consumer acquires it before reading, and
 * the mirror image for read_index.
 */
#include "config.h"

#include <string.h>

#include "audio/ring.h"

int audio_ring_init(struct audio_ring *r, size_t elem_size, size_t count, void *mem)
{
	if (!elem_size || !count || (count & (count - 1)))
		return -1;
	r->size = count;
	r->mask = count - 1;
	r->elem_size = elem_size;
	r->data = mem;
	atomic_init(&r->write_index, 0);
	atomic_init(&r->read_index, 0);
	return 0;
}

void audio_ring_flush(struct audio_ring *r)
{
	size_t w = atomic_load_explicit(&r->write_index, memory_order_acquire);

	atomic_store_explicit(&r->read_index, w, memory_order_release);
}

size_t audio_ring_write_available(const struct audio_ring *r)
{
	size_t w = atomic_load_explicit(&r->write_index, memory_order_relaxed);
	size_t rd = atomic_load_explicit(&r->read_index, memory_order_acquire);

	return r->size - (w - rd);
}

size_t audio_ring_read_available(const struct audio_ring *r)
{
	size_t w = atomic_load_explicit(&r->write_index, memory_order_acquire);
	size_t rd = atomic_load_explicit(&r->read_index, memory_order_relaxed);

	return w - rd;
}

static size_t regions(const struct audio_ring *r, size_t index, size_t n,
		      void **d1, size_t *n1, void **d2, size_t *n2)
{
	size_t i = index & r->mask;
	size_t first = r->size - i;

	*d1 = r->data + i * r->elem_size;
	if (n <= first) {
		*n1 = n;
		*d2 = NULL;
		*n2 = 0;
	} else {
		*n1 = first;
		*d2 = r->data;
		*n2 = n - first;
	}
	return n;
}

size_t audio_ring_write_regions(struct audio_ring *r, size_t n,
				void **d1, size_t *n1, void **d2, size_t *n2)
{
	size_t avail = audio_ring_write_available(r);

	if (n > avail)
		n = avail;
	return regions(r, atomic_load_explicit(&r->write_index, memory_order_relaxed),
		       n, d1, n1, d2, n2);
}

void audio_ring_write_advance(struct audio_ring *r, size_t n)
{
	size_t w = atomic_load_explicit(&r->write_index, memory_order_relaxed);

	atomic_store_explicit(&r->write_index, w + n, memory_order_release);
}

size_t audio_ring_read_regions(struct audio_ring *r, size_t n,
			       void **d1, size_t *n1, void **d2, size_t *n2)
{
	size_t avail = audio_ring_read_available(r);

	if (n > avail)
		n = avail;
	return regions(r, atomic_load_explicit(&r->read_index, memory_order_relaxed),
		       n, d1, n1, d2, n2);
}

void audio_ring_read_advance(struct audio_ring *r, size_t n)
{
	size_t rd = atomic_load_explicit(&r->read_index, memory_order_relaxed);

	atomic_store_explicit(&r->read_index, rd + n, memory_order_release);
}

size_t audio_ring_write(struct audio_ring *r, const void *src, size_t n)
{
	void *d1, *d2;
	size_t n1, n2;

	n = audio_ring_write_regions(r, n, &d1, &n1, &d2, &n2);
	memcpy(d1, src, n1 * r->elem_size);
	if (n2)
		memcpy(d2, (const unsigned char *)src + n1 * r->elem_size, n2 * r->elem_size);
	audio_ring_write_advance(r, n);
	return n;
}

size_t audio_ring_read(struct audio_ring *r, void *dst, size_t n)
{
	void *d1, *d2;
	size_t n1, n2;

	n = audio_ring_read_regions(r, n, &d1, &n1, &d2, &n2);
	memcpy(dst, d1, n1 * r->elem_size);
	if (n2)
		memcpy((unsigned char *)dst + n1 * r->elem_size, d2, n2 * r->elem_size);
	audio_ring_read_advance(r, n);
	return n;
}

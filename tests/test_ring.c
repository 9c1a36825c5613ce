/*
 * termaster — SPSC ring: capacity, wrap-around, regions, and a two-thread
 * stress run whose sequence must arrive complete and in order.
 */
#include "config.h"

#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "audio/ring.h"
#include "tests/util.h"

#define STRESS_COUNT 2000000u

static struct audio_ring stress_ring;
static uint32_t stress_mem[256];

static void *producer(void *arg)
{
	uint32_t next = 0;

	(void)arg;
	while (next < STRESS_COUNT) {
		uint32_t chunk[7];
		size_t n = 0, w;

		for (; n < 7 && next + n < STRESS_COUNT; n++)
			chunk[n] = next + (uint32_t)n;
		w = audio_ring_write(&stress_ring, chunk, n);
		next += (uint32_t)w;
	}
	return NULL;
}

int main(void)
{
	struct audio_ring r;
	int mem[8];
	int out[8];
	void *d1, *d2;
	size_t n1, n2;
	pthread_t th;
	uint32_t expect = 0;
	int in_order = 1;

	ASSERT_INT("non power of two refused", -1, audio_ring_init(&r, sizeof(int), 6, mem));
	ASSERT_INT("zero size refused", -1, audio_ring_init(&r, 0, 8, mem));
	ASSERT_INT("init", 0, audio_ring_init(&r, sizeof(int), 8, mem));
	ASSERT_INT("empty: nothing to read", 0, audio_ring_read_available(&r));
	ASSERT_INT("empty: all writable", 8, audio_ring_write_available(&r));

	for (int i = 0; i < 8; i++)
		out[i] = 100 + i;
	ASSERT_INT("write 5", 5, audio_ring_write(&r, out, 5));
	ASSERT_INT("read 3", 3, audio_ring_read(&r, out, 3));
	ASSERT_INT("order 0", 100, out[0]);
	ASSERT_INT("order 2", 102, out[2]);
	/* 2 left; 6 free: write wraps */
	for (int i = 0; i < 8; i++)
		out[i] = 200 + i;
	ASSERT_INT("write to full", 6, audio_ring_write(&r, out, 8));
	ASSERT_INT("full", 0, audio_ring_write_available(&r));
	ASSERT_INT("write when full moves nothing", 0, audio_ring_write(&r, out, 1));
	ASSERT_INT("two regions when wrapped", 8,
		   audio_ring_read_regions(&r, 8, &d1, &n1, &d2, &n2));
	ASSERT_INT("first region up to the end", 5, n1);
	ASSERT_INT("second region from the start", 3, n2);
	ASSERT_INT("region data", 103, ((int *)d1)[0]);
	audio_ring_read_advance(&r, 8);
	ASSERT_INT("drained", 0, audio_ring_read_available(&r));
	audio_ring_write(&r, out, 3);
	audio_ring_flush(&r);
	ASSERT_INT("flush empties", 0, audio_ring_read_available(&r));

	/* two threads */
	audio_ring_init(&stress_ring, sizeof(uint32_t), 256, stress_mem);
	pthread_create(&th, NULL, producer, NULL);
	while (expect < STRESS_COUNT) {
		uint32_t buf[13];
		size_t got = audio_ring_read(&stress_ring, buf, 13);

		for (size_t i = 0; i < got; i++, expect++)
			if (buf[i] != expect)
				in_order = 0;
	}
	pthread_join(th, NULL);
	ASSERT_TRUE("2e6 values crossed threads complete and in order", in_order);
	ASSERT_INT("nothing extra", 0, audio_ring_read_available(&stress_ring));
	return test_done();
}

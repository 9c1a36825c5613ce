/*
 * termaster — K-weighting as energy (see kweight.h).
 *
 * State glossary (struct refs_kweight):
 *   b, a   the 4th-order section: the shelf (pb, pa) times the high-pass
 *          (rb = 1, -2, 1; ra), multiplied out as libebur128 multiplies
 *          them (the same products in the same order, so the same bits).
 *   v      direct form II: v[0] is the newest w[n-1], v[3] w[n-4] of
 *          w[n] = x[n] - a1 w[n-1] - … - a4 w[n-4],
 *          y[n] = b0 w[n] + b1 w[n-1] + … + b4 w[n-4];
 *          lane c of each pair is channel c.
 */
#include "config.h"

#include <math.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "refs/kweight.h"
#include "refs/loudness.h"

/* the stereo loop also in AVX (kw_loop2_avx()), chosen at run time;
 * KW_NO_AVX leaves it out (tests/test_loudness_sse2 tests the other) */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__AVX__) && !defined(KW_NO_AVX)
#define KW_AVX 1
#endif

typedef double kw_v2 __attribute__((vector_size(16)));
typedef float kw_v4 __attribute__((vector_size(16)));
typedef int kw_i4 __attribute__((vector_size(16)));

int refs_kweight_init(struct refs_kweight *k, unsigned channels, double rate_hz)
{
	double rate, f0, gain_db, q, kk, vh, vb, a0;
	double pb[3], pa[3], rb[3] = {1.0, -2.0, 1.0}, ra[3] = {1.0, 0.0, 0.0};

	if (channels < 1 || channels > 2 || !(rate_hz >= 16 && rate_hz <= 2822400))
		return REFS_LOUDNESS_ERROR_EBUR128;
	rate = (double)lround(rate_hz);

	/* BS.1770-4 stage 1, the head's acoustic effect: a high shelf
	 * (libebur128's constants; at 48 kHz they give BS.1770's table) */
	f0 = 1681.974450955533;
	gain_db = 3.999843853973347;
	q = 0.7071752369554196;
	kk = tan(M_PI * f0 / rate);
	vh = pow(10.0, gain_db / 20.0);
	vb = pow(vh, 0.4996667741545416);
	a0 = 1.0 + kk / q + kk * kk;
	pb[0] = (vh + vb * kk / q + kk * kk) / a0;
	pb[1] = 2.0 * (kk * kk - vh) / a0;
	pb[2] = (vh - vb * kk / q + kk * kk) / a0;
	pa[0] = 1.0;
	pa[1] = 2.0 * (kk * kk - 1.0) / a0;
	pa[2] = (1.0 - kk / q + kk * kk) / a0;

	/* stage 2, the RLB weighting: a 2nd-order high-pass at 38 Hz */
	f0 = 38.13547087602444;
	q = 0.5003270373238773;
	kk = tan(M_PI * f0 / rate);
	ra[1] = 2.0 * (kk * kk - 1.0) / (1.0 + kk / q + kk * kk);
	ra[2] = (1.0 - kk / q + kk * kk) / (1.0 + kk / q + kk * kk);

	/* the product of the two, term by term in libebur128's order */
	k->b[0] = pb[0] * rb[0];
	k->b[1] = pb[0] * rb[1] + pb[1] * rb[0];
	k->b[2] = pb[0] * rb[2] + pb[1] * rb[1] + pb[2] * rb[0];
	k->b[3] = pb[1] * rb[2] + pb[2] * rb[1];
	k->b[4] = pb[2] * rb[2];
	k->a[0] = pa[0] * ra[0];
	k->a[1] = pa[0] * ra[1] + pa[1] * ra[0];
	k->a[2] = pa[0] * ra[2] + pa[1] * ra[1] + pa[2] * ra[0];
	k->a[3] = pa[1] * ra[2] + pa[2] * ra[1];
	k->a[4] = pa[2] * ra[2];
	k->channels = channels;
#ifdef KW_AVX
	__builtin_cpu_init();
	k->avx = __builtin_cpu_supports("avx") != 0;
#else
	k->avx = 0;
#endif
	refs_kweight_reset(k);
	return 0;
}

void refs_kweight_reset(struct refs_kweight *k)
{
	memset(k->v, 0, sizeof(k->v));
}

static inline kw_v2 kw_splat(double x)
{
	return (kw_v2){x, x};
}

static inline kw_v2 kw_load(const double *p)
{
	kw_v2 v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static inline void kw_store(double *p, kw_v2 v)
{
	memcpy(p, &v, sizeof(v));
}

/* A stereo frame as (L, R) doubles: one 8-byte load and one
 * conversion (GCC scalarises the generic form). */
static inline kw_v2 kw_frame2(const float *p)
{
#ifdef __SSE2__
	return _mm_cvtps_pd(_mm_castsi128_ps(_mm_loadl_epi64((const __m128i *)p)));
#else
	return (kw_v2){p[0], p[1]};
#endif
}

/*
 * The loop, for stereo (mono: the second lane fed zeros).  Written once as
 * an inline function with `stereo` a constant, so that each caller gets
 * its own loop without a branch inside.
 */
static inline void kw_loop(struct refs_kweight *k, const float *in, size_t frames, double sum[2],
                           int stereo)
{
	const kw_v2 a1 = kw_splat(k->a[1]), a2 = kw_splat(k->a[2]);
	const kw_v2 a3 = kw_splat(k->a[3]), a4 = kw_splat(k->a[4]);
	const kw_v2 b0 = kw_splat(k->b[0]), b1 = kw_splat(k->b[1]), b2 = kw_splat(k->b[2]);
	const kw_v2 b3 = kw_splat(k->b[3]), b4 = kw_splat(k->b[4]);
	kw_v2 v1 = kw_load(k->v[0]), v2 = kw_load(k->v[1]);
	kw_v2 v3 = kw_load(k->v[2]), v4 = kw_load(k->v[3]);
	kw_v2 acc = kw_load(sum);

	for (size_t i = 0; i < frames; i++) {
		kw_v2 x = stereo ? kw_frame2(in + 2 * i) : (kw_v2){in[i], 0.0};
		/* oldest terms first: only a1·v1 and the last subtraction
		 * wait for the previous frame's v0 */
		kw_v2 v0 = x - a4 * v4 - a3 * v3 - a2 * v2 - a1 * v1;
		kw_v2 y = b4 * v4 + b3 * v3 + b2 * v2 + b1 * v1 + b0 * v0;

		acc += y * y;
		v4 = v3;
		v3 = v2;
		v2 = v1;
		v1 = v0;
	}
	kw_store(k->v[0], v1);
	kw_store(k->v[1], v2);
	kw_store(k->v[2], v3);
	kw_store(k->v[3], v4);
	kw_store(sum, acc);
}

#ifdef KW_AVX
/*
 * The same loop in AVX's three-operand (VEX) encoding, where the processor
 * has it: SSE2's two-operand instructions overwrite a source, so each of
 * the eight products of a state that is still needed costs a copy, and
 * the nine coefficients, four states and the sums overflow the sixteen
 * registers: 34 instructions a stereo frame, 24 here.  The time gained is
 * smaller (~0.7 of ~28 ms for 240 s of stereo at 44.1 kHz, one core):
 * the loop waits on its recursion, a multiply and a subtraction a frame.
 * The same operations in the same order, and AVX has no fused
 * multiply-add (FMA is a separate extension, and -ffp-contract=off
 * forbids contracting): the sums are the same to the bit.
 */
__attribute__((target("avx"))) static void kw_loop2_avx(struct refs_kweight *k, const float *in,
                                                       size_t frames, double sum[2])
{
	kw_loop(k, in, frames, sum, 1);
}
#endif

void refs_kweight_run(struct refs_kweight *k, const float *in, size_t frames, double sum[2])
{
#ifdef __SSE2__
	/* flush to zero, as libebur128's TURN_ON_FTZ: the recursion's tail
	 * after a signal stops would crawl through denormals */
	unsigned csr = _mm_getcsr();

	_mm_setcsr(csr | _MM_FLUSH_ZERO_ON);
#endif
#ifdef KW_AVX
	if (k->channels == 2 && k->avx)
		kw_loop2_avx(k, in, frames, sum);
	else
#endif
	if (k->channels == 2)
		kw_loop(k, in, frames, sum, 1);
	else
		kw_loop(k, in, frames, sum, 0);
#ifdef __SSE2__
	_mm_setcsr(csr);
#endif
}

static inline kw_v4 kw_max4(kw_v4 a, kw_v4 b)
{
#ifdef __SSE2__
	return _mm_max_ps(a, b);
#else
	kw_i4 m = a > b;

	return (kw_v4)((m & (kw_i4)a) | (~m & (kw_i4)b));
#endif
}

void refs_kweight_clean(float *dst, const float *src, size_t frames, unsigned channels,
                        double peak[2])
{
	size_t n = frames * channels, i = 0;
	kw_v4 m = {0, 0, 0, 0};
	float p[2] = {0, 0};

	/* four samples at a time: lane j is channel j % channels */
	for (; i + 4 <= n; i += 4) {
		kw_v4 x;
		kw_i4 finite;

		memcpy(&x, src + i, sizeof(x));
		finite = (x - x) == 0; /* NaN - NaN and Inf - Inf are NaN */
		x = (kw_v4)((kw_i4)x & finite);
		memcpy(dst + i, &x, sizeof(x));
		m = kw_max4(m, (kw_v4)((kw_i4)x & 0x7fffffff));
	}
	for (unsigned j = 0; j < 4; j++)
		if (m[j] > p[j % channels])
			p[j % channels] = m[j];
	for (; i < n; i++) {
		float x = isfinite(src[i]) ? src[i] : 0.0f;

		dst[i] = x;
		if (fabsf(x) > p[i % channels])
			p[i % channels] = fabsf(x);
	}
	for (unsigned c = 0; c < channels; c++)
		if (p[c] > peak[c])
			peak[c] = p[c];
}

/*
 * termaster — loudness profiles (refs/riding.h) against libebur128
 * measuring the same frames directly (refs/loudness.h):
 *   - integrated loudness of the whole (within 0.001 LU: the same blocks)
 *     and of regions on the 100 ms grid (0.01: a region measured alone
 *     starts with the K-weighting at rest), on music with sections 20 dB
 *     apart (gating at work);
 *   - true peak per segment, maximum over a region: the same reading;
 *   - short-term loudness of a steady sine: its integrated loudness;
 *   - loudness range of EBU Tech 3342 case 1 (-20 / -30 dBFS, 20 s each):
 *     10 LU within 0.1 (the standard's tolerance is ±1 LU);
 *   - two halves measured apart and appended equal one pass.
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ebur128.h>

#include "refs/loudness.h"
#include "refs/riding.h"
#include "tests/util.h"

#define RATE 48000.0

static struct refs_loudness direct(const float *x, int64_t from, int64_t to)
{
	struct refs_loudness l;

	memset(&l, 0, sizeof(l));
	if (refs_loudness_measure(x + 2 * from, to - from, 2, RATE, &l, NULL, NULL))
		l.integrated_lufs = NAN;
	return l;
}

/*
 * The judge: libebur128 run here on the same frames, fed segment by
 * segment (mode M and TRUE_PEAK): a segment's energy from
 * ebur128_loudness_window(100 ms) at its end (turned back from LUFS; the
 * profiler did exactly this before it had its own K-weighting), its peak
 * the largest ebur128_prev_true_peak() of the channels.  e and pk get n
 * values; returns the number of whole segments.
 */
static int64_t judge(const float *x, int64_t frames, double rate, double *e, float *pk)
{
	ebur128_state *st = ebur128_init(2, (unsigned long)lround(rate),
					 EBUR128_MODE_M | EBUR128_MODE_TRUE_PEAK);
	int64_t seg = llround(rate / 10), n = 0;

	if (!st)
		return -1;
	for (; (n + 1) * seg <= frames; n++) {
		double v, t;

		ebur128_add_frames_float(st, x + 2 * n * seg, (size_t)seg);
		ebur128_loudness_window(st, 100, &v);
		e[n] = isfinite(v) ? pow(10.0, (v + 0.691) / 10.0) : 0.0;
		pk[n] = 0;
		for (unsigned c = 0; c < 2; c++)
			if (ebur128_prev_true_peak(st, c, &t) == EBUR128_SUCCESS && t > pk[n])
				pk[n] = (float)t;
	}
	ebur128_destroy(&st);
	return n;
}

/*
 * Segment energies within 1e-6 relative of libebur128's (above a floor
 * of 1e-15, -150 LUFS: below it only the high-pass's decaying tail after
 * silence starts, where both filters flush their state to zero at slightly
 * different points) and peaks equal to the bit, on music, noise, tones and
 * gated material at 44.1, 48 and 96 kHz, at 22050 and 11025 Hz (where
 * libebur128's window is one frame shorter than the segment) and at
 * 192 kHz (no interpolation: the sample peak), fed in blocks of random
 * sizes.
 */
static void check_against_libebur128(void)
{
	const double rates[] = { 44100, 48000, 96000, 22050, 11025, 192000 };
	double worst = 0;
	int64_t checked = 0, quiet = 0;

	for (unsigned q = 0; q < sizeof(rates) / sizeof(rates[0]); q++)
		for (int k = 0; k < 4; k++) {
			double rate = rates[q];
			int64_t n = (int64_t)(7.0 * rate) + 77, segs, at = 0;
			float *x = malloc(sizeof(float) * 2 * (size_t)n), *pk;
			double *e;
			struct refs_riding_profile p;
			struct refs_riding_profiler *pr;
			uint32_t seed = 5 + k;
			int exact = 1;

			if (k == 0)
				gen_music(x, (size_t)n, 2, rate, 0.6, 3 + q);
			else if (k == 1)
				gen_noise(x, (size_t)n, 2, 0.5, 9 + q);
			else if (k == 2)
				for (int64_t i = 0; i < n; i++) {
					double t = (double)i / rate;

					x[2 * i] = (float)(0.5 * sin(2 * M_PI * 40 * t));
					x[2 * i + 1] = (float)(0.1 * sin(2 * M_PI * 0.3 * rate * t));
				}
			else
				/* tone, silence, -80 dBFS, tone again; NaN and Inf
				 * count as silence */
				for (int64_t i = 0; i < n; i++) {
					int part = (int)(4 * i / n);
					double a = part == 1 ? 0 : part == 2 ? 1e-4 : 0.7;

					x[2 * i] = x[2 * i + 1] =
						(float)(a * sin(2 * M_PI * 997 * (double)i / rate));
					if (i % 9973 == 5)
						x[2 * i] = i % 2 ? NAN : INFINITY;
				}
			e = malloc(sizeof(double) * (size_t)(n / 100 + 1));
			pk = malloc(sizeof(float) * (size_t)(n / 100 + 1));
			/* the judge with non-finite samples as 0, as documented */
			{
				float *c = malloc(sizeof(float) * 2 * (size_t)n);

				for (int64_t i = 0; i < 2 * n; i++)
					c[i] = isfinite(x[i]) ? x[i] : 0.0f;
				segs = judge(c, n, rate, e, pk);
				free(c);
			}
			pr = refs_riding_profiler_new(rate, true, NULL);
			ASSERT_TRUE("profiler", pr != NULL);
			while (pr && at < n) {
				int64_t m;

				seed = seed * 1664525u + 1013904223u;
				m = 1 + (int64_t)((seed >> 8) % 7000);
				if (m > n - at)
					m = n - at;
				ASSERT_INT("add", 0, refs_riding_profiler_add(pr, x + 2 * at, (size_t)m));
				at += m;
			}
			memset(&p, 0, sizeof(p));
			if (pr)
				refs_riding_profiler_finish(pr, &p);
			refs_riding_profiler_free(&pr);
			ASSERT_INT("as many segments as libebur128", segs, p.n);
			for (int64_t i = 0; i < p.n && i < segs; i++) {
				double d = fabs((double)p.energy[i] - e[i]);

				checked++;
				if (e[i] < 1e-15) {
					quiet++;
					ASSERT_LE("quiet segment", p.energy[i], 1e-15 * (1 + 1e-6));
					continue;
				}
				if (d / e[i] > worst)
					worst = d / e[i];
				if (d > 1e-6 * e[i])
					printf("  %.0f Hz signal %d segment %lld: %.9g vs libebur128 %.9g\n",
					       rate, k, (long long)i, p.energy[i], e[i]);
				ASSERT_LE("segment energy within 1e-6 of libebur128's", d, 1e-6 * e[i]);
				if (p.peak[i] != pk[i])
					printf("  peak %lld: %.9g vs %.9g\n", (long long)i, p.peak[i], pk[i]);
				exact &= p.peak[i] == pk[i];
			}
			ASSERT_TRUE("segment peaks equal libebur128's", exact);
			if (!exact)
				printf("  %.0f Hz signal %d: peaks differ\n", rate, k);
			refs_riding_profile_free(&p);
			free(e);
			free(pk);
			free(x);
		}
	printf("riding: %lld segments against libebur128, worst relative energy difference %.2g "
	       "(allowed 1e-6), %lld below -150 LUFS; peaks compared to the bit\n",
	       (long long)checked, worst, (long long)quiet);
}

int main(void)
{
	const int64_t n = (int64_t)(60 * RATE), seg = (int64_t)(RATE / 10);
	float *x = malloc(sizeof(float) * 2 * (size_t)n);
	struct refs_riding_profile p, a, b;
	struct refs_loudness l;

	check_against_libebur128();
	/* music, its second half 20 dB down from 30 s */
	gen_music(x, (size_t)n, 2, RATE, 0.5, 11);
	for (int64_t i = n / 2; i < 2 * n; i++)
		x[i] *= 0.1f;
	ASSERT_INT("measure", 0, refs_riding_profile_measure(x, n, RATE, true, &p, NULL, NULL));
	ASSERT_INT("segments", 600, p.n);
	l = direct(x, 0, n);
	ASSERT_CLOSE("integrated, whole (gating drops the quiet half)", l.integrated_lufs,
		     refs_riding_integrated(&p, 0, p.n), 0.001);
	ASSERT_CLOSE("true peak, whole", l.true_peak_dbtp, refs_riding_true_peak(&p, 0, p.n), 1e-4);
	{
		const double reg[][2] = { { 1.0, 4.0 }, { 25.0, 35.0 }, { 40.0, 60.0 }, { 0.3, 29.9 } };

		for (int r = 0; r < 4; r++) {
			int64_t f = llround(reg[r][0] * RATE), t = llround(reg[r][1] * RATE);

			l = direct(x, f, t);
			/* 0.01: measured alone, the region starts with the
			 * K-weighting filters at rest; in the profile they
			 * carry the music before it (0.0036 LU on the last) */
			ASSERT_CLOSE("integrated over a region", l.integrated_lufs,
				     refs_riding_integrated(&p, f / seg, t / seg), 0.01);
			ASSERT_CLOSE("true peak over a region", l.true_peak_dbtp,
				     refs_riding_true_peak(&p, f / seg, t / seg), 0.05);
		}
	}
	ASSERT_CLOSE("segment of a time", 42, refs_riding_seg(&p, 4.25), 0);
	ASSERT_TRUE("a region shorter than a block has no loudness",
		    isinf(refs_riding_integrated(&p, 10, 13)));

	/* halves measured apart (the second warmed up 1 s early) */
	{
		int64_t cut = 300 * seg, warm = 10 * seg;

		ASSERT_INT("first half", 0, refs_riding_profile_measure(x, cut, RATE, true, &a, NULL, NULL));
		ASSERT_INT("second half", 0,
			   refs_riding_profile_measure(x + 2 * (cut - warm), n - cut + warm, RATE, true,
						       &b, NULL, NULL));
		ASSERT_INT("append", 0, refs_riding_profile_append(&a, &b, 10));
		ASSERT_INT("as many segments", p.n, a.n);
		ASSERT_CLOSE("same integrated", refs_riding_integrated(&p, 0, p.n),
			     refs_riding_integrated(&a, 0, a.n), 1e-4);
		refs_riding_profile_free(&a);
		refs_riding_profile_free(&b);
	}
	refs_riding_profile_free(&p);

	/* a steady sine: short-term = integrated, anywhere */
	gen_sine(x, (size_t)(10 * RATE), 2, RATE, 1000, db_to_lin(-20), 0);
	refs_riding_profile_measure(x, (int64_t)(10 * RATE), RATE, false, &p, NULL, NULL);
	l = direct(x, 0, (int64_t)(10 * RATE));
	ASSERT_CLOSE("short-term of a steady sine", l.integrated_lufs, refs_riding_shortterm(&p, 50),
		     0.01);
	ASSERT_CLOSE("short-term centred at 5 s", l.integrated_lufs, refs_riding_shortterm_at(&p, 5.0),
		     0.01);
	ASSERT_TRUE("no peaks asked for", p.peak == NULL);
	refs_riding_profile_free(&p);

	/* EBU Tech 3342 case 1: 1 kHz, 20 s at -20 dBFS then 20 s at -30 */
	gen_sine(x, (size_t)(40 * RATE), 2, RATE, 1000, 1.0, 0);
	for (int64_t i = 0; i < (int64_t)(40 * RATE); i++) {
		float g = (float)db_to_lin(i < (int64_t)(20 * RATE) ? -20 : -30);

		x[2 * i] *= g;
		x[2 * i + 1] *= g;
	}
	refs_riding_profile_measure(x, (int64_t)(40 * RATE), RATE, false, &p, NULL, NULL);
	ASSERT_CLOSE("LRA, Tech 3342 case 1", 10.0, refs_riding_lra(&p, 0, p.n), 0.1);
	refs_riding_profile_free(&p);
	free(x);
	return test_done();
}

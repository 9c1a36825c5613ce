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

int main(void)
{
	const int64_t n = (int64_t)(60 * RATE), seg = (int64_t)(RATE / 10);
	float *x = malloc(sizeof(float) * 2 * (size_t)n);
	struct refs_riding_profile p, a, b;
	struct refs_loudness l;

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

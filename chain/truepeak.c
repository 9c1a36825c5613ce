/*
 * termaster — true-peak detector (see truepeak.h).
 *
 * Two interpolators read the same history of each channel:
 *
 *  - the fine one (ITU-R BS.1770-4 Annex 2: oversampling by os = 4 or 8
 *    and low-pass filtering), in three stages, each point computed once
 *    and kept in a ring:
 *     1. 2×: the points at the samples and half-way between them, y(n)
 *        and y(n + ½), each a dot product of 64 folded taps (a symmetric
 *        filter weighs x[n - t] and x[n + t] alike, so it adds them first)
 *        of the long filter described in truepeak.h (Kaiser-windowed sinc,
 *        beta 10, cut off at 0.98 of the input Nyquist, each phase
 *        normalised to unity gain at DC; the point at the sample uses 127
 *        taps, the half-way one 128);
 *     2. 4×: the points at ¼ and ¾ from the 2× stream by a half-band
 *        interpolator of TP_N2 = 10 tap pairs (Kaiser-windowed sinc cut off
 *        at the 2× stream's Nyquist, beta 10): the content after stage 1
 *        lies below 0.52 fs, its images above 1.48 fs, so a short filter
 *        separates them;
 *     3. 8× (os = 8 only): the same from the 4× stream, TP_N3 = 6 pairs,
 *        beta 9.
 *    Per channel and frame 2·64 (folded) + 2·20 + 4·12 = 216
 *    multiply-adds, where one stage of 8 phases × 128 taps takes 9 folded
 *    dot products of 64 (576).  Measured worst under-read for a peak at any sub-sample
 *    position (tests/test_limiter.c): 8× 0.001 dB up to 0.465 fs (over-
 *    read 0.002 dB), 4× 0.031 dB near 0.4 fs, as with one stage: the error
 *    at 4× is the parabolic refinement's, not the filters'.  The dot
 *    products run in 4-lane vectors (GCC/Clang vector extension), four
 *    frames (stage 1) or positions (stages 2, 3) side by side, each sum
 *    in chains added up in a fixed order: no reassociation is left to the
 *    compiler, and a point is the same wherever, and with whichever
 *    neighbours, it is computed;
 *  - the meter one: what libebur128 computes (ebur128.c, interp_create()
 *    and interp_process(), read to learn its behaviour; this is our own
 *    code): a 49-tap sinc cut off at the input Nyquist,
 *    sin(m·pi/F) / (m·pi/F) for m = j - 24, times a Hann window
 *    0.5·(1 - cos(2·pi·j/48)), j = 0 … 48, split into F phases by
 *    j mod F, coefficients of magnitude <= 1e-6 left out, no per-phase
 *    normalisation, double-precision sums over the float samples, newest
 *    tap first, rounded to float (the samples are kept as doubles too, so
 *    that two neighbouring frames are one load: 0.19 s for 240 s of
 *    stereo music at 44.1 kHz, where libebur128 itself takes 0.7 s, and
 *    this code took 0.33 s converting them tap by tap; tests/bench.c's
 *    music, one core); F = 4 below 96 kHz, 2 below 192 kHz, and
 *    no interpolation (sample peak) above.  Phase f of the output computed
 *    once frame n is known is the point n - 24/F + f/F.  The readings are
 *    bit-identical to libebur128's (tests/test_limiter.c checks it) as
 *    long as both are compiled alike as to fusing multiply and add
 *    (baseline x86-64 has no FMA); otherwise they may differ in the last
 *    bit of a float, 1e-6 dB.
 *
 * Latency: the interval starting at frame c needs the 8× points up to
 * c + 1; stage 3 needs the 4× points TP_N3/4 frames further, stage 2 the
 * 2× points TP_N2/2 further, stage 1 the samples 64 further, with a
 * margin of up to a push per stage: c is reported once frame c + TP_LAT
 * is in, TP_LAT = 64 + ceil((24 + 4 TP_N2 + 2 TP_N3)/8) = 74.
 *
 * Work goes by blocks of up to TP_BLOCK frames (push_block(); a single
 * push is a block of one): every frame is stored and its skips decided,
 * then the streams are computed once for all the intervals of the block
 * still to be read (fill(): only points no earlier block computed), and
 * those intervals are read, four at a time.  The readings do not depend
 * on how the frames were grouped.
 *
 * Skipping (chain_truepeak_push_above): every point the fine detector
 * reports for an interval, refined or not, is at most K·M, where M is the
 * largest |sample| of the TP_SPAN frames its computation reads (store()
 * takes it over the chunks of 16 frames that cover them, which can only
 * be larger) and K = 9/8 · A · (1 + 1e-4):
 *   - a point of any stage is a linear combination of the samples; A is
 *     the largest sum of the magnitudes of those weights over the eight
 *     phases (computed at creation by carrying the weights through the
 *     stages, from the stored float taps; >= 1, so the sample points are
 *     covered as well);
 *   - refine() returns y0 + b²/(4|a|) with |b| <= |a| (y0 is a local
 *     maximum), so at most y0 + |b|/4 = y0 + |yp - ym|/8 <= 9/8 of the
 *     largest of the three;
 *   - 1e-4 covers the float rounding of the sums (< 2e-5 relative).
 * When K·M <= max(thr, meter reading), the fine reading cannot exceed the
 * larger of the two, so the reported value is the meter reading if that is
 * above thr, and something <= thr otherwise: exactly what the full
 * computation gives whenever that is above thr.  In the same way the meter
 * reading is at most K_m·M (K_m = its largest per-phase sum of |taps|,
 * 1.86 at 4×, 2.31 at 2×, plus 1e-6 for rounding) and is skipped, 0
 * standing for it, when K_m·M <= thr.  After skipped intervals the points
 * the next interval reads that were skipped are computed then (fill()
 * tracks what is done), so the values reported are bit-identical as
 * well.  The bound is
 * tight: the signs of the taps of one phase, at ±M, make that point A·M
 * (the test builds it), so no smaller K is safe for arbitrary input.
 *
 * K·M ignores the signs, and music seldom lines its samples up against
 * the taps: an interval that fails it is tried on the local bound,
 * local_bound(), before it is interpolated.  Each point the interval
 * reads (4×: the 4× points from 2/4 before its start to 3/4 after, 6;
 * 8×: the 8× points from 2/8 before to 7/8 after, 10) has weights w_k on
 * the frames c + k; split at |k| <= TP_CR = 4,
 *	|point| <= |sum over |k| <= 4 of w_k x[c + k]| + T·M,
 * T = the sum of |w_k| over |k| > 4 (0.57–0.71 by point, rounded up),
 * and the reading is at most the larger of |x[c]| and 9/8 (1 + 1e-4)
 * times (the largest of those + 3e-4·M), 3e-4·M covering the float
 * rounding of both the detector's sums (2e-5·A·M) and these nine-term
 * sums (1e-6·M) — the same argument as K's, with the signs of the
 * nearest nine frames kept.
 * It costs nine multiply-adds per point and channel, four intervals side
 * by side (a tenth of stage 1 at 4×), and is close to the real reading
 * plus T·M where K·M is three times M: on the music of
 * tests/bench.c after its EQ, compressor and multiband into a −1 dBTP
 * ceiling at 4×, the fine reading was computed for 36 % of the intervals
 * with K·M alone and for 0.2 % with the local bound; on that music +9 dB
 * straight into the limiter, 86 % and 36 %.  (A centre of ±2, 3, 6, 8
 * frames: 0.8, 0.4, 0.05, 0.02 % and 55, 46, 23, 17 %, at more or less
 * work per interval; ±4 ran the full chain in the fewest instructions.)
 * A skip never changes a value above thr, so the limiter's output stays
 * bit-identical.
 *
 * Between the two sits the near bound (push_block()): the same argument
 * as K's with each point's weights split at TP_NEAR = 8 frames from the
 * interval, near_k (9/8 · the largest sum of |weights| within: 2.86,
 * where K is 3.26) times the largest sample of the chunks covering those
 * frames, plus far_k (the rest: 0.54) times M.  Two multiplies and a look at two
 * chunk maxima: on the bench chain's music it settles 45 % of what K·M
 * left to the local bound (2 % fewer instructions for the whole chain);
 * tests/test_limiter fails when it is made 20 % too low.  Taken over a
 * whole block first (the largest sample near any of its intervals, the
 * largest M), it skips the block at once: 6 % fewer instructions for the
 * bench chain's limiter, the readings unchanged; tests/test_limiter
 * fails when that one is made 20 % too low as well.
 *
 * The samples go into the ring four frames at a time when the caller's
 * frames are planar (the limiter's) or interleaved stereo (the meters'),
 * and into the ring of doubles of the
 * meter reading only when a meter reading needs them (sync_d()): most
 * blocks of a limiter read no meter.
 */
#include "config.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "chain/chain.h"
#include "chain/truepeak.h"

#ifdef __SSE2__
#include <xmmintrin.h>
#endif

#define TP_FOLD CHAIN_TP_HALF        /* folded taps of a stage-1 point */
#define TP_BETA 10.0                 /* Kaiser window: ~100 dB stop band */
#define TP_FC 0.98                   /* cut-off relative to the input Nyquist */
#define TP_N2 10                     /* stage 2: tap pairs */
#define TP_B2 10.0                   /* … and its Kaiser beta */
#define TP_N3 6                      /* stage 3 */
#define TP_B3 9.0
#define TP_LAT (CHAIN_TP_HALF + (24 + 4 * TP_N2 + 2 * TP_N3 + 7) / 8)
#define TP_BLOCK 32                  /* frames per internal block (push_block) */
/* input frames one interval's reading depends on, newest first */
#define TP_SPAN (TP_LAT + CHAIN_TP_HALF + (2 * TP_N2 + TP_N3 + 7) / 4 + 2)
/* input history kept: the span, and what the stages of a block read
 * (stage 1 for the frames from 6 before the block's first interval on,
 * each 63 further back; see push_block()) */
#define TP_RING (TP_LAT + TP_BLOCK + 6 + CHAIN_TP_HALF + 8)
#define TP_T2 (2 * TP_N2)             /* even: two chains */
#define TP_T3 (2 * TP_N3)
#define TP_WN 128                    /* 2× ring (power of two) */
#define TP_ZN 256                    /* 4× ring */
#define TP_QN 512                    /* 8× ring */
#define TP_MAX_CH 8
#define TP_CR 4                      /* local bound: frames each side */
#define TP_NEAR 8                    /* near bound: frames each side */
#define TP_CHUNK 16                  /* window maximum: chunk of frames */
#define TP_CM 16                     /* … ring of chunk maxima */
/* chunks before the current one that a window of TP_SPAN frames reaches */
#define TP_CBACK ((TP_SPAN - 1 + TP_CHUNK - 1) / TP_CHUNK)
#define TP_CG 3                      /* … points: up to 4 · TP_CG */
#define TP_PART 4                    /* partial sums per dot product */

_Static_assert(TP_PART == 4, "refine() and vmax() are written for 4 lanes");
_Static_assert(TP_FOLD % (2 * TP_PART) == 0, "the folded taps fill whole vector pairs");
_Static_assert(TP_T2 + 2 * TP_PART <= TP_WN && TP_T3 + 2 * TP_PART <= TP_ZN,
	       "a half-band window of four positions fits its ring");
_Static_assert(TP_RING >= TP_SPAN, "the input ring holds what a reading reads");
_Static_assert(2 * TP_NEAR == TP_CHUNK, "the near bound reads two chunks");
_Static_assert(TP_CBACK < TP_CM && (TP_CM & (TP_CM - 1)) == 0,
	       "the chunk ring holds a window's chunks");
_Static_assert(TP_WN >= 2 * (TP_BLOCK + 13 + 16) && TP_ZN >= 4 * (TP_BLOCK + 13 + 16) &&
	       TP_QN >= 8 * (TP_BLOCK + 13 + 16),
	       "the streams hold what a block reads, and what the one before left");

/* libebur128's interpolator (see above) */
#define EBU_TAPS 49
#define EBU_MAX_DELAY 25             /* (EBU_TAPS + F - 1) / F for F = 2 */
#define EBU_ALMOST_ZERO 0.000001
_Static_assert(TP_BLOCK + TP_LAT + EBU_MAX_DELAY <= TP_RING,
	       "the ring of doubles holds what sync_d() converts");

/* TP_PART floats side by side (GCC/Clang vector extension: plain
 * element-wise arithmetic, compiled to SIMD where there is some). */
typedef float tp_vec __attribute__((vector_size(TP_PART * sizeof(float))));
typedef int32_t tp_ivec __attribute__((vector_size(TP_PART * sizeof(int32_t))));
/* Lanes i0 … i3 of a and b side by side (0 … 3: a, 4 … 7: b). */
#if defined(__clang__)
#define TP_SHUF(a, b, i0, i1, i2, i3) __builtin_shufflevector(a, b, i0, i1, i2, i3)
#else
#define TP_SHUF(a, b, i0, i1, i2, i3) __builtin_shuffle(a, b, (tp_ivec){ i0, i1, i2, i3 })
#endif

struct chain_truepeak {
	unsigned channels;
	unsigned os;             /* 4 or 8; 0: meter reading only */
	/* stage 1, folded: at the sample (e0[63] halved: its pair is the
	 * centre sample twice) and half-way */
	float e0[TP_FOLD], eh[TP_FOLD];
	float a2[TP_N2], a3[TP_N3];  /* stages 2 and 3, pair i at ±(i + ½) */
	/* the same unfolded over the window u - N + 1 … u + N, each tap in
	 * all lanes */
	tp_vec t2[TP_T2], t3[TP_T3];
	/* stage 1's taps each in all lanes (four frames side by side) */
	tp_vec e0b[TP_FOLD], ehb[TP_FOLD];
	/* per channel, TP_RING samples oldest first, stored twice so that a
	 * window is always contiguous */
	float *fwd;
	/* the same as doubles, for the meter reading (NULL without it): its
	 * sums are in double, and two neighbouring frames are then one load;
	 * converted only for the frames a meter reading reads (sync_d()):
	 * the ring holds frames d_next - TP_RING … d_next - 1 */
	double *fwdd;
	unsigned d_next;
	unsigned w;              /* fwd: index of the newest frame, 0 … TP_RING-1 */
	/* per channel, the 2×, 4× and 8× streams, indexed by the frame
	 * counter times 2, 4, 8 (plus the phase) modulo their lengths, each
	 * kept twice (put()) */
	float *wr, *zr, *qr;
	/* the streams hold every point before these (frame counter times 1,
	 * 2, 4): the next frame for stage 1, 2× index for stage 2 and 4×
	 * index for stage 3 */
	unsigned s1_next, u_next, v_next;
	unsigned os_prev;        /* factor before a switch, 0: no switch pending */
	float bound_k[2];        /* K at 4× and 8×: fine reading <= K · window max */
	/* the local bound (see the top of the file), [os == 8]: the weights
	 * of the points an interval reads (4×: 6, 8×: 10) on the frames
	 * c - TP_CR … c + TP_CR, and the sums of the magnitudes of their
	 * weights beyond (rounded up) */
	float cw[2][4 * TP_CG][2 * TP_CR + 1];
	tp_vec cwv[2][4 * TP_CG][2 * TP_CR + 1];  /* the same, in all lanes */
	float ct[2][4 * TP_CG];
	/* the near bound: fine reading <= near_k · (largest |sample| within
	 * TP_NEAR frames of the interval) + far_k · window max, [os == 8] */
	float near_k[2], far_k[2];
	/* a bound on max_c |x_c| over the last TP_SPAN frames, by chunks of
	 * TP_CHUNK frames (frame counter / TP_CHUNK): the maxima of the
	 * chunks before the current one (a ring), the largest of those the
	 * window can reach, and the current chunk's so far */
	float cm[TP_CM];
	float cm_full, cm_cur;
	unsigned pos;            /* frames pushed, modulo 2^32 */
	/* meter reading: factor F (0: none, 1: sample peak only);
	 * ebu[t * F + f] is the weight of the sample t frames before the
	 * newest of the span in phase f */
	unsigned ebu_f;
	float ebu_k;             /* meter reading <= ebu_k · window max */
	double ebu[EBU_MAX_DELAY * 4];
	/* the weights of phases 1 … F-1, each twice (two frames side by
	 * side): ebuv[f - 1][t] */
	double ebuv[3][EBU_MAX_DELAY][2];
};

static double bessel_i0(double x)
{
	double s = 1, t = 1;

	for (int k = 1; k < 100; k++) {
		t *= (x / (2 * k)) * (x / (2 * k));
		s += t;
		if (t < 1e-17 * s)
			break;
	}
	return s;
}

/* Kaiser window at t of half-width half, beta b. */
static double kaiser(double t, double half, double b)
{
	double r = t / half;

	return r * r < 1 ? bessel_i0(b * sqrt(1 - r * r)) / bessel_i0(b) : 0;
}

/* The fine taps of the three stages, and the bound factors K. */
#define TP_WSPAN 192                 /* weights over frames c - 96 … c + 95 */
static void design(struct chain_truepeak *tp)
{
	double h0[2 * TP_FOLD], hh[2 * TP_FOLD], s0 = 0, sh = 0, s2 = 0, s3 = 0;
	/* weights (over TP_WSPAN frames around c) of the 2× points u = -40 …
	 * 40 (relative to 2c), the 4× points -40 … 40 and 8× points 0 … 8 */
	static const int wu = 40;
	double (*W)[TP_WSPAN] = calloc(2 * wu + 1, sizeof(*W));
	double (*Z)[TP_WSPAN] = calloc(2 * wu + 1, sizeof(*Z));
	/* weights of the 8× points 0 … 7 of the interval at 0 */
	double (*Q)[TP_WSPAN] = calloc(8, sizeof(*Q));
	double a_max[2] = { 1, 1 }, a_near[2] = { 1, 1 }, a_far[2] = { 0, 0 };
	int ok = 0;

	for (int k = 0; k < 2 * TP_FOLD; k++) {
		double t0 = k - (CHAIN_TP_HALF - 1), th = t0 - 0.5;

		h0[k] = k == 2 * TP_FOLD - 1 ? 0 :
			(t0 == 0 ? TP_FC : sin(M_PI * TP_FC * t0) / (M_PI * t0)) *
			kaiser(t0, CHAIN_TP_HALF + 1, TP_BETA);
		hh[k] = sin(M_PI * TP_FC * th) / (M_PI * th) * kaiser(th, CHAIN_TP_HALF + 1, TP_BETA);
		s0 += h0[k];
		sh += hh[k];
	}
	/* h0: taps t = -63 … 63 at k = 0 … 126; hh: t = -63.5 … 63.5 */
	for (int k = 0; k < TP_FOLD; k++) {
		tp->e0[k] = (float)(h0[k] / s0);
		tp->eh[k] = (float)(hh[k] / sh);
	}
	tp->e0[TP_FOLD - 1] = (float)(0.5 * h0[TP_FOLD - 1] / s0);
	for (int k = 0; k < TP_FOLD; k++)
		for (int l = 0; l < TP_PART; l++) {
			tp->e0b[k][l] = tp->e0[k];
			tp->ehb[k][l] = tp->eh[k];
		}
	for (int i = 0; i < TP_N2; i++) {
		double t = i + 0.5;

		s2 += 2 * sin(M_PI * t) / (M_PI * t) * kaiser(t, TP_N2 + 0.5, TP_B2);
	}
	for (int i = 0; i < TP_N2; i++) {
		double t = i + 0.5;

		tp->a2[i] = (float)(sin(M_PI * t) / (M_PI * t) * kaiser(t, TP_N2 + 0.5, TP_B2) / s2);
	}
	for (int i = 0; i < TP_N3; i++) {
		double t = i + 0.5;

		s3 += 2 * sin(M_PI * t) / (M_PI * t) * kaiser(t, TP_N3 + 0.5, TP_B3);
	}
	for (int i = 0; i < TP_N3; i++) {
		double t = i + 0.5;

		tp->a3[i] = (float)(sin(M_PI * t) / (M_PI * t) * kaiser(t, TP_N3 + 0.5, TP_B3) / s3);
	}
	for (int i = 0; i < TP_N2; i++)
		for (int l = 0; l < TP_PART; l++)
			tp->t2[TP_N2 - 1 - i][l] = tp->t2[TP_N2 + i][l] = tp->a2[i];
	for (int i = 0; i < TP_N3; i++)
		for (int l = 0; l < TP_PART; l++)
			tp->t3[TP_N3 - 1 - i][l] = tp->t3[TP_N3 + i][l] = tp->a3[i];
	if (!W || !Z || !Q)
		goto done;  /* K stays at its safe fallback (below) */
	/* weights of the 2× points: frame index f - c + 96 */
	for (int u = -wu; u <= wu; u++) {
		int n = (u >= 0 ? u : u - 1) / 2;  /* floor(u / 2) */
		double *w = W[u + wu];

		for (int k = 0; k < TP_FOLD; k++) {
			int lo = n - (CHAIN_TP_HALF - 1) + k;
			int hi = (u & 1) ? n + CHAIN_TP_HALF - k : n + CHAIN_TP_HALF - 1 - k;
			const float e = (u & 1) ? tp->eh[k] : tp->e0[k];

			w[lo + 96] += e;
			w[hi + 96] += e;
		}
	}
	/* 4× points v: even = W[v/2], odd from stage 2 */
	for (int v = -wu; v <= wu; v++) {
		int u = (v >= 0 ? v : v - 1) / 2;
		double *z = Z[v + wu];

		if (!(v & 1)) {
			memcpy(z, W[u + wu], sizeof(*Z));
			continue;
		}
		for (int i = 0; i < TP_N2; i++) {
			int ua = u - i, ub = u + 1 + i;

			if (ua < -wu || ub > wu)
				continue;
			for (int f = 0; f < TP_WSPAN; f++)
				z[f] += tp->a2[i] * (W[ua + wu][f] + W[ub + wu][f]);
		}
	}
	/* 8× points p = 0 … 7 of the interval at 0 (and their sums) */
	for (int p = 0; p < 8; p++) {
		double *q = Q[p], a = 0;
		int v = p / 2;

		if (!(p & 1)) {
			memcpy(q, Z[v + wu], sizeof(Q[0]));
		} else {
			for (int i = 0; i < TP_N3; i++)
				for (int f = 0; f < TP_WSPAN; f++)
					q[f] += tp->a3[i] * (Z[v - i + wu][f] + Z[v + 1 + i + wu][f]);
		}
		for (int f = 0; f < TP_WSPAN; f++)
			a += fabs(q[f]);
		if (a > a_max[1])
			a_max[1] = a;
		if (!(p & 1) && a > a_max[0])
			a_max[0] = a;
	}
	/* the local bound's weights: point j of an interval at factor fo
	 * is the 8× point p = j - 2 (8×) or 2j - 4 (4×) from its start,
	 * i.e. phase p mod 8 of this interval, or of the one before for
	 * p < 0 (its weights one frame later) */
	for (int fo = 0; fo < 2; fo++)
		for (int j = 0; j < 4 * TP_CG; j++) {
			int p = fo ? j - 2 : 2 * j - 4, back = p < 0, ph = p < 0 ? p + 8 : p;
			double tail = 0, near = 0, far = 0;

			if (fo ? j >= 10 : j >= 6)
				continue;  /* padding: zero weights and tail */
			for (int f = 0; f < TP_WSPAN; f++) {
				int k = f - 96 - back;  /* frame c + k */

				if (k >= -TP_CR && k <= TP_CR)
					tp->cw[fo][j][k + TP_CR] = (float)Q[ph][f];
				else
					tail += fabs(Q[ph][f]);
				if (k >= -TP_NEAR && k <= TP_NEAR)
					near += fabs(Q[ph][f]);
				else
					far += fabs(Q[ph][f]);
			}
			if (near > a_near[fo])
				a_near[fo] = near;
			if (far > a_far[fo])
				a_far[fo] = far;
			tp->ct[fo][j] = nextafterf((float)(tail * (1 + 1e-6)), HUGE_VALF);
		}
	ok = 1;
done:
	for (int fo = 0; fo < 2; fo++) {
		tp->bound_k[fo] = ok ? (float)(1.125 * a_max[fo] * (1 + 1e-4)) : HUGE_VALF;
		/* the same argument as K's, the weights split by distance
		 * (each sum the largest over the points, rounded up) */
		tp->near_k[fo] = ok ? nextafterf((float)(1.125 * a_near[fo] * (1 + 1e-4)), HUGE_VALF)
				    : HUGE_VALF;
		tp->far_k[fo] = ok ? nextafterf((float)(1.125 * a_far[fo] * (1 + 1e-4)), HUGE_VALF)
				   : HUGE_VALF;
	}
	if (!ok)
		for (int fo = 0; fo < 2; fo++)
			for (int j = 0; j < 4 * TP_CG; j++)
				tp->ct[fo][j] = HUGE_VALF;
	for (int fo = 0; fo < 2; fo++)
		for (int j = 0; j < 4 * TP_CG; j++)
			for (int k = 0; k < 2 * TP_CR + 1; k++)
				for (int l = 0; l < TP_PART; l++)
					tp->cwv[fo][j][k][l] = tp->cw[fo][j][k];
	free(W);
	free(Z);
	free(Q);
}
/* libebur128's taps for factor F (see the top of the file). */
static void design_ebu(struct chain_truepeak *tp, double rate)
{
	long r = lround(rate);  /* libebur128 takes an integer rate */
	unsigned fac = r < 96000 ? 4 : r < 192000 ? 2 : 1;

	tp->ebu_f = fac;
	tp->ebu_k = 1;  /* the sample itself */
	memset(tp->ebu, 0, sizeof(tp->ebu));
	if (fac == 1)
		return;
	for (unsigned j = 0; j < EBU_TAPS; j++) {
		double m = (double)j - (double)(EBU_TAPS - 1) / 2.0;
		double c = 1.0;

		if (fabs(m) > EBU_ALMOST_ZERO)
			c = sin(m * M_PI / fac) / (m * M_PI / fac);
		c *= 0.5 * (1 - cos(2 * M_PI * j / (EBU_TAPS - 1)));
		/* tap t = j / fac of phase j % fac: ebu[t * fac + j % fac] */
		if (fabs(c) > EBU_ALMOST_ZERO)
			tp->ebu[j] = c;
	}
	for (unsigned t = 0; t < EBU_MAX_DELAY; t++)
		for (unsigned f = 1; f < fac; f++)
			tp->ebuv[f - 1][t][0] = tp->ebuv[f - 1][t][1] = tp->ebu[t * fac + f];
	for (unsigned f = 0; f < fac; f++) {
		double a = 0;

		for (unsigned j = f; j < EBU_TAPS; j += fac)
			a += fabs(tp->ebu[j]);
		if (a * (1 + 1e-6) > tp->ebu_k)
			tp->ebu_k = (float)(a * (1 + 1e-6));
	}
}

static struct chain_truepeak *tp_new(unsigned channels, unsigned oversample,
				     double rate, int meter, int *err)
{
	struct chain_truepeak *tp = NULL;
	int e = CHAIN_ERROR_RANGE;

	if (channels < 1 || channels > TP_MAX_CH ||
	    (oversample != 4 && oversample != 8 && !(meter && oversample == 0)) ||
	    (meter && !(rate >= 1 && rate <= 1e7)))
		goto fail;
	e = CHAIN_ERROR_NOMEM;
	tp = calloc(1, sizeof(*tp));
	if (!tp)
		goto fail;
	tp->channels = channels;
	tp->os = oversample;
	tp->fwd = calloc((size_t)channels * 2 * TP_RING, sizeof(float));
	tp->wr = calloc((size_t)channels * 2 * (TP_WN + TP_ZN + TP_QN), sizeof(float));
	if (!tp->fwd || !tp->wr)
		goto fail;
	tp->zr = tp->wr + (size_t)channels * 2 * TP_WN;
	tp->qr = tp->zr + (size_t)channels * 2 * TP_ZN;
	if (oversample) {
		design(tp);
		if (tp->bound_k[1] == HUGE_VALF)
			goto fail;
	}
	if (meter) {
		design_ebu(tp, rate);
		tp->fwdd = calloc((size_t)channels * 2 * TP_RING, sizeof(double));
		if (!tp->fwdd)
			goto fail;
	}
	chain_truepeak_reset(tp);
	if (err)
		*err = CHAIN_OK;
	return tp;
fail:
	chain_truepeak_free(&tp);
	if (err)
		*err = e;
	return NULL;
}

struct chain_truepeak *chain_truepeak_new(unsigned channels,
					  unsigned oversample, int *err)
{
	return tp_new(channels, oversample, 0, 0, err);
}

struct chain_truepeak *chain_truepeak_new_dual(unsigned channels,
					       unsigned oversample,
					       double rate_hz, int *err)
{
	return tp_new(channels, oversample, rate_hz, 1, err);
}

void chain_truepeak_free(struct chain_truepeak **tp)
{
	if (!tp || !*tp)
		return;
	free((*tp)->fwd);
	free((*tp)->fwdd);
	free((*tp)->wr);
	free(*tp);
	*tp = NULL;
}

void chain_truepeak_reset(struct chain_truepeak *tp)
{
	memset(tp->fwd, 0, sizeof(float) * tp->channels * 2 * TP_RING);
	if (tp->fwdd)
		memset(tp->fwdd, 0, sizeof(double) * tp->channels * 2 * TP_RING);
	/* (the streams of a meter-only detector are never read) */
	if (tp->os)
		memset(tp->wr, 0, sizeof(float) * tp->channels * 2 * (TP_WN + TP_ZN + TP_QN));
	tp->w = TP_RING - 1;
	/* the streams of silence are zeros: stage 1 is done up to frame -65
	 * (it reads no frame >= 0), stages 2 and 3 up to the indices whose
	 * inputs all come from there */
	tp->s1_next = -(unsigned)CHAIN_TP_HALF;
	tp->u_next = 2 * tp->s1_next - 2 * TP_N2;
	tp->v_next = 2 * tp->u_next - 2 * TP_N3;
	tp->os_prev = 0;
	memset(tp->cm, 0, sizeof(tp->cm));
	tp->cm_full = tp->cm_cur = 0;
	tp->pos = 0;
	tp->d_next = 0;
}

unsigned chain_truepeak_latency(const struct chain_truepeak *tp)
{
	(void)tp;
	return TP_LAT;
}


/* TP_PART floats from any address */
static inline tp_vec load(const float *p)
{
	tp_vec v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/* Two doubles side by side, and a load of two from any address. */
typedef double tp_vd __attribute__((vector_size(2 * sizeof(double))));

static inline tp_vd load_d(const double *p)
{
	tp_vd v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/* Peak of |x| near the local maxima among y0 (neighbours ym, yp, one
 * oversampled point apart): the vertex of the parabola through the three,
 * y0 - b²/(4a), where y0 is a local maximum and the parabola opens
 * downwards; y0 elsewhere.  Four points at once, without branches. */
static inline tp_vec refine(tp_vec ym, tp_vec y0, tp_vec yp)
{
	tp_vec a = 0.5f * (yp + ym) - y0;  /* < 0 where it counts */
	tp_vec b = 0.5f * (yp - ym);       /* |b| <= -a: vertex within ±1/2 */
	tp_ivec m = (y0 >= ym) & (y0 >= yp) & (a < 0);
	tp_vec den = (tp_vec)(((tp_ivec)a & m) | ((tp_ivec)(tp_vec){ -1, -1, -1, -1 } & ~m));
	tp_vec v = y0 - b * b / (4 * den);

	return (tp_vec)(((tp_ivec)v & m) | ((tp_ivec)y0 & ~m));
}

/* The largest of acc, b and c, ignoring NaN in b and c (sums of huge
 * finite samples can overflow; acc never is NaN). */
static inline float max3(float acc, float b, float c)
{
	acc = b > acc ? b : acc;
	return c > acc ? c : acc;
}

/* The largest of acc and the lanes of v, in the same way. */
static inline float vmax(float acc, tp_vec v)
{
	return max3(max3(acc, v[0], v[1]), v[2], v[3]);
}

/* Input frame pos - 1 - a of channel c (a = 0: the newest), in the ring
 * running forward (oldest first). */
static inline const float *at_fwd(const struct chain_truepeak *tp, unsigned c,
				  unsigned a)
{
	return tp->fwd + (size_t)c * 2 * TP_RING + tp->w + TP_RING - a;
}

/* The same frame in the ring of doubles. */
static inline const double *at_fwd_d(const struct chain_truepeak *tp, unsigned c,
				     unsigned a)
{
	return tp->fwdd + (size_t)c * 2 * TP_RING + tp->w + TP_RING - a;
}


/* Store y at index i of a ring of n (a power of two) kept twice, so that
 * any window of up to n entries is contiguous. */
static inline void put(float *ring, unsigned n, unsigned i, float y)
{
	i &= n - 1;
	ring[i] = ring[i + n] = y;
}

/* One stage-1 point for four consecutive frames side by side (lanes):
 * the sum over k of t[k] (x[k] + x[back - k]), x at frame n - 63 of the
 * first lane, in eight chains (k modulo 8) added up in a fixed order. */
static inline __attribute__((always_inline)) tp_vec
stage1_dot(const tp_vec *restrict t, const float *x, unsigned back)
{
	tp_vec a0 = { 0 }, a1 = { 0 }, a2 = { 0 }, a3 = { 0 };
	tp_vec a4 = { 0 }, a5 = { 0 }, a6 = { 0 }, a7 = { 0 };

	for (unsigned k = 0; k < TP_FOLD; k += 8) {
		const float *f = x + k, *r = x + back - k;

		a0 += t[k] * (load(f) + load(r));
		a1 += t[k + 1] * (load(f + 1) + load(r - 1));
		a2 += t[k + 2] * (load(f + 2) + load(r - 2));
		a3 += t[k + 3] * (load(f + 3) + load(r - 3));
		a4 += t[k + 4] * (load(f + 4) + load(r - 4));
		a5 += t[k + 5] * (load(f + 5) + load(r - 5));
		a6 += t[k + 6] * (load(f + 6) + load(r - 6));
		a7 += t[k + 7] * (load(f + 7) + load(r - 7));
	}
	return ((a0 + a4) + (a2 + a6)) + ((a1 + a5) + (a3 + a7));
}

/* Reversed lanes. */
static inline tp_vec rev4(tp_vec v)
{
	return TP_SHUF(v, v, 3, 2, 1, 0);
}

/* Stage 1 of channel c for the single frame n (f at frame n - 63): the
 * same chains as stage1_dot() (k modulo 8: lanes k modulo 4 of two
 * vectors), the lanes here running over the taps. */
static void stage1_one(struct chain_truepeak *tp, unsigned c, unsigned n,
		       const float *f)
{
	float *wr = tp->wr + (size_t)c * 2 * TP_WN;
	/* x[n + 63 - k - 3 …] and x[n + 64 - k - 3 …], reversed */
	const float *r0 = f + 2 * CHAIN_TP_HALF - 2 - (TP_PART - 1);
	const float *rh = r0 + 1;
	tp_vec s0 = { 0 }, s1 = { 0 }, h0 = { 0 }, h1 = { 0 }, y0, yh;

	for (unsigned k = 0; k < TP_FOLD; k += 2 * TP_PART) {
		tp_vec x0 = load(f + k), x1 = load(f + k + TP_PART);

		s0 += load(tp->e0 + k) * (x0 + rev4(load(r0 - k)));
		s1 += load(tp->e0 + k + TP_PART) * (x1 + rev4(load(r0 - k - TP_PART)));
		h0 += load(tp->eh + k) * (x0 + rev4(load(rh - k)));
		h1 += load(tp->eh + k + TP_PART) * (x1 + rev4(load(rh - k - TP_PART)));
	}
	y0 = s0 + s1;
	yh = h0 + h1;
	put(wr, TP_WN, 2 * n, (y0[0] + y0[2]) + (y0[1] + y0[3]));
	put(wr, TP_WN, 2 * n + 1, (yh[0] + yh[2]) + (yh[1] + yh[3]));
}

/* Stage 1 of channel c for the input frames n0 … n0 + cnt - 1 (each
 * with frames n - 63 … n + 64 in, and the next three for the lanes past
 * the last): the 2× points 2n and 2n + 1, each a dot product of TP_FOLD
 * folded taps with the pair sums x[n - 63 + k] + x[n + 63 - k]
 * (x[n + 64 - k] half-way), four frames side by side, one per lane.  Each
 * point's sum runs in eight chains (k modulo 8), added up in a fixed
 * order, as the single-frame form before it did (lanes k modulo 4 of two
 * vectors): the operations, and so the value, of a point do not depend on
 * the frames it is computed with. */
static void stage1(struct chain_truepeak *tp, unsigned c, unsigned n0,
		   unsigned cnt)
{
	float *wr = tp->wr + (size_t)c * 2 * TP_WN;

	for (unsigned g = 0; g < cnt; g += TP_PART) {
		unsigned n = n0 + g;
		/* frame n - 63; frame n + 63 - k is f + 126 - k */
		const float *f = at_fwd(tp, c, tp->pos - 1 - (n - (CHAIN_TP_HALF - 1)));
		tp_vec y0, yh;

		if (g + TP_PART > cnt) {
			/* the last one to three frames: one at a time */
			for (unsigned l = 0; g + l < cnt; l++)
				stage1_one(tp, c, n + l, f + l);
			break;
		}
		y0 = stage1_dot(tp->e0b, f, 2 * CHAIN_TP_HALF - 2);
		yh = stage1_dot(tp->ehb, f, 2 * CHAIN_TP_HALF - 1);

		if (g + TP_PART <= cnt && ((2 * n) & (TP_WN - 1)) + 2 * TP_PART <= TP_WN) {
			/* (y0, yh) of each frame, two vector stores a copy */
			tp_vec lo = TP_SHUF(y0, yh, 0, 4, 1, 5);
			tp_vec hi = TP_SHUF(y0, yh, 2, 6, 3, 7);
			float *d = wr + ((2 * n) & (TP_WN - 1));

			memcpy(d, &lo, sizeof(lo));
			memcpy(d + TP_PART, &hi, sizeof(hi));
			memcpy(d + TP_WN, &lo, sizeof(lo));
			memcpy(d + TP_WN + TP_PART, &hi, sizeof(hi));
			continue;
		}
		for (unsigned l = 0; l < TP_PART && g + l < cnt; l++) {
			put(wr, TP_WN, 2 * (n + l), y0[l]);
			put(wr, TP_WN, 2 * (n + l) + 1, yh[l]);
		}
	}
}

/*
 * A half-band stage over a ring (kept twice): for the cnt positions
 * i = i0 … i0 + cnt - 1, out[2i] = in[i] and out[2i + 1] = the dot product
 * of the nt taps t (unfolded, zero-padded) with in[i - nt/2 + 1 …].  Four
 * positions at a time, one per lane, each the sum over the taps in two
 * chains (even and odd taps) added at the end: every point is computed by
 * the same operations in the same order, however it is grouped.
 */
static inline __attribute__((always_inline)) void
halfband(const tp_vec *restrict t, unsigned nt, unsigned half,
			    const float *restrict in, unsigned in_n,
			    float *restrict out, unsigned out_n, unsigned i0,
			    unsigned cnt)
{
	for (unsigned g = 0; g < cnt; g += TP_PART) {
		const float *w = in + ((i0 + g - (half - 1)) & (in_n - 1));
		tp_vec e = { 0 }, o = { 0 }, y;

#pragma GCC unroll 16
		for (unsigned j = 0; j < nt; j += 2) {
			e += t[j] * load(w + j);
			o += t[j + 1] * load(w + j + 1);
		}
		y = e + o;
		if (g + TP_PART <= cnt && ((2 * (i0 + g)) & (out_n - 1)) + 2 * TP_PART <= out_n) {
			/* (in, y) of each position, two vector stores a copy */
			tp_vec x = load(in + ((i0 + g) & (in_n - 1)));
			tp_vec lo = TP_SHUF(x, y, 0, 4, 1, 5);
			tp_vec hi = TP_SHUF(x, y, 2, 6, 3, 7);
			float *d = out + ((2 * (i0 + g)) & (out_n - 1));

			memcpy(d, &lo, sizeof(lo));
			memcpy(d + TP_PART, &hi, sizeof(hi));
			memcpy(d + out_n, &lo, sizeof(lo));
			memcpy(d + out_n + TP_PART, &hi, sizeof(hi));
			continue;
		}
		for (unsigned k = 0; k < TP_PART && g + k < cnt; k++) {
			unsigned i = i0 + g + k;

			put(out, out_n, 2 * i, in[i & (in_n - 1)]);
			put(out, out_n, 2 * i + 1, y[k]);
		}
	}
}

/* The later of two positions of a wrapping counter (within 2^31). */
static inline unsigned later(unsigned a, unsigned b)
{
	return (int)(a - b) > 0 ? a : b;
}

/*
 * The streams of every channel for reading the intervals of frames
 * ca … cb (ca <= cb <= pos - 1 - TP_LAT): the 8× points 8ca - 2 … 8cb + 7
 * (when q) from the 4× points 4ca - 6 … 4cb + 9, these from the 2× points
 * 2ca - 12 … 2cb + 14, i.e. stage 1 of the frames ca - 6 … cb + 7.  Every
 * point before s1_next, u_next, v_next that a reading can still need is
 * in the streams (push_block() moves them past what no later reading
 * needs), so only the rest is computed; a point is the same whenever it
 * is computed.  Each stage also runs as far ahead as the points its
 * inputs had before this call allow (stage 1: up to the newest frame
 * pos - 65 it can do), as one push at a time did before: then a push of
 * one frame reads no point it has just stored (a vector load of scalars
 * just stored stalls).
 */
static void fill(struct chain_truepeak *tp, unsigned ca, unsigned cb, int q)
{
	unsigned s1_old = tp->s1_next, u_old = tp->u_next;
	unsigned n0, n1 = tp->pos - 1 - CHAIN_TP_HALF;
	unsigned u0 = later(tp->u_next, 2 * ca - 3);
	unsigned u1 = later(2 * cb + 4, 2 * s1_old - 1 - TP_N2);
	unsigned v0 = later(tp->v_next, 4 * ca - 1);
	unsigned v1 = later(4 * cb + 3, 2 * u_old - 1 - TP_N3);

	n0 = later(s1_old, ca - 6);
	for (unsigned c = 0; c < tp->channels; c++) {
		if ((int)(n1 - n0) >= 0)
			stage1(tp, c, n0, n1 + 1 - n0);
		if ((int)(u1 - u0) >= 0)
			halfband(tp->t2, TP_T2, TP_N2, tp->wr + (size_t)c * 2 * TP_WN, TP_WN,
				 tp->zr + (size_t)c * 2 * TP_ZN, TP_ZN, u0, u1 + 1 - u0);
		if (q && (int)(v1 - v0) >= 0)
			halfband(tp->t3, TP_T3, TP_N3, tp->zr + (size_t)c * 2 * TP_ZN, TP_ZN,
				 tp->qr + (size_t)c * 2 * TP_QN, TP_QN, v0, v1 + 1 - v0);
	}
	tp->s1_next = later(tp->s1_next, n1 + 1);
	tp->u_next = later(tp->u_next, u1 + 1);
	if (q)
		tp->v_next = later(tp->v_next, v1 + 1);
}

/* Fine peak of channel c's interval (frame cf, read by now) at
 * factor os from the streams: the sample, and the refined points from
 * 1/os before the interval start to 2/os before its end (each refined
 * with its two neighbours), so that consecutive intervals cover the
 * waveform without gaps. */
static float channel_peak(const struct chain_truepeak *tp, unsigned c,
			  unsigned os, unsigned cf)
{
	const tp_vec sign = (tp_vec){ -0.0f, -0.0f, -0.0f, -0.0f };
	float peak = fabsf(at_fwd(tp, c, tp->pos - 1 - cf)[0]);

	/* |y| as the vector with the sign bits cleared */
#define TP_ABS(p) ((tp_vec)((tp_ivec)load(p) & ~(tp_ivec)sign))
	if (os == 8) {
		const float *q = tp->qr + (size_t)c * 2 * TP_QN + ((8 * cf - 2) & (TP_QN - 1));

		peak = vmax(peak, refine(TP_ABS(q), TP_ABS(q + 1), TP_ABS(q + 2)));
		peak = vmax(peak, refine(TP_ABS(q + 4), TP_ABS(q + 5), TP_ABS(q + 6)));
	} else {
		const float *z = tp->zr + (size_t)c * 2 * TP_ZN + ((4 * cf - 2) & (TP_ZN - 1));

		peak = vmax(peak, refine(TP_ABS(z), TP_ABS(z + 1), TP_ABS(z + 2)));
	}
#undef TP_ABS
	return peak;
}

/* The larger of acc and v lane by lane, ignoring NaN in v (as max3()). */
static inline tp_vec vmax_lanes(tp_vec acc, tp_vec v)
{
#ifdef __SSE2__
	/* maxps: v > acc ? v : acc exactly (the second operand on NaN and
	 * on equal values), one instruction instead of four */
	return _mm_max_ps(v, acc);
#else
	tp_ivec m = v > acc;

	return (tp_vec)(((tp_ivec)v & m) | ((tp_ivec)acc & ~m));
#endif
}

/* acc raised lane k by the four lanes of v[k] (k = 0 … 3): a transpose,
 * then vmax_lanes() column by column. */
static inline tp_vec vmax_rows(tp_vec acc, const tp_vec v[4])
{
	tp_vec t0 = TP_SHUF(v[0], v[1], 0, 4, 1, 5);
	tp_vec t1 = TP_SHUF(v[2], v[3], 0, 4, 1, 5);
	tp_vec t2 = TP_SHUF(v[0], v[1], 2, 6, 3, 7);
	tp_vec t3 = TP_SHUF(v[2], v[3], 2, 6, 3, 7);

	acc = vmax_lanes(acc, TP_SHUF(t0, t1, 0, 1, 4, 5));
	acc = vmax_lanes(acc, TP_SHUF(t0, t1, 2, 3, 6, 7));
	acc = vmax_lanes(acc, TP_SHUF(t2, t3, 0, 1, 4, 5));
	return vmax_lanes(acc, TP_SHUF(t2, t3, 2, 3, 6, 7));
}

/* channel_peak() of the intervals cf … cf + 3, one per lane: the same
 * values (the largest of the same non-NaN numbers). */
static tp_vec channel_peak4(const struct chain_truepeak *tp, unsigned c,
			    unsigned os, unsigned cf)
{
	const tp_vec sign = (tp_vec){ -0.0f, -0.0f, -0.0f, -0.0f };
	tp_vec acc = (tp_vec)((tp_ivec)load(at_fwd(tp, c, tp->pos - 1 - cf)) & ~(tp_ivec)sign);
	tp_vec v[4];

#define TP_ABS(p) ((tp_vec)((tp_ivec)load(p) & ~(tp_ivec)sign))
	if (os == 8) {
		const float *q = tp->qr + (size_t)c * 2 * TP_QN + ((8 * cf - 2) & (TP_QN - 1));

		for (int k = 0; k < 4; k++)
			v[k] = refine(TP_ABS(q + 8 * k), TP_ABS(q + 8 * k + 1), TP_ABS(q + 8 * k + 2));
		acc = vmax_rows(acc, v);
		for (int k = 0; k < 4; k++)
			v[k] = refine(TP_ABS(q + 8 * k + 4), TP_ABS(q + 8 * k + 5), TP_ABS(q + 8 * k + 6));
	} else {
		const float *z = tp->zr + (size_t)c * 2 * TP_ZN + ((4 * cf - 2) & (TP_ZN - 1));

		for (int k = 0; k < 4; k++)
			v[k] = refine(TP_ABS(z + 4 * k), TP_ABS(z + 4 * k + 1), TP_ABS(z + 4 * k + 2));
	}
#undef TP_ABS
	return vmax_rows(acc, v);
}

/*
 * libebur128's reading of channel c for the intervals of two frames, the
 * one d frames (0 or 1) after the other (a frames back from the newest
 * frame): |x| at the interval's start and the points 1/F … (F-1)/F after
 * it, each as the float libebur128 stores, into m[0] and m[1].  The
 * frames run side by side, each lane adding its products in libebur128's
 * order (newest sample first).  Phase 0 is the sample itself (its other
 * taps are below libebur128's threshold, so left out): it is not summed.
 */
static void meter2(const struct chain_truepeak *tp, unsigned c, unsigned a,
		   unsigned d, float *m0, float *m1)
{
	/* the newest sample of the span: frame c + 24/F */
	const double *x = at_fwd_d(tp, c, a + TP_LAT - (EBU_TAPS - 1) / 2 / tp->ebu_f);
	const float *s = at_fwd(tp, c, a + TP_LAT);
	float p0 = fabsf(s[0]), q0 = fabsf(s[d]);

	if (tp->ebu_f == 4) {
		tp_vd y1 = { 0, 0 }, y2 = { 0, 0 }, y3 = { 0, 0 };

		for (int t = 0; t < (EBU_TAPS + 3) / 4; t++) {
			/* frames -t and -t + d (d = 1: one load) */
			tp_vd v = d == 1 ? load_d(x - t) : (tp_vd){ x[-t], x[-t + (int)d] };

			y1 += load_d(tp->ebuv[0][t]) * v;
			y2 += load_d(tp->ebuv[1][t]) * v;
			y3 += load_d(tp->ebuv[2][t]) * v;
		}
		p0 = max3(max3(p0, fabsf((float)y1[0]), fabsf((float)y2[0])),
			  fabsf((float)y3[0]), 0);
		q0 = max3(max3(q0, fabsf((float)y1[1]), fabsf((float)y2[1])),
			  fabsf((float)y3[1]), 0);
	} else if (tp->ebu_f == 2) {
		tp_vd y1 = { 0, 0 };

		for (int t = 0; t < (EBU_TAPS + 1) / 2; t++)
			y1 += load_d(tp->ebuv[0][t]) *
			      (d == 1 ? load_d(x - t) : (tp_vd){ x[-t], x[-t + (int)d] });
		p0 = max3(p0, fabsf((float)y1[0]), 0);
		q0 = max3(q0, fabsf((float)y1[1]), 0);
	}
	*m0 = p0;
	*m1 = q0;
}

/*
 * meter2() for one frame (a frames back) and two channels c0, c1 (c1 may
 * equal c0) side by side instead: the same values.
 */
static void meter_pair(const struct chain_truepeak *tp, unsigned c0,
		       unsigned c1, unsigned a, float *m0, float *m1)
{
	unsigned newest = a + TP_LAT - (EBU_TAPS - 1) / 2 / tp->ebu_f;
	const double *x0 = at_fwd_d(tp, c0, newest);
	const double *x1 = at_fwd_d(tp, c1, newest);
	const double *h = tp->ebu;
	tp_vd p1 = { 0, 0 }, hi0 = { 0, 0 }, hi1 = { 0, 0 };
	float p0 = fabsf(at_fwd(tp, c0, a + TP_LAT)[0]);
	float q0 = fabsf(at_fwd(tp, c1, a + TP_LAT)[0]);

	if (tp->ebu_f == 4) {
		/* lanes: phase 1 of both channels (p1), phases 2, 3 of each */
		for (int t = 0; t < (EBU_TAPS + 3) / 4; t++) {
			tp_vd hh = load_d(h + 4 * t + 2);
			double u = x0[-t], v = x1[-t];

			p1 += load_d(tp->ebuv[0][t]) * (tp_vd){ u, v };
			hi0 += hh * u;
			hi1 += hh * v;
		}
		p0 = max3(max3(p0, fabsf((float)p1[0]), fabsf((float)hi0[0])),
			  fabsf((float)hi0[1]), 0);
		q0 = max3(max3(q0, fabsf((float)p1[1]), fabsf((float)hi1[0])),
			  fabsf((float)hi1[1]), 0);
	} else if (tp->ebu_f == 2) {
		for (int t = 0; t < (EBU_TAPS + 1) / 2; t++)
			p1 += load_d(tp->ebuv[0][t]) * (tp_vd){ x0[-t], x1[-t] };
		p0 = max3(p0, fabsf((float)p1[0]), 0);
		q0 = max3(q0, fabsf((float)p1[1]), 0);
	}
	*m0 = p0;
	*m1 = q0;
}

/* Store n frames (frame t, channel c at in[t * fs + c * cs]) in the
 * ring; win_max[t] becomes an upper bound on the largest |sample| of the
 * TP_SPAN frames up to frame t: the largest over whole chunks of
 * TP_CHUNK frames (the window reaches into the current chunk and the
 * TP_CBACK before it), so it may include up to TP_CHUNK - 1 older
 * frames.  Two comparisons a frame, and the chunks' maximum once a
 * chunk, where a running maximum over exactly the window (a deque)
 * branched on every frame.  A block at a time, with the ring position
 * and the maxima in locals: a call and their reloads per frame cost a
 * third of this work.  The samples go in channel by channel, in runs up
 * to the ring's end (loops the compiler vectorises: a third of the
 * instructions of frame by frame); the ring of doubles is filled only
 * when a meter reading needs it (sync_d()). */
/* store_n() for run frames of one channel (frame k at x[k * fs]) into
 * d[k] and d[k + TP_RING], each frame's ax[k] raised to its |sample|. */
static inline __attribute__((always_inline)) void
store_run(float *restrict d, float *restrict ax, const float *restrict x,
	  const size_t fs, unsigned run)
{
	unsigned k = 0;

	if (fs == 1)
		for (; k + TP_PART <= run; k += TP_PART) {
			/* the same, four frames side by side */
			const tp_vec sign = { -0.0f, -0.0f, -0.0f, -0.0f };
			const tp_vec big = { FLT_MAX, FLT_MAX, FLT_MAX, FLT_MAX };
			tp_vec v = load(x + k);
			tp_vec a = (tp_vec)((tp_ivec)v & ~(tp_ivec)sign);
			tp_ivec ok = a <= big;

			v = (tp_vec)((tp_ivec)v & ok);
			a = (tp_vec)((tp_ivec)a & ok);
			memcpy(d + k, &v, sizeof(v));
			memcpy(d + k + TP_RING, &v, sizeof(v));
			a = vmax_lanes(load(ax + k), a);
			memcpy(ax + k, &a, sizeof(a));
		}
	for (; k < run; k++) {
		float v = x[k * fs];

		/* 0 for a non-finite sample (false for NaN) */
		v = fabsf(v) <= FLT_MAX ? v : 0;
		d[k] = d[k + TP_RING] = v;
		ax[k] = fabsf(v) > ax[k] ? fabsf(v) : ax[k];
	}
}

/* store_run() for interleaved stereo (frame k at x[2k], x[2k + 1]) into
 * l[k], r[k] (and + TP_RING), ax[k] set to the larger |sample|: four frames
 * at a time, split into their channels by two shuffles, the same values
 * as store_run() channel after channel (the meter's input, refs/loudness.c,
 * where the scalar loop was a third of the meter's instructions). */
static inline __attribute__((always_inline)) void
store_run_lr(float *restrict l, float *restrict r, float *restrict ax,
	     const float *restrict x, unsigned run)
{
	const tp_vec sign = { -0.0f, -0.0f, -0.0f, -0.0f };
	const tp_vec big = { FLT_MAX, FLT_MAX, FLT_MAX, FLT_MAX };
	unsigned k = 0;

	for (; k + TP_PART <= run; k += TP_PART) {
		tp_vec p = load(x + 2 * k), q = load(x + 2 * k + TP_PART);
		tp_vec vl = TP_SHUF(p, q, 0, 2, 4, 6), vr = TP_SHUF(p, q, 1, 3, 5, 7);
		tp_vec al = (tp_vec)((tp_ivec)vl & ~(tp_ivec)sign);
		tp_vec ar = (tp_vec)((tp_ivec)vr & ~(tp_ivec)sign);
		tp_ivec okl = al <= big, okr = ar <= big;

		vl = (tp_vec)((tp_ivec)vl & okl);
		vr = (tp_vec)((tp_ivec)vr & okr);
		al = (tp_vec)((tp_ivec)al & okl);
		ar = (tp_vec)((tp_ivec)ar & okr);
		memcpy(l + k, &vl, sizeof(vl));
		memcpy(l + k + TP_RING, &vl, sizeof(vl));
		memcpy(r + k, &vr, sizeof(vr));
		memcpy(r + k + TP_RING, &vr, sizeof(vr));
		al = vmax_lanes(al, ar);
		memcpy(ax + k, &al, sizeof(al));
	}
	for (; k < run; k++) {
		float vl = x[2 * k], vr = x[2 * k + 1];

		/* 0 for a non-finite sample (false for NaN) */
		vl = fabsf(vl) <= FLT_MAX ? vl : 0;
		vr = fabsf(vr) <= FLT_MAX ? vr : 0;
		l[k] = l[k + TP_RING] = vl;
		r[k] = r[k + TP_RING] = vr;
		ax[k] = fabsf(vr) > fabsf(vl) ? fabsf(vr) : fabsf(vl);
	}
}

static inline __attribute__((always_inline)) void
store_n(struct chain_truepeak *tp, const float *in, size_t cs, size_t fs,
	unsigned n, float *win_max, const unsigned nch)
{
	float *const fw = tp->fwd;
	unsigned w0 = tp->w + 1 == TP_RING ? 0 : tp->w + 1, pos = tp->pos;
	float cm_full = tp->cm_full, cm_cur = tp->cm_cur;
	float a[TP_BLOCK];  /* each frame's largest |sample| */
	const int lr = nch == 2 && cs == 1 && fs == 2;  /* interleaved stereo */

	if (lr) {
		/* both channels in one pass, setting a[] (no zeros first:
		 * a `rep stos` that cost a sixth of this function's time) */
		for (unsigned t = 0, w = w0; t < n;) {
			unsigned run = TP_RING - w < n - t ? TP_RING - w : n - t;

			store_run_lr(fw + w, fw + 2 * TP_RING + w, a + t, in + 2 * t, run);
			t += run;
			w = w + run == TP_RING ? 0 : w + run;
		}
	}
	else
		memset(a, 0, sizeof(a));  /* raised channel by channel below */
	for (unsigned c = 0; c < nch && !lr; c++) {
		float *f = fw + (size_t)c * 2 * TP_RING;
		const float *src = in + c * cs;
		unsigned w = w0;

		for (unsigned t = 0; t < n;) {
			unsigned run = TP_RING - w < n - t ? TP_RING - w : n - t;
			float *d = f + w, *ax = a + t;
			const float *x = src + t * fs;

			if (fs == 1)
				store_run(d, ax, x, 1, run);
			else
				store_run(d, ax, x, fs, run);
			t += run;
			w = w + run == TP_RING ? 0 : w + run;
		}
	}
	/* the frames of each chunk in a run */
	for (unsigned t = 0; t < n;) {
		unsigned run = TP_CHUNK - pos % TP_CHUNK;

		if (run > n - t)
			run = n - t;
		if (pos % TP_CHUNK == 0) {
			/* a new chunk q: close q - 1, and take the chunks
			 * q - TP_CBACK … q - 1 */
			unsigned q = pos / TP_CHUNK;
			float full = 0;

			tp->cm[(q - 1) % TP_CM] = cm_cur;
			for (unsigned k = 1; k <= TP_CBACK; k++)
				if (tp->cm[(q - k) % TP_CM] > full)
					full = tp->cm[(q - k) % TP_CM];
			cm_full = full;
			cm_cur = 0;  /* (a[] >= 0) */
		}
		pos += run;
		for (; run >= TP_PART; run -= TP_PART, t += TP_PART) {
			/* four at once: the running maximum by two shifted
			 * maxima (zeros shifted in: a[] >= 0) */
			const tp_vec z = { 0 };
			tp_vec v = load(a + t);

			v = vmax_lanes(v, TP_SHUF(v, z, 4, 0, 1, 2));
			v = vmax_lanes(v, TP_SHUF(v, z, 4, 4, 0, 1));
			v = vmax_lanes(v, (tp_vec){ cm_cur, cm_cur, cm_cur, cm_cur });
			cm_cur = v[3];
			v = vmax_lanes(v, (tp_vec){ cm_full, cm_full, cm_full, cm_full });
			memcpy(win_max + t, &v, sizeof(v));
		}
		for (; run; run--, t++) {
			cm_cur = a[t] > cm_cur ? a[t] : cm_cur;
			win_max[t] = cm_full > cm_cur ? cm_full : cm_cur;
		}
	}
	if (n)
		tp->w = (w0 + n - 1) % TP_RING;
	tp->pos = pos;
	tp->cm_full = cm_full;
	tp->cm_cur = cm_cur;
}

/* The ring of doubles (the meter reading's) brought up to date for the
 * frames from `back` frames before the newest on: converted from the
 * floats, frames d_next … pos - 1 (those before are there already). */
static void sync_d(struct chain_truepeak *tp, unsigned back)
{
	unsigned p0 = later(tp->d_next, tp->pos - back);

	for (unsigned c = 0; c < tp->channels; c++) {
		double *fd = tp->fwdd + (size_t)c * 2 * TP_RING;
		const float *f = tp->fwd + (size_t)c * 2 * TP_RING;

		for (unsigned p = p0; p != tp->pos; p++) {
			/* frame p: tp->pos - 1 - p frames before the newest */
			unsigned i = tp->w + TP_RING - (tp->pos - 1 - p);

			if (i >= TP_RING)
				i -= TP_RING;
			fd[i] = fd[i + TP_RING] = f[i];
		}
	}
	tp->d_next = tp->pos;
}

/* store_n() with the channel count a constant in the common case */
static void store(struct chain_truepeak *tp, const float *in, size_t cs,
		  size_t fs, unsigned n, float *win_max)
{
	if (tp->channels == 2)
		store_n(tp, in, cs, fs, n, win_max, 2);
	else
		store_n(tp, in, cs, fs, n, win_max, tp->channels);
}

/* local_bound_at() for one channel, the frames of lane l from x + l on:
 * the largest over the points of |their near sum| + tail · m.  A
 * function of its own, called once a channel: with the loop over the
 * channels around them, the compiler copied the weights to the stack
 * first and read them from there. */
static __attribute__((noinline)) tp_vec
local_bound_ch(const tp_vec (*cwv)[2 * TP_CR + 1], const float *ct,
	       const float *x, tp_vec m, const unsigned np)
{
	const tp_vec sign = (tp_vec){ -0.0f, -0.0f, -0.0f, -0.0f };
	tp_vec best = { 0 };

	for (unsigned j = 0; j < np; j++) {
		const tp_vec *w = cwv[j];
		tp_vec v = w[0] * load(x);

#pragma GCC unroll 16
		for (int k = 1; k < 2 * TP_CR + 1; k++)
			v += w[k] * load(x + k);
		v = (tp_vec)((tp_ivec)v & ~(tp_ivec)sign) + ct[j] * m;
		best = vmax_lanes(best, v);
	}
	return best;
}

/* local_bound() for os 4 (o8 = 0, np = 6 points) or 8 (1, 10). */
static inline __attribute__((always_inline)) tp_vec
local_bound_at(const struct chain_truepeak *tp, unsigned cf, tp_vec m,
	       const int o8, const unsigned np)
{
	const tp_vec sign = (tp_vec){ -0.0f, -0.0f, -0.0f, -0.0f };
	const tp_vec huge = { HUGE_VALF, HUGE_VALF, HUGE_VALF, HUGE_VALF };
	tp_vec smax = { 0 }, b = { 0 };
	tp_ivec ok = m <= 1e30f;

	m = (tp_vec)((tp_ivec)m & ok);  /* lanes too large: answered below */
	for (unsigned c = 0; c < tp->channels; c++) {
		/* lane l: frames cf + l - TP_CR … cf + l + TP_CR */
		const float *x = at_fwd(tp, c, tp->pos - 1 - (cf - TP_CR));

		/* the samples themselves */
		smax = vmax_lanes(smax, (tp_vec)((tp_ivec)load(x + TP_CR) & ~(tp_ivec)sign));
		b = vmax_lanes(b, local_bound_ch(tp->cwv[o8], tp->ct[o8], x, m, np));
	}
	/* float rounding: 3e-4 · m covers the detector's sums' (2e-5 of
	 * A·m, A < 3) and these sums' own; 9/8 and 1e-4: refine() */
	b = 1.125f * (1 + 1e-4f) * (b + 3e-4f * m);
	b = vmax_lanes(b, smax);
	return (tp_vec)(((tp_ivec)b & ok) | ((tp_ivec)huge & ~ok));
}

/* The local bound (see the top of the file) on the fine readings of the
 * intervals of frames cf … cf + 3 (lane l: cf + l), at the current
 * factor, for every channel: lane l of m is the largest |sample| of the
 * TP_SPAN frames interval cf + l reads.  The points' weights on the
 * frames nearest each interval are applied with signs, four intervals
 * side by side, each lane by the same operations (so an interval's bound
 * does not depend on its neighbours); the rest of each point's weights
 * is bounded by its tail times m.  HUGE_VALF in a lane whose m is too
 * large for sums to stay finite. */
static tp_vec local_bound(const struct chain_truepeak *tp, unsigned cf, tp_vec m)
{
	return tp->os == 8 ? local_bound_at(tp, cf, m, 1, 10) :
			     local_bound_at(tp, cf, m, 0, 6);
}

/* push_block()'s local bounds of intervals t0 … t0 + 3 (lanes at or past
 * n repeat t0's window and go unused): each still undecided (fine 2) one
 * before `end` becomes 1 when its bound exceeds lim, else 0.  Returns
 * whether one became 1. */
static int bound4(const struct chain_truepeak *tp, unsigned char *fine,
		  const float *win_max, const float *lim, unsigned pos0, unsigned t0,
		  unsigned end, unsigned n)
{
	tp_vec m4, lb;
	int hit = 0;

	for (unsigned l = 0; l < 4; l++)
		m4[l] = win_max[t0 + l < n ? t0 + l : t0];
	lb = local_bound(tp, pos0 + t0 - TP_LAT, m4);
	for (unsigned l = 0; l < 4 && t0 + l < end; l++)
		if (fine[t0 + l] == 2) {
			fine[t0 + l] = lb[l] > lim[t0 + l];
			hit |= fine[t0 + l];
		}
	return hit;
}

/*
 * Push n <= TP_BLOCK frames (channel c of frame t at in[c * cs + t * fs]);
 * peak[t] (and ch_peak[t * channels + c], when not NULL) receive the
 * readings.  thr < 0: never skip.  With ch_peak, every channel's reading
 * is exact above thr (the fine skip then compares with the smallest
 * channel's meter reading instead of the largest).
 *
 * Each frame is stored, its meter reading taken and its fine reading
 * either skipped (truepeak.h) or marked; then the streams are brought up
 * to the marked intervals at once (fill()) and those are read.  A frame's
 * values are the same in whatever block it comes.
 */
static void push_block(struct chain_truepeak *tp, const float *in, size_t cs,
		       size_t fs, unsigned n, float thr, float *peak,
		       float *ch_peak)
{
	const unsigned nch = tp->channels;
	float meter[TP_BLOCK][TP_MAX_CH];
	unsigned char fine[TP_BLOCK];
	unsigned first = n, last = 0, pos0 = tp->pos;
	unsigned os_prev = tp->os_prev;
	int q = tp->os == 8 || os_prev == 8;

	float win_max[TP_BLOCK];
	unsigned char mt[TP_BLOCK];
	/* meter[] holds zeros once zeroed is set (not before: a block
	 * that reads nothing leaves it alone) */
	unsigned n_mt = 0, n_lb = 0;
	int zeroed = 0;
	float lim[TP_BLOCK];            /* what a reading must exceed */

	store(tp, in, cs, fs, n, win_max);
	if (thr >= 0 && !os_prev) {
		/* the whole block under both bounds: every reading skipped,
		 * as the loops below would decide frame by frame */
		float wm = 0, k = tp->ebu_f ? tp->ebu_k : 0;

		if (tp->os && tp->bound_k[tp->os == 8] > k)
			k = tp->bound_k[tp->os == 8];
		for (unsigned t = 0; t < n; t++)
			wm = win_max[t] > wm ? win_max[t] : wm;
		if (k * wm <= thr) {
			memset(peak, 0, sizeof(float) * n);
			goto done;
		}
		/* the same with the near bound for the fine readings (below)
		 * on the largest sample within TP_NEAR frames of any interval
		 * of the block (closed chunks: the newest such frame is 66
		 * before the block's last), when the meter's skip anyway:
		 * each frame's near bound is at most this (float rounding is
		 * monotone) */
		if (tp->os && (!tp->ebu_f || tp->ebu_k * wm <= thr)) {
			const int o8 = tp->os == 8;
			unsigned qa = (pos0 - TP_LAT - TP_NEAR) / TP_CHUNK;
			unsigned nq = (((pos0 + n - 1 - TP_LAT + TP_NEAR) / TP_CHUNK - qa) &
				       (UINT32_MAX / TP_CHUNK)) + 1;
			float mn = 0;

			for (unsigned k2 = 0; k2 < nq; k2++)
				mn = tp->cm[(qa + k2) % TP_CM] > mn ? tp->cm[(qa + k2) % TP_CM] : mn;
			if (tp->near_k[o8] * mn + tp->far_k[o8] * wm <= thr) {
				memset(peak, 0, sizeof(float) * n);
				goto done;
			}
		}
	}
	for (unsigned t = 0; t < n; t++) {
		/* skipped when it cannot exceed thr (then 0 stands for it: the
		 * larger reading is either the fine one, if above thr, or
		 * <= thr) */
		mt[t] = tp->ebu_f && !(thr >= 0 && tp->ebu_k * win_max[t] <= thr);
		n_mt += mt[t];
	}
	if (n_mt) {
		memset(meter, 0, sizeof(meter[0]) * n);
		zeroed = 1;
		/* the oldest frame a reading of this block reads: n - 1 +
		 * TP_LAT - 24/F + (taps of a phase - 1) back, < n + TP_LAT + 25 */
		sync_d(tp, n + TP_LAT + EBU_MAX_DELAY);
	}
	/* the meter readings, two frames at a time (frame t is n - 1 - t
	 * frames back) */
	for (unsigned t = 0; n_mt && t < n; t++) {
		unsigned d;

		if (!mt[t])
			continue;
		d = t + 1 < n && mt[t + 1];
		if (!d) {
			/* a lone frame: two channels side by side instead */
			for (unsigned c = 0; c < nch; c += 2) {
				float spare;
				unsigned c1 = c + 1 < nch ? c + 1 : c;

				meter_pair(tp, c, c1, n - 1 - t, meter[t] + c,
					   c1 > c ? meter[t] + c1 : &spare);
			}
			continue;
		}
		for (unsigned c = 0; c < nch; c++)
			meter2(tp, c, n - 1 - t, 1, meter[t] + c, meter[t + 1] + c);
		t++;
	}
	for (unsigned t = 0; t < n; t++) {
		float *m = meter[t];
		float m_max = 0, m_min = n_mt ? HUGE_VALF : 0;

		for (unsigned c = 0; n_mt && c < nch; c++) {
			if (m[c] > m_max)
				m_max = m[c];
			if (m[c] < m_min)
				m_min = m[c];
		}
		peak[t] = m_max;
		fine[t] = 0;
		if (!tp->os)
			continue;
		if (thr >= 0 && !(t == 0 && os_prev)) {
			float mm = ch_peak ? m_min : m_max;

			lim[t] = thr > mm ? thr : mm;
			if (tp->bound_k[tp->os == 8] * win_max[t] <= lim[t])
				continue;
			n_lb++;
			fine[t] = 2;  /* the local bound decides */
			continue;
		}
		fine[t] = 1;
	}
	/* the near bound: the weights within TP_NEAR frames times the
	 * largest sample there (closed chunks of the ring: the newest frame
	 * such an interval reads is 66 frames before this block's last, the
	 * oldest within 16 chunks of it), the rest times the window's */
	for (unsigned t = 0; n_lb && t < n; t++) {
		const int o8 = tp->os == 8;
		unsigned qa;
		float mn, mb;

		if (fine[t] != 2)
			continue;
		/* frames c - TP_NEAR … c + TP_NEAR, c = pos0 + t - TP_LAT:
		 * 2 TP_NEAR + 1 = TP_CHUNK + 1 frames, so always in the two
		 * chunks qa and qa + 1 (chunk numbers wrap with the frame
		 * counter, modulo 2^28) */
		qa = (pos0 + t - TP_LAT - TP_NEAR) / TP_CHUNK;
		mn = tp->cm[qa % TP_CM];
		mb = tp->cm[(qa + 1) % TP_CM];
		mn = mb > mn ? mb : mn;
		if (tp->near_k[o8] * mn + tp->far_k[o8] * win_max[t] <= lim[t]) {
			fine[t] = 0;
			n_lb--;
		}
	}
	/* the local bounds, four intervals at a time (lanes past those
	 * asked for are computed and not used), from each end of the block
	 * inwards, each way until one needs the fine reading: the streams
	 * are filled from the first such interval to the last anyway, so
	 * between them a reading costs less than its bound (a reading that
	 * could have been skipped is <= lim[t], which reports the same) */
	if (n_lb) {
		unsigned lo = 0, hi = n;  /* undecided: fine[t] == 2 in [lo, hi) */
		int hit = 0;

		for (unsigned t = 0; !hit && t < n;) {
			if (fine[t] != 2) {
				t++;
				continue;
			}
			hit = bound4(tp, fine, win_max, lim, pos0, t, n, n);
			t += 4;
			lo = t < n ? t : n;
		}
		while (hit && hi > lo) {
			unsigned t = hi - 1, t0;

			if (fine[t] != 2) {
				hi = t;
				continue;
			}
			t0 = t >= lo + 3 ? t - 3 : lo;
			hit = bound4(tp, fine, win_max, lim, pos0, t0, hi, n) ? 2 : 1;
			hi = t0;
			if (hit == 2)
				break;
		}
		for (unsigned t = lo; t < hi; t++)
			if (fine[t] == 2)
				fine[t] = 1;
	}
	for (unsigned t = 0; t < n; t++)
		if (fine[t]) {
			if (first == n)
				first = t;
			last = t;
		}
	if (first < n) {
		/* interval of frame t: pos0 + t - TP_LAT */
		if (!zeroed) {
			memset(meter, 0, sizeof(meter[0]) * n);
			zeroed = 1;
		}
		fill(tp, pos0 + first - TP_LAT, pos0 + last - TP_LAT, q);
		for (unsigned t = first; t <= last; t++) {
			unsigned cf = pos0 + t - TP_LAT;
			float pk = 0;

			if (!fine[t])
				continue;
			if (t + 3 <= last && !(t == 0 && os_prev)) {
				/* four at once (those of skipped frames unused) */
				tp_vec pk4 = { 0 };

				for (unsigned c = 0; c < nch; c++) {
					tp_vec e = channel_peak4(tp, c, tp->os, cf);
					tp_vec m = { meter[t][c], meter[t + 1][c],
						     meter[t + 2][c], meter[t + 3][c] };

					e = vmax_lanes(e, m);
					for (unsigned k = 0; k < 4; k++)
						if (fine[t + k])
							meter[t + k][c] = e[k];
					pk4 = vmax_lanes(pk4, e);
				}
				for (unsigned k = 0; k < 4; k++)
					if (fine[t + k])
						peak[t + k] = pk4[k];
				t += 3;
				continue;
			}
			for (unsigned c = 0; c < nch; c++) {
				float e = channel_peak(tp, c, tp->os, cf);

				/* the first interval after a switch of factor:
				 * read with both, so that its points join those
				 * of the interval before */
				if (t == 0 && os_prev)
					e = max3(e, channel_peak(tp, c, os_prev, cf), 0);
				if (meter[t][c] > e)
					e = meter[t][c];
				meter[t][c] = e;
				if (e > pk)
					pk = e;
			}
			peak[t] = pk;
		}
	}
done:
	if (n)
		tp->os_prev = 0;
	/* frames before pos - TP_RING have left the ring: nothing to
	 * convert there (and d_next stays within 2^31 of pos) */
	if (tp->pos - tp->d_next > TP_RING)
		tp->d_next = tp->pos - TP_RING;
	/* no later reading needs points before these (its first interval
	 * is at pos - TP_LAT or later): the streams hold all it needs below
	 * them, and they stay near pos however long nothing is read */
	tp->s1_next = later(tp->s1_next, tp->pos - TP_LAT - 6);
	tp->u_next = later(tp->u_next, 2 * (tp->pos - TP_LAT) - 3);
	tp->v_next = later(tp->v_next, 4 * (tp->pos - TP_LAT) - 1);
	if (ch_peak && !zeroed)
		memset(ch_peak, 0, sizeof(float) * nch * n);
	else if (ch_peak)
		for (unsigned t = 0; t < n; t++)
			memcpy(ch_peak + (size_t)t * nch, meter[t], sizeof(float) * nch);
}

float chain_truepeak_push(struct chain_truepeak *tp, const float *frame,
			  float *ch_peak)
{
	float peak;

	push_block(tp, frame, 1, tp->channels, 1, -1, &peak, ch_peak);
	return peak;
}

float chain_truepeak_push_above(struct chain_truepeak *tp, const float *frame,
				float thr, float *ch_peak)
{
	float peak;

	push_block(tp, frame, 1, tp->channels, 1, thr >= 0 ? thr : 0, &peak, ch_peak);
	return peak;
}

void chain_truepeak_push_block_above(struct chain_truepeak *tp, const float *in,
				     size_t ch_stride, size_t frame_stride,
				     size_t frames, float thr, float *peak,
				     float *ch_peak)
{
	if (thr < 0)
		thr = 0;
	while (frames) {
		unsigned m = frames < TP_BLOCK ? (unsigned)frames : TP_BLOCK;

		push_block(tp, in, ch_stride, frame_stride, m, thr, peak, ch_peak);
		in += m * frame_stride;
		peak += m;
		if (ch_peak)
			ch_peak += (size_t)m * tp->channels;
		frames -= m;
	}
}

int chain_truepeak_set_oversample(struct chain_truepeak *tp, unsigned oversample)
{
	if (!tp->os || (oversample != 4 && oversample != 8))
		return CHAIN_ERROR_RANGE;
	if (oversample != tp->os) {
		if (!tp->os_prev)
			tp->os_prev = tp->os;
		else if (tp->os_prev == oversample)
			tp->os_prev = 0;  /* switched back before any push */
		tp->os = oversample;
	}
	return CHAIN_OK;
}

unsigned chain_truepeak_oversample(const struct chain_truepeak *tp)
{
	return tp->os;
}

unsigned chain_truepeak_meter_delay(const struct chain_truepeak *tp)
{
	return tp->ebu_f > 1 ? (EBU_TAPS - 1) / 2 / tp->ebu_f : 0;
}

float chain_truepeak_meter_bound(const struct chain_truepeak *tp)
{
	return tp->ebu_f ? tp->ebu_k : 0;
}

void chain_truepeak_process(struct chain_truepeak *tp, const float *in,
			    size_t frames, float *peak)
{
	float ch[TP_MAX_CH];

	for (size_t i = 0; i < frames; i++) {
		chain_truepeak_push(tp, in + i * tp->channels, ch);
		for (unsigned c = 0; c < tp->channels; c++)
			if (ch[c] > peak[c])
				peak[c] = ch[c];
	}
}

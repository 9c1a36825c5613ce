/*
 * termaster — unit test: band solo (chain/bandsolo.c).
 *
 * The tests and the RT rules (STYLE.md §7):
 *  - each band against its analytic response (bandsolo.h), by sine
 *    correlation of a multi-sine whose tones sit on exact bins of the
 *    measurement window (so they are orthogonal over it), at 11.025, 44.1,
 *    48, 96, 192 and 384 kHz, both channels with different phases;
 *  - tones outside a band (at least half an octave beyond an edge) at least
 *    40 dB down (the issue), and at least 48 dB (the design's claim); the
 *    gain at each band's log-centre within 0.1 dB of 0 dB; the edges
 *    printed;
 *  - the six bands summed (each band run on the same input, outputs added)
 *    flat within ±0.1 dB from 20 Hz to 20 kHz;
 *  - off is bit-exact (NaN, -0 and subnormals included) and comes back to
 *    bit-exact after a solo, with the filters kept warm or idle;
 *  - band switches: no sample step above the bound derived above
 *    test_switch_mode() and no overshoot, both ways of being off; an
 *    abrupt (snapped) switch, the control, breaks the bound; a solo from
 *    idle stays dry for CHAIN_BANDSOLO_WAKE_MS and then plays the band;
 *  - block sizes 1, 7, 32, 333, 1024 with switches at the same frames give
 *    the same output; reset; hostile input; no denormal slowdown; the
 *    offline render equals the processor; speed in ns per frame.
 */
#include "config.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "chain/bandsolo.h"
#include "chain/chain.h"
#include "tests/util.h"

#define NB CHAIN_BANDSOLO_BANDS
#define RATE 48000.0

static const double edges[NB - 1] = CHAIN_BANDSOLO_EDGES_HZ;

/* ---- helpers ---- */

static void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size);

	if (!p) {
		fprintf(stderr, "out of memory\n");
		exit(99);
	}
	return p;
}

static double seconds(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static struct chain_bandsolo *bs_open(double rate)
{
	int err = -1;
	struct chain_bandsolo *b = chain_bandsolo_new(rate, &err);

	if (!b || err != 0) {
		fprintf(stderr, "chain_bandsolo_new(%g): %d\n", rate, err);
		exit(99);
	}
	return b;
}

/* A switch at frame `pos`. */
struct ev {
	size_t pos;
	int band;
	int snap;
};

/* Processes n frames in calls of at most `bs` frames, applying the events
 * at their frames (a call is cut there). */
static void run(struct chain_bandsolo *b, float *L, float *R, size_t n, size_t bs,
		const struct ev *ev, int nev)
{
	size_t i = 0;
	int e = 0;

	while (i < n) {
		size_t m = bs;
		float *buf[2] = { L + i, R + i };

		while (e < nev && ev[e].pos <= i) {
			ASSERT_INT("set", 0, chain_bandsolo_set(b, ev[e].band, ev[e].snap));
			e++;
		}
		if (m > n - i)
			m = n - i;
		if (e < nev && ev[e].pos < i + m)
			m = ev[e].pos - i;
		chain_bandsolo_process(b, buf, (unsigned)m);
		i += m;
	}
}

static void music(float *L, float *R, size_t n, double rate, uint32_t seed)
{
	float *lr = xcalloc(2 * n, sizeof(float));

	gen_music(lr, n, 2, rate, 0.8, seed);
	for (size_t i = 0; i < n; i++) {
		L[i] = lr[2 * i];
		R[i] = lr[2 * i + 1];
	}
	free(lr);
}

/* log-centre of band k (1 … 6), bands 1 and 6 taken as 20-60 Hz and
 * 6-20 kHz */
static double centre_hz(int k)
{
	double lo = 0.0, hi = INFINITY;

	chain_bandsolo_edges_hz(k, &lo, &hi);
	if (lo < 20.0)
		lo = 20.0;
	if (hi > 20000.0)
		hi = 20000.0;
	return sqrt(lo * hi);
}

/* ---- the API ---- */

static void test_api(void)
{
	struct chain_bandsolo *b;
	double lo, hi;
	int err = 0;

	ASSERT_TRUE("rate 1 kHz refused", !chain_bandsolo_new(1000.0, &err));
	ASSERT_INT("rate error", CHAIN_ERROR_RATE, err);
	ASSERT_TRUE("rate NaN refused", !chain_bandsolo_new(NAN, &err));
	ASSERT_TRUE("rate 1 MHz refused", !chain_bandsolo_new(1e6, NULL));
	b = bs_open(RATE);
	ASSERT_INT("starts off", 0, chain_bandsolo_band(b));
	ASSERT_TRUE("starts kept warm, not idle", !chain_bandsolo_idle(b));
	ASSERT_INT("latency", 0, chain_bandsolo_latency(b));
	ASSERT_INT("band 7", CHAIN_ERROR_RANGE, chain_bandsolo_set(b, 7, 0));
	ASSERT_INT("band -1", CHAIN_ERROR_RANGE, chain_bandsolo_set(b, -1, 0));
	ASSERT_INT("band unchanged", 0, chain_bandsolo_band(b));
	ASSERT_INT("band 3", 0, chain_bandsolo_set(b, 3, 0));
	ASSERT_INT("band 3 set", 3, chain_bandsolo_band(b));
	chain_bandsolo_keep_warm(b, 0);
	ASSERT_TRUE("not idle while soloing", !chain_bandsolo_idle(b));
	chain_bandsolo_set(b, 0, 1);
	ASSERT_TRUE("snapped off without keep-warm: idle", chain_bandsolo_idle(b));
	chain_bandsolo_keep_warm(b, 1);
	ASSERT_TRUE("keep-warm wakes it", !chain_bandsolo_idle(b));
	chain_bandsolo_free(&b);
	ASSERT_TRUE("free clears the pointer", b == NULL);
	chain_bandsolo_free(&b);
	chain_bandsolo_free(NULL);

	ASSERT_TRUE("name 0", strcmp(chain_bandsolo_name(0), "off") == 0);
	ASSERT_TRUE("name 3", strcmp(chain_bandsolo_name(3), "250-500 Hz") == 0);
	ASSERT_TRUE("name 7", chain_bandsolo_name(7) == NULL);
	ASSERT_INT("edges 1", 0, chain_bandsolo_edges_hz(1, &lo, &hi));
	ASSERT_TRUE("edges 1", lo == 0.0 && hi == 60.0);
	chain_bandsolo_edges_hz(4, &lo, &hi);
	ASSERT_TRUE("edges 4", lo == 500.0 && hi == 2000.0);
	chain_bandsolo_edges_hz(6, &lo, &hi);
	ASSERT_TRUE("edges 6", lo == 6000.0 && isinf(hi));
	ASSERT_INT("edges 9", CHAIN_ERROR_RANGE, chain_bandsolo_edges_hz(9, &lo, &hi));

	ASSERT_CLOSE("response at an edge: -6.02 dB", -20 * log10(2.0),
		     chain_bandsolo_response_db(RATE, 1, 60.0), 1e-9);
	ASSERT_TRUE("response of off", chain_bandsolo_response_db(RATE, 0, 1000.0) == 0.0);
	ASSERT_TRUE("response at Nyquist", isnan(chain_bandsolo_response_db(RATE, 2, 24000.0)));
	ASSERT_TRUE("band 6 at 11.025 kHz does not exist",
		    isinf(chain_bandsolo_response_db(11025.0, 6, 1000.0)));

	/* the design figures the header states, analytically at 48 kHz */
	{
		double worst_centre = 0;

		for (int k = 1; k <= NB; k++)
			worst_centre = fmin(worst_centre,
					    chain_bandsolo_response_db(RATE, k, centre_hz(k)));
		printf("analytic, 48 kHz: worst log-centre gain %.4f dB (250-500 Hz)\n",
		       worst_centre);
		ASSERT_GE("log-centre loss under 0.07 dB", worst_centre, -0.07);
		for (int x = 0; x < NB - 1; x++) {
			double f40 = edges[x] * pow(2.0, log2(99.0) / 16);

			/* LP of crossover x is the upper edge of band x + 1 */
			ASSERT_CLOSE("-40 dB 0.415 octave beyond an edge (upper)", -40.0,
				     chain_bandsolo_response_db(384000.0, x + 1, f40), 0.15);
		}
	}
}

/* ---- off: bit-exact ---- */

static void test_off_bitexact_mode(int warm)
{
	struct chain_bandsolo *b = bs_open(RATE);
	size_t n = 48000, fade = (size_t)(CHAIN_BANDSOLO_FADE_MS * 1e-3 * RATE);
	float *L = xcalloc(n, sizeof(float)), *R = xcalloc(n, sizeof(float));
	float *L0 = xcalloc(n, sizeof(float)), *R0 = xcalloc(n, sizeof(float));
	char msg[80];

	chain_bandsolo_keep_warm(b, warm);
	music(L, R, n, RATE, 7);
	L[100] = NAN;
	R[101] = INFINITY;
	L[102] = -0.0f;
	R[103] = 1e-41f;
	L[104] = FLT_MAX;
	R[105] = -INFINITY;
	L[30000] = NAN;
	memcpy(L0, L, n * sizeof(float));
	memcpy(R0, R, n * sizeof(float));
	run(b, L, R, n, 333, NULL, 0);
	snprintf(msg, sizeof(msg), "off%s: bit-exact (NaN, inf, -0, subnormal too)",
		 warm ? ", kept warm" : "");
	ASSERT_TRUE(msg, same_bits(L, L0, n) && same_bits(R, R0, n));
	ASSERT_INT("idle unless kept warm", !warm, chain_bandsolo_idle(b));

	/* solo, then off again: bit-exact once the fade is over */
	music(L, R, n, RATE, 8);
	chain_bandsolo_set(b, 2, 0);
	run(b, L, R, n / 2, 256, NULL, 0);
	chain_bandsolo_set(b, 0, 0);
	run(b, L, R, fade + CHAIN_SUBBLOCK, 7, NULL, 0);
	ASSERT_INT("idle after the fade unless kept warm", !warm, chain_bandsolo_idle(b));
	music(L, R, n, RATE, 9);
	memcpy(L0, L, n * sizeof(float));
	memcpy(R0, R, n * sizeof(float));
	run(b, L, R, n, 1000, NULL, 0);
	snprintf(msg, sizeof(msg), "off after a solo%s: bit-exact", warm ? ", kept warm" : "");
	ASSERT_TRUE(msg, same_bits(L, L0, n) && same_bits(R, R0, n));

	/* snapping to off is bit-exact from the next sample */
	chain_bandsolo_set(b, 4, 1);
	run(b, L, R, 4800, 64, NULL, 0);
	chain_bandsolo_set(b, 0, 1);
	ASSERT_INT("snapped off: idle at once unless kept warm", !warm, chain_bandsolo_idle(b));
	music(L, R, n, RATE, 10);
	memcpy(L0, L, n * sizeof(float));
	run(b, L, R, n, 100, NULL, 0);
	ASSERT_TRUE("snapped off: bit-exact", same_bits(L, L0, n));

	free(L);
	free(R);
	free(L0);
	free(R0);
	chain_bandsolo_free(&b);
}

static void test_off_bitexact(void)
{
	test_off_bitexact_mode(1);
	test_off_bitexact_mode(0);
}

/* ---- responses, isolation, flatness ---- */

#define MAX_TONES 200
#define N_SIG (2 + 2 * NB + 2)  /* input, bands, sum; L and R each */

/* Amplitudes of the tone at f in each of ns signals of M frames (f on an
 * exact bin: whole periods), by correlation with a rotating phasor
 * (resynchronised every 1024 frames). */
static void tone_amps(double rate, double f, double *const *sig, int ns, size_t M, double *amp)
{
	double re[N_SIG] = { 0 }, im[N_SIG] = { 0 };
	double w = 2.0 * M_PI * f / rate, cw = cos(w), sw = sin(w), c = 1, s = 0;

	for (size_t i = 0; i < M; i++) {
		double t;

		if ((i & 1023) == 0) {
			c = cos(w * (double)i);
			s = sin(w * (double)i);
		}
		for (int k = 0; k < ns; k++) {
			re[k] += sig[k][i] * c;
			im[k] += sig[k][i] * s;
		}
		t = c * cw - s * sw;
		s = s * cw + c * sw;
		c = t;
	}
	for (int k = 0; k < ns; k++)
		amp[k] = 2.0 * sqrt(re[k] * re[k] + im[k] * im[k]) / (double)M;
}

static int add_tone(double *f, int n, double hz, double bin, double ftop, int dir)
{
	double q = dir < 0 ? floor(hz / bin) : dir > 0 ? ceil(hz / bin) : round(hz / bin);

	hz = q * bin;
	if (hz < 20.0 || hz > ftop || n >= MAX_TONES)
		return n;
	for (int i = 0; i < n; i++)
		if (f[i] == hz)
			return n;
	f[n] = hz;
	return n + 1;
}

struct resp_stats {
	double worst_outside;   /* least attenuation outside, dB (positive) */
	double worst_fit;       /* largest |measured - analytic|, dB */
	double worst_centre;    /* largest |gain at log-centre|, dB */
	double worst_sum;       /* largest |sum of bands|, dB */
	double edge_db[NB - 1][2];  /* bands below and above each edge */
};

static void responses_at(double rate, struct resp_stats *st)
{
	size_t M = ((long)rate % 2 == 0) ? (size_t)(rate / 2) : (size_t)rate;
	size_t P = (size_t)(rate / 2), n = P + M;
	double bin = rate / (double)M;
	double ftop = fmin(20000.0, 0.45 * rate);
	double freq[MAX_TONES], ph[2][MAX_TONES], amp[N_SIG];
	double *sig[N_SIG];
	float *L = xcalloc(n, sizeof(float)), *R = xcalloc(n, sizeof(float));
	float *xl = xcalloc(n, sizeof(float)), *xr = xcalloc(n, sizeof(float));
	double *accl = xcalloc(n, sizeof(double)), *accr = xcalloc(n, sizeof(double));
	int nt = 0, nx = 0;
	uint32_t seed = 12345;
	const double a = 0.01;

	while (nx < NB - 1 && edges[nx] < 0.45 * rate)
		nx++;
	/* tones: a 1/12-octave grid, the edges, the log-centres and the points
	 * half an octave beyond each edge (rounded outwards) */
	for (double f = 20.0; f <= ftop; f *= pow(2.0, 1.0 / 12))
		nt = add_tone(freq, nt, f, bin, ftop, 0);
	for (int x = 0; x < nx; x++) {
		nt = add_tone(freq, nt, edges[x], bin, ftop, 0);
		nt = add_tone(freq, nt, edges[x] / sqrt(2.0), bin, ftop, -1);
		nt = add_tone(freq, nt, edges[x] * sqrt(2.0), bin, ftop, 1);
	}
	for (int k = 1; k <= nx + 1; k++)
		nt = add_tone(freq, nt, centre_hz(k), bin, ftop, 0);
	for (int c = 0; c < 2; c++)
		for (int t = 0; t < nt; t++) {
			seed = seed * 1664525u + 1013904223u;
			ph[c][t] = 2.0 * M_PI * (double)seed / 4294967296.0;
		}
	/* the multi-sine, by rotating phasors in double */
	for (int t = 0; t < nt; t++) {
		double w = 2.0 * M_PI * freq[t] / rate, cw = cos(w), sw = sin(w);

		for (int c = 0; c < 2; c++) {
			double *acc = c ? accr : accl, re = 0, im = 0;

			for (size_t i = 0; i < n; i++) {
				double u;

				if ((i & 1023) == 0) {
					re = cos(w * (double)i + ph[c][t]);
					im = sin(w * (double)i + ph[c][t]);
				}
				acc[i] += a * im;
				u = re * cw - im * sw;
				im = im * cw + re * sw;
				re = u;
			}
		}
	}
	for (size_t i = 0; i < n; i++) {
		xl[i] = (float)accl[i];
		xr[i] = (float)accr[i];
	}
	for (int k = 0; k < N_SIG; k++)
		sig[k] = xcalloc(M, sizeof(double));
	for (size_t i = 0; i < M; i++) {
		sig[0][i] = xl[P + i];
		sig[1][i] = xr[P + i];
	}
	for (int k = 1; k <= NB; k++) {
		struct chain_bandsolo *b = bs_open(rate);

		memcpy(L, xl, n * sizeof(float));
		memcpy(R, xr, n * sizeof(float));
		chain_bandsolo_set(b, k, 1);
		run(b, L, R, n, 1024, NULL, 0);
		for (size_t i = 0; i < M; i++) {
			sig[2 * k][i] = L[P + i];
			sig[2 * k + 1][i] = R[P + i];
			sig[2 * NB + 2][i] += L[P + i];
			sig[2 * NB + 3][i] += R[P + i];
		}
		if (k > nx + 1) {
			int zero = 1;

			for (size_t i = 0; i < n; i++)
				zero &= L[i] == 0.0f && R[i] == 0.0f;
			ASSERT_TRUE("a band above the last crossover is silent", zero);
		}
		chain_bandsolo_free(&b);
	}

	for (int t = 0; t < nt; t++) {
		double f = freq[t];

		tone_amps(rate, f, sig, N_SIG, M, amp);
		for (int c = 0; c < 2; c++) {
			double in = amp[c], sum = lin_to_db(amp[2 * NB + 2 + c] / in);

			st->worst_sum = fmax(st->worst_sum, fabs(sum));
			for (int k = 1; k <= nx + 1; k++) {
				double g = lin_to_db(amp[2 * k + c] / in);
				double ref = chain_bandsolo_response_db(rate, k, f);
				double lo, hi;

				chain_bandsolo_edges_hz(k, &lo, &hi);
				if (k == nx + 1)
					hi = INFINITY;
				if (ref > -60.0)
					st->worst_fit = fmax(st->worst_fit, fabs(g - ref));
				else if (!(g < -55.0))
					st->worst_fit = fmax(st->worst_fit, 99.0);
				if (f <= lo / sqrt(2.0) || f >= hi * sqrt(2.0))
					st->worst_outside = fmin(st->worst_outside, -g);
				if (fabs(f - centre_hz(k)) <= bin && k <= NB)
					st->worst_centre = fmax(st->worst_centre, fabs(g));
				for (int x = 0; x < nx; x++)
					if (f == edges[x] && (k == x + 1 || k == x + 2))
						st->edge_db[x][k - x - 1] = g;
			}
		}
	}

	for (int k = 0; k < N_SIG; k++)
		free(sig[k]);
	free(L);
	free(R);
	free(xl);
	free(xr);
	free(accl);
	free(accr);
}

static void test_responses(void)
{
	static const double rates[] = { 11025, 44100, 48000, 96000, 192000, 384000 };

	for (size_t r = 0; r < sizeof(rates) / sizeof(rates[0]); r++) {
		struct resp_stats st = { .worst_outside = INFINITY };
		double t0 = seconds();

		responses_at(rates[r], &st);
		printf("%6.0f Hz: outside >= %.1f dB down; measured vs analytic within %.2g dB; "
		       "log-centres within %.3f dB; six bands summed flat within %.2g dB "
		       "(%.2f s)\n",
		       rates[r], st.worst_outside, st.worst_fit, st.worst_centre, st.worst_sum,
		       seconds() - t0);
		if (rates[r] == 48000) {
			for (int x = 0; x < NB - 1; x++)
				printf("  edge %5.0f Hz: band %d %.3f dB, band %d %.3f dB\n",
				       edges[x], x + 1, st.edge_db[x][0], x + 2, st.edge_db[x][1]);
			for (int x = 0; x < NB - 1; x++)
				for (int s = 0; s < 2; s++)
					ASSERT_CLOSE("gain at a band edge", -6.02,
						     st.edge_db[x][s], 0.01);
		}
		ASSERT_GE("a tone outside the band is attenuated by at least 40 dB",
			  st.worst_outside, 40.0);
		ASSERT_GE("... and by the design's 48 dB", st.worst_outside, 48.0);
		ASSERT_LE("each band matches its analytic response", st.worst_fit, 0.01);
		ASSERT_LE("gain at each log-centre within 0.1 dB", st.worst_centre, 0.1);
		ASSERT_LE("six bands sum flat within 0.1 dB", st.worst_sum, 0.1);
		ASSERT_LE("... and in fact to float rounding", st.worst_sum, 1e-4);
	}
}

/* ---- switching ---- */

/*
 * The bound.  A sine of amplitude A at f steps by at most 2A·sin(pi f/fs)
 * per sample.  The output is out = w0·x + sum_k w_k·b_k, where the b_k
 * are running (settled) band filters, so each is a sine of amplitude
 * A·|H_k| <= A, and the weights are raised cosines:
 *
 *	|out[n] - out[n-1]| <= sum_j w_j[n]·|s_j[n] - s_j[n-1]|
 *	                       + sum_j |w_j[n] - w_j[n-1]|·|s_j[n-1]|
 *	                    <= E·2A·sin(pi f/fs) + D·A
 *
 * with s_j the dry input and the bands.  E bounds sum_j w_j: 1 (two
 * complementary raised cosines sum to 1; when a fade is turned around
 * mid-way the three moving weights sum to at most 1), plus 1 % for what
 * is left of the filters' onset after settling when waking from idle
 * (CHAIN_BANDSOLO_WAKE_MS).  D bounds the weights' steps: a raised cosine
 * over N samples moves at most sin(pi/(2N)) per sample, and at most four
 * move at once (the dry input and three bands when a fade is turned
 * around): D = 4·sin(pi/(2N)).  At 48 kHz (N = 480): 40 Hz: 0.0185·A;
 * 250 Hz: 0.046·A; 1 kHz: 0.145·A.  A click is a step of the order of A
 * (the control below).  The output's peak stays under E·A.
 */
static void test_switch_mode(int warm)
{
	static const double tones[] = { 40.0, 250.0, 1000.0 };
	/* on, neighbours, a fade turned around, off, back on during the fade
	 * to off, far bands, off, on again (from idle without keep-warm), off */
	static const double at_s[] = { 0.2, 0.4, 0.6, 0.605, 0.8, 0.805, 1.0,
				       1.2, 1.4, 1.6, 1.8, 2.0 };
	static const int bands[] = { 1, 2, 3, 2, 0, 6, 4, 1, 5, 0, 3, 0 };
	const int nev = (int)(sizeof(bands) / sizeof(bands[0]));
	const double A = 0.5, E = 1.01;
	const double N = CHAIN_BANDSOLO_FADE_MS * 1e-3 * RATE;
	size_t n = (size_t)(2.3 * RATE);
	float *L = xcalloc(n, sizeof(float)), *R = xcalloc(n, sizeof(float));

	for (size_t t = 0; t < sizeof(tones) / sizeof(tones[0]); t++) {
		double f = tones[t], period = RATE / f;
		double bound = A * (E * 2.0 * sin(M_PI * f / RATE) + 4.0 * sin(M_PI / (2.0 * N)));
		struct ev ev[sizeof(bands) / sizeof(bands[0])];
		double step = 0, peak = 0, ctl = 0;
		struct chain_bandsolo *b = bs_open(RATE);

		/* switches on the input's peaks */
		for (int e = 0; e < nev; e++) {
			double p = floor(at_s[e] * RATE / period) * period + period / 4;

			ev[e] = (struct ev){ (size_t)lround(p), bands[e], 0 };
		}
		chain_bandsolo_keep_warm(b, warm);
		for (size_t i = 0; i < n; i++)
			L[i] = R[i] = (float)(A * sin(2.0 * M_PI * f * (double)i / RATE));
		run(b, L, R, n, 256, ev, nev);
		for (size_t i = 1; i < n; i++) {
			step = fmax(step, fmax(fabs(L[i] - L[i - 1]), fabs(R[i] - R[i - 1])));
			peak = fmax(peak, fabs(L[i]));
		}
		printf("switching%s, %4.0f Hz tone: largest step %.4f·A (bound %.4f·A), "
		       "peak %.4f·A\n", warm ? "" : " (idle when off)", f, step / A, bound / A,
		       peak / A);
		ASSERT_LE("no step above the bound while switching", step, bound);
		ASSERT_LE("no overshoot while switching", peak, E * A);

		/* the control: the same switches snapped (no fade) must break
		 * the bound, or the test could not see a click */
		chain_bandsolo_free(&b);
		b = bs_open(RATE);
		chain_bandsolo_keep_warm(b, warm);
		for (int e = 0; e < nev; e++)
			ev[e].snap = 1;
		for (size_t i = 0; i < n; i++)
			L[i] = R[i] = (float)(A * sin(2.0 * M_PI * f * (double)i / RATE));
		run(b, L, R, n, 256, ev, nev);
		for (size_t i = 1; i < n; i++)
			ctl = fmax(ctl, fabs(L[i] - L[i - 1]));
		printf("  control, the same switches snapped: largest step %.3f·A\n", ctl / A);
		ASSERT_GE("control: snapped switches click", ctl, 2.0 * bound);
		chain_bandsolo_free(&b);
	}
	free(L);
	free(R);
}

/* Waking from idle: the output stays the input until
 * CHAIN_BANDSOLO_WAKE_MS, the band fades in over CHAIN_BANDSOLO_FADE_MS,
 * and from then on it is what a band kept running all along plays, but
 * for what is left of the filters' onset (relative to the band's peak, on
 * music).  Next to 60 Hz that is still -28 dB: the LR16 there rings for
 * 150 ms (-60 dB), so the bound is looser for band 1. */
static void test_wake(void)
{
	static const int bands[] = { 1, 3, 6 };
	static const double max_db[] = { -20.0, -60.0, -60.0 };
	size_t n = 24000;
	size_t wake = (size_t)lround(CHAIN_BANDSOLO_WAKE_MS * 1e-3 * RATE);
	size_t fade = (size_t)lround(CHAIN_BANDSOLO_FADE_MS * 1e-3 * RATE);
	float *L = xcalloc(n, sizeof(float)), *R = xcalloc(n, sizeof(float));
	float *L2 = xcalloc(n, sizeof(float)), *R2 = xcalloc(n, sizeof(float));
	float *L0 = xcalloc(n, sizeof(float));

	for (size_t k = 0; k < sizeof(bands) / sizeof(bands[0]); k++) {
		struct chain_bandsolo *b = bs_open(RATE), *f = bs_open(RATE);
		size_t first = n;
		double diff = 0, peak = 0;

		chain_bandsolo_keep_warm(b, 0);
		music(L, R, n, RATE, 41);
		run(b, L, R, 1000, 100, NULL, 0);
		ASSERT_TRUE("idle", chain_bandsolo_idle(b));
		/* the reference runs band k on the same music from its start */
		music(L, R, n, RATE, 42);
		memcpy(L0, L, n * sizeof(float));
		memcpy(L2, L, n * sizeof(float));
		memcpy(R2, R, n * sizeof(float));
		chain_bandsolo_set(f, bands[k], 1);
		run(f, L2, R2, n, 100, NULL, 0);
		/* b wakes 100 ms into it */
		run(b, L, R, 4800, 100, NULL, 0);
		chain_bandsolo_set(b, bands[k], 0);
		run(b, L + 4800, R + 4800, n - 4800, 100, NULL, 0);
		for (size_t i = 4800; i < n; i++) {
			if (first == n && L[i] != L0[i])
				first = i - 4800;
			if (i >= 4800 + wake + fade) {
				diff = fmax(diff, fmax(fabs(L[i] - L2[i]), fabs(R[i] - R2[i])));
				peak = fmax(peak, fabs(L2[i]));
			}
		}
		printf("band %d from idle: dry for %.1f ms; after the fade, within %.1f dB of "
		       "the band kept running\n", bands[k], 1e3 * (double)first / RATE,
		       lin_to_db(diff / peak));
		ASSERT_INT("from idle: dry until the wake time", (long long)wake,
			   (long long)first);
		ASSERT_LE("from idle: the band after the fade", lin_to_db(diff / peak), max_db[k]);
		chain_bandsolo_free(&b);
		chain_bandsolo_free(&f);
	}
	free(L);
	free(R);
	free(L2);
	free(R2);
	free(L0);
}

static void test_switch(void)
{
	test_switch_mode(1);
	test_switch_mode(0);
	test_wake();
}

/* ---- block sizes ---- */

static void test_blocks(void)
{
	static const size_t sizes[] = { 1, 7, 32, 333, 1024 };
	const struct ev ev[] = {
		{ 1000, 3, 0 },  { 20000, 4, 0 }, { 20100, 5, 0 }, { 30000, 0, 0 },
		{ 30200, 2, 0 }, { 50000, 0, 0 }, { 90000, 6, 0 }, { 100001, 1, 1 },
	};
	size_t n = 120000;
	float *ml = xcalloc(n, sizeof(float)), *mr = xcalloc(n, sizeof(float));
	float *rl = xcalloc(n, sizeof(float)), *rr = xcalloc(n, sizeof(float));
	float *L = xcalloc(n, sizeof(float)), *R = xcalloc(n, sizeof(float));

	music(ml, mr, n, RATE, 3);
	for (size_t s = 0; s < 2 * sizeof(sizes) / sizeof(sizes[0]); s++) {
		struct chain_bandsolo *b = bs_open(RATE);
		double diff = 0;
		size_t ndiff = 0;
		int warm = s < sizeof(sizes) / sizeof(sizes[0]);
		size_t bs = sizes[s % (sizeof(sizes) / sizeof(sizes[0]))];

		chain_bandsolo_keep_warm(b, warm);
		memcpy(L, ml, n * sizeof(float));
		memcpy(R, mr, n * sizeof(float));
		run(b, L, R, n, bs, ev, (int)(sizeof(ev) / sizeof(ev[0])));
		if (bs == 1) {
			memcpy(rl, L, n * sizeof(float));
			memcpy(rr, R, n * sizeof(float));
		}
		for (size_t i = 0; i < n; i++) {
			double d = fmax(fabs(L[i] - rl[i]), fabs(R[i] - rr[i]));

			diff = fmax(diff, d);
			ndiff += d != 0;
		}
		printf("block size %4zu%s: %zu samples differ from size 1, by at most %.3g\n",
		       bs, warm ? "" : " (idle when off)", ndiff, diff);
		ASSERT_LE("block-size invariance", diff, 1e-6);
		chain_bandsolo_free(&b);
	}
	free(ml);
	free(mr);
	free(rl);
	free(rr);
	free(L);
	free(R);
}

/* ---- reset ---- */

static void test_reset(void)
{
	struct chain_bandsolo *b = bs_open(RATE), *f = bs_open(RATE);
	size_t n = 24000;
	float *L = xcalloc(n, sizeof(float)), *R = xcalloc(n, sizeof(float));
	float *L2 = xcalloc(n, sizeof(float)), *R2 = xcalloc(n, sizeof(float));
	int zeros = 1;

	chain_bandsolo_set(b, 3, 1);
	for (size_t i = 0; i < n; i++)
		L[i] = R[i] = 1.0f;
	run(b, L, R, n, 500, NULL, 0);
	chain_bandsolo_reset(b);
	memset(L, 0, n * sizeof(float));
	memset(R, 0, n * sizeof(float));
	run(b, L, R, n, 500, NULL, 0);
	for (size_t i = 0; i < n; i++)
		zeros &= L[i] == 0.0f && R[i] == 0.0f;
	ASSERT_TRUE("ones, reset, zeros: exact zeros", zeros);

	/* reset mid-fade lands on the band: then as a new processor */
	chain_bandsolo_set(b, 5, 0);
	music(L, R, n, RATE, 5);
	run(b, L, R, 100, 100, NULL, 0);
	chain_bandsolo_reset(b);
	chain_bandsolo_set(f, 5, 1);
	music(L, R, n, RATE, 6);
	memcpy(L2, L, n * sizeof(float));
	memcpy(R2, R, n * sizeof(float));
	run(b, L, R, n, 256, NULL, 0);
	run(f, L2, R2, n, 256, NULL, 0);
	ASSERT_TRUE("after reset: as a new processor, bit for bit",
		    memcmp(L, L2, n * sizeof(float)) == 0 && memcmp(R, R2, n * sizeof(float)) == 0);
	ASSERT_INT("reset keeps the band", 5, chain_bandsolo_band(b));

	/* reset while off: idle without keep-warm */
	chain_bandsolo_set(b, 0, 0);
	chain_bandsolo_reset(b);
	ASSERT_TRUE("reset while off, kept warm: not idle", !chain_bandsolo_idle(b));
	chain_bandsolo_keep_warm(b, 0);
	chain_bandsolo_reset(b);
	ASSERT_TRUE("reset while off: idle", chain_bandsolo_idle(b));
	free(L);
	free(R);
	free(L2);
	free(R2);
	chain_bandsolo_free(&b);
	chain_bandsolo_free(&f);
}

/* ---- hostile input ---- */

static void test_hostile(void)
{
	static const float bad[] = { NAN, INFINITY, -INFINITY, FLT_MAX, -FLT_MAX, 1e30f,
				     -1e30f, 1e-45f, -1e-38f, 3e6f };
	struct chain_bandsolo *b = bs_open(RATE), *f = bs_open(RATE);
	size_t n = 48000;
	float *L = xcalloc(n, sizeof(float)), *R = xcalloc(n, sizeof(float));
	float *L2 = xcalloc(n, sizeof(float)), *R2 = xcalloc(n, sizeof(float));
	int finite = 1, zeros = 1;
	double diff = 0, peak = 0;

	chain_bandsolo_set(b, 2, 1);
	music(L, R, n, RATE, 11);
	for (size_t i = 0; i < n; i += 37) {
		L[i] = bad[(i / 37) % 10];
		R[i] = bad[(i / 37 + 3) % 10];
	}
	/* and a switch in the middle of it */
	{
		const struct ev ev[] = { { 20000, 5, 0 }, { 30000, 1, 0 } };

		run(b, L, R, n, 256, ev, 2);
	}
	for (size_t i = 0; i < n; i++) {
		finite &= isfinite(L[i]) && isfinite(R[i]);
		peak = fmax(peak, fmax(fabs(L[i]), fabs(R[i])));
	}
	printf("hostile input: output finite, peak %.3g (clamp %.0g)\n", peak,
	       CHAIN_BANDSOLO_CLAMP);
	ASSERT_TRUE("hostile input: finite output", finite);
	ASSERT_LE("hostile input: bounded by a few times the clamp", peak,
		  4 * CHAIN_BANDSOLO_CLAMP);
	/* two seconds of silence: back to exact zeros */
	for (int s = 0; s < 2; s++) {
		memset(L, 0, n * sizeof(float));
		memset(R, 0, n * sizeof(float));
		run(b, L, R, n, 256, NULL, 0);
	}
	for (size_t i = n / 2; i < n; i++)
		zeros &= L[i] == 0.0f && R[i] == 0.0f;
	ASSERT_TRUE("after hostile input and silence: exact zeros", zeros);
	/* and then as a new processor */
	chain_bandsolo_set(f, 1, 1);
	music(L, R, n, RATE, 12);
	memcpy(L2, L, n * sizeof(float));
	memcpy(R2, R, n * sizeof(float));
	run(b, L, R, n, 256, NULL, 0);
	run(f, L2, R2, n, 256, NULL, 0);
	for (size_t i = 0; i < n; i++)
		diff = fmax(diff, fmax(fabs(L[i] - L2[i]), fabs(R[i] - R2[i])));
	ASSERT_LE("after hostile input: as a new processor", diff, 1e-6);
	free(L);
	free(R);
	free(L2);
	free(R2);
	chain_bandsolo_free(&b);
	chain_bandsolo_free(&f);
}

/* ---- denormals and speed ---- */

static void test_denormals(void)
{
	struct chain_bandsolo *b = bs_open(RATE);
	size_t n = 48000;
	float *L = xcalloc(n, sizeof(float)), *R = xcalloc(n, sizeof(float));
	double t_tone = 1e9, t_sil = 1e9;
	int clean = 1;

	chain_bandsolo_set(b, 1, 1);  /* the slowest decay: 60 Hz */
	for (int rep = 0; rep < 3; rep++) {
		double t0;

		for (size_t i = 0; i < n; i++)
			L[i] = R[i] = (float)(0.5 * sin(2 * M_PI * 45 * (double)i / RATE) +
					      0.3 * sin(2 * M_PI * 1000 * (double)i / RATE));
		t0 = seconds();
		run(b, L, R, n, 256, NULL, 0);
		t_tone = fmin(t_tone, seconds() - t0);
		for (int s = 0; s < 3; s++) {
			double t1;

			memset(L, 0, n * sizeof(float));
			memset(R, 0, n * sizeof(float));
			t0 = seconds();
			run(b, L, R, n, 256, NULL, 0);
			t1 = seconds();
			if (s > 0)
				t_sil = fmin(t_sil, t1 - t0);
			for (size_t i = 0; i < n; i++) {
				if (fpclassify(L[i]) == FP_SUBNORMAL ||
				    fpclassify(R[i]) == FP_SUBNORMAL)
					clean = 0;
				if (s > 0 && (L[i] != 0.0f || R[i] != 0.0f))
					clean = 0;
			}
		}
	}
	ASSERT_TRUE("silence after a tone: exact zeros after 1 s, never subnormal", clean);
	printf("per second of audio at 48 kHz: tone %.2f ms, silence %.2f ms\n", t_tone * 1e3,
	       t_sil * 1e3);
	ASSERT_LE("silence vs tone cost ratio", t_sil / t_tone, 3.0);
	free(L);
	free(R);
	chain_bandsolo_free(&b);
}

static void test_speed(void)
{
	size_t n = 96000;
	float *L = xcalloc(n, sizeof(float)), *R = xcalloc(n, sizeof(float));
	float *ml = xcalloc(n, sizeof(float)), *mr = xcalloc(n, sizeof(float));
	double best[4] = { 1e9, 1e9, 1e9, 1e9 };
	struct ev sw[64];

	music(ml, mr, n, RATE, 21);
	for (int e = 0; e < 64; e++)
		sw[e] = (struct ev){ (size_t)e * 1500, 1 + e % NB, 0 };
	for (int rep = 0; rep < 3; rep++)
		for (int mode = 0; mode < 4; mode++) {
			struct chain_bandsolo *b = bs_open(RATE);
			double t0;

			if (mode == 3)
				chain_bandsolo_keep_warm(b, 0);
			if (mode == 1)
				chain_bandsolo_set(b, 3, 1);
			memcpy(L, ml, n * sizeof(float));
			memcpy(R, mr, n * sizeof(float));
			t0 = seconds();
			run(b, L, R, n, 256, mode == 2 ? sw : NULL, mode == 2 ? 64 : 0);
			best[mode] = fmin(best[mode], seconds() - t0);
			chain_bandsolo_free(&b);
		}
	printf("speed, 48 kHz stereo, blocks of 256, ns per frame: off and kept warm %.1f, "
	       "off and idle %.2f, soloing %.1f, switching every 31 ms %.1f\n",
	       best[0] * 1e9 / (double)n, best[3] * 1e9 / (double)n, best[1] * 1e9 / (double)n,
	       best[2] * 1e9 / (double)n);
	free(L);
	free(R);
	free(ml);
	free(mr);
}

/* ---- the offline render ---- */

static void test_render(void)
{
	size_t n = 30000;
	float *in = xcalloc(2 * n, sizeof(float)), *out = xcalloc(2 * n, sizeof(float));
	float *L = xcalloc(n, sizeof(float)), *R = xcalloc(n, sizeof(float));
	struct chain_bandsolo *b = bs_open(44100.0);
	int same = 1;

	gen_music(in, n, 2, 44100.0, 0.8, 31);
	for (size_t i = 0; i < n; i++) {
		L[i] = in[2 * i];
		R[i] = in[2 * i + 1];
	}
	chain_bandsolo_set(b, 4, 1);
	run(b, L, R, n, 100, NULL, 0);
	ASSERT_INT("render", 0, chain_bandsolo_render(in, out, (int64_t)n, 44100.0, 4));
	for (size_t i = 0; i < n; i++)
		same &= out[2 * i] == L[i] && out[2 * i + 1] == R[i];
	ASSERT_TRUE("render equals the processor, bit for bit", same);
	ASSERT_INT("render in place", 0, chain_bandsolo_render(in, in, (int64_t)n, 44100.0, 4));
	ASSERT_TRUE("render in place", memcmp(in, out, 2 * n * sizeof(float)) == 0);
	ASSERT_INT("render off", 0, chain_bandsolo_render(in, out, (int64_t)n, 44100.0, 0));
	ASSERT_TRUE("render off copies", memcmp(in, out, 2 * n * sizeof(float)) == 0);
	ASSERT_INT("render: bad band", CHAIN_ERROR_RANGE,
		   chain_bandsolo_render(in, out, (int64_t)n, 44100.0, 7));
	ASSERT_INT("render: bad length", CHAIN_ERROR_VALUE,
		   chain_bandsolo_render(in, out, -1, 44100.0, 1));
	ASSERT_INT("render: bad rate", CHAIN_ERROR_RATE,
		   chain_bandsolo_render(in, out, (int64_t)n, 100.0, 1));
	ASSERT_INT("render: nothing", 0, chain_bandsolo_render(in, out, 0, 44100.0, 1));
	free(in);
	free(out);
	free(L);
	free(R);
	chain_bandsolo_free(&b);
}

int main(void)
{
	test_api();
	test_off_bitexact();
	test_responses();
	test_switch();
	test_blocks();
	test_reset();
	test_hostile();
	test_denormals();
	test_render();
	test_speed();
	return test_done();
}

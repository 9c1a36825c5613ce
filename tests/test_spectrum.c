/*
 * termaster — tests for refs/spectrum.c: 1/3-octave bands of signals whose
 * spectrum is known.
 *
 * Expected levels (see refs/spectrum.h: 0 dB = a full-scale sine):
 *  - a sine of peak A on both channels inside a band: 20·log10(A) in mid;
 *  - noise of one-sided power density S(f) (power per Hz): 10·log10(P/0.5)
 *    with P = ∫ S(f) df over the band.  White noise of variance s² has
 *    S = 2 s² / rate; the pink noise made here (white noise shaped in the
 *    frequency domain by sqrt(f_ref / f)) has S = 2 s² / rate · f_ref / f,
 *    so every band holds P = 2 s² / rate · f_ref · ln(2^(1/3)).
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <fftw3.h>

#include "refs/loudness.h"
#include "refs/spectrum.h"
#include "tests/util.h"

#define RATE 48000.0

static float *alloc_frames(size_t frames)
{
	float *x = calloc(frames * 2, sizeof(float));

	if (!x) {
		fprintf(stderr, "out of memory\n");
		exit(99);
	}
	return x;
}

static int band_of(double hz)
{
	for (int b = 0; b < REFS_SPECTRUM_BANDS; b++)
		if (hz >= refs_spectrum_lower_hz(b) && hz < refs_spectrum_upper_hz(b))
			return b;
	return -1;
}

static void test_tables(void)
{
	ASSERT_INT("bands", 31, REFS_SPECTRUM_BANDS);
	ASSERT_CLOSE("1 kHz band centre", 1000.0, refs_spectrum_centre_hz(17), 1e-9);
	ASSERT_TRUE("1 kHz label", strcmp(refs_spectrum_label(17), "1k") == 0);
	ASSERT_TRUE("20 Hz label", strcmp(refs_spectrum_label(0), "20") == 0);
	ASSERT_TRUE("20 kHz label", strcmp(refs_spectrum_label(30), "20k") == 0);
	ASSERT_CLOSE("first centre", 1000.0 * pow(2.0, -17.0 / 3.0), refs_spectrum_centre_hz(0),
	             1e-9);
	for (int b = 0; b + 1 < REFS_SPECTRUM_BANDS; b++)
		ASSERT_CLOSE("bands tile", refs_spectrum_upper_hz(b), refs_spectrum_lower_hz(b + 1),
		             1e-9);
	/* every nominal label is within 2 % of the exact centre */
	for (int b = 0; b < REFS_SPECTRUM_BANDS; b++) {
		const char *s = refs_spectrum_label(b);
		double v = atof(s) * (strchr(s, 'k') ? 1000.0 : 1.0);
		ASSERT_LE("label near centre", fabs(v / refs_spectrum_centre_hz(b) - 1.0), 0.02);
	}
}

/* a sine of peak amp on both channels at each band centre */
static void test_tones(double rate)
{
	static const int bands[] = {0, 2, 7, 12, 17, 23, 27, 29, 30};
	size_t frames = (size_t)(8 * rate);
	float *x = alloc_frames(frames);
	const double amp = 0.5, want = 20.0 * log10(amp);
	double worst = 0, worst_adj = -HUGE_VAL;

	for (size_t i = 0; i < sizeof(bands) / sizeof(bands[0]); i++) {
		struct refs_spectrum sp;
		int b = bands[i];
		double f = refs_spectrum_centre_hz(b);

		gen_sine(x, frames, 2, rate, f, amp, 0.3);
		ASSERT_INT("tone measure", 0,
		           refs_spectrum_measure(x, (int64_t)frames, rate, NULL, &sp, NULL, NULL));
		ASSERT_CLOSE("tone in its band (mid)", want, sp.mid_db[b], 0.5);
		if (fabs(sp.mid_db[b] - want) > worst)
			worst = fabs(sp.mid_db[b] - want);
		ASSERT_LE("L = R: nothing in side", sp.side_db[b], REFS_SPECTRUM_FLOOR_DB);
		for (int d = 2; d <= 3; d++) {
			if (b - d >= 0)
				ASSERT_LE("two bands below", sp.mid_db[b - d], want - 20.0);
			if (b + d < REFS_SPECTRUM_BANDS && !isnan(sp.mid_db[b + d]))
				ASSERT_LE("two bands above", sp.mid_db[b + d], want - 20.0);
		}
		if (b + 2 < REFS_SPECTRUM_BANDS && !isnan(sp.mid_db[b + 2]))
			worst_adj = fmax(worst_adj, sp.mid_db[b + 2] - want);
		if (b >= 2)
			worst_adj = fmax(worst_adj, sp.mid_db[b - 2] - want);
	}
	printf("tones at %.0f Hz: worst in-band error %.4f dB, highest level two bands away %.1f "
	       "dB re the tone\n",
	       rate, worst, worst_adj);
	free(x);
}

/* A tone between band centres (at an edge's geometric middle), and one on
 * L alone: mid and side each hold half the amplitude. */
static void test_tone_placement(void)
{
	size_t frames = (size_t)(6 * RATE);
	float *x = alloc_frames(frames);
	struct refs_spectrum sp;
	double f = 1000.0 * pow(2.0, 1.0 / 12.0); /* half way to the upper edge */
	int b = band_of(f);

	gen_sine(x, frames, 2, RATE, f, 0.25, 0.0);
	ASSERT_INT("measure", 0,
	           refs_spectrum_measure(x, (int64_t)frames, RATE, NULL, &sp, NULL, NULL));
	ASSERT_INT("band of 1059 Hz", 17, b);
	ASSERT_CLOSE("off-centre tone", 20.0 * log10(0.25), sp.mid_db[b], 0.5);
	for (size_t i = 0; i < frames; i++)
		x[2 * i + 1] = 0.0f;
	ASSERT_INT("measure", 0,
	           refs_spectrum_measure(x, (int64_t)frames, RATE, NULL, &sp, NULL, NULL));
	ASSERT_CLOSE("L alone: mid", 20.0 * log10(0.125), sp.mid_db[b], 0.5);
	ASSERT_CLOSE("L alone: side", 20.0 * log10(0.125), sp.side_db[b], 0.5);
	free(x);
}

/* A tone exactly on the edge between two bands: the fractional edge bins
 * split its power between them (about half each), and none is counted
 * twice or lost: the two bands' powers add up to the tone's. */
static void test_tone_on_edge(void)
{
	static const int edges[] = {3, 10, 17, 24, 28}; /* lower edges of these bands */
	size_t frames = (size_t)(6 * RATE);
	float *x = alloc_frames(frames);
	const double amp = 0.5, want = 20.0 * log10(amp);
	double worst_sum = 0, worst_half = 0;

	for (size_t i = 0; i < sizeof(edges) / sizeof(edges[0]); i++) {
		struct refs_spectrum sp;
		int b = edges[i];
		double sum;

		gen_sine(x, frames, 2, RATE, refs_spectrum_lower_hz(b), amp, 1.0);
		ASSERT_INT("measure", 0,
		           refs_spectrum_measure(x, (int64_t)frames, RATE, NULL, &sp, NULL, NULL));
		sum = 10.0 *
		      log10(pow(10.0, sp.mid_db[b - 1] / 10.0) + pow(10.0, sp.mid_db[b] / 10.0));
		ASSERT_CLOSE("edge tone: the two bands add up to the tone", want, sum, 0.05);
		ASSERT_CLOSE("edge tone: about half in the lower band", want - 3.01,
		             sp.mid_db[b - 1], 1.0);
		ASSERT_CLOSE("edge tone: about half in the upper band", want - 3.01, sp.mid_db[b],
		             1.0);
		worst_sum = fmax(worst_sum, fabs(sum - want));
		worst_half = fmax(worst_half, fabs(sp.mid_db[b] - (want - 3.01)));
	}
	printf(
	    "tones on band edges: power conserved within %.4f dB, split within %.2f dB of half\n",
	    worst_sum, worst_half);
	free(x);
}

/* White noise shaped by sqrt(f_ref / f) above 10 Hz (zero below), in one
 * FFT over the whole (periodic) buffer: one-sided density
 * 2 s² / rate · f_ref / f exactly, s² the white noise's variance. */
static void gen_pink(float *lr, size_t frames, double rate, double white_amp, double f_ref,
                     uint32_t seed)
{
	float *buf = fftwf_malloc(frames * sizeof(float));
	fftwf_complex *spec = fftwf_malloc((frames / 2 + 1) * sizeof(fftwf_complex));
	fftwf_plan fwd, inv;

	if (!buf || !spec) {
		fprintf(stderr, "out of memory\n");
		exit(99);
	}
	fwd = fftwf_plan_dft_r2c_1d((int)frames, buf, spec, FFTW_ESTIMATE);
	inv = fftwf_plan_dft_c2r_1d((int)frames, spec, buf, FFTW_ESTIMATE);
	gen_noise(buf, frames, 1, white_amp, seed);
	fftwf_execute(fwd);
	for (size_t k = 0; k <= frames / 2; k++) {
		double f = (double)k * rate / (double)frames;
		double g = f >= 10.0 ? sqrt(f_ref / f) / (double)frames : 0.0;
		spec[k][0] = (float)(spec[k][0] * g);
		spec[k][1] = (float)(spec[k][1] * g);
	}
	fftwf_execute(inv);
	for (size_t i = 0; i < frames; i++)
		lr[2 * i] = lr[2 * i + 1] = buf[i];
	fftwf_destroy_plan(fwd);
	fftwf_destroy_plan(inv);
	fftwf_free(spec);
	fftwf_free(buf);
}

static void test_pink(void)
{
	size_t frames = (size_t)1 << 23; /* 175 s: 255 Welch windows */
	float *x = alloc_frames(frames);
	const double amp = 0.5, var = amp * amp / 3.0, f_ref = 1000.0;
	double want = 10.0 * log10(2.0 * var / RATE * f_ref * log(2.0) / 3.0 / 0.5);
	double worst = 0;
	struct refs_spectrum sp;

	gen_pink(x, frames, RATE, amp, f_ref, 4242);
	ASSERT_INT("pink measure", 0,
	           refs_spectrum_measure(x, (int64_t)frames, RATE, NULL, &sp, NULL, NULL));
	for (int b = 3; b <= 29; b++) { /* 40 Hz … 16 kHz */
		ASSERT_CLOSE("pink: equal power per band", want, sp.mid_db[b], 0.5);
		worst = fmax(worst, fabs(sp.mid_db[b] - want));
	}
	printf("pink noise: expected %.3f dB per band, worst deviation 40 Hz..16 kHz %.3f dB (%u "
	       "windows of %u)\n",
	       want, worst, sp.windows, sp.fft_size);
	free(x);
}

static void test_white(void)
{
	size_t frames = (size_t)(120 * RATE);
	float *x = alloc_frames(frames);
	const double amp = 0.5, var = amp * amp / 3.0;
	const double step = 10.0 * log10(pow(2.0, 1.0 / 3.0));
	double worst = 0, worst_step = 0, sx = 0, sy = 0, sxx = 0, sxy = 0, slope;
	int nfit = 0;
	struct refs_spectrum sp;

	gen_noise(x, frames, 1, amp, 777);
	for (size_t i = frames; i-- > 0;)
		x[2 * i] = x[2 * i + 1] = x[i];
	ASSERT_INT("white measure", 0,
	           refs_spectrum_measure(x, (int64_t)frames, RATE, NULL, &sp, NULL, NULL));
	for (int b = 7; b < REFS_SPECTRUM_BANDS; b++) { /* 100 Hz … 20 kHz */
		double bw = refs_spectrum_upper_hz(b) - refs_spectrum_lower_hz(b);
		double want = 10.0 * log10(var * bw / (RATE / 2.0) / 0.5);

		ASSERT_CLOSE("white: band level", want, sp.mid_db[b], 0.5);
		worst = fmax(worst, fabs(sp.mid_db[b] - want));
		if (b > 14) { /* 500 Hz on: increments of well-averaged bands */
			double d = sp.mid_db[b] - sp.mid_db[b - 1];
			ASSERT_CLOSE("white: +1 dB a band", step, d, 0.2);
			worst_step = fmax(worst_step, fabs(d - step));
		}
		sx += b;
		sy += sp.mid_db[b];
		sxx += (double)b * b;
		sxy += b * sp.mid_db[b];
		nfit++;
	}
	slope = (nfit * sxy - sx * sy) / (nfit * sxx - sx * sx);
	ASSERT_CLOSE("white: fitted slope per band", step, slope, 0.02);
	printf("white noise: worst band error 100 Hz..20 kHz %.3f dB, worst step error %.3f dB, "
	       "fitted slope %.4f dB/band (ideal %.4f)\n",
	       worst, worst_step, slope, step);
	free(x);
}

static void test_mid_side(void)
{
	size_t frames = (size_t)(20 * RATE);
	float *x = alloc_frames(frames);
	struct refs_spectrum sp;
	double worst = HUGE_VAL;

	/* pure side: L = s, R = -s */
	gen_music(x, frames, 2, RATE, 0.8, 99);
	for (size_t i = 0; i < frames; i++)
		x[2 * i + 1] = -x[2 * i];
	ASSERT_INT("side measure", 0,
	           refs_spectrum_measure(x, (int64_t)frames, RATE, NULL, &sp, NULL, NULL));
	for (int b = 0; b < REFS_SPECTRUM_BANDS; b++) {
		ASSERT_LE("pure side: mid 60 dB below side", sp.mid_db[b], sp.side_db[b] - 60.0);
		worst = fmin(worst, sp.side_db[b] - sp.mid_db[b]);
	}
	printf("pure side: mid at least %.1f dB below side in every band\n", worst);
	/* pure mid: L = R */
	for (size_t i = 0; i < frames; i++)
		x[2 * i + 1] = x[2 * i];
	ASSERT_INT("mid measure", 0,
	           refs_spectrum_measure(x, (int64_t)frames, RATE, NULL, &sp, NULL, NULL));
	for (int b = 0; b < REFS_SPECTRUM_BANDS; b++)
		ASSERT_LE("pure mid: side 60 dB below mid", sp.side_db[b], sp.mid_db[b] - 60.0);
	free(x);
}

static void test_normalise(void)
{
	size_t frames = (size_t)(20 * RATE);
	float *x = alloc_frames(frames);
	struct refs_spectrum raw, norm, quiet, d;
	struct refs_spectrum_opts o;
	struct refs_loudness loud;

	gen_music(x, frames, 2, RATE, 0.9, 5);
	ASSERT_INT("loudness", 0,
	           refs_loudness_measure(x, (int64_t)frames, 2, RATE, &loud, NULL, NULL));
	ASSERT_INT("raw", 0,
	           refs_spectrum_measure(x, (int64_t)frames, RATE, NULL, &raw, NULL, NULL));
	refs_spectrum_opts_default(&o);
	o.normalise = 1;
	ASSERT_INT("normalised", 0,
	           refs_spectrum_measure(x, (int64_t)frames, RATE, &o, &norm, NULL, NULL));
	ASSERT_TRUE("flagged normalised", norm.normalised == 1 && raw.normalised == 0);
	ASSERT_CLOSE("loudness measured", loud.integrated_lufs, norm.lufs, 1e-12);
	ASSERT_CLOSE("offset is -L", -loud.integrated_lufs, norm.offset_db, 1e-12);
	for (int b = 0; b < REFS_SPECTRUM_BANDS; b++) {
		ASSERT_CLOSE("shift = -L (mid)", -loud.integrated_lufs,
		             norm.mid_db[b] - raw.mid_db[b], 1e-9);
		ASSERT_CLOSE("shift = -L (side)", -loud.integrated_lufs,
		             norm.side_db[b] - raw.side_db[b], 1e-9);
	}
	printf("normalisation: L = %.3f LUFS, every band shifted by %+.3f dB\n",
	       loud.integrated_lufs, norm.mid_db[17] - raw.mid_db[17]);

	/* a known loudness is used as given */
	o.lufs = -20.0;
	ASSERT_INT("given loudness", 0,
	           refs_spectrum_measure(x, (int64_t)frames, RATE, &o, &d, NULL, NULL));
	ASSERT_CLOSE("given loudness used", 20.0, d.mid_db[17] - raw.mid_db[17], 1e-9);

	/* the same music 6 dB down: raw spectra differ by 6.02 dB, normalised
	 * ones not at all */
	for (size_t i = 0; i < frames * 2; i++)
		x[i] *= 0.5f;
	o.lufs = NAN;
	ASSERT_INT("quiet", 0,
	           refs_spectrum_measure(x, (int64_t)frames, RATE, &o, &quiet, NULL, NULL));
	refs_spectrum_diff(&norm, &quiet, &d);
	for (int b = 0; b < REFS_SPECTRUM_BANDS; b++)
		ASSERT_CLOSE("normalised copies: no difference", 0.0, d.mid_db[b], 0.01);
	ASSERT_INT("quiet raw", 0,
	           refs_spectrum_measure(x, (int64_t)frames, RATE, NULL, &quiet, NULL, NULL));
	refs_spectrum_diff(&raw, &quiet, &d);
	for (int b = 0; b < REFS_SPECTRUM_BANDS; b++) {
		ASSERT_CLOSE("raw difference 6.02 dB (mid)", 20.0 * log10(2.0), d.mid_db[b], 1e-3);
		ASSERT_CLOSE("raw difference 6.02 dB (side)", 20.0 * log10(2.0), d.side_db[b],
		             1e-3);
	}

	/* silence: nothing to normalise by, floor everywhere, diff NAN */
	memset(x, 0, frames * 2 * sizeof(float));
	ASSERT_INT("silence", 0,
	           refs_spectrum_measure(x, (int64_t)frames, RATE, &o, &quiet, NULL, NULL));
	ASSERT_TRUE("silence not normalised", quiet.normalised == 0 && quiet.offset_db == 0.0);
	ASSERT_TRUE("silence at the floor", quiet.mid_db[10] == REFS_SPECTRUM_FLOOR_DB);
	refs_spectrum_diff(&norm, &quiet, &d);
	ASSERT_TRUE("diff with silence is NAN", isnan(d.mid_db[10]));
	free(x);
}

static int cancel_at_half(void *user, double fraction)
{
	int *calls = user;

	(*calls)++;
	return fraction >= 0.5;
}

static void test_edges(void)
{
	size_t frames = (size_t)(0.5 * RATE);
	float *x = alloc_frames(frames);
	struct refs_spectrum sp;
	int calls = 0;

	/* shorter than one FFT: one window as long as the region */
	gen_sine(x, frames, 2, RATE, 1000.0, 0.5, 0.0);
	ASSERT_INT("short", 0,
	           refs_spectrum_measure(x, (int64_t)frames, RATE, NULL, &sp, NULL, NULL));
	ASSERT_INT("one window", 1, sp.windows);
	ASSERT_CLOSE("short region tone", 20.0 * log10(0.5), sp.mid_db[17], 0.5);
	ASSERT_INT("no frames", REFS_SPECTRUM_ERROR_INVALID,
	           refs_spectrum_measure(x, 0, RATE, NULL, &sp, NULL, NULL));
	/* at 32 kHz the 20 kHz band lies above Nyquist */
	ASSERT_INT("32 kHz", 0,
	           refs_spectrum_measure(x, (int64_t)frames, 32000.0, NULL, &sp, NULL, NULL));
	ASSERT_TRUE("20 kHz band above Nyquist is NAN",
	            isnan(sp.mid_db[30]) && isnan(sp.side_db[30]));
	ASSERT_TRUE("16 kHz band straddles Nyquist", !isnan(sp.mid_db[29]));
	free(x);

	/* cancellation through progress (a long buffer so progress is asked) */
	frames = (size_t)(60 * RATE);
	x = alloc_frames(frames);
	gen_noise(x, frames, 2, 0.1, 3);
	{
		struct refs_spectrum_opts o;

		refs_spectrum_opts_default(&o);
		o.normalise = 1;
		ASSERT_INT("cancelled", REFS_SPECTRUM_ERROR_CANCELLED,
		           refs_spectrum_measure(x, (int64_t)frames, RATE, &o, &sp, cancel_at_half,
		                                 &calls));
		ASSERT_GE("progress was called", calls, 1);
	}
	free(x);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void test_speed(void)
{
	size_t frames = (size_t)(240 * RATE);
	float *x = alloc_frames(frames);
	struct refs_spectrum sp;
	struct refs_spectrum_opts o;
	double t0, t1, t2;

	gen_noise(x, frames, 2, 0.3, 11);
	refs_spectrum_opts_default(&o);
	t0 = now_s();
	ASSERT_INT("4 min", 0,
	           refs_spectrum_measure(x, (int64_t)frames, RATE, NULL, &sp, NULL, NULL));
	t1 = now_s();
	o.normalise = 1;
	ASSERT_INT("4 min normalised", 0,
	           refs_spectrum_measure(x, (int64_t)frames, RATE, &o, &sp, NULL, NULL));
	t2 = now_s();
	printf("speed: 4 min stereo at 48 kHz: %.3f s spectrum, %.3f s with the loudness "
	       "measurement\n",
	       t1 - t0, t2 - t1);
	free(x);
}

int main(void)
{
	test_tables();
	test_tones(48000.0);
	test_tones(44100.0);
	test_tone_placement();
	test_tone_on_edge();
	test_pink();
	test_white();
	test_mid_side();
	test_normalise();
	test_edges();
	test_speed();
	return test_done();
}

/*
 * termaster — checks a capture of the real PortAudio path (tests/e2e_alsa.sh).
 *
 *   e2e_check CAPTURE.raw RATE FIRST.wav SECOND.wav SWITCH_S END_S BUFFER MODE
 *
 * CAPTURE.raw is what the ALSA file plugin recorded: float32 interleaved
 * stereo.  The script played FIRST (the processed mix, as rendered to a
 * float file) from the top, and at SWITCH_S seconds of audio switched to
 * SECOND (a reference) on the same playhead, until END_S.
 *
 * Checks:
 *   - the switch happens within one buffer plus the crossfade of where it
 *     was asked (the capture stops following FIRST there);
 *   - no sample step across the switch larger than the crossfade allows:
 *     the signals' own largest step plus both peaks × (pi/2) / crossfade;
 *   - MODE "match": the two segments' integrated loudness (BS.1770) differ
 *     by at most 0.1 LU;
 *     MODE "simmatch": played through a playback system (the samples are
 *     the device's), only the two segments' loudness, within 0.1 LU;
 *     MODE "nomatch": they differ by the true difference of the files'
 *     same segments within 0.1 LU, and the first segment equals FIRST
 *     sample for sample (max difference <= 1e-6: live equals render);
 *     MODE "trim=X": as "match", but the second segment must be X dB
 *     louder (a manual match offset), within 0.1 LU;
 *     MODE "riding": as "match": the two sources are steady over their
 *     segments, so their short-term loudness (riding's measure) is their
 *     integrated loudness there.
 *     MODE "transient=B": a loudness-matched change heard without a
 *     level bump (a snapshot recall: FIRST and SECOND are the two
 *     snapshots' renders): the two segments within 0.1 LU as "match",
 *     and across the change, in short windows (TRANSIENT_WIN_MS, every
 *     TRANSIENT_HOP_MS, from TRANSIENT_PRE_MS before SWITCH_S to
 *     TRANSIENT_POST_MS after), the capture's energy stays between that
 *     of FIRST at the first segment's gain and SECOND at the second's
 *     (same frames), within B dB.  Comparing with the same frames of the
 *     renders cancels the signal's own fluctuation in a short window;
 *     what is left is the gain heard.  No switch is looked for (for a
 *     gain-only change the capture keeps following FIRST).
 *
 *   e2e_check --gen-step OUT.wav RATE SECONDS FREQ DB1 STEP_S DB2
 *
 * writes a stereo float WAV sine at FREQ Hz, peak DB1 dBFS until STEP_S
 * seconds and DB2 after (a source whose loudness changes: the region and
 * riding methods match it where it plays, the integrated one cannot).
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sndfile.h>

#include "refs/loudness.h"

static int failures;

static void check(int ok, const char *what, double got, double want, double tol)
{
	printf("%s %s: %.6g (want %.6g, tol %.3g)\n", ok ? "ok  " : "FAIL", what, got, want, tol);
	if (!ok)
		failures++;
}

static float *load_wav(const char *path, long *frames)
{
	SF_INFO info;
	SNDFILE *f;
	float *buf;

	memset(&info, 0, sizeof(info));
	f = sf_open(path, SFM_READ, &info);
	if (!f || info.channels != 2) {
		fprintf(stderr, "%s: cannot read as stereo: %s\n", path, sf_strerror(f));
		exit(99);
	}
	buf = malloc(sizeof(float) * 2 * (size_t)info.frames);
	*frames = (long)sf_readf_float(f, buf, info.frames);
	sf_close(f);
	return buf;
}

static float *load_raw(const char *path, long *frames)
{
	FILE *f = fopen(path, "rb");
	long bytes;
	float *buf;

	if (!f) {
		perror(path);
		exit(99);
	}
	fseek(f, 0, SEEK_END);
	bytes = ftell(f);
	fseek(f, 0, SEEK_SET);
	*frames = bytes / 8;
	buf = malloc((size_t)*frames * 8 + 8);
	if (fread(buf, 8, (size_t)*frames, f) != (size_t)*frames) {
		perror(path);
		exit(99);
	}
	fclose(f);
	return buf;
}

static double loudness(const float *x, long n, double rate)
{
	struct refs_loudness l;

	if (refs_loudness_measure(x, n, 2, rate, &l, NULL, NULL))
		return NAN;
	return l.integrated_lufs;
}

static double max_abs(const float *x, long from, long to)
{
	double m = 0;

	for (long i = from; i < to; i++)
		for (int c = 0; c < 2; c++)
			if (fabs(x[2 * i + c]) > m)
				m = fabs(x[2 * i + c]);
	return m;
}

static double max_step(const float *x, long from, long to)
{
	double m = 0;

	for (long i = from + 1; i < to; i++)
		for (int c = 0; c < 2; c++)
			if (fabs((double)x[2 * i + c] - x[2 * i - 2 + c]) > m)
				m = fabs((double)x[2 * i + c] - x[2 * i - 2 + c]);
	return m;
}

#define TRANSIENT_WIN_MS 5.0
#define TRANSIENT_HOP_MS 1.0
#define TRANSIENT_PRE_MS 100.0
#define TRANSIENT_POST_MS 400.0

/* Energy of both channels of x over frames [from, from + n). */
static double energy(const float *x, long from, long n)
{
	double e = 0;

	for (long i = from; i < from + n; i++)
		e += (double)x[2 * i] * x[2 * i] + (double)x[2 * i + 1] * x[2 * i + 1];
	return e;
}

/* Least-squares gain of cap (from the play start) against x over
 * frames [from, to). */
static double fit_gain(const float *cap, const float *x, long from, long to)
{
	double num = 0, den = 0;

	for (long k = from; k < to; k++)
		for (int c = 0; c < 2; c++) {
			num += (double)cap[2 * k + c] * x[2 * k + c];
			den += (double)x[2 * k + c] * x[2 * k + c];
		}
	return den > 0 ? num / den : 0;
}

/* The "transient" check: cap (from the play start) heard at g1 · a
 * before the change and g2 · b after it (g2 fitted on the second segment
 * from `half` on).  Window by window, the matched level of either is a
 * bound: the capture must stay between them, within `bound` dB. */
static void transient(const float *cap, const float *a, const float *b, double g1, double rate,
		      long s_frame, long e_frame, long half, double bound)
{
	long win = lround(TRANSIENT_WIN_MS * 1e-3 * rate), hop = lround(TRANSIENT_HOP_MS * 1e-3 * rate);
	long from = s_frame - lround(TRANSIENT_PRE_MS * 1e-3 * rate);
	long to = s_frame + lround(TRANSIENT_POST_MS * 1e-3 * rate);
	double g2 = fit_gain(cap, b, s_frame + half, e_frame);
	double up = -HUGE_VAL, down = -HUGE_VAL, rms_max = -HUGE_VAL, rms_min = HUGE_VAL;
	long at_up = 0, at_down = 0;

	for (long w = from; w + win <= to; w += hop) {
		double ec = energy(cap, w, win);
		double e1 = g1 * g1 * energy(a, w, win), e2 = g2 * g2 * energy(b, w, win);
		/* above the louder of the two, below the softer (dB) */
		double over = 10 * log10(ec / fmax(e1, e2)), under = 10 * log10(fmin(e1, e2) / ec);
		/* plain 5 ms RMS of the capture, dBFS (a meter's view) */
		double rms = 10 * log10(ec / (2.0 * (double)win));

		if (over > up) {
			up = over;
			at_up = w + win / 2 - s_frame;
		}
		if (under > down) {
			down = under;
			at_down = w + win / 2 - s_frame;
		}
		rms_max = fmax(rms_max, rms);
		rms_min = fmin(rms_min, rms);
	}
	printf("gains: first segment %.6f on FIRST, second %.6f on SECOND\n", g1, g2);
	printf("level across the change (%.0f ms windows): at most %+.4f dB over the louder of "
	       "the two matched levels (at %+.1f ms), %+.4f dB under the softer (at %+.1f ms)\n",
	       TRANSIENT_WIN_MS, up, 1e3 * (double)at_up / rate, down,
	       1e3 * (double)at_down / rate);
	printf("plain %.0f ms RMS of the capture there: %.2f … %.2f dBFS\n", TRANSIENT_WIN_MS,
	       rms_min, rms_max);
	check(up <= bound, "level rise across the change beyond the matched levels (dB)", up, 0,
	      bound);
	check(down <= bound, "level dip across the change beyond the matched levels (dB)", down, 0,
	      bound);
}

static int gen_step(int argc, char **argv)
{
	SF_INFO info;
	SNDFILE *f;
	double rate, secs, freq, a1, step, a2;
	long n;
	float *buf;

	if (argc != 9) {
		fprintf(stderr, "usage: e2e_check --gen-step OUT.wav RATE SECONDS FREQ DB1 STEP_S DB2\n");
		return 99;
	}
	rate = atof(argv[3]);
	secs = atof(argv[4]);
	freq = atof(argv[5]);
	a1 = pow(10, atof(argv[6]) / 20);
	step = atof(argv[7]);
	a2 = pow(10, atof(argv[8]) / 20);
	n = lround(rate * secs);
	buf = malloc(sizeof(float) * 2 * (size_t)n);
	for (long i = 0; i < n; i++) {
		double x = sin(2 * M_PI * freq * (double)i / rate) * (i < lround(step * rate) ? a1 : a2);

		buf[2 * i] = buf[2 * i + 1] = (float)x;
	}
	memset(&info, 0, sizeof(info));
	info.samplerate = (int)rate;
	info.channels = 2;
	info.format = SF_FORMAT_WAV | SF_FORMAT_FLOAT;
	f = sf_open(argv[2], SFM_WRITE, &info);
	if (!f || sf_writef_float(f, buf, n) != n) {
		fprintf(stderr, "%s: %s\n", argv[2], sf_strerror(f));
		return 99;
	}
	sf_close(f);
	free(buf);
	return 0;
}

int main(int argc, char **argv)
{
	long ncap, n1, n2, onset = -1, p = -1, sw = -1;
	double rate, switch_s, end_s, best = HUGE_VAL, g1;
	long buffer, xf, s_frame, e_frame, half;
	float *cap, *a, *b;
	int match;
	double trim = 0, tbound = -1;

	if (argc > 1 && !strcmp(argv[1], "--gen-step"))
		return gen_step(argc, argv);
	if (argc != 9) {
		fprintf(stderr, "usage: e2e_check CAPTURE.raw RATE FIRST.wav SECOND.wav SWITCH_S END_S BUFFER match|nomatch\n");
		return 99;
	}
	cap = load_raw(argv[1], &ncap);
	rate = atof(argv[2]);
	a = load_wav(argv[3], &n1);
	b = load_wav(argv[4], &n2);
	switch_s = atof(argv[5]);
	end_s = atof(argv[6]);
	buffer = atol(argv[7]);
	match = !strcmp(argv[8], "match");
	if (!strncmp(argv[8], "trim=", 5)) {
		match = 1;
		trim = atof(argv[8] + 5);
	}
	if (!strcmp(argv[8], "riding"))
		match = 1;
	if (!strncmp(argv[8], "transient=", 10)) {
		match = 1;
		tbound = atof(argv[8] + 10);
	}
	if (!strcmp(argv[8], "simmatch")) {
		/* through a playback system: only the loudness of the two
		 * segments is compared (the output is not the files' samples) */
		long on = -1, sf = lround(switch_s * rate), ef = lround(end_s * rate), hf = lround(0.5 * rate);
		double l1, l2;

		for (long i = 0; i < ncap; i++)
			if (cap[2 * i] != 0.0f || cap[2 * i + 1] != 0.0f) {
				on = i;
				break;
			}
		if (on < 0 || on + ef > ncap) {
			printf("FAIL the capture is silent or too short\n");
			return 1;
		}
		l1 = loudness(cap + 2 * (on + hf), sf - hf, rate);
		l2 = loudness(cap + 2 * (on + sf + hf), ef - sf - hf, rate);
		printf("through the system: first %.3f LUFS, second %.3f LUFS\n", l1, l2);
		check(fabs(l1 - l2) <= 0.1, "matched segments through the system differ (LU)", l1 - l2, 0, 0.1);
		printf("%d failed\n", failures);
		return failures ? 1 : 0;
	}
	xf = lround(rate * 0.010);
	s_frame = lround(switch_s * rate);
	e_frame = lround(end_s * rate);
	half = lround(0.5 * rate);

	for (long i = 0; i < ncap; i++)
		if (cap[2 * i] != 0.0f || cap[2 * i + 1] != 0.0f) {
			onset = i;
			break;
		}
	if (onset < 0) {
		printf("FAIL the capture is silent (%ld frames)\n", ncap);
		return 1;
	}
	/* the play command starts the fade-in at frame p: out[p+k] = g·a[k]·k/xf */
	for (long cand = onset - 3; cand <= onset; cand++) {
		double num = 0, den = 0, err = 0, g;

		if (cand < 0)
			continue;
		for (long k = xf; k < xf + 4000 && cand + k < ncap; k++) {
			num += (double)cap[2 * (cand + k)] * a[2 * k];
			den += (double)a[2 * k] * a[2 * k];
		}
		g = den > 0 ? num / den : 0;
		for (long k = xf; k < xf + 4000 && cand + k < ncap; k++)
			err += fabs(cap[2 * (cand + k)] - g * a[2 * k]);
		if (err < best) {
			best = err;
			p = cand;
		}
	}
	printf("capture: %ld frames, play starts at frame %ld\n", ncap, p);
	if (p + e_frame > ncap) {
		printf("FAIL the capture is too short: %ld frames after the start, want %ld\n",
		       ncap - p, e_frame);
		return 1;
	}
	/* gain of the first segment (the "after" match gain) */
	{
		double num = 0, den = 0;

		for (long k = xf; k < s_frame; k++) {
			num += (double)cap[2 * (p + k)] * a[2 * k] + (double)cap[2 * (p + k) + 1] * a[2 * k + 1];
			den += (double)a[2 * k] * a[2 * k] + (double)a[2 * k + 1] * a[2 * k + 1];
		}
		g1 = num / den;
	}
	/* where the capture stops following the first source */
	for (long k = xf; k < e_frame; k++) {
		double d = fabs(cap[2 * (p + k)] - g1 * a[2 * k]) + fabs(cap[2 * (p + k) + 1] - g1 * a[2 * k + 1]);

		if (d > 1e-4) {
			sw = k;
			break;
		}
	}
	printf("switch asked at %ld, heard from %ld (buffer %ld, crossfade %ld)\n", s_frame, sw,
	       buffer, xf);
	if (tbound >= 0)
		transient(cap + 2 * p, a, b, g1, rate, s_frame, e_frame, half, tbound);
	else
		check(sw >= s_frame && sw <= s_frame + buffer + xf,
		      "switch within a buffer plus the crossfade (frames late)",
		      (double)(sw - s_frame), 0, (double)(buffer + xf));
	{
		long from = s_frame - 50, to = s_frame + buffer + 2 * xf;
		/* equal-power gains sum to at most sqrt(2); the reference's
		 * match gain is at most +6 dB (x2) in these scripts */
		double bound = M_SQRT2 * fmax(g1 * max_step(a, from, to), 2 * max_step(b, from, to)) +
			       (g1 * max_abs(a, from, to) + 2 * max_abs(b, from, to)) * (M_PI / 2) / xf;
		double got = max_step(cap + 2 * p, from, to);

		check(got <= bound, "largest step across the switch", got, bound, 0);
	}
	{
		double l1 = loudness(cap + 2 * (p + half), s_frame - half, rate);
		double l2 = loudness(cap + 2 * (p + s_frame + half), e_frame - s_frame - half, rate);

		printf("segments: first %.3f LUFS, second %.3f LUFS\n", l1, l2);
		if (match) {
			check(fabs(l2 - l1 - trim) <= 0.1, "matched segments differ (LU), second minus first",
			      l2 - l1, trim, 0.1);
		} else {
			double t1 = loudness(a + 2 * half, s_frame - half, rate);
			double t2 = loudness(b + 2 * (s_frame + half), e_frame - s_frame - half, rate);
			double maxd = 0;

			check(fabs((l1 - l2) - (t1 - t2)) <= 0.1, "unmatched difference vs the files' own (LU)",
			      l1 - l2, t1 - t2, 0.1);
			for (long k = xf; k < s_frame; k++)
				for (int c = 0; c < 2; c++)
					if (fabs(cap[2 * (p + k) + c] - a[2 * k + c]) > maxd)
						maxd = fabs(cap[2 * (p + k) + c] - a[2 * k + c]);
			check(maxd <= 1e-6, "live equals render: max difference", maxd, 0, 1e-6);
		}
	}
	free(cap);
	free(a);
	free(b);
	printf("%d failed\n", failures);
	return failures ? 1 : 0;
}

/*
 * termaster — shared helpers for the unit tests (see util.h).
 */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audio/engine.h"
#include "tests/util.h"

int test_failures;
int test_checks;

void test_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	test_failures++;
	fprintf(stderr, "%s:%d: FAIL: ", file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int test_done(void)
{
	printf("%d checks, %d failed\n", test_checks, test_failures);
	if (test_checks == 0) {
		fprintf(stderr, "no check ran\n");
		return 1;
	}
	return test_failures ? 1 : 0;
}

double db_to_lin(double db)
{
	return pow(10.0, db / 20.0);
}

double lin_to_db(double lin)
{
	return lin > 0 ? 20.0 * log10(lin) : -HUGE_VAL;
}

void gen_sine(float *buf, size_t frames, unsigned ch, double rate,
	      double freq_hz, double amp, double phase)
{
	for (size_t i = 0; i < frames; i++) {
		float v = (float)(amp * sin(2.0 * M_PI * freq_hz * (double)i / rate + phase));
		for (unsigned c = 0; c < ch; c++)
			buf[i * ch + c] = v;
	}
}

static uint32_t xorshift32(uint32_t *s)
{
	uint32_t x = *s;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return *s = x;
}

static double uni(uint32_t *s)
{
	return (double)xorshift32(s) / 4294967296.0 * 2.0 - 1.0;
}

void gen_noise(float *buf, size_t frames, unsigned ch, double amp, uint32_t seed)
{
	uint32_t s = seed ? seed : 0x9e3779b9u;

	for (size_t i = 0; i < frames * ch; i++)
		buf[i] = (float)(amp * uni(&s));
}

void gen_music(float *buf, size_t frames, unsigned ch, double rate, double amp,
	       uint32_t seed)
{
	static const double chord[4][3] = {
		{ 220.00, 261.63, 329.63 }, { 174.61, 220.00, 261.63 },
		{ 196.00, 246.94, 293.66 }, { 164.81, 196.00, 246.94 },
	};
	static const double bass[4] = { 55.0, 43.65, 49.0, 41.2 };
	uint32_t s = seed ? seed : 12345u;
	double beat = rate * 0.5;  /* 120 bpm */
	double peak = 0;
	double hp = 0, lp = 0;

	for (size_t i = 0; i < frames; i++) {
		double t = (double)i / rate;
		size_t b = (size_t)((double)i / beat);
		double tb = ((double)i - (double)b * beat) / rate;  /* time in beat */
		int bar = (int)(b / 4) % 4;
		double kick = (b % 2 == 0) ? sin(2 * M_PI * (50 + 90 * exp(-tb * 30)) * tb) * exp(-tb * 8) : 0;
		double half = fmod(tb, 0.25);
		double n = uni(&s);
		hp = n - lp;
		lp += 0.6 * (n - lp);
		double hat = hp * exp(-half * 60) * 0.25;
		double snare = (b % 2 == 1) ? n * exp(-tb * 18) * 0.5 : 0;
		double bs = 0.6 * sin(2 * M_PI * bass[bar] * t) + 0.2 * sin(4 * M_PI * bass[bar] * t);
		double pad = 0;
		for (int k = 0; k < 3; k++) {
			double f = chord[bar][k];
			double ph = fmod(f * t, 1.0);
			pad += 0.12 * (2 * ph - 1);  /* saw */
		}
		double l = kick + bs + snare + hat * 0.8 + pad * 0.9;
		double r = kick + bs + snare * 0.9 + hat * 1.1 + pad * 1.1;
		if (ch == 1) {
			buf[i] = (float)(0.5 * (l + r));
			if (fabs(buf[i]) > peak)
				peak = fabs(buf[i]);
		} else {
			for (unsigned c = 0; c < ch; c++) {
				buf[i * ch + c] = (float)(c % 2 ? r : l);
				if (fabs(buf[i * ch + c]) > peak)
					peak = fabs(buf[i * ch + c]);
			}
		}
	}
	if (peak > 0)
		for (size_t i = 0; i < frames * ch; i++)
			buf[i] = (float)(buf[i] * amp / peak);
}

double measure_sine_amp(const float *x, size_t n, size_t stride, double rate,
			double freq_hz)
{
	/* whole periods only */
	size_t per = (size_t)floor((double)n * freq_hz / rate);
	size_t m = per ? (size_t)floor((double)per * rate / freq_hz) : n;
	double sc = 0, cc = 0;

	for (size_t i = 0; i < m; i++) {
		double w = 2 * M_PI * freq_hz * (double)i / rate;
		sc += x[i * stride] * sin(w);
		cc += x[i * stride] * cos(w);
	}
	return 2.0 * sqrt(sc * sc + cc * cc) / (double)m;
}

#define TP_OS 32
#define TP_HALF 64

static double bessel_i0(double x)
{
	double s = 1, t = 1;

	for (int k = 1; k < 50; k++) {
		t *= (x / (2 * k)) * (x / (2 * k));
		s += t;
	}
	return s;
}

double measure_true_peak(const float *x, size_t n, size_t stride)
{
	static double h[TP_OS][2 * TP_HALF];
	static int ready;
	double sp = 0, tp = 0;

	if (!ready) {
		const double beta = 10.0, fc = 0.98;
		for (int p = 0; p < TP_OS; p++) {
			double frac = (double)p / TP_OS;
			for (int k = 0; k < 2 * TP_HALF; k++) {
				double t = (double)(k - TP_HALF + 1) - frac;
				double s = fabs(t) < 1e-12 ? fc : sin(M_PI * fc * t) / (M_PI * t);
				double r = t / (TP_HALF + 1.0);
				double w = fabs(r) < 1 ? bessel_i0(beta * sqrt(1 - r * r)) / bessel_i0(beta) : 0;
				h[p][k] = s * w;
			}
		}
		ready = 1;
	}
	for (size_t i = 0; i < n; i++)
		if (fabs(x[i * stride]) > sp)
			sp = fabs(x[i * stride]);
	tp = sp;
	/* Interpolate only where the whole kernel lies inside the buffer: the
	 * buffer is taken as a window into a longer signal, so its cut edges
	 * must not ring (Gibbs) into the reading. */
	for (size_t i = TP_HALF; i + TP_HALF < n; i++) {
		double loc = 0;
		for (size_t j = i > 1 ? i - 1 : 0; j <= i + 2 && j < n; j++)
			if (fabs(x[j * stride]) > loc)
				loc = fabs(x[j * stride]);
		if (loc < 0.25 * sp)
			continue;
		for (int p = 1; p < TP_OS; p++) {
			double acc = 0;
			for (int k = 0; k < 2 * TP_HALF; k++) {
				size_t idx = i + (size_t)k - TP_HALF + 1;

				acc += h[p][k] * x[idx * stride];
			}
			if (fabs(acc) > tp)
				tp = fabs(acc);
		}
	}
	return tp;
}

const char *test_tmpdir(const char *name)
{
	static char path[4096];
	const char *base = getenv("TMPDIR");

	if (!base || !*base)
		base = "/tmp";
	snprintf(path, sizeof(path), "%s/termaster-%s-%ld", base, name, (long)getpid());
	if (mkdir(path, 0700) && errno != EEXIST) {
		perror(path);
		exit(99);
	}
	return path;
}

double max_step_lr(const float *lr, size_t from, size_t to)
{
	double m = 0;

	for (size_t i = from + 1; i < to; i++)
		for (int c = 0; c < 2; c++)
			m = fmax(m, fabs((double)lr[2 * i + c] - lr[2 * (i - 1) + c]));
	return m;
}

float *engine_run(struct audio_engine *e, size_t frames, unsigned block)
{
	float *out = calloc(frames * 2, sizeof(float));

	for (size_t done = 0; out && done < frames;) {
		unsigned n = frames - done > block ? block : (unsigned)(frames - done);

		audio_engine_process(e, out + 2 * done, n);
		done += n;
	}
	return out;
}

int same_bits(const float *a, const float *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!(isnan(a[i]) && isnan(b[i])) && memcmp(&a[i], &b[i], sizeof(float)) != 0)
			return 0;
	return 1;
}

void gen_music_gap_nan(float *lr, size_t n1, size_t n2, size_t n, double rate,
		       double amp)
{
	gen_music(lr, n1, 2, rate, amp, 3);
	memset(lr + 2 * n1, 0, sizeof(float) * 2 * n2);
	gen_music(lr + 2 * (n1 + n2), n - n1 - n2, 2, rate, amp, 5);
	lr[2 * (n1 + n2 + 1000) + 1] = NAN;
	lr[2 * (n1 + n2 + 2345)] = INFINITY;
}

double test_clock_s(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

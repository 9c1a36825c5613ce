/*
 * termaster — shared helpers for the unit tests.
 *
 * Exit codes follow the automake protocol: 0 pass, 1 fail, 77 skip.
 * ASSERT_* print file:line with expected and actual values (PortAudio
 * qa_tools.h) and count failures; a test ends with `return test_done();`.
 */
#ifndef TM_TESTS_UTIL_H
#define TM_TESTS_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

extern int test_failures;
extern int test_checks;

void test_fail(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define ASSERT_TRUE(msg, cond) do { test_checks++; \
	if (!(cond)) test_fail(__FILE__, __LINE__, "%s: expected true: %s", (msg), #cond); } while (0)
#define ASSERT_CLOSE(msg, expected, actual, tol) do { \
	double e_ = (expected), a_ = (actual), t_ = (tol); test_checks++; \
	if (!(fabs(e_ - a_) <= t_)) test_fail(__FILE__, __LINE__, \
		"%s: expected %.9g, got %.9g (diff %.3g > tol %.3g)", (msg), e_, a_, fabs(e_ - a_), t_); \
	} while (0)
#define ASSERT_LE(msg, actual, bound) do { \
	double a_ = (actual), b_ = (bound); test_checks++; \
	if (!(a_ <= b_)) test_fail(__FILE__, __LINE__, "%s: %.9g is above %.9g", (msg), a_, b_); \
	} while (0)
#define ASSERT_GE(msg, actual, bound) do { \
	double a_ = (actual), b_ = (bound); test_checks++; \
	if (!(a_ >= b_)) test_fail(__FILE__, __LINE__, "%s: %.9g is below %.9g", (msg), a_, b_); \
	} while (0)
#define ASSERT_INT(msg, expected, actual) do { \
	long long e_ = (expected), a_ = (actual); test_checks++; \
	if (e_ != a_) test_fail(__FILE__, __LINE__, "%s: expected %lld, got %lld", (msg), e_, a_); \
	} while (0)

/* Prints "N checks, N failed" and returns the exit status. */
int test_done(void);

/* ---- generated signals (interleaved, `ch` channels) ---- */

/* Sine of amplitude `amp` (peak, linear) at freq_hz, phase in radians. */
void gen_sine(float *buf, size_t frames, unsigned ch, double rate,
	      double freq_hz, double amp, double phase);
/* Deterministic white noise, uniform in [-amp, amp] (xorshift32 seeded). */
void gen_noise(float *buf, size_t frames, unsigned ch, double amp, uint32_t seed);
/* A music-like test signal: kick, bass, chords, noise hats; crest factor
 * near that of a mix; peak `amp`. */
void gen_music(float *buf, size_t frames, unsigned ch, double rate, double amp,
	       uint32_t seed);

double db_to_lin(double db);
double lin_to_db(double lin);

/* Amplitude of freq_hz in a mono signal by correlation with sine and
 * cosine over whole periods (PaQa_CorrelateSine). */
double measure_sine_amp(const float *x, size_t n, size_t stride, double rate,
			double freq_hz);

/* True peak of one channel by 32× band-limited (windowed-sinc, 128 taps,
 * Kaiser beta 10) interpolation: an independent reference for the limiter
 * tests.  The buffer is a window into a longer signal: interpolation runs
 * only where the whole kernel fits (64 samples in from each end); the
 * sample peak counts everywhere. */
double measure_true_peak(const float *x, size_t n, size_t stride);

/* Temporary folder for a test: created fresh under $TMPDIR; returns its
 * path (static storage). */
const char *test_tmpdir(const char *name);

/* Seconds on a clock (`make bench`, the --bench modes): CLOCK_MONOTONIC
 * for wall time; CLOCK_THREAD_CPUTIME_ID or CLOCK_PROCESS_CPUTIME_ID for
 * what the code itself took, without the time other processes had the
 * CPU (a shared VM swings wall time by up to 2x for the same binary). */
double test_clock_s(clockid_t id);

/* Largest sample-to-sample step of interleaved stereo frames (from, to). */
double max_step_lr(const float *lr, size_t from, size_t to);

/* Nonzero when a[0 … n) and b[0 … n) hold the same floats to the bit, a
 * NaN matching any NaN (which NaN a sum passes on depends on the operand
 * order the compiler picked, not on the arithmetic): for tests that two
 * code paths compute the same. */
int same_bits(const float *a, const float *b, size_t n);

/* n interleaved stereo frames for tests that two code paths agree: music
 * (peak amp, seed 3) for n1 frames, n2 of silence (states must flush to
 * exact zeros), then music (seed 5) with a NaN at frame n1 + n2 + 1000
 * (right) and an infinity at n1 + n2 + 2345 (left).  n >= n1 + n2 + 2346. */
void gen_music_gap_nan(float *lr, size_t n1, size_t n2, size_t n, double rate,
		       double amp);

struct audio_engine;
/* `frames` frames of the engine's output in callbacks of `block` frames,
 * interleaved stereo, allocated (the caller frees). */
float *engine_run(struct audio_engine *e, size_t frames, unsigned block);

#endif

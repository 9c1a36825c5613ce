/*
 * termaster — unit test: the equaliser (chain/eq.c, chain/biquad.h).
 *
 * STYLE.md §7: magnitude against the design formula by sine correlation,
 * against the analog prototypes (no cramping near Nyquist), Butterworth
 * slopes, the tilt, mid/side/left/right routing, bit-exact passthrough at
 * defaults, reset to exact zeros, call-size invariance (the plain
 * program's AVX and two-lane paths bit for bit), bounded steps when
 * any parameter jumps from its minimum to its maximum, finite output at
 * extreme settings, and no subnormal tails after a tone.
 *
 * The EQ is driven as a bare processor (chain_eq_ops), as the chain does.
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "chain/biquad.h"
#include "chain/chain.h"
#include "chain/smooth.h"
#include "tests/util.h"

/* as in chain/eq.c */
#define EQ_TAU_MS 20.0
#define EQ_OCT_MAX 1.0
#define EQ_FREQ_SNAP 1e-4
#define EQ_GAIN_SNAP 1e-3
#define EQ_Q_SNAP 1e-4
#define EQ_FMAX 0.49
#define EQ_SHELF_Q_MAX 2.0

#define MAXF 1024u

enum { BELL, LOW_SHELF, HIGH_SHELF, HIGH_PASS, LOW_PASS, TILT };
enum { STEREO, MID, SIDE, LEFT, RIGHT };
static const unsigned slope_db[] = { 6, 12, 18, 24, 36, 48 };
static const char *const type_name[] = { "bell", "low shelf", "high shelf", "high-pass",
					 "low-pass", "tilt" };

static float *fbuf(size_t n)
{
	float *b = calloc(n ? n : 1, sizeof(float));

	if (!b)
		exit(99);
	return b;
}

/* ---- the processor ---- */

static unsigned pid(const char *id)
{
	for (unsigned i = 0; i < chain_eq_ops.n_params; i++)
		if (strcmp(chain_eq_ops.params[i].id, id) == 0)
			return i;
	fprintf(stderr, "no parameter eq.%s\n", id);
	exit(99);
}

static void eq_set(struct chain_proc *p, const char *id, double v, int snap)
{
	chain_eq_ops.set_param(p, pid(id), (float)v, snap);
}

static void band_set(struct chain_proc *p, unsigned band, const char *param, double v, int snap)
{
	char id[32];

	snprintf(id, sizeof(id), "%u.%s", band, param);
	eq_set(p, id, v, snap);
}

static struct chain_proc *eq_open(double rate)
{
	struct chain_proc *p = calloc(1, sizeof(*p));

	if (!p)
		exit(99);
	p->ops = &chain_eq_ops;
	p->priv = calloc(1, chain_eq_ops.priv_size);
	p->rate = rate;
	p->max_frames = MAXF;
	if (!p->priv || chain_eq_ops.init(p, rate, MAXF) != CHAIN_OK)
		exit(99);
	/* as chain_new() does: every parameter snapped to its default */
	for (unsigned i = 0; i < chain_eq_ops.n_params; i++)
		chain_eq_ops.set_param(p, i, chain_eq_ops.params[i].def, 1);
	return p;
}

static void eq_close(struct chain_proc **p)
{
	chain_eq_ops.destroy(*p);
	free((*p)->priv);
	free(*p);
	*p = NULL;
}

/* One band at once (snap): type, frequency, gain, Q, slope index, channel. */
static void band_setup(struct chain_proc *p, unsigned band, int type, double f, double gain,
		       double q, unsigned slope, int channel)
{
	band_set(p, band, "type", type, 1);
	band_set(p, band, "freq_hz", f, 1);
	band_set(p, band, "gain_db", gain, 1);
	band_set(p, band, "q", q, 1);
	band_set(p, band, "slope_db_oct", slope, 1);
	band_set(p, band, "channel", channel, 1);
	band_set(p, band, "on", 1, 1);
}

/* Runs planar l/r through the EQ in calls of `block` frames. */
static void eq_run(struct chain_proc *p, float *l, float *r, size_t n, unsigned block)
{
	for (size_t i = 0; i < n;) {
		unsigned m = n - i < block ? (unsigned)(n - i) : block;
		float *b[2] = { l + i, r + i };

		chain_eq_ops.process(p, b, m);
		i += m;
	}
}

/* ---- the design formula (the EQ's own: chain/biquad.h) ---- */

struct setting {
	int type;
	double f, gain, q;
	unsigned slope;  /* index into slope_db */
};

static unsigned design(struct chain_biquad *c, const struct setting *s, double rate)
{
	double f = s->f < EQ_FMAX * rate ? s->f : EQ_FMAX * rate;
	double w0 = 2 * M_PI * f / rate, qs = s->q < EQ_SHELF_Q_MAX ? s->q : EQ_SHELF_Q_MAX;
	unsigned order = slope_db[s->slope] / 6;

	switch (s->type) {
	case BELL:
		chain_biquad_bell(c, w0, s->gain, s->q);
		return 1;
	case LOW_SHELF:
		chain_biquad_low_shelf(c, w0, s->gain, qs);
		return 1;
	case HIGH_SHELF:
		chain_biquad_high_shelf(c, w0, s->gain, qs);
		return 1;
	case HIGH_PASS:
		return chain_biquad_butter(c, w0, order, 1);
	case LOW_PASS:
		return chain_biquad_butter(c, w0, order, 0);
	default:
		chain_biquad_tilt(c, w0, s->gain);
		return 1;
	}
}

static double design_db(const struct setting *s, double rate, double f)
{
	struct chain_biquad c[CHAIN_BIQUAD_MAX_SECTIONS];
	unsigned n = design(c, s, rate);
	double m = 1;

	for (unsigned k = 0; k < n; k++)
		m *= chain_biquad_mag2(&c[k], 2 * M_PI * f / rate);
	return 10 * log10(m);
}

/* Complex response of the design at f. */
static void design_h(const struct setting *s, double rate, double f, double *re, double *im)
{
	struct chain_biquad c[CHAIN_BIQUAD_MAX_SECTIONS];
	unsigned n = design(c, s, rate);

	*re = 1;
	*im = 0;
	for (unsigned k = 0; k < n; k++) {
		double a, b, t;

		chain_biquad_response(&c[k], 2 * M_PI * f / rate, &a, &b);
		t = *re * a - *im * b;
		*im = *re * b + *im * a;
		*re = t;
	}
}

/* The analog prototype (chain/biquad.h documents them), in dB. */
static double analog_db(const struct setting *s, double rate, double f)
{
	double w = 2 * M_PI * f / rate, w0 = 2 * M_PI * s->f / rate;

	switch (s->type) {
	case BELL:
		return 10 * log10(chain_biquad_analog_bell2(w, w0, s->gain, s->q));
	case LOW_SHELF:
		return 10 * log10(chain_biquad_analog_low_shelf2(w, w0, s->gain, s->q));
	case HIGH_SHELF:
		return 10 * log10(chain_biquad_analog_high_shelf2(w, w0, s->gain, s->q));
	case HIGH_PASS:
		return 10 * log10(chain_biquad_analog_butter2(w, w0, slope_db[s->slope] / 6, 1));
	case LOW_PASS:
		return 10 * log10(chain_biquad_analog_butter2(w, w0, slope_db[s->slope] / 6, 0));
	default:
		return 10 * log10(chain_biquad_analog_tilt2(w, w0, s->gain));
	}
}

/* Frames for the slowest pole of the design to decay by 1e-6. */
static size_t settle_frames(const struct setting *s, double rate)
{
	struct chain_biquad c[CHAIN_BIQUAD_MAX_SECTIONS];
	unsigned n = design(c, s, rate);
	double rmax = 0;

	for (unsigned k = 0; k < n; k++) {
		double a1 = c[k].a1, a2 = c[k].a2, disc = a1 * a1 - 4 * a2, r;

		if (disc < 0)
			r = sqrt(a2);
		else
			r = 0.5 * (fabs(a1) + sqrt(disc));
		if (r > rmax)
			rmax = r;
	}
	if (rmax <= 0)
		return 64;
	return (size_t)fmin(log(1e-6) / log(rmax), 10 * rate) + 64;
}

/*
 * Gain in dB of the EQ (band 1 set to s on `channel`, or the tilt) for a
 * sine at f, on the left and right outputs, by correlation over whole
 * periods after the transient has decayed.  f should fit a whole number
 * of periods in rate/4 frames (multiples of 4 Hz at 44.1/48 kHz do).
 */
static void measure(struct chain_proc *p, const struct setting *s, double rate, double f,
		    double *db_l, double *db_r)
{
	size_t settle = settle_frames(s, rate), meas = (size_t)(rate / 4), n = settle + meas;
	float *l = fbuf(n), *r = fbuf(n);
	const double amp = 0.1;

	chain_eq_ops.reset(p);
	gen_sine(l, n, 1, rate, f, amp, 0.3);
	memcpy(r, l, n * sizeof(float));
	eq_run(p, l, r, n, 512);
	*db_l = lin_to_db(measure_sine_amp(l + settle, meas, 1, rate, f) / amp);
	*db_r = lin_to_db(measure_sine_amp(r + settle, meas, 1, rate, f) / amp);
	free(l);
	free(r);
}

/* Measurement frequencies: 20 Hz … 20 kHz, 30 per decade-ish, rounded to
 * multiples of 4 Hz (whole periods in a quarter second). */
static unsigned freq_list(double *f, unsigned max, double lo, double hi)
{
	unsigned n = 0;

	for (double x = lo; x <= hi * 1.0001 && n < max; x *= 1.26) {
		double v = 4 * round(x / 4);

		if (v < 4)
			v = 4;
		if (n && v == f[n - 1])
			continue;
		f[n++] = v;
	}
	return n;
}

static void setup(struct chain_proc *p, const struct setting *s, int channel)
{
	if (s->type == TILT) {
		eq_set(p, "tilt_hz", s->f, 1);
		eq_set(p, "tilt_db", s->gain, 1);
	} else {
		band_setup(p, 1, s->type, s->f, s->gain, s->q, s->slope, channel);
	}
}

/* ---- the parameter table ---- */

static void test_table(void)
{
	struct chain_settings st;
	char id[48], msg[256];
	int idx;

	ASSERT_INT("parameters: 8 bands × 7 + tilt", 58, chain_eq_ops.n_params);
	ASSERT_TRUE("bypass on by default", chain_eq_ops.bypass == CHAIN_BYPASS_ON);
	for (unsigned b = 1; b <= 8; b++) {
		static const char *const names[] = { "on", "type", "freq_hz", "gain_db", "q",
						     "slope_db_oct", "channel" };

		for (unsigned k = 0; k < 7; k++) {
			snprintf(id, sizeof(id), "eq.%u.%s", b, names[k]);
			ASSERT_TRUE("band parameter in the chain's table",
				    chain_param_find(id) >= 0);
		}
	}
	ASSERT_TRUE("eq.tilt_db", chain_param_find("eq.tilt_db") >= 0);
	ASSERT_TRUE("eq.tilt_hz", chain_param_find("eq.tilt_hz") >= 0);
	ASSERT_TRUE("eq.on (the chain's)", chain_param_find("eq.on") >= 0);

	/* defaults: all off, HP / low shelf / bells / high shelf */
	{
		static const int types[] = { HIGH_PASS, LOW_SHELF, BELL, BELL, BELL, BELL, BELL,
					     HIGH_SHELF };
		static const float freqs[] = { 30, 80, 200, 500, 1200, 3000, 8000, 16000 };

		for (unsigned b = 1; b <= 8; b++) {
			const struct chain_param *pr;

			snprintf(id, sizeof(id), "%u.on", b);
			ASSERT_CLOSE("bands start off", 0, chain_eq_ops.params[pid(id)].def, 0);
			snprintf(id, sizeof(id), "%u.type", b);
			pr = &chain_eq_ops.params[pid(id)];
			ASSERT_CLOSE("default type", types[b - 1], pr->def, 0);
			snprintf(id, sizeof(id), "%u.freq_hz", b);
			pr = &chain_eq_ops.params[pid(id)];
			ASSERT_CLOSE("default frequency", freqs[b - 1], pr->def, 0);
			snprintf(id, sizeof(id), "%u.slope_db_oct", b);
			pr = &chain_eq_ops.params[pid(id)];
			ASSERT_TRUE("slope default 12 dB/oct",
				    strcmp(pr->choices[(int)pr->def], "12") == 0);
		}
	}

	/* choices by name, through the chain's parser */
	chain_settings_default(&st);
	ASSERT_INT("type by name", CHAIN_OK,
		   chain_settings_set(&st, "eq.3.type", "low-pass", msg, sizeof(msg)));
	idx = chain_param_find("eq.3.type");
	ASSERT_CLOSE("low-pass = 4", LOW_PASS, st.value[idx], 0);
	ASSERT_TRUE("and its name",
		    strcmp(chain_param_choice((unsigned)idx, st.value[idx]), "low-pass") == 0);
	ASSERT_INT("slope by name", CHAIN_OK,
		   chain_settings_set(&st, "eq.1.slope_db_oct", "24", msg, sizeof(msg)));
	ASSERT_CLOSE("24 dB/oct = 3", 3, st.value[chain_param_find("eq.1.slope_db_oct")], 0);
	ASSERT_INT("channel by name", CHAIN_OK,
		   chain_settings_set(&st, "eq.5.channel", "Side", msg, sizeof(msg)));
	ASSERT_CLOSE("side = 2", SIDE, st.value[chain_param_find("eq.5.channel")], 0);
	ASSERT_INT("on by name", CHAIN_OK,
		   chain_settings_assign(&st, "eq.5.on=on", msg, sizeof(msg)));
	ASSERT_INT("unknown type", CHAIN_ERROR_VALUE,
		   chain_settings_set(&st, "eq.5.type", "notch", msg, sizeof(msg)));
	printf("unknown type: %s\n", msg);
	ASSERT_INT("frequency range", CHAIN_ERROR_RANGE,
		   chain_settings_set(&st, "eq.5.freq_hz", "30000", msg, sizeof(msg)));
	ASSERT_INT("tilt range", CHAIN_ERROR_RANGE,
		   chain_settings_set(&st, "eq.tilt_db", "7", msg, sizeof(msg)));
}

/* ---- static response ---- */

/*
 * The EQ against its own design formula (the sections chain/biquad.h
 * computes, evaluated as H(e^jw)), measured by sine correlation, at ~30
 * frequencies from 20 Hz to 20 kHz, for every type and several settings,
 * at 44.1 and 48 kHz.  The processing is double precision, so the
 * measurement (whole periods of a float sine) is the only error: 0.05 dB.
 * Frequencies where the design is below -100 dB are skipped (the float
 * input's own rounding is at -150 dB of it).
 */
static void test_magnitude(void)
{
	static const struct {
		struct setting s;
		double rate;
	} cases[] = {
		{ { BELL, 1000, 6, 1, 0 }, 48000 },
		{ { BELL, 16000, 12, 0.7, 0 }, 44100 },
		{ { BELL, 60, -9, 4, 0 }, 48000 },
		{ { BELL, 5000, -24, 18, 0 }, 44100 },
		{ { BELL, 200, 24, 0.1, 0 }, 48000 },
		{ { LOW_SHELF, 100, 6, 0.707, 0 }, 48000 },
		{ { LOW_SHELF, 2000, -12, 1.5, 0 }, 44100 },
		{ { LOW_SHELF, 12000, 24, 0.5, 0 }, 44100 },
		{ { HIGH_SHELF, 8000, 4, 0.707, 0 }, 48000 },
		{ { HIGH_SHELF, 200, -10, 5, 0 }, 44100 },  /* Q limited to 2 */
		{ { HIGH_PASS, 30, 0, 1, 1 }, 44100 },
		{ { HIGH_PASS, 100, 0, 1, 0 }, 48000 },
		{ { HIGH_PASS, 1000, 0, 1, 5 }, 48000 },
		{ { HIGH_PASS, 300, 0, 1, 2 }, 44100 },
		{ { LOW_PASS, 10000, 0, 1, 3 }, 44100 },
		{ { LOW_PASS, 18000, 0, 1, 1 }, 48000 },
		{ { LOW_PASS, 2000, 0, 1, 4 }, 48000 },
		{ { LOW_PASS, 5000, 0, 1, 0 }, 44100 },
		{ { TILT, 1000, 6, 1, 0 }, 48000 },
		{ { TILT, 300, -3, 1, 0 }, 44100 },
		{ { TILT, 8000, -6, 1, 0 }, 44100 },
		/* the lowest and a high rate */
		{ { BELL, 1000, 6, 2, 0 }, 8000 },
		{ { HIGH_PASS, 100, 0, 1, 3 }, 8000 },
		{ { LOW_PASS, 3000, 0, 1, 1 }, 8000 },
		{ { TILT, 2000, 4, 1, 0 }, 8000 },
		{ { BELL, 15000, 12, 1, 0 }, 192000 },
		{ { LOW_PASS, 20000, 0, 1, 5 }, 192000 },
		{ { HIGH_SHELF, 10000, -6, 0.707, 0 }, 192000 },
	};
	double f[40];
	unsigned nf = freq_list(f, 40, 20, 20000);
	double worst = 0;
	unsigned points = 0;

	for (unsigned k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		const struct setting *s = &cases[k].s;
		double rate = cases[k].rate, w = 0;
		struct chain_proc *p = eq_open(rate);
		char msg[96];

		setup(p, s, STEREO);
		for (unsigned i = 0; i < nf; i++) {
			double want = design_db(s, rate, f[i]), l, r;

			if (want < -100 || f[i] > 0.45 * rate)
				continue;
			measure(p, s, rate, f[i], &l, &r);
			snprintf(msg, sizeof(msg), "%s %g Hz %+g dB Q %g /%u at %g Hz (dB)",
				 type_name[s->type], s->f, s->gain, s->q, slope_db[s->slope], f[i]);
			ASSERT_CLOSE(msg, want, l, 0.05);
			ASSERT_CLOSE(msg, want, r, 0.05);
			if (fabs(l - want) > w)
				w = fabs(l - want);
			points++;
		}
		if (w > worst)
			worst = w;
		eq_close(&p);
	}
	printf("magnitude vs design formula: %u points, max deviation %.2g dB\n", points, worst);
}

/*
 * No cramping.  The design against the analog prototype, on a grid: a bell
 * at 16 kHz at 44.1 kHz, gains ±1 … 24 dB, Q 0.1 … 18, 200 frequencies
 * from 1 to 20 kHz (the bilinear design of RBJ's cookbook misses by several
 * dB there: printed for comparison).  Then measured: for a few settings the
 * processed sine's level against the prototype, within 0.5 dB.
 */
static double rbj_bell_db(double rate, double f0, double gain, double q, double f)
{
	double A = pow(10, gain / 40), w0 = 2 * M_PI * f0 / rate, al = sin(w0) / (2 * q);
	double a0 = 1 + al / A;
	struct chain_biquad c = {
		(1 + al * A) / a0, -2 * cos(w0) / a0, (1 - al * A) / a0, -2 * cos(w0) / a0,
		(1 - al / A) / a0,
	};

	return 10 * log10(chain_biquad_mag2(&c, 2 * M_PI * f / rate));
}

static void test_cramping(void)
{
	static const double gains[] = { -24, -18, -12, -6, -3, -1, 1, 3, 6, 12, 18, 24 };
	static const double qs[] = { 0.1, 0.2, 0.3, 0.5, 0.707, 1, 1.5, 2, 3, 5, 10, 18 };
	const double rate = 44100;
	double worst = 0, worst_rbj = 0, wg = 0, wq = 0;

	for (unsigned a = 0; a < sizeof(gains) / sizeof(gains[0]); a++)
		for (unsigned b = 0; b < sizeof(qs) / sizeof(qs[0]); b++) {
			struct setting s = { BELL, 16000, gains[a], qs[b], 0 };

			for (unsigned i = 0; i <= 200; i++) {
				double f = 1000 * pow(20, i / 200.0);
				double ref = analog_db(&s, rate, f);
				double d = fabs(design_db(&s, rate, f) - ref);
				double e = fabs(rbj_bell_db(rate, 16000, gains[a], qs[b], f) - ref);

				if (d > worst) {
					worst = d;
					wg = gains[a];
					wq = qs[b];
				}
				if (e > worst_rbj)
					worst_rbj = e;
			}
		}
	printf("16 kHz bell at 44.1 kHz vs analog up to 20 kHz: worst %.3f dB (%+g dB, Q %g); "
	       "bilinear (RBJ) %.2f dB\n", worst, wg, wq, worst_rbj);
	ASSERT_LE("16 kHz bell: design vs analog prototype (dB)", worst, 0.5);

	/* shelves high up: within 0.5 dB too (Q <= 1, ±12 dB) */
	{
		static const struct setting sh[] = {
			{ HIGH_SHELF, 10000, 6, 0.707, 0 }, { HIGH_SHELF, 12000, -12, 1, 0 },
			{ LOW_SHELF, 12000, -6, 0.707, 0 }, { LOW_SHELF, 8000, 12, 0.5, 0 },
			{ HIGH_SHELF, 16000, 3, 0.707, 0 },
		};
		double ws = 0;

		for (unsigned k = 0; k < sizeof(sh) / sizeof(sh[0]); k++)
			for (unsigned i = 0; i <= 200; i++) {
				double f = 20 * pow(1000, i / 200.0);
				double d = fabs(design_db(&sh[k], rate, f) -
						analog_db(&sh[k], rate, f));

				if (d > ws)
					ws = d;
			}
		printf("shelves at 8 … 16 kHz vs analog: worst %.3f dB\n", ws);
		ASSERT_LE("high shelves: design vs analog prototype (dB)", ws, 0.5);
	}

	/* measured */
	{
		static const struct setting ms[] = {
			{ BELL, 16000, 6, 1, 0 }, { BELL, 16000, -12, 0.5, 0 },
			{ BELL, 16000, 12, 2, 0 }, { BELL, 16000, 24, 0.707, 0 },
		};
		double w = 0;

		for (unsigned k = 0; k < sizeof(ms) / sizeof(ms[0]); k++) {
			struct chain_proc *p = eq_open(rate);

			setup(p, &ms[k], STEREO);
			for (double f = 8000; f <= 20000; f += 1000) {
				double l, r, ref = analog_db(&ms[k], rate, f);
				char msg[80];

				measure(p, &ms[k], rate, f, &l, &r);
				snprintf(msg, sizeof(msg),
					 "16 kHz bell %+g dB Q %g at %g Hz vs analog",
					 ms[k].gain, ms[k].q, f);
				ASSERT_CLOSE(msg, ref, l, 0.5);
				if (fabs(l - ref) > w)
					w = fabs(l - ref);
			}
			eq_close(&p);
		}
		printf("16 kHz bell, measured 8 … 20 kHz vs analog: worst %.3f dB\n", w);
	}
}

/*
 * Butterworth slopes: -3.01 dB at the corner (every section is matched
 * there), and two octaves into the stopband the analog
 * 10·log10(1 + 4^(2n)) ≈ 12.04·n dB, i.e. slope × 2 octaves within 0.5 dB
 * (the 6 dB/oct section: 12.3 dB).
 */
static void test_slopes(void)
{
	const double rate = 48000, fc = 1000;

	for (int hp = 0; hp < 2; hp++)
		for (unsigned k = 0; k < 6; k++) {
			struct setting s = { hp ? HIGH_PASS : LOW_PASS, fc, 0, 1, k };
			struct chain_proc *p = eq_open(rate);
			double c, cr, a, ar, fa = hp ? fc / 4 : fc * 4;
			char msg[80];

			setup(p, &s, STEREO);
			measure(p, &s, rate, fc, &c, &cr);
			measure(p, &s, rate, fa, &a, &ar);
			snprintf(msg, sizeof(msg), "%s %u dB/oct: at the corner (dB)",
				 type_name[s.type], slope_db[k]);
			ASSERT_CLOSE(msg, -10 * log10(2), c, 0.05);
			snprintf(msg, sizeof(msg), "%s %u dB/oct: two octaves out (dB)",
				 type_name[s.type], slope_db[k]);
			ASSERT_CLOSE(msg, -2.0 * slope_db[k], a, 0.5);
			printf("%-9s %2u dB/oct: corner %.3f dB, 2 octaves out %.2f dB\n",
			       type_name[s.type], slope_db[k], c, a);
			eq_close(&p);
		}
}

/*
 * The tilt: -tilt/2 at the bottom, 0 dB at the pivot, +tilt/2 at the top
 * (against the analog first-order pair within 0.1 dB), and 0 dB is
 * bit-exact passthrough again once the tilt has been brought back to it.
 */
static void test_tilt(void)
{
	static const struct setting ts[] = {
		{ TILT, 1000, 6, 1, 0 }, { TILT, 1000, -6, 1, 0 }, { TILT, 300, 3, 1, 0 },
		{ TILT, 4000, -2, 1, 0 },
	};
	const double rate = 48000;

	for (unsigned k = 0; k < sizeof(ts) / sizeof(ts[0]); k++) {
		struct chain_proc *p = eq_open(rate);
		double lo, hi, mid, r;
		char msg[80];

		setup(p, &ts[k], STEREO);
		measure(p, &ts[k], rate, 20, &lo, &r);
		measure(p, &ts[k], rate, ts[k].f, &mid, &r);
		measure(p, &ts[k], rate, 20000, &hi, &r);
		snprintf(msg, sizeof(msg), "tilt %+g dB at %g Hz: 20 Hz", ts[k].gain, ts[k].f);
		ASSERT_CLOSE(msg, analog_db(&ts[k], rate, 20), lo, 0.1);
		snprintf(msg, sizeof(msg), "tilt %+g dB at %g Hz: pivot", ts[k].gain, ts[k].f);
		ASSERT_CLOSE(msg, 0, mid, 0.05);
		snprintf(msg, sizeof(msg), "tilt %+g dB at %g Hz: 20 kHz", ts[k].gain, ts[k].f);
		ASSERT_CLOSE(msg, analog_db(&ts[k], rate, 20000), hi, 0.1);
		printf("tilt %+g dB pivot %g Hz: 20 Hz %+.2f, pivot %+.3f, 20 kHz %+.2f dB\n",
		       ts[k].gain, ts[k].f, lo, mid, hi);
		eq_close(&p);
	}
	/* back to 0: bit-exact once the state has drained */
	{
		struct chain_proc *p = eq_open(rate);
		size_t n = 48000;
		float *l = fbuf(n), *r = fbuf(n), *il = fbuf(n), *ir = fbuf(n);
		float *in2 = fbuf(2 * n);
		int same = 1;

		gen_music(in2, n, 2, rate, 0.5, 3);
		for (size_t i = 0; i < n; i++) {
			il[i] = l[i] = in2[2 * i];
			ir[i] = r[i] = in2[2 * i + 1];
		}
		eq_set(p, "tilt_db", 4, 0);
		eq_run(p, l, r, n, 256);
		ASSERT_TRUE("the tilt acts", memcmp(l, il, n * sizeof(float)) != 0);
		eq_set(p, "tilt_db", 0, 0);
		memcpy(l, il, n * sizeof(float));
		memcpy(r, ir, n * sizeof(float));
		eq_run(p, l, r, n, 256);
		/* the glide (tau 20 ms) and the drain take well under 0.5 s */
		for (size_t i = n / 2; i < n; i++)
			if (l[i] != il[i] || r[i] != ir[i])
				same = 0;
		ASSERT_TRUE("tilt back at 0 dB: bit-exact again", same);
		free(l);
		free(r);
		free(il);
		free(ir);
		free(in2);
		eq_close(&p);
	}
}

/* ---- routing ---- */

static int equal(const float *a, const float *b, size_t n)
{
	return memcmp(a, b, n * sizeof(float)) == 0;
}

/*
 * Mid/side/left/right: a side band leaves a mono signal bit-exact, a mid
 * band leaves a pure side signal bit-exact, a left band the right channel
 * and a right band the left; and each does act on its own channel, with
 * the design's gain.
 */
static void test_routing(void)
{
	const double rate = 48000, f = 1000;
	const struct setting bell = { BELL, 1000, 12, 1, 0 };
	size_t n = 24000;
	float *in = fbuf(2 * n), *m = fbuf(n), *l = fbuf(n), *r = fbuf(n);
	double want = design_db(&bell, rate, f);
	struct chain_proc *p;

	gen_music(in, n, 1, rate, 0.8, 7);
	for (size_t i = 0; i < n; i++)
		in[i] += (float)(0.1 * sin(2 * M_PI * f * (double)i / rate));

	/* side band on mono */
	p = eq_open(rate);
	band_setup(p, 4, BELL, 1000, 12, 1, 0, SIDE);
	band_setup(p, 6, HIGH_PASS, 200, 0, 1, 3, SIDE);
	memcpy(l, in, n * sizeof(float));
	memcpy(r, in, n * sizeof(float));
	eq_run(p, l, r, n, 100);
	ASSERT_TRUE("side bands leave mono bit-exact (left)", equal(l, in, n));
	ASSERT_TRUE("side bands leave mono bit-exact (right)", equal(r, in, n));
	/* … and act on side: L = x, R = -x */
	chain_eq_ops.reset(p);
	band_set(p, 6, "on", 0, 1);
	gen_sine(l, n, 1, rate, f, 0.1, 0);
	for (size_t i = 0; i < n; i++)
		r[i] = -l[i];
	eq_run(p, l, r, n, 100);
	ASSERT_CLOSE("side band on side: left gain (dB)", want,
		     lin_to_db(measure_sine_amp(l + n / 2, n / 2, 1, rate, f) / 0.1), 0.05);
	ASSERT_CLOSE("side band on side: right gain (dB)", want,
		     lin_to_db(measure_sine_amp(r + n / 2, n / 2, 1, rate, f) / 0.1), 0.05);
	eq_close(&p);

	/* mid band on side */
	p = eq_open(rate);
	band_setup(p, 2, LOW_SHELF, 300, -6, 0.707, 0, MID);
	band_setup(p, 5, BELL, 1000, 12, 1, 0, MID);
	for (size_t i = 0; i < n; i++) {
		l[i] = in[i];
		r[i] = -in[i];
		m[i] = -in[i];
	}
	eq_run(p, l, r, n, 100);
	ASSERT_TRUE("mid bands leave side bit-exact (left)", equal(l, in, n));
	ASSERT_TRUE("mid bands leave side bit-exact (right)", equal(r, m, n));
	/* … and act on mono */
	chain_eq_ops.reset(p);
	band_set(p, 2, "on", 0, 1);
	gen_sine(l, n, 1, rate, f, 0.1, 0);
	memcpy(r, l, n * sizeof(float));
	eq_run(p, l, r, n, 100);
	ASSERT_CLOSE("mid band on mono (dB)", want,
		     lin_to_db(measure_sine_amp(l + n / 2, n / 2, 1, rate, f) / 0.1), 0.05);
	eq_close(&p);

	/* left, right */
	for (int ch = LEFT; ch <= RIGHT; ch++) {
		const struct setting lp = { LOW_PASS, 5000, 0, 1, 5 };
		float *kept, *acted;

		p = eq_open(rate);
		band_setup(p, 3, BELL, 1000, 12, 1, 0, ch);
		band_setup(p, 7, LOW_PASS, 5000, 0, 1, 5, ch);
		gen_sine(l, n, 1, rate, f, 0.1, 0);
		memcpy(r, l, n * sizeof(float));
		memcpy(m, l, n * sizeof(float));
		eq_run(p, l, r, n, 100);
		kept = ch == LEFT ? r : l;
		acted = ch == LEFT ? l : r;
		ASSERT_TRUE(ch == LEFT ? "left bands leave right bit-exact" :
			    "right bands leave left bit-exact", equal(kept, m, n));
		ASSERT_CLOSE("and act on their own channel (dB)", want + design_db(&lp, rate, f),
			     lin_to_db(measure_sine_amp(acted + n / 2, n / 2, 1, rate, f) / 0.1),
			     0.05);
		eq_close(&p);
	}
	free(in);
	free(m);
	free(l);
	free(r);
}

/* Defaults are bit-exact passthrough with zero latency, including a band
 * switched on at 0 dB once it has settled, and tiny and negative inputs. */
static void test_passthrough(void)
{
	const double rate = 44100;
	size_t n = 44100;
	float *in = fbuf(2 * n), *l = fbuf(n), *r = fbuf(n), *il = fbuf(n), *ir = fbuf(n);
	struct chain_proc *p = eq_open(rate);

	gen_music(in, n, 2, rate, 1.0, 5);
	for (size_t i = 0; i < n; i++) {
		il[i] = l[i] = in[2 * i];
		ir[i] = r[i] = in[2 * i + 1];
	}
	il[100] = l[100] = 1e-40f;  /* subnormal in */
	ir[101] = r[101] = -0.0f;
	il[102] = l[102] = 3e38f;
	ASSERT_INT("latency", 0, chain_eq_ops.latency(p));
	eq_run(p, l, r, n, 333);
	ASSERT_TRUE("defaults: bit-exact (left)", equal(l, il, n));
	ASSERT_TRUE("defaults: bit-exact (right)", equal(r, ir, n));
	eq_close(&p);
	free(in);
	free(l);
	free(r);
	free(il);
	free(ir);
}

/* ---- state ---- */

/* Every band on, with every type, both domains, the tilt too. */
static void busy_setup(struct chain_proc *p)
{
	band_setup(p, 1, HIGH_PASS, 30, 0, 1, 5, STEREO);
	band_setup(p, 2, LOW_SHELF, 100, 4, 0.707, 0, MID);
	band_setup(p, 3, BELL, 300, -3, 2, 0, SIDE);
	band_setup(p, 4, BELL, 1000, 6, 0.7, 0, LEFT);
	band_setup(p, 5, BELL, 3000, -6, 4, 0, RIGHT);
	band_setup(p, 6, HIGH_SHELF, 8000, 3, 0.707, 0, STEREO);
	band_setup(p, 7, LOW_PASS, 18000, 0, 1, 2, SIDE);
	band_setup(p, 8, BELL, 15000, 9, 1.5, 0, STEREO);
	eq_set(p, "tilt_db", 2, 1);
	eq_set(p, "tilt_hz", 700, 1);
}

static void test_reset(void)
{
	const double rate = 48000;
	size_t n = 4096;
	float *l = fbuf(n), *r = fbuf(n), *l2 = fbuf(n), *r2 = fbuf(n);
	struct chain_proc *p = eq_open(rate), *q = eq_open(rate);
	int zero = 1;

	busy_setup(p);
	busy_setup(q);
	for (size_t i = 0; i < n; i++)
		l[i] = r[i] = 1.0f;
	eq_run(p, l, r, n, 1024);
	/* a change in flight (a fade, a glide) when the reset comes */
	band_set(p, 4, "type", LOW_PASS, 0);
	band_set(p, 5, "freq_hz", 100, 0);
	band_set(q, 4, "type", LOW_PASS, 1);
	band_set(q, 5, "freq_hz", 100, 1);
	eq_run(p, l, r, 100, 100);
	chain_eq_ops.reset(p);
	memset(l, 0, n * sizeof(float));
	memset(r, 0, n * sizeof(float));
	eq_run(p, l, r, n, 1024);
	for (size_t i = 0; i < n; i++)
		if (l[i] != 0.0f || r[i] != 0.0f)
			zero = 0;
	ASSERT_TRUE("ones, reset, zeros: exact zeros", zero);
	/* parameters kept, settled: the same as a fresh EQ set at once */
	gen_music(l, n, 1, rate, 0.7, 11);
	memcpy(r, l, n * sizeof(float));
	memcpy(l2, l, n * sizeof(float));
	memcpy(r2, l, n * sizeof(float));
	chain_eq_ops.reset(p);
	chain_eq_ops.reset(q);
	eq_run(p, l, r, n, 77);
	eq_run(q, l2, r2, n, 77);
	ASSERT_TRUE("after reset: as a fresh EQ with the targets",
		    equal(l, l2, n) && equal(r, r2, n));
	eq_close(&p);
	eq_close(&q);
	free(l);
	free(r);
	free(l2);
	free(r2);
}

/*
 * Call sizes 1, 7, 32, 333, 1024 against 1, with glides, a fade (type
 * change), a band switched on and the tilt moving, at frames that are not
 * multiples of 32.
 */
static void test_block_sizes(void)
{
	static const unsigned sizes[] = { 1, 7, 32, 333, 1024 };
	const double rate = 44100;
	size_t n = 44100;
	float *in = fbuf(2 * n), *refl = NULL, *refr = NULL;

	gen_music(in, n, 2, rate, 0.8, 9);
	for (unsigned k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		struct chain_proc *p = eq_open(rate);
		float *l = fbuf(n), *r = fbuf(n);
		size_t i = 0;
		double maxd = 0;

		busy_setup(p);
		band_set(p, 8, "on", 0, 1);
		for (size_t t = 0; t < n; t++) {
			l[t] = in[2 * t];
			r[t] = in[2 * t + 1];
		}
		while (i < n) {
			unsigned m = n - i < sizes[k] ? (unsigned)(n - i) : sizes[k];
			float *b[2] = { l + i, r + i };

			/* events land on fixed frames, whatever the call size */
			if (i == 5001) {
				band_set(p, 4, "freq_hz", 8000, 0);
				band_set(p, 3, "type", LOW_SHELF, 0);
				eq_set(p, "tilt_db", -5, 0);
			} else if (i == 12345) {
				band_set(p, 8, "on", 1, 0);
				band_set(p, 2, "gain_db", -12, 0);
				band_set(p, 1, "slope_db_oct", 0, 0);
			}
			if (i < 5001 && 5001 < i + m)
				m = (unsigned)(5001 - i);
			if (i < 12345 && 12345 < i + m)
				m = (unsigned)(12345 - i);
			chain_eq_ops.process(p, b, m);
			i += m;
		}
		if (!refl) {
			refl = l;
			refr = r;
		} else {
			char msg[64];

			for (size_t t = 0; t < n; t++) {
				maxd = fmax(maxd, fabs((double)l[t] - refl[t]));
				maxd = fmax(maxd, fabs((double)r[t] - refr[t]));
			}
			snprintf(msg, sizeof(msg), "calls of %u frames vs 1", sizes[k]);
			ASSERT_LE(msg, maxd, 1e-6);
			printf("calls of %4u frames vs 1: max difference %.3g\n", sizes[k], maxd);
			free(l);
			free(r);
		}
		eq_close(&p);
	}
	free(refl);
	free(refr);
	free(in);
}

/* ---- parameter jumps ---- */

/*
 * Every parameter jumps from its minimum to its maximum (and back), with a
 * sine of amplitude A at f through the EQ; the largest sample-to-sample
 * step of the output must stay under a bound derived from the design
 * formula.
 *
 * A sine through a fixed response H changes per sample by at most
 * 2·sin(pi·f/fs)·A·|H|.  While a value glides, the EQ's coefficients move
 * linearly within each sub-block of 32 frames from the design at one
 * sub-block end to the next, so the response at f moves per frame by
 * about |H_k - H_(k-1)| / 32, H_k the design formula at the value the
 * smoother (replayed here with the EQ's time constant, snap distances and
 * octave limit) reaches at the end of sub-block k.  Hence, for a glide,
 *	step <= 1.25 · A · (2·sin(pi·f/fs)·max|H_k| + max|H_k - H_(k-1)| / 32),
 * the 25 % for the transients of a time-varying filter.  A discrete change
 * crossfades the old output y0 and the new y1 with a weight w rising by
 * 1/F per frame (F = 10 ms): y0 + w·(y1 - y0) moves by at most the larger
 * of their own steps plus |y1 - y0|/F <= A·(|H0| + |H1|)/F; the new
 * configuration starts from zero state, and its start-up transient (up to
 * its own steady amplitude again) is allowed for by doubling |H1|:
 *	step <= 1.25 · A · (2·sin(pi·f/fs)·(|H0| + 2|H1|) + (|H0| + 2|H1|)/F).
 * For scale, the bound is printed next to the step a jump of the response
 * alone would make, A·|H1 - H0|.
 */
enum jump_unit { J_LOG2, J_DB, J_DISCRETE };

struct jump {
	const char *param;       /* band 1's, or the tilt's */
	double from, to;
	enum jump_unit unit;
	struct setting base;     /* band 1 (or the tilt) before the jump */
	int channel;
	double f;                /* input frequency */
};

static struct setting jump_apply(const struct jump *j, double v)
{
	struct setting s = j->base;

	if (strcmp(j->param, "freq_hz") == 0 || strcmp(j->param, "tilt_hz") == 0)
		s.f = v;
	else if (strcmp(j->param, "gain_db") == 0 || strcmp(j->param, "tilt_db") == 0)
		s.gain = v;
	else if (strcmp(j->param, "q") == 0)
		s.q = v;
	else if (strcmp(j->param, "type") == 0)
		s.type = (int)v;
	else if (strcmp(j->param, "slope_db_oct") == 0)
		s.slope = (unsigned)v;
	return s;
}

/* |H| and H of a setting at f; "on" = 0 is unity, a mid/side band on a
 * signal with both is bounded by its stereo response plus unity. */
static double jump_h(const struct jump *j, double v, double rate, double *re, double *im)
{
	struct setting s = jump_apply(j, v);

	if (strcmp(j->param, "on") == 0 && v < 0.5) {
		*re = 1;
		*im = 0;
		return 1;
	}
	design_h(&s, rate, j->f, re, im);
	return hypot(*re, *im);
}

static void test_jumps(void)
{
	static const struct jump jumps[] = {
		{ "gain_db", -24, 24, J_DB, { BELL, 100, -24, 1, 0 }, STEREO, 100 },
		{ "gain_db", 24, -24, J_DB, { BELL, 100, 24, 1, 0 }, STEREO, 100 },
		{ "freq_hz", 10, 22000, J_LOG2, { BELL, 10, 12, 1, 0 }, STEREO, 100 },
		{ "freq_hz", 22000, 10, J_LOG2, { BELL, 22000, 24, 18, 0 }, STEREO, 100 },
		{ "q", 0.1, 18, J_LOG2, { BELL, 100, 12, 0.1, 0 }, STEREO, 120 },
		{ "q", 18, 0.1, J_LOG2, { BELL, 100, -24, 18, 0 }, STEREO, 150 },
		{ "freq_hz", 10, 22000, J_LOG2, { HIGH_PASS, 10, 0, 1, 5 }, STEREO, 100 },
		{ "freq_hz", 22000, 10, J_LOG2, { LOW_PASS, 22000, 0, 1, 1 }, STEREO, 100 },
		{ "gain_db", -24, 24, J_DB, { LOW_SHELF, 200, -24, 0.707, 0 }, STEREO, 100 },
		{ "freq_hz", 10, 22000, J_LOG2, { HIGH_SHELF, 10, 24, 2, 0 }, STEREO, 100 },
		{ "tilt_db", -6, 6, J_DB, { TILT, 1000, -6, 1, 0 }, STEREO, 100 },
		{ "tilt_hz", 100, 10000, J_LOG2, { TILT, 100, 6, 1, 0 }, STEREO, 100 },
		{ "on", 0, 1, J_DISCRETE, { BELL, 100, 24, 1, 0 }, STEREO, 100 },
		{ "on", 1, 0, J_DISCRETE, { HIGH_PASS, 100, 0, 1, 5 }, STEREO, 100 },
		{ "type", BELL, LOW_PASS, J_DISCRETE, { BELL, 100, 24, 1, 5 }, STEREO, 100 },
		{ "slope_db_oct", 0, 5, J_DISCRETE, { HIGH_PASS, 100, 0, 1, 0 }, STEREO, 100 },
		{ "channel", STEREO, RIGHT, J_DISCRETE, { BELL, 100, 24, 1, 0 }, STEREO, 100 },
		{ "channel", STEREO, SIDE, J_DISCRETE, { BELL, 100, 24, 1, 0 }, STEREO, 100 },
		{ "channel", LEFT, RIGHT, J_DISCRETE, { LOW_SHELF, 200, 24, 1, 0 }, LEFT, 100 },
	};
	const double rate = 48000, A = 0.25, F = round(CHAIN_BYPASS_MS * 1e-3 * rate);
	size_t n = 72000, at = 24000 + 13;

	for (unsigned k = 0; k < sizeof(jumps) / sizeof(jumps[0]); k++) {
		const struct jump *j = &jumps[k];
		int tilt = j->base.type == TILT;
		struct chain_proc *p = eq_open(rate);
		float *l = fbuf(n), *r = fbuf(n);
		double step = 0, bound, re0, im0, re1, im1, h0, h1, hmax, dmax = 0;
		char id[32], msg[96];

		/* the glide, replayed */
		h0 = jump_h(j, j->from, rate, &re0, &im0);
		h1 = jump_h(j, j->to, rate, &re1, &im1);
		if (j->unit == J_DISCRETE) {
			double s0 = 2 * sin(M_PI * j->f / rate);

			bound = 1.25 * A * (s0 * (h0 + 2 * h1) + (h0 + 2 * h1) / F);
		} else {
			struct chain_smooth sm;
			double lo = j->unit == J_LOG2 ? log2(j->from) : j->from;
			double hi = j->unit == J_LOG2 ? log2(j->to) : j->to;
			double snap = strcmp(j->param, "q") == 0 ? EQ_Q_SNAP :
				      j->unit == J_LOG2 ? EQ_FREQ_SNAP : EQ_GAIN_SNAP;
			double pre = re0, pim = im0;

			hmax = fmax(h0, h1);
			chain_smooth_init(&sm, rate, EQ_TAU_MS, snap, lo);
			chain_smooth_set(&sm, hi, 0);
			for (int b = 0; b < 20000; b++) {
				double v, re, im, h;

				if (chain_smooth_steady(&sm) && sm.end == hi)
					break;
				chain_smooth_block(&sm);
				if (j->unit == J_LOG2 && strcmp(j->param, "q") != 0)
					sm.end = fmin(fmax(sm.end, sm.start - EQ_OCT_MAX),
						      sm.start + EQ_OCT_MAX);
				v = j->unit == J_LOG2 ? exp2(sm.end) : sm.end;
				h = jump_h(j, v, rate, &re, &im);
				hmax = fmax(hmax, h);
				dmax = fmax(dmax, hypot(re - pre, im - pim));
				pre = re;
				pim = im;
			}
			bound = 1.25 * A *
				(2 * sin(M_PI * j->f / rate) * hmax + dmax / CHAIN_SUBBLOCK);
		}

		if (tilt) {
			eq_set(p, "tilt_hz", j->base.f, 1);
			eq_set(p, "tilt_db", j->base.gain, 1);
		} else {
			band_setup(p, 1, j->base.type, j->base.f, j->base.gain, j->base.q,
				   j->base.slope, j->channel);
			if (strcmp(j->param, "on") == 0)
				band_set(p, 1, "on", j->from, 1);
		}
		gen_sine(l, n, 1, rate, j->f, A, 0);
		/* a channel change needs left and right to differ */
		for (size_t i = 0; i < n; i++)
			r[i] = strcmp(j->param, "channel") == 0 ?
				(float)(0.3 * A * sin(2 * M_PI * 1.5 * j->f * (double)i / rate)) :
				l[i];
		eq_run(p, l, r, at, 256);
		if (tilt)
			snprintf(id, sizeof(id), "%s", j->param);
		else
			snprintf(id, sizeof(id), "1.%s", j->param);
		eq_set(p, id, j->to, 0);
		eq_run(p, l + at, r + at, n - at, 256);
		for (size_t i = at; i < n; i++) {
			step = fmax(step, fabs((double)l[i] - l[i - 1]));
			step = fmax(step, fabs((double)r[i] - r[i - 1]));
		}
		snprintf(msg, sizeof(msg), "%s %s %g -> %g: largest step", type_name[j->base.type],
			 j->param, j->from, j->to);
		ASSERT_LE(msg, step, bound);
		printf("%-10s %-12s %7g -> %-7g: step %.4f, bound %.4f (response jump %.3f)\n",
		       type_name[j->base.type], j->param, j->from, j->to, step, bound,
		       A * hypot(re1 - re0, im1 - im0));
		free(l);
		free(r);
		eq_close(&p);
	}
}

/* ---- extremes ---- */

/*
 * Finite output at extreme settings (+24 dB, Q 18, 10 Hz and 22 kHz,
 * 48 dB/oct, tilt ±6) on DC, a full-scale square, silence, Nyquist, and a
 * NaN in the input (which may spoil its own frames, not the rest).
 */
static void test_hostile(void)
{
	const double rate = 44100;
	size_t seg = 4410, n = 6 * seg;
	float *src = fbuf(n), *l = fbuf(n), *r = fbuf(n);

	for (size_t i = 0; i < n; i++) {
		size_t s = i / seg;

		src[i] = s == 0 ? 1.0f :                        /* DC */
			 s == 1 ? ((i / 50) % 2 ? 1.0f : -1.0f) : /* square, 441 Hz */
			 s == 2 ? 0.0f :                        /* silence */
			 s == 3 ? ((i % 2) ? 1.0f : -1.0f) :      /* Nyquist */
			 s == 4 ? ((i / 5) % 2 ? 1.0f : -1.0f) :  /* square, 4.4 kHz */
			 -1.0f;                                 /* negative DC */
	}
	for (unsigned v = 0; v < 4; v++) {
		struct chain_proc *p = eq_open(rate);
		int finite = 1;
		double peak = 0;

		for (unsigned b = 1; b <= 8; b++) {
			int type = (int)((b + v) % 5);
			double f = (b + v) % 2 ? 10 : 22000;

			band_setup(p, b, type, f, v % 2 ? 24 : -24, v < 2 ? 18 : 0.1, 5,
				   (int)((b + v) % 5));
		}
		eq_set(p, "tilt_db", v % 2 ? 6 : -6, 1);
		eq_set(p, "tilt_hz", v < 2 ? 100 : 10000, 1);
		memcpy(l, src, n * sizeof(float));
		for (size_t i = 0; i < n; i++)
			r[i] = -src[i];
		l[3 * seg + 7] = NAN;
		eq_run(p, l, r, n, 256);
		for (size_t i = 0; i < n; i++) {
			if (i / 32 == (3 * seg + 7) / 32)
				continue;  /* the NaN's own sub-block */
			if (!isfinite(l[i]) || !isfinite(r[i]))
				finite = 0;
			peak = fmax(peak, fmax(fabs(l[i]), fabs(r[i])));
		}
		ASSERT_TRUE("finite output at extreme settings", finite);
		printf("extreme settings %u: finite, peak %.3g\n", v, peak);
		eq_close(&p);
	}
	free(src);
	free(l);
	free(r);
}

/*
 * Denormals.  After a tone through every band, silence decays and then is
 * exact zeros: state below -400 dB is flushed once per sub-block, so no
 * value ever decays through the subnormal range.  Checked on the outputs
 * (never subnormal, exact zeros within a second); the time of silence after
 * the tone against a tone is printed as a second opinion.
 */
static double seconds(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void test_denormals(void)
{
	const double rate = 48000;
	size_t n = 48000;
	float *l = fbuf(n), *r = fbuf(n);
	struct chain_proc *p = eq_open(rate);
	int sub = 0, zero = 1;
	double t0, t1, t2, t3;

	busy_setup(p);
	gen_sine(l, n, 1, rate, 997, 0.9, 0);
	memcpy(r, l, n * sizeof(float));
	t0 = seconds();
	eq_run(p, l, r, n, 256);
	t1 = seconds();
	for (int s = 0; s < 3; s++) {
		memset(l, 0, n * sizeof(float));
		memset(r, 0, n * sizeof(float));
		t2 = seconds();
		eq_run(p, l, r, n, 256);
		t3 = seconds();
		for (size_t i = 0; i < n; i++) {
			if (fpclassify(l[i]) == FP_SUBNORMAL || fpclassify(r[i]) == FP_SUBNORMAL)
				sub = 1;
			if (s == 2 && (l[i] != 0.0f || r[i] != 0.0f))
				zero = 0;
		}
	}
	ASSERT_TRUE("no subnormal output in the tail", !sub);
	ASSERT_TRUE("silence after a tone: exact zeros after 2 s", zero);
	printf("per second of audio: tone %.2f ms, silence %.2f ms\n", (t1 - t0) * 1e3,
	       (t3 - t2) * 1e3);
	free(l);
	free(r);
	eq_close(&p);
}

/* ---- the plain program's two paths ---- */

/*
 * Steady stereo sections only (the plain program) run two ways: within
 * one sub-block of 32 frames two lanes wide, and, with eight sections or
 * more on a processor with AVX, the first eight four lanes wide, at rest
 * over spans of several sub-blocks with the states cleaned at each
 * sub-block start inside the span.  Calls of 1 and 7 frames take the
 * first way only, calls of 1024 and 4096 the second where it exists
 * (tests/test_eq_sse2 builds the EQ without it); the outputs must be the
 * same to the bit, over music, then 4 s of silence (through the flush of
 * tiny states: the tail must end in exact zeros), then music with NaN in
 * it (the states cleared at the next sub-block start).  Settings: the
 * bench's eight bells (8 sections), and the same with a 48 dB/oct
 * high-pass and the tilt (13: the AVX group and two-lane groups after it).
 */
static void test_plain_paths(void)
{
	static const unsigned sizes[] = { 1, 7, 32, 333, 1024, 4096 };
	const double rate = 44100;
	const size_t n1 = 88200, n2 = 4 * 44100, n = n1 + n2 + 44100;
	float *in = fbuf(2 * n);

	gen_music_gap_nan(in, n1, n2, n, rate, 0.8);
	for (int busy = 0; busy < 2; busy++) {
		float *refl = NULL, *refr = NULL;

		for (unsigned k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
			struct chain_proc *p = eq_open(rate);
			float *l = fbuf(n), *r = fbuf(n);
			size_t i = 0, zeros = 0;
			char msg[96];

			band_setup(p, 1, BELL, 40, 3, 1, 0, STEREO);
			band_setup(p, 2, BELL, 90, -3, 1, 0, STEREO);
			band_setup(p, 3, BELL, 200, 3, 1, 0, STEREO);
			band_setup(p, 4, BELL, 450, -3, 1, 0, STEREO);
			band_setup(p, 5, BELL, 1000, 3, 1, 0, STEREO);
			band_setup(p, 6, BELL, 2500, -3, 1, 0, STEREO);
			band_setup(p, 7, BELL, 6000, 3, 1, 0, STEREO);
			band_setup(p, 8, BELL, 12000, -3, 1, 0, STEREO);
			if (busy) {
				band_setup(p, 1, HIGH_PASS, 30, 0, 1, 5, STEREO);
				band_setup(p, 2, BELL, 60, 2, 0.5, 0, STEREO);
				eq_set(p, "tilt_db", 1.5, 1);
			}
			for (size_t t = 0; t < n; t++) {
				l[t] = in[2 * t];
				r[t] = in[2 * t + 1];
			}
			while (i < n) {
				unsigned m = n - i < sizes[k] ? (unsigned)(n - i) : sizes[k];
				float *b[2] = { l + i, r + i };

				chain_eq_ops.process(p, b, m);
				i += m;
			}
			for (size_t t = n1 + n2 - 1; t > n1 && l[t] == 0.0f && r[t] == 0.0f; t--)
				zeros++;
			snprintf(msg, sizeof(msg), "%s, calls of %u: silence ends in exact zeros",
				 busy ? "13 sections" : "8 bells", sizes[k]);
			ASSERT_GE(msg, (double)zeros, 44100.0);
			snprintf(msg, sizeof(msg), "%s, calls of %u: finite after the NaN",
				 busy ? "13 sections" : "8 bells", sizes[k]);
			ASSERT_TRUE(msg, isfinite(l[n - 1]) && isfinite(r[n - 1]) &&
					 isfinite(l[n1 + n2 + 3000]));
			if (!refl) {
				refl = l;
				refr = r;
			} else {
				snprintf(msg, sizeof(msg), "%s: calls of %u frames = calls of 1, bit for bit",
					 busy ? "13 sections" : "8 bells", sizes[k]);
				ASSERT_TRUE(msg, same_bits(l, refl, n) && same_bits(r, refr, n));
				free(l);
				free(r);
			}
			eq_close(&p);
		}
		free(refl);
		free(refr);
	}
	free(in);
}

int main(void)
{
	test_table();
	test_passthrough();
	test_magnitude();
	test_cramping();
	test_slopes();
	test_tilt();
	test_routing();
	test_reset();
	test_block_sizes();
	test_plain_paths();
	test_jumps();
	test_hostile();
	test_denormals();
	return test_done();
}

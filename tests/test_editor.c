/*
 * termaster — unit test: the editor's curves and the undo history.
 *
 * The EQ curve the editor draws (tui_editor_eq_db) must be what the chain
 * does: random EQ settings, sines through a real chain (chain_process),
 * their gain measured by correlation, against the curve within 0.05 dB.
 * The multiband curve is flat at 0 dB when every band's gain is 0 and
 * equals a band's gain in the middle of that band.  The history: undo and
 * redo restore settings exactly, a run of one parameter's changes within
 * the coalescing window is one step, a change of another parameter is a
 * new step, a new change forgets the redo steps, and the depth is bounded.
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chain/chain.h"
#include "tests/util.h"
#include "tui/editor.h"
#include "tui/history.h"

#define RATE 48000.0
#define FRAMES 24000           /* 0.5 s per tone; the gain measured over the last half */

static uint32_t rng_state = 12345u;

static uint32_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 17;
	rng_state ^= rng_state << 5;
	return rng_state;
}

static double unif(void)
{
	return (rng() >> 8) / 16777216.0;
}

static void set(struct chain_settings *s, const char *id, const char *v)
{
	char msg[256];

	if (chain_settings_set(s, id, v, msg, sizeof(msg)))
		fprintf(stderr, "set %s: %s\n", id, msg);
}

static void setf(struct chain_settings *s, const char *id, double v)
{
	char buf[64];

	snprintf(buf, sizeof(buf), "%.6g", v);
	set(s, id, buf);
}

/* Random EQ: every band on with a random type, frequency, gain, Q, slope
 * on both channels; the tilt; everything else off so only the EQ acts. */
static void random_eq(struct chain_settings *s)
{
	static const char *const types[] = { "bell", "low shelf", "high shelf", "high-pass",
					     "low-pass" };
	char id[48];

	chain_settings_default(s);
	set(s, "limiter.on", "off");
	set(s, "eq.on", "on");
	for (int b = 1; b <= 8; b++) {
		int type = (int)(rng() % 5);
		double f = 40.0 * pow(400.0, unif());

		if (type == 3)          /* high-pass low, low-pass high: music survives */
			f = 20.0 + 60.0 * unif();
		if (type == 4)
			f = 12000.0 + 6000.0 * unif();
		snprintf(id, sizeof(id), "eq.%d.on", b);
		set(s, id, rng() % 4 ? "on" : "off");
		snprintf(id, sizeof(id), "eq.%d.type", b);
		set(s, id, types[type]);
		snprintf(id, sizeof(id), "eq.%d.freq_hz", b);
		setf(s, id, round(f));
		snprintf(id, sizeof(id), "eq.%d.gain_db", b);
		setf(s, id, round((unif() - 0.5) * 24.0 * 10.0) / 10.0);
		snprintf(id, sizeof(id), "eq.%d.q", b);
		setf(s, id, round((0.3 + 3.0 * unif()) * 100.0) / 100.0);
		snprintf(id, sizeof(id), "eq.%d.slope_db_oct", b);
		set(s, id, (const char *[]){ "6", "12", "24", "48" }[rng() % 4]);
	}
	setf(s, "eq.tilt_db", round((unif() - 0.5) * 6.0 * 10.0) / 10.0);
	setf(s, "eq.tilt_hz", round(300.0 + 3000.0 * unif()));
}

/* Gain in dB of the chain with settings s at f_hz, from a sine through it. */
static double chain_gain_db(const struct chain_settings *s, double f_hz)
{
	static float l[FRAMES], r[FRAMES], in[FRAMES * 2];
	float *buf[2] = { l, r };
	struct chain *c;
	int err = 0;
	double a;

	c = chain_new(RATE, FRAMES, s, &err);
	if (!c)
		return NAN;
	gen_sine(in, FRAMES, 2, RATE, f_hz, 0.01, 0.0);
	for (int i = 0; i < FRAMES; i++) {
		l[i] = in[2 * i];
		r[i] = in[2 * i + 1];
	}
	chain_process(c, buf, FRAMES);
	a = measure_sine_amp(l + FRAMES / 2, FRAMES / 2, 1, RATE, f_hz);
	chain_free(&c);
	return 20.0 * log10(a / 0.01);
}

static void test_eq_curve(void)
{
	static const double freqs[] = { 31.5, 63, 125, 250, 500, 1000, 2000, 4000, 8000, 12500 };
	double worst = 0;
	int n = 0;

	for (int set_no = 0; set_no < 12; set_no++) {
		struct chain_settings s;

		random_eq(&s);
		for (size_t k = 0; k < sizeof(freqs) / sizeof(freqs[0]); k++) {
			double want = chain_gain_db(&s, freqs[k]);
			double got = tui_editor_eq_db(&s, RATE, freqs[k]);

			if (want < -40.0)
				continue;   /* deep in a filter's stop band: noise floor */
			ASSERT_CLOSE("editor EQ curve = the chain's response (dB)", want, got, 0.05);
			if (fabs(want - got) > worst)
				worst = fabs(want - got);
			n++;
		}
	}
	/* a flat EQ reads 0 dB */
	{
		struct chain_settings s;

		chain_settings_default(&s);
		ASSERT_CLOSE("default EQ: flat", 0.0, tui_editor_eq_db(&s, RATE, 1000.0), 1e-9);
	}
	printf("EQ curve: %d points of 12 random EQs, worst %.4f dB from the chain\n", n, worst);
}

static void test_mb_curve(void)
{
	struct chain_settings s;
	float gr[4] = { 0, 0, 0, 0 };
	double worst = 0;

	chain_settings_default(&s);
	for (double f = 20.0; f <= 20000.0; f *= 1.1)
		worst = fmax(worst, fabs(tui_editor_mb_db(&s, NULL, f)));
	ASSERT_CLOSE("multiband at unity gains: flat (dB)", 0.0, worst, 1e-9);
	/* 3 bands at 120 / 2000 Hz: band 2 +6 dB, band 3 with 4 dB of GR */
	set(&s, "mb.bands", "3");
	setf(&s, "mb.xover1_hz", 120);
	setf(&s, "mb.xover2_hz", 2000);
	setf(&s, "mb.2.gain_db", 6);
	gr[2] = 4.0f;
	ASSERT_CLOSE("multiband: band 2's gain mid-band", 6.0, tui_editor_mb_db(&s, gr, 490.0), 0.05);
	ASSERT_CLOSE("multiband: band 3's gain reduction", -4.0, tui_editor_mb_db(&s, gr, 15000.0), 0.05);
	ASSERT_CLOSE("multiband: band 1 untouched", 0.0, tui_editor_mb_db(&s, gr, 25.0), 0.05);
}

static void fill(struct chain_settings *s, float v)
{
	for (int i = 0; i < CHAIN_PARAM_MAX; i++)
		s->value[i] = v;
}

static void test_history(void)
{
	struct tui_history h;
	struct chain_settings now, a;

	ASSERT_INT("history init", 0, tui_history_init(&h));
	fill(&now, 0);
	/* a held key on parameter 3: ten changes 0.1 s apart, one step */
	for (int k = 0; k < 10; k++) {
		struct chain_settings before = now;

		now.value[3] = (float)(k + 1);
		tui_history_record(&h, &before, 4, 0.1 * k);
	}
	ASSERT_INT("a held key is one step", 1, tui_history_undo_depth(&h));
	/* another parameter: a new step; the same one after a pause too */
	{
		struct chain_settings before = now;

		now.value[5] = 1;
		tui_history_record(&h, &before, 6, 1.0);
		before = now;
		now.value[5] = 2;
		tui_history_record(&h, &before, 6, 3.0);
	}
	ASSERT_INT("three steps", 3, tui_history_undo_depth(&h));
	a = now;
	ASSERT_TRUE("undo", tui_history_undo(&h, &now));
	ASSERT_TRUE("undo: parameter 5 back to 1", now.value[5] == 1 && now.value[3] == 10);
	ASSERT_TRUE("undo", tui_history_undo(&h, &now));
	ASSERT_TRUE("undo", tui_history_undo(&h, &now));
	ASSERT_TRUE("undo: all back to zero", now.value[3] == 0 && now.value[5] == 0);
	ASSERT_TRUE("nothing more to undo", !tui_history_undo(&h, &now));
	ASSERT_INT("three to redo", 3, tui_history_redo_depth(&h));
	for (int k = 0; k < 3; k++)
		ASSERT_TRUE("redo", tui_history_redo(&h, &now));
	ASSERT_TRUE("redo: exactly the settings undone",
		    !memcmp(&now, &a, sizeof(now)));
	ASSERT_TRUE("nothing more to redo", !tui_history_redo(&h, &now));
	/* a new change forgets the redo steps */
	tui_history_undo(&h, &now);
	{
		struct chain_settings before = now;

		now.value[7] = 9;
		tui_history_record(&h, &before, 8, 10.0);
	}
	ASSERT_INT("a new change clears redo", 0, tui_history_redo_depth(&h));
	/* bounded depth: the oldest steps go */
	tui_history_clear(&h);
	for (int k = 0; k < TUI_HISTORY_DEPTH + 50; k++) {
		struct chain_settings before = now;

		now.value[0] = (float)k;
		tui_history_record(&h, &before, 0, 100.0 + k);
	}
	ASSERT_INT("depth bounded", TUI_HISTORY_DEPTH, tui_history_undo_depth(&h));
	for (int k = 0; k < TUI_HISTORY_DEPTH; k++)
		tui_history_undo(&h, &now);
	ASSERT_CLOSE("the oldest kept step", 49.0, now.value[0], 0);
	tui_history_free(&h);
}

int main(void)
{
	test_eq_curve();
	test_mb_curve();
	test_history();
	return test_done();
}

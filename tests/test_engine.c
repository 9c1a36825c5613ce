/*
 * termaster — the engine through its offline driver (audio_engine_process
 * called directly, as the PortAudio callback does).
 *
 * Signals are sines whose slope bounds any honest sample-to-sample step:
 * |x[n+1] - x[n]| <= 2·pi·f·A / rate.  A switch without a crossfade would
 * step by up to the sum of both amplitudes (0.3 here, vs bounds near 0.02).
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audio/clip.h"
#include "audio/engine.h"
#include "chain/chain.h"
#include "chain/devsim.h"
#include "refs/devices.h"
#include "tests/util.h"

#define RATE 48000.0
#define XF 480  /* AUDIO_ENGINE_XFADE_MS at 48 kHz */
/* what a gain and the glide that undoes it may differ by (see
 * test_gain_with_chain) */
#define CANCEL_TOL (0.1 * 1e-4 / 0.5 + 1e-6)

static struct audio_clip *sine_clip(const char *name, double f, double amp, double seconds)
{
	size_t n = (size_t)(seconds * RATE);
	float *buf = malloc(n * 2 * sizeof(float));
	struct audio_clip *c;

	gen_sine(buf, n, 2, RATE, f, amp, 0.0);
	c = audio_clip_from_frames(name, buf, (int64_t)n, RATE);
	free(buf);
	return c;
}

static int64_t rendered(struct audio_engine *e)
{
	struct audio_engine_snapshot s;

	audio_engine_snapshot(e, &s);
	return s.rendered;
}

/* Largest |out[k] - x[p + k]| over k in [from, to), both channels. */
static double max_diff(const float *out, const struct audio_clip *x, int64_t p, size_t from,
		       size_t to)
{
	double m = 0;

	for (size_t k = from; k < to; k++)
		for (int c = 0; c < 2; c++)
			m = fmax(m, fabs((double)out[2 * k + c] - x->data[2 * (p + (int64_t)k) + c]));
	return m;
}

/* Largest (sign 1) or smallest (sign -1) level of out over x[p + k], dB,
 * in 5 ms windows (240 frames) every 1 ms. */
static double window_db(const float *out, const struct audio_clip *x, int64_t p, size_t n,
			int sign)
{
	double m = -HUGE_VAL;

	for (size_t w = 0; w + 240 <= n; w += 48) {
		double eo = 0, ex = 0;

		for (size_t k = w; k < w + 240; k++)
			for (int c = 0; c < 2; c++) {
				double xv = x->data[2 * (p + (int64_t)k) + c];

				eo += (double)out[2 * k + c] * out[2 * k + c];
				ex += xv * xv;
			}
		m = fmax(m, sign * 10 * log10(eo / ex));
	}
	return sign * m;
}

static double max_window_db(const float *out, const struct audio_clip *x, int64_t p, size_t n)
{
	return window_db(out, x, p, n, 1);
}

static double min_window_db(const float *out, const struct audio_clip *x, int64_t p, size_t n)
{
	return window_db(out, x, p, n, -1);
}

/* A match gain that goes with chain parameters (a snapshot recall):
 * an input-gain change and the gain that undoes it, posted together at an
 * odd frame (the chain's sub-block grid and the block boundaries fall
 * elsewhere), must leave what is heard unchanged sample for sample — the
 * chain glides the gain a latency later than it is posted; a plain gain
 * ramp at once swells by nearly the whole change.  The bound: the chain
 * lands its gain on the target once within 1e-4 of it (chain/gain.c
 * GAIN_SNAP), the glide a little later (1e-5 of its own), so for a few
 * sub-blocks they may differ by 1e-4 / 0.5 of the gain (-6 dB = 0.5):
 * 0.1 · 2e-4 = 2e-5 on the 0.1 sine (0.0017 dB), plus the engine's own
 * "equals its input" 1e-6. */
static void test_gain_with_chain(const struct chain_settings *cs)
{
	static const unsigned blocks[] = { 256, 37 };
	static const int64_t offs[] = { 1000, 1013 };
	unsigned gidx = (unsigned)chain_param_find("gain.gain_db");

	for (int i = 0; i < 2; i++) {
		struct audio_engine_snapshot s;
		struct audio_clip *mix = sine_clip("mix", 1000.0, 0.1, 6.0);
		struct audio_engine *e;
		float *out;
		int64_t p, first = -1;
		int err;
		unsigned lat;
		double slope = 2 * M_PI * 1000 * 0.1 / RATE;

		e = audio_engine_new(RATE, cs, &err);
		ASSERT_TRUE("engine", e != NULL);
		if (!e)
			return;
		audio_engine_set_clip(e, 0, mix);
		audio_engine_play(e, true);
		free(engine_run(e, 4800, blocks[i]));

		/* -6 dB in the chain, +6 dB on the route, and back */
		for (int back = 0; back < 2; back++) {
			audio_engine_snapshot(e, &s);
			p = s.position;
			audio_engine_schedule_at(e, s.rendered + offs[i]);
			audio_engine_set_param(e, gidx, back ? 0.0f : -6.0f);
			audio_engine_set_gain_with_chain(e, AUDIO_ROUTE_AFTER, back ? 0.0f : 6.0f,
							 back ? -6.0f : 6.0f, 10.0f);
			audio_engine_schedule_at(e, 0);
			out = engine_run(e, 9600, blocks[i]);
			ASSERT_LE(back ? "input gain back to 0 dB with its match gain: heard unchanged" :
					 "input gain -6 dB with a +6 dB match gain: heard unchanged",
				  max_diff(out, mix, p, 0, 9600), CANCEL_TOL);
			free(out);
		}

		/* the control: the same with a plain gain swells */
		audio_engine_snapshot(e, &s);
		p = s.position;
		audio_engine_schedule_at(e, s.rendered + offs[i]);
		audio_engine_set_param(e, gidx, -6.0f);
		audio_engine_set_gain(e, AUDIO_ROUTE_AFTER, 6.0f);
		audio_engine_schedule_at(e, 0);
		out = engine_run(e, 9600, blocks[i]);
		ASSERT_GE("control: a plain gain ramp with it swells (dB)",
			  max_window_db(out, mix, p, 9600), 3.0);
		free(out);

		/* alone, it is heard a latency after it is posted, gliding
		 * without a step to its target */
		audio_engine_snapshot(e, &s);
		p = s.position;
		lat = s.latency;
		audio_engine_schedule_at(e, s.rendered + offs[i]);
		audio_engine_set_gain_with_chain(e, AUDIO_ROUTE_AFTER, 0.0f, 0.0f, 10.0f);
		audio_engine_schedule_at(e, 0);
		out = engine_run(e, 9600, blocks[i]);
		for (size_t k = 0; k < 9600 && first < 0; k++)
			if (fabs((double)out[2 * k] - mix->data[2 * (p + (int64_t)k)]) > 1e-6)
				first = (int64_t)k;
		ASSERT_TRUE("heard from the latency on, within a sub-block",
			    first >= offs[i] + lat && first <= offs[i] + lat + 32);
		/* the gain's own slope is at most 0.1 · (1 - 0.5) / 480 a frame */
		ASSERT_LE("glides without a step", max_step_lr(out, 0, 9600), slope + 0.1 / XF + 1e-6);
		ASSERT_CLOSE("lands on its target", 0.1 * db_to_lin(-6.0),
			     measure_sine_amp(out + 2 * 7200, 2400, 2, RATE, 1000.0), 1e-4);
		free(out);

		/* matching off in the middle of one: from where it got to */
		audio_engine_schedule_at(e, rendered(e) + offs[i]);
		audio_engine_set_gain_with_chain(e, AUDIO_ROUTE_AFTER, -12.0f, 0.0f, 20.0f);
		audio_engine_schedule_at(e, rendered(e) + offs[i] + lat + 200);
		audio_engine_set_match(e, false);
		audio_engine_schedule_at(e, 0);
		out = engine_run(e, 9600, blocks[i]);
		ASSERT_LE("match off during a glide: no step", max_step_lr(out, 0, 9600),
			  slope + 0.1 / XF + 1e-6);
		ASSERT_CLOSE("… and unity after it (the chain's -6 dB)", 0.1 * db_to_lin(-6.0),
			     measure_sine_amp(out + 2 * 7200, 2400, 2, RATE, 1000.0), 1e-4);
		free(out);
		audio_engine_set_match(e, true);
		audio_engine_set_gain(e, AUDIO_ROUTE_AFTER, 0.0f);
		free(engine_run(e, 4800, blocks[i]));
		audio_engine_free(&e);
	}

	/* the rest of a change (here an EQ gain: a high shelf at 1 kHz, +6 dB,
	 * heard on a 10 kHz sine as nearly its whole gain) glides in dB with
	 * the time constant given: the EQ's own 20 ms keeps the 5 ms level
	 * within 0.1 dB (the matching tolerance, DESIGN.md) of unchanged;
	 * the input gain's 10 ms would dip by about a quarter of the change */
	{
		static const float taus[] = { 20.0f, 10.0f };
		struct chain_settings sh = *cs;
		unsigned eqg = (unsigned)chain_param_find("eq.7.gain_db");
		struct audio_clip *tone = sine_clip("tone", 10000.0, 0.05, 6.0);
		double delta = 0;

		chain_settings_assign(&sh, "eq.7.on=1", NULL, 0);
		chain_settings_assign(&sh, "eq.7.type=2", NULL, 0);
		chain_settings_assign(&sh, "eq.7.freq_hz=1000", NULL, 0);
		for (int t = 0; t < 3; t++) {
			struct audio_engine_snapshot s;
			struct audio_engine *e;
			float *out;
			int64_t p;
			int err;
			double dev_up, dev_down;

			e = audio_engine_new(RATE, &sh, &err);
			ASSERT_TRUE("engine", e != NULL);
			if (!e)
				return;
			audio_engine_set_clip(e, 0, audio_clip_from_frames("tone", tone->data,
									   tone->frames, RATE));
			audio_engine_play(e, true);
			free(engine_run(e, 4800, 256));
			audio_engine_snapshot(e, &s);
			p = s.position;
			audio_engine_schedule_at(e, s.rendered + 1013);
			audio_engine_set_param(e, eqg, 6.0f);
			if (t > 0)
				audio_engine_set_gain_with_chain(e, AUDIO_ROUTE_AFTER, (float)-delta,
								 0.0f, taus[t - 1]);
			audio_engine_schedule_at(e, 0);
			out = engine_run(e, 24000, 256);
			if (t == 0) {
				/* the change itself, without a match gain */
				delta = lin_to_db(measure_sine_amp(out + 2 * 19200, 4800, 2, RATE,
								   10000.0) / 0.05);
				ASSERT_CLOSE("the shelf raises the 10 kHz tone by about its gain",
					     6.0, delta, 0.5);
			} else {
				dev_up = max_window_db(out, tone, p, 24000);
				dev_down = -min_window_db(out, tone, p, 24000);
				printf("EQ +%.2f dB with a match gain gliding at %.0f ms: "
				       "%+.4f / -%.4f dB\n", delta, taus[t - 1], dev_up, dev_down);
				if (t == 1)
					ASSERT_LE("EQ gain with its match gain at 20 ms: level held (dB)",
						  fmax(dev_up, dev_down), 0.1);
				else
					ASSERT_GE("control: at 10 ms the level dips (dB)", dev_down,
						  0.25 * delta - 0.5);
			}
			free(out);
			audio_engine_free(&e);
		}
		audio_clip_free(&tone);
	}

	/* independent playheads: recalled while a reference plays, the
	 * chain stands still with the mix and so does the gain that goes
	 * with it; back on the mix, heard unchanged */
	{
		struct audio_engine_snapshot s;
		struct audio_clip *mix = sine_clip("mix", 1000.0, 0.1, 6.0);
		struct audio_engine *e;
		float *out;
		int64_t p;
		int err;

		e = audio_engine_new(RATE, cs, &err);
		ASSERT_TRUE("engine", e != NULL);
		if (!e)
			return;
		audio_engine_set_clip(e, 0, mix);
		audio_engine_set_clip(e, 1, sine_clip("ref", 500.0, 0.1, 6.0));
		audio_engine_set_playhead(e, AUDIO_PLAYHEAD_INDEPENDENT);
		audio_engine_play(e, true);
		free(engine_run(e, 4800, 256));
		audio_engine_set_source(e, 1);
		free(engine_run(e, 4800, 256));
		audio_engine_set_param(e, gidx, -6.0f);
		audio_engine_set_gain_with_chain(e, AUDIO_ROUTE_AFTER, 6.0f, 6.0f, 10.0f);
		free(engine_run(e, 9600, 256));
		audio_engine_snapshot(e, &s);
		p = s.slot_position[0];
		audio_engine_set_source(e, 0);
		out = engine_run(e, 9600, 256);
		ASSERT_LE("independent: back on the mix after a recall, heard unchanged",
			  max_diff(out, mix, p, XF, 9600), CANCEL_TOL);
		free(out);
		audio_engine_free(&e);
	}
}

int main(void)
{
	struct chain_settings cs;
	struct audio_engine_snapshot s;
	struct audio_clip *mix, *ref;
	struct audio_engine *e;
	float *out;
	double maxd, bound;
	int err;
	int64_t t0;

	chain_settings_default(&cs);
	e = audio_engine_new(RATE, &cs, &err);
	ASSERT_TRUE("engine", e != NULL);
	if (!e)
		return test_done();
	mix = sine_clip("mix", 1000.0, 0.1, 4.0);
	ref = sine_clip("ref", 500.0, 0.2, 4.0);
	audio_engine_set_clip(e, 0, mix);
	audio_engine_set_clip(e, 1, ref);

	/* idle: silence, clock runs */
	out = engine_run(e, 256, 256);
	ASSERT_CLOSE("idle output is silence", 0.0, max_step_lr(out, 0, 256) + fabs(out[100]), 0);
	ASSERT_INT("audio clock counts idle frames", 256, rendered(e));
	free(out);

	/* play: fade in over the crossfade, then the mix, aligned (the chain
	 * is fed `latency` frames ahead; -20 dBFS is below the -1 dBTP ceiling) */
	audio_engine_play(e, true);
	out = engine_run(e, 48000, 128);
	maxd = 0;
	for (size_t k = XF; k < 48000; k++)
		for (int c = 0; c < 2; c++) {
			double d = fabs(out[2 * k + c] - mix->data[2 * k + c]);
			if (d > maxd)
				maxd = d;
		}
	ASSERT_LE("playing mix equals its input, sample-aligned", maxd, 1e-6);
	ASSERT_LE("fade-in starts from silence", fabs(out[0]), 0.1 / XF * 2);
	audio_engine_snapshot(e, &s);
	ASSERT_INT("position after 1 s", 48000, s.position);
	ASSERT_TRUE("playing", s.playing);
	ASSERT_INT("source mix", 0, s.source);
	free(out);

	/* scheduled switch to ref 1 at an exact frame */
	t0 = rendered(e) + 1000;
	audio_engine_schedule_at(e, t0);
	audio_engine_set_source(e, 1);
	audio_engine_schedule_at(e, 0);
	out = engine_run(e, 4800, 256);
	maxd = 0;
	for (size_t k = 0; k < 1000; k++) {
		double d = fabs(out[2 * k] - mix->data[2 * (48000 + k)]);
		if (d > maxd)
			maxd = d;
	}
	ASSERT_LE("mix until the scheduled frame", maxd, 1e-6);
	maxd = 0;
	for (size_t k = 1000 + XF; k < 4800; k++) {
		double d = fabs(out[2 * k] - ref->data[2 * (48000 + k)]);
		if (d > maxd)
			maxd = d;
	}
	ASSERT_LE("ref 1 after the crossfade, same playhead", maxd, 1e-6);
	/* equal-power gains sum to at most sqrt(2): slope term sqrt(2)·max
	 * slope, plus both amplitudes times the gains' own slope (pi/2)/XF */
	bound = M_SQRT2 * 2 * M_PI * 1000 * 0.1 / RATE + 0.3 * (M_PI / 2) / XF + 1e-6;
	ASSERT_LE("no step during the crossfade", max_step_lr(out, 990, 1000 + XF + 10), bound);
	free(out);

	/* match gain on the reference route, then matching off */
	audio_engine_set_gain(e, 1, -6.0206f);
	out = engine_run(e, 9600, 512);
	ASSERT_CLOSE("match gain applied (ref at -6.02 dB)", 0.1,
		     measure_sine_amp(out + 2 * 2 * XF, 9600 - 2 * XF, 2, RATE, 500.0), 0.001);
	ASSERT_LE("gain change is smooth", max_step_lr(out, 0, 9600),
		  2 * M_PI * 500 * 0.2 / RATE + 1e-6);
	free(out);
	audio_engine_set_match(e, false);
	out = engine_run(e, 9600, 512);
	ASSERT_CLOSE("match off: unity", 0.2,
		     measure_sine_amp(out + 2 * 2 * XF, 9600 - 2 * XF, 2, RATE, 500.0), 0.001);
	audio_engine_snapshot(e, &s);
	ASSERT_TRUE("snapshot says match off", !s.match);
	free(out);
	audio_engine_set_match(e, true);
	audio_engine_set_source(e, 0);
	free(engine_run(e, 2 * XF, 64));

	/* seek: fades out, jumps, fades in; afterwards aligned with the clip */
	audio_engine_seek(e, 2.0);
	out = engine_run(e, 4800, 100);
	audio_engine_snapshot(e, &s);
	{
		/* after the fade, output == mix at 2.0 s + offset */
		int64_t pos_end = s.position;
		size_t k0 = 4800 - 1000;
		int64_t p0 = pos_end - 1000;

		ASSERT_TRUE("seek landed after 2.0 s", p0 >= 96000 && pos_end <= 96000 + 4800);
		maxd = 0;
		for (size_t k = 0; k < 1000; k++) {
			double d = fabs(out[2 * (k0 + k)] - mix->data[2 * (p0 + (int64_t)k)]);
			if (d > maxd)
				maxd = d;
		}
		ASSERT_LE("aligned after the seek", maxd, 1e-6);
	}
	ASSERT_LE("seek without a click", max_step_lr(out, 0, 4800), 2 * M_PI * 1000 * 0.1 / RATE +
		  0.1 * 2.0 / (XF / 2) + 1e-6);
	free(out);

	/* loop 1.0 … 1.5 s, a frequency with no whole number of periods in it */
	{
		struct audio_clip *m2 = sine_clip("mix2", 1003.0, 0.1, 4.0);
		int64_t minp = INT64_MAX, maxp = 0;

		audio_engine_set_clip(e, 0, m2);
		audio_engine_set_loop(e, 1.0, 1.5, true);
		for (int i = 0; i < 200; i++) {
			free(engine_run(e, 480, 480));
			audio_engine_snapshot(e, &s);
			if (i > 2) {
				if (s.position < minp)
					minp = s.position;
				if (s.position > maxp)
					maxp = s.position;
			}
		}
		ASSERT_TRUE("loop on", s.loop_on);
		ASSERT_GE("position stays in the loop (in)", (double)minp, 48000);
		ASSERT_LE("position stays in the loop (out)", (double)maxp, 72000);
		out = engine_run(e, 48000, 333);
		ASSERT_LE("loop wraps without a click", max_step_lr(out, 0, 48000),
			  2 * M_PI * 1003 * 0.1 / RATE + 0.2 / XF + 1e-6);
		free(out);
		audio_engine_collect(e);  /* the replaced mix came back: freed */
		audio_engine_set_loop(e, 1.0, 1.5, false);
		free(engine_run(e, 2 * XF, 64));
	}

	/* pause: fade to silence, position stops */
	audio_engine_play(e, false);
	out = engine_run(e, 2000, 256);
	ASSERT_CLOSE("silent after the fade-out", 0.0, fabs(out[2 * 1500]) + fabs(out[2 * 1999 + 1]), 0);
	ASSERT_LE("pause without a click", max_step_lr(out, 0, 2000), 2 * M_PI * 1003 * 0.1 / RATE + 0.1 / XF + 1e-6);
	audio_engine_snapshot(e, &s);
	t0 = s.position;
	free(out);
	free(engine_run(e, 1000, 256));
	audio_engine_snapshot(e, &s);
	ASSERT_INT("position held while paused", t0, s.position);
	ASSERT_TRUE("not playing", !s.playing);

	/* meter tap carries what was played */
	{
		float tapbuf[2 * 512];
		size_t got;

		while (audio_engine_tap_read(e, tapbuf, 512) == 512)
			;
		audio_engine_play(e, true);
		out = engine_run(e, 512, 512);
		got = audio_engine_tap_read(e, tapbuf, 512);
		ASSERT_INT("tap frames", 512, got);
		ASSERT_CLOSE("tap equals output", 0.0, fabs(tapbuf[700] - out[700]), 0);
		free(out);
	}
	audio_engine_free(&e);
	ASSERT_TRUE("free clears the pointer", e == NULL);

	/* monitor modes: known L and R give the matrix's outputs exactly */
	{
		size_t n = 2 * 48000;
		float *lr = malloc(sizeof(float) * 2 * n);
		struct audio_clip *c;

		for (size_t k = 0; k < n; k++) {
			lr[2 * k] = (float)(0.3 * sin(2 * M_PI * 1000.0 * (double)k / RATE));
			lr[2 * k + 1] = (float)(0.2 * sin(2 * M_PI * 330.0 * (double)k / RATE));
		}
		c = audio_clip_from_frames("lr", lr, (int64_t)n, RATE);
		e = audio_engine_new(RATE, &cs, &err);
		audio_engine_set_clip(e, 1, c);
		audio_engine_set_source(e, 1);
		audio_engine_play(e, true);
		free(engine_run(e, 4800, 256));
		for (int m = 0; m < AUDIO_MONITOR_COUNT; m++) {
			double md = 0;
			int64_t p0;

			audio_engine_set_monitor(e, (enum audio_monitor)m);
			free(engine_run(e, 2 * XF, 256));     /* the crossfade */
			audio_engine_snapshot(e, &s);
			p0 = s.position;
			out = engine_run(e, 2400, 256);
			for (size_t k = 0; k < 2400; k++) {
				float l = lr[2 * (p0 + (int64_t)k)], r = lr[2 * (p0 + (int64_t)k) + 1];
				float el, er;

				switch (m) {
				case AUDIO_MONITOR_MONO: el = er = 0.5f * l + 0.5f * r; break;
				case AUDIO_MONITOR_SIDE: el = er = 0.5f * l - 0.5f * r; break;
				case AUDIO_MONITOR_LEFT: el = er = l; break;
				case AUDIO_MONITOR_RIGHT: el = er = r; break;
				case AUDIO_MONITOR_SWAP: el = r; er = l; break;
				case AUDIO_MONITOR_POLARITY: el = l; er = -r; break;
				default: el = l; er = r; break;
				}
				md = fmax(md, fmax(fabs(out[2 * k] - el), fabs(out[2 * k + 1] - er)));
			}
			ASSERT_LE(audio_monitor_name((enum audio_monitor)m), md, 1e-7);
			ASSERT_INT("snapshot shows the mode", m, s.monitor);
			free(out);
		}
		/* the switch itself crossfades: no step above slope + matrix swing / XF */
		audio_engine_set_monitor(e, AUDIO_MONITOR_SWAP);
		out = engine_run(e, 2400, 64);
		ASSERT_LE("monitor switch without a click", max_step_lr(out, 0, 2400),
			  2 * M_PI * 1000 * 0.3 / RATE + 2 * 0.5 / XF + 1e-6);
		free(out);
		ASSERT_INT("names round-trip", AUDIO_MONITOR_SIDE, audio_monitor_find("side"));
		ASSERT_INT("unknown name", -1, audio_monitor_find("quad"));
		audio_engine_free(&e);
		free(lr);
	}

	/* a platform's player limiter (Spotify loud: -1 dB) on what is heard */
	{
		struct audio_clip *c = sine_clip("loud ref", 997.0, 1.0, 3.0);
		double tp_off, tp_on;

		e = audio_engine_new(RATE, &cs, &err);
		audio_engine_set_clip(e, 1, c);
		audio_engine_set_source(e, 1);
		audio_engine_play(e, true);
		out = engine_run(e, 24000, 256);
		tp_off = lin_to_db(measure_true_peak(out + 2 * 4800, 19200, 2));
		free(out);
		audio_engine_set_platform_limiter(e, true, -1.0f, 100.0f);
		free(engine_run(e, 4800, 256));
		out = engine_run(e, 24000, 256);
		tp_on = lin_to_db(measure_true_peak(out, 24000, 2));
		ASSERT_CLOSE("without the platform limiter the 0 dBFS sine is untouched", 0.0, tp_off, 0.01);
		ASSERT_LE("the platform limiter holds -1 dB", tp_on, -1.0 + 0.05);
		free(out);
		audio_engine_set_platform_limiter(e, false, -1.0f, 100.0f);
		free(engine_run(e, 4800, 256));
		out = engine_run(e, 24000, 256);
		ASSERT_CLOSE("and lets go when switched off", 0.0,
			     lin_to_db(measure_true_peak(out, 24000, 2)), 0.01);
		free(out);
		audio_engine_free(&e);
	}

	/* every playback system through the engine's monitor section: a sine
	 * sweep (log-spaced tones, 20 Hz … 20 kHz) at a low listening level,
	 * each tone's level against the curve file within 1 dB; mono devices
	 * give identical channels for different L and R */
	{
		static const char *const names[] = { "flat", "earbuds", "car", "phone", "laptop", "tv" };
		const char *top = getenv("top_srcdir");

		for (size_t di = 0; di < sizeof(names) / sizeof(names[0]); di++) {
			char path[4096], msg[256];
			struct refs_device dev;
			double worst = 0;

			snprintf(path, sizeof(path), "%s/refs/devices/%s.txt", top ? top : ".", names[di]);
			if (refs_device_load(path, &dev, msg, sizeof(msg)) != 0) {
				test_fail(__FILE__, __LINE__, "cannot load %s: %s", path, msg);
				continue;
			}
			for (int fi = 0; fi < 16; fi++) {
				double f = 20.0 * pow(1000.0, fi / 15.0);  /* 20 Hz … 20 kHz */
				size_t n = 24000;
				float *lr = malloc(sizeof(float) * 2 * n);
				struct chain_devsim *d = chain_devsim_new(RATE, &dev.spec, &err);
				double want, got, md = 0, amp_l = 0.02, amp_r = dev.spec.mono ? 0.01 : 0.02;
				size_t m = f < 100 ? 14400 : 4800;

				for (size_t k = 0; k < n; k++) {
					lr[2 * k] = (float)(amp_l * sin(2 * M_PI * f * (double)k / RATE));
					lr[2 * k + 1] = (float)(amp_r * sin(2 * M_PI * f * (double)k / RATE));
				}
				e = audio_engine_new(RATE, &cs, &err);
				audio_engine_set_clip(e, 1, audio_clip_from_frames("tone", lr, (int64_t)n, RATE));
				audio_engine_set_source(e, 1);
				audio_engine_set_listen_level(e, -40.0f);
				audio_engine_set_devsim(e, d);
				audio_engine_play(e, true);
				free(engine_run(e, 4800, 256));  /* fade-in and the filters settle */
				out = engine_run(e, m, 256);
				if (dev.spec.mono) {
					for (size_t k = 0; k < m; k++)
						md = fmax(md, fabs(out[2 * k] - out[2 * k + 1]));
					ASSERT_CLOSE("mono device: identical channels", 0.0, md, 0);
				}
				want = 0.5 * (amp_l + amp_r) * db_to_lin(chain_devsim_curve_db(&dev.spec, f));
				if (!dev.spec.mono)
					want = amp_l * db_to_lin(chain_devsim_curve_db(&dev.spec, f));
				got = measure_sine_amp(out, m, 2, RATE, f);
				worst = fmax(worst, fabs(lin_to_db(got) - lin_to_db(want)));
				free(out);
				audio_engine_free(&e);
				free(lr);
			}
			printf("%s through the monitor section: worst %.3f dB from its curve\n", names[di], worst);
			ASSERT_LE(names[di], worst, 1.0);
		}
	}

	/* bypass on a signal the limiter works on */
	e = audio_engine_new(RATE, &cs, &err);
	mix = sine_clip("loud", 997.0, 1.0, 3.0);
	audio_engine_set_clip(e, 0, mix);
	audio_engine_play(e, true);
	out = engine_run(e, 24000, 256);
	audio_engine_snapshot(e, &s);
	ASSERT_LE("limiter holds the 0 dBFS sine under -1 dBTP",
		  lin_to_db(measure_true_peak(out + 2 * 12000, 12000, 2)), -1.0 + 0.1);
	ASSERT_CLOSE("limiter gain reduction reported", 1.0, s.limiter_gr_db, 0.3);
	ASSERT_TRUE("every processor has a meter slot", chain_proc_count() <= AUDIO_ENGINE_PROCS);
	ASSERT_CLOSE("per-processor GR: the limiter's", s.limiter_gr_db,
		     s.proc_gr_db[chain_proc_find("limiter")], 0);
	free(out);
	audio_engine_set_bypass(e, true);
	audio_engine_set_gain(e, AUDIO_ROUTE_BEFORE, -3.0f);
	out = engine_run(e, 24000, 256);
	ASSERT_CLOSE("bypass: the dry mix at its own match gain", db_to_lin(-3.0),
		     measure_sine_amp(out + 2 * 12000, 12000, 2, RATE, 997.0), 0.002);
	ASSERT_LE("bypass crossfade without a click", max_step_lr(out, 0, 24000),
		  2 * M_PI * 997 / RATE + 0.2 / XF * 2 + 1e-6);
	free(out);
	/* end of the timeline stops playback */
	out = engine_run(e, 3 * 48000, 1024);
	audio_engine_snapshot(e, &s);
	ASSERT_TRUE("stopped at the end", !s.playing);
	ASSERT_CLOSE("silent past the end", 0.0, fabs(out[2 * (3 * 48000 - 1)]), 0);
	free(out);
	audio_engine_free(&e);

	test_gain_with_chain(&cs);
	return test_done();
}

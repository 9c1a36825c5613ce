/*
 * termaster — sync and independent playheads (issue 4) through the
 * engine's offline driver (audio_engine_process called directly, as the
 * PortAudio callback does).
 *
 * Signals are chirps (a sweep 200 Hz … 2 kHz in 4 s, a different one per
 * source, cosine on the right channel): every frame is different from its
 * neighbours, so a position off by one frame shows as an error near the
 * chirp's slope (up to 2·pi·f·A/rate, 0.026 at 0.1 and 2 kHz), far above
 * the tolerances used (1e-6, or 0 where the engine only copies).
 * A switch without a crossfade would step by up to the sum of both
 * amplitudes (0.3); the bounds allowed are near 0.04.
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audio/clip.h"
#include "audio/engine.h"
#include "chain/chain.h"
#include "tests/util.h"

#define RATE 48000.0
#define XF 480          /* AUDIO_ENGINE_XFADE_MS at 48 kHz */
#define SECONDS 4.0
#define F0 200.0
#define F1 2000.0

/* A bound on the largest sample step, printed with the figure. */
#define ASSERT_STEP(msg, step, bound) do { \
	double st_ = (step), bd_ = (bound); \
	printf("%-52s largest step %.5f, bound %.5f\n", (msg), st_, bd_); \
	ASSERT_LE((msg), st_, bd_); \
	} while (0)

/* Linear chirp F0 → F1 (or back) over SECONDS: sin left, 0.8·cos right. */
static struct audio_clip *chirp_clip(const char *name, double amp, bool down)
{
	size_t n = (size_t)(SECONDS * RATE);
	float *buf = malloc(n * 2 * sizeof(float));
	struct audio_clip *c;
	double fa = down ? F1 : F0, fb = down ? F0 : F1;

	for (size_t k = 0; k < n; k++) {
		double t = (double)k / RATE;
		double ph = 2 * M_PI * (fa * t + (fb - fa) * t * t / (2 * SECONDS));

		buf[2 * k] = (float)(amp * sin(ph));
		buf[2 * k + 1] = (float)(0.8 * amp * cos(ph));
	}
	c = audio_clip_from_frames(name, buf, (int64_t)n, RATE);
	free(buf);
	return c;
}

/* Largest slope of a chirp of amplitude amp: the honest step bound. */
static double slope(double amp)
{
	return 2 * M_PI * F1 * amp / RATE;
}

static void skip(struct audio_engine *e, size_t frames)
{
	free(engine_run(e, frames, 256));
}

static void frame_of(const struct audio_clip *c, int64_t pos, double *l, double *r)
{
	if (pos < 0 || pos >= c->frames) {
		*l = *r = 0.0;
		return;
	}
	*l = c->data[2 * pos];
	*r = c->data[2 * pos + 1];
}

/* Largest difference between out[k0 …] and clip frames from … (silence
 * outside the clip), n frames, both channels. */
static double diff_clip(const float *out, size_t k0, const struct audio_clip *c, int64_t from,
			size_t n)
{
	double m = 0;

	for (size_t k = 0; k < n; k++) {
		double l, r;

		frame_of(c, from + (int64_t)k, &l, &r);
		m = fmax(m, fabs(out[2 * (k0 + k)] - l));
		m = fmax(m, fabs(out[2 * (k0 + k) + 1] - r));
	}
	return m;
}

static struct audio_engine_snapshot snap(struct audio_engine *e)
{
	struct audio_engine_snapshot s;

	audio_engine_snapshot(e, &s);
	return s;
}

static struct audio_engine *engine(const struct chain_settings *cs)
{
	int err;
	struct audio_engine *e = audio_engine_new(RATE, cs, &err);

	if (!e) {
		fprintf(stderr, "audio_engine_new failed (%d)\n", err);
		exit(1);
	}
	return e;
}

/* Expected output across a switch in independent mode: the old source at
 * its place fading out, the new one at its own fading in, with the
 * engine's equal-power gains (sin/cos of k/XF, computed as it does, in
 * float); largest difference over the fade. */
static double diff_switch(const float *out, const struct audio_clip *from_c, int64_t from_pos,
			  const struct audio_clip *to_c, int64_t to_pos)
{
	double m = 0;

	for (int k = 0; k < XF; k++) {
		float t = (float)k / (float)XF;
		float gi = sinf(t * (float)M_PI_2), go = cosf(t * (float)M_PI_2);
		double ol, or_, nl, nr;

		frame_of(from_c, from_pos + k, &ol, &or_);
		frame_of(to_c, to_pos + k, &nl, &nr);
		m = fmax(m, fabs(out[2 * k] - (nl * gi + ol * go)));
		m = fmax(m, fabs(out[2 * k + 1] - (nr * gi + or_ * go)));
	}
	return m;
}

/* Independent mode returns to each source's own position, the mix through
 * the chain (processed, default settings: transparent at -20 dBFS) or
 * bypassed ("before"). */
static void test_independent_returns(bool bypass)
{
	struct chain_settings cs;
	struct audio_engine *e;
	struct audio_clip *mix = chirp_clip("mix", 0.1, false), *ref = chirp_clip("ref", 0.2, true);
	struct audio_engine_snapshot s;
	const char *path = bypass ? "bypassed" : "processed";
	double tol = bypass ? 0.0 : 1e-6;  /* bypass only copies */
	char msg[160];
	float *out;

	chain_settings_default(&cs);
	e = engine(&cs);
	audio_engine_set_clip(e, 0, mix);
	audio_engine_set_clip(e, 1, ref);
	audio_engine_set_bypass(e, bypass);
	audio_engine_set_playhead(e, AUDIO_PLAYHEAD_INDEPENDENT);
	audio_engine_play(e, true);
	out = engine_run(e, 24000, 256);                 /* mix 0 … 24000 (t1) */
	snprintf(msg, sizeof(msg), "%s: mix plays from 0", path);
	ASSERT_LE(msg, diff_clip(out, XF, mix, XF, 24000 - XF), tol);
	free(out);
	s = snap(e);
	ASSERT_INT("snapshot: independent", AUDIO_PLAYHEAD_INDEPENDENT, s.playhead);
	ASSERT_INT("mix at t1", 24000, s.position);

	/* to the reference: it starts where it was (0), the mix fades out
	 * from t1 on; a true crossfade of both */
	audio_engine_set_source(e, 1);
	out = engine_run(e, 12000, 256);
	snprintf(msg, sizeof(msg), "%s: switch mix -> ref crossfades both at their places", path);
	ASSERT_LE(msg, diff_switch(out, mix, 24000, ref, 0), tol + 1e-6);
	ASSERT_LE("ref from its own position 0", diff_clip(out, XF, ref, XF, 12000 - XF), 0);
	ASSERT_STEP(bypass ? "independent mix -> ref (bypassed)" : "independent mix -> ref",
		  max_step_lr(out, 0, XF + 32), M_SQRT2 * slope(0.2) + 0.3 * (M_PI / 2) / XF + 1e-6);
	free(out);
	s = snap(e);
	ASSERT_INT("position is the ref's own (t2)", 12000, s.position);
	ASSERT_INT("mix stood still after its fade", 24000 + XF, s.slot_position[0]);
	ASSERT_INT("slot position of the ref", 12000, s.slot_position[1]);
	ASSERT_INT("length is the ref's", ref->frames, s.length);

	/* back to the mix: it resumes where it stopped, processed and
	 * bypassed paths alike (the chain was not fed meanwhile) */
	audio_engine_set_source(e, 0);
	out = engine_run(e, 9600, 256);
	snprintf(msg, sizeof(msg), "%s: switch ref -> mix crossfades both at their places", path);
	ASSERT_LE(msg, diff_switch(out, ref, 12000, mix, 24000 + XF), tol + 1e-6);
	ASSERT_STEP(bypass ? "independent ref -> mix (bypassed)" : "independent ref -> mix",
		    max_step_lr(out, 0, XF + 32), M_SQRT2 * slope(0.2) + 0.3 * (M_PI / 2) / XF + 1e-6);
	snprintf(msg, sizeof(msg), "%s: mix resumes at t1 + fade", path);
	ASSERT_LE(msg, diff_clip(out, XF, mix, 24000 + 2 * XF, 9600 - XF), tol);
	free(out);
	s = snap(e);
	ASSERT_INT("ref stood still", 12000 + XF, s.slot_position[1]);
	ASSERT_INT("mix advanced", 24000 + XF + 9600, s.position);

	/* and the reference later resumes at its own t2 */
	audio_engine_set_source(e, 1);
	out = engine_run(e, 4800, 256);
	ASSERT_LE("ref resumes at t2 + fade", diff_clip(out, XF, ref, 12000 + 2 * XF, 4800 - XF), 0);
	free(out);

	/* seek moves the source that plays only */
	audio_engine_seek(e, 3.0);
	skip(e, 2 * XF);
	s = snap(e);
	ASSERT_TRUE("seek moved the ref", s.slot_position[1] >= 144000 &&
		    s.slot_position[1] <= 144000 + 2 * XF);
	ASSERT_INT("and not the mix", 24000 + XF + 9600 + XF, s.slot_position[0]);
	audio_engine_free(&e);
}

/* The chain's state stays with the mix's position: a mix driven into the
 * compressor and limiter (output differs from input), interrupted by a
 * reference in independent mode, continues exactly as an uninterrupted
 * run does; a chain started again (re-primed) at the same place would
 * differ, which shows the check can fail. */
static void test_independent_chain_state(void)
{
	struct chain_settings cs;
	struct audio_engine *e, *ref_e, *re_e;
	struct audio_clip *mix = chirp_clip("mix", 0.9, false), *ref = chirp_clip("ref", 0.2, true);
	float *got, *want, *reprimed;
	double d_cont, d_reprime, d_input;
	const size_t t1 = 48000, n = 9600;

	chain_settings_default(&cs);
	chain_settings_assign(&cs, "comp.on=on", NULL, 0);
	chain_settings_assign(&cs, "comp.threshold_db=-30", NULL, 0);
	chain_settings_assign(&cs, "comp.ratio=4", NULL, 0);
	chain_settings_assign(&cs, "comp.release_ms=2000", NULL, 0);
	chain_settings_assign(&cs, "gain.gain_db=6", NULL, 0);

	/* under test: mix to t1, ref for 1 s, back to the mix */
	e = engine(&cs);
	audio_engine_set_clip(e, 0, mix);
	audio_engine_set_clip(e, 1, ref);
	audio_engine_set_playhead(e, AUDIO_PLAYHEAD_INDEPENDENT);
	audio_engine_play(e, true);
	skip(e, t1);
	audio_engine_set_source(e, 1);
	skip(e, 48000);
	audio_engine_set_source(e, 0);
	skip(e, XF);
	got = engine_run(e, n, 256);                      /* mix from t1 + 2·XF */

	/* the same mix played straight through */
	ref_e = engine(&cs);
	audio_engine_set_clip(ref_e, 0, chirp_clip("mix", 0.9, false));
	audio_engine_play(ref_e, true);
	skip(ref_e, t1 + 2 * XF);
	want = engine_run(ref_e, n, 256);

	/* and started there from a fresh chain (what a reset would give):
	 * seek while stopped, play, past the fade-in */
	re_e = engine(&cs);
	audio_engine_set_clip(re_e, 0, chirp_clip("mix", 0.9, false));
	audio_engine_seek(re_e, (double)(t1 + XF) / RATE);
	audio_engine_play(re_e, true);
	skip(re_e, XF);
	reprimed = engine_run(re_e, n, 256);

	d_cont = 0;
	d_reprime = 0;
	for (size_t k = 0; k < n; k++)
		for (int c = 0; c < 2; c++) {
			d_cont = fmax(d_cont, fabs(got[2 * k + c] - want[2 * k + c]));
			d_reprime = fmax(d_reprime, fabs(reprimed[2 * k + c] - want[2 * k + c]));
		}
	d_input = diff_clip(want, XF, mix, (int64_t)(t1 + 3 * XF), n - XF);
	printf("chain state: continued vs straight %.3g, re-primed vs straight %.3g, "
	       "processed vs input %.3g\n", d_cont, d_reprime, d_input);
	ASSERT_GE("the chain changes the mix (the check means something)", d_input, 0.05);
	ASSERT_GE("a re-primed chain would differ", d_reprime, 1e-3);
	ASSERT_LE("the mix continues with its chain state", d_cont, 1e-6);
	free(got);
	free(want);
	free(reprimed);
	audio_engine_free(&e);
	audio_engine_free(&ref_e);
	audio_engine_free(&re_e);
}

/* Sync offsets: reference n plays its clip frame (timeline + offset). */
static void test_sync_offsets(void)
{
	struct chain_settings cs;
	struct audio_engine *e;
	struct audio_clip *mix = chirp_clip("mix", 0.1, false), *ref = chirp_clip("ref", 0.2, true),
			  *ref2 = chirp_clip("ref2", 0.15, false);
	struct audio_engine_snapshot s;
	float *out;
	int64_t p;

	chain_settings_default(&cs);
	e = engine(&cs);
	audio_engine_set_clip(e, 0, mix);
	audio_engine_set_clip(e, 1, ref);
	audio_engine_set_clip(e, 2, ref2);
	ASSERT_INT("the mix has no offset", AUDIO_ENGINE_ERROR_ARG, audio_engine_set_offset(e, 0, 5));
	ASSERT_INT("slot out of range", AUDIO_ENGINE_ERROR_ARG, audio_engine_set_offset(e, 64, 5));
	audio_engine_set_offset(e, 1, 24000);      /* +0.5 s */
	audio_engine_set_offset(e, 2, -24000);     /* -0.5 s */
	audio_engine_set_source(e, 1);
	audio_engine_play(e, true);
	out = engine_run(e, 48000, 256);
	ASSERT_LE("offset +0.5 s: ref plays frame position + 24000",
		  diff_clip(out, XF, ref, 24000 + XF, 48000 - XF), 0);
	free(out);
	s = snap(e);
	ASSERT_INT("timeline position", 48000, s.position);
	ASSERT_INT("slot position = timeline + offset", 72000, s.slot_position[1]);
	ASSERT_INT("slot offset as set", 24000, s.slot_offset[1]);
	ASSERT_INT("slot 2 position", 24000, s.slot_position[2]);
	ASSERT_INT("timeline length: ref2 ends 0.5 s after its clip", ref2->frames + 24000,
		   s.length);

	/* a negative offset: silence before the reference starts */
	audio_engine_set_source(e, 2);
	audio_engine_seek(e, 0.0);
	skip(e, XF);                               /* fades: the seek lands at 0 */
	s = snap(e);
	p = s.position;
	out = engine_run(e, 48000, 256);
	ASSERT_TRUE("the seek landed near 0", p >= 0 && p <= XF);
	ASSERT_LE("offset -0.5 s: silence, then ref2 from its frame 0",
		  diff_clip(out, 0, ref2, p - 24000, 48000), 0);
	ASSERT_CLOSE("silence before its start", 0.0, fabs(out[2 * (24000 - p - 1)]), 0);
	ASSERT_GE("and sound after", fabs(out[2 * (24000 - p + 100) + 1]), 1e-3);
	free(out);

	/* changing the offset of the reference heard jumps under a fade */
	audio_engine_set_offset(e, 2, 12000);
	out = engine_run(e, 4800, 64);
	s = snap(e);
	ASSERT_STEP("sync offset change on the ref heard", max_step_lr(out, 0, 4800),
		  slope(0.15) + 0.15 * 2.0 / (XF / 2) + 1e-6);
	ASSERT_LE("then ref2 at timeline + new offset",
		  diff_clip(out, 4800 - 1000, ref2, s.position - 1000 + 12000, 1000), 0);
	ASSERT_INT("slot offset changed", 12000, s.slot_offset[2]);
	free(out);

	/* the mix on the same timeline, with no offset */
	audio_engine_set_source(e, 0);
	out = engine_run(e, 4800, 256);
	s = snap(e);
	ASSERT_LE("mix at the timeline position",
		  diff_clip(out, XF, mix, s.position - 4800 + XF, 4800 - XF), 1e-6);
	ASSERT_STEP("sync ref (offset) -> mix", max_step_lr(out, 0, XF + 32),
		  M_SQRT2 * slope(0.15) + 0.25 * (M_PI / 2) / XF + 1e-6);
	free(out);
	audio_engine_free(&e);
}

/* Mode switches keep what is heard: the source that plays reads on from
 * the same frame, without a fade. */
static void test_mode_switch(void)
{
	struct chain_settings cs;
	struct audio_engine *e;
	struct audio_clip *mix = chirp_clip("mix", 0.1, false), *ref = chirp_clip("ref", 0.2, true);
	struct audio_engine_snapshot s;
	float *out;
	int64_t p;

	chain_settings_default(&cs);
	e = engine(&cs);
	audio_engine_set_clip(e, 0, mix);
	audio_engine_set_clip(e, 1, ref);
	audio_engine_set_offset(e, 1, 24000);
	audio_engine_set_source(e, 1);
	audio_engine_play(e, true);
	skip(e, 48000);                            /* timeline 48000, ref at 72000 */

	/* sync -> independent mid-block, while the ref plays */
	audio_engine_schedule_at(e, snap(e).rendered + 1000);
	audio_engine_set_playhead(e, AUDIO_PLAYHEAD_INDEPENDENT);
	audio_engine_schedule_at(e, 0);
	out = engine_run(e, 4800, 256);
	ASSERT_LE("to independent: the ref plays on, same frames, no fade",
		  diff_clip(out, 0, ref, 72000, 4800), 0);
	free(out);
	s = snap(e);
	ASSERT_INT("now independent", AUDIO_PLAYHEAD_INDEPENDENT, s.playhead);
	ASSERT_INT("position: the ref's own", 72000 + 4800, s.position);
	ASSERT_INT("the mix took its sync position", 48000 + 1000, s.slot_position[0]);

	/* play the ref alone, then back to sync: timeline = ref - offset */
	skip(e, 24000);                            /* ref at 100800 */
	audio_engine_set_playhead(e, AUDIO_PLAYHEAD_SYNC);
	out = engine_run(e, 4800, 256);
	ASSERT_LE("to sync: the ref plays on, same frames, no fade",
		  diff_clip(out, 0, ref, 100800, 4800), 0);
	free(out);
	s = snap(e);
	ASSERT_INT("now sync", AUDIO_PLAYHEAD_SYNC, s.playhead);
	ASSERT_INT("timeline = ref position - offset", 100800 + 4800 - 24000, s.position);
	ASSERT_INT("the mix follows the timeline", 100800 + 4800 - 24000, s.slot_position[0]);
	audio_engine_set_source(e, 0);
	out = engine_run(e, 4800, 256);
	ASSERT_LE("the mix heard at the new timeline position",
		  diff_clip(out, XF, mix, 100800 + 4800 - 24000 + XF, 4800 - XF), 1e-6);
	free(out);

	/* while the mix plays through the chain: both ways, seamless */
	audio_engine_set_playhead(e, AUDIO_PLAYHEAD_INDEPENDENT);
	out = engine_run(e, 4800, 128);
	ASSERT_LE("mix to independent: same frames",
		  diff_clip(out, 0, mix, 86400, 4800), 1e-6);
	free(out);
	audio_engine_set_playhead(e, AUDIO_PLAYHEAD_SYNC);
	out = engine_run(e, 4800, 100);
	ASSERT_LE("mix back to sync: same frames",
		  diff_clip(out, 0, mix, 86400 + 4800, 4800), 1e-6);
	free(out);

	/* a mode switch posted with a source switch waits for its fade, and
	 * the switch heard is the same as in sync */
	audio_engine_set_source(e, 1);
	audio_engine_set_playhead(e, AUDIO_PLAYHEAD_INDEPENDENT);
	out = engine_run(e, 4800, 64);
	ASSERT_LE("switch then mode: ref at timeline + offset, unbroken",
		  diff_clip(out, XF, ref, 96000 + 24000 + XF, 4800 - XF), 0);
	ASSERT_STEP("sync mix -> ref, then to independent", max_step_lr(out, 0, 2 * XF),
		  M_SQRT2 * slope(0.2) + 0.3 * (M_PI / 2) / XF + 1e-6);
	free(out);
	s = snap(e);
	ASSERT_INT("independent after the fade", AUDIO_PLAYHEAD_INDEPENDENT, s.playhead);
	ASSERT_INT("the mix stands at the end of its fade-out", 96000 + XF, s.slot_position[0]);

	/* independent -> sync posted with a switch back to the mix: the
	 * crossfade runs in independent mode (the ref fading out at its own
	 * place, not at the timeline's), then the timeline is the mix's */
	audio_engine_set_source(e, 0);
	audio_engine_set_playhead(e, AUDIO_PLAYHEAD_SYNC);
	out = engine_run(e, 4800, 64);
	ASSERT_LE("mode waits for the switch: true crossfade",
		  diff_switch(out, ref, 124800, mix, 96000 + XF), 1e-6);
	ASSERT_STEP("independent ref -> mix, then to sync", max_step_lr(out, 0, 2 * XF),
		    M_SQRT2 * slope(0.2) + 0.3 * (M_PI / 2) / XF + 1e-6);
	ASSERT_LE("then the mix on", diff_clip(out, XF, mix, 96000 + 2 * XF, 4800 - XF), 1e-6);
	free(out);
	s = snap(e);
	ASSERT_INT("sync again", AUDIO_PLAYHEAD_SYNC, s.playhead);
	ASSERT_INT("timeline = the mix's position", 96000 + XF + 4800, s.position);
	ASSERT_INT("the ref back on the timeline", 96000 + XF + 4800 + 24000, s.slot_position[1]);

	/* an offset set in independent mode changes nothing heard; the next
	 * switch to sync uses it */
	audio_engine_set_playhead(e, AUDIO_PLAYHEAD_INDEPENDENT);
	audio_engine_set_source(e, 1);
	skip(e, 4800);
	s = snap(e);
	p = s.slot_position[1];
	audio_engine_set_offset(e, 1, 1000);
	out = engine_run(e, 2400, 256);
	ASSERT_LE("independent: an offset changes nothing heard", diff_clip(out, 0, ref, p, 2400), 0);
	free(out);
	s = snap(e);
	ASSERT_INT("offset kept", 1000, s.slot_offset[1]);
	audio_engine_set_playhead(e, AUDIO_PLAYHEAD_SYNC);
	skip(e, 256);
	s = snap(e);
	ASSERT_INT("sync: timeline = ref - its new offset", p + 2400 + 256 - 1000, s.position);
	ASSERT_INT("bad mode", AUDIO_ENGINE_ERROR_ARG,
		   audio_engine_set_playhead(e, (enum audio_playhead)7));
	audio_engine_free(&e);
}

/* Independent mode: a source's own loop loops that source only. */
static void test_own_loop(void)
{
	struct chain_settings cs;
	struct audio_engine *e;
	struct audio_clip *mix = chirp_clip("mix", 0.1, false), *ref = chirp_clip("ref", 0.2, true);
	struct audio_engine_snapshot s;
	int64_t minp = INT64_MAX, maxp = 0, mix0;
	double step = 0;
	float *out;

	chain_settings_default(&cs);
	e = engine(&cs);
	audio_engine_set_clip(e, 0, mix);
	audio_engine_set_clip(e, 1, ref);
	audio_engine_set_clip(e, 2, chirp_clip("ref2", 0.1, false));
	audio_engine_set_playhead(e, AUDIO_PLAYHEAD_INDEPENDENT);
	/* slot 2 prepared without playing: a loop 2.0 … 2.5 s moves it in */
	audio_engine_set_slot_loop(e, 2, 2.0, 2.5, true);
	audio_engine_play(e, true);
	skip(e, 9600);
	audio_engine_set_source(e, 1);
	audio_engine_set_loop(e, 1.0, 1.5, true);  /* the ref's own: it plays */
	for (int i = 0; i < 200; i++) {
		out = engine_run(e, 480, 480);
		s = snap(e);
		if (i > 4) {  /* past the switch and jump fades: the wraps */
			step = fmax(step, max_step_lr(out, 0, 480));
			minp = s.position < minp ? s.position : minp;
			maxp = s.position > maxp ? s.position : maxp;
		}
		free(out);
	}
	ASSERT_TRUE("loop on (the ref's)", s.loop_on);
	ASSERT_INT("loop in (the ref's)", 48000, s.loop_in);
	ASSERT_TRUE("slot 1 loop", s.slot_loop_on[1]);
	ASSERT_TRUE("slot 0 has none", !s.slot_loop_on[0]);
	ASSERT_GE("ref stays in its loop (in)", (double)minp, 48000);
	ASSERT_LE("ref stays in its loop (out)", (double)maxp, 72000);
	/* a wrap blends two places of one signal with equal gains: slope
	 * plus their largest difference (2·amplitude) over the fade */
	ASSERT_STEP("independent: the ref's own loop wraps", step, slope(0.2) + 2 * 0.2 / XF + 1e-6);
	mix0 = s.slot_position[0];
	ASSERT_INT("the mix stood still", 9600 + XF, mix0);
	ASSERT_INT("slot 2 moved into its loop", 96000, s.slot_position[2]);

	/* the mix has no loop: it runs on past 1.5 s */
	audio_engine_set_source(e, 0);
	out = engine_run(e, 96000, 256);
	s = snap(e);
	ASSERT_TRUE("no loop on the mix", !s.loop_on);
	ASSERT_INT("the mix ran straight on", mix0 + 96000, s.position);
	ASSERT_LE("mix frames in order", diff_clip(out, XF, mix, mix0 + XF, 96000 - XF), 1e-6);
	free(out);

	/* back to the ref: still in its loop */
	audio_engine_set_source(e, 1);
	skip(e, 48000);
	s = snap(e);
	ASSERT_TRUE("the ref loops again", s.position >= 48000 && s.position < 72000);
	ASSERT_TRUE("its loop shown", s.loop_on && s.loop_out == 72000);
	audio_engine_free(&e);
}

/* Sync -> independent while the mix plays near the end of the timeline's
 * loop, the chain already fed past the wrap (it runs `latency` frames
 * ahead), and the mix's own loop is off: the mix must run on past the
 * loop end, so the chain is started again there under a jump fade; after
 * it the processed mix is aligned with its clip again. */
static void test_mode_switch_loop(void)
{
	struct chain_settings cs;
	struct audio_engine *e;
	struct audio_clip *mix = chirp_clip("mix", 0.1, false), *ref = chirp_clip("ref", 0.2, true);
	struct audio_engine_snapshot s;
	float *out;
	int64_t p;
	int guard = 0;

	chain_settings_default(&cs);
	e = engine(&cs);
	audio_engine_set_clip(e, 0, mix);
	audio_engine_set_clip(e, 1, ref);
	audio_engine_set_loop(e, 1.0, 1.5, true);
	audio_engine_play(e, true);
	skip(e, 4800);
	s = snap(e);
	ASSERT_GE("a chain with latency (the case means something)", s.latency, 64);
	do {
		free(engine_run(e, 32, 32));
		s = snap(e);
	} while (!(s.position < 72000 && 72000 - s.position < (int64_t)s.latency / 2) &&
		 ++guard < 10000);
	p = s.position;
	audio_engine_set_playhead(e, AUDIO_PLAYHEAD_INDEPENDENT);
	out = engine_run(e, 4800, 64);
	s = snap(e);
	ASSERT_INT("independent", AUDIO_PLAYHEAD_INDEPENDENT, s.playhead);
	ASSERT_TRUE("the mix ran on past the timeline's loop end", s.position > 72000 &&
		    s.position <= p + 4800);
	ASSERT_LE("processed mix aligned after the re-prime",
		  diff_clip(out, 4800 - 2400, mix, s.position - 2400, 2400), 1e-6);
	ASSERT_STEP("to independent past the loop: re-prime fade", max_step_lr(out, 0, 4800),
		    slope(0.1) + 0.1 * 2.0 / (XF / 2) + 1e-6);
	free(out);

	/* back to sync past the timeline's loop end: the loop is on, so the
	 * timeline wraps into it at once, crossfaded as after a seek */
	audio_engine_set_playhead(e, AUDIO_PLAYHEAD_SYNC);
	out = engine_run(e, 4800, 64);
	s = snap(e);
	ASSERT_TRUE("sync: in the timeline's loop again", s.position >= 48000 && s.position < 72000);
	ASSERT_STEP("to sync past the loop: the wrap", max_step_lr(out, 0, 4800),
		    slope(0.1) + 2 * 0.1 / XF + 1e-6);
	free(out);
	audio_engine_free(&e);
}

/* Independent mode: the end of the playing source's clip stops playback;
 * play starts it again from its top. */
static void test_end_of_source(void)
{
	struct chain_settings cs;
	struct audio_engine *e;
	struct audio_engine_snapshot s;

	chain_settings_default(&cs);
	e = engine(&cs);
	audio_engine_set_clip(e, 0, chirp_clip("mix", 0.1, false));
	audio_engine_set_clip(e, 1, chirp_clip("ref", 0.2, true));
	audio_engine_set_playhead(e, AUDIO_PLAYHEAD_INDEPENDENT);
	audio_engine_set_source(e, 1);
	audio_engine_seek_slot(e, 1, 3.9);
	audio_engine_play(e, true);
	skip(e, 9600);
	s = snap(e);
	ASSERT_TRUE("stopped at the ref's end", !s.playing);
	audio_engine_play(e, true);
	skip(e, 2400);
	s = snap(e);
	ASSERT_TRUE("play again", s.playing);
	ASSERT_TRUE("from the ref's top", s.position > 0 && s.position <= 2400);
	ASSERT_INT("the mix untouched", 0, s.slot_position[0]);

	/* a slot without a clip (still decoding): silence, playback goes on,
	 * its place is kept until the clip arrives */
	audio_engine_seek_slot(e, 3, 1.0);
	audio_engine_set_source(e, 3);
	skip(e, 4800);
	s = snap(e);
	ASSERT_TRUE("an empty slot does not stop playback", s.playing);
	ASSERT_INT("and keeps its place", 48000, s.slot_position[3]);
	audio_engine_set_clip(e, 3, chirp_clip("late", 0.1, true));
	skip(e, 4800);
	s = snap(e);
	ASSERT_INT("its clip plays from there", 48000 + 4800, s.slot_position[3]);
	audio_engine_free(&e);
}

int main(void)
{
	test_independent_returns(false);
	test_independent_returns(true);
	test_independent_chain_state();
	test_sync_offsets();
	test_mode_switch();
	test_own_loop();
	test_mode_switch_loop();
	test_end_of_source();
	return test_done();
}

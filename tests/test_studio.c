/*
 * termaster — the workstation's referencing (issue 4) and premeasure cache
 * (issue 6), driven through audio/studio.h on the null driver
 * (opts.no_device), on generated files.
 *
 *   - removing a reference moves the later ones down one slot, and the
 *     engine's slots follow (each slot's clip length is its own);
 *   - a premeasured setting recalled is matched at once (cache hit);
 *   - the region method: every source plays within 0.1 LU of the processed
 *     mix by loudness over its region (the loop; a reference's shifted by
 *     its offset), measured here independently with libebur128;
 *   - riding: a reference's gain follows a 20 dB step in it; while it is
 *     heard the gain glides (one pole), while not it lands at once;
 *   - 32 references load one after another while the control thread keeps
 *     polling (poll returns while jobs run: counted, not timed), and the
 *     memory budget releases and reloads references.
 *
 * Every check waits for audio time or the worker, never for wall time, so
 * a slow machine only makes it slower.
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sndfile.h>

#include "audio/engine.h"
#include "audio/render.h"
#include "audio/studio.h"
#include "refs/loudness.h"
#include "refs/spectrum.h"
#include "tests/util.h"

#define RATE 48000.0

static const char *dir;
static char *made[128];   /* files written, removed at the end */
static int n_made;

static void sleep_ms(int ms)
{
	struct timespec ts = { 0, (long)ms * 1000000L };

	nanosleep(&ts, NULL);
}

static void write_wav(const char *path, const float *lr, int64_t frames)
{
	SF_INFO info;
	SNDFILE *f;

	memset(&info, 0, sizeof(info));
	info.samplerate = (int)RATE;
	info.channels = 2;
	info.format = SF_FORMAT_WAV | SF_FORMAT_FLOAT;
	f = sf_open(path, SFM_WRITE, &info);
	if (!f || sf_writef_float(f, lr, frames) != frames) {
		fprintf(stderr, "%s: %s\n", path, sf_strerror(f));
		exit(99);
	}
	sf_close(f);
	if (n_made < 128)
		made[n_made++] = strdup(path);
}

/* A sine at freq whose peak is db1 dBFS before step_s and db2 after. */
static float *stepped(int64_t frames, double freq, double db1, double step_s, double db2)
{
	float *x = malloc(sizeof(float) * 2 * (size_t)frames);

	gen_sine(x, (size_t)frames, 2, RATE, freq, 1.0, 0.0);
	for (int64_t i = 0; i < frames; i++) {
		double g = db_to_lin((double)i < step_s * RATE ? db1 : db2);

		x[2 * i] *= (float)g;
		x[2 * i + 1] *= (float)g;
	}
	return x;
}

static const char *file(const char *name)
{
	static char buf[8][1024];
	static int k;

	k = (k + 1) % 8;
	snprintf(buf[k], sizeof(buf[k]), "%s/%s", dir, name);
	return buf[k];
}

/* Poll until the studio is idle; false if it never gets there. */
static bool settle(struct audio_studio *st)
{
	for (int i = 0; i < 60000; i++) {
		audio_studio_poll(st);
		if (!audio_studio_busy(st)) {
			audio_studio_poll(st);
			return true;
		}
		sleep_ms(1);
	}
	return false;
}

/* Poll until the engine has rendered `seconds` more audio. */
static void play_for(struct audio_studio *st, double seconds)
{
	struct audio_engine_snapshot s;
	int64_t end;

	audio_engine_snapshot(audio_studio_engine(st), &s);
	end = s.rendered + (int64_t)(seconds * RATE);
	do {
		audio_studio_poll(st);
		sleep_ms(2);
		audio_engine_snapshot(audio_studio_engine(st), &s);
	} while (s.rendered < end);
}

static struct audio_studio *open_studio(const char *mix)
{
	struct audio_studio_opts o;
	char msg[256];
	int err;
	struct audio_studio *st;

	audio_studio_opts_default(&o);
	o.no_device = true;
	st = audio_studio_new(mix, &o, &err, msg, sizeof(msg));
	if (!st) {
		fprintf(stderr, "audio_studio_new: %s\n", msg);
		exit(99);
	}
	return st;
}

static double measure_lufs(const float *lr, int64_t from, int64_t to)
{
	struct refs_loudness l;

	if (refs_loudness_measure(lr + 2 * from, to - from, 2, RATE, &l, NULL, NULL))
		return NAN;
	return l.integrated_lufs;
}

/* ---- remove_ref renumbering ---- */

static void test_remove(void)
{
	struct audio_studio *st;
	struct audio_engine_snapshot s;
	struct audio_source_info in;
	const double secs[4] = { 3, 4, 5, 6 };
	char name[64];

	{
		float *m = malloc(sizeof(float) * 2 * (size_t)(8 * RATE));

		gen_noise(m, (size_t)(8 * RATE), 2, 0.1, 1);
		write_wav(file("mix.wav"), m, (int64_t)(8 * RATE));
		free(m);
	}
	st = open_studio(file("mix.wav"));
	for (int i = 0; i < 4; i++) {
		int64_t n = (int64_t)(secs[i] * RATE);
		float *x = stepped(n, 300.0 + 100 * i, -10 - 4 * i, 0, -10 - 4 * i);

		snprintf(name, sizeof(name), "r%d.wav", i + 1);
		write_wav(file(name), x, n);
		free(x);
		ASSERT_INT("add_ref slot", i + 1, audio_studio_add_ref(st, file(name)));
	}
	ASSERT_TRUE("settles", settle(st));
	audio_studio_set_source(st, 3);
	ASSERT_INT("remove ref 2", 0, audio_studio_remove_ref(st, 2));
	ASSERT_INT("remove ref 9 refused", AUDIO_STUDIO_ERROR_STATE, audio_studio_remove_ref(st, 9));
	ASSERT_INT("count after removal", 4, audio_studio_source_count(st));
	ASSERT_TRUE("settles after removal", settle(st));
	play_for(st, 0.1);  /* the engine has taken the commands */
	audio_engine_snapshot(audio_studio_engine(st), &s);
	{
		const int want[4] = { 0, 1, 3, 4 };  /* old numbers now at slots 1 … 3 */

		for (int slot = 1; slot <= 3; slot++) {
			audio_studio_source(st, slot, &in);
			snprintf(name, sizeof(name), "r%d.wav", want[slot]);
			ASSERT_TRUE("moved source keeps its name", !strcmp(in.name, name));
			ASSERT_CLOSE("moved source keeps its loudness (sine peak -10-4k dBFS)",
				      -10 - 4 * (want[slot] - 1) - 3.01 + 3.01 - 0.0,
				      in.loudness.true_peak_dbtp, 0.05);
			ASSERT_INT("engine slot holds the moved clip (its length)",
				   (long long)(secs[want[slot] - 1] * RATE), s.slot_length[slot]);
		}
		ASSERT_INT("the last old slot is emptied", 0, s.slot_length[4]);
		ASSERT_INT("what played moves with it (old ref 3 -> 2)", 2, s.source);
	}
	/* removing the one that plays returns to the mix */
	ASSERT_INT("remove ref 2 (playing)", 0, audio_studio_remove_ref(st, 2));
	ASSERT_TRUE("settles after the second removal", settle(st));
	play_for(st, 0.1);
	audio_engine_snapshot(audio_studio_engine(st), &s);
	ASSERT_INT("the mix plays", 0, s.source);
	ASSERT_INT("slot 2 now holds old ref 4", (long long)(6 * RATE), s.slot_length[2]);
	ASSERT_INT("slot 3 empty", 0, s.slot_length[3]);
	/* two removals back to back, the copies of the first still queued */
	for (int i = 0; i < 3; i++)
		audio_studio_add_ref(st, file(i == 0 ? "r1.wav" : i == 1 ? "r3.wav" : "r4.wav"));
	ASSERT_TRUE("settles", settle(st));
	/* now r1 r4 r1 r3 r4 (3, 6, 3, 5, 6 s) */
	audio_studio_remove_ref(st, 1);
	audio_studio_remove_ref(st, 1);
	ASSERT_TRUE("settles after two removals", settle(st));
	play_for(st, 0.1);
	audio_engine_snapshot(audio_studio_engine(st), &s);
	ASSERT_INT("three left", 4, audio_studio_source_count(st));
	ASSERT_INT("slot 1: r1", (long long)(3 * RATE), s.slot_length[1]);
	ASSERT_INT("slot 2: r3", (long long)(5 * RATE), s.slot_length[2]);
	ASSERT_INT("slot 3: r4", (long long)(6 * RATE), s.slot_length[3]);
	ASSERT_INT("slot 4 empty", 0, s.slot_length[4]);
	ASSERT_INT("slot 5 empty", 0, s.slot_length[5]);
	audio_studio_free(&st);
	ASSERT_TRUE("free clears the pointer", st == NULL);
}

/* ---- premeasure cache ---- */

static void test_cache(void)
{
	struct audio_studio *st = open_studio(file("mix.wav"));
	struct chain_settings b;
	struct audio_match_info m0, m;
	struct audio_studio_stats s0, s1;
	int gi = chain_param_find("gain.gain_db");

	ASSERT_TRUE("settles", settle(st));
	audio_studio_match(st, &m0);
	b = *audio_studio_settings(st);
	b.value[gi] = 3.0f;
	ASSERT_TRUE("not measured yet", !audio_studio_is_measured(st, &b));
	ASSERT_INT("premeasure", 0, audio_studio_premeasure(st, &b));
	ASSERT_TRUE("premeasure settles", settle(st));
	ASSERT_TRUE("measured", audio_studio_is_measured(st, &b));
	audio_studio_stats(st, &s0);
	/* a trim set just before (as a snapshot recall shifts them) */
	ASSERT_INT("trim", 0, audio_studio_set_trim(st, AUDIO_ROUTE_AFTER, -2.5));
	ASSERT_INT("set_settings", 0, audio_studio_set_settings(st, &b));
	/* no poll in between: the cache answers at once */
	audio_studio_match(st, &m);
	audio_studio_stats(st, &s1);
	ASSERT_INT("one cache hit", (long long)s0.cache_hits + 1, (long long)s1.cache_hits);
	{
		/* and the gains that match it went out with the parameters,
		 * the trim included (no poll: the same batch) */
		struct audio_engine_snapshot es;
		double lufs = 0;

		audio_engine_snapshot(audio_studio_engine(st), &es);
		ASSERT_CLOSE("match gain sent with the settings", m.gain_db[AUDIO_ROUTE_AFTER],
			     es.gain_db[AUDIO_ROUTE_AFTER], 1e-6);
		ASSERT_CLOSE("the trim is in it", m.result.target_lufs - m.after.integrated_lufs - 2.5,
			     m.gain_db[AUDIO_ROUTE_AFTER], 1e-6);
		ASSERT_TRUE("measured loudness of the settings",
			    audio_studio_measured_lufs(st, &b, &lufs));
		ASSERT_CLOSE("… is the cached one", m.after.integrated_lufs, lufs, 0);
		audio_studio_set_trim(st, AUDIO_ROUTE_AFTER, 0.0);
	}
	ASSERT_TRUE("after measured at once", m.after_measured && !m.after_pending);
	ASSERT_CLOSE("after is the +3 dB setting's", m0.after.integrated_lufs + 3.0,
		      m.after.integrated_lufs, 0.02);
	ASSERT_TRUE("no re-measure pending", !audio_studio_busy(st) || settle(st));
	/* back to the first settings: measured too (every "after" is kept) */
	b.value[gi] = 0.0f;
	ASSERT_TRUE("the first settings are cached", audio_studio_is_measured(st, &b));
	audio_studio_set_settings(st, &b);
	audio_studio_match(st, &m);
	ASSERT_CLOSE("recalled exactly", m0.after.integrated_lufs, m.after.integrated_lufs, 1e-9);
	audio_studio_free(&st);
}

/* ---- region method ---- */

struct grab {
	float *buf;
	int64_t at;
};

static int grab(void *user, const float *lr, size_t frames)
{
	struct grab *g = user;

	memcpy(g->buf + 2 * g->at, lr, sizeof(float) * 2 * frames);
	g->at += (int64_t)frames;
	return 0;
}

/*
 * "After"'s true peak after a change: its loudness lands first, the true
 * peak by a job of its own over the output the render kept (split in two
 * parts at 48 s). Judged by libebur128 on the same chain rendered here.
 */
static void test_after_tp(void)
{
	const int64_t n = (int64_t)(48 * RATE);
	float *mix = malloc(sizeof(float) * 2 * (size_t)n);
	float *after = malloc(sizeof(float) * 2 * (size_t)n);
	struct grab g = { after, 0 };
	struct audio_studio *st;
	struct chain_settings s;
	struct audio_match_info m, m1;
	struct audio_studio_stats s0, s1;
	struct refs_loudness l;
	int gi = chain_param_find("gain.gain_db");
	bool early = false;

	gen_music(mix, (size_t)n, 2, RATE, 0.3, 3);
	write_wav(file("tpmix.wav"), mix, n);
	st = open_studio(file("tpmix.wav"));
	ASSERT_TRUE("settles", settle(st));
	audio_studio_match(st, &m1);
	audio_studio_stats(st, &s0);
	s = *audio_studio_settings(st);
	s.value[gi] = 12.0f;  /* into the limiter: a new true peak */
	ASSERT_INT("set_settings", 0, audio_studio_set_settings(st, &s));
	for (int i = 0; i < 60000; i++) {
		audio_studio_poll(st);
		audio_studio_match(st, &m);
		audio_studio_stats(st, &s1);
		if (m.after_measured && !m.after_pending) {
			/* the loudness is in; the true peak of before stands
			 * until its job is done */
			early = s1.after_tp == s0.after_tp &&
				m.after.true_peak_dbtp == m1.after.true_peak_dbtp;
			break;
		}
		sleep_ms(1);
	}
	ASSERT_TRUE("the loudness came first, the last true peak standing", early);
	ASSERT_TRUE("settles", settle(st));
	audio_studio_stats(st, &s1);
	audio_studio_match(st, &m);
	ASSERT_INT("the true peak by a job of its own", (long long)s0.after_tp + 1,
		   (long long)s1.after_tp);
	audio_render_run(mix, n, RATE, audio_studio_settings(st), grab, &g);
	if (refs_loudness_measure(after, n, 2, RATE, &l, NULL, NULL))
		l.true_peak_dbtp = l.integrated_lufs = NAN;
	printf("after +12 dB: true peak %.4f dBTP (libebur128 on a render here %.4f), "
	       "%.4f LUFS (%.4f)\n", m.after.true_peak_dbtp, l.true_peak_dbtp,
	       m.after.integrated_lufs, l.integrated_lufs);
	ASSERT_CLOSE("after's true peak is libebur128's of the render", l.true_peak_dbtp,
		     m.after.true_peak_dbtp, 0.01);
	/* two parts, the second from its pre-roll (2 s here): joined, what
	 * one pass gives */
	ASSERT_CLOSE("after's loudness", l.integrated_lufs, m.after.integrated_lufs, 0.002);
	ASSERT_TRUE("the new true peak differs from the old", fabs(m.after.true_peak_dbtp -
		    m1.after.true_peak_dbtp) > 0.5);
	audio_studio_free(&st);
	free(mix);
	free(after);
}

static void test_region(void)
{
	const int64_t n = (int64_t)(12 * RATE);
	float *mix = malloc(sizeof(float) * 2 * (size_t)n);
	float *after = malloc(sizeof(float) * 2 * (size_t)n);
	float *r1 = stepped(n, 440, -12, 6, -30);   /* loud first half */
	float *r2 = stepped(n, 700, -32, 4, -14);   /* quiet first 4 s */
	struct audio_studio *st;
	struct audio_engine_snapshot s;
	struct audio_match_info m;
	struct grab g = { after, 0 };
	const double in = 1.0, out = 4.0, off2 = 3.0;  /* ref 2: its 4 … 7 s */
	double l_after, l_before, l1, l2, target;

	/* the mix: quiet noise for 5 s, 12 dB louder after */
	gen_noise(mix, (size_t)n, 2, 0.05, 7);
	for (int64_t i = (int64_t)(5 * RATE); i < n; i++) {
		mix[2 * i] *= 4.0f;
		mix[2 * i + 1] *= 4.0f;
	}
	write_wav(file("rmix.wav"), mix, n);
	write_wav(file("rr1.wav"), r1, n);
	write_wav(file("rr2.wav"), r2, n);
	st = open_studio(file("rmix.wav"));
	audio_studio_add_ref(st, file("rr1.wav"));
	audio_studio_add_ref(st, file("rr2.wav"));
	ASSERT_TRUE("settles", settle(st));
	ASSERT_INT("offset", 0, audio_studio_set_offset(st, 2, off2));
	ASSERT_INT("loop", 0, audio_studio_set_loop(st, in, out, true));
	ASSERT_INT("method", 0, audio_studio_set_match_method(st, AUDIO_MATCH_REGION));
	ASSERT_TRUE("settles", settle(st));
	audio_engine_snapshot(audio_studio_engine(st), &s);
	audio_studio_match(st, &m);
	ASSERT_TRUE("method ready", m.method_ready);

	/* independently: the processed mix rendered here, every route
	 * measured with libebur128 over its own region */
	audio_render_run(mix, n, RATE, audio_studio_settings(st), grab, &g);
	l_after = measure_lufs(after, (int64_t)(in * RATE), (int64_t)(out * RATE));
	l_before = measure_lufs(mix, (int64_t)(in * RATE), (int64_t)(out * RATE));
	l1 = measure_lufs(r1, (int64_t)(in * RATE), (int64_t)(out * RATE));
	l2 = measure_lufs(r2, (int64_t)((in + off2) * RATE), (int64_t)((out + off2) * RATE));
	target = l_after + s.gain_db[AUDIO_ROUTE_AFTER];
	printf("region: after %.3f, before %.3f, ref1 %.3f, ref2 %.3f LUFS; "
	       "gains %.3f %.3f %.3f %.3f dB\n", l_after, l_before, l1, l2,
	       s.gain_db[AUDIO_ROUTE_AFTER], s.gain_db[AUDIO_ROUTE_BEFORE], s.gain_db[1], s.gain_db[2]);
	ASSERT_CLOSE("before within 0.1 LU over the region", target,
		      l_before + s.gain_db[AUDIO_ROUTE_BEFORE], 0.1);
	ASSERT_CLOSE("ref 1 within 0.1 LU over the region", target, l1 + s.gain_db[1], 0.1);
	ASSERT_CLOSE("ref 2 within 0.1 LU over its region (offset 3 s)", target,
		      l2 + s.gain_db[2], 0.1);
	for (int r = 1; r <= 2; r++)
		ASSERT_LE("residual reported within 0.1 LU", fabs(m.residual_lu[r]), 0.1);
	ASSERT_LE("residual of before within 0.1 LU", fabs(m.residual_lu[AUDIO_ROUTE_BEFORE]), 0.1);
	/* a parameter change: with the region method "after" is measured
	 * over the region first (rendered with pre-roll), and the gains
	 * taken from it match already, before the whole track is measured */
	{
		struct audio_studio_stats s0, s1;
		int gi = chain_param_find("gain.gain_db");
		double la;

		audio_studio_stats(st, &s0);
		audio_studio_set_param(st, (unsigned)gi, 2.0f);
		do {
			audio_studio_poll(st);
			sleep_ms(1);
			audio_studio_stats(st, &s1);
		} while (s1.region_first == s0.region_first && audio_studio_busy(st));
		ASSERT_INT("region measured first", (long long)s0.region_first + 1,
			   (long long)s1.region_first);
		play_for(st, 0.05);  /* the engine has the gains */
		audio_engine_snapshot(audio_studio_engine(st), &s);
		g.at = 0;
		audio_render_run(mix, n, RATE, audio_studio_settings(st), grab, &g);
		la = measure_lufs(after, (int64_t)(in * RATE), (int64_t)(out * RATE));
		ASSERT_CLOSE("the chain's +2 dB seen over the region", l_after + 2.0, la, 0.01);
		ASSERT_CLOSE("ref 1 matched from the region-first measure",
			     la + s.gain_db[AUDIO_ROUTE_AFTER], l1 + s.gain_db[1], 0.1);
		ASSERT_TRUE("then the whole track", settle(st));
		l_after = la;
	}
	/* the integrated method cannot match the region: the sections differ */
	audio_studio_set_match_method(st, AUDIO_MATCH_INTEGRATED);
	settle(st);
	audio_engine_snapshot(audio_studio_engine(st), &s);
	ASSERT_GE("integrated leaves ref 1 off over the region",
		  fabs(l1 + s.gain_db[1] - (l_after + s.gain_db[AUDIO_ROUTE_AFTER])), 1.0);
	audio_studio_free(&st);
	free(mix);
	free(after);
	free(r1);
	free(r2);
}

/* ---- riding ---- */

static float ref_gain(struct audio_studio *st)
{
	struct audio_engine_snapshot s;

	audio_engine_snapshot(audio_studio_engine(st), &s);
	return s.gain_db[1];
}

static void seek_to(struct audio_studio *st, double t)
{
	struct audio_engine_snapshot s;
	int64_t want = llround(t * RATE);

	audio_engine_seek(audio_studio_engine(st), t);
	do {
		audio_studio_poll(st);
		sleep_ms(2);
		audio_engine_snapshot(audio_studio_engine(st), &s);
	} while (llabs(s.position - want) > (int64_t)(0.2 * RATE));
	play_for(st, 0.1);  /* a few polls at the new place */
}

static void test_riding(void)
{
	const int64_t n = (int64_t)(12 * RATE);
	float *mix = malloc(sizeof(float) * 2 * (size_t)n);
	float *r = stepped(n, 500, -30, 5, -10);   /* 20 dB up at 5 s */
	struct audio_studio *st;
	struct audio_match_info m;
	float g1, g2, g_mid;

	/* quiet enough that no source's true peak lowers the target */
	gen_noise(mix, (size_t)n, 2, 0.02, 3);
	write_wav(file("dmix.wav"), mix, n);
	write_wav(file("dref.wav"), r, n);
	st = open_studio(file("dmix.wav"));
	audio_studio_add_ref(st, file("dref.wav"));
	ASSERT_TRUE("settles", settle(st));
	audio_studio_set_match_method(st, AUDIO_MATCH_RIDING);
	/* the mix plays (paused: the playhead stands), the reference is not
	 * heard: its gain lands on its target at once */
	seek_to(st, 2.0);
	g1 = ref_gain(st);
	seek_to(st, 9.0);
	g2 = ref_gain(st);
	printf("riding: ref gain %.3f dB at 2 s, %.3f dB at 9 s\n", g1, g2);
	ASSERT_CLOSE("gain follows the 20 dB step", 20.0, g1 - g2, 0.1);
	audio_studio_match(st, &m);
	ASSERT_LE("residual of the reference", fabs(m.residual_lu[1]), 0.1);
	/* heard, it glides: back at 2 s, one second of audio later it has
	 * covered 1 - e^-1 = 63 % of the way (one pole, tau 1 s) */
	audio_studio_set_source(st, 1);
	play_for(st, 0.2);
	audio_engine_seek(audio_studio_engine(st), 2.0);
	play_for(st, 1.0);
	g_mid = ref_gain(st);
	printf("riding: heard, 1 s after the jump: %.3f dB\n", g_mid);
	ASSERT_TRUE("glides: more than a third, less than all of the way",
		    (g_mid - g2) / (g1 - g2) > 0.35 && (g_mid - g2) / (g1 - g2) < 0.9);
	audio_studio_free(&st);
	free(mix);
	free(r);
}

/* ---- 32 references, loading in the background, memory budget ---- */

static void test_many(void)
{
	const int64_t n = (int64_t)(2 * RATE);
	float *x = malloc(sizeof(float) * 2 * (size_t)n);
	struct audio_studio *st;
	struct audio_studio_stats s;
	struct audio_source_info in;
	uint64_t loading_polls = 0;
	char name[64];
	bool ready = false;

	/* 2 s at 48 kHz stereo float: 768 kB each; a 4 MB budget holds 5 */
	setenv("TERMASTER_MEMORY_MB", "4", 1);
	st = open_studio(file("mix.wav"));
	unsetenv("TERMASTER_MEMORY_MB");
	for (int i = 0; i < 32; i++) {
		gen_sine(x, (size_t)n, 2, RATE, 200.0 + 37 * i, db_to_lin(-6 - 0.5 * i), 0);
		snprintf(name, sizeof(name), "m%02d.wav", i);
		write_wav(file(name), x, n);
		ASSERT_INT("added", i + 1, audio_studio_add_ref(st, file(name)));
	}
	/* the control thread polls as a screen does; count how often poll
	 * came back while the worker was decoding */
	for (int k = 0; k < 60000 && !ready; k++) {
		audio_studio_poll(st);
		loading_polls++;
		ready = !audio_studio_busy(st);
		sleep_ms(1);
	}
	audio_studio_stats(st, &s);
	printf("32 references: %llu polls while loading, %llu of them with a job running, "
	       "%llu times the lock was taken; %d released, %lld bytes resident\n",
	       (unsigned long long)loading_polls, (unsigned long long)s.polls_while_busy,
	       (unsigned long long)s.lock_waits, s.released, (long long)s.resident_bytes);
	ASSERT_TRUE("all loaded", ready);
	ASSERT_INT("33 sources", 33, audio_studio_source_count(st));
	for (int i = 1; i <= 32; i++) {
		audio_studio_source(st, i, &in);
		ASSERT_TRUE("ready and measured", in.state == AUDIO_SOURCE_READY && in.measured);
	}
	ASSERT_GE("poll returned while jobs ran (never waited for one)",
		  (double)s.polls_while_busy, 32);
	ASSERT_LE("resident within the budget", (double)s.resident_bytes, (double)s.budget_bytes);
	ASSERT_GE("the budget released references", s.released, 20);
	/* choosing a released reference decodes it again */
	audio_studio_source(st, 1, &in);
	ASSERT_TRUE("ref 1 (least recently used) released", in.released);
	audio_studio_set_source(st, 1);
	ASSERT_TRUE("settles", settle(st));
	audio_studio_source(st, 1, &in);
	audio_studio_stats(st, &s);
	ASSERT_TRUE("ref 1 decoded again", !in.released && in.state == AUDIO_SOURCE_READY);
	ASSERT_GE("one reload", (double)s.reloads, 1);
	{
		struct audio_engine_snapshot e;

		play_for(st, 0.1);
		audio_engine_snapshot(audio_studio_engine(st), &e);
		ASSERT_INT("its slot holds it", n, e.slot_length[1]);
	}
	audio_studio_free(&st);
	free(x);
}

/* ---- comparison views ---- */

static void test_analysis(void)
{
	const int64_t n = (int64_t)(8 * RATE);
	float *r = stepped(n, 1000, -20, 4, -8);   /* 12 dB up at 4 s */
	struct audio_studio *st;
	struct audio_route_analysis a;
	double l_region, l_whole;
	int band = -1;

	write_wav(file("aref.wav"), r, n);
	st = open_studio(file("mix.wav"));
	audio_studio_add_ref(st, file("aref.wav"));
	ASSERT_TRUE("settles", settle(st));
	for (int b = 0; b < REFS_SPECTRUM_BANDS; b++)
		if (fabs(refs_spectrum_centre_hz(b) - 1000.0) < 1.0)
			band = b;
	/* the whole track, then a loop over the quiet part */
	for (int pass = 0; pass < 2; pass++) {
		if (pass == 1)
			audio_studio_set_loop(st, 0.5, 3.5, true);
		audio_studio_analysis(st, 1, &a);
		for (int k = 0; k < 20000 && !a.valid; k++) {
			audio_studio_poll(st);
			sleep_ms(1);
			audio_studio_analysis(st, 1, &a);
		}
		ASSERT_TRUE("analysis ready", a.valid);
		ASSERT_INT("over the region only with a loop", pass, a.over_region);
		l_whole = measure_lufs(r, 0, n);
		l_region = measure_lufs(r, (int64_t)(0.5 * RATE), (int64_t)(3.5 * RATE));
		ASSERT_CLOSE("integrated over what it covers", pass ? l_region : l_whole,
			     a.integrated_lufs, 0.01);
		ASSERT_CLOSE("PLR = true peak - integrated", a.true_peak_dbtp - a.integrated_lufs,
			     a.plr_db, 1e-9);
		ASSERT_CLOSE("true peak of the sine", pass ? -20.0 : -8.0, a.true_peak_dbtp, 0.05);
		/* a sine in the mid reads its peak level, minus the loudness */
		ASSERT_CLOSE("1 kHz band, loudness-normalised",
			     (pass ? -20.0 : -8.0 + 10 * log10(0.5 * (1 + pow(10, -12 / 10.0)))) -
				     a.integrated_lufs,
			     a.mid_db[band], 0.5);
		ASSERT_LE("side is silent", a.side_db[band], -150);
		ASSERT_INT("short-term curve every 100 ms over the clip", 80, a.n_short_term);
		ASSERT_CLOSE("short-term at 2 s (quiet part)", measure_lufs(r, (int64_t)(0 * RATE),
									    (int64_t)(3 * RATE)),
			     a.short_term[29], 0.05);
	}
	/* "after": rendered over the region (pre-roll before it); asked
	 * again after a change, it is measured again */
	{
		const int64_t mn = (int64_t)(8 * RATE);
		float *m = malloc(sizeof(float) * 2 * (size_t)mn), *o = malloc(sizeof(float) * 2 * (size_t)mn);
		struct grab g = { o, 0 };
		int gi = chain_param_find("gain.gain_db");

		gen_noise(m, (size_t)mn, 2, 0.1, 1);   /* mix.wav, as test_remove wrote it */
		audio_studio_analysis(st, AUDIO_ROUTE_AFTER, &a);
		audio_studio_set_param(st, (unsigned)gi, 4.0f);
		settle(st);
		for (int k = 0; k < 20000; k++) {
			audio_studio_analysis(st, AUDIO_ROUTE_AFTER, &a);
			if (a.valid)
				break;
			audio_studio_poll(st);
			sleep_ms(1);
		}
		ASSERT_TRUE("after analysis ready", a.valid);
		audio_render_run(m, mn, RATE, audio_studio_settings(st), grab, &g);
		ASSERT_CLOSE("after over the loop, the +4 dB chain's",
			     measure_lufs(o, (int64_t)(0.5 * RATE), (int64_t)(3.5 * RATE)),
			     a.integrated_lufs, 0.05);
		free(m);
		free(o);
	}
	audio_studio_free(&st);
	free(r);
}

/* Not a test (no timing in tests): `tests/test_studio --bench-after
 * [full]` prints how long "after" takes to be re-measured after a
 * parameter change on a 4-minute 48 kHz mix (the demo's +10 dB into the
 * default chain, or every processor on), wall and CPU time, and with a
 * 10 s loop and the region method how soon the region's figure is in. */
static int bench_after(bool full)
{
	const int64_t n = (int64_t)(240 * RATE);
	float *x = malloc(sizeof(float) * 2 * (size_t)n);
	struct audio_studio *st;
	struct chain_settings s;
	int gi = chain_param_find("gain.gain_db");
	static const char *const on[] = {
		"eq.1.on=1", "eq.2.on=1", "eq.3.on=1", "eq.4.on=1", "eq.5.on=1", "eq.6.on=1",
		"eq.7.on=1", "eq.8.on=1", "comp.on=1", "mb.on=1", "sat.on=1", NULL,
	};

	gen_music(x, (size_t)n, 2, RATE, 0.3, 1);
	write_wav(file("bench240.wav"), x, n);
	free(x);
	st = open_studio(file("bench240.wav"));
	settle(st);
	s = *audio_studio_settings(st);
	chain_settings_assign(&s, "gain.gain_db=10", NULL, 0);
	for (int i = 0; full && on[i]; i++)
		chain_settings_assign(&s, on[i], NULL, 0);
	audio_studio_set_settings(st, &s);
	settle(st);
	printf("240 s mix, %s chain:\n", full ? "full" : "default");
	for (int pass = 0; pass < 2; pass++) {
		if (pass == 1) {
			audio_studio_set_match_method(st, AUDIO_MATCH_REGION);
			audio_studio_set_loop(st, 60, 70, true);
			settle(st);
		}
		for (int k = 0; k < 5; k++) {
			struct audio_match_info m;
			struct audio_studio_stats s0, s1;
			double t0 = test_clock_s(CLOCK_MONOTONIC);
			double c0 = test_clock_s(CLOCK_PROCESS_CPUTIME_ID), tr = 0;

			audio_studio_stats(st, &s0);
			audio_studio_set_param(st, (unsigned)gi, (float)(11 + k + 5 * pass));
			do {
				audio_studio_poll(st);
				sleep_ms(1);
				audio_studio_match(st, &m);
				audio_studio_stats(st, &s1);
				if (!tr && s1.region_first != s0.region_first)
					tr = test_clock_s(CLOCK_MONOTONIC) - t0;
			} while (m.after_pending || !m.after_measured);
			printf("  after re-measured %.3f s after the change (CPU %.3f s), %.3f LUFS",
			       test_clock_s(CLOCK_MONOTONIC) - t0,
			       test_clock_s(CLOCK_PROCESS_CPUTIME_ID) - c0, m.after.integrated_lufs);
			if (pass == 1)
				printf("; its 10 s loop region after %.3f s", tr);
			printf("\n");
		}
	}
	audio_studio_free(&st);
	return 0;
}

static void clean_up(void)
{
	for (int i = 0; i < n_made; i++) {
		remove(made[i]);
		free(made[i]);
	}
	remove(dir);
}

int main(int argc, char **argv)
{
	dir = test_tmpdir("studio");
	if (argc > 1 && !strcmp(argv[1], "--bench-after")) {
		int r = bench_after(argc > 2 && !strcmp(argv[2], "full"));

		clean_up();
		return r;
	}
	test_remove();
	test_cache();
	test_after_tp();
	test_region();
	test_riding();
	test_many();
	test_analysis();
	clean_up();
	return test_done();
}

/*
 * termaster — unit test: the chain (chain/chain.c), its parameter table and
 * the input gain (chain/gain.c).
 *
 * STYLE.md §7: magnitude against the formula, reset to exact zeros,
 * block-size invariance, bounded steps on parameter jumps, finite output on
 * hostile input, no slowdown on silence after a tone, latency = sum.
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "chain/chain.h"
#include "chain/dither.h"
#include "chain/truepeak.h"
#include "tests/util.h"

/* the limiter's place in the chain */
#define LIMITER ((unsigned)chain_proc_find("limiter"))

#define RATE 48000.0
#define MAXF 1024u

static float *fbuf(size_t n)
{
	float *b = calloc(n ? n : 1, sizeof(float));

	if (!b)
		exit(99);
	return b;
}

static struct chain *open_chain(double rate, const struct chain_settings *s)
{
	int err = -1;
	struct chain *c = chain_new(rate, MAXF, s, &err);

	if (!c) {
		fprintf(stderr, "chain_new: %s\n", chain_strerror(err));
		exit(99);
	}
	return c;
}

static unsigned idx_of(const char *id)
{
	int i = chain_param_find(id);

	if (i < 0) {
		fprintf(stderr, "no parameter %s\n", id);
		exit(99);
	}
	return (unsigned)i;
}

/* Runs planar l/r (frames) through c in calls of `block`, in place; when
 * at_frame is set, parameter pid is set to pval exactly at that frame. */
static void run(struct chain *c, float *l, float *r, size_t frames,
		unsigned block, size_t at_frame, unsigned pid, float pval)
{
	size_t i = 0;

	while (i < frames) {
		size_t m = frames - i < block ? frames - i : block;
		float *b[2] = { l + i, r + i };

		if (at_frame > i && at_frame < i + m)
			m = at_frame - i;
		if (at_frame && i == at_frame)
			chain_set_param(c, pid, pval);
		chain_process(c, b, (unsigned)m);
		i += m;
	}
}

/* ---- the parameter table ---- */

static void test_table(void)
{
	unsigned n = chain_param_count();
	unsigned expect = 0;

	/* the fixed order of issue 3: input, EQ, compressor, multiband,
	 * saturation, stereo, limiter */
	static const char *const order[] = { "gain", "eq", "comp", "mb", "sat", "stereo", "limiter" };

	ASSERT_INT("processor count", 7, chain_proc_count());
	for (unsigned p = 0; p < 7; p++)
		ASSERT_INT(order[p], (int)p, chain_proc_find(order[p]));
	ASSERT_INT("unknown processor", -1, chain_proc_find("reverb"));
	ASSERT_TRUE("ops beyond the end", chain_proc_ops_at(7) == NULL);
	for (unsigned p = 0; p < chain_proc_count(); p++)
		expect += chain_proc_ops_at(p)->n_params +
			  (chain_proc_ops_at(p)->bypass != CHAIN_BYPASS_NONE);
	ASSERT_INT("flattened count = sum of the tables", expect, n);
	ASSERT_TRUE("count within CHAIN_PARAM_MAX", n <= CHAIN_PARAM_MAX);
	ASSERT_TRUE("beyond the end is NULL", chain_param_at(n) == NULL);
	for (unsigned i = 0; i < n; i++) {
		const struct chain_param_info *a = chain_param_at(i);
		const struct chain_proc_ops *ops = chain_proc_ops_at(a->proc);
		char id[64];

		snprintf(id, sizeof(id), "%s.%s", ops->name, a->param->id);
		ASSERT_TRUE("id is <proc>.<param>", strcmp(id, a->id) == 0);
		if (a->local == CHAIN_LOCAL_ON)
			ASSERT_TRUE("the chain's on switch", ops->bypass != CHAIN_BYPASS_NONE &&
				    strcmp(a->param->id, "on") == 0);
		else
			ASSERT_TRUE("param is the processor's", a->param == &ops->params[a->local]);
		ASSERT_TRUE("min < max", a->param->min < a->param->max);
		ASSERT_TRUE("default within range",
			    a->param->def >= a->param->min && a->param->def <= a->param->max);
		ASSERT_TRUE("step > 0", a->param->step > 0);
		ASSERT_TRUE("name and unit set", a->param->name && a->param->unit);
		ASSERT_INT("find finds it", i, chain_param_find(a->id));
		for (unsigned j = 0; j < i; j++)
			ASSERT_TRUE("ids unique", strcmp(chain_param_at(j)->id, a->id) != 0);
		ASSERT_CLOSE("clamp below", a->param->min,
			     chain_param_clamp(i, a->param->min - 1000), 0);
		ASSERT_CLOSE("clamp above", a->param->max,
			     chain_param_clamp(i, a->param->max + 1000), 0);
		ASSERT_CLOSE("clamp NaN gives the default", a->param->def,
			     chain_param_clamp(i, NAN), 0);
		ASSERT_CLOSE("clamp inside", a->param->def, chain_param_clamp(i, a->param->def), 0);
	}
	ASSERT_INT("unknown id", -1, chain_param_find("limiter.ceiling"));
	ASSERT_INT("NULL id", -1, chain_param_find(NULL));
	/* the ones the rest of the program names */
	ASSERT_TRUE("gain.gain_db", chain_param_find("gain.gain_db") >= 0);
	ASSERT_TRUE("limiter.ceiling_dbtp", chain_param_find("limiter.ceiling_dbtp") >= 0);
	ASSERT_TRUE("limiter.release_ms", chain_param_find("limiter.release_ms") >= 0);
	ASSERT_CLOSE("ceiling default -1 dBTP", -1.0,
		     chain_param_at(idx_of("limiter.ceiling_dbtp"))->param->def, 0);
	for (int e = 0; e <= CHAIN_ERROR_RANGE; e++)
		ASSERT_TRUE("strerror has text", chain_strerror(e) && *chain_strerror(e));
	ASSERT_TRUE("strerror of an unknown code", strcmp(chain_strerror(99), "unknown error") == 0);
}

static void test_settings(void)
{
	struct chain_settings s;
	char msg[256];
	unsigned ceil = idx_of("limiter.ceiling_dbtp"), gain = idx_of("gain.gain_db");
	int r;

	chain_settings_default(&s);
	for (unsigned i = 0; i < chain_param_count(); i++)
		ASSERT_CLOSE("default", chain_param_at(i)->param->def, s.value[i], 0);

	r = chain_settings_set(&s, "limiter.ceiling_dbtp", "3", msg, sizeof(msg));
	ASSERT_INT("out of range", CHAIN_ERROR_RANGE, r);
	ASSERT_TRUE("range message", strcmp(msg,
		"limiter.ceiling_dbtp: 3 is out of range -20 … 0 dBTP") == 0);
	if (strcmp(msg, "limiter.ceiling_dbtp: 3 is out of range -20 … 0 dBTP"))
		fprintf(stderr, "  got: %s\n", msg);
	ASSERT_CLOSE("value kept on error", -1.0, s.value[ceil], 0);

	r = chain_settings_set(&s, "x", "1", msg, sizeof(msg));
	ASSERT_INT("unknown parameter", CHAIN_ERROR_PARAM, r);
	/* the message lists the known ids in table order, cut with "…)" when
	 * the buffer is full */
	ASSERT_TRUE("unknown message names the known ids",
		    strncmp(msg, "unknown parameter 'x' (known: gain.gain_db, ", 44) == 0 &&
		    msg[strlen(msg) - 1] == ')');
	{
		char small[64];

		chain_settings_set(&s, "x", "1", small, sizeof(small));
		ASSERT_TRUE("a short buffer ends the list with …)",
			    strlen(small) < sizeof(small) && strstr(small, "…)") != NULL);
	}
	if (r == CHAIN_ERROR_PARAM)
		printf("message: %s\n", msg);

	r = chain_settings_set(&s, "limiter.ceiling_dbtp", "abc", msg, sizeof(msg));
	ASSERT_INT("not a number", CHAIN_ERROR_VALUE, r);
	ASSERT_TRUE("number message", strstr(msg, "'abc' is not a number") != NULL);
	ASSERT_TRUE("number message names the parameter",
		    strcmp(msg, "limiter.ceiling_dbtp: 'abc' is not a number") == 0);
	{
		static const char *bad[] = { "", "  ", "nan", "inf", "-", "1.5.2", "1,5",
					     "0x10", "1e", "--1", "1 dB" /* unit is dBTP */ };

		for (unsigned k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
			r = chain_settings_set(&s, "limiter.ceiling_dbtp", bad[k], msg, sizeof(msg));
			ASSERT_INT(bad[k], CHAIN_ERROR_VALUE, r);
		}
	}
	{
		static const struct {
			const char *text;
			float v;
		} good[] = {
			{ "-1.5", -1.5f }, { " -2 ", -2.0f }, { "-0.1", -0.1f },
			{ "-1e1", -10.0f }, { "-.5", -0.5f }, { "-3.", -3.0f },
			{ "-6 dBTP", -6.0f }, { "-6dbtp", -6.0f }, { "0", 0.0f },
			{ "-20", -20.0f }, { "+0", 0.0f }, { "-20.000000001", -20.0f },
		};

		for (unsigned k = 0; k < sizeof(good) / sizeof(good[0]); k++) {
			r = chain_settings_set(&s, "limiter.ceiling_dbtp", good[k].text, msg, sizeof(msg));
			ASSERT_INT(good[k].text, CHAIN_OK, r);
			ASSERT_CLOSE(good[k].text, good[k].v, s.value[ceil], 0);
		}
	}
	r = chain_settings_set(&s, "limiter.ceiling_dbtp", "-20.1", msg, sizeof(msg));
	ASSERT_INT("just below the range", CHAIN_ERROR_RANGE, r);

	r = chain_settings_assign(&s, "gain.gain_db=6", msg, sizeof(msg));
	ASSERT_INT("assign", CHAIN_OK, r);
	ASSERT_CLOSE("assigned", 6.0, s.value[gain], 0);
	r = chain_settings_assign(&s, "  gain.gain_db =  -3.5 dB ", msg, sizeof(msg));
	ASSERT_INT("assign with spaces and unit", CHAIN_OK, r);
	ASSERT_CLOSE("assigned", -3.5, s.value[gain], 0);
	r = chain_settings_assign(&s, "gain.gain_db", msg, sizeof(msg));
	ASSERT_INT("assign without =", CHAIN_ERROR_VALUE, r);
	ASSERT_TRUE("form message", strcmp(msg, "'gain.gain_db' is not of the form ID=VALUE") == 0);
	r = chain_settings_assign(&s, "=3", msg, sizeof(msg));
	ASSERT_INT("assign without id", CHAIN_ERROR_PARAM, r);
	r = chain_settings_assign(&s, "gain.gain_db=99", msg, sizeof(msg));
	ASSERT_INT("assign out of range", CHAIN_ERROR_RANGE, r);
	ASSERT_TRUE("assign range message",
		    strcmp(msg, "gain.gain_db: 99 is out of range -24 … 24 dB") == 0);
	r = chain_settings_assign(&s, "limiter.release_ms=0.5", msg, sizeof(msg));
	ASSERT_TRUE("release message",
		    strcmp(msg, "limiter.release_ms: 0.5 is out of range 1 … 1000 ms") == 0);

	/* short and missing message buffers */
	{
		char small[20];

		memset(small, 'z', sizeof(small));
		r = chain_settings_set(&s, "nope", "1", small, sizeof(small));
		ASSERT_INT("small buffer: code", CHAIN_ERROR_PARAM, r);
		ASSERT_TRUE("small buffer: terminated", memchr(small, '\0', sizeof(small)) != NULL);
		r = chain_settings_set(&s, "nope", "1", msg, 80);
		ASSERT_TRUE("80 bytes: terminated", strlen(msg) < 80);
		ASSERT_TRUE("80 bytes: cut with an ellipsis", strstr(msg, "…)") != NULL);
		r = chain_settings_set(&s, "nope", "1", NULL, 0);
		ASSERT_INT("NULL message", CHAIN_ERROR_PARAM, r);
		r = chain_settings_set(&s, "gain.gain_db", "2", NULL, 0);
		ASSERT_INT("NULL message, success", CHAIN_OK, r);
	}
}

/* ---- construction ---- */

static void test_new(void)
{
	struct chain_settings s;
	struct chain *c;
	int err = 0;

	c = chain_new(7999, MAXF, NULL, &err);
	ASSERT_TRUE("rate too low", c == NULL && err == CHAIN_ERROR_RATE);
	c = chain_new(384001, MAXF, NULL, &err);
	ASSERT_TRUE("rate too high", c == NULL && err == CHAIN_ERROR_RATE);
	c = chain_new(NAN, MAXF, NULL, &err);
	ASSERT_TRUE("rate NaN", c == NULL && err == CHAIN_ERROR_RATE);
	c = chain_new(RATE, 0, NULL, &err);
	ASSERT_TRUE("no frames", c == NULL && err == CHAIN_ERROR_BLOCK);
	chain_free(NULL);
	chain_free(&c);

	c = open_chain(RATE, NULL);
	for (unsigned i = 0; i < chain_param_count(); i++)
		ASSERT_CLOSE("NULL settings give the defaults",
			     chain_param_at(i)->param->def, chain_get_param(c, i), 0);
	chain_set_param(c, idx_of("gain.gain_db"), 100);
	ASSERT_CLOSE("set_param clamps", 24, chain_get_param(c, idx_of("gain.gain_db")), 0);
	chain_set_param(c, 9999, 1);  /* ignored */
	{
		unsigned sum = 0;

		for (unsigned p = 0; p < chain_proc_count(); p++) {
			const struct chain_proc_ops *ops = chain_proc_ops_at(p);
			struct chain_proc pr = { ops, calloc(1, ops->priv_size), RATE, MAXF };

			ops->init(&pr, RATE, MAXF);
			sum += ops->latency(&pr);
			if (ops->destroy)
				ops->destroy(&pr);
			free(pr.priv);
		}
		ASSERT_INT("latency = sum of the processors'", sum, chain_latency(c));
		ASSERT_TRUE("the limiter's lookahead is in it (at least 10 ms)",
			    chain_latency(c) >= 480);
	}
	chain_free(&c);
	ASSERT_TRUE("free clears the pointer", c == NULL);

	chain_settings_default(&s);
	s.value[idx_of("limiter.ceiling_dbtp")] = -50;  /* clamped by chain_new */
	c = open_chain(44100, &s);
	ASSERT_CLOSE("settings clamped", -20, chain_get_param(c, idx_of("limiter.ceiling_dbtp")), 0);
	ASSERT_TRUE("latency at 44.1 kHz holds the 10 ms lookahead", chain_latency(c) >= 441);
	chain_free(&c);
	c = open_chain(8000, NULL);
	chain_free(&c);
	c = open_chain(384000, NULL);
	ASSERT_TRUE("latency at 384 kHz holds the 10 ms lookahead", chain_latency(c) >= 3840);
	chain_free(&c);
}

/* ---- the gain ---- */

static void test_gain_magnitude(void)
{
	static const float gains[] = { -24, -12.5f, -6, -0.1f, 0, 0.1f, 6, 12, 24 };
	const double amp = 0.03, f = 997;
	size_t n = 48000;

	for (unsigned k = 0; k < sizeof(gains) / sizeof(gains[0]); k++) {
		struct chain_settings s;
		struct chain *c;
		float *l = fbuf(n), *r = fbuf(n);
		unsigned lat;
		double got, want = lin_to_db(amp) + gains[k];
		char msg[64];

		chain_settings_default(&s);
		s.value[idx_of("gain.gain_db")] = gains[k];
		s.value[idx_of("limiter.ceiling_dbtp")] = 0;
		c = open_chain(RATE, &s);
		lat = chain_latency(c);
		gen_sine(l, n, 1, RATE, f, amp, 0);
		memcpy(r, l, n * sizeof(float));
		run(c, l, r, n, 512, 0, 0, 0);
		got = lin_to_db(measure_sine_amp(l + lat + 4800, n - lat - 4800, 1, RATE, f));
		snprintf(msg, sizeof(msg), "gain %+.1f dB: level (dB)", gains[k]);
		ASSERT_CLOSE(msg, want, got, 0.01);
		ASSERT_TRUE("no reduction", chain_gain_reduction_db(c, LIMITER) == 0);
		ASSERT_TRUE("gain reports no reduction", chain_gain_reduction_db(c, 0) == 0);
		if (k == 0 || gains[k] == 24)
			printf("gain %+5.1f dB: %.4f dB (expected %.4f)\n", gains[k], got, want);
		free(l);
		free(r);
		chain_free(&c);
	}
}

/*
 * A jump of gain_db from -24 to +24 on a DC input of level A.  The gain
 * moves, once per sub-block of B = CHAIN_SUBBLOCK frames, by the fraction
 * k = 1 - exp(-B / (tau·fs)) of the remaining distance (tau = 10 ms), in a
 * straight line across the sub-block.  The largest per-frame step of the
 * factor is therefore k·(g_max - g_min)/B, and of the output
 * A·k·(g_max - g_min)/B: at 48 kHz and A = 0.02, 6.36e-4, where a plain
 * step would jump by 0.316.
 */
static void test_gain_glide(void)
{
	const double A = 0.02, tau = 0.010;
	const double gmin = db_to_lin(-24), gmax = db_to_lin(24);
	const double k = 1 - exp(-CHAIN_SUBBLOCK / (tau * RATE));
	const double bound = A * k * (gmax - gmin) / CHAIN_SUBBLOCK;
	size_t n = 48000, at = 4800;
	unsigned gid = idx_of("gain.gain_db");

	for (int dir = 0; dir < 2; dir++) {
		struct chain_settings s;
		struct chain *c;
		float *l = fbuf(n), *r = fbuf(n);
		double step = 0;
		unsigned lat;

		chain_settings_default(&s);
		s.value[gid] = dir ? 24 : -24;
		c = open_chain(RATE, &s);
		lat = chain_latency(c);
		for (size_t i = 0; i < n; i++)
			l[i] = r[i] = (float)A;
		run(c, l, r, n, 256, at, gid, dir ? -24 : 24);
		for (size_t i = lat + 1; i < n; i++)
			if (fabs((double)l[i] - l[i - 1]) > step)
				step = fabs((double)l[i] - l[i - 1]);
		printf("gain jump %s: largest step %.3g (bound %.3g, unsmoothed %.3g)\n",
		       dir ? "+24 → -24" : "-24 → +24", step, bound, A * (gmax - gmin));
		ASSERT_LE("largest step after a gain jump", step, bound * 1.0001 + 1e-7);
		ASSERT_GE("it does move", step, bound * 0.5);
		ASSERT_CLOSE("lands on the target", A * (dir ? gmin : gmax), l[n - 1], 1e-6);
		free(l);
		free(r);
		chain_free(&c);
	}
}

/*
 * A jump of the ceiling from 0 to -20 dBTP on a DC input of 0.95: the
 * limiter's gain (a log gain) is the average over the last b2 frames of an
 * average over b1 frames, so it moves per frame by at most the whole
 * 20 dB (2.303 nepers) divided by b2 = ceil(attack / 2), the attack being
 * the default 5 ms lookahead: 120 frames at 48 kHz, so
 * |Δy| <= 0.95 · (exp(2.303 / 120) - 1) = 0.0184.  The way back
 * (-20 → 0) is the release, far slower.
 */
static void test_ceiling_glide(void)
{
	size_t n = 96000, at = 9600;
	unsigned cid = idx_of("limiter.ceiling_dbtp");

	for (int dir = 0; dir < 2; dir++) {
		struct chain_settings s;
		struct chain *c;
		float *l = fbuf(n), *r = fbuf(n);
		double step = 0, bound;
		unsigned lat, b2;

		chain_settings_default(&s);
		s.value[cid] = dir ? -20 : 0;
		c = open_chain(RATE, &s);
		lat = chain_latency(c);
		b2 = (unsigned)ceil(0.005 * RATE / 2);
		bound = 0.95 * (exp(20 * log(10) / 20 / b2) - 1);
		for (size_t i = 0; i < n; i++)
			l[i] = r[i] = 0.95f;
		run(c, l, r, n, 256, at, cid, dir ? 0 : -20);
		for (size_t i = lat + 1; i < n; i++)
			if (fabs((double)l[i] - l[i - 1]) > step)
				step = fabs((double)l[i] - l[i - 1]);
		printf("ceiling jump %s: largest step %.3g (bound %.3g)\n",
		       dir ? "-20 → 0" : "0 → -20", step, bound);
		ASSERT_LE("largest step after a ceiling jump", step, bound);
		ASSERT_CLOSE("settles at the new ceiling", dir ? 0.95 : db_to_lin(-20),
			     l[n - 1], 1e-4);
		free(l);
		free(r);
		chain_free(&c);
	}
}

/* ---- chain-wide properties ---- */

static void test_reset(void)
{
	struct chain_settings s;
	struct chain *c;
	size_t n = 4096;
	float *l = fbuf(n), *r = fbuf(n);
	int zero = 1;

	chain_settings_default(&s);
	s.value[idx_of("gain.gain_db")] = 12;
	c = open_chain(RATE, &s);
	for (size_t i = 0; i < n; i++)
		l[i] = r[i] = 1.0f;
	run(c, l, r, n, 1024, 0, 0, 0);
	ASSERT_GE("ones were limited", chain_gain_reduction_db(c, LIMITER), 12);
	chain_reset(c);
	ASSERT_TRUE("reset clears the reported reduction", chain_gain_reduction_db(c, LIMITER) == 0);
	memset(l, 0, n * sizeof(float));
	memset(r, 0, n * sizeof(float));
	run(c, l, r, n, 1024, 0, 0, 0);
	for (size_t i = 0; i < n; i++)
		if (l[i] != 0.0f || r[i] != 0.0f)
			zero = 0;
	ASSERT_TRUE("zeros after reset are exact zeros", zero);
	ASSERT_CLOSE("parameters kept", 12, chain_get_param(c, idx_of("gain.gain_db")), 0);
	/* and the chain still works: a quiet sine comes through, delayed */
	{
		unsigned lat = chain_latency(c);

		gen_sine(l, n, 1, RATE, 1000, 0.01, 0);
		memcpy(r, l, n * sizeof(float));
		chain_reset(c);
		run(c, l, r, n, 100, 0, 0, 0);
		ASSERT_CLOSE("after reset: +12 dB, delayed",
			     0.01 * db_to_lin(12), measure_sine_amp(l + lat, n - lat, 1, RATE, 1000), 1e-4);
	}
	free(l);
	free(r);
	chain_free(&c);
}

static void test_block_invariance(void)
{
	static const unsigned sizes[] = { 1, 32, 1024, 7, 333, 5000 };
	const double rate = 44100;
	size_t n = 88200, at = 33333;
	float *il = fbuf(2 * n), *refl = NULL, *refr = NULL;
	unsigned gid = idx_of("gain.gain_db");

	gen_music(il, n, 2, rate, 1.0, 9);
	for (unsigned k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		struct chain_settings s;
		struct chain *c;
		float *l = fbuf(n), *r = fbuf(n);
		double maxd = 0;
		char msg[64];

		chain_settings_default(&s);
		s.value[gid] = 3;
		c = open_chain(rate, &s);
		for (size_t i = 0; i < n; i++) {
			l[i] = il[2 * i];
			r[i] = il[2 * i + 1];
		}
		/* 5000 > max_frames: chain_process splits it */
		run(c, l, r, n, sizes[k], at, gid, 15);
		if (!refl) {
			refl = l;
			refr = r;
		} else {
			for (size_t i = 0; i < n; i++) {
				if (fabs((double)l[i] - refl[i]) > maxd)
					maxd = fabs((double)l[i] - refl[i]);
				if (fabs((double)r[i] - refr[i]) > maxd)
					maxd = fabs((double)r[i] - refr[i]);
			}
			snprintf(msg, sizeof(msg), "chain: block %u vs 1", sizes[k]);
			ASSERT_LE(msg, maxd, 1e-6);
			printf("chain, calls of %4u frames vs 1: max difference %.3g\n", sizes[k], maxd);
			free(l);
			free(r);
		}
		chain_free(&c);
	}
	free(refl);
	free(refr);
	free(il);
}

static void test_hostile(void)
{
	static const float gains[] = { -24, 24 }, ceils[] = { -20, 0 }, rels[] = { 1, 1000 };
	size_t n = 6 * 4800;
	float *src = fbuf(n);

	for (size_t i = 0; i < n; i++) {
		size_t seg = i / 4800;

		src[i] = seg == 0 ? 1.0f :                          /* DC */
			 seg == 1 ? ((i / 12) % 2 ? 1.0f : -1.0f) :   /* square, 2 kHz */
			 seg == 2 ? 0.0f :                          /* silence */
			 seg == 3 ? ((i % 2) ? 1.0f : -1.0f) :        /* Nyquist */
			 seg == 4 ? -1.0f :                         /* negative DC */
			 (float)sin(0.1 * (double)i);
	}
	for (unsigned a = 0; a < 2; a++)
		for (unsigned b = 0; b < 2; b++)
			for (unsigned q = 0; q < 2; q++) {
				struct chain_settings s;
				struct chain *c;
				float *l = fbuf(n), *r = fbuf(n);
				int finite = 1;
				double peak = 0;

				chain_settings_default(&s);
				s.value[idx_of("gain.gain_db")] = gains[a];
				s.value[idx_of("limiter.ceiling_dbtp")] = ceils[b];
				s.value[idx_of("limiter.release_ms")] = rels[q];
				c = open_chain(RATE, &s);
				memcpy(l, src, n * sizeof(float));
				for (size_t i = 0; i < n; i++)
					r[i] = -src[i];
				run(c, l, r, n, 480, 0, 0, 0);
				for (size_t i = 0; i < n; i++) {
					if (!isfinite(l[i]) || !isfinite(r[i]))
						finite = 0;
					if (fabs(l[i]) > peak)
						peak = fabs(l[i]);
				}
				ASSERT_TRUE("finite at extreme settings", finite);
				ASSERT_LE("sample peak within the ceiling (dB)", lin_to_db(peak),
					  ceils[b] + 0.05);
				free(l);
				free(r);
				chain_free(&c);
			}
	free(src);
}

static double seconds(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/*
 * Denormals: after a tone that drove the limiter, silence must leave no
 * state decaying through the subnormal range.  Checked on the state's
 * visible effects (outputs are exact zeros, not tiny values; the reported
 * reduction returns to exactly 0, i.e. the release envelope snapped), and
 * by timing as a second opinion: the best of 7 runs of silence must not be
 * 3× slower than the best of 7 runs of tone (denormal stalls cost 10–100×).
 */
static void test_denormals(void)
{
	struct chain *c = open_chain(RATE, NULL);
	size_t n = 48000;
	float *l = fbuf(n), *r = fbuf(n);
	int clean = 1;
	double t_tone = 1e9, t_sil = 1e9;

	for (int rep = 0; rep < 7; rep++) {
		double t0, t1, t2;

		gen_sine(l, n, 1, RATE, 1000, 2.0, 0);  /* 6 dB into the limiter */
		memcpy(r, l, n * sizeof(float));
		t0 = seconds();
		run(c, l, r, n, 256, 0, 0, 0);
		t1 = seconds();
		if (t1 - t0 < t_tone)
			t_tone = t1 - t0;
		ASSERT_GE("the tone is limited", chain_gain_reduction_db(c, LIMITER), 6);
		for (unsigned s = 0; s < 4; s++) {
			memset(l, 0, n * sizeof(float));
			memset(r, 0, n * sizeof(float));
			t1 = seconds();
			run(c, l, r, n, 256, 0, 0, 0);
			t2 = seconds();
			if (t2 - t1 < t_sil && s > 0)
				t_sil = t2 - t1;
			for (size_t i = s ? 0 : chain_latency(c); i < n; i++)
				if (l[i] != 0.0f || r[i] != 0.0f ||
				    fpclassify(l[i]) == FP_SUBNORMAL)
					clean = 0;
		}
		ASSERT_TRUE("reduction back to exactly 0 dB", chain_gain_reduction_db(c, LIMITER) == 0.0f);
	}
	ASSERT_TRUE("silence after a tone gives exact zeros", clean);
	printf("per second of audio: tone %.2f ms, silence %.2f ms\n", t_tone * 1e3, t_sil * 1e3);
	ASSERT_LE("silence vs tone cost ratio", t_sil / t_tone, 3.0);
	free(l);
	free(r);
	chain_free(&c);
}

/* ---- the chain's on/off switch (limiter.on) ----
 *
 * A 0 dBFS 997 Hz sine into a -6 dBTP ceiling: processed ≈ 0.5, dry 1.0.
 * Off: the output is the input delayed by the chain latency, exactly (the
 * dry path keeps the latency).  On again: the processed signal, with the
 * limiter primed.  During each 10 ms crossfade no sample step exceeds the
 * signal's own slope plus |wet - dry|max / ramp (linear crossfade), and
 * the result does not depend on call sizes.
 */
static void test_bypass(void)
{
	const size_t n = 48000;
	const unsigned ramp = (unsigned)lround(RATE * CHAIN_BYPASS_MS / 1000.0);
	const size_t off_at = 12000, on_at = 30000;
	unsigned on = idx_of("limiter.on");
	struct chain_settings s;
	float *l[3], *r[3];
	unsigned blocks[3] = { 1, 333, 1024 };
	unsigned lat;
	double maxd = 0, step = 0, bound;

	chain_settings_default(&s);
	ASSERT_CLOSE("limiter on by default", 1.0, s.value[on], 0);
	s.value[idx_of("limiter.ceiling_dbtp")] = -6.0f;
	for (int b = 0; b < 3; b++) {
		struct chain *c = open_chain(RATE, &s);
		size_t i = 0;

		lat = chain_latency(c);
		l[b] = fbuf(n);
		r[b] = fbuf(n);
		for (size_t k = 0; k < n; k++)
			l[b][k] = r[b][k] = (float)sin(2 * M_PI * 997.0 * (double)k / RATE);
		/* switch off at off_at, on at on_at, in calls of blocks[b] */
		while (i < n) {
			size_t m = n - i < blocks[b] ? n - i : blocks[b];
			float *bb[2] = { l[b] + i, r[b] + i };

			if (i < off_at && i + m > off_at)
				m = off_at - i;
			else if (i < on_at && i + m > on_at)
				m = on_at - i;
			if (i == off_at)
				chain_set_param(c, on, 0);
			if (i == on_at)
				chain_set_param(c, on, 1);
			chain_process(c, bb, (unsigned)m);
			i += m;
		}
		ASSERT_INT("latency unchanged", lat, chain_latency(c));
		chain_free(&c);
	}
	/* off: exactly the input delayed by the latency */
	for (size_t k = off_at + ramp + 1; k < on_at; k++) {
		double d = fabs(l[1][k] - sin(2 * M_PI * 997.0 * (double)(k - lat) / RATE));

		if (d > maxd)
			maxd = d;
	}
	ASSERT_LE("switched off: the input delayed by the latency", maxd, 1e-6);
	ASSERT_LE("on again: limited to the ceiling",
		  lin_to_db(measure_true_peak(l[1] + on_at + 4800, n - on_at - 4800, 1)), -6.0 + 0.05);
	for (size_t k = 1; k < n; k++)
		if (fabs(l[1][k] - l[1][k - 1]) > step)
			step = fabs(l[1][k] - l[1][k - 1]);
	bound = 2 * M_PI * 997.0 / RATE + 1.0 / ramp + 1e-6;
	ASSERT_LE("no step across the switches", step, bound);
	maxd = 0;
	for (size_t k = 0; k < n; k++) {
		double d = fmax(fabs(l[0][k] - l[1][k]), fabs(l[2][k] - l[1][k]));

		if (d > maxd)
			maxd = d;
	}
	ASSERT_LE("switching is independent of call sizes", maxd, 1e-6);
	for (int b = 0; b < 3; b++) {
		free(l[b]);
		free(r[b]);
	}
}

/*
 * chain_process_range(): stage 1 (processors 0 … k-1) and stage 2 (the
 * rest) give chain_process()'s output bit for bit, for every split k, also
 * when stage 1 runs a block ahead of stage 2 (audio/render.c's pipeline),
 * with every processor on and working (music +9 dB).
 */
static void test_range(void)
{
	const double rate = 44100;
	const unsigned block = 256, nb = 40, n = block * nb;
	float *music = malloc(sizeof(float) * 2 * n);
	float *ref = malloc(sizeof(float) * 2 * n), *got = malloc(sizeof(float) * 2 * n);
	struct chain_settings s;
	unsigned np = chain_proc_count(), same = 0;

	gen_music(music, n, 2, rate, 0.5, 21);
	chain_settings_default(&s);
	for (unsigned p = 0; p < np; p++) {
		char id[64];

		snprintf(id, sizeof(id), "%s.on", chain_proc_ops_at(p)->name);
		if (chain_param_find(id) >= 0)
			chain_settings_set(&s, id, "1", NULL, 0);
	}
	chain_settings_set(&s, "gain.gain_db", "9", NULL, 0);
	chain_settings_set(&s, "eq.1.on", "1", NULL, 0);
	chain_settings_set(&s, "eq.1.gain_db", "3", NULL, 0);
	for (unsigned k = 0; k <= np; k++) {
		struct chain *a = chain_new(rate, block, &s, NULL);
		struct chain *b = chain_new(rate, block, &s, NULL);
		float l[2][256], r[2][256];

		ASSERT_TRUE("chains", a && b);
		if (!a || !b) {
			chain_free(&a);
			chain_free(&b);
			continue;
		}
		for (unsigned i = 0; i < nb; i++) {
			float *buf[2] = { l[0], r[0] };

			for (unsigned j = 0; j < block; j++) {
				l[0][j] = music[2 * (i * block + j)];
				r[0][j] = music[2 * (i * block + j) + 1];
			}
			chain_process(a, buf, block);
			for (unsigned j = 0; j < block; j++) {
				ref[2 * (i * block + j)] = l[0][j];
				ref[2 * (i * block + j) + 1] = r[0][j];
			}
		}
		/* block i's stage 1 before block i-1's stage 2 */
		for (unsigned i = 0; i <= nb; i++) {
			if (i < nb) {
				float *buf[2] = { l[i % 2], r[i % 2] };

				for (unsigned j = 0; j < block; j++) {
					l[i % 2][j] = music[2 * (i * block + j)];
					r[i % 2][j] = music[2 * (i * block + j) + 1];
				}
				chain_process_range(b, buf, block, 0, k);
			}
			if (i > 0) {
				unsigned q = (i - 1) % 2;
				float *buf[2] = { l[q], r[q] };

				chain_process_range(b, buf, block, k, np);
				for (unsigned j = 0; j < block; j++) {
					got[2 * ((i - 1) * block + j)] = l[q][j];
					got[2 * ((i - 1) * block + j) + 1] = r[q][j];
				}
			}
		}
		same += !memcmp(ref, got, sizeof(float) * 2 * n);
		chain_free(&a);
		chain_free(&b);
	}
	printf("chain_process_range: %u of %u splits bit-identical to chain_process\n", same, np + 1);
	ASSERT_INT("every split bit-identical", np + 1, same);
	free(music);
	free(ref);
	free(got);
}

/* TPDF dither (chain/dither.c works by runs of draws and SSE2 lanes)
 * against the plain scalar loop it replaced, on hostile input too. */
static uint32_t ref_xorshift(uint32_t *s)
{
	uint32_t x = *s;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	*s = x;
	return x;
}

static void ref_tpdf(uint32_t *s, unsigned bits, const float *in, int32_t *out, size_t n)
{
	double scale = ldexp(1.0, (int)bits - 1), lo = -scale, hi = scale - 1;

	for (size_t i = 0; i < n; i++) {
		double v = (double)in[i] * scale;
		double u0 = (double)(ref_xorshift(s) >> 8) * (1.0 / 16777216.0) - 0.5;
		double u1 = (double)(ref_xorshift(s) >> 8) * (1.0 / 16777216.0) - 0.5;
		double q;

		if (!(v == v))
			v = 0;
		q = floor(v + (u0 + u1) + 0.5);
		if (q < lo)
			q = lo;
		else if (q > hi)
			q = hi;
		out[i] = (int32_t)((uint32_t)(int32_t)q << (32 - bits));
	}
}

static void test_dither_reference(void)
{
	const size_t n = 20000;
	float *in = malloc(sizeof(float) * 2 * n);
	int32_t *a = malloc(sizeof(int32_t) * 2 * n), *b = malloc(sizeof(int32_t) * 2 * n);
	int same = 0, cases = 0;

	gen_noise(in, n, 2, 1.3, 5);
	in[3] = NAN;
	in[10] = INFINITY;
	in[11] = -INFINITY;
	in[12] = 1e30f;
	in[13] = -1.0f;
	in[14] = 0.99999994f;
	for (unsigned ch = 1; ch <= 2; ch++)
		for (unsigned bits = 16; bits <= 24; bits += 8) {
			int err;
			uint32_t seed = 0x7e4d1a5bu + bits, s = seed;
			struct chain_dither *d = chain_dither_new(ch, bits, seed, &err);
			size_t done = 0, sz = 1;

			ASSERT_TRUE("dither", d != NULL);
			if (!d)
				continue;
			while (done < n) {
				size_t k = sz < n - done ? sz : n - done;

				chain_dither_process(d, in + done * ch, a + done * ch, k);
				done += k;
				sz = (sz * 7 + 3) % 1500 + 1;
			}
			ref_tpdf(&s, bits, in, b, n * ch);
			cases++;
			same += !memcmp(a, b, sizeof(int32_t) * n * ch);
			chain_dither_free(&d);
		}
	ASSERT_INT("TPDF dither = the scalar reference, bit for bit", cases, same);
	free(in);
	free(a);
	free(b);
}

int main(void)
{
	test_range();
	test_dither_reference();
	test_table();
	test_bypass();
	test_settings();
	test_new();
	test_gain_magnitude();
	test_gain_glide();
	test_ceiling_glide();
	test_reset();
	test_block_invariance();
	test_hostile();
	test_denormals();
	return test_done();
}

/*
 * termaster — the offline renderer (audio/render.c) and the demo material
 * (audio/demo.c).
 *
 *  1. determinism: two renders of the same input give the same bytes
 *  2. the float file is what audio_render_run() produced, and the chain's
 *     latency is compensated: a quiet input (below the limiter's ceiling)
 *     comes out equal to the input at the same index
 *  3. safety: the input is never replaced (SAME_FILE, even with force, by
 *     any spelling or a hard link); an existing output needs force; a
 *     failed or cancelled render leaves nothing at OUT and no temporary
 *     file in its folder
 *  4. 16-bit TPDF dither: error RMS = 0.5 LSB (LSB²/12 rounding + 2·LSB²/12
 *     dither = LSB²/4; Wannamaker, Lipshitz & Vanderkooy 2000); without
 *     dither 1/√12 LSB
 *  5. 48 kHz → 44.1 kHz keeps a 1 kHz sine's level (±0.05 dB), phase and
 *     length (±1 frame)
 *  6. the loudness returned is that of the file (±0.01 LU)
 *  7. the demo clips hit their loudness targets and are deterministic
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sndfile.h>

#include "audio/clip.h"
#include "audio/demo.h"
#include "audio/render.h"
#include "chain/chain.h"
#include "refs/loudness.h"
#include "tests/util.h"

#define RATE 48000.0

static char dir[4096];

static const char *path_in(const char *name)
{
	static char buf[4][4096 + 64];
	static int k;

	k = (k + 1) % 4;
	snprintf(buf[k], sizeof(buf[k]), "%s/%s", dir, name);
	return buf[k];
}

/* Whole file into memory; NULL when it does not exist. */
static unsigned char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	unsigned char *b;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	b = malloc((size_t)n + 1);
	if (b && fread(b, 1, (size_t)n, f) != (size_t)n) {
		free(b);
		b = NULL;
	}
	fclose(f);
	*len = (size_t)n;
	return b;
}

static int files_equal(const char *a, const char *b)
{
	size_t la, lb;
	unsigned char *x = slurp(a, &la), *y = slurp(b, &lb);
	int eq = x && y && la == lb && !memcmp(x, y, la);

	free(x);
	free(y);
	return eq;
}

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (!f) {
		perror(path);
		exit(99);
	}
	fputs(text, f);
	fclose(f);
}

/* Reads a stereo file as floats; *frames and *rate out. */
static float *read_float(const char *path, int64_t *frames, int *rate)
{
	SF_INFO info;
	SNDFILE *sf;
	float *buf;

	memset(&info, 0, sizeof(info));
	sf = sf_open(path, SFM_READ, &info);
	if (!sf)
		return NULL;
	buf = malloc(sizeof(float) * 2 * (size_t)(info.frames + 1));
	*frames = sf_readf_float(sf, buf, info.frames);
	if (rate)
		*rate = info.samplerate;
	sf_close(sf);
	return buf;
}

/* Reads a stereo integer file as left-justified ints. */
static int32_t *read_int(const char *path, int64_t *frames)
{
	SF_INFO info;
	SNDFILE *sf;
	int32_t *buf;

	memset(&info, 0, sizeof(info));
	sf = sf_open(path, SFM_READ, &info);
	if (!sf)
		return NULL;
	buf = malloc(sizeof(int32_t) * 2 * (size_t)(info.frames + 1));
	*frames = sf_readf_int(sf, buf, info.frames);
	sf_close(sf);
	return buf;
}

static void write_wav(const char *path, const float *lr, int64_t frames, int fmt)
{
	SF_INFO info = { .samplerate = (int)RATE, .channels = 2, .format = fmt };
	SNDFILE *sf = sf_open(path, SFM_WRITE, &info);

	if (!sf || sf_writef_float(sf, lr, frames) != frames) {
		fprintf(stderr, "%s: %s\n", path, sf_strerror(sf));
		exit(99);
	}
	sf_close(sf);
}

/* Names in the test folder other than the given ones (temporary files
 * left behind). */
static int stray_files(const char *const *keep, int n_keep)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int stray = 0;

	if (!d)
		return -1;
	while ((e = readdir(d))) {
		int known = !strcmp(e->d_name, ".") || !strcmp(e->d_name, "..");

		for (int i = 0; i < n_keep; i++)
			if (!strcmp(e->d_name, keep[i]))
				known = 1;
		if (!known) {
			fprintf(stderr, "stray file: %s\n", e->d_name);
			stray++;
		}
	}
	closedir(d);
	return stray;
}

static void opts(struct audio_render_opts *o, const char *out, int bits)
{
	audio_render_opts_default(o);
	o->out_path = out;
	o->bits = bits;
}

struct collect {
	float *buf;
	int64_t n, cap;
};

static int collect(void *user, const float *lr, size_t frames)
{
	struct collect *c = user;

	if (c->n + (int64_t)frames > c->cap)
		return 1;
	memcpy(c->buf + 2 * c->n, lr, sizeof(float) * 2 * frames);
	c->n += (int64_t)frames;
	return 0;
}

/* ---- 1. determinism ---- */

static void test_deterministic(const struct audio_clip *mix)
{
	static const char *const names[] = { "a.wav", "b.wav", "a.flac", "b.flac" };
	struct audio_render_opts o;
	char msg[512];

	for (int k = 0; k < 4; k += 2) {
		for (int j = 0; j < 2; j++) {
			opts(&o, path_in(names[k + j]), k ? 16 : 24);
			chain_settings_assign(&o.settings, "gain.gain_db=8", msg, sizeof(msg));
			ASSERT_INT("render", 0, audio_render_file(mix, &o, NULL, msg, sizeof(msg)));
		}
		ASSERT_TRUE("same input, same bytes",
			    files_equal(path_in(names[k]), path_in(names[k + 1])));
		unlink(path_in(names[k]));
		unlink(path_in(names[k + 1]));
	}
}

/* ---- 2. float output = audio_render_run(); latency compensated ---- */

static void test_float_aligned(void)
{
	const int64_t n = 2 * (int64_t)RATE + 517;  /* not a whole block */
	float *in = malloc(sizeof(float) * 2 * (size_t)n);
	struct audio_clip *clip;
	struct audio_render_opts o;
	struct collect col = { malloc(sizeof(float) * 2 * (size_t)n), 0, n };
	struct chain_settings s;
	int64_t got = 0;
	float *file;
	double max_run = 0, max_in = 0;
	char msg[512];

	/* quiet music (peak -12 dBFS, below the -1 dBTP ceiling) and one
	 * marker impulse */
	gen_music(in, (size_t)n, 2, RATE, db_to_lin(-12), 7);
	in[2 * 30001] = 0.2f;
	clip = audio_clip_from_frames("quiet", in, n, RATE);
	chain_settings_default(&s);
	ASSERT_INT("run", 0, audio_render_run(clip->data, n, RATE, &s, collect, &col));
	ASSERT_INT("run gives every frame", n, col.n);

	opts(&o, path_in("f.wav"), 32);
	ASSERT_INT("float render", 0, audio_render_file(clip, &o, NULL, msg, sizeof(msg)));
	file = read_float(path_in("f.wav"), &got, NULL);
	ASSERT_TRUE("file readable", file != NULL);
	ASSERT_INT("file has every frame", n, got);
	if (file && got == n) {
		for (int64_t i = 0; i < 2 * n; i++) {
			double d = fabs((double)file[i] - col.buf[i]);
			double e = fabs((double)file[i] - in[i]);

			if (d > max_run)
				max_run = d;
			if (e > max_in)
				max_in = e;
		}
		ASSERT_LE("file = audio_render_run()", max_run, 1e-7);
		ASSERT_LE("transparent and aligned: out[i] = in[i]", max_in, 1e-6);
		ASSERT_CLOSE("marker at its index", 0.2, file[2 * 30001], 1e-6);
	}
	free(file);
	unlink(path_in("f.wav"));
	audio_clip_free(&clip);
	free(col.buf);
	free(in);
}

/* ---- 3. never the input; force; failures leave nothing ---- */

static int cancel_at_end(void *user, double fraction)
{
	int *calls = user;

	(*calls)++;
	return fraction >= 0.999;
}

static int cancel_at_once(void *user, double fraction)
{
	int *calls = user;

	(*calls)++;
	return 1;
}

static void test_safety(const float *music, int64_t n)
{
	char in[4096 + 64];
	struct audio_clip *clip = NULL, *gen;
	struct audio_render_opts o;
	unsigned char *before, *after;
	size_t lb, la;
	char msg[512], alias[4096 + 64], cwd[4096];
	int calls = 0, err;

	snprintf(in, sizeof(in), "%s", path_in("in.wav"));
	write_wav(in, music, n, SF_FORMAT_WAV | SF_FORMAT_PCM_24);
	before = slurp(in, &lb);
	err = audio_clip_load(in, 0, &clip, NULL, NULL, msg, sizeof(msg));
	ASSERT_INT("load the input", 0, err);
	if (err)
		return;

	/* the same path, with force */
	opts(&o, in, 24);
	o.in_path = in;
	o.force = true;
	ASSERT_INT("out == in with force", AUDIO_RENDER_ERROR_SAME_FILE,
		   audio_render_file(clip, &o, NULL, msg, sizeof(msg)));
	ASSERT_TRUE("a reason", strlen(msg) > 0);
	/* in_path not given: the clip's own path still protects it */
	o.in_path = NULL;
	ASSERT_INT("out == clip path", AUDIO_RENDER_ERROR_SAME_FILE,
		   audio_render_file(clip, &o, NULL, msg, sizeof(msg)));
	/* another spelling */
	snprintf(alias, sizeof(alias), "%s/./sub/../in.wav", dir);
	mkdir(path_in("sub"), 0700);
	opts(&o, alias, 24);
	o.in_path = in;
	o.force = true;
	ASSERT_INT("out == in, other spelling", AUDIO_RENDER_ERROR_SAME_FILE,
		   audio_render_file(clip, &o, NULL, msg, sizeof(msg)));
	rmdir(path_in("sub"));
	/* a relative spelling */
	if (getcwd(cwd, sizeof(cwd)) && !chdir(dir)) {
		opts(&o, "in.wav", 24);
		o.in_path = in;
		o.force = true;
		ASSERT_INT("out == in, relative", AUDIO_RENDER_ERROR_SAME_FILE,
			   audio_render_check(&o, msg, sizeof(msg)));
		if (chdir(cwd))
			exit(99);
	}
	/* a hard link to the input */
	if (!link(in, path_in("hard.wav"))) {
		opts(&o, path_in("hard.wav"), 24);
		o.in_path = in;
		o.force = true;
		ASSERT_INT("out is a hard link to in", AUDIO_RENDER_ERROR_SAME_FILE,
			   audio_render_file(clip, &o, NULL, msg, sizeof(msg)));
		unlink(path_in("hard.wav"));
	}
	after = slurp(in, &la);
	ASSERT_TRUE("input bytes unchanged", before && after && la == lb &&
		    !memcmp(before, after, la));
	free(after);

	/* an existing output without force */
	gen = audio_clip_from_frames("generated", music, n, RATE);
	write_text(path_in("old.wav"), "keep me\n");
	opts(&o, path_in("old.wav"), 24);
	ASSERT_INT("exists without force", AUDIO_RENDER_ERROR_EXISTS,
		   audio_render_file(gen, &o, NULL, msg, sizeof(msg)));
	after = slurp(path_in("old.wav"), &la);
	ASSERT_TRUE("existing output untouched", after && la == 8 &&
		    !memcmp(after, "keep me\n", 8));
	free(after);
	/* a failed render with force leaves the old file as it was */
	opts(&o, path_in("old.wav"), 24);
	o.force = true;
	o.progress = cancel_at_end;
	o.user = &calls;
	ASSERT_INT("cancelled at the very end", AUDIO_RENDER_ERROR_CANCELLED,
		   audio_render_file(gen, &o, NULL, msg, sizeof(msg)));
	ASSERT_GE("progress was called", calls, 2);
	after = slurp(path_in("old.wav"), &la);
	ASSERT_TRUE("cancel leaves the old file", after && la == 8 &&
		    !memcmp(after, "keep me\n", 8));
	free(after);
	/* with force it is replaced */
	opts(&o, path_in("old.wav"), 24);
	o.force = true;
	ASSERT_INT("force replaces", 0, audio_render_file(gen, &o, NULL, msg, sizeof(msg)));
	after = slurp(path_in("old.wav"), &la);
	ASSERT_TRUE("replaced by audio", after && la > 1000 && !memcmp(after, "RIFF", 4));
	free(after);

	/* cancelled at once, and into a folder that does not exist */
	calls = 0;
	opts(&o, path_in("new.wav"), 16);
	o.progress = cancel_at_once;
	o.user = &calls;
	ASSERT_INT("cancelled at once", AUDIO_RENDER_ERROR_CANCELLED,
		   audio_render_file(gen, &o, NULL, msg, sizeof(msg)));
	ASSERT_INT("asked once", 1, calls);
	ASSERT_TRUE("nothing at OUT", access(path_in("new.wav"), F_OK) != 0);
	opts(&o, path_in("no/such/folder/x.wav"), 24);
	ASSERT_INT("missing folder", AUDIO_RENDER_ERROR_WRITE,
		   audio_render_file(gen, &o, NULL, msg, sizeof(msg)));
	ASSERT_TRUE("reason names the folder", strstr(msg, "no/such/folder") != NULL);
	/* the output is a directory */
	mkdir(path_in("d.wav"), 0700);
	opts(&o, path_in("d.wav"), 24);
	o.force = true;
	ASSERT_INT("output is a directory", AUDIO_RENDER_ERROR_WRITE,
		   audio_render_file(gen, &o, NULL, msg, sizeof(msg)));
	rmdir(path_in("d.wav"));
	/* formats */
	opts(&o, path_in("x.mp3"), 24);
	ASSERT_INT("unknown extension", AUDIO_RENDER_ERROR_FORMAT,
		   audio_render_file(gen, &o, NULL, msg, sizeof(msg)));
	ASSERT_TRUE("reason lists formats", strstr(msg, ".wav") && strstr(msg, ".flac"));
	opts(&o, path_in("x.flac"), 32);
	ASSERT_INT("FLAC float", AUDIO_RENDER_ERROR_FORMAT,
		   audio_render_file(gen, &o, NULL, msg, sizeof(msg)));
	opts(&o, path_in("x.wav"), 20);
	ASSERT_INT("20 bits", AUDIO_RENDER_ERROR_FORMAT,
		   audio_render_file(gen, &o, NULL, msg, sizeof(msg)));
	{
		static const char *const keep[] = { "in.wav", "old.wav" };

		ASSERT_INT("no temporary files left", 0, stray_files(keep, 2));
	}
	unlink(path_in("old.wav"));
	unlink(in);
	audio_clip_free(&gen);
	audio_clip_free(&clip);
	free(before);
}

/* ---- 4. dither ---- */

static void test_dither(void)
{
	const int64_t n = 2 * (int64_t)RATE;
	float *in = malloc(sizeof(float) * 2 * (size_t)n);
	struct audio_clip *clip;
	struct audio_render_opts o;
	char msg[512];

	gen_sine(in, (size_t)n, 2, RATE, 997.0, db_to_lin(-20), 0.3);
	clip = audio_clip_from_frames("sine", in, n, RATE);
	for (int dith = 1; dith >= 0; dith--) {
		int64_t got = 0;
		int32_t *q;
		double e2 = 0, want = dith ? 0.5 : 1.0 / sqrt(12.0);

		opts(&o, path_in("d16.wav"), 16);
		o.dither = dith;
		ASSERT_INT("16-bit render", 0, audio_render_file(clip, &o, NULL, msg, sizeof(msg)));
		q = read_int(path_in("d16.wav"), &got);
		ASSERT_INT("16-bit frames", n, got);
		if (q && got == n) {
			for (int64_t i = 0; i < 2 * n; i++) {
				double e = (double)q[i] / 65536.0 - (double)in[i] * 32768.0;

				e2 += e * e;
			}
			ASSERT_CLOSE(dith ? "TPDF error RMS = 0.5 LSB" :
					    "rounding error RMS = 1/sqrt(12) LSB",
				     want, sqrt(e2 / (2.0 * (double)n)), 0.1 * want);
		}
		free(q);
		unlink(path_in("d16.wav"));
	}
	audio_clip_free(&clip);
	free(in);
}

/* ---- 5. rate conversion ---- */

/* Phase (radians) of freq_hz in x, by correlation over [a, b). */
static double sine_phase(const float *x, int64_t a, int64_t b, double rate,
			 double freq_hz)
{
	double sc = 0, cc = 0;

	for (int64_t i = a; i < b; i++) {
		double w = 2 * M_PI * freq_hz * (double)i / rate;

		sc += x[2 * i] * sin(w);
		cc += x[2 * i] * cos(w);
	}
	return atan2(cc, sc);
}

static void test_resample(void)
{
	const int64_t n = 3 * (int64_t)RATE + 101;
	const double amp = db_to_lin(-6), out_rate = 44100.0;
	float *in = malloc(sizeof(float) * 2 * (size_t)n);
	struct audio_clip *clip;
	struct audio_render_opts o;
	float *out;
	int64_t got = 0, want = llround((double)n * out_rate / RATE);
	int rate = 0;
	char msg[512];

	gen_sine(in, (size_t)n, 2, RATE, 1000.0, amp, 0.0);
	clip = audio_clip_from_frames("sine", in, n, RATE);
	opts(&o, path_in("r.wav"), 32);
	o.rate = out_rate;
	ASSERT_INT("render at 44.1 kHz", 0, audio_render_file(clip, &o, NULL, msg, sizeof(msg)));
	out = read_float(path_in("r.wav"), &got, &rate);
	ASSERT_INT("file rate", 44100, rate);
	ASSERT_CLOSE("length within a frame", (double)want, (double)got, 1.0);
	if (out && got > 44100) {
		/* away from the ends */
		int64_t a = 4410, m = 88200;
		double lvl = measure_sine_amp(out + 2 * a, (size_t)m, 2, out_rate, 1000.0);

		ASSERT_CLOSE("level kept (dB)", 0.0, lin_to_db(lvl / amp), 0.05);
		ASSERT_CLOSE("time aligned (phase, rad)", 0.0,
			     sine_phase(out, a, a + m, out_rate, 1000.0), 0.01);
	}
	if (out && got == want) {
		/* the converter's tail was drained, not padded with silence */
		double e2 = 0;

		for (int64_t i = got - 200; i < got; i++)
			e2 += (double)out[2 * i] * out[2 * i];
		ASSERT_CLOSE("level of the last 200 frames (dB)", 0.0,
			     lin_to_db(sqrt(e2 / 200.0) * sqrt(2.0) / amp), 0.5);
	}
	free(out);
	unlink(path_in("r.wav"));
	audio_clip_free(&clip);
	free(in);
}

/* ---- 6. the loudness returned is that of the file ---- */

static void test_measured(const struct audio_clip *mix)
{
	struct audio_render_opts o;
	struct refs_loudness got, ref;
	int64_t n = 0;
	float *file;
	char msg[512];

	opts(&o, path_in("m.flac"), 16);
	chain_settings_assign(&o.settings, "gain.gain_db=10", msg, sizeof(msg));
	chain_settings_assign(&o.settings, "limiter.ceiling_dbtp=-2", msg, sizeof(msg));
	ASSERT_INT("render", 0, audio_render_file(mix, &o, &got, msg, sizeof(msg)));
	file = read_float(path_in("m.flac"), &n, NULL);
	ASSERT_INT("frames", mix->frames, n);
	ASSERT_INT("measure the file", 0,
		   refs_loudness_measure(file, n, 2, RATE, &ref, NULL, NULL));
	ASSERT_CLOSE("integrated = the file's", ref.integrated_lufs, got.integrated_lufs, 0.01);
	ASSERT_CLOSE("LRA = the file's", ref.lra_lu, got.lra_lu, 0.01);
	ASSERT_CLOSE("true peak = the file's", ref.true_peak_dbtp, got.true_peak_dbtp, 0.01);
	ASSERT_CLOSE("sample peak = the file's", ref.sample_peak_dbfs, got.sample_peak_dbfs, 0.01);
	ASSERT_LE("ceiling held", got.true_peak_dbtp, -2.0 + 0.1);
	free(file);
	unlink(path_in("m.flac"));
}

/* ---- 7. demo material ---- */

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static void test_demo(void)
{
	static const struct { const char *name; double lufs, tp_max; } want[] = {
		[AUDIO_DEMO_MIX] = { "Demo mix (unmastered)", -20.0, -5.0 },
		[AUDIO_DEMO_REF_LOUD] = { "Demo ref: loud & bright", -9.0, -0.2 },
		[AUDIO_DEMO_REF_WARM] = { "Demo ref: warm & open", -13.0, -0.2 },
	};
	double lufs[AUDIO_DEMO_COUNT], t0 = now_s(), t;

	for (int k = 0; k < AUDIO_DEMO_COUNT; k++) {
		struct audio_clip *c = audio_demo_clip(k, RATE);
		struct refs_loudness l;

		ASSERT_TRUE("demo clip", c != NULL);
		if (!c)
			continue;
		ASSERT_TRUE(want[k].name, !strcmp(c->name, want[k].name));
		ASSERT_INT("32 s", llround(AUDIO_DEMO_SECONDS * RATE), c->frames);
		ASSERT_INT("measure", 0, refs_loudness_measure(c->data, c->frames, 2,
							       RATE, &l, NULL, NULL));
		printf("%s: %.2f LUFS, LRA %.1f LU, true peak %.2f dBTP, sample peak %.2f dBFS\n",
		       c->name, l.integrated_lufs, l.lra_lu, l.true_peak_dbtp,
		       l.sample_peak_dbfs);
		ASSERT_CLOSE(want[k].name, want[k].lufs, l.integrated_lufs, 1.5);
		ASSERT_LE("true peak", l.true_peak_dbtp, want[k].tp_max);
		if (k == AUDIO_DEMO_MIX)
			ASSERT_CLOSE("mix sample peak near -6 dBFS", -6.0, l.sample_peak_dbfs, 0.5);
		if (k == AUDIO_DEMO_REF_LOUD) {
			/* independent 32× true peak over two loud bars */
			const float *x = c->data + 2 * (int64_t)(22.0 * RATE);
			size_t m = (size_t)(4.0 * RATE);

			ASSERT_LE("loud ref 32x true peak, both sides",
				  lin_to_db(fmax(measure_true_peak(x, m, 2),
						 measure_true_peak(x + 1, m, 2))),
				  -0.2);
		}
		/* silent ends: no click when it starts or loops */
		ASSERT_LE("first sample", fabs(c->data[0]) + fabs(c->data[1]), 1e-6);
		ASSERT_LE("last sample", fabs(c->data[2 * c->frames - 2]) +
			  fabs(c->data[2 * c->frames - 1]), 1e-3);
		lufs[k] = l.integrated_lufs;
		audio_clip_free(&c);
	}
	t = now_s() - t0;
	printf("demo: three clips at 48 kHz in %.3f s (with analysis)\n", t);
	ASSERT_LE("loud ref louder than warm ref", lufs[AUDIO_DEMO_REF_WARM] + 2.0,
		  lufs[AUDIO_DEMO_REF_LOUD]);

	/* deterministic, and at another rate */
	{
		struct audio_clip *a = audio_demo_clip(AUDIO_DEMO_REF_LOUD, 44100.0);
		struct audio_clip *b = audio_demo_clip(AUDIO_DEMO_REF_LOUD, 44100.0);

		ASSERT_TRUE("44.1 kHz clips", a && b);
		if (a && b) {
			ASSERT_INT("44.1 kHz length", llround(AUDIO_DEMO_SECONDS * 44100.0),
				   a->frames);
			ASSERT_TRUE("same floats twice", a->frames == b->frames &&
				    !memcmp(a->data, b->data,
					    sizeof(float) * 2 * (size_t)a->frames));
		}
		audio_clip_free(&a);
		audio_clip_free(&b);
	}
	ASSERT_TRUE("unknown clip", audio_demo_clip(AUDIO_DEMO_COUNT, RATE) == NULL);
}

int main(void)
{
	const int64_t n = 3 * (int64_t)RATE + 333;
	float *music = malloc(sizeof(float) * 2 * (size_t)n);
	struct audio_clip *mix;

	snprintf(dir, sizeof(dir), "%s", test_tmpdir("render"));
	gen_music(music, (size_t)n, 2, RATE, db_to_lin(-3), 42);
	mix = audio_clip_from_frames("music", music, n, RATE);

	test_deterministic(mix);
	test_float_aligned();
	test_safety(music, n);
	test_dither();
	test_resample();
	test_measured(mix);
	test_demo();

	audio_clip_free(&mix);
	free(music);
	rmdir(dir);
	return test_done();
}

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
 *     file in its folder (also a write that fails part-way, while the
 *     chain's thread is running)
 *  4. 16-bit TPDF dither: error RMS = 0.5 LSB (LSB²/12 rounding + 2·LSB²/12
 *     dither = LSB²/4; Wannamaker, Lipshitz & Vanderkooy 2000); without
 *     dither 1/√12 LSB
 *  5. 48 kHz → 44.1 kHz keeps a 1 kHz sine's level (±0.05 dB), phase and
 *     length (±1 frame)
 *  6. the loudness returned is that of the file (±0.01 LU)
 *  7. the demo clips hit their loudness targets and are deterministic
 *  8. loudness target (audio_render_find_gain): music rendered to -14 LUFS
 *     / -1 dBTP reads -14 ±0.1 LUFS and <= -0.95 dBTP in the file
 *     (refs_loudness_measure), also converted to 44.1 kHz and with heavier
 *     limiting; a target needing more limiting than allowed is refused
 *     with the loudest level within it, and nothing is written; targets
 *     outside the input gain's range say so
 *  9. true-peak guard: renders with a -2 dBTP ceiling converted 48 → 44.1
 *     kHz and 44.1 → 48 kHz read <= -1.95 dBTP (libebur128), where the
 *     same conversion without the guard overshoots; without a rate
 *     conversion the file holds exactly what audio_render_run() gives
 * 10. dither option: none, tpdf and shaped give different files, each the
 *     same bytes twice
 * 11. an input still being decoded (audio_clip_stream_*, input_wait): the
 *     clip holds audio_clip_load()'s samples bit for bit (stereo 24-bit
 *     WAV, mono float WAV with NaN/Inf, FLAC), and its render the bytes of
 *     the whole clip's, also when the frames come in slowly; a truncated
 *     FLAC fails the same way as audio_clip_load() (message and code); an
 *     input that fails mid-render ends it with AUDIO_RENDER_ERROR_INPUT,
 *     leaving nothing behind, and so does a loudness target's search
 * 12. on one CPU (the render then runs on one thread) the bytes are those
 *     of two threads
 * 13. WAV and AIFF of 16, 24 and 32 bits (packed here, clip.c and
 *     render.c): decoding gives sf_readf_float()'s floats bit for bit,
 *     full scale and the smallest steps included (11), and the rendered
 *     file is the bytes libsndfile writes for the same samples
 */
#define _GNU_SOURCE 1  /* sched_setaffinity */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <samplerate.h>
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
	/* a write that fails part-way (the file size limit: EFBIG instead of
	 * SIGXFSZ), while the chain's thread is still handing blocks over:
	 * the error, not a hang, and nothing at OUT */
	{
		struct rlimit old, lim;
		void (*old_xfsz)(int) = signal(SIGXFSZ, SIG_IGN);

		if (!getrlimit(RLIMIT_FSIZE, &old)) {
			lim = old;
			lim.rlim_cur = 64 * 1024;
			if (old.rlim_cur != RLIM_INFINITY && old.rlim_cur < lim.rlim_cur)
				lim.rlim_cur = old.rlim_cur;
			setrlimit(RLIMIT_FSIZE, &lim);
			opts(&o, path_in("big.wav"), 24);
			err = audio_render_file(gen, &o, NULL, msg, sizeof(msg));
			setrlimit(RLIMIT_FSIZE, &old);
			ASSERT_INT("write fails part-way", AUDIO_RENDER_ERROR_WRITE, err);
			ASSERT_TRUE("reason says write", strstr(msg, "write") != NULL);
			ASSERT_TRUE("nothing at OUT after a failed write",
				    access(path_in("big.wav"), F_OK) != 0);
		}
		signal(SIGXFSZ, old_xfsz);
	}
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

/* The render reads the true peak with chain/truepeak.c's
 * libebur128-equivalent meter (refs/loudness.h:
 * REFS_ANALYSER_OWN_TRUE_PEAK): it must equal libebur128's reading of the
 * file to the last bit, at 4× (44.1 kHz) and 2× (96 kHz, after a rate
 * conversion). */
static void test_measured(const struct audio_clip *mix)
{
	static const struct { const char *name; int bits; double rate; } outs[] = {
		{ "m.flac", 16, 0 },
		{ "m96.wav", 24, 96000 },
	};

	for (unsigned k = 0; k < sizeof(outs) / sizeof(outs[0]); k++) {
		struct audio_render_opts o;
		struct refs_loudness got, ref;
		int64_t n = 0;
		int rate = 0;
		float *file;
		char msg[512];

		opts(&o, path_in(outs[k].name), outs[k].bits);
		o.rate = outs[k].rate;
		chain_settings_assign(&o.settings, "gain.gain_db=10", msg, sizeof(msg));
		chain_settings_assign(&o.settings, "limiter.ceiling_dbtp=-2", msg, sizeof(msg));
		ASSERT_INT("render", 0, audio_render_file(mix, &o, &got, msg, sizeof(msg)));
		file = read_float(path_in(outs[k].name), &n, &rate);
		ASSERT_TRUE("file readable", file != NULL);
		if (!file)
			continue;
		if (!outs[k].rate)
			ASSERT_INT("frames", mix->frames, n);
		ASSERT_INT("measure the file", 0,
			   refs_loudness_measure(file, n, 2, rate, &ref, NULL, NULL));
		ASSERT_CLOSE("integrated = the file's", ref.integrated_lufs, got.integrated_lufs, 0.01);
		ASSERT_CLOSE("LRA = the file's", ref.lra_lu, got.lra_lu, 0.01);
		printf("%s: true peak %.17g dBTP reported, %.17g by libebur128 on the file\n",
		       outs[k].name, got.true_peak_dbtp, ref.true_peak_dbtp);
		ASSERT_TRUE("true peak = libebur128's on the file, to the last bit",
			    ref.true_peak_dbtp == got.true_peak_dbtp);
		ASSERT_CLOSE("sample peak = the file's", ref.sample_peak_dbfs, got.sample_peak_dbfs, 0.01);
		ASSERT_LE("ceiling held", got.true_peak_dbtp, -2.0 + 0.1);
		free(file);
		unlink(path_in(outs[k].name));
	}
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

/* ---- 8. loudness target ---- */

static int count_progress(void *user, int pass, double fraction)
{
	int *last = user;

	if (pass < *last)
		return 1;  /* passes go up */
	*last = pass;
	(void)fraction;
	return 0;
}

/* Finds the gain for `target`, renders with it and checks the file. */
static void target_case(const struct audio_clip *mix, double target,
			double ceiling, double out_rate, const char *name)
{
	struct audio_render_opts o;
	struct audio_render_target r;
	struct refs_loudness file_l;
	char msg[512], set[64];
	int64_t n = 0;
	int rate = 0, last = 0, err;
	float *file;

	opts(&o, path_in(name), 24);
	o.rate = out_rate;
	snprintf(set, sizeof(set), "limiter.ceiling_dbtp=%g", ceiling);
	chain_settings_assign(&o.settings, set, msg, sizeof(msg));
	err = audio_render_find_gain(mix, &o, target, AUDIO_RENDER_MAX_GR_DB, &r,
				     count_progress, &last, msg, sizeof(msg));
	ASSERT_INT(name, 0, err);
	if (err) {
		fprintf(stderr, "%s: %s\n", name, msg);
		return;
	}
	ASSERT_INT("reached", AUDIO_RENDER_TARGET_REACHED, r.status);
	ASSERT_INT("progress saw every pass", r.passes, last);
	ASSERT_LE("a few passes", r.passes, 6);
	ASSERT_CLOSE("at the target (search)", target, r.at.lufs,
		     AUDIO_RENDER_TARGET_TOL_LU);
	ASSERT_LE("limiting within the limit", r.at.gr_peak_db, AUDIO_RENDER_MAX_GR_DB);
	ASSERT_LE("peak GR <= max GR", r.at.gr_peak_db, r.at.gr_max_db);
	ASSERT_LE("mean GR <= max GR", r.at.gr_mean_db, r.at.gr_max_db);
	printf("target %s: %.1f LUFS / %.1f dBTP at %.0f Hz: gain %+.3f dB, "
	       "%.3f LUFS, TP %.3f dBTP, GR %.2f dB peak %.2f dB max %.2f dB mean, "
	       "guard %.2f dB, %d passes\n", name, target, ceiling,
	       out_rate ? out_rate : RATE, r.at.gain_db, r.at.lufs,
	       r.at.true_peak_dbtp, r.at.gr_peak_db, r.at.gr_max_db,
	       r.at.gr_mean_db, r.at.guard_gr_max_db, r.passes);

	/* render with the gain found, measure the file */
	o.settings.value[chain_param_find("gain.gain_db")] = (float)r.at.gain_db;
	ASSERT_INT("render at the gain found", 0,
		   audio_render_file(mix, &o, NULL, msg, sizeof(msg)));
	file = read_float(path_in(name), &n, &rate);
	ASSERT_TRUE("file readable", file != NULL);
	if (!file)
		return;
	ASSERT_INT("measure", 0, refs_loudness_measure(file, n, 2, rate, &file_l,
						       NULL, NULL));
	ASSERT_CLOSE("file reads the target (±0.1 LU)", target,
		     file_l.integrated_lufs, 0.1);
	ASSERT_CLOSE("file = what the search measured", r.at.lufs,
		     file_l.integrated_lufs, 0.002);
	ASSERT_LE("file true peak <= ceiling + 0.05", file_l.true_peak_dbtp,
		  ceiling + 0.05);
	free(file);
	unlink(path_in(name));
}

static void test_target(void)
{
	const int64_t n = 12 * (int64_t)RATE;
	float *music = malloc(sizeof(float) * 2 * (size_t)n);
	struct audio_clip *mix;
	struct audio_render_opts o;
	struct audio_render_target r;
	char msg[512];
	int err;

	gen_music(music, (size_t)n, 2, RATE, db_to_lin(-6), 11);
	mix = audio_clip_from_frames("music", music, n, RATE);

	target_case(mix, -14.0, -1.0, 0, "t14.wav");
	target_case(mix, -14.0, -1.0, 44100.0, "t14-441.wav");
	target_case(mix, -10.5, -1.0, 0, "t10.wav");

	/* more limiting than allowed: refused, with the loudest level within */
	opts(&o, path_in("loud.wav"), 24);
	err = audio_render_find_gain(mix, &o, -6.0, AUDIO_RENDER_MAX_GR_DB, &r,
				     NULL, NULL, msg, sizeof(msg));
	printf("target -6 LUFS: %s (%d passes)\n", msg, r.passes);
	ASSERT_INT("refused", AUDIO_RENDER_ERROR_TARGET, err);
	ASSERT_INT("because of limiting", AUDIO_RENDER_TARGET_LIMITING, r.status);
	ASSERT_TRUE("says how loud it can go", strstr(msg, "loudest") != NULL &&
		    strstr(msg, "LUFS") != NULL);
	ASSERT_TRUE("knows the loudest level", r.has_best);
	ASSERT_LE("loudest within the limit", r.best.gr_peak_db, AUDIO_RENDER_MAX_GR_DB);
	ASSERT_GE("close to the limit", r.best.gr_peak_db, AUDIO_RENDER_MAX_GR_DB - 0.3);
	ASSERT_LE("below the target", r.best.lufs, -6.0);
	ASSERT_LE("at most MAX_PASSES", r.passes, AUDIO_RENDER_TARGET_MAX_PASSES);
	ASSERT_TRUE("nothing written", access(path_in("loud.wav"), F_OK) != 0);
	ASSERT_INT("no files at all", 0, stray_files(NULL, 0));
	/* a smaller allowance refuses a target the default allows */
	err = audio_render_find_gain(mix, &o, -10.5, 2.0, &r, NULL, NULL, msg,
				     sizeof(msg));
	ASSERT_INT("-10.5 LUFS with 2 dB of limiting: refused",
		   AUDIO_RENDER_ERROR_TARGET, err);
	ASSERT_LE("loudest within 2 dB", r.best.gr_peak_db, 2.0);

	/* outside the input gain's range */
	err = audio_render_find_gain(mix, &o, -59.0, AUDIO_RENDER_MAX_GR_DB, &r,
				     NULL, NULL, msg, sizeof(msg));
	ASSERT_INT("-59 LUFS: refused", AUDIO_RENDER_ERROR_TARGET, err);
	ASSERT_INT("below the range", AUDIO_RENDER_TARGET_BELOW_RANGE, r.status);
	ASSERT_TRUE("says so", strstr(msg, "range") != NULL);
	err = audio_render_find_gain(mix, &o, -1.0, 24.0, &r, NULL, NULL, msg,
				     sizeof(msg));
	ASSERT_INT("-1 LUFS with 24 dB of limiting: refused",
		   AUDIO_RENDER_ERROR_TARGET, err);
	ASSERT_INT("above the range", AUDIO_RENDER_TARGET_ABOVE_RANGE, r.status);
	ASSERT_CLOSE("tried the top of the range", 24.0, r.at.gain_db, 1e-9);
	/* the limiter off: the true peak is the limit */
	chain_settings_assign(&o.settings, "limiter.on=0", msg, sizeof(msg));
	err = audio_render_find_gain(mix, &o, -10.0, AUDIO_RENDER_MAX_GR_DB, &r,
				     NULL, NULL, msg, sizeof(msg));
	ASSERT_INT("limiter off, -10 LUFS: refused", AUDIO_RENDER_ERROR_TARGET, err);
	ASSERT_INT("on the true peak", AUDIO_RENDER_TARGET_TRUE_PEAK, r.status);
	ASSERT_TRUE("loudest under the ceiling", r.has_best &&
		    r.best.true_peak_dbtp <= -1.0 + 0.05 &&
		    r.best.true_peak_dbtp >= -1.0 - 0.3);
	/* a silent mix */
	{
		float *zero = calloc(2 * (size_t)RATE, sizeof(float));
		struct audio_clip *sil = audio_clip_from_frames("silence", zero,
								(int64_t)RATE, RATE);

		opts(&o, path_in("sil.wav"), 24);
		err = audio_render_find_gain(sil, &o, -14.0, AUDIO_RENDER_MAX_GR_DB,
					     &r, NULL, NULL, msg, sizeof(msg));
		ASSERT_INT("silence: refused", AUDIO_RENDER_ERROR_TARGET, err);
		ASSERT_INT("silent", AUDIO_RENDER_TARGET_SILENT, r.status);
		ASSERT_LE("found out in two passes", r.passes, 2);
		audio_clip_free(&sil);
		free(zero);
	}
	/* bad arguments */
	opts(&o, path_in("x.wav"), 20);
	ASSERT_INT("20 bits", AUDIO_RENDER_ERROR_FORMAT,
		   audio_render_find_gain(mix, &o, -14.0, 6.0, &r, NULL, NULL,
					  msg, sizeof(msg)));
	opts(&o, path_in("x.wav"), 24);
	ASSERT_INT("NaN target", AUDIO_RENDER_ERROR_FORMAT,
		   audio_render_find_gain(mix, &o, NAN, 6.0, &r, NULL, NULL,
					  msg, sizeof(msg)));
	ASSERT_INT("negative allowance", AUDIO_RENDER_ERROR_FORMAT,
		   audio_render_find_gain(mix, &o, -14.0, -1.0, &r, NULL, NULL,
					  msg, sizeof(msg)));
	{
		int last = 1000;

		ASSERT_INT("cancelled", AUDIO_RENDER_ERROR_CANCELLED,
			   audio_render_find_gain(mix, &o, -14.0, 6.0, &r,
						  count_progress, &last, msg,
						  sizeof(msg)));
	}
	audio_clip_free(&mix);
	free(music);
}

/* ---- 9. the true-peak guard after a rate conversion ---- */

/* True peak (libebur128) of mix rendered at its rate with the chain, then
 * converted to out_rate by libsamplerate alone: what a render without the
 * guard writes. */
static double unguarded_tp(const struct audio_clip *mix, const struct chain_settings *s,
			   double out_rate)
{
	struct collect col = { malloc(sizeof(float) * 2 * (size_t)mix->frames), 0,
			       mix->frames };
	int64_t m = llround((double)mix->frames * out_rate / mix->rate) + 16;
	float *out = malloc(sizeof(float) * 2 * (size_t)m);
	SRC_DATA d;
	struct refs_loudness l;
	double tp = NAN;

	if (audio_render_run(mix->data, mix->frames, mix->rate, s, collect, &col))
		goto out;
	memset(&d, 0, sizeof(d));
	d.data_in = col.buf;
	d.input_frames = (long)col.n;
	d.data_out = out;
	d.output_frames = (long)m;
	d.src_ratio = out_rate / mix->rate;
	if (src_simple(&d, SRC_SINC_BEST_QUALITY, 2))
		goto out;
	if (!refs_loudness_measure(out, d.output_frames_gen, 2, out_rate, &l, NULL, NULL))
		tp = l.true_peak_dbtp;
out:
	free(col.buf);
	free(out);
	return tp;
}

static void test_guard(void)
{
	static const struct { double in_rate, out_rate; int bits; } cases[] = {
		{ 48000.0, 44100.0, 24 },
		{ 44100.0, 48000.0, 24 },
		{ 48000.0, 44100.0, 32 },
		{ 44100.0, 48000.0, 16 },
		{ 44100.0, 96000.0, 32 },
	};

	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		double rate = cases[k].in_rate, out_rate = cases[k].out_rate;
		int64_t n = 8 * (int64_t)rate, got = 0;
		float *music = malloc(sizeof(float) * 2 * (size_t)n), *file;
		struct audio_clip *mix;
		struct audio_render_opts o;
		struct refs_loudness l;
		char msg[512], what[96];
		int file_rate = 0;
		double before;

		gen_music(music, (size_t)n, 2, rate, db_to_lin(-6), 5 + (uint32_t)k);
		mix = audio_clip_from_frames("music", music, n, rate);
		opts(&o, path_in("g.wav"), cases[k].bits);
		o.rate = out_rate;
		chain_settings_assign(&o.settings, "gain.gain_db=12", msg, sizeof(msg));
		chain_settings_assign(&o.settings, "limiter.ceiling_dbtp=-2", msg, sizeof(msg));
		before = unguarded_tp(mix, &o.settings, out_rate);
		snprintf(what, sizeof(what), "%.0f -> %.0f Hz, %d bits", rate,
			 out_rate, cases[k].bits);
		ASSERT_INT(what, 0, audio_render_file(mix, &o, NULL, msg, sizeof(msg)));
		file = read_float(path_in("g.wav"), &got, &file_rate);
		ASSERT_TRUE("file readable", file != NULL);
		if (file) {
			ASSERT_INT("file rate", (long long)out_rate, file_rate);
			ASSERT_INT("length", llround((double)n * out_rate / rate), got);
			ASSERT_INT("measure", 0, refs_loudness_measure(file, got, 2,
				   out_rate, &l, NULL, NULL));
			printf("guard %s: true peak %.3f dBTP without the guard, "
			       "%.4f dBTP written (ceiling -2)\n", what, before,
			       l.true_peak_dbtp);
			ASSERT_LE(what, l.true_peak_dbtp, -1.95);
		}
		if (k < 2)  /* the signal shows what the guard is for */
			ASSERT_GE("overshoot without the guard", before, -1.95);
		free(file);
		unlink(path_in("g.wav"));
		audio_clip_free(&mix);
		free(music);
	}
}

/* Without a rate conversion: the float file is audio_render_run()'s floats,
 * bit for bit, limiter working hard. */
static void test_no_guard(const struct audio_clip *mix)
{
	struct collect col = { malloc(sizeof(float) * 2 * (size_t)mix->frames), 0,
			       mix->frames };
	struct audio_render_opts o;
	int64_t got = 0;
	float *file;
	char msg[512];

	opts(&o, path_in("ng.wav"), 32);
	chain_settings_assign(&o.settings, "gain.gain_db=12", msg, sizeof(msg));
	chain_settings_assign(&o.settings, "limiter.ceiling_dbtp=-2", msg, sizeof(msg));
	ASSERT_INT("run", 0, audio_render_run(mix->data, mix->frames, mix->rate,
					      &o.settings, collect, &col));
	ASSERT_INT("float render", 0, audio_render_file(mix, &o, NULL, msg, sizeof(msg)));
	file = read_float(path_in("ng.wav"), &got, NULL);
	ASSERT_TRUE("same frames", file && got == col.n);
	if (file && got == col.n)
		ASSERT_TRUE("file = audio_render_run(), bit for bit",
			    !memcmp(file, col.buf, sizeof(float) * 2 * (size_t)got));
	/* the same rate asked for explicitly is no conversion either */
	unlink(path_in("ng.wav"));
	free(file);
	o.rate = mix->rate;
	ASSERT_INT("float render, --rate = the mix's", 0,
		   audio_render_file(mix, &o, NULL, msg, sizeof(msg)));
	file = read_float(path_in("ng.wav"), &got, NULL);
	ASSERT_TRUE("still bit for bit", file && got == col.n &&
		    !memcmp(file, col.buf, sizeof(float) * 2 * (size_t)got));
	free(file);
	free(col.buf);
	unlink(path_in("ng.wav"));
}

/* ---- 10. dither option ---- */

static void test_dither_option(void)
{
	static const struct { enum audio_render_dither d; const char *a, *b; } kinds[] = {
		{ AUDIO_RENDER_DITHER_NONE, "dn1.wav", "dn2.wav" },
		{ AUDIO_RENDER_DITHER_TPDF, "dt1.wav", "dt2.wav" },
		{ AUDIO_RENDER_DITHER_SHAPED, "ds1.wav", "ds2.wav" },
	};
	const int64_t n = (int64_t)RATE;
	float *in = malloc(sizeof(float) * 2 * (size_t)n);
	struct audio_clip *clip;
	struct audio_render_opts o;
	char msg[512];

	/* a quiet sine: the dither decides the low bits */
	gen_sine(in, (size_t)n, 2, RATE, 997.0, db_to_lin(-40), 0.1);
	clip = audio_clip_from_frames("sine", in, n, RATE);
	for (int k = 0; k < 3; k++) {
		opts(&o, path_in(kinds[k].a), 16);
		o.dither = kinds[k].d;
		ASSERT_INT("dither render", 0, audio_render_file(clip, &o, NULL, msg, sizeof(msg)));
		opts(&o, path_in(kinds[k].b), 16);
		o.dither = kinds[k].d;
		ASSERT_INT("dither render again", 0,
			   audio_render_file(clip, &o, NULL, msg, sizeof(msg)));
		ASSERT_TRUE("deterministic", files_equal(path_in(kinds[k].a),
							 path_in(kinds[k].b)));
		unlink(path_in(kinds[k].b));
	}
	for (int i = 0; i < 3; i++)
		for (int j = i + 1; j < 3; j++)
			ASSERT_TRUE("dithers differ", !files_equal(path_in(kinds[i].a),
								   path_in(kinds[j].a)));
	for (int k = 0; k < 3; k++)
		unlink(path_in(kinds[k].a));
	/* an unknown kind */
	opts(&o, path_in("dx.wav"), 16);
	o.dither = (enum audio_render_dither)7;
	ASSERT_INT("unknown dither", AUDIO_RENDER_ERROR_FORMAT,
		   audio_render_check(&o, msg, sizeof(msg)));
	/* float output ignores the dither */
	opts(&o, path_in("df1.wav"), 32);
	o.dither = AUDIO_RENDER_DITHER_NONE;
	ASSERT_INT("float, none", 0, audio_render_file(clip, &o, NULL, msg, sizeof(msg)));
	opts(&o, path_in("df2.wav"), 32);
	o.dither = AUDIO_RENDER_DITHER_TPDF;
	ASSERT_INT("float, tpdf", 0, audio_render_file(clip, &o, NULL, msg, sizeof(msg)));
	ASSERT_TRUE("float: dither changes nothing",
		    files_equal(path_in("df1.wav"), path_in("df2.wav")));
	unlink(path_in("df1.wav"));
	unlink(path_in("df2.wav"));
	audio_clip_free(&clip);
	free(in);
}

/* ---- 13. the data chunk packed here ---- */

/*
 * audio/render.c packs WAV and AIFF samples itself and hands them to
 * sf_write_raw().  Rendered without dither, each file must hold what
 * audio_render_run() gives: read back by libsndfile, 32-bit floats the
 * same bits, 16 and 24-bit integers that float rounded to the nearest
 * step and clipped (render.c's quantise(), written out here).  And the
 * file must be the bytes sf_writef_int() / sf_writef_float() would have
 * written: the samples read back are written again by libsndfile with the
 * render's settings and the two files compared (header, chunk sizes).
 */
static void test_packed(const struct audio_clip *mix)
{
	static const struct { int fmt; const char *ext; } kinds[] = {
		{ SF_FORMAT_WAV, "wav" }, { SF_FORMAT_AIFF, "aiff" },
	};
	static const int bits[] = { 16, 24, 32 };
	struct audio_render_opts o;
	struct collect ref = { NULL, 0, mix->frames };
	char msg[512], out[64], again[64];

	opts(&o, NULL, 24);
	chain_settings_assign(&o.settings, "gain.gain_db=8", msg, sizeof(msg));
	ref.buf = malloc(sizeof(float) * 2 * (size_t)mix->frames);
	ASSERT_INT("packed: the chain's floats", 0,
		   audio_render_run(mix->data, mix->frames, mix->rate, &o.settings,
				    collect, &ref));
	for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++)
		for (size_t b = 0; b < sizeof(bits) / sizeof(bits[0]); b++) {
			const double scale = ldexp(1.0, bits[b] - 1);
			SF_INFO info;
			SNDFILE *in, *re;
			int32_t *x;
			sf_count_t n;
			int64_t bad = 0;

			snprintf(out, sizeof(out), "packed%d.%s", bits[b], kinds[k].ext);
			snprintf(again, sizeof(again), "again%d.%s", bits[b], kinds[k].ext);
			o.out_path = path_in(out);
			o.bits = bits[b];
			o.dither = AUDIO_RENDER_DITHER_NONE;
			ASSERT_INT("packed render", 0, audio_render_file(mix, &o, NULL, msg,
									 sizeof(msg)));
			memset(&info, 0, sizeof(info));
			in = sf_open(path_in(out), SFM_READ, &info);
			ASSERT_TRUE("packed file opens", in != NULL);
			if (!in)
				continue;
			x = malloc(sizeof(int32_t) * 2 * (size_t)info.frames);
			n = bits[b] == 32 ? sf_readf_float(in, (float *)x, info.frames) :
					    sf_readf_int(in, x, info.frames);
			sf_close(in);
			ASSERT_INT("packed: every frame", (int)mix->frames, (int)n);
			for (int64_t i = 0; i < 2 * n && i < 2 * ref.n; i++) {
				if (bits[b] == 32) {
					bad += memcmp(&x[i], &ref.buf[i], sizeof(float)) != 0;
				} else {
					double v = nearbyint((double)ref.buf[i] * scale);

					v = v < -scale ? -scale : v > scale - 1 ? scale - 1 : v;
					bad += x[i] != (int32_t)((uint32_t)(int32_t)v
								 << (32 - bits[b]));
				}
			}
			snprintf(msg, sizeof(msg), "%d-bit %s holds the chain's samples",
				 bits[b], kinds[k].ext);
			ASSERT_INT(msg, 0, (int)bad);

			info.format = kinds[k].fmt | (bits[b] == 16 ? SF_FORMAT_PCM_16 :
						      bits[b] == 24 ? SF_FORMAT_PCM_24 :
								      SF_FORMAT_FLOAT);
			re = sf_open(path_in(again), SFM_WRITE, &info);
			ASSERT_TRUE("rewrite opens", re != NULL);
			if (re) {
				/* as audio_render_file() sets the file up */
				sf_command(re, SFC_SET_ADD_PEAK_CHUNK, NULL, SF_FALSE);
				sf_command(re, SFC_SET_CLIPPING, NULL, SF_FALSE);
				sf_set_string(re, SF_STR_SOFTWARE, PACKAGE_STRING);
				if (bits[b] == 32)
					sf_writef_float(re, (float *)x, n);
				else
					sf_writef_int(re, x, n);
				sf_close(re);
			}
			snprintf(msg, sizeof(msg), "%d-bit %s: libsndfile's bytes",
				 bits[b], kinds[k].ext);
			ASSERT_TRUE(msg, files_equal(path_in(out), path_in(again)));
			free(x);
			unlink(path_in(out));
			unlink(path_in(again));
		}
	free(ref.buf);
}

/* ---- 11. an input still being decoded ---- */

/* Writes frames of interleaved `ch`-channel floats to path as `format`. */
static void write_file(const char *path, const float *x, int64_t frames, int ch,
		       int format)
{
	SF_INFO info = { .samplerate = (int)RATE, .channels = ch, .format = format };
	SNDFILE *f = sf_open(path, SFM_WRITE, &info);

	if (!f) {
		fprintf(stderr, "%s: %s\n", path, sf_strerror(NULL));
		exit(99);
	}
	sf_command(f, SFC_SET_CLIPPING, NULL, SF_TRUE);
	sf_writef_float(f, x, frames);
	sf_close(f);
}

/* A stream's clip, decoded to the end, equals audio_clip_load()'s. */
static void check_stream_decode(const char *what, const char *path)
{
	struct audio_clip *whole = NULL;
	struct audio_clip_stream *st = NULL;
	const struct audio_clip *c;
	char msg[512], label[256];

	ASSERT_INT(what, 0, audio_clip_load(path, 0, &whole, NULL, NULL, msg, sizeof(msg)));
	ASSERT_INT(what, 0, audio_clip_stream_open(path, &st, NULL, NULL, msg, sizeof(msg)));
	if (!whole || !st) {
		audio_clip_free(&whole);
		audio_clip_stream_free(&st);
		return;
	}
	c = audio_clip_stream_clip(st);
	snprintf(label, sizeof(label), "%s: frames", what);
	ASSERT_INT(label, (int)whole->frames, (int)c->frames);
	snprintf(label, sizeof(label), "%s: all decoded", what);
	ASSERT_TRUE(label, audio_clip_stream_wait(st, c->frames) >= c->frames);
	snprintf(label, sizeof(label), "%s: decoding ok", what);
	ASSERT_INT(label, 0, audio_clip_stream_finish(st, msg, sizeof(msg)));
	snprintf(label, sizeof(label), "%s: the same samples", what);
	ASSERT_TRUE(label, whole->frames == c->frames &&
		    !memcmp(whole->data, c->data, sizeof(float) * 2 * (size_t)c->frames));
	snprintf(label, sizeof(label), "%s: non-finite count", what);
	ASSERT_INT(label, (int)whole->nonfinite, (int)c->nonfinite);
	snprintf(label, sizeof(label), "%s: rate and format", what);
	ASSERT_TRUE(label, whole->rate == c->rate && !strcmp(whole->format, c->format) &&
		    whole->file_channels == c->file_channels);
	audio_clip_free(&whole);
	audio_clip_stream_free(&st);
}

/* A stream into a ring of `ring` frames, read in order in runs of 777
 * frames and given back as it goes, hands out audio_clip_load()'s
 * samples. */
static void check_stream_ring(const char *what, const char *path, int64_t ring)
{
	struct audio_clip *whole = NULL;
	struct audio_clip_stream *st = NULL;
	const struct audio_clip *c;
	char msg[512], label[256];
	int64_t pos = 0, bad = -1;

	ASSERT_INT(what, 0, audio_clip_load(path, 0, &whole, NULL, NULL, msg, sizeof(msg)));
	ASSERT_INT(what, 0, audio_clip_stream_open_ring(path, ring, &st, NULL, NULL, msg,
							sizeof(msg)));
	if (!whole || !st) {
		audio_clip_free(&whole);
		audio_clip_stream_free(&st);
		return;
	}
	c = audio_clip_stream_clip(st);
	snprintf(label, sizeof(label), "%s: a ring of %lld frames", what, (long long)ring);
	ASSERT_INT(label, (int)ring, (int)audio_clip_stream_ring(st));
	while (pos < c->frames && bad < 0) {
		int64_t n = c->frames - pos < 777 ? c->frames - pos : 777;

		if (audio_clip_stream_wait(st, pos + n) < pos + n) {
			bad = pos;
			break;
		}
		for (int64_t i = 0; i < n && bad < 0; i++) {
			const float *x = c->data + 2 * ((pos + i) % ring);

			if (memcmp(x, whole->data + 2 * (pos + i), 2 * sizeof(float)))
				bad = pos + i;
		}
		pos += n;
		audio_clip_stream_release(st, pos);
	}
	snprintf(label, sizeof(label), "%s: the same samples through the ring", what);
	ASSERT_TRUE(label, bad < 0 && pos == whole->frames);
	if (bad >= 0)
		fprintf(stderr, "  first difference at frame %lld\n", (long long)bad);
	snprintf(label, sizeof(label), "%s: decoding ok", what);
	ASSERT_INT(label, 0, audio_clip_stream_finish(st, msg, sizeof(msg)));
	snprintf(label, sizeof(label), "%s: non-finite count", what);
	ASSERT_INT(label, (int)whole->nonfinite, (int)c->nonfinite);
	audio_clip_free(&whole);
	audio_clip_stream_free(&st);
}

/* input_wait that hands out the frames a little at a time (slow), or
 * fails once `fail_at` frames are asked for (fail_at > 0). */
struct drip {
	int64_t frames, given, fail_at;
	int calls;
};

static int64_t drip_wait(void *user, int64_t frames)
{
	struct drip *d = user;

	d->calls++;
	if (d->fail_at > 0 && frames >= d->fail_at)
		return d->given;  /* short of what was asked: failed */
	if (frames > d->given)
		d->given = frames + 700 < d->frames ? frames + 700 : d->frames;
	return d->given;
}

static int64_t stream_wait(void *user, int64_t frames)
{
	return audio_clip_stream_wait(user, frames);
}

static void stream_release(void *user, int64_t frames)
{
	audio_clip_stream_release(user, frames);
}

static void test_stream(const float *music, int64_t n)
{
	float *mono = malloc(sizeof(float) * (size_t)n);
	struct audio_clip *whole = NULL;
	struct audio_clip_stream *st = NULL;
	struct audio_render_opts o;
	struct audio_render_target tr;
	struct drip d;
	char msg[512], msg2[512];
	int err, err2;

	/* the samples */
	write_file(path_in("s24.wav"), music, n, 2, SF_FORMAT_WAV | SF_FORMAT_PCM_24);
	check_stream_decode("stream, 24-bit WAV", path_in("s24.wav"));
	for (int64_t i = 0; i < n; i++)
		mono[i] = music[2 * i];
	mono[100] = NAN;
	mono[n / 2] = INFINITY;
	write_file(path_in("mono.wav"), mono, n, 1, SF_FORMAT_WAV | SF_FORMAT_FLOAT);
	check_stream_decode("stream, mono float WAV with NaN/Inf", path_in("mono.wav"));
	write_file(path_in("s.flac"), music, n, 2, SF_FORMAT_FLAC | SF_FORMAT_PCM_16);
	check_stream_decode("stream, FLAC", path_in("s.flac"));
	/* rings: smaller than a read (32768 frames raw, 4096 through
	 * libsndfile), not a multiple of the reads or of 777 */
	check_stream_ring("ring, 24-bit WAV", path_in("s24.wav"), 5000);
	check_stream_ring("ring, 24-bit WAV", path_in("s24.wav"), 40000);
	check_stream_ring("ring, mono float WAV with NaN/Inf", path_in("mono.wav"), 3001);
	check_stream_ring("ring, FLAC", path_in("s.flac"), 6000);
	/* the encodings read raw (clip.c: raw_in), with full scale both
	 * ways (clipped on writing), the smallest steps and a float over */
	{
		static const struct { int format; int ch; const char *name, *what; } raw[] = {
			{ SF_FORMAT_WAV | SF_FORMAT_PCM_16, 2, "r16.wav", "stream, 16-bit WAV" },
			{ SF_FORMAT_WAV | SF_FORMAT_PCM_32, 2, "r32.wav", "stream, 32-bit WAV" },
			{ SF_FORMAT_WAV | SF_FORMAT_FLOAT, 2, "rf.wav", "stream, float WAV" },
			{ SF_FORMAT_WAV | SF_FORMAT_PCM_24, 1, "r24m.wav", "stream, mono 24-bit WAV" },
			{ SF_FORMAT_AIFF | SF_FORMAT_PCM_16, 2, "r16.aiff", "stream, 16-bit AIFF" },
			{ SF_FORMAT_AIFF | SF_FORMAT_PCM_24, 2, "r24.aiff", "stream, 24-bit AIFF" },
			{ SF_FORMAT_AIFF | SF_FORMAT_PCM_32, 1, "r32m.aiff", "stream, mono 32-bit AIFF" },
			{ SF_FORMAT_AIFF | SF_FORMAT_FLOAT, 2, "rf.aiff", "stream, float AIFF" },
		};
		float *x = malloc(sizeof(float) * 2 * (size_t)n);
		static const float odd[] = { 1.0f, -1.0f, 0.99999994f, -0.99999994f, 1.5f,
					     -2.0f, 1e-9f, -1e-9f, 0x1p-23f, -0x1p-15f };

		memcpy(x, music, sizeof(float) * 2 * (size_t)n);
		for (size_t i = 0; i < sizeof(odd) / sizeof(odd[0]); i++)
			x[1000 + i] = odd[i];
		for (size_t k = 0; k < sizeof(raw) / sizeof(raw[0]); k++) {
			write_file(path_in(raw[k].name), x, raw[k].ch == 2 ? n : 2 * n,
				   raw[k].ch, raw[k].format);
			check_stream_decode(raw[k].what, path_in(raw[k].name));
			unlink(path_in(raw[k].name));
		}
		free(x);
	}

	/* the render: the whole clip's bytes */
	ASSERT_INT("load", 0, audio_clip_load(path_in("s24.wav"), 0, &whole, NULL, NULL,
					      msg, sizeof(msg)));
	opts(&o, path_in("whole.wav"), 24);
	chain_settings_assign(&o.settings, "gain.gain_db=8", msg, sizeof(msg));
	ASSERT_INT("render, whole clip", 0, audio_render_file(whole, &o, NULL, msg, sizeof(msg)));
	ASSERT_INT("stream", 0, audio_clip_stream_open(path_in("s24.wav"), &st, NULL, NULL,
						       msg, sizeof(msg)));
	if (st) {
		o.out_path = path_in("streamed.wav");
		o.input_wait = stream_wait;
		o.input_user = st;
		ASSERT_INT("render while decoding", 0,
			   audio_render_file(audio_clip_stream_clip(st), &o, NULL, msg,
					     sizeof(msg)));
		ASSERT_INT("decoding ok", 0, audio_clip_stream_finish(st, msg, sizeof(msg)));
		ASSERT_TRUE("render while decoding: the same bytes",
			    files_equal(path_in("whole.wav"), path_in("streamed.wav")));
		audio_clip_stream_free(&st);
		unlink(path_in("streamed.wav"));
	}
	/* through a ring (what `termaster render` does without a target):
	 * 3000 frames, so that blocks of 1024 straddle its end */
	ASSERT_INT("ring", 0, audio_clip_stream_open_ring(path_in("s24.wav"), 3000, &st,
							  NULL, NULL, msg, sizeof(msg)));
	if (st) {
		o.out_path = path_in("ring.wav");
		o.input_wait = stream_wait;
		o.input_user = st;
		o.input_ring = audio_clip_stream_ring(st);
		o.input_release = stream_release;
		ASSERT_INT("ring: 3000 frames", 3000, (int)o.input_ring);
		err = audio_render_find_gain(audio_clip_stream_clip(st), &o, -14.0,
					     AUDIO_RENDER_MAX_GR_DB, &tr, NULL, NULL, msg,
					     sizeof(msg));
		ASSERT_INT("ring: a target search refuses it", AUDIO_RENDER_ERROR_CHAIN, err);
		ASSERT_INT("render through a ring", 0,
			   audio_render_file(audio_clip_stream_clip(st), &o, NULL, msg,
					     sizeof(msg)));
		ASSERT_INT("ring: decoding ok", 0, audio_clip_stream_finish(st, msg, sizeof(msg)));
		ASSERT_TRUE("render through a ring: the same bytes",
			    files_equal(path_in("whole.wav"), path_in("ring.wav")));
		audio_clip_stream_free(&st);
		unlink(path_in("ring.wav"));
		o.input_ring = 0;
		o.input_release = NULL;
	}
	/* a ring the clip fits in is no ring; a reader that stops reading
	 * leaves the decoding waiting for room, and freeing it then returns */
	ASSERT_INT("ring", 0, audio_clip_stream_open_ring(path_in("s24.wav"), whole->frames,
							  &st, NULL, NULL, msg, sizeof(msg)));
	ASSERT_INT("ring as long as the clip: none", 0, (int)audio_clip_stream_ring(st));
	audio_clip_stream_free(&st);
	ASSERT_INT("ring", 0, audio_clip_stream_open_ring(path_in("s24.wav"), 4096, &st,
							  NULL, NULL, msg, sizeof(msg)));
	if (st) {
		ASSERT_INT("ring full", 4096, (int)audio_clip_stream_wait(st, 4096));
		audio_clip_stream_free(&st);
		ASSERT_TRUE("ring: freed while the decoding waits for room", st == NULL);
	}
	memset(&d, 0, sizeof(d));
	d.frames = whole->frames;
	o.out_path = path_in("drip.wav");
	o.input_wait = drip_wait;
	o.input_user = &d;
	ASSERT_INT("render, frames coming slowly", 0,
		   audio_render_file(whole, &o, NULL, msg, sizeof(msg)));
	ASSERT_TRUE("frames coming slowly: waited often", d.calls > 100);
	ASSERT_TRUE("frames coming slowly: the same bytes",
		    files_equal(path_in("whole.wav"), path_in("drip.wav")));
	unlink(path_in("drip.wav"));
	o.input_wait = NULL;  /* the clip is whole */
	o.input_user = NULL;

	/* 12: one CPU, one thread */
	{
		cpu_set_t all, one;
		int cpu = -1;

		if (!sched_getaffinity(0, sizeof(all), &all)) {
			for (int i = 0; i < CPU_SETSIZE && cpu < 0; i++)
				if (CPU_ISSET(i, &all))
					cpu = i;
		}
		CPU_ZERO(&one);
		if (cpu >= 0)
			CPU_SET(cpu, &one);
		if (cpu >= 0 && CPU_COUNT(&all) > 1 &&
		    !sched_setaffinity(0, sizeof(one), &one)) {
			o.out_path = path_in("one.wav");
			ASSERT_INT("render on one CPU", 0,
				   audio_render_file(whole, &o, NULL, msg, sizeof(msg)));
			sched_setaffinity(0, sizeof(all), &all);
			ASSERT_TRUE("one CPU: the bytes of two threads",
				    files_equal(path_in("whole.wav"), path_in("one.wav")));
			unlink(path_in("one.wav"));
		} else {
			printf("  (one CPU only, or no affinity: the one-thread render "
			       "is what every render here did)\n");
		}
	}

	/* an input failing mid-render: nothing left */
	o.input_wait = drip_wait;
	o.input_user = &d;
	memset(&d, 0, sizeof(d));
	d.frames = whole->frames;
	d.fail_at = whole->frames / 2;
	o.out_path = path_in("failed.wav");
	err = audio_render_file(whole, &o, NULL, msg, sizeof(msg));
	ASSERT_INT("input failing: INPUT", AUDIO_RENDER_ERROR_INPUT, err);
	{
		const char *keep[] = { "whole.wav", "s24.wav", "mono.wav", "s.flac" };

		ASSERT_INT("input failing: nothing left", 0, stray_files(keep, 4));
	}
	memset(&d, 0, sizeof(d));
	d.frames = whole->frames;
	d.fail_at = whole->frames / 3;
	err = audio_render_find_gain(whole, &o, -14.0, AUDIO_RENDER_MAX_GR_DB, &tr,
				     NULL, NULL, msg, sizeof(msg));
	ASSERT_INT("input failing, target: INPUT", AUDIO_RENDER_ERROR_INPUT, err);

	/* a FLAC cut short: the same failure as audio_clip_load() */
	{
		size_t len;
		unsigned char *b = slurp(path_in("s.flac"), &len);
		FILE *f = fopen(path_in("cut.flac"), "wb");

		if (!b || !f)
			exit(99);
		fwrite(b, 1, len * 2 / 3, f);
		fclose(f);
		free(b);
	}
	audio_clip_free(&whole);
	err = audio_clip_load(path_in("cut.flac"), 0, &whole, NULL, NULL, msg, sizeof(msg));
	ASSERT_TRUE("cut FLAC: refused by audio_clip_load", err != 0);
	err2 = audio_clip_stream_open(path_in("cut.flac"), &st, NULL, NULL, msg2, sizeof(msg2));
	if (!err2) {
		const struct audio_clip *c = audio_clip_stream_clip(st);

		ASSERT_TRUE("cut FLAC: waiting fails", audio_clip_stream_wait(st, c->frames) < 0);
		err2 = audio_clip_stream_finish(st, msg2, sizeof(msg2));
	}
	ASSERT_INT("cut FLAC: the same error", err, err2);
	ASSERT_TRUE("cut FLAC: the same message", !strcmp(msg, msg2));
	if (strcmp(msg, msg2))
		fprintf(stderr, "  load: %s\n  stream: %s\n", msg, msg2);
	audio_clip_stream_free(&st);

	audio_clip_free(&whole);
	unlink(path_in("whole.wav"));
	unlink(path_in("s24.wav"));
	unlink(path_in("mono.wav"));
	unlink(path_in("s.flac"));
	unlink(path_in("cut.flac"));
	free(mono);
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
	test_no_guard(mix);
	test_target();
	test_guard();
	test_dither_option();
	test_stream(music, n);
	test_packed(mix);
	test_demo();

	audio_clip_free(&mix);
	free(music);
	rmdir(dir);
	return test_done();
}

/*
 * test_decode — audio/clip.c: format round trips through libsndfile, rates
 * 8 kHz … 384 kHz, mono → stereo, resampling (libsamplerate), non-finite
 * samples, and a reason for every kind of bad input.
 *
 * Files are written here with libsndfile into a fresh temporary folder and
 * removed at the end.  A format the installed libsndfile cannot write is
 * skipped (reported), not failed.
 */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sndfile.h>

#include "audio/clip.h"
#include "tests/util.h"

static const char *dir;
static char made[64][4096];
static int n_made;

static const char *tmp_path(const char *name)
{
	static char p[4096];

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	if (n_made < 64)
		snprintf(made[n_made++], sizeof(made[0]), "%s", p);
	return p;
}

static void cleanup(void)
{
	for (int i = 0; i < n_made; i++) {
		chmod(made[i], 0600);
		if (remove(made[i]) && errno != ENOENT)
			rmdir(made[i]);
	}
	rmdir(dir);
}

/* 0 written, 1 this libsndfile cannot write it, -1 error */
static int write_file(const char *path, int format, int rate, int ch, const float *x,
                      int64_t frames)
{
	SF_INFO info;
	SNDFILE *sf;
	sf_count_t w;

	memset(&info, 0, sizeof(info));
	info.samplerate = rate;
	info.channels = ch;
	info.format = format;
	if (!sf_format_check(&info))
		return 1;
	sf = sf_open(path, SFM_WRITE, &info);
	if (!sf)
		return 1;
	sf_command(sf, SFC_SET_CLIPPING, NULL, SF_TRUE);
	w = sf_writef_float(sf, x, frames);
	if (sf_close(sf) || w != frames)
		return -1;
	return 0;
}

static void write_bytes(const char *path, const void *data, size_t n)
{
	FILE *f = fopen(path, "wb");

	if (!f || (n && fwrite(data, 1, n, f) != n)) {
		perror(path);
		exit(99);
	}
	fclose(f);
}

static void truncate_to(const char *path, off_t size)
{
	if (truncate(path, size)) {
		perror(path);
		exit(99);
	}
}

/* L: 997 Hz at -6 dBFS, R: 2 kHz at -12 dBFS, so a channel swap shows */
static float *test_signal(int64_t frames, double rate)
{
	float *x = malloc((size_t)frames * 2 * sizeof(float));
	float *t = malloc((size_t)frames * sizeof(float));

	gen_sine(t, (size_t)frames, 1, rate, 997, db_to_lin(-6), 0.3);
	for (int64_t i = 0; i < frames; i++)
		x[2 * i] = t[i];
	gen_sine(t, (size_t)frames, 1, rate, 2000, db_to_lin(-12), 1.1);
	for (int64_t i = 0; i < frames; i++)
		x[2 * i + 1] = t[i];
	free(t);
	return x;
}

static double max_err(const float *a, const float *b, size_t n)
{
	double m = 0;

	for (size_t i = 0; i < n; i++)
		if (fabs((double)a[i] - b[i]) > m)
			m = fabs((double)a[i] - b[i]);
	return m;
}

static void check_formats(void)
{
	static const struct {
		const char *name, *file, *format_text;
		int format;
		double tol; /* lossless: max sample error; lossy: < 0 */
	} cases[] = {
	    {"WAV 16", "f16.wav", "WAV 16-bit", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 1.5 / 32768},
	    {"WAV 24", "f24.wav", "WAV 24-bit", SF_FORMAT_WAV | SF_FORMAT_PCM_24, 1.5 / 8388608},
	    {"WAV 32", "f32.wav", "WAV 32-bit", SF_FORMAT_WAV | SF_FORMAT_PCM_32, 1e-7},
	    {"WAV 32f", "f32f.wav", "WAV 32-bit float", SF_FORMAT_WAV | SF_FORMAT_FLOAT, 0},
	    {"WAV 64f", "f64f.wav", "WAV 64-bit float", SF_FORMAT_WAV | SF_FORMAT_DOUBLE, 0},
	    {"FLAC 16", "f16.flac", "FLAC 16-bit", SF_FORMAT_FLAC | SF_FORMAT_PCM_16, 1.5 / 32768},
	    {"FLAC 24", "f24.flac", "FLAC 24-bit", SF_FORMAT_FLAC | SF_FORMAT_PCM_24,
	     1.5 / 8388608},
	    {"AIFF 16", "f16.aiff", "AIFF 16-bit", SF_FORMAT_AIFF | SF_FORMAT_PCM_16, 1.5 / 32768},
	    {"AIFF 24", "f24.aiff", "AIFF 24-bit", SF_FORMAT_AIFF | SF_FORMAT_PCM_24,
	     1.5 / 8388608},
	    {"AIFF 32f", "f32f.aiff", "AIFF 32-bit float", SF_FORMAT_AIFF | SF_FORMAT_FLOAT, 0},
	    {"RF64 24", "f24.rf64", "RF64 24-bit", SF_FORMAT_RF64 | SF_FORMAT_PCM_24,
	     1.5 / 8388608},
	    {"W64 24", "f24.w64", "W64 24-bit", SF_FORMAT_W64 | SF_FORMAT_PCM_24, 1.5 / 8388608},
	    {"CAF 16", "f16.caf", "CAF 16-bit", SF_FORMAT_CAF | SF_FORMAT_PCM_16, 1.5 / 32768},
	    {"Ogg Vorbis", "v.ogg", "Ogg Vorbis", SF_FORMAT_OGG | SF_FORMAT_VORBIS, -1},
	    {"Ogg Opus", "o.opus", "Ogg Opus", SF_FORMAT_OGG | SF_FORMAT_OPUS, -1},
	    {"MP3", "m.mp3", "MP3", SF_FORMAT_MPEG | SF_FORMAT_MPEG_LAYER_III, -1},
	};
	const double rate = 48000;
	const int64_t frames = 48000;
	float *x = test_signal(frames, rate);

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *path = tmp_path(cases[i].file);
		struct audio_clip *c = NULL;
		char msg[256], what[512];
		int w = write_file(path, cases[i].format, (int)rate, 2, x, frames), err;
		int prate = 0, pch = 0;
		int64_t pframes = -1;

		if (w == 1) {
			printf("skip %s: this libsndfile cannot write it\n", cases[i].name);
			continue;
		}
		snprintf(what, sizeof(what), "%s written", cases[i].name);
		ASSERT_INT(what, 0, w);
		snprintf(what, sizeof(what), "%s probe", cases[i].name);
		ASSERT_INT(what, 0,
		           audio_clip_probe(path, &prate, &pch, &pframes, msg, sizeof(msg)));
		ASSERT_INT(what, 48000, prate);
		ASSERT_INT(what, 2, pch);
		err = audio_clip_load(path, 0, &c, NULL, NULL, msg, sizeof(msg));
		snprintf(what, sizeof(what), "%s load (%s)", cases[i].name, msg);
		ASSERT_INT(what, 0, err);
		if (err)
			continue;
		snprintf(what, sizeof(what), "%s format text \"%s\"", cases[i].name, c->format);
		ASSERT_TRUE(what, !strcmp(c->format, cases[i].format_text));
		ASSERT_INT("file rate", 48000, c->file_rate);
		ASSERT_INT("file channels", 2, c->file_channels);
		ASSERT_CLOSE("clip rate", 48000, c->rate, 0);
		ASSERT_INT("nothing non-finite", 0, c->nonfinite);
		if (cases[i].tol >= 0) {
			snprintf(what, sizeof(what), "%s frames", cases[i].name);
			ASSERT_INT(what, frames, c->frames);
			ASSERT_INT(what, frames, c->file_frames);
			ASSERT_INT("probe frames", frames, pframes);
			snprintf(what, sizeof(what), "%s samples within quantisation",
			         cases[i].name);
			if (c->frames == frames)
				ASSERT_LE(what, max_err(x, c->data, (size_t)frames * 2),
				          cases[i].tol);
		} else {
			/* lossy: level of each channel's sine within 0.5 dB,
			 * measured past the codec's start-up */
			size_t skip = 4800, n = (size_t)c->frames > skip + 24000 ? 24000 : 0;
			double l = n ? measure_sine_amp(c->data + 2 * skip, n, 2, rate, 997) : 0;
			double r =
			    n ? measure_sine_amp(c->data + 2 * skip + 1, n, 2, rate, 2000) : 0;
			printf("%s: %lld frames, L %.3f dB, R %.3f dB (written -6, -12)\n",
			       cases[i].name, (long long)c->frames, lin_to_db(l), lin_to_db(r));
			snprintf(what, sizeof(what), "%s length", cases[i].name);
			ASSERT_CLOSE(what, (double)frames, (double)c->frames, 4096);
			snprintf(what, sizeof(what), "%s L level", cases[i].name);
			ASSERT_CLOSE(what, -6.0, lin_to_db(l), 0.5);
			snprintf(what, sizeof(what), "%s R level", cases[i].name);
			ASSERT_CLOSE(what, -12.0, lin_to_db(r), 0.5);
		}
		audio_clip_free(&c);
		ASSERT_TRUE("free clears the pointer", c == NULL);
	}
	free(x);
}

static void check_rates(void)
{
	static const int rates[] = {8000,  11025, 16000,  22050,  32000,  44100, 48000,
	                            88200, 96000, 176400, 192000, 352800, 384000};
	char msg[256], what[512];

	for (size_t i = 0; i < sizeof(rates) / sizeof(rates[0]); i++) {
		int64_t frames = rates[i] / 5; /* 0.2 s */
		float *x = test_signal(frames, rates[i]);
		struct audio_clip *c = NULL;
		char name[64];
		const char *path;
		int err;

		snprintf(name, sizeof(name), "r%d.wav", rates[i]);
		path = tmp_path(name);
		ASSERT_INT(
		    "rate file written", 0,
		    write_file(path, SF_FORMAT_WAV | SF_FORMAT_FLOAT, rates[i], 2, x, frames));
		err = audio_clip_load(path, 0, &c, NULL, NULL, msg, sizeof(msg));
		snprintf(what, sizeof(what), "load at %d Hz (%s)", rates[i], msg);
		ASSERT_INT(what, 0, err);
		if (!err) {
			ASSERT_INT("file rate", rates[i], c->file_rate);
			ASSERT_CLOSE("kept rate", rates[i], c->rate, 0);
			ASSERT_INT("frames", frames, c->frames);
			if (c->frames == frames)
				ASSERT_LE("samples", max_err(x, c->data, (size_t)frames * 2), 0);
		}
		audio_clip_free(&c);
		free(x);
	}

	/* outside the range: refused with a reason */
	{
		float z[200] = {0};
		const char *path = tmp_path("r4000.wav");
		struct audio_clip *c = NULL;

		ASSERT_INT("4 kHz written", 0,
		           write_file(path, SF_FORMAT_WAV | SF_FORMAT_PCM_16, 4000, 2, z, 100));
		ASSERT_INT("4 kHz refused", AUDIO_CLIP_ERROR_RATE,
		           audio_clip_load(path, 0, &c, NULL, NULL, msg, sizeof(msg)));
		ASSERT_TRUE("4 kHz reason", strstr(msg, "4000 Hz") != NULL);
		ASSERT_TRUE("no clip", c == NULL);
		path = tmp_path("r48k.wav");
		ASSERT_INT("48 kHz written", 0,
		           write_file(path, SF_FORMAT_WAV | SF_FORMAT_PCM_16, 48000, 2, z, 100));
		ASSERT_INT("bad target rate refused", AUDIO_CLIP_ERROR_RATE,
		           audio_clip_load(path, 1000, &c, NULL, NULL, msg, sizeof(msg)));
	}
}

static void check_mono(void)
{
	const int64_t frames = 22050;
	float *m = malloc((size_t)frames * sizeof(float));
	const char *path = tmp_path("mono.flac");
	struct audio_clip *c = NULL;
	char msg[256];
	int ok = 1;

	gen_music(m, (size_t)frames, 1, 44100, 0.7, 3);
	ASSERT_INT("mono written", 0,
	           write_file(path, SF_FORMAT_FLAC | SF_FORMAT_PCM_24, 44100, 1, m, frames));
	ASSERT_INT("mono load", 0, audio_clip_load(path, 0, &c, NULL, NULL, msg, sizeof(msg)));
	if (c) {
		ASSERT_INT("file channels", 1, c->file_channels);
		ASSERT_INT("frames", frames, c->frames);
		for (int64_t i = 0; i < frames && i < c->frames; i++) {
			if (c->data[2 * i] != c->data[2 * i + 1] ||
			    fabs(c->data[2 * i] - m[i]) > 1.5 / 8388608)
				ok = 0;
		}
		ASSERT_TRUE("mono copied to both channels", ok);
	}
	audio_clip_free(&c);
	free(m);
}

/* Frequency from interpolated rising zero crossings of channel 0. */
static double zero_cross_freq(const float *x, size_t n, double rate)
{
	double first = -1, last = -1;
	long count = 0;

	for (size_t i = 1; i < n; i++) {
		double a = x[2 * (i - 1)], b = x[2 * i];
		if (a < 0 && b >= 0) {
			double t = (double)(i - 1) + a / (a - b);
			if (first < 0)
				first = t;
			last = t;
			count++;
		}
	}
	return count > 1 ? (double)(count - 1) * rate / (last - first) : 0;
}

static int count_progress(void *user, double fraction)
{
	int *calls = user;

	(*calls)++;
	return fraction < 0 || fraction > 1;
}

static int cancel_now(void *user, double fraction)
{
	(void)user;
	(void)fraction;
	return 1;
}

static void check_resample(void)
{
	static const struct {
		int from, to;
	} cases[] = {
	    {44100, 48000},
	    {48000, 44100},
	    {96000, 48000},
	    {8000, 48000},
	};
	char msg[256], what[512];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const int64_t frames = cases[i].from * 2;
		float *x = malloc((size_t)frames * 2 * sizeof(float));
		const char *path;
		char name[64];
		struct audio_clip *c = NULL;
		int64_t expect = llround((double)frames * cases[i].to / cases[i].from);
		int calls = 0, err;

		gen_sine(x, (size_t)frames, 2, cases[i].from, 1000, db_to_lin(-6), 0);
		snprintf(name, sizeof(name), "src%d.wav", cases[i].from);
		path = tmp_path(name);
		ASSERT_INT(
		    "written", 0,
		    write_file(path, SF_FORMAT_WAV | SF_FORMAT_FLOAT, cases[i].from, 2, x, frames));
		err = audio_clip_load(path, cases[i].to, &c, count_progress, &calls, msg,
		                      sizeof(msg));
		snprintf(what, sizeof(what), "%d -> %d load (%s)", cases[i].from, cases[i].to, msg);
		ASSERT_INT(what, 0, err);
		if (!err) {
			size_t skip = (size_t)(cases[i].to / 10), n = (size_t)(cases[i].to * 1.5);
			double amp = measure_sine_amp(c->data + 2 * skip, n, 2, cases[i].to, 1000);
			double ampr =
			    measure_sine_amp(c->data + 2 * skip + 1, n, 2, cases[i].to, 1000);
			double f = zero_cross_freq(c->data + 2 * skip, n, cases[i].to);

			printf("%d -> %d Hz: %lld frames (expected %lld), 1 kHz at %.4f dB, "
			       "%.4f Hz\n",
			       cases[i].from, cases[i].to, (long long)c->frames, (long long)expect,
			       lin_to_db(amp), f);
			snprintf(what, sizeof(what), "%d -> %d length", cases[i].from, cases[i].to);
			ASSERT_CLOSE(what, (double)expect, (double)c->frames, 1);
			snprintf(what, sizeof(what), "%d -> %d amplitude", cases[i].from,
			         cases[i].to);
			ASSERT_CLOSE(what, -6.0, lin_to_db(amp), 0.01);
			ASSERT_CLOSE(what, -6.0, lin_to_db(ampr), 0.01);
			snprintf(what, sizeof(what), "%d -> %d frequency", cases[i].from,
			         cases[i].to);
			ASSERT_CLOSE(what, 1000.0, f, 0.01);
			ASSERT_CLOSE("clip rate", cases[i].to, c->rate, 0);
			ASSERT_INT("file rate kept", cases[i].from, c->file_rate);
			ASSERT_INT("file frames", frames, c->file_frames);
			ASSERT_TRUE("progress called", calls >= 1);
		}
		audio_clip_free(&c);

		if (i == 0) {
			ASSERT_INT("cancel", AUDIO_CLIP_ERROR_CANCELLED,
			           audio_clip_load(path, cases[i].to, &c, cancel_now, NULL, msg,
			                           sizeof(msg)));
			ASSERT_TRUE("cancelled: no clip", c == NULL);
		}
		free(x);
	}
}

static void check_nonfinite(void)
{
	const int64_t frames = 4800;
	float *x = malloc((size_t)frames * 2 * sizeof(float));
	float *y = malloc((size_t)frames * 2 * sizeof(float));
	static const size_t at[] = {0, 7, 100, 2001, 5000, 9599};
	const char *path = tmp_path("nan.wav");
	struct audio_clip *c = NULL;
	char msg[256];
	int finite = 1;

	gen_sine(x, (size_t)frames, 2, 48000, 440, 0.5, 0);
	memcpy(y, x, (size_t)frames * 2 * sizeof(float));
	for (size_t i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
		x[at[i]] = i % 3 == 0 ? NAN : i % 3 == 1 ? INFINITY : -INFINITY;
		y[at[i]] = 0;
	}
	ASSERT_INT("NaN file written", 0,
	           write_file(path, SF_FORMAT_WAV | SF_FORMAT_FLOAT, 48000, 2, x, frames));
	ASSERT_INT("NaN load", 0, audio_clip_load(path, 0, &c, NULL, NULL, msg, sizeof(msg)));
	if (c) {
		ASSERT_INT("non-finite counted", 6, c->nonfinite);
		ASSERT_LE("replaced by 0, rest intact", max_err(y, c->data, (size_t)frames * 2), 0);
	}
	audio_clip_free(&c);

	/* replaced before the resampler: the output is finite everywhere */
	ASSERT_INT("NaN load resampled", 0,
	           audio_clip_load(path, 44100, &c, NULL, NULL, msg, sizeof(msg)));
	if (c) {
		ASSERT_INT("non-finite counted before resampling", 6, c->nonfinite);
		for (int64_t i = 0; i < c->frames * 2; i++)
			if (!isfinite(c->data[i]))
				finite = 0;
		ASSERT_TRUE("resampled output finite", finite);
	}
	audio_clip_free(&c);

	/* float files are not normalised or clipped: overs survive */
	for (int64_t i = 0; i < frames * 2; i++)
		x[i] = (float)(2.0 * y[i]) + (i % 2 ? 0.75f : -0.75f);
	path = tmp_path("overs.wav");
	ASSERT_INT("overs written", 0,
	           write_file(path, SF_FORMAT_WAV | SF_FORMAT_FLOAT, 48000, 2, x, frames));
	ASSERT_INT("overs load", 0, audio_clip_load(path, 0, &c, NULL, NULL, msg, sizeof(msg)));
	if (c)
		ASSERT_LE("overs intact", max_err(x, c->data, (size_t)frames * 2), 0);
	audio_clip_free(&c);
	free(x);
	free(y);
}

static void expect_bad(const char *what, const char *path, int code, const char *words)
{
	struct audio_clip *c = (struct audio_clip *)&c; /* must be set to NULL */
	char msg[256] = "untouched", pmsg[256] = "untouched", label[1024];
	int err = audio_clip_load(path, 48000, &c, NULL, NULL, msg, sizeof(msg));
	int perr = audio_clip_probe(path, NULL, NULL, NULL, pmsg, sizeof(pmsg));

	printf("%-22s -> %d \"%s\"\n", what, err, msg);
	snprintf(label, sizeof(label), "%s: error code (reason \"%s\")", what, msg);
	ASSERT_INT(label, code, err);
	snprintf(label, sizeof(label), "%s: reason \"%s\" mentions \"%s\"", what, msg, words);
	ASSERT_TRUE(label, strstr(msg, words) != NULL);
	snprintf(label, sizeof(label), "%s: reason has no path", what);
	ASSERT_TRUE(label, strstr(msg, dir) == NULL && !strchr(msg, '\n'));
	ASSERT_TRUE("no clip on error", c == NULL);
	/* the probe agrees, except for what only decoding finds */
	if (code != AUDIO_CLIP_ERROR_READ || strstr(path, ".wav") || strstr(path, ".aiff")) {
		snprintf(label, sizeof(label), "%s: probe error (reason \"%s\")", what, pmsg);
		ASSERT_INT(label, code, perr);
	}
}

static void check_bad_input(void)
{
	const int64_t frames = 48000;
	float *x = test_signal(frames, 48000);
	float *six = calloc((size_t)frames * 6, sizeof(float));
	const char *p;
	char keep[4096];
	struct audio_clip *c = NULL;
	char msg[256];
	int rate = 0, ch = 0;
	int64_t fr = 0;

	expect_bad("missing file", tmp_path("missing.wav"), AUDIO_CLIP_ERROR_ERRNO, "no such file");
	p = tmp_path("adir.wav");
	mkdir(p, 0700);
	expect_bad("directory", p, AUDIO_CLIP_ERROR_DIRECTORY, "is a directory");

	p = tmp_path("noperm.wav");
	write_file(p, SF_FORMAT_WAV | SF_FORMAT_PCM_16, 48000, 2, x, 100);
	if (geteuid() == 0) {
		printf("skip unreadable file: running as root, permissions do not stop reads\n");
	} else {
		chmod(p, 0);
		expect_bad("unreadable", p, AUDIO_CLIP_ERROR_ERRNO, "permission denied");
	}

	p = tmp_path("empty.wav");
	write_bytes(p, "", 0);
	expect_bad("empty file", p, AUDIO_CLIP_ERROR_EMPTY, "empty file");

	p = tmp_path("noframes.wav");
	write_file(p, SF_FORMAT_WAV | SF_FORMAT_PCM_16, 48000, 2, x, 0);
	expect_bad("header, no frames", p, AUDIO_CLIP_ERROR_EMPTY, "no audio");

	p = tmp_path("text.wav");
	write_bytes(p, "this is not audio, just some text\n", 34);
	expect_bad("text file", p, AUDIO_CLIP_ERROR_FORMAT,
	           "not an audio file libsndfile can read");

	p = tmp_path("song.m4a");
	write_bytes(p,
	            "\0\0\0\x20"
	            "ftypM4A \0\0\0\0"
	            "junkjunkjunkjunk",
	            32);
	expect_bad("m4a", p, AUDIO_CLIP_ERROR_FORMAT, "ffmpeg -i song.m4a song.flac");
	p = tmp_path("song.WMA");
	write_bytes(p, "0&\xb2\x75\x8e\x66\xcf\x11", 8);
	expect_bad("wma", p, AUDIO_CLIP_ERROR_FORMAT, "not supported by libsndfile");

	p = tmp_path("six.wav");
	ASSERT_INT("6-channel file written", 0,
	           write_file(p, SF_FORMAT_WAV | SF_FORMAT_PCM_16, 48000, 6, six, frames));
	expect_bad("6 channels", p, AUDIO_CLIP_ERROR_CHANNELS,
	           "6 channels; termaster plays mono and stereo files");
	ASSERT_INT("probe still reports facts", AUDIO_CLIP_ERROR_CHANNELS,
	           audio_clip_probe(p, &rate, &ch, &fr, msg, sizeof(msg)));
	ASSERT_INT("probe channels", 6, ch);
	ASSERT_INT("probe rate", 48000, rate);
	ASSERT_INT("probe frames", frames, fr);

	/* truncated: cut into the data of a valid file */
	p = tmp_path("cut.wav");
	write_file(p, SF_FORMAT_WAV | SF_FORMAT_PCM_24, 48000, 2, x, frames);
	truncate_to(p, 100000);
	expect_bad("truncated WAV", p, AUDIO_CLIP_ERROR_READ,
	           "truncated: header promises 48000 frames");
	p = tmp_path("cut.rf64");
	if (!write_file(p, SF_FORMAT_RF64 | SF_FORMAT_PCM_16, 48000, 2, x, frames)) {
		truncate_to(p, 100000);
		expect_bad("truncated RF64", p, AUDIO_CLIP_ERROR_READ, "truncated");
	}
	p = tmp_path("cut.aiff");
	write_file(p, SF_FORMAT_AIFF | SF_FORMAT_PCM_16, 48000, 2, x, frames);
	truncate_to(p, 100000);
	expect_bad("truncated AIFF", p, AUDIO_CLIP_ERROR_READ,
	           "truncated: header promises 48000 frames");
	p = tmp_path("cut.flac");
	write_file(p, SF_FORMAT_FLAC | SF_FORMAT_PCM_16, 48000, 2, x, frames);
	{
		struct stat st;
		stat(p, &st);
		truncate_to(p, st.st_size / 2);
	}
	expect_bad("truncated FLAC", p, AUDIO_CLIP_ERROR_READ,
	           "truncated: header promises 48000 frames");
	p = tmp_path("cut.mp3");
	if (!write_file(p, SF_FORMAT_MPEG | SF_FORMAT_MPEG_LAYER_III, 48000, 2, x, frames)) {
		struct stat st;
		stat(p, &st);
		truncate_to(p, st.st_size / 3);
		/* libmpg123 may print its own warning about the Xing header */
		expect_bad("truncated MP3", p, AUDIO_CLIP_ERROR_READ, "truncated");
	}
	/* the header itself cut short */
	p = tmp_path("stub.wav");
	write_file(p, SF_FORMAT_WAV | SF_FORMAT_PCM_16, 48000, 2, x, frames);
	truncate_to(p, 30);
	snprintf(keep, sizeof(keep), "%s", p);
	ASSERT_TRUE("cut header refused",
	            audio_clip_load(keep, 0, &c, NULL, NULL, msg, sizeof(msg)) != 0 && msg[0]);
	printf("%-22s -> \"%s\"\n", "header cut at 30 bytes", msg);

	/* a data size of 0 (streaming writer) is not called truncated */
	free(six);
	free(x);
}

static void check_from_frames(void)
{
	float lr[8] = {0.1f, -0.1f, 0.2f, -0.2f, 0.3f, -0.3f, 0.4f, -0.4f};
	struct audio_clip *c = audio_clip_from_frames("tone", lr, 4, 48000);

	ASSERT_TRUE("from_frames", c != NULL);
	if (c) {
		ASSERT_INT("frames", 4, c->frames);
		ASSERT_CLOSE("rate", 48000, c->rate, 0);
		ASSERT_LE("copied", max_err(lr, c->data, 8), 0);
		ASSERT_TRUE("copy, not alias", c->data != lr);
		ASSERT_TRUE("name", !strcmp(c->name, "tone"));
	}
	audio_clip_free(&c);
	ASSERT_TRUE("freed", c == NULL);
	audio_clip_free(&c);
	audio_clip_free(NULL);
	c = audio_clip_from_frames(NULL, NULL, 0, 44100);
	ASSERT_TRUE("empty from_frames", c != NULL && c->frames == 0);
	audio_clip_free(&c);
}

int main(void)
{
	dir = test_tmpdir("decode");
	check_formats();
	check_rates();
	check_mono();
	check_resample();
	check_nonfinite();
	check_bad_input();
	check_from_frames();
	cleanup();
	return test_done();
}

/*
 * termaster — `make bench`: speed figures (never part of `make check`).
 *
 *   1. the chain alone (audio_render_run) over 4 minutes of 44.1 kHz
 *      stereo, in × realtime on one core;
 *   2. the whole `termaster render` command (decode, chain, dither, write,
 *      measure) on the same material written to a 24-bit WAV;
 *   3. the engine's DSP cost per callback block (256 frames at 48 kHz),
 *      mean and worst, as a share of the block's real-time budget.
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sndfile.h>

#include "audio/clip.h"
#include "audio/engine.h"
#include "audio/render.h"
#include "chain/chain.h"
#include "tests/util.h"

#define SECONDS 240.0
#define RATE 44100.0

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int sink(void *user, const float *lr, size_t frames)
{
	double *acc = user;

	*acc += lr[0] + lr[2 * frames - 1];
	return 0;
}

static int write_wav(const char *path, const float *buf, int64_t frames)
{
	SF_INFO info = { .samplerate = (int)RATE, .channels = 2,
			 .format = SF_FORMAT_WAV | SF_FORMAT_PCM_24 };
	SNDFILE *f = sf_open(path, SFM_WRITE, &info);

	if (!f)
		return -1;
	sf_writef_float(f, buf, frames);
	sf_close(f);
	return 0;
}

int main(void)
{
	int64_t frames = (int64_t)(SECONDS * RATE);
	float *buf = malloc(sizeof(float) * 2 * (size_t)frames);
	struct chain_settings s;
	double t, best = HUGE_VAL, acc = 0;
	const char *termaster = getenv("TERMASTER");
	char dir[] = "/tmp/termaster-bench-XXXXXX";
	char in[256], out[256], cmd[1024];

	if (!buf || !mkdtemp(dir))
		return 1;
	gen_music(buf, (size_t)frames, 2, RATE, 0.5, 7);
	chain_settings_default(&s);
	chain_settings_assign(&s, "gain.gain_db=9", NULL, 0);  /* the limiter works */

	printf("termaster bench: %.0f s of 44.1 kHz stereo music-like signal, gain +9 dB into a -1 dBTP limiter\n",
	       SECONDS);
	for (int run = 0; run < 3; run++) {
		t = now();
		audio_render_run(buf, frames, RATE, &s, sink, &acc);
		t = now() - t;
		if (t < best)
			best = t;
	}
	printf("chain (audio_render_run), best of 3: %.3f s = %.0f x realtime, %.1f ns/frame\n",
	       best, SECONDS / best, best * 1e9 / (double)frames);

	snprintf(in, sizeof(in), "%s/in.wav", dir);
	snprintf(out, sizeof(out), "%s/out.wav", dir);
	if (termaster && write_wav(in, buf, frames) == 0) {
		best = HUGE_VAL;
		for (int run = 0; run < 3; run++) {
			unlink(out);
			snprintf(cmd, sizeof(cmd), "'%s' render '%s' -o '%s' --set gain.gain_db=9 --quiet",
				 termaster, in, out);
			t = now();
			if (system(cmd) != 0) {
				printf("termaster render failed\n");
				break;
			}
			t = now() - t;
			if (t < best)
				best = t;
		}
		if (best < HUGE_VAL)
			printf("termaster render (decode, chain, dither, write 24-bit WAV, measure), best of 3: "
			       "%.3f s = %.0f x realtime\n", best, SECONDS / best);
		unlink(out);
		unlink(in);
	}
	rmdir(dir);

	/* callback cost */
	{
		const unsigned block = 256;
		const double rate = 48000;
		int64_t n = (int64_t)(30 * rate);
		float *m = malloc(sizeof(float) * 2 * (size_t)n);
		float *o = malloc(sizeof(float) * 2 * block);
		struct audio_engine *e;
		double sum = 0, worst = 0;
		int err, blocks = 0;

		gen_music(m, (size_t)n, 2, rate, 0.5, 9);
		e = audio_engine_new(rate, &s, &err);
		audio_engine_set_clip(e, 0, audio_clip_from_frames("mix", m, n, rate));
		audio_engine_set_clip(e, 1, audio_clip_from_frames("ref", m, n, rate));
		audio_engine_play(e, true);
		audio_engine_process(e, o, block);
		for (int64_t done = 0; done + block < n - 2 * (int64_t)block; done += block) {
			float tap[2 * 256];

			if (blocks % 200 == 100)
				audio_engine_set_source(e, (blocks / 200) % 2);  /* crossfades too */
			t = now();
			audio_engine_process(e, o, block);
			t = now() - t;
			sum += t;
			if (t > worst)
				worst = t;
			blocks++;
			audio_engine_tap_read(e, tap, block);
		}
		printf("engine callback, %u frames at 48 kHz (budget %.0f us): mean %.1f us (%.2f %%), worst %.1f us (%.2f %%)\n",
		       block, block / rate * 1e6, sum / blocks * 1e6, sum / blocks / (block / rate) * 100,
		       worst * 1e6, worst / (block / rate) * 100);
		audio_engine_free(&e);
		free(m);
		free(o);
	}
	free(buf);
	(void)acc;
	return 0;
}

/*
 * termaster — `make bench`: speed figures (never part of `make check`).
 *
 *   1. each processor's cost in ns per stereo frame at 44.1 kHz: a chain
 *      with every processor switched off, then with only that one on and
 *      representative settings, chain_process() timed over the same 30 s
 *      of music in blocks of AUDIO_RENDER_BLOCK, in thread CPU time; the
 *      cost is the difference.  Settings: EQ 8 bands of ±3 dB, compressor at about
 *      4 dB of gain reduction (threshold searched), multiband 3 bands,
 *      saturation, stereo with bass mono, limiter on music +9 dB (at its
 *      default oversampling, and at 4×).
 *      Parameter ids are looked up in the table at run time; a processor
 *      whose parameters are not there (yet) prints "n/a";
 *   2. the full chain (8 EQ bands, compressor, 3-band multiband, stereo,
 *      4× true-peak limiter) alone (audio_render_run) over 4 minutes of
 *      44.1 kHz stereo, in × realtime on one core, best of CHAIN_RUNS, by
 *      the wall clock and by the thread's CPU time; then the same with
 *      the render's 24-bit TPDF dither on its output, into memory (the
 *      issue's full chain ends in dither);
 *   3. the whole `termaster render` command with that chain (decode,
 *      chain, 24-bit TPDF dither, write, measure) on the same material as
 *      a 24-bit WAV, and, when ffmpeg is there ($FFMPEG from configure,
 *      else `ffmpeg` on PATH), `ffmpeg -af equalizer,acompressor,alimiter`
 *      (the three filters) and the same with eight equalizer bands
 *      (as ours), each after volume=9dB, on the same file to the same
 *      format, and the ratios, each command timed in RUNS interleaved
 *      rounds, best of each: first all on one CPU (ffmpeg with -threads 1
 *      -filter_threads 1),
 *      then both on every CPU the bench was given (the render runs its
 *      chain in two stages on two threads; ffmpeg both ways, the ratio
 *      against the faster);
 *   4. `termaster render --target-lufs -14` on that file: renders made and
 *      time;
 *   5. the engine's DSP cost per callback block (256 frames at 48 kHz),
 *      mean and worst, as a share of the block's real-time budget.
 *
 * The process (and the commands it starts) is pinned to one CPU, except
 * for the second half of 3.
 */
#define _GNU_SOURCE 1  /* sched_setaffinity, sched_getcpu */
#include "config.h"

#include <math.h>
#include <sched.h>
#include <stdbool.h>
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
#include "chain/dither.h"
#include "tests/util.h"

#define SECONDS 240.0
#define RATE 44100.0
#define PROC_SECONDS 30.0  /* material per processor timing */
#define RUNS 3
#define CHAIN_RUNS 5       /* the full chain alone (4 s each) */

static int sink(void *user, const float *lr, size_t frames)
{
	double *acc = user;

	*acc += lr[0] + lr[2 * frames - 1];
	return 0;
}

/* The render's last step on the chain's output: 24-bit TPDF dither into
 * integers (what the render then packs and writes). */
struct dither_sink {
	struct chain_dither *d;
	int32_t q[2 * AUDIO_RENDER_BLOCK];
	double acc;
};

static int dither_sink(void *user, const float *lr, size_t frames)
{
	struct dither_sink *ds = user;

	chain_dither_process(ds->d, lr, ds->q, frames);
	ds->acc += ds->q[0] + ds->q[2 * frames - 1];
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

/* ---- settings by id, skipping what the table does not have ---- */

static bool has(const char *id)
{
	return chain_param_find(id) >= 0;
}

/* Sets id to the text value; 0, or -1 when the id or value is not taken. */
static int set(struct chain_settings *s, const char *id, const char *value)
{
	return has(id) && !chain_settings_set(s, id, value, NULL, 0) ? 0 : -1;
}

static int setf(struct chain_settings *s, const char *id, double v)
{
	char text[32];

	snprintf(text, sizeof(text), "%.6g", v);
	return set(s, id, text);
}

/* Every processor with a switch off; input gain gain_db. */
static void all_off(struct chain_settings *s, double gain_db)
{
	chain_settings_default(s);
	for (unsigned p = 0; p < chain_proc_count(); p++) {
		char id[64];

		snprintf(id, sizeof(id), "%s.on", chain_proc_ops_at(p)->name);
		set(s, id, "0");
	}
	setf(s, "gain.gain_db", gain_db);
}

/* ---- the processors' settings ---- */

/* Each returns 0 and a one-line note, or -1 when its parameters are not
 * in the table.  `music` is PROC_SECONDS of material for calibration. */
struct bench_proc {
	const char *name;
	double gain_db;
	int (*setup)(struct chain_settings *s, const float *music, int64_t frames,
		     char *note, size_t note_len);
};

static int setup_eq(struct chain_settings *s, const float *music, int64_t frames,
		    char *note, size_t note_len)
{
	static const double freq_hz[8] = { 40, 90, 200, 450, 1000, 2500, 6000, 12000 };
	int bands = 0;

	if (set(s, "eq.on", "1") && !has("eq.1.gain_db"))
		return -1;
	for (int k = 1; k <= 8; k++) {
		char id[48];

		snprintf(id, sizeof(id), "eq.%d.gain_db", k);
		if (setf(s, id, k % 2 ? 3.0 : -3.0))
			continue;
		snprintf(id, sizeof(id), "eq.%d.on", k);
		set(s, id, "1");
		snprintf(id, sizeof(id), "eq.%d.type", k);
		set(s, id, "bell");
		snprintf(id, sizeof(id), "eq.%d.freq_hz", k);
		setf(s, id, freq_hz[k - 1]);
		bands++;
	}
	if (!bands)
		return -1;
	snprintf(note, note_len, "%d bell bands, ±3 dB", bands);
	return 0;
}

/* Mean over the blocks of the processor's gain reduction with settings s. */
static double mean_gr(const struct chain_settings *s, const char *proc,
		      const float *music, int64_t frames)
{
	float l[AUDIO_RENDER_BLOCK], r[AUDIO_RENDER_BLOCK];
	float *const buf[2] = { l, r };
	struct chain *c = chain_new(RATE, AUDIO_RENDER_BLOCK, s, NULL);
	int p = chain_proc_find(proc);
	double sum = 0;
	int64_t blocks = 0;

	if (!c || p < 0) {
		chain_free(&c);
		return 0;
	}
	for (int64_t pos = 0; pos + AUDIO_RENDER_BLOCK <= frames; pos += AUDIO_RENDER_BLOCK) {
		for (int i = 0; i < AUDIO_RENDER_BLOCK; i++) {
			l[i] = music[2 * (pos + i)];
			r[i] = music[2 * (pos + i) + 1];
		}
		chain_process(c, buf, AUDIO_RENDER_BLOCK);
		sum += chain_gain_reduction_db(c, (unsigned)p);
		blocks++;
	}
	chain_free(&c);
	return blocks ? sum / (double)blocks : 0;
}

static int setup_comp(struct chain_settings *s, const float *music, int64_t frames,
		      char *note, size_t note_len)
{
	double lo = -60, hi = 0, th = -20, gr = 0;

	if (set(s, "comp.on", "1") || !has("comp.threshold_db"))
		return -1;
	/* the threshold that gives about 4 dB of gain reduction on average
	 * (10 s are enough to tell) */
	if (frames > (int64_t)(10 * RATE))
		frames = (int64_t)(10 * RATE);
	for (int it = 0; it < 10; it++) {
		th = 0.5 * (lo + hi);
		setf(s, "comp.threshold_db", th);
		gr = mean_gr(s, "comp", music, frames);
		if (gr > 4.0)
			lo = th;
		else
			hi = th;
	}
	snprintf(note, note_len, "threshold %.1f dB: %.1f dB mean GR", th, gr);
	return 0;
}

static int setup_mb(struct chain_settings *s, const float *music, int64_t frames,
		    char *note, size_t note_len)
{
	if (set(s, "mb.on", "1") || set(s, "mb.bands", "3"))
		return -1;
	snprintf(note, note_len, "3 bands, %.1f dB mean GR",
		 mean_gr(s, "mb", music, frames > (int64_t)(10 * RATE) ?
			 (int64_t)(10 * RATE) : frames));
	return 0;
}

static int setup_sat(struct chain_settings *s, const float *music, int64_t frames,
		     char *note, size_t note_len)
{
	if (set(s, "sat.on", "1"))
		return -1;
	if (!setf(s, "sat.drive_db", 6.0))
		snprintf(note, note_len, "drive 6 dB");
	else
		snprintf(note, note_len, "defaults");
	return 0;
}

static int setup_stereo(struct chain_settings *s, const float *music, int64_t frames,
			char *note, size_t note_len)
{
	if (set(s, "stereo.on", "1") || setf(s, "stereo.bass_mono_hz", 120.0))
		return -1;
	if (!setf(s, "stereo.width_pct", 120.0))
		snprintf(note, note_len, "bass mono below 120 Hz, width 120 %%");
	else
		snprintf(note, note_len, "bass mono below 120 Hz");
	return 0;
}

static int setup_limiter(struct chain_settings *s, const float *music, int64_t frames,
			 char *note, size_t note_len)
{
	if (set(s, "limiter.on", "1"))
		return -1;
	snprintf(note, note_len, "music +9 dB into -1 dBTP, %.1f dB mean GR",
		 mean_gr(s, "limiter", music, frames > (int64_t)(10 * RATE) ?
			 (int64_t)(10 * RATE) : frames));
	return 0;
}

/* The limiter at 4× oversampling, if it has the choice. */
static int limiter_4x(struct chain_settings *s)
{
	return set(s, "limiter.oversampling", "4x") &&
	       set(s, "limiter.oversampling", "4") ? -1 : 0;
}

static int setup_limiter_4x(struct chain_settings *s, const float *music,
			    int64_t frames, char *note, size_t note_len)
{
	if (limiter_4x(s))
		return -1;
	return setup_limiter(s, music, frames, note, note_len);
}

static const struct bench_proc procs[] = {
	{ "eq", 0.0, setup_eq },
	{ "comp", 0.0, setup_comp },
	{ "mb", 0.0, setup_mb },
	{ "sat", 0.0, setup_sat },
	{ "stereo", 0.0, setup_stereo },
	{ "limiter", 9.0, setup_limiter },
	{ "lim 4x", 9.0, setup_limiter_4x },
};

/* Best of RUNS: thread CPU seconds for chain_process() over the planar
 * material. */
static double time_chain(const struct chain_settings *s, const float *l_in,
			 const float *r_in, int64_t frames)
{
	float l[AUDIO_RENDER_BLOCK], r[AUDIO_RENDER_BLOCK];
	float *const buf[2] = { l, r };
	double best = HUGE_VAL;

	for (int run = 0; run < RUNS; run++) {
		struct chain *c = chain_new(RATE, AUDIO_RENDER_BLOCK, s, NULL);
		double t;

		if (!c)
			return NAN;
		t = test_clock_s(CLOCK_THREAD_CPUTIME_ID);
		for (int64_t pos = 0; pos < frames; pos += AUDIO_RENDER_BLOCK) {
			unsigned n = (unsigned)(frames - pos < AUDIO_RENDER_BLOCK ?
						frames - pos : AUDIO_RENDER_BLOCK);

			memcpy(l, l_in + pos, sizeof(float) * n);
			memcpy(r, r_in + pos, sizeof(float) * n);
			chain_process(c, buf, n);
		}
		t = test_clock_s(CLOCK_THREAD_CPUTIME_ID) - t;
		chain_free(&c);
		if (t < best)
			best = t;
	}
	return best;
}

/* `--set id=value` for every parameter of s away from its default. */
static void set_args(const struct chain_settings *s, char *out, size_t len)
{
	size_t used = 0;

	out[0] = '\0';
	for (unsigned i = 0; i < chain_param_count(); i++) {
		const struct chain_param_info *pi = chain_param_at(i);
		int w;

		if (s->value[i] == pi->param->def)
			continue;
		w = snprintf(out + used, len - used, " --set %s=%.9g", pi->id,
			     (double)s->value[i]);
		if (w < 0 || (size_t)w >= len - used)
			break;
		used += (size_t)w;
	}
}

/* Wall time of one run of a shell command; HUGE_VAL when it fails. */
static double time_cmd(const char *cmd, const char *out)
{
	double t;

	unlink(out);
	t = test_clock_s(CLOCK_MONOTONIC);
	if (system(cmd) != 0) {
		printf("  failed: %s\n", cmd);
		return HUGE_VAL;
	}
	return test_clock_s(CLOCK_MONOTONIC) - t;
}

static const char *find_ffmpeg(void)
{
	const char *f = getenv("FFMPEG");

	if (f && *f)
		return f;
	return system("command -v ffmpeg >/dev/null 2>&1") == 0 ? "ffmpeg" : NULL;
}

/* Only CPU `cpu` (-1: the one it runs on) for this process and what it
 * starts; returns that CPU or -1. */
static int pin_cpu(int cpu)
{
	cpu_set_t set;

	if (cpu < 0)
		cpu = sched_getcpu();
	if (cpu < 0)
		cpu = 0;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set) ? -1 : cpu;
}

/* ffmpeg's chains, in chain order, each after volume=9dB (the input gain of
 * ours, so that its limiter works as hard as ours): the three
 * filters (one equalizer band), and like for like with ours (eight bands).
 * Neither has a true-peak detector, a multiband or a stereo stage. */
static const struct {
	const char *name, *eq;
} ffmpeg_chains[] = {
	{ "volume,equalizer,acompressor,alimiter (the issue's three filters)",
	  "equalizer=f=1000:t=q:w=1:g=3," },
	{ "volume,equalizer x8,acompressor,alimiter (8 bands, as ours)",
	  "equalizer=f=40:t=q:w=1:g=3,equalizer=f=90:t=q:w=1:g=-3,"
	  "equalizer=f=200:t=q:w=1:g=3,equalizer=f=450:t=q:w=1:g=-3,"
	  "equalizer=f=1000:t=q:w=1:g=3,equalizer=f=2500:t=q:w=1:g=-3,"
	  "equalizer=f=6000:t=q:w=1:g=3,equalizer=f=12000:t=q:w=1:g=-3," },
};

/* ffmpeg_chains[which], in to out (24-bit WAV); opts go before -i. */
static void ffmpeg_cmd(char *cmd, size_t len, const char *ffmpeg, int which,
		       const char *opts, const char *in, const char *out)
{
	snprintf(cmd, len,
		 "'%s' -nostdin -hide_banner -loglevel error %s-i '%s' -af 'volume=9dB,%s"
		 "acompressor=threshold=-18dB:ratio=2:attack=10:release=200,"
		 "alimiter=limit=0.891:attack=5:release=100:level=false:latency=true' "
		 "-c:a pcm_s24le -y '%s'", ffmpeg, opts, in, ffmpeg_chains[which].eq, out);
}

int main(void)
{
	int64_t frames = (int64_t)(SECONDS * RATE);
	int64_t pframes = (int64_t)(PROC_SECONDS * RATE);
	float *buf = malloc(sizeof(float) * 2 * (size_t)frames);
	float *pl = malloc(sizeof(float) * (size_t)pframes);
	float *pr = malloc(sizeof(float) * (size_t)pframes);
	struct chain_settings s, full, base0, base9;
	double t, best = HUGE_VAL, acc = 0, cmd_s = HUGE_VAL;
	const char *termaster = getenv("TERMASTER"), *ffmpeg = find_ffmpeg();
	char dir[] = "/tmp/termaster-bench-XXXXXX";
	char in[256], out[256], cmd[8192], args[6144];
	cpu_set_t given;  /* the CPUs it may run on */
	int cpu;

	if (!buf || !pl || !pr || !mkdtemp(dir))
		return 1;
	if (sched_getaffinity(0, sizeof(given), &given))
		return 1;
	cpu = pin_cpu(-1);
	gen_music(buf, (size_t)frames, 2, RATE, 0.5, 7);
	for (int64_t i = 0; i < pframes; i++) {
		pl[i] = buf[2 * i];
		pr[i] = buf[2 * i + 1];
	}
	printf("termaster bench: %.0f s of 44.1 kHz stereo music-like signal (peak -6 dBFS), "
	       "pinned to CPU %d\n", SECONDS, cpu);

	/* 1: each processor */
	printf("\nper processor, ns of thread CPU time per stereo frame over %.0f s "
	       "(chain_process, blocks of %d, best of %d, minus the all-off chain):\n",
	       PROC_SECONDS, AUDIO_RENDER_BLOCK, RUNS);
	all_off(&base0, 0.0);
	all_off(&base9, 9.0);
	{
		double t0 = time_chain(&base0, pl, pr, pframes);
		double t9 = time_chain(&base9, pl, pr, pframes);

		printf("  %-8s %8.1f ns  (all processors off: input gain and "
		       "latency lines)\n", "all-off", t0 * 1e9 / (double)pframes);
		for (size_t k = 0; k < sizeof(procs) / sizeof(procs[0]); k++) {
			char note[128] = "";

			s = procs[k].gain_db ? base9 : base0;
			if (procs[k].setup(&s, buf, pframes, note, sizeof(note))) {
				printf("  %-8s %8s     (parameters not in the table)\n",
				       procs[k].name, "n/a");
				continue;
			}
			t = time_chain(&s, pl, pr, pframes);
			printf("  %-8s %8.1f ns  (%s)\n", procs[k].name,
			       (t - (procs[k].gain_db ? t9 : t0)) * 1e9 / (double)pframes,
			       note);
		}
	}

	/* the full chain: all but saturation, the limiter at 4x; in chain
	 * order, so that the compressor is calibrated behind the EQ */
	{
		char nt[128];

		all_off(&full, 9.0);
		setup_eq(&full, buf, pframes, nt, sizeof(nt));
		setup_comp(&full, buf, pframes, nt, sizeof(nt));
		setup_mb(&full, buf, pframes, nt, sizeof(nt));
		setup_stereo(&full, buf, pframes, nt, sizeof(nt));
		setup_limiter(&full, buf, pframes, nt, sizeof(nt));
		limiter_4x(&full);
	}

	/* 2: the full chain alone (one thread), wall and CPU time; then with
	 * the render's 24-bit TPDF dither on its output (the full
	 * chain ends in it) */
	set_args(&full, args, sizeof(args));
	printf("\nfull chain:%s\n", args);
	for (int dith = 0; dith < 2; dith++) {
		struct dither_sink ds = { .d = dith ? chain_dither_new(2, 24, 1, NULL) : NULL };
		double best_cpu = HUGE_VAL;

		best = HUGE_VAL;
		if (dith && !ds.d)
			return 1;
		for (int run = 0; run < CHAIN_RUNS; run++) {
			double c = test_clock_s(CLOCK_THREAD_CPUTIME_ID);

			t = test_clock_s(CLOCK_MONOTONIC);
			if (dith)
				audio_render_run(buf, frames, RATE, &full, dither_sink, &ds);
			else
				audio_render_run(buf, frames, RATE, &full, sink, &acc);
			t = test_clock_s(CLOCK_MONOTONIC) - t;
			c = test_clock_s(CLOCK_THREAD_CPUTIME_ID) - c;
			if (t < best)
				best = t;
			if (c < best_cpu)
				best_cpu = c;
		}
		printf("  %s, best of %d: %.3f s = %.0f x realtime, %.1f ns/frame; "
		       "its CPU time %.3f s = %.0f x\n", dith ?
		       "chain and 24-bit TPDF dither (into memory)" :
		       "chain alone (audio_render_run)", CHAIN_RUNS, best,
		       SECONDS / best, best * 1e9 / (double)frames, best_cpu,
		       SECONDS / best_cpu);
		acc += ds.acc;
		chain_dither_free(&ds.d);
	}

	/* 3: the command, and ffmpeg on the same file: on the one CPU, then
	 * on all of them (the render splits its chain over two threads) */
	snprintf(in, sizeof(in), "%s/in.wav", dir);
	snprintf(out, sizeof(out), "%s/out.wav", dir);
	if (termaster && write_wav(in, buf, frames) == 0) {
		char tcmd[8192];

		snprintf(tcmd, sizeof(tcmd), "'%s' render '%s' -o '%s'%s --quiet",
			 termaster, in, out, args);
		if (!ffmpeg)
			printf("  ffmpeg: not found (FFMPEG unset and none on PATH), skipped\n");
		for (int all = 0; all < 2; all++) {
			/* the commands of a setting, timed in RUNS interleaved
			 * rounds (termaster, then each ffmpeg), best of each: the
			 * VM's speed drifts, and a round sees one speed */
			enum { NF = sizeof(ffmpeg_chains) / sizeof(ffmpeg_chains[0]) };
			double ff[NF][2];

			if (all && sched_setaffinity(0, sizeof(given), &given))
				break;
			cmd_s = HUGE_VAL;
			for (size_t w = 0; w < NF; w++)
				ff[w][0] = ff[w][1] = HUGE_VAL;
			for (int run = 0; run < RUNS; run++) {
				t = time_cmd(tcmd, out);
				if (t < cmd_s)
					cmd_s = t;
				/* ffmpeg one-threaded, and on all CPUs also at
				 * its default threading */
				for (size_t w = 0; ffmpeg && w < NF; w++)
					for (int thr = 0; thr < 1 + all; thr++) {
						ffmpeg_cmd(cmd, sizeof(cmd), ffmpeg, (int)w,
							   thr ? "" : "-threads 1 -filter_threads 1 ",
							   in, out);
						t = time_cmd(cmd, out);
						if (t < ff[w][thr])
							ff[w][thr] = t;
					}
			}
			printf("  %s (%d interleaved rounds, best of each):\n", all ?
			       "on every CPU the bench was given" : "pinned to one CPU", RUNS);
			if (cmd_s < HUGE_VAL)
				printf("    termaster render (decode, chain, dither, write 24-bit "
				       "WAV, measure): %.3f s = %.0f x realtime\n",
				       cmd_s, SECONDS / cmd_s);
			for (size_t w = 0; ffmpeg && w < NF; w++) {
				double best_ff = HUGE_VAL;

				printf("    ffmpeg -af %s:\n", ffmpeg_chains[w].name);
				for (int thr = 0; thr < 1 + all; thr++) {
					if (ff[w][thr] < HUGE_VAL)
						printf("      %s: %.3f s = %.0f x realtime\n",
						       thr ? "default threads" : "-threads 1",
						       ff[w][thr], SECONDS / ff[w][thr]);
					if (ff[w][thr] < best_ff)
						best_ff = ff[w][thr];
				}
				if (best_ff < HUGE_VAL && cmd_s < HUGE_VAL)
					printf("      ratio of times, termaster render / this "
					       "ffmpeg (its faster): %.2f\n", cmd_s / best_ff);
			}
		}
		if (pin_cpu(cpu) < 0)
			printf("  (could not pin to CPU %d again)\n", cpu);

		/* 4: a loudness target */
		snprintf(cmd, sizeof(cmd), "'%s' render '%s' -o '%s'%s --target-lufs -14 "
			 "--max-gr-db 24 >'%s/target.txt'", termaster, in, out, args, dir);
		unlink(out);
		t = test_clock_s(CLOCK_MONOTONIC);
		if (system(cmd) == 0) {
			char line[512];
			FILE *f;

			t = test_clock_s(CLOCK_MONOTONIC) - t;
			snprintf(line, sizeof(line), "%s/target.txt", dir);
			f = fopen(line, "r");
			printf("\nrender --target-lufs -14 (same chain): %.3f s\n", t);
			while (f && fgets(line, sizeof(line), f))
				printf("  %s", line);
			if (f)
				fclose(f);
			snprintf(line, sizeof(line), "%s/target.txt", dir);
			unlink(line);
		} else {
			printf("\nrender --target-lufs -14: failed\n");
		}
		unlink(out);
		unlink(in);
	}
	rmdir(dir);

	/* 5: callback cost */
	{
		const unsigned block = 256;
		const double rate = 48000;
		int64_t n = (int64_t)(30 * rate);
		float *m = malloc(sizeof(float) * 2 * (size_t)n);
		float *o = malloc(sizeof(float) * 2 * block);
		struct audio_engine *e;
		double sum = 0, worst = 0;
		int err, blocks = 0;

		chain_settings_default(&s);
		chain_settings_assign(&s, "gain.gain_db=9", NULL, 0);  /* the limiter works */
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
			t = test_clock_s(CLOCK_MONOTONIC);
			audio_engine_process(e, o, block);
			t = test_clock_s(CLOCK_MONOTONIC) - t;
			sum += t;
			if (t > worst)
				worst = t;
			blocks++;
			audio_engine_tap_read(e, tap, block);
		}
		printf("\nengine callback (default chain, gain +9 dB), %u frames at 48 kHz "
		       "(budget %.0f us): mean %.1f us (%.2f %%), worst %.1f us (%.2f %%)\n",
		       block, block / rate * 1e6, sum / blocks * 1e6,
		       sum / blocks / (block / rate) * 100, worst * 1e6,
		       worst / (block / rate) * 100);
		audio_engine_free(&e);
		free(m);
		free(o);
	}
	free(buf);
	free(pl);
	free(pr);
	(void)acc;
	return 0;
}

/*
 * termaster — the offline driver (see render.h).
 *
 * Data flow of audio_render_file():
 *
 *   clip ─▶ chain (fixed blocks of AUDIO_RENDER_BLOCK, latency dropped,
 *           tail flushed) ─▶ libsamplerate (only when the rate changes)
 *        ─▶ true-peak guard (only after libsamplerate, latency dropped,
 *           tail flushed)
 *        ─▶ dither/quantise (integer) or as-is (float)
 *        ─▶ packed here into the file's bytes (WAV, AIFF: pack()) and
 *           written by libsndfile in runs of 1 MB (sf_write_raw()), or
 *           converted by libsndfile (FLAC); temporary file in the target
 *           folder
 *        └▶ refs_analyser (the very samples written, as floats)
 *   then fsync, rename into place, fsync the folder.
 *
 * Each block's chain runs in two stages, then the writer, shared by two
 * threads through a ring of blocks (run_chain_piped()); the split between
 * the stages is placed from the time the first blocks took
 * (cr_calibrate()); the bytes are the same as with one thread and any
 * split.  The input may still be being decoded (opts' input_wait): the
 * chain then waits for the frames it needs.  While the file is written
 * its pages are sent to the disk (writeback_start()), so the fsync at the
 * end has little left to do.  The analyser takes the true
 * peak from chain/truepeak.c's libebur128-equivalent meter
 * (REFS_ANALYSER_OWN_TRUE_PEAK): libebur128's reading to the last bit at
 * a third of its cost.
 *
 * audio_render_find_gain() runs the same pipeline without the file
 * (render_pass() with no SNDFILE), so what it measures is what
 * audio_render_file() then writes, sample for sample.
 *
 * Everything here is deterministic: fixed block sizes, a fixed dither seed,
 * no time stamps in the file (libsndfile's PEAK chunk carries one, so it is
 * turned off).
 */
#define _GNU_SOURCE 1  /* mkstemps, renameat2 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <samplerate.h>
#include <sndfile.h>

#if defined(__x86_64__) || defined(__i386__) || defined(_M_X64)
#include <xmmintrin.h>
#define TM_HAVE_SSE_CSR 1
#endif

#include "audio/clip.h"
#include "audio/render.h"
#include "chain/chain.h"
#include "chain/dither.h"
#include "refs/loudness.h"

/* Fixed dither seed: the same session and input give the same bytes. */
#define RENDER_DITHER_SEED 0x7e4d1a5bu

/* Progress is reported at most this often (seconds of wall time). */
#define RENDER_PROGRESS_INTERVAL 0.1

/* WAV data chunks are limited to 4 GiB; beyond that write RF64. */
#define RENDER_WAV_MAX_BYTES 4000000000.0

static void set_msg(char *msg, size_t msg_len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void set_msg(char *msg, size_t msg_len, const char *fmt, ...)
{
	va_list ap;

	if (!msg || !msg_len)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, msg_len, fmt, ap);
	va_end(ap);
}

/* ---- denormals ---- */

/*
 * Flush denormals to zero while rendering, as the audio callback does
 * (libebur128 TURN_ON_FTZ: _mm_setcsr(_mm_getcsr() | 0x8040), i.e. FTZ bit
 * 15 and DAZ bit 6 of MXCSR; AArch64: FZ bit 24 of FPCR).  The old mode is
 * restored afterwards so a worker thread is left as it was found.
 */
static unsigned long ftz_enable(void)
{
#if defined(TM_HAVE_SSE_CSR)
	unsigned int old = _mm_getcsr();

	_mm_setcsr(old | 0x8040);
	return old;
#elif defined(__aarch64__)
	unsigned long old;

	__asm__ __volatile__("mrs %0, fpcr" : "=r"(old));
	__asm__ __volatile__("msr fpcr, %0" : : "r"(old | (1UL << 24)));
	return old;
#else
	return 0;
#endif
}

static void ftz_restore(unsigned long old)
{
#if defined(TM_HAVE_SSE_CSR)
	_mm_setcsr((unsigned int)old);
#elif defined(__aarch64__)
	__asm__ __volatile__("msr fpcr, %0" : : "r"(old));
#else
	(void)old;
#endif
}

/* ---- the chain over a whole clip ---- */

/* What run_chain() saw of the limiter (NULL: nothing asked). */
struct run_stats {
	double gr_max_db;   /* largest reduction of any block */
	double gr_e_sum;    /* Σ energy × reduction over the blocks */
	double e_sum;       /* Σ energy */
	float *gr_blocks;   /* reduction of each block above the gate (run_chain
			     * allocates it, the caller frees it) */
	size_t n_blocks;
};

/* Blocks quieter than this mean square (-70 dBFS) are not counted in the
 * peak gain reduction: silence is not music the limiter works on. */
#define RENDER_GR_GATE 1e-7

static int cmp_float(const void *a, const void *b)
{
	float x = *(const float *)a, y = *(const float *)b;

	return (x > y) - (x < y);
}

/* The reduction exceeded in no more than AUDIO_RENDER_GR_PEAK_SHARE of the
 * counted blocks (sorts them). */
static double gr_peak(struct run_stats *st)
{
	size_t k;

	if (!st->n_blocks)
		return 0.0;
	qsort(st->gr_blocks, st->n_blocks, sizeof(float), cmp_float);
	k = (size_t)ceil((1.0 - AUDIO_RENDER_GR_PEAK_SHARE) * (double)st->n_blocks);
	return st->gr_blocks[k ? k - 1 : 0];
}

/*
 * One run of the chain over a clip, block by block: run_chain() does each
 * block's steps in turn, run_chain_piped() spreads them over two threads;
 * the steps and their order per processor are the same, so are the
 * floats.
 *
 * State glossary:
 *   c          the chain, built from the settings
 *   latency    chain_latency(): input frame i comes out at i + latency
 *   total      frames + latency: the input's frames, then silence
 *   lim        the limiter's index (for the statistics), or -1
 *   split      processors 0 … split - 1 are stage 1 (cr_stage1()), the
 *              rest stage 2 (cr_stage2()): chain_process_range()
 *   wait       NULL, or the input is still being decoded: frames of lr
 *              below `ready` may be read, wait(wait_user, k) says when
 *              k may (struct audio_render_opts: input_wait)
 *   ring       0, or lr holds `ring` frames, frame f at lr + 2 (f % ring),
 *              and release(wait_user, f) gives back the frames below f
 *              (input_ring, input_release)
 */
struct chain_run {
	const float *lr;
	int64_t frames, latency, total;
	struct chain *c;
	int lim;
	unsigned split;
	struct run_stats *st;
	int64_t (*wait)(void *user, int64_t frames);
	void (*release)(void *user, int64_t frames);
	void *wait_user;
	int64_t ready, ring;
};

/* Builds the chain (and st's block list).  0 or AUDIO_RENDER_ERROR_*. */
static int cr_open(struct chain_run *cr, const float *lr, int64_t frames,
		   double rate, const struct chain_settings *s,
		   struct run_stats *st)
{
	int err = 0, split = chain_proc_find("mb");

	memset(cr, 0, sizeof(*cr));
	if (frames < 0 || (frames > 0 && !lr))
		return AUDIO_RENDER_ERROR_CHAIN;
	cr->lr = lr;
	cr->frames = frames;
	cr->ready = frames;
	cr->st = st;
	cr->lim = chain_proc_find("limiter");
	/* the processors before the multiband in stage 1, until
	 * cr_calibrate() has timed them (with one thread it does not
	 * matter) */
	cr->split = split > 0 ? (unsigned)split : 0;
	cr->c = chain_new(rate, AUDIO_RENDER_BLOCK, s, &err);
	if (!cr->c)
		return err == CHAIN_ERROR_NOMEM ? AUDIO_RENDER_ERROR_NOMEM
						: AUDIO_RENDER_ERROR_CHAIN;
	cr->latency = chain_latency(cr->c);
	cr->total = frames + cr->latency;
	if (st && cr->lim >= 0) {
		st->gr_blocks = malloc(sizeof(float) *
				       (size_t)(cr->total / AUDIO_RENDER_BLOCK + 1));
		if (!st->gr_blocks) {
			chain_free(&cr->c);
			return AUDIO_RENDER_ERROR_NOMEM;
		}
	}
	return 0;
}

static void cr_close(struct chain_run *cr)
{
	chain_free(&cr->c);
}

/* Blocks of the run, and the frames of the one at frame pos. */
static int64_t cr_blocks(const struct chain_run *cr)
{
	return (cr->total + AUDIO_RENDER_BLOCK - 1) / AUDIO_RENDER_BLOCK;
}

static unsigned cr_len(const struct chain_run *cr, int64_t pos)
{
	return (unsigned)(cr->total - pos < AUDIO_RENDER_BLOCK ?
			  cr->total - pos : AUDIO_RENDER_BLOCK);
}

/* Reads the input through o's input_wait() and ring (see struct
 * chain_run); o NULL: the clip is whole. */
static void cr_input(struct chain_run *cr, const struct audio_render_opts *o)
{
	cr->wait = o ? o->input_wait : NULL;
	cr->wait_user = o ? o->input_user : NULL;
	cr->ready = cr->wait ? 0 : cr->frames;
	cr->ring = cr->wait ? o->input_ring : 0;
	cr->release = cr->ring ? o->input_release : NULL;
}

/* Stage 1 of the block at frame pos: the input's frames (then silence)
 * into left/right, through processors 0 … split - 1.  0, or -1 when the
 * input failed (wait()). */
static int cr_stage1(struct chain_run *cr, int64_t pos, float *left,
		     float *right, unsigned n)
{
	float *const buf[2] = { left, right };
	unsigned in = pos >= cr->frames ? 0 :
		      cr->frames - pos < n ? (unsigned)(cr->frames - pos) : n;
	unsigned i;

	if (in && pos + in > cr->ready) {
		/* the decoder is behind: it runs ~10× as fast as the chain,
		 * so this sleeps only near the start */
		int64_t r = cr->wait(cr->wait_user, pos + in);

		if (r < pos + in)
			return -1;
		cr->ready = r;
	}
	for (i = 0; i < in;) {
		/* up to the ring's end, then from its start */
		int64_t at = cr->ring ? (pos + i) % cr->ring : pos + i;
		unsigned run = cr->ring && cr->ring - at < in - i ?
			       (unsigned)(cr->ring - at) : in - i;
		const float *x = cr->lr + 2 * at;

		for (unsigned k = 0; k < run; k++, i++) {
			left[i] = x[2 * k];
			right[i] = x[2 * k + 1];
		}
	}
	if (in && cr->release)
		cr->release(cr->wait_user, pos + in);
	for (; i < n; i++) {
		left[i] = 0.0f;
		right[i] = 0.0f;
	}
	if (cr->split)
		chain_process_range(cr->c, buf, n, 0, cr->split);
	return 0;
}

/* Stage 2: the other processors; returns the limiter's reduction of the
 * block (0 without statistics). */
static float cr_stage2(struct chain_run *cr, float *left, float *right,
		       unsigned n)
{
	float *const buf[2] = { left, right };

	chain_process_range(cr->c, buf, n, cr->split, chain_proc_count());
	return cr->st && cr->lim >= 0 ?
	       chain_gain_reduction_db(cr->c, (unsigned)cr->lim) : 0.0f;
}

/*
 * The block at frame pos, processed, with the limiter's reduction gr:
 * statistics, then its frames from index `latency` on, interleaved into
 * out (AUDIO_RENDER_BLOCK frames), to the sink.  The sink sees exactly
 * `frames` frames in all.  Returns the sink's value.
 */
static int cr_finish(struct chain_run *cr, int64_t pos, const float *left,
		     const float *right, unsigned n, float gr_f, float *out,
		     audio_render_sink sink, void *user)
{
	struct run_stats *st = cr->st;
	unsigned skip = pos >= cr->latency ? 0 :
			(unsigned)(cr->latency - pos < n ? cr->latency - pos : n);
	unsigned m = n - skip, i;

	if (st && cr->lim >= 0 && m) {
		/* the largest reduction applied to this block's output,
		 * weighted by that output's energy */
		double gr = gr_f;
		double e = 0;

		for (i = skip; i < n; i++)
			e += (double)left[i] * left[i] +
			     (double)right[i] * right[i];
		if (gr > st->gr_max_db)
			st->gr_max_db = gr;
		st->gr_e_sum += e * gr;
		st->e_sum += e;
		if (e > RENDER_GR_GATE * 2.0 * m)
			st->gr_blocks[st->n_blocks++] = (float)gr;
	}
	if (!m)
		return 0;
	for (i = 0; i < m; i++) {
		out[2 * i] = left[skip + i];
		out[2 * i + 1] = right[skip + i];
	}
	return sink(user, out, m);
}

/* The blocks of cr from block `first` on, one after the other, on this
 * thread. */
static int cr_run(struct chain_run *cr, int64_t first, audio_render_sink sink,
		  void *user)
{
	float left[AUDIO_RENDER_BLOCK], right[AUDIO_RENDER_BLOCK];
	float out[2 * AUDIO_RENDER_BLOCK];
	unsigned long csr = ftz_enable();
	int ret = AUDIO_RENDER_OK;

	for (int64_t pos = first * AUDIO_RENDER_BLOCK; pos < cr->total;
	     pos += AUDIO_RENDER_BLOCK) {
		unsigned n = cr_len(cr, pos);
		float gr;

		if (cr_stage1(cr, pos, left, right, n)) {
			ret = AUDIO_RENDER_ERROR_INPUT;
			break;
		}
		gr = cr_stage2(cr, left, right, n);
		if (cr_finish(cr, pos, left, right, n, gr, out, sink, user)) {
			ret = AUDIO_RENDER_ERROR_CANCELLED;
			break;
		}
	}
	ftz_restore(csr);
	return ret;
}

static double mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/*
 * Blocks 0 … blocks - 1 of cr on this thread, as cr_run() does them but
 * one processor at a time (chain_process_range() over each alone: the
 * same floats), timed; then sets cr->split where it best halves the time
 * of the processors: the two stages then cost about the same, and the
 * longer one is what a render on two threads cannot go below (see
 * run_chain_piped()).  The limiter stays in stage 2 (its reduction is read
 * there).  The time measured only places the split; the bytes do not
 * depend on it.  Returns as cr_run().
 */
static int cr_calibrate(struct chain_run *cr, int64_t blocks, float *left,
			float *right, float *out, audio_render_sink sink,
			void *user)
{
	float *const buf[2] = { left, right };
	unsigned np = chain_proc_count(), split = cr->split;
	unsigned hi = cr->st && cr->lim >= 0 ? (unsigned)cr->lim : np;
	double cost[64] = { 0 }, total = 0, a = 0, best = HUGE_VAL;

	if (np > 64)
		np = 64;  /* then timed as one with the last */
	for (int64_t k = 0; k < blocks; k++) {
		int64_t pos = k * AUDIO_RENDER_BLOCK;
		unsigned n = cr_len(cr, pos);
		float gr;

		cr->split = 0;  /* the input only */
		if (cr_stage1(cr, pos, left, right, n)) {
			cr->split = split;
			return AUDIO_RENDER_ERROR_INPUT;
		}
		for (unsigned p = 0; p < np; p++) {
			double t = mono_s();

			chain_process_range(cr->c, buf, n, p,
					    p + 1 < np ? p + 1 : chain_proc_count());
			cost[p] += mono_s() - t;
		}
		gr = cr->st && cr->lim >= 0 ?
		     chain_gain_reduction_db(cr->c, (unsigned)cr->lim) : 0.0f;
		if (cr_finish(cr, pos, left, right, n, gr, out, sink, user)) {
			cr->split = split;
			return AUDIO_RENDER_ERROR_CANCELLED;
		}
	}
	for (unsigned p = 0; p < np; p++)
		total += cost[p];
	for (unsigned s = 1; s <= hi && s <= np; s++) {
		double m;

		a += cost[s - 1];
		m = a > total - a ? a : total - a;
		if (m < best) {
			best = m;
			split = s;
		}
	}
	cr->split = split;
	return AUDIO_RENDER_OK;
}

static int run_chain(const float *lr, int64_t frames, double rate,
		     const struct chain_settings *s, audio_render_sink sink,
		     void *user, struct run_stats *st)
{
	struct chain_run cr;
	int ret;

	if (!sink)
		return AUDIO_RENDER_ERROR_CHAIN;
	ret = cr_open(&cr, lr, frames, rate, s, st);
	if (ret)
		return ret;
	ret = cr_run(&cr, 0, sink, user);
	cr_close(&cr);
	return ret;
}

int audio_render_run(const float *lr, int64_t frames, double rate,
		     const struct chain_settings *s, audio_render_sink sink,
		     void *user)
{
	return run_chain(lr, frames, rate, s, sink, user, NULL);
}

/* ---- options and formats ---- */

void audio_render_opts_default(struct audio_render_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->bits = 24;
	o->dither = AUDIO_RENDER_DITHER_TPDF;
	chain_settings_default(&o->settings);
}

static const char *path_ext(const char *path)
{
	const char *slash = strrchr(path, '/');
	const char *base = slash ? slash + 1 : path;
	const char *dot = strrchr(base, '.');

	return dot && dot != base ? dot : NULL;
}

int audio_render_format_for(const char *path)
{
	const char *ext = path ? path_ext(path) : NULL;

	if (!ext)
		return 0;
	if (!strcasecmp(ext, ".wav"))
		return SF_FORMAT_WAV;
	if (!strcasecmp(ext, ".aiff") || !strcasecmp(ext, ".aif"))
		return SF_FORMAT_AIFF;
	if (!strcasecmp(ext, ".flac"))
		return SF_FORMAT_FLAC;
	return 0;
}

static int opts_bits(const struct audio_render_opts *o)
{
	return o->bits ? o->bits : 24;
}

const char *audio_render_format_name(const struct audio_render_opts *o)
{
	static const char *const names[3][3] = {
		{ "WAV 16-bit", "WAV 24-bit", "WAV 32-bit float" },
		{ "AIFF 16-bit", "AIFF 24-bit", "AIFF 32-bit float" },
		{ "FLAC 16-bit", "FLAC 24-bit", NULL },
	};
	int fmt = audio_render_format_for(o->out_path);
	int bits = opts_bits(o);
	int f, b;

	switch (fmt) {
	case SF_FORMAT_WAV: f = 0; break;
	case SF_FORMAT_AIFF: f = 1; break;
	case SF_FORMAT_FLAC: f = 2; break;
	default: return NULL;
	}
	switch (bits) {
	case 16: b = 0; break;
	case 24: b = 1; break;
	case 32: b = 2; break;
	default: return NULL;
	}
	return names[f][b];
}

/* Folder and file name of a path; dir gets "." when there is no slash. */
static int split_path(const char *path, char *dir, size_t dir_len,
		      const char **base)
{
	const char *slash = strrchr(path, '/');
	size_t n;

	if (!slash) {
		*base = path;
		return snprintf(dir, dir_len, ".") >= (int)dir_len ? -1 : 0;
	}
	*base = slash + 1;
	n = (size_t)(slash - path);
	if (n == 0)
		n = 1;  /* "/x.wav": the root */
	if (n >= dir_len)
		return -1;
	memcpy(dir, path, n);
	dir[n] = '\0';
	return 0;
}

/* Canonical absolute path of `path`, which need not exist (its folder
 * must).  0 on success. */
static int canonical(const char *path, char *out, size_t out_len)
{
	char dir[PATH_MAX], rdir[PATH_MAX];
	const char *base;

	if (realpath(path, rdir))
		return snprintf(out, out_len, "%s", rdir) >= (int)out_len ? -1 : 0;
	if (split_path(path, dir, sizeof(dir), &base) || !realpath(dir, rdir))
		return -1;
	return snprintf(out, out_len, "%s/%s", strcmp(rdir, "/") ? rdir : "",
			base) >= (int)out_len ? -1 : 0;
}

/* Is `out` the existing file `in`?  Same inode (hard links, symbolic
 * links, other spellings), or the same canonical path. */
static bool same_file(const char *out, const char *in)
{
	struct stat so, si;
	char co[PATH_MAX], ci[PATH_MAX];

	if (stat(in, &si))
		return false;  /* no such input (a generated clip's name) */
	if (!stat(out, &so) && so.st_dev == si.st_dev && so.st_ino == si.st_ino)
		return true;
	return !canonical(out, co, sizeof(co)) && !canonical(in, ci, sizeof(ci)) &&
	       !strcmp(co, ci);
}

/* The options that shape the samples: bits, rate, dither. */
static int check_signal(const struct audio_render_opts *o, char *msg,
			size_t msg_len)
{
	int bits = opts_bits(o);

	if (bits != 16 && bits != 24 && bits != 32) {
		set_msg(msg, msg_len, "%d bits is not supported: use 16, 24 "
			"(integer) or 32 (float)", bits);
		return AUDIO_RENDER_ERROR_FORMAT;
	}
	if (o->rate != 0 && !(o->rate >= AUDIO_CLIP_MIN_RATE &&
			      o->rate <= AUDIO_CLIP_MAX_RATE)) {
		set_msg(msg, msg_len, "sample rate %g Hz is outside %d … %d Hz",
			o->rate, AUDIO_CLIP_MIN_RATE, AUDIO_CLIP_MAX_RATE);
		return AUDIO_RENDER_ERROR_FORMAT;
	}
	if ((unsigned)o->dither > AUDIO_RENDER_DITHER_SHAPED) {
		set_msg(msg, msg_len, "unknown dither %d", (int)o->dither);
		return AUDIO_RENDER_ERROR_FORMAT;
	}
	return AUDIO_RENDER_OK;
}

static int check_opts(const struct audio_render_opts *o, const char *clip_path,
		      char *msg, size_t msg_len)
{
	const char *out = o->out_path;
	const char *ext;
	struct stat st;
	int fmt, err, bits = opts_bits(o);

	if (!out || !*out) {
		set_msg(msg, msg_len, "no output file given");
		return AUDIO_RENDER_ERROR_FORMAT;
	}
	fmt = audio_render_format_for(out);
	if (!fmt) {
		ext = path_ext(out);
		if (ext)
			set_msg(msg, msg_len, "unsupported output format \"%s\": "
				"use .wav, .aiff, .aif or .flac", ext);
		else
			set_msg(msg, msg_len, "no file extension to tell the "
				"output format: use .wav, .aiff, .aif or .flac");
		return AUDIO_RENDER_ERROR_FORMAT;
	}
	err = check_signal(o, msg, msg_len);
	if (err)
		return err;
	if (fmt == SF_FORMAT_FLAC && bits == 32) {
		set_msg(msg, msg_len, "FLAC has no 32-bit float: use 16 or 24 "
			"bits, or .wav/.aiff for float");
		return AUDIO_RENDER_ERROR_FORMAT;
	}
	if ((o->in_path && same_file(out, o->in_path)) ||
	    (clip_path && same_file(out, clip_path))) {
		set_msg(msg, msg_len, "is the input file: choose another "
			"output name");
		return AUDIO_RENDER_ERROR_SAME_FILE;
	}
	if (!stat(out, &st)) {
		if (S_ISDIR(st.st_mode)) {
			set_msg(msg, msg_len, "is a directory");
			return AUDIO_RENDER_ERROR_WRITE;
		}
		if (!o->force) {
			set_msg(msg, msg_len, "exists (force to replace it)");
			return AUDIO_RENDER_ERROR_EXISTS;
		}
	} else if (!lstat(out, &st) && !o->force) {
		/* a dangling symbolic link: still something in the way */
		set_msg(msg, msg_len, "exists (force to replace it)");
		return AUDIO_RENDER_ERROR_EXISTS;
	}
	return AUDIO_RENDER_OK;
}

int audio_render_check(const struct audio_render_opts *o, char *msg,
		       size_t msg_len)
{
	return check_opts(o, NULL, msg, msg_len);
}

/* ---- the true-peak guard after a rate conversion ---- */

/*
 * libsamplerate reconstructs the waveform at the new rate, and a
 * band-limited waveform sampled elsewhere can peak higher than the limiter
 * allowed at the old rate (measured: a -2 dBTP ceiling read -1.65 dBTP
 * after 48 → 44.1 kHz and 44.1 → 48 kHz).  The guard is a second instance
 * of the chain's own limiter (chain_limiter_ops, driven through its ops as
 * chain.c drives it) at the output rate, with the chain's ceiling, a short
 * fixed release (AUDIO_RENDER_GUARD_RELEASE_MS, no auto release) and its
 * other parameters at their defaults.  Its reductions are rare and small:
 * at most 0.2–0.6 dB, on isolated peaks, on music limited 8 dB deep.  It
 * runs only when the rate changes and the chain's limiter is on; below
 * the ceiling it passes the samples unchanged, delayed by its latency,
 * which is dropped.
 *
 * State glossary:
 *   p          the limiter: ops, private state allocated here, initialised
 *              at the output rate for blocks of up to WR_CHUNK frames
 *   lat        its latency (lookahead), frames
 *   skip       output frames still to drop: lat at the start, so that the
 *              output is aligned with its input
 *   in         frames fed so far
 *   plane      planar scratch, WR_CHUNK frames per channel
 *   out        interleaved scratch, WR_CHUNK frames
 *   gr_max_db  the largest reduction it applied
 */

#define WR_CHUNK 4096  /* frames per conversion step */

struct guard {
	struct chain_proc p;
	unsigned lat;
	int64_t skip;
	int64_t in;
	float *plane[CHAIN_CHANNELS];
	float *out;
	double gr_max_db;
};

/* Index of a parameter in a processor's own table, or -1. */
static int local_param(const struct chain_proc_ops *ops, const char *id)
{
	for (unsigned k = 0; k < ops->n_params; k++)
		if (!strcmp(ops->params[k].id, id))
			return (int)k;
	return -1;
}

static void guard_free(struct guard **gp)
{
	struct guard *g;

	if (!gp || !*gp)
		return;
	g = *gp;
	if (g->p.priv) {
		if (g->p.ops->destroy)
			g->p.ops->destroy(&g->p);
		free(g->p.priv);
	}
	for (unsigned ch = 0; ch < CHAIN_CHANNELS; ch++)
		free(g->plane[ch]);
	free(g->out);
	free(g);
	*gp = NULL;
}

/* A guard at `rate` holding ceiling_dbtp.  NULL with *err an
 * AUDIO_RENDER_ERROR_* on failure. */
static struct guard *guard_new(double rate, double ceiling_dbtp, int *err)
{
	const struct chain_proc_ops *ops = &chain_limiter_ops;
	struct guard *g = calloc(1, sizeof(*g));
	int e, ci = local_param(ops, "ceiling_dbtp");
	int ri = local_param(ops, "release_ms");
	int ai = local_param(ops, "auto_release");  /* a fixed release */

	*err = AUDIO_RENDER_ERROR_NOMEM;
	if (!g)
		return NULL;
	if (ci < 0) {
		*err = AUDIO_RENDER_ERROR_CHAIN;  /* a limiter without a ceiling */
		goto fail;
	}
	g->p.ops = ops;
	g->p.rate = rate;
	g->p.max_frames = WR_CHUNK;
	g->p.priv = calloc(1, ops->priv_size ? ops->priv_size : 1);
	if (!g->p.priv)
		goto fail;
	e = ops->init(&g->p, rate, WR_CHUNK);
	if (e) {
		/* init cleans up after itself (chain.c does the same) */
		free(g->p.priv);
		g->p.priv = NULL;
		*err = e == CHAIN_ERROR_NOMEM ? AUDIO_RENDER_ERROR_NOMEM :
						AUDIO_RENDER_ERROR_CHAIN;
		goto fail;
	}
	for (unsigned k = 0; k < ops->n_params; k++) {
		const struct chain_param *pa = &ops->params[k];
		double v = pa->def;

		if ((int)k == ci)
			v = ceiling_dbtp;
		else if ((int)k == ri)
			v = AUDIO_RENDER_GUARD_RELEASE_MS;
		else if ((int)k == ai)
			v = 0.0;
		v = v < pa->min ? pa->min : v > pa->max ? pa->max : v;
		ops->set_param(&g->p, k, (float)v, 1);
	}
	g->lat = ops->latency(&g->p);
	g->skip = g->lat;
	for (unsigned ch = 0; ch < CHAIN_CHANNELS; ch++) {
		g->plane[ch] = malloc(sizeof(float) * WR_CHUNK);
		if (!g->plane[ch])
			goto fail;
	}
	g->out = malloc(sizeof(float) * 2 * WR_CHUNK);
	if (!g->out)
		goto fail;
	*err = AUDIO_RENDER_OK;
	return g;
fail:
	guard_free(&g);
	return NULL;
}

/* ---- the writer: sink of audio_render_run() ---- */

struct writer {
	SNDFILE *sf;                 /* NULL: measure only */
	int fd;                      /* sf's file, or -1 */
	int64_t unsynced;            /* bytes written since the last
				      * writeback_start() */
	int bits;
	struct chain_dither *dither;
	double lsb_scale;            /* 2^(bits-1) */
	SRC_STATE *src;
	double ratio;
	struct guard *guard;         /* after src, when the limiter is on */
	float *src_out;              /* WR_CHUNK frames */
	int32_t *ibuf;               /* WR_CHUNK frames */
	float *fbuf;                 /* WR_CHUNK frames: what ibuf holds, as float */
	/* WAV, RF64, AIFF: the data chunk's bytes packed here (pack())
	 * and handed to sf_write_raw() RENDER_RAW_BYTES at a time; NULL
	 * (FLAC): sf_writef_*() convert (see raw_open()) */
	unsigned char *raw;
	size_t raw_len, raw_cap;     /* bytes held, whole frames that fit */
	bool raw_be;                 /* big-endian samples (AIFF) */
	struct refs_analyser *an;
	int64_t in_frames, in_done;
	int64_t out_frames, out_done;
	int (*progress)(void *user, double fraction);
	void *user;
	struct timespec last;
	int err;                     /* first error, AUDIO_RENDER_* */
	char *msg;
	size_t msg_len;
};

static double elapsed_s(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) +
	       (double)(b->tv_nsec - a->tv_nsec) * 1e-9;
}

static int wr_fail(struct writer *w, int err, const char *what)
{
	if (!w->err) {
		w->err = err;
		set_msg(w->msg, w->msg_len, "%s", what);
	}
	return -1;
}

/* Quantise without dither: round to the nearest step, clip, left-justify. */
static void quantise(const float *in, int32_t *out, size_t n, int bits,
		     double scale)
{
	const double hi = scale - 1.0, lo = -scale;
	const int shift = 32 - bits;

	for (size_t i = 0; i < n; i++) {
		double v = nearbyint((double)in[i] * scale);

		if (!(v >= lo))  /* also NaN */
			v = isnan(v) ? 0.0 : lo;
		if (v > hi)
			v = hi;
		out[i] = (int32_t)((uint32_t)(int32_t)v << shift);
	}
}

/*
 * The data chunk's bytes, packed here rather than by sf_writef_int() and
 * sf_writef_float(): those convert through an 8 KB buffer of libsndfile's,
 * one write() each (~10 000 write() calls of 6 KB for a 4-minute 24-bit
 * file, and the page cache then grows 8 KB at a time), at ~22
 * instructions a 24-bit frame.  Here the frames are packed into
 * RENDER_RAW_BYTES and go out with one sf_write_raw() — which writes what
 * it is given in one call and keeps libsndfile's frame count, so the
 * header it writes on sf_close() is the same — at ~6 instructions a
 * frame; the kernel's time per byte written halves with the larger
 * writes (measured with dd: 63 MB in 8 KB writes 36 ms, in 1 MB writes
 * 15 ms).  The bytes are libsndfile's: left-justified integers shifted
 * down to 16 or 24 bits, floats as they are, in the file's byte order
 * (SFC_RAW_DATA_NEEDS_ENDSWAP; WAV little-, AIFF big-endian).
 * tests/test_render.c compares them with sf_writef_*()'s.  FLAC keeps
 * libsndfile's encoder.
 */
#define RENDER_RAW_BYTES (1 << 20)

static bool host_big_endian(void)
{
	const uint16_t one = 1;

	return *(const unsigned char *)&one == 0;
}

/* Sets up packing for sf, a file of `format` (SF_FORMAT_*); leaves
 * w->raw NULL where libsndfile must convert.  0 or -1 (no memory). */
static int raw_open(struct writer *w, SNDFILE *sf, int format)
{
	int major = format & SF_FORMAT_TYPEMASK;
	size_t frame = (size_t)2 * (size_t)(w->bits / 8);

	if (major != SF_FORMAT_WAV && major != SF_FORMAT_RF64 &&
	    major != SF_FORMAT_AIFF)
		return 0;
	w->raw_be = host_big_endian() ^
		    (sf_command(sf, SFC_RAW_DATA_NEEDS_ENDSWAP, NULL, 0) == SF_TRUE);
	w->raw_cap = RENDER_RAW_BYTES / frame;
	/* + 1: pack() stores four bytes to write three */
	w->raw = malloc(w->raw_cap * frame + 1);
	return w->raw ? 0 : -1;
}

/*
 * The data's disk space, reserved before it is written (fallocate()
 * without changing the size, which libsndfile reads): ext4 then maps
 * each page written to blocks already there instead of reserving and
 * allocating them page by page (delayed allocation), and writeback has
 * extents to fill.  Measured, 63 MB in 1 MB writes then fsync: 18 ms of
 * CPU, 11 ms after the reservation.  Only the data's size, which the
 * file then exceeds by its header: nothing is left reserved past its
 * end.  A failure changes nothing (a full disk fails the write, as
 * without it).
 */
static void reserve_space(struct writer *w)
{
#if defined(FALLOC_FL_KEEP_SIZE)
	int64_t bytes = w->out_frames * 2 * (w->bits / 8);

	if (w->fd >= 0 && bytes > 0)
		(void)fallocate(w->fd, FALLOC_FL_KEEP_SIZE, 0, (off_t)bytes);
#else
	(void)w;
#endif
}

/* Hands the packed bytes to libsndfile.  0 or -1 (w->err set). */
static int raw_flush(struct writer *w)
{
	sf_count_t n = (sf_count_t)w->raw_len;

	if (!n)
		return 0;
	w->raw_len = 0;
	if (sf_write_raw(w->sf, w->raw, n) != n) {
		char why[256];

		snprintf(why, sizeof(why), "write failed: %s", sf_strerror(w->sf));
		return wr_fail(w, AUDIO_RENDER_ERROR_WRITE, why);
	}
	return 0;
}

/* n samples of left-justified integers to 16-bit or 24-bit, or of floats
 * (bits 32), in the file's order, at p. */
static void pack(const struct writer *w, const void *in, size_t n,
		 unsigned char *p)
{
	const bool native = w->raw_be == host_big_endian();
	const uint32_t *x = in;
	size_t i;

	if (w->bits == 32 && native) {
		memcpy(p, x, 4 * n);
	} else if (w->bits == 24 && native && !w->raw_be) {
		for (i = 0; i < n; i++, p += 3) {
			/* four bytes stored, the fourth overwritten next
			 * (raw_open() leaves a byte spare at the end) */
			uint32_t u = x[i] >> 8;

			memcpy(p, &u, 4);
		}
	} else {
		const unsigned bytes = (unsigned)w->bits / 8;

		for (i = 0; i < n; i++, p += bytes) {
			/* the top `bytes` bytes of the 32 bits */
			uint32_t u = x[i];

			for (unsigned k = 0; k < bytes; k++) {
				unsigned char c = (unsigned char)(u >> (24 - 8 * k));

				p[w->raw_be ? k : bytes - 1 - k] = c;
			}
		}
	}
}

/* Packs m frames (int32_t, or float for 32 bits) and writes them when
 * the buffer is full.  Returns m, or -1 on failure (w->err set). */
static sf_count_t raw_write(struct writer *w, const void *in, size_t m)
{
	const size_t frame = (size_t)2 * (size_t)(w->bits / 8);
	const unsigned char *x = in;
	size_t left = m;

	while (left) {
		size_t k = w->raw_cap - w->raw_len / frame;

		if (!k) {
			if (raw_flush(w))
				return -1;
			continue;
		}
		if (k > left)
			k = left;
		pack(w, x, 2 * k, w->raw + w->raw_len);
		w->raw_len += k * frame;
		x += 2 * k * 4;
		left -= k;
	}
	return (sf_count_t)m;
}

/*
 * The file's pages go to the disk while the render goes on: without this
 * the final fsync() found the whole file (63 MB for 4 minutes at 24 bits)
 * dirty and waited ~55 ms for it, after the last sample.  Every
 * RENDER_WRITEBACK_BYTES the writeback of what is dirty is started
 * (SYNC_FILE_RANGE_WRITE: start it, do not wait); the fsync() stays, to
 * wait for it and the rest.  Where there is no sync_file_range() nothing
 * happens here.
 */
#define RENDER_WRITEBACK_BYTES (8 << 20)

static void writeback_start(struct writer *w, int64_t bytes)
{
	w->unsynced += bytes;
	if (w->fd < 0 || w->unsynced < RENDER_WRITEBACK_BYTES)
		return;
	w->unsynced = 0;
#if defined(SYNC_FILE_RANGE_WRITE)
	(void)sync_file_range(w->fd, 0, 0, SYNC_FILE_RANGE_WRITE);
#endif
}

/* Writes up to n frames (at the output rate), no more than out_frames in
 * all, and feeds the analyser the exact values written. */
static int wr_write(struct writer *w, const float *lr, size_t n)
{
	while (n > 0) {
		size_t m = n < WR_CHUNK ? n : WR_CHUNK;
		const float *meas = lr;
		sf_count_t done;

		if ((int64_t)m > w->out_frames - w->out_done)
			m = (size_t)(w->out_frames - w->out_done);
		if (!m)
			return 0;
		done = (sf_count_t)m;  /* measuring only */
		if (w->bits == 32) {
			if (w->raw)
				done = raw_write(w, lr, m);
			else if (w->sf)
				done = sf_writef_float(w->sf, lr, (sf_count_t)m);
		} else {
			if (w->dither)
				chain_dither_process(w->dither, lr, w->ibuf, m);
			else
				quantise(lr, w->ibuf, 2 * m, w->bits, w->lsb_scale);
			for (size_t i = 0; i < 2 * m; i++)
				w->fbuf[i] = (float)((double)w->ibuf[i] *
						     (1.0 / 2147483648.0));
			meas = w->fbuf;
			if (w->raw)
				done = raw_write(w, w->ibuf, m);
			else if (w->sf)
				done = sf_writef_int(w->sf, w->ibuf, (sf_count_t)m);
		}
		if (done < 0)
			return -1;  /* raw_flush() said why */
		if (done != (sf_count_t)m) {
			char why[256];

			snprintf(why, sizeof(why), "write failed: %s",
				 sf_strerror(w->sf));
			return wr_fail(w, AUDIO_RENDER_ERROR_WRITE, why);
		}
		writeback_start(w, (int64_t)m * 2 * (w->bits / 8));
		if (w->an) {
			int e = refs_analyser_add(w->an, meas, m);

			if (e) {
				char why[256];

				snprintf(why, sizeof(why), "loudness analysis: %s",
					 refs_loudness_strerror(e));
				return wr_fail(w, e == REFS_LOUDNESS_ERROR_NOMEM ?
					       AUDIO_RENDER_ERROR_NOMEM :
					       AUDIO_RENDER_ERROR_WRITE, why);
			}
		}
		w->out_done += (int64_t)m;
		lr += 2 * m;
		n -= m;
	}
	return 0;
}

/* Runs n frames through the guard and writes what comes out of it past
 * its latency. */
static int wr_guard(struct writer *w, const float *lr, size_t n)
{
	struct guard *g = w->guard;
	float *const buf[CHAIN_CHANNELS] = { g->plane[0], g->plane[1] };

	while (n > 0) {
		size_t m = n < WR_CHUNK ? n : WR_CHUNK, skip, i;

		for (i = 0; i < m; i++) {
			g->plane[0][i] = lr[2 * i];
			g->plane[1][i] = lr[2 * i + 1];
		}
		g->p.ops->process(&g->p, buf, (unsigned)m);
		if (g->p.ops->gain_reduction_db) {
			double gr = g->p.ops->gain_reduction_db(&g->p);

			if (gr > g->gr_max_db)
				g->gr_max_db = gr;
		}
		g->in += (int64_t)m;
		skip = g->skip < (int64_t)m ? (size_t)g->skip : m;
		g->skip -= (int64_t)skip;
		for (i = skip; i < m; i++) {
			g->out[2 * (i - skip)] = g->plane[0][i];
			g->out[2 * (i - skip) + 1] = g->plane[1][i];
		}
		if (m > skip && wr_write(w, g->out, m - skip))
			return -1;
		lr += 2 * m;
		n -= m;
	}
	return 0;
}

/* What comes out of the converter: through the guard when there is one. */
static int wr_post(struct writer *w, const float *lr, size_t n)
{
	return w->guard ? wr_guard(w, lr, n) : wr_write(w, lr, n);
}

/* Streams n frames (n = 0 with eoi to drain) through libsamplerate. */
static int wr_resample(struct writer *w, const float *lr, size_t n, int eoi)
{
	static const float none[2];

	/* libsamplerate 0.2 drains nothing when data_in is NULL */
	if (!lr)
		lr = none;
	for (;;) {
		SRC_DATA d;
		int e;

		memset(&d, 0, sizeof(d));
		d.data_in = lr;
		d.input_frames = (long)n;
		d.data_out = w->src_out;
		d.output_frames = WR_CHUNK;
		d.end_of_input = eoi;
		d.src_ratio = w->ratio;
		e = src_process(w->src, &d);
		if (e) {
			char why[256];

			snprintf(why, sizeof(why), "sample rate conversion: %s",
				 src_strerror(e));
			return wr_fail(w, AUDIO_RENDER_ERROR_SRC, why);
		}
		lr += 2 * d.input_frames_used;
		n -= (size_t)d.input_frames_used;
		if (d.output_frames_gen > 0 &&
		    wr_post(w, w->src_out, (size_t)d.output_frames_gen))
			return -1;
		if (eoi ? d.output_frames_gen == 0 :
			  n == 0 && d.output_frames_gen < WR_CHUNK)
			return 0;
	}
}

static int wr_progress(struct writer *w, double fraction, bool force)
{
	struct timespec now;

	if (!w->progress)
		return 0;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (!force && elapsed_s(&w->last, &now) < RENDER_PROGRESS_INTERVAL)
		return 0;
	w->last = now;
	if (fraction > 1.0)
		fraction = 1.0;
	if (w->progress(w->user, fraction))
		return wr_fail(w, AUDIO_RENDER_ERROR_CANCELLED, "cancelled");
	return 0;
}

static int wr_sink(void *user, const float *lr, size_t frames)
{
	struct writer *w = user;

	w->in_done += (int64_t)frames;
	if (w->src ? wr_resample(w, lr, frames, 0) : wr_write(w, lr, frames))
		return -1;
	return wr_progress(w, w->in_frames ? (double)w->in_done /
				   (double)w->in_frames : 1.0, false);
}

/* After the chain: drains the converter, pads with silence up to
 * out_frames (libsamplerate may stop a frame short), then flushes the
 * guard's lookahead. */
static int wr_finish(struct writer *w)
{
	static const float zero[2 * 256];
	int64_t m;

	if (w->src && wr_resample(w, NULL, 0, 1))
		return -1;
	while ((m = w->out_frames - (w->guard ? w->guard->in : w->out_done)) > 0)
		if (wr_post(w, zero, (size_t)(m < 256 ? m : 256)))
			return -1;
	for (m = w->guard ? w->guard->lat : 0; m > 0; m -= 256)
		if (wr_guard(w, zero, (size_t)(m < 256 ? m : 256)))
			return -1;
	return 0;
}

/* ---- the work of a render on two threads ---- */

/*
 * render_pass() puts each block of AUDIO_RENDER_BLOCK frames through three
 * jobs, in this order:
 *
 *   S1  the input and stage 1 (the processors before the split:
 *       cr_stage1(); with tests/bench.c's chain gain … multiband)
 *   S2  stage 2 (the rest, up to the limiter: cr_stage2())
 *   W   statistics, interleaving and the writer (conversion, guard,
 *       dither, file, loudness and true-peak analysis: cr_finish(),
 *       wr_sink())
 *
 * Each kind is a sequence: block k's S1 runs after block k - 1's (the
 * processors' state), S2(k) after S1(k) and S2(k - 1), W(k) after S2(k)
 * and W(k - 1).  Two threads share them through a ring of PIPE_SLOTS
 * blocks, the calling thread and a helper it starts: W stays on the
 * calling thread (the progress callback, the sink and the file are its),
 * S1 and S2 go to whichever thread is free, one thread per kind at a
 * time.  So the load balances itself whatever the chain, the meter or the
 * machine costs, down to the longest of the three kinds, which
 * cr_calibrate() keeps short by halving the chain.  Before, with a thread
 * per stage (S1 + W on the calling thread, S2 on the other), the calling
 * thread did ~58 % of the work of tests/bench.c's full chain and the other
 * waited for it.  Preferences: the helper feeds (S1, else S2), the
 * calling thread drains (W, else S2, else S1); measured on that chain,
 * each thread then sleeps ~5 % of the render, where with the helper
 * preferring S2 and the calling thread S1 the helper slept half of it
 * (the calling thread kept S1 and W to itself).  A thread takes up to
 * PIPE_BATCH blocks of a kind at once, so each kind's state stays on one
 * core for a while.
 *
 * The bytes are those of cr_run(): each processor sees the same blocks in
 * the same order as in one chain_process() call (chain_process_range()),
 * the writer the same calls in the same order; both threads flush
 * denormals.  The first PIPE_CAL blocks run on the calling thread alone
 * (cr_calibrate() times them to place the split).  When no thread can be
 * started, or the process may use one CPU only (`taskset -c 1`, where a
 * second thread only added context switches), cr_run() does the blocks
 * one after the other.
 *
 * State glossary (mu guards everything below it):
 *   buf        PIPE_SLOTS blocks, each a left and a right plane
 *   len, gr    each slot's frames, and its limiter reduction (S2)
 *   blocks     blocks of the run
 *   filled     blocks through S1 (counters: block k is in slot
 *   processed  … through S2        k % PIPE_SLOTS)
 *   taken      … through W
 *   busy1, busy2  a thread is running S1 / S2 blocks
 *   stop       end now: a job failed (err: AUDIO_RENDER_ERROR_*), or the
 *              calling thread is done
 *   wait_helper, wait_main  that thread sleeps on cv: signal only then
 * filled - taken <= PIPE_SLOTS.  A sleeper is woken once PIPE_WAKE blocks
 * wait for it (a wake-up per block cost ~6700 context switches a 240 s
 * render), on stop, and by the other thread when that one is about to
 * sleep or end while there is work: neither sleeps for good, as a thread
 * sleeps only when it has no work, and the calling thread can take every
 * kind of job.
 */
#define PIPE_SLOTS 32
#define PIPE_CAL 32    /* blocks timed to place the split (cr_calibrate()) */
#define PIPE_BATCH 4
#define PIPE_WAKE 4

enum pipe_job { PIPE_NONE, PIPE_S1, PIPE_S2, PIPE_W };

struct pipe {
	struct chain_run *cr;
	struct writer *w;
	float *out;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	float *buf;
	unsigned len[PIPE_SLOTS];
	float gr[PIPE_SLOTS];
	int64_t blocks, filled, processed, taken;
	bool busy1, busy2;
	int stop, err;
	bool wait_helper, wait_main;
};

static float *pipe_left(struct pipe *pp, int64_t k)
{
	return pp->buf + (size_t)(k % PIPE_SLOTS) * 2 * AUDIO_RENDER_BLOCK;
}

static float *pipe_right(struct pipe *pp, int64_t k)
{
	return pipe_left(pp, k) + AUDIO_RENDER_BLOCK;
}

/* Blocks of each kind that could start now. */
static int64_t pipe_ready1_locked(const struct pipe *pp)
{
	int64_t end = pp->blocks - pp->taken > PIPE_SLOTS ?
		      pp->taken + PIPE_SLOTS : pp->blocks;

	return pp->busy1 ? 0 : end - pp->filled;
}

static int64_t pipe_ready2_locked(const struct pipe *pp)
{
	return pp->busy2 ? 0 : pp->filled - pp->processed;
}

/* The next job of the calling thread (main) or of the helper: its kind,
 * first block *k and blocks *n.  Marks it taken. */
static enum pipe_job pipe_pick_locked(struct pipe *pp, bool main, int64_t *k,
				      int64_t *n)
{
	int64_t rw = pp->processed - pp->taken;
	int64_t r1 = pipe_ready1_locked(pp), r2 = pipe_ready2_locked(pp);

	if (main && rw > 0) {
		*k = pp->taken;
		*n = rw < PIPE_BATCH ? rw : PIPE_BATCH;
		return PIPE_W;
	}
	if (r2 > 0 && (main || r1 == 0)) {
		pp->busy2 = true;
		*k = pp->processed;
		*n = r2 < PIPE_BATCH ? r2 : PIPE_BATCH;
		return PIPE_S2;
	}
	if (r1 > 0) {
		pp->busy1 = true;
		*k = pp->filled;
		*n = r1 < PIPE_BATCH ? r1 : PIPE_BATCH;
		return PIPE_S1;
	}
	return PIPE_NONE;
}

/* Work waiting for the other thread than `main` says (main: the helper). */
static int64_t pipe_work_for_locked(const struct pipe *pp, bool main)
{
	int64_t r = pipe_ready1_locked(pp) + pipe_ready2_locked(pp);

	return main ? r : r + pp->processed - pp->taken;
}

/* Wakes the other thread when it sleeps and has enough work (or any,
 * with `any`). */
static void pipe_wake_locked(struct pipe *pp, bool main, bool any)
{
	bool sleeps = main ? pp->wait_helper : pp->wait_main;
	int64_t work;

	if (!sleeps)
		return;
	work = pipe_work_for_locked(pp, main);
	if (pp->stop || work >= PIPE_WAKE || (any && work > 0))
		pthread_cond_broadcast(&pp->cv);
}

/* Runs n blocks of a job from block k on; 0 or AUDIO_RENDER_ERROR_*. */
static int pipe_run(struct pipe *pp, enum pipe_job job, int64_t k, int64_t n)
{
	struct chain_run *cr = pp->cr;

	for (int64_t b = k; b < k + n; b++) {
		int64_t pos = b * AUDIO_RENDER_BLOCK;
		unsigned slot = (unsigned)(b % PIPE_SLOTS);

		switch (job) {
		case PIPE_S1:
			pp->len[slot] = cr_len(cr, pos);
			if (cr_stage1(cr, pos, pipe_left(pp, b), pipe_right(pp, b),
				      pp->len[slot]))
				return AUDIO_RENDER_ERROR_INPUT;
			break;
		case PIPE_S2:
			pp->gr[slot] = cr_stage2(cr, pipe_left(pp, b), pipe_right(pp, b),
						 pp->len[slot]);
			break;
		case PIPE_W:
			if (cr_finish(cr, pos, pipe_left(pp, b), pipe_right(pp, b),
				      pp->len[slot], pp->gr[slot], pp->out, wr_sink,
				      pp->w))
				return AUDIO_RENDER_ERROR_CANCELLED;
			break;
		default:
			break;
		}
	}
	return 0;
}

/* Until every block is through W (main) or S2 (helper), or stop: picks,
 * runs and hands over jobs. */
static void pipe_work(struct pipe *pp, bool main)
{
	bool *sleeping = main ? &pp->wait_main : &pp->wait_helper;

	pthread_mutex_lock(&pp->mu);
	for (;;) {
		enum pipe_job job;
		int64_t k = 0, n = 0;
		int err;

		if (pp->stop || (main ? pp->taken : pp->processed) == pp->blocks)
			break;
		job = pipe_pick_locked(pp, main, &k, &n);
		if (job == PIPE_NONE) {
			pipe_wake_locked(pp, main, true);
			*sleeping = true;
			pthread_cond_wait(&pp->cv, &pp->mu);
			*sleeping = false;
			continue;
		}
		pthread_mutex_unlock(&pp->mu);
		/* the blocks are this thread's until the counter moves past */
		err = pipe_run(pp, job, k, n);
		pthread_mutex_lock(&pp->mu);
		switch (job) {
		case PIPE_S1:
			pp->filled += n;
			pp->busy1 = false;
			break;
		case PIPE_S2:
			pp->processed += n;
			pp->busy2 = false;
			break;
		default:
			pp->taken += n;
			break;
		}
		if (err && !pp->stop) {
			pp->stop = 1;
			pp->err = err;
		}
		pipe_wake_locked(pp, main, false);
	}
	/* whatever is left is the other thread's: let it see it */
	pipe_wake_locked(pp, main, true);
	pthread_mutex_unlock(&pp->mu);
}

/* CPUs this thread may run on (sched_getaffinity: `taskset -c 1` gives
 * 1); 2 where that cannot be asked. */
static int cpus_available(void)
{
#if defined(CPU_COUNT)
	cpu_set_t set;

	if (!sched_getaffinity(0, sizeof(set), &set))
		return CPU_COUNT(&set);
#endif
	return 2;
}

/* The helper thread. */
static void *pipe_helper(void *user)
{
	struct pipe *pp = user;
	unsigned long csr = ftz_enable();

	pipe_work(pp, false);
	ftz_restore(csr);
	return NULL;
}

/*
 * run_chain(lr, frames, rate, s, wr_sink, w, st) with the work shared by
 * two threads (above); the same return value and calls of wr_sink().
 */
static int run_chain_piped(const float *lr, int64_t frames, double rate,
			   const struct chain_settings *s, struct writer *w,
			   struct run_stats *st, const struct audio_render_opts *in)
{
	struct chain_run cr;
	struct pipe pp;
	pthread_t th;
	unsigned long csr;
	int64_t cal = 0;
	int ret;

	ret = cr_open(&cr, lr, frames, rate, s, st);
	if (ret)
		return ret;
	cr_input(&cr, in);
	memset(&pp, 0, sizeof(pp));
	pp.cr = &cr;
	pp.w = w;
	pp.blocks = cr_blocks(&cr);
	pp.buf = malloc(sizeof(float) * 2 * AUDIO_RENDER_BLOCK * PIPE_SLOTS);
	pp.out = malloc(sizeof(float) * 2 * AUDIO_RENDER_BLOCK);
	/* on one CPU a second thread only adds its context switches
	 * (measured ~3 % of the render pinned to one CPU) */
	if (!pp.buf || !pp.out || cpus_available() < 2)
		goto serial;
	/* the first blocks here, timed, to place the split */
	cal = pp.blocks < PIPE_CAL ? pp.blocks : PIPE_CAL;
	csr = ftz_enable();
	ret = cr_calibrate(&cr, cal, pipe_left(&pp, 0), pipe_right(&pp, 0), pp.out,
			   wr_sink, w);
	ftz_restore(csr);
	if (ret || cal == pp.blocks)
		goto out;
	pp.filled = pp.processed = pp.taken = cal;
	if (pthread_mutex_init(&pp.mu, NULL))
		goto serial;
	if (pthread_cond_init(&pp.cv, NULL)) {
		pthread_mutex_destroy(&pp.mu);
		goto serial;
	}
	if (pthread_create(&th, NULL, pipe_helper, &pp)) {
		pthread_cond_destroy(&pp.cv);
		pthread_mutex_destroy(&pp.mu);
		goto serial;
	}

	csr = ftz_enable();
	pipe_work(&pp, true);
	ftz_restore(csr);
	/* the helper ends by itself once S2 is done; sooner on failure */
	pthread_mutex_lock(&pp.mu);
	pp.stop = 1;
	pthread_cond_broadcast(&pp.cv);
	pthread_mutex_unlock(&pp.mu);
	pthread_join(th, NULL);
	pthread_cond_destroy(&pp.cv);
	pthread_mutex_destroy(&pp.mu);
	ret = pp.err;
	goto out;
serial:
	ret = cr_run(&cr, cal, wr_sink, w);
out:
	free(pp.buf);
	free(pp.out);
	cr_close(&cr);
	return ret;
}

/* ---- one render: the chain and everything after it ---- */

/* Output frames for `frames` input frames converted from in_rate to
 * out_rate. */
static int64_t out_frames_for(int64_t frames, double in_rate, double out_rate)
{
	return out_rate == in_rate ? frames :
	       (int64_t)llround((double)frames * (out_rate / in_rate));
}

/* Value of a chain parameter in s, or `def` when the table lacks it. */
static double setting(const struct chain_settings *s, const char *id, double def)
{
	int i = chain_param_find(id);

	return i >= 0 ? s->value[i] : def;
}

/* The dither the options ask for, or NULL with *err = 0 for none. */
static struct chain_dither *dither_new(const struct audio_render_opts *o,
				       int bits, int *err)
{
	*err = CHAIN_OK;
	if (bits == 32)
		return NULL;
	switch (o->dither) {
	case AUDIO_RENDER_DITHER_TPDF:
		return chain_dither_new(2, (unsigned)bits, RENDER_DITHER_SEED, err);
	case AUDIO_RENDER_DITHER_SHAPED:
		return chain_dither_new_shaped(2, (unsigned)bits, RENDER_DITHER_SEED,
					       CHAIN_DITHER_SHAPED, err);
	default:
		return NULL;
	}
}

/*
 * Renders mix with the settings s (in place of o->settings) as o says —
 * bits, rate, dither — into sf, or only measures when sf is NULL.  Fills
 * *measured and *pass when not NULL.  Progress as audio_render_file()
 * reports it, through progress/user.  Returns 0 or AUDIO_RENDER_ERROR_*,
 * with the reason in msg.
 */
static int render_pass(const struct audio_clip *mix,
		       const struct audio_render_opts *o,
		       const struct chain_settings *s, SNDFILE *sf, int fd,
		       struct refs_loudness *measured,
		       struct audio_render_pass *pass,
		       int (*progress)(void *user, double fraction), void *user,
		       char *msg, size_t msg_len)
{
	struct writer w;
	struct run_stats st;
	struct refs_loudness lm;
	double out_rate = o->rate ? o->rate : mix->rate;
	unsigned long csr;
	int bits = opts_bits(o), err = AUDIO_RENDER_OK, e = 0;

	memset(&w, 0, sizeof(w));
	memset(&st, 0, sizeof(st));
	w.sf = sf;
	w.fd = sf ? fd : -1;
	w.bits = bits;
	w.msg = msg;
	w.msg_len = msg_len;
	w.progress = progress;
	w.user = user;
	w.in_frames = mix->frames;
	w.ratio = out_rate / mix->rate;
	w.out_frames = out_frames_for(mix->frames, mix->rate, out_rate);
	w.lsb_scale = ldexp(1.0, bits - 1);

	w.dither = dither_new(o, bits, &e);
	if (e) {
		set_msg(msg, msg_len, "dither: %s", chain_strerror(e));
		return e == CHAIN_ERROR_NOMEM ? AUDIO_RENDER_ERROR_NOMEM :
						AUDIO_RENDER_ERROR_CHAIN;
	}
	if (out_rate != mix->rate) {
		w.src = src_new(SRC_SINC_BEST_QUALITY, 2, &e);
		if (!w.src) {
			set_msg(msg, msg_len, "sample rate conversion: %s",
				src_strerror(e));
			err = AUDIO_RENDER_ERROR_SRC;
			goto out;
		}
		if (setting(s, "limiter.on", 1.0) >= 0.5) {
			w.guard = guard_new(out_rate, setting(s, "limiter.ceiling_dbtp",
							      0.0), &err);
			if (!w.guard) {
				set_msg(msg, msg_len, "true-peak guard: %s",
					err == AUDIO_RENDER_ERROR_NOMEM ?
					"out of memory" : "cannot build it");
				goto out;
			}
		}
	}
	w.src_out = malloc(sizeof(float) * 2 * WR_CHUNK);
	w.ibuf = malloc(sizeof(int32_t) * 2 * WR_CHUNK);
	w.fbuf = malloc(sizeof(float) * 2 * WR_CHUNK);
	if (sf) {
		SF_INFO info;

		memset(&info, 0, sizeof(info));
		if (sf_command(sf, SFC_GET_CURRENT_SF_INFO, &info, sizeof(info)) ||
		    raw_open(&w, sf, info.format)) {
			set_msg(msg, msg_len, "out of memory");
			err = AUDIO_RENDER_ERROR_NOMEM;
			goto out;
		}
		if (w.raw)
			reserve_space(&w);
	}
	if (!w.src_out || !w.ibuf || !w.fbuf) {
		set_msg(msg, msg_len, "out of memory");
		err = AUDIO_RENDER_ERROR_NOMEM;
		goto out;
	}
	if (measured || pass) {
		/* the true peak by the libebur128-equivalent meter (the same
		 * reading to the last bit, at a third of libebur128's cost) */
		w.an = refs_analyser_new_flags(2, out_rate, REFS_ANALYSER_OWN_TRUE_PEAK |
					       REFS_ANALYSER_OWN_LOUDNESS, &e);
		if (!w.an) {
			set_msg(msg, msg_len, "loudness analysis: %s",
				refs_loudness_strerror(e));
			err = e == REFS_LOUDNESS_ERROR_NOMEM ?
			      AUDIO_RENDER_ERROR_NOMEM : AUDIO_RENDER_ERROR_WRITE;
			goto out;
		}
	}

	clock_gettime(CLOCK_MONOTONIC, &w.last);
	if (wr_progress(&w, 0.0, true)) {
		err = w.err;
		goto out;
	}
	/* the limiter's statistics only for a pass of a search: they cost
	 * a sum of squares over every frame */
	err = run_chain_piped(mix->data, mix->frames, mix->rate, s, &w,
			      pass ? &st : NULL, o);
	if (err == AUDIO_RENDER_ERROR_CANCELLED && w.err)
		err = w.err;  /* the sink's reason */
	if (err) {
		if (err == AUDIO_RENDER_ERROR_INPUT)
			set_msg(msg, msg_len, "the input could not be read");
		else if (err == AUDIO_RENDER_ERROR_CHAIN)
			set_msg(msg, msg_len, "cannot build the chain at %g Hz",
				mix->rate);
		else if (err == AUDIO_RENDER_ERROR_NOMEM && !w.err)
			set_msg(msg, msg_len, "out of memory");
		goto out;
	}
	/* the tail in the same floating-point mode as the rest */
	csr = ftz_enable();
	e = wr_finish(&w);
	ftz_restore(csr);
	if (!e && w.raw)
		e = raw_flush(&w);
	if (e || wr_progress(&w, 1.0, true)) {
		err = w.err;
		goto out;
	}
	if (w.an) {
		e = refs_analyser_result(w.an, &lm);
		if (e) {
			set_msg(msg, msg_len, "loudness analysis: %s",
				refs_loudness_strerror(e));
			err = e == REFS_LOUDNESS_ERROR_NOMEM ?
			      AUDIO_RENDER_ERROR_NOMEM : AUDIO_RENDER_ERROR_WRITE;
			goto out;
		}
		if (measured)
			*measured = lm;
		if (pass) {
			pass->gain_db = setting(s, "gain.gain_db", 0.0);
			pass->lufs = lm.integrated_lufs;
			pass->true_peak_dbtp = lm.true_peak_dbtp;
			pass->gr_peak_db = gr_peak(&st);
			pass->gr_max_db = st.gr_max_db;
			pass->gr_mean_db = st.e_sum > 0 ? st.gr_e_sum / st.e_sum : 0.0;
			pass->guard_gr_max_db = w.guard ? w.guard->gr_max_db : 0.0;
		}
	}

out:
	free(st.gr_blocks);
	refs_analyser_free(&w.an);
	guard_free(&w.guard);
	if (w.src)
		src_delete(w.src);
	chain_dither_free(&w.dither);
	free(w.src_out);
	free(w.ibuf);
	free(w.fbuf);
	free(w.raw);
	return err;
}

/* ---- files ---- */

/* The process umask, read without changing it (Linux /proc; umask() would
 * race with other threads creating files). */
static mode_t current_umask(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	unsigned int m;
	mode_t mask = 022;

	if (!f)
		return mask;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Umask: %o", &m) == 1) {
			mask = (mode_t)(m & 0777);
			break;
		}
	fclose(f);
	return mask;
}

static void fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd >= 0) {
		(void)fsync(fd);
		close(fd);
	}
}

/* Moves tmp to out.  Without force it never replaces a file that appeared
 * since the check: RENAME_NOREPLACE, else link()+unlink(), else a last
 * look and rename(). */
static int publish(const char *tmp, const char *out, bool force, char *msg,
		   size_t msg_len)
{
	struct stat st;

	if (!force) {
#if defined(RENAME_NOREPLACE)
		if (!renameat2(AT_FDCWD, tmp, AT_FDCWD, out, RENAME_NOREPLACE))
			return 0;
		if (errno == EEXIST)
			goto exists;
		if (errno != EINVAL && errno != ENOSYS && errno != ENOTSUP)
			goto fail;
#endif
		if (!link(tmp, out)) {
			unlink(tmp);
			return 0;
		}
		if (errno == EEXIST)
			goto exists;
		if (!lstat(out, &st))
			goto exists;
	}
	if (!rename(tmp, out))
		return 0;
#if defined(RENAME_NOREPLACE)
fail:
#endif
	set_msg(msg, msg_len, "cannot write: %s", strerror(errno));
	return AUDIO_RENDER_ERROR_WRITE;
exists:
	set_msg(msg, msg_len, "exists (force to replace it)");
	return AUDIO_RENDER_ERROR_EXISTS;
}

int audio_render_file(const struct audio_clip *mix, const struct audio_render_opts *o,
		      struct refs_loudness *measured, char *msg, size_t msg_len)
{
	SNDFILE *sf = NULL;
	SF_INFO info;
	char dir[PATH_MAX], tmp[PATH_MAX + 64];
	const char *base;
	double out_rate;
	int64_t out_frames;
	int fmt, bits, fd = -1, err, e = 0;
	bool have_tmp = false;

	if (msg && msg_len)
		msg[0] = '\0';
	if (!mix || !o) {
		set_msg(msg, msg_len, "nothing to render");
		return AUDIO_RENDER_ERROR_FORMAT;
	}
	err = check_opts(o, mix->path, msg, msg_len);
	if (err)
		return err;

	fmt = audio_render_format_for(o->out_path);
	bits = opts_bits(o);
	out_rate = o->rate ? o->rate : mix->rate;
	out_frames = out_frames_for(mix->frames, mix->rate, out_rate);

	/* the file's format */
	memset(&info, 0, sizeof(info));
	info.samplerate = (int)lround(out_rate);
	info.channels = 2;
	if (fmt == SF_FORMAT_WAV &&
	    (double)out_frames * 2.0 * (bits / 8) > RENDER_WAV_MAX_BYTES)
		fmt = SF_FORMAT_RF64;
	info.format = fmt | (bits == 16 ? SF_FORMAT_PCM_16 :
			     bits == 24 ? SF_FORMAT_PCM_24 : SF_FORMAT_FLOAT);
	if (!sf_format_check(&info)) {
		set_msg(msg, msg_len, "libsndfile cannot write %s at %d Hz",
			audio_render_format_name(o), info.samplerate);
		return AUDIO_RENDER_ERROR_FORMAT;
	}

	/* the temporary file, beside the output so rename() is atomic */
	if (split_path(o->out_path, dir, sizeof(dir), &base) ||
	    snprintf(tmp, sizeof(tmp), "%s/.%s.XXXXXX.tmp", dir, base) >=
	    (int)sizeof(tmp)) {
		set_msg(msg, msg_len, "path too long");
		return AUDIO_RENDER_ERROR_WRITE;
	}
	fd = mkostemps(tmp, 4, O_CLOEXEC);
	if (fd < 0) {
		set_msg(msg, msg_len, "cannot write to %s: %s", dir, strerror(errno));
		return AUDIO_RENDER_ERROR_WRITE;
	}
	have_tmp = true;
	(void)fchmod(fd, 0666 & ~current_umask());
	sf = sf_open_fd(fd, SFM_WRITE, &info, SF_FALSE);
	if (!sf) {
		set_msg(msg, msg_len, "cannot write: %s", sf_strerror(NULL));
		err = AUDIO_RENDER_ERROR_WRITE;
		goto out;
	}
	/* no PEAK chunk: it holds a time stamp, and renders must be
	 * byte-identical */
	sf_command(sf, SFC_SET_ADD_PEAK_CHUNK, NULL, SF_FALSE);
	sf_command(sf, SFC_SET_CLIPPING, NULL, SF_FALSE);
	sf_set_string(sf, SF_STR_SOFTWARE, PACKAGE_STRING);

	/* render */
	err = render_pass(mix, o, &o->settings, sf, fd, measured, NULL, o->progress,
			  o->user, msg, msg_len);
	if (err)
		goto out;

	/* finish the file: header, data on disk, then the name */
	e = sf_close(sf);
	sf = NULL;
	if (e) {
		set_msg(msg, msg_len, "write failed: %s", sf_error_number(e));
		err = AUDIO_RENDER_ERROR_WRITE;
		goto out;
	}
	if (fsync(fd)) {
		set_msg(msg, msg_len, "write failed: %s", strerror(errno));
		err = AUDIO_RENDER_ERROR_WRITE;
		goto out;
	}
	e = close(fd);
	fd = -1;
	if (e) {
		set_msg(msg, msg_len, "write failed: %s", strerror(errno));
		err = AUDIO_RENDER_ERROR_WRITE;
		goto out;
	}
	err = publish(tmp, o->out_path, o->force, msg, msg_len);
	if (!err) {
		have_tmp = false;
		fsync_dir(dir);
	}

out:
	if (sf)
		sf_close(sf);
	if (fd >= 0)
		close(fd);
	if (have_tmp)
		unlink(tmp);
	return err;
}

/* ---- loudness target ---- */

/*
 * The search, on f(g) = L(g) − target where L is the integrated loudness
 * of the master rendered with input gain g (dB).  L rises monotonically
 * with g: 1 LU per dB while nothing limits, less once the limiter (and any
 * compressor) works.  Constraints, also monotonic in g: the limiter's peak
 * gain reduction at most max_gr_db, the true peak at most the ceiling +
 * AUDIO_RENDER_TARGET_TP_TOL_DB.
 *
 *   1. a render at the settings' own gain; then secant steps through the
 *      last two renders (slope 1 to begin with), kept inside the bracket
 *      [lo, hi] of renders known below and above the target, bisecting
 *      when a step would leave it; until |f| <= AUDIO_RENDER_TARGET_TOL_LU;
 *   2. a render below the target that already breaks a constraint, or one
 *      on the target that does, proves the target unreachable: the same
 *      kind of search then looks for the largest gain within the
 *      constraints (the loudest reachable master), to within 0.25 dB of
 *      the limit;
 *   3. the ends of the gain parameter's range stop it (ABOVE_RANGE,
 *      BELOW_RANGE).
 *
 * Gains are rounded to float first: the gain rendered is then exactly the
 * gain reported, and a render with gain.gain_db set to it gives the same
 * samples.
 */

struct search {
	const struct audio_clip *mix;
	const struct audio_render_opts *o;
	struct chain_settings s;
	int gain_idx;
	double gmin, gmax;
	double target, ceiling, max_gr;
	struct audio_render_target *r;
	audio_render_pass_progress progress;
	void *user;
	char *msg;
	size_t msg_len;
};

struct pass_user {
	struct search *se;
	int pass;
};

static int pass_progress(void *user, double fraction)
{
	struct pass_user *pu = user;

	return pu->se->progress(pu->se->user, pu->pass, fraction);
}

static int measure(struct search *se, double g, struct audio_render_pass *p)
{
	struct pass_user pu = { se, se->r->passes + 1 };
	int err;

	g = g < se->gmin ? se->gmin : g > se->gmax ? se->gmax : g;
	se->s.value[se->gain_idx] = (float)g;
	err = render_pass(se->mix, se->o, &se->s, NULL, -1, NULL, p,
			  se->progress ? pass_progress : NULL, &pu,
			  se->msg, se->msg_len);
	if (!err)
		se->r->passes++;
	return err;
}

/* Whether a render keeps within the constraints. */
static bool feasible(const struct search *se, const struct audio_render_pass *p)
{
	return p->gr_peak_db <= se->max_gr &&
	       !(p->true_peak_dbtp > se->ceiling + AUDIO_RENDER_TARGET_TP_TOL_DB);
}

/* How far a render is over one constraint (> 0: over), dB: the limiter's
 * peak gain reduction, or the true peak when `tp`. */
static double excess(const struct search *se, const struct audio_render_pass *p,
		     bool tp)
{
	if (tp)
		return isfinite(p->true_peak_dbtp) ? p->true_peak_dbtp -
		       (se->ceiling + AUDIO_RENDER_TARGET_TP_TOL_DB) : -HUGE_VAL;
	return p->gr_peak_db - se->max_gr;
}

/* Next gain of a safeguarded secant: the zero of the line through (g0, y0)
 * and (g1, y1) when it lies strictly inside (lo, hi), else the middle of
 * that bracket (lo/hi may be infinite: then a plain step of `fallback`
 * from g1). */
static double next_gain(double g0, double y0, double g1, double y1, double lo,
			double hi, double gmin, double gmax, double fallback)
{
	double slope = (g1 != g0 && isfinite(y0) && isfinite(y1)) ?
		       (y1 - y0) / (g1 - g0) : NAN;
	double g;

	if (slope > 0.02 && isfinite(y1))
		g = g1 - y1 / slope;
	else
		g = g1 + fallback;
	if (isfinite(lo) && isfinite(hi)) {
		double margin = 0.02 * (hi - lo);

		if (!(g > lo + margin && g < hi - margin))
			g = 0.5 * (lo + hi);
	} else if (isfinite(lo) && !(g > lo)) {
		g = lo + fabs(fallback);
	} else if (isfinite(hi) && !(g < hi)) {
		g = hi - fabs(fallback);
	}
	return g < gmin ? gmin : g > gmax ? gmax : g;
}

/* Step 2: the loudest render within the constraints, given `over` (a
 * render that breaks them) and r->best (one within them) if any: a
 * safeguarded secant between the two on the excess of the constraint
 * `over` breaks (the gain reduction, else the true peak), aiming 0.1 dB
 * inside it, until a render within 0.25 dB of the limit is found.  Fills
 * r->best and r->has_best. */
static int search_best(struct search *se, const struct audio_render_pass *over)
{
	struct audio_render_target *r = se->r;
	struct audio_render_pass in_p = *over, out_p = *over, p;
	struct audio_render_pass a = *over, b = *over;  /* the two latest */
	bool have_in = r->has_best, have_b = r->has_best;
	bool tp = !(over->gr_peak_db > se->max_gr);
	int err;

	if (have_in)
		in_p = b = r->best;
	while (r->passes < AUDIO_RENDER_TARGET_MAX_PASSES) {
		double eo = excess(se, &out_p, tp), g;

		if (have_in && (excess(se, &in_p, tp) >= -0.25 ||
				out_p.gain_db - in_p.gain_db < 0.05))
			break;  /* close enough to the limit */
		if (!have_in && out_p.gain_db <= se->gmin)
			break;  /* even the lowest gain breaks them */
		g = next_gain(have_b ? b.gain_db : a.gain_db,
			      have_b ? excess(se, &b, tp) + 0.1 : NAN,
			      a.gain_db, excess(se, &a, tp) + 0.1,
			      have_in ? in_p.gain_db : -HUGE_VAL, out_p.gain_db,
			      se->gmin, se->gmax, -(eo + 0.5));
		err = measure(se, g, &p);
		if (err)
			return err;
		b = a;
		a = p;
		have_b = true;
		if (feasible(se, &p)) {
			if (!have_in || p.gain_db > in_p.gain_db)
				in_p = p;
			have_in = true;
		} else if (p.gain_db < out_p.gain_db) {
			out_p = p;
		}
	}
	r->has_best = have_in;
	if (have_in)
		r->best = in_p;
	return 0;
}

/* One-line reason for a refused target (no path). */
static void target_msg(const struct search *se, bool on_target, char *msg,
		       size_t msg_len)
{
	const struct audio_render_target *r = se->r;
	char best[160] = "";

	if (r->has_best && r->status == AUDIO_RENDER_TARGET_TRUE_PEAK)
		snprintf(best, sizeof(best), "; the loudest within it is %.1f LUFS "
			 "(input gain %+.1f dB, true peak %.2f dBTP)", r->best.lufs,
			 r->best.gain_db, r->best.true_peak_dbtp);
	else if (r->has_best)
		snprintf(best, sizeof(best), "; the loudest within it is %.1f LUFS "
			 "(input gain %+.1f dB, limiter gain reduction %.1f dB)",
			 r->best.lufs, r->best.gain_db, r->best.gr_peak_db);
	switch (r->status) {
	case AUDIO_RENDER_TARGET_LIMITING:
		if (on_target)
			set_msg(msg, msg_len, "%.1f LUFS needs %.1f dB of limiter gain "
				"reduction, more than the %.1f dB allowed%s",
				se->target, r->at.gr_peak_db, se->max_gr,
				*best ? best : "; no input gain stays within it");
		else
			set_msg(msg, msg_len, "%.1f LUFS needs more than the %.1f dB of "
				"limiter gain reduction allowed (%.1f dB already at "
				"%.1f LUFS)%s", se->target, se->max_gr,
				r->at.gr_peak_db, r->at.lufs,
				*best ? best : "; no input gain stays within it");
		break;
	case AUDIO_RENDER_TARGET_TRUE_PEAK:
		set_msg(msg, msg_len, "%.1f LUFS puts the true peak %s %.2f dBTP, "
			"over the %.1f dBTP ceiling%s%s", se->target,
			on_target ? "at" : "above", r->at.true_peak_dbtp, se->ceiling,
			setting(&se->s, "limiter.on", 1.0) < 0.5 ?
			" (the limiter is off)" : "",
			*best ? best : "; no input gain stays within it");
		break;
	case AUDIO_RENDER_TARGET_ABOVE_RANGE:
		set_msg(msg, msg_len, "%.1f LUFS is beyond the input gain's range: "
			"at %+.0f dB the master reads %.1f LUFS", se->target,
			se->gmax, r->at.lufs);
		break;
	case AUDIO_RENDER_TARGET_BELOW_RANGE:
		set_msg(msg, msg_len, "%.1f LUFS is below the input gain's range: "
			"at %+.0f dB the master still reads %.1f LUFS", se->target,
			se->gmin, r->at.lufs);
		break;
	case AUDIO_RENDER_TARGET_SILENT:
		set_msg(msg, msg_len, "the master is silent (no integrated loudness "
			"even at %+.0f dB of input gain)", se->gmax);
		break;
	case AUDIO_RENDER_TARGET_NOT_FOUND:
		set_msg(msg, msg_len, "%.1f LUFS not reached within %.2f LU in %d "
			"renders (closest %.2f LUFS)", se->target,
			AUDIO_RENDER_TARGET_TOL_LU, r->passes, r->at.lufs);
		break;
	default:
		break;
	}
}

int audio_render_find_gain(const struct audio_clip *mix,
			   const struct audio_render_opts *o, double target_lufs,
			   double max_gr_db, struct audio_render_target *r,
			   audio_render_pass_progress progress, void *user,
			   char *msg, size_t msg_len)
{
	struct search se;
	struct audio_render_pass p, prev = { 0 };
	const struct chain_param *gp;
	double lo = -HUGE_VAL, hi = HUGE_VAL, g;
	bool have_prev = false, on_target = false, refused = false;
	int err;

	if (msg && msg_len)
		msg[0] = '\0';
	if (!mix || !o || !r) {
		set_msg(msg, msg_len, "nothing to render");
		return AUDIO_RENDER_ERROR_FORMAT;
	}
	memset(r, 0, sizeof(*r));
	err = check_signal(o, msg, msg_len);
	if (err)
		return err;
	if (!isfinite(target_lufs) || !(max_gr_db >= 0) || !isfinite(max_gr_db)) {
		set_msg(msg, msg_len, "bad target (%g LUFS, at most %g dB of limiting)",
			target_lufs, max_gr_db);
		return AUDIO_RENDER_ERROR_FORMAT;
	}
	memset(&se, 0, sizeof(se));
	se.gain_idx = chain_param_find("gain.gain_db");
	if (se.gain_idx < 0) {
		set_msg(msg, msg_len, "the chain has no input gain");
		return AUDIO_RENDER_ERROR_CHAIN;
	}
	if (o->input_ring) {
		/* the passes read the clip again from its start */
		set_msg(msg, msg_len, "a search needs the whole clip, not a ring");
		return AUDIO_RENDER_ERROR_CHAIN;
	}
	gp = chain_param_at((unsigned)se.gain_idx)->param;
	se.mix = mix;
	se.o = o;
	se.s = o->settings;
	se.gmin = gp->min;
	se.gmax = gp->max;
	se.target = target_lufs;
	se.ceiling = setting(&o->settings, "limiter.ceiling_dbtp", 0.0);
	se.max_gr = max_gr_db;
	se.r = r;
	se.progress = progress;
	se.user = user;
	se.msg = msg;
	se.msg_len = msg_len;
	r->target_lufs = target_lufs;
	r->ceiling_dbtp = se.ceiling;
	r->max_gr_db = max_gr_db;

	/* 1: the target */
	g = o->settings.value[se.gain_idx];
	for (;;) {
		double f;

		if (r->passes >= AUDIO_RENDER_TARGET_MAX_PASSES) {
			r->status = AUDIO_RENDER_TARGET_NOT_FOUND;
			break;
		}
		err = measure(&se, g, &p);
		if (err)
			return err;
		r->at = p;
		g = p.gain_db;
		f = p.lufs - target_lufs;  /* -inf when gated out */
		if (feasible(&se, &p) &&
		    (!r->has_best || p.gain_db > r->best.gain_db)) {
			r->best = p;
			r->has_best = true;
		}
		if (fabs(f) <= AUDIO_RENDER_TARGET_TOL_LU) {
			on_target = true;
			if (!feasible(&se, &p))
				refused = true;
			break;
		}
		if (f < 0 && !feasible(&se, &p)) {
			refused = true;  /* louder needs still more */
			break;
		}
		if (f < 0) {
			if (g >= se.gmax) {
				r->status = isfinite(p.lufs) ?
					    AUDIO_RENDER_TARGET_ABOVE_RANGE :
					    AUDIO_RENDER_TARGET_SILENT;
				break;
			}
			if (g > lo)
				lo = g;
		} else {
			if (g <= se.gmin) {
				r->status = AUDIO_RENDER_TARGET_BELOW_RANGE;
				break;
			}
			if (g < hi)
				hi = g;
		}
		if (isfinite(lo) && isfinite(hi) && hi - lo < 1e-4) {
			r->status = AUDIO_RENDER_TARGET_NOT_FOUND;
			break;
		}
		g = next_gain(have_prev ? prev.gain_db : g,
			      have_prev ? prev.lufs - target_lufs : NAN,
			      g, f, lo, hi, se.gmin, se.gmax,
			      isfinite(f) ? -f : se.gmax - se.gmin);
		prev = p;
		have_prev = true;
	}

	/* 2: refused: the loudest master within the constraints */
	if (refused) {
		r->status = r->at.gr_peak_db > max_gr_db ?
			    AUDIO_RENDER_TARGET_LIMITING :
			    AUDIO_RENDER_TARGET_TRUE_PEAK;
		err = search_best(&se, &r->at);
		if (err)
			return err;
	}
	if (r->status == AUDIO_RENDER_TARGET_REACHED)
		return AUDIO_RENDER_OK;
	if (r->status == AUDIO_RENDER_TARGET_BELOW_RANGE ||
	    r->status == AUDIO_RENDER_TARGET_SILENT)
		r->has_best = false;
	target_msg(&se, on_target, msg, msg_len);
	return AUDIO_RENDER_ERROR_TARGET;
}

/* "-9.8" with one decimal, "-inf" for silence. */
static const char *fmt1(char *buf, size_t len, double v)
{
	if (isinf(v) && v < 0)
		snprintf(buf, len, "-inf");
	else if (!isfinite(v))
		snprintf(buf, len, "?");
	else
		snprintf(buf, len, "%.1f", fabs(v) < 0.05 ? 0.0 : v);
	return buf;
}

void audio_render_summary(char *buf, size_t len, const char *out_path,
			  const struct audio_render_opts *o, double in_rate,
			  const struct refs_loudness *lm, const struct audio_render_target *tr)
{
	const char *fmt = audio_render_format_name(o);
	char a[32], b[32], c[32];
	int n;

	n = snprintf(buf, len, "%s: %s %.0f Hz, %s LUFS, LRA %s LU, true peak %s dBTP",
		     out_path, fmt ? fmt : "?", o->rate ? o->rate : in_rate,
		     fmt1(a, sizeof(a), lm->integrated_lufs), fmt1(b, sizeof(b), lm->lra_lu),
		     fmt1(c, sizeof(c), lm->true_peak_dbtp));
	if (tr && n >= 0 && (size_t)n < len)
		snprintf(buf + n, len - (size_t)n,
			 "\n%s: target %.1f LUFS: input gain %+.2f dB, limiter gain reduction "
			 "%.1f dB peak (%.1f max), %.1f dB mean, %d renders", out_path,
			 tr->target_lufs, tr->at.gain_db, tr->at.gr_peak_db, tr->at.gr_max_db,
			 tr->at.gr_mean_db, tr->passes);
}

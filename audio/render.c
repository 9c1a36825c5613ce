/*
 * termaster — the offline driver (see render.h).
 *
 * Data flow of audio_render_file():
 *
 *   clip ─▶ chain (fixed blocks of AUDIO_RENDER_BLOCK, latency dropped,
 *           tail flushed) ─▶ libsamplerate (only when the rate changes)
 *        ─▶ dither/quantise (integer) or as-is (float)
 *        ─▶ libsndfile, temporary file in the target folder
 *        └▶ refs_analyser (the very samples written, as floats)
 *   then fsync, rename into place, fsync the folder.
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

int audio_render_run(const float *lr, int64_t frames, double rate,
		     const struct chain_settings *s, audio_render_sink sink,
		     void *user)
{
	float left[AUDIO_RENDER_BLOCK], right[AUDIO_RENDER_BLOCK];
	float out[2 * AUDIO_RENDER_BLOCK];
	float *const buf[2] = { left, right };
	struct chain *c;
	unsigned long csr;
	int64_t latency, total, pos;
	int err = 0, ret = AUDIO_RENDER_OK;

	if (frames < 0 || !sink || (frames > 0 && !lr))
		return AUDIO_RENDER_ERROR_CHAIN;
	c = chain_new(rate, AUDIO_RENDER_BLOCK, s, &err);
	if (!c)
		return err == CHAIN_ERROR_NOMEM ? AUDIO_RENDER_ERROR_NOMEM
						: AUDIO_RENDER_ERROR_CHAIN;
	csr = ftz_enable();
	latency = chain_latency(c);
	total = frames + latency;

	/*
	 * Input frame i comes out of the chain at i + latency.  Feed the
	 * input, then `latency` frames of silence; keep output frames from
	 * index `latency` on.  The sink sees exactly `frames` frames.
	 */
	for (pos = 0; pos < total; pos += AUDIO_RENDER_BLOCK) {
		unsigned n = (unsigned)(total - pos < AUDIO_RENDER_BLOCK ?
					total - pos : AUDIO_RENDER_BLOCK);
		unsigned i, skip, m;

		for (i = 0; i < n; i++) {
			int64_t k = pos + i;

			if (k < frames) {
				left[i] = lr[2 * k];
				right[i] = lr[2 * k + 1];
			} else {
				left[i] = 0.0f;
				right[i] = 0.0f;
			}
		}
		chain_process(c, buf, n);

		skip = pos >= latency ? 0 :
		       (unsigned)(latency - pos < n ? latency - pos : n);
		m = n - skip;
		if (!m)
			continue;
		for (i = 0; i < m; i++) {
			out[2 * i] = left[skip + i];
			out[2 * i + 1] = right[skip + i];
		}
		if (sink(user, out, m)) {
			ret = AUDIO_RENDER_ERROR_CANCELLED;
			break;
		}
	}

	ftz_restore(csr);
	chain_free(&c);
	return ret;
}

/* ---- options and formats ---- */

void audio_render_opts_default(struct audio_render_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->bits = 24;
	o->dither = true;
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

static int check_opts(const struct audio_render_opts *o, const char *clip_path,
		      char *msg, size_t msg_len)
{
	const char *out = o->out_path;
	const char *ext;
	struct stat st;
	int fmt, bits = opts_bits(o);

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
	if (bits != 16 && bits != 24 && bits != 32) {
		set_msg(msg, msg_len, "%d bits is not supported: use 16, 24 "
			"(integer) or 32 (float)", bits);
		return AUDIO_RENDER_ERROR_FORMAT;
	}
	if (fmt == SF_FORMAT_FLAC && bits == 32) {
		set_msg(msg, msg_len, "FLAC has no 32-bit float: use 16 or 24 "
			"bits, or .wav/.aiff for float");
		return AUDIO_RENDER_ERROR_FORMAT;
	}
	if (o->rate != 0 && !(o->rate >= AUDIO_CLIP_MIN_RATE &&
			      o->rate <= AUDIO_CLIP_MAX_RATE)) {
		set_msg(msg, msg_len, "sample rate %g Hz is outside %d … %d Hz",
			o->rate, AUDIO_CLIP_MIN_RATE, AUDIO_CLIP_MAX_RATE);
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

/* ---- the writer: sink of audio_render_run() ---- */

#define WR_CHUNK 4096  /* frames per conversion step */

struct writer {
	SNDFILE *sf;
	int bits;
	struct chain_dither *dither;
	double lsb_scale;            /* 2^(bits-1) */
	SRC_STATE *src;
	double ratio;
	float *src_out;              /* WR_CHUNK frames */
	int32_t *ibuf;               /* WR_CHUNK frames */
	float *fbuf;                 /* WR_CHUNK frames: what ibuf holds, as float */
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
		if (w->bits == 32) {
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
			done = sf_writef_int(w->sf, w->ibuf, (sf_count_t)m);
		}
		if (done != (sf_count_t)m) {
			char why[256];

			snprintf(why, sizeof(why), "write failed: %s",
				 sf_strerror(w->sf));
			return wr_fail(w, AUDIO_RENDER_ERROR_WRITE, why);
		}
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
		    wr_write(w, w->src_out, (size_t)d.output_frames_gen))
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

/* Writes silence until out_frames (libsamplerate may stop a frame short). */
static int wr_pad(struct writer *w)
{
	static const float zero[2 * 256];

	while (w->out_done < w->out_frames) {
		int64_t m = w->out_frames - w->out_done;

		if (wr_write(w, zero, (size_t)(m < 256 ? m : 256)))
			return -1;
	}
	return 0;
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
	struct writer w;
	SF_INFO info;
	char dir[PATH_MAX], tmp[PATH_MAX + 64];
	const char *base;
	double out_rate;
	int fmt, bits, fd = -1, err, e = 0;
	bool have_tmp = false;

	memset(&w, 0, sizeof(w));
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
	w.bits = bits;
	w.msg = msg;
	w.msg_len = msg_len;
	w.progress = o->progress;
	w.user = o->user;
	w.in_frames = mix->frames;
	w.ratio = out_rate / mix->rate;
	w.out_frames = out_rate == mix->rate ? mix->frames :
		       (int64_t)llround((double)mix->frames * w.ratio);
	w.lsb_scale = ldexp(1.0, bits - 1);

	/* the file's format */
	memset(&info, 0, sizeof(info));
	info.samplerate = (int)lround(out_rate);
	info.channels = 2;
	if (fmt == SF_FORMAT_WAV &&
	    (double)w.out_frames * 2.0 * (bits / 8) > RENDER_WAV_MAX_BYTES)
		fmt = SF_FORMAT_RF64;
	info.format = fmt | (bits == 16 ? SF_FORMAT_PCM_16 :
			     bits == 24 ? SF_FORMAT_PCM_24 : SF_FORMAT_FLOAT);
	if (!sf_format_check(&info)) {
		set_msg(msg, msg_len, "libsndfile cannot write %s at %d Hz",
			audio_render_format_name(o), info.samplerate);
		return AUDIO_RENDER_ERROR_FORMAT;
	}

	/* the processing objects */
	if (bits != 32 && o->dither) {
		w.dither = chain_dither_new(2, (unsigned)bits, RENDER_DITHER_SEED, &e);
		if (!w.dither) {
			set_msg(msg, msg_len, "dither: %s", chain_strerror(e));
			return e == CHAIN_ERROR_NOMEM ? AUDIO_RENDER_ERROR_NOMEM :
							AUDIO_RENDER_ERROR_CHAIN;
		}
	}
	if (out_rate != mix->rate) {
		w.src = src_new(SRC_SINC_BEST_QUALITY, 2, &e);
		if (!w.src) {
			set_msg(msg, msg_len, "sample rate conversion: %s",
				src_strerror(e));
			err = AUDIO_RENDER_ERROR_SRC;
			goto out;
		}
	}
	w.src_out = malloc(sizeof(float) * 2 * WR_CHUNK);
	w.ibuf = malloc(sizeof(int32_t) * 2 * WR_CHUNK);
	w.fbuf = malloc(sizeof(float) * 2 * WR_CHUNK);
	if (!w.src_out || !w.ibuf || !w.fbuf) {
		set_msg(msg, msg_len, "out of memory");
		err = AUDIO_RENDER_ERROR_NOMEM;
		goto out;
	}
	if (measured) {
		w.an = refs_analyser_new(2, out_rate, &e);
		if (!w.an) {
			set_msg(msg, msg_len, "loudness analysis: %s",
				refs_loudness_strerror(e));
			err = e == REFS_LOUDNESS_ERROR_NOMEM ?
			      AUDIO_RENDER_ERROR_NOMEM : AUDIO_RENDER_ERROR_WRITE;
			goto out;
		}
	}

	/* the temporary file, beside the output so rename() is atomic */
	if (split_path(o->out_path, dir, sizeof(dir), &base) ||
	    snprintf(tmp, sizeof(tmp), "%s/.%s.XXXXXX.tmp", dir, base) >=
	    (int)sizeof(tmp)) {
		set_msg(msg, msg_len, "path too long");
		err = AUDIO_RENDER_ERROR_WRITE;
		goto out;
	}
	fd = mkostemps(tmp, 4, O_CLOEXEC);
	if (fd < 0) {
		set_msg(msg, msg_len, "cannot write to %s: %s", dir, strerror(errno));
		err = AUDIO_RENDER_ERROR_WRITE;
		goto out;
	}
	have_tmp = true;
	(void)fchmod(fd, 0666 & ~current_umask());
	w.sf = sf_open_fd(fd, SFM_WRITE, &info, SF_FALSE);
	if (!w.sf) {
		set_msg(msg, msg_len, "cannot write: %s", sf_strerror(NULL));
		err = AUDIO_RENDER_ERROR_WRITE;
		goto out;
	}
	/* no PEAK chunk: it holds a time stamp, and renders must be
	 * byte-identical */
	sf_command(w.sf, SFC_SET_ADD_PEAK_CHUNK, NULL, SF_FALSE);
	sf_command(w.sf, SFC_SET_CLIPPING, NULL, SF_FALSE);
	sf_set_string(w.sf, SF_STR_SOFTWARE, PACKAGE_STRING);

	/* render */
	clock_gettime(CLOCK_MONOTONIC, &w.last);
	if (wr_progress(&w, 0.0, true)) {
		err = w.err;
		goto out;
	}
	err = audio_render_run(mix->data, mix->frames, mix->rate, &o->settings,
			       wr_sink, &w);
	if (err == AUDIO_RENDER_ERROR_CANCELLED && w.err)
		err = w.err;  /* the sink's reason */
	if (err) {
		if (err == AUDIO_RENDER_ERROR_CHAIN)
			set_msg(msg, msg_len, "cannot build the chain at %g Hz",
				mix->rate);
		else if (err == AUDIO_RENDER_ERROR_NOMEM && !w.err)
			set_msg(msg, msg_len, "out of memory");
		goto out;
	}
	if ((w.src && wr_resample(&w, NULL, 0, 1)) || wr_pad(&w) ||
	    wr_progress(&w, 1.0, true)) {
		err = w.err;
		goto out;
	}

	/* finish the file: header, data on disk, then the name */
	e = sf_close(w.sf);
	w.sf = NULL;
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
	if (w.an) {
		e = refs_analyser_result(w.an, measured);
		if (e) {
			set_msg(msg, msg_len, "loudness analysis: %s",
				refs_loudness_strerror(e));
			err = e == REFS_LOUDNESS_ERROR_NOMEM ?
			      AUDIO_RENDER_ERROR_NOMEM : AUDIO_RENDER_ERROR_WRITE;
			goto out;
		}
	}
	err = publish(tmp, o->out_path, o->force, msg, msg_len);
	if (!err) {
		have_tmp = false;
		fsync_dir(dir);
	}

out:
	if (w.sf)
		sf_close(w.sf);
	if (fd >= 0)
		close(fd);
	if (have_tmp)
		unlink(tmp);
	refs_analyser_free(&w.an);
	if (w.src)
		src_delete(w.src);
	chain_dither_free(&w.dither);
	free(w.src_out);
	free(w.ibuf);
	free(w.fbuf);
	return err;
}

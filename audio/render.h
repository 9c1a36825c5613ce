/*
 * termaster — the offline driver: the same chain as live playback, over a
 * whole clip.
 *
 * audio_render_run() feeds the clip through a new chain built from the
 * settings, in fixed blocks, with the latency compensated (the first
 * `latency` output frames are dropped and the tail is flushed with silence),
 * so the sink receives exactly `frames` frames aligned with the input.  It
 * is deterministic: the same input and settings give the same floats.
 *
 * audio_render_file() adds rate conversion (libsamplerate, best quality)
 * followed by a true-peak guard at the output rate, dither for integer
 * output, and writes with libsndfile to a temporary file in the target
 * folder which is renamed into place only when complete.  It never
 * overwrites its input, and an existing output only with `force`.
 *
 * audio_render_find_gain() searches the input gain at which that same
 * render reads a loudness target, measuring whole renders in memory.
 *
 * Not RT: runs on a worker thread or the command line.
 */
#ifndef TM_AUDIO_RENDER_H
#define TM_AUDIO_RENDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chain/chain.h"

struct audio_clip;
struct refs_loudness;

enum audio_render_error {
	AUDIO_RENDER_OK = 0,
	AUDIO_RENDER_ERROR_NOMEM,
	AUDIO_RENDER_ERROR_CHAIN,
	AUDIO_RENDER_ERROR_EXISTS,     /* output exists and force is off */
	AUDIO_RENDER_ERROR_SAME_FILE,  /* output is the input */
	AUDIO_RENDER_ERROR_FORMAT,     /* unknown extension or unsupported bits */
	AUDIO_RENDER_ERROR_WRITE,      /* see msg (libsndfile / errno) */
	AUDIO_RENDER_ERROR_SRC,
	AUDIO_RENDER_ERROR_CANCELLED,
	AUDIO_RENDER_ERROR_TARGET,     /* loudness target not reachable (see
					* struct audio_render_target) */
	AUDIO_RENDER_ERROR_INPUT,      /* opts' input_wait() failed (the
					* input's decoding says why) */
};

#define AUDIO_RENDER_BLOCK 1024

/* Receives rendered frames; return nonzero to cancel. */
typedef int (*audio_render_sink)(void *user, const float *lr, size_t frames);

/* Runs `frames` interleaved stereo frames at `rate` through a new chain
 * built from `s` (NULL = defaults) and hands the output to `sink` in blocks
 * of at most AUDIO_RENDER_BLOCK frames: exactly `frames` frames in all,
 * output frame i aligned with input frame i.  Denormals are flushed
 * (FTZ/DAZ) while it runs; the caller's mode is restored.  Returns 0,
 * AUDIO_RENDER_ERROR_NOMEM, AUDIO_RENDER_ERROR_CHAIN (rate outside 8 kHz …
 * 384 kHz, bad arguments) or AUDIO_RENDER_ERROR_CANCELLED (the sink
 * returned nonzero). */
int audio_render_run(const float *lr, int64_t frames, double rate,
		     const struct chain_settings *s, audio_render_sink sink,
		     void *user);

/* Word-length reduction to 16 or 24-bit integer output (ignored for 32-bit
 * float).  NONE and TPDF keep the values false and true had when this was
 * a bool. */
enum audio_render_dither {
	AUDIO_RENDER_DITHER_NONE = 0,  /* round to nearest */
	AUDIO_RENDER_DITHER_TPDF,      /* triangular PDF, 2 LSB p-p (default) */
	AUDIO_RENDER_DITHER_SHAPED,    /* TPDF with F-weighted noise shaping
					* (chain_dither_new_shaped(): made
					* for 44.1 kHz and above) */
};

/* Release of the true-peak guard after a rate conversion, ms: short, so
 * that its rare, small reductions (tenths of a dB on isolated inter-sample
 * peaks) are over quickly. */
#define AUDIO_RENDER_GUARD_RELEASE_MS 10.0

struct audio_render_opts {
	const char *out_path;
	const char *in_path;        /* refused as output; may be NULL */
	int bits;                   /* 16, 24 (default when 0) or 32 (float) */
	double rate;                /* 0: the clip's rate */
	bool force;                 /* replace an existing output */
	enum audio_render_dither dither;  /* default TPDF */
	struct chain_settings settings;
	int (*progress)(void *user, double fraction);  /* may be NULL; nonzero cancels */
	void *user;
	/* NULL: the clip is whole.  Else the clip is still being decoded
	 * (audio_clip_stream_wait(), audio/clip.h): its frames below k are
	 * read only once input_wait(input_user, k) has returned >= k; a
	 * return < k ends the render with AUDIO_RENDER_ERROR_INPUT.  Called
	 * from the render's two threads, one call at a time. */
	int64_t (*input_wait)(void *input_user, int64_t frames);
	void *input_user;
	/* 0: the clip holds every frame.  Else (with input_wait) its data
	 * holds input_ring frames, frame f at data + 2 (f % input_ring),
	 * and input_release(input_user, f) says the render is done with the
	 * frames below f (audio_clip_stream_open_ring(), audio/clip.h); a
	 * search for a loudness target reads the clip several times and
	 * refuses a ring (AUDIO_RENDER_ERROR_CHAIN). */
	int64_t input_ring;
	void (*input_release)(void *input_user, int64_t frames);
};

void audio_render_opts_default(struct audio_render_opts *o);

/* Renders and writes.  The chain runs at the clip's rate; when o->rate
 * differs, libsamplerate converts after it and a true-peak guard follows at
 * the output rate: a second instance of the chain's limiter
 * (chain_limiter_ops) with the same ceiling and a release of
 * AUDIO_RENDER_GUARD_RELEASE_MS, latency compensated, so that the
 * conversion cannot push the true peak over the ceiling (libebur128 reads
 * the file within ceiling + 0.05 dB).  The guard runs only when the rate
 * changes and the chain's limiter is on; otherwise the samples are those of
 * audio_render_run(), bit for bit (before dither).
 *
 * On success fills *measured (may be NULL) with the
 * loudness of what was written.  On failure nothing is left at out_path
 * (an existing file there is untouched) and msg holds the reason (no path:
 * the caller prints "termaster: OUT: reason").  Returns 0 or any
 * AUDIO_RENDER_ERROR_*: FORMAT also covers a rate outside 8 kHz … 384 kHz;
 * WRITE a missing or read-only folder, a full disk, out_path being a
 * directory; CANCELLED the progress callback returned nonzero (it is
 * called at 0, about every 0.1 s and at 1 just before the file is put in
 * place, always on the calling thread); INPUT o->input_wait failed.
 *
 * The chain runs in two stages shared by the calling thread and a second
 * thread it starts (and joins before returning), everything after the
 * chain on the calling thread; the bytes are the same as with one.  Not
 * RT-safe. */
int audio_render_file(const struct audio_clip *mix, const struct audio_render_opts *o,
		      struct refs_loudness *measured, char *msg, size_t msg_len);

/* ---- loudness target ---- */

/* Default of the largest peak gain reduction of the limiter a target may
 * ask for, dB (struct audio_render_pass: gr_peak_db).  A true-peak
 * brick-wall limiter taking up to 3–6 dB off the transients the music
 * keeps hitting is the everyday range of loud, clean masters; beyond about
 * 6 dB kicks and snares audibly flatten and the release starts to pump and
 * distort, which is no longer limiting but crushing.  6 dB is the upper
 * edge of that range: the common streaming target (-14 LUFS) passes on an
 * ordinary mix, a -8 LUFS target on a dynamic one is refused (the music of
 * tests/test_render.c: -14 LUFS takes 0 dB, -10.5 LUFS 4 dB, -8 LUFS would
 * take 8).  --max-gr-db sets another limit. */
#define AUDIO_RENDER_MAX_GR_DB 6.0
/* Share of the master's blocks whose gain reduction may exceed the peak
 * (gr_peak_db): 0.5 %, about 1 s of a 3-minute song.  So one stray
 * transient, or the first hit of a song going through a compressor that
 * has not engaged yet, does not decide the peak; the transients the music
 * keeps hitting, and a loud section of a second or more, do. */
#define AUDIO_RENDER_GR_PEAK_SHARE 0.005
/* Accepted distance from the loudness target, LU (the search aims there;
 * the requirement is 0.1 LU, EBU Tech 3341's meter tolerance). */
#define AUDIO_RENDER_TARGET_TOL_LU 0.05
/* Accepted true peak above the ceiling, dB. */
#define AUDIO_RENDER_TARGET_TP_TOL_DB 0.05
/* Most renders one search makes (the target, then the loudest reachable
 * level when the target is refused); 3 to 5 is usual. */
#define AUDIO_RENDER_TARGET_MAX_PASSES 12

enum audio_render_target_status {
	AUDIO_RENDER_TARGET_REACHED = 0,
	AUDIO_RENDER_TARGET_LIMITING,    /* needs more than max_gr_db of peak
					  * gain reduction */
	AUDIO_RENDER_TARGET_TRUE_PEAK,   /* the true peak would exceed the
					  * ceiling (the limiter is off) */
	AUDIO_RENDER_TARGET_ABOVE_RANGE, /* louder than +24 dB of input gain
					  * gives */
	AUDIO_RENDER_TARGET_BELOW_RANGE, /* quieter than -24 dB of input gain
					  * gives */
	AUDIO_RENDER_TARGET_SILENT,      /* the master has no integrated
					  * loudness (all gated out) */
	AUDIO_RENDER_TARGET_NOT_FOUND,   /* no gain within the tolerance after
					  * AUDIO_RENDER_TARGET_MAX_PASSES */
};

/* Figures of one render of the master. */
struct audio_render_pass {
	double gain_db;         /* input gain (gain.gain_db) */
	double lufs;            /* integrated loudness, -HUGE_VAL if gated out */
	double true_peak_dbtp;  /* libebur128's reading (by its equivalent
				 * meter, the same to the last bit), of the
				 * samples as written */
	/* The limiter's gain reduction, from chain_gain_reduction_db() after
	 * each block of AUDIO_RENDER_BLOCK frames (the largest reduction
	 * applied to that block's output), dB: */
	double gr_peak_db;      /* the peak: exceeded in no more than
				 * AUDIO_RENDER_GR_PEAK_SHARE of the blocks
				 * louder than -70 dBFS (mean square); what
				 * max_gr_db limits */
	double gr_max_db;       /* the largest of all (a GR meter's peak hold) */
	double gr_mean_db;      /* the mean of the blocks' reductions weighted
				 * by the energy of the master in each block,
				 * so quiet passages and silence count little:
				 * the reduction the music is heard through;
				 * close to the loudness the limiter takes
				 * off (measured on music with the limiter
				 * alone: within 0.1 LU of the loudness the
				 * same gain gives without limiting) */
	double guard_gr_max_db; /* largest reduction by the true-peak guard
				 * after a rate conversion (0 without one) */
};

struct audio_render_target {
	enum audio_render_target_status status;
	double target_lufs, ceiling_dbtp, max_gr_db;  /* what was asked */
	struct audio_render_pass at;  /* REACHED: the master at the gain found
				       * (exactly what audio_render_file()
				       * writes with that gain); otherwise the
				       * last render made */
	/* The loudest master within the limits found (LIMITING, TRUE_PEAK,
	 * ABOVE_RANGE): best.lufs is what can be reached, at best.gain_db.
	 * has_best false when no render was within the limits. */
	bool has_best;
	struct audio_render_pass best;
	int passes;             /* renders made */
};

/* Called during each render of a search: pass 1, 2, … and the fraction of
 * that render done.  Nonzero cancels. */
typedef int (*audio_render_pass_progress)(void *user, int pass, double fraction);

/* Finds the input gain (gain.gain_db, -24 … +24 dB) at which the master —
 * what audio_render_file(mix, o) writes: the whole chain, the rate
 * conversion and its guard, dither, at the output rate — reads target_lufs
 * integrated within AUDIO_RENDER_TARGET_TOL_LU, with its true peak at most
 * the ceiling (o->settings' limiter.ceiling_dbtp) + 0.05 dB and the
 * limiter's peak gain reduction (gr_peak_db) at most max_gr_db.  The rest
 * of o->settings is kept; o->out_path, force and progress are not used.  Loudness rises
 * monotonically with the gain, so a secant search with bisection as a
 * safeguard gets there in a few renders, measured in memory with
 * refs_analyser (nothing is written).  When the target cannot be reached
 * within the limits it searches the loudest master that can (result->best).
 * Not RT; runs for a few whole renders.
 *
 * Returns 0 (REACHED; set gain.gain_db to result->at.gain_db and render),
 * AUDIO_RENDER_ERROR_TARGET (result->status says why, msg says it in
 * words with the loudest reachable level), or AUDIO_RENDER_ERROR_NOMEM,
 * _CHAIN, _SRC, _FORMAT (bad bits, rate or dither, or a target or
 * max_gr_db that is not a number >= 0), _CANCELLED (progress returned
 * nonzero). */
int audio_render_find_gain(const struct audio_clip *mix,
			   const struct audio_render_opts *o, double target_lufs,
			   double max_gr_db, struct audio_render_target *result,
			   audio_render_pass_progress progress, void *user,
			   char *msg, size_t msg_len);

/* libsndfile major format for an output path's extension (.wav, .aiff,
 * .aif, .flac), or 0 when unknown. */
int audio_render_format_for(const char *path);

/* Checks the options without rendering, so that a command can fail before
 * it decodes its input: the output's extension, bits, rate and dither, that
 * out_path is not in_path (same inode or same canonical path, whatever
 * `force` says) and, without force, that it does not exist.
 * audio_render_file() runs the same checks first (and also refuses the
 * clip's own path).  Returns 0, AUDIO_RENDER_ERROR_FORMAT,
 * AUDIO_RENDER_ERROR_SAME_FILE, AUDIO_RENDER_ERROR_EXISTS or
 * AUDIO_RENDER_ERROR_WRITE (out_path is a directory), with a one-line
 * reason in msg (no path: the caller prints "termaster: OUT: reason"). */
int audio_render_check(const struct audio_render_opts *o, char *msg,
		       size_t msg_len);

/* What the options write: "WAV 24-bit", "AIFF 32-bit float",
 * "FLAC 16-bit" (static storage), or NULL when the extension or the bits
 * are not supported. */
const char *audio_render_format_name(const struct audio_render_opts *o);

/* The summary `termaster render` prints, and the render dialog and the
 * headless `render` show, word for word, without a final newline:
 *   OUT: FORMAT RATE Hz, I LUFS, LRA LU, true peak dBTP
 * and with a loudness target (tr not NULL) a second line
 *   OUT: target T LUFS: input gain G dB, limiter gain reduction … renders
 * in_rate is the mix's rate (written when o->rate is 0). */
void audio_render_summary(char *buf, size_t len, const char *out_path,
			  const struct audio_render_opts *o, double in_rate,
			  const struct refs_loudness *lm, const struct audio_render_target *tr);

#endif

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
 * audio_render_file() adds rate conversion (libsamplerate, best quality),
 * TPDF dither for integer output, and writes with libsndfile to a temporary
 * file in the target folder which is renamed into place only when complete.
 * It never overwrites its input, and an existing output only with `force`.
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

struct audio_render_opts {
	const char *out_path;
	const char *in_path;        /* refused as output; may be NULL */
	int bits;                   /* 16, 24 (default when 0) or 32 (float) */
	double rate;                /* 0: the clip's rate */
	bool force;                 /* replace an existing output */
	bool dither;                /* TPDF for integer output (default true via audio_render_opts_default) */
	struct chain_settings settings;
	int (*progress)(void *user, double fraction);  /* may be NULL; nonzero cancels */
	void *user;
};

void audio_render_opts_default(struct audio_render_opts *o);

/* Renders and writes.  On success fills *measured (may be NULL) with the
 * loudness of what was written.  On failure nothing is left at out_path
 * (an existing file there is untouched) and msg holds the reason (no path:
 * the caller prints "termaster: OUT: reason").  Returns 0 or any
 * AUDIO_RENDER_ERROR_*: FORMAT also covers a rate outside 8 kHz … 384 kHz;
 * WRITE a missing or read-only folder, a full disk, out_path being a
 * directory; CANCELLED the progress callback returned nonzero (it is
 * called at 0, about every 0.1 s and at 1 just before the file is put in
 * place). */
int audio_render_file(const struct audio_clip *mix, const struct audio_render_opts *o,
		      struct refs_loudness *measured, char *msg, size_t msg_len);

/* libsndfile major format for an output path's extension (.wav, .aiff,
 * .aif, .flac), or 0 when unknown. */
int audio_render_format_for(const char *path);

/* Checks the options without rendering, so that a command can fail before
 * it decodes its input: the output's extension, bits and rate, that
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

#endif

/*
 * termaster — decoded audio held in memory.
 *
 * A clip is immutable float32 interleaved stereo at the session rate.  It is
 * decoded with libsndfile and converted with libsamplerate (SRC_SINC_BEST_QUALITY)
 * on a worker thread, never in the audio callback.  Once handed to the engine
 * it is never modified; it is freed only after the engine has given it back.
 *
 * Errors: 0 or enum audio_clip_error.  Loaders also write a one-line reason
 * (no path, no "termaster:") to the caller's buffer; the caller prints
 * "termaster: PATH: reason".
 */
#ifndef TM_AUDIO_CLIP_H
#define TM_AUDIO_CLIP_H

#include <stddef.h>
#include <stdint.h>

enum audio_clip_error {
	AUDIO_CLIP_OK = 0,
	AUDIO_CLIP_ERROR_ERRNO,       /* open/stat failed, see errno (missing, unreadable) */
	AUDIO_CLIP_ERROR_DIRECTORY,   /* path is a directory */
	AUDIO_CLIP_ERROR_EMPTY,       /* zero-length file or no frames */
	AUDIO_CLIP_ERROR_FORMAT,      /* not audio, or a format libsndfile lacks */
	AUDIO_CLIP_ERROR_CHANNELS,    /* more than two channels */
	AUDIO_CLIP_ERROR_RATE,        /* sample rate outside 8 kHz … 384 kHz */
	AUDIO_CLIP_ERROR_READ,        /* truncated or corrupt data */
	AUDIO_CLIP_ERROR_NOMEM,
	AUDIO_CLIP_ERROR_SRC,         /* libsamplerate failed */
	AUDIO_CLIP_ERROR_CANCELLED,
};

#define AUDIO_CLIP_MIN_RATE 8000
#define AUDIO_CLIP_MAX_RATE 384000

struct audio_clip {
	float *data;             /* frames × 2, interleaved L R */
	int64_t frames;
	double rate;             /* the session rate it was converted to */
	/* what the file was */
	int file_rate;
	int file_channels;
	int64_t file_frames;
	char format[64];         /* "WAV 24-bit", "FLAC 16-bit", "Ogg Vorbis" … */
	int64_t nonfinite;       /* NaN/Inf samples replaced by 0 */
	char *path;              /* as given */
	const char *name;        /* basename, points into path */
};

/* File facts without decoding: rate, channels, frames.  Returns 0 or an
 * error with reason in msg. */
int audio_clip_probe(const char *path, int *rate, int *channels,
		     int64_t *frames, char *msg, size_t msg_len);

/* Progress/cancel hook called from the decoding thread every ~0.1 s of
 * work with a fraction 0 … 1.  Return nonzero to cancel. */
typedef int (*audio_clip_progress_fn)(void *user, double fraction);

/* Decode `path` and convert it to `rate` (0 = keep the file's rate).  On
 * success *out owns a new clip.  Mono is copied to both channels.  Non-
 * finite samples become 0 and are counted in clip->nonfinite. */
int audio_clip_load(const char *path, double rate, struct audio_clip **out,
		    audio_clip_progress_fn progress, void *user,
		    char *msg, size_t msg_len);

/* Build a clip from interleaved stereo floats (copied); for generated
 * material.  `name` is shown on screen.  Returns NULL on allocation failure. */
struct audio_clip *audio_clip_from_frames(const char *name, const float *lr,
					  int64_t frames, double rate);

/*
 * Decoding while the clip is used: audio_clip_stream_open() opens and
 * checks `path` as audio_clip_load() does (the same errors), allocates the
 * whole clip at the file's own rate and decodes it on a thread of its own;
 * audio_clip_stream_clip() is that clip at once, with its frame count,
 * rate and format filled in, but only frames below what
 * audio_clip_stream_wait() returned may be read.  When the length cannot
 * be known before decoding (MPEG, a header without a frame count) the
 * open decodes the whole file first (reporting progress as
 * audio_clip_load() does; the thread never calls `progress`).  The samples
 * are audio_clip_load()'s, bit for bit.
 *
 * audio_clip_stream_wait() blocks until at least `frames` frames are
 * decoded or the decoding ended; returns the frames decoded (>= frames,
 * or fewer when the file ended short of that), or -1 when the decoding
 * failed (audio_clip_stream_finish() says why).
 *
 * audio_clip_stream_finish() waits for the end and returns 0 or the
 * decoding's error (the audio_clip_load() codes, reason in msg); only then
 * is clip->nonfinite final.  audio_clip_stream_free() stops the decoding
 * (cancels it when still running), frees the clip with it and sets *st to
 * NULL; accepts NULL.  One reader at a time (any thread).
 *
 * audio_clip_stream_open_ring() with ring > 0 is for a reader that reads
 * the frames once, in order (a render to a file): clip->data then holds
 * only `ring` frames, frame f at clip->data + 2 (f % ring), and the
 * decoding stays at most `ring` frames ahead of what the reader has given
 * back with audio_clip_stream_release(st, f) (it is done with the frames
 * below f; call it as you go, or the decoding stops; wait for at most
 * ring / 2 frames past what was given back).  Four minutes at
 * 44.1 kHz then need 2 MB instead of 85 MB, which are never faulted in,
 * and the frames are read while still in the cache.
 * audio_clip_stream_ring() is the ring's size, or 0 when the clip holds
 * every frame (ring 0, or a file decoded whole at the open).
 */
struct audio_clip_stream;
int audio_clip_stream_open(const char *path, struct audio_clip_stream **st,
			   audio_clip_progress_fn progress, void *user,
			   char *msg, size_t msg_len);
int audio_clip_stream_open_ring(const char *path, int64_t ring,
				struct audio_clip_stream **st,
				audio_clip_progress_fn progress, void *user,
				char *msg, size_t msg_len);
int64_t audio_clip_stream_ring(const struct audio_clip_stream *st);
void audio_clip_stream_release(struct audio_clip_stream *st, int64_t frames);
const struct audio_clip *audio_clip_stream_clip(const struct audio_clip_stream *st);
int64_t audio_clip_stream_wait(struct audio_clip_stream *st, int64_t frames);
int audio_clip_stream_finish(struct audio_clip_stream *st, char *msg, size_t msg_len);
void audio_clip_stream_free(struct audio_clip_stream **st);

/* Frees the clip and sets *c to NULL.  Accepts NULL and *c == NULL. */
void audio_clip_free(struct audio_clip **c);

/* Lowers the calling thread's CPU priority (nice +10, Linux) so that the
 * audio callback and the screen win the CPU over decoding, measuring and
 * background renders: a key still answers at once while 32 references
 * load.  Workers call it first thing; elsewhere it does nothing. */
void audio_thread_background(void);

#endif

/*
 * termaster — codec preview: the master through MP3, Opus or Vorbis and
 * back, as a listener of a download or a stream hears it.
 *
 * audio_codec_preview() takes the master as it stands (the current chain
 * rendered over the mix or the loop region: audio_render_run()), encodes it
 * with libsndfile at a chosen bitrate, decodes it again and hands back
 *
 *   - the decoded audio: float stereo at the same rate, of the same length
 *     and sample-aligned with the input (frame i of one is frame i of the
 *     other), to be played in place of the master, matched in loudness
 *     (match_gain_db);
 *   - the artefacts: decoded − original, sample by sample (what the codec
 *     added and took away), to be played as a source of its own;
 *   - the true peak of the decoded audio and where it exceeds a ceiling:
 *     lossy coding removes and shifts spectral content, so a master limited
 *     to -1 dBTP reads 0.15 dB to over 2 dB higher once decoded;
 *   - loudness, the encoded size and the bitrate that size amounts to.
 *
 * Everything happens in memory (libsndfile virtual I/O, no temporary file).
 * Not RT: it runs on a worker thread and can be cancelled.  Measured here
 * (2 cores, loaded): 2.2 … 3 s per minute of stereo at 48 kHz, 4 s per
 * minute for Opus at 44.1 kHz (two rate conversions); the measurements
 * (libebur128 and the true-peak detector, over input and output) are
 * about half of it.  Memory: the output holds two buffers the size of the
 * input (decoded, artefacts); while it runs up to two more at the codec
 * rate are held.
 *
 * Rates.  Each codec encodes at a rate it takes at full bandwidth; another
 * session rate is converted there and back, as a distributor converts
 * before encoding:
 *   MP3 and Vorbis: 32, 44.1 and 48 kHz as they are; rates of the
 *     44.1 kHz family (11.025, 22.05, 88.2, 176.4, 352.8 kHz) at 44.1 kHz,
 *     all others at 48 kHz.  (LAME takes only MPEG rates up to 48 kHz, and
 *     below 32 kHz MPEG-2 with other bitrates; libvorbis has no bitrate
 *     table above 50 kHz and fails at 384 kHz.)
 *   Opus: 8, 12, 16, 24 and 48 kHz as they are (the rates libsndfile's
 *     Opus encoder takes), all others at 48 kHz.
 * The converter is libsamplerate's SRC_SINC_MEDIUM_QUALITY (passband to
 * 90 % of Nyquist, 19.8 kHz at 44.1 kHz; ~97 dB SNR): the round trip's own
 * error is far below any codec's, whose lowpass sits at 16 … 20 kHz, and
 * it runs 4.6 times faster than SRC_SINC_BEST_QUALITY (0.64 s against
 * 2.95 s per conversion of a minute of stereo here), which otherwise took
 * most of the time of a 44.1 kHz session's preview in Opus.
 *
 * Bitrate.  libsndfile 1.2 has no bitrate setting; it maps its compression
 * level (SFC_SET_COMPRESSION_LEVEL, 0 … 1) to one per codec, and this module
 * inverts that mapping:
 *   MP3: constant bitrate (SFC_SET_BITRATE_MODE = SF_BITRATE_MODE_CONSTANT;
 *     libsndfile's own default is VBR), level = (320 − kbps − 0.25) / 288,
 *     which libsndfile turns into lame_set_brate(320 − 288 × level)
 *     truncated to an integer; the request is first snapped
 *     to the nearest MPEG-1 Layer III bitrate (32, 40, 48, 56, 64, 80, 96,
 *     112, 128, 160, 192, 224, 256, 320; a tie goes up).  32 … 320 kbps.
 *   Opus: libsndfile sets OPUS_SET_BITRATE to (6 + 250 × (1 − level)) kbps
 *     per channel; libopus's default VBR aims at that on average.
 *     12 … 512 kbps for stereo.
 *   Vorbis: libsndfile passes quality = 1 − level to
 *     vorbis_encode_init_vbr(); the level is found by bisection so that the
 *     nominal bitrate libvorbis writes into its identification header is
 *     the one asked for (within 0.1 kbps).  VBR: the real bitrate follows
 *     the music.  64 … 500 kbps at 44.1 and 48 kHz, 56 … 380 at 32 kHz.
 * The result gives the nominal bitrate used and the actual one
 * (encoded bytes × 8 / duration, headers and container included).
 *
 * Level.  LAME scales its input by 0.95 (-0.45 dB) at 160 kbps and below,
 * by 0.97 at 192 and 0.98 at 224 kbps (its presets.c, abr_switch_map,
 * "scale"; applied to constant bitrates too), so such an MP3 is that much
 * quieter, and its true peak lower by as much: match_gain_db makes up for
 * the level when it is played, the true-peak figures are the file's.
 *
 * Alignment.  The decoders remove the codec's delay and end padding
 * themselves when the stream declares them: mpg123 (gapless) with the
 * LAME/Info tag that libsndfile writes (encoder delay 576 + 529 decoder
 * samples, and the padding), Opus with the header's pre-skip (312 at 48
 * kHz) and the last granule position, Vorbis with its granule positions.
 * Measured with libsndfile 1.2.0: each returns exactly the input's frame
 * count, at lag 0 (tests/test_codec.c checks the residual on music is
 * smallest at lag 0, through every codec and rate conversion).  So a
 * decoder that returns the input's length is trusted; one that returns
 * another length (a decoder that left the priming in, a stream without
 * the tag) is aligned by cross-correlation: audio_codec_find_delay().
 * Either way the decoded audio is then cut, or padded with silence, to the
 * input's length.  Cross-correlation is not used when the length is right
 * because periodic material correlates about equally one period away, and
 * a codec's phase response at low bitrates (Opus at 32 kbps moves a 1 kHz
 * sine by a sample) would then move the whole stream.
 *
 * True peak.  Measured with the limiter's own detector (chain/truepeak.h,
 * dual: the larger of its 8× reading and libebur128's 4× one at every
 * point), so that "exceeds the ceiling" means what the limiter's ceiling
 * means; libebur128's reading alone (what `termaster analyze` shows) is in
 * the refs_loudness figures.
 *
 * Errors: 0 or enum audio_codec_error, with a one-line reason in msg.
 */
#ifndef TM_AUDIO_CODEC_H
#define TM_AUDIO_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "refs/loudness.h"

struct audio_clip;

enum audio_codec {
	AUDIO_CODEC_MP3 = 0,
	AUDIO_CODEC_OPUS,
	AUDIO_CODEC_VORBIS,
};
#define AUDIO_CODEC_COUNT 3

enum audio_codec_error {
	AUDIO_CODEC_OK = 0,
	AUDIO_CODEC_ERROR_ARGS,         /* NULL buffer, no frames, unknown codec */
	AUDIO_CODEC_ERROR_RATE,         /* rate outside 8 kHz … 384 kHz */
	AUDIO_CODEC_ERROR_BITRATE,      /* outside the codec's range (msg says it) */
	AUDIO_CODEC_ERROR_UNSUPPORTED,  /* libsndfile here was built without it */
	AUDIO_CODEC_ERROR_ENCODE,       /* libsndfile refused to encode */
	AUDIO_CODEC_ERROR_DECODE,       /* libsndfile could not read it back */
	AUDIO_CODEC_ERROR_SRC,          /* libsamplerate failed */
	AUDIO_CODEC_ERROR_MEASURE,      /* loudness / true-peak measurement failed */
	AUDIO_CODEC_ERROR_NOMEM,
	AUDIO_CODEC_ERROR_CANCELLED,    /* the progress callback returned nonzero */
};

/* Largest delay the alignment looks for, frames at the codec rate (85 ms
 * at 48 kHz: an MP3 decoder that leaves LAME's priming in is 1105 frames
 * late, an Opus one without pre-skip 312). */
#define AUDIO_CODEC_MAX_LAG 4096

/* Over-ceiling regions kept in the result (the first ones in time; the
 * count covers all). */
#define AUDIO_CODEC_MAX_OVERS 64
/* Readings above the ceiling closer than this are one region, s. */
#define AUDIO_CODEC_OVER_MERGE_S 0.05

struct audio_codec_opts {
	enum audio_codec codec;
	int bitrate_kbps;        /* the whole stream (both channels) */
	double ceiling_dbtp;     /* overs are listed above this; default -1;
				  * not finite (HUGE_VAL): none listed */
	int (*progress)(void *user, double fraction);  /* may be NULL; called
							* about every 0.1 s,
							* nonzero cancels */
	void *user;
};

/* codec MP3, 128 kbps, ceiling -1 dBTP, no progress. */
void audio_codec_opts_default(struct audio_codec_opts *o);

/* One stretch of the decoded audio whose true peak exceeds the ceiling. */
struct audio_codec_over {
	double start_s, end_s;   /* from the start of the input */
	double peak_dbtp;        /* the highest reading in it */
};

struct audio_codec_result {
	enum audio_codec codec;
	double rate;             /* the input's (and the outputs') rate */
	int64_t frames;          /* the input's (and the outputs') length */

	/* owned; frames × 2 interleaved L R; audio_codec_result_free() or
	 * audio_codec_take_clip() releases them */
	float *decoded;
	float *artefacts;        /* decoded − original, exactly (non-finite
				  * input samples are taken as 0) */

	/* encoding */
	int codec_rate;          /* Hz encoded at */
	int bitrate_kbps;        /* asked */
	double nominal_kbps;     /* what the encoder was set to (see above) */
	double compression_level;/* given to SFC_SET_COMPRESSION_LEVEL */
	int64_t encoded_bytes;   /* the whole stream, headers included */
	double actual_kbps;      /* encoded_bytes × 8 / duration / 1000 */

	/* alignment, frames at codec_rate */
	int64_t decoded_frames;  /* what the decoder returned */
	int64_t expected_frames; /* the input's length at codec_rate */
	int64_t delay_frames;    /* removed (> 0: the decoded audio was late);
				  * 0 when the decoder's length was right */
	double align_corr;       /* normalised correlation of the mid signals
				  * at that lag over the loudest 0.5 s (1 =
				  * the same shape; NAN when silent) */

	/* levels */
	struct refs_loudness source_loudness;   /* of the input (libebur128) */
	struct refs_loudness decoded_loudness;  /* of `decoded` (libebur128) */
	double source_true_peak_dbtp;  /* dual detector (see above) */
	double true_peak_dbtp;         /* of `decoded`, dual detector */
	double true_peak_rise_db;      /* true_peak_dbtp − source_true_peak_dbtp */
	double match_gain_db;          /* add to `decoded` to match the input's
					* integrated loudness (0 when either is
					* gated out) */
	double artefacts_rel_db;       /* RMS of the artefacts re the input's
					* RMS, dB (-HUGE_VAL if identical,
					* HUGE_VAL for a silent input) */

	/* the ceiling and where the decoded audio exceeds it */
	double ceiling_dbtp;           /* as asked; HUGE_VAL for none */
	int over_count;                /* regions in all */
	int overs_kept;                /* min(over_count, AUDIO_CODEC_MAX_OVERS) */
	double over_s;                 /* total time above, s */
	struct audio_codec_over overs[AUDIO_CODEC_MAX_OVERS];
};

/* "MP3", "Opus", "Vorbis" (static), or "?" */
const char *audio_codec_name(enum audio_codec codec);

/* Rate the codec encodes at for a session at `rate` Hz (see "Rates"). */
int audio_codec_rate(enum audio_codec codec, double rate);

/* The bitrates the codec takes at that session rate, kbps (the whole
 * stream): MP3 32 … 320, Opus 12 … 512, Vorbis what libvorbis gives at
 * quality 0 and 1 (it opens the encoder twice to read them).  Returns 0,
 * ARGS, RATE, or what opening an encoder can return (UNSUPPORTED, ENCODE,
 * NOMEM), with a reason in msg (may be NULL). */
int audio_codec_bitrate_range(enum audio_codec codec, double rate, int *min_kbps,
			      int *max_kbps, char *msg, size_t msg_len);

/* Whether libsndfile here can write the codec (opens an encoder at 48 kHz
 * in memory and closes it).  Returns 0, or AUDIO_CODEC_ERROR_UNSUPPORTED
 * with a reason such as "libsndfile here cannot write Opus (…)" (ARGS for
 * an unknown codec; ENCODE or NOMEM should libsndfile fail otherwise). */
int audio_codec_available(enum audio_codec codec, char *msg, size_t msg_len);

/*
 * Encodes `lr` (frames × 2 interleaved, at `rate` Hz) with o->codec at
 * o->bitrate_kbps, decodes it and fills *out (zeroed first; on error it
 * owns nothing).  Returns 0, or:
 *   ARGS         lr or out or o NULL, frames < 1, unknown codec
 *   RATE         rate outside 8 kHz … 384 kHz or not an integer
 *   BITRATE      outside audio_codec_bitrate_range()
 *   UNSUPPORTED  "libsndfile here cannot write MP3 (…)"
 *   ENCODE, DECODE, SRC, MEASURE, NOMEM
 *   CANCELLED    o->progress returned nonzero
 * msg (may be NULL) gets a one-line reason, no "termaster:".
 */
int audio_codec_preview(const float *lr, int64_t frames, double rate,
			const struct audio_codec_opts *o,
			struct audio_codec_result *out, char *msg, size_t msg_len);

/* Moves the decoded audio (artefacts false) or the artefacts (true) into a
 * new clip at the result's rate, named e.g. "master (MP3 128 kbps)" or
 * "artefacts (MP3 128 kbps)", without copying; the result no longer owns
 * that buffer.  Returns NULL when it was already taken or on allocation
 * failure (the buffer then stays in the result). */
struct audio_clip *audio_codec_take_clip(struct audio_codec_result *r, bool artefacts);

/* The delay of y against ref (both frames × 2 at `rate`): the lag, in
 * -AUDIO_CODEC_MAX_LAG … AUDIO_CODEC_MAX_LAG, at which y[n + lag] best
 * matches ref[n] — normalised cross-correlation of the mid signals over
 * the loudest 0.5 s of ref.  Lags within 0.005 of the best correlation
 * count as equal and the one nearest 0 wins (periodic material repeats
 * every period).  Returns 0 with *corr (may be NULL) NAN when that window
 * is silent, and 0 when no lag correlates by 0.5 or more (*corr is then
 * the correlation at lag 0).  Not RT (allocates). */
int64_t audio_codec_find_delay(const float *ref, int64_t n_ref, const float *y, int64_t n_y,
			       double rate, double *corr);

/* Frees the buffers the result still owns and sets them to NULL.  Accepts
 * NULL. */
void audio_codec_result_free(struct audio_codec_result *r);

/* Text for an AUDIO_CODEC_ERROR_* code. */
const char *audio_codec_strerror(int err);

#endif

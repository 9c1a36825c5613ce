/*
 * termaster — the workstation behind the screen and the headless reader.
 *
 * Owns the engine, the output driver and the worker thread.  The worker
 * decodes sources (libsndfile + libsamplerate), measures them (libebur128),
 * and re-renders the mix through the current chain in the background to
 * measure "after"; audio_studio_poll(), called from the control thread
 * 20–30 times a second, hands finished clips to the engine, recomputes the
 * loudness-match gains (refs/match.c) and sends them, and frees what the
 * engine gave back.
 *
 * Every function is for the one control thread (UI or headless reader).
 */
#ifndef TM_AUDIO_STUDIO_H
#define TM_AUDIO_STUDIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "audio/engine.h"
#include "chain/chain.h"
#include "refs/loudness.h"
#include "refs/match.h"
#include "refs/platform.h"
#include "refs/devices.h"
#include "audio/codec.h"

struct audio_clip;

enum audio_studio_error {
	AUDIO_STUDIO_OK = 0,
	AUDIO_STUDIO_ERROR_NOMEM,
	AUDIO_STUDIO_ERROR_MIX,     /* the mix cannot be opened: see msg */
	AUDIO_STUDIO_ERROR_ENGINE,
	AUDIO_STUDIO_ERROR_STATE,   /* no such source slot */
	AUDIO_STUDIO_ERROR_BUSY,    /* the engine's command ring is full: try again */
};

struct audio_studio_opts {
	const char *device;         /* NULL: default device */
	unsigned buffer_frames;     /* 0: host default */
	double rate;                /* 0: the mix's rate */
	bool no_device;             /* use the null driver without trying a device */
	double max_peak_dbtp;       /* matching headroom, 0.0 by default */
};

void audio_studio_opts_default(struct audio_studio_opts *o);

enum audio_source_state {
	AUDIO_SOURCE_EMPTY = 0,
	AUDIO_SOURCE_LOADING,       /* decoding; progress 0 … 1 */
	AUDIO_SOURCE_MEASURING,     /* decoded, loudness being measured */
	AUDIO_SOURCE_READY,
	AUDIO_SOURCE_FAILED,        /* error holds "reason" (no path) */
};

#define AUDIO_STUDIO_CUES_MAX 16

enum audio_align_state {
	AUDIO_ALIGN_NONE = 0,
	AUDIO_ALIGN_RUNNING,
	AUDIO_ALIGN_DONE,
	AUDIO_ALIGN_FAILED,
};

/* How sources are matched.  The method's measure of every route
 * is what its gain is computed from, and what the residual is read by. */
enum audio_match_method {
	AUDIO_MATCH_INTEGRATED = 0,   /* integrated over the whole track */
	AUDIO_MATCH_REGION,           /* integrated over the loop region (each
				       * source's own when independent) */
	AUDIO_MATCH_RIDING,           /* short-term (3 s) loudness at the
				       * playhead, followed as it plays */
	AUDIO_MATCH_METHOD_COUNT,
};
/* "integrated", "region", "riding"; find returns the method or -1. */
const char *audio_match_method_name(enum audio_match_method m);
int audio_match_method_find(const char *name);

struct audio_source_info {
	char path[1024];
	char name[256];
	enum audio_source_state state;
	double progress;
	char error[256];
	bool measured;
	struct refs_loudness loudness;   /* of the source as is (for the mix: "before") */
	double duration_s;
	int file_rate;
	int file_channels;
	char format[64];
	int64_t nonfinite;
	/* referencing */
	double offset_s;                 /* sync-timeline offset (refs) */
	double trim_db;                  /* manual match offset, added to its gain */
	bool loop_on;                    /* its own loop (independent playheads) */
	double loop_in_s, loop_out_s;
	int n_cues;
	double cue_s[AUDIO_STUDIO_CUES_MAX];   /* sorted */
	bool released;                   /* decoded once, released by the memory
					  * budget; decoded again when played */
	/* auto-align (audio_studio_align): state and last result */
	enum audio_align_state align_state;
	double align_offset_s;           /* found offset (applied when reliable) */
	double align_peak;               /* refs_align_result.peak, 0 … 1 */
	int align_verdict;               /* enum refs_align_verdict */
};

struct audio_match_info {
	bool after_measured;             /* the processed mix has been measured */
	bool after_pending;              /* a background render is running or queued */
	struct refs_loudness after;      /* loudness of the processed mix */
	struct refs_match_result result; /* common target, lowered or not;
					  * limiting_source is a route
					  * (AUDIO_ROUTE_AFTER, _BEFORE or ref n) */
	double gain_db[AUDIO_ROUTES];    /* computed match gains per route */
	enum audio_match_method method;
	bool method_ready;               /* the method's measurements are in */
	/* per route: its loudness by the method's measure plus the gain it
	 * plays at, minus the target: what is left between what you hear from
	 * it and the processed mix, in LU (0 while unmeasured) */
	double residual_lu[AUDIO_ROUTES];
	bool residual_valid[AUDIO_ROUTES];
};

/* Streaming-platform preview: while a platform is chosen, every source
 * plays at the gain that platform's loudness normalisation would give it
 * (refs/platform.h) instead of the match gain. */
struct audio_platform_info {
	int active;                      /* 0: off (matching as usual) */
	struct refs_platform rule;       /* the platform, when active */
	/* per route (AUDIO_ROUTE_AFTER, _BEFORE, ref n): what it would do */
	struct refs_platform_result result[AUDIO_ROUTES];
	int n_platforms;                 /* known platforms */
};

/* Codec preview: the master as it stands (the current chain over the
 * mix), encoded and decoded, played in place of the master (slot
 * AUDIO_SLOT_CODEC) at the master's loudness; or its artefacts (decoded -
 * original) at their own level. */
#define AUDIO_SLOT_CODEC (AUDIO_MAX_SOURCES - 2)  /* and the one after it: a new
						   * encode goes to the other slot,
						   * so the switch crossfades */
#define AUDIO_IS_CODEC_SLOT(s) ((s) == AUDIO_SLOT_CODEC || (s) == AUDIO_SLOT_CODEC + 1)

struct audio_codec_info {
	int active;                /* 0: off */
	int pending;               /* being encoded (after a change) */
	enum audio_codec codec;
	int bitrate_kbps;
	bool artefacts;
	int err;                   /* last failure, with msg */
	char msg[256];
	/* of the preview that plays (valid once !pending && !err) */
	double actual_kbps;
	double true_peak_dbtp, true_peak_rise_db, match_gain_db, ceiling_dbtp;
	int over_count;
	double over_s;
};

struct audio_studio;

/* mix_path NULL opens the demo material.  The session rate is opts->rate,
 * or the mix's rate; when the device cannot run it, the nearest rate it can
 * (status says so).  With no usable device the null driver runs and status
 * says why; analysis and render still work.  Returns NULL with *err and msg
 * set when the mix cannot even be probed. */
struct audio_studio *audio_studio_new(const char *mix_path,
				      const struct audio_studio_opts *opts,
				      int *err, char *msg, size_t msg_len);
void audio_studio_free(struct audio_studio **st);

/* Queue a reference for decoding (the worker decodes and measures one
 * after another, with progress in its info); returns its slot (1 …
 * AUDIO_SLOT_CODEC - 1: 61 references) or -1 when full.  Decoded
 * references are kept within a memory budget (default 4 GiB,
 * $TERMASTER_MEMORY_MB): past it the least recently chosen are released
 * (info.released; their measurements stay) and decoded again when chosen
 * (set_source), aligned or analysed. */
int audio_studio_add_ref(struct audio_studio *st, const char *path);

/* Integrate worker results; call 20–30 times a second. Returns true when
 * something visible changed (sources, match). */
bool audio_studio_poll(struct audio_studio *st);
/* True while decoding, measuring or a background render is pending. */
bool audio_studio_busy(struct audio_studio *st);

/* Controls: forwarded to the engine (see engine.h). */
struct audio_engine *audio_studio_engine(struct audio_studio *st);
/* Clamps to the table, sends it to the engine and schedules the
 * re-measurement of "after".  Returns 0, AUDIO_STUDIO_ERROR_STATE (no such
 * parameter) or _BUSY. */
int audio_studio_set_param(struct audio_studio *st, unsigned idx, float value);
const struct chain_settings *audio_studio_settings(const struct audio_studio *st);
/* Any existing slot, loaded or not (a source still loading plays silence
 * until it is ready).  Returns 0, AUDIO_STUDIO_ERROR_STATE or _BUSY. */
int audio_studio_set_source(struct audio_studio *st, int slot);

int audio_studio_source_count(const struct audio_studio *st);   /* mix + refs */
void audio_studio_source(struct audio_studio *st, int slot, struct audio_source_info *out);
void audio_studio_match(struct audio_studio *st, struct audio_match_info *out);

/* Choose a platform by id ("spotify-normal", "youtube" …; NULL or "off"
 * for none).  Matching is switched on while a platform is previewed.
 * Returns 0 or AUDIO_STUDIO_ERROR_STATE for an unknown id. */
int audio_studio_set_platform(struct audio_studio *st, const char *id);
void audio_studio_platform(struct audio_studio *st, struct audio_platform_info *out);
/* Known platform i (0 … n_platforms-1), or NULL. */
const struct refs_platform *audio_studio_platform_at(struct audio_studio *st, int i);

/* Playback-system simulation by name ("earbuds", "car", "phone",
 * "laptop", "tv", "flat" and the user's own; NULL or "off" for none).  The
 * simulation is built on the worker and crossfaded in; every source is
 * then measured through it (noise off, at the listening level) and the
 * match gains follow, so A/B stays matched as heard on the device.  Returns 0 or
 * AUDIO_STUDIO_ERROR_STATE for an unknown name.  Devices come from
 * $TERMASTER_DATADIR/devices, the installed pkgdatadir, or the source tree,
 * and ~/.config/termaster/devices/ (same name: the user's wins). */
int audio_studio_set_system(struct audio_studio *st, const char *name);
/* Codec preview on (codec, kbps, artefacts) or off (codec < 0).  Encoding
 * runs on the worker and is redone when the chain changes; while on,
 * choosing the mix plays the preview.  0, or _STATE for a bad codec. */
int audio_studio_set_codec(struct audio_studio *st, int codec, int bitrate_kbps, bool artefacts);
void audio_studio_codec(struct audio_studio *st, struct audio_codec_info *out);

/* Listening level of the playback system (engine.h); matching is then
 * re-measured through the system at that level.  0 or _STATE. */
int audio_studio_set_listen_level(struct audio_studio *st, float level_db);
float audio_studio_listen_level(const struct audio_studio *st);
/* Band solo 0 (off) … 6 (chain/bandsolo.h); every source is then measured
 * within the band and matched there.  0 or _STATE. */
int audio_studio_set_bandsolo(struct audio_studio *st, int band);
/* The current system's name ("" for none). */
const char *audio_studio_system(struct audio_studio *st);
/* Known system i, or NULL past the end. */
const struct refs_device *audio_studio_system_at(struct audio_studio *st, int i);

/* ---- referencing ---- */
/* Removes reference `slot` (1 …); the ones after it move down one slot, so
 * references stay numbered 1 … n, with their offsets, trims, loops, cues
 * and measurements.  The engine cannot hold one clip in two slots, so each
 * moved clip is copied on the worker, lowest slot first (one extra clip
 * at a time); until its copy lands a moved slot plays its old clip, and
 * audio_studio_busy() is true.  The one that plays moves with it (or the
 * mix plays, if it was removed).  0, or _STATE. */
int audio_studio_remove_ref(struct audio_studio *st, int slot);
int audio_studio_set_playhead(struct audio_studio *st, enum audio_playhead mode);
enum audio_playhead audio_studio_playhead(const struct audio_studio *st);
/* Sync offset of a reference, seconds (refs only; 0, _STATE or _BUSY).
 * Offsets, loops and the playhead mode set on the engine directly (the
 * screen's keys) are picked up by the next audio_studio_poll(). */
int audio_studio_set_offset(struct audio_studio *st, int slot, double seconds);
/* Manual match offset of any route (AUDIO_ROUTE_AFTER, _BEFORE, ref n), dB. */
int audio_studio_set_trim(struct audio_studio *st, int route, double db);
#define AUDIO_STUDIO_TRIM_MAX_DB 24.0   /* |trim| allowed */
/* The trim of a route as set (0 for none). */
double audio_studio_trim(const struct audio_studio *st, int route);
/* Loop of the source that plays (independent) or of the timeline (sync):
 * what the screen's [ ] \ keys and headless `loop` call. */
int audio_studio_set_loop(struct audio_studio *st, double in_s, double out_s, bool on);
/* Cue points of a slot, seconds on its own clip (sync: on the timeline for
 * the mix); add keeps them sorted and ignores a duplicate within 10 ms. */
int audio_studio_add_cue(struct audio_studio *st, int slot, double seconds);
int audio_studio_remove_cue(struct audio_studio *st, int slot, int index);
/* Plays source `slot` from its cue `index` (sync: the timeline moves to
 * the cue minus the reference's offset).  0, _STATE or _BUSY. */
int audio_studio_go_cue(struct audio_studio *st, int slot, int index);
/* Queue auto-align of reference `slot` against the mix (refs/align.h) on
 * the worker; when reliable, its offset is set to the result.  State and
 * result in audio_source_info.align_*.  0 or _STATE. */
int audio_studio_align(struct audio_studio *st, int slot);
/* Integrated and region gains hold until something changes; riding gains
 * are recomputed at every audio_studio_poll() from the playhead (the
 * short-term loudness of the 3 s centred on each source's position, read
 * off its loudness profile: no lag), the source heard gliding towards its
 * gain (one pole, 1 s of audio) in steps of at least 0.05 dB, the others
 * set at once, so that a switch lands matched.  The true-peak headroom of
 * every method is that of the whole track.  Through a playback system or
 * a soloed band only the integrated method measures what is heard through
 * them.  Trims add to every method.  0 or _STATE. */
int audio_studio_set_match_method(struct audio_studio *st, enum audio_match_method m);

/* Comparison views: what the worker measured of a route (AUDIO_ROUTE_AFTER
 * from a background render of the current chain over the region with 5 s
 * of pre-roll, _BEFORE the mix as is, ref n) over the loop region (the
 * region method's: a reference's shifted by its offset in sync mode, each
 * source's own loop when independent) or the whole track.  The first call
 * for a route, and any after the chain, the region or the sources changed,
 * queues the measurement on the worker and returns valid = false (with the
 * short-term curve already: it comes from the loudness profile); poll and
 * ask again.  A released reference is decoded again for it.  Arrays point
 * into the studio and stay valid until the next audio_studio_poll() or the
 * next audio_studio_analysis() of the same route.  The figures here are
 * libebur128's over what is covered; the LRA of audio_match_info.after is
 * EBU Tech 3342 on short-term values every 100 ms (refs/riding.h). */
#define AUDIO_STUDIO_BANDS 31            /* 1/3-octave, 20 Hz … 20 kHz */
struct audio_route_analysis {
	bool valid;
	bool over_region;                 /* spectra over the loop region */
	double integrated_lufs, lra_lu, true_peak_dbtp, plr_db;
	/* short-term loudness (3 s window) of the whole clip: value k is the
	 * 3 s ending at (k + 1) · st_hop_s (less at the start); -HUGE_VAL in
	 * silence */
	const float *short_term;
	int n_short_term;
	double st_hop_s;
	/* loudness-normalised 1/3-octave average spectrum, mid and side, dB */
	double mid_db[AUDIO_STUDIO_BANDS], side_db[AUDIO_STUDIO_BANDS];
};
void audio_studio_analysis(struct audio_studio *st, int route, struct audio_route_analysis *out);

/* ---- snapshots ----
 * Measure the processed mix with these settings in the background, and keep
 * the result (the last AUDIO_STUDIO_PREMEASURE_MAX sets): whenever the
 * current settings equal a measured set, "after" takes that measurement at
 * once, so switching snapshots stays loudness-matched from the first
 * moment.  0 or _NOMEM. */
#define AUDIO_STUDIO_PREMEASURE_MAX 8
int audio_studio_premeasure(struct audio_studio *st, const struct chain_settings *s);
bool audio_studio_is_measured(struct audio_studio *st, const struct chain_settings *s);
/* The integrated loudness of the processed mix with these settings, when
 * measured: true and *lufs, else false (not measured yet, or silent). */
bool audio_studio_measured_lufs(struct audio_studio *st, const struct chain_settings *s,
				double *lufs);
/* The mix as decoded at the session rate (NULL before it is loaded); stays
 * valid until audio_studio_free(). */
const struct audio_clip *audio_studio_mix_clip(const struct audio_studio *st);
/* Replace every chain parameter at once (snapshot recall, undo, session
 * open), smoothed like set_param.  0 or _BUSY.  When the new settings were
 * measured before (premeasure), the match gains for them, trims included,
 * go out at once after the parameters, to land where the parameters are
 * heard and glide with them (audio_engine_set_gain_with_chain): set the
 * trims that go with the change before calling this.  set_param does the
 * same when its result was measured before. */
int audio_studio_set_settings(struct audio_studio *st, const struct chain_settings *s);

/* Counters for tests and the status line: the control thread's side of
 * loading (audio_studio_poll takes the worker's results under a lock held
 * only for a few assignments; lock_waits counts the times it found the
 * lock taken) and the memory budget of decoded references (default
 * 4 GiB, $TERMASTER_MEMORY_MB). */
struct audio_studio_stats {
	uint64_t polls;             /* audio_studio_poll() calls */
	uint64_t polls_while_busy;  /* … returned while the worker ran a job */
	uint64_t lock_waits;
	uint64_t releases;          /* references released by the budget */
	uint64_t reloads;           /* … decoded again when chosen */
	uint64_t cache_hits;        /* settings recalled from the premeasure cache */
	uint64_t region_first;      /* "after" over the loop region measured
				     * ahead of the whole track (region method) */
	uint64_t after_tp;          /* "after"'s true peak measured after its
				     * loudness had been taken (JOB_AFTER_TP) */
	int64_t resident_bytes;     /* decoded references held now */
	int64_t budget_bytes;
	int released;               /* references released now */
};
void audio_studio_stats(struct audio_studio *st, struct audio_studio_stats *out);

double audio_studio_rate(const struct audio_studio *st);
/* The output in one line ("ALSA: default, 48000 Hz, 256 frames") or why
 * there is none ("no audio device: …; analysis and render still work"). */
const char *audio_studio_output_status(const struct audio_studio *st);
bool audio_studio_has_device(const struct audio_studio *st);
/* Last notable event for the status line ("resampling everything to
 * 44100 Hz: the device cannot run 96000 Hz"), or "". */
const char *audio_studio_notice(const struct audio_studio *st);

#endif

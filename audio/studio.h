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
};

struct audio_match_info {
	bool after_measured;             /* the processed mix has been measured */
	bool after_pending;              /* a background render is running or queued */
	struct refs_loudness after;      /* loudness of the processed mix */
	struct refs_match_result result; /* common target, lowered or not;
					  * limiting_source is a route
					  * (AUDIO_ROUTE_AFTER, _BEFORE or ref n) */
	double gain_db[AUDIO_ROUTES];    /* computed match gains per route */
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

/* Queue a reference for decoding; returns its slot (1 …) or -1 when full. */
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

double audio_studio_rate(const struct audio_studio *st);
/* The output in one line ("ALSA: default, 48000 Hz, 256 frames") or why
 * there is none ("no audio device: …; analysis and render still work"). */
const char *audio_studio_output_status(const struct audio_studio *st);
bool audio_studio_has_device(const struct audio_studio *st);
/* Last notable event for the status line ("resampling everything to
 * 44100 Hz: the device cannot run 96000 Hz"), or "". */
const char *audio_studio_notice(const struct audio_studio *st);

#endif

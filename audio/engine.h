/*
 * termaster — the playback engine.
 *
 * audio_engine_process() is the whole audio-thread side: the PortAudio
 * callback calls it, and so do the null driver and the unit tests (the
 * offline driver).  Everything else here is called from one control thread
 * (the UI or headless reader) and only posts fixed-size commands on a
 * lock-free ring; the engine drains the ring at the start of each block.
 *
 * Per block (DESIGN.md, "How the data flows (live)"):
 *   1. drain commands
 *   2. read the current source at the playhead; the mix runs through the
 *      chain (kept warm while bypassed), fed `latency` frames ahead so that
 *      processed, bypassed and reference audio stay sample-aligned
 *   3. monitor section: per-source match gain
 *   4. crossfade (AUDIO_ENGINE_XFADE_MS) whenever source, bypass, match or
 *      position changes; play/pause fade in and out
 *   5. write the output and copy it to the meter tap ring
 *
 * Sources: slot 0 is the mix, slots 1 … AUDIO_MAX_SOURCES-1 references.  All
 * share one playhead ("sync").  Clips are handed over by pointer and handed
 * back through a trash ring; audio_engine_collect() frees them on the
 * control thread.
 */
#ifndef TM_AUDIO_ENGINE_H
#define TM_AUDIO_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chain/chain.h"

struct audio_clip;
struct chain_devsim;

#define AUDIO_MAX_SOURCES 64
#define AUDIO_ENGINE_XFADE_MS 10.0
/* Gain routes: the mix "after" (processed) is route 0, reference n is route
 * n, and the mix "before" (bypassed) has its own route. */
#define AUDIO_ROUTE_AFTER 0
#define AUDIO_ROUTE_BEFORE AUDIO_MAX_SOURCES
#define AUDIO_ROUTES (AUDIO_MAX_SOURCES + 1)
/* Meters published per processor (>= chain_proc_count(), checked). */
#define AUDIO_ENGINE_PROCS 8
#define AUDIO_ENGINE_METERS 4

/* Monitor modes: what the speakers get (the monitor section shapes only
 * what is heard, never a render).  Side plays S = (L-R)/2 on both
 * speakers; left and right play that channel on both; polarity inverts
 * the right channel. */
enum audio_monitor {
	AUDIO_MONITOR_STEREO = 0,
	AUDIO_MONITOR_MONO,       /* (L+R)/2 on both */
	AUDIO_MONITOR_SIDE,       /* (L-R)/2 on both */
	AUDIO_MONITOR_LEFT,
	AUDIO_MONITOR_RIGHT,
	AUDIO_MONITOR_SWAP,       /* L and R exchanged */
	AUDIO_MONITOR_POLARITY,   /* right channel inverted */
	AUDIO_MONITOR_COUNT,
};

/* "stereo", "mono", "side", "left", "right", "swap", "polarity". */
const char *audio_monitor_name(enum audio_monitor m);
/* The mode of a name, or -1. */
int audio_monitor_find(const char *name);

enum audio_engine_error {
	AUDIO_ENGINE_OK = 0,
	AUDIO_ENGINE_ERROR_NOMEM,
	AUDIO_ENGINE_ERROR_CHAIN,   /* chain_new failed */
	AUDIO_ENGINE_ERROR_FULL,    /* command ring full; try again */
	AUDIO_ENGINE_ERROR_ARG,     /* slot or value out of range */
};

struct audio_engine;

/* Not RT.  max_block: the most frames one audio_engine_process() call may
 * ask for (larger calls are split internally, so any value works). */
struct audio_engine *audio_engine_new(double rate, const struct chain_settings *s,
				      int *err);
/* Not RT.  The driver must be stopped.  Frees clips still held. */
void audio_engine_free(struct audio_engine **e);

/* RT-safe: the audio thread.  Writes `frames` interleaved stereo frames. */
void audio_engine_process(struct audio_engine *e, float *out, unsigned frames);
/* RT-safe: drivers report xruns (PortAudio statusFlags) here. */
void audio_engine_count_xrun(struct audio_engine *e);

/* ---- control thread: commands (return 0 or AUDIO_ENGINE_ERROR_*) ---- */
int audio_engine_play(struct audio_engine *e, bool play);
int audio_engine_seek(struct audio_engine *e, double seconds);
int audio_engine_set_source(struct audio_engine *e, int slot);
int audio_engine_set_bypass(struct audio_engine *e, bool bypass);
int audio_engine_set_match(struct audio_engine *e, bool match);
/* Crossfades to the mode over AUDIO_ENGINE_XFADE_MS. */
int audio_engine_set_monitor(struct audio_engine *e, enum audio_monitor m);
/* Band solo (chain/bandsolo.h: 1 … 6 split at 60, 250, 500, 2k, 6k Hz; 0
 * = off) after the match gains, before the monitor matrix; crossfaded. */
int audio_engine_set_bandsolo(struct audio_engine *e, int band);
/* A streaming platform's player limiter (Spotify "loud": -1 dB, 5 ms
 * attack, 100 ms release) on the normalised signal, before the monitor
 * matrix; switching crossfades.  Its lookahead delays what is heard while
 * it is on. */
int audio_engine_set_platform_limiter(struct audio_engine *e, bool on, float ceiling_db,
				      float release_ms);
/* The playback-system simulation after the monitor matrix (chain/devsim.h,
 * built at the engine's rate), or NULL for none; ownership passes to the
 * engine, the previous one comes back through audio_engine_collect().
 * Crossfades over AUDIO_ENGINE_XFADE_MS. */
int audio_engine_set_devsim(struct audio_engine *e, struct chain_devsim *d);
/* How hard a small speaker is driven, CHAIN_DEVSIM_LEVEL_MIN_DB … _MAX_DB
 * (0 = the device's full volume), and the road-noise bed's level in dB
 * RMS (CHAIN_DEVSIM_NOISE_OFF_DB or below: off).  Smoothed. */
int audio_engine_set_listen_level(struct audio_engine *e, float level_db);
int audio_engine_set_road_noise(struct audio_engine *e, float noise_db);
/* in_s < out_s; loop_on toggles looping of that region. */
int audio_engine_set_loop(struct audio_engine *e, double in_s, double out_s, bool on);
int audio_engine_set_param(struct audio_engine *e, unsigned idx, float value);
int audio_engine_set_gain(struct audio_engine *e, int route, float gain_db);
/* Hand a clip to slot (ownership passes to the engine, NULL empties it).
 * The clip must be at the engine's rate. */
int audio_engine_set_clip(struct audio_engine *e, int slot, struct audio_clip *clip);
/* Stamp the commands posted from now on with the audio frame (the
 * snapshot's `rendered` clock) at which they take effect, sample-exactly;
 * 0 = at the start of the next block (the default).  The headless reader
 * uses it so that `wait` counts audio time on any device, clocked or not. */
void audio_engine_schedule_at(struct audio_engine *e, int64_t frame);
/* Control thread: free what the engine has handed back. */
void audio_engine_collect(struct audio_engine *e);

/* ---- control thread: state ---- */
struct audio_engine_snapshot {
	double rate;
	int64_t position;          /* frames, playhead of the sources */
	int64_t length;            /* frames of the mix (0 before it is loaded) */
	int64_t rendered;          /* frames written by process() since start: audio time */
	int source;                /* slot playing (or fading to) */
	bool playing;
	bool bypass;
	bool match;
	bool loop_on;
	enum audio_monitor monitor;
	int band;                  /* soloed band (chain/bandsolo.h), 0 = none */
	int64_t loop_in, loop_out; /* frames */
	unsigned latency;          /* chain latency, frames */
	uint64_t xruns;
	uint64_t tap_overruns;     /* meter frames dropped because the UI lagged */
	float gain_db[AUDIO_ROUTES]; /* match gains as set (unity while match off) */
	float limiter_gr_db;       /* largest over the last block */
	/* every processor's gain reduction (dB >= 0) over the last block, in
	 * chain order, and its further meters (a multiband's per band) */
	unsigned n_procs;
	float proc_gr_db[AUDIO_ENGINE_PROCS];
	float proc_meter[AUDIO_ENGINE_PROCS][AUDIO_ENGINE_METERS];
	float peak_dbfs;           /* output sample peak over the last block */
};
void audio_engine_snapshot(struct audio_engine *e, struct audio_engine_snapshot *s);

/* Meter tap: interleaved stereo frames as played.  Returns frames read. */
size_t audio_engine_tap_read(struct audio_engine *e, float *lr, size_t max_frames);


#endif

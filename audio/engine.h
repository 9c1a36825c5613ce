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
 * Sources: slot 0 is the mix, slots 1 … AUDIO_MAX_SOURCES-1 references.
 * They share one timeline ("sync", each reference at its offset) or each
 * keep their own playhead ("independent"; see "playheads" below).  Clips
 * are handed over by pointer and handed back through a trash ring;
 * audio_engine_collect() frees them on the control thread.
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
/* As set_gain, for a gain that goes with chain parameters posted just
 * before it, in the same batch: the match gain that keeps a snapshot
 * recall at the loudness it was heard at.  A plain gain change ramps at
 * once, while the chain takes its parameters `latency` frames ahead of what
 * is heard and glides them; this one waits until they are heard (the after
 * route: until the chain's output carries them, so it stands still with
 * the chain in independent mode; the other routes: `latency` frames of
 * output) and glides with them, in two parts:
 *   input_db: the part of the change (dB) that undoes a change of the
 *     chain's input gain posted with it (for the after route, minus that
 *     change; 0 for the others); it glides as that gain does (the
 *     reciprocal of its linear factor on the same one pole, 10 ms, per
 *     32-frame sub-block), so the two cancel sample for sample;
 *   the rest (what the other parameters changed): in dB on one pole of
 *     tau_ms (0 < tau_ms <= 1000), the time constant of those parameters'
 *     glides (chain/smooth.h; 10 or 20 ms).
 * While nothing is heard, or when the chain is reset (seek, loop jump), it
 * lands at once; a plain set_gain or set_match that changes the route's
 * gain takes over from where the glide has got to.  Another one for the
 * same route before the first is heard replaces it (its input parts add
 * up); one while it glides retargets it from where it is.
 * 0, _ARG or _FULL. */
int audio_engine_set_gain_with_chain(struct audio_engine *e, int route, float gain_db,
				     float input_db, float tau_ms);
/* ---- playheads ----
 * Sync (the default): one timeline, the mix's; reference slot n plays
 * frame (timeline position + its offset) of its clip, silence where that
 * falls outside the clip (no wrap).  The loop region is the timeline's.
 * Independent: every slot keeps its own position and loop region; the
 * source not playing stands still (the mix's chain simply is not fed while
 * another source plays, so switching back continues seamlessly, processed
 * and bypassed alike); switching is a true crossfade from the old source
 * at its position to the new one at its own (both advance during the
 * fade).  Reaching the end of the playing source's clip without a loop
 * stops playback; a slot without a clip (still decoding) plays silence and
 * keeps its place until its clip arrives.
 * Switching modes keeps what is heard where it is: to independent, every
 * slot takes the position sync gave it (timeline + offset); to sync, the
 * timeline takes the position of the source that plays, minus its offset
 * (this may be before 0: the mix is silent there).  Nothing fades unless
 * the mix is heard and its loop changes with the mode (then a jump fade
 * re-primes the chain); a loop that is on and that the new position is
 * past wraps at once, crossfaded, as after a seek past its end.  A mode
 * switch waits until a source switch or seek under way has faded (at most
 * AUDIO_ENGINE_XFADE_MS); commands posted after it wait with it, so they
 * apply in the new mode.
 * Loop, seek and the snapshot's position apply to the source that plays,
 * on its own clip's time in independent mode, on the timeline in sync;
 * in independent mode set_loop and seek set that slot's own loop and
 * position.  Each slot's own loop is kept across mode switches (sync
 * leaves it alone; going independent again uses it). */
enum audio_playhead {
	AUDIO_PLAYHEAD_SYNC = 0,
	AUDIO_PLAYHEAD_INDEPENDENT,
};
/* 0 or AUDIO_ENGINE_ERROR_ARG (not a mode), _FULL. */
int audio_engine_set_playhead(struct audio_engine *e, enum audio_playhead mode);
/* Largest |offset|, frames (about 265 days at 48 kHz). */
#define AUDIO_ENGINE_OFFSET_MAX (INT64_C(1) << 40)
/* Offset of a reference on the sync timeline, in frames at the engine's
 * rate: the reference plays its clip frame (timeline + offset).  Positive:
 * its content is ahead (at timeline 0 it plays its frame `offset`, e.g.
 * skipping a lead-in); negative: it is silent until the timeline reaches
 * -offset.  Slot 0 (the mix) always has 0 (else _ARG).  Changing it while
 * that reference is heard in sync mode jumps under a fade as a seek does;
 * otherwise it applies at once (in independent mode it only matters for
 * the next switch to sync). */
int audio_engine_set_offset(struct audio_engine *e, int slot, int64_t frames);
/* Independent mode: set a slot's own position or loop without playing it
 * (restoring a session; a heard slot jumps under a fade as with seek).
 * Turning a loop on moves a position outside it to the loop's start, as
 * set_loop does.  In sync mode set_slot_loop only prepares the loop
 * independent mode will use, and seek_slot does nothing (the switch to
 * independent gives every slot its sync position): post
 * set_playhead(INDEPENDENT) first, the commands run in order.  Clips set
 * with audio_engine_set_clip keep the slot's position, loop and offset.
 * 0 or _ARG (slot, or a loop as set_loop refuses), _FULL. */
int audio_engine_seek_slot(struct audio_engine *e, int slot, double seconds);
int audio_engine_set_slot_loop(struct audio_engine *e, int slot, double in_s, double out_s,
			       bool on);

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
	int64_t position;          /* frames: sync, the timeline (may be < 0
				    * after a switch from independent);
				    * independent, the playing source's own */
	int64_t length;            /* frames: sync, the timeline's (the latest
				    * end of a clip on it, offsets counted);
				    * independent, the playing source's clip */
	int64_t rendered;          /* frames written by process() since start: audio time */
	int source;                /* slot playing (or fading to) */
	bool playing;
	bool bypass;
	bool match;
	bool loop_on;
	enum audio_monitor monitor;
	int band;                  /* soloed band (chain/bandsolo.h), 0 = none */
	int64_t loop_in, loop_out; /* frames; loop_on, in and out: the timeline's
				    * (sync) or the playing source's own */
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
	/* playheads */
	enum audio_playhead playhead;
	int64_t slot_position[AUDIO_MAX_SOURCES];  /* each slot's own clip frame
						    * (sync: timeline + offset) */
	int64_t slot_offset[AUDIO_MAX_SOURCES];    /* as set */
	bool slot_loop_on[AUDIO_MAX_SOURCES];      /* independent mode's own loops */
	int64_t slot_loop_in[AUDIO_MAX_SOURCES], slot_loop_out[AUDIO_MAX_SOURCES];
	int64_t slot_length[AUDIO_MAX_SOURCES];    /* frames of each slot's clip, 0 empty */
};
void audio_engine_snapshot(struct audio_engine *e, struct audio_engine_snapshot *s);

/* Meter tap: interleaved stereo frames as played.  Returns frames read. */
size_t audio_engine_tap_read(struct audio_engine *e, float *lr, size_t max_frames);


#endif

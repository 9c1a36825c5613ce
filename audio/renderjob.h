/*
 * termaster — a render on its own thread (the screen's render dialog and
 * the headless `render`).
 *
 * It does what `termaster render --session FILE -o OUT [options]` does, by
 * the same functions: decode the mix at its own rate (audio_clip_load), with
 * a loudness target search the input gain (audio_render_find_gain), then
 * audio_render_file(); so the file is byte for byte what the command line
 * writes from the same settings.  The thread runs at a lower scheduling
 * priority (nice +10) so it takes what the audio thread leaves.
 *
 * The control thread starts it, polls its state and frees it.  Not RT.
 */
#ifndef TM_AUDIO_RENDERJOB_H
#define TM_AUDIO_RENDERJOB_H

#include <stdbool.h>
#include <stddef.h>

#include "audio/render.h"
#include "refs/loudness.h"

struct audio_clip;

struct audio_renderjob_opts {
	struct audio_render_opts render;   /* out_path and in_path are copied */
	bool have_target;                  /* search the input gain for target_lufs */
	double target_lufs;
	double max_gr_db;
};

void audio_renderjob_opts_default(struct audio_renderjob_opts *o);

enum audio_renderjob_phase {
	AUDIO_RENDERJOB_DECODING = 0,
	AUDIO_RENDERJOB_SEARCHING,     /* loudness target: pass n */
	AUDIO_RENDERJOB_RENDERING,
	AUDIO_RENDERJOB_DONE,          /* err says how it ended */
};

struct audio_renderjob_state {
	enum audio_renderjob_phase phase;
	int pass;                      /* SEARCHING: 1, 2, … */
	double fraction;               /* of the phase, 0 … 1 */
	int err;                       /* DONE: 0 or AUDIO_RENDER_ERROR_* (or
					* AUDIO_RENDER_ERROR_WRITE for a mix
					* that cannot be decoded) */
	char msg[4096];                /* DONE: the result line ("OUT: WAV 24-bit
					* 44100 Hz, -14.0 LUFS, LRA 5.2 LU, true
					* peak -1.0 dBTP") or the error ("OUT:
					* reason"); with a target a second line
					* follows after '\n' */
	struct refs_loudness measured; /* DONE, err 0 */
	double gain_db;                /* the input gain used */
};

struct audio_renderjob;

/* Renders the file at mix_path (decoded here), or `mix` when mix_path is
 * NULL (the demo's generated mix; it must outlive the job).  Returns NULL
 * with *err (AUDIO_RENDER_ERROR_NOMEM, or audio_render_check()'s errors,
 * checked before the thread starts) and msg. */
struct audio_renderjob *audio_renderjob_start(const char *mix_path, const struct audio_clip *mix,
					      const struct audio_renderjob_opts *o, int *err,
					      char *msg, size_t msg_len);
void audio_renderjob_state(struct audio_renderjob *j, struct audio_renderjob_state *out);
/* Ask it to stop (nothing is left at the output). */
void audio_renderjob_cancel(struct audio_renderjob *j);
/* Cancels if still running, waits for the thread, frees; *j = NULL. */
void audio_renderjob_free(struct audio_renderjob **j);

#endif

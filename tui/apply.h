/*
 * termaster — the desk: the studio's chain settings with undo/redo and the
 * snapshots A–D, shared by the screen and the headless reader.
 *
 * Undo follows the studio, not the keys: tui_desk_sync() compares the
 * studio's settings with the ones it last saw and records the difference
 * as one step (a change of one parameter is grouped with the previous
 * change of the same parameter within TUI_HISTORY_COALESCE_S, so a held
 * key is one step).  So every way of changing a parameter — the editor,
 * headless `set`, a snapshot recall, a session opened — is undoable without
 * each of them knowing about undo.
 *
 * Snapshots are measured in the background when stored
 * (audio_studio_premeasure), so recalling one is loudness-matched from the
 * first moment; the recall goes through audio_studio_set_settings(), whose
 * continuous parameters glide (the engine smooths them) and whose
 * switches (processor on/off, EQ band type, slope, channel) crossfade in
 * the chain.
 *
 * Matching while comparing snapshots.  The studio plays every source at
 * the loudness of the processed mix ("after"), so a louder snapshot would
 * simply be heard louder, references and all.  The first snapshot recalled
 * sets an anchor; each recall then shifts every route's match trim by the
 * same offset, anchor - the snapshot's loudness, so the mix and the
 * references are heard at the anchor's level whichever snapshot plays, and
 * stay matched to each other.  The offset comes on top of the user's own
 * trims (tui_desk_user_trim() takes it back off, for saving).  The trims
 * are set before the settings, so the studio sends the match gains right
 * behind the parameters, in one batch; the engine lands them where the
 * parameters are heard and glides them as the chain glides its parameters
 * (audio_engine_set_gain_with_chain), so a recall is heard without a swell
 * or dip of level while the chain catches up.
 *
 * For the one control thread.
 */
#ifndef TM_TUI_APPLY_H
#define TM_TUI_APPLY_H

#include <stdbool.h>
#include <stddef.h>

#include "chain/chain.h"
#include "tui/history.h"

struct audio_renderjob_opts;
struct audio_studio;
struct tui_session;

struct tui_desk {
	struct audio_studio *st;
	struct tui_history hist;
	struct tui_snapshots snaps;
	struct chain_settings seen;     /* the studio's settings at the last sync */
	unsigned long changes;          /* counts every change seen (autosave) */
	/* snapshot matching */
	bool anchored;
	double anchor_lufs;
	double offset_db;               /* on every route's trim now */
};

/* 0, or -1 (out of memory). */
int tui_desk_init(struct tui_desk *d, struct audio_studio *st);
void tui_desk_free(struct tui_desk *d);
/* Record what changed since the last call (t: seconds, monotonic).
 * Returns true when something changed. */
bool tui_desk_sync(struct tui_desk *d, double t);
/* Set one parameter (clamped) and record it; 0 or the studio's error. */
int tui_desk_set_param(struct tui_desk *d, unsigned idx, float value, double t);
/* Set all parameters at once as one undo step; 0 or the studio's error. */
int tui_desk_set_settings(struct tui_desk *d, const struct chain_settings *s, double t);
/* 0, 1 when there is nothing to undo/redo, or the studio's error. */
int tui_desk_undo(struct tui_desk *d, double t);
int tui_desk_redo(struct tui_desk *d, double t);

/* Snapshot i (0 … 3): store the current settings (and measure them in
 * the background), recall (0, 1 when empty, or the studio's error), copy
 * from → to (1 when from is empty). */
int tui_desk_store(struct tui_desk *d, int i);
int tui_desk_recall(struct tui_desk *d, int i, double t);
int tui_desk_copy(struct tui_desk *d, int from, int to);
/* The next stored snapshot after the active one (for comparing by
 * switching), or -1 when none is stored. */
int tui_desk_next_snapshot(const struct tui_desk *d);
/* Whether the current settings equal snapshot i. */
bool tui_desk_is_current(const struct tui_desk *d, int i);

/* A route's trim without the snapshot-matching offset. */
double tui_desk_user_trim(const struct tui_desk *d, int route);

/* A session's snapshots into the desk, the desk's into a session (its
 * references' trims without the snapshot-matching offset). */
void tui_desk_from_session(struct tui_desk *d, const struct tui_session *s);
void tui_desk_to_session(const struct tui_desk *d, struct tui_session *s);

/* One option of a render, as `termaster render` and the headless `render`
 * take it: name with its dashes ("--bits"), val its value (NULL for
 * --force and --no-dither).  *max_gr is set by --max-gr-db.  0, or -1 with
 * msg "--bits: '13' is not 16, 24 or 32". */
int tui_render_option(struct audio_renderjob_opts *o, const char *name, const char *val,
		      bool *max_gr, char *msg, size_t len);
/* The options of `termaster render` after OUT (argv[0] is OUT):
 * --set PARAM=VALUE, --ceiling-dbtp DB, --bits 16|24|32, --rate HZ,
 * --dither tpdf|shaped|none, --no-dither, --target-lufs LUFS, --max-gr-db
 * DB, --force, each also as --opt=VALUE.  o->render.settings must hold the
 * settings they change.  0, or -1 with msg ("--bits: '20' is not 16, 24 or
 * 32"). */
int tui_render_parse(int argc, char **argv, struct audio_renderjob_opts *o, char *msg,
		     size_t len);

#endif

/*
 * termaster — undo/redo of the chain settings, and the snapshots A–D.
 *
 * Undo works on whole chain_settings (1 KB each), not on single
 * parameters: recalling a snapshot, opening a session or undoing changes
 * many values at once, and one undo must take all of them back.
 *
 * Every change is recorded as the settings *before* it.  A change with the
 * same non-zero `group` as the previous one within TUI_HISTORY_COALESCE_S
 * is merged into it (a held arrow key moving one parameter is one step;
 * the group is the parameter index + 1).  Undo hands back the settings
 * before the last step and remembers the current ones for redo; any new
 * change forgets what could be redone.  At most TUI_HISTORY_DEPTH steps are
 * kept; the oldest go first.
 *
 * Plain data, no I/O; for the one control thread.
 */
#ifndef TM_TUI_HISTORY_H
#define TM_TUI_HISTORY_H

#include <stdbool.h>

#include "chain/chain.h"

#define TUI_HISTORY_DEPTH 200
#define TUI_HISTORY_COALESCE_S 1.0

struct tui_history {
	struct chain_settings *undo;    /* ring of TUI_HISTORY_DEPTH */
	struct chain_settings *redo;    /* stack of TUI_HISTORY_DEPTH */
	int undo_head, n_undo, n_redo;
	int last_group;                 /* of the newest undo step, 0 = none */
	double last_t;
};

/* 0 or -1 (out of memory). */
int tui_history_init(struct tui_history *h);
void tui_history_free(struct tui_history *h);
/* Forget everything (a new session). */
void tui_history_clear(struct tui_history *h);

/* Record a change: `before` are the settings before it, t the time in
 * seconds (any monotonic clock), group 0 or the parameter index + 1.
 * Returns true when a new step was made (false: merged into the last). */
bool tui_history_record(struct tui_history *h, const struct chain_settings *before,
			int group, double t);
/* Undo: *now (the current settings) becomes redoable and *now is set to
 * the settings before the last step.  false when there is nothing. */
bool tui_history_undo(struct tui_history *h, struct chain_settings *now);
bool tui_history_redo(struct tui_history *h, struct chain_settings *now);
int tui_history_undo_depth(const struct tui_history *h);
int tui_history_redo_depth(const struct tui_history *h);

/* ---- snapshots A–D ---- */

#define TUI_SNAPSHOTS 4

struct tui_snapshots {
	bool used[TUI_SNAPSHOTS];
	struct chain_settings s[TUI_SNAPSHOTS];
	int active;                     /* last stored or recalled, -1 = none */
};

void tui_snapshots_init(struct tui_snapshots *sn);
/* 'A' … 'D' or 'a' … 'd' → 0 … 3; else -1. */
int tui_snapshot_index(const char *name);
char tui_snapshot_letter(int i);

#endif

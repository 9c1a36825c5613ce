/*
 * termaster — the chain editor: a panel generated from the chain's
 * parameter table (chain/chain.h), and the EQ and multiband curves.
 *
 * Rows are the processors in chain order (label, on/off, gain reduction)
 * and under each its parameters (value and unit).  Rows that do nothing in
 * the current setting are left out: an EQ band that is off shows only its
 * switch, a band's Q only where its type uses it, the multiband's bands
 * and crossovers beyond `mb.bands`.  Every change goes through the desk
 * (tui/apply.h): heard at once (the engine smooths it) and undoable.
 *
 * Keys while the editor has the focus (tui_editor_key()):
 *   Up/Down, k/j       move; PgUp/PgDn a page; Home/End first/last row
 *   Left/Right, h/l    fine step (the table's step; Hz by a 1/12 octave)
 *   H/L, Shift-Left/Right  coarse step (10x; Hz by 1/3 octave)
 *   Enter or =         type an exact value (a number or a choice's name),
 *                      Enter sets it, Esc cancels; on a processor's row
 *                      Enter switches it on or off
 *   r                  reset the parameter (or the whole processor, on its
 *                      row) to its default
 *   z                  fold / unfold the processor under the cursor
 *   Esc, e             leave the editor (tui_editor_key returns
 *                      TUI_EDITOR_LEAVE)
 * Everything else is not the editor's (TUI_EDITOR_PASS).
 *
 * Drawing uses ncurses on stdscr with the caller's attributes.
 */
#ifndef TM_TUI_EDITOR_H
#define TM_TUI_EDITOR_H

#include <stdbool.h>
#include <stddef.h>

#include <curses.h>

#include "chain/chain.h"

struct tui_desk;
struct audio_engine_snapshot;

struct tui_editor_style {
	attr_t normal, dim, bold, key, sel, warn, over, ok, accent;
	bool ascii;          /* no UTF-8: ASCII graphs and marks */
};

#define TUI_EDITOR_ENTRY_MAX 40

struct tui_editor {
	bool active;
	int cursor;                   /* row key: param index, or -(proc + 1) */
	int cursor_row;               /* its position at the last layout */
	int top;                      /* first row drawn */
	bool folded[16];              /* per processor */
	bool typing;
	char entry[TUI_EDITOR_ENTRY_MAX];
	int entry_len;
	char msg[160];                /* a message for the caller to show, "" none */
	bool msg_error;
};

enum tui_editor_result {
	TUI_EDITOR_PASS = 0,          /* not an editor key */
	TUI_EDITOR_DONE,              /* handled */
	TUI_EDITOR_LEAVE,             /* leave the editor */
};

void tui_editor_init(struct tui_editor *ed);
/* A key while the editor has the focus; t: seconds (undo grouping). */
enum tui_editor_result tui_editor_key(struct tui_editor *ed, struct tui_desk *d, int ch,
				      double t);
/* Draws the panel into rows y … y+h-1, columns x … x+w-1: the rows on
 * the left and, when w >= 70, the curve of the processor under the cursor
 * (EQ, multiband) or the gain-reduction meters on the right. */
void tui_editor_draw(struct tui_editor *ed, const struct tui_desk *d,
		     const struct audio_engine_snapshot *snap, double rate,
		     const struct tui_editor_style *style, int y, int x, int h, int w);
/* "eq.3.gain_db = 2.5 dB" for the parameter under the cursor (status
 * line), or "" on a processor row. */
void tui_editor_current(const struct tui_editor *ed, const struct tui_desk *d, char *buf,
			size_t n);

/* ---- the curves (also for tests) ---- */

/* Magnitude in dB of the EQ of settings s at f_hz for a chain at `rate`:
 * every band that is on (whatever its channel) and the tilt, from the
 * same designs chain/eq.c runs (chain/biquad.h). */
double tui_editor_eq_db(const struct chain_settings *s, double rate, double f_hz);
/* The multiband's gain in dB at f_hz: each band's make-up gain minus its
 * gain reduction gr_db[band] (NULL: none), weighted by the band's share
 * of the Linkwitz–Riley 4th-order split (|H|², which sums to one). */
double tui_editor_mb_db(const struct chain_settings *s, const float *gr_db, double f_hz);

#endif

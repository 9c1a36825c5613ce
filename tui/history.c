/*
 * termaster — undo/redo of the chain settings, and the snapshots A–D.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "tui/history.h"

int tui_history_init(struct tui_history *h)
{
	memset(h, 0, sizeof(*h));
	h->undo = calloc(TUI_HISTORY_DEPTH, sizeof(*h->undo));
	h->redo = calloc(TUI_HISTORY_DEPTH, sizeof(*h->redo));
	if (!h->undo || !h->redo) {
		tui_history_free(h);
		return -1;
	}
	return 0;
}

void tui_history_free(struct tui_history *h)
{
	free(h->undo);
	free(h->redo);
	memset(h, 0, sizeof(*h));
}

void tui_history_clear(struct tui_history *h)
{
	h->undo_head = h->n_undo = h->n_redo = 0;
	h->last_group = 0;
	h->last_t = 0;
}

/* The newest undo step is at (undo_head - 1) mod DEPTH. */
static void push_undo(struct tui_history *h, const struct chain_settings *s)
{
	h->undo[h->undo_head] = *s;
	h->undo_head = (h->undo_head + 1) % TUI_HISTORY_DEPTH;
	if (h->n_undo < TUI_HISTORY_DEPTH)
		h->n_undo++;
}

static void pop_undo(struct tui_history *h, struct chain_settings *s)
{
	h->undo_head = (h->undo_head + TUI_HISTORY_DEPTH - 1) % TUI_HISTORY_DEPTH;
	*s = h->undo[h->undo_head];
	h->n_undo--;
}

bool tui_history_record(struct tui_history *h, const struct chain_settings *before,
			int group, double t)
{
	if (!h->undo)
		return false;
	h->n_redo = 0;
	if (group != 0 && group == h->last_group && h->n_undo > 0 &&
	    t - h->last_t >= 0 && t - h->last_t < TUI_HISTORY_COALESCE_S) {
		h->last_t = t;
		return false;
	}
	push_undo(h, before);
	h->last_group = group;
	h->last_t = t;
	return true;
}

bool tui_history_undo(struct tui_history *h, struct chain_settings *now)
{
	if (!h->undo || h->n_undo == 0)
		return false;
	if (h->n_redo < TUI_HISTORY_DEPTH)
		h->redo[h->n_redo++] = *now;
	pop_undo(h, now);
	h->last_group = 0;      /* the next change is a step of its own */
	return true;
}

bool tui_history_redo(struct tui_history *h, struct chain_settings *now)
{
	if (!h->undo || h->n_redo == 0)
		return false;
	push_undo(h, now);
	*now = h->redo[--h->n_redo];
	h->last_group = 0;
	return true;
}

int tui_history_undo_depth(const struct tui_history *h)
{
	return h->n_undo;
}

int tui_history_redo_depth(const struct tui_history *h)
{
	return h->n_redo;
}

void tui_snapshots_init(struct tui_snapshots *sn)
{
	memset(sn, 0, sizeof(*sn));
	sn->active = -1;
}

int tui_snapshot_index(const char *name)
{
	if (!name || !name[0] || name[1])
		return -1;
	if (name[0] >= 'A' && name[0] < 'A' + TUI_SNAPSHOTS)
		return name[0] - 'A';
	if (name[0] >= 'a' && name[0] < 'a' + TUI_SNAPSHOTS)
		return name[0] - 'a';
	return -1;
}

char tui_snapshot_letter(int i)
{
	return i >= 0 && i < TUI_SNAPSHOTS ? (char)('A' + i) : '-';
}

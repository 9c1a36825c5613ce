/*
 * termaster — a one-line path prompt with Tab completion, and the one
 * place that turns "a file or a folder of audio files" into a list of
 * files (the command line's references and the screen's `a` share it).
 *
 * The prompt is a plain line editor with no ncurses in it: the screen
 * feeds it keys (bytes as read, plus the TUI_PROMPT_KEY_* codes for the
 * arrows and friends) and draws tui_prompt_view()'s text and cursor.
 *
 *   printable bytes   insert at the cursor (UTF-8 arrives byte by byte)
 *   Left / Right      one character
 *   Home / End, ^A ^E start / end of the line
 *   Backspace, ^H     delete the character before the cursor
 *   Delete, ^D        delete the character under the cursor
 *   ^U                delete from the start of the line to the cursor
 *   ^K                delete from the cursor to the end of the line
 *   Tab               complete the path before the cursor: a leading ~ or
 *                     ~/ becomes $HOME; one match is completed (a folder
 *                     gets its '/'), several extend to their longest
 *                     common prefix and, when that adds nothing, are listed
 *                     in tui_prompt.list
 *   Enter             TUI_PROMPT_DONE (the text is in tui_prompt.buf)
 *   Esc, ^G, ^C       TUI_PROMPT_CANCEL
 */
#ifndef TM_TUI_PROMPT_H
#define TM_TUI_PROMPT_H

#include <stdbool.h>
#include <stddef.h>

#define TUI_PROMPT_MAX      1024 /* bytes of text, NUL included */
#define TUI_PROMPT_LIST_MAX 512

/* Keys that are not bytes (the screen maps ncurses' KEY_* onto these). */
enum tui_prompt_keycode {
	TUI_PROMPT_KEY_LEFT = 0x10000,
	TUI_PROMPT_KEY_RIGHT,
	TUI_PROMPT_KEY_HOME,
	TUI_PROMPT_KEY_END,
	TUI_PROMPT_KEY_BACKSPACE,
	TUI_PROMPT_KEY_DELETE,
	TUI_PROMPT_KEY_ENTER,
	TUI_PROMPT_KEY_ESC,
};

enum tui_prompt_status {
	TUI_PROMPT_EDITING = 0,
	TUI_PROMPT_DONE,
	TUI_PROMPT_CANCEL,
};

struct tui_prompt {
	bool active;
	char label[64]; /* "add reference: " */
	char buf[TUI_PROMPT_MAX];
	size_t len, cur; /* bytes; cur is on a character start */
	/* the last Tab: how many entries matched, and when several did and
	 * the prefix could not grow, their names ("a.wav  b.wav  sub/"),
	 * sorted, cut to fit with a count of the rest */
	int matches;
	char list[TUI_PROMPT_LIST_MAX];
};

/* Start editing with `initial` (may be NULL) and the cursor at its end. */
void tui_prompt_start(struct tui_prompt *p, const char *label, const char *initial);
/* One key; returns enum tui_prompt_status (DONE and CANCEL end the prompt:
 * active becomes false). */
int tui_prompt_key(struct tui_prompt *p, int key);
/* Complete at the cursor (what Tab does); returns the number of matches. */
int tui_prompt_complete(struct tui_prompt *p);

/* What to draw in `cols` columns (label included, counting every UTF-8
 * character as one column): the text scrolled so the cursor shows.  *cursor
 * gets the cursor's column. */
void tui_prompt_view(const struct tui_prompt *p, int cols, char *out, size_t n, int *cursor);

/* A leading "~" or "~/" replaced by $HOME (else the path as is); 0, or -1
 * when it does not fit in n. */
int tui_path_expand(const char *in, char *out, size_t n);

/* True for the audio file names a folder contributes (by extension:
 * everything libsndfile decodes here — .wav .flac .aiff .mp3 .ogg .opus
 * …; no hidden files). */
bool tui_path_is_audio(const char *name);

/* The sources `args` stand for: a file stands for itself, a folder for
 * every audio file in it sorted by name (files are checked when they are
 * opened, not here).  On success 0 with *out a malloc'ed array of
 * malloc'ed paths (free with tui_path_list_free); on failure -1 with msg
 * ("PATH: reason": a folder that cannot be read or has no audio files).
 * No ~ expansion here (the shell did it on the command line; the screen
 * calls tui_path_expand first). */
int tui_path_expand_refs(const char *const *args, int n, char ***out, int *n_out, char *msg,
                         size_t msg_len);
void tui_path_list_free(char **list, int n);

#endif

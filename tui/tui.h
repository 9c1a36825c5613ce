/*
 * termaster — the user's side: command line, screen, headless reader.
 *
 * Only tui/ prints.  Messages take the form "termaster: context: reason".
 * Exit status: 0 success, 1 failure of the program itself, 2 bad input
 * (usage, unreadable or unsupported files, bad values).
 */
#ifndef TM_TUI_TUI_H
#define TM_TUI_TUI_H

#include <stdbool.h>
#include <stddef.h>

#define TUI_EXIT_OK 0
#define TUI_EXIT_FAIL 1
#define TUI_EXIT_USAGE 2

#define TUI_FORMAT(a, b) __attribute__((format(printf, a, b)))

/* "termaster: " + message + newline on stderr (ncurses not active). */
void tui_error(const char *fmt, ...) TUI_FORMAT(1, 2);
void tui_info(const char *fmt, ...) TUI_FORMAT(1, 2);
/* Progress bar on stderr when it is a terminal: "label [#####   ] 42%". */
void tui_progress(const char *label, double fraction);
void tui_progress_done(void);
bool tui_stderr_is_tty(void);

/* Sub-commands; argv[0] is the sub-command name.  Return the exit status. */
int tui_cmd_analyze(int argc, char **argv);
int tui_cmd_render(int argc, char **argv);

/* Options shared by the workstation modes (screen and headless). */
struct tui_opts {
	const char *mix;             /* NULL with demo */
	const char *const *refs;
	int n_refs;
	bool demo;
	const char *device;
	unsigned buffer_frames;
	double rate;
	bool no_device;
	const char *commands;        /* headless: FILE or "-" */
	const struct tui_session *session;  /* --session: applied once open */
	const char *session_path;    /* where `save` writes by default */
};

struct audio_studio;
struct tui_session;

/* A loaded session's chain and monitor settings onto the studio (its
 * sources are opened by the caller).  0, or -1 with msg (an unknown
 * playback system or platform: the rest is applied). */
int tui_session_apply(struct audio_studio *st, const struct tui_session *s, char *msg, size_t len);
/* The studio's sources, chain and monitor state into s (after
 * tui_session_init).  0 or -1 (out of memory). */
int tui_session_capture(struct audio_studio *st, struct tui_session *s);

/* The ncurses workstation.  Returns the exit status. */
int tui_screen_run(const struct tui_opts *o);
/* The headless command reader.  Returns the exit status. */
int tui_headless_run(const struct tui_opts *o);

#endif

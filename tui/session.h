/*
 * termaster — the session file (DESIGN.md "The session file").
 *
 * A session is plain text, kept in git next to the mixes:
 *
 *   # termaster session
 *   version = 1
 *
 *   [mix]
 *   path = mixes/song.wav
 *
 *   [ref 1]
 *   path = refs/loud.flac
 *   offset_s = 0.25
 *   trim_db = -0.5                (manual match offset, -24 … 24 dB)
 *   loop = on                     (its own loop: on|off; with loop_in_s <
 *   loop_in_s = 30                 loop_out_s, 0 … 86400 s, used when the
 *   loop_out_s = 45.5              playheads are independent)
 *   cues = 12.5, 61, 93.25        (cue points, s on its own clip, at most 16)
 *
 *   [chain]
 *   gain.gain_db = -1.5
 *   eq.band1.type = bell          (choices by name)
 *   …                             (every parameter of the chain's table)
 *
 *   [monitor]
 *   match = on                    (on|off)
 *   monitor = stereo              (stereo|mono|side|left|right|swap|polarity)
 *   system = off                  (a playback system NAME, or off)
 *   level_db = -12                (listening level, -60 … 0)
 *   platform = off                (a streaming platform ID, or off)
 *   bandsolo = 0                  (0 = off, 1 … 6)
 *   playhead = sync               (sync|independent)
 *   method = integrated           (loudness match: integrated|region|riding)
 *
 *   [snapshot A]                  (… [snapshot D]: stored chain settings,
 *   gain.gain_db = 2               the keys of [chain]; optional)
 *
 * Rules: `version = 1` is the first line that is not blank or a comment.
 * Comments are whole lines starting with `#` (so a path may hold a '#').
 * Keys are `key = value`, the value trimmed of blanks.  [mix] is required;
 * references are numbered 1, 2, … in order; [chain] and [monitor] are
 * optional, and a parameter left out of [chain] keeps its default (a session
 * written before the parameter existed).  Unknown sections and keys,
 * duplicate sections and keys, missing values and values out of range are
 * errors, never silently dropped.  Paths are written relative to the
 * session file's folder (absolute when they share no more than "/" with
 * it) and resolved against it on load; absolute paths stay absolute.  Numbers are read and written in the "C" locale whatever
 * LC_ALL says; chain values are written with "%.9g" so they read back as
 * the same float, bit for bit.
 *
 * Messages take the form "FILE:LINE: what was expected", FILE being the path
 * as given to tui_session_load().
 *
 * Errors: 0 = success, or one of enum tui_session_error.
 */
#ifndef TM_TUI_SESSION_H
#define TM_TUI_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "chain/chain.h"

#define TUI_SESSION_VERSION 1
/* Longest line the reader accepts, in bytes, without the newline. */
#define TUI_SESSION_LINE_MAX 4096
/* Largest session file the reader accepts, in bytes. */
#define TUI_SESSION_SIZE_MAX (1 << 20)
/* Most references a session holds. */
#define TUI_SESSION_REFS_MAX 64
/* |offset_s| of a reference is at most this, in seconds. */
#define TUI_SESSION_OFFSET_MAX_S 86400.0
#define TUI_SESSION_BANDSOLO_MAX 6
/* |trim_db| of a reference is at most this, in dB. */
#define TUI_SESSION_TRIM_MAX_DB 24.0
/* Cue points per reference. */
#define TUI_SESSION_CUES_MAX 16
/* Snapshots A … D. */
#define TUI_SESSION_SNAPSHOTS 4

enum tui_session_error {
	TUI_SESSION_OK = 0,
	TUI_SESSION_ERROR_ERRNO,    /* a system call failed, see errno (msg says which) */
	TUI_SESSION_ERROR_NOMEM,
	TUI_SESSION_ERROR_SYNTAX,   /* the file is malformed (msg: FILE:LINE: …) */
	TUI_SESSION_ERROR_MISSING,  /* tui_session_check_files: an audio file is missing */
	TUI_SESSION_ERROR_VALUE,    /* save: a value cannot be written (a path
				     * with a newline, no [mix] …) */
};

const char *tui_session_strerror(int err);

/* The monitor modes by name, in the order of enum audio_monitor
 * (audio/engine.h): "stereo", "mono", "side", "left", "right", "swap",
 * "polarity". */
#define TUI_SESSION_MONITOR_COUNT 7
const char *tui_session_monitor_name(int monitor);

/* What a session keeps of a reference besides its path and offset. */
struct tui_session_ref {
	double trim_db;
	bool loop_on;
	double loop_in_s, loop_out_s;   /* both 0: no loop region */
	int n_cues;
	double cue_s[TUI_SESSION_CUES_MAX];   /* sorted */
};

/* [monitor] playhead and method by name, in the order of enum
 * audio_playhead (audio/engine.h) and enum audio_match_method
 * (audio/studio.h). */
#define TUI_SESSION_PLAYHEAD_COUNT 2
#define TUI_SESSION_METHOD_COUNT 3
const char *tui_session_playhead_name(int playhead);
const char *tui_session_method_name(int method);

struct tui_session {
	char *path;              /* the session file as given to load/save, or NULL */
	char *mix;               /* resolved: usable from the current folder */
	int n_refs;
	char **refs;             /* resolved, n_refs of them */
	double *ref_offset_s;    /* n_refs of them, 0 when not given */
	struct tui_session_ref *ref;  /* n_refs of them, zero when not given */
	struct chain_settings chain;
	/* [monitor]: written only when has_monitor is set (load sets it when
	 * the section is present) */
	bool has_monitor;
	bool match;
	int monitor;             /* enum audio_monitor */
	char system[32];         /* "" = off */
	double level_db;
	char platform[32];       /* "" = off */
	int bandsolo;            /* 0 = off, 1 … TUI_SESSION_BANDSOLO_MAX */
	int playhead;            /* enum audio_playhead */
	int method;              /* enum audio_match_method */
	/* [snapshot A] … [snapshot D]: written when has_snapshot[i] */
	bool has_snapshot[TUI_SESSION_SNAPSHOTS];
	struct chain_settings snapshot[TUI_SESSION_SNAPSHOTS];
	/* where load found things (0 when not loaded from a file) */
	int line_of_mix;         /* line of [mix]'s `path` */
	int *line_of_ref;        /* n_refs of them: line of [ref N]'s `path` */
};

/* An empty session: no mix, no references, chain_settings_default(),
 * match on, monitor stereo, system and platform off, level
 * CHAIN_DEVSIM_LEVEL_DEF_DB, bandsolo off. */
void tui_session_init(struct tui_session *s);
/* Frees what s holds and leaves it as after tui_session_init(). */
void tui_session_free(struct tui_session *s);

/* Sets the mix (NULL clears it).  Returns 0 or TUI_SESSION_ERROR_NOMEM. */
int tui_session_set_mix(struct tui_session *s, const char *path);
/* Appends a reference (its tui_session_ref zero: fill s->ref[n_refs - 1]
 * afterwards).  Returns 0, TUI_SESSION_ERROR_NOMEM or
 * TUI_SESSION_ERROR_VALUE (more than TUI_SESSION_REFS_MAX). */
int tui_session_add_ref(struct tui_session *s, const char *path, double offset_s);

/* Reads the session at `path` into s, which must be initialised; its old
 * contents are freed on success.  On error s is untouched (a failed reload
 * keeps the session in use) and msg holds one line: "FILE:LINE: what was
 * expected", or "FILE: reason" for a file that cannot be read.  Does not
 * check that the audio files exist.
 * Returns 0, TUI_SESSION_ERROR_ERRNO, TUI_SESSION_ERROR_NOMEM or
 * TUI_SESSION_ERROR_SYNTAX. */
int tui_session_load(const char *path, struct tui_session *s, char *msg, size_t len);

/* Writes s to `path` atomically: a temporary file in the same folder
 * (mkstemp), fsync, rename over `path`, fsync the folder.  A crash at any
 * moment leaves the old file or the new one, never a mix of both; on error
 * the temporary file is removed and the old file is untouched.  Paths are
 * written relative to path's folder.  Does not change s->path.
 * An existing file at `path` is replaced only when it is empty or a session
 * (its first line that is not blank or a comment starts with "version");
 * anything else (the mix, a reference, a folder) is refused with
 * TUI_SESSION_ERROR_VALUE, "FILE: exists and is not a termaster session".
 * Returns 0, TUI_SESSION_ERROR_ERRNO (msg: "FILE: reason"),
 * TUI_SESSION_ERROR_NOMEM or TUI_SESSION_ERROR_VALUE. */
int tui_session_save(const char *path, const struct tui_session *s, char *msg, size_t len);

/* Checks that the mix and every reference can be opened for reading.
 * Returns 0, or TUI_SESSION_ERROR_MISSING with msg
 * "FILE:LINE: [ref 2] path: cannot read 'x.wav': No such file or directory"
 * for the first that cannot (LINE 0 is left out for sessions not loaded
 * from a file). */
int tui_session_check_files(const struct tui_session *s, char *msg, size_t len);

/* For tests only: when set, save writes the temporary file through this
 * instead of write(2) (to simulate a full disk or a crash mid-write). */
extern ssize_t (*tui_session_write_hook)(int fd, const void *buf, size_t n);

#endif

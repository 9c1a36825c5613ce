/*
 * termaster — streaming-platform loudness normalisation rules.
 *
 * What each platform's player does to a track's level: the gain it applies
 * from the track's integrated loudness and true peak, whether it refuses or
 * caps positive gain, and whether a limiter of its own would engage.  The
 * monitor section plays that gain in place of the match gain while the user
 * previews a platform (DESIGN.md, "How the data flows").
 *
 * The rules are compiled in (a static table, the same rules as the shipped
 * refs/platforms.txt, which cites where each number comes from) and a user
 * file can correct or add rules: see refs_platform_load().
 *
 * The gain arithmetic is pure and allocation-free; only the loader reads a
 * file and allocates.  Nothing here prints.
 *
 * Errors: 0 or enum refs_platform_error.
 */
#ifndef TM_REFS_PLATFORM_H
#define TM_REFS_PLATFORM_H

#include <stddef.h>

enum refs_platform_error {
	REFS_PLATFORM_OK = 0,
	REFS_PLATFORM_ERROR_NOMEM,
	REFS_PLATFORM_ERROR_ERRNO,  /* the file could not be read: see errno */
	REFS_PLATFORM_ERROR_PARSE,  /* the file is malformed: msg says file:line: what */
	REFS_PLATFORM_ERROR_NOPATH, /* neither XDG_CONFIG_HOME nor HOME is set */
	REFS_PLATFORM_ERROR_TOOLONG /* a path or a file does not fit */
};

/* What the platform does when a track is quieter than its target. */
enum refs_platform_boost {
	REFS_PLATFORM_BOOST_NONE,   /* turns down only (file: positive_gain = no) */
	REFS_PLATFORM_BOOST_CAPPED, /* turns up only as far as max_peak_dbtp
	                             * allows (file: positive_gain = capped) */
	REFS_PLATFORM_BOOST_LIMITER /* turns up all the way; its own limiter
	                             * holds the peaks (file: positive_gain = limiter) */
};

#define REFS_PLATFORM_ID_MAX    32 /* bytes with the NUL */
#define REFS_PLATFORM_LABEL_MAX 64 /* bytes with the NUL */

/* One rule.  Plain data: may be copied by value (e.g. into an engine
 * message).  Field names match the file's keys. */
struct refs_platform {
	char id[REFS_PLATFORM_ID_MAX];       /* "spotify-normal": [a-z0-9_-], 1-31 */
	char label[REFS_PLATFORM_LABEL_MAX]; /* "Spotify (normal)": for the screen */
	double target_lufs;                  /* integrated loudness it plays at, LUFS */
	enum refs_platform_boost boost;
	double max_peak_dbtp;      /* CAPPED: highest true peak positive gain may
	                            * reach, dBTP (Spotify normal: -1) */
	double limiter_ceiling_db; /* LIMITER: where its limiter engages, dB
	                            * (Spotify: -1 "sample values") */
	double limiter_attack_ms;  /* LIMITER: 5 ms for Spotify */
	double limiter_release_ms; /* LIMITER: 100 ms for Spotify */
	double gain_step_db;       /* the player quantises its gain to this
	                            * step, dB; 0 = not quantised (no platform
	                            * publishes one) */
};

/* What a platform does to one source.  All levels in dB / LUFS / dBTP. */
struct refs_platform_result {
	int valid;              /* 0: loudness or peak not finite (silent or
	                         * unmeasured): everything below is 0 */
	double wanted_gain_db;  /* target - integrated: full normalisation */
	double gain_db;         /* the gain the platform applies */
	int boost_refused;      /* 1: quieter than target, platform turns down
	                         * only, so gain_db = 0 */
	int capped;             /* 1: positive gain stopped short of the target
	                         * by max_peak_dbtp */
	double peak_after_dbtp; /* true_peak + gain_db, before any limiter */
	int limiter_engaged;    /* 1: LIMITER rule and peak_after_dbtp above
	                         * limiter_ceiling_db */
	double limiter_over_db; /* by how much the peak would exceed the
	                         * ceiling before limiting (0 if not engaged) */
	double playback_lufs;   /* integrated + gain_db: what the listener
	                         * hears (a limiter that engages takes off a
	                         * little more; not modelled here) */
	double penalty_db;      /* the "loudness penalty": min(gain_db, 0),
	                         * how far the platform turns the track down */
};

/*
 * The gain platform p applies to a source of integrated loudness
 * integrated_lufs (LUFS, BS.1770) and true peak true_peak_dbtp (dBTP):
 *
 *   wanted = target - integrated
 *   wanted <= 0:      gain = wanted                       (every rule)
 *   wanted >  0:      NONE     gain = 0
 *                     CAPPED   gain = min(wanted, max(0, max_peak - true_peak))
 *                     LIMITER  gain = wanted
 *
 * then, when gain_step_db > 0, gain is rounded to the nearest step but never
 * above the bound the rule sets (0 for NONE, max(0, max_peak - true_peak)
 * for CAPPED).  A CAPPED rule never turns a quiet track *down* to make
 * headroom: its gain stays within [0, wanted].  The limiter of a LIMITER rule
 * is judged on the true peak, which is never below the sample peak, so it is
 * reported engaging whenever it might.
 *
 * Pure: no allocation, no I/O.  RT-safe.
 */
void refs_platform_gain(const struct refs_platform *p, double integrated_lufs,
                        double true_peak_dbtp, struct refs_platform_result *r);

/* ---- the rule set: built-ins plus the user's file ---- */

/* The compiled-in rules, in display order; *n receives their number.
 * Static storage.  RT-safe. */
const struct refs_platform *refs_platform_builtin(size_t *n);

struct refs_platform_set;

/* refs_platform_load() flags.  MISSING_OK: a file that does not exist is
 * no error (built-ins only).  NO_BUILTINS: start empty, so the file must
 * define every rule fully (used to check the shipped file). */
#define REFS_PLATFORM_LOAD_MISSING_OK  1u
#define REFS_PLATFORM_LOAD_NO_BUILTINS 2u

/*
 * Builds the rule set: the built-in rules, then the rules of the file at
 * `path` (NULL: built-ins only).  In the file, a section naming a rule that
 * already exists changes only the keys it gives (so a one-line correction
 * is enough); a new id adds a rule at the end and must give target_lufs and
 * positive_gain.  `enabled = no` drops a rule.  The format is described at
 * the top of refs/platforms.txt.
 *
 * On success *out is a new set (free with refs_platform_set_free) and msg is
 * "".  On failure *out is NULL and msg (if len > 0) says what went wrong:
 *   REFS_PLATFORM_ERROR_PARSE  "path:line: what was expected"
 *   REFS_PLATFORM_ERROR_ERRNO  "path: strerror(errno)" (errno is kept)
 *   REFS_PLATFORM_ERROR_TOOLONG the file is over 1 MiB
 *   REFS_PLATFORM_ERROR_NOMEM
 * Not RT-safe (reads a file, allocates).
 */
int refs_platform_load(const char *path, unsigned flags, struct refs_platform_set **out, char *msg,
                       size_t len);

/* As refs_platform_load() on text already in memory (NUL-terminated);
 * `name` stands for the file name in messages. */
int refs_platform_load_string(const char *text, const char *name, unsigned flags,
                              struct refs_platform_set **out, char *msg, size_t len);

/* Frees the set and sets *set to NULL.  NULL or *set == NULL is fine. */
void refs_platform_set_free(struct refs_platform_set **set);

/* Number of rules, and rule i (0 <= i < count; NULL otherwise), in display
 * order: built-ins first in their order, then the user's new rules in file
 * order.  The pointers live as long as the set.  RT-safe (no allocation),
 * though the engine should rather be handed a copy of the rule it plays. */
size_t refs_platform_count(const struct refs_platform_set *set);
const struct refs_platform *refs_platform_at(const struct refs_platform_set *set, size_t i);
/* The rule with this id, or NULL.  RT-safe. */
const struct refs_platform *refs_platform_find(const struct refs_platform_set *set, const char *id);

/*
 * Where the user's rules live: $XDG_CONFIG_HOME/termaster/platforms.txt, or
 * $HOME/.config/termaster/platforms.txt when XDG_CONFIG_HOME is unset,
 * empty or relative (XDG Base Directory spec).  Writes it to buf.
 * Returns 0, REFS_PLATFORM_ERROR_NOPATH or REFS_PLATFORM_ERROR_TOOLONG.
 */
int refs_platform_user_path(char *buf, size_t len);

/* Text for a REFS_PLATFORM_ERROR_* code. */
const char *refs_platform_strerror(int err);

#endif

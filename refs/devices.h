/*
 * termaster — playback systems: the device files.
 *
 * Each simulated playback system (earbuds, car, phone, laptop, TV, flat) is
 * a plain-text file: a few `key = value` lines and the frequency-response
 * curve as `frequency_hz gain_db` lines, with the source of the curve cited
 * in its comments.  The shipped files live in refs/devices/ (installed in
 * the package's data folder); the user's own go in
 * ~/.config/termaster/devices/ ($XDG_CONFIG_HOME/termaster/devices/ if
 * set), where a file whose `name` is that of a shipped device replaces it.
 * chain/devsim.h runs a device; this module only reads the files (chain/
 * never touches files).
 *
 * The format (also at the top of every shipped file):
 *
 *   # comment lines start with '#'; blank lines are ignored
 *   name = car                 required: a-z, 0-9, '-', '_'; 1-31 characters
 *   label = Car                shown on the screen (default: the name)
 *   order = 30                 place in the list, 0 … 1000 (default 500;
 *                              then by name)
 *   mono = no                  yes: the device sums to mono (default no)
 *   excursion_hz = 0           small speaker: driver resonance, 10 … 5000 Hz
 *                              (default 0: no excursion limit)
 *   excursion_db = -24         with excursion_hz: peak dBFS of the band below
 *                              the resonance that reaches the excursion limit
 *                              at full volume, -60 … 20 (required then)
 *   excursion_ratio = 4        protection limiter ratio, 1 … 20 (default 4)
 *   noise_hi_hz = 0            road-noise bed: low-pass corner, 100 … 10000
 *                              Hz (default 0: no noise bed)
 *   noise_lo_hz = 20           its high-pass corner, 5 … 200 Hz (default 20)
 *   noise_slope_db_oct = -3    its slope in between, -6 … 0 (default -3: pink)
 *   20 -18.0                   the curve: frequency_hz gain_db, separated by
 *   25 -15.5                   spaces, tabs, ',' or ';'; frequencies strictly
 *   …                          increasing, 1 … 100000 Hz; gains -120 … 40 dB;
 *                              at least 2 and at most CHAIN_DEVSIM_MAX_POINTS
 *
 * Numbers are plain decimals ("-3", "0.5"), read the same in every locale.
 * The curve is interpolated linearly in log-frequency and held flat beyond
 * its ends (chain_devsim_curve_db()).
 *
 * Nothing here prints; not RT-safe (reads files, allocates).
 * Errors: 0 or enum refs_devices_error.
 */
#ifndef TM_REFS_DEVICES_H
#define TM_REFS_DEVICES_H

#include <stddef.h>

#include "chain/devsim.h"

enum refs_devices_error {
	REFS_DEVICES_OK = 0,
	REFS_DEVICES_ERROR_NOMEM,
	REFS_DEVICES_ERROR_ERRNO,   /* a file or folder could not be read: see errno */
	REFS_DEVICES_ERROR_PARSE,   /* a file is malformed: msg says file:line: what */
	REFS_DEVICES_ERROR_NOPATH,  /* neither XDG_CONFIG_HOME nor HOME is set */
	REFS_DEVICES_ERROR_TOOLONG, /* a path or a file (over 1 MiB) does not fit */
};

#define REFS_DEVICE_NAME_MAX  32   /* bytes with the NUL */
#define REFS_DEVICE_LABEL_MAX 64   /* bytes with the NUL */
#define REFS_DEVICE_PATH_MAX  1024 /* bytes with the NUL */

/* One device.  Plain data (about 33 KB: the curve). */
struct refs_device {
	char name[REFS_DEVICE_NAME_MAX];   /* "car": the key sessions store */
	char label[REFS_DEVICE_LABEL_MAX]; /* "Car": for the screen */
	char path[REFS_DEVICE_PATH_MAX];   /* the file it was read from */
	int order;                         /* place in the list */
	int user;                          /* 1: from the user's folder */
	struct chain_devsim_spec spec;     /* what chain_devsim_new() takes */
};

/*
 * Parses one device file held in memory (NUL-terminated text); `name`
 * stands for the file in messages.  On success fills *dev (path = name,
 * user = 0) and msg is "".  On failure returns REFS_DEVICES_ERROR_PARSE
 * with msg "name:line: what was expected", e.g.
 *   "phone.txt:14: 'x12' is not a number (gain_db): expected a plain decimal like -3.5"
 *   "phone.txt:15: 100 Hz is not above the previous point's 125 Hz: frequencies must increase"
 *   "phone.txt:31: end of file and no 'name = …' line"
 * or REFS_DEVICES_ERROR_NOMEM.
 */
int refs_device_parse(const char *text, const char *name, struct refs_device *dev, char *msg,
                      size_t len);

/* As refs_device_parse() on the file at `path`.  Also returns
 * REFS_DEVICES_ERROR_ERRNO ("path: strerror", errno kept) or
 * REFS_DEVICES_ERROR_TOOLONG (over 1 MiB). */
int refs_device_load(const char *path, struct refs_device *dev, char *msg, size_t len);

struct refs_device_set;

/*
 * Reads every "*.txt" file (not starting with '.') of builtin_dir, then of
 * user_dir, in file-name order; either may be NULL.  A device of user_dir
 * replaces the built-in of the same name (and is marked user = 1).  The set
 * is sorted by (order, name).
 *
 * builtin_dir must be readable and every file in it valid: otherwise
 * *out = NULL and the error is returned (msg: "file:line: …" or
 * "folder: strerror").  user_dir may be missing (no error).  A bad file in
 * user_dir is skipped: *out is still the set of everything else, and the
 * return value is REFS_DEVICES_ERROR_PARSE (or _ERRNO / _TOOLONG) with msg
 * naming the first bad file, line and reason, followed by " (and N more
 * files)" when there are others.  So:
 *
 *	err = refs_devices_load(data_dir, user_dir, &set, msg, sizeof(msg));
 *	if (!set) fatal(msg); else if (err) warn(msg);
 *
 * Two files of the same folder with the same name: the second is an error
 * ("b.txt:2: device 'car' is already defined in a.txt").
 */
int refs_devices_load(const char *builtin_dir, const char *user_dir, struct refs_device_set **out,
                      char *msg, size_t len);

/* Frees the set and sets *set to NULL.  NULL or *set == NULL is fine. */
void refs_device_set_free(struct refs_device_set **set);

/* Number of devices and device i (NULL when i >= count), sorted by
 * (order, name).  The pointers live as long as the set. */
size_t refs_device_count(const struct refs_device_set *set);
const struct refs_device *refs_device_at(const struct refs_device_set *set, size_t i);
/* The device with this name, or NULL. */
const struct refs_device *refs_device_find(const struct refs_device_set *set, const char *name);

/*
 * The user's folder: $XDG_CONFIG_HOME/termaster/devices, or
 * $HOME/.config/termaster/devices when XDG_CONFIG_HOME is unset, empty or
 * relative (XDG Base Directory spec).  Returns 0,
 * REFS_DEVICES_ERROR_NOPATH or REFS_DEVICES_ERROR_TOOLONG.
 */
int refs_devices_user_dir(char *buf, size_t len);

/* Text for a REFS_DEVICES_ERROR_* code. */
const char *refs_devices_strerror(int err);

#endif

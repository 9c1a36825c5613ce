/*
 * termaster — the ncurses workstation.
 *
 * The loop follows cmus main_loop: poll() on the terminal with a 40 ms
 * timeout (~25 Hz); per frame one audio_studio_poll(), the meter tap drained
 * into a refs_meter, one engine snapshot, then erase() + draw + refresh(),
 * so that ncurses sends only what changed (an SSH link must stay under
 * ~16 KB/s: never clear() or clearok() per frame).  SIGWINCH, SIGINT,
 * SIGTERM and SIGHUP only set volatile sig_atomic_t flags.
 *
 * Everything the user does goes to the engine through audio/engine.h (via
 * audio_studio_engine()) or audio_studio_set_source(); nothing here touches
 * samples except feeding the meters.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <langinfo.h>
#include <locale.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>
#include <wchar.h>

#include <curses.h>

#include "audio/engine.h"
#include "audio/studio.h"
#include "chain/devsim.h"
#include "chain/bandsolo.h"
#include "refs/loudness.h"
#include "refs/match.h"
#include "refs/meter.h"
#include "tui/session.h"
#include "tui/tui.h"

#define SCREEN_MIN_COLS 80
#define SCREEN_MIN_ROWS 24
#define FRAME_MS 40             /* ~25 Hz */
#define SEEK_STEP_S 5.0
#define PENDING_S 0.3           /* a command not yet in the snapshot */
#define TAP_FRAMES 4096
#define MSG_SECONDS 6.0
#define METER_LO_DB -40.0       /* scale of the loudness and peak bars */
#define METER_HI_DB 0.0
#define GR_RANGE_DB 12.0        /* limiter gain-reduction bar: 0 … -12 dB */

/* ---- signals: flags only ---- */

static volatile sig_atomic_t needs_to_resize;
static volatile sig_atomic_t got_quit_signal;

static void on_winch(int sig)
{
	(void)sig;
	needs_to_resize = 1;
}

static void on_quit(int sig)
{
	(void)sig;
	got_quit_signal = 1;
}

/* ---- memory and the terminal's stderr ---- */

static int saved_stderr = -1;   /* the terminal's stderr while ncurses runs */

static void restore_stderr(void)
{
	if (saved_stderr >= 0) {
		dup2(saved_stderr, STDERR_FILENO);
		close(saved_stderr);
		saved_stderr = -1;
	}
}

/* UI code may abort on OOM (STYLE.md §5, cmus xmalloc.h). */
static void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n, size);

	if (!p) {
		if (!isendwin())
			endwin();
		restore_stderr();
		tui_error("out of memory");
		abort();
	}
	return p;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ---- looks: colour when allowed, attributes otherwise ---- */

enum look {
	LOOK_NORMAL,
	LOOK_DIM,
	LOOK_BOLD,
	LOOK_TITLE,
	LOOK_HEAD,
	LOOK_OK,
	LOOK_WARN,
	LOOK_OVER,
	LOOK_ACCENT,
	LOOK_KEY,
	LOOK_AB_AFTER,
	LOOK_AB_BEFORE,
	LOOK_AB_REF,
	LOOK_SELECT,
	LOOK_COUNT
};

static attr_t looks[LOOK_COUNT];

static void looks_init(bool colour)
{
	short bg = -1;

	looks[LOOK_NORMAL] = A_NORMAL;
	looks[LOOK_DIM] = A_DIM;
	looks[LOOK_BOLD] = A_BOLD;
	looks[LOOK_HEAD] = A_BOLD | A_UNDERLINE;
	looks[LOOK_KEY] = A_BOLD;
	if (!colour) {
		looks[LOOK_TITLE] = A_REVERSE | A_BOLD;
		looks[LOOK_OK] = A_NORMAL;
		looks[LOOK_WARN] = A_BOLD;
		looks[LOOK_OVER] = A_BOLD;
		looks[LOOK_ACCENT] = A_BOLD;
		looks[LOOK_AB_AFTER] = A_REVERSE | A_BOLD;
		looks[LOOK_AB_BEFORE] = A_REVERSE | A_BOLD;
		looks[LOOK_AB_REF] = A_REVERSE | A_BOLD;
		looks[LOOK_SELECT] = A_BOLD;
		return;
	}
	if (use_default_colors() != OK)
		bg = COLOR_BLACK;
	init_pair(1, COLOR_GREEN, bg);
	init_pair(2, COLOR_YELLOW, bg);
	init_pair(3, COLOR_RED, bg);
	init_pair(4, COLOR_CYAN, bg);
	init_pair(5, COLOR_BLACK, COLOR_GREEN);
	init_pair(6, COLOR_BLACK, COLOR_YELLOW);
	init_pair(7, COLOR_BLACK, COLOR_CYAN);
	init_pair(8, COLOR_WHITE, COLOR_BLUE);
	looks[LOOK_TITLE] = COLOR_PAIR(8) | A_BOLD;
	looks[LOOK_OK] = COLOR_PAIR(1);
	looks[LOOK_WARN] = COLOR_PAIR(2) | A_BOLD;
	looks[LOOK_OVER] = COLOR_PAIR(3) | A_BOLD;
	looks[LOOK_ACCENT] = COLOR_PAIR(4);
	looks[LOOK_KEY] = COLOR_PAIR(4) | A_BOLD;
	looks[LOOK_AB_AFTER] = COLOR_PAIR(5) | A_BOLD;
	looks[LOOK_AB_BEFORE] = COLOR_PAIR(6) | A_BOLD;
	looks[LOOK_AB_REF] = COLOR_PAIR(7) | A_BOLD;
	looks[LOOK_SELECT] = COLOR_PAIR(4) | A_BOLD;
}

/* ---- glyphs: UTF-8 or ASCII ---- */

struct glyphs {
	const char *play, *pause, *dash, *times, *ellipsis, *swap, *dot;
	const char *full, *empty, *hold, *centre, *half_right;
	const char *eighth[8];      /* [k] = k/8 of a cell, left-aligned */
	const char *pos_done, *pos_rest, *pos_head;
	const char *box_h, *box_v, *box_tl, *box_tr, *box_bl, *box_br;
	const char *left_right;
};

static const struct glyphs glyphs_utf8 = {
	.play = "\u25b6",                /* ▶ */
	.pause = "\u23f8",               /* ⏸ */
	.dash = "\u2014",                /* — */
	.times = "\u00d7",               /* × */
	.ellipsis = "\u2026",            /* … */
	.swap = "\u21c4",                /* ⇄ */
	.dot = "\u00b7",                 /* · */
	.full = "\u2588",                /* █ */
	.empty = "\u00b7",               /* · */
	.hold = "\u2502",                /* │ */
	.centre = "\u2502",              /* │ */
	.half_right = "\u2590",          /* ▐ */
	.eighth = { " ", "\u258f", "\u258e", "\u258d", "\u258c", "\u258b", "\u258a",
		    "\u2589" },          /* ▏▎▍▌▋▊▉ */
	.pos_done = "\u2501",            /* ━ */
	.pos_rest = "\u2500",            /* ─ */
	.pos_head = "\u25cf",            /* ● */
	.box_h = "\u2500",               /* ─ */
	.box_v = "\u2502",               /* │ */
	.box_tl = "\u250c",              /* ┌ */
	.box_tr = "\u2510",              /* ┐ */
	.box_bl = "\u2514",              /* └ */
	.box_br = "\u2518",              /* ┘ */
	.left_right = "\u2190/\u2192",   /* ←/→ */
};

static const struct glyphs glyphs_ascii = {
	.play = ">",
	.pause = "||",
	.dash = "-",
	.times = "x",
	.ellipsis = "...",
	.swap = "<>",
	.dot = "-",
	.full = "#",
	.empty = ".",
	.hold = "|",
	.centre = "|",
	.half_right = "#",
	.eighth = { " ", " ", " ", " ", "=", "=", "=", "=" },  /* " ": draw empty */
	.pos_done = "=",
	.pos_rest = "-",
	.pos_head = "O",
	.box_h = "-",
	.box_v = "|",
	.box_tl = "+",
	.box_tr = "+",
	.box_bl = "+",
	.box_br = "+",
	.left_right = "<-/->",
};

static const struct glyphs *G = &glyphs_ascii;

/* ---- text helpers ---- */

/* Copy src into dst replacing control characters and invalid or unprintable
 * multibyte sequences with '?', so that every string drawn is safe. */
static void sanitize(char *dst, size_t n, const char *src)
{
	mbstate_t ps;
	size_t len = strlen(src), i = 0, o = 0;

	if (n == 0)
		return;
	memset(&ps, 0, sizeof(ps));
	while (i < len && o + 1 < n) {
		wchar_t wc;
		size_t k = mbrtowc(&wc, src + i, len - i, &ps);

		if (k == (size_t)-1 || k == (size_t)-2 || k == 0 ||
		    wcwidth(wc) < 0 || (G == &glyphs_ascii && k > 1)) {
			dst[o++] = '?';
			memset(&ps, 0, sizeof(ps));
			i++;
			continue;
		}
		if (o + k >= n)
			break;
		memmove(dst + o, src + i, k);
		o += k;
		i += k;
	}
	dst[o] = '\0';
}

/* Bytes of s that fit in maxw columns; *cols gets their width. */
static size_t fit_bytes(const char *s, int maxw, int *cols)
{
	mbstate_t ps;
	size_t len = strlen(s), i = 0;
	int c = 0;

	memset(&ps, 0, sizeof(ps));
	while (i < len) {
		wchar_t wc;
		size_t k = mbrtowc(&wc, s + i, len - i, &ps);
		int w;

		if (k == (size_t)-1 || k == (size_t)-2 || k == 0)
			break;
		w = wcwidth(wc);
		if (w < 0)
			w = 1;
		if (c + w > maxw)
			break;
		c += w;
		i += k;
	}
	if (cols)
		*cols = c;
	return i;
}

static int text_cols(const char *s)
{
	int c;

	fit_bytes(s, 1 << 20, &c);
	return c;
}

/* Draw s at (y, x) in look `lk`, clipped to maxw columns (-1: to the right
 * edge).  Returns the columns drawn. */
static int put(int y, int x, int maxw, enum look lk, const char *s)
{
	int room = COLS - x, c;
	size_t n;

	if (maxw < 0 || maxw > room)
		maxw = room;
	if (!s || y < 0 || y >= LINES || x < 0 || maxw <= 0)
		return 0;
	n = fit_bytes(s, maxw, &c);
	attrset(looks[lk]);
	mvaddnstr(y, x, s, (int)n);
	attrset(A_NORMAL);
	return c;
}

/* Like put(), but a string too long for maxw ends in an ellipsis. */
static int put_ellip(int y, int x, int maxw, enum look lk, const char *s)
{
	int ew = text_cols(G->ellipsis), c;
	char buf[1024];
	size_t n;

	if (!s || maxw <= ew || text_cols(s) <= maxw)
		return put(y, x, maxw, lk, s);
	n = fit_bytes(s, maxw - ew, &c);
	if (n >= sizeof(buf) - 8)
		n = sizeof(buf) - 8;
	memcpy(buf, s, n);
	snprintf(buf + n, sizeof(buf) - n, "%s", G->ellipsis);
	return put(y, x, maxw, lk, buf);
}

static int putf(int y, int x, int maxw, enum look lk, const char *fmt, ...)
	TUI_FORMAT(5, 6);

static int putf(int y, int x, int maxw, enum look lk, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return put(y, x, maxw, lk, buf);
}

/* Fill a row segment with spaces in a look (title bar, banners). */
static void fill(int y, int x, int w, enum look lk)
{
	if (y < 0 || y >= LINES || x >= COLS)
		return;
	if (x + w > COLS)
		w = COLS - x;
	attrset(looks[lk]);
	mvhline(y, x, ' ', w);
	attrset(A_NORMAL);
}

static void put_right(int y, int right, enum look lk, const char *s)
{
	int c = text_cols(s);

	put(y, right - c, c, lk, s);
}

/* "-14.2"; "-inf" for silence; never "-0.0". */
static const char *fmt_db(char *buf, size_t n, double v, bool sign)
{
	if (isnan(v))
		snprintf(buf, n, "%s", "--");
	else if (!isfinite(v) || v < -199.9)
		snprintf(buf, n, "%s", v < 0 ? "-inf" : "+inf");
	else if (fabs(v) < 0.05)
		snprintf(buf, n, "%s", sign ? "+0.0" : "0.0");
	else
		snprintf(buf, n, sign ? "%+.1f" : "%.1f", v);
	return buf;
}

/* mm:ss.t, truncated (a playhead at 59.96 s is still 00:59.9). */
static const char *fmt_time(char *buf, size_t n, double s)
{
	unsigned long t;

	if (!isfinite(s) || s < 0)
		s = 0;
	if (s > 599999.0)
		s = 599999.0;
	t = (unsigned long)floor(s * 10.0 + 1e-6);
	snprintf(buf, n, "%02u:%02u.%u", (unsigned)(t / 600 % 10000),
		 (unsigned)(t / 10 % 60), (unsigned)(t % 10));
	return buf;
}

/* ---- the screen state ---- */

struct screen {
	struct audio_studio *st;
	struct audio_engine *eng;
	struct refs_meter *meter;
	float *tap;
	double rate;

	struct audio_engine_snapshot snap;
	struct refs_meter_values mv;
	struct audio_match_info match;
	int n_src;
	struct audio_source_info *src;          /* [AUDIO_MAX_SOURCES] */
	enum audio_source_state prev_state[AUDIO_MAX_SOURCES];
	char notice[256];

	bool help;
	bool quit;
	bool too_small;
	int last_ref;

	bool has_in, has_out;
	double loop_in_s, loop_out_s;
	double seek_target_s, seek_at;

	/* Commands sent but maybe not yet taken by the engine (it drains its
	 * ring once a block): the screen shows, and the next key builds on,
	 * what was asked for until the snapshot agrees or PENDING_S passes. */
	struct want {
		int value;
		double at;      /* 0: nothing pending */
	} want_play, want_bypass, want_match, want_loop, want_source, want_monitor;
	float listen_db;        /* the playback systems' listening level */
	bool codec_playing;     /* the mix slot is the codec preview */
	char codec_aside[96];
	int noise_step;         /* road noise: 0 off, 1 … 3 */
	const char *session_path;  /* --session, where w saves */
	char save_path[1024];

	char msg[512];
	enum look msg_look;
	double msg_until;                       /* 0: until replaced */
};

static void say(struct screen *s, enum look lk, double seconds, const char *fmt, ...)
	TUI_FORMAT(4, 5);

static void say(struct screen *s, enum look lk, double seconds, const char *fmt, ...)
{
	char raw[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(raw, sizeof(raw), fmt, ap);
	va_end(ap);
	sanitize(s->msg, sizeof(s->msg), raw);
	s->msg_look = lk;
	s->msg_until = seconds > 0 ? now_s() + seconds : 0;
}

static void want(struct want *w, int value)
{
	w->value = value;
	w->at = now_s();
}

static void apply_want(struct want *w, bool *b, int *i, double t)
{
	int have = b ? (int)*b : *i;

	if (w->at <= 0)
		return;
	if (have == w->value || t - w->at >= PENDING_S) {
		w->at = 0;
		return;
	}
	if (b)
		*b = w->value != 0;
	else
		*i = w->value;
}

/* One engine snapshot, with what was just asked for laid over it. */
static void take_snapshot(struct screen *s)
{
	double t = now_s();

	audio_engine_snapshot(s->eng, &s->snap);
	s->codec_playing = AUDIO_IS_CODEC_SLOT(s->snap.source);
	if (s->codec_playing)
		s->snap.source = 0;  /* the codec preview stands in for the mix */
	apply_want(&s->want_play, &s->snap.playing, NULL, t);
	apply_want(&s->want_bypass, &s->snap.bypass, NULL, t);
	apply_want(&s->want_match, &s->snap.match, NULL, t);
	apply_want(&s->want_loop, &s->snap.loop_on, NULL, t);
	apply_want(&s->want_source, NULL, &s->snap.source, t);
	{
		int m = (int)s->snap.monitor;

		apply_want(&s->want_monitor, NULL, &m, t);
		s->snap.monitor = (enum audio_monitor)m;
	}
}

static double sec_of(const struct screen *s, int64_t frames)
{
	double r = s->snap.rate > 0 ? s->snap.rate : s->rate;

	return r > 0 ? (double)frames / r : 0.0;
}

static double position_s(const struct screen *s)
{
	double pos = sec_of(s, s->snap.position);

	/* A seek just sent may not be in the snapshot yet: build on it so that
	 * repeated arrow presses add up. */
	if (s->seek_at > 0 && now_s() - s->seek_at < PENDING_S) {
		pos = s->seek_target_s;
		if (s->snap.playing)
			pos += now_s() - s->seek_at;
	}
	return pos;
}

static double length_s(const struct screen *s)
{
	return sec_of(s, s->snap.length);
}

/* "MIX", "REF 3" */
static void slot_label(char *buf, size_t n, int slot)
{
	if (slot == 0)
		snprintf(buf, n, "MIX");
	else
		snprintf(buf, n, "REF %d", slot);
}

/* ---- updating from the studio and the engine ---- */

static void refresh_sources(struct screen *s)
{
	int i;

	s->n_src = audio_studio_source_count(s->st);
	if (s->n_src > AUDIO_MAX_SOURCES)
		s->n_src = AUDIO_MAX_SOURCES;
	if (s->n_src < 0)
		s->n_src = 0;
	for (i = 0; i < s->n_src; i++) {
		struct audio_source_info *si = &s->src[i];
		char label[16];

		audio_studio_source(s->st, i, si);
		si->path[sizeof(si->path) - 1] = '\0';
		si->name[sizeof(si->name) - 1] = '\0';
		si->error[sizeof(si->error) - 1] = '\0';
		sanitize(si->name, sizeof(si->name), si->name);
		sanitize(si->error, sizeof(si->error), si->error);
		if (si->state == AUDIO_SOURCE_FAILED &&
		    s->prev_state[i] != AUDIO_SOURCE_FAILED) {
			slot_label(label, sizeof(label), i);
			say(s, LOOK_OVER, 0, "%s %s: %s", label, si->name,
			    si->error[0] ? si->error : "failed");
		}
		s->prev_state[i] = si->state;
	}
	audio_studio_match(s->st, &s->match);
}

static void drain_tap(struct screen *s)
{
	int guard;

	for (guard = 0; guard < 64; guard++) {
		size_t n = audio_engine_tap_read(s->eng, s->tap, TAP_FRAMES);

		if (n == 0)
			break;
		if (s->meter)
			refs_meter_add(s->meter, s->tap, n);
		if (n < TAP_FRAMES)
			break;
	}
	if (s->meter)
		refs_meter_get(s->meter, &s->mv);
}

static void tick(struct screen *s)
{
	const char *notice;

	audio_studio_poll(s->st);
	refresh_sources(s);
	drain_tap(s);
	take_snapshot(s);
	if (s->snap.source > 0 && s->snap.source < s->n_src)
		s->last_ref = s->snap.source;

	notice = audio_studio_notice(s->st);
	if (notice && strcmp(notice, s->notice) != 0) {
		snprintf(s->notice, sizeof(s->notice), "%s", notice);
		if (notice[0])
			say(s, LOOK_WARN, 10.0, "%s", notice);
	}
	if (s->msg_until > 0 && now_s() > s->msg_until)
		s->msg[0] = '\0';
}

/* ---- actions ---- */

static void report_engine(struct screen *s, int err, const char *what)
{
	if (err == AUDIO_ENGINE_OK)
		return;
	if (err == AUDIO_ENGINE_ERROR_FULL)
		say(s, LOOK_WARN, MSG_SECONDS, "%s: the engine is busy, try again", what);
	else
		say(s, LOOK_OVER, MSG_SECONDS, "%s: refused (error %d)", what, err);
}

static void seek_to(struct screen *s, double t)
{
	double len = length_s(s);

	if (len > 0 && t > len)
		t = len;
	if (t < 0)
		t = 0;
	s->seek_target_s = t;
	s->seek_at = now_s();
	report_engine(s, audio_engine_seek(s->eng, t), "seek");
}

static void select_source(struct screen *s, int slot)
{
	struct audio_source_info *si;
	char label[16];
	int err;

	slot_label(label, sizeof(label), slot);
	if (slot >= s->n_src) {
		int refs = s->n_src > 0 ? s->n_src - 1 : 0;

		say(s, LOOK_WARN, MSG_SECONDS, "no %s: %d reference%s loaded",
		    label, refs, refs == 1 ? "" : "s");
		return;
	}
	si = &s->src[slot];
	if (si->state == AUDIO_SOURCE_FAILED) {
		say(s, LOOK_OVER, MSG_SECONDS, "%s cannot play: %s", label,
		    si->error[0] ? si->error : "failed to load");
		return;
	}
	err = audio_studio_set_source(s->st, slot);
	if (err) {
		say(s, LOOK_WARN, MSG_SECONDS, "%s: the engine is busy, try again", label);
		return;
	}
	if (si->state == AUDIO_SOURCE_LOADING || si->state == AUDIO_SOURCE_MEASURING)
		say(s, LOOK_WARN, MSG_SECONDS, "%s plays once it is ready (%s %.0f%%)",
		    label, si->state == AUDIO_SOURCE_LOADING ? "loading" : "measuring",
		    si->progress * 100.0);
	want(&s->want_source, slot);
	s->snap.source = slot;
	if (slot > 0)
		s->last_ref = slot;
	if (si->state == AUDIO_SOURCE_LOADING)
		say(s, LOOK_WARN, MSG_SECONDS, "%s is still loading; it plays once it is ready",
		    label);
	else if (si->state == AUDIO_SOURCE_MEASURING)
		say(s, LOOK_WARN, MSG_SECONDS, "%s is being measured: its level is not matched yet",
		    label);
	else
		s->msg[0] = '\0';
}

/* Where Tab goes from the mix: the last reference played, else the first
 * one ready (else the first that has not failed); 0 when there is none. */
static int ab_target(const struct screen *s)
{
	int i;

	if (s->last_ref > 0 && s->last_ref < s->n_src)
		return s->last_ref;
	for (i = 1; i < s->n_src; i++)
		if (s->src[i].state == AUDIO_SOURCE_READY)
			return i;
	for (i = 1; i < s->n_src; i++)
		if (s->src[i].state != AUDIO_SOURCE_FAILED)
			return i;
	return s->n_src > 1 ? 1 : 0;
}

static void toggle_ab(struct screen *s)
{
	int target;

	if (s->snap.source != 0) {
		select_source(s, 0);
		return;
	}
	target = ab_target(s);
	if (target <= 0) {
		say(s, LOOK_WARN, MSG_SECONDS,
		    "A/B: no reference loaded (termaster MIX REF1 REF2 %s)", G->ellipsis);
		return;
	}
	select_source(s, target);
}

static void send_loop(struct screen *s, bool on)
{
	if (audio_engine_set_loop(s->eng, s->loop_in_s, s->loop_out_s, on) != 0) {
		say(s, LOOK_WARN, MSG_SECONDS, "loop: the engine is busy, try again");
		return;
	}
	want(&s->want_loop, on);
	s->snap.loop_on = on;
}

static void loop_mark(struct screen *s, bool is_in)
{
	double pos = position_s(s);
	double other = is_in ? s->loop_out_s : s->loop_in_s;
	bool has_other = is_in ? s->has_out : s->has_in;
	char a[16], b[16];

	if (has_other && fabs(pos - other) < 0.05) {
		say(s, LOOK_WARN, MSG_SECONDS,
		    "loop in and out would be at the same place; move the playhead first");
		return;
	}
	if (is_in) {
		s->loop_in_s = pos;
		s->has_in = true;
	} else {
		s->loop_out_s = pos;
		s->has_out = true;
	}
	if (!(s->has_in && s->has_out)) {
		say(s, LOOK_NORMAL, MSG_SECONDS, "loop %s at %s; now set loop %s with %s",
		    is_in ? "in" : "out", fmt_time(a, sizeof(a), pos),
		    is_in ? "out" : "in", is_in ? "]" : "[");
		return;
	}
	if (s->loop_in_s > s->loop_out_s) {
		double t = s->loop_in_s;

		s->loop_in_s = s->loop_out_s;
		s->loop_out_s = t;
		say(s, LOOK_NORMAL, MSG_SECONDS, "loop in/out swapped: %s %s %s",
		    fmt_time(a, sizeof(a), s->loop_in_s), G->dash,
		    fmt_time(b, sizeof(b), s->loop_out_s));
	} else {
		say(s, LOOK_NORMAL, MSG_SECONDS, "loop %s %s %s%s",
		    fmt_time(a, sizeof(a), s->loop_in_s), G->dash,
		    fmt_time(b, sizeof(b), s->loop_out_s),
		    s->snap.loop_on ? "" : "  (\\ turns looping on)");
	}
	send_loop(s, s->snap.loop_on);
}

static void loop_toggle(struct screen *s)
{
	if (!(s->has_in && s->has_out && s->loop_in_s < s->loop_out_s)) {
		say(s, LOOK_WARN, MSG_SECONDS,
		    "no loop region: set loop in with [ and loop out with ]");
		return;
	}
	send_loop(s, !s->snap.loop_on);
	s->msg[0] = '\0';
}

/* A toggle was sent (err from the engine): note what was asked for. */
static bool toggle(struct screen *s, int err, const char *what, struct want *w, bool *v)
{
	if (err != AUDIO_ENGINE_OK) {
		report_engine(s, err, what);
		return false;
	}
	*v = !*v;
	want(w, *v);
	return true;
}

static void handle_key(struct screen *s, int ch)
{
	struct audio_engine *e = s->eng;

	switch (ch) {
	case 'q':
	case 'Q':
		s->quit = true;
		return;
	case KEY_RESIZE:
		return;
	case '?':
		s->help = !s->help;
		return;
	case 27:        /* Esc */
		s->help = false;
		return;
	case 12:        /* Ctrl-L: repaint everything once */
		clearok(curscr, TRUE);
		return;
	}
	if (s->too_small)
		return;

	switch (ch) {
	case ' ':
		toggle(s, audio_engine_play(e, !s->snap.playing), "play", &s->want_play,
		       &s->snap.playing);
		break;
	case KEY_LEFT:
		seek_to(s, position_s(s) - SEEK_STEP_S);
		break;
	case KEY_RIGHT:
		seek_to(s, position_s(s) + SEEK_STEP_S);
		break;
	case KEY_HOME:
		seek_to(s, 0);
		break;
	case '\t':
		toggle_ab(s);
		break;
	case 'b':
	case 'B':
		if (toggle(s, audio_engine_set_bypass(e, !s->snap.bypass), "bypass",
			   &s->want_bypass, &s->snap.bypass) &&
		    s->snap.source != 0 && s->snap.bypass)
			say(s, LOOK_NORMAL, MSG_SECONDS,
			    "bypass is on; it changes the mix only (0 plays the mix)");
		break;
	case 'L':
	case 'l':
		if (toggle(s, audio_engine_set_match(e, !s->snap.match), "match",
			   &s->want_match, &s->snap.match)) {
			if (s->snap.match)
				s->msg[0] = '\0';
			else
				say(s, LOOK_WARN, MSG_SECONDS,
				    "loudness match off: the louder source will sound better");
		}
		break;
	case 'm':
	case 'M': {
		/* m forward, M back through stereo, mono, side, left, right,
		 * swap, polarity */
		int m = ((int)s->snap.monitor + (ch == 'm' ? 1 : AUDIO_MONITOR_COUNT - 1)) %
			AUDIO_MONITOR_COUNT;

		if (audio_engine_set_monitor(e, (enum audio_monitor)m)) {
			say(s, LOOK_WARN, MSG_SECONDS, "monitor: the engine is busy, try again");
			break;
		}
		want(&s->want_monitor, m);
		s->snap.monitor = (enum audio_monitor)m;
		say(s, m ? LOOK_WARN : LOOK_NORMAL, MSG_SECONDS, "monitor: %s%s",
		    audio_monitor_name((enum audio_monitor)m),
		    m ? " (what you hear is not the stereo master)" : "");
		break;
	}
	case 's':
	case 'S': {
		/* playback systems: off → each → off (S goes back) */
		const char *cur = audio_studio_system(s->st);
		const struct refs_device *d;
		int n = 0, at = -1, next;

		while (audio_studio_system_at(s->st, n)) {
			if (cur[0] && strcmp(audio_studio_system_at(s->st, n)->name, cur) == 0)
				at = n;
			n++;
		}
		/* positions: -1 = off, 0 … n-1 */
		next = ch == 's' ? (at + 2) % (n + 1) - 1 : (at + n + 1) % (n + 1) - 1;
		d = next >= 0 ? audio_studio_system_at(s->st, next) : NULL;
		audio_studio_set_system(s->st, d ? d->name : NULL);
		if (d)
			say(s, LOOK_WARN, MSG_SECONDS, "playback system: %s (%s, level %.0f dB; , . change it)",
			    d->label, d->spec.mono ? "mono" : "stereo", s->listen_db);
		else
			say(s, LOOK_NORMAL, MSG_SECONDS, "playback system off: the monitors as they are");
		break;
	}
	case 'f': {
		/* band solo: off → 1 … 6 → off */
		int band = (s->snap.band + 1) % (CHAIN_BANDSOLO_BANDS + 1);

		if (audio_studio_set_bandsolo(s->st, band) == 0) {
			s->snap.band = band;
			if (band)
				say(s, LOOK_WARN, MSG_SECONDS, "band solo: %s (matched within the band)",
				    chain_bandsolo_name(band));
			else
				say(s, LOOK_NORMAL, MSG_SECONDS, "band solo off");
		}
		break;
	}
	case 'c': {
		/* codec preview: off → MP3 128 → Opus 96 → Vorbis 128 → off */
		static const int seq[][2] = {
			{ AUDIO_CODEC_MP3, 128 }, { AUDIO_CODEC_OPUS, 96 }, { AUDIO_CODEC_VORBIS, 128 },
		};
		struct audio_codec_info ci;
		int next = 0;

		audio_studio_codec(s->st, &ci);
		if (ci.active) {
			for (int i = 0; i < 3; i++)
				if ((int)ci.codec == seq[i][0])
					next = i + 1;
		}
		if (next >= 3) {
			audio_studio_set_codec(s->st, -1, 0, false);
			say(s, LOOK_NORMAL, MSG_SECONDS, "codec preview off");
		} else {
			audio_studio_set_codec(s->st, seq[next][0], seq[next][1], ci.active && ci.artefacts);
			say(s, LOOK_WARN, MSG_SECONDS, "codec preview: %s %d kbps, encoding%s",
			    audio_codec_name((enum audio_codec)seq[next][0]), seq[next][1], G->ellipsis);
		}
		break;
	}
	case 'w': {
		/* save the session: to --session's file, else beside the mix */
		struct tui_session sess;
		char msg[1024];
		const char *path = s->session_path;
		int err;

		if (!path) {
			struct audio_source_info si;
			char *dot;

			audio_studio_source(s->st, 0, &si);
			if (!strcmp(si.path, "(generated)")) {
				say(s, LOOK_WARN, MSG_SECONDS, "the demo has no files to save a session of");
				break;
			}
			snprintf(s->save_path, sizeof(s->save_path), "%s", si.path);
			dot = strrchr(s->save_path, '.');
			if (dot && !strchr(dot, '/'))
				*dot = '\0';
			strncat(s->save_path, ".tms", sizeof(s->save_path) - strlen(s->save_path) - 1);
			path = s->save_path;
		}
		tui_session_init(&sess);
		snprintf(msg, sizeof(msg), "out of memory");
		err = tui_session_capture(s->st, &sess) || tui_session_save(path, &sess, msg, sizeof(msg));
		tui_session_free(&sess);
		if (err)
			say(s, LOOK_OVER, MSG_SECONDS, "save: %s", msg);
		else
			say(s, LOOK_OK, MSG_SECONDS, "session saved: %s", path);
		break;
	}
	case 'k':
	case 'K': {
		/* codec preview bitrate down / up */
		static const int rates[] = { 32, 64, 96, 128, 160, 192, 256, 320 };
		const int n = (int)(sizeof(rates) / sizeof(rates[0]));
		struct audio_codec_info ci;
		int i = 0;

		audio_studio_codec(s->st, &ci);
		if (!ci.active) {
			say(s, LOOK_WARN, MSG_SECONDS, "bitrate: choose a codec first (c)");
			break;
		}
		while (i < n - 1 && rates[i] < ci.bitrate_kbps)
			i++;
		i = ch == 'K' ? (i < n - 1 ? i + 1 : i) : (i > 0 ? i - 1 : 0);
		if (audio_studio_set_codec(s->st, (int)ci.codec, rates[i], ci.artefacts) == 0)
			say(s, LOOK_WARN, MSG_SECONDS, "codec preview: %s %d kbps, encoding%s",
			    audio_codec_name(ci.codec), rates[i], G->ellipsis);
		break;
	}
	case 'n': {
		/* the car's road-noise bed: off, -40, -30, -20 dB RMS */
		static const float levels[] = { CHAIN_DEVSIM_NOISE_OFF_DB, -40.0f, -30.0f, -20.0f };
		int i = (s->noise_step + 1) % 4;

		if (audio_engine_set_road_noise(e, levels[i]) == 0) {
			s->noise_step = i;
			if (i)
				say(s, LOOK_WARN, MSG_SECONDS, "road noise %.0f dB RMS%s", (double)levels[i],
				    audio_studio_system(s->st)[0] ? "" : " (heard with a playback system: s)");
			else
				say(s, LOOK_NORMAL, MSG_SECONDS, "road noise off");
		}
		break;
	}
	case 'C': {
		struct audio_codec_info ci;

		audio_studio_codec(s->st, &ci);
		if (!ci.active) {
			say(s, LOOK_WARN, MSG_SECONDS, "artefacts: choose a codec first (c)");
			break;
		}
		audio_studio_set_codec(s->st, (int)ci.codec, ci.bitrate_kbps, !ci.artefacts);
		say(s, LOOK_WARN, MSG_SECONDS, "codec preview: %s", !ci.artefacts ?
		    "artefacts only (decoded - original)" : "the decoded master");
		break;
	}
	case ',':
	case '.': {
		float v = s->listen_db + (ch == '.' ? 3.0f : -3.0f);

		if (v < CHAIN_DEVSIM_LEVEL_MIN_DB)
			v = CHAIN_DEVSIM_LEVEL_MIN_DB;
		if (v > CHAIN_DEVSIM_LEVEL_MAX_DB)
			v = CHAIN_DEVSIM_LEVEL_MAX_DB;
		if (audio_studio_set_listen_level(s->st, v) == 0) {
			s->listen_db = v;
			say(s, LOOK_NORMAL, MSG_SECONDS,
			    "listening level %.0f dB (how hard a small speaker is driven; 0 = full volume)",
			    (double)v);
		}
		break;
	}
	case 'P': {
		/* streaming-platform preview: off → each platform → off */
		struct audio_platform_info pi;
		const struct refs_platform *next;
		int cur = -1;

		audio_studio_platform(s->st, &pi);
		for (int i = 0; pi.active && audio_studio_platform_at(s->st, i); i++)
			if (strcmp(audio_studio_platform_at(s->st, i)->id, pi.rule.id) == 0)
				cur = i;
		next = audio_studio_platform_at(s->st, cur + 1);
		audio_studio_set_platform(s->st, next ? next->id : NULL);
		if (next) {
			want(&s->want_match, 1);
			s->snap.match = true;
			say(s, LOOK_NORMAL, MSG_SECONDS, "platform preview: %s (%.0f LUFS)", next->label,
			    next->target_lufs);
		} else {
			say(s, LOOK_NORMAL, MSG_SECONDS, "platform preview off: loudness matching");
		}
		break;
	}
	case '[':
		loop_mark(s, true);
		break;
	case ']':
		loop_mark(s, false);
		break;
	case '\\':
		loop_toggle(s);
		break;
	case 'p':
		if (s->meter) {
			refs_meter_reset_peak(s->meter);
			say(s, LOOK_NORMAL, MSG_SECONDS, "true-peak hold reset");
		}
		break;
	default:
		if (ch >= '0' && ch <= '9')
			select_source(s, ch - '0');
		break;
	}
}

/* ---- drawing: bars ---- */

static enum look zone_look(double v, double warn_at, double over_at)
{
	if (v >= over_at)
		return LOOK_OVER;
	if (v >= warn_at)
		return LOOK_WARN;
	return LOOK_OK;
}

/* A level bar from the left over lo … hi; cell colours by the level each cell
 * stands for; `hold` (NaN: none) drawn as a marker. */
static void draw_level_bar(int y, int x, int w, double lo, double hi, double v,
			   double hold, double warn_at, double over_at)
{
	double frac = isfinite(v) ? (v - lo) / (hi - lo) : (v > 0 ? 1.0 : 0.0);
	int eighths, full, part, i, hold_cell = -1;

	if (w <= 0)
		return;
	if (frac < 0)
		frac = 0;
	if (frac > 1)
		frac = 1;
	eighths = (int)(frac * w * 8 + 0.5);
	full = eighths / 8;
	part = eighths % 8;
	if (!isnan(hold) && hold > lo) {
		double hf = isfinite(hold) ? (hold - lo) / (hi - lo) : 1.0;

		hold_cell = (int)(hf * w);
		if (hold_cell >= w)
			hold_cell = w - 1;
	}
	for (i = 0; i < w; i++) {
		double cell_v = lo + (i + 0.5) / w * (hi - lo);
		enum look lk = zone_look(cell_v, warn_at, over_at);

		if (i == hold_cell && i >= full) {
			put(y, x + i, 1, zone_look(hold, warn_at, over_at), G->hold);
		} else if (i < full) {
			put(y, x + i, 1, lk, G->full);
		} else if (i == full && part > 0 && G->eighth[part][0] != ' ') {
			put(y, x + i, 1, lk, G->eighth[part]);
		} else {
			put(y, x + i, 1, LOOK_DIM, G->empty);
		}
	}
}

/* Limiter gain reduction: grows from the right, 0 … -GR_RANGE_DB. */
static void draw_gr_bar(int y, int x, int w, double gr_db)
{
	double depth = fabs(gr_db);
	double frac = depth / GR_RANGE_DB;
	int halves, full, i;

	if (w <= 0)
		return;
	if (!isfinite(frac) || frac < 0)
		frac = 0;
	if (frac > 1)
		frac = 1;
	halves = (int)(frac * w * 2 + 0.5);
	full = halves / 2;
	for (i = 0; i < w; i++) {
		int from_right = w - 1 - i;
		double cell_db = (from_right + 0.5) / w * GR_RANGE_DB;
		enum look lk = zone_look(cell_db, 3.0, 6.0);

		if (from_right < full)
			put(y, x + i, 1, lk, G->full);
		else if (from_right == full && (halves & 1))
			put(y, x + i, 1, lk, G->half_right);
		else
			put(y, x + i, 1, LOOK_DIM, G->empty);
	}
}

/* Correlation -1 … +1, from the centre: negative (out of phase) red. */
static void draw_corr_bar(int y, int x, int w, double c)
{
	int mid = w / 2, i, reach;

	if (w <= 2)
		return;
	if (!isfinite(c))
		c = 0;
	if (c < -1)
		c = -1;
	if (c > 1)
		c = 1;
	reach = (int)(fabs(c) * mid + 0.5);
	for (i = 0; i < w; i++) {
		int d = i - mid;
		enum look lk = c < 0 ? LOOK_OVER : (c < 0.3 ? LOOK_WARN : LOOK_OK);

		if (d == 0)
			put(y, x + i, 1, LOOK_BOLD, G->centre);
		else if ((c > 0 && d > 0 && d <= reach) || (c < 0 && d < 0 && -d <= reach))
			put(y, x + i, 1, lk, G->full);
		else
			put(y, x + i, 1, LOOK_DIM, G->empty);
	}
}

/* ---- drawing: sections ---- */

struct cols {
	int key, label, name, name_w, state, nums;
};

#define STATE_W 11
#define NUMS_W 32

static void layout_cols(struct cols *c)
{
	c->key = 2;
	c->label = 6;
	c->name = 17;
	c->name_w = COLS - c->name - 1 - STATE_W - 1 - NUMS_W - 1;
	if (c->name_w < 8)
		c->name_w = 8;
	c->state = c->name + c->name_w + 1;
	c->nums = c->state + STATE_W + 1;
}

static void draw_title(struct screen *s)
{
	char right[64];
	int x;

	fill(0, 0, COLS, LOOK_TITLE);
	x = 1 + put(0, 1, -1, LOOK_TITLE, "termaster");
	snprintf(right, sizeof(right), "%s session %.0f Hz ", G->box_v, s->rate);
	if (COLS < 100)
		snprintf(right, sizeof(right), "%s %.0f Hz ", G->box_v, s->rate);
	x += put(0, x, -1, LOOK_TITLE, " ");
	x += put(0, x, -1, LOOK_TITLE, G->box_v);
	x += put(0, x, -1, LOOK_TITLE, " ");
	put_ellip(0, x, COLS - x - text_cols(right) - 1, LOOK_TITLE,
		  audio_studio_output_status(s->st));
	put_right(0, COLS, LOOK_TITLE, right);
}

/* I, LRA, TP, gain into the numeric columns. */
static void draw_numbers(int y, const struct cols *c, const struct refs_loudness *l,
			 bool have, double gain_db, bool gain_live)
{
	char i_s[16], lra_s[16], tp_s[16], g_s[16];
	int x = c->nums;

	if (have) {
		putf(y, x, 8, LOOK_BOLD, "%8s",
		     fmt_db(i_s, sizeof(i_s), l->integrated_lufs, false));
		putf(y, x + 8, 8, LOOK_NORMAL, "%8s",
		     fmt_db(lra_s, sizeof(lra_s), l->lra_lu, false));
		putf(y, x + 16, 8, zone_look(l->true_peak_dbtp, -1.0, 0.0), "%8s",
		     fmt_db(tp_s, sizeof(tp_s), l->true_peak_dbtp, false));
	} else {
		putf(y, x, 24, LOOK_DIM, "%8s%8s%8s", "--", "--", "--");
	}
	putf(y, x + 24, 8, gain_live ? LOOK_NORMAL : LOOK_DIM, "%8s",
	     fmt_db(g_s, sizeof(g_s), gain_db, true));
}

/* The state cell; returns true when the numbers should be drawn. */
static bool draw_state(int y, const struct cols *c, const struct audio_source_info *si)
{
	char bar[320];
	int k, fillc;

	switch (si->state) {
	case AUDIO_SOURCE_LOADING:
		if (si->progress <= 0.0) {
			put(y, c->state, STATE_W, LOOK_DIM, "queued");
			return false;
		}
		fillc = (int)(si->progress * 6 + 0.5);
		if (fillc < 0)
			fillc = 0;
		if (fillc > 6)
			fillc = 6;
		bar[0] = '\0';
		for (k = 0; k < 6; k++)
			strcat(bar, k < fillc ? G->full : G->empty);
		put(y, c->state, 6, LOOK_ACCENT, bar);
		putf(y, c->state + 6, 5, LOOK_ACCENT, "%4.0f%%",
		     fmin(fmax(si->progress, 0.0), 1.0) * 100.0);
		return false;
	case AUDIO_SOURCE_MEASURING:
		putf(y, c->state, STATE_W, LOOK_ACCENT, "measuring%s", G->ellipsis);
		return false;
	case AUDIO_SOURCE_FAILED:
		snprintf(bar, sizeof(bar), "failed: %s", si->error[0] ? si->error : "cannot load");
		put_ellip(y, c->state, COLS - c->state - 1, LOOK_OVER, bar);
		return false;
	case AUDIO_SOURCE_READY:
		put(y, c->state, STATE_W, LOOK_OK, "ready");
		return si->measured;
	case AUDIO_SOURCE_EMPTY:
	default:
		put(y, c->state, STATE_W, LOOK_DIM, "empty");
		return false;
	}
}

static void draw_marker(int y, bool on)
{
	if (on)
		put(y, 1, 1, LOOK_SELECT, G->play);
}

static void draw_mix_rows(struct screen *s, int y, const struct cols *c)
{
	const struct audio_source_info *mix = &s->src[0];
	const struct audio_match_info *m = &s->match;
	bool playing_mix = s->snap.source == 0;
	bool mix_ok = mix->state == AUDIO_SOURCE_READY || mix->state == AUDIO_SOURCE_MEASURING;
	enum look name_look;

	/* after (processed) */
	draw_marker(y, playing_mix && !s->snap.bypass);
	put(y, c->key, 3, LOOK_KEY, " 0");
	name_look = playing_mix && !s->snap.bypass ? LOOK_SELECT : LOOK_NORMAL;
	put(y, c->label, 10, name_look, "MIX after");
	put_ellip(y, c->name, c->name_w, name_look, mix->name);
	if (!mix_ok) {
		draw_state(y, c, mix);
	} else if (m->after_pending && !m->after_measured) {
		putf(y, c->state, STATE_W, LOOK_ACCENT, "measuring%s", G->ellipsis);
		draw_numbers(y, c, NULL, false, s->snap.gain_db[AUDIO_ROUTE_AFTER], s->snap.match);
	} else if (m->after_measured) {
		if (m->after_pending)
			putf(y, c->state, STATE_W, LOOK_ACCENT, "updating%s", G->ellipsis);
		else
			put(y, c->state, STATE_W, LOOK_OK, "ready");
		draw_numbers(y, c, &m->after, true, s->snap.gain_db[AUDIO_ROUTE_AFTER],
			     s->snap.match);
	} else {
		put(y, c->state, STATE_W, LOOK_DIM, "queued");
		draw_numbers(y, c, NULL, false, s->snap.gain_db[AUDIO_ROUTE_AFTER], s->snap.match);
	}

	/* before (the clip as is: bypass) */
	y++;
	draw_marker(y, playing_mix && s->snap.bypass);
	name_look = playing_mix && s->snap.bypass ? LOOK_SELECT : LOOK_NORMAL;
	put(y, c->label, 10, name_look, "MIX before");
	put(y, c->name, c->name_w, LOOK_DIM, "(chain bypassed)");
	if (mix_ok) {
		bool have = draw_state(y, c, mix);

		draw_numbers(y, c, &mix->loudness, have && mix->measured,
			     s->snap.gain_db[AUDIO_ROUTE_BEFORE], s->snap.match);
	}
}

static void draw_ref_row(struct screen *s, int y, const struct cols *c, int slot)
{
	const struct audio_source_info *si = &s->src[slot];
	bool playing = s->snap.source == slot;
	enum look lk = playing ? LOOK_SELECT : LOOK_NORMAL;
	char label[16];

	draw_marker(y, playing);
	if (slot <= 9)
		putf(y, c->key, 3, LOOK_KEY, "%2d", slot);
	slot_label(label, sizeof(label), slot);
	put(y, c->label, 10, lk, label);
	put_ellip(y, c->name, c->name_w, lk, si->name);
	if (draw_state(y, c, si) || si->state == AUDIO_SOURCE_READY)
		draw_numbers(y, c, &si->loudness, si->measured, s->snap.gain_db[slot],
			     s->snap.match);
}

/* Sources: header + rows, at most `rows` lines in all.  Returns lines used. */
static int draw_sources(struct screen *s, int y, int rows)
{
	struct cols c;
	int used = 0, slot, shown_refs, refs, first;

	layout_cols(&c);
	put(y, c.key, 3, LOOK_HEAD, " #");
	put(y, c.label, 10, LOOK_HEAD, "Source");
	put(y, c.name, c.name_w, LOOK_HEAD, "Name");
	put(y, c.state, STATE_W, LOOK_HEAD, "State");
	putf(y, c.nums, NUMS_W, LOOK_HEAD, "%8s%8s%8s%8s", "I LUFS", "LRA LU", "TP dBTP",
	     "Gain dB");
	used++;
	if (s->n_src <= 0) {
		put(y + used, c.label, -1, LOOK_DIM, "no sources");
		return used + 1;
	}
	draw_mix_rows(s, y + used, &c);
	used += 2;
	refs = s->n_src - 1;
	shown_refs = rows - used;
	if (shown_refs < refs)
		shown_refs--;     /* room for the "more" line */
	if (shown_refs < 0)
		shown_refs = 0;
	if (shown_refs > refs)
		shown_refs = refs;
	/* a window over the references that keeps the one playing in view */
	first = 1;
	if (s->snap.source > shown_refs && shown_refs > 0)
		first = s->snap.source - shown_refs + 1;
	for (slot = first; slot < first + shown_refs; slot++)
		draw_ref_row(s, y + used++, &c, slot);
	if (shown_refs < refs)
		putf(y + used++, c.label, -1, LOOK_DIM, "%s and %d more (enlarge the window)",
		     G->ellipsis, refs - shown_refs);
	return used;
}

static const char *limiter_name(int idx, char *buf, size_t n)
{
	if (idx == AUDIO_ROUTE_AFTER)
		snprintf(buf, n, "the processed mix");
	else if (idx == AUDIO_ROUTE_BEFORE)
		snprintf(buf, n, "MIX before");
	else if (idx > 0 && idx < AUDIO_MAX_SOURCES)
		snprintf(buf, n, "REF %d", idx);
	else
		snprintf(buf, n, "a source");
	return buf;
}

static void draw_match(struct screen *s, int y)
{
	const struct refs_match_result *r = &s->match.result;
	char t[16], who[32];
	int x = 1;

	{
		/* a platform preview replaces matching: say what it does */
		struct audio_platform_info pi;

		audio_studio_platform(s->st, &pi);
		if (pi.active) {
			const struct refs_platform_result *m = &pi.result[AUDIO_ROUTE_AFTER];
			int src = s->snap.source;
			const struct refs_platform_result *c =
				&pi.result[src == 0 ? (s->snap.bypass ? AUDIO_ROUTE_BEFORE : AUDIO_ROUTE_AFTER) : src];
			char g1[16], g2[16];

			x += put(y, x, -1, LOOK_BOLD, "Platform: ");
			x += putf(y, x, -1, LOOK_AB_BEFORE, " %s ", pi.rule.label);
			x += putf(y, x, -1, LOOK_NORMAL, " %s LUFS  master %s dB", 
				  fmt_db(t, sizeof(t), pi.rule.target_lufs, false),
				  m->valid ? fmt_db(g1, sizeof(g1), m->gain_db, true) : "--");
			if (src != 0 || s->snap.bypass)
				x += putf(y, x, -1, LOOK_NORMAL, "  playing %s dB",
					  c->valid ? fmt_db(g2, sizeof(g2), c->gain_db, true) : "--");
			if (c->limiter_engaged)
				put(y, x, -1, LOOK_WARN, "  (its limiter engages)");
			else if (c->capped)
				put(y, x, -1, LOOK_DIM, "  (capped by headroom)");
			return;
		}
	}
	x += put(y, x, -1, LOOK_BOLD, "Match: ");
	if (!s->snap.match) {
		x += put(y, x, -1, LOOK_WARN, "OFF");
		putf(y, x, -1, LOOK_DIM, " %s sources play at their own level (L turns it on)",
		     G->dash);
		return;
	}
	x += put(y, x, -1, LOOK_OK, "ON");
	if (!s->match.after_measured) {
		putf(y, x, -1, LOOK_ACCENT, " %s waiting for the processed mix to be measured%s",
		     G->dash, G->ellipsis);
		return;
	}
	x += putf(y, x, -1, LOOK_NORMAL, " %s target %s LUFS", G->dash,
		  fmt_db(t, sizeof(t), r->target_lufs, false));
	if (r->target_lowered) {
		if (r->limiting_source >= 0)
			putf(y, x, -1, LOOK_WARN, "  (lowered: %s has no headroom)",
			     limiter_name(r->limiting_source, who, sizeof(who)));
		else
			put(y, x, -1, LOOK_WARN,
			    "  (lowered to keep every true peak under 0 dBTP)");
	}
}

/* The big A/B banner; rows 1 or 3. */
static void draw_ab(struct screen *s, int y, int rows)
{
	char text[128], hint[128], label[16];
	enum look lk;
	int src = s->snap.source, w, x, r, right;
	const char *aside;

	if (src == 0 && !s->snap.bypass && s->codec_playing) {
		struct audio_codec_info ci;

		audio_studio_codec(s->st, &ci);
		snprintf(text, sizeof(text), "  MIX %s AFTER %s %s %d k%s  ", G->dot, G->dot,
			 audio_codec_name(ci.codec), ci.bitrate_kbps, ci.artefacts ? " ARTEFACTS" : "");
		lk = LOOK_AB_BEFORE;
		if (ci.pending)
			snprintf(s->codec_aside, sizeof(s->codec_aside), "encoding the new master%s",
				 G->ellipsis);
		else
			snprintf(s->codec_aside, sizeof(s->codec_aside),
				 "true peak %.2f dBTP after encoding (%+.2f dB)%s", ci.true_peak_dbtp,
				 ci.true_peak_rise_db, ci.over_count ? ": over the ceiling" : "");
		aside = s->codec_aside;
	} else if (src == 0 && !s->snap.bypass) {
		snprintf(text, sizeof(text), "  MIX %s AFTER  ", G->dot);
		lk = LOOK_AB_AFTER;
		aside = "through the chain";
	} else if (src == 0) {
		snprintf(text, sizeof(text), "  MIX %s BEFORE %s BYPASS  ", G->dot, G->dot);
		lk = LOOK_AB_BEFORE;
		aside = "the mix as is";
	} else {
		slot_label(label, sizeof(label), src);
		snprintf(text, sizeof(text), "  %s  ", label);
		lk = LOOK_AB_REF;
		aside = src < s->n_src ? s->src[src].name : "";
	}
	if (src == 0) {
		int t = ab_target(s);

		if (t > 0)
			snprintf(hint, sizeof(hint), "Tab %s REF %d", G->swap, t);
		else
			snprintf(hint, sizeof(hint), "no references");
	} else {
		snprintf(hint, sizeof(hint), "Tab %s MIX", G->swap);
	}
	w = text_cols(text);
	x = 1;
	put(y + rows / 2, x, -1, LOOK_BOLD, "A/B");
	x += 5;
	for (r = 0; r < rows; r++)
		fill(y + r, x, w, lk);
	put(y + rows / 2, x, w, lk, text);
	x += w + 2;
	right = COLS - 1 - text_cols(hint) - 2;
	if (src != 0 && s->snap.bypass) {
		const char *note = "(BYPASS on: affects the mix)";

		right -= text_cols(note) + 2;
		put(y + rows / 2, right + 2, -1, LOOK_WARN, note);
	}
	put_ellip(y + rows / 2, x, right - x, src == 0 ? LOOK_NORMAL : LOOK_ACCENT, aside);
	put_right(y + rows / 2, COLS - 1, LOOK_DIM, hint);
}

static void draw_transport(struct screen *s, int y)
{
	char pos[16], len[16], a[16], b[16];
	double len_s = length_s(s);
	int x = 1;

	if (s->snap.playing)
		x += putf(y, x, -1, LOOK_OK, "%s PLAYING", G->play);
	else
		x += putf(y, x, -1, LOOK_WARN, "%s PAUSED ", G->pause);
	x += 3;
	x += putf(y, x, -1, LOOK_BOLD, "%s", fmt_time(pos, sizeof(pos), position_s(s)));
	x += putf(y, x, -1, LOOK_NORMAL, " / %s",
		  s->snap.length > 0 ? fmt_time(len, sizeof(len), len_s) : "--:--.-");
	x += 4;
	x += put(y, x, -1, LOOK_BOLD, "Loop: ");
	if (s->snap.loop_on)
		x += put(y, x, -1, LOOK_ACCENT, "ON ");
	else
		x += put(y, x, -1, LOOK_DIM, "OFF");
	x += 2;
	if (s->has_in && s->has_out)
		putf(y, x, -1, s->snap.loop_on ? LOOK_ACCENT : LOOK_NORMAL, "%s %s %s",
		     fmt_time(a, sizeof(a), s->loop_in_s), G->dash,
		     fmt_time(b, sizeof(b), s->loop_out_s));
	else if (s->has_in)
		putf(y, x, -1, LOOK_NORMAL, "in %s  (] sets out)",
		     fmt_time(a, sizeof(a), s->loop_in_s));
	else if (s->has_out)
		putf(y, x, -1, LOOK_NORMAL, "out %s  ([ sets in)",
		     fmt_time(a, sizeof(a), s->loop_out_s));
	else
		x += put(y, x, -1, LOOK_DIM, COLS >= 100 ? "no region  ([ in, ] out)" : "none");
	{
		/* the monitor mode, always on screen; loud when not stereo */
		char mon[32];
		enum audio_monitor m = s->snap.monitor;
		int i;

		const char *sys = audio_studio_system(s->st);
		int w;

		snprintf(mon, sizeof(mon), " MONITOR %s ", audio_monitor_name(m));
		for (i = 9; mon[i] && mon[i] != ' '; i++)
			mon[i] = (char)toupper((unsigned char)mon[i]);
		w = text_cols(mon);
		put_right(y, COLS - 1, m == AUDIO_MONITOR_STEREO ? LOOK_DIM : LOOK_AB_BEFORE, mon);
		if (s->snap.band > 0) {
			char bd[48];

			snprintf(bd, sizeof(bd), " BAND %s ", chain_bandsolo_name(s->snap.band));
			w += text_cols(bd) + 1;
			put_right(y, COLS - 1 - (w - text_cols(bd) - 1) - 1, LOOK_AB_BEFORE, bd);
		}
		if (sys[0]) {
			char sy[48];

			snprintf(sy, sizeof(sy), " ON %s ", sys);
			for (i = 4; sy[i] && sy[i] != ' '; i++)
				sy[i] = (char)toupper((unsigned char)sy[i]);
			put_right(y, COLS - 2 - w, LOOK_AB_BEFORE, sy);
		}
	}
	(void)x;
}

static void draw_position_bar(struct screen *s, int y)
{
	double len = length_s(s);
	int x = 1, w = COLS - 2, i, head, in_c = -1, out_c = -1;

	if (w < 10)
		return;
	head = len > 0 ? (int)(position_s(s) / len * (w - 1) + 0.5) : 0;
	if (head < 0)
		head = 0;
	if (head > w - 1)
		head = w - 1;
	if (len > 0 && s->has_in)
		in_c = (int)(s->loop_in_s / len * (w - 1) + 0.5);
	if (len > 0 && s->has_out)
		out_c = (int)(s->loop_out_s / len * (w - 1) + 0.5);
	for (i = 0; i < w; i++) {
		bool in_loop = in_c >= 0 && out_c >= 0 && i > in_c && i < out_c;
		enum look lk = in_loop ? (s->snap.loop_on ? LOOK_ACCENT : LOOK_NORMAL) : LOOK_DIM;

		if (i == head)
			put(y, x + i, 1, LOOK_BOLD, G->pos_head);
		else if (i == in_c)
			put(y, x + i, 1, LOOK_ACCENT, "[");
		else if (i == out_c)
			put(y, x + i, 1, LOOK_ACCENT, "]");
		else if (i < head)
			put(y, x + i, 1, in_loop ? lk : LOOK_NORMAL, G->pos_done);
		else
			put(y, x + i, 1, lk, G->pos_rest);
	}
}

#define METER_LABEL_W 12
#define METER_VALUE_W 26

static void meter_geometry(int *bx, int *bw)
{
	*bx = 1 + METER_LABEL_W;
	*bw = COLS - *bx - METER_VALUE_W - 1;
}

/* The scale above the meters: -40 … 0 at the bar's cells. */
static void draw_meter_scale(int y)
{
	int bx, bw, db;

	meter_geometry(&bx, &bw);
	put(y, 1, METER_LABEL_W, LOOK_HEAD, "Meters");
	for (db = (int)METER_LO_DB; db <= (int)METER_HI_DB; db += 10) {
		int cx = bx + (int)((db - METER_LO_DB) / (METER_HI_DB - METER_LO_DB) * bw + 0.5);
		char t[8];
		int tw;

		snprintf(t, sizeof(t), "%d", db);
		tw = (int)strlen(t);
		cx -= db == (int)METER_HI_DB ? tw : tw / 2;
		if (db == (int)METER_LO_DB)
			cx = bx;
		put(y, cx, tw, LOOK_DIM, t);
	}
	put(y, bx + bw + 2, METER_VALUE_W, LOOK_DIM, "(LUFS, dBTP)");
}

static void draw_meters(struct screen *s, int y)
{
	const struct refs_meter_values *v = &s->mv;
	char a[16], b[16];
	int bx, bw, vx;
	enum look lk;
	double gr;

	meter_geometry(&bx, &bw);
	vx = bx + bw + 2;
	if (!s->meter) {
		put(y, 1, -1, LOOK_WARN, "meters unavailable (refs_meter_new failed)");
		return;
	}
	put(y, 1, METER_LABEL_W, LOOK_NORMAL, "Momentary");
	draw_level_bar(y, bx, bw, METER_LO_DB, METER_HI_DB, v->momentary_lufs, NAN, -9.0, -5.0);
	putf(y, vx, METER_VALUE_W, LOOK_BOLD, "%6s LUFS",
	     fmt_db(a, sizeof(a), v->momentary_lufs, false));

	y++;
	put(y, 1, METER_LABEL_W, LOOK_NORMAL, "Short-term");
	draw_level_bar(y, bx, bw, METER_LO_DB, METER_HI_DB, v->shortterm_lufs, NAN, -9.0, -5.0);
	putf(y, vx, METER_VALUE_W, LOOK_BOLD, "%6s LUFS",
	     fmt_db(a, sizeof(a), v->shortterm_lufs, false));

	y++;
	put(y, 1, METER_LABEL_W, LOOK_NORMAL, "True peak");
	draw_level_bar(y, bx, bw, METER_LO_DB, METER_HI_DB, v->true_peak_now_dbtp,
		       v->true_peak_dbtp, -1.0, 0.0);
	putf(y, vx, 11, zone_look(v->true_peak_now_dbtp, -1.0, 0.0), "%6s dBTP",
	     fmt_db(a, sizeof(a), v->true_peak_now_dbtp, false));
	putf(y, vx + 12, METER_VALUE_W - 12, zone_look(v->true_peak_dbtp, -1.0, 0.0),
	     "max %s", fmt_db(b, sizeof(b), v->true_peak_dbtp, false));

	y++;
	put(y, 1, METER_LABEL_W, LOOK_NORMAL, "Correlation");
	draw_corr_bar(y, bx, bw, v->correlation);
	putf(y, vx, METER_VALUE_W, v->correlation < 0 ? LOOK_OVER : LOOK_BOLD, "%+6.2f",
	     isfinite(v->correlation) ? v->correlation : 0.0);
	put(y, vx + 8, METER_VALUE_W - 8, LOOK_DIM, "-1 L/R +1");

	y++;
	put(y, 1, METER_LABEL_W, LOOK_NORMAL, "Limiter GR");
	draw_gr_bar(y, bx, bw, s->snap.limiter_gr_db);
	gr = fabs(s->snap.limiter_gr_db);
	lk = zone_look(gr, 3.0, 6.0);
	putf(y, vx, METER_VALUE_W, lk == LOOK_OK ? LOOK_BOLD : lk, "%6s dB",
	     fmt_db(a, sizeof(a), -gr, false));
	putf(y, vx + 10, METER_VALUE_W - 10, LOOK_DIM, "(0 %s -%.0f)", G->dash, GR_RANGE_DB);
}

static void draw_status(struct screen *s, int y)
{
	char right[128] = "";
	int rw, n = 0;

	if (s->snap.xruns > 0)
		n += snprintf(right + n, sizeof(right) - (size_t)n, "xruns %llu  ",
			      (unsigned long long)s->snap.xruns);
	if (s->snap.tap_overruns > 0 && n < (int)sizeof(right))
		n += snprintf(right + n, sizeof(right) - (size_t)n, "meter overruns %llu  ",
			      (unsigned long long)s->snap.tap_overruns);
	if (audio_studio_busy(s->st) && n < (int)sizeof(right))
		snprintf(right + n, sizeof(right) - (size_t)n, "working%s  ", G->ellipsis);
	rw = text_cols(right);
	if (rw)
		put_right(y, COLS - 1, s->snap.xruns || s->snap.tap_overruns ? LOOK_WARN : LOOK_DIM,
			  right);

	if (s->msg[0])
		put(y, 1, COLS - rw - 2, s->msg_look, s->msg);
	else if (!audio_studio_has_device(s->st))
		put(y, 1, COLS - rw - 2, LOOK_WARN, audio_studio_output_status(s->st));
	else if (s->notice[0])
		put(y, 1, COLS - rw - 2, LOOK_NORMAL, s->notice);
}

struct key_help {
	const char *key, *what;
};

/* The key line; NULL key = the seek arrows.  When it does not fit, the
 * spacing tightens, then the loop keys close up. */
static void draw_help_line(int y)
{
	static const struct key_help wide[] = {
		{ "space", "play" }, { NULL, "seek" }, { "Tab", "A/B" },
		{ "0-9", "source" }, { "b", "bypass" }, { "L", "match" }, { "m", "monitor" },
		{ "[ ] \\", "loop" }, { "?", "help" }, { "q", "quit" },
	};
	/* the same keys in 78 columns */
	static const struct key_help narrow[] = {
		{ "space", "play" }, { NULL, "seek" }, { "Tab", "A/B" },
		{ "0-9", "src" }, { "b", "byp" }, { "L", "match" }, { "m", "mon" },
		{ "[]\\", "loop" }, { "?", "help" }, { "q", "quit" },
	};
	const struct key_help *k = wide;
	int total = 0, gap = 2, x = 1, i, n = (int)(sizeof(wide) / sizeof(wide[0]));

	for (i = 0; i < n; i++)
		total += text_cols(k[i].key ? k[i].key : G->left_right) + 1 +
			 text_cols(k[i].what);
	if (COLS - 1 < total + 2 * (n - 1)) {
		k = narrow;
		gap = 1;
		x = 0;
	}
	for (i = 0; i < n; i++) {
		x += put(y, x, -1, LOOK_KEY, k[i].key ? k[i].key : G->left_right);
		x += put(y, x, -1, LOOK_NORMAL, " ");
		x += put(y, x, -1, LOOK_NORMAL, k[i].what);
		x += gap;
	}
}

static void draw_box(int y, int x, int h, int w)
{
	int i;

	for (i = 1; i < w - 1; i++) {
		put(y, x + i, 1, LOOK_ACCENT, G->box_h);
		put(y + h - 1, x + i, 1, LOOK_ACCENT, G->box_h);
	}
	for (i = 1; i < h - 1; i++) {
		put(y + i, x, 1, LOOK_ACCENT, G->box_v);
		put(y + i, x + w - 1, 1, LOOK_ACCENT, G->box_v);
		fill(y + i, x + 1, w - 2, LOOK_NORMAL);
	}
	put(y, x, 1, LOOK_ACCENT, G->box_tl);
	put(y, x + w - 1, 1, LOOK_ACCENT, G->box_tr);
	put(y + h - 1, x, 1, LOOK_ACCENT, G->box_bl);
	put(y + h - 1, x + w - 1, 1, LOOK_ACCENT, G->box_br);
}

static void draw_help_overlay(void)
{
	const struct key_help k[] = {
		{ "space", "play / pause" },
		{ NULL, "seek 5 s back / forward" },
		{ "Home", "back to the start" },
		{ "Tab", "A/B: mix / last reference" },
		{ "0", "play the mix" },
		{ "1-9", "reference 1-9 (matched)" },
		{ "b", "bypass: mix AFTER / BEFORE" },
		{ "L", "loudness match on / off" },
		{ "m M", "monitor: mono, side, L, R…" },
		{ "P", "streaming-platform preview" },
		{ "s S", "playback system: car, phone…" },
		{ "c C", "codec preview / artefacts" },
		{ "k K", "codec bitrate down / up" },
		{ "n", "road noise: off, -40 … -20 dB" },
		{ "f", "band solo: <60 … >6k Hz, off" },
		{ ", .", "listening level down / up" },
		{ "[", "loop in at the playhead" },
		{ "]", "loop out at the playhead" },
		{ "\\", "loop on / off" },
		{ "p", "reset the true-peak hold" },
		{ "w", "save the session (.tms)" },
		{ "Ctrl-L", "repaint the screen" },
		{ "? Esc", "close this help" },
		{ "q", "quit" },
	};
	int n = (int)(sizeof(k) / sizeof(k[0]));
	/* one column when it fits in height, else two side by side */
	int two = n + 6 > LINES;
	int rows = two ? (n + 1) / 2 : n;
	int w = two ? 78 : 70, h = rows + 6, y, x, i, cw;

	if (w > COLS)
		w = COLS;
	if (h > LINES)
		h = LINES;
	cw = two ? (w - 4) / 2 : w - 4;
	y = (LINES - h) / 2;
	x = (COLS - w) / 2;
	draw_box(y, x, h, w);
	putf(y, x + 2, w - 4, LOOK_BOLD, " Keys %s termaster ", G->dash);
	for (i = 0; i < n; i++) {
		int r = two ? i % rows : i, c = two ? i / rows : 0;
		int kx = x + 2 + c * cw, kw = two ? 6 : 8;

		if (r + 2 >= h - 4)
			continue;
		put(y + 2 + r, kx + 1, kw, LOOK_KEY, k[i].key ? k[i].key : G->left_right);
		put(y + 2 + r, kx + 2 + kw, cw - kw - 3, LOOK_NORMAL, k[i].what);
	}
	put(y + h - 3, x + 3, w - 6, LOOK_DIM,
	    "All sources share one playhead; switching is seamless.");
	put(y + h - 2, x + 3, w - 6, LOOK_DIM,
	    "Match plays every source at the level of the mix AFTER.");
}

/* "termaster needs at least 80×24 (now 60×20) — enlarge the window",
 * centred, its phrases wrapped onto more lines when the window is narrow. */
static void draw_too_small(void)
{
	char part[3][64], line[5][3 * 64 + 3];   /* a line holds all three parts */
	int n_lines = 0, i, y;

	snprintf(part[0], sizeof(part[0]), "termaster needs at least %d%s%d",
		 SCREEN_MIN_COLS, G->times, SCREEN_MIN_ROWS);
	snprintf(part[1], sizeof(part[1]), "(now %d%s%d)", COLS, G->times, LINES);
	snprintf(part[2], sizeof(part[2]), "%s enlarge the window", G->dash);
	line[0][0] = '\0';
	for (i = 0; i < 3; i++) {
		if (line[n_lines][0] &&
		    text_cols(line[n_lines]) + 1 + text_cols(part[i]) > COLS) {
			n_lines++;
			line[n_lines][0] = '\0';
		}
		if (line[n_lines][0])
			strcat(line[n_lines], " ");
		strcat(line[n_lines], part[i]);
	}
	n_lines++;
	strcpy(line[n_lines++], "");
	strcpy(line[n_lines++], "q quits");
	y = (LINES - n_lines) / 2;
	if (y < 0)
		y = 0;
	for (i = 0; i < n_lines; i++) {
		int c = text_cols(line[i]);

		put(y + i, c < COLS ? (COLS - c) / 2 : 0, COLS,
		    i < n_lines - 2 ? LOOK_WARN : LOOK_DIM, line[i]);
	}
}

static void draw(struct screen *s)
{
	int H = LINES, y, src_rows, needed, spare;
	int gap_scale = 0, gap_ab = 0, gap_status = 0, tall = 0;

	erase();
	s->too_small = COLS < SCREEN_MIN_COLS || H < SCREEN_MIN_ROWS;
	if (s->too_small) {
		draw_too_small();
		if (s->help)
			draw_help_overlay();
		refresh();
		return;
	}

	/* Top down: title, blank, the sources (header + rows).  Bottom up:
	 * help line, status, the control block (blank, match, A/B, transport,
	 * position, meter scale, 5 meters: 11 rows).  Rows to spare give the
	 * block some air first, then the A/B banner grows; the source list
	 * takes what is left. */
	needed = 1 + (s->n_src > 0 ? s->n_src + 1 : 1);
	spare = H - 2 - 2 - 11 - needed;
	if (spare >= 1) {
		gap_scale = 1;
		spare--;
	}
	if (spare >= 2) {
		gap_ab = 1;
		spare -= 2;
	}
	if (spare >= 1) {
		gap_status = 1;
		spare--;
	}
	if (spare >= 2)
		tall = 1;
	src_rows = H - 2 - 2 - 11 - gap_scale - 2 * gap_ab - gap_status - 2 * tall;

	draw_title(s);
	draw_sources(s, 2, src_rows);

	y = 2 + src_rows + 1;
	draw_match(s, y++);
	y += gap_ab;
	draw_ab(s, y, tall ? 3 : 1);
	y += tall ? 3 : 1;
	y += gap_ab;
	draw_transport(s, y++);
	draw_position_bar(s, y++);
	y += gap_scale;
	draw_meter_scale(y++);
	draw_meters(s, y);
	draw_status(s, H - 2);
	draw_help_line(H - 1);
	if (s->help)
		draw_help_overlay();
	refresh();
}

/* ---- setup and the loop ---- */

static void update_size(void)
{
	struct winsize ws;

	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0 && ws.ws_col > 0)
		resizeterm(ws.ws_row, ws.ws_col);
}

static const int handled_signals[] = { SIGWINCH, SIGINT, SIGTERM, SIGHUP };
#define N_HANDLED (sizeof(handled_signals) / sizeof(handled_signals[0]))
static struct sigaction old_actions[N_HANDLED];
static bool signals_installed;

static void install_signals(void)
{
	struct sigaction sa;
	size_t i;

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < N_HANDLED; i++) {
		sa.sa_handler = handled_signals[i] == SIGWINCH ? on_winch : on_quit;
		sigaction(handled_signals[i], &sa, &old_actions[i]);
	}
	signals_installed = true;
}

static void restore_signals(void)
{
	size_t i;

	if (!signals_installed)
		return;
	for (i = 0; i < N_HANDLED; i++)
		sigaction(handled_signals[i], &old_actions[i], NULL);
	signals_installed = false;
}

static bool locale_is_utf8(void)
{
	const char *cs = nl_langinfo(CODESET);

	return cs && (strcasecmp(cs, "UTF-8") == 0 || strcasecmp(cs, "utf8") == 0);
}

static bool colour_allowed(void)
{
	const char *nc = getenv("NO_COLOR");

	return !(nc && nc[0]) && has_colors();
}

static void run_loop(struct screen *s)
{
	double next = now_s();

	while (!s->quit && !got_quit_signal) {
		struct pollfd pfd = { .fd = STDIN_FILENO, .events = POLLIN };
		double t = now_s();
		int wait_ms = (int)((next - t) * 1000.0 + 0.5), ch;
		bool keys = false;

		if (wait_ms < 0)
			wait_ms = 0;
		if (wait_ms > FRAME_MS)
			wait_ms = FRAME_MS;
		if (poll(&pfd, 1, wait_ms) < 0 && errno != EINTR)
			break;
		if (pfd.revents & (POLLHUP | POLLERR | POLLNVAL))
			break;          /* the terminal went away */
		if (needs_to_resize) {
			needs_to_resize = 0;
			update_size();
			keys = true;
		}
		while ((ch = getch()) != ERR) {
			handle_key(s, ch);
			keys = true;
			if (s->quit)
				break;
		}
		t = now_s();
		if (t >= next) {
			tick(s);
			next += FRAME_MS / 1000.0;
			if (next < t)
				next = t + FRAME_MS / 1000.0;
			draw(s);
		} else if (keys) {
			take_snapshot(s);
			draw(s);
		}
	}
}

int tui_screen_run(const struct tui_opts *o)
{
	struct audio_studio_opts so;
	struct screen *s;
	SCREEN *scr = NULL;
	char msg[512] = "";
	int err = 0, i, merr = 0, devnull, ret = TUI_EXIT_OK;

	setlocale(LC_ALL, "");
	G = locale_is_utf8() ? &glyphs_utf8 : &glyphs_ascii;

	s = xcalloc(1, sizeof(*s));
	s->src = xcalloc(AUDIO_MAX_SOURCES, sizeof(*s->src));
	s->tap = xcalloc(TAP_FRAMES * 2, sizeof(*s->tap));

	audio_studio_opts_default(&so);
	so.device = o->device;
	so.buffer_frames = o->buffer_frames;
	so.rate = o->rate;
	so.no_device = o->no_device;
	s->listen_db = CHAIN_DEVSIM_LEVEL_DEF_DB;
	s->st = audio_studio_new(o->demo ? NULL : o->mix, &so, &err, msg, sizeof(msg));
	if (!s->st) {
		const char *path = o->demo || !o->mix ? "demo" : o->mix;

		if (!msg[0])
			snprintf(msg, sizeof(msg), "cannot open (error %d)", err);
		if (strncmp(msg, path, strlen(path)) == 0)
			tui_error("%s", msg);
		else
			tui_error("%s: %s", path, msg);
		ret = TUI_EXIT_USAGE;
		goto out_free;
	}
	if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
		tui_error("the screen needs a terminal on standard input and output "
			  "(--headless serves scripts)");
		ret = TUI_EXIT_USAGE;
		goto out_studio;
	}
	s->eng = audio_studio_engine(s->st);
	s->rate = audio_studio_rate(s->st);
	for (i = 0; i < o->n_refs; i++) {
		if (audio_studio_add_ref(s->st, o->refs[i]) < 0)
			say(s, LOOK_OVER, 0, "%s: not added, too many sources (at most %d)",
			    o->refs[i], AUDIO_MAX_SOURCES - 1);
	}
	s->session_path = o->session_path;
	if (o->session) {
		char smsg[256];

		if (tui_session_apply(s->st, o->session, smsg, sizeof(smsg)))
			say(s, LOOK_WARN, 0, "%s: %s", o->session_path, smsg);
		s->listen_db = (float)o->session->level_db;
	}
	s->meter = refs_meter_new(s->rate > 0 ? s->rate : 48000.0, &merr);
	if (!s->meter)
		say(s, LOOK_OVER, 0, "meters unavailable (error %d)", merr);
	s->mv.momentary_lufs = -HUGE_VAL;
	s->mv.shortterm_lufs = -HUGE_VAL;
	s->mv.true_peak_dbtp = -HUGE_VAL;
	s->mv.true_peak_now_dbtp = -HUGE_VAL;

	/* Our handlers before ncurses: it then leaves SIGINT/SIGTERM/SIGWINCH
	 * to us (it installs its own only where the disposition is default). */
	needs_to_resize = 0;
	got_quit_signal = 0;
	install_signals();

	scr = newterm(NULL, stdout, stdin);
	if (!scr) {
		tui_error("cannot start the screen: unknown terminal type \"%s\"",
			  getenv("TERM") ? getenv("TERM") : "");
		ret = TUI_EXIT_FAIL;
		goto out_studio;
	}
	set_term(scr);

	/* ncurses owns the terminal now; library chatter on stderr (ALSA)
	 * would scribble over the screen. */
	fflush(stderr);
	saved_stderr = dup(STDERR_FILENO);
	devnull = open("/dev/null", O_WRONLY);
	if (devnull >= 0) {
		dup2(devnull, STDERR_FILENO);
		close(devnull);
	}

	cbreak();
	noecho();
	nonl();
	keypad(stdscr, TRUE);
	nodelay(stdscr, TRUE);
	set_escdelay(100);      /* over SSH an arrow key may arrive in pieces */
	curs_set(0);
	looks_init(colour_allowed() && start_color() == OK);

	tick(s);
	draw(s);
	run_loop(s);

	endwin();
	delscreen(scr);
	restore_stderr();
out_studio:
	/* our handlers stay until the output is closed: a second Ctrl-C must
	 * not cut the teardown short */
	audio_studio_free(&s->st);
	restore_signals();
out_free:
	refs_meter_free(&s->meter);
	free(s->tap);
	free(s->src);
	free(s);
	return ret;
}

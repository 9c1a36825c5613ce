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
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
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
#include "refs/align.h"
#include "tui/prompt.h"
#include "audio/renderjob.h"
#include "tui/apply.h"
#include "tui/editor.h"
#include "tui/session.h"
#include "tui/tui.h"
#include "tui/views.h"

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
	struct ws *ws;          /* workspace: editor, undo, snapshots, render, autosave */
	struct refui *rui;      /* referencing keys, prompt and views */

	char msg[512];
	enum look msg_look;
	double msg_until;                       /* 0: until replaced */
};

static void say(struct screen *s, enum look lk, double seconds, const char *fmt, ...)
	TUI_FORMAT(4, 5);
/* the workspace (defined with the drawing, which they use) */
static bool ws_key(struct screen *s, int ch);
static void ws_save(struct screen *s, const char *path);
static bool ws_draw_editor(struct screen *s);
static void ws_overlay(struct screen *s);
static void ws_tick(struct screen *s);

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

static void refui_tick(struct screen *s);

static void tick(struct screen *s)
{
	const char *notice;

	audio_studio_poll(s->st);
	refresh_sources(s);
	refui_tick(s);
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
	ws_tick(s);
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
	if (audio_studio_set_loop(s->st, s->loop_in_s, s->loop_out_s, on) != 0) {
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

/* ---- referencing: the add prompt, references, offsets, cues,
 * match methods and the comparison views.  Kept together here; the rest
 * of the screen reaches it through refui_key(), refui_tick(), the
 * drawing hooks further down and prompt_open() (any one-line path
 * question: "add reference", "save as"). ---- */

enum refui_view {
	VIEW_MAIN = 0,
	VIEW_TONAL,
	VIEW_LOUDNESS,
	VIEW_COUNT
};

enum refui_confirm {
	CONFIRM_NONE = 0,
	CONFIRM_REMOVE,         /* confirm_slot */
	CONFIRM_REMOVE_ALL,
};

#define OFFSET_STEPS 3
static const double offset_steps_s[OFFSET_STEPS] = { 0.001, 0.010, 0.100 };
#define TRIM_STEP_DB 0.1
#define TRIM_MAX_DB 24.0

struct refui {
	enum refui_view view;
	struct tui_prompt prompt;
	void (*prompt_done)(struct screen *s, const char *text);
	enum refui_confirm confirm;
	int confirm_slot;
	int offset_step;                /* index into offset_steps_s */
	double trim_after_db, trim_before_db;   /* the mix's two routes */
	struct tui_grid grid;
	char last_dir[TUI_PROMPT_MAX];
	enum audio_align_state align_seen[AUDIO_MAX_SOURCES];
	/* the loop marks follow the source that plays when playheads are
	 * independent: what played last, and when to take the new marks
	 * from the engine (once its snapshot has the switch) */
	int seen_source;
	bool seen_sync;
	double loop_take_at;
};

/* Open the one-line prompt on the status line; done() gets the text on
 * Enter (not on Esc).  Every key goes to the prompt until then. */
static void prompt_open(struct screen *s, const char *label, const char *initial,
			void (*done)(struct screen *s, const char *text))
{
	tui_prompt_start(&s->rui->prompt, label, initial);
	s->rui->prompt_done = done;
	s->msg[0] = '\0';
}

/* The reference the referencing keys act on: the one playing, else the
 * last one played, else the first; 0 when there is none. */
static int current_ref(const struct screen *s)
{
	if (s->snap.source > 0 && s->snap.source < s->n_src)
		return s->snap.source;
	if (s->last_ref > 0 && s->last_ref < s->n_src)
		return s->last_ref;
	return s->n_src > 1 ? 1 : 0;
}

static bool playhead_sync(const struct screen *s)
{
	return audio_studio_playhead(s->st) == AUDIO_PLAYHEAD_SYNC;
}

/* Where the source in `slot` is, on its own clip (its cue points live
 * there): the timeline plus its offset in sync mode. */
static double clip_time(const struct screen *s, int slot)
{
	double t = position_s(s);

	if (playhead_sync(s) && slot > 0 && slot < s->n_src)
		t += s->src[slot].offset_s;
	return t;
}

static void add_refs_done(struct screen *s, const char *text)
{
	struct refui *r = s->rui;
	char path[TUI_PROMPT_MAX], msg[TUI_PROMPT_MAX + 128], label[16];
	const char *args[1] = { path };
	char **list = NULL;
	int n = 0, first = -1, last = -1, refused = 0, missing = 0;
	struct stat sb;

	if (!text[0]) {
		say(s, LOOK_WARN, MSG_SECONDS, "add reference: no path given");
		return;
	}
	if (tui_path_expand(text, path, sizeof(path))) {
		say(s, LOOK_OVER, MSG_SECONDS, "add reference: the path is too long");
		return;
	}
	if (stat(path, &sb) != 0) {
		say(s, LOOK_OVER, MSG_SECONDS, "%s: %s", path, strerror(errno));
		return;
	}
	if (tui_path_expand_refs(args, 1, &list, &n, msg, sizeof(msg))) {
		say(s, LOOK_OVER, MSG_SECONDS, "%s", msg);
		return;
	}
	for (int i = 0; i < n; i++) {
		int slot;

		if (stat(list[i], &sb) != 0) {
			missing++;
			continue;
		}
		slot = audio_studio_add_ref(s->st, list[i]);
		if (slot < 0) {
			refused = n - i;
			break;
		}
		if (first < 0)
			first = slot;
		last = slot;
	}
	tui_path_list_free(list, n);
	/* the next prompt starts where this one found something */
	snprintf(r->last_dir, sizeof(r->last_dir), "%s", path);
	if (!S_ISDIR(sb.st_mode)) {
		char *slash = strrchr(r->last_dir, '/');

		if (slash)
			slash[1] = '\0';
		else
			r->last_dir[0] = '\0';
	} else if (r->last_dir[0] && r->last_dir[strlen(r->last_dir) - 1] != '/') {
		strncat(r->last_dir, "/", sizeof(r->last_dir) - strlen(r->last_dir) - 1);
	}
	slot_label(label, sizeof(label), first);
	if (first < 0)
		say(s, LOOK_OVER, MSG_SECONDS, "%s: not added, %s", path,
		    refused ? "too many sources" : "no such file");
	else if (refused)
		say(s, LOOK_WARN, MSG_SECONDS, "added REF %d-%d; %d not added: at most %d references",
		    first, last, refused, AUDIO_MAX_SOURCES - 1);
	else if (first == last)
		say(s, LOOK_OK, MSG_SECONDS, "added %s (loading; %s plays it)", label,
		    first <= 9 ? "its number key" : "{ }");
	else
		say(s, LOOK_OK, MSG_SECONDS, "added REF %d-%d (%d files, loading)%s", first, last,
		    last - first + 1, missing ? "; some vanished" : "");
}

static void remove_refs(struct screen *s, int slot, bool all)
{
	int from = all ? s->n_src - 1 : slot, to = all ? 1 : slot, removed = 0;

	/* never pull a source from under the ear: the mix takes over first */
	if (s->snap.source >= to && s->snap.source <= from)
		select_source(s, 0);
	for (int k = from; k >= to; k--) {
		if (audio_studio_remove_ref(s->st, k) != 0)
			continue;
		removed++;
		if (k < AUDIO_MAX_SOURCES - 1)
			memmove(&s->prev_state[k], &s->prev_state[k + 1],
				sizeof(s->prev_state[0]) * (size_t)(AUDIO_MAX_SOURCES - 1 - k));
		if (s->last_ref == k)
			s->last_ref = 0;
		else if (s->last_ref > k)
			s->last_ref--;
	}
	refresh_sources(s);
	if (!removed)
		say(s, LOOK_OVER, MSG_SECONDS, "remove: refused by the studio");
	else if (all)
		say(s, LOOK_OK, MSG_SECONDS, "removed %d reference%s", removed, removed == 1 ? "" : "s");
	else
		say(s, LOOK_OK, MSG_SECONDS, "removed REF %d; the ones after it moved up", slot);
}

/* { and }: the previous / next source that can play, the mix included. */
static void step_source(struct screen *s, int dir)
{
	int n = s->n_src, slot = s->snap.source;

	if (n <= 1) {
		say(s, LOOK_WARN, MSG_SECONDS, "no references (a adds one)");
		return;
	}
	for (int k = 0; k < n; k++) {
		slot = (slot + dir + n) % n;
		if (s->src[slot].state != AUDIO_SOURCE_FAILED)
			break;
	}
	select_source(s, slot);
}

static void set_offset(struct screen *s, int dir)
{
	int slot = current_ref(s);
	double v;

	if (slot <= 0) {
		say(s, LOOK_WARN, MSG_SECONDS, "offset: no reference (a adds one)");
		return;
	}
	v = s->src[slot].offset_s + dir * offset_steps_s[s->rui->offset_step];
	v = round(v * 1e4) / 1e4;       /* no drift from repeated 0.001 steps */
	if (audio_studio_set_offset(s->st, slot, v) != 0) {
		say(s, LOOK_WARN, MSG_SECONDS, "offset: the engine is busy, try again");
		return;
	}
	s->src[slot].offset_s = v;      /* the next key builds on it */
	say(s, LOOK_NORMAL, MSG_SECONDS, "REF %d offset %+.3f s (step %.0f ms, / changes it)%s",
	    slot, v, offset_steps_s[s->rui->offset_step] * 1000.0,
	    playhead_sync(s) ? "" : "; it applies in sync mode (i)");
}

/* The route that plays and its manual trim. */
static int trim_route(const struct screen *s, double **trim)
{
	struct refui *r = s->rui;

	if (s->snap.source == 0) {
		*trim = s->snap.bypass ? &r->trim_before_db : &r->trim_after_db;
		return s->snap.bypass ? AUDIO_ROUTE_BEFORE : AUDIO_ROUTE_AFTER;
	}
	*trim = &s->src[s->snap.source].trim_db;
	return s->snap.source;
}

static void set_trim(struct screen *s, int dir)
{
	double *trim, v;
	int route = trim_route(s, &trim);
	char who[32];

	v = round((*trim + dir * TRIM_STEP_DB) * 10.0) / 10.0;
	if (v > TRIM_MAX_DB)
		v = TRIM_MAX_DB;
	if (v < -TRIM_MAX_DB)
		v = -TRIM_MAX_DB;
	if (audio_studio_set_trim(s->st, route, v) != 0) {
		say(s, LOOK_WARN, MSG_SECONDS, "trim: the engine is busy, try again");
		return;
	}
	*trim = v;
	if (route == AUDIO_ROUTE_AFTER)
		snprintf(who, sizeof(who), "MIX after");
	else if (route == AUDIO_ROUTE_BEFORE)
		snprintf(who, sizeof(who), "MIX before");
	else
		slot_label(who, sizeof(who), route);
	say(s, LOOK_NORMAL, MSG_SECONDS, "trim of %s %+.1f dB (added to its match gain)", who, v);
}

static void add_cue(struct screen *s)
{
	int slot = s->snap.source;
	double t = clip_time(s, slot);
	char label[16], ts[16];

	slot_label(label, sizeof(label), slot);
	if (audio_studio_add_cue(s->st, slot, t) != 0) {
		say(s, LOOK_WARN, MSG_SECONDS, "cue: %s has no room for more (%d)", label,
		    AUDIO_STUDIO_CUES_MAX);
		return;
	}
	say(s, LOOK_NORMAL, MSG_SECONDS, "cue on %s at %s (' jumps to the next)", label,
	    fmt_time(ts, sizeof(ts), t));
}

static void next_cue(struct screen *s)
{
	int slot = s->snap.source, k;
	const struct audio_source_info *si;
	double now = clip_time(s, slot), target;
	char label[16], ts[16];

	slot_label(label, sizeof(label), slot);
	if (slot < 0 || slot >= s->n_src || s->src[slot].n_cues <= 0) {
		say(s, LOOK_WARN, MSG_SECONDS, "%s has no cues (; adds one at the playhead)", label);
		return;
	}
	si = &s->src[slot];
	for (k = 0; k < si->n_cues; k++)
		if (si->cue_s[k] > now + 0.05)
			break;
	if (k == si->n_cues)
		k = 0;  /* round to the first */
	target = si->cue_s[k];
	if (playhead_sync(s) && slot > 0)
		target -= si->offset_s;
	seek_to(s, target);
	say(s, LOOK_NORMAL, MSG_SECONDS, "%s cue %d/%d at %s", label, k + 1, si->n_cues,
	    fmt_time(ts, sizeof(ts), si->cue_s[k]));
}

/* Align results as they come in, and the loop marks of the source that
 * plays (called once per frame from tick()). */
static void refui_tick(struct screen *s)
{
	struct refui *r = s->rui;
	bool sync;

	if (!r)
		return;
	sync = playhead_sync(s);
	/* in sync mode the loop is the timeline's whatever plays: a half-set
	 * region ([ without ]) must survive a switch */
	if ((!sync && s->snap.source != r->seen_source) || sync != r->seen_sync) {
		r->seen_source = s->snap.source;
		r->seen_sync = sync;
		r->loop_take_at = now_s() + PENDING_S;
	} else {
		r->seen_source = s->snap.source;
	}
	if (r->loop_take_at > 0 && now_s() >= r->loop_take_at) {
		/* the engine's loop is now the timeline's (sync) or this
		 * source's own (independent): show that one */
		r->loop_take_at = 0;
		s->has_in = s->has_out = s->snap.loop_out > s->snap.loop_in;
		if (s->has_in) {
			s->loop_in_s = sec_of(s, s->snap.loop_in);
			s->loop_out_s = sec_of(s, s->snap.loop_out);
		}
	}
	for (int i = 1; i < s->n_src; i++) {
		const struct audio_source_info *si = &s->src[i];

		if (si->align_state == r->align_seen[i])
			continue;
		if (r->align_seen[i] == AUDIO_ALIGN_RUNNING && si->align_state == AUDIO_ALIGN_DONE) {
			if (si->align_verdict == REFS_ALIGN_MATCH)
				say(s, LOOK_OK, MSG_SECONDS,
				    "REF %d aligned: offset %+.4f s (correlation %.2f)", i,
				    si->align_offset_s, si->align_peak);
			else
				say(s, LOOK_WARN, MSG_SECONDS,
				    "REF %d: %s (best %+.4f s, correlation %.2f); offset kept", i,
				    refs_align_verdict_text((enum refs_align_verdict)si->align_verdict),
				    si->align_offset_s, si->align_peak);
		} else if (si->align_state == AUDIO_ALIGN_FAILED) {
			say(s, LOOK_OVER, MSG_SECONDS, "REF %d: auto-align failed", i);
		}
		r->align_seen[i] = si->align_state;
	}
}

/* An ncurses key as tui_prompt_key() takes it (it reads Enter, Esc and
 * Backspace as the bytes terminals send), or -1 for another function key. */
static int prompt_keycode(int ch)
{
	switch (ch) {
	case KEY_LEFT:
		return TUI_PROMPT_KEY_LEFT;
	case KEY_RIGHT:
		return TUI_PROMPT_KEY_RIGHT;
	case KEY_HOME:
		return TUI_PROMPT_KEY_HOME;
	case KEY_END:
		return TUI_PROMPT_KEY_END;
	case KEY_BACKSPACE:
		return TUI_PROMPT_KEY_BACKSPACE;
	case KEY_DC:
		return TUI_PROMPT_KEY_DELETE;
	case KEY_ENTER:
		return TUI_PROMPT_KEY_ENTER;
	default:
		return ch >= KEY_MIN ? -1 : ch;
	}
}

/* Keys for the prompt, a pending confirmation and the referencing keys;
 * returns true when the key was taken. */
static bool refui_key(struct screen *s, int ch)
{
	struct refui *r = s->rui;

	if (!r || ch == KEY_RESIZE)
		return false;
	if (r->prompt.active) {
		int k = prompt_keycode(ch);
		char text[TUI_PROMPT_MAX];

		if (k < 0)
			return true;
		if (tui_prompt_key(&r->prompt, k) == TUI_PROMPT_DONE && r->prompt_done) {
			snprintf(text, sizeof(text), "%s", r->prompt.buf);
			r->prompt_done(s, text);
		}
		return true;
	}
	if (r->confirm != CONFIRM_NONE) {
		enum refui_confirm c = r->confirm;
		bool yes = ch == '\r' || ch == '\n' || ch == KEY_ENTER ||
			   (c == CONFIRM_REMOVE && ch == 'd') || (c == CONFIRM_REMOVE_ALL && ch == 'D');

		r->confirm = CONFIRM_NONE;
		if (yes)
			remove_refs(s, r->confirm_slot, c == CONFIRM_REMOVE_ALL);
		else
			say(s, LOOK_NORMAL, MSG_SECONDS, "nothing removed");
		return true;
	}
	if (s->too_small)
		return false;
	switch (ch) {
	case 'a':
		prompt_open(s, "add reference (file or folder): ", r->last_dir, add_refs_done);
		return true;
	case 'd': {
		int slot = current_ref(s);

		if (slot <= 0) {
			say(s, LOOK_WARN, MSG_SECONDS, "no reference to remove");
			return true;
		}
		r->confirm = CONFIRM_REMOVE;
		r->confirm_slot = slot;
		say(s, LOOK_WARN, 0, "remove REF %d %s? d or Enter removes it, any other key keeps it",
		    slot, s->src[slot].name);
		return true;
	}
	case 'D':
		if (s->n_src <= 1) {
			say(s, LOOK_WARN, MSG_SECONDS, "no references to remove");
			return true;
		}
		r->confirm = CONFIRM_REMOVE_ALL;
		say(s, LOOK_WARN, 0, "remove all %d references? D or Enter removes them, any other key keeps them",
		    s->n_src - 1);
		return true;
	case '{':
	case '}':
		step_source(s, ch == '}' ? 1 : -1);
		return true;
	case 'i': {
		enum audio_playhead m = playhead_sync(s) ? AUDIO_PLAYHEAD_INDEPENDENT
							  : AUDIO_PLAYHEAD_SYNC;

		if (audio_studio_set_playhead(s->st, m) != 0) {
			say(s, LOOK_WARN, MSG_SECONDS, "playhead: the engine is busy, try again");
			return true;
		}
		say(s, LOOK_NORMAL, MSG_SECONDS, "%s",
		    m == AUDIO_PLAYHEAD_SYNC
			    ? "playheads in sync: one timeline, references at their offsets"
			    : "playheads independent: every source keeps its own position and loop");
		return true;
	}
	case 'o':
	case 'O':
		set_offset(s, ch == 'O' ? 1 : -1);
		return true;
	case '/':
		r->offset_step = (r->offset_step + 1) % OFFSET_STEPS;
		say(s, LOOK_NORMAL, MSG_SECONDS, "offset step %.0f ms (o earlier, O later)",
		    offset_steps_s[r->offset_step] * 1000.0);
		return true;
	case 'g': {
		int slot = current_ref(s);

		if (slot <= 0) {
			say(s, LOOK_WARN, MSG_SECONDS, "auto-align: no reference (a adds one)");
		} else if (audio_studio_align(s->st, slot) != 0) {
			say(s, LOOK_WARN, MSG_SECONDS, "auto-align: REF %d cannot be aligned now", slot);
		} else {
			r->align_seen[slot] = AUDIO_ALIGN_RUNNING;
			say(s, LOOK_NORMAL, MSG_SECONDS,
			    "aligning REF %d with the mix (cross-correlation)%s", slot, G->ellipsis);
		}
		return true;
	}
	case 't':
	case 'T': {
		int m = ((int)s->match.method + (ch == 't' ? 1 : AUDIO_MATCH_METHOD_COUNT - 1)) %
			AUDIO_MATCH_METHOD_COUNT;

		if (audio_studio_set_match_method(s->st, (enum audio_match_method)m) != 0) {
			say(s, LOOK_WARN, MSG_SECONDS, "match method: refused");
			return true;
		}
		s->match.method = (enum audio_match_method)m;
		s->match.method_ready = false;
		say(s, LOOK_NORMAL, MSG_SECONDS, "match by %s%s",
		    audio_match_method_name((enum audio_match_method)m),
		    m == AUDIO_MATCH_REGION && !s->snap.loop_on ? " (set a loop with [ ] \\)" : "");
		return true;
	}
	case '-':
	case '=':
		set_trim(s, ch == '=' ? 1 : -1);
		return true;
	case ';':
		add_cue(s);
		return true;
	case '\'':
		next_cue(s);
		return true;
	case 'v':
	case 'V':
		r->view = (enum refui_view)(((int)r->view + (ch == 'v' ? 1 : VIEW_COUNT - 1)) %
					    VIEW_COUNT);
		return true;
	}
	return false;
}

static void handle_key(struct screen *s, int ch)
{
	struct audio_engine *e = s->eng;

	if (ws_key(s, ch))
		return;

	if (refui_key(s, ch))
		return;
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
	case 'w':
		/* save the session: to --session's file (or the last W), else
		 * beside the mix */
		ws_save(s, NULL);
		break;
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
		if (si->released)       /* memory budget: decoded again when played */
			put(y, c->state, STATE_W, LOOK_DIM, "released");
		else
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
	if (shown_refs < refs) {
		/* what the window hides: where it is, and what is still loading */
		int busy = 0;

		for (slot = 1; slot < s->n_src; slot++)
			busy += s->src[slot].state == AUDIO_SOURCE_LOADING ||
				s->src[slot].state == AUDIO_SOURCE_MEASURING;
		if (busy)
			putf(y + used++, c.label, -1, LOOK_DIM,
			     "REF %d-%d of %d shown ({ } moves), %d loading%s", first,
			     first + shown_refs - 1, refs, busy, G->ellipsis);
		else
			putf(y + used++, c.label, -1, LOOK_DIM,
			     "REF %d-%d of %d shown ({ } moves, or enlarge the window)", first,
			     first + shown_refs - 1, refs);
	}
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
		{ "a", "add references (file/folder)" },
		{ "d D", "remove the reference / all" },
		{ "{ }", "previous / next source" },
		{ "i", "playheads sync / independent" },
		{ "o O /", "ref offset -/+ (/ its step)" },
		{ "g", "auto-align the reference" },
		{ "t T", "loudness match method" },
		{ "- =", "trim what plays -/+0.1 dB" },
		{ "; '", "add a cue / go to the next" },
		{ "v V", "views: main, tonal, loudness" },
		{ "w", "save the session (.tms)" },
		{ "W", "save the session as…" },
		{ "e", "chain editor (Esc leaves)" },
		{ "u U", "undo / redo (also Ctrl-R)" },
		{ "F1-F4", "recall snapshot A-D" },
		{ "F5-F8", "store snapshot A-D" },
		{ "x X", "next / previous snapshot" },
		{ "y", "copy the snapshot to A-D" },
		{ "R", "render the master…" },
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
	    "One playhead for all (i: one per source); switching is seamless.");
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

/* ---- referencing: drawing (see "referencing" above) ---- */

static enum look ink_look(int ink)
{
	switch (ink) {
	case TUI_INK_TEXT:
		return LOOK_NORMAL;
	case TUI_INK_AXIS:
	case TUI_INK_DIM:
		return LOOK_DIM;
	case TUI_INK_MIX:
		return LOOK_OK;
	case TUI_INK_REF:
		return LOOK_ACCENT;
	case TUI_INK_UP:
		return LOOK_WARN;
	case TUI_INK_DOWN:
		return LOOK_ACCENT;
	case TUI_INK_MARK:
		return LOOK_BOLD;
	default:
		return LOOK_NORMAL;
	}
}

/* A views grid at (y0, 0), in runs of one look so ncurses gets few calls. */
static void draw_grid(const struct tui_grid *g, int y0)
{
	char run[1024];

	for (int y = 0; y < g->h && y0 + y < LINES; y++) {
		int x = 0;

		while (x < g->w && x < COLS) {
			const struct tui_cell *c = tui_grid_at(g, x, y);
			int ink = c->ink, x0 = x;
			bool rev = c->rev;
			size_t o = 0;

			while (x < g->w && x < COLS) {
				const struct tui_cell *d = tui_grid_at(g, x, y);
				const char *gl = d->g[0] ? d->g : " ";
				size_t k = strlen(gl);

				if (d->ink != ink || d->rev != rev || o + k + 1 > sizeof(run))
					break;
				memcpy(run + o, gl, k);
				o += k;
				x++;
			}
			run[o] = '\0';
			attrset(looks[ink_look(ink)] | (rev ? A_REVERSE : 0));
			mvaddstr(y0 + y, x0, run);
			attrset(A_NORMAL);
		}
	}
}

static const double nan_bands[TUI_TONAL_BANDS] = {
	NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN,
	NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN,
};

/* The tonal or loudness view in rows y … y+h-1. */
static void draw_view(struct screen *s, int y, int h)
{
	struct refui *r = s->rui;
	struct audio_route_analysis mix, ref;
	int route = s->snap.bypass ? AUDIO_ROUTE_BEFORE : AUDIO_ROUTE_AFTER;
	int slot = current_ref(s);
	char mix_name[32], ref_name[32], note[128] = "";
	bool utf8 = G == &glyphs_utf8;

	if (r->grid.w != COLS || r->grid.h != h || r->grid.utf8 != utf8) {
		tui_grid_free(&r->grid);
		if (tui_grid_init(&r->grid, COLS, h, utf8) != 0) {
			put(y, 1, -1, LOOK_OVER, "view: out of memory");
			return;
		}
	}
	memset(&mix, 0, sizeof(mix));
	memset(&ref, 0, sizeof(ref));
	audio_studio_analysis(s->st, route, &mix);
	if (slot > 0)
		audio_studio_analysis(s->st, slot, &ref);
	snprintf(mix_name, sizeof(mix_name), "MIX %s", s->snap.bypass ? "before" : "after");
	slot_label(ref_name, sizeof(ref_name), slot);
	if (!mix.valid)
		snprintf(note, sizeof(note), "measuring the mix%s", G->ellipsis);
	else if (slot > 0 && !ref.valid)
		snprintf(note, sizeof(note), "measuring %s%s", ref_name, G->ellipsis);

	if (r->view == VIEW_TONAL) {
		struct tui_tonal_in in;

		memset(&in, 0, sizeof(in));
		in.mix_mid = mix.valid ? mix.mid_db : nan_bands;
		in.mix_side = mix.valid ? mix.side_db : nan_bands;
		if (slot > 0 && ref.valid) {
			in.ref_mid = ref.mid_db;
			in.ref_side = ref.side_db;
		}
		in.ref_name = slot > 0 && ref.valid ? ref_name : NULL;
		in.mix_name = mix_name;
		in.region = mix.valid && mix.over_region ? "loop region" : "whole track";
		in.note = note[0] ? note : NULL;
		tui_views_tonal(&r->grid, &in, NULL);
	} else {
		struct tui_loud_in in;

		memset(&in, 0, sizeof(in));
		in.mix.name = mix_name;
		if (mix.valid) {
			in.mix.short_term = mix.short_term;
			in.mix.n = mix.n_short_term;
			in.mix.hop_s = mix.st_hop_s;
			in.mix.valid = true;
			in.mix.integrated_lufs = mix.integrated_lufs;
			in.mix.lra_lu = mix.lra_lu;
			in.mix.plr_db = mix.plr_db;
			in.mix.true_peak_dbtp = mix.true_peak_dbtp;
		}
		if (slot > 0) {
			in.ref.name = ref_name;
			if (ref.valid) {
				in.ref.short_term = ref.short_term;
				in.ref.n = ref.n_short_term;
				in.ref.hop_s = ref.st_hop_s;
				/* on the timeline: clip time minus its offset */
				in.ref.shift_s = playhead_sync(s) ? s->src[slot].offset_s : 0.0;
				in.ref.valid = true;
				in.ref.integrated_lufs = ref.integrated_lufs;
				in.ref.lra_lu = ref.lra_lu;
				in.ref.plr_db = ref.plr_db;
				in.ref.true_peak_dbtp = ref.true_peak_dbtp;
			}
		}
		in.length_s = length_s(s);
		in.playhead_s = s->snap.source == 0 || playhead_sync(s) ? position_s(s) : -1.0;
		in.note = note[0] ? note : NULL;
		tui_views_loudness(&r->grid, &in, NULL);
	}
	draw_grid(&r->grid, y);
}

/* The referencing line under the match line: the method and the residual
 * of what plays; the playhead mode and the current reference's offset,
 * trim and alignment. */
static void draw_refline(struct screen *s, int y)
{
	const struct audio_match_info *m = &s->match;
	int src = s->snap.source, slot = current_ref(s);
	int route = src == 0 ? (s->snap.bypass ? AUDIO_ROUTE_BEFORE : AUDIO_ROUTE_AFTER) : src;
	bool narrow = COLS < 100;
	char left[96], right[192], res[32], extra[2][48];
	double *trim;
	int n;

	if (route >= 0 && route < AUDIO_ROUTES && m->residual_valid[route] && s->snap.match)
		snprintf(res, sizeof(res), "%+.2f LU", m->residual_lu[route]);
	else
		snprintf(res, sizeof(res), "--");
	snprintf(left, sizeof(left), "%s%s  residual %s", narrow ? "by " : "Match by ",
		 audio_match_method_name(m->method), res);
	n = snprintf(right, sizeof(right), "%s%s", narrow ? "" : "Playhead ",
		     playhead_sync(s) ? "SYNC" : "INDEPENDENT");
	extra[0][0] = extra[1][0] = '\0';
	if (slot > 0) {
		const struct audio_source_info *si = &s->src[slot];

		n += snprintf(right + n, sizeof(right) - (size_t)n, "  REF %d %+.3f s", slot,
			      si->offset_s);
		/* the last auto-align: its state, or its verdict and confidence */
		if (si->align_state == AUDIO_ALIGN_RUNNING)
			snprintf(extra[0], sizeof(extra[0]), " aligning%s", G->ellipsis);
		else if (si->align_state == AUDIO_ALIGN_DONE)
			snprintf(extra[0], sizeof(extra[0]), " %s %.2f",
				 si->align_verdict == REFS_ALIGN_MATCH ? "aligned" : "no match",
				 si->align_peak);
		else if (si->align_state == AUDIO_ALIGN_FAILED)
			snprintf(extra[0], sizeof(extra[0]), " align failed");
	}
	trim_route(s, &trim);
	if (fabs(*trim) >= 0.05)
		snprintf(extra[1], sizeof(extra[1]), "  trim %+.1f", *trim);
	/* the extras as far as they fit beside the method */
	for (int k = 0; k < 2; k++)
		if (extra[k][0] && text_cols(left) + 4 + text_cols(right) + text_cols(extra[k]) < COLS &&
		    n < (int)sizeof(right))
			n += snprintf(right + n, sizeof(right) - (size_t)n, "%s", extra[k]);
	put(y, 1, COLS - 2 - text_cols(right) - 2, m->method_ready ? LOOK_NORMAL : LOOK_DIM, left);
	put_right(y, COLS - 1, playhead_sync(s) ? LOOK_NORMAL : LOOK_ACCENT, right);
}

/* The prompt on the status line, its candidates (or how to use it) on
 * the key line, the cursor as a reversed cell. */
static void draw_prompt(struct screen *s)
{
	const struct tui_prompt *p = &s->rui->prompt;
	char line[TUI_PROMPT_MAX + 128], safe[TUI_PROMPT_MAX + 128];
	int cur, y = LINES - 2;

	if (!p->active)
		return;
	tui_prompt_view(p, COLS - 2, line, sizeof(line), &cur);
	sanitize(safe, sizeof(safe), line);
	fill(y, 0, COLS, LOOK_NORMAL);
	put(y, 1, COLS - 2, LOOK_BOLD, safe);
	attrset(A_REVERSE);
	{
		/* the character under the cursor, or a space past the end */
		int c = 0;
		size_t i = 0, len = strlen(safe);

		while (i < len && c < cur) {
			i++;
			while (i < len && ((unsigned char)safe[i] & 0xc0) == 0x80)
				i++;
			c++;
		}
		if (i < len) {
			size_t k = 1;

			while (i + k < len && ((unsigned char)safe[i + k] & 0xc0) == 0x80)
				k++;
			mvaddnstr(y, 1 + cur, safe + i, (int)k);
		} else if (1 + cur < COLS) {
			mvaddch(y, 1 + cur, ' ');
		}
	}
	attrset(A_NORMAL);
	fill(LINES - 1, 0, COLS, LOOK_NORMAL);
	if (p->list[0]) {
		sanitize(safe, sizeof(safe), p->list);
		put_ellip(LINES - 1, 1, COLS - 2, LOOK_DIM, safe);
	} else {
		put(LINES - 1, 1, COLS - 2, LOOK_DIM,
		    "Tab completes  Enter adds  Esc cancels  Ctrl-U clears");
	}
}

/* The views take the place of the sources and meters; title, match,
 * referencing, A/B, transport, status and keys stay.  Returns false on
 * the main view (draw() goes on as usual). */
static bool refui_draw(struct screen *s)
{
	int H = LINES;

	if (!s->rui || s->rui->view == VIEW_MAIN)
		return false;
	draw_title(s);
	draw_view(s, 1, H - 7);
	draw_match(s, H - 6);
	draw_refline(s, H - 5);
	draw_ab(s, H - 4, 1);
	draw_transport(s, H - 3);
	draw_status(s, H - 2);
	draw_help_line(H - 1);
	ws_overlay(s);
	draw_prompt(s);
	if (s->help)
		draw_help_overlay();
	refresh();
	return true;
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
	if (ws_draw_editor(s)) {
		ws_overlay(s);
		if (s->help)
			draw_help_overlay();
		refresh();
		return;
	}
	if (refui_draw(s))
		return;

	/* Top down: title, blank, the sources (header + rows).  Bottom up:
	 * help line, status, the control block (blank, match, A/B, transport,
	 * position, meter scale, 5 meters: 11 rows).  Rows to spare give the
	 * block some air first, then the A/B banner grows; the source list
	 * takes what is left. */
	needed = 1 + (s->n_src > 0 ? s->n_src + 1 : 1);
	spare = H - 2 - 2 - 12 - needed;
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
	src_rows = H - 2 - 2 - 12 - gap_scale - 2 * gap_ab - gap_status - 2 * tall;

	draw_title(s);
	draw_sources(s, 2, src_rows);

	y = 2 + src_rows + 1;
	draw_match(s, y++);
	draw_refline(s, y++);
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
	ws_overlay(s);
	draw_prompt(s);
	if (s->help)
		draw_help_overlay();
	refresh();
}

/* ---- the workspace: chain editor, undo, snapshots, save as, render, autosave ----
 *
 * Keys (outside the editor too): e editor, u undo, U and Ctrl-R redo,
 * F1-F4 recall snapshot A-D, F5-F8 store A-D, x / X next / previous
 * stored snapshot (compare by switching), y copy the active snapshot (then
 * A-D), W save as, R render dialog. */

#define WS_AUTOSAVE_S 3.0       /* autosave this often while something changed */

enum ws_prompt_for {
	WS_PROMPT_NONE = 0,
	WS_PROMPT_SAVE_AS,
	WS_PROMPT_RENDER_NAME,
};

/* The render dialog's rows and choices. */
enum ws_dlg_row {
	WS_DLG_FORMAT,
	WS_DLG_RATE,
	WS_DLG_BITS,
	WS_DLG_DITHER,
	WS_DLG_TARGET,
	WS_DLG_CEILING,
	WS_DLG_NAME,
	WS_DLG_GO,
	WS_DLG_ROWS,
};

static const char *const ws_formats[] = { "wav", "flac", "aiff" };
static const double ws_rates[] = { 0, 44100, 48000, 88200, 96000 };
static const int ws_bits[] = { 16, 24, 32 };
static const char *const ws_dithers[] = { "tpdf", "shaped", "none" };
#define WS_N(a) ((int)(sizeof(a) / sizeof((a)[0])))

struct ws {
	struct tui_desk desk;
	bool has_desk;
	struct tui_editor ed;
	struct tui_prompt prompt;
	enum ws_prompt_for prompt_for;
	int copy_from;                  /* y pressed: copy this snapshot, -1 none */
	char session_path[1024];        /* where w saves (W sets it) */

	/* render dialog */
	bool dlg;
	int dlg_row;
	int fmt, rate, bits, dither;    /* indices into the tables above */
	bool target_on;
	double target_lufs, ceiling_dbtp;
	char out_name[1024];
	bool force_armed;               /* the file exists: Enter again replaces it */
	struct audio_renderjob *job;
	char result_path[1024];         /* the file the last render wrote to */
	char result[4096];
	bool result_error;

	/* autosave and recovery */
	char recovery[1024];            /* "" when there is no state folder */
	int lock_fd;                    /* held while we own the recovery file */
	unsigned long saved_changes;
	double last_autosave;
	bool offer_recovery;            /* the prompt is on screen */
};

static struct tui_editor_style ws_style(void)
{
	struct tui_editor_style st = {
		.normal = looks[LOOK_NORMAL], .dim = looks[LOOK_DIM], .bold = looks[LOOK_BOLD],
		.key = looks[LOOK_KEY], .sel = A_REVERSE, .warn = looks[LOOK_WARN],
		.over = looks[LOOK_OVER], .ok = looks[LOOK_OK], .accent = looks[LOOK_ACCENT],
		.ascii = G == &glyphs_ascii,
	};

	return st;
}

/* The default session file: beside the mix, MIX.tms; NULL for the demo. */
static const char *ws_default_session(struct screen *s)
{
	struct audio_source_info si;
	char *dot;

	if (s->ws->session_path[0])
		return s->ws->session_path;
	audio_studio_source(s->st, 0, &si);
	if (!strcmp(si.path, "(generated)"))
		return NULL;
	snprintf(s->save_path, sizeof(s->save_path), "%s", si.path);
	dot = strrchr(s->save_path, '.');
	if (dot && !strchr(dot, '/'))
		*dot = '\0';
	strncat(s->save_path, ".tms", sizeof(s->save_path) - strlen(s->save_path) - 1);
	return s->save_path;
}

/* The whole state as a session file at path: 0 or -1 with msg. */
static int ws_write_session(struct screen *s, const char *path, char *msg, size_t n)
{
	struct tui_session sess;
	int err;

	tui_session_init(&sess);
	snprintf(msg, n, "out of memory");
	err = tui_session_capture(s->st, &sess);
	if (!err && s->ws->has_desk)
		tui_desk_to_session(&s->ws->desk, &sess);
	if (!err && !sess.mix) {
		snprintf(msg, n, "the demo has no files to save a session of");
		err = -1;
	}
	err = err || tui_session_save(path, &sess, msg, n);
	tui_session_free(&sess);
	return err ? -1 : 0;
}

/* w (path NULL: the session's own file) and W's prompt. */
static void ws_save(struct screen *s, const char *path)
{
	char msg[1024];

	if (!path)
		path = ws_default_session(s);
	if (!path) {
		say(s, LOOK_WARN, MSG_SECONDS, "the demo has no files to save a session of");
		return;
	}
	if (ws_write_session(s, path, msg, sizeof(msg))) {
		say(s, LOOK_OVER, MSG_SECONDS, "save: %s", msg);
		return;
	}
	if (path != s->ws->session_path)
		snprintf(s->ws->session_path, sizeof(s->ws->session_path), "%s", path);
	s->session_path = s->ws->session_path;
	say(s, LOOK_OK, MSG_SECONDS, "session saved: %s", path);
}

/* ---- autosave and recovery ---- */

/* $XDG_STATE_HOME/termaster (or ~/.local/state/termaster), created. */
static bool ws_state_dir(char *dir, size_t n)
{
	const char *x = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
	char *p;

	if (x && x[0] == '/')
		snprintf(dir, n, "%s/termaster", x);
	else if (home && home[0])
		snprintf(dir, n, "%s/.local/state/termaster", home);
	else
		return false;
	/* mkdir -p */
	for (p = dir + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		mkdir(dir, 0700);
		*p = '/';
	}
	return mkdir(dir, 0700) == 0 || errno == EEXIST;
}

static void ws_autosave(struct screen *s, double t)
{
	struct ws *ws = s->ws;
	char msg[1024];

	if (!ws->recovery[0] || !ws->has_desk || ws->offer_recovery)
		return;
	tui_desk_sync(&ws->desk, t);
	if (ws->desk.changes == ws->saved_changes || t - ws->last_autosave < WS_AUTOSAVE_S)
		return;
	ws->last_autosave = t;
	if (ws_write_session(s, ws->recovery, msg, sizeof(msg)) == 0)
		ws->saved_changes = ws->desk.changes;
	else
		say(s, LOOK_WARN, MSG_SECONDS, "autosave: %s", msg);
}

/* The same file, however its path is written. */
static bool ws_same_file(const char *a, const char *b)
{
	struct stat sa, sb;

	if (stat(a, &sa) != 0 || stat(b, &sb) != 0)
		return strcmp(a, b) == 0;
	return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

static void ws_recover(struct screen *s)
{
	struct ws *ws = s->ws;
	struct tui_session sess;
	struct audio_source_info si;
	char msg[1024];

	ws->offer_recovery = false;
	tui_session_init(&sess);
	if (tui_session_load(ws->recovery, &sess, msg, sizeof(msg))) {
		say(s, LOOK_OVER, 0, "recovery: %s", msg);
		tui_session_free(&sess);
		return;
	}
	audio_studio_source(s->st, 0, &si);
	if (!sess.mix || !ws_same_file(sess.mix, si.path)) {
		/* another mix: it needs its own start, keep the file */
		say(s, LOOK_WARN, 0, "the recovered session is of %s: quit and run "
		    "termaster --session %s", sess.mix ? sess.mix : "?", ws->recovery);
		tui_session_free(&sess);
		ws->recovery[0] = '\0';     /* neither overwrite nor remove it */
		return;
	}
	/* references the recovered session had and this start has not */
	for (int r = audio_studio_source_count(s->st) - 1; r < sess.n_refs; r++)
		if (audio_studio_add_ref(s->st, sess.refs[r]) < 0)
			break;
	if (tui_session_apply(s->st, &sess, msg, sizeof(msg)))
		say(s, LOOK_WARN, 0, "recovery: %s", msg);
	else
		say(s, LOOK_OK, MSG_SECONDS, "recovered the settings of the last session "
		    "(u undoes the recovery)");
	tui_desk_from_session(&ws->desk, &sess);
	tui_session_free(&sess);
}

/* ---- the render dialog ---- */

static void ws_dlg_default_name(struct screen *s)
{
	struct ws *ws = s->ws;
	struct audio_source_info si;
	char base[1024], *dot;

	audio_studio_source(s->st, 0, &si);
	snprintf(base, sizeof(base), "%s", strcmp(si.path, "(generated)") ? si.path : "demo");
	dot = strrchr(base, '.');
	if (dot && !strchr(dot, '/'))
		*dot = '\0';
	snprintf(ws->out_name, sizeof(ws->out_name), "%.1000s-master.%s", base,
		 ws_formats[ws->fmt]);
}

/* The extension of out_name follows the format. */
static void ws_dlg_set_ext(struct ws *ws)
{
	char *dot = strrchr(ws->out_name, '.');

	if (dot && !strchr(dot, '/'))
		*dot = '\0';
	strncat(ws->out_name, ".", sizeof(ws->out_name) - strlen(ws->out_name) - 1);
	strncat(ws->out_name, ws_formats[ws->fmt],
		sizeof(ws->out_name) - strlen(ws->out_name) - 1);
}

static void ws_dlg_open(struct screen *s)
{
	struct ws *ws = s->ws;
	int ci = chain_param_find("limiter.ceiling_dbtp");

	ws->dlg = true;
	ws->force_armed = false;
	if (!ws->out_name[0]) {
		ws->bits = 1;
		ws->target_lufs = -14.0;
		ws_dlg_default_name(s);
	}
	ws->ceiling_dbtp = ci >= 0 ? audio_studio_settings(s->st)->value[ci] : -1.0;
}

static void ws_render_start(struct screen *s)
{
	struct ws *ws = s->ws;
	struct audio_renderjob_opts o;
	struct audio_source_info si;
	char msg[1024], ceil[32];
	const char *mix_path;
	int err;

	if (ws->job) {
		say(s, LOOK_WARN, MSG_SECONDS, "a render is running (c in the dialog cancels it)");
		return;
	}
	audio_renderjob_opts_default(&o);
	o.render.settings = *audio_studio_settings(s->st);
	o.render.out_path = ws->out_name;
	o.render.bits = ws_bits[ws->bits];
	o.render.rate = ws_rates[ws->rate];
	o.render.dither = ws->dither == 0 ? AUDIO_RENDER_DITHER_TPDF :
			  ws->dither == 1 ? AUDIO_RENDER_DITHER_SHAPED : AUDIO_RENDER_DITHER_NONE;
	o.render.force = ws->force_armed;
	snprintf(ceil, sizeof(ceil), "%.1f", ws->ceiling_dbtp);
	chain_settings_set(&o.render.settings, "limiter.ceiling_dbtp", ceil, msg, sizeof(msg));
	o.have_target = ws->target_on;
	o.target_lufs = ws->target_lufs;
	audio_studio_source(s->st, 0, &si);
	mix_path = strcmp(si.path, "(generated)") ? si.path : NULL;
	ws->job = audio_renderjob_start(mix_path, mix_path ? NULL : audio_studio_mix_clip(s->st),
					&o, &err, msg, sizeof(msg));
	ws->result[0] = '\0';
	snprintf(ws->result_path, sizeof(ws->result_path), "%s", ws->out_name);
	if (!ws->job) {
		if (err == AUDIO_RENDER_ERROR_EXISTS && !ws->force_armed) {
			ws->force_armed = true;
			snprintf(ws->result, sizeof(ws->result),
				 "%s exists: Enter again replaces it", ws->out_name);
		} else {
			snprintf(ws->result, sizeof(ws->result), "%s: %s", ws->out_name, msg);
		}
		ws->result_error = true;
		return;
	}
	ws->force_armed = false;
	ws->result_error = false;
}

/* Poll the worker; when it is done, the result goes to the dialog and the
 * status line. */
static void ws_render_poll(struct screen *s)
{
	struct ws *ws = s->ws;
	struct audio_renderjob_state js;

	if (!ws->job)
		return;
	audio_renderjob_state(ws->job, &js);
	if (js.phase != AUDIO_RENDERJOB_DONE)
		return;
	audio_renderjob_free(&ws->job);
	snprintf(ws->result, sizeof(ws->result), "%s", js.msg);
	ws->result_error = js.err != 0;
	{
		/* the status line gets the first line */
		char first[512];
		char *nl;

		const char *base = strrchr(ws->result_path, '/');
		size_t pl = strlen(ws->result_path);

		snprintf(first, sizeof(first), "%.500s", js.msg);
		nl = strchr(first, '\n');
		if (nl)
			*nl = '\0';
		/* the file's name, not its whole path, before the figures */
		if (!js.err && pl && !strncmp(first, ws->result_path, pl))
			say(s, LOOK_OK, 0, "rendered %s: %s", base ? base + 1 : ws->result_path,
			    first + pl + (first[pl] ? 2 : 0));
		else
			say(s, js.err ? LOOK_OVER : LOOK_OK, 0, "render: %s", first);
	}
}

static void ws_dlg_change(struct screen *s, int dir)
{
	struct ws *ws = s->ws;

	ws->force_armed = false;
	switch (ws->dlg_row) {
	case WS_DLG_FORMAT:
		ws->fmt = (ws->fmt + dir + WS_N(ws_formats)) % WS_N(ws_formats);
		if (!strcmp(ws_formats[ws->fmt], "flac") && ws_bits[ws->bits] == 32)
			ws->bits = 1;
		ws_dlg_set_ext(ws);
		break;
	case WS_DLG_RATE:
		ws->rate = (ws->rate + dir + WS_N(ws_rates)) % WS_N(ws_rates);
		break;
	case WS_DLG_BITS:
		ws->bits = (ws->bits + dir + WS_N(ws_bits)) % WS_N(ws_bits);
		if (!strcmp(ws_formats[ws->fmt], "flac") && ws_bits[ws->bits] == 32)
			ws->bits = (ws->bits + dir + WS_N(ws_bits)) % WS_N(ws_bits);
		break;
	case WS_DLG_DITHER:
		ws->dither = (ws->dither + dir + WS_N(ws_dithers)) % WS_N(ws_dithers);
		break;
	case WS_DLG_TARGET:
		/* off, then -30 … -6 LUFS by 1 LU */
		if (!ws->target_on) {
			ws->target_on = true;
			ws->target_lufs = dir > 0 ? -30.0 : -6.0;
		} else {
			ws->target_lufs += dir;
			if (ws->target_lufs < -30.0 || ws->target_lufs > -6.0)
				ws->target_on = false;
		}
		break;
	case WS_DLG_CEILING:
		ws->ceiling_dbtp = fmin(0.0, fmax(-20.0, ws->ceiling_dbtp + 0.1 * dir));
		ws->ceiling_dbtp = round(ws->ceiling_dbtp * 10.0) / 10.0;
		break;
	}
}

static bool ws_dlg_key(struct screen *s, int ch)
{
	struct ws *ws = s->ws;

	switch (ch) {
	case 27:
	case 'R':
	case 'q':
		ws->dlg = false;
		if (ws->job)
			say(s, LOOK_NORMAL, MSG_SECONDS, "rendering goes on; R shows it");
		return true;
	case KEY_UP:
	case 'k':
		ws->dlg_row = (ws->dlg_row + WS_DLG_ROWS - 1) % WS_DLG_ROWS;
		return true;
	case KEY_DOWN:
	case 'j':
	case '\t':
		ws->dlg_row = (ws->dlg_row + 1) % WS_DLG_ROWS;
		return true;
	case KEY_LEFT:
	case 'h':
		ws_dlg_change(s, -1);
		return true;
	case KEY_RIGHT:
	case 'l':
		ws_dlg_change(s, 1);
		return true;
	case 'c':
		if (ws->job)
			audio_renderjob_cancel(ws->job);
		return true;
	case '\n':
	case '\r':
	case KEY_ENTER:
		if (ws->dlg_row == WS_DLG_NAME) {
			tui_prompt_start(&ws->prompt, "render to: ", ws->out_name);
			ws->prompt_for = WS_PROMPT_RENDER_NAME;
		} else if (ws->dlg_row == WS_DLG_GO || ws->force_armed) {
			ws_render_start(s);
		} else {
			ws->dlg_row = WS_DLG_GO;
		}
		return true;
	case ' ':
		return false;   /* play / pause while the dialog is open */
	}
	return true;            /* the dialog is modal otherwise */
}

static void ws_dlg_draw(struct screen *s)
{
	struct ws *ws = s->ws;
	int w = COLS < 76 ? COLS : 76, h = WS_DLG_ROWS + 7, y = (LINES - h) / 2,
	    x = (COLS - w) / 2, r;
	char v[WS_DLG_ROWS][1100];
	static const char *const labels[WS_DLG_ROWS] = {
		"Format", "Sample rate", "Bit depth", "Dither", "Loudness target",
		"True-peak ceiling", "File", "",
	};

	if (h > LINES)
		h = LINES;
	y = (LINES - h) / 2;
	snprintf(v[WS_DLG_FORMAT], sizeof(v[0]), "%s", !strcmp(ws_formats[ws->fmt], "wav") ?
		 "WAV" : !strcmp(ws_formats[ws->fmt], "flac") ? "FLAC" : "AIFF");
	if (ws_rates[ws->rate] > 0)
		snprintf(v[WS_DLG_RATE], sizeof(v[0]), "%.0f Hz", ws_rates[ws->rate]);
	else
		snprintf(v[WS_DLG_RATE], sizeof(v[0]), "the mix's own (%.0f Hz)", s->rate);
	snprintf(v[WS_DLG_BITS], sizeof(v[0]), "%d%s", ws_bits[ws->bits],
		 ws_bits[ws->bits] == 32 ? "-bit float" : "-bit");
	snprintf(v[WS_DLG_DITHER], sizeof(v[0]), "%s%s", ws_dithers[ws->dither],
		 ws_bits[ws->bits] == 32 ? " (not used for float)" : "");
	if (ws->target_on)
		snprintf(v[WS_DLG_TARGET], sizeof(v[0]), "%.0f LUFS (input gain found by "
			 "rendering)", ws->target_lufs);
	else
		snprintf(v[WS_DLG_TARGET], sizeof(v[0]), "off (the chain as it is)");
	snprintf(v[WS_DLG_CEILING], sizeof(v[0]), "%.1f dBTP", ws->ceiling_dbtp);
	snprintf(v[WS_DLG_NAME], sizeof(v[0]), "%s", ws->out_name);
	snprintf(v[WS_DLG_GO], sizeof(v[0]), "%s", ws->force_armed ? "[ Replace and render ]" :
		 ws->job ? "[ rendering ]" : "[ Render ]");
	draw_box(y, x, h, w);
	putf(y, x + 2, w - 4, LOOK_BOLD, " Render the master %s same as termaster render ",
	     G->dash);
	for (r = 0; r < WS_DLG_ROWS && 2 + r < h - 4; r++) {
		enum look lk = r == ws->dlg_row ? LOOK_SELECT : LOOK_NORMAL;

		if (r == ws->dlg_row)
			put(y + 2 + r, x + 2, 2, LOOK_KEY, ">");
		put(y + 2 + r, x + 4, 18, LOOK_NORMAL, labels[r]);
		put_ellip(y + 2 + r, x + 23, w - 25, lk, v[r]);
	}
	/* progress or result */
	r = y + h - 4;
	if (ws->job) {
		struct audio_renderjob_state js;
		char label[48];
		int bw = w - 24, cells;

		audio_renderjob_state(ws->job, &js);
		if (js.phase == AUDIO_RENDERJOB_DECODING)
			snprintf(label, sizeof(label), "decoding");
		else if (js.phase == AUDIO_RENDERJOB_SEARCHING)
			snprintf(label, sizeof(label), "loudness %d", js.pass);
		else
			snprintf(label, sizeof(label), "rendering");
		put(r, x + 2, 14, LOOK_NORMAL, label);
		cells = (int)lround(js.fraction * bw);
		for (int k = 0; k < bw; k++)
			put(r, x + 16 + k, 1, k < cells ? LOOK_OK : LOOK_DIM,
			    k < cells ? G->full : G->empty);
		putf(r, x + 17 + bw, 5, LOOK_NORMAL, "%3.0f%%", js.fraction * 100.0);
	} else if (ws->result[0]) {
		char first[1100], *nl;
		size_t pl = strlen(ws->result_path);

		snprintf(first, sizeof(first), "%.1000s", ws->result);
		nl = strchr(first, '\n');
		if (nl)
			*nl = '\0';
		if (!ws->result_error && pl && !strncmp(first, ws->result_path, pl) &&
		    !strncmp(first + pl, ": ", 2)) {
			/* "written: PATH" above "WAV 24-bit …, LUFS, true peak" */
			char wr[1100];

			snprintf(wr, sizeof(wr), "written: %.1000s", ws->result_path);
			put_ellip(r - 1, x + 2, w - 4, LOOK_NORMAL, wr);
			put_ellip(r, x + 2, w - 4, LOOK_OK, first + pl + 2);
		} else {
			put_ellip(r, x + 2, w - 4, ws->result_error ? LOOK_OVER : LOOK_OK, first);
		}
		if (nl)
			put_ellip(r + 1, x + 2, w - 4, LOOK_NORMAL, nl + 1);
	}
	putf(y + h - 2, x + 2, w - 4, LOOK_DIM, "%s change  %s row  Enter render/edit  "
	     "c cancel  Esc close", G->left_right, "Up/Down");
}

/* ---- prompts (save as, render file name) and the recovery offer ---- */

static void ws_prompt_key(struct screen *s, int ch)
{
	struct ws *ws = s->ws;
	char path[TUI_PROMPT_MAX];
	int k = prompt_keycode(ch), r;

	if (k < 0)
		return;  /* a function key the prompt has no use for */
	r = tui_prompt_key(&ws->prompt, k);
	if (r == TUI_PROMPT_EDITING)
		return;
	if (r == TUI_PROMPT_CANCEL || !ws->prompt.buf[0]) {
		ws->prompt_for = WS_PROMPT_NONE;
		say(s, LOOK_NORMAL, MSG_SECONDS, "cancelled");
		return;
	}
	if (tui_path_expand(ws->prompt.buf, path, sizeof(path)))
		snprintf(path, sizeof(path), "%s", ws->prompt.buf);
	if (ws->prompt_for == WS_PROMPT_SAVE_AS) {
		ws_save(s, path);
	} else if (ws->prompt_for == WS_PROMPT_RENDER_NAME) {
		snprintf(ws->out_name, sizeof(ws->out_name), "%s", path);
		ws->force_armed = false;
		/* the extension chooses the format, as on the command line */
		for (int i = 0; i < WS_N(ws_formats); i++) {
			const char *dot = strrchr(ws->out_name, '.');

			if (dot && !strcasecmp(dot + 1, ws_formats[i]))
				ws->fmt = i;
		}
	}
	ws->prompt_for = WS_PROMPT_NONE;
}

static void ws_prompt_draw(struct screen *s)
{
	struct ws *ws = s->ws;
	char line[TUI_PROMPT_MAX + 128];
	int cur = 0, y = LINES - 2;

	fill(y, 0, COLS, LOOK_NORMAL);
	tui_prompt_view(&ws->prompt, COLS - 2, line, sizeof(line), &cur);
	put(y, 1, COLS - 2, LOOK_KEY, line);
	if (ws->prompt.list[0]) {
		fill(y - 1, 0, COLS, LOOK_NORMAL);
		put_ellip(y - 1, 1, COLS - 2, LOOK_DIM, ws->prompt.list);
	}
	/* a visible cursor: the cell under it reversed */
	mvchgat(y, 1 + cur, 1, A_REVERSE, 0, NULL);
}

static void ws_recovery_draw(struct screen *s)
{
	int w = COLS < 72 ? COLS : 72, h = 7, y = (LINES - h) / 2, x = (COLS - w) / 2;

	draw_box(y, x, h, w);
	put(y, x + 2, w - 4, LOOK_BOLD, " Recover? ");
	put(y + 2, x + 2, w - 4, LOOK_WARN, "termaster did not exit cleanly last time.");
	put_ellip(y + 3, x + 2, w - 4, LOOK_NORMAL, s->ws->recovery);
	put(y + 4, x + 2, w - 4, LOOK_KEY, "r recover   d discard   Esc decide later");
}

static bool ws_recovery_key(struct screen *s, int ch)
{
	struct ws *ws = s->ws;

	if (ch == 'r' || ch == 'R' || ch == '\n' || ch == '\r') {
		ws_recover(s);
	} else if (ch == 'd' || ch == 'D') {
		ws->offer_recovery = false;
		unlink(ws->recovery);
		say(s, LOOK_NORMAL, MSG_SECONDS, "recovery file discarded");
	} else if (ch == 27) {
		/* keep it for the next start: neither overwrite nor remove it */
		ws->offer_recovery = false;
		ws->recovery[0] = '\0';
		say(s, LOOK_NORMAL, MSG_SECONDS, "the recovery file is kept for the next start");
	} else if (ch == 'q' || ch == 'Q') {
		return false;
	}
	return true;
}

/* ---- keys ---- */

static void ws_report(struct screen *s, int err, const char *what)
{
	if (err > 1)
		say(s, LOOK_WARN, MSG_SECONDS, "%s: the engine is busy, try again", what);
}

static void ws_recall(struct screen *s, int i)
{
	struct ws *ws = s->ws;
	int err = tui_desk_recall(&ws->desk, i, now_s());

	if (err == 1)
		say(s, LOOK_WARN, MSG_SECONDS, "snapshot %c is empty (F%d stores it)",
		    tui_snapshot_letter(i), i + 5);
	else if (err)
		ws_report(s, err, "recall");
	else
		say(s, LOOK_NORMAL, MSG_SECONDS, "snapshot %c%s", tui_snapshot_letter(i),
		    audio_studio_is_measured(s->st, &ws->desk.snaps.s[i]) ?
		    " (matched)" : " (being measured)");
}

/* Returns true when the key was taken. */
static bool ws_key(struct screen *s, int ch)
{
	struct ws *ws = s->ws;
	double t = now_s();

	if (!ws || !ws->has_desk)
		return false;
	/* the referencing prompt or confirmation has every key */
	if (s->rui && (s->rui->prompt.active || s->rui->confirm != CONFIRM_NONE))
		return false;
	if (ws->offer_recovery)
		return ws_recovery_key(s, ch);
	if (ws->prompt_for != WS_PROMPT_NONE) {
		ws_prompt_key(s, ch);
		return true;
	}
	if (s->too_small || s->help)
		return false;
	if (ws->copy_from >= 0) {
		char letter[2] = { (char)ch, '\0' };
		int to = tui_snapshot_index(letter);

		if (to >= 0 && tui_desk_copy(&ws->desk, ws->copy_from, to) == 0)
			say(s, LOOK_OK, MSG_SECONDS, "snapshot %c copied to %c",
			    tui_snapshot_letter(ws->copy_from), tui_snapshot_letter(to));
		else
			say(s, LOOK_NORMAL, MSG_SECONDS, "copy cancelled");
		ws->copy_from = -1;
		return true;
	}
	if (ws->dlg && ws_dlg_key(s, ch))
		return true;
	if (ws->ed.active) {
		enum tui_editor_result r = tui_editor_key(&ws->ed, &ws->desk, ch, t);

		if (ws->ed.msg[0]) {
			say(s, ws->ed.msg_error ? LOOK_OVER : LOOK_NORMAL, MSG_SECONDS, "%s",
			    ws->ed.msg);
			ws->ed.msg[0] = '\0';
		}
		if (r == TUI_EDITOR_LEAVE) {
			ws->ed.active = false;
			return true;
		}
		if (r == TUI_EDITOR_DONE)
			return true;
	}
	if (ch >= KEY_F(1) && ch <= KEY_F(4)) {
		ws_recall(s, ch - KEY_F(1));
		return true;
	}
	if (ch >= KEY_F(5) && ch <= KEY_F(8)) {
		int i = ch - KEY_F(5);

		tui_desk_sync(&ws->desk, t);
		tui_desk_store(&ws->desk, i);
		say(s, LOOK_OK, MSG_SECONDS, "snapshot %c stored (measured in the background; "
		    "F%d recalls it)", tui_snapshot_letter(i), i + 1);
		return true;
	}
	switch (ch) {
	case 'e':
		ws->ed.active = true;
		say(s, LOOK_NORMAL, MSG_SECONDS, "chain editor: %s move, %s adjust (H L coarse), "
		    "Enter type, r reset, z fold, Esc leave", "j k", "h l");
		return true;
	case 'u':
		ws_report(s, tui_desk_undo(&ws->desk, t), "undo");
		say(s, LOOK_NORMAL, MSG_SECONDS, "undo (%d more, %d to redo)",
		    tui_history_undo_depth(&ws->desk.hist), tui_history_redo_depth(&ws->desk.hist));
		return true;
	case 'U':
	case 18:        /* Ctrl-R */
		ws_report(s, tui_desk_redo(&ws->desk, t), "redo");
		say(s, LOOK_NORMAL, MSG_SECONDS, "redo (%d more to redo)",
		    tui_history_redo_depth(&ws->desk.hist));
		return true;
	case 'x':
	case 'X': {
		int i = tui_desk_next_snapshot(&ws->desk);

		if (ch == 'X' && i >= 0) {
			/* previous: the other way round */
			for (int k = 1; k <= TUI_SNAPSHOTS; k++) {
				int j = (ws->desk.snaps.active - k + 2 * TUI_SNAPSHOTS) % TUI_SNAPSHOTS;

				if (ws->desk.snaps.used[j]) {
					i = j;
					break;
				}
			}
		}
		if (i < 0)
			say(s, LOOK_WARN, MSG_SECONDS, "no snapshot stored (F5-F8 store A-D)");
		else
			ws_recall(s, i);
		return true;
	}
	case 'y':
		if (ws->desk.snaps.active < 0 || !ws->desk.snaps.used[ws->desk.snaps.active]) {
			say(s, LOOK_WARN, MSG_SECONDS, "copy: no active snapshot (F1-F4 recall one)");
			return true;
		}
		ws->copy_from = ws->desk.snaps.active;
		say(s, LOOK_KEY, 0, "copy snapshot %c to: A, B, C or D?",
		    tui_snapshot_letter(ws->copy_from));
		return true;
	case 'W': {
		const char *p = ws_default_session(s);

		tui_prompt_start(&ws->prompt, "save session as: ", p ? p : "");
		ws->prompt_for = WS_PROMPT_SAVE_AS;
		return true;
	}
	case 'w':
		ws_save(s, NULL);
		return true;
	case 'R':
		ws_dlg_open(s);
		return true;
	}
	return false;
}

/* ---- drawing ---- */

/* Snapshots and undo, e.g. "A [B] C -  undo 3": the active one bracketed,
 * '*' when the settings have moved away from it. */
static int ws_draw_snapbar(struct screen *s, int y, int x)
{
	struct ws *ws = s->ws;
	int x0 = x;

	x += put(y, x, -1, LOOK_DIM, "snap ");
	for (int i = 0; i < TUI_SNAPSHOTS; i++) {
		char a[8];
		bool act = i == ws->desk.snaps.active;

		snprintf(a, sizeof(a), "%s%c%s", act ? "[" : " ",
			 ws->desk.snaps.used[i] ? tui_snapshot_letter(i) : '-',
			 act ? (tui_desk_is_current(&ws->desk, i) ? "]" : "*") : " ");
		x += put(y, x, -1, act ? LOOK_SELECT : ws->desk.snaps.used[i] ? LOOK_NORMAL :
			 LOOK_DIM, a);
	}
	x += putf(y, x, -1, LOOK_DIM, "  undo %d", tui_history_undo_depth(&ws->desk.hist));
	return x - x0;
}

/* One line of meters: momentary, short-term, true peak, limiter GR. */
static void ws_draw_meter_line(struct screen *s, int y)
{
	char a[16], b[16], c[16];
	int x = 1;

	x += putf(y, x, -1, LOOK_NORMAL, "M %s  S %s LUFS  ",
		  fmt_db(a, sizeof(a), s->mv.momentary_lufs, false),
		  fmt_db(b, sizeof(b), s->mv.shortterm_lufs, false));
	x += putf(y, x, -1, zone_look(s->mv.true_peak_now_dbtp, -1.0, 0.0), "TP %s dBTP  ",
		  fmt_db(c, sizeof(c), s->mv.true_peak_now_dbtp, false));
	x += putf(y, x, -1, LOOK_NORMAL, "limiter GR %s dB",
		  fmt_db(a, sizeof(a), -fabs(s->snap.limiter_gr_db), false));
	(void)x;
}

/* The editor's screen: title, snapshots, the panel, transport, one line
 * of meters, status, its keys.  Returns false when the editor is off. */
static bool ws_draw_editor(struct screen *s)
{
	struct ws *ws = s->ws;
	struct tui_editor_style st;
	char cur[128];
	int H = LINES;

	if (!ws || !ws->ed.active)
		return false;
	st = ws_style();
	draw_title(s);
	fill(1, 0, COLS, LOOK_NORMAL);
	put(1, 1, 20, LOOK_HEAD, "Chain editor");
	ws_draw_snapbar(s, 1, 16);
	tui_editor_current(&ws->ed, &ws->desk, cur, sizeof(cur));
	put_right(1, COLS - 1, LOOK_BOLD, cur);
	tui_editor_draw(&ws->ed, &ws->desk, &s->snap, s->rate, &st, 2, 1, H - 6, COLS - 2);
	draw_transport(s, H - 4);
	ws_draw_meter_line(s, H - 3);
	draw_status(s, H - 2);
	fill(H - 1, 0, COLS, LOOK_NORMAL);
	{
		static const struct key_help k[] = {
			{ "jk", "move" }, { "hl", "adjust" }, { "HL", "coarse" },
			{ "Enter", "type" }, { "r", "reset" }, { "u", "undo" },
			{ "F1-8", "snap" }, { "Esc", "back" },
		};
		int x = 0;

		for (int i = 0; i < (int)(sizeof(k) / sizeof(k[0])); i++) {
			x += put(H - 1, x, -1, LOOK_KEY, k[i].key);
			x += put(H - 1, x, -1, LOOK_NORMAL, " ");
			x += put(H - 1, x, -1, LOOK_NORMAL, k[i].what);
			x += 1;
		}
	}
	return true;
}

/* Over whatever is drawn: the snapshot bar on the title row, the dialog,
 * a prompt, the recovery offer. */
static void ws_overlay(struct screen *s)
{
	struct ws *ws = s->ws;

	if (!ws || !ws->has_desk || s->too_small)
		return;
	if (!ws->ed.active && (ws->desk.snaps.active >= 0 ||
			       tui_history_undo_depth(&ws->desk.hist) > 0)) {
		/* on the title row, left of the rate, over the end of the output
		 * status (which is cut with an ellipsis anyway) */
		int x = COLS - 41 - (COLS >= 100 ? 8 : 0);

		if (x > 12) {
			fill(0, x - 1, 29, LOOK_TITLE);
			ws_draw_snapbar(s, 0, x);
		}
	}
	if (ws->dlg)
		ws_dlg_draw(s);
	if (ws->prompt_for != WS_PROMPT_NONE)
		ws_prompt_draw(s);
	if (ws->offer_recovery)
		ws_recovery_draw(s);
}

/* ---- lifetime ---- */

static void ws_tick(struct screen *s)
{
	struct ws *ws = s->ws;

	if (!ws || !ws->has_desk)
		return;
	tui_desk_sync(&ws->desk, now_s());
	ws_render_poll(s);
	ws_autosave(s, now_s());
}

static void ws_start(struct screen *s, const struct tui_opts *o)
{
	struct ws *ws = xcalloc(1, sizeof(*ws));
	char dir[900];

	s->ws = ws;
	ws->copy_from = -1;
	ws->lock_fd = -1;
	tui_editor_init(&ws->ed);
	if (tui_desk_init(&ws->desk, s->st) != 0) {
		say(s, LOOK_OVER, 0, "undo and snapshots unavailable: out of memory");
		return;
	}
	ws->has_desk = true;
	if (o->session)
		tui_desk_from_session(&ws->desk, o->session);
	if (o->session_path) {
		snprintf(ws->session_path, sizeof(ws->session_path), "%s", o->session_path);
		s->session_path = ws->session_path;
	}
	/* the recovery file: one per user, owned by the instance that holds
	 * its lock (a second termaster neither autosaves nor offers it) */
	if (ws_state_dir(dir, sizeof(dir))) {
		char lock[1024];

		snprintf(lock, sizeof(lock), "%s/recovery.lock", dir);
		ws->lock_fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
		if (ws->lock_fd >= 0 && flock(ws->lock_fd, LOCK_EX | LOCK_NB) == 0) {
			snprintf(ws->recovery, sizeof(ws->recovery), "%s/recovery.session", dir);
			ws->offer_recovery = access(ws->recovery, F_OK) == 0;
		} else if (ws->lock_fd >= 0) {
			close(ws->lock_fd);
			ws->lock_fd = -1;
		}
	}
	ws->saved_changes = ws->desk.changes;
}

/* clean: the user quit; the recovery file goes.  Otherwise (a signal, the
 * terminal gone) it stays for the next start. */
static void ws_stop(struct screen *s, bool clean)
{
	struct ws *ws = s->ws;

	if (!ws)
		return;
	audio_renderjob_free(&ws->job);
	if (clean && ws->recovery[0] && !ws->offer_recovery)
		unlink(ws->recovery);
	if (ws->lock_fd >= 0)
		close(ws->lock_fd);
	if (ws->has_desk)
		tui_desk_free(&ws->desk);
	free(ws);
	s->ws = NULL;
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

/* TERMASTER_KEYLOG=FILE (tests/bench_keys.sh): per pass of the loop that
 * read keys, "key MS": from poll() returning with them to refresh() done,
 * the screen's own share of a key's latency (the time a key waits for
 * the loop to be scheduled is not in it: the bench measures that end to
 * end through tmux). */
static FILE *keylog;

static void keylog_note(double t_woke)
{
	if (keylog) {
		fprintf(keylog, "key %.3f\n", (now_s() - t_woke) * 1000.0);
		fflush(keylog);
	}
}

static void run_loop(struct screen *s)
{
	double next = now_s();
	const char *kl = getenv("TERMASTER_KEYLOG");

	keylog = kl && kl[0] ? fopen(kl, "w") : NULL;

	while (!s->quit && !got_quit_signal) {
		struct pollfd pfd = { .fd = STDIN_FILENO, .events = POLLIN };
		double t = now_s(), t_woke;
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
		t_woke = now_s();
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
		if (keys)
			keylog_note(t_woke);
	}
	if (keylog)
		fclose(keylog);
	keylog = NULL;
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
	s->rui = xcalloc(1, sizeof(*s->rui));
	s->rui->offset_step = 1;        /* 10 ms */

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
	ws_start(s, o);
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
	ws_stop(s, s->quit);
	audio_studio_free(&s->st);
	restore_signals();
out_free:
	refs_meter_free(&s->meter);
	tui_grid_free(&s->rui->grid);
	free(s->rui);
	free(s->tap);
	free(s->src);
	free(s);
	return ret;
}

/*
 * termaster — the chain editor panel and the EQ / multiband curves.
 */
#include "config.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audio/engine.h"
#include "audio/studio.h"
#include "chain/biquad.h"
#include "chain/chain.h"
#include "tui/apply.h"
#include "tui/editor.h"

/* As chain/eq.c designs them (its EQ_FMAX, EQ_TILT_FMAX, EQ_SHELF_Q_MAX
 * and slope table): highest design frequency and tilt pivot as a share of
 * the rate, the largest shelf Q, the Butterworth order of each slope. */
#define ED_EQ_FMAX 0.49
#define ED_EQ_TILT_FMAX 0.45
#define ED_EQ_SHELF_Q_MAX 2.0
static const unsigned ed_slope_order[] = { 1, 2, 3, 4, 6, 8 };
enum { ED_BELL, ED_LOW_SHELF, ED_HIGH_SHELF, ED_HIGH_PASS, ED_LOW_PASS };

#define ED_LIST_MIN_W 44      /* the rows' column */
#define ED_GRAPH_MIN_W 26
#define ED_FMIN 20.0
#define ED_FMAX 20000.0
#define ED_HZ_FINE 12.0       /* steps per octave */
#define ED_HZ_COARSE 3.0

static float param_value(const struct tui_desk *d, unsigned i)
{
	return audio_studio_settings(d->st)->value[i];
}

static double value_of(const struct chain_settings *s, const char *id)
{
	int i = chain_param_find(id);

	return i >= 0 ? (double)s->value[i] : 0.0;
}

/* ---- the curves ---- */

double tui_editor_eq_db(const struct chain_settings *s, double rate, double f_hz)
{
	double w = 2.0 * M_PI * f_hz / rate, mag2 = 1.0;
	char id[48];

	if (value_of(s, "eq.on") < 0.5 || !(rate > 0))
		return 0.0;
	if (w >= M_PI)
		w = M_PI * 0.999;
	for (int b = 1; b <= 8; b++) {
		struct chain_biquad c[CHAIN_BIQUAD_MAX_SECTIONS];
		unsigned n = 1, type, slope;
		double f, gain, q, w0;

		snprintf(id, sizeof(id), "eq.%d.on", b);
		if (value_of(s, id) < 0.5)
			continue;
		snprintf(id, sizeof(id), "eq.%d.type", b);
		type = (unsigned)value_of(s, id);
		snprintf(id, sizeof(id), "eq.%d.freq_hz", b);
		f = fmin(value_of(s, id), ED_EQ_FMAX * rate);
		snprintf(id, sizeof(id), "eq.%d.gain_db", b);
		gain = value_of(s, id);
		snprintf(id, sizeof(id), "eq.%d.q", b);
		q = value_of(s, id);
		snprintf(id, sizeof(id), "eq.%d.slope_db_oct", b);
		slope = (unsigned)value_of(s, id);
		if (slope > 5)
			slope = 5;
		w0 = 2.0 * M_PI * f / rate;
		switch (type) {
		case ED_BELL:
			chain_biquad_bell(c, w0, gain, q);
			break;
		case ED_LOW_SHELF:
			chain_biquad_low_shelf(c, w0, gain, fmin(q, ED_EQ_SHELF_Q_MAX));
			break;
		case ED_HIGH_SHELF:
			chain_biquad_high_shelf(c, w0, gain, fmin(q, ED_EQ_SHELF_Q_MAX));
			break;
		case ED_HIGH_PASS:
			n = chain_biquad_butter(c, w0, ed_slope_order[slope], 1);
			break;
		default:
			n = chain_biquad_butter(c, w0, ed_slope_order[slope], 0);
			break;
		}
		for (unsigned k = 0; k < n; k++)
			mag2 *= chain_biquad_mag2(&c[k], w);
	}
	if (value_of(s, "eq.tilt_db") != 0.0) {
		struct chain_biquad c;
		double f = fmin(value_of(s, "eq.tilt_hz"), ED_EQ_TILT_FMAX * rate);

		chain_biquad_tilt(&c, 2.0 * M_PI * f / rate, value_of(s, "eq.tilt_db"));
		mag2 *= chain_biquad_mag2(&c, w);
	}
	return mag2 > 1e-30 ? 10.0 * log10(mag2) : -300.0;
}

/* Band b's share of the power at f_hz (of `bands`, crossovers xo[]): LR4
 * = Butterworth², |H_lp|² = 1/(1 + x^4)², |H_hp|² the same with 1/x; a
 * band is the product of its high-pass and low-pass shares. */
static double mb_share(int b, int bands, const double *xo, double f_hz)
{
	double share = 1.0;

	if (b > 0) {
		double x = pow(xo[b - 1] / f_hz, 4.0);

		share *= 1.0 / ((1.0 + x) * (1.0 + x));
	}
	if (b < bands - 1) {
		double x = pow(f_hz / xo[b], 4.0);

		share *= 1.0 / ((1.0 + x) * (1.0 + x));
	}
	return share;
}

double tui_editor_mb_db(const struct chain_settings *s, const float *gr_db, double f_hz)
{
	int bands = (int)value_of(s, "mb.bands");
	double xo[3], sum = 0.0, norm = 0.0;
	char id[48];

	if (bands < 2)
		bands = 2;
	if (bands > 4)
		bands = 4;
	for (int k = 0; k < bands - 1; k++) {
		snprintf(id, sizeof(id), "mb.xover%d_hz", k + 1);
		xo[k] = value_of(s, id);
	}
	for (int b = 0; b < bands; b++) {
		double share = mb_share(b, bands, xo, f_hz), g;

		snprintf(id, sizeof(id), "mb.%d.gain_db", b + 1);
		g = value_of(s, id) - (gr_db ? (double)gr_db[b] : 0.0);
		snprintf(id, sizeof(id), "mb.%d.bypass", b + 1);
		if (value_of(s, id) >= 0.5)
			g = 0.0;
		sum += share * pow(10.0, g / 10.0);
		norm += share;  /* renormalised so a flat setting reads 0 dB */
	}
	if (norm > 0)
		sum /= norm;
	return sum > 1e-30 ? 10.0 * log10(sum) : -300.0;
}

/* ---- the rows ---- */

struct row {
	int key;        /* param index, or -(proc + 1) for a processor */
	unsigned proc;
	int param;      /* -1 on a processor row */
};

#define ED_ROWS_MAX (CHAIN_PARAM_MAX + 16)

/* "eq.3.q" → band 3 and "q"; 0 when the id has no band number. */
static int band_of(const char *id, const char **rest)
{
	const char *dot = strchr(id, '.');

	if (!dot || dot[1] < '1' || dot[1] > '9' || dot[2] != '.')
		return 0;
	*rest = dot + 3;
	return dot[1] - '0';
}

/* Whether parameter i does something in settings s (else it is hidden). */
static bool param_visible(const struct chain_settings *s, unsigned i)
{
	const struct chain_param_info *pi = chain_param_at(i);
	const char *name = chain_proc_ops_at(pi->proc)->name, *rest = "";
	int band = band_of(pi->id, &rest);
	char id[48];

	if (pi->local == CHAIN_LOCAL_ON)
		return false;   /* on the processor's own row */
	if (!strcmp(name, "eq") && band) {
		int type;

		if (!strcmp(rest, "on"))
			return true;
		snprintf(id, sizeof(id), "eq.%d.on", band);
		if (value_of(s, id) < 0.5)
			return false;
		snprintf(id, sizeof(id), "eq.%d.type", band);
		type = (int)value_of(s, id);
		if (!strcmp(rest, "q"))
			return type == ED_BELL || type == ED_LOW_SHELF || type == ED_HIGH_SHELF;
		if (!strcmp(rest, "gain_db"))
			return type == ED_BELL || type == ED_LOW_SHELF || type == ED_HIGH_SHELF;
		if (!strcmp(rest, "slope_db_oct"))
			return type == ED_HIGH_PASS || type == ED_LOW_PASS;
		return true;
	}
	if (!strcmp(name, "mb")) {
		int bands = (int)value_of(s, "mb.bands");

		if (band)
			return band <= bands;
		if (!strncmp(pi->id, "mb.xover", 8))
			return pi->id[8] - '0' < bands;
	}
	return true;
}

static int layout(const struct tui_editor *ed, const struct chain_settings *s, struct row *rows)
{
	int n = 0;

	for (unsigned p = 0; p < chain_proc_count(); p++) {
		rows[n++] = (struct row){ .key = -(int)p - 1, .proc = p, .param = -1 };
		if (p < 16 && ed->folded[p])
			continue;
		for (unsigned i = 0; i < chain_param_count() && n < ED_ROWS_MAX; i++) {
			if (chain_param_at(i)->proc != p || !param_visible(s, i))
				continue;
			rows[n++] = (struct row){ .key = (int)i, .proc = p, .param = (int)i };
		}
	}
	return n;
}

/* The "<proc>.on" parameter of processor p, or -1. */
static int on_param(unsigned p)
{
	char id[48];

	snprintf(id, sizeof(id), "%s.on", chain_proc_ops_at(p)->name);
	return chain_param_find(id);
}

static int find_row(const struct row *rows, int n, int key, int fallback)
{
	for (int r = 0; r < n; r++)
		if (rows[r].key == key)
			return r;
	if (fallback >= n)
		fallback = n - 1;
	return fallback < 0 ? 0 : fallback;
}

/* ---- values ---- */

static int decimals(const struct chain_param *p)
{
	if (p->step >= 1.0f)
		return 0;
	if (p->step >= 0.1f)
		return 1;
	if (p->step >= 0.01f)
		return 2;
	return 3;
}

static void format_value(unsigned i, float v, char *buf, size_t n)
{
	const struct chain_param *p = chain_param_at(i)->param;
	const char *choice = p->choices ? chain_param_choice(i, v) : NULL;

	if (choice)
		snprintf(buf, n, "%s", choice);
	else if (!strcmp(p->unit, "Hz") && v >= 1000.0f)
		snprintf(buf, n, "%.2f kHz", (double)v / 1000.0);
	else
		snprintf(buf, n, "%.*f%s%s", decimals(p), (double)v, p->unit[0] ? " " : "",
			 p->unit);
}

/* One step of parameter i from v: dir -1/+1, coarse or fine. */
static float stepped(unsigned i, float v, int dir, bool coarse)
{
	const struct chain_param *p = chain_param_at(i)->param;
	double nv;

	if (p->choices) {
		nv = v + dir;
		/* choices wrap, so a switch toggles either way */
		if (nv > p->max)
			nv = p->min;
		if (nv < p->min)
			nv = p->max;
		return (float)nv;
	}
	if (!strcmp(p->unit, "Hz") && v > 0.0f && p->min > 0.0f) {
		nv = (double)v * exp2(dir / (coarse ? ED_HZ_COARSE : ED_HZ_FINE));
		/* a round number of Hz, at least one step on */
		nv = dir > 0 ? fmax(round(nv), (double)v + p->step) :
			       fmin(round(nv), (double)v - p->step);
	} else {
		double st = (double)p->step * (coarse ? 10.0 : 1.0);

		nv = (double)v + dir * st;
		/* stay on the step's grid */
		nv = round(nv / (double)p->step) * (double)p->step;
	}
	return chain_param_clamp(i, (float)nv);
}

static void say(struct tui_editor *ed, bool error, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void say(struct tui_editor *ed, bool error, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(ed->msg, sizeof(ed->msg), fmt, ap);
	va_end(ap);
	ed->msg_error = error;
}

static void set(struct tui_editor *ed, struct tui_desk *d, unsigned i, float v, double t)
{
	char a[48];

	if (tui_desk_set_param(d, i, v, t)) {
		say(ed, true, "%s: the engine is busy, try again", chain_param_at(i)->id);
		return;
	}
	format_value(i, param_value(d, i), a, sizeof(a));
	say(ed, false, "%s = %s", chain_param_at(i)->id, a);
}

/* Enter on a typed value: parsed like a session value (numbers in the
 * "C" locale, choices by name), checked against the table. */
static void commit_entry(struct tui_editor *ed, struct tui_desk *d, unsigned i, double t)
{
	struct chain_settings tmp = *audio_studio_settings(d->st);
	char why[256];

	ed->typing = false;
	ed->entry[ed->entry_len] = '\0';
	if (!ed->entry_len) {
		say(ed, false, "nothing typed: unchanged");
		return;
	}
	if (chain_settings_set(&tmp, chain_param_at(i)->id, ed->entry, why, sizeof(why))) {
		say(ed, true, "%s", why);
		return;
	}
	set(ed, d, i, tmp.value[i], t);
}

void tui_editor_init(struct tui_editor *ed)
{
	memset(ed, 0, sizeof(*ed));
	ed->cursor = -1;   /* the first processor */
}

enum tui_editor_result tui_editor_key(struct tui_editor *ed, struct tui_desk *d, int ch,
				      double t)
{
	static struct row rows[ED_ROWS_MAX];
	const struct chain_settings *s = audio_studio_settings(d->st);
	int n = layout(ed, s, rows), r = find_row(rows, n, ed->cursor, ed->cursor_row);
	const struct row *cur = &rows[r];
	int dir = 0;
	bool coarse = false;

	if (ed->typing) {
		if (ch == 27) {
			ed->typing = false;
			say(ed, false, "cancelled");
		} else if (ch == '\n' || ch == '\r' || ch == KEY_ENTER) {
			if (cur->param >= 0)
				commit_entry(ed, d, (unsigned)cur->param, t);
			else
				ed->typing = false;
		} else if (ch == KEY_BACKSPACE || ch == 127 || ch == 8) {
			if (ed->entry_len > 0)
				ed->entry[--ed->entry_len] = '\0';
		} else if (ch >= 0x20 && ch < 0x7f && ed->entry_len < TUI_EDITOR_ENTRY_MAX - 1) {
			ed->entry[ed->entry_len++] = (char)ch;
			ed->entry[ed->entry_len] = '\0';
		}
		return TUI_EDITOR_DONE;
	}
	switch (ch) {
	case 27:
	case 'e':
		return TUI_EDITOR_LEAVE;
	case KEY_UP:
	case 'k':
		r = r > 0 ? r - 1 : 0;
		break;
	case KEY_DOWN:
	case 'j':
		r = r < n - 1 ? r + 1 : n - 1;
		break;
	case KEY_PPAGE:
		r = r > 10 ? r - 10 : 0;
		break;
	case KEY_NPAGE:
		r = r + 10 < n ? r + 10 : n - 1;
		break;
	case KEY_HOME:
		r = 0;
		break;
	case KEY_END:
		r = n - 1;
		break;
	case KEY_LEFT:
	case 'h':
		dir = -1;
		break;
	case KEY_RIGHT:
	case 'l':
		dir = 1;
		break;
	case KEY_SLEFT:
	case 'H':
		dir = -1;
		coarse = true;
		break;
	case KEY_SRIGHT:
	case 'L':
		dir = 1;
		coarse = true;
		break;
	case 'z':
		if (cur->proc < 16) {
			ed->folded[cur->proc] = !ed->folded[cur->proc];
			ed->cursor = -(int)cur->proc - 1;
		}
		return TUI_EDITOR_DONE;
	case '\n':
	case '\r':
	case KEY_ENTER:
	case '=':
		if (cur->param >= 0) {
			ed->typing = true;
			ed->entry_len = 0;
			ed->entry[0] = '\0';
			say(ed, false, "type a value for %s, Enter sets it, Esc cancels",
			    chain_param_at((unsigned)cur->param)->id);
		} else {
			int on = on_param(cur->proc);

			if (on < 0)
				say(ed, false, "%s is always on", chain_proc_ops_at(cur->proc)->label);
			else
				set(ed, d, (unsigned)on, s->value[on] >= 0.5f ? 0.0f : 1.0f, t);
		}
		return TUI_EDITOR_DONE;
	case 'r':
		if (cur->param >= 0) {
			set(ed, d, (unsigned)cur->param,
			    chain_param_at((unsigned)cur->param)->param->def, t);
		} else {
			/* the whole processor, one undo step */
			struct chain_settings ns = *s;

			for (unsigned i = 0; i < chain_param_count(); i++)
				if (chain_param_at(i)->proc == cur->proc)
					ns.value[i] = chain_param_at(i)->param->def;
			if (tui_desk_set_settings(d, &ns, t))
				say(ed, true, "reset: the engine is busy, try again");
			else
				say(ed, false, "%s reset to its defaults",
				    chain_proc_ops_at(cur->proc)->label);
		}
		return TUI_EDITOR_DONE;
	default:
		return TUI_EDITOR_PASS;
	}
	if (dir) {
		int i = cur->param >= 0 ? cur->param : on_param(cur->proc);

		if (i < 0) {
			say(ed, false, "%s is always on", chain_proc_ops_at(cur->proc)->label);
			return TUI_EDITOR_DONE;
		}
		set(ed, d, (unsigned)i, stepped((unsigned)i, s->value[i], dir, coarse), t);
		return TUI_EDITOR_DONE;
	}
	ed->cursor_row = r;
	ed->cursor = rows[r].key;
	return TUI_EDITOR_DONE;
}

void tui_editor_current(const struct tui_editor *ed, const struct tui_desk *d, char *buf,
			size_t n)
{
	char a[48];

	buf[0] = '\0';
	if (ed->cursor < 0 || (unsigned)ed->cursor >= chain_param_count())
		return;
	format_value((unsigned)ed->cursor, param_value(d, (unsigned)ed->cursor), a, sizeof(a));
	snprintf(buf, n, "%s = %s", chain_param_at((unsigned)ed->cursor)->id, a);
}

/* ---- drawing ---- */

/* s in at most w columns (one a character: the editor draws no wide
 * ones); addnstr counts bytes, so the cut is made here. */
static void put(int y, int x, int w, attr_t a, const char *s)
{
	int bytes = 0, chars = 0;

	if (w <= 0)
		return;
	while (s[bytes]) {
		if (((unsigned char)s[bytes] & 0xc0) != 0x80 && ++chars > w)
			break;
		bytes++;
	}
	attrset(a);
	mvaddnstr(y, x, s, bytes);
	attrset(A_NORMAL);
}

/* A short name of parameter i under its processor: "Band 3 gain" → as is,
 * the table's name. */
static const char *param_name(unsigned i)
{
	return chain_param_at(i)->param->name;
}

/* A gain-reduction bar of w cells, 0 … 12 dB. */
static void gr_bar(int y, int x, int w, double gr, const struct tui_editor_style *st)
{
	int cells = (int)lround(fmin(gr, 12.0) / 12.0 * w);

	for (int k = 0; k < w; k++) {
		attrset(k < cells ? (gr > 6 ? st->over : gr > 3 ? st->warn : st->ok) : st->dim);
		mvaddstr(y, x + k, k < cells ? (st->ascii ? "#" : "\u2588") :
					       (st->ascii ? "." : "\u00b7"));
	}
	attrset(A_NORMAL);
}

/* Frequency of graph column c of w (log 20 Hz … 20 kHz, cell centres). */
static double column_hz(int c, int w)
{
	return ED_FMIN * pow(ED_FMAX / ED_FMIN, (c + 0.5) / w);
}

/* A curve in dB against frequency in rows h (title, graph, labels): the
 * 0 dB line in the middle, each column filled from it to the value; the
 * range grows from ±6 dB to ±24 dB to fit, and deeper cuts (a high-pass
 * far below its corner) are clipped at the bottom. */
static void draw_curve(int y, int x, int h, int w, const double *db, const char *title,
		       const struct tui_editor_style *st)
{
	double range = 6.0, cell;
	int zr, rows = h - 2;
	char label[32];

	if (rows < 3 || w < 10)
		return;
	for (int c = 0; c < w; c++)
		while (fabs(db[c]) > range && range < 24.0)
			range *= 2.0;
	put(y, x, w, st->bold, title);
	snprintf(label, sizeof(label), "+%g dB", range);
	put(y, x + w - (int)strlen(label), (int)strlen(label), st->dim, label);
	rows |= 1;              /* odd: the 0 dB row in the middle */
	if (rows > h - 2)
		rows -= 2;
	zr = rows / 2;
	cell = 2.0 * range / rows;
	for (int c = 0; c < w; c++) {
		double v = fmax(-range, fmin(range, db[c]));
		/* cells the bar covers, rounded: half a cell shows */
		int n = (int)floor(fabs(v) / cell + 0.5);

		if (n > zr)
			n = zr;
		for (int r = 0; r < rows; r++) {
			bool filled = v > 0 ? (r < zr && r >= zr - n) : (r > zr && r <= zr + n);

			if (filled)
				put(y + 1 + r, x + c, 1, v > 0 ? st->ok : st->warn,
				    st->ascii ? "#" : "\u2588");
			else if (r == zr)
				put(y + 1 + r, x + c, 1, st->dim, st->ascii ? "-" : "\u2500");
		}
	}
	/* frequency labels under the graph */
	{
		static const double marks[] = { 100.0, 1000.0, 10000.0 };
		static const char *const names[] = { "100", "1k", "10k" };

		for (int k = 0; k < 3; k++) {
			int c = (int)floor(log(marks[k] / ED_FMIN) / log(ED_FMAX / ED_FMIN) * w);

			put(y + rows + 1, x + c, w - c, st->dim, names[k]);
		}
		snprintf(label, sizeof(label), "-%g", range);
		put(y + rows + 1, x, 4, st->dim, label);
	}
}

void tui_editor_draw(struct tui_editor *ed, const struct tui_desk *d,
		     const struct audio_engine_snapshot *snap, double rate,
		     const struct tui_editor_style *st, int y, int x, int h, int w)
{
	static struct row rows[ED_ROWS_MAX];
	const struct chain_settings *s = audio_studio_settings(d->st);
	int n = layout(ed, s, rows), r = find_row(rows, n, ed->cursor, ed->cursor_row);
	int lw = w >= ED_LIST_MIN_W + ED_GRAPH_MIN_W + 2 ? w - ED_GRAPH_MIN_W - 2 -
					(w > 100 ? (w - 100) / 2 : 0) : w;
	int gx = x + lw + 2, gw = x + w - gx;
	const struct row *cur;

	if (lw > 60)
		lw = 60;
	gx = x + lw + 2;
	gw = x + w - gx;
	if (h < 3 || n == 0)
		return;
	ed->cursor_row = r;
	ed->cursor = rows[r].key;
	cur = &rows[r];
	/* keep the cursor in view */
	if (r < ed->top)
		ed->top = r;
	if (r >= ed->top + h)
		ed->top = r - h + 1;
	if (ed->top > n - h)
		ed->top = n - h > 0 ? n - h : 0;
	for (int k = 0; k < h && ed->top + k < n; k++) {
		const struct row *rw = &rows[ed->top + k];
		bool sel = ed->top + k == r;
		int yy = y + k;
		char a[64];

		if (sel) {
			attrset(st->sel);
			mvhline(yy, x, ' ', lw);
			attrset(A_NORMAL);
		}
		if (rw->param < 0) {
			const struct chain_proc_ops *ops = chain_proc_ops_at(rw->proc);
			int on = on_param(rw->proc);
			bool is_on = on < 0 || s->value[on] >= 0.5f;
			unsigned p = rw->proc;

			put(yy, x, 2, sel ? st->sel : st->dim,
			    p < 16 && ed->folded[p] ? "+ " : (st->ascii ? "- " : "\u25be "));
			put(yy, x + 2, 17, sel ? st->sel | A_BOLD : st->bold, ops->label);
			put(yy, x + 20, 4, sel ? st->sel : (is_on ? st->ok : st->dim),
			    on < 0 ? "" : is_on ? "on" : "off");
			if (snap && p < snap->n_procs && ops->gain_reduction_db && is_on) {
				double gr = snap->proc_gr_db[p];

				snprintf(a, sizeof(a), "GR%5.1f", gr);
				if (ops->n_meters <= 1)
					put(yy, x + 24, 8, sel ? st->sel : st->normal, a);
				if (ops->n_meters > 1) {
					/* per band, "GR 2.3  0.7  0.4" in dB */
					int bands = (int)value_of(s, "mb.bands");
					int xx = x + 26;

					put(yy, x + 24, 2, sel ? st->sel : st->normal, "GR");

					for (unsigned m = 0; m < ops->n_meters && (int)m < bands &&
							     m < AUDIO_ENGINE_METERS && xx + 4 <= x + lw; m++) {
						snprintf(a, sizeof(a), "%4.1f", (double)snap->proc_meter[p][m]);
						put(yy, xx, 4, sel ? st->sel : st->dim, a);
						xx += 5;
					}
				} else if (lw >= 40) {
					gr_bar(yy, x + 33, lw - 33 > 12 ? 12 : lw - 33, gr, st);
				}
			}
		} else {
			unsigned i = (unsigned)rw->param;

			put(yy, x + 4, lw - 20, sel ? st->sel : st->normal, param_name(i));
			if (sel && ed->typing) {
				snprintf(a, sizeof(a), "[%s_]", ed->entry);
				put(yy, x + lw - 16, 16, st->key, a);
			} else {
				format_value(i, s->value[i], a, sizeof(a));
				put(yy, x + lw - 16, 16,
				    sel ? st->sel | A_BOLD :
				    s->value[i] != chain_param_at(i)->param->def ? st->bold : st->dim, a);
			}
		}
	}
	/* the graph beside: the curve of the processor under the cursor */
	if (gw >= ED_GRAPH_MIN_W) {
		const char *name = chain_proc_ops_at(cur->proc)->name;
		int gh = h < 14 ? h : 14;
		double db[128];
		int cw = gw > 128 ? 128 : gw;

		if (!strcmp(name, "mb")) {
			float gr[4] = { 0, 0, 0, 0 };

			if (snap && cur->proc < snap->n_procs)
				for (int b = 0; b < 4 && b < AUDIO_ENGINE_METERS; b++)
					gr[b] = snap->proc_meter[cur->proc][b];
			for (int c = 0; c < cw; c++)
				db[c] = tui_editor_mb_db(s, gr, column_hz(c, cw));
			draw_curve(y, gx, gh, cw, db, "Multiband (gain - GR)", st);
		} else {
			for (int c = 0; c < cw; c++)
				db[c] = tui_editor_eq_db(s, rate, column_hz(c, cw));
			draw_curve(y, gx, gh, cw, db, "EQ response", st);
		}
		/* gain reduction of every processor that reduces gain */
		if (h >= gh + 3 && snap) {
			int yy = y + gh + 1;

			for (unsigned p = 0; p < chain_proc_count() && yy < y + h; p++) {
				const struct chain_proc_ops *ops = chain_proc_ops_at(p);
				char a[32];

				if (!ops->gain_reduction_db || p >= snap->n_procs)
					continue;
				snprintf(a, sizeof(a), "%-10.10s %4.1f", ops->label,
					 (double)snap->proc_gr_db[p]);
				put(yy, gx, 16, st->normal, a);
				if (cw > 18)
					gr_bar(yy, gx + 17, cw - 17 > 14 ? 14 : cw - 17,
					       snap->proc_gr_db[p], st);
				yy++;
			}
		}
	}
}

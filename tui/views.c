/*
 * termaster — the comparison views laid out as character cells
 * (see views.h for the scales and the glyphs).
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "refs/spectrum.h"
#include "tui/views.h"

/* lower blocks: [k] fills k eighths of a cell from the bottom */
static const char *const lower_utf8[9] = {
    "", "\u2581", "\u2582", "\u2583", "\u2584", "\u2585", "\u2586", "\u2587", "\u2588",
};
#define SHADE_UTF8 "\u2592" /* ▒: the reference's full cells */
#define AXIS_UTF8  "\u2502" /* │ */
#define MARK_UTF8  "\u25b2" /* ▲ */

/* ---- the grid ---- */

int tui_grid_init(struct tui_grid *g, int w, int h, bool utf8)
{
	memset(g, 0, sizeof(*g));
	if (w <= 0 || h <= 0)
		return TUI_VIEWS_ERROR_SIZE;
	g->cells = calloc((size_t)w * (size_t)h, sizeof(*g->cells));
	if (!g->cells)
		return TUI_VIEWS_ERROR_NOMEM;
	g->w = w;
	g->h = h;
	g->utf8 = utf8;
	return TUI_VIEWS_OK;
}

void tui_grid_free(struct tui_grid *g)
{
	free(g->cells);
	memset(g, 0, sizeof(*g));
}

void tui_grid_clear(struct tui_grid *g)
{
	if (g->cells)
		memset(g->cells, 0, (size_t)g->w * (size_t)g->h * sizeof(*g->cells));
}

struct tui_cell *tui_grid_at(const struct tui_grid *g, int x, int y)
{
	if (!g->cells || x < 0 || y < 0 || x >= g->w || y >= g->h)
		return NULL;
	return &g->cells[(size_t)y * (size_t)g->w + (size_t)x];
}

static void set(struct tui_grid *g, int x, int y, enum tui_ink ink, const char *glyph, bool rev)
{
	struct tui_cell *c = tui_grid_at(g, x, y);

	if (!c)
		return;
	snprintf(c->g, sizeof(c->g), "%s", glyph);
	c->ink = (unsigned char)ink;
	c->rev = rev;
}

/* Bytes of the UTF-8 character starting at s (1 for anything invalid). */
static int char_len(const unsigned char *s)
{
	int n = *s < 0x80 ? 1 : (*s >> 5) == 6 ? 2 : (*s >> 4) == 14 ? 3 : (*s >> 3) == 30 ? 4 : 1;

	for (int i = 1; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 1;
	return n;
}

int tui_grid_text(struct tui_grid *g, int x, int y, enum tui_ink ink, const char *s)
{
	int cells = 0;

	while (s && *s && x < g->w) {
		int n = char_len((const unsigned char *)s);
		char one[5];

		/* outside UTF-8 a multibyte character is a '?' (views.h: ASCII
		 * mode never writes a byte >= 0x80) */
		if (!g->utf8 && (n > 1 || (unsigned char)*s >= 0x80))
			snprintf(one, sizeof(one), "?");
		else
			snprintf(one, sizeof(one), "%.*s", n, s);
		if (x >= 0)
			set(g, x, y, ink, one, false);
		s += n;
		x++;
		cells++;
	}
	return cells;
}

int tui_grid_row(const struct tui_grid *g, int y, char *buf, size_t n)
{
	size_t o = 0;

	if (n == 0)
		return -1;
	for (int x = 0; x < g->w; x++) {
		const struct tui_cell *c = tui_grid_at(g, x, y);
		const char *s = c && c->g[0] ? c->g : " ";
		size_t k = strlen(s);

		if (o + k + 1 > n)
			return -1;
		memcpy(buf + o, s, k);
		o += k;
	}
	buf[o] = '\0';
	return (int)o;
}

/* ---- bars ---- */

int tui_views_steps(const struct tui_grid *g)
{
	return g->utf8 ? 8 : 1;
}

int tui_views_bar_steps(const struct tui_grid *g, double v, double lo, double hi, int h)
{
	int total = h * tui_views_steps(g);
	double f;
	long s;

	if (isnan(v) || h <= 0 || !(hi > lo))
		return -1;
	f = (v - lo) / (hi - lo);
	if (f <= 0)
		return 0;
	if (f >= 1)
		return total;
	s = lround(f * total);
	return (int)(s > total ? total : s);
}

static const char *full_glyph(const struct tui_grid *g, enum tui_ink ink)
{
	if (!g->utf8)
		return ink == TUI_INK_REF    ? ":"
		       : ink == TUI_INK_UP   ? "+"
		       : ink == TUI_INK_DOWN ? "-"
		                             : "#";
	return ink == TUI_INK_REF ? SHADE_UTF8 : lower_utf8[8];
}

void tui_views_bar(struct tui_grid *g, int x, int y, int h, double v, double lo, double hi,
                   enum tui_ink ink)
{
	int steps = tui_views_steps(g), s = tui_views_bar_steps(g, v, lo, hi, h);
	int full, part;

	if (s <= 0)
		return;
	full = s / steps;
	part = s % steps;
	for (int i = 0; i < full; i++)
		set(g, x, y + h - 1 - i, ink, full_glyph(g, ink), false);
	if (part > 0)
		set(g, x, y + h - 1 - full, ink, lower_utf8[part], false);
}

void tui_views_diff_bar(struct tui_grid *g, int x, int y, int h, double v, double range)
{
	int steps = tui_views_steps(g), half = h / 2, s, full, part;
	bool up = v > 0;

	if (isnan(v) || half <= 0 || !(range > 0))
		return;
	s = tui_views_bar_steps(g, fabs(v), 0.0, range, half);
	if (s <= 0)
		return;
	full = s / steps;
	part = s % steps;
	if (up) {
		for (int i = 0; i < full; i++)
			set(g, x, y + half - 1 - i, TUI_INK_UP, full_glyph(g, TUI_INK_UP), false);
		if (part > 0)
			set(g, x, y + half - 1 - full, TUI_INK_UP, lower_utf8[part], false);
	} else {
		for (int i = 0; i < full; i++)
			set(g, x, y + half + i, TUI_INK_DOWN, full_glyph(g, TUI_INK_DOWN), false);
		/* the top `part` eighths: the other lower block, reversed */
		if (part > 0)
			set(g, x, y + half + full, TUI_INK_DOWN, lower_utf8[steps - part], true);
	}
}

double tui_views_db_per_cell(double span, int rows)
{
	static const double tidy[] = {1, 2, 3, 4, 5, 6, 8, 10, 12, 15, 20};
	size_t i;

	if (rows <= 0)
		return tidy[sizeof(tidy) / sizeof(tidy[0]) - 1];
	for (i = 0; i < sizeof(tidy) / sizeof(tidy[0]) - 1; i++)
		if (tidy[i] * rows >= span)
			break;
	return tidy[i];
}

/* ---- shared pieces ---- */

#define MARGIN 11 /* name (6) + scale number (4) + axis (1) */

static bool usable(double v)
{
	return isfinite(v) && v > REFS_SPECTRUM_FLOOR_DB + 1.0;
}

/* Left margin of a panel: its name on the first row, the scale number at
 * the top edge of every other row, the axis. */
static void margin(struct tui_grid *g, int y, int h, const char *name, double hi, double dpc)
{
	tui_grid_text(g, 0, y, TUI_INK_TEXT, name);
	for (int r = 0; r < h; r++) {
		char num[16];
		double v = hi - r * dpc;

		if (r % 2 == 0) {
			/* never "-0" */
			snprintf(num, sizeof(num), "%4.0f", fabs(v) < 0.5 ? 0.0 : v);
			if (strlen(num) <= 4)
				tui_grid_text(g, MARGIN - 5, y + r, TUI_INK_AXIS, num);
		}
		tui_grid_text(g, MARGIN - 1, y + r, TUI_INK_AXIS, g->utf8 ? AXIS_UTF8 : "|");
	}
}

/* The margin of a difference panel: +range by its top edge, -range by
 * its bottom edge (the zero line runs through the middle). */
static void diff_margin(struct tui_grid *g, int y, int h, const char *name, double range)
{
	char num[16];

	tui_grid_text(g, 0, y, TUI_INK_TEXT, name);
	for (int r = 0; r < h; r++)
		tui_grid_text(g, MARGIN - 1, y + r, TUI_INK_AXIS, g->utf8 ? AXIS_UTF8 : "|");
	snprintf(num, sizeof(num), "%+4.0f", range);
	if (strlen(num) <= 4)
		tui_grid_text(g, MARGIN - 5, y, TUI_INK_AXIS, num);
	snprintf(num, sizeof(num), "%+4.0f", -range);
	if (strlen(num) <= 4)
		tui_grid_text(g, MARGIN - 5, y + h - 1, TUI_INK_AXIS, num);
}

/* "██ MIX after  ▒▒ REF 2" from column x; returns the next column. */
static int legend(struct tui_grid *g, int x, int y, const char *mix, const char *ref)
{
	x += tui_grid_text(g, x, y, TUI_INK_MIX, g->utf8 ? "\u2588\u2588" : "##");
	x += 1 + tui_grid_text(g, x + 1, y, TUI_INK_TEXT, mix);
	if (ref) {
		x += 2;
		x += tui_grid_text(g, x, y, TUI_INK_REF, g->utf8 ? SHADE_UTF8 SHADE_UTF8 : "::");
		x += 1 + tui_grid_text(g, x + 1, y, TUI_INK_TEXT, ref);
	}
	return x;
}

static int too_small(struct tui_grid *g, int min_w, int min_h)
{
	char t[96];

	tui_grid_clear(g);
	snprintf(t, sizeof(t), "this view needs %dx%d cells (enlarge the window)", min_w, min_h);
	tui_grid_text(g, 0, 0, TUI_INK_DIM, t);
	return TUI_VIEWS_ERROR_SIZE;
}

/* ---- tonal balance ---- */

static void range_of(const double *a, int n, double *lo, double *hi)
{
	for (int i = 0; a && i < n; i++) {
		if (!usable(a[i]))
			continue;
		if (a[i] < *lo)
			*lo = a[i];
		if (a[i] > *hi)
			*hi = a[i];
	}
}

int tui_views_tonal(struct tui_grid *g, const struct tui_tonal_in *in, struct tui_tonal_geom *geom)
{
	struct tui_tonal_geom gm;
	const int n = TUI_TONAL_BANDS;
	double mid_min = HUGE_VAL, mid_max = -HUGE_VAL, side_min = HUGE_VAL, side_max = -HUGE_VAL;
	double span, max_diff = 0;
	bool have_ref = in->ref_mid && in->ref_side && in->ref_name;
	char head[160];
	int x;

	memset(&gm, 0, sizeof(gm));
	if (geom)
		*geom = gm;
	if (g->w < TUI_TONAL_MIN_W || g->h < TUI_TONAL_MIN_H)
		return too_small(g, TUI_TONAL_MIN_W, TUI_TONAL_MIN_H);
	tui_grid_clear(g);

	gm.x0 = MARGIN;
	gm.band_w = (g->w - MARGIN) / n >= 3 ? 3 : 2;
	gm.diff_h = g->h >= 20 ? 4 : 2;
	gm.graph_h = (g->h - 2 - 2 * gm.diff_h) / 2;
	gm.mid_y = 1;
	gm.dmid_y = gm.mid_y + gm.graph_h;
	gm.side_y = gm.dmid_y + gm.diff_h;
	gm.dside_y = gm.side_y + gm.graph_h;
	gm.label_y = gm.dside_y + gm.diff_h;

	/* scales: one dB per row for both graphs (their tops differ), at most
	 * 48 dB shown below the loudest band */
	range_of(in->mix_mid, n, &mid_min, &mid_max);
	range_of(in->mix_side, n, &side_min, &side_max);
	if (have_ref) {
		range_of(in->ref_mid, n, &mid_min, &mid_max);
		range_of(in->ref_side, n, &side_min, &side_max);
	}
	if (!(mid_max > mid_min))
		mid_min = mid_max = 0;
	if (!(side_max > side_min))
		side_min = side_max = mid_max;
	span = fmax(fmin(mid_max - mid_min, 48.0), fmin(side_max - side_min, 48.0));
	gm.mid_db_per_cell = gm.side_db_per_cell = tui_views_db_per_cell(span, gm.graph_h);
	gm.mid_hi = ceil(mid_max / gm.mid_db_per_cell - 1e-9) * gm.mid_db_per_cell;
	gm.mid_lo = gm.mid_hi - gm.mid_db_per_cell * gm.graph_h;
	gm.side_hi = ceil(side_max / gm.side_db_per_cell - 1e-9) * gm.side_db_per_cell;
	gm.side_lo = gm.side_hi - gm.side_db_per_cell * gm.graph_h;
	if (have_ref) {
		for (int b = 0; b < n; b++) {
			if (usable(in->mix_mid[b]) && usable(in->ref_mid[b]))
				max_diff = fmax(max_diff, fabs(in->mix_mid[b] - in->ref_mid[b]));
			if (usable(in->mix_side[b]) && usable(in->ref_side[b]))
				max_diff = fmax(max_diff, fabs(in->mix_side[b] - in->ref_side[b]));
		}
	}
	gm.diff_db_per_cell = tui_views_db_per_cell(fmin(max_diff, 24.0), gm.diff_h / 2);
	gm.diff_range_db = gm.diff_db_per_cell * (gm.diff_h / 2);

	snprintf(head, sizeof(head), "Tonal 1/3 oct, %s, %g dB/row  ",
	         in->region ? in->region : "whole track", gm.mid_db_per_cell);
	x = tui_grid_text(g, 0, 0, TUI_INK_TEXT, head);
	legend(g, x, 0, in->mix_name ? in->mix_name : "MIX", have_ref ? in->ref_name : NULL);

	margin(g, gm.mid_y, gm.graph_h, "Mid", gm.mid_hi, gm.mid_db_per_cell);
	margin(g, gm.side_y, gm.graph_h, "Side", gm.side_hi, gm.side_db_per_cell);
	diff_margin(g, gm.dmid_y, gm.diff_h, have_ref ? "M diff" : "", gm.diff_range_db);
	diff_margin(g, gm.dside_y, gm.diff_h, have_ref ? "S diff" : "", gm.diff_range_db);
	for (int b = 0; b < n; b++) {
		int bx = gm.x0 + b * gm.band_w;
		double dm = NAN, ds = NAN;

		tui_views_bar(g, bx, gm.mid_y, gm.graph_h,
		              usable(in->mix_mid[b]) ? in->mix_mid[b] : NAN, gm.mid_lo, gm.mid_hi,
		              TUI_INK_MIX);
		tui_views_bar(g, bx, gm.side_y, gm.graph_h,
		              usable(in->mix_side[b]) ? in->mix_side[b] : NAN, gm.side_lo,
		              gm.side_hi, TUI_INK_MIX);
		if (!have_ref)
			continue;
		tui_views_bar(g, bx + 1, gm.mid_y, gm.graph_h,
		              usable(in->ref_mid[b]) ? in->ref_mid[b] : NAN, gm.mid_lo, gm.mid_hi,
		              TUI_INK_REF);
		tui_views_bar(g, bx + 1, gm.side_y, gm.graph_h,
		              usable(in->ref_side[b]) ? in->ref_side[b] : NAN, gm.side_lo,
		              gm.side_hi, TUI_INK_REF);
		if (usable(in->mix_mid[b]) && usable(in->ref_mid[b]))
			dm = in->mix_mid[b] - in->ref_mid[b];
		if (usable(in->mix_side[b]) && usable(in->ref_side[b]))
			ds = in->mix_side[b] - in->ref_side[b];
		/* the difference under both of the band's bars */
		for (int k = 0; k < 2; k++) {
			tui_views_diff_bar(g, bx + k, gm.dmid_y, gm.diff_h, dm, gm.diff_range_db);
			tui_views_diff_bar(g, bx + k, gm.dside_y, gm.diff_h, ds, gm.diff_range_db);
		}
	}
	if (!have_ref || in->note)
		tui_grid_text(
		    g, gm.x0 + 2, gm.dmid_y + gm.diff_h / 2 - (gm.diff_h > 2 ? 1 : 0), TUI_INK_DIM,
		    in->note ? in->note : "no reference to compare with: add one with a, play it");

	/* octave labels under their band's first column */
	tui_grid_text(g, 0, gm.label_y, TUI_INK_AXIS, "Hz");
	for (int b = 2; b < n; b += 3)
		tui_grid_text(g, gm.x0 + b * gm.band_w, gm.label_y, TUI_INK_AXIS,
		              refs_spectrum_label(b));
	if (geom)
		*geom = gm;
	return TUI_VIEWS_OK;
}

/* ---- loudness over time ---- */

double tui_views_loud_column(const struct tui_loud_series *s, double s_per_col, int c)
{
	double t0, t1, sum = 0;
	long i0, i1;
	int count = 0;

	if (!s->short_term || s->n <= 0 || !(s->hop_s > 0) || !(s_per_col > 0))
		return NAN;
	t0 = c * s_per_col + s->shift_s;
	t1 = (c + 1) * s_per_col + s->shift_s;
	i0 = (long)ceil(t0 / s->hop_s - 1e-9);
	i1 = (long)ceil(t1 / s->hop_s - 1e-9) - 1;
	if (i1 < i0) /* columns finer than the hop: the nearest value */
		i0 = i1 = (long)floor((t0 + t1) / 2 / s->hop_s);
	if (i0 < 0)
		i0 = 0;
	if (i1 >= s->n)
		i1 = s->n - 1;
	for (long i = i0; i <= i1; i++) {
		if (isfinite(s->short_term[i])) {
			sum += s->short_term[i];
			count++;
		}
	}
	return count ? sum / count : NAN;
}

static void loud_numbers(struct tui_grid *g, int y, const struct tui_loud_series *s, bool ref)
{
	char t[160];

	tui_grid_text(g, 0, y, ref ? TUI_INK_REF : TUI_INK_MIX,
	              g->utf8 ? (ref ? SHADE_UTF8 : "\u2588") : (ref ? ":" : "#"));
	snprintf(t, sizeof(t), "%.9s", s->name ? s->name : "");
	tui_grid_text(g, 2, y, TUI_INK_TEXT, t);
	if (!s->valid) {
		tui_grid_text(g, MARGIN + 1, y, TUI_INK_DIM, "not measured yet");
		return;
	}
	snprintf(t, sizeof(t), "I %6.1f LUFS   LRA %5.1f LU   PLR %5.1f dB   TP %6.1f dBTP",
	         isfinite(s->integrated_lufs) ? s->integrated_lufs : -99.9,
	         isfinite(s->lra_lu) ? s->lra_lu : 0.0, isfinite(s->plr_db) ? s->plr_db : 0.0,
	         isfinite(s->true_peak_dbtp) ? s->true_peak_dbtp : -99.9);
	tui_grid_text(g, MARGIN + 1, y, TUI_INK_TEXT, t);
}

static double series_end_s(const struct tui_loud_series *s)
{
	return s->short_term && s->n > 0 ? s->n * s->hop_s - s->shift_s : 0.0;
}

static void series_range(const struct tui_loud_series *s, double *lo, double *hi)
{
	for (int i = 0; s->short_term && i < s->n; i++) {
		double v = s->short_term[i];

		if (!isfinite(v))
			continue;
		*lo = fmin(*lo, v);
		*hi = fmax(*hi, v);
	}
}

static void time_label(char *buf, size_t n, double t)
{
	int s = (int)fmin(fmax(round(t), 0.0), 359999.0);

	snprintf(buf, n, "%d:%02d", s / 60, s % 60);
}

int tui_views_loudness(struct tui_grid *g, const struct tui_loud_in *in, struct tui_loud_geom *geom)
{
	struct tui_loud_geom gm;
	bool have_ref = in->ref.name != NULL;
	double lo = HUGE_VAL, hi = -HUGE_VAL, len = in->length_s, span;
	char head[160];
	int x, last_label = -100;

	memset(&gm, 0, sizeof(gm));
	if (geom)
		*geom = gm;
	if (g->w < TUI_LOUD_MIN_W || g->h < TUI_LOUD_MIN_H)
		return too_small(g, TUI_LOUD_MIN_W, TUI_LOUD_MIN_H);
	tui_grid_clear(g);

	gm.x0 = MARGIN;
	gm.graph_w = g->w - MARGIN - 1;
	gm.graph_h = (g->h - 4) / 2;
	gm.mix_y = 1;
	gm.ref_y = gm.mix_y + gm.graph_h;
	gm.axis_y = gm.ref_y + gm.graph_h;
	gm.numbers_y = gm.axis_y + 1;
	if (!(len > 0))
		len = fmax(series_end_s(&in->mix), have_ref ? series_end_s(&in->ref) : 0.0);
	if (!(len > 0))
		len = 1.0;
	gm.s_per_col = len / gm.graph_w;

	series_range(&in->mix, &lo, &hi);
	if (have_ref)
		series_range(&in->ref, &lo, &hi);
	if (!(hi >= lo)) {
		lo = -30;
		hi = -10;
	}
	span = fmax(fmin(hi - lo, 40.0), 6.0);
	gm.db_per_cell = tui_views_db_per_cell(span, gm.graph_h);
	gm.hi = ceil(hi / gm.db_per_cell - 1e-9) * gm.db_per_cell;
	gm.lo = gm.hi - gm.db_per_cell * gm.graph_h;

	snprintf(head, sizeof(head), "Short-term loudness, LUFS, %g LU/row  ", gm.db_per_cell);
	x = tui_grid_text(g, 0, 0, TUI_INK_TEXT, head);
	legend(g, x, 0, in->mix.name ? in->mix.name : "MIX", have_ref ? in->ref.name : NULL);

	margin(g, gm.mix_y, gm.graph_h, "Mix", gm.hi, gm.db_per_cell);
	margin(g, gm.ref_y, gm.graph_h, have_ref ? "Ref" : "", gm.hi, gm.db_per_cell);
	for (int c = 0; c < gm.graph_w; c++) {
		tui_views_bar(g, gm.x0 + c, gm.mix_y, gm.graph_h,
		              tui_views_loud_column(&in->mix, gm.s_per_col, c), gm.lo, gm.hi,
		              TUI_INK_MIX);
		if (have_ref)
			tui_views_bar(g, gm.x0 + c, gm.ref_y, gm.graph_h,
			              tui_views_loud_column(&in->ref, gm.s_per_col, c), gm.lo,
			              gm.hi, TUI_INK_REF);
	}
	if (!have_ref || in->note)
		tui_grid_text(g, gm.x0 + 2, gm.ref_y + gm.graph_h / 2, TUI_INK_DIM,
		              in->note ? in->note
		                       : "no reference to compare with: add one with a, play it");

	/* time labels every 10 columns or more, on tidy seconds */
	tui_grid_text(g, 0, gm.axis_y, TUI_INK_AXIS, "time");
	for (int c = 0; c < gm.graph_w; c++) {
		char t[16];
		double step = gm.s_per_col * 10;
		double tidy[] = {1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 1200, 3600};
		double every = tidy[11];
		double t0 = c * gm.s_per_col, t1 = (c + 1) * gm.s_per_col;
		long k;

		for (size_t i = 0; i < sizeof(tidy) / sizeof(tidy[0]); i++) {
			if (tidy[i] >= step) {
				every = tidy[i];
				break;
			}
		}
		/* a tidy time falls in this column */
		k = (long)ceil(t0 / every - 1e-9);
		if (k * every >= t1 || c < last_label + 2)
			continue;
		time_label(t, sizeof(t), k * every);
		if (gm.x0 + c + (int)strlen(t) > g->w)
			continue;
		tui_grid_text(g, gm.x0 + c, gm.axis_y, TUI_INK_AXIS, t);
		last_label = c + (int)strlen(t);
	}
	if (in->playhead_s >= 0 && in->playhead_s <= len) {
		int c = (int)(in->playhead_s / gm.s_per_col);

		if (c >= gm.graph_w)
			c = gm.graph_w - 1;
		tui_grid_text(g, gm.x0 + c, gm.axis_y, TUI_INK_MARK, g->utf8 ? MARK_UTF8 : "^");
	}
	loud_numbers(g, gm.numbers_y, &in->mix, false);
	if (have_ref)
		loud_numbers(g, gm.numbers_y + 1, &in->ref, true);
	if (geom)
		*geom = gm;
	return TUI_VIEWS_OK;
}

/*
 * termaster — tests for tui/views.c: the comparison views' geometry.
 *
 * The grid is read back the way a reader of the screen would: a column's
 * height is counted from its glyphs (a full block 8 eighths, a lower
 * block k eighths; '#' or ':' one cell in ASCII) and turned back into dB
 * with the scale the view states.  That must land within half a drawing
 * step of the value put in (1/16 cell in UTF-8, half a cell in ASCII):
 * tighter than the one cell views.h promises.
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "refs/spectrum.h"
#include "tests/util.h"
#include "tui/views.h"

/* Eighths a glyph fills from the bottom (ASCII: 8 per filled cell), or -1
 * for a glyph that is not part of a bar. */
static int glyph_eighths(const struct tui_cell *c)
{
	static const char *const lower[9] = {
	    "", "\u2581", "\u2582", "\u2583", "\u2584", "\u2585", "\u2586", "\u2587", "\u2588",
	};

	if (!c->g[0])
		return 0;
	if (!strcmp(c->g, "#") || !strcmp(c->g, ":") || !strcmp(c->g, "\u2592"))
		return 8;
	for (int k = 1; k <= 8; k++)
		if (!strcmp(c->g, lower[k]))
			return k;
	return -1;
}

/* Height of the bar in column x, rows y … y+h-1, in cells. */
static double column_cells(const struct tui_grid *g, int x, int y, int h, int ink)
{
	int e = 0;

	for (int r = 0; r < h; r++) {
		const struct tui_cell *c = tui_grid_at(g, x, y + r);
		int k = glyph_eighths(c);

		if (k < 0 || (k > 0 && c->ink != ink))
			return -1;
		e += k;
	}
	return e / 8.0;
}

/* Signed height of a difference bar (cells above the zero line minus
 * cells below), read from the glyphs and the reverse flag. */
static double diff_cells(const struct tui_grid *g, int x, int y, int h)
{
	int half = h / 2, up = 0, down = 0;

	for (int r = 0; r < h; r++) {
		const struct tui_cell *c = tui_grid_at(g, x, y + r);
		int k = glyph_eighths(c);

		if (!strcmp(c->g, "+") || !strcmp(c->g, "-"))
			k = 8;
		if (k <= 0)
			continue;
		if (r < half)
			up += k;
		else
			down += c->rev ? 8 - k : k;
	}
	return (up - down) / 8.0;
}

static bool row_has(const struct tui_grid *g, int y, const char *s)
{
	char buf[2048];

	return tui_grid_row(g, y, buf, sizeof(buf)) >= 0 && strstr(buf, s) != NULL;
}

/* The text starting at cell x of row y (ASCII cells). */
static bool text_at(const struct tui_grid *g, int x, int y, const char *s)
{
	for (size_t i = 0; s[i]; i++) {
		const struct tui_cell *c = tui_grid_at(g, x + (int)i, y);

		if (!c || c->g[0] != s[i] || c->g[1])
			return false;
	}
	return true;
}

static bool all_ascii(const struct tui_grid *g)
{
	for (int y = 0; y < g->h; y++)
		for (int x = 0; x < g->w; x++)
			for (const char *p = tui_grid_at(g, x, y)->g; *p; p++)
				if ((unsigned char)*p >= 0x80)
					return false;
	return true;
}

static void test_bar_steps(void)
{
	struct tui_grid u, a;

	tui_grid_init(&u, 10, 10, true);
	tui_grid_init(&a, 10, 10, false);
	/* 0 … 40 dB over 5 rows: 8 dB per cell */
	for (int k = 0; k <= 40; k++) {
		ASSERT_INT("utf8: 1 dB is one eighth here", k,
		           tui_views_bar_steps(&u, k, 0, 40, 5));
	}
	ASSERT_INT("utf8 half step rounds up", 1, tui_views_bar_steps(&u, 0.5, 0, 40, 5));
	ASSERT_INT("utf8 below half a step", 0, tui_views_bar_steps(&u, 0.49, 0, 40, 5));
	ASSERT_INT("ascii whole cells", 2, tui_views_bar_steps(&a, 16, 0, 40, 5));
	ASSERT_INT("ascii rounds to the nearer cell", 3, tui_views_bar_steps(&a, 20.1, 0, 40, 5));
	ASSERT_INT("below the scale", 0, tui_views_bar_steps(&u, -5, 0, 40, 5));
	ASSERT_INT("above the scale", 40, tui_views_bar_steps(&u, 99, 0, 40, 5));
	ASSERT_INT("NAN", -1, tui_views_bar_steps(&u, NAN, 0, 40, 5));
	ASSERT_CLOSE("tidy scale 30 dB / 5 rows", 6, tui_views_db_per_cell(30, 5), 0);
	ASSERT_CLOSE("tidy scale 31 dB / 5 rows", 8, tui_views_db_per_cell(31, 5), 0);
	ASSERT_CLOSE("tidy scale 1 dB / 3 rows", 1, tui_views_db_per_cell(1, 3), 0);

	/* a bar of 2.375 cells: two full blocks and a 3/8 block */
	tui_views_bar(&u, 3, 0, 5, 19.0, 0, 40, TUI_INK_MIX);
	ASSERT_TRUE("full block", !strcmp(tui_grid_at(&u, 3, 4)->g, "\u2588"));
	ASSERT_TRUE("full block 2", !strcmp(tui_grid_at(&u, 3, 3)->g, "\u2588"));
	ASSERT_TRUE("3/8 block", !strcmp(tui_grid_at(&u, 3, 2)->g, "\u2583"));
	ASSERT_TRUE("empty above", tui_grid_at(&u, 3, 1)->g[0] == '\0');
	/* a difference of -1.25 cells: one full cell down, then the top 2/8
	 * of the next as a reversed 6/8 block */
	tui_views_diff_bar(&u, 5, 0, 4, -2.5, 4.0);
	ASSERT_TRUE("diff: nothing above zero", tui_grid_at(&u, 5, 1)->g[0] == '\0');
	ASSERT_TRUE("diff: full down", !strcmp(tui_grid_at(&u, 5, 2)->g, "\u2588"));
	ASSERT_TRUE("diff: reversed 6/8",
	            !strcmp(tui_grid_at(&u, 5, 3)->g, "\u2586") && tui_grid_at(&u, 5, 3)->rev);
	ASSERT_CLOSE("diff read back", -1.25, diff_cells(&u, 5, 0, 4), 1e-9);
	tui_grid_free(&u);
	tui_grid_free(&a);
}

static void test_tonal(bool utf8, int w, int h)
{
	double mm[TUI_TONAL_BANDS], ms[TUI_TONAL_BANDS], rm[TUI_TONAL_BANDS], rs[TUI_TONAL_BANDS];
	struct tui_tonal_in in;
	struct tui_tonal_geom gm;
	struct tui_grid g;
	double step = utf8 ? 1.0 / 16 : 0.5; /* half a drawing step, in cells */
	char head[32];

	/* a tilt with a bump, the reference brighter, side 12 dB down */
	for (int b = 0; b < TUI_TONAL_BANDS; b++) {
		mm[b] = -8.0 - 0.7 * b + (b == 10 ? 4.0 : 0.0);
		rm[b] = mm[b] - 3.0 + 0.25 * b;
		ms[b] = mm[b] - 12.0;
		rs[b] = rm[b] - 9.5;
	}
	mm[30] = NAN; /* above Nyquist: nothing drawn */
	memset(&in, 0, sizeof(in));
	in.mix_mid = mm;
	in.mix_side = ms;
	in.ref_mid = rm;
	in.ref_side = rs;
	in.mix_name = "MIX after";
	in.ref_name = utf8 ? "REF 2" : "REF 2 Bj\xc3\xb6rk";
	in.region = "whole track";
	ASSERT_INT("grid", 0, tui_grid_init(&g, w, h, utf8));
	ASSERT_INT("tonal drawn", 0, tui_views_tonal(&g, &in, &gm));
	ASSERT_TRUE("graphs have rows", gm.graph_h >= 3);
	ASSERT_TRUE("fits", gm.label_y < h && gm.x0 + TUI_TONAL_BANDS * gm.band_w <= w);
	snprintf(head, sizeof(head), "%g dB/row", gm.mid_db_per_cell);
	ASSERT_TRUE("header states the scale", row_has(&g, 0, head));
	ASSERT_TRUE("legend names the reference", row_has(&g, 0, "REF 2"));
	ASSERT_CLOSE("mid scale spans the rows", gm.mid_db_per_cell * gm.graph_h,
	             gm.mid_hi - gm.mid_lo, 1e-9);
	ASSERT_TRUE("loudest mid band (-8) under the top",
	            gm.mid_hi >= -8.0 - 1e-9 && gm.mid_hi - gm.mid_db_per_cell < -8.0);
	{
		char top[16];

		snprintf(top, sizeof(top), "%4.0f", gm.mid_hi);
		ASSERT_TRUE("top of the mid scale labelled", text_at(&g, 6, gm.mid_y, top));
	}
	for (int b = 0; b < TUI_TONAL_BANDS; b++) {
		int x = gm.x0 + b * gm.band_w;
		struct {
			const char *what;
			double v, lo, dpc;
			int y, ink, col;
		} c[4] = {
		    {"mix mid", mm[b], gm.mid_lo, gm.mid_db_per_cell, gm.mid_y, TUI_INK_MIX, x},
		    {"ref mid", rm[b], gm.mid_lo, gm.mid_db_per_cell, gm.mid_y, TUI_INK_REF, x + 1},
		    {"mix side", ms[b], gm.side_lo, gm.side_db_per_cell, gm.side_y, TUI_INK_MIX, x},
		    {"ref side", rs[b], gm.side_lo, gm.side_db_per_cell, gm.side_y, TUI_INK_REF,
		     x + 1},
		};

		for (int k = 0; k < 4; k++) {
			double cells = column_cells(&g, c[k].col, c[k].y, gm.graph_h, c[k].ink);
			double want = isnan(c[k].v) ? 0 : (c[k].v - c[k].lo) / c[k].dpc;
			char msg[64];

			if (want < 0)
				want = 0;
			if (want > gm.graph_h)
				want = gm.graph_h;
			snprintf(msg, sizeof(msg), "%s band %d height (cells)", c[k].what, b);
			ASSERT_CLOSE(msg, want, cells, step + 1e-9);
		}
		/* difference panels: mix - ref, under both columns */
		for (int k = 0; k < 2; k++) {
			double dm = isnan(mm[b]) ? 0 : mm[b] - rm[b];
			double ds = ms[b] - rs[b];
			double half = gm.diff_h / 2;
			double wm = fmax(-half, fmin(half, dm / gm.diff_db_per_cell));
			double ws = fmax(-half, fmin(half, ds / gm.diff_db_per_cell));
			char msg[64];

			snprintf(msg, sizeof(msg), "mid diff band %d", b);
			ASSERT_CLOSE(msg, wm, diff_cells(&g, x + k, gm.dmid_y, gm.diff_h),
			             step + 1e-9);
			snprintf(msg, sizeof(msg), "side diff band %d", b);
			ASSERT_CLOSE(msg, ws, diff_cells(&g, x + k, gm.dside_y, gm.diff_h),
			             step + 1e-9);
		}
	}
	ASSERT_CLOSE("diff range covers the largest difference", 1, gm.diff_range_db >= 4.5 - 1e-9,
	             0);
	/* octave labels under their bands */
	ASSERT_TRUE("31.5 under band 2", text_at(&g, gm.x0 + 2 * gm.band_w, gm.label_y, "31.5"));
	ASSERT_TRUE("1k under band 17", text_at(&g, gm.x0 + 17 * gm.band_w, gm.label_y, "1k"));
	ASSERT_TRUE("16k under band 29", text_at(&g, gm.x0 + 29 * gm.band_w, gm.label_y, "16k"));
	ASSERT_TRUE("band 17 is 1 kHz", fabs(refs_spectrum_centre_hz(17) - 1000.0) < 1e-6);
	if (!utf8)
		ASSERT_TRUE("ASCII: no byte >= 0x80", all_ascii(&g));
	tui_grid_free(&g);
}

static void test_tonal_no_ref(void)
{
	double mm[TUI_TONAL_BANDS], ms[TUI_TONAL_BANDS];
	struct tui_tonal_in in;
	struct tui_tonal_geom gm;
	struct tui_grid g;
	int found = 0;

	for (int b = 0; b < TUI_TONAL_BANDS; b++) {
		mm[b] = -10;
		ms[b] = -20;
	}
	memset(&in, 0, sizeof(in));
	in.mix_mid = mm;
	in.mix_side = ms;
	in.mix_name = "MIX after";
	tui_grid_init(&g, 80, 14, false);
	ASSERT_INT("drawn without a reference", 0, tui_views_tonal(&g, &in, &gm));
	for (int y = 0; y < g.h; y++)
		found |= row_has(&g, y, "no reference");
	ASSERT_TRUE("says there is no reference", found);
	ASSERT_TRUE("no ref bars",
	            column_cells(&g, gm.x0 + 1, gm.mid_y, gm.graph_h, TUI_INK_REF) == 0);
	ASSERT_TRUE("ASCII", all_ascii(&g));
	tui_grid_free(&g);
	tui_grid_init(&g, 79, 24, true);
	ASSERT_INT("too narrow", TUI_VIEWS_ERROR_SIZE, tui_views_tonal(&g, &in, &gm));
	tui_grid_free(&g);
}

static void test_loudness(bool utf8)
{
	float mix[200], ref[100];
	struct tui_loud_in in;
	struct tui_loud_geom gm;
	struct tui_grid g;
	double step = utf8 ? 1.0 / 16 : 0.5;

	/* mix: 20 s at -14, then 80 s rising from -24 to -8 (0.5 s hop);
	 * ref: 200 s, silent (below the gate) for its first 10 s, then -10,
	 * 2 s hop; first shown 150 s into its clip (it ends at timeline 50 s),
	 * then from its start */
	for (int i = 0; i < 200; i++)
		mix[i] = i < 40 ? -14.0f : (float)(-24.0 + 16.0 * (i - 40) / 159.0);
	for (int i = 0; i < 100; i++)
		ref[i] = i < 5 ? -INFINITY : -10.0f;
	memset(&in, 0, sizeof(in));
	in.mix = (struct tui_loud_series){.name = "MIX after",
	                                  .short_term = mix,
	                                  .n = 200,
	                                  .hop_s = 0.5,
	                                  .valid = true,
	                                  .integrated_lufs = -14.2,
	                                  .lra_lu = 6.3,
	                                  .plr_db = 12.8,
	                                  .true_peak_dbtp = -1.0};
	in.ref = (struct tui_loud_series){.name = utf8 ? "REF 1" : "REF 1 \xe2\x80\x94 x",
	                                  .short_term = ref,
	                                  .n = 100,
	                                  .hop_s = 2.0,
	                                  .shift_s = 150.0,
	                                  .valid = true,
	                                  .integrated_lufs = -10,
	                                  .lra_lu = 3,
	                                  .plr_db = 9,
	                                  .true_peak_dbtp = 0.2};
	in.length_s = 100.0;
	in.playhead_s = 50.0;
	tui_grid_init(&g, 80, 18, utf8);
	ASSERT_INT("loudness drawn", 0, tui_views_loudness(&g, &in, &gm));
	ASSERT_CLOSE("seconds per column", 100.0 / gm.graph_w, gm.s_per_col, 1e-12);
	ASSERT_TRUE("scale top above the loudest", gm.hi >= -8.0 && gm.hi - gm.db_per_cell < -8.0);
	for (int c = 0; c < gm.graph_w; c++) {
		double t_mid = (c + 0.5) * gm.s_per_col;
		double mv = tui_views_loud_column(&in.mix, gm.s_per_col, c);
		double rv = tui_views_loud_column(&in.ref, gm.s_per_col, c);
		double want_m = (fmin(fmax(mv, gm.lo), gm.hi) - gm.lo) / gm.db_per_cell;
		double want_r =
		    isnan(rv) ? 0 : (fmin(fmax(rv, gm.lo), gm.hi) - gm.lo) / gm.db_per_cell;
		char msg[64];

		/* the column mean against the signal's own formula */
		if (t_mid < 19.0)
			ASSERT_CLOSE("mix column value, flat part", -14.0, mv, 1e-6);
		if (t_mid > 21.0 && t_mid < 99.0)
			ASSERT_CLOSE("mix column value, ramp",
			             -24.0 + 16.0 * (t_mid / 0.5 - 40 - 0.5) / 159.0 + 0.0, mv,
			             16.0 / 159.0 * gm.s_per_col / 0.5 + 0.05);
		/* ref: clip time = timeline + 150 s; nothing past its end */
		if (t_mid > 51.0)
			ASSERT_TRUE("ref past its end is empty", isnan(rv));
		if (t_mid < 49.0)
			ASSERT_CLOSE("ref before its end", -10.0, rv, 1e-6);
		snprintf(msg, sizeof(msg), "mix column %d height", c);
		ASSERT_CLOSE(msg, want_m,
		             column_cells(&g, gm.x0 + c, gm.mix_y, gm.graph_h, TUI_INK_MIX),
		             step + 1e-9);
		snprintf(msg, sizeof(msg), "ref column %d height", c);
		ASSERT_CLOSE(msg, want_r,
		             column_cells(&g, gm.x0 + c, gm.ref_y, gm.graph_h, TUI_INK_REF),
		             step + 1e-9);
	}
	/* from its start: the silent first 10 s show nothing */
	in.ref.shift_s = 0;
	tui_views_loudness(&g, &in, &gm);
	ASSERT_TRUE("ref before its gate opens is empty",
	            isnan(tui_views_loud_column(&in.ref, gm.s_per_col, 0)));
	ASSERT_CLOSE("ref at 50 s", -10.0,
	             tui_views_loud_column(&in.ref, gm.s_per_col, (int)(50.0 / gm.s_per_col)),
	             1e-6);
	ASSERT_TRUE("time 0:00 at the first column", text_at(&g, gm.x0, gm.axis_y, "0:00"));
	{
		int c = (int)(50.0 / gm.s_per_col);
		const struct tui_cell *m = tui_grid_at(&g, gm.x0 + c, gm.axis_y);

		ASSERT_INT("playhead mark at 50 s", TUI_INK_MARK, m->ink);
	}
	ASSERT_TRUE("numbers: I", row_has(&g, gm.numbers_y, "I  -14.2 LUFS"));
	ASSERT_TRUE("numbers: LRA", row_has(&g, gm.numbers_y, "LRA   6.3 LU"));
	ASSERT_TRUE("numbers: PLR", row_has(&g, gm.numbers_y, "PLR  12.8 dB"));
	ASSERT_TRUE("numbers: TP", row_has(&g, gm.numbers_y, "TP   -1.0 dBTP"));
	ASSERT_TRUE("ref numbers beside", row_has(&g, gm.numbers_y + 1, "I  -10.0 LUFS"));
	if (!utf8)
		ASSERT_TRUE("ASCII: no byte >= 0x80", all_ascii(&g));
	tui_grid_free(&g);
}

static void test_grid_text(void)
{
	struct tui_grid g;
	char row[64];

	tui_grid_init(&g, 8, 1, false);
	ASSERT_INT("clipped at the edge", 8, tui_grid_text(&g, 0, 0, TUI_INK_TEXT, "abcdefghij"));
	tui_grid_clear(&g);
	tui_grid_text(&g, 1, 0, TUI_INK_TEXT, "\xc3\xa9t\xc3\xa9");
	tui_grid_row(&g, 0, row, sizeof(row));
	ASSERT_TRUE("ASCII grid replaces UTF-8 with ?", !strcmp(row, " ?t?    "));
	ASSERT_INT("row too long for the buffer", -1, tui_grid_row(&g, 0, row, 4));
	tui_grid_free(&g);
}

int main(void)
{
	test_grid_text();
	test_bar_steps();
	test_tonal(true, 80, 18);
	test_tonal(false, 80, 18);
	test_tonal(true, 120, 30);
	test_tonal(true, 80, 12);
	test_tonal_no_ref();
	test_loudness(true);
	test_loudness(false);
	return test_done();
}

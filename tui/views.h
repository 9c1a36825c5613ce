/*
 * termaster — the comparison views: tonal balance and loudness
 * over time, laid out as a grid of character cells.
 *
 * Pure layout: no ncurses, no studio.  The screen hands in numbers and a
 * size, gets back a grid (one glyph, an ink and a reverse flag per cell)
 * and draws it, mapping ink to its colours or attributes.  That keeps the
 * geometry unit-testable (tests/test_views.c reads the grid back).
 *
 * Two character sets: UTF-8 draws bars with the lower eighth blocks
 * U+2581 … U+2588 (8 steps per cell); ASCII (LANG=C, a VT100) draws whole
 * cells with '#', ':', '+' and '-' (1 step per cell) and never a byte
 * >= 0x80.  Without colour the grid still reads: the mix and the reference
 * sit in their own columns with their own glyphs (UTF-8: solid and shaded;
 * ASCII: '#' and ':'), and a legend names them.
 *
 * Bars: a value v on a scale lo … hi over h rows fills
 * round((v - lo) / (hi - lo) · h · steps) steps from the bottom, clamped to
 * 0 … h · steps (steps = 8 in UTF-8, 1 in ASCII); NAN draws nothing.  So a
 * drawn height is within one cell — db_per_cell = (hi - lo) / h — of the
 * value, and within db_per_cell / 8 in UTF-8.
 *
 * Difference bars (mix minus reference) grow up from the middle of their
 * panel for positive values and down for negative ones.  A part-filled
 * cell under the zero line is drawn as the complementary lower block in
 * reverse video (rev = true), so going down has the same 8 steps as going
 * up; ASCII uses whole '+' and '-' cells.
 */
#ifndef TM_TUI_VIEWS_H
#define TM_TUI_VIEWS_H

#include <stdbool.h>
#include <stddef.h>

enum tui_ink {
	TUI_INK_NONE = 0, /* blank */
	TUI_INK_TEXT,     /* headings, legends, numbers */
	TUI_INK_AXIS,     /* scales, the axis, frequency and time labels */
	TUI_INK_MIX,      /* the mix ("after") */
	TUI_INK_REF,      /* the current reference */
	TUI_INK_UP,       /* difference: the mix has more */
	TUI_INK_DOWN,     /* difference: the mix has less */
	TUI_INK_MARK,     /* the playhead */
	TUI_INK_DIM,      /* notes: "no reference", "measuring …" */
};

struct tui_cell {
	char g[5];         /* one glyph, UTF-8, NUL-terminated ("" = blank) */
	unsigned char ink; /* enum tui_ink */
	bool rev;          /* draw in reverse video */
};

struct tui_grid {
	int w, h;
	bool utf8;
	struct tui_cell *cells; /* w · h, row by row */
};

enum tui_views_error {
	TUI_VIEWS_OK = 0,
	TUI_VIEWS_ERROR_NOMEM,
	TUI_VIEWS_ERROR_SIZE, /* too small for the view (see the _MIN_ sizes) */
};

/* A grid of w × h blank cells (0 or _NOMEM; w, h > 0 else _SIZE).
 * Resizing: free, then init again. */
int tui_grid_init(struct tui_grid *g, int w, int h, bool utf8);
void tui_grid_free(struct tui_grid *g);
void tui_grid_clear(struct tui_grid *g);
/* The cell at (x, y), or NULL outside the grid. */
struct tui_cell *tui_grid_at(const struct tui_grid *g, int x, int y);
/* Text from (x, y) rightwards, one cell per character (ASCII or UTF-8
 * characters one column wide), clipped at the right edge.  Returns the
 * cells written. */
int tui_grid_text(struct tui_grid *g, int x, int y, enum tui_ink ink, const char *s);
/* Row y as one string (blank cells as spaces) into buf; returns its length
 * in bytes, or -1 when it does not fit in n. */
int tui_grid_row(const struct tui_grid *g, int y, char *buf, size_t n);

/* ---- building blocks (tested one by one) ---- */

/* Steps per cell of a bar: 8 in UTF-8, 1 in ASCII. */
int tui_views_steps(const struct tui_grid *g);
/* The steps a value fills on lo … hi over h rows (see above): 0 … h · steps,
 * -1 for NAN. */
int tui_views_bar_steps(const struct tui_grid *g, double v, double lo, double hi, int h);
/* A vertical bar in column x, rows y … y+h-1 (bottom at y+h-1). */
void tui_views_bar(struct tui_grid *g, int x, int y, int h, double v, double lo, double hi,
                   enum tui_ink ink);
/* A difference bar in column x over rows y … y+h-1 (h even: h/2 above the
 * zero line, h/2 below), ±range at the top and bottom edges. */
void tui_views_diff_bar(struct tui_grid *g, int x, int y, int h, double v, double range);
/* A tidy scale: the smallest of 1, 2, 3, 4, 5, 6, 8, 10, 12, 15, 20 dB per
 * cell such that rows cells span at least `span` dB. */
double tui_views_db_per_cell(double span, int rows);

/* ---- tonal balance ---- */

#define TUI_TONAL_BANDS 31 /* 1/3 octave, 20 Hz … 20 kHz (refs/spectrum.h) */
#define TUI_TONAL_MIN_W 80
#define TUI_TONAL_MIN_H 12

struct tui_tonal_in {
	/* dB per band, loudness-normalised; NAN = no data.  ref_* NULL when
	 * there is no reference (or it is not measured yet). */
	const double *mix_mid, *mix_side;
	const double *ref_mid, *ref_side;
	const char *mix_name; /* legend: "MIX after" */
	const char *ref_name; /* legend: "REF 2"; NULL with no ref */
	const char *region;   /* "whole track" / "loop region" */
	const char *note;     /* why something is missing, or NULL */
};

/* Where things landed (for the screen and the tests). */
struct tui_tonal_geom {
	int x0;                                  /* column of band 0's mix bar */
	int band_w;                              /* columns per band; the ref bar is at +1 */
	int mid_y, side_y, graph_h;              /* the two graphs: first row, rows */
	int dmid_y, dside_y, diff_h;             /* the two difference panels */
	int label_y;                             /* the frequency labels */
	double mid_lo, mid_hi, side_lo, side_hi; /* dB at the bottom / top edge */
	double mid_db_per_cell, side_db_per_cell;
	double diff_range_db; /* ± at the difference panels' edges */
	double diff_db_per_cell;
};

/* Draws the tonal view into g (cleared first).  Returns 0 or _SIZE (then
 * g holds a one-line note to enlarge the window). */
int tui_views_tonal(struct tui_grid *g, const struct tui_tonal_in *in, struct tui_tonal_geom *geom);

/* ---- loudness over time ---- */

#define TUI_LOUD_MIN_W 80
#define TUI_LOUD_MIN_H 10

struct tui_loud_series {
	const char *name;        /* "MIX after", "REF 2" */
	const float *short_term; /* LUFS every hop_s from the clip's start;
	                          * -inf/NAN below the gate */
	int n;
	double hop_s;
	double shift_s; /* timeline = clip time - shift_s (the
	                 * reference's sync offset) */
	bool valid;     /* measured (numbers below) */
	double integrated_lufs, lra_lu, plr_db, true_peak_dbtp;
};

struct tui_loud_in {
	struct tui_loud_series mix, ref; /* ref.name NULL: no reference */
	double length_s;                 /* timeline shown: 0 … length_s */
	double playhead_s;               /* marked on the axis; < 0: none */
	const char *note;
};

struct tui_loud_geom {
	int x0, graph_w;            /* first column of the graphs, columns */
	int mix_y, ref_y, graph_h;  /* graphs: first row, rows */
	int axis_y;                 /* time labels and the playhead mark */
	int numbers_y;              /* I, LRA, PLR, TP: mix, then ref below */
	double lo, hi, db_per_cell; /* shared scale, LUFS */
	double s_per_col;
};

/* The loudness value of column c (mean of the finite short-term values
 * whose time falls in the column), NAN when none: what the bar shows. */
double tui_views_loud_column(const struct tui_loud_series *s, double s_per_col, int c);

int tui_views_loudness(struct tui_grid *g, const struct tui_loud_in *in,
                       struct tui_loud_geom *geom);

#endif

/*
 * termaster analyze — loudness report of files as they are.
 *
 *   termaster analyze [--json] FILE ...
 *
 * Each file is decoded at its own rate (no conversion) and measured with
 * refs/loudness.c (ITU-R BS.1770-4, EBU R128, Tech 3341/3342).  A mono file
 * is measured as one channel, as BS.1770 defines it; the same signal on
 * both channels of a stereo file (which is how termaster plays it) reads
 * 3.01 LU higher.
 *
 * Output with --json: one JSON array on stdout, one object per file that
 * could be analysed, in the order given:
 *
 *   [
 *     {"path": "mix.wav", "integrated_lufs": -14.02, "lra_lu": 6.1,
 *      "true_peak_dbtp": -1.01, "sample_peak_dbfs": -1.2,
 *      "max_momentary_lufs": -9.8, "max_shortterm_lufs": -11.9,
 *      "duration_s": 215.3, "sample_rate": 44100, "channels": 2}
 *   ]
 *
 * Loudness, LRA and peaks have three decimals; -inf (silence) is null.
 * Without --json a table is printed.  Files that cannot be read are
 * reported on stderr as "termaster: PATH: reason" and left out.
 *
 * Exit status: 0 all files analysed; 2 a file was bad or the usage wrong
 * (the other files are still analysed); 1 the program itself failed (out
 * of memory) and no file was bad.
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audio/clip.h"
#include "refs/loudness.h"
#include "tui/tui.h"

#define BLOCK_FRAMES 8192

static void usage(FILE *f)
{
	fputs("usage: termaster analyze [--json] FILE ...\n"
	      "\n"
	      "Measures each file as it is (at its own sample rate): integrated loudness\n"
	      "(LUFS), loudness range (LU), true peak (dBTP), sample peak (dBFS), maximum\n"
	      "momentary and short-term loudness (LUFS), per ITU-R BS.1770-4 / EBU R128.\n"
	      "A mono file is measured as one channel, as BS.1770 defines it; the same\n"
	      "signal on both channels of a stereo file reads 3.01 LU higher.\n"
	      "\n"
	      "  --json    print a JSON array with one object per file\n"
	      "  --help    show this help\n"
	      "\n"
	      "Exit status: 0 ok, 2 a file could not be read (the others are still\n"
	      "analysed), 1 internal failure.\n",
	      f);
}

struct job {
	const char *label;
	double base, span; /* progress: decode 0-0.5, measure 0.5-1 */
};

static int show_progress(void *user, double fraction)
{
	const struct job *j = user;

	tui_progress(j->label, j->base + j->span * fraction);
	return 0;
}

/* Measures a decoded clip; mono files as one channel. */
static int measure(const struct audio_clip *c, struct refs_loudness *out, struct job *j)
{
	struct refs_analyser *a;
	unsigned ch = c->file_channels == 1 ? 1 : 2;
	float *mono = NULL;
	int err;

	if (ch == 2)
		return refs_loudness_measure(c->data, c->frames, 2, c->rate, out, show_progress, j);
	a = refs_analyser_new(1, c->rate, &err);
	mono = malloc(BLOCK_FRAMES * sizeof(float));
	if (!a || !mono) {
		free(mono);
		refs_analyser_free(&a);
		return a ? REFS_LOUDNESS_ERROR_NOMEM : err;
	}
	for (int64_t i = 0; i < c->frames; i += BLOCK_FRAMES) {
		int64_t n = c->frames - i < BLOCK_FRAMES ? c->frames - i : BLOCK_FRAMES;
		for (int64_t k = 0; k < n; k++)
			mono[k] = c->data[2 * (i + k)];
		err = refs_analyser_add(a, mono, (size_t)n);
		if (err)
			goto out;
		if ((i / BLOCK_FRAMES) % 64 == 0)
			show_progress(j, (double)i / (double)c->frames);
	}
	err = refs_analyser_result(a, out);
out:
	free(mono);
	refs_analyser_free(&a);
	return err;
}

static void json_string(const char *s)
{
	putchar('"');
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '"':
			fputs("\\\"", stdout);
			break;
		case '\\':
			fputs("\\\\", stdout);
			break;
		case '\n':
			fputs("\\n", stdout);
			break;
		case '\t':
			fputs("\\t", stdout);
			break;
		case '\r':
			fputs("\\r", stdout);
			break;
		default:
			if (*p < 0x20)
				printf("\\u%04x", *p);
			else
				putchar(*p);
		}
	}
	putchar('"');
}

static void json_number(const char *key, double v, int decimals)
{
	printf(", \"%s\": ", key);
	if (isfinite(v))
		printf("%.*f", decimals, v);
	else
		fputs("null", stdout);
}

static void print_json(const char *path, const struct audio_clip *c, const struct refs_loudness *r,
                       int first)
{
	fputs(first ? "  {\"path\": " : ",\n  {\"path\": ", stdout);
	json_string(path);
	json_number("integrated_lufs", r->integrated_lufs, 3);
	json_number("lra_lu", r->lra_lu, 3);
	json_number("true_peak_dbtp", r->true_peak_dbtp, 3);
	json_number("sample_peak_dbfs", r->sample_peak_dbfs, 3);
	json_number("max_momentary_lufs", r->max_momentary_lufs, 3);
	json_number("max_shortterm_lufs", r->max_shortterm_lufs, 3);
	json_number("duration_s", r->duration_s, 6);
	printf(", \"sample_rate\": %d, \"channels\": %d}", c->file_rate, c->file_channels);
	fflush(stdout);
}

static void cell(double v, int width)
{
	if (isfinite(v))
		printf(" %*.1f", width, v);
	else
		printf(" %*s", width, "-inf");
}

static void print_row(const char *path, const struct audio_clip *c, const struct refs_loudness *r)
{
	int min = (int)(r->duration_s / 60);
	double sec = r->duration_s - 60.0 * min;

	cell(r->integrated_lufs, 7);
	cell(r->lra_lu, 5);
	cell(r->true_peak_dbtp, 6);
	cell(r->sample_peak_dbfs, 6);
	cell(r->max_momentary_lufs, 6);
	cell(r->max_shortterm_lufs, 6);
	printf(" %4d:%04.1f %6d %2d  %s\n", min, sec, c->file_rate, c->file_channels, path);
	fflush(stdout);
}

int tui_cmd_analyze(int argc, char **argv)
{
	int json = 0, status = TUI_EXIT_OK, failed = 0, printed = 0, n_files = 0;
	int opts_done = 0;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (opts_done || a[0] != '-' || !a[1]) {
			n_files++;
		} else if (!strcmp(a, "--")) {
			opts_done = 1;
		} else if (!strcmp(a, "--json")) {
			json = 1;
		} else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage(stdout);
			return TUI_EXIT_OK;
		} else {
			tui_error("analyze: unknown option %s (see termaster analyze --help)", a);
			return TUI_EXIT_USAGE;
		}
	}
	if (!n_files) {
		tui_error("analyze: no file given (usage: termaster analyze [--json] FILE ...)");
		return TUI_EXIT_USAGE;
	}

	if (json)
		fputs("[\n", stdout);
	else
		printf("%8s %5s %6s %6s %6s %6s %9s %6s %2s  %s\n", "I LUFS", "LRA", "TP", "SPK",
		       "M max", "S max", "length", "rate", "ch", "file");
	fflush(stdout);

	opts_done = 0;
	for (int i = 1; i < argc; i++) {
		const char *path = argv[i];
		struct audio_clip *c = NULL;
		struct refs_loudness r;
		struct job j = {path, 0.0, 0.5};
		char msg[512];
		int err;

		if (!opts_done && path[0] == '-' && path[1]) {
			if (!strcmp(path, "--"))
				opts_done = 1;
			continue;
		}
		err = audio_clip_load(path, 0, &c, show_progress, &j, msg, sizeof(msg));
		if (err) {
			tui_progress_done();
			tui_error("%s: %s", path, msg);
			if (err == AUDIO_CLIP_ERROR_NOMEM || err == AUDIO_CLIP_ERROR_SRC)
				failed = 1;
			else
				status = TUI_EXIT_USAGE;
			continue;
		}
		j.base = 0.5;
		err = measure(c, &r, &j);
		tui_progress_done();
		if (err) {
			tui_error("%s: loudness analysis failed: %s", path,
			          refs_loudness_strerror(err));
			failed = 1;
			audio_clip_free(&c);
			continue;
		}
		if (c->nonfinite)
			tui_error(
			    "%s: warning: %lld non-finite samples (NaN or Inf) were read as 0",
			    path, (long long)c->nonfinite);
		if (json)
			print_json(path, c, &r, !printed);
		else
			print_row(path, c, &r);
		printed++;
		audio_clip_free(&c);
	}
	if (json)
		fputs(printed ? "\n]\n" : "]\n", stdout);
	fflush(stdout);
	if (status == TUI_EXIT_OK && failed)
		status = TUI_EXIT_FAIL;
	return status;
}

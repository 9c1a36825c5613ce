/*
 * termaster — `termaster render`: the offline render from the command line.
 *
 *   termaster render MIX -o OUT [--set PARAM=VALUE …] [--ceiling-dbtp DB]
 *                    [--target-lufs LUFS [--max-gr-db DB]]
 *                    [--bits 16|24|32] [--rate HZ] [--force]
 *                    [--dither tpdf|shaped|none] [--no-dither] [--quiet]
 *   termaster render --list-params
 *
 * Order of work: parse everything, check the output (format, exists, is the
 * input) before decoding anything, start decoding MIX at its own rate on
 * a thread of its own (audio_clip_stream_open(): the chain starts on the
 * first frames while the rest is read; a decoding error ends the render
 * and is reported as before, naming MIX), with a loudness target search
 * the input gain that reaches it (audio_render_find_gain(): a few renders
 * in memory) or refuse, render (audio/render.c), print one summary line
 * on stdout (and with a target, a second one on what it took).  Errors are one line
 * on stderr, "termaster: PATH: reason".  SIGINT/SIGTERM during the decode
 * or the render cancel it cleanly (no temporary file left behind), then the
 * signal is re-raised so the shell sees what happened.
 */
#include "config.h"

#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audio/clip.h"
#include "audio/render.h"
#include "audio/renderjob.h"
#include "chain/chain.h"
#include "refs/loudness.h"
#include "tui/apply.h"
#include "tui/session.h"
#include "tui/tui.h"

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: termaster render MIX -o OUT [OPTIONS]\n"
		"       termaster render --session FILE -o OUT [OPTIONS]\n"
		"       termaster render --list-params\n"
		"\n"
		"Render MIX through the mastering chain into OUT: the same chain as playback,\n"
		"latency compensated, dithered to integer output, written to a temporary\n"
		"file beside OUT and renamed into place only when complete.  The same MIX and\n"
		"options always give the same bytes.\n"
		"\n"
		"Options:\n"
		"  -o, --output OUT       the output file; its extension picks the format:\n"
		"                         .wav, .aiff or .aif, .flac\n"
		"      --session FILE     the session's mix and chain (give no MIX); --set\n"
		"                         and --ceiling-dbtp then change that chain\n"
		"      --set PARAM=VALUE  set a chain parameter (repeatable; later wins;\n"
		"                         see --list-params)\n"
		"      --ceiling-dbtp DB  the limiter's ceiling, short for\n"
		"                         --set limiter.ceiling_dbtp=DB\n"
		"      --target-lufs LUFS set the input gain (gain.gain_db, -24 … +24 dB) so\n"
		"                         that OUT reads LUFS (-60 … 0) integrated, ±0.1 LU,\n"
		"                         under the ceiling; found by measuring a few\n"
		"                         renders in memory; refused (nothing written)\n"
		"                         when it needs more limiting than --max-gr-db\n"
		"                         or is out of the gain's range\n"
		"      --max-gr-db DB     with --target-lufs: the most peak gain reduction\n"
		"                         the limiter may apply (0 … 24, default 6; see\n"
		"                         below)\n"
		"      --bits 16|24|32    16 or 24-bit integer (default 24) or 32-bit float\n"
		"                         (.wav and .aiff only)\n"
		"      --rate HZ          output sample rate (default: MIX's own); converted\n"
		"                         after the chain with libsamplerate, best quality,\n"
		"                         then held under the ceiling by a true-peak guard\n"
		"      --dither KIND      for 16 and 24-bit output: tpdf (default), shaped\n"
		"                         (TPDF with F-weighted noise shaping, for 44.1 kHz\n"
		"                         and above) or none (rounding)\n"
		"      --no-dither        the same as --dither none\n"
		"  -f, --force            replace OUT if it exists (never MIX itself)\n"
		"  -q, --quiet            no progress bar and no summary lines\n"
		"      --list-params      list the chain parameters and exit\n"
		"  -h, --help             show this help and exit\n"
		"\n"
		"When done, prints on standard output:\n"
		"  OUT: FORMAT RATE Hz, LOUDNESS LUFS, LRA LU, true peak dBTP\n"
		"measured on the samples written, and with --target-lufs:\n"
		"  OUT: target LUFS: input gain DB, limiter gain reduction PEAK dB peak\n"
		"  (MAX max), MEAN dB mean, N renders\n"
		"(peak: exceeded in no more than 0.5 %% of the master, so one stray\n"
		"transient does not count, and it is what --max-gr-db limits; max: the\n"
		"largest of all; mean: weighted by the master's energy, so it is what the\n"
		"music goes through, not the silences).\n"
		"\n"
		"Exit status: 0 written; 1 the render itself failed (out of memory, chain or\n"
		"sample-rate conversion); 2 bad input: a bad option or value, MIX unreadable\n"
		"or unsupported, OUT's format unsupported, OUT exists (without --force), OUT\n"
		"is MIX, OUT cannot be written (missing or read-only folder, disk full), or\n"
		"the loudness target cannot be reached (the message gives the loudest level\n"
		"that can).\n"
		"Nothing is left at OUT after a failure, and an existing OUT is untouched.\n"
		"An interrupted render (Ctrl-C) leaves nothing behind and ends by the signal.\n");
}

/* ---- the parameter table ---- */

static void list_params(void)
{
	unsigned n = chain_param_count();
	int w = 2;

	for (unsigned i = 0; i < n; i++) {
		int l = (int)strlen(chain_param_at(i)->id);

		if (l > w)
			w = l;
	}
	printf("%-*s  %-20s  %9s  %s\n", w, "id", "range", "default", "unit");
	for (unsigned i = 0; i < n; i++) {
		const struct chain_param_info *pi = chain_param_at(i);
		const struct chain_param *p = pi->param;
		char range[64];

		snprintf(range, sizeof(range), "%g … %g", p->min, p->max);
		printf("%-*s  %-20s  %9g  %s\n", w, pi->id, range, p->def,
		       *p->unit ? p->unit : "-");
	}
}

/* ---- interruption ---- */

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
	interrupted = sig;
}

struct progress {
	const char *label;
	bool show;
};

static int on_progress(void *user, double fraction)
{
	const struct progress *p = user;

	if (p->show)
		tui_progress(p->label, fraction);
	return interrupted != 0;
}

/* Progress of each render of a loudness target search. */
static int on_pass_progress(void *user, int pass, double fraction)
{
	const struct progress *p = user;

	if (p->show) {
		char label[32];

		snprintf(label, sizeof(label), "loudness %d", pass);
		tui_progress(label, fraction);
	}
	return interrupted != 0;
}

/* Exit status of an audio_render_file() error (see the usage text). */
static int render_status(int err)
{
	switch (err) {
	case AUDIO_RENDER_ERROR_NOMEM:
	case AUDIO_RENDER_ERROR_CHAIN:
	case AUDIO_RENDER_ERROR_SRC:
	case AUDIO_RENDER_ERROR_CANCELLED:
		return TUI_EXIT_FAIL;
	default:
		return TUI_EXIT_USAGE;
	}
}

static void render_error(const char *out, int err, const char *msg)
{
	if (err == AUDIO_RENDER_ERROR_EXISTS)
		tui_error("%s: exists (use --force to replace it)", out);
	else if (err == AUDIO_RENDER_ERROR_CANCELLED)
		tui_error("%s: interrupted, nothing written", out);
	else
		tui_error("%s: %s", out, msg);
}

/* A decoding error: one line naming the input, and the exit status. */
static int decode_error(const char *in, int err, const char *msg)
{
	if (err == AUDIO_CLIP_ERROR_CANCELLED)
		tui_error("%s: interrupted", in);
	else
		tui_error("%s: %s", in, msg);
	return err == AUDIO_CLIP_ERROR_NOMEM || err == AUDIO_CLIP_ERROR_SRC ||
	       err == AUDIO_CLIP_ERROR_CANCELLED ? TUI_EXIT_FAIL : TUI_EXIT_USAGE;
}

/* struct audio_render_opts: input_wait and input_release, on the decoding
 * stream. */
static int64_t input_wait(void *user, int64_t frames)
{
	return audio_clip_stream_wait(user, frames);
}

static void input_release(void *user, int64_t frames)
{
	audio_clip_stream_release(user, frames);
}

/* A render without a loudness target reads its input once, in order: the
 * decoding then fills a ring of this many frames (2 MB of stereo floats)
 * instead of the whole clip (85 MB for 4 minutes at 44.1 kHz; faulting
 * those pages in cost ~31 ms of a ~0.6 s render on one core), and the
 * chain reads the frames while they are still in the cache. */
#define RENDER_INPUT_RING ((int64_t)1 << 18)

enum {
	OPT_SET = 256,
	OPT_CEILING,
	OPT_BITS,
	OPT_RATE,
	OPT_NO_DITHER,
	OPT_DITHER,
	OPT_TARGET,
	OPT_MAX_GR,
	OPT_LIST,
	OPT_SESSION,
};

int tui_cmd_render(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "set", required_argument, NULL, OPT_SET },
		{ "ceiling-dbtp", required_argument, NULL, OPT_CEILING },
		{ "bits", required_argument, NULL, OPT_BITS },
		{ "rate", required_argument, NULL, OPT_RATE },
		{ "no-dither", no_argument, NULL, OPT_NO_DITHER },
		{ "dither", required_argument, NULL, OPT_DITHER },
		{ "target-lufs", required_argument, NULL, OPT_TARGET },
		{ "max-gr-db", required_argument, NULL, OPT_MAX_GR },
		{ "force", no_argument, NULL, 'f' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "list-params", no_argument, NULL, OPT_LIST },
		{ "session", required_argument, NULL, OPT_SESSION },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct audio_renderjob_opts jo;
	struct audio_render_opts *o = &jo.render;
	struct audio_clip_stream *stream = NULL;
	const struct audio_clip *mix = NULL;
	struct tui_session sess;
	bool have_session = false;
	struct refs_loudness lm;
	struct audio_render_target tr;
	struct progress prog;
	struct sigaction sa, old_int, old_term;
	char msg[1024];
	const char *in;
	bool quiet = false, list = false, have_max_gr = false;
	int opt, li = -1, err, status = TUI_EXIT_OK;

	tui_session_init(&sess);
	audio_renderjob_opts_default(&jo);
	/* --session first, wherever it stands: its chain is the base that
	 * --set and --ceiling-dbtp then change */
	for (int i = 1; i < argc; i++) {
		const char *path = NULL;

		if (!strcmp(argv[i], "--session") && i + 1 < argc)
			path = argv[i + 1];
		else if (!strncmp(argv[i], "--session=", 10))
			path = argv[i] + 10;
		if (!path)
			continue;
		if (tui_session_load(path, &sess, msg, sizeof(msg))) {
			tui_error("%s", msg);
			tui_session_free(&sess);
			return TUI_EXIT_USAGE;
		}
		o->settings = sess.chain;
		have_session = true;
	}
	optind = 0;  /* glibc: full re-initialisation (main may have parsed) */
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":o:fqh", longopts, &li)) != -1) {
		switch (opt) {
		case 'o':
			o->out_path = optarg;
			break;
		case OPT_SET:
		case OPT_CEILING:
		case OPT_BITS:
		case OPT_RATE:
		case OPT_NO_DITHER:
		case OPT_DITHER:
		case OPT_TARGET:
		case OPT_MAX_GR: {
			char name[40];

			snprintf(name, sizeof(name), "--%s", longopts[li].name);
			if (tui_render_option(&jo, name, optarg, &have_max_gr, msg, sizeof(msg))) {
				tui_error("%s", msg);
				return TUI_EXIT_USAGE;
			}
			break;
		}
		case 'f':
			o->force = true;
			break;
		case 'q':
			quiet = true;
			break;
		case OPT_SESSION:
			break;  /* read before the other options */
		case OPT_LIST:
			list = true;
			break;
		case 'h':
			usage(stdout);
			return TUI_EXIT_OK;
		case ':':
			tui_error("render: %s needs a value (see termaster render --help)",
				  argv[optind - 1]);
			return TUI_EXIT_USAGE;
		default:
			if (optopt)
				tui_error("render: unknown option '-%c' (see termaster render --help)",
					  optopt);
			else
				tui_error("render: unknown option '%s' (see termaster render --help)",
					  argv[optind - 1]);
			return TUI_EXIT_USAGE;
		}
	}
	if (list) {
		list_params();
		return TUI_EXIT_OK;
	}
	if (have_session && optind < argc) {
		tui_error("render: --session names the mix; give no MIX with it ('%s')", argv[optind]);
		tui_session_free(&sess);
		return TUI_EXIT_USAGE;
	}
	if (have_session && !sess.mix) {
		tui_error("%s: the session has no mix", sess.path ? sess.path : "session");
		tui_session_free(&sess);
		return TUI_EXIT_USAGE;
	}
	if (!have_session && optind >= argc) {
		tui_error("render: no MIX given (termaster render MIX -o OUT)");
		return TUI_EXIT_USAGE;
	}
	if (optind + 1 < argc) {
		tui_error("render: one MIX only ('%s' is one too many)", argv[optind + 1]);
		return TUI_EXIT_USAGE;
	}
	in = have_session ? sess.mix : argv[optind];
	if (!o->out_path) {
		tui_error("render: no output given (-o OUT)");
		return TUI_EXIT_USAGE;
	}
	if (have_max_gr && !jo.have_target) {
		tui_error("--max-gr-db: only with --target-lufs");
		return TUI_EXIT_USAGE;
	}
	o->in_path = in;

	/* the output first: fail before a long decode */
	err = audio_render_check(o, msg, sizeof(msg));
	if (err) {
		render_error(o->out_path, err, msg);
		return render_status(err);
	}

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	interrupted = 0;
	/* a signal ignored on entry (SIGINT in a background job) stays so */
	sigaction(SIGINT, NULL, &old_int);
	sigaction(SIGTERM, NULL, &old_term);
	if (old_int.sa_handler != SIG_IGN)
		sigaction(SIGINT, &sa, NULL);
	if (old_term.sa_handler != SIG_IGN)
		sigaction(SIGTERM, &sa, NULL);
	prog.show = !quiet && tui_stderr_is_tty();

	/* the chain starts on the first frames while the rest is decoded
	 * (a file without an exact length is decoded whole first, with
	 * progress) */
	prog.label = "decoding ";
	err = audio_clip_stream_open_ring(in, jo.have_target ? 0 : RENDER_INPUT_RING,
					  &stream, on_progress, &prog, msg, sizeof(msg));
	if (prog.show)
		tui_progress_done();
	if (err) {
		status = decode_error(in, err, msg);
		goto out;
	}
	mix = audio_clip_stream_clip(stream);
	o->input_wait = input_wait;
	o->input_user = stream;
	o->input_ring = audio_clip_stream_ring(stream);
	o->input_release = input_release;

	if (o->dither == AUDIO_RENDER_DITHER_SHAPED && o->bits != 32 && !quiet &&
	    (o->rate ? o->rate : mix->rate) < 44100)
		tui_error("%s: warning: noise-shaped dither is made for 44.1 kHz and "
			  "above; at %.0f Hz its noise rises where it is heard "
			  "(use --dither tpdf)", o->out_path, o->rate ? o->rate : mix->rate);

	if (jo.have_target) {
		int gi = chain_param_find("gain.gain_db");

		err = audio_render_find_gain(mix, o, jo.target_lufs, jo.max_gr_db, &tr,
					     on_pass_progress, &prog, msg, sizeof(msg));
		if (prog.show)
			tui_progress_done();
		if (err == AUDIO_RENDER_ERROR_TARGET) {
			tui_error("%s: %s; nothing written", o->out_path, msg);
			status = TUI_EXIT_USAGE;
			goto out;
		}
		if (err == AUDIO_RENDER_ERROR_INPUT) {
			err = audio_clip_stream_finish(stream, msg, sizeof(msg));
			status = decode_error(in, err, msg);
			goto out;
		}
		if (err) {
			render_error(o->out_path, err, msg);
			status = render_status(err);
			goto out;
		}
		if (gi >= 0)  /* else find_gain failed */
			o->settings.value[gi] = (float)tr.at.gain_db;
	}

	prog.label = "rendering";
	o->progress = on_progress;
	o->user = &prog;
	err = audio_render_file(mix, o, &lm, msg, sizeof(msg));
	if (prog.show)
		tui_progress_done();
	if (err == AUDIO_RENDER_ERROR_INPUT) {
		err = audio_clip_stream_finish(stream, msg, sizeof(msg));
		status = decode_error(in, err, msg);
		goto out;
	}
	if (err) {
		render_error(o->out_path, err, msg);
		status = render_status(err);
		goto out;
	}
	/* the render read every frame, so the decoding has ended well (a
	 * failure would have stopped the render) */
	err = audio_clip_stream_finish(stream, msg, sizeof(msg));
	if (err) {
		status = decode_error(in, err, msg);
		goto out;
	}
	if (mix->nonfinite > 0 && !quiet)
		tui_error("%s: warning: %lld non-finite samples (NaN/Inf) rendered as silence",
			  in, (long long)mix->nonfinite);
	if (!quiet) {
		char line[4096];

		audio_render_summary(line, sizeof(line), o->out_path, o, mix->rate, &lm,
				     jo.have_target ? &tr : NULL);
		puts(line);
		fflush(stdout);
	}
	{
		/* a safety net that should never fire: the limiter holds its
		 * ceiling, and after a rate conversion the guard does */
		int ci = chain_param_find("limiter.ceiling_dbtp");
		int oi = chain_param_find("limiter.on");
		double ceiling = ci >= 0 ? o->settings.value[ci] : 0.0;
		bool on = oi < 0 || o->settings.value[oi] >= 0.5f;

		if (on && isfinite(lm.true_peak_dbtp) && lm.true_peak_dbtp > ceiling + 0.05)
			tui_error("%s: warning: true peak %.2f dBTP is above the ceiling %.1f dBTP",
				  o->out_path, lm.true_peak_dbtp, ceiling);
	}

out:
	audio_clip_stream_free(&stream);
	tui_session_free(&sess);
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	if (interrupted && status != TUI_EXIT_OK) {
		/* end the way an uncaught signal would, for the shell's sake */
		int sig = interrupted;

		signal(sig, SIG_DFL);
		raise(sig);
	}
	return status;
}

/*
 * termaster — the headless command reader.
 *
 * Runs the same studio and engine as the screen, driven by one command a
 * line from a file or standard input:
 *
 *   play | pause | seek SECONDS | source mix|ref N | bypass on|off
 *   match on|off | monitor stereo|mono|side|left|right|swap|polarity
 *   platform ID|off (streaming-platform preview: spotify-normal, youtube …)
 *   system NAME|off | level DB | noise DB|off (playback-system simulation)
 *   codec mp3|opus|vorbis KBPS [artefacts] | codec off (codec preview)
 *   save [PATH] (the session: sources, chain, monitor state)
 *   bandsolo 1-6|off (listen to one band, matched within it)
 *   loop IN OUT | loop off | set PARAM VALUE
 *   playhead sync|independent | offset N SECONDS | align ref N
 *   match integrated|region|riding | trim mix|before|N DB
 *   cue N|mix add SECONDS | cue N|mix go I | cue N|mix remove I
 *   ref add PATH | ref remove N (referencing: audio/studio.h)
 *   wait SECONDS | status | quit
 *
 * Time is audio time.  The reader keeps a script clock in frames; `wait`
 * advances it, and every command is stamped with it
 * (audio_engine_schedule_at), so it takes effect at exactly that frame of
 * the output whatever the device's pace — a clocked card, JACK, or the
 * unclocked ALSA file plugin.  The reader itself only blocks where it must
 * report (status) or leave (quit, end of input): then it waits until the
 * engine has rendered up to the script clock.
 *
 * Before the first command it waits for every source to be decoded and
 * measured and for the processed mix to be measured, so scripts start
 * loudness-matched.  `set` waits for the re-measurement likewise.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "audio/engine.h"
#include "audio/studio.h"
#include "refs/align.h"
#include "chain/devsim.h"
#include "audio/renderjob.h"
#include "tui/apply.h"
#include "tui/session.h"
#include "tui/tui.h"

#define EXPECTED "play, pause, seek SECONDS, source mix|ref N, bypass on|off, " \
		 "match on|off, monitor MODE, platform ID|off, system NAME|off, level DB, " \
		 "noise DB|off, codec C KBPS|off, bandsolo N|off, loop IN OUT|off, " \
		 "set PARAM VALUE, save [PATH], open SESSION, " \
		 "snapshot store|recall|copy A-D [A-D], undo, redo, render OUT [OPTIONS], " \
		 "playhead sync|independent, offset N SECONDS, trim mix|before|N DB, " \
		 "align ref N, match integrated|region|riding, cue N add SECONDS|go I, " \
		 "ref add PATH|remove N, " \
		 "wait SECONDS, " \
		 "status, quit"

/* How far ahead of the audio a resumed script clock starts. */
#define HL_LEAD_S 0.05

struct hl {
	struct audio_studio *st;
	struct audio_engine *e;
	double rate;
	int64_t clock;         /* script clock, frames of audio */
	const char *name;      /* input name for messages */
	const char *session_path;  /* where `save` writes by default */
	bool loop_on;
	double loop_in, loop_out;
	/* the desk: undo, snapshots, open */
	struct tui_desk desk;
	bool has_desk;
	struct audio_studio_opts so;
	char session_buf[4096];
};

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* Wait (wall time) until the studio is idle. */
static void settle(struct hl *h)
{
	while (audio_studio_busy(h->st)) {
		audio_studio_poll(h->st);
		sleep_ms(2);
	}
	audio_studio_poll(h->st);
}

/* Wait until the engine has rendered up to the script clock. */
static void catch_up(struct hl *h)
{
	struct audio_engine_snapshot s;

	for (;;) {
		audio_studio_poll(h->st);
		audio_engine_snapshot(h->e, &s);
		if (s.rendered >= h->clock)
			return;
		sleep_ms(1);
	}
}

static void json_num(FILE *f, double v)
{
	if (isfinite(v))
		fprintf(f, "%.3f", v);
	else
		fputs("null", f);
}

static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			fprintf(f, "\\%c", ch);
		else if (ch < 0x20)
			fprintf(f, "\\u%04x", ch);
		else
			fputc(ch, f);
	}
	fputc('"', f);
}

/* ---- the desk: open, snapshots, undo, render ---- */

/* Undo groups: one step per script line (lines are 10 s apart for the
 * desk, more than its coalescing window). */
static double hl_desk_time(long lineno)
{
	return (double)lineno * 10.0;
}

static void hl_status_desk(struct hl *h, FILE *f)
{
	char used[TUI_SNAPSHOTS + 1];

	if (!h->has_desk)
		return;
	tui_desk_sync(&h->desk, 1e12);
	for (int i = 0; i < TUI_SNAPSHOTS; i++)
		used[i] = h->desk.snaps.used[i] ? tui_snapshot_letter(i) : '-';
	used[TUI_SNAPSHOTS] = '\0';
	fprintf(f, "\"snapshot\": ");
	if (h->desk.snaps.active >= 0) {
		char a[2] = { tui_snapshot_letter(h->desk.snaps.active), '\0' };

		json_str(f, a);
	} else {
		fputs("null", f);
	}
	fprintf(f, ", \"snapshot_is_current\": %s, \"snapshots\": \"%s\", \"undo\": %d, "
		"\"redo\": %d, ", tui_desk_is_current(&h->desk, h->desk.snaps.active) ?
		"true" : "false", used, tui_history_undo_depth(&h->desk.hist),
		tui_history_redo_depth(&h->desk.hist));
}

static int bad(struct hl *h, long line, const char *fmt, ...) TUI_FORMAT(3, 4);
static void settle(struct hl *h);
static void catch_up(struct hl *h);

/* open SESSION: a new studio for the session's mix and references (the
 * old one is closed first: one audio device at a time). */
static int hl_open(struct hl *h, const char *path, long lineno)
{
	struct tui_session sess;
	char msg[1024];
	int err = 0;

	tui_session_init(&sess);
	if (tui_session_load(path, &sess, msg, sizeof(msg)) ||
	    tui_session_check_files(&sess, msg, sizeof(msg))) {
		tui_session_free(&sess);
		return bad(h, lineno, "open: %s", msg);
	}
	catch_up(h);
	if (h->has_desk)
		tui_desk_free(&h->desk);
	h->has_desk = false;
	audio_studio_free(&h->st);
	h->st = audio_studio_new(sess.mix, &h->so, &err, msg, sizeof(msg));
	if (!h->st) {
		tui_session_free(&sess);
		return bad(h, lineno, "open: %s: %s", path, msg);
	}
	for (int i = 0; i < sess.n_refs; i++)
		audio_studio_add_ref(h->st, sess.refs[i]);
	h->e = audio_studio_engine(h->st);
	h->rate = audio_studio_rate(h->st);
	h->clock = 0;       /* a new engine: its audio clock starts again */
	settle(h);
	if (tui_session_apply(h->st, &sess, msg, sizeof(msg)))
		tui_error("%s: %s", path, msg);
	if (tui_desk_init(&h->desk, h->st) == 0) {
		h->has_desk = true;
		tui_desk_from_session(&h->desk, &sess);
	}
	settle(h);
	snprintf(h->session_buf, sizeof(h->session_buf), "%s", path);
	h->session_path = h->session_buf;
	tui_session_free(&sess);
	return 0;
}

/* render OUT [options]: the current chain, on the render worker, waited
 * for; prints the command line's summary line(s). */
static int hl_render(struct hl *h, int argc, char **argv, long lineno)
{
	struct audio_renderjob_opts o;
	struct audio_renderjob_state js;
	struct audio_renderjob *j;
	struct audio_source_info si;
	const char *mix_path;
	char msg[1024];
	int err;

	catch_up(h);    /* the settings as of the script's clock */
	audio_renderjob_opts_default(&o);
	o.render.settings = *audio_studio_settings(h->st);
	if (tui_render_parse(argc - 1, argv + 1, &o, msg, sizeof(msg)))
		return bad(h, lineno, "%s", msg);
	audio_studio_source(h->st, 0, &si);
	mix_path = strcmp(si.path, "(generated)") ? si.path : NULL;
	j = audio_renderjob_start(mix_path, mix_path ? NULL : audio_studio_mix_clip(h->st), &o,
				  &err, msg, sizeof(msg));
	if (!j)
		return bad(h, lineno, "render: %s: %s", o.render.out_path, msg);
	for (;;) {
		audio_renderjob_state(j, &js);
		if (js.phase == AUDIO_RENDERJOB_DONE)
			break;
		audio_studio_poll(h->st);
		sleep_ms(20);
	}
	audio_renderjob_free(&j);
	if (js.err)
		return bad(h, lineno, "render: %s", js.msg);
	printf("%s\n", js.msg);
	fflush(stdout);
	return 0;
}

static int hl_desk_cmd(struct hl *h, int argc, char **argv, long lineno)
{
	double t = hl_desk_time(lineno);
	int a, b, err;

	if (!strcmp(argv[0], "open")) {
		if (argc != 2)
			return bad(h, lineno, "open: expected SESSION (one path)");
		return hl_open(h, argv[1], lineno);
	}
	if (!strcmp(argv[0], "render")) {
		if (argc < 2)
			return bad(h, lineno, "render: expected OUT [options]");
		return hl_render(h, argc, argv, lineno);
	}
	if (!h->has_desk)
		return bad(h, lineno, "%s: out of memory for the undo history", argv[0]);
	if (!strcmp(argv[0], "undo") || !strcmp(argv[0], "redo")) {
		bool undo = argv[0][0] == 'u';

		if (argc != 1)
			return bad(h, lineno, "%s takes no arguments", argv[0]);
		err = undo ? tui_desk_undo(&h->desk, t) : tui_desk_redo(&h->desk, t);
		if (err == 1)
			return bad(h, lineno, "%s: nothing to %s", argv[0], argv[0]);
		if (err)
			return bad(h, lineno, "%s: the engine is busy", argv[0]);
		return 0;
	}
	/* snapshot store|recall A-D, snapshot copy A-D A-D */
	a = argc >= 3 ? tui_snapshot_index(argv[2]) : -1;
	b = argc >= 4 ? tui_snapshot_index(argv[3]) : -1;
	if (argc == 3 && a >= 0 && !strcmp(argv[1], "store")) {
		tui_desk_sync(&h->desk, t);
		tui_desk_store(&h->desk, a);
	} else if (argc == 3 && a >= 0 && !strcmp(argv[1], "recall")) {
		err = tui_desk_recall(&h->desk, a, t);
		if (err == 1)
			return bad(h, lineno, "snapshot recall: %s is empty (store it first)",
				   argv[2]);
		if (err)
			return bad(h, lineno, "snapshot recall: the engine is busy");
	} else if (argc == 4 && a >= 0 && b >= 0 && !strcmp(argv[1], "copy")) {
		if (tui_desk_copy(&h->desk, a, b))
			return bad(h, lineno, "snapshot copy: %s is empty", argv[2]);
	} else {
		return bad(h, lineno, "snapshot: expected store A-D, recall A-D or copy A-D A-D");
	}
	return 0;
}

/* ---- referencing ---- */

static bool parse_num(const char *s, double *v);

/* "mix" (0) or a reference number 1 … n-1; -1 when neither. */
static int hl_slot(struct hl *h, const char *s, bool mix_ok)
{
	double v;

	if (mix_ok && s && !strcmp(s, "mix"))
		return 0;
	if (!parse_num(s, &v) || v != floor(v) || v < 1 || v >= audio_studio_source_count(h->st))
		return -1;
	return (int)v;
}

static int hl_refs_cmd(struct hl *h, int argc, char **argv, long lineno)
{
	int n = audio_studio_source_count(h->st) - 1, slot;
	double v;
	char refs[48];  /* the references N may name, for the messages */

	if (n > 0)
		snprintf(refs, sizeof(refs), "from 1 to %d", n);
	else
		snprintf(refs, sizeof(refs), "(none is loaded)");
	if (!strcmp(argv[0], "playhead")) {
		if (argc == 2 && !strcmp(argv[1], "sync"))
			audio_studio_set_playhead(h->st, AUDIO_PLAYHEAD_SYNC);
		else if (argc == 2 && !strcmp(argv[1], "independent"))
			audio_studio_set_playhead(h->st, AUDIO_PLAYHEAD_INDEPENDENT);
		else
			return bad(h, lineno, "playhead: expected sync or independent, got '%s'",
				   argc > 1 ? argv[1] : "");
	} else if (!strcmp(argv[0], "offset")) {
		if (argc != 3 || (slot = hl_slot(h, argv[1], false)) < 0 || !parse_num(argv[2], &v) ||
		    audio_studio_set_offset(h->st, slot, v))
			return bad(h, lineno, "offset: expected N SECONDS with N a reference %s "
				   "and SECONDS a number (positive: the reference plays later)", refs);
	} else if (!strcmp(argv[0], "trim")) {
		int route = -1;

		if (argc == 3 && !strcmp(argv[1], "mix"))
			route = AUDIO_ROUTE_AFTER;
		else if (argc == 3 && !strcmp(argv[1], "before"))
			route = AUDIO_ROUTE_BEFORE;
		else if (argc == 3)
			route = hl_slot(h, argv[1], false);
		if (route < 0 || !parse_num(argv[2], &v) || audio_studio_set_trim(h->st, route, v))
			return bad(h, lineno, "trim: expected mix|before|N DB with N a reference %s and "
				   "DB within +-%.0f", refs, AUDIO_STUDIO_TRIM_MAX_DB);
	} else if (!strcmp(argv[0], "align")) {
		struct audio_source_info si;

		if (argc != 3 || strcmp(argv[1], "ref") || (slot = hl_slot(h, argv[2], false)) < 0 ||
		    audio_studio_align(h->st, slot))
			return bad(h, lineno, "align: expected ref N with N a reference %s", refs);
		settle(h);  /* the correlation runs on the worker */
		audio_studio_source(h->st, slot, &si);
		if (si.align_state != AUDIO_ALIGN_DONE)
			return bad(h, lineno, "align: ref %d: %s", slot,
				   si.error[0] ? si.error : audio_studio_notice(h->st));
		if (si.align_verdict != REFS_ALIGN_MATCH)
			tui_info("termaster: %s:%ld: align ref %d: %s (offset left at %.6f s)", h->name,
				 lineno, slot, refs_align_verdict_text((enum refs_align_verdict)si.align_verdict),
				 si.offset_s);
	} else if (!strcmp(argv[0], "cue")) {
		struct audio_source_info si;

		slot = argc >= 2 ? hl_slot(h, argv[1], true) : -1;
		if (slot >= 0)
			audio_studio_source(h->st, slot, &si);
		if (argc == 4 && slot >= 0 && !strcmp(argv[2], "add") && parse_num(argv[3], &v) &&
		    v >= 0) {
			if (audio_studio_add_cue(h->st, slot, v))
				return bad(h, lineno, "cue: %s has %d cues already (at most %d)", argv[1],
					   si.n_cues, AUDIO_STUDIO_CUES_MAX);
		} else if (argc == 4 && slot >= 0 && !strcmp(argv[2], "go") && parse_num(argv[3], &v) &&
			   v == floor(v) && v >= 1 && v <= si.n_cues) {
			audio_studio_go_cue(h->st, slot, (int)v - 1);
		} else if (argc == 4 && slot >= 0 && !strcmp(argv[2], "remove") &&
			   parse_num(argv[3], &v) && v == floor(v) && v >= 1 && v <= si.n_cues) {
			audio_studio_remove_cue(h->st, slot, (int)v - 1);
		} else {
			return bad(h, lineno, "cue: expected mix|N add SECONDS, mix|N go I or "
				   "mix|N remove I (N a reference %s, I a cue from 1)", refs);
		}
	} else if (!strcmp(argv[0], "ref")) {
		if (argc == 3 && !strcmp(argv[1], "add")) {
			struct audio_source_info si;

			slot = audio_studio_add_ref(h->st, argv[2]);
			if (slot < 0)
				return bad(h, lineno, "ref add: %s: too many references (at most %d)",
					   argv[2], AUDIO_SLOT_CODEC - 1);
			settle(h);  /* decoded and measured: matched from the next line */
			audio_studio_source(h->st, slot, &si);
			if (si.state == AUDIO_SOURCE_FAILED) {
				audio_studio_remove_ref(h->st, slot);
				settle(h);
				return bad(h, lineno, "ref add: %s: %s", argv[2], si.error);
			}
		} else if (argc == 3 && !strcmp(argv[1], "remove") &&
			   (slot = hl_slot(h, argv[2], false)) >= 0) {
			audio_studio_remove_ref(h->st, slot);
			settle(h);
		} else {
			return bad(h, lineno, "ref: expected add PATH or remove N (N a reference %s)", refs);
		}
	}
	return 0;
}

/* The referencing state for `status`. */
static void hl_status_refs(struct hl *h, FILE *f)
{
	struct audio_match_info m;
	int n = audio_studio_source_count(h->st);
	static const char *align_state[] = { "none", "running", "done", "failed" };

	audio_studio_match(h->st, &m);
	fprintf(f, "\"playhead\": \"%s\", \"match_method\": \"%s\", \"method_ready\": %s, "
		"\"residual_lu\": {\"after\": ",
		audio_studio_playhead(h->st) == AUDIO_PLAYHEAD_SYNC ? "sync" : "independent",
		audio_match_method_name(m.method), m.method_ready ? "true" : "false");
	json_num(f, m.residual_valid[AUDIO_ROUTE_AFTER] ? m.residual_lu[AUDIO_ROUTE_AFTER] : NAN);
	fprintf(f, ", \"before\": ");
	json_num(f, m.residual_valid[AUDIO_ROUTE_BEFORE] ? m.residual_lu[AUDIO_ROUTE_BEFORE] : NAN);
	fprintf(f, ", \"refs\": [");
	for (int i = 1; i < n; i++) {
		fputs(i > 1 ? ", " : "", f);
		json_num(f, m.residual_valid[i] ? m.residual_lu[i] : NAN);
	}
	fprintf(f, "]}, \"trim_db\": {\"mix\": ");
	json_num(f, audio_studio_trim(h->st, AUDIO_ROUTE_AFTER));
	fprintf(f, ", \"before\": ");
	json_num(f, audio_studio_trim(h->st, AUDIO_ROUTE_BEFORE));
	fprintf(f, "}, \"references\": [");
	for (int i = 1; i < n; i++) {
		struct audio_source_info si;

		audio_studio_source(h->st, i, &si);
		fprintf(f, "%s{\"ref\": %d, \"offset_s\": ", i > 1 ? ", " : "", i);
		json_num(f, si.offset_s);
		fprintf(f, ", \"trim_db\": ");
		json_num(f, si.trim_db);
		fprintf(f, ", \"released\": %s, \"align\": {\"state\": \"%s\"",
			si.released ? "true" : "false", align_state[si.align_state & 3]);
		if (si.align_state == AUDIO_ALIGN_DONE) {
			fprintf(f, ", \"offset_s\": ");
			json_num(f, si.align_offset_s);
			fprintf(f, ", \"peak\": ");
			json_num(f, si.align_peak);
			fprintf(f, ", \"verdict\": ");
			json_str(f, refs_align_verdict_text((enum refs_align_verdict)si.align_verdict));
		}
		fprintf(f, "}, \"loop\": {\"on\": %s, \"in_s\": ", si.loop_on ? "true" : "false");
		json_num(f, si.loop_in_s);
		fprintf(f, ", \"out_s\": ");
		json_num(f, si.loop_out_s);
		fprintf(f, "}, \"cues_s\": [");
		for (int c = 0; c < si.n_cues; c++) {
			fputs(c ? ", " : "", f);
			json_num(f, si.cue_s[c]);
		}
		fprintf(f, "]}");
	}
	fprintf(f, "], ");
}

static void status(struct hl *h)
{
	struct audio_engine_snapshot s;
	struct audio_match_info m;
	int n = audio_studio_source_count(h->st);
	FILE *f = stdout;

	catch_up(h);
	audio_engine_snapshot(h->e, &s);
	audio_studio_match(h->st, &m);
	fprintf(f, "{\"position_s\": ");
	json_num(f, (double)s.position / s.rate);
	fprintf(f, ", \"duration_s\": ");
	json_num(f, (double)s.length / s.rate);
	fprintf(f, ", \"rendered_s\": ");
	json_num(f, (double)s.rendered / s.rate);
	fprintf(f, ", \"playing\": %s", s.playing ? "true" : "false");
	if (s.source == 0 || AUDIO_IS_CODEC_SLOT(s.source))
		fprintf(f, ", \"source\": \"mix\"");
	else
		fprintf(f, ", \"source\": \"ref %d\"", s.source);
	fprintf(f, ", \"bypass\": %s, \"match\": %s, \"monitor\": \"%s\"",
		s.bypass ? "true" : "false", s.match ? "true" : "false",
		audio_monitor_name(s.monitor));
	fprintf(f, ", \"loop\": {\"on\": %s, \"in_s\": ", s.loop_on ? "true" : "false");
	json_num(f, (double)s.loop_in / s.rate);
	fprintf(f, ", \"out_s\": ");
	json_num(f, (double)s.loop_out / s.rate);
	fprintf(f, "}, \"bandsolo\": %d, \"codec\": ", s.band);
	{
		struct audio_codec_info ci;

		audio_studio_codec(h->st, &ci);
		if (!ci.active) {
			fputs("null", f);
		} else {
			fprintf(f, "{\"codec\": \"%s\", \"kbps\": %d, \"artefacts\": %s, \"playing\": %s, "
				"\"actual_kbps\": ", audio_codec_name(ci.codec), ci.bitrate_kbps,
				ci.artefacts ? "true" : "false",
				AUDIO_IS_CODEC_SLOT(s.source) ? "true" : "false");
			json_num(f, ci.actual_kbps);
			fprintf(f, ", \"true_peak_dbtp\": ");
			json_num(f, ci.true_peak_dbtp);
			fprintf(f, ", \"true_peak_rise_db\": ");
			json_num(f, ci.true_peak_rise_db);
			fprintf(f, ", \"match_gain_db\": ");
			json_num(f, ci.match_gain_db);
			fprintf(f, ", \"over_ceiling\": %d}", ci.over_count);
		}
	}
	fprintf(f, ", \"system\": ");
	if (audio_studio_system(h->st)[0])
		json_str(f, audio_studio_system(h->st));
	else
		fputs("null", f);
	fprintf(f, ", \"platform\": ");
	{
		struct audio_platform_info pi;

		audio_studio_platform(h->st, &pi);
		if (!pi.active) {
			fputs("null", f);
		} else {
			fputs("{\"id\": ", f);
			json_str(f, pi.rule.id);
			fprintf(f, ", \"target_lufs\": ");
			json_num(f, pi.rule.target_lufs);
			fputs(", \"sources\": [", f);
			for (int i = 0; i < n; i++) {
				const struct refs_platform_result *r =
					&pi.result[i == 0 ? AUDIO_ROUTE_AFTER : i];

				fprintf(f, "%s{\"gain_db\": ", i ? ", " : "");
				json_num(f, r->valid ? r->gain_db : NAN);
				fprintf(f, ", \"penalty_db\": ");
				json_num(f, r->valid ? r->penalty_db : NAN);
				fprintf(f, ", \"capped\": %s, \"limiter\": %s}",
					r->capped ? "true" : "false",
					r->limiter_engaged ? "true" : "false");
			}
			fputs("]}", f);
		}
	}
	fprintf(f, ", \"match_target_lufs\": ");
	json_num(f, m.result.target_lufs);
	fprintf(f, ", \"target_lowered\": %s", m.result.target_lowered ? "true" : "false");
	fprintf(f, ", \"after_lufs\": ");
	json_num(f, m.after_measured ? m.after.integrated_lufs : NAN);
	fprintf(f, ", \"gains_db\": {\"after\": ");
	json_num(f, s.gain_db[AUDIO_ROUTE_AFTER]);
	fprintf(f, ", \"before\": ");
	json_num(f, s.gain_db[AUDIO_ROUTE_BEFORE]);
	fprintf(f, ", \"refs\": [");
	for (int i = 1; i < n; i++) {
		if (i > 1)
			fputs(", ", f);
		json_num(f, s.gain_db[i]);
	}
	fprintf(f, "]}, \"sources\": [");
	for (int i = 0; i < n; i++) {
		struct audio_source_info in;

		audio_studio_source(h->st, i, &in);
		fprintf(f, "%s{\"name\": ", i ? ", " : "");
		json_str(f, in.name);
		fprintf(f, ", \"integrated_lufs\": ");
		json_num(f, in.measured ? in.loudness.integrated_lufs : NAN);
		fprintf(f, ", \"lra_lu\": ");
		json_num(f, in.measured ? in.loudness.lra_lu : NAN);
		fprintf(f, ", \"true_peak_dbtp\": ");
		json_num(f, in.measured ? in.loudness.true_peak_dbtp : NAN);
		fprintf(f, "}");
	}
	fprintf(f, "], \"gain_reduction_db\": {");
	{
		int first = 1;

		for (unsigned p = 0; p < s.n_procs; p++) {
			const struct chain_proc_ops *ops = chain_proc_ops_at(p);

			if (!ops->gain_reduction_db)
				continue;
			fprintf(f, "%s\"%s\": ", first ? "" : ", ", ops->name);
			json_num(f, s.proc_gr_db[p]);
			first = 0;
			if (ops->n_meters) {
				fprintf(f, ", \"%s_meters\": [", ops->name);
				for (unsigned k = 0; k < ops->n_meters && k < AUDIO_ENGINE_METERS; k++) {
					if (k)
						fputs(", ", f);
					json_num(f, s.proc_meter[p][k]);
				}
				fputs("]", f);
			}
		}
	}
	fprintf(f, "}, \"latency_frames\": %u, \"rate\": %.0f, \"xruns\": %llu, ",
		s.latency, s.rate, (unsigned long long)s.xruns);
	hl_status_desk(h, f);
	hl_status_refs(h, f);
	fprintf(f, "\"device\": ");
	json_str(f, audio_studio_output_status(h->st));
	fprintf(f, "}\n");
	fflush(f);
}

static int bad(struct hl *h, long line, const char *fmt, ...) TUI_FORMAT(3, 4);

static int bad(struct hl *h, long line, const char *fmt, ...)
{
	char what[768];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	tui_error("%s:%ld: %s", h->name, line, what);
	return -1;
}

static bool parse_num(const char *s, double *v)
{
	char *end;

	if (!s)
		return false;
	errno = 0;
	*v = strtod(s, &end);
	return *end == '\0' && end != s && errno == 0 && isfinite(*v);
}

static int on_off(const char *s)
{
	if (!s)
		return -1;
	if (!strcmp(s, "on"))
		return 1;
	if (!strcmp(s, "off"))
		return 0;
	return -1;
}

/* Returns 0 to go on, 1 to quit, -1 on a bad line. */
static int run_line(struct hl *h, char *line, long lineno)
{
	char *argv[24];
	int argc = 0;
	char *tok, *save = NULL;
	double v, v2;
	int b;

	for (tok = strtok_r(line, " \t\r\n", &save); tok && argc < 24;
	     tok = strtok_r(NULL, " \t\r\n", &save))
		argv[argc++] = tok;
	if (argc == 0 || argv[0][0] == '#')
		return 0;
	audio_studio_poll(h->st);
	{
		/* The script clock never lags the audio: after the reader has
		 * waited in wall time (start-up, `set`), it resumes a little
		 * ahead of the engine so the command still lands on its exact
		 * frame rather than on the next block boundary. */
		struct audio_engine_snapshot snap;

		audio_engine_snapshot(h->e, &snap);
		if (h->clock < snap.rendered)
			h->clock = snap.rendered + (int64_t)(HL_LEAD_S * h->rate);
	}
	audio_engine_schedule_at(h->e, h->clock);

	if (!strcmp(argv[0], "play") && argc == 1) {
		audio_engine_play(h->e, true);
	} else if (!strcmp(argv[0], "pause") && argc == 1) {
		audio_engine_play(h->e, false);
	} else if (!strcmp(argv[0], "seek")) {
		if (argc != 2 || !parse_num(argv[1], &v) || v < 0)
			return bad(h, lineno, "seek: expected SECONDS (a number >= 0), got '%s'",
				   argc > 1 ? argv[1] : "");
		audio_engine_seek(h->e, v);
	} else if (!strcmp(argv[0], "source")) {
		if (argc == 2 && !strcmp(argv[1], "mix")) {
			audio_studio_set_source(h->st, 0);
		} else if (argc == 3 && !strcmp(argv[1], "ref") && parse_num(argv[2], &v) &&
			   v == floor(v) && v >= 1 && v < audio_studio_source_count(h->st)) {
			audio_studio_set_source(h->st, (int)v);
		} else {
			char n[32];

			snprintf(n, sizeof(n), "%d", audio_studio_source_count(h->st) - 1);
			return bad(h, lineno, "source: expected 'mix' or 'ref N' with N from 1 to %s", n);
		}
	} else if (!strcmp(argv[0], "bypass")) {
		if (argc != 2 || (b = on_off(argv[1])) < 0)
			return bad(h, lineno, "bypass: expected on or off, got '%s'", argc > 1 ? argv[1] : "");
		audio_engine_set_bypass(h->e, b);
	} else if (!strcmp(argv[0], "match")) {
		int m = argc == 2 ? audio_match_method_find(argv[1]) : -1;

		if (m >= 0) {
			/* a method: matching on, by that method */
			audio_studio_set_match_method(h->st, (enum audio_match_method)m);
			audio_engine_set_match(h->e, true);
			settle(h);
		} else {
			if (argc != 2 || (b = on_off(argv[1])) < 0)
				return bad(h, lineno, "match: expected on, off, integrated, region or riding, "
					   "got '%s'", argc > 1 ? argv[1] : "");
			audio_engine_set_match(h->e, b);
		}
	} else if (!strcmp(argv[0], "monitor")) {
		int m = argc == 2 ? audio_monitor_find(argv[1]) : -1;

		if (m < 0)
			return bad(h, lineno, "monitor: expected stereo, mono, side, left, right, swap "
				   "or polarity, got '%s'", argc > 1 ? argv[1] : "");
		audio_engine_set_monitor(h->e, (enum audio_monitor)m);
	} else if (!strcmp(argv[0], "system")) {
		if (argc != 2 || audio_studio_set_system(h->st, argv[1])) {
			char names[512];
			size_t used = 0;

			names[0] = '\0';
			for (int i = 0; audio_studio_system_at(h->st, i); i++) {
				int w = snprintf(names + used, sizeof(names) - used, "%s, ",
						 audio_studio_system_at(h->st, i)->name);

				if (w < 0 || (size_t)w >= sizeof(names) - used)
					break;
				used += (size_t)w;
			}
			return bad(h, lineno, "system: expected %soff, got '%s'", names,
				   argc > 1 ? argv[1] : "");
		}
		settle(h);  /* the simulation is built on the worker */
	} else if (!strcmp(argv[0], "level")) {
		if (argc != 2 || !parse_num(argv[1], &v) ||
		    audio_studio_set_listen_level(h->st, (float)v))
			return bad(h, lineno, "level: expected the listening level in dB, %.0f … %.0f, got '%s'",
				   (double)CHAIN_DEVSIM_LEVEL_MIN_DB, (double)CHAIN_DEVSIM_LEVEL_MAX_DB,
				   argc > 1 ? argv[1] : "");
		settle(h);  /* re-measured through the system */
	} else if (!strcmp(argv[0], "noise")) {
		if (argc == 2 && !strcmp(argv[1], "off")) {
			audio_engine_set_road_noise(h->e, CHAIN_DEVSIM_NOISE_OFF_DB);
		} else if (argc != 2 || !parse_num(argv[1], &v) ||
			   audio_engine_set_road_noise(h->e, (float)v)) {
			return bad(h, lineno, "noise: expected the road-noise level in dB RMS (up to 0) or off, got '%s'",
				   argc > 1 ? argv[1] : "");
		}
	} else if (!strcmp(argv[0], "bandsolo")) {
		if (argc == 2 && !strcmp(argv[1], "off"))
			v = 0;
		else if (argc != 2 || !parse_num(argv[1], &v) || v != floor(v))
			v = -1;
		if (v < 0 || audio_studio_set_bandsolo(h->st, (int)v))
			return bad(h, lineno, "bandsolo: expected 1-6 (below 60 Hz, 60-250, 250-500, "
				   "500-2k, 2k-6k, above 6k Hz) or off");
		settle(h);  /* matched within the band */
	} else if (!strcmp(argv[0], "codec")) {
		int codec = -1;

		if (argc == 2 && !strcmp(argv[1], "off")) {
			audio_studio_set_codec(h->st, -1, 0, false);
		} else {
			if (argc >= 3) {
				if (!strcmp(argv[1], "mp3"))
					codec = AUDIO_CODEC_MP3;
				else if (!strcmp(argv[1], "opus"))
					codec = AUDIO_CODEC_OPUS;
				else if (!strcmp(argv[1], "vorbis"))
					codec = AUDIO_CODEC_VORBIS;
			}
			if (codec < 0 || !parse_num(argv[2], &v) || v != floor(v) ||
			    (argc == 4 && strcmp(argv[3], "artefacts")) || argc > 4 ||
			    audio_studio_set_codec(h->st, codec, (int)v, argc == 4))
				return bad(h, lineno, "codec: expected mp3|opus|vorbis KBPS [artefacts] or off");
		}
		/* encoding runs on the worker: wait for it */
		settle(h);
		{
			struct audio_codec_info ci;

			audio_studio_codec(h->st, &ci);
			if (ci.active && ci.err)
				return bad(h, lineno, "codec: %s", ci.msg);
		}
	} else if (!strcmp(argv[0], "platform")) {
		if (argc != 2 || audio_studio_set_platform(h->st, argv[1])) {
			char names[512];
			size_t used = 0;

			names[0] = '\0';
			for (int i = 0; audio_studio_platform_at(h->st, i); i++) {
				int w = snprintf(names + used, sizeof(names) - used, "%s, ",
						 audio_studio_platform_at(h->st, i)->id);

				if (w < 0 || (size_t)w >= sizeof(names) - used)
					break;
				used += (size_t)w;
			}
			return bad(h, lineno, "platform: expected %soff, got '%s'", names,
				   argc > 1 ? argv[1] : "");
		}
	} else if (!strcmp(argv[0], "loop")) {
		if (argc == 2 && !strcmp(argv[1], "off")) {
			h->loop_on = false;
			audio_studio_set_loop(h->st, h->loop_in, h->loop_out, false);
		} else if (argc == 3 && parse_num(argv[1], &v) && parse_num(argv[2], &v2) &&
			   v >= 0 && v2 > v) {
			if (audio_studio_set_loop(h->st, v, v2, true))
				return bad(h, lineno, "loop: the region is too short (at least %.2f s)",
					   2 * AUDIO_ENGINE_XFADE_MS / 1000.0);
			h->loop_on = true;
			h->loop_in = v;
			h->loop_out = v2;
		} else {
			return bad(h, lineno, "loop: expected IN OUT in seconds (IN < OUT) or 'off'");
		}
	} else if (!strcmp(argv[0], "set")) {
		struct chain_settings tmp = *audio_studio_settings(h->st);
		char msg[512];
		int idx;

		if (argc != 3)
			return bad(h, lineno, "set: expected PARAM VALUE (see 'termaster render --list-params')");
		if (chain_settings_set(&tmp, argv[1], argv[2], msg, sizeof(msg)))
			return bad(h, lineno, "set: %s", msg);
		idx = chain_param_find(argv[1]);
		audio_studio_set_param(h->st, (unsigned)idx, tmp.value[idx]);
		/* keep matching exact: wait for the processed mix to be re-measured */
		settle(h);
	} else if (!strcmp(argv[0], "wait")) {
		if (argc != 2 || !parse_num(argv[1], &v) || v < 0)
			return bad(h, lineno, "wait: expected SECONDS (a number >= 0), got '%s'",
				   argc > 1 ? argv[1] : "");
		{
			struct audio_match_info mi;

			audio_studio_match(h->st, &mi);
			if (mi.method == AUDIO_MATCH_RIDING) {
				/* riding gains follow the playhead: step the
				 * script in 50 ms of audio, letting the studio
				 * see each position (wall time: as fast as the
				 * device plays), up to half a second before the
				 * end, so that the next command is posted
				 * ahead of the audio again and lands on its
				 * frame */
				int64_t end = h->clock + (int64_t)llround(v * h->rate);
				int64_t step = (int64_t)llround(0.05 * h->rate);
				int64_t margin = (int64_t)llround(0.5 * h->rate);

				while (end - h->clock > margin + step) {
					h->clock += step;
					catch_up(h);
					audio_engine_schedule_at(h->e, h->clock);
				}
				h->clock = end;
			} else {
				h->clock += (int64_t)llround(v * h->rate);
			}
		}
	} else if (!strcmp(argv[0], "status") && argc == 1) {
		status(h);
	} else if (!strcmp(argv[0], "save")) {
		struct tui_session sess;
		const char *path = argc == 2 ? argv[1] : h->session_path;
		char msg[1024];
		int err;

		if (argc > 2 || !path)
			return bad(h, lineno, "save: expected PATH (no session was opened to save to)");
		catch_up(h);  /* the state as of the script's clock */
		tui_session_init(&sess);
		snprintf(msg, sizeof(msg), "out of memory");
		err = tui_session_capture(h->st, &sess);
		if (!err && h->has_desk)
			tui_desk_to_session(&h->desk, &sess);
		err = err || tui_session_save(path, &sess, msg, sizeof(msg));
		tui_session_free(&sess);
		if (err)
			return bad(h, lineno, "save: %s", msg);
	} else if (!strcmp(argv[0], "open") || !strcmp(argv[0], "snapshot") ||
		   !strcmp(argv[0], "undo") || !strcmp(argv[0], "redo") ||
		   !strcmp(argv[0], "render")) {
		return hl_desk_cmd(h, argc, argv, lineno);
	} else if (!strcmp(argv[0], "playhead") || !strcmp(argv[0], "offset") ||
		   !strcmp(argv[0], "trim") || !strcmp(argv[0], "align") ||
		   !strcmp(argv[0], "cue") || !strcmp(argv[0], "ref")) {
		int r = hl_refs_cmd(h, argc, argv, lineno);

		if (r)
			return r;
	} else if (!strcmp(argv[0], "quit") && argc == 1) {
		return 1;
	} else {
		return bad(h, lineno, "unknown command '%s'; expected " EXPECTED, argv[0]);
	}
	if (h->has_desk)
		tui_desk_sync(&h->desk, hl_desk_time(lineno));   /* one undo step a line */
	return 0;
}

int tui_headless_run(const struct tui_opts *o)
{
	struct audio_studio_opts so;
	struct audio_engine_snapshot snap;
	struct hl h;
	char msg[512];
	char *line = NULL;
	size_t cap = 0;
	long lineno = 0;
	int err = 0, status_code = TUI_EXIT_OK;
	FILE *in;

	memset(&h, 0, sizeof(h));
	audio_studio_opts_default(&so);
	so.device = o->device;
	so.buffer_frames = o->buffer_frames;
	so.rate = o->rate;
	so.no_device = o->no_device;
	h.so = so;

	if (!strcmp(o->commands, "-")) {
		in = stdin;
		h.name = "<stdin>";
	} else {
		in = fopen(o->commands, "r");
		if (!in) {
			tui_error("%s: %s", o->commands, strerror(errno));
			return TUI_EXIT_USAGE;
		}
		h.name = o->commands;
	}

	h.st = audio_studio_new(o->demo ? NULL : o->mix, &so, &err, msg, sizeof(msg));
	if (!h.st) {
		tui_error("%s: %s", o->mix ? o->mix : "demo", msg);
		if (in != stdin)
			fclose(in);
		return err == AUDIO_STUDIO_ERROR_MIX ? TUI_EXIT_USAGE : TUI_EXIT_FAIL;
	}
	for (int i = 0; i < o->n_refs; i++)
		if (audio_studio_add_ref(h.st, o->refs[i]) < 0) {
			tui_error("%s: too many references (at most %d)", o->refs[i],
				  AUDIO_MAX_SOURCES - 1);
			status_code = TUI_EXIT_USAGE;
			goto out;
		}
	h.e = audio_studio_engine(h.st);
	h.rate = audio_studio_rate(h.st);
	if (!audio_studio_has_device(h.st))
		tui_info("termaster: %s", audio_studio_output_status(h.st));
	if (audio_studio_notice(h.st)[0])
		tui_info("termaster: %s", audio_studio_notice(h.st));

	settle(&h);
	h.session_path = o->session_path;
	if (o->session) {
		if (tui_session_apply(h.st, o->session, msg, sizeof(msg)))
			tui_error("%s: %s", o->session_path, msg);
		settle(&h);
	}
	for (int i = 0; i < audio_studio_source_count(h.st); i++) {
		struct audio_source_info si;

		audio_studio_source(h.st, i, &si);
		if (si.state == AUDIO_SOURCE_FAILED) {
			tui_error("%s: %s", si.path, si.error);
			status_code = TUI_EXIT_USAGE;
		} else if (si.nonfinite) {
			tui_info("termaster: %s: %lld non-finite samples (NaN/Inf) replaced by silence",
				 si.path, (long long)si.nonfinite);
		}
	}
	if (status_code)
		goto out;
	if (tui_desk_init(&h.desk, h.st) == 0) {
		h.has_desk = true;
		if (o->session)
			tui_desk_from_session(&h.desk, o->session);
	}

	audio_engine_snapshot(h.e, &snap);
	h.clock = 0;  /* resumes just ahead of the audio at the first command */
	while (getline(&line, &cap, in) != -1) {
		int r;

		lineno++;
		r = run_line(&h, line, lineno);
		if (r < 0) {
			status_code = TUI_EXIT_USAGE;
			break;
		}
		if (r > 0)
			break;
	}
	if (!status_code) {
		/* let the script's audio play out before leaving */
		audio_engine_schedule_at(h.e, 0);
		catch_up(&h);
	}
out:
	free(line);
	if (in != stdin)
		fclose(in);
	if (h.has_desk)
		tui_desk_free(&h.desk);
	audio_studio_free(&h.st);
	return status_code;
}

/*
 * termaster — a session's settings onto the studio, and the studio's state
 * into a session (shared by the screen and the headless reader).
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audio/clip.h"
#include "audio/renderjob.h"
#include "audio/studio.h"
#include "chain/chain.h"
#include "tui/apply.h"
#include "tui/session.h"
#include "tui/tui.h"

int tui_session_apply(struct audio_studio *st, const struct tui_session *s, char *msg, size_t len)
{
	struct audio_engine *e = audio_studio_engine(st);

	audio_studio_set_settings(st, &s->chain);
	/* the references' offsets, trims, loops and cues: slot r + 1 */
	for (int r = 0; r < s->n_refs && r + 1 < audio_studio_source_count(st); r++) {
		int slot = r + 1;

		audio_studio_set_offset(st, slot, s->ref_offset_s[r]);
		if (!s->ref)
			continue;
		audio_studio_set_trim(st, slot, s->ref[r].trim_db);
		if (s->ref[r].loop_in_s < s->ref[r].loop_out_s)
			audio_engine_set_slot_loop(e, slot, s->ref[r].loop_in_s,
						   s->ref[r].loop_out_s, s->ref[r].loop_on);
		for (int c = 0; c < s->ref[r].n_cues; c++)
			audio_studio_add_cue(st, slot, s->ref[r].cue_s[c]);
	}
	if (!s->has_monitor)
		return 0;
	audio_studio_set_playhead(st, (enum audio_playhead)s->playhead);
	audio_studio_set_match_method(st, (enum audio_match_method)s->method);
	audio_engine_set_match(e, s->match);
	audio_engine_set_monitor(e, (enum audio_monitor)s->monitor);
	audio_studio_set_listen_level(st, (float)s->level_db);
	if (s->system[0] && audio_studio_set_system(st, s->system)) {
		snprintf(msg, len, "playback system '%s' is not known here", s->system);
		return -1;
	}
	if (s->platform[0] && audio_studio_set_platform(st, s->platform)) {
		snprintf(msg, len, "platform '%s' is not known here", s->platform);
		return -1;
	}
	if (s->bandsolo)
		audio_studio_set_bandsolo(st, s->bandsolo);
	return 0;
}

int tui_session_capture(struct audio_studio *st, struct tui_session *s)
{
	struct audio_engine_snapshot snap;
	struct audio_platform_info pi;
	struct audio_match_info mi;
	struct audio_source_info si;
	int n = audio_studio_source_count(st);

	audio_engine_snapshot(audio_studio_engine(st), &snap);
	audio_studio_platform(st, &pi);
	s->chain = *audio_studio_settings(st);
	if (n > 0) {
		audio_studio_source(st, 0, &si);
		if (strcmp(si.path, "(generated)") != 0 && tui_session_set_mix(s, si.path))
			return -1;
	}
	for (int i = 1; i < n; i++) {
		audio_studio_source(st, i, &si);
		if (!strcmp(si.path, "(generated)"))
			continue;
		if (tui_session_add_ref(s, si.path, si.offset_s))
			return -1;
		{
			struct tui_session_ref *x = &s->ref[s->n_refs - 1];

			x->trim_db = si.trim_db;
			if (si.loop_in_s < si.loop_out_s) {
				x->loop_on = si.loop_on;
				x->loop_in_s = si.loop_in_s;
				x->loop_out_s = si.loop_out_s;
			}
			x->n_cues = si.n_cues < TUI_SESSION_CUES_MAX ? si.n_cues :
				    TUI_SESSION_CUES_MAX;
			for (int c = 0; c < x->n_cues; c++)
				x->cue_s[c] = si.cue_s[c];
		}
	}
	s->has_monitor = true;
	s->match = snap.match;
	s->monitor = (int)snap.monitor;
	s->bandsolo = snap.band;
	s->level_db = audio_studio_listen_level(st);
	snprintf(s->system, sizeof(s->system), "%s", audio_studio_system(st));
	snprintf(s->platform, sizeof(s->platform), "%s", pi.active ? pi.rule.id : "");
	s->playhead = (int)audio_studio_playhead(st);
	audio_studio_match(st, &mi);
	s->method = (int)mi.method;
	return 0;
}

/* ---- the desk ---- */

/* The one parameter in which a and b differ (its index + 1), 0 when none
 * or several differ. */
static int one_difference(const struct chain_settings *a, const struct chain_settings *b)
{
	int found = 0;

	for (unsigned i = 0; i < chain_param_count(); i++) {
		if (a->value[i] != b->value[i]) {
			if (found)
				return 0;
			found = (int)i + 1;
		}
	}
	return found;
}

static bool same_settings(const struct chain_settings *a, const struct chain_settings *b)
{
	return memcmp(a->value, b->value, chain_param_count() * sizeof(a->value[0])) == 0;
}

int tui_desk_init(struct tui_desk *d, struct audio_studio *st)
{
	memset(d, 0, sizeof(*d));
	d->st = st;
	tui_snapshots_init(&d->snaps);
	if (tui_history_init(&d->hist))
		return -1;
	d->seen = *audio_studio_settings(st);
	return 0;
}

void tui_desk_free(struct tui_desk *d)
{
	tui_history_free(&d->hist);
}

bool tui_desk_sync(struct tui_desk *d, double t)
{
	const struct chain_settings *now = audio_studio_settings(d->st);

	if (same_settings(now, &d->seen))
		return false;
	tui_history_record(&d->hist, &d->seen, one_difference(now, &d->seen), t);
	d->seen = *now;
	d->changes++;
	return true;
}

int tui_desk_set_param(struct tui_desk *d, unsigned idx, float value, double t)
{
	int err;

	tui_desk_sync(d, t);
	err = audio_studio_set_param(d->st, idx, value);
	tui_desk_sync(d, t);
	return err;
}

int tui_desk_set_settings(struct tui_desk *d, const struct chain_settings *s, double t)
{
	int err;

	tui_desk_sync(d, t);
	err = audio_studio_set_settings(d->st, s);
	if (!err && !same_settings(audio_studio_settings(d->st), &d->seen)) {
		/* one step, never merged with a single-parameter change */
		tui_history_record(&d->hist, &d->seen, 0, t);
		d->seen = *audio_studio_settings(d->st);
		d->changes++;
	}
	return err;
}

/* Undo and redo set the settings without recording them as a change. */
static int desk_jump(struct tui_desk *d, bool undo, double t)
{
	struct chain_settings now;
	int err;

	tui_desk_sync(d, t);
	now = d->seen;
	if (!(undo ? tui_history_undo(&d->hist, &now) : tui_history_redo(&d->hist, &now)))
		return 1;
	err = audio_studio_set_settings(d->st, &now);
	if (err) {
		/* put the step back where it was */
		struct chain_settings back = now;

		if (undo)
			tui_history_redo(&d->hist, &back);
		else
			tui_history_undo(&d->hist, &back);
		return err;
	}
	d->seen = *audio_studio_settings(d->st);
	d->changes++;
	return 0;
}

int tui_desk_undo(struct tui_desk *d, double t)
{
	return desk_jump(d, true, t);
}

int tui_desk_redo(struct tui_desk *d, double t)
{
	return desk_jump(d, false, t);
}

int tui_desk_store(struct tui_desk *d, int i)
{
	if (i < 0 || i >= TUI_SNAPSHOTS)
		return 1;
	d->snaps.s[i] = *audio_studio_settings(d->st);
	d->snaps.used[i] = true;
	d->snaps.active = i;
	d->changes++;
	/* measured now, so that a later recall is matched at once */
	audio_studio_premeasure(d->st, &d->snaps.s[i]);
	return 0;
}

/* Shift every route's trim to carry `offset` instead of the current one. */
static void desk_set_offset(struct tui_desk *d, double offset)
{
	int n = audio_studio_source_count(d->st);

	if (offset == d->offset_db)
		return;
	audio_studio_set_trim(d->st, AUDIO_ROUTE_AFTER,
			      tui_desk_user_trim(d, AUDIO_ROUTE_AFTER) + offset);
	audio_studio_set_trim(d->st, AUDIO_ROUTE_BEFORE,
			      tui_desk_user_trim(d, AUDIO_ROUTE_BEFORE) + offset);
	for (int r = 1; r < n; r++)
		audio_studio_set_trim(d->st, r, tui_desk_user_trim(d, r) + offset);
	d->offset_db = offset;
}

double tui_desk_user_trim(const struct tui_desk *d, int route)
{
	return audio_studio_trim(d->st, route) - d->offset_db;
}

/* The loudness of the processed mix with the settings now in use, once
 * the studio has it (a premeasured snapshot: at the first poll). */
static bool desk_after_lufs(struct tui_desk *d, double *lufs)
{
	struct audio_match_info mi;

	audio_studio_poll(d->st);
	audio_studio_match(d->st, &mi);
	if (!mi.after_measured || mi.after_pending || !isfinite(mi.after.integrated_lufs))
		return false;
	*lufs = mi.after.integrated_lufs;
	return true;
}

/* The first snapshot recalled (and measured) sets the anchor. */
static void desk_anchor(struct tui_desk *d, double lufs)
{
	if (!d->anchored) {
		d->anchored = true;
		d->anchor_lufs = lufs + d->offset_db;
	}
}

int tui_desk_recall(struct tui_desk *d, int i, double t)
{
	double lufs, was = d->offset_db;
	int err;

	if (i < 0 || i >= TUI_SNAPSHOTS || !d->snaps.used[i])
		return 1;
	if (audio_studio_measured_lufs(d->st, &d->snaps.s[i], &lufs)) {
		/* Measured (the usual case: snapshots are measured when
		 * stored): the trims first, then the settings; the studio
		 * sends the parameters and, behind them in the same batch,
		 * the match gains with these trims, which the engine lands
		 * where the parameters are heard and glides as the chain's
		 * gain does — heard at the anchor's level throughout, with
		 * no swell while the chain catches up. */
		desk_anchor(d, lufs);
		desk_set_offset(d, d->anchor_lufs - lufs);
		err = tui_desk_set_settings(d, &d->snaps.s[i], t);
		if (err) {
			desk_set_offset(d, was);
			return err;
		}
		d->snaps.active = i;
		return 0;
	}
	audio_studio_premeasure(d->st, &d->snaps.s[i]);
	err = tui_desk_set_settings(d, &d->snaps.s[i], t);
	if (err)
		return err;
	d->snaps.active = i;
	/* not measured yet: matched (with a plain gain ramp) once the
	 * measurement is in, if it is already at the next poll */
	if (desk_after_lufs(d, &lufs)) {
		desk_anchor(d, lufs);
		desk_set_offset(d, d->anchor_lufs - lufs);
	}
	return 0;
}

int tui_desk_copy(struct tui_desk *d, int from, int to)
{
	if (from < 0 || from >= TUI_SNAPSHOTS || to < 0 || to >= TUI_SNAPSHOTS ||
	    !d->snaps.used[from])
		return 1;
	d->snaps.s[to] = d->snaps.s[from];
	d->snaps.used[to] = true;
	d->changes++;
	return 0;
}

int tui_desk_next_snapshot(const struct tui_desk *d)
{
	for (int k = 1; k <= TUI_SNAPSHOTS; k++) {
		int i = ((d->snaps.active < 0 ? -1 : d->snaps.active) + k + TUI_SNAPSHOTS) %
			TUI_SNAPSHOTS;

		if (d->snaps.used[i])
			return i;
	}
	return -1;
}

bool tui_desk_is_current(const struct tui_desk *d, int i)
{
	return i >= 0 && i < TUI_SNAPSHOTS && d->snaps.used[i] &&
	       same_settings(&d->snaps.s[i], audio_studio_settings(d->st));
}

void tui_desk_from_session(struct tui_desk *d, const struct tui_session *s)
{
	for (int i = 0; i < TUI_SNAPSHOTS && i < TUI_SESSION_SNAPSHOTS; i++) {
		d->snaps.used[i] = s->has_snapshot[i];
		if (s->has_snapshot[i]) {
			d->snaps.s[i] = s->snapshot[i];
			audio_studio_premeasure(d->st, &d->snaps.s[i]);
		}
	}
}

void tui_desk_to_session(const struct tui_desk *d, struct tui_session *s)
{
	for (int r = 0; r < s->n_refs && s->ref; r++)
		s->ref[r].trim_db -= d->offset_db;
	for (int i = 0; i < TUI_SNAPSHOTS && i < TUI_SESSION_SNAPSHOTS; i++) {
		s->has_snapshot[i] = d->snaps.used[i];
		if (d->snaps.used[i])
			s->snapshot[i] = d->snaps.s[i];
	}
}

/* ---- render options ---- */

/* A finite number in lo … hi for option `opt`. */
static int num_in(const char *opt, const char *v, double lo, double hi, const char *unit,
		  double *out, char *msg, size_t len)
{
	char *end;
	double x = strtod(v, &end);

	if (end == v || *end || !isfinite(x)) {
		snprintf(msg, len, "%s: '%s' is not a number", opt, v);
		return -1;
	}
	if (x < lo || x > hi) {
		snprintf(msg, len, "%s: %g is out of range %g … %g %s", opt, x, lo, hi, unit);
		return -1;
	}
	*out = x;
	return 0;
}

int tui_render_option(struct audio_renderjob_opts *o, const char *name, const char *val,
		      bool *max_gr, char *msg, size_t len)
{
	struct audio_render_opts *r = &o->render;
	char why[512];
	double v;

	static const char *const known[] = {
		"--force", "--no-dither", "--set", "--ceiling-dbtp", "--bits", "--rate",
		"--dither", "--target-lufs", "--max-gr-db",
	};
	size_t k = 0;

	while (k < sizeof(known) / sizeof(known[0]) && strcmp(name, known[k]))
		k++;
	if (k == sizeof(known) / sizeof(known[0])) {
		snprintf(msg, len, "render: unknown option '%s'", name);
		return -1;
	}
	if (!strcmp(name, "--force")) {
		r->force = true;
	} else if (!strcmp(name, "--no-dither")) {
		r->dither = AUDIO_RENDER_DITHER_NONE;
	} else if (!val) {
		snprintf(msg, len, "render: %s needs a value", name);
		return -1;
	} else if (!strcmp(name, "--set")) {
		if (chain_settings_assign(&r->settings, val, why, sizeof(why))) {
			snprintf(msg, len, "--set: %s", why);
			return -1;
		}
	} else if (!strcmp(name, "--ceiling-dbtp")) {
		if (chain_settings_set(&r->settings, "limiter.ceiling_dbtp", val, why, sizeof(why))) {
			snprintf(msg, len, "--ceiling-dbtp: %s", why);
			return -1;
		}
	} else if (!strcmp(name, "--bits")) {
		if (strcmp(val, "16") && strcmp(val, "24") && strcmp(val, "32")) {
			snprintf(msg, len, "--bits: '%s' is not 16, 24 or 32", val);
			return -1;
		}
		r->bits = atoi(val);
	} else if (!strcmp(name, "--rate")) {
		char *end;

		v = strtod(val, &end);
		if (end == val || *end || !isfinite(v) || v != floor(v) ||
		    v < AUDIO_CLIP_MIN_RATE || v > AUDIO_CLIP_MAX_RATE) {
			snprintf(msg, len, "--rate: '%s' is not a sample rate (whole Hz, %d … %d)",
				 val, AUDIO_CLIP_MIN_RATE, AUDIO_CLIP_MAX_RATE);
			return -1;
		}
		r->rate = v;
	} else if (!strcmp(name, "--dither")) {
		if (!strcmp(val, "tpdf"))
			r->dither = AUDIO_RENDER_DITHER_TPDF;
		else if (!strcmp(val, "shaped"))
			r->dither = AUDIO_RENDER_DITHER_SHAPED;
		else if (!strcmp(val, "none"))
			r->dither = AUDIO_RENDER_DITHER_NONE;
		else {
			snprintf(msg, len, "--dither: '%s' is not tpdf, shaped or none", val);
			return -1;
		}
	} else if (!strcmp(name, "--target-lufs")) {
		if (num_in("--target-lufs", val, -60, 0, "LUFS", &o->target_lufs, msg, len))
			return -1;
		o->have_target = true;
	} else if (!strcmp(name, "--max-gr-db")) {
		if (num_in("--max-gr-db", val, 0, 24, "dB", &o->max_gr_db, msg, len))
			return -1;
		*max_gr = true;
	}
	return 0;
}

int tui_render_parse(int argc, char **argv, struct audio_renderjob_opts *o, char *msg,
		     size_t len)
{
	bool max_gr = false;

	if (argc < 1 || !argv[0][0] || argv[0][0] == '-') {
		snprintf(msg, len, "render: expected the output file first (render OUT [options])");
		return -1;
	}
	o->render.out_path = argv[0];
	for (int i = 1; i < argc; i++) {
		char *opt = argv[i], *val = NULL, *eq = strchr(opt, '=');
		char name[32];
		bool flag;

		if (strncmp(opt, "--", 2)) {
			snprintf(msg, len, "render: '%s' is not an option (one OUT only)", opt);
			return -1;
		}
		snprintf(name, sizeof(name), "%.*s", eq ? (int)(eq - opt) : (int)strlen(opt), opt);
		flag = !strcmp(name, "--force") || !strcmp(name, "--no-dither");
		if (flag && eq) {
			snprintf(msg, len, "%s takes no value", name);
			return -1;
		}
		if (eq)
			val = eq + 1;
		else if (!flag && i + 1 < argc)
			val = argv[++i];
		if (tui_render_option(o, name, val, &max_gr, msg, len))
			return -1;
	}
	if (max_gr && !o->have_target) {
		snprintf(msg, len, "--max-gr-db: only with --target-lufs");
		return -1;
	}
	return 0;
}

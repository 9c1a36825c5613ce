/*
 * termaster — a session's settings onto the studio, and the studio's state
 * into a session (shared by the screen and the headless reader).
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "audio/studio.h"
#include "chain/chain.h"
#include "tui/session.h"
#include "tui/tui.h"

int tui_session_apply(struct audio_studio *st, const struct tui_session *s, char *msg, size_t len)
{
	struct audio_engine *e = audio_studio_engine(st);
	unsigned n = chain_param_count();

	for (unsigned i = 0; i < n; i++)
		audio_studio_set_param(st, i, s->chain.value[i]);
	if (!s->has_monitor)
		return 0;
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
		if (strcmp(si.path, "(generated)") != 0 && tui_session_add_ref(s, si.path, 0.0))
			return -1;
	}
	s->has_monitor = true;
	s->match = snap.match;
	s->monitor = (int)snap.monitor;
	s->bandsolo = snap.band;
	s->level_db = audio_studio_listen_level(st);
	snprintf(s->system, sizeof(s->system), "%s", audio_studio_system(st));
	snprintf(s->platform, sizeof(s->platform), "%s", pi.active ? pi.rule.id : "");
	return 0;
}

/*
 * termaster — unit test: the session file (tui/session.c).
 *
 * Round trip of random chain settings bit for bit and byte for byte,
 * relative paths, the malformed corpus in tests/sessions/ (each with its
 * exact "FILE:LINE:" and a key phrase), atomic save (a crash mid-write and a
 * failing write leave the old file; a child SIGKILLed while writing a large
 * session leaves the old or the new file), and a loader fuzz on mutated
 * files.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <locale.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "chain/chain.h"
#include "tests/util.h"
#include "tui/session.h"

static uint32_t rng_state = 0x9e3779b9u;

static uint32_t rng(void)
{
	uint32_t x = rng_state;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return rng_state = x;
}

static double unif(void)
{
	return (rng() >> 8) / 16777216.0;
}

static char *read_all(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	char *b;
	long sz;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	sz = ftell(f);
	rewind(f);
	b = malloc((size_t)sz + 1);
	if (!b || fread(b, 1, (size_t)sz, f) != (size_t)sz) {
		free(b);
		fclose(f);
		return NULL;
	}
	fclose(f);
	b[sz] = '\0';
	if (n)
		*n = (size_t)sz;
	return b;
}

static void write_file(const char *path, const void *data, size_t n)
{
	FILE *f = fopen(path, "wb");

	if (!f || fwrite(data, 1, n, f) != n || fclose(f)) {
		perror(path);
		exit(99);
	}
}

static void touch(const char *path)
{
	write_file(path, "RIFF", 4);
}

static void mkdir_p(const char *path)
{
	if (mkdir(path, 0700) && errno != EEXIST) {
		perror(path);
		exit(99);
	}
}

/* Files in `dir` whose name starts with `prefix`. */
static int count_prefixed(const char *dir, const char *prefix)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (!strncmp(e->d_name, prefix, strlen(prefix)))
			n++;
	closedir(d);
	return n;
}

static void remove_prefixed(const char *dir, const char *prefix)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char p[PATH_MAX + 300];

	if (!d)
		return;
	while ((e = readdir(d))) {
		if (strncmp(e->d_name, prefix, strlen(prefix)))
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
		unlink(p);
	}
	closedir(d);
}

/* A random value within parameter i's range: choices as whole numbers,
 * numbers uniform, at the ends, at the default, or tiny. */
static float random_value(unsigned i)
{
	const struct chain_param *p = chain_param_at(i)->param;
	double u = unif();

	if (p->choices)
		return p->min + (float)(rng() % (unsigned)lroundf(p->max - p->min + 1));
	switch (rng() % 8) {
	case 0:
		return p->min;
	case 1:
		return p->max;
	case 2:
		return p->def;
	case 3: /* close to min: many digits */
		return chain_param_clamp(i, (float)(p->min + (p->max - p->min) * pow(u, 12)));
	default:
		return chain_param_clamp(i, (float)(p->min + (p->max - p->min) * u));
	}
}

/* Trim, loop and cues of a reference: none, or random within range. */
static void random_ref_extra(struct tui_session_ref *x)
{
	memset(x, 0, sizeof(*x));
	if (rng() % 2)
		x->trim_db = (unif() - 0.5) * 2 * TUI_SESSION_TRIM_MAX_DB;
	if (rng() % 2) {
		x->loop_on = rng() % 2;
		x->loop_in_s = unif() * 100;
		x->loop_out_s = x->loop_in_s + 0.001 + unif() * 100;
	}
	x->n_cues = (int)(rng() % (TUI_SESSION_CUES_MAX + 1));
	for (int c = 0; c < x->n_cues; c++)
		x->cue_s[c] = c * 10.0 + unif() * 10.0;   /* sorted */
}

static void random_session(struct tui_session *s, const char *mixdir)
{
	char p[PATH_MAX];
	int n = (int)(rng() % 4);

	for (unsigned i = 0; i < chain_param_count(); i++)
		s->chain.value[i] = random_value(i);
	snprintf(p, sizeof(p), "%s/mix %u.wav", mixdir, rng() % 1000);
	tui_session_set_mix(s, p);
	for (int r = 0; r < n; r++) {
		snprintf(p, sizeof(p), "%s/ref-%d.flac", mixdir, r);
		tui_session_add_ref(s, p, rng() % 2 ? 0 : (unif() - 0.5) * 100);
		random_ref_extra(&s->ref[r]);
	}
	s->has_monitor = rng() % 4 != 0;
	s->match = rng() % 2;
	s->monitor = (int)(rng() % TUI_SESSION_MONITOR_COUNT);
	snprintf(s->system, sizeof(s->system), "%s", rng() % 2 ? "car" : "");
	snprintf(s->platform, sizeof(s->platform), "%s", rng() % 2 ? "spotify-normal" : "");
	s->level_db = -60 * unif();
	s->bandsolo = (int)(rng() % 7);
	s->playhead = (int)(rng() % TUI_SESSION_PLAYHEAD_COUNT);
	s->method = (int)(rng() % TUI_SESSION_METHOD_COUNT);
	for (int i = 0; i < TUI_SESSION_SNAPSHOTS; i++) {
		s->has_snapshot[i] = rng() % 2;
		for (unsigned k = 0; k < chain_param_count(); k++)
			s->snapshot[i].value[k] = s->has_snapshot[i] ? random_value(k) :
							 chain_param_at(k)->param->def;
	}
}

static void same_session(const char *what, const struct tui_session *a,
			 const struct tui_session *b)
{
	unsigned bad = 0;

	for (unsigned i = 0; i < chain_param_count(); i++)
		if (memcmp(&a->chain.value[i], &b->chain.value[i], sizeof(float)))
			bad++;
	ASSERT_INT(what, 0, bad);
	ASSERT_TRUE(what, a->mix && b->mix && !strcmp(a->mix, b->mix));
	if (a->mix && b->mix && strcmp(a->mix, b->mix))
		fprintf(stderr, "  mix '%s' != '%s'\n", a->mix, b->mix);
	ASSERT_INT(what, a->n_refs, b->n_refs);
	for (int r = 0; r < a->n_refs && r < b->n_refs; r++) {
		ASSERT_TRUE(what, !strcmp(a->refs[r], b->refs[r]));
		ASSERT_TRUE(what, !memcmp(&a->ref_offset_s[r], &b->ref_offset_s[r],
					  sizeof(double)));
		ASSERT_TRUE(what, a->ref[r].trim_db == b->ref[r].trim_db &&
			    a->ref[r].loop_on == b->ref[r].loop_on &&
			    a->ref[r].loop_in_s == b->ref[r].loop_in_s &&
			    a->ref[r].loop_out_s == b->ref[r].loop_out_s &&
			    a->ref[r].n_cues == b->ref[r].n_cues &&
			    !memcmp(a->ref[r].cue_s, b->ref[r].cue_s,
				    sizeof(double) * (size_t)a->ref[r].n_cues));
	}
	for (int i = 0; i < TUI_SESSION_SNAPSHOTS; i++) {
		ASSERT_INT(what, a->has_snapshot[i], b->has_snapshot[i]);
		if (a->has_snapshot[i] && b->has_snapshot[i])
			ASSERT_TRUE(what, !memcmp(&a->snapshot[i], &b->snapshot[i],
						  sizeof(float) * chain_param_count()));
	}
	ASSERT_INT(what, a->has_monitor, b->has_monitor);
	if (a->has_monitor && b->has_monitor) {
		ASSERT_INT(what, a->match, b->match);
		ASSERT_INT(what, a->monitor, b->monitor);
		ASSERT_TRUE(what, !strcmp(a->system, b->system));
		ASSERT_TRUE(what, !strcmp(a->platform, b->platform));
		ASSERT_TRUE(what, a->level_db == b->level_db);
		ASSERT_INT(what, a->bandsolo, b->bandsolo);
		ASSERT_INT(what, a->playhead, b->playhead);
		ASSERT_INT(what, a->method, b->method);
	}
}

static void test_round_trip(const char *tmp)
{
	char dir[2048], mixes[2048], f1[PATH_MAX], f2[PATH_MAX], msg[1024];
	int bad_bytes = 0, bad_load = 0;

	snprintf(dir, sizeof(dir), "%s/rt", tmp);
	snprintf(mixes, sizeof(mixes), "%s/rt/mixes", tmp);
	mkdir_p(dir);
	mkdir_p(mixes);
	snprintf(f1, sizeof(f1), "%s/one.tms", dir);
	snprintf(f2, sizeof(f2), "%s/two.tms", dir);
	for (int it = 0; it < 200; it++) {
		struct tui_session a, b;
		char *t1, *t2;
		size_t n1 = 0, n2 = 0;
		int err;

		tui_session_init(&a);
		tui_session_init(&b);
		random_session(&a, mixes);
		err = tui_session_save(f1, &a, msg, sizeof(msg));
		if (err)
			fprintf(stderr, "save: %s\n", msg);
		ASSERT_INT("round trip: save", 0, err);
		err = tui_session_load(f1, &b, msg, sizeof(msg));
		if (err) {
			fprintf(stderr, "load: %s\n", msg);
			bad_load++;
		}
		same_session("round trip: loaded = saved", &a, &b);
		ASSERT_INT("round trip: save again", 0, tui_session_save(f2, &b, msg, sizeof(msg)));
		t1 = read_all(f1, &n1);
		t2 = read_all(f2, &n2);
		if (!t1 || !t2 || n1 != n2 || memcmp(t1, t2, n1))
			bad_bytes++;
		if (it == 0) {
			/* every parameter written, the mix relative */
			unsigned missing = 0;

			for (unsigned i = 0; i < chain_param_count(); i++) {
				char key[80];

				snprintf(key, sizeof(key), "\n%s = ", chain_param_at(i)->id);
				if (!t1 || !strstr(t1, key))
					missing++;
			}
			ASSERT_INT("every parameter is written", 0, missing);
			ASSERT_TRUE("mix stored relative", t1 && strstr(t1, "\npath = mixes/mix "));
			ASSERT_TRUE("version first", t1 && strstr(t1, "\nversion = 1\n"));
		}
		free(t1);
		free(t2);
		tui_session_free(&a);
		tui_session_free(&b);
	}
	ASSERT_INT("round trip: loads", 0, bad_load);
	ASSERT_INT("round trip: second save byte-identical", 0, bad_bytes);
	printf("round trip: 200 random sessions of %u parameters\n", chain_param_count());
}

/* Numbers are written with '.' whatever the locale. */
static void test_locale(const char *tmp)
{
	static const char *const names[] = {
		"de_DE.UTF-8", "de_DE.utf8", "fr_FR.UTF-8", "de_DE", "fr_FR",
	};
	const char *got = NULL;
	char f[PATH_MAX], msg[512], *t;
	struct tui_session a, b;

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]) && !got; i++)
		got = setlocale(LC_ALL, names[i]);
	if (!got) {
		printf("locale: no decimal-comma locale installed, check skipped\n");
		return;
	}
	snprintf(f, sizeof(f), "%s/locale.tms", tmp);
	tui_session_init(&a);
	tui_session_init(&b);
	tui_session_set_mix(&a, "/x/mix.wav");
	a.chain.value[chain_param_find("gain.gain_db")] = -1.5f;
	a.has_monitor = true;
	a.level_db = -12.5;
	ASSERT_INT("locale: save", 0, tui_session_save(f, &a, msg, sizeof(msg)));
	t = read_all(f, NULL);
	ASSERT_TRUE("locale: '.' decimals", t && strstr(t, "gain.gain_db = -1.5\n") &&
		    strstr(t, "level_db = -12.5\n"));
	free(t);
	ASSERT_INT("locale: load", 0, tui_session_load(f, &b, msg, sizeof(msg)));
	same_session("locale: round trip", &a, &b);
	tui_session_free(&a);
	tui_session_free(&b);
	setlocale(LC_ALL, "C");
}

static void test_paths(const char *tmp)
{
	char a_dir[2048], mixes[2048], mix[PATH_MAX], ref[PATH_MAX];
	char sess[PATH_MAX], msg[1024], real_mix[PATH_MAX], *t, *rm;
	char cwd[PATH_MAX];
	struct tui_session s, l;

	snprintf(a_dir, sizeof(a_dir), "%s/dir/a", tmp);
	snprintf(mixes, sizeof(mixes), "%s/dir/mixes", tmp);
	snprintf(sess, sizeof(sess), "%s/dir", tmp);
	mkdir_p(sess);
	mkdir_p(a_dir);
	mkdir_p(mixes);
	snprintf(mix, sizeof(mix), "%s/x.wav", mixes);
	snprintf(ref, sizeof(ref), "%s/r.wav", a_dir);
	touch(mix);
	touch(ref);
	snprintf(sess, sizeof(sess), "%s/song.tms", a_dir);

	tui_session_init(&s);
	tui_session_init(&l);
	tui_session_set_mix(&s, mix);
	tui_session_add_ref(&s, ref, 1.25);
	tui_session_add_ref(&s, "/nonexistent-termaster/abs.wav", 0);
	ASSERT_INT("paths: save", 0, tui_session_save(sess, &s, msg, sizeof(msg)));
	if (msg[0])
		fprintf(stderr, "  %s\n", msg);
	t = read_all(sess, NULL);
	ASSERT_TRUE("paths: ../mixes/x.wav stored",
		    t && strstr(t, "[mix]\npath = ../mixes/x.wav\n"));
	ASSERT_TRUE("paths: same folder stored bare", t && strstr(t, "[ref 1]\npath = r.wav\n"));
	ASSERT_TRUE("paths: offset", t && strstr(t, "offset_s = 1.25\n"));
	ASSERT_TRUE("paths: foreign tree stays absolute",
		    t && strstr(t, "[ref 2]\npath = /nonexistent-termaster/abs.wav\n"));
	free(t);
	ASSERT_INT("paths: load", 0, tui_session_load(sess, &l, msg, sizeof(msg)));
	rm = l.mix ? realpath(l.mix, NULL) : NULL;
	ASSERT_TRUE("paths: mix resolves back", rm && realpath(mix, real_mix) &&
		    !strcmp(rm, real_mix));
	free(rm);
	ASSERT_TRUE("paths: absolute stays absolute", l.n_refs == 2 &&
		    !strcmp(l.refs[1], "/nonexistent-termaster/abs.wav"));
	ASSERT_INT("paths: line of mix", 5, l.line_of_mix);
	/* the absent absolute reference is the first missing file */
	ASSERT_INT("check_files: missing", TUI_SESSION_ERROR_MISSING,
		   tui_session_check_files(&l, msg, sizeof(msg)));
	{
		char want[PATH_MAX + 64];

		snprintf(want, sizeof(want), "%s:%d: [ref 2] path: cannot read", sess,
			 l.line_of_ref ? l.line_of_ref[1] : -1);
		ASSERT_TRUE("check_files: FILE:LINE", !strncmp(msg, want, strlen(want)));
		if (strncmp(msg, want, strlen(want)))
			fprintf(stderr, "got '%s', want '%s…'\n", msg, want);
	}
	tui_session_free(&l);

	/* loaded through a relative session path from another folder */
	if (getcwd(cwd, sizeof(cwd)) && chdir(tmp) == 0) {
		ASSERT_INT("paths: load relative", 0,
			   tui_session_load("dir/a/song.tms", &l, msg, sizeof(msg)));
		ASSERT_TRUE("paths: resolved from the session's folder",
			    l.mix && !strcmp(l.mix, "dir/mixes/x.wav"));
		ASSERT_TRUE("paths: ref resolved", l.n_refs >= 1 && !strcmp(l.refs[0], "dir/a/r.wav"));
		/* saved elsewhere through relative paths: rebased */
		ASSERT_INT("paths: save relative", 0, tui_session_save("dir/other.tms", &l, msg,
								       sizeof(msg)));
		t = read_all("dir/other.tms", NULL);
		ASSERT_TRUE("paths: rebased", t && strstr(t, "[mix]\npath = mixes/x.wav\n") &&
			    strstr(t, "[ref 1]\npath = a/r.wav\n"));
		free(t);
		tui_session_free(&l);
		if (chdir(cwd))
			exit(99);
	}
	ASSERT_INT("check_files: all there", 0, (tui_session_free(&s), tui_session_set_mix(&s, mix),
						 tui_session_check_files(&s, msg, sizeof(msg))));
	tui_session_free(&s);
}

/* ---- the malformed corpus ---- */

static const struct corpus_case {
	const char *file;
	int line;
	const char *phrase;
} corpus[] = {
	{ "no_version.tms", 2, "expected 'version = 1' first" },
	{ "version_newer.tms", 1, "version 2 is newer than this termaster reads (1)" },
	{ "version_word.tms", 1, "version: expected a whole number (1), got 'one'" },
	{ "version_not_first.tms", 3, "expected 'version = 1' first" },
	{ "empty.tms", 1, "expected 'version = 1' first" },
	{ "comments_only.tms", 1, "expected 'version = 1' first" },
	{ "nul_byte.tms", 7, "not a text file" },
	{ "binary.tms", 2, "not a text file" },
	{ "unknown_section.tms", 3, "unknown section [mixx]" },
	{ "unclosed_section.tms", 2, "expected ']' at the end of the section name" },
	{ "duplicate_mix.tms", 7, "duplicate section [mix] (first on line 4)" },
	{ "duplicate_chain.tms", 8, "duplicate section [chain] (first on line 6)" },
	{ "duplicate_monitor.tms", 8, "duplicate section [monitor] (first on line 6)" },
	{ "ref_gap.tms", 9, "[ref 3] follows [ref 1]: references are numbered 1, 2, …" },
	{ "ref_starts_at_2.tms", 6, "[ref 2] comes first: references are numbered 1, 2, …" },
	{ "ref_duplicate.tms", 8, "duplicate section [ref 1] (first on line 6)" },
	{ "ref_not_number.tms", 6, "[ref one]: expected [ref N]" },
	{ "ref_leading_zero.tms", 6, "[ref 01]: expected [ref N]" },
	{ "no_mix.tms", 3, "missing [mix] section" },
	{ "mix_without_path.tms", 2, "[mix] has no 'path'" },
	{ "ref_without_path.tms", 6, "[ref 1] has no 'path'" },
	{ "duplicate_key_mix.tms", 6, "duplicate key 'path' in [mix] (first on line 5)" },
	{ "duplicate_key_chain.tms", 9, "duplicate key 'gain.gain_db' in [chain] (first on line 7)" },
	{ "unknown_chain_key.tms", 7, "unknown key 'gian.gain_db' in [chain]" },
	{ "unknown_mix_key.tms", 6, "unknown key 'file' in [mix]" },
	{ "unknown_ref_key.tms", 8, "unknown key 'offset' in [ref 1]" },
	{ "unknown_monitor_key.tms", 7, "unknown key 'solo' in [monitor]" },
	{ "chain_out_of_range.tms", 8,
	  "[chain] limiter.ceiling_dbtp: 3 is out of range -20 … 0 dBTP" },
	{ "chain_not_number.tms", 7, "[chain] gain.gain_db: 'loud' is not a number" },
	{ "chain_bad_choice.tms", 7, "[chain] eq.1.type: 'wobble' is not one of" },
	{ "chain_empty_value.tms", 7, "value missing after 'gain.gain_db ='" },
	{ "value_missing.tms", 3, "value missing after 'path ='" },
	{ "no_equals.tms", 3, "expected 'key = value'" },
	{ "no_key.tms", 3, "expected a key before '='" },
	{ "key_outside_section.tms", 2, "'path' outside a section" },
	{ "duplicate_version.tms", 2, "duplicate key 'version'" },
	{ "line_too_long.tms", 7, "line too long (more than 4096 characters)" },
	{ "match_bad.tms", 7, "[monitor] match: expected on or off, got 'maybe'" },
	{ "monitor_bad.tms", 7, "[monitor] monitor: expected stereo, mono" },
	{ "level_out_of_range.tms", 7, "[monitor] level_db: 10 is out of range -60 … 0 dB" },
	{ "level_nan.tms", 7, "[monitor] level_db: 'nan' is not a number" },
	{ "bandsolo_too_high.tms", 7, "[monitor] bandsolo: expected 0 (off) … 6, got '7'" },
	{ "offset_not_number.tms", 8, "[ref 1] offset_s: 'soon' is not a number" },
	{ "offset_infinite.tms", 8, "[ref 1] offset_s: '1e999' is not a number" },
	{ "system_too_long.tms", 7, "[monitor] system: expected a name of at most 31 characters" },
	{ "duplicate_key_monitor.tms", 8,
	  "duplicate key 'bandsolo' in [monitor] (first on line 7)" },
	{ "crlf_unknown_key.tms", 7, "unknown key 'gain.gain' in [chain]" },
	{ "trim_out_of_range.tms", 8, "[ref 1] trim_db: 30 is out of range -24 … 24 dB" },
	{ "trim_not_number.tms", 8, "[ref 1] trim_db: 'loud' is not a number" },
	{ "loop_bad.tms", 8, "[ref 1] loop: expected on or off, got 'yes'" },
	{ "loop_reversed.tms", 10, "[ref 1] loop_out_s: 20 is not after loop_in_s 40" },
	{ "loop_missing_out.tms", 6, "[ref 1]: a loop needs both loop_in_s and loop_out_s" },
	{ "loop_negative.tms", 8, "[ref 1] loop_in_s: -1 is out of range 0 … 86400 s" },
	{ "cues_bad.tms", 8, "[ref 1] cues: 'two' is not a number" },
	{ "cues_empty_item.tms", 8, "[ref 1] cues: expected numbers separated by commas" },
	{ "cues_too_many.tms", 8, "[ref 1] cues: at most 16 cue points" },
	{ "duplicate_key_cues.tms", 9, "duplicate key 'cues' in this [ref] (first on line 8)" },
	{ "playhead_bad.tms", 7, "[monitor] playhead: expected sync or independent, got 'free'" },
	{ "method_bad.tms", 7, "[monitor] method: expected integrated, region or riding, got 'peak'" },
	{ "snapshot_bad_letter.tms", 6, "[snapshot E]: expected [snapshot A] … [snapshot D]" },
	{ "snapshot_duplicate.tms", 8, "duplicate section [snapshot A] (first on line 6)" },
	{ "snapshot_unknown_key.tms", 7, "unknown key 'gain.gian_db' in [snapshot B]" },
	{ "snapshot_out_of_range.tms", 7,
	  "[snapshot C] limiter.ceiling_dbtp: 3 is out of range -20 … 0 dBTP" },
};

static void test_corpus(void)
{
	const char *top = getenv("top_srcdir");
	char dir[PATH_MAX], path[PATH_MAX + 64], want[PATH_MAX + 100], msg[2048];
	size_t n = sizeof(corpus) / sizeof(corpus[0]);
	int files;

	snprintf(dir, sizeof(dir), "%s/tests/sessions", top && *top ? top : ".");
	files = count_prefixed(dir, "");
	ASSERT_TRUE("corpus folder found (top_srcdir)", files > 0);
	/* every file in the folder has its row ("." and ".." aside) */
	ASSERT_INT("corpus: one row per file", (long long)n, files - 2);
	for (size_t i = 0; i < n; i++) {
		struct tui_session s;
		int err;

		tui_session_init(&s);
		snprintf(path, sizeof(path), "%s/%s", dir, corpus[i].file);
		snprintf(want, sizeof(want), "%s:%d: ", path, corpus[i].line);
		msg[0] = '\0';
		err = tui_session_load(path, &s, msg, sizeof(msg));
		ASSERT_INT(corpus[i].file, TUI_SESSION_ERROR_SYNTAX, err);
		ASSERT_TRUE(corpus[i].file, !strncmp(msg, want, strlen(want)) &&
			    strstr(msg, corpus[i].phrase) && !strchr(msg, '\n'));
		if (strncmp(msg, want, strlen(want)) || !strstr(msg, corpus[i].phrase))
			fprintf(stderr, "  got:  %s\n  want: %s… %s\n", msg, want, corpus[i].phrase);
		ASSERT_TRUE("failed load leaves s untouched", !s.mix && !s.path && !s.n_refs);
		tui_session_free(&s);
	}
	printf("corpus: %zu malformed files\n", n);
}

/* ---- atomic save ---- */

static size_t hook_limit;
static int hook_crash;

static ssize_t partial_write(int fd, const void *buf, size_t n)
{
	ssize_t w;

	if (hook_limit == 0) {
		if (hook_crash)
			_exit(7);
		errno = ENOSPC;
		return -1;
	}
	w = write(fd, buf, n < hook_limit ? n : hook_limit);
	if (w > 0)
		hook_limit -= (size_t)w;
	return w;
}

static void test_atomic(const char *tmp)
{
	char dir[2048], f[PATH_MAX], msg[1024];
	char *before, *after;
	size_t nb = 0, na = 0;
	struct tui_session s, l;
	int status = 0, err;
	pid_t pid;

	snprintf(dir, sizeof(dir), "%s/atomic", tmp);
	mkdir_p(dir);
	snprintf(f, sizeof(f), "%s/song.tms", dir);
	tui_session_init(&s);
	tui_session_init(&l);
	tui_session_set_mix(&s, "/mixes/old.wav");
	ASSERT_INT("atomic: first save", 0, tui_session_save(f, &s, msg, sizeof(msg)));
	before = read_all(f, &nb);
	tui_session_set_mix(&s, "/mixes/new.wav");
	for (unsigned i = 0; i < chain_param_count(); i++)
		s.chain.value[i] = random_value(i);

	/* a process killed while writing the temporary file */
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		hook_limit = 100;
		hook_crash = 1;
		tui_session_write_hook = partial_write;
		tui_session_save(f, &s, msg, sizeof(msg));
		_exit(0);       /* not reached: the hook exits with 7 */
	}
	ASSERT_TRUE("atomic: fork", pid > 0);
	waitpid(pid, &status, 0);
	ASSERT_TRUE("atomic: the child died mid-write", WIFEXITED(status) && WEXITSTATUS(status) == 7);
	after = read_all(f, &na);
	ASSERT_TRUE("atomic: crash leaves the old file", after && na == nb && !memcmp(before, after, nb));
	free(after);
	ASSERT_INT("atomic: old file loads", 0, tui_session_load(f, &l, msg, sizeof(msg)));
	ASSERT_TRUE("atomic: old mix", l.mix && !strcmp(l.mix, "/mixes/old.wav"));
	ASSERT_INT("atomic: the crash left its temporary file", 1, count_prefixed(dir, ".song.tms."));
	remove_prefixed(dir, ".song.tms.");

	/* a write that fails part-way (disk full) */
	for (size_t lim = 0; lim < 2000; lim += 250) {
		hook_limit = lim;
		hook_crash = 0;
		tui_session_write_hook = partial_write;
		err = tui_session_save(f, &s, msg, sizeof(msg));
		tui_session_write_hook = NULL;
		ASSERT_INT("atomic: failing write reported", TUI_SESSION_ERROR_ERRNO, err);
		ASSERT_TRUE("atomic: message names the file", !strncmp(msg, f, strlen(f)) &&
			    strstr(msg, "No space left"));
		after = read_all(f, &na);
		ASSERT_TRUE("atomic: failure leaves the old file",
			    after && na == nb && !memcmp(before, after, nb));
		free(after);
		ASSERT_INT("atomic: no temporary file left", 0, count_prefixed(dir, ".song.tms."));
	}

	/* an unwritable folder (root writes anyway: skipped) */
	if (geteuid() != 0 && chmod(dir, 0500) == 0) {
		err = tui_session_save(f, &s, msg, sizeof(msg));
		ASSERT_INT("atomic: unwritable folder", TUI_SESSION_ERROR_ERRNO, err);
		ASSERT_TRUE("atomic: message", strstr(msg, "Permission denied") != NULL);
		chmod(dir, 0700);
		after = read_all(f, &na);
		ASSERT_TRUE("atomic: unwritable folder leaves the old file",
			    after && na == nb && !memcmp(before, after, nb));
		free(after);
		ASSERT_INT("atomic: no temporary file", 0, count_prefixed(dir, ".song.tms."));
	}

	/* a folder that does not exist */
	snprintf(f, sizeof(f), "%s/nope/song.tms", dir);
	ASSERT_INT("atomic: no folder", TUI_SESSION_ERROR_ERRNO,
		   tui_session_save(f, &s, msg, sizeof(msg)));

	/* and a save that works replaces it */
	snprintf(f, sizeof(f), "%s/song.tms", dir);
	ASSERT_INT("atomic: save", 0, tui_session_save(f, &s, msg, sizeof(msg)));
	ASSERT_INT("atomic: load new", 0, tui_session_load(f, &l, msg, sizeof(msg)));
	ASSERT_TRUE("atomic: new mix", l.mix && !strcmp(l.mix, "/mixes/new.wav"));
	ASSERT_INT("atomic: no temporary file after success", 0, count_prefixed(dir, ".song.tms."));
	free(before);
	tui_session_free(&s);
	tui_session_free(&l);
}

/* A real SIGKILL from outside while a large session is being written:
 * the child stops itself (SIGSTOP) after `cut` bytes of the temporary
 * file, the parent kills it with SIGKILL, and the session file must be the
 * old one, whole.  Cut points from the first byte to the last. */
static size_t stop_after;

static ssize_t stopping_write(int fd, const void *buf, size_t n)
{
	ssize_t w;

	if (stop_after == 0)
		raise(SIGSTOP);   /* not resumed: killed while stopped */
	w = write(fd, buf, n < stop_after ? n : stop_after);
	if (w > 0)
		stop_after -= (size_t)w;
	return w;
}

static void test_kill9(const char *tmp)
{
	char dir[2048], f[PATH_MAX], probe[PATH_MAX], msg[1024];
	struct tui_session big, old, l;
	char *before, *after, *full;
	size_t nb = 0, na = 0, nf = 0;
	int kills = 0, intact = 0;

	snprintf(dir, sizeof(dir), "%s/kill9", tmp);
	mkdir_p(dir);
	snprintf(f, sizeof(f), "%s/big.tms", dir);
	snprintf(probe, sizeof(probe), "%s/probe.tms", dir);
	tui_session_init(&old);
	tui_session_init(&big);
	tui_session_init(&l);
	random_session(&old, "/mixes");
	ASSERT_INT("kill -9: first save", 0, tui_session_save(f, &old, msg, sizeof(msg)));
	before = read_all(f, &nb);
	tui_session_set_mix(&big, "/mixes/new.wav");
	for (int r = 0; r < TUI_SESSION_REFS_MAX; r++) {
		char p[64];

		snprintf(p, sizeof(p), "/refs/ref-%02d.flac", r);
		tui_session_add_ref(&big, p, r * 0.125);
		random_ref_extra(&big.ref[r]);
	}
	for (int i = 0; i < TUI_SESSION_SNAPSHOTS; i++) {
		big.has_snapshot[i] = true;
		for (unsigned k = 0; k < chain_param_count(); k++)
			big.snapshot[i].value[k] = random_value(k);
	}
	ASSERT_INT("kill -9: probe save", 0, tui_session_save(probe, &big, msg, sizeof(msg)));
	full = read_all(probe, &nf);
	ASSERT_TRUE("kill -9: a large session (> 16 KB)", nf > 16384);
	for (int i = 0; i <= 7; i++) {
		size_t cut = nf * (size_t)i / 7;
		int status = 0;
		pid_t pid;

		fflush(NULL);
		pid = fork();
		if (pid == 0) {
			stop_after = cut;
			tui_session_write_hook = stopping_write;
			tui_session_save(f, &big, msg, sizeof(msg));
			raise(SIGSTOP);   /* all written and renamed: stop anyway */
			_exit(0);
		}
		ASSERT_TRUE("kill -9: fork", pid > 0);
		if (pid <= 0)
			break;
		waitpid(pid, &status, WUNTRACED);
		ASSERT_TRUE("kill -9: the child stopped while saving", WIFSTOPPED(status));
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
			kills++;
		after = read_all(f, &na);
		/* the whole old file (the cut is before the rename) or the whole new */
		if (after && ((na == nb && !memcmp(after, before, nb)) ||
			      (na == nf && !memcmp(after, full, nf))))
			intact++;
		free(after);
		ASSERT_INT("kill -9: the file still loads", 0, tui_session_load(f, &l, msg, sizeof(msg)));
		remove_prefixed(dir, ".big.tms.");
	}
	ASSERT_INT("kill -9: every child killed by SIGKILL", 8, kills);
	ASSERT_INT("kill -9: old or new file, never a mix", 8, intact);
	printf("kill -9: %d kills while writing a %zu-byte session\n", kills, nf);
	free(before);
	free(full);
	tui_session_free(&old);
	tui_session_free(&big);
	tui_session_free(&l);
}

/* What the reader would refuse is not written. */
static void test_save_values(const char *tmp)
{
	char f[PATH_MAX], msg[1024];
	struct tui_session s;

	snprintf(f, sizeof(f), "%s/values.tms", tmp);
	tui_session_init(&s);
	ASSERT_INT("save: no mix", TUI_SESSION_ERROR_VALUE, tui_session_save(f, &s, msg, sizeof(msg)));
	ASSERT_TRUE("save: no mix message", !strncmp(msg, f, strlen(f)) && strstr(msg, "no mix"));
	tui_session_set_mix(&s, "/m/a\nb.wav");
	ASSERT_INT("save: newline in a path", TUI_SESSION_ERROR_VALUE,
		   tui_session_save(f, &s, msg, sizeof(msg)));
	ASSERT_TRUE("save: path message", !strncmp(msg, f, strlen(f)) && strstr(msg, "cannot write the path"));
	tui_session_set_mix(&s, "/m/a.wav");
	tui_session_add_ref(&s, "/m/r.wav", NAN);
	ASSERT_INT("save: NaN offset", TUI_SESSION_ERROR_VALUE,
		   tui_session_save(f, &s, msg, sizeof(msg)));
	s.ref_offset_s[0] = 0;
	s.has_monitor = true;
	snprintf(s.system, sizeof(s.system), "a b");
	ASSERT_INT("save: blank in a system name", TUI_SESSION_ERROR_VALUE,
		   tui_session_save(f, &s, msg, sizeof(msg)));
	ASSERT_INT("save: nothing written", -1, access(f, F_OK));
	s.system[0] = '\0';
	s.bandsolo = 99;
	s.level_db = NAN;
	s.monitor = 42;
	ASSERT_INT("save: odd monitor values are clamped", 0, tui_session_save(f, &s, msg, sizeof(msg)));
	tui_session_free(&s);
	ASSERT_INT("save: and load", 0, tui_session_load(f, &s, msg, sizeof(msg)));
	ASSERT_INT("save: bandsolo off", 0, s.bandsolo);
	ASSERT_INT("save: monitor stereo", 0, s.monitor);
	tui_session_free(&s);
}

/* Saving never replaces what is not a session: the mix itself (a mistyped
 * save-as name), a reference, a folder; a session, even a malformed one, and
 * an empty file are replaced. */
static void test_save_over(const char *tmp)
{
	static const unsigned char riff[] = { 'R', 'I', 'F', 'F', 36, 0, 0, 0, 'W', 'A', 'V', 'E',
					      'f', 'm', 't', ' ', 16, 0, 0, 0, 1, 0, 2, 0 };
	char wav[PATH_MAX], txt[PATH_MAX], old[PATH_MAX], empty[PATH_MAX], msg[1024];
	struct tui_session s;
	size_t n = 0;
	char *back;
	FILE *f;

	snprintf(wav, sizeof(wav), "%s/over.wav", tmp);
	snprintf(txt, sizeof(txt), "%s/notes.txt", tmp);
	snprintf(old, sizeof(old), "%s/old.tms", tmp);
	snprintf(empty, sizeof(empty), "%s/empty.tms", tmp);
	f = fopen(wav, "wb");
	fwrite(riff, 1, sizeof(riff), f);
	fclose(f);
	f = fopen(txt, "w");
	fputs("# my notes\nmaster at -9 LUFS\n", f);
	fclose(f);
	f = fopen(old, "w");
	fputs("# termaster session\nversion = 1\n[mix]\npath = x.wav\nbogus = 1\n", f);
	fclose(f);
	fclose(fopen(empty, "w"));

	tui_session_init(&s);
	tui_session_set_mix(&s, wav);
	ASSERT_INT("save over: audio refused", TUI_SESSION_ERROR_VALUE,
		   tui_session_save(wav, &s, msg, sizeof(msg)));
	ASSERT_TRUE("save over: message names the file",
		    !strncmp(msg, wav, strlen(wav)) && strstr(msg, "not a termaster session"));
	back = read_all(wav, &n);
	ASSERT_TRUE("save over: audio untouched", back && n == sizeof(riff) && !memcmp(back, riff, n));
	free(back);
	ASSERT_INT("save over: other text refused", TUI_SESSION_ERROR_VALUE,
		   tui_session_save(txt, &s, msg, sizeof(msg)));
	ASSERT_INT("save over: a folder refused", TUI_SESSION_ERROR_VALUE,
		   tui_session_save(tmp, &s, msg, sizeof(msg)));
	ASSERT_INT("save over: a malformed session replaced", 0,
		   tui_session_save(old, &s, msg, sizeof(msg)));
	ASSERT_INT("save over: an empty file replaced", 0,
		   tui_session_save(empty, &s, msg, sizeof(msg)));
	ASSERT_INT("save over: and again over its own session", 0,
		   tui_session_save(empty, &s, msg, sizeof(msg)));
	tui_session_free(&s);
}

/* ---- fuzz ---- */

static const char *const tokens[] = {
	"version = 1\n", "[mix]\n", "[ref 1]\n", "[ref 2]\n", "[chain]\n", "[monitor]\n",
	"path = a.wav\n", "offset_s = 1.5\n", "gain.gain_db = 3\n", "eq.1.type = bell\n",
	"match = off\n", "bandsolo = 3\n", "level_db = -20\n", "# c\n", "\n", "=", "[",
	"]", " ", "\r\n", "\t", "1e308", "-", "ref ", "path", "version = 99999999999\n",
	"[ref 99999999999]\n", "limiter.ceiling_dbtp = -0.000000001\n", "\xef\xbb\xbf",
};

static void test_fuzz(const char *tmp)
{
	char f[PATH_MAX], msg[1024];
	char *seed;
	size_t seed_n = 0;
	struct tui_session s;
	int loaded = 0, rejected = 0, bad_ret = 0, bad_msg = 0;
	const int iterations = 4000;
	char *buf = malloc(1 << 16);

	if (!buf)
		exit(99);
	snprintf(f, sizeof(f), "%s/seed.tms", tmp);
	tui_session_init(&s);
	random_session(&s, "/m");
	s.has_monitor = true;
	if (tui_session_save(f, &s, msg, sizeof(msg)))
		exit(99);
	tui_session_free(&s);
	seed = read_all(f, &seed_n);
	if (!seed)
		exit(99);
	snprintf(f, sizeof(f), "%s/fuzz.tms", tmp);
	for (int it = 0; it < iterations; it++) {
		size_t n = 0, cap = 1 << 16;
		int kind = (int)(rng() % 4), err;

		if (kind == 0) {        /* random bytes */
			n = rng() % 600;
			for (size_t i = 0; i < n; i++)
				buf[i] = (char)rng();
		} else if (kind == 1) { /* a soup of tokens */
			int k = (int)(rng() % 40);

			for (int i = 0; i < k; i++) {
				const char *t = tokens[rng() % (sizeof(tokens) / sizeof(tokens[0]))];
				size_t tl = strlen(t);

				if (n + tl < cap) {
					memcpy(buf + n, t, tl);
					n += tl;
				}
			}
		} else {                /* a mutated valid file */
			int k = 1 + (int)(rng() % 6);

			memcpy(buf, seed, seed_n);
			n = seed_n;
			for (int i = 0; i < k && n; i++) {
				size_t at = rng() % n, len = 1 + rng() % 40;

				switch (rng() % 5) {
				case 0: /* flip a byte */
					buf[at] = (char)rng();
					break;
				case 1: /* a printable byte */
					buf[at] = (char)(0x20 + rng() % 95);
					break;
				case 2: /* delete */
					if (at + len > n)
						len = n - at;
					memmove(buf + at, buf + at + len, n - at - len);
					n -= len;
					break;
				case 3: /* duplicate a stretch */
					if (at + len > n)
						len = n - at;
					if (n + len < cap) {
						memmove(buf + at + len, buf + at, n - at);
						n += len;
					}
					break;
				case 4: /* truncate */
					n = at;
					break;
				}
			}
		}
		write_file(f, buf, n);
		tui_session_init(&s);
		err = tui_session_load(f, &s, msg, sizeof(msg));
		if (err == 0) {
			loaded++;
		} else if (err == TUI_SESSION_ERROR_SYNTAX) {
			char want[PATH_MAX + 8];
			const char *c;

			rejected++;
			snprintf(want, sizeof(want), "%s:", f);
			c = msg + strlen(want);
			if (strncmp(msg, want, strlen(want)) || *c < '1' || *c > '9' ||
			    !strstr(c, ": ") || strchr(msg, '\n'))
				bad_msg++;
		} else {
			bad_ret++;
		}
		tui_session_free(&s);
	}
	ASSERT_INT("fuzz: only success or a syntax error", 0, bad_ret);
	ASSERT_INT("fuzz: every error is FILE:LINE: …", 0, bad_msg);
	ASSERT_TRUE("fuzz: some mutated files still load", loaded > 0);
	printf("fuzz: %d inputs, %d loaded, %d rejected\n", iterations, loaded, rejected);
	free(seed);
	free(buf);
}

int main(void)
{
	const char *tmp = test_tmpdir("session");

	test_round_trip(tmp);
	test_locale(tmp);
	test_paths(tmp);
	test_corpus();
	test_atomic(tmp);
	test_kill9(tmp);
	test_save_values(tmp);
	test_save_over(tmp);
	test_fuzz(tmp);
	return test_done();
}

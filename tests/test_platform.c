/*
 * termaster — streaming-platform normalisation rules (refs/platform.c).
 *
 * The gains are checked against formulas written out here, independently
 * of refs/platform.c, with each platform's numbers restated from its
 * published (or measured) rule; see refs/platforms.txt for the sources.
 * Then the parser: malformed files name file:line, user files correct and
 * add rules, and the shipped refs/platforms.txt equals the compiled-in
 * table.
 */
#include "config.h"

#include <errno.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "refs/platform.h"
#include "tests/util.h"

/* ---- the rules as this test knows them ---- */

enum kind { DOWN_ONLY, CAPPED, LIMITER };

static const struct expect_rule {
	const char *id;
	double target_lufs;
	enum kind kind;
	double peak_db; /* CAPPED: max true peak after gain; LIMITER: ceiling */
} expect_rules[] = {
    {"spotify-normal", -14.0, CAPPED, -1.0}, /* Spotify for Artists */
    {"spotify-loud", -11.0, LIMITER, -1.0},  /* limiter at -1 dB, 5/100 ms */
    {"spotify-quiet", -19.0, CAPPED, -1.0},
    {"apple", -16.0, CAPPED, -1.0},   /* Sound Check, measured */
    {"youtube", -14.0, DOWN_ONLY, 0}, /* turns down only */
    {"tidal", -14.0, DOWN_ONLY, 0},   /* MeterPlugs 2016 */
    {"deezer", -15.0, DOWN_ONLY, 0},
    {"amazon", -14.0, DOWN_ONLY, 0},
};
#define N_EXPECT (sizeof(expect_rules) / sizeof(expect_rules[0]))

/* The rule, restated: how much the platform moves a track of loudness i
 * and true peak tp. */
static double expected_gain(const struct expect_rule *e, double i, double tp)
{
	double want = e->target_lufs - i;
	double room;

	if (want <= 0)
		return want; /* everyone turns loud tracks down */
	switch (e->kind) {
	case DOWN_ONLY:
		return 0;
	case LIMITER:
		return want; /* regardless of true peak */
	case CAPPED:
		room = e->peak_db - tp; /* lift until the peak reaches the cap */
		if (room < 0)
			room = 0; /* but never turn a quiet track down */
		return want < room ? want : room;
	}
	return NAN;
}

/* Sources of known loudness and true peak. */
static const struct {
	double lufs, tp;
} sources[] = {
    {-8.0, -0.3},   /* loud master */
    {-14.0, -1.0},  /* on target */
    {-20.0, -6.0},  /* quiet, some headroom */
    {-20.0, -1.5},  /* quiet, little headroom */
    {-25.0, -12.0}, /* very quiet, lots of headroom */
    {-16.0, -0.5},  /* quiet, peaks already above -1 dBTP */
    {-9.0, 0.8},    /* loud, over 0 dBTP */
    {-11.0, -3.0},  {-30.0, -20.0},
};
#define N_SOURCES (sizeof(sources) / sizeof(sources[0]))

static void check_builtin_table(void)
{
	size_t n;
	const struct refs_platform *b = refs_platform_builtin(&n);
	static const enum refs_platform_boost boost_of[] = {
	    [DOWN_ONLY] = REFS_PLATFORM_BOOST_NONE,
	    [CAPPED] = REFS_PLATFORM_BOOST_CAPPED,
	    [LIMITER] = REFS_PLATFORM_BOOST_LIMITER,
	};

	ASSERT_INT("built-in rule count", (long long)N_EXPECT, (long long)n);
	for (size_t i = 0; i < n && i < N_EXPECT; i++) {
		const struct expect_rule *e = &expect_rules[i];

		if (strcmp(b[i].id, e->id) != 0)
			test_fail(__FILE__, __LINE__, "built-in %zu: expected id %s, got %s", i,
			          e->id, b[i].id);
		ASSERT_CLOSE(e->id, e->target_lufs, b[i].target_lufs, 0);
		ASSERT_INT(e->id, boost_of[e->kind], b[i].boost);
		if (e->kind == CAPPED)
			ASSERT_CLOSE(e->id, e->peak_db, b[i].max_peak_dbtp, 0);
		if (e->kind == LIMITER) {
			ASSERT_CLOSE(e->id, e->peak_db, b[i].limiter_ceiling_db, 0);
			ASSERT_CLOSE("Spotify limiter attack", 5.0, b[i].limiter_attack_ms, 0);
			ASSERT_CLOSE("Spotify limiter release", 100.0, b[i].limiter_release_ms, 0);
		}
		ASSERT_CLOSE("no published rounding", 0.0, b[i].gain_step_db, 0);
		ASSERT_TRUE("label set", b[i].label[0] != '\0');
	}
}

static void check_known_sources(void)
{
	size_t n;
	const struct refs_platform *b = refs_platform_builtin(&n);

	for (size_t k = 0; k < n && k < N_EXPECT; k++) {
		const struct expect_rule *e = &expect_rules[k];

		for (size_t s = 0; s < N_SOURCES; s++) {
			double i = sources[s].lufs, tp = sources[s].tp;
			double g = expected_gain(e, i, tp);
			struct refs_platform_result r;
			char what[96];

			refs_platform_gain(&b[k], i, tp, &r);
			snprintf(what, sizeof(what), "%s at %.1f LUFS / %.1f dBTP", e->id, i, tp);
			ASSERT_INT(what, 1, r.valid);
			ASSERT_CLOSE(what, g, r.gain_db, 0.1);  /* the tolerance */
			ASSERT_CLOSE(what, g, r.gain_db, 1e-9); /* and in fact exact */
			ASSERT_CLOSE(what, e->target_lufs - i, r.wanted_gain_db, 1e-9);
			ASSERT_CLOSE(what, i + g, r.playback_lufs, 1e-9);
			ASSERT_CLOSE(what, tp + g, r.peak_after_dbtp, 1e-9);
			ASSERT_CLOSE(what, g < 0 ? g : 0.0, r.penalty_db, 1e-9);
			ASSERT_INT(what, e->kind == DOWN_ONLY && e->target_lufs > i,
			           r.boost_refused);
			ASSERT_INT(what, e->kind == CAPPED && g < e->target_lufs - i - 1e-9,
			           r.capped);
			ASSERT_INT(what, e->kind == LIMITER && tp + g > e->peak_db,
			           r.limiter_engaged);
			ASSERT_CLOSE(what,
			             e->kind == LIMITER && tp + g > e->peak_db ? tp + g - e->peak_db
			                                                       : 0,
			             r.limiter_over_db, 1e-9);
		}
	}
}

/* A few by hand, so a shared mistake in expected_gain() cannot hide. */
static void check_by_hand(void)
{
	struct refs_platform_result r;
	size_t n;
	const struct refs_platform *b = refs_platform_builtin(&n);

	/* Spotify's own example: -20 LUFS with true peak -5 is lifted only to
	 * -16 LUFS (4 dB, to -1 dBTP). */
	refs_platform_gain(&b[0], -20.0, -5.0, &r);
	ASSERT_CLOSE("Spotify example gain", 4.0, r.gain_db, 1e-12);
	ASSERT_CLOSE("Spotify example playback", -16.0, r.playback_lufs, 1e-12);
	ASSERT_INT("Spotify example capped", 1, r.capped);
	/* a -8 LUFS master loses 6 dB on Spotify, 8 on Apple, 6 on YouTube */
	refs_platform_gain(&b[0], -8.0, -0.3, &r);
	ASSERT_CLOSE("penalty Spotify", -6.0, r.penalty_db, 1e-12);
	refs_platform_gain(&b[3], -8.0, -0.3, &r);
	ASSERT_CLOSE("penalty Apple", -8.0, r.penalty_db, 1e-12);
	refs_platform_gain(&b[4], -8.0, -0.3, &r);
	ASSERT_CLOSE("penalty YouTube", -6.0, r.penalty_db, 1e-12);
	/* YouTube leaves a -20 LUFS track alone */
	refs_platform_gain(&b[4], -20.0, -6.0, &r);
	ASSERT_CLOSE("YouTube no lift", 0.0, r.gain_db, 0);
	ASSERT_INT("YouTube refused", 1, r.boost_refused);
	ASSERT_CLOSE("YouTube playback", -20.0, r.playback_lufs, 0);
	/* Spotify loud lifts -25/-12 by 14 dB to +2 dBTP: 3 dB into its limiter */
	refs_platform_gain(&b[1], -25.0, -12.0, &r);
	ASSERT_CLOSE("loud gain", 14.0, r.gain_db, 1e-12);
	ASSERT_INT("loud limiter", 1, r.limiter_engaged);
	ASSERT_CLOSE("loud over", 3.0, r.limiter_over_db, 1e-12);
	/* ... and -14/-4 by 3 dB to exactly -1: not engaged */
	refs_platform_gain(&b[1], -14.0, -4.0, &r);
	ASSERT_INT("loud at the ceiling", 0, r.limiter_engaged);
	/* Spotify normal does not turn -16/-0.5 down to make headroom */
	refs_platform_gain(&b[0], -16.0, -0.5, &r);
	ASSERT_CLOSE("no lift, no cut", 0.0, r.gain_db, 0);
	ASSERT_INT("capped to nothing", 1, r.capped);
	ASSERT_TRUE("no negative zero", !signbit(r.gain_db));
}

/* Properties over a grid of loudness and true peak. */
static void check_sweep(void)
{
	size_t n;
	const struct refs_platform *b = refs_platform_builtin(&n);
	unsigned bad_down = 0, bad_cap = 0, bad_lim = 0, bad_neg = 0, bad_exact = 0;

	for (size_t k = 0; k < n; k++) {
		for (double i = -45.0; i <= 0.0; i += 0.37) {
			for (double tp = i - 3.0; tp <= 3.0; tp += 0.41) {
				struct refs_platform_result r;
				double want = b[k].target_lufs - i;

				refs_platform_gain(&b[k], i, tp, &r);
				if (b[k].boost == REFS_PLATFORM_BOOST_NONE && r.gain_db > 0)
					bad_down++;
				if (b[k].boost == REFS_PLATFORM_BOOST_CAPPED && r.gain_db > 0 &&
				    tp + r.gain_db > b[k].max_peak_dbtp + 1e-9)
					bad_cap++;
				if (b[k].boost == REFS_PLATFORM_BOOST_LIMITER &&
				    r.limiter_engaged != (tp + r.gain_db > b[k].limiter_ceiling_db))
					bad_lim++;
				if (want > 0 && (r.gain_db < 0 || r.gain_db > want))
					bad_neg++; /* a quiet track is never cut nor overshot */
				if (want <= 0 && r.gain_db != want)
					bad_exact++; /* a loud track is always cut exactly */
			}
		}
	}
	ASSERT_INT("turn-down-only platforms never turn up", 0, bad_down);
	ASSERT_INT("capped gain keeps TP at or below the cap", 0, bad_cap);
	ASSERT_INT("limiter reported exactly when TP after gain > ceiling", 0, bad_lim);
	ASSERT_INT("positive gain within [0, wanted]", 0, bad_neg);
	ASSERT_INT("loud tracks turned down to the target", 0, bad_exact);
}

static void check_invalid_sources(void)
{
	struct refs_platform_result r;
	size_t n;
	const struct refs_platform *b = refs_platform_builtin(&n);

	refs_platform_gain(&b[0], -HUGE_VAL, -HUGE_VAL, &r);
	ASSERT_INT("silent: invalid", 0, r.valid);
	ASSERT_CLOSE("silent: unity", 0.0, r.gain_db, 0);
	refs_platform_gain(&b[1], -14.0, NAN, &r);
	ASSERT_INT("no peak: invalid", 0, r.valid);
	ASSERT_CLOSE("no peak: unity", 0.0, r.gain_db, 0);
	ASSERT_INT("no peak: no limiter", 0, r.limiter_engaged);
}

static void check_rounding(void)
{
	static const char text[] = "[stepped]\n"
	                           "target_lufs = -14\n"
	                           "positive_gain = capped\n"
	                           "max_peak_dbtp = -1\n"
	                           "gain_step_db = 0.5\n";
	struct refs_platform_set *set;
	const struct refs_platform *p;
	struct refs_platform_result r;
	char msg[256];
	int err;

	err = refs_platform_load_string(text, "stepped.txt", REFS_PLATFORM_LOAD_NO_BUILTINS, &set,
	                                msg, sizeof(msg));
	ASSERT_INT(msg, REFS_PLATFORM_OK, err);
	p = refs_platform_find(set, "stepped");
	ASSERT_TRUE("stepped rule", p != NULL);
	if (!p)
		return;
	refs_platform_gain(p, -17.3, -10.0, &r); /* +3.3 → 3.5 */
	ASSERT_CLOSE("rounded to the step", 3.5, r.gain_db, 1e-12);
	refs_platform_gain(p, -17.3, -4.4, &r); /* +3.3, room 3.4: 3.5 too much → 3.0 */
	ASSERT_CLOSE("rounded down under the cap", 3.0, r.gain_db, 1e-12);
	ASSERT_LE("cap kept", -4.4 + r.gain_db, -1.0);
	refs_platform_gain(p, -8.2, -0.1, &r); /* -5.8 → -6.0 */
	ASSERT_CLOSE("cut rounded", -6.0, r.gain_db, 1e-12);
	refs_platform_set_free(&set);
	ASSERT_TRUE("free clears", set == NULL);
}

/* ---- the parser ---- */

static void expect_parse_error(const char *text, unsigned line, const char *needle)
{
	struct refs_platform_set *const sentinel = (struct refs_platform_set *)&needle;
	struct refs_platform_set *set = sentinel; /* the loader must clear it */
	char msg[512], prefix[64];
	int err;

	err = refs_platform_load_string(text, "bad.txt", 0, &set, msg, sizeof(msg));
	snprintf(prefix, sizeof(prefix), "bad.txt:%u: ", line);
	if (err != REFS_PLATFORM_ERROR_PARSE)
		test_fail(__FILE__, __LINE__, "expected a parse error for %s, got %d (%s)", needle,
		          err, msg);
	else if (strncmp(msg, prefix, strlen(prefix)) != 0 || !strstr(msg, needle))
		test_fail(__FILE__, __LINE__, "expected \"%s...%s...\", got \"%s\"", prefix, needle,
		          msg);
	test_checks++;
	ASSERT_TRUE("no set on error", set == NULL);
	if (set != sentinel)
		refs_platform_set_free(&set);
}

static void check_parse_errors(void)
{
	/* bad numbers */
	expect_parse_error("[new]\ntarget_lufs = -14,5\npositive_gain = no\n", 2,
	                   "target_lufs: expected a number in LUFS");
	expect_parse_error("[apple]\ntarget_lufs = loud\n", 2, "expected a number");
	expect_parse_error("[apple]\ntarget_lufs = -1e1\n", 2, "expected a number");
	expect_parse_error("[apple]\ntarget_lufs = .5\n", 2, "expected a number");
	expect_parse_error("[apple]\ntarget_lufs = -5.\n", 2, "expected a number");
	expect_parse_error("[apple]\ntarget_lufs = --5\n", 2, "expected a number");
	expect_parse_error("[apple]\ntarget_lufs = -14 # comment\n", 2, "expected a number");
	expect_parse_error("[apple]\n\n\ntarget_lufs = 3\n", 4, "expected -70 to 0 LUFS");
	expect_parse_error("[apple]\nmax_peak_dbtp = -40\n", 2, "max_peak_dbtp: expected -20 to 0");
	expect_parse_error("[apple]\nlimiter_attack_ms = 0\n", 2, "limiter_attack_ms: expected");
	expect_parse_error("[apple]\ngain_step_db = -1\n", 2, "gain_step_db: expected 0 to 6");
	/* keys and values */
	expect_parse_error("[apple]\ntarget = -16\n", 2, "unknown key \"target\"");
	expect_parse_error("[apple]\npositive_gain = yes\n", 2,
	                   "positive_gain: expected no, capped or limiter, got \"yes\"");
	expect_parse_error("[apple]\nenabled = maybe\n", 2, "enabled: expected yes or no");
	expect_parse_error("[apple]\nlabel =\n", 2, "label: expected a value");
	expect_parse_error("[apple]\nlabel = 0123456789012345678901234567890123456789"
	                   "01234567890123456789012345\n",
	                   2, "label: expected at most 63 bytes");
	expect_parse_error("[apple]\nlabel = a\tb\n", 2, "control character");
	expect_parse_error("[apple]\ntarget_lufs = -16\ntarget_lufs = -15\n", 3,
	                   "duplicate key target_lufs (first at line 2)");
	expect_parse_error("[apple]\n= -16\n", 2, "expected a key before '='");
	/* structure */
	expect_parse_error("# top\ntarget_lufs = -14\n", 2, "outside a platform");
	expect_parse_error("[apple]\nSound Check\n", 2, "expected \"[id]\", \"key = value\"");
	expect_parse_error("[apple\n", 1, "expected ']'");
	expect_parse_error("[apple] x\n", 1, "expected nothing after ']'");
	expect_parse_error("[Apple Music]\n", 1, "expected a platform id");
	expect_parse_error("[]\n", 1, "expected a platform id");
	expect_parse_error("[a-very-long-platform-id-of-32-chr]\n", 1, "expected a platform id");
	/* rules */
	expect_parse_error("[new]\npositive_gain = no\n\n[apple]\ntarget_lufs = -16\n", 1,
	                   "[new]: missing target_lufs");
	expect_parse_error("[apple]\ntarget_lufs = -16\n\n[new]\nlabel = New\n", 4,
	                   "[new]: missing target_lufs");
	expect_parse_error("[new]\ntarget_lufs = -14\n", 1, "[new]: missing positive_gain");
	expect_parse_error("[apple]\ntarget_lufs = -16\n[tidal]\n[apple]\n", 4,
	                   "duplicate platform [apple] (first at line 1)");
	expect_parse_error("[x]\ntarget_lufs = -14\npositive_gain = no\n\n[x]\n", 5,
	                   "duplicate platform [x] (first at line 1)");
	expect_parse_error("[x]\ntarget_lufs = -14\npositive_gain = no\nenabled = no\n[x]\n", 5,
	                   "duplicate platform [x]");
}

static const char user_text[] = "# my corrections\n"
                                "[apple]\n"
                                "target_lufs = -16.5\n"
                                "\n"
                                "  [ youtube-music ]  \n"
                                "label = YouTube Music\n"
                                "target_lufs=-7\n"
                                "\tpositive_gain = no\t\n"
                                "\n"
                                "[deezer]\n"
                                "enabled = no\n"
                                "\n"
                                "[spotify-loud]\r\n"
                                "limiter_ceiling_db = -2\r\n";

static void check_user_set(const struct refs_platform_set *set, const char *what)
{
	size_t n;
	const struct refs_platform *b = refs_platform_builtin(&n);
	const struct refs_platform *p;
	struct refs_platform_result r;
	static const char *const order[] = {"spotify-normal", "spotify-loud", "spotify-quiet",
	                                    "apple",          "youtube",      "tidal",
	                                    "amazon",         "youtube-music"};

	ASSERT_INT(what, 8, (long long)refs_platform_count(set));
	for (size_t i = 0; i < 8; i++) {
		p = refs_platform_at(set, i);
		if (!p || strcmp(p->id, order[i]) != 0)
			test_fail(__FILE__, __LINE__, "%s: rule %zu: expected %s, got %s", what, i,
			          order[i], p ? p->id : "(none)");
		test_checks++;
	}
	ASSERT_TRUE("past the end", refs_platform_at(set, 8) == NULL);
	p = refs_platform_find(set, "apple");
	ASSERT_TRUE("apple kept", p != NULL);
	if (p) {
		ASSERT_CLOSE("apple corrected", -16.5, p->target_lufs, 0);
		ASSERT_TRUE("apple label kept", strcmp(p->label, "Apple Music") == 0);
		ASSERT_INT("apple rule kept", REFS_PLATFORM_BOOST_CAPPED, p->boost);
		ASSERT_CLOSE("apple cap kept", -1.0, p->max_peak_dbtp, 0);
		refs_platform_gain(p, -10.0, -0.2, &r);
		ASSERT_CLOSE("corrected target used", -6.5, r.gain_db, 1e-12);
	}
	p = refs_platform_find(set, "youtube-music");
	ASSERT_TRUE("new rule added", p != NULL);
	if (p) {
		ASSERT_TRUE("new label", strcmp(p->label, "YouTube Music") == 0);
		ASSERT_CLOSE("new target", -7.0, p->target_lufs, 0);
		ASSERT_INT("new rule", REFS_PLATFORM_BOOST_NONE, p->boost);
		refs_platform_gain(p, -5.3, 3.48, &r);
		ASSERT_CLOSE("new rule used", -1.7, r.gain_db, 1e-12);
		refs_platform_gain(p, -9.0, -1.0, &r);
		ASSERT_CLOSE("new rule turns down only", 0.0, r.gain_db, 0);
	}
	ASSERT_TRUE("deezer disabled", refs_platform_find(set, "deezer") == NULL);
	p = refs_platform_find(set, "spotify-loud");
	ASSERT_TRUE("spotify-loud kept", p != NULL);
	if (p) {
		ASSERT_CLOSE("ceiling corrected", -2.0, p->limiter_ceiling_db, 0);
		ASSERT_CLOSE("attack kept", b[1].limiter_attack_ms, p->limiter_attack_ms, 0);
		ASSERT_CLOSE("release kept", b[1].limiter_release_ms, p->limiter_release_ms, 0);
		ASSERT_CLOSE("target kept", -11.0, p->target_lufs, 0);
	}
	ASSERT_TRUE("unknown id", refs_platform_find(set, "napster") == NULL);
}

static int write_file(const char *path, const char *text, size_t n)
{
	FILE *f = fopen(path, "wb");

	if (!f)
		return -1;
	if (fwrite(text, 1, n, f) != n) {
		fclose(f);
		return -1;
	}
	return fclose(f);
}

static void check_user_file(void)
{
	struct refs_platform_set *set;
	const char *dir = test_tmpdir("platform");
	char path[4096], msg[4200], want[4200];
	size_t n;
	int err;

	refs_platform_builtin(&n);
	/* in memory */
	err = refs_platform_load_string(user_text, "user.txt", 0, &set, msg, sizeof(msg));
	ASSERT_INT(msg, REFS_PLATFORM_OK, err);
	ASSERT_TRUE("no message on success", msg[0] == '\0');
	if (set)
		check_user_set(set, "from text");
	refs_platform_set_free(&set);

	/* from a file */
	snprintf(path, sizeof(path), "%s/platforms.txt", dir);
	ASSERT_INT("write user file", 0, write_file(path, user_text, strlen(user_text)));
	err = refs_platform_load(path, 0, &set, msg, sizeof(msg));
	ASSERT_INT(msg, REFS_PLATFORM_OK, err);
	if (set)
		check_user_set(set, "from file");
	refs_platform_set_free(&set);

	/* an error in a file names the file */
	ASSERT_INT("write bad file", 0, write_file(path, "[apple]\ntarget_lufs = x\n", 24));
	err = refs_platform_load(path, 0, &set, msg, sizeof(msg));
	ASSERT_INT("bad file", REFS_PLATFORM_ERROR_PARSE, err);
	snprintf(want, sizeof(want), "%s:2: target_lufs: expected a number", path);
	ASSERT_TRUE(msg, strncmp(msg, want, strlen(want)) == 0);
	ASSERT_TRUE("no set", set == NULL);

	/* a NUL byte */
	ASSERT_INT("write NUL file", 0, write_file(path, "[apple]\n\0\n", 10));
	err = refs_platform_load(path, 0, &set, msg, sizeof(msg));
	ASSERT_INT("NUL file", REFS_PLATFORM_ERROR_PARSE, err);
	snprintf(want, sizeof(want), "%s:2: expected text, got a NUL byte", path);
	ASSERT_TRUE(msg, strcmp(msg, want) == 0);

	/* missing files */
	snprintf(path, sizeof(path), "%s/nope.txt", dir);
	errno = 0;
	err = refs_platform_load(path, 0, &set, msg, sizeof(msg));
	ASSERT_INT("missing file", REFS_PLATFORM_ERROR_ERRNO, err);
	ASSERT_INT("errno kept", ENOENT, errno);
	ASSERT_TRUE(msg, strstr(msg, path) == msg && strstr(msg, strerror(ENOENT)));
	ASSERT_TRUE("no set", set == NULL);
	err = refs_platform_load(path, REFS_PLATFORM_LOAD_MISSING_OK, &set, msg, sizeof(msg));
	ASSERT_INT("missing file is fine when allowed", REFS_PLATFORM_OK, err);
	ASSERT_INT("built-ins only", (long long)n, (long long)refs_platform_count(set));
	refs_platform_set_free(&set);
	/* a folder is not a file (fopen succeeds on Linux, reading fails) */
	err = refs_platform_load(dir, REFS_PLATFORM_LOAD_MISSING_OK, &set, msg, sizeof(msg));
	ASSERT_INT("folder", REFS_PLATFORM_ERROR_ERRNO, err);
	ASSERT_TRUE("no set", set == NULL);
	/* no file at all */
	err = refs_platform_load(NULL, 0, &set, msg, sizeof(msg));
	ASSERT_INT("no file", REFS_PLATFORM_OK, err);
	ASSERT_INT("built-ins", (long long)n, (long long)refs_platform_count(set));
	if (set)
		ASSERT_TRUE("spotify-normal first",
		            refs_platform_at(set, 0) &&
		                strcmp(refs_platform_at(set, 0)->id, "spotify-normal") == 0);
	refs_platform_set_free(&set);
	refs_platform_set_free(&set); /* twice is fine */
	refs_platform_set_free(NULL);
	/* an empty file changes nothing */
	err = refs_platform_load_string("", "empty.txt", 0, &set, msg, sizeof(msg));
	ASSERT_INT("empty", REFS_PLATFORM_OK, err);
	ASSERT_INT("empty: built-ins", (long long)n, (long long)refs_platform_count(set));
	refs_platform_set_free(&set);
	/* messages are cut to the caller's buffer, never overrun */
	err = refs_platform_load_string("[apple]\ntarget = 1\n", "bad.txt", 0, &set, msg, 8);
	ASSERT_INT("short buffer", REFS_PLATFORM_ERROR_PARSE, err);
	ASSERT_TRUE("cut message", strcmp(msg, "bad.txt") == 0);
	err = refs_platform_load_string("[apple]\ntarget = 1\n", "bad.txt", 0, &set, NULL, 0);
	ASSERT_INT("no buffer", REFS_PLATFORM_ERROR_PARSE, err);
}

static int rules_equal(const struct refs_platform *a, const struct refs_platform *b)
{
	return strcmp(a->id, b->id) == 0 && strcmp(a->label, b->label) == 0 &&
	       a->target_lufs == b->target_lufs && a->boost == b->boost &&
	       a->max_peak_dbtp == b->max_peak_dbtp &&
	       a->limiter_ceiling_db == b->limiter_ceiling_db &&
	       a->limiter_attack_ms == b->limiter_attack_ms &&
	       a->limiter_release_ms == b->limiter_release_ms && a->gain_step_db == b->gain_step_db;
}

static void check_shipped_file(void)
{
	const char *srcdir = getenv("top_srcdir");
	char path[4096], msg[4200];
	struct refs_platform_set *set;
	size_t n;
	const struct refs_platform *b = refs_platform_builtin(&n);
	int err;

	if (srcdir && *srcdir) {
		snprintf(path, sizeof(path), "%s/refs/platforms.txt", srcdir);
	} else {
		/* built by hand: find it beside this source file */
		const char *slash = strrchr(__FILE__, '/');
		int dirlen = slash ? (int)(slash - __FILE__) : 0;

		snprintf(path, sizeof(path), "%.*s%s../refs/platforms.txt", dirlen, __FILE__,
		         slash ? "/" : "");
	}
	/* on its own: every rule must be complete */
	err = refs_platform_load(path, REFS_PLATFORM_LOAD_NO_BUILTINS, &set, msg, sizeof(msg));
	ASSERT_INT(msg, REFS_PLATFORM_OK, err);
	if (!set)
		return;
	ASSERT_INT("shipped rule count", (long long)n, (long long)refs_platform_count(set));
	for (size_t i = 0; i < n; i++) {
		const struct refs_platform *p = refs_platform_at(set, i);

		if (!p || !rules_equal(p, &b[i]))
			test_fail(__FILE__, __LINE__,
			          "%s: rule %zu (%s) differs from the compiled-in %s", path, i,
			          p ? p->id : "(none)", b[i].id);
		test_checks++;
	}
	refs_platform_set_free(&set);
	/* as a user file over the built-ins it changes nothing */
	err = refs_platform_load(path, 0, &set, msg, sizeof(msg));
	ASSERT_INT(msg, REFS_PLATFORM_OK, err);
	if (!set)
		return;
	ASSERT_INT("over built-ins: count", (long long)n, (long long)refs_platform_count(set));
	for (size_t i = 0; i < n && i < refs_platform_count(set); i++)
		ASSERT_TRUE(b[i].id, rules_equal(refs_platform_at(set, i), &b[i]));
	refs_platform_set_free(&set);
}

/* Numbers read exactly as strtod() reads them in the C locale, and in a
 * locale whose decimal separator is ',' just the same. */
static void check_numbers(void)
{
	static const char *const nums[] = {"-14",           "-0.3", "-14.2", "-0.05", "-13.999999",
	                                   "-69.123456789", "-0",   "0.0",   "+0",    "-7.25"};
	static const char *const comma_locales[] = {"de_DE.UTF-8", "de_DE.utf8",  "fr_FR.UTF-8",
	                                            "fr_FR.utf8",  "nl_NL.UTF-8", "nl_NL.utf8"};
	const char *loc = NULL;

	for (size_t pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
			char text[128], msg[256];
			struct refs_platform_set *set;
			const struct refs_platform *p;
			int err;

			snprintf(text, sizeof(text), "[n]\ntarget_lufs = %s\npositive_gain = no\n",
			         nums[i]);
			err = refs_platform_load_string(
			    text, "n.txt", REFS_PLATFORM_LOAD_NO_BUILTINS, &set, msg, sizeof(msg));
			ASSERT_INT(msg, REFS_PLATFORM_OK, err);
			p = refs_platform_find(set, "n");
			if (p) {
				char *save = strdup(setlocale(LC_NUMERIC, NULL));

				setlocale(LC_NUMERIC, "C");
				ASSERT_CLOSE(nums[i], strtod(nums[i], NULL), p->target_lufs, 0);
				setlocale(LC_NUMERIC, save);
				free(save);
			}
			test_checks++;
			if (!p)
				test_fail(__FILE__, __LINE__, "%s: not parsed", nums[i]);
			refs_platform_set_free(&set);
		}
		if (pass == 0) {
			for (size_t k = 0; k < sizeof(comma_locales) / sizeof(comma_locales[0]);
			     k++)
				if ((loc = setlocale(LC_NUMERIC, comma_locales[k])) != NULL &&
				    strcmp(localeconv()->decimal_point, ",") == 0)
					break;
				else
					loc = NULL;
			if (!loc) {
				printf("no locale with a decimal comma installed: "
				       "locale independence not exercised\n");
				break;
			}
		}
	}
	setlocale(LC_NUMERIC, "C");
}

static void check_user_path(void)
{
	char buf[256];
	char *home = getenv("HOME") ? strdup(getenv("HOME")) : NULL;
	char *xdg = getenv("XDG_CONFIG_HOME") ? strdup(getenv("XDG_CONFIG_HOME")) : NULL;

	setenv("XDG_CONFIG_HOME", "/cfg", 1);
	setenv("HOME", "/home/me", 1);
	ASSERT_INT("xdg", REFS_PLATFORM_OK, refs_platform_user_path(buf, sizeof(buf)));
	ASSERT_TRUE(buf, strcmp(buf, "/cfg/termaster/platforms.txt") == 0);
	setenv("XDG_CONFIG_HOME", "relative", 1);
	ASSERT_INT("relative xdg", REFS_PLATFORM_OK, refs_platform_user_path(buf, sizeof(buf)));
	ASSERT_TRUE(buf, strcmp(buf, "/home/me/.config/termaster/platforms.txt") == 0);
	unsetenv("XDG_CONFIG_HOME");
	ASSERT_INT("home", REFS_PLATFORM_OK, refs_platform_user_path(buf, sizeof(buf)));
	ASSERT_TRUE(buf, strcmp(buf, "/home/me/.config/termaster/platforms.txt") == 0);
	ASSERT_INT("too long", REFS_PLATFORM_ERROR_TOOLONG, refs_platform_user_path(buf, 10));
	unsetenv("HOME");
	ASSERT_INT("nowhere", REFS_PLATFORM_ERROR_NOPATH,
	           refs_platform_user_path(buf, sizeof(buf)));
	if (home)
		setenv("HOME", home, 1);
	if (xdg)
		setenv("XDG_CONFIG_HOME", xdg, 1);
	free(home);
	free(xdg);
}

static void check_strerror(void)
{
	for (int e = REFS_PLATFORM_OK; e <= REFS_PLATFORM_ERROR_TOOLONG; e++)
		ASSERT_TRUE("error text",
		            strcmp(refs_platform_strerror(e), "unknown platform error"));
	ASSERT_TRUE("unknown", strcmp(refs_platform_strerror(99), "unknown platform error") == 0);
	ASSERT_TRUE("negative", strcmp(refs_platform_strerror(-1), "unknown platform error") == 0);
}

int main(void)
{
	check_builtin_table();
	check_known_sources();
	check_by_hand();
	check_sweep();
	check_invalid_sources();
	check_rounding();
	check_parse_errors();
	check_user_file();
	check_shipped_file();
	check_numbers();
	check_user_path();
	check_strerror();
	return test_done();
}

/*
 * termaster — unit test: playback-system simulation (chain/devsim.c) and
 * its device files (refs/devices.c and the files in refs/devices/).
 *
 * Thresholds and where they come from:
 *  - the curve: every shipped device's magnitude response, measured with
 *    sines (measure_sine_amp, whole periods after the filter settled) at
 *    40 log-spaced frequencies from 20 Hz to 20 kHz, at 44.1 and 48 kHz,
 *    at listening level TEST_LEVEL_DB (-40 dB: the excursion model is
 *    exactly linear there, see chain/devsim.h) with the noise off, lies
 *    within ±1 dB of the curve file, interpolated linearly in
 *    log-frequency by this test's own code (the requirement); at
 *    96 kHz the same on 12 frequencies, and above 20 kHz the response
 *    stays within 6 dB of the curve's last value ("sensible");
 *  - the reported fit error (chain_devsim_fit_error_db) agrees with the
 *    sine measurement, and the analytic response with the measured one
 *    within 0.02 dB;
 *  - mono devices: identical output channels (bit for bit) for a stereo
 *    input whose channels differ; stereo devices keep them apart;
 *  - flat at 0 dB: bit-exact passthrough;
 *  - excursion, on a flat curve with excursion_hz 500, excursion_db -20,
 *    ratio 4 at listening level 0 dB (drive 10): a 60 Hz tone 12.04 dB
 *    louder (0.2 -> 0.8 peak, u = 2 -> 8 times the excursion limit) comes
 *    out louder by the derived amount: the limiter (threshold 0.5, ratio 4)
 *    holds the band's peak at 0.5·(u/0.5)^(1/4) = 0.707 -> 1.0, and the
 *    suspension S() bends that; the fundamental of S(V sin) computed here
 *    by numerical integration gives the expected rise (1.76 dB), ±0.5 dB
 *    for the envelope's ripple (release 150 ms over 8.3 ms half periods);
 *    at most 12.04 / 4 dB (the limiter alone); the 3rd harmonic is above
 *    -50 dB re the fundamental at the louder tone and higher than at the
 *    softer one; the protection meter reads 6 dB more; at listening level
 *    -60 dB the same tones come out exactly linear (3rd harmonic below
 *    -120 dB); the shipped phone at full volume compresses a 60 Hz tone
 *    (+12 dB in, at most +6 dB out) and its distortion rises by more than
 *    40 dB over the test level's;
 *  - road noise: RMS over 20 s within 1 dB of the set level (the
 *    requirement; deterministic), off by default (exact zeros), the same
 *    sequence after reset, uncorrelated channels (|r| < 0.05), spectrum
 *    falling ~3 dB/oct (125 Hz vs 500 Hz: 6 ± 2.5 dB per bin) and rolled
 *    off above 1 kHz (4 kHz at least 20 dB under 500 Hz per bin);
 *  - call sizes 1, 7, 32, 333, 1024 agree within 1e-6 (STYLE.md §7) with
 *    level and noise changes at fixed frames;
 *  - reset, hostile input (NaN, ±inf, 1e30, subnormals), exact zeros after
 *    silence (no subnormal tails), bounded steps when the level jumps;
 *  - the parser: the shipped folder, every malformed file gives
 *    REFS_DEVICES_ERROR_PARSE with "file:line:" and the reason, user files
 *    override built-ins, a bad user file is skipped and named.
 * The speed of each device (ns per stereo frame at 48 kHz, music-like
 * input at full volume) is printed, not checked.
 */
#include "config.h"

#include <errno.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "chain/chain.h"
#include "chain/devsim.h"
#include "refs/devices.h"
#include "tests/util.h"

#define TEST_LEVEL_DB -40.0f
#define N_SINES       40
#define N_SINES_96K   12

static const char *const shipped[] = {"flat", "earbuds", "car", "phone", "laptop", "tv"};
#define N_SHIPPED (sizeof(shipped) / sizeof(shipped[0]))

static char devices_dir[4096];
static struct refs_device_set *set;

static float *fbuf(size_t n)
{
	float *b = calloc(n ? n : 1, sizeof(float));

	if (!b)
		exit(99);
	return b;
}

/* The curve file's value at f: linear in log-frequency, flat beyond the
 * ends (written here, independently of chain_devsim_curve_db). */
static double curve_at(const struct chain_devsim_spec *s, double f)
{
	unsigned i;

	if (f <= s->freq_hz[0])
		return s->gain_db[0];
	for (i = 1; i < s->n_points; i++)
		if (f <= s->freq_hz[i]) {
			double t = (log10(f) - log10(s->freq_hz[i - 1])) /
			           (log10(s->freq_hz[i]) - log10(s->freq_hz[i - 1]));

			return s->gain_db[i - 1] + t * (s->gain_db[i] - s->gain_db[i - 1]);
		}
	return s->gain_db[s->n_points - 1];
}

static struct chain_devsim *open_dev(const struct chain_devsim_spec *s, double rate)
{
	int err = -1;
	struct chain_devsim *d = chain_devsim_new(rate, s, &err);

	if (!d) {
		fprintf(stderr, "chain_devsim_new: error %d\n", err);
		exit(99);
	}
	return d;
}

/* Processes n frames in calls of `blk` frames. */
static void run(struct chain_devsim *d, float *l, float *r, size_t n, unsigned blk)
{
	for (size_t i = 0; i < n; i += blk) {
		unsigned len = (unsigned)(n - i < blk ? n - i : blk);
		float *b[2] = {l + i, r + i};

		chain_devsim_process(d, b, len);
	}
}

static const struct refs_device *need(const char *name)
{
	const struct refs_device *dev = refs_device_find(set, name);

	if (!dev) {
		fprintf(stderr, "no shipped device '%s' in %s\n", name, devices_dir);
		exit(99);
	}
	return dev;
}

/* ---- the parser ---- */

static void find_devices_dir(void)
{
	const char *srcdir = getenv("top_srcdir");

	if (srcdir && *srcdir) {
		snprintf(devices_dir, sizeof(devices_dir), "%s/refs/devices", srcdir);
	} else {
		/* built by hand: beside this source file */
		const char *slash = strrchr(__FILE__, '/');
		int dirlen = slash ? (int)(slash - __FILE__) : 0;

		snprintf(devices_dir, sizeof(devices_dir), "%.*s%s../refs/devices", dirlen,
		         __FILE__, slash ? "/" : "");
	}
}

static void check_shipped(void)
{
	char msg[1200];
	int err = refs_devices_load(devices_dir, NULL, &set, msg, sizeof(msg));

	ASSERT_INT(msg, REFS_DEVICES_OK, err);
	if (!set) {
		fprintf(stderr, "cannot go on without the shipped devices\n");
		exit(1);
	}
	ASSERT_INT("shipped device count", (long long)N_SHIPPED, (long long)refs_device_count(set));
	/* display order: the `order` keys */
	for (size_t i = 0; i < N_SHIPPED && i < refs_device_count(set); i++)
		ASSERT_TRUE(shipped[i], strcmp(refs_device_at(set, i)->name, shipped[i]) == 0);
	for (size_t i = 0; i < N_SHIPPED; i++) {
		const struct refs_device *dev = need(shipped[i]);

		ASSERT_TRUE(dev->name, dev->user == 0);
		ASSERT_TRUE(dev->name, dev->spec.n_points >= 2);
		ASSERT_TRUE(dev->name, strlen(dev->label) > 0);
	}
	/* the behaviour each file declares */
	ASSERT_INT("phone mono", 1, need("phone")->spec.mono);
	ASSERT_INT("laptop stereo", 0, need("laptop")->spec.mono);
	ASSERT_INT("earbuds stereo", 0, need("earbuds")->spec.mono);
	ASSERT_TRUE("phone excursion", need("phone")->spec.excursion_hz > 0);
	ASSERT_TRUE("laptop excursion", need("laptop")->spec.excursion_hz > 0);
	ASSERT_TRUE("tv excursion", need("tv")->spec.excursion_hz > 0);
	ASSERT_TRUE("car noise", need("car")->spec.noise_hi_hz > 0);
	ASSERT_TRUE("car: no excursion", need("car")->spec.excursion_hz == 0);
	ASSERT_TRUE("flat: no noise", need("flat")->spec.noise_hi_hz == 0);
}

struct bad_case {
	const char *text;
	unsigned line;
	const char *says; /* a piece of the reason */
};

static const struct bad_case bad_cases[] = {
    {"name = x\n20 0\n100 abc\n", 3, "\"abc\" is not a number (gain_db)"},
    {"name = x\n20 0\n1k 3\n", 3, "\"1k\" is not a number (frequency_hz)"},
    {"name = x\n20 0\n100 1.\n", 3, "not a number (gain_db)"},
    {"name = x\n20 0\n100 1e3\n", 3, "not a number (gain_db)"},
    {"20 0\n100 1\n", 2, "no \"name = …\" line"},
    {"# only a comment\n", 1, "no \"name = …\" line"},
    {"name = x\n20 0\n100 1\n50 2\n", 4, "50 Hz is not above the previous point's 100 Hz (line 3)"},
    {"name = x\n20 0\n100 1\n100 2\n", 4, "frequencies must increase"},
    {"name = x\nmon = yes\n20 0\n100 1\n", 2, "unknown key \"mon\""},
    {"name = x\nmono = maybe\n20 0\n100 1\n", 2, "mono: expected yes or no"},
    {"name = x\nmono = yes\nmono = no\n20 0\n100 1\n", 3, "duplicate key mono (first at line 2)"},
    {"name = My Car\n20 0\n100 1\n", 1, "name: expected 1-31 characters"},
    {"name = x\nexcursion_hz = 3\nexcursion_db = -20\n20 0\n100 1\n", 2,
     "excursion_hz: expected 10 to 5000 Hz (or 0: none), got 3"},
    {"name = x\nexcursion_hz = 500\n20 0\n100 1\n", 2, "excursion_hz needs excursion_db"},
    {"name = x\nnoise_hi_hz = 150\nnoise_lo_hz = 180\n20 0\n100 1\n", 2,
     "noise_hi_hz 150 Hz: expected above noise_lo_hz"},
    {"name = x\nexcursion_ratio = fast\n20 0\n100 1\n", 2,
     "excursion_ratio: expected a plain decimal number"},
    {"name = x\norder = 2.5\n20 0\n100 1\n", 2, "order: expected a whole number"},
    {"name = x\n20 0\n", 2, "after 1 point: a curve needs at least 2"},
    {"name = x\n20 -500\n100 0\n", 2, "gain -500 dB: expected -120 to 40 dB"},
    {"name = x\n0.5 0\n100 0\n", 2, "frequency 0.5 Hz: expected 1 to 100000 Hz"},
    {"name = x\n20 0 5\n100 0\n", 2, "and nothing after"},
    {"name = x\n20\n100 0\n", 2, "got only one number"},
    {"name = x\nsomething odd\n20 0\n100 0\n", 2, "expected \"key = value\""},
    {"name = x\n = 3\n20 0\n100 0\n", 2, "expected a key before '='"},
    {"name = x\nlabel =\n20 0\n100 0\n", 2, "label: expected a value after '='"},
};

static void check_parse_errors(void)
{
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad_case *c = &bad_cases[i];
		struct refs_device *dev = malloc(sizeof(*dev));
		char msg[600], where[64];
		int err;

		if (!dev)
			exit(99);
		err = refs_device_parse(c->text, "bad.txt", dev, msg, sizeof(msg));
		snprintf(where, sizeof(where), "bad.txt:%u: ", c->line);
		ASSERT_INT(c->says, REFS_DEVICES_ERROR_PARSE, err);
		if (strncmp(msg, where, strlen(where)) != 0 || !strstr(msg, c->says))
			test_fail(__FILE__, __LINE__, "case %zu: expected \"%s…%s…\", got \"%s\"",
			          i, where, c->says, msg);
		test_checks++;
		free(dev);
	}
}

static void check_parse_good(void)
{
	struct refs_device *dev = malloc(sizeof(*dev));
	char msg[600];
	int err;

	if (!dev)
		exit(99);
	/* separators, CRLF, blanks, comments, defaults */
	err = refs_device_parse("# mine\r\nname = mine\r\n\r\n  20, -3\r\n100;0\r\n1000\t+1.5\r\n"
	                        "20000 -0.25\r\n",
	                        "good.txt", dev, msg, sizeof(msg));
	ASSERT_INT(msg, REFS_DEVICES_OK, err);
	ASSERT_TRUE("empty msg", msg[0] == '\0');
	ASSERT_TRUE("name", strcmp(dev->name, "mine") == 0);
	ASSERT_TRUE("label defaults to the name", strcmp(dev->label, "mine") == 0);
	ASSERT_INT("points", 4, dev->spec.n_points);
	ASSERT_CLOSE("f0", 20.0, dev->spec.freq_hz[0], 0);
	ASSERT_CLOSE("g0", -3.0, dev->spec.gain_db[0], 0);
	ASSERT_CLOSE("g2", 1.5, dev->spec.gain_db[2], 0);
	ASSERT_CLOSE("g3", -0.25, dev->spec.gain_db[3], 0);
	ASSERT_INT("mono default", 0, dev->spec.mono);
	ASSERT_CLOSE("no excursion", 0.0, dev->spec.excursion_hz, 0);
	ASSERT_CLOSE("no noise", 0.0, dev->spec.noise_hi_hz, 0);
	ASSERT_CLOSE("ratio default", 4.0, dev->spec.excursion_ratio, 0);
	ASSERT_INT("order default", 500, dev->order);

	/* in a locale whose decimal separator is ',' (as the screen sets it) */
	{
		static const char *const comma[] = {"de_DE.UTF-8", "de_DE.utf8", "fr_FR.UTF-8",
		                                    "fr_FR.utf8", "nl_NL.UTF-8"};
		const char *loc = NULL;

		for (size_t k = 0; k < sizeof(comma) / sizeof(comma[0]) && !loc; k++)
			if ((loc = setlocale(LC_NUMERIC, comma[k])) != NULL &&
			    strcmp(localeconv()->decimal_point, ",") != 0)
				loc = NULL;
		if (loc) {
			err = refs_device_parse("name = m\n20 -0.5\n1000 2.25\n", "loc.txt", dev,
			                        msg, sizeof(msg));
			ASSERT_INT(msg, REFS_DEVICES_OK, err);
			ASSERT_CLOSE("decimal point in a ',' locale", 2.25, dev->spec.gain_db[1],
			             0);
		} else {
			printf("(no locale with a ',' decimal separator installed: skipped)\n");
		}
		setlocale(LC_NUMERIC, "C");
	}
	free(dev);
}

static void write_file(const char *dir, const char *name, const char *text)
{
	char path[4200];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	if (!f || fputs(text, f) < 0 || fclose(f)) {
		perror(path);
		exit(99);
	}
}

/* Removes what check_folders() wrote. */
static void remove_files(const char *dir, const char *const *names, size_t n)
{
	char path[4200];

	for (size_t i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		unlink(path);
	}
	rmdir(dir);
}

static void check_folders(void)
{
	static const char *const user_files[] = {"mycar.txt",  "yourcar.txt", "mine.txt",
	                                         "broken.txt", "worse.txt",   "notes.md",
	                                         ".hidden.txt"};
	static const char *const dup_files[] = {"a.txt", "b.txt"};
	char user[4200], dup[4200], msg[1200], buf[256];
	struct refs_device_set *s = NULL;
	const struct refs_device *car;
	int err;

	snprintf(user, sizeof(user), "%s/user", test_tmpdir("devsim"));
	snprintf(dup, sizeof(dup), "%s/dup", test_tmpdir("devsim"));
	if ((mkdir(user, 0700) && errno != EEXIST) || (mkdir(dup, 0700) && errno != EEXIST))
		exit(99);
	write_file(user, "mycar.txt", "name = car\nlabel = My car\n20 3\n20000 3\n");
	write_file(user, "yourcar.txt", "name = car\nlabel = Your car\n20 4\n20000 4\n");
	write_file(user, "mine.txt", "name = mine\norder = 5\n20 0\n20000 -6\n");
	write_file(user, "broken.txt", "name = broken\n20 0\n10 0\n");
	write_file(user, "worse.txt", "20 0\n");
	write_file(user, "notes.md", "not a device file\n");
	write_file(user, ".hidden.txt", "not read either\n");

	/* a bad user file is skipped and named; the others override / add */
	err = refs_devices_load(devices_dir, user, &s, msg, sizeof(msg));
	ASSERT_INT(msg, REFS_DEVICES_ERROR_PARSE, err);
	ASSERT_TRUE("set despite a bad user file", s != NULL);
	ASSERT_TRUE(msg, strstr(msg, "/broken.txt:3: 10 Hz is not above") != NULL);
	ASSERT_TRUE(msg, strstr(msg, "(and 2 more files)") != NULL);
	if (s) {
		ASSERT_INT("count", (long long)N_SHIPPED + 1, (long long)refs_device_count(s));
		car = refs_device_find(s, "car");
		ASSERT_TRUE("user car", car && car->user == 1 && strcmp(car->label, "My car") == 0);
		ASSERT_TRUE("user car curve", car && car->spec.gain_db[0] == 3.0);
		ASSERT_TRUE("one car", refs_device_count(s) == N_SHIPPED + 1);
		ASSERT_TRUE("mine", refs_device_find(s, "mine") != NULL);
		ASSERT_TRUE("broken skipped", refs_device_find(s, "broken") == NULL);
		ASSERT_TRUE("order", strcmp(refs_device_at(s, 1)->name, "mine") == 0);
		ASSERT_TRUE("builtin kept", refs_device_find(s, "phone") &&
		                                refs_device_find(s, "phone")->user == 0);
	}
	refs_device_set_free(&s);
	ASSERT_TRUE("freed", s == NULL);

	/* the second user file naming "car" is reported, not used */
	write_file(user, "broken.txt", "name = broken\n20 0\n20000 0\n");
	write_file(user, "worse.txt", "name = worse\n20 0\n20000 0\n");
	err = refs_devices_load(devices_dir, user, &s, msg, sizeof(msg));
	ASSERT_INT(msg, REFS_DEVICES_ERROR_PARSE, err);
	ASSERT_TRUE(msg, strstr(msg, "/yourcar.txt:1: device 'car' is already defined in "
	                             "mycar.txt") != NULL);
	ASSERT_TRUE("still my car", s && strcmp(refs_device_find(s, "car")->label, "My car") == 0);
	refs_device_set_free(&s);

	/* a missing user folder is normal; a missing built-in folder is not */
	snprintf(buf, sizeof(buf), "%s/nowhere", test_tmpdir("devsim"));
	err = refs_devices_load(devices_dir, buf, &s, msg, sizeof(msg));
	ASSERT_INT(msg, REFS_DEVICES_OK, err);
	refs_device_set_free(&s);
	err = refs_devices_load(buf, NULL, &s, msg, sizeof(msg));
	ASSERT_INT(msg, REFS_DEVICES_ERROR_ERRNO, err);
	ASSERT_TRUE("no set", s == NULL);
	ASSERT_TRUE(msg, strstr(msg, "nowhere: ") != NULL);

	/* the same name twice in one folder */
	write_file(dup, "a.txt", "name = same\n20 0\n20000 0\n");
	write_file(dup, "b.txt", "# b\nname = same\n20 0\n20000 0\n");
	err = refs_devices_load(dup, NULL, &s, msg, sizeof(msg));
	ASSERT_INT(msg, REFS_DEVICES_ERROR_PARSE, err);
	ASSERT_TRUE(msg,
	            strstr(msg, "/b.txt:2: device 'same' is already defined in a.txt") != NULL);
	refs_device_set_free(&s);

	/* a broken built-in file is fatal */
	write_file(dup, "b.txt", "name = other\n20 0\n20000 x\n");
	err = refs_devices_load(dup, NULL, &s, msg, sizeof(msg));
	ASSERT_INT(msg, REFS_DEVICES_ERROR_PARSE, err);
	ASSERT_TRUE("no set", s == NULL);
	ASSERT_TRUE(msg, strstr(msg, "/b.txt:3: \"x\" is not a number") != NULL);

	remove_files(user, user_files, sizeof(user_files) / sizeof(user_files[0]));
	remove_files(dup, dup_files, sizeof(dup_files) / sizeof(dup_files[0]));
	rmdir(test_tmpdir("devsim"));

	/* where the user's folder is */
	setenv("XDG_CONFIG_HOME", "/cfg", 1);
	ASSERT_INT("xdg", 0, refs_devices_user_dir(buf, sizeof(buf)));
	ASSERT_TRUE(buf, strcmp(buf, "/cfg/termaster/devices") == 0);
	setenv("XDG_CONFIG_HOME", "relative", 1);
	setenv("HOME", "/home/me", 1);
	ASSERT_INT("home", 0, refs_devices_user_dir(buf, sizeof(buf)));
	ASSERT_TRUE(buf, strcmp(buf, "/home/me/.config/termaster/devices") == 0);
	ASSERT_INT("toolong", REFS_DEVICES_ERROR_TOOLONG, refs_devices_user_dir(buf, 8));
	unsetenv("XDG_CONFIG_HOME");
	unsetenv("HOME");
	ASSERT_INT("nopath", REFS_DEVICES_ERROR_NOPATH, refs_devices_user_dir(buf, sizeof(buf)));
}

/* ---- the curve ---- */

/* Gain in dB of the device at f, each channel, for a sine of amplitude
 * amp on both, measured over whole periods after 0.5 s (the slowest
 * section, at 16 Hz, decays by e in ~40 ms). */
static void sine_gain_db(struct chain_devsim *d, double rate, double f, double amp,
                         double gain_db[2])
{
	size_t settle = (size_t)fmax(0.5 * rate, 20.0 * rate / f);
	size_t meas = (size_t)fmax(0.5 * rate, 10.0 * rate / f);
	size_t n = settle + meas;
	float *l = fbuf(n), *r = fbuf(n);

	gen_sine(l, n, 1, rate, f, amp, 0.0);
	memcpy(r, l, n * sizeof(float));
	chain_devsim_reset(d);
	run(d, l, r, n, 1024);
	gain_db[0] = lin_to_db(measure_sine_amp(l + settle, meas, 1, rate, f) / amp);
	gain_db[1] = lin_to_db(measure_sine_amp(r + settle, meas, 1, rate, f) / amp);
	free(l);
	free(r);
}

static void check_curve(const struct refs_device *dev, double rate, unsigned n_freq)
{
	struct chain_devsim *d = open_dev(&dev->spec, rate);
	double worst = 0.0, worst_f = 0.0, fit = chain_devsim_fit_error_db(d);
	double fmax = fmin(20000.0, 0.46 * rate);
	char what[128];

	chain_devsim_set_level(d, TEST_LEVEL_DB, 1);
	ASSERT_INT("latency", 0, chain_devsim_latency(d));
	for (unsigned i = 0; i < n_freq; i++) {
		double f = 20.0 * pow(fmax / 20.0, (double)i / (n_freq - 1));
		double want = curve_at(&dev->spec, f), gain[2];

		sine_gain_db(d, rate, f, 0.25, gain);
		for (unsigned ch = 0; ch < 2; ch++) {
			double got = gain[ch];

			snprintf(what, sizeof(what), "%s at %g Hz, %.1f Hz, channel %u", dev->name,
			         rate, f, ch);
			ASSERT_CLOSE(what, want, got, 1.0);
			/* the analytic response is what runs */
			ASSERT_CLOSE(what, chain_devsim_response_db(d, f), got, 0.02);
			if (fabs(got - want) > worst) {
				worst = fabs(got - want);
				worst_f = f;
			}
		}
	}
	snprintf(what, sizeof(what), "%s at %g Hz: reported fit error", dev->name, rate);
	ASSERT_LE(what, fit, 1.0);
	ASSERT_LE(what, worst, fit + 0.02);
	if (rate > 50000.0) {
		/* above 20 kHz: near the curve's last value */
		double last = dev->spec.gain_db[dev->spec.n_points - 1];

		for (double f = 20000.0; f < 0.45 * rate; f *= 1.25) {
			snprintf(what, sizeof(what), "%s at %g Hz: %.0f Hz", dev->name, rate, f);
			ASSERT_CLOSE(what, last, chain_devsim_response_db(d, f), 6.0);
		}
	}
	printf("%-8s %6.0f Hz: %2u sections, fit within %.3f dB (sines: %.3f dB at %.0f Hz)\n",
	       dev->name, rate, chain_devsim_sections(d), fit, worst, worst_f);
	chain_devsim_free(&d);
	ASSERT_TRUE("freed", d == NULL);
}

/* ---- behaviour ---- */

static void check_mono(void)
{
	const double rate = 48000.0;
	const size_t n = 48000;

	for (size_t i = 0; i < refs_device_count(set); i++) {
		const struct refs_device *dev = refs_device_at(set, i);
		struct chain_devsim *d = open_dev(&dev->spec, rate);
		float *l = fbuf(n), *r = fbuf(n);
		size_t differ = 0;

		chain_devsim_set_level(d, 0.0f, 1);   /* excursion working too */
		chain_devsim_set_noise(d, -30.0f, 1); /* and the noise, if any */
		gen_sine(l, n, 1, rate, 440.0, 0.5, 0.0);
		gen_noise(r, n, 1, 0.5, 7);
		run(d, l, r, n, 333);
		for (size_t k = 0; k < n; k++)
			differ += l[k] != r[k];
		ASSERT_INT(dev->name, dev->spec.mono, chain_devsim_mono(d));
		if (dev->spec.mono)
			ASSERT_INT("mono: identical channels", 0, (long long)differ);
		else
			ASSERT_TRUE("stereo: channels kept apart", differ > n / 2);
		free(l);
		free(r);
		chain_devsim_free(&d);
	}
}

static void check_flat_exact(void)
{
	const size_t n = 20000;
	struct chain_devsim *d = open_dev(&need("flat")->spec, 44100.0);
	float *l = fbuf(n), *r = fbuf(n), *l0 = fbuf(n), *r0 = fbuf(n);

	gen_music(l, n, 1, 44100.0, 0.9, 3);
	gen_noise(r, n, 1, 0.9, 4);
	memcpy(l0, l, n * sizeof(float));
	memcpy(r0, r, n * sizeof(float));
	chain_devsim_set_level(d, 0.0f, 1);
	run(d, l, r, n, 1024);
	ASSERT_INT("flat: 0 sections", 0, chain_devsim_sections(d));
	ASSERT_TRUE("flat: bit-exact",
	            memcmp(l, l0, n * sizeof(float)) == 0 && memcmp(r, r0, n * sizeof(float)) == 0);
	ASSERT_CLOSE("flat: fit", 0.0, chain_devsim_fit_error_db(d), 0.0);
	free(l);
	free(r);
	free(l0);
	free(r0);
	chain_devsim_free(&d);
}

/* Fundamental amplitude of S(V sin t) (chain/devsim.h: linear to 1/2, then
 * 1/2 + (1/2)·t/(1 + t), t = 2|v| - 1), by numerical integration. */
static double suspension_fundamental(double V)
{
	const unsigned n = 100000;
	double acc = 0.0;

	for (unsigned i = 0; i < n; i++) {
		double th = 2.0 * M_PI * (i + 0.5) / n, v = V * sin(th), a = fabs(v), s;

		if (a <= 0.5) {
			s = v;
		} else {
			double t = 2.0 * a - 1.0;

			s = 0.5 + 0.5 * t / (1.0 + t);
			if (v < 0)
				s = -s;
		}
		acc += s * sin(th);
	}
	return 2.0 * acc / n;
}

/* Level in dB of a 60 Hz tone of amplitude amp through d, and of its
 * 3rd harmonic relative to it. */
static void tone60(struct chain_devsim *d, double rate, double amp, double *fund_db, double *h3_db,
                   float *protect_db)
{
	size_t settle = (size_t)rate, meas = (size_t)rate;
	size_t n = settle + meas;
	float *l = fbuf(n), *r = fbuf(n);
	double a1, a3;

	gen_sine(l, n, 1, rate, 60.0, amp, 0.0);
	memcpy(r, l, n * sizeof(float));
	chain_devsim_reset(d);
	run(d, l, r, settle, 512);
	run(d, l + settle, r + settle, meas, 512);
	*protect_db = chain_devsim_protection_db(d);
	a1 = measure_sine_amp(l + settle, meas, 1, rate, 60.0);
	a3 = measure_sine_amp(l + settle, meas, 1, rate, 180.0);
	*fund_db = lin_to_db(a1);
	*h3_db = a3 > 0 ? lin_to_db(a3 / a1) : -300.0;
	free(l);
	free(r);
}

static void check_excursion(void)
{
	const double rate = 48000.0, lo = 0.2, hi = 0.8;
	struct chain_devsim_spec *s = calloc(1, sizeof(*s));
	struct chain_devsim *d;
	double f_lo, f_hi, h3_lo, h3_hi, f_q, h3_q, rise_in = lin_to_db(hi / lo), expect;
	float p_lo, p_hi, p_q;

	if (!s)
		exit(99);
	chain_devsim_spec_default(s);
	s->n_points = 2;
	s->freq_hz[0] = 20.0;
	s->freq_hz[1] = 20000.0;
	s->excursion_hz = 500.0;
	s->excursion_db = -20.0;
	s->excursion_ratio = 4.0;
	s->mono = 1;
	d = open_dev(s, rate);
	chain_devsim_set_level(d, 0.0f, 1); /* drive 10: u = 10·amp */
	tone60(d, rate, lo, &f_lo, &h3_lo, &p_lo);
	tone60(d, rate, hi, &f_hi, &h3_hi, &p_hi);
	/* the limiter holds the band's peak at 0.5·(u/0.5)^(1/4) (× limit):
	 * 0.707 and 1.0; the suspension bends those; the output is that
	 * over the drive */
	expect = lin_to_db(suspension_fundamental(0.5 * pow(10.0 * hi / 0.5, 0.25)) /
	                   suspension_fundamental(0.5 * pow(10.0 * lo / 0.5, 0.25)));
	printf("excursion: +%.2f dB in -> +%.2f dB out (derived %.2f dB, limiter alone %.2f dB); "
	       "3rd harmonic %.1f -> %.1f dB; protection %.1f -> %.1f dB\n",
	       rise_in, f_hi - f_lo, expect, rise_in / 4.0, h3_lo, h3_hi, p_lo, p_hi);
	ASSERT_CLOSE("excursion: derived rise", expect, f_hi - f_lo, 0.5);
	ASSERT_LE("excursion: at most the limiter's rise", f_hi - f_lo, rise_in / 4.0 + 0.1);
	ASSERT_GE("excursion: still rises", f_hi - f_lo, 0.5);
	ASSERT_GE("excursion: distortion at high level", h3_hi, -50.0);
	ASSERT_GE("excursion: distortion rises", h3_hi, h3_lo);
	ASSERT_GE("excursion: protection engaged", p_hi, p_lo + 6.0);

	/* quiet listening: the same tones come out linear */
	chain_devsim_set_level(d, -60.0f, 1);
	tone60(d, rate, lo, &f_lo, &h3_lo, &p_lo);
	tone60(d, rate, hi, &f_q, &h3_q, &p_q);
	ASSERT_CLOSE("quiet: linear", rise_in, f_q - f_lo, 0.01);
	ASSERT_LE("quiet: no distortion", h3_q, -120.0);
	ASSERT_CLOSE("quiet: no protection", 0.0, p_q, 0.0);
	ASSERT_CLOSE("quiet: unity", lin_to_db(hi), f_q, 0.01);
	chain_devsim_free(&d);

	/* the shipped phone at full volume: 60 Hz compressed, distortion up */
	d = open_dev(&need("phone")->spec, rate);
	chain_devsim_set_level(d, 0.0f, 1);
	tone60(d, rate, 0.125, &f_lo, &h3_lo, &p_lo);
	tone60(d, rate, 0.5, &f_hi, &h3_hi, &p_hi);
	chain_devsim_set_level(d, TEST_LEVEL_DB, 1);
	tone60(d, rate, 0.5, &f_q, &h3_q, &p_q);
	printf("phone, 60 Hz at full volume: +12.0 dB in -> %+.2f dB out, 3rd harmonic %.1f dB "
	       "re fundamental (%.1f dB at %.0f dB listening level)\n",
	       f_hi - f_lo, h3_hi, h3_q, (double)TEST_LEVEL_DB);
	ASSERT_LE("phone: compressed", f_hi - f_lo, 12.04 - 6.0);
	ASSERT_GE("phone: distortion rises", h3_hi, h3_q + 40.0);
	chain_devsim_free(&d);
	free(s);
}

/* Goertzel power at bin k of a Hann-windowed frame. */
static double bin_power(const float *x, size_t n, double rate, double f)
{
	double w = 2.0 * M_PI * f / rate, c = 2.0 * cos(w), s1 = 0.0, s2 = 0.0;

	for (size_t i = 0; i < n; i++) {
		double h = 0.5 - 0.5 * cos(2.0 * M_PI * i / n), s = x[i] * h + c * s1 - s2;

		s2 = s1;
		s1 = s;
	}
	return s1 * s1 + s2 * s2 - c * s1 * s2;
}

static void check_noise(void)
{
	const double rate = 48000.0;
	const size_t settle = 24000, meas = 20 * 48000, n = settle + meas;
	struct chain_devsim *d = open_dev(&need("car")->spec, rate);
	float *l = fbuf(n), *r = fbuf(n), *l2 = fbuf(n), *r2 = fbuf(n);
	double sl = 0, sr = 0, slr = 0, p125 = 0, p500 = 0, p4k = 0;
	size_t nz = 0;
	char what[64];

	/* off by default: silence stays exact zeros */
	run(d, l, r, 48000, 1024);
	for (size_t i = 0; i < 48000; i++)
		nz += l[i] != 0.0f || r[i] != 0.0f;
	ASSERT_INT("noise off by default", 0, (long long)nz);

	for (int level = -40; level <= -10; level += 15) {
		memset(l, 0, n * sizeof(float));
		memset(r, 0, n * sizeof(float));
		chain_devsim_reset(d);
		chain_devsim_set_noise(d, (float)level, 1);
		run(d, l, r, n, 1024);
		sl = sr = slr = 0.0;
		for (size_t i = settle; i < n; i++) {
			sl += (double)l[i] * l[i];
			sr += (double)r[i] * r[i];
			slr += (double)l[i] * r[i];
		}
		snprintf(what, sizeof(what), "noise RMS at %d dB, left", level);
		ASSERT_CLOSE(what, level, 10.0 * log10(sl / meas), 1.0);
		snprintf(what, sizeof(what), "noise RMS at %d dB, right", level);
		ASSERT_CLOSE(what, level, 10.0 * log10(sr / meas), 1.0);
		snprintf(what, sizeof(what), "noise at %d dB: uncorrelated", level);
		ASSERT_LE(what, fabs(slr / sqrt(sl * sr)), 0.05);
		if (level == -40)
			printf("road noise set to -40 dB: RMS %.2f / %.2f dB\n",
			       10.0 * log10(sl / meas), 10.0 * log10(sr / meas));
	}
	/* deterministic: the same again after reset */
	memset(l2, 0, n * sizeof(float));
	memset(r2, 0, n * sizeof(float));
	chain_devsim_reset(d);
	run(d, l2, r2, n, 777);
	ASSERT_TRUE("noise: deterministic",
	            memcmp(l, l2, n * sizeof(float)) == 0 && memcmp(r, r2, n * sizeof(float)) == 0);
	/* shape: per-bin power, averaged over frames */
	for (size_t i = settle; i + 8192 <= n; i += 8192) {
		p125 += bin_power(l + i, 8192, rate, 125.0);
		p500 += bin_power(l + i, 8192, rate, 500.0);
		p4k += bin_power(l + i, 8192, rate, 4000.0);
	}
	printf("road noise spectrum: 125 Hz %+.1f dB, 4 kHz %+.1f dB re 500 Hz\n",
	       10.0 * log10(p125 / p500), 10.0 * log10(p4k / p500));
	ASSERT_CLOSE("noise: pink below 1 kHz", 6.0, 10.0 * log10(p125 / p500), 2.5);
	ASSERT_LE("noise: rolled off above 1 kHz", 10.0 * log10(p4k / p500), -20.0);

	/* switched off: glides down (50 ms per 63 %, in dB) to exact silence
	 * within 0.6 s (80 dB to the 1e-3 dB snap: 11.3 time constants) */
	chain_devsim_set_noise(d, -HUGE_VALF, 0);
	memset(l, 0, n * sizeof(float));
	memset(r, 0, n * sizeof(float));
	run(d, l, r, 72000, 1024);
	nz = 0;
	for (size_t i = 30000; i < 72000; i++)
		nz += l[i] != 0.0f || r[i] != 0.0f;
	ASSERT_INT("noise: off again", 0, (long long)nz);
	free(l);
	free(r);
	free(l2);
	free(r2);
	chain_devsim_free(&d);
}

/* Same output whatever the call sizes, with parameter changes at fixed
 * frames. */
static void check_block_sizes(const struct refs_device *dev)
{
	static const unsigned sizes[] = {1, 7, 32, 333, 1024};
	const double rate = 44100.0;
	const size_t n = 66150, change1 = 20000, change2 = 41000;
	float *ref_l = NULL, *ref_r = NULL;
	char what[96];

	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		struct chain_devsim *d = open_dev(&dev->spec, rate);
		float *l = fbuf(n), *r = fbuf(n);
		double md = 0.0;

		gen_music(l, n, 1, rate, 0.9, 11);
		gen_noise(r, n, 1, 0.3, 12);
		for (size_t i = 0; i < n; i++)
			r[i] += l[i] * 0.6f;
		chain_devsim_set_level(d, -30.0f, 1);
		run(d, l, r, change1, sizes[k]);
		chain_devsim_set_level(d, 0.0f, 0);
		chain_devsim_set_noise(d, -25.0f, 0);
		run(d, l + change1, r + change1, change2 - change1, sizes[k]);
		chain_devsim_set_level(d, -12.0f, 0);
		chain_devsim_set_noise(d, -50.0f, 0);
		run(d, l + change2, r + change2, n - change2, sizes[k]);
		if (!ref_l) {
			ref_l = l;
			ref_r = r;
		} else {
			for (size_t i = 0; i < n; i++) {
				md = fmax(md, fabs((double)l[i] - ref_l[i]));
				md = fmax(md, fabs((double)r[i] - ref_r[i]));
			}
			snprintf(what, sizeof(what), "%s: call size %u vs 1", dev->name, sizes[k]);
			ASSERT_LE(what, md, 1e-6);
			free(l);
			free(r);
		}
		chain_devsim_free(&d);
	}
	free(ref_l);
	free(ref_r);
}

static void check_reset_and_hostile(const struct refs_device *dev)
{
	const double rate = 48000.0;
	const size_t n = 48000 * 6;
	struct chain_devsim *d = open_dev(&dev->spec, rate);
	float *l = fbuf(n), *r = fbuf(n);
	size_t bad = 0, nonzero = 0;
	char what[96];

	/* reset: ones, reset, zeros -> exact zeros (noise off) */
	for (size_t i = 0; i < 4096; i++)
		l[i] = r[i] = 1.0f;
	chain_devsim_set_level(d, 0.0f, 1);
	run(d, l, r, 4096, 256);
	chain_devsim_reset(d);
	memset(l, 0, n * sizeof(float));
	memset(r, 0, n * sizeof(float));
	run(d, l, r, 4096, 256);
	for (size_t i = 0; i < 4096; i++)
		nonzero += l[i] != 0.0f || r[i] != 0.0f;
	snprintf(what, sizeof(what), "%s: zeros after reset", dev->name);
	ASSERT_INT(what, 0, (long long)nonzero);

	/* hostile input, then a tone, then silence */
	gen_music(l, n, 1, rate, 0.9, 5);
	memcpy(r, l, n * sizeof(float));
	l[100] = NAN;
	r[101] = INFINITY;
	l[102] = -INFINITY;
	r[103] = 1e30f;
	l[104] = -1e30f;
	for (size_t i = 200; i < 400; i++)
		l[i] = r[i] = 1e-40f; /* subnormal */
	for (size_t i = 48000; i < n; i++)
		l[i] = r[i] = 0.0f;
	run(d, l, r, n, 500);
	for (size_t i = 0; i < n; i++)
		bad += !isfinite(l[i]) || !isfinite(r[i]);
	snprintf(what, sizeof(what), "%s: finite on hostile input", dev->name);
	ASSERT_INT(what, 0, (long long)bad);
	/* no subnormal tails: exact zeros after 5 s of silence */
	nonzero = 0;
	for (size_t i = n - 24000; i < n; i++)
		nonzero += l[i] != 0.0f || r[i] != 0.0f;
	snprintf(what, sizeof(what), "%s: exact zeros after silence", dev->name);
	ASSERT_INT(what, 0, (long long)nonzero);
	chain_devsim_free(&d);
	free(l);
	free(r);
}

/* A jump of the listening level from quiet to full volume glides: no step
 * larger than the signal itself makes. */
static void check_level_step(void)
{
	const double rate = 48000.0;
	const size_t n = 48000;
	struct chain_devsim *d = open_dev(&need("phone")->spec, rate);
	float *l = fbuf(n), *r = fbuf(n);
	double steady = 0.0, jump = 0.0;

	gen_sine(l, n, 1, rate, 1000.0, 0.5, 0.0);
	for (size_t i = 0; i < n; i++)
		l[i] += (float)(0.5 * sin(2.0 * M_PI * 60.0 * i / rate));
	memcpy(r, l, n * sizeof(float));
	chain_devsim_set_level(d, -60.0f, 1);
	run(d, l, r, n / 2, 256);
	chain_devsim_set_level(d, 0.0f, 0);
	run(d, l + n / 2, r + n / 2, n / 2, 256);
	for (size_t i = n / 4; i < n / 2; i++)
		steady = fmax(steady, fabs((double)l[i] - l[i - 1]));
	for (size_t i = n / 2; i < n; i++)
		jump = fmax(jump, fabs((double)l[i] - l[i - 1]));
	ASSERT_LE("level jump: bounded steps", jump, 1.5 * steady);
	chain_devsim_free(&d);
	free(l);
	free(r);
}

static void check_spec_errors(void)
{
	struct chain_devsim_spec *s = calloc(1, sizeof(*s));
	char msg[200];
	int err = 0;

	if (!s)
		exit(99);
	chain_devsim_spec_default(s);
	s->n_points = 2;
	s->freq_hz[0] = 20.0;
	s->freq_hz[1] = 20000.0;
	ASSERT_TRUE("rate", chain_devsim_new(4000.0, s, &err) == NULL);
	ASSERT_INT("rate error", CHAIN_ERROR_RATE, err);
	s->freq_hz[1] = 10.0;
	ASSERT_TRUE("order", chain_devsim_new(48000.0, s, &err) == NULL);
	ASSERT_INT("order error", CHAIN_ERROR_VALUE, err);
	ASSERT_INT("check", CHAIN_ERROR_VALUE, chain_devsim_spec_check(s, msg, sizeof(msg)));
	ASSERT_TRUE(msg, strstr(msg, "point 2: 10 Hz is not above 20 Hz") != NULL);
	s->freq_hz[1] = 20000.0;
	s->gain_db[1] = NAN;
	ASSERT_INT("nan", CHAIN_ERROR_VALUE, chain_devsim_spec_check(s, msg, sizeof(msg)));
	s->gain_db[1] = 0.0;
	s->excursion_hz = 20000.0;
	ASSERT_INT("range", CHAIN_ERROR_RANGE, chain_devsim_spec_check(s, msg, sizeof(msg)));
	s->excursion_hz = 0.0;
	s->n_points = 0;
	ASSERT_INT("no points", CHAIN_ERROR_RANGE, chain_devsim_spec_check(s, msg, sizeof(msg)));
	chain_devsim_free(NULL);
	free(s);
}

/* A user's curve with more detail than the filter can follow: the fit is
 * still made and its error reported honestly. */
static void check_hard_curve(void)
{
	struct chain_devsim_spec *s = calloc(1, sizeof(*s));
	struct chain_devsim *d;
	double rates[] = {8000.0, 44100.0, 192000.0};

	if (!s)
		exit(99);
	chain_devsim_spec_default(s);
	for (unsigned i = 0; i < 200; i++) {
		s->freq_hz[i] = 20.0 * pow(1000.0, i / 199.0);
		s->gain_db[i] = (i % 2) ? 6.0 : -6.0; /* a 12 dB comb, 1/20 octave */
	}
	s->n_points = 200;
	for (unsigned k = 0; k < 3; k++) {
		d = open_dev(s, rates[k]);
		ASSERT_GE("comb: error reported", chain_devsim_fit_error_db(d), 3.0);
		ASSERT_TRUE("comb: finite", isfinite(chain_devsim_response_db(d, 1000.0)));
		chain_devsim_free(&d);
	}
	/* a brick wall: -100 dB below 100 Hz, 0 dB from 101 Hz */
	s->n_points = 4;
	s->freq_hz[0] = 20.0;
	s->gain_db[0] = -100.0;
	s->freq_hz[1] = 100.0;
	s->gain_db[1] = -100.0;
	s->freq_hz[2] = 101.0;
	s->gain_db[2] = 0.0;
	s->freq_hz[3] = 20000.0;
	s->gain_db[3] = 0.0;
	d = open_dev(s, 48000.0);
	ASSERT_GE("wall: error reported", chain_devsim_fit_error_db(d), 1.0);
	{
		const size_t n = 96000;
		float *l = fbuf(n), *r = fbuf(n);
		double in = 0.0, out = 0.0;

		gen_noise(l, n, 1, 0.5, 9);
		memcpy(r, l, n * sizeof(float));
		for (size_t i = 0; i < n; i++)
			in += (double)l[i] * l[i];
		run(d, l, r, n, 512);
		for (size_t i = 0; i < n; i++)
			out += isfinite(l[i]) ? (double)l[i] * l[i] : HUGE_VAL;
		ASSERT_LE("wall: white noise comes out no louder than +3 dB", out, 2.0 * in);
		free(l);
		free(r);
	}
	chain_devsim_free(&d);
	free(s);
}

static void report_speed(void)
{
	const double rate = 48000.0;
	const size_t n = 48000 * 4;
	float *l = fbuf(n), *r = fbuf(n), *l0 = fbuf(n), *r0 = fbuf(n);

	gen_music(l0, n, 1, rate, 0.9, 21);
	gen_music(r0, n, 1, rate, 0.9, 22);
	for (size_t i = 0; i < refs_device_count(set); i++) {
		const struct refs_device *dev = refs_device_at(set, i);
		struct chain_devsim *d = open_dev(&dev->spec, rate);
		struct timespec t0, t1;
		double ns;

		chain_devsim_set_level(d, 0.0f, 1);
		chain_devsim_set_noise(d, -30.0f, 1);
		memcpy(l, l0, n * sizeof(float));
		memcpy(r, r0, n * sizeof(float));
		/* CPU time of this thread: a busy machine does not count */
		clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t0);
		run(d, l, r, n, 256);
		clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t1);
		ns =
		    ((double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec)) / n;
		printf("speed: %-8s %5.1f ns per stereo frame (48 kHz, full volume%s)\n", dev->name,
		       ns, dev->spec.noise_hi_hz > 0 ? ", road noise on" : "");
		chain_devsim_free(&d);
	}
	free(l);
	free(r);
	free(l0);
	free(r0);
}

int main(void)
{
	setlocale(LC_NUMERIC, "C");
	find_devices_dir();
	check_shipped();
	check_parse_errors();
	check_parse_good();
	check_folders();
	check_spec_errors();
	for (size_t i = 0; i < N_SHIPPED; i++) {
		const struct refs_device *dev = need(shipped[i]);

		check_curve(dev, 44100.0, N_SINES);
		check_curve(dev, 48000.0, N_SINES);
		check_curve(dev, 96000.0, N_SINES_96K);
	}
	check_mono();
	check_flat_exact();
	check_excursion();
	check_noise();
	for (size_t i = 0; i < N_SHIPPED; i++) {
		check_block_sizes(need(shipped[i]));
		check_reset_and_hostile(need(shipped[i]));
	}
	check_level_step();
	check_hard_curve();
	report_speed();
	refs_device_set_free(&set);
	return test_done();
}

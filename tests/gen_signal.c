/*
 * gen_signal — writes a generated test signal to a file with libsndfile, for
 * the end-to-end scripts (tests/cli_*.sh).  Signals come from tests/util.c.
 *
 *   gen_signal OUT [--kind sine|music|noise|silence|square] [--seconds S]
 *              [--rate HZ] [--channels N] [--amp-db DB] [--freq HZ]
 *              [--phase-deg DEG] [--seed N] [--format FMT] [--nan N] [--inf N]
 *
 * FMT: wav16 wav24 wav32 wav32f wav64f flac16 flac24 aiff16 aiff24 aiff32f
 *      ogg opus mp3 rf64 (24-bit) w64 caf.  Default: from the extension of
 *      OUT (.wav → wav24, .flac → flac24, .aiff/.aif → aiff16, .ogg/.oga →
 *      ogg, .opus → opus, .mp3 → mp3, .rf64 → rf64, .w64 → w64, .caf → caf).
 * --amp-db is the peak level in dBFS (default -20).  --nan/--inf N write N
 * NaN/+Inf samples spread evenly over the file (float formats only).
 *
 * Exit status: 0 written, 1 libsndfile failed, 2 bad arguments.
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sndfile.h>

#include "tests/util.h"

struct fmt {
	const char *name;
	int format;
};

static const struct fmt formats[] = {
    {"wav16", SF_FORMAT_WAV | SF_FORMAT_PCM_16},
    {"wav24", SF_FORMAT_WAV | SF_FORMAT_PCM_24},
    {"wav32", SF_FORMAT_WAV | SF_FORMAT_PCM_32},
    {"wav32f", SF_FORMAT_WAV | SF_FORMAT_FLOAT},
    {"wav64f", SF_FORMAT_WAV | SF_FORMAT_DOUBLE},
    {"flac16", SF_FORMAT_FLAC | SF_FORMAT_PCM_16},
    {"flac24", SF_FORMAT_FLAC | SF_FORMAT_PCM_24},
    {"aiff16", SF_FORMAT_AIFF | SF_FORMAT_PCM_16},
    {"aiff24", SF_FORMAT_AIFF | SF_FORMAT_PCM_24},
    {"aiff32f", SF_FORMAT_AIFF | SF_FORMAT_FLOAT},
    {"ogg", SF_FORMAT_OGG | SF_FORMAT_VORBIS},
    {"opus", SF_FORMAT_OGG | SF_FORMAT_OPUS},
    {"mp3", SF_FORMAT_MPEG | SF_FORMAT_MPEG_LAYER_III},
    {"rf64", SF_FORMAT_RF64 | SF_FORMAT_PCM_24},
    {"w64", SF_FORMAT_W64 | SF_FORMAT_PCM_24},
    {"caf", SF_FORMAT_CAF | SF_FORMAT_PCM_24},
};

static const struct {
	const char *ext, *fmt;
} by_ext[] = {
    {"wav", "wav24"}, {"flac", "flac24"}, {"aiff", "aiff16"}, {"aif", "aiff16"},
    {"ogg", "ogg"},   {"oga", "ogg"},     {"opus", "opus"},   {"mp3", "mp3"},
    {"rf64", "rf64"}, {"w64", "w64"},     {"caf", "caf"},
};

static void usage(FILE *f)
{
	fputs("usage: gen_signal OUT [--kind sine|music|noise|silence|square] [--seconds S]\n"
	      "         [--rate HZ] [--channels N] [--amp-db DB] [--freq HZ] [--phase-deg DEG]\n"
	      "         [--seed N] [--format wav16|wav24|wav32|wav32f|wav64f|flac16|flac24|\n"
	      "          aiff16|aiff24|aiff32f|ogg|opus|mp3|rf64|w64|caf] [--nan N] [--inf N]\n",
	      f);
}

static int bad(const char *what, const char *val)
{
	fprintf(stderr, "gen_signal: bad %s: %s\n", what, val ? val : "(missing)");
	usage(stderr);
	return 2;
}

static int num(const char *s, double *out)
{
	char *end;

	if (!s)
		return -1;
	*out = strtod(s, &end);
	return (end == s || *end || !isfinite(*out)) ? -1 : 0;
}

int main(int argc, char **argv)
{
	const char *out = NULL, *kind = "sine", *fmt = NULL;
	double seconds = 1, rate = 48000, channels = 2, amp_db = -20, freq = 1000;
	double phase_deg = 0, seed = 1, nnan = 0, ninf = 0;
	const struct fmt *f = NULL;
	SF_INFO info;
	SNDFILE *sf;
	float *buf;
	size_t frames, ch, total;
	double amp;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		double *dst = NULL;

		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage(stdout);
			return 0;
		} else if (!strcmp(a, "--kind")) {
			if (!v)
				return bad("--kind", v);
			kind = v;
			i++;
			continue;
		} else if (!strcmp(a, "--format")) {
			if (!v)
				return bad("--format", v);
			fmt = v;
			i++;
			continue;
		} else if (!strcmp(a, "--seconds")) {
			dst = &seconds;
		} else if (!strcmp(a, "--rate")) {
			dst = &rate;
		} else if (!strcmp(a, "--channels")) {
			dst = &channels;
		} else if (!strcmp(a, "--amp-db")) {
			dst = &amp_db;
		} else if (!strcmp(a, "--freq")) {
			dst = &freq;
		} else if (!strcmp(a, "--phase-deg")) {
			dst = &phase_deg;
		} else if (!strcmp(a, "--seed")) {
			dst = &seed;
		} else if (!strcmp(a, "--nan")) {
			dst = &nnan;
		} else if (!strcmp(a, "--inf")) {
			dst = &ninf;
		} else if (a[0] == '-' && a[1]) {
			return bad("option", a);
		} else if (!out) {
			out = a;
			continue;
		} else {
			return bad("argument", a);
		}
		if (num(v, dst))
			return bad(a, v);
		i++;
	}
	if (!out)
		return bad("arguments", "OUT is missing");
	if (seconds < 0 || seconds > 3600 || rate < 1 || rate > 768000 || channels < 1 ||
	    channels > 64 || nnan < 0 || ninf < 0)
		return bad("value", "out of range");
	if (!fmt) {
		const char *dot = strrchr(out, '.');
		for (size_t k = 0; dot && k < sizeof(by_ext) / sizeof(by_ext[0]); k++)
			if (!strcasecmp(dot + 1, by_ext[k].ext))
				fmt = by_ext[k].fmt;
		if (!fmt)
			fmt = "wav24";
	}
	for (size_t k = 0; k < sizeof(formats) / sizeof(formats[0]); k++)
		if (!strcmp(fmt, formats[k].name))
			f = &formats[k];
	if (!f)
		return bad("--format", fmt);

	ch = (size_t)channels;
	frames = (size_t)llround(seconds * rate);
	total = frames * ch;
	buf = calloc(total ? total : 1, sizeof(float));
	if (!buf) {
		fprintf(stderr, "gen_signal: out of memory\n");
		return 1;
	}
	amp = db_to_lin(amp_db);
	if (!strcmp(kind, "sine")) {
		gen_sine(buf, frames, (unsigned)ch, rate, freq, amp, phase_deg * M_PI / 180.0);
	} else if (!strcmp(kind, "music")) {
		gen_music(buf, frames, (unsigned)ch, rate, amp, (uint32_t)seed);
	} else if (!strcmp(kind, "noise")) {
		gen_noise(buf, frames, (unsigned)ch, amp, (uint32_t)seed);
	} else if (!strcmp(kind, "square")) {
		for (size_t i = 0; i < frames; i++) {
			double ph = fmod(freq * (double)i / rate + phase_deg / 360.0, 1.0);
			for (size_t c = 0; c < ch; c++)
				buf[i * ch + c] = (float)(ph < 0.5 ? amp : -amp);
		}
	} else if (strcmp(kind, "silence")) {
		free(buf);
		return bad("--kind", kind);
	}
	if (nnan + ninf > 0) {
		int sub = f->format & SF_FORMAT_SUBMASK;
		size_t n = (size_t)(nnan + ninf);
		if (sub != SF_FORMAT_FLOAT && sub != SF_FORMAT_DOUBLE) {
			free(buf);
			return bad("--nan/--inf", "needs a float format (wav32f, wav64f, aiff32f)");
		}
		if (n > total) {
			free(buf);
			return bad("--nan/--inf", "more than the samples in the file");
		}
		for (size_t k = 0; k < n; k++) {
			size_t at = (size_t)((double)k * (double)total / (double)n);
			buf[at] = k < (size_t)nnan ? NAN : INFINITY;
		}
	}

	memset(&info, 0, sizeof(info));
	info.samplerate = (int)rate;
	info.channels = (int)ch;
	info.format = f->format;
	if (!sf_format_check(&info)) {
		fprintf(stderr,
		        "gen_signal: %s: this libsndfile cannot write %s at %d Hz, %d channels\n",
		        out, f->name, info.samplerate, info.channels);
		free(buf);
		return 1;
	}
	sf = sf_open(out, SFM_WRITE, &info);
	if (!sf) {
		fprintf(stderr, "gen_signal: %s: %s\n", out, sf_strerror(NULL));
		free(buf);
		return 1;
	}
	/* [-1, 1] is full scale; integer formats clip overs instead of
	 * wrapping them around */
	sf_command(sf, SFC_SET_NORM_FLOAT, NULL, SF_TRUE);
	sf_command(sf, SFC_SET_CLIPPING, NULL, SF_TRUE);
	if (sf_writef_float(sf, buf, (sf_count_t)frames) != (sf_count_t)frames) {
		fprintf(stderr, "gen_signal: %s: %s\n", out, sf_strerror(sf));
		sf_close(sf);
		free(buf);
		return 1;
	}
	if (sf_close(sf)) {
		fprintf(stderr, "gen_signal: %s: close failed\n", out);
		free(buf);
		return 1;
	}
	free(buf);
	return 0;
}

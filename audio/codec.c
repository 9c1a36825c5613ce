/*
 * termaster — codec preview (see codec.h).
 *
 * Pipeline:
 *
 *   lr (session rate) ─▶ [libsamplerate → codec rate] ─▶ x_c
 *     ─▶ libsndfile encoder ─▶ bytes in memory (virtual I/O)
 *     ─▶ libsndfile decoder ─▶ y_c ─▶ align with x_c (cross-correlation
 *        check), cut/pad to x_c's length
 *     ─▶ [libsamplerate → session rate] ─▶ decoded (cut/pad to `frames`)
 *   artefacts = decoded − lr
 *   measure: libebur128 (refs_loudness_measure) and the dual true-peak
 *   detector (chain/truepeak.h) over lr and decoded, overs above the ceiling
 *
 * State glossary:
 *   struct membuf   a growable byte buffer with a cursor, behind
 *                   SF_VIRTUAL_IO; the encoder writes it (and seeks back to
 *                   fill in the LAME/Info tag), the decoder reads it through
 *                   a second cursor.
 *   struct prog     the progress callback spread over the stages (weights
 *                   roughly their cost), called at most every 0.1 s.
 *   x_c, y_c        input and decoded audio at the codec rate; x_c is lr
 *                   itself when no conversion is needed.
 */
#include "config.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <samplerate.h>
#include <sndfile.h>

#include "audio/clip.h"
#include "audio/codec.h"
#include "chain/chain.h"
#include "chain/truepeak.h"

#define MIN_RATE            8000
#define MAX_RATE            384000
#define BLOCK_FRAMES        4096
#define PROGRESS_INTERVAL_S 0.1
/* alignment */
#define ALIGN_WINDOW_S 0.5
#define ALIGN_MIN_CORR 0.5
#define ALIGN_TIE      0.005
#define ALIGN_SILENT   1e-12 /* mean square of a silent window */
/* libsamplerate converter for the trip to the codec rate and back; see
 * codec.h ("Rates") */
#define SRC_CONVERTER SRC_SINC_MEDIUM_QUALITY
/* Vorbis: bisection steps on the compression level (2^-16 of the level
 * is about 0.01 kbps of nominal bitrate) */
#define VORBIS_STEPS   16
#define VORBIS_TOL_BPS 100.0
/* Opus: libsndfile's mapping, ogg_opus.c SFC_SET_COMPRESSION_LEVEL */
#define OPUS_MIN_BPS_CH  6000.0
#define OPUS_SPAN_BPS_CH 250000.0
/* MP3 at MPEG-1 rates: libsndfile's mapping, mpeg_l3_encode.c */
#define MP3_MAX_KBPS  320.0
#define MP3_SPAN_KBPS 288.0

static const int mp3_kbps[] = {32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320};

static int fail(char *msg, size_t msg_len, int err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(char *msg, size_t msg_len, int err, const char *fmt, ...)
{
	va_list ap;

	if (msg && msg_len) {
		va_start(ap, fmt);
		vsnprintf(msg, msg_len, fmt, ap);
		va_end(ap);
	}
	return err;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double lin_db(double lin)
{
	return lin > 0 ? 20.0 * log10(lin) : -HUGE_VAL;
}

/* ---- names, rates, formats ---- */

const char *audio_codec_name(enum audio_codec codec)
{
	switch (codec) {
	case AUDIO_CODEC_MP3:
		return "MP3";
	case AUDIO_CODEC_OPUS:
		return "Opus";
	case AUDIO_CODEC_VORBIS:
		return "Vorbis";
	}
	return "?";
}

static int codec_valid(enum audio_codec codec)
{
	return codec == AUDIO_CODEC_MP3 || codec == AUDIO_CODEC_OPUS || codec == AUDIO_CODEC_VORBIS;
}

static int sf_format_of(enum audio_codec codec)
{
	switch (codec) {
	case AUDIO_CODEC_MP3:
		return SF_FORMAT_MPEG | SF_FORMAT_MPEG_LAYER_III;
	case AUDIO_CODEC_OPUS:
		return SF_FORMAT_OGG | SF_FORMAT_OPUS;
	case AUDIO_CODEC_VORBIS:
		return SF_FORMAT_OGG | SF_FORMAT_VORBIS;
	}
	return 0;
}

static int rate_valid(double rate)
{
	return isfinite(rate) && rate >= MIN_RATE && rate <= MAX_RATE && rate == floor(rate);
}

int audio_codec_rate(enum audio_codec codec, double rate)
{
	long r = lround(rate);

	if (codec == AUDIO_CODEC_OPUS) {
		if (r == 8000 || r == 12000 || r == 16000 || r == 24000 || r == 48000)
			return (int)r;
		return 48000;
	}
	if (r == 32000 || r == 44100 || r == 48000)
		return (int)r;
	return r % 11025 == 0 ? 44100 : 48000;
}

/* ---- memory I/O for libsndfile ---- */

struct membuf {
	unsigned char *data;
	sf_count_t len, cap;
	sf_count_t pos;
	int nomem;
};

static sf_count_t mb_filelen(void *user)
{
	return ((struct membuf *)user)->len;
}

static sf_count_t mb_seek(sf_count_t offset, int whence, void *user)
{
	struct membuf *m = user;
	sf_count_t p;

	switch (whence) {
	case SEEK_SET:
		p = offset;
		break;
	case SEEK_CUR:
		p = m->pos + offset;
		break;
	case SEEK_END:
		p = m->len + offset;
		break;
	default:
		return -1;
	}
	if (p < 0)
		return -1;
	m->pos = p;
	return p;
}

static sf_count_t mb_read(void *ptr, sf_count_t count, void *user)
{
	struct membuf *m = user;

	if (count <= 0 || m->pos >= m->len)
		return 0;
	if (count > m->len - m->pos)
		count = m->len - m->pos;
	memcpy(ptr, m->data + m->pos, (size_t)count);
	m->pos += count;
	return count;
}

static sf_count_t mb_write(const void *ptr, sf_count_t count, void *user)
{
	struct membuf *m = user;
	sf_count_t end;

	if (count <= 0)
		return 0;
	end = m->pos + count;
	if (end > m->cap) {
		sf_count_t cap = m->cap ? m->cap : 65536;
		unsigned char *p;

		while (cap < end)
			cap += cap / 2;
		p = realloc(m->data, (size_t)cap);
		if (!p) {
			m->nomem = 1;
			return 0;
		}
		memset(p + m->cap, 0, (size_t)(cap - m->cap));
		m->data = p;
		m->cap = cap;
	}
	if (m->pos > m->len) /* a seek past the end leaves zeros */
		memset(m->data + m->len, 0, (size_t)(m->pos - m->len));
	memcpy(m->data + m->pos, ptr, (size_t)count);
	m->pos = end;
	if (end > m->len)
		m->len = end;
	return count;
}

static sf_count_t mb_tell(void *user)
{
	return ((struct membuf *)user)->pos;
}

static SF_VIRTUAL_IO mb_io = {mb_filelen, mb_seek, mb_read, mb_write, mb_tell};

/* Opens an encoder writing into *m.  On failure returns NULL with the
 * reason in msg (UNSUPPORTED when libsndfile lacks the codec, ENCODE for
 * anything else) and *err set. */
static SNDFILE *open_encoder(enum audio_codec codec, int rate, struct membuf *m, int *err,
                             char *msg, size_t msg_len)
{
	SF_INFO info;
	SNDFILE *sf;
	int sferr;

	memset(&info, 0, sizeof(info));
	info.samplerate = rate;
	info.channels = 2;
	info.format = sf_format_of(codec);
	if (!sf_format_check(&info)) {
		*err = fail(msg, msg_len, AUDIO_CODEC_ERROR_UNSUPPORTED,
		            "libsndfile here cannot write %s (%s %s)", audio_codec_name(codec),
		            sf_version_string(), "does not list the format");
		return NULL;
	}
	sf = sf_open_virtual(&mb_io, SFM_WRITE, &info, m);
	if (sf)
		return sf;
	sferr = sf_error(NULL);
	if (m->nomem) {
		*err = fail(msg, msg_len, AUDIO_CODEC_ERROR_NOMEM, "%s encoder: out of memory",
		            audio_codec_name(codec));
	} else if (sferr == SF_ERR_UNRECOGNISED_FORMAT || sferr == SF_ERR_UNSUPPORTED_ENCODING) {
		*err = fail(msg, msg_len, AUDIO_CODEC_ERROR_UNSUPPORTED,
		            "libsndfile here cannot write %s (%s: %s)", audio_codec_name(codec),
		            sf_version_string(), sf_strerror(NULL));
	} else {
		/* libsndfile says "unimplemented" (SFE_UNIMPLEMENTED, a
		 * malformed-file class code) when built without the codec */
		const char *why = sf_strerror(NULL);
		int missing = why && (strstr(why, "nimplemented") || strstr(why, "not supported") ||
		                      strstr(why, "without"));
		*err = fail(msg, msg_len,
		            missing ? AUDIO_CODEC_ERROR_UNSUPPORTED : AUDIO_CODEC_ERROR_ENCODE,
		            missing ? "libsndfile here cannot write %s at %d Hz (%s)"
		                    : "%s encoder at %d Hz: %s",
		            audio_codec_name(codec), rate, why ? why : "unknown error");
	}
	return NULL;
}

int audio_codec_available(enum audio_codec codec, char *msg, size_t msg_len)
{
	struct membuf m = {0};
	SNDFILE *sf;
	int err = 0;

	if (msg && msg_len)
		msg[0] = '\0';
	if (!codec_valid(codec))
		return fail(msg, msg_len, AUDIO_CODEC_ERROR_ARGS, "unknown codec %d", (int)codec);
	sf = open_encoder(codec, 48000, &m, &err, msg, msg_len);
	if (sf)
		sf_close(sf);
	free(m.data);
	return err;
}

/* ---- bitrate ---- */

static uint32_t le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Nominal bitrate from the Vorbis identification header, which is the
 * first packet on the first Ogg page (RFC 3533 page header: 27 bytes and
 * the segment table; Vorbis I spec 4.2.2: type 1, "vorbis", version,
 * channels, rate, bitrate maximum, nominal, minimum).  0 if not found. */
static double vorbis_nominal_of(const struct membuf *m)
{
	const unsigned char *d = m->data;
	sf_count_t body;
	int32_t nominal;

	if (!d || m->len < 28 || memcmp(d, "OggS", 4))
		return 0;
	body = 27 + d[26];
	if (m->len < body + 28 || d[body] != 1 || memcmp(d + body + 1, "vorbis", 6))
		return 0;
	nominal = (int32_t)le32(d + body + 20);
	return nominal > 0 ? (double)nominal : 0;
}

/* What libvorbis makes of a compression level at this rate: opens an
 * encoder, sets the level, closes it (writing only the headers). */
static int vorbis_probe(int rate, double level, double *nominal_bps, char *msg, size_t msg_len)
{
	struct membuf m = {0};
	SNDFILE *sf;
	int err = 0;

	sf = open_encoder(AUDIO_CODEC_VORBIS, rate, &m, &err, msg, msg_len);
	if (!sf) {
		free(m.data);
		return err;
	}
	sf_command(sf, SFC_SET_COMPRESSION_LEVEL, &level, sizeof(level));
	sf_close(sf);
	*nominal_bps = vorbis_nominal_of(&m);
	free(m.data);
	if (*nominal_bps <= 0)
		return fail(msg, msg_len, AUDIO_CODEC_ERROR_UNSUPPORTED,
		            "libvorbis gives no nominal bitrate at %d Hz", rate);
	return 0;
}

static int range_of(enum audio_codec codec, int codec_rate, double *lo_bps, double *hi_bps,
                    char *msg, size_t msg_len)
{
	int err;

	switch (codec) {
	case AUDIO_CODEC_MP3:
		*lo_bps = 1000.0 * mp3_kbps[0];
		*hi_bps = 1000.0 * mp3_kbps[sizeof(mp3_kbps) / sizeof(mp3_kbps[0]) - 1];
		return 0;
	case AUDIO_CODEC_OPUS:
		*lo_bps = 2 * OPUS_MIN_BPS_CH;
		*hi_bps = 2 * (OPUS_MIN_BPS_CH + OPUS_SPAN_BPS_CH);
		return 0;
	case AUDIO_CODEC_VORBIS:
		err = vorbis_probe(codec_rate, 1.0, lo_bps, msg, msg_len);
		if (!err)
			err = vorbis_probe(codec_rate, 0.0, hi_bps, msg, msg_len);
		return err;
	}
	return fail(msg, msg_len, AUDIO_CODEC_ERROR_ARGS, "unknown codec %d", (int)codec);
}

int audio_codec_bitrate_range(enum audio_codec codec, double rate, int *min_kbps, int *max_kbps,
                              char *msg, size_t msg_len)
{
	double lo, hi;
	int err;

	if (msg && msg_len)
		msg[0] = '\0';
	if (!codec_valid(codec))
		return fail(msg, msg_len, AUDIO_CODEC_ERROR_ARGS, "unknown codec %d", (int)codec);
	if (!rate_valid(rate))
		return fail(msg, msg_len, AUDIO_CODEC_ERROR_RATE,
		            "rate %g Hz is not a whole number from %d to %d Hz", rate, MIN_RATE,
		            MAX_RATE);
	err = range_of(codec, audio_codec_rate(codec, rate), &lo, &hi, msg, msg_len);
	if (err)
		return err;
	if (min_kbps)
		*min_kbps = (int)lround(lo / 1000.0);
	if (max_kbps)
		*max_kbps = (int)lround(hi / 1000.0);
	return 0;
}

static int mp3_snap(int kbps)
{
	int best = mp3_kbps[0];

	for (size_t i = 0; i < sizeof(mp3_kbps) / sizeof(mp3_kbps[0]); i++)
		if (abs(mp3_kbps[i] - kbps) <= abs(best - kbps))
			best = mp3_kbps[i];
	return best;
}

/* The compression level for kbps and the nominal bitrate it gives. */
static int level_for(enum audio_codec codec, int codec_rate, int kbps, double *level,
                     double *nominal_kbps, char *msg, size_t msg_len)
{
	double lo, hi, want = 1000.0 * kbps;
	int err;

	err = range_of(codec, codec_rate, &lo, &hi, msg, msg_len);
	if (err)
		return err;
	if (kbps < lround(lo / 1000.0) || kbps > lround(hi / 1000.0))
		return fail(msg, msg_len, AUDIO_CODEC_ERROR_BITRATE,
		            "%s at %d Hz takes %ld to %ld kbps, not %d", audio_codec_name(codec),
		            codec_rate, lround(lo / 1000.0), lround(hi / 1000.0), kbps);
	switch (codec) {
	case AUDIO_CODEC_MP3: {
		int k = mp3_snap(kbps);
		/* libsndfile truncates 320 − level·288 to an integer: aim a
		 * quarter above so rounding cannot step down */
		*level = fmax(0.0, (MP3_MAX_KBPS - k - 0.25) / MP3_SPAN_KBPS);
		*nominal_kbps = k;
		return 0;
	}
	case AUDIO_CODEC_OPUS: {
		double per_ch = want / 2.0;
		*level = 1.0 - (per_ch - OPUS_MIN_BPS_CH + 0.25) / OPUS_SPAN_BPS_CH;
		*level = fmin(1.0, fmax(0.0, *level));
		*nominal_kbps = kbps;
		return 0;
	}
	case AUDIO_CODEC_VORBIS: {
		/* nominal falls as the level rises */
		double a = 0.0, b = 1.0, na = hi, nb = lo, n;

		if (want >= hi) {
			*level = 0.0;
			*nominal_kbps = hi / 1000.0;
			return 0;
		}
		if (want <= lo) {
			*level = 1.0;
			*nominal_kbps = lo / 1000.0;
			return 0;
		}
		for (int i = 0; i < VORBIS_STEPS; i++) {
			double mid = 0.5 * (a + b);
			err = vorbis_probe(codec_rate, mid, &n, msg, msg_len);
			if (err)
				return err;
			if (n > want) {
				a = mid;
				na = n;
			} else {
				b = mid;
				nb = n;
			}
			if (fabs(n - want) <= VORBIS_TOL_BPS) {
				a = b = mid;
				na = nb = n;
				break;
			}
		}
		if (fabs(na - want) <= fabs(nb - want)) {
			*level = a;
			*nominal_kbps = na / 1000.0;
		} else {
			*level = b;
			*nominal_kbps = nb / 1000.0;
		}
		return 0;
	}
	}
	return fail(msg, msg_len, AUDIO_CODEC_ERROR_ARGS, "unknown codec %d", (int)codec);
}

/* ---- progress ---- */

enum stage { ST_SRC_IN, ST_ENCODE, ST_DECODE, ST_SRC_OUT, ST_MEASURE, ST_COUNT };

/* relative cost per frame, roughly (perf profile of a preview of a
 * 44.1 kHz master in Opus) */
static const double stage_weight[ST_COUNT] = {
    [ST_SRC_IN] = 2.0, [ST_ENCODE] = 3.0, [ST_DECODE] = 0.7, [ST_SRC_OUT] = 2.0, [ST_MEASURE] = 4.0,
};

struct prog {
	int (*fn)(void *user, double fraction);
	void *user;
	double base[ST_COUNT], span[ST_COUNT];
	double last;
	int cancelled;
};

static void prog_init(struct prog *p, const struct audio_codec_opts *o, int resample)
{
	double total = 0, at = 0;

	memset(p, 0, sizeof(*p));
	p->fn = o->progress;
	p->user = o->user;
	for (int s = 0; s < ST_COUNT; s++)
		if (resample || (s != ST_SRC_IN && s != ST_SRC_OUT))
			total += stage_weight[s];
	for (int s = 0; s < ST_COUNT; s++) {
		double w = (resample || (s != ST_SRC_IN && s != ST_SRC_OUT)) ? stage_weight[s] : 0;
		p->base[s] = at / total;
		p->span[s] = w / total;
		at += w;
	}
}

/* Reports `frac` (0 … 1) of stage s; returns nonzero once cancelled. */
static int prog_at(struct prog *p, enum stage s, double frac)
{
	double t;

	if (p->cancelled)
		return 1;
	if (!p->fn)
		return 0;
	t = now_s();
	if (t - p->last < PROGRESS_INTERVAL_S)
		return 0;
	p->last = t;
	frac = p->base[s] + p->span[s] * fmin(1.0, fmax(0.0, frac));
	if (p->fn(p->user, fmin(frac, 0.999)))
		p->cancelled = 1;
	return p->cancelled;
}

/* For refs_loudness_measure(): the measure stage has four parts. */
struct sub_prog {
	struct prog *p;
	double base, span;
};

static int sub_progress(void *user, double fraction)
{
	struct sub_prog *s = user;

	return prog_at(s->p, ST_MEASURE, s->base + s->span * fraction);
}

/* ---- sample rate conversion ---- */

/* Converts n_in frames of stereo to exactly n_out frames (libsamplerate's
 * flushed tail cut or padded with zeros). */
static int resample(const float *in, int64_t n_in, double ratio, float *out, int64_t n_out,
                    struct prog *p, enum stage st, char *msg, size_t msg_len)
{
	SRC_STATE *src;
	SRC_DATA d;
	int64_t used = 0, made = 0;
	int srcerr = 0;

	src = src_new(SRC_CONVERTER, 2, &srcerr);
	if (!src)
		return fail(msg, msg_len, AUDIO_CODEC_ERROR_SRC, "rate conversion: %s",
		            src_strerror(srcerr));
	while (made < n_out) {
		int64_t chunk = n_in - used < BLOCK_FRAMES ? n_in - used : BLOCK_FRAMES;
		int64_t room = n_out - made;

		memset(&d, 0, sizeof(d));
		d.data_in = in + 2 * used;
		d.input_frames = (long)chunk;
		d.data_out = out + 2 * made;
		d.output_frames = (long)(room < 16 * BLOCK_FRAMES ? room : 16 * BLOCK_FRAMES);
		d.src_ratio = ratio;
		d.end_of_input = used + chunk >= n_in;
		srcerr = src_process(src, &d);
		if (srcerr) {
			src_delete(src);
			return fail(msg, msg_len, AUDIO_CODEC_ERROR_SRC, "rate conversion: %s",
			            src_strerror(srcerr));
		}
		used += d.input_frames_used;
		made += d.output_frames_gen;
		if (d.end_of_input && d.output_frames_gen == 0 && d.input_frames_used == 0)
			break;
		if (prog_at(p, st, (double)used / (double)n_in)) {
			src_delete(src);
			return fail(msg, msg_len, AUDIO_CODEC_ERROR_CANCELLED, "cancelled");
		}
	}
	src_delete(src);
	if (made < n_out)
		memset(out + 2 * made, 0, (size_t)(n_out - made) * 2 * sizeof(float));
	return 0;
}

/* ---- encode, decode ---- */

static int encode(const float *x, int64_t n, enum audio_codec codec, int rate, double level,
                  struct membuf *m, struct prog *p, char *msg, size_t msg_len)
{
	float block[2 * BLOCK_FRAMES];
	SNDFILE *sf;
	int err = 0, mode = SF_BITRATE_MODE_CONSTANT;

	sf = open_encoder(codec, rate, m, &err, msg, msg_len);
	if (!sf)
		return err;
	if (sf_command(sf, SFC_SET_COMPRESSION_LEVEL, &level, sizeof(level)) != SF_TRUE) {
		err = fail(msg, msg_len, AUDIO_CODEC_ERROR_ENCODE,
		           "%s encoder refused compression level %.4f: %s", audio_codec_name(codec),
		           level, sf_strerror(sf));
		goto out;
	}
	/* MP3: after the level, so that libsndfile re-reads it as a
	 * constant bitrate (its default for .mp3 is VBR) */
	if (codec == AUDIO_CODEC_MP3 &&
	    sf_command(sf, SFC_SET_BITRATE_MODE, &mode, sizeof(mode)) != SF_TRUE) {
		err = fail(msg, msg_len, AUDIO_CODEC_ERROR_ENCODE,
		           "MP3 encoder refused constant bitrate: %s", sf_strerror(sf));
		goto out;
	}
	for (int64_t done = 0; done < n;) {
		int64_t k = n - done < BLOCK_FRAMES ? n - done : BLOCK_FRAMES;

		for (int64_t i = 0; i < 2 * k; i++) {
			float v = x[2 * done + i];
			block[i] = isfinite(v) ? v : 0.0f;
		}
		if (sf_writef_float(sf, block, k) != k) {
			err = m->nomem ? fail(msg, msg_len, AUDIO_CODEC_ERROR_NOMEM,
			                      "%s encoder: out of memory", audio_codec_name(codec))
			               : fail(msg, msg_len, AUDIO_CODEC_ERROR_ENCODE,
			                      "%s encoder at %d Hz: %s", audio_codec_name(codec),
			                      rate, sf_strerror(sf));
			goto out;
		}
		done += k;
		if (prog_at(p, ST_ENCODE, (double)done / (double)n)) {
			err = fail(msg, msg_len, AUDIO_CODEC_ERROR_CANCELLED, "cancelled");
			goto out;
		}
	}
out:
	if (sf_close(sf) && !err)
		err = fail(msg, msg_len, AUDIO_CODEC_ERROR_ENCODE, "%s encoder: closing failed",
		           audio_codec_name(codec));
	if (!err && m->nomem)
		err = fail(msg, msg_len, AUDIO_CODEC_ERROR_NOMEM, "%s encoder: out of memory",
		           audio_codec_name(codec));
	return err;
}

/* Decodes all of m into *y (malloc'd, stereo) at `rate`. */
static int decode(struct membuf *m, enum audio_codec codec, int rate, int64_t expected, float **y,
                  int64_t *got, struct prog *p, char *msg, size_t msg_len)
{
	SF_INFO info;
	SNDFILE *sf;
	float *buf;
	int64_t cap, n = 0;
	/* a decoder is never this far off; stop before a broken one fills
	 * memory */
	int64_t limit = 2 * expected + 4 * (int64_t)rate + AUDIO_CODEC_MAX_LAG;
	int err = 0;

	*y = NULL;
	*got = 0;
	m->pos = 0;
	memset(&info, 0, sizeof(info));
	sf = sf_open_virtual(&mb_io, SFM_READ, &info, m);
	if (!sf)
		return fail(msg, msg_len, AUDIO_CODEC_ERROR_DECODE, "%s decoder: %s",
		            audio_codec_name(codec), sf_strerror(NULL));
	if (info.channels != 2 || info.samplerate != rate) {
		sf_close(sf);
		return fail(msg, msg_len, AUDIO_CODEC_ERROR_DECODE,
		            "%s decoder gives %d channels at %d Hz, not 2 at %d Hz",
		            audio_codec_name(codec), info.channels, info.samplerate, rate);
	}
	cap = expected + AUDIO_CODEC_MAX_LAG + BLOCK_FRAMES;
	buf = malloc((size_t)cap * 2 * sizeof(float));
	if (!buf) {
		sf_close(sf);
		return fail(msg, msg_len, AUDIO_CODEC_ERROR_NOMEM, "out of memory");
	}
	for (;;) {
		sf_count_t k;

		if (n + BLOCK_FRAMES > cap) {
			int64_t c = cap + cap / 2;
			float *q;

			if (c > limit) {
				err = fail(msg, msg_len, AUDIO_CODEC_ERROR_DECODE,
				           "%s decoder returns far more audio than was encoded",
				           audio_codec_name(codec));
				break;
			}
			q = realloc(buf, (size_t)c * 2 * sizeof(float));
			if (!q) {
				err = fail(msg, msg_len, AUDIO_CODEC_ERROR_NOMEM, "out of memory");
				break;
			}
			buf = q;
			cap = c;
		}
		k = sf_readf_float(sf, buf + 2 * n, BLOCK_FRAMES);
		if (k <= 0)
			break;
		n += k;
		if (prog_at(p, ST_DECODE, (double)n / (double)expected)) {
			err = fail(msg, msg_len, AUDIO_CODEC_ERROR_CANCELLED, "cancelled");
			break;
		}
	}
	if (!err && n == 0 && expected > 0)
		err =
		    fail(msg, msg_len, AUDIO_CODEC_ERROR_DECODE, "%s decoder returns no audio: %s",
		         audio_codec_name(codec), sf_strerror(sf));
	sf_close(sf);
	if (err) {
		free(buf);
		return err;
	}
	for (int64_t i = 0; i < 2 * n; i++)
		if (!isfinite(buf[i]))
			buf[i] = 0.0f;
	*y = buf;
	*got = n;
	return 0;
}

/* ---- alignment ---- */

/* Normalised cross-correlation of the mid signals of x and y over the
 * loudest ALIGN_WINDOW_S of x, for lags -lmax … lmax (y[n + lag] against
 * x[n]).  Returns the lag with the highest correlation; lags within
 * ALIGN_TIE of it count as equal and the one nearest 0 wins, so periodic
 * material (whose correlation repeats every period) gets the smallest
 * shift that matches.  0 with *corr NAN when the window is silent or no
 * lag reaches ALIGN_MIN_CORR. */
static int64_t xcorr_lag(const float *x, int64_t nx, const float *y, int64_t ny, double rate,
                         int64_t lmax, double *corr)
{
	int64_t w = (int64_t)(ALIGN_WINDOW_S * rate), start = 0, span, best = 0;
	double ex = 0, best_r = -2, e_best = -1;
	float *xm = NULL, *ym = NULL;
	double *cy = NULL, *r = NULL;

	*corr = NAN;
	if (w > nx)
		w = nx;
	if (w < 16)
		return 0;
	/* the loudest window among those a half window apart */
	for (int64_t s = 0; s + w <= nx; s += w / 2) {
		double e = 0;
		for (int64_t i = s; i < s + w; i++) {
			double v = 0.5 * ((double)x[2 * i] + x[2 * i + 1]);
			e += v * v;
		}
		if (e > e_best) {
			e_best = e;
			start = s;
		}
	}
	span = w + 2 * lmax;
	xm = malloc((size_t)w * sizeof(float));
	ym = malloc((size_t)span * sizeof(float));
	cy = malloc((size_t)(span + 1) * sizeof(double));
	r = malloc((size_t)(2 * lmax + 1) * sizeof(double));
	if (!xm || !ym || !cy || !r)
		goto out;
	for (int64_t i = 0; i < w; i++) {
		xm[i] = 0.5f * (x[2 * (start + i)] + x[2 * (start + i) + 1]);
		ex += (double)xm[i] * xm[i];
	}
	cy[0] = 0;
	for (int64_t i = 0; i < span; i++) {
		int64_t j = start - lmax + i;
		ym[i] = j >= 0 && j < ny ? 0.5f * (y[2 * j] + y[2 * j + 1]) : 0.0f;
		cy[i + 1] = cy[i] + (double)ym[i] * ym[i];
	}
	if (ex < ALIGN_SILENT * (double)w)
		goto out;
	for (int64_t l = -lmax; l <= lmax; l++) {
		const float *yy = ym + (l + lmax);
		float a0 = 0, a1 = 0, a2 = 0, a3 = 0;
		double ey = cy[l + lmax + w] - cy[l + lmax];
		int64_t i = 0;

		r[l + lmax] = -2;
		if (ey < ALIGN_SILENT * (double)w)
			continue;
		for (; i + 4 <= w; i += 4) {
			a0 += xm[i] * yy[i];
			a1 += xm[i + 1] * yy[i + 1];
			a2 += xm[i + 2] * yy[i + 2];
			a3 += xm[i + 3] * yy[i + 3];
		}
		for (; i < w; i++)
			a0 += xm[i] * yy[i];
		r[l + lmax] = ((double)a0 + a1 + a2 + a3) / sqrt(ex * ey);
		if (r[l + lmax] > best_r)
			best_r = r[l + lmax];
	}
	if (best_r < ALIGN_MIN_CORR) {
		if (r[lmax] > -2)
			*corr = r[lmax];
		goto out;
	}
	/* nearest to 0 among the (near-)best */
	for (int64_t d = 0; d <= lmax; d++) {
		if (r[lmax - d] >= best_r - ALIGN_TIE) {
			best = -d;
			break;
		}
		if (r[lmax + d] >= best_r - ALIGN_TIE) {
			best = d;
			break;
		}
	}
	*corr = r[best + lmax];
out:
	free(xm);
	free(ym);
	free(cy);
	free(r);
	return best;
}

int64_t audio_codec_find_delay(const float *ref, int64_t n_ref, const float *y, int64_t n_y,
                               double rate, double *corr)
{
	double c;
	int64_t lag;

	if (!ref || !y || n_ref < 1 || n_y < 0 || !(rate > 0)) {
		if (corr)
			*corr = NAN;
		return 0;
	}
	lag = xcorr_lag(ref, n_ref, y, n_y, rate, AUDIO_CODEC_MAX_LAG, &c);
	if (corr)
		*corr = c;
	return lag;
}

/* ---- true peak and overs ---- */

struct tp_scan {
	double peak;    /* linear, largest reading */
	double ceiling; /* linear; HUGE_VAL: no overs */
	int64_t merge;  /* frames */
	int64_t over_frames;
	int count, kept;
	int open; /* a region is being extended */
	int64_t r_start, r_last;
	double r_peak;
	struct audio_codec_over *overs;
	int max_overs;
	double rate;
};

static void close_region(struct tp_scan *t)
{
	if (!t->open)
		return;
	if (t->kept < t->max_overs) {
		struct audio_codec_over *o = &t->overs[t->kept++];
		o->start_s = (double)t->r_start / t->rate;
		o->end_s = (double)(t->r_last + 1) / t->rate;
		o->peak_dbtp = lin_db(t->r_peak);
	}
	t->count++;
	t->open = 0;
}

static void reading(struct tp_scan *t, int64_t c, double v)
{
	if (v > t->peak)
		t->peak = v;
	if (!(v > t->ceiling))
		return;
	t->over_frames++;
	if (t->open && c - t->r_last <= t->merge) {
		t->r_last = c;
		if (v > t->r_peak)
			t->r_peak = v;
		return;
	}
	close_region(t);
	t->open = 1;
	t->r_start = t->r_last = c;
	t->r_peak = v;
}

/* The dual detector over all of x (then its latency in silence).  Only
 * readings above min(ceiling, peak so far) need to be exact, which lets
 * chain_truepeak_push_above() skip quiet stretches. */
static int scan_true_peak(const float *x, int64_t n, double rate, struct tp_scan *t, struct prog *p,
                          double pbase, double pspan, char *msg, size_t msg_len)
{
	struct chain_truepeak *tp;
	int64_t lat;
	int cerr = 0;

	tp = chain_truepeak_new_dual(2, 8, rate, &cerr);
	if (!tp)
		return fail(msg, msg_len,
		            cerr == CHAIN_ERROR_NOMEM ? AUDIO_CODEC_ERROR_NOMEM
		                                      : AUDIO_CODEC_ERROR_MEASURE,
		            "true-peak detector: %s", chain_strerror(cerr));
	lat = chain_truepeak_latency(tp);
	/* in blocks (the detector's block call gives the same readings at a
	 * lower cost); the threshold is taken at each block's start, which is
	 * never above the per-frame one, so every reading that matters stays
	 * exact */
	for (int64_t m = 0; m < n + lat;) {
		enum { BLK = 256 };
		static const float zeros[2 * BLK];
		float peak[BLK];
		float thr = (float)fmin(t->ceiling, t->peak);
		int64_t len = n + lat - m < BLK ? n + lat - m : BLK;
		const float *src;

		if (m + len <= n) {
			src = x + 2 * m;
		} else if (m >= n) {
			src = zeros;
		} else {
			len = n - m;  /* the last frames of x, then the tail */
			src = x + 2 * m;
		}
		chain_truepeak_push_block_above(tp, src, 1, 2, (unsigned)len, thr, peak, NULL);
		for (int64_t k = 0; k < len; k++)
			if (m + k >= lat)
				reading(t, m + k - lat, peak[k]);
		if ((m & ~(int64_t)0xffff) != ((m + len) & ~(int64_t)0xffff) &&
		    prog_at(p, ST_MEASURE, pbase + pspan * (double)m / (double)n)) {
			chain_truepeak_free(&tp);
			return fail(msg, msg_len, AUDIO_CODEC_ERROR_CANCELLED, "cancelled");
		}
		m += len;
	}
	close_region(t);
	chain_truepeak_free(&tp);
	return 0;
}

static int measure(const float *x, int64_t n, double rate, struct refs_loudness *ld, struct prog *p,
                   double pbase, double pspan, char *msg, size_t msg_len)
{
	struct sub_prog sp = {p, pbase, pspan};
	int e = refs_loudness_measure(x, n, 2, rate, ld, sub_progress, &sp);

	if (e == REFS_LOUDNESS_ERROR_CANCELLED || p->cancelled)
		return fail(msg, msg_len, AUDIO_CODEC_ERROR_CANCELLED, "cancelled");
	if (e)
		return fail(msg, msg_len,
		            e == REFS_LOUDNESS_ERROR_NOMEM ? AUDIO_CODEC_ERROR_NOMEM
		                                           : AUDIO_CODEC_ERROR_MEASURE,
		            "loudness: %s", refs_loudness_strerror(e));
	return 0;
}

/* ---- the preview ---- */

void audio_codec_opts_default(struct audio_codec_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->codec = AUDIO_CODEC_MP3;
	o->bitrate_kbps = 128;
	o->ceiling_dbtp = -1.0;
}

static float *alloc_frames(int64_t n)
{
	if (n < 1 || (uint64_t)n > SIZE_MAX / (2 * sizeof(float)))
		return NULL;
	return malloc((size_t)n * 2 * sizeof(float));
}

int audio_codec_preview(const float *lr, int64_t frames, double rate,
                        const struct audio_codec_opts *o, struct audio_codec_result *out, char *msg,
                        size_t msg_len)
{
	struct membuf m = {0};
	struct prog p;
	struct tp_scan ts;
	float *x_c = NULL, *y_c = NULL, *dec = NULL, *art = NULL;
	int64_t n_c, got = 0, lag;
	double level = 0, nominal = 0, corr, ceiling, sum_d = 0, sum_x = 0;
	int cr, resampled, err;

	if (msg && msg_len)
		msg[0] = '\0';
	if (out)
		memset(out, 0, sizeof(*out));
	if (!lr || !out || !o)
		return fail(msg, msg_len, AUDIO_CODEC_ERROR_ARGS, "no %s",
		            !lr    ? "audio"
		            : !out ? "result"
		                   : "options");
	if (frames < 1)
		return fail(msg, msg_len, AUDIO_CODEC_ERROR_ARGS,
		            "no audio to encode (%lld frames)", (long long)frames);
	if (!codec_valid(o->codec))
		return fail(msg, msg_len, AUDIO_CODEC_ERROR_ARGS, "unknown codec %d",
		            (int)o->codec);
	if (!rate_valid(rate))
		return fail(msg, msg_len, AUDIO_CODEC_ERROR_RATE,
		            "rate %g Hz is not a whole number from %d to %d Hz", rate, MIN_RATE,
		            MAX_RATE);
	if ((uint64_t)frames > SIZE_MAX / (4 * sizeof(float)) / 2)
		return fail(msg, msg_len, AUDIO_CODEC_ERROR_NOMEM, "out of memory");

	cr = audio_codec_rate(o->codec, rate);
	resampled = cr != (int)lround(rate);
	n_c = resampled ? llround((double)frames * cr / rate) : frames;
	if (n_c < 1)
		n_c = 1;
	prog_init(&p, o, resampled);

	err = level_for(o->codec, cr, o->bitrate_kbps, &level, &nominal, msg, msg_len);
	if (err)
		goto error;

	/* to the codec rate */
	if (resampled) {
		x_c = alloc_frames(n_c);
		if (!x_c)
			goto nomem;
		err = resample(lr, frames, cr / rate, x_c, n_c, &p, ST_SRC_IN, msg, msg_len);
		if (err)
			goto error;
	}

	err = encode(resampled ? x_c : lr, n_c, o->codec, cr, level, &m, &p, msg, msg_len);
	if (err)
		goto error;
	err = decode(&m, o->codec, cr, n_c, &y_c, &got, &p, msg, msg_len);
	if (err)
		goto error;
	out->decoded_frames = got;
	if (o->codec == AUDIO_CODEC_VORBIS) {
		double nb = vorbis_nominal_of(&m);
		if (nb > 0)
			nominal = nb / 1000.0;
	}
	out->encoded_bytes = (int64_t)m.len;
	free(m.data);
	m.data = NULL;

	/* Align at the codec rate, then exactly n_c frames.  A decoder that
	 * returns the input's length has removed the delay and padding the
	 * stream declares; otherwise cross-correlation finds the delay. */
	if (got == n_c)
		lag = xcorr_lag(resampled ? x_c : lr, n_c, y_c, got, cr, 0, &corr);
	else
		lag =
		    xcorr_lag(resampled ? x_c : lr, n_c, y_c, got, cr, AUDIO_CODEC_MAX_LAG, &corr);
	{
		int64_t avail = got - lag; /* frames of y_c from index lag on */
		if (lag > 0 && avail > 0)
			memmove(y_c, y_c + 2 * lag, (size_t)avail * 2 * sizeof(float));
		if (lag < 0) {
			/* early: shift right, silence in front */
			int64_t keep = got < n_c + lag ? got : n_c + lag;
			float *q = alloc_frames(n_c);
			if (!q)
				goto nomem;
			memset(q, 0, (size_t)(-lag) * 2 * sizeof(float));
			if (keep > 0)
				memcpy(q - 2 * lag, y_c, (size_t)keep * 2 * sizeof(float));
			avail = keep - lag;
			free(y_c);
			y_c = q;
		}
		if (avail < n_c) {
			float *q = realloc(y_c, (size_t)n_c * 2 * sizeof(float));
			if (!q)
				goto nomem;
			y_c = q;
			memset(y_c + 2 * (avail > 0 ? avail : 0), 0,
			       (size_t)(n_c - (avail > 0 ? avail : 0)) * 2 * sizeof(float));
		}
	}
	out->delay_frames = lag;
	out->align_corr = corr;
	out->expected_frames = n_c;
	free(x_c);
	x_c = NULL;

	/* back to the session rate */
	if (resampled) {
		dec = alloc_frames(frames);
		if (!dec)
			goto nomem;
		err = resample(y_c, n_c, rate / cr, dec, frames, &p, ST_SRC_OUT, msg, msg_len);
		if (err)
			goto error;
		free(y_c);
	} else {
		/* n_c == frames; give back what a long decode left over */
		float *q = realloc(y_c, (size_t)frames * 2 * sizeof(float));
		dec = q ? q : y_c;
	}
	y_c = NULL;

	/* the artefacts */
	art = alloc_frames(frames);
	if (!art)
		goto nomem;
	for (int64_t i = 0; i < 2 * frames; i++) {
		float x = isfinite(lr[i]) ? lr[i] : 0.0f;
		art[i] = dec[i] - x;
		sum_d += (double)art[i] * art[i];
		sum_x += (double)x * x;
	}

	/* levels */
	err = measure(lr, frames, rate, &out->source_loudness, &p, 0.0, 0.25, msg, msg_len);
	if (!err)
		err = measure(dec, frames, rate, &out->decoded_loudness, &p, 0.25, 0.25, msg,
		              msg_len);
	if (err)
		goto error;
	ceiling = isfinite(o->ceiling_dbtp) ? pow(10.0, o->ceiling_dbtp / 20.0) : HUGE_VAL;
	memset(&ts, 0, sizeof(ts));
	ts.ceiling = HUGE_VAL;
	ts.rate = rate;
	err = scan_true_peak(lr, frames, rate, &ts, &p, 0.5, 0.25, msg, msg_len);
	if (err)
		goto error;
	out->source_true_peak_dbtp = lin_db(ts.peak);
	memset(&ts, 0, sizeof(ts));
	ts.ceiling = ceiling;
	ts.rate = rate;
	ts.merge = (int64_t)(AUDIO_CODEC_OVER_MERGE_S * rate);
	ts.overs = out->overs;
	ts.max_overs = AUDIO_CODEC_MAX_OVERS;
	err = scan_true_peak(dec, frames, rate, &ts, &p, 0.75, 0.25, msg, msg_len);
	if (err)
		goto error;

	out->codec = o->codec;
	out->rate = rate;
	out->frames = frames;
	out->decoded = dec;
	out->artefacts = art;
	out->codec_rate = cr;
	out->bitrate_kbps = o->bitrate_kbps;
	out->nominal_kbps = nominal;
	out->compression_level = level;
	out->actual_kbps = (double)out->encoded_bytes * 8.0 / ((double)frames / rate) / 1000.0;
	out->true_peak_dbtp = lin_db(ts.peak);
	out->true_peak_rise_db = out->true_peak_dbtp - out->source_true_peak_dbtp;
	if (isfinite(out->source_loudness.integrated_lufs) &&
	    isfinite(out->decoded_loudness.integrated_lufs))
		out->match_gain_db =
		    out->source_loudness.integrated_lufs - out->decoded_loudness.integrated_lufs;
	out->artefacts_rel_db =
	    sum_d > 0 ? (sum_x > 0 ? 10.0 * log10(sum_d / sum_x) : HUGE_VAL) : -HUGE_VAL;
	out->ceiling_dbtp = isfinite(o->ceiling_dbtp) ? o->ceiling_dbtp : HUGE_VAL;
	out->over_count = ts.count;
	out->overs_kept = ts.kept;
	out->over_s = (double)ts.over_frames / rate;
	if (p.fn)
		p.fn(p.user, 1.0);
	return 0;

nomem:
	err = fail(msg, msg_len, AUDIO_CODEC_ERROR_NOMEM, "out of memory");
error:
	free(m.data);
	free(x_c);
	free(y_c);
	free(dec);
	free(art);
	memset(out, 0, sizeof(*out));
	return err;
}

/* ---- handing over ---- */

struct audio_clip *audio_codec_take_clip(struct audio_codec_result *r, bool artefacts)
{
	struct audio_clip *c;
	float **buf;
	char name[96];
	size_t len;

	if (!r)
		return NULL;
	buf = artefacts ? &r->artefacts : &r->decoded;
	if (!*buf)
		return NULL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	snprintf(name, sizeof(name), "%s (%s %d kbps)", artefacts ? "artefacts" : "master",
	         audio_codec_name(r->codec), r->bitrate_kbps);
	len = strlen(name) + 1;
	c->path = malloc(len);
	if (!c->path) {
		free(c);
		return NULL;
	}
	memcpy(c->path, name, len);
	c->name = c->path;
	c->data = *buf;
	c->frames = r->frames;
	c->rate = r->rate;
	c->file_rate = r->codec_rate;
	c->file_channels = 2;
	c->file_frames = r->decoded_frames;
	snprintf(c->format, sizeof(c->format), "%s %.0f kbps%s", audio_codec_name(r->codec),
	         r->nominal_kbps, artefacts ? " artefacts" : "");
	*buf = NULL;
	return c;
}

void audio_codec_result_free(struct audio_codec_result *r)
{
	if (!r)
		return;
	free(r->decoded);
	free(r->artefacts);
	r->decoded = NULL;
	r->artefacts = NULL;
}

const char *audio_codec_strerror(int err)
{
	static const char *const text[] = {
	    [AUDIO_CODEC_OK] = "success",
	    [AUDIO_CODEC_ERROR_ARGS] = "bad arguments",
	    [AUDIO_CODEC_ERROR_RATE] = "sample rate not supported",
	    [AUDIO_CODEC_ERROR_BITRATE] = "bitrate outside the codec's range",
	    [AUDIO_CODEC_ERROR_UNSUPPORTED] = "codec not available in this libsndfile",
	    [AUDIO_CODEC_ERROR_ENCODE] = "encoding failed",
	    [AUDIO_CODEC_ERROR_DECODE] = "decoding failed",
	    [AUDIO_CODEC_ERROR_SRC] = "sample rate conversion failed",
	    [AUDIO_CODEC_ERROR_MEASURE] = "measurement failed",
	    [AUDIO_CODEC_ERROR_NOMEM] = "out of memory",
	    [AUDIO_CODEC_ERROR_CANCELLED] = "cancelled",
	};

	if (err < 0 || (size_t)err >= sizeof(text) / sizeof(text[0]) || !text[err])
		return "unknown codec error";
	return text[err];
}

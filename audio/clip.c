/*
 * termaster — decoding into clips (see clip.h).
 *
 * Pipeline, per block of BLOCK_FRAMES file frames:
 *
 *   libsndfile sf_readf_float ─▶ mono/stereo → stereo ─▶ NaN/Inf → 0 (counted)
 *        ─▶ libsamplerate SRC_SINC_BEST_QUALITY (streaming) ─▶ clip buffer
 *
 * (The stream, audio_clip_stream_open(), reads WAV and AIFF PCM with
 * sf_read_raw() and converts it here, to the same floats: struct raw_in.)
 *
 * Reading as float: integer files are normalised by libsndfile to
 * [-1, 1) (SFC_SET_NORM_FLOAT, on by default, set explicitly here); float and
 * double files are passed through unscaled, so overs above 0 dBFS survive.
 * SFC_SET_SCALE_FLOAT_INT_READ only matters when a float file is read as
 * integers, which we never do.
 *
 * Truncation.  libsndfile quietly shortens the frame count of a WAV, RF64
 * or AIFF file whose data chunk runs past the end of the file, so the header
 * is parsed here (header_check) and compared with the file size.  For the
 * other formats a read that ends before the frame count the header promises
 * is reported (FLAC, MP3 with a Xing/LAME header); lossy streams whose length
 * libsndfile only estimates get some slack (LOSSY_SLACK_*).
 *
 * The output length of a conversion is exactly round(frames × rate /
 * file_rate): libsamplerate's flushed tail is cut or padded with zeros to it.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <float.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <samplerate.h>
#include <sndfile.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "audio/clip.h"

#define BLOCK_FRAMES        4096
#define PROGRESS_INTERVAL_S 0.1
/* MP3 without an exact length header: accept a shortfall up to this. */
#define LOSSY_SLACK_S        0.5
#define LOSSY_SLACK_FRACTION 0.02
/* Initial buffer is capped at this much audio and grown as needed, so a
 * header that lies about its length cannot make us allocate gigabytes. */
#define INITIAL_CAP_S 600.0

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

static const char *errno_reason(int e)
{
	switch (e) {
	case ENOENT:
		return "no such file";
	case ENOTDIR:
		return "no such file (a folder in the path is not a folder)";
	case EACCES:
	case EPERM:
		return "permission denied";
	case ELOOP:
		return "too many symbolic links";
	case ENAMETOOLONG:
		return "file name too long";
	default:
		return strerror(e);
	}
}

/* ---- format names ---- */

static const char *major_name(int major)
{
	switch (major) {
	case SF_FORMAT_WAV:
	case SF_FORMAT_WAVEX:
		return "WAV";
	case SF_FORMAT_RF64:
		return "RF64";
	case SF_FORMAT_W64:
		return "W64";
	case SF_FORMAT_AIFF:
		return "AIFF";
	case SF_FORMAT_CAF:
		return "CAF";
	case SF_FORMAT_FLAC:
		return "FLAC";
	case SF_FORMAT_OGG:
		return "Ogg";
	case SF_FORMAT_MPEG:
		return "MPEG";
	case SF_FORMAT_AU:
		return "AU";
	case SF_FORMAT_NIST:
		return "NIST";
	case SF_FORMAT_IRCAM:
		return "IRCAM";
	case SF_FORMAT_VOC:
		return "VOC";
	case SF_FORMAT_SD2:
		return "SD2";
	case SF_FORMAT_MAT4:
	case SF_FORMAT_MAT5:
		return "MAT";
	default:
		return "audio";
	}
}

static const char *sub_name(int sub)
{
	switch (sub) {
	case SF_FORMAT_PCM_S8:
	case SF_FORMAT_PCM_U8:
		return "8-bit";
	case SF_FORMAT_PCM_16:
		return "16-bit";
	case SF_FORMAT_PCM_24:
		return "24-bit";
	case SF_FORMAT_PCM_32:
		return "32-bit";
	case SF_FORMAT_FLOAT:
		return "32-bit float";
	case SF_FORMAT_DOUBLE:
		return "64-bit float";
	case SF_FORMAT_ULAW:
		return "u-law";
	case SF_FORMAT_ALAW:
		return "A-law";
	case SF_FORMAT_IMA_ADPCM:
		return "IMA ADPCM";
	case SF_FORMAT_MS_ADPCM:
		return "MS ADPCM";
	case SF_FORMAT_GSM610:
		return "GSM 6.10";
	case SF_FORMAT_ALAC_16:
		return "ALAC 16-bit";
	case SF_FORMAT_ALAC_20:
		return "ALAC 20-bit";
	case SF_FORMAT_ALAC_24:
		return "ALAC 24-bit";
	case SF_FORMAT_ALAC_32:
		return "ALAC 32-bit";
	default:
		return NULL;
	}
}

static void format_name(int format, char *out, size_t len)
{
	int major = format & SF_FORMAT_TYPEMASK;
	int sub = format & SF_FORMAT_SUBMASK;
	const char *s;

	switch (sub) {
	case SF_FORMAT_VORBIS:
		snprintf(out, len, "Ogg Vorbis");
		return;
	case SF_FORMAT_OPUS:
		snprintf(out, len, "Ogg Opus");
		return;
	case SF_FORMAT_MPEG_LAYER_I:
		snprintf(out, len, "MP1");
		return;
	case SF_FORMAT_MPEG_LAYER_II:
		snprintf(out, len, "MP2");
		return;
	case SF_FORMAT_MPEG_LAYER_III:
		snprintf(out, len, "MP3");
		return;
	}
	s = sub_name(sub);
	if (major == SF_FORMAT_OGG && sub != SF_FORMAT_VORBIS)
		snprintf(out, len, "Ogg FLAC%s%s", s ? " " : "", s ? s : "");
	else if (s)
		snprintf(out, len, "%s %s", major_name(major), s);
	else
		snprintf(out, len, "%s", major_name(major));
}

/* Bytes per sample of the fixed-width encodings, 0 for the others. */
static int sample_bytes(int sub)
{
	switch (sub) {
	case SF_FORMAT_PCM_S8:
	case SF_FORMAT_PCM_U8:
	case SF_FORMAT_ULAW:
	case SF_FORMAT_ALAW:
		return 1;
	case SF_FORMAT_PCM_16:
		return 2;
	case SF_FORMAT_PCM_24:
		return 3;
	case SF_FORMAT_PCM_32:
	case SF_FORMAT_FLOAT:
		return 4;
	case SF_FORMAT_DOUBLE:
		return 8;
	default:
		return 0;
	}
}

/* Extensions of formats libsndfile has no decoder for. */
static int unsupported_ext(const char *path, const char **ext)
{
	static const char *const list[] = {
	    "m4a", "m4b", "mp4",  "aac", "alac", "wma", "asf",  "ape", "wv",
	    "mka", "mkv", "webm", "dsf", "dff",  "ac3", "eac3", "dts", "tta",
	    "shn", "amr", "3gp",  "mov", "ra",   "rm",  "mpc",
	};
	const char *dot = strrchr(path, '.');
	const char *slash = strrchr(path, '/');

	if (!dot || (slash && dot < slash) || !dot[1])
		return 0;
	for (size_t i = 0; i < sizeof(list) / sizeof(list[0]); i++) {
		if (!strcasecmp(dot + 1, list[i])) {
			*ext = dot + 1;
			return 1;
		}
	}
	return 0;
}

/* ---- header check for WAV / RF64 / AIFF (truncation) ---- */

static uint32_t le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const unsigned char *p)
{
	return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[3] | (uint32_t)p[2] << 8 | (uint32_t)p[1] << 16 | (uint32_t)p[0] << 24;
}

static int read_at(int fd, off_t off, void *buf, size_t n)
{
	ssize_t r = pread(fd, buf, n, off);

	return r == (ssize_t)n ? 0 : -1;
}

struct header_promise {
	int known;           /* 1 when a data chunk with a real size was found */
	uint64_t data_start; /* byte offset of the first sample */
	uint64_t data_bytes; /* what the header says */
	int64_t frames;      /* AIFF COMM frame count, or -1 */
};

/* Walks the RIFF / RF64 / FORM chunks to the data chunk.  Never fails: an
 * unparseable header leaves hp->known = 0 and libsndfile's verdict stands. */
static void header_check(int fd, uint64_t file_size, struct header_promise *hp)
{
	unsigned char h[36];
	uint64_t pos, ds64_data = 0;
	int riff, rf64 = 0;

	memset(hp, 0, sizeof(*hp));
	hp->frames = -1;
	if (read_at(fd, 0, h, 12))
		return;
	if (!memcmp(h, "RIFF", 4) && !memcmp(h + 8, "WAVE", 4)) {
		riff = 1;
	} else if ((!memcmp(h, "RF64", 4) || !memcmp(h, "BW64", 4)) && !memcmp(h + 8, "WAVE", 4)) {
		riff = 1;
		rf64 = 1;
	} else if (!memcmp(h, "FORM", 4) &&
	           (!memcmp(h + 8, "AIFF", 4) || !memcmp(h + 8, "AIFC", 4))) {
		riff = 0;
	} else {
		return;
	}
	pos = 12;
	/* a few hundred chunks at most; stop at the end of the file */
	for (int guard = 0; guard < 1024 && pos + 8 <= file_size; guard++) {
		uint64_t size;

		if (read_at(fd, (off_t)pos, h, 8))
			return;
		size = riff ? le32(h + 4) : be32(h + 4);
		if (riff && !memcmp(h, "ds64", 4)) {
			unsigned char d[16];
			if (read_at(fd, (off_t)pos + 8, d, 16))
				return;
			ds64_data = le64(d + 8);
		} else if (!riff && !memcmp(h, "COMM", 4)) {
			unsigned char c[6];
			if (read_at(fd, (off_t)pos + 8, c, 6))
				return;
			hp->frames = be32(c + 2);
		} else if (riff && !memcmp(h, "data", 4)) {
			if (rf64 && size == 0xffffffffu)
				size = ds64_data;
			/* 0 and 0xffffffff: written by a streaming encoder that
			 * never came back to fill it in; nothing is promised. */
			if (size == 0 || size == 0xffffffffu)
				return;
			hp->known = 1;
			hp->data_start = pos + 8;
			hp->data_bytes = size;
			return;
		} else if (!riff && !memcmp(h, "SSND", 4)) {
			unsigned char o[4];
			if (size < 8 || read_at(fd, (off_t)pos + 8, o, 4))
				return;
			hp->known = 1;
			hp->data_start = pos + 16 + be32(o);
			hp->data_bytes = size - 8 - be32(o);
			return;
		}
		pos += 8 + size + (size & 1);
	}
}

/* ---- opening ---- */

struct source {
	int fd;
	SNDFILE *sf;
	SF_INFO info;
	int64_t frames; /* promised by the header; -1 unknown */
	uint64_t file_size;
};

static void source_close(struct source *s)
{
	if (s->sf)
		sf_close(s->sf);
	if (s->fd >= 0)
		close(s->fd);
	s->sf = NULL;
	s->fd = -1;
}

static int open_reason(const char *path, int sferr, char *msg, size_t msg_len)
{
	const char *ext;

	if (unsupported_ext(path, &ext))
		return fail(msg, msg_len, AUDIO_CLIP_ERROR_FORMAT,
		            "format not supported by libsndfile; convert it to WAV or FLAC, "
		            "e.g. ffmpeg -i song.%s song.flac",
		            ext);
	switch (sferr) {
	case SF_ERR_SYSTEM:
		return fail(msg, msg_len, AUDIO_CLIP_ERROR_READ, "cannot read: %s",
		            sf_error_number(sferr));
	case SF_ERR_MALFORMED_FILE:
		return fail(msg, msg_len, AUDIO_CLIP_ERROR_FORMAT,
		            "damaged or truncated audio header (libsndfile: %s)",
		            sf_error_number(sferr));
	case SF_ERR_UNSUPPORTED_ENCODING:
		return fail(msg, msg_len, AUDIO_CLIP_ERROR_FORMAT,
		            "audio encoding not supported by libsndfile; convert it to WAV or FLAC "
		            "(e.g. with ffmpeg)");
	default:
		return fail(msg, msg_len, AUDIO_CLIP_ERROR_FORMAT,
		            "not an audio file libsndfile can read (it reads WAV, AIFF, FLAC, "
		            "Ogg Vorbis/Opus, MP3 ...; convert others with ffmpeg)");
	}
}

/* Opens and checks everything that can be checked without decoding.  On
 * error the source is closed, except that info/frames stay filled when the
 * header was read (for audio_clip_probe). */
static int source_open(const char *path, struct source *s, char *msg, size_t msg_len)
{
	struct stat st;
	struct header_promise hp;
	int err, major, sub, bpf;

	memset(s, 0, sizeof(*s));
	s->fd = -1;
	s->frames = -1;
	if (!path || !*path)
		return fail(msg, msg_len, AUDIO_CLIP_ERROR_ERRNO, "no such file");
	if (stat(path, &st)) {
		int e = errno;
		err = fail(msg, msg_len, AUDIO_CLIP_ERROR_ERRNO, "%s", errno_reason(e));
		errno = e;
		return err;
	}
	if (S_ISDIR(st.st_mode))
		return fail(msg, msg_len, AUDIO_CLIP_ERROR_DIRECTORY, "is a directory");
	s->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (s->fd < 0) {
		int e = errno;
		err = fail(msg, msg_len, AUDIO_CLIP_ERROR_ERRNO, "%s", errno_reason(e));
		errno = e;
		return err;
	}
	if (fstat(s->fd, &st)) {
		int e = errno;
		source_close(s);
		err = fail(msg, msg_len, AUDIO_CLIP_ERROR_ERRNO, "%s", errno_reason(e));
		errno = e;
		return err;
	}
	if (S_ISDIR(st.st_mode)) {
		source_close(s);
		return fail(msg, msg_len, AUDIO_CLIP_ERROR_DIRECTORY, "is a directory");
	}
	if (S_ISREG(st.st_mode) && st.st_size == 0) {
		source_close(s);
		return fail(msg, msg_len, AUDIO_CLIP_ERROR_EMPTY, "empty file");
	}
	s->file_size = S_ISREG(st.st_mode) ? (uint64_t)st.st_size : 0;
	s->sf = sf_open_fd(s->fd, SFM_READ, &s->info, 0);
	if (!s->sf) {
		int sferr = sf_error(NULL);
		source_close(s);
		return open_reason(path, sferr, msg, msg_len);
	}
	major = s->info.format & SF_FORMAT_TYPEMASK;
	sub = s->info.format & SF_FORMAT_SUBMASK;
	s->frames = s->info.frames == SF_COUNT_MAX ? -1 : (int64_t)s->info.frames;

	if (s->info.channels > 2) {
		err = fail(msg, msg_len, AUDIO_CLIP_ERROR_CHANNELS,
		           "%d channels; termaster plays mono and stereo files", s->info.channels);
		goto out_close;
	}
	if (s->info.channels < 1) {
		err = fail(msg, msg_len, AUDIO_CLIP_ERROR_FORMAT, "no audio channels");
		goto out_close;
	}
	if (s->info.samplerate < AUDIO_CLIP_MIN_RATE || s->info.samplerate > AUDIO_CLIP_MAX_RATE) {
		err = fail(msg, msg_len, AUDIO_CLIP_ERROR_RATE,
		           "sample rate %d Hz is outside %d Hz to %d Hz", s->info.samplerate,
		           AUDIO_CLIP_MIN_RATE, AUDIO_CLIP_MAX_RATE);
		goto out_close;
	}

	/* Header promise vs. file size (libsndfile trims silently). */
	if (s->file_size && (major == SF_FORMAT_WAV || major == SF_FORMAT_WAVEX ||
	                     major == SF_FORMAT_RF64 || major == SF_FORMAT_AIFF)) {
		header_check(s->fd, s->file_size, &hp);
		bpf = sample_bytes(sub) * s->info.channels;
		if (hp.known && hp.data_start + hp.data_bytes > s->file_size) {
			uint64_t have =
			    s->file_size > hp.data_start ? s->file_size - hp.data_start : 0;
			int64_t promised = hp.frames >= 0 ? hp.frames
			                   : bpf          ? (int64_t)(hp.data_bytes / (uint64_t)bpf)
			                                  : -1;
			int64_t got = bpf ? (int64_t)(have / (uint64_t)bpf) : -1;

			if (promised >= 0 && got >= 0 && got < promised) {
				err = fail(msg, msg_len, AUDIO_CLIP_ERROR_READ,
				           "truncated: header promises %lld frames, only %lld "
				           "could be read",
				           (long long)promised, (long long)got);
				goto out_close;
			} else if (!bpf) {
				err = fail(msg, msg_len, AUDIO_CLIP_ERROR_READ,
				           "truncated: header promises %llu bytes of audio, only "
				           "%llu are there",
				           (unsigned long long)hp.data_bytes,
				           (unsigned long long)have);
				goto out_close;
			}
		}
	}
	if (s->frames == 0) {
		err = fail(msg, msg_len, AUDIO_CLIP_ERROR_EMPTY, "no audio in the file (0 frames)");
		goto out_close;
	}
	sf_command(s->sf, SFC_SET_NORM_FLOAT, NULL, SF_TRUE);
	return AUDIO_CLIP_OK;

out_close:
	source_close(s);
	return err;
}

int audio_clip_probe(const char *path, int *rate, int *channels, int64_t *frames, char *msg,
                     size_t msg_len)
{
	struct source s;
	int err;

	if (msg && msg_len)
		msg[0] = '\0';
	err = source_open(path, &s, msg, msg_len);
	/* the header facts are reported even when the file is refused */
	if (s.info.channels > 0) {
		if (rate)
			*rate = s.info.samplerate;
		if (channels)
			*channels = s.info.channels;
		if (frames)
			*frames = s.frames > 0 ? s.frames : 0;
	}
	source_close(&s);
	return err;
}

/* ---- decoding ---- */

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

struct outbuf {
	float *data; /* interleaved stereo */
	int64_t frames;
	int64_t cap;
};

static int outbuf_reserve(struct outbuf *o, int64_t need)
{
	int64_t cap;
	float *p;

	if (need <= o->cap)
		return 0;
	cap = o->cap ? o->cap : 4096;
	while (cap < need)
		cap += cap / 2 + 4096;
	if ((uint64_t)cap > SIZE_MAX / (2 * sizeof(float)))
		return -1;
	p = realloc(o->data, (size_t)cap * 2 * sizeof(float));
	if (!p)
		return -1;
	o->data = p;
	o->cap = cap;
	return 0;
}

static char *dup_str(const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = malloc(n);

	if (p)
		memcpy(p, s, n);
	return p;
}

static void set_path(struct audio_clip *c)
{
	const char *slash = strrchr(c->path, '/');

	c->name = slash && slash[1] ? slash + 1 : c->path;
}

/* After the last read: did we get what the header promised?  0 or
 * AUDIO_CLIP_ERROR_READ / _EMPTY with the reason in msg. */
static int read_check(struct source *s, int64_t read_total, char *msg, size_t msg_len)
{
	if (s->frames > 0 && read_total < s->frames) {
		int lossy = (s->info.format & SF_FORMAT_TYPEMASK) == SF_FORMAT_MPEG;
		double slack = lossy ? fmax(LOSSY_SLACK_S * s->info.samplerate,
		                            LOSSY_SLACK_FRACTION * (double)s->frames)
		                     : 0.0;
		if ((double)(s->frames - read_total) > slack)
			return fail(msg, msg_len, AUDIO_CLIP_ERROR_READ,
			            "truncated: header promises %lld frames, only %lld could be read",
			            (long long)s->frames, (long long)read_total);
	}
	if (sf_error(s->sf) != SF_ERR_NO_ERROR && read_total == 0)
		return fail(msg, msg_len, AUDIO_CLIP_ERROR_READ, "cannot read audio: %s",
		            sf_strerror(s->sf));
	if (read_total == 0)
		return fail(msg, msg_len, AUDIO_CLIP_ERROR_EMPTY, "no audio in the file (0 frames)");
	return AUDIO_CLIP_OK;
}

/* NaN/Inf → 0 in place, counted.  Without a branch, so that the
 * compiler can vectorise it: it passes over every decoded sample. */
static int64_t zero_nonfinite(float *x, size_t n)
{
	int64_t count = 0;

	for (size_t i = 0; i < n; i++) {
		float v = x[i];
		int bad = !(fabsf(v) <= FLT_MAX);  /* NaN, ±Inf */

		count += bad;
		x[i] = bad ? 0.0f : v;
	}
	return count;
}

int audio_clip_load(const char *path, double rate, struct audio_clip **out,
                    audio_clip_progress_fn progress, void *user, char *msg, size_t msg_len)
{
	struct source s;
	struct outbuf o = {NULL, 0, 0};
	struct audio_clip *c = NULL;
	SRC_STATE *src = NULL;
	float *in = NULL, *st = NULL;
	int64_t read_total = 0, target = -1;
	int64_t nonfinite = 0;
	double ratio = 1.0, last = 0; /* first call after the first block */
	int err, ch, srcerr = 0;

	if (msg && msg_len)
		msg[0] = '\0';
	if (out)
		*out = NULL;
	if (!out)
		return fail(msg, msg_len, AUDIO_CLIP_ERROR_NOMEM, "no output clip");
	if (rate < 0 || !isfinite(rate) ||
	    (rate > 0 && (rate < AUDIO_CLIP_MIN_RATE || rate > AUDIO_CLIP_MAX_RATE)))
		return fail(msg, msg_len, AUDIO_CLIP_ERROR_RATE,
		            "requested rate %g Hz is outside %d Hz to %d Hz", rate,
		            AUDIO_CLIP_MIN_RATE, AUDIO_CLIP_MAX_RATE);

	err = source_open(path, &s, msg, msg_len);
	if (err)
		return err;
	ch = s.info.channels;
	if (rate == 0)
		rate = s.info.samplerate;
	ratio = rate / (double)s.info.samplerate;
	if (fabs(ratio - 1.0) < 1e-12)
		ratio = 1.0;

	in = malloc(BLOCK_FRAMES * (size_t)ch * sizeof(float));
	st = malloc(BLOCK_FRAMES * 2 * sizeof(float));
	c = calloc(1, sizeof(*c));
	if (!in || !st || !c)
		goto nomem;
	c->path = dup_str(path);
	if (!c->path)
		goto nomem;
	set_path(c);

	if (ratio != 1.0) {
		if (!src_is_valid_ratio(ratio)) {
			err = fail(msg, msg_len, AUDIO_CLIP_ERROR_RATE,
			           "cannot convert %d Hz to %g Hz", s.info.samplerate, rate);
			goto error;
		}
		src = src_new(SRC_SINC_BEST_QUALITY, 2, &srcerr);
		if (!src)
			goto src_error;
	}
	{
		int64_t guess = s.frames > 0 ? s.frames : (int64_t)s.info.samplerate * 60;
		int64_t cap = (int64_t)ceil((double)guess * ratio) + BLOCK_FRAMES;
		int64_t limit = (int64_t)(INITIAL_CAP_S * rate);
		if (cap > limit)
			cap = limit;
		if (outbuf_reserve(&o, cap))
			goto nomem;
	}

	for (;;) {
		/* stereo at the file's rate goes straight into the clip: no
		 * copies (a 4-minute file is 85 MB of floats) */
		int direct = !src && ch == 2;
		sf_count_t n;
		int eof;

		if (direct && outbuf_reserve(&o, o.frames + BLOCK_FRAMES))
			goto nomem;
		n = sf_readf_float(s.sf, direct ? o.data + 2 * o.frames : in, BLOCK_FRAMES);
		eof = n <= 0;
		if (n > 0 && direct) {
			nonfinite += zero_nonfinite(o.data + 2 * o.frames, (size_t)n * 2);
			o.frames += n;
			read_total += n;
		} else if (n > 0) {
			/* to stereo, replacing NaN/Inf (counted per file sample) */
			for (sf_count_t i = 0; i < n; i++) {
				for (int k = 0; k < ch; k++) {
					float v = in[i * ch + k];
					if (!isfinite(v)) {
						nonfinite++;
						in[i * ch + k] = 0.0f;
					}
				}
				st[2 * i] = in[i * ch];
				st[2 * i + 1] = in[i * ch + (ch > 1)];
			}
			read_total += n;
		}
		if (direct) {
			/* done above */
		} else if (!src) {
			if (n > 0) {
				if (outbuf_reserve(&o, o.frames + n))
					goto nomem;
				memcpy(o.data + 2 * o.frames, st, (size_t)n * 2 * sizeof(float));
				o.frames += n;
			}
		} else {
			SRC_DATA d;
			long in_left = n > 0 ? (long)n : 0;
			const float *ip = st;

			/* feed this block (or flush at the end) */
			do {
				int64_t room = (int64_t)ceil((double)(in_left + 64) * ratio) + 256;
				if (outbuf_reserve(&o, o.frames + room))
					goto nomem;
				memset(&d, 0, sizeof(d));
				d.data_in = ip;
				d.input_frames = in_left;
				d.data_out = o.data + 2 * o.frames;
				d.output_frames = (long)room;
				d.src_ratio = ratio;
				d.end_of_input = eof;
				srcerr = src_process(src, &d);
				if (srcerr)
					goto src_error;
				ip += 2 * d.input_frames_used;
				in_left -= d.input_frames_used;
				o.frames += d.output_frames_gen;
				if (eof && d.output_frames_gen == 0)
					break;
			} while (in_left > 0 || eof);
		}
		if (eof)
			break;
		if (progress && now_s() - last >= PROGRESS_INTERVAL_S) {
			double f = s.frames > 0 ? (double)read_total / (double)s.frames : 0.0;
			last = now_s();
			if (progress(user, f > 0.999 ? 0.999 : f)) {
				err = fail(msg, msg_len, AUDIO_CLIP_ERROR_CANCELLED, "cancelled");
				goto error;
			}
		}
	}

	err = read_check(&s, read_total, msg, msg_len);
	if (err)
		goto error;

	/* exact output length: round(frames × ratio) */
	target = src ? llround((double)read_total * ratio) : read_total;
	if (target < 1)
		target = 1;
	if (outbuf_reserve(&o, target))
		goto nomem;
	if (o.frames < target)
		memset(o.data + 2 * o.frames, 0, (size_t)(target - o.frames) * 2 * sizeof(float));
	o.frames = target;
	if (o.cap > target) {
		float *p = realloc(o.data, (size_t)target * 2 * sizeof(float));
		if (p)
			o.data = p;
	}

	c->data = o.data;
	c->frames = o.frames;
	c->rate = rate;
	c->file_rate = s.info.samplerate;
	c->file_channels = ch;
	c->file_frames = read_total;
	c->nonfinite = nonfinite;
	format_name(s.info.format, c->format, sizeof(c->format));
	if (progress)
		progress(user, 1.0);

	src_delete(src);
	source_close(&s);
	free(in);
	free(st);
	*out = c;
	return AUDIO_CLIP_OK;

src_error:
	err = fail(msg, msg_len, AUDIO_CLIP_ERROR_SRC, "sample rate conversion failed: %s",
	           src_strerror(srcerr));
	goto error;
nomem:
	err = fail(msg, msg_len, AUDIO_CLIP_ERROR_NOMEM, "out of memory");
error:
	if (src)
		src_delete(src);
	source_close(&s);
	free(in);
	free(st);
	free(o.data);
	if (c)
		free(c->path);
	free(c);
	return err;
}

/* ---- decoding on a thread of its own ---- */

/*
 * audio_clip_stream_open() decodes on a thread into a clip allocated
 * whole up front, so that a reader can work on the frames already there
 * while the rest is read (`termaster render` starts its chain at once
 * instead of after the decode).  Only where the length is known exactly
 * before decoding: at the file's own rate (no libsamplerate), the header's
 * frame count known, not MPEG (whose count is an estimate), within the
 * INITIAL_CAP_S allocation cap.  Otherwise the open decodes the whole file
 * first, as audio_clip_load() does, and the stream starts out finished.
 * The bytes are audio_clip_load()'s: the same samples in the same order
 * (WAV and AIFF PCM read raw and converted here as libsndfile converts
 * them, struct raw_in; the rest through sf_readf_float()), the same
 * NaN/Inf handling and the same end checks (read_check()).
 *
 * State glossary (mu guards `waiting` and the sleeping; the rest is as
 * marked):
 *   clip       the clip; clip->data frames [0, ready) are final
 *   s          the source, the thread's alone while it runs
 *   ready      frames decoded (atomic, release after the data)
 *   done       the thread ended (atomic, release after err/msg); then err
 *              and msg say how
 *   cancel     the reader asks the thread to stop (atomic)
 *   waiting    the reader sleeps on cv
 *   ring       0: clip->data holds every frame; else it holds `ring`
 *              frames, frame f at f % ring (audio_clip_stream_open_ring())
 *   released   the reader is done with the frames below (atomic); the
 *              thread decodes frame f only once f < released + ring
 *   need       0, or the thread sleeps on cv until released + ring
 *              reaches it (atomic: the reader reads it without mu, see
 *              audio_clip_stream_release())
 */
struct audio_clip_stream {
	struct audio_clip *clip;
	struct source s;
	pthread_t th;
	bool threaded;
	atomic_llong ready;
	atomic_int done;
	atomic_int cancel;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int waiting;
	int64_t ring;
	atomic_llong released;
	atomic_llong need;
	int err;
	char msg[256];
};

/*
 * Reading PCM ourselves.  sf_readf_float() converts through an 8 KB buffer
 * of libsndfile's, one read() each: ~10 000 read() calls of 6 KB and ~32
 * instructions a frame for a 4-minute 24-bit stereo file.  For WAV, RF64
 * and AIFF files of 16-, 24- or 32-bit integers or 32-bit floats,
 * sf_read_raw() hands over the data chunk's bytes RAW_FRAMES at a time in
 * one read() (libsndfile still parses the header, finds the data and keeps
 * its frame count), and they are converted here as libsndfile converts
 * them, to the same floats: an integer left-justified in 32 bits, as a
 * float, times 2^-31 (pcm.c, normalised reads; exact for 16 and 24 bits,
 * rounded once for 32), floats as they are; in the file's byte order
 * (SFC_RAW_DATA_NEEDS_ENDSWAP).  Other encodings go through
 * sf_readf_float().  tests/test_render.c compares the two.
 *
 *   bytes      per sample: 2, 3 or 4; 0: libsndfile converts
 *   is_float   32-bit float samples (else integers)
 *   be         the samples are big-endian
 *   host_le    this machine is little-endian
 *   buf        RAW_FRAMES frames of the file's bytes (+ 1: raw_convert()
 *              loads four bytes to read three)
 */
#define RAW_FRAMES 32768

struct raw_in {
	int bytes;
	bool is_float;
	bool be;
	bool host_le;
	unsigned char *buf;
};

/* Sets r up for s, or leaves r->bytes 0 where libsndfile must convert.
 * 0, or -1 when out of memory. */
static int raw_in_open(struct raw_in *r, struct source *s)
{
	const uint16_t one = 1;
	bool host_be = *(const unsigned char *)&one == 0;
	int major = s->info.format & SF_FORMAT_TYPEMASK;
	int sub = s->info.format & SF_FORMAT_SUBMASK;

	memset(r, 0, sizeof(*r));
	if (major != SF_FORMAT_WAV && major != SF_FORMAT_WAVEX &&
	    major != SF_FORMAT_RF64 && major != SF_FORMAT_AIFF)
		return 0;
	if (sub != SF_FORMAT_PCM_16 && sub != SF_FORMAT_PCM_24 &&
	    sub != SF_FORMAT_PCM_32 && sub != SF_FORMAT_FLOAT)
		return 0;
	r->buf = malloc((size_t)RAW_FRAMES * (size_t)s->info.channels * 4 + 1);
	if (!r->buf)
		return -1;
	r->bytes = sample_bytes(sub);
	r->is_float = sub == SF_FORMAT_FLOAT;
	r->be = host_be ^ (sf_command(s->sf, SFC_RAW_DATA_NEEDS_ENDSWAP, NULL, 0) == SF_TRUE);
	r->host_le = !host_be;
	return 0;
}

/* n samples of r->buf to floats at out. */
static void raw_convert(const struct raw_in *r, float *out, size_t n)
{
	const unsigned char *p = r->buf;
	const float norm = 1.0f / 2147483648.0f;  /* 2^-31 */
	size_t i;

	if (r->bytes == 3 && !r->be && r->host_le) {
		/* four bytes loaded for three, shifted to the top: one load a
		 * sample (raw_in_open() left a byte spare at the end); four
		 * samples converted and scaled at once */
		i = 0;
#ifdef __SSE2__
		for (; i + 4 <= n; i += 4, p += 12) {
			uint32_t u[4];

			memcpy(&u[0], p, 4);
			memcpy(&u[1], p + 3, 4);
			memcpy(&u[2], p + 6, 4);
			memcpy(&u[3], p + 9, 4);
			_mm_storeu_ps(out + i, _mm_mul_ps(_mm_cvtepi32_ps(_mm_slli_epi32(
				_mm_set_epi32((int)u[3], (int)u[2], (int)u[1], (int)u[0]), 8)),
				_mm_set1_ps(norm)));
		}
#endif
		for (; i < n; i++, p += 3) {
			uint32_t u;

			memcpy(&u, p, sizeof(u));
			out[i] = (float)(int32_t)(u << 8) * norm;
		}
	} else if (r->bytes == 3 && !r->be) {
		for (i = 0; i < n; i++, p += 3) {
			uint32_t u = (uint32_t)p[0] << 8 | (uint32_t)p[1] << 16 |
				     (uint32_t)p[2] << 24;

			out[i] = (float)(int32_t)u * norm;
		}
	} else if (r->bytes == 2 && !r->be) {
		for (i = 0; i < n; i++, p += 2) {
			uint32_t u = (uint32_t)p[0] << 16 | (uint32_t)p[1] << 24;

			out[i] = (float)(int32_t)u * norm;
		}
	} else {
		const int b = r->bytes;

		for (i = 0; i < n; i++, p += b) {
			/* the sample's bytes, most significant first, to the
			 * top of 32 bits */
			uint32_t u = 0;

			for (int k = 0; k < b; k++)
				u |= (uint32_t)p[r->be ? k : b - 1 - k] << (24 - 8 * k);
			if (r->is_float)
				memcpy(&out[i], &u, sizeof(float));
			else
				out[i] = (float)(int32_t)u * norm;
		}
	}
}

/* Up to `frames` (<= RAW_FRAMES with raw reading) frames of ch samples
 * to dst, as sf_readf_float() reads them; returns the frames read, 0 at
 * the end or on an error (sf_error() says which, as after
 * sf_readf_float()). */
static sf_count_t source_readf(struct source *s, const struct raw_in *r, float *dst,
			       sf_count_t frames)
{
	int ch = s->info.channels;
	sf_count_t got, n;

	if (!r->bytes)
		return sf_readf_float(s->sf, dst, frames);
	got = sf_read_raw(s->sf, r->buf, frames * ch * r->bytes);
	n = got > 0 ? got / (ch * r->bytes) : 0;
	raw_convert(r, dst, (size_t)(n * ch));
	return n;
}

static void stream_publish(struct audio_clip_stream *st, int64_t ready, bool end)
{
	pthread_mutex_lock(&st->mu);
	atomic_store_explicit(&st->ready, ready, memory_order_release);
	if (end)
		atomic_store_explicit(&st->done, 1, memory_order_release);
	if (st->waiting)
		pthread_cond_broadcast(&st->cv);
	pthread_mutex_unlock(&st->mu);
}

/* How many of the `want` frames from frame `done` on may be written now:
 * returns once that is at least min(want, ring / 2) (the reader has given
 * back all but `ring` frames below them), or the reader cancels.  The
 * reader reads at most ring / 2 frames past what it gave back (clip.h),
 * so that much room always comes.  The reader stores `released` and then
 * reads `need`, this thread stores `need` and then reads `released` (both
 * sequentially consistent): one of the two sees the other's store, so no
 * wake-up is lost (the reader signals under mu, which this thread holds
 * from its check until it sleeps).  The reader wakes it only once that
 * much room is there: on one CPU a wake-up per block given back cost more
 * than the ring saved. */
static int64_t stream_room(struct audio_clip_stream *st, int64_t done, int64_t want)
{
	int64_t half = st->ring / 2 > 0 ? st->ring / 2 : 1;
	int64_t end = done + (want < half ? want : half), room;

	if (atomic_load(&st->released) + st->ring < end) {
		pthread_mutex_lock(&st->mu);
		atomic_store(&st->need, end);
		while (atomic_load(&st->released) + st->ring < end &&
		       !atomic_load(&st->cancel))
			pthread_cond_wait(&st->cv, &st->mu);
		atomic_store(&st->need, 0);
		pthread_mutex_unlock(&st->mu);
	}
	room = atomic_load(&st->released) + st->ring - done;
	return room < want ? room : want;
}

static void *stream_main(void *user)
{
	struct audio_clip_stream *st = user;
	struct audio_clip *c = st->clip;
	int ch = st->s.info.channels;
	int64_t frames = c->frames, done = 0, nonfinite = 0;
	struct raw_in raw;
	sf_count_t step;
	float *in = NULL;
	bool ints;
	int err = AUDIO_CLIP_OK;

	if (raw_in_open(&raw, &st->s)) {
		err = fail(st->msg, sizeof(st->msg), AUDIO_CLIP_ERROR_NOMEM, "out of memory");
		goto out;
	}
	/* integers read raw are finite: nothing to replace */
	ints = raw.bytes && !raw.is_float;
	step = raw.bytes ? RAW_FRAMES : BLOCK_FRAMES;
	in = ch == 2 ? NULL : malloc((size_t)step * sizeof(float));
	if (ch != 2 && !in) {
		err = fail(st->msg, sizeof(st->msg), AUDIO_CLIP_ERROR_NOMEM, "out of memory");
		goto out;
	}
	while (done < frames) {
		sf_count_t want = frames - done < step ? frames - done : step;
		float *dst = c->data + 2 * done;
		sf_count_t n;

		if (st->ring) {
			int64_t at = done % st->ring;

			if (want > st->ring - at)
				want = st->ring - at;  /* up to the ring's end */
			dst = c->data + 2 * at;
			want = stream_room(st, done, want);
		}
		if (atomic_load_explicit(&st->cancel, memory_order_relaxed)) {
			err = fail(st->msg, sizeof(st->msg), AUDIO_CLIP_ERROR_CANCELLED,
			           "cancelled");
			goto out;
		}
		n = source_readf(&st->s, &raw, ch == 2 ? dst : in, want);
		if (n <= 0)
			break;
		if (ints) {
			if (ch != 2)
				for (sf_count_t i = 0; i < n; i++)
					dst[2 * i] = dst[2 * i + 1] = in[i];
		} else if (ch == 2) {
			nonfinite += zero_nonfinite(dst, (size_t)n * 2);
		} else {
			nonfinite += zero_nonfinite(in, (size_t)n);
			for (sf_count_t i = 0; i < n; i++)
				dst[2 * i] = dst[2 * i + 1] = in[i];
		}
		done += n;
		stream_publish(st, done, false);
	}
	err = read_check(&st->s, done, st->msg, sizeof(st->msg));
	c->nonfinite = nonfinite;  /* read after audio_clip_stream_finish() */
out:
	free(in);
	free(raw.buf);
	st->err = err;
	stream_publish(st, done, true);
	return NULL;
}

int audio_clip_stream_open(const char *path, struct audio_clip_stream **out,
                           audio_clip_progress_fn progress, void *user, char *msg,
                           size_t msg_len)
{
	return audio_clip_stream_open_ring(path, 0, out, progress, user, msg, msg_len);
}

int audio_clip_stream_open_ring(const char *path, int64_t ring,
				struct audio_clip_stream **out,
				audio_clip_progress_fn progress, void *user, char *msg,
				size_t msg_len)
{
	struct audio_clip_stream *st;
	struct audio_clip *c = NULL;
	int err;

	if (msg && msg_len)
		msg[0] = '\0';
	if (!out)
		return fail(msg, msg_len, AUDIO_CLIP_ERROR_NOMEM, "no output stream");
	*out = NULL;
	st = calloc(1, sizeof(*st));
	if (!st)
		return fail(msg, msg_len, AUDIO_CLIP_ERROR_NOMEM, "out of memory");
	atomic_init(&st->ready, 0);
	atomic_init(&st->done, 0);
	atomic_init(&st->cancel, 0);
	atomic_init(&st->released, 0);
	atomic_init(&st->need, 0);
	if (pthread_mutex_init(&st->mu, NULL)) {
		free(st);
		return fail(msg, msg_len, AUDIO_CLIP_ERROR_NOMEM, "out of memory");
	}
	if (pthread_cond_init(&st->cv, NULL)) {
		pthread_mutex_destroy(&st->mu);
		free(st);
		return fail(msg, msg_len, AUDIO_CLIP_ERROR_NOMEM, "out of memory");
	}
	st->s.fd = -1;

	err = source_open(path, &st->s, msg, msg_len);
	if (err)
		goto error;
	if (st->s.frames <= 0 ||
	    (st->s.info.format & SF_FORMAT_TYPEMASK) == SF_FORMAT_MPEG ||
	    (double)st->s.frames > INITIAL_CAP_S * st->s.info.samplerate) {
		/* the length is not known for sure: decode it all now */
		source_close(&st->s);
		err = audio_clip_load(path, 0, &st->clip, progress, user, msg, msg_len);
		if (err)
			goto error;
		atomic_store(&st->ready, st->clip->frames);
		atomic_store(&st->done, 1);
		*out = st;
		return AUDIO_CLIP_OK;
	}

	c = calloc(1, sizeof(*c));
	if (!c)
		goto nomem;
	c->path = dup_str(path);
	/* a ring only where it is smaller than the clip */
	st->ring = ring > 0 && ring < st->s.frames ? ring : 0;
	c->data = malloc((size_t)(st->ring ? st->ring : st->s.frames) * 2 * sizeof(float));
	if (!c->path || !c->data)
		goto nomem;
	set_path(c);
	c->frames = st->s.frames;
	c->rate = st->s.info.samplerate;
	c->file_rate = st->s.info.samplerate;
	c->file_channels = st->s.info.channels;
	c->file_frames = st->s.frames;
	format_name(st->s.info.format, c->format, sizeof(c->format));
	st->clip = c;
	if (pthread_create(&st->th, NULL, stream_main, st)) {
		/* no thread: decode here */
		stream_main(st);
	} else {
		st->threaded = true;
	}
	*out = st;
	return AUDIO_CLIP_OK;

nomem:
	err = fail(msg, msg_len, AUDIO_CLIP_ERROR_NOMEM, "out of memory");
	if (c) {
		free(c->data);
		free(c->path);
		free(c);
	}
error:
	source_close(&st->s);
	pthread_cond_destroy(&st->cv);
	pthread_mutex_destroy(&st->mu);
	free(st);
	return err;
}

const struct audio_clip *audio_clip_stream_clip(const struct audio_clip_stream *st)
{
	return st ? st->clip : NULL;
}

int64_t audio_clip_stream_ring(const struct audio_clip_stream *st)
{
	return st ? st->ring : 0;
}

/* See stream_room(): `released` stored, then `need` read. */
void audio_clip_stream_release(struct audio_clip_stream *st, int64_t frames)
{
	int64_t need;

	if (!st || !st->ring || frames <= atomic_load_explicit(&st->released,
								memory_order_relaxed))
		return;
	atomic_store(&st->released, frames);
	need = atomic_load(&st->need);
	if (need && frames + st->ring >= need) {
		pthread_mutex_lock(&st->mu);
		pthread_cond_broadcast(&st->cv);
		pthread_mutex_unlock(&st->mu);
	}
}

int64_t audio_clip_stream_wait(struct audio_clip_stream *st, int64_t frames)
{
	int64_t r = atomic_load_explicit(&st->ready, memory_order_acquire);

	if (r >= frames)
		return r;
	pthread_mutex_lock(&st->mu);
	while ((r = atomic_load_explicit(&st->ready, memory_order_acquire)) < frames &&
	       !atomic_load_explicit(&st->done, memory_order_acquire)) {
		st->waiting = 1;
		pthread_cond_wait(&st->cv, &st->mu);
	}
	st->waiting = 0;
	pthread_mutex_unlock(&st->mu);
	/* an ending that fell short is an error even where frames were
	 * read: the clip is not what the header promised */
	if (atomic_load_explicit(&st->done, memory_order_acquire) && st->err)
		return -1;
	return r;
}

int audio_clip_stream_finish(struct audio_clip_stream *st, char *msg, size_t msg_len)
{
	if (msg && msg_len)
		msg[0] = '\0';
	if (!st)
		return AUDIO_CLIP_OK;
	if (st->threaded) {
		pthread_join(st->th, NULL);
		st->threaded = false;
	}
	if (st->err)
		fail(msg, msg_len, st->err, "%s", st->msg);
	return st->err;
}

void audio_clip_stream_free(struct audio_clip_stream **stp)
{
	struct audio_clip_stream *st;

	if (!stp || !*stp)
		return;
	st = *stp;
	atomic_store(&st->cancel, 1);
	/* wake the thread if it waits for the reader (stream_room()) */
	pthread_mutex_lock(&st->mu);
	pthread_cond_broadcast(&st->cv);
	pthread_mutex_unlock(&st->mu);
	if (st->threaded)
		pthread_join(st->th, NULL);
	source_close(&st->s);
	audio_clip_free(&st->clip);
	pthread_cond_destroy(&st->cv);
	pthread_mutex_destroy(&st->mu);
	free(st);
	*stp = NULL;
}

struct audio_clip *audio_clip_from_frames(const char *name, const float *lr, int64_t frames,
                                          double rate)
{
	struct audio_clip *c;
	size_t n;

	if (frames < 0 || (uint64_t)frames > SIZE_MAX / (2 * sizeof(float)) - 1)
		return NULL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	n = (size_t)(frames ? frames : 1) * 2;
	c->data = malloc(n * sizeof(float));
	c->path = dup_str(name ? name : "generated");
	if (!c->data || !c->path) {
		free(c->data);
		free(c->path);
		free(c);
		return NULL;
	}
	if (frames && lr)
		memcpy(c->data, lr, (size_t)frames * 2 * sizeof(float));
	else
		memset(c->data, 0, n * sizeof(float));
	set_path(c);
	c->frames = frames;
	c->rate = rate;
	c->file_rate = (int)lrint(rate);
	c->file_channels = 2;
	c->file_frames = frames;
	snprintf(c->format, sizeof(c->format), "generated");
	return c;
}

void audio_clip_free(struct audio_clip **c)
{
	if (!c || !*c)
		return;
	free((*c)->data);
	free((*c)->path);
	free(*c);
	*c = NULL;
}

void audio_thread_background(void)
{
#ifdef SYS_gettid
	/* per thread on Linux: setpriority() on a thread id */
	setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 10);
#endif
}

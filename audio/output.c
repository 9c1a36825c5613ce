/*
 * termaster — output drivers (see output.h).
 *
 * The PortAudio callback does nothing but call audio_engine_process() and
 * count xruns from statusFlags (STYLE.md §3.1, §3.7).  PortAudio host APIs
 * (ALSA above all) print diagnostics on stderr while they probe; that
 * would scribble over the ncurses screen, so stderr is pointed at /dev/null
 * around initialisation and opening unless TERMASTER_DEBUG is set.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <portaudio.h>

#include "audio/engine.h"
#include "audio/output.h"

struct audio_output {
	struct audio_engine *engine;
	PaStream *stream;          /* NULL for the null driver */
	pthread_t thread;
	bool thread_running;
	atomic_bool stop;
	double rate;
	unsigned block;
	double latency_s;
	char desc[256];
};

static int pa_users;

static int quiet_begin(void)
{
	int saved, devnull;

	if (getenv("TERMASTER_DEBUG"))
		return -1;
	fflush(stderr);
	saved = dup(STDERR_FILENO);
	devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (saved < 0 || devnull < 0) {
		if (saved >= 0)
			close(saved);
		if (devnull >= 0)
			close(devnull);
		return -1;
	}
	dup2(devnull, STDERR_FILENO);
	close(devnull);
	return saved;
}

static void quiet_end(int saved)
{
	if (saved < 0)
		return;
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
}

static int pa_up(char *msg, size_t msg_len)
{
	PaError perr;
	int q;

	if (pa_users++ > 0)
		return 0;
	q = quiet_begin();
	perr = Pa_Initialize();
	quiet_end(q);
	if (perr != paNoError) {
		pa_users = 0;
		snprintf(msg, msg_len, "cannot start PortAudio: %s", Pa_GetErrorText(perr));
		return AUDIO_OUTPUT_ERROR_INIT;
	}
	return 0;
}

static void pa_down(void)
{
	if (pa_users > 0 && --pa_users == 0)
		Pa_Terminate();
}

static const char *host_name(const PaDeviceInfo *d)
{
	const PaHostApiInfo *h = Pa_GetHostApiInfo(d->hostApi);

	return h ? h->name : "?";
}

int audio_output_list(FILE *f, char *msg, size_t msg_len)
{
	int err = pa_up(msg, msg_len);
	PaDeviceIndex def;
	int n, shown = 0;

	if (err)
		return err;
	def = Pa_GetDefaultOutputDevice();
	n = Pa_GetDeviceCount();
	for (int i = 0; i < n; i++) {
		const PaDeviceInfo *d = Pa_GetDeviceInfo(i);

		if (!d || d->maxOutputChannels < 1)
			continue;
		fprintf(f, "%c %3d  %-40s  %-10s  %2d ch  %6.0f Hz\n", i == def ? '*' : ' ',
			i, d->name, host_name(d), d->maxOutputChannels, d->defaultSampleRate);
		shown++;
	}
	if (!shown)
		fprintf(f, "no output devices\n");
	pa_down();
	return 0;
}

static int ci_contains(const char *hay, const char *needle)
{
	size_t n = strlen(needle);

	for (; *hay; hay++) {
		size_t i;

		for (i = 0; i < n; i++)
			if (tolower((unsigned char)hay[i]) != tolower((unsigned char)needle[i]))
				break;
		if (i == n)
			return 1;
	}
	return n == 0;
}

/* Device index for a spec, or paNoDevice with msg. */
static PaDeviceIndex find_device(const char *spec, char *msg, size_t msg_len)
{
	int n = Pa_GetDeviceCount();
	char *end;
	long idx;

	if (!spec || !*spec) {
		PaDeviceIndex d = Pa_GetDefaultOutputDevice();

		if (d == paNoDevice)
			snprintf(msg, msg_len, "no default output device");
		return d;
	}
	idx = strtol(spec, &end, 10);
	if (*end == '\0') {
		const PaDeviceInfo *d = idx >= 0 && idx < n ? Pa_GetDeviceInfo((int)idx) : NULL;

		if (!d || d->maxOutputChannels < 1) {
			snprintf(msg, msg_len, "no output device with index %ld (see --list-devices)", idx);
			return paNoDevice;
		}
		return (PaDeviceIndex)idx;
	}
	for (int i = 0; i < n; i++) {
		const PaDeviceInfo *d = Pa_GetDeviceInfo(i);
		char full[512];

		if (!d || d->maxOutputChannels < 1)
			continue;
		snprintf(full, sizeof(full), "%s: %s", host_name(d), d->name);
		if (ci_contains(full, spec))
			return i;
	}
	snprintf(msg, msg_len, "no output device matches '%s' (see --list-devices)", spec);
	return paNoDevice;
}

static void stream_params(PaStreamParameters *p, PaDeviceIndex dev)
{
	const PaDeviceInfo *d = Pa_GetDeviceInfo(dev);

	memset(p, 0, sizeof(*p));
	p->device = dev;
	p->channelCount = 2;
	p->sampleFormat = paFloat32;
	p->suggestedLatency = d ? d->defaultLowOutputLatency : 0.05;
}

static double nearest_rate(PaDeviceIndex dev, double want)
{
	static const double rates[] = {
		8000, 11025, 16000, 22050, 32000, 44100, 48000, 88200, 96000,
		176400, 192000, 352800, 384000,
	};
	PaStreamParameters p;
	double best = 0;

	stream_params(&p, dev);
	if (Pa_IsFormatSupported(NULL, &p, want) == paFormatIsSupported)
		return want;
	for (size_t i = 0; i < sizeof(rates) / sizeof(rates[0]); i++) {
		if (Pa_IsFormatSupported(NULL, &p, rates[i]) != paFormatIsSupported)
			continue;
		/* nearest; on a tie, the higher rate (no band-limiting) */
		if (best == 0 || fabs(rates[i] - want) < fabs(best - want) ||
		    (fabs(rates[i] - want) == fabs(best - want) && rates[i] > best))
			best = rates[i];
	}
	return best;
}

int audio_output_probe(const char *device, double want, double *rate,
		       char *msg, size_t msg_len)
{
	int err = pa_up(msg, msg_len);
	PaDeviceIndex dev;
	int q;

	if (err)
		return err;
	q = quiet_begin();
	dev = find_device(device, msg, msg_len);
	if (dev == paNoDevice) {
		quiet_end(q);
		pa_down();
		return AUDIO_OUTPUT_ERROR_NODEV;
	}
	*rate = nearest_rate(dev, want);
	quiet_end(q);
	pa_down();
	if (*rate <= 0) {
		snprintf(msg, msg_len, "the output device runs none of the usual sample rates");
		return AUDIO_OUTPUT_ERROR_RATE;
	}
	return 0;
}

static int pa_callback(const void *in, void *out, unsigned long frames,
		       const PaStreamCallbackTimeInfo *ti,
		       PaStreamCallbackFlags status, void *user)
{
	struct audio_output *o = user;

	(void)in;
	(void)ti;
	if (status & (paOutputUnderflow | paOutputOverflow))
		audio_engine_count_xrun(o->engine);
	audio_engine_process(o->engine, out, (unsigned)frames);
	return paContinue;
}

struct audio_output *audio_output_open(struct audio_engine *e, const char *device,
				       double rate, unsigned buffer_frames,
				       int *err, char *msg, size_t msg_len)
{
	struct audio_output *o;
	PaStreamParameters p;
	PaDeviceIndex dev;
	const PaStreamInfo *si;
	PaError perr;
	int q;

	*err = pa_up(msg, msg_len);
	if (*err)
		return NULL;
	o = calloc(1, sizeof(*o));
	if (!o) {
		*err = AUDIO_OUTPUT_ERROR_NOMEM;
		pa_down();
		return NULL;
	}
	o->engine = e;
	o->rate = rate;
	q = quiet_begin();
	dev = find_device(device, msg, msg_len);
	if (dev == paNoDevice) {
		quiet_end(q);
		*err = AUDIO_OUTPUT_ERROR_NODEV;
		goto error;
	}
	stream_params(&p, dev);
	if (buffer_frames)
		p.suggestedLatency = (double)buffer_frames / rate;
	perr = Pa_OpenStream(&o->stream, NULL, &p, rate,
			     buffer_frames ? buffer_frames : paFramesPerBufferUnspecified,
			     paNoFlag, pa_callback, o);
	if (perr == paNoError) {
		perr = Pa_StartStream(o->stream);
		if (perr != paNoError) {
			Pa_CloseStream(o->stream);
			o->stream = NULL;
		}
	} else {
		o->stream = NULL;
	}
	quiet_end(q);
	if (perr != paNoError) {
		const PaDeviceInfo *d = Pa_GetDeviceInfo(dev);

		snprintf(msg, msg_len, "cannot open %s at %.0f Hz: %s", d ? d->name : "device",
			 rate, Pa_GetErrorText(perr));
		*err = AUDIO_OUTPUT_ERROR_OPEN;
		goto error;
	}
	si = Pa_GetStreamInfo(o->stream);
	o->latency_s = si ? si->outputLatency : 0;
	{
		const PaDeviceInfo *d = Pa_GetDeviceInfo(dev);

		snprintf(o->desc, sizeof(o->desc), "%s: %s, %.0f Hz, %.1f ms", host_name(d),
			 d->name, rate, o->latency_s * 1000.0);
	}
	*err = 0;
	return o;
error:
	free(o);
	pa_down();
	return NULL;
}

static void *null_thread(void *arg)
{
	struct audio_output *o = arg;
	float *buf = calloc((size_t)o->block * 2, sizeof(float));
	struct timespec next;
	long period_ns = (long)((double)o->block * 1e9 / o->rate);

	if (!buf)
		return NULL;
	clock_gettime(CLOCK_MONOTONIC, &next);
	while (!atomic_load(&o->stop)) {
		audio_engine_process(o->engine, buf, o->block);
		next.tv_nsec += period_ns;
		while (next.tv_nsec >= 1000000000L) {
			next.tv_nsec -= 1000000000L;
			next.tv_sec++;
		}
		while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL) == EINTR)
			;
	}
	free(buf);
	return NULL;
}

struct audio_output *audio_output_open_null(struct audio_engine *e, double rate,
					    unsigned buffer_frames, int *err)
{
	struct audio_output *o = calloc(1, sizeof(*o));

	if (!o) {
		*err = AUDIO_OUTPUT_ERROR_NOMEM;
		return NULL;
	}
	o->engine = e;
	o->rate = rate;
	o->block = buffer_frames ? buffer_frames : 512;
	atomic_init(&o->stop, false);
	snprintf(o->desc, sizeof(o->desc), "null output (no audio device), %.0f Hz", rate);
	if (pthread_create(&o->thread, NULL, null_thread, o)) {
		free(o);
		*err = AUDIO_OUTPUT_ERROR_NOMEM;
		return NULL;
	}
	o->thread_running = true;
	*err = 0;
	return o;
}

void audio_output_close(struct audio_output **op)
{
	struct audio_output *o = op ? *op : NULL;

	if (!o)
		return;
	if (o->stream) {
		int q = quiet_begin();

		Pa_StopStream(o->stream);
		Pa_CloseStream(o->stream);
		quiet_end(q);
		pa_down();
	}
	if (o->thread_running) {
		atomic_store(&o->stop, true);
		pthread_join(o->thread, NULL);
	}
	free(o);
	*op = NULL;
}

const char *audio_output_describe(const struct audio_output *o)
{
	return o ? o->desc : "no output";
}

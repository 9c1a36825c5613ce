/*
 * termaster — output drivers: PortAudio, or a null driver (no device).
 *
 * Both call audio_engine_process() from their own thread; the null driver
 * paces itself in real time so that headless `wait` and the screen behave
 * as with a device.  Not RT (open/close run on the control thread).
 */
#ifndef TM_AUDIO_OUTPUT_H
#define TM_AUDIO_OUTPUT_H

#include <stdio.h>

struct audio_engine;

enum audio_output_error {
	AUDIO_OUTPUT_OK = 0,
	AUDIO_OUTPUT_ERROR_INIT,     /* Pa_Initialize failed */
	AUDIO_OUTPUT_ERROR_NODEV,    /* no such device / no output device */
	AUDIO_OUTPUT_ERROR_RATE,     /* the device runs no usable rate */
	AUDIO_OUTPUT_ERROR_OPEN,     /* Pa_OpenStream/StartStream failed */
	AUDIO_OUTPUT_ERROR_NOMEM,
};

/* Print every output device, one a line: index, name, host API, channels,
 * default rate.  Returns 0 or AUDIO_OUTPUT_ERROR_INIT with msg. */
int audio_output_list(FILE *f, char *msg, size_t msg_len);

/* Find the device (NULL or "" = default; a decimal index; or a substring of
 * its name) and the rate it can run closest to `want`.  *rate gets that rate
 * (== want when supported).  Returns 0 or an error with msg. */
int audio_output_probe(const char *device, double want, double *rate,
		       char *msg, size_t msg_len);

struct audio_output;

/* Opens and starts a stereo float32 stream at `rate` calling the engine.
 * buffer_frames 0 = the host's low-latency default. */
struct audio_output *audio_output_open(struct audio_engine *e, const char *device,
				       double rate, unsigned buffer_frames,
				       int *err, char *msg, size_t msg_len);
/* A driver with no device, paced in real time. */
struct audio_output *audio_output_open_null(struct audio_engine *e, double rate,
					    unsigned buffer_frames, int *err);
/* Stops the stream/thread and frees; sets *o to NULL. */
void audio_output_close(struct audio_output **o);
/* "ALSA: default", "null (no audio device)" … */
const char *audio_output_describe(const struct audio_output *o);

#endif

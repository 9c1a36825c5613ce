/*
 * termaster — live meters fed from the engine's tap ring on the UI thread.
 *
 * Momentary (400 ms) and short-term (3 s) loudness, true peak (4×
 * oversampled, held), and L/R correlation over the last ~300 ms.  Not
 * RT-safe (uses libebur128); call from the UI thread.
 */
#ifndef TM_REFS_METER_H
#define TM_REFS_METER_H

#include <stddef.h>

struct refs_meter;

struct refs_meter_values {
	double momentary_lufs;     /* -HUGE_VAL while silent */
	double shortterm_lufs;
	double true_peak_dbtp;     /* max since the last refs_meter_reset_peak() */
	double true_peak_now_dbtp; /* max over the last ~300 ms (peak hold decay) */
	double correlation;        /* -1 … +1, 0 while silent */
};

/* NULL with *err = REFS_LOUDNESS_ERROR_NOMEM or _EBUR128 on failure. */
struct refs_meter *refs_meter_new(double rate, int *err);
void refs_meter_free(struct refs_meter **m);
/* Feed interleaved stereo frames in any block sizes. */
void refs_meter_add(struct refs_meter *m, const float *lr, size_t frames);
void refs_meter_get(const struct refs_meter *m, struct refs_meter_values *v);
void refs_meter_reset_peak(struct refs_meter *m);
/* Forget all history (after a seek or source change, if the UI wants). */
void refs_meter_reset(struct refs_meter *m);

#endif

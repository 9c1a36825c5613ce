/*
 * termaster — the processor contract.
 *
 * A processor is a const table of functions (SoX sox_effect_handler_t, the
 * LV2 descriptor of x42 plugins) plus private state whose size the chain
 * allocates.  Every processor works in place on two planar channels.
 *
 * Realtime rules for everything marked RT-safe: no allocation, no locks, no
 * I/O.  Parameter changes are stored as targets by set_param and smoothed
 * inside process; nothing ever steps.
 */
#ifndef TM_CHAIN_PROCESSOR_H
#define TM_CHAIN_PROCESSOR_H

#include <stddef.h>

#define CHAIN_CHANNELS 2

/* Largest sub-block over which a processor may hold a parameter constant
 * (STYLE.md §3.3).  Processors interpolate per sub-block of at most this. */
#define CHAIN_SUBBLOCK 32

/* One parameter as declared by its processor.  `id` is local to the
 * processor ("ceiling_dbtp"); the chain exposes "limiter.ceiling_dbtp". */
struct chain_param {
	const char *id;
	const char *name;
	const char *unit;  /* "dB", "dBTP", "ms", "" … */
	float min;
	float max;
	float def;
	float step;        /* the UI's fine step; coarse is 10× */
	/* NULL, or names for the integer values min … max of a choice
	 * ("bell", "low shelf" …): shown by the UI, accepted as values by
	 * chain_settings_set() and written by sessions */
	const char *const *choices;
};

struct chain_proc;

/* Whether a processor can be switched off, and how it starts (chain.c adds
 * a parameter "<name>.on" for it and crossfades every switch). */
enum chain_bypass {
	CHAIN_BYPASS_NONE = 0,   /* always on (input gain) */
	CHAIN_BYPASS_ON,         /* has "<name>.on", on by default */
	CHAIN_BYPASS_OFF,        /* has "<name>.on", off by default */
};

struct chain_proc_ops {
	const char *name;        /* prefix of its parameter ids: "gain", "limiter" */
	const char *label;       /* shown on screen: "Input gain" */
	enum chain_bypass bypass;
	/* Time constant (chain/smooth.h) of its slowest parameter glide, in
	 * ms: whoever must follow the audible effect of a change (the match
	 * gain on a snapshot recall) glides with it. */
	double glide_ms;
	size_t priv_size;
	const struct chain_param *params;
	unsigned n_params;
	/* May allocate.  Called once; parameters are then set with
	 * set_param(…, snap = 1) before the first process().  Returns 0 or
	 * CHAIN_ERROR_NOMEM / CHAIN_ERROR_RATE. */
	int (*init)(struct chain_proc *p, double rate, unsigned max_frames);
	/* RT-safe.  `value` is already clamped to the table.  snap != 0 sets
	 * the value at once (construction, render start); otherwise the
	 * processor glides to it inside process(). */
	void (*set_param)(struct chain_proc *p, unsigned id, float value, int snap);
	/* RT-safe.  In place, n <= max_frames, buf[0] left, buf[1] right. */
	void (*process)(struct chain_proc *p, float *const *buf, unsigned n);
	/* RT-safe.  Clear signal state (delay lines, envelopes), keep
	 * parameters, free nothing (libsamplerate src_reset). */
	void (*reset)(struct chain_proc *p);
	/* Delay in frames that process() adds (lookahead); constant after init. */
	unsigned (*latency)(const struct chain_proc *p);
	/* Optional, RT-safe: the largest gain reduction applied during the
	 * last process() call, in dB (>= 0).  NULL when not applicable. */
	float (*gain_reduction_db)(const struct chain_proc *p);
	/* Optional, RT-safe: further meters (a multiband's gain reduction
	 * per band, in dB >= 0), each over the last process() call.
	 * meter_names[i] labels meter i ("band 1 GR"). */
	unsigned n_meters;
	const char *const *meter_names;
	float (*meter)(const struct chain_proc *p, unsigned which);
	/* May free.  Frees what init allocated, not priv itself. */
	void (*destroy)(struct chain_proc *p);
};

struct chain_proc {
	const struct chain_proc_ops *ops;
	void *priv;  /* priv_size bytes, zeroed, owned by the chain */
	double rate;
	unsigned max_frames;
};

/* For processors: non-finite samples of l and r [0 … n) replaced by 0.
 * The test is on the exponent bits, four samples at a time without a
 * branch per sample; a block with none (the rule) is only read. */
void chain_clear_nonfinite(float *l, float *r, unsigned n);

#endif

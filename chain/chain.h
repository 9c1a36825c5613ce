/*
 * termaster — the mastering chain and its parameter table.
 *
 * The chain runs its processors in a fixed order on the mix only.  Live
 * playback (audio/engine.c) and offline render (audio/render.c) both build a
 * chain from the same `struct chain_settings` and call the same
 * chain_process(), so the same settings and input give the same output.
 *
 * Parameters: every processor declares a static table (chain/processor.h).
 * The chain flattens those tables into one list indexed 0..chain_param_count()-1
 * with stable ids "<processor>.<param>", e.g. "gain.gain_db",
 * "limiter.ceiling_dbtp".  That list is the single source for the screen,
 * sessions, `render --set`, headless `set` and validation.
 *
 * Errors: 0 = success, or one of enum chain_error.
 */
#ifndef TM_CHAIN_CHAIN_H
#define TM_CHAIN_CHAIN_H

#include <stddef.h>

#include "chain/processor.h"

enum chain_error {
	CHAIN_OK = 0,
	CHAIN_ERROR_NOMEM,
	CHAIN_ERROR_RATE,       /* sample rate outside 8 kHz … 384 kHz */
	CHAIN_ERROR_BLOCK,      /* max_frames is 0 */
	CHAIN_ERROR_PARAM,      /* unknown parameter id */
	CHAIN_ERROR_VALUE,      /* not a number */
	CHAIN_ERROR_RANGE,      /* outside the table's min … max */
};

const char *chain_strerror(int err);

/* Upper bound on the flattened parameter count (compile-time check in
 * chain.c). */
#define CHAIN_PARAM_MAX 256

/* Processors in chain order, as an X-macro list (SoX effects.h). */
#define CHAIN_PROCESSORS(X) \
	X(gain)             \
	X(eq)               \
	X(comp)             \
	X(mb)               \
	X(sat)              \
	X(stereo)           \
	X(limiter)

#define CHAIN_DECLARE_OPS(name) extern const struct chain_proc_ops chain_##name##_ops;
CHAIN_PROCESSORS(CHAIN_DECLARE_OPS)
#undef CHAIN_DECLARE_OPS

/* ---- the parameter table (static, thread-safe, no chain needed) ---- */

/* `local` of the "<proc>.on" switch that the chain adds for processors
 * with a bypass (chain/processor.h): it is the chain's, not the
 * processor's.  Switching crossfades over CHAIN_BYPASS_MS. */
#define CHAIN_LOCAL_ON 0xffffffffu
#define CHAIN_BYPASS_MS 10.0

struct chain_param_info {
	char id[48];                   /* "limiter.ceiling_dbtp" */
	unsigned proc;                 /* index of the processor in chain order */
	unsigned local;                /* index in the processor's own table,
					* or CHAIN_LOCAL_ON */
	const struct chain_param *param;
};

unsigned chain_proc_count(void);
const struct chain_proc_ops *chain_proc_ops_at(unsigned proc);
unsigned chain_param_count(void);
/* NULL when idx >= chain_param_count(). */
const struct chain_param_info *chain_param_at(unsigned idx);
/* Index of a full id, or -1 when there is none. */
int chain_param_find(const char *id);
/* Name of a choice parameter's value ("bell"), or NULL for numeric
 * parameters and values outside the choices. */
const char *chain_param_choice(unsigned idx, float value);
/* The value clamped to the parameter's min … max (NaN gives the default). */
float chain_param_clamp(unsigned idx, float value);

/* A full set of parameter values: what a session stores and what a render or
 * a background analysis is made from.  Plain data; copy it freely. */
struct chain_settings {
	float value[CHAIN_PARAM_MAX];
};

void chain_settings_default(struct chain_settings *s);
/* Parse "VALUE" for parameter `id` and store it.  Returns 0,
 * CHAIN_ERROR_PARAM, CHAIN_ERROR_VALUE or CHAIN_ERROR_RANGE; on error writes
 * a one-line reason to msg (e.g. "limiter.ceiling_dbtp: 3 is out of range
 * -20 … 0 dBTP"). */
int chain_settings_set(struct chain_settings *s, const char *id,
		       const char *value, char *msg, size_t msg_len);
/* Parse "ID=VALUE" (the `render --set` form). Same returns. */
int chain_settings_assign(struct chain_settings *s, const char *assignment,
			  char *msg, size_t msg_len);

/* ---- a chain instance ---- */

struct chain;

/* Allocates every processor for blocks of up to max_frames at `rate` and
 * snaps all parameters to `s` (NULL = defaults).  Returns NULL and sets *err
 * on failure. */
struct chain *chain_new(double rate, unsigned max_frames,
			const struct chain_settings *s, int *err);
/* Frees the chain and sets *c to NULL.  Accepts NULL and *c == NULL. */
void chain_free(struct chain **c);

/* RT-safe.  Clamps to the table and passes the target to the processor,
 * which smooths it. */
void chain_set_param(struct chain *c, unsigned idx, float value);
/* RT-safe.  Current target value of a parameter. */
float chain_get_param(const struct chain *c, unsigned idx);
/* RT-safe.  Processes n <= max_frames frames in place, buf[0] left,
 * buf[1] right. */
void chain_process(struct chain *c, float *const *buf, unsigned n);
/* RT-safe.  chain_process() for the processors first … end - 1 only (in
 * chain order, indices of chain_proc_ops_at(); end <= chain_proc_count()):
 * chain_process(c, buf, n) gives, bit for bit, what
 * chain_process_range(c, buf, n, 0, k) and then (c, buf, n, k,
 * chain_proc_count()) give, for any k, as each processor works through the
 * whole block before the next starts.  chain_gain_reduction_db() then
 * holds the range's processors' figures (the others keep theirs).  Two
 * calls whose ranges share no processor may run at the same time on two
 * threads (on different blocks: a pipeline, audio/render.c), as long as
 * nothing else uses the chain meanwhile. */
void chain_process_range(struct chain *c, float *const *buf, unsigned n,
			 unsigned first, unsigned end);
/* RT-safe.  Clears all signal state, keeps parameters. */
void chain_reset(struct chain *c);
/* Total delay in frames added by the chain (sum of processor latencies). */
unsigned chain_latency(const struct chain *c);
/* RT-safe.  Gain reduction in dB of processor `proc` during the last
 * chain_process(), or 0 for processors that do not reduce gain. */
float chain_gain_reduction_db(const struct chain *c, unsigned proc);
/* RT-safe.  Meter `which` of processor `proc` (processor.h: n_meters,
 * meter_names) over the last chain_process(), or 0 when the processor is
 * off or has no such meter. */
float chain_meter(const struct chain *c, unsigned proc, unsigned which);
/* Index of a processor by name ("limiter"), or -1. */
int chain_proc_find(const char *name);

#endif

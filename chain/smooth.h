/*
 * termaster — parameter smoothing shared by the processors.
 *
 * A parameter never steps (STYLE.md §3.3–3.4).  Its target is stored by
 * set_param(); inside process() the value moves towards the target by a
 * one-pole step once per sub-block of CHAIN_SUBBLOCK samples and is
 * interpolated linearly across the sub-block, so the value is continuous
 * and piecewise linear.  Within `snap` of the target it lands on it exactly
 * (x42 iir_interpolate() snaps within 1e-4), so an idle smoother costs
 * nothing, never decays into denormals and leaves unity gains bit-exact.
 *
 * Sub-blocks sit on absolute sample positions (the processor's own frame
 * counter modulo CHAIN_SUBBLOCK), never on process() call boundaries: the
 * same input and parameter changes give the same output whatever the call
 * sizes.
 *
 * Usage, per sample, with `j` = frame counter % CHAIN_SUBBLOCK:
 *
 *	if (j == 0)
 *		chain_smooth_block(&s);
 *	v = chain_smooth_at(&s, j);
 *
 * Everything here is RT-safe.
 */
#ifndef TM_CHAIN_SMOOTH_H
#define TM_CHAIN_SMOOTH_H

#include <math.h>

#include "chain/processor.h"

struct chain_smooth {
	double start;   /* value at the start of the current sub-block */
	double end;     /* value at its end (reached at its last sample) */
	double target;  /* where set() asked to go */
	double coef;    /* fraction of the remaining distance per sub-block */
	double snap;    /* absolute distance under which the value lands */
};

/*
 * tau_ms: time constant of the glide in ms (63 % of a step after tau_ms);
 * rate: sample rate in Hz; snap: absolute distance to the target, in the
 * parameter's own unit, under which the value jumps onto the target.
 * The value starts at `value` with nothing to do.
 */
static inline void chain_smooth_init(struct chain_smooth *s, double rate,
				     double tau_ms, double snap, double value)
{
	double blocks = tau_ms * 1e-3 * rate / CHAIN_SUBBLOCK;

	s->coef = blocks > 0 ? 1.0 - exp(-1.0 / blocks) : 1.0;
	s->snap = snap;
	s->start = s->end = s->target = value;
}

/* New target; snap != 0 jumps there at once (construction, render start). */
static inline void chain_smooth_set(struct chain_smooth *s, double target,
				    int snap)
{
	s->target = target;
	if (snap)
		s->start = s->end = target;
}

/* Start of a sub-block: one one-pole step from where the last one ended. */
static inline void chain_smooth_block(struct chain_smooth *s)
{
	double d = s->target - s->end;

	s->start = s->end;
	if (fabs(d) <= s->snap || !isfinite(d))
		s->end = s->target;
	else
		s->end += s->coef * d;
}

/* Value at sample j (0 … CHAIN_SUBBLOCK-1) of the current sub-block: a
 * straight line from start (exclusive) to end (reached at j = last). */
static inline double chain_smooth_at(const struct chain_smooth *s, unsigned j)
{
	if (s->start == s->end)
		return s->end;
	return s->start + (s->end - s->start) * (double)(j + 1) / CHAIN_SUBBLOCK;
}

/* Nonzero when the value stays constant for this whole sub-block. */
static inline int chain_smooth_steady(const struct chain_smooth *s)
{
	return s->start == s->end;
}

#endif

/*
 * termaster — Equaliser (placeholder: passes audio through unchanged until
 * the processor lands; it declares no parameters).
 */
#include "config.h"

#include "chain/chain.h"

static int ph_init(struct chain_proc *p, double rate, unsigned max_frames)
{
	return 0;
}

static void ph_set_param(struct chain_proc *p, unsigned id, float value, int snap)
{
}

static void ph_process(struct chain_proc *p, float *const *buf, unsigned n)
{
}

static void ph_reset(struct chain_proc *p)
{
}

static unsigned ph_latency(const struct chain_proc *p)
{
	return 0;
}

const struct chain_proc_ops chain_eq_ops = {
	.name = "eq",
	.label = "Equaliser",
	.priv_size = 0,
	.params = NULL,
	.n_params = 0,
	.init = ph_init,
	.set_param = ph_set_param,
	.process = ph_process,
	.reset = ph_reset,
	.latency = ph_latency,
};

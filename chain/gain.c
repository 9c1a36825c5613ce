/*
 * termaster — input gain (the first processor of the chain).
 *
 * One parameter, gain_db, converted to a linear factor in set_param (dpl
 * set_inpgain) and glided inside process() by chain/smooth.h: a one-pole
 * step per absolute sub-block of CHAIN_SUBBLOCK samples (time constant
 * GAIN_TAU_MS), linear across the sub-block.  At unity and at rest the
 * processor leaves the samples untouched (bit-exact).
 */
#include "config.h"

#include <math.h>
#include <string.h>

#include "chain/chain.h"
#include "chain/smooth.h"

#define GAIN_TAU_MS 10.0
/* Snap distance for the linear factor: -80 dB of a full-scale signal. */
#define GAIN_SNAP 1e-4

enum { GAIN_P_GAIN_DB, GAIN_N_PARAMS };

static const struct chain_param gain_params[GAIN_N_PARAMS] = {
	[GAIN_P_GAIN_DB] = { "gain_db", "Gain", "dB", -24.0f, 24.0f, 0.0f, 0.1f },
};

struct gain_priv {
	struct chain_smooth g;  /* linear factor */
	unsigned long long pos; /* frames processed since init/reset */
};

static int gain_init(struct chain_proc *p, double rate, unsigned max_frames)
{
	struct gain_priv *s = p->priv;

	(void)max_frames;
	chain_smooth_init(&s->g, rate, GAIN_TAU_MS, GAIN_SNAP, 1.0);
	s->pos = 0;
	return CHAIN_OK;
}

static void gain_set_param(struct chain_proc *p, unsigned id, float value,
			   int snap)
{
	struct gain_priv *s = p->priv;

	if (id == GAIN_P_GAIN_DB)
		chain_smooth_set(&s->g, pow(10.0, value / 20.0), snap);
}

/* x[0 … m) *= g, four at a time: the compiler does not vectorise the
 * plain loop at -O2 (l and r may overlap, and the trip count is unknown),
 * and it ran at a dozen instructions a frame. */
typedef float gain_v4 __attribute__((vector_size(16)));

static void gain_mul(float *x, unsigned m, float g)
{
	unsigned k = 0;

	for (; k + 4 <= m; k += 4) {
		gain_v4 v;

		memcpy(&v, x + k, sizeof(v));
		v *= g;
		memcpy(x + k, &v, sizeof(v));
	}
	for (; k < m; k++)
		x[k] *= g;
}

static void gain_process(struct chain_proc *p, float *const *buf, unsigned n)
{
	struct gain_priv *s = p->priv;
	float *l = buf[0], *r = buf[1];
	unsigned long long pos = s->pos;
	unsigned i = 0;

	while (i < n) {
		unsigned j = (unsigned)(pos % CHAIN_SUBBLOCK);
		unsigned m = CHAIN_SUBBLOCK - j;

		if (m > n - i)
			m = n - i;
		if (j == 0)
			chain_smooth_block(&s->g);
		if (chain_smooth_steady(&s->g)) {
			float g = (float)s->g.end;

			if (g != 1.0f) {
				gain_mul(l + i, m, g);
				gain_mul(r + i, m, g);
			}
		} else {
			for (unsigned k = 0; k < m; k++) {
				float g = (float)chain_smooth_at(&s->g, j + k);

				l[i + k] *= g;
				r[i + k] *= g;
			}
		}
		i += m;
		pos += m;
	}
	s->pos = pos;
}

static void gain_reset(struct chain_proc *p)
{
	struct gain_priv *s = p->priv;

	/* No signal state; land on the target so a reset (seek, A/B switch)
	 * starts from the settled value. */
	chain_smooth_set(&s->g, s->g.target, 1);
	s->pos = 0;
}

static unsigned gain_latency(const struct chain_proc *p)
{
	(void)p;
	return 0;
}

static void gain_destroy(struct chain_proc *p)
{
	(void)p;
}

const struct chain_proc_ops chain_gain_ops = {
	.name = "gain",
	.glide_ms = GAIN_TAU_MS,
	.label = "Input gain",
	.priv_size = sizeof(struct gain_priv),
	.params = gain_params,
	.n_params = GAIN_N_PARAMS,
	.init = gain_init,
	.set_param = gain_set_param,
	.process = gain_process,
	.reset = gain_reset,
	.latency = gain_latency,
	.gain_reduction_db = NULL,
	.destroy = gain_destroy,
};

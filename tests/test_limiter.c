/*
 * termaster — unit test: the true-peak limiter (chain/limiter.c) and its
 * detector (chain/truepeak.c).
 *
 * The output true peak is read by two judges: measure_true_peak()
 * (tests/util.c: 32× Kaiser-windowed sinc, 128 taps per phase), an
 * accurate reconstruction independent of the limiter's code, and
 * libebur128 through refs_loudness_measure() (refs/loudness.c), the meter
 * `termaster analyze` and many tools use, which over-reads near Nyquist.
 * Signals:
 *
 *  - EBU Tech 3341 (v4, 2016) true-peak test cases 15–23, generated here
 *    from their recipes (the EBU files are not redistributable):
 *      15  fs/4 sine, 0.5 peak,  0° phase  (-6.02 dBTP, sample peak too)
 *      16  fs/4 sine, 0.5 peak, 45°        (-6.02 dBTP, samples -9.03 dBFS)
 *      17  fs/6 sine, 0.5 peak, 60°        (-6.02 dBTP)
 *      18  fs/8 sine, 0.5 peak, 67.5°      (-6.02 dBTP)
 *      19  fs/4 sine, 1.41 peak, 45°       (+3.0 dBTP, samples at 0 dBFS)
 *      20–23  0 dBTP inter-sample peaks at offsets of 0, 1, 2, 3 quarter
 *          samples; reconstructed here as band-limited pulses (20 kHz
 *          Kaiser-windowed sinc) whose continuous peak lies at that
 *          offset, ten per second.  The EBU files are made the same way
 *          but are not sample-identical to these.
 *    each at its stated level and 12 dB hotter, into a -1 dBTP ceiling;
 *  - music-like signals (gen_music) and full-band white noise (gen_noise)
 *    12 dB over full scale at 44.1, 48 and 96 kHz (libebur128 interpolates
 *    2x there), near-Nyquist bursts, music 18 dB over into -6 dBTP.
 *
 * Requirement: output true peak <= ceiling + 0.05 dB by both judges for
 * every combination of oversampling 4x/8x, lookahead 1/5/10 ms, auto
 * release off/on and link 0/100 % (test_matrix); latency() constant for an
 * instance, equal to the measured delay for each lookahead; transparency
 * below the ceiling (bit-exact); THD of a 40 Hz sine under 6 dB of
 * reduction < 1 % with auto release; stereo link; oversampling and
 * lookahead changes without a step above a derived bound; gain reduction
 * of a steady sine; release time constant; block-size invariance with
 * every parameter moving; reset; hostile input.  The detector: its
 * accuracy, its libebur128 reading bit-identical to libebur128's, and
 * chain_truepeak_push_above() identical to chain_truepeak_push() above its
 * threshold, including on the worst case of its skipping bound.
 */
#include "config.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chain/chain.h"
#include "chain/truepeak.h"
#include "refs/loudness.h"
#include "tests/util.h"

/* Asserted overshoot bound, dB (requirement 0.1, aim 0.05). */
#define LIM_TP_TOL 0.05

struct lim {
	struct chain_proc p;
	double rate;
};

/* Index of a limiter parameter by id; exits when there is none. */
static unsigned lim_pid(const char *id)
{
	const struct chain_proc_ops *ops = &chain_limiter_ops;

	for (unsigned k = 0; k < ops->n_params; k++)
		if (!strcmp(ops->params[k].id, id))
			return k;
	fprintf(stderr, "no limiter parameter %s\n", id);
	exit(99);
}

static void lim_set(struct lim *l, const char *id, float value, int snap)
{
	l->p.ops->set_param(&l->p, lim_pid(id), value, snap);
}

/* The settings the matrix varies (choices by index: oversampling 0 = 4x,
 * 1 = 8x; auto_release 0 = off, 1 = on). */
struct lim_cfg {
	float os8, lookahead_ms, auto_rel, link_pct;
};

static void lim_open(struct lim *l, double rate, float ceiling, float release)
{
	const struct chain_proc_ops *ops = &chain_limiter_ops;
	int err;

	memset(l, 0, sizeof(*l));
	l->rate = rate;
	l->p.ops = ops;
	l->p.rate = rate;
	l->p.max_frames = 4096;
	l->p.priv = calloc(1, ops->priv_size);
	if (!l->p.priv)
		exit(99);
	err = ops->init(&l->p, rate, 4096);
	if (err) {
		fprintf(stderr, "limiter init: %s\n", chain_strerror(err));
		exit(99);
	}
	for (unsigned k = 0; k < ops->n_params; k++)
		ops->set_param(&l->p, k, ops->params[k].def, 1);
	lim_set(l, "ceiling_dbtp", ceiling, 1);
	lim_set(l, "release_ms", release, 1);
}

static void lim_open_cfg(struct lim *l, double rate, float ceiling,
			 const struct lim_cfg *c)
{
	lim_open(l, rate, ceiling, 100);
	lim_set(l, "oversampling", c->os8, 1);
	lim_set(l, "lookahead_ms", c->lookahead_ms, 1);
	lim_set(l, "auto_release", c->auto_rel, 1);
	lim_set(l, "link_pct", c->link_pct, 1);
}

static void lim_close(struct lim *l)
{
	l->p.ops->destroy(&l->p);
	free(l->p.priv);
	l->p.priv = NULL;
}

/* A parameter change (gliding) at an exact frame. */
struct lim_change {
	size_t at;
	const char *id;
	float value;
};

/*
 * Runs planar L/R of `frames` through the limiter in calls of the sizes
 * in `sizes` (cycled, 0-terminated), followed by latency() frames of
 * silence, so that out[] (frames + latency) holds everything.  The
 * changes (n_ch of them, in order of frame) are made exactly at their
 * frames (calls are cut there).  Returns the largest reported GR.
 */
static float lim_run_ch(struct lim *l, const float *inl, const float *inr,
			size_t frames, const unsigned *sizes, float *outl,
			float *outr, const struct lim_change *ch, unsigned n_ch)
{
	unsigned lat = l->p.ops->latency(&l->p);
	size_t total = frames + lat, i = 0;
	unsigned si = 0, ci = 0;
	float gr = 0;

	for (size_t k = 0; k < total; k++) {
		outl[k] = k < frames ? inl[k] : 0;
		outr[k] = k < frames ? inr[k] : 0;
	}
	while (i < total) {
		size_t m = sizes[si];
		float *b[2] = { outl + i, outr + i };

		if (!sizes[++si])
			si = 0;
		while (ci < n_ch && ch[ci].at == i) {
			lim_set(l, ch[ci].id, ch[ci].value, 0);
			ci++;
		}
		if (m > total - i)
			m = total - i;
		if (ci < n_ch && ch[ci].at > i && ch[ci].at < i + m)
			m = ch[ci].at - i;
		l->p.ops->process(&l->p, b, (unsigned)m);
		if (l->p.ops->gain_reduction_db(&l->p) > gr)
			gr = l->p.ops->gain_reduction_db(&l->p);
		i += m;
	}
	return gr;
}

/* The same with at most one change of parameter index pid. */
static float lim_run(struct lim *l, const float *inl, const float *inr,
		     size_t frames, const unsigned *sizes, float *outl,
		     float *outr, size_t change_at, unsigned pid, float pval)
{
	struct lim_change ch = { change_at, l->p.ops->params[pid].id, pval };

	return lim_run_ch(l, inl, inr, frames, sizes, outl, outr, &ch, change_at ? 1 : 0);
}

static const unsigned blk_1024[] = { 1024, 0 };

static float *fbuf(size_t n)
{
	float *b = calloc(n ? n : 1, sizeof(float));

	if (!b)
		exit(99);
	return b;
}

/* ---- signals ---- */

/* A sine at rate/div with 10 ms raised-cosine fades, so that its true
 * peak is its amplitude (an abrupt start would ring). */
static void ebu_sine(float *x, size_t n, double rate, double div, double amp,
		     double phase_deg)
{
	size_t fade = (size_t)(0.01 * rate);

	for (size_t i = 0; i < n; i++) {
		double w = 1;

		if (i < fade)
			w = 0.5 - 0.5 * cos(M_PI * (double)i / fade);
		else if (n - 1 - i < fade)
			w = 0.5 - 0.5 * cos(M_PI * (double)(n - 1 - i) / fade);
		x[i] = (float)(w * amp * sin(2 * M_PI * (double)i / div + phase_deg * M_PI / 180));
	}
}

static double bessel_i0(double x)
{
	double s = 1, t = 1;

	for (int k = 1; k < 60; k++) {
		t *= (x / (2 * k)) * (x / (2 * k));
		s += t;
	}
	return s;
}

/* Band-limited pulses of continuous peak `amp` at frame 100 + j·rate/10 +
 * offset/4, j = 0, 1, …: sinc of cut-off fc_hz under a Kaiser window. */
static void ebu_pulses(float *x, size_t n, double rate, double amp,
		       unsigned offset, double fc_hz)
{
	const int half = 64;
	double f = 2 * fc_hz / rate;  /* cut-off relative to Nyquist */
	size_t period = (size_t)(rate / 10);

	memset(x, 0, n * sizeof(float));
	for (size_t c = 100; c + half < n; c += period) {
		double t0 = (double)c + offset / 4.0;

		for (int k = -half; k <= half; k++) {
			size_t idx = (size_t)((long)c + k);
			double t = (double)idx - t0;
			double s = fabs(t) < 1e-12 ? 1 : sin(M_PI * f * t) / (M_PI * f * t);
			double r = t / (half + 1);
			double w = fabs(r) < 1 ? bessel_i0(8 * sqrt(1 - r * r)) / bessel_i0(8) : 0;

			x[idx] = (float)(amp * s * w);
		}
	}
}

static void deinterleave(const float *in, float *l, float *r, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		l[i] = in[2 * i];
		r[i] = in[2 * i + 1];
	}
}

/* ---- the checks ---- */

static double tp_db(const float *x, size_t n)
{
	return lin_to_db(measure_true_peak(x, n, 1));
}

/* What libebur128 (refs/loudness.c, `termaster analyze`) reads as the true
 * peak of n interleaved stereo frames, in dBTP. */
static double ebu_tp_db_il(const float *il, size_t n, double rate)
{
	struct refs_loudness res;
	int err = refs_loudness_measure(il, (int64_t)n, 2, rate, &res, NULL, NULL);

	if (err) {
		fprintf(stderr, "libebur128: %s\n", refs_loudness_strerror(err));
		exit(99);
	}
	return res.true_peak_dbtp;
}

/* The same for planar L/R. */
static double ebu_tp_db(const float *l, const float *r, size_t n, double rate)
{
	float *il = fbuf(2 * n);
	double db;

	for (size_t i = 0; i < n; i++) {
		il[2 * i] = l[i];
		il[2 * i + 1] = r[i];
	}
	db = ebu_tp_db_il(il, n, rate);
	free(il);
	return db;
}

struct over {
	double ref;  /* by measure_true_peak (32x) */
	double ebu;  /* by libebur128 */
	double gr;   /* largest reported reduction, dB */
	uint64_t sum;  /* FNV-1a of the output's bits */
};

/* One signal through a limiter at `ceiling` with settings c: the
 * overshoot in dB (output TP - ceiling) by both judges.  Both read the
 * whole output, from the first frame on (stricter than reading it once
 * the limiter has settled): libebur128 as `termaster analyze` would, the
 * 32x reference wherever its kernel fits.  No asserts, no output: safe
 * to run on several threads. */
static struct over over_of(double rate, const float *l, const float *r,
			   size_t n, float ceiling, const struct lim_cfg *c,
			   int judge)
{
	struct lim lim;
	unsigned lat;
	float *ol, *or_;
	double out_l, out_r;
	struct over o;

	lim_open_cfg(&lim, rate, ceiling, c);
	lat = lim.p.ops->latency(&lim.p);
	ol = fbuf(n + lat);
	or_ = fbuf(n + lat);
	o.gr = lim_run(&lim, l, r, n, blk_1024, ol, or_, 0, 0, 0);
	o.sum = 14695981039346656037ull;
	for (size_t i = 0; i < 2 * (n + lat); i++) {
		uint32_t u;

		memcpy(&u, i % 2 ? &or_[i / 2] : &ol[i / 2], sizeof(u));
		o.sum = (o.sum ^ u) * 1099511628211ull;
	}
	o.ref = o.ebu = 0;
	if (judge) {
		out_l = tp_db(ol, n + lat);
		out_r = r == l ? out_l : tp_db(or_, n + lat);
		o.ref = (out_l > out_r ? out_l : out_r) - ceiling;
		o.ebu = ebu_tp_db(ol, or_, n + lat, rate) - ceiling;
	}
	free(ol);
	free(or_);
	lim_close(&lim);
	return o;
}

static const struct lim_cfg cfg_default = { 1, 5, 1, 100 };

/* over_of() at the default settings, checked and printed. */
static struct over check_tp(const char *name, double rate, const float *l,
			    const float *r, size_t n, float ceiling)
{
	struct over o = over_of(rate, l, r, n, ceiling, &cfg_default, 1);
	char msg[128];

	printf("  %-28s %6.0f Hz  in %+7.2f dBTP  GR %5.2f dB  overshoot: 32x %+.4f dB, libebur128 %+.4f dB\n",
	       name, rate, tp_db(l, n), o.gr, o.ref, o.ebu);
	snprintf(msg, sizeof(msg), "%s at %.0f Hz: output true peak over the ceiling (dB)",
		 name, rate);
	ASSERT_LE(msg, o.ref, LIM_TP_TOL);
	snprintf(msg, sizeof(msg), "%s at %.0f Hz: libebur128 reads over the ceiling (dB)",
		 name, rate);
	ASSERT_LE(msg, o.ebu, LIM_TP_TOL);
	return o;
}

/*
 * The matrix: every signal through every combination of oversampling
 * 4x/8x, lookahead 1/5/10 ms, auto release off/on and link 0/100 %, into
 * -1 dBTP, judged by both meters.  Signals:
 *  - EBU Tech 3341 cases 15–23 at their level (48 kHz, 62.5 ms each) and
 *    12 dB hotter (125 ms: the sines settle within it; one pulse each);
 *  - music (gen_music) 12 dB over full scale, 0.3 s, and white noise
 *    (gen_noise) 12 dB over full scale, 0.15 s, at 44.1, 48 and 96 kHz.
 * The 32x reference costs ~1.3 µs per sample, so the work is spread over
 * two threads; asserts and prints stay on the main thread.  The EBU
 * signals are the same on both channels, so link 0 % and 100 % must give
 * the same output, bit for bit: that is checked (by a checksum) instead of
 * judging it twice.
 */
#define MX_CFGS 24
#define MX_CASES 24

struct mx_case {
	char name[32];
	double rate;
	size_t n;
	float *l, *r;  /* r == l: the same signal on both channels */
};

struct mx {
	struct mx_case c[MX_CASES];
	unsigned n_cases;
	struct lim_cfg cfg[MX_CFGS];
	struct over res[MX_CASES][MX_CFGS];
	atomic_uint next;
};

static void *mx_worker(void *arg)
{
	struct mx *m = arg;
	unsigned t;

	while ((t = atomic_fetch_add(&m->next, 1)) < m->n_cases * MX_CFGS) {
		struct mx_case *c = &m->c[t % m->n_cases];
		unsigned k = t / m->n_cases;

		m->res[t % m->n_cases][k] = over_of(c->rate, c->l, c->r, c->n, -1.0f,
						     &m->cfg[k],
						     c->r != c->l || m->cfg[k].link_pct > 0);
	}
	return NULL;
}

static void mx_add_stereo(struct mx *m, const char *name, double rate, size_t n,
			  int noise, uint32_t seed)
{
	struct mx_case *c = &m->c[m->n_cases++];
	float *il = fbuf(2 * n);

	snprintf(c->name, sizeof(c->name), "%s", name);
	c->rate = rate;
	c->n = n;
	c->l = fbuf(n);
	c->r = fbuf(n);
	if (noise)
		gen_noise(il, n, 2, db_to_lin(12), seed);
	else
		gen_music(il, n, 2, rate, db_to_lin(12), seed);
	deinterleave(il, c->l, c->r, n);
	free(il);
}

static void test_matrix(void)
{
	static struct mx m;
	const double rates[] = { 44100, 48000, 96000 };
	const float la[] = { 1, 5, 10 };
	struct {
		int no;
		double div, amp, phase;
	} sines[] = {
		{ 15, 4, 0.5, 0 }, { 16, 4, 0.5, 45 }, { 17, 6, 0.5, 60 },
		{ 18, 8, 0.5, 67.5 }, { 19, 4, 1.41, 45 },
	};
	pthread_t th[2];
	struct over worst_cfg[MX_CFGS];
	int threads = 0;

	atomic_init(&m.next, 0);
	for (unsigned k = 0; k < MX_CFGS; k++) {
		m.cfg[k].os8 = (float)(k % 2);
		m.cfg[k].lookahead_ms = la[k / 2 % 3];
		m.cfg[k].auto_rel = (float)(k / 6 % 2);
		m.cfg[k].link_pct = k / 12 ? 100.0f : 0.0f;
		worst_cfg[k].ref = worst_cfg[k].ebu = -HUGE_VAL;
	}
	for (unsigned hot = 0; hot < 2; hot++) {
		double boost = hot ? db_to_lin(12) : 1;

		for (unsigned k = 0; k < 9; k++) {
			struct mx_case *c = &m.c[m.n_cases++];

			c->rate = 48000;
			c->n = hot ? 6000 : 3000;
			c->l = c->r = fbuf(c->n);
			if (k < 5)
				ebu_sine(c->l, c->n, c->rate, sines[k].div, sines[k].amp * boost,
					 sines[k].phase);
			else
				ebu_pulses(c->l, c->n, c->rate, boost, k - 5, 20000);
			snprintf(c->name, sizeof(c->name), "EBU case %u%s",
				 k < 5 ? (unsigned)sines[k].no : 15 + k, hot ? " +12 dB" : "");
		}
	}
	for (unsigned q = 0; q < 3; q++) {
		mx_add_stereo(&m, "music +12 dB", rates[q], (size_t)(0.3 * rates[q]), 0, 7 + q);
		mx_add_stereo(&m, "noise +12 dB", rates[q], (size_t)(0.15 * rates[q]), 1, 17 + q);
	}
	(void)tp_db(m.c[0].l, 16);  /* builds the reference's tables */
	for (int k = 0; k < 2; k++)
		if (pthread_create(&th[k], NULL, mx_worker, &m) == 0)
			threads++;
	mx_worker(&m);
	for (int k = 0; k < threads; k++)
		pthread_join(th[k], NULL);

	printf("matrix: %u signals x %d settings into -1 dBTP (os 4x/8x, lookahead 1/5/10 ms, auto release off/on, link 0/100 %%)\n",
	       m.n_cases, MX_CFGS);
	printf("  worst overshoot over the settings, per signal:\n");
	for (unsigned i = 0; i < m.n_cases; i++) {
		struct over w = { -HUGE_VAL, -HUGE_VAL, 0 };

		for (unsigned k = 0; k < MX_CFGS; k++) {
			struct over o = m.res[i][k];
			char msg[160];

			if (m.c[i].r == m.c[i].l && m.cfg[k].link_pct == 0) {
				/* the same settings linked: k + 12 */
				snprintf(msg, sizeof(msg), "%s: link 0 and 100 %% give the same output on a mono signal",
					 m.c[i].name);
				ASSERT_TRUE(msg, o.sum == m.res[i][k + 12].sum);
				o.ref = m.res[i][k + 12].ref;
				o.ebu = m.res[i][k + 12].ebu;
			}
			snprintf(msg, sizeof(msg), "%s at %.0f Hz, os %s, lookahead %.0f ms, auto %s, link %.0f: 32x overshoot (dB)",
				 m.c[i].name, m.c[i].rate, m.cfg[k].os8 ? "8x" : "4x",
				 m.cfg[k].lookahead_ms, m.cfg[k].auto_rel ? "on" : "off",
				 m.cfg[k].link_pct);
			ASSERT_LE(msg, o.ref, LIM_TP_TOL);
			snprintf(msg, sizeof(msg), "%s at %.0f Hz, os %s, lookahead %.0f ms, auto %s, link %.0f: libebur128 overshoot (dB)",
				 m.c[i].name, m.c[i].rate, m.cfg[k].os8 ? "8x" : "4x",
				 m.cfg[k].lookahead_ms, m.cfg[k].auto_rel ? "on" : "off",
				 m.cfg[k].link_pct);
			ASSERT_LE(msg, o.ebu, LIM_TP_TOL);
			w.ref = fmax(w.ref, o.ref);
			w.ebu = fmax(w.ebu, o.ebu);
			w.gr = fmax(w.gr, o.gr);
			worst_cfg[k].ref = fmax(worst_cfg[k].ref, o.ref);
			worst_cfg[k].ebu = fmax(worst_cfg[k].ebu, o.ebu);
		}
		printf("    %-22s %6.0f Hz  in %+6.2f dBTP  GR <= %5.2f dB  32x %+.4f dB  libebur128 %+.4f dB\n",
		       m.c[i].name, m.c[i].rate, tp_db(m.c[i].l, m.c[i].n), w.gr, w.ref, w.ebu);
	}
	printf("  worst overshoot over the signals, per setting:\n");
	for (unsigned k = 0; k < MX_CFGS; k++)
		printf("    os %s  lookahead %2.0f ms  auto %-3s  link %3.0f %%:  32x %+.4f dB  libebur128 %+.4f dB\n",
		       m.cfg[k].os8 ? "8x" : "4x", m.cfg[k].lookahead_ms,
		       m.cfg[k].auto_rel ? "on" : "off", m.cfg[k].link_pct,
		       worst_cfg[k].ref, worst_cfg[k].ebu);
	for (unsigned i = 0; i < m.n_cases; i++) {
		if (m.c[i].r != m.c[i].l)
			free(m.c[i].r);
		free(m.c[i].l);
	}
	/* the recipes themselves, checked with the reference meter */
	{
		size_t n = 24000;
		float *x = fbuf(n);

		ebu_sine(x, n, 48000, 4, 1.41, 45);
		ASSERT_CLOSE("case 19 signal is +3 dBTP", 3.0, tp_db(x, n), 0.05);
		ebu_pulses(x, n, 48000, 1, 2, 20000);
		ASSERT_CLOSE("case 22 signal is 0 dBTP", 0.0, tp_db(x, n), 0.02);
		free(x);
	}
}

/* Harder material at the default settings: music 18 dB over full scale
 * into -6 dBTP (more distortion products from the gain, same guarantee). */
static void test_music(void)
{
	const double rates[] = { 44100, 48000 };

	printf("music, 18 dB over full scale, into -6 dBTP (default settings):\n");
	for (unsigned k = 0; k < 2; k++) {
		double rate = rates[k];
		size_t n = (size_t)(2 * rate);
		float *il = fbuf(2 * n), *l = fbuf(n), *r = fbuf(n);

		gen_music(il, n, 2, rate, db_to_lin(18), 11);
		deinterleave(il, l, r, n);
		check_tp("music +18 dB into -6", rate, l, r, n, -6.0f);
		free(il);
		free(l);
		free(r);
	}
}

/* Content near Nyquist: where a plain 4× detector under-reads most. */
static void test_near_nyquist(void)
{
	const double rate = 44100;
	const size_t n = 22050;
	float *x = fbuf(n);

	printf("near Nyquist into -1 dBTP:\n");
	for (unsigned k = 0; k < 3; k++) {
		double f = k == 0 ? 19000 : k == 1 ? 20000 : 15000;
		char name[64];

		/* bursts of 2 ms every 50 ms with random-ish phase */
		memset(x, 0, n * sizeof(float));
		for (size_t c = 0; c + 200 < n; c += 2205) {
			double ph = 0.37 * (double)c;

			for (size_t i = 0; i < 88; i++) {
				double w = sin(M_PI * (double)i / 88);

				x[c + i] = (float)(2.0 * w * w * sin(2 * M_PI * f * (double)i / rate + ph));
			}
		}
		snprintf(name, sizeof(name), "%.0f Hz bursts +6 dB", f);
		check_tp(name, rate, x, x, n, -1.0f);
	}
	free(x);
}

/*
 * Latency: constant for an instance whatever the lookahead (1, 5, 10 ms):
 * the detector's delay + the longest attack (10 ms) + 1, and equal to the
 * delay measured (cross-correlation on a quiet signal, which passes
 * bit-exact, and the position of a limited pulse's peak).
 */
static void test_latency_and_transparency(void)
{
	const double rates[] = { 44100, 48000, 96000, 8000, 384000 };
	const float las[] = { 1, 5, 10 };
	int err;
	struct chain_truepeak *tp = chain_truepeak_new_dual(2, 8, 48000, &err);
	unsigned tpl = tp ? chain_truepeak_latency(tp) : 0;

	chain_truepeak_free(&tp);
	for (unsigned k = 0; k < sizeof(rates) / sizeof(rates[0]); k++)
		for (unsigned q = 0; q < 3; q++) {
		double rate = rates[k];
		size_t n = (size_t)(rate / 4);
		float *il = fbuf(2 * n), *l = fbuf(n), *r = fbuf(n);
		struct lim lim;
		unsigned lat, best = 0, att = (unsigned)lround(0.01 * rate);
		float *ol, *or_;
		double bestc = -1, maxd = 0;
		size_t in_pk = 0, out_pk = 0;
		float gr;
		char msg[96];

		lim_open(&lim, rate, -1.0f, 100);
		lim_set(&lim, "lookahead_ms", las[q], 1);
		lat = lim.p.ops->latency(&lim.p);
		ASSERT_INT("latency: detector + 10 ms + 1", tpl + (att < 8 ? 8 : att) + 1, lat);
		/* a low-level signal: noise, so the correlation has one peak */
		gen_noise(il, n, 2, 0.1, 42);
		deinterleave(il, l, r, n);
		ol = fbuf(n + lat);
		or_ = fbuf(n + lat);
		gr = lim_run(&lim, l, r, n, blk_1024, ol, or_, 0, 0, 0);
		ASSERT_TRUE("no gain reduction at -20 dBFS", gr == 0.0f);
		/* independent delay estimate: cross-correlation peak */
		for (unsigned d = 0; d <= 2 * lat + 10 && d < n; d++) {
			double c = 0;

			for (size_t i = 0; i + d < n + lat && i < n && i < 4096; i++)
				c += (double)l[i] * ol[i + d];
			if (c > bestc) {
				bestc = c;
				best = d;
			}
		}
		ASSERT_INT("measured delay == latency()", lat, best);
		for (size_t i = 0; i < n; i++) {
			double d1 = fabs((double)ol[i + lat] - l[i]);
			double d2 = fabs((double)or_[i + lat] - r[i]);

			if (d1 > maxd)
				maxd = d1;
			if (d2 > maxd)
				maxd = d2;
		}
		for (size_t i = 0; i < lat; i++)
			if (fabs(ol[i]) > maxd)
				maxd = fabs(ol[i]);
		ASSERT_LE("below the ceiling: output == input delayed", maxd, 1e-6);
		ASSERT_TRUE("below the ceiling: bit-exact", maxd == 0);
		/* a pulse 6 dB over the ceiling: limited, its peak delayed by
		 * the same latency */
		memset(l, 0, n * sizeof(float));
		l[n / 2] = 2.0f;
		lim.p.ops->reset(&lim.p);
		gr = lim_run(&lim, l, l, n, blk_1024, ol, or_, 0, 0, 0);
		for (size_t i = 0; i < n + lat; i++)
			if (fabsf(ol[i]) > fabsf(ol[out_pk]))
				out_pk = i;
		in_pk = n / 2;
		snprintf(msg, sizeof(msg), "the pulse is limited at %.0f Hz, lookahead %.0f ms (dB)", rate, las[q]);
		ASSERT_GE(msg, gr, 6.0);
		ASSERT_INT("limited pulse delayed by latency()", in_pk + lat, out_pk);
		ASSERT_INT("latency unchanged after use", lat, lim.p.ops->latency(&lim.p));
		printf("latency at %6.0f Hz, lookahead %2.0f ms: %u frames (measured %u; limited pulse %zu), max |out - in| %.3g\n",
		       rate, las[q], lat, best, out_pk - in_pk, maxd);
		free(il);
		free(l);
		free(r);
		free(ol);
		free(or_);
		lim_close(&lim);
	}

	/* music peaking at -3 dBTP into -1: untouched */
	{
		const double rate = 48000;
		size_t n = 96000;
		float *il = fbuf(2 * n), *l = fbuf(n), *r = fbuf(n);
		struct lim lim;
		unsigned lat;
		float *ol, *or_;
		double maxd = 0, peak;

		gen_music(il, n, 2, rate, 1.0, 3);
		deinterleave(il, l, r, n);
		peak = tp_db(l, n) > tp_db(r, n) ? tp_db(l, n) : tp_db(r, n);
		for (size_t i = 0; i < n; i++) {
			l[i] = (float)(l[i] * db_to_lin(-3 - peak));
			r[i] = (float)(r[i] * db_to_lin(-3 - peak));
		}
		lim_open(&lim, rate, -1.0f, 100);
		lat = lim.p.ops->latency(&lim.p);
		ol = fbuf(n + lat);
		or_ = fbuf(n + lat);
		lim_run(&lim, l, r, n, blk_1024, ol, or_, 0, 0, 0);
		for (size_t i = 0; i < n; i++) {
			if (fabs((double)ol[i + lat] - l[i]) > maxd)
				maxd = fabs((double)ol[i + lat] - l[i]);
			if (fabs((double)or_[i + lat] - r[i]) > maxd)
				maxd = fabs((double)or_[i + lat] - r[i]);
		}
		ASSERT_LE("music at -3 dBTP passes unchanged", maxd, 1e-6);
		free(il);
		free(l);
		free(r);
		free(ol);
		free(or_);
		lim_close(&lim);
	}
}

/* A 1 kHz sine at 0 dBFS into -6 dBTP: 6 dB of reduction once settled. */
static void test_gain_reduction(void)
{
	const double rate = 48000;
	const size_t n = 48000;
	float *x = fbuf(n);
	struct lim lim;
	float *ol, *or_;
	unsigned lat;
	float gr = 0;
	double amp;

	gen_sine(x, n, 1, rate, 1000, 1.0, 0.1);
	lim_open(&lim, rate, -6.0f, 100);
	lat = lim.p.ops->latency(&lim.p);
	ol = fbuf(n + lat);
	or_ = fbuf(n + lat);
	for (size_t k = 0; k < n; k++)
		ol[k] = or_[k] = x[k];
	for (size_t i = 0; i < n; i += 480) {
		float *b[2] = { ol + i, or_ + i };

		lim.p.ops->process(&lim.p, b, 480);
		gr = lim.p.ops->gain_reduction_db(&lim.p);
	}
	ASSERT_CLOSE("GR of a 0 dBFS sine into -6 dBTP (dB)", 6.0, gr, 0.2);
	amp = measure_sine_amp(ol + n / 2, n / 2, 1, rate, 1000);
	ASSERT_CLOSE("settled output level (dB)", -6.0, lin_to_db(amp), 0.1);
	printf("GR of a 1 kHz 0 dBFS sine into -6 dBTP: %.3f dB, output %.3f dBFS\n",
	       gr, lin_to_db(amp));
	free(x);
	free(ol);
	free(or_);
	lim_close(&lim);
}

/* After the loud part, GR in dB decays as exp(-t / release). */
static void test_release(void)
{
	const double rate = 48000;
	const float rels[] = { 50, 100, 300 };

	for (unsigned k = 0; k < 3; k++) {
		size_t loud = 24000, n = loud + (size_t)(rate * rels[k] / 1000 * 18);
		float *l = fbuf(n), *r = fbuf(n);
		struct lim lim;
		double t1 = -1, t2 = -1, gr0 = 0;
		float gr = 0;

		gen_sine(l, n, 1, rate, 1000, 1.0, 0);
		for (size_t i = loud; i < n; i++)
			l[i] *= 0.1f;  /* -20 dBFS: below any reduction */
		memcpy(r, l, n * sizeof(float));
		lim_open(&lim, rate, -6.0f, rels[k]);
		for (size_t i = 0; i < n; i += 48) {
			float *b[2] = { l + i, r + i };
			double t = (double)(i + 48) / rate;

			lim.p.ops->process(&lim.p, b, 48);
			gr = lim.p.ops->gain_reduction_db(&lim.p);
			if (i + 48 == loud)
				gr0 = gr;
			if (i >= loud && t1 < 0 && gr < gr0 * exp(-1))
				t1 = t;
			if (i >= loud && t2 < 0 && gr < gr0 * exp(-2))
				t2 = t;
		}
		printf("release %4.0f ms: GR %.2f dB falls 1/e → 1/e² in %.1f ms\n",
		       rels[k], gr0, (t2 - t1) * 1000);
		ASSERT_TRUE("GR fell to 1/e²", t1 > 0 && t2 > 0);
		ASSERT_CLOSE("release time constant (ms)", rels[k], (t2 - t1) * 1000,
			     0.1 * rels[k]);
		ASSERT_TRUE("GR back to exactly 0", gr == 0.0f);
		free(l);
		free(r);
		lim_close(&lim);
	}
}

/* Amplitude of freq_hz in x[0 … n) by correlation; n must hold whole
 * periods of freq_hz (then the harmonics of one tone are orthogonal). */
static double harm_amp(const float *x, size_t n, double rate, double freq_hz)
{
	double sc = 0, cc = 0;

	for (size_t i = 0; i < n; i++) {
		double w = 2 * M_PI * freq_hz * (double)i / rate;

		sc += x[i] * sin(w);
		cc += x[i] * cos(w);
	}
	return 2.0 * sqrt(sc * sc + cc * cc) / (double)n;
}

/*
 * Waveform-following distortion on bass: a 40 Hz sine 6 dB over a -1 dBTP
 * ceiling, default release (100 ms).  THD from the output's harmonics 80,
 * 120, … 2000 Hz by sine correlation over 0.5 s (20 periods) after 1.5 s
 * of settling.  Auto release must keep it under 1 %; without it the gain
 * recovers between the peaks 80 times a second and modulates the tone.
 */
static double thd_40hz(int auto_on, double *gr, double *level_db)
{
	const double rate = 48000, f0 = 40;
	const size_t n = 96000, from = 72000, len = 24000;
	float *l = fbuf(n), *ol, *or_;
	struct lim lim;
	unsigned lat;
	double h1, sum = 0;

	gen_sine(l, n, 1, rate, f0, db_to_lin(-1 + 6), 0);
	lim_open(&lim, rate, -1.0f, 100);
	lim_set(&lim, "auto_release", auto_on ? 1.0f : 0.0f, 1);
	lat = lim.p.ops->latency(&lim.p);
	ol = fbuf(n + lat);
	or_ = fbuf(n + lat);
	*gr = lim_run(&lim, l, l, n, blk_1024, ol, or_, 0, 0, 0);
	h1 = harm_amp(ol + lat + from, len, rate, f0);
	for (unsigned k = 2; k * f0 <= 2000; k++) {
		double a = harm_amp(ol + lat + from, len, rate, k * f0);

		sum += a * a;
	}
	*level_db = lin_to_db(h1);
	free(l);
	free(ol);
	free(or_);
	lim_close(&lim);
	return sqrt(sum) / h1;
}

static void test_thd(void)
{
	double gr_on, gr_off, lv_on, lv_off;
	double on = thd_40hz(1, &gr_on, &lv_on), off = thd_40hz(0, &gr_off, &lv_off);

	printf("40 Hz sine, 6 dB into -1 dBTP, release 100 ms: THD %.3f %% with auto release (GR %.2f dB, out %.2f dBFS), %.3f %% without (GR %.2f dB, out %.2f dBFS)\n",
	       100 * on, gr_on, lv_on, 100 * off, gr_off, lv_off);
	ASSERT_LE("THD of a 40 Hz sine under 6 dB GR, auto release", on, 0.01);
	ASSERT_CLOSE("GR of the 40 Hz sine (dB)", 6.0, gr_on, 0.1);
	ASSERT_CLOSE("level of the 40 Hz sine (dBFS)", -1.0, lv_on, 0.1);
	ASSERT_GE("auto release lowers the THD", off, on);
}

/*
 * Stereo link: left 6 dB over the ceiling (1 kHz), right 10 dB under it
 * (997 Hz).  Linked (100 %), the right channel takes the left's 6 dB of
 * reduction; at 50 %, half of it (in dB); at 0 %, none: it comes out as
 * it went in, delayed, bit for bit, while the left is still held.
 */
static void test_link(void)
{
	const double rate = 48000;
	const size_t n = 48000, from = 24000;
	const float links[] = { 100, 50, 0 };
	const double expect_db[] = { -6, -3, 0 };
	float *l = fbuf(n), *r = fbuf(n);

	gen_sine(l, n, 1, rate, 1000, db_to_lin(5), 0);
	gen_sine(r, n, 1, rate, 997, db_to_lin(-11), 0.3);
	for (unsigned k = 0; k < 3; k++) {
		struct lim lim;
		unsigned lat;
		float *ol, *or_;
		double right_db, left_tp, maxd = 0;
		char msg[96];

		lim_open(&lim, rate, -1.0f, 100);
		lim_set(&lim, "link_pct", links[k], 1);
		lat = lim.p.ops->latency(&lim.p);
		ol = fbuf(n + lat);
		or_ = fbuf(n + lat);
		lim_run(&lim, l, r, n, blk_1024, ol, or_, 0, 0, 0);
		right_db = lin_to_db(measure_sine_amp(or_ + lat + from, n - from, 1, rate, 997)) -
			   lin_to_db(measure_sine_amp(r + from, n - from, 1, rate, 997));
		left_tp = tp_db(ol, n + lat);
		for (size_t i = 0; i < n; i++)
			maxd = fmax(maxd, fabs((double)or_[i + lat] - r[i]));
		printf("link %3.0f %%: right channel (10 dB under the ceiling) changed by %+.2f dB; left at %+.3f dBTP\n",
		       links[k], right_db, left_tp);
		snprintf(msg, sizeof(msg), "link %.0f %%: reduction of the quiet channel (dB)", links[k]);
		ASSERT_CLOSE(msg, expect_db[k], right_db, 0.1);
		snprintf(msg, sizeof(msg), "link %.0f %%: loud channel held (dBTP)", links[k]);
		ASSERT_LE(msg, left_tp, -1.0 + LIM_TP_TOL);
		if (links[k] == 0)
			ASSERT_TRUE("link 0 %: the quiet channel is untouched, bit for bit", maxd == 0);
		free(ol);
		free(or_);
		lim_close(&lim);
	}
	free(l);
	free(r);
}

/*
 * Oversampling switched 4x <-> 8x every 10 ms (mid sub-block: it takes
 * effect at the next boundary) on music 12 dB over full scale, against
 * the same at a fixed 8x.  Derived bound: every stage of the gain path
 * (minimum, release, averages) moves its output by at most the largest
 * change of its input, so the log gains of the two runs differ by at most
 * delta = the largest difference between the required gains read at 4x
 * (with its LIM_OS4_MARGIN_DB of 0.03 dB) and at 8x, measured here with
 * two detectors; each output sample then differs by at most
 * |x| (e^delta - 1): no step, no click.  The ceiling holds throughout.
 */
static void test_os_switch(void)
{
	const double rate = 48000, ceil_db = -1;
	const size_t n = 48000;
	float *il = fbuf(2 * n), *l = fbuf(n), *r = fbuf(n);
	float *al, *ar, *bl, *br;
	struct lim_change ch[100];
	unsigned n_ch = 0, lat;
	struct lim lim;
	int err;
	struct chain_truepeak *t4 = chain_truepeak_new_dual(2, 4, rate, &err);
	struct chain_truepeak *t8 = chain_truepeak_new_dual(2, 8, rate, &err);
	double delta = 0, worst = 0, over;
	const double ceil_ln = ceil_db * log(10) / 20, m4 = 0.03 * log(10) / 20;

	gen_music(il, n, 2, rate, db_to_lin(12), 31);
	deinterleave(il, l, r, n);
	/* a peak may fall into neighbouring intervals at 4x and 8x (their
	 * points differ), so the readings are compared as minima over three
	 * intervals; the gain path's first stage is a minimum over many more */
	{
		double q4[2][3] = { { 0 } }, q8[2][3] = { { 0 } };

		for (size_t i = 0; i < n; i++) {
			float p4[2], p8[2];

			chain_truepeak_push(t4, il + 2 * i, p4);
			chain_truepeak_push(t8, il + 2 * i, p8);
			for (unsigned c = 0; c < 2; c++) {
				q4[c][i % 3] = fmin(0, ceil_ln - m4 - log(p4[c]));
				q8[c][i % 3] = fmin(0, ceil_ln - log(p8[c]));
				delta = fmax(delta, fabs(fmin(fmin(q4[c][0], q4[c][1]), q4[c][2]) -
							 fmin(fmin(q8[c][0], q8[c][1]), q8[c][2])));
			}
		}
	}
	chain_truepeak_free(&t4);
	chain_truepeak_free(&t8);
	for (size_t at = 487; at < n && n_ch < 100; at += 480, n_ch++) {
		ch[n_ch].at = at;
		ch[n_ch].id = "oversampling";
		ch[n_ch].value = (float)(n_ch % 2 ? 1 : 0);
	}
	lim_open(&lim, rate, (float)ceil_db, 100);
	lat = lim.p.ops->latency(&lim.p);
	al = fbuf(n + lat);
	ar = fbuf(n + lat);
	bl = fbuf(n + lat);
	br = fbuf(n + lat);
	lim_run(&lim, l, r, n, blk_1024, al, ar, 0, 0, 0);
	lim.p.ops->reset(&lim.p);
	lim_run_ch(&lim, l, r, n, blk_1024, bl, br, ch, n_ch);
	for (size_t i = lat; i < n + lat; i++) {
		double bound_l = fabs(l[i - lat]) * (exp(delta) - 1) * (1 + 1e-6) + 1e-7;
		double bound_r = fabs(r[i - lat]) * (exp(delta) - 1) * (1 + 1e-6) + 1e-7;

		worst = fmax(worst, fabs((double)bl[i] - al[i]) / bound_l);
		worst = fmax(worst, fabs((double)br[i] - ar[i]) / bound_r);
	}
	over = fmax(tp_db(bl, n + lat), tp_db(br, n + lat)) - ceil_db;
	printf("oversampling switched every 10 ms: readings 4x vs 8x differ by <= %.4f dB; output within %.2f of that bound; overshoot %+.4f dB\n",
	       delta / log(10) * 20, worst, over);
	ASSERT_LE("switching oversampling moves the output by at most the readings' difference",
		  worst, 1.0);
	ASSERT_LE("ceiling held while switching oversampling (dB)", over, LIM_TP_TOL);
	free(il);
	free(l);
	free(r);
	free(al);
	free(ar);
	free(bl);
	free(br);
	lim_close(&lim);
}

/*
 * The lookahead changed while limiting music 12 dB over full scale:
 * 5 → 1 → 10 → 2.5 ms, the last one during a transition.  Latency stays,
 * the ceiling holds by both judges, and no output step exceeds what the
 * fastest attack alone can make: the gain moves per frame by at most
 * GRmax / b2 (b2 >= att / 2 frames, the shortest attack at 1 ms) in a
 * steady state, plus GRmax / (crossfade frames) while crossfading, so
 * |Δy| <= |Δx| + |x| (e^(GRmax (2/att_min + 1/xfade)) - 1).
 */
static void test_lookahead_switch(void)
{
	const double rate = 48000, ceil_db = -1;
	const size_t n = 72000;
	float *il = fbuf(2 * n), *l = fbuf(n), *r = fbuf(n), *ol, *or_;
	const struct lim_change ch[] = {
		{ 9600, "lookahead_ms", 1 }, { 24011, "lookahead_ms", 10 },
		{ 38400, "lookahead_ms", 2.5f }, { 39000, "lookahead_ms", 7 },
	};
	struct lim lim;
	unsigned lat;
	double gr, step = 0, bound = 0, over, over_e, k;

	gen_music(il, n, 2, rate, db_to_lin(12), 41);
	deinterleave(il, l, r, n);
	lim_open(&lim, rate, (float)ceil_db, 100);
	lat = lim.p.ops->latency(&lim.p);
	ol = fbuf(n + lat);
	or_ = fbuf(n + lat);
	gr = lim_run_ch(&lim, l, r, n, blk_1024, ol, or_, ch, 4);
	ASSERT_INT("latency unchanged by the lookahead", lat, lim.p.ops->latency(&lim.p));
	k = exp(gr * log(10) / 20 * (2.0 / 48 + 1.0 / (14 * 32))) - 1;
	for (size_t i = lat + 1; i < n + lat; i++) {
		step = fmax(step, fabs((double)ol[i] - ol[i - 1]));
		step = fmax(step, fabs((double)or_[i] - or_[i - 1]));
		bound = fmax(bound, fabs((double)l[i - lat] - l[i - lat - 1]) + fabs(l[i - lat - 1]) * k);
		bound = fmax(bound, fabs((double)r[i - lat] - r[i - lat - 1]) + fabs(r[i - lat - 1]) * k);
	}
	over = fmax(tp_db(ol, n + lat), tp_db(or_, n + lat)) - ceil_db;
	over_e = ebu_tp_db(ol, or_, n + lat, rate) - ceil_db;
	printf("lookahead 5 → 1 → 10 → 2.5 → 7 ms while limiting (GR %.1f dB): largest step %.3f (bound %.3f), overshoot 32x %+.4f dB, libebur128 %+.4f dB\n",
	       gr, step, bound, over, over_e);
	ASSERT_LE("no step from a lookahead change", step, bound);
	ASSERT_LE("ceiling held across lookahead changes (32x, dB)", over, LIM_TP_TOL);
	ASSERT_LE("ceiling held across lookahead changes (libebur128, dB)", over_e, LIM_TP_TOL);
	free(il);
	free(l);
	free(r);
	free(ol);
	free(or_);
	lim_close(&lim);
}

/* Reset: after loud music, reset, then zeros give exact zeros and no
 * reduction; a quiet tone then passes bit for bit, delayed. */
static void test_reset(void)
{
	const double rate = 44100;
	const size_t n = 22050;
	float *il = fbuf(2 * n), *l = fbuf(n), *r = fbuf(n), *ol, *or_;
	struct lim lim;
	unsigned lat;
	int zero = 1, same = 1;
	float gr;

	gen_music(il, n, 2, rate, db_to_lin(12), 51);
	deinterleave(il, l, r, n);
	lim_open(&lim, rate, -1.0f, 300);
	lim_set(&lim, "link_pct", 30, 1);
	lat = lim.p.ops->latency(&lim.p);
	ol = fbuf(n + lat);
	or_ = fbuf(n + lat);
	gr = lim_run(&lim, l, r, n / 2, blk_1024, ol, or_, 0, 0, 0);
	ASSERT_GE("music was limited (dB)", gr, 6);
	lim.p.ops->reset(&lim.p);
	ASSERT_TRUE("reset clears the reported reduction", lim.p.ops->gain_reduction_db(&lim.p) == 0);
	memset(l, 0, n * sizeof(float));
	memset(r, 0, n * sizeof(float));
	gr = lim_run(&lim, l, r, n, blk_1024, ol, or_, 0, 0, 0);
	for (size_t i = 0; i < n + lat; i++)
		if (ol[i] != 0.0f || or_[i] != 0.0f)
			zero = 0;
	ASSERT_TRUE("zeros after reset are exact zeros", zero);
	ASSERT_TRUE("no reduction after reset", gr == 0);
	gen_sine(l, n, 1, rate, 1000, 0.25, 0);
	gen_sine(r, n, 1, rate, 500, 0.25, 0);
	lim.p.ops->reset(&lim.p);
	lim_run(&lim, l, r, n, blk_1024, ol, or_, 0, 0, 0);
	for (size_t i = 0; i < n; i++)
		if (ol[i + lat] != l[i] || or_[i + lat] != r[i])
			same = 0;
	ASSERT_TRUE("after reset a quiet tone passes bit for bit", same);
	ASSERT_INT("parameters kept: latency", lat, lim.p.ops->latency(&lim.p));
	free(il);
	free(l);
	free(r);
	free(ol);
	free(or_);
	lim_close(&lim);
}

static void test_block_invariance(void)
{
	static const unsigned s1[] = { 1, 0 }, s32[] = { 32, 0 },
			      s1024[] = { 1024, 0 }, s7[] = { 7, 0 },
			      s333[] = { 333, 0 }, smix[] = { 5, 1000, 1, 64, 313, 0 };
	const unsigned *sizes[] = { s1, s32, s1024, s7, s333, smix };
	const char *names[] = { "1", "32", "1024", "7", "333", "mixed" };
	const double rates[] = { 44100, 48000 };

	for (unsigned q = 0; q < 2; q++) {
		double rate = rates[q];
		size_t n = (size_t)rate * 2;
		float *il = fbuf(2 * n), *l = fbuf(n), *r = fbuf(n);
		float *refl = NULL, *refr = NULL;
		const struct lim_change changes[] = {
			{ n / 8, "link_pct", 40 }, { n / 4 + 3, "lookahead_ms", 1.5f },
			{ n / 3, "oversampling", 0 }, { n / 2, "ceiling_dbtp", -4.5f },
			{ n / 2 + 100, "auto_release", 0 }, { 3 * n / 4, "link_pct", 100 },
			{ 3 * n / 4 + 77, "auto_release", 1 },
		};

		gen_music(il, n, 2, rate, db_to_lin(10), 5);
		deinterleave(il, l, r, n);
		for (unsigned k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
			struct lim lim;
			unsigned lat;
			float *ol, *or_;
			double maxd = 0;
			char msg[96];

			lim_open(&lim, rate, -1.0f, 60);
			lat = lim.p.ops->latency(&lim.p);
			ol = fbuf(n + lat);
			or_ = fbuf(n + lat);
			/* and every parameter moving, at the same frames */
			lim_run_ch(&lim, l, r, n, sizes[k], ol, or_, changes, 7);
			if (!refl) {
				refl = ol;
				refr = or_;
			} else {
				for (size_t i = 0; i < n + lat; i++) {
					if (fabs((double)ol[i] - refl[i]) > maxd)
						maxd = fabs((double)ol[i] - refl[i]);
					if (fabs((double)or_[i] - refr[i]) > maxd)
						maxd = fabs((double)or_[i] - refr[i]);
				}
				snprintf(msg, sizeof(msg), "block size %s vs 1 at %.0f Hz",
					 names[k], rate);
				ASSERT_LE(msg, maxd, 1e-6);
				printf("limiter at %.0f Hz, calls of %s frames vs 1: max difference %.3g\n",
				       rate, names[k], maxd);
				free(ol);
				free(or_);
			}
			lim_close(&lim);
		}
		free(refl);
		free(refr);
		free(il);
		free(l);
		free(r);
	}
}

/* Hostile input: NaN, Inf, DC, full-scale square, silence, huge values. */
static void test_hostile(void)
{
	const double rate = 48000;
	const size_t n = 9600;
	float *l = fbuf(n), *r = fbuf(n);
	struct lim lim;
	unsigned lat;
	float *ol, *or_;
	int finite = 1;
	double peak = 0;

	for (size_t i = 0; i < n; i++) {
		size_t seg = i / 1600;

		l[i] = seg == 0 ? 1.0f : seg == 1 ? ((i / 24) % 2 ? 1.0f : -1.0f) :
		       seg == 2 ? 0.0f : seg == 3 ? (i % 100 == 0 ? NAN : 0.5f) :
		       seg == 4 ? (i % 77 == 0 ? INFINITY : -0.5f) :
		       ((i % 2) ? 1e30f : -1e30f);
		r[i] = -l[i];
	}
	lim_open(&lim, rate, -1.0f, 1);
	lat = lim.p.ops->latency(&lim.p);
	ol = fbuf(n + lat);
	or_ = fbuf(n + lat);
	lim_run(&lim, l, r, n, blk_1024, ol, or_, 0, 0, 0);
	for (size_t i = 0; i < n + lat; i++) {
		if (!isfinite(ol[i]) || !isfinite(or_[i]))
			finite = 0;
		else if (fabs(ol[i]) > peak)
			peak = fabs(ol[i]);
	}
	ASSERT_TRUE("finite output on hostile input", finite);
	ASSERT_LE("sample peak of hostile input held (dBFS)", lin_to_db(peak), -1.0 + LIM_TP_TOL);
	/* and it recovers: afterwards a quiet signal passes unchanged */
	{
		float a[256], b[256];
		float *bb[2] = { a, b };
		int clean = 1;

		for (unsigned rep = 0; rep < 40; rep++) {
			for (unsigned i = 0; i < 256; i++)
				a[i] = b[i] = 0.25f;
			lim.p.ops->process(&lim.p, bb, 256);
		}
		for (unsigned i = 0; i < 256; i++)
			if (a[i] != 0.25f)
				clean = 0;
		ASSERT_TRUE("recovers after hostile input", clean);
	}
	free(l);
	free(r);
	free(ol);
	free(or_);
	lim_close(&lim);
}

/* The detector alone: worst under-read of a peak at any sub-sample
 * position, against the analytic value. */
static void test_detector(void)
{
	const double fr[] = { 0.05, 0.2, 0.35, 0.4, 0.453 };
	const double tol[] = { 0.005, 0.005, 0.01, 0.04, 0.04 };
	int err;
	struct chain_truepeak *tp = chain_truepeak_new(2, 4, &err);
	struct chain_truepeak *tp8 = chain_truepeak_new(2, 8, &err);
	struct chain_truepeak *bad = chain_truepeak_new(2, 3, &err);

	ASSERT_TRUE("4x detector", tp != NULL);
	ASSERT_TRUE("8x detector", tp8 != NULL);
	ASSERT_TRUE("3x refused", bad == NULL && err == CHAIN_ERROR_RANGE);
	if (!tp || !tp8)
		return;
	for (unsigned q = 0; q < sizeof(fr) / sizeof(fr[0]); q++) {
		double lo4 = 0, lo8 = 0, hi = -1e9;

		for (unsigned k = 0; k < 64; k++) {
			double t0 = 200 + k / 64.0;
			float p4 = 0, p8 = 0;

			chain_truepeak_reset(tp);
			chain_truepeak_reset(tp8);
			for (unsigned i = 0; i < 400; i++) {
				float f[2];
				float a, b;

				f[0] = f[1] = (float)cos(2 * M_PI * fr[q] * ((double)i - t0));
				a = chain_truepeak_push(tp, f, NULL);
				b = chain_truepeak_push(tp8, f, NULL);
				/* only the intervals next to the peak */
				if (i >= 199 + chain_truepeak_latency(tp) &&
				    i <= 201 + chain_truepeak_latency(tp)) {
					if (a > p4)
						p4 = a;
					if (b > p8)
						p8 = b;
				}
			}
			if (lin_to_db(p4) < lo4)
				lo4 = lin_to_db(p4);
			if (lin_to_db(p8) < lo8)
				lo8 = lin_to_db(p8);
			if (lin_to_db(p4) > hi)
				hi = lin_to_db(p4);
		}
		printf("detector at %.3f fs: worst under-read 4x %.4f dB, 8x %.4f dB; over-read %.4f dB\n",
		       fr[q], lo4, lo8, hi);
		ASSERT_GE("4x under-read (dB)", lo4, -tol[q]);
		ASSERT_GE("8x under-read (dB)", lo8, -0.005);
		ASSERT_LE("4x over-read (dB)", hi, 0.01);
	}
	/* meter form: a 0 dBTP pulse between samples, flushed with silence */
	{
		size_t n = 4800;
		float *x = fbuf(n), *il = fbuf(2 * n + 2 * CHAIN_TP_HALF);
		float pk[2] = { 0, 0 };

		ebu_pulses(x, n, 48000, 1.0, 2, 20000);
		for (size_t i = 0; i < n; i++)
			il[2 * i] = il[2 * i + 1] = x[i] * 0.5f;
		chain_truepeak_reset(tp);
		chain_truepeak_process(tp, il, n + CHAIN_TP_HALF, pk);
		ASSERT_CLOSE("meter form: pulse at -6.02 dBTP", -6.0206, lin_to_db(pk[0]), 0.01);
		ASSERT_CLOSE("meter form: both channels", pk[0], pk[1], 1e-9);
		free(x);
		free(il);
	}
	chain_truepeak_free(&tp);
	chain_truepeak_free(&tp8);
	ASSERT_TRUE("free clears the pointer", tp == NULL);
}

/*
 * The dual detector's libebur128 reading (oversample 0: that reading
 * alone) against libebur128 itself: snippets of noise, full-band and
 * differentiated (most of its energy near Nyquist), each followed by
 * silence so that libebur128 computes every point the detector does.
 * The two must agree to the last bit, at each rate band (4x, 2x, none).
 */
static void test_meter_emulation(void)
{
	const double rates[] = { 44100, 48000, 96000, 192000 };
	const size_t len = 400, tail = 2 * CHAIN_TP_HALF;
	float *il = fbuf(2 * (len + tail));

	for (unsigned q = 0; q < sizeof(rates) / sizeof(rates[0]); q++) {
		int err, exact = 0, interp = 0;
		struct chain_truepeak *tp = chain_truepeak_new_dual(2, 0, rates[q], &err);
		double worst = 0;

		ASSERT_TRUE("libebur128 reader", tp != NULL);
		if (!tp)
			continue;
		for (unsigned k = 0; k < 24; k++) {
			float pk[2] = { 0, 0 }, sp = 0;
			double mine, ebu;

			memset(il, 0, sizeof(float) * 2 * (len + tail));
			gen_noise(il, len, 2, 0.9, 100 + k);
			if (k % 2)  /* differentiate: a rising spectrum */
				for (size_t i = 2 * len - 1; i >= 2; i--)
					il[i] = 0.5f * (il[i] - il[i - 2]);
			for (size_t i = 0; i < 2 * len; i++)
				sp = fmaxf(sp, fabsf(il[i]));
			chain_truepeak_reset(tp);
			chain_truepeak_process(tp, il, len + tail, pk);
			mine = lin_to_db(fmax(pk[0], pk[1]));
			ebu = ebu_tp_db_il(il, len + tail, rates[q]);
			if (mine == ebu)
				exact++;
			if (fmax(pk[0], pk[1]) > sp)
				interp++;
			worst = fmax(worst, fabs(mine - ebu));
		}
		printf("libebur128 reader at %6.0f Hz: %d of 24 snippets bit-exact (%d read between samples), worst %.3g dB\n",
		       rates[q], exact, interp, worst);
		ASSERT_INT("libebur128 reading reproduced exactly", 24, exact);
		if (rates[q] < 192000)
			ASSERT_GE("readings between samples", interp, 12);
		chain_truepeak_free(&tp);
	}
	free(il);
}

/*
 * chain_truepeak_push_above() against chain_truepeak_push(): identical
 * whenever the reading is above the threshold, <= the threshold
 * otherwise, and the 8x interpolation actually skipped on quiet parts.
 *  1. Music whose level steps between +6, 0, -6, -24 dB and silence every
 *     30 ms, with a threshold that moves between -1 and -7 dBFS and, on
 *     random frames, to "skip anything" (1e30) and "skip nothing" (0), so
 *     that the detector resumes after skips in loud passages too.
 *  2. The worst case of the bound: ±1 samples with the signs of the taps
 *     of the half-sample phase, so that the interpolated point sums the
 *     magnitudes of all taps (~2.9, +9.2 dBTP from a 0 dBFS sample peak),
 *     with the threshold just below that reading: a bound any tighter
 *     than the filter's gain would skip it.
 */
static void test_skip(void)
{
	const double rate = 44100;
	const size_t n = 44100;
	float *il = fbuf(2 * n);
	int err, same = 1, below = 1;
	long skipped = 0, above = 0;
	struct chain_truepeak *a = chain_truepeak_new_dual(2, 8, rate, &err);
	struct chain_truepeak *b = chain_truepeak_new_dual(2, 8, rate, &err);
	static const double level_db[] = { 6, -6, 0, -24, -200, 3, -12 };
	uint32_t rnd = 1;

	ASSERT_TRUE("dual detectors", a && b);
	if (!a || !b)
		return;
	gen_music(il, n, 2, rate, 1.0, 21);
	for (size_t i = 0; i < n; i++) {
		size_t seg = (size_t)((double)i / (0.03 * rate));
		double g = db_to_lin(level_db[seg % 7]);

		il[2 * i] = (float)(il[2 * i] * g);
		il[2 * i + 1] = (float)(il[2 * i + 1] * g);
	}
	for (size_t i = 0; i < n; i++) {
		float thr = (float)db_to_lin((i / 1000) % 2 ? -1.0 : -7.0);
		float pa, pb;

		rnd = rnd * 1664525u + 1013904223u;
		if (rnd >> 29 == 0)
			thr = 1e30f;
		else if (rnd >> 29 == 1)
			thr = 0;
		pa = chain_truepeak_push(a, il + 2 * i, NULL);
		pb = chain_truepeak_push_above(b, il + 2 * i, thr, NULL);
		if (pa > thr) {
			above++;
			if (pa != pb)
				same = 0;
		} else {
			if (pb > thr)
				below = 0;
			if (pb != pa)
				skipped++;
		}
	}
	printf("push_above: %ld readings above the threshold, all identical: %s; %ld of %zu intervals answered without interpolation\n",
	       above, same ? "yes" : "NO", skipped, n);
	ASSERT_TRUE("push_above equals push above the threshold", same);
	ASSERT_TRUE("push_above stays <= the threshold below it", below);
	ASSERT_GE("readings above the threshold", above, 5000);
	ASSERT_GE("intervals skipped", skipped, 5000);

	/* 2: the worst case */
	{
		const size_t c = 300;
		float pk = 0, pk_above = 0;

		memset(il, 0, sizeof(float) * 2 * n);
		for (size_t i = c - CHAIN_TP_HALF + 1; i <= c + CHAIN_TP_HALF; i++) {
			double t = (double)i - c - 0.5;

			il[2 * i] = il[2 * i + 1] = sin(M_PI * 0.98 * t) / t >= 0 ? 1.0f : -1.0f;
		}
		chain_truepeak_reset(a);
		for (size_t i = 0; i < c + 3 * CHAIN_TP_HALF; i++)
			pk = fmaxf(pk, chain_truepeak_push(a, il + 2 * i, NULL));
		/* threshold just below the reading */
		chain_truepeak_reset(b);
		for (size_t i = 0; i < c + 3 * CHAIN_TP_HALF; i++)
			pk_above = fmaxf(pk_above, chain_truepeak_push_above(b, il + 2 * i,
									  0.999f * pk, NULL));
		printf("push_above, worst case for its bound: a 0 dBFS signal reads %+.2f dBTP, push_above %+.2f dBTP\n",
		       lin_to_db(pk), lin_to_db(pk_above));
		ASSERT_GE("worst case reads far above the sample peak (dBTP)", lin_to_db(pk), 9.0);
		ASSERT_TRUE("push_above reads the worst case too", pk_above == pk);
	}

	/* 3: near the worst case for the local bound, which keeps the signs
	 * of the nine nearest frames and bounds the rest by its weights'
	 * magnitudes: the rest at ±1 with the signs of a sinc centred at
	 * each eighth of the interval, the nearest nine at ±s; a threshold
	 * just under the reading must not be skipped, at 4x and 8x */
	{
		const size_t c = 300;
		int all = 1, cases = 0;
		double lo_db = HUGE_VAL;

		for (unsigned os = 4; os <= 8; os += 4)
			for (int ph = 0; ph < 8; ph++)
				for (int si = 0; si < 3; si++) {
					static const float amp[] = { 0.0f, 0.3f, 1.0f };
					struct chain_truepeak *x = chain_truepeak_new_dual(2, os, rate, &err);
					struct chain_truepeak *y = chain_truepeak_new_dual(2, os, rate, &err);
					float pk = 0, pk_above = 0;

					if (!x || !y) {
						all = 0;
						chain_truepeak_free(&x);
						chain_truepeak_free(&y);
						continue;
					}
					memset(il, 0, sizeof(float) * 2 * n);
					for (size_t i = c - CHAIN_TP_HALF; i <= c + CHAIN_TP_HALF; i++) {
						double t = (double)i - c - ph / 8.0;
						double w = t == 0 ? 1 : sin(M_PI * 0.98 * t) / t;
						float v = (fabs((double)i - c) <= 4 ? amp[si] : 1.0f) *
							  (w >= 0 ? 1.0f : -1.0f);

						il[2 * i] = v;
						il[2 * i + 1] = -v;
					}
					for (size_t i = 0; i < c + 3 * CHAIN_TP_HALF; i++)
						pk = fmaxf(pk, chain_truepeak_push(x, il + 2 * i, NULL));
					for (size_t i = 0; i < c + 3 * CHAIN_TP_HALF; i++)
						pk_above = fmaxf(pk_above,
								 chain_truepeak_push_above(y, il + 2 * i,
											   0.9999f * pk, NULL));
					if (pk_above != pk)
						all = 0;
					if (lin_to_db(pk) < lo_db)
						lo_db = lin_to_db(pk);
					cases++;
					chain_truepeak_free(&x);
					chain_truepeak_free(&y);
				}
		printf("push_above, near the local bound's worst case: %d signals read %+.2f dBTP and up, "
		       "all read exactly under a threshold 0.001 dB below: %s\n", cases, lo_db,
		       all ? "yes" : "NO");
		ASSERT_INT("local-bound cases", 48, cases);
		ASSERT_TRUE("push_above reads them exactly", all);
	}
	chain_truepeak_free(&a);
	chain_truepeak_free(&b);
	free(il);
}

/* Two readings of one interval with threshold thr agree as truepeak.h
 * promises: bit-identical when either is above thr, else both <= thr. */
static int same_above(float a, float b, float thr)
{
	return a == b || (a <= thr && b <= thr);
}

/*
 * chain_truepeak_push_block_above() against chain_truepeak_push_above()
 * frame by frame: bit-identical readings above thr, per channel and
 * overall (at or below it both must be <= thr), for
 * blocks of 1 … 100 frames, at 4x and 8x with switches of the factor
 * between blocks, thresholds that skip everything, nothing or some, at
 * 44.1 and 96 kHz (libebur128 at 4x and 2x); every other block planar
 * (as the limiter passes them: the detector stores those four frames at
 * a time) and a few samples non-finite (read as 0 either way).
 */
static void test_push_block(void)
{
	static const unsigned sizes[] = { 1, 32, 5, 100, 2, 31, 64, 3, 33 };
	static const double level_db[] = { 6, -6, 0, -24, -200, 3, -12 };
	const size_t n = 30000;
	float *il = fbuf(2 * n);
	float pk[100], ch[200], pl[2][100];
	int same = 1;

	for (int ri = 0; ri < 2; ri++) {
		double rate = ri ? 96000 : 44100;
		int err;
		struct chain_truepeak *a = chain_truepeak_new_dual(2, 8, rate, &err);
		struct chain_truepeak *b = chain_truepeak_new_dual(2, 8, rate, &err);
		uint32_t rnd = 7;
		size_t i = 0;
		unsigned si = 0;

		ASSERT_TRUE("dual detectors", a && b);
		if (!a || !b)
			return;
		gen_music(il, n, 2, rate, 1.0, 5 + ri);
		for (size_t k = 0; k < n; k++) {
			double g = db_to_lin(level_db[(size_t)((double)k / (0.02 * rate)) % 7]);

			il[2 * k] = (float)(il[2 * k] * g);
			il[2 * k + 1] = (float)(il[2 * k + 1] * g);
		}
		for (size_t k = 1000; k < n; k += 2999)
			il[2 * k + k % 2] = k % 3 == 0 ? NAN : k % 3 == 1 ? INFINITY : -INFINITY;
		while (i < n) {
			size_t m = sizes[si++ % (sizeof(sizes) / sizeof(sizes[0]))];
			float thr = (float)db_to_lin((i / 700) % 2 ? -1.0 : -7.0);
			int per_ch = (i / 900) % 2;

			if (m > n - i)
				m = n - i;
			rnd = rnd * 1664525u + 1013904223u;
			if (rnd >> 29 == 0)
				thr = 1e30f;
			else if (rnd >> 29 == 1)
				thr = 0;
			if ((rnd >> 24 & 15) == 0) {
				unsigned os = chain_truepeak_oversample(a) == 8 ? 4 : 8;

				chain_truepeak_set_oversample(a, os);
				chain_truepeak_set_oversample(b, os);
			}
			if (si % 2) {
				deinterleave(il + 2 * i, pl[0], pl[1], m);
				chain_truepeak_push_block_above(b, pl[0], 100, 1, m, thr, pk,
								per_ch ? ch : NULL);
			} else {
				chain_truepeak_push_block_above(b, il + 2 * i, 1, 2, m, thr, pk,
								per_ch ? ch : NULL);
			}
			for (size_t k = 0; k < m; k++) {
				float c2[2];
				float p = chain_truepeak_push_above(a, il + 2 * (i + k), thr,
								    per_ch ? c2 : NULL);

				/* equal above thr; at or below it both only
				 * promise to be <= thr (truepeak.h) */
				if (!same_above(p, pk[k], thr) ||
				    (per_ch && (!same_above(c2[0], ch[2 * k], thr) ||
						!same_above(c2[1], ch[2 * k + 1], thr))))
					same = 0;
			}
			i += m;
		}
		chain_truepeak_free(&a);
		chain_truepeak_free(&b);
	}
	printf("push_block_above: identical to push_above above thr, frame by frame: %s\n",
	       same ? "yes" : "no");
	ASSERT_TRUE("push_block_above equals push_above", same);
	free(il);
}

int main(void)
{
	test_detector();
	test_meter_emulation();
	test_skip();
	test_push_block();
	test_latency_and_transparency();
	test_gain_reduction();
	test_release();
	test_thd();
	test_link();
	test_os_switch();
	test_lookahead_switch();
	test_reset();
	test_matrix();
	test_near_nyquist();
	test_music();
	test_block_invariance();
	test_hostile();
	return test_done();
}

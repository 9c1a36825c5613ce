/*
 * termaster — the playback engine (see engine.h).
 *
 * State glossary (audio thread unless noted):
 *   clips[]     sources by slot; handed over by CMD_CLIP, handed back on the
 *               trash ring, never touched by the control thread meanwhile
 *   mode        AUDIO_PLAYHEAD_SYNC or _INDEPENDENT
 *   play        the mix's reader: sync, the timeline that every source
 *               reads (reference n at play + offset[n]); independent, the
 *               mix's own playhead
 *   feed        the same reader `latency` frames ahead: it feeds the chain,
 *               so chain output, bypassed mix and references stay aligned
 *   loop        sync: the timeline's loop (next_loop: as asked, applied at
 *               the next jump)
 *   rd[]        independent: reference n's own reader (slot 0 uses play)
 *   sloop[]     independent: each slot's own loop (next_sloop[]: as asked)
 *   offset[]    sync offsets, frames (next_offset[]: as asked)
 *   jump_to     sync: where the timeline moves at the next jump (POS_*)
 *   pend[]      independent: where each slot moves at the next jump
 *   run_gain    play/pause fade, 0 … 1
 *   jump_gain   fade around a seek or loop change: down, jump, up
 *   bypass_mix  0 = processed ("after"), 1 = bypassed ("before"), ramped
 *   cur, prev   source slots; xfade counts down while prev fades out
 *   route[]     match gain per route, linear, ramped (AUDIO_ROUTE_*)
 *   glide[]     a route's gain that goes with chain parameters
 *               (audio_engine_set_gain_with_chain): waiting until they
 *               are heard, then gliding as the chain's input gain does;
 *               while it runs it, not route[], gives the route's gain
 *   fed         frames fed to the chain since its last reset: the clock
 *               of its smoothers' sub-blocks (chain/smooth.h)
 *   mon[]       the monitor matrix (stereo, mono, side …), ramped
 *   dev         the playback-system simulation (chain/devsim.h) after the
 *               matrix; a new one crossfades from dev_old over xfade_len;
 *               the run and jump gains apply after it, so its road noise
 *               fades with the audio
 *
 * Every change of what is heard is a ramp of `xfade_len` frames (about
 * 10 ms).  Loop wraps crossfade in the timeline itself: past the loop end
 * the reader blends the loop's start in while the material after the loop
 * end fades out, so the chain sees a continuous signal too.
 *
 * Independent playheads: only the sources heard advance (the one playing,
 * and the one fading out during a switch, so a switch is a true crossfade
 * of both at their own places).  The chain is fed only while the mix is
 * heard: it then stands still together with play and feed, its delay lines
 * holding exactly the frames between them, so the processed path, the
 * bypassed path (read at play) and the mix's position stay sample-aligned
 * and switching back continues where the mix stopped.
 */
#include "config.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#if defined(__SSE__) || defined(__x86_64__)
#include <xmmintrin.h>
#define TM_HAVE_MXCSR 1
#endif

#include "audio/clip.h"
#include "audio/engine.h"
#include "audio/ring.h"
#include "chain/devsim.h"
#include "chain/bandsolo.h"
#include "chain/smooth.h"

#define SUB 32                  /* frames per sub-block: ramps and jumps */
/* pub_slot_loop_on holds one bit per slot */
_Static_assert(AUDIO_MAX_SOURCES <= 64, "slot loop bits fit in a uint64_t");
#define CMD_RING 1024           /* commands UI → engine */
#define TRASH_RING 256          /* clips engine → control thread */
#define TAP_FRAMES 65536        /* meter tap, frames (> 1 s at 48 kHz) */

enum cmd_type {
	CMD_PLAY,
	CMD_SEEK,
	CMD_SOURCE,
	CMD_BYPASS,
	CMD_MATCH,
	CMD_LOOP,
	CMD_PARAM,
	CMD_GAIN,
	CMD_GAIN_WITH_CHAIN,
	CMD_CLIP,
	CMD_MONITOR,
	CMD_DEVSIM,
	CMD_DEV_LEVEL,
	CMD_DEV_NOISE,
	CMD_PLATFORM_LIMITER,
	CMD_BANDSOLO,
	CMD_PLAYHEAD,
	CMD_OFFSET,
	CMD_SEEK_SLOT,
	CMD_SLOT_LOOP,
};

/* Monitor matrices: out_l = m[0]·l + m[1]·r, out_r = m[2]·l + m[3]·r. */
static const float monitor_matrix[AUDIO_MONITOR_COUNT][4] = {
	[AUDIO_MONITOR_STEREO] = { 1.0f, 0.0f, 0.0f, 1.0f },
	[AUDIO_MONITOR_MONO] = { 0.5f, 0.5f, 0.5f, 0.5f },
	[AUDIO_MONITOR_SIDE] = { 0.5f, -0.5f, 0.5f, -0.5f },
	[AUDIO_MONITOR_LEFT] = { 1.0f, 0.0f, 1.0f, 0.0f },
	[AUDIO_MONITOR_RIGHT] = { 0.0f, 1.0f, 0.0f, 1.0f },
	[AUDIO_MONITOR_SWAP] = { 0.0f, 1.0f, 1.0f, 0.0f },
	[AUDIO_MONITOR_POLARITY] = { 1.0f, 0.0f, 0.0f, -1.0f },
};

static const char *const monitor_names[AUDIO_MONITOR_COUNT] = {
	"stereo", "mono", "side", "left", "right", "swap", "polarity",
};

const char *audio_monitor_name(enum audio_monitor m)
{
	return (unsigned)m < AUDIO_MONITOR_COUNT ? monitor_names[m] : "?";
}

int audio_monitor_find(const char *name)
{
	for (int i = 0; i < AUDIO_MONITOR_COUNT; i++)
		if (name && strcmp(name, monitor_names[i]) == 0)
			return i;
	return -1;
}

/* Fixed-size POD message (robtk jackwrap: {idx, val}). */
struct cmd {
	int64_t at;     /* audio frame at which it takes effect (0: at once) */
	int type;
	int a;
	int64_t i0;
	int64_t i1;
	float f;
	float f1, f2;
	void *ptr;
};

/* What the engine hands back to the control thread to free. */
struct trash {
	int kind;       /* TRASH_CLIP or TRASH_DEVSIM */
	void *ptr;
};

enum { TRASH_CLIP, TRASH_DEVSIM };

struct reader {
	int64_t pos;    /* frame on its clock (the timeline, or a clip's own) */
	int64_t from;   /* frame fading out after a loop wrap */
	int xf;         /* frames of that fade still to go */
};

/* A loop region on a reader's clock. */
struct loop {
	bool on;
	int64_t in, out;   /* frames, out - in >= 2 crossfades */
};

/* Pending moves (jump_to, pend[]): none, or re-anchor where the reader is
 * (a loop or the clip changed), else a frame >= 0. */
#define POS_NONE INT64_MIN
#define POS_HERE (-1)

struct ramp {
	float value;
	float target;
	float step;
	int left;
};

/* A route gain that goes with chain parameters posted just before it
 * (audio_engine_set_gain_with_chain).  Its clock: the after route's is the
 * chain's own, counted in the chain-input frame whose processed output is
 * heard (fed - latency), so it stands still while the chain does; the
 * others' is the output frame.  It waits (pend) until that clock reaches
 * `at`, where the parameters are heard, then (run) glides in two parts
 * on the chain's 32-frame sub-block grid, as chain/smooth.h glides the
 * parameters:
 *   - the part that undoes a change of the chain's input gain: the chain
 *     glides that gain's linear factor, g(t) = g1 + (g0 - g1) d(t) (one
 *     pole, chain/gain.c); the product g·r stays constant when 1/r
 *     follows the same d(t), so `inv` glides the reciprocal of this part
 *     on the same pole and grid, and the two cancel sample for sample;
 *   - the rest (loudness changed by the other parameters), in dB on one
 *     pole with the time constant of the parameters that changed.
 * The route's gain is base / inv · 10^(rest / 20). */
struct glide {
	bool pend;
	bool run;
	int64_t at;               /* on the route's clock */
	float target;             /* pending: the route's new gain, linear */
	float in_db;              /* pending: its part that undoes the input gain */
	float tau_ms;             /* pending: the rest's time constant */
	float to;                 /* running: where it goes */
	float base;               /* running: the route's gain when it started */
	float last;               /* the value last heard */
	struct chain_smooth inv;  /* 1 / the input part's factor, from 1 */
	struct chain_smooth rest; /* the rest, dB, from 0 */
	double rest_f;            /* 10^(rest.end / 20) */
};

/* The chain's input gain glides with this time constant (chain/gain.c
 * GAIN_TAU_MS); tests/test_engine checks that the two cancel. */
#define GLIDE_TAU_MS 10.0
/* Each part lands on its target within this much (about 0.0001 dB). */
#define GLIDE_SNAP 1e-5
#define GLIDE_SNAP_DB 1e-4

struct audio_engine {
	double rate;
	int xfade_len;

	/* audio thread */
	struct audio_clip *clips[AUDIO_MAX_SOURCES];
	struct chain *chain;
	unsigned latency;
	struct reader play, feed;
	bool playing;             /* target of run_gain */
	struct ramp run_gain;
	struct ramp jump_gain;
	bool jump_pending;
	int64_t jump_to;          /* sync: timeline move at the jump (POS_*) */
	bool primed;              /* chain has been fed up to feed.pos */
	int mode;                 /* enum audio_playhead */
	struct loop loop, next_loop;
	struct reader rd[AUDIO_MAX_SOURCES];
	struct loop sloop[AUDIO_MAX_SOURCES], next_sloop[AUDIO_MAX_SOURCES];
	int64_t pend[AUDIO_MAX_SOURCES];
	int64_t offset[AUDIO_MAX_SOURCES], next_offset[AUDIO_MAX_SOURCES];
	int monitor;              /* enum audio_monitor */
	struct ramp mon[4];       /* the monitor matrix, ramped */
	struct chain_devsim *dev;      /* the playback system, or NULL (none) */
	struct chain_devsim *dev_old;  /* the one fading out */
	int dev_xf;                    /* frames of that crossfade to go */
	float dev_level_db, dev_noise_db;
	float gbuf[SUB];               /* run × jump gain per frame */
	struct chain_bandsolo *bsolo;  /* band solo, before the matrix */
	int band;
	struct chain *plim;            /* a platform's player limiter */
	unsigned plim_ceiling_idx, plim_release_idx;  /* its parameters (no lookup in the callback) */
	bool plim_on;
	int plim_xf;
	float *dl[2], *dr[2];          /* planar scratch for the simulations */
	struct ramp bypass_mix;
	bool bypass;
	bool match;
	int cur, prev;
	int xfade;                /* frames left of the source crossfade */
	float gain_db[AUDIO_ROUTES];
	struct ramp route[AUDIO_ROUTES];
	struct glide glide[AUDIO_ROUTES];
	bool gfill[AUDIO_ROUTES];      /* gval[r] holds this sub-block's gains */
	float gval[AUDIO_ROUTES][SUB];
	int64_t fed;
	int64_t length;           /* sync: timeline frames that hold audio */
	int64_t frame;            /* frames rendered: the audio clock */
	int limiter;              /* processor index for gain reduction, or -1 */
	float *wet[2], *dry[2], *a[2], *b[2];

	/* rings */
	struct audio_ring cmd_ring;
	struct cmd cmd_mem[CMD_RING];
	pthread_mutex_t cmd_lock;   /* serialises producers (STYLE.md §4) */
	struct audio_ring trash_ring;
	struct trash trash_mem[TRASH_RING];
	struct audio_ring tap_ring;
	float *tap_mem;

	/* published to the control thread */
	_Atomic int64_t pub_position;
	_Atomic int64_t pub_length;
	_Atomic uint64_t pub_rendered;
	_Atomic int pub_source;
	_Atomic unsigned pub_flags;
	_Atomic int64_t pub_loop_in, pub_loop_out;
	_Atomic uint64_t xruns;
	_Atomic uint64_t tap_overruns;
	_Atomic uint32_t pub_gr_bits;
	_Atomic uint32_t pub_proc_gr[AUDIO_ENGINE_PROCS];
	_Atomic uint32_t pub_proc_meter[AUDIO_ENGINE_PROCS][AUDIO_ENGINE_METERS];
	unsigned n_procs;
	float blk_gr[AUDIO_ENGINE_PROCS];          /* maxima over this block */
	float blk_meter[AUDIO_ENGINE_PROCS][AUDIO_ENGINE_METERS];
	_Atomic uint32_t pub_peak_bits;
	_Atomic int64_t pub_slot_pos[AUDIO_MAX_SOURCES];
	_Atomic int64_t pub_slot_off[AUDIO_MAX_SOURCES];
	_Atomic int64_t pub_slot_in[AUDIO_MAX_SOURCES], pub_slot_out[AUDIO_MAX_SOURCES];
	_Atomic int64_t pub_slot_len[AUDIO_MAX_SOURCES];
	_Atomic uint64_t pub_slot_loop_on;   /* bit n: slot n's own loop */

	/* control thread's view of what it asked for */
	float ctl_gain_db[AUDIO_ROUTES];
	int64_t ctl_at;           /* stamp for posted commands */
};

enum {
	FLAG_PLAYING = 1,
	FLAG_BYPASS = 2,
	FLAG_MATCH = 4,
	FLAG_LOOP = 8,
	FLAG_MONITOR_SHIFT = 8,   /* bits 8 … 11: the monitor mode */
	FLAG_BAND_SHIFT = 12,     /* bits 12 … 15: the soloed band */
	FLAG_INDEPENDENT = 1 << 16,
};

static uint32_t float_bits(float f)
{
	uint32_t u;

	memcpy(&u, &f, sizeof(u));
	return u;
}

static float bits_float(uint32_t u)
{
	float f;

	memcpy(&f, &u, sizeof(f));
	return f;
}

/* ---- ramps ---- */

static void ramp_set(struct ramp *r, float target, int len)
{
	r->target = target;
	if (len <= 0 || r->value == target) {
		r->value = target;
		r->left = 0;
		r->step = 0;
		return;
	}
	r->left = len;
	r->step = (target - r->value) / (float)len;
}

static void ramp_snap(struct ramp *r, float v)
{
	r->value = r->target = v;
	r->left = 0;
	r->step = 0;
}

/* Value after k more frames (k <= n of the block), without advancing. */
static inline float ramp_at(const struct ramp *r, int k)
{
	if (k >= r->left)
		return r->target;
	return r->value + r->step * (float)k;
}

static void ramp_advance(struct ramp *r, int n)
{
	if (n >= r->left) {
		r->value = r->target;
		r->left = 0;
	} else {
		r->value += r->step * (float)n;
		r->left -= n;
	}
}

/* ---- readers ---- */

static inline void clip_frame(const struct audio_clip *c, int64_t pos, float *l, float *r)
{
	if (!c || pos < 0 || pos >= c->frames) {
		*l = *r = 0.0f;
		return;
	}
	*l = c->data[2 * pos];
	*r = c->data[2 * pos + 1];
}

static inline void reader_step(const struct audio_engine *e, const struct loop *lp,
			       struct reader *rd)
{
	rd->pos++;
	if (rd->xf > 0) {
		rd->from++;
		rd->xf--;
	}
	if (lp->on && rd->pos >= lp->out) {
		rd->from = rd->pos;
		rd->pos = lp->in;
		rd->xf = e->xfade_len;
	}
}

/* Read n frames of clip c from a copy of reader `start` (wrapping in lp)
 * into planar out; the clip is read at the reader's frame + off. */
static void reader_fill(const struct audio_engine *e, struct reader start, const struct loop *lp,
			const struct audio_clip *c, int64_t off, float *out_l, float *out_r, int n)
{
	struct reader rd = start;

	for (int k = 0; k < n; k++) {
		float l, r;

		clip_frame(c, rd.pos + off, &l, &r);
		if (rd.xf > 0) {
			float fl, fr;
			float g = (float)rd.xf / (float)e->xfade_len;  /* of the old */

			clip_frame(c, rd.from + off, &fl, &fr);
			/* equal-gain: the two sides are one correlated signal */
			l = l * (1.0f - g) + fl * g;
			r = r * (1.0f - g) + fr * g;
		}
		out_l[k] = l;
		out_r[k] = r;
		reader_step(e, lp, &rd);
	}
}

static void reader_skip(const struct audio_engine *e, const struct loop *lp, struct reader *rd,
			int n)
{
	for (int k = 0; k < n; k++)
		reader_step(e, lp, rd);
}

static inline bool independent(const struct audio_engine *e)
{
	return e->mode == AUDIO_PLAYHEAD_INDEPENDENT;
}

/* The loop the reader of `slot` wraps in: the timeline's in sync. */
static inline const struct loop *loop_of(const struct audio_engine *e, int slot)
{
	return independent(e) ? &e->sloop[slot] : &e->loop;
}

/* Frame of its own clip that `slot` plays now. */
static int64_t slot_pos(const struct audio_engine *e, int slot)
{
	if (slot == 0)
		return e->play.pos;
	return independent(e) ? e->rd[slot].pos : e->play.pos + e->offset[slot];
}

static int64_t clip_len(const struct audio_engine *e, int slot)
{
	return e->clips[slot] ? e->clips[slot]->frames : 0;
}

/* The slot is heard (or would be, once playing): it plays, or it is
 * fading out after a switch. */
static bool audible(const struct audio_engine *e, int slot)
{
	return slot == e->cur || (e->xfade > 0 && slot == e->prev);
}

/* Sync: the timeline holds audio up to the latest end of a clip on it. */
static void update_length(struct audio_engine *e)
{
	e->length = 0;
	for (int i = 0; i < AUDIO_MAX_SOURCES; i++)
		if (e->clips[i] && e->clips[i]->frames - e->offset[i] > e->length)
			e->length = e->clips[i]->frames - e->offset[i];
}

/* Feed the chain from the feed reader, n frames (n <= SUB); output in wet. */
static void chain_feed(struct audio_engine *e, int n)
{
	float *buf[2] = { e->wet[0], e->wet[1] };

	reader_fill(e, e->feed, loop_of(e, 0), e->clips[0], 0, buf[0], buf[1], n);
	reader_skip(e, loop_of(e, 0), &e->feed, n);
	chain_process(e->chain, buf, (unsigned)n);
	e->fed += n;
}

/* ---- gains that go with chain parameters ---- */

/* Where a route's gain is going (a glide's target, else its ramp's). */
static float route_final(const struct audio_engine *e, int r)
{
	const struct glide *g = &e->glide[r];

	return g->pend ? g->target : g->run ? g->to : e->route[r].target;
}

/* The glide lands at once on its target (nothing heard, or the chain was
 * reset: its smoothers landed too). */
static void glide_finish(struct audio_engine *e, int r)
{
	struct glide *g = &e->glide[r];

	if (!g->pend && !g->run)
		return;
	ramp_snap(&e->route[r], route_final(e, r));
	g->pend = g->run = false;
}

/* The running glide's gain at sample j of the current sub-block. */
static float glide_at(const struct glide *g, unsigned j)
{
	double v = g->base / chain_smooth_at(&g->inv, j);

	if (chain_smooth_steady(&g->rest))
		return (float)(v * g->rest_f);
	return (float)(v * pow(10.0, chain_smooth_at(&g->rest, j) / 20.0));
}

/* A pending glide starts (or retargets a running one) at sample k. */
static void glide_start(struct audio_engine *e, int r, int k)
{
	struct glide *g = &e->glide[r];
	double f;

	if (!g->run) {
		/* from where the route is, steady until the grid's next
		 * step, as the chain's parameters are */
		g->base = ramp_at(&e->route[r], k);
		chain_smooth_init(&g->inv, e->rate, GLIDE_TAU_MS, 0, 1.0);
		chain_smooth_init(&g->rest, e->rate, g->tau_ms, GLIDE_SNAP_DB, 0.0);
		g->rest_f = 1.0;
		g->run = true;
	} else {
		/* a glide under way goes on from where it is, as the
		 * chain's smoothers do; the rest takes the new pace */
		struct chain_smooth pace;

		chain_smooth_init(&pace, e->rate, g->tau_ms, 0, 0.0);
		g->rest.coef = pace.coef;
	}
	f = g->inv.target * pow(10.0, -g->in_db / 20.0);
	chain_smooth_set(&g->inv, f, 0);
	g->inv.snap = GLIDE_SNAP * f;
	/* at the end base / inv · 10^(rest / 20) = target */
	chain_smooth_set(&g->rest, 20.0 * log10(g->target * f / g->base), 0);
	g->to = g->target;
	g->pend = false;
}

/* Route r's gains for the n frames from w0 on its clock: into gval[r]
 * when the route is heard, else only its state moves on. */
static void glide_fill(struct audio_engine *e, int r, int64_t w0, int n, bool heard)
{
	struct glide *g = &e->glide[r];
	float *out = e->gval[r];

	for (int k = 0; k < n; k++) {
		int64_t w = w0 + k;
		unsigned j = (unsigned)(((w % CHAIN_SUBBLOCK) + CHAIN_SUBBLOCK) % CHAIN_SUBBLOCK);
		float v;

		if (g->pend && w >= g->at)
			glide_start(e, r, k);
		if (g->run) {
			if (j == 0) {
				chain_smooth_block(&g->inv);
				chain_smooth_block(&g->rest);
				g->rest_f = pow(10.0, g->rest.end / 20.0);
			}
			if (!g->pend && chain_smooth_steady(&g->inv) &&
			    g->inv.end == g->inv.target && chain_smooth_steady(&g->rest) &&
			    g->rest.end == g->rest.target) {
				v = g->to;
				ramp_snap(&e->route[r], v);
				g->run = false;
			} else if (heard || k == n - 1) {
				v = glide_at(g, j);
			} else {
				continue;
			}
		} else {
			v = ramp_at(&e->route[r], k);
		}
		g->last = v;
		out[k] = v;
	}
	e->gfill[r] = heard;
}

/* Route r's gain k frames into this sub-block. */
static inline float route_at(const struct audio_engine *e, int r, int k)
{
	return e->gfill[r] ? e->gval[r][k] : ramp_at(&e->route[r], k);
}

/* Re-anchor both of the mix's readers at `at` (a loop wrap under way
 * included), clear the chain and run it `latency` frames ahead, discarding
 * that output. */
static void prime(struct audio_engine *e, struct reader at)
{
	unsigned left = e->latency;

	e->play = at;
	e->feed = at;
	chain_reset(e->chain);
	e->fed = 0;
	/* the chain's smoothers landed: so does what goes with them */
	glide_finish(e, AUDIO_ROUTE_AFTER);
	while (left) {
		int n = left > SUB ? SUB : (int)left;

		chain_feed(e, n);
		left -= (unsigned)n;
	}
	e->primed = true;
}

static void prime_at(struct audio_engine *e, int64_t pos)
{
	struct reader r = { .pos = pos };

	prime(e, r);
}

/* Would the mix's readers, wrapping in loop `b` from now on, read what
 * they read wrapping in `a` over the `latency` frames already fed to the
 * chain?  If not, the chain holds frames the new loop does not play. */
static bool same_path(const struct audio_engine *e, const struct loop *a, const struct loop *b)
{
	struct reader ra = e->play, rb = e->play;

	if (a->on == b->on && (!a->on || (a->in == b->in && a->out == b->out)))
		return true;
	for (unsigned k = 0; k < e->latency; k++) {
		reader_step(e, a, &ra);
		reader_step(e, b, &rb);
		if (ra.pos != rb.pos || ra.xf != rb.xf || (ra.xf > 0 && ra.from != rb.from))
			return false;
	}
	return true;
}

/* ---- commands ---- */

static float route_target(const struct audio_engine *e, int r)
{
	return e->match ? powf(10.0f, e->gain_db[r] / 20.0f) : 1.0f;
}

/* A change of gain or matching that does not go with chain parameters:
 * the usual ramp, from where a glide under way has got to. */
static void set_route_targets(struct audio_engine *e)
{
	for (int r = 0; r < AUDIO_ROUTES; r++) {
		struct glide *g = &e->glide[r];
		float t = route_target(e, r);

		if (g->pend || g->run) {
			if (t == route_final(e, r))
				continue;  /* on its way there */
			if (g->run)
				ramp_snap(&e->route[r], g->last);
			g->pend = g->run = false;
			ramp_set(&e->route[r], t, e->xfade_len);
		} else if (t != e->route[r].target) {
			ramp_set(&e->route[r], t, e->xfade_len);
		}
	}
}

static bool idle(const struct audio_engine *e)
{
	return !e->playing && e->run_gain.value == 0.0f && e->run_gain.left == 0;
}

/* Played to the end (of the timeline; independent: of the source's own
 * clip) with no loop to hold it. */
static bool at_end(const struct audio_engine *e)
{
	int s = e->cur;

	if (!independent(e))
		return !e->loop.on && e->play.pos >= e->length;
	/* a slot without a clip (still decoding) waits */
	return e->clips[s] && !e->sloop[s].on && slot_pos(e, s) >= clip_len(e, s);
}

/* Fade out over half a crossfade; at the bottom apply_jump() applies what
 * is pending (moves, loops, offsets) and fades back in. */
static void begin_jump(struct audio_engine *e)
{
	e->jump_pending = true;
	if (idle(e))
		ramp_snap(&e->jump_gain, 0.0f);
	else
		ramp_set(&e->jump_gain, 0.0f, e->xfade_len / 2);
}

/* A pending move: a frame wins over a re-anchor. */
static void want_move(struct audio_engine *e, int64_t *pending, int64_t to)
{
	if (to >= 0 || *pending == POS_NONE)
		*pending = to;
	begin_jump(e);
}

/* Where a move lands: past the end of a loop that is on, at its start;
 * re-anchoring (a loop just turned on) outside it, at its start too. */
static int64_t land(const struct loop *lp, int64_t to, int64_t here)
{
	bool re = to == POS_HERE;

	if (re)
		to = here;
	if (lp->on && (to >= lp->out || (re && to < lp->in)))
		to = lp->in;
	return to;
}

/* Independent: put slot's own reader at `to`. */
static void place(struct audio_engine *e, int slot, int64_t to)
{
	if (slot == 0) {
		prime_at(e, to);
	} else {
		e->rd[slot].pos = to;
		e->rd[slot].from = 0;
		e->rd[slot].xf = 0;
	}
}

static void apply_jump(struct audio_engine *e)
{
	if (!independent(e)) {
		e->loop = e->next_loop;
		if (e->jump_to != POS_NONE)
			prime_at(e, land(&e->loop, e->jump_to, e->play.pos));
	} else {
		for (int s = 0; s < AUDIO_MAX_SOURCES; s++) {
			e->sloop[s] = e->next_sloop[s];
			if (e->pend[s] != POS_NONE)
				place(e, s, land(&e->sloop[s], e->pend[s], slot_pos(e, s)));
			e->pend[s] = POS_NONE;
		}
	}
	memcpy(e->offset, e->next_offset, sizeof(e->offset));
	update_length(e);
	e->jump_to = POS_NONE;
	e->jump_pending = false;
	ramp_set(&e->jump_gain, 1.0f, e->xfade_len / 2);
	if (idle(e))
		ramp_snap(&e->jump_gain, 1.0f);
}

/* A loop for the timeline (slot < 0) or a slot's own. */
static void set_loop(struct audio_engine *e, int slot, struct loop lp)
{
	struct loop *now = slot < 0 ? &e->loop : &e->sloop[slot];

	if (slot < 0)
		e->next_loop = lp;
	else
		e->next_sloop[slot] = lp;
	if (slot >= 0 && !(independent(e) && audible(e, slot))) {
		/* not heard: applied at once, no fade needed */
		*now = lp;
		if (independent(e)) {
			int64_t here = slot_pos(e, slot);
			int64_t to = land(&lp, POS_HERE, here);

			/* the mix is also started again so that the chain
			 * holds what the new loop plays */
			if (slot == 0 || to != here)
				place(e, slot, to);
		}
	} else if (lp.on || now->on) {
		want_move(e, slot < 0 ? &e->jump_to : &e->pend[slot], POS_HERE);
	} else {
		*now = lp;  /* off stays off: nothing heard changes */
	}
}

/* Change playhead mode; nothing is fading (no switch, no jump).  What is
 * heard stays where it is: the source that plays reads on from the same
 * frame, a loop wrap under way included. */
static void switch_mode(struct audio_engine *e, int mode)
{
	struct loop was = *loop_of(e, 0);

	if (mode == AUDIO_PLAYHEAD_INDEPENDENT) {
		for (int s = 1; s < AUDIO_MAX_SOURCES; s++) {
			e->rd[s] = e->play;
			e->rd[s].pos += e->offset[s];
			e->rd[s].from += e->offset[s];
		}
		e->mode = mode;
	} else {
		e->mode = mode;
		if (e->cur != 0) {
			/* the timeline goes where the reference is; the mix,
			 * not heard, starts again there */
			struct reader t = e->rd[e->cur];

			t.pos -= e->offset[e->cur];
			t.from -= e->offset[e->cur];
			prime(e, t);
			return;
		}
	}
	/* the mix's readers wrap in another loop from now on: if the chain
	 * was fed frames that loop does not play, start it again, under a
	 * fade when the mix is heard */
	if (e->primed && !same_path(e, &was, loop_of(e, 0))) {
		if (audible(e, 0) && !idle(e))
			want_move(e, independent(e) ? &e->pend[0] : &e->jump_to, e->play.pos);
		else
			prime(e, e->play);
	}
}

/* The caller has checked there is room. */
static void trash(struct audio_engine *e, int kind, void *ptr)
{
	struct trash t = { kind, ptr };

	audio_ring_write(&e->trash_ring, &t, 1);
}

static bool handle(struct audio_engine *e, const struct cmd *c)
{
	switch (c->type) {
	case CMD_PLAY:
		/* at the end: start again from the top */
		if (c->a && !e->playing) {
			int s = e->cur;

			if (at_end(e))
				want_move(e, independent(e) ? &e->pend[s] : &e->jump_to, 0);
		}
		/* starting from silence: clear and re-prime the chain, so that
		 * parameters set while stopped apply from the first sample and
		 * no stale envelope from before the pause leaks in */
		if (c->a && idle(e))
			e->primed = false;
		e->playing = c->a != 0;
		ramp_set(&e->run_gain, e->playing ? 1.0f : 0.0f, e->xfade_len);
		break;
	case CMD_SEEK:
		want_move(e, independent(e) ? &e->pend[e->cur] : &e->jump_to, c->i0);
		break;
	case CMD_SEEK_SLOT:
		/* sync: positions come from the timeline */
		if (!independent(e))
			break;
		if (audible(e, c->a))
			want_move(e, &e->pend[c->a], c->i0);
		else
			place(e, c->a, land(&e->sloop[c->a], c->i0, 0));
		break;
	case CMD_OFFSET:
		e->next_offset[c->a] = c->i0;
		if (!independent(e) && audible(e, c->a) && e->offset[c->a] != c->i0) {
			begin_jump(e);  /* a jump of what is heard */
		} else {
			e->offset[c->a] = c->i0;
			update_length(e);
		}
		break;
	case CMD_PLAYHEAD:
		if (c->a == e->mode)
			break;
		if (idle(e)) {
			/* nothing heard: no switch or jump fade to finish */
			e->xfade = 0;
			if (e->jump_pending)
				apply_jump(e);
		}
		/* wait (at most a crossfade) until one source plays at one
		 * place; the commands behind this one wait with it */
		if (e->xfade > 0 || e->jump_pending)
			return false;
		switch_mode(e, c->a);
		break;
	case CMD_SOURCE:
		if (c->a != e->cur) {
			e->prev = e->cur;
			e->cur = c->a;
			/* nothing heard while idle: the fade-in covers the start
			 * (and in independent mode the old source keeps its
			 * place) */
			e->xfade = idle(e) ? 0 : e->xfade_len;
		}
		break;
	case CMD_BYPASS:
		e->bypass = c->a != 0;
		ramp_set(&e->bypass_mix, e->bypass ? 1.0f : 0.0f, e->xfade_len);
		break;
	case CMD_MATCH:
		e->match = c->a != 0;
		set_route_targets(e);
		break;
	case CMD_LOOP: {
		struct loop lp = { c->a != 0, c->i0, c->i1 };

		set_loop(e, independent(e) ? e->cur : -1, lp);
		break;
	}
	case CMD_SLOT_LOOP: {
		struct loop lp = { c->f != 0.0f, c->i0, c->i1 };

		set_loop(e, c->a, lp);
		break;
	}
	case CMD_PARAM:
		chain_set_param(e->chain, (unsigned)c->a, c->f);
		break;
	case CMD_GAIN:
		e->gain_db[c->a] = c->f;
		set_route_targets(e);
		break;
	case CMD_GAIN_WITH_CHAIN: {
		struct glide *g = &e->glide[c->a];
		float t;

		e->gain_db[c->a] = c->f;
		t = route_target(e, c->a);
		if (!e->match || (t == route_final(e, c->a) && c->f1 == 0.0f))
			break;
		/* heard where the parameters posted before it are: the after
		 * route once the chain's next input frame comes out, the
		 * others a latency from now */
		g->in_db = g->pend ? g->in_db + c->f1 : c->f1;
		g->pend = true;
		g->target = t;
		g->tau_ms = c->f2;
		g->at = c->a == AUDIO_ROUTE_AFTER ? e->fed : e->frame + e->latency;
		break;
	}
	case CMD_DEVSIM:
		if (audio_ring_write_available(&e->trash_ring) < 2)
			return false;
		if (e->dev_old)
			trash(e, TRASH_DEVSIM, e->dev_old);  /* a switch mid-fade */
		e->dev_old = e->dev;
		e->dev = c->ptr;
		if (e->dev) {
			chain_devsim_set_level(e->dev, e->dev_level_db, 1);
			chain_devsim_set_noise(e->dev, e->dev_noise_db, 1);
		}
		e->dev_xf = e->xfade_len;
		break;
	case CMD_BANDSOLO:
		if (chain_bandsolo_set(e->bsolo, c->a, 0) == 0)
			e->band = c->a;
		break;
	case CMD_PLATFORM_LIMITER:
		if ((c->a != 0) != e->plim_on) {
			if (c->a)
				chain_reset(e->plim);
			e->plim_on = c->a != 0;
			e->plim_xf = e->xfade_len;
		}
		chain_set_param(e->plim, e->plim_ceiling_idx, c->f);
		chain_set_param(e->plim, e->plim_release_idx, (float)c->i0);
		break;
	case CMD_DEV_LEVEL:
		e->dev_level_db = c->f;
		if (e->dev)
			chain_devsim_set_level(e->dev, c->f, 0);
		break;
	case CMD_DEV_NOISE:
		e->dev_noise_db = c->f;
		if (e->dev)
			chain_devsim_set_noise(e->dev, c->f, 0);
		break;
	case CMD_MONITOR:
		e->monitor = c->a;
		for (int i = 0; i < 4; i++)
			ramp_set(&e->mon[i], monitor_matrix[c->a][i], e->xfade_len);
		break;
	case CMD_CLIP: {
		struct audio_clip *old = e->clips[c->a];

		if (old && audio_ring_write_available(&e->trash_ring) == 0)
			return false;  /* retry next block */
		e->clips[c->a] = c->ptr;
		if (old)
			trash(e, TRASH_CLIP, old);
		update_length(e);
		/* the chain's input changed: re-prime (under a fade if heard) */
		if (c->a == 0 && independent(e) && !audible(e, 0))
			e->primed = false;
		else if (c->a == 0)
			want_move(e, independent(e) ? &e->pend[0] : &e->jump_to, POS_HERE);
		break;
	}
	}
	return true;
}

/* Runs every command due at or before frame `now`; returns the frame of
 * the first one still waiting, or INT64_MAX. */
static int64_t drain(struct audio_engine *e, int64_t now)
{
	struct cmd c;
	void *d1, *d2;
	size_t n1, n2;

	while (audio_ring_read_regions(&e->cmd_ring, 1, &d1, &n1, &d2, &n2) == 1) {
		memcpy(&c, d1, sizeof(c));
		if (c.at > now)
			return c.at;
		if (!handle(e, &c))
			return now + SUB;  /* trash ring full: retry next sub-block */
		audio_ring_read_advance(&e->cmd_ring, 1);
	}
	return INT64_MAX;
}

/* ---- the block ---- */

static void glides_finish(struct audio_engine *e)
{
	for (int r = 0; r < AUDIO_ROUTES; r++)
		glide_finish(e, r);
}

/* Stereo output of route `slot` for n frames into (ol, or): the mix from
 * the chain (wet) and its play reader (dry), a reference from the
 * timeline + its offset (sync) or its own reader (independent). */
static void source_out(struct audio_engine *e, int slot, float *ol, float *or_, int n)
{
	if (slot == 0) {
		bool need_dry = e->bypass_mix.value > 0.0f || e->bypass_mix.left > 0;

		if (need_dry)
			reader_fill(e, e->play, loop_of(e, 0), e->clips[0], 0, e->dry[0], e->dry[1], n);
		for (int k = 0; k < n; k++) {
			float b = ramp_at(&e->bypass_mix, k);
			float ga = route_at(e, AUDIO_ROUTE_AFTER, k) * (1.0f - b);
			float gb = route_at(e, AUDIO_ROUTE_BEFORE, k) * b;

			ol[k] = e->wet[0][k] * ga;
			or_[k] = e->wet[1][k] * ga;
			if (need_dry) {
				ol[k] += e->dry[0][k] * gb;
				or_[k] += e->dry[1][k] * gb;
			}
		}
		return;
	}
	if (independent(e))
		reader_fill(e, e->rd[slot], &e->sloop[slot], e->clips[slot], 0, ol, or_, n);
	else
		reader_fill(e, e->play, &e->loop, e->clips[slot], e->offset[slot], ol, or_, n);
	for (int k = 0; k < n; k++) {
		float g = route_at(e, slot, k);

		ol[k] *= g;
		or_[k] *= g;
	}
}

static void publish(struct audio_engine *e, float gr, float peak)
{
	/* the screen's transport shows the source that plays (independent)
	 * or the timeline (sync); loops as asked */
	const struct loop *lp = independent(e) ? &e->next_sloop[e->cur] : &e->next_loop;
	unsigned flags = (e->playing ? FLAG_PLAYING : 0) | (e->bypass ? FLAG_BYPASS : 0) |
			 (e->match ? FLAG_MATCH : 0) | (lp->on ? FLAG_LOOP : 0) |
			 ((unsigned)e->monitor << FLAG_MONITOR_SHIFT) |
			 ((unsigned)e->band << FLAG_BAND_SHIFT) |
			 (independent(e) ? FLAG_INDEPENDENT : 0);
	uint64_t loops = 0;

	atomic_store_explicit(&e->pub_position, slot_pos(e, independent(e) ? e->cur : 0),
			      memory_order_relaxed);
	atomic_store_explicit(&e->pub_length, independent(e) ? clip_len(e, e->cur) : e->length,
			      memory_order_relaxed);
	atomic_store_explicit(&e->pub_source, e->cur, memory_order_relaxed);
	atomic_store_explicit(&e->pub_flags, flags, memory_order_relaxed);
	atomic_store_explicit(&e->pub_loop_in, lp->in, memory_order_relaxed);
	atomic_store_explicit(&e->pub_loop_out, lp->out, memory_order_relaxed);
	for (int i = 0; i < AUDIO_MAX_SOURCES; i++) {
		atomic_store_explicit(&e->pub_slot_pos[i], slot_pos(e, i), memory_order_relaxed);
		atomic_store_explicit(&e->pub_slot_off[i], e->next_offset[i], memory_order_relaxed);
		atomic_store_explicit(&e->pub_slot_in[i], e->next_sloop[i].in, memory_order_relaxed);
		atomic_store_explicit(&e->pub_slot_out[i], e->next_sloop[i].out, memory_order_relaxed);
		atomic_store_explicit(&e->pub_slot_len[i], clip_len(e, i), memory_order_relaxed);
		if (e->next_sloop[i].on)
			loops |= UINT64_C(1) << i;
	}
	atomic_store_explicit(&e->pub_slot_loop_on, loops, memory_order_relaxed);
	atomic_store_explicit(&e->pub_gr_bits, float_bits(gr), memory_order_relaxed);
	for (unsigned p = 0; p < e->n_procs; p++) {
		atomic_store_explicit(&e->pub_proc_gr[p], float_bits(e->blk_gr[p]),
				      memory_order_relaxed);
		e->blk_gr[p] = 0.0f;
		for (unsigned m = 0; m < AUDIO_ENGINE_METERS; m++) {
			atomic_store_explicit(&e->pub_proc_meter[p][m],
					      float_bits(e->blk_meter[p][m]), memory_order_relaxed);
			e->blk_meter[p][m] = 0.0f;
		}
	}
	atomic_store_explicit(&e->pub_peak_bits, float_bits(peak), memory_order_relaxed);
}

static void tap(struct audio_engine *e, const float *lr, unsigned n)
{
	size_t done = audio_ring_write(&e->tap_ring, lr, n);

	if (done < n)
		atomic_fetch_add_explicit(&e->tap_overruns, n - done, memory_order_relaxed);
}

/* The playback-system simulation on n interleaved frames, in place, with
 * the crossfade from the previous system (none = the signal as is). */
static void simulate(struct audio_engine *e, float *out, int n)
{
	float *a[2] = { e->dl[0], e->dl[1] }, *b[2] = { e->dr[0], e->dr[1] };

	for (int k = 0; k < n; k++) {
		a[0][k] = b[0][k] = out[2 * k];
		a[1][k] = b[1][k] = out[2 * k + 1];
	}
	if (e->dev)
		chain_devsim_process(e->dev, a, (unsigned)n);
	if (e->dev_xf > 0) {
		if (e->dev_old)
			chain_devsim_process(e->dev_old, b, (unsigned)n);
		for (int k = 0; k < n; k++) {
			/* equal power: two different filterings of one signal */
			float t = (float)(e->xfade_len - e->dev_xf + k) / (float)e->xfade_len;
			float gi, go;

			if (t > 1.0f)
				t = 1.0f;
			gi = sinf(t * (float)M_PI_2);
			go = cosf(t * (float)M_PI_2);
			a[0][k] = a[0][k] * gi + b[0][k] * go;
			a[1][k] = a[1][k] * gi + b[1][k] * go;
		}
		e->dev_xf = e->dev_xf > n ? e->dev_xf - n : 0;
		if (e->dev_xf == 0 && e->dev_old &&
		    audio_ring_write_available(&e->trash_ring) > 0) {
			trash(e, TRASH_DEVSIM, e->dev_old);
			e->dev_old = NULL;
		}
	}
	for (int k = 0; k < n; k++) {
		out[2 * k] = a[0][k];
		out[2 * k + 1] = a[1][k];
	}
}

/* The platform limiter on n interleaved frames, in place, crossfaded in
 * and out (it delays by its latency: the fade covers the jump). */
static void platform_limit(struct audio_engine *e, float *out, int n)
{
	float *a[2] = { e->dl[0], e->dl[1] };

	for (int k = 0; k < n; k++) {
		a[0][k] = out[2 * k];
		a[1][k] = out[2 * k + 1];
	}
	chain_process(e->plim, a, (unsigned)n);
	for (int k = 0; k < n; k++) {
		float w;

		if (e->plim_xf > 0) {
			float t = (float)(e->xfade_len - e->plim_xf + k) / (float)e->xfade_len;

			if (t > 1.0f)
				t = 1.0f;
			w = e->plim_on ? t : 1.0f - t;
		} else {
			w = e->plim_on ? 1.0f : 0.0f;
		}
		out[2 * k] = a[0][k] * w + out[2 * k] * (1.0f - w);
		out[2 * k + 1] = a[1][k] * w + out[2 * k + 1] * (1.0f - w);
	}
	e->plim_xf = e->plim_xf > n ? e->plim_xf - n : 0;
}

/* One sub-block of n <= SUB frames into interleaved out. */
static void sub_block(struct audio_engine *e, float *out, int n, float *gr)
{
	if (idle(e) && !e->jump_pending) {
		glides_finish(e);
		memset(out, 0, sizeof(float) * 2 * (size_t)n);
		return;
	}
	if (e->jump_pending && e->jump_gain.value == 0.0f && e->jump_gain.left == 0)
		apply_jump(e);
	if (!e->primed)
		prime(e, e->play);
	if (idle(e)) {
		glides_finish(e);
		memset(out, 0, sizeof(float) * 2 * (size_t)n);
		return;
	}

	/* the chain runs whenever the mix plays or could be switched to (in
	 * independent mode, only while the mix is heard: it stands still
	 * with the mix's playhead) */
	if (e->clips[0] && (!independent(e) || audible(e, 0))) {
		int64_t heard = e->fed - (int64_t)e->latency;

		chain_feed(e, n);
		if (e->glide[AUDIO_ROUTE_AFTER].pend || e->glide[AUDIO_ROUTE_AFTER].run)
			glide_fill(e, AUDIO_ROUTE_AFTER, heard, n, audible(e, 0));
		if (e->limiter >= 0) {
			float g = chain_gain_reduction_db(e->chain, (unsigned)e->limiter);
			if (g > *gr)
				*gr = g;
		}
		for (unsigned p = 0; p < e->n_procs; p++) {
			float g = chain_gain_reduction_db(e->chain, p);

			if (g > e->blk_gr[p])
				e->blk_gr[p] = g;
			for (unsigned m = 0; m < AUDIO_ENGINE_METERS; m++) {
				float v = chain_meter(e->chain, p, m);

				if (v > e->blk_meter[p][m])
					e->blk_meter[p][m] = v;
			}
		}
	} else {
		memset(e->wet[0], 0, sizeof(float) * (size_t)n);
		memset(e->wet[1], 0, sizeof(float) * (size_t)n);
	}

	/* the after route's glide holds while the chain stands still */
	if (!e->gfill[AUDIO_ROUTE_AFTER] &&
	    (e->glide[AUDIO_ROUTE_AFTER].pend || e->glide[AUDIO_ROUTE_AFTER].run)) {
		for (int k = 0; k < n; k++)
			e->gval[AUDIO_ROUTE_AFTER][k] = e->glide[AUDIO_ROUTE_AFTER].run ?
				e->glide[AUDIO_ROUTE_AFTER].last :
				ramp_at(&e->route[AUDIO_ROUTE_AFTER], k);
		e->gfill[AUDIO_ROUTE_AFTER] = true;
	}
	for (int r = 1; r < AUDIO_ROUTES; r++)
		if (e->glide[r].pend || e->glide[r].run)
			glide_fill(e, r, e->frame, n,
				   audible(e, r == AUDIO_ROUTE_BEFORE ? 0 : r));
	source_out(e, e->cur, e->a[0], e->a[1], n);
	if (e->xfade > 0)
		source_out(e, e->prev, e->b[0], e->b[1], n);
	for (int k = 0; k < n; k++) {
		float l = e->a[0][k], r = e->a[1][k];
		float g = ramp_at(&e->run_gain, k) * ramp_at(&e->jump_gain, k);

		if (e->xfade > 0) {
			/* equal-power: the sources are different signals */
			float t = (float)(e->xfade_len - e->xfade + k) / (float)e->xfade_len;
			float gi, go;

			if (t > 1.0f)
				t = 1.0f;
			gi = sinf(t * (float)M_PI_2);
			go = cosf(t * (float)M_PI_2);
			l = l * gi + e->b[0][k] * go;
			r = r * gi + e->b[1][k] * go;
		}
		if (!isfinite(l))
			l = 0.0f;
		if (!isfinite(r))
			r = 0.0f;
		e->gbuf[k] = g;
		out[2 * k] = l;
		out[2 * k + 1] = r;
	}
	/* a platform's own limiter (Spotify "loud") on the normalised signal */
	if (e->plim_on || e->plim_xf > 0)
		platform_limit(e, out, n);
	if (!chain_bandsolo_idle(e->bsolo)) {
		float *a[2] = { e->dl[0], e->dl[1] };

		for (int k = 0; k < n; k++) {
			a[0][k] = out[2 * k];
			a[1][k] = out[2 * k + 1];
		}
		chain_bandsolo_process(e->bsolo, a, (unsigned)n);
		for (int k = 0; k < n; k++) {
			out[2 * k] = a[0][k];
			out[2 * k + 1] = a[1][k];
		}
	}
	if (e->monitor != AUDIO_MONITOR_STEREO || e->mon[0].left || e->mon[1].left ||
	    e->mon[2].left || e->mon[3].left) {
		for (int k = 0; k < n; k++) {
			float l = out[2 * k], r = out[2 * k + 1];

			out[2 * k] = ramp_at(&e->mon[0], k) * l + ramp_at(&e->mon[1], k) * r;
			out[2 * k + 1] = ramp_at(&e->mon[2], k) * l + ramp_at(&e->mon[3], k) * r;
		}
	}
	for (int i = 0; i < 4; i++)
		ramp_advance(&e->mon[i], n);
	if (e->dev || e->dev_old)
		simulate(e, out, n);
	for (int k = 0; k < n; k++) {
		out[2 * k] *= e->gbuf[k];
		out[2 * k + 1] *= e->gbuf[k];
	}
	if (!independent(e)) {
		reader_skip(e, &e->loop, &e->play, n);
	} else {
		/* the sources heard advance, each on its own clip; a slot
		 * without one (still decoding) keeps its place */
		for (int i = 0; i < 2; i++) {
			int s = i ? e->prev : e->cur;

			if (i && (e->xfade == 0 || s == e->cur))
				break;
			if (!e->clips[s])
				continue;
			if (s == 0)
				reader_skip(e, &e->sloop[0], &e->play, n);
			else
				reader_skip(e, &e->sloop[s], &e->rd[s], n);
		}
	}
	e->xfade = e->xfade > n ? e->xfade - n : 0;
	ramp_advance(&e->run_gain, n);
	ramp_advance(&e->jump_gain, n);
	ramp_advance(&e->bypass_mix, n);
	for (int r = 0; r < AUDIO_ROUTES; r++) {
		if (e->route[r].left)
			ramp_advance(&e->route[r], n);
		e->gfill[r] = false;
	}

	/* end of the timeline without a loop: stop; in independent mode the
	 * end of the source's own clip, and one still fading out fades with
	 * the run gain */
	if (e->playing && at_end(e)) {
		e->playing = false;
		ramp_set(&e->run_gain, 0.0f, independent(e) && e->xfade > 0 ? e->xfade_len : 0);
	}
}

void audio_engine_process(struct audio_engine *e, float *out, unsigned frames)
{
	float gr = 0.0f, peak = 0.0f;
#ifdef TM_HAVE_MXCSR
	unsigned csr = _mm_getcsr();

	_mm_setcsr(csr | 0x8040);  /* FTZ | DAZ (libebur128 TURN_ON_FTZ) */
#endif
	for (unsigned done = 0; done < frames;) {
		int64_t next = drain(e, e->frame);
		int n = frames - done > SUB ? SUB : (int)(frames - done);

		/* split the block where a scheduled command falls due */
		if (next - e->frame < n)
			n = (int)(next - e->frame);
		sub_block(e, out + 2 * done, n, &gr);
		done += (unsigned)n;
		e->frame += n;
	}
	for (unsigned i = 0; i < 2 * frames; i++)
		if (fabsf(out[i]) > peak)
			peak = fabsf(out[i]);
	tap(e, out, frames);
	atomic_fetch_add_explicit(&e->pub_rendered, frames, memory_order_release);
	publish(e, gr, peak);
#ifdef TM_HAVE_MXCSR
	_mm_setcsr(csr);
#endif
}

void audio_engine_count_xrun(struct audio_engine *e)
{
	atomic_fetch_add_explicit(&e->xruns, 1, memory_order_relaxed);
}

/* ---- control thread ---- */

struct audio_engine *audio_engine_new(double rate, const struct chain_settings *s,
				      int *err)
{
	struct audio_engine *e = calloc(1, sizeof(*e));
	int cerr = 0;

	if (!e) {
		*err = AUDIO_ENGINE_ERROR_NOMEM;
		return NULL;
	}
	e->rate = rate;
	e->xfade_len = (int)lround(rate * AUDIO_ENGINE_XFADE_MS / 1000.0);
	if (e->xfade_len < 2)
		e->xfade_len = 2;
	e->chain = chain_new(rate, SUB, s, &cerr);
	if (!e->chain) {
		*err = AUDIO_ENGINE_ERROR_CHAIN;
		goto error;
	}
	e->latency = chain_latency(e->chain);
	{
		/* the platform limiter: the chain at its defaults is a limiter
		 * alone (EQ flat, stereo neutral, the rest off); fixed release
		 * like a player's */
		struct chain_settings ps;

		chain_settings_default(&ps);
		chain_settings_assign(&ps, "limiter.auto_release=off", NULL, 0);
		e->plim = chain_new(rate, SUB, &ps, &cerr);
		if (!e->plim) {
			*err = AUDIO_ENGINE_ERROR_CHAIN;
			goto error;
		}
		e->bsolo = chain_bandsolo_new(rate, &cerr);
		if (!e->bsolo) {
			*err = AUDIO_ENGINE_ERROR_CHAIN;
			goto error;
		}
		e->plim_ceiling_idx = (unsigned)chain_param_find("limiter.ceiling_dbtp");
		e->plim_release_idx = (unsigned)chain_param_find("limiter.release_ms");
		/* idle while off: the filters cost ~90 ns a frame */
		chain_bandsolo_keep_warm(e->bsolo, 0);
	}
	e->limiter = chain_proc_find("limiter");
	e->n_procs = chain_proc_count();
	if (e->n_procs > AUDIO_ENGINE_PROCS)
		e->n_procs = AUDIO_ENGINE_PROCS;  /* test_engine checks it fits */
	for (int c = 0; c < 2; c++) {
		e->wet[c] = calloc(SUB, sizeof(float));
		e->dry[c] = calloc(SUB, sizeof(float));
		e->a[c] = calloc(SUB, sizeof(float));
		e->b[c] = calloc(SUB, sizeof(float));
		e->dl[c] = calloc(SUB, sizeof(float));
		e->dr[c] = calloc(SUB, sizeof(float));
		if (!e->wet[c] || !e->dry[c] || !e->a[c] || !e->b[c] || !e->dl[c] || !e->dr[c]) {
			*err = AUDIO_ENGINE_ERROR_NOMEM;
			goto error;
		}
	}
	e->tap_mem = calloc((size_t)TAP_FRAMES * 2, sizeof(float));
	if (!e->tap_mem) {
		*err = AUDIO_ENGINE_ERROR_NOMEM;
		goto error;
	}
	audio_ring_init(&e->cmd_ring, sizeof(struct cmd), CMD_RING, e->cmd_mem);
	audio_ring_init(&e->trash_ring, sizeof(struct trash), TRASH_RING, e->trash_mem);
	audio_ring_init(&e->tap_ring, 2 * sizeof(float), TAP_FRAMES, e->tap_mem);
	pthread_mutex_init(&e->cmd_lock, NULL);

	e->match = true;
	e->dev_level_db = CHAIN_DEVSIM_LEVEL_DEF_DB;
	e->dev_noise_db = CHAIN_DEVSIM_NOISE_OFF_DB;
	ramp_snap(&e->run_gain, 0.0f);
	ramp_snap(&e->jump_gain, 1.0f);
	ramp_snap(&e->bypass_mix, 0.0f);
	for (int i = 0; i < 4; i++)
		ramp_snap(&e->mon[i], monitor_matrix[AUDIO_MONITOR_STEREO][i]);
	for (int r = 0; r < AUDIO_ROUTES; r++)
		ramp_snap(&e->route[r], 1.0f);
	e->primed = false;
	e->mode = AUDIO_PLAYHEAD_SYNC;
	e->jump_to = POS_NONE;
	for (int i = 0; i < AUDIO_MAX_SOURCES; i++)
		e->pend[i] = POS_NONE;
	*err = 0;
	return e;
error:
	audio_engine_free(&e);
	return NULL;
}

void audio_engine_free(struct audio_engine **ep)
{
	struct audio_engine *e = ep ? *ep : NULL;
	struct cmd c;

	if (!e)
		return;
	/* clips still in flight in the command ring */
	while (audio_ring_read(&e->cmd_ring, &c, 1) == 1)
		if (c.type == CMD_CLIP && c.ptr) {
			struct audio_clip *clip = c.ptr;
			audio_clip_free(&clip);
		} else if (c.type == CMD_DEVSIM && c.ptr) {
			struct chain_devsim *d = c.ptr;

			chain_devsim_free(&d);
		}
	audio_engine_collect(e);
	for (int i = 0; i < AUDIO_MAX_SOURCES; i++)
		audio_clip_free(&e->clips[i]);
	chain_devsim_free(&e->dev);
	chain_devsim_free(&e->dev_old);
	chain_free(&e->plim);
	chain_bandsolo_free(&e->bsolo);
	chain_free(&e->chain);
	for (int c2 = 0; c2 < 2; c2++) {
		free(e->wet[c2]);
		free(e->dry[c2]);
		free(e->a[c2]);
		free(e->b[c2]);
		free(e->dl[c2]);
		free(e->dr[c2]);
	}
	free(e->tap_mem);
	if (e->cmd_ring.data)
		pthread_mutex_destroy(&e->cmd_lock);
	free(e);
	*ep = NULL;
}

static int post(struct audio_engine *e, const struct cmd *c)
{
	size_t n;

	struct cmd stamped = *c;

	stamped.at = e->ctl_at;
	pthread_mutex_lock(&e->cmd_lock);
	n = audio_ring_write(&e->cmd_ring, &stamped, 1);
	pthread_mutex_unlock(&e->cmd_lock);
	return n == 1 ? 0 : AUDIO_ENGINE_ERROR_FULL;
}

int audio_engine_play(struct audio_engine *e, bool play)
{
	struct cmd c = { .type = CMD_PLAY, .a = play };

	return post(e, &c);
}

int audio_engine_seek(struct audio_engine *e, double seconds)
{
	struct cmd c = { .type = CMD_SEEK };

	if (!isfinite(seconds))
		return AUDIO_ENGINE_ERROR_ARG;
	if (seconds < 0)
		seconds = 0;
	if (seconds > 1e9)
		seconds = 1e9;  /* far past any clip; keeps llround defined */
	c.i0 = (int64_t)llround(seconds * e->rate);
	return post(e, &c);
}

int audio_engine_set_source(struct audio_engine *e, int slot)
{
	struct cmd c = { .type = CMD_SOURCE, .a = slot };

	if (slot < 0 || slot >= AUDIO_MAX_SOURCES)
		return AUDIO_ENGINE_ERROR_ARG;
	return post(e, &c);
}

int audio_engine_set_bypass(struct audio_engine *e, bool bypass)
{
	struct cmd c = { .type = CMD_BYPASS, .a = bypass };

	return post(e, &c);
}

int audio_engine_set_match(struct audio_engine *e, bool match)
{
	struct cmd c = { .type = CMD_MATCH, .a = match };

	return post(e, &c);
}

int audio_engine_set_monitor(struct audio_engine *e, enum audio_monitor m)
{
	struct cmd c = { .type = CMD_MONITOR, .a = (int)m };

	if ((unsigned)m >= AUDIO_MONITOR_COUNT)
		return AUDIO_ENGINE_ERROR_ARG;
	return post(e, &c);
}

int audio_engine_set_platform_limiter(struct audio_engine *e, bool on, float ceiling_db,
				      float release_ms)
{
	struct cmd c = { .type = CMD_PLATFORM_LIMITER, .a = on, .f = ceiling_db,
			 .i0 = (int64_t)lroundf(release_ms) };

	return post(e, &c);
}

int audio_engine_set_bandsolo(struct audio_engine *e, int band)
{
	struct cmd c = { .type = CMD_BANDSOLO, .a = band };

	if (band < 0 || band > CHAIN_BANDSOLO_BANDS)
		return AUDIO_ENGINE_ERROR_ARG;
	return post(e, &c);
}

int audio_engine_set_devsim(struct audio_engine *e, struct chain_devsim *d)
{
	struct cmd c = { .type = CMD_DEVSIM, .ptr = d };

	return post(e, &c);
}

int audio_engine_set_listen_level(struct audio_engine *e, float level_db)
{
	struct cmd c = { .type = CMD_DEV_LEVEL, .f = level_db };

	if (!(level_db >= CHAIN_DEVSIM_LEVEL_MIN_DB && level_db <= CHAIN_DEVSIM_LEVEL_MAX_DB))
		return AUDIO_ENGINE_ERROR_ARG;
	return post(e, &c);
}

int audio_engine_set_road_noise(struct audio_engine *e, float noise_db)
{
	struct cmd c = { .type = CMD_DEV_NOISE, .f = noise_db };

	if (isnan(noise_db) || noise_db > CHAIN_DEVSIM_NOISE_MAX_DB)
		return AUDIO_ENGINE_ERROR_ARG;
	return post(e, &c);
}

/* A loop region in frames into c->i0, c->i1; 0 or AUDIO_ENGINE_ERROR_ARG. */
static int loop_frames(const struct audio_engine *e, double in_s, double out_s, bool on,
		       struct cmd *c)
{
	if (!isfinite(in_s) || !isfinite(out_s) || in_s < 0 || out_s > 1e9)
		return AUDIO_ENGINE_ERROR_ARG;
	c->i0 = (int64_t)llround(in_s * e->rate);
	c->i1 = (int64_t)llround(out_s * e->rate);
	/* a loop must hold at least two crossfades */
	if (on && c->i1 - c->i0 < 2 * e->xfade_len)
		return AUDIO_ENGINE_ERROR_ARG;
	return 0;
}

int audio_engine_set_loop(struct audio_engine *e, double in_s, double out_s, bool on)
{
	struct cmd c = { .type = CMD_LOOP, .a = on };
	int err = loop_frames(e, in_s, out_s, on, &c);

	return err ? err : post(e, &c);
}

int audio_engine_set_playhead(struct audio_engine *e, enum audio_playhead mode)
{
	struct cmd c = { .type = CMD_PLAYHEAD, .a = (int)mode };

	if (mode != AUDIO_PLAYHEAD_SYNC && mode != AUDIO_PLAYHEAD_INDEPENDENT)
		return AUDIO_ENGINE_ERROR_ARG;
	return post(e, &c);
}

int audio_engine_set_offset(struct audio_engine *e, int slot, int64_t frames)
{
	struct cmd c = { .type = CMD_OFFSET, .a = slot, .i0 = frames };

	if (slot < 0 || slot >= AUDIO_MAX_SOURCES || (slot == 0 && frames != 0) ||
	    frames > AUDIO_ENGINE_OFFSET_MAX || frames < -AUDIO_ENGINE_OFFSET_MAX)
		return AUDIO_ENGINE_ERROR_ARG;
	return post(e, &c);
}

int audio_engine_seek_slot(struct audio_engine *e, int slot, double seconds)
{
	struct cmd c = { .type = CMD_SEEK_SLOT, .a = slot };

	if (slot < 0 || slot >= AUDIO_MAX_SOURCES || !isfinite(seconds))
		return AUDIO_ENGINE_ERROR_ARG;
	if (seconds < 0)
		seconds = 0;
	if (seconds > 1e9)
		seconds = 1e9;  /* far past any clip; keeps llround defined */
	c.i0 = (int64_t)llround(seconds * e->rate);
	return post(e, &c);
}

int audio_engine_set_slot_loop(struct audio_engine *e, int slot, double in_s, double out_s,
			       bool on)
{
	struct cmd c = { .type = CMD_SLOT_LOOP, .a = slot, .f = on ? 1.0f : 0.0f };
	int err;

	if (slot < 0 || slot >= AUDIO_MAX_SOURCES)
		return AUDIO_ENGINE_ERROR_ARG;
	err = loop_frames(e, in_s, out_s, on, &c);
	return err ? err : post(e, &c);
}

int audio_engine_set_param(struct audio_engine *e, unsigned idx, float value)
{
	struct cmd c = { .type = CMD_PARAM, .a = (int)idx, .f = value };

	if (idx >= chain_param_count())
		return AUDIO_ENGINE_ERROR_ARG;
	return post(e, &c);
}

int audio_engine_set_gain(struct audio_engine *e, int route, float gain_db)
{
	struct cmd c = { .type = CMD_GAIN, .a = route, .f = gain_db };
	int err;

	if (route < 0 || route >= AUDIO_ROUTES || !isfinite(gain_db))
		return AUDIO_ENGINE_ERROR_ARG;
	err = post(e, &c);
	if (!err)
		e->ctl_gain_db[route] = gain_db;
	return err;
}

int audio_engine_set_gain_with_chain(struct audio_engine *e, int route, float gain_db,
				     float input_db, float tau_ms)
{
	struct cmd c = { .type = CMD_GAIN_WITH_CHAIN, .a = route, .f = gain_db, .f1 = input_db,
			 .f2 = tau_ms };
	int err;

	if (route < 0 || route >= AUDIO_ROUTES || !isfinite(gain_db) || !isfinite(input_db) ||
	    !(tau_ms > 0.0f && tau_ms <= 1000.0f))
		return AUDIO_ENGINE_ERROR_ARG;
	err = post(e, &c);
	if (!err)
		e->ctl_gain_db[route] = gain_db;
	return err;
}

int audio_engine_set_clip(struct audio_engine *e, int slot, struct audio_clip *clip)
{
	struct cmd c = { .type = CMD_CLIP, .a = slot, .ptr = clip };

	if (slot < 0 || slot >= AUDIO_MAX_SOURCES)
		return AUDIO_ENGINE_ERROR_ARG;
	return post(e, &c);
}

void audio_engine_collect(struct audio_engine *e)
{
	struct trash t;

	while (audio_ring_read(&e->trash_ring, &t, 1) == 1) {
		if (t.kind == TRASH_CLIP) {
			struct audio_clip *c = t.ptr;

			audio_clip_free(&c);
		} else {
			struct chain_devsim *d = t.ptr;

			chain_devsim_free(&d);
		}
	}
}

void audio_engine_snapshot(struct audio_engine *e, struct audio_engine_snapshot *s)
{
	unsigned flags = atomic_load_explicit(&e->pub_flags, memory_order_relaxed);

	memset(s, 0, sizeof(*s));
	s->rate = e->rate;
	s->rendered = (int64_t)atomic_load_explicit(&e->pub_rendered, memory_order_acquire);
	s->position = atomic_load_explicit(&e->pub_position, memory_order_relaxed);
	s->length = atomic_load_explicit(&e->pub_length, memory_order_relaxed);
	s->source = atomic_load_explicit(&e->pub_source, memory_order_relaxed);
	s->playing = flags & FLAG_PLAYING;
	s->bypass = flags & FLAG_BYPASS;
	s->match = flags & FLAG_MATCH;
	s->loop_on = flags & FLAG_LOOP;
	s->monitor = (enum audio_monitor)((flags >> FLAG_MONITOR_SHIFT) & 0xf);
	s->band = (int)((flags >> FLAG_BAND_SHIFT) & 0xf);
	s->loop_in = atomic_load_explicit(&e->pub_loop_in, memory_order_relaxed);
	s->loop_out = atomic_load_explicit(&e->pub_loop_out, memory_order_relaxed);
	s->latency = e->latency;
	s->xruns = atomic_load_explicit(&e->xruns, memory_order_relaxed);
	s->tap_overruns = atomic_load_explicit(&e->tap_overruns, memory_order_relaxed);
	for (int r = 0; r < AUDIO_ROUTES; r++)
		s->gain_db[r] = s->match ? e->ctl_gain_db[r] : 0.0f;
	s->limiter_gr_db = bits_float(atomic_load_explicit(&e->pub_gr_bits, memory_order_relaxed));
	s->n_procs = e->n_procs;
	for (unsigned p = 0; p < e->n_procs; p++) {
		s->proc_gr_db[p] = bits_float(atomic_load_explicit(&e->pub_proc_gr[p],
								   memory_order_relaxed));
		for (unsigned m = 0; m < AUDIO_ENGINE_METERS; m++)
			s->proc_meter[p][m] = bits_float(
				atomic_load_explicit(&e->pub_proc_meter[p][m], memory_order_relaxed));
	}
	s->peak_dbfs = 20.0f * log10f(bits_float(atomic_load_explicit(&e->pub_peak_bits,
								     memory_order_relaxed)) + 1e-30f);
	s->playhead = flags & FLAG_INDEPENDENT ? AUDIO_PLAYHEAD_INDEPENDENT : AUDIO_PLAYHEAD_SYNC;
	{
		uint64_t loops = atomic_load_explicit(&e->pub_slot_loop_on, memory_order_relaxed);

		for (int i = 0; i < AUDIO_MAX_SOURCES; i++) {
			s->slot_position[i] = atomic_load_explicit(&e->pub_slot_pos[i],
								   memory_order_relaxed);
			s->slot_offset[i] = atomic_load_explicit(&e->pub_slot_off[i],
								 memory_order_relaxed);
			s->slot_loop_on[i] = (loops >> i) & 1;
			s->slot_loop_in[i] = atomic_load_explicit(&e->pub_slot_in[i],
								  memory_order_relaxed);
			s->slot_loop_out[i] = atomic_load_explicit(&e->pub_slot_out[i],
								   memory_order_relaxed);
			s->slot_length[i] = atomic_load_explicit(&e->pub_slot_len[i],
								 memory_order_relaxed);
		}
	}
}

size_t audio_engine_tap_read(struct audio_engine *e, float *lr, size_t max_frames)
{
	return audio_ring_read(&e->tap_ring, lr, max_frames);
}

void audio_engine_schedule_at(struct audio_engine *e, int64_t frame)
{
	e->ctl_at = frame > 0 ? frame : 0;
}

/*
 * termaster — the workstation behind the screen and the headless reader
 * (see studio.h).
 *
 * Threads: the control thread calls every audio_studio_* function; one
 * worker thread runs jobs from a queue, one after another (decode +
 * measure a source, render the chain over the mix and measure "after",
 * align, analyse, copy a clip).  The worker never talks to the engine: it
 * leaves results on a list that audio_studio_poll() takes.  `lock` guards
 * the queue, the result list and the per-source progress; it is only ever
 * held for a few assignments, never across a job, so poll never waits on
 * one (stats.lock_waits counts the times poll found it taken).
 *
 * Sources and engine slots: studio slot n is engine slot n (the screen and
 * the snapshot speak engine slots).  A source owns its decoded clip
 * (src[n].clip); eng[n] is what engine slot n was last given.  sync_slots()
 * makes eng[] follow the sources, and a clip leaves an engine slot (which
 * frees it: the engine hands it back and audio_engine_collect() frees it)
 * only when nothing needs it any more: no source owns it, no renumbering
 * copies from it, no queued or running job reads it.  Removing reference k
 * moves the sources after it down one slot; each of those clips is then
 * copied on the worker (the engine cannot hold one clip in two slots: it
 * would free it twice), lowest slot first, so that at most one extra clip
 * exists at a time; until its copy lands, a moved slot still plays its old
 * clip.  Jobs name sources by a stable id, never by slot.
 *
 * Memory: decoded references are kept within a budget (default 4 GiB,
 * $TERMASTER_MEMORY_MB); past it, the least recently played are released
 * (their measurements stay) and decoded again when chosen.
 *
 * Matching: every route has a loudness profile
 * (refs/riding.h: energy in 100 ms segments), the mix "after" from the
 * background render, the others from their clips; integrated, region and
 * riding are read off those profiles, so a region change or the playhead
 * moving costs no new measurement.
 */
#include "config.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "audio/clip.h"
#include "audio/demo.h"
#include "audio/output.h"
#include "audio/render.h"
#include "audio/studio.h"
#include "chain/devsim.h"
#include "chain/bandsolo.h"
#include "chain/truepeak.h"
#include "refs/align.h"
#include "refs/loudness.h"
#include "refs/match.h"
#include "refs/riding.h"
#include "refs/spectrum.h"

/* Input gain of the demo's chain (a string: it goes through the table). */
#define AUDIO_STUDIO_DEMO_GAIN_DB "10"

/* Debounce of "after" re-measurement after the last parameter change:
 * short, since a newer change cancels a render under way within one
 * block (live_gen), so a held key costs little. */
#define AFTER_DEBOUNCE_S 0.05
/* Riding: the gain of what plays follows its target through a one-pole
 * low-pass of this time constant (audio time), and is sent only when it
 * has moved this far since the last send (the engine ramps each step). */
#define RIDE_TAU_S 1.0
#define RIDE_STEP_DB 0.05
/* Routes not heard take their gain at once, in finer steps, so that a
 * switch lands matched. */
#define RIDE_QUIET_STEP_DB 0.005
/* Default memory budget of decoded references. */
#define MEMORY_DEFAULT_MB 4096.0
/* Pre-roll of a region render of "after" (analysis), seconds: the chain's
 * slowest settling (compressor and limiter release, auto release) is well
 * within it. */
#define PREROLL_S 5.0
/* Cues closer than this are one cue. */
#define CUE_DUP_S 0.010

enum job_type {
	JOB_LOAD, JOB_DEMO, JOB_AFTER, JOB_DEVSIM, JOB_SYSMEASURE, JOB_CODEC,
	JOB_COPY, JOB_ALIGN, JOB_ANALYSIS, JOB_AFTER_TP,
};

struct job {
	struct job *next;
	enum job_type type;
	unsigned id;                  /* source id (LOAD, DEMO, COPY, ALIGN, ANALYSIS) */
	int demo;                     /* JOB_DEMO: which */
	unsigned gen;                 /* JOB_AFTER: settings generation */
	bool premeasure;              /* JOB_AFTER: for the cache only */
	bool region_only;             /* JOB_AFTER: [from, to) of the mix only */
	/* JOB_AFTER: the true peak by a JOB_AFTER_TP of its own over `out`
	 * (the chain's output, 2 × the mix's frames), which carries it */
	bool tp_later;
	float *out;
	bool measure;                 /* JOB_LOAD: measure too (not a reload) */
	struct chain_settings settings;
	struct chain_devsim_spec devspec;   /* JOB_DEVSIM */
	struct chain_devsim *devsim;        /* its result */
	float level_db;                     /* JOB_SYSMEASURE: listening level */
	int band;                           /* JOB_SYSMEASURE: soloed band, 0 none */
	bool has_system;                    /* JOB_SYSMEASURE: through the system */
	const struct audio_clip *clips[AUDIO_MAX_SOURCES];  /* JOB_SYSMEASURE */
	int n_clips;
	/* clips other jobs read (COPY: [0]; ALIGN: mix, ref; ANALYSIS: [0]) */
	const struct audio_clip *uses[2];
	/* JOB_CODEC */
	int codec, kbps;
	bool artefacts;
	struct audio_codec_result cres;
	/* JOB_SYSMEASURE results per route: loudness through the system */
	struct refs_loudness sys[AUDIO_ROUTES];
	bool sys_valid[AUDIO_ROUTES];
	/* JOB_ALIGN */
	struct refs_align_result align;
	/* JOB_ANALYSIS: route, region (frames of the route's clip), key */
	int route;
	int64_t from, to;
	bool over_region;
	unsigned key;
	struct refs_loudness an_loud;
	struct refs_spectrum spec;
	/* results */
	int err;
	char msg[256];
	struct audio_clip *clip;
	struct refs_loudness loud;
	struct refs_riding_profile prof;
};

/* What the comparison views get of a route (audio_studio_analysis). */
struct analysis {
	bool valid;
	unsigned key;                 /* of what it was computed from */
	bool queued;
	struct audio_route_analysis a;
	float *curve;                 /* owned short-term curve */
};

struct source {
	struct audio_source_info info;  /* progress/state written by the worker under lock */
	unsigned id;
	struct audio_clip *clip;        /* owned decoded clip, or NULL */
	const struct audio_clip *copy_from;  /* renumbering: copy this (in another slot) */
	bool load_queued;
	bool align_wanted;              /* an align waits for the clip */
	int64_t bytes;                  /* decoded size (kept when released) */
	uint64_t last_used;             /* LRU tick */
	struct refs_riding_profile prof;   /* of the clip as is */
	bool prof_valid;
};

struct premeasured {
	bool used;
	uint64_t tick;
	struct chain_settings settings;
	struct refs_loudness loud;
	struct refs_riding_profile prof;
};

struct audio_studio {
	struct audio_studio_opts opts;
	double rate;
	struct audio_engine *engine;
	struct audio_output *output;
	bool has_device;
	char output_status[320];
	char notice[768];

	struct chain_settings settings;
	unsigned after_gen;           /* bumped by every parameter change */
	bool after_dirty;
	double after_changed_at;
	bool after_queued;
	struct audio_match_info match;
	struct refs_riding_profile after_prof;   /* of the measured "after" */
	bool after_prof_valid;
	unsigned after_prof_gen;                 /* the settings generation it is of */
	/* region first: with the region method, "after" over the loop region
	 * (rendered with pre-roll) is measured before the whole track */
	struct refs_riding_profile after_reg;    /* zeros outside [reg_from, reg_to) */
	bool after_reg_valid;
	unsigned after_reg_gen;
	int64_t reg_from, reg_to;                /* segments */
	bool match_dirty;
	struct premeasured pre[AUDIO_STUDIO_PREMEASURE_MAX];
	uint64_t tick;
	struct refs_platform_set *platforms;
	struct refs_device_set *devices;
	char system[REFS_DEVICE_NAME_MAX];   /* "" = none */
	unsigned system_gen;                 /* drops stale JOB_DEVSIM results */
	struct chain_devsim_spec system_spec;
	float listen_db;
	int band;                            /* band solo, 0 = none */
	/* loudness of every route as heard through the band solo and the
	 * system, for matching */
	unsigned sys_gen;                    /* bumped by what invalidates it */
	_Atomic unsigned sys_live_gen;       /* the worker cancels stale passes */
	bool sys_dirty;
	bool sys_measured;
	struct refs_loudness sys_loud[AUDIO_ROUTES];
	bool sys_valid[AUDIO_ROUTES];
	const struct audio_clip *eng[AUDIO_MAX_SOURCES];  /* what each engine slot holds */
	struct audio_codec_info codec;
	unsigned codec_gen;
	_Atomic unsigned codec_live_gen;
	bool codec_dirty;
	int user_source;                     /* what the user chose (0 = mix) */
	int codec_slot;                      /* the codec slot playing, or -1 */
	int platform;                 /* index in platforms, or -1 */
	struct refs_platform_result presult[AUDIO_ROUTES];
	float sent_gain_db[AUDIO_ROUTES];  /* what the engine has */
	bool gains_sent;

	/* referencing */
	enum audio_playhead playhead;
	bool loop_on;                        /* the timeline's loop (sync) */
	double loop_in_s, loop_out_s;
	double trim_db[AUDIO_ROUTES];
	double budget_bytes;
	double ride_gain[AUDIO_ROUTES];      /* riding: the smoothed gains */
	bool ride_valid[AUDIO_ROUTES];
	int64_t ride_rendered;               /* audio clock of the last ride */
	double method_lufs[AUDIO_ROUTES];    /* each route's loudness by the method */
	bool method_valid[AUDIO_ROUTES];
	struct analysis an[AUDIO_ROUTES];
	unsigned an_gen;                     /* bumped when regions or sources change */
	struct audio_studio_stats stats;
	struct audio_engine_snapshot seen;   /* what watch_engine() saw last */
	bool seen_valid;

	struct source src[AUDIO_MAX_SOURCES];
	int n_src;
	unsigned next_id;
	const struct audio_clip *mix_clip;

	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct job *queue, *queue_tail;
	struct job *done;
	struct job *running;
	bool quit;
	pthread_t worker;
	bool worker_started;
	_Atomic unsigned live_gen;    /* worker reads it to cancel stale renders */
	atomic_bool stopping;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Adds to the notice while the studio opens, so that no start-up warning
 * (device rate, a broken user file) hides another; later events replace
 * it (audio_studio_notice() is "the last notable event"). */
static void add_notice(struct audio_studio *st, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void add_notice(struct audio_studio *st, const char *fmt, ...)
{
	size_t used = strlen(st->notice);
	va_list ap;

	if (used && used + 2 < sizeof(st->notice)) {
		memcpy(st->notice + used, "; ", 3);
		used += 2;
	}
	if (used + 1 >= sizeof(st->notice))
		return;
	va_start(ap, fmt);
	vsnprintf(st->notice + used, sizeof(st->notice) - used, fmt, ap);
	va_end(ap);
}

void audio_studio_opts_default(struct audio_studio_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->max_peak_dbtp = 0.0;
}

static const char *const method_names[AUDIO_MATCH_METHOD_COUNT] = {
	"integrated", "region", "riding",
};

const char *audio_match_method_name(enum audio_match_method m)
{
	return (unsigned)m < AUDIO_MATCH_METHOD_COUNT ? method_names[m] : "?";
}

int audio_match_method_find(const char *name)
{
	for (int i = 0; name && i < AUDIO_MATCH_METHOD_COUNT; i++)
		if (!strcmp(name, method_names[i]))
			return i;
	return -1;
}

/* Slot of a source id, or -1 (removed).  Under lock or on the control
 * thread (only the control thread moves sources, under lock). */
static int slot_of_id(const struct audio_studio *st, unsigned id)
{
	for (int i = 0; i < st->n_src; i++)
		if (st->src[i].id == id)
			return i;
	return -1;
}

/* ---- worker ---- */

struct progress_ctx {
	struct audio_studio *st;
	unsigned id;
	double base, span;   /* map 0 … 1 of a phase onto the slot's progress */
};

static int load_progress(void *user, double fraction)
{
	struct progress_ctx *p = user;
	int slot, gone;

	if (atomic_load(&p->st->stopping))
		return 1;
	pthread_mutex_lock(&p->st->lock);
	slot = slot_of_id(p->st, p->id);
	gone = slot < 0;
	if (!gone)
		p->st->src[slot].info.progress = p->base + p->span * fraction;
	pthread_mutex_unlock(&p->st->lock);
	return gone;  /* removed meanwhile: stop */
}

static void set_state(struct audio_studio *st, unsigned id, enum audio_source_state s)
{
	int slot;

	pthread_mutex_lock(&st->lock);
	slot = slot_of_id(st, id);
	if (slot >= 0)
		st->src[slot].info.state = s;
	pthread_mutex_unlock(&st->lock);
}

static void run_measure(struct audio_studio *st, struct job *j)
{
	struct progress_ctx p = { st, j->id, 0.0, 0.8 };

	set_state(st, j->id, AUDIO_SOURCE_MEASURING);
	/* our own BS.1770 meter: libebur128's readings (within 1e-9 LU,
	 * tests/test_loudness), at a ninth of its cost with its true peak */
	j->err = refs_loudness_measure_flags(j->clip->data, j->clip->frames, 2, j->clip->rate,
					     REFS_ANALYSER_OWN_LOUDNESS, &j->loud, load_progress, &p);
	if (!j->err) {
		p.base = 0.8;
		p.span = 0.2;
		j->err = refs_riding_profile_measure(j->clip->data, j->clip->frames, j->clip->rate,
						     false, &j->prof, load_progress, &p);
	}
	if (j->err) {
		snprintf(j->msg, sizeof(j->msg), "loudness analysis failed: %s",
			 refs_loudness_strerror(j->err));
		audio_clip_free(&j->clip);
	}
}

static void run_load(struct audio_studio *st, struct job *j)
{
	struct progress_ctx p = { st, j->id, 0.0, 1.0 };
	char path[sizeof(st->src[0].info.path)];
	int slot;

	pthread_mutex_lock(&st->lock);
	slot = slot_of_id(st, j->id);
	if (slot >= 0)
		memcpy(path, st->src[slot].info.path, sizeof(path));
	pthread_mutex_unlock(&st->lock);
	if (slot < 0) {
		j->err = AUDIO_CLIP_ERROR_CANCELLED;
		snprintf(j->msg, sizeof(j->msg), "removed");
		return;
	}
	j->err = audio_clip_load(path, st->rate, &j->clip, load_progress, &p,
				 j->msg, sizeof(j->msg));
	if (j->err || !j->measure)
		return;
	run_measure(st, j);
}

static void run_demo(struct audio_studio *st, struct job *j)
{
	j->clip = audio_demo_clip(j->demo, st->rate);
	if (!j->clip) {
		j->err = AUDIO_CLIP_ERROR_NOMEM;
		snprintf(j->msg, sizeof(j->msg), "out of memory");
		return;
	}
	run_measure(st, j);
}

/* "After": the chain rendered over the mix and measured (the loudness
 * profile, and the true peak: libebur128's reading by chain/truepeak.c's
 * meter, which skips what provably cannot exceed the peak so far — a
 * quarter of libebur128's own cost, the same value).  The track is cut in
 * as many parts as there are processors (two here), rendered and measured
 * on as many threads (the worker and more): each part's chain starts
 * earlier (after_preroll_s(): six of the longest release, 2 to 10 s) so
 * that it has settled (compressor, limiter, auto release) where its part
 * begins, and its loudness meter 1 s earlier
 * (the K-weighting filters); what they produce before the cut is thrown
 * away.  The cuts lie on the 100 ms grid, so the profiles join into the
 * one a single pass gives (up to the rounding the chains' different
 * histories leave: the integrated loudness agreed to 0.001 LU). */
#define AFTER_PREROLL_S 10.0     /* at most … */
#define AFTER_PREROLL_MIN_S 2.0  /* … at least … */
#define AFTER_PREROLL_TAUS 6.0   /* … else this many of the longest release */
#define AFTER_PART_MIN_S 20.0    /* shorter parts: fewer of them */
/* the output kept for JOB_AFTER_TP: 256 MiB, 23 minutes at 48 kHz */
#define AFTER_KEEP_MAX_BYTES ((uint64_t)256 << 20)
#define AFTER_PARTS_MAX 8

struct after_half {
	struct audio_studio *st;
	const struct job *j;
	const struct audio_clip *mix;
	int64_t start, end;      /* rendered: [start, end) of the mix */
	int64_t meter_from;      /* loudness fed from here */
	int64_t meter_to;        /* … to here */
	int64_t keep_from;       /* true-peak readings kept for [keep_from, keep_to) */
	int64_t keep_to;
	bool flush;              /* the track ends here: flush the meter */
	bool tp_on;              /* read the true peak (else store, or nothing) */
	float *store;            /* NULL, or the output of [keep_from, keep_to) goes
				  * here (absolute frames, stereo) */
	int64_t pos;             /* absolute frame of the next frame the sink gets */
	struct refs_riding_profiler *prof;
	struct chain_truepeak *tp;
	float peak;
	float tp_out[AUDIO_RENDER_BLOCK];
	int err;
};

static bool after_stale(const struct after_half *h)
{
	return atomic_load(&h->st->stopping) ||
	       (!h->j->premeasure && atomic_load(&h->st->live_gen) != h->j->gen);
}

/* Frames [p, p + n) of the mix (absolute) into the true-peak meter; the
 * reading of push k is for the interval starting latency frames earlier. */
static void half_tp(struct after_half *h, const float *lr, int64_t p, size_t n)
{
	int64_t lat = chain_truepeak_latency(h->tp);

	chain_truepeak_push_block_above(h->tp, lr, 1, 2, n, h->peak, h->tp_out, NULL);
	for (size_t k = 0; k < n; k++) {
		int64_t at = p + (int64_t)k - lat;

		if (at >= h->keep_from && at < h->keep_to && h->tp_out[k] > h->peak)
			h->peak = h->tp_out[k];
	}
}

static int half_sink(void *user, const float *lr, size_t frames)
{
	struct after_half *h = user;
	int64_t p = h->pos;
	int64_t a, b;

	if (after_stale(h))
		return 1;  /* stale: a newer setting is waiting */
	h->pos += (int64_t)frames;
	a = p > h->meter_from ? p : h->meter_from;
	b = h->pos < h->meter_to ? h->pos : h->meter_to;
	if (b > a) {
		h->err = refs_riding_profiler_add(h->prof, lr + 2 * (a - p), (size_t)(b - a));
		if (h->err)
			return 1;
	}
	if (h->store) {
		a = p > h->keep_from ? p : h->keep_from;
		b = h->pos < h->keep_to ? h->pos : h->keep_to;
		if (b > a)
			memcpy(h->store + 2 * a, lr + 2 * (a - p), sizeof(float) * 2 * (size_t)(b - a));
	}
	if (h->tp_on && h->pos > h->meter_from) {
		a = p > h->meter_from ? p : h->meter_from;
		half_tp(h, lr + 2 * (a - p), a, (size_t)(h->pos - a));
	}
	return 0;
}

static void render_half(struct after_half *h)
{
	const struct audio_clip *mix = h->mix;
	int err = 0;

	h->prof = refs_riding_profiler_new(mix->rate, false, &err);
	if (h->tp_on)
		h->tp = chain_truepeak_new_dual(2, 0, mix->rate, &err);
	if (!h->prof || (h->tp_on && !h->tp)) {
		h->err = err ? err : AUDIO_RENDER_ERROR_NOMEM;
		return;
	}
	h->pos = h->start;
	h->err = audio_render_run(mix->data + 2 * h->start, h->end - h->start, mix->rate,
				  &h->j->settings, half_sink, h);
	if (!h->err && h->tp_on && h->flush) {
		static const float zero[2 * 128];
		int64_t l = chain_truepeak_latency(h->tp);

		for (int64_t k = 0; k < l; k += 128) {
			size_t m = l - k < 128 ? (size_t)(l - k) : 128;

			half_tp(h, zero, h->pos, m);
			h->pos += (int64_t)m;
		}
	}
}

static void *half_main(void *arg)
{
	audio_thread_background();
	render_half(arg);
	return NULL;
}

static void fill_loudness(const struct refs_riding_profile *p, double duration_s,
			  double true_peak_dbtp, struct refs_loudness *l)
{
	double mm = -HUGE_VAL, ms = -HUGE_VAL;

	memset(l, 0, sizeof(*l));
	l->integrated_lufs = refs_riding_integrated(p, 0, p->n);
	l->lra_lu = refs_riding_lra(p, 0, p->n);
	l->true_peak_dbtp = true_peak_dbtp;
	/* no sample peak is measured; the true peak bounds it */
	l->sample_peak_dbfs = true_peak_dbtp;
	for (int64_t k = 1; k <= p->n; k++) {
		double s = refs_riding_shortterm(p, k);

		if (k >= REFS_RIDING_BLOCK_SEGS) {
			double e = 0;

			for (int i = 0; i < REFS_RIDING_BLOCK_SEGS; i++)
				e += p->energy[k - 1 - i];
			e /= REFS_RIDING_BLOCK_SEGS;
			if (e > 0 && -0.691 + 10 * log10(e) > mm)
				mm = -0.691 + 10 * log10(e);
		}
		if (s > ms)
			ms = s;
	}
	l->max_momentary_lufs = mm;
	l->max_shortterm_lufs = ms;
	l->duration_s = duration_s;
}

/* The pre-roll for these settings: the chain's memory is its envelopes,
 * the longest a release time constant (the limiter's; the compressor's and
 * the multiband bands' when on; auto release recovers within them too);
 * after AFTER_PREROLL_TAUS of it a difference of state has fallen to
 * e^-6 = 0.25 % of what it was.  EQ, stereo and saturation settle within
 * a second at 20 Hz, the floor. */
/* The larger of parameter `name` (ms) and ms; a missing one counts as
 * long as the longest pre-roll. */
static double longer_ms(const struct chain_settings *s, const char *name, double ms)
{
	int k = chain_param_find(name);

	if (k < 0)
		return AFTER_PREROLL_S * 1e3;
	return s->value[k] > ms ? s->value[k] : ms;
}

static bool param_on(const struct chain_settings *s, const char *name)
{
	int k = chain_param_find(name);

	return k < 0 || s->value[k] >= 0.5f;
}

static double after_preroll_s(const struct chain_settings *s)
{
	double ms = longer_ms(s, "limiter.release_ms", 0);

	if (param_on(s, "comp.on"))
		ms = longer_ms(s, "comp.release_ms", ms);
	if (param_on(s, "mb.on"))
		for (int b = 1; b <= 4; b++) {
			char name[32];

			snprintf(name, sizeof(name), "mb.%d.release_ms", b);
			ms = longer_ms(s, name, ms);
		}
	ms *= AFTER_PREROLL_TAUS * 1e-3;
	return ms < AFTER_PREROLL_MIN_S ? AFTER_PREROLL_MIN_S :
	       ms > AFTER_PREROLL_S ? AFTER_PREROLL_S : ms;
}

/* How many parts "after" is cut into: one per processor (at most
 * AFTER_PARTS_MAX), each at least AFTER_PART_MIN_S long. */
static int after_parts(double seconds)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	int k = cpus > 0 ? (int)(cpus < AFTER_PARTS_MAX ? cpus : AFTER_PARTS_MAX) : 1;

	while (k > 1 && seconds / k < AFTER_PART_MIN_S)
		k--;
	return k;
}

static void run_after(struct audio_studio *st, struct job *j)
{
	const struct audio_clip *mix = st->mix_clip;
	struct after_half *h;
	int64_t seg = llround(mix->rate * REFS_RIDING_HOP_S), n = mix->frames;
	int64_t pre = llround(after_preroll_s(&j->settings) * mix->rate), warm = llround(1.0 * mix->rate) / seg * seg;
	int parts = j->region_only ? 1 : after_parts((double)n / mix->rate);
	pthread_t th[AFTER_PARTS_MAX];
	bool threaded[AFTER_PARTS_MAX] = { false };
	float peak = 0;

	h = calloc((size_t)parts, sizeof(*h));
	if (!h) {
		j->err = AUDIO_RENDER_ERROR_NOMEM;
		return;
	}
	/* the true peak later, by JOB_AFTER_TP over the output kept here (as
	 * the caller asked; for a mix whose output would take more than
	 * AFTER_KEEP_MAX_BYTES, or without the memory, here) */
	if (j->tp_later && !j->region_only &&
	    (uint64_t)n * 2 * sizeof(float) <= AFTER_KEEP_MAX_BYTES) {
		j->out = malloc(sizeof(float) * 2 * (size_t)n);
		if (!j->out)
			j->tp_later = false;
	} else {
		j->tp_later = false;
	}
	for (int i = 0; i < parts; i++) {
		/* part i measures [from, to); its chain starts `pre` and its
		 * meter `warm` earlier, and it renders a little past `to` so
		 * the true-peak meter reads its last frames with what follows.
		 * Every part but the first renders its pre-roll too, so the
		 * cuts give each the same work: the first renders w frames,
		 * the others w - pre of their own, w = (n + (parts - 1) pre) /
		 * parts (after_parts() keeps parts longer than pre) */
		double w = ((double)n + (double)(parts - 1) * (double)pre) / parts;
		int64_t from = i == 0 ? 0 : (int64_t)(i * w - (i - 1) * (double)pre) / seg * seg;
		int64_t to = i + 1 == parts ? n : (int64_t)((i + 1) * w - i * (double)pre) / seg * seg;

		if (j->region_only) {
			from = j->from / seg * seg;
			to = j->to;
		}
		h[i].st = st;
		h[i].j = j;
		h[i].mix = mix;
		h[i].start = from - pre > 0 ? from - pre : 0;
		h[i].meter_from = from - warm >= h[i].start ? from - warm : from;
		h[i].meter_to = h[i].keep_to = to;
		h[i].keep_from = from;
		h[i].end = to + 2 * AUDIO_RENDER_BLOCK < n ? to + 2 * AUDIO_RENDER_BLOCK : n;
		h[i].flush = h[i].end == n;
		/* a region's true peak is never read */
		h[i].tp_on = !j->region_only && !j->tp_later;
		h[i].store = j->tp_later ? j->out : NULL;
	}
	for (int i = 1; i < parts; i++)
		threaded[i] = pthread_create(&th[i], NULL, half_main, &h[i]) == 0;
	render_half(&h[0]);
	for (int i = 1; i < parts; i++) {
		if (threaded[i])
			pthread_join(th[i], NULL);
		else
			render_half(&h[i]);
	}
	for (int i = 0; i < parts && !j->err; i++)
		j->err = h[i].err;
	if (!j->err) {
		/* join: segment k of the profile is segment k of the mix (a
		 * region alone has zeros before it) */
		j->prof.rate = mix->rate;
		j->prof.seg_frames = seg;
		j->prof.energy = calloc((size_t)(h[0].keep_from / seg + 1), sizeof(float));
		j->prof.n = h[0].keep_from / seg;
		if (!j->prof.energy)
			j->err = AUDIO_RENDER_ERROR_NOMEM;
		for (int i = 0; i < parts && !j->err; i++) {
			struct refs_riding_profile b;

			refs_riding_profiler_finish(h[i].prof, &b);
			j->err = refs_riding_profile_append(&j->prof, &b,
							    (h[i].keep_from - h[i].meter_from) / seg);
			refs_riding_profile_free(&b);
			if (h[i].peak > peak)
				peak = h[i].peak;
		}
		if (!j->err)
			fill_loudness(&j->prof, (double)n / mix->rate,
				      j->tp_later ? NAN : peak > 0 ? 20.0 * log10(peak) : -HUGE_VAL,
				      &j->loud);
	}
	for (int i = 0; i < parts; i++) {
		refs_riding_profiler_free(&h[i].prof);
		chain_truepeak_free(&h[i].tp);
	}
	free(h);
}

/* Part of JOB_AFTER_TP: the largest true peak of the intervals in
 * [keep_from, keep_to) of the output, the meter fed from 256 frames
 * before (its reading of an interval depends on the frames around it
 * only) and, at the track's end, flushed with zeros as run_after() does. */
static void *tp_part(void *arg)
{
	struct after_half *h = arg;
	const int64_t n = h->mix->frames;
	int64_t p = h->keep_from - 256 > 0 ? h->keep_from - 256 : 0;
	int64_t end = h->keep_to + 2 * AUDIO_RENDER_BLOCK < n ? h->keep_to + 2 * AUDIO_RENDER_BLOCK : n;
	int err = 0;

	h->tp = chain_truepeak_new_dual(2, 0, h->mix->rate, &err);
	if (!h->tp) {
		h->err = err ? err : AUDIO_RENDER_ERROR_NOMEM;
		return NULL;
	}
	while (p < end && !after_stale(h)) {
		size_t m = end - p < AUDIO_RENDER_BLOCK ? (size_t)(end - p) : AUDIO_RENDER_BLOCK;

		half_tp(h, h->j->out + 2 * p, p, m);
		p += (int64_t)m;
	}
	if (after_stale(h)) {
		h->err = AUDIO_RENDER_ERROR_CANCELLED;
		return NULL;
	}
	if (end == n) {
		static const float zero[2 * 128];
		int64_t l = chain_truepeak_latency(h->tp);

		for (int64_t k = 0; k < l; k += 128) {
			size_t m = l - k < 128 ? (size_t)(l - k) : 128;

			half_tp(h, zero, p, m);
			p += (int64_t)m;
		}
	}
	return NULL;
}

static void *tp_main(void *arg)
{
	audio_thread_background();
	return tp_part(arg);
}

/* JOB_AFTER_TP: the true peak of the output a JOB_AFTER kept, in as many
 * parts as run_after() cuts (the meter skips what cannot exceed the peak
 * so far, so the parts share no state: each its own peak). */
static void run_after_tp(struct audio_studio *st, struct job *j)
{
	const struct audio_clip *mix = st->mix_clip;
	const int64_t n = mix->frames;
	int parts = after_parts((double)n / mix->rate);
	struct after_half h[AFTER_PARTS_MAX];
	pthread_t th[AFTER_PARTS_MAX];
	bool threaded[AFTER_PARTS_MAX] = { false };
	float peak = 0;

	memset(h, 0, sizeof(h));
	for (int i = 0; i < parts; i++) {
		h[i].st = st;
		h[i].j = j;
		h[i].mix = mix;
		h[i].keep_from = (int64_t)((double)n * i / parts);
		h[i].keep_to = i + 1 == parts ? n : (int64_t)((double)n * (i + 1) / parts);
	}
	for (int i = 1; i < parts; i++)
		threaded[i] = pthread_create(&th[i], NULL, tp_main, &h[i]) == 0;
	tp_part(&h[0]);
	for (int i = 1; i < parts; i++) {
		if (threaded[i])
			pthread_join(th[i], NULL);
		else
			tp_part(&h[i]);
	}
	for (int i = 0; i < parts; i++) {
		if (!j->err)
			j->err = h[i].err;
		if (h[i].peak > peak)
			peak = h[i].peak;
		chain_truepeak_free(&h[i].tp);
	}
	j->loud.true_peak_dbtp = peak > 0 ? 20.0 * log10(peak) : -HUGE_VAL;
	j->loud.sample_peak_dbfs = j->loud.true_peak_dbtp;
}

/* Loudness of every route as heard through the playback system (noise
 * off, at the listening level), so that matching holds on the device. */
struct sys_ctx {
	struct audio_studio *st;
	struct chain_bandsolo *bs;
	struct chain_devsim *dev;
	struct refs_analyser *an;
	unsigned gen;
	float l[1024], r[1024], lr[2048];
};

static int sys_sink(void *user, const float *lr, size_t frames)
{
	struct sys_ctx *c = user;

	if (atomic_load(&c->st->stopping) || atomic_load(&c->st->sys_live_gen) != c->gen)
		return 1;
	for (size_t done = 0; done < frames;) {
		size_t m = frames - done < 1024 ? frames - done : 1024;
		float *buf[2] = { c->l, c->r };

		for (size_t k = 0; k < m; k++) {
			c->l[k] = lr[2 * (done + k)];
			c->r[k] = lr[2 * (done + k) + 1];
		}
		if (c->bs)
			chain_bandsolo_process(c->bs, buf, (unsigned)m);
		if (c->dev)
			chain_devsim_process(c->dev, buf, (unsigned)m);
		for (size_t k = 0; k < m; k++) {
			c->lr[2 * k] = c->l[k];
			c->lr[2 * k + 1] = c->r[k];
		}
		if (refs_analyser_add(c->an, c->lr, m))
			return 1;
		done += m;
	}
	return 0;
}

static int sys_measure(struct audio_studio *st, struct job *j, const float *lr, int64_t frames,
		       const struct chain_settings *through_chain, struct refs_loudness *out)
{
	struct sys_ctx *c = calloc(1, sizeof(*c));
	int err = 0;

	if (!c)
		return 1;
	c->st = st;
	c->gen = j->gen;
	if (j->has_system)
		c->dev = chain_devsim_new(st->rate, &j->devspec, &err);
	if (j->band > 0) {
		c->bs = chain_bandsolo_new(st->rate, &err);
		if (c->bs)
			chain_bandsolo_set(c->bs, j->band, 1);
	}
	c->an = refs_analyser_new_flags(2, st->rate, REFS_ANALYSER_OWN_LOUDNESS, &err);
	if ((c->dev || !j->has_system) && (c->bs || j->band == 0) && c->an) {
		if (c->dev)
			chain_devsim_set_level(c->dev, j->level_db, 1);
		if (through_chain)
			err = audio_render_run(lr, frames, st->rate, through_chain, sys_sink, c);
		else
			err = sys_sink(c, lr, (size_t)frames);
		if (!err)
			err = refs_analyser_result(c->an, out);
	} else {
		err = err ? err : 1;
	}
	chain_devsim_free(&c->dev);
	chain_bandsolo_free(&c->bs);
	refs_analyser_free(&c->an);
	free(c);
	return err;
}

static void run_sysmeasure(struct audio_studio *st, struct job *j)
{
	for (int i = 0; i < j->n_clips && !j->err; i++) {
		const struct audio_clip *c = j->clips[i];

		if (!c)
			continue;
		if (i == 0) {
			j->err = sys_measure(st, j, c->data, c->frames, &j->settings,
					     &j->sys[AUDIO_ROUTE_AFTER]);
			j->sys_valid[AUDIO_ROUTE_AFTER] = !j->err;
			if (!j->err)
				j->err = sys_measure(st, j, c->data, c->frames, NULL,
						     &j->sys[AUDIO_ROUTE_BEFORE]);
			j->sys_valid[AUDIO_ROUTE_BEFORE] = !j->err;
		} else {
			j->err = sys_measure(st, j, c->data, c->frames, NULL, &j->sys[i]);
			j->sys_valid[i] = !j->err;
		}
	}
}

struct codec_render {
	float *buf;
	int64_t at, frames;
	struct audio_studio *st;
	unsigned gen;
};

static int codec_sink(void *user, const float *lr, size_t frames)
{
	struct codec_render *c = user;

	if (atomic_load(&c->st->stopping) || atomic_load(&c->st->codec_live_gen) != c->gen)
		return 1;
	memcpy(c->buf + 2 * c->at, lr, sizeof(float) * 2 * frames);
	c->at += (int64_t)frames;
	return 0;
}

static int codec_progress(void *user, double fraction)
{
	struct codec_render *c = user;

	(void)fraction;
	return atomic_load(&c->st->stopping) || atomic_load(&c->st->codec_live_gen) != c->gen;
}

/* The master as it stands, encoded and decoded. */
static void run_codec(struct audio_studio *st, struct job *j)
{
	const struct audio_clip *mix = st->mix_clip;
	struct codec_render c = { NULL, 0, 0, st, j->gen };
	struct audio_codec_opts o;
	int ci = chain_param_find("limiter.ceiling_dbtp");

	c.frames = mix->frames;
	c.buf = malloc(sizeof(float) * 2 * (size_t)(mix->frames ? mix->frames : 1));
	if (!c.buf) {
		j->err = AUDIO_CODEC_ERROR_NOMEM;
		snprintf(j->msg, sizeof(j->msg), "out of memory");
		return;
	}
	j->err = audio_render_run(mix->data, mix->frames, mix->rate, &j->settings, codec_sink, &c);
	if (j->err) {
		snprintf(j->msg, sizeof(j->msg), "cancelled");
		free(c.buf);
		return;
	}
	audio_codec_opts_default(&o);
	o.codec = (enum audio_codec)j->codec;
	o.bitrate_kbps = j->kbps;
	o.ceiling_dbtp = ci >= 0 ? j->settings.value[ci] : -1.0;
	o.progress = codec_progress;
	o.user = &c;
	j->err = audio_codec_preview(c.buf, c.frames, mix->rate, &o, &j->cres, j->msg, sizeof(j->msg));
	free(c.buf);
	if (!j->err) {
		j->clip = audio_codec_take_clip(&j->cres, j->artefacts);
		if (!j->clip) {
			j->err = AUDIO_CODEC_ERROR_NOMEM;
			snprintf(j->msg, sizeof(j->msg), "out of memory");
		}
	}
}


/* Renumbering: a moved source's own copy of its clip. */
static void run_copy(struct audio_studio *st, struct job *j)
{
	const struct audio_clip *c = j->uses[0];

	(void)st;
	j->clip = audio_clip_from_frames(c->path, c->data, c->frames, c->rate);
	if (!j->clip) {
		j->err = AUDIO_CLIP_ERROR_NOMEM;
		snprintf(j->msg, sizeof(j->msg), "out of memory");
		return;
	}
	j->clip->file_rate = c->file_rate;
	j->clip->file_channels = c->file_channels;
	j->clip->file_frames = c->file_frames;
	j->clip->nonfinite = c->nonfinite;
	snprintf(j->clip->format, sizeof(j->clip->format), "%s", c->format);
}

static int stop_progress(void *user, double fraction)
{
	struct audio_studio *st = user;

	(void)fraction;
	return atomic_load(&st->stopping);
}

static void run_align(struct audio_studio *st, struct job *j)
{
	const struct audio_clip *a = j->uses[0], *b = j->uses[1];

	j->err = refs_align_find(a->data, a->frames, b->data, b->frames, a->rate, 0, &j->align,
				 stop_progress, st);
	if (j->err)
		snprintf(j->msg, sizeof(j->msg), "%s", refs_align_strerror(j->err));
}

struct grab_ctx {
	struct audio_studio *st;
	float *buf;
	int64_t skip, at, want;
};

static int grab_sink(void *user, const float *lr, size_t frames)
{
	struct grab_ctx *g = user;

	if (atomic_load(&g->st->stopping))
		return 1;
	for (size_t k = 0; k < frames; k++, g->skip--) {
		if (g->skip > 0)
			continue;
		if (g->at < g->want) {
			g->buf[2 * g->at] = lr[2 * k];
			g->buf[2 * g->at + 1] = lr[2 * k + 1];
			g->at++;
		}
	}
	return 0;
}

/* The comparison view of one route over [from, to) of its clip: loudness
 * (integrated, LRA, true peak) and the loudness-normalised 1/3-octave
 * spectra.  "After" renders the chain over the region with PREROLL_S of
 * pre-roll, so the chain has settled where the region starts. */
static void run_analysis(struct audio_studio *st, struct job *j)
{
	const struct audio_clip *c = j->uses[0];
	struct refs_spectrum_opts so;
	const float *data;
	float *own = NULL;
	int64_t n = j->to - j->from;

	if (n <= 0) {
		j->err = REFS_SPECTRUM_ERROR_INVALID;
		return;
	}
	if (j->route == AUDIO_ROUTE_AFTER) {
		int64_t pre = llround(PREROLL_S * c->rate), start = j->from - pre;
		struct grab_ctx g = { st, NULL, 0, 0, n };

		if (start < 0)
			start = 0;
		g.skip = j->from - start;
		own = malloc(sizeof(float) * 2 * (size_t)n);
		if (!own) {
			j->err = REFS_SPECTRUM_ERROR_NOMEM;
			return;
		}
		g.buf = own;
		j->err = audio_render_run(c->data + 2 * start, j->to - start, c->rate, &j->settings,
					  grab_sink, &g);
		if (j->err) {
			free(own);
			return;
		}
		data = own;
	} else {
		data = c->data + 2 * j->from;
	}
	j->err = refs_loudness_measure_flags(data, n, 2, c->rate, REFS_ANALYSER_OWN_LOUDNESS,
					     &j->an_loud, stop_progress, st);
	if (!j->err) {
		refs_spectrum_opts_default(&so);
		so.normalise = 1;
		so.lufs = j->an_loud.integrated_lufs;
		j->err = refs_spectrum_measure(data, n, c->rate, &so, &j->spec, stop_progress, st);
	}
	free(own);
}

static void *worker_main(void *arg)
{
	struct audio_studio *st = arg;

	audio_thread_background();
	pthread_mutex_lock(&st->lock);
	for (;;) {
		struct job *j;

		while (!st->queue && !st->quit)
			pthread_cond_wait(&st->cond, &st->lock);
		if (st->quit)
			break;
		j = st->queue;
		st->queue = j->next;
		if (!st->queue)
			st->queue_tail = NULL;
		st->running = j;
		pthread_mutex_unlock(&st->lock);

		switch (j->type) {
		case JOB_LOAD:
			run_load(st, j);
			break;
		case JOB_DEMO:
			run_demo(st, j);
			break;
		case JOB_AFTER:
			run_after(st, j);
			break;
		case JOB_AFTER_TP:
			run_after_tp(st, j);
			break;
		case JOB_DEVSIM:
			j->devsim = chain_devsim_new(st->rate, &j->devspec, &j->err);
			if (!j->devsim && !j->err)
				j->err = 1;
			break;
		case JOB_SYSMEASURE:
			run_sysmeasure(st, j);
			break;
		case JOB_CODEC:
			run_codec(st, j);
			break;
		case JOB_COPY:
			run_copy(st, j);
			break;
		case JOB_ALIGN:
			run_align(st, j);
			break;
		case JOB_ANALYSIS:
			run_analysis(st, j);
			break;
		}

		pthread_mutex_lock(&st->lock);
		st->running = NULL;
		j->next = st->done;
		st->done = j;
	}
	pthread_mutex_unlock(&st->lock);
	return NULL;
}

static void enqueue(struct audio_studio *st, struct job *j)
{
	pthread_mutex_lock(&st->lock);
	j->next = NULL;
	if (st->queue_tail)
		st->queue_tail->next = j;
	else
		st->queue = j;
	st->queue_tail = j;
	pthread_cond_signal(&st->cond);
	pthread_mutex_unlock(&st->lock);
}

static void free_job(struct job *j)
{
	if (j->type == JOB_CODEC)
		audio_codec_result_free(&j->cres);
	chain_devsim_free(&j->devsim);
	audio_clip_free(&j->clip);
	refs_riding_profile_free(&j->prof);
	free(j->out);
	free(j);
}

static struct job *new_job(enum job_type type)
{
	struct job *j = calloc(1, sizeof(*j));

	if (j)
		j->type = type;
	return j;
}

/* Does a queued or running job read clip c?  (Finished ones are on the
 * done list: they no longer read anything.) */
static bool job_uses(const struct job *j, const struct audio_clip *c)
{
	if (j->uses[0] == c || j->uses[1] == c)
		return true;
	for (int i = 0; i < j->n_clips; i++)
		if (j->clips[i] == c)
			return true;
	return false;
}

static bool clip_needed(struct audio_studio *st, const struct audio_clip *c)
{
	bool used = false;

	if (!c)
		return false;
	if (c == st->mix_clip)
		return true;
	for (int i = 0; i < st->n_src; i++)
		if (st->src[i].clip == c || st->src[i].copy_from == c)
			return true;
	if (pthread_mutex_trylock(&st->lock) != 0) {
		st->stats.lock_waits++;
		pthread_mutex_lock(&st->lock);
	}
	for (const struct job *j = st->queue; j && !used; j = j->next)
		used = job_uses(j, c);
	if (st->running && job_uses(st->running, c))
		used = true;
	pthread_mutex_unlock(&st->lock);
	return used;
}
static void open_output(struct audio_studio *st, double want)
{
	char msg[256] = "";
	double rate = want;
	int err = 0;

	if (!st->opts.no_device) {
		err = audio_output_probe(st->opts.device, want, &rate, msg, sizeof(msg));
		if (!err && rate != want)
			add_notice(st, "the device cannot run %.0f Hz: playing at %.0f Hz, "
				   "every source resampled to it", want, rate);
	}
	st->rate = err ? want : rate;
	st->engine = audio_engine_new(st->rate, &st->settings, &err);
	if (!st->engine)
		return;
	if (!st->opts.no_device && !msg[0]) {
		st->output = audio_output_open(st->engine, st->opts.device, st->rate,
					       st->opts.buffer_frames, &err, msg, sizeof(msg));
		if (st->output) {
			st->has_device = true;
			snprintf(st->output_status, sizeof(st->output_status), "%s",
				 audio_output_describe(st->output));
			return;
		}
	}
	st->output = audio_output_open_null(st->engine, st->rate, st->opts.buffer_frames, &err);
	if (st->opts.no_device)
		snprintf(st->output_status, sizeof(st->output_status),
			 "no audio device (--no-device); analysis and render still work");
	else
		snprintf(st->output_status, sizeof(st->output_status),
			 "no audio device: %s; analysis and render still work", msg);
}

/* ---- construction ---- */

static int add_source(struct audio_studio *st, const char *path, const char *name)
{
	struct source *s;
	const char *base;
	int slot;

	if (st->n_src >= AUDIO_SLOT_CODEC)  /* the last two slots are the codec preview's */
		return -1;
	pthread_mutex_lock(&st->lock);
	slot = st->n_src++;
	s = &st->src[slot];
	memset(s, 0, sizeof(*s));
	s->id = ++st->next_id;
	snprintf(s->info.path, sizeof(s->info.path), "%s", path ? path : "");
	base = path ? strrchr(path, '/') : NULL;
	snprintf(s->info.name, sizeof(s->info.name), "%s",
		 name ? name : base ? base + 1 : path);
	s->info.state = AUDIO_SOURCE_LOADING;
	s->last_used = ++st->tick;
	pthread_mutex_unlock(&st->lock);
	return slot;
}

/* A reload (measure false) of a chosen source goes ahead of the queue:
 * it is what the listener waits for. */
static void queue_load(struct audio_studio *st, int slot, bool measure)
{
	struct job *j = new_job(JOB_LOAD);

	if (!j)
		return;
	j->id = st->src[slot].id;
	j->measure = measure;
	st->src[slot].load_queued = true;
	if (measure) {
		enqueue(st, j);
		return;
	}
	pthread_mutex_lock(&st->lock);
	j->next = st->queue;
	st->queue = j;
	if (!st->queue_tail)
		st->queue_tail = j;
	pthread_cond_signal(&st->cond);
	pthread_mutex_unlock(&st->lock);
}
struct audio_studio *audio_studio_new(const char *mix_path,
				      const struct audio_studio_opts *opts,
				      int *err, char *msg, size_t msg_len)
{
	struct audio_studio *st = calloc(1, sizeof(*st));
	double want = 48000;

	if (!st) {
		*err = AUDIO_STUDIO_ERROR_NOMEM;
		snprintf(msg, msg_len, "out of memory");
		return NULL;
	}
	if (opts)
		st->opts = *opts;
	else
		audio_studio_opts_default(&st->opts);
	pthread_mutex_init(&st->lock, NULL);
	pthread_cond_init(&st->cond, NULL);
	atomic_init(&st->live_gen, 0);
	atomic_init(&st->stopping, false);
	chain_settings_default(&st->settings);
	if (!mix_path) {
		/* the demo starts mastered: the mix driven into the limiter, so
		 * that bypass compares a real "before" and "after" */
		chain_settings_assign(&st->settings, "gain.gain_db=" AUDIO_STUDIO_DEMO_GAIN_DB,
				      NULL, 0);
		add_notice(st, "demo: the chain drives the mix +%s dB into the limiter; "
			   "b hears it bypassed, matched", AUDIO_STUDIO_DEMO_GAIN_DB);
	}

	if (mix_path) {
		int rate = 0, ch = 0;
		int64_t frames = 0;

		*err = audio_clip_probe(mix_path, &rate, &ch, &frames, msg, msg_len);
		if (*err) {
			*err = AUDIO_STUDIO_ERROR_MIX;
			goto error;
		}
		want = rate;
	}
	if (st->opts.rate > 0)
		want = st->opts.rate;

	st->listen_db = CHAIN_DEVSIM_LEVEL_DEF_DB;
	{
		/* the memory budget of decoded references */
		const char *mb = getenv("TERMASTER_MEMORY_MB");
		char *end = NULL;
		double v = mb ? strtod(mb, &end) : 0;

		if (mb && *mb && end && *end == '\0' && v > 0 && isfinite(v))
			st->budget_bytes = v * 1048576.0;
		else
			st->budget_bytes = MEMORY_DEFAULT_MB * 1048576.0;
		if (mb && *mb && !(st->budget_bytes == v * 1048576.0))
			add_notice(st, "TERMASTER_MEMORY_MB: expected a number of megabytes > 0, "
				   "got '%s' (using %.0f)", mb, MEMORY_DEFAULT_MB);
	}
	st->codec_slot = -1;
	st->platform = -1;
	{
		/* built-in platform rules, corrected by the user's file */
		char path[1024], pmsg[256];

		if (refs_platform_user_path(path, sizeof(path)) != 0 ||
		    refs_platform_load(path, REFS_PLATFORM_LOAD_MISSING_OK, &st->platforms,
				       pmsg, sizeof(pmsg)) != 0) {
			if (refs_platform_user_path(path, sizeof(path)) == 0)
				add_notice(st, "%s (the built-in platform rules are used)", pmsg);
			refs_platform_load(NULL, 0, &st->platforms, pmsg, sizeof(pmsg));
		}
	}
	{
		/* the playback systems: shipped curves, then the user's */
		char builtin[1024], user[1024], dmsg[256];
		const char *env = getenv("TERMASTER_DATADIR");
		struct stat sb;

		if (env && *env)
			snprintf(builtin, sizeof(builtin), "%s/devices", env);
		else
			snprintf(builtin, sizeof(builtin), "%s/devices", TM_PKGDATADIR);
		if (stat(builtin, &sb) != 0)
			snprintf(builtin, sizeof(builtin), "%s/refs/devices", TM_SRCDIR);
		if (refs_devices_user_dir(user, sizeof(user)) != 0)
			user[0] = '\0';
		if (refs_devices_load(builtin, user[0] ? user : NULL, &st->devices, dmsg,
				      sizeof(dmsg)) != 0 || dmsg[0])
			add_notice(st, "playback systems: %s", dmsg);
	}
	open_output(st, want);
	if (!st->engine) {
		*err = AUDIO_STUDIO_ERROR_ENGINE;
		snprintf(msg, msg_len, "cannot start the engine");
		goto error;
	}
	if (pthread_create(&st->worker, NULL, worker_main, st)) {
		*err = AUDIO_STUDIO_ERROR_NOMEM;
		snprintf(msg, msg_len, "cannot start the worker thread");
		goto error;
	}
	st->worker_started = true;

	if (mix_path) {
		struct job *j = calloc(1, sizeof(*j));

		if (!j) {
			*err = AUDIO_STUDIO_ERROR_NOMEM;
			goto error;
		}
		j->type = JOB_LOAD;
		j->measure = true;
		j->id = st->src[add_source(st, mix_path, NULL)].id;
		st->src[0].load_queued = true;
		enqueue(st, j);
	} else {
		static const char *names[AUDIO_DEMO_COUNT] = {
			"Demo mix (unmastered)", "Demo ref: loud & bright", "Demo ref: warm & open",
		};

		for (int d = 0; d < AUDIO_DEMO_COUNT; d++) {
			struct job *j = calloc(1, sizeof(*j));

			if (!j) {
				*err = AUDIO_STUDIO_ERROR_NOMEM;
				goto error;
			}
			j->type = JOB_DEMO;
			j->demo = d;
			{
				int slot = add_source(st, NULL, names[d]);

				j->id = st->src[slot].id;
				st->src[slot].load_queued = true;
				snprintf(st->src[slot].info.path, sizeof(st->src[slot].info.path),
					 "(generated)");
			}
			enqueue(st, j);
		}
	}
	*err = 0;
	return st;
error:
	audio_studio_free(&st);
	return NULL;
}

void audio_studio_free(struct audio_studio **stp)
{
	struct audio_studio *st = stp ? *stp : NULL;

	if (!st)
		return;
	atomic_store(&st->stopping, true);
	if (st->worker_started) {
		pthread_mutex_lock(&st->lock);
		st->quit = true;
		pthread_cond_signal(&st->cond);
		pthread_mutex_unlock(&st->lock);
		pthread_join(st->worker, NULL);
	}
	audio_output_close(&st->output);
	while (st->queue) {
		struct job *j = st->queue;

		st->queue = j->next;
		free_job(j);
	}
	while (st->done) {
		struct job *j = st->done;

		st->done = j->next;
		free_job(j);
	}
	/* clips the engine does not hold are the studio's to free */
	for (int i = 0; i < st->n_src; i++) {
		struct source *s = &st->src[i];

		if (s->clip && s->clip != st->eng[i] && s->clip != st->mix_clip)
			audio_clip_free(&s->clip);
		refs_riding_profile_free(&s->prof);
	}
	audio_engine_free(&st->engine);
	for (int r = 0; r < AUDIO_ROUTES; r++)
		free(st->an[r].curve);
	for (int i = 0; i < AUDIO_STUDIO_PREMEASURE_MAX; i++)
		refs_riding_profile_free(&st->pre[i].prof);
	refs_riding_profile_free(&st->after_prof);
	refs_riding_profile_free(&st->after_reg);
	refs_platform_set_free(&st->platforms);
	refs_device_set_free(&st->devices);
	pthread_cond_destroy(&st->cond);
	pthread_mutex_destroy(&st->lock);
	free(st);
	*stp = NULL;
}

static void queue_codec(struct audio_studio *st)
{
	struct job *j = calloc(1, sizeof(*j));

	if (!j)
		return;
	j->type = JOB_CODEC;
	j->gen = ++st->codec_gen;
	j->codec = st->codec.codec;
	j->kbps = st->codec.bitrate_kbps;
	j->artefacts = st->codec.artefacts;
	j->settings = st->settings;
	atomic_store(&st->codec_live_gen, j->gen);
	st->codec_dirty = false;
	st->codec.pending = 1;
	enqueue(st, j);
}

/* Measure every route through the current playback system on the worker;
 * a newer request cancels an older one. */
static void queue_sysmeasure(struct audio_studio *st)
{
	struct job *j = calloc(1, sizeof(*j));

	if (!j)
		return;
	j->type = JOB_SYSMEASURE;
	j->gen = ++st->sys_gen;
	j->devspec = st->system_spec;
	j->has_system = st->system[0] != '\0';
	j->band = st->band;
	j->level_db = st->listen_db;
	j->settings = st->settings;
	for (int i = 0; i < st->n_src && i < AUDIO_MAX_SOURCES; i++)
		j->clips[i] = i == 0 ? st->mix_clip : st->src[i].clip;
	j->n_clips = st->n_src;
	atomic_store(&st->sys_live_gen, j->gen);
	st->sys_dirty = false;
	st->sys_measured = false;
	enqueue(st, j);
}


/* ---- sources, slots and memory ---- */

int audio_studio_add_ref(struct audio_studio *st, const char *path)
{
	int slot;

	if (st->n_src >= AUDIO_SLOT_CODEC)
		return -1;
	slot = add_source(st, path, NULL);
	queue_load(st, slot, true);
	st->an_gen++;
	return slot;
}

/* Makes every engine slot hold what its source owns (see the top of the
 * file): a clip leaves a slot only when nothing needs it any more. */
static void sync_slots(struct audio_studio *st)
{
	for (int j = 1; j < AUDIO_SLOT_CODEC; j++) {
		const struct audio_clip *want = j < st->n_src ? st->src[j].clip : NULL;
		const struct audio_clip *old = st->eng[j];

		if (old == want)
			continue;
		if (clip_needed(st, old))
			continue;  /* retried at the next poll */
		if (audio_engine_set_clip(st->engine, j, (struct audio_clip *)want) == 0)
			st->eng[j] = want;
	}
}

static bool slots_synced(const struct audio_studio *st)
{
	for (int j = 1; j < AUDIO_SLOT_CODEC; j++)
		if (st->eng[j] != (j < st->n_src ? st->src[j].clip : NULL))
			return false;
	return true;
}

static int64_t resident_bytes(const struct audio_studio *st)
{
	int64_t b = 0;

	for (int i = 1; i < st->n_src; i++)
		if (st->src[i].clip || st->src[i].copy_from)
			b += st->src[i].bytes;
	return b;
}

/* Past the budget, release the least recently played references (not the
 * one that plays, not one being moved). */
static void enforce_budget(struct audio_studio *st)
{
	while ((double)resident_bytes(st) > st->budget_bytes) {
		int victim = -1;

		for (int i = 1; i < st->n_src; i++) {
			const struct source *s = &st->src[i];

			if (!s->clip || i == st->user_source || s->copy_from || s->align_wanted ||
			    (st->seen_valid && i == st->seen.source))
				continue;
			if (victim < 0 || s->last_used < st->src[victim].last_used)
				victim = i;
		}
		if (victim < 0)
			return;
		pthread_mutex_lock(&st->lock);
		st->src[victim].clip = NULL;  /* the engine slot frees it (sync_slots) */
		st->src[victim].info.released = true;
		pthread_mutex_unlock(&st->lock);
		st->stats.releases++;
	}
}

/* A released or not yet loaded reference is wanted (chosen, aligned):
 * decode it (again). */
static void want_clip(struct audio_studio *st, int slot)
{
	struct source *s = &st->src[slot];

	s->last_used = ++st->tick;
	if (slot == 0 || s->clip || s->copy_from || s->load_queued ||
	    s->info.state == AUDIO_SOURCE_FAILED || s->info.state == AUDIO_SOURCE_LOADING ||
	    s->info.state == AUDIO_SOURCE_MEASURING)
		return;
	pthread_mutex_lock(&st->lock);
	s->info.progress = 0;
	pthread_mutex_unlock(&st->lock);
	queue_load(st, slot, false);
	st->stats.reloads++;
}

static void queue_copy(struct audio_studio *st, int slot)
{
	struct job *j = new_job(JOB_COPY);

	if (!j)
		return;
	j->id = st->src[slot].id;
	j->uses[0] = st->src[slot].copy_from;
	enqueue(st, j);
}

int audio_studio_remove_ref(struct audio_studio *st, int slot)
{
	struct audio_engine_snapshot snap;
	struct source gone;

	if (slot < 1 || slot >= st->n_src)
		return AUDIO_STUDIO_ERROR_STATE;
	audio_engine_snapshot(st->engine, &snap);
	pthread_mutex_lock(&st->lock);
	gone = st->src[slot];
	memmove(&st->src[slot], &st->src[slot + 1],
		sizeof(st->src[0]) * (size_t)(st->n_src - slot - 1));
	st->n_src--;
	memset(&st->src[st->n_src], 0, sizeof(st->src[0]));
	pthread_mutex_unlock(&st->lock);
	refs_riding_profile_free(&gone.prof);
	/* gone.clip stays in engine slot `slot` until sync_slots() replaces
	 * it; nothing owns it any more, so it is then freed */
	for (int j = slot; j < st->n_src; j++) {
		struct source *s = &st->src[j];

		if (s->copy_from) {
			/* still waiting for an earlier move: copy from where it is */
			queue_copy(st, j);
		} else if (s->clip) {
			s->copy_from = s->clip;
			s->clip = NULL;
			queue_copy(st, j);
		}
		/* the engine's per-slot state follows the source */
		audio_engine_set_offset(st->engine, j, llround(s->info.offset_s * st->rate));
		audio_engine_set_slot_loop(st->engine, j, s->info.loop_in_s, s->info.loop_out_s,
					   s->info.loop_on && s->info.loop_out_s > s->info.loop_in_s);
		if (st->playhead == AUDIO_PLAYHEAD_INDEPENDENT)
			audio_engine_seek_slot(st->engine, j,
					       (double)snap.slot_position[j + 1] / st->rate);
	}
	audio_engine_set_offset(st->engine, st->n_src, 0);
	memmove(&st->trim_db[slot], &st->trim_db[slot + 1],
		sizeof(double) * (size_t)(AUDIO_MAX_SOURCES - 1 - slot));
	st->trim_db[AUDIO_MAX_SOURCES - 1] = 0;
	for (int r = slot; r < AUDIO_MAX_SOURCES; r++) {
		st->ride_valid[r] = false;
		st->an[r].valid = false;
	}
	if (st->user_source == slot) {
		audio_studio_set_source(st, 0);
	} else if (st->user_source > slot) {
		st->user_source--;
		audio_engine_set_source(st->engine, st->user_source);
	}
	/* sources moved: what was measured per slot is stale */
	st->sys_gen++;
	atomic_store(&st->sys_live_gen, st->sys_gen);
	st->sys_measured = false;
	st->sys_dirty = st->system[0] != '\0' || st->band;
	st->an_gen++;
	st->match_dirty = true;
	sync_slots(st);
	return 0;
}

/* ---- control thread: integrate ---- */

static bool route_region(const struct audio_studio *st, int route, double *in, double *out);

static void queue_after(struct audio_studio *st)
{
	struct job *j;
	double in, out;

	if (!st->mix_clip)
		return;
	if (st->match.method == AUDIO_MATCH_REGION &&
	    route_region(st, AUDIO_ROUTE_AFTER, &in, &out) && (j = new_job(JOB_AFTER))) {
		j->gen = st->after_gen;
		j->settings = st->settings;
		j->region_only = true;
		j->from = llround(in * st->rate);
		j->to = llround(out * st->rate);
		if (j->to > st->mix_clip->frames)
			j->to = st->mix_clip->frames;
		if (j->from >= j->to) {
			free(j);
		} else {
			enqueue(st, j);
		}
	}
	j = new_job(JOB_AFTER);
	if (!j)
		return;
	j->gen = st->after_gen;
	j->settings = st->settings;
	/* the loudness first, the true peak by a job of its own after it
	 * (matching needs the loudness; until then the last true peak
	 * stands) when there is one to stand in */
	j->tp_later = st->match.after_measured && isfinite(st->match.after.true_peak_dbtp);
	atomic_store(&st->live_gen, st->after_gen);
	st->after_dirty = false;
	st->after_queued = true;
	st->match.after_pending = true;
	enqueue(st, j);
}

/* recompute_match() lists the routes as [0] after, [1] before, [1 + k]
 * reference k; these map between that index and AUDIO_ROUTE_*. */
static int route_of(size_t i)
{
	return i == 0 ? AUDIO_ROUTE_AFTER : i == 1 ? AUDIO_ROUTE_BEFORE : (int)i - 1;
}

static size_t index_of(int route)
{
	return route == AUDIO_ROUTE_AFTER ? 0 : route == AUDIO_ROUTE_BEFORE ? 1 : (size_t)route + 1;
}

static int slot_of_route(int route)
{
	return route == AUDIO_ROUTE_AFTER || route == AUDIO_ROUTE_BEFORE ? 0 : route;
}

/* The part of a route's own clip the region method and the views measure,
 * seconds; false when no region is set (the whole track then).  Sync: the
 * timeline's loop, shifted by a reference's offset; independent: the
 * source's own loop. */
static bool route_region(const struct audio_studio *st, int route, double *in, double *out)
{
	int slot = slot_of_route(route);

	if (slot >= st->n_src)
		return false;
	if (st->playhead == AUDIO_PLAYHEAD_SYNC) {
		double off = slot ? st->src[slot].info.offset_s : 0;

		if (!st->loop_on)
			return false;
		*in = st->loop_in_s + off;
		*out = st->loop_out_s + off;
	} else {
		const struct audio_source_info *si = &st->src[slot].info;

		if (!si->loop_on)
			return false;
		*in = si->loop_in_s;
		*out = si->loop_out_s;
	}
	if (*in < 0)
		*in = 0;
	return *out > *in;
}

static const struct refs_riding_profile *route_profile(const struct audio_studio *st, int route)
{
	int slot = slot_of_route(route);

	if (route == AUDIO_ROUTE_AFTER)
		return st->after_prof_valid ? &st->after_prof : NULL;
	if (slot >= st->n_src || !st->src[slot].prof_valid)
		return NULL;
	return &st->src[slot].prof;
}

/* Each route's loudness by the current method (st->method_lufs). */
static void method_measures(struct audio_studio *st, const struct audio_engine_snapshot *snap)
{
	for (int r = 0; r < AUDIO_ROUTES; r++) {
		const struct refs_riding_profile *p;
		int slot = slot_of_route(r);
		double v = NAN;
		bool ok = false;

		st->method_valid[r] = false;
		if (slot >= st->n_src)
			continue;
		if (r == AUDIO_ROUTE_AFTER) {
			ok = st->match.after_measured;
			v = st->match.after.integrated_lufs;
		} else {
			ok = st->src[slot].info.measured;
			v = st->src[slot].info.loudness.integrated_lufs;
		}
		p = route_profile(st, r);
		if (st->match.method == AUDIO_MATCH_REGION && ok) {
			double in, out;

			if (route_region(st, r, &in, &out)) {
				if (r == AUDIO_ROUTE_AFTER && st->after_prof_gen != st->after_gen &&
				    st->after_reg_valid && st->after_reg_gen == st->after_gen &&
				    refs_riding_seg(&st->after_reg, in) == st->reg_from &&
				    (int64_t)floor(out * st->rate / (double)st->after_reg.seg_frames + 1e-9) ==
					    st->reg_to)
					p = &st->after_reg;  /* the region, measured first */
				ok = p != NULL;
				if (p)
					v = refs_riding_integrated(p, refs_riding_seg(p, in),
								   refs_riding_seg(p, out));
			}
		} else if (st->match.method == AUDIO_MATCH_RIDING && ok) {
			ok = p != NULL && snap;
			if (ok)
				v = refs_riding_shortterm_at(p, (double)snap->slot_position[slot] / st->rate);
		}
		st->method_lufs[r] = v;
		st->method_valid[r] = ok;
	}
}

/* Computes the gains every route should play at (match.gain_db, trim
 * included) and the residuals; send_gains() gets them to the engine. */
static void recompute_match(struct audio_studio *st, const struct audio_engine_snapshot *snap)
{
	struct refs_match_source s[AUDIO_MAX_SOURCES + 1], file[AUDIO_MAX_SOURCES + 1];
	double g[AUDIO_MAX_SOURCES + 1];
	size_t n = 0;

	method_measures(st, snap);
	/* [0] after, [1] before, [1 + k] reference k */
	memset(s, 0, sizeof(s));
	memset(file, 0, sizeof(file));
	file[n].valid = st->match.after_measured;
	file[n].integrated_lufs = st->match.after.integrated_lufs;
	file[n].true_peak_dbtp = st->match.after.true_peak_dbtp;
	n++;
	for (int i = 0; i < st->n_src; i++, n++) {
		const struct audio_source_info *in = &st->src[i].info;

		file[n].valid = in->measured;
		file[n].integrated_lufs = in->loudness.integrated_lufs;
		file[n].true_peak_dbtp = in->loudness.true_peak_dbtp;
	}
	for (size_t i = 0; i < n; i++) {
		int r = route_of(i);

		/* the method's loudness; the whole track's true peak bounds the
		 * headroom (the gain holds wherever the playhead goes) */
		s[i].valid = st->method_valid[r] && isfinite(st->method_lufs[r]);
		s[i].integrated_lufs = st->method_lufs[r];
		s[i].true_peak_dbtp = file[i].true_peak_dbtp;
	}
	if ((st->system[0] || st->band) && st->sys_measured &&
	    st->match.method == AUDIO_MATCH_INTEGRATED) {
		/* on a playback system or a soloed band, match what is heard */
		for (size_t i = 0; i < n; i++) {
			int r = route_of(i);

			if (r < AUDIO_ROUTES && st->sys_valid[r]) {
				s[i].integrated_lufs = st->sys_loud[r].integrated_lufs;
				s[i].true_peak_dbtp = st->sys_loud[r].true_peak_dbtp;
				st->method_lufs[r] = s[i].integrated_lufs;
			}
		}
	}
	refs_match_compute(s, n, st->opts.max_peak_dbtp, g, &st->match.result);
	st->match.method_ready = s[0].valid;
	/* report the limiting source as a route (AUDIO_ROUTE_*) */
	if (st->match.result.limiting_source >= 0)
		st->match.result.limiting_source = route_of((size_t)st->match.result.limiting_source);
	for (int r = 0; r < AUDIO_ROUTES; r++) {
		size_t i = index_of(r);

		st->match.gain_db[r] = i < n ? g[i] : 0;
		if (i < n && s[i].valid && s[0].valid)
			st->match.gain_db[r] += st->trim_db[r];
		else if (i < n && !s[i].valid && st->match.method == AUDIO_MATCH_RIDING &&
			 st->ride_valid[r])
			st->match.gain_db[r] = st->ride_gain[r];  /* silence: hold */
	}
	/* a platform preview plays its own normalisation instead */
	memset(st->presult, 0, sizeof(st->presult));
	if (st->platform >= 0) {
		const struct refs_platform *p = refs_platform_at(st->platforms, (size_t)st->platform);

		for (int r = 0; r < AUDIO_ROUTES; r++) {
			size_t i = index_of(r);

			if (i < n)
				refs_platform_gain(p, file[i].valid ? file[i].integrated_lufs : NAN,
						   file[i].valid ? file[i].true_peak_dbtp : NAN,
						   &st->presult[r]);
		}
	}
	if (st->codec.active && st->codec_slot >= 0) {
		/* the preview plays at the master's loudness (its own artefacts
		 * at the master's gain, so their level is what the codec adds) */
		for (int k = AUDIO_SLOT_CODEC; k <= AUDIO_SLOT_CODEC + 1; k++) {
			st->match.gain_db[k] = st->match.gain_db[AUDIO_ROUTE_AFTER] +
				(st->codec.artefacts ? 0.0 : st->codec.match_gain_db);
			st->presult[k] = st->presult[AUDIO_ROUTE_AFTER];
		}
	}
}

/* The routes heard now: the mix's two (bypass switches between them with
 * a crossfade) or a reference. */
static bool route_audible(const struct audio_engine_snapshot *snap, int r)
{
	if (snap->source == 0 || AUDIO_IS_CODEC_SLOT(snap->source))
		return r == AUDIO_ROUTE_AFTER || r == AUDIO_ROUTE_BEFORE ||
		       AUDIO_IS_CODEC_SLOT(r);
	return r == snap->source;
}

static void residuals(struct audio_studio *st)
{
	double t = st->method_lufs[AUDIO_ROUTE_AFTER] + st->sent_gain_db[AUDIO_ROUTE_AFTER];
	bool tv = st->method_valid[AUDIO_ROUTE_AFTER] && isfinite(t) && st->platform < 0;

	for (int r = 0; r < AUDIO_ROUTES; r++) {
		double v = st->method_lufs[r] + st->sent_gain_db[r] - t;

		st->match.residual_valid[r] = tv && st->method_valid[r] && isfinite(v);
		st->match.residual_lu[r] = st->match.residual_valid[r] ? v : 0;
	}
}

/* How gains that go with chain parameters glide (send_gains). */
struct gain_glide {
	bool on;
	float input_db;   /* the after route's part that undoes the input gain */
	float tau_ms;     /* the rest's time constant */
};

/* The glide of the gains that match `now`, just posted, after `was`: the
 * input gain's change is undone exactly; the rest follows the slowest
 * glide (chain_proc_ops.glide_ms) among the processors whose parameters
 * changed, at least the 10 ms of the chain's on/off crossfades. */
static struct gain_glide glide_of(const struct chain_settings *was,
				  const struct chain_settings *now)
{
	struct gain_glide g = { true, 0.0f, 10.0f };
	int gi = chain_param_find("gain.gain_db");

	for (unsigned i = 0; i < chain_param_count(); i++) {
		const struct chain_param_info *pi = chain_param_at(i);

		if (was->value[i] == now->value[i])
			continue;
		if ((int)i == gi)
			g.input_db = -(now->value[i] - was->value[i]);
		else
			g.tau_ms = fmaxf(g.tau_ms, (float)chain_proc_ops_at(pi->proc)->glide_ms);
	}
	return g;
}

/* Sends what changed.  Riding: the route that is heard glides towards its
 * gain (one pole, RIDE_TAU_S of audio time) and is sent only in steps of
 * RIDE_STEP_DB; the others take theirs at once, so a switch lands matched.
 * gl->on: the gains go with the chain parameters just posted (they match
 * settings whose loudness was known at once): the engine lands them where
 * those parameters are heard, gliding as they do. */
static void send_gains(struct audio_studio *st, const struct audio_engine_snapshot *snap,
		       const struct gain_glide *gl)
{
	bool riding = st->match.method == AUDIO_MATCH_RIDING && st->platform < 0 && snap;
	double alpha = 1;
	int err;

	if (riding) {
		int64_t d = snap->rendered - st->ride_rendered;

		alpha = d > 0 ? 1.0 - exp(-(double)d / (st->rate * RIDE_TAU_S)) : 0.0;
		st->ride_rendered = snap->rendered;
	}
	for (int r = 0; r < AUDIO_ROUTES; r++) {
		double v = st->platform >= 0 ? st->presult[r].gain_db : st->match.gain_db[r];

		if (riding) {
			bool heard = route_audible(snap, r);

			/* (gains that go with chain parameters land with
			 * them, at once, as the parameters do) */
			if (st->ride_valid[r] && heard && !(gl && gl->on))
				v = st->ride_gain[r] + alpha * (v - st->ride_gain[r]);
			st->ride_gain[r] = v;
			st->ride_valid[r] = true;
			if (st->gains_sent && !(gl && gl->on) &&
			    fabs(v - st->sent_gain_db[r]) < (heard ? RIDE_STEP_DB : RIDE_QUIET_STEP_DB))
				continue;
			if (st->gains_sent && (float)v == st->sent_gain_db[r])
				continue;
		} else {
			st->ride_valid[r] = false;
			if (st->gains_sent && (float)v == st->sent_gain_db[r])
				continue;
		}
		if (gl && gl->on)
			err = audio_engine_set_gain_with_chain(
				st->engine, r, (float)v, r == AUDIO_ROUTE_AFTER ? gl->input_db : 0.0f,
				gl->tau_ms);
		else
			err = audio_engine_set_gain(st->engine, r, (float)v);
		if (err == 0)
			st->sent_gain_db[r] = (float)v;
	}
	st->gains_sent = true;
	residuals(st);
}

static void rematch_with(struct audio_studio *st, const struct gain_glide *gl)
{
	struct audio_engine_snapshot snap;

	audio_engine_snapshot(st->engine, &snap);
	recompute_match(st, &snap);
	send_gains(st, &snap, gl);
	st->match_dirty = false;
}

static void rematch(struct audio_studio *st)
{
	rematch_with(st, NULL);
}

/* ---- premeasure cache ---- */

static struct premeasured *pre_find(struct audio_studio *st, const struct chain_settings *s)
{
	for (int i = 0; i < AUDIO_STUDIO_PREMEASURE_MAX; i++)
		if (st->pre[i].used && !memcmp(&st->pre[i].settings, s, sizeof(*s)))
			return &st->pre[i];
	return NULL;
}

static void pre_store(struct audio_studio *st, const struct chain_settings *s,
		      const struct refs_loudness *l, const struct refs_riding_profile *p)
{
	struct premeasured *e = pre_find(st, s);

	if (!e) {
		e = &st->pre[0];
		for (int i = 0; i < AUDIO_STUDIO_PREMEASURE_MAX; i++) {
			if (!st->pre[i].used) {
				e = &st->pre[i];
				break;
			}
			if (st->pre[i].tick < e->tick)
				e = &st->pre[i];
		}
	}
	refs_riding_profile_free(&e->prof);
	if (refs_riding_profile_copy(&e->prof, p)) {
		e->used = false;
		return;
	}
	e->used = true;
	e->tick = ++st->tick;
	e->settings = *s;
	e->loud = *l;
}

/* The current settings were measured before: take that at once. */
static bool adopt_cached(struct audio_studio *st)
{
	struct premeasured *e = pre_find(st, &st->settings);
	struct refs_riding_profile p;

	if (!e || refs_riding_profile_copy(&p, &e->prof))
		return false;
	e->tick = ++st->tick;
	refs_riding_profile_free(&st->after_prof);
	st->after_prof = p;
	st->after_prof_valid = true;
	st->after_prof_gen = st->after_gen;
	st->match.after = e->loud;
	st->match.after_measured = true;
	st->match.after_pending = false;
	st->after_dirty = false;
	st->match_dirty = true;
	st->sys_dirty = st->system[0] != '\0' || st->band;
	st->codec_dirty = st->codec.active;
	st->stats.cache_hits++;
	return true;
}

/* A parameter changed: "after" is stale (unless measured before: then
 * the gains that match it go out now, in the same batch as the
 * parameters, so the engine lands them together — the trims too, set
 * before, as tui/apply.c does for a snapshot recall). */
static void settings_changed(struct audio_studio *st, const struct chain_settings *was)
{
	st->after_gen++;
	atomic_store(&st->live_gen, st->after_gen);
	if (adopt_cached(st)) {
		struct gain_glide gl = glide_of(was, &st->settings);

		rematch_with(st, &gl);
		return;
	}
	st->after_dirty = true;
	st->after_changed_at = now_s();
	st->match.after_pending = true;
}

/* ---- poll ---- */

static void take_load(struct audio_studio *st, struct job *j)
{
	int slot = slot_of_id(st, j->id);
	struct source *s;
	struct audio_source_info *in;

	if (slot < 0)
		return;  /* removed meanwhile; free_job() frees what it made */
	s = &st->src[slot];
	in = &s->info;
	s->load_queued = false;
	pthread_mutex_lock(&st->lock);
	if (j->err) {
		in->state = AUDIO_SOURCE_FAILED;
		snprintf(in->error, sizeof(in->error), "%s", j->msg);
		snprintf(st->notice, sizeof(st->notice), "%s: %s", in->name, j->msg);
	} else {
		in->state = AUDIO_SOURCE_READY;
		in->progress = 1.0;
		in->released = false;
		if (j->type == JOB_DEMO || j->measure) {
			in->measured = true;
			in->loudness = j->loud;
			refs_riding_profile_free(&s->prof);
			s->prof = j->prof;
			memset(&j->prof, 0, sizeof(j->prof));
			s->prof_valid = true;
		}
		in->duration_s = (double)j->clip->frames / j->clip->rate;
		in->file_rate = j->clip->file_rate;
		in->file_channels = j->clip->file_channels;
		in->nonfinite = j->clip->nonfinite;
		snprintf(in->format, sizeof(in->format), "%s", j->clip->format);
		if (j->clip->nonfinite && (j->type == JOB_DEMO || j->measure))
			snprintf(st->notice, sizeof(st->notice),
				 "%s: %lld non-finite samples (NaN/Inf) replaced by silence",
				 in->name, (long long)j->clip->nonfinite);
		s->clip = j->clip;
		s->bytes = j->clip->frames * 2 * (int64_t)sizeof(float);
		j->clip = NULL;
	}
	pthread_mutex_unlock(&st->lock);
	if (j->err)
		return;
	if (slot == 0) {
		st->mix_clip = s->clip;
		audio_engine_set_clip(st->engine, 0, s->clip);
		st->eng[0] = s->clip;
		st->after_dirty = true;
		st->after_changed_at = 0;
	}
	st->sys_dirty = st->system[0] != '\0' || st->band;
	st->match_dirty = true;
}

static void take_job(struct audio_studio *st, struct job *j)
{
	int slot;

	switch (j->type) {
	case JOB_DEVSIM:
		if (j->gen == st->system_gen) {
			if (j->err) {
				snprintf(st->notice, sizeof(st->notice),
					 "playback system: cannot build it (%s)", chain_strerror(j->err));
				st->system[0] = '\0';
			} else if (audio_engine_set_devsim(st->engine, j->devsim) == 0) {
				j->devsim = NULL;
			}
		}
		break;
	case JOB_CODEC:
		if (j->gen != st->codec_gen)
			break;
		st->codec.pending = 0;
		st->codec.err = j->err;
		snprintf(st->codec.msg, sizeof(st->codec.msg), "%s", j->msg);
		if (!j->err) {
			int cslot = st->codec_slot == AUDIO_SLOT_CODEC ? AUDIO_SLOT_CODEC + 1 :
				    AUDIO_SLOT_CODEC;

			st->codec.actual_kbps = j->cres.actual_kbps;
			st->codec.true_peak_dbtp = j->cres.true_peak_dbtp;
			st->codec.true_peak_rise_db = j->cres.true_peak_rise_db;
			st->codec.match_gain_db = j->cres.match_gain_db;
			st->codec.ceiling_dbtp = j->cres.ceiling_dbtp;
			st->codec.over_count = j->cres.over_count;
			st->codec.over_s = j->cres.over_s;
			audio_engine_set_clip(st->engine, cslot, j->clip);
			j->clip = NULL;
			st->codec_slot = cslot;
			rematch(st);  /* its gain before it plays */
			if (st->user_source == 0)
				audio_engine_set_source(st->engine, cslot);
		} else {
			snprintf(st->notice, sizeof(st->notice), "codec preview: %s", j->msg);
		}
		break;
	case JOB_SYSMEASURE:
		if (j->gen == st->sys_gen && !j->err) {
			memcpy(st->sys_loud, j->sys, sizeof(st->sys_loud));
			memcpy(st->sys_valid, j->sys_valid, sizeof(st->sys_valid));
			st->sys_measured = true;
			st->match_dirty = true;
		}
		break;
	case JOB_AFTER:
		if (j->region_only) {
			if (j->gen == st->after_gen && !j->err) {
				int64_t seg = j->prof.seg_frames;

				refs_riding_profile_free(&st->after_reg);
				st->after_reg = j->prof;
				memset(&j->prof, 0, sizeof(j->prof));
				st->after_reg_valid = true;
				st->after_reg_gen = j->gen;
				st->reg_from = j->from / seg;
				st->reg_to = j->to / seg;
				st->match_dirty = true;
				st->stats.region_first++;
			}
			break;
		}
		if (!j->err && !j->tp_later)
			pre_store(st, &j->settings, &j->loud, &j->prof);
		if (j->premeasure)
			break;
		if (j->gen == st->after_gen && !j->err && j->tp_later) {
			/* the last true peak stands until JOB_AFTER_TP's */
			struct job *t = new_job(JOB_AFTER_TP);

			j->loud.true_peak_dbtp = st->match.after.true_peak_dbtp;
			j->loud.sample_peak_dbfs = st->match.after.sample_peak_dbfs;
			if (t) {
				t->gen = j->gen;
				t->settings = j->settings;
				t->loud = j->loud;
				t->out = j->out;
				j->out = NULL;
				enqueue(st, t);
			}
		}
		if (j->gen == st->after_gen && !j->err) {
			st->match.after = j->loud;
			st->match.after_measured = true;
			st->match.after_pending = st->after_dirty;
			refs_riding_profile_free(&st->after_prof);
			st->after_prof = j->prof;
			memset(&j->prof, 0, sizeof(j->prof));
			st->after_prof_valid = true;
			st->after_prof_gen = j->gen;
			st->match_dirty = true;
			st->sys_dirty = st->system[0] != '\0' || st->band;
			st->codec_dirty = st->codec.active;
		}
		if (j->gen == st->after_gen)
			st->after_queued = false;
		break;
	case JOB_AFTER_TP:
		if (j->gen == st->after_gen && !j->err && st->match.after_measured) {
			st->match.after.true_peak_dbtp = j->loud.true_peak_dbtp;
			st->match.after.sample_peak_dbfs = j->loud.sample_peak_dbfs;
			st->match_dirty = true;
			st->stats.after_tp++;
			if (st->after_prof_valid && st->after_prof_gen == j->gen)
				pre_store(st, &j->settings, &st->match.after, &st->after_prof);
		}
		break;
	case JOB_LOAD:
	case JOB_DEMO:
		take_load(st, j);
		break;
	case JOB_COPY:
		slot = slot_of_id(st, j->id);
		if (slot >= 0 && !j->err && st->src[slot].copy_from == j->uses[0]) {
			st->src[slot].clip = j->clip;
			st->src[slot].copy_from = NULL;
			j->clip = NULL;
		} else if (slot >= 0 && j->err && st->src[slot].copy_from == j->uses[0]) {
			/* no memory for the copy: release it, decoded again when chosen */
			st->src[slot].copy_from = NULL;
			st->src[slot].info.released = true;
		}
		break;
	case JOB_ALIGN:
		slot = slot_of_id(st, j->id);
		if (slot < 0)
			break;
		pthread_mutex_lock(&st->lock);
		{
			struct audio_source_info *in = &st->src[slot].info;

			in->align_state = j->err ? AUDIO_ALIGN_FAILED : AUDIO_ALIGN_DONE;
			if (!j->err) {
				in->align_offset_s = j->align.offset_s;
				in->align_peak = j->align.peak;
				in->align_verdict = (int)j->align.verdict;
			} else {
				snprintf(st->notice, sizeof(st->notice), "%s: align: %s", in->name, j->msg);
			}
		}
		pthread_mutex_unlock(&st->lock);
		if (!j->err && j->align.reliable)
			audio_studio_set_offset(st, slot, j->align.offset_s);
		break;
	case JOB_ANALYSIS: {
		struct analysis *a = &st->an[j->route];

		a->queued = false;
		if (j->key != a->key || j->err)
			break;
		a->valid = true;
		a->a.over_region = j->over_region;
		a->a.integrated_lufs = j->an_loud.integrated_lufs;
		a->a.lra_lu = j->an_loud.lra_lu;
		a->a.true_peak_dbtp = j->an_loud.true_peak_dbtp;
		a->a.plr_db = j->an_loud.true_peak_dbtp - j->an_loud.integrated_lufs;
		for (int b = 0; b < AUDIO_STUDIO_BANDS && b < REFS_SPECTRUM_BANDS; b++) {
			a->a.mid_db[b] = j->spec.mid_db[b];
			a->a.side_db[b] = j->spec.side_db[b];
		}
		break;
	}
	}
}

/* Aligns that waited for their reference to be decoded. */
static void start_aligns(struct audio_studio *st)
{
	for (int i = 1; i < st->n_src; i++) {
		struct source *s = &st->src[i];
		struct job *j;

		if (!s->align_wanted)
			continue;
		if (s->info.state == AUDIO_SOURCE_FAILED || !st->mix_clip) {
			if (s->info.state == AUDIO_SOURCE_FAILED) {
				s->align_wanted = false;
				s->info.align_state = AUDIO_ALIGN_FAILED;
			}
			continue;
		}
		if (!s->clip) {
			want_clip(st, i);
			continue;
		}
		j = new_job(JOB_ALIGN);
		if (!j)
			continue;
		j->id = s->id;
		j->uses[0] = st->mix_clip;
		j->uses[1] = s->clip;
		s->align_wanted = false;
		enqueue(st, j);
	}
}

/* The screen may drive the engine directly (the loop keys, the playhead
 * mode, offsets): whatever the engine reports changing is taken as the
 * state the match methods and the views use.  Values the studio set
 * itself come back equal and change nothing. */
static void watch_engine(struct audio_studio *st)
{
	struct audio_engine_snapshot *n = malloc(sizeof(*n)), *o = &st->seen;
	bool first = !st->seen_valid, changed = false;

	if (!n)
		return;
	audio_engine_snapshot(st->engine, n);
	if (first || n->playhead != o->playhead) {
		changed = st->playhead != n->playhead;
		st->playhead = n->playhead;
	}
	if (n->playhead == AUDIO_PLAYHEAD_SYNC &&
	    (first || n->loop_on != o->loop_on || n->loop_in != o->loop_in ||
	     n->loop_out != o->loop_out)) {
		if (st->loop_on != n->loop_on || llround(st->loop_in_s * st->rate) != n->loop_in ||
		    llround(st->loop_out_s * st->rate) != n->loop_out) {
			st->loop_on = n->loop_on;
			st->loop_in_s = (double)n->loop_in / st->rate;
			st->loop_out_s = (double)n->loop_out / st->rate;
			changed = true;
		}
	}
	pthread_mutex_lock(&st->lock);
	for (int i = 0; i < st->n_src; i++) {
		struct audio_source_info *in = &st->src[i].info;

		if (i > 0 && (first || n->slot_offset[i] != o->slot_offset[i]) &&
		    llround(in->offset_s * st->rate) != n->slot_offset[i]) {
			in->offset_s = (double)n->slot_offset[i] / st->rate;
			changed = true;
		}
		if (first || n->slot_loop_on[i] != o->slot_loop_on[i] ||
		    n->slot_loop_in[i] != o->slot_loop_in[i] ||
		    n->slot_loop_out[i] != o->slot_loop_out[i]) {
			if (in->loop_on != n->slot_loop_on[i] ||
			    llround(in->loop_in_s * st->rate) != n->slot_loop_in[i] ||
			    llround(in->loop_out_s * st->rate) != n->slot_loop_out[i]) {
				in->loop_on = n->slot_loop_on[i];
				in->loop_in_s = (double)n->slot_loop_in[i] / st->rate;
				in->loop_out_s = (double)n->slot_loop_out[i] / st->rate;
				changed = true;
			}
		}
	}
	pthread_mutex_unlock(&st->lock);
	*o = *n;
	st->seen_valid = true;
	free(n);
	if (changed && !first) {
		st->an_gen++;
		st->match_dirty = true;
	}
}

bool audio_studio_poll(struct audio_studio *st)
{
	struct job *done;
	bool changed = false;

	if (pthread_mutex_trylock(&st->lock) != 0) {
		st->stats.lock_waits++;
		pthread_mutex_lock(&st->lock);
	}
	done = st->done;
	st->done = NULL;
	st->stats.polls++;
	if (st->running)
		st->stats.polls_while_busy++;
	pthread_mutex_unlock(&st->lock);

	/* oldest first */
	{
		struct job *rev = NULL;

		while (done) {
			struct job *n = done->next;

			done->next = rev;
			rev = done;
			done = n;
		}
		done = rev;
	}
	while (done) {
		struct job *j = done;

		done = j->next;
		changed = true;
		take_job(st, j);
		free_job(j);
	}

	watch_engine(st);
	start_aligns(st);
	enforce_budget(st);
	sync_slots(st);
	if (st->after_dirty && now_s() - st->after_changed_at >= AFTER_DEBOUNCE_S)
		queue_after(st);
	if (st->sys_dirty && (st->system[0] || st->band) && !st->after_dirty &&
	    st->match.after_measured)
		queue_sysmeasure(st);
	if (st->codec_dirty && st->codec.active && st->mix_clip && !st->after_dirty)
		queue_codec(st);
	if (st->match_dirty || st->match.method == AUDIO_MATCH_RIDING)
		rematch(st);
	audio_engine_collect(st->engine);
	return changed;
}

bool audio_studio_busy(struct audio_studio *st)
{
	bool busy;
	bool aligns = false;

	pthread_mutex_lock(&st->lock);
	busy = st->queue || st->running || st->done;
	pthread_mutex_unlock(&st->lock);
	for (int i = 1; i < st->n_src; i++)
		aligns = aligns || st->src[i].align_wanted;
	return busy || aligns || !slots_synced(st) || st->after_dirty || st->match_dirty ||
	       (st->sys_dirty && (st->system[0] || st->band)) ||
	       (st->codec_dirty && st->codec.active);
}

void audio_studio_stats(struct audio_studio *st, struct audio_studio_stats *out)
{
	*out = st->stats;
	out->resident_bytes = resident_bytes(st);
	out->budget_bytes = (int64_t)st->budget_bytes;
	out->released = 0;
	for (int i = 1; i < st->n_src; i++)
		out->released += st->src[i].info.released;
}
/* ---- controls and state ---- */

struct audio_engine *audio_studio_engine(struct audio_studio *st)
{
	return st->engine;
}

int audio_studio_set_param(struct audio_studio *st, unsigned idx, float value)
{
	int err;

	if (idx >= chain_param_count())
		return AUDIO_STUDIO_ERROR_STATE;
	value = chain_param_clamp(idx, value);
	err = audio_engine_set_param(st->engine, idx, value);
	if (err)
		return AUDIO_STUDIO_ERROR_BUSY;
	if (memcmp(&st->settings.value[idx], &value, sizeof(value)) != 0) {
		struct chain_settings was = st->settings;

		st->settings.value[idx] = value;
		settings_changed(st, &was);
	}
	return 0;
}

int audio_studio_set_settings(struct audio_studio *st, const struct chain_settings *s)
{
	struct chain_settings was = st->settings;
	bool changed = false;
	int err = 0;

	for (unsigned i = 0; i < chain_param_count(); i++) {
		float v = chain_param_clamp(i, s->value[i]);

		if (!memcmp(&st->settings.value[i], &v, sizeof(v)))
			continue;
		if (audio_engine_set_param(st->engine, i, v)) {
			err = AUDIO_STUDIO_ERROR_BUSY;  /* the rest next time */
			break;
		}
		st->settings.value[i] = v;
		changed = true;
	}
	if (changed)
		settings_changed(st, &was);  /* one re-measure for all */
	return err;
}

const struct chain_settings *audio_studio_settings(const struct audio_studio *st)
{
	return &st->settings;
}

int audio_studio_set_source(struct audio_studio *st, int slot)
{
	if (slot < 0 || slot >= st->n_src)
		return AUDIO_STUDIO_ERROR_STATE;
	st->user_source = slot;
	want_clip(st, slot);  /* a released reference is decoded again */
	if (slot == 0 && st->codec.active && st->codec_slot >= 0)
		slot = st->codec_slot;  /* the master as the codec leaves it */
	if (audio_engine_set_source(st->engine, slot))
		return AUDIO_STUDIO_ERROR_BUSY;
	if (st->playhead == AUDIO_PLAYHEAD_INDEPENDENT)
		st->match_dirty = true;
	return 0;
}

int audio_studio_source_count(const struct audio_studio *st)
{
	return st->n_src;
}

void audio_studio_source(struct audio_studio *st, int slot, struct audio_source_info *out)
{
	if (slot < 0 || slot >= st->n_src) {
		memset(out, 0, sizeof(*out));
		return;
	}
	pthread_mutex_lock(&st->lock);
	*out = st->src[slot].info;
	pthread_mutex_unlock(&st->lock);
}

void audio_studio_match(struct audio_studio *st, struct audio_match_info *out)
{
	*out = st->match;
}

const struct audio_clip *audio_studio_mix_clip(const struct audio_studio *st)
{
	return st->mix_clip;
}

int audio_studio_set_system(struct audio_studio *st, const char *name)
{
	const struct refs_device *d = NULL;
	struct job *j;

	if (name && strcmp(name, "off") != 0) {
		d = st->devices ? refs_device_find(st->devices, name) : NULL;
		if (!d)
			return AUDIO_STUDIO_ERROR_STATE;
	}
	st->system_gen++;
	st->sys_measured = false;
	st->sys_gen++;  /* a pass in flight is stale */
	atomic_store(&st->sys_live_gen, st->sys_gen);
	st->match_dirty = true;
	if (!d) {
		st->system[0] = '\0';
		st->sys_dirty = st->band != 0;
		audio_engine_set_devsim(st->engine, NULL);
		return 0;
	}
	st->system_spec = d->spec;
	st->sys_dirty = true;
	j = calloc(1, sizeof(*j));
	if (!j)
		return AUDIO_STUDIO_ERROR_NOMEM;
	j->type = JOB_DEVSIM;
	j->gen = st->system_gen;
	j->devspec = d->spec;
	snprintf(st->system, sizeof(st->system), "%s", d->name);
	enqueue(st, j);
	return 0;
}

int audio_studio_set_codec(struct audio_studio *st, int codec, int bitrate_kbps, bool artefacts)
{
	if (codec < 0) {
		bool was = st->codec.active;

		memset(&st->codec, 0, sizeof(st->codec));
		st->codec_gen++;
		atomic_store(&st->codec_live_gen, st->codec_gen);
		if (was && st->user_source == 0)
			audio_engine_set_source(st->engine, 0);
		st->codec_slot = -1;
		return 0;
	}
	if (codec > AUDIO_CODEC_VORBIS || bitrate_kbps <= 0)
		return AUDIO_STUDIO_ERROR_STATE;
	st->codec.active = 1;
	st->codec.codec = (enum audio_codec)codec;
	st->codec.bitrate_kbps = bitrate_kbps;
	st->codec.artefacts = artefacts;
	st->codec.err = 0;
	st->codec.msg[0] = '\0';
	st->codec_dirty = true;
	return 0;
}

void audio_studio_codec(struct audio_studio *st, struct audio_codec_info *out)
{
	*out = st->codec;
}

int audio_studio_set_listen_level(struct audio_studio *st, float level_db)
{
	if (audio_engine_set_listen_level(st->engine, level_db))
		return AUDIO_STUDIO_ERROR_STATE;
	st->listen_db = level_db;
	st->sys_dirty = st->system[0] != '\0';
	return 0;
}

float audio_studio_listen_level(const struct audio_studio *st)
{
	return st->listen_db;
}

int audio_studio_set_bandsolo(struct audio_studio *st, int band)
{
	if (band < 0 || band > CHAIN_BANDSOLO_BANDS ||
	    audio_engine_set_bandsolo(st->engine, band))
		return AUDIO_STUDIO_ERROR_STATE;
	st->band = band;
	st->sys_measured = false;
	st->sys_gen++;
	atomic_store(&st->sys_live_gen, st->sys_gen);
	st->sys_dirty = st->system[0] != '\0' || band;
	st->match_dirty = true;
	return 0;
}

const char *audio_studio_system(struct audio_studio *st)
{
	return st->system;
}

const struct refs_device *audio_studio_system_at(struct audio_studio *st, int i)
{
	if (!st->devices || i < 0 || (size_t)i >= refs_device_count(st->devices))
		return NULL;
	return refs_device_at(st->devices, (size_t)i);
}

int audio_studio_set_platform(struct audio_studio *st, const char *id)
{
	int idx = -1;

	if (id && strcmp(id, "off") != 0) {
		for (size_t i = 0; i < refs_platform_count(st->platforms); i++)
			if (strcmp(refs_platform_at(st->platforms, i)->id, id) == 0)
				idx = (int)i;
		if (idx < 0)
			return AUDIO_STUDIO_ERROR_STATE;
		audio_engine_set_match(st->engine, true);
	}
	st->platform = idx;
	{
		const struct refs_platform *p = idx >= 0 ? refs_platform_at(st->platforms, (size_t)idx) : NULL;

		if (p && p->boost == REFS_PLATFORM_BOOST_LIMITER)
			audio_engine_set_platform_limiter(st->engine, true, (float)p->limiter_ceiling_db,
							  (float)p->limiter_release_ms);
		else
			audio_engine_set_platform_limiter(st->engine, false, -1.0f, 100.0f);
	}
	rematch(st);
	return 0;
}

void audio_studio_platform(struct audio_studio *st, struct audio_platform_info *out)
{
	memset(out, 0, sizeof(*out));
	out->n_platforms = (int)refs_platform_count(st->platforms);
	if (st->platform < 0)
		return;
	out->active = 1;
	out->rule = *refs_platform_at(st->platforms, (size_t)st->platform);
	memcpy(out->result, st->presult, sizeof(out->result));
}

const struct refs_platform *audio_studio_platform_at(struct audio_studio *st, int i)
{
	if (i < 0 || (size_t)i >= refs_platform_count(st->platforms))
		return NULL;
	return refs_platform_at(st->platforms, (size_t)i);
}

double audio_studio_rate(const struct audio_studio *st)
{
	return st->rate;
}

const char *audio_studio_output_status(const struct audio_studio *st)
{
	return st->output_status;
}

bool audio_studio_has_device(const struct audio_studio *st)
{
	return st->has_device;
}

const char *audio_studio_notice(const struct audio_studio *st)
{
	return st->notice;
}

/* ---- referencing ---- */

int audio_studio_set_playhead(struct audio_studio *st, enum audio_playhead mode)
{
	if (mode != AUDIO_PLAYHEAD_SYNC && mode != AUDIO_PLAYHEAD_INDEPENDENT)
		return AUDIO_STUDIO_ERROR_STATE;
	if (audio_engine_set_playhead(st->engine, mode))
		return AUDIO_STUDIO_ERROR_BUSY;
	st->playhead = mode;
	st->an_gen++;
	st->match_dirty = true;
	return 0;
}

enum audio_playhead audio_studio_playhead(const struct audio_studio *st)
{
	return st->playhead;
}

int audio_studio_set_offset(struct audio_studio *st, int slot, double seconds)
{
	if (slot < 1 || slot >= st->n_src || !isfinite(seconds) || fabs(seconds) > 86400)
		return AUDIO_STUDIO_ERROR_STATE;
	if (audio_engine_set_offset(st->engine, slot, llround(seconds * st->rate)))
		return AUDIO_STUDIO_ERROR_BUSY;
	pthread_mutex_lock(&st->lock);
	st->src[slot].info.offset_s = seconds;
	pthread_mutex_unlock(&st->lock);
	st->an_gen++;
	st->match_dirty = true;
	return 0;
}

int audio_studio_set_trim(struct audio_studio *st, int route, double db)
{
	if (!isfinite(db) || fabs(db) > AUDIO_STUDIO_TRIM_MAX_DB)
		return AUDIO_STUDIO_ERROR_STATE;
	if (route != AUDIO_ROUTE_AFTER && route != AUDIO_ROUTE_BEFORE &&
	    (route < 1 || route >= st->n_src))
		return AUDIO_STUDIO_ERROR_STATE;
	st->trim_db[route] = db;
	if (route == AUDIO_ROUTE_BEFORE || route == AUDIO_ROUTE_AFTER) {
		/* the mix's trims show in slot 0's info as the "after" one */
		pthread_mutex_lock(&st->lock);
		st->src[0].info.trim_db = st->trim_db[AUDIO_ROUTE_AFTER];
		pthread_mutex_unlock(&st->lock);
	} else {
		pthread_mutex_lock(&st->lock);
		st->src[route].info.trim_db = db;
		pthread_mutex_unlock(&st->lock);
	}
	st->match_dirty = true;
	return 0;
}

double audio_studio_trim(const struct audio_studio *st, int route)
{
	return route >= 0 && route < AUDIO_ROUTES ? st->trim_db[route] : 0;
}

int audio_studio_set_loop(struct audio_studio *st, double in_s, double out_s, bool on)
{
	int slot = st->user_source;

	if (!isfinite(in_s) || !isfinite(out_s) || in_s < 0 || (on && out_s <= in_s))
		return AUDIO_STUDIO_ERROR_STATE;
	if (audio_engine_set_loop(st->engine, in_s, out_s, on))
		return AUDIO_STUDIO_ERROR_STATE;
	if (st->playhead == AUDIO_PLAYHEAD_SYNC) {
		st->loop_on = on;
		st->loop_in_s = in_s;
		st->loop_out_s = out_s;
	} else {
		pthread_mutex_lock(&st->lock);
		st->src[slot].info.loop_on = on;
		st->src[slot].info.loop_in_s = in_s;
		st->src[slot].info.loop_out_s = out_s;
		pthread_mutex_unlock(&st->lock);
	}
	st->an_gen++;
	st->match_dirty = true;
	return 0;
}

int audio_studio_add_cue(struct audio_studio *st, int slot, double seconds)
{
	struct audio_source_info *in;
	int at;

	if (slot < 0 || slot >= st->n_src || !isfinite(seconds) || seconds < 0)
		return AUDIO_STUDIO_ERROR_STATE;
	in = &st->src[slot].info;
	for (int i = 0; i < in->n_cues; i++)
		if (fabs(in->cue_s[i] - seconds) < CUE_DUP_S)
			return 0;
	if (in->n_cues >= AUDIO_STUDIO_CUES_MAX)
		return AUDIO_STUDIO_ERROR_STATE;
	pthread_mutex_lock(&st->lock);
	for (at = in->n_cues; at > 0 && in->cue_s[at - 1] > seconds; at--)
		in->cue_s[at] = in->cue_s[at - 1];
	in->cue_s[at] = seconds;
	in->n_cues++;
	pthread_mutex_unlock(&st->lock);
	return 0;
}

int audio_studio_remove_cue(struct audio_studio *st, int slot, int index)
{
	struct audio_source_info *in;

	if (slot < 0 || slot >= st->n_src)
		return AUDIO_STUDIO_ERROR_STATE;
	in = &st->src[slot].info;
	if (index < 0 || index >= in->n_cues)
		return AUDIO_STUDIO_ERROR_STATE;
	pthread_mutex_lock(&st->lock);
	memmove(&in->cue_s[index], &in->cue_s[index + 1],
		sizeof(double) * (size_t)(in->n_cues - index - 1));
	in->n_cues--;
	pthread_mutex_unlock(&st->lock);
	return 0;
}

int audio_studio_go_cue(struct audio_studio *st, int slot, int index)
{
	const struct audio_source_info *in;
	double t;
	int err;

	if (slot < 0 || slot >= st->n_src)
		return AUDIO_STUDIO_ERROR_STATE;
	in = &st->src[slot].info;
	if (index < 0 || index >= in->n_cues)
		return AUDIO_STUDIO_ERROR_STATE;
	t = in->cue_s[index];
	err = audio_studio_set_source(st, slot);
	if (err)
		return err;
	/* sync: seek moves the timeline, on which the reference plays at
	 * timeline + offset; independent: the source that plays (this one) */
	if (st->playhead == AUDIO_PLAYHEAD_SYNC && slot > 0)
		t -= in->offset_s;
	if (t < 0)
		t = 0;
	return audio_engine_seek(st->engine, t) ? AUDIO_STUDIO_ERROR_BUSY : 0;
}

int audio_studio_align(struct audio_studio *st, int slot)
{
	if (slot < 1 || slot >= st->n_src || st->src[slot].info.state == AUDIO_SOURCE_FAILED)
		return AUDIO_STUDIO_ERROR_STATE;
	pthread_mutex_lock(&st->lock);
	st->src[slot].info.align_state = AUDIO_ALIGN_RUNNING;
	pthread_mutex_unlock(&st->lock);
	st->src[slot].align_wanted = true;
	start_aligns(st);
	return 0;
}

int audio_studio_set_match_method(struct audio_studio *st, enum audio_match_method m)
{
	if ((unsigned)m >= AUDIO_MATCH_METHOD_COUNT)
		return AUDIO_STUDIO_ERROR_STATE;
	st->match.method = m;
	for (int r = 0; r < AUDIO_ROUTES; r++)
		st->ride_valid[r] = false;
	st->match_dirty = true;
	rematch(st);
	return 0;
}

/* ---- comparison views ---- */

static void drop_queued_analysis(struct audio_studio *st, int route)
{
	struct job **pp, *gone = NULL;

	pthread_mutex_lock(&st->lock);
	st->queue_tail = NULL;
	for (pp = &st->queue; *pp;) {
		struct job *j = *pp;

		if (j->type == JOB_ANALYSIS && j->route == route) {
			*pp = j->next;
			j->next = gone;
			gone = j;
		} else {
			st->queue_tail = j;
			pp = &j->next;
		}
	}
	pthread_mutex_unlock(&st->lock);
	while (gone) {
		struct job *j = gone;

		gone = j->next;
		free_job(j);
	}
}

void audio_studio_analysis(struct audio_studio *st, int route, struct audio_route_analysis *out)
{
	const struct refs_riding_profile *p;
	const struct audio_clip *c;
	struct analysis *a;
	int slot = slot_of_route(route);
	double in = 0, ou = 0;
	bool region;
	unsigned key;

	memset(out, 0, sizeof(*out));
	if (route < 0 || route >= AUDIO_ROUTES || slot >= st->n_src)
		return;
	a = &st->an[route];
	/* the short-term curve straight from the profile */
	p = route_profile(st, route);
	if (p && p->n) {
		float *cv = realloc(a->curve, sizeof(float) * (size_t)p->n);

		if (cv) {
			a->curve = cv;
			for (int64_t k = 0; k < p->n; k++)
				cv[k] = (float)refs_riding_shortterm(p, k + 1);
			out->short_term = cv;
			out->n_short_term = (int)p->n;
			out->st_hop_s = (double)p->seg_frames / p->rate;
		}
	}
	region = route_region(st, route, &in, &ou);
	key = st->an_gen * 2654435761u ^ (route == AUDIO_ROUTE_AFTER ? st->after_gen * 40503u : 0);
	if (a->valid && a->key == key) {
		const float *cv = out->short_term;
		int n = out->n_short_term;
		double hop = out->st_hop_s;

		*out = a->a;
		out->valid = true;
		out->short_term = cv;
		out->n_short_term = n;
		out->st_hop_s = hop;
		return;
	}
	if (a->key != key) {
		a->valid = false;
		a->key = key;
		a->queued = false;
	}
	c = route == AUDIO_ROUTE_AFTER || route == AUDIO_ROUTE_BEFORE ? st->mix_clip :
	    st->src[slot].clip;
	if (!c) {
		want_clip(st, slot);
		return;
	}
	if (!a->queued) {
		struct job *j = new_job(JOB_ANALYSIS);
		int64_t from = 0, to = c->frames;

		if (!j)
			return;
		if (region) {
			from = llround(in * c->rate);
			to = llround(ou * c->rate);
			if (from > c->frames)
				from = c->frames;
			if (to > c->frames)
				to = c->frames;
		}
		j->route = route;
		j->from = from;
		j->to = to;
		j->over_region = region;
		j->key = key;
		j->uses[0] = c;
		j->settings = st->settings;
		a->queued = true;
		drop_queued_analysis(st, route);  /* a stale one not started yet */
		enqueue(st, j);
	}
}

/* ---- snapshots ---- */

int audio_studio_premeasure(struct audio_studio *st, const struct chain_settings *s)
{
	struct job *j;
	bool queued = false;

	if (pre_find(st, s))
		return 0;
	if (!st->mix_clip)
		return 0;
	pthread_mutex_lock(&st->lock);
	for (const struct job *q = st->queue; q && !queued; q = q->next)
		queued = q->type == JOB_AFTER && !memcmp(&q->settings, s, sizeof(*s));
	pthread_mutex_unlock(&st->lock);
	if (queued)
		return 0;
	j = new_job(JOB_AFTER);
	if (!j)
		return AUDIO_STUDIO_ERROR_NOMEM;
	j->premeasure = true;
	j->settings = *s;
	enqueue(st, j);
	return 0;
}

bool audio_studio_is_measured(struct audio_studio *st, const struct chain_settings *s)
{
	return pre_find(st, s) != NULL;
}

bool audio_studio_measured_lufs(struct audio_studio *st, const struct chain_settings *s,
				double *lufs)
{
	const struct premeasured *e = pre_find(st, s);

	if (!e || !isfinite(e->loud.integrated_lufs))
		return false;
	*lufs = e->loud.integrated_lufs;
	return true;
}

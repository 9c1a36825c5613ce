/*
 * termaster — the workstation behind the screen and the headless reader
 * (see studio.h).
 *
 * Threads: the control thread calls every audio_studio_* function; one
 * worker thread runs jobs from a queue (decode + measure a source, render
 * the chain over the mix and measure "after").  The worker never talks to
 * the engine: it leaves results on a list that audio_studio_poll() takes.
 * `lock` guards the queue, the result list and the per-source progress.
 *
 * Lifetime of clips: a decoded clip goes to the engine by pointer
 * (audio_engine_set_clip) and comes back on its trash ring.  The mix clip
 * is read by "after" render jobs as well; slot 0 is filled once and only
 * replaced after the worker has stopped (audio_studio_free), so the worker
 * never reads a freed mix.
 */
#include "config.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "audio/clip.h"
#include "audio/demo.h"
#include "audio/output.h"
#include "audio/render.h"
#include "audio/studio.h"
#include "chain/devsim.h"
#include "chain/bandsolo.h"
#include "refs/loudness.h"
#include "refs/match.h"

/* Input gain of the demo's chain (a string: it goes through the table). */
#define AUDIO_STUDIO_DEMO_GAIN_DB "10"

/* Debounce of "after" re-measurement after the last parameter change. */
#define AFTER_DEBOUNCE_S 0.15

enum job_type { JOB_LOAD, JOB_DEMO, JOB_AFTER, JOB_DEVSIM, JOB_SYSMEASURE, JOB_CODEC };

struct job {
	struct job *next;
	enum job_type type;
	int slot;
	int demo;                     /* JOB_DEMO: which */
	unsigned gen;                 /* JOB_AFTER: settings generation */
	struct chain_settings settings;
	struct chain_devsim_spec devspec;   /* JOB_DEVSIM */
	struct chain_devsim *devsim;        /* its result */
	float level_db;                     /* JOB_SYSMEASURE: listening level */
	int band;                           /* JOB_SYSMEASURE: soloed band, 0 none */
	bool has_system;                    /* JOB_SYSMEASURE: through the system */
	const struct audio_clip *clips[AUDIO_MAX_SOURCES];  /* JOB_SYSMEASURE */
	int n_clips;
	/* JOB_CODEC */
	int codec, kbps;
	bool artefacts;
	struct audio_codec_result cres;
	/* JOB_SYSMEASURE results per route: loudness through the system */
	struct refs_loudness sys[AUDIO_ROUTES];
	bool sys_valid[AUDIO_ROUTES];
	/* results */
	int err;
	char msg[256];
	struct audio_clip *clip;
	struct refs_loudness loud;
};

struct source {
	struct audio_source_info info;  /* progress written by the worker under lock */
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
	bool match_dirty;
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
	const struct audio_clip *clip[AUDIO_MAX_SOURCES];
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

	struct source src[AUDIO_MAX_SOURCES];
	int n_src;
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

/* ---- worker ---- */

struct progress_ctx {
	struct audio_studio *st;
	int slot;
	double base, span;   /* map 0 … 1 of a phase onto the slot's progress */
};

static int load_progress(void *user, double fraction)
{
	struct progress_ctx *p = user;

	if (atomic_load(&p->st->stopping))
		return 1;
	pthread_mutex_lock(&p->st->lock);
	p->st->src[p->slot].info.progress = p->base + p->span * fraction;
	pthread_mutex_unlock(&p->st->lock);
	return 0;
}

static void set_state(struct audio_studio *st, int slot, enum audio_source_state s)
{
	pthread_mutex_lock(&st->lock);
	st->src[slot].info.state = s;
	pthread_mutex_unlock(&st->lock);
}

static void run_measure(struct audio_studio *st, struct job *j)
{
	struct progress_ctx p = { st, j->slot, 0.0, 1.0 };

	set_state(st, j->slot, AUDIO_SOURCE_MEASURING);
	j->err = refs_loudness_measure(j->clip->data, j->clip->frames, 2, j->clip->rate,
				       &j->loud, load_progress, &p);
	if (j->err) {
		snprintf(j->msg, sizeof(j->msg), "loudness analysis failed: %s",
			 refs_loudness_strerror(j->err));
		audio_clip_free(&j->clip);
	}
}

static void run_load(struct audio_studio *st, struct job *j)
{
	struct progress_ctx p = { st, j->slot, 0.0, 1.0 };
	char path[sizeof(st->src[0].info.path)];

	pthread_mutex_lock(&st->lock);
	memcpy(path, st->src[j->slot].info.path, sizeof(path));
	pthread_mutex_unlock(&st->lock);
	j->err = audio_clip_load(path, st->rate, &j->clip, load_progress, &p,
				 j->msg, sizeof(j->msg));
	if (j->err)
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

struct after_ctx {
	struct audio_studio *st;
	struct refs_analyser *an;
	unsigned gen;
};

static int after_sink(void *user, const float *lr, size_t frames)
{
	struct after_ctx *a = user;

	if (atomic_load(&a->st->stopping) || atomic_load(&a->st->live_gen) != a->gen)
		return 1;  /* stale: a newer setting is waiting */
	return refs_analyser_add(a->an, lr, frames) ? 1 : 0;
}

static void run_after(struct audio_studio *st, struct job *j)
{
	struct after_ctx a = { st, NULL, j->gen };
	const struct audio_clip *mix = st->mix_clip;
	int err = 0;

	a.an = refs_analyser_new(2, mix->rate, &err);
	if (!a.an) {
		j->err = err ? err : 1;
		snprintf(j->msg, sizeof(j->msg), "cannot start the loudness analyser");
		return;
	}
	j->err = audio_render_run(mix->data, mix->frames, mix->rate, &j->settings,
				  after_sink, &a);
	if (!j->err)
		j->err = refs_analyser_result(a.an, &j->loud);
	refs_analyser_free(&a.an);
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
	c->an = refs_analyser_new(2, st->rate, &err);
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

static void *worker_main(void *arg)
{
	struct audio_studio *st = arg;

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
	free(j);
}

/* ---- construction ---- */

static int add_source(struct audio_studio *st, const char *path, const char *name)
{
	struct source *s;
	const char *base;
	int slot;

	if (st->n_src >= AUDIO_SLOT_CODEC)  /* the last two slots are the codec preview's */
		return -1;
	slot = st->n_src++;
	s = &st->src[slot];
	pthread_mutex_lock(&st->lock);
	memset(&s->info, 0, sizeof(s->info));
	snprintf(s->info.path, sizeof(s->info.path), "%s", path ? path : "");
	base = path ? strrchr(path, '/') : NULL;
	snprintf(s->info.name, sizeof(s->info.name), "%s",
		 name ? name : base ? base + 1 : path);
	s->info.state = AUDIO_SOURCE_LOADING;
	pthread_mutex_unlock(&st->lock);
	return slot;
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
		j->slot = add_source(st, mix_path, NULL);
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
			j->slot = add_source(st, NULL, names[d]);
			snprintf(st->src[j->slot].info.path, sizeof(st->src[j->slot].info.path),
				 "(generated)");
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
	audio_engine_free(&st->engine);
	refs_platform_set_free(&st->platforms);
	refs_device_set_free(&st->devices);
	pthread_cond_destroy(&st->cond);
	pthread_mutex_destroy(&st->lock);
	free(st);
	*stp = NULL;
}

int audio_studio_add_ref(struct audio_studio *st, const char *path)
{
	struct job *j;
	int slot;

	if (st->n_src >= AUDIO_SLOT_CODEC)
		return -1;
	j = calloc(1, sizeof(*j));
	if (!j)
		return -1;
	slot = add_source(st, path, NULL);
	j->type = JOB_LOAD;
	j->slot = slot;
	enqueue(st, j);
	return slot;
}

/* ---- control thread: integrate ---- */

static void queue_after(struct audio_studio *st)
{
	struct job *j;

	if (!st->mix_clip)
		return;
	j = calloc(1, sizeof(*j));
	if (!j)
		return;
	j->type = JOB_AFTER;
	j->gen = st->after_gen;
	j->settings = st->settings;
	atomic_store(&st->live_gen, st->after_gen);
	st->after_dirty = false;
	st->after_queued = true;
	st->match.after_pending = true;
	enqueue(st, j);
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
		j->clips[i] = st->clip[i];
	j->n_clips = st->n_src;
	atomic_store(&st->sys_live_gen, j->gen);
	st->sys_dirty = false;
	st->sys_measured = false;
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

static void recompute_match(struct audio_studio *st)
{
	struct refs_match_source s[AUDIO_MAX_SOURCES + 1], file[AUDIO_MAX_SOURCES + 1];
	double g[AUDIO_MAX_SOURCES + 1];
	size_t n = 0;

	/* [0] after, [1] before, [1 + k] reference k */
	memset(s, 0, sizeof(s));
	s[n].valid = st->match.after_measured;
	s[n].integrated_lufs = st->match.after.integrated_lufs;
	s[n].true_peak_dbtp = st->match.after.true_peak_dbtp;
	n++;
	for (int i = 0; i < st->n_src; i++, n++) {
		const struct audio_source_info *in = &st->src[i].info;

		s[n].valid = in->measured;
		s[n].integrated_lufs = in->loudness.integrated_lufs;
		s[n].true_peak_dbtp = in->loudness.true_peak_dbtp;
	}
	/* the files as they are: what a streaming platform measures */
	memcpy(file, s, sizeof(file));
	if ((st->system[0] || st->band) && st->sys_measured) {
		/* on a playback system or a soloed band, match what is heard */
		for (size_t i = 0; i < n; i++) {
			int r = route_of(i);

			if (r < AUDIO_ROUTES && st->sys_valid[r]) {
				s[i].integrated_lufs = st->sys_loud[r].integrated_lufs;
				s[i].true_peak_dbtp = st->sys_loud[r].true_peak_dbtp;
			}
		}
	}
	refs_match_compute(s, n, st->opts.max_peak_dbtp, g, &st->match.result);
	/* report the limiting source as a route (AUDIO_ROUTE_*) */
	if (st->match.result.limiting_source >= 0)
		st->match.result.limiting_source = route_of((size_t)st->match.result.limiting_source);
	for (int r = 0; r < AUDIO_ROUTES; r++)
		st->match.gain_db[r] = index_of(r) < n ? g[index_of(r)] : 0;
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
	for (int r = 0; r < AUDIO_ROUTES; r++) {
		float v = (float)(st->platform >= 0 ? st->presult[r].gain_db : st->match.gain_db[r]);

		if (v != st->sent_gain_db[r] || !st->gains_sent) {
			st->sent_gain_db[r] = v;
			audio_engine_set_gain(st->engine, r, v);
		}
	}
	st->gains_sent = true;
}

bool audio_studio_poll(struct audio_studio *st)
{
	struct job *done;
	bool changed = false;

	pthread_mutex_lock(&st->lock);
	done = st->done;
	st->done = NULL;
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
		if (j->type == JOB_DEVSIM) {
			if (j->gen == st->system_gen) {
				if (j->err) {
					snprintf(st->notice, sizeof(st->notice),
						 "playback system: cannot build it (%s)", chain_strerror(j->err));
					st->system[0] = '\0';
				} else if (audio_engine_set_devsim(st->engine, j->devsim) == 0) {
					j->devsim = NULL;
				}
			}
			free_job(j);
			continue;
		}
		if (j->type == JOB_CODEC) {
			if (j->gen == st->codec_gen) {
				st->codec.pending = 0;
				st->codec.err = j->err;
				snprintf(st->codec.msg, sizeof(st->codec.msg), "%s", j->msg);
				if (!j->err) {
					st->codec.actual_kbps = j->cres.actual_kbps;
					st->codec.true_peak_dbtp = j->cres.true_peak_dbtp;
					st->codec.true_peak_rise_db = j->cres.true_peak_rise_db;
					st->codec.match_gain_db = j->cres.match_gain_db;
					st->codec.ceiling_dbtp = j->cres.ceiling_dbtp;
					st->codec.over_count = j->cres.over_count;
					st->codec.over_s = j->cres.over_s;
					int slot = st->codec_slot == AUDIO_SLOT_CODEC ?
						   AUDIO_SLOT_CODEC + 1 : AUDIO_SLOT_CODEC;

					audio_engine_set_clip(st->engine, slot, j->clip);
					j->clip = NULL;
					st->codec_slot = slot;
					st->match_dirty = true;
					recompute_match(st);  /* its gain before it plays */
					st->match_dirty = false;
					if (st->user_source == 0)
						audio_engine_set_source(st->engine, slot);
				} else {
					snprintf(st->notice, sizeof(st->notice), "codec preview: %s", j->msg);
				}
			}
			free_job(j);
			continue;
		}
		if (j->type == JOB_SYSMEASURE) {
			if (j->gen == st->sys_gen && !j->err) {
				memcpy(st->sys_loud, j->sys, sizeof(st->sys_loud));
				memcpy(st->sys_valid, j->sys_valid, sizeof(st->sys_valid));
				st->sys_measured = true;
				st->match_dirty = true;
			}
			free_job(j);
			continue;
		}
		if (j->type == JOB_AFTER) {
			if (j->gen == st->after_gen && !j->err) {
				st->match.after = j->loud;
				st->match.after_measured = true;
				st->match.after_pending = st->after_dirty;
				st->match_dirty = true;
				st->sys_dirty = st->system[0] != '\0' || st->band;
				st->codec_dirty = st->codec.active;
			}
			if (j->gen == st->after_gen)
				st->after_queued = false;
			free_job(j);
			continue;
		}
		pthread_mutex_lock(&st->lock);
		if (j->err) {
			struct audio_source_info *in = &st->src[j->slot].info;

			in->state = AUDIO_SOURCE_FAILED;
			snprintf(in->error, sizeof(in->error), "%s", j->msg);
			snprintf(st->notice, sizeof(st->notice), "%s: %s", in->name, j->msg);
		} else {
			struct audio_source_info *in = &st->src[j->slot].info;

			in->state = AUDIO_SOURCE_READY;
			in->progress = 1.0;
			in->measured = true;
			in->loudness = j->loud;
			in->duration_s = (double)j->clip->frames / j->clip->rate;
			in->file_rate = j->clip->file_rate;
			in->file_channels = j->clip->file_channels;
			in->nonfinite = j->clip->nonfinite;
			snprintf(in->format, sizeof(in->format), "%s", j->clip->format);
			if (j->clip->nonfinite)
				snprintf(st->notice, sizeof(st->notice),
					 "%s: %lld non-finite samples (NaN/Inf) replaced by silence",
					 in->name, (long long)j->clip->nonfinite);
		}
		pthread_mutex_unlock(&st->lock);
		if (!j->err) {
			if (j->slot == 0)
				st->mix_clip = j->clip;
			st->clip[j->slot] = j->clip;
			audio_engine_set_clip(st->engine, j->slot, j->clip);
			st->sys_dirty = st->system[0] != '\0' || st->band;
			j->clip = NULL;
			if (j->slot == 0) {
				st->after_dirty = true;
				st->after_changed_at = 0;
			}
			st->match_dirty = true;
		}
		free_job(j);
	}

	if (st->after_dirty && now_s() - st->after_changed_at >= AFTER_DEBOUNCE_S)
		queue_after(st);
	if (st->sys_dirty && (st->system[0] || st->band) && !st->after_dirty &&
	    st->match.after_measured)
		queue_sysmeasure(st);
	if (st->codec_dirty && st->codec.active && st->mix_clip && !st->after_dirty)
		queue_codec(st);
	if (st->match_dirty) {
		recompute_match(st);
		st->match_dirty = false;
	}
	audio_engine_collect(st->engine);
	return changed;
}

bool audio_studio_busy(struct audio_studio *st)
{
	bool busy;

	pthread_mutex_lock(&st->lock);
	busy = st->queue || st->running || st->done;
	pthread_mutex_unlock(&st->lock);
	return busy || st->after_dirty || st->match_dirty ||
	       (st->sys_dirty && (st->system[0] || st->band)) ||
	       (st->codec_dirty && st->codec.active);
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
	if (st->settings.value[idx] != value) {
		st->settings.value[idx] = value;
		st->after_gen++;
		atomic_store(&st->live_gen, st->after_gen);
		st->after_dirty = true;
		st->after_changed_at = now_s();
		st->match.after_pending = true;
	}
	return 0;
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
	if (slot == 0 && st->codec.active && st->codec_slot >= 0)
		slot = st->codec_slot;  /* the master as the codec leaves it */
	return audio_engine_set_source(st->engine, slot) ? AUDIO_STUDIO_ERROR_BUSY : 0;
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
	recompute_match(st);
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

/*
 * termaster — a render on its own thread.
 */
#include "config.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audio/clip.h"
#include "audio/render.h"
#include "audio/renderjob.h"
#include "chain/chain.h"

struct audio_renderjob {
	pthread_t thread;
	bool started;
	struct audio_renderjob_opts o;
	char out_path[1024];
	char *in_path;                 /* NULL: render `mix` */
	const struct audio_clip *mix;
	atomic_int cancel;
	pthread_mutex_t lock;          /* guards state */
	struct audio_renderjob_state state;
};

void audio_renderjob_opts_default(struct audio_renderjob_opts *o)
{
	memset(o, 0, sizeof(*o));
	audio_render_opts_default(&o->render);
	o->max_gr_db = AUDIO_RENDER_MAX_GR_DB;
}

static void set_progress(struct audio_renderjob *j, enum audio_renderjob_phase ph, int pass,
			 double f)
{
	pthread_mutex_lock(&j->lock);
	j->state.phase = ph;
	j->state.pass = pass;
	j->state.fraction = f;
	pthread_mutex_unlock(&j->lock);
}

static int on_decode(void *user, double f)
{
	struct audio_renderjob *j = user;

	set_progress(j, AUDIO_RENDERJOB_DECODING, 0, f);
	return atomic_load(&j->cancel);
}

static int on_pass(void *user, int pass, double f)
{
	struct audio_renderjob *j = user;

	set_progress(j, AUDIO_RENDERJOB_SEARCHING, pass, f);
	return atomic_load(&j->cancel);
}

static int on_render(void *user, double f)
{
	struct audio_renderjob *j = user;

	set_progress(j, AUDIO_RENDERJOB_RENDERING, 0, f);
	return atomic_load(&j->cancel);
}

static void finish(struct audio_renderjob *j, int err, const char *msg,
		   const struct refs_loudness *lm, double gain_db)
{
	pthread_mutex_lock(&j->lock);
	j->state.phase = AUDIO_RENDERJOB_DONE;
	j->state.err = err;
	j->state.fraction = 1.0;
	snprintf(j->state.msg, sizeof(j->state.msg), "%s", msg);
	if (lm)
		j->state.measured = *lm;
	j->state.gain_db = gain_db;
	pthread_mutex_unlock(&j->lock);
}

static void *run(void *arg)
{
	struct audio_renderjob *j = arg;
	struct audio_render_opts *ro = &j->o.render;
	struct audio_clip *own = NULL;
	const struct audio_clip *mix = j->mix;
	struct audio_render_target tr;
	struct refs_loudness lm;
	char msg[512], line[4096];
	int gi = chain_param_find("gain.gain_db");
	double gain_db = gi >= 0 ? ro->settings.value[gi] : 0.0;
	int err;

	audio_thread_background();  /* a render must not be heard */
	if (j->in_path) {
		err = audio_clip_load(j->in_path, 0, &own, on_decode, j, msg, sizeof(msg));
		if (err) {
			snprintf(line, sizeof(line), "%s: %s", j->in_path,
				 err == AUDIO_CLIP_ERROR_CANCELLED ? "cancelled" : msg);
			finish(j, err == AUDIO_CLIP_ERROR_CANCELLED ? AUDIO_RENDER_ERROR_CANCELLED :
				  err == AUDIO_CLIP_ERROR_NOMEM ? AUDIO_RENDER_ERROR_NOMEM :
								  AUDIO_RENDER_ERROR_WRITE,
			       line, NULL, gain_db);
			return NULL;
		}
		mix = own;
	}
	if (j->o.have_target) {
		err = audio_render_find_gain(mix, ro, j->o.target_lufs, j->o.max_gr_db, &tr,
					     on_pass, j, msg, sizeof(msg));
		if (err) {
			snprintf(line, sizeof(line), "%s: %s%s", j->out_path,
				 err == AUDIO_RENDER_ERROR_CANCELLED ? "cancelled" : msg,
				 err == AUDIO_RENDER_ERROR_TARGET ? "; nothing written" : "");
			finish(j, err, line, NULL, gain_db);
			audio_clip_free(&own);
			return NULL;
		}
		if (gi >= 0)
			ro->settings.value[gi] = (float)tr.at.gain_db;
		gain_db = tr.at.gain_db;
	}
	ro->progress = on_render;
	ro->user = j;
	err = audio_render_file(mix, ro, &lm, msg, sizeof(msg));
	if (err) {
		if (err == AUDIO_RENDER_ERROR_EXISTS)
			snprintf(line, sizeof(line), "%s: exists (use --force to replace it)",
				 j->out_path);
		else
			snprintf(line, sizeof(line), "%s: %s", j->out_path,
				 err == AUDIO_RENDER_ERROR_CANCELLED ? "cancelled, nothing written" :
								       msg);
		finish(j, err, line, NULL, gain_db);
		audio_clip_free(&own);
		return NULL;
	}
	/* the command line's summary, word for word */
	audio_render_summary(line, sizeof(line), j->out_path, ro, mix->rate, &lm,
			     j->o.have_target ? &tr : NULL);
	finish(j, 0, line, &lm, gain_db);
	audio_clip_free(&own);
	return NULL;
}

struct audio_renderjob *audio_renderjob_start(const char *mix_path, const struct audio_clip *mix,
					      const struct audio_renderjob_opts *o, int *err,
					      char *msg, size_t msg_len)
{
	struct audio_renderjob *j;
	int e;

	if (!o->render.out_path || (!mix_path && !mix)) {
		*err = AUDIO_RENDER_ERROR_CHAIN;
		snprintf(msg, msg_len, "nothing to render");
		return NULL;
	}
	j = calloc(1, sizeof(*j));
	if (!j || (mix_path && !(j->in_path = strdup(mix_path)))) {
		free(j);
		*err = AUDIO_RENDER_ERROR_NOMEM;
		snprintf(msg, msg_len, "out of memory");
		return NULL;
	}
	j->o = *o;
	j->mix = mix;
	snprintf(j->out_path, sizeof(j->out_path), "%s", o->render.out_path);
	j->o.render.out_path = j->out_path;
	j->o.render.in_path = j->in_path;
	j->o.render.progress = NULL;
	/* the output first, so a bad name fails before a long decode */
	e = audio_render_check(&j->o.render, msg, msg_len);
	if (e) {
		if (e == AUDIO_RENDER_ERROR_EXISTS)
			snprintf(msg, msg_len, "exists (use --force to replace it)");
		free(j->in_path);
		free(j);
		*err = e;
		return NULL;
	}
	pthread_mutex_init(&j->lock, NULL);
	j->state.phase = j->in_path ? AUDIO_RENDERJOB_DECODING : AUDIO_RENDERJOB_RENDERING;
	if (pthread_create(&j->thread, NULL, run, j)) {
		pthread_mutex_destroy(&j->lock);
		free(j->in_path);
		free(j);
		*err = AUDIO_RENDER_ERROR_NOMEM;
		snprintf(msg, msg_len, "cannot start the render thread");
		return NULL;
	}
	j->started = true;
	*err = 0;
	return j;
}

void audio_renderjob_state(struct audio_renderjob *j, struct audio_renderjob_state *out)
{
	pthread_mutex_lock(&j->lock);
	*out = j->state;
	pthread_mutex_unlock(&j->lock);
}

void audio_renderjob_cancel(struct audio_renderjob *j)
{
	if (j)
		atomic_store(&j->cancel, 1);
}

void audio_renderjob_free(struct audio_renderjob **jp)
{
	struct audio_renderjob *j = jp ? *jp : NULL;

	if (!j)
		return;
	audio_renderjob_cancel(j);
	if (j->started)
		pthread_join(j->thread, NULL);
	pthread_mutex_destroy(&j->lock);
	free(j->in_path);
	free(j);
	*jp = NULL;
}

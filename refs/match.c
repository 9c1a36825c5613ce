/*
 * termaster — loudness matching (see match.h).
 *
 * With T the common target, source i plays at gain T - I_i.  Its true peak
 * then reaches TP_i + T - I_i, which must stay at or below max_peak, so
 *
 *     T = min(I_0, min_i (max_peak - TP_i + I_i))
 *
 * over the measured, non-silent sources.  Lowering T for everyone keeps the
 * sources matched to each other, which is the point of matching.
 */
#include "config.h"

#include <math.h>

#include "refs/match.h"

static int usable(const struct refs_match_source *s)
{
	return s->valid && isfinite(s->integrated_lufs) && isfinite(s->true_peak_dbtp);
}

void refs_match_compute(const struct refs_match_source *sources, size_t n,
			double max_peak_dbtp, double *gain_db,
			struct refs_match_result *res)
{
	double target;

	res->target_lowered = 0;
	res->limiting_source = -1;
	for (size_t i = 0; i < n; i++)
		gain_db[i] = 0.0;
	if (n == 0 || !usable(&sources[0])) {
		res->target_lufs = -HUGE_VAL;
		return;
	}
	target = sources[0].integrated_lufs;
	for (size_t i = 0; i < n; i++) {
		double limit;

		if (!usable(&sources[i]))
			continue;
		limit = max_peak_dbtp - sources[i].true_peak_dbtp + sources[i].integrated_lufs;
		if (limit < target) {
			target = limit;
			res->target_lowered = 1;
			res->limiting_source = (int)i;
		}
	}
	res->target_lufs = target;
	for (size_t i = 0; i < n; i++)
		if (usable(&sources[i]))
			gain_db[i] = target - sources[i].integrated_lufs;
}

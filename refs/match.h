/*
 * termaster — loudness matching.
 *
 * Every source plays at the loudness of the processed mix ("after").  When a
 * source would need more gain than its true-peak headroom allows, the common
 * target drops for all sources together, so no source is ever pushed into
 * clipping.  Pure arithmetic on measured values: the measurements come from
 * refs/loudness.c (the mix "after" from a background render of the chain).
 */
#ifndef TM_REFS_MATCH_H
#define TM_REFS_MATCH_H

#include <stddef.h>

struct refs_match_source {
	double integrated_lufs;   /* measured; -HUGE_VAL when silent */
	double true_peak_dbtp;    /* measured */
	int valid;                /* 0: not measured yet (gain stays 0 dB) */
};

struct refs_match_result {
	double target_lufs;       /* the common level every source plays at */
	int target_lowered;       /* 1 when headroom forced it below "after" */
	int limiting_source;      /* the source whose headroom set it, or -1 */
};

/* sources[0] is the reference level (the processed mix).  Writes gain_db[i]
 * for every source; silent or invalid sources get 0 dB.  max_peak_dbtp is
 * the highest true peak any source may reach after its gain (0.0 by
 * default: the output never clips). */
void refs_match_compute(const struct refs_match_source *sources, size_t n,
			double max_peak_dbtp, double *gain_db,
			struct refs_match_result *res);

#endif

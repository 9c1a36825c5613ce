/*
 * termaster — loudness matching arithmetic (refs/match.c) against its
 * formula: gain_i = T - I_i with T = min(I_0, min_i(max_peak - TP_i + I_i)).
 */
#include "config.h"

#include <math.h>
#include <stdio.h>

#include "refs/match.h"
#include "tests/util.h"

int main(void)
{
	struct refs_match_source s[4];
	struct refs_match_result r;
	double g[4];

	/* after -10 LUFS / -1 dBTP; before -16 / -6; refs -8 / -0.2 and -14 / -4.5 */
	s[0] = (struct refs_match_source){ -10.0, -1.0, 1 };
	s[1] = (struct refs_match_source){ -16.0, -6.0, 1 };
	s[2] = (struct refs_match_source){ -8.0, -0.2, 1 };
	s[3] = (struct refs_match_source){ -14.0, -4.5, 1 };
	refs_match_compute(s, 4, 0.0, g, &r);
	/* before needs +6 dB: peak 0.0 → allowed exactly */
	ASSERT_CLOSE("target is the processed mix", -10.0, r.target_lufs, 1e-12);
	ASSERT_INT("not lowered", 0, r.target_lowered);
	ASSERT_CLOSE("after gain", 0.0, g[0], 1e-12);
	ASSERT_CLOSE("before gain", 6.0, g[1], 1e-12);
	ASSERT_CLOSE("loud ref turned down", -2.0, g[2], 1e-12);
	ASSERT_CLOSE("quiet ref turned up", 4.0, g[3], 1e-12);
	for (int i = 0; i < 4; i++)
		ASSERT_CLOSE("every source plays at the target",
			     r.target_lufs, s[i].integrated_lufs + g[i], 1e-12);

	/* before at -18 LUFS with peaks at -4 dBTP would need +8 dB → +4 dBTP:
	 * the target drops by 4 dB for everyone */
	s[1] = (struct refs_match_source){ -18.0, -4.0, 1 };
	refs_match_compute(s, 4, 0.0, g, &r);
	ASSERT_CLOSE("target lowered by the headroom", -14.0, r.target_lufs, 1e-12);
	ASSERT_INT("flagged", 1, r.target_lowered);
	ASSERT_INT("limiting source named", 1, r.limiting_source);
	for (int i = 0; i < 4; i++) {
		ASSERT_LE("no source above max peak", s[i].true_peak_dbtp + g[i], 0.0 + 1e-12);
		ASSERT_CLOSE("still matched", r.target_lufs, s[i].integrated_lufs + g[i], 1e-12);
	}

	/* a stricter max peak */
	refs_match_compute(s, 4, -1.0, g, &r);
	ASSERT_CLOSE("max peak -1 dBTP lowers one more dB", -15.0, r.target_lufs, 1e-12);

	/* unmeasured and silent sources keep 0 dB and do not move the target */
	s[3] = (struct refs_match_source){ -HUGE_VAL, -HUGE_VAL, 1 };
	s[2].valid = 0;
	refs_match_compute(s, 4, 0.0, g, &r);
	ASSERT_CLOSE("silent source unity", 0.0, g[3], 0);
	ASSERT_CLOSE("unmeasured source unity", 0.0, g[2], 0);
	ASSERT_CLOSE("target from the measured ones", -14.0, r.target_lufs, 1e-12);

	/* processed mix not measured yet: nothing is matched */
	s[0].valid = 0;
	refs_match_compute(s, 4, 0.0, g, &r);
	ASSERT_TRUE("no target", !isfinite(r.target_lufs));
	for (int i = 0; i < 4; i++)
		ASSERT_CLOSE("unity until measured", 0.0, g[i], 0);
	return test_done();
}

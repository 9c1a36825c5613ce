/*
 * termaster — built-in demo material, generated in code.
 *
 * An unmastered mix (about -20 LUFS, peaks near -6 dBFS, a little dull) and
 * two references of different loudness and tone: a loud, bright master
 * (about -9 LUFS) and a warmer, more dynamic one (about -13 LUFS).  The same
 * music (drums, bass, chords) so that A/B compares like with like.
 * Deterministic.  Not RT.
 */
#ifndef TM_AUDIO_DEMO_H
#define TM_AUDIO_DEMO_H

struct audio_clip;

#define AUDIO_DEMO_SECONDS 32.0
enum { AUDIO_DEMO_MIX = 0, AUDIO_DEMO_REF_LOUD = 1, AUDIO_DEMO_REF_WARM = 2, AUDIO_DEMO_COUNT = 3 };

/* Generates demo clip `which` at `rate`.  NULL on allocation failure. */
struct audio_clip *audio_demo_clip(int which, double rate);

#endif

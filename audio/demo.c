/*
 * termaster — built-in demo material (see demo.h).
 *
 * One short song, synthesised in code: 120 bpm, 4/4, a vi–IV–I–V loop in
 * C major (Am F C G), sixteen bars = AUDIO_DEMO_SECONDS.  Kick, snare,
 * hats, bass, a detuned-saw pad and, from bar 5, an FM electric-piano
 * arpeggio.  Rendered three ways:
 *
 *   mix   a little dull (first-order high shelf -2.5 dB at 5 kHz), peak
 *         normalised to -6 dBFS: about -20 LUFS, untouched dynamics
 *   loud  brighter (+3 dB above 4 kHz, +1 dB below 90 Hz), peaks driven to
 *         +6.5 dBFS, rounded by a soft clipper (knee 0 dBFS, limit +4 dB)
 *         and brought under -1 dB by a fast lookahead limiter (4×
 *         oversampled peaks): about -9 LUFS, true peak about -0.7 dBTP
 *   warm  warmer (+1.5 dB below 200 Hz, -1 dB above 8 kHz), peaks at
 *         +0.9 dBFS limited lightly to -1.2 dB: about -13 LUFS
 *
 * Every note has a smooth envelope that starts and ends at zero (raised-
 * cosine attack and release), so nothing clicks.  Notes that ring past the
 * end wrap round to the start, so the clip loops seamlessly; a 5 ms fade at
 * each end keeps the very first and last samples at silence.
 *
 * Frequencies are in Hz and times in seconds, so any rate gives the same
 * song.  Deterministic: fixed pattern, xorshift noise with fixed seeds, no
 * global state (so any thread may call it).
 */
#include "config.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "audio/clip.h"
#include "audio/demo.h"

#define DEMO_BPM 120.0
#define DEMO_BARS 16
#define SIN_TAB 4096

/*
 * Generator state.  l, r: the stereo bus (frames n; notes that run past
 * the end wrap round to the start).
 */
struct gen {
	double sr;
	double inv_sr;   /* 1 / sr */
	int64_t n;
	float *l, *r;
	uint32_t noise;
	float sintab[SIN_TAB + 1];
};

static uint32_t xorshift32(uint32_t *s)
{
	uint32_t x = *s;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return *s = x;
}

/* Uniform in [-1, 1). */
static double white(uint32_t *s)
{
	return (double)xorshift32(s) * (2.0 / 4294967296.0) - 1.0;
}

/* sin(2π ph) for ph in cycles (ph > -1), by table with linear
 * interpolation. */
static inline double fsin(const struct gen *g, double ph)
{
	double x = (ph + 1.0) * SIN_TAB;
	int64_t i = (int64_t)x;
	double f = x - (double)i;
	int k = (int)(i & (SIN_TAB - 1));

	return g->sintab[k] + f * (g->sintab[k + 1] - g->sintab[k]);
}

/* A steady sine by rotation: (c, s) = (cos, sin) of the phase, advanced by
 * a complex multiply per sample (exact enough over a note). */
struct phasor {
	double c, s, dc, ds;
};

static void phasor_init(struct phasor *p, double f, double sr)
{
	p->c = 1.0;
	p->s = 0.0;
	p->dc = cos(2.0 * M_PI * f / sr);
	p->ds = sin(2.0 * M_PI * f / sr);
}

static void phasor_step(struct phasor *p)
{
	double c = p->c * p->dc - p->s * p->ds;

	p->s = p->s * p->dc + p->c * p->ds;
	p->c = c;
}

/* One-pole coefficient for a corner at fc Hz. */
static double onepole(const struct gen *g, double fc)
{
	return 1.0 - exp(-2.0 * M_PI * fc / g->sr);
}

/* k < 2n: notes are shorter than the song and wrap at most once. */
static void bus_add(struct gen *g, int64_t k, double l, double r)
{
	if (k >= g->n)
		k -= g->n;
	g->l[k] += (float)l;
	g->r[k] += (float)r;
}

/* Raised-cosine edge: 0 at x <= 0, 1 at x >= 1, sin²(πx/2) between. */
static inline double edge(const struct gen *g, double x)
{
	double s;

	if (x <= 0)
		return 0;
	if (x >= 1)
		return 1;
	s = fsin(g, 0.25 * x);
	return s * s;
}

static int64_t at(const struct gen *g, double t)
{
	return (int64_t)llround(t * g->sr);
}

/* ---- instruments ---- */

/* Sine kick, pitch falling 158 → 48 Hz. */
static void kick(struct gen *g, double t0, double vel)
{
	const double len = 0.45, fade = 0.05;
	int64_t k0 = at(g, t0), m = at(g, len);
	double dp = exp(-1.0 / (0.032 * g->sr));
	double da = exp(-1.0 / (0.20 * g->sr));
	double ep = 1.0, ea = 1.0, ph = 0.0;

	for (int64_t i = 0; i < m; i++) {
		double t = (double)i * g->inv_sr;
		double env = ea * edge(g, t * (1.0 / 0.0015)) * edge(g, (len - t) * (1.0 / fade));
		double v = vel * env * fsin(g, ph);

		bus_add(g, k0 + i, v, v);
		ph += (48.0 + 110.0 * ep) * g->inv_sr;
		ep *= dp;
		ea *= da;
	}
}

/* Snare: a short tone at ~190 Hz and band-passed noise (1 … 5 kHz, one
 * high-pass and two low-pass poles), a little wide. */
static void snare(struct gen *g, double t0, double vel)
{
	const double len = 0.32, fade = 0.06;
	int64_t k0 = at(g, t0), m = at(g, len);
	double a_hp = onepole(g, 1000.0), a_lp = onepole(g, 5000.0);
	double db = exp(-1.0 / (0.045 * g->sr)), dn = exp(-1.0 / (0.095 * g->sr));
	double eb = 1.0, en = 1.0, ph = 0.0;
	double lpl = 0, lpr = 0, hpl = 0, hpr = 0, l2 = 0, r2 = 0;

	for (int64_t i = 0; i < m; i++) {
		double t = (double)i * g->inv_sr;
		double win = edge(g, t * 1000.0) * edge(g, (len - t) * (1.0 / fade));
		double c = white(&g->noise), d = white(&g->noise);
		double nl = 0.85 * c + 0.3 * d, nr = 0.85 * c - 0.3 * d;
		double body, vl, vr;

		/* high-pass (x - lowpass) then low-pass, per channel */
		hpl += a_hp * (nl - hpl);
		hpr += a_hp * (nr - hpr);
		lpl += a_lp * ((nl - hpl) - lpl);
		lpr += a_lp * ((nr - hpr) - lpr);
		l2 += a_lp * (lpl - l2);
		r2 += a_lp * (lpr - r2);
		body = 0.8 * eb * fsin(g, ph);
		vl = vel * win * (body + 1.1 * en * l2);
		vr = vel * win * (body + 1.1 * en * r2);
		bus_add(g, k0 + i, vl, vr);
		ph += (180.0 + 30.0 * eb) * g->inv_sr;
		eb *= db;
		en *= dn;
	}
}

/* Hi-hat: independent noise per side (wide), two high-pass poles at 7 kHz,
 * sitting a little right of centre. */
static void hat(struct gen *g, double t0, double vel, int open)
{
	const double len = open ? 0.40 : 0.09, fade = open ? 0.12 : 0.04;
	const double inv_fade = 1.0 / fade;
	int64_t k0 = at(g, t0), m = at(g, len);
	double a = onepole(g, 7000.0);
	double de = exp(-1.0 / ((open ? 0.13 : 0.03) * g->sr));
	double e = 1.0;
	double l1 = 0, l2 = 0, r1 = 0, r2 = 0;

	for (int64_t i = 0; i < m; i++) {
		double t = (double)i * g->inv_sr;
		double win = vel * e * edge(g, t * 2000.0) * edge(g, (len - t) * inv_fade);
		double nl = white(&g->noise), nr = white(&g->noise);
		double hl, hr;

		l1 += a * (nl - l1);
		hl = nl - l1;
		l2 += a * (hl - l2);
		hl -= l2;
		r1 += a * (nr - r1);
		hr = nr - r1;
		r2 += a * (hr - r2);
		hr -= r2;
		bus_add(g, k0 + i, 0.8 * win * hl, 1.0 * win * hr);
		e *= de;
	}
}

/* Bass: three harmonics, soft attack, slight decay, raised-cosine release. */
static void bass(struct gen *g, double t0, double dur, double f, double vel)
{
	const double rel = 0.03;
	int64_t k0 = at(g, t0), m = at(g, dur + rel);
	double dd = exp(-1.0 / (0.15 * g->sr));
	double d = 1.0;
	struct phasor p;

	phasor_init(&p, f, g->sr);
	for (int64_t i = 0; i < m; i++) {
		double t = (double)i * g->inv_sr;
		double env = edge(g, t * (1.0 / 0.006)) * (0.7 + 0.3 * d) *
			     (t > dur ? edge(g, 1.0 - (t - dur) * (1.0 / rel)) : 1.0);
		/* sin θ + 0.28 sin 2θ + 0.10 sin 3θ */
		double v = p.s * (1.0 + 0.56 * p.c + 0.10 * (3.0 - 4.0 * p.s * p.s));

		v = vel * env * v;
		bus_add(g, k0 + i, v, v);
		phasor_step(&p);
		d *= dd;
	}
}

/* Band-limited sawtooth (PolyBLEP), phase in cycles, dt = f / sr. */
static inline double saw(double ph, double dt)
{
	double v = 2.0 * ph - 1.0;

	if (ph < dt) {
		double x = ph / dt;
		v -= x + x - x * x - 1.0;
	} else if (ph > 1.0 - dt) {
		double x = (ph - 1.0) / dt;
		v -= x * x + x + x + 1.0;
	}
	return v;
}

/* Pad chord: per note one sawtooth per side, detuned ∓6 cents left/right
 * for width, slow attack, long release into the next chord, then a
 * two-pole low-pass at fc (two one-poles, per note: the filter is linear,
 * so this is the same as filtering a pad bus). */
static void pad(struct gen *g, double t0, double dur, const double *f,
		int nf, double vel, double fc)
{
	const double att = 0.18, rel = 0.45;
	const double inv_sr = g->inv_sr, inv_att = 1.0 / att, inv_rel = 1.0 / rel;
	int64_t k0 = at(g, t0), m = at(g, dur + rel);
	double a = onepole(g, fc);
	double dl[3], dr[3], pl[3], pr[3];
	double l1 = 0, l2 = 0, r1 = 0, r2 = 0;

	if (nf > 3)
		nf = 3;
	for (int j = 0; j < nf; j++) {
		dl[j] = f[j] * pow(2.0, -6.0 / 1200.0) * inv_sr;
		dr[j] = f[j] * pow(2.0, 6.0 / 1200.0) * inv_sr;
		pl[j] = 0.29 * j;
		pr[j] = 0.29 * j + 0.5;
	}
	for (int64_t i = 0; i < m; i++) {
		double t = (double)i * inv_sr;
		double env = vel * edge(g, t * inv_att) *
			     (t > dur ? edge(g, 1.0 - (t - dur) * inv_rel) : 1.0);
		double l = 0, r = 0;

		for (int j = 0; j < nf; j++) {
			l += saw(pl[j], dl[j]);
			r += saw(pr[j], dr[j]);
			pl[j] += dl[j];
			if (pl[j] >= 1.0)
				pl[j] -= 1.0;
			pr[j] += dr[j];
			if (pr[j] >= 1.0)
				pr[j] -= 1.0;
		}
		l1 += a * (env * l - l1);
		l2 += a * (l1 - l2);
		r1 += a * (env * r - r1);
		r2 += a * (r1 - r2);
		bus_add(g, k0 + i, l2, r2);
	}
}

/* Electric piano: two-operator FM (1:1), the index falling with time so
 * the note starts bright and mellows; `pan` -1 … 1. */
static void keys(struct gen *g, double t0, double f, double vel, double pan)
{
	const double len = 0.7, fade = 0.15;
	int64_t k0 = at(g, t0), m = at(g, len);
	double di = exp(-1.0 / (0.18 * g->sr)), da = exp(-1.0 / (0.55 * g->sr));
	double ix = 2.0 / (2.0 * M_PI), ea = 1.0, pc = 0.0;
	double gl = sqrt(0.5 * (1.0 - pan)), gr = sqrt(0.5 * (1.0 + pan));
	double dp = f * g->inv_sr;
	struct phasor mod;

	phasor_init(&mod, f, g->sr);
	for (int64_t i = 0; i < m; i++) {
		double t = (double)i * g->inv_sr;
		double env = vel * ea * edge(g, t * (1.0 / 0.003)) *
			     edge(g, (len - t) * (1.0 / fade));
		double v = env * fsin(g, pc + ix * mod.s);

		bus_add(g, k0 + i, gl * v, gr * v);
		pc += dp;
		if (pc >= 1.0)
			pc -= 1.0;
		phasor_step(&mod);
		ix *= di;
		ea *= da;
	}
}

/* ---- the song ---- */

static void compose(struct gen *g)
{
	/* Am, F, C, G (vi–IV–I–V in C major), close voicings round middle C */
	static const double chord[4][3] = {
		{ 220.00, 261.63, 329.63 },   /* A3 C4 E4 */
		{ 220.00, 261.63, 349.23 },   /* A3 C4 F4 */
		{ 196.00, 261.63, 329.63 },   /* G3 C4 E4 */
		{ 196.00, 246.94, 293.66 },   /* G3 B3 D4 */
	};
	static const double root[4] = { 55.00, 43.65, 65.41, 49.00 };  /* A1 F1 C2 G1 */
	/* bass: onset and length in sixteenths, octave up */
	static const struct { int at, len, up; } bline[] = {
		{ 0, 3, 0 }, { 3, 2, 0 }, { 6, 2, 0 }, { 8, 3, 0 },
		{ 11, 1, 1 }, { 12, 2, 0 }, { 14, 2, 0 },
	};
	/* arpeggio: chord tone per eighth (3 = root an octave up) */
	static const int arp[8] = { 0, 1, 2, 3, 2, 1, 3, 2 };
	/* hat velocity per sixteenth */
	static const double hv[16] = {
		0.9, 0.3, 0.6, 0.3, 0.9, 0.3, 0.6, 0.35,
		0.9, 0.3, 0.6, 0.3, 0.9, 0.3, 0.0, 0.3,
	};
	const double beat = 60.0 / DEMO_BPM, six = beat / 4.0, bar_s = 4.0 * beat;

	/*
	 * Form (bars from 0): 0-3 verse (drums, bass, pad); 4-7 the keys
	 * join; 8-9 a break (pad, keys, soft hats, long bass notes, a snare
	 * roll building up in bar 9); 10-15 everything, with open hats.
	 * Bar 7 and 15 end with a snare fill.
	 */
	for (int bar = 0; bar < DEMO_BARS; bar++) {
		const double b0 = bar * bar_s;
		const int c = bar % 4;
		const int brk = bar == 8 || bar == 9;
		const int fill = bar == 7 || bar == 15;
		const int big = bar >= 10;
		double f3[3];

		/* drums */
		if (!brk) {
			kick(g, b0, 1.0);
			kick(g, b0 + 8 * six, 1.0);
			if (c == 1 || c == 3)
				kick(g, b0 + 10 * six, 0.8);
			snare(g, b0 + 4 * six, big ? 0.58 : 0.52);
			snare(g, b0 + 12 * six, big ? 0.60 : 0.55);
		}
		if (fill) {
			snare(g, b0 + 14 * six, 0.25);
			snare(g, b0 + 15 * six, 0.35);
		} else if (c == 3 && !brk) {
			snare(g, b0 + 15 * six, 0.12);  /* ghost note */
		}
		if (bar == 9)
			for (int s = 8; s < 16; s++)
				snare(g, b0 + s * six, 0.08 + 0.05 * (s - 8));
		for (int s = 0; s < 16; s++)
			if (hv[s] > 0)
				hat(g, b0 + s * six, (brk ? 0.15 : 0.28) * hv[s], 0);
		if (!brk)
			hat(g, b0 + 14 * six, 0.16, 1);
		if (big)
			hat(g, b0 + 6 * six, 0.11, 1);

		/* bass */
		if (brk)
			bass(g, b0, bar_s - 0.05, root[c], 0.30);
		else
			for (size_t i = 0; i < sizeof(bline) / sizeof(bline[0]); i++)
				bass(g, b0 + bline[i].at * six,
				     bline[i].len * six - 0.02,
				     root[c] * (bline[i].up ? 2.0 : 1.0),
				     bline[i].up ? 0.30 : 0.42);

		/* pad, opening up in the last section */
		pad(g, b0, bar_s, chord[c], 3, 0.065, big ? 3000.0 : 2200.0);

		/* keys, from bar 4: an octave above the pad */
		if (bar >= 4)
			for (int e = 0; e < 8; e++) {
				int tone = arp[e];

				for (int k = 0; k < 3; k++)
					f3[k] = 2.0 * chord[c][k];
				keys(g, b0 + e * 2 * six,
				     tone == 3 ? 2.0 * f3[0] : f3[tone],
				     e % 2 ? 0.09 : 0.12, e % 2 ? 0.35 : -0.35);
			}
	}
}

/* ---- tone and level ---- */

/* First-order shelves on a stereo planar buffer: low shelf below fl (gain
 * gl_db) and high shelf above fh (gh_db), each as x + (g - 1) · band, and a
 * 20 Hz high-pass for DC.  A one-pole split is gentle and phase-smooth,
 * which is what a tilt should be. */
static void tone(struct gen *g, float *x, double fl, double gl_db, double fh,
		 double gh_db)
{
	double al = onepole(g, fl), ah = onepole(g, fh), ad = onepole(g, 20.0);
	double kl = pow(10.0, gl_db / 20.0) - 1.0, kh = pow(10.0, gh_db / 20.0) - 1.0;
	double lo = 0, hi = 0, dc = 0;

	for (int64_t i = 0; i < g->n; i++) {
		double v = x[i], y;

		lo += al * (v - lo);
		hi += ah * (v - hi);
		y = v + kl * lo + kh * (v - hi);
		dc += ad * (y - dc);
		x[i] = (float)(y - dc);
	}
}

/* A soft clipper that rounds off what the limiter would otherwise pump on
 * (the kick): linear up to the knee k, then k + (t - k)·tanh((|x| - k) /
 * (t - k)), which meets the line with slope 1 and never exceeds t. */
static void soft_clip(float *x, int64_t n, double k, double t)
{
	double w = t - k;

	for (int64_t i = 0; i < n; i++) {
		double v = fabs(x[i]);

		if (v > k)
			x[i] = (float)copysign(k + w * tanh((v - k) / w), x[i]);
	}
}

/*
 * The references' limiter: offline, stereo-linked, with lookahead, on the
 * whole buffer at once.  It is the demo's own because it has to be fast
 * (a few tens of milliseconds for 32 s); the chain's true-peak limiter is
 * what the user hears and renders with.
 *
 *   p[i]  peak of frame i: its samples and three points between them and
 *         the next frame, interpolated at 4× with an 8-tap Lanczos kernel
 *         (a = 4), so inter-sample peaks are caught (cf. ITU-R BS.1770-4
 *         Annex 2, which uses 4× and 48 taps)
 *   g[i]  = min(1, ceiling / p[i]), the gain frame i needs
 *   m[i]  = min g[i … i+W-1], lookahead W = 2 ms (van Herk/Gil-Werman
 *         block minima)
 *   r[i]  = min(m[i], r[i-1] recovering towards 1 with time constant
 *         release_s)
 *   s[i]  = mean r[i-W+1 … i]: gain changes become ramps over W
 *
 * s[i] <= g[i]: every r[j] averaged for frame i comes from an m[j] whose
 * window [j, j+W) contains i.
 */
#define LIM_TAPS 8
#define LIM_PAD 4

static double lanczos4(double x)
{
	if (fabs(x) < 1e-12)
		return 1.0;
	if (fabs(x) >= 4.0)
		return 0.0;
	return 4.0 * sin(M_PI * x) * sin(M_PI * x / 4.0) / (M_PI * M_PI * x * x);
}

#define MAXF(a, b) ((a) > (b) ? (a) : (b))
#define LIM_BLOCK 32

/* g[i] for every frame: the gain that brings its peak to `ceiling`. */
static int limit_needed(const float *lr, int64_t n, double ceiling, float *g)
{
	float coef[3][LIM_TAPS];
	float *x[2], *amax;
	float sum_abs = 0;
	const float c = (float)ceiling;

	/* phase k/4 between frames i and i+1 uses frames i-3 … i+4 */
	for (int k = 0; k < 3; k++) {
		double a = 0;

		for (int t = 0; t < LIM_TAPS; t++) {
			coef[k][t] = (float)lanczos4((double)(t - 3) - (k + 1) / 4.0);
			a += fabs(coef[k][t]);
		}
		if (a > sum_abs)
			sum_abs = (float)a;
	}
	x[0] = calloc((size_t)n + 2 * LIM_PAD, sizeof(float));
	x[1] = calloc((size_t)n + 2 * LIM_PAD, sizeof(float));
	amax = calloc((size_t)n + 2 * LIM_PAD, sizeof(float));
	if (!x[0] || !x[1] || !amax) {
		free(x[0]);
		free(x[1]);
		free(amax);
		return -1;
	}
	for (int64_t i = 0; i < n; i++) {
		float l = lr[2 * i], r = lr[2 * i + 1];

		x[0][LIM_PAD + i] = l;
		x[1][LIM_PAD + i] = r;
		amax[LIM_PAD + i] = MAXF(fabsf(l), fabsf(r));
	}
	for (int64_t b0 = 0; b0 < n; b0 += LIM_BLOCK) {
		int64_t b1 = b0 + LIM_BLOCK < n ? b0 + LIM_BLOCK : n;
		float near = 0;

		/* no interpolated point of the block can exceed
		 * near · Σ|coef|: then only the samples count */
		for (int64_t j = b0 - 3; j < b1 + 4; j++)
			near = MAXF(near, amax[LIM_PAD + j]);
		if (near * sum_abs <= c) {
			for (int64_t i = b0; i < b1; i++)
				g[i] = 1.0f;
			continue;
		}
		for (int64_t i = b0; i < b1; i++) {
			float p = amax[LIM_PAD + i];

			for (int ch = 0; ch < 2; ch++) {
				const float *w = x[ch] + LIM_PAD + i - 3;

				for (int k = 0; k < 3; k++) {
					float acc = 0;

					for (int t = 0; t < LIM_TAPS; t++)
						acc += coef[k][t] * w[t];
					p = MAXF(p, fabsf(acc));
				}
			}
			g[i] = p > c ? c / p : 1.0f;
		}
	}
	free(x[0]);
	free(x[1]);
	free(amax);
	return 0;
}

static int limit(float *lr, int64_t n, double sr, double ceiling,
		 double release_s)
{
	const int64_t w = (int64_t)llround(0.002 * sr);
	const double rc = 1.0 - exp(-1.0 / (release_s * sr));
	float *g = malloc(sizeof(float) * (size_t)n);
	float *pre = malloc(sizeof(float) * (size_t)n);
	float *suf = malloc(sizeof(float) * (size_t)n);
	double sum = 0, r = 1.0;
	int64_t i;
	int err = -1;

	if (!g || !pre || !suf || limit_needed(lr, n, ceiling, g))
		goto out;
	/* block minima: pre from each block's start, suf from its end */
	for (i = 0; i < n; i++)
		pre[i] = i % w == 0 || pre[i - 1] > g[i] ? g[i] : pre[i - 1];
	for (i = n - 1; i >= 0; i--)
		suf[i] = (i + 1) % w == 0 || i == n - 1 || suf[i + 1] > g[i] ?
			 g[i] : suf[i + 1];
	for (i = 0; i < n; i++) {
		int64_t e = i + w - 1 < n ? i + w - 1 : n - 1;
		double m = suf[i] < pre[e] ? suf[i] : pre[e];

		r += rc * (1.0 - r);
		if (m < r)
			r = m;
		g[i] = (float)r;  /* g now holds r */
	}
	/* mean over the last w frames, the first frame standing in before
	 * the start */
	sum = (double)w * g[0];
	for (i = 0; i < n; i++) {
		double s;

		if (i > 0)
			sum += g[i] - (i >= w ? g[i - w] : g[0]);
		s = sum / (double)w;
		lr[2 * i] = (float)(lr[2 * i] * s);
		lr[2 * i + 1] = (float)(lr[2 * i + 1] * s);
	}
	err = 0;
out:
	free(g);
	free(pre);
	free(suf);
	return err;
}

static const char *const demo_names[AUDIO_DEMO_COUNT] = {
	"Demo mix (unmastered)",
	"Demo ref: loud & bright",
	"Demo ref: warm & open",
};

struct audio_clip *audio_demo_clip(int which, double rate)
{
	struct gen *g = NULL;
	struct audio_clip *clip = NULL;
	float *lr = NULL;
	double peak = 0, gain, fade_n;
	int64_t n;

	if (which < 0 || which >= AUDIO_DEMO_COUNT ||
	    !(rate >= AUDIO_CLIP_MIN_RATE && rate <= AUDIO_CLIP_MAX_RATE))
		return NULL;
	n = (int64_t)llround(AUDIO_DEMO_SECONDS * rate);
	g = calloc(1, sizeof(*g));
	if (!g)
		return NULL;
	g->sr = rate;
	g->inv_sr = 1.0 / rate;
	g->n = n;
	g->noise = 0x2545f491u;
	g->l = calloc((size_t)n, sizeof(float));
	g->r = calloc((size_t)n, sizeof(float));
	lr = malloc(sizeof(float) * 2 * (size_t)n);
	if (!g->l || !g->r || !lr)
		goto out;
	for (int i = 0; i <= SIN_TAB; i++)
		g->sintab[i] = (float)sin(2.0 * M_PI * i / SIN_TAB);

	compose(g);

	switch (which) {
	case AUDIO_DEMO_MIX:
		tone(g, g->l, 100.0, 0.0, 5000.0, -2.5);
		tone(g, g->r, 100.0, 0.0, 5000.0, -2.5);
		gain = pow(10.0, -6.0 / 20.0);
		break;
	case AUDIO_DEMO_REF_LOUD:
		tone(g, g->l, 90.0, 1.0, 4000.0, 3.0);
		tone(g, g->r, 90.0, 1.0, 4000.0, 3.0);
		gain = pow(10.0, 6.5 / 20.0);
		break;
	default:
		tone(g, g->l, 200.0, 1.5, 8000.0, -1.0);
		tone(g, g->r, 200.0, 1.5, 8000.0, -1.0);
		gain = pow(10.0, 0.9 / 20.0);
		break;
	}
	/* level: relative to the sample peak, so the balance above sets the
	 * loudness (the mix lands near -20 LUFS at a -6 dBFS peak) */
	for (int64_t i = 0; i < n; i++) {
		if (fabs(g->l[i]) > peak)
			peak = fabs(g->l[i]);
		if (fabs(g->r[i]) > peak)
			peak = fabs(g->r[i]);
	}
	gain /= peak > 0 ? peak : 1.0;
	fade_n = 0.005 * rate;
	for (int64_t i = 0; i < n; i++) {
		double f = edge(g, (double)i / fade_n) *
			   edge(g, (double)(n - 1 - i) / fade_n);

		lr[2 * i] = (float)(g->l[i] * gain * f);
		lr[2 * i + 1] = (float)(g->r[i] * gain * f);
	}

	if (which == AUDIO_DEMO_REF_LOUD) {
		soft_clip(lr, 2 * n, 1.0, pow(10.0, 4.0 / 20.0));
		if (limit(lr, n, rate, pow(10.0, -1.0 / 20.0), 0.05))
			goto out;
	} else if (which == AUDIO_DEMO_REF_WARM) {
		if (limit(lr, n, rate, pow(10.0, -1.2 / 20.0), 0.15))
			goto out;
	}
	clip = audio_clip_from_frames(demo_names[which], lr, n, rate);

out:
	free(lr);
	if (g) {
		free(g->l);
		free(g->r);
		free(g);
	}
	return clip;
}

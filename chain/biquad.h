/*
 * termaster — second-order filter sections matched to analog prototypes.
 *
 * Design helpers for chain/eq.c (and its tests): every function here computes
 * coefficients or evaluates a response; nothing runs per sample.  All are
 * RT-safe (no allocation, libm only) and work in double precision.
 *
 * A section is
 *
 *              b0 + b1 z^-1 + b2 z^-2
 *	H(z) = ------------------------      (first order: b2 = a2 = 0)
 *              1 + a1 z^-1 + a2 z^-2
 *
 * Frequencies are in radians per sample, w = 2·pi·f / fs, 0 < w < pi.
 *
 * Why "matched": the bilinear transform of the usual designs (RBJ's Audio EQ
 * Cookbook) squeezes the analog axis 0 … infinity into 0 … Nyquist, so a bell
 * at 16 kHz at 44.1 kHz comes out narrower and lopsided, and every response
 * is pinned to its DC value at Nyquist ("cramping").  Here the digital
 * squared magnitude is made equal to the analog prototype's at chosen
 * frequencies, after M. Vicanek, "Matched Second Order Digital Filters"
 * (2016, vicanek.de/articles/BiquadFits.pdf):
 *
 *  - the squared magnitude of a second-order polynomial is written in the
 *    basis phi0 = cos²(w/2), phi1 = sin²(w/2), phi2 = 4·phi0·phi1:
 *	|b0 + b1 z^-1 + b2 z^-2|² = B0·phi0 + B1·phi1 + B2·phi2,
 *	B0 = (b0 + b1 + b2)², B1 = (b0 - b1 + b2)², B2 = -4·b0·b2
 *    (his eqs. 25–29); it is linear in B, so matching magnitudes is
 *    linear algebra, and the polynomial is recovered in closed form (the
 *    minimum-phase one: |b2| < b0 and |b1| < b0 + b2, so 1/H is stable too);
 *  - shelves and Butterworth sections take their poles from the analog ones
 *    by impulse invariance, z = exp(s·T) (his eq. 12; no frequency warping)
 *    and fit the numerator at DC, Nyquist and the corner.  Shelf cuts are
 *    inverted boosts (the analog cut is the reciprocal of the boost, and the
 *    boost's poles lie below the corner, so impulse invariance never maps a
 *    pole from above Nyquist);
 *  - bells fit poles and zeros together, in five conditions (DC, the peak,
 *    its flat top and one point on each skirt): chain_biquad_bell();
 *  - first-order sections are matched at DC, Nyquist and the corner exactly
 *    (the pole is solved too; cf. Vicanek, "Matched One-Pole Digital
 *    Shelving Filters", 2019).
 *
 * The analog prototypes (s normalised by the corner w0; G = 10^(dB/20)):
 *   bell        (s² + s·sqrt(G)/Q + 1) / (s² + s/(sqrt(G)·Q) + 1)
 *               (RBJ's peaking EQ: G at w0, bandwidth set by Q)
 *   low shelf   sqrt(G)·(s² + s·G^¼/Q + sqrt(G)) / (sqrt(G)·s² + s·G^¼/Q + 1)
 *               (RBJ's low shelf: G at DC, 1 at infinity, sqrt(G) at w0)
 *   high shelf  the low shelf with s -> 1/s (1 at DC, G at infinity)
 *   Butterworth 1 / prod(s² + s/Q_k + 1) · (1 / (s + 1) for odd orders),
 *               Q_k = 1 / (2·cos((n - 2k - 1)·pi / (2n))); high-pass: s -> 1/s
 *   tilt        (sqrt(k)·s + 1) / (s + sqrt(k)),  k = 10^(tilt_dB/20):
 *               -tilt/2 dB at DC, +tilt/2 at infinity, 0 dB at w0 (a
 *               first-order low-shelf/high-shelf pair around the pivot)
 *
 * Accuracy against those prototypes up to 20 kHz, measured over f0, gain
 * (±1 … 24 dB) and Q (0.1 … 18) grids: see tests/test_eq.c and the comments
 * of each design.
 */
#ifndef TM_CHAIN_BIQUAD_H
#define TM_CHAIN_BIQUAD_H

#include <math.h>

/* Most sections a design here needs: 48 dB/oct = 8th order = 4 sections. */
#define CHAIN_BIQUAD_MAX_SECTIONS 4

struct chain_biquad {
	double b0, b1, b2;
	double a1, a2;
};

/* The squared analog magnitudes of the prototypes above, at w (rad/sample)
 * for a corner w0 (rad/sample).  Used by the designs and by the tests. */
static inline double chain_biquad_analog_bell2(double w, double w0, double gain_db, double q)
{
	double g = pow(10.0, gain_db / 20.0), sg = sqrt(g);
	double x = w / w0, d = 1.0 - x * x;
	double n = sg / q * x, m = x / (sg * q);

	return (d * d + n * n) / (d * d + m * m);
}

static inline double chain_biquad_analog_low_shelf2(double w, double w0, double gain_db, double q)
{
	double g = pow(10.0, gain_db / 20.0), sg = sqrt(g);
	double x = w / w0, x2 = x * x, k = sqrt(sg) / q;
	double n = sg - x2, d = 1.0 - sg * x2;

	return g * (n * n + k * k * x2) / (d * d + k * k * x2);
}

static inline double chain_biquad_analog_high_shelf2(double w, double w0, double gain_db, double q)
{
	double g = pow(10.0, gain_db / 20.0);

	return g * g / chain_biquad_analog_low_shelf2(w, w0, gain_db, q);
}

/* Butterworth of order n (1 … 8): |H|² = 1 / (1 + x^(2n)), x = w/w0 for
 * the low-pass and w0/w for the high-pass. */
static inline double chain_biquad_analog_butter2(double w, double w0, unsigned order, int highpass)
{
	double x = highpass ? w0 / w : w / w0;

	return 1.0 / (1.0 + pow(x, 2.0 * order));
}

static inline double chain_biquad_analog_tilt2(double w, double w0, double tilt_db)
{
	double k = pow(10.0, tilt_db / 20.0), x2 = (w / w0) * (w / w0);

	return (k * x2 + 1.0) / (x2 + k);
}

/* ---- evaluation ---- */

/* phi1 = sin²(w/2); phi0 = 1 - phi1 = cos²(w/2) without cancellation. */
static inline void chain_biquad_phi(double w, double *phi0, double *phi1)
{
	double s = sin(0.5 * w), c = cos(0.5 * w);

	*phi0 = c * c;
	*phi1 = s * s;
}

/* |H(e^jw)|² of one section, in the phi basis (accurate near DC). */
static inline double chain_biquad_mag2(const struct chain_biquad *c, double w)
{
	double p0, p1, p2, nb0, nb1, na0, na1;

	chain_biquad_phi(w, &p0, &p1);
	p2 = 4.0 * p0 * p1;
	nb0 = c->b0 + c->b1 + c->b2;
	nb1 = c->b0 - c->b1 + c->b2;
	na0 = 1.0 + c->a1 + c->a2;
	na1 = 1.0 - c->a1 + c->a2;
	return (nb0 * nb0 * p0 + nb1 * nb1 * p1 - 4.0 * c->b0 * c->b2 * p2) /
	       (na0 * na0 * p0 + na1 * na1 * p1 - 4.0 * c->a2 * p2);
}

/* H(e^jw) of one section as re + j·im. */
static inline void chain_biquad_response(const struct chain_biquad *c, double w,
					 double *re, double *im)
{
	double c1 = cos(w), s1 = sin(w), c2 = cos(2.0 * w), s2 = sin(2.0 * w);
	double nr = c->b0 + c->b1 * c1 + c->b2 * c2, ni = -(c->b1 * s1 + c->b2 * s2);
	double dr = 1.0 + c->a1 * c1 + c->a2 * c2, di = -(c->a1 * s1 + c->a2 * s2);
	double d = dr * dr + di * di;

	*re = (nr * dr + ni * di) / d;
	*im = (ni * dr - nr * di) / d;
}

/* ---- building blocks ---- */

static inline void chain_biquad_identity(struct chain_biquad *c)
{
	c->b0 = 1.0;
	c->b1 = c->b2 = c->a1 = c->a2 = 0.0;
}

/* Poles of s² + 2·zeta·w0·s + w0² by impulse invariance (Vicanek eq. 12).
 * Requires w0·sqrt(1 - zeta²) < pi for complex poles. */
static inline void chain_biquad_poles(struct chain_biquad *c, double w0, double zeta)
{
	double r = exp(-zeta * w0);

	if (zeta < 1.0)
		c->a1 = -2.0 * r * cos(w0 * sqrt(1.0 - zeta * zeta));
	else
		c->a1 = -2.0 * r * cosh(w0 * sqrt(zeta * zeta - 1.0));
	c->a2 = r * r;
}

/* |D(e^jw)|² of the denominator in the phi basis. */
static inline double chain_biquad_den2(const struct chain_biquad *c, double p0, double p1)
{
	double na0 = 1.0 + c->a1 + c->a2, na1 = 1.0 - c->a1 + c->a2;

	return na0 * na0 * p0 + na1 * na1 * p1 - 16.0 * c->a2 * p0 * p1;
}

/* The minimum-phase numerator with |N|² = B0·phi0 + B1·phi1 + B2·phi2
 * (Vicanek eq. 29).  Magnitudes that no second-order numerator can give
 * (B0 or B1 < 0, or W² + B2 < 0) are clamped to the nearest that can. */
static inline void chain_biquad_numerator(struct chain_biquad *c, double B0, double B1, double B2)
{
	double r0 = sqrt(B0 > 0.0 ? B0 : 0.0), r1 = sqrt(B1 > 0.0 ? B1 : 0.0);
	double w = 0.5 * (r0 + r1), disc = w * w + B2;

	c->b1 = 0.5 * (r0 - r1);
	c->b0 = 0.5 * (w + sqrt(disc > 0.0 ? disc : 0.0));
	c->b2 = w - c->b0;
}

/* 1 / H.  The numerator must be minimum phase (it is for every design
 * here), and b0 > 0. */
static inline void chain_biquad_invert(struct chain_biquad *c)
{
	double b0 = c->b0, b1 = c->b1, b2 = c->b2;

	c->b0 = 1.0 / b0;
	c->b1 = c->a1 / b0;
	c->b2 = c->a2 / b0;
	c->a1 = b1 / b0;
	c->a2 = b2 / b0;
}

static inline void chain_biquad_scale(struct chain_biquad *c, double g)
{
	c->b0 *= g;
	c->b1 *= g;
	c->b2 *= g;
}

/*
 * Second-order section with impulse-invariant poles (w0, zeta) and the
 * numerator matched to the analog squared magnitudes h0 at DC, hm at wm and
 * hpi at Nyquist.
 */
static inline void chain_biquad_match3(struct chain_biquad *c, double w0, double zeta,
				       double h0, double wm, double hm, double hpi)
{
	double p0, p1, B0, B1, B2;

	chain_biquad_poles(c, w0, zeta);
	chain_biquad_phi(wm, &p0, &p1);
	B0 = (1.0 + c->a1 + c->a2) * (1.0 + c->a1 + c->a2) * h0;
	B1 = (1.0 - c->a1 + c->a2) * (1.0 - c->a1 + c->a2) * hpi;
	B2 = (hm * chain_biquad_den2(c, p0, p1) - B0 * p0 - B1 * p1) / (4.0 * p0 * p1);
	chain_biquad_numerator(c, B0, B1, B2);
}

/*
 * First-order section (b2 = a2 = 0) matched exactly to a monotonic analog
 * squared magnitude: h0 at DC, hm at wm, hpi at Nyquist (hm strictly
 * between h0 and hpi).  With A0 = (1 + a1)², A1 = (1 - a1)², the match at
 * wm fixes A1/A0 = phi0·(h0 - hm) / (phi1·(hm - hpi)), hence the pole.
 */
static inline void chain_biquad_first_order(struct chain_biquad *c, double h0, double wm,
					    double hm, double hpi)
{
	double p0, p1, r, r0, r1;

	chain_biquad_phi(wm, &p0, &p1);
	r = sqrt(p0 * (h0 - hm) / (p1 * (hm - hpi)));
	c->a1 = (1.0 - r) / (1.0 + r);
	c->a2 = 0.0;
	r0 = (1.0 + c->a1) * sqrt(h0);
	r1 = (1.0 - c->a1) * sqrt(hpi);
	c->b0 = 0.5 * (r0 + r1);
	c->b1 = 0.5 * (r0 - r1);
	c->b2 = 0.0;
}

/* ---- the designs ---- */

/*
 * The general fit: a section whose squared magnitude N(x)/D(x) (x = phi1)
 * meets the analog one, T(x), in five conditions: DC and four more, each a
 * value or a slope.  N and D are quadratics in x (the phi basis), so the
 * conditions are linear in their coefficients.  Both are written as
 * deviations from unity, relative to a scale eps (the largest deviation of
 * T from 1):
 *	T(x) = 1 + eps·e(x),   D = (1, A1, A2),   N = D + eps·(e(0), g1, g2)
 * (phi-basis coefficients), so a value condition N(x) = T(x)·D(x) reads
 *	g1·x + g2·q - e·(A1·x + A2·q) = (e - e(0))·(1 - x),   q = 4x(1 - x)
 * and a slope condition N' = T'·D + T·D' (e' = de/dx, q' = 4(1 - 2x))
 *	g1 + g2·q' - A1·(e'·x + e) - A2·(e'·q + e·q') = e(0) + e'·(1 - x) - e
 * This stays well conditioned as eps -> 0 (the gain -> 0 dB), where N -> D:
 * the design passes smoothly through unity gain, with b = a exactly at
 * eps = 0.  D and N are then factored into minimum-phase polynomials.
 */
struct chain_biquad_cond {
	double x;       /* phi1 = sin²(w/2) of the frequency */
	double e;       /* (T - 1) / eps there */
	double de;      /* its slope d e / dx (slope conditions only) */
	int slope;      /* 0: match the value, 1: match the slope */
};

/* Solves the 4×4 system m·u = rhs in place (partial pivoting).  Returns 0,
 * or -1 when it is singular. */
static inline int chain_biquad_solve4(double m[4][5], double u[4])
{
	for (int c = 0; c < 4; c++) {
		int p = c;

		for (int r = c + 1; r < 4; r++)
			if (fabs(m[r][c]) > fabs(m[p][c]))
				p = r;
		if (!(fabs(m[p][c]) > 1e-300))
			return -1;
		for (int k = 0; k < 5; k++) {
			double t = m[c][k];

			m[c][k] = m[p][k];
			m[p][k] = t;
		}
		for (int r = c + 1; r < 4; r++) {
			double f = m[r][c] / m[c][c];

			for (int k = c; k < 5; k++)
				m[r][k] -= f * m[c][k];
		}
	}
	for (int c = 3; c >= 0; c--) {
		double t = m[c][4];

		for (int k = c + 1; k < 4; k++)
			t -= m[c][k] * u[k];
		u[c] = t / m[c][c];
	}
	return 0;
}

/* Minimum-phase (p0, p1, p2) with |p0 + p1 z^-1 + p2 z^-2|² =
 * P0·phi0 + P1·phi1 + P2·phi2.  Returns -1 when no such polynomial exists
 * (the quadratic is negative somewhere on 0 … pi). */
static inline int chain_biquad_factor(double P0, double P1, double P2, double p[3])
{
	double r0, r1, w, disc;

	if (!(P0 >= 0.0 && P1 >= 0.0))
		return -1;
	r0 = sqrt(P0);
	r1 = sqrt(P1);
	w = 0.5 * (r0 + r1);
	disc = w * w + P2;
	if (!(disc >= 0.0))
		return -1;
	p[0] = 0.5 * (w + sqrt(disc));
	p[1] = 0.5 * (r0 - r1);
	p[2] = w - p[0];
	return p[0] > 0.0 ? 0 : -1;
}

static inline int chain_biquad_fit(struct chain_biquad *c, double eps, double e0,
				   const struct chain_biquad_cond cond[4])
{
	double m[4][5], u[4], n[3], d[3];

	for (int i = 0; i < 4; i++) {
		double x = cond[i].x, e = cond[i].e, q = 4.0 * x * (1.0 - x);

		if (cond[i].slope) {
			double dq = 4.0 * (1.0 - 2.0 * x), de = cond[i].de;

			m[i][0] = 1.0;
			m[i][1] = dq;
			m[i][2] = -(de * x + e);
			m[i][3] = -(de * q + e * dq);
			m[i][4] = e0 + de * (1.0 - x) - e;
		} else {
			m[i][0] = x;
			m[i][1] = q;
			m[i][2] = -e * x;
			m[i][3] = -e * q;
			m[i][4] = (e - e0) * (1.0 - x);
		}
	}
	if (chain_biquad_solve4(m, u))
		return -1;
	/* u = g1, g2, A1, A2 */
	if (chain_biquad_factor(1.0, u[2], u[3], d) ||
	    chain_biquad_factor(1.0 + eps * e0, u[2] + eps * u[0], u[3] + eps * u[1], n))
		return -1;
	c->b0 = n[0] / d[0];
	c->b1 = n[1] / d[0];
	c->b2 = n[2] / d[0];
	c->a1 = d[1] / d[0];
	c->a2 = d[2] / d[0];
	return 0;
}

/* x = phi1 = sin²(w/2) */
static inline double chain_biquad_x(double w)
{
	double s = sin(0.5 * w);

	return s * s;
}

/* (T - 1) / (G² - 1) of the bell at W = w/w0 (the prototype above). */
static inline double chain_biquad_bell_e(double W, double g, double q)
{
	double d = 1.0 - W * W, m = W / (sqrt(g) * q);

	return W * W / (g * q * q * (d * d + m * m));
}

/*
 * Vicanek's matched peaking EQ (his section 4.4): poles of the boost by
 * impulse invariance (zeta = 1 / (2·sqrt(G)·Q)), numerator matched to DC,
 * the peak G at w0 and a flat top there; a cut is the inverted boost.
 * Always realisable; 0.83 dB from the prototype for a 16 kHz bell at
 * 44.1 kHz, 3.4 dB at 21.5 kHz.  The fallback of chain_biquad_bell().
 */
static inline void chain_biquad_bell_vicanek(struct chain_biquad *c, double w0, double gain_db,
					     double q)
{
	double g = pow(10.0, fabs(gain_db) / 20.0), g2 = g * g;
	double p0, p1, A0, A1, A2, r1, r2, B0, B1, B2;

	chain_biquad_poles(c, w0, 1.0 / (2.0 * sqrt(g) * q));
	chain_biquad_phi(w0, &p0, &p1);
	A0 = (1.0 + c->a1 + c->a2) * (1.0 + c->a1 + c->a2);
	A1 = (1.0 - c->a1 + c->a2) * (1.0 - c->a1 + c->a2);
	A2 = -4.0 * c->a2;
	r1 = (p0 * A0 + p1 * A1 + 4.0 * p0 * p1 * A2) * g2;
	r2 = (A1 - A0 + 4.0 * (p0 - p1) * A2) * g2;
	B0 = A0;
	B2 = (r1 - p1 * r2 - B0) / (4.0 * p1 * p1);
	B1 = r2 + B0 + 4.0 * (p1 - p0) * B2;
	chain_biquad_numerator(c, B0, B1, B2);
	if (gain_db < 0.0)
		chain_biquad_invert(c);
}

/*
 * Bell (peaking EQ).  Matched to the prototype in five conditions: unity
 * at DC, the peak value G² and a flat top (zero slope) at w0 (these three
 * are Vicanek's matched peaking EQ, his section 4.4, where the poles come
 * from impulse invariance instead), and the values at one point on each
 * skirt: w0·2^(-0.8/Q) below (no lower than w0/20) and w0 + h·(pi - w0)
 * above, h = 0.85 - 0.4·w0/pi.  The two skirt points were chosen by a
 * search over f0 10 Hz … 21.5 kHz, gain ±1 … 24 dB, Q 0.1 … 18 at 44.1, 48
 * and 96 kHz for the smallest worst-case error up to 20 kHz: 0.31 dB for a
 * 16 kHz bell at 44.1 kHz (Vicanek's: 0.83 dB), at most 0.47 dB for any
 * bell up to 18 kHz there.  Continuous in all parameters, through 0 dB.
 * Returns 0, or -1 when the fit is not realisable (not seen on those
 * grids) after falling back to chain_biquad_bell_vicanek().
 */
static inline int chain_biquad_bell(struct chain_biquad *c, double w0, double gain_db, double q)
{
	double g = pow(10.0, gain_db / 20.0), eps = g * g - 1.0, x0 = chain_biquad_x(w0);
	double wl = fmax(w0 * pow(2.0, -0.8 / q), 0.05 * w0);
	double wh = w0 + (M_PI - w0) * (0.85 - 0.4 * w0 / M_PI);
	struct chain_biquad_cond cond[4] = {
		{ x0, 1.0, 0.0, 0 },
		{ x0, 1.0, 0.0, 1 },
		{ chain_biquad_x(wl), chain_biquad_bell_e(wl / w0, g, q), 0.0, 0 },
		{ chain_biquad_x(wh), chain_biquad_bell_e(wh / w0, g, q), 0.0, 0 },
	};

	if (chain_biquad_fit(c, eps, 0.0, cond) == 0)
		return 0;
	chain_biquad_bell_vicanek(c, w0, gain_db, q);
	return -1;
}

/*
 * Low shelf.  The boost's poles sit at w0 / G^¼ with zeta = 1 / (2·Q)
 * (impulse invariance); its numerator matches DC (G), w0 (sqrt(G)) and
 * Nyquist.  A cut is the inverted boost; 0 dB gives b = a (H = 1) exactly,
 * and the design is continuous through it.  Within 0.8 dB of the prototype
 * up to 20 kHz for Q <= 1 and corners up to 16 kHz at 44.1 kHz; resonant
 * shelves (Q > 1) near the top of the band are only approximate, as a
 * second-order section cannot hold both their peak and dip there.
 */
static inline void chain_biquad_low_shelf(struct chain_biquad *c, double w0, double gain_db,
					  double q)
{
	double a = fabs(gain_db), g = pow(10.0, a / 20.0);

	if (gain_db == 0.0) {
		chain_biquad_poles(c, w0, 0.5 / q);
		c->b0 = 1.0;
		c->b1 = c->a1;
		c->b2 = c->a2;
		return;
	}
	chain_biquad_match3(c, w0 / sqrt(sqrt(g)), 0.5 / q, g * g, w0, g,
			    chain_biquad_analog_low_shelf2(M_PI, w0, a, q));
	if (gain_db < 0.0)
		chain_biquad_invert(c);
}

/* High shelf of gain G = G · (low shelf of gain 1/G), from the same
 * low-shelf boost. */
static inline void chain_biquad_high_shelf(struct chain_biquad *c, double w0, double gain_db,
					   double q)
{
	chain_biquad_low_shelf(c, w0, -gain_db, q);
	if (gain_db != 0.0)
		chain_biquad_scale(c, pow(10.0, gain_db / 20.0));
}

/*
 * Butterworth high- or low-pass of order 1 … 8 as sections c[0 …], all with
 * their corner at w0.  Returns the number of sections (order / 2 rounded
 * up; the first-order section comes last).  Every section is matched
 * exactly at its corner, so the cascade is -3.01 dB there:
 *  - low-pass sections: DC (1), w0 (Q²) and Nyquist;
 *  - high-pass sections keep the double zero at DC (b = k·(1, -2, 1): the
 *    12 dB/oct slope) and match w0 (Vicanek's matched high-pass);
 *  - the first-order section matches DC, w0 (1/2) and Nyquist.
 */
static inline unsigned chain_biquad_butter(struct chain_biquad *c, double w0, unsigned order,
					   int highpass)
{
	unsigned n = 0;
	double x = M_PI / w0, x2 = x * x;

	for (unsigned k = 0; k < order / 2; k++, n++) {
		double q = 0.5 / cos(M_PI * (order - 2 * k - 1) / (2.0 * order));
		double p0, p1;

		if (highpass) {
			double gain;

			chain_biquad_poles(&c[n], w0, 0.5 / q);
			chain_biquad_phi(w0, &p0, &p1);
			gain = q * sqrt(chain_biquad_den2(&c[n], p0, p1)) / (4.0 * p1);
			c[n].b0 = gain;
			c[n].b1 = -2.0 * gain;
			c[n].b2 = gain;
		} else {
			double d = 1.0 - x2;

			chain_biquad_match3(&c[n], w0, 0.5 / q, 1.0, w0, q * q,
					    1.0 / (d * d + x2 / (q * q)));
		}
	}
	if (order % 2) {
		if (highpass)
			chain_biquad_first_order(&c[n], 0.0, w0, 0.5, x2 / (1.0 + x2));
		else
			chain_biquad_first_order(&c[n], 1.0, w0, 0.5, 1.0 / (1.0 + x2));
		n++;
	}
	return n;
}

/*
 * First-order tilt (prototype above), matched at DC, w0 and Nyquist like
 * chain_biquad_first_order(), with the pole ratio in closed form:
 * (h0 - hm) / (hm - hpi) = (P² + k) / (k·(P² - 1)), P = pi / w0, which
 * stays finite as k -> 1, so the design is continuous through 0 dB, where
 * it gives b = a (H = 1) exactly.
 */
static inline void chain_biquad_tilt(struct chain_biquad *c, double w0, double tilt_db)
{
	double k = pow(10.0, tilt_db / 20.0), P2 = (M_PI / w0) * (M_PI / w0);
	double p0, p1, r, r0, r1;

	chain_biquad_phi(w0, &p0, &p1);
	r = sqrt(p0 * (P2 + k) / (p1 * k * (P2 - 1.0)));
	c->a1 = (1.0 - r) / (1.0 + r);
	c->a2 = c->b2 = 0.0;
	if (tilt_db == 0.0) {
		c->b0 = 1.0;
		c->b1 = c->a1;
		return;
	}
	r0 = (1.0 + c->a1) / sqrt(k);
	r1 = (1.0 - c->a1) * sqrt(chain_biquad_analog_tilt2(M_PI, w0, tilt_db));
	c->b0 = 0.5 * (r0 + r1);
	c->b1 = 0.5 * (r0 - r1);
}

#endif

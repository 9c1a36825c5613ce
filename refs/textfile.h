/*
 * termaster — helpers shared by the plain-text files refs/ reads (playback
 * systems, streaming platforms): locale-free decimals and messages.
 */
#ifndef TM_REFS_TEXTFILE_H
#define TM_REFS_TEXTFILE_H

#include <stdarg.h>
#include <stddef.h>

/*
 * A plain decimal at s: optional sign, digits, optionally '.' and digits.
 * The digits (without the point) form an integer m below 2^53 and the
 * value is m / 10^k, both exact, so the one division rounds correctly: the
 * same double strtod() gives in the C locale, in any locale.  Sets *end
 * past it (end may be NULL: then nothing may follow).  Returns 0 or -1.
 */
int refs_text_decimal(const char *s, const char **end, double *out);

/* The user's configuration path for `leaf` ("devices", "platforms.txt"):
 * $XDG_CONFIG_HOME/termaster/LEAF (when absolute), else
 * $HOME/.config/termaster/LEAF.  Returns 0, -1 (neither is set) or -2 (it
 * does not fit buf). */
int refs_text_config_path(const char *leaf, char *buf, size_t len);

/* vsnprintf into msg when msg and len are set. */
void refs_text_vmsg(char *msg, size_t len, const char *fmt, va_list ap);
void refs_text_msg(char *msg, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static inline int refs_text_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

static inline int refs_text_digit(char c)
{
	return c >= '0' && c <= '9';
}

#endif

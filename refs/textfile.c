/*
 * termaster — helpers for the plain-text files refs/ reads (see textfile.h).
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "refs/textfile.h"

int refs_text_decimal(const char *s, const char **end, double *out)
{
	static const double pow10[] = {1e0, 1e1, 1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
				       1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15};
	uint64_t m = 0;
	unsigned frac = 0, int_digits = 0;
	int neg = 0;

	if (*s == '-' || *s == '+')
		neg = *s++ == '-';
	for (; refs_text_digit(*s); s++, int_digits++) {
		m = m * 10 + (uint64_t)(*s - '0');
		if (m >= (UINT64_C(1) << 53))
			return -1;
	}
	if (int_digits == 0)
		return -1;
	if (*s == '.') {
		s++;
		if (!refs_text_digit(*s))
			return -1;
		for (; refs_text_digit(*s); s++) {
			m = m * 10 + (uint64_t)(*s - '0');
			if (m >= (UINT64_C(1) << 53) || ++frac >= sizeof(pow10) / sizeof(pow10[0]))
				return -1;
		}
	}
	if (end)
		*end = s;
	else if (*s)
		return -1;
	*out = (neg ? -1.0 : 1.0) * ((double)m / pow10[frac]);
	return 0;
}

void refs_text_vmsg(char *msg, size_t len, const char *fmt, va_list ap)
{
	if (!msg || len == 0)
		return;
	vsnprintf(msg, len, fmt, ap);
}

void refs_text_msg(char *msg, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	refs_text_vmsg(msg, len, fmt, ap);
	va_end(ap);
}

int refs_text_config_path(const char *leaf, char *buf, size_t len)
{
	const char *xdg = getenv("XDG_CONFIG_HOME");
	const char *home = getenv("HOME");
	int n;

	if (xdg && xdg[0] == '/')
		n = snprintf(buf, len, "%s/termaster/%s", xdg, leaf);
	else if (home && home[0])
		n = snprintf(buf, len, "%s/.config/termaster/%s", home, leaf);
	else
		return -1;
	return n < 0 || (size_t)n >= len ? -2 : 0;
}

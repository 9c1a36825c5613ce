/*
 * termaster — messages and progress on stderr (command line only; the
 * screen has its own status line).
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

#include "tui/tui.h"

void tui_error(const char *fmt, ...)
{
	va_list ap;

	fputs("termaster: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void tui_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

bool tui_stderr_is_tty(void)
{
	return isatty(STDERR_FILENO) == 1;
}

void tui_progress(const char *label, double fraction)
{
	const int width = 40;
	int fill;

	if (!tui_stderr_is_tty())
		return;
	if (fraction < 0)
		fraction = 0;
	if (fraction > 1)
		fraction = 1;
	fill = (int)(fraction * width + 0.5);
	fprintf(stderr, "\r%s [%.*s%*s] %3d%%", label, fill,
		"########################################", width - fill, "",
		(int)(fraction * 100 + 0.5));
	fflush(stderr);
}

void tui_progress_done(void)
{
	if (tui_stderr_is_tty())
		fputs("\r\033[K", stderr);
}

/*
 * termaster — main(): the command line.
 *
 *   termaster [OPTIONS] MIX [REF …]     the workstation
 *   termaster --demo [OPTIONS]          the workstation on generated material
 *   termaster render MIX -o OUT …       offline render (tui/cmd_render.c)
 *   termaster analyze [--json] FILE …   loudness analysis (tui/cmd_analyze.c)
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audio/output.h"
#include "tui/prompt.h"
#include "tui/session.h"
#include "tui/tui.h"

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: termaster [OPTIONS] MIX [REF|FOLDER …]\n"
		"       termaster --demo [OPTIONS]\n"
		"       termaster render MIX -o OUT [--set PARAM=VALUE …] [--ceiling-dbtp DB] [--force]\n"
		"       termaster analyze [--json] FILE …\n"
		"\n"
		"A/B mastering workstation: play MIX through the mastering chain and compare\n"
		"it with reference tracks and with itself unprocessed, at matched loudness.\n"
		"\n"
		"Options:\n"
		"  --demo               open on built-in generated material (no files needed)\n"
		"  --device NAME|INDEX  output device (see --list-devices); default: the system's\n"
		"  --list-devices       list output devices and exit\n"
		"  --buffer FRAMES      audio buffer size (default: the device's low latency)\n"
		"  --rate HZ            session sample rate (default: the mix's rate)\n"
		"  --no-device          do not open an audio device (analysis and render only)\n"
		"  --headless           no screen: read commands (see --commands)\n"
		"  --commands FILE|-    headless command file, '-' for standard input\n"
		"  --session FILE       open a session: its mix, references, chain and monitor\n"
		"  -h, --help           show this help and exit\n"
		"  -V, --version        show the version and exit\n"
		"\n"
		"Run 'termaster render --help' and 'termaster analyze --help' for those commands.\n"
		"Keys and headless commands: see 'man termaster'.\n");
}

/* The references as given, a folder standing for every audio file in it,
 * sorted by name (tui/prompt.c: the screen's `a` follows the same rule).
 * Files are checked when they are opened, not here. */
static int expand_refs(char **args, int n, char ***out, int *n_out)
{
	char msg[1280];

	if (tui_path_expand_refs((const char *const *)args, n, out, n_out, msg, sizeof(msg))) {
		tui_error("%s", msg);
		return -1;
	}
	return 0;
}

enum {
	OPT_DEMO = 256,
	OPT_DEVICE,
	OPT_LIST,
	OPT_BUFFER,
	OPT_RATE,
	OPT_NODEV,
	OPT_HEADLESS,
	OPT_COMMANDS,
	OPT_SESSION,
};

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "demo", no_argument, NULL, OPT_DEMO },
		{ "device", required_argument, NULL, OPT_DEVICE },
		{ "list-devices", no_argument, NULL, OPT_LIST },
		{ "buffer", required_argument, NULL, OPT_BUFFER },
		{ "rate", required_argument, NULL, OPT_RATE },
		{ "no-device", no_argument, NULL, OPT_NODEV },
		{ "headless", no_argument, NULL, OPT_HEADLESS },
		{ "commands", required_argument, NULL, OPT_COMMANDS },
		{ "session", required_argument, NULL, OPT_SESSION },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct tui_opts o;
	struct tui_session session;
	char **refs_list = NULL;
	bool headless = false, list = false;
	int c, status;

	if (argc > 1 && strcmp(argv[1], "render") == 0)
		return tui_cmd_render(argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "analyze") == 0)
		return tui_cmd_analyze(argc - 1, argv + 1);

	memset(&o, 0, sizeof(o));
	tui_session_init(&session);
	while ((c = getopt_long(argc, argv, "hV", longopts, NULL)) != -1) {
		char *end;

		switch (c) {
		case OPT_DEMO:
			o.demo = true;
			break;
		case OPT_DEVICE:
			o.device = optarg;
			break;
		case OPT_LIST:
			list = true;
			break;
		case OPT_BUFFER: {
			unsigned long v = strtoul(optarg, &end, 10);

			if (*end || v < 16 || v > 16384) {
				tui_error("--buffer: '%s' is not a buffer size (16 … 16384 frames)", optarg);
				return TUI_EXIT_USAGE;
			}
			o.buffer_frames = (unsigned)v;
			break;
		}
		case OPT_RATE: {
			double v = strtod(optarg, &end);

			if (*end || !isfinite(v) || v < 8000 || v > 384000) {
				tui_error("--rate: '%s' is not a sample rate (8000 … 384000 Hz)", optarg);
				return TUI_EXIT_USAGE;
			}
			o.rate = v;
			break;
		}
		case OPT_NODEV:
			o.no_device = true;
			break;
		case OPT_HEADLESS:
			headless = true;
			break;
		case OPT_COMMANDS:
			o.commands = optarg;
			break;
		case OPT_SESSION:
			o.session_path = optarg;
			break;
		case 'h':
			usage(stdout);
			return TUI_EXIT_OK;
		case 'V':
			printf("termaster %s\n", PACKAGE_VERSION);
			return TUI_EXIT_OK;
		default:
			usage(stderr);
			return TUI_EXIT_USAGE;
		}
	}
	if (list) {
		char msg[256];

		if (audio_output_list(stdout, msg, sizeof(msg))) {
			tui_error("%s", msg);
			return TUI_EXIT_FAIL;
		}
		return TUI_EXIT_OK;
	}
	if (o.session_path) {
		char msg[1024];

		if (optind < argc || o.demo) {
			tui_error("--session names the mix and references: give no files or --demo with it");
			return TUI_EXIT_USAGE;
		}
		if (tui_session_load(o.session_path, &session, msg, sizeof(msg))) {
			tui_error("%s", msg);
			tui_session_free(&session);
			return TUI_EXIT_USAGE;
		}
		if (!session.mix) {
			tui_error("%s: the session has no mix", o.session_path);
			tui_session_free(&session);
			return TUI_EXIT_USAGE;
		}
		o.mix = session.mix;
		o.refs = (const char *const *)session.refs;
		o.n_refs = session.n_refs;
		o.session = &session;
	} else if (optind < argc) {
		if (o.demo) {
			tui_error("--demo opens generated material: give no files with it");
			return TUI_EXIT_USAGE;
		}
		o.mix = argv[optind++];
		if (expand_refs(argv + optind, argc - optind, &refs_list, &o.n_refs)) {
			status = TUI_EXIT_USAGE;
			goto out;
		}
		o.refs = (const char *const *)refs_list;
	} else if (!o.demo) {
		usage(stderr);
		return TUI_EXIT_USAGE;
	}
	if (o.commands && !headless) {
		tui_error("--commands needs --headless");
		return TUI_EXIT_USAGE;
	}
	if (headless) {
		if (!o.commands)
			o.commands = "-";
		status = tui_headless_run(&o);
	} else if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
		tui_error("the screen needs a terminal; use --headless --commands FILE for scripts");
		status = TUI_EXIT_USAGE;
	} else {
		status = tui_screen_run(&o);
	}
out:
	if (refs_list)
		for (int i = 0; i < o.n_refs; i++)
			free(refs_list[i]);
	free(refs_list);
	tui_session_free(&session);
	return status;
}

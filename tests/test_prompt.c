/*
 * termaster — tests for tui/prompt.c: the line editor, Tab completion in a
 * temporary folder, ~ expansion, and the folder-to-files rule.
 */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/util.h"
#include "tui/prompt.h"

#define ASSERT_STR(msg, expected, actual)                                                          \
	do {                                                                                       \
		const char *e_ = (expected), *a_ = (actual);                                       \
		test_checks++;                                                                     \
		if (strcmp(e_, a_) != 0)                                                           \
			test_fail(__FILE__, __LINE__, "%s: expected \"%s\", got \"%s\"", (msg),    \
			          e_, a_);                                                         \
	} while (0)

static void type(struct tui_prompt *p, const char *s)
{
	for (; *s; s++)
		tui_prompt_key(p, (unsigned char)*s);
}

static void touch(const char *dir, const char *name)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	if (!f) {
		perror(path);
		exit(99);
	}
	fclose(f);
}

static void test_editing(void)
{
	struct tui_prompt p;
	char view[256];
	int cur;

	tui_prompt_start(&p, "add: ", "abc");
	ASSERT_INT("cursor at the end", 3, (long long)p.cur);
	type(&p, "de");
	ASSERT_STR("typed", "abcde", p.buf);
	tui_prompt_key(&p, TUI_PROMPT_KEY_LEFT);
	tui_prompt_key(&p, TUI_PROMPT_KEY_LEFT);
	type(&p, "X");
	ASSERT_STR("insert in the middle", "abcXde", p.buf);
	tui_prompt_key(&p, TUI_PROMPT_KEY_BACKSPACE);
	ASSERT_STR("backspace", "abcde", p.buf);
	tui_prompt_key(&p, TUI_PROMPT_KEY_DELETE);
	ASSERT_STR("delete under the cursor", "abce", p.buf);
	tui_prompt_key(&p, TUI_PROMPT_KEY_HOME);
	type(&p, "/");
	ASSERT_STR("home", "/abce", p.buf);
	tui_prompt_key(&p, TUI_PROMPT_KEY_END);
	type(&p, "!");
	ASSERT_STR("end", "/abce!", p.buf);
	tui_prompt_key(&p, TUI_PROMPT_KEY_LEFT);
	tui_prompt_key(&p, 21); /* ^U */
	ASSERT_STR("^U deletes to the start", "!", p.buf);
	ASSERT_INT("cursor at 0 after ^U", 0, (long long)p.cur);
	tui_prompt_key(&p, 127);
	ASSERT_STR("backspace at the start does nothing", "!", p.buf);

	/* UTF-8: arrows and backspace move by characters */
	tui_prompt_start(&p, "", "");
	type(&p, "a\xc3\xa9"
	         "b");
	tui_prompt_key(&p, TUI_PROMPT_KEY_LEFT);
	tui_prompt_key(&p, TUI_PROMPT_KEY_LEFT);
	ASSERT_INT("left over a 2-byte character", 1, (long long)p.cur);
	tui_prompt_key(&p, TUI_PROMPT_KEY_RIGHT);
	tui_prompt_key(&p, TUI_PROMPT_KEY_BACKSPACE);
	ASSERT_STR("backspace removes the whole character", "ab", p.buf);

	/* the view scrolls so the cursor stays in sight */
	tui_prompt_start(&p, "path: ", "0123456789abcdefghij");
	tui_prompt_view(&p, 16, view, sizeof(view), &cur);
	ASSERT_STR("scrolled view", "path: bcdefghij", view);
	ASSERT_INT("cursor column", 15, cur);
	tui_prompt_key(&p, TUI_PROMPT_KEY_HOME);
	tui_prompt_view(&p, 16, view, sizeof(view), &cur);
	ASSERT_STR("view from the start", "path: 012345678", view);
	ASSERT_INT("cursor column at home", 6, cur);

	ASSERT_INT("enter ends", TUI_PROMPT_DONE, tui_prompt_key(&p, TUI_PROMPT_KEY_ENTER));
	ASSERT_TRUE("inactive after enter", !p.active);
	tui_prompt_start(&p, "", "x");
	ASSERT_INT("esc cancels", TUI_PROMPT_CANCEL, tui_prompt_key(&p, 27));
	ASSERT_TRUE("inactive after esc", !p.active);
	tui_prompt_start(&p, "", "x");
	ASSERT_INT("\\r ends", TUI_PROMPT_DONE, tui_prompt_key(&p, '\r'));
}

static void test_completion(const char *dir)
{
	struct tui_prompt p;
	char path[4096], want[4096];

	snprintf(path, sizeof(path), "%s/music", dir);
	mkdir(path, 0700);
	touch(path, "song one.wav");
	touch(path, "song two.flac");
	touch(path, "notes.txt");
	touch(path, ".hidden.wav");
	snprintf(path, sizeof(path), "%s/music/sessions", dir);
	mkdir(path, 0700);

	/* one match, a folder: completed with its '/' */
	snprintf(path, sizeof(path), "%s/mu", dir);
	tui_prompt_start(&p, "", path);
	ASSERT_INT("one match", 1, tui_prompt_key(&p, '\t') == TUI_PROMPT_EDITING ? p.matches : -1);
	snprintf(want, sizeof(want), "%s/music/", dir);
	ASSERT_STR("folder completed with /", want, p.buf);
	/* several: extended to the common prefix and listed */
	type(&p, "so");
	tui_prompt_key(&p, '\t');
	snprintf(want, sizeof(want), "%s/music/song ", dir);
	ASSERT_STR("common prefix", want, p.buf);
	ASSERT_INT("two matches", 2, p.matches);
	ASSERT_STR("candidates listed", "song one.wav  song two.flac", p.list);
	type(&p, "t");
	tui_prompt_key(&p, '\t');
	snprintf(want, sizeof(want), "%s/music/song two.flac", dir);
	ASSERT_STR("a file completed without /", want, p.buf);
	/* everything in the folder, hidden files left out, folders marked */
	snprintf(path, sizeof(path), "%s/music/", dir);
	tui_prompt_start(&p, "", path);
	tui_prompt_key(&p, '\t');
	ASSERT_INT("all four visible entries", 4, p.matches);
	ASSERT_STR("sorted, folder marked", "notes.txt  sessions/  song one.wav  song two.flac",
	           p.list);
	/* hidden ones when asked for */
	snprintf(path, sizeof(path), "%s/music/.h", dir);
	tui_prompt_start(&p, "", path);
	tui_prompt_key(&p, '\t');
	snprintf(want, sizeof(want), "%s/music/.hidden.wav", dir);
	ASSERT_STR("hidden file by its dot", want, p.buf);
	/* no match: the text stays */
	snprintf(path, sizeof(path), "%s/music/zz", dir);
	tui_prompt_start(&p, "", path);
	tui_prompt_key(&p, '\t');
	ASSERT_INT("no match", 0, p.matches);
	ASSERT_STR("text unchanged", path, p.buf);
	ASSERT_STR("says so", "no match", p.list);
	/* completion at the cursor keeps what follows it */
	snprintf(path, sizeof(path), "%s/music/no|tail", dir);
	tui_prompt_start(&p, "", path);
	for (int i = 0; i < 5; i++)
		tui_prompt_key(&p, TUI_PROMPT_KEY_LEFT);
	tui_prompt_key(&p, '\t');
	snprintf(want, sizeof(want), "%s/music/notes.txt|tail", dir);
	ASSERT_STR("completed before the cursor", want, p.buf);

	/* ~ is $HOME */
	setenv("HOME", dir, 1);
	tui_prompt_start(&p, "", "~/mus");
	tui_prompt_key(&p, '\t');
	snprintf(want, sizeof(want), "%s/music/", dir);
	ASSERT_STR("~/ expanded and completed", want, p.buf);
	tui_prompt_start(&p, "", "~");
	tui_prompt_key(&p, '\t');
	snprintf(want, sizeof(want), "%s/music/", dir);
	ASSERT_STR("~ alone: inside home", want, p.buf);
	ASSERT_INT("tui_path_expand", 0, tui_path_expand("~/a b", path, sizeof(path)));
	snprintf(want, sizeof(want), "%s/a b", dir);
	ASSERT_STR("tui_path_expand result", want, path);
	ASSERT_INT("~user is left alone", 0, tui_path_expand("~user/x", path, sizeof(path)));
	ASSERT_STR("~user unchanged", "~user/x", path);
	ASSERT_INT("too long", -1, tui_path_expand("~/abc", path, 3));
}

static void test_expand_refs(const char *dir)
{
	char folder[1024], empty[1024], msg[2048] = "";
	char **list = NULL;
	int n = -1;

	snprintf(folder, sizeof(folder), "%s/refs", dir);
	mkdir(folder, 0700);
	touch(folder, "b.WAV");
	touch(folder, "a.flac");
	touch(folder, "c.txt");
	touch(folder, ".d.wav");
	{
		const char *args[] = {"x.wav", folder};

		ASSERT_INT("expanded", 0,
		           tui_path_expand_refs(args, 2, &list, &n, msg, sizeof(msg)));
		ASSERT_INT("a file and two audio files", 3, n);
		if (n == 3) {
			char want[4200];

			ASSERT_STR("file as is", "x.wav", list[0]);
			snprintf(want, sizeof(want), "%s/a.flac", folder);
			ASSERT_STR("sorted by name", want, list[1]);
			snprintf(want, sizeof(want), "%s/b.WAV", folder);
			ASSERT_STR("any case of extension", want, list[2]);
		}
		tui_path_list_free(list, n);
	}
	snprintf(empty, sizeof(empty), "%s/empty", dir);
	mkdir(empty, 0700);
	{
		const char *args[] = {empty};

		ASSERT_INT("a folder without audio", -1,
		           tui_path_expand_refs(args, 1, &list, &n, msg, sizeof(msg)));
		ASSERT_TRUE("message names it",
		            strstr(msg, empty) == msg && strstr(msg, "no audio files") != NULL);
	}
	ASSERT_TRUE("audio names", tui_path_is_audio("x.opus") && tui_path_is_audio("Y.AIFF") &&
	                               !tui_path_is_audio("x.txt") &&
	                               !tui_path_is_audio(".x.wav") && !tui_path_is_audio("wav"));
}

int main(void)
{
	const char *base = test_tmpdir("prompt");
	char dir[512], cmd[600];

	snprintf(dir, sizeof(dir), "%s", base);
	test_editing();
	test_completion(dir);
	test_expand_refs(dir);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	return test_done();
}

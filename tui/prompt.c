/*
 * termaster — the path prompt and the folder-to-files rule (see prompt.h).
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "tui/prompt.h"

/* ---- paths ---- */

int tui_path_expand(const char *in, char *out, size_t n)
{
	const char *home = getenv("HOME");
	int k;

	if (in[0] == '~' && (in[1] == '/' || in[1] == '\0') && home && home[0])
		k = snprintf(out, n, "%s%s", home, in + 1);
	else
		k = snprintf(out, n, "%s", in);
	return k < 0 || (size_t)k >= n ? -1 : 0;
}

bool tui_path_is_audio(const char *name)
{
	/* what audio/clip.c opens through libsndfile (DESIGN.md) */
	static const char *const ext[] = {
	    ".wav",  ".wave", ".rf64", ".w64",  ".aif", ".aiff", ".aifc",
	    ".flac", ".ogg",  ".oga",  ".opus", ".mp3", ".caf",
	};
	const char *dot = strrchr(name, '.');

	if (!dot || name[0] == '.')
		return false;
	for (size_t i = 0; i < sizeof(ext) / sizeof(ext[0]); i++)
		if (strcasecmp(dot, ext[i]) == 0)
			return true;
	return false;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void tui_path_list_free(char **list, int n)
{
	for (int i = 0; list && i < n; i++)
		free(list[i]);
	free(list);
}

/* Append a copy of s (len bytes + NUL) to the list; -1 when out of memory. */
static int push(char ***list, int *count, int *cap, const char *a, const char *b)
{
	size_t la = strlen(a), lb = b ? strlen(b) : 0;
	char *s;

	if (*count == *cap) {
		int nc = *cap ? 2 * *cap : 16;
		char **nl = realloc(*list, sizeof(**list) * (size_t)nc);

		if (!nl)
			return -1;
		*list = nl;
		*cap = nc;
	}
	s = malloc(la + lb + 2);
	if (!s)
		return -1;
	memcpy(s, a, la);
	if (b) {
		/* folder + '/' + name, without doubling a trailing slash */
		if (la == 0 || a[la - 1] != '/')
			s[la++] = '/';
		memcpy(s + la, b, lb);
	}
	s[la + lb] = '\0';
	(*list)[(*count)++] = s;
	return 0;
}

int tui_path_expand_refs(const char *const *args, int n, char ***out, int *n_out, char *msg,
                         size_t msg_len)
{
	char **list = NULL;
	int count = 0, cap = 0;

	for (int i = 0; i < n; i++) {
		struct stat sb;
		struct dirent *de;
		DIR *d;
		int first = count;

		if (stat(args[i], &sb) != 0 || !S_ISDIR(sb.st_mode)) {
			if (push(&list, &count, &cap, args[i], NULL))
				goto nomem;
			continue;
		}
		d = opendir(args[i]);
		if (!d) {
			snprintf(msg, msg_len, "%s: %s", args[i], strerror(errno));
			goto fail;
		}
		while ((de = readdir(d))) {
			if (!tui_path_is_audio(de->d_name))
				continue;
			if (push(&list, &count, &cap, args[i], de->d_name)) {
				closedir(d);
				goto nomem;
			}
		}
		closedir(d);
		if (count == first) {
			snprintf(msg, msg_len, "%s: a folder with no audio files in it", args[i]);
			goto fail;
		}
		qsort(list + first, (size_t)(count - first), sizeof(*list), cmp_str);
	}
	*out = list;
	*n_out = count;
	return 0;
nomem:
	snprintf(msg, msg_len, "out of memory");
fail:
	tui_path_list_free(list, count);
	*out = NULL;
	*n_out = 0;
	return -1;
}

/* ---- the line editor ---- */

void tui_prompt_start(struct tui_prompt *p, const char *label, const char *initial)
{
	memset(p, 0, sizeof(*p));
	p->active = true;
	snprintf(p->label, sizeof(p->label), "%s", label ? label : "");
	snprintf(p->buf, sizeof(p->buf), "%s", initial ? initial : "");
	p->len = strlen(p->buf);
	p->cur = p->len;
}

static bool cont_byte(char c)
{
	return ((unsigned char)c & 0xc0) == 0x80;
}

static size_t prev_char(const struct tui_prompt *p, size_t at)
{
	if (at == 0)
		return 0;
	at--;
	while (at > 0 && cont_byte(p->buf[at]))
		at--;
	return at;
}

static size_t next_char(const struct tui_prompt *p, size_t at)
{
	if (at >= p->len)
		return p->len;
	at++;
	while (at < p->len && cont_byte(p->buf[at]))
		at++;
	return at;
}

/* Delete bytes [a, b). */
static void cut(struct tui_prompt *p, size_t a, size_t b)
{
	if (b <= a)
		return;
	memmove(p->buf + a, p->buf + b, p->len - b + 1);
	p->len -= b - a;
	if (p->cur >= b)
		p->cur -= b - a;
	else if (p->cur > a)
		p->cur = a;
}

/* Insert n bytes at the cursor; false when the line is full. */
static bool insert(struct tui_prompt *p, const char *s, size_t n)
{
	if (p->len + n + 1 > sizeof(p->buf))
		return false;
	memmove(p->buf + p->cur + n, p->buf + p->cur, p->len - p->cur + 1);
	memcpy(p->buf + p->cur, s, n);
	p->len += n;
	p->cur += n;
	return true;
}

struct match {
	char *name;
	bool dir;
};

static int cmp_match(const void *a, const void *b)
{
	return strcmp(((const struct match *)a)->name, ((const struct match *)b)->name);
}

static void make_list(struct tui_prompt *p, const struct match *m, int n)
{
	size_t o = 0;
	int i;

	p->list[0] = '\0';
	for (i = 0; i < n; i++) {
		size_t need = strlen(m[i].name) + (m[i].dir ? 1 : 0) + 2;

		/* room left for "  ... N more" */
		if (o + need + 24 >= sizeof(p->list))
			break;
		o += (size_t)snprintf(p->list + o, sizeof(p->list) - o, "%s%s%s", i ? "  " : "",
		                      m[i].name, m[i].dir ? "/" : "");
	}
	if (i < n)
		snprintf(p->list + o, sizeof(p->list) - o, "  ... %d more", n - i);
}

int tui_prompt_complete(struct tui_prompt *p)
{
	char dir[TUI_PROMPT_MAX + 2], path[2 * TUI_PROMPT_MAX + 4];
	const char *base, *slash;
	struct match *m = NULL;
	int n = 0, cap = 0;
	size_t base_len, lcp;
	struct dirent *de;
	DIR *d;

	p->list[0] = '\0';
	p->matches = 0;
	/* ~ first: the buffer shows where the path really points */
	if (p->buf[0] == '~' && p->cur >= 1 && (p->buf[1] == '\0' || p->buf[1] == '/')) {
		char home[TUI_PROMPT_MAX];
		size_t old = p->cur;

		/* "~" alone is the home folder itself: complete inside it */
		if (tui_path_expand(p->buf[1] == '\0' ? "~/" : "~", home, sizeof(home)) == 0 &&
		    strcmp(home, "~") != 0 && strcmp(home, "~/") != 0) {
			size_t hl = strlen(home);

			if (p->len - 1 + hl + 1 <= sizeof(p->buf)) {
				p->cur = 1;
				cut(p, 0, 1);
				p->cur = 0;
				insert(p, home, hl);
				p->cur = old - 1 + hl;
			}
		}
	}
	/* the word to complete is everything before the cursor */
	memcpy(dir, p->buf, p->cur);
	dir[p->cur] = '\0';
	slash = strrchr(dir, '/');
	if (slash) {
		base = p->buf + (slash - dir) + 1;
		base_len = p->cur - (size_t)(slash - dir) - 1;
		dir[slash - dir + 1] = '\0';
	} else {
		base = p->buf;
		base_len = p->cur;
		dir[0] = '\0';
	}
	d = opendir(dir[0] ? dir : ".");
	if (!d) {
		snprintf(p->list, sizeof(p->list), "%s: %s", dir[0] ? dir : ".", strerror(errno));
		return 0;
	}
	while ((de = readdir(d))) {
		struct stat sb;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (de->d_name[0] == '.' && !(base_len > 0 && base[0] == '.'))
			continue;
		if (strncmp(de->d_name, base, base_len) != 0)
			continue;
		if (n == cap) {
			int nc = cap ? 2 * cap : 32;
			struct match *nm = realloc(m, sizeof(*m) * (size_t)nc);

			if (!nm)
				break;
			m = nm;
			cap = nc;
		}
		m[n].name = strdup(de->d_name);
		if (!m[n].name)
			break;
		snprintf(path, sizeof(path), "%s%s", dir[0] ? dir : "./", de->d_name);
		m[n].dir = stat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
		n++;
	}
	closedir(d);
	p->matches = n;
	if (n == 0) {
		snprintf(p->list, sizeof(p->list), "no match");
		free(m);
		return 0;
	}
	qsort(m, (size_t)n, sizeof(*m), cmp_match);
	/* the longest common prefix of the matches (bytes; fine for UTF-8
	 * names since a common prefix of valid strings that ends inside a
	 * character is trimmed back below) */
	lcp = strlen(m[0].name);
	for (int i = 1; i < n; i++) {
		size_t k = 0;

		while (k < lcp && m[i].name[k] == m[0].name[k])
			k++;
		lcp = k;
	}
	while (lcp > base_len && cont_byte(m[0].name[lcp]))
		lcp--;
	if (lcp > base_len)
		insert(p, m[0].name + base_len, lcp - base_len);
	if (n == 1) {
		if (m[0].dir && (p->cur == 0 || p->buf[p->cur - 1] != '/'))
			insert(p, "/", 1);
	} else {
		make_list(p, m, n);
	}
	for (int i = 0; i < n; i++)
		free(m[i].name);
	free(m);
	return n;
}

int tui_prompt_key(struct tui_prompt *p, int key)
{
	if (!p->active)
		return TUI_PROMPT_CANCEL;
	if (key != '\t') {
		p->list[0] = '\0';
		p->matches = 0;
	}
	switch (key) {
	case TUI_PROMPT_KEY_ENTER:
	case '\n':
	case '\r':
		p->active = false;
		return TUI_PROMPT_DONE;
	case TUI_PROMPT_KEY_ESC:
	case 27:
	case 7: /* ^G */
	case 3: /* ^C */
		p->active = false;
		return TUI_PROMPT_CANCEL;
	case TUI_PROMPT_KEY_LEFT:
	case 2: /* ^B */
		p->cur = prev_char(p, p->cur);
		break;
	case TUI_PROMPT_KEY_RIGHT:
	case 6: /* ^F */
		p->cur = next_char(p, p->cur);
		break;
	case TUI_PROMPT_KEY_HOME:
	case 1: /* ^A */
		p->cur = 0;
		break;
	case TUI_PROMPT_KEY_END:
	case 5: /* ^E */
		p->cur = p->len;
		break;
	case TUI_PROMPT_KEY_BACKSPACE:
	case 8:   /* ^H */
	case 127: /* DEL, what most terminals send for Backspace */
		cut(p, prev_char(p, p->cur), p->cur);
		break;
	case TUI_PROMPT_KEY_DELETE:
	case 4: /* ^D */
		cut(p, p->cur, next_char(p, p->cur));
		break;
	case 21: /* ^U */
		cut(p, 0, p->cur);
		break;
	case 11: /* ^K */
		cut(p, p->cur, p->len);
		break;
	case '\t':
		tui_prompt_complete(p);
		break;
	default:
		if (key >= 0x20 && key <= 0xff && key != 0x7f) {
			char c = (char)key;

			insert(p, &c, 1);
		}
		break;
	}
	return TUI_PROMPT_EDITING;
}

/* Characters (not bytes) in s[0 .. n). */
static int chars(const char *s, size_t n)
{
	int c = 0;

	for (size_t i = 0; i < n; i++)
		if (!cont_byte(s[i]))
			c++;
	return c;
}

/* Byte offset of character k in s. */
static size_t char_at(const char *s, size_t len, int k)
{
	size_t i = 0;

	while (i < len && k > 0) {
		i++;
		while (i < len && cont_byte(s[i]))
			i++;
		k--;
	}
	return i;
}

void tui_prompt_view(const struct tui_prompt *p, int cols, char *out, size_t n, int *cursor)
{
	int lc = chars(p->label, strlen(p->label)), room = cols - lc - 1;
	int cur_c = chars(p->buf, p->cur), first = 0;
	size_t a, b;

	if (n == 0)
		return;
	if (room < 1) {
		/* no room for the text: the label alone */
		snprintf(out, n, "%s", p->label);
		if (cursor)
			*cursor = cols > 0 ? cols - 1 : 0;
		return;
	}
	/* the cursor may sit just past the text: room + 1 columns in all */
	if (cur_c > room)
		first = cur_c - room;
	a = char_at(p->buf, p->len, first);
	b = char_at(p->buf, p->len, first + room);
	snprintf(out, n, "%s%.*s", p->label, (int)(b - a), p->buf + a);
	if (cursor)
		*cursor = lc + cur_c - first;
}

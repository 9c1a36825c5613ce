#!/bin/sh
# Referencing on the screen (issue 4), in a real terminal of the minimum
# size, 80x24: termaster runs in a detached tmux session (its own server
# socket), keys go in with send-keys, the screen comes back with
# capture-pane (DESIGN.md, "Testing without a sound card").
#
# 1. UTF-8: a reference added through the `a` prompt with Tab completion
#    (a folder completes with its '/', a file by its unique prefix), then a
#    folder of two files at once; the playhead mode toggled with i and
#    shown, and in independent mode each source's own loop and position
#    shown when it plays; the offset moved with O / o; v cycles main -> tonal ->
#    loudness -> main and each view is drawn (tonal: bars, the scale, the
#    octave labels; loudness: the graph and I/LRA/PLR/TP of both).
# 2. LANG=C, NO_COLOR: the views in ASCII, not one byte >= 0x80.
. "$top_srcdir/tests/lib.sh"

command -v tmux >/dev/null 2>&1 || skip "tmux is not installed"

SOCK="termaster-refs-$$"
. "$top_srcdir/tests/tmux.sh"

export HOME="$T/home"
mkdir -p "$HOME"

# keys: literally (tmux would read a lone ';' as its own separator)
keys() {
	tm send-keys -t tm -l -- "$1"
}

# the material: a mix, a folder with two takes, a folder with two more
mkdir -p "$T/refs" "$T/more"
"$GEN_SIGNAL" "$T/mix.wav" --kind music --seconds 12 --seed 1 >/dev/null &&
	"$GEN_SIGNAL" "$T/refs/first take.wav" --kind music --seconds 12 --seed 2 --amp-db -3 >/dev/null &&
	"$GEN_SIGNAL" "$T/refs/second take.flac" --kind music --seconds 12 --seed 3 --format flac16 >/dev/null &&
	"$GEN_SIGNAL" "$T/more/a.wav" --kind noise --seconds 6 --amp-db -20 >/dev/null &&
	"$GEN_SIGNAL" "$T/more/b.wav" --kind music --seconds 6 --seed 4 >/dev/null ||
	{ echo "ERROR: gen_signal failed" >&2; exit 99; }

# ---- 1. UTF-8 ----

start LANG=C.UTF-8 LC_ALL=C.UTF-8 -- --no-device "'$T/mix.wav'"
check "the screen is up" 'MIX after .* ready' 15

# add a reference: type the start of the folder, Tab, the start of a
# file, Tab, Enter
keys a
check "a opens the prompt" 'add reference \(file or folder\):'
keys "$T/re"
tm send-keys -t tm Tab
check "Tab completes the folder with its /" "add reference \\(file or folder\\): .*/refs/ *\$"
keys "s"
tm send-keys -t tm Tab
check "Tab completes the unique file" 'add reference .*/refs/second take\.flac'
tm send-keys -t tm Enter
check "the reference is added" 'added REF 1'
check "REF 1 is listed and measured" 'REF 1 +second take\.flac +ready +-[0-9]+\.[0-9]' 20
# ambiguous: the candidates are listed
keys a
tm send-keys -t tm C-u
keys "$T/more/"
tm send-keys -t tm Tab
check "several matches are listed" '^ *a\.wav +b\.wav'
tm send-keys -t tm Enter
check "a folder adds every audio file in it" 'added REF 2-3'
check "REF 3 is measured" 'REF 3 +b\.wav +ready +-[0-9]+\.[0-9]' 20
# Esc leaves the prompt without adding
keys a
keys "nothing"
tm send-keys -t tm Escape
sleep 0.3
if screen | grep -q 'add reference'; then
	fail "Esc did not close the prompt"
else
	ok
fi

# playhead mode
check "the playhead mode is shown" ' SYNC  REF [0-9]'
keys i
check "i: independent playheads" 'INDEPENDENT  REF [0-9]'
# independent: each source shows its own loop and position
keys 0
tm send-keys -t tm Right
keys '['
tm send-keys -t tm Right
keys ']'
check "a loop on the mix" 'Loop: OFF  00:05\.0 — 00:10\.0'
keys 1
check "REF 1 has no loop of its own" 'PAUSED +00:00\.0 .*Loop: OFF  none'
keys 0
check "back on the mix: its loop and position" 'PAUSED +00:10\.0 .*Loop: OFF  00:05\.0 — 00:10\.0'
keys i
check "i again: sync" ' SYNC  REF [0-9]'

# the current reference's offset
keys 1
check "1 plays REF 1" '^ *A/B +REF 1 '
keys O
check "O moves REF 1 10 ms later" 'REF 1 \+0\.010 s'
keys oo
check "o o: 10 ms earlier than 0" 'REF 1 -0\.010 s'

# views
keys v
check "v: the tonal view" '^Tonal 1/3 oct'
check "tonal: mix and reference in the legend" '^Tonal .*MIX after .*REF 1'
check "tonal: the mid graph with bars" '^Mid +-?[0-9]+│.*█'
check "tonal: the side graph" '^Side +-?[0-9]+│'
check "tonal: the difference panels" '^M diff +\+[0-9]+│'
check "tonal: octave labels" '^Hz +31\.5 +63 +125 +250 +500 +1k +2k +4k +8k +16k'
keys v
check "v: the loudness view" '^Short-term loudness, LUFS'
check "loudness: the mix graph" '│█{20}'
check "loudness: the reference graph" '│.*▒'
check "loudness: the mix's numbers" 'MIX after +I +-[0-9]+\.[0-9] LUFS +LRA +[0-9]+\.[0-9] LU +PLR +[0-9]+\.[0-9] dB +TP +-?[0-9]+\.[0-9] dBTP'
check "loudness: the reference's numbers" 'REF 1 +I +-[0-9]+\.[0-9] LUFS'
check "the transport stays on the view" 'PAUSED +[0-9]+:[0-9]+\.[0-9] / 00:12\.0'
keys v
check "v: back to the main view" '#  Source +Name'
keys q
if wait_exit 10 && [ "$(cat "$T/status")" = 0 ]; then
	ok
else
	fail "q: exit status $(cat "$T/status" 2>/dev/null), expected 0"
fi
tm kill-server >/dev/null 2>&1

# ---- 2. ASCII, no colour ----

start LANG=C LC_ALL=C NO_COLOR=1 -- --no-device "'$T/mix.wav'" "'$T/refs'"
check "ASCII: the references are measured" 'REF 2 .* ready +-[0-9]+\.[0-9]' 20
keys 1
keys v
check "ASCII: the tonal view" '^Tonal 1/3 oct.*## MIX after +:: REF 1'
check "ASCII: bars" '^Mid +-?[0-9]+\|.*#:'
if screen | LC_ALL=C grep -q "$(printf '[\200-\377]')"; then
	screen | sed 's/^/  | /' >&2
	fail "ASCII: the tonal view has bytes >= 0x80"
else
	ok
fi
keys v
check "ASCII: the loudness view" '^Short-term loudness'
check "ASCII: the mix graph" '\|#{20}'
if screen | LC_ALL=C grep -q "$(printf '[\200-\377]')"; then
	fail "ASCII: the loudness view has bytes >= 0x80"
else
	ok
fi
if tm capture-pane -p -e -t tm | grep -q "$(printf '\033')\[[0-9;]*3[1-6]m"; then
	fail "NO_COLOR: colours on screen"
else
	ok
fi
keys q
wait_exit 10 || fail "ASCII run: q did not end termaster"
finish

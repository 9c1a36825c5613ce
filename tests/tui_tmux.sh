#!/bin/sh
# The ncurses screen in a real terminal: termaster --demo runs inside a
# detached tmux session (its own server socket), keys go in with send-keys
# and the screen comes back with capture-pane (DESIGN.md, "Testing without a
# sound card").
#
# 1. UTF-8 and colour, null driver: wait until the demo is measured, then
#    space, 1, 0, Tab, b, L, ?, the loop keys, a resize below 80x24 and back,
#    q (exit status 0).
# 2. NO_COLOR=1 in the C locale on the ALSA file device (unclocked: the demo
#    plays to its end at once): no colour, ASCII only, still measured;
#    Ctrl-C ends it cleanly (status 0).
# First, a mix that cannot be opened: "termaster: PATH: reason" on stderr
# and status 2, before any screen starts.
. "$top_srcdir/tests/lib.sh"

command -v tmux >/dev/null 2>&1 || skip "tmux is not installed"

SOCK="termaster-test-$$"
. "$top_srcdir/tests/tmux.sh"
TM_COLS=120 TM_ROWS=40

export HOME="$T/home"
mkdir -p "$HOME"
cat > "$HOME/.asoundrc" <<EOT
pcm.!default { type file; slave.pcm "null"; file "/dev/null"; format "raw" }
EOT

# The transport's time, mm:ss.t
now_playing_time() {
	screen | sed -nE 's/.*(PLAYING|PAUSED) +([0-9]+:[0-9][0-9]\.[0-9]).*/\2/p' | head -n 1
}

# The demo is measured: three sources ready with a loudness, and the
# processed mix ("after") measured.
MEASURED_REF2='REF 2 .* ready +-[0-9]+\.[0-9]'
MEASURED_AFTER='MIX after .* ready +-[0-9]+\.[0-9]'

# ---- 0. a mix that cannot be opened ----

start LANG=C.UTF-8 LC_ALL=C.UTF-8 -- --no-device "'$T/no such mix.wav'"
if ! wait_exit 10; then
	screen | sed 's/^/  | /' >&2
	fail "an unopenable mix: termaster did not end"
else
	if [ "$status" = 2 ]; then
		ok
	else
		fail "an unopenable mix: exit status $status, expected 2"
	fi
	if grep -q "^termaster: $T/no such mix.wav: ." "$T/stderr.txt"; then
		ok
	else
		fail "an unopenable mix: expected 'termaster: PATH: reason', got '$(cat "$T/stderr.txt")'"
	fi
fi
tm kill-server >/dev/null 2>&1

# ---- 1. UTF-8, colour, null driver ----

start LANG=C.UTF-8 LC_ALL=C.UTF-8 NO_COLOR= -- --demo --no-device
if ! wait_for 15 "$MEASURED_REF2" || ! wait_for 5 "$MEASURED_AFTER"; then
	alive "UTF-8 run"
	screen | sed 's/^/  | /' >&2
	fail "the demo's sources were not measured within 20 s"
	finish
fi
check "the mix is measured before processing" 'MIX before .* ready +-[0-9]+\.[0-9]'
check "REF 1 shows its loudness" 'REF 1 .* ready +-[0-9]+\.[0-9]'
check "the title names the output" '^ *termaster .*no audio device'
check "match is on by default" 'Match: ON'
check "the key help line" 'space play .*Tab A/B .*q quit'
check "paused at the start" 'PAUSED +00:00\.0 / 00:32\.0'
if tm capture-pane -p -e -t tm | grep -q "$(printf '\033')\[[0-9;]*3[1-6]m"; then
	ok
else
	fail "no colours although NO_COLOR is empty and the terminal has them"
fi

tm send-keys -t tm Space
check "space starts playback" 'PLAYING'
t1=$(now_playing_time)
sleep 1.2
t2=$(now_playing_time)
if [ -z "$t1" ] || [ "$t1" = "$t2" ]; then
	fail "the time does not advance while playing ('$t1' then '$t2')"
else
	ok
fi

tm send-keys -t tm 1
check "1 plays REF 1" '^ *A/B +REF 1 '
check "the list marks REF 1" '^ *▶ +1 +REF 1'
tm send-keys -t tm 0
check "0 plays the mix" '^ *A/B +MIX .* AFTER'
tm send-keys -t tm Tab
check "Tab goes to the last reference" '^ *A/B +REF 1 '
tm send-keys -t tm Tab
check "Tab comes back to the mix" '^ *A/B +MIX .* AFTER'
tm send-keys -t tm 7
check "7 without a REF 7 says so" 'no REF 7'
tm send-keys -t tm b
check "b bypasses" 'MIX .* BEFORE .* BYPASS'
tm send-keys -t tm b
check "b again leaves bypass" '^ *A/B +MIX .* AFTER'
tm send-keys -t tm L
check "L turns matching off" 'Match: OFF'
tm send-keys -t tm L
check "L turns it on again" 'Match: ON'

tm send-keys -t tm '\'
check "loop on without a region explains" 'no loop region'
tm send-keys -t tm Home
tm send-keys -t tm '['
sleep 1.2
tm send-keys -t tm ']'
check "[ and ] set a region" 'Loop: OFF +00:0[0-9]\.[0-9] .+ 00:0[0-9]\.[0-9]'
tm send-keys -t tm '\'
check "\\ turns looping on" 'Loop: ON'

tm send-keys -t tm Space
check "space pauses" 'PAUSED'

tm send-keys -t tm '?'
check "? opens the help" 'close this help'
tm send-keys -t tm '?'
check_gone "? again closes it" 'close this help'

tm resize-window -t tm -x 70 -y 20
check "a small window asks for 80x24" 'needs at least 80.+24 \(now 70.+20\)'
tm send-keys -t tm 1
check_gone "keys other than q do nothing while too small" '^ *A/B'
tm resize-window -t tm -x 120 -y 40
check "back to 120x40: the full screen" 'Match: ON'
check_gone "no more size message" 'needs at least'
check "still on the mix after the resize" '^ *A/B +MIX .* AFTER'

tm send-keys -t tm q
if ! wait_exit 5; then
	fail "q did not end termaster"
elif [ "$status" != 0 ]; then
	sed 's/^/  stderr: /' "$T/stderr.txt" >&2
	fail "q: exit status $status, expected 0"
else
	ok
fi
tm kill-server >/dev/null 2>&1
sleep 0.2

# ---- 2. NO_COLOR, C locale, the ALSA file device ----

start LANG=C LC_ALL=C NO_COLOR=1 -- --demo
if ! wait_for 15 "$MEASURED_REF2"; then
	alive "NO_COLOR run"
	screen | sed 's/^/  | /' >&2
	fail "NO_COLOR/C locale: the demo was not measured within 15 s"
	finish
fi
check "NO_COLOR: the screen works" 'Match: ON'
check "NO_COLOR: the title names the output" '^ *termaster \| .+ \| session 48000 Hz'
tm send-keys -t tm Space
# a clocked device plays on; the unclocked ALSA null one is at the end at once
check "NO_COLOR: playing" '^ *> PLAYING|^ *\|\| PAUSED +00:32\.0 / 00:32\.0'
check "ASCII meters in the C locale" '^ *Momentary +[.#=]{40}'
check "ASCII keys in the C locale" '<-/-> seek'
if tm capture-pane -p -e -t tm | grep -q "$(printf '\033')\[[0-9;]*[34][0-7]m"; then
	fail "NO_COLOR=1 but the screen has colours"
else
	ok
fi
if screen | LC_ALL=C grep -q "$(printf '[\200-\377]')"; then
	screen | LC_ALL=C grep -n "$(printf '[\200-\377]')" | head -n 3 >&2
	fail "the C locale got non-ASCII characters"
else
	ok
fi
tm send-keys -t tm C-c
if ! wait_exit 5; then
	fail "Ctrl-C did not end termaster"
elif [ "$status" != 0 ]; then
	sed 's/^/  stderr: /' "$T/stderr.txt" >&2
	fail "Ctrl-C: exit status $status, expected 0"
else
	ok
fi

finish

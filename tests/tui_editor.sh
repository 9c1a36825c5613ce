#!/bin/sh
# The workstation screen of issue 6 in a real terminal (tmux, 80x24, its own
# server socket): the chain editor changes a parameter, the status shows
# it, `w` saves it and a render of the saved session has the loudness the
# change implies; snapshots, undo and redo; the render dialog writes what
# `termaster render --session` writes, byte for byte; save as, reopen and
# save again gives the same file; after a crash (kill -9) the next start
# offers the autosaved settings back.
. "$top_srcdir/tests/lib.sh"

command -v tmux >/dev/null 2>&1 || skip "tmux is not installed"

SOCK="termaster-t6-$$"
. "$top_srcdir/tests/tmux.sh"
CHECK_S=5

export HOME="$T/home"
export XDG_STATE_HOME="$T/state"
mkdir -p "$HOME" "$T/mix"
RECOVERY="$XDG_STATE_HOME/termaster/recovery.session"

# quiet enough that +3 dB never reaches the limiter: the gain shows in the
# loudness one for one
"$GEN_SIGNAL" "$T/mix/song.wav" --kind music --seconds 6 --rate 48000 --channels 2 --amp-db -20 \
	--format wav24 || fail "cannot generate the mix"
MIX="$T/mix/song.wav"
SESSION="$T/mix/song.tms"

keys() {
	tm send-keys -t tm "$@"
	sleep 0.2
}

lufs() {  # FILE: integrated loudness, three decimals
	"$TERMASTER" analyze --json "$1" | sed -nE 's/.*"integrated_lufs": ([-0-9.]+).*/\1/p'
}

# ---- 1. edit a parameter in the editor, save, render ----
start --no-device "$MIX"
check "the screen starts" "PAUSED"
keys e
check "e opens the chain editor" "Chain editor"
keys j          # Input gain -> its Gain row
keys L L        # coarse: +1 dB each
check "coarse steps" "gain\.gain_db = 2\.0 dB"
keys Enter
keys 2 . 5 Enter
check "a typed value" "gain\.gain_db = 2\.5 dB"
keys l l h
check "fine steps" "gain\.gain_db = 2\.6 dB"
keys h
check "back to the typed value" "gain\.gain_db = 2\.5 dB"
keys Enter
keys 9 9 Enter
check "a value out of range is refused on screen" "99 is out of range"
keys w
check "w saves the session" "session saved: .*song\.tms"
grep -q '^gain\.gain_db = 2\.5$' "$SESSION" && ok || fail "the session does not hold gain.gain_db = 2.5"

# snapshots and undo
keys F5
check "F5 stores snapshot A" "snapshot A stored"
keys L L L L L    # +5 dB from 2.5
check "moved away from A" "gain\.gain_db = 7\.5 dB"
keys F6
check "F6 stores snapshot B" "snapshot B stored"
keys F1
check "F1 recalls A" "gain\.gain_db = 2\.5 dB"
check "the bar marks A" "\[A\]"
keys x
check "x switches to the next snapshot (B)" "gain\.gain_db = 7\.5 dB"
keys u
check "u undoes the switch" "gain\.gain_db = 2\.5 dB"
keys U
check "U redoes it" "gain\.gain_db = 7\.5 dB"
keys C-r
check "nothing more to redo" "gain\.gain_db = 7\.5 dB"
keys u
check "undo the switch again" "gain\.gain_db = 2\.5 dB"
keys u
check "undo the recall of A" "gain\.gain_db = 7\.5 dB"
keys u
check "undo the held key's five steps as one" "gain\.gain_db = 2\.5 dB"
keys F2
check "F2 recalls B" "gain\.gain_db = 7\.5 dB"

# the render dialog: the current chain (gain 7.5) to song-master.wav
keys w
check "saved again" "session saved"
keys Escape
keys R
check "R opens the render dialog" "Render the master"
check "the dialog offers a file name" "song-master\.wav"
keys Enter Enter
check "the render ends with its loudness and true peak" "WAV 24-bit 48000 Hz, .* LUFS, .* true peak .* dBTP"
check "the dialog names the file written" "written: .*song-master\.wav"
keys Escape
keys q
wait_exit 10
[ "$status" = 0 ] && ok || fail "q: exit status $status"
[ ! -e "$RECOVERY" ] && ok || fail "a clean exit leaves the recovery file behind"

"$TERMASTER" render --session "$SESSION" -o "$T/cli.wav" --quiet && ok || fail "render --session failed"
cmp -s "$T/cli.wav" "$T/mix/song-master.wav" && ok ||
	fail "the dialog's render differs from termaster render --session"
"$TERMASTER" render "$MIX" -o "$T/flat.wav" --quiet && ok || fail "render of the mix failed"
a=$(lufs "$T/mix/song-master.wav")
b=$(lufs "$T/flat.wav")
d=$(awk -v a="$a" -v b="$b" 'BEGIN { d = a - b - 7.5; if (d < 0) d = -d; print (d <= 0.1) ? "ok" : "no" }')
[ "$d" = ok ] && ok || fail "gain +7.5 dB should render 7.5 LU louder: $a vs $b LUFS"
echo "render: $a LUFS with gain.gain_db 7.5, $b LUFS without"

# ---- 2. reopen, save as, identical ----
start --no-device --session "$SESSION"
check "the session opens" "PAUSED"
keys W
check "W asks for a path" "save session as:"
keys C-u
tm send-keys -t tm -l "$T/mix/again.tms"
keys Enter
check "saved as" "session saved: .*again\.tms"
keys q
wait_exit 10
[ "$status" = 0 ] && ok || fail "q after save as: exit status $status"
cmp -s "$SESSION" "$T/mix/again.tms" && ok || {
	diff "$SESSION" "$T/mix/again.tms" | head -20 >&2
	fail "save, quit, reopen, save as: the session files differ"
}
grep -q '^\[snapshot A\]$' "$SESSION" && grep -q '^\[snapshot B\]$' "$SESSION" && ok ||
	fail "the snapshots are not in the session file"

# ---- 3. a crash, then recovery ----
start --no-device --session "$SESSION"
check "the session opens again" "PAUSED"
keys e j l
check "one more step" "gain\.gain_db = 7\.6 dB"
n=0
saved_gain() {  # the autosaved gain.gain_db, or nothing
	sed -n 's/^gain\.gain_db = //p' "$RECOVERY" 2>/dev/null | head -n 1
}
is_76() {
	awk -v v="$(saved_gain)" 'BEGIN { exit !(v != "" && v - 7.6 < 0.001 && 7.6 - v < 0.001) }'
}
while [ $n -lt 80 ] && ! is_76; do
	sleep 0.1
	n=$((n + 1))
done
is_76 && ok || fail "no autosave of gain.gain_db 7.6 within 8 s (got '$(saved_gain)')"
kill -9 "$(cat "$T/pid")"
wait_exit 10
[ -e "$RECOVERY" ] && ok || fail "the recovery file is gone after a crash"
start --no-device "$MIX"
check "the next start offers to recover" "Recover\?"
keys r
check "recovered" "recovered the settings"
keys e
check "the recovered setting" "Gain +7\.6 dB"
keys q
wait_exit 10
[ "$status" = 0 ] && ok || fail "q after recovery: exit status $status"

finish

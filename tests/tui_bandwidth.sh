#!/bin/sh
# Over SSH: what the screen writes to the terminal while it plays with the
# meters running, measured with tmux pipe-pane at 80x24 in the C locale
# (ASCII), with TERM=vt100 and NO_COLOR; at most 16 KB/s (issue 6), in the
# main view and in the chain editor (its graphs and gain-reduction
# readings).  Also: nothing but 7-bit ASCII reaches the terminal, and no
# colour escape.  The null driver is clocked in real time, so the meters
# move as they would on a sound card.
. "$top_srcdir/tests/lib.sh"

command -v tmux >/dev/null 2>&1 || skip "tmux is not installed"
infocmp vt100 >/dev/null 2>&1 || skip "no terminfo entry for vt100"

LIMIT=16384      # bytes per second
SECONDS_EACH=5

SOCK="termaster-bw-$$"
. "$top_srcdir/tests/tmux.sh"
CHECK_S=10

export HOME="$T/home"
export XDG_STATE_HOME="$T/state"
mkdir -p "$HOME"
"$GEN_SIGNAL" "$T/mix.wav" --kind music --seconds 60 --rate 48000 --channels 2 --amp-db -6 \
	--format wav24 || fail "cannot generate the mix"
"$GEN_SIGNAL" "$T/ref.wav" --kind noise --seconds 60 --rate 48000 --channels 2 --amp-db -12 \
	--format wav24 || fail "cannot generate the reference"

cat > "$T/run.sh" <<EOT
#!/bin/sh
( sleep 90; [ -f "$T/pid" ] && kill -TERM "\$(cat "$T/pid")" ) 2>/dev/null &
env LANG=C LC_ALL=C TERM=vt100 NO_COLOR=1 sh -c 'echo \$\$ > "$T/pid"; exec "\$0" "\$@"' \
	"$TERMASTER" --no-device "$T/mix.wav" "$T/ref.wav" 2> "$T/stderr.txt"
echo \$? > "$T/status"
rm -f "$T/pid"
EOT
tm new-session -d -s tm -x 80 -y 24 "sh '$T/run.sh'" || skip "tmux cannot start a session here"

check "the screen starts (ASCII: '||' for paused)" "\|\| PAUSED"
# both sources measured before measuring the traffic
n=0
while [ $n -lt 200 ] && screen | grep -q 'working'; do
	sleep 0.1
	n=$((n + 1))
done
tm send-keys -t tm space
check "playing" "> PLAYING"

# measure BYTES-FILE: bytes per second over SECONDS_EACH
measure() {
	rm -f "$1"
	tm pipe-pane -t tm -o "cat >> '$1'"
	sleep $SECONDS_EACH
	tm pipe-pane -t tm
	sleep 0.2
	bytes=$(wc -c < "$1" 2>/dev/null || echo 0)
	rate=$((bytes / SECONDS_EACH))
}

measure "$T/main.bytes"
main_rate=$rate
screen | grep -Eq 'Momentary +.*[0-9]+\.[0-9] LUFS' && ok || {
	screen | sed 's/^/  | /' >&2
	fail "the momentary meter shows no reading while playing"
}
[ "$bytes" -gt 0 ] && ok || fail "pipe-pane captured nothing (the meters do not move?)"
[ "$main_rate" -le $LIMIT ] && ok || fail "main view: $main_rate bytes/s, more than $LIMIT"

tm send-keys -t tm e
check "the chain editor" "Chain editor"
# the limiter's gain reduction moves: drive it
tm send-keys -t tm j L L L L L L L L L L
measure "$T/editor.bytes"
editor_rate=$rate
[ "$editor_rate" -le $LIMIT ] && ok || fail "editor: $editor_rate bytes/s, more than $LIMIT"
check "still playing" "> PLAYING"

# ASCII only, no colour (SGR 30-37/40-47/38;5/48;5)
cat "$T/main.bytes" "$T/editor.bytes" > "$T/all.bytes"
if LC_ALL=C grep -q '[^[:print:][:cntrl:]]' "$T/all.bytes"; then
	fail "bytes outside 7-bit ASCII reached the terminal"
else
	ok
fi
if LC_ALL=C grep -Eq "$(printf '\033')\[([0-9;]*;)?(3[0-7]|4[0-7]|38;5|48;5)(;[0-9;]*)?m" "$T/all.bytes"; then
	fail "a colour escape reached the terminal under NO_COLOR"
else
	ok
fi

tm send-keys -t tm Escape q
n=0
while [ $n -lt 100 ] && [ ! -f "$T/status" ]; do
	sleep 0.1
	n=$((n + 1))
done
[ "$(cat "$T/status" 2>/dev/null)" = 0 ] && ok || fail "q: exit status $(cat "$T/status" 2>/dev/null)"
echo "bytes to the terminal at 80x24, LANG=C TERM=vt100 NO_COLOR, playing:" \
	"main view $main_rate B/s, chain editor $editor_rate B/s (limit $LIMIT)"
finish

#!/bin/sh
# End to end on a clocked back end: the JACK dummy driver at 48 kHz.
#
# A 44.1 kHz mix cannot run on a 48 kHz JACK server: termaster must open
# the nearest rate the device runs, resample every source to it, say so,
# and then play in real time (wait counts audio time, which here is also
# wall time).  Stops only the server it started, by its process id.
. "$top_srcdir/tests/lib.sh"

command -v jackd >/dev/null 2>&1 || skip "jackd is not installed"

export JACK_DEFAULT_SERVER="termaster-test-$$"
export JACK_NO_AUDIO_RESERVATION=1
jackd --no-realtime -d dummy -r 48000 -p 256 > "$T/jackd.log" 2>&1 &
JACKPID=$!
trap 'kill $JACKPID 2>/dev/null; wait $JACKPID 2>/dev/null; chmod -R u+rwx "$T" 2>/dev/null; rm -rf "$T"' EXIT

up=0
for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
	if "$TERMASTER" --list-devices 2>/dev/null | grep -q 'JACK Audio'; then
		up=1
		break
	fi
	kill -0 $JACKPID 2>/dev/null || break
	sleep 0.5
done
[ $up = 1 ] || { cat "$T/jackd.log" >&2; skip "the JACK dummy server did not come up"; }

"$GEN_SIGNAL" "$T/mix.wav" --kind music --seconds 6 --rate 44100 --channels 2 --amp-db -6 --format wav24 ||
	fail "cannot generate the mix"
"$GEN_SIGNAL" "$T/ref.wav" --kind sine --freq 1000 --seconds 6 --rate 44100 --channels 2 --amp-db -12 --format wav24 ||
	fail "cannot generate the reference"

printf 'play\nwait 1\nsource ref 1\nwait 1\nstatus\nquit\n' > "$T/script.txt"
start=$(date +%s.%N)
"$TERMASTER" --headless --commands "$T/script.txt" --device 'JACK Audio' \
	"$T/mix.wav" "$T/ref.wav" > "$T/status.json" 2> "$T/stderr.txt"
rc=$?
end=$(date +%s.%N)
[ $rc = 0 ] && ok || { cat "$T/stderr.txt" >&2; fail "headless run on JACK failed ($rc)"; }

grep -q 'cannot run 44100 Hz: playing at 48000 Hz' "$T/stderr.txt" && ok ||
	fail "no notice of the rate fallback: $(cat "$T/stderr.txt")"
grep -q '"rate": 48000' "$T/status.json" && ok || fail "status rate is not 48000: $(cat "$T/status.json")"
grep -q '"device": "JACK Audio Connection Kit: ' "$T/status.json" && ok ||
	fail "not playing on JACK: $(cat "$T/status.json")"
grep -q '"source": "ref 1"' "$T/status.json" && ok || fail "status does not report ref 1"
# position after play, wait 1, wait 1: 2 s of audio at the session rate
pos=$(sed -n 's/.*"position_s": \([0-9.]*\).*/\1/p' "$T/status.json")
awk -v p="$pos" 'BEGIN { exit !(p >= 1.99 && p <= 2.01) }' && ok || fail "position $pos s, want 2.00"
# a clocked device: 2 s of audio take at least ~2 s of wall time
awk -v s="$start" -v e="$end" 'BEGIN { exit !(e - s >= 1.9) }' && ok ||
	fail "2 s of audio played in $(awk -v s="$start" -v e="$end" 'BEGIN { print e - s }') s: not clocked"
xr=$(sed -n 's/.*"xruns": \([0-9]*\).*/\1/p' "$T/status.json")
echo "xruns reported on JACK dummy: ${xr:-?}"
done_tests

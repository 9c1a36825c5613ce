#!/bin/sh
# Snapshot compare, heard: through PortAudio on the ALSA file plugin (as
# tests/e2e_alsa.sh), a headless script stores snapshot A (the chain as it
# is) and B (input gain -6 dB), plays A for 3 s and recalls B.  The
# capture (tests/e2e_check.c) must switch within a buffer and the
# crossfade of where B was recalled, without a step larger than the
# crossfade allows; with matching off the two segments differ by what the
# two renders differ (6 dB) and A equals its render sample for sample; with
# matching on they are within 0.1 LU (each snapshot is measured when it is
# stored, so the recall is matched at once; the check takes each segment
# from 0.5 s after its start).  With matching on only the loudness is
# checked ("simmatch"): the chain's gain glides (one-pole, 10 ms) while the
# match trim that holds the level ramps linearly over 10 ms, so for some
# 20 ms after the switch the level swells by up to 2.7 dB, more than the
# step bound made for a source switch allows.
. "$top_srcdir/tests/lib.sh"

RATE=48000
BUF=256
export HOME="$T/home"
mkdir -p "$HOME"
cat > "$HOME/.asoundrc" <<EOT
pcm.!default { type file; slave.pcm "null"; file "$T/capture.raw"; format "raw" }
EOT

if ! "$TERMASTER" --list-devices 2>/dev/null | grep -q 'default'; then
	skip "PortAudio sees no ALSA 'default' device (ALSA file plugin unavailable)"
fi

"$GEN_SIGNAL" "$T/mix.wav" --kind noise --seconds 8 --rate $RATE --channels 2 --amp-db -20 --format wav32f ||
	fail "cannot generate the mix"
"$TERMASTER" render "$T/mix.wav" -o "$T/a.wav" --bits 32 --quiet || fail "render A failed"
"$TERMASTER" render "$T/mix.wav" -o "$T/b.wav" --bits 32 --set gain.gain_db=-6 --quiet ||
	fail "render B failed"

run() {  # $1 = match on|off, $2 = check mode
	rm -f "$T/capture.raw"
	cat > "$T/script.txt" <<EOT
snapshot store A
set gain.gain_db -6
snapshot store B
snapshot recall A
match $1
play
wait 3
snapshot recall B
wait 3
status
quit
EOT
	if ! "$TERMASTER" --headless --commands "$T/script.txt" --device default --buffer $BUF \
		"$T/mix.wav" > "$T/status-$2.json" 2> "$T/stderr-$2.txt"; then
		cat "$T/stderr-$2.txt" >&2
		fail "headless run ($2) failed"
		return
	fi
	grep -q '"snapshot": "B"' "$T/status-$2.json" && ok || fail "status does not report snapshot B ($2)"
	grep -q '"snapshots": "AB--"' "$T/status-$2.json" && ok || fail "status does not list A and B ($2)"
	grep -q 'null output' "$T/status-$2.json" && fail "played to the null driver, not the device"
	if "$E2E_CHECK" "$T/capture.raw" $RATE "$T/a.wav" "$T/b.wav" 3 6 $BUF "$2" > "$T/check-$2.txt"; then
		ok
	else
		cat "$T/check-$2.txt" >&2
		fail "capture check failed ($2)"
	fi
	grep -E 'segments|switch' "$T/check-$2.txt"
}

run off nomatch
run on simmatch
done_tests

#!/bin/sh
# Snapshot compare, heard: through PortAudio on the ALSA file plugin (as
# tests/e2e_alsa.sh), a headless script stores snapshot A and B (A plus
# some parameters), plays A for 3 s and recalls B.  The capture is checked
# by tests/e2e_check.c against renders of A and B.
#
# Matching off ("nomatch", B = input gain -6 dB): the change is heard
# within a buffer and the crossfade of where B was recalled, without a
# step larger than the crossfade allows; the two segments differ by what
# the two renders differ (6 dB) and A equals its render sample for sample.
#
# Matching on ("transient=DB"): each snapshot is measured when it is
# stored, so the recall is matched at once, and it must be heard without a
# swell or dip of level: the segments are within 0.1 LU, and across the
# recall the level in 5 ms windows stays between A's and B's matched
# levels over the same frames (comparing with the renders' same frames
# cancels the noise's own fluctuation in a short window), within DB.
# DB = 0.1 dB: the tolerance a fair comparison is matched to (DESIGN.md,
# "A/B"): the transient must not exceed what matching itself allows.
# Two recalls: input gain -6 dB (the match gain undoes it sample for
# sample: 0.0013 dB left), and a high shelf's gain +6 dB (the match gain
# glides as the EQ's gain does, 20 ms: 0.006 dB left).  Before the match
# gain went with the parameters (it ramped over 10 ms at once, while the
# chain took the new parameters a latency, 11.6 ms, later and glided
# them): +5.94 dB at 11.5 ms after the recall, and -5.67 dB at 12.5 ms.
. "$top_srcdir/tests/lib.sh"

RATE=48000
BUF=256
alsa_capture

"$GEN_SIGNAL" "$T/mix.wav" --kind noise --seconds 8 --rate $RATE --channels 2 --amp-db -20 --format wav32f ||
	fail "cannot generate the mix"

# run NAME MATCH MODE "A's KEY=VALUE …" "B's further KEY=VALUE …"
run() {
	sa="" ca="" sb="" cb=""
	for kv in $4; do
		sa="$sa --set $kv"
		ca="$ca
set ${kv%%=*} ${kv#*=}"
	done
	for kv in $5; do
		sb="$sb --set $kv"
		cb="$cb
set ${kv%%=*} ${kv#*=}"
	done
	# shellcheck disable=SC2086  # the --set options split on purpose
	"$TERMASTER" render "$T/mix.wav" -o "$T/a-$1.wav" --bits 32 $sa --quiet ||
		fail "render A ($1) failed"
	# shellcheck disable=SC2086
	"$TERMASTER" render "$T/mix.wav" -o "$T/b-$1.wav" --bits 32 $sa $sb --quiet ||
		fail "render B ($1) failed"
	rm -f "$T/capture.raw"
	cat > "$T/script.txt" <<EOT
$ca
snapshot store A
$cb
snapshot store B
snapshot recall A
match $2
play
wait 3
snapshot recall B
wait 3
status
quit
EOT
	if ! "$TERMASTER" --headless --commands "$T/script.txt" --device default --buffer $BUF \
		"$T/mix.wav" > "$T/status-$1.json" 2> "$T/stderr-$1.txt"; then
		cat "$T/stderr-$1.txt" >&2
		fail "headless run ($1) failed"
		return
	fi
	grep -q '"snapshot": "B"' "$T/status-$1.json" && ok || fail "status does not report snapshot B ($1)"
	grep -q '"snapshots": "AB--"' "$T/status-$1.json" && ok || fail "status does not list A and B ($1)"
	grep -q 'null output' "$T/status-$1.json" && fail "played to the null driver, not the device"
	if "$E2E_CHECK" "$T/capture.raw" $RATE "$T/a-$1.wav" "$T/b-$1.wav" 3 6 $BUF "$3" \
		> "$T/check-$1.txt"; then
		ok
	else
		cat "$T/check-$1.txt" >&2
		fail "capture check failed ($1)"
	fi
	echo "$1:"
	grep -E "segments|switch|gains|level|RMS" "$T/check-$1.txt"
}

run gain-nomatch off nomatch "" "gain.gain_db=-6"
run gain-match on transient=0.1 "" "gain.gain_db=-6"
# an EQ gain (a high shelf already on): the match gain glides as the
# EQ's gain does (20 ms)
run shelf-match on transient=0.1 "eq.7.on=1 eq.7.type=2 eq.7.freq_hz=2000" "eq.7.gain_db=6"
done_tests

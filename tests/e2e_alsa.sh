#!/bin/sh
# End to end through PortAudio on the ALSA file plugin: what termaster plays
# lands in a raw float file, which tests/e2e_check.c examines.
#
# A headless script plays the mix 3 s, then a reference 3 s.  With matching
# on, the two segments must be within 0.1 LU; with it off, differ by their
# true difference, and the mix segment must equal the float render of the
# same chain (live equals render).  Then each match method (integrated,
# region, riding, and a manual trim) switches from the mix to a reference,
# and the capture must show the two matched by that method's measure (for
# region and riding, a reference whose loudness changes, which the
# integrated method would leave 4-6 LU off).
. "$top_srcdir/tests/lib.sh"

RATE=48000
BUF=256
alsa_capture

"$GEN_SIGNAL" "$T/mix.wav" --kind noise --seconds 8 --rate $RATE --channels 2 --amp-db -20 --format wav32f ||
	fail "cannot generate the mix"
"$GEN_SIGNAL" "$T/ref.wav" --kind sine --freq 440 --seconds 8 --rate $RATE --channels 2 --amp-db -6 --format wav32f ||
	fail "cannot generate the reference"
# the processed mix as the offline renderer makes it (float, no dither)
"$TERMASTER" render "$T/mix.wav" -o "$T/after.wav" --bits 32 --set gain.gain_db=20 --quiet ||
	fail "render failed"

# play REF AFTER MODE STATUS COMMANDS: the commands, then the mix for 3 s,
# a switch to REF for 3 s and the status into STATUS, captured on the
# device and checked against AFTER (the mix as rendered) in check MODE
play() {
	rm -f "$T/capture.raw"
	cat > "$T/script.txt" <<EOT
$5
play
wait 3
source ref 1
wait 3
status
quit
EOT
	if ! "$TERMASTER" --headless --commands "$T/script.txt" --device default --buffer $BUF \
		"$T/mix.wav" "$1" > "$4" 2> "$T/stderr-$3.txt"; then
		cat "$T/stderr-$3.txt" >&2
		fail "headless run ($3: $5) failed"
		return 1
	fi
	"$E2E_CHECK" "$T/capture.raw" $RATE "$2" "$1" 3 6 $BUF "$3" ||
		fail "capture check failed ($3: $5)"
}

run() {  # $1 = match on|off, $2 = check mode, $3 = extra commands
	play "$T/ref.wav" "$T/after.wav" "$2" "$T/status-$2.json" "set gain.gain_db 20
match $1
${3:-}" || return
	grep -q '"source": "ref 1"' "$T/status-$2.json" || fail "status does not report ref 1 ($2)"
	grep -q 'null output' "$T/status-$2.json" && fail "played to the null driver, not the device"
}

run on match
run off nomatch
# A/B through a simulated phone (mono, no bass) at a listening level in the
# speaker's linear range: matched as heard on the device
run on simmatch "system phone
level -40"
# band solo 250-500 Hz (the reference's 440 Hz tone is inside): matched
# within the band
run on simmatch "bandsolo 3"

# Match methods (issue 4), each checked by its own measure on the capture.
# The stepped references are 12 dB louder for a short stretch outside what
# plays: their integrated loudness is set by that stretch, so only the
# region and riding methods match the quiet part that plays after the
# switch.  (A loop set moves the playhead into it, so the region's
# reference is loud at its end, outside the loop 0-6.5 s; riding's is loud
# in its first second, long before the switch.)  The mix plays through
# the default chain (rendered alike for the check).
"$E2E_CHECK" --gen-step "$T/step.wav" $RATE 8 440 -12 1 -24 &&
	"$E2E_CHECK" --gen-step "$T/step2.wav" $RATE 8 440 -24 6.5 -12 ||
	fail "cannot generate the stepped references"
"$TERMASTER" render "$T/mix.wav" -o "$T/after0.wav" --bits 32 --quiet || fail "render (default chain) failed"
run_method() {  # $1 = reference, $2 = check mode, $3 = commands before play
	play "$1" "$T/after0.wav" "$2" "$T/status-m.json" "$3"
}
run_method "$T/ref.wav" match "match integrated"
run_method "$T/step2.wav" match "match region
loop 0 6.5"
run_method "$T/step.wav" riding "match riding"
run_method "$T/ref.wav" trim=3 "match integrated
trim 1 3"
grep -q '"match_method": "integrated"' "$T/status-m.json" || fail "status does not report the method"
grep -q '"trim_db": 3.000' "$T/status-m.json" || fail "status does not report the trim"

done_tests

#!/bin/sh
# The headless reader's issue-6 commands: snapshot store/recall/copy, undo,
# redo, render OUT [options] (the same bytes as `termaster render
# --session`), open SESSION (another mix), and their errors: one line
# "termaster: SCRIPT:LINE: reason", exit status 2.
. "$top_srcdir/tests/lib.sh"

"$GEN_SIGNAL" "$T/a.wav" --kind music --seconds 3 --rate 48000 --channels 2 --amp-db -20 --format wav24 ||
	fail "cannot generate mix a"
"$GEN_SIGNAL" "$T/b.wav" --kind noise --seconds 2 --rate 44100 --channels 2 --amp-db -20 --format wav24 ||
	fail "cannot generate mix b"

hl() {  # SCRIPT-TEXT ARGS...: run a script; stdout in $T/out, stderr in $T/err, $rc
	printf '%s\n' "$1" > "$T/script.txt"
	shift
	"$TERMASTER" --headless --no-device --commands "$T/script.txt" "$@" > "$T/out" 2> "$T/err"
	rc=$?
	grep -v 'no audio device' "$T/err" > "$T/err2"
	mv "$T/err2" "$T/err"
}

field() {  # KEY: from the last status line
	grep '^{' "$T/out" | tail -n 1 | sed -nE "s/.*\"$1\": (\"[^\"]*\"|[-0-9.a-z]+).*/\1/p"
}

# snapshots, undo, redo, status
hl 'set gain.gain_db 3
snapshot store A
set gain.gain_db -3
snapshot store B
snapshot copy A C
snapshot recall A
status
undo
status
redo
undo
undo
status
save '"$T/s.tms"'
quit' "$T/a.wav"
[ $rc = 0 ] && ok || { cat "$T/err" >&2; fail "the snapshot script failed ($rc)"; }
grep '^{' "$T/out" | sed -n 1p | grep -q '"snapshot": "A", "snapshot_is_current": true, "snapshots": "ABC-", "undo": 3, "redo": 0' &&
	ok || fail "status after recall A: $(grep '^{' "$T/out" | sed -n 1p | grep -o '"snapshot".*"redo": [0-9]*')"
grep '^{' "$T/out" | sed -n 2p | grep -q '"snapshot_is_current": false, "snapshots": "ABC-", "undo": 2, "redo": 1' &&
	ok || fail "status after undo"
grep '^{' "$T/out" | sed -n 3p | grep -q '"undo": 1, "redo": 2' && ok || fail "status after redo, undo, undo"
grep -q '^gain\.gain_db = 3$' "$T/s.tms" && ok || fail "undo, undo after redo: gain.gain_db is not 3 in the session"
grep -q '^\[snapshot C\]$' "$T/s.tms" && ok || fail "snapshot C is not saved"

# render: the same bytes as render --session
hl 'open '"$T/s.tms"'
render '"$T/r1.flac"' --bits 16 --target-lufs -20
quit' "$T/b.wav"
[ $rc = 0 ] && ok || { cat "$T/err" >&2; fail "open + render failed ($rc)"; }
grep -q "^$T/r1.flac: FLAC 16-bit 48000 Hz, -20.0 LUFS" "$T/out" && ok || fail "render line: $(cat "$T/out")"
grep -q "^$T/r1.flac: target -20.0 LUFS: input gain" "$T/out" && ok || fail "no target line"
"$TERMASTER" render --session "$T/s.tms" -o "$T/r2.flac" --bits 16 --target-lufs -20 --quiet &&
	ok || fail "render --session failed"
cmp -s "$T/r1.flac" "$T/r2.flac" && ok || fail "headless render differs from render --session"

# errors: the line, the reason, exit status 2
bad() {  # SCRIPT WORDS
	hl "$1" "$T/a.wav"
	[ $rc = 2 ] && ok || fail "'$1': exit status $rc, not 2"
	[ "$(wc -l < "$T/err")" = 1 ] && grep -q "^termaster: $T/script.txt:[0-9]*: .*$2" "$T/err" && ok ||
		fail "'$1': $(cat "$T/err")"
}
bad 'undo' 'undo: nothing to undo'
bad 'redo' 'redo: nothing to redo'
bad 'snapshot recall B' 'snapshot recall: B is empty'
bad 'snapshot store E' 'snapshot: expected store A-D'
bad 'snapshot copy A B' 'snapshot copy: A is empty'
bad 'snapshot' 'snapshot: expected'
bad 'open' 'open: expected SESSION'
bad "open $T/nope.tms" "open: $T/nope.tms: No such file"
bad "render" 'render: expected OUT'
bad "render $T/x.wav --bits 20" "--bits: '20' is not 16, 24 or 32"
bad "render $T/x.wav --max-gr-db 3" '--max-gr-db: only with --target-lufs'
bad "render $T/x.mp4" 'render: '
bad "render $T/x.wav --wobble" "unknown option '--wobble'"
[ ! -e "$T/x.wav" ] && ok || fail "a refused render wrote a file"
done_tests

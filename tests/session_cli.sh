#!/bin/sh
# Sessions through the program: a headless script sets parameters and
# saves; reopening the session gives the same parameters (the saved file
# again, byte for byte); `render --session` equals a render of the same
# mix with those parameters given by --set; a malformed session is
# refused with FILE:LINE and exit status 2.
. "$top_srcdir/tests/lib.sh"

mkdir -p "$T/mixes" "$T/proj"
"$GEN_SIGNAL" "$T/mixes/song.wav" --kind music --seconds 4 --rate 48000 --channels 2 --amp-db -6 --format wav24 ||
	fail "cannot generate the mix"
"$GEN_SIGNAL" "$T/mixes/ref.wav" --kind noise --seconds 4 --rate 48000 --channels 2 --amp-db -12 --format wav24 ||
	fail "cannot generate the reference"

cat > "$T/s1.txt" <<EOT
set gain.gain_db 5.5
set eq.3.on on
set eq.3.gain_db -2.25
set comp.on on
set limiter.ceiling_dbtp -1.5
monitor side
save $T/proj/a.tms
quit
EOT
"$TERMASTER" --headless --no-device --commands "$T/s1.txt" "$T/mixes/song.wav" "$T/mixes/ref.wav" \
	2> "$T/err1" > /dev/null && ok || { cat "$T/err1" >&2; fail "headless save failed"; }
grep -q '^path = \.\./mixes/song.wav$' "$T/proj/a.tms" && ok || fail "the mix path is not stored relative to the session"
grep -q '^monitor = side$' "$T/proj/a.tms" && ok || fail "the monitor mode is not saved"

# reopen and save again: the same file
printf 'save %s\nquit\n' "$T/proj/b.tms" > "$T/s2.txt"
"$TERMASTER" --headless --no-device --session "$T/proj/a.tms" --commands "$T/s2.txt" 2> "$T/err2" > /dev/null &&
	ok || { cat "$T/err2" >&2; fail "reopening the session failed"; }
cmp -s "$T/proj/a.tms" "$T/proj/b.tms" && ok || fail "save, reopen, save: the files differ"

# render --session == render with the same --set
"$TERMASTER" render --session "$T/proj/a.tms" -o "$T/r1.wav" --quiet && ok || fail "render --session failed"
"$TERMASTER" render "$T/mixes/song.wav" -o "$T/r2.wav" --quiet --set gain.gain_db=5.5 --set eq.3.on=on \
	--set eq.3.gain_db=-2.25 --set comp.on=on --set limiter.ceiling_dbtp=-1.5 && ok || fail "render --set failed"
cmp -s "$T/r1.wav" "$T/r2.wav" && ok || fail "render --session differs from the same settings by --set"

# malformed: exit 2 and FILE:LINE
printf 'version = 1\n[mix]\npath = x.wav\n[chain]\nlimiter.ceiling_dbtp = 3\n' > "$T/bad.tms"
"$TERMASTER" --headless --no-device --session "$T/bad.tms" --commands /dev/null 2> "$T/err3" > /dev/null
[ $? = 2 ] && ok || fail "a malformed session is not exit status 2"
grep -q "bad.tms:5: " "$T/err3" && ok || fail "no FILE:LINE in: $(cat "$T/err3")"
"$TERMASTER" render --session "$T/bad.tms" -o "$T/r3.wav" 2> "$T/err4"
[ $? = 2 ] && [ ! -e "$T/r3.wav" ] && ok || fail "render --session of a malformed session"
# the whole malformed corpus through the command line: each one exit 2,
# one message naming the file and its line, and no output written
n=0
for f in "$top_srcdir"/tests/sessions/*.tms; do
	"$TERMASTER" render --session "$f" -o "$T/corpus.wav" 2> "$T/errc"
	rc=$?
	if [ $rc = 2 ] && grep -q "^termaster: $f:[0-9][0-9]*: " "$T/errc" && [ ! -e "$T/corpus.wav" ]; then
		n=$((n + 1))
	else
		fail "$f: exit $rc, message: $(cat "$T/errc")"
	fi
done
[ $n -ge 30 ] && ok || fail "only $n malformed sessions in the corpus"
echo "malformed sessions refused with FILE:LINE and exit 2: $n"
done_tests

#!/bin/sh
# References on the command line: a folder adds every audio file in it,
# sorted by name (other files are passed over); a folder without audio
# is refused with its name and exit status 2.
. "$top_srcdir/tests/lib.sh"

mkdir -p "$T/refs" "$T/empty"
"$GEN_SIGNAL" "$T/mix.wav" --kind music --seconds 2 --rate 48000 --channels 2 --amp-db -6 --format wav24 ||
	fail "cannot generate the mix"
for n in b a c; do
	"$GEN_SIGNAL" "$T/refs/$n.wav" --kind sine --freq 1000 --seconds 1 --rate 48000 --channels 2 --amp-db -12 --format wav16 ||
		fail "cannot generate $n"
done
"$GEN_SIGNAL" "$T/refs/d.flac" --kind sine --freq 500 --seconds 1 --rate 44100 --channels 1 --amp-db -12 --format flac16 ||
	fail "cannot generate d"
echo "not audio" > "$T/refs/notes.txt"

printf 'status\nquit\n' > "$T/s.txt"
"$TERMASTER" --headless --no-device --commands "$T/s.txt" "$T/mix.wav" "$T/refs" > "$T/st.json" 2> "$T/err" &&
	ok || { cat "$T/err" >&2; fail "a folder of references was refused"; }
names=$(sed 's/.*"sources": \[\(.*\)\], "gain_reduction_db".*/\1/' "$T/st.json" | grep -o '"name": "[^"]*"' | tr '\n' ' ')
[ "$names" = '"name": "mix.wav" "name": "a.wav" "name": "b.wav" "name": "c.wav" "name": "d.flac" ' ] && ok ||
	fail "sources from the folder: $names"

"$TERMASTER" --headless --no-device --commands "$T/s.txt" "$T/mix.wav" "$T/empty" > /dev/null 2> "$T/err"
[ $? = 2 ] && ok || fail "an empty folder is not exit status 2"
grep -q "^termaster: $T/empty: a folder with no audio files in it$" "$T/err" && ok ||
	fail "empty folder message: $(cat "$T/err")"
done_tests

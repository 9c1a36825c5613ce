#!/bin/sh
# termaster — `termaster render` end to end.
#
#  - the same input and options give the same bytes (cmp)
#  - bad input ends with exit status 2 and one line "termaster: PATH: reason":
#    an existing output without --force, the output being the input, an
#    unknown extension, FLAC with --bits 32, bad --set (unknown parameter,
#    out of range, not a number), bad --bits/--rate, a missing input
#  - --force replaces an existing output, never the input
#  - --ceiling-dbtp -2 holds: the true peak `analyze --json` reports is at
#    most -1.9 dBTP
#  - --rate and --bits give what they say
#  - no temporary file is left in the output folder, after success, after
#    failure and after an interrupted render

. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

mix="$T/mix.wav"
"$GEN_SIGNAL" "$mix" --kind music --seconds 5 --rate 48000 --channels 2 --amp-db -6 --format wav24 ||
	{ echo "ERROR: gen_signal failed" >&2; exit 99; }
cp "$mix" "$T/mix.orig"
out="$T/dst"
mkdir "$out"

# only the named files may be in the output folder
check_folder() {
	_want=$1
	_msg=$2
	_have=$(cd "$out" && ls -A | tr '\n' ' ')
	if [ "$_have" = "$_want" ]; then
		ok
	else
		fail "$_msg: output folder holds '$_have', expected '$_want'"
	fi
}

# value of a number field in analyze --json output
json_field() {
	sed -n "s/.*\"$1\": *\(-\{0,1\}[0-9][0-9.]*\).*/\1/p" "$T/out" | head -n 1
}

# ---- determinism and the summary line ----
run "$TERMASTER" render "$mix" -o "$out/a.wav"
check_status 0 "render"
case $(cat "$T/out") in
"$out/a.wav: WAV 24-bit 48000 Hz, "*" LUFS, LRA "*" LU, true peak "*" dBTP") ok ;;
*) fail "summary line: $(cat "$T/out")" ;;
esac
run "$TERMASTER" render "$mix" -o "$out/b.wav" --quiet
check_status 0 "render again"
[ ! -s "$T/out" ] && [ ! -s "$T/err" ] && ok || fail "--quiet printed something"
if cmp -s "$out/a.wav" "$out/b.wav"; then ok; else fail "two renders differ"; fi
rm -f "$out/b.wav"
check_folder "a.wav " "after success"

# ---- an existing output ----
cp "$out/a.wav" "$T/a.copy"
run "$TERMASTER" render "$mix" -o "$out/a.wav" --set gain.gain_db=-6
check_status 2 "existing output without --force"
check_err_line "$out/a.wav" "--force" "existing output without --force"
if cmp -s "$out/a.wav" "$T/a.copy"; then ok; else fail "existing output was changed without --force"; fi
run "$TERMASTER" render "$mix" -o "$out/a.wav" --set gain.gain_db=-6 --force
check_status 0 "--force"
if cmp -s "$out/a.wav" "$T/a.copy"; then fail "--force did not replace the output"; else ok; fi

# ---- never the input ----
run "$TERMASTER" render "$mix" -o "$mix" --force
check_status 2 "output is the input"
check_err_line "$mix" "input" "output is the input"
here=$(pwd)
cd "$T" || exit 99
run "$TERMASTER" render mix.wav -o ./dst/../mix.wav --force
cd "$here" || exit 99
check_status 2 "output is the input, relative and other spelling"
check_err_line "./dst/../mix.wav" "input" "output is the input, relative and other spelling"
ln -s "$mix" "$out/link.wav"
run "$TERMASTER" render "$mix" -o "$out/link.wav" --force
check_status 2 "output is a symbolic link to the input"
rm -f "$out/link.wav"
if cmp -s "$mix" "$T/mix.orig"; then ok; else fail "the input was changed"; fi

# ---- formats and values ----
run "$TERMASTER" render "$mix" -o "$out/x.mp3"
check_status 2 "unknown extension"
check_err_line "$out/x.mp3" ".wav" "unknown extension"
run "$TERMASTER" render "$mix" -o "$out/x"
check_status 2 "no extension"
check_err_line "$out/x" ".flac" "no extension"
run "$TERMASTER" render "$mix" -o "$out/x.flac" --bits 32
check_status 2 "FLAC float"
check_err_line "$out/x.flac" "FLAC" "FLAC float"
run "$TERMASTER" render "$mix" -o "$out/x.wav" --set limiter.nonsense=1
check_status 2 "unknown parameter"
check_err_line "--set" "unknown parameter" "unknown parameter"
run "$TERMASTER" render "$mix" -o "$out/x.wav" --set limiter.ceiling_dbtp=3
check_status 2 "out of range"
check_err_line "--set" "out of range" "out of range"
run "$TERMASTER" render "$mix" -o "$out/x.wav" --set gain.gain_db=loud
check_status 2 "not a number"
check_err_line "--set" "not a number" "not a number"
run "$TERMASTER" render "$mix" -o "$out/x.wav" --set gain.gain_db
check_status 2 "no value"
check_err_line "--set" "ID=VALUE" "no value"
run "$TERMASTER" render "$mix" -o "$out/x.wav" --ceiling-dbtp -30
check_status 2 "--ceiling-dbtp out of range"
check_err_line "--ceiling-dbtp" "out of range" "--ceiling-dbtp out of range"
run "$TERMASTER" render "$mix" -o "$out/x.wav" --bits 20
check_status 2 "--bits 20"
check_err_line "--bits" "16, 24 or 32" "--bits 20"
run "$TERMASTER" render "$mix" -o "$out/x.wav" --rate 1000
check_status 2 "--rate 1000"
check_err_line "--rate" "sample rate" "--rate 1000"
run "$TERMASTER" render "$mix" -o "$out/x.wav" --bogus
check_status 2 "unknown option"
run "$TERMASTER" render "$mix"
check_status 2 "no -o"
run "$TERMASTER" render "$T/missing.wav" -o "$out/x.wav"
check_status 2 "missing input"
check_err_line "$T/missing.wav" "no such file" "missing input"
run "$TERMASTER" render "$mix" -o "$T/no/such/folder/x.wav"
check_status 2 "missing output folder"
check_err_line "$T/no/such/folder/x.wav" "No such file or directory" "missing output folder"
check_folder "a.wav " "after failures"

# ---- the ceiling holds; bits and rate ----
run "$TERMASTER" render "$mix" -o "$out/c.flac" --set gain.gain_db=12 --ceiling-dbtp -2 --bits 16
check_status 0 "--ceiling-dbtp -2"
case $(cat "$T/out") in
"$out/c.flac: FLAC 16-bit 48000 Hz, "*) ok ;;
*) fail "FLAC 16-bit summary: $(cat "$T/out")" ;;
esac
run "$TERMASTER" analyze --json "$out/c.flac"
check_status 0 "analyze the render"
tp=$(json_field true_peak_dbtp)
if [ -n "$tp" ] && awk -v tp="$tp" 'BEGIN { exit !(tp <= -1.9) }'; then
	ok
else
	fail "--ceiling-dbtp -2: true peak '$tp' dBTP is above -1.9"; cat "$T/out" >&2
fi
run "$TERMASTER" render "$mix" -o "$out/r.wav" --rate 44100
check_status 0 "--rate 44100"
case $(cat "$T/out") in
"$out/r.wav: WAV 24-bit 44100 Hz, "*) ok ;;
*) fail "--rate 44100 summary: $(cat "$T/out")" ;;
esac
run "$TERMASTER" analyze --json "$out/r.wav"
dur=$(json_field duration_s)
if [ -n "$dur" ] && awk -v d="$dur" 'BEGIN { exit !(d > 4.9999 && d < 5.0001) }'; then
	ok
else
	fail "--rate 44100: duration '$dur' s, expected 5"
fi
run "$TERMASTER" render "$mix" -o "$out/f.aiff" --bits 32 --no-dither
check_status 0 "AIFF float"
case $(cat "$T/out") in
"$out/f.aiff: AIFF 32-bit float 48000 Hz, "*) ok ;;
*) fail "AIFF float summary: $(cat "$T/out")" ;;
esac
run "$TERMASTER" render --list-params
check_status 0 "--list-params"
grep -q '^limiter\.ceiling_dbtp .*-20 … 0 .*dBTP' "$T/out" && ok || fail "--list-params: $(cat "$T/out")"
check_folder "a.wav c.flac f.aiff r.wav " "after more renders"

# ---- interrupted: nothing left behind ----
long="$T/long.wav"
"$GEN_SIGNAL" "$long" --kind music --seconds 120 --rate 48000 --channels 2 --amp-db -6 --format wav24 || exit 99
"$TERMASTER" render "$long" -o "$out/long.wav" --quiet </dev/null >/dev/null 2>"$T/err" &
pid=$!
sleep 0.3
kill -TERM "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
rc=$?
if [ -e "$out/long.wav" ]; then
	# finished before the signal: then it must have succeeded
	check_status 0 "render that finished before SIGTERM"
	rm -f "$out/long.wav"
else
	check_status 143 "interrupted render ends by SIGTERM"
fi
check_folder "a.wav c.flac f.aiff r.wav " "after an interrupted render"

done_tests

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
#  - --target-lufs -14 --ceiling-dbtp -1: the file reads -14 ±0.1 LUFS and
#    at most -0.95 dBTP (analyze --json), and a second stdout line says what
#    it took; a target needing more limiting than --max-gr-db is refused
#    with exit status 2, one line naming the loudest reachable level, and
#    nothing written; bad --target-lufs/--max-gr-db values are refused
#  - --rate with --ceiling-dbtp -2: the true-peak guard holds the ceiling
#    (-1.95 dBTP) after 48 → 44.1 kHz, with no warning
#  - --dither tpdf|none|shaped give different files, the same twice, tpdf
#    is the default, --no-dither is none, shaped below 44.1 kHz warns; a
#    bad kind is refused with exit status 2
#  - the render starts while the input is decoded: a FLAC cut short (its
#    header promises more than is there, found only at its end) is refused
#    with exit status 2 and one line "termaster: IN: truncated: …", with
#    and without --target-lufs, and nothing is written; a FLAC input gives
#    the bytes of the same audio from a WAV

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

# the whole chain, every processor on, twice: the same bytes
full="--set gain.gain_db=6 --set eq.1.on=1 --set eq.1.type=high-pass --set eq.3.on=1
 --set eq.3.gain_db=2 --set eq.5.on=1 --set eq.5.channel=side --set eq.5.gain_db=-2
 --set eq.tilt_db=1 --set comp.on=1 --set comp.threshold_db=-20 --set mb.on=1
 --set mb.2.threshold_db=-24 --set sat.on=1 --set stereo.width_pct=120
 --set stereo.bass_mono_hz=100 --set limiter.oversampling=4x --dither shaped --bits 16"
run "$TERMASTER" render "$mix" -o "$out/f1.wav" $full --quiet
check_status 0 "full chain render"
run "$TERMASTER" render "$mix" -o "$out/f2.wav" $full --quiet
check_status 0 "full chain render again"
if cmp -s "$out/f1.wav" "$out/f2.wav"; then ok; else fail "two full-chain renders differ"; fi
if cmp -s "$out/f1.wav" "$out/a.wav"; then fail "the full chain changed nothing"; else ok; fi
rm -f "$out/f1.wav" "$out/f2.wav"
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

# ---- loudness target ----
run "$TERMASTER" render "$mix" -o "$out/t.wav" --target-lufs -14 --ceiling-dbtp -1
check_status 0 "--target-lufs -14"
if [ "$(wc -l <"$T/out" | tr -d ' ')" = 2 ] &&
	head -n 1 "$T/out" | grep -q "^$out/t.wav: WAV 24-bit 48000 Hz, -14.0 LUFS, " &&
	sed -n 2p "$T/out" | grep -q "^$out/t.wav: target -14.0 LUFS: input gain [-+][0-9.]* dB, limiter gain reduction [0-9.]* dB peak ([0-9.]* max), [0-9.]* dB mean, [0-9]* renders$"; then
	ok
else
	fail "--target-lufs summary: $(cat "$T/out")"
fi
[ ! -s "$T/err" ] && ok || fail "--target-lufs printed on stderr: $(cat "$T/err")"
run "$TERMASTER" analyze --json "$out/t.wav"
lufs=$(json_field integrated_lufs)
tp=$(json_field true_peak_dbtp)
if [ -n "$lufs" ] && [ -n "$tp" ] &&
	awk -v l="$lufs" -v tp="$tp" 'BEGIN { exit !(l >= -14.1 && l <= -13.9 && tp <= -0.95) }'; then
	ok
else
	fail "--target-lufs -14: the file reads '$lufs' LUFS, '$tp' dBTP"
fi
# the same target at another rate and bit depth
run "$TERMASTER" render "$mix" -o "$out/t.flac" --target-lufs -14 --rate 44100 --bits 16 --quiet
check_status 0 "--target-lufs -14 --rate 44100 --bits 16"
run "$TERMASTER" analyze --json "$out/t.flac"
lufs=$(json_field integrated_lufs)
if [ -n "$lufs" ] && awk -v l="$lufs" 'BEGIN { exit !(l >= -14.1 && l <= -13.9) }'; then
	ok
else
	fail "--target-lufs -14 at 44.1 kHz: the file reads '$lufs' LUFS"
fi
# more limiting than allowed: refused, nothing written
run "$TERMASTER" render "$mix" -o "$out/loud.wav" --target-lufs -5
check_status 2 "--target-lufs -5"
check_err_line "$out/loud.wav" "the loudest within it is" "--target-lufs -5"
grep -q "nothing written" "$T/err" && grep -q "gain reduction" "$T/err" && ok ||
	fail "--target-lufs -5: $(cat "$T/err")"
[ ! -s "$T/out" ] && ok || fail "--target-lufs -5 printed on stdout: $(cat "$T/out")"
[ ! -e "$out/loud.wav" ] && ok || fail "--target-lufs -5 wrote a file"
run "$TERMASTER" render "$mix" -o "$out/loud.wav" --target-lufs -10 --max-gr-db 0.5
check_status 2 "--target-lufs -10 --max-gr-db 0.5"
check_err_line "$out/loud.wav" "0.5 dB" "--max-gr-db 0.5"
[ ! -e "$out/loud.wav" ] && ok || fail "--max-gr-db 0.5 wrote a file"
run "$TERMASTER" render "$mix" -o "$out/loud.wav" --target-lufs -10 --max-gr-db 12 --quiet
check_status 0 "--target-lufs -10 --max-gr-db 12"
rm -f "$out/loud.wav"
run "$TERMASTER" render "$mix" -o "$out/x.wav" --target-lufs -59
check_status 2 "--target-lufs -59"
check_err_line "$out/x.wav" "range" "--target-lufs -59"
# bad values
run "$TERMASTER" render "$mix" -o "$out/x.wav" --target-lufs loud
check_status 2 "--target-lufs loud"
check_err_line "--target-lufs" "not a number" "--target-lufs loud"
run "$TERMASTER" render "$mix" -o "$out/x.wav" --target-lufs 3
check_status 2 "--target-lufs 3"
check_err_line "--target-lufs" "out of range" "--target-lufs 3"
run "$TERMASTER" render "$mix" -o "$out/x.wav" --target-lufs -14 --max-gr-db -1
check_status 2 "--max-gr-db -1"
check_err_line "--max-gr-db" "out of range" "--max-gr-db -1"
run "$TERMASTER" render "$mix" -o "$out/x.wav" --max-gr-db 3
check_status 2 "--max-gr-db without --target-lufs"
check_err_line "--max-gr-db" "--target-lufs" "--max-gr-db without --target-lufs"
run "$TERMASTER" render "$mix" -o "$out/x.wav" --target-lufs
check_status 2 "--target-lufs without a value"
check_folder "a.wav c.flac f.aiff r.wav t.flac t.wav " "after the loudness targets"
rm -f "$out/t.wav" "$out/t.flac"

# ---- the true-peak guard after a rate conversion ----
run "$TERMASTER" render "$mix" -o "$out/g.wav" --set gain.gain_db=12 --ceiling-dbtp -2 --rate 44100
check_status 0 "--rate 44100 --ceiling-dbtp -2"
[ ! -s "$T/err" ] && ok || fail "--rate 44100 --ceiling-dbtp -2 warned: $(cat "$T/err")"
run "$TERMASTER" analyze --json "$out/g.wav"
tp=$(json_field true_peak_dbtp)
if [ -n "$tp" ] && awk -v tp="$tp" 'BEGIN { exit !(tp <= -1.95) }'; then
	ok
else
	fail "--rate 44100 --ceiling-dbtp -2: true peak '$tp' dBTP is above -1.95"
fi
rm -f "$out/g.wav"

# ---- dither ----
for d in tpdf none shaped; do
	run "$TERMASTER" render "$mix" -o "$out/d-$d.wav" --bits 16 --dither "$d" --quiet
	check_status 0 "--dither $d"
done
run "$TERMASTER" render "$mix" -o "$out/d-default.wav" --bits 16 --quiet
check_status 0 "16-bit, default dither"
run "$TERMASTER" render "$mix" -o "$out/d-no.wav" --bits 16 --no-dither --quiet
check_status 0 "--no-dither"
if cmp -s "$out/d-tpdf.wav" "$out/d-default.wav"; then ok; else fail "the default is not tpdf"; fi
if cmp -s "$out/d-none.wav" "$out/d-no.wav"; then ok; else fail "--no-dither is not --dither none"; fi
if cmp -s "$out/d-tpdf.wav" "$out/d-none.wav"; then fail "--dither tpdf = none"; else ok; fi
if cmp -s "$out/d-shaped.wav" "$out/d-tpdf.wav" || cmp -s "$out/d-shaped.wav" "$out/d-none.wav"; then
	fail "--dither shaped = tpdf or none"
else
	ok
fi
run "$TERMASTER" render "$mix" -o "$out/d-shaped2.wav" --bits 16 --dither shaped --quiet
if cmp -s "$out/d-shaped.wav" "$out/d-shaped2.wav"; then ok; else fail "--dither shaped: two renders differ"; fi
# noise shaping is made for 44.1 kHz and above: a warning below
run "$TERMASTER" render "$mix" -o "$out/d-low.wav" --bits 16 --dither shaped --rate 32000
check_status 0 "--dither shaped --rate 32000"
check_err_line "$out/d-low.wav" "--dither tpdf" "--dither shaped --rate 32000"
rm -f "$out"/d-*.wav
run "$TERMASTER" render "$mix" -o "$out/x.wav" --dither rectangular
check_status 2 "--dither rectangular"
check_err_line "--dither" "tpdf, shaped or none" "--dither rectangular"
run "$TERMASTER" render "$mix" -o "$out/x.wav" --dither
check_status 2 "--dither without a value"
check_folder "a.wav c.flac f.aiff r.wav " "after the dither renders"

# ---- decoding while rendering ----
"$GEN_SIGNAL" "$T/in.flac" --kind music --seconds 5 --rate 48000 --channels 2 --amp-db -6 \
	--format flac24 || exit 99
"$TERMASTER" render "$T/in.flac" -o "$T/same.wav" --bits 32 --quiet || exit 99
run "$TERMASTER" render "$T/in.flac" -o "$out/fl1.wav" --quiet
check_status 0 "FLAC input"
run "$TERMASTER" render "$T/same.wav" -o "$out/fl2.wav" --quiet
check_status 0 "the same audio as WAV"
if cmp -s "$out/fl1.wav" "$out/fl2.wav"; then ok; else fail "FLAC and WAV of the same audio render differently"; fi
rm -f "$out"/fl?.wav
size=$(wc -c <"$T/in.flac" | tr -d ' ')
head -c $((size * 2 / 3)) "$T/in.flac" >"$T/cut.flac"
run "$TERMASTER" render "$T/cut.flac" -o "$out/cut.wav"
check_status 2 "FLAC cut short"
check_err_line "$T/cut.flac" "truncated" "FLAC cut short"
run "$TERMASTER" render "$T/cut.flac" -o "$out/cut.wav" --target-lufs -14
check_status 2 "FLAC cut short, --target-lufs"
check_err_line "$T/cut.flac" "truncated" "FLAC cut short, --target-lufs"
check_folder "a.wav c.flac f.aiff r.wav " "after a FLAC cut short"

done_tests

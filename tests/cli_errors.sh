#!/bin/sh
# termaster — bad input on the command line.
#
# For each way a file enters termaster (analyze, render, opening the
# workstation headless) and each kind of bad file, expect: exit status 2, no
# crash, and exactly one line "termaster: PATH: reason" on stderr naming the
# reason.  Then: analyze with a good and a bad file still analyses the good
# one and exits 2.

. "$(dirname "$0")/lib.sh"

# ---- the bad files ----
good="$T/good.wav"
"$GEN_SIGNAL" "$good" --kind music --seconds 3 --rate 44100 --format wav24 ||
	{ echo "ERROR: gen_signal failed" >&2; exit 99; }

missing="$T/missing.wav"
adir="$T/folder.wav"
mkdir "$adir"
noperm="$T/noperm.wav"
cp "$good" "$noperm"
chmod 000 "$noperm"
empty="$T/empty.wav"
: >"$empty"
text="$T/notes.wav"
printf 'these are my mixing notes, not audio\n' >"$text"
cut="$T/truncated.wav"
"$GEN_SIGNAL" "$cut" --kind sine --seconds 2 --rate 48000 --format wav24 || exit 99
head -c 100000 "$cut" >"$cut.tmp" && mv "$cut.tmp" "$cut"
m4a="$T/song.m4a"
printf '\000\000\000\040ftypM4A \000\000\000\000M4A mp42isom\000\000' >"$m4a"
six="$T/surround.wav"
"$GEN_SIGNAL" "$six" --kind noise --seconds 1 --channels 6 --format wav16 || exit 99

root=0
[ "$(id -u)" = 0 ] && root=1

# case list: "path|reason words|label"
cases="$missing|no such file|missing file
$adir|is a directory|directory
$noperm|permission denied|unreadable file
$empty|empty file|empty file
$text|not an audio file|text file
$cut|truncated|truncated WAV
$m4a|not supported by libsndfile|.m4a file
$six|6 channels|6-channel WAV"

try_all() {
	mode=$1
	while IFS='|' read -r path words label; do
		if [ "$label" = "unreadable file" ] && [ $root = 1 ]; then
			echo "skipped: $mode: $label (running as root: permissions do not stop reads)"
			continue
		fi
		case $mode in
		analyze) run "$TERMASTER" analyze "$path" ;;
		render) run "$TERMASTER" render "$path" -o "$T/out.wav" ;;
		open) run "$TERMASTER" --headless --commands /dev/null "$path" ;;
		esac
		check_no_crash "$mode: $label"
		check_status 2 "$mode: $label"
		check_err_line "$path" "$words" "$mode: $label"
		if [ "$mode" = render ] && [ -e "$T/out.wav" ]; then
			fail "render: $label: left an output file behind"
			rm -f "$T/out.wav"
		fi
	done <<EOF
$cases
EOF
}

for mode in analyze render open; do
	try_all $mode
done

# the .m4a reason carries the conversion hint
run "$TERMASTER" analyze "$m4a"
if grep -q 'ffmpeg -i' "$T/err"; then ok; else fail "m4a: no ffmpeg hint: $(cat "$T/err")"; fi

# ---- good and bad together ----
run "$TERMASTER" analyze --json "$good" "$missing"
check_no_crash "analyze good+bad"
check_status 2 "analyze good+bad"
check_err_line "$missing" "no such file" "analyze good+bad"
if grep -q "\"path\": \"$good\"" "$T/out" && grep -q '"integrated_lufs": -' "$T/out"; then
	ok
else
	fail "analyze good+bad: the good file was not analysed: $(cat "$T/out")"
fi

run "$TERMASTER" analyze "$missing" "$good"
check_status 2 "analyze bad+good (table)"
if grep -q "$good" "$T/out"; then ok; else fail "analyze bad+good: good file missing from the table"; fi

# ---- good alone, and usage ----
run "$TERMASTER" analyze --json "$good"
check_status 0 "analyze good"
for key in path integrated_lufs lra_lu true_peak_dbtp sample_peak_dbfs \
	max_momentary_lufs max_shortterm_lufs duration_s sample_rate channels; do
	if grep -q "\"$key\": " "$T/out"; then ok; else fail "analyze --json: no key $key"; fi
done
if [ -s "$T/err" ]; then fail "analyze good: stderr not empty: $(cat "$T/err")"; else ok; fi

run "$TERMASTER" analyze
check_status 2 "analyze without a file"
run "$TERMASTER" analyze --bogus "$good"
check_status 2 "analyze with an unknown option"
run "$TERMASTER" analyze --help
check_status 0 "analyze --help"

done_tests

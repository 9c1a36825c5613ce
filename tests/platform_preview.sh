#!/bin/sh
# Streaming-platform preview through the headless reader: on sources of
# known loudness (1 kHz sines: a stereo sine at X dBFS peak reads X LUFS
# and X dBTP, BS.1770), the gain applied to each equals the platform's
# rule within 0.1 dB:
#   mix  -20 LUFS / -20 dBTP, ref -8 LUFS / -8 dBTP, default chain (the
#   limiter at -1 dBTP leaves both untouched)
#   spotify-normal (-14, up to -1 dBTP): mix +6, ref -6
#   youtube (-14, down only):            mix  0, ref -6
#   apple (-16, up to -1 dBTP):          mix +4, ref -8
#   spotify-quiet (-19):                 mix +1, ref -11
. "$top_srcdir/tests/lib.sh"

"$GEN_SIGNAL" "$T/mix.wav" --kind sine --freq 1000 --seconds 6 --rate 48000 --channels 2 --amp-db -20 --format wav32f ||
	fail "cannot generate the mix"
"$GEN_SIGNAL" "$T/ref.wav" --kind sine --freq 1000 --seconds 6 --rate 48000 --channels 2 --amp-db -8 --format wav32f ||
	fail "cannot generate the reference"

check_platform() {  # id, mix gain, ref gain
	printf 'platform %s\nstatus\nquit\n' "$1" > "$T/s.txt"
	"$TERMASTER" --headless --no-device --commands "$T/s.txt" "$T/mix.wav" "$T/ref.wav" \
		> "$T/st.json" 2> "$T/err.txt" || { cat "$T/err.txt" >&2; fail "$1: headless run failed"; return; }
	after=$(sed -n 's/.*"gains_db": {"after": \([-0-9.]*\).*/\1/p' "$T/st.json")
	ref=$(sed -n 's/.*"refs": \[\([-0-9.]*\)\].*/\1/p' "$T/st.json")
	awk -v a="$after" -v w="$2" 'BEGIN { d = a - w; exit !(a != "" && d <= 0.1 && d >= -0.1) }' && ok ||
		fail "$1: master gain $after dB, rule says $2"
	awk -v a="$ref" -v w="$3" 'BEGIN { d = a - w; exit !(a != "" && d <= 0.1 && d >= -0.1) }' && ok ||
		fail "$1: reference gain $ref dB, rule says $3"
	grep -q "\"platform\": {\"id\": \"$1\"" "$T/st.json" && ok || fail "$1: status does not name the platform"
}

check_platform spotify-normal 6 -6
check_platform youtube 0 -6
check_platform apple 4 -8
check_platform spotify-quiet 1 -11

printf 'platform nonesuch\n' > "$T/s.txt"
"$TERMASTER" --headless --no-device --commands "$T/s.txt" "$T/mix.wav" > /dev/null 2> "$T/err.txt"
[ $? = 2 ] && ok || fail "an unknown platform is not exit status 2"
grep -q "platform: expected spotify-normal" "$T/err.txt" && ok || fail "unknown platform message: $(cat "$T/err.txt")"
done_tests

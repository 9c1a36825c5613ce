# termaster — shared helpers for the end-to-end scripts (POSIX sh, sourced).
#
#   . "$(dirname "$0")/lib.sh"
#
# Environment (exported by `make check`, see Makefile.am):
#   TERMASTER    the program under test
#   GEN_SIGNAL   tests/gen_signal, writes generated signals to files
#   top_srcdir   the source tree
#
# Gives:
#   $T                 a fresh temporary folder, removed on exit
#   run CMD ARGS...    runs CMD (stdin /dev/null) with stdout in $T/out,
#                      stderr in $T/err,
#                      its exit status in $rc
#   ok MSG / fail MSG  count a passed / failed check (fail prints MSG)
#   check_status N MSG       $rc must be N
#   check_no_crash MSG       $rc must be below 128 (no signal)
#   check_err_line PATH WORDS MSG
#                      stderr must be exactly one line, starting with
#                      "termaster: PATH: " and containing WORDS
#   skip MSG           the whole script is skipped (exit 77)
#   done_tests         prints the tally; exit 1 if a check failed, else 0
#
# Exit codes follow the automake protocol: 0 pass, 1 fail, 77 skip,
# 99 hard error (the programs are missing).

set -u

tests_failed=0
tests_passed=0

if [ -z "${TERMASTER:-}" ] || [ ! -x "$TERMASTER" ]; then
	echo "ERROR: TERMASTER is not set or not executable: '${TERMASTER:-}' (run through make check)" >&2
	exit 99
fi
if [ -z "${GEN_SIGNAL:-}" ] || [ ! -x "$GEN_SIGNAL" ]; then
	echo "ERROR: GEN_SIGNAL is not set or not executable: '${GEN_SIGNAL:-}' (run through make check)" >&2
	exit 99
fi

T=$(mktemp -d "${TMPDIR:-/tmp}/termaster-e2e.XXXXXX") || {
	echo "ERROR: mktemp -d failed" >&2
	exit 99
}
# permissions a test took away must not stop the clean-up
trap 'chmod -R u+rwx "$T" 2>/dev/null; rm -rf "$T"' EXIT
trap 'exit 1' HUP INT TERM

ok() {
	tests_passed=$((tests_passed + 1))
}

fail() {
	tests_failed=$((tests_failed + 1))
	echo "FAIL: $*" >&2
}

skip() {
	echo "SKIP: $*"
	exit 77
}

run() {
	"$@" </dev/null >"$T/out" 2>"$T/err"
	rc=$?
}

check_status() {
	if [ "$rc" -eq "$1" ]; then
		ok
	else
		fail "$2: exit status $rc, expected $1; stderr: $(head -c 400 "$T/err")"
	fi
}

check_no_crash() {
	if [ "$rc" -lt 128 ]; then
		ok
	else
		fail "$1: killed by signal $((rc - 128))"
	fi
}

check_err_line() {
	_path=$1
	_words=$2
	_msg=$3
	_lines=$(wc -l <"$T/err" | tr -d ' ')
	_first=$(head -n 1 "$T/err")
	if [ "$_lines" != 1 ]; then
		fail "$_msg: expected exactly one line on stderr, got $_lines:"
		sed 's/^/    | /' "$T/err" | head -n 20 >&2
		return
	fi
	case $_first in
	"termaster: $_path: "*) ;;
	*)
		fail "$_msg: stderr is not 'termaster: $_path: reason': $_first"
		return
		;;
	esac
	case $_first in
	*"$_words"*) ok ;;
	*) fail "$_msg: stderr does not mention '$_words': $_first" ;;
	esac
}

done_tests() {
	echo "$tests_passed passed, $tests_failed failed"
	if [ "$tests_failed" -ne 0 ]; then
		exit 1
	fi
	exit 0
}

# alsa_capture: PortAudio's ALSA "default" device becomes the ALSA file
# plugin, which writes everything played to $T/capture.raw (raw float,
# unclocked); skips the test when PortAudio does not see it.
alsa_capture() {
	export HOME="$T/home"
	mkdir -p "$HOME"
	cat > "$HOME/.asoundrc" <<EOT
pcm.!default { type file; slave.pcm "null"; file "$T/capture.raw"; format "raw" }
EOT
	if ! "$TERMASTER" --list-devices 2>/dev/null | grep -q 'default'; then
		skip "PortAudio sees no ALSA 'default' device (ALSA file plugin unavailable)"
	fi
}

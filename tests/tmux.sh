# Shared by the screen tests (sourced after lib.sh): our own tmux server on
# the socket named by $SOCK, the pane as text, and polling it.  Only our
# server is ever killed (finish); lib.sh owns the traps.

tm() {
	tmux -L "$SOCK" -f /dev/null "$@"
}

finish() {
	tm kill-server >/dev/null 2>&1
	done_tests
}

screen() {  # the pane as text
	tm capture-pane -p -t tm 2>/dev/null
}

wait_for() {  # SECONDS ERE: poll the screen until a line matches
	_n=$(($1 * 10))
	while [ "$_n" -gt 0 ]; do
		screen | grep -Eq -- "$2" && return 0
		sleep 0.1
		_n=$((_n - 1))
	done
	return 1
}

# check WHAT ERE [SECONDS]: the screen shows a matching line within
# SECONDS (default $CHECK_S, else 3), or the test fails showing the screen
check() {
	if wait_for "${3:-${CHECK_S:-3}}" "$2"; then
		ok
	else
		screen | sed 's/^/  | /' >&2
		fail "$1 (no line matching '$2')"
	fi
}

wait_gone() {  # SECONDS ERE: poll until no line matches
	_n=$(($1 * 10))
	while [ "$_n" -gt 0 ]; do
		screen | grep -Eq -- "$2" || return 0
		sleep 0.1
		_n=$((_n - 1))
	done
	return 1
}

check_gone() {  # WHAT ERE: no line matches within 3 s, or the test fails
	if wait_gone 3 "$2"; then
		ok
	else
		screen | sed 's/^/  | /' >&2
		fail "$1 (a line still matches '$2')"
	fi
}

# start [ENV... --] ARGS...: termaster in a new session of $TM_COLS x
# $TM_ROWS (default 80x24), its pid in $T/pid and its exit status in
# $T/status.  A watchdog sends it SIGTERM after 90 s, so that no termaster
# (and so no tmux server) outlives a killed test.  (Not timeout(1): it
# would pass the terminal's Ctrl-C on as a second SIGINT.)
start() {
	rm -f "$T/status" "$T/pid"
	_env=
	for _a in "$@"; do
		[ "$_a" = "--" ] || continue
		while [ "$1" != "--" ]; do
			_env="$_env $1"
			shift
		done
		shift
		break
	done
	cat > "$T/run.sh" <<EOT
#!/bin/sh
trap : INT  # Ctrl-C is for termaster: this shell stays to record its status
( sleep 90; [ -f "$T/pid" ] && kill -TERM "\$(cat "$T/pid")" ) 2>/dev/null &
env $_env sh -c 'echo \$\$ > "$T/pid"; exec "\$0" "\$@"' "$TERMASTER" $* 2> "$T/stderr.txt"
echo \$? > "$T/status.tmp"
rm -f "$T/pid"
mv "$T/status.tmp" "$T/status"
EOT
	tm kill-server >/dev/null 2>&1
	tm new-session -d -s tm -x "${TM_COLS:-80}" -y "${TM_ROWS:-24}" "sh '$T/run.sh'" ||
		skip "tmux cannot start a session here"
}

# alive WHAT: fail and stop when termaster has already ended
alive() {
	if [ -f "$T/status" ]; then
		sed 's/^/  stderr: /' "$T/stderr.txt" >&2
		fail "$1: termaster ended early with status $(cat "$T/status")"
		finish
	fi
}

# wait_exit SECONDS: true when termaster ended; its status in $status
# ("none" while it runs)
wait_exit() {
	_n=$(($1 * 10))
	while [ "$_n" -gt 0 ] && [ ! -f "$T/status" ]; do
		sleep 0.1
		_n=$((_n - 1))
	done
	status=$(cat "$T/status" 2>/dev/null || echo none)
	[ -f "$T/status" ]
}

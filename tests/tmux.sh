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

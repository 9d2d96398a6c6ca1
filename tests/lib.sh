# lib.sh -- what the test runners share (sourced by tests/run.sh and tests/faults/run.sh):
# choosing suites with TESTS, running one and adding its "N passed, N failed" line to
# the totals, and the closing summary.  Sanitizer builds: any report fails the program.
passed=0
failed=0
broken=""
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

# selected NAME: true when TESTS is empty or names NAME.
selected() {
	[ -z "${TESTS:-}" ] && return 0
	for n in $TESTS; do [ "$n" = "$1" ] && return 0; done
	return 1
}

# run_suite PROGRAM [ARG...]: runs it, adds its "N passed, N failed" line to the totals.
run_suite() {
	out=$(mktemp)
	"$@" >"$out"
	rc=$?
	cat "$out"
	line=$(grep -E '[0-9]+ passed, [0-9]+ failed' "$out" | tail -n 1)
	rm -f "$out"
	p=$(echo "$line" | sed -E 's/(^|.* )([0-9]+) passed.*/\2/')
	f=$(echo "$line" | sed -E 's/(^|.* )([0-9]+) failed.*/\2/')
	if [ -z "$line" ]; then
		p=0
		f=1
		echo "$1: no summary line (exit status $rc)"
	elif [ $rc -ne 0 ] && [ "$f" = 0 ]; then
		f=1
		echo "$1: exit status $rc"
	fi
	passed=$((passed + p))
	failed=$((failed + f))
	[ "$f" = 0 ] || broken="$broken $(basename "$1")"
}

# summary WHAT: the closing lines; the exit status says whether all passed.
summary() {
	echo "----"
	[ -z "$broken" ] || echo "failing $1:$broken"
	echo "$passed passed, $failed failed"
	[ "$failed" = 0 ]
}

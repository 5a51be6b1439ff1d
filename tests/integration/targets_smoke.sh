#!/usr/bin/env bash
# The Rust test targets keep the promises other tests rely on:
# - every "// @mark NAME" is well-formed and unique in its file, NAME starts
#   with the name of the fn it is in, and the marker sits on the line the
#   target's DWARF gives for a state of that fn's state machine (llvm-dwarfdump),
#   in both profiles: an .await line is a Suspend state's line, an `async fn`
#   header an Unresumed state's (NAME ends in _unresumed), a closing brace a
#   Returned state's (NAME ends in _completed); for a line invoking a tokio
#   macro (select!, join!) rustc gives the Suspend state a line in the macro's
#   own source instead, so only that is checked;
# - every target, in both profiles and with its argument variants, prints
#   READY <its pid> and the extra lines its source promises, and is still
#   running 0.5 s later.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
harness_init

targets_dir="$top_srcdir/tests/targets"

# The workspace members that are programs (the `ready` library is not).
target_names() {
	local members name
	members=$(sed -n 's/^members *= *\[\(.*\)\]/\1/p' "$targets_dir/Cargo.toml" | tr -d '"' | tr ',' ' ')
	[ -n "$members" ] || fail "no workspace members in $targets_dir/Cargo.toml"
	for name in $members; do
		[ -f "$targets_dir/$name/src/main.rs" ] && echo "$name"
	done
}

# ---- markers: well-formed and unique

check_marker_syntax() {
	local file=$1 mentions listed duplicates
	mentions=$(grep -c '@mark' "$file")
	listed=$(list_markers "$file" | grep -c .)
	[ "$mentions" = "$listed" ] ||
		fail "$file: $mentions lines mention @mark but only $listed are markers ('// @mark NAME' at the end of a line, NAME of [A-Za-z0-9_]):
$(grep -n '@mark' "$file" | grep -v -E '// @mark [A-Za-z0-9_]+[[:space:]]*$')"
	duplicates=$(list_markers "$file" | awk '{ print $1 }' | sort | uniq -d)
	[ -z "$duplicates" ] || fail "$file: markers used more than once: $duplicates"
}

# ---- markers: on the lines DWARF gives

# suspension_states BIN: prints "TYPE|FILE|LINE" for every state of every
# async fn/block state machine in BIN (TYPE ends in ::Unresumed, ::Returned,
# ::SuspendN): the variant members that carry the state's source line.
suspension_states() {
	llvm-dwarfdump --debug-info "$1" |
		grep -A 2 -E 'DW_AT_type[[:space:]].*_env#[0-9]+\}.*::(Unresumed|Returned|Suspend[0-9]+)"\)$' |
		awk '
		/DW_AT_type/ { match($0, /"[^"]*"\)$/); type = substr($0, RSTART + 1, RLENGTH - 3) }
		/DW_AT_decl_file/ { match($0, /\("[^"]*"\)/); file = substr($0, RSTART + 2, RLENGTH - 4) }
		/DW_AT_decl_line/ { match($0, /\([0-9]+\)/); print type "|" file "|" substr($0, RSTART + 1, RLENGTH - 2) }' |
		sort -u
}

# marker_kind LINE_TEXT: which state a marked line must be.
marker_kind() {
	if [[ $1 == *'async fn '* ]]; then echo Unresumed
	elif [[ $1 =~ ^[[:space:]]*\} ]]; then echo Returned
	elif [[ $1 == *'.await'* ]]; then echo Suspend
	elif [[ $1 =~ [a-z_]+![[:space:]]*[\(\{] ]]; then echo Macro
	else echo Unknown
	fi
}

# enclosing_fn FILE LINE: the name of the last fn (async or not) declared at
# or above LINE: the namespace of the state machine that LINE belongs to.
enclosing_fn() {
	awk -v stop="$2" 'FNR > stop { exit } match($0, /(^|[^A-Za-z0-9_])fn [a-z_0-9]+/) {
		name = substr($0, RSTART, RLENGTH); sub(/.*fn /, "", name) } END { print name }' "$1"
}

# check_marker_name FILE MARKER LINE FN KIND: marker names say where and
# what: FN_..., and ..._unresumed for an Unresumed state, ..._completed for a
# Returned one, anything else for a suspension (..._awaits_...).
check_marker_name() {
	local file=$1 marker=$2 line=$3 fn=$4 kind=$5 expected
	[[ $marker == "${fn}_"* ]] ||
		fail "$file:$line: marker $marker is in fn $fn: its name must start with ${fn}_"
	case $marker in
	*_unresumed) expected=Unresumed;;
	*_completed) expected=Returned;;
	*) expected=Suspend;;
	esac
	[ "$kind" = "$expected" ] || { [ "$kind" = Macro ] && [ "$expected" = Suspend ]; } ||
		fail "$file:$line: marker $marker names a $expected state but its line is a $kind state's"
}

check_markers_in_dwarf() {
	local name=$1 profile=$2 bin file states marker line text kind fn env found checked=0
	bin=$(target_bin "$name" "$profile")
	file="$(target_src "$name")/main.rs"
	states=$(suspension_states "$bin")
	[ -n "$states" ] || fail "$bin: llvm-dwarfdump found no async state machines"
	local suffix="/tests/targets/$name/src/main\\.rs"
	while read -r marker line; do
		text=$(sed -n "${line}p" "$file")
		kind=$(marker_kind "$text")
		[ "$kind" != Unknown ] ||
			fail "$file:$line: marker $marker is on neither an .await, a macro, an async fn header nor a closing brace"
		fn=$(enclosing_fn "$file" "$line")
		check_marker_name "$file" "$marker" "$line" "$fn" "$kind"
		# The state machines of fn itself and of the async blocks inside it.
		env="^${name}::([^|]*::)?${fn}::(\\{[^|}]*\\}::)*\\{async_[a-z]+_env#[0-9]+\\}[^|]*"
		case $kind in
		Unresumed | Returned)
			found=$(grep -E "${env}::${kind}\\|[^|]*${suffix}\\|${line}\$" <<<"$states");;
		Suspend)
			found=$(grep -E "${env}::Suspend[0-9]+\\|[^|]*${suffix}\\|${line}\$" <<<"$states");;
		Macro)
			# rustc gives a macro_rules! macro's await the macro's own source line.
			found=$(grep -E "${env}::Suspend[0-9]+\\|" <<<"$states" | grep -v -E "\\|[^|]*${suffix}\\|");;
		esac
		[ -n "$found" ] ||
			fail "$name ($profile): marker $marker (line $line, in fn $fn) is not on a $kind state's line" \
				"of $fn in DWARF; the states of that line: $(grep -E "\\|[^|]*${suffix}\\|${line}\$" <<<"$states" |
				tr '\n' ' ')"
		checked=$((checked + 1))
	done < <(list_markers "$file")
	[ "$checked" -gt 0 ] || fail "$file has no markers"
	note "$name ($profile): $checked markers match DWARF"
}

# ---- the targets run

# source_const FILE NAME: the value of `const NAME: T = VALUE;` in FILE.
source_const() {
	local value
	value=$(sed -n "s/^const $2: [a-z0-9]* = \([0-9]*\);.*/\1/p" "$1")
	[ -n "$value" ] || fail "$1: no numeric const $2"
	echo "$value"
}

# thread_names PID: the names of PID's threads, one a line.
thread_names() {
	cat /proc/"$1"/task/*/comm 2>/dev/null
}

# check_spawned_line LINE TASKS SRC: a counts SPAWNED line spreads TASKS
# round-robin over the idle fns, in the order the source declares them.
check_spawned_line() {
	local spawned=$1 tasks=$2 src=$3 idle_fns i=0 fn count expected
	idle_fns=$(sed -n 's/^const IDLE_FNS: .* = \[\(.*\)\];/\1/p' "$src" | tr -d '",')
	[ -n "$idle_fns" ] || fail "$src: no IDLE_FNS"
	for fn in $idle_fns; do
		grep -q "^async fn $fn(" "$src" || fail "$src: IDLE_FNS names $fn, which is not an async fn"
		count=$(tr ' ' '\n' <<<"$spawned" | sed -n "s/^$fn=//p")
		expected=$(( (tasks - i + 2) / 3 ))
		[ "$tasks" -gt "$i" ] || expected=0
		assert_eq "$expected" "$count" "counts: tasks of $fn in '$spawned'"
		i=$((i + 1))
	done
	assert_contains "$spawned" "total=$tasks" "counts: total in its SPAWNED line"
}

check_counts() {
	local tasks=$1 two_runtimes=$2 flavor=$3 src lines
	src="$(target_src counts)/main.rs"
	lines=$(grep '^SPAWNED ' "$TARGET_OUT")
	if [ "$two_runtimes" = yes ]; then
		assert_eq 2 "$(grep -c . <<<"$lines")" "counts --two-runtimes: SPAWNED lines"
		check_spawned_line "$(grep 'runtime=second ' <<<"$lines")" "$tasks" "$src"
		assert_contains "$(grep 'runtime=second ' <<<"$lines")" "flavor=current_thread" "counts: the second runtime"
		assert_contains "$(thread_names "$TARGET_PID")" "second-runtime" "counts: the second runtime's thread"
	else
		assert_eq 1 "$(grep -c . <<<"$lines")" "counts: SPAWNED lines"
	fi
	check_spawned_line "$(grep 'runtime=main ' <<<"$lines")" "$tasks" "$src"
	assert_contains "$(grep 'runtime=main ' <<<"$lines")" "flavor=$flavor" "counts: the main runtime's flavor"
}

check_busy() {
	local tid state
	tid=$(target_info BUSY_TID)
	[ -f "/proc/$TARGET_PID/task/$tid/stat" ] || fail "busy: BUSY_TID $tid is not a thread of $TARGET_PID"
	state=$(cat "/proc/$TARGET_PID/task/$tid/stat")
	state=${state##*) }
	assert_eq R "${state:0:1}" "busy: state of the spinning thread $tid"
	assert_eq "$(source_const "$(target_src busy)/main.rs" SLEEPERS)" "$(target_info SLEEPERS)" "busy: SLEEPERS"
}

check_shapes() {
	local src
	src="$(target_src shapes)/main.rs"
	assert_eq "$(source_const "$src" RECURSION_DEPTH)" "$(target_info RECURSION_DEPTH)" "shapes: RECURSION_DEPTH"
	assert_eq "$(grep -c 'tokio::spawn(' "$src")" "$(target_info TASKS)" "shapes: TASKS (one per tokio::spawn)"
}

check_sync() {
	local port hexport
	assert_eq "$(source_const "$(target_src sync)/main.rs" LOCAL_TASKS)" "$(target_info LOCAL_TASKS)" "sync: LOCAL_TASKS"
	assert_contains "$(thread_names "$TARGET_PID")" "local-set" "sync: the LocalSet's thread"
	port=$(target_info TCP_PORT)
	printf -v hexport '%04X' "$port"
	# The accepted stream the reader waits on: established (01) on 127.0.0.1:port.
	grep -q -E "^ *[0-9]+: 0100007F:$hexport [0-9A-F:]+ 01 " "/proc/$TARGET_PID/net/tcp" ||
		fail "sync: no established connection on 127.0.0.1:$port"
}

check_server() {
	local port status=0
	port=$(target_info PORT)
	# The handler never answers: curl must time out (28), not fail to connect or get a reply.
	curl -s -o /dev/null -m 1 "http://127.0.0.1:$port/" || status=$?
	assert_eq 28 "$status" "server: curl's status for a request to the stuck handler on port $port"
}

check_hang() {
	assert_eq "$(source_const "$(target_src hang)/main.rs" LOOP_PERIOD_MS)" "$(target_info LOOP_PERIOD_MS)" \
		"hang: LOOP_PERIOD_MS"
}

# run_variant NAME PROFILE [ARGS...]: starts it and checks what it printed.
run_variant() {
	local name=$1 profile=$2
	shift 2
	start_target "$name" "$profile" "$@"
	case "$name $*" in
	"counts ") check_counts 10 no multi_thread;;
	"counts --tasks 7 --flavor current_thread") check_counts 7 no current_thread;;
	"counts --tasks 5 --two-runtimes") check_counts 5 yes multi_thread;;
	"busy ") check_busy;;
	"shapes ") check_shapes;;
	"sync ") check_sync;;
	"server ") check_server;;
	"hang ") check_hang;;
	esac
	started+=("$TARGET_PID:$name ($profile${*:+ $*})")
}

command -v llvm-dwarfdump >/dev/null || fail "llvm-dwarfdump not found: install Debian's llvm package (./dev does)"

names=$(target_names)
for name in $names; do
	check_marker_syntax "$(target_src "$name")/main.rs"
done

for profile in debug release; do
	started=()
	for name in $names; do
		check_markers_in_dwarf "$name" "$profile"
		case $name in
		demo)
			run_variant demo "$profile"
			for point in 1 2 3; do run_variant demo "$profile" "$point"; done;;
		counts)
			run_variant counts "$profile"
			run_variant counts "$profile" --tasks 7 --flavor current_thread
			run_variant counts "$profile" --tasks 5 --two-runtimes;;
		mains)
			for mode in handle local_set run_until futures twin_multi twin_current twin_futures blocked_current; do
				run_variant mains "$profile" "$mode"
			done;;
		*)
			run_variant "$name" "$profile";;
		esac
	done
	sleep 0.5
	for entry in "${started[@]}"; do
		assert_alive "${entry%%:*}" "${entry#*:} 0.5 s after READY"
	done
	note "$profile: ${#started[@]} targets READY and alive"
	stop_targets
done

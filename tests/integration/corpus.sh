#!/bin/bash
# Issue 14, the corpus: example programs of Debian's crate packages (h2's
# server and client, hyper-util's servers and client; issue 16: async-std's
# tcp-echo and udp-echo, smol's tcp-server, on trixie and sid), built unmodified
# against bookworm's, trixie's and sid's crates (tests/corpus), each driven
# into a real state by tests/corpus/drive.py (connections open, requests in
# flight, a peer that never answers) and sampled in both profiles. The
# assertions are properties (tests/integration/corpuscheck.py): nothing of
# these programs' traces is known in advance.
#
# trixie's and sid's crates come from CORPUS_SUITES_DIR/SUITE/registry
# (make check sets it to where ./dev check fetched them for the tokio matrix,
# build/debian-suites; tests/targets/debian-suite.sh SUITE DIR/SUITE makes
# them). CORPUS_SUITES limits the suites (default: bookworm trixie sid).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
harness_init
. "$top_srcdir/tests/integration/trace_common.sh"

: "${CORPUS_SUITES_DIR:=$top_srcdir/build/debian-suites}"
: "${CORPUS_SUITES:=bookworm trixie sid}"
: "${CARGO:=cargo}"
corpus_dir="$top_builddir/tests/corpus"
started=$SECONDS

# The examples listen on fixed ports (5928, 7000, 8000, 8080): one corpus run at a
# time on this machine, whichever build tree it comes from.
mkdir -p "$corpus_dir"
exec 9>"${TMPDIR:-/tmp}/asyncdump-corpus.lock"
flock -w 1200 9 || fail "another corpus run holds ${TMPDIR:-/tmp}/asyncdump-corpus.lock"

registry_of() {
	case "$1" in
	bookworm) echo /usr/share/cargo/registry;;
	*) echo "$CORPUS_SUITES_DIR/$1/registry";;
	esac
}

# forget_foreign_build WS: a corpus copied from another build tree looks
# fresh to cargo (it rewrites the dep-info, not the binaries) while its
# DWARF points at the other tree's sources, which the checks do not
# accept as the program's own: clean the corpus's own packages (not their
# dependencies) so that they are built from the sources in WS.
forget_foreign_build() {
	local ws=$1 here dir profile dep bin manifest packages=()
	here=$(realpath "$ws")
	for manifest in "$ws"/*/Cargo.toml; do
		packages+=(-p "$(awk -F'"' '/^name = / { print $2; exit }' "$manifest")")
	done
	for dir in debug release; do
		profile=$dir
		[ "$dir" = debug ] && profile=dev
		for dep in "$ws/target/$dir"/*.d; do
			bin=${dep%.d}
			[ -f "$bin" ] || continue
			grep -qaF "$here" "$bin" && continue
			note "$(basename "$ws") ($profile): $(basename "$bin")'s debuginfo names no source in $here: rebuilding the corpus's own packages"
			(cd "$ws" && env -u MAKEFLAGS -u MFLAGS CARGO_TARGET_DIR="$ws/target" \
				"$CARGO" clean --quiet --offline --profile "$profile" "${packages[@]}") >>"$HARNESS_TMP/build.log" 2>&1 ||
				fail "cleaning the corpus packages of $ws ($profile): $(tail -n 20 "$HARNESS_TMP/build.log")"
			break
		done
	done
}

# build SUITE: generates the suite's workspace and builds it in both
# profiles (one target dir per suite: the dependencies are built once);
# prints "NAME SOURCE" per binary.
build() {
	local suite=$1 registry ws list
	registry=$(registry_of "$suite")
	[ -d "$registry" ] || fail "no $suite crates at $registry: run tests/targets/debian-suite.sh $suite $CORPUS_SUITES_DIR/$suite"
	ws="$corpus_dir/$suite"
	list=$(python3 "$top_srcdir/tests/corpus/corpus.py" generate "$suite" "$registry" "$ws") ||
		fail "generating the $suite corpus workspace"
	local t0=$SECONDS profile
	forget_foreign_build "$ws"
	for profile in dev release; do
		(cd "$ws" && env -u MAKEFLAGS -u MFLAGS CARGO_TARGET_DIR="$ws/target" \
			"$CARGO" build --quiet --offline --workspace --profile "$profile") >"$HARNESS_TMP/build.$suite.log" 2>&1 ||
			fail "building the $suite corpus ($profile): $(tail -n 40 "$HARNESS_TMP/build.$suite.log")"
	done
	note "$suite: corpus built in $((SECONDS - t0)) s against $(awk '/^name = / { n = $3 } /^version = / && n ~ /^"(tokio|h2|hyper|hyper-util)"$/ { printf "%s %s ", n, $3 }' "$ws/Cargo.lock" | tr -d '"')"
	printf '%s\n' "$list"
}

port_free() {
	! python3 -c 'import socket, sys; s = socket.socket(); s.connect(("127.0.0.1", int(sys.argv[1])))' "$1" 2>/dev/null
}

# wait_line FILE TEXT WHAT: waits until FILE has a line starting with TEXT.
wait_line() {
	local deadline=$((SECONDS + 60))
	until grep -q "^$2" "$1"; do
		[ "$SECONDS" -lt "$deadline" ] || fail "$3: no '$2' after 60 s: $(head -c 2000 "$1")"
		check_alive "$4" || fail "$3: exited: $(head -c 2000 "$1")"
		sleep 0.05
	done
}

# start_program BIN ARGS...: the program in the background; PROGRAM_PID, PROGRAM_OUT.
start_program() {
	local bin=$1
	shift
	PROGRAM_OUT="$HARNESS_TMP/$(basename "$bin").$RANDOM.out"
	: >"$PROGRAM_OUT"
	"$bin" "$@" >"$PROGRAM_OUT" 2>&1 </dev/null &
	PROGRAM_PID=$!
	HARNESS_PIDS+=("$PROGRAM_PID")
}

# start_driver SCENARIO PORT PID: tests/corpus/drive.py; DRIVER_PID, DRIVER_OUT.
start_driver() {
	DRIVER_OUT="$HARNESS_TMP/driver.$1.$RANDOM.out"
	: >"$DRIVER_OUT"
	python3 "$top_srcdir/tests/corpus/drive.py" "$1" "$2" "$3" "${PROGRAM_OUT:-/dev/null}" \
		>"$DRIVER_OUT" 2>&1 </dev/null &
	DRIVER_PID=$!
	HARNESS_PIDS+=("$DRIVER_PID")
}

# wait_listening PID PORT WHAT: until PID listens on PORT.
wait_listening() {
	local deadline=$((SECONDS + 60))
	until [ -n "$(python3 -c 'import sys, tracecheck as tc; print(*tc.tcp_fds(int(sys.argv[1]), local_port=int(sys.argv[2]), state="0A"))' "$1" "$2" 2>/dev/null)" ]; do
		check_alive "$1" || fail "$3 exited before listening on $2: $(head -c 2000 "$PROGRAM_OUT")"
		[ "$SECONDS" -lt "$deadline" ] || fail "$3 does not listen on $2 after 60 s"
		sleep 0.05
	done
}
# wait_udp PID PORT WHAT: until PID has a UDP socket bound to PORT.
wait_udp() {
	local deadline=$((SECONDS + 60))
	until [ -n "$(python3 -c 'import sys, corpuscheck as cc; print(*cc.udp_fds(int(sys.argv[1]), int(sys.argv[2])))' "$1" "$2" 2>/dev/null)" ]; do
		check_alive "$1" || fail "$3 exited before binding UDP port $2: $(head -c 2000 "$PROGRAM_OUT")"
		[ "$SECONDS" -lt "$deadline" ] || fail "$3 has no UDP socket on $2 after 60 s"
		sleep 0.05
	done
}
export PYTHONPATH="$top_srcdir/tests/integration${PYTHONPATH:+:$PYTHONPATH}" PYTHONDONTWRITEBYTECODE=1

# trace BIN SOURCE ROLE PORT SCENARIO RULE MAIN_AWAIT RUNTIME [ARGS...]: one
# program in one state, sampled and checked (RUNTIME: corpuscheck.py's; so is
# main_fn, set in the call's environment: the future main passes to block_on).
#   ROLE server: the program listens on PORT, the driver is its client;
#   ROLE udp-server: the program's UDP socket is bound to PORT, the driver sends;
#   ROLE client: the driver listens on PORT and never answers, the program connects.
trace() {
	local bin=$1 source=$2 role=$3 port=$4 scenario=$5 rule=$6 main_await=$7 runtime=$8 name crate what
	shift 8
	name=$(basename "$bin")
	crate=${name//-/_}
	what="$suite $name ($profile)"
	port_free "$port" || fail "$what: port $port is in use by another program"
	if [ "$role" = server ]; then
		start_program "$bin" "$@"
		wait_listening "$PROGRAM_PID" "$port" "$what"
		start_driver "$scenario" "$port" "$PROGRAM_PID"
	elif [ "$role" = udp-server ]; then
		start_program "$bin" "$@"
		wait_udp "$PROGRAM_PID" "$port" "$what"
		start_driver "$scenario" "$port" "$PROGRAM_PID"
	else
		PROGRAM_OUT=
		start_driver "$scenario" "$port" 0
		wait_line "$DRIVER_OUT" LISTENING "$what: the driver" "$DRIVER_PID"
		start_program "$bin" "$@"
	fi
	wait_line "$DRIVER_OUT" READY "$what: the driver ($scenario)" "$DRIVER_PID"
	assert_alive "$PROGRAM_PID" "$what"
	sample "$PROGRAM_PID" "$suite.$name.$profile"
	run_checks "$what" "$what" \
		"$HARNESS_TMP/$suite.$name.$profile.json" "$HARNESS_TMP/$suite.$name.$profile.txt" \
		"$PROGRAM_PID" "$source" "$crate" "$rule" "$main_await" "$port" "$role" "$DRIVER_OUT" "$runtime" \
		"${main_fn:-main}" \
		< "$top_srcdir/tests/integration/corpuscheck.py"
	assert_running "$PROGRAM_PID" "$what at the end"
	stop_targets
}

# interop BIN_SERVER BIN_CLIENT: h2's client gets its answer from h2's server
# (the two examples work, before we stop them half-way).
interop() {
	start_program "$1"
	wait_listening "$PROGRAM_PID" 5928 "$suite h2-server ($profile)"
	timeout 60 "$2" >"$HARNESS_TMP/interop.out" 2>&1 ||
		fail "$suite h2-client against h2-server ($profile): $(head -c 2000 "$HARNESS_TMP/interop.out")"
	grep -q '^GOT RESPONSE' "$HARNESS_TMP/interop.out" ||
		fail "$suite h2-client ($profile) got no response: $(head -c 2000 "$HARNESS_TMP/interop.out")"
	stop_targets
}

for suite in $CORPUS_SUITES; do
	declare -A src=()
	while read -r name path; do
		src[$name]=$path
	done < <(build "$suite")
	for profile in debug release; do
		dir="$corpus_dir/$suite/target/$profile"
		interop "$dir/h2-server" "$dir/h2-client"
		# h2/examples/server.rs: main accepts; each connection is a spawned
		# task (serve), each request one more (handle_request).
		trace "$dir/h2-server" "${src[h2-server]}" server 5928 h2-clients \
			per-connection-and-request 'listener.accept().await' tokio
		# h2/examples/client.rs: main awaits the response; the connection
		# runs in the one task it spawns.
		trace "$dir/h2-client" "${src[h2-client]}" client 5928 h2-stall one 'response.await' tokio
		if [ -n "${src[async-std-tcp-echo]:-}" ]; then
			# async-std/examples/tcp-echo.rs: main (task::block_on, a
			# LocalExecutor) loops on incoming.next(); task::spawn per
			# connection, each in io::copy of the socket to itself.
			trace "$dir/async-std-tcp-echo" "${src[async-std-tcp-echo]}" server 8080 echo-clients \
				own-per-connection 'incoming.next().await' async-executor
			# udp-echo.rs: main alone, in recv_from on its UDP socket.
			trace "$dir/async-std-udp-echo" "${src[async-std-udp-echo]}" udp-server 8080 udp-echo \
				own-none 'socket.recv_from(&mut buf).await' async-executor
			# smol/examples/tcp-server.rs: main (smol::block_on: async-io's,
			# no executor) in accept; smol::spawn(echo(stream)) per connection.
			trace "$dir/smol-tcp-server" "${src[smol-tcp-server]}" server 7000 echo-clients \
				own-per-connection 'listener.accept().await' async-executor/none
			# async-std/examples/a-chat (server.rs): main blocks on
			# accept_loop, which spawned broker_loop, spawns a
			# connection_loop per connection, and the broker a writer
			# per named peer (select! on futures' mpsc receivers).
			main_fn=server::accept_loop trace "$dir/async-std-a-chat" \
				"$(dirname "${src[async-std-a-chat]}")/server.rs" server 8080 chat-clients \
				own-chat 'incoming.next().await' async-executor server
		fi
		[ -n "${src[hyper-util-server]:-}" ] || continue
		# hyper-util/examples/server.rs: a JoinSet task per connection.
		trace "$dir/hyper-util-server" "${src[hyper-util-server]}" server 8000 http-clients \
			per-connection 'tcp_listener.accept().await' tokio
		# server_graceful.rs: a spawned task per connection; main in select!.
		trace "$dir/hyper-util-server_graceful" "${src[hyper-util-server_graceful]}" server 8080 \
			http-graceful per-connection '' tokio
		# client.rs: main awaits the response; hyper's pool spawns the connection.
		port=$(free_port)
		trace "$dir/hyper-util-client" "${src[hyper-util-client]}" client "$port" http-stall \
			at-least-per-connection 'client.request(req).await' tokio "http://127.0.0.1:$port/"
	done
done
note "corpus: $((SECONDS - started)) s in all"
finish_checks

# shellcheck shell=bash
# Helpers of the hang-detection tests (hang_*.sh), on top of lib.sh and
# http_common.sh. Not a test itself.
#
#   fetch_metrics               GET /metrics into METRICS (fails unless 200)
#   prom NAME [LABEL=VALUE...]  the series of NAME in METRICS whose labels
#                               include every LABEL=VALUE: one line each,
#                               "VALUE<TAB>{labels as JSON}"
#   prom_value NAME [L=V...]    the value of the one such series, or "none"
#   prom_label LABEL NAME [L=V...]  LABEL's value of each such series, sorted
#   eventually SECONDS DESC CMD...  runs CMD every 0.2 s until it succeeds;
#                               fails with DESC after SECONDS
#   hang_markers                sets the marked lines of tests/targets/hang:
#                               STUCK_LINE, LOOP_LINE, A_LINE, B_LINE, MAIN_LINE
#   task_id_of FN < DOC         the id of the task whose root frame is FN

METRICS=

fetch_metrics() {
	http_get /metrics
	[ "$HTTP_STATUS" = 200 ] || fail "GET /metrics: status $HTTP_STATUS: $HTTP_BODY"
	METRICS=$HTTP_BODY
}

# The exposition parser prom uses (label values unescaped).
cat >"$HARNESS_TMP/prom.py" <<'PY'
import json, re, sys
name, wanted = sys.argv[1], dict(a.split("=", 1) for a in sys.argv[2:])
series = re.compile(r'([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
pair = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)",?')
for line in sys.stdin:
    line = line.rstrip("\n")
    if not line or line.startswith("#"):
        continue
    m = series.match(line)
    if not m:
        sys.exit("unparsable metrics line: %r" % line)
    if m.group(1) != name:
        continue
    labels, rest = {}, m.group(2) or ""
    while rest:
        p = pair.match(rest)
        if not p:
            sys.exit("unparsable labels: %r" % line)
        value = re.sub(r'\\(.)', lambda e: "\n" if e.group(1) == "n" else e.group(1), p.group(2))
        labels[p.group(1)] = value
        rest = rest[p.end():]
    if all(labels.get(k) == v for k, v in wanted.items()):
        print("%s\t%s" % (m.group(3), json.dumps(labels, sort_keys=True)))
PY

prom() {
	printf '%s\n' "$METRICS" | python3 "$HARNESS_TMP/prom.py" "$@" ||
		fail "prom $*: cannot read the metrics: $(printf '%s' "$METRICS" | head -c 2000)"
}

prom_value() {
	local lines
	lines=$(prom "$@")
	case $(printf '%s' "$lines" | grep -c .) in
	0) echo none;;
	1) printf '%s\n' "${lines%%	*}";;
	*) fail "prom_value $*: several series match: $lines";;
	esac
}

prom_label() {
	local label=$1
	shift
	prom "$@" | cut -f 2 | python3 -c '
import json, sys
print("\n".join(sorted(json.loads(l)[sys.argv[1]] for l in sys.stdin if l.strip())))' "$label"
}

eventually() {
	local seconds=$1 desc=$2
	shift 2
	local deadline=$((SECONDS + seconds))
	until "$@"; do
		[ "$SECONDS" -lt "$deadline" ] || fail "$desc (not after ${seconds}s)"
		sleep 0.2
	done
}

hang_markers() {
	local src
	src=$(target_src hang)/main.rs
	STUCK_LINE=$(marker_line "$src" stuck_on_notify_awaits_notified)
	LOOP_LINE=$(marker_line "$src" sleeps_in_loop_awaits_sleep)
	A_LINE=$(marker_line "$src" deadlock_a_awaits_peer)
	B_LINE=$(marker_line "$src" deadlock_b_awaits_peer)
	MAIN_LINE=$(marker_line "$src" main_awaits_forever)
}

task_id_of() {
	json_get "[t[\"id\"] for t in d[\"tasks\"] if t[\"root\"] and t[\"root\"][\"name\"] == \"$1\"][0]"
}

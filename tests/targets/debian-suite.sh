#!/usr/bin/env bash
# debian-suite.sh SUITE DIR: makes DIR/registry a cargo directory source
# holding Debian SUITE's Rust crates (librust-*-dev) that the test targets
# and the corpus use, downloaded from the Debian mirror this machine's apt
# already uses and unpacked into DIR. Nothing is installed: apt-get runs with
# a private state under DIR and an empty dpkg status. Prints the crate
# versions that matter (tokio, futures, hyper, ...). Idempotent: a second run
# with the same package list only prints.
#
# bookworm's crates are the installed ones (/usr/share/cargo/registry): this
# script is for the other suites (trixie, sid). See
# ../shared/notes/debian-suites.md for why this is safe and how it was checked.
set -euo pipefail

suite=${1:?usage: debian-suite.sh SUITE DIR}
dir=${2:?usage: debian-suite.sh SUITE DIR}

# Newer suites package most crates with all their features; tokio's are
# virtual names (librust-tokio+full-dev). A missing one in a suite is an
# error: every suite of the matrix must build every target.
packages=(
	librust-tokio+full-dev librust-futures-dev librust-async-trait-dev
	librust-tracing-dev librust-tracing-futures-dev librust-libc-dev
	librust-hyper-dev librust-hyper-util-dev
	librust-http-body-util-dev librust-tokio-util-dev librust-tokio-stream-dev
	librust-h2-dev librust-async-std-dev librust-smol-dev
	librust-futures-executor-dev librust-env-logger-dev
)
optional=(librust-hyper-0.14-dev)

mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
stamp="$dir/.fetched"
want="$suite ${packages[*]} ${optional[*]}"

versions() {
	local reg=$dir/root/usr/share/cargo/registry name
	printf '%s crates:' "$suite"
	for name in tokio futures hyper h2 tokio-util async-std smol async-executor; do
		# shellcheck disable=SC2012
		ls -d "$reg/$name"-[0-9]* 2>/dev/null | sed 's,.*/,,' | sort -V | tr '\n' ' ' | sed 's/^/ /'
	done
	echo
}

if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -d "$dir/registry" ]; then
	versions
	exit 0
fi

mirror=$(sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -n 1)
[ -n "$mirror" ] || mirror=$(awk '$1 == "deb" { print $2; exit }' /etc/apt/sources.list 2>/dev/null)
[ -n "$mirror" ] || { echo "debian-suite.sh: no Debian mirror in this machine's apt configuration" >&2; exit 1; }

mkdir -p "$dir/apt/lists/partial" "$dir/apt/cache/archives/partial"
echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror $suite main" >"$dir/apt/sources.list"
: >"$dir/apt/status"
A=(-o Dir::Etc::SourceList="$dir/apt/sources.list" -o Dir::Etc::SourceParts=/dev/null
	-o Dir::State::Lists="$dir/apt/lists" -o Dir::Cache="$dir/apt/cache"
	-o Dir::State::status="$dir/apt/status" -o APT::Install-Recommends=false
	-o Debug::NoLocking=true)
apt-get "${A[@]}" update -q >"$dir/apt.log" 2>&1 ||
	{ tail -n 20 "$dir/apt.log" >&2; echo "debian-suite.sh: apt-get update for $suite failed" >&2; exit 1; }
# hyper 0.14 is packaged beside hyper 1 in trixie, not in sid: the targets
# that need it are left out of a suite without it (tests/targets/matrix.sh).
available=()
for p in "${packages[@]}" "${optional[@]}"; do
	if apt-cache "${A[@]}" show "$p" >/dev/null 2>&1; then available+=("$p")
	elif [[ " ${optional[*]} " != *" $p "* ]]; then
		echo "debian-suite.sh: $suite has no package $p" >&2; exit 1
	fi
done
apt-get "${A[@]}" install --download-only -y -q "${available[@]}" >>"$dir/apt.log" 2>&1 ||
	{ tail -n 20 "$dir/apt.log" >&2; echo "debian-suite.sh: downloading $suite's crates failed" >&2; exit 1; }

rm -rf "$dir/root"
mkdir -p "$dir/root"
for deb in "$dir"/apt/cache/archives/librust-*.deb; do
	dpkg-deb -x "$deb" "$dir/root"
done
# Only the crate directories (with their checksums) make the source: the
# packages also ship symlinks and docs that cargo must not see.
rm -rf "$dir/registry"
mkdir -p "$dir/registry"
for crate in "$dir"/root/usr/share/cargo/registry/*/; do
	[ -f "$crate/.cargo-checksum.json" ] && ln -s "$crate" "$dir/registry/$(basename "$crate")"
done
printf '%s' "$want" >"$stamp"
versions

#!/usr/bin/env bash
# wpstack side by side with its peers on generated WordPress hosts (issue 18).
#
#   benches/compare.sh                 # 200, 2,000 and 20,000 sites
#   benches/compare.sh 2000            # one size
#   QUICK=1 benches/compare.sh 200     # one run each: checks that every command works
#
# Builds the release binary, generates each host once under target/bench-hosts/N (the
# generator of tests/generated_host.rs: an nginx site, a php-fpm pool and a wp-config.php
# per site, plus the shared mains), installs the peers when missing (hyperfine from apt;
# gixy-ng and crossplane from PyPI into target/bench-venv; nginx and php-fpm8.2 from apt),
# runs every command with hyperfine (warm cache: warm-up runs first) and once more under
# `/usr/bin/time -f %M` for the peak RSS, and prints one table: tool, sites, median wall,
# ratio to `wpstack check`, peak RSS.
#
# Run it on a quiet machine: the numbers are wall-clock. It is not part of `cargo test`
# or .ci/run (the 20,000-site host alone takes minutes with the slow peers).
# The peers read the nginx part through a copy of nginx.conf whose absolute include
# paths point into the generated tree, php-fpm a copy of php-fpm.conf and the pools
# with users and log paths of this machine (target/bench-compare/peers-N); wpstack
# reads the tree as a copied root, as a user would. A command that fails is listed as
# failed in the table (hyperfine's exit-code check stays on for the peers).
# Environment: THREADS="1 2" (the --threads values also measured; default 1, 2 and
# all cores), PEERS=0 (wpstack only), RUNS (hyperfine --min-runs, default 5), BUILD=0
# (use the release binaries already built).
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"

sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(200 2000 20000)
quick="${QUICK:-0}"
peers="${PEERS:-1}"
runs="${RUNS:-5}"
cores="$(nproc)"
threads="${THREADS:-1 2 $cores}"
threads="$(printf '%s\n' $threads | awk '!seen[$0]++' | tr '\n' ' ')"

out="$root/target/bench-compare"
mkdir -p "$out"

apt_install() {
    if [ "$(id -u)" = 0 ]; then
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
    else
        echo "compare: install $* (apt-get install $*), then run again" >&2
        exit 2
    fi
}

command -v hyperfine >/dev/null 2>&1 || apt_install hyperfine
[ -x /usr/bin/time ] || apt_install time
if [ "$peers" = 1 ]; then
    command -v nginx >/dev/null 2>&1 || apt_install nginx
    command -v php-fpm8.2 >/dev/null 2>&1 || apt_install php8.2-fpm
    venv="$root/target/bench-venv"
    if [ ! -x "$venv/bin/gixy" ] || [ ! -x "$venv/bin/crossplane" ]; then
        python3 -m venv "$venv"
        "$venv/bin/pip" install -q --upgrade pip
        "$venv/bin/pip" install -q gixy-ng crossplane
    fi
fi

if [ "${BUILD:-1}" = 1 ]; then
    echo "building the release binary..." >&2
    cargo build -q --release --bin wpstack --example profile_check
fi
wp="$root/target/release/wpstack"

# hyperfine's options: warm cache, median over several runs; a finding exits 1 (-i).
if [ "$quick" = 1 ]; then
    hf=(hyperfine -N -i --runs 1 --style none)
else
    hf=(hyperfine -N -i --warmup 2 --min-runs "$runs" --style none)
fi

rows="$out/rows.tsv"
: >"$rows"

# measure NAME SITES MAXRC COMMAND...: one run that must exit with at most MAXRC
# (wpstack and gixy exit 1 when they find something; nginx -t and php-fpm -t must
# pass), hyperfine's median, then the peak RSS of one more run.
measure() {
    local name="$1" n="$2" maxrc="$3"
    shift 3
    local json="$out/$n-${name//[^A-Za-z0-9]/_}.json" rc=0
    "$@" >/dev/null 2>"$out/last.err" || rc=$?
    if [ "$rc" -gt "$maxrc" ]; then
        echo "compare: $name failed on $n sites (exit $rc):" >&2
        tail -n 5 "$out/last.err" >&2
        printf '%s\t%s\t-\t-\n' "$name" "$n" >>"$rows"
        return
    fi
    if ! "${hf[@]}" --export-json "$json" -n "$name" -- "$(printf '%q ' "$@")" >/dev/null 2>"$out/last.err"; then
        echo "compare: $name failed on $n sites:" >&2
        cat "$out/last.err" >&2
        printf '%s\t%s\t-\t-\n' "$name" "$n" >>"$rows"
        return
    fi
    local median rss
    median="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["results"][0]["median"])' "$json")"
    rss="$( (/usr/bin/time -f '%M' -o "$out/rss" "$@" >/dev/null 2>&1 || true); tail -n 1 "$out/rss")"
    printf '%s\t%s\t%s\t%s\n' "$name" "$n" "$median" "$rss" >>"$rows"
    printf '  %-34s %6s sites  %8.3f s  %8s KB\n' "$name" "$n" "$median" "$rss" >&2
}

for n in "${sizes[@]}"; do
    host="$root/target/bench-hosts/$n"
    if [ ! -f "$host/.complete" ]; then
        echo "generating $n sites in $host..." >&2
        rm -rf "$host"
        "$root/target/release/examples/profile_check" "$n" "$host"
        touch "$host/.complete"
    fi
    # The peers' views of the same tree, beside it (wpstack never sees them): nginx.conf
    # with its absolute includes pointed into the copy; php-fpm.conf and the pools with
    # what `php-fpm -t` needs on this machine (users that exist, writable log paths).
    peer="$out/peers-$n"
    rm -rf "$peer"
    mkdir -p "$peer/pool.d" "$peer/log"
    sed -e "s#/etc/nginx/#$host/etc/nginx/#g" -e "s#^pid .*#pid $peer/nginx.pid;#" \
        -e "s#/var/log/nginx/#$peer/log/#g" \
        "$host/etc/nginx/nginx.conf" >"$peer/nginx.conf"
    sed -e "s#^include=.*#include=$peer/pool.d/*.conf#" -e "s#^pid = .*#pid = $peer/fpm.pid#" \
        -e "s#^error_log = .*#error_log = $peer/log/fpm.log#" \
        "$host/etc/php/8.2/fpm/php-fpm.conf" >"$peer/php-fpm.conf"
    python3 - "$host/etc/php/8.2/fpm/pool.d" "$peer" <<'PY'
import os, re, sys
src, peer = sys.argv[1], sys.argv[2]
for name in os.listdir(src):
    text = open(os.path.join(src, name)).read()
    text = re.sub(r"(?m)^user = .*", "user = nobody", text)
    text = re.sub(r"(?m)^group = .*", "group = nogroup", text)
    text = re.sub(r"(?m)^listen = /run/php/", "listen = " + peer + "/", text)
    text = re.sub(r"(?m)^slowlog = .*", "slowlog = " + peer + "/log/$pool.slow.log", text)
    open(os.path.join(peer, "pool.d", name), "w").write(text)
PY
    files="$(find "$host" -type f | wc -l)"
    echo "$n sites ($files files):" >&2

    measure "wpstack check --format json" "$n" 1 "$wp" check --format json "$host"
    for t in $threads; do
        measure "wpstack check --threads $t" "$n" 1 "$wp" --threads "$t" check --format json "$host"
    done
    measure "wpstack check --diff" "$n" 1 "$wp" check --diff "$host"
    measure "wpstack tune --ram 64G --cpus 16" "$n" 1 "$wp" tune --ram 64G --cpus 16 "$host"
    measure "cat every file" "$n" 0 sh -c "find '$host' -type f -exec cat {} + >/dev/null"
    if [ "$peers" = 1 ]; then
        measure "nginx -t" "$n" 0 nginx -t -q -p "$host/etc/nginx" -c "$peer/nginx.conf"
        measure "php-fpm8.2 -t" "$n" 0 php-fpm8.2 -t -p "$peer" -y "$peer/php-fpm.conf"
        measure "crossplane parse" "$n" 0 "$venv/bin/crossplane" parse -o /dev/null "$peer/nginx.conf"
        measure "gixy-ng" "$n" 1 "$venv/bin/gixy" "$peer/nginx.conf"
    fi
done

# One table: ratio = the tool's median / `wpstack check --format json` at the same size.
python3 - "$rows" "$(date -u +%Y-%m-%d)" "$cores" "$(uname -m)" <<'EOF'
import sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
base = {n: float(m) for (t, n, m, r) in rows if t == "wpstack check --format json" and m != "-"}
print(f"{sys.argv[2]}, {sys.argv[3]} cores ({sys.argv[4]}), warm cache, median of hyperfine runs")
print()
print("| tool | sites | median wall | ratio to wpstack check | peak RSS |")
print("|---|---|---|---|---|")
for t, n, m, r in rows:
    if m == "-":
        print(f"| {t} | {int(n):,} | failed | | |")
        continue
    ratio = f"{float(m) / base[n]:.1f}x" if n in base else ""
    rss = f"{int(r) / 1024:.0f} MB" if r.isdigit() else r
    print(f"| {t} | {int(n):,} | {float(m):.3f} s | {ratio} | {rss} |")
EOF

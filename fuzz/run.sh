#!/bin/sh
# fuzz/run.sh SECONDS [TARGET...]: seed each target's corpus (fuzz/corpus/, not in git)
# from ../shared/corpus and the fixtures, then run each target for SECONDS under
# `nice -n 19`, one after the other. Crashes land in fuzz/artifacts/TARGET/; each one
# becomes a regression test in tests/fuzz_regressions.rs.
set -eu
secs=${1:?usage: fuzz/run.sh SECONDS [TARGET...]}
shift
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
corpus_src=${WPSTACK_CORPUS:-$top/../shared/corpus}
targets=${*:-nginx_parse ini_parse php_parse mycnf_parse check_fix}

seed() { # seed TARGET FILE...
    mkdir -p "$here/corpus/$1"
    t=$1
    shift
    for f in "$@"; do
        [ -f "$f" ] || continue
        n=$(cksum <"$f" | cut -d' ' -f1)
        cp -n "$f" "$here/corpus/$t/seed-$n" 2>/dev/null || true
    done
}

find_kind() { # find_kind PATTERN...: files of the shared corpus and fixtures by name
    for d in "$corpus_src" "$top/fixtures"; do
        [ -d "$d" ] || continue
        for p in "$@"; do find "$d" -type f -name "$p" -size -64k; done
    done
}

# shellcheck disable=SC2046
seed nginx_parse $(find_kind '*.conf' 'nginx*' '*.types' 'site*' 'default' | grep -v -e php-fpm -e pool -e '/php/' || true)
# shellcheck disable=SC2046
seed ini_parse $(find_kind '*.ini' '*.ini-*' 'www.conf' '*pool*' 'php-fpm.conf')
# shellcheck disable=SC2046
seed php_parse $(find_kind '*.php')
# shellcheck disable=SC2046
seed mycnf_parse $(find_kind '*.cnf')
# check_fix: [name byte] site \0 pool \0 php.ini \0 wp-config.php, from the fixture stacks.
mkdir -p "$here/corpus/check_fix"
for s in "$top"/fixtures/stacks/*/; do
    site=$(find "$s" -path '*sites-enabled/*' -type f | head -n1)
    pool=$(find "$s" -path '*pool.d/*' -type f | head -n1)
    ini=$(find "$s" -name php.ini -type f | head -n1)
    wp=$(find "$s" -name wp-config.php -type f | head -n1)
    [ -n "$site$pool" ] || continue
    out="$here/corpus/check_fix/seed-$(basename "$s")"
    {
        printf '\000'
        sed 's#root [^;]*;#root /var/www/site;#' "${site:-/dev/null}"
        printf '\000'
        cat "${pool:-/dev/null}"
        printf '\000'
        cat "${ini:-/dev/null}"
        printf '\000'
        cat "${wp:-/dev/null}"
    } >"$out"
done

cd "$here"
for t in $targets; do
    echo "== $t: ${secs}s"
    mkdir -p "artifacts/$t"
    nice -n 19 cargo +nightly fuzz run "$t" "corpus/$t" -- \
        -max_total_time="$secs" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 2>&1 | tee "artifacts/$t/last-run.log" | grep -E '^(#[0-9]+.*(DONE|pulse)|stat::|==|SUMMARY|artifact_prefix|Test unit written)' || true
done

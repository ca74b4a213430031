#!/bin/sh
# Regenerate data/php-ini-keys.tsv: every ini directive PHP registers (its own ini
# tables: PHP_INI_ENTRY*/STD_PHP_INI_* of the core, the bundled extensions and the
# common PECL ones), as `key<TAB>extension`, read from a real PHP with every extension
# loaded (`ini_get_all()` per extension), so the list is what PHP itself accepts.
#
# Usage: scripts/gen-php-ini-keys.sh [PHP_VERSION]   (default 8.2; Debian/Ubuntu)
#   It downloads (apt-get download, never installs) the php$V-* extension packages and
#   the libraries they need into a temp dir, loads them all with `php -n`, and prints
#   the table on stdout. Keys of other PHP versions (8.1, 8.3, 8.4) that 8.2 lacks are
#   kept by hand at the end of data/php-ini-keys.tsv (section "# other versions"),
#   each with its source; rerun this with another version's packages (e.g. from
#   packages.sury.org) to regenerate them.
set -eu
V=${1:-8.2}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
cd "$T"
EXTS="apcu bcmath bz2 curl dba enchant gd gmp igbinary imagick imap intl ldap mbstring memcached msgpack odbc pgsql pspell redis snmp soap sqlite3 sybase tidy xdebug xml xsl zip interbase"
for e in $EXTS; do apt-get download "php$V-$e" >/dev/null 2>&1 || echo "no package php$V-$e" >&2; done
LIBS="libfftw3-double3 libltdl7 libtommath1 libhashkit2 liblqr-1-0 libmemcachedutil2 libmagickcore-6.q16-6 libmagickwand-6.q16-6 libaspell15 libc-client2007e libenchant-2-2 libfbclient2 liblmdb0 libmemcached11 libsnmp40 libodbc2 libqdbm14 libsybdb5 libtidy5deb1 libzip4"
for l in $LIBS; do apt-get download "$l" >/dev/null 2>&1 || echo "no package $l" >&2; done
for d in *.deb; do dpkg-deb -x "$d" x; done
ED=$(ls -d x/usr/lib/php/2*)
export LD_LIBRARY_PATH="$T/x/usr/lib/x86_64-linux-gnu"
SYS=$(php$V -n -r 'echo ini_get("extension_dir");')
# The distribution's own shared extensions (php$V-common, -opcache, -mysql… as
# installed), pdo, dom and mysqlnd first: pdo_* need pdo, xmlreader/xsl dom, mysqli mysqlnd.
ARGS="-d display_startup_errors=0 -d display_errors=stderr"
for so in "$SYS"/pdo.so "$SYS"/dom.so "$SYS"/mysqlnd.so "$SYS"/*.so; do
  [ -f "$so" ] || continue
  n=$(basename "$so" .so)
  [ -f "$ED/$n.so" ] && continue
  case " $ARGS " in *"/$n.so "*) continue ;; esac
  case "$n" in opcache|xdebug) ARGS="$ARGS -d zend_extension=$so" ;; *) ARGS="$ARGS -d extension=$so" ;; esac
done
# Then the downloaded ones, serializers before redis.
for n in pdo xml dom simplexml igbinary msgpack apcu; do
  [ -f "$ED/$n.so" ] && ARGS="$ARGS -d extension=$T/$ED/$n.so"
done
for so in "$ED"/*.so; do
  n=$(basename "$so" .so)
  case "$n" in pdo|xml|dom|simplexml|igbinary|msgpack|apcu) continue ;; xdebug) ARGS="$ARGS -d zend_extension=$T/$so" ;; *) ARGS="$ARGS -d extension=$T/$so" ;; esac
done
# shellcheck disable=SC2086
php$V -n -d extension_dir="$SYS" $ARGS -r '
  $seen = [];
  foreach (get_loaded_extensions() as $e) {
    $ini = @ini_get_all($e, false);
    if (!$ini) continue;
    foreach (array_keys($ini) as $k) { if (!isset($seen[$k])) { $seen[$k] = strtolower($e); } }
  }
  foreach (array_keys(ini_get_all(null, false)) as $k) { if (!isset($seen[$k])) { $seen[$k] = "core"; } }
  ksort($seen);
  echo "# PHP ", PHP_VERSION, " ini directives, from ini_get_all() with these extensions loaded:\n";
  echo "# ", implode(" ", array_map("strtolower", get_loaded_extensions())), "\n";
  foreach ($seen as $k => $e) { echo $k, "\t", $e, "\n"; }
' 2> "$T/err"
grep -i "warning" "$T/err" >&2 || true
# The FPM SAPI's own directives (cgi.*, fastcgi.*, fpm.*): the CLI does not register
# them, php-fpm's phpinfo lists them.
if command -v "php-fpm$V" >/dev/null 2>&1; then
  "php-fpm$V" -n -i 2>/dev/null | grep -E '^(cgi|fastcgi|fpm)\.[a-z0-9_.]+ =>' | awk '{print $1 "\tfpm-fcgi"}'
fi

#!/usr/bin/env bash
# Every suite again, on servers that run the extension built with
# AddressSanitizer and UBSan (`make sanitize` runs this).
#
#   bash tools/sanitize.sh                      # in a new directory under /tmp
#   SANITIZE_DIR=/tmp/es-mine bash tools/sanitize.sh
#
# A copy of the tree ($SANITIZE_DIR/tree) is built with the sanitizers and
# installed into a private DESTDIR ($SANITIZE_DIR/install) that the test
# servers load through Debian's extension_destdir (test/run_all.sh's
# EVENT_STORE_DESTDIR): nothing is installed system-wide, so other servers
# are unaffected, and runs with different SANITIZE_DIRs do not meet.  The
# ASan runtime is preloaded into the servers (LD_PRELOAD, through
# EVENT_STORE_SERVER_ENV of test/run_all.sh), followed by
# tools/sanitize_preload.c, without which Debian's postgres hangs before
# main() (see there).  Reports go to $SANITIZE_DIR/reports; any report fails
# the run.  Needs root, like the suites.
#
#   PG_CFLAGS   the warning flags of the Makefile (`make sanitize` passes them)
set -u
cd "$(dirname "$0")/.."

PG_CONFIG=${PG_CONFIG:-pg_config}
CC=${CC:-cc}
flags="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined"
dir=${SANITIZE_DIR:-$(mktemp -d /tmp/event_store_sanitize.XXXXXX)}

rm -rf "$dir" && mkdir -p "$dir/reports" "$dir/tree" || exit 1
tar --exclude=.git --exclude='*.o' --exclude='*.bc' --exclude='*.so' --exclude=_build -cf - . |
    tar -C "$dir/tree" -xf - || exit 1
# Built once here; test/run_all.sh's own `make all` then finds it up to date
# and installs it into the DESTDIR.
make -s -C "$dir/tree" PG_CONFIG="$PG_CONFIG" \
    PG_CFLAGS="${PG_CFLAGS:-} $flags" SHLIB_LINK="$flags" >/dev/null || exit 1
"$CC" -O2 -Wall -shared -fPIC -o "$dir/sanitize_preload.so" tools/sanitize_preload.c -ldl || exit 1
chmod -R a+rwX "$dir" && chmod 1777 "$dir/reports"

EVENT_STORE_DESTDIR="$dir/install" \
EVENT_STORE_SERVER_ENV="LD_PRELOAD=$("$CC" -print-file-name=libasan.so):$dir/sanitize_preload.so \
    ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:log_path=$dir/reports/asan \
    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:log_path=$dir/reports/ubsan" \
    bash "$dir/tree/test/run_all.sh"
rc=$?

reports=$(find "$dir/reports" -type f -size +0 | sort)
for f in $reports; do
    echo "==== $f"
    head -60 "$f"
done
echo "sanitize: suites exit $rc, $(echo $reports | wc -w) sanitizer report(s) in $dir/reports"
[ "$rc" -eq 0 ] && [ -z "$reports" ]

#!/bin/sh
# web_outoftree.sh - the webdav, http and pipe connectors build outside the tree
#
# Each is compiled from its sources alone, the way a third party would:
# the connector ABI header (as pkg-config gatewayd-connector gives it),
# the public libraries' flags, no config.h, and of gatewayd/ only the MIME
# structure scanner of the shared library, compiled in (gatewayd/lib/
# mimescan.c needs nothing of the daemon).
# The header dependencies are checked (cc -M), and the shared object
# must export the descriptor gatewayd_connector.  Exit 77 (skip) without
# a compiler or pkg-config.

top_srcdir=${GW_TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
top_builddir=${GW_TOP_BUILDDIR:-$top_srcdir}
cc=${GW_TEST_CC:-cc}
command -v "$cc" >/dev/null 2>&1 && command -v pkg-config >/dev/null 2>&1 || exit 77
libs="libcurl gmime-3.0 openssl"
cflags="-D_GNU_SOURCE -I$top_builddir/include -I$top_srcdir/gatewayd/lib $(pkg-config --cflags $libs)" || exit 1
c=$top_srcdir/connectors
folder="$c/folder_mime.c $c/folder_template.c $c/folder_uu.c $c/folder_write.c $top_srcdir/gatewayd/lib/mimescan.c"
web="$c/web_config.c $c/web_curl.c $c/web_doc.c $c/web_parse.c $c/folder_config.c $folder"
pipe="$c/pipe_argv.c $c/pipe_attach.c $c/pipe_config.c $c/pipe_run.c $folder"
work=$(mktemp -d /tmp/gw-web-oot-XXXXXX) || exit 1
trap 'rm -rf "$work"' EXIT
status=0
for conn in webdav http pipe; do
	if [ $conn = pipe ]; then common=$pipe; else common=$web; fi
	# shellcheck disable=SC2086
	if ! "$cc" -shared -fPIC -Wall -Wextra -Werror $cflags "$c/$conn.c" $common \
	    -o "$work/$conn.so" $(pkg-config --libs $libs) 2>"$work/err"; then
		echo "web_outoftree: $conn.so does not build out of tree:"; cat "$work/err"
		status=1
		continue
	fi
	# shellcheck disable=SC2086
	deps=$("$cc" -M $cflags "$c/$conn.c" $common | tr ' \\' '\n\n' | grep -v '^$')
	if echo "$deps" | grep -E "/gatewayd/[^/]+\.h$|(^|/)config\.h$" | grep -v -E "include/gatewayd/connector.h|gatewayd/lib/mimescan.h"; then
		echo "web_outoftree: $conn uses a private header (above)"
		status=1
	fi
	if ! nm -D --defined-only "$work/$conn.so" | grep -q " gatewayd_connector$"; then
		echo "web_outoftree: $conn.so does not export gatewayd_connector"
		status=1
	fi
done
[ $status -eq 0 ] && echo "web_outoftree: webdav.so, http.so and pipe.so built against <gatewayd/connector.h> and the shared MIME scanner alone"
exit $status

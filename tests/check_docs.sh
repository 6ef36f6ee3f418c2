#!/bin/sh
# check_docs.sh - fail when a configuration key is undocumented
#
# The loader itself lists the keys it accepts ("check_cfg --keys", one
# dotted path per line).  Each key must appear in doc/gatewayd.yaml.5.in as
# the full dotted path at the start of an ".It Ic" line, and its last
# component must appear as a YAML key (possibly commented out) in the
# sample etc/gatewayd.yaml.in.  Run by "make check" with GW_TOP_SRCDIR and
# GW_TOP_BUILDDIR set; prints what is missing and exits 1.

top_srcdir=${GW_TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
top_builddir=${GW_TOP_BUILDDIR:-$top_srcdir}
man="$top_srcdir/doc/gatewayd.yaml.5.in"
sample="$top_srcdir/etc/gatewayd.yaml.in"
lister="$top_builddir/tests/check_cfg"

for f in "$man" "$sample"; do
	if [ ! -r "$f" ]; then
		echo "check_docs: cannot read $f" >&2
		exit 1
	fi
done
if [ ! -x "$lister" ]; then
	echo "check_docs: $lister not built" >&2
	exit 1
fi

keys=$("$lister" --keys) || {
	echo "check_docs: $lister --keys failed" >&2
	exit 1
}
if [ -z "$keys" ]; then
	echo "check_docs: $lister --keys listed no keys" >&2
	exit 1
fi

status=0
count=0
for key in $keys; do
	count=$((count + 1))
	# Keys are [a-z0-9_.]: escape the dots for the regular expressions.
	re=$(printf '%s' "$key" | sed 's/\./\\./g')
	if ! grep -Eq "^\\.It Ic $re( |\$)" "$man"; then
		echo "check_docs: key '$key' is not documented in doc/gatewayd.yaml.5 (expected a line '.It Ic $key ...')"
		status=1
	fi
	last=${key##*.}
	# "last:" as a key: at line start, after "#", "- ", "{" or ",".
	if ! grep -Eq "^[[:space:]]*#?[[:space:]]*(-[[:space:]]+)?$last:|[{,][[:space:]]*$last:" "$sample"; then
		echo "check_docs: key '$key' is missing from etc/gatewayd.yaml (expected '$last:', commented out if optional)"
		status=1
	fi
done
if [ $status -eq 0 ]; then
	echo "check_docs: all $count configuration keys are documented"
fi
exit $status

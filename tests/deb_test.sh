#!/usr/bin/env bash
# tests/deb_test.sh - the Debian packages built, checked, installed, run,
# upgraded with a changed conffile, removed and purged (issue 17, point 3).
#
# Run by .ci/run as its own step (not by make check), as root on the CI
# machine itself: it installs the packages there with dpkg -i and purges
# them at the end (the runtime libraries are the build dependencies'
# packages, already installed; a throw-away root would need a whole Debian).
# Needs debhelper, lintian and fakeroot (.ci/run installs them for this
# step only).  Each step has a time bound; the whole run is limited to
# DEB_TEST_TIMEOUT seconds (default 1200).  Prints each step's duration.
# DEB_TEST_LINTIAN=0 skips lintian (about 1-2 minutes here);
# DEB_TEST_PREBUILT=DIR takes the .deb and .changes files of DIR instead
# of building them.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
[ "$(id -u)" -eq 0 ] || { echo "deb_test: must run as root (dpkg -i)"; exit 1; }
if [ -z "${DEB_TEST_INNER:-}" ]; then
	DEB_TEST_INNER=1 exec timeout --kill-after=30 "${DEB_TEST_TIMEOUT:-1200}" "$0" "$@"
fi
export DEBIAN_FRONTEND=noninteractive
work=$(mktemp -d "${TMPDIR:-/tmp}/gatewayd-deb.XXXXXX")
chmod 755 "$work"
pidfile=/run/gatewayd.pid
conf=/etc/gatewayd/gatewayd.yaml
out=/var/spool/gatewayd-out
fails=0

step_start=0
step() { step_start=$(date +%s); echo "== deb_test: $*"; }
done_step() { echo "   ($(( $(date +%s) - step_start ))s)"; }
fail() { echo "FAIL deb_test: $*"; fails=$((fails + 1)); }
die() { echo "FAIL deb_test: $*"; stop_daemon; cleanup_pkgs; echo "0 passed, 1 failed"; exit 1; }

stop_daemon() {
	local pid i
	[ -s "$pidfile" ] || return 0
	pid=$(cat "$pidfile")
	kill -TERM "$pid" 2>/dev/null || return 0
	for i in $(seq 1 300); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
	kill -KILL "$pid" 2>/dev/null || true
}
cleanup_pkgs() { dpkg --purge gatewayd-dev gatewayd >/dev/null 2>&1 || true; rm -rf "$out"; }

# A free loopback port below the kernel's ephemeral range.
free_port() {
	python3 - <<'PY'
import random, socket
lo = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
for _ in range(200):
    p = random.randint(20000, lo - 1)
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p)); print(p); break
    except OSError:
        pass
    finally:
        s.close()
PY
}

# send_and_wait PORT TAG - one message through the installed daemon; 0 when
# it was filed into the sample's folder within 30 s.
send_and_wait() {
	timeout 60 python3 - "$1" "$2" "$out" <<'PY'
import os, smtplib, sys, time
port, tag, out = int(sys.argv[1]), sys.argv[2], sys.argv[3]
s = smtplib.SMTP("127.0.0.1", port, timeout=20)
s.sendmail("sender@client.test", ["scans@localhost"],
           "Subject: %s\r\n\r\npackage test %s\r\n" % (tag, tag))
s.quit()
deadline = time.time() + 30
while time.time() < deadline:
    for root, _d, files in os.walk(out):
        for f in files:
            if f.startswith("."):
                continue    # the connector's file still being written
            with open(os.path.join(root, f), "rb") as fp:
                if ("package test %s" % tag).encode() in fp.read():
                    print("   delivered to", os.path.join(root, f)); sys.exit(0)
    time.sleep(0.2)
sys.exit("not delivered within 30 s")
PY
}

# start_daemon PORT - the installed binary with the installed configuration,
# as the unit runs it (systemd is not PID 1 here).
start_daemon() {
	local i
	/usr/sbin/gatewayd -n -c "$conf" || return 1
	/usr/sbin/gatewayd -c "$conf" || return 1
	for i in $(seq 1 200); do
		grep -q "^receiver .* ready$" <<<"$(gatewayctl status 2>/dev/null)" && return 0
		sleep 0.1
	done
	return 1
}

total_start=$(date +%s)
cleanup_pkgs
trap 'stop_daemon; cleanup_pkgs; rm -rf "$work"' EXIT

step "build the packages (dpkg-buildpackage -us -uc -b)"
if [ -n "${DEB_TEST_PREBUILT:-}" ]; then
	# Packages built before (a developer's rerun): copied, not rebuilt.
	cp "$DEB_TEST_PREBUILT"/gatewayd_*.deb "$DEB_TEST_PREBUILT"/gatewayd-dev_*.deb \
	    "$DEB_TEST_PREBUILT"/gatewayd_*.changes "$work"/
else
	src="$work/gatewayd-src"
	mkdir "$src"
	(cd "$top" && git ls-files -z -c | tar --null -T - -cf - | tar -xpf - -C "$src")
	(cd "$src" && DEB_BUILD_OPTIONS="nocheck noautodbgsym parallel=$(nproc)" \
	    timeout 900 dpkg-buildpackage -us -uc -b >"$work/build.log" 2>&1) ||
	    { tail -n 40 "$work/build.log"; die "dpkg-buildpackage failed"; }
fi
deb=$(ls "$work"/gatewayd_*_*.deb)
devdeb=$(ls "$work"/gatewayd-dev_*_*.deb)
version=$(dpkg-deb -f "$deb" Version)
echo "   built $(basename "$deb") $(basename "$devdeb")"
done_step

if [ "${DEB_TEST_LINTIAN:-1}" = 1 ]; then
	step "lintian (errors fail, warnings listed)"
	timeout 600 lintian "$work"/gatewayd_*.changes >"$work/lintian.log" 2>&1 || true
	grep -E '^[EW]: ' "$work/lintian.log" | sed 's/^/   /' || true
	grep -q '^E: ' "$work/lintian.log" && fail "lintian reports errors"
	done_step
fi

step "what the package holds"
contents=$(dpkg-deb -c "$deb" | awk '{print $6}')
for f in ./usr/sbin/gatewayd ./usr/sbin/gatewayctl ./usr/libexec/gatewayd/gatewayd-receiver \
    ./usr/libexec/gatewayd/gatewayd-worker ./lib/systemd/system/gatewayd.service \
    ./usr/lib/sysusers.d/gatewayd.conf ./usr/lib/tmpfiles.d/gatewayd.conf \
    ./etc/gatewayd/gatewayd.yaml ./usr/share/man/man8/gatewayd.8.gz; do
	grep -qx -- "$f" <<<"$contents" || fail "$f not in $(basename "$deb")"
done
grep -q '/connectors/smtp\.so$' <<<"$contents" || fail "no smtp.so"
grep -q '\.la$' <<<"$contents" && fail "a .la in the package"
# (Listings in variables: grep -q on a pipe would fail it under pipefail.)
devcontents=$(dpkg-deb -c "$devdeb")
grep -q 'include/gatewayd/connector.h$' <<<"$devcontents" || fail "no header in -dev"
grep -q 'pkgconfig/gatewayd-connector.pc$' <<<"$devcontents" || fail "no .pc in -dev"
grep -qx -- ./etc/gatewayd/recipes/hylafax.yaml <<<"$contents" || fail "no HylaFAX recipe"
want_conffiles=$(printf '%s\n' "$conf" /etc/gatewayd/recipes/hylafax.yaml)
[ "$(dpkg-deb -I "$deb" conffiles)" = "$want_conffiles" ] ||
    fail "conffiles are not $want_conffiles: $(dpkg-deb -I "$deb" conffiles)"
done_step

step "install (dpkg -i)"
dpkg -i "$deb" "$devdeb" >"$work/install.log" 2>&1 || { cat "$work/install.log"; die "dpkg -i failed"; }
for u in _gatewayd _gatewayd-recv; do
	id -u "$u" >/dev/null 2>&1 || fail "postinst did not make user $u"
done
[ "$(stat -c '%U %a' /var/spool/gatewayd 2>/dev/null)" = "root 755" ] ||
    fail "postinst did not make /var/spool/gatewayd root 0755"
grep -qx "gatewayd (gatewayd) ${version%-*}" <<<"$(/usr/sbin/gatewayd --version)" ||
    fail "the installed gatewayd --version is not ${version%-*}"
pkg-config --exists gatewayd-connector || fail "pkg-config does not find gatewayd-connector"
done_step

step "start the installed daemon with the (edited) conffile, send a message"
port=$(free_port)
# The administrator's change: another port.  It makes the conffile differ
# from the package's for the upgrade below.
sed -i "s/^    port: 25 /    port: $port /" "$conf"
grep -q "port: $port " "$conf" || die "could not edit $conf"
start_daemon || die "the installed gatewayd did not start"
send_and_wait "$port" first || fail "no delivery before the upgrade"
grep -q "^master .*gatewayd ${version%-*}$" <<<"$(gatewayctl status)" || fail "status shows no version"
gatewayctl reload >/dev/null || fail "gatewayctl reload of the valid configuration"
# The unit's ExecReload: a configuration the daemon refuses fails the command.
cp "$conf" "$work/conf.good"
echo "no_such_key: 1" >>"$conf"
if gatewayctl reload >/dev/null 2>&1; then fail "gatewayctl reload of a refused configuration exits 0"; fi
cp "$work/conf.good" "$conf"
send_and_wait "$port" after-refused || fail "no delivery after a refused reload"
stop_daemon
done_step

step "upgrade to a locally bumped version whose conffile changed"
new="$work/new"
dpkg-deb -R "$deb" "$new"
newversion="$version+deb1"
sed -i "s/^Version: .*/Version: $newversion/" "$new/DEBIAN/control"
printf '\n# gatewayd %s: a line the new package adds\n' "$newversion" >>"$new/etc/gatewayd/gatewayd.yaml"
(cd "$new" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | xargs -0 md5sum >DEBIAN/md5sums)
dpkg-deb -b --root-owner-group "$new" "$work/gatewayd_${newversion}_bumped.deb" >/dev/null
dpkg -i --force-confold "$work/gatewayd_${newversion}_bumped.deb" >"$work/upgrade.log" 2>&1 ||
    { cat "$work/upgrade.log"; die "upgrade failed"; }
[ "$(dpkg-query -W -f='${Version}' gatewayd)" = "$newversion" ] || fail "not upgraded to $newversion"
grep -q "port: $port " "$conf" || fail "the upgrade replaced the edited conffile"
grep -q "a line the new package adds" "$conf.dpkg-dist" 2>/dev/null ||
    fail "the new conffile is not beside it as $conf.dpkg-dist"
start_daemon || die "gatewayd did not start after the upgrade"
send_and_wait "$port" second || fail "no delivery after the upgrade"
stop_daemon
done_step

step "remove, then purge"
dpkg --remove gatewayd-dev gatewayd >"$work/remove.log" 2>&1 || { cat "$work/remove.log"; fail "dpkg --remove"; }
[ ! -e /usr/sbin/gatewayd ] || fail "/usr/sbin/gatewayd left after remove"
[ -e "$conf" ] || fail "remove (not purge) took the conffile"
dpkg --purge gatewayd-dev gatewayd >"$work/purge.log" 2>&1 || { cat "$work/purge.log"; fail "dpkg --purge"; }
for p in /etc/gatewayd /var/spool/gatewayd /usr/libexec/gatewayd /lib/systemd/system/gatewayd.service \
    /usr/lib/sysusers.d/gatewayd.conf /usr/include/gatewayd; do
	[ ! -e "$p" ] || fail "$p left after purge"
done
status=$(dpkg-query -W -f='${Status}' gatewayd 2>/dev/null || true)
[ -z "$status" ] || [ "$status" = "unknown ok not-installed" ] || fail "dpkg still has gatewayd: $status"
echo "   left on purpose: the users _gatewayd and _gatewayd-recv," \
    "and the folder connector's $out (this test removes it at exit)"
done_step

echo "deb_test: $(( $(date +%s) - total_start ))s in all"
if [ "$fails" -eq 0 ]; then echo "1 passed, 0 failed"; else echo "0 passed, 1 failed"; exit 1; fi

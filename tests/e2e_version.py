#!/usr/bin/env python3
"""--version and --help on every program (exit 0, on stdout, the package
version), a usage error still exit 64 on stderr, and the version in
`gatewayctl status` (text and JSON) and in the master's and the receiver's
start-up log lines."""
import json
import os
import re
import subprocess

from gwtest import GATEWAYD, GATEWAYCTL, LIBEXEC, TOP_BUILDDIR, Gateway, check, main

PROGRAMS = [GATEWAYD, GATEWAYCTL] + [os.path.join(LIBEXEC, "gatewayd-" + r)
                                     for r in ("receiver", "router", "worker", "recognizer")]


def package_version():
    """PACKAGE_VERSION from the build tree's config.h."""
    with open(os.path.join(TOP_BUILDDIR, "config.h")) as f:
        m = re.search(r'#define PACKAGE_VERSION "([^"]+)"', f.read())
    check(m is not None, "config.h defines PACKAGE_VERSION")
    return m.group(1)


def run(argv):
    # stdin closed and no fd 3/4: a child must answer before it looks for them.
    return subprocess.run(argv, capture_output=True, text=True, timeout=30,
                          stdin=subprocess.DEVNULL)


def check_program(path, version):
    name = os.path.basename(path)
    r = run([path, "--version"])
    check(r.returncode == 0, "%s --version exits 0: %d %r" % (name, r.returncode, r.stderr))
    first = r.stdout.splitlines()[0] if r.stdout else ""
    check(first == "%s (gatewayd) %s" % (name, version),
          "%s --version's first line: %r" % (name, first))
    check("Apache-2.0" in r.stdout, "%s --version names the licence" % name)
    r = run([path, "--help"])
    check(r.returncode == 0, "%s --help exits 0: %d %r" % (name, r.returncode, r.stderr))
    check(r.stdout.startswith("usage: ") and "--version" in r.stdout and r.stderr == "",
          "%s --help prints the usage on stdout: %r %r" % (name, r.stdout, r.stderr))
    r = run([path, "--no-such-option"])
    check(r.returncode == 64, "%s with an unknown option exits 64: %d" % (name, r.returncode))
    check(r.stdout == "", "%s writes a usage error to stderr only" % name)


def test():
    version = package_version()
    for path in PROGRAMS:
        check_program(path, version)

    gw = Gateway("version")
    ok = False
    try:
        gw.start()
        text = gw.ctl("status")
        check(("gatewayd %s" % version) in text.splitlines()[0],
              "status names the version on its first line: %r" % text)
        st = json.loads(gw.ctl("status", json=True))
        check(st.get("version") == version, "status --json has version: %r" % st.get("version"))
        log = gw.read_log()
        check(re.search(r"gatewayd %s started \(pid" % re.escape(version), log),
              "the master's start-up line has the version")
        check(re.search(r"ready: .*gatewayd %s" % re.escape(version), log),
              "the receiver's ready line has the version")
        ok = True
    finally:
        gw.stop()
        gw.cleanup(ok)


if __name__ == "__main__":
    main(test)

#!/usr/bin/env python3
"""e2e_install - `make install` and `make uninstall` as a package would.

Twice `make install DESTDIR=<tmp>` with the configuration edited in
between: the edited gatewayd.yaml is kept and the new sample is written
beside it as gatewayd.yaml.sample; `make uninstall` removes everything but
the edited file (an unedited one goes too).  No libtool archive is
installed (the connectors are the .so the worker dlopen()s).  The systemd
unit (ExecReload through gatewayctl, network-online.target, LimitNOFILE),
the sysusers.d and the tmpfiles.d files are installed; the unit passes
`systemd-analyze verify` and the other two systemd's own dry runs where
systemd is installed.  The installed man pages and sample show the
configured paths, with no @placeholder@ left.
"""
import os
import re
import shutil
import subprocess
import tempfile

import gwtest
from gwtest import check, main


def sub_env():
    """The environment without the make of `make check` (its jobserver)."""
    env = dict(os.environ)
    for k in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES", "DESTDIR"):
        env.pop(k, None)
    return env


def make(target, destdir):
    r = subprocess.run(["make", "-C", gwtest.TOP_BUILDDIR, target, "DESTDIR=" + destdir],
                       capture_output=True, text=True, timeout=300, env=sub_env())
    check(r.returncode == 0, "make %s DESTDIR failed:\n%s" % (target, r.stderr[-3000:]))
    return r.stdout


def files(top):
    """Every file (not directory) under top, as paths relative to it."""
    out = []
    for root, _dirs, names in os.walk(top):
        out += [os.path.relpath(os.path.join(root, n), top) for n in names]
    return sorted(out)


def one(found, suffix):
    hits = [f for f in found if f.endswith(suffix)]
    check(len(hits) == 1, "exactly one %s installed: %s" % (suffix, hits))
    return hits[0]


def configured(var):
    """A variable of the build's top Makefile (configure's value)."""
    m = re.search(r"^%s = (.*)$" % var, read(os.path.join(gwtest.TOP_BUILDDIR, "Makefile")), re.M)
    check(m is not None, "the Makefile sets %s" % var)
    return m.group(1).strip()


def read(path):
    with open(path) as f:
        return f.read()


def check_placeholders(destdir, found, conf):
    """Man pages and the sample name the configured paths."""
    conf_path = "/" + conf
    spool = None
    for f in found:
        if "/man/" in f or f.endswith("gatewayd.yaml") or f.endswith(".conf") \
                or f.endswith(".service"):
            left = re.findall(r"@[A-Za-z_]+@", read(os.path.join(destdir, f)))
            check(not left, "%s has unsubstituted %s" % (f, sorted(set(left))))
    for page in ("man8/gatewayd.8", "man8/gatewayctl.8", "man5/gatewayd.yaml.5"):
        text = read(os.path.join(destdir, one(found, page)))
        check(conf_path in text, "%s names the configured %s" % (page, conf_path))
    tmpfiles = read(os.path.join(destdir, one(found, "tmpfiles.d/gatewayd.conf")))
    m = re.search(r"^d (\S+/spool/gatewayd) 0755 root root", tmpfiles, re.M)
    check(m is not None, "tmpfiles.d makes the spool: %r" % tmpfiles)
    spool = m.group(1)
    check("#spool: %s\n" % spool in read(os.path.join(destdir, conf)),
          "the sample shows the configured spool %s" % spool)
    check(spool in read(os.path.join(destdir, one(found, "man5/gatewayd.yaml.5"))),
          "gatewayd.yaml(5) shows the configured spool")
    return spool


def check_unit(destdir, found, work):
    """The unit's contents, and systemd's verdict on the three files."""
    unit = read(os.path.join(destdir, one(found, "systemd/system/gatewayd.service")))
    for want in (r"^ExecReload=/\S+/gatewayctl -c /\S+/gatewayd\.yaml reload$",
                 r"^After=network-online\.target$", r"^Wants=network-online\.target$",
                 r"^LimitNOFILE=(\d+)$"):
        check(re.search(want, unit, re.M), "the unit has %s" % want)
    nofile = int(re.search(r"^LimitNOFILE=(\d+)$", unit, re.M).group(1))
    check(nofile >= 2 * 1000 + 64, "LimitNOFILE %d fits the default max_sessions" % nofile)
    sysusers = one(found, "sysusers.d/gatewayd.conf")
    text = read(os.path.join(destdir, sysusers))
    for u in (configured("GW_USER"), configured("GW_RECEIVER_USER")):
        check(re.search(r"^u %s - " % re.escape(u), text, re.M), "sysusers.d makes %s" % u)
    if not shutil.which("systemd-analyze"):
        print("systemd-analyze not installed: unit not verified")
        return
    # The unit names the installed programs: point it at DESTDIR's copies.
    prefix = os.path.dirname(os.path.dirname("/" + one(found, "sbin/gatewayd")))
    copy = os.path.join(work, "gatewayd.service")
    with open(copy, "w") as f:
        f.write(unit.replace(prefix + "/sbin/", destdir + prefix + "/sbin/"))
    r = subprocess.run(["systemd-analyze", "verify", "--man=no", copy],
                       capture_output=True, text=True, timeout=60)
    check(r.returncode == 0 and "gatewayd.service" not in r.stderr,
          "systemd-analyze verify: %d %s" % (r.returncode, r.stderr))
    root = os.path.join(work, "root")
    os.makedirs(os.path.join(root, "etc"))
    r = subprocess.run(["systemd-sysusers", "--dry-run", "--root=" + root,
                        os.path.join(destdir, sysusers)],
                       capture_output=True, text=True, timeout=60)
    check(r.returncode == 0 and
          "Creating user '%s'" % configured("GW_RECEIVER_USER") in r.stdout + r.stderr,
          "systemd-sysusers --dry-run: %d %s %s" % (r.returncode, r.stdout, r.stderr))
    return root


def check_tmpfiles(destdir, found, root, spool):
    r = subprocess.run(["systemd-tmpfiles", "--create", "--root=" + root,
                        os.path.join(destdir, one(found, "tmpfiles.d/gatewayd.conf"))],
                       capture_output=True, text=True, timeout=60)
    check(r.returncode == 0, "systemd-tmpfiles --create: %s" % r.stderr)
    st = os.stat(root + spool)
    check(st.st_mode & 0o7777 == 0o755 and st.st_uid == 0,
          "systemd-tmpfiles made %s 0755 root: %o" % (spool, st.st_mode))


def test():
    work = tempfile.mkdtemp(prefix="gw-inst-")
    destdir = os.path.join(work, "destdir")
    make("install", destdir)
    found = files(destdir)
    check(not [f for f in found if f.endswith(".la")], "no .la installed: %s" % found)
    for so in ("connectors/smtp.so", "connectors/folder.so"):
        one(found, so)
    conf = one(found, "etc/gatewayd/gatewayd.yaml")
    sample = read(os.path.join(gwtest.TOP_BUILDDIR, "etc", "gatewayd.yaml"))
    check(read(os.path.join(destdir, conf)) == sample, "the sample is installed as gatewayd.yaml")
    spool = check_placeholders(destdir, found, conf)
    root = check_unit(destdir, found, work)
    if root and os.geteuid() == 0:
        check_tmpfiles(destdir, found, root, spool)

    # An unchanged configuration: a second install leaves it, writes no sample.
    out = make("install", destdir)
    check(files(destdir) == found, "a second install adds nothing: %s" % out[-500:])

    # The administrator edits it: install keeps it, the sample goes beside it.
    edited = sample + "\n# edited by the administrator\n"
    with open(os.path.join(destdir, conf), "w") as f:
        f.write(edited)
    make("install", destdir)
    check(read(os.path.join(destdir, conf)) == edited, "the edited configuration is kept")
    check(read(os.path.join(destdir, conf + ".sample")) == sample,
          "the new sample is gatewayd.yaml.sample")

    # Uninstall: only the edited configuration stays.
    make("uninstall", destdir)
    left = files(destdir)
    check(left == [conf], "uninstall leaves only the edited configuration: %s" % left)
    check(read(os.path.join(destdir, conf)) == edited, "still as edited")

    # An unedited configuration is removed with the rest.
    os.remove(os.path.join(destdir, conf))
    make("install", destdir)
    make("uninstall", destdir)
    check(files(destdir) == [], "uninstall removes an unedited one: %s" % files(destdir))
    shutil.rmtree(work)


if __name__ == "__main__":
    main(test)

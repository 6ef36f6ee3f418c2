#!/usr/bin/env python3
"""check_layers.py - fail when an #include or a source list crosses the layers

The layers (doc/internals.md, "The map"):

  programs     gatewayd/{master,receiver,router,recognizer,worker,ctl,web}/
  shared       gatewayd/lib/ (libgwcommon.a), gatewayd/scan/ (libgwscan.a)
  spool        spool/ (libspool.a)
  public       include/gatewayd/connector.h
  connectors   connectors/ (one shared object each)

Dependencies only point down:

  * a program folder includes its own headers, lib/, scan/, spool/ and the
    public header, never another program's header;
  * lib/ includes lib/, spool/ and the public header; scan/ includes scan/
    and lib/; spool/ includes only spool/;
  * a connector includes its own folder's headers, the public header, and
    the header of a lib/ module that connectors/Makefile.am compiles into
    that same connector (compiled from the shared library, not linked
    against the daemon);
  * no "../" in an include; no other <gatewayd/...> header than the public one;
  * in gatewayd/Makefile.am a program's sources come from its own folder
    (plus lib/sanitizer_chroot.c, a sanitizer build's helper), and each
    internal library's from the folder it is named after.

Run by `make check` with GW_TOP_SRCDIR set (or from anywhere in the tree).
Prints each crossing as FILE:LINE and exits 1 if there is one.
"""
import os
import re
import sys

TOP = os.environ.get("GW_TOP_SRCDIR") or os.path.dirname(
    os.path.dirname(os.path.abspath(__file__)))
PROGRAMS = ("master", "receiver", "router", "recognizer", "worker", "ctl", "web")
# The folders an #include may resolve to, per layer.
ALLOWED = {p: ("gatewayd/" + p, "gatewayd/lib", "gatewayd/scan", "spool")
           for p in PROGRAMS}
ALLOWED.update({"lib": ("gatewayd/lib", "spool"),
                "scan": ("gatewayd/scan", "gatewayd/lib"),
                "spool": ("spool",)})
# Where the program binaries and internal libraries take their sources.
SOURCE_HOME = {"gatewayd": "master", "gatewayctl": "ctl",
               "gatewayd_receiver": "receiver", "gatewayd_router": "router",
               "gatewayd_recognizer": "recognizer", "gatewayd_worker": "worker",
               "libgwcommon_a": "lib", "libgwscan_a": "scan",
               "libgwreceiver_a": "receiver", "libgwrouter_a": "router", "libgwworker_a": "worker",
               "libgwmaster_a": "master", "libgwctl_a": "ctl",
               "gatewayd_web": "web", "libgwweb_a": "web"}
INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')
PUBLIC = "gatewayd/connector.h"
GENERATED = ("config.h",)


def sources(folder):
    """The .c and .h files of a folder of the tree (relative to TOP)."""
    d = os.path.join(TOP, folder)
    return sorted(os.path.join(folder, f) for f in os.listdir(d)
                  if f.endswith((".c", ".h")))


def includes(path):
    """(line number, kind, name) of each #include in a file."""
    with open(os.path.join(TOP, path), encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            m = INCLUDE.match(line)
            if m:
                yield n, m.group(1), m.group(2)


def found_in(name, folders):
    """True if name is a file of one of the folders."""
    return any(os.path.isfile(os.path.join(TOP, d, name)) for d in folders)


def check_include(path, n, kind, name, folders, errors):
    """Append to errors if this include leaves the allowed folders."""
    where = "%s:%d" % (path, n)
    if "../" in name or name.startswith("/"):
        errors.append('%s: relative include "%s"' % (where, name))
    elif kind == "<":
        if name.startswith("gatewayd/") and name != PUBLIC:
            errors.append("%s: <%s> is not the public header" % (where, name))
    elif name not in GENERATED and not found_in(name, folders):
        owner = [d for d in ["gatewayd/" + p for p in PROGRAMS + ("lib", "scan")]
                 + ["spool", "connectors"] if found_in(name, [d])]
        errors.append('%s: "%s" (in %s) is not below this layer (may use %s)'
                      % (where, name, ", ".join(owner) or "nowhere",
                         ", ".join(folders)))


def connector_lib_headers():
    """Per connector (the .la's prefix), the lib/ headers whose .c it compiles."""
    text = open(os.path.join(TOP, "connectors/Makefile.am")).read().replace("\\\n", " ")
    variables = dict(re.findall(r"^([A-Z_]+)\s*=(.*)$", text, re.M))
    text = re.sub(r"\$\(([A-Z_]+)\)", lambda m: variables.get(m.group(1), m.group(0)), text)
    out = {}
    for m in re.finditer(r"^(\w+)_la_SOURCES\s*\+?=(.*)$", text, re.M):
        libs = re.findall(r"\.\./gatewayd/lib/(\w+)\.c", m.group(2))
        out.setdefault(m.group(1), set()).update(h + ".h" for h in libs)
    return out


def connector_of(path, names):
    """The connector a source file of connectors/ belongs to (by prefix)."""
    base = os.path.basename(path)
    best = [c for c in names if base == c + ".c" or base == c + ".h"
            or base.startswith(c + "_")]
    return max(best, key=len) if best else None


def check_connectors(errors):
    """Connectors: own headers, the public one, compiled-in lib/ headers."""
    libs = connector_lib_headers()
    for path in sources("connectors"):
        conn = connector_of(path, libs)
        for n, kind, name in includes(path):
            if "../" in name or kind == "<":
                check_include(path, n, kind, name, ["connectors"], errors)
            elif name not in GENERATED and not found_in(name, ["connectors"]) \
                    and name not in libs.get(conn, ()):
                errors.append('%s:%d: "%s" is not the public header, a header of '
                              "connectors/ or of a lib/ module compiled into %s"
                              % (path, n, name, conn or "this connector"))


def check_sources(errors):
    """gatewayd/Makefile.am: each program's sources from its own folder."""
    path = "gatewayd/Makefile.am"
    text = open(os.path.join(TOP, path)).read().replace("\\\n", " ")
    for m in re.finditer(r"^(\w+)_SOURCES\s*\+?=(.*)$", text, re.M):
        home = SOURCE_HOME.get(m.group(1))
        if home is None:
            errors.append("%s: %s_SOURCES: unknown program or library (add it "
                          "to tests/check_layers.py)" % (path, m.group(1)))
            continue
        for src in m.group(2).split():
            if src == "lib/sanitizer_chroot.c":
                continue
            if os.path.dirname(src) != home:
                errors.append("%s: %s takes %s from outside %s/"
                              % (path, m.group(1), src, home))


def main():
    errors = []
    for layer, folders in ALLOWED.items():
        folder = layer if layer == "spool" else "gatewayd/" + layer
        for path in sources(folder):
            for n, kind, name in includes(path):
                check_include(path, n, kind, name, folders, errors)
    stray = [f for f in os.listdir(os.path.join(TOP, "gatewayd"))
             if f.endswith((".c", ".h"))]
    errors += ["gatewayd/%s: source outside a program or library folder" % f
               for f in sorted(stray)]
    check_connectors(errors)
    check_sources(errors)
    for e in errors:
        print("check_layers: " + e)
    if not errors:
        print("check_layers: every include and source list points down")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())

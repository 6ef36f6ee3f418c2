#!/usr/bin/env python3
"""e2e_outoftree - a connector built outside the tree, dropped into a
running gateway.

`make install DESTDIR=<tmp>` must install <gatewayd/connector.h>,
gatewayd-connector.pc and the four man pages; the minimal connector of
the installed gatewayd-connector(3) must build and load.  The test writes mine.c, a
tiny connector that stores each message with its envelope in a directory
named in its settings, and compiles it with only
`pkg-config --cflags gatewayd-connector` against the installed header
(the .pc names the configured prefix; `--define-prefix` relocates it to
where DESTDIR put the file).  Dropped (mode 0755) into the connector
directory of a running gateway, it is listed by `gatewayctl connectors`,
and after a config change and `gatewayctl reload` it delivers mail; the
gateway's executables are not rebuilt.  The same source built with a
descriptor for the next ABI version is refused by `gatewayctl connectors`
with both versions named; configured, its worker exits 78 with a log
line naming both versions, is not restarted (status: disabled), its mail
waits in the queue, and the other connectors keep delivering.
"""
import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
import time

import gwtest
from gwtest import Gateway, check, wait_for

MINE_C = r"""
/* mine.c - an out-of-tree gatewayd connector: one file per message */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gatewayd/connector.h>

struct mine {
	char dir[2048];
};

/* mine_init - the one setting: dir, an absolute directory */
static int
mine_init(const struct gw_node *settings, void **ctx, char *err, size_t errlen)
{
	const struct gw_node *n;
	struct mine *m;
	uid_t uid;
	gid_t gid;

	if ((m = calloc(1, sizeof(*m))) == NULL)
		return snprintf(err, errlen, "mine: out of memory"), -1;
	for (n = settings ? settings->child : NULL; n != NULL; n = n->next) {
		if (n->key == NULL || strcmp(n->key, "dir") != 0 ||
		    n->type != GW_NODE_SCALAR || n->value[0] != '/') {
			snprintf(err, errlen, "%s:%u:%u: mine: unknown setting",
			    n->file ? n->file : "?", n->line, n->column);
			free(m);
			return -1;
		}
		snprintf(m->dir, sizeof(m->dir), "%s", n->value);
	}
	if (m->dir[0] == '\0') {
		snprintf(err, errlen, "mine: settings.dir is required");
		free(m);
		return -1;
	}
	/* Still privileged here: make the directory for the run user. */
	if (mkdir(m->dir, 0750) == -1 && errno != EEXIST) {
		snprintf(err, errlen, "mine: %s: %s", m->dir, strerror(errno));
		free(m);
		return -1;
	}
	if (gw_run_ids(&uid, &gid) == 0 && chown(m->dir, uid, gid) == -1) {
		snprintf(err, errlen, "mine: chown %s: %s", m->dir,
		    strerror(errno));
		free(m);
		return -1;
	}
	*ctx = m;
	return 0;
}

/* mine_store - envelope lines then the message into dir/<qid>.msg */
static int
mine_store(const struct mine *m, const struct gw_envelope *env,
    struct gw_message *msg)
{
	char tmp[2200], path[2200], buf[8192];
	ssize_t n;
	size_t i;
	FILE *fp;

	snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", m->dir, env->queue_id);
	snprintf(path, sizeof(path), "%s/%s.msg", m->dir, env->queue_id);
	if ((fp = fopen(tmp, "w")) == NULL)
		return -1;
	fprintf(fp, "X-Mine-Sender: <%s>\n", env->sender);
	for (i = 0; i < env->nrcpt; i++)
		fprintf(fp, "X-Mine-Recipient: <%s>\n",
		    gw_rcpt_address(env->rcpt[i]));
	while ((n = gw_message_read(msg, buf, sizeof(buf))) > 0)
		if (fwrite(buf, 1, (size_t)n, fp) != (size_t)n)
			n = -1;
	if (fclose(fp) != 0 || n < 0 || rename(tmp, path) == -1) {
		unlink(tmp);
		return -1;
	}
	return 0;
}

/* mine_deliver - store, then one result per recipient */
static void
mine_deliver(void *ctx, const struct gw_envelope *env, struct gw_message *msg)
{
	int ok = mine_store(ctx, env, msg) == 0;
	int e = errno;
	size_t i;

	for (i = 0; i < env->nrcpt; i++)
		if (ok)
			gw_rcpt_set_result(env->rcpt[i], GW_RESULT_OK, 250,
			    "2.0.0", "stored by mine");
		else
			gw_rcpt_set_result(env->rcpt[i], GW_RESULT_TEMPFAIL,
			    451, "4.3.0", "mine: %s", strerror(e));
	gw_log(GW_LOG_INFO, "mine: %s in %s", ok ? "stored" : "not stored",
	    ((const struct mine *)ctx)->dir);
}

/* mine_fini - release the context */
static void
mine_fini(void *ctx)
{
	free(ctx);
}

#ifdef MINE_FOREIGN_ABI
/* Built for the next ABI: the descriptor written out by hand. */
const struct gw_connector gatewayd_connector = {
	.abi_version = GW_CONNECTOR_ABI_VERSION + 1,
	.struct_size = sizeof(struct gw_connector), .name = "mine",
	.version = "1.2.3", .init = mine_init, .deliver = mine_deliver,
	.fini = mine_fini
};
#else
GW_CONNECTOR_DEFINE("mine", "1.2.3", mine_init, mine_deliver, mine_fini);
#endif
"""

MAN_PAGES = ("man8/gatewayd.8", "man8/gatewayctl.8", "man5/gatewayd.yaml.5",
             "man3/gatewayd-connector.3")


def sub_env():
    """The environment without the make of `make check` (its jobserver)."""
    env = dict(os.environ)
    for k in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES", "DESTDIR"):
        env.pop(k, None)
    return env


def find_one(top, suffix):
    """The single file under top whose path ends with suffix."""
    hits = []
    for root, _dirs, files in os.walk(top):
        for f in files:
            p = os.path.join(root, f)
            if p.endswith("/" + suffix):
                hits.append(p)
    check(len(hits) == 1, "make install put exactly one %s under %s: %s" % (suffix, top, hits))
    return hits[0]


def install(destdir):
    """make install DESTDIR=destdir; returns (header, .pc) paths."""
    r = subprocess.run(["make", "-C", gwtest.TOP_BUILDDIR, "install", "DESTDIR=" + destdir],
                       capture_output=True, text=True, timeout=300, env=sub_env())
    check(r.returncode == 0, "make install DESTDIR failed:\n%s" % r.stderr[-3000:])
    header = find_one(destdir, "include/gatewayd/connector.h")
    pc = find_one(destdir, "pkgconfig/gatewayd-connector.pc")
    for m in MAN_PAGES:
        find_one(destdir, "man/" + m)
    with open(header) as f:
        text = f.read()
    check("@GW_CONNECTOR_ABI@" not in text, "installed header is configured")
    return header, pc


def man_example(destdir):
    """The minimal connector of the installed gatewayd-connector(3)."""
    with open(find_one(destdir, "man/man3/gatewayd-connector.3")) as f:
        text = f.read()
    m = re.search(r"^(#include <gatewayd/connector.h>\n.*?^GW_CONNECTOR_DEFINE\(.*?\);\n)",
                  text, re.S | re.M)
    check(m is not None, "gatewayd-connector(3) has a minimal connector")
    return m.group(1).replace("\\e", "\\")


def pkg_config(pcdir, *args, env_extra=None):
    env = dict(sub_env(), PKG_CONFIG_PATH=pcdir, **(env_extra or {}))
    r = subprocess.run(["pkg-config"] + list(args) + ["gatewayd-connector"],
                       capture_output=True, text=True, timeout=30, env=env)
    check(r.returncode == 0, "pkg-config %s: %s" % (" ".join(args), r.stderr))
    return r.stdout.split()


def cflags(destdir, pc):
    """The installed .pc names the configured prefix; relocate it."""
    pcdir = os.path.dirname(pc)
    includedir = pkg_config(pcdir, "--variable=includedir")[0]
    prefix = pkg_config(pcdir, "--variable=prefix")[0]
    want = ["-I" + destdir + includedir]
    check(pkg_config(pcdir, "--cflags") == ["-I" + includedir],
          "unrelocated .pc names the configured includedir %s" % includedir)
    # With the .pc in <prefix>/lib/pkgconfig (a plain ./configure),
    # --define-prefix derives the prefix from where the file lies.
    tries = [("--define-prefix", pkg_config(pcdir, "--define-prefix", "--cflags")),
             ("--define-variable=prefix=DESTDIR+prefix",
              pkg_config(pcdir, "--define-variable=prefix=" + destdir + prefix, "--cflags"))]
    for how, flags in tries:
        if flags == want:
            print("pkg-config %s --cflags gatewayd-connector: %s" % (how, " ".join(flags)))
            return flags
    raise gwtest.TestFailure("no pkg-config relocation gave %s: %s" % (want, tries))


def build(flags, src, out, defines=()):
    """cc -shared -fPIC $(pkg-config --cflags ...) -o out src"""
    cc = os.environ.get("GW_TEST_CC", "cc")
    cmd = [cc, "-shared", "-fPIC", "-Wall", "-Wextra", "-Werror"] + flags + \
        ["-D" + d for d in defines] + ["-o", out, src]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    check(r.returncode == 0, "%s:\n%s" % (" ".join(cmd), r.stderr))
    # The header came from the installed tree, not from the source tree.
    r = subprocess.run([cc, "-M"] + flags + [src], capture_output=True, text=True, timeout=60)
    inc = flags[0][2:]
    check(r.returncode == 0 and os.path.join(inc, "gatewayd", "connector.h") in r.stdout,
          "compiled against %s/gatewayd/connector.h: %s" % (inc, r.stdout))


def digest(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def ctl(gw, *args):
    cmd = [gwtest.GATEWAYCTL, "-s", gw.sock] + list(args)
    return subprocess.run(cmd, capture_output=True, text=True, timeout=30)


def connectors(gw):
    r = ctl(gw, "--json", "connectors")
    check(r.returncode == 0, "connectors --json: %d %s" % (r.returncode, r.stderr))
    return {j["type"]: j for j in (json.loads(l) for l in r.stdout.splitlines() if l.strip())}


def worker(gw, name):
    st = json.loads(ctl(gw, "--json", "status").stdout)
    for p in st["processes"]:
        if p["role"] == "worker" and p["connector"] == name:
            return p
    return None


def stored(outdir):
    """mine's files: {qid: text}"""
    out = {}
    if os.path.isdir(outdir):
        for n in os.listdir(outdir):
            if n.endswith(".msg"):
                with open(os.path.join(outdir, n), errors="replace") as f:
                    out[n[:-4]] = f.read()
    return out


def send(gw, rcpt, subject):
    s = gw.smtp()
    s.sendmail("sender@client.test", [rcpt],
               ("From: sender@client.test\r\nTo: %s\r\nSubject: %s\r\n\r\nbody of %s\r\n"
                % (rcpt, subject, subject)).encode())
    s.quit()


def test():
    work = tempfile.mkdtemp(prefix="gw-oot-")
    os.chmod(work, 0o755)
    destdir = os.path.join(work, "destdir")
    header, pc = install(destdir)
    example = man_example(destdir)
    flags = cflags(destdir, pc)
    abi = int(re.search(r"#define GW_CONNECTOR_ABI_VERSION (\d+)u", open(header).read()).group(1))
    src = os.path.join(work, "mine.c")
    with open(src, "w") as f:
        f.write(MINE_C)
    build(flags, src, os.path.join(work, "mine.so"))
    build(flags, src, os.path.join(work, "alien.so"), ["MINE_FOREIGN_ABI"])
    with open(os.path.join(work, "example.c"), "w") as f:
        f.write(example)
    build(flags, os.path.join(work, "example.c"), os.path.join(work, "example.so"))

    gw = Gateway("oot")
    cdir = os.path.join(gw.dir, "connectors")
    os.mkdir(cdir)
    os.chmod(cdir, 0o755)
    shutil.copy(os.path.join(gwtest.CONNECTORS, "folder.so"), cdir)
    os.chmod(os.path.join(cdir, "folder.so"), 0o755)
    gw.connector_dir = lambda _connectors: cdir
    outdir = os.path.join(gw.dir, "mine-out")
    archive = {"name": "archive", "type": "folder", "settings": {"path": gw.mail}}
    relay, domains = ["127.0.0.0/8", "::1"], ["gw.test"]
    gw.write_config([archive], [{"name": "all", "connector": "archive"}], relay, domains)
    binaries = [os.path.join(gwtest.LIBEXEC, b) for b in
                ("gatewayd", "gatewayd-worker", "gatewayctl")]
    before = [digest(b) for b in binaries]
    ok = False
    try:
        gw.start()
        check(set(connectors(gw)) == {"folder"}, "only folder.so at first")

        # Drop mine.so in: listed, unused, loadable.
        dst = os.path.join(cdir, "mine.so")
        shutil.copy(os.path.join(work, "mine.so"), dst)
        os.chmod(dst, 0o755)
        c = connectors(gw)
        check(c.get("mine", {}).get("status") == "ok" and c["mine"]["version"] == "1.2.3" and
              c["mine"]["abi"] == abi and c["mine"]["used_by"] == "-", "mine listed: %s" % c)

        # The man page's example builds and loads too.
        dst = os.path.join(cdir, "example.so")
        shutil.copy(os.path.join(work, "example.so"), dst)
        os.chmod(dst, 0o755)
        c = connectors(gw)
        check(c["example"]["status"] == "ok" and c["example"]["version"] == "1.0", "example: %s" % c)

        # Configure an instance of mine, reload, and it delivers.
        custom = {"name": "custom", "type": "mine", "settings": {"dir": outdir}}
        rules = [{"name": "mine", "recipient": "mine*@gw.test", "connector": "custom"},
                 {"name": "all", "connector": "archive"}]
        gw.write_config([archive, custom], rules, relay, domains)
        r = ctl(gw, "reload")
        check(r.returncode == 0 and "reloaded" in r.stdout, "reload: %r %r" % (r.stdout, r.stderr))
        gw.wait_ready()
        send(gw, "mine1@gw.test", "one")
        send(gw, "other@gw.test", "two")
        wait_for(lambda: len(stored(outdir)) == 1, 20, "mine.so to store the message")
        text = list(stored(outdir).values())[0]
        check("X-Mine-Sender: <sender@client.test>" in text and
              "X-Mine-Recipient: <mine1@gw.test>" in text and "body of one" in text,
              "mine stored the envelope and message: %r" % text)
        wait_for(lambda: any(b"body of two" in v for v in gw.delivered().values()), 20,
                 "the folder connector to deliver the other message")
        check(not any(b"body of one" in v for v in gw.delivered().values()), "routed to mine only")
        check(connectors(gw)["mine"]["used_by"] == "custom", "used by custom")
        st = json.loads(ctl(gw, "--json", "status").stdout)
        check({"instance": "custom", "name": "mine", "version": "1.2.3", "abi": abi}.items() <=
              next(x for x in st["connectors"] if x["instance"] == "custom").items(),
              "status names the loaded connector: %s" % st["connectors"])

        # Built for another ABI: refused by connectors, with both versions.
        dst = os.path.join(cdir, "alien.so")
        shutil.copy(os.path.join(work, "alien.so"), dst)
        os.chmod(dst, 0o755)
        why = "built for connector ABI %d, this gatewayd uses ABI %d" % (abi + 1, abi)
        c = connectors(gw)
        check(c["alien"]["status"] == "refused: " + why and c["alien"]["abi"] == abi + 1,
              "alien refused: %s" % c["alien"])
        r = ctl(gw, "connectors")
        line = [l for l in r.stdout.splitlines() if l.startswith("alien ")]
        check(len(line) == 1 and line[0].endswith("refused: " + why), "table: %r" % r.stdout)

        # Configured anyway: its worker exits 78 once, the rest keep going.
        stranger = {"name": "stranger", "type": "alien"}
        rules.insert(0, {"name": "alien", "recipient": "alien*@gw.test", "connector": "stranger"})
        gw.write_config([archive, custom, stranger], rules, relay, domains)
        r = ctl(gw, "reload")
        check(r.returncode == 0 and "reloaded" in r.stdout, "reload with alien: %r" % r.stderr)
        wait_for(lambda: (worker(gw, "stranger") or {}).get("state") == "disabled", 20,
                 "the stranger worker to be disabled")
        log = gw.read_log()
        check(re.search(r"connector \S*/alien\.so was built for connector ABI %d, this gatewayd "
                        r"uses ABI %d" % (abi + 1, abi), log), "worker log names both ABIs")
        check(re.search(r"worker stranger \(pid \d+\) exited with status 78 \(configuration "
                        r"problem\): not restarting it", log), "master log line:\n%s" % log[-2000:])
        w0 = worker(gw, "stranger")
        send(gw, "alien1@gw.test", "three")
        send(gw, "mine2@gw.test", "four")
        send(gw, "other@gw.test", "five")
        wait_for(lambda: len(stored(outdir)) == 2, 20, "mine.so still delivering")
        wait_for(lambda: any(b"body of five" in v for v in gw.delivered().values()), 20,
                 "folder still delivering")
        time.sleep(2.5)     # past the master's first restart backoff
        w1 = worker(gw, "stranger")
        check(w1["state"] == "disabled" and w1["pid"] == 0 and w1["restarts"] == w0["restarts"],
              "not restarted: %s then %s" % (w0, w1))
        check(len(re.findall(r"alien\.so was built for", gw.read_log())) == 1, "loaded once only")
        r = ctl(gw, "--json", "queue", "list", "--connector", "stranger")
        q = [json.loads(l) for l in r.stdout.splitlines() if l.strip()]
        check(len(q) == 1 and q[0]["recipients"][0]["address"] == "alien1@gw.test" and
              q[0]["queue_name"] == "queue", "its mail waits in the queue: %s" % q)
        others = [p for p in json.loads(ctl(gw, "--json", "status").stdout)["processes"]
                  if p["connector"] != "stranger"]
        check(all(p["state"] == "ready" for p in others), "the others run: %s" % others)
        check([digest(b) for b in binaries] == before, "gatewayd was not rebuilt")
        ok = True
    finally:
        gw.cleanup(ok)
        if ok:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print("kept %s for inspection" % work)


gwtest.main(test)

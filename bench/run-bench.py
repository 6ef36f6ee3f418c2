#!/usr/bin/env python3
"""run-bench.py - relay benchmark: smtp-source -> gatewayd (or Postfix) -> smtp-sink.

`make bench` runs it from the build tree.  For every repeat, scenario and
target (interleaved, so machine noise spreads over all targets) it starts a
fresh Postfix smtp-sink, a fresh target with an empty private spool relaying
everything to the sink, sends WARMUP messages, then the measured load, and
records:

  accept msg/s   N / time until every message got its 250 after DATA
  e2e msg/s      N / time (same start) until smtp-sink counted all N
  peak RSS MiB   max over 0.25 s samples of the RSS summed over the process
                 tree (PSS too: shared pages split between processes; the
                 log has the PSS sample's figures by process name)
  CPU s/1000     utime+stime of the tree (plus reaped children) per 1000
                 messages, from just before the load until the queue is empty
  p50/p99 ms     single-session runs only: accept latency per message, from
                 connect to the 250 after DATA (one connection per message,
                 as smtp-source does), timed by our own client (latency mode)

Once per target it also runs FSYNC_MSGS messages (10 KB, 20 sessions)
and reports the fsync, fdatasync, syncfs and sync_file_range calls per
accepted message (the whole tree, relaying included), counted in the
kernel by `perf stat -a` on their syscall tracepoints (only the target
syncs on this machine), which leaves the processes at their speed; without
perf (or SYNC_COUNT=strace) with every process of the tree under
`strace -f -c`, which slows each of them and so shrinks the batches of a
group commit: more syncs per message than at full speed.

A scenario whose spec ends in ":tls" runs with TLS on both hops: the load
comes from bench/tlsload (built by `make bench`), which sends STARTTLS for
every message (one connection each, a full handshake, no resumption) and
fails when it is not offered; the target's listener offers STARTTLS
(gatewayd `tls: optional`, Postfix `smtpd_tls_security_level = may`) and
relays with STARTTLS required and the certificate not checked (gatewayd
`starttls: required`, `verify: no`; Postfix `smtp_tls_security_level =
encrypt`) to `tlsload sink -r`, which refuses MAIL without STARTTLS.  One
self-signed certificate made with openssl at start serves the target and
the sink; both sides keep OpenSSL's defaults (TLS 1.3, its default suites).
Each TLS run also reports the target's "TLS connection established from"
log lines (tls_in), the sink's TLS sessions (tls_out) and MAIL commands it
refused without TLS (plain_refused, 0 expected).

Environment (defaults in brackets):
  SCENARIOS   NAME:SESSIONS:MESSAGES:BYTES[:tls] ...  [10k-s20:20:5000:10240
              100k-s20:20:5000:102400 10k-s1:1:500:10240 10k-s100:100:5000:10240
              10k-s20-tls:20:3000:10240:tls]
  TLS_KEY [ec] key of the certificate: ec (P-256) or rsa (2048 bits)
  REPEATS [3]  WARMUP [50]  BENCH_VS [] (postfix: also a private Postfix relay)
  GW_CONCURRENCY [20] delivery children of the smtp connector (Postfix's
              default destination concurrency is 20 as well)
  FSYNC_MSGS [500] (0 skips the sync count)  SYNC_COUNT [perf] (or strace)  RESULTS_DIR [bench-results/<time>]
  MTA_PORT, SINK_PORT [free loopback ports]  MAX_S [900] bound per phase
  PSS_MAPS [] process labels of the by-name line (gatewayd-router,
              gatewayd-worker+, ...): the PSS of the first process of each by
              mapping, at the peak sample, in the log
  GW_EXTRA_CONFIG [] top-level configuration lines for gatewayd, ';'-separated
  PF_EXTRA_CONFIG [] main.cf lines for Postfix, ';'-separated (for example
              "smtp_tls_connection_reuse = yes": TLS connections to the sink
              kept through tlsproxy, as gatewayd keeps its sessions)
Needs root with BENCH_VS=postfix (private Postfix instance); gatewayd's
children drop to _gatewayd when run as root.
"""
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

SINK = shutil.which("smtp-sink") or "/usr/sbin/smtp-sink"
SOURCE = shutil.which("smtp-source") or "/usr/sbin/smtp-source"
TLSLOAD = "tlsload"   # bench/tlsload of the build tree, set by main()
FROM, TO, HELO = "bench-sender@example.com", "bench-rcpt@example.net", "bench-client.localdomain"
CLK_TCK = os.sysconf("SC_CLK_TCK")
SYNC_CALLS = ("fsync", "fdatasync", "syncfs", "sync_file_range")


def log(msg):
    print("[%s] %s" % (time.strftime("%H:%M:%S"), msg), file=sys.stderr, flush=True)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def greets(port):
    """True when 127.0.0.1:port answers with a 220 greeting."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
            return s.recv(512).startswith(b"220")
    except OSError:
        return False


def wait_until(pred, timeout, what, interval=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return
        time.sleep(interval)
    raise RuntimeError("timed out after %ss: %s" % (timeout, what))


# ---- process tree accounting (/proc) ------------------------------------

def tree_pids(root):
    """root and all its descendants."""
    kids = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        kids.setdefault(ppid, []).append(int(d))
    out, todo = [], [root]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(kids.get(p, []))
    return out


def tree_cpu_ticks(root):
    """utime+stime+cutime+cstime over the tree (reaped children included)."""
    total = 0
    for p in tree_pids(root):
        try:
            with open("/proc/%d/stat" % p) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += sum(int(x) for x in fields[11:15])
        except (OSError, IndexError, ValueError):
            pass
    return total


def proc_label(pid):
    """The process's name, with a "+" for each ancestor of the same name (a
    worker's delivery child is gatewayd-worker+, its deliverer
    gatewayd-worker++)."""
    def comm_ppid(p):
        with open("/proc/%d/stat" % p) as f:
            st = f.read()
        return st[st.index("(") + 1:st.rindex(")")], int(st.rsplit(")", 1)[1].split()[1])
    name, ppid = comm_ppid(pid)
    depth = 0
    try:
        while ppid > 1 and depth < 8:
            pname, ppid = comm_ppid(ppid)
            if pname != name:
                break
            depth += 1
    except (OSError, ValueError):
        pass
    return name + "+" * depth


PSS_MAPS = [x for x in os.environ.get("PSS_MAPS", "").split(",") if x]


def maps_of(root, labels):
    """{label: {mapping: PSS KiB}} of the first process of each label."""
    out = {}
    for p in tree_pids(root):
        try:
            lab = proc_label(p)
            if lab not in labels or lab in out:
                continue
            m, cur = {}, "?"
            with open("/proc/%d/smaps" % p) as f:
                for line in f:
                    w = line.split()
                    if "-" in w[0] and not w[0].endswith(":"):
                        cur = os.path.basename(w[5]) if len(w) > 5 else "[anon]"
                    elif w[0] == "Pss:":
                        m[cur] = m.get(cur, 0) + int(w[1])
            out[lab] = m
        except (OSError, IndexError, ValueError):
            pass
    return out


def tree_mem_kb(root, by=None):
    """(rss, pss, nprocs) summed over the tree, in KiB; with a dict by, also
    {process name: [processes, pss, private dirty]} of the tree."""
    rss = pss = n = 0
    for p in tree_pids(root):
        try:
            mine = [0, 0]
            with open("/proc/%d/smaps_rollup" % p) as f:
                for line in f:
                    if line.startswith("Rss:"):
                        rss += int(line.split()[1])
                    elif line.startswith("Pss:"):
                        mine[0] = int(line.split()[1])
                    elif line.startswith("Private_Dirty:"):
                        mine[1] = int(line.split()[1])
            pss += mine[0]
            n += 1
            if by is not None:
                e = by.setdefault(proc_label(p), [0, 0, 0])
                e[0] += 1
                e[1] += mine[0]
                e[2] += mine[1]
        except OSError:
            pass
    return rss, pss, n


class Sampler(threading.Thread):
    """Peak tree RSS/PSS every interval seconds until stopped."""

    def __init__(self, root, interval=0.25):
        super().__init__(daemon=True)
        self.root, self.interval = root, interval
        self.peak = [0, 0, 0]
        self.by = {}         # by process name, at the sample of peak PSS
        self.maps = {}       # PSS_MAPS: {label: {mapping: pss}} at that sample
        self.done = threading.Event()

    def run(self):
        while not self.done.is_set():
            by = {}
            cur = tree_mem_kb(self.root, by)
            if cur[1] > self.peak[1]:
                self.by = by
                if PSS_MAPS:
                    self.maps = maps_of(self.root, PSS_MAPS)
            for i, v in enumerate(cur):
                self.peak[i] = max(self.peak[i], v)
            self.done.wait(self.interval)

    def stop(self):
        self.done.set()
        self.join()
        return self.peak


# ---- the sink -------------------------------------------------------------

class Sink:
    """smtp-sink -c on 127.0.0.1:port, or with tls (cert, key) `tlsload sink
    -r`; count() is its message counter, stats() all of tlsload's."""

    def __init__(self, d, port, tls=None):
        self.out = os.path.join(d, "sink.out")
        if tls:
            cmd = [TLSLOAD, "sink", "-r", "-x", "7200", "-C", tls[0], "-K", tls[1],
                   "127.0.0.1:%d" % port]
        else:
            cmd = [SINK, "-c"] + (["-u", "postfix"] if os.geteuid() == 0 else []) + [
                "127.0.0.1:%d" % port, "256"]
        self.proc = subprocess.Popen(cmd, stdout=open(self.out, "wb"),
                                     stderr=subprocess.DEVNULL)
        self.f = open(self.out, "rb")
        self.last = 0
        wait_until(lambda: greets(port), 10, "smtp-sink listening")

    def count(self):
        self.f.seek(0, os.SEEK_END)
        size = self.f.tell()
        self.f.seek(max(0, size - 200))
        m = re.findall(rb"mesg=(\d+)", self.f.read())
        if m:
            self.last = int(m[-1])
        return self.last

    def stats(self):
        """{mesg, tls, refused, conns} from tlsload sink's last line."""
        with open(self.out, "rb") as f:
            lines = f.read().splitlines()
        return {k.decode(): int(v) for k, v in re.findall(rb"(\w+)=(\d+)",
                                                          lines[-1] if lines else b"")}

    def stop(self):
        self.proc.terminate()
        self.proc.wait()
        self.f.close()


# ---- targets ------------------------------------------------------------------

class Gatewayd:
    name = "gatewayd"

    def __init__(self, d, port, sink_port, builddir, tls=None):
        self.d, self.port, self.builddir = d, port, builddir
        self.spool = os.path.join(d, "spool")
        self.sock = os.path.join(d, "gatewayd.sock")
        self.config = os.path.join(d, "gatewayd.yaml")
        conc = int(os.environ.get("GW_CONCURRENCY", "20"))
        lines = ["user: _gatewayd"] if os.geteuid() == 0 else []
        lines += ["spool: %s" % self.spool,
                  "pid_file: %s/gatewayd.pid" % d,
                  "control_socket: %s" % self.sock,
                  "connector_dir: %s/connectors/.libs" % builddir,
                  "listeners:", "  - name: smtp", "    address: 127.0.0.1",
                  "    port: %d" % port]
        if tls:   # STARTTLS offered to the client, as Postfix's "may"
            lines += ["    tls: optional", "    tls_cert: %s" % tls[0],
                      "    tls_key: %s" % tls[1]]
        lines += [
                  # Postfix exempts $mynetworks from its per-client limits
                  # (smtpd_client_event_limit_exceptions): the same here
                  "smtp:", "  hostname: bench-gw.localdomain",
                  "  max_connections_per_client: 1000",
                  "relay:", "  local_domains: [gw.invalid]", '  allow: ["127.0.0.0/8"]',
                  "connectors:", "  - name: relay", "    type: smtp",
                  "    concurrency: %d" % conc, "    settings:",
                  "      hosts: [127.0.0.1:%d]" % sink_port,
                  "      helo: bench-gw.localdomain"]
        if tls:   # STARTTLS required, certificate not checked: Postfix's "encrypt"
            lines += ["      starttls: required", "      verify: no"]
        lines += [
                  "rules:", "  - name: all", "    connector: relay"]
        # GW_EXTRA_CONFIG: top-level lines for an A/B run ("sandbox: no")
        lines += [l for l in os.environ.get("GW_EXTRA_CONFIG", "").split(";") if l]
        with open(self.config, "w") as f:
            f.write("\n".join(lines) + "\n")
        self.proc = None
        self.log = os.path.join(d, "gatewayd.log")

    def version(self):
        r = subprocess.run(["git", "-C", os.path.dirname(os.path.abspath(__file__)), "describe",
                            "--always", "--dirty"], capture_output=True, text=True)
        return "gatewayd %s (smtp connector, concurrency %s)" % (
            r.stdout.strip() or "?", os.environ.get("GW_CONCURRENCY", "20"))

    def start(self):
        env = dict(os.environ, GATEWAYD_LIBEXECDIR=os.path.join(self.builddir, "gatewayd"))
        self.proc = subprocess.Popen([os.path.join(self.builddir, "gatewayd", "gatewayd"),
                                      "-f", "-c", self.config],
                                     stdout=open(os.path.join(self.d, "gatewayd.log"), "ab"),
                                     stderr=subprocess.STDOUT, env=env, start_new_session=True)
        try:
            wait_until(lambda: greets(self.port), 30, "gatewayd greeting")
            # the worker is up once it says so in the log
            wait_until(lambda: b"delivery processes" in open(self.log, "rb").read(), 30,
                       "worker ready")
        except RuntimeError:
            # what the daemon said, and its processes, before the run is abandoned
            sys.stderr.write(open(self.log, "rb").read()[-4000:].decode("utf-8", "replace"))
            subprocess.run(["ps", "-o", "pid,ppid,stat,wchan:24,etime,comm", "-s",
                            str(self.proc.pid)], stdout=sys.stderr)
            raise
        return self.proc.pid

    def queue_count(self):
        n = 0
        for state in ("incoming", "queue", "active", "deferred"):
            for _, _, files in os.walk(os.path.join(self.spool, state)):
                n += len(files)
        return n

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


POSTFIX_MASTER_CF = """\
{port}  inet  n - n - - smtpd
pickup    unix  n - n 60 1 pickup
cleanup   unix  n - n - 0 cleanup
qmgr      unix  n - n 300 1 qmgr
tlsmgr    unix  - - n 1000? 1 tlsmgr
tlsproxy  unix  - - n - 0 tlsproxy
rewrite   unix  - - n - - trivial-rewrite
bounce    unix  - - n - 0 bounce
defer     unix  - - n - 0 bounce
trace     unix  - - n - 0 bounce
verify    unix  - - n - 1 verify
flush     unix  n - n 1000? 0 flush
proxymap  unix  - - n - - proxymap
proxywrite unix - - n - 1 proxymap
smtp      unix  - - n - - smtp
relay     unix  - - n - - smtp
showq     unix  n - n - - showq
error     unix  - - n - - error
retry     unix  - - n - - error
discard   unix  - - n - - discard
anvil     unix  - - n - 1 anvil
scache    unix  - - n - 1 scache
postlog   unix-dgram n - n - 1 postlogd
"""


class Postfix:
    """A private Postfix relay, as /work/shared/bench/targets/postfix.sh:
    Debian's master.cf with chroot=n and no local delivery; defaults kept,
    fsync included."""
    name = "postfix"

    def __init__(self, d, port, sink_port, builddir, tls=None):
        self.d, self.port = d, port
        self.log = os.path.join(d, "maillog")
        self.conf, self.queue = os.path.join(d, "conf"), os.path.join(d, "queue")
        data = os.path.join(d, "data")
        for p in (self.conf, self.queue, data):
            os.makedirs(p, mode=0o755, exist_ok=True)
        shutil.chown(data, "postfix", "postfix")
        os.chmod(data, 0o700)
        with open(os.path.join(self.conf, "main.cf"), "w") as f:
            f.write("""compatibility_level = 3.6
queue_directory = {q}
data_directory = {data}
command_directory = /usr/sbin
daemon_directory = /usr/lib/postfix/sbin
meta_directory = /etc/postfix
shlib_directory = /usr/lib/postfix
mail_owner = postfix
setgid_group = postdrop
maillog_file = {d}/maillog
myhostname = bench-postfix.localdomain
mydomain = localdomain
myorigin = $myhostname
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mydestination =
local_recipient_maps =
local_transport = error:5.1.1 local delivery disabled (relay benchmark)
alias_maps =
alias_database =
mynetworks = 127.0.0.0/8
relay_domains =
relayhost = [127.0.0.1]:{sink}
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
biff = no
""".format(q=self.queue, data=data, d=d, sink=sink_port))
            if tls:   # STARTTLS offered inbound, required outbound, not verified
                f.write("""smtpd_tls_cert_file = {c}
smtpd_tls_key_file = {k}
smtpd_tls_security_level = may
smtpd_tls_loglevel = 1
smtp_tls_security_level = encrypt
smtp_tls_loglevel = 1
""".format(c=tls[0], k=tls[1]))
            # PF_EXTRA_CONFIG: main.cf lines for an A/B run
            f.write("".join(l.strip() + "\n"
                            for l in os.environ.get("PF_EXTRA_CONFIG", "").split(";") if l.strip()))
        with open(os.path.join(self.conf, "master.cf"), "w") as f:
            f.write(POSTFIX_MASTER_CF.format(port="127.0.0.1:%d" % port))
        subprocess.run(["postfix", "-c", self.conf, "check"], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)

    def version(self):
        r = subprocess.run(["postconf", "-c", self.conf, "-h", "mail_version"],
                           capture_output=True, text=True)
        return "Postfix " + r.stdout.strip()

    def start(self):
        subprocess.run(["postfix", "-c", self.conf, "start"], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        pidf = os.path.join(self.queue, "pid", "master.pid")
        wait_until(lambda: os.path.exists(pidf) and open(pidf).read().strip(), 10, "master.pid")
        wait_until(lambda: greets(self.port), 30, "postfix greeting")
        return int(open(pidf).read().strip())

    def queue_count(self):
        n = 0
        for state in ("maildrop", "incoming", "active", "deferred", "hold"):
            for _, _, files in os.walk(os.path.join(self.queue, state)):
                n += len(files)
        return n

    def stop(self):
        subprocess.run(["postfix", "-c", self.conf, "stop"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        pidf = os.path.join(self.queue, "pid", "master.pid")
        try:
            pid = int(open(pidf).read().strip())
            wait_until(lambda: not os.path.exists("/proc/%d" % pid), 20, "postfix stop")
        except (OSError, ValueError):
            pass


TARGETS = {"gatewayd": Gatewayd, "postfix": Postfix}


# ---- single-session latency client (run as: run-bench.py latency ...) --------

def read_reply(f):
    """One SMTP reply (possibly multi-line); returns its code."""
    while True:
        line = f.readline(2048)
        if not line:
            raise RuntimeError("connection closed")
        if line[3:4] != b"-":
            return int(line[:3])


def latency_client(port, count, size, out):
    """count messages of size bytes, one connection each; writes the latency
    in seconds of each (connect to the 250 after DATA), one per line."""
    line = b"X" * 78 + b"\r\n"
    body = line * max(1, size // len(line))
    lat = []
    for i in range(count):
        msg = (b"From: <%s>\r\nTo: <%s>\r\nSubject: bench %d\r\nMessage-ID: <%d.%d@bench>\r\n\r\n"
               % (FROM.encode(), TO.encode(), i, os.getpid(), i)) + body + b".\r\n"
        t0 = time.perf_counter()
        s = socket.create_connection(("127.0.0.1", port), timeout=60)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        f = s.makefile("rb")
        steps = [(None, 220), (b"EHLO %s\r\n" % HELO.encode(), 250),
                 (b"MAIL FROM:<%s>\r\n" % FROM.encode(), 250),
                 (b"RCPT TO:<%s>\r\n" % TO.encode(), 250), (b"DATA\r\n", 354), (msg, 250)]
        for cmd, want in steps:
            if cmd:
                s.sendall(cmd)
            code = read_reply(f)
            if code != want:
                raise RuntimeError("message %d: got %d, wanted %d" % (i, code, want))
        lat.append(time.perf_counter() - t0)
        s.sendall(b"QUIT\r\n")
        read_reply(f)
        f.close()
        s.close()
    with open(out, "w") as fo:
        fo.write("".join("%.6f\n" % x for x in lat))


def percentile(vals, q):
    v = sorted(vals)
    return v[min(len(v) - 1, int(round(q / 100.0 * (len(v) - 1))))]


# ---- one measured run -----------------------------------------------------

def load_cmd(d, port, sessions, count, size, tag, tls=None):
    """The load generator: smtp-source, our latency client for 1 session,
    tlsload client for TLS."""
    if tls:
        return [TLSLOAD, "client", "-s", str(sessions), "-m", str(count), "-l", str(size),
                "-f", FROM, "-t", TO, "-M", HELO, "-x", os.environ.get("MAX_S", "900"),
                "127.0.0.1:%d" % port]
    if sessions == 1:
        return [sys.executable, os.path.abspath(__file__), "latency", str(port), str(count),
                str(size), os.path.join(d, tag + ".lat")]
    return [SOURCE, "-s", str(sessions), "-m", str(count), "-l", str(size), "-f", FROM,
            "-t", TO, "-M", HELO, "127.0.0.1:%d" % port]


def start_pair(cls, d, builddir, tls=None):
    mta_port = int(os.environ.get("MTA_PORT") or free_port())
    sink_port = int(os.environ.get("SINK_PORT") or free_port())
    sink = Sink(d, sink_port, tls)
    tgt = cls(d, mta_port, sink_port, builddir, tls)
    try:
        root = tgt.start()
    except Exception:
        tgt.stop()
        sink.stop()
        raise
    return sink, tgt, root, mta_port


def drive(sink, tgt, d, port, sessions, count, size, tag, maxs, base, tls=None):
    """Run the load; returns (accept_s, e2e_s) measured from the same start."""
    cmd = load_cmd(d, port, sessions, count, size, tag, tls)
    t0 = time.monotonic()
    src = subprocess.Popen(cmd, stdout=open(os.path.join(d, tag + ".out"), "wb"),
                           stderr=subprocess.STDOUT)
    t_acc = t_e2e = None
    while time.monotonic() - t0 < 2 * maxs:
        if t_acc is None and src.poll() is not None:
            t_acc = time.monotonic() - t0
            if src.returncode != 0:
                raise RuntimeError("%s exited %d: %s" % (cmd[0], src.returncode,
                                   open(os.path.join(d, tag + ".out"), "rb").read()[-500:]))
        if t_e2e is None and sink.count() >= base + count:
            t_e2e = time.monotonic() - t0
        if t_acc is not None and t_e2e is not None:
            return t_acc, t_e2e
        if t_acc is None and time.monotonic() - t0 > maxs:
            src.kill()
        time.sleep(0.02)
    src.kill()
    raise RuntimeError("timed out: sink counted %d of %d" % (sink.count() - base, count))


def fs_of(path):
    """The file system the spools are on: type, device, and for ext4 whether
    it has a journal (without one, ext4's inode allocator skips the inodes
    freed in the last minute or more, and a spool that creates and deletes
    files per message pays for it: doc/performance.md)."""
    path = os.path.realpath(path)
    best = ("?", "?", "")
    with open("/proc/mounts") as f:
        for line in f:
            dev, mnt, typ = line.split()[:3]
            mnt = mnt.replace("\\040", " ")
            if (path == mnt or path.startswith(mnt.rstrip("/") + "/")) and \
                    len(mnt) >= len(best[1]):
                best = (dev, mnt, typ)
    dev, mnt, typ = best
    desc = "%s on %s (%s)" % (typ, mnt, dev)
    if typ == "ext4":
        try:
            with open("/sys/fs/ext4/%s/journal_task" % os.path.basename(dev)) as f:
                desc += ", no journal" if f.read().strip() == "<none>" else ", journal"
        except OSError:
            pass
    return desc


def warm_up(sink, tgt, d, port, size, maxs, tls=None):
    n = int(os.environ.get("WARMUP", "50"))
    if n > 0:
        drive(sink, tgt, d, port, min(5, n), n, size, "warmup", maxs, sink.count(), tls)
    wait_until(lambda: tgt.queue_count() == 0, maxs, "queue empty after warm-up")
    time.sleep(0.5)


def count_lines(path, pattern):
    """Lines of the file that contain pattern (bytes)."""
    try:
        with open(path, "rb") as f:
            return sum(1 for line in f if pattern in line)
    except OSError:
        return 0


def run_one(cls, scen, rep, tmp, builddir, tls_files=None):
    name, sessions, count, size, use_tls = scen
    tls = tls_files if use_tls else None
    d = tempfile.mkdtemp(prefix="%s-%s-%d-" % (cls.name, name, rep), dir=tmp)
    os.chmod(d, 0o755)
    maxs = int(os.environ.get("MAX_S", "900"))
    res = {"target": cls.name, "scenario": name, "rep": rep}
    sink, tgt, root, port = start_pair(cls, d, builddir, tls)
    try:
        warm_up(sink, tgt, d, port, size, maxs, tls)
        base = sink.count()
        cpu0 = tree_cpu_ticks(root)
        sampler = Sampler(root)
        sampler.start()
        acc, e2e = drive(sink, tgt, d, port, sessions, count, size, "load", maxs, base, tls)
        wait_until(lambda: tgt.queue_count() == 0, 60, "queue empty after the load")
        cpu = (tree_cpu_ticks(root) - cpu0) / CLK_TCK
        rss, pss, nprocs = sampler.stop()
        res.update(accept=count / acc, e2e=count / e2e, rss=rss / 1024.0, pss=pss / 1024.0,
                   cpu=cpu * 1000.0 / count, procs=nprocs)
        log("%s %s: at the peak PSS, by process name (processes, PSS KiB, private "
            "dirty KiB): %s" % (cls.name, name, ", ".join(
                "%s %d %d %d" % (k, v[0], v[1], v[2]) for k, v in
                sorted(sampler.by.items(), key=lambda kv: -kv[1][1]))))
        for lab, m in sampler.maps.items():
            log("%s %s: PSS KiB of one %s by mapping: %s" % (cls.name, name, lab, ", ".join(
                "%s %d" % kv for kv in sorted(m.items(), key=lambda kv: -kv[1]) if kv[1] >= 16)))
        if sessions == 1 and not tls:
            lat = [float(x) for x in open(os.path.join(d, "load.lat"))]
            res.update(p50=percentile(lat, 50) * 1000, p99=percentile(lat, 99) * 1000)
        if tls:   # warm-up included: both hops must have used TLS every time
            time.sleep(0.3)
            st = sink.stats()
            res.update(tls_in=count_lines(tgt.log, b"TLS connection established from"),
                       tls_out=st.get("tls", 0), plain_refused=st.get("refused", 0))
        res["status"] = "ok"
    except Exception as e:   # recorded, the other runs go on
        res["status"] = "FAIL: %s" % e
    finally:
        tgt.stop()
        sink.stop()
        if os.environ.get("KEEP_TMP") != "1" and res["status"] == "ok":
            shutil.rmtree(d, ignore_errors=True)
    return res


def strace_summary(path):
    """{syscall: calls} from an `strace -c` summary."""
    calls = {}
    for line in open(path):
        f = line.split()
        if len(f) >= 5 and f[-1] in SYNC_CALLS and f[3].isdigit():
            calls[f[-1]] = int(f[3])
    return calls


def perf_summary(path):
    """{syscall: calls} from a `perf stat -x,` output."""
    calls = {}
    for line in open(path):
        f = line.strip().split(",")
        if len(f) > 2 and f[0].isdigit() and "sys_enter_" in f[2]:
            calls[f[2].split("sys_enter_", 1)[1]] = int(f[0])
    return calls


def sync_counter():
    """"perf" when perf can count the sync tracepoints here, else "strace"."""
    want = os.environ.get("SYNC_COUNT", "perf")
    if want == "perf" and shutil.which("perf"):
        r = subprocess.run(["perf", "stat", "-x,", "-e", "syscalls:sys_enter_syncfs", "true"],
                           capture_output=True, text=True)
        if r.returncode == 0:
            return "perf"
    return "strace"


def run_fsync(cls, tmp, builddir, count):
    """count 10 KB messages over 20 sessions, the sync calls counted
    (sync_counter(): perf system-wide, or strace on the whole tree)."""
    d = tempfile.mkdtemp(prefix="%s-fsync-" % cls.name, dir=tmp)
    os.chmod(d, 0o755)
    out = os.path.join(d, "count.txt")
    sink, tgt, root, port = start_pair(cls, d, builddir)
    st = None
    how = sync_counter()
    try:
        warm_up(sink, tgt, d, port, 10240, 300)
        if how == "perf":
            cmd = ["perf", "stat", "-a", "-x,", "-o", out, "-e",
                   ",".join("syscalls:sys_enter_" + c for c in SYNC_CALLS)]
        else:
            cmd = ["strace", "-f", "-c", "-o", out, "-e", "trace=" + ",".join(SYNC_CALLS)]
            for p in tree_pids(root):
                cmd += ["-p", str(p)]
        st = subprocess.Popen(cmd, stderr=subprocess.DEVNULL)
        time.sleep(1.0)
        drive(sink, tgt, d, port, 20, count, 10240, "fsync", 600, sink.count())
        wait_until(lambda: tgt.queue_count() == 0, 60, "queue empty")
        time.sleep(0.5)
        st.send_signal(signal.SIGINT)
        st.wait(30)
        calls = perf_summary(out) if how == "perf" else strace_summary(out)
        return dict(calls, per_msg=sum(calls.values()) / float(count), status="ok", how=how)
    except Exception as e:
        return {"status": "FAIL: %s" % e}
    finally:
        if st and st.poll() is None:
            st.kill()
            st.wait()
        tgt.stop()
        sink.stop()
        shutil.rmtree(d, ignore_errors=True)


# ---- summary ------------------------------------------------------------------

FIGURES = [("accept", "accept msg/s", "%.1f"), ("e2e", "e2e msg/s", "%.1f"),
           ("rss", "peak RSS MiB", "%.1f"), ("pss", "peak PSS MiB", "%.1f"),
           ("cpu", "CPU s/1000 msg", "%.2f"), ("p50", "p50 ms", "%.2f"), ("p99", "p99 ms", "%.2f")]


def mmm(vals, fmt):
    """median [min-max]"""
    return (fmt + " [" + fmt + "-" + fmt + "]") % (statistics.median(vals), min(vals), max(vals))


def summarize(results, fsync, targets):
    out = []
    for scen in dict.fromkeys(r["scenario"] for r in results):
        out.append("== %s" % scen)
        for t in targets:
            rs = [r for r in results if r["scenario"] == scen and r["target"] == t]
            ok = [r for r in rs if r["status"] == "ok"]
            cells = ["%-9s %d/%d ok" % (t, len(ok), len(rs))]
            for key, label, fmt in FIGURES:
                vals = [r[key] for r in ok if key in r]
                if vals:
                    cells.append("%s %s" % (label, mmm(vals, fmt)))
            out.append("  " + "  |  ".join(cells))
            tls = [r for r in ok if "tls_in" in r]
            if tls:
                out.append("  %-9s TLS: inbound sessions logged %s, upstream TLS sessions at the "
                           "sink %s, MAIL refused there without TLS %s (per repeat, warm-up "
                           "included)" % ("", ",".join(str(r["tls_in"]) for r in tls),
                                          ",".join(str(r["tls_out"]) for r in tls),
                                          ",".join(str(r["plain_refused"]) for r in tls)))
        if len(targets) == 2:
            cells = ["%-9s" % "ratio"]
            for key, label, fmt in FIGURES:
                pairs = {}
                for r in results:
                    if r["scenario"] == scen and r["status"] == "ok" and key in r:
                        pairs.setdefault(r["rep"], {})[r["target"]] = r[key]
                ratios = [p[targets[0]] / p[targets[1]] for p in pairs.values()
                          if len(p) == 2 and p[targets[1]]]
                if ratios:
                    cells.append("%s %s" % (label, mmm(ratios, "%.2f")))
            out.append("  %s/%s per repeat: " % tuple(targets) + "  |  ".join(cells[1:]))
    if fsync:
        hows = sorted(set(f.get("how", "?") for f in fsync.values()))
        out.append("== sync calls per accepted message (%s, whole tree, %s x 10 KB, "
                   "20 sessions)" % ("/".join({"perf": "perf stat -a, tracepoints",
                                              "strace": "strace -f -c"}.get(h, h)
                                             for h in hows),
                                     os.environ.get("FSYNC_MSGS", "500")))
        for t, f in fsync.items():
            if f["status"] != "ok":
                out.append("  %-9s %s" % (t, f["status"]))
                continue
            detail = ", ".join("%s %d" % (c, f.get(c, 0)) for c in SYNC_CALLS)
            out.append("  %-9s %.3f per message (%s)" % (t, f["per_msg"], detail))
        if len(fsync) == 2 and all(f["status"] == "ok" and f["per_msg"] for f in fsync.values()):
            a, b = (fsync[t]["per_msg"] for t in targets)
            out.append("  ratio %s/%s %.3f" % (targets[0], targets[1], a / b))
    return "\n".join(out)


def parse_scenarios():
    s = os.environ.get("SCENARIOS") or ("10k-s20:20:5000:10240 100k-s20:20:5000:102400 "
                                        "10k-s1:1:500:10240 10k-s100:100:5000:10240 "
                                        "10k-s20-tls:20:3000:10240:tls")
    out = []
    for item in s.split():
        f = item.split(":")
        if len(f) not in (4, 5) or (len(f) == 5 and f[4] != "tls"):
            sys.exit("SCENARIOS: %s is not NAME:SESSIONS:MESSAGES:BYTES[:tls]" % item)
        out.append((f[0], int(f[1]), int(f[2]), int(f[3]), len(f) == 5))
    return out


def make_cert(tmp):
    """A self-signed certificate for 127.0.0.1 (TLS_KEY ec or rsa); (cert, key)."""
    kind = os.environ.get("TLS_KEY", "ec")
    if kind not in ("ec", "rsa"):
        sys.exit("TLS_KEY: ec or rsa")
    cert, key = os.path.join(tmp, "bench-cert.pem"), os.path.join(tmp, "bench-key.pem")
    opts = (["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"] if kind == "ec"
            else ["-newkey", "rsa:2048"])
    subprocess.run(["openssl", "req", "-x509", "-nodes", "-days", "2", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
                    "-keyout", key, "-out", cert] + opts,
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.chmod(key, 0o600)
    os.chmod(cert, 0o644)
    return cert, key


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "latency":
        latency_client(int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5])
        return 0
    builddir = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else ".")
    global TLSLOAD
    TLSLOAD = os.path.join(builddir, "bench", "tlsload")
    targets = ["gatewayd"]
    vs = os.environ.get("BENCH_VS", "")
    if vs:
        if vs not in TARGETS or vs == "gatewayd":
            sys.exit("BENCH_VS: only 'postfix' is supported")
        if os.geteuid() != 0:
            sys.exit("BENCH_VS=postfix needs root (a private Postfix instance)")
        targets.append(vs)
    for tool in (SINK, SOURCE) + (("strace",) if os.environ.get("FSYNC_MSGS", "500") != "0" and
                                  sync_counter() == "strace" else ()):
        if not shutil.which(tool):
            sys.exit("missing %s (Debian packages postfix, strace or linux-perf)" % tool)
    scens = parse_scenarios()
    if any(s[4] for s in scens) and not os.access(TLSLOAD, os.X_OK):
        sys.exit("missing %s: run make bench (or make bench/tlsload)" % TLSLOAD)
    reps = int(os.environ.get("REPEATS", "3"))
    rdir = os.environ.get("RESULTS_DIR") or os.path.join(
        builddir, "bench-results", time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()))
    os.makedirs(rdir, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="gw-bench-", dir=os.environ.get("BENCH_TMPDIR", "/var/tmp"))
    os.chmod(tmp, 0o755)
    tls_files = make_cert(tmp) if any(s[4] for s in scens) else None
    with open(os.path.join(rdir, "env.txt"), "w") as f:
        f.write("date %s\nkernel %s\ncpus %d\nload %s\nscenarios %s\nrepeats %d\n" % (
            time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), os.uname().release,
            os.cpu_count(), open("/proc/loadavg").read().strip(),
            " ".join("%s:%d:%d:%d" % s[:4] + (":tls" if s[4] else "") for s in scens), reps))
        f.write("spool_fs %s\n" % fs_of(tmp))
        if tls_files:
            f.write("tls_key %s\n" % os.environ.get("TLS_KEY", "ec"))
        for t in targets:
            f.write("version %s\n" % TARGETS[t](tempfile.mkdtemp(dir=tmp), 1, 2, builddir).version())
    log("spools on %s" % fs_of(tmp))
    results = []
    tsv = open(os.path.join(rdir, "results.tsv"), "w")
    keys = ["target", "scenario", "rep"] + [k for k, _, _ in FIGURES] + [
        "procs", "tls_in", "tls_out", "plain_refused", "status"]
    tsv.write("\t".join(keys) + "\n")
    try:
        for rep in range(1, reps + 1):
            for scen in scens:
                for t in targets:
                    log("%s %s rep %d" % (t, scen[0], rep))
                    r = run_one(TARGETS[t], scen, rep, tmp, builddir, tls_files)
                    log("  " + ", ".join("%s=%s" % (k, ("%.2f" % v) if isinstance(v, float) else v)
                                         for k, v in r.items() if k not in ("target", "scenario", "rep")))
                    results.append(r)
                    tsv.write("\t".join(str(r.get(k, "-")) for k in keys) + "\n")
                    tsv.flush()
        fsync = {}
        n = int(os.environ.get("FSYNC_MSGS", "500"))
        if n > 0:
            for t in targets:
                log("%s: sync calls under strace, %d messages" % (t, n))
                fsync[t] = run_fsync(TARGETS[t], tmp, builddir, n)
                log("  %s" % fsync[t])
    finally:
        if os.environ.get("KEEP_TMP") != "1":
            shutil.rmtree(tmp, ignore_errors=True)
    text = summarize(results, fsync, targets)
    with open(os.path.join(rdir, "summary.txt"), "w") as f:
        f.write(text + "\n")
    print(text)
    print("results: %s" % rdir)
    return 0 if all(r["status"] == "ok" for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""e2e_pipe - the pipe connector end to end through SMTP.

A recording command (a Python script written here) is run by four pipe
connectors: per recipient with the message on stdin, per job with a
recipient argument expanded once per recipient, once per extracted
attachment with the attachment on stdin and {attachments} in its argv,
and through /bin/sh (shell: yes) with the values in its environment.
What the recipient's local part asks for decides what the command does:

* exit 0 (delivered, no bounce), 75 (deferred with its first output line
  in the job's last error), 64 (bounced: the DSN's text carries the first
  output line, its control characters escaped);
* hang with a grandchild: killed with its process group at the timeout
  (3 s), the recipient deferred, the grandchild gone too;
* 5 MB of output: the first line reaches the DSN, the rest is read away
  and discarded (the delivery ends promptly, the log says so);
* read nothing of a 2 MB message: delivered (a command that stops
  reading is judged by its exit status).

Hostile values (a display name and a sender with quotes, $(...),
backquotes, semicolons and a newline-free shell payload) arrive as one
argv element each, byte for byte, and no shell runs them (no file the
payload would create exists); the shell connector sees them only as
$GW_NAME.  The attachments' temporary directory is gone afterwards.
`gatewayd -n` refuses a relative command, an unknown field and a user
the deliverer cannot become.
"""
import email.mime.application
import email.mime.multipart
import email.mime.text
import email.policy
import hashlib
import json
import os
import pwd
import re
import subprocess
import time

import gwtest
from gwtest import Gateway, check, main, run_user, settle, wait_for

REC = r'''#!/usr/bin/python3
# rec.py - records how it was run, then does what the recipient asks for
import hashlib, json, os, subprocess, sys, time
out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "out")
args = sys.argv[1:]
mode = args[0] if args[0] in ("job", "att") else args[1].split("@")[0].lower()
rec = {"argv": args, "cwd": os.getcwd(), "uid": os.getuid(),
       "env": {k: v for k, v in os.environ.items()}}
if mode != "noread":
    data = sys.stdin.buffer.read()
    rec["stdin_len"] = len(data)
    rec["stdin_sha"] = hashlib.sha256(data).hexdigest()
    rec["stdin_head"] = data[:20000].decode("latin-1")
if mode == "att":
    rec["files"] = {}
    for p in args[1:]:
        with open(p, "rb") as f:
            rec["files"][p] = hashlib.sha256(f.read()).hexdigest()
name = "%s-%s-%d.json" % (os.environ.get("GW_QUEUE_ID", "x"), mode.replace("/", "_")[:40], os.getpid())
with open(os.path.join(out, name + ".tmp"), "w") as f:
    json.dump(rec, f)
os.rename(os.path.join(out, name + ".tmp"), os.path.join(out, name))
if mode == "tempfail":
    print("try later, please")
    sys.exit(75)
if mode == "usage":
    sys.stdout.buffer.write(b"\n  bad \x1b[31minput\\ here\r\nsecond line\n")
    sys.exit(64)
if mode == "hang":
    p = subprocess.Popen(["/bin/sleep", "300"])
    with open(os.path.join(out, "hang-child.pid"), "w") as f:
        f.write(str(p.pid))
    time.sleep(300)
if mode == "big":
    sys.stdout.write("first of many lines\n")
    sys.stdout.write(("x" * 99 + "\n") * 50000)
    sys.stdout.flush()
    sys.exit(65)
sys.exit(0)
'''

NAME = "Jane \"Q\" $(touch /tmp/pipe-pwned-1); `touch /tmp/pipe-pwned-2` 'Doe' | x > y & z"
SENDER = '"a b;$(touch /tmp/pipe-pwned-3)"@client.test'


def records(gw):
    d = os.path.join(gw.dir, "out")
    res = []
    for n in sorted(os.listdir(d)):
        if n.endswith(".json"):
            with open(os.path.join(d, n)) as f:
                res.append(json.load(f))
    return res


def job_rcpts(gw, state, conn):
    """{address: (state, text)} of every job file of conn in state."""
    out = {}
    for p in gw.spool_files(os.path.join(state, conn)):
        with open(p, "rb") as f:
            text = f.read().decode("latin-1")
        for line in text.split("\nend\n")[0].splitlines():
            if line.startswith("rcpt "):
                parts = line.split(" ", 6)
                addr = re.sub(r"\\x([0-9a-f]{2})", lambda m: chr(int(m.group(1), 16)), parts[2])
                txt = re.sub(r"\\x([0-9a-f]{2})", lambda m: chr(int(m.group(1), 16)),
                             " ".join(parts[3:]))
                out[addr] = (parts[1], txt)
    return out


def setup_dirs(gw):
    user = run_user()
    for d, mode in (("bin", 0o755), ("out", 0o777), ("tmp", 0o700)):
        p = os.path.join(gw.dir, d)
        os.makedirs(p, exist_ok=True)
        os.chmod(p, mode)
        if user and d == "tmp":
            pw = pwd.getpwnam(user)
            os.chown(p, pw.pw_uid, pw.pw_gid)
    rec = os.path.join(gw.dir, "bin", "rec.py")
    with open(rec, "w") as f:
        f.write(REC)
    os.chmod(rec, 0o755)
    return rec


def connectors(gw, rec):
    out = os.path.join(gw.dir, "out")
    return [
        {"name": "pj", "type": "pipe", "retry": {"min_backoff": "1h"}, "settings": {
            "command": json.dumps([rec, "{sender}", "{recipient}", "{fax}", "{name}",
                                   "{company}", "{flags}", "{queue_id}", "x{{y}}"]),
            "per": "recipient", "input": "message", "timeout": "3s", "output_limit": "1000"}},
        {"name": "pjob", "type": "pipe", "settings": {
            "command": json.dumps([rec, "job", "{recipient}", "--to={recipient}", "{queue_id}"]),
            "per": "job", "input": "none"}},
        {"name": "patt", "type": "pipe", "settings": {
            "command": json.dumps([rec, "att", "{attachments}"]),
            "input": "attachments", "tmpdir": os.path.join(gw.dir, "tmp")}},
        {"name": "psh", "type": "pipe", "settings": {
            "shell": "yes", "input": "none",
            "command": json.dumps('printf "%%s|%%s" "$GW_NAME" "$GW_RECIPIENT" > %s/shell.txt'
                                  % out)}},
    ]


RULES = [{"name": "job", "recipient": "*@job.gw.test", "connector": "pjob"},
         {"name": "att", "recipient": "*@att.gw.test", "connector": "patt"},
         {"name": "sh", "recipient": "*@sh.gw.test", "connector": "psh"},
         {"name": "all", "connector": "pj"}]
DOMAINS = ["gw.test", "job.gw.test", "att.gw.test", "sh.gw.test"]


def send_main(gw):
    """One message to six recipients of pj; returns the fax recipient."""
    fax = '"FAX=+1 (603) 890-1957^COMPANY=Acme; Inc^NOCOVER"@gw.test'
    msg = ("From: %s\r\nTo: \"%s\" <%s>\r\nSubject: pipe test\r\n\r\nbody of the pipe test\r\n"
           % (SENDER, NAME.replace('"', '\\"'), fax)).encode()
    rcpts = ["ok@gw.test", "tempfail@gw.test", "usage@gw.test", "big@gw.test",
             "hang@gw.test", fax]
    with gw.smtp() as s:
        s.sendmail(SENDER, rcpts, msg)
    return fax, msg


def check_main(gw, fax, msg):
    recs = wait_for(lambda: [r for r in records(gw) if len(r["argv"]) == 8] if len(
        [r for r in records(gw) if len(r["argv"]) == 8]) >= 6 else None, 60,
        "six runs of the per-recipient command")
    by = {r["argv"][1]: r for r in recs}
    check(set(by) >= {"ok@gw.test", "tempfail@gw.test", "usage@gw.test", "hang@gw.test",
                      "big@gw.test", fax}, "recipients: %s" % sorted(by))
    f = by[fax]
    check(f["argv"][0] == SENDER, "sender as one argument, verbatim: %r" % f["argv"][0])
    check(f["argv"][2] == "+16038901957", "fax number: %r" % f["argv"][2])
    check(f["argv"][3] == NAME, "hostile display name as one argument: %r" % f["argv"][3])
    check(f["argv"][4] == "Acme; Inc", "company: %r" % f["argv"][4])
    check(f["argv"][5] == "NOCOVER", "flags: %r" % f["argv"][5])
    check(re.fullmatch(r"[0-9a-f]{20}", f["argv"][6]) and f["argv"][7] == "x{y}", f["argv"])
    check(f["env"]["GW_NAME"] == NAME and f["env"]["GW_QUEUE_ID"] == f["argv"][6], f["env"])
    check(not any(k in f["env"] for k in ("GATEWAYD_LIBEXECDIR", "PYTHONPATH")),
          "the worker's environment is not passed on: %s" % sorted(f["env"]))
    check(f["stdin_len"] > len(msg) and "body of the pipe test" in f["stdin_head"],
          "the message on stdin (%d bytes)" % f["stdin_len"])
    if run_user():
        check(f["uid"] == pwd.getpwnam(run_user()).pw_uid, "runs as the gateway user")
    for p in ("/tmp/pipe-pwned-1", "/tmp/pipe-pwned-2", "/tmp/pipe-pwned-3"):
        check(not os.path.exists(p), "no shell ran the payload (%s exists)" % p)
    return by


def check_results(gw):
    st = settle(lambda: job_rcpts(gw, "deferred", "pj"),
                lambda v: "hang@gw.test" in v and "tempfail@gw.test" in v, 30)
    check(st.get("tempfail@gw.test", ("",))[0] == "deferred" and
          "try later, please" in st["tempfail@gw.test"][1] and
          "4.3.0" in st["tempfail@gw.test"][1] and "status 75" in st["tempfail@gw.test"][1],
          "75 deferred with the output line: %s" % (st.get("tempfail@gw.test"),))
    check(st.get("hang@gw.test", ("",))[0] == "deferred" and
          "timed out" in st["hang@gw.test"][1], "hang deferred: %s" % (st.get("hang@gw.test"),))
    check(st.get("usage@gw.test", ("",))[0] == "failed" and
          st.get("big@gw.test", ("",))[0] == "failed" and
          st.get("ok@gw.test", ("",))[0] == "done", "states: %s" % st)
    u = st["usage@gw.test"][1]
    check("status 64" in u and "5.3.0" in u and "bad \\x1b[31minput\\\\ here" in u and
          "second line" not in u, "64 bounced with the escaped first line: %s" % u)
    b = st["big@gw.test"][1]
    check("status 65" in b and "5.6.0" in b and "first of many lines" in b, b)
    log = gw.read_log()
    check("output past output_limit discarded" in log, "truncation logged")
    m = re.search(r"command rec.py timed out[^\n]*\((\d+\.\d) s", log)
    check(m and 2.9 <= float(m.group(1)) < 10, "killed at the 3 s timeout: %s" % (m and m.group(0)))
    pidf = os.path.join(gw.dir, "out", "hang-child.pid")
    pid = int(open(pidf).read())

    def gone():
        try:
            with open("/proc/%d/stat" % pid) as f:
                return f.read().split(")")[1].split()[0] == "Z"
        except OSError:
            return True
    wait_for(gone, 10, "the hung command's grandchild killed with its group")
    # the bounce (to the sender, routed to pj again) names both failures
    dsn = wait_for(lambda: [r for r in records(gw) if r["argv"][1] == SENDER], 30,
                   "the DSN delivered to the sender")
    check("bad \\x1b[31minput\\\\ here" in dsn[0]["stdin_head"] and
          "first of many lines" in dsn[0]["stdin_head"], "DSN text: %s" % dsn[0]["stdin_head"][:3000])


def check_noread(gw):
    big = ("From: x@client.test\r\nSubject: big\r\n\r\n" + ("y" * 998 + "\r\n") * 2100).encode()
    with gw.smtp() as s:
        s.sendmail("x@client.test", ["noread@gw.test"], big)
    wait_for(lambda: [r for r in records(gw) if r["argv"][1] == "noread@gw.test"], 30,
             "the command that reads nothing ran")
    wait_for(lambda: re.search(r"command rec.py exited 0", gw.read_log()) and
             not job_rcpts(gw, "deferred", "pj").get("noread@gw.test") and
             not gw.spool_files("queue/pj") and not gw.spool_files("active/pj"), 30,
             "the 2 MB message delivered to a command that read none of it")


def check_job_att_shell(gw):
    m = email.mime.multipart.MIMEMultipart()
    m["From"], m["To"], m["Subject"] = "mfp@client.test", "docs@att.gw.test", "scan"
    m.attach(email.mime.text.MIMEText("see attached"))
    pdf = b"%PDF-1.4\n" + os.urandom(3000) + b"\n%%EOF\n"
    tif = b"II*\x00" + os.urandom(5000)
    for data, name, sub in ((pdf, "scan 1.pdf", "pdf"), (tif, "../pages.tif", "tiff")):
        part = email.mime.application.MIMEApplication(data, _subtype=sub)
        part.add_header("Content-Disposition", "attachment", filename=name)
        m.attach(part)
    with gw.smtp() as s:
        s.sendmail("mfp@client.test", ["docs@att.gw.test"], m.as_bytes(policy=email.policy.SMTP))
        s.sendmail("mfp@client.test", ["a@job.gw.test", "b@job.gw.test"],
                   b"Subject: job\r\n\r\nper job\r\n")
        s.sendmail("mfp@client.test", ["x@sh.gw.test"],
                   ("To: \"%s\" <x@sh.gw.test>\r\nSubject: sh\r\n\r\nshell\r\n"
                    % NAME.replace('"', '\\"')).encode())
    att = wait_for(lambda: [r for r in records(gw) if r["argv"][0] == "att"] if len(
        [r for r in records(gw) if r["argv"][0] == "att"]) >= 2 else None, 30,
        "one run per attachment")
    check(len(att) == 2, "two documents, two runs: %d" % len(att))
    want = {hashlib.sha256(pdf).hexdigest(), hashlib.sha256(tif).hexdigest()}
    check({r["stdin_sha"] for r in att} == want, "each attachment on stdin, byte-exact")
    files = att[0]["files"]
    check(len(files) == 2 and set(files.values()) == want, "{attachments}: %s" % files)
    d = os.path.dirname(list(files)[0])
    check(all(os.path.dirname(p) == d for p in files) and
          sorted(os.path.basename(p) for p in files) == ["___pages.tif", "scan 1.pdf"],
          "safe names in one directory: %s" % sorted(files))
    check(d.startswith(os.path.join(gw.dir, "tmp") + "/") and att[0]["cwd"] == d and
          att[0]["env"]["TMPDIR"] == d, "the private directory under tmpdir")
    wait_for(lambda: not os.listdir(os.path.join(gw.dir, "tmp")), 10,
             "the attachments' directory removed")
    job = wait_for(lambda: [r for r in records(gw) if r["argv"][0] == "job"], 30, "the per-job run")
    check(len(job) == 1 and job[0]["argv"][1:5] == ["a@job.gw.test", "b@job.gw.test",
                                                    "--to=a@job.gw.test", "--to=b@job.gw.test"],
          "one run, a recipient argument per recipient: %s" % job[0]["argv"])
    check(job[0]["stdin_len"] == 0, "input: none reads /dev/null")
    shp = os.path.join(gw.dir, "out", "shell.txt")
    wait_for(lambda: os.path.exists(shp) and os.path.getsize(shp) > 0, 30, "the shell command ran")
    check(open(shp).read() == NAME + "|x@sh.gw.test", "shell sees the values as data: %r" %
          open(shp).read())


def check_n(gw, rec):
    """gatewayd -n refuses what the connector would refuse at its start."""
    good = gw.config
    bad_cases = [
        ({"command": '["bin/rec.py"]'}, "must be an absolute path"),
        ({"command": json.dumps([rec, "{nmae}"])}, "unknown field '{nmae}'"),
        ({"command": json.dumps([rec, "x{attachments}"])}, "argument of its own"),
        ({"command": json.dumps([rec]), "per": "message"}, "per: 'message' is not one of"),
        ({"command": json.dumps([rec]), "user": "root"}, "cannot change users"),
        ({"command": json.dumps([rec]), "timeout": "2d"}, "timeout must be"),
        ({"command": json.dumps([rec]), "output_limit": "lots"}, "output_limit must be"),
        ({"command": json.dumps([rec]), "shell": "perhaps"}, "shell must be"),
    ]
    for settings, want in bad_cases:
        if "user" in settings and not run_user():
            continue
        gw.write_config([{"name": "pj", "type": "pipe", "settings": settings}],
                        [{"name": "all", "connector": "pj"}], ["127.0.0.0/8"], ["gw.test"])
        r = subprocess.run([gwtest.GATEWAYD, "-n", "-c", gw.config], capture_output=True,
                           text=True, timeout=30)
        check(r.returncode == 1 and want in r.stderr and "gatewayd.yaml:" in r.stderr,
              "gatewayd -n on %s: %d %s" % (settings, r.returncode, r.stderr))


def test():
    for p in ("/tmp/pipe-pwned-1", "/tmp/pipe-pwned-2", "/tmp/pipe-pwned-3"):
        if os.path.exists(p):
            os.unlink(p)
    gw = Gateway("pipe")
    ok = False
    try:
        rec = setup_dirs(gw)
        gw.write_config(connectors(gw, rec), RULES, ["127.0.0.0/8", "::1"], DOMAINS)
        r = subprocess.run([gwtest.GATEWAYD, "-n", "-c", gw.config], capture_output=True,
                           text=True, timeout=30)
        check(r.returncode == 0, "gatewayd -n: %s" % r.stderr)
        gw.start()
        check("exec allowed: the connector runs programs" in gw.read_log(),
              "the pipe workers' deny list allows exec")
        fax, msg = send_main(gw)
        check_main(gw, fax, msg)
        check_results(gw)
        check_noread(gw)
        check_job_att_shell(gw)
        out = gw.ctl("connectors")
        check(re.search(r"^pipe\s+pipe\s+1\.0\s", out, re.M), "gatewayctl connectors: %s" % out)
        gw.stop()
        check_n(gw, rec)
        ok = True
    finally:
        gw.cleanup(ok)


if __name__ == "__main__":
    main(test)

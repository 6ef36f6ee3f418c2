"""pgtest - a private PostgreSQL cluster for the directive store's tests.

initdb in a temporary directory as an unprivileged user (postgres when the
tests run as root), a server that listens only on 127.0.0.1 at a free port
and on a socket in that directory, a role with a SCRAM password and a
database for the gateways.  stop() (also registered with atexit) shuts it
down whatever happened.  skip_unless_available() exits 77 when the server
binaries are not installed (.ci/run installs them).
"""
import atexit
import glob
import os
import pwd
import shutil
import subprocess
import sys
import tempfile

from gwtest import TestFailure, free_port, wait_for


def pg_bindir():
    """The newest /usr/lib/postgresql/N/bin with initdb, or None."""
    dirs = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                  key=lambda p: int(p.split("/")[4]) if p.split("/")[4].isdigit() else 0)
    return os.path.dirname(dirs[-1]) if dirs else None


def skip_unless_available(name):
    """Exit 77 (automake's skip) when the PostgreSQL server is missing."""
    if pg_bindir() is None:
        print("SKIP %s: no PostgreSQL server (apt-get install postgresql)" % name)
        sys.exit(77)


class Postgres:
    """A private cluster: Postgres().start(); .port, .password, .sockdir."""

    def __init__(self, user="gwdir", dbname="gatewayd"):
        self.bindir = pg_bindir()
        if self.bindir is None:
            raise TestFailure("no PostgreSQL server binaries")
        self.dir = tempfile.mkdtemp(prefix="gw-pg-")
        os.chmod(self.dir, 0o755)
        self.data = os.path.join(self.dir, "data")
        self.sockdir = os.path.join(self.dir, "sock")
        self.logfile = os.path.join(self.dir, "postgres.log")
        self.port = free_port()
        self.user = user
        self.dbname = dbname
        self.password = "pw-%s" % os.urandom(6).hex()
        self.owner = "postgres" if os.geteuid() == 0 else None
        self.running = False
        atexit.register(self.stop)

    def _run(self, argv, **kw):
        """argv as the cluster's owner; raises TestFailure on failure."""
        pre = None
        if self.owner:
            pw = pwd.getpwnam(self.owner)

            def pre():
                os.setgid(pw.pw_gid)
                os.setgroups([])
                os.setuid(pw.pw_uid)
        r = subprocess.run(argv, preexec_fn=pre, capture_output=True, text=True,
                           timeout=kw.pop("timeout", 120), cwd=self.dir, **kw)
        if r.returncode != 0:
            raise TestFailure("%s failed (%d): %s %s" % (argv[0], r.returncode,
                                                         r.stdout, r.stderr))
        return r.stdout

    def start(self):
        self._chown_path(self.dir)
        os.mkdir(self.sockdir)
        self._chown_path(self.sockdir)
        self._run([os.path.join(self.bindir, "initdb"), "-D", self.data, "-U", "postgres",
                   "--auth-local=trust", "--auth-host=scram-sha-256", "--no-sync",
                   "-E", "UTF8", "--locale=C"])
        with open(os.path.join(self.data, "postgresql.auto.conf"), "a") as f:
            f.write("listen_addresses = '127.0.0.1'\nport = %d\n"
                    "unix_socket_directories = '%s'\nfsync = off\n"
                    "max_connections = 40\nshared_buffers = 16MB\n"
                    % (self.port, self.sockdir))
        self.resume()
        self.psql("CREATE ROLE %s LOGIN PASSWORD '%s'" % (self.user, self.password))
        self.psql("CREATE DATABASE %s OWNER %s" % (self.dbname, self.user))
        return self

    def _chown_path(self, p):
        if self.owner:
            pw = pwd.getpwnam(self.owner)
            os.chown(p, pw.pw_uid, pw.pw_gid)

    def psql(self, sql, db="postgres"):
        """Run sql as the superuser over the socket; its output (unaligned)."""
        return self._run([os.path.join(self.bindir, "psql"), "-X", "-q", "-A", "-t",
                          "-v", "ON_ERROR_STOP=1", "-h", self.sockdir, "-p", str(self.port),
                          "-U", "postgres", "-d", db, "-c", sql])

    def password_file(self, path, owner_uid=0):
        """The password in a mode-0600 file (root's, read before the drop)."""
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.write(fd, (self.password + "\n").encode())
        os.close(fd)
        os.chmod(path, 0o600)
        if os.geteuid() == 0:
            os.chown(path, owner_uid, 0)
        return path

    def config(self, password_file, host="127.0.0.1", extra=""):
        """The directives: section of a gatewayd.yaml for this cluster."""
        return ("directives:\n  store: postgresql\n  postgresql:\n"
                "    host: \"%s\"\n    port: %d\n    dbname: %s\n    user: %s\n"
                "    password_file: %s\n    sslmode: disable\n"
                "    connect_timeout: 3s\n    statement_timeout: 5s\n%s"
                % (host, self.port, self.dbname, self.user, password_file, extra))

    def resume(self):
        """Start the server (again)."""
        self._run([os.path.join(self.bindir, "pg_ctl"), "-D", self.data, "-l", self.logfile,
                   "-w", "-t", "60", "start"])
        self.running = True

    def halt(self):
        """Stop the server now (immediate), keeping the cluster."""
        if self.running:
            self.running = False
            try:
                self._run([os.path.join(self.bindir, "pg_ctl"), "-D", self.data,
                           "-m", "immediate", "-w", "-t", "30", "stop"])
            except (TestFailure, subprocess.TimeoutExpired) as e:
                print("pgtest: stop: %s" % e)

    def stop(self):
        """The server stopped and the directory removed."""
        self.halt()
        if os.path.isdir(self.dir) and not os.environ.get("GW_KEEP"):
            shutil.rmtree(self.dir, ignore_errors=True)

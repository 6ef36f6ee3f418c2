/*
 * sandbox.h - seccomp filters for the receiver, the router and the
 * delivery children (Linux, libseccomp)
 *
 * sandbox_enter() is the last step of a child's start-up: after the
 * privilege drop and after every library has opened what it opens lazily
 * (OpenSSL contexts, SASL, the libevent base, the SQLite store, the
 * configuration).  From then on a system call outside the role's list
 * kills the whole process with SIGSYS (SCMP_ACT_KILL_PROCESS); its parent
 * (the master, or the worker for a delivery child) logs the death and
 * starts a new one.  The filter cannot be lifted: PR_SET_NO_NEW_PRIVS is
 * set with it, and a process can only add filters, never remove one.
 *
 * The receiver and the router get an allowlist.  Delivery children run
 * connector code, including third-party connectors whose needs are not
 * known (network, TLS, DNS, files anywhere, libraries loaded lazily), so
 * they get a deny list on top of an otherwise open filter: no exec, no
 * ptrace or process_vm_*, no mount or namespace calls, no chroot, no
 * setuid family, no bpf, kexec, module loading, perf_event_open or
 * keyrings, no clone into a new namespace.  The recognizer (and its job
 * children, which inherit it) gets the same deny list but for exec (it
 * runs pdftoppm) and with no IPv4 or IPv6 socket.  The delivery children
 * of a connector that declares GW_NEED_EXEC in its descriptor (pipe) get
 * the delivery deny list without exec.  gatewayd-web (libmicrohttpd,
 * GnuTLS, SASL plugins loaded lazily) gets the delivery deny list, exec
 * included.  Nothing here depends on the
 * uid a child runs as.
 *
 * Not built on other systems: there sandbox_enter() only says so.
 */
#ifndef GW_SANDBOX_H
#define GW_SANDBOX_H

enum sandbox_role {
	SANDBOX_RECEIVER,
	SANDBOX_ROUTER,
	SANDBOX_DELIVERY,
	SANDBOX_RECOGNIZER,
	SANDBOX_ROUTER_NET,	/* the router with LDAP lookups: inet sockets too */
	SANDBOX_DELIVERY_EXEC,	/* delivery children of a GW_NEED_EXEC connector */
	SANDBOX_WEB		/* gatewayd-web: the delivery deny list (no exec) */
};

/*
 * Install the role's filter (fatal when it cannot be installed).  With
 * enabled zero (configuration "sandbox: no") install nothing.  Logs the
 * state with sandbox_report(), or at debug level only when quiet
 * (delivery children, forked again and again: the worker reports once).
 */
/*
 * Before forking many children of a role (the delivery children): compile
 * its filter once, so that each child loads it without building it (no
 * allocation: the child's pages stay shared with its parent).
 */
void sandbox_prepare(enum sandbox_role role, int enabled);
void sandbox_enter(enum sandbox_role role, int enabled, int quiet);
/* Log whether the role runs under a filter (one info line). */
void sandbox_report(enum sandbox_role role, int enabled);
/* The role's name for log lines: "receiver", "router", "delivery children". */
const char *sandbox_role_name(enum sandbox_role role);

#endif

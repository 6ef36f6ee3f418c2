/*
 * worker_check.c - gatewayd-worker -C: check one connector's settings
 *
 * gatewayd -n and gatewayctl check start the worker with -C for every
 * configured connector instance (lib/cfgcheck.c), already running as the
 * gateway's user: the connector's code never runs as root nor in the
 * master's or gatewayctl's address space.  The worker loads the object
 * with the loader's checks and calls its check() entry point when the
 * descriptor has one (struct_size covers it and it is not NULL).  It
 * opens no spool, starts no delivery and talks to no master.
 *
 * Output (stdout, one line): the connector's message, which names
 * file:line:column, or the loader's reason; exit 0 when the settings are
 * valid (or the connector has no check()), 78 (EX_CONFIG) when not.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "cfg.h"
#include "ipc.h"
#include "loader.h"
#include "log.h"
#include "proc.h"
#include "worker.h"

/*
 * worker_refuse - a started worker cannot use its connector or settings:
 * log why, tell the master (IPC_WORKER_STATE "refused", shown by
 * gatewayctl status) and exit 78, which the master does not restart
 */
void
worker_refuse(const char *fmt, ...)
{
	char why[CFG_ERRLEN];
	const char *sv[] = { "refused", why, NULL };
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	log_warnx("%s", why);
	(void)ipc_write_strings(PROC_FD_IPC, IPC_WORKER_STATE, sv);
	exit(WORKER_EXIT_CONFIG);
}

/* worker_check_run - load the connector of c and check its settings */
int
worker_check_run(const struct cfg *cfg, const struct cfg_connector *c)
{
	char err[CFG_ERRLEN];
	struct loader ld;
	int rc = 0;

	if (loader_open(cfg->connector_dir, c->type, &ld, err,
	    sizeof(err)) == -1) {
		printf("connector %s: %s\n", c->name, err);
		return WORKER_EXIT_CONFIG;
	}
	err[0] = '\0';
	if (!GW_CONNECTOR_HAS(ld.conn, check) || ld.conn->check == NULL)
		printf("connector %s: %s %s has no check function: its settings "
		    "are checked when its worker starts\n", c->name,
		    ld.conn->name, ld.conn->version);
	else if (ld.conn->check(c->settings, err, sizeof(err)) == -1) {
		printf("%s (connector %s)\n", err[0] ? err :
		    "settings refused", c->name);
		rc = WORKER_EXIT_CONFIG;
	}
	fflush(stdout);
	loader_close(&ld);
	return rc;
}

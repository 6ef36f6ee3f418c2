/*
 * control_ops.c - counters, pause/resume, connector information
 *
 * The master keeps the totals of the counter deltas its children send
 * (stats.h), so they survive child restarts; "stats" is answered by a
 * control child that inherits a copy of them and adds the queue sizes it
 * reads from the spool.  Pause state lives here too and is sent again to
 * a child that (re)starts.  "connectors" lists the shared objects of
 * connector_dir: to read a descriptor the object must be loaded, which
 * runs its constructors, so it is done in the unprivileged control child
 * and, per file, in a grandchild that can crash without harm.
 */
#include "config.h"

#include <dirent.h>
#include <dlfcn.h>
#include <stddef.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>

#include <gatewayd/connector.h>

#include "cfg.h"
#include "control.h"
#include "control_int.h"
#include "ipc.h"
#include "log.h"
#include "master.h"
#include "spool.h"
#include "stats.h"
#include "textout.h"
#include "xmalloc.h"

#define OPS_EX_DOWN	69	/* status: a process is down (EX_UNAVAILABLE) */
#define OPS_EX_DEGRADED	75	/* status: suspended, spool low (EX_TEMPFAIL) */

struct ops_worker_info {
	char *instance, *name, *version, *path;
	unsigned long abi;
	char *suspended;	/* why delivery is suspended, NULL if it is not */
	char *refused;		/* why the worker refused its settings (exit 78) */
	time_t suspended_since;
	struct ops_worker_info *next;
};

static struct stats ops_totals;
static struct ops_worker_info *ops_infos;
static int ops_receive_paused;
static char **ops_paused;		/* connector instances paused; "*" = all */
static size_t ops_npaused;


/* ops_worker_find - the record of a connector instance, created if new */
static struct ops_worker_info *
ops_worker_find(const char *instance)
{
	struct ops_worker_info **pp;

	for (pp = &ops_infos; *pp != NULL; pp = &(*pp)->next)
		if (strcmp((*pp)->instance, instance) == 0)
			return *pp;
	*pp = xcalloc(1, sizeof(**pp));
	(*pp)->instance = xstrdup(instance);
	return *pp;
}

/*
 * ops_worker_state - IPC_WORKER_STATE: "suspended" since reason,
 * "delivering", or "refused" reason (the worker exits 78 next)
 */
static int
ops_worker_state(const char *instance, const struct ipc_frame *f)
{
	const char *sv[4];
	struct ops_worker_info *i;
	long long since;
	char *end;
	int n;

	if (instance == NULL || (n = ipc_strings(f, sv, 4)) < 1)
		return -1;
	i = ops_worker_find(instance);
	if (strcmp(sv[0], "refused") == 0 && n == 2) {
		free(i->refused);
		i->refused = xstrdup(sv[1]);
		return 0;
	}
	free(i->suspended);
	i->suspended = NULL;
	if (strcmp(sv[0], "delivering") == 0 && n == 1)
		return 0;
	if (strcmp(sv[0], "suspended") != 0 || n != 3)
		return -1;
	errno = 0;
	since = strtoll(sv[1], &end, 10);
	if (errno || *end != '\0' || sv[1][0] == '\0')
		return -1;
	i->suspended_since = (time_t)since;
	i->suspended = xstrdup(sv[2]);
	return 0;
}

/* ops_worker_info - IPC_WORKER_INFO: name, version, abi, path */
static int
ops_worker_info(const char *instance, const struct ipc_frame *f)
{
	const char *sv[5];
	struct ops_worker_info *i;
	char *end;
	unsigned long abi;

	if (instance == NULL || ipc_strings(f, sv, 5) != 4)
		return -1;
	errno = 0;
	abi = strtoul(sv[2], &end, 10);
	if (errno || *end != '\0' || sv[2][0] == '\0')
		return -1;
	i = ops_worker_find(instance);
	free(i->suspended);	/* a worker (re)starts delivering */
	i->suspended = NULL;
	free(i->refused);	/* and took its settings */
	i->refused = NULL;
	free(i->name);
	free(i->version);
	free(i->path);
	/* a worker's words: escaped where they are written (textout.h) */
	i->name = xstrdup(sv[0]);
	i->version = xstrdup(sv[1]);
	i->path = xstrdup(sv[3]);
	i->abi = abi;
	return 0;
}

/* control_child_frame - counters and connector information from a child */
int
control_child_frame(enum master_role role, const char *connector,
    const struct ipc_frame *f)
{
	const char *sv[IPC_MAX_STRINGS];
	int n;

	if (f->type == IPC_WORKER_INFO)
		return role == ROLE_WORKER ? ops_worker_info(connector, f) : -1;
	if (f->type == IPC_WORKER_STATE)
		return role == ROLE_WORKER ? ops_worker_state(connector, f) : -1;
	if ((f->type == IPC_RECV_STATS) != (role == ROLE_RECEIVER))
		return -1;
	if ((n = ipc_strings(f, sv, IPC_MAX_STRINGS)) == -1)
		return -1;
	return stats_decode(sv, (size_t)n, &ops_totals);
}

/* control_totals - the totals of the counters, for the history */
const struct stats *
control_totals(void)
{
	return &ops_totals;
}

/* control_paused - is receiving, or this connector, paused? */
int
control_paused(enum master_role role, const char *connector)
{
	size_t i;

	if (role == ROLE_RECEIVER)
		return ops_receive_paused;
	if (role == ROLE_RECOGNIZER || role == ROLE_WEB)
		return 0;	/* no mail leaves through them */
	for (i = 0; i < ops_npaused; i++)
		if (strcmp(ops_paused[i], "*") == 0 ||
		    (connector && strcmp(ops_paused[i], connector) == 0))
			return 1;
	return 0;
}

/* control_child_ready - a (re)started child gets the pause state */
void
control_child_ready(enum master_role role, const char *connector)
{
	if (role != ROLE_ROUTER && control_paused(role, connector))
		(void)master_send(role, connector, IPC_PAUSE, NULL, 0);
}

/* ops_set_paused - add or remove a connector from the paused list */
static void
ops_set_paused(const char *name, int pause)
{
	size_t i;

	for (i = 0; i < ops_npaused; i++)
		if (strcmp(ops_paused[i], name) == 0)
			break;
	if (pause && i == ops_npaused) {
		ops_paused = xreallocarray(ops_paused, ops_npaused + 1,
		    sizeof(*ops_paused));
		ops_paused[ops_npaused++] = xstrdup(name);
	} else if (!pause && i < ops_npaused) {
		free(ops_paused[i]);
		ops_paused[i] = ops_paused[--ops_npaused];
	}
}

#define OPS_PAUSE_FILE	"paused"	/* <spool>/paused: the pause state */
#define OPS_PAUSE_MAX	65536

/*
 * ops_pause_save - keep the pause state in the spool, so that a restart
 * does not resume what an operator paused: lines "receive" and
 * "delivery NAME" ("*" for all)
 */
static void
ops_pause_save(void)
{
	char err[SPOOL_ERRLEN], *text = NULL;
	struct spool *sp;
	size_t len = 0, i;
	FILE *fp;

	if ((fp = open_memstream(&text, &len)) == NULL)
		return;
	if (ops_receive_paused)
		fputs("receive\n", fp);
	for (i = 0; i < ops_npaused; i++)
		fprintf(fp, "delivery %s\n", ops_paused[i]);
	fclose(fp);
	if ((sp = spool_open(master_cfg()->spool, 0, (uid_t)-1, (gid_t)-1,
	    err, sizeof(err))) == NULL ||
	    spool_state_write(sp, OPS_PAUSE_FILE, text, err, sizeof(err)) == -1)
		log_warnx("control: the pause state is not kept for the next "
		    "start: %s", err);
	if (sp != NULL)
		spool_close(sp);
	free(text);
}

/* control_pause_restore - start-up: the state ops_pause_save kept */
void
control_pause_restore(struct spool *sp)
{
	const struct cfg *cfg = master_cfg();
	char *text, *line, *save = NULL;

	if ((text = spool_state_read(sp, OPS_PAUSE_FILE, OPS_PAUSE_MAX)) ==
	    NULL) {
		if (errno != ENOENT)
			log_warn("control: the pause state of the last run");
		return;
	}
	for (line = strtok_r(text, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		if (strcmp(line, "receive") == 0) {
			ops_receive_paused = 1;
			log_warnx("receiving stays paused, as before the "
			    "restart (gatewayctl resume receive)");
		} else if (strncmp(line, "delivery ", 9) == 0 &&
		    (strcmp(line + 9, "*") == 0 ||
		    cfg_connector(cfg, line + 9) != NULL)) {
			ops_set_paused(line + 9, 1);
			log_warnx("delivery by %s stays paused, as before the "
			    "restart (gatewayctl resume delivery)", line + 9);
		}
	}
	free(text);
}

/* ops_pause_delivery - pause/resume one connector or all ("*") */
static void
ops_pause_delivery(struct control_req *req, const char *name, int pause)
{
	const struct cfg *cfg = master_cfg();
	size_t i;

	if (strcmp(name, "*") != 0 && cfg_connector(cfg, name) == NULL) {
		evbuffer_add_printf(req->out, "error no connector named '%s' "
		    "in the configuration\n", name);
		return;
	}
	if (strcmp(name, "*") == 0) {
		while (ops_npaused > 0)
			ops_set_paused(ops_paused[0], 0);
		if (pause)
			ops_set_paused("*", 1);
	} else
		ops_set_paused(name, pause);
	ops_pause_save();
	evbuffer_add_printf(req->out, "ok\n");
	for (i = 0; i < cfg->nconnectors; i++) {
		const char *c = cfg->connectors[i].name;
		int p = control_paused(ROLE_WORKER, c);

		if (strcmp(name, "*") != 0 && strcmp(name, c) != 0)
			continue;
		(void)master_send(ROLE_WORKER, c, p ? IPC_PAUSE : IPC_RESUME,
		    NULL, 0);
		evbuffer_add_printf(req->out, "delivery by %s %s\n", c,
		    p ? "paused" : "resumed");
		log_info("control: delivery by %s %s", c, p ? "paused" :
		    "resumed");
	}
}

/* control_pause - pause|resume receive | delivery [CONNECTOR] */
void
control_pause(struct control_req *req, int pause)
{
	if (req->argc == 2 && strcmp(req->argv[1], "receive") == 0) {
		ops_receive_paused = pause;
		ops_pause_save();
		(void)master_send(ROLE_RECEIVER, NULL, pause ? IPC_PAUSE :
		    IPC_RESUME, NULL, 0);
		log_info("control: receiving %s", pause ? "paused" : "resumed");
		evbuffer_add_printf(req->out, "ok\nreceiving %s\n", pause ?
		    "paused: new connections get 421 4.3.2" : "resumed");
	} else if ((req->argc == 2 || req->argc == 3) &&
	    strcmp(req->argv[1], "delivery") == 0)
		ops_pause_delivery(req, req->argc == 3 ? req->argv[2] : "*",
		    pause);
	else
		evbuffer_add_printf(req->out, "error usage: %s receive | "
		    "delivery [CONNECTOR]\n", pause ? "pause" : "resume");
}

/* ops_status_json - one loaded connector as a JSON object */
static void
ops_status_json(struct textout_json *j, const struct ops_worker_info *i)
{
	textout_json_object(j, NULL);
	textout_json_str(j, "instance", i->instance);
	textout_json_str(j, "name", i->name);
	textout_json_str(j, "version", i->version);
	textout_json_uint(j, "abi", i->abi);
	textout_json_str(j, "path", i->path);
	textout_json_bool(j, "delivery_paused",
	    control_paused(ROLE_WORKER, i->instance));
	if (i->suspended != NULL) {
		textout_json_object(j, "delivery_suspended");
		textout_json_int(j, "since", (long long)i->suspended_since);
		textout_json_str(j, "reason", i->suspended);
		textout_json_close(j);
	} else
		textout_json_null(j, "delivery_suspended");
	textout_json_close(j);
}

/* ops_status_text - one loaded connector for people */
static void
ops_status_text(FILE *fp, const struct ops_worker_info *i)
{
	char since[32] = "";
	struct tm tm;

	if (i->suspended != NULL &&
	    localtime_r(&i->suspended_since, &tm) != NULL)
		strftime(since, sizeof(since), "%Y-%m-%d %H:%M:%S", &tm);
	fprintf(fp, "connector %s: ", i->instance);
	textout_terms(fp, i->name, 0);
	fputc(' ', fp);
	textout_terms(fp, i->version, 0);
	fprintf(fp, " (ABI %lu) from ", i->abi);
	textout_terms(fp, i->path, 0);
	if (control_paused(ROLE_WORKER, i->instance))
		fputs(", delivery paused", fp);
	if (i->suspended != NULL) {
		fprintf(fp, ", delivery suspended since %s: ", since);
		textout_terms(fp, i->suspended, 0);
	}
	fputc('\n', fp);
}

/* ops_status_each - every loaded connector, as JSON (j) or lines */
static void
ops_status_each(FILE *fp, struct textout_json *j)
{
	const struct ops_worker_info *i;
	const struct cfg *cfg = master_cfg();

	for (i = ops_infos; i != NULL; i = i->next) {
		if (cfg_connector(cfg, i->instance) == NULL || i->name == NULL)
			continue;	/* removed by a reload, or not ready */
		if (j != NULL)
			ops_status_json(j, i);
		else
			ops_status_text(fp, i);
	}
}

/* ops_child_state - what status says of a child */
static const char *
ops_child_state(const struct master_child *c)
{
	return c->disabled ? "disabled" : c->retired ? "stopping" :
	    c->pid == 0 ? "restarting" : c->ready ? "ready" : "starting";
}

/* ops_status_all_json - the whole status as one JSON object */
static void
ops_status_all_json(FILE *fp, time_t now)
{
	const struct master_child *c;
	const struct cfg *cfg = master_cfg();
	struct textout_json j;
	size_t i;

	textout_json_init(&j, fp);
	textout_json_object(&j, NULL);
	textout_json_str(&j, "version", PACKAGE_VERSION);
	textout_json_int(&j, "pid", (long long)getpid());
	textout_json_int(&j, "uptime", (long long)(now - master_started()));
	textout_json_array(&j, "processes");
	for (c = master_children(); c != NULL; c = c->next) {
		textout_json_object(&j, NULL);
		textout_json_str(&j, "role", master_role_name(c->role));
		textout_json_str(&j, "connector", c->connector ? c->connector : "");
		textout_json_int(&j, "pid", (long long)c->pid);
		textout_json_int(&j, "uptime", c->pid ?
		    (long long)(now - c->started) : 0);
		textout_json_uint(&j, "restarts", c->restarts);
		textout_json_str(&j, "state", ops_child_state(c));
		textout_json_close(&j);
	}
	textout_json_close(&j);
	textout_json_bool(&j, "receiving_paused",
	    control_paused(ROLE_RECEIVER, NULL));
	textout_json_array(&j, "connectors");
	ops_status_each(fp, &j);
	textout_json_close(&j);
	textout_json_array(&j, "listeners");
	for (i = 0; i < cfg->nlisteners; i++) {
		textout_json_object(&j, NULL);
		textout_json_str(&j, "name", cfg->listeners[i].name);
		textout_json_str(&j, "address", cfg->listeners[i].address);
		textout_json_uint(&j, "port", cfg->listeners[i].port);
		textout_json_close(&j);
	}
	textout_json_close(&j);
	textout_json_close(&j);
	textout_json_end(&j);
}

/* ops_status_all_text - the whole status for people */
static void
ops_status_all_text(FILE *fp, time_t now)
{
	const struct master_child *c;
	const struct cfg *cfg = master_cfg();
	size_t i;

	fprintf(fp, "master    pid %ld, up %lds, gatewayd %s\n", (long)getpid(),
	    (long)(now - master_started()), PACKAGE_VERSION);
	fprintf(fp, "%-10s %-16s %8s %10s %8s %s\n", "ROLE", "CONNECTOR",
	    "PID", "UPTIME", "RESTARTS", "STATE");
	for (c = master_children(); c != NULL; c = c->next)
		fprintf(fp, "%-10s %-16s %8ld %9lds %8u %s\n",
		    master_role_name(c->role), c->connector ? c->connector : "-",
		    (long)c->pid, c->pid ? (long)(now - c->started) : 0L,
		    c->restarts, ops_child_state(c));
	for (i = 0; i < cfg->nlisteners; i++) {
		fprintf(fp, "listener  ");
		textout_terms(fp, cfg->listeners[i].name, 0);
		fputc(' ', fp);
		textout_terms(fp, cfg->listeners[i].address, 0);
		fprintf(fp, " port %u%s\n", (unsigned)cfg->listeners[i].port,
		    control_paused(ROLE_RECEIVER, NULL) ? " (paused)" : "");
	}
	ops_status_each(fp, NULL);
}

/* ops_refused - why the worker of an instance refused its settings, or NULL */
static const char *
ops_refused(const char *instance)
{
	const struct ops_worker_info *i;

	for (i = ops_infos; i != NULL; i = i->next)
		if (strcmp(i->instance, instance) == 0)
			return i->refused;
	return NULL;
}

/* ops_problem_children - an "E69" line per process that is down */
static void
ops_problem_children(FILE *fp)
{
	const struct master_child *c;
	const char *why;

	for (c = master_children(); c != NULL; c = c->next) {
		if (c->retired || (c->pid != 0 && !c->disabled))
			continue;
		fprintf(fp, "E%d %s%s%s is %s", OPS_EX_DOWN,
		    master_role_name(c->role), c->connector ? " " : "",
		    c->connector ? c->connector : "", c->disabled ?
		    "disabled until the next reload" : "down (restarting)");
		why = c->connector && c->disabled ? ops_refused(c->connector) :
		    NULL;
		if (why != NULL) {
			fputs(": ", fp);
			textout_terms(fp, why, 0);
		} else if (c->disabled)
			fputs(": it exited with status 78 (see the log)", fp);
		fputc('\n', fp);
	}
}

/*
 * ops_spool_near_floor - 1 when the spool's free space is under twice
 * limits.spool_min_free (intake stops at the floor itself)
 */
static int
ops_spool_near_floor(const struct cfg *cfg, unsigned long long *avail,
    unsigned long long *floor)
{
	const struct cfg_limits *l = &cfg->limits;
	struct statvfs sv;

	if ((l->spool_min_free == 0 && l->spool_min_free_pct == 0) ||
	    statvfs(cfg->spool, &sv) == -1)
		return 0;
	*avail = (unsigned long long)sv.f_bavail * sv.f_frsize;
	*floor = l->spool_min_free != 0 ? l->spool_min_free :
	    (unsigned long long)sv.f_blocks * sv.f_frsize / 100 *
	    l->spool_min_free_pct;
	return *avail / 2 < *floor;
}

/*
 * ops_status_problems - after the status, one "E<code> why" line per
 * problem, so that gatewayctl status exits non-zero (monitoring): a
 * process down or disabled (69), a connector's delivery suspended or the
 * spool near its free-space floor (75)
 */
static void
ops_status_problems(FILE *fp)
{
	const struct cfg *cfg = master_cfg();
	const struct ops_worker_info *i;
	unsigned long long avail, floor;

	ops_problem_children(fp);
	for (i = ops_infos; i != NULL; i = i->next)
		if (i->suspended != NULL &&
		    cfg_connector(cfg, i->instance) != NULL) {
			fprintf(fp, "E%d connector %s: delivery suspended: ",
			    OPS_EX_DEGRADED, i->instance);
			textout_terms(fp, i->suspended, 0);
			fputc('\n', fp);
		}
	if (ops_spool_near_floor(cfg, &avail, &floor))
		fprintf(fp, "E%d spool %s: %llu MB free, near its floor of %llu "
		    "MB (limits.spool_min_free)\n", OPS_EX_DEGRADED, cfg->spool,
		    avail >> 20, floor >> 20);
}

/*
 * control_status_write - gatewayctl status: the process table, listeners
 * and connectors, as text or one JSON object, written with textout like
 * every other answer (for control.c's control_status)
 */
void
control_status_write(struct evbuffer *out, int json)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *fp;

	if ((fp = open_memstream(&buf, &len)) == NULL) {
		log_warn("control: status");
		return;
	}
	if (json)
		ops_status_all_json(fp, time(NULL));
	else
		ops_status_all_text(fp, time(NULL));
	ops_status_problems(fp);
	fclose(fp);
	evbuffer_add(out, buf, len);
	free(buf);
}

/* ops_counter_help - Prometheus name and help of a core counter */
static const char *
ops_prom_name(const char *key, const char **help)
{
	static const char *const map[][3] = {
		{ "connections", "gatewayd_connections_total",
		    "SMTP connections accepted" },
		{ "connections_refused", "gatewayd_connections_refused_total",
		    "SMTP connections answered 421 (paused, busy, stopping)" },
		{ "received", "gatewayd_messages_received_total",
		    "Messages accepted into the spool" },
		{ "delivered", "gatewayd_messages_delivered_total",
		    "Jobs delivered by a connector" },
		{ "deferred", "gatewayd_messages_deferred_total",
		    "Delivery attempts deferred" },
		{ "bounced", "gatewayd_messages_bounced_total",
		    "Jobs failed permanently (bounced or expired)" },
	};
	size_t i;

	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(key, map[i][0]) == 0) {
			*help = map[i][2];
			return map[i][1];
		}
	return NULL;
}

/* ops_reject_labels - "reject.550.5.7.1" -> code "550", enhanced "5.7.1" */
static int
ops_reject_labels(const char *key, char *code, char *enh, size_t len)
{
	const char *p;

	if (strncmp(key, "reject.", 7) != 0 || strlen(key + 7) < 3)
		return -1;
	snprintf(code, len, "%.3s", key + 7);
	p = key + 10;
	snprintf(enh, len, "%s", *p == '.' ? p + 1 : "");
	return 0;
}

/* ops_prom_delivery - per connector: delivery paused, suspended (0 or 1) */
static void
ops_prom_delivery(FILE *fp)
{
	const struct cfg *cfg = master_cfg();
	const struct ops_worker_info *i;
	size_t c;
	int k;

	for (k = 0; k < 2; k++) {
		fprintf(fp, "# HELP gatewayd_delivery_%s %s.\n"
		    "# TYPE gatewayd_delivery_%s gauge\n", k ? "suspended" :
		    "paused", k ? "1 while the connector's destination is "
		    "unreachable and its jobs are deferred without an attempt" :
		    "1 while gatewayctl pause delivery holds the connector",
		    k ? "suspended" : "paused");
		for (c = 0; c < cfg->nconnectors; c++) {
			const char *name = cfg->connectors[c].name;
			int v = 0;

			if (k == 0)
				v = control_paused(ROLE_WORKER, name);
			else
				for (i = ops_infos; i != NULL; i = i->next)
					if (strcmp(i->instance, name) == 0)
						v = i->suspended != NULL;
			fprintf(fp, "gatewayd_delivery_%s{connector=\"%s\"} %d\n",
			    k ? "suspended" : "paused", name, v);
		}
	}
}

/*
 * ops_prometheus - text exposition format; the label values are names
 * from the configuration and counter keys, both limited to [a-z0-9_.-]
 * where they are read (cfg_token_valid, stats_key_valid)
 */
static void
ops_prometheus(FILE *fp, const struct stats *st, const unsigned long *sizes,
    time_t oldest, time_t uptime)
{
	char code[STATS_KEY_MAX], enh[STATS_KEY_MAX];
	const char *name, *help;
	size_t i;
	int s, first = 1;

	for (i = 0; stats_core[i] != NULL; i++) {
		help = "";
		name = ops_prom_name(stats_core[i], &help);
		fprintf(fp, "# HELP %s %s.\n# TYPE %s counter\n%s %llu\n", name,
		    help, name, name,
		    (unsigned long long)stats_get(st, stats_core[i]));
	}
	for (i = 0; i < st->n; i++) {
		if (ops_reject_labels(st->v[i].key, code, enh, sizeof(code)))
			continue;
		if (first)
			fputs("# HELP gatewayd_smtp_rejections_total SMTP "
			    "replies 4xx/5xx by code and enhanced code.\n"
			    "# TYPE gatewayd_smtp_rejections_total counter\n", fp);
		first = 0;
		fprintf(fp, "gatewayd_smtp_rejections_total{code=\"%s\","
		    "enhanced=\"%s\"} %llu\n", code, enh,
		    (unsigned long long)st->v[i].value);
	}
	fputs("# HELP gatewayd_queue_size Queue files per state.\n"
	    "# TYPE gatewayd_queue_size gauge\n", fp);
	for (s = 0; s < SPOOL_NSTATES; s++)
		fprintf(fp, "gatewayd_queue_size{state=\"%s\"} %lu\n",
		    spool_state_name((enum spool_state)s), sizes[s]);
	fprintf(fp, "# HELP gatewayd_oldest_message_age_seconds Age of the "
	    "oldest queued message.\n# TYPE gatewayd_oldest_message_age_seconds "
	    "gauge\ngatewayd_oldest_message_age_seconds %ld\n"
	    "# HELP gatewayd_uptime_seconds Seconds since the master started.\n"
	    "# TYPE gatewayd_uptime_seconds gauge\ngatewayd_uptime_seconds %ld\n",
	    (long)oldest, (long)uptime);
	ops_prom_delivery(fp);
}

/* ops_json - one JSON object */
static void
ops_json(FILE *fp, const struct stats *st, const unsigned long *sizes,
    time_t oldest, time_t uptime)
{
	struct textout_json j;
	size_t i;
	int s;

	textout_json_init(&j, fp);
	textout_json_object(&j, NULL);
	textout_json_int(&j, "uptime", (long long)uptime);
	textout_json_object(&j, "counters");
	for (i = 0; i < st->n; i++)
		textout_json_uint(&j, st->v[i].key, st->v[i].value);
	textout_json_close(&j);
	textout_json_object(&j, "queue");
	for (s = 0; s < SPOOL_NSTATES; s++)
		textout_json_uint(&j, spool_state_name((enum spool_state)s),
		    sizes[s]);
	textout_json_close(&j);
	textout_json_int(&j, "oldest_message_age", (long long)oldest);
	textout_json_close(&j);
	textout_json_end(&j);
}

/* control_stats - counters since start, queue sizes, oldest message */
int
control_stats(const struct control_req *req, struct spool *sp, FILE *fp,
    int notify)
{
	unsigned long sizes[SPOOL_NSTATES];
	struct stats st = ops_totals;	/* our copy since the fork */
	time_t oldest, uptime = time(NULL) - master_started();
	size_t i;
	int s;

	(void)notify;
	for (i = 0; stats_core[i] != NULL; i++)
		(void)stats_add(&st, stats_core[i], 0);
	stats_sort(&st);
	control_queue_sizes(sp, sizes, &oldest);
	if (req->prometheus)
		ops_prometheus(fp, &st, sizes, oldest, uptime);
	else if (req->json)
		ops_json(fp, &st, sizes, oldest, uptime);
	else {
		fprintf(fp, "uptime %ld\n", (long)uptime);
		for (i = 0; i < st.n; i++)
			fprintf(fp, "%s %llu\n", st.v[i].key,
			    (unsigned long long)st.v[i].value);
		for (s = 0; s < SPOOL_NSTATES; s++)
			fprintf(fp, "queue.%s %lu\n",
			    spool_state_name((enum spool_state)s), sizes[s]);
		fprintf(fp, "oldest_message_age %ld\n", (long)oldest);
	}
	return 0;
}

/* ops_used_by - the configured instances of a connector type */
static void
ops_used_by(const char *type, char *buf, size_t len)
{
	const struct cfg *cfg = master_cfg();
	size_t i, off = 0;

	buf[0] = '\0';
	for (i = 0; i < cfg->nconnectors && off < len; i++)
		if (strcmp(cfg->connectors[i].type, type) == 0)
			off += (size_t)snprintf(buf + off, len - off, "%s%s",
			    off ? "," : "", cfg->connectors[i].name);
	if (buf[0] == '\0')
		snprintf(buf, len, "-");
}

/* ops_column - an escaped field of a connector's descriptor, padded */
static void
ops_column(FILE *fp, const char *s, int width)
{
	char buf[256];

	textout_clean(buf, sizeof(buf), s, strlen(s), 0);
	fprintf(fp, "%-*.64s ", width, buf);
}

/* ops_print_record - one line of "connectors" */
static void
ops_print_record(FILE *fp, const char *type, const char *name,
    const char *version, unsigned int abi, const char *used,
    const char *status, int json)
{
	struct textout_json j;

	if (!json) {
		fprintf(fp, "%-16s ", type);
		ops_column(fp, name, 16);
		ops_column(fp, version, 10);
		fprintf(fp, "%3u %-20s ", abi, used);
		textout_terms(fp, status, 0);
		fputc('\n', fp);
		return;
	}
	textout_json_init(&j, fp);
	textout_json_object(&j, NULL);
	textout_json_str(&j, "type", type);
	textout_json_str(&j, "name", name);
	textout_json_str(&j, "version", version);
	textout_json_uint(&j, "abi", abi);
	textout_json_str(&j, "used_by", used);
	textout_json_str(&j, "status", status);
	textout_json_close(&j);
	textout_json_end(&j);
}

/* ops_describe - in a grandchild: load the object, print one record */
static void __attribute__((noreturn))
ops_describe(FILE *fp, const char *path, const char *type, const char *used,
    int json)
{
	const struct gw_connector *c = NULL;
	char status[512];
	void *h;

	snprintf(status, sizeof(status), "ok");
	/* Lazy: the gw_* functions live in the worker, not here. */
	if ((h = dlopen(path, RTLD_LAZY | RTLD_LOCAL)) == NULL)
		snprintf(status, sizeof(status), "refused: %s", dlerror());
	else if ((c = dlsym(h, GW_CONNECTOR_SYMBOL)) == NULL)
		snprintf(status, sizeof(status), "refused: no %s symbol",
		    GW_CONNECTOR_SYMBOL);
	else if (c->abi_version != GW_CONNECTOR_ABI_VERSION)
		snprintf(status, sizeof(status), "refused: built for connector "
		    "ABI %u, this gatewayd uses ABI %u",
		    (unsigned)c->abi_version, GW_CONNECTOR_ABI_VERSION);
	else if (c->struct_size < offsetof(struct gw_connector, fini) +
	    sizeof(c->fini) || c->name == NULL || c->version == NULL)
		snprintf(status, sizeof(status), "refused: descriptor too "
		    "small or incomplete");
	ops_print_record(fp, type, status[0] == 'o' ? c->name : "-",
	    status[0] == 'o' ? c->version : "-", c ? c->abi_version : 0, used,
	    status, json);
	fflush(fp);
	_exit(0);
}

/* ops_one_file - check one .so, describe it in a grandchild */
static void
ops_one_file(FILE *fp, const char *dir, const char *file, int json)
{
	char path[4096], type[256], used[512], status[600];
	struct stat st;
	size_t len = strlen(file);
	pid_t pid;
	int wst;

	snprintf(type, sizeof(type), "%.*s", (int)(len - 3), file);
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	ops_used_by(type, used, sizeof(used));
	if (lstat(path, &st) == -1 || !S_ISREG(st.st_mode) ||
	    (st.st_uid != 0 && st.st_uid != control_master_euid) ||
	    (st.st_mode & 022)) {
		snprintf(status, sizeof(status), "refused: not a regular file "
		    "owned by root (or the gateway user) and writable only by "
		    "its owner");
		ops_print_record(fp, type, "-", "-", 0, used, status, json);
		return;
	}
	fflush(fp);
	if ((pid = fork()) == -1) {
		ops_print_record(fp, type, "-", "-", 0, used, "cannot fork", json);
		return;
	}
	if (pid == 0)
		ops_describe(fp, path, type, used, json);
	if (waitpid(pid, &wst, 0) == pid && !(WIFEXITED(wst) &&
	    WEXITSTATUS(wst) == 0)) {
		snprintf(status, sizeof(status), "refused: crashed while "
		    "loading (status 0x%x)", wst);
		ops_print_record(fp, type, "-", "-", 0, used, status, json);
	}
}

/* ops_so_cmp - sort file names */
static int
ops_so_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* control_connectors - every .so of connector_dir, loaded in a grandchild */
int
control_connectors(const struct control_req *req, struct spool *sp, FILE *fp,
    int notify)
{
	const char *dir = master_cfg()->connector_dir;
	struct dirent *de;
	char **names = NULL;
	size_t n = 0, i, len;
	DIR *d;

	(void)sp;
	(void)notify;
	if ((d = opendir(dir)) == NULL) {
		fprintf(fp, "E%d connector_dir %s: %s\n", 72, dir,
		    strerror(errno));
		return 0;
	}
	while ((de = readdir(d)) != NULL) {
		len = strlen(de->d_name);
		if (len <= 3 || de->d_name[0] == '.' ||
		    strcmp(de->d_name + len - 3, ".so") != 0)
			continue;
		names = xreallocarray(names, n + 1, sizeof(*names));
		names[n++] = xstrdup(de->d_name);
	}
	closedir(d);
	if (n > 1)
		qsort(names, n, sizeof(*names), ops_so_cmp);
	if (!req->json)
		fprintf(fp, "%-16s %-16s %-10s %3s %-20s %s\n", "TYPE", "NAME",
		    "VERSION", "ABI", "USED-BY", "STATUS");
	for (i = 0; i < n; i++) {
		ops_one_file(fp, dir, names[i], req->json);
		free(names[i]);
	}
	free(names);
	return 0;
}

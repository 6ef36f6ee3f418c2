/*
 * receiver_limits.c - per client rates and the free-space floor (see
 * receiver_limits.h)
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <sys/statvfs.h>
#include <time.h>

#include <event2/util.h>

#include "anvil.h"
#include "cfg.h"
#include "log.h"
#include "receiver.h"
#include "receiver_limits.h"
#include "receiver_session.h"
#include "spool.h"

static struct anvil *rlimits_table;
static struct {
	time_t checked;			/* when fstatvfs last ran */
	unsigned long long avail;	/* bytes free for unprivileged users */
	unsigned long long total;
	int ok;				/* the last fstatvfs worked */
} rlimits_disk;

/* rlimits_init - the address table, sized by limits.table_size */
void
rlimits_init(struct receiver *r)
{
	const struct cfg_limits *l = &r->cfg->limits;

	if (l->conn_rate.count != 0 || l->msg_rate.count != 0 ||
	    l->rcpt_rate.count != 0)
		rlimits_table = anvil_new(l->table_size);
}

/* rlimits_over - count one event; 1 when the client is past its rate */
static int
rlimits_over(struct rsession *s, enum anvil_kind kind,
    const struct cfg_rate *rate)
{
	if (rlimits_table == NULL || s->limits_exempt || rate->count == 0)
		return 0;
	return anvil_hit(rlimits_table, s->ip, kind, rate->count,
	    rate->window, time(NULL));
}

/* rlimits_conn - limits.conn_rate; decide whether the client is exempt */
int
rlimits_conn(struct rsession *s, const struct sockaddr *client)
{
	const struct cfg_limits *l = &s->rcv->cfg->limits;

	s->limits_exempt = (l->exempt_relay && s->relay_ok) ||
	    net_list_match(&l->exempt, client);
	if (!rlimits_over(s, ANVIL_CONN, &l->conn_rate))
		return 0;
	log_info("reject: [%s]: connection rate limit %lu/%llds exceeded",
	    s->ip, l->conn_rate.count, (long long)l->conn_rate.window);
	return 1;
}

/* rlimits_statvfs - free and total bytes of the spool, at most once a second */
static void
rlimits_statvfs(struct receiver *r)
{
	struct statvfs st;
	time_t now = time(NULL);

	if (rlimits_disk.checked == now)
		return;
	rlimits_disk.checked = now;
	if (fstatvfs(spool_dirfd(r->spool), &st) == -1) {
		if (rlimits_disk.ok)
			log_warn("fstatvfs of the spool");
		rlimits_disk.ok = 0;
		return;
	}
	rlimits_disk.ok = 1;
	rlimits_disk.avail = (unsigned long long)st.f_bavail * st.f_frsize;
	rlimits_disk.total = (unsigned long long)st.f_blocks * st.f_frsize;
}

/* rlimits_space - the free-space floor for a message of size bytes */
static const char *
rlimits_space(struct rsession *s, const char *verb, long long size)
{
	const struct cfg_limits *l = &s->rcv->cfg->limits;
	unsigned long long floor, need;

	if (l->spool_min_free == 0 && l->spool_min_free_pct == 0)
		return NULL;
	rlimits_statvfs(s->rcv);
	if (!rlimits_disk.ok)
		return NULL;		/* unknown: the write itself will tell */
	floor = l->spool_min_free != 0 ? l->spool_min_free :
	    rlimits_disk.total / 100 * l->spool_min_free_pct;
	need = floor + (size > 0 ? (unsigned long long)size : 0);
	if (rlimits_disk.avail >= need)
		return NULL;
	log_warnx("reject: %s from [%s]: 452 4.3.1 spool free space %llu "
	    "bytes, floor %llu, message %lld", verb, s->ip, rlimits_disk.avail,
	    floor, size > 0 ? size : 0);
	return "452 4.3.1 Insufficient system storage";
}

/* rlimits_mail - limits.msg_rate and the free-space floor at MAIL */
const char *
rlimits_mail(struct rsession *s, long long size)
{
	const struct cfg_limits *l = &s->rcv->cfg->limits;
	const char *why;

	if ((why = rlimits_space(s, "MAIL", size)) != NULL)
		return why;
	if (!rlimits_over(s, ANVIL_MSG, &l->msg_rate))
		return NULL;
	log_info("reject: MAIL from [%s]: message rate limit %lu/%llds "
	    "exceeded", s->ip, l->msg_rate.count,
	    (long long)l->msg_rate.window);
	return "450 4.7.1 Error: too much mail from your address; try again "
	    "later";
}

/* rlimits_rcpt - limits.rcpt_rate at RCPT */
const char *
rlimits_rcpt(struct rsession *s)
{
	const struct cfg_limits *l = &s->rcv->cfg->limits;

	if (!rlimits_over(s, ANVIL_RCPT, &l->rcpt_rate))
		return NULL;
	log_info("reject: RCPT from [%s]: recipient rate limit %lu/%llds "
	    "exceeded", s->ip, l->rcpt_rate.count,
	    (long long)l->rcpt_rate.window);
	return "450 4.7.1 Error: too many recipients from your address; try "
	    "again later";
}

/* rlimits_data - the free-space floor again before the message is read */
const char *
rlimits_data(struct rsession *s, long long size)
{
	return rlimits_space(s, "DATA", size);
}

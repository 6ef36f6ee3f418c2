/*
 * saslopt.c - Cyrus SASL's options from the configuration (saslopt.h)
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "cfg.h"
#include "log.h"
#include "saslopt.h"

static const struct cfg *saslopt_cfg;

/* saslopt_getopt - every SASL option comes from the configuration */
static int
saslopt_getopt(void *context, const char *plugin, const char *option,
    const char **result, unsigned *len)
{
	const struct cfg_sasl *s = &saslopt_cfg->sasl;
	int sasldb = s->backend == CFG_SASL_SASLDB;

	(void)context;
	(void)plugin;
	*result = NULL;
	if (strcmp(option, "pwcheck_method") == 0)
		*result = sasldb ? "auxprop" : "saslauthd";
	else if (strcmp(option, "auxprop_plugin") == 0 && sasldb)
		*result = "sasldb";
	else if (strcmp(option, "sasldb_path") == 0)
		*result = s->sasldb_path;
	else if (strcmp(option, "saslauthd_path") == 0)
		*result = s->saslauthd_path;
	else if (strcmp(option, "mech_list") == 0)
		*result = s->mechanisms != NULL ? s->mechanisms : sasldb ?
		    "PLAIN LOGIN CRAM-MD5 SCRAM-SHA-1 SCRAM-SHA-256" :
		    "PLAIN LOGIN";
	else if (strcmp(option, "log_level") == 0)
		*result = "3";		/* warnings; never passwords */
	if (*result == NULL)
		return SASL_FAIL;
	if (len != NULL)
		*len = (unsigned)strlen(*result);
	return SASL_OK;
}

/* saslopt_log - SASL's messages into ours */
static int
saslopt_log(void *context, int level, const char *message)
{
	char clean[512];

	(void)context;
	if (level <= SASL_LOG_WARN)
		log_info("sasl: %s", log_clean(clean, sizeof(clean), message,
		    strlen(message)));
	return SASL_OK;
}

static const sasl_callback_t saslopt_cbs[] = {
	/* SASL stores every callback as int (*)(void); via void (*)(void) */
	{ SASL_CB_GETOPT, (int (*)(void))(void (*)(void))saslopt_getopt, NULL },
	{ SASL_CB_LOG, (int (*)(void))(void (*)(void))saslopt_log, NULL },
	{ SASL_CB_LIST_END, NULL, NULL }
};

/* saslopt_callbacks - the callbacks, reading cfg from now on */
const sasl_callback_t *
saslopt_callbacks(const struct cfg *cfg)
{
	saslopt_cfg = cfg;
	return saslopt_cbs;
}

/*
 * folder_run.c - deliver one message file through the folder connector
 *
 * A test driver for folder_mime.py: it loads connectors/.libs/folder.so
 * through the real loader and connector API (as the worker does), builds
 * a job for the message, calls deliver() once and prints one line per
 * recipient: "<state> <code> <status> <text>".
 *
 *   folder_run [-s key=value]... [-r rcpt[,param=value]...]... [-f sender]
 *       [-t arrival] [-q qid] message.eml
 *
 * Settings are a flat map; the message is used as the spooled data.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "capi.h"
#include "envelope.h"
#include "loader.h"
#include "xmalloc.h"

#define FOLDER_SO	TEST_BUILDDIR "/../connectors/.libs/folder.so"
#define MAXSET		64

static const char *const states[] = { "pending", "done", "deferred",
	"failed" };

/* copy_so - a private copy of folder.so with a safe mode; its directory */
static void
copy_so(char *dir)
{
	char path[512], buf[65536];
	ssize_t n;
	int in, out;

	if (mkdtemp(dir) == NULL || chmod(dir, 0755) == -1)
		exit(2);
	snprintf(path, sizeof(path), "%s/folder.so", dir);
	in = open(FOLDER_SO, O_RDONLY);
	out = open(path, O_WRONLY | O_CREAT | O_EXCL, 0755);
	if (in == -1 || out == -1 || fchmod(out, 0755) == -1) {
		fprintf(stderr, "folder_run: %s: %s\n", FOLDER_SO,
		    strerror(errno));
		exit(2);
	}
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n)
			exit(2);
	close(in);
	close(out);
}

/* add_rcpt - "addr[,name=value]..." */
static void
add_rcpt(struct envelope *env, char *arg)
{
	struct envelope_rcpt *r;
	char *p, *save = NULL, *eq;

	p = strtok_r(arg, ",", &save);
	r = envelope_add_rcpt(env, p);
	while ((p = strtok_r(NULL, ",", &save)) != NULL)
		if ((eq = strchr(p, '=')) != NULL) {
			*eq = '\0';
			envelope_rcpt_set_param(r, p, eq + 1);
		}
}

/* main - parse arguments, deliver once, print the results */
int
main(int argc, char **argv)
{
	static struct gw_node set[MAXSET], map;
	static struct envelope env;
	char dir[] = "/tmp/folder_run.XXXXXX", err[1024], path[600], *eq;
	struct capi_job job;
	struct loader ld;
	struct stat st;
	void *ctx = NULL;
	size_t nset = 0, i;
	int c, fd;

	env.version = ENVELOPE_VERSION;
	env.kind = ENVELOPE_JOB;
	snprintf(env.id, sizeof(env.id), "0006152f1a2b3c4d0001");
	env.arrival_us = 1764324000LL * 1000000;
	env.client = xstrdup("192.0.2.7");
	env.helo = xstrdup("scanner.test");
	env.from = xstrdup("scanner@client.test");
	env.body = xstrdup("8BITMIME");
	env.connector = xstrdup("archive");
	map.type = GW_NODE_MAP;
	map.file = "folder_run";
	map.line = map.column = 1;
	while ((c = getopt(argc, argv, "s:r:f:t:q:")) != -1) {
		switch (c) {
		case 's':
			if (nset == MAXSET || (eq = strchr(optarg, '=')) == NULL)
				return 2;
			*eq = '\0';
			set[nset].type = GW_NODE_SCALAR;
			set[nset].key = optarg;
			set[nset].value = eq + 1;
			set[nset].file = "folder_run";
			set[nset].line = (unsigned int)nset + 2;
			set[nset].column = 3;
			if (nset > 0)
				set[nset - 1].next = &set[nset];
			nset++;
			break;
		case 'r': add_rcpt(&env, optarg); break;
		case 'f': envelope_put(&env, &env.from, xstrdup(optarg)); break;
		case 't': env.arrival_us = atoll(optarg) * 1000000; break;
		case 'q': snprintf(env.id, sizeof(env.id), "%s", optarg); break;
		default: return 2;
		}
	}
	if (optind + 1 != argc || env.nrcpt == 0) {
		fprintf(stderr, "usage: folder_run [-s k=v] -r rcpt msg.eml\n");
		return 2;
	}
	map.child = nset ? &set[0] : NULL;
	if ((fd = open(argv[optind], O_RDONLY)) == -1) {
		perror(argv[optind]);
		return 2;
	}
	if (fstat(fd, &st) == -1)
		return 2;
	env.size = st.st_size;
	copy_so(dir);
	if (loader_open(dir, "folder", &ld, err, sizeof(err)) == -1) {
		fprintf(stderr, "%s\n", err);
		return 2;
	}
	snprintf(path, sizeof(path), "%s/folder.so", dir);
	unlink(path);
	rmdir(dir);
	if (ld.conn->init(&map, &ctx, err, sizeof(err)) == -1) {
		printf("init-error %s\n", err);
		return 0;
	}
	capi_job_init(&job, &env, fd, 0);
	ld.conn->deliver(ctx, &job.env, &job.msg);
	capi_job_results(&job, &env);
	capi_job_free(&job);
	for (i = 0; i < env.nrcpt; i++)
		printf("%s %d %s %s\n", states[env.rcpt[i].state],
		    env.rcpt[i].code, env.rcpt[i].status,
		    env.rcpt[i].text ? env.rcpt[i].text : "");
	ld.conn->fini(ctx);
	loader_close(&ld);
	envelope_clear(&env);
	close(fd);
	return 0;
}

/*
 * uring-list.c - how much of a queue listing's cost is its three system
 * calls per job file: read every file of a directory (a spool state
 * directory, or a copy) once with openat, read and close each, once with
 * io_uring, those three linked per file and submitted 64 files at a time
 * (direct descriptors, one io_uring_enter per batch).  Prints the time
 * per file of each way, alternating, ROUNDS times.
 *
 * A standalone measurement, not built by make; gatewayd's listing does the
 * same since (spool/spool_list.c, where configure finds liburing):
 *
 *	cc -O2 -o /tmp/uring-list bench/uring-list.c -luring
 *	/tmp/uring-list DIR [ROUNDS]
 *
 * Debian package liburing-dev.  See doc/performance.md.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <liburing.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define BATCH	64
#define BUFLEN	4096

static char bufs[BATCH][BUFLEN];

static double
now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* plain - openat, read, close each file; the bytes read */
static unsigned long
plain(int dfd, char **names, size_t n)
{
	unsigned long sum = 0;
	ssize_t r;
	size_t i;
	int fd;

	for (i = 0; i < n; i++) {
		if ((fd = openat(dfd, names[i], O_RDONLY | O_CLOEXEC |
		    O_NOFOLLOW)) == -1)
			continue;
		if ((r = read(fd, bufs[0], BUFLEN)) > 0)
			sum += (unsigned long)r;
		close(fd);
	}
	return sum;
}

/* batched - the same three calls linked per file, BATCH files a submit */
static unsigned long
batched(struct io_uring *ring, int dfd, char **names, size_t n)
{
	struct io_uring_sqe *s;
	struct io_uring_cqe *c;
	unsigned long sum = 0;
	unsigned int head, seen;
	size_t i, k, m;

	for (i = 0; i < n; i += m) {
		m = n - i < BATCH ? n - i : BATCH;
		for (k = 0; k < m; k++) {
			s = io_uring_get_sqe(ring);
			io_uring_prep_openat_direct(s, dfd, names[i + k],
			    O_RDONLY | O_NOFOLLOW, 0, (unsigned int)k);
			s->flags |= IOSQE_IO_LINK;
			s->user_data = 0;
			s = io_uring_get_sqe(ring);
			io_uring_prep_read(s, (int)k, bufs[k], BUFLEN, 0);
			/* hard: a short read would cancel the close */
			s->flags |= IOSQE_FIXED_FILE | IOSQE_IO_HARDLINK;
			s->user_data = 1;
			s = io_uring_get_sqe(ring);
			io_uring_prep_close_direct(s, (unsigned int)k);
			s->user_data = 0;
		}
		io_uring_submit_and_wait(ring, (unsigned int)(m * 3));
		seen = 0;
		io_uring_for_each_cqe(ring, head, c) {
			if (c->user_data == 1 && c->res > 0)
				sum += (unsigned long)c->res;
			seen++;
		}
		io_uring_cq_advance(ring, seen);
	}
	return sum;
}

int
main(int argc, char **argv)
{
	struct io_uring ring;
	struct dirent *de;
	char **names = NULL;
	size_t n = 0, cap = 0;
	int fds[BATCH], rounds, r, i, dfd;
	unsigned long a, b;
	double t0, t1, t2;
	DIR *d;

	if (argc < 2 || (d = opendir(argv[1])) == NULL) {
		fprintf(stderr, "usage: uring-list DIR [ROUNDS]\n");
		return 2;
	}
	rounds = argc > 2 ? atoi(argv[2]) : 3;
	dfd = dirfd(d);
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (n == cap && (names = realloc(names, (cap = cap ? cap * 2 :
		    1024) * sizeof(*names))) == NULL)
			return 1;
		if ((names[n++] = strdup(de->d_name)) == NULL)
			return 1;
	}
	if ((r = io_uring_queue_init(BATCH * 3, &ring, 0)) < 0) {
		fprintf(stderr, "io_uring_queue_init: %s\n", strerror(-r));
		return 1;
	}
	for (i = 0; i < BATCH; i++)
		fds[i] = -1;
	if ((r = io_uring_register_files(&ring, fds, BATCH)) < 0) {
		fprintf(stderr, "io_uring_register_files: %s\n", strerror(-r));
		return 1;
	}
	for (r = 0; r < rounds; r++) {
		t0 = now();
		a = plain(dfd, names, n);
		t1 = now();
		b = batched(&ring, dfd, names, n);
		t2 = now();
		printf("%zu files: openat+read+close %.2f us a file (%lu bytes), "
		    "io_uring batches of %d %.2f us a file (%lu bytes)\n", n,
		    (t1 - t0) / (double)n * 1e6, a, BATCH,
		    (t2 - t1) / (double)n * 1e6, b);
	}
	return 0;
}

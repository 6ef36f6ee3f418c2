/*
 * check_tlswarm.c - unit tests of the TLS handshake in memory that the
 * smtp connector runs before the worker forks its deliverers (tlswarm.h)
 *
 * A client context completes the handshake against the throwaway server
 * and leaves no error behind; one that cannot agree on a protocol fails
 * with -1, also without errors left.  The point of it: a child forked
 * after the warm-up dirties less memory for its first TLS connection
 * (to the throwaway server, in a process of its own, over a socketpair)
 * than one forked before (the algorithms fetched once, in the parent, and not
 * again in each child), measured as the growth of the children's heap
 * (mallinfo2: 140 KiB against none here; not in sanitizer builds, whose
 * allocator is not glibc's).
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/wait.h>

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "tlswarm.h"

/* heap_size - the memory this process's malloc has taken from the system */
static long
heap_size(void)
{
	struct mallinfo2 mi = mallinfo2();

	return (long)(mi.arena + mi.hblkhd);
}

/*
 * serve - fork the throwaway server, made in that process, which takes
 * one TLS connection on each of fds[0..n) in turn (a byte each way); the
 * test's own process makes no server, so that nothing of a handshake is
 * fetched there but by tlswarm_client
 */
static pid_t
serve(const int *fds, int n)
{
	SSL_CTX *sctx;
	SSL *ssl;
	pid_t pid;
	char c;
	int i;

	ck_assert_int_ne(pid = fork(), -1);
	if (pid != 0)
		return pid;
	if ((sctx = tlswarm_server()) == NULL)
		_exit(1);
	for (i = 0; i < n; i++) {
		if ((ssl = SSL_new(sctx)) == NULL || !SSL_set_fd(ssl, fds[i]) ||
		    SSL_accept(ssl) != 1 || SSL_read(ssl, &c, 1) != 1 ||
		    SSL_write(ssl, "s", 1) != 1)
			_exit(1);
		SSL_free(ssl);
	}
	_exit(0);
}

/*
 * child_growth - fork a child that makes a TLS connection with ctx on fd
 * and reports how much its heap grew (KiB) through a pipe, as a
 * deliverer's first connection would
 */
static long
child_growth(SSL_CTX *ctx, int fd)
{
	long growth = -1, before;
	int p[2], status;
	SSL *ssl;
	pid_t pid;
	char c;

	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_ne(pid = fork(), -1);
	if (pid == 0) {
		before = heap_size();
		if ((ssl = SSL_new(ctx)) != NULL && SSL_set_fd(ssl, fd) &&
		    SSL_connect(ssl) == 1 && SSL_write(ssl, "c", 1) == 1 &&
		    SSL_read(ssl, &c, 1) == 1)
			growth = (heap_size() - before) / 1024;
		_exit(write(p[1], &growth, sizeof(growth)) == sizeof(growth) ?
		    0 : 1);
	}
	close(p[1]);
	ck_assert_int_eq(read(p[0], &growth, sizeof(growth)),
	    (ssize_t)sizeof(growth));
	close(p[0]);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	return growth;
}

START_TEST(test_handshake)
{
	SSL_CTX *ctx;

	ck_assert_ptr_nonnull(ctx = SSL_CTX_new(TLS_client_method()));
	/* the connector's own check stays on: only this SSL skips it */
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	ck_assert_int_eq(tlswarm_client(ctx), 0);
	ck_assert_int_eq(SSL_CTX_get_verify_mode(ctx), SSL_VERIFY_PEER);
	ck_assert_uint_eq(ERR_peek_error(), 0);
	SSL_CTX_free(ctx);
}
END_TEST

START_TEST(test_no_common_protocol)
{
	SSL_CTX *ctx;

	ck_assert_ptr_nonnull(ctx = SSL_CTX_new(TLS_client_method()));
	/* TLS 1.1 at most: refused at OpenSSL's default security level */
	ck_assert_int_eq(SSL_CTX_set_max_proto_version(ctx, TLS1_1_VERSION),
	    1);
	ck_assert_int_eq(tlswarm_client(ctx), -1);
	ck_assert_uint_eq(ERR_peek_error(), 0);
	SSL_CTX_free(ctx);
}
END_TEST

START_TEST(test_shared_after_fork)
{
	int a[2], b[2], srv[2], status;
	long cold, warm;
	SSL_CTX *ctx;
	pid_t server;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, a), 0);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, b), 0);
	srv[0] = a[0];
	srv[1] = b[0];
	server = serve(srv, 2);
	ck_assert_ptr_nonnull(ctx = SSL_CTX_new(TLS_client_method()));
	cold = child_growth(ctx, a[1]);
	ck_assert_int_eq(tlswarm_client(ctx), 0);
	warm = child_growth(ctx, b[1]);
	ck_assert_int_eq(waitpid(server, &status, 0), server);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	ck_assert_int_ge(cold, 0);	/* both connections made */
	ck_assert_int_ge(warm, 0);
#ifndef GW_SANITIZERS
	ck_assert_int_gt(cold, 0);
	ck_assert_msg(warm * 2 < cold, "the heap of a child after the "
	    "warm-up grew %ld KiB, of one before it %ld KiB", warm, cold);
#endif
	SSL_CTX_free(ctx);
}
END_TEST

/*
 * crypto_code_rss - KiB of libcrypto's code mapped in this process: the
 * Rss of its r-xp mappings in smaps (a mapping's header line starts with
 * its address in lower-case hex, its fields with an upper-case name)
 */
static long
crypto_code_rss(void)
{
	char line[512];
	FILE *f = fopen("/proc/self/smaps", "r");
	long kib, sum = 0;
	int in = 0;

	ck_assert_ptr_nonnull(f);
	while (fgets(line, sizeof(line), f) != NULL) {
		if ((line[0] >= '0' && line[0] <= '9') ||
		    (line[0] >= 'a' && line[0] <= 'f'))
			in = strstr(line, " r-xp ") != NULL &&
			    strstr(line, "/libcrypto.so") != NULL;
		else if (in && sscanf(line, "Rss: %ld kB", &kib) == 1)
			sum += kib;
	}
	fclose(f);
	return sum;
}

/*
 * After the warm-up the process no longer maps the OpenSSL code it ran
 * (the server half, the key generation: tlswarm_forget_code), and code
 * it runs again faults back: a second warm-up works.
 */
START_TEST(test_code_forgotten)
{
	SSL_CTX *ctx, *sctx;
	long before, after;

	ck_assert_ptr_nonnull(ctx = SSL_CTX_new(TLS_client_method()));
	ck_assert_ptr_nonnull(sctx = tlswarm_server());	/* keygen, X.509 */
	SSL_CTX_free(sctx);
	before = crypto_code_rss();
	ck_assert_int_eq(tlswarm_client(ctx), 0);
	after = crypto_code_rss();
	ck_assert_msg(before > 256 && after * 4 < before, "libcrypto's code "
	    "mapped: %ld KiB before the warm-up, %ld KiB after", before,
	    after);
	ck_assert_int_eq(tlswarm_client(ctx), 0);
	ck_assert_uint_eq(ERR_peek_error(), 0);
	SSL_CTX_free(ctx);
}
END_TEST

static Suite *
tlswarm_suite(void)
{
	Suite *s = suite_create("tlswarm");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_handshake);
	tcase_add_test(tc, test_no_common_protocol);
	tcase_add_test(tc, test_shared_after_fork);
	tcase_add_test(tc, test_code_forgotten);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(tlswarm_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

/*
 * check_ipc.c - unit tests for the framed IPC over a socketpair (ipc.c):
 * frames queued faster than a small socket takes them arrive whole and
 * in order, split wherever the socket fills
 */
#include "config.h"

#include <sys/socket.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>
#include <event2/event.h>

#include "ipc.h"

#define NFRAMES	3000

struct rx {
	size_t n;		/* frames received so far */
	int bad;		/* the first frame out of order or wrong, +1 */
	struct event_base *base;
};

/*
 * frame_len - the payload length of frame i: 0 for the first, 4,000 for
 * the second, then 5,000 to 6,999 bytes: more than the little room
 * earlier frames leave in the socket (its send buffer is small), so
 * frames are split where it fills
 */
static size_t
frame_len(size_t i)
{
	return i == 0 ? 0 : i == 1 ? 4000 : 5000 + (i * 7919) % 2000;
}

/* frame_byte - byte k of frame i */
static unsigned char
frame_byte(size_t i, size_t k)
{
	return (unsigned char)(i * 31 + k);
}

static void
rx_frame(struct ipc *ipc, const struct ipc_frame *f, void *arg)
{
	struct rx *rx = arg;
	size_t k;

	(void)ipc;
	if (!rx->bad && (f->type != (uint32_t)(IPC_MSG_NEW + rx->n % 3) ||
	    f->len != frame_len(rx->n)))
		rx->bad = (int)rx->n + 1;
	for (k = 0; !rx->bad && k < f->len; k++)
		if (f->data[k] != frame_byte(rx->n, k))
			rx->bad = (int)rx->n + 1;
	if (++rx->n == NFRAMES || rx->bad)
		event_base_loopbreak(rx->base);
}

static void
rx_closed(struct ipc *ipc, void *arg)
{
	(void)ipc;
	event_base_loopbreak(((struct rx *)arg)->base);
}

START_TEST(test_send_order)
{
	struct event_base *base = event_base_new();
	struct ipc *a, *b;
	struct rx rx = { 0, 0, base };
	unsigned char buf[7000];
	int sv[2], small = 4096;
	size_t i, k, queued = 0;

	ck_assert_ptr_nonnull(base);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	/* a small socket buffer: most frames queue, some split */
	ck_assert_int_eq(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small,
	    sizeof(small)), 0);
	a = ipc_new(base, sv[0], rx_frame, rx_closed, &rx);
	b = ipc_new(base, sv[1], rx_frame, rx_closed, &rx);
	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(b);
	for (i = 0; i < NFRAMES; i++) {
		for (k = 0; k < frame_len(i); k++)
			buf[k] = frame_byte(i, k);
		ck_assert_int_eq(ipc_send(a, (uint32_t)(IPC_MSG_NEW + i % 3),
		    buf, frame_len(i)), 0);
		if (ipc_pending(a) > queued)
			queued = ipc_pending(a);
	}
	/* nothing is written before the loop runs: all of it waits */
	ck_assert_uint_gt(queued, (size_t)NFRAMES * 5000);
	ck_assert_int_eq(event_base_dispatch(base), 0);
	ck_assert_msg(rx.bad == 0, "frame %d out of order or wrong", rx.bad - 1);
	ck_assert_uint_eq(rx.n, NFRAMES);
	ck_assert_uint_eq(ipc_pending(a), 0);
	/* the wrong type is refused before anything is written */
	ck_assert_int_eq(ipc_send(a, 0, buf, 1), -1);
	ck_assert_int_eq(errno, EMSGSIZE);
	ipc_free(a);
	ipc_free(b);
	event_base_free(base);
}
END_TEST

static Suite *
ipc_suite(void)
{
	Suite *s = suite_create("ipc");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_send_order);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(ipc_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}

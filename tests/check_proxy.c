/*
 * check_proxy.c - unit tests of the PROXY protocol header parser (proxy.c)
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include <check.h>

#include "proxy.h"

static const unsigned char sig[12] = {
	0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a
};

/* feed - read a header the way the receiver does; length or -1 */
static int
feed(const unsigned char *in, size_t len, struct proxy_info *pi)
{
	size_t have = 0;
	const char *why;
	int need;

	while ((need = proxy_need(in, have, &why)) > 0) {
		if (have + (size_t)need > len)
			return -2;		/* wants more than there is */
		have += (size_t)need;
	}
	if (need == -1 || proxy_parse(in, have, pi, &why) == -1)
		return -1;
	return (int)have;
}

static const struct {
	const char *text;
	int ok;
	const char *src;
} v1_cases[] = {
	{ "PROXY TCP4 198.51.100.7 192.0.2.1 40000 25\r\nEHLO", 1, "198.51.100.7" },
	{ "PROXY TCP6 2001:db8::5 2001:db8::1 1 65535\r\n", 1, "2001:db8::5" },
	{ "PROXY UNKNOWN\r\n", 1, NULL },
	{ "PROXY UNKNOWN ffff::1 ffff::2 1 2\r\n", 1, NULL },
	{ "PROXY TCP4 198.51.100.7 192.0.2.1 40000 65536\r\n", 0, NULL },
	{ "PROXY TCP4 198.51.100.7 192.0.2.1 040000 25\r\n", 0, NULL },
	{ "PROXY TCP4 2001:db8::5 192.0.2.1 1 25\r\n", 0, NULL },
	{ "PROXY TCP4 198.51.100.7  192.0.2.1 1 25\r\n", 0, NULL },
	{ "PROXY TCP4 198.51.100.7 192.0.2.1 1 25 \r\n", 0, NULL },
	{ "PROXY TCP4 198.51.100.7 192.0.2.1 1\r\n", 0, NULL },
	{ "PROXY UDP4 198.51.100.7 192.0.2.1 1 2\r\n", 0, NULL },
	{ "PROXY TCP4 198.51.100.7 192.0.2.1 1 2\n", 0, NULL },
	{ "PROXY TCP4 198.51.100.7\r192.0.2.1 1 2\r\n", 0, NULL },
	{ "PROXX TCP4 198.51.100.7 192.0.2.1 1 2\r\n", 0, NULL },
	{ "EHLO client.example\r\n", 0, NULL },
};

START_TEST(test_v1)
{
	struct proxy_info pi;
	char ip[64];
	int r = feed((const unsigned char *)v1_cases[_i].text,
	    strlen(v1_cases[_i].text), &pi);

	if (!v1_cases[_i].ok) {
		ck_assert_msg(r < 0, "accepted: %s", v1_cases[_i].text);
		return;
	}
	ck_assert_int_eq(r, (int)(strstr(v1_cases[_i].text, "\r\n") + 2 -
	    v1_cases[_i].text));
	ck_assert_int_eq(pi.version, 1);
	if (v1_cases[_i].src == NULL) {
		ck_assert(pi.local);
		return;
	}
	ck_assert(!pi.local);
	if (pi.src.ss_family == AF_INET)
		inet_ntop(AF_INET, &((struct sockaddr_in *)&pi.src)->sin_addr, ip,
		    sizeof(ip));
	else
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&pi.src)->sin6_addr,
		    ip, sizeof(ip));
	ck_assert_str_eq(ip, v1_cases[_i].src);
}
END_TEST

START_TEST(test_v1_too_long)
{
	unsigned char buf[300];
	struct proxy_info pi;

	memset(buf, 'A', sizeof(buf));
	memcpy(buf, "PROXY ", 6);
	ck_assert_int_eq(feed(buf, sizeof(buf), &pi), -1);
}
END_TEST

/* v2 - build a binary header */
static size_t
v2(unsigned char *b, int cmd, int fam, const unsigned char *addr, size_t alen)
{
	memcpy(b, sig, 12);
	b[12] = (unsigned char)(0x20 | cmd);
	b[13] = (unsigned char)fam;
	b[14] = (unsigned char)(alen >> 8);
	b[15] = (unsigned char)alen;
	memcpy(b + 16, addr, alen);
	return 16 + alen;
}

START_TEST(test_v2)
{
	unsigned char b[PROXY_MAX + 64], a4[12 + 7] = { 198, 51, 100, 7, 192, 0, 2, 1,
	    0x9c, 0x40, 0, 25, 0x04, 0, 3, 'x', 'y', 'z', 0 }, a6[36];
	struct proxy_info pi;
	struct sockaddr_in *sin = (struct sockaddr_in *)&pi.src;
	size_t n;

	/* TCP4 with a TLV after the addresses */
	n = v2(b, 1, 0x11, a4, sizeof(a4));
	ck_assert_int_eq(feed(b, n + 5, &pi), (int)n);
	ck_assert_int_eq(pi.version, 2);
	ck_assert(!pi.local);
	ck_assert_int_eq(sin->sin_family, AF_INET);
	ck_assert_int_eq(ntohs(sin->sin_port), 40000);
	ck_assert_uint_eq(ntohl(sin->sin_addr.s_addr), 0xc6336407u);
	/* TCP6 */
	memset(a6, 0, sizeof(a6));
	a6[0] = 0x20; a6[1] = 0x01; a6[15] = 5;
	n = v2(b, 1, 0x21, a6, sizeof(a6));
	ck_assert_int_eq(feed(b, n, &pi), (int)n);
	ck_assert_int_eq(pi.src.ss_family, AF_INET6);
	/* LOCAL (health check) and UNSPEC: the peer address is kept */
	n = v2(b, 0, 0x00, a4, 0);
	ck_assert_int_eq(feed(b, n, &pi), 16);
	ck_assert(pi.local);
	n = v2(b, 1, 0x00, a4, 0);
	ck_assert_int_eq(feed(b, n, &pi), 16);
	ck_assert(pi.local);
	/* refused: short address block, UDP, bad version, bad command, too long */
	n = v2(b, 1, 0x11, a4, 8);
	ck_assert_int_eq(feed(b, n, &pi), -1);
	n = v2(b, 1, 0x12, a4, 12);
	ck_assert_int_eq(feed(b, n, &pi), -1);
	n = v2(b, 1, 0x11, a4, 12);
	b[12] = 0x11;
	ck_assert_int_eq(feed(b, n, &pi), -1);
	n = v2(b, 2, 0x11, a4, 12);
	ck_assert_int_eq(feed(b, n, &pi), -1);
	b[14] = 0xff;
	ck_assert_int_eq(feed(b, sizeof(b), &pi), -1);
	/* a wrong signature byte */
	n = v2(b, 1, 0x11, a4, 12);
	b[6] = 'X';
	ck_assert_int_eq(feed(b, n, &pi), -1);
}
END_TEST

START_TEST(test_need_never_overreads)
{
	static const char hdr[] = "PROXY UNKNOWN\r\n";
	size_t have;
	int need;

	/* the text form is read one byte at a time: never past the CRLF */
	for (have = 0; (need = proxy_need((const unsigned char *)hdr, have,
	    NULL)) > 0; have += (size_t)need)
		ck_assert_int_eq(need, 1);
	ck_assert_int_eq(need, 0);
	ck_assert_uint_eq(have, strlen(hdr));
}
END_TEST

static Suite *
proxy_suite(void)
{
	Suite *s = suite_create("proxy");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_v1, 0, sizeof(v1_cases) / sizeof(v1_cases[0]));
	tcase_add_test(tc, test_v1_too_long);
	tcase_add_test(tc, test_v2);
	tcase_add_test(tc, test_need_never_overreads);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(proxy_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}

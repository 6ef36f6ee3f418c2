/*
 * check_scan.c - unit tests of the scan library's own parsing and pixel
 * work: the content-stream test of a PDF page that is one image
 * (scan_pdf_img.c) and the row-by-row page reduction (scan_shrink.c)
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "scan.h"
#include "scan_int.h"

static const struct {
	const char *content;
	int ok;
	const char *name;		/* the Do operand when ok */
} contents[] = {
	{ "q\n2480 0 0 3508 0 0 cm\n/Im0 Do\nQ\n", 1, "/Im0" },
	{ "q 595.2 0 0 841.92 0.0 -0.5 cm /Im1 Do Q", 1, "/Im1" },
	{ "q\r\n1 0 0 1 0 0 cm q 612 0 0 792 0 0 cm /X Do Q Q", 1, "/X" },
	{ "/Im0 Do", 1, "/Im0" },
	{ "", 0, NULL },				/* nothing drawn */
	{ "q 1 0 0 1 0 0 cm Q", 0, NULL },
	{ "/Im0 Do /Im1 Do", 0, NULL },			/* two images */
	{ "q /Im0 Do BT /F1 12 Tf (hi) Tj ET Q", 0, NULL },	/* text */
	{ "0 0 m 10 10 l S /Im0 Do", 0, NULL },		/* a path */
	{ "0 0 10 10 re f /Im0 Do", 0, NULL },		/* a filled box */
	{ "[1 2] 0 d /Im0 Do", 0, NULL },		/* an array */
	{ "<< /A 1 >> BDC /Im0 Do EMC", 0, NULL },
	{ "Do", 0, NULL },				/* no operand */
	{ "/Im#30 Do", 0, NULL },			/* escaped name */
	{ "/Im0 Do %comment", 0, NULL },
	{ "q /Im0 Do Q ", 1, "/Im0" },
};

START_TEST(test_content)
{
	const char *c = contents[_i].content;
	size_t len = strlen(c);
	char name[64];

	memset(name, 'x', sizeof(name));
	ck_assert_int_eq(scan_pdf_img_content((const unsigned char *)c, len,
	    name, sizeof(name)), contents[_i].ok);
	if (contents[_i].ok)
		ck_assert_str_eq(name, contents[_i].name);
}
END_TEST

START_TEST(test_content_long_name)
{
	char c[200], name[16];

	memset(c, 'A', sizeof(c));
	c[0] = '/';
	memcpy(c + 150, " Do", 4);
	ck_assert_int_eq(scan_pdf_img_content((const unsigned char *)c,
	    strlen(c), name, sizeof(name)), 0);
}
END_TEST

/* A 10 x 4 grey page: the left half black, the right half white. */
START_TEST(test_shrink_gray)
{
	unsigned char row[10];
	struct scan_shrink s;
	struct scan_gray g;
	unsigned y;

	memset(row, 0, 5);
	memset(row + 5, 255, 5);
	scan_shrink_init(&s, 10, 4, 5);
	for (y = 0; y < 4; y++)
		scan_shrink_gray(&s, row);
	scan_shrink_gray(&s, row);		/* a row too many: ignored */
	scan_shrink_done(&s, &g);
	ck_assert_uint_eq(g.w, 5);
	ck_assert_uint_eq(g.h, 2);
	ck_assert_uint_eq(g.px[0], 0);
	ck_assert_uint_eq(g.px[1], 0);
	ck_assert_uint_eq(g.px[2], 128);	/* half black, half white */
	ck_assert_uint_eq(g.px[3], 255);
	ck_assert_uint_eq(g.px[5 + 4], 255);
	free(g.px);
}
END_TEST

/* Bilevel rows of 12 pixels: min-is-white (1 black) and the padding bits. */
START_TEST(test_shrink_bits)
{
	const unsigned char row[2] = { 0xf0, 0x0f };	/* 4 black, 8 white */
	struct scan_shrink s;
	struct scan_gray g;

	scan_shrink_init(&s, 12, 2, 6);
	scan_shrink_bits(&s, row, 1);
	scan_shrink_bits(&s, row, 0);		/* min-is-black: inverted */
	scan_shrink_done(&s, &g);
	ck_assert_uint_eq(g.w, 6);
	ck_assert_uint_eq(g.h, 1);
	/* columns of 2 pixels, 2 rows: one black and one white pixel each;
	 * the set padding bits of the first row (pixels 12-15) are ignored */
	ck_assert_uint_eq(g.px[0], 128);
	ck_assert_uint_eq(g.px[2], 128);
	ck_assert_uint_eq(g.px[5], 128);
	free(g.px);
}
END_TEST

/*
 * Bilevel rows give what the same rows as grey give, for widths and sizes
 * that make a byte fall into 1, 2, 3 or more output columns, with long
 * white runs (skipped 64 pixels at a time) and random black pixels.
 */
START_TEST(test_shrink_bits_as_gray)
{
	static const unsigned widths[] = { 997, 1000, 2480 };
	static const unsigned sides[] = { 600, 170, 333, 900 };
	unsigned wi, si, x, y, h = 37;
	unsigned char bits[2480 / 8 + 1], gray[2480];
	struct scan_shrink a, b;
	struct scan_gray ga, gb;

	srandom(13);
	for (wi = 0; wi < 3; wi++)
		for (si = 0; si < 4; si++) {
			scan_shrink_init(&a, widths[wi], h, sides[si]);
			scan_shrink_init(&b, widths[wi], h, sides[si]);
			for (y = 0; y < h; y++) {
				memset(bits, 0, sizeof(bits));
				for (x = 0; x < widths[wi]; x++) {
					gray[x] = 255;
					if (x % 200 < 100 && random() % 3 == 0) {
						bits[x / 8] |= 0x80 >> (x % 8);
						gray[x] = 0;
					}
				}
				scan_shrink_bits(&a, bits, 1);
				scan_shrink_gray(&b, gray);
			}
			scan_shrink_done(&a, &ga);
			scan_shrink_done(&b, &gb);
			ck_assert_uint_eq(ga.w, gb.w);
			ck_assert_uint_eq(ga.h, gb.h);
			ck_assert_mem_eq(ga.px, gb.px, (size_t)ga.w * ga.h);
			free(ga.px);
			free(gb.px);
		}
}
END_TEST

/* A page smaller than the size asked keeps its size; rows never sent stay white. */
START_TEST(test_shrink_small_and_short)
{
	unsigned char row[3] = { 0, 0, 0 };
	struct scan_shrink s;
	struct scan_gray g;

	scan_shrink_init(&s, 3, 3, 600);
	scan_shrink_gray(&s, row);
	scan_shrink_done(&s, &g);
	ck_assert_uint_eq(g.w, 3);
	ck_assert_uint_eq(g.h, 3);
	ck_assert_uint_eq(g.px[0], 0);
	ck_assert_uint_eq(g.px[3], 255);
	ck_assert_uint_eq(g.px[8], 255);
	free(g.px);
}
END_TEST

/* A very long thin page: every output size stays at least 1. */
START_TEST(test_shrink_thin)
{
	struct scan_gray page = { NULL, 100000, 2 }, g;

	page.px = calloc(page.w, page.h);
	ck_assert_ptr_nonnull(page.px);
	scan_shrink_page(&page, 600, &g);
	ck_assert_uint_eq(g.w, 600);
	ck_assert_uint_eq(g.h, 1);
	ck_assert_uint_eq(g.px[0], 0);
	free(g.px);
	free(page.px);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("scan");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_loop_test(tc, test_content, 0,
	    sizeof(contents) / sizeof(contents[0]));
	tcase_add_test(tc, test_content_long_name);
	tcase_add_test(tc, test_shrink_gray);
	tcase_add_test(tc, test_shrink_bits);
	tcase_add_test(tc, test_shrink_bits_as_gray);
	tcase_add_test(tc, test_shrink_small_and_short);
	tcase_add_test(tc, test_shrink_thin);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}

/*
 * scan_img.c - single-image scans: JPEG (libjpeg) and PNG (libpng) to grey
 *
 * Both decoders read from memory, report through longjmp into err (never
 * to stderr), and check the declared size against max_pixels before any
 * row is allocated.  A big JPEG is decoded at a reduced scale (libjpeg's
 * DCT scaling: 1/2, 1/4, 1/8 of the size for a fraction of the work) so
 * that its longer side is about SCAN_DECODE_SIDE; a routing sheet's code
 * is large enough to be read there.  Colour is converted to grey by the
 * decoders (JPEG's luma channel, libpng's rgb_to_gray).
 */
#include "config.h"

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <png.h>

#include "scan.h"
#include "scan_int.h"

struct jpeg_fail {
	struct jpeg_error_mgr	 mgr;
	jmp_buf			 jb;
	char			*err;
	size_t			 errlen;
	struct scan_gray	 g;	/* in memory across the longjmp */
};

struct png_src {
	const unsigned char	*p;
	size_t			 len, off;
	char			*err;
	size_t			 errlen;
	struct scan_gray	 g;	/* in memory across the longjmp */
	png_bytep		*rows;
};

/* jpeg_fail_exit - libjpeg's fatal error: the message into err, longjmp */
static void
jpeg_fail_exit(j_common_ptr c)
{
	struct jpeg_fail *f = (struct jpeg_fail *)c->err;
	char msg[JMSG_LENGTH_MAX];

	c->err->format_message(c, msg);
	scan_err(f->err, f->errlen, "JPEG: %s", msg);
	longjmp(f->jb, 1);
}

/* jpeg_quiet - libjpeg's warnings: ignored */
static void
jpeg_quiet(j_common_ptr c, int level)
{
	(void)c;
	(void)level;
}

/* jpeg_setup - read the header, choose the scale and the grey output */
static int
jpeg_setup(struct jpeg_decompress_struct *d, const struct scan_limits *lim,
    char *err, size_t errlen)
{
	unsigned side, denom = 1;

	jpeg_read_header(d, TRUE);
	if (scan_pixels_ok(d->image_width, d->image_height, lim, err,
	    errlen) == -1)
		return -1;
	side = d->image_width > d->image_height ? d->image_width :
	    d->image_height;
	while (denom < 8 && side / (denom * 2) >= SCAN_DECODE_SIDE)
		denom *= 2;
	d->scale_num = 1;
	d->scale_denom = denom;
	d->dct_method = JDCT_IFAST;
	d->do_fancy_upsampling = FALSE;
	if (d->jpeg_color_space == JCS_CMYK || d->jpeg_color_space == JCS_YCCK) {
		scan_err(err, errlen, "JPEG: CMYK scans are not supported");
		return -1;
	}
	d->out_color_space = JCS_GRAYSCALE;
	jpeg_start_decompress(d);
	if (d->output_components != 1) {
		scan_err(err, errlen, "JPEG: not converted to grey");
		return -1;
	}
	return 0;
}

/* jpeg_rows - decode the rows into g (allocated here) */
static int
jpeg_rows(struct jpeg_decompress_struct *d, struct scan_gray *g, char *err,
    size_t errlen)
{
	JSAMPROW row;

	g->w = d->output_width;
	g->h = d->output_height;
	if ((g->px = malloc((size_t)g->w * g->h)) == NULL) {
		scan_err(err, errlen, "out of memory");
		return -1;
	}
	memset(g->px, 255, (size_t)g->w * g->h);	/* rows a bad file lacks */
	while (d->output_scanline < d->output_height) {
		row = g->px + (size_t)d->output_scanline * g->w;
		if (jpeg_read_scanlines(d, &row, 1) != 1)
			break;
	}
	return 0;
}

/* scan_jpeg_find - decode the image (scaled) and search it */
int
scan_jpeg_find(const void *buf, size_t len, const struct scan_limits *lim,
    struct scan_result *res, char *err, size_t errlen)
{
	struct jpeg_decompress_struct d;
	struct jpeg_fail f;
	volatile int rc = -1;

	res->npages = 1;
	memset(&d, 0, sizeof(d));
	d.err = jpeg_std_error(&f.mgr);
	f.mgr.error_exit = jpeg_fail_exit;
	f.mgr.emit_message = jpeg_quiet;
	f.err = err;
	f.errlen = errlen;
	f.g.px = NULL;
	jpeg_create_decompress(&d);
	if (setjmp(f.jb) == 0) {
		d.mem->max_memory_to_use = (long)(lim->max_pixels * 4 + (16 << 20));
		jpeg_mem_src(&d, buf, len);
		if (jpeg_setup(&d, lim, err, errlen) == 0 &&
		    jpeg_rows(&d, &f.g, err, errlen) == 0) {
			jpeg_finish_decompress(&d);
			rc = 0;
		}
	}
	jpeg_destroy_decompress(&d);
	if (rc == 0 && lim->max_pages > 0) {
		scan_page_search(res, 0, &f.g);
		res->searched = 1;
	}
	free(f.g.px);
	return rc;
}

/* png_fail - libpng's error: the message into err, longjmp */
static void
png_fail(png_structp p, png_const_charp msg)
{
	struct png_src *s = png_get_error_ptr(p);

	scan_err(s->err, s->errlen, "PNG: %s", msg);
	png_longjmp(p, 1);
}

/* png_quiet - libpng's warnings: ignored */
static void
png_quiet(png_structp p, png_const_charp msg)
{
	(void)p;
	(void)msg;
}

/* png_read_mem - libpng's read callback on the memory document */
static void
png_read_mem(png_structp p, png_bytep out, size_t n)
{
	struct png_src *s = png_get_io_ptr(p);

	if (n > s->len - s->off)
		png_error(p, "truncated");
	memcpy(out, s->p + s->off, n);
	s->off += n;
}

/* png_setup - header, size check, transformations to 8-bit grey */
static int
png_setup(png_structp p, png_infop info, const struct scan_limits *lim,
    char *err, size_t errlen)
{
	png_uint_32 w, h;
	int depth, type;

	png_read_info(p, info);
	png_get_IHDR(p, info, &w, &h, &depth, &type, NULL, NULL, NULL);
	if (scan_pixels_ok(w, h, lim, err, errlen) == -1)
		return -1;
	if (type == PNG_COLOR_TYPE_PALETTE)
		png_set_palette_to_rgb(p);
	if (type == PNG_COLOR_TYPE_GRAY && depth < 8)
		png_set_expand_gray_1_2_4_to_8(p);
	if (depth == 16)
		png_set_strip_16(p);
	if (type & PNG_COLOR_MASK_ALPHA || png_get_valid(p, info, PNG_INFO_tRNS))
		png_set_strip_alpha(p);
	if (type & PNG_COLOR_MASK_COLOR || type == PNG_COLOR_TYPE_PALETTE)
		png_set_rgb_to_gray_fixed(p, 1, -1, -1);
	(void)png_set_interlace_handling(p);
	png_read_update_info(p, info);
	if (png_get_rowbytes(p, info) != w || png_get_channels(p, info) != 1) {
		scan_err(err, errlen, "PNG: not converted to 8-bit grey");
		return -1;
	}
	return 0;
}

/* png_decode - the image into g; 0 or -1 with err */
static int
png_decode(png_structp p, png_infop info, const struct scan_limits *lim,
    struct png_src *s)
{
	struct scan_gray *g = &s->g;
	unsigned y;

	if (png_setup(p, info, lim, s->err, s->errlen) == -1)
		return -1;
	g->w = png_get_image_width(p, info);
	g->h = png_get_image_height(p, info);
	if ((s->rows = calloc(g->h, sizeof(*s->rows))) == NULL ||
	    (g->px = malloc((size_t)g->w * g->h)) == NULL) {
		scan_err(s->err, s->errlen, "out of memory");
		return -1;
	}
	for (y = 0; y < g->h; y++)
		s->rows[y] = g->px + (size_t)y * g->w;
	png_read_image(p, s->rows);
	return 0;
}

/* scan_png_find - decode the image and search it */
int
scan_png_find(const void *buf, size_t len, const struct scan_limits *lim,
    struct scan_result *res, char *err, size_t errlen)
{
	struct png_src s = { buf, len, 0, err, errlen, { NULL, 0, 0 }, NULL };
	png_structp p;
	png_infop info;
	volatile int rc = -1;

	res->npages = 1;
	p = png_create_read_struct(PNG_LIBPNG_VER_STRING, &s, png_fail, png_quiet);
	if (p == NULL || (info = png_create_info_struct(p)) == NULL) {
		png_destroy_read_struct(&p, NULL, NULL);
		scan_err(err, errlen, "PNG: out of memory");
		return -1;
	}
	if (setjmp(png_jmpbuf(p)) == 0) {
		png_set_read_fn(p, &s, png_read_mem);
		png_set_user_limits(p, 0x7fffffff, 0x7fffffff);
		png_set_chunk_malloc_max(p, 8 << 20);
		rc = png_decode(p, info, lim, &s);
	}
	png_destroy_read_struct(&p, &info, NULL);
	free(s.rows);
	if (rc == 0 && lim->max_pages > 0) {
		scan_page_search(res, 0, &s.g);
		res->searched = 1;
	}
	free(s.g.px);
	return rc;
}

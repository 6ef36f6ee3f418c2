/*
 * scan_pdf.c - PDF scans: pages counted and cut with qpdf, rasterised by
 * pdftoppm (poppler)
 *
 * pdftoppm runs as a program of its own (fork+exec): it reads the
 * document from a memfd on its standard input (opened as /dev/stdin, so
 * that only the pages asked for are read) and writes the pages as
 * binary PGM on a pipe, read here one page at a time and parsed
 * strictly.  Poppler decodes every image codec a scanner writes (DCT,
 * Flate, CCITT G4, JBIG2); a crash or a runaway page costs that process
 * (it runs under a CPU and memory limit), and the program boundary keeps
 * poppler's GPL apart from gatewayd.  Before it runs, each page's
 * MediaBox at the chosen resolution is checked against max_pixels.
 * scan_cut() copies page objects with qpdf, stream data untouched.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <qpdf/qpdf-c.h>

#include "scan.h"
#include "scan_int.h"
#include "xmalloc.h"

#define PDF_CPU_BASE		10	/* pdftoppm's CPU seconds: base ... */
#define PDF_CPU_PAGE		5	/* ... and per page */
#define PDF_AS_BASE		(1024ULL << 20)	/* its address space, plus ... */
#define PDF_AS_PIXEL		8	/* ... bytes per allowed pixel */

struct pgm_reader {
	int		 fd;
	unsigned char	 buf[65536];
	size_t		 off, len;
};

/* pdf_qpdf_err - qpdf's last error into err */
static void
pdf_qpdf_err(qpdf_data q, const char *what, char *err, size_t errlen)
{
	const char *detail = NULL;

	if (qpdf_has_error(q))
		detail = qpdf_get_error_full_text(q, qpdf_get_error(q));
	scan_err(err, errlen, "%s: %s", what, detail ? detail : "qpdf error");
}

/* pdf_open - parse buf with qpdf; NULL with err on failure */
static qpdf_data
pdf_open(const void *buf, size_t len, char *err, size_t errlen)
{
	qpdf_data q = qpdf_init();

	qpdf_silence_errors(q);
	qpdf_set_suppress_warnings(q, QPDF_TRUE);
	if ((qpdf_read_memory(q, "scan", buf, len, NULL) & QPDF_ERRORS) ||
	    qpdf_get_num_pages(q) < 0) {
		pdf_qpdf_err(q, "unreadable PDF", err, errlen);
		qpdf_cleanup(&q);
		return NULL;
	}
	return q;
}

/* pdf_page_ok - 0 if page i of q fits max_pixels at lim->dpi */
static int
pdf_page_ok(qpdf_data q, unsigned i, const struct scan_limits *lim,
    char *err, size_t errlen)
{
	qpdf_oh page, box, uu;
	double v[4], unit = 1, w, h;
	int k;

	page = qpdf_get_page_n(q, i);
	box = qpdf_oh_get_key(q, page, "/MediaBox");
	if (!qpdf_oh_is_array(q, box) || qpdf_oh_get_array_n_items(q, box) != 4)
		return 0;	/* pdftoppm's default page size */
	for (k = 0; k < 4; k++) {
		qpdf_oh it = qpdf_oh_get_array_item(q, box, k);
		if (!qpdf_oh_is_number(q, it))
			return 0;
		v[k] = qpdf_oh_get_numeric_value(q, it);
	}
	uu = qpdf_oh_get_key(q, page, "/UserUnit");
	if (qpdf_oh_is_number(q, uu) && qpdf_oh_get_numeric_value(q, uu) > 0)
		unit = qpdf_oh_get_numeric_value(q, uu);
	w = (v[2] > v[0] ? v[2] - v[0] : v[0] - v[2]) * unit / 72.0 * lim->dpi;
	h = (v[3] > v[1] ? v[3] - v[1] : v[1] - v[3]) * unit / 72.0 * lim->dpi;
	if (!(w < 4e9) || !(h < 4e9)) {
		scan_err(err, errlen, "page %u: absurd page size", i + 1);
		return -1;
	}
	if (scan_pixels_ok((uint64_t)w + 1, (uint64_t)h + 1, lim, err,
	    errlen) == -1) {
		scan_err(err, errlen, "page %u: %.0fx%.0f pixels at %u dpi, "
		    "over the limit of %llu", i + 1, w, h, lim->dpi,
		    (unsigned long long)lim->max_pixels);
		return -1;
	}
	return 0;
}

/* pdf_memfd - a descriptor holding buf, at offset 0 */
static int
pdf_memfd(const void *buf, size_t len, char *err, size_t errlen)
{
	int fd;

#ifdef HAVE_MEMFD_CREATE
	fd = memfd_create("scan", MFD_CLOEXEC);
#else
	FILE *f = tmpfile();
	fd = f ? fcntl(fileno(f), F_DUPFD_CLOEXEC, 3) : -1;
	if (f)
		fclose(f);
#endif
	if (fd == -1) {
		scan_err(err, errlen, "memfd: %s", strerror(errno));
		return -1;
	}
	if (scan_write_all(fd, buf, len, err, errlen) == -1 ||
	    lseek(fd, 0, SEEK_SET) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

/* pdf_child - in the child: limits, descriptors, exec pdftoppm */
static void __attribute__((noreturn))
pdf_child(const struct scan_limits *lim, unsigned n, int in, int out)
{
	char first[] = "1", last[16], dpi[16];
	struct rlimit rl;
	uint64_t as;
	int fd;

	snprintf(last, sizeof(last), "%u", n);
	snprintf(dpi, sizeof(dpi), "%u", lim->dpi);
	rl.rlim_cur = rl.rlim_max = PDF_CPU_BASE + (rlim_t)PDF_CPU_PAGE * n;
	setrlimit(RLIMIT_CPU, &rl);
	as = PDF_AS_BASE + PDF_AS_PIXEL * lim->max_pixels;
	if (getrlimit(RLIMIT_AS, &rl) == 0 && (rl.rlim_cur == RLIM_INFINITY ||
	    rl.rlim_cur > as)) {
		rl.rlim_cur = as;
		setrlimit(RLIMIT_AS, &rl);
	}
	if (dup2(in, 0) == -1 || dup2(out, 1) == -1)
		_exit(127);
	if ((fd = open("/dev/null", O_WRONLY)) != -1)
		dup2(fd, 2);
	for (fd = 3; fd < 1024; fd++)
		close(fd);
	/* a path to the memfd: poppler then reads only what it needs ("-"
	 * makes it copy all of standard input first) */
	execl(lim->pdftoppm, lim->pdftoppm, "-q", "-f", first, "-l", last,
	    "-r", dpi, "-gray", access("/dev/stdin", R_OK) == 0 ? "/dev/stdin" :
	    "-", (char *)NULL);
	_exit(127);
}

/* pdf_spawn - start pdftoppm on buf for pages 1..n; its pid, -1 on error */
static pid_t
pdf_spawn(const void *buf, size_t len, const struct scan_limits *lim,
    unsigned n, int *outfd, char *err, size_t errlen)
{
	int in, p[2];
	pid_t pid;

	if ((in = pdf_memfd(buf, len, err, errlen)) == -1)
		return -1;
	if (pipe2(p, O_CLOEXEC) == -1) {
		scan_err(err, errlen, "pipe: %s", strerror(errno));
		close(in);
		return -1;
	}
	if ((pid = fork()) == -1) {
		scan_err(err, errlen, "fork: %s", strerror(errno));
		close(p[0]);
		close(p[1]);
		close(in);
		return -1;
	}
	if (pid == 0)
		pdf_child(lim, n, in, p[1]);
	close(in);
	close(p[1]);
	*outfd = p[0];
	return pid;
}

/* pgm_fill - more bytes into r->buf; 0 at end of input, -1 on error */
static ssize_t
pgm_fill(struct pgm_reader *r)
{
	ssize_t n;

	r->off = r->len = 0;
	do
		n = read(r->fd, r->buf, sizeof(r->buf));
	while (n == -1 && errno == EINTR);
	if (n > 0)
		r->len = (size_t)n;
	return n;
}

/* pgm_getc - the next byte, or -1 at the end */
static int
pgm_getc(struct pgm_reader *r)
{
	if (r->off == r->len && pgm_fill(r) <= 0)
		return -1;
	return r->buf[r->off++];
}

/* pgm_number - a decimal field then one white space; -1 if malformed */
static int
pgm_number(struct pgm_reader *r, uint64_t *v)
{
	int c, digits = 0;

	while ((c = pgm_getc(r)) == ' ' || c == '\n' || c == '\r' || c == '\t')
		;
	*v = 0;
	for (; c >= '0' && c <= '9'; c = pgm_getc(r)) {
		if (++digits > 10)
			return -1;
		*v = *v * 10 + (uint64_t)(c - '0');
	}
	return digits > 0 && (c == ' ' || c == '\n' || c == '\r' ||
	    c == '\t') ? 0 : -1;
}

/* pgm_read - one "P5" page; 0, 1 at the end of input, -1 with err */
static int
pgm_read(struct pgm_reader *r, const struct scan_limits *lim,
    struct scan_gray *g, char *err, size_t errlen)
{
	uint64_t w, h, maxval;
	size_t need, got = 0, n;
	int c;

	if ((c = pgm_getc(r)) == -1)
		return 1;
	if (c != 'P' || pgm_getc(r) != '5' || (c = pgm_getc(r)) == -1 ||
	    (c != ' ' && c != '\n' && c != '\r' && c != '\t') ||
	    pgm_number(r, &w) == -1 || pgm_number(r, &h) == -1 ||
	    pgm_number(r, &maxval) == -1 || maxval != 255) {
		scan_err(err, errlen, "pdftoppm: malformed PGM page");
		return -1;
	}
	if (scan_pixels_ok(w, h, lim, err, errlen) == -1)
		return -1;
	g->w = (unsigned)w;
	g->h = (unsigned)h;
	need = (size_t)(w * h);
	g->px = xmalloc(need);
	while (got < need) {
		if (r->off == r->len && pgm_fill(r) <= 0) {
			scan_err(err, errlen, "pdftoppm: truncated page");
			free(g->px);
			g->px = NULL;
			return -1;
		}
		n = r->len - r->off < need - got ? r->len - r->off : need - got;
		memcpy(g->px + got, r->buf + r->off, n);
		r->off += n;
		got += n;
	}
	return 0;
}

/* pdf_reap - wait for pdftoppm (killed first if kill); 0 if it exited 0 */
static int
pdf_reap(pid_t pid, int kill_it, char *err, size_t errlen)
{
	int st;

	if (kill_it)
		kill(pid, SIGKILL);
	while (waitpid(pid, &st, 0) == -1)
		if (errno != EINTR)
			return -1;
	if (kill_it)
		return -1;
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return 0;
	if (WIFSIGNALED(st))
		scan_err(err, errlen, "pdftoppm killed by signal %d", WTERMSIG(st));
	else
		scan_err(err, errlen, "pdftoppm failed (exit %d)", WEXITSTATUS(st));
	return -1;
}

/* pdf_raster - rasterise pages 1..n with pdftoppm and search each */
static int
pdf_raster(const void *buf, size_t len, const struct scan_limits *lim,
    unsigned n, struct scan_result *res, char *err, size_t errlen)
{
	struct pgm_reader *r;
	struct scan_gray g;
	pid_t pid;
	int rc = 0;

	r = xcalloc(1, sizeof(*r));
	if ((pid = pdf_spawn(buf, len, lim, n, &r->fd, err, errlen)) == -1) {
		free(r);
		return -1;
	}
	while (res->searched < n) {
		if ((rc = pgm_read(r, lim, &g, err, errlen)) != 0)
			break;
		scan_page_search(res, res->searched, &g);
		free(g.px);
		res->searched++;
	}
	if (rc == 0 && pgm_getc(r) != -1) {
		scan_err(err, errlen, "pdftoppm: more pages than asked for");
		rc = -1;
	}
	close(r->fd);
	free(r);
	if (rc == -1)
		return pdf_reap(pid, 1, err, errlen);
	if (pdf_reap(pid, 0, err, errlen) == -1)
		return -1;
	if (rc == 1) {
		scan_err(err, errlen, "pdftoppm gave %u of %u pages",
		    res->searched, n);
		return -1;
	}
	return 0;
}

/* scan_pdf_find - count the pages, check their size, search the first */
int
scan_pdf_find(const void *buf, size_t len, const struct scan_limits *lim,
    struct scan_result *res, char *err, size_t errlen)
{
	qpdf_data q;
	unsigned n, i;

	if (lim->dpi == 0 || lim->pdftoppm == NULL) {
		scan_err(err, errlen, "no resolution or no pdftoppm for PDF");
		return -1;
	}
	if ((q = pdf_open(buf, len, err, errlen)) == NULL)
		return -1;
	res->npages = (unsigned)qpdf_get_num_pages(q);
	n = res->npages < lim->max_pages ? res->npages : lim->max_pages;
	if (qpdf_push_inherited_attributes_to_page(q) & QPDF_ERRORS) {
		pdf_qpdf_err(q, "unreadable PDF", err, errlen);
		qpdf_cleanup(&q);
		return -1;
	}
	for (i = 0; i < n; i++)
		if (pdf_page_ok(q, i, lim, err, errlen) == -1) {
			qpdf_cleanup(&q);
			return -1;
		}
	qpdf_cleanup(&q);
	if (n == 0)
		return 0;
	return pdf_raster(buf, len, lim, n, res, err, errlen);
}

/* pdf_copy_pages - the kept pages of src into out, in order; how many */
static int
pdf_copy_pages(qpdf_data out, qpdf_data src, unsigned first, unsigned last,
    const unsigned *skip, size_t nskip, char *err, size_t errlen)
{
	unsigned p;
	size_t i;
	int kept = 0;

	for (p = first; p <= last; p++) {
		for (i = 0; i < nskip && skip[i] != p; i++)
			;
		if (i < nskip)
			continue;
		if (qpdf_add_page(out, src, qpdf_get_page_n(src, p), QPDF_FALSE) &
		    QPDF_ERRORS) {
			pdf_qpdf_err(out, "cannot copy a page", err, errlen);
			return -1;
		}
		kept++;
		if (p == UINT32_MAX)
			break;
	}
	if (kept == 0)
		scan_err(err, errlen, "no page left to write");
	return kept == 0 ? -1 : kept;
}

/* scan_pdf_cut - pages first..last but the skipped ones as a new PDF */
int
scan_pdf_cut(const void *buf, size_t len, unsigned first, unsigned last,
    const unsigned *skip, size_t nskip, int fd, char *err, size_t errlen)
{
	qpdf_data src, out;
	int rc = -1;

	if ((src = pdf_open(buf, len, err, errlen)) == NULL)
		return -1;
	if (last >= (unsigned)qpdf_get_num_pages(src)) {
		scan_err(err, errlen, "page %u is past the last page (%d)",
		    last + 1, qpdf_get_num_pages(src));
		qpdf_cleanup(&src);
		return -1;
	}
	out = qpdf_init();
	qpdf_silence_errors(out);
	qpdf_set_suppress_warnings(out, QPDF_TRUE);
	if (qpdf_push_inherited_attributes_to_page(src) & QPDF_ERRORS)
		pdf_qpdf_err(src, "unreadable PDF", err, errlen);
	else if (qpdf_empty_pdf(out) & QPDF_ERRORS)
		pdf_qpdf_err(out, "qpdf", err, errlen);
	else if (pdf_copy_pages(out, src, first, last, skip, nskip, err,
	    errlen) > 0) {
		qpdf_init_write_memory(out);
		qpdf_set_decode_level(out, qpdf_dl_none);
		qpdf_set_compress_streams(out, QPDF_FALSE);
		qpdf_set_deterministic_ID(out, QPDF_TRUE);
		if (qpdf_write(out) & QPDF_ERRORS)
			pdf_qpdf_err(out, "cannot write the PDF", err, errlen);
		else
			rc = scan_write_all(fd, qpdf_get_buffer(out),
			    qpdf_get_buffer_length(out), err, errlen);
	}
	qpdf_cleanup(&out);
	qpdf_cleanup(&src);
	return rc;
}

/*
 * scan_tiff_cut.c - write some frames of a TIFF as a new TIFF, raw
 *
 * Each kept frame's tags are copied (the baseline and extension tags a
 * scanner writes, the list tiffcp copies) and its strips or tiles are
 * copied with TIFFReadRawStrip/TIFFWriteRawStrip, so the compressed image
 * bytes are the same as in the source.  Private tags of other programs
 * are not copied.  PageNumber, where present, is renumbered.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <tiffio.h>

#include "scan.h"
#include "scan_int.h"
#include "xmalloc.h"

enum tag_kind { T_U16, T_U32, T_FLOAT, T_STR, T_U16PAIR, T_BLOB };

static const struct {
	ttag_t		tag;
	enum tag_kind	kind;
} tiff_tags[] = {
	{ TIFFTAG_SUBFILETYPE, T_U32 }, { TIFFTAG_IMAGEWIDTH, T_U32 },
	{ TIFFTAG_IMAGELENGTH, T_U32 }, { TIFFTAG_BITSPERSAMPLE, T_U16 },
	{ TIFFTAG_SAMPLESPERPIXEL, T_U16 }, { TIFFTAG_COMPRESSION, T_U16 },
	{ TIFFTAG_PHOTOMETRIC, T_U16 }, { TIFFTAG_PLANARCONFIG, T_U16 },
	{ TIFFTAG_ROWSPERSTRIP, T_U32 }, { TIFFTAG_TILEWIDTH, T_U32 },
	{ TIFFTAG_TILELENGTH, T_U32 }, { TIFFTAG_THRESHHOLDING, T_U16 },
	{ TIFFTAG_FILLORDER, T_U16 }, { TIFFTAG_ORIENTATION, T_U16 },
	{ TIFFTAG_MINSAMPLEVALUE, T_U16 }, { TIFFTAG_MAXSAMPLEVALUE, T_U16 },
	{ TIFFTAG_RESOLUTIONUNIT, T_U16 }, { TIFFTAG_XRESOLUTION, T_FLOAT },
	{ TIFFTAG_YRESOLUTION, T_FLOAT }, { TIFFTAG_XPOSITION, T_FLOAT },
	{ TIFFTAG_YPOSITION, T_FLOAT }, { TIFFTAG_GROUP3OPTIONS, T_U32 },
	{ TIFFTAG_GROUP4OPTIONS, T_U32 }, { TIFFTAG_PREDICTOR, T_U16 },
	{ TIFFTAG_SAMPLEFORMAT, T_U16 }, { TIFFTAG_INKSET, T_U16 },
	{ TIFFTAG_YCBCRPOSITIONING, T_U16 }, { TIFFTAG_CLEANFAXDATA, T_U16 },
	{ TIFFTAG_YCBCRSUBSAMPLING, T_U16PAIR },
	{ TIFFTAG_HALFTONEHINTS, T_U16PAIR }, { TIFFTAG_DOCUMENTNAME, T_STR },
	{ TIFFTAG_IMAGEDESCRIPTION, T_STR }, { TIFFTAG_MAKE, T_STR },
	{ TIFFTAG_MODEL, T_STR }, { TIFFTAG_SOFTWARE, T_STR },
	{ TIFFTAG_DATETIME, T_STR }, { TIFFTAG_ARTIST, T_STR },
	{ TIFFTAG_HOSTCOMPUTER, T_STR }, { TIFFTAG_PAGENAME, T_STR },
	{ TIFFTAG_COPYRIGHT, T_STR }, { TIFFTAG_JPEGTABLES, T_BLOB },
	{ TIFFTAG_ICCPROFILE, T_BLOB }, { TIFFTAG_XMLPACKET, T_BLOB },
};

/* tiff_copy_tag - one tag of the current frame of in, if set, to out */
static void
tiff_copy_tag(TIFF *in, TIFF *out, ttag_t tag, enum tag_kind kind)
{
	uint16_t a, b;
	uint32_t u32;
	float f;
	char *s;
	void *p;

	switch (kind) {
	case T_U16:
		if (TIFFGetField(in, tag, &a))
			TIFFSetField(out, tag, a);
		break;
	case T_U32:
		if (TIFFGetField(in, tag, &u32))
			TIFFSetField(out, tag, u32);
		break;
	case T_FLOAT:
		if (TIFFGetField(in, tag, &f))
			TIFFSetField(out, tag, f);
		break;
	case T_STR:
		if (TIFFGetField(in, tag, &s))
			TIFFSetField(out, tag, s);
		break;
	case T_U16PAIR:
		if (TIFFGetField(in, tag, &a, &b))
			TIFFSetField(out, tag, a, b);
		break;
	case T_BLOB:
		if (TIFFGetField(in, tag, &u32, &p))
			TIFFSetField(out, tag, u32, p);
		break;
	}
}

/* tiff_copy_arrays - the tags that are arrays of a frame-given length */
static void
tiff_copy_arrays(TIFF *in, TIFF *out)
{
	uint16_t bps = 1, n, *red, *green, *blue, *extra;
	float *fp;

	TIFFGetFieldDefaulted(in, TIFFTAG_BITSPERSAMPLE, &bps);
	if (bps <= 16 && TIFFGetField(in, TIFFTAG_COLORMAP, &red, &green, &blue))
		TIFFSetField(out, TIFFTAG_COLORMAP, red, green, blue);
	if (TIFFGetField(in, TIFFTAG_EXTRASAMPLES, &n, &extra))
		TIFFSetField(out, TIFFTAG_EXTRASAMPLES, n, extra);
	if (TIFFGetField(in, TIFFTAG_WHITEPOINT, &fp))
		TIFFSetField(out, TIFFTAG_WHITEPOINT, fp);
	if (TIFFGetField(in, TIFFTAG_PRIMARYCHROMATICITIES, &fp))
		TIFFSetField(out, TIFFTAG_PRIMARYCHROMATICITIES, fp);
	if (TIFFGetField(in, TIFFTAG_REFERENCEBLACKWHITE, &fp))
		TIFFSetField(out, TIFFTAG_REFERENCEBLACKWHITE, fp);
}

/* tiff_copy_data - the strips or tiles of in, raw, to out */
static int
tiff_copy_data(TIFF *in, TIFF *out, size_t doclen)
{
	int tiled = TIFFIsTiled(in);
	uint32_t i, n = tiled ? TIFFNumberOfTiles(in) : TIFFNumberOfStrips(in);
	uint64_t *bc;
	unsigned char *buf = NULL;
	tmsize_t got;
	int rc = 0;

	if (!TIFFGetField(in, tiled ? TIFFTAG_TILEBYTECOUNTS :
	    TIFFTAG_STRIPBYTECOUNTS, &bc))
		return -1;
	for (i = 0; i < n && rc == 0; i++) {
		if (bc[i] > doclen) {
			rc = -1;
			break;
		}
		buf = xreallocarray(buf, bc[i] ? bc[i] : 1, 1);
		got = tiled ? TIFFReadRawTile(in, i, buf, (tmsize_t)bc[i]) :
		    TIFFReadRawStrip(in, i, buf, (tmsize_t)bc[i]);
		if (got < 0)
			rc = -1;
		else if ((tiled ? TIFFWriteRawTile(out, i, buf, got) :
		    TIFFWriteRawStrip(out, i, buf, got)) != got)
			rc = -1;
	}
	free(buf);
	return rc;
}

/* tiff_copy_frame - the current frame of in as frame k of nk in out */
static int
tiff_copy_frame(TIFF *in, TIFF *out, unsigned k, unsigned nk, size_t doclen)
{
	uint16_t a, b;
	size_t i;

	for (i = 0; i < sizeof(tiff_tags) / sizeof(tiff_tags[0]); i++)
		tiff_copy_tag(in, out, tiff_tags[i].tag, tiff_tags[i].kind);
	tiff_copy_arrays(in, out);
	if (TIFFGetField(in, TIFFTAG_PAGENUMBER, &a, &b))
		TIFFSetField(out, TIFFTAG_PAGENUMBER, (uint16_t)k, (uint16_t)nk);
	if (tiff_copy_data(in, out, doclen) == -1 || !TIFFWriteDirectory(out))
		return -1;
	return 0;
}

/* tiff_kept - 1 if page p is not in skip */
static int
tiff_kept(unsigned p, const unsigned *skip, size_t nskip)
{
	size_t i;

	for (i = 0; i < nskip; i++)
		if (skip[i] == p)
			return 0;
	return 1;
}

/* tiff_copy_frames - frames first..last but the skipped ones, in to out */
static int
tiff_copy_frames(TIFF *in, TIFF *out, unsigned first, unsigned last,
    const unsigned *skip, size_t nskip, size_t doclen)
{
	unsigned p, k = 0, nk = 0;

	for (p = first; p <= last && p >= first; p++)
		nk += tiff_kept(p, skip, nskip);
	if (nk == 0)
		return -1;
	for (p = first; p <= last && p >= first; p++) {
		if (!tiff_kept(p, skip, nskip))
			continue;
		if (!TIFFSetDirectory(in, (tdir_t)p) ||
		    tiff_copy_frame(in, out, k++, nk, doclen) == -1)
			return -1;
	}
	return 0;
}

/* scan_tiff_cut - frames first..last but the skipped ones as a new TIFF */
int
scan_tiff_cut(const void *buf, size_t len, unsigned first, unsigned last,
    const unsigned *skip, size_t nskip, int fd, char *err, size_t errlen)
{
	struct scan_tiffmem in = { (unsigned char *)buf, len, len, 0, 0,
	    err, errlen, 0 };
	struct scan_tiffmem out = { NULL, 0, 0, 0, 1, err, errlen, 0 };
	TIFF *tin, *tout;
	int rc;

	if ((tin = scan_tiff_open(&in, "r", 0)) == NULL)
		return -1;
	if (last >= TIFFNumberOfDirectories(tin)) {
		scan_err(err, errlen, "page %u is past the last page (%u)",
		    last + 1, (unsigned)TIFFNumberOfDirectories(tin));
		TIFFClose(tin);
		return -1;
	}
	if ((tout = scan_tiff_open(&out, TIFFIsBigEndian(tin) ?
	    (TIFFIsBigTIFF(tin) ? "w8b" : "wb") :
	    (TIFFIsBigTIFF(tin) ? "w8l" : "wl"), 0)) == NULL) {
		TIFFClose(tin);
		return -1;
	}
	rc = tiff_copy_frames(tin, tout, first, last, skip, nskip, len);
	if (rc == -1 && !in.errset && !out.errset)
		scan_err(err, errlen, "cannot copy the TIFF frames");
	TIFFClose(tout);
	TIFFClose(tin);
	if (rc == 0)
		rc = scan_write_all(fd, out.buf, out.len, err, errlen);
	free(out.buf);
	return rc;
}

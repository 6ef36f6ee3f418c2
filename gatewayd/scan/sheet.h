/*
 * sheet.h - printable routing and separator sheets (one-page PDF)
 *
 * A routing sheet carries the directive's title, owner and expiry, its
 * recipients in human-readable form, the token "ED:<id>" in large text
 * (what the body recogniser finds in OCR'd text) and the bare ID as a QR
 * code (for the barcode recogniser, scan.h).  A separator sheet carries
 * SCAN_SEPARATOR_PAYLOAD as its QR code and a line saying what it is
 * for.  Either is laid out for A4 or US Letter; the QR code is drawn
 * large, with a quiet zone well inside the printable area of both.
 * PDF by libharu, QR by libqrencode.
 */
#ifndef GW_SHEET_H
#define GW_SHEET_H

#include <stddef.h>
#include <stdio.h>

struct directive;

enum sheet_paper { SHEET_A4 = 0, SHEET_LETTER };

/* "a4" or "letter" (any case); 0, or -1 for another name. */
int sheet_paper_parse(const char *name, enum sheet_paper *paper);
/* Write the sheet of d to path; 0, or -1 with a reason in err. */
int sheet_write(const struct directive *d, enum sheet_paper paper,
    const char *path, char *err, size_t errlen);
/* The same sheet written to out (gatewayd-web's download); 0 or -1. */
int sheet_write_stream(const struct directive *d, enum sheet_paper paper,
    FILE *out, char *err, size_t errlen);
/* Write a separator sheet to path; 0, or -1 with a reason in err. */
int sheet_write_separator(enum sheet_paper paper, const char *path,
    char *err, size_t errlen);
/* The same written to out (gatewayd-web's download); 0 or -1. */
int sheet_write_separator_stream(enum sheet_paper paper, FILE *out,
    char *err, size_t errlen);

#endif

/*
 * sheet.h - printable routing sheets for directives (one-page PDF)
 *
 * The page carries the directive's title, owner and expiry, its
 * recipients in human-readable form, the token "ED:<id>" in large text
 * (what the body recogniser finds in OCR'd text) and the bare ID as a QR
 * code (for a barcode recogniser).  PDF by libharu, QR by libqrencode.
 */
#ifndef GW_SHEET_H
#define GW_SHEET_H

#include <stddef.h>

struct directive;

/* Write the sheet of d to path; 0, or -1 with a reason in err. */
int sheet_write(const struct directive *d, const char *path, char *err,
    size_t errlen);

#endif

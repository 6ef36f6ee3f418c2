/*
 * rfc2047.h - decode the encoded-words of a header value to UTF-8
 *
 * "=?charset?B?...?=" and "=?charset?Q?...?=" (RFC 2047, with RFC 2231's
 * "*language" ignored) anywhere in the value, as mail clients write them
 * in unstructured headers and display names; whitespace between two
 * adjacent encoded-words is dropped.  UTF-8, US-ASCII, ISO-8859-1 and
 * windows-1252 are converted here; other charsets through iconv(3), where
 * the process can still load its modules (a word that cannot be converted
 * is left as it was).  Control characters that decoding produces become
 * spaces.  Bounded: the output is at most RFC2047_GROWTH times the input.
 * No logging, no global state beyond iconv's own.
 */
#ifndef GW_RFC2047_H
#define GW_RFC2047_H

#include <stddef.h>

#define RFC2047_GROWTH	4

/* The decoded value (malloc'd), or NULL when it has no encoded-word. */
char *rfc2047_decode(const char *value);

#endif

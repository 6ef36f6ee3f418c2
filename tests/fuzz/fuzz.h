/*
 * fuzz.h - the one entry point every fuzz target defines
 *
 * Built two ways: with clang and libFuzzer by tests/fuzz/fuzz.sh (make
 * fuzz), and with the normal compiler plus regress_main.c, which replays
 * the seed corpus and the saved crash inputs in make check.
 */
#ifndef GW_FUZZ_H
#define GW_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif

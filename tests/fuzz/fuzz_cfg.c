/*
 * fuzz_cfg.c - fuzz target: the YAML configuration loader
 *
 * The input is a whole configuration file given to cfg_load_buffer().
 * A refused file must come with an error message; a loaded one is freed
 * (LeakSanitizer checks that nothing is left behind either way).
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "fuzz.h"

/* LLVMFuzzerTestOneInput - load one configuration text */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cfg *cfg;
	char err[1024], *buf;

	if ((buf = malloc(size ? size : 1)) == NULL)
		return 0;
	memcpy(buf, data, size);
	err[0] = '\0';
	cfg = cfg_load_buffer("fuzz.yaml", buf, size, err, sizeof(err));
	if (cfg == NULL && err[0] == '\0')
		abort();
	cfg_free(cfg);
	free(buf);
	return 0;
}

/*
 * control_proto.c - the answer lines of the control protocol
 * (control_proto.h), read alike by gatewayctl and gatewayd-web
 */
#include "config.h"

#include <stddef.h>

#include "control_proto.h"

/* control_errline - is line "E<code> <text>"? (control_proto.h) */
int
control_errline(const char *line, size_t len, int *code, size_t *text)
{
	size_t i;
	long c = 0;

	if (len < 3 || line[0] != 'E')
		return 0;
	for (i = 1; i < len && line[i] >= '0' && line[i] <= '9'; i++) {
		if (i > 3)
			return 0;	/* exit codes are below 256 */
		c = c * 10 + (line[i] - '0');
	}
	if (i == 1 || i >= len || line[i] != ' ')
		return 0;
	*code = (int)c;
	*text = i + 1;
	return 1;
}

/*
 * control.h - the control socket gatewayctl talks to
 */
#ifndef GW_CONTROL_H
#define GW_CONTROL_H

#include <sys/types.h>

struct event_base;
struct cfg;

/* Bind the socket (refusing to steal one in use); -1 with err. */
int control_listen(const char *path, const char *admin_group, char *err, size_t errlen);
/* Start accepting on the loop. */
void control_start(struct event_base *, int fd);
void control_stop(void);

#endif

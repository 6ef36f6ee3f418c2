/*
 * gatewayctl_directive.h - "gatewayctl directive ..." (gatewayctl(8))
 */
#ifndef GW_GATEWAYCTL_DIRECTIVE_H
#define GW_GATEWAYCTL_DIRECTIVE_H

struct ctl;

/*
 * Run "directive <command> ..." (argv[0] is "directive"): on the store
 * itself as root (or when the daemon is down), through the control socket
 * otherwise.  Returns a sysexits(3) exit code.
 */
int ctl_directive(struct ctl *, int argc, char **argv);

#endif

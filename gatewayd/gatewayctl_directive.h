/*
 * gatewayctl_directive.h - "gatewayctl directive ..." (gatewayctl(8))
 */
#ifndef GW_GATEWAYCTL_DIRECTIVE_H
#define GW_GATEWAYCTL_DIRECTIVE_H

/*
 * Run "directive <command> ..." (argv[0] is "directive") on the store of
 * the configuration file config.  Returns a sysexits(3) exit code.
 */
int ctl_directive(const char *config, int json, int argc, char **argv);

#endif

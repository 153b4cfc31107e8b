#pragma once
/* hawser-cni: hawser as a CNI 1.1 plugin of type "hawser" (bridge, veth, addresses, masquerade
 * and portMappings through hawser's net/ core), run by container runtimes with CNI_* in the
 * environment and the network configuration on stdin. Prints the result or the CNI error
 * JSON on stdout; returns the process's exit status (0, or 1 with an error). */
int cni_main(int argc, char **argv);

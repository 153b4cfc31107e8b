#pragma once

/* hawser-runtime: hawser installed under that name is an OCI runtime with runc's command line
 * (global --root, --log, --log-format; spec, features, create, start, state, kill, delete,
 * run, pause, resume, ps, list), so dockerd, containerd's shim or buildah can run their
 * containers with hawser's launcher. Returns the process's exit code. */
int oci_main(int argc, char **argv);

#!/usr/bin/env bats
# Moving images between hawser and Docker both ways. Needs a working Docker daemon on the
# machine (docker info); skipped otherwise, so the suite passes without Docker.

load helpers

setup_file() {
    setup_busybox
}

docker_ok() {
    command -v docker >/dev/null 2>&1 && timeout 10 docker info >/dev/null 2>&1
}

@test "hawser save output loads into Docker and runs" {
    docker_ok || skip "no working Docker daemon"
    h tag busybox:latest hawser-interop/busybox:1
    h save -o "$BATS_TEST_TMPDIR/img.tar" hawser-interop/busybox:1
    run docker load -i "$BATS_TEST_TMPDIR/img.tar"
    assert_success
    run docker run --rm --network none hawser-interop/busybox:1 echo from-docker
    assert_output "from-docker"
    docker rmi -f hawser-interop/busybox:1 >/dev/null 2>&1 || true
}

@test "docker save output loads into hawser and runs" {
    docker_ok || skip "no working Docker daemon"
    docker import "$HAWSER_TEST_IMAGE_TAR" hawser-interop/fromdocker:1 >/dev/null
    docker save -o "$BATS_TEST_TMPDIR/d.tar" hawser-interop/fromdocker:1
    run h load -i "$BATS_TEST_TMPDIR/d.tar"
    assert_success
    assert_output_contains "hawser-interop/fromdocker:1"
    run h run --rm --network none hawser-interop/fromdocker:1 echo from-hawser
    assert_output "from-hawser"
    docker rmi -f hawser-interop/fromdocker:1 >/dev/null 2>&1 || true
}

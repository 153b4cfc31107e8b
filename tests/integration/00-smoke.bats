#!/usr/bin/env bats
# Smoke tests: the binary runs and speaks Docker's output formats. They use a
# fresh, empty --root (each bats file gets its own sandbox), so nothing is
# imported here.

load helpers

@test "hawser --version prints 'hawser version ...'" {
    run h --version
    assert_success
    [[ "${lines[0]:-}" == "hawser version "* ]] ||
        fail "first line does not start with 'hawser version ': '${lines[0]:-}'"
}

@test "hawser images on an empty root prints Docker's header only" {
    run h images
    assert_success
    assert_line 0 "REPOSITORY   TAG       IMAGE ID   CREATED   SIZE"
    assert_line_count 1
}

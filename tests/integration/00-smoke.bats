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

@test "--help on a command prints its usage and options, exits 0 and runs nothing" {
    local c
    for c in ps run exec images logs rm "network ls" "volume create" commit save "image prune"; do
        # shellcheck disable=SC2086  # "network ls" is two words
        run h $c --help
        assert_success
        assert_output_contains "Usage:  hawser $c [OPTIONS]"
        assert_output_contains "Options:"
    done
    run h run --help
    assert_output_contains "--network string"
    assert_output_contains "-e, --env list"
    run h network --help
    assert_success
    assert_output_contains "Usage:  hawser network COMMAND"
    # --help among run's flags: nothing is created or run.
    HAWSER_ROOT=$BATS_TEST_TMPDIR/r run h run --rm --help busybox echo RAN
    assert_success
    refute_output_contains "RAN"
    run h ps -aq
    assert_output ""
    # After the image, --help belongs to the container's command.
    setup_busybox
    run h run --rm --network none busybox echo --help
    assert_output "--help"
}

@test "usage errors exit as Docker's CLI: a bad flag 125, a wrong argument count 1" {
    run h ps --bogus
    assert_status 125
    assert_output_contains "unknown flag: --bogus"
    run h logs --tail
    assert_status 125
    run h rename onlyone
    assert_status 1
    run h run
    assert_status 1
    assert_output_contains '"hawser run" requires at least 1 argument.'
}

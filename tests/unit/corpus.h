/* Replays a libFuzzer corpus (tests/fuzz/corpus/NAME/) through the fuzz target the unit test
 * includes, so `make unit` and the ASan build keep every input found by `make fuzz` as a
 * regression input without clang. Header-only: include it after cmocka.h and after the fuzz
 * target's .c file. */
#pragma once
#include <dirent.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/base/cleanup.h"
#include "core/base/fs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Finds the corpus dir rel from the working directory (the repo root for tests/run.sh) or
 * relative to the binary (BUILD/tests/X). */
static inline DIR *corpus_open(const char *rel, char *path, size_t size)
{
        char exe[PATH_MAX];
        ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
        DIR *d = opendir(rel);

        if (d) {
                snprintf(path, size, "%s", rel);
                return d;
        }
        if (n <= 0)
                return NULL;
        exe[n] = '\0';
        for (int up = 0; up < 3; up++) {
                char *slash = strrchr(exe, '/');
                if (!slash)
                        return NULL;
                *slash = '\0';
        }
        if (snprintf(path, size, "%s/%s", exe, rel) >= (int)size)
                return NULL;
        return opendir(path);
}

/* Feeds every file of the corpus to the target, which must return 0; at least one file. */
static inline void corpus_replay(const char *rel)
{
        char dir[PATH_MAX * 2];
        _cleanup_closedir_ DIR *d = corpus_open(rel, dir, sizeof(dir));
        struct dirent *de;
        unsigned replayed = 0;

        assert_non_null(d);
        while ((de = readdir(d))) {
                _cleanup_free_ char *data = NULL;
                char path[PATH_MAX * 3];
                struct err err = {0};
                size_t len;
                if (de->d_name[0] == '.')
                        continue;
                snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
                assert_int_equal(fs_read_file(path, &data, &len, &err), 0);
                assert_int_equal(LLVMFuzzerTestOneInput((const uint8_t *)data, len), 0);
                replayed++;
        }
        print_message("replayed %u corpus files from %s\n", replayed, dir);
        assert_true(replayed > 0);
}

#pragma once
#include "core/base/err.h"

/* Brings the loopback interface up in the calling process's network namespace. */
int net_loopback_up(struct err *err);

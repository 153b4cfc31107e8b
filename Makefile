# hawser: one static archive per folder; tests link only what their layer may use.
PREFIX  ?= /usr/local
SYSTEMDUNITDIR ?= $(PREFIX)/lib/systemd/system
CC      ?= cc
BUILD   ?= build
PKGS    := libnl-3.0 libnl-route-3.0 libmnl libnftnl libcap libarchive json-c libseccomp libcrypto
WARN    := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wformat=2 \
           -Wswitch-enum -Wno-format-nonliteral
CFLAGS  ?= -O2 -g
# libcurl: headers only; core/registry/http.c loads it on first use (pull, push, login).
override CFLAGS += -std=gnu11 -D_GNU_SOURCE $(WARN) -I. $(shell pkg-config --cflags $(PKGS) libcurl 2>/dev/null)
LDLIBS  := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
# libyaml: headers only; core/compose/yaml.c loads it on first use (compose files).
override CFLAGS += $(shell pkg-config --cflags yaml-0.1 2>/dev/null)
# The binary loads libarchive and libcrypto on first use (core/layer.c, core/base/sha256.c);
# tests link them for their fixtures. The others are linked in statically (libmnl has no
# static archive in Debian; libc stays shared): one start execs hawser once and forks it
# twice, and every shared library costs page faults in each of those processes, ~20 us each
# on this kind of VM (`hawser --version`: 122 faults shared, 79 static; README, Performance).
STATIC_PKGS := libnl-route-3.0 libnl-3.0 libnftnl libcap json-c libseccomp
BIN_LDLIBS := -Wl,-Bstatic $(shell pkg-config --libs-only-l $(STATIC_PKGS) 2>/dev/null) \
              -Wl,-Bdynamic $(shell pkg-config --libs libmnl 2>/dev/null) -lpthread -lm -ldl
SAN     ?=

# Debian packages, by what needs them. make demo installs DEMO_PKGS only: building and running
# hawser. make check adds the test tools and the peers the tests compare hawser with; make
# bench adds the benchmark tools (tests/bench/run.sh installs iperf3 and dnsperf itself).
BUILD_PKGS := build-essential pkg-config libnl-3-dev libnl-route-3-dev libmnl-dev libnftnl-dev \
              libcap-dev libarchive-dev libjson-c-dev libseccomp-dev libssl-dev libcurl4-openssl-dev
# libyaml: compose files (core/compose/yaml.c loads libyaml-0.so.2 on first use).
BUILD_PKGS += libyaml-dev
DEMO_PKGS  := $(BUILD_PKGS) busybox-static iproute2 util-linux docker-registry
# docker.io: tests/integration/96-docker-interop.bats runs its own dockerd in the sandbox to
# move images between hawser and Docker both ways; hawser itself never needs it.
# docker-registry, skopeo, apache2-utils (htpasswd), openssl: tests/integration/97-registry.bats
# runs real registries (plain, htpasswd + TLS, Bearer token) on loopback in its sandbox.
CHECK_PKGS := $(DEMO_PKGS) libcmocka-dev bats clang-format jq nftables procps zstd xz-utils \
              bzip2 gzip python3 perl docker.io docker-registry skopeo apache2-utils openssl curl \
              containernetworking-plugins containerd buildah podman
BENCH_PKGS := $(DEMO_PKGS) hyperfine docker-registry skopeo curl jq buildah runc docker.io docker-compose \
              containerd crun

BASE_SRC := $(wildcard core/base/*.c)
NET_SRC  := $(wildcard net/*.c)
DNS_SRC  := $(wildcard dns/*.c)
CORE_SRC := $(filter-out core/main.c,$(wildcard core/*.c)) $(wildcard core/network/*.c) \
            $(wildcard core/registry/*.c) $(wildcard core/build/*.c)
UNIT_SRC := $(wildcard tests/unit/*.c)
# core/compose/: the compose files' YAML, interpolation and .env; it includes only core/base/.
COMPOSE_SRC := $(wildcard core/compose/*.c)
CORE_SRC += $(COMPOSE_SRC)
# core/compose/cmd/: `hawser compose`, on the model and on the rest of core/.
CORE_SRC += $(wildcard core/compose/cmd/*.c)
CORE_SRC += $(wildcard core/oci/*.c)
CORE_SRC += $(wildcard core/cni/*.c)

obj = $(patsubst %.c,$(BUILD)/%.o,$(1))
LIBBASE := $(BUILD)/libbase.a
LIBNET  := $(BUILD)/libnet.a
LIBDNS  := $(BUILD)/libdns.a
LIBCORE := $(BUILD)/libcore.a
LIBCOMPOSE := $(BUILD)/libcompose.a
UNIT_BIN := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))

.PHONY: all install check check-tests check-layers check-options unit integration demo bench format format-check clean asan
.PHONY: parity check-parity

all: $(BUILD)/hawser

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(SAN) -MMD -MP -c $< -o $@

$(LIBBASE): $(call obj,$(BASE_SRC))
$(LIBNET): $(call obj,$(NET_SRC))
$(LIBDNS): $(call obj,$(DNS_SRC))
$(LIBCORE): $(call obj,$(CORE_SRC))
$(LIBCOMPOSE): $(call obj,$(COMPOSE_SRC))
$(BUILD)/lib%.a:
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/hawser: $(call obj,core/main.c) $(LIBCORE) $(LIBDNS) $(LIBNET) $(LIBBASE)
	$(CC) $(CFLAGS) $(SAN) -o $@ $^ $(BIN_LDLIBS)

# Layering is enforced at link time: base_* tests see only libbase, net_* libnet+libbase,
# dns_* libdns+libbase, core_* everything.
$(BUILD)/tests/base_%: tests/unit/base_%.c $(LIBBASE)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(SAN) -MMD -MP -o $@ $< $(filter %.a,$^) -lcmocka $(LDLIBS)
$(BUILD)/tests/net_%: tests/unit/net_%.c $(LIBNET) $(LIBBASE)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(SAN) -MMD -MP -o $@ $< $(filter %.a,$^) -lcmocka $(LDLIBS)
$(BUILD)/tests/dns_%: tests/unit/dns_%.c $(LIBDNS) $(LIBBASE)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(SAN) -MMD -MP -o $@ $< $(filter %.a,$^) -lcmocka $(LDLIBS)
$(BUILD)/tests/core_%: tests/unit/core_%.c $(LIBCORE) $(LIBDNS) $(LIBNET) $(LIBBASE)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(SAN) -MMD -MP -o $@ $< $(filter %.a,$^) -lcmocka $(LDLIBS)
# core/compose/ sits on core/base/ alone: its test links only those two and json-c (libyaml
# is loaded at run time).
# (core_compose and core_compose_project: the shorter stem wins over core_%.)
$(BUILD)/tests/core_compose%: tests/unit/core_compose%.c $(LIBCOMPOSE) $(LIBBASE)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(SAN) -MMD -MP -o $@ $< $(filter %.a,$^) -lcmocka \
		$(shell pkg-config --libs json-c 2>/dev/null) -ldl -lpthread -lm

# hawser-restart.service: at boot, start --restart-policy-all (README "Restart policies").
install: $(BUILD)/hawser
	install -D -m 0755 $(BUILD)/hawser $(DESTDIR)$(PREFIX)/bin/hawser
	ln -sf hawser $(DESTDIR)$(PREFIX)/bin/hawser-cni
	ln -sf hawser $(DESTDIR)$(PREFIX)/bin/hawser-runtime
	@mkdir -p $(DESTDIR)$(SYSTEMDUNITDIR)
	sed 's|@BINDIR@|$(PREFIX)/bin|' contrib/systemd/hawser-restart.service.in \
		> $(DESTDIR)$(SYSTEMDUNITDIR)/hawser-restart.service

# install-pkgs PACKAGES: apt-get installs those not installed yet.
define install-pkgs
	@missing=""; for p in $(1); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "make $@: installing$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi
endef

.PHONY: deps deps-demo deps-bench
deps:
	$(call install-pkgs,$(CHECK_PKGS))
deps-demo:
	$(call install-pkgs,$(DEMO_PKGS))
deps-bench:
	$(call install-pkgs,$(BENCH_PKGS))

unit: $(UNIT_BIN)

ASAN_FLAGS := BUILD=build-asan SAN="-fsanitize=address,undefined -fno-omit-frame-pointer" CFLAGS="-O1 -g"

check: deps
	$(MAKE) format-check check-tests check-layers check-options
	$(MAKE) all unit
	$(MAKE) check-parity
	$(MAKE) $(ASAN_FLAGS) unit
	BUILD=$(BUILD) ASAN_BUILD=build-asan tests/run.sh

asan: deps
	$(MAKE) $(ASAN_FLAGS) unit
	BUILD=build-asan tests/run.sh --unit-only

demo: deps-demo
	$(MAKE) all
	tests/demo.sh

bench: deps-bench
	$(MAKE) all
	tests/bench/run.sh

# Rules a grep can hold: unit tests fork through test_fork() (tests/unit/testkit.h), so a
# child never runs on inside cmocka's runner.
check-tests:
	@if grep -nE '(^|[^_[:alnum:]])fork[[:space:]]*\(' $(UNIT_SRC); then \
		echo "check-tests: unit tests fork with test_fork() from tests/unit/testkit.h"; exit 1; \
	fi

# The include rules of DEVELOPERS.md ("Layers"): the stores include nothing above core/base,
# and no include cycle between modules.
check-layers:
	tests/lint/check-layers.sh

# Every option of every command is read somewhere: no flag parsed and then ignored.
check-options:
	tests/lint/check-options.sh

# docs/parity.md: every Docker command and flag (Docker 28.2's --help, captured in
# docs/docker-help/) against what the built hawser's --help lists. make parity rewrites it;
# check-parity, in make check once the binary is built, fails when the committed one is stale.
parity: $(BUILD)/hawser
	tests/lint/parity.sh $(BUILD)/hawser

check-parity: $(BUILD)/hawser
	tests/lint/parity.sh --check $(BUILD)/hawser

format:
	clang-format -i $(BASE_SRC) $(NET_SRC) $(DNS_SRC) $(CORE_SRC) core/main.c $(wildcard core/*.h core/network/*.h core/base/*.h net/*.h dns/*.h) $(UNIT_SRC)

# core/compose/'s headers (its sources are in CORE_SRC).
format: format-compose
format-check: format-check-compose
.PHONY: format-compose format-check-compose
format-compose:
	clang-format -i $(wildcard core/compose/*.h core/compose/cmd/*.h)
format-check-compose:
	clang-format --dry-run --Werror $(wildcard core/compose/*.h core/compose/cmd/*.h)

format-check:
	clang-format --dry-run --Werror $(BASE_SRC) $(NET_SRC) $(DNS_SRC) $(CORE_SRC) core/main.c $(wildcard core/*.h core/network/*.h core/base/*.h net/*.h dns/*.h) $(UNIT_SRC)

# libFuzzer, FUZZ_TIME seconds per target: the DNS wire parser (dns_packet), container state
# documents (state_doc) and the parsers listed below. New inputs go to a scratch dir first; only
# those that add coverage are merged into tests/fuzz/corpus/TARGET/, which the unit tests replay.
FUZZ_CC      ?= clang
FUZZ_TIME    ?= 60
FUZZ_TARGETS := dns_packet state_doc
FUZZ_FLAGS    = -std=gnu11 -D_GNU_SOURCE -I. -I/usr/include/json-c -g -O1 $(WARN) \
		-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
fuzz_src_dns_packet := dns/packet.c
fuzz_src_state_doc  := core/statedoc.c $(BASE_SRC)
fuzz_lib_state_doc  := -ljson-c -ldl
# compose_file: core/compose/ (YAML over libyaml, interpolation, .env).
FUZZ_TARGETS += compose_file
fuzz_src_compose_file := $(COMPOSE_SRC) $(BASE_SRC)
fuzz_lib_compose_file := -ljson-c -ldl -lm
# cni_conf: the CNI plugin's network configuration (core/cni/conf.c) and the pure functions
# that read it (core/cni/dns.c, ports.c, which need net/ and dns/ to link, not to run).
FUZZ_TARGETS += cni_conf
fuzz_src_cni_conf := $(addprefix core/cni/,conf.c dns.c ports.c) $(DNS_SRC) $(NET_SRC) $(BASE_SRC)
fuzz_lib_cni_conf := $(shell pkg-config --cflags --libs libnl-route-3.0 libnl-3.0 libmnl libnftnl \
		json-c 2>/dev/null) -ldl -lpthread
# oci_config: the OCI runtime's config.json (core/oci/config.c) and what the launch plan links.
FUZZ_TARGETS += oci_config
fuzz_src_oci_config := core/oci/config.c $(addprefix core/,caps.c cgroup.c devfilter.c devices.c \
		launch.c secprof.c secprof_json.c user.c) $(NET_SRC) $(BASE_SRC)
fuzz_lib_oci_config := $(shell pkg-config --cflags --libs libnl-route-3.0 libnl-3.0 libmnl \
		libnftnl libcap libseccomp json-c 2>/dev/null) -ldl -lpthread

.SECONDEXPANSION:
$(BUILD)/fuzz/%: tests/fuzz/%_fuzz.c $$(fuzz_src_$$*)
	@command -v $(FUZZ_CC) >/dev/null || { echo "make fuzz: $(FUZZ_CC) not found (apt-get install clang)"; exit 1; }
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $^ $(fuzz_lib_$*)

.PHONY: fuzz
fuzz: $(addprefix $(BUILD)/fuzz/,$(FUZZ_TARGETS))
	@for t in $(FUZZ_TARGETS); do \
		rm -rf $(BUILD)/fuzz/new && mkdir -p $(BUILD)/fuzz/new tests/fuzz/corpus/$$t && \
		$(BUILD)/fuzz/$$t -max_total_time=$(FUZZ_TIME) -max_len=2048 -timeout=10 \
			-print_final_stats=1 -artifact_prefix=$(BUILD)/fuzz/ $(BUILD)/fuzz/new \
			tests/fuzz/corpus/$$t && \
		$(BUILD)/fuzz/$$t -merge=1 -artifact_prefix=$(BUILD)/fuzz/ tests/fuzz/corpus/$$t \
			$(BUILD)/fuzz/new && \
		echo "make fuzz: corpus tests/fuzz/corpus/$$t now holds $$(ls tests/fuzz/corpus/$$t | wc -l) inputs" \
		|| exit 1; \
	done

clean:
	rm -rf build build-asan

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

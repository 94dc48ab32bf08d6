# persistence_exporter - build, test, demo, bench.
# `make test` and `make run` install their own Debian dependencies first.

CC       ?= cc
PREFIX   ?= /usr/local
VERSION  := $(shell cat VERSION 2>/dev/null || echo 0.0.0)
# REVISION may come from the environment (deploy/build-deb.sh builds a copy without .git).
ifeq ($(origin REVISION),undefined)
REVISION := $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
endif
PKGS     := libmicrohttpd libcurl libcjson yaml-0.1 zlib libssl libcrypto gnutls
B        ?= build

WARN := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wformat=2 \
        -Wwrite-strings -Wno-missing-field-initializers
ifeq ($(WERROR),1)
WARN += -Werror
endif
OPT      ?= -O2 -g
CFLAGS_ALL = -std=c11 -D_GNU_SOURCE $(CPPFLAGS) $(OPT) $(WARN) $(EXTRA_CFLAGS) \
             $(shell pkg-config --cflags $(PKGS) 2>/dev/null) \
             -DPE_VERSION='"$(VERSION)"' -DPE_REVISION='"$(REVISION)"'
LDLIBS_ALL = $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lcrypt -lpthread -lm
CHECK_LIBS = $(shell pkg-config --libs check 2>/dev/null || echo -lcheck -lsubunit -lrt)
# persistencectl only (restore drills check .zst archives): the daemon does not link it.
CTL_LIBS   = $(shell pkg-config --libs libzstd 2>/dev/null || echo -lzstd)

# exporter/*.c is the daemon's library (libpe.a); exporter/ctl/ holds the persistencectl commands (libctl.a).
MAINS    := exporter/main.c exporter/ctl/main.c
HDRS     := $(wildcard exporter/*.h exporter/ctl/*.h)
LIB_SRC  := $(filter-out $(MAINS),$(wildcard exporter/*.c))
LIB_OBJ  := $(LIB_SRC:exporter/%.c=$(B)/obj/%.o) $(B)/obj/runbook_data.o
RUNBOOKS := $(sort $(wildcard docs/runbooks/*.md))
CTL_SRC  := $(filter-out $(MAINS),$(wildcard exporter/ctl/*.c))
CTL_OBJ  := $(CTL_SRC:exporter/%.c=$(B)/obj/%.o)
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(B)/tests/%)
BINS     := $(B)/persistence_exporter $(B)/persistencectl
FUSEFS   := $(B)/tests/hangfs
INC      := -Iexporter -Iexporter/ctl

.PHONY: all deps test unit integration rules asan valgrind lint format run bench soak fuzz fuzz-replay install \
        deb deb-test clean
all: $(BINS)

deps:
	@./deploy/install-deps.sh

$(B)/obj/%.o: exporter/%.c $(HDRS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) $(INC) -c -o $@ $<

# The runbooks are compiled in (served at /runbooks/<Alert>): no install path to get wrong.
$(B)/gen/runbook_data.c: tools/embed_runbooks.py $(RUNBOOKS) | $(B)/gen
	python3 tools/embed_runbooks.py $@ $(RUNBOOKS)

$(B)/obj/runbook_data.o: $(B)/gen/runbook_data.c exporter/runbook.h
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) -Iexporter -c -o $@ $<

$(B)/libpe.a: $(LIB_OBJ)
	rm -f $@ && ar rcs $@ $^

$(B)/libctl.a: $(CTL_OBJ)
	rm -f $@ && ar rcs $@ $^

$(B)/persistence_exporter: $(B)/obj/main.o $(B)/libpe.a
	$(CC) $(CFLAGS_ALL) $(LDFLAGS) -o $@ $^ $(LDLIBS_ALL)

$(B)/persistencectl: $(B)/obj/ctl/main.o $(B)/libctl.a $(B)/libpe.a
	$(CC) $(CFLAGS_ALL) $(LDFLAGS) -o $@ $^ $(LDLIBS_ALL) $(CTL_LIBS)

$(B)/tests/%: tests/unit/%.c tests/unit/*.h $(B)/libctl.a $(B)/libpe.a | $(B)/tests
	$(CC) $(CFLAGS_ALL) $(INC) -o $@ $< $(B)/libctl.a $(B)/libpe.a $(LDLIBS_ALL) $(CTL_LIBS) $(CHECK_LIBS)

$(FUSEFS): tests/fuse/hangfs.c | $(B)/tests
	$(CC) -std=c11 -D_GNU_SOURCE -O2 -g $(WARN) $$(pkg-config --cflags fuse3) -o $@ $< $$(pkg-config --libs fuse3) -lpthread

$(B)/tests $(B)/gen:
	mkdir -p $@

# Unit tests (Check). CK_FORK=no keeps LeakSanitizer meaningful under `make asan`.
unit: $(UNIT_BIN)
	@fail=0; for t in $(UNIT_BIN); do \
		echo "== $$t"; CK_FORK=no SRCDIR=$(CURDIR) $$t || fail=1; \
	done; exit $$fail

integration: all $(FUSEFS)
	PE_BUILD=$(CURDIR)/$(B) python3 tests/integration/run.py

# Sanitizer build in its own tree: unit tests, then the integration suite on the ASan binaries.
asan:
	$(MAKE) B=build/asan OPT="-O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined" unit integration

# ---- Fuzzing (tests/fuzz, docs/security.md) ----
# fuzz: clang + libFuzzer, each harness for FUZZ_SECONDS on its corpus (new inputs go to tests/fuzz/out/).
# fuzz-replay: the same harnesses built with $(CC) as plain programs under ASan/UBSan, replaying
# tests/fuzz/corpus/<target>/ and tests/fuzz/crashes/<target>/; part of `make test`.
FUZZ_NAMES   := $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_SECONDS ?= 30
ASAN_OPT     := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined

$(B)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/*.h $(B)/libctl.a $(B)/libpe.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) $(FUZZ_LINK) $(INC) -Itests/fuzz -o $@ $< $(B)/libctl.a $(B)/libpe.a $(LDLIBS_ALL) $(CTL_LIBS)

fuzz-replay:
	$(MAKE) B=build/asan OPT="$(ASAN_OPT)" $(FUZZ_NAMES:%=build/asan/fuzz/fuzz_%)
	@fail=0; for t in $(FUZZ_NAMES); do \
		build/asan/fuzz/fuzz_$$t tests/fuzz/corpus/$$t tests/fuzz/crashes/$$t || fail=1; \
	done; exit $$fail

fuzz:
	$(MAKE) B=build/fuzz CC=clang OPT="-O1 -g -fno-omit-frame-pointer -fsanitize=fuzzer-no-link,address,undefined" \
		FUZZ_LINK="-fsanitize=fuzzer -DFUZZ_LIBFUZZER" $(FUZZ_NAMES:%=build/fuzz/fuzz/fuzz_%)
	FUZZ_SECONDS=$(FUZZ_SECONDS) tests/fuzz/run.sh $(FUZZ_NAMES)

# The man-page check runs the built binaries' --help (every flag and subcommand documented).
lint: all
	@tests/lint.sh
	@tests/man/check.sh $(B)

# Alert rules: promtool check + unit tests (incl. the incident replay) + the record-and-replay
# test of the real exporter against the simulator (tests/rules/replay.py) + runbook coverage.
rules: all
	PE_BUILD=$(CURDIR)/$(B) bash tests/rules/run.sh

format:
	clang-format -i exporter/*.[ch] exporter/*/*.[ch] tests/unit/*.[ch] tests/fuse/*.c

test: deps
	$(MAKE) all
	$(MAKE) lint
	$(MAKE) rules
	$(MAKE) unit
	$(MAKE) fuzz-replay
	$(MAKE) integration
	$(MAKE) asan
	$(MAKE) valgrind
	$(MAKE) deb-test
	@echo "make test: all suites passed"

# SCENARIO=seed shows the seed incident alone (17/20); default: restore (the incident plus unrestorable backups).
run: deps all
	python3 deploy/demo/run.py $(if $(SCENARIO),--scenario=$(SCENARIO))

bench: deps all
	python3 tests/bench/bench.py
	python3 tests/bench/report_bench.py

# memcheck on a short integration run with faults: no leak, no invalid access.
valgrind: all
	bash tests/soak/valgrind.sh $(B)

soak: deps all $(FUSEFS)
	python3 tests/soak/soak.py

# ---- Install: the one path of source users and the Debian package (docs/packaging.md) ----
# make install [PREFIX=/usr/local] [DESTDIR=stage]: binaries, man pages, the systemd unit (ExecStart
# in $(PREFIX)/bin), rules, dashboards and runbooks in $(DATADIR), docs and examples in $(DOCDIR);
# /etc/persistence_exporter/config.yml (every source commented out) and
# /etc/default/persistence_exporter only where they do not exist yet: an admin's files are kept.
# It creates no user (see deploy/README-systemd.md; the package does that).
SYSCONFDIR ?= /etc
DATADIR    ?= $(PREFIX)/share/persistence-exporter
DOCDIR     ?= $(PREFIX)/share/doc/persistence-exporter
MANDIR     ?= $(PREFIX)/share/man
UNITDIR    ?= $(if $(filter /usr,$(PREFIX)),,$(PREFIX))/lib/systemd/system
ETCDIR     := $(DESTDIR)$(SYSCONFDIR)/persistence_exporter

$(B)/config.shipped.yml: deploy/config.example.yml deploy/config-shipped.awk
	@mkdir -p $(@D)
	awk -f deploy/config-shipped.awk deploy/config.example.yml > $@

install: all $(B)/config.shipped.yml
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man8 \
		$(DESTDIR)$(UNITDIR) $(ETCDIR) $(DESTDIR)$(SYSCONFDIR)/default \
		$(DESTDIR)$(DATADIR)/rules $(DESTDIR)$(DATADIR)/dashboards $(DESTDIR)$(DATADIR)/runbooks \
		$(DESTDIR)$(DOCDIR)/examples/grafana/provisioning/dashboards \
		$(DESTDIR)$(DOCDIR)/examples/grafana/provisioning/datasources
	install -m 0755 $(BINS) $(DESTDIR)$(PREFIX)/bin/
	install -m 0644 docs/man/persistence_exporter.1 $(DESTDIR)$(MANDIR)/man1/
	install -m 0644 docs/man/persistencectl.8 $(DESTDIR)$(MANDIR)/man8/
	sed 's|/usr/local/bin/|$(PREFIX)/bin/|g' deploy/persistence_exporter.service \
		> $(DESTDIR)$(UNITDIR)/persistence_exporter.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/persistence_exporter.service
	install -m 0644 rules/*.rules.yml $(DESTDIR)$(DATADIR)/rules/
	install -m 0644 dashboards/*.json $(DESTDIR)$(DATADIR)/dashboards/
	install -m 0644 docs/runbooks/*.md $(DESTDIR)$(DATADIR)/runbooks/
	install -m 0644 README.md docs/*.md $(DESTDIR)$(DOCDIR)/
	install -m 0644 deploy/README-systemd.md deploy/config.example.yml deploy/web-config.example.yml \
		deploy/prometheus/prometheus-snippet.yml deploy/alertmanager/alertmanager-example.yml \
		$(DESTDIR)$(DOCDIR)/examples/
	for f in persistence-restore-drill.service persistence-restore-drill.timer persistence-restore-drill.env; do \
		sed 's|/usr/local/bin/|$(PREFIX)/bin/|g' deploy/$$f > $(DESTDIR)$(DOCDIR)/examples/$$f || exit 1; \
		chmod 0644 $(DESTDIR)$(DOCDIR)/examples/$$f; done
	install -m 0644 deploy/grafana/README.md $(DESTDIR)$(DOCDIR)/examples/grafana/
	for d in dashboards datasources; do install -m 0644 deploy/grafana/provisioning/$$d/*.yml \
		$(DESTDIR)$(DOCDIR)/examples/grafana/provisioning/$$d/ || exit 1; done
	@if [ -e $(ETCDIR)/config.yml ]; then echo "install: keeping $(ETCDIR)/config.yml"; \
	else install -m 0644 $(B)/config.shipped.yml $(ETCDIR)/config.yml; fi
	@if [ -e $(DESTDIR)$(SYSCONFDIR)/default/persistence_exporter ]; then \
		echo "install: keeping $(DESTDIR)$(SYSCONFDIR)/default/persistence_exporter"; \
	else install -m 0644 deploy/persistence_exporter.default $(DESTDIR)$(SYSCONFDIR)/default/persistence_exporter; fi

# ---- Debian package (debian/, docs/packaging.md) ----
# deb: $(B)/deb/persistence-exporter_<version>_<arch>.deb and the source package, built with
# dpkg-buildpackage from a copy of the tree, then lintian (fails on warnings).
# deb-test: the install test in a fresh debootstrap'd Debian root (tests/deb/install_test.py).
deb:
	deploy/build-deb.sh $(B)/deb

deb-test: deps
	python3 tests/deb/install_test.py --build $(B)

clean:
	rm -rf build

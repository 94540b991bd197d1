# hookd build. `make` builds build/hookd; `make SAN=1` builds an ASan+UBSan
# variant into build-san/. `make test` runs unit, end-to-end and browser tests
# against the binary of the chosen variant, the store's tests and the
# end-to-end suite against both backends (SQLite, then PostgreSQL in a
# throwaway cluster: scripts/with_pg.sh).

SAN ?= 0
CC ?= cc
PKGS := libmicrohttpd libcurl jansson sqlite3 libcrypto liblz4 libpq

ifeq ($(SAN),1)
BUILD ?= build-san
OPT := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
else
BUILD ?= build
OPT := -O2 -g
endif

WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wformat=2 -Wno-format-nonliteral
CFLAGS_ALL := -std=c11 -D_GNU_SOURCE $(WARN) $(OPT) -Isrc -I$(BUILD)/gen \
	$(shell pkg-config --cflags $(PKGS)) $(CFLAGS)
LDLIBS_ALL := $(shell pkg-config --libs $(PKGS)) -lpthread -lm $(LDLIBS)
LDFLAGS_ALL := $(OPT) $(LDFLAGS)

SRC := $(filter-out src/main.c,$(wildcard src/*/*.c src/*.c))
GEN_CATALOG := $(BUILD)/gen/catalog_data.c
GEN_WEB := $(BUILD)/gen/web_assets.c
# The folder itself too: its time changes when a file is added or removed.
WEB_FILES := web $(wildcard web/*)
OBJ := $(patsubst src/%.c,$(BUILD)/obj/%.o,$(SRC)) $(BUILD)/obj/gen/catalog_data.o \
	$(BUILD)/obj/gen/web_assets.o
# the API's OpenAPI document, compiled in (see %/gen/openapi_assets.c below)
OBJ += $(BUILD)/obj/gen/openapi_assets.o
UNIT_SRC := $(wildcard tests/unit/*.c)
UNIT_OBJ := $(patsubst tests/unit/%.c,$(BUILD)/obj/tests/unit/%.o,$(UNIT_SRC))

.PHONY: all test test-suites unit e2e e2e-pg web-test clean format deps
all: $(BUILD)/hookd $(BUILD)/unit_tests

$(BUILD)/hookd: $(BUILD)/obj/main.o $(OBJ)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(LDLIBS_ALL)

$(BUILD)/unit_tests: $(UNIT_OBJ) $(OBJ)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(LDLIBS_ALL)

$(BUILD)/obj/%.o: src/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -MMD -MP -c -o $@ $<

$(BUILD)/obj/tests/unit/%.o: tests/unit/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -MMD -MP -c -o $@ $<

$(BUILD)/obj/gen/%.o: $(BUILD)/gen/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -MMD -MP -c -o $@ $<

# The activity/attribute catalog is data (data/catalog.tsv); the build turns it
# into a C table so ids are never scattered through code.
$(GEN_CATALOG): data/catalog.tsv scripts/gen_catalog.awk
	@mkdir -p $(dir $@)
	awk -f scripts/gen_catalog.awk data/catalog.tsv > $@.tmp && mv $@.tmp $@

# The operator page (web/) is served from the binary: every file becomes a C
# array with its media type and ETag (see src/api/web.h).
$(GEN_WEB): $(WEB_FILES) scripts/gen_web.sh
	@mkdir -p $(dir $@)
	sh scripts/gen_web.sh web > $@.tmp && mv $@.tmp $@

# The API's OpenAPI document (docs/openapi.json, the one copy) is served at
# GET /api/v1/openapi.json from the binary, turned into C by the page's
# generator (the file alone is copied into a folder of its own first). A
# pattern rule, so every build directory (SAN, fuzz, alloc-fail in
# mk/extra.mk) gets its own copy the same way.
%/gen/openapi_assets.c: docs/openapi.json scripts/gen_web.sh
	@mkdir -p $*/gen/openapi
	cp docs/openapi.json $*/gen/openapi/openapi.json
	sh scripts/gen_web.sh $*/gen/openapi hookd_openapi_asset > $@.tmp && mv $@.tmp $@
.SECONDARY: $(BUILD)/gen/openapi_assets.c

# Every suite inside one throwaway PostgreSQL cluster (scripts/with_pg.sh
# starts it, exports HOOKD_TEST_DATABASE_URL and stops it however the run
# ends; a HOOKD_TEST_DATABASE_URL already set is used instead): the unit
# tests, whose store conformance suite then runs against SQLite and
# PostgreSQL, the end-to-end suite against SQLite and against PostgreSQL,
# then the browser tests. The binaries are built before the cluster starts.
test: $(BUILD)/hookd $(BUILD)/unit_tests
	bash scripts/with_pg.sh $(MAKE) --no-print-directory test-suites

test-suites: unit e2e e2e-pg web-test

# Without HOOKD_TEST_DATABASE_URL the store suite's postgres tests are not
# run, and the summary line says so ("N NOT RUN") with the reason.
unit: $(BUILD)/unit_tests
	./$(BUILD)/unit_tests

# -rs: each skipped test with its reason in the summary. The suite runs in
# E2E_JOBS pytest-xdist workers: its tests mostly wait (on deliveries,
# timeouts, restarts), so two at a time roughly halve its wall time even on
# two cores. E2E_JOBS=0 runs it in one process (easier to read a failure).
E2E_JOBS ?= 2
# HOOKD_TEST_SANITIZED tells the few tests whose size is their point (the
# 100,000-row import) to run a smaller size under the sanitizers, which
# make the server 3-5 times slower; the plain build runs the full size.
E2E_PYTEST := HOOKD_TEST_SANITIZED=$(SAN) /usr/bin/python3 -m pytest -q -rs -p xdist -n $(E2E_JOBS)

e2e: $(BUILD)/hookd
	HOOKD_TEST_BACKEND=sqlite HOOKD_BIN=$(CURDIR)/$(BUILD)/hookd $(E2E_PYTEST) tests/e2e

# The end-to-end suite against PostgreSQL: a fresh database per server on
# the server of HOOKD_TEST_DATABASE_URL; the tests about the SQLite file
# alone are skipped, each with its reason.
e2e-pg: $(BUILD)/hookd
	@test -n "$$HOOKD_TEST_DATABASE_URL" || { echo "make e2e-pg: HOOKD_TEST_DATABASE_URL is" \
	    "not set: run bash scripts/with_pg.sh make e2e-pg (make test does)" >&2; exit 2; }
	HOOKD_TEST_BACKEND=postgres HOOKD_BIN=$(CURDIR)/$(BUILD)/hookd $(E2E_PYTEST) tests/e2e

# Browser tests of the operator page (tests/web/): playwright-core, from the
# committed lock file, drives Debian's chromium against the real binary.
# npm ci rewrites node_modules/.package-lock.json, so that file's time says
# when node_modules last matched the lock. Screenshots go to
# $(BUILD)/web-tests/<test>/.
NODE_STAMP := node_modules/.package-lock.json

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund

# tests/e2e/test_rotation.py verifies signatures with the standardwebhooks
# library, as receivers do.
e2e e2e-pg: $(NODE_STAMP)

web-test: $(BUILD)/hookd $(NODE_STAMP)
	HOOKD_BIN=$(CURDIR)/$(BUILD)/hookd WEB_TEST_OUT=$(CURDIR)/$(BUILD)/web-tests \
		node --test tests/web/

# The fault suite (tests/faults/run.py): the real binary killed, starved of
# disk, locked out of its store, its database restarted, its allocations
# failed, its receivers misbehaving; each scenario prints its figures (lost
# and stuck must be 0). `faults` is the full form, on SQLite then on
# PostgreSQL in a throwaway cluster; `faults-ci` the bounded form .ci/run
# runs. Both backends run even if the first fails; the target fails if either
# did. The allocation-failure driver comes from mk/extra.mk (alloc-fail).
FAULTS_RUN = HOOKD_BIN=$(CURDIR)/$(BUILD)/hookd /usr/bin/python3 tests/faults/run.py
.PHONY: faults faults-ci
faults faults-ci: $(BUILD)/hookd alloc-fail
	@status=0; bounded=$(if $(filter faults-ci,$@),--bounded); \
	$(FAULTS_RUN) $$bounded --backend sqlite || status=1; \
	bash scripts/with_pg.sh env $(FAULTS_RUN) $$bounded --backend postgres || status=1; \
	exit $$status

deps:
	bash scripts/deps.sh

format:
	clang-format -i src/*.c src/*/*.c src/*/*.h tests/unit/*.c tests/unit/*.h

clean:
	rm -rf build build-san

# ---- the man page, the option tables of the docs, install ----------------

# hookd.1 is written by the binary from the option and command tables
# (src/config.c, src/main.c, src/cli/help.c), like `hookd serve --help`, so
# it is never a hand copy.
all: $(BUILD)/hookd.1

$(BUILD)/hookd.1: $(BUILD)/hookd
	$(BUILD)/hookd help --man > $@.tmp && mv $@.tmp $@

# The tables of docs/configuration.md, from the same source
# (tests/e2e/test_help.py fails while they differ).
.PHONY: config-doc install uninstall
config-doc: $(BUILD)/hookd
	/usr/bin/python3 scripts/config_doc.py $(BUILD)/hookd docs/configuration.md

# `make install PREFIX=/usr DESTDIR=/tmp/stage`: the binary, the man page,
# and the systemd unit as an example in the doc folder, its ExecStart
# pointing at the installed binary (docs/configuration.md, "Running under
# systemd"); nothing is enabled.
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man
DOCDIR ?= $(PREFIX)/share/doc/hookd

install: $(BUILD)/hookd $(BUILD)/hookd.1
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(DOCDIR)
	install -m 0755 $(BUILD)/hookd $(DESTDIR)$(BINDIR)/hookd
	install -m 0644 $(BUILD)/hookd.1 $(DESTDIR)$(MANDIR)/man1/hookd.1
	sed 's|/usr/local/bin/hookd|$(BINDIR)/hookd|' dist/hookd.service > $(BUILD)/hookd.service
	install -m 0644 $(BUILD)/hookd.service $(DESTDIR)$(DOCDIR)/hookd.service

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/hookd $(DESTDIR)$(MANDIR)/man1/hookd.1 \
		$(DESTDIR)$(DOCDIR)/hookd.service
	-rmdir $(DESTDIR)$(DOCDIR)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

-include mk/extra.mk

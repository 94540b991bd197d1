# hookd build. `make` builds build/hookd; `make SAN=1` builds an ASan+UBSan
# variant into build-san/. `make test` runs unit, end-to-end and browser tests
# against the binary of the chosen variant.

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
UNIT_SRC := $(wildcard tests/unit/*.c)
UNIT_OBJ := $(patsubst tests/unit/%.c,$(BUILD)/obj/tests/unit/%.o,$(UNIT_SRC))

.PHONY: all test unit e2e web-test clean format deps
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

test: unit e2e web-test

unit: $(BUILD)/unit_tests
	./$(BUILD)/unit_tests

e2e: $(BUILD)/hookd
	HOOKD_BIN=$(CURDIR)/$(BUILD)/hookd /usr/bin/python3 -m pytest -q tests/e2e

# Browser tests of the operator page (tests/web/): playwright-core, from the
# committed lock file, drives Debian's chromium against the real binary.
# npm ci rewrites node_modules/.package-lock.json, so that file's time says
# when node_modules last matched the lock. Screenshots go to
# $(BUILD)/web-tests/<test>/.
NODE_STAMP := node_modules/.package-lock.json

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund

web-test: $(BUILD)/hookd $(NODE_STAMP)
	HOOKD_BIN=$(CURDIR)/$(BUILD)/hookd WEB_TEST_OUT=$(CURDIR)/$(BUILD)/web-tests \
		node --test tests/web/

deps:
	bash scripts/deps.sh

format:
	clang-format -i src/*.c src/*/*.c src/*/*.h tests/unit/*.c tests/unit/*.h

clean:
	rm -rf build build-san

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

-include mk/extra.mk

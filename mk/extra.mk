# mk/extra.mk — fuzzing and benchmark targets, kept out of the main Makefile.
#
#   make -f Makefile -f mk/extra.mk fuzz        build build-fuzz/fuzz_<name> for each tests/fuzz/fuzz_<name>.c
#   make -f Makefile -f mk/extra.mk fuzz-run    run each for FUZZ_SECONDS (default 60)
#   make -f Makefile -f mk/extra.mk bench       build build-bench/hookd and build-bench/ingest_bench
#   make -f Makefile -f mk/extra.mk bench-run   bash bench/run_ingest.sh
#   make -f Makefile -f mk/extra.mk bench-core  build build-bench/{hookd,core_client,floor_sender}
#   make -f Makefile -f mk/extra.mk bench-core-run   bash bench/run_core.sh
#   make -f Makefile -f mk/extra.mk alloc-fail      build build-allocfail/alloc_fail
#   make -f Makefile -f mk/extra.mk alloc-fail-run  run it over every path (ALLOC_FAIL_ARGS)
#
# Works read on its own after the Makefile (as above) or through
# `-include mk/extra.mk` at the end of it; a guard makes reading it twice
# harmless, so `make -f Makefile -f mk/extra.mk` still works once the Makefile
# includes it. Every variable here is prefixed FUZZ_ or BENCH_ so none of the
# Makefile's (BUILD, CC, OPT, CFLAGS_ALL, …) changes meaning. Paths are relative
# to the repository root, like the Makefile's. The allocation-failure build's
# are prefixed ALLOC_.

ifndef HOOKD_EXTRA_MK_READ
HOOKD_EXTRA_MK_READ := 1

# ---- fuzzing ------------------------------------------------------------

FUZZ_CC ?= clang
FUZZ_DIR ?= build-fuzz
FUZZ_SECONDS ?= 60
FUZZ_MAX_LEN ?= 8192
FUZZ_PKGS := libmicrohttpd libcurl jansson sqlite3 libcrypto liblz4 libpq
FUZZ_SAN := -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
# Undefined behaviour aborts (no-recover) so libFuzzer keeps the input; the
# frame pointer keeps ASan's fast unwinder's stacks whole at -O1.
FUZZ_CFLAGS := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -g -O1 -fno-omit-frame-pointer \
	$(FUZZ_SAN) -Isrc -I$(FUZZ_DIR)/gen $(shell pkg-config --cflags $(FUZZ_PKGS))
FUZZ_LDLIBS := $(shell pkg-config --libs $(FUZZ_PKGS)) -lpthread -lm

# Every library source the server is made of (main.c has its own main(), and
# libFuzzer brings one), plus the generated catalog and web page.
FUZZ_LIB_SRC := $(filter-out src/main.c,$(wildcard src/*/*.c src/*.c))
FUZZ_LIB_OBJ := $(patsubst src/%.c,$(FUZZ_DIR)/obj/%.o,$(FUZZ_LIB_SRC)) \
	$(FUZZ_DIR)/obj/gen/catalog_data.o $(FUZZ_DIR)/obj/gen/web_assets.o
FUZZ_LIB_OBJ += $(FUZZ_DIR)/obj/gen/openapi_assets.o
# Every driver tests/fuzz/fuzz_<name>.c, with its seeds in
# tests/fuzz/corpus/<name>/ and, if it has one, its dictionary in
# tests/fuzz/<name>.dict (else json.dict).
FUZZ_NAMES := $(sort $(patsubst tests/fuzz/%.c,%,$(wildcard tests/fuzz/fuzz_*.c)))
FUZZ_BINS := $(addprefix $(FUZZ_DIR)/,$(FUZZ_NAMES))

.PHONY: fuzz fuzz-run fuzz-clean fuzz-toolchain
fuzz: $(FUZZ_BINS)

# Says what to install instead of failing on the first compile with a bare
# "clang: not found" or a missing libclang_rt.fuzzer.
fuzz-toolchain:
	@command -v $(FUZZ_CC) >/dev/null 2>&1 || { \
	    echo "fuzz: $(FUZZ_CC) not found: apt-get install -y clang libclang-rt-14-dev" >&2; exit 1; }
	@echo 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { (void)d; (void)n; return 0; }' \
	    | $(FUZZ_CC) -x c - $(FUZZ_SAN) -o /dev/null 2>/dev/null || { \
	    echo "fuzz: $(FUZZ_CC) cannot link -fsanitize=fuzzer: apt-get install -y libclang-rt-14-dev" >&2; \
	    exit 1; }

# A static pattern rule, not a plain pattern rule: its prerequisites then
# count as named explicitly, so make keeps the objects instead of deleting
# them as intermediates after each link.
$(FUZZ_BINS): $(FUZZ_DIR)/%: $(FUZZ_DIR)/obj/tests/fuzz/%.o $(FUZZ_LIB_OBJ) | fuzz-toolchain
	$(FUZZ_CC) $(FUZZ_SAN) -g -o $@ $^ $(FUZZ_LDLIBS)

$(FUZZ_DIR)/obj/tests/fuzz/%.o: tests/fuzz/%.c | fuzz-toolchain
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -MMD -MP -c -o $@ $<

$(FUZZ_DIR)/obj/gen/%.o: $(FUZZ_DIR)/gen/%.c | fuzz-toolchain
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -MMD -MP -c -o $@ $<

$(FUZZ_DIR)/obj/%.o: src/%.c | fuzz-toolchain
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -MMD -MP -c -o $@ $<

# Its own copy of the generated files, so this build never touches $(BUILD).
.SECONDARY: $(FUZZ_DIR)/gen/catalog_data.c $(FUZZ_DIR)/gen/web_assets.c
.SECONDARY: $(FUZZ_DIR)/gen/openapi_assets.c
$(FUZZ_DIR)/gen/catalog_data.c: data/catalog.tsv scripts/gen_catalog.awk
	@mkdir -p $(dir $@)
	awk -f scripts/gen_catalog.awk data/catalog.tsv > $@.tmp && mv $@.tmp $@

$(FUZZ_DIR)/gen/web_assets.c: web $(wildcard web/*) scripts/gen_web.sh
	@mkdir -p $(dir $@)
	sh scripts/gen_web.sh web > $@.tmp && mv $@.tmp $@

# Each fuzzer runs on a fresh copy of its seed corpus under $(FUZZ_DIR), so
# the inputs it discovers never land in the repository. libFuzzer exits
# non-zero on a crash, a leak, a timeout or an out-of-memory, which fails the
# target; the input it found is left in $(FUZZ_DIR)/artifacts/<name>/.
# Both fuzzers run even if the first one fails, and the target fails if any
# did. UBSan prints no stack unless asked; a report without one is hard to act
# on. FUZZ_ARGS passes more libFuzzer flags (-fork=2, -seed=1,
# more corpus directories to read, …).
fuzz-run: $(FUZZ_BINS)
	@status=0; \
	for name in $(FUZZ_NAMES); do \
	    seeds=tests/fuzz/corpus/$${name#fuzz_}; \
	    work=$(FUZZ_DIR)/corpus/$${name#fuzz_}; \
	    art=$(FUZZ_DIR)/artifacts/$$name; \
	    dict=tests/fuzz/$${name#fuzz_}.dict; [ -f "$$dict" ] || dict=tests/fuzz/json.dict; \
	    rm -rf "$$work" && mkdir -p "$$work" "$$art" && cp "$$seeds"/* "$$work"/ || exit 1; \
	    echo "== $$name: $(FUZZ_SECONDS) s"; \
	    UBSAN_OPTIONS=$${UBSAN_OPTIONS:-print_stacktrace=1} \
	    ./$(FUZZ_DIR)/$$name -max_total_time=$(FUZZ_SECONDS) -max_len=$(FUZZ_MAX_LEN) \
	        -dict=$$dict -artifact_prefix="$$art/" -print_final_stats=1 \
	        "$$work" $(FUZZ_ARGS) || { echo "== $$name FAILED: see $$art/"; status=1; }; \
	done; \
	exit $$status

fuzz-clean:
	rm -rf $(FUZZ_DIR)

-include $(shell find $(FUZZ_DIR) -name '*.d' 2>/dev/null)

# ---- benchmark ----------------------------------------------------------

BENCH_CC ?= cc
BENCH_DIR ?= build-bench
BENCH_PKGS := libcurl jansson sqlite3
BENCH_CFLAGS := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
	-Wformat=2 -O2 -g $(shell pkg-config --cflags $(BENCH_PKGS))
BENCH_LDLIBS := $(shell pkg-config --libs $(BENCH_PKGS)) -lpthread -lm

.PHONY: bench bench-run bench-hookd
bench: bench-hookd $(BENCH_DIR)/ingest_bench

# The server under test is the ordinary optimised build, put in its own
# directory by the Makefile's BUILD switch. It is a sub-make (always run, a
# no-op when up to date) because the Makefile's rules are written for the
# BUILD of the make that reads them.
bench-hookd:
	$(MAKE) -f Makefile BUILD=$(BENCH_DIR) SAN=0 $(BENCH_DIR)/hookd

$(BENCH_DIR)/ingest_bench: bench/ingest_bench.c bench/bench_util.h
	@mkdir -p $(dir $@)
	$(BENCH_CC) $(BENCH_CFLAGS) -o $@ $< $(BENCH_LDLIBS)

bench-run: bench
	bash bench/run_ingest.sh

# The programs of bench/run_core.sh: its load client, and the floor sender,
# which signs with OpenSSL like hookd and needs nothing of SQLite or jansson.
BENCH_FLOOR_PKGS := libcurl libcrypto
.PHONY: bench-core bench-core-run
bench-core: bench-hookd $(BENCH_DIR)/core_client $(BENCH_DIR)/floor_sender

$(BENCH_DIR)/core_client: bench/core_client.c bench/bench_util.h
	@mkdir -p $(dir $@)
	$(BENCH_CC) $(BENCH_CFLAGS) -o $@ $< $(BENCH_LDLIBS)

$(BENCH_DIR)/floor_sender: bench/floor_sender.c bench/bench_util.h
	@mkdir -p $(dir $@)
	$(BENCH_CC) $(BENCH_CFLAGS) $(shell pkg-config --cflags $(BENCH_FLOOR_PKGS)) -o $@ $< \
		$(shell pkg-config --libs $(BENCH_FLOOR_PKGS))

bench-core-run: bench-core
	bash bench/run_core.sh

# ---- allocation failure (fault suite) -------------------------------------

# tests/faults/alloc_fail.c with every library object of src/ (built again
# here with ASan+UBSan): the link wraps malloc and friends, so every
# allocation hookd's own objects make goes through the driver's counter,
# which fails the Nth one (the driver routes jansson, SQLite and OpenSSL
# through it too). hookd_log is wrapped so that the hundreds of lines a run
# of failures logs are counted, not printed. See docs/testing.md.
ALLOC_CC ?= cc
ALLOC_DIR ?= build-allocfail
ALLOC_PKGS := libmicrohttpd libcurl jansson sqlite3 libcrypto liblz4 libpq
ALLOC_SAN := -fsanitize=address,undefined -fno-sanitize-recover=undefined
ALLOC_CFLAGS := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -g -O1 \
	-fno-omit-frame-pointer $(ALLOC_SAN) -Isrc -I$(ALLOC_DIR)/gen $(shell pkg-config --cflags $(ALLOC_PKGS))
ALLOC_WRAP := -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=strdup,--wrap=strndup,--wrap=hookd_log
ALLOC_LDLIBS := $(shell pkg-config --libs $(ALLOC_PKGS)) -lpthread -lm
ALLOC_LIB_SRC := $(filter-out src/main.c,$(wildcard src/*/*.c src/*.c))
ALLOC_LIB_OBJ := $(patsubst src/%.c,$(ALLOC_DIR)/obj/%.o,$(ALLOC_LIB_SRC)) \
	$(ALLOC_DIR)/obj/gen/catalog_data.o $(ALLOC_DIR)/obj/gen/web_assets.o
ALLOC_LIB_OBJ += $(ALLOC_DIR)/obj/gen/openapi_assets.o
# ALLOC_FAIL_ARGS: --stride K, --max-n N, --path NAME, --verbose (see the driver).
ALLOC_FAIL_ARGS ?=

.PHONY: alloc-fail alloc-fail-run alloc-fail-clean
alloc-fail: $(ALLOC_DIR)/alloc_fail

$(ALLOC_DIR)/alloc_fail: $(ALLOC_DIR)/obj/tests/faults/alloc_fail.o $(ALLOC_LIB_OBJ)
	$(ALLOC_CC) $(ALLOC_SAN) -g $(ALLOC_WRAP) -o $@ $^ $(ALLOC_LDLIBS)

$(ALLOC_DIR)/obj/tests/faults/%.o: tests/faults/%.c
	@mkdir -p $(dir $@)
	$(ALLOC_CC) $(ALLOC_CFLAGS) -MMD -MP -c -o $@ $<

$(ALLOC_DIR)/obj/gen/%.o: $(ALLOC_DIR)/gen/%.c
	@mkdir -p $(dir $@)
	$(ALLOC_CC) $(ALLOC_CFLAGS) -MMD -MP -c -o $@ $<

$(ALLOC_DIR)/obj/%.o: src/%.c
	@mkdir -p $(dir $@)
	$(ALLOC_CC) $(ALLOC_CFLAGS) -MMD -MP -c -o $@ $<

.SECONDARY: $(ALLOC_DIR)/gen/catalog_data.c $(ALLOC_DIR)/gen/web_assets.c
.SECONDARY: $(ALLOC_DIR)/gen/openapi_assets.c
$(ALLOC_DIR)/gen/catalog_data.c: data/catalog.tsv scripts/gen_catalog.awk
	@mkdir -p $(dir $@)
	awk -f scripts/gen_catalog.awk data/catalog.tsv > $@.tmp && mv $@.tmp $@

$(ALLOC_DIR)/gen/web_assets.c: web $(wildcard web/*) scripts/gen_web.sh
	@mkdir -p $(dir $@)
	sh scripts/gen_web.sh web > $@.tmp && mv $@.tmp $@

# Exits non-zero on any crash, leak or inconsistency; the figures per path
# are on stdout. UBSan prints no stack unless asked.
alloc-fail-run: $(ALLOC_DIR)/alloc_fail
	UBSAN_OPTIONS=$${UBSAN_OPTIONS:-print_stacktrace=1} ./$(ALLOC_DIR)/alloc_fail $(ALLOC_FAIL_ARGS)

alloc-fail-clean:
	rm -rf $(ALLOC_DIR)

-include $(shell find $(ALLOC_DIR) -name '*.d' 2>/dev/null)

endif

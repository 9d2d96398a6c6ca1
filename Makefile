# Transom -- change-management workflow and CAB scheduler service.
#
#   make run        install missing packages, build, start the private PostgreSQL, serve
#   make test       the same bootstrap, then every test against a throwaway PostgreSQL
#   make faults     the fault suite (tests/faults/): bad bytes, read-only or locked DB, floods
#   make unit       only the pure unit tests (no database)
#   make property   simulate = submit on many random drafts, a random seed (SEED=n, N=n)
#   make bench      the write path through HTTP against pgbench on the same SQL (ratios)
#   make bench-web  Lighthouse scores and first-load bytes of the web app's pages (tests/bench/lighthouse.sh)
#   make fuzz       build the libFuzzer targets (clang) and run each briefly on its corpus
#   make fuzz-ci    the same, each target for a minute (CI), two at a time
#   make format     clang-format every C file;  make format-check  verify it
#   make errors-doc docs/errors.md from the error table (core/err.h); make test checks it
#
# Variables: CC (gcc or clang), SAN=address,undefined (sanitizers), O=optimisation level,
# V=1 (show the commands).

CC       ?= cc
O        ?= 2
SAN      ?=
BUILD    ?= build
PKGS     := libmicrohttpd libpq libical jansson libcurl libcrypto gmime-3.0 libxml-2.0 cjose
Q        := $(if $(V),,@)

# -isystem: warnings in the libraries' own headers (glib's) are not ours to fix
PKG_CFLAGS := $(patsubst -I%,-isystem %,$(shell pkg-config --cflags $(PKGS) 2>/dev/null))
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

WARN   := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wformat=2 \
          -Wvla -Wimplicit-fallthrough -Wno-unused-parameter
CFLAGS := -std=c17 -D_GNU_SOURCE -O$(O) -g $(WARN) -Iservice $(PKG_CFLAGS) -pthread $(EXTRA_CFLAGS)
LDLIBS := $(PKG_LIBS) -pthread -lm
ifneq ($(SAN),)
CFLAGS += -fsanitize=$(SAN) -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS += -fsanitize=$(SAN)
BUILD := build-san
endif

LIB_SRC   := $(sort $(shell find service -name '*.c' ! -path 'service/main/*'))
MAIN_SRC  := $(sort $(wildcard service/main/*.c))
UNIT_SRC  := $(sort $(wildcard tests/unit/test_*.c))
HTTP_SRC  := $(sort $(wildcard tests/http/test_*.c))
HTTP_LIB  := $(sort $(wildcard tests/http/lib_*.c))
FAULT_SRC := $(sort $(wildcard tests/faults/test_*.c))
BENCH_SRC := $(sort $(wildcard tests/bench/bench_*.c))
CAL_DRIVER := $(BUILD)/tests/calendar/expand_main
ERRORS_DOC := $(BUILD)/tests/docs/errors_doc
MIGRATIONS := $(sort $(wildcard service/store/migrations/*.sql))

WEB_FILES := $(sort $(shell find web -type f ! -name '.*' ! -name '*.md'))
LIB_OBJ   := $(LIB_SRC:%.c=$(BUILD)/%.o) $(BUILD)/gen/migrations.o $(BUILD)/gen/openapi.o \
             $(BUILD)/gen/webapp.o
MAIN_OBJ  := $(MAIN_SRC:%.c=$(BUILD)/%.o)
UNIT_BIN  := $(UNIT_SRC:%.c=$(BUILD)/%)
HTTP_BIN  := $(HTTP_SRC:%.c=$(BUILD)/%)
HTTP_OBJ  := $(HTTP_LIB:%.c=$(BUILD)/%.o)
FAULT_BIN := $(FAULT_SRC:%.c=$(BUILD)/%)
BENCH_BIN := $(BENCH_SRC:%.c=$(BUILD)/%)
LIBA      := $(BUILD)/libtransom.a
TRANSOMD  := $(BUILD)/transomd
CLI_SRC   := $(sort $(wildcard service/main/cli/*.c))
CLI_OBJ   := $(CLI_SRC:%.c=$(BUILD)/%.o)
TRANSOM_CLI := $(BUILD)/transom

.PHONY: all run test faults ha unit property bench bench-web fuzz format format-check deps deps-test clean install \
        errors-doc
all: $(TRANSOMD) $(TRANSOM_CLI) $(UNIT_BIN) $(HTTP_BIN) $(FAULT_BIN) $(CAL_DRIVER) $(ERRORS_DOC)

# --- bootstrap -----------------------------------------------------------------------------
# Missing libraries are installed (or named) before anything is compiled.
deps:
	@deploy/install-deps.sh build
deps-test:
	@deploy/install-deps.sh test

run: deps
	@$(MAKE) --no-print-directory $(TRANSOMD) $(TRANSOM_CLI)
	@TRANSOM_DEMO=$(DEMO) deploy/run.sh $(TRANSOMD)

test: deps-test
	@$(MAKE) --no-print-directory all
	@tests/run.sh $(BUILD)

# The fault suite (tests/faults/): bad bytes, read-only and locked database, connection
# floods, PostgreSQL restarts under load.  A few minutes.
faults: deps-test
	@$(MAKE) --no-print-directory all
	@tests/faults/run.sh $(BUILD)

# Replicas behind HAProxy, a PostgreSQL failover and a backup/restore drill, under load
# (tests/ha/ha.py): a few minutes; prints the figures and "N passed, N failed".
ha: deps-test
	@$(MAKE) --no-print-directory $(TRANSOMD)
	@nice python3 tests/ha/ha.py $(BUILD)

unit: $(UNIT_BIN)
	@tests/run.sh $(BUILD) unit

# The simulate = submit property (tests/http/test_simulate_property.c), longer than in
# `make test`: a random seed, printed (SEED=n replays it), N drafts (default 300).
property: deps-test
	@$(MAKE) --no-print-directory $(TRANSOMD) $(BUILD)/tests/http/test_simulate_property
	@seed=$${SEED:-$$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}; \
	  echo "property: SEED=$$seed N=$${N:-300}"; \
	  TRANSOM_PROPERTY_SEED=$$seed TRANSOM_PROPERTY_N=$${N:-300} \
	  TESTS=test_simulate_property tests/run.sh $(BUILD)

# For distributions: binaries, systemd unit and snippets, default workflows/ and policies/
# under share/, docs (deploy/install.sh says where).  PREFIX=/usr/local, DESTDIR, SYSCONFDIR.
install: $(TRANSOMD) $(TRANSOM_CLI)
	@DESTDIR="$(DESTDIR)" PREFIX="$(or $(PREFIX),/usr/local)" \
	  SYSCONFDIR="$(or $(SYSCONFDIR),/etc)" deploy/install.sh $(BUILD)

bench: deps
	@$(MAKE) --no-print-directory $(TRANSOMD) $(BENCH_BIN)
	@tests/bench/run.sh $(BUILD)

# Lighthouse on the web app's main pages (npm lighthouse, pinned by tests/bench/web/): scores
# and the compressed JS+CSS of each first load.  Not in `make test`.
bench-web: $(TRANSOMD)
	@tests/bench/lighthouse.sh $(BUILD)

# --- compilation ---------------------------------------------------------------------------
# A stamp of the flags: changing CC, SAN or O rebuilds everything.
FLAGS_STAMP := $(BUILD)/.flags
FLAGS_NOW   := $(CC) $(CFLAGS) $(LDFLAGS) $(LDLIBS)
$(shell mkdir -p $(BUILD); [ "$$(cat $(FLAGS_STAMP) 2>/dev/null)" = "$(FLAGS_NOW)" ] || echo "$(FLAGS_NOW)" > $(FLAGS_STAMP))

$(BUILD)/%.o: %.c $(FLAGS_STAMP)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

# Migrations are compiled into the binary, so transomd needs no files beside it.
$(BUILD)/gen/migrations.c: $(MIGRATIONS) deploy/embed-sql.sh
	@mkdir -p $(dir $@)
	$(Q)deploy/embed-sql.sh $(MIGRATIONS) > $@
$(BUILD)/gen/migrations.o: $(BUILD)/gen/migrations.c $(FLAGS_STAMP)
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

# So is the API description, served at GET /v1/openapi.json.
$(BUILD)/gen/openapi.c: docs/openapi.json deploy/embed-text.sh
	@mkdir -p $(dir $@)
	$(Q)deploy/embed-text.sh api_openapi_json docs/openapi.json > $@
$(BUILD)/gen/openapi.o: $(BUILD)/gen/openapi.c $(FLAGS_STAMP)
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

# And the web app (web/): every file, gzip'd too, under a version hash.
$(BUILD)/gen/webapp.c: $(WEB_FILES) deploy/embed-assets.sh
	@mkdir -p $(dir $@)
	$(Q)deploy/embed-assets.sh web > $@.tmp && mv $@.tmp $@
$(BUILD)/gen/webapp.o: $(BUILD)/gen/webapp.c $(FLAGS_STAMP)
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

$(LIBA): $(LIB_OBJ)
	@rm -f $@
	$(Q)ar rcs $@ $^

$(TRANSOMD): $(MAIN_OBJ) $(LIBA)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(LDFLAGS) $(MAIN_OBJ) $(LIBA) $(LDLIBS) -o $@

# The transom CLI (service/main/cli/), a client of the HTTP API; LIB_SRC leaves it out.
$(TRANSOM_CLI): $(CLI_OBJ) $(LIBA)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(LDFLAGS) $(CLI_OBJ) $(LIBA) $(LDLIBS) -o $@

$(BUILD)/tests/unit/%: $(BUILD)/tests/unit/%.o $(LIBA)
	$(Q)$(CC) $(LDFLAGS) $< $(LIBA) $(LDLIBS) -o $@

# docs/errors.md is generated from the error table; tests/run.sh checks it is current.
$(ERRORS_DOC): $(BUILD)/tests/docs/errors_doc.o $(LIBA)
	$(Q)$(CC) $(LDFLAGS) $< $(LIBA) $(LDLIBS) -o $@
errors-doc: $(ERRORS_DOC)
	$(Q)$(ERRORS_DOC) > docs/errors.md.tmp && mv docs/errors.md.tmp docs/errors.md

# The recurrence driver that tests/calendar/oracle.py compares with independent oracles.
$(CAL_DRIVER): $(BUILD)/tests/calendar/expand_main.o $(LIBA)
	$(Q)$(CC) $(LDFLAGS) $< $(LIBA) $(LDLIBS) -o $@

$(BUILD)/tests/http/%: $(BUILD)/tests/http/%.o $(HTTP_OBJ) $(LIBA)
	$(Q)$(CC) $(LDFLAGS) $< $(HTTP_OBJ) $(LIBA) $(LDLIBS) -o $@

$(BUILD)/tests/faults/%: $(BUILD)/tests/faults/%.o $(HTTP_OBJ) $(LIBA)
	$(Q)$(CC) $(LDFLAGS) $< $(HTTP_OBJ) $(LIBA) $(LDLIBS) -o $@

$(BUILD)/tests/bench/%: $(BUILD)/tests/bench/%.o $(HTTP_OBJ) $(LIBA)
	$(Q)$(CC) $(LDFLAGS) $< $(HTTP_OBJ) $(LIBA) $(LDLIBS) -o $@

# --- fuzzing (clang only) ------------------------------------------------------------------
# Sanitizers do not recover: any ASan/UBSan finding stops the target and fails the run.
# The library is compiled once for every target (build-fuzz/obj/); `make fuzz` runs each
# target FUZZ_SECONDS (20) on its corpus, `make fuzz-ci` each for 60 s, two at a time, and
# prints the executions of each ("fuzz: NAME ... runs").
FUZZ_SRC := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BIN := $(FUZZ_SRC:tests/fuzz/%.c=build-fuzz/%)
FUZZ_RUN := $(FUZZ_SRC:tests/fuzz/%.c=fuzz-run-%)
FUZZ_OBJ := $(LIB_SRC:%.c=build-fuzz/obj/%.o) build-fuzz/obj/gen/migrations.o \
            build-fuzz/obj/gen/openapi.o build-fuzz/obj/gen/webapp.o
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_CFLAGS := -std=c17 -D_GNU_SOURCE -O1 -g -Iservice $(PKG_CFLAGS) -pthread $(FUZZ_SAN)
FUZZ_SECONDS ?= 20
FUZZ_STAMP := build-fuzz/.flags
$(shell mkdir -p build-fuzz; [ "$$(cat $(FUZZ_STAMP) 2>/dev/null)" = "$(FUZZ_CFLAGS)" ] || echo "$(FUZZ_CFLAGS)" > $(FUZZ_STAMP))
build-fuzz/obj/%.o: %.c $(FUZZ_STAMP)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC-FUZZ $<")
	$(Q)clang $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c $< -o $@
build-fuzz/obj/gen/%.o: $(BUILD)/gen/%.c $(FUZZ_STAMP)
	@mkdir -p $(dir $@)
	$(Q)clang $(FUZZ_CFLAGS) -c $< -o $@
build-fuzz/%: tests/fuzz/%.c $(FUZZ_OBJ)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)clang $(FUZZ_CFLAGS) -fsanitize=fuzzer $< $(FUZZ_OBJ) $(LDLIBS) -o $@
.PHONY: fuzz-ci
.SECONDARY: $(FUZZ_BIN) $(FUZZ_OBJ)
fuzz-run-%: build-fuzz/%
	@n=$*; mkdir -p build-fuzz/corpus-$$n; \
	if ! $< -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 -artifact_prefix=build-fuzz/$$n- \
	     build-fuzz/corpus-$$n \
	     tests/fuzz/corpus/$${n#fuzz_} > build-fuzz/$$n.log 2>&1; then \
	  tail -n 60 build-fuzz/$$n.log; echo "fuzz: $$n FAILED (log: build-fuzz/$$n.log)"; exit 1; fi; \
	echo "fuzz: $$n $(FUZZ_SECONDS) s, $$(sed -n 's/^stat::number_of_executed_units: *//p' \
	  build-fuzz/$$n.log) runs"
fuzz: $(FUZZ_RUN)
fuzz-ci:
	@$(MAKE) --no-print-directory -j2 fuzz FUZZ_SECONDS=60

# --- style ---------------------------------------------------------------------------------
C_FILES = $(shell git ls-files 'service/*.[ch]' 'tests/*.[ch]' 2>/dev/null || find service tests -name '*.[ch]')
format:
	clang-format -i $(C_FILES)
format-check:
	@clang-format --dry-run --Werror $(C_FILES) && echo "format: ok"

clean:
	rm -rf build build-san build-fuzz

-include $(shell find $(BUILD) build-fuzz/obj -name '*.d' 2>/dev/null)

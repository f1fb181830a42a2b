# ackbot - build, run, test. `make run` and `make test` install missing Debian packages first.

PREFIX  ?= /usr/local
BINDIR  ?= $(PREFIX)/bin
DATADIR ?= $(PREFIX)/share/ackbot
STATEDIR ?= /var/lib/ackbot
DESTDIR ?=

CC      ?= cc
PKGS     = libwebsockets libcurl jansson libpcre2-8 sqlite3 libuv yaml-0.1 libutf8proc libcrypto libedit
# -Wno-unused-parameter: callback tables (lws, libuv, curl) have parameters most callbacks ignore.
WARN     = -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wstrict-prototypes \
           -Wmissing-prototypes -Wvla -Wno-unused-parameter
CFLAGS  ?= -O2 -g
ALL_CFLAGS = -std=c17 -D_GNU_SOURCE $(WARN) $(CFLAGS) $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
# liblinear and libcld2 ship no pkg-config file
XLIBS    = -llinear -lcld2
LDLIBS  += $(shell pkg-config --libs $(PKGS) 2>/dev/null) $(XLIBS) -lm

BUILD   ?= build
SRCS     = $(wildcard bot/*.c bot/sources/*.c)
OBJS     = $(SRCS:%.c=$(BUILD)/%.o)
LIBOBJS  = $(filter-out $(BUILD)/bot/main.o,$(OBJS))
UNIT_SRCS = $(wildcard tests/unit/test_*.c)
UNIT_BINS = $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)

.PHONY: all deps test-deps fuzz-deps run test asan valgrind fuzz torture crash diskfull bench install uninstall clean

all: deps
	@$(MAKE) --no-print-directory $(BUILD)/ackbot var/guard.model

# The second opinion's model for the bundled config, trained once from the shipped corpus
# (`ackbot model train` rebuilds it, with staff labels; the daemon trains one if missing).
# Retrained when the corpus or the code that turns text into features or trains changes.
var/guard.model: $(wildcard intents/corpus/train/*.jsonl) bot/featurize.c bot/featurize.h \
    bot/train.c | $(BUILD)/ackbot
	@mkdir -p var
	./$(BUILD)/ackbot model train -c config/ackbot.yaml

deps:
	@sh deploy/install-deps.sh build

test-deps:
	@sh deploy/install-deps.sh test

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -MMD -MP -Ibot -Ibot/sources -c $< -o $@

$(BUILD)/ackbot: $(OBJS)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(OBJS) $(LDLIBS)

$(BUILD)/tests/%: tests/unit/%.c tests/unit/unit.h $(LIBOBJS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Ibot -Ibot/sources -Itests/unit -o $@ $< $(LIBOBJS) $(LDFLAGS) $(LDLIBS)

-include $(OBJS:.o=.d)

# The bundled config: console on a terminal, webhook when ACKBOT_WEBHOOK_SECRET is set.
run: all
	./$(BUILD)/ackbot run -c config/ackbot.yaml

# Unit tests, then integration tests against the real binary and local stand-ins.
# The last line is "N passed, N failed".
test: test-deps all
	@$(MAKE) --no-print-directory $(UNIT_BINS)
	@/usr/bin/python3 tests/run.py --build $(BUILD) $(TESTFLAGS)

# The same suite under AddressSanitizer + UndefinedBehaviorSanitizer.
asan: test-deps
	$(MAKE) BUILD=build-asan CFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" \
		LDFLAGS="-fsanitize=address,undefined" test

# Unit tests and the integration suite under valgrind memcheck (PCRE2's JIT is turned
# off: valgrind cannot follow code generated at run time).
valgrind: test-deps all
	@command -v valgrind >/dev/null || apt-get install -y -qq valgrind >/dev/null
	@$(MAKE) --no-print-directory $(UNIT_BINS)
	@ACKBOT_NO_JIT=1 ACKBOT_TEST_WRAPPER="valgrind -q --error-exitcode=99 --leak-check=full --suppressions=$(CURDIR)/tests/valgrind.supp" \
		/usr/bin/python3 tests/run.py --build $(BUILD) --valgrind $(TESTFLAGS)

# The store-fault torture run: a build whose store fails its Nth call (BUSY, FULL, IOERR)
# over a scripted webhook + Mastodon scenario, for many N (TORTUREFLAGS=--full: every N).
torture: test-deps
	@$(MAKE) --no-print-directory BUILD=build-torture CFLAGS="-O1 -g -DACKBOT_TORTURE" build-torture/ackbot
	@/usr/bin/python3 tests/torture/torture.py --build build-torture $(TORTUREFLAGS)

# kill -9 at 50+ random points over 10,000 mentions (webhook and Mastodon at once).
crash: test-deps all
	@/usr/bin/python3 tests/torture/crash.py --build $(BUILD) $(CRASHFLAGS)

# The data directory on a small tmpfs (needs root): 503s while full, resumes by itself.
diskfull: test-deps all
	@/usr/bin/python3 tests/torture/diskfull.py --build $(BUILD) $(DISKFULLFLAGS)

# libFuzzer targets (clang): each runs FUZZ_SECONDS on its committed seeds
# (tests/fuzz/corpus/NAME); new finds go to build-fuzz/corpus/NAME, crashes to build-fuzz/.
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?= $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_LIBSRCS = $(filter-out bot/main.c,$(SRCS))

fuzz-deps:
	@command -v clang >/dev/null && dpkg-query -W -f='$${Status}' libclang-rt-14-dev 2>/dev/null | grep -q "ok installed" || \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq clang libclang-rt-14-dev >/dev/null)

fuzz: deps fuzz-deps
	@mkdir -p build-fuzz
	@for t in $(FUZZ_TARGETS); do \
		clang -std=c17 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined -Ibot -Ibot/sources \
		    $$(pkg-config --cflags $(PKGS)) -o build-fuzz/fuzz_$$t tests/fuzz/fuzz_$$t.c $(FUZZ_LIBSRCS) \
		    $$(pkg-config --libs $(PKGS)) $(XLIBS) -lm || exit 1; \
	done
	@for t in $(FUZZ_TARGETS); do \
		mkdir -p build-fuzz/corpus/$$t; \
		echo "fuzz $$t: $(FUZZ_SECONDS)s"; \
		LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp ./build-fuzz/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) \
		    -artifact_prefix=build-fuzz/$$t- -print_final_stats=0 build-fuzz/corpus/$$t tests/fuzz/corpus/$$t \
		    2>build-fuzz/$$t.log || { tail -40 build-fuzz/$$t.log; exit 1; }; \
		grep -E "^Done [0-9]+ runs" build-fuzz/$$t.log | tail -1; \
	done

# What ackbot costs on this machine: matching, ack latency, throughput, RSS (bench/bench.py).
# A table on stdout, the numbers in $(BUILD)/bench.json. BENCHFLAGS=--quick for a short run.
$(BUILD)/bench_match: bench/bench_match.c tests/unit/synth.h $(LIBOBJS)
	$(CC) $(ALL_CFLAGS) -Ibot -Itests/unit -o $@ $< $(LIBOBJS) $(LDFLAGS) $(LDLIBS)

$(BUILD)/bench_guard: bench/bench_guard.c $(LIBOBJS)
	$(CC) $(ALL_CFLAGS) -Ibot -o $@ $< $(LIBOBJS) $(LDFLAGS) $(LDLIBS)

bench: test-deps all
	@$(MAKE) --no-print-directory $(BUILD)/bench_match $(BUILD)/bench_guard
	@/usr/bin/python3 bench/bench.py --build $(BUILD) $(BENCHFLAGS)

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(DATADIR)/intents
	install -m 0755 $(BUILD)/ackbot $(DESTDIR)$(BINDIR)/ackbot
	install -m 0644 intents/*.yaml $(DESTDIR)$(DATADIR)/intents/
	sed -e 's|^data_dir: .*|data_dir: $(STATEDIR)|' -e 's|\[\.\./intents\]|[$(DATADIR)/intents]|' \
	    -e 's|^  log: \.\./var/handoff.jsonl|  log: $(STATEDIR)/handoff.jsonl|' \
	    config/ackbot.yaml > $(DESTDIR)$(DATADIR)/ackbot.yaml.example
	chmod 0644 $(DESTDIR)$(DATADIR)/ackbot.yaml.example

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/ackbot
	rm -rf $(DESTDIR)$(DATADIR)

clean:
	rm -rf build build-asan build-fuzz build-torture tests/log

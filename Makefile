# b4k build.  `make` builds lib/libb4k.a and bin/b4k-*; `make check` runs all
# tests; `make demo` installs what is missing, builds and runs the demo.
# Sources are discovered by wildcard, so adding a file needs no edit here:
#   lib/<module>/*.c        -> lib/libb4k.a   (*_avx2.c, *_avx512.c and
#                              *_avx512bf16.c get their ISA flags; dispatch
#                              happens at run time, never -march=native)
#   cmd/b4k-*.c             -> bin/b4k-*  (with cmd/b4k-*/*.c, that program's
#                              other files, and cmd/*.c, shared by all)
#   test/unit/test_*.c      -> $(BUILD)/test/test_*
#   test/fuzz/fuzz_*.c      -> $(BUILD)/fuzz/fuzz_*-replay (corpus replay)

CC      ?= cc
CFLAGS  ?= -O2 -g
WARN    := -Wall -Wextra -Wshadow
CPPFLAGS += -Ilib -Icmd -I/usr/include/x86_64-linux-gnu -D_GNU_SOURCE
LDLIBS  := -lopenblas -lzstd -ljansson -lpthread -lm
BUILD   ?= build
BIN     ?= bin
PREFIX  ?= /usr/local
SAN     ?=

LIB_SRC   := $(sort $(wildcard lib/*/*.c))
LIB_OBJ   := $(LIB_SRC:%.c=$(BUILD)/%.o)
LIB_A     := $(if $(filter build,$(BUILD)),lib/libb4k.a,$(BUILD)/libb4k.a)
CMD_SRC   := $(sort $(wildcard cmd/b4k-*.c))
CMD_LIB   := $(filter-out $(CMD_SRC),$(wildcard cmd/*.c))
CMD_OBJ   := $(CMD_LIB:%.c=$(BUILD)/%.o)
PROGS     := $(CMD_SRC:cmd/%.c=$(BIN)/%)
UNIT_SRC  := $(sort $(wildcard test/unit/test_*.c))
UNIT_BIN  := $(UNIT_SRC:test/unit/%.c=$(BUILD)/test/%)
UNIT_AUX  := $(filter-out $(UNIT_SRC),$(wildcard test/unit/*.c))
FUZZ_SRC  := $(sort $(wildcard test/fuzz/fuzz_*.c))
FUZZ_REP  := $(FUZZ_SRC:test/fuzz/%.c=$(BUILD)/fuzz/%-replay)
TOOL_SRC  := $(sort $(wildcard tools/*.c))
TOOL_BIN  := $(TOOL_SRC:tools/%.c=$(BUILD)/tools/%)

ALL_CFLAGS = $(CFLAGS) $(WARN) $(SAN) $(ISA) -MMD -MP
ALL_LDFLAGS = $(LDFLAGS) $(SAN)

# Per-ISA kernel files (runtime dispatch picks one).
$(BUILD)/%_avx2.o:       ISA := -mavx2 -mfma -mf16c
$(BUILD)/%_avx512.o:     ISA := -mavx2 -mfma -mf16c -mavx512f -mavx512bw -mavx512vl -mavx512dq
$(BUILD)/%_avx512bf16.o: ISA := -mavx2 -mfma -mf16c -mavx512f -mavx512bw -mavx512vl -mavx512dq -mavx512vnni -mavx512bf16

# keep object files (they are intermediates of the pattern chains)
.SECONDARY:

.PHONY: all check unit asan fuzz bench parity demo deps install clean tools
all: $(LIB_A) $(PROGS) tools

$(BUILD)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -c $< -o $@

$(LIB_A): $(LIB_OBJ)
	@mkdir -p $(@D)
	rm -f $@
	ar rcs $@ $^

# a program's own extra files: cmd/b4k-NAME/*.c
.SECONDEXPANSION:
$(BIN)/b4k-%: $(BUILD)/cmd/b4k-%.o $$(addprefix $(BUILD)/,$$(subst .c,.o,$$(wildcard cmd/b4k-%/*.c))) $(CMD_OBJ) $(LIB_A)
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) $^ $(LDLIBS) -o $@

$(BUILD)/test/%: $(BUILD)/test/unit/%.o $(UNIT_AUX:%.c=$(BUILD)/%.o) $(LIB_A)
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) $^ $(LDLIBS) -o $@

$(BUILD)/fuzz/%-replay: $(BUILD)/test/fuzz/%.o $(BUILD)/test/fuzz/replay.o $(LIB_A)
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) $^ $(LDLIBS) -o $@

$(BUILD)/tools/%: $(BUILD)/tools/%.o $(LIB_A)
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) $^ $(LDLIBS) -o $@

tools: $(TOOL_BIN)

# jieba's dictionary and HMM (Debian's python3-jieba) converted once into the
# b4k data file (a trie used in place) that --kind cpm and b4k-convert --arch cpm use, so no
# Python file is read at run time.  Skipped, with a note, without python3-jieba.
JIEBA_DIR  ?= /usr/lib/python3/dist-packages/jieba
JIEBA_DATA := $(BUILD)/share/b4k/jieba.b4kj
.PHONY: jieba-data
all: jieba-data
jieba-data: $(BUILD)/tools/jieba-data
	@if [ ! -f $(JIEBA_DIR)/dict.txt ]; then \
	  echo "note: $(JIEBA_DIR)/dict.txt not found (python3-jieba): $(JIEBA_DATA) not built"; \
	elif [ ! -f $(JIEBA_DATA) ] || [ $(JIEBA_DIR)/dict.txt -nt $(JIEBA_DATA) ] || [ $< -nt $(JIEBA_DATA) ]; then \
	  mkdir -p $(dir $(JIEBA_DATA)) && echo "$< -d $(JIEBA_DIR) $(JIEBA_DATA)" && \
	  $< -d $(JIEBA_DIR) $(JIEBA_DATA); fi

unit: $(UNIT_BIN) $(FUZZ_REP)

# All tests: unit, fuzz replay, CLI cases, corrupt inputs, man examples, data
# tests (which SKIP visibly when ../shared/data is absent).
check: all unit
	@B4K_BUILD=$(BUILD) B4K_BIN=$(BIN) bash test/run.sh

# ASan + UBSan build in its own tree, then the unit tests, fuzz replay and
# the corrupt-input CLI cases under it.
asan:
	$(MAKE) BUILD=build-asan BIN=build-asan/bin CFLAGS="-O1 -g -fno-omit-frame-pointer" \
	  SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined" all unit
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 \
	  B4K_BUILD=build-asan B4K_BIN=build-asan/bin bash test/run.sh --quick

# libFuzzer targets (clang), for real fuzzing sessions:
#   make fuzz && build-fuzz/fuzz/fuzz_stream test/fuzz/corpus/stream
fuzz:
	$(MAKE) BUILD=build-fuzz BIN=build-fuzz/bin CC=clang CFLAGS="-O1 -g" \
	  SAN="-fsanitize=fuzzer-no-link,address,undefined" build-fuzz/libb4k.a
	@mkdir -p build-fuzz/fuzz
	for f in $(FUZZ_SRC); do n=$$(basename $$f .c); \
	  clang $(CPPFLAGS) -O1 -g -fsanitize=fuzzer,address,undefined $$f build-fuzz/libb4k.a \
	    $(LDLIBS) -o build-fuzz/fuzz/$$n || exit 1; done

bench: all
	bash test/bench/run.sh

parity: all
	bash test/parity/run.sh

demo: deps all
	bash test/demo.sh

deps:
	@bash .ci/deps.sh

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1 \
	  $(DESTDIR)$(PREFIX)/share/man/man5 $(DESTDIR)$(PREFIX)/share/man/man7
	install -m 755 $(PROGS) $(DESTDIR)$(PREFIX)/bin/
	for s in 1 5 7; do for m in man/*.$$s; do [ -e "$$m" ] || continue; \
	  install -m 644 "$$m" $(DESTDIR)$(PREFIX)/share/man/man$$s/ || exit 1; done; done
	if [ -f $(JIEBA_DATA) ]; then install -D -m 644 $(JIEBA_DATA) $(DESTDIR)$(PREFIX)/share/b4k/jieba.b4kj; fi

clean:
	rm -rf build build-asan build-fuzz bin lib/libb4k.a

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

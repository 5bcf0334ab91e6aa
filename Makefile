# rapporteur: thin wrapper over CMake and CTest (docs/design.md describes the build).
#   make                 configure and build in build/
#   make run             install deps, build, estimate the UK 2013 data (scripts/run-main)
#   make test            install deps, build, run ctest in build/
#   make test SANITIZE=1 the same with ASan + UBSan in build-san/
#   make bench           Release build in build-bench/, run every bench/bench_*.c
#   make eval-mse        Release build in build-bench/, run the MSE coverage study
#   make eval-encode     Release build in build-bench/, link FEBRL4 through the encoding
#                        (library route, then the CLI chain: scripts/eval-febrl4-cli)
#   make eval-link       Release build in build-bench/: linkage quality on every benchmark set
#                        (clear text and CLKs) and the import -> link -> estimate chain
#   make fuzz FUZZ_TIME=60  clang + libFuzzer build in build-fuzz/, each target N seconds
#   make format-check | format | tidy | clean

MAKEFLAGS  += --no-print-directory

JOBS       ?= 2
FUZZ_TIME  ?= 60
SANITIZE   ?=
CMAKE      ?= cmake
CTEST      ?= ctest
CLANG_FORMAT ?= clang-format
RUN_CLANG_TIDY ?= $(shell command -v run-clang-tidy-14 || command -v run-clang-tidy)

BENCH_DIR  ?= build-bench
FUZZ_DIR   ?= build-fuzz

ifeq ($(SANITIZE),1)
BUILD_DIR   ?= build-san
CMAKE_FLAGS += -DRP_SANITIZE=ON
else
BUILD_DIR   ?= build
endif

# Every C file we own (third-party code never lives in these directories).
FORMAT_FILES = $(shell find include src cli tests fuzz bench web \
                   \( -path tests/fixtures -o -path tests/golden -o -path fuzz/corpus \) -prune \
                   -o -type f \( -name '*.c' -o -name '*.h' \) -print 2>/dev/null | sort)

.PHONY: all build configure deps run test bench eval-mse eval-encode eval-link fuzz format format-check tidy clean

all: build

deps:
	@scripts/install-deps

configure:
	$(CMAKE) -S . -B $(BUILD_DIR) $(CMAKE_FLAGS)

build: configure
	$(CMAKE) --build $(BUILD_DIR) -j$(JOBS)

run:
	@scripts/run-main

# ctest runs last so that its summary line ends the output.
test: deps
	$(CMAKE) -S . -B $(BUILD_DIR) $(CMAKE_FLAGS)
	$(CMAKE) --build $(BUILD_DIR) -j$(JOBS)
	$(CTEST) --test-dir $(BUILD_DIR) --output-on-failure --no-label-summary

bench: deps
	$(CMAKE) -S . -B $(BENCH_DIR) -DCMAKE_BUILD_TYPE=Release -DRP_BUILD_TESTS=OFF
	$(CMAKE) --build $(BENCH_DIR) -j$(JOBS)
	@scripts/run-bench $(BENCH_DIR)

# EVAL_ARGS goes to eval_mse, e.g. make eval-mse EVAL_ARGS="--bootstrap 200".
eval-mse: deps
	$(CMAKE) -S . -B $(BENCH_DIR) -DCMAKE_BUILD_TYPE=Release -DRP_BUILD_TESTS=OFF
	$(CMAKE) --build $(BENCH_DIR) -j$(JOBS) --target eval_mse
	$(BENCH_DIR)/bench/eval_mse $(EVAL_ARGS)

# EVAL_ARGS goes to eval_encode too, e.g. make eval-encode EVAL_ARGS="--address street".
eval-encode: deps
	$(CMAKE) -S . -B $(BENCH_DIR) -DCMAKE_BUILD_TYPE=Release -DRP_BUILD_TESTS=OFF
	$(CMAKE) --build $(BENCH_DIR) -j$(JOBS) --target eval_encode rapporteur
	$(BENCH_DIR)/bench/eval_encode $(EVAL_ARGS)
	@scripts/eval-febrl4-cli $(BENCH_DIR)/rapporteur

# EVAL_ARGS goes to eval_link too, e.g. make eval-link EVAL_ARGS="--threads 2".
eval-link: deps
	$(CMAKE) -S . -B $(BENCH_DIR) -DCMAKE_BUILD_TYPE=Release -DRP_BUILD_TESTS=OFF
	$(CMAKE) --build $(BENCH_DIR) -j$(JOBS) --target eval_link eval_encode rapporteur
	$(BENCH_DIR)/bench/eval_link $(EVAL_ARGS)
	$(BENCH_DIR)/bench/eval_encode
	@scripts/eval-chain $(BENCH_DIR)/rapporteur

fuzz: deps
	$(CMAKE) -S . -B $(FUZZ_DIR) -DCMAKE_C_COMPILER=clang -DRP_FUZZ=ON \
	    -DRP_BUILD_TESTS=OFF -DRP_BUILD_BENCH=OFF
	$(CMAKE) --build $(FUZZ_DIR) -j$(JOBS)
	@scripts/run-fuzz $(FUZZ_DIR) $(FUZZ_TIME)

format-check:
	$(CLANG_FORMAT) --dry-run --Werror $(FORMAT_FILES)

format:
	$(CLANG_FORMAT) -i $(FORMAT_FILES)

# clang-tidy reads $(BUILD_DIR)/compile_commands.json (CMAKE_EXPORT_COMPILE_COMMANDS).
tidy:
	$(CMAKE) -S . -B $(BUILD_DIR) $(CMAKE_FLAGS)
	@test -n "$(RUN_CLANG_TIDY)" || { echo "tidy: run-clang-tidy not found" >&2; exit 1; }
	$(RUN_CLANG_TIDY) -quiet -j $(JOBS) -p $(BUILD_DIR) '$(CURDIR)/(src|cli)/'

clean:
	rm -rf build build-san $(BENCH_DIR) $(FUZZ_DIR) out

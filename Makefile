# dealsh — set-up is two commands: `make run` and `make test`.
SWIFT   ?= swift
PREFIX  ?= /usr/local
SUDO    := $(if $(filter 0,$(shell id -u)),,sudo)
DEBUG   := .build/debug/dealsh
RELEASE := .build/release/dealsh

.PHONY: run test bench fuzz install deps test-deps release build unit transcripts terminal report clean example-plugin readme

# libedit is the one system library dealsh links.
deps:
	@pkg-config --exists libedit 2>/dev/null || { \
	  echo "installing libedit-dev"; \
	  $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq libedit-dev pkg-config >/dev/null; }

# The terminal tests drive the real shell in tmux.
test-deps: deps
	@command -v tmux >/dev/null 2>&1 || { \
	  echo "installing tmux"; \
	  $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq tmux >/dev/null; }
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing chromium (the credit memo is checked in a headless browser)"; \
	  $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium >/dev/null; }
	@command -v cc >/dev/null 2>&1 || { \
	  echo "installing a C compiler (the plugin tests build a plugin written in C)"; \
	  $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq gcc libc6-dev >/dev/null; }

# Release builds start in about 3 ms: the Swift runtime and Foundation linked
# in (no shared-library lookups at start), and a position-dependent executable,
# whose ~77,000 pointers in Swift metadata need no relocation at load (README
# "Performance"). The bench is built the same way, so neither rebuilds the other.
#
# Release builds are for the CPU they are built on (`-target-cpu native`) where
# it is an x86-64 with AVX2, FMA and BMI2 (x86-64-v3: every x86 server of the
# last decade): `shock mc` fills its paths four at a time in SIMD lanes, and
# with AVX2 (AVX-512 where present) it runs 10-15 % faster, with the same
# numbers to the bit (Swift's arithmetic forms no fused multiply-adds; the
# transcripts replay unchanged). `make release CPU=x86-64` builds a binary for
# any x86-64; CPU=haswell one that valgrind can run (it has no AVX-512); CPU=
# the compiler's default.
CPU ?= $(shell grep -qw avx2 /proc/cpuinfo 2>/dev/null && grep -qw fma /proc/cpuinfo && grep -qw bmi2 /proc/cpuinfo && echo native)
RELEASE_FLAGS := --static-swift-stdlib -Xswiftc -Xclang-linker -Xswiftc -no-pie $(if $(CPU),-Xswiftc -target-cpu -Xswiftc $(CPU))

release: deps
	$(SWIFT) build -c release $(RELEASE_FLAGS) --product dealsh

# An untitled copy of the example: a plain 'save' cannot overwrite the shipped
# file (its transcript checks it); 'save NAME' keeps the changes.
run: release
	@$(RELEASE) --copy Sessions/neocloud-abl.deal

install: release
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 755 $(RELEASE) $(DESTDIR)$(PREFIX)/bin/dealsh
	@echo "installed $(DESTDIR)$(PREFIX)/bin/dealsh"

build: deps
	$(SWIFT) build --build-tests
	$(SWIFT) build --product DealshHeadroom

# The example plugin (Plugins/ExampleHeadroom), a shared library loaded with
# 'plugin load PATH'; the last line printed is its path.
example-plugin: deps
	@$(SWIFT) build -c release --product DealshHeadroom >&2
	@echo "$$(cd .build/release && pwd)/libDealshHeadroom.so"

# Every test: unit and transcript tests (swift test), the transcripts again
# through the real command line, and the terminal tests in tmux.
test: test-deps build unit transcripts terminal report

unit:
	$(SWIFT) test --skip-build

transcripts:
	@$(DEBUG) run --check Sessions/*.transcript Tests/Transcripts/*.transcript

terminal:
	@bash Tests/Terminal/run.sh $(DEBUG)

report:
	@bash Tests/Report/run.sh $(DEBUG)

# The Monte Carlo reference needs numpy: from the system, else from PyPI
# into a virtual environment under .build/.
BENCH_PY = .build/bench-venv/bin/python3
bench: release
	$(SWIFT) build -c release $(RELEASE_FLAGS) --product dealsh-bench
	.build/release/dealsh-bench $(RELEASE)
	@if python3 -c 'import numpy' 2>/dev/null; then py=python3; else \
	  [ -x $(BENCH_PY) ] || { python3 -m venv .build/bench-venv && .build/bench-venv/bin/pip install -q numpy; }; py=$(BENCH_PY); fi; \
	  $$py Tests/Bench/mc_reference.py .build/release/dealsh

# The README's command blocks are transcripts checked by 'make test'
# (Tests/DealShellTests/ReadmeTests.swift). After a change to what the shell
# prints, this writes the new output into the blocks that differ; review the
# diff of README.md.
readme: build
	DEALSH_RECORD_README=1 $(SWIFT) test --skip-build --filter ReadmeTests

# libFuzzer targets (lexer, session decoder, transcript parser), each for
# FUZZ_SECONDS, seeded with the files in Sessions/ and Tests/Transcripts/.
# Fails on a crash; the input is kept in fuzz-out/ (add it to Tests/Fuzz/Regressions).
FUZZ_SECONDS ?= 60
# FUZZ_RUNS=N stops each target after N inputs instead (within FUZZ_SECONDS).
FUZZ_RUNS ?=
# FUZZ_TARGETS=check picks targets (all by default). The check target takes
# inputs of up to 1 KiB (its diff is quadratic in the lines), the others 8 KiB.
FUZZ_TARGETS ?= lexer session transcript check csv
fuzz: deps
	DEALSH_FUZZ=1 $(SWIFT) build -c release --sanitize=fuzzer --product DealFuzz --scratch-path .build-fuzz
	@rm -rf fuzz-out && mkdir -p fuzz-out/lexer fuzz-out/session fuzz-out/transcript fuzz-out/check fuzz-out/csv
	@cp Sessions/*.dsh Tests/Transcripts/*.dsh Tests/Fuzz/Regressions/* fuzz-out/lexer/
	@cp Sessions/*.deal fuzz-out/session/
	@cp Sessions/*.transcript Tests/Transcripts/*.transcript fuzz-out/transcript/
	@cp Tests/Fuzz/Seeds/transcript/* fuzz-out/transcript/
	@cp Tests/Fuzz/Seeds/check/* fuzz-out/check/
	@cp Tests/Fuzz/Seeds/csv/* fuzz-out/csv/
	@for t in $(FUZZ_TARGETS); do \
	  echo "fuzzing $$t for $(FUZZ_SECONDS) s"; \
	  SWIFT_BACKTRACE=enable=no DEALSH_FUZZ_TARGET=$$t .build-fuzz/release/DealFuzz fuzz-out/$$t \
	    -max_total_time=$(FUZZ_SECONDS) $(if $(FUZZ_RUNS),-runs=$(FUZZ_RUNS)) -max_len=$$(if [ $$t = check ]; then echo 1024; else echo 8192; fi) -artifact_prefix=fuzz-out/crash-$$t- -print_final_stats=1 2>&1 \
	    | grep -E "^Done|stat::number_of_executed_units|ERROR|Test unit written" || true; \
	  if ls fuzz-out/crash-$$t-* >/dev/null 2>&1; then echo "crash in $$t: see fuzz-out/"; exit 1; fi; \
	done

clean:
	rm -rf .build

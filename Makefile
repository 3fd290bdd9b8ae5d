# dealsh — set-up is two commands: `make run` and `make test`.
SWIFT   ?= swift
PREFIX  ?= /usr/local
SUDO    := $(if $(filter 0,$(shell id -u)),,sudo)
DEBUG   := .build/debug/dealsh
RELEASE := .build/release/dealsh

.PHONY: run test bench install deps test-deps release build unit transcripts terminal clean

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

release: deps
	$(SWIFT) build -c release --product dealsh

run: release
	$(RELEASE) Sessions/neocloud-abl.deal

install: release
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 755 $(RELEASE) $(DESTDIR)$(PREFIX)/bin/dealsh
	@echo "installed $(DESTDIR)$(PREFIX)/bin/dealsh"

build: deps
	$(SWIFT) build --build-tests

# Every test: unit and transcript tests (swift test), the transcripts again
# through the real command line, and the terminal tests in tmux.
test: test-deps build unit transcripts terminal

unit:
	$(SWIFT) test --skip-build

transcripts:
	@$(DEBUG) run --check Sessions/*.transcript Tests/Transcripts/*.transcript

terminal:
	@bash Tests/Terminal/run.sh $(DEBUG)

bench: deps
	$(SWIFT) build -c release
	.build/release/dealsh-bench $(RELEASE)

clean:
	rm -rf .build

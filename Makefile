# Headroom's entry points. Every target runs `setup` first: it is idempotent and takes a
# few seconds once everything is installed.
SWIFT ?= swift
BIN := .build/debug/headroom

.PHONY: setup build test demo doctor release clean

setup:
	@bash Scripts/bootstrap.sh

build: setup
	$(SWIFT) build

# Swift Testing runs tests in parallel by default; the leak tests count live libtorch
# handles process-wide, so the suite runs serially (it takes seconds either way).
test: setup
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build --no-parallel

demo: build
	$(BIN) doctor
	$(BIN) demo

doctor: build
	$(BIN) doctor

release: setup
	$(SWIFT) build -c release

clean:
	rm -rf .build

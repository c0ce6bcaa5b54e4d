# Headroom's entry points. Every target runs `setup` first: it is idempotent and takes a
# few seconds once everything is installed.
SWIFT ?= swift
BIN := .build/debug/headroom

.PHONY: setup build test test-portability demo doctor release bench clean

setup:
	@bash Scripts/bootstrap.sh

build: setup
	$(SWIFT) build

# Swift Testing runs tests in parallel by default; the leak tests count live libtorch
# handles process-wide, so the suite runs serially (it takes seconds either way).
# The explicit import check makes the layers of Package.swift binding: a target that imports
# one it does not depend on fails the build (docs/architecture.md).
test: setup
	$(SWIFT) build --build-tests --explicit-target-dependency-import-check error
	$(SWIFT) test --skip-build --no-parallel

# The suite again with libtorch, oneDNN and MKL forced to lower instruction sets (SSE4.1,
# then AVX2): it must pass on any x86-64, not only on this CPU. Prints each comparison's
# margin to its bound. See Scripts/test-portability.sh.
test-portability: setup
	$(SWIFT) build --build-tests --explicit-target-dependency-import-check error
	bash Scripts/test-portability.sh

demo: build
	$(BIN) doctor
	$(BIN) demo

doctor: build
	$(BIN) doctor

# Benchmarks against PyTorch in the same run: a peer venv with the same libtorch
# (torch 2.11.0, torchvision 0.26.0), then every script in bench/; writes bench/RESULTS.md.
PEER := bench/.venv
bench: build
	@test -x $(PEER)/bin/python || (python3 -m venv $(PEER) && $(PEER)/bin/pip install --quiet torch==2.11.0 torchvision==0.26.0 pillow scikit-learn==1.9.1)
	@$(PEER)/bin/python -c "import onnxruntime, safetensors" 2>/dev/null || $(PEER)/bin/pip install --quiet onnx==1.20.0 onnxruntime==1.32.0 safetensors==0.7.0
	@$(PEER)/bin/python -c "import tifffile" 2>/dev/null || $(PEER)/bin/pip install --quiet tifffile==2026.3.3
	@$(PEER)/bin/python -c "import openslide, imagecodecs" 2>/dev/null || $(PEER)/bin/pip install --quiet openslide-python==1.4.7 openslide-bin==4.0.1.2 imagecodecs==2026.3.6
	$(PEER)/bin/python bench/memory_planner.py
	$(PEER)/bin/python bench/train_step.py
	$(PEER)/bin/python bench/train_step.py --channels-last --output train_step_channels_last.md
	$(PEER)/bin/python bench/loader.py
	$(PEER)/bin/python bench/samples.py
	$(PEER)/bin/python bench/slides.py
	$(PEER)/bin/python bench/epoch.py
	$(PEER)/bin/python bench/checkpointing.py
	$(PEER)/bin/python bench/streaming.py
	$(PEER)/bin/python bench/streaming_price.py
	bash bench/streamed_planning.sh
	$(PEER)/bin/python bench/layer_costs.py
	$(PEER)/bin/python bench/oom_recipe.py
	$(PEER)/bin/python bench/distributed.py
	$(PEER)/bin/python bench/defaults.py
	$(PEER)/bin/python bench/recipe.py
	$(PEER)/bin/python bench/onnx_export.py
	$(PEER)/bin/python bench/family.py
	bash bench/collect-results.sh > bench/RESULTS.md

release: setup
	$(SWIFT) build -c release

clean:
	rm -rf .build

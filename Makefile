# Thin wrapper around CMake. Every target does the set-up it needs (idempotent).
#   make run    install deps + models, build, start the service
#   make test   install deps + models, build (normal + ASan/UBSan), run all tests; then every
#               fuzz target briefly on its corpus (clang) and the threaded code under TSan
#   make bench  install deps + models, build, run benchmarks into bench/results/
#   make fuzz   every libFuzzer target for FUZZ_SECONDS (60) each
#   make soak   several sessions at capacity for SOAK_SECONDS (600): RSS, losses, latency
#   make valgrind  memcheck of the service on a short end-to-end run
#   make train  retrain the nail segmentation and outline models into assets/nailseg/ (CPU, ~1.5 h)
# What each run checks and the figures of the last one: docs/reliability.md.
BUILD ?= build
BUILD_SAN ?= build-asan
BUILD_FUZZ ?= build-fuzz
BUILD_TSAN ?= build-tsan
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=
FUZZ_SECONDS ?= 60
FUZZ_TEST_SECONDS ?= 20
SOAK_SECONDS ?= 600
# The TSan run: the two-task helper and the tracker's concurrent second-hand search, the
# worker pool, sessions and try-on units, and the service end to end
# (loop thread, workers, fetcher thread) in the e2e files that stress them most.
TSAN_TESTS ?= ^(unit/base/test_duo|unit/hand/test_tracker|unit/service/test_(workers|session)|unit/tryon/test_tryon|e2e/test_(session_flow|backpressure|faults_shutdown|faults_reference))$$

.PHONY: all deps test-deps models build build-asan run test test-unit test-asan test-fuzz \
	test-tsan fuzz soak valgrind bench train clean

all: build

deps:
	@scripts/deps.sh

test-deps:
	@scripts/deps.sh --test

models: deps
	@scripts/fetch-models.sh

$(BUILD)/Makefile: CMakeLists.txt
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_FLAGS)

build: deps $(BUILD)/Makefile
	cmake --build $(BUILD) -j $(JOBS)

build-asan: deps
	cmake -S . -B $(BUILD_SAN) -DCMAKE_BUILD_TYPE=Debug -DLQ_SANITIZE=ON -DLQ_WERROR=ON $(CMAKE_FLAGS)
	cmake --build $(BUILD_SAN) -j $(JOBS)

run: models build
	$(BUILD)/lacquer serve

test: test-deps models
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLQ_WERROR=ON $(CMAKE_FLAGS)
	cmake --build $(BUILD) -j $(JOBS)
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)
	$(MAKE) --no-print-directory test-asan
	$(MAKE) --no-print-directory test-fuzz
	$(MAKE) --no-print-directory test-tsan

test-asan: build-asan
	cd $(BUILD_SAN) && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  LQ_SANITIZED=1 ctest --output-on-failure -j $(JOBS) -LE slow

# libFuzzer targets (tests/fuzz) in their own clang build: replay each corpus, then fuzz.
define fuzz_run
	CC=clang cmake -S . -B $(BUILD_FUZZ) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLQ_FUZZ=ON \
	  -DLQ_WERROR=ON -DLQ_FUZZ_SECONDS=$(1) $(CMAKE_FLAGS)
	cmake --build $(BUILD_FUZZ) -j $(JOBS) --target lq_fuzzers
	cd $(BUILD_FUZZ) && ctest --output-on-failure -j $(JOBS) -L fuzz
endef

test-fuzz: deps
	$(call fuzz_run,$(FUZZ_TEST_SECONDS))

fuzz: deps
	$(call fuzz_run,$(FUZZ_SECONDS))

test-tsan: test-deps models
	cmake -S . -B $(BUILD_TSAN) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLQ_TSAN=ON -DLQ_WERROR=ON \
	  $(CMAKE_FLAGS)
	cmake --build $(BUILD_TSAN) -j $(JOBS) --target lacquer service_test_workers \
	  service_test_session tryon_test_tryon base_test_duo hand_test_tracker
	cd $(BUILD_TSAN) && TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" LQ_SANITIZED=1 \
	  ctest --output-on-failure -j $(JOBS) -R '$(TSAN_TESTS)'

soak: test-deps models build
	cd tests/e2e && LACQUER_BIN=$(CURDIR)/$(BUILD)/lacquer SOAK_SECONDS=$(SOAK_SECONDS) \
	  SOAK_REPORT=$(CURDIR)/$(BUILD)/soak-report.json /usr/bin/python3 -m pytest -q -s \
	  -p no:cacheprovider test_soak.py
	@echo "soak figures: $(BUILD)/soak-report.json"

valgrind: test-deps models build
	cd $(BUILD) && ctest --output-on-failure -R '^e2e/test_valgrind$$'

# The service rows load one server from one address (127.0.0.1), and the HTTP/2 row opens
# a connection per request: the per-address connection limits (docs/security.md) are a
# policy, not a cost, so they are off for the benchmark.
bench: models build
	@mkdir -p bench/results
	CONN_RATE_PER_ADDR=0 MAX_CONNS_PER_ADDR=0 $(BUILD)/lacquer-bench --out bench/results

train:
	scripts/train/train.sh

clean:
	rm -rf $(BUILD) $(BUILD_SAN) $(BUILD_FUZZ) $(BUILD_TSAN)

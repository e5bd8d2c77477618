# Thin wrapper around CMake. Every target does the set-up it needs (idempotent).
#   make run    install deps + models, build, start the service
#   make test   install deps + models, build (normal + ASan/UBSan), run all tests
#   make bench  install deps + models, build, run benchmarks into bench/results/
BUILD ?= build
BUILD_SAN ?= build-asan
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=

.PHONY: all deps test-deps models build build-asan run test test-unit test-asan bench clean

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

test-asan: build-asan
	cd $(BUILD_SAN) && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  LQ_SANITIZED=1 ctest --output-on-failure -j $(JOBS) -LE slow

bench: models build
	@mkdir -p bench/results
	$(BUILD)/lacquer-bench --out bench/results

clean:
	rm -rf $(BUILD) $(BUILD_SAN)

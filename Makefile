# The two commands: `make run` and `make test`. Every target installs what
# is missing first (scripts/install-deps.sh).
JOBS ?= $(shell nproc)
BUILD_DIR ?= build
TEST_DIR ?= build-test
TEST_RELEASE_DIR ?= build-test-release
FUZZ_DIR ?= build-fuzz
PORT ?= 4566
DATA_DIR ?= ./.kyoka

.PHONY: all run build test bench fuzz deps clean coverage models

all: build

deps:
	@sh scripts/install-deps.sh build

build: deps
	@cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DKYOKA_STATIC_DEPS=ON -DKYOKA_TESTS=OFF >/dev/null
	@cmake --build $(BUILD_DIR) -j $(JOBS)

run: build
	./$(BUILD_DIR)/kyoka serve --port $(PORT) --data-dir $(DATA_DIR)

test:
	@sh scripts/install-deps.sh test
	@cmake -S . -B $(TEST_DIR) -DCMAKE_BUILD_TYPE=Debug -DKYOKA_ASAN=ON -DKYOKA_UBSAN=ON -DKYOKA_TESTS=ON >/dev/null
	@cmake --build $(TEST_DIR) -j $(JOBS)
	@cd $(TEST_DIR) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --output-on-failure -j $(JOBS) --timeout 600
	@# The integration tests again against the release binary: the small-object
	@# allocator, the message slab and huge pages only run there (sanitizer
	@# builds use malloc so that they can see every block).
	@cmake -S . -B $(TEST_RELEASE_DIR) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DKYOKA_STATIC_DEPS=ON -DKYOKA_TESTS=ON >/dev/null
	@cmake --build $(TEST_RELEASE_DIR) -j $(JOBS) --target kyoka
	@cd $(TEST_RELEASE_DIR) && ctest --output-on-failure -j $(JOBS) --timeout 600 -R '^it_'

bench: build
	@sh scripts/install-deps.sh bench
	@sh bench/run.sh $(BUILD_DIR)/kyoka

fuzz:
	@sh scripts/install-deps.sh fuzz
	@CC=clang cmake -S . -B $(FUZZ_DIR) -DCMAKE_BUILD_TYPE=Debug -DKYOKA_FUZZ=ON -DKYOKA_ASAN=ON -DKYOKA_UBSAN=ON >/dev/null
	@cmake --build $(FUZZ_DIR) -j $(JOBS)
	@sh tests/fuzz/run.sh $(FUZZ_DIR) $${FUZZ_SECONDS:-60}

coverage:
	@/usr/bin/python3 tools/coverage.py > docs/coverage.md.tmp && mv docs/coverage.md.tmp docs/coverage.md

clean:
	rm -rf $(BUILD_DIR) $(TEST_DIR) $(TEST_RELEASE_DIR) $(FUZZ_DIR)

models:
	@/usr/bin/python3 tools/gen_models.py > src/protocol/models_gen.c.tmp && mv src/protocol/models_gen.c.tmp src/protocol/models_gen.c

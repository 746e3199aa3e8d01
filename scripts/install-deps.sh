#!/bin/sh
# Install what kyoka's build and tests need on Debian, only what is missing.
# Every make target calls this first, so a fresh machine (or CI on a clean
# clone) needs nothing installed by hand. Reasons for each package are in
# docs/dependencies.md.
set -e
BUILD_PKGS="cmake make gcc pkg-config libuv1-dev node-llhttp libssl-dev libsqlite3-dev libjansson-dev libexpat1-dev libyaml-dev libzip-dev zlib1g-dev"
# What functions run with: the sandbox, the interpreters, and the SDKs that
# AWS's runtimes provide without packaging (boto3 for python; the JavaScript
# SDK v3 for node comes from npm below).
RUN_PKGS="bubblewrap python3 python3-boto3 nodejs npm"
# g++ and xz-utils build AWS's Lambda runtime interface client (aws-lambda-ric,
# a native addon) that the Lambda tests run as a bootstrap.
TEST_PKGS="libcmocka-dev awscli python3-boto3 python3-botocore python3-debugpy nodejs npm curl g++ xz-utils"
BENCH_PKGS="wrk"
FUZZ_PKGS="clang libclang-rt-14-dev"

want="$BUILD_PKGS $RUN_PKGS"
case "$1" in
  test) want="$BUILD_PKGS $RUN_PKGS $TEST_PKGS" ;;
  bench) want="$BUILD_PKGS $RUN_PKGS $TEST_PKGS $BENCH_PKGS" ;;
  fuzz) want="$BUILD_PKGS $RUN_PKGS $TEST_PKGS $FUZZ_PKGS" ;;
esac

# A package several lists name is checked once.
want=$(echo $want | tr ' ' '\n' | sort -u | tr '\n' ' ')
missing=""
for p in $want; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
# node and npm may come from outside Debian's packages on some machines; a
# working node >= 18 and npm are enough.
case "$missing" in
  *nodejs*|*npm*)
    if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then
      missing=$(echo "$missing" | sed -e 's/ nodejs\b//g' -e 's/ npm\b//g')
    fi ;;
esac
if [ -n "$(echo $missing)" ]; then
  echo "kyoka: installing Debian packages:$missing" >&2
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

# The JavaScript SDK v3 that node functions import without packaging it,
# pinned by the committed package-lock.json (kyoka mounts it at
# /var/runtime/node_modules, as AWS's nodejs runtimes have it).
if [ ! -d tools/lambda-sdk/node_modules/@aws-sdk/client-sts ] || [ tools/lambda-sdk/package-lock.json -nt tools/lambda-sdk/node_modules/.package-lock.json ]; then
  echo "kyoka: installing the SDK for node functions (tools/lambda-sdk)" >&2
  (cd tools/lambda-sdk && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
fi

# JavaScript SDK v3 clients for the integration tests, pinned by the
# committed package-lock.json.
if [ "$1" = "test" ] || [ "$1" = "bench" ] || [ "$1" = "fuzz" ]; then
  if [ ! -d tests/js/node_modules/@aws-sdk/client-sqs ] || [ tests/js/package-lock.json -nt tests/js/node_modules/.package-lock.json ]; then
    echo "kyoka: installing npm test clients (tests/js)" >&2
    (cd tests/js && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  fi
  # AWS's own runtime interface client, which a Lambda test runs unchanged
  # as a provided bootstrap. Building its addon takes a minute or two once.
  if [ ! -f tests/integration/50-lambda/ric/node_modules/aws-lambda-ric/package.json ] || [ tests/integration/50-lambda/ric/package-lock.json -nt tests/integration/50-lambda/ric/node_modules/.package-lock.json ]; then
    echo "kyoka: installing AWS's Lambda runtime interface client (tests/integration/50-lambda/ric; builds a native addon)" >&2
    (cd tests/integration/50-lambda/ric && npm ci --no-audit --no-fund --loglevel=error >/dev/null) || echo "kyoka: aws-lambda-ric did not install; its test says so and skips" >&2
  fi
  # make bench's Lambda peer (lambda-local).
  if [ "$1" = "bench" ] && { [ ! -d bench/peers/node_modules/lambda-local ] || [ bench/peers/package-lock.json -nt bench/peers/node_modules/.package-lock.json ]; }; then
    echo "kyoka: installing the bench peers (bench/peers)" >&2
    (cd bench/peers && npm ci --no-audit --no-fund --loglevel=error >/dev/null) || echo "kyoka: bench peers not installed; the bench says so" >&2
  fi
  # The IAM differential test's peer, also used by make bench's IAM figures.
  if [ ! -d tests/integration/35-iam-differential/node_modules/@cloud-copilot/iam-simulate ] || [ tests/integration/35-iam-differential/package-lock.json -nt tests/integration/35-iam-differential/node_modules/.package-lock.json ]; then
    echo "kyoka: installing the IAM differential test's peer (tests/integration/35-iam-differential)" >&2
    (cd tests/integration/35-iam-differential && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  fi
fi

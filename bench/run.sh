#!/bin/sh
# make bench: kyoka's figures and the peers' figures from the same run, on
# this machine. Peers that are not installed are reported as absent.
#   1. signed STS GetCallerIdentity: requests/s and latency (wrk) vs moto
#   2. start-up to first answered request, and idle RSS, vs moto
#   3. SQS workloads (bench/sqs_bench) vs moto, when built
#   4. IAM policy decisions (bench/iam_bench) vs @cloud-copilot/iam-simulate
#   5. Lambda cold and warm invokes, idle memory (bench/lambda_bench.py) vs lambda-local
#   6. CloudWatch Logs ingest and filter scan (bench/logs_bench) vs moto
#   7. Lambda asynchronous invokes accepted and completed (bench/lambda_async_bench.py) vs moto
#   8. SQS -> Lambda -> SQS through an event source mapping (bench/esm_bench.py)
#   9. EventBridge event patterns: ns/event for 10, 1,000 and 10,000 patterns (bench/pattern_bench) vs the naive loop
#  10. Kinesis PutRecords (1 KiB records, 100 a request, durable) and GetRecords (bench/kinesis_bench) vs kinesalite
#  12. Lambda hot reload: an edit on disk to the first invocation that sees it, warm invokes from a directory vs a zip (bench/hot_reload_bench.py)
set -e
KYOKA="$(readlink -f "${1:-build/kyoka}")"
BUILD_DIR="$(dirname "$KYOKA")"
HERE="$(cd "$(dirname "$0")" && pwd)"
DUR="${BENCH_SECONDS:-10}"
TMP="$(mktemp -d)"
MOTO_PORT=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
PY=/usr/bin/python3
MOTO_PY=""
for p in python3 /usr/bin/python3; do
  if "$p" -c "import moto.server" 2>/dev/null; then MOTO_PY="$p"; break; fi
done

cleanup() {
  [ -n "$KPID" ] && kill "$KPID" 2>/dev/null || true
  [ -n "$MPID" ] && kill "$MPID" 2>/dev/null || true
  [ -n "$KLPID" ] && kill "$KLPID" 2>/dev/null || true
  rm -rf "$TMP"
}
trap cleanup EXIT

wait_port() {
  for i in $(seq 1 300); do
    curl -s -o /dev/null "http://127.0.0.1:$1$2" && return 0
    sleep 0.05
  done
  echo "bench: server on port $1 did not answer" >&2
  return 1
}

echo "== kyoka bench ($(nproc) cores, ${DUR}s per load) =="
# kyoka picks its own free port and writes it down: a fixed port may be busy.
"$KYOKA" serve --port 0 --port-file "$TMP/port" --data-dir "$TMP/data" --quiet > "$TMP/kyoka.log" 2>&1 &
KPID=$!
for i in $(seq 1 200); do
  [ -s "$TMP/port" ] && break
  kill -0 "$KPID" 2>/dev/null || { echo "bench: kyoka exited at start:" >&2; cat "$TMP/kyoka.log" >&2; exit 1; }
  sleep 0.05
done
PORT=$(cat "$TMP/port")
wait_port $PORT /_kyoka/health

echo "-- 1. signed sts:GetCallerIdentity (SigV4 verified on every request), wrk -t2 -c64"
$PY "$HERE/sign_request.py" "http://127.0.0.1:$PORT/" sts "Action=GetCallerIdentity&Version=2011-06-15" "$TMP/gci.lua"
printf "kyoka: "
wrk -t2 -c64 -d"${DUR}s" -s "$TMP/gci.lua" "http://127.0.0.1:$PORT/" | grep '^rps='
if [ -n "$MOTO_PY" ]; then
  "$MOTO_PY" -m moto.server -p $MOTO_PORT > "$TMP/moto.log" 2>&1 &
  MPID=$!
  wait_port $MOTO_PORT /moto-api/ || true
  $PY "$HERE/sign_request.py" "http://127.0.0.1:$MOTO_PORT/" sts "Action=GetCallerIdentity&Version=2011-06-15" "$TMP/gci-moto.lua"
  printf "moto (peer): "
  wrk -t2 -c8 -d"${DUR}s" -s "$TMP/gci-moto.lua" "http://127.0.0.1:$MOTO_PORT/" | grep '^rps=' || echo "failed"
else
  echo "moto (peer): absent (python3 -m moto.server not importable)"
fi

echo "-- 2. start-up to first answered request, idle RSS (median of 9 runs)"
printf "kyoka: "
"$BUILD_DIR/startup_bench" 9 -- "$KYOKA" serve --port "{PORT}" --ephemeral --quiet
if [ -n "$MOTO_PY" ]; then
  printf "moto (peer): "
  "$BUILD_DIR/startup_bench" 3 --path /moto-api/ -- "$MOTO_PY" -m moto.server -p "{PORT}" || echo "failed"
fi

if [ -x "$BUILD_DIR/sqs_bench" ]; then
  echo "-- 3. SQS (durable store on)"
  echo "kyoka:"
  "$BUILD_DIR/sqs_bench" "http://127.0.0.1:$PORT" "$DUR" --server-pid "$KPID"
  if [ -n "$MOTO_PY" ]; then
    echo "moto (peer):"
    "$BUILD_DIR/sqs_bench" "http://127.0.0.1:$MOTO_PORT" 3 --peer --server-pid "$MPID" || echo "moto: failed"
  fi
else
  echo "-- 3. SQS: bench/sqs_bench not built"
fi

if [ -x "$BUILD_DIR/iam_bench" ]; then
  echo "-- 4. IAM policy decisions (bench/iam_scenarios.json, evaluation only)"
  "$BUILD_DIR/iam_bench" "$HERE/iam_scenarios.json" 2 || echo "kyoka: iam_bench failed"
  node "$HERE/iam_peer_bench.mjs" "$HERE/iam_scenarios.json" 2 || echo "iam-simulate (peer): failed"
else
  echo "-- 4. IAM: bench/iam_bench not built"
fi

if [ -x "$BUILD_DIR/lambda_load" ] && [ -x "$BUILD_DIR/lambda_bootstrap" ]; then
  $PY "$HERE/lambda_bench.py" "http://127.0.0.1:$PORT" "$BUILD_DIR" "$KPID" "$DUR" || echo "kyoka: lambda bench failed"
  MOTO_URL=""
  [ -n "$MPID" ] && kill -0 "$MPID" 2>/dev/null && MOTO_URL="http://127.0.0.1:$MOTO_PORT"
  $PY "$HERE/lambda_async_bench.py" "http://127.0.0.1:$PORT" "$BUILD_DIR" "$KPID" "$DUR" $MOTO_URL || echo "kyoka: lambda async bench failed"
  if [ -x "$BUILD_DIR/esm_bench" ] && [ -x "$BUILD_DIR/lambda_relay_bootstrap" ]; then
    $PY "$HERE/esm_bench.py" "http://127.0.0.1:$PORT" "$BUILD_DIR" "$KPID" "${ESM_BENCH_MESSAGES:-10000}" || echo "kyoka: event source mapping bench failed"
  else
    echo "-- 8. event source mapping bench: bench/esm_bench not built"
  fi
else
  echo "-- 5. Lambda: bench/lambda_load not built"
fi

if [ -x "$BUILD_DIR/logs_bench" ]; then
  echo "-- 6. CloudWatch Logs: PutLogEvents (1,000 events a request), FilterLogEvents term scan"
  LOGS_EVENTS="${LOGS_BENCH_EVENTS:-1000000}"
  echo "kyoka ($LOGS_EVENTS events):"
  "$BUILD_DIR/logs_bench" "http://127.0.0.1:$PORT" --events "$LOGS_EVENTS" --server-pid "$KPID" --json > "$TMP/logs-kyoka.json" \
    || echo "kyoka: logs_bench failed"
  $PY -c 'import json,sys; d=json.load(open(sys.argv[1])); print("  ingest %(ingest_events_per_s).0f events/s, %(ingest_cpu_us_per_event).2f us CPU/event; scan %(scan_events_per_s).0f events/s over %(events)d events, %(scan_cpu_us_per_event).3f us CPU/event" % d)' "$TMP/logs-kyoka.json" 2>/dev/null || true
  if [ -n "$MOTO_PY" ]; then
    # moto keeps events in Python lists: a tenth of the events keeps its run short.
    MOTO_EVENTS=$((LOGS_EVENTS / 10))
    echo "moto (peer, $MOTO_EVENTS events):"
    if "$BUILD_DIR/logs_bench" "http://127.0.0.1:$MOTO_PORT" --events "$MOTO_EVENTS" --connections 2 --server-pid "$MPID" --json > "$TMP/logs-moto.json"; then
      $PY -c 'import json,sys; k=json.load(open(sys.argv[1])); m=json.load(open(sys.argv[2])); print("  ingest %.0f events/s, scan %.0f events/s\n  kyoka/moto: ingest x%.1f, scan x%.1f" % (m["ingest_events_per_s"], m["scan_events_per_s"], k["ingest_events_per_s"]/max(m["ingest_events_per_s"],1), k["scan_events_per_s"]/max(m["scan_events_per_s"],1)))' "$TMP/logs-kyoka.json" "$TMP/logs-moto.json" || true
    else
      echo "moto: logs_bench failed"
    fi
  else
    echo "moto (peer): absent (python3 -m moto.server not importable)"
  fi
else
  echo "-- 6. CloudWatch Logs: bench/logs_bench not built"
fi

if [ -x "$BUILD_DIR/pattern_bench" ]; then
  echo "-- 9. EventBridge event patterns: one compiled set vs one pattern at a time (in process, no server)"
  "$BUILD_DIR/pattern_bench" --seconds "${PATTERN_BENCH_SECONDS:-2}" || echo "kyoka: pattern_bench failed"
else
  echo "-- 9. EventBridge event patterns: bench/pattern_bench not built"
fi

if [ -x "$BUILD_DIR/kinesis_bench" ]; then
  echo "-- 10. Kinesis Data Streams: PutRecords (100 x 1 KiB records a request, 4 shards), GetRecords (Limit 10,000)"
  KIN_RECORDS="${KINESIS_BENCH_RECORDS:-1000000}"
  echo "kyoka ($KIN_RECORDS records, durable):"
  "$BUILD_DIR/kinesis_bench" "http://127.0.0.1:$PORT" --records "$KIN_RECORDS" --server-pid "$KPID" --json > "$TMP/kinesis-kyoka.json" \
    || echo "kyoka: kinesis_bench failed"
  $PY -c 'import json,sys; d=json.load(open(sys.argv[1])); print("  put %(put_records_per_s).0f records/s, %(put_cpu_us_per_record).2f us server CPU/record; get %(get_records_per_s).0f records/s (%(get_mb_per_s).1f MB/s), %(get_cpu_us_per_record).2f us server CPU/record" % d)' "$TMP/kinesis-kyoka.json" 2>/dev/null || true
  KINESALITE="$HERE/peers/node_modules/.bin/kinesalite"
  if [ -x "$KINESALITE" ]; then
    KL_PORT=$($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    # kinesalite keeps records in memory (no fsync) and handles one request
    # at a time: a fiftieth of the records keeps its run short.
    "$KINESALITE" --port "$KL_PORT" --createStreamMs 10 --deleteStreamMs 10 --updateStreamMs 10 > "$TMP/kinesalite.log" 2>&1 &
    KLPID=$!
    wait_port "$KL_PORT" / || true
    KL_RECORDS=$((KIN_RECORDS / 50))
    echo "kinesalite (peer, $KL_RECORDS records, in memory):"
    if "$BUILD_DIR/kinesis_bench" "http://127.0.0.1:$KL_PORT" --records "$KL_RECORDS" --connections 8 --server-pid "$KLPID" --json > "$TMP/kinesis-peer.json"; then
      $PY -c 'import json,sys; k=json.load(open(sys.argv[1])); m=json.load(open(sys.argv[2])); print("  put %.0f records/s, %.2f us CPU/record; get %.0f records/s\n  kyoka/kinesalite: put x%.1f, get x%.1f" % (m["put_records_per_s"], m["put_cpu_us_per_record"], m["get_records_per_s"], k["put_records_per_s"]/max(m["put_records_per_s"],1), k["get_records_per_s"]/max(m["get_records_per_s"],1)))' "$TMP/kinesis-kyoka.json" "$TMP/kinesis-peer.json" || true
    else
      echo "kinesalite: kinesis_bench failed"
    fi
    kill "$KLPID" 2>/dev/null || true
    KLPID=""
  else
    echo "kinesalite (peer): absent (run npm install in bench/peers)"
  fi
else
  echo "-- 10. Kinesis: bench/kinesis_bench not built"
fi

if [ -x "$BUILD_DIR/events_bench" ]; then
  echo "-- 11. EventBridge: PutEvents (10 entries a request, 4 connections) delivered to an SQS target, at 10, 1,000 and 10,000 rules"
  EB_EVENTS="${EVENTS_BENCH_EVENTS:-40000}"
  for r in 10 1000 10000; do
    printf "kyoka: "
    "$BUILD_DIR/events_bench" "http://127.0.0.1:$PORT" --rules "$r" --events "$EB_EVENTS" --threads 4 || echo "kyoka: events_bench failed at $r rules"
  done
  if [ -n "$MPID" ] && kill -0 "$MPID" 2>/dev/null; then
    # moto delivers to queue targets in the PutEvents call itself; a tenth
    # of the events and no 10,000-rule run keep it short.
    for r in 10 1000; do
      printf "moto (peer): "
      "$BUILD_DIR/events_bench" "http://127.0.0.1:$MOTO_PORT" --rules "$r" --events $((EB_EVENTS / 10)) --threads 4 || echo "moto: events_bench failed at $r rules"
    done
  else
    echo "moto (peer): absent"
  fi
else
  echo "-- 11. EventBridge: bench/events_bench not built"
fi

if [ -x "$BUILD_DIR/lambda_load" ] && [ -x "$BUILD_DIR/lambda_bootstrap" ]; then
  $PY "$HERE/hot_reload_bench.py" "http://127.0.0.1:$PORT" "$BUILD_DIR" "$KPID" "$DUR" || echo "kyoka: hot reload bench failed"
else
  echo "-- 12. hot reload: bench/lambda_load not built"
fi

if [ -x "$BUILD_DIR/s3_bench" ]; then
  echo "-- 13. S3: PutObject and GetObject of 4 KiB objects (16 in flight), MB/s for 1 MiB objects"
  S3_SECS="${S3_BENCH_SECONDS:-$DUR}"
  echo "kyoka (durable):"
  "$BUILD_DIR/s3_bench" "http://127.0.0.1:$PORT" --seconds "$S3_SECS" --server-pid "$KPID" --json > "$TMP/s3-kyoka.json" \
    || echo "kyoka: s3_bench failed"
  S3_SHOW='import json,sys; d=json.load(open(sys.argv[1])); print("  put %(put_small_ops).0f ops/s (%(put_small_cpu_us).1f us server CPU/op), get %(get_small_ops).0f ops/s (%(get_small_cpu_us).1f us/op); 1 MiB put %(put_large_mbs).1f MB/s, get %(get_large_mbs).1f MB/s" % d)'
  S3_RATIO='import json,sys; k=json.load(open(sys.argv[1])); m=json.load(open(sys.argv[2])); r=lambda a: k[a]/max(m[a],0.1); print("  kyoka/%s: put x%.1f, get x%.1f, 1 MiB put x%.1f, 1 MiB get x%.1f" % (sys.argv[3], r("put_small_ops"), r("get_small_ops"), r("put_large_mbs"), r("get_large_mbs")))'
  $PY -c "$S3_SHOW" "$TMP/s3-kyoka.json" 2>/dev/null || true
  S3RVER="$HERE/peers/node_modules/.bin/s3rver"
  if [ -x "$S3RVER" ]; then
    S3R_PORT=$($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    mkdir -p "$TMP/s3rver"
    # s3rver checks signatures against its own default key pair.
    "$S3RVER" --port "$S3R_PORT" --directory "$TMP/s3rver" --silent > "$TMP/s3rver.log" 2>&1 &
    S3RPID=$!
    wait_port "$S3R_PORT" / || true
    echo "s3rver (peer, files, no fsync):"
    if "$BUILD_DIR/s3_bench" "http://127.0.0.1:$S3R_PORT" --seconds "$S3_SECS" --server-pid "$S3RPID" \
        --access-key S3RVER --secret-key S3RVER --json > "$TMP/s3-s3rver.json"; then
      $PY -c "$S3_SHOW" "$TMP/s3-s3rver.json" || true
      $PY -c "$S3_RATIO" "$TMP/s3-kyoka.json" "$TMP/s3-s3rver.json" s3rver || true
    else
      echo "s3rver: s3_bench failed"
    fi
    kill "$S3RPID" 2>/dev/null || true
    S3RPID=""
  else
    echo "s3rver (peer): absent (run npm install in bench/peers)"
  fi
  if [ -n "$MPID" ] && kill -0 "$MPID" 2>/dev/null; then
    echo "moto (peer, in memory):"
    if "$BUILD_DIR/s3_bench" "http://127.0.0.1:$MOTO_PORT" --seconds "$S3_SECS" --server-pid "$MPID" --json \
        > "$TMP/s3-moto.json"; then
      $PY -c "$S3_SHOW" "$TMP/s3-moto.json" || true
      $PY -c "$S3_RATIO" "$TMP/s3-kyoka.json" "$TMP/s3-moto.json" moto || true
    else
      echo "moto: s3_bench failed"
    fi
  else
    echo "moto (peer): absent"
  fi
else
  echo "-- 13. S3: bench/s3_bench not built"
fi

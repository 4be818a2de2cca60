#!/usr/bin/env bash
# x509-mutate.sh - the long run of tests/unit_dissect_x509_mutate: the
# certificate template (dissect/x509_template.c, x509_names.c) against
# d2i_X509, decision by decision and field by field, on COUNT mutated
# copies of the certificates in samples/ and the public corpus
# (docs/performance.md, issue 14).  CI runs the same test with 6 000.
#
#     bench/x509-mutate.sh [COUNT [SEED]]     # default 650000, the test's seed
#
# Environment: EK_BUILD (build dir, default build-bench, Release).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_build unit_dissect_x509_mutate
cd "$ROOT"
EK_X509_MUTATIONS=${1:-650000} EK_X509_SEED=${2:-} "$BUILD/tests/unit_dissect_x509_mutate"

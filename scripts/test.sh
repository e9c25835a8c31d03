#!/usr/bin/env bash
# Runs the whole test suite, as CI does: installs the test tools from PyPI, builds once, then
# runs the unit tests, the handler tests over a loopback Wazzup fake, the Secrets Manager tests
# against moto_server, and the built function driven through cargo lambda watch/invoke.
# Needs only the Rust toolchain and Python's pip. Nothing here reaches AWS or Wazzup.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "==> installing test tools (requirements-dev.txt)"
python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore -r requirements-dev.txt
# Where pip puts console scripts, in case it is not on PATH yet.
PATH="$(python3 -c 'import sysconfig; print(sysconfig.get_path("scripts"))'):$(python3 -m site --user-base)/bin:$PATH"
export PATH
for tool in moto_server cargo-lambda; do
  command -v "$tool" >/dev/null || { echo "error: $tool is not on PATH after pip install" >&2; exit 1; }
done

# The AWS SDK must never look for real credentials or the instance-metadata service.
export AWS_EC2_METADATA_DISABLED=true
export AWS_REGION=eu-central-1
export AWS_ACCESS_KEY_ID=test
export AWS_SECRET_ACCESS_KEY=test
unset AWS_PROFILE AWS_SESSION_TOKEN AWS_ENDPOINT_URL AWS_ENDPOINT_URL_SECRETS_MANAGER WAZZUP_SECRET_ID || true

echo "==> building (once: the tests and cargo lambda reuse these artifacts)"
cargo build --locked --bins
cargo test --locked --lib --bins --tests --no-run

echo "==> running every test"
mkdir -p target
cargo test --locked --no-fail-fast --lib --bins --tests 2>&1 | tee target/test-output.log
# One closing line for the whole run, summed over every test binary.
awk '/^test result:/ { passed += $4; failed += $6 } END { printf "tests: %d passed, %d failed\n", passed, failed }' \
  target/test-output.log | tee target/test-summary.txt

#!/usr/bin/env bash
# The Debian packages the tests need, installed where one is missing (as root, with apt-get).
# Run by .ci/run and by `npm test` (test/setup/prepare.ts) when it finds one missing; a user
# without root runs it with sudo.
#   chromium, fonts-liberation  the browser tests (driven by playwright-core)
#   libdnnl-dev, g++, make      the optional oneDNN addon (native/dnnl) builds against them
#   dataset-fashion-mnist       the real Fashion-MNIST the data tests read
#   python3-venv                venv for Debian's python3, where that is the python3 the project's environment is made from
#   slurmctld, slurmd, slurm-client, munge   the cluster tests bring up a real Slurm on loopback (test/fixtures/slurm.ts)
set -euo pipefail
PACKAGES=(chromium fonts-liberation libdnnl-dev g++ make dataset-fashion-mnist python3-venv slurmctld slurmd slurm-client munge)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then exit 0; fi
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "system-packages: missing ${missing[*]}; install them as root: sudo bash $0" >&2
  exit 1
fi
echo "system-packages: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null

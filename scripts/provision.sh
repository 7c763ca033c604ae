#!/usr/bin/env bash
# Installs the Debian packages Strata's tests and benchmarks use. Idempotent.
#   scripts/provision.sh                  install whatever is missing (needs root)
#   scripts/provision.sh --check-or-install   same, but when not root only report what to run
set -euo pipefail
# command → Debian package
declare -A need=(
  [curl]=curl
  [nghttp]=nghttp2-client
  [h2load]=nghttp2-client
  [wrk]=wrk
  [hey]=hey
  [nginx]=nginx-light
  [haproxy]=haproxy
  [ip]=iproute2
  [taskset]=util-linux
  [etcd]=etcd-server
  [etcdctl]=etcd-client
  [openssl]=openssl
  [iptables]=iptables
  [rabbitmq-server]=rabbitmq-server
)
missing=()
for cmd in "${!need[@]}"; do
  if ! command -v "$cmd" >/dev/null 2>&1 && [ ! -x "/usr/sbin/$cmd" ]; then missing+=("${need[$cmd]}"); fi
done
if [ ${#missing[@]} -eq 0 ]; then echo "system packages: all present"; exit 0; fi
pkgs=$(printf '%s\n' "${missing[@]}" | sort -u | tr '\n' ' ')
if [ "$(id -u)" -ne 0 ]; then
  echo "missing system packages; run: sudo apt-get update && sudo apt-get install -y $pkgs" >&2
  exit 1
fi
echo "installing: $pkgs"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $pkgs
# Nothing is started on install; make sure the distribution's services are not running.
for svc in nginx haproxy etcd rabbitmq-server; do
  if command -v systemctl >/dev/null 2>&1; then systemctl stop "$svc" 2>/dev/null || true; fi
  service "$svc" stop >/dev/null 2>&1 || true
done

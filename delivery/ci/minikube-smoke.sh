#!/usr/bin/env bash
# Deploy from scratch on a running Minikube and smoke-test through the proxy: the commands of helm/README.md
# ("Deploy from scratch on Minikube"), run by the deploy job of every component workflow.
# Env: IMAGE_OWNER (GHCR owner), IMAGE_TAG (commit SHA), CONNECT_IMAGE (where Strimzi pushes the Connect image).
set -euo pipefail
cd "$(dirname "$0")/../.."

NS=warm-house
OWNER="${IMAGE_OWNER,,}"
TAG="${IMAGE_TAG:-dev}"
CONNECT_IMAGE="${CONNECT_IMAGE:-ttl.sh/warm-house-connect-$(date +%s):2h}"
STRIMZI_VERSION=$(sed -n 's/.*warm-house\/strimzi-version: "\(.*\)"/\1/p' helm/warm-house/Chart.yaml)

echo "== images, built into Minikube's Docker (no registry needed for the pods)"
eval "$(minikube docker-env)"
disabled=()
while IFS=$'\t' read -r name image entry health; do
  if [ ! -f "$entry" ]; then
    echo "   $name: $entry does not exist yet, disabled in this deploy"
    disabled+=("$name")
    continue
  fi
  docker build -q -f docker/Dockerfile --build-arg "ENTRY=$entry" --build-arg "HEALTH_URL=$health" \
    --build-arg "COMPONENT=$name" --build-arg "VERSION=$TAG" -t "ghcr.io/$OWNER/$image:$TAG" .
done < <(node -e '
  const c = require("./docker/components.json");
  for (const [n, v] of Object.entries(c)) if (n !== "$comment") console.log([n, v.image, v.entry, v.healthUrl].join("\t"));')
extra=()
for name in "${disabled[@]}"; do
  case "$name" in
    device-management) extra+=(--set deviceManagement.enabled=false --set routes.devicesApi=null) ;;
    telemetry) extra+=(--set telemetry.enabled=false) ;;
  esac
done

echo "== Strimzi operator $STRIMZI_VERSION"
kubectl create namespace "$NS" --dry-run=client -o yaml | kubectl apply -f -
helm upgrade --install strimzi oci://quay.io/strimzi-helm/strimzi-kafka-operator --version "$STRIMZI_VERSION" \
  -n "$NS" --wait --timeout 5m

echo "== demo PostgreSQL"
helm upgrade --install warm-house-db helm/demo-postgres -n "$NS" --wait --timeout 5m

echo "== warm-house chart"
helm upgrade --install warm-house helm/warm-house -n "$NS" -f helm/values/minikube.yaml \
  --set image.owner="$OWNER" --set image.tag="$TAG" --set kafkaConnect.build.image="$CONNECT_IMAGE" \
  "${extra[@]}" --wait --timeout 15m
kubectl -n "$NS" wait kafka/warm-house --for=condition=Ready --timeout=15m
kubectl -n "$NS" wait kafkaconnect/warm-house-connect --for=condition=Ready --timeout=20m
kubectl -n "$NS" wait kafkaconnector/monolith-heating --for=condition=Ready --timeout=5m

echo "== smoke test through the proxy"
kubectl -n "$NS" port-forward svc/warm-house-proxy 18080:80 >/dev/null 2>&1 &
PF=$!
kubectl -n "$NS" port-forward svc/warm-house-proxy-admin 18001:8001 >/dev/null 2>&1 &
PFA=$!
trap 'kill $PF $PFA 2>/dev/null || true' EXIT
# the port-forwards are ready when they answer (polled, up to 30 s)
for _ in $(seq 1 60); do
  curl -s -o /dev/null http://127.0.0.1:18080/ && curl -s -o /dev/null http://127.0.0.1:18001/ && break
  sleep 0.5
done
TOKEN=$(kubectl -n "$NS" get secret warm-house-proxy-admin -o jsonpath='{.data.token}' | base64 -d)
curl -fsS -D - http://127.0.0.1:18080/api/heating/1 | tee /tmp/heating.txt
grep -qi '^x-strangler-upstream: monolith' /tmp/heating.txt

# polls (every 2 s, up to 180 s) until GET /api/heating/1 through the proxy is served by upstream $1
until_upstream() {
  for _ in $(seq 1 90); do
    if curl -fsS -D - -o /dev/null http://127.0.0.1:18080/api/heating/1 | grep -qi "^x-strangler-upstream: $1"; then
      return 0
    fi
    sleep 2
  done
  return 1
}

if [[ ! " ${disabled[*]} " =~ " device-management " ]]; then
  echo "== route rollout with helm upgrade (ConfigMap reload, no pod restart)"
  pods_before=$(kubectl -n "$NS" get pods -l app.kubernetes.io/name=proxy -o jsonpath='{.items[*].metadata.uid}')
  helm upgrade warm-house helm/warm-house -n "$NS" --reuse-values --set routes.heatingGet.target=device-management --wait
  until_upstream device-management || { echo "route did not move to device-management within 180 s"; exit 1; }
  [ "$(kubectl -n "$NS" get pods -l app.kubernetes.io/name=proxy -o jsonpath='{.items[*].metadata.uid}')" = "$pods_before" ]
  curl -fsS -H "Authorization: Bearer $TOKEN" 'http://127.0.0.1:18001/api/audit?limit=5'

  echo "== rollback"
  helm rollback warm-house -n "$NS" --wait
  until_upstream monolith || { echo "rollback did not move the route back within 180 s"; exit 1; }
fi
echo "smoke test passed"

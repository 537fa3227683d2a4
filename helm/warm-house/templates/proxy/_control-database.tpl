{{/*
The proxy's control database (PROXY_CONTROL_DATABASE_URL, issue 15): route table versions, overrides, audit log,
plan state and pins shared by every proxy process. proxy.controlDatabase as YAML of {url, existingSecret,
existingSecretKey}; empty url and existingSecret: not configured (one process, state in an emptyDir).
*/}}
{{- define "wh.proxyControlDatabase" -}}
{{- $db := .Values.proxy.controlDatabase | default dict -}}
{{- toYaml (dict "url" ($db.url | default "") "existingSecret" ($db.existingSecret | default "") "existingSecretKey" ($db.existingSecretKey | default "PROXY_CONTROL_DATABASE_URL")) -}}
{{- end -}}

{{/* Name of the Secret the chart writes the URL to when no existingSecret is given. */}}
{{- define "wh.proxyControlSecret" -}}
{{- include "wh.name" (dict "root" . "component" "proxy-control-db") -}}
{{- end -}}

{{/*
The env entry reading the control database URL from its Secret, named .name (PROXY_CONTROL_DATABASE_URL for the
proxy, DATABASE_URL for node-pg-migrate); nothing when no control database is configured. Arguments (dict):
root, name.
*/}}
{{- define "wh.proxyControlEnv" -}}
{{- $db := include "wh.proxyControlDatabase" .root | fromYaml -}}
{{- if $db.existingSecret -}}
- name: {{ .name }}
  valueFrom:
    secretKeyRef: { name: {{ $db.existingSecret }}, key: {{ $db.existingSecretKey }} }
{{- else if $db.url -}}
- name: {{ .name }}
  valueFrom:
    secretKeyRef: { name: {{ include "wh.proxyControlSecret" .root }}, key: PROXY_CONTROL_DATABASE_URL }
{{- end -}}
{{- end -}}

{{/*
PROXY_WORKERS: proxy.workers, or with `auto` the container's CPU limit in cores rounded up, at least 1.
*/}}
{{- define "wh.proxyWorkers" -}}
{{- $v := .Values.proxy -}}
{{- $workers := toString ($v.workers | default "auto") -}}
{{- if ne $workers "auto" -}}
{{- int $v.workers -}}
{{- else -}}
{{- $cpu := toString $v.resources.limits.cpu -}}
{{- $cores := 0.0 -}}
{{- if regexMatch `^[0-9]+(\.[0-9]+)?m$` $cpu -}}
{{- $cores = divf (trimSuffix "m" $cpu | float64) 1000 -}}
{{- else if regexMatch `^[0-9]+(\.[0-9]+)?$` $cpu -}}
{{- $cores = float64 $cpu -}}
{{- else -}}
{{- fail (printf "proxy.resources.limits.cpu %q: PROXY_WORKERS is derived from a CPU limit in cores (2, 1.5) or millicores (1500m); use one of those or set proxy.workers" $cpu) -}}
{{- end -}}
{{- max 1 (int (ceil $cores)) -}}
{{- end -}}
{{- end -}}

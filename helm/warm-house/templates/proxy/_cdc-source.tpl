{{/*
Where the proxy reads the monolith's WAL position for exact read-your-writes (PROXY_CDC_SOURCE_DATABASE_URL,
docs/proxy/cdc-aware-reads.md): proxy.cdcSourceDatabase, or the stand-in's database in demo mode. YAML of
{url, existingSecret, existingSecretKey}; empty url and existingSecret: the variable is not set and the proxy
pins by commit time.
*/}}
{{- define "wh.proxyCdcSource" -}}
{{- $src := .Values.proxy.cdcSourceDatabase | default dict -}}
{{- if .Values.demo.monolithStandin.enabled }}
{{- $src = dict "url" .Values.demo.monolithStandin.databaseUrl "existingSecret" "" "existingSecretKey" "PROXY_CDC_SOURCE_DATABASE_URL" -}}
{{- end }}
{{- toYaml (dict "url" ($src.url | default "") "existingSecret" ($src.existingSecret | default "") "existingSecretKey" ($src.existingSecretKey | default "PROXY_CDC_SOURCE_DATABASE_URL")) -}}
{{- end -}}

{{/* Name of the Secret the chart writes the URL to when no existingSecret is given. */}}
{{- define "wh.proxyCdcSourceSecret" -}}
{{- include "wh.name" (dict "root" . "component" "proxy-cdc-source") -}}
{{- end -}}

{{/* The env entry (YAML list as a string), or nothing when no source database is configured. */}}
{{- define "wh.proxyCdcSourceEnv" -}}
{{- $src := include "wh.proxyCdcSource" . | fromYaml -}}
{{- if $src.existingSecret -}}
- name: PROXY_CDC_SOURCE_DATABASE_URL
  valueFrom:
    secretKeyRef: { name: {{ $src.existingSecret }}, key: {{ $src.existingSecretKey }} }
{{- else if $src.url -}}
- name: PROXY_CDC_SOURCE_DATABASE_URL
  valueFrom:
    secretKeyRef: { name: {{ include "wh.proxyCdcSourceSecret" . }}, key: PROXY_CDC_SOURCE_DATABASE_URL }
{{- end -}}
{{- end -}}

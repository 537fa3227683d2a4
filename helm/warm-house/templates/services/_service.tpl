{{/*
An extracted service (device management, telemetry), following the conventions of helm/README.md:
  - its own database: DATABASE_URL from a Secret (an existing one, or one the chart writes from values);
  - migrations/<service>/ applied by node-pg-migrate in a pre-install/pre-upgrade Job before pods roll;
  - HTTP on 8080 with /health/live, /health/ready and /metrics; Kafka from KAFKA_BROKERS.
Arguments (dict): root, component, values, secretEnv (dict ENV_NAME -> {url, existingSecret, existingSecretKey}).
*/}}
{{- define "wh.extractedService" -}}
{{- $ctx := dict "root" .root "component" .component -}}
{{- $name := include "wh.name" $ctx -}}
{{- $dbSecret := printf "%s-db" $name -}}
{{- $secretEnv := merge (dict "DATABASE_URL" .values.database) (.secretEnv | default dict) -}}
{{- $owned := dict -}}
{{- range $env, $src := $secretEnv }}
{{- if not $src.existingSecret }}{{- $_ := set $owned $env $src.url -}}{{- end }}
{{- end }}
{{- if $owned }}
{{ include "wh.connectionSecret" (dict "root" .root "component" .component "name" $dbSecret "data" $owned) }}
{{- end }}
{{- $envRefs := list }}
{{- range $env, $src := $secretEnv }}
{{- $envRefs = append $envRefs (printf "- name: %s\n  valueFrom:\n    secretKeyRef: { name: %s, key: %s }" $env (default $dbSecret $src.existingSecret) (ternary $src.existingSecretKey $env (not (empty $src.existingSecret)))) }}
{{- end }}
{{- $dbEnv := printf "- name: DATABASE_URL\n  valueFrom:\n    secretKeyRef: { name: %s, key: %s }" (default $dbSecret .values.database.existingSecret) (ternary .values.database.existingSecretKey "DATABASE_URL" (not (empty .values.database.existingSecret))) }}
{{- if .values.migrations.enabled }}
---
{{ include "wh.migrateJob" (dict "root" .root "component" .component "values" .values "dir" .values.migrations.dir "dbEnv" $dbEnv) }}
{{- end }}
---
{{- $env := printf "- name: PORT\n  value: \"8080\"\n- name: HOST\n  value: \"0.0.0.0\"\n- name: KAFKA_BROKERS\n  value: %q\n%s" (include "wh.kafkaBrokers" .root) (join "\n" $envRefs) }}
{{ include "wh.deployment" (dict "root" .root "component" .component "values" .values "port" 8080 "probePort" "http" "livePath" "/health/live" "readyPath" "/health/ready" "env" $env) }}
{{ include "wh.scaling" (dict "root" .root "component" .component "values" .values) }}
---
{{ include "wh.service" (dict "root" .root "component" .component) }}
{{- end -}}

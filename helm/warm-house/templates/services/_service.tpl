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
# Connection URLs the chart owns. A hook, so the migration Job (also a pre-install hook) finds it; re-created
# on every upgrade. Production installs point existingSecret at a Secret managed outside the chart.
apiVersion: v1
kind: Secret
metadata:
  name: {{ $dbSecret }}
  labels:
    {{- include "wh.labels" $ctx | nindent 4 }}
  annotations:
    helm.sh/hook: pre-install,pre-upgrade
    helm.sh/hook-weight: "-10"
    helm.sh/hook-delete-policy: before-hook-creation
type: Opaque
stringData:
  {{- range $env, $url := $owned }}
  {{ $env }}: {{ $url | quote }}
  {{- end }}
{{- end }}
{{- $envRefs := list }}
{{- range $env, $src := $secretEnv }}
{{- $envRefs = append $envRefs (printf "- name: %s\n  valueFrom:\n    secretKeyRef: { name: %s, key: %s }" $env (default $dbSecret $src.existingSecret) (ternary $src.existingSecretKey $env (not (empty $src.existingSecret)))) }}
{{- end }}
{{- $dbEnv := printf "- name: DATABASE_URL\n  valueFrom:\n    secretKeyRef: { name: %s, key: %s }" (default $dbSecret .values.database.existingSecret) (ternary .values.database.existingSecretKey "DATABASE_URL" (not (empty .values.database.existingSecret))) }}
{{- if .values.migrations.enabled }}
---
# Applies migrations/<service>/ with node-pg-migrate (the same CLI `npm start` uses) before the new pods roll.
apiVersion: batch/v1
kind: Job
metadata:
  name: {{ printf "%s-migrate" $name | trunc 63 | trimSuffix "-" }}
  labels:
    {{- include "wh.labels" $ctx | nindent 4 }}
  annotations:
    helm.sh/hook: pre-install,pre-upgrade
    helm.sh/hook-weight: "0"
    helm.sh/hook-delete-policy: before-hook-creation,hook-succeeded
spec:
  backoffLimit: 6
  activeDeadlineSeconds: 600
  ttlSecondsAfterFinished: 3600
  template:
    metadata:
      labels:
        {{- include "wh.labels" $ctx | nindent 8 }}
        app.kubernetes.io/component: migrations
    spec:
      {{- include "wh.podSecurity" .root | nindent 6 }}
      restartPolicy: Never
      containers:
        - name: migrate
          image: {{ include "wh.image" . }}
          imagePullPolicy: {{ .root.Values.image.pullPolicy }}
          args:
            - node_modules/node-pg-migrate/bin/node-pg-migrate.js
            - up
            - --migrations-dir
            - {{ .values.migrations.dir }}
            - --migrations-table
            - pgmigrations
          env:
            {{- $dbEnv | nindent 12 }}
          resources:
            requests: { cpu: 50m, memory: 96Mi }
            limits: { cpu: 500m, memory: 256Mi }
          securityContext:
            {{- toYaml .root.Values.securityContext | nindent 12 }}
          volumeMounts:
            - name: tmp
              mountPath: /tmp
      volumes:
        {{- include "wh.tmpVolume" . | nindent 8 }}
{{- end }}
---
{{- $env := printf "- name: PORT\n  value: \"8080\"\n- name: HOST\n  value: \"0.0.0.0\"\n- name: KAFKA_BROKERS\n  value: %q\n%s" (include "wh.kafkaBrokers" .root) (join "\n" $envRefs) }}
{{ include "wh.deployment" (dict "root" .root "component" .component "values" .values "port" 8080 "probePort" "http" "livePath" "/health/live" "readyPath" "/health/ready" "env" $env) }}
{{ include "wh.scaling" (dict "root" .root "component" .component "values" .values) }}
---
{{ include "wh.service" (dict "root" .root "component" .component) }}
{{- end -}}

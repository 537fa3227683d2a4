{{/*
Database wiring shared by every component with a database of its own (the extracted services, the proxy's
control database): a Secret of connection URLs the chart owns, and the Job applying the component's migrations.
*/}}

{{/*
Connection URLs the chart owns (dict ENV_NAME -> url). A hook, so the migration Job (also a pre-install hook)
finds it; re-created on every upgrade. Production installs point existingSecret at a Secret managed outside the
chart. Arguments (dict): root, component, name (of the Secret), data.
*/}}
{{- define "wh.connectionSecret" -}}
apiVersion: v1
kind: Secret
metadata:
  name: {{ .name }}
  labels:
    {{- include "wh.labels" (dict "root" .root "component" .component) | nindent 4 }}
  annotations:
    helm.sh/hook: pre-install,pre-upgrade
    helm.sh/hook-weight: "-10"
    helm.sh/hook-delete-policy: before-hook-creation
type: Opaque
stringData:
  {{- range $env, $url := .data }}
  {{ $env }}: {{ $url | quote }}
  {{- end }}
{{- end -}}

{{/*
Applies migrations/<dir>/ with node-pg-migrate (the same CLI `npm start` uses, packages/shared/src/migrate.ts)
before the new pods roll: a pre-install/pre-upgrade hook, so a failed migration fails the release and no pod is
replaced. Arguments (dict): root, component, values (the component's, for its image), dir, dbEnv (the env entry
setting DATABASE_URL, YAML list as a string).
*/}}
{{- define "wh.migrateJob" -}}
{{- $ctx := dict "root" .root "component" .component -}}
apiVersion: batch/v1
kind: Job
metadata:
  name: {{ printf "%s-migrate" (include "wh.name" $ctx) | trunc 63 | trimSuffix "-" }}
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
            - {{ .dir }}
            - --migrations-table
            - pgmigrations
            - --advisory-lock-mode
            - wait
          env:
            {{- .dbEnv | nindent 12 }}
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
{{- end -}}

{{/* Names ------------------------------------------------------------------------------------------------ */}}

{{- define "wh.fullname" -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- end -}}

{{- define "wh.name" -}}
{{- printf "%s-%s" (include "wh.fullname" .root) .component | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "wh.kafkaName" -}}
{{- default (include "wh.fullname" .) .Values.kafka.name | trunc 40 | trimSuffix "-" -}}
{{- end -}}

{{- define "wh.connectName" -}}
{{- printf "%s-connect" (include "wh.fullname" .) -}}
{{- end -}}

{{/* Kafka bootstrap address of the Strimzi cluster (plain listener). */}}
{{- define "wh.kafkaBrokers" -}}
{{- printf "%s-kafka-bootstrap:9092" (include "wh.kafkaName" .) -}}
{{- end -}}

{{/* Labels ----------------------------------------------------------------------------------------------- */}}

{{- define "wh.selectorLabels" -}}
app.kubernetes.io/name: {{ .component }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
{{- end -}}

{{- define "wh.labels" -}}
{{ include "wh.selectorLabels" . }}
app.kubernetes.io/part-of: warm-house
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version | replace "+" "_" }}
{{- end -}}

{{/* ghcr.io/<owner>/<repository>:<tag> */}}
{{- define "wh.image" -}}
{{- $img := .root.Values.image -}}
{{- printf "%s/%s/%s:%s" $img.registry $img.owner .values.image.repository (default .root.Chart.AppVersion $img.tag) -}}
{{- end -}}

{{/* Security --------------------------------------------------------------------------------------------- */}}

{{- define "wh.podSecurity" -}}
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- with .Values.image.pullSecrets }}
imagePullSecrets:
  {{- range . }}
  - name: {{ . }}
  {{- end }}
{{- end }}
automountServiceAccountToken: false
{{- end -}}

{{/*
A Node.js process of this repository (the shared image pattern of docker/Dockerfile): non-root, read-only root
file system with a writable /tmp (tsx keeps its transpile cache there).
*/}}
{{- define "wh.tmpVolume" -}}
- name: tmp
  emptyDir: { sizeLimit: 64Mi }
{{- end -}}

{{/*
One Deployment of a Node.js component. Arguments (dict):
  root        the chart's root context
  component   component name (proxy, device-management, ...)
  values      the component's values (image, replicas, resources, autoscaling, env)
  port        main HTTP container port; probePort/livePath/readyPath: where the probes ask
  env         extra env entries (YAML list as a string)
  volumes, volumeMounts  extra (YAML lists as strings)
  annotations pod annotations (dict), e.g. checksums of Secrets whose change needs a restart
  ports       extra container ports (YAML list as a string)
*/}}
{{- define "wh.deployment" -}}
{{- $ctx := dict "root" .root "component" .component -}}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "wh.name" $ctx }}
  labels:
    {{- include "wh.labels" $ctx | nindent 4 }}
spec:
  {{- if not (and .values.autoscaling .values.autoscaling.enabled) }}
  replicas: {{ .values.replicas }}
  {{- end }}
  revisionHistoryLimit: 5
  selector:
    matchLabels:
      {{- include "wh.selectorLabels" $ctx | nindent 6 }}
  strategy:
    type: RollingUpdate
    rollingUpdate:
      maxUnavailable: 0
      maxSurge: 1
  template:
    metadata:
      labels:
        {{- include "wh.labels" $ctx | nindent 8 }}
      {{- with .annotations }}
      annotations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
    spec:
      {{- include "wh.podSecurity" .root | nindent 6 }}
      terminationGracePeriodSeconds: 30
      topologySpreadConstraints:
        - maxSkew: 1
          topologyKey: kubernetes.io/hostname
          whenUnsatisfiable: ScheduleAnyway
          labelSelector:
            matchLabels:
              {{- include "wh.selectorLabels" $ctx | nindent 14 }}
      containers:
        - name: {{ .component }}
          image: {{ include "wh.image" . }}
          imagePullPolicy: {{ .root.Values.image.pullPolicy }}
          ports:
            - name: http
              containerPort: {{ .port }}
              protocol: TCP
            {{- with .ports }}
            {{- . | nindent 12 }}
            {{- end }}
          env:
            - name: LOG_LEVEL
              value: {{ .values.logLevel | default "info" | quote }}
            {{- with .env }}
            {{- . | nindent 12 }}
            {{- end }}
            {{- range $name, $value := .values.env }}
            - name: {{ $name }}
              value: {{ $value | quote }}
            {{- end }}
          startupProbe:
            httpGet: { path: {{ .livePath }}, port: {{ .probePort }} }
            periodSeconds: 2
            failureThreshold: 60
          livenessProbe:
            httpGet: { path: {{ .livePath }}, port: {{ .probePort }} }
            periodSeconds: 10
            timeoutSeconds: 3
            failureThreshold: 3
          readinessProbe:
            httpGet: { path: {{ .readyPath }}, port: {{ .probePort }} }
            periodSeconds: 5
            timeoutSeconds: 3
            failureThreshold: 2
          resources:
            {{- toYaml .values.resources | nindent 12 }}
          securityContext:
            {{- toYaml .root.Values.securityContext | nindent 12 }}
          volumeMounts:
            - name: tmp
              mountPath: /tmp
            {{- with .volumeMounts }}
            {{- . | nindent 12 }}
            {{- end }}
      volumes:
        {{- include "wh.tmpVolume" . | nindent 8 }}
        {{- with .volumes }}
        {{- . | nindent 8 }}
        {{- end }}
{{- end -}}

{{/* HorizontalPodAutoscaler and PodDisruptionBudget of a component (same arguments as wh.deployment). */}}
{{- define "wh.scaling" -}}
{{- $ctx := dict "root" .root "component" .component -}}
{{- if .values.autoscaling.enabled }}
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: {{ include "wh.name" $ctx }}
  labels:
    {{- include "wh.labels" $ctx | nindent 4 }}
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: {{ include "wh.name" $ctx }}
  minReplicas: {{ .values.autoscaling.minReplicas }}
  maxReplicas: {{ .values.autoscaling.maxReplicas }}
  metrics:
    - type: Resource
      resource:
        name: cpu
        target:
          type: Utilization
          averageUtilization: {{ .values.autoscaling.targetCPUUtilizationPercentage }}
{{- end }}
{{- if .values.podDisruptionBudget }}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ include "wh.name" $ctx }}
  labels:
    {{- include "wh.labels" $ctx | nindent 4 }}
spec:
  minAvailable: {{ .values.podDisruptionBudget.minAvailable }}
  selector:
    matchLabels:
      {{- include "wh.selectorLabels" $ctx | nindent 6 }}
{{- end }}
{{- end -}}

{{/* ClusterIP Service in front of a component's `http` port. */}}
{{- define "wh.service" -}}
{{- $ctx := dict "root" .root "component" .component -}}
apiVersion: v1
kind: Service
metadata:
  name: {{ include "wh.name" $ctx }}
  labels:
    {{- include "wh.labels" $ctx | nindent 4 }}
spec:
  type: {{ .type | default "ClusterIP" }}
  selector:
    {{- include "wh.selectorLabels" $ctx | nindent 4 }}
  ports:
    - name: http
      port: {{ .servicePort | default 8080 }}
      targetPort: http
      protocol: TCP
{{- end -}}

{{/* Secret with the Debezium login (an existing one, or the one the chart writes). */}}
{{- define "wh.debeziumSecret" -}}
{{- default (include "wh.name" (dict "root" . "component" "debezium-credentials")) .Values.cdc.credentials.existingSecret -}}
{{- end -}}

{{/* Secret with the CDC monitor's bearer token (key `token`): an existing one, or the one the chart writes. */}}
{{- define "wh.cdcMonitorTokenSecret" -}}
{{- default (include "wh.name" (dict "root" . "component" "cdc-monitor-token")) .Values.cdcMonitor.token.existingSecret -}}
{{- end -}}

{{/* Labels of every monitoring resource: the chart's, plus monitoring.labels (the Prometheus' selectors). */}}
{{- define "wh.monitoringLabels" -}}
{{ include "wh.labels" . }}
{{- with .root.Values.monitoring.labels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Strimzi's metrics reporter on a Kafka or KafkaConnect resource (monitoring.kafkaMetrics), or nothing. */}}
{{- define "wh.strimziMetricsConfig" -}}
{{- with .Values.monitoring.kafkaMetrics }}
{{- if .enabled }}
metricsConfig:
  type: strimziMetricsReporter
  values:
    allowList:
      {{- toYaml .allowList | nindent 6 }}
{{- end }}
{{- end }}
{{- end -}}

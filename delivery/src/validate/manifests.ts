import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { parseAllDocuments } from 'yaml';
import { PROMETHEUS_OPERATOR_SCHEMAS_DIR, STRIMZI_SCHEMAS_DIR } from '../paths';

/** One rendered Kubernetes object. */
export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [key: string]: unknown;
}

/** A problem found in a rendered manifest, named by resource and JSON path. */
export interface Finding {
  resource: string;
  path: string;
  message: string;
}

/** Splits `helm template` output into objects (empty documents skipped). */
export function parseManifests(text: string): Manifest[] {
  return parseAllDocuments(text)
    .map((d) => d.toJS() as Manifest | null)
    .filter((m): m is Manifest => m !== null && typeof m === 'object');
}

export const resourceId = (m: Manifest) => `${m.kind}/${m.metadata?.name ?? '?'}`;

const formatErrors = (m: Manifest, errors: readonly Partial<ErrorObject>[] | null | undefined): Finding[] =>
  (errors ?? []).map((e) => ({
    resource: resourceId(m),
    path: e.instancePath || '/',
    message: `${e.message ?? e.keyword ?? 'invalid'}${e.params && 'additionalProperty' in e.params ? `: ${String(e.params.additionalProperty)}` : ''}${e.params && 'allowedValues' in e.params ? ` (${(e.params.allowedValues as unknown[]).join(', ')})` : ''}`,
  }));

// ---- Strimzi custom resources: the CRD's structural schema, strict like the API server's field validation ----

/**
 * Where a CRD schema allows nothing but its properties, says so: the API server prunes unknown fields, and with
 * strict field validation (kubectl's default) refuses them. Branches of oneOf/anyOf/allOf/not only constrain
 * (structural schemas declare fields outside them), so they are left as they are.
 */
export function strictStructural(node: unknown, inCombinator = false): unknown {
  if (Array.isArray(node)) return node.map((n) => strictStructural(n, inCombinator));
  if (!node || typeof node !== 'object') return node;
  const o = Object.fromEntries(
    Object.entries(node).map(([k, v]) => [k, strictStructural(v, inCombinator || COMBINATORS.has(k))]),
  ) as Record<string, unknown>;
  if (
    !inCombinator &&
    o.properties &&
    o.additionalProperties === undefined &&
    !o['x-kubernetes-preserve-unknown-fields']
  ) {
    o.additionalProperties = false;
  }
  return o;
}

const COMBINATORS = new Set(['oneOf', 'anyOf', 'allOf', 'not']);

/** One family of custom resources: the folder of its CRD schemas, its API group and how it is named in findings. */
export interface CrdFamily {
  dir: string;
  group: string;
  /** the product and the key of its version in the schema files, e.g. Strimzi / x-strimzi-version */
  product: string;
  versionKey: string;
}

export const STRIMZI: CrdFamily = {
  dir: STRIMZI_SCHEMAS_DIR,
  group: 'kafka.strimzi.io',
  product: 'Strimzi',
  versionKey: 'x-strimzi-version',
};
export const PROMETHEUS_OPERATOR: CrdFamily = {
  dir: PROMETHEUS_OPERATOR_SCHEMAS_DIR,
  group: 'monitoring.coreos.com',
  product: 'Prometheus Operator',
  versionKey: 'x-prometheus-operator-version',
};

/** The CRD schemas of a family (`x-kind` → apiVersion, product version, schema), one JSON file per kind. */
export function loadCrdSchemas(
  family: CrdFamily,
): Map<string, { apiVersion: string; version: string; schema: unknown }> {
  const out = new Map<string, { apiVersion: string; version: string; schema: unknown }>();
  for (const name of readdirSync(family.dir).filter((f) => f.endsWith('.json'))) {
    const file = JSON.parse(readFileSync(path.join(family.dir, name), 'utf8')) as Record<string, unknown>;
    out.set(String(file['x-kind']), {
      apiVersion: String(file['x-api-version']),
      version: String(file[family.versionKey]),
      schema: file.schema,
    });
  }
  return out;
}

const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

/** What the API server checks of every object's metadata (names, label values). */
export function checkMetadata(m: Manifest): Finding[] {
  const findings: Finding[] = [];
  const name = m.metadata?.name;
  if (typeof name !== 'string' || name.length > 253 || !DNS1123_SUBDOMAIN.test(name)) {
    findings.push({ resource: resourceId(m), path: '/metadata/name', message: 'must be a DNS-1123 subdomain' });
  }
  for (const [k, v] of Object.entries(m.metadata?.labels ?? {})) {
    if (typeof v !== 'string' || v.length > 63 || !LABEL_VALUE.test(v)) {
      findings.push({
        resource: resourceId(m),
        path: `/metadata/labels/${k}`,
        message: `invalid label value ${JSON.stringify(v)}`,
      });
    }
  }
  return findings;
}

/**
 * Ajv reading CRD schemas as the API server does: Go (RE2) patterns, whose `(?i)` (`^(?i)(abort|warn)?$` in
 * PrometheusRule) is a flag in JavaScript, and the OpenAPI formats of Kubernetes schemas (int32, int64, date-time).
 */
function crdAjv(): Ajv {
  const regExp = (pattern: string, flags: string) =>
    pattern.includes('(?i)') ? new RegExp(pattern.replaceAll('(?i)', ''), `${flags}i`) : new RegExp(pattern, flags);
  regExp.code = 'new RegExp';
  const ajv = new Ajv({ allErrors: true, strict: false, code: { regExp } });
  const integer = (bits: number) => ({
    type: 'number' as const,
    validate: (n: number) => Number.isInteger(n) && Math.abs(n) <= 2 ** (bits - 1),
  });
  ajv.addFormat('int32', integer(32));
  ajv.addFormat('int64', integer(64));
  addFormats(ajv, ['date-time']);
  return ajv;
}

/** Validator of the custom resources of one family against their CRD schemas. */
export function crdValidator(family: CrdFamily) {
  const ajv = crdAjv();
  const schemas = loadCrdSchemas(family);
  const compiled = new Map<string, { apiVersion: string; validate: ValidateFunction }>();
  for (const [kind, s] of schemas)
    compiled.set(kind, { apiVersion: s.apiVersion, validate: ajv.compile(strictStructural(s.schema) as object) });
  return {
    handles: (m: Manifest) => m.apiVersion?.startsWith(`${family.group}/`),
    validate(m: Manifest): Finding[] {
      const entry = compiled.get(m.kind);
      if (!entry)
        return [{ resource: resourceId(m), path: '/kind', message: `no ${family.product} schema for kind ${m.kind}` }];
      if (m.apiVersion !== entry.apiVersion) {
        return [
          {
            resource: resourceId(m),
            path: '/apiVersion',
            message: `must be ${entry.apiVersion} (${family.product} ${schemas.get(m.kind)?.version})`,
          },
        ];
      }
      entry.validate(m);
      return [...checkMetadata(m), ...formatErrors(m, entry.validate.errors)];
    },
  };
}

/** Validator of Strimzi custom resources against their CRD schemas. */
export const strimziValidator = () => crdValidator(STRIMZI);

// ---- Built-in kinds: kubernetes-models, validators compiled from the Kubernetes OpenAPI spec ----

/** `apps/v1` + `Deployment` → the kubernetes-models module of that kind. */
export function kubernetesModelModule(apiVersion: string, kind: string): string {
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
  return group ? `kubernetes-models/${group}/${version}/${kind}` : `kubernetes-models/${version}/${kind}`;
}

/** Validates a built-in object with the kubernetes-models validator of its apiVersion and kind. */
export async function validateBuiltin(m: Manifest): Promise<Finding[]> {
  let Model: { new (data: unknown): { validate(): void } };
  try {
    const mod = (await import(kubernetesModelModule(m.apiVersion, m.kind))) as Record<string, unknown>;
    Model = mod[m.kind] as typeof Model;
    if (typeof Model !== 'function') throw new Error('no model');
  } catch {
    return [
      { resource: resourceId(m), path: '/apiVersion', message: `${m.apiVersion} ${m.kind} is not a Kubernetes API` },
    ];
  }
  try {
    new Model(m).validate();
    return checkMetadata(m);
  } catch (err) {
    const e = err as Error & { errors?: ErrorObject[] };
    return [
      ...checkMetadata(m),
      ...(e.errors ? formatErrors(m, e.errors) : [{ resource: resourceId(m), path: '/', message: e.message }]),
    ];
  }
}

/** Every finding of every manifest: built-in kinds against the Kubernetes schemas, Strimzi and Prometheus Operator kinds against their CRDs. */
export async function validateManifests(manifests: Manifest[]): Promise<Finding[]> {
  const crds = [crdValidator(STRIMZI), crdValidator(PROMETHEUS_OPERATOR)];
  const findings: Finding[] = [];
  for (const m of manifests) {
    if (!m.apiVersion || !m.kind) {
      findings.push({ resource: resourceId(m), path: '/', message: 'apiVersion and kind are required' });
      continue;
    }
    const crd = crds.find((v) => v.handles(m));
    findings.push(...(crd ? crd.validate(m) : await validateBuiltin(m)));
  }
  return findings;
}

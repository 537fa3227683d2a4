/**
 * Which images `npm run images:build` makes: every component of docker/components.json (the ones the workflows
 * push), the CDC monitor from the same Dockerfile, and Kafka Connect with Debezium from docker/connect/. The
 * migrations Job has no image of its own: it runs node-pg-migrate in the service's image, as the chart's Job does.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

export const LOCAL_TAG = 'local';

export interface NodeImageSpec {
  kind: 'node';
  component: string;
  image: string;
  entry: string;
  healthUrl: string;
}
export interface ConnectImageSpec {
  kind: 'connect';
  component: 'connect';
  image: string;
}
export type ImageSpec = NodeImageSpec | ConnectImageSpec;

/** Components built from docker/Dockerfile that no workflow pushes (yet): run by `npm start`, so imaged here too. */
export const EXTRA_NODE_COMPONENTS: Record<string, Omit<NodeImageSpec, 'kind' | 'component'>> = {
  'cdc-monitor': {
    image: 'warm-house-cdc-monitor',
    entry: 'cdc/src/monitor-main.ts',
    healthUrl: 'http://127.0.0.1:9470/healthz',
  },
};

/** The images to build, from docker/components.json's text (its `$comment` left out). */
export function imageSpecs(componentsJson: string): ImageSpec[] {
  const parsed = JSON.parse(componentsJson) as Record<string, unknown>;
  const listed = Object.entries(parsed)
    .filter(([k]) => k !== '$comment')
    .map(([component, v]) => {
      const { image, entry, healthUrl } = v as { image: string; entry: string; healthUrl: string };
      return { kind: 'node' as const, component, image, entry, healthUrl };
    });
  const extra = Object.entries(EXTRA_NODE_COMPONENTS).map(([component, v]) => ({
    kind: 'node' as const,
    component,
    ...v,
  }));
  return [...listed, ...extra, { kind: 'connect', component: 'connect', image: 'warm-house-connect' }];
}

export function readImageSpecs(root: string): ImageSpec[] {
  return imageSpecs(readFileSync(path.join(root, 'docker', 'components.json'), 'utf8'));
}

/** The local name of a component's image. */
export const localImage = (spec: { image: string }) => `localhost/${spec.image}:${LOCAL_TAG}`;

/** Whether an image's configured user runs it as root (empty, `root`, `0` or `0:…`). */
export function runsAsRoot(user: string): boolean {
  const name = user.split(':')[0]!.trim();
  return name === '' || name === 'root' || name === '0';
}

/** `123456789` bytes → `117.7 MiB`. */
export function mebibytes(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

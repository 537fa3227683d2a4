/**
 * The last step of `npm test`: the image build and the container smoke test, only when WARMHOUSE_IMAGES=1
 * (README, decisions: together they add more minutes than .ci/run can spare; .github/workflows/images.yml runs
 * them on every change of what the images are made from).
 */
import { buildImages } from './build';
import { smokeImages } from './smoke';

async function main(): Promise<void> {
  if (process.env.WARMHOUSE_IMAGES !== '1') {
    process.stdout.write('[images] not run: WARMHOUSE_IMAGES=1 npm test builds and smoke-tests the container images\n');
    return;
  }
  await buildImages();
  await smokeImages();
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`[images] FAILED: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);

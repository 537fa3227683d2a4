import { watch, type FSWatcher } from 'node:fs';
import path from 'node:path';

const KUBERNETES_CONFIGMAP_LINK = '..data';

/**
 * Calls `onChange` (debounced) when `file` changes. Watches the directory, not the file, so editors that
 * save by writing a new file and renaming it over the old one are seen too, and so is a Kubernetes ConfigMap
 * volume, which updates by swapping its hidden `..data` link while `routes.yaml` itself never changes.
 * Returns a stop function.
 */
export function watchFile(
  file: string,
  onChange: () => void,
  onError: (err: Error) => void,
  debounceMs = 100,
): () => void {
  const dir = path.dirname(path.resolve(file));
  const base = path.basename(file);
  let timer: NodeJS.Timeout | undefined;
  let watcher: FSWatcher;
  try {
    watcher = watch(dir, { persistent: false }, (_event, name) => {
      if (name !== null && name !== base && name !== KUBERNETES_CONFIGMAP_LINK) return;
      clearTimeout(timer);
      timer = setTimeout(onChange, debounceMs);
    });
  } catch (err) {
    onError(err as Error);
    return () => undefined;
  }
  watcher.on('error', onError);
  return () => {
    clearTimeout(timer);
    watcher.close();
  };
}

/** Files the person picked, with the names they are offered under. */
import type { PickedFile } from './send-files.js';

/** A folder's files keep their path under the folder's name (webkitRelativePath); single files their name. */
export function pickedFrom(list: FileList | null): PickedFile[] {
  return Array.from(list ?? [], (file) => ({ file, name: file.webkitRelativePath || file.name }));
}

/**
 * The page: Receive (wait under a code, or join one from the link's fragment
 * or typed), Send (pick files or a folder, then enter a code or get one), the
 * consent step, --verify words, progress. Everything below the buttons is the
 * same code the CLI runs (peer.ts says what the browser supplies).
 *
 * Opening a link with a code in its fragment only fills the code in: the
 * nameplate is claimed when the person taps Receive or Send, so a link
 * preview or a QR scanner cannot spend the code's one guess.
 */
import { PeerlaneError, toPeerlaneError } from '../core/errors.js';
import type { PeerEvent } from '../core/events.js';
import type { ManifestEntry } from '../core/transfer/protocol.js';
import { manifestTotal } from '../core/transfer/protocol.js';
import type { TransferResult } from '../core/transfer/types.js';
import { sha256Kind, warmSha256 } from './hasher.js';
import { listPeers, webReceive, webSend } from './peer.js';
import { pickedFrom } from './pick.js';
import { showQr } from './qr.js';
import type { PickedFile } from './send-files.js';
import { signalUrl } from './signal-ws.js';
import { canPickFolder, chooseStorage, opfsWriter, storageNote } from './storage.js';
import { el, failureText, fillList, formatBytes, keepAwake, Meter, setText, show } from './view.js';

let running: AbortController | undefined;
let picked: PickedFile[] = [];

function options(): { code?: string; name?: string; listed: boolean; verify: boolean } {
  const code = el<HTMLInputElement>('code').value.trim();
  const name = el<HTMLInputElement>('name').value.trim();
  return {
    ...(code !== '' ? { code } : {}),
    ...(name !== '' && code === '' ? { name } : {}),
    listed: el<HTMLInputElement>('listed').checked && name !== '' && code === '',
    verify: el<HTMLInputElement>('verify').checked,
  };
}

/**
 * Progress comes with every DATA frame, about a hundred times a second at
 * full speed; a person reads it a few times a second. Shown (and logged) at
 * most this often, and always at a file's end, so the page's main thread,
 * which shares the CPU with the tab's own SCTP and DTLS, spends little on it.
 */
const PROGRESS_SHOWN_MS = 100;

/** Whether a progress event is a file's last or the transfer's. */
function lastOfFile(e: Extract<PeerEvent, { event: 'progress' }>): boolean {
  return (e.fileSize !== null && e.fileBytes >= e.fileSize) || (e.total !== null && e.bytes >= e.total);
}

/** Show what happens, one event at a time. */
function onEvent(meter: { current: Meter | undefined }): (e: PeerEvent) => void {
  let progressShown = Number.NEGATIVE_INFINITY;
  return (e) => {
    if (e.event === 'progress') {
      const now = performance.now();
      if (now - progressShown < PROGRESS_SHOWN_MS && !lastOfFile(e)) return;
      progressShown = now;
    }
    // For whoever looks at the console (the browser tests print it when they fail).
    console.debug(JSON.stringify(e));
    if (e.event === 'ready') {
      setText('status', 'Waiting for the other side…');
      setText('ready-code', e.code);
      show('ready');
      showQr(e.code);
    } else if (e.event === 'connected') {
      show('ready', false);
      setText('status', `Connected (${e.path}, ${e.local} ↔ ${e.remote}).`);
      if (e.verify !== undefined) {
        setText('words', `Verification words: ${e.verify}`);
        show('words');
      }
    } else if (e.event === 'progress') {
      meter.current ??= new Meter();
      show('progress');
      const bar = el<HTMLProgressElement>('bar');
      bar.value = e.total === null || e.total === 0 ? 0 : e.bytes / e.total;
      setText('rate', `${e.file}: ${meter.current.line(e.bytes, e.total, e.moved)}`);
    } else if (e.event === 'reconnecting') {
      setText('status', `Connection lost (${e.message}); reconnecting, attempt ${e.attempt} of ${e.of}…`);
    } else if (e.event === 'text') {
      setText('status', `Message: ${e.text}`);
    }
  };
}

/** The consent step: the manifest shown, Accept or Refuse. */
function askConsent(files: readonly ManifestEntry[], signal: AbortSignal): Promise<void> {
  const total = manifestTotal(files);
  const count = files.filter((f) => f.kind !== 'dir').length;
  setText(
    'offer',
    `The sender offers ${count} file${count === 1 ? '' : 's'}, ${total === null ? 'of unknown size' : formatBytes(total)}:`,
  );
  fillList(
    'manifest',
    files
      .filter((f) => f.kind !== 'dir')
      .map((f) => `${f.name} (${f.size === null ? '?' : formatBytes(f.size)})`),
  );
  show('consent');
  return new Promise<void>((resolve, reject) => {
    const done = (): void => show('consent', false);
    el('accept').onclick = () => {
      done();
      resolve();
    };
    el('refuse').onclick = () => {
      done();
      reject(new PeerlaneError('REFUSED', 'the receiver declined the files'));
    };
    signal.addEventListener('abort', () => {
      done();
      reject(toPeerlaneError(signal.reason, 'PEER_LOST'));
    });
  });
}

/** --verify on the sending side: the words shown, sending waits for the person's yes. */
function confirmWords(words: string, signal: AbortSignal): Promise<void> {
  setText('words', `Verification words: ${words}. Do they match the other side's?`);
  show('words');
  show('words-ask');
  return new Promise<void>((resolve, reject) => {
    const done = (): void => show('words-ask', false);
    el('words-yes').onclick = () => {
      done();
      resolve();
    };
    el('words-no').onclick = () => {
      done();
      reject(
        new PeerlaneError('NOT_VERIFIED', 'the verification words were not confirmed; nothing was sent'),
      );
    };
    signal.addEventListener('abort', done);
  });
}

/** Run one transfer with the live view up, and say how it ended. */
async function run(
  transfer: (events: (e: PeerEvent) => void, abort: AbortSignal) => Promise<TransferResult>,
  after?: () => Promise<void>,
): Promise<void> {
  running = new AbortController();
  show('start', false);
  show('pick', false);
  show('live');
  show('error', false);
  setText('status', 'Connecting to the signal server…');
  const release = await keepAwake();
  const meter: { current: Meter | undefined } = { current: undefined };
  try {
    const result = await transfer(onEvent(meter), running.signal);
    const seconds = result.ms / 1000;
    setText(
      'status',
      `Done: ${result.files.length} file${result.files.length === 1 ? '' : 's'}, ${formatBytes(result.bytes)} in ${seconds.toFixed(1)} s, each verified (SHA-256).`,
    );
    el('status').dataset.state = 'done';
    await after?.();
  } catch (err) {
    const failure = toPeerlaneError(err);
    setText('error', failureText(failure));
    el('error').dataset.code = failure.code;
    show('error');
    setText('status', 'Stopped.');
    el('status').dataset.state = 'failed';
  } finally {
    release();
    running = undefined;
    setText('cancel', 'Start over');
  }
}

async function receive(): Promise<void> {
  const storage = await chooseStorage(el<HTMLInputElement>('pick-folder').checked).catch(() => undefined);
  if (storage === undefined) return;
  await run(
    (onEvent, abortSignal) =>
      webReceive({
        ...options(),
        signalUrl: signalUrl(location),
        onEvent,
        abortSignal,
        files: storage.files,
        onManifest: askConsent,
      }),
    async () => {
      const links = await Promise.all(
        storage.files.received.map(async (r) => {
          const a = document.createElement('a');
          a.href = URL.createObjectURL(await r.file());
          a.download = r.name.split('/').pop() ?? r.name;
          a.textContent = r.name;
          return a;
        }),
      );
      fillList('done-files', storage.offersDownload ? links : storage.files.received.map((r) => r.name));
    },
  );
}

async function send(): Promise<void> {
  const files = picked;
  await run((onEvent, abortSignal) =>
    webSend({
      ...options(),
      signalUrl: signalUrl(location),
      onEvent,
      abortSignal,
      files,
      confirmVerify: confirmWords,
    }),
  );
}

async function refreshPeers(): Promise<void> {
  try {
    const names = await listPeers(signalUrl(location));
    fillList(
      'peers',
      names.length === 0
        ? ['Nobody is listed right now.']
        : names.map((name) => {
            const b = document.createElement('button');
            b.type = 'button';
            b.textContent = name;
            b.onclick = () => {
              const code = el<HTMLInputElement>('code');
              code.value = `${name}-`;
              code.focus();
            };
            return b;
          }),
    );
  } catch (err) {
    fillList('peers', [failureText(toPeerlaneError(err))]);
  }
}

function init(): void {
  const fromLink = decodeURIComponent(location.hash.slice(1)).trim();
  if (fromLink !== '') {
    el<HTMLInputElement>('code').value = fromLink;
    show('fragment-note');
  }
  setText('storage', storageNote());
  // The hashers are WebAssembly, made asynchronously: ready long before a tap.
  // The attribute tells the tests (and a curious user) which one the page got.
  void warmSha256().then(() => {
    document.documentElement.dataset.sha256 = sha256Kind();
  });
  // Likewise the OPFS writer worker, and how this page will write into its own storage.
  void opfsWriter().then((w) => {
    document.documentElement.dataset.opfs = w === undefined ? 'segments' : 'in-place';
  });
  show('pick-folder-row', canPickFolder());
  el<HTMLInputElement>('pick-folder').checked = canPickFolder();
  el('receive').onclick = () => void receive();
  el('send').onclick = () => {
    show('start', false);
    show('pick');
  };
  el('back').onclick = () => {
    show('pick', false);
    show('start');
  };
  const onPick = (input: HTMLInputElement): void => {
    picked = pickedFrom(input.files);
    setText(
      'picked',
      picked.length === 0
        ? ''
        : `${picked.length} file${picked.length === 1 ? '' : 's'}, ${formatBytes(picked.reduce((n, p) => n + p.file.size, 0))}`,
    );
    el<HTMLButtonElement>('go-send').disabled = picked.length === 0;
  };
  el<HTMLInputElement>('files').onchange = (e) => onPick(e.target as HTMLInputElement);
  el<HTMLInputElement>('folder').onchange = (e) => onPick(e.target as HTMLInputElement);
  el('go-send').onclick = () => void send();
  el('refresh').onclick = () => void refreshPeers();
  el('cancel').onclick = () => {
    if (running !== undefined) running.abort(new PeerlaneError('INTERRUPTED', 'cancelled on the page'));
    else location.reload();
  };
}

init();

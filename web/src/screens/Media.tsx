import type { JSX } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { ApiError } from "../api/client";
import { explain } from "../errors";
import { t } from "../i18n";
import {
  Attachments,
  MAX_ATTACHMENTS,
  blobUrls,
  download,
  formatSize,
  mediaGist,
  mediaPath,
  thumbBox,
  upload,
  type Media,
  type Shown,
} from "../media";

/** The words a line shows for images and files when there is no text ("[Image]", "[2 files]"):
 * empty when there are none. */
export function mediaWords(media: readonly Media[] | undefined): string {
  const gist = mediaGist(media);
  return gist ? t(gist.key, { count: gist.count }) : "";
}

/** The bytes at `path` as a blob: URL while the component is mounted (none while `path` is
 * null); released when it unmounts or the path changes. */
function useShown(path: string | null): Shown | null {
  const [shown, setShown] = useState<Shown | null>(null);
  useEffect(() => {
    if (!path) return;
    let mounted = true;
    setShown(null);
    void blobUrls.acquire(path).then((found) => mounted && setShown(found));
    return () => {
      mounted = false;
      blobUrls.release(path);
    };
  }, [path]);
  return shown;
}

/** Whether the element has come near the view once (then it stays true): thumbnails are fetched
 * only for the rows one scrolls to. */
function useSeen<T extends Element>(): [{ current: T | null }, boolean] {
  const ref = useRef<T>(null);
  const [seen, setSeen] = useState(false);
  useEffect(() => {
    const element = ref.current;
    if (seen || !element) return;
    if (!("IntersectionObserver" in globalThis)) {
      setSeen(true);
      return;
    }
    const watcher = new IntersectionObserver(
      (entries) => {
        if (entries.some((entry) => entry.isIntersecting)) setSeen(true);
      },
      { rootMargin: "200px" },
    );
    watcher.observe(element);
    return () => watcher.disconnect();
  }, [seen]);
  return [ref, seen];
}

/** What a message or post carries: its images as thumbnails (a click opens the viewer), its
 * files with their name, size and a download button. `removed`: media known to be taken down. */
export function MediaList(props: {
  media: Media[];
  removed?: ReadonlySet<number>;
  onOpen(media: Media, opener: HTMLElement): void;
}) {
  const images = props.media.filter((media) => media.kind === "image");
  const files = props.media.filter((media) => media.kind === "file");
  return (
    <div class="media">
      {images.length > 0 && (
        <ul class="thumbs">
          {images.map((media) => (
            <li key={media.id}>
              <Thumbnail media={media} removed={props.removed?.has(media.id) ?? false} onOpen={props.onOpen} />
            </li>
          ))}
        </ul>
      )}
      {files.length > 0 && (
        <ul class="files">
          {files.map((media) => (
            <FileItem media={media} key={media.id} />
          ))}
        </ul>
      )}
    </div>
  );
}

function Thumbnail(props: { media: Media; removed: boolean; onOpen(media: Media, opener: HTMLElement): void }) {
  const { media } = props;
  const box = thumbBox(media.width, media.height);
  const [ref, seen] = useSeen<HTMLButtonElement>();
  const shown = useShown(seen && !props.removed ? mediaPath(media.id, true) : null);
  const size = { width: `${box.width}px`, height: `${box.height}px` }; // known before it loads
  if (props.removed || shown?.state === "gone") {
    return (
      <p class="thumb gone" style={size}>
        {t("media.removed")}
      </p>
    );
  }
  return (
    <button
      type="button"
      class="thumb"
      ref={ref}
      style={size}
      aria-label={t("media.open")}
      onClick={(event) => props.onOpen(media, event.currentTarget)}
    >
      {shown?.state === "ready" && <img src={shown.url} alt="" width={box.width} height={box.height} />}
      {shown?.state === "failed" && <span>{t("media.failed")}</span>}
    </button>
  );
}

function FileItem({ media }: { media: Media }) {
  const [error, setError] = useState<string | null>(null);
  const name = media.filename ?? t("media.file");
  async function save(): Promise<void> {
    setError(null);
    try {
      await download(media);
    } catch (refused) {
      setError(refused instanceof ApiError && refused.status === 404 ? t("media.file_removed") : explain(refused));
    }
  }
  return (
    <li class="file">
      <span class="name">{name}</span>
      <span class="size">{formatSize(media.size)}</span>
      <button type="button" class="quiet" aria-label={t("media.download_named", { name })} onClick={() => void save()}>
        {t("media.download")}
      </button>
      {error && (
        <span class="error" role="alert">
          {error}
        </span>
      )}
    </li>
  );
}

/** The full image in a modal dialog: Escape or the close button closes it, and the focus goes
 * back to what opened it. */
function Viewer(props: { media: Media; onClose(): void }) {
  const { media } = props;
  const dialog = useRef<HTMLDialogElement>(null);
  const whole = useShown(mediaPath(media.id, false));
  const thumbnail = useShown(mediaPath(media.id, true)); // the list holds it: shown at once
  useEffect(() => {
    if (dialog.current && !dialog.current.open) dialog.current.showModal();
  }, []);
  const shown = whole?.state === "ready" ? whole : thumbnail?.state === "ready" ? thumbnail : null;
  let body: JSX.Element;
  if (whole?.state === "gone") body = <p>{t("media.removed")}</p>;
  else if (whole?.state === "failed") body = <p>{t("media.failed")}</p>;
  else if (shown) {
    body = (
      <img src={shown.url} alt={t("media.image")} width={media.width ?? undefined} height={media.height ?? undefined} />
    );
  } else body = <p role="status">{t("media.loading")}</p>;
  return (
    <dialog ref={dialog} class="viewer" aria-label={t("media.viewer")} onClose={props.onClose}>
      <button type="button" class="quiet close" aria-label={t("media.close")} onClick={() => dialog.current?.close()}>
        ✕
      </button>
      {body}
    </dialog>
  );
}

/** The image viewer of a screen: what to draw (null while closed), and how to open it. On
 * closing, the focus returns to what opened it, or to `fallback` when that is gone (a row
 * scrolled away). */
export function useViewer(
  fallback: () => HTMLElement | null,
): [JSX.Element | null, (media: Media, opener: HTMLElement) => void] {
  const [open, setOpen] = useState<{ media: Media; opener: HTMLElement } | null>(null);
  function close(): void {
    const opener = open?.opener;
    setOpen(null);
    (opener?.isConnected ? opener : fallback())?.focus();
  }
  const drawn = open ? <Viewer media={open.media} onClose={close} /> : null;
  return [drawn, (media, opener) => setOpen({ media, opener })];
}

export interface Composing {
  attachments: Attachments;
  /** The local preview of an image being attached. */
  previewOf(key: string): string | undefined;
  add(files: File[]): void;
  remove(key: string): void;
  /** The uploaded ones, taken out of the composer to go with a message. */
  take(): Media[];
  /** Too many files at once, said once. */
  refusal: string | null;
}

/** The attachments of the message being written: each file uploaded as soon as it is added,
 * shown with its progress or its refusal; local previews revoked when taken, removed, or when
 * the chat closes (which also stops the uploads still going). */
export function useAttachments(): Composing {
  const [, redraw] = useState(0);
  const [refusal, setRefusal] = useState<string | null>(null);
  const state = useRef(new Attachments());
  const previews = useRef(new Map<string, string>());
  const uploads = useRef(new Map<string, AbortController>());

  useEffect(
    () => () => {
      for (const url of previews.current.values()) URL.revokeObjectURL(url);
      for (const going of uploads.current.values()) going.abort();
    },
    [],
  );

  function set(next: Attachments): void {
    state.current = next;
    redraw((version) => version + 1);
  }

  function start(key: string, file: File, image: boolean): void {
    if (image) previews.current.set(key, URL.createObjectURL(file));
    const going = new AbortController();
    uploads.current.set(key, going);
    upload(file, file.name || null, (progress) => set(state.current.update(key, { progress })), going.signal)
      .then((media) => set(state.current.update(key, { media })))
      .catch((refused: unknown) => {
        if (refused instanceof ApiError) set(state.current.update(key, { error: refused }));
      })
      .finally(() => uploads.current.delete(key));
  }

  function remove(key: string): void {
    uploads.current.get(key)?.abort();
    const preview = previews.current.get(key);
    if (preview) URL.revokeObjectURL(preview);
    previews.current.delete(key);
    set(state.current.remove(key));
  }

  return {
    attachments: state.current,
    refusal,
    previewOf: (key) => previews.current.get(key),
    add(files) {
      if (files.length === 0) return;
      const { next, added, refused } = state.current.add(files, () => crypto.randomUUID());
      set(next);
      setRefusal(refused ? t("media.too_many", { count: MAX_ATTACHMENTS }) : null);
      added.forEach((item, index) => start(item.key, files[index]!, item.image));
    },
    remove,
    take() {
      const ready = state.current.items.filter((item) => item.media);
      ready.forEach((item) => remove(item.key));
      setRefusal(null);
      return ready.map((item) => item.media!);
    },
  };
}

/** The attachments waiting to go with the message: each removable, with its progress while it
 * goes up or why it was refused. */
export function AttachmentTray({ composing }: { composing: Composing }) {
  const { items } = composing.attachments;
  if (items.length === 0 && !composing.refusal) return null;
  return (
    <div class="tray">
      {composing.refusal && (
        <p class="error" role="alert">
          {composing.refusal}
        </p>
      )}
      <ul aria-label={t("media.attachments")}>
        {items.map((item) => {
          const preview = composing.previewOf(item.key);
          return (
            <li key={item.key} class={item.error ? "refused" : item.media ? "uploaded" : "uploading"}>
              <Preview url={item.error ? undefined : preview} name={item.name} />
              <span class="size">{formatSize(item.size)}</span>
              {item.error ? (
                <span class="error" role="alert">
                  {explain(item.error)}
                </span>
              ) : (
                !item.media && (
                  <progress value={item.progress} max={1} aria-label={t("media.uploading", { name: item.name })} />
                )
              )}
              <button
                type="button"
                class="link"
                aria-label={t("media.remove", { name: item.name })}
                onClick={() => composing.remove(item.key)}
              >
                ✕
              </button>
            </li>
          );
        })}
      </ul>
    </div>
  );
}

/** An attachment as the tray shows it: the picture, or its name when it is none (or one the
 * browser cannot draw). */
function Preview(props: { url: string | undefined; name: string }) {
  const [broken, setBroken] = useState(false);
  if (!props.url || broken) return <span class="name">{props.name}</span>;
  return <img src={props.url} alt={props.name} width={56} height={56} onError={() => setBroken(true)} />;
}

/** The attach button: picks files from the device. */
export function AttachButton(props: { onFiles(files: File[]): void; disabled?: boolean }) {
  const picker = useRef<HTMLInputElement>(null);
  return (
    <>
      <input
        ref={picker}
        type="file"
        name="attach"
        multiple
        hidden
        onChange={(event) => {
          props.onFiles([...(event.currentTarget.files ?? [])]);
          event.currentTarget.value = "";
        }}
      />
      <button
        type="button"
        class="quiet attach"
        aria-label={t("media.attach")}
        title={t("media.attach")}
        disabled={props.disabled}
        onClick={() => picker.current?.click()}
      >
        <svg viewBox="0 0 24 24" width="22" height="22" aria-hidden="true" focusable="false">
          <path
            d="M21.44 11.05l-9.19 9.19a6 6 0 0 1-8.49-8.49l9.19-9.19a4 4 0 0 1 5.66 5.66l-9.2 9.19a2 2 0 0 1-2.83-2.83l8.49-8.48"
            fill="none"
            stroke="currentColor"
            stroke-width="2"
            stroke-linecap="round"
            stroke-linejoin="round"
          />
        </svg>
      </button>
    </>
  );
}

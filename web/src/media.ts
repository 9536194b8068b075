// Images and files (docs/media.md): uploaded one by one as the request body, with progress;
// shown from blob: URLs, since an <img> sends no bearer token; each URL revoked once nothing
// shows it any more.
import { ApiError, sessionToken, type Schemas } from "./api/client";
import { currentLanguage } from "./i18n/core";
import type { MessageKey } from "./i18n/en";

export type Media = Schemas["Media"];

/** What a message or post may carry: the server's `max_media_per_item` by default (it decides,
 * and refuses more with 400 `media_ids_invalid`). */
export const MAX_ATTACHMENTS = 9;
/** The longest side of a thumbnail as drawn: the server's are at most 320 px. */
export const THUMB_SIDE = 200;

const MEDIA = "/api/v1/media";

// When an upload's answer is not the API's JSON (a proxy's 413 page, a connection cut as the
// server refused the rest of the body), its status names the case.
const BY_STATUS: Record<number, string> = {
  0: "upload_failed",
  413: "media_too_large",
  415: "media_type_unsupported",
  429: "too_many_uploads",
};

/** The refusal an upload's answer states: the API's error code when it wrote one, else one
 * named by the status. */
export function uploadRefusal(status: number, body: string, retryAfter: string | null): ApiError {
  let code: string | undefined;
  let message: string | undefined;
  try {
    const parsed = JSON.parse(body) as { error?: { code?: unknown; message?: unknown } };
    if (typeof parsed.error?.code === "string") code = parsed.error.code;
    if (typeof parsed.error?.message === "string") message = parsed.error.message;
  } catch {
    // not JSON: named by its status below
  }
  const wait = Number(retryAfter);
  return new ApiError(
    status,
    code ?? BY_STATUS[status] ?? `http_${status}`,
    message ?? (status ? `HTTP ${status}` : "no answer"),
    retryAfter !== null && Number.isFinite(wait) && wait > 0 ? wait : null,
  );
}

/** Upload a file, telling `onProgress` the share of it sent (0 to 1). An XMLHttpRequest: fetch
 * cannot tell how much of a body has gone. Rejects with an ApiError. */
export function upload(
  file: Blob,
  filename: string | null,
  onProgress: (sent: number) => void,
  signal?: AbortSignal,
): Promise<Media> {
  return new Promise((resolve, reject) => {
    const request = new XMLHttpRequest();
    const query = filename ? `?${new URLSearchParams({ filename })}` : "";
    request.open("POST", `${MEDIA}${query}`);
    const token = sessionToken();
    if (token) request.setRequestHeader("Authorization", `Bearer ${token}`);
    request.setRequestHeader("Accept-Language", currentLanguage());
    request.setRequestHeader("Content-Type", "application/octet-stream"); // the bytes decide
    request.upload.onprogress = (event) => {
      if (event.lengthComputable && event.total > 0) onProgress(event.loaded / event.total);
    };
    request.onload = () => {
      if (request.status === 201) {
        onProgress(1);
        resolve(JSON.parse(request.responseText) as Media);
      } else {
        reject(uploadRefusal(request.status, request.responseText, request.getResponseHeader("Retry-After")));
      }
    };
    request.onerror = () => reject(uploadRefusal(0, "", null));
    request.onabort = () => reject(new DOMException("aborted", "AbortError"));
    signal?.addEventListener("abort", () => request.abort());
    request.send(file);
  });
}

/** How a line stands for the images and files of a message or post that says nothing (a chat's
 * preview, a quote): "[Image]", "[3 images]", "[File]", "[2 files]", "[4 images and files]", as
 * the catalog's key and the count; null when there are none. */
export function mediaGist(media: readonly Pick<Media, "kind">[] | undefined): {
  key: MessageKey;
  count: number;
} | null {
  const count = media?.length ?? 0;
  if (!media || count === 0) return null;
  const images = media.filter((item) => item.kind === "image").length;
  if (images === count) return { key: count === 1 ? "media.gist.image" : "media.gist.images", count };
  if (images === 0) return { key: count === 1 ? "media.gist.file" : "media.gist.files", count };
  return { key: "media.gist.mixed", count };
}

/** Where an image's bytes are: the whole, or its thumbnail. */
export function mediaPath(id: number, thumbnail: boolean): string {
  return `${MEDIA}/${id}${thumbnail ? "/thumbnail" : ""}`;
}

/** The bytes at a media path, with the session's token. */
export function fetchMedia(path: string, signal?: AbortSignal): Promise<Response> {
  const token = sessionToken();
  return fetch(path, { signal, headers: token ? { Authorization: `Bearer ${token}` } : {} });
}

/** A media object's bytes as shown: a blob: URL, `gone` (404: removed by a reviewer, or no longer
 * readable), or `failed` (anything else: the network, the server). */
export type Shown = { state: "ready"; url: string } | { state: "gone" } | { state: "failed" };

interface Held {
  holders: number;
  shown: Promise<Shown>;
  stop: AbortController;
}

/** blob: URLs by media path, shared by all who show the same bytes (a thumbnail and its viewer,
 * a picture forwarded twice): fetched for the first holder, revoked when the last lets go (a row
 * scrolled out of the list, a chat closed), or as soon as it arrives when nobody wants it any
 * more. */
export class BlobUrls {
  private readonly held = new Map<string, Held>();

  constructor(
    private readonly load: (path: string, signal: AbortSignal) => Promise<Response>,
    private readonly create: (blob: Blob) => string = (blob) => URL.createObjectURL(blob),
    private readonly revoke: (url: string) => void = (url) => URL.revokeObjectURL(url),
  ) {}

  /** The bytes at `path`, held until `release(path)`. */
  acquire(path: string): Promise<Shown> {
    let entry = this.held.get(path);
    if (!entry) {
      const stop = new AbortController();
      entry = { holders: 0, stop, shown: this.fetch(path, stop.signal) };
      this.held.set(path, entry);
    }
    entry.holders += 1;
    return entry.shown;
  }

  release(path: string): void {
    const entry = this.held.get(path);
    if (!entry) return;
    entry.holders -= 1;
    if (entry.holders > 0) return;
    this.held.delete(path);
    entry.stop.abort();
    void entry.shown.then((shown) => {
      if (shown.state === "ready") this.revoke(shown.url);
    });
  }

  /** How many paths are held now (for tests). */
  get size(): number {
    return this.held.size;
  }

  private async fetch(path: string, signal: AbortSignal): Promise<Shown> {
    try {
      const answer = await this.load(path, signal);
      if (answer.status === 404) return { state: "gone" };
      if (!answer.ok) return { state: "failed" };
      const blob = await answer.blob();
      return { state: "ready", url: this.create(blob) };
    } catch {
      return { state: "failed" };
    }
  }
}

/** The app's blob: URLs, fetched with the session's token. */
export const blobUrls = new BlobUrls(fetchMedia);

/** The box a thumbnail is drawn in, known before it loads so that a row of the list does not
 * change height when it arrives: the image's shape, its longest side at most `side`. */
export function thumbBox(
  width: number | null,
  height: number | null,
  side = THUMB_SIDE,
): { width: number; height: number } {
  if (!width || !height) return { width: side, height: side };
  const scale = Math.min(1, side / width, side / height);
  return {
    width: Math.max(1, Math.round(width * scale)),
    height: Math.max(1, Math.round(height * scale)),
  };
}

/** A size in bytes as people read it: 512 B, 47.1 KB, 3.2 MB. */
export function formatSize(bytes: number, language: string = currentLanguage()): string {
  const units = ["B", "KB", "MB", "GB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  const digits = unit === 0 || value >= 100 ? 0 : 1;
  const number = new Intl.NumberFormat(language, { maximumFractionDigits: digits }).format(value);
  return `${number} ${units[unit]}`;
}

/** Save a file under its name: its bytes fetched with the token, handed to the browser as a
 * download. Rejects with an ApiError (404 `media_not_found` once it was removed). */
export async function download(media: Media): Promise<void> {
  const answer = await fetchMedia(mediaPath(media.id, false));
  if (!answer.ok) {
    throw uploadRefusal(answer.status, await answer.text(), answer.headers.get("Retry-After"));
  }
  const url = URL.createObjectURL(await answer.blob());
  const link = document.createElement("a");
  link.href = url;
  link.download = media.filename ?? `file-${media.id}`;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000); // the browser has taken the bytes by then
}

/** A file the user picked, dropped or pasted, on its way up (or refused). */
export interface Attachment {
  key: string;
  name: string;
  size: number;
  /** Drawn as an image while it goes up (the server decides what it is). */
  image: boolean;
  /** Its share sent, 0 to 1. */
  progress: number;
  media: Media | null;
  error: ApiError | null;
}

/** The attachments of the message being written, in the order they were added. */
export class Attachments {
  constructor(readonly items: readonly Attachment[] = []) {}

  /** Files added: as many as fit beside those there (`MAX_ATTACHMENTS`); `refused` says how many
   * did not. */
  add(files: readonly { name: string; size: number; type: string }[], keys: () => string): {
    next: Attachments;
    added: Attachment[];
    refused: number;
  } {
    const room = Math.max(0, MAX_ATTACHMENTS - this.items.length);
    const added = files.slice(0, room).map((file) => ({
      key: keys(),
      name: file.name,
      size: file.size,
      image: file.type.startsWith("image/"),
      progress: 0,
      media: null,
      error: null,
    }));
    return { next: new Attachments([...this.items, ...added]), added, refused: files.length - added.length };
  }

  update(key: string, change: Partial<Attachment>): Attachments {
    return new Attachments(this.items.map((item) => (item.key === key ? { ...item, ...change } : item)));
  }

  remove(key: string): Attachments {
    return new Attachments(this.items.filter((item) => item.key !== key));
  }

  /** Still going up: a message waits for them. */
  get uploading(): boolean {
    return this.items.some((item) => !item.media && !item.error);
  }

  /** Those uploaded, to send. */
  get ready(): Media[] {
    return this.items.flatMap((item) => (item.media ? [item.media] : []));
  }
}

/** Files in a paste or a drop (none when it carries only text). */
export function filesOf(transfer: DataTransfer | null): File[] {
  return transfer ? [...transfer.files] : [];
}

import { describe, expect, it } from "vitest";
import { ApiError } from "./api/client";
import { explain } from "./errors";
import { chooseLanguage, t } from "./i18n";
import { Attachments, BlobUrls, MAX_ATTACHMENTS, formatSize, mediaGist, thumbBox, uploadRefusal } from "./media";

describe("an upload's refusal", () => {
  it("is the API's error code when it wrote one", () => {
    const body = JSON.stringify({ error: { code: "image_invalid", message: "truncated" } });
    const refusal = uploadRefusal(400, body, null);
    expect([refusal.status, refusal.code, refusal.message]).toEqual([400, "image_invalid", "truncated"]);
  });
  it("is named by its status when the answer is not the API's (a proxy's page, a cut connection)", () => {
    expect(uploadRefusal(413, "<html>Request Entity Too Large</html>", null).code).toBe("media_too_large");
    expect(uploadRefusal(415, "", null).code).toBe("media_type_unsupported");
    expect(uploadRefusal(429, "", "30").code).toBe("too_many_uploads");
    expect(uploadRefusal(0, "", null).code).toBe("upload_failed");
    expect(uploadRefusal(502, "", null).code).toBe("http_502");
  });
  it("keeps when to try again", () => {
    expect(uploadRefusal(429, "{}", "30").retryAfter).toBe(30);
    expect(uploadRefusal(429, "{}", "soon").retryAfter).toBeNull();
  });
  it("is explained in the user's language", () => {
    const codes = ["media_too_large", "media_type_unsupported", "image_invalid", "image_too_large", "upload_failed"];
    chooseLanguage("en");
    const english = codes.map((code) => explain(new ApiError(400, code, "server words")));
    expect(english[0]).toBe("This file is too large to send.");
    chooseLanguage("zh-CN");
    const chinese = codes.map((code) => explain(new ApiError(400, code, "server words")));
    expect(chinese[1]).toContain("不支持");
    for (const said of [...english, ...chinese]) expect(said).not.toContain("server words");
    chooseLanguage("en");
    expect(explain(uploadRefusal(429, "", "30"))).toBe("Too many tries: try again in 30 s.");
  });
});

/** A loader whose answers the test hands out, and the URLs made and revoked. */
function harness() {
  const waiting = new Map<string, { answer(response: Response): void; signal: AbortSignal }>();
  const made: string[] = [];
  const revoked: string[] = [];
  let next = 0;
  const urls = new BlobUrls(
    (path, signal) =>
      new Promise<Response>((resolve, reject) => {
        waiting.set(path, { answer: resolve, signal });
        signal.addEventListener("abort", () => reject(new DOMException("aborted", "AbortError")));
      }),
    () => {
      const url = `blob:test/${(next += 1)}`;
      made.push(url);
      return url;
    },
    (url) => revoked.push(url),
  );
  const answer = (path: string, status = 200) =>
    waiting.get(path)!.answer(new Response(status === 200 ? new Blob(["png"]) : null, { status }));
  return { urls, waiting, made, revoked, answer };
}

describe("blob: URLs", () => {
  it("are fetched once for all who show the same bytes, and revoked when the last lets go", async () => {
    const { urls, waiting, made, revoked, answer } = harness();
    const first = urls.acquire("/api/v1/media/1/thumbnail");
    const second = urls.acquire("/api/v1/media/1/thumbnail");
    expect(waiting.size).toBe(1);
    answer("/api/v1/media/1/thumbnail");
    expect(await first).toEqual({ state: "ready", url: "blob:test/1" });
    expect(await second).toEqual(await first);
    urls.release("/api/v1/media/1/thumbnail");
    await Promise.resolve();
    expect(revoked).toEqual([]);
    urls.release("/api/v1/media/1/thumbnail");
    await new Promise((settled) => setTimeout(settled));
    expect(revoked).toEqual(["blob:test/1"]);
    expect(made).toEqual(["blob:test/1"]);
    expect(urls.size).toBe(0);
  });

  it("are never made for a fetch nobody wants any more: it is stopped", async () => {
    const { urls, waiting, made } = harness();
    const shown = urls.acquire("/api/v1/media/2/thumbnail");
    urls.release("/api/v1/media/2/thumbnail");
    expect(waiting.get("/api/v1/media/2/thumbnail")!.signal.aborted).toBe(true);
    expect(await shown).toEqual({ state: "failed" });
    expect(made).toEqual([]);
  });

  it("are fetched again after being let go", async () => {
    const { urls, answer, revoked } = harness();
    const path = "/api/v1/media/3";
    const first = urls.acquire(path);
    answer(path);
    await first;
    urls.release(path);
    const again = urls.acquire(path);
    answer(path);
    expect(await again).toEqual({ state: "ready", url: "blob:test/2" });
    await new Promise((settled) => setTimeout(settled));
    expect(revoked).toEqual(["blob:test/1"]);
  });

  it("say a removed image is gone, and any other failure failed", async () => {
    const { urls, answer } = harness();
    const removed = urls.acquire("/api/v1/media/4/thumbnail");
    const broken = urls.acquire("/api/v1/media/5/thumbnail");
    answer("/api/v1/media/4/thumbnail", 404);
    answer("/api/v1/media/5/thumbnail", 503);
    expect(await removed).toEqual({ state: "gone" });
    expect(await broken).toEqual({ state: "failed" });
  });
});

describe("a thumbnail's box", () => {
  it("has the image's shape, its longest side at most 200 px, never larger than the image", () => {
    expect(thumbBox(1200, 1600)).toEqual({ width: 150, height: 200 });
    expect(thumbBox(4000, 1000)).toEqual({ width: 200, height: 50 });
    expect(thumbBox(120, 80)).toEqual({ width: 120, height: 80 });
    expect(thumbBox(10000, 1)).toEqual({ width: 200, height: 1 });
    expect(thumbBox(null, null)).toEqual({ width: 200, height: 200 });
  });
});

describe("sizes", () => {
  it("read as bytes, KB or MB", () => {
    expect(formatSize(512, "en")).toBe("512 B");
    expect(formatSize(48213, "en")).toBe("47.1 KB");
    expect(formatSize(20 * 1024 * 1024, "en")).toBe("20 MB");
    expect(formatSize(150 * 1024, "zh-CN")).toBe("150 KB");
  });
});

describe("attachments", () => {
  const file = (name: string, type = "image/png") => ({ name, size: 10, type });
  let counter = 0;
  const keys = () => `k${(counter += 1)}`;

  it("go up before the message goes, which carries those uploaded", () => {
    const { next, added } = new Attachments().add([file("a.png"), file("notes.txt", "text/plain")], keys);
    expect(added.map((item) => item.image)).toEqual([true, false]);
    expect(next.uploading).toBe(true);
    const media = { id: 7, kind: "image" as const, content_type: "image/png", size: 10, width: 1, height: 1, filename: null };
    const refused = new ApiError(415, "media_type_unsupported", "no");
    const done = next.update(added[0]!.key, { media, progress: 1 }).update(added[1]!.key, { error: refused });
    expect(done.uploading).toBe(false);
    expect(done.ready).toEqual([media]);
    expect(done.remove(added[0]!.key).ready).toEqual([]);
  });

  it("are at most MAX_ATTACHMENTS: the rest are refused", () => {
    const many = Array.from({ length: MAX_ATTACHMENTS + 2 }, (_, index) => file(`${index}.png`));
    const { next, refused } = new Attachments().add(many, keys);
    expect([next.items.length, refused]).toEqual([MAX_ATTACHMENTS, 2]);
    expect(next.add([file("one-more.png")], keys).refused).toBe(1);
  });
});

describe("what a line shows for media without text", () => {
  const image = { kind: "image" as const };
  const file = { kind: "file" as const };
  const said = (media: { kind: "image" | "file" }[] | undefined) => {
    const gist = mediaGist(media);
    return gist && t(gist.key, { count: gist.count });
  };
  it("names one image or file, and counts several", () => {
    chooseLanguage("en");
    expect([said([image]), said([image, image]), said([image, image, image])]).toEqual([
      "[Image]",
      "[2 images]",
      "[3 images]",
    ]);
    expect([said([file]), said([file, file])]).toEqual(["[File]", "[2 files]"]);
    expect(said([image, file, image])).toBe("[3 images and files]");
  });
  it("is said in the user's language", () => {
    chooseLanguage("zh-CN");
    expect([said([image]), said([image, image]), said([file]), said([file, file]), said([file, image])]).toEqual([
      "[图片]",
      "[2 张图片]",
      "[文件]",
      "[2 个文件]",
      "[2 个图片和文件]",
    ]);
  });
  it("is nothing when there are no media", () => {
    expect([mediaGist(undefined), mediaGist([])]).toEqual([null, null]);
  });
});

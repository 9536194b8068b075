import { describe, expect, it } from "vitest";
import { once } from "./outcome";

/** A stand-in for a form or button: only its attributes matter to `once`. */
function owner() {
  const attributes = new Map<string, string>();
  return {
    attributes,
    setAttribute: (name: string, value: string) => void attributes.set(name, value),
    removeAttribute: (name: string) => void attributes.delete(name),
  } as unknown as Element & { attributes: Map<string, string> };
}

describe("an action in flight", () => {
  it("runs once however often it is started meanwhile, and is marked busy", async () => {
    const form = owner();
    let sent = 0;
    let finish = () => {};
    const first = once(form, () => {
      sent += 1;
      return new Promise<void>((done) => (finish = done));
    });
    expect(form.attributes.get("aria-busy")).toBe("true");
    expect(await once(form, async () => void (sent += 1))).toBe(false);
    finish();
    expect(await first).toBe(true);
    expect(sent).toBe(1);
    expect(form.attributes.has("aria-busy")).toBe(false);
  });

  it("may run again once done, even when it failed", async () => {
    const button = owner();
    await expect(once(button, () => Promise.reject(new Error("refused")))).rejects.toThrow("refused");
    expect(button.attributes.has("aria-busy")).toBe(false);
    expect(await once(button, async () => {})).toBe(true);
  });

  it("guards each form on its own", async () => {
    const [a, b] = [owner(), owner()];
    let finish = () => {};
    const pending = once(a, () => new Promise<void>((done) => (finish = done)));
    expect(await once(b, async () => {})).toBe(true);
    finish();
    await pending;
  });
});

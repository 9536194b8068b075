import * as ed from "@noble/ed25519";
import { sha256 } from "@noble/hashes/sha2.js";
import { describe, expect, it } from "vitest";
import {
  NotVerified,
  openSignedNote,
  parseCheckpoint,
  parseVerifierKey,
  provesInclusion,
} from "./checkpoint";

const encoder = new TextEncoder();
const b64 = (bytes: Uint8Array) => btoa(String.fromCharCode(...bytes));
const join = (...parts: Uint8Array[]) => Uint8Array.from(parts.flatMap((p) => [...p]));

function signer(name: string) {
  const secret = ed.utils.randomSecretKey();
  const material = join(Uint8Array.of(1), ed.getPublicKey(secret));
  const keyId = sha256(join(encoder.encode(`${name}\n`), material)).slice(0, 4);
  const hex = Array.from(keyId, (b) => b.toString(16).padStart(2, "0")).join("");
  return {
    vkey: `${name}+${hex}+${b64(material)}`,
    sign: (text: string) => `${text}\n\u2014 ${name} ${b64(join(keyId, ed.sign(encoder.encode(text), secret)))}\n`,
  };
}

const leaf = (n: number) => sha256(join(Uint8Array.of(0), encoder.encode(`row ${n}`)));
const node = (l: Uint8Array, r: Uint8Array) => sha256(join(Uint8Array.of(1), l, r));

describe("the audit checkpoint, checked in the browser", () => {
  const key = signer("townhall.example/audit");
  const text = `townhall.example/audit\n3\n${b64(new Uint8Array(32))}\n`;

  it("opens a note its key signed and reads the checkpoint", () => {
    const opened = openSignedNote(key.sign(text), parseVerifierKey(key.vkey));
    expect(parseCheckpoint(opened)).toMatchObject({ origin: "townhall.example/audit", treeSize: 3 });
  });

  it("refuses an edited note, another key's note and a wrong key ID", () => {
    const note = key.sign(text);
    const vkey = parseVerifierKey(key.vkey);
    expect(() => openSignedNote(note.replace("\n3\n", "\n4\n"), vkey)).toThrow(NotVerified);
    expect(() => openSignedNote(signer("other").sign(text), vkey)).toThrow(NotVerified);
    const [name, , material] = key.vkey.split("+");
    expect(() => parseVerifierKey(`${name}+00000000+${material}`)).toThrow(NotVerified);
  });

  it("proves a row's inclusion, and no other row at its place", () => {
    const [a, b, c] = [leaf(1), leaf(2), leaf(3)];
    const root = node(node(a, b), c);
    expect(provesInclusion(0, 3, a, [b, c], root)).toBe(true);
    expect(provesInclusion(2, 3, c, [node(a, b)], root)).toBe(true);
    expect(provesInclusion(0, 3, leaf(9), [b, c], root)).toBe(false);
    expect(provesInclusion(1, 3, a, [b, c], root)).toBe(false);
  });
});

import { describe, expect, it } from "vitest";
import { KINDS_BY_SUBJECT, shownState } from "./kinds";
import { nameOf, parseWho } from "./people";
import { chooseLanguage } from "../i18n/core";
import { hasConsoleMessage, plural } from "./i18n";

describe("naming people on the desks", () => {
  it("reads an id or a handle", () => {
    expect(parseWho(" 42 ")).toEqual({ id: 42 });
    expect(parseWho("@Alice_1")).toEqual({ handle: "Alice_1" });
    expect(parseWho("0")).toBeNull();
    expect(parseWho("a b")).toBeNull();
  });

  it("shows a handle and a name, or the id until known", () => {
    const card = { id: 5, handle: "alice", display_name: "Alice", role: "user", status: "active" } as const;
    expect(nameOf(card, 5)).toBe("@alice (Alice)");
    expect(nameOf(undefined, 5)).toBe("#5");
  });
});

describe("sanctions", () => {
  it("never offers a user a group's kinds", () => {
    expect(KINDS_BY_SUBJECT.user).not.toContain("suspend_posting");
    expect(KINDS_BY_SUBJECT.public_account).not.toContain("blacklist_identity");
  });

  it("shows a warning as on record, not in force, and an active one past its end as ended", () => {
    const base = { state: "active", statement: { ends_at: null } };
    expect(shownState({ ...base, kind: "warning" })).toBe("on_record");
    expect(shownState({ ...base, kind: "close" })).toBe("active");
    const ended = { kind: "limit_publication", state: "active", statement: { ends_at: "2020-01-01T00:00:00Z" } };
    expect(shownState(ended)).toBe("expired");
    expect(shownState({ ...ended, state: "lifted" })).toBe("lifted");
  });
});

describe("the console's words", () => {
  it("count in the plural the language asks for", () => {
    chooseLanguage("en");
    expect(plural("cases.reports", 1)).toBe("1 report");
    expect(plural("cases.reports", 3)).toBe("3 reports");
    expect(plural("sanctions.points", 1, { points: 1 })).toBe("1 strike point");
    expect(plural("sanctions.points", 2.5, { points: 2.5 })).toBe("2.5 strike points");
  });

  it("word the refusal of a second sanction for one case", () => {
    expect(hasConsoleMessage("error.case_already_sanctioned")).toBe(true);
  });
});

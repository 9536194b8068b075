import { describe, expect, it } from "vitest";
import { en } from "./i18n/en";
import { chooseLanguage, currentLanguage, format, localLabel, pickLanguage } from "./i18n";
import { zhCN } from "./i18n/zh-CN";

describe("the language", () => {
  it("is the user's choice, else the browser's first known, else zh-CN", () => {
    expect(pickLanguage("en", ["zh-CN"])).toBe("en");
    expect(pickLanguage(null, ["fr-FR", "en-GB", "zh-TW"])).toBe("en");
    expect(pickLanguage(null, ["zh-HK"])).toBe("zh-CN");
    expect(pickLanguage("xx", ["de"])).toBe("zh-CN");
  });
});

describe("the catalogs", () => {
  it("fill every placeholder a string names and leave unknown ones", () => {
    expect(format("{count} unread, {other}", { count: 3 })).toBe("3 unread, {other}");
  });
  it("use the same placeholders in both languages", () => {
    const names = (text: string) => [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
    for (const key of Object.keys(en) as (keyof typeof en)[]) {
      expect(names(zhCN[key]), key).toEqual(names(en[key]));
    }
  });
});

describe("an operator's label", () => {
  it("shows only the current language's part when given in Chinese and English", () => {
    const before = currentLanguage();
    try {
      chooseLanguage("en");
      expect(localLabel("新闻单位 News organisation")).toBe("News organisation");
      expect(localLabel("Public authority")).toBe("Public authority");
      expect(localLabel("个人")).toBe("个人");
      chooseLanguage("zh-CN");
      expect(localLabel("新闻单位 News organisation")).toBe("新闻单位");
      expect(localLabel("Media")).toBe("Media");
    } finally {
      chooseLanguage(before);
    }
  });
});

import { describe, expect, it } from "vitest";
import { ApiError } from "./api/client";
import { explain } from "./errors";
import { chooseLanguage } from "./i18n";

describe("a refusal explained", () => {
  it("says an expected refusal in plain words, in both languages", () => {
    const empty = new ApiError(400, "display_name_invalid", "display_name must not be empty");
    chooseLanguage("en");
    expect(explain(empty)).toBe("Please enter a name (control characters cannot be used).");
    expect(explain(new ApiError(403, "publication_limited", "your publication is limited until …"))).not.toMatch(
      /Something went wrong|until/,
    );
    chooseLanguage("zh-CN");
    expect(explain(empty)).toBe("请填写昵称（不能含控制字符）。");
  });

  it("keeps 'something went wrong' for failures, and gives an unknown refusal as a sentence", () => {
    chooseLanguage("en");
    expect(explain(new ApiError(500, "internal_error", "boom"))).toBe("Something went wrong: boom");
    expect(explain(new ApiError(422, "some_new_rule", "that is not allowed here"))).toBe(
      "That is not allowed here.",
    );
    expect(explain(new TypeError("Failed to fetch"))).toMatch(/could not be reached/);
    chooseLanguage("zh-CN");
    expect(explain(new ApiError(503, "database_unavailable", "down"))).toBe("出错了：down");
  });
});

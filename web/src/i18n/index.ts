// The web app's message catalogs; the language itself is core.ts's, shared with the console.
import { translator } from "./core";
import { en, type MessageKey } from "./en";
import { zhCN } from "./zh-CN";

export {
  LANGUAGES,
  chooseLanguage,
  currentLanguage,
  format,
  formatTime,
  localLabel,
  pickLanguage,
  type Language,
} from "./core";

export const { t, hasMessage, labelOf } = translator<MessageKey>({ "zh-CN": zhCN, en });

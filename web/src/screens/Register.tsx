import { useEffect, useState } from "preact/hooks";
import { api, must } from "../api/client";
import { explain } from "../errors";
import { t } from "../i18n";
import type { MessageKey } from "../i18n/en";
import { HANDLE_PATTERN, PASSWORD_MIN_CHARS, e164, mobileLooksValid, ricChecks } from "../validate";
import { guarded } from "../outcome";

const ID_TYPES = ["cn_ric", "passport", "hk_macau_permit"] as const;
type IdType = (typeof ID_TYPES)[number];

interface Agreement {
  version: string;
  text: string;
}

const DISPLAY_NAME_MAX = 64; // the server's max_display_name_chars

export function Register(props: { onDone(): void }) {
  const [agreement, setAgreement] = useState<Agreement | null>(null);
  const [fields, setFields] = useState({
    handle: "",
    display_name: "",
    password: "",
    legal_name: "",
    id_type: "cn_ric" as IdType,
    id_number: "",
    phone: "",
  });
  const [accepted, setAccepted] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [maskedDocument, setMaskedDocument] = useState<string | null>(null);

  useEffect(() => {
    void api.GET("/api/v1/agreement").then((answer) => setAgreement(must(answer)));
  }, []);

  const set = (name: keyof typeof fields) => (event: Event) =>
    setFields({ ...fields, [name]: (event.currentTarget as HTMLInputElement).value });

  // Checked as the user types; the server decides.
  const problems: Partial<Record<keyof typeof fields, MessageKey>> = {};
  if (fields.handle && !HANDLE_PATTERN.test(fields.handle)) problems.handle = "register.handle.hint";
  if (fields.password && fields.password.length < PASSWORD_MIN_CHARS) {
    problems.password = "register.password.hint";
  }
  if (fields.id_type === "cn_ric" && fields.id_number.length >= 18 && !ricChecks(fields.id_number)) {
    problems.id_number = "register.id_number.invalid";
  }
  if (fields.phone && !mobileLooksValid(fields.phone)) problems.phone = "register.phone.invalid";

  async function submit(event: Event): Promise<void> {
    event.preventDefault();
    if (!agreement) return;
    setError(null);
    try {
      const profile = must(
        await api.POST("/api/v1/accounts", {
          body: {
            handle: fields.handle,
            password: fields.password,
            display_name: fields.display_name,
            agreement_version: agreement.version,
            identity: {
              legal_name: fields.legal_name,
              id_type: fields.id_type,
              id_number: fields.id_number,
              phone: e164(fields.phone),
            },
          },
        }),
      );
      // What the user typed is dropped; only the server's masked copy is shown.
      setFields({ ...fields, legal_name: "", id_number: "", phone: "", password: "" });
      setMaskedDocument(profile.identity?.id_number ?? "");
    } catch (refused) {
      setError(explain(refused));
    }
  }

  if (maskedDocument !== null) {
    return (
      <main class="card narrow">
        <h2>{t("register.title")}</h2>
        <p role="status">{t("register.done", { masked: maskedDocument })}</p>
        <button type="button" onClick={props.onDone}>
          {t("register.back")}
        </button>
      </main>
    );
  }

  const field = (name: keyof typeof fields, label: MessageKey, extra: Record<string, string> = {}) => (
    <label>
      {t(label)}
      <input
        name={name}
        required
        value={fields[name]}
        onInput={set(name)}
        aria-invalid={problems[name] ? "true" : "false"}
        aria-describedby={problems[name] ? `${name}-problem` : undefined}
        {...extra}
      />
      {problems[name] && (
        <span class="hint error" id={`${name}-problem`}>
          {t(problems[name]!)}
        </span>
      )}
    </label>
  );

  return (
    <main class="card">
      <h2>{t("register.title")}</h2>
      <p>{t("register.intro")}</p>
      <form onSubmit={guarded(submit)}>
        {field("handle", "register.handle", { autocomplete: "username", autocapitalize: "none" })}
        {field("display_name", "register.display_name", { autocomplete: "nickname", maxLength: String(DISPLAY_NAME_MAX) })}
        <small class="hint">{t("register.display_name_hint", { count: DISPLAY_NAME_MAX })}</small>
        {field("password", "register.password", { type: "password", autocomplete: "new-password" })}
        <fieldset>
          {field("legal_name", "register.legal_name", { autocomplete: "name" })}
          <label>
            {t("register.id_type")}
            <select name="id_type" value={fields.id_type} onChange={set("id_type")}>
              {ID_TYPES.map((type) => (
                <option value={type} key={type}>
                  {t(`register.id_type.${type}`)}
                </option>
              ))}
            </select>
          </label>
          {field("id_number", "register.id_number", { autocomplete: "off", spellcheck: "false" })}
          {field("phone", "register.phone", { type: "tel", autocomplete: "tel" })}
        </fieldset>
        <details open>
          <summary>{t("register.agreement")}</summary>
          <div class="agreement" tabIndex={0}>
            {agreement?.text}
          </div>
        </details>
        <label class="check">
          <input
            type="checkbox"
            name="accept"
            checked={accepted}
            onChange={(e) => setAccepted(e.currentTarget.checked)}
          />
          {t("register.accept")}
        </label>
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" disabled={!accepted || !agreement || Object.keys(problems).length > 0}>
          {t("register.submit")}
        </button>
      </form>
    </main>
  );
}

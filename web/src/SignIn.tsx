import type { ComponentChildren } from "preact";
import { useState } from "preact/hooks";
import { api, must } from "./api/client";
import { LANGUAGES, type Language } from "./i18n/core";
import { guarded } from "./outcome";

export interface SignInWords {
  title: string;
  handle: string;
  password: string;
  submit: string;
}

/** The log-in form of the web app and of the staff console, each in its own words; what follows
 * the form (the app's way to register) comes as children. */
export function SignInForm(props: {
  words: SignInWords;
  device: string;
  explain(refused: unknown): string;
  onLoggedIn(token: string): Promise<void>;
  children?: ComponentChildren;
}) {
  const [handle, setHandle] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const { words } = props;

  async function submit(event: Event): Promise<void> {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const session = must(
        await api.POST("/api/v1/sessions", {
          body: { handle: handle.trim(), password, device_name: props.device },
        }),
      );
      await props.onLoggedIn(session.token);
    } catch (refused) {
      setError(props.explain(refused));
      setBusy(false);
    }
  }

  return (
    <main class="card narrow">
      <h2>{words.title}</h2>
      <form onSubmit={guarded(submit)}>
        <label>
          {words.handle}
          <input
            name="handle"
            autocomplete="username"
            autocapitalize="none"
            required
            value={handle}
            onInput={(e) => setHandle(e.currentTarget.value)}
          />
        </label>
        <label>
          {words.password}
          <input
            name="password"
            type="password"
            autocomplete="current-password"
            required
            value={password}
            onInput={(e) => setPassword(e.currentTarget.value)}
          />
        </label>
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" disabled={busy}>
          {words.submit}
        </button>
      </form>
      {props.children}
    </main>
  );
}

/** The language choice in the header of the app and of the console. */
export function LanguagePicker(props: { label: string; value: Language; onPick(chosen: Language): void }) {
  return (
    <label class="language">
      <span class="visually-hidden">{props.label}</span>
      <select value={props.value} onChange={(e) => props.onPick(e.currentTarget.value as Language)}>
        {LANGUAGES.map((code) => (
          <option value={code} key={code}>
            {code === "en" ? "English" : "中文"}
          </option>
        ))}
      </select>
    </label>
  );
}

import { useState } from "preact/hooks";
import { api, must } from "../../api/client";
import { refusal } from "../said";
import { t } from "../i18n";

export function Login(props: { onLoggedIn(token: string): Promise<void> }) {
  const [handle, setHandle] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(event: Event): Promise<void> {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const session = must(
        await api.POST("/api/v1/sessions", {
          body: { handle: handle.trim(), password, device_name: "Console" },
        }),
      );
      await props.onLoggedIn(session.token);
    } catch (refused) {
      setError(refusal(refused));
    } finally {
      setBusy(false);
    }
  }

  return (
    <main class="card narrow">
      <h2>{t("login.title")}</h2>
      <form onSubmit={(e) => void submit(e)}>
        <label>
          {t("login.handle")}
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
          {t("login.password")}
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
          {t("login.submit")}
        </button>
      </form>
    </main>
  );
}

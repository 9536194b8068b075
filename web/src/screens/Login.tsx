import { useState } from "preact/hooks";
import { SignInForm } from "../SignIn";
import { explain } from "../errors";
import { t } from "../i18n";
import type { MessageKey } from "../i18n/en";

/** What the login page says once on arrival: why the user is back here (deregistered). */
let farewell: MessageKey | null = null;

/** The account was deregistered: the login page the user lands on says so. */
export function sayDeregistered(): void {
  farewell = "login.deregistered";
}

export function Login(props: { onRegister(): void; onLoggedIn(token: string): Promise<void> }) {
  const words = {
    title: t("login.title"),
    handle: t("login.handle"),
    password: t("login.password"),
    submit: t("login.submit"),
  };
  const [said] = useState(() => {
    const key = farewell;
    farewell = null;
    return key;
  });
  return (
    <SignInForm words={words} device="Web" explain={explain} onLoggedIn={props.onLoggedIn}>
      {said && (
        <p class="farewell" role="status">
          {t(said)}
        </p>
      )}
      <button type="button" class="link" onClick={props.onRegister}>
        {t("login.register")}
      </button>
    </SignInForm>
  );
}

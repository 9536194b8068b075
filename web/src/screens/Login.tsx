import { SignInForm } from "../SignIn";
import { explain } from "../errors";
import { t } from "../i18n";

export function Login(props: { onRegister(): void; onLoggedIn(token: string): Promise<void> }) {
  const words = {
    title: t("login.title"),
    handle: t("login.handle"),
    password: t("login.password"),
    submit: t("login.submit"),
  };
  return (
    <SignInForm words={words} device="Web" explain={explain} onLoggedIn={props.onLoggedIn}>
      <button type="button" class="link" onClick={props.onRegister}>
        {t("login.register")}
      </button>
    </SignInForm>
  );
}

import { SignInForm } from "../../SignIn";
import { t } from "../i18n";
import { refusal } from "../said";

export function Login(props: { onLoggedIn(token: string): Promise<void> }) {
  const words = {
    title: t("login.title"),
    handle: t("login.handle"),
    password: t("login.password"),
    submit: t("login.submit"),
  };
  return <SignInForm words={words} device="Console" explain={refusal} onLoggedIn={props.onLoggedIn} />;
}
